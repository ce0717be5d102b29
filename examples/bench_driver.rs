//! Benchmark driver for what wrk cannot do alone: the crypto floors every flow is measured
//! against (issue 13), the load a browser full of passkeys puts on `POST /login/passkey`, and
//! the two crypto ceilings sign-ins are measured against (issue 12). `bench/run.sh` runs it;
//! build it with `cargo build --release --example bench_driver`.
//!
//! - `floor SECONDS`: the CPU time of each signature operation a flow cannot avoid, with the
//!   server's own `keys::jws` code on one thread (ES256 sign and verify, RS256 sign), for
//!   SECONDS in all. Printed as `ops_ms` beside the RESULT fields; run.sh composes each
//!   flow's floor from them.
//! - `argon2 SECONDS THREADS`: password verifications per second with the server's own
//!   `accounts::password::verify` (argon2id with the configured parameters) on THREADS
//!   blocking threads at once: the most logins per second the machine could give.
//! - `webauthn SECONDS THREADS`: passkey assertions checked per second by `webauthn-rs`
//!   alone, in this process (parse the browser's answer, find the credential, verify the
//!   signature over authenticator data and client data): the most passkey sign-ins per
//!   second the machine could give. Assertions are made beforehand; only the check is timed.
//! - `load ISSUER ADMIN_TOKEN REDIRECT_URI CONNS SECONDS [WARMUP]`: CONNS workers, each a user made
//!   through the admin API who signs in with a password once and registers a passkey
//!   (a synced one: counter 0, so concurrent sign-ins never race on it), then signs in
//!   with it again and again on one pending authorization request of `demo-web`: load
//!   the login page (fresh request options, the challenge kept by the server), answer with
//!   the software authenticator, `POST /login/passkey`, expect 303 to `/authorize/resume`.
//!   With `BENCH_SERVER_PID`, the server's CPU time over the measured seconds only (not
//!   the set-up's password logins) is reported as `server_ticks`.
//!
//! Every mode prints one line `RESULT {json}` shaped like bench/lines.lua's (`requests`,
//! `duration_us`, `p99_ms`, `err_status`), so run.sh records it the same way.

// A benchmark driver, like the tests it borrows the authenticator from: a broken
// assumption stops the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/it/passkeys/authenticator.rs"]
mod authenticator;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use authenticator::{SoftKey, options_in};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid};

type Res<T> = Result<T, String>;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize| -> u64 { args.get(i).and_then(|a| a.parse().ok()).unwrap_or(10) };
    let out = match args.first().map(String::as_str) {
        Some("argon2") => argon2_ceiling(num(1), num(2)).await,
        Some("webauthn") => webauthn_ceiling(num(1), num(2)),
        Some("floor") => floor(num(1)),
        Some("load") if args.len() >= 6 => {
            let cfg = Load {
                issuer: args[1].clone(),
                admin_token: args[2].clone(),
                redirect_uri: args[3].clone(),
                conns: num(4),
                seconds: num(5),
                warmup: args.get(6).and_then(|a| a.parse().ok()).unwrap_or(0),
            };
            load(cfg).await
        }
        _ => Err("usage: bench_driver floor SECONDS | argon2|webauthn SECONDS THREADS | load ISSUER ADMIN_TOKEN REDIRECT_URI CONNS SECONDS [WARMUP]".into()),
    };
    match out {
        Ok(v) => println!("RESULT {v}"),
        Err(e) => {
            eprintln!("bench_driver: {e}");
            std::process::exit(1);
        }
    }
}

fn result(requests: u64, elapsed: Duration, errors: u64, p99_ms: f64) -> Value {
    json!({"requests": requests, "duration_us": elapsed.as_micros() as u64,
           "p99_ms": p99_ms, "err_status": errors})
}

/// Milliseconds of one thread's CPU per operation, each run for `seconds / 4`.
fn floor(seconds: u64) -> Res<Value> {
    use surety::keys::jws::{self, Alg, Signer, VerifyKey};
    let each = Duration::from_millis(seconds * 1000 / 4);
    let claims = json!({"iss": "https://issuer.example", "sub": "user-1", "aud": "client-1",
        "iat": 1_800_000_000, "exp": 1_800_000_300, "jti": "0123456789abcdef", "scope": "openid"});
    let time = |f: &mut dyn FnMut()| {
        let (start, mut n) = (Instant::now(), 0u64);
        while start.elapsed() < each {
            f();
            n += 1;
        }
        (n, start.elapsed().as_secs_f64() * 1000.0 / n as f64)
    };
    let (es, _) = Signer::generate(Alg::ES256).map_err(|e| e.to_string())?;
    let (rs, _) = Signer::generate(Alg::RS256).map_err(|e| e.to_string())?;
    let (n1, es_sign) = time(&mut || {
        jws::sign(&es, Alg::ES256, "k1", "at+jwt", &claims).unwrap();
    });
    let token = jws::sign(&es, Alg::ES256, "k1", "at+jwt", &claims).unwrap();
    let key = VerifyKey::from_jwk(&es.public_jwk()).map_err(|e| e.to_string())?;
    let (n2, es_verify) = time(&mut || {
        jws::verify(&token, std::slice::from_ref(&key)).unwrap();
    });
    let (n3, rs_sign) = time(&mut || {
        jws::sign(&rs, Alg::RS256, "k2", "JWT", &claims).unwrap();
    });
    // A DPoP proof's whole check (RFC 9449 §4.3 but its jti): parse, import the key,
    // verify, claims, thumbprint; next to es256_verify it shows what the rest costs.
    let (pk, _) = Signer::generate(Alg::ES256).map_err(|e| e.to_string())?;
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": pk.public_jwk()});
    let proof_claims = json!({"htm": "POST", "htu": "https://issuer.example/token",
        "iat": 1_800_000_000, "jti": "4d1b0c1e-3c53-4a0e-9a54-2f2f2f2f2f2f"});
    let proof = jws::sign_with_header(&pk, &header, &proof_claims).unwrap();
    let want = surety::oauth::dpop::Expected {
        htm: "POST",
        htu: "https://issuer.example/token",
        access_token: None,
    };
    let window = surety::oauth::dpop::Window {
        past: 60,
        future: 5,
    };
    let (n4, dpop_check) = time(&mut || {
        surety::oauth::dpop::check(&proof, &want, 1_800_000_001, window).unwrap();
    });
    let mut r = result(n1 + n2 + n3 + n4, Duration::from_secs(seconds), 0, 0.0);
    r["ops_ms"] = json!({"es256_sign": es_sign, "es256_verify": es_verify, "rs256_sign": rs_sign});
    r["dpop_check_ms"] = json!(dpop_check);
    Ok(r)
}

/// Password verifications per second on `threads` blocking threads, the server's code.
async fn argon2_ceiling(seconds: u64, threads: u64) -> Res<Value> {
    let phc = surety::accounts::password::hash("bench-ceiling-password".into())
        .await
        .map_err(|_| "hashing failed")?;
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..threads {
        let (phc, done) = (phc.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < end {
                let ok = surety::accounts::password::verify(
                    "bench-ceiling-password".into(),
                    phc.clone(),
                )
                .await;
                assert!(ok, "the ceiling's password did not verify");
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())?;
    }
    Ok(result(
        done.load(Ordering::Relaxed),
        start.elapsed(),
        0,
        0.0,
    ))
}

/// Passkey assertions checked per second by `webauthn-rs` on `threads` threads.
fn webauthn_ceiling(seconds: u64, threads: u64) -> Res<Value> {
    let origin = Url::parse("http://localhost:8080").map_err(|e| e.to_string())?;
    let w = webauthn_rs::prelude::WebauthnBuilder::new("localhost", &origin)
        .and_then(|b| b.rp_name("Surety").build())
        .map_err(|e| e.to_string())?;
    let mut key = SoftKey::new(true);
    let (ccr, reg) = w
        .start_passkey_registration(Uuid::new_v4(), "bench", "bench", None)
        .map_err(|e| e.to_string())?;
    let answer = key.create(
        &serde_json::to_value(&ccr).unwrap(),
        origin.as_str().trim_end_matches('/'),
    );
    let answer: RegisterPublicKeyCredential = serde_json::from_str(&answer).unwrap();
    let passkey = w
        .finish_passkey_registration(&answer, &reg)
        .map_err(|e| e.to_string())?;
    // Enough prepared assertions for the run: ~3,000 per second per thread is more than
    // one core checks.
    let n = (seconds * threads * 3_000) as usize;
    let mut work = Vec::with_capacity(n);
    for _ in 0..n {
        let (rcr, state) = w
            .start_discoverable_authentication()
            .map_err(|e| e.to_string())?;
        let answer = key.get(
            &serde_json::to_value(&rcr).unwrap(),
            origin.as_str().trim_end_matches('/'),
        );
        work.push((answer, state));
    }
    let done = AtomicU64::new(0);
    let stop = Instant::now() + Duration::from_secs(seconds);
    let chunk = n.div_ceil(threads as usize);
    let start = Instant::now();
    std::thread::scope(|s| {
        for part in work.chunks(chunk) {
            let (w, passkey, done) = (&w, &passkey, &done);
            s.spawn(move || {
                for (answer, state) in part {
                    if Instant::now() >= stop {
                        break;
                    }
                    let cred: PublicKeyCredential = serde_json::from_str(answer).unwrap();
                    w.identify_discoverable_authentication(&cred).unwrap();
                    let r = w.finish_discoverable_authentication_v2(&cred, state.clone(), passkey);
                    assert!(r.is_ok(), "a prepared assertion did not verify");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    Ok(result(
        done.load(Ordering::Relaxed),
        start.elapsed(),
        0,
        0.0,
    ))
}

struct Load {
    issuer: String,
    admin_token: String,
    redirect_uri: String,
    conns: u64,
    seconds: u64,
    warmup: u64,
}

/// One worker's pending authorization request: where its login page is and its cookie.
struct Pending {
    login_url: String,
    bb: String,
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of the `name=` cookie a response sets.
fn cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers().get_all(SET_COOKIE).iter().find_map(|v| {
        let v = v.to_str().ok()?;
        let (n, rest) = v.split_once('=')?;
        (n == name).then(|| rest.split(';').next().unwrap_or("").to_owned())
    })
}

/// The value of the hidden form field `name` in `page`.
fn hidden(page: &str, name: &str) -> String {
    page.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or("")
        .to_owned()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// Opens an authorization request of `demo-web` (no session): its login page and cookie.
async fn pending(b: &reqwest::Client, cfg: &Load) -> Res<Pending> {
    let verifier = format!("{:064}", 7);
    let challenge = surety::util::b64(&surety::util::sha256(verifier.as_bytes()));
    let r = b
        .get(format!("{}/authorize", cfg.issuer))
        .query(&[
            ("response_type", "code"),
            ("client_id", "demo-web"),
            ("redirect_uri", &cfg.redirect_uri),
            ("scope", "openid"),
            ("state", "pk"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let bb = cookie(&r, "surety_bb").ok_or("no binding cookie from /authorize")?;
    let login = location(&r);
    let login_url = match login.starts_with("http") {
        true => login,
        false => format!("{}{login}", cfg.issuer),
    };
    Ok(Pending { login_url, bb })
}

/// Makes worker `i`'s user, signs in with its password and registers its passkey.
async fn enrol(cfg: &Load, i: u64, tag: &str) -> Res<(SoftKey, String)> {
    let b = http();
    let (user, pw) = (
        format!("bench-pk-{tag}-{i}"),
        format!("bench-pk-{tag}-password"),
    );
    let r = b
        .post(format!("{}/admin/users", cfg.issuer))
        .bearer_auth(&cfg.admin_token)
        .json(&json!({"username": user, "password": pw}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("POST /admin/users: {}", r.status()));
    }
    let p = pending(&b, cfg).await?;
    let jar = format!("surety_bb={}", p.bb);
    let page = b
        .get(&p.login_url)
        .header(COOKIE, &jar)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let page = page.text().await.map_err(|e| e.to_string())?;
    let form = [
        ("tx", hidden(&page, "tx")),
        ("csrf", hidden(&page, "csrf")),
        ("username", user),
        ("password", pw),
    ];
    let r = b
        .post(format!("{}/login", cfg.issuer))
        .header(COOKIE, &jar)
        .form(&form)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let session =
        cookie(&r, "surety_session").ok_or_else(|| format!("password login: {}", r.status()))?;
    let jar = format!("surety_bb={}; surety_session={session}", p.bb);
    let url = format!("{}/account/security/passkeys", cfg.issuer);
    let page = b
        .get(&url)
        .header(COOKIE, &jar)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let page = page.text().await.map_err(|e| e.to_string())?;
    let origin = origin_of(&cfg.issuer);
    let mut key = SoftKey::new(true);
    let credential = key.create(&options_in(&page, "passkey-register"), &origin);
    let form = [
        ("csrf", hidden(&page, "csrf")),
        ("name", "bench".to_owned()),
        ("credential", credential),
    ];
    let r = b
        .post(&url)
        .header(COOKIE, &jar)
        .form(&form)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !(r.status().is_success() || r.status().is_redirection()) {
        return Err(format!("passkey registration: {}", r.status()));
    }
    // Sign-ins happen on a request of their own, without the password session.
    let p = pending(&b, cfg).await?;
    Ok((key, format!("{}\n{}", p.login_url, p.bb)))
}

/// The origin a browser on `issuer` would report (a loopback address as `localhost`).
fn origin_of(issuer: &str) -> String {
    issuer.replace("127.0.0.1", "localhost")
}

/// One passkey sign-in: the login page, the answer, `POST /login/passkey`. Ok(true) on 303.
async fn sign_in(b: &reqwest::Client, cfg: &Load, p: &Pending, key: &mut SoftKey) -> Res<bool> {
    let jar = format!("surety_bb={}", p.bb);
    let page = b
        .get(&p.login_url)
        .header(COOKIE, &jar)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let page = page.text().await.map_err(|e| e.to_string())?;
    let credential = key.get(&options_in(&page, "passkey-login"), &origin_of(&cfg.issuer));
    let form = [
        ("tx", hidden(&page, "tx")),
        ("csrf", hidden(&page, "csrf")),
        ("credential", credential),
    ];
    let r = b
        .post(format!("{}/login/passkey", cfg.issuer))
        .header(COOKIE, &jar)
        .form(&form)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    Ok(r.status() == reqwest::StatusCode::SEE_OTHER && location(&r).contains("/authorize/resume"))
}

async fn load(cfg: Load) -> Res<Value> {
    let mut tag = [0u8; 6];
    aws_lc_rs::rand::fill(&mut tag).unwrap();
    let tag: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    let cfg = Arc::new(cfg);
    let mut workers = Vec::new();
    for i in 0..cfg.conns {
        let (key, pending) = enrol(&cfg, i, &tag).await?;
        let (login_url, bb) = pending.split_once('\n').unwrap();
        workers.push((
            key,
            Pending {
                login_url: login_url.into(),
                bb: bb.into(),
            },
        ));
    }
    // Each worker checks once before the clock starts.
    let b = http();
    for (key, p) in workers.iter_mut() {
        if !sign_in(&b, &cfg, p, key).await? {
            return Err("a passkey sign-in was not answered 303 to /authorize/resume".into());
        }
    }
    if cfg.warmup > 0 {
        run_for(&cfg, &b, &mut workers, cfg.warmup).await?;
    }
    let ticks0 = server_ticks();
    let (ok, failed, p99, elapsed) = run_for(&cfg, &b, &mut workers, cfg.seconds).await?;
    let mut r = result(ok, elapsed, failed, p99);
    if let (Some(t0), Some(t1)) = (ticks0, server_ticks()) {
        r["server_ticks"] = json!(t1 - t0);
    }
    Ok(r)
}

/// The server's CPU time (user + system clock ticks, all threads) when
/// `BENCH_SERVER_PID` names it: read around the measured run only, so the set-up's
/// password logins are not counted.
fn server_ticks() -> Option<u64> {
    let pid = std::env::var("BENCH_SERVER_PID").ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Every worker signs in again and again for `seconds`: (ok, failed, p99 ms, elapsed).
async fn run_for(
    cfg: &Arc<Load>,
    b: &reqwest::Client,
    workers: &mut Vec<(SoftKey, Pending)>,
    seconds: u64,
) -> Res<(u64, u64, f64, Duration)> {
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (mut key, p) in workers.drain(..) {
        let (cfg, ok, failed, stop, b) = (
            cfg.clone(),
            ok.clone(),
            failed.clone(),
            stop.clone(),
            b.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match sign_in(&b, &cfg, &p, &mut key).await {
                    Ok(true) => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
                lat.push(t.elapsed());
            }
            (key, p, lat)
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut lat = Vec::new();
    for t in tasks {
        let (key, p, l) = t.await.map_err(|e| e.to_string())?;
        workers.push((key, p));
        lat.extend(l);
    }
    // Until the last sign-in in flight is answered: each one counted is inside the time.
    let elapsed = start.elapsed();
    lat.sort();
    let p99 = lat
        .get(lat.len() * 99 / 100)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    Ok((
        ok.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        p99,
        elapsed,
    ))
}
