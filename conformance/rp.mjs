// Black-box conformance run of Surety by a third-party OpenID Connect Relying Party library:
// panva's openid-client 6 (over oauth4webapi 3). Surety is only ever reached over HTTP.
//
// The library does the protocol work: discovery, building authorization URLs (PKCE S256,
// state, nonce), validating the authorization response (state, RFC 9207 `iss`), the code
// exchange, ID-token validation (claims, and — with enableNonRepudiationChecks — the JWS
// signature against the served JWKS), refresh, UserInfo (sub check), introspection,
// revocation, client_credentials, PAR, the end-session URL and the device authorization
// grant (RFC 8628: initiation and polling). This script only plays the browser: it
// follows redirects with a cookie jar and fills in the login, consent and device-code
// forms. It also plays a client's back-channel logout endpoint (a small HTTP receiver)
// and verifies the logout token it gets with `jose`, the JOSE library openid-client uses.
//
// Env: ISSUER (e.g. http://127.0.0.1:18080), ADMIN_TOKEN. Prints a results table; exits 1
// if any check failed.

import * as http from 'node:http';
import * as client from 'openid-client';
import * as oauth from 'oauth4webapi';
import { dpopChecks } from './dpop.mjs';
import * as jose from 'jose';

const ISSUER = process.env.ISSUER;
const ADMIN_TOKEN = process.env.ADMIN_TOKEN;
if (!ISSUER || !ADMIN_TOKEN) {
  console.error('ISSUER and ADMIN_TOKEN must be set');
  process.exit(2);
}
const REDIRECT = 'http://127.0.0.1:9999/callback';
const POST_LOGOUT = 'http://127.0.0.1:9999/';
const USER = { username: 'conformance-user', password: 'correct horse battery staple 42', email: 'rp@example.com', name: 'Conformance User' };
const insecure = { execute: [client.allowInsecureRequests] };

// ---------------------------------------------------------------- results table
const results = [];
const VERBOSE = !!process.env.VERBOSE;
async function check(name, fn) {
  const t0 = Date.now();
  try {
    const detail = await fn();
    results.push({ name, ok: true, detail: detail ?? '', ms: Date.now() - t0 });
    return true;
  } catch (e) {
    let msg = `${e?.name ?? 'Error'}: ${e?.message ?? e}`;
    if (e?.code) msg += ` [${e.code}]`;
    if (e?.error) msg += ` error=${e.error}`;
    if (e?.error_description) msg += ` (${e.error_description})`;
    if (e?.cause && typeof e.cause === 'object') {
      try { msg += ` cause=${JSON.stringify(e.cause).slice(0, 400)}`; } catch { /* ignore */ }
    }
    results.push({ name, ok: false, detail: msg, ms: Date.now() - t0 });
    if (VERBOSE) console.error(e);
    return false;
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
}
async function expectReject(p, want) {
  try {
    await p;
  } catch (e) {
    const got = e?.error ?? e?.code ?? e?.name;
    if (want && e?.error !== want) throw new Error(`expected error ${want}, got ${got}: ${e?.message}`);
    return `rejected: ${got}${e?.error_description ? ` (${e.error_description})` : ''}`;
  }
  throw new Error(`expected the call to be rejected${want ? ` with ${want}` : ''}`);
}

// ---------------------------------------------------------------- a tiny browser
class Browser {
  constructor() { this.jar = new Map(); }
  cookieHeader() { return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '); }
  store(res) {
    for (const c of res.headers.getSetCookie?.() ?? []) {
      const [pair, ...attrs] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const maxAge = attrs.map((a) => a.trim().toLowerCase()).find((a) => a.startsWith('max-age='));
      if (value === '' || maxAge === 'max-age=0') this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }
  async request(url, { method = 'GET', form } = {}) {
    const headers = { cookie: this.cookieHeader() };
    let body;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const res = await fetch(url, { method, headers, body, redirect: 'manual' });
    this.store(res);
    return res;
  }
  // Follows the browser's path from an authorization URL until it reaches the client's
  // redirect URI, logging in and approving consent on the way. Returns the callback URL
  // and the pages seen.
  async authorize(startUrl, { username = USER.username, password = USER.password, consent = 'approve', stopAt = REDIRECT } = {}) {
    let url = new URL(startUrl);
    let method = 'GET';
    let form;
    const seen = [];
    for (let hop = 0; hop < 12; hop++) {
      if (url.href.startsWith(stopAt)) return { callback: url, seen };
      const res = await this.request(url, { method, form });
      method = 'GET';
      form = undefined;
      if ([301, 302, 303, 307, 308].includes(res.status)) {
        const loc = res.headers.get('location');
        seen.push(`${res.status}→${new URL(loc, url).pathname}`);
        url = new URL(loc, url);
        continue;
      }
      const html = await res.text();
      const hidden = (n) => {
        const m = html.match(new RegExp(`name="${n}"\\s+value="([^"]*)"`));
        return m ? decodeEntities(m[1]) : undefined;
      };
      if (res.status === 200 && /action="\/login"/.test(html)) {
        seen.push('login-form');
        url = new URL('/login', ISSUER);
        method = 'POST';
        form = { tx: hidden('tx'), csrf: hidden('csrf'), username, password };
        continue;
      }
      if (res.status === 200 && /action="\/consent"/.test(html)) {
        seen.push('consent-form');
        url = new URL('/consent', ISSUER);
        method = 'POST';
        form = { tx: hidden('tx'), csrf: hidden('csrf'), decision: consent };
        continue;
      }
      const text = html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
      throw new Error(`unexpected page ${res.status} at ${url.pathname}: ${text}`);
    }
    throw new Error('too many redirects');
  }
}
function hiddenField(html, n) {
  const m = html.match(new RegExp(`name="${n}"\\s+value="([^"]*)"`));
  return m ? decodeEntities(m[1]) : undefined;
}
function decodeEntities(s) {
  return s.replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCharCode(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d) => String.fromCharCode(Number(d)))
    .replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

// ---------------------------------------------------------------- admin API (setup)
async function admin(path, body) {
  const res = await fetch(new URL(path, ISSUER), {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (res.status !== 201) throw new Error(`POST ${path} → ${res.status} ${JSON.stringify(json)}`);
  return json;
}

// A code flow driven by the library: build the URL, play the browser, exchange the code.
async function codeFlow(config, browser, { scope = 'openid profile email offline_access', extra = {}, par = false, dpop } = {}) {
  const dpopOpts = dpop ? { DPoP: dpop } : undefined;
  const verifier = client.randomPKCECodeVerifier();
  const challenge = await client.calculatePKCECodeChallenge(verifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const params = { redirect_uri: REDIRECT, scope, code_challenge: challenge, code_challenge_method: 'S256', state, nonce, ...extra };
  const url = par ? await client.buildAuthorizationUrlWithPAR(config, params, dpopOpts) : client.buildAuthorizationUrl(config, params);
  const { callback, seen } = await browser.authorize(url);
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: scope.split(' ').includes('openid'),
  }, undefined, dpopOpts);
  return { tokens, callback, seen, verifier, url };
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';
const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const RESOURCE = 'https://api.conformance.example/';
const jwtClaims = (t) => JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString());

// ---------------------------------------------------------------- a back-channel logout receiver
// Plays a client's backchannel_logout_uri: records every `logout_token` POSTed to it.
async function logoutReceiver() {
  const tokens = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const form = new URLSearchParams(body);
      if (req.method === 'POST' && req.headers['content-type']?.startsWith('application/x-www-form-urlencoded') && form.get('logout_token')) {
        tokens.push(form.get('logout_token'));
        res.writeHead(200).end();
      } else {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/backchannel-logout`;
  // Waits up to `ms` for the next token beyond the `seen` first ones.
  const next = async (seen, ms = 15000) => {
    for (const t0 = Date.now(); Date.now() - t0 < ms; await new Promise((r) => setTimeout(r, 50))) {
      if (tokens.length > seen) return tokens[seen];
    }
    throw new Error(`no logout token within ${ms} ms`);
  };
  return { url, tokens, next, close: () => server.close() };
}

// The user approves (or denies) a device's request on the verification page: the
// verification_uri_complete link (the page asks to confirm the code), then login and
// consent like any authorization request, ending on /device?result=….
async function answerDevice(browser, da, decision = 'approve') {
  const res = await browser.request(da.verification_uri_complete);
  const html = await res.text();
  assert(res.status === 200 && html.includes(`value="${da.user_code}"`), 'the page shows the code to confirm');
  const posted = await browser.request(new URL('/device', ISSUER), { method: 'POST', form: { csrf: hiddenField(html, 'csrf'), user_code: da.user_code } });
  const loc = posted.headers.get('location');
  assert(posted.status === 303 || posted.status === 302, `code accepted: ${posted.status}`);
  const { callback, seen } = await browser.authorize(new URL(loc, ISSUER).href, { consent: decision, stopAt: `${ISSUER}/device?result=` });
  return { result: callback.searchParams.get('result'), seen };
}

// One raw poll of the token endpoint by a public device client: its status and body.
async function rawPoll(as, clientId, deviceCode) {
  const res = await fetch(as.token_endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: DEVICE_CODE, device_code: deviceCode, client_id: clientId }) });
  return { status: res.status, body: await res.json() };
}

async function main() {
  const server = new URL(ISSUER);
  let config, as, confidential, pkjClient, pkjKey, publicClient, ccClient, deviceClient, bclClient, pairwiseClient, dynamic;
  const browser = new Browser();
  const receiver = await logoutReceiver();

  // ------------------------------------------------------------ setup
  const setupOk = await check('setup: register clients and a user (admin API)', async () => {
    confidential = await admin('/admin/clients', {
      client_name: 'openid-client conformance (client_secret_basic)',
      redirect_uris: [REDIRECT], post_logout_redirect_uris: [POST_LOGOUT],
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials', TOKEN_EXCHANGE],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid profile email offline_access api:read',
      token_exchange: { audiences: [RESOURCE], impersonation: true, delegation: true },
    });
    await admin('/admin/resource-servers', { uri: RESOURCE, name: 'Conformance API', scopes: ['api:read'] });
    const kp = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    const pub = await crypto.subtle.exportKey('jwk', kp.publicKey);
    pkjKey = { key: kp.privateKey, kid: 'rp-es256-1' };
    pkjClient = await admin('/admin/clients', {
      client_name: 'openid-client conformance (private_key_jwt)',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [{ ...pub, kid: 'rp-es256-1', alg: 'ES256', use: 'sig' }] },
      id_token_signed_response_alg: 'ES256',
      scope: 'openid profile email offline_access api:read',
    });
    publicClient = await admin('/admin/clients', {
      client_name: 'openid-client conformance (public, PKCE)',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: 'EdDSA',
    });
    ccClient = await admin('/admin/clients', {
      client_name: 'openid-client conformance (client_credentials only)',
      grant_types: ['client_credentials'],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'api:read',
    });
    deviceClient = await admin('/admin/clients', {
      client_name: 'openid-client conformance (device, public)',
      grant_types: [DEVICE_CODE, 'refresh_token'],
      token_endpoint_auth_method: 'none',
    });
    bclClient = await admin('/admin/clients', {
      client_name: 'openid-client conformance (back-channel logout)',
      redirect_uris: [REDIRECT], post_logout_redirect_uris: [POST_LOGOUT],
      grant_types: ['authorization_code'],
      backchannel_logout_uri: receiver.url, backchannel_logout_session_required: true,
    });
    pairwiseClient = await admin('/admin/clients', {
      client_name: 'openid-client conformance (pairwise)',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      subject_type: 'pairwise',
    });
    await admin('/admin/users', USER);
    assert(confidential.client_secret && !pkjClient.client_secret && !publicClient.client_secret, 'secrets only for secret-based methods');
    return `clients ${[confidential, pkjClient, publicClient, ccClient, deviceClient, bclClient, pairwiseClient].map((c) => c.client_id).join(', ')}`;
  });
  if (!setupOk) return;

  // ------------------------------------------------------------ discovery
  await check('discovery: OpenID Provider metadata (/.well-known/openid-configuration)', async () => {
    config = await client.discovery(server, confidential.client_id, { redirect_uris: [REDIRECT] }, client.ClientSecretBasic(confidential.client_secret), insecure);
    client.enableNonRepudiationChecks(config); // verify ID-token signatures against jwks_uri
    as = config.serverMetadata();
    assert(as.issuer === ISSUER, `issuer ${as.issuer}`);
    for (const k of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint', 'introspection_endpoint', 'revocation_endpoint', 'end_session_endpoint', 'pushed_authorization_request_endpoint']) {
      assert(typeof as[k] === 'string' && as[k].startsWith(ISSUER), `${k} present`);
    }
    assert(as.code_challenge_methods_supported?.includes('S256'), 'S256 advertised');
    assert(as.response_types_supported?.includes('code'), 'code advertised');
    assert(as.subject_types_supported?.length, 'subject_types_supported');
    assert(as.id_token_signing_alg_values_supported?.includes('RS256'), 'RS256 advertised (required by OIDC Discovery)');
    return `issuer ${as.issuer}; algs ${as.id_token_signing_alg_values_supported.join(',')}`;
  });
  if (!config) return;

  await check('discovery: RFC 8414 metadata (/.well-known/oauth-authorization-server)', async () => {
    const c = await client.discovery(server, confidential.client_id, undefined, client.ClientSecretBasic(confidential.client_secret), { ...insecure, algorithm: 'oauth2' });
    assert(c.serverMetadata().issuer === ISSUER, 'issuer matches');
    assert(c.serverMetadata().token_endpoint === as.token_endpoint, 'same token endpoint');
    return 'issuer and endpoints match the OIDC document';
  });

  await check('jwks: key set fetched and usable (kid, alg, no private parts)', async () => {
    const res = await fetch(as.jwks_uri);
    const jwks = await res.json();
    assert(res.ok && Array.isArray(jwks.keys) && jwks.keys.length > 0, 'non-empty keys');
    for (const k of jwks.keys) {
      assert(k.kid && k.kty, 'kid and kty');
      assert(!('d' in k) && !('p' in k) && !('q' in k), `no private members in ${k.kid}`);
    }
    return jwks.keys.map((k) => `${k.kty}/${k.alg ?? k.crv ?? '?'}`).join(', ');
  });

  // ------------------------------------------------------------ code flow + PKCE
  let first;
  await check('authorization code + PKCE (S256): login form, consent form, callback with code, state, iss', async () => {
    first = await codeFlow(config, browser);
    const cb = first.callback.searchParams;
    assert(cb.get('iss') === ISSUER, 'RFC 9207 iss in the authorization response');
    assert(first.seen.includes('login-form') && first.seen.includes('consent-form'), `path ${first.seen.join(' ')}`);
    assert(first.tokens.token_type === 'bearer', `token_type ${first.tokens.token_type}`);
    assert(first.tokens.refresh_token, 'refresh_token issued');
    return first.seen.join(' ');
  });

  if (first) {
    await check('ID token: signature (jwks_uri), iss, aud, azp, exp, iat, nonce, at_hash, auth_time', async () => {
      const claims = first.tokens.claims();
      assert(claims.iss === ISSUER && claims.aud === confidential.client_id, 'iss/aud');
      assert(claims.sub && claims.auth_time && claims.at_hash, 'sub, auth_time, at_hash present');
      // at_hash: the library does not check it for code-flow token responses; do it here.
      const alg = JSON.parse(Buffer.from(first.tokens.id_token.split('.')[0], 'base64url')).alg;
      assert(alg === 'RS256', `default alg RS256, got ${alg}`);
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(first.tokens.access_token)));
      assert(claims.at_hash === Buffer.from(digest.slice(0, 16)).toString('base64url'), 'at_hash matches the access token');
      assert(claims.email === USER.email && claims.name === USER.name, 'profile/email claims in the ID token');
      return `alg ${alg}, sub ${claims.sub}, acr ${claims.acr}, amr ${JSON.stringify(claims.amr)}`;
    });

    await check('access token: RFC 9068 JWT (typ at+jwt, signature, iss, aud, client_id, scope)', async () => {
      const req = new Request(as.userinfo_endpoint, { headers: { authorization: `Bearer ${first.tokens.access_token}` } });
      const claims = await oauth.validateJwtAccessToken(as, req, ISSUER, { [oauth.allowInsecureRequests]: true });
      assert(claims.client_id === confidential.client_id, 'client_id');
      assert(claims.sub === first.tokens.claims().sub, 'sub');
      assert(claims.scope.split(' ').includes('openid'), 'scope');
      return `aud ${claims.aud}, scope "${claims.scope}"`;
    });

    await check('userinfo: claims for the token\'s scope, sub matches the ID token', async () => {
      const ui = await client.fetchUserInfo(config, first.tokens.access_token, first.tokens.claims().sub);
      assert(ui.email === USER.email && ui.preferred_username === USER.username, 'claims released');
      return Object.keys(ui).join(',');
    });

    await check('introspection (client_secret_basic): access token active with claims', async () => {
      const r = await client.tokenIntrospection(config, first.tokens.access_token);
      assert(r.active === true && r.client_id === confidential.client_id && r.sub === first.tokens.claims().sub, JSON.stringify(r));
      const rr = await client.tokenIntrospection(config, first.tokens.refresh_token, { token_type_hint: 'refresh_token' });
      assert(rr.active === true, 'refresh token active');
      return `token_type ${r.token_type}, scope "${r.scope}"`;
    });

    await check('a 1 MB token request → 413 in the JSON error shape (RFC 6749 §5.2)', async () => {
      const res = await fetch(as.token_endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=${'a'.repeat(1 << 20)}` });
      const body = await res.json().catch(() => null);
      assert(res.status === 413 && body?.error === 'invalid_request', `got ${res.status} ${res.headers.get('content-type')}`);
      return `${res.status} ${body.error}`;
    });

    await check('token exchange of the user\'s token (RFC 8693 impersonation): narrower scope, aud = resource (RFC 8707)', async () => {
      const r = await client.genericGrantRequest(config, TOKEN_EXCHANGE, {
        subject_token: first.tokens.access_token, subject_token_type: ACCESS_TOKEN_TYPE, scope: 'openid', resource: RESOURCE,
      });
      assert(r.issued_token_type === ACCESS_TOKEN_TYPE, `issued_token_type ${r.issued_token_type}`);
      const c = jwtClaims(r.access_token);
      assert(c.sub === first.tokens.claims().sub && c.aud === RESOURCE && c.scope === 'openid' && !c.act, JSON.stringify(c));
      await expectReject(client.genericGrantRequest(config, TOKEN_EXCHANGE, {
        subject_token: first.tokens.access_token, subject_token_type: ACCESS_TOKEN_TYPE, audience: 'https://elsewhere.example/',
      }), 'invalid_target');
      return `aud ${c.aud}, scope "${c.scope}"; another audience → invalid_target`;
    });

    await check('token exchange with an actor_token (RFC 8693 delegation): act names the actor', async () => {
      const cc = await client.discovery(server, ccClient.client_id, {}, client.ClientSecretBasic(ccClient.client_secret), insecure);
      const actor = await client.clientCredentialsGrant(cc, { scope: 'api:read' });
      const r = await client.genericGrantRequest(config, TOKEN_EXCHANGE, {
        subject_token: first.tokens.access_token, subject_token_type: ACCESS_TOKEN_TYPE,
        actor_token: actor.access_token, actor_token_type: ACCESS_TOKEN_TYPE,
      });
      const c = jwtClaims(r.access_token);
      assert(c.act?.sub === ccClient.client_id, JSON.stringify(c.act));
      await expectReject(client.genericGrantRequest(config, TOKEN_EXCHANGE, {
        subject_token: first.tokens.access_token, subject_token_type: ACCESS_TOKEN_TYPE, actor_token: actor.access_token,
      }), 'invalid_request');
      return `act ${JSON.stringify(c.act)}; actor_token without its type → invalid_request`;
    });

    await check('resource indicator at the token endpoint (RFC 8707): aud = the resource; unregistered → invalid_target', async () => {
      const cc = await client.discovery(server, ccClient.client_id, {}, client.ClientSecretBasic(ccClient.client_secret), insecure);
      const t = await client.clientCredentialsGrant(cc, { scope: 'api:read', resource: RESOURCE });
      assert(jwtClaims(t.access_token).aud === RESOURCE, 'aud');
      await expectReject(client.clientCredentialsGrant(cc, { scope: 'api:read', resource: 'https://unregistered.example/' }), 'invalid_target');
      return `aud ${RESOURCE}`;
    });

    await check('introspection requires client authentication', async () => {
      const res = await fetch(as.introspection_endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: first.tokens.access_token }) });
      const body = await res.json().catch(() => ({}));
      assert(res.status === 401 && body.error === 'invalid_client', `got ${res.status} ${JSON.stringify(body)}`);
      return `${res.status} ${body.error}`;
    });

  }

  let refreshed;
  if (first) {
    await check('refresh: new tokens, rotated refresh token, ID token re-validated', async () => {
      refreshed = await client.refreshTokenGrant(config, first.tokens.refresh_token);
      assert(refreshed.refresh_token && refreshed.refresh_token !== first.tokens.refresh_token, 'rotated');
      assert(refreshed.access_token !== first.tokens.access_token, 'new access token');
      const c = refreshed.claims();
      assert(c && c.sub === first.tokens.claims().sub, 'same sub in the new ID token');
      return `scope "${refreshed.scope}"`;
    });

    await check('refresh: scope narrowing allowed, widening refused (invalid_scope)', async () => {
      const narrow = await client.refreshTokenGrant(config, refreshed.refresh_token, { scope: 'openid' });
      assert(narrow.scope === 'openid', `narrowed to ${narrow.scope}`);
      refreshed = narrow;
      return expectReject(client.refreshTokenGrant(config, refreshed.refresh_token, { scope: 'openid api:read' }), 'invalid_scope');
    });
  }

  // Reuse detection on its own grant (prompt-less second authorization: session + consent).
  await check('refresh token reuse revokes the grant (RFC 9700 §4.14.2)', async () => {
    const { tokens, seen } = await codeFlow(config, browser);
    assert(!seen.includes('login-form') && !seen.includes('consent-form'), `no pages with a session and prior consent (${seen.join(' ')})`);
    const next = await client.refreshTokenGrant(config, tokens.refresh_token);
    await expectReject(client.refreshTokenGrant(config, tokens.refresh_token), 'invalid_grant');
    const r = await client.tokenIntrospection(config, next.refresh_token, { token_type_hint: 'refresh_token' });
    assert(r.active === false, 'the successor is dead too');
    const a = await client.tokenIntrospection(config, next.access_token);
    assert(a.active === false, 'access tokens of the grant are dead too');
    return 'successor refresh token and access tokens inactive';
  });

  await check('20 concurrent presentations of one refresh token: exactly one succeeds, the rest invalid_grant (RFC 9700 §4.14.2)', async () => {
    const { tokens } = await codeFlow(config, browser);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => client.refreshTokenGrant(config, tokens.refresh_token)));
    const won = results.filter((r) => r.status === 'fulfilled');
    const codes = results.filter((r) => r.status === 'rejected').map((r) => r.reason?.error);
    assert(won.length === 1, `${won.length} succeeded`);
    assert(codes.every((c) => c === 'invalid_grant'), `errors: ${[...new Set(codes)].join(' ')}`);
    const live = await client.tokenIntrospection(config, won[0].value.refresh_token, { token_type_hint: 'refresh_token' });
    return `1 winner, 19 invalid_grant; the family was reused, so its last token is ${live.active ? 'live' : 'revoked'}`;
  });

  await check('authorization code replay → invalid_grant, and the first redemption\'s tokens are revoked (RFC 6749 §4.1.2)', async () => {
    const f = await codeFlow(config, browser);
    const r = await expectReject(client.authorizationCodeGrant(config, f.callback, {
      pkceCodeVerifier: f.verifier, expectedState: f.callback.searchParams.get('state'),
    }), 'invalid_grant');
    const a = await client.tokenIntrospection(config, f.tokens.access_token);
    assert(a.active === false, 'access token from the first redemption is inactive');
    return r;
  });

  // ------------------------------------------------------------ revocation
  if (refreshed) {
    await check('revocation of an access token → introspection active:false, userinfo 401', async () => {
      await client.tokenRevocation(config, refreshed.access_token, { token_type_hint: 'access_token' });
      const r = await client.tokenIntrospection(config, refreshed.access_token);
      assert(r.active === false && Object.keys(r).length === 1, JSON.stringify(r));
      await expectReject(client.fetchUserInfo(config, refreshed.access_token, client.skipSubjectCheck));
      return JSON.stringify(r);
    });

    await check('revocation of a refresh token → introspection active:false; its grant is revoked', async () => {
      const fresh = await client.refreshTokenGrant(config, refreshed.refresh_token);
      await client.tokenRevocation(config, fresh.refresh_token, { token_type_hint: 'refresh_token' });
      const r = await client.tokenIntrospection(config, fresh.refresh_token, { token_type_hint: 'refresh_token' });
      assert(r.active === false, `refresh: ${JSON.stringify(r)}`);
      const a = await client.tokenIntrospection(config, fresh.access_token);
      assert(a.active === false, `access token of the revoked grant: ${JSON.stringify(a)}`);
      await expectReject(client.refreshTokenGrant(config, fresh.refresh_token), 'invalid_grant');
      return 'refresh and access tokens inactive; refresh refused';
    });

    await check('revocation of an unknown token answers 200 (RFC 7009 §2.2)', async () => {
      await client.tokenRevocation(config, 'not-a-token-at-all');
      return 'ok';
    });
  }

  // ------------------------------------------------------------ client_credentials
  await check('client_credentials (client_secret_basic): ES256 RFC 9068 access token, introspectable', async () => {
    const cc = await client.discovery(server, ccClient.client_id, undefined, client.ClientSecretBasic(ccClient.client_secret), insecure);
    const t = await client.clientCredentialsGrant(cc, { scope: 'api:read' });
    assert(!t.refresh_token && !t.id_token, 'no refresh or ID token');
    const header = JSON.parse(Buffer.from(t.access_token.split('.')[0], 'base64url'));
    assert(header.alg === 'ES256' && header.typ === 'at+jwt', `header ${JSON.stringify(header)}`);
    const req = new Request(as.userinfo_endpoint, { headers: { authorization: `Bearer ${t.access_token}` } });
    const claims = await oauth.validateJwtAccessToken(as, req, ISSUER, { [oauth.allowInsecureRequests]: true });
    assert(claims.sub === ccClient.client_id && claims.scope === 'api:read', JSON.stringify(claims));
    const r = await client.tokenIntrospection(cc, t.access_token);
    assert(r.active === true, 'active');
    await expectReject(client.clientCredentialsGrant(cc, { scope: 'openid' }), 'invalid_scope');
    return `expires_in ${t.expires_in}, scope "${t.scope}"`;
  });

  await check('client_credentials refused to a public client (invalid_client)', async () => {
    const pub = await client.discovery(server, publicClient.client_id, undefined, client.None(), insecure);
    return expectReject(client.clientCredentialsGrant(pub, { scope: 'api:read' }), 'invalid_client');
  });

  await check('a grant the client did not register is refused (unauthorized_client)', async () => {
    const cc = await client.discovery(server, ccClient.client_id, undefined, client.ClientSecretBasic(ccClient.client_secret), insecure);
    return expectReject(client.refreshTokenGrant(cc, 'whatever-refresh-token'), 'unauthorized_client');
  });

  await check('client authentication failure → 401 invalid_client with WWW-Authenticate: Basic', async () => {
    const bad = await client.discovery(server, confidential.client_id, undefined, client.ClientSecretBasic('wrong-secret'), insecure);
    try {
      await client.clientCredentialsGrant(bad, { scope: 'api:read' });
    } catch (e) {
      // RFC 6749 §5.2: with Basic auth the 401 carries a WWW-Authenticate challenge, which
      // openid-client surfaces as a WWWAuthenticateChallengeError.
      if (e.code === 'OAUTH_WWW_AUTHENTICATE_CHALLENGE') {
        const body = await e.response.json();
        assert(e.status === 401 && e.cause?.[0]?.scheme === 'basic' && body.error === 'invalid_client', `${e.status} ${JSON.stringify(e.cause)} ${JSON.stringify(body)}`);
        return `401, challenge ${e.cause[0].scheme}, ${body.error}`;
      }
      assert(e.error === 'invalid_client', `got ${e.error ?? e.code}`);
      return `rejected: ${e.error}`;
    }
    throw new Error('a wrong secret was accepted');
  });

  // ------------------------------------------------------------ private_key_jwt
  await check('private_key_jwt (ES256 assertion): code flow + ES256 ID token + introspection + client_credentials', async () => {
    const pk = await client.discovery(server, pkjClient.client_id, { redirect_uris: [REDIRECT], id_token_signed_response_alg: 'ES256' }, client.PrivateKeyJwt(pkjKey), insecure);
    client.enableNonRepudiationChecks(pk);
    const { tokens } = await codeFlow(pk, browser);
    const alg = JSON.parse(Buffer.from(tokens.id_token.split('.')[0], 'base64url')).alg;
    assert(alg === 'ES256', `ID token alg ${alg}`);
    const r = await client.tokenIntrospection(pk, tokens.access_token);
    assert(r.active === true && r.client_id === pkjClient.client_id, 'introspection');
    const rt = await client.refreshTokenGrant(pk, tokens.refresh_token);
    assert(rt.claims()?.sub === tokens.claims().sub, 'refresh');
    const cc = await client.clientCredentialsGrant(pk, { scope: 'api:read' });
    assert(cc.access_token, 'client_credentials');
    await client.tokenRevocation(pk, rt.refresh_token);
    return 'code, refresh, introspect, client_credentials, revoke all with private_key_jwt';
  });

  await check('private_key_jwt: a replayed client assertion (same jti) is rejected', async () => {
    let saved;
    const pk = await client.discovery(server, pkjClient.client_id, undefined, client.PrivateKeyJwt(pkjKey), insecure);
    // Capture the assertion the library sends, then replay it verbatim.
    pk[client.customFetch] = async (url, opts) => {
      if (String(url) === as.token_endpoint) saved = new URLSearchParams(opts.body.toString());
      return fetch(url, opts);
    };
    await client.clientCredentialsGrant(pk, { scope: 'api:read' });
    assert(saved?.get('client_assertion'), 'assertion captured');
    const res = await fetch(as.token_endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: saved });
    const body = await res.json();
    assert(res.status === 401 && body.error === 'invalid_client', `${res.status} ${JSON.stringify(body)}`);
    return `${res.status} ${body.error}: ${body.error_description}`;
  });

  // ------------------------------------------------------------ public client, EdDSA
  await check('public client (none) + PKCE: code flow, EdDSA ID token, refresh', async () => {
    const pub = await client.discovery(server, publicClient.client_id, { redirect_uris: [REDIRECT], id_token_signed_response_alg: 'EdDSA' }, client.None(), insecure);
    client.enableNonRepudiationChecks(pub);
    const { tokens } = await codeFlow(pub, browser, { scope: 'openid profile' });
    const alg = JSON.parse(Buffer.from(tokens.id_token.split('.')[0], 'base64url')).alg;
    assert(alg === 'EdDSA', `ID token alg ${alg}`);
    const rt = await client.refreshTokenGrant(pub, tokens.refresh_token);
    assert(rt.access_token, 'refreshed');
    return `alg ${alg}`;
  });

  await check('public client without PKCE is refused at the authorization endpoint', async () => {
    const pub = await client.discovery(server, publicClient.client_id, { redirect_uris: [REDIRECT] }, client.None(), insecure);
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(pub, { redirect_uri: REDIRECT, scope: 'openid', state });
    const { callback } = await browser.authorize(url);
    return expectReject(client.authorizationCodeGrant(pub, callback, { expectedState: state }), 'invalid_request');
  });

  // ------------------------------------------------------------ PKCE binding, prompt, PAR
  await check('wrong PKCE code_verifier → invalid_grant', async () => {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT, scope: 'openid', state, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const { callback } = await browser.authorize(url);
    return expectReject(client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: client.randomPKCECodeVerifier(), expectedState: state }), 'invalid_grant');
  });

  await check('pushed authorization request (RFC 9126): request_uri flow', async () => {
    const { tokens, url } = await codeFlow(config, browser, { par: true });
    assert(url.searchParams.get('request_uri')?.startsWith('urn:ietf:params:oauth:request_uri:'), `request_uri ${url.searchParams.get('request_uri')}`);
    assert(!url.searchParams.has('code_challenge'), 'parameters were pushed, not in the URL');
    return `id_token sub ${tokens.claims().sub}`;
  });

  await check('prompt=none with a live session and consent → code without pages', async () => {
    const { seen } = await codeFlow(config, browser, { extra: { prompt: 'none' } });
    assert(seen.length === 1, `one redirect, got ${seen.join(' ')}`);
    return seen.join(' ');
  });

  await check('claims request naming another user\'s sub with prompt=none → login_required (Core §3.1.2.2)', async () => {
    const claims = JSON.stringify({ id_token: { sub: { value: 'someone-else' } } });
    return expectReject(codeFlow(config, browser, { extra: { prompt: 'none', claims } }), 'login_required');
  });

  await check('claims request for email with scope=openid: released in the ID token only (Core §5.5)', async () => {
    const claims = JSON.stringify({ id_token: { email: { essential: true } } });
    const { tokens } = await codeFlow(config, browser, { scope: 'openid', extra: { claims } });
    const c = tokens.claims();
    assert(c.email === USER.email, `email ${c.email}`);
    assert(tokens.scope === 'openid', `token scope ${tokens.scope}`);
    const ui = await client.fetchUserInfo(config, tokens.access_token, c.sub);
    assert(ui.email === undefined, 'not asked for in userinfo');
    return `id_token email ${c.email}; userinfo without it`;
  });

  await check('prompt=login forces the login form; auth_time advances', async () => {
    const before = first?.tokens.claims().auth_time ?? 0;
    await new Promise((r) => setTimeout(r, 1100));
    const a = await codeFlow(config, browser, { extra: { prompt: 'login' } });
    assert(a.seen.includes('login-form'), `login form shown (${a.seen.join(' ')})`);
    assert(a.tokens.claims().auth_time > before, 'auth_time advanced');
    return `auth_time ${before} → ${a.tokens.claims().auth_time}`;
  });

  await check('max_age=0 right after a login forces re-authentication (Core §3.1.2.1: equivalent to prompt=login)', async () => {
    const b = await codeFlow(config, browser, { extra: { max_age: '0' } });
    assert(b.seen.includes('login-form'), `login form expected, got ${b.seen.join(' ')} (auth_time ${b.tokens.claims().auth_time}, now ${Math.floor(Date.now() / 1000)})`);
    return b.seen.join(' ');
  });

  await check('max_age=1 with a session older than 1 s forces re-authentication', async () => {
    await new Promise((r) => setTimeout(r, 2100));
    const b = await codeFlow(config, browser, { extra: { max_age: '1' } });
    assert(b.seen.includes('login-form'), `login form expected, got ${b.seen.join(' ')}`);
    assert(typeof b.tokens.claims().auth_time === 'number', 'auth_time in the ID token');
    return b.seen.join(' ');
  });

  await check('consent denied → access_denied at the redirect URI (with state and iss)', async () => {
    const other = new Browser();
    const state = client.randomState();
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', prompt: 'consent', state, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const { callback, seen } = await other.authorize(url, { consent: 'deny' });
    assert(seen.includes('consent-form'), `consent form shown (${seen.join(' ')})`);
    assert(callback.searchParams.get('iss') === ISSUER, 'iss on the error response');
    return expectReject(client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state }), 'access_denied');
  });

  // ------------------------------------------------------------ DPoP (RFC 9449)
  await dpopChecks({ check, assert, expectReject, server, admin, codeFlow, browser, REDIRECT, ISSUER, insecure });

  // ------------------------------------------------------------ device authorization grant
  await check('device flow (RFC 8628): initiation, authorization_pending, approval on /device (code confirmed, login, consent), polling → tokens', async () => {
    const dev = await client.discovery(server, deviceClient.client_id, undefined, client.None(), insecure);
    client.enableNonRepudiationChecks(dev);
    assert(dev.serverMetadata().device_authorization_endpoint === `${ISSUER}/device_authorization`, 'device_authorization_endpoint advertised');
    assert(dev.serverMetadata().grant_types_supported?.includes(DEVICE_CODE), 'device grant advertised');
    const da = await client.initiateDeviceAuthorization(dev, { scope: 'openid profile offline_access' });
    assert(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/.test(da.user_code), `user_code ${da.user_code}`);
    assert(da.verification_uri === `${ISSUER}/device` && da.verification_uri_complete.startsWith(`${da.verification_uri}?user_code=`), da.verification_uri_complete);
    assert(da.expires_in > 0 && da.interval > 0, `expires_in ${da.expires_in}, interval ${da.interval}`);
    const early = await rawPoll(as, deviceClient.client_id, da.device_code);
    assert(early.status === 400 && early.body.error === 'authorization_pending', JSON.stringify(early));
    // The library polls at the interval from now on, while the user answers elsewhere.
    const polled = client.pollDeviceAuthorizationGrant(dev, da);
    const { result, seen } = await answerDevice(new Browser(), da);
    assert(result === 'approved' && seen.includes('login-form') && seen.includes('consent-form'), `${result}: ${seen.join(' ')}`);
    const tokens = await polled;
    const sub = tokens.claims()?.sub;
    assert(sub && sub === first?.tokens.claims().sub, `the user's (public) sub in the ID token: ${sub}`);
    const ui = await client.fetchUserInfo(dev, tokens.access_token, sub);
    assert(ui.preferred_username === USER.username, 'userinfo');
    const again = await rawPoll(as, deviceClient.client_id, da.device_code);
    assert(again.status === 400 && again.body.error === 'invalid_grant', `a redeemed code: ${JSON.stringify(again)}`);
    const rt = await client.refreshTokenGrant(dev, tokens.refresh_token);
    assert(rt.claims()?.sub === sub, 'refresh');
    return `${seen.join(' ')}; sub ${sub}; second poll invalid_grant; refreshed`;
  });

  await check('device flow: a denial → access_denied; a client not registered for the grant → unauthorized_client', async () => {
    const dev = await client.discovery(server, deviceClient.client_id, undefined, client.None(), insecure);
    const da = await client.initiateDeviceAuthorization(dev, { scope: 'openid' });
    const polled = client.pollDeviceAuthorizationGrant(dev, da);
    const { result } = await answerDevice(new Browser(), da, 'deny');
    assert(result === 'denied', `result ${result}`);
    const denied = await expectReject(polled, 'access_denied');
    const notDevice = await expectReject(client.initiateDeviceAuthorization(config, { scope: 'openid' }), 'unauthorized_client');
    return `${denied}; ${notDevice}`;
  });

  // ------------------------------------------------------------ pairwise subjects
  await check('pairwise subject (OpenID Connect Core §8.1): differs from the public sub; the same in ID token, UserInfo, access token and introspection', async () => {
    const pw = await client.discovery(server, pairwiseClient.client_id, { redirect_uris: [REDIRECT] }, client.ClientSecretBasic(pairwiseClient.client_secret), insecure);
    client.enableNonRepudiationChecks(pw);
    assert(pw.serverMetadata().subject_types_supported?.includes('pairwise'), 'pairwise advertised');
    const { tokens } = await codeFlow(pw, browser);
    const sub = tokens.claims().sub;
    const publicSub = first?.tokens.claims().sub;
    assert(sub && publicSub && sub !== publicSub && /^[A-Za-z0-9_-]{43}$/.test(sub), `pairwise ${sub} vs public ${publicSub}`);
    await client.fetchUserInfo(pw, tokens.access_token, sub); // the library checks the sub
    assert(jwtClaims(tokens.access_token).sub === sub, 'access token sub');
    const r = await client.tokenIntrospection(pw, tokens.access_token);
    assert(r.active && r.sub === sub, `introspection ${JSON.stringify(r)}`);
    const rt = await client.refreshTokenGrant(pw, tokens.refresh_token);
    assert(rt.claims()?.sub === sub, 'refreshed ID token');
    return `pairwise sub ${sub}`;
  });

  // ------------------------------------------------------------ back-channel logout
  await check('back-channel logout: a logout token POSTed to the client, verified against the JWKS (jose): typ logout+jwt, iss, aud, iat, exp, jti, events, sub, sid, no nonce', async () => {
    const bcl = await client.discovery(server, bclClient.client_id, { redirect_uris: [REDIRECT] }, client.ClientSecretBasic(bclClient.client_secret), insecure);
    const meta = bcl.serverMetadata();
    assert(meta.backchannel_logout_supported === true && meta.backchannel_logout_session_supported === true, 'advertised');
    const other = new Browser();
    const { tokens } = await codeFlow(bcl, other, { scope: 'openid' });
    const id = tokens.claims();
    assert(id.sid, 'sid in the ID token');
    const seen = receiver.tokens.length;
    const res = await other.request(client.buildEndSessionUrl(bcl, { id_token_hint: tokens.id_token }));
    assert(res.status === 200, `logout page ${res.status}`);
    const lt = await receiver.next(seen);
    const jwks = jose.createRemoteJWKSet(new URL(meta.jwks_uri));
    const { payload, protectedHeader } = await jose.jwtVerify(lt, jwks, { issuer: ISSUER, audience: bclClient.client_id, typ: 'logout+jwt', maxTokenAge: '2m' });
    assert(JSON.stringify(payload.events) === JSON.stringify({ [BACKCHANNEL_EVENT]: {} }), `events ${JSON.stringify(payload.events)}`);
    assert(payload.sid === id.sid && payload.sub === id.sub, `sid ${payload.sid}, sub ${payload.sub}`);
    assert(!('nonce' in payload) && payload.jti && payload.iat && payload.exp > payload.iat, JSON.stringify(payload));
    return `${protectedHeader.alg} kid ${protectedHeader.kid}; sid ${payload.sid}`;
  });
  receiver.close();

  // ------------------------------------------------------------ dynamic registration
  let iat;
  await check('dynamic registration (RFC 7591) with an initial access token, by the library: code flow with the new client', async () => {
    assert(as.registration_endpoint === `${ISSUER}/register`, `registration_endpoint ${as.registration_endpoint}`);
    iat = await admin('/admin/initial-access-tokens', {
      grant_types: ['authorization_code', 'refresh_token'], redirect_uris: ['http://127.0.0.1:*/callback'], expires_in: 600,
    });
    const dyn = await client.dynamicClientRegistration(server, {
      client_name: 'openid-client conformance (dynamically registered)', redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: 'client_secret_post',
      logo_uri: 'https://rp.conformance.example/logo.png', // not understood by Surety: ignored (RFC 7591 §2)
    }, undefined, { ...insecure, initialAccessToken: iat.token });
    const m = dyn.clientMetadata();
    assert(m.client_secret && m.client_secret_expires_at === 0 && typeof m.client_id_issued_at === 'number', 'client_secret, client_secret_expires_at, client_id_issued_at');
    assert(m.registration_access_token && m.registration_client_uri === `${ISSUER}/register/${m.client_id}`, 'registration_access_token and registration_client_uri');
    client.enableNonRepudiationChecks(dyn);
    const flow = await codeFlow(dyn, new Browser(), { scope: 'openid profile' });
    const claims = flow.tokens.claims();
    assert(claims.aud === m.client_id && claims.iss === ISSUER, `aud ${claims.aud}`);
    const ui = await client.fetchUserInfo(dyn, flow.tokens.access_token, claims.sub);
    assert(ui.preferred_username === USER.username, 'userinfo');
    dynamic = { config: dyn, metadata: m, tokens: flow.tokens };
    return `client ${m.client_id}: ${flow.seen.join(' ')}`;
  });

  await check('dynamic registration refusals: no or a wrong initial access token → 401 invalid_token; a fragment, or a redirect URI outside the token\'s policy → invalid_redirect_uri', async () => {
    for (const token of [undefined, 'not-a-token']) {
      const res = await fetch(as.registration_endpoint, {
        method: 'POST', body: JSON.stringify({ redirect_uris: [REDIRECT] }),
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      });
      const body = await res.json();
      assert(res.status === 401 && body.error === 'invalid_token' && /^Bearer /.test(res.headers.get('www-authenticate') ?? ''), `token ${token}: ${res.status} ${JSON.stringify(body)}`);
    }
    const out = [];
    for (const uri of ['http://127.0.0.1:9999/callback#frag', 'https://elsewhere.example/callback']) {
      out.push(await expectReject(client.dynamicClientRegistration(server, { redirect_uris: [uri] }, undefined, { ...insecure, initialAccessToken: iat.token }), 'invalid_redirect_uri'));
    }
    return out.join('; ');
  });

  await check('RFC 7592: read with the registration access token; update rotates it (the old one refused); delete → 204, the client\'s tokens revoked', async () => {
    assert(dynamic, 'a dynamically registered client');
    const { metadata: m } = dynamic;
    const call = (method, token, body) => fetch(m.registration_client_uri, {
      method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    let res = await call('GET', m.registration_access_token);
    const read = await res.json();
    assert(res.status === 200 && read.client_id === m.client_id && !read.client_secret, `read ${res.status}`);
    res = await call('PUT', m.registration_access_token, { ...read, client_id: m.client_id, client_name: 'renamed by RFC 7592' });
    const updated = await res.json();
    assert(res.status === 200 && updated.client_name === 'renamed by RFC 7592', `update ${res.status} ${JSON.stringify(updated)}`);
    assert(updated.registration_access_token && updated.registration_access_token !== m.registration_access_token, 'a new registration access token');
    res = await call('GET', m.registration_access_token);
    assert(res.status === 401, `the old token: ${res.status}`);
    res = await call('DELETE', updated.registration_access_token);
    assert(res.status === 204, `delete ${res.status}`);
    res = await call('GET', updated.registration_access_token);
    assert(res.status === 401, `after delete: ${res.status}`);
    const ui = await fetch(as.userinfo_endpoint, { headers: { authorization: `Bearer ${dynamic.tokens.access_token}` } });
    assert(ui.status === 401, `its access token after delete: ${ui.status}`);
    return 'read 200, update 200 (token rotated), old token 401, delete 204, access token 401';
  });

  // ------------------------------------------------------------ logout
  await check('RP-initiated logout: end_session URL → post_logout_redirect_uri with state; session gone', async () => {
    const idt = first?.tokens.id_token;
    assert(idt, 'an ID token from the first flow');
    const state = client.randomState();
    const url = client.buildEndSessionUrl(config, { id_token_hint: idt, post_logout_redirect_uri: POST_LOGOUT, state });
    const res = await browser.request(url);
    const loc = res.headers.get('location');
    assert(res.status >= 300 && res.status < 400 && loc, `redirect, got ${res.status}`);
    const to = new URL(loc);
    assert(to.origin + to.pathname === POST_LOGOUT && to.searchParams.get('state') === state, `to ${loc}`);
    // prompt=none now fails with login_required.
    const st = client.randomState();
    const v = client.randomPKCECodeVerifier();
    const u = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', state: st, prompt: 'none', code_challenge: await client.calculatePKCECodeChallenge(v), code_challenge_method: 'S256' });
    const { callback } = await browser.authorize(u);
    return expectReject(client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: v, expectedState: st }), 'login_required');
  });
}

try {
  await main();
} catch (e) {
  results.push({ name: 'harness', ok: false, detail: String(e?.stack ?? e), ms: 0 });
}

const w = Math.max(...results.map((r) => r.name.length), 5);
const lines = [];
lines.push(`| ${'check'.padEnd(w)} | result |`);
lines.push(`| ${'-'.repeat(w)} | ------ |`);
for (const r of results) lines.push(`| ${r.name.padEnd(w)} | ${r.ok ? 'pass  ' : 'FAIL  '} |`);
console.log(lines.join('\n'));
const failed = results.filter((r) => !r.ok);
console.log('');
for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}${r.detail ? `\n     ${r.detail}` : ''}`);
console.log(`\nopenid-client ${process.env.OPENID_CLIENT_VERSION ?? ''}: ${results.length - failed.length} passed, ${failed.length} failed`);
if (process.env.RESULTS_MD) {
  const fs = await import('node:fs');
  fs.writeFileSync(process.env.RESULTS_MD, lines.join('\n') + '\n');
}
process.exit(failed.length ? 1 : 0);
