// Headless-Chromium check of the verified-entity challenge inside an OpenID Connect login
// (issue 5, "Step-up inside OpenID Connect"; docs in README.md here).
//
// Seeds people and businesses with known facts (fixtures/challenge-entities.mjs) through
// `surety entities import FILE` (JSON Lines, same data dir as the server, before `serve`),
// starts Surety (SURETY_BIN) on a free port, creates users alice and bob and a relying
// party (admin API) whose redirect URI is a small local callback server of this script. Then it drives Chromium:
//   1. answer: alice signs in at the password level (ID token acr password, amr ["pwd"]),
//      then the relying party asks for acr_values=urn:surety:acr:verified; the challenge
//      page asks her identifying information, then questions; the script reads each
//      question's prompt and choices from the DOM and answers from the seeded facts; the
//      callback gets a code whose ID token (signature checked against the JWKS) has acr
//      verified, amr ["pwd","kba"] and a newer auth_time. No page Surety served before the
//      answers were typed contains the answer to an open question or a fact never asked.
//   2. fail: bob (a person with a namesake sharing his phone) answers wrongly with an
//      essential acr (claims parameter): Surety's page says the answers were not accepted;
//      Continue → error=unmet_authentication_requirements + state + iss.
//   3. lock: bob fails twice more (through the "one more detail" step, which offers city
//      and postal code with the street, and the masked candidates step, with a different
//      set of questions each time); the third failure shows Surety's locked page; the 4th
//      attempt gets no questions but the locked page (saying when to try again), whose
//      Continue ends an essential request in the error (error_description: locked) and
//      continues a voluntary one at the password level.
// Saves tests/browser/out/challenge-identify.png, challenge.png (the questions, copied to
// docs/screenshots/challenge.png) and challenge-locked.png (Surety's locked page on the
// 4th attempt, copied to docs/screenshots/challenge-locked.png). Prints 'N passed, N failed'.
//
// Env: SURETY_BIN (default target/debug/surety), CHROMIUM (default /usr/bin/chromium),
//      SURETY_HOST (default localhost), KEEP_DATA=1 keeps the data dir and server log
//      (kept anyway when a check fails).

import { spawn, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { MARIA, RECORDS, SAM, factOf, rightAnswer } from "./fixtures/challenge-entities.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const bin = process.env.SURETY_BIN || path.join(root, "target/debug/surety");
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const outDir = path.join(here, "out");
const adminToken = "browser-" + crypto.randomBytes(16).toString("hex");
const PASSWORD = "correct horse battery " + crypto.randomBytes(4).toString("hex");
const VERIFIED = "urn:surety:acr:verified";
const PASSWORD_ACR = "urn:surety:acr:password";
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
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const same = (a, b) => a.replace(/\s+/g, " ").trim().toLowerCase() === b.replace(/\s+/g, " ").trim().toLowerCase();

// --- Surety --------------------------------------------------------------------------
const suretyHost = process.env.SURETY_HOST || "localhost";
const suretyPort = await freePort();
const issuer = `http://${suretyHost}:${suretyPort}`;
const api = `http://127.0.0.1:${suretyPort}`;
const data = fs.mkdtempSync(path.join(os.tmpdir(), "surety-challenge-"));
const logPath = path.join(data, "server.log");
// The embedded default backends (SQLite + in-process cache), whatever the shell says.
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SURETY_")));
const suretyEnv = {
  ...baseEnv,
  SURETY_LISTEN: `127.0.0.1:${suretyPort}`,
  SURETY_ISSUER: issuer,
  SURETY_DATA_DIR: data,
  SURETY_ADMIN_TOKEN: adminToken,
};

// The records go in through the importer, as an operator would load them.
const entitiesFile = path.join(data, "entities.jsonl");
fs.writeFileSync(entitiesFile, RECORDS.map((r) => JSON.stringify(r)).join("\n") + "\n");
// The report (records, new, rejected …) goes to stderr.
const imported = spawnSync(bin, ["entities", "import", entitiesFile, "--quiet"], { env: suretyEnv, encoding: "utf8" });

const log = fs.openSync(logPath, "w");
const server = spawn(bin, ["serve"], { env: suretyEnv, stdio: ["ignore", log, log] });

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
const basic = (user, pass) =>
  "Basic " + Buffer.from(`${encodeURIComponent(user)}:${encodeURIComponent(pass)}`).toString("base64");

// --- the relying party's callback ---------------------------------------------------------
const callbacks = [];
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
      .end(`<!doctype html><meta charset="utf-8"><title>${RP_NAME} — callback</title>` +
        `<style>body{font:15px system-ui,sans-serif;margin:2em}th{text-align:left;padding-right:1em}</style>` +
        `<h1>${RP_NAME}: callback</h1><table>${rows}</table>`);
  });
  servers.push(s);
  await new Promise((resolve) => s.listen(port, "127.0.0.1", resolve));
  return `http://127.0.0.1:${port}/cb`;
}

// --- OAuth helpers -------------------------------------------------------------------
function authorizeUrl(client, extra = {}) {
  const verifier = b64url(crypto.randomBytes(32));
  const challenge = b64url(crypto.createHash("sha256").update(verifier).digest());
  const state = b64url(crypto.randomBytes(12));
  const nonce = b64url(crypto.randomBytes(12));
  const q = new URLSearchParams({
    response_type: "code",
    client_id: client.client_id,
    redirect_uri: client.redirectUri,
    scope: "openid profile",
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: "S256",
    ...extra,
  });
  return { url: `${issuer}/authorize?${q}`, verifier, state, nonce };
}
const essentialClaims = JSON.stringify({ id_token: { acr: { essential: true, values: [VERIFIED] } } });

async function redeem(client, code, verifier) {
  const r = await fetch(`${api}/token`, {
    method: "POST",
    headers: {
      authorization: basic(client.client_id, client.client_secret),
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: client.redirectUri, code_verifier: verifier }),
  });
  return { status: r.status, body: await r.json().catch(() => ({})) };
}

// The ID token's claims when its signature verifies against the provider's JWKS, else null.
async function verifiedClaims(jwt) {
  try {
    const [h, p, s] = jwt.split(".");
    const header = JSON.parse(Buffer.from(h, "base64url"));
    const meta = await (await fetch(`${api}/.well-known/openid-configuration`)).json();
    const jwks = await (await fetch(meta.jwks_uri.replace(issuer, api))).json();
    const jwk = jwks.keys.find((k) => k.kid === header.kid);
    if (!jwk) return null;
    const key = crypto.createPublicKey({ key: jwk, format: "jwk" });
    const input = Buffer.from(`${h}.${p}`);
    const sig = Buffer.from(s, "base64url");
    const ok = {
      ES256: () => crypto.verify("sha256", input, { key, dsaEncoding: "ieee-p1363" }, sig),
      ES384: () => crypto.verify("sha384", input, { key, dsaEncoding: "ieee-p1363" }, sig),
      RS256: () => crypto.verify("sha256", input, key, sig),
      PS256: () => crypto.verify("sha256", input, { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig),
      EdDSA: () => crypto.verify(null, input, key, sig),
    }[header.alg]?.();
    return ok ? JSON.parse(Buffer.from(p, "base64url")) : null;
  } catch {
    return null;
  }
}

// --- browser helpers -------------------------------------------------------------------
// A fresh context; every HTML page Surety serves in it is kept (the raw response body: what
// "view source" shows, before anything is typed into it).
async function newPage() {
  const context = await browser.newContext({ viewport: { width: 760, height: 900 } });
  const page = await context.newPage();
  const served = [];
  const consoleErrors = [];
  // (Chromium's own request for /favicon.ico, which Surety does not serve, is no error of the page.)
  page.on("console", (m) => {
    if (m.type() === "error" && !m.location().url.includes("/favicon.ico")) consoleErrors.push(`${m.text()} (${m.location().url})`);
  });
  page.on("response", (r) => {
    if (r.url().startsWith(issuer) && r.request().resourceType() === "document" && r.status() === 200) {
      served.push(r.text().then((body) => ({ url: r.url(), body })).catch(() => ({ url: r.url(), body: "" })));
    }
  });
  return { context, page, served, consoleErrors };
}
const where = (page) => new URL(page.url());
const isCallback = (client) => (u) => u.href.startsWith(client.redirectUri + "?");

// Clicks and waits for the page that follows (redirects included).
async function clickAndWait(page, selector) {
  await Promise.all([page.waitForNavigation({ timeout: 15000 }).catch(() => {}), page.click(selector)]);
}

// From a page of Surety's, goes on through sign-in and consent when asked, until the browser
// reaches the challenge page or the relying party's callback.
async function proceed(page, client, who) {
  for (let i = 0; i < 4; i++) {
    const u = where(page);
    if (isCallback(client)(u) || u.pathname === "/challenge") return u.pathname === "/challenge" ? "challenge" : "callback";
    if (u.pathname === "/login") {
      await page.fill("#username", who.user);
      await page.fill("#password", PASSWORD);
      await clickAndWait(page, "form button[type=submit]");
    } else if (u.pathname === "/consent") {
      await clickAndWait(page, "button[value=approve]");
    } else {
      return `unexpected ${page.url()} ${(await page.textContent("body").catch(() => "")).slice(0, 200)}`;
    }
  }
  return `stuck at ${page.url()}`;
}

// What the challenge page shows, read from the DOM.
function readChallenge(page) {
  return page.evaluate(() => {
    const text = (e) => e?.textContent.replace(/\s+/g, " ").trim();
    const submit = [...document.querySelectorAll("button[type=submit]")].map((b) => `${b.value}:${text(b)}`);
    return {
      title: document.title,
      heading: text(document.querySelector("h1")),
      intro: text(document.querySelector("main > p, h1 + p")),
      error: text(document.querySelector(".error")),
      fields: [...document.querySelectorAll("input[type=text]:not([name^='q:'])")].map((i) => i.name),
      candidates: [...document.querySelectorAll("input[name=candidate]")].map((i) => ({
        value: i.value,
        label: text(i.closest("label")),
      })),
      questions: [...document.querySelectorAll("fieldset")].map((f) => {
        const inputs = [...f.querySelectorAll("input")];
        return {
          prompt: text(f.querySelector("legend")),
          name: inputs[0]?.name,
          open: inputs.length === 1 && inputs[0].type === "text",
          choices: inputs.filter((i) => i.type === "radio").map((i) => i.value),
        };
      }),
      buttons: submit,
    };
  });
}

async function fillIdentity(page, identity, keys) {
  for (const k of keys) await page.fill(`#${k}`, identity[k]);
}

// Answers the questions on the page (right or wrong); returns what was asked.
async function answer(page, who, questions, right) {
  for (const q of questions) {
    const want = rightAnswer(who, q.prompt);
    if (q.open) {
      const wrong = /^\d{4}$/.test(want ?? "") ? String(Number(want) + 11) : "Nobody In Particular";
      await page.fill(`input[name='${q.name}']`, right ? want : wrong);
    } else {
      const pick = q.choices.find((c) => (right ? same(c, want ?? "") : !same(c, want ?? "")));
      if (pick !== undefined) await page.check(`input[name='${q.name}'][value='${pick.replace(/'/g, "\\'")}']`);
    }
  }
  await clickAndWait(page, "button[value=answer]");
}

// The served pages' bodies without the hidden transaction and CSRF values (random strings
// that could contain a year's digits by chance).
async function servedText(served) {
  const pages = await Promise.all(served);
  return pages.map((p) => ({
    url: p.url,
    body: p.body.replace(/<input type="hidden" name="(tx|csrf)" value="[^"]*">/g, "").replace(/[?&]tx=[^"&]*/g, ""),
  }));
}

// No page served so far shows a fact except as a choice of a multiple-choice question:
// the open questions' answers and the facts never asked appear nowhere.
async function checkNoAnswersServed(label, who, served, asked) {
  const pages = await servedText(served);
  const shownAsChoice = new Set(asked.filter((q) => !q.open).map((q) => factOf(q.prompt)));
  const secret = Object.entries(who.facts)
    .filter(([fact]) => !shownAsChoice.has(fact))
    .map(([, v]) => v)
    .concat(who.hidden);
  const leaks = [];
  for (const p of pages) {
    for (const v of secret) if (p.body.toLowerCase().includes(v.toLowerCase())) leaks.push(`${v} in ${p.url}`);
  }
  check(`${label}: no page served before the answers holds an open answer or a fact never asked (${pages.length} pages, ${secret.length} values)`,
    pages.length > 0 && pages.every((p) => p.body.includes("<form")) && leaks.length === 0,
    leaks.join("; ") || pages.map((p) => `${p.url}: ${p.body.length} bytes`).join(", "));
}

// Questions on the page are the known kinds, and each choice list holds the right answer
// among distinct distractors.
function checkQuestions(label, who, c) {
  const unknown = c.questions.filter((q) => rightAnswer(who, q.prompt) === null);
  check(`${label}: four questions, each of a kind drawn from the record`, c.questions.length === 4 && unknown.length === 0,
    JSON.stringify(c.questions.map((q) => q.prompt)));
  const bad = c.questions.filter((q) => !q.open && (
    q.choices.length < 3 || !q.choices.some((x) => same(x, rightAnswer(who, q.prompt) ?? "")) ||
    new Set(q.choices.map((x) => x.toLowerCase())).size !== q.choices.length));
  check(`${label}: each multiple-choice question holds the right answer among distinct distractors`, bad.length === 0, JSON.stringify(bad));
}

async function main() {
  const report = `${imported.stderr ?? ""}${imported.error ?? ""}`.trim();
  check(`\`surety entities import\` loads the ${RECORDS.length} records, none rejected`,
    imported.status === 0 && report.includes(`${RECORDS.length} records`) && report.includes(`${RECORDS.length} new`) &&
      report.includes("0 rejected"), report);
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${api}/healthz`)).ok) break;
    } catch {}
    if (server.exitCode !== null || i > 100) throw new Error(`Surety did not start; see ${logPath}`);
    await sleep(100);
  }
  // The importer also runs next to the serving process (same SQLite file): a re-import
  // changes nothing (idempotent by external id).
  const again = spawnSync(bin, ["entities", "import", entitiesFile, "--quiet"], { env: suretyEnv, encoding: "utf8" });
  const againReport = `${again.stderr ?? ""}${again.error ?? ""}`.trim();
  check("a re-import while Surety serves leaves every record unchanged",
    again.status === 0 && againReport.includes("0 new") && againReport.includes(`${RECORDS.length} unchanged`), againReport);
  const meta = await (await fetch(`${api}/.well-known/openid-configuration`)).json();
  check("discovery advertises the password and verified levels among the ladder's",
    meta.acr_values_supported?.[0] === PASSWORD_ACR && meta.acr_values_supported.includes(VERIFIED), JSON.stringify(meta.acr_values_supported));

  for (const user of ["alice", "bob"]) {
    await admin("POST", "/admin/users", { username: user, password: PASSWORD, email: `${user}@example.com` });
  }
  const redirectUri = await callbackServer();
  const reg = await admin("POST", "/admin/clients", {
    client_name: RP_NAME,
    redirect_uris: [redirectUri],
    grant_types: ["authorization_code"],
  });
  const client = { ...reg, redirectUri };

  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  fs.mkdirSync(outDir, { recursive: true });

  await answerFlow(client);
  await failAndLockFlow(client);
}

// --- 1. answer ---------------------------------------------------------------------------
async function answerFlow(client) {
  const { context, page, served, consoleErrors } = await newPage();
  // A password-level login first.
  const first = authorizeUrl(client);
  await page.goto(first.url);
  check("alice: the authorization request asks to sign in", where(page).pathname === "/login", page.url());
  const r0 = await proceed(page, client, MARIA);
  const q0 = Object.fromEntries(where(page).searchParams);
  check("alice: a request without acr_values goes to the callback with a code (no challenge)", r0 === "callback" && !!q0.code, `${r0} ${page.url()}`);
  let loginTime = 0;
  if (q0.code) {
    const t = await redeem(client, q0.code, first.verifier);
    const idt = await verifiedClaims(t.body.id_token ?? "");
    check("alice: that ID token is at the password level (acr password, amr [pwd])",
      idt?.acr === PASSWORD_ACR && JSON.stringify(idt?.amr) === '["pwd"]', JSON.stringify(idt));
    loginTime = idt?.auth_time ?? 0;
  }

  // The relying party asks for the verified level: the same session goes to the challenge.
  served.length = 0;
  const req = authorizeUrl(client, { acr_values: VERIFIED });
  await page.goto(req.url);
  const r1 = await proceed(page, client, MARIA);
  check("alice: acr_values=verified leads the signed-in browser to the challenge page (no new login)", r1 === "challenge", r1);
  if (r1 !== "challenge") return context.close();
  let c = await readChallenge(page);
  check("the challenge page: title and heading", c.title.startsWith("Confirm who you are") && c.heading === "Confirm who you are", `${c.title} / ${c.heading}`);
  check("the challenge page names the relying party and offers to skip (voluntary acr)",
    c.intro?.includes(`${RP_NAME} asks Surety to check`) && c.intro.includes("You may skip it"), c.intro);
  check("the challenge page asks identifying information first (7 fields)",
    c.fields.join(",") === "name,street,city,region,postal,phone,email" && c.questions.length === 0, c.fields.join(","));
  check("Continue and Skip buttons", c.buttons.join(",") === "identify:Continue,skip:Skip", c.buttons.join(","));
  await page.screenshot({ path: path.join(outDir, "challenge-identify.png"), fullPage: true });

  await fillIdentity(page, MARIA.identity, Object.keys(MARIA.identity));
  await clickAndWait(page, "button[value=identify]");
  c = await readChallenge(page);
  check("alice: her identifying information (abbreviated, other case and phone format) leads to questions",
    where(page).pathname === "/challenge" && c.questions.length > 0, `${page.url()} ${JSON.stringify(c)}`);
  if (c.questions.length === 0) return context.close();
  checkQuestions("alice", MARIA, c);
  check("the questions page keeps the Skip button and no identifying fields",
    c.fields.length === 0 && c.buttons.join(",") === "answer:Continue,skip:Skip", c.buttons.join(","));
  await checkNoAnswersServed("alice", MARIA, served, c.questions);
  await page.screenshot({ path: path.join(outDir, "challenge.png"), fullPage: true });
  fs.mkdirSync(path.join(root, "docs/screenshots"), { recursive: true });
  fs.copyFileSync(path.join(outDir, "challenge.png"), path.join(root, "docs/screenshots/challenge.png"));

  check("no console errors on the login and challenge pages (CSP, resources)", consoleErrors.length === 0, consoleErrors.join(" | "));
  await answer(page, MARIA, c.questions, true);
  const r2 = await proceed(page, client, MARIA);
  const q = Object.fromEntries(where(page).searchParams);
  check("alice: right answers land the browser on the callback with a code", r2 === "callback" && !!q.code && !q.error, `${r2} ${page.url()}`);
  check("the callback has the request's state and iss", q.state === req.state && q.iss === issuer, JSON.stringify(q));
  const leaked = Object.values(MARIA.facts).filter((v) => page.url().toLowerCase().includes(v.toLowerCase()));
  check("no answer in the callback URL", leaked.length === 0, leaked.join(","));
  if (q.code) {
    const t = await redeem(client, q.code, req.verifier);
    check("the code redeems at /token (PKCE)", t.status === 200 && !!t.body.id_token, `${t.status} ${JSON.stringify(t.body)}`);
    const idt = await verifiedClaims(t.body.id_token ?? "");
    check("the ID token's signature verifies against the JWKS, nonce as sent", !!idt && idt.nonce === req.nonce, JSON.stringify(idt));
    check("the ID token has acr verified", idt?.acr === VERIFIED, idt?.acr);
    check('the ID token has amr ["pwd","kba"]', JSON.stringify(idt?.amr) === '["pwd","kba"]', JSON.stringify(idt?.amr));
    check("auth_time is the challenge's (not before the password login)", idt?.auth_time >= loginTime && loginTime > 0,
      `${idt?.auth_time} vs ${loginTime}`);
  }

  // The session is verified now: the next request gets the level without questions.
  const again = authorizeUrl(client, { claims: essentialClaims });
  await page.goto(again.url);
  const r3 = await proceed(page, client, MARIA);
  const q3 = Object.fromEntries(where(page).searchParams);
  let acr3;
  if (q3.code) acr3 = (await verifiedClaims((await redeem(client, q3.code, again.verifier)).body.id_token ?? ""))?.acr;
  check("a further essential request in the verified session gets acr verified without the challenge",
    r3 === "callback" && acr3 === VERIFIED, `${r3} ${page.url()} ${acr3}`);
  await context.close();
}

// --- 2. fail, 3. lock ----------------------------------------------------------------------
// One attempt of bob's from the challenge page: `how` identifies ("full", "more_info" or
// "candidates"), then the questions are answered wrongly. Returns the fact set asked.
async function wrongAttempt(n, page, served, how) {
  const label = `bob, attempt ${n}`;
  if (how === "full") {
    await fillIdentity(page, SAM.identity, Object.keys(SAM.identity));
    await clickAndWait(page, "button[value=identify]");
  } else if (how === "more_info") {
    await fillIdentity(page, SAM.identity, ["name", "email"]);
    await clickAndWait(page, "button[value=identify]");
    const c = await readChallenge(page);
    const body = (await page.textContent("main").catch(() => "")) ?? "";
    check(`${label}: name and email alone → the page asks for one more detail (street with city and postal code, or phone)`,
      body.includes("We need one more detail") && c.fields.join(",") === "street,city,postal,phone" && c.buttons[0] === "more_info:Continue",
      `${c.fields.join(",")} ${c.buttons.join(",")}`);
    await fillIdentity(page, SAM.identity, ["phone"]);
    await clickAndWait(page, "button[value=more_info]");
  } else {
    await fillIdentity(page, SAM.identity, ["name", "phone"]);
    await clickAndWait(page, "button[value=identify]");
    const c = await readChallenge(page);
    const labels = c.candidates.map((x) => x.label);
    check(`${label}: name and a shared phone → two masked candidates`,
      c.candidates.length === 2 && labels.every((l) => l.startsWith("S. Or•••")), JSON.stringify(labels));
    const unmasked = labels.filter((l) => /\d/.test(l) || /ortiz|@|555/i.test(l));
    check(`${label}: the candidates show no house number, full name, phone or email`, unmasked.length === 0, JSON.stringify(unmasked));
    const mine = c.candidates.find((x) => x.label.includes("Walnut Ave"));
    if (!mine) return null;
    await page.check(`input[name=candidate][value='${mine.value}']`);
    await clickAndWait(page, "button[value=choose]");
  }
  const c = await readChallenge(page);
  check(`${label}: questions`, c.questions.length > 0, `${page.url()} ${JSON.stringify(c).slice(0, 300)}`);
  if (c.questions.length === 0) return null;
  checkQuestions(label, SAM, c);
  await checkNoAnswersServed(label, SAM, served, c.questions);
  await answer(page, SAM, c.questions, false);
  return c.questions.map((q) => factOf(q.prompt)).sort().join(",");
}

// Surety's page after a challenge that did not pass ("failed" or "locked"): the message is
// visible, there are no questions and no field, and Continue is the only button.
async function endedPage(page, label, kind) {
  const c = await readChallenge(page);
  const visible = async (text) => page.getByText(text, { exact: false }).first().isVisible().catch(() => false);
  const ok = kind === "locked"
    ? c.heading === "Identity checks are locked for now" && (await visible("locked the check for now")) &&
      /You can try again after \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/.test((await page.textContent("main").catch(() => "")) ?? "")
    : c.heading === "Your answers were not accepted" && (await visible("could not confirm who you are"));
  check(`${label}: Surety's page says the check ${kind === "locked" ? "is locked for now and when to try again" : "did not accept the answers"}`,
    where(page).pathname === "/challenge" && ok, `${page.url()} ${c.heading}`);
  check(`${label}: that page shows no questions or fields, only Continue`,
    c.questions.length === 0 && c.fields.length === 0 && c.buttons.join(",") === "continue:Continue", JSON.stringify(c.buttons));
}

async function failAndLockFlow(client) {
  const { context, page, served } = await newPage();
  const sets = [];
  for (const [n, how] of [[1, "full"], [2, "more_info"], [3, "candidates"]]) {
    served.length = 0;
    const req = authorizeUrl(client, { claims: essentialClaims });
    await page.goto(req.url);
    const r = await proceed(page, client, SAM);
    check(`bob, attempt ${n}: an essential acr (claims parameter) leads to the challenge page`, r === "challenge", r);
    if (r !== "challenge") break;
    if (n === 1) {
      const c = await readChallenge(page);
      check("with an essential acr the page says it cannot continue without the check, and offers Cancel",
        c.intro?.includes("It cannot continue without this check") && c.buttons.includes("skip:Cancel"), `${c.intro} ${c.buttons}`);
    }
    const set = await wrongAttempt(n, page, served, how);
    if (set === null) break;
    sets.push(set);
    await endedPage(page, `bob, attempt ${n}`, n === 3 ? "locked" : "failed");
    await clickAndWait(page, "button[value=continue]");
    await page.waitForURL(isCallback(client), { timeout: 10000 }).catch(() => {});
    const q = Object.fromEntries(where(page).searchParams);
    check(`bob, attempt ${n}: Continue → the callback gets error=unmet_authentication_requirements`,
      isCallback(client)(where(page)) && q.error === "unmet_authentication_requirements", page.url());
    check(`bob, attempt ${n}: the error carries the request's state and iss, and no code`,
      q.state === req.state && q.iss === issuer && !q.code, JSON.stringify(q));
  }
  check("a different set of questions on each attempt", sets.length === 3 && new Set(sets).size === 3, JSON.stringify(sets));

  // Locked: a 4th attempt within the window gets no questions.
  for (const [label, extra] of [["an essential", { claims: essentialClaims }], ["a voluntary", { acr_values: VERIFIED }]]) {
    const req = authorizeUrl(client, extra);
    await page.goto(req.url);
    const r = await proceed(page, client, SAM);
    if (r !== "challenge") {
      check(`locked, ${label} request: the challenge page still asks to identify`, false, r);
      continue;
    }
    await fillIdentity(page, SAM.identity, Object.keys(SAM.identity));
    await clickAndWait(page, "button[value=identify]");
    const questionsShown = where(page).pathname === "/challenge" && (await readChallenge(page)).questions.length > 0;
    check(`locked, ${label} request: identifying again shows no questions`, !questionsShown, page.url());
    await endedPage(page, `locked, ${label} request`, "locked");
    if (extra.claims) {
      await page.screenshot({ path: path.join(outDir, "challenge-locked.png"), fullPage: true });
      fs.copyFileSync(path.join(outDir, "challenge-locked.png"), path.join(root, "docs/screenshots/challenge-locked.png"));
    }
    await clickAndWait(page, "button[value=continue]");
    const end = await proceed(page, client, SAM);
    const q = Object.fromEntries(where(page).searchParams);
    if (extra.claims) {
      check("locked: Continue ends the essential request at the callback with error=unmet_authentication_requirements, the state and iss",
        end === "callback" && q.error === "unmet_authentication_requirements" && q.state === req.state && q.iss === issuer && !q.code, page.url());
      check("locked: the error_description says the verification is locked", /locked/.test(q.error_description ?? ""), q.error_description);
    } else {
      let idt;
      if (q.code) idt = await verifiedClaims((await redeem(client, q.code, req.verifier)).body.id_token ?? "");
      check("locked: the voluntary request continues at the password level (acr password, amr [pwd])",
        end === "callback" && idt?.acr === PASSWORD_ACR && JSON.stringify(idt?.amr) === '["pwd"]', `${page.url()} ${JSON.stringify(idt)}`);
    }
  }
  await context.close();
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
if (failed === 0) console.log(`screenshots: ${path.relative(root, path.join(outDir, "challenge.png"))}, challenge-identify.png, challenge-locked.png`);
process.exit(failed ? 1 : 0);
