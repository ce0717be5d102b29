// DPoP (RFC 9449) driven by openid-client's own DPoP support (getDPoPHandle): the library
// makes every proof, binds the tokens, follows `use_dpop_nonce` (§8, §9) by retrying with
// the server's nonce, and sends `Authorization: DPoP` to UserInfo. The checks: code flow
// with PAR and refresh of a public client (its refresh token bound to the key), a
// confidential client registered with `dpop_bound_access_tokens` (client_credentials and
// UserInfo, each after a nonce round trip), and a partner's jwt-bearer grant (RFC 7523)
// bound with a proof.

import * as client from 'openid-client';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const claimsOf = (t) => JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString());

// The RFC 7638 thumbprint of an EC P-256 public JWK.
async function thumbprint(jwk) {
  const json = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(json))).toString('base64url');
}

// A fetch that records the status and headers of each response (to see nonce round trips).
function recording(log) {
  return async (url, opts) => {
    const res = await fetch(url, opts);
    log.push({ url: String(url), status: res.status, nonce: res.headers.get('dpop-nonce'), www: res.headers.get('www-authenticate') });
    return res;
  };
}

export async function dpopChecks(h) {
  const { check, assert, expectReject, server, admin, codeFlow, browser, REDIRECT, ISSUER, insecure } = h;

  await check('DPoP: discovery lists dpop_signing_alg_values_supported (RFC 9449 §5.1)', async () => {
    const meta = await (await fetch(new URL('/.well-known/openid-configuration', ISSUER))).json();
    assert(meta.dpop_signing_alg_values_supported?.includes('ES256'), 'ES256 advertised');
    return meta.dpop_signing_alg_values_supported.join(',');
  });

  await check('DPoP: public client, code flow with PAR + refresh; tokens and refresh token bound to the key', async () => {
    const reg = await admin('/admin/clients', {
      client_name: 'openid-client conformance (public, DPoP)',
      redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'none',
    });
    const cfg = await client.discovery(server, reg.client_id, { redirect_uris: [REDIRECT] }, client.None(), insecure);
    const keys = await client.randomDPoPKeyPair('ES256');
    const DPoP = client.getDPoPHandle(cfg, keys);
    const jkt = await thumbprint(await crypto.subtle.exportKey('jwk', keys.publicKey));
    const { tokens } = await codeFlow(cfg, browser, { scope: 'openid profile offline_access', par: true, dpop: DPoP });
    assert(tokens.token_type === 'dpop', `token_type ${tokens.token_type}`);
    assert(claimsOf(tokens.access_token).cnf?.jkt === jkt, 'cnf.jkt is the key thumbprint');
    const ui = await client.fetchUserInfo(cfg, tokens.access_token, tokens.claims().sub, { DPoP });
    assert(ui.sub === tokens.claims().sub, 'UserInfo with a DPoP-bound token');
    const rt = await client.refreshTokenGrant(cfg, tokens.refresh_token, undefined, { DPoP });
    assert(rt.token_type === 'dpop' && claimsOf(rt.access_token).cnf?.jkt === jkt, 'refreshed, still bound');
    // The rotated refresh token is bound to the key: another key's proof is refused.
    const other = client.getDPoPHandle(cfg, await client.randomDPoPKeyPair('ES256'));
    const refused = await expectReject(client.refreshTokenGrant(cfg, rt.refresh_token, undefined, { DPoP: other }), 'invalid_grant');
    // Presented as Bearer, the bound token is refused at UserInfo.
    const res = await fetch(new URL('/userinfo', ISSUER), { headers: { authorization: `Bearer ${rt.access_token}` } });
    assert(res.status === 401, `Bearer use of a bound token → ${res.status}`);
    return `jkt ${jkt.slice(0, 12)}…; other key: ${refused}`;
  });

  await check('DPoP: client with dpop_bound_access_tokens, client_credentials and UserInfo after nonce round trips (§8, §9)', async () => {
    const reg = await admin('/admin/clients', {
      client_name: 'openid-client conformance (DPoP required)',
      redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'client_credentials'],
      token_endpoint_auth_method: 'client_secret_basic', scope: 'openid profile api:read',
      dpop_bound_access_tokens: true,
    });
    const log = [];
    const cfg = await client.discovery(server, reg.client_id, { redirect_uris: [REDIRECT] }, client.ClientSecretBasic(reg.client_secret), insecure);
    cfg[client.customFetch] = recording(log);
    // Without a proof the client is refused.
    await expectReject(client.clientCredentialsGrant(cfg, { scope: 'api:read' }), 'invalid_dpop_proof');
    const keys = await client.randomDPoPKeyPair('ES256');
    const DPoP = client.getDPoPHandle(cfg, keys);
    log.length = 0;
    const cc = await client.clientCredentialsGrant(cfg, { scope: 'api:read' }, { DPoP });
    assert(cc.token_type === 'dpop', `token_type ${cc.token_type}`);
    const tokenHops = log.map((l) => l.status).join('→');
    assert(log[0]?.status === 400 && log[0].nonce && log.at(-1).status === 200, `token endpoint asked for a nonce first (${tokenHops})`);
    const { tokens } = await codeFlow(cfg, browser, { scope: 'openid profile', dpop: DPoP });
    // UserInfo: a new handle of the same key knows no nonce yet; the resource asks for one
    // (401, WWW-Authenticate: DPoP error="use_dpop_nonce", DPoP-Nonce) and the library retries.
    log.length = 0;
    const ui = await client.fetchUserInfo(cfg, tokens.access_token, tokens.claims().sub, { DPoP: client.getDPoPHandle(cfg, keys) });
    const uiHops = log.map((l) => l.status).join('→');
    assert(ui.sub === tokens.claims().sub, 'UserInfo answered');
    assert(log[0]?.status === 401 && /use_dpop_nonce/.test(log[0].www ?? '') && log[0].nonce && log.at(-1).status === 200, `UserInfo asked for a nonce first (${uiHops})`);
    // Another key's proof is refused.
    const other = client.getDPoPHandle(cfg, await client.randomDPoPKeyPair('ES256'));
    await expectReject(client.fetchUserInfo(cfg, tokens.access_token, tokens.claims().sub, { DPoP: other }));
    return `token endpoint ${tokenHops}; UserInfo ${uiHops}; another key refused`;
  });

  await check('DPoP: a partner\'s jwt-bearer grant (RFC 7523) bound with a proof: cnf.jkt and act', async () => {
    const kp = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    const pub = await crypto.subtle.exportKey('jwk', kp.publicKey);
    const partner = await admin('/admin/partners', {
      name: 'Conformance Partner', jwks: { keys: [{ ...pub, kid: 'p1', alg: 'ES256', use: 'sig' }] },
      allowed_cidrs: ['127.0.0.0/8', '::1/128'],
    });
    const account = await admin(`/admin/partners/${partner.partner_id}/accounts`, { friendly_name: 'Customer 1' });
    const now = Math.floor(Date.now() / 1000);
    const input = `${b64({ alg: 'ES256', kid: 'p1', typ: 'JWT' })}.${b64({ iss: partner.partner_id, sub: account.account_sid, aud: ISSUER, iat: now, exp: now + 120, jti: crypto.randomUUID() })}`;
    const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, kp.privateKey, new TextEncoder().encode(input));
    const assertion = `${input}.${Buffer.from(sig).toString('base64url')}`;
    const reg = await admin('/admin/clients', {
      client_name: 'openid-client conformance (partner session, public)',
      grant_types: [JWT_BEARER], token_endpoint_auth_method: 'none',
    });
    const cfg = await client.discovery(server, reg.client_id, undefined, client.None(), insecure);
    const keys = await client.randomDPoPKeyPair('ES256');
    const DPoP = client.getDPoPHandle(cfg, keys);
    const t = await client.genericGrantRequest(cfg, JWT_BEARER, { assertion, scope: 'read' }, { DPoP });
    const c = claimsOf(t.access_token);
    const jkt = await thumbprint(await crypto.subtle.exportKey('jwk', keys.publicKey));
    assert(t.token_type === 'dpop' && c.cnf?.jkt === jkt, `bound: ${t.token_type} ${JSON.stringify(c.cnf)}`);
    assert(c.act?.sub === partner.partner_id && c.sub === account.account_sid, `act ${JSON.stringify(c.act)}`);
    return `account ${c.sub} vouched for by ${c.act.sub}, cnf.jkt ${jkt.slice(0, 12)}…`;
  });
}
