//! The `memory` store: a mutex over maps. For tests and single-process trials; everything is lost
//! when the process ends.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use anyhow::Result;

use super::{
    Counts, Decision, Limits, MINUTE_MS, Store, TokenHash, TokenRecord, decide, minute_reset,
    now_ms, settled, would_deny,
};

#[derive(Default)]
struct Usage {
    /// Times (ms) of the requests of the last minute, oldest first.
    minute_log: VecDeque<i64>,
    day: i64,
    day_requests: u64,
    day_tokens: u64,
}

impl Usage {
    /// Starts a new day when the clock has moved past the stored one, and drops requests older
    /// than the sliding minute (all of them when there is no per-minute limit to keep).
    fn roll(&mut self, now_ms: i64, keep_minute: bool) {
        let day = now_ms.div_euclid(1000).div_euclid(86_400);
        if self.day != day {
            self.day = day;
            self.day_requests = 0;
            self.day_tokens = 0;
        }
        if !keep_minute {
            self.minute_log.clear();
        }
        while self
            .minute_log
            .front()
            .is_some_and(|&t| t <= now_ms - MINUTE_MS)
        {
            self.minute_log.pop_front();
        }
    }

    fn counts(&self, now_ms: i64) -> Counts {
        Counts {
            minute: self.minute_log.len() as u64,
            minute_reset: minute_reset(self.minute_log.front().copied(), now_ms),
            day_requests: self.day_requests,
            day_tokens: self.day_tokens,
        }
    }
}

#[derive(Default)]
struct Inner {
    tokens: Vec<(TokenHash, TokenRecord)>,
    usage: HashMap<String, Usage>,
}

#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves consistent maps (each change is one
        // assignment), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store for MemoryStore {
    fn insert_token(&self, hash: &TokenHash, record: &TokenRecord) -> Result<()> {
        self.lock().tokens.push((*hash, record.clone()));
        Ok(())
    }

    fn lookup(&self, hash: &TokenHash) -> Result<Option<TokenRecord>> {
        Ok(self
            .lock()
            .tokens
            .iter()
            .find(|(h, _)| h == hash)
            .map(|(_, r)| r.clone()))
    }

    fn list_tokens(&self) -> Result<Vec<TokenRecord>> {
        Ok(self.lock().tokens.iter().map(|(_, r)| r.clone()).collect())
    }

    fn revoke_id(&self, id: &str, now: i64) -> Result<bool> {
        let mut inner = self.lock();
        match inner.tokens.iter_mut().find(|(_, r)| r.id == id) {
            Some((_, r)) => {
                r.revoked.get_or_insert(now);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn check_request(&self, user: &str, limits: &Limits, reserve: u64) -> Result<Decision> {
        Ok(self.check_at(user, limits, reserve, now_ms()))
    }

    // The mutex is held for a few map operations, never across I/O: taking it inline is fine.
    fn try_lookup(&self, hash: &TokenHash) -> Option<Result<Option<TokenRecord>>> {
        Some(self.lookup(hash))
    }

    fn try_check_request(
        &self,
        user: &str,
        limits: &Limits,
        reserve: u64,
    ) -> Option<Result<Decision>> {
        Some(self.check_request(user, limits, reserve))
    }

    fn try_settle(&self, user: &str, day: i64, reserved: u64, used: u64) -> Option<Result<()>> {
        Some(self.settle(user, day, reserved, used))
    }

    fn settle(&self, user: &str, day: i64, reserved: u64, used: u64) -> Result<()> {
        self.settle_at(user, day, reserved, used, now_ms());
        Ok(())
    }
}

impl MemoryStore {
    /// `check_request` at the given time (tests move the clock).
    pub(crate) fn check_at(
        &self,
        user: &str,
        limits: &Limits,
        reserve: u64,
        now_ms: i64,
    ) -> Decision {
        let now = now_ms.div_euclid(1000);
        let mut inner = self.lock();
        let usage = inner.usage.entry(user.to_string()).or_default();
        let per_minute = limits.requests_per_minute.is_some();
        usage.roll(now_ms, per_minute);
        let retry = would_deny(limits, usage.counts(now_ms), reserve, now);
        if retry == 0 {
            if per_minute {
                usage.minute_log.push_back(now_ms);
            }
            usage.day_requests += 1;
            usage.day_tokens = usage.day_tokens.saturating_add(reserve);
        }
        decide(limits, usage.counts(now_ms), retry, now)
    }

    pub(crate) fn settle_at(&self, user: &str, day: i64, reserved: u64, used: u64, now_ms: i64) {
        let mut inner = self.lock();
        let usage = inner.usage.entry(user.to_string()).or_default();
        usage.roll(now_ms, true);
        usage.day_tokens = settled(usage.day_tokens, day, usage.day, reserved, used);
    }
}
