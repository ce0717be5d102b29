// Headless-Chromium check of the embeddable account portal (docs/portal.md).
//
// Starts Surety (SURETY_BIN) on a free port with a temporary data dir, registers a partner
// whose portal may be framed by one local origin, serves that origin's page (which frames
// a freshly signed login link) and a second, disallowed origin's page, then drives
// Chromium and checks:
//   - the framed portal renders in the partner's branding (read from inside the frame),
//   - its session cookie is stored partitioned inside the third-party frame,
//   - the frame hears `surety:resize`, and `surety:session-ended` once the session is gone,
//   - a page on a disallowed origin cannot frame the portal.
// Saves tests/browser/out/portal.png (and blocked.png). Prints 'N passed, N failed'.
//
// Env: SURETY_BIN (default target/debug/surety), CHROMIUM (default /usr/bin/chromium),
//      KEEP_DATA=1 keeps the data dir and server log.

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

// --- the partner's signing key and login links -------------------------------------
const { privateKey, publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
const b64 = (b) => Buffer.from(b).toString("base64url");
function signJwt(claims) {
  const input = `${b64(JSON.stringify({ alg: "ES256", typ: "JWT", kid: "p1" }))}.${b64(JSON.stringify(claims))}`;
  const sig = crypto.sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" });
  return `${input}.${b64(sig)}`;
}

// --- Surety --------------------------------------------------------------------------
// Surety is reached as http://localhost:PORT and the partner pages as
// http://127.0.0.1:PORT: two different sites, so the portal is a real third-party frame.
// (SURETY_HOST / PARTNER_HOST swap or change them; both names are loopback.)
const suretyHost = process.env.SURETY_HOST || "localhost";
const partnerHost = process.env.PARTNER_HOST || "127.0.0.1";
const suretyPort = await freePort();
const issuer = `http://${suretyHost}:${suretyPort}`;
const api = `http://127.0.0.1:${suretyPort}`;
const data = fs.mkdtempSync(path.join(os.tmpdir(), "surety-browser-"));
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
const statics = [];
function cleanup() {
  if (server.exitCode === null) server.kill("SIGTERM");
  for (const s of statics) s.close();
  if (!process.env.KEEP_DATA) fs.rmSync(data, { recursive: true, force: true });
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

async function main() {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${api}/healthz`)).ok) break;
    } catch {}
    if (server.exitCode !== null || i > 100) throw new Error(`Surety did not start; see ${logPath}`);
    await sleep(100);
  }

  // --- the partner's site (allowed) and another site (not allowed) --------------------
  const allowedPort = await freePort();
  const deniedPort = await freePort();
  const allowedOrigin = `http://${partnerHost}:${allowedPort}`;
  const deniedOrigin = `http://${partnerHost}:${deniedPort}`;

  const jwk = { ...publicKey.export({ format: "jwk" }), kid: "p1", use: "sig", alg: "ES256" };
  const partner = await admin("POST", "/admin/partners", {
    name: "Acme Telecom",
    jwks: { keys: [jwk] },
    branding: {
      display_name: "Acme Mobile",
      primary_color: "#0b7a75",
      background_color: "#eef6f5",
      support_url: "https://help.acme.example/portal",
      logo_url: `${allowedOrigin}/logo.svg`,
      hidden_sections: ["apps"],
      frame_origins: [allowedOrigin],
    },
  });
  const account = await admin("POST", `/admin/partners/${partner.partner_id}/accounts`, {
    friendly_name: "Customer One",
  });
  const sid = account.account_sid;

  const loginLink = () => {
    const now = Math.floor(Date.now() / 1000);
    const assertion = signJwt({
      iss: partner.partner_id,
      sub: sid,
      aud: `${issuer}/partner/login`,
      iat: now,
      exp: now + 120,
      jti: crypto.randomUUID(),
    });
    return `${issuer}/partner/login?${new URLSearchParams({ assertion, return_to: "/portal" })}`;
  };
  const embedding = (title, src) => `<!doctype html>
<html><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:sans-serif;margin:0;background:#fafafa}h1{font-size:1rem;margin:.6rem 1rem}
iframe{width:100%;height:300px;border:0;display:block}</style></head>
<body><h1>${title}</h1>
<iframe id="portal" src="${src}"></iframe>
<script>
window.__messages = [];
window.addEventListener("message", (e) => {
  if (e.origin !== ${JSON.stringify(issuer)}) return;
  window.__messages.push(e.data);
  if (e.data && e.data.type === "surety:resize") {
    document.getElementById("portal").style.height = e.data.height + "px";
  }
});
</script></body></html>`;
  const logo = `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="32"><rect width="120" height="32" rx="6" fill="#fff"/><text x="60" y="22" font-family="sans-serif" font-size="16" text-anchor="middle" fill="#0b7a75">ACME</text></svg>`;
  const serve = (port, route) =>
    new Promise((resolve) => {
      const s = http.createServer((req, res) => {
        const body = route(new URL(req.url, "http://x").pathname);
        if (!body) return res.writeHead(404).end();
        res.writeHead(200, { "content-type": body.type, "cache-control": "no-store" }).end(body.text);
      });
      statics.push(s);
      s.listen(port, "127.0.0.1", resolve);
    });
  await serve(allowedPort, (p) =>
    p === "/"
      ? { type: "text/html", text: embedding("Acme — your account", loginLink()) }
      : p === "/logo.svg"
        ? { type: "image/svg+xml", text: logo }
        : null,
  );
  await serve(deniedPort, (p) =>
    p === "/" ? { type: "text/html", text: embedding("Somebody else's site", loginLink()) } : null,
  );

  // --- Chromium --------------------------------------------------------------------
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
  const context = await browser.newContext({ viewport: { width: 900, height: 900 } });
  const page = await context.newPage();
  const consoleLines = [];
  page.on("console", (m) => consoleLines.push(m.text()));
  await page.goto(`${allowedOrigin}/`);
  const frame = page.frame({ url: (u) => u.pathname === "/portal" }) ?? (await waitForFrame(page, "/portal"));
  check("the login link lands the frame on /portal", !!frame, `frames: ${page.frames().map((f) => f.url())}`);
  if (!frame) return;
  await frame.waitForSelector("header .name", { timeout: 10000 });
  const info = await frame.evaluate(() => ({
    name: document.querySelector("header .name")?.textContent,
    headerBg: getComputedStyle(document.querySelector("header")).backgroundColor,
    bodyBg: getComputedStyle(document.body).backgroundColor,
    support: document.querySelector("a.support")?.getAttribute("href"),
    logoLoaded: (document.querySelector("header img")?.naturalWidth ?? 0) > 0,
    sections: [...document.querySelectorAll("section")].map((s) => s.id),
    text: document.body.innerText,
    parentOrigin: document.body.dataset.parentOrigin,
  }));
  check("the frame shows the partner's display name", info.name === "Acme Mobile", info.name);
  check("the header has the partner's primary colour", info.headerBg === "rgb(11, 122, 117)", info.headerBg);
  check("the page has the partner's background colour", info.bodyBg === "rgb(238, 246, 245)", info.bodyBg);
  check("the support link is the partner's", info.support === "https://help.acme.example/portal", info.support);
  check("the partner's logo loads inside the frame", info.logoLoaded);
  check("the account is shown", info.text.includes(sid) && info.text.includes("Customer One"));
  check(
    "hidden sections are absent",
    !info.sections.includes("apps") && info.sections.includes("usage"),
    info.sections.join(","),
  );
  check("the portal names its parent origin", info.parentOrigin === allowedOrigin, info.parentOrigin);

  const cookies = await context.cookies(issuer);
  const portalCookie = cookies.find((c) => c.name === "surety_portal");
  check(
    "the session cookie is stored, partitioned, in the third-party frame",
    portalCookie && portalCookie.secure && portalCookie.sameSite === "None" && portalCookie.httpOnly &&
      (portalCookie.partitionKey === undefined || portalCookie.partitionKey.includes(partnerHost)),
    JSON.stringify(portalCookie),
  );
  if (portalCookie) console.log(`     (partitionKey: ${JSON.stringify(portalCookie.partitionKey)})`);

  await page.waitForFunction(() => window.__messages.some((m) => m.type === "surety:resize"), null, {
    timeout: 5000,
  }).catch(() => {});
  const messages = await page.evaluate(() => window.__messages);
  const resize = messages.find((m) => m.type === "surety:resize");
  check("the embedding page hears surety:resize", resize && resize.height > 300, JSON.stringify(messages));
  const frameHeight = await page.evaluate(() => document.getElementById("portal").getBoundingClientRect().height);
  check("the frame grew to the portal's height", resize && Math.abs(frameHeight - resize.height) < 2, `${frameHeight}`);

  fs.mkdirSync(outDir, { recursive: true });
  await page.screenshot({ path: path.join(outDir, "portal.png"), fullPage: true });

  // --- the rotate form works inside the frame (CSRF without SameSite) ------------------
  await frame.click("#credentials button[type=submit]");
  const rotated = await waitForFrame(page, "/portal/auth-token");
  const token = rotated && (await rotated.waitForSelector("#new-auth-token", { timeout: 5000 }).catch(() => null));
  check("the auth token rotates from inside the frame", !!token);

  // --- the session ends: the frame says so to the embedding page -----------------------
  await context.clearCookies({ name: "surety_portal" });
  await page.evaluate((u) => { document.getElementById("portal").src = u; }, `${issuer}/portal`);
  await page.waitForFunction(() => window.__messages.some((m) => m.type === "surety:session-ended"), null, {
    timeout: 5000,
  }).catch(() => {});
  const ended = await page.evaluate(() => window.__messages.some((m) => m.type === "surety:session-ended"));
  check("the embedding page hears surety:session-ended", ended, JSON.stringify(await page.evaluate(() => window.__messages)));

  // --- a disallowed origin cannot frame the portal ------------------------------------
  const other = await context.newPage();
  const otherConsole = [];
  other.on("console", (m) => otherConsole.push(m.text()));
  await other.goto(`${deniedOrigin}/`);
  await sleep(1500);
  const child = other.frames().find((f) => f !== other.mainFrame());
  const childText = child ? await child.evaluate(() => document.body?.innerText ?? "").catch(() => "") : "";
  check(
    "a disallowed origin's frame stays blank",
    !childText.includes("Acme Mobile") && !childText.includes(sid),
    `frame ${child?.url()} shows: ${childText.slice(0, 200)}`,
  );
  const refused = otherConsole.some((l) => l.includes("frame-ancestors"));
  check("Chromium reports the frame-ancestors refusal", refused, otherConsole.join(" | "));
  const otherMessages = await other.evaluate(() => window.__messages);
  check("the disallowed page hears nothing", otherMessages.length === 0, JSON.stringify(otherMessages));
  await other.screenshot({ path: path.join(outDir, "blocked.png") });
}

async function waitForFrame(page, pathname, timeout = 10000) {
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    const f = page.frames().find((f) => {
      try {
        return new URL(f.url()).pathname === pathname;
      } catch {
        return false;
      }
    });
    if (f) {
      await f.waitForLoadState("load").catch(() => {});
      return f;
    }
    await sleep(100);
  }
  return null;
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
if (failed === 0) console.log(`screenshot: ${path.relative(root, path.join(outDir, "portal.png"))}`);
process.exit(failed ? 1 : 0);
