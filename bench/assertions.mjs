// RFC 7523 jwt-bearer assertions for bench/run.sh, with node:crypto only (no npm packages;
// any Node >= 16). The claims and header follow ../shared/bench-peer/tools.mjs:
// {alg: ES256, typ: JWT, kid} over {iss, sub, aud, iat, exp, jti (random UUID)}.
//
//   node assertions.mjs keygen PRIVATE.jwk.json PUBLIC.jwk.json [--kid=bench-1]
//        writes a P-256 key pair as JWKs (with kid and alg)
//   node assertions.mjs bodies N OUT --key=PRIVATE.jwk.json --iss=.. --sub=.. --aud=..
//        [--exp-offset=240] [--scope=..] [--resource=..]
//        writes N token-request form bodies, one a line, each a fresh assertion with its own jti:
//        grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=...[&scope=..][&resource=..]
//        exp = now + exp-offset (Surety accepts at most 300 s ahead; generate just before the run)
//        With --dpop-htu=URL each line is instead `PROOF<TAB>BODY`: a fresh DPoP proof (RFC 9449)
//        of one ES256 key for a POST to URL goes with each body (bench/dpop-lines.lua sends it).
//   node assertions.mjs proofs N OUT --dpop-htu=URL --body=FORM
//        writes N lines `PROOF<TAB>FORM`, each a fresh DPoP proof (own jti, iat = now) of one key
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import * as fs from 'node:fs';

const [cmd, ...rest] = process.argv.slice(2);
const opts = Object.fromEntries(rest.filter((a) => a.startsWith('--')).map((a) => {
  const i = a.indexOf('=');
  return i < 0 ? [a.slice(2), true] : [a.slice(2, i), a.slice(i + 1)];
}));
const positional = rest.filter((a) => !a.startsWith('--'));
const b64u = (buf) => Buffer.from(buf).toString('base64url');

// One ES256 DPoP key per run; proof(htu) is a fresh proof of a POST to htu.
function dpopProver(htu) {
  if (!htu) return null;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
  const header = b64u(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } }));
  const iat = Math.floor(Date.now() / 1000);
  return () => {
    const input = `${header}.${b64u(JSON.stringify({ jti: randomUUID(), htm: 'POST', htu, iat }))}`;
    return `${input}.${b64u(sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }))}`;
  };
}

// Writes n lines made by line() to out, in batches.
function writeLines(out, n, line) {
  const fd = fs.openSync(out, 'w');
  const BATCH = 2000;
  for (let i = 0; i < n; i += BATCH) {
    const lines = [];
    for (let j = 0; j < Math.min(BATCH, n - i); j += 1) lines.push(`${line()}\n`);
    fs.writeSync(fd, lines.join(''));
  }
  fs.closeSync(fd);
}

switch (cmd) {
  case 'keygen': {
    const [privFile, pubFile] = positional;
    if (!privFile || !pubFile) throw new Error('usage: keygen PRIVATE PUBLIC');
    const kid = opts.kid || 'bench-1';
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    fs.writeFileSync(privFile, JSON.stringify({ ...privateKey.export({ format: 'jwk' }), kid, alg: 'ES256' }), { mode: 0o600 });
    fs.writeFileSync(pubFile, JSON.stringify({ ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' }));
    break;
  }
  case 'bodies': {
    const n = Number(positional[0]);
    const out = positional[1];
    if (!(n > 0) || !out || !opts.key || !opts.iss || !opts.sub || !opts.aud) {
      throw new Error('usage: bodies N OUT --key=PRIVATE.jwk.json --iss=.. --sub=.. --aud=..');
    }
    const jwk = JSON.parse(fs.readFileSync(opts.key, 'utf8'));
    const key = createPrivateKey({ key: jwk, format: 'jwk' });
    createPublicKey(key); // fails early on a bad key
    const header = b64u(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid: jwk.kid }));
    const now = Math.floor(Date.now() / 1000);
    const exp = now + Number(opts['exp-offset'] ?? 240);
    const gt = encodeURIComponent('urn:ietf:params:oauth:grant-type:jwt-bearer');
    const extra = `${opts.scope ? `&scope=${encodeURIComponent(opts.scope)}` : ''}`
      + `${opts.resource ? `&resource=${encodeURIComponent(opts.resource)}` : ''}`;
    const prove = dpopProver(opts['dpop-htu']);
    writeLines(out, n, () => {
      const payload = b64u(JSON.stringify({ iss: opts.iss, sub: opts.sub, aud: opts.aud, iat: now, exp, jti: randomUUID() }));
      const input = `${header}.${payload}`;
      const sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
      const body = `grant_type=${gt}&assertion=${input}.${b64u(sig)}${extra}`;
      return prove ? `${prove()}\t${body}` : body;
    });
    break;
  }
  case 'proofs': {
    const n = Number(positional[0]);
    const out = positional[1];
    if (!(n > 0) || !out || !opts['dpop-htu'] || typeof opts.body !== 'string') {
      throw new Error('usage: proofs N OUT --dpop-htu=URL --body=FORM');
    }
    const prove = dpopProver(opts['dpop-htu']);
    writeLines(out, n, () => `${prove()}\t${opts.body}`);
    break;
  }
  default:
    console.error('usage: node assertions.mjs keygen PRIV PUB | bodies N OUT --key=.. --iss=.. --sub=.. --aud=.. | proofs N OUT --dpop-htu=.. --body=..');
    process.exit(2);
}
