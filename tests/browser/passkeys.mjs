// Headless-Chromium check of passkeys and one-time codes (issue 12), with Chrome's virtual
// WebAuthn authenticator (Chrome DevTools Protocol WebAuthn.addVirtualAuthenticator:
// CTAP2, internal, resident keys, user verification).
//
// Starts Surety (SURETY_BIN) on a free port with the issuer http://localhost:PORT (a
// secure context for WebAuthn), creates the user pat and a relying party whose redirect
// URI is a small local callback server of this script. Then it drives Chromium:
//   1. pat signs in with the password, registers a passkey on /account/security/passkeys
//      (the virtual authenticator holds one resident credential; the first factor brings
//      recovery codes), and signs out everywhere (/account/sessions).
//   2. sign-in without a password: the login page's "Sign in with a passkey" button; the
//      ID token (signature checked against the JWKS) has acr phishing-resistant and amr
//      ["hwk","user","mfa"].
//   3. step-up: signed out again, pat signs in with the password; the relying party asks
//      for acr_values=urn:surety:acr:phishing-resistant; /authenticate offers only the
//      passkey; the ID token has acr phishing-resistant, amr ["pwd","hwk","user","mfa"].
//   4. TOTP: pat sets up an authenticator app on /account/security/totp — the script reads
//      the key the page shows and computes the codes (RFC 6238) — then, in a new browser
//      context, a password sign-in asking for urn:surety:acr:mfa takes a code: acr mfa,
//      amr ["pwd","otp","mfa"].
// No page logs a console error (a CSP violation of the passkey script would).
// Saves tests/browser/out/passkeys-*.png and copies passkeys.png (the account's passkey
// list), passkey-login.png, authenticate-passkey.png and totp.png to docs/screenshots/.
// Prints 'N passed, N failed'.
//
// Env: SURETY_BIN (default target/debug/surety), CHROMIUM (default /usr/bin/chromium),
//      KEEP_DATA=1 keeps the data dir and server log (kept anyway when a check fails).

import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const bin = process.env.SURETY_BIN || path.join(root, "target/debug/surety");
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const outDir = path.join(here, "out");
const adminToken = "browser-" + crypto.randomBytes(16).toString("hex");
const PASSWORD = "correct horse battery " + crypto.randomBytes(4).toString("hex");
const PHR = "urn:surety:acr:phishing-resistant";
const MFA = "urn:surety:acr:mfa";
const RP_NAME = "Harbor Bank";

let passed = 0;
let failed = 0;
function check(name, ok, detail = "") {
  if (ok) {
    passed++;
    console.log(`ok   - ${name}`);
  } else {
    failed++;
    console.log(`FAIL - ${name}${detail ? `: ${detail}` : ""}`);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const b64url = (b) => Buffer.from(b).toString("base64url");

// --- Surety ------------------------------------------------------------------------------
const port = await freePort();
const issuer = `http://localhost:${port}`;
const api = `http://127.0.0.1:${port}`;
const data = fs.mkdtempSync(path.join(os.tmpdir(), "surety-passkeys-"));
const logPath = path.join(data, "server.log");
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SURETY_")));
const log = fs.openSync(logPath, "w");
const server = spawn(bin, ["serve"], {
  env: { ...baseEnv, SURETY_LISTEN: `127.0.0.1:${port}`, SURETY_ISSUER: issuer, SURETY_DATA_DIR: data, SURETY_ADMIN_TOKEN: adminToken },
  stdio: ["ignore", log, log],
});

let browser;
const servers = [];
function cleanup() {
  if (server.exitCode === null) server.kill("SIGTERM");
  for (const s of servers) s.close();
  if (!process.env.KEEP_DATA && failed === 0) fs.rmSync(data, { recursive: true, force: true });
  else console.log(`data and server log kept in ${data}`);
}

async function admin(method, p, body) {
  const r = await fetch(api + p, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${text}`);
  return JSON.parse(text);
}

async function callbackServer() {
  const cbPort = await freePort();
  const s = http.createServer((req, res) => {
    const u = new URL(req.url, `http://127.0.0.1:${cbPort}`);
    if (u.pathname !== "/cb") return res.writeHead(404).end();
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(`<!doctype html><title>${RP_NAME}</title><h1>${RP_NAME}: signed in</h1>`);
  });
  servers.push(s);
  await new Promise((resolve) => s.listen(cbPort, "127.0.0.1", resolve));
  return `http://127.0.0.1:${cbPort}/cb`;
}

function authorizeUrl(client, extra = {}) {
  const verifier = b64url(crypto.randomBytes(32));
  const challenge = b64url(crypto.createHash("sha256").update(verifier).digest());
  const q = new URLSearchParams({
    response_type: "code", client_id: client.client_id, redirect_uri: client.redirectUri,
    scope: "openid profile", state: b64url(crypto.randomBytes(12)), nonce: b64url(crypto.randomBytes(12)),
    code_challenge: challenge, code_challenge_method: "S256", ...extra,
  });
  return { url: `${issuer}/authorize?${q}`, verifier };
}

// The ID token's claims when its signature verifies against the provider's JWKS, else null.
async function idToken(client, callbackUrl, verifier) {
  const code = new URL(callbackUrl).searchParams.get("code");
  if (!code) return null;
  const r = await fetch(`${api}/token`, {
    method: "POST",
    headers: {
      authorization: "Basic " + Buffer.from(`${client.client_id}:${client.client_secret}`).toString("base64"),
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: client.redirectUri, code_verifier: verifier }),
  });
  const jwt = (await r.json()).id_token ?? "";
  const [h, p, s] = jwt.split(".");
  const header = JSON.parse(Buffer.from(h, "base64url"));
  const jwks = await (await fetch(`${api}/jwks`)).json();
  const key = crypto.createPublicKey({ key: jwks.keys.find((k) => k.kid === header.kid), format: "jwk" });
  const input = Buffer.from(`${h}.${p}`);
  const sig = Buffer.from(s, "base64url");
  const ok = header.alg === "RS256" ? crypto.verify("sha256", input, key, sig) : crypto.verify("sha256", input, { key, dsaEncoding: "ieee-p1363" }, sig);
  return ok ? JSON.parse(Buffer.from(p, "base64url")) : null;
}

// RFC 6238 (SHA-1, 30 s, 6 digits) for a base32 key.
function totp(base32, at = Date.now() / 1000) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of base32) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30)));
  const h = crypto.createHmac("sha1", key).update(counter).digest();
  const off = h[h.length - 1] & 0xf;
  return String((h.readUInt32BE(off) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

// --- browser helpers ---------------------------------------------------------------------
async function newPage() {
  const context = await browser.newContext({ viewport: { width: 760, height: 900 } });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("console", (m) => {
    if (m.type() === "error" && !m.location().url.includes("/favicon.ico")) consoleErrors.push(`${m.text()} (${m.location().url})`);
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  return { context, page, cdp, consoleErrors };
}

async function addAuthenticator(cdp) {
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return authenticatorId;
}

async function clickAndWait(page, selector) {
  await Promise.all([page.waitForNavigation({ timeout: 15000 }).catch(() => {}), page.click(selector)]);
}

// Goes on through the password sign-in and consent until a page that is neither, or the
// relying party's callback; returns where it stopped.
async function proceed(page, client, user) {
  for (let i = 0; i < 5; i++) {
    const u = new URL(page.url());
    if (page.url().startsWith(client.redirectUri)) return "callback";
    if (u.pathname === "/login" && user) {
      await page.fill("#username", user);
      await page.fill("#password", PASSWORD);
      await clickAndWait(page, "form[action='/login'] button[type=submit]");
    } else if (u.pathname === "/consent") {
      await clickAndWait(page, "button[value=approve]");
    } else {
      return u.pathname;
    }
  }
  return `stuck at ${page.url()}`;
}

async function shot(page, name, docName) {
  const file = path.join(outDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  if (docName) fs.copyFileSync(file, path.join(root, "docs/screenshots", `${docName}.png`));
}

async function signOutEverywhere(page) {
  await page.goto(`${issuer}/account/sessions`);
  await clickAndWait(page, "form[action='/account/sessions/end-all'] button");
}

async function main() {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${api}/healthz`)).ok) break;
    } catch {}
    if (server.exitCode !== null || i > 100) throw new Error(`Surety did not start; see ${logPath}`);
    await sleep(100);
  }
  await admin("POST", "/admin/users", { username: "pat", password: PASSWORD, email: "pat@example.com" });
  const redirectUri = await callbackServer();
  const reg = await admin("POST", "/admin/clients", { client_name: RP_NAME, redirect_uris: [redirectUri], grant_types: ["authorization_code"] });
  const client = { ...reg, redirectUri };
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  fs.mkdirSync(outDir, { recursive: true });

  // 1. Password sign-in, register a passkey, sign out.
  const { context, page, cdp, consoleErrors } = await newPage();
  const authenticatorId = await addAuthenticator(cdp);
  let req = authorizeUrl(client);
  await page.goto(req.url);
  check("pat signs in with the password", (await proceed(page, client, "pat")) === "callback", page.url());
  await page.goto(`${issuer}/account/security/passkeys`);
  await page.fill("#name", "Virtual key");
  await clickAndWait(page, "#passkey-register button[type=submit]");
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  check("the virtual authenticator holds one resident passkey for localhost",
    credentials.length === 1 && credentials[0].isResidentCredential && credentials[0].rpId === "localhost", JSON.stringify(credentials));
  check("the first passkey brings recovery codes, shown once", (await page.locator("#recovery-codes li").count()) === 10, page.url());
  await page.goto(`${issuer}/account/security/passkeys`);
  const listed = await page.textContent("#passkey-list");
  check("the passkey is listed by its name, never used yet", /Virtual key/.test(listed) && /never used/.test(listed), listed);
  await shot(page, "passkeys-list", "passkeys");
  await signOutEverywhere(page);

  // 2. Sign in with the passkey alone: the login page's autofill request (conditional
  // mediation) is answered by the virtual authenticator without a click.
  req = authorizeUrl(client);
  await page.goto(req.url);
  // The virtual authenticator (automatic presence) answers the page's autofill request
  // at once: the browser lands at the relying party without a click or a password.
  const viaAutofill = await page.waitForURL((u) => u.href.startsWith(client.redirectUri), { timeout: 10000 }).then(() => true, () => false);
  check("the login page's autofill request (conditional UI) signs in with the passkey, no password typed", viaAutofill, page.url());
  if (!viaAutofill && new URL(page.url()).pathname === "/login") await clickAndWait(page, "#passkey-button");
  let stop = await proceed(page, client, null);
  let claims = stop === "callback" ? await idToken(client, page.url(), req.verifier) : null;
  check("sign-in without a password: acr phishing-resistant, amr hwk + user + mfa (signature checked)",
    claims?.acr === PHR && JSON.stringify(claims?.amr) === '["hwk","user","mfa"]', `${stop} ${JSON.stringify(claims)}`);
  await page.goto(`${issuer}/account/security/passkeys`);
  check("the list shows the passkey's last use", /last used/.test(await page.textContent("#passkey-list")));

  // 3. Password sign-in (the authenticator gives no user presence meanwhile, so the
  // autofill request waits), stepped up to phishing-resistant.
  await signOutEverywhere(page);
  await cdp.send("WebAuthn.setAutomaticPresenceSimulation", { authenticatorId, enabled: false });
  req = authorizeUrl(client);
  await page.goto(req.url);
  check("the login page offers the passkey (autofill field and button)",
    (await page.getAttribute("#username", "autocomplete")) === "username webauthn" && (await page.locator("#passkey-button").count()) === 1);
  await shot(page, "passkeys-login", "passkey-login");
  check("pat signs in with the password again", (await proceed(page, client, "pat")) === "callback", page.url());
  req = authorizeUrl(client, { acr_values: PHR });
  await page.goto(req.url);
  stop = await proceed(page, client, "pat");
  check("a request for phishing-resistant stops at /authenticate with the passkey only",
    stop === "/authenticate" && (await page.locator("#use-passkey").count()) === 1 && (await page.locator("#totp-form").count()) === 0, stop);
  await shot(page, "passkeys-authenticate", "authenticate-passkey");
  await cdp.send("WebAuthn.setAutomaticPresenceSimulation", { authenticatorId, enabled: true });
  await clickAndWait(page, "#use-passkey");
  stop = await proceed(page, client, null);
  claims = stop === "callback" ? await idToken(client, page.url(), req.verifier) : null;
  check("step-up: acr phishing-resistant, amr pwd + hwk + user + mfa",
    claims?.acr === PHR && JSON.stringify(claims?.amr) === '["pwd","hwk","user","mfa"]', `${stop} ${JSON.stringify(claims)}`);

  // 4. TOTP enrolment by reading the key, then a code as the second factor.
  await page.goto(`${issuer}/account/security/totp`);
  check("the enrolment page shows a QR code (SVG) and the key", (await page.locator("#qr svg").count()) === 1);
  const key = (await page.textContent("#totp-secret")).trim();
  await shot(page, "passkeys-totp", "totp");
  await page.fill("#code", totp(key));
  await clickAndWait(page, "form[action='/account/security/totp'] button");
  check("the app is set up", /authenticator app is set up/.test(await page.textContent("h1")), page.url());
  check("no page logged a console error (CSP included)", consoleErrors.length === 0, consoleErrors.join("; "));
  await context.close();

  const second = await newPage();
  req = authorizeUrl(client, { acr_values: MFA });
  await second.page.goto(req.url);
  stop = await proceed(second.page, client, "pat");
  check("a request for multi-factor offers the app's code", stop === "/authenticate" && (await second.page.locator("#totp-form").count()) === 1, stop);
  await second.page.fill("#code", totp(key, Date.now() / 1000 + 30));
  await clickAndWait(second.page, "#totp-form button");
  stop = await proceed(second.page, client, null);
  claims = stop === "callback" ? await idToken(client, second.page.url(), req.verifier) : null;
  check("a code from the app: acr mfa, amr pwd + otp + mfa",
    claims?.acr === MFA && JSON.stringify(claims?.amr) === '["pwd","otp","mfa"]', `${stop} ${JSON.stringify(claims)}`);
  await second.context.close();
}

try {
  await main();
} catch (e) {
  failed++;
  console.log(`FAIL - setup: ${e.stack || e}`);
} finally {
  if (browser) await browser.close();
  cleanup();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
