//! [`RedisCache`]: the shared [`Ephemeral`] store for multi-node deployments. Every
//! operation is one Redis command or one Lua script, so single-use semantics hold across
//! nodes. The connection is a [`ConnectionManager`], which reconnects by itself after
//! Redis comes back; connection and response timeouts (plus an overall per-operation
//! deadline) make a call fail fast with [`CacheError`] while Redis is down.
//!
//! RESP3 is used unless the URL picks a `protocol`, so a connection dropped by a Redis
//! restart is replaced before the next command needs it.
//!
//! `consume` marks a key used with a sibling key `<key>:used` that expires with it;
//! `put`, `put_new` and `delete` clear that marker so a fresh value starts unused.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, FromRedisValue, IntoConnectionInfo, ProtocolVersion, RedisError, Script};

use crate::clock::Timestamp;

use super::{CacheError, CacheResult, Consumed, Ephemeral, Marked};

/// Bound on establishing a TCP connection to Redis.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Bound on waiting for one reply.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Bound on a whole operation, reconnection attempts included.
const OP_TIMEOUT: Duration = Duration::from_secs(3);

/// `SET key value EX ttl` and clear the consume marker.
const PUT: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('DEL', KEYS[2])
return 1
";

/// `SET key value NX EX ttl`; on success clear the consume marker. 1 if stored.
const PUT_NEW: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
";

/// `INCR`, setting the TTL when the counter is created.
const INCR: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return n
";

/// `DECR` an existing counter above zero; a missing key stays missing (its TTL is kept).
const DECR: &str = r"
local n = tonumber(redis.call('GET', KEYS[1]))
if n and n > 0 then
  redis.call('DECR', KEYS[1])
end
return 0
";

/// `SET NX EX` a mark, and read (creating it with ARGV[2] if missing) the marker of when
/// the present contents began. Returns {1 if marked now else 0, since}.
const MARK_FIRST: &str = r"
local first = redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1])
redis.call('SET', KEYS[2], ARGV[2], 'NX')
local since = redis.call('GET', KEYS[2])
if first then
  return {1, since}
end
return {0, since}
";

/// The contents marker: created with ARGV[1] if missing, then read.
const SINCE: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
";

/// `GET` the value and learn, via `SET marker NX` expiring with the key, whether this is
/// the first consumer. Returns nil or {value, first (1 or 0)}.
const CONSUME: &str = r"
local v = redis.call('GET', KEYS[1])
if not v then
  return nil
end
local ttl = redis.call('PTTL', KEYS[1])
local first
if ttl > 0 then
  first = redis.call('SET', KEYS[2], '1', 'NX', 'PX', ttl)
else
  first = redis.call('SET', KEYS[2], '1', 'NX')
end
if first then
  return {v, 1}
end
return {v, 0}
";

/// Redis-backed ephemeral state; every key is prefixed with `prefix`.
#[derive(Clone)]
pub struct RedisCache {
    conn: ConnectionManager,
    prefix: String,
    put: Script,
    put_new: Script,
    incr: Script,
    decr: Script,
    consume: Script,
    mark_first: Script,
    since: Script,
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL (which may carry a password) is not kept.
        f.debug_struct("RedisCache")
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// Describes a Redis failure without the URL or any value.
fn cache_err(e: RedisError) -> CacheError {
    let mut msg = format!("redis {:?}", e.kind());
    if let Some(detail) = e.detail() {
        msg.push_str(": ");
        msg.push_str(detail);
    } else if e.is_io_error() || e.is_timeout() || e.is_connection_refusal() {
        msg.push_str(": connection unavailable");
    }
    CacheError(msg)
}

/// A TTL as Redis takes it: whole seconds (at least one), as a decimal argument.
fn ttl_arg(ttl: u64) -> Vec<u8> {
    ttl.max(1).to_string().into_bytes()
}

impl RedisCache {
    /// Connects to `url` (`redis://…`), failing within a few seconds if Redis is down.
    pub async fn connect(url: &str, prefix: &str) -> CacheResult<Self> {
        // Never echo the URL or the parse error: either may carry the password.
        let mut info = url
            .into_connection_info()
            .map_err(|_| CacheError("invalid Redis URL".into()))?;
        if !url.contains("protocol=") {
            // RESP3 lets the manager see a dropped connection and reconnect at once,
            // instead of failing the next command (GETDEL already needs Redis >= 6.2).
            let redis = info
                .redis_settings()
                .clone()
                .set_protocol(ProtocolVersion::RESP3);
            info = info.set_redis_settings(redis);
        }
        let client =
            redis::Client::open(info).map_err(|_| CacheError("invalid Redis URL".into()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            // One attempt per reconnection: the first retry of redis' backoff waits at
            // least a second, and a caller waiting on Redis is better refused quickly.
            // The next command after a failed attempt starts a new one.
            .set_number_of_retries(0);
        let conn = deadline(ConnectionManager::new_with_config(client, config)).await?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            put: Script::new(PUT),
            put_new: Script::new(PUT_NEW),
            incr: Script::new(INCR),
            decr: Script::new(DECR),
            mark_first: Script::new(MARK_FIRST),
            since: Script::new(SINCE),
            consume: Script::new(CONSUME),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn marker(&self, key: &str) -> String {
        format!("{}{key}:used", self.prefix)
    }

    /// The remaining TTL of `key` in seconds (`-2` absent, `-1` no expiry); for tests
    /// and diagnostics.
    pub async fn ttl(&self, key: &str) -> CacheResult<i64> {
        self.query(redis::cmd("TTL").arg(self.key(key))).await
    }

    /// Sends one command.
    async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> CacheResult<T> {
        with_retry(|| {
            let mut conn = self.conn.clone();
            async move { cmd.query_async(&mut conn).await }
        })
        .await
    }

    /// Runs a Lua script (`EVALSHA`, loading it on first use).
    async fn eval<T: FromRedisValue>(
        &self,
        script: &Script,
        keys: &[String],
        args: &[&[u8]],
    ) -> CacheResult<T> {
        with_retry(|| {
            let mut conn = self.conn.clone();
            let mut call = script.prepare_invoke();
            for k in keys {
                call.key(k);
            }
            for a in args {
                call.arg(*a);
            }
            async move { call.invoke_async(&mut conn).await }
        })
        .await
    }
}

/// Runs a Redis call under [`OP_TIMEOUT`], mapping both failure kinds to [`CacheError`].
async fn deadline<T>(fut: impl Future<Output = Result<T, RedisError>>) -> CacheResult<T> {
    match tokio::time::timeout(OP_TIMEOUT, fut).await {
        Ok(result) => result.map_err(cache_err),
        Err(_) => Err(CacheError("redis operation timed out".into())),
    }
}

/// Runs `call` under [`OP_TIMEOUT`], once more if the first try never reached Redis
/// because an earlier reconnection attempt had failed (that failure starts a fresh
/// attempt). A command that may have been sent is never repeated.
async fn with_retry<T, F, Fut>(mut call: F) -> CacheResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, RedisError>>,
{
    let attempts = async {
        match call().await {
            Err(e) if never_sent(&e) => call().await,
            other => other,
        }
    };
    deadline(attempts).await
}

/// The error the connection manager returns, without sending anything, when the
/// connection it would use is a failed reconnection.
fn never_sent(e: &RedisError) -> bool {
    e.is_io_error() && e.to_string().contains("Reconnecting failed")
}

#[async_trait]
impl Ephemeral for RedisCache {
    async fn put(&self, key: &str, value: &[u8], ttl: u64) -> CacheResult<()> {
        let keys = [self.key(key), self.marker(key)];
        let _: i64 = self.eval(&self.put, &keys, &[value, &ttl_arg(ttl)]).await?;
        Ok(())
    }

    async fn put_new(&self, key: &str, value: &[u8], ttl: u64) -> CacheResult<bool> {
        let keys = [self.key(key), self.marker(key)];
        let stored: i64 = self
            .eval(&self.put_new, &keys, &[value, &ttl_arg(ttl)])
            .await?;
        Ok(stored == 1)
    }

    async fn mark_once(&self, key: &str, ttl: u64) -> CacheResult<bool> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key))
            .arg("1")
            .arg("NX")
            .arg("EX")
            .arg(ttl_arg(ttl));
        let set: Option<String> = self.query(&cmd).await?;
        Ok(set.is_some())
    }

    async fn mark_first(&self, key: &str, ttl: u64, now: Timestamp) -> CacheResult<Marked> {
        let keys = [self.key(key), self.key(super::EPOCH_KEY)];
        let fresh = super::new_contents(now);
        let (first, contents): (i64, String) = self
            .eval(&self.mark_first, &keys, &[&ttl_arg(ttl), fresh.as_bytes()])
            .await?;
        Ok(Marked {
            first: first == 1,
            since: super::contents_time(&contents),
            contents,
        })
    }

    async fn contents(&self, now: Timestamp) -> CacheResult<String> {
        let keys = [self.key(super::EPOCH_KEY)];
        let fresh = super::new_contents(now);
        self.eval(&self.since, &keys, &[fresh.as_bytes()]).await
    }

    async fn get(&self, key: &str) -> CacheResult<Option<Vec<u8>>> {
        self.query(redis::cmd("GET").arg(self.key(key))).await
    }

    async fn take(&self, key: &str) -> CacheResult<Option<Vec<u8>>> {
        self.query(redis::cmd("GETDEL").arg(self.key(key))).await
    }

    async fn consume(&self, key: &str) -> CacheResult<Option<Consumed>> {
        let keys = [self.key(key), self.marker(key)];
        let found: Option<(Vec<u8>, i64)> = self.eval(&self.consume, &keys, &[]).await?;
        Ok(found.map(|(value, first)| Consumed {
            first: first == 1,
            value,
        }))
    }

    async fn delete(&self, key: &str) -> CacheResult<()> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.key(key)).arg(self.marker(key));
        let _: i64 = self.query(&cmd).await?;
        Ok(())
    }

    async fn incr(&self, key: &str, ttl: u64) -> CacheResult<u64> {
        let keys = [self.key(key)];
        self.eval(&self.incr, &keys, &[&ttl_arg(ttl)]).await
    }

    async fn decr(&self, key: &str) -> CacheResult<()> {
        let keys = [self.key(key)];
        let _: i64 = self.eval(&self.decr, &keys, &[]).await?;
        Ok(())
    }

    async fn ping(&self) -> CacheResult<()> {
        let _: String = self.query(&redis::cmd("PING")).await?;
        Ok(())
    }
}
