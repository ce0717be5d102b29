// Headless-Chromium check of the consent page for a developer's app (issue 4, docs in
// README.md here).
//
// Starts Surety (SURETY_BIN) on a free port with a temporary data dir, creates two users,
// a developer account and an app (two required permissions, two optional ones) whose
// redirect URI is a small local callback server of this script, and whose logo is served
// over https by this script (self-signed, so the browser context ignores TLS errors).
// Then it drives Chromium:
//   1. alice logs in on the login page, the consent page shows the app, its developer, its
//      logo and every permission in plain words, with a checkbox only for the optional
//      ones; she unticks calls:write and clicks Allow; the browser lands on the callback
//      with code, state, iss and account_sid; the code redeems (PKCE) for a scope without
//      calls:write and with callerids:all, and the same account_sid.
//   2. bob, in a fresh browser context, logs in and clicks Deny: the callback gets
//      error=access_denied with state and iss, and no code.
//   3. alice, in a fresh context, sends the same request again: after signing in she lands
//      on the callback without a consent page (her unticked calls:write is remembered), and
//      the code's scope still lacks it. With prompt=consent the page shows only the
//      addition (calls:write, as an upgrade, unticked as she left it); ticking it and
//      Allow give calls:write on the same subaccount.
// Saves tests/browser/out/consent.png (step 1, before the untick) and consent-upgrade.png.
// Prints 'N passed, N failed'.
//
// Env: SURETY_BIN (default target/debug/surety), CHROMIUM (default /usr/bin/chromium),
//      SURETY_HOST (default localhost), KEEP_DATA=1 keeps the data dir and server log
//      (kept anyway when a check fails).

import { execFileSync, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
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

// The permissions the app asks for, and the plain words the page must show for each
// (src/resource/permissions.rs).
const PERMISSIONS = [
  { name: "read", optional: false, words: "See your message and call logs, phone numbers and usage" },
  { name: "messages:send", optional: false, words: "Send text messages from your numbers" },
  { name: "calls:write", optional: true, words: "Place phone calls from your numbers" },
  { name: "callerids:all", optional: true, words: "Use the numbers of your main account and its other apps as caller ID" },
];
const SCOPE = "openid read messages:send calls:write callerids:all";
const APP_NAME = "Dialer Pro";
const DEVELOPER_NAME = "Dialer Inc";

// --- Surety --------------------------------------------------------------------------
// Reached as http://localhost:PORT (the browser) while the callback and logo servers are
// on 127.0.0.1: the callback is another site, as for a real app.
const suretyHost = process.env.SURETY_HOST || "localhost";
const suretyPort = await freePort();
const issuer = `http://${suretyHost}:${suretyPort}`;
const api = `http://127.0.0.1:${suretyPort}`;
const data = fs.mkdtempSync(path.join(os.tmpdir(), "surety-consent-"));
const logPath = path.join(data, "server.log");
const log = fs.openSync(logPath, "w");
// The embedded default backends (SQLite + in-process cache), whatever the shell says.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SURETY_")));
const server = spawn(bin, ["serve"], {
  env: {
    ...env,
    SURETY_LISTEN: `127.0.0.1:${suretyPort}`,
    SURETY_ISSUER: issuer,
    SURETY_DATA_DIR: data,
    SURETY_ADMIN_TOKEN: adminToken,
  },
  stdio: ["ignore", log, log],
});

let browser;
const servers = [];
function cleanup() {
  if (server.exitCode === null) server.kill("SIGTERM");
  for (const s of servers) s.close();
  // Kept when asked, or when a check failed (the server log is in it).
  if (!process.env.KEEP_DATA && failed === 0) fs.rmSync(data, { recursive: true, force: true });
  else console.log(`data and server log kept in ${data}`);
}

async function call(method, p, body, auth) {
  const r = await fetch(api + p, {
    method,
    headers: { authorization: auth, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${text}`);
  return JSON.parse(text);
}
const admin = (method, p, body) => call(method, p, body, `Bearer ${adminToken}`);
const basic = (user, pass) =>
  "Basic " + Buffer.from(`${encodeURIComponent(user)}:${encodeURIComponent(pass)}`).toString("base64");

// --- the app's side: callback page and logo --------------------------------------------
const callbacks = []; // every query the callback server received

function listen(s, port) {
  servers.push(s);
  return new Promise((resolve) => s.listen(port, "127.0.0.1", resolve));
}

async function callbackServer() {
  const port = await freePort();
  const s = http.createServer((req, res) => {
    const u = new URL(req.url, `http://127.0.0.1:${port}`);
    if (u.pathname !== "/cb") return res.writeHead(404).end();
    callbacks.push(Object.fromEntries(u.searchParams));
    const rows = [...u.searchParams]
      .map(([k, v]) => `<tr><th>${esc(k)}</th><td><code>${esc(v)}</code></td></tr>`)
      .join("");
    res
      .writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" })
      .end(`<!doctype html><meta charset="utf-8"><title>Dialer Pro — callback</title><h1>Callback</h1><table>${rows}</table>`);
  });
  await listen(s, port);
  return `http://127.0.0.1:${port}/cb`;
}

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// The consent page allows images from https: only (and itself), so the logo is served
// over https with a throwaway self-signed certificate made by openssl. Without openssl
// the logo URL points at a closed port and only its presence is checked.
async function logoServer() {
  const port = await freePort();
  let key, cert;
  try {
    const keyPath = path.join(data, "logo-key.pem");
    const certPath = path.join(data, "logo-cert.pem");
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        "-keyout", keyPath, "-out", certPath],
      { stdio: "ignore" },
    );
    key = fs.readFileSync(keyPath);
    cert = fs.readFileSync(certPath);
  } catch {
    return { url: `https://127.0.0.1:${port}/logo.svg`, served: false };
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48"><rect width="48" height="48" rx="10" fill="#2747d8"/><path d="M15 13c2-2 5-2 6 0l2 5c1 2 0 3-1 4l-2 2c1 3 4 6 7 7l2-2c1-1 2-2 4-1l5 2c2 1 2 4 0 6l-3 3c-9 1-22-12-21-21z" fill="#fff"/></svg>`;
  const s = https.createServer({ key, cert }, (req, res) => {
    if (!req.url.startsWith("/logo.svg")) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": "image/svg+xml", "cache-control": "no-store" }).end(svg);
  });
  await listen(s, port);
  return { url: `https://127.0.0.1:${port}/logo.svg`, served: true };
}

// --- OAuth helpers -------------------------------------------------------------------
function authorizeUrl(clientId, redirectUri, extra = {}) {
  const verifier = b64url(crypto.randomBytes(32));
  const challenge = b64url(crypto.createHash("sha256").update(verifier).digest());
  const state = b64url(crypto.randomBytes(12));
  const q = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: SCOPE,
    state,
    nonce: b64url(crypto.randomBytes(12)),
    code_challenge: challenge,
    code_challenge_method: "S256",
    ...extra,
  });
  return { url: `${issuer}/authorize?${q}`, verifier, state };
}

async function redeem(app, redirectUri, code, verifier) {
  const r = await fetch(`${api}/token`, {
    method: "POST",
    headers: {
      authorization: basic(app.client_id, app.client_secret),
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    }),
  });
  return { status: r.status, body: await r.json().catch(() => ({})) };
}

const claimsOf = (jwt) => {
  try {
    return JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());
  } catch {
    return {};
  }
};
const scopeSet = (s) => new Set(String(s ?? "").split(" ").filter(Boolean));
const isCallback = (redirectUri) => (u) => u.href.startsWith(redirectUri + "?");

// Opens the authorization URL in a fresh context, signs in, and waits for the consent page.
async function toConsent(username, url) {
  const context = await browser.newContext({ viewport: { width: 760, height: 760 }, ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const consoleLines = [];
  page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()} (${m.location().url})`));
  await page.goto(url);
  const atLogin = new URL(page.url()).pathname === "/login";
  check(`${username}: the authorization request asks to sign in`, atLogin, page.url());
  if (!atLogin) return { context, page, consoleLines, ok: false };
  await page.fill("#username", username);
  await page.fill("#password", PASSWORD);
  await Promise.all([
    page.waitForURL((u) => u.pathname !== "/login", { timeout: 10000 }).catch(() => {}),
    page.click("form button[type=submit]"),
  ]);
  const atConsent = new URL(page.url()).pathname === "/consent";
  check(
    `${username}: signing in leads to the consent page`,
    atConsent,
    `${page.url()} ${(await page.textContent("body").catch(() => "")).slice(0, 200)}`,
  );
  return { context, page, consoleLines, ok: atConsent };
}

// What the consent page shows, read from the DOM.
function readConsent(page) {
  return page.evaluate(() => ({
    title: document.title,
    heading: document.querySelector("h1")?.textContent.trim(),
    developer: document.querySelector(".developer")?.textContent.trim(),
    intro: document.querySelector("main > p:not(.developer)")?.textContent.replace(/\s+/g, " ").trim(),
    logo: (() => {
      const img = document.querySelector("main img");
      return img && { src: img.getAttribute("src"), loaded: img.complete && img.naturalWidth > 0 };
    })(),
    items: [...document.querySelectorAll("ul.scopes li")].map((li) => ({
      text: li.textContent.replace(/\s+/g, " ").trim(),
      name: li.querySelector("strong")?.textContent.trim(),
      checkbox: (() => {
        const c = li.querySelector("input[type=checkbox]");
        return c && { name: c.name, checked: c.checked };
      })(),
    })),
    checkboxes: document.querySelectorAll("input[type=checkbox]").length,
    buttons: [...document.querySelectorAll("button[type=submit]")].map((b) => `${b.value}:${b.textContent.trim()}`),
  }));
}

async function main() {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${api}/healthz`)).ok) break;
    } catch {}
    if (server.exitCode !== null || i > 100) throw new Error(`Surety did not start; see ${logPath}`);
    await sleep(100);
  }

  // --- users, developer account, app ---------------------------------------------------
  for (const username of ["alice", "bob"]) {
    await admin("POST", "/admin/users", { username, password: PASSWORD, email: `${username}@example.com` });
  }
  const partner = await admin("POST", "/admin/partners", {
    name: "Dialer Holdings",
    secret: crypto.randomBytes(24).toString("hex"),
  });
  const dev = await admin("POST", `/admin/partners/${partner.partner_id}/accounts`, {
    friendly_name: DEVELOPER_NAME,
  });
  const redirectUri = await callbackServer();
  const logo = await logoServer();
  const app = await call(
    "POST",
    "/developer/v1/apps",
    {
      display_name: APP_NAME,
      homepage: "https://dialer.example",
      logo_url: logo.url,
      redirect_uris: [redirectUri],
      permissions: PERMISSIONS.map(({ name, optional }) => (optional ? { name, optional } : { name })),
    },
    basic(dev.account_sid, dev.auth_token),
  );
  check("the developer API registers the app", !!(app.client_id && app.client_secret), JSON.stringify(app));

  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  fs.mkdirSync(outDir, { recursive: true });

  // --- 1. alice: partial grant, Allow -----------------------------------------------------
  const first = authorizeUrl(app.client_id, redirectUri);
  let accountSid;
  {
    const { context, page, consoleLines, ok } = await toConsent("alice", first.url);
    if (!ok) return;
    if (logo.served) await page.waitForFunction(() => document.querySelector("main img")?.complete, null, { timeout: 5000 }).catch(() => {});
    const c = await readConsent(page);
    check("the page title asks to allow access", c.title.startsWith("Allow access"), c.title);
    check("the page names the app", c.heading?.includes(APP_NAME), c.heading);
    check("the page names the developer", c.developer?.includes(DEVELOPER_NAME), c.developer);
    check("the page says who is signed in, and that this is a first grant",
      c.intro?.includes("Signed in as alice") && c.intro.includes("It asks to:"), c.intro);
    check("the page shows the app's logo", c.logo?.src === logo.url, JSON.stringify(c.logo));
    if (logo.served) check("the app's logo loads (https, allowed by the page's CSP)", c.logo?.loaded, JSON.stringify(c.logo));
    else console.log("     (openssl missing: the logo is not served, its loading not checked)");
    check(
      "the page lists exactly the four permissions",
      c.items.map((i) => i.name).sort().join(" ") === PERMISSIONS.map((p) => p.name).sort().join(" "),
      JSON.stringify(c.items.map((i) => i.name)),
    );
    for (const p of PERMISSIONS) {
      const item = c.items.find((i) => i.name === p.name);
      check(`${p.name} is described in plain words`, item?.text.includes(p.words), item?.text);
      if (p.optional) {
        check(
          `${p.name} is optional: a ticked checkbox`,
          item?.checkbox?.name === `perm:${p.name}` && item.checkbox.checked && item.text.includes("(optional)"),
          JSON.stringify(item),
        );
      } else {
        check(`${p.name} is required: no checkbox`, item && !item.checkbox && !item.text.includes("(optional)"), JSON.stringify(item));
      }
    }
    check("checkboxes only for the two optional permissions", c.checkboxes === 2, `${c.checkboxes}`);
    check("Allow and Deny buttons", c.buttons.join(",") === "approve:Allow,deny:Deny", c.buttons.join(","));
    // (Chromium's own request for /favicon.ico, which Surety does not serve, is no error of the page.)
    const errors = consoleLines.filter((l) => l.startsWith("error") && !l.includes("/favicon.ico"));
    check("no console errors on the login and consent pages (CSP, resources)", errors.length === 0, errors.join(" | "));
    await page.screenshot({ path: path.join(outDir, "consent.png"), fullPage: true });

    await page.uncheck("input[name='perm:calls:write']");
    const state = await page.evaluate(() =>
      Object.fromEntries([...document.querySelectorAll("input[type=checkbox]")].map((c) => [c.name, c.checked])),
    );
    check("calls:write unticked, callerids:all still ticked",
      state["perm:calls:write"] === false && state["perm:callerids:all"] === true, JSON.stringify(state));
    await Promise.all([
      page.waitForURL(isCallback(redirectUri), { timeout: 10000 }).catch(() => {}),
      page.click("button[value=approve]"),
    ]);
    const landed = new URL(page.url());
    const q = Object.fromEntries(landed.searchParams);
    check("Allow lands the browser on the app's callback", page.url().startsWith(redirectUri + "?"), page.url());
    check("the callback page is the app's (served to the browser)",
      (await page.textContent("h1").catch(() => "")) === "Callback");
    check("the callback has a code", !!q.code, JSON.stringify(q));
    check("the callback has the request's state", q.state === first.state, q.state);
    check("the callback has iss = the issuer (RFC 9207)", q.iss === issuer, q.iss);
    check("the callback has the subaccount's account_sid", /^\S+$/.test(q.account_sid ?? "") && q.account_sid !== dev.account_sid, q.account_sid);
    check("no error on the callback", !q.error, q.error);
    accountSid = q.account_sid;

    if (q.code) {
      const t = await redeem(app, redirectUri, q.code, first.verifier);
      check("the code redeems at /token (Basic client auth, PKCE verifier)", t.status === 200, `${t.status} ${JSON.stringify(t.body)}`);
      const granted = scopeSet(t.body.scope);
      check("the token's scope lacks the unticked calls:write", !granted.has("calls:write"), t.body.scope);
      check(
        "the token's scope has callerids:all and the required permissions",
        ["openid", "read", "messages:send", "callerids:all"].every((s) => granted.has(s)),
        t.body.scope,
      );
      check("the token response's account_sid is the callback's", t.body.account_sid === accountSid, t.body.account_sid);
      const claims = claimsOf(t.body.access_token ?? "");
      check("the access token carries the account_sid", claims.account_sid === accountSid, JSON.stringify(claims));
      const again = await redeem(app, redirectUri, q.code, first.verifier);
      check("the code works only once", again.status === 400, `${again.status} ${JSON.stringify(again.body)}`);
    }
    await context.close();
  }

  // --- 2. bob: Deny -----------------------------------------------------------------------
  {
    const req = authorizeUrl(app.client_id, redirectUri);
    const { context, page, ok } = await toConsent("bob", req.url);
    if (ok) {
      const c = await readConsent(page);
      check("bob's page shows the full request (4 permissions, 2 checkboxes)",
        c.items.length === 4 && c.checkboxes === 2, JSON.stringify(c.items.map((i) => i.name)));
      await Promise.all([
        page.waitForURL(isCallback(redirectUri), { timeout: 10000 }).catch(() => {}),
        page.click("button[value=deny]"),
      ]);
      const q = Object.fromEntries(new URL(page.url()).searchParams);
      check("Deny lands the browser on the app's callback", page.url().startsWith(redirectUri + "?"), page.url());
      check("the callback gets error=access_denied", q.error === "access_denied", JSON.stringify(q));
      check("the denial carries the request's state", q.state === req.state, q.state);
      check("the denial carries iss = the issuer", q.iss === issuer, q.iss);
      check("the denial carries no code and no account_sid", !q.code && !q.account_sid, JSON.stringify(q));
    }
    await context.close();
  }

  // --- 3. alice again: remembered; with prompt=consent only the addition, as an upgrade -------
  {
    const same = authorizeUrl(app.client_id, redirectUri);
    const context = await browser.newContext({ viewport: { width: 760, height: 760 }, ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await page.goto(same.url);
    await page.fill("#username", "alice");
    await page.fill("#password", PASSWORD);
    await Promise.all([
      page.waitForURL(isCallback(redirectUri), { timeout: 10000 }).catch(() => {}),
      page.click("form button[type=submit]"),
    ]);
    const back = Object.fromEntries(new URL(page.url()).searchParams);
    check("the same request again: no consent page, straight to the callback with a code",
      page.url().startsWith(redirectUri + "?") && !!back.code, page.url());
    if (back.code) {
      const t = await redeem(app, redirectUri, back.code, same.verifier);
      check("the remembered answer: the scope still lacks calls:write",
        t.status === 200 && !scopeSet(t.body.scope).has("calls:write"), `${t.status} ${t.body.scope}`);
    }
    const req = authorizeUrl(app.client_id, redirectUri, { prompt: "consent" });
    await page.goto(req.url);
    const ok = new URL(page.url()).pathname === "/consent";
    check("prompt=consent shows the consent page again", ok, page.url());
    if (ok) {
      const c = await readConsent(page);
      check("a second request shows an upgrade", c.intro?.includes("now also asks"), c.intro);
      check(
        "the upgrade lists only the missing calls:write, with its checkbox unticked as she left it",
        c.items.length === 1 && c.items[0].name === "calls:write" && c.items[0].checkbox?.name === "perm:calls:write" &&
          c.items[0].checkbox?.checked === false,
        JSON.stringify(c.items),
      );
      await page.screenshot({ path: path.join(outDir, "consent-upgrade.png"), fullPage: true });
      await page.check("input[name='perm:calls:write']");
      await Promise.all([
        page.waitForURL(isCallback(redirectUri), { timeout: 10000 }).catch(() => {}),
        page.click("button[value=approve]"),
      ]);
      const q = Object.fromEntries(new URL(page.url()).searchParams);
      check("allowing the upgrade keeps the same subaccount", !!q.code && q.account_sid === accountSid, JSON.stringify(q));
      if (q.code) {
        const t = await redeem(app, redirectUri, q.code, req.verifier);
        check("the upgraded token has calls:write too", scopeSet(t.body.scope).has("calls:write") &&
          scopeSet(t.body.scope).has("callerids:all"), `${t.status} ${t.body.scope}`);
      }
    }
    await context.close();
  }

  check("the callback server saw the four answers", callbacks.length === 4, JSON.stringify(callbacks));
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
if (failed === 0) console.log(`screenshot: ${path.relative(root, path.join(outDir, "consent.png"))}`);
process.exit(failed ? 1 : 0);
