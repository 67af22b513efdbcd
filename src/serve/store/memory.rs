//! The `memory` store: a mutex over maps. For tests and single-process trials; everything is lost
//! when the process ends.

use std::collections::HashMap;
use std::sync::Mutex;

use anyhow::Result;

use super::{Counts, Decision, Limits, Store, TokenHash, TokenRecord, decide, now, would_deny};

#[derive(Default)]
struct Usage {
    minute: i64,
    minute_requests: u64,
    day: i64,
    day_requests: u64,
    day_tokens: u64,
}

impl Usage {
    /// Starts new windows when the clock has moved past the stored ones.
    fn roll(&mut self, now: i64) {
        let (minute, day) = (now.div_euclid(60), now.div_euclid(86_400));
        if self.minute != minute {
            self.minute = minute;
            self.minute_requests = 0;
        }
        if self.day != day {
            self.day = day;
            self.day_requests = 0;
            self.day_tokens = 0;
        }
    }

    fn counts(&self) -> Counts {
        Counts {
            minute: self.minute_requests,
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

    fn check_request(&self, user: &str, limits: &Limits) -> Result<Decision> {
        let now = now();
        let mut inner = self.lock();
        let usage = inner.usage.entry(user.to_string()).or_default();
        usage.roll(now);
        let retry = would_deny(limits, usage.counts(), now);
        if retry == 0 {
            usage.minute_requests += 1;
            usage.day_requests += 1;
        }
        Ok(decide(limits, usage.counts(), retry, now))
    }

    fn add_tokens(&self, user: &str, n: u64) -> Result<()> {
        let now = now();
        let mut inner = self.lock();
        let usage = inner.usage.entry(user.to_string()).or_default();
        usage.roll(now);
        usage.day_tokens = usage.day_tokens.saturating_add(n);
        Ok(())
    }
}
