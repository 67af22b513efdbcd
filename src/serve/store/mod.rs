//! The state behind `keyguard serve`: client tokens and per-user usage counters, in one of three
//! backends chosen by URL (`memory`, `sqlite:PATH`, `redis://host:port/db`).
//!
//! Client tokens are `kgp_` + 30 random base62 characters + a 6-character CRC32 checksum (the
//! GitHub/npm token layout, so keyguard's own `keyguard-proxy-token` rule finds leaked ones with
//! high confidence and the proxy can reject a mistyped one without a store lookup). Only the
//! SHA-256 of a token is stored: 178 random bits need no salt or slow hash, and a stolen store
//! cannot be replayed against the proxy.
//!
//! Limits (`[serve.limits]`): `requests_per_minute` is a sliding window, the requests of the
//! last 60 seconds (a log of their times, in milliseconds, trimmed at each check), so no 60-second
//! span ever holds more than the limit; a fixed clock minute would let a client send twice the
//! limit across a minute boundary. `requests_per_day` and `tokens_per_day` are the UTC day. The
//! log costs one timestamp per request of the last minute, and only when the limit is set.
//!
//! `check_request` is one atomic check-and-increment per request (a mutex, an SQLite
//! `BEGIN IMMEDIATE` transaction, a Redis Lua script on Redis's clock), so concurrent requests can
//! never overshoot a limit, and a denied request counts nothing. Token usage is known only after
//! the response, so the check also *reserves* the request's worst case (its `max_tokens` ceiling
//! plus an estimate of its prompt) against `tokens_per_day`, in the same atomic step: concurrent
//! requests cannot together start past the limit. `settle` then replaces the reservation with the
//! real usage when the answer ends (a refund, usually). A request whose reservation does not fit
//! is refused; its `Retry-After` is the end of the day when the day's count alone has reached the
//! limit, else `RESERVATION_RETRY` (requests in flight may settle below their reservations).

//! Every backend error is an `Err`: the proxy answers 503 (fail closed), never "allowed".

mod memory;
mod redis;
mod sqlite;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Result, bail};
use sha2::{Digest, Sha256};

pub use memory::MemoryStore;
pub use redis::RedisStore;
pub use sqlite::SqliteStore;

/// The store `keyguard serve` and `keyguard token` use when `[serve] store` is not set.
pub const DEFAULT_URL: &str = "sqlite:.keyguard/serve.db";
/// Client tokens start with this.
pub const TOKEN_PREFIX: &str = "kgp_";
const RANDOM_LEN: usize = 30;

/// Per-user limits (`[serve.limits]`); `None` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub requests_per_minute: Option<u64>,
    pub requests_per_day: Option<u64>,
    pub tokens_per_day: Option<u64>,
}

/// A stored client token: everything but the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Short random id (12 hex digits), for `token list` and `token revoke`.
    pub id: String,
    /// The user the token acts for; limits are counted per user.
    pub user: String,
    /// Unix seconds.
    pub created: i64,
    pub expires: Option<i64>,
    pub revoked: Option<i64>,
}

impl TokenRecord {
    pub fn status(&self, now: i64) -> TokenStatus {
        if self.revoked.is_some() {
            TokenStatus::Revoked
        } else if self.expires.is_some_and(|e| e <= now) {
            TokenStatus::Expired
        } else {
            TokenStatus::Active
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    Active,
    Expired,
    Revoked,
}

/// SHA-256 of a client token: the only form in which a token is stored.
pub type TokenHash = [u8; 32];

pub fn hash_token(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

/// Length of the `requests_per_minute` sliding window.
pub(crate) const MINUTE_MS: i64 = 60_000;
/// `Retry-After` for a request whose token reservation does not fit although the day's count is
/// under the limit: the reservations of requests in flight usually shrink when they settle.
pub(crate) const RESERVATION_RETRY: u64 = 60;

/// One limit's state after a check, for the `x-ratelimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until this window starts afresh.
    pub reset_after: u64,
}

/// The answer to one request's limit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// When denied: seconds until every exhausted limit has reset (the `Retry-After` value).
    pub retry_after: u64,
    pub requests_per_minute: Option<Window>,
    pub requests_per_day: Option<Window>,
    pub tokens_per_day: Option<Window>,
    /// The UTC day (unix days) the request was counted in: `settle` needs it.
    pub day: i64,
}

/// Usage counts in the current windows, as a backend read them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counts {
    /// Requests in the last 60 seconds (0 when `requests_per_minute` is not set).
    pub minute: u64,
    /// Seconds until the oldest of those leaves the window (0 when there is none).
    pub minute_reset: u64,
    pub day_requests: u64,
    /// Today's tokens: settled usage plus the reservations of requests in flight.
    pub day_tokens: u64,
}

/// Seconds until a request logged at `oldest_ms` leaves the sliding minute, rounded up.
pub(crate) fn minute_reset(oldest_ms: Option<i64>, now_ms: i64) -> u64 {
    oldest_ms.map_or(0, |o| {
        ((o + MINUTE_MS - now_ms).max(1) as u64).div_ceil(1000)
    })
}

/// Seconds to the end of the current UTC day at unix time `now`.
pub(crate) fn to_day_end(now: i64) -> u64 {
    (86_400 - now.rem_euclid(86_400)) as u64
}

/// The limit rule every backend applies: denied when a limit is reached before counting this
/// request, or when its token reservation `reserve` does not fit; `retry_after` is the longest
/// wait among the exhausted limits. Redis runs the same rule in Lua (`redis.rs`); `decide` then
/// only shapes its answer.
pub(crate) fn would_deny(limits: &Limits, c: Counts, reserve: u64, now: i64) -> u64 {
    let to_day = to_day_end(now);
    let mut retry = 0;
    if limits.requests_per_minute.is_some_and(|l| c.minute >= l) {
        retry = retry.max(c.minute_reset.max(1));
    }
    if limits.requests_per_day.is_some_and(|l| c.day_requests >= l) {
        retry = retry.max(to_day);
    }
    if let Some(l) = limits.tokens_per_day {
        if c.day_tokens >= l {
            retry = retry.max(to_day);
        } else if c.day_tokens.saturating_add(reserve) > l {
            retry = retry.max(RESERVATION_RETRY.min(to_day));
        }
    }
    retry
}

/// Today's token count after a request reserved on `day` settles at `used`: on the same day the
/// reservation is replaced by the usage; once the day has changed, the reservation stayed with
/// the day it was made in and only usage beyond it is counted today.
pub(crate) fn settled(tokens: u64, day: i64, today: i64, reserved: u64, used: u64) -> u64 {
    if day == today {
        tokens.saturating_add(used).saturating_sub(reserved)
    } else {
        tokens.saturating_add(used.saturating_sub(reserved))
    }
}

/// Builds the decision from counts *after* the check (incremented when allowed).
pub(crate) fn decide(limits: &Limits, after: Counts, retry_after: u64, now: i64) -> Decision {
    let to_day = to_day_end(now);
    let window = |limit: Option<u64>, used: u64, reset_after: u64| {
        limit.map(|limit| Window {
            limit,
            remaining: limit.saturating_sub(used),
            reset_after,
        })
    };
    Decision {
        allowed: retry_after == 0,
        retry_after,
        requests_per_minute: window(
            limits.requests_per_minute,
            after.minute,
            after.minute_reset.max(1),
        ),
        requests_per_day: window(limits.requests_per_day, after.day_requests, to_day),
        tokens_per_day: window(limits.tokens_per_day, after.day_tokens, to_day),
        day: now.div_euclid(86_400),
    }
}

/// What every backend provides. Implementations are shared by many threads.
pub trait Store: Send + Sync {
    /// Stores a new token record under the token's hash.
    fn insert_token(&self, hash: &TokenHash, record: &TokenRecord) -> Result<()>;
    /// The record for a token hash, if any (revoked and expired ones too).
    fn lookup(&self, hash: &TokenHash) -> Result<Option<TokenRecord>>;
    /// Every record, oldest first.
    fn list_tokens(&self) -> Result<Vec<TokenRecord>>;
    /// Marks the token with this id revoked at `now`; false when there is no such id. Revoking a
    /// revoked token keeps its first revocation time.
    fn revoke_id(&self, id: &str, now: i64) -> Result<bool>;
    /// Checks `user`'s limits and, when allowed, counts the request and reserves `reserve`
    /// tokens against today's count: one atomic step.
    fn check_request(&self, user: &str, limits: &Limits, reserve: u64) -> Result<Decision>;
    /// Replaces a reservation of `reserved` tokens made on `day` (`Decision::day`) by the `used`
    /// tokens (see [`settled`]).
    fn settle(&self, user: &str, day: i64, reserved: u64, used: u64) -> Result<()>;
    /// Adds `n` provider tokens to `user`'s count for today.
    fn add_tokens(&self, user: &str, n: u64) -> Result<()> {
        self.settle(user, now().div_euclid(86_400), 0, n)
    }

    // The `try_` forms do what their namesakes do, but only when that needs no waiting: `None`
    // means "not now" (a lock is held by another thread or process, or the backend is remote),
    // and nothing was changed; the caller then runs the blocking method off the async workers.
    // The proxy calls these first, on its async worker: a hand-off to tokio's blocking pool
    // costs more than an SQLite transaction (about 0.04 ms each, three per request, measured by
    // scripts/bench-serve.sh), but a worker must never wait on SQLite's 10 s busy timeout.

    /// [`Store::lookup`] without waiting.
    fn try_lookup(&self, _hash: &TokenHash) -> Option<Result<Option<TokenRecord>>> {
        None
    }
    /// [`Store::check_request`] without waiting.
    fn try_check_request(
        &self,
        _user: &str,
        _limits: &Limits,
        _reserve: u64,
    ) -> Option<Result<Decision>> {
        None
    }
    /// [`Store::settle`] without waiting.
    fn try_settle(&self, _user: &str, _day: i64, _reserved: u64, _used: u64) -> Option<Result<()>> {
        None
    }

    /// Called once by the server before it serves: a backend with upkeep that must stay off the
    /// request path (SQLite's WAL checkpoint) moves it out and returns how often the server
    /// should call [`Store::upkeep`] (on its blocking pool).
    fn take_over_upkeep(&self) -> Result<Option<std::time::Duration>> {
        Ok(None)
    }
    /// The upkeep [`Store::take_over_upkeep`] moved out; may wait.
    fn upkeep(&self) -> Result<()> {
        Ok(())
    }
}

/// Opens the store a URL names. A relative `sqlite:` path is taken relative to `base` (the
/// directory of the keyguard.toml that named it, or the current directory).
pub fn open(url: &str, base: &Path) -> Result<Box<dyn Store>> {
    if url == "memory" {
        return Ok(Box::new(MemoryStore::new()));
    }
    if let Some(path) = url.strip_prefix("sqlite:") {
        if path.is_empty() {
            bail!("store `sqlite:` needs a path, e.g. `{DEFAULT_URL}`");
        }
        let path = PathBuf::from(path);
        let path = if path.is_relative() {
            base.join(path)
        } else {
            path
        };
        return Ok(Box::new(SqliteStore::open(&path)?));
    }
    if url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("redis+unix:")
    {
        return Ok(Box::new(RedisStore::open(url, "keyguard")?));
    }
    // The URL is not echoed in full: a redis URL can carry a password.
    let scheme = url.split(':').next().unwrap_or("");
    bail!(
        "unknown store `{}`: use `memory`, `sqlite:PATH` or `redis://HOST:PORT/DB`",
        crate::sanitize::escape(&scheme.chars().take(20).collect::<String>())
    )
}

pub fn now() -> i64 {
    now_ms().div_euclid(1000)
}

/// Unix time in milliseconds (the sliding minute's resolution).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A new client token: `kgp_` + 30 random base62 characters + their CRC32 in base62.
pub fn new_token() -> Result<String> {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut random = Vec::with_capacity(RANDOM_LEN);
    while random.len() < RANDOM_LEN {
        let mut buf = [0u8; 64];
        getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
        // Rejection sampling keeps every character equally likely (248 = 4 * 62).
        random.extend(
            buf.iter()
                .filter(|&&b| b < 248)
                .map(|&b| ALPHABET[(b % 62) as usize]),
        );
    }
    random.truncate(RANDOM_LEN);
    let check = crate::engine::checksum::crc32_base62(&random);
    let mut token = String::from(TOKEN_PREFIX);
    token.push_str(std::str::from_utf8(&random).expect("ASCII"));
    token.push_str(std::str::from_utf8(&check).expect("ASCII"));
    Ok(token)
}

/// Whether `token` has the client-token shape and a valid checksum (no store lookup).
pub fn well_formed(token: &str) -> bool {
    token.len() == TOKEN_PREFIX.len() + RANDOM_LEN + 6
        && token.starts_with(TOKEN_PREFIX)
        && token[TOKEN_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric())
        && crate::engine::checksum::verify_crc32_base62(token.as_bytes()) == Some(true)
}

fn new_id() -> Result<String> {
    let mut buf = [0u8; 6];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether `s` has the shape of a token id (what [`new_id`] makes: 12 hex digits, either case).
pub fn looks_like_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Creates a token for `user`, stores its hash, and returns the token (to show once) and record.
pub fn issue(
    store: &dyn Store,
    user: &str,
    expires: Option<i64>,
    now: i64,
) -> Result<(String, TokenRecord)> {
    check_user(user)?;
    let token = new_token()?;
    let record = TokenRecord {
        id: new_id()?,
        user: user.to_string(),
        created: now,
        expires,
        revoked: None,
    };
    store.insert_token(&hash_token(&token), &record)?;
    Ok((token, record))
}

/// User names go into store keys and logs: keep them plain.
pub fn check_user(user: &str) -> Result<()> {
    let ok = !user.is_empty()
        && user.len() <= 64
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b));
    if !ok {
        bail!(
            "invalid user name `{}`: use 1 to 64 letters, digits, `-`, `_`, `.` or `@`",
            crate::sanitize::escape(&user.chars().take(64).collect::<String>())
        );
    }
    Ok(())
}

/// What a presented client token is worth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    Valid(TokenRecord),
    /// Malformed or not in the store.
    Unknown,
    Revoked,
    Expired,
}

/// Looks a presented token up; malformed tokens never reach the store.
pub fn authenticate(store: &dyn Store, token: &str, now: i64) -> Result<Auth> {
    if !well_formed(token) {
        return Ok(Auth::Unknown);
    }
    Ok(judge(store.lookup(&hash_token(token))?, now))
}

/// [`authenticate`] without waiting: `None` when the store cannot look the token up now (see
/// [`Store::try_lookup`]).
pub fn try_authenticate(store: &dyn Store, token: &str, now: i64) -> Option<Result<Auth>> {
    if !well_formed(token) {
        return Some(Ok(Auth::Unknown));
    }
    Some(
        store
            .try_lookup(&hash_token(token))?
            .map(|found| judge(found, now)),
    )
}

fn judge(found: Option<TokenRecord>, now: i64) -> Auth {
    match found {
        None => Auth::Unknown,
        // `issue` only stores plain names; any other came from a tampered store (a shared Redis,
        // a copied file). Such a name would reach the log line raw (a newline forges a line) and
        // build Redis keys (`:` reaches into another user's counters), so its token is refused.
        Some(r) if check_user(&r.user).is_err() => Auth::Unknown,
        Some(r) => match r.status(now) {
            TokenStatus::Active => Auth::Valid(r),
            TokenStatus::Expired => Auth::Expired,
            TokenStatus::Revoked => Auth::Revoked,
        },
    }
}

/// What `keyguard token revoke` names: one token by id, or every token of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoke<'a> {
    Id(&'a str),
    User(&'a str),
}

/// Revokes the token with this id, or every unrevoked token of this user. Returns the records
/// revoked now (empty when nothing matched or all were already revoked).
pub fn revoke(store: &dyn Store, target: Revoke<'_>, now: i64) -> Result<Vec<TokenRecord>> {
    let all = store.list_tokens()?;
    let chosen: Vec<TokenRecord> = all
        .into_iter()
        .filter(|r| match target {
            Revoke::Id(id) => r.id == id,
            Revoke::User(user) => r.user == user,
        })
        .collect();
    let mut done = Vec::new();
    for r in chosen.into_iter().filter(|r| r.revoked.is_none()) {
        if store.revoke_id(&r.id, now)? {
            done.push(TokenRecord {
                revoked: Some(now),
                ..r
            });
        }
    }
    Ok(done)
}
