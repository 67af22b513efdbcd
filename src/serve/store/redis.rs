//! The `redis://host:port/db` store: for several proxy instances that must share one limit.
//!
//! The limit check is one Lua script (`CHECK`): Redis runs a script atomically, so no other
//! client's command runs between its reads and its increments, and it reads the time from Redis
//! (`TIME`), so instances whose clocks differ still agree on the current minute and day. (A
//! GET-then-SET from the client would let two instances both read 49 of 50 and both allow.) Since
//! Redis 5, scripts replicate as their effects, so calling `TIME` in a script that writes is safe.
//! The script computes its key names from the time, which Redis Cluster forbids; the store targets
//! one Redis server (or a primary with replicas), not a cluster.
//!
//! Why the synchronous client: the `Store` trait is synchronous because SQLite is (every call
//! blocks on a file lock) and the `token` commands are plain CLI code. The server will call the
//! store from `spawn_blocking` (microseconds against a millisecond-scale upstream call), and a
//! pool of connections here keeps concurrent checks from queuing behind one socket. An async
//! multiplexed connection would save those blocking threads but would force a second, async store
//! trait for one backend.
//!
//! Every failure (refused, timed out, a script error) is an `Err`; a connection that failed is
//! dropped and the next call opens a new one, so a restarted Redis is picked up without a restart.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result};
use redis::{Client, Connection, Script};

use super::{Counts, Decision, Limits, Store, TokenHash, TokenRecord, decide};

/// Connect, read and write deadline: an unreachable Redis must become a 503 quickly.
const TIMEOUT: Duration = Duration::from_secs(2);

/// KEYS[1] = the user's usage key prefix; ARGV = limits per minute, per day, tokens per day
/// (-1 = none), the tokens to reserve, and (tests only) the time in ms instead of Redis's `TIME`.
/// Returns {allowed, retry_after, minute, minute_reset, day_requests, day_tokens, now}, the
/// counts after the check. The rule is `would_deny` in mod.rs; the sliding minute is a sorted
/// set of request times (ms), trimmed here; each member is made unique by a per-user sequence.
const CHECK: &str = r"
local now_ms
if ARGV[5] then
  now_ms = tonumber(ARGV[5])
else
  local t = redis.call('TIME')
  now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local now = math.floor(now_ms / 1000)
local day = math.floor(now / 86400)
local kl = KEYS[1] .. ':log'
local kd = KEYS[1] .. ':d:' .. day
local kt = KEYS[1] .. ':t:' .. day
local rpm, rpd, tpd = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local reserve = tonumber(ARGV[4])
local m, oldest = 0, -1
if rpm >= 0 then
  redis.call('ZREMRANGEBYSCORE', kl, '-inf', now_ms - 60000)
  m = redis.call('ZCARD', kl)
  if m > 0 then oldest = tonumber(redis.call('ZRANGE', kl, 0, 0, 'WITHSCORES')[2]) end
end
local function reset(o)
  if o < 0 then return 0 end
  return math.ceil(math.max(1, o + 60000 - now_ms) / 1000)
end
local d = tonumber(redis.call('GET', kd) or '0')
local tk = tonumber(redis.call('GET', kt) or '0')
local to_day = 86400 - now % 86400
local retry = 0
if rpm >= 0 and m >= rpm then retry = math.max(retry, math.max(1, reset(oldest))) end
if rpd >= 0 and d >= rpd then retry = math.max(retry, to_day) end
if tpd >= 0 then
  if tk >= tpd then retry = math.max(retry, to_day)
  elseif tk + reserve > tpd then retry = math.max(retry, math.min(60, to_day)) end
end
if retry > 0 then return {0, retry, m, reset(oldest), d, tk, now} end
if rpm >= 0 then
  local seq = redis.call('INCR', KEYS[1] .. ':seq')
  redis.call('PEXPIRE', KEYS[1] .. ':seq', 120000)
  redis.call('ZADD', kl, now_ms, string.format('%d:%d', now_ms, seq))
  redis.call('PEXPIRE', kl, 120000)
  m = m + 1
  if oldest < 0 then oldest = now_ms end
end
d = redis.call('INCR', kd)
redis.call('EXPIRE', kd, 90000)
if reserve > 0 then
  tk = redis.call('INCRBY', kt, reserve)
  redis.call('EXPIRE', kt, 90000)
end
return {1, 0, m, reset(oldest), d, tk, now}
";

/// KEYS[1] = the user's usage key prefix; ARGV = the day the reservation was made in, the tokens
/// reserved, the tokens used. The rule is `settled` in mod.rs; the count never goes below 0.
const SETTLE: &str = r"
local today = math.floor(tonumber(redis.call('TIME')[1]) / 86400)
local day, reserved, used = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local delta = used - reserved
if day ~= today and delta < 0 then delta = 0 end
if delta == 0 then return 0 end
local kt = KEYS[1] .. ':t:' .. today
local v = redis.call('INCRBY', kt, delta)
if v < 0 then redis.call('SET', kt, 0) end
redis.call('EXPIRE', kt, 90000)
return 1
";

pub struct RedisStore {
    client: Client,
    /// Idle connections; a call takes one or opens one, and gives it back only if it worked.
    idle: Mutex<Vec<Connection>>,
    prefix: String,
    check: Script,
    settle: Script,
}

impl RedisStore {
    /// Opens the store and checks that Redis answers (an unreachable Redis at start is an error).
    /// `prefix` namespaces every key (`keyguard` for the real store).
    pub fn open(url: &str, prefix: &str) -> Result<RedisStore> {
        // redis's parse errors do not quote the URL, which can hold a password.
        let client = Client::open(url).context("invalid Redis store URL")?;
        let store = RedisStore {
            client,
            idle: Mutex::new(Vec::new()),
            prefix: prefix.to_string(),
            check: Script::new(CHECK),
            settle: Script::new(SETTLE),
        };
        store.with(|c| redis::cmd("PING").query::<String>(c))?;
        Ok(store)
    }

    fn connect(&self) -> Result<Connection> {
        // Only the error's own line: its source chain repeats it ("refused: refused").
        let conn = self
            .client
            .get_connection_with_timeout(TIMEOUT)
            .map_err(|e| anyhow::anyhow!("cannot reach the Redis store: {e}"))?;
        conn.set_read_timeout(Some(TIMEOUT))?;
        conn.set_write_timeout(Some(TIMEOUT))?;
        Ok(conn)
    }

    /// Runs `f` on a pooled connection; a failed connection is dropped, not reused.
    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> redis::RedisResult<T>) -> Result<T> {
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => self.connect()?,
        };
        let out = f(&mut conn).map_err(|e| anyhow::anyhow!("the Redis store failed: {e}"))?;
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
        Ok(out)
    }

    fn token_key(&self, hash: &TokenHash) -> String {
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        format!("{}:tok:{hex}", self.prefix)
    }

    fn usage_key(&self, user: &str) -> String {
        format!("{}:use:{user}", self.prefix)
    }
}

fn limit_arg(l: Option<u64>) -> i64 {
    l.map_or(-1, |l| l.min(i64::MAX as u64) as i64)
}

fn parse_record(fields: &HashMap<String, String>) -> Option<TokenRecord> {
    let opt = |k: &str| fields.get(k).and_then(|v| v.parse::<i64>().ok());
    Some(TokenRecord {
        id: fields.get("id")?.clone(),
        user: fields.get("user")?.clone(),
        created: opt("created")?,
        expires: opt("expires"),
        revoked: opt("revoked"),
    })
}

impl Store for RedisStore {
    fn insert_token(&self, hash: &TokenHash, r: &TokenRecord) -> Result<()> {
        let key = self.token_key(hash);
        let mut fields = vec![
            ("id", r.id.clone()),
            ("user", r.user.clone()),
            ("created", r.created.to_string()),
        ];
        if let Some(e) = r.expires {
            fields.push(("expires", e.to_string()));
        }
        if let Some(v) = r.revoked {
            fields.push(("revoked", v.to_string()));
        }
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset_multiple(&key, &fields)
            .ignore()
            .set(format!("{}:tokid:{}", self.prefix, r.id), &key)
            .ignore()
            .rpush(format!("{}:tokens", self.prefix), &key)
            .ignore();
        self.with(|c| pipe.query::<()>(c))
    }

    fn lookup(&self, hash: &TokenHash) -> Result<Option<TokenRecord>> {
        let key = self.token_key(hash);
        let fields: HashMap<String, String> =
            self.with(|c| redis::cmd("HGETALL").arg(&key).query(c))?;
        Ok(parse_record(&fields))
    }

    fn list_tokens(&self) -> Result<Vec<TokenRecord>> {
        let list = format!("{}:tokens", self.prefix);
        let keys: Vec<String> =
            self.with(|c| redis::cmd("LRANGE").arg(&list).arg(0).arg(-1).query(c))?;
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for k in &keys {
            pipe.cmd("HGETALL").arg(k);
        }
        let all: Vec<HashMap<String, String>> = self.with(|c| pipe.query(c))?;
        Ok(all.iter().filter_map(parse_record).collect())
    }

    fn revoke_id(&self, id: &str, now: i64) -> Result<bool> {
        let idkey = format!("{}:tokid:{id}", self.prefix);
        let key: Option<String> = self.with(|c| redis::cmd("GET").arg(&idkey).query(c))?;
        let Some(key) = key else {
            return Ok(false);
        };
        // HSETNX keeps the first revocation time.
        self.with(|c| {
            redis::cmd("HSETNX")
                .arg(&key)
                .arg("revoked")
                .arg(now)
                .query::<i64>(c)
        })?;
        Ok(true)
    }

    fn check_request(&self, user: &str, limits: &Limits, reserve: u64) -> Result<Decision> {
        self.check_at(user, limits, reserve, None)
    }

    fn settle(&self, user: &str, day: i64, reserved: u64, used: u64) -> Result<()> {
        let key = self.usage_key(user);
        let arg = |n: u64| n.min(i64::MAX as u64) as i64;
        self.with(|c| {
            self.settle
                .key(&key)
                .arg(day)
                .arg(arg(reserved))
                .arg(arg(used))
                .invoke::<i64>(c)
        })?;
        Ok(())
    }
}

impl RedisStore {
    /// `check_request`, on Redis's clock or (tests) at `now_ms`.
    pub(crate) fn check_at(
        &self,
        user: &str,
        limits: &Limits,
        reserve: u64,
        now_ms: Option<i64>,
    ) -> Result<Decision> {
        let key = self.usage_key(user);
        let r: Vec<i64> = self.with(|c| {
            let mut call = self.check.key(&key);
            call.arg(limit_arg(limits.requests_per_minute))
                .arg(limit_arg(limits.requests_per_day))
                .arg(limit_arg(limits.tokens_per_day))
                .arg(limit_arg(Some(reserve)));
            if let Some(t) = now_ms {
                call.arg(t);
            }
            call.invoke(c)
        })?;
        let [allowed, retry, m, m_reset, d, tk, now] = r[..] else {
            anyhow::bail!(
                "the Redis store answered the limit check with {} values",
                r.len()
            );
        };
        let counts = Counts {
            minute: m.max(0) as u64,
            minute_reset: m_reset.max(0) as u64,
            day_requests: d.max(0) as u64,
            day_tokens: tk.max(0) as u64,
        };
        let retry = if allowed == 1 { 0 } else { retry.max(1) as u64 };
        Ok(decide(limits, counts, retry, now))
    }
}

#[cfg(test)]
impl RedisStore {
    /// A store that has not checked its Redis: what a running proxy holds after Redis went away.
    pub(crate) fn unchecked(url: &str, prefix: &str) -> Result<RedisStore> {
        Ok(RedisStore {
            client: Client::open(url)?,
            idle: Mutex::new(Vec::new()),
            prefix: prefix.to_string(),
            check: Script::new(CHECK),
            settle: Script::new(SETTLE),
        })
    }
}
