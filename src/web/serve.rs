//! The HTTP/1.1 accept loop, with the limits a stranger's sockets meet before any
//! handler runs: a complete request header within `header_timeout` seconds
//! of the connection opening or of its previous response (so an idle keep-alive
//! connection closes after the same time, and a slow-header socket cannot stay), at most
//! `max_connections_per_ip` connections per client address and `max_connections` in
//! all. Past a cap the connection gets a `503` with `Retry-After` and is closed; the
//! total cap is kept below the process's file-descriptor limit, checked at start-up.
//! Graceful shutdown: no new connections, in-flight requests finish.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::config::Settings;
use crate::partners::cidr::Cidr;

/// File descriptors kept back from connections: database and cache pools, key files,
/// outbound webhooks and e-mail.
const FD_RESERVE: u64 = 128;
/// Connections allowed when neither the settings nor the descriptor limit say less.
const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// What a refused connection is told before it is closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nConnection: close\r\nContent-Length: 85\r\n\r\n{\"error\":\"temporarily_unavailable\",\"error_description\":\"too many connections; retry\"}";

/// The connection limits in effect.
#[derive(Debug, Clone)]
pub struct Limits {
    pub header_timeout: Duration,
    pub max_connections: usize,
    pub max_per_ip: usize,
    /// Peers whose connections count only toward the total (they carry many clients).
    proxies: Vec<Cidr>,
}

impl Limits {
    /// From the settings, the total capped below the descriptor limit (logged).
    pub fn from_settings(s: &Settings) -> Self {
        let wanted = match s.max_connections {
            0 => DEFAULT_MAX_CONNECTIONS,
            n => n,
        };
        let max_connections = match fd_limit() {
            Some(fds) => {
                let room =
                    usize::try_from(fds.saturating_sub(FD_RESERVE).max(16)).unwrap_or(wanted);
                if wanted > room && s.max_connections != 0 {
                    tracing::warn!(
                        configured = wanted,
                        fd_limit = fds,
                        effective = room,
                        "SURETY_MAX_CONNECTIONS exceeds the file-descriptor limit; lowered"
                    );
                }
                wanted.min(room)
            }
            None => wanted,
        };
        let max_per_ip = s.max_connections_per_ip.clamp(1, max_connections.max(1));
        tracing::info!(
            max_connections,
            max_per_ip,
            header_timeout_s = s.header_timeout,
            "connection limits"
        );
        Self {
            header_timeout: Duration::from_secs(s.header_timeout.max(1)),
            max_connections,
            max_per_ip,
            proxies: s
                .trusted_proxies
                .iter()
                .filter_map(|c| Cidr::parse(c))
                .collect(),
        }
    }
}

/// The soft `RLIMIT_NOFILE` of this process.
fn fd_limit() -> Option<u64> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own; no other memory is touched.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } == 0;
    (ok && r.rlim_cur != libc::RLIM_INFINITY).then_some(r.rlim_cur)
}

/// Open connections, in all and per address.
#[derive(Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// Admits connections within the caps; a [`Slot`] gives its place back when dropped.
#[derive(Clone)]
struct Admission {
    limits: Arc<Limits>,
    counts: Arc<Mutex<Counts>>,
}

struct Slot {
    counts: Arc<Mutex<Counts>>,
    ip: Option<IpAddr>,
}

impl Admission {
    fn admit(&self, peer: IpAddr) -> Option<Slot> {
        let per_ip = !self.limits.proxies.iter().any(|c| c.contains(peer));
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if c.total >= self.limits.max_connections {
            return None;
        }
        if per_ip {
            let n = c.per_ip.entry(peer).or_insert(0);
            if *n >= self.limits.max_per_ip {
                return None;
            }
            *n += 1;
        }
        c.total += 1;
        Some(Slot {
            counts: self.counts.clone(),
            ip: per_ip.then_some(peer),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        c.total = c.total.saturating_sub(1);
        if let Some(ip) = self.ip
            && let Some(n) = c.per_ip.get_mut(&ip)
        {
            *n -= 1;
            if *n == 0 {
                c.per_ip.remove(&ip);
            }
        }
    }
}

/// Serves `app` on `listener` until `shutdown` changes, then lets open requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
) {
    let admission = Admission {
        limits: Arc::new(limits),
        counts: Arc::default(),
    };
    let graceful = GracefulShutdown::new();
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of descriptors or similar: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let Some(slot) = admission.admit(peer.ip()) else {
            metrics::counter!("surety_connections_refused_total").increment(1);
            tokio::spawn(refuse(tcp));
            continue;
        };
        spawn_connection(tcp, peer, app.clone(), &admission.limits, &graceful, slot);
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(30), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open 30 s after shutdown; closing them");
    }
}

/// Serves one HTTP/1.1 connection with the header timeout, its peer address available
/// to handlers as `ConnectInfo<SocketAddr>`; the slot is given back when it ends.
fn spawn_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: &Limits,
    graceful: &GracefulShutdown,
    slot: Slot,
) {
    // No Nagle delay: each response is one write, sent at once.
    let _ = tcp.set_nodelay(true);
    let svc = tower::ServiceExt::map_request(app, move |req: hyper::Request<Incoming>| {
        let mut req = req.map(axum::body::Body::new);
        req.extensions_mut().insert(ConnectInfo(peer));
        req
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true)
        .serve_connection(TokioIo::new(tcp), TowerToHyperService::new(svc));
    let watched = graceful.watch(conn);
    tokio::spawn(async move {
        let _slot = slot;
        if let Err(e) = watched.await {
            tracing::debug!(error = %e, "connection ended");
        }
    });
}

/// Tells a connection past a cap to retry, without waiting on it for long: the first
/// bytes of its request are read (briefly) so the 503 answers it rather than arriving
/// unasked, then the connection is closed.
async fn refuse(mut tcp: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let mut head = [0u8; 1024];
        let _ = tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut head)).await;
        let _ = tcp.write_all(BUSY).await;
        let _ = tcp.shutdown().await;
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(total: usize, per_ip: usize, proxies: &[&str]) -> Admission {
        Admission {
            limits: Arc::new(Limits {
                header_timeout: Duration::from_secs(1),
                max_connections: total,
                max_per_ip: per_ip,
                proxies: proxies.iter().filter_map(|c| Cidr::parse(c)).collect(),
            }),
            counts: Arc::default(),
        }
    }

    #[test]
    fn caps_per_address_and_in_total_and_slots_come_back() {
        let a = admission(4, 2, &["10.0.0.0/8"]);
        let (x, y): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let s1 = a.admit(x).unwrap();
        let _s2 = a.admit(x).unwrap();
        assert!(a.admit(x).is_none(), "per-address cap");
        let _s3 = a.admit(y).unwrap();
        drop(s1);
        let _s4 = a.admit(x).unwrap();
        // A trusted proxy counts only toward the total.
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        let _p1 = a.admit(proxy).unwrap();
        assert!(a.admit(proxy).is_none(), "total cap of 4");
        assert!(a.admit(y).is_none());
    }

    #[test]
    fn the_busy_answer_is_well_formed() {
        let text = std::str::from_utf8(BUSY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"], "temporarily_unavailable");
    }
}
