//! [`RedisCache`]: the shared [`Ephemeral`] store for multi-node deployments. Every
//! operation is one Redis command or one Lua script, so single-use semantics hold across
//! nodes. The connection is a [`ConnectionManager`], which reconnects by itself after
//! Redis comes back; connection and response timeouts (plus an overall per-operation
//! deadline) make a call fail fast with [`CacheError`] while Redis is down.
//!
//! `consume` marks a key used with a sibling key `<key>:used` that expires with it;
//! `put`, `put_new` and `delete` clear that marker so a fresh value starts unused.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, RedisError, Script};

use super::{CacheError, CacheResult, Consumed, Ephemeral};

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
    consume: Script,
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

/// A TTL as Redis takes it: whole seconds, at least one.
fn ttl_arg(ttl: u64) -> u64 {
    ttl.max(1)
}

impl RedisCache {
    /// Connects to `url` (`redis://…`), failing within a few seconds if Redis is down.
    pub async fn connect(url: &str, prefix: &str) -> CacheResult<Self> {
        let client = redis::Client::open(url)
            .map_err(|_| CacheError("invalid Redis URL".into()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_response_timeout(RESPONSE_TIMEOUT)
            .set_number_of_retries(1)
            .set_factor(100)
            .set_max_delay(500);
        let conn = deadline(ConnectionManager::new_with_config(client, config)).await?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            put: Script::new(PUT),
            put_new: Script::new(PUT_NEW),
            incr: Script::new(INCR),
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
        let mut conn = self.conn.clone();
        deadline(conn.ttl(self.key(key))).await
    }
}

/// Runs a Redis call under [`OP_TIMEOUT`], mapping both failure kinds to [`CacheError`].
async fn deadline<T>(fut: impl Future<Output = Result<T, RedisError>>) -> CacheResult<T> {
    match tokio::time::timeout(OP_TIMEOUT, fut).await {
        Ok(result) => result.map_err(cache_err),
        Err(_) => Err(CacheError("redis operation timed out".into())),
    }
}

#[async_trait]
impl Ephemeral for RedisCache {
    async fn put(&self, key: &str, value: &[u8], ttl: u64) -> CacheResult<()> {
        let mut conn = self.conn.clone();
        let mut call = self.put.key(self.key(key));
        call.key(self.marker(key)).arg(value).arg(ttl_arg(ttl));
        let _: i64 = deadline(call.invoke_async(&mut conn)).await?;
        Ok(())
    }

    async fn put_new(&self, key: &str, value: &[u8], ttl: u64) -> CacheResult<bool> {
        let mut conn = self.conn.clone();
        let mut call = self.put_new.key(self.key(key));
        call.key(self.marker(key)).arg(value).arg(ttl_arg(ttl));
        let stored: i64 = deadline(call.invoke_async(&mut conn)).await?;
        Ok(stored == 1)
    }

    async fn get(&self, key: &str) -> CacheResult<Option<Vec<u8>>> {
        let mut conn = self.conn.clone();
        deadline(conn.get(self.key(key))).await
    }

    async fn take(&self, key: &str) -> CacheResult<Option<Vec<u8>>> {
        let mut conn = self.conn.clone();
        deadline(conn.get_del(self.key(key))).await
    }

    async fn consume(&self, key: &str) -> CacheResult<Option<Consumed>> {
        let mut conn = self.conn.clone();
        let mut call = self.consume.key(self.key(key));
        call.key(self.marker(key));
        let found: Option<(Vec<u8>, i64)> = deadline(call.invoke_async(&mut conn)).await?;
        Ok(found.map(|(value, first)| Consumed {
            first: first == 1,
            value,
        }))
    }

    async fn delete(&self, key: &str) -> CacheResult<()> {
        let mut conn = self.conn.clone();
        let keys = [self.key(key), self.marker(key)];
        let _: i64 = deadline(conn.del(&keys)).await?;
        Ok(())
    }

    async fn incr(&self, key: &str, ttl: u64) -> CacheResult<u64> {
        let mut conn = self.conn.clone();
        let mut call = self.incr.key(self.key(key));
        call.arg(ttl_arg(ttl));
        deadline(call.invoke_async(&mut conn)).await
    }

    async fn ping(&self) -> CacheResult<()> {
        let mut conn = self.conn.clone();
        let _: String = deadline(redis::cmd("PING").query_async(&mut conn)).await?;
        Ok(())
    }
}
