//! A local SMTP sink for tests: a tiny tokio server speaking enough of RFC 5321 (greeting,
//! `EHLO`/`HELO`, `MAIL`, `RCPT`, `DATA` with dot-unstuffing, `RSET`, `NOOP`, `QUIT`) to
//! take mail from Surety's `lettre` client, recording every message it accepts. It offers
//! no `STARTTLS` and no `AUTH`; recipients at `reject.invalid` get a permanent `550`.
//! It can be started on a port reserved beforehand, so a test can configure Surety with
//! a sink that is not up yet.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Longest command line or message accepted.
const MAX_LINE: usize = 4096;
const MAX_MESSAGE: usize = 1024 * 1024;

/// One message the sink accepted.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body as sent (CRLF line ends), dot-unstuffed.
    pub data: String,
}

impl Mail {
    /// The body after the header block, quoted-printable soft breaks joined and `=XX`
    /// escapes decoded (what a mail reader shows for a `text/plain` part).
    pub fn body(&self) -> String {
        let body = self
            .data
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .replace("=\r\n", "");
        decode_qp(&body)
    }

    /// The value of header `name` (first occurrence, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split_once("\r\n\r\n").map_or("", |(h, _)| h);
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

fn decode_qp(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'=', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A running (or reserved) sink.
pub struct SmtpSink {
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
    task: Option<JoinHandle<()>>,
}

impl SmtpSink {
    /// A sink listening on a fresh port of 127.0.0.1.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind sink");
        let port = listener.local_addr().expect("addr").port();
        let mut sink = Self::reserved(port);
        sink.serve(listener);
        sink
    }

    /// A port nothing listens on yet (bound, then released): connections to it are
    /// refused until [`SmtpSink::up`].
    pub async fn reserve() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind sink");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        Self::reserved(port)
    }

    fn reserved(port: u16) -> Self {
        Self {
            port,
            mails: Arc::default(),
            task: None,
        }
    }

    /// Starts listening on the reserved port.
    pub async fn up(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("rebind the reserved sink port");
        self.serve(listener);
    }

    fn serve(&mut self, listener: TcpListener) {
        let mails = self.mails.clone();
        self.task = Some(tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, mails.clone()));
            }
        }));
    }

    /// The messages accepted so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().expect("sink lock").clone()
    }

    /// Waits (at most `limit`) until at least `n` messages arrived.
    pub async fn wait_for(&self, n: usize, limit: Duration) -> Vec<Mail> {
        crate::helpers::within(limit, || async {
            let got = self.mails();
            (got.len() >= n).then_some(got)
        })
        .await
        .unwrap_or_else(|| self.mails())
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// The address inside `MAIL FROM:<…>` / `RCPT TO:<…>`.
fn path_arg(line: &str, verb: &str) -> Option<String> {
    let rest = line.get(..verb.len())?;
    if !rest.eq_ignore_ascii_case(verb) {
        return None;
    }
    let arg = line[verb.len()..].trim_start();
    let inner = arg.strip_prefix('<')?.split_once('>')?.0;
    Some(inner.to_owned())
}

async fn session(stream: TcpStream, mails: Arc<Mutex<Vec<Mail>>>) {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    let _ = w.write_all(b"220 sink ESMTP ready\r\n").await;
    let (mut from, mut to): (Option<String>, Vec<String>) = (None, Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        match r.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(n) if n > MAX_LINE => return,
            Ok(_) => {}
        }
        let cmd = line.trim_end_matches(['\r', '\n']);
        let verb = cmd.split(' ').next().unwrap_or("").to_ascii_uppercase();
        let answer: String = match verb.as_str() {
            "EHLO" => "250-sink greets you\r\n250-8BITMIME\r\n250 SIZE 1048576\r\n".into(),
            "HELO" => "250 sink\r\n".into(),
            "MAIL" => match path_arg(cmd, "MAIL FROM:") {
                Some(f) => {
                    (from, to) = (Some(f), Vec::new());
                    "250 OK\r\n".into()
                }
                None => "501 syntax: MAIL FROM:<address>\r\n".into(),
            },
            "RCPT" => match (path_arg(cmd, "RCPT TO:"), &from) {
                (_, None) => "503 MAIL first\r\n".into(),
                (Some(t), _) if t.ends_with("@reject.invalid") => {
                    "550 5.1.1 no such mailbox\r\n".into()
                }
                (Some(t), _) => {
                    to.push(t);
                    "250 OK\r\n".into()
                }
                (None, _) => "501 syntax: RCPT TO:<address>\r\n".into(),
            },
            "DATA" if from.is_none() || to.is_empty() => "503 need MAIL and RCPT\r\n".into(),
            "DATA" => {
                let _ = w.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await;
                let Some(data) = read_data(&mut r).await else {
                    return;
                };
                let mail = Mail {
                    from: from.take().unwrap_or_default(),
                    to: std::mem::take(&mut to),
                    data,
                };
                mails.lock().expect("sink lock").push(mail);
                "250 OK queued\r\n".into()
            }
            "RSET" => {
                (from, to) = (None, Vec::new());
                "250 OK\r\n".into()
            }
            "NOOP" => "250 OK\r\n".into(),
            "QUIT" => {
                let _ = w.write_all(b"221 bye\r\n").await;
                return;
            }
            _ => "502 command not implemented\r\n".into(),
        };
        if w.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// The message text up to the lone `.` line, dot-unstuffed; `None` if the client went
/// away or sent too much.
async fn read_data<R: AsyncBufReadExt + Unpin>(r: &mut R) -> Option<String> {
    let mut data = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        let n = tokio::time::timeout(Duration::from_secs(10), r.read_line(&mut line))
            .await
            .ok()?
            .ok()?;
        if n == 0 || data.len() + n > MAX_MESSAGE {
            return None;
        }
        if line == ".\r\n" || line == ".\n" {
            return Some(data);
        }
        data.push_str(line.strip_prefix('.').unwrap_or(&line));
    }
}
