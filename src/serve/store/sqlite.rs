//! The `sqlite:PATH` store: one file, embedded SQLite (rusqlite's `bundled` build, so no system
//! library is needed), in WAL mode so readers never wait for the one writer. Counts survive a
//! restart, and several processes on one machine may share the file: every limit check is one
//! `BEGIN IMMEDIATE` transaction, which takes SQLite's write lock before reading the counts, so
//! two checks can never both read the same count (a plain `BEGIN` would let both read, then one
//! fail or both write). `busy_timeout` makes a waiting check queue instead of failing.
//!
//! The statements run on every request (token lookup, limit check, token count) go through
//! rusqlite's statement cache (`prepare_cached`): compiling their SQL each time was measurable in
//! `scripts/bench-serve.sh` (about 0.03 ms of CPU per non-streaming request, 0.08 ms streaming).
//!
//! The file is created 0600, its missing directories 0700: it lists who may use the proxy.
//! SQLite gives the `-wal` and `-shm` files the database file's permissions.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Counts, Decision, Limits, Store, TokenHash, TokenRecord, decide, now, would_deny};

pub struct SqliteStore {
    // rusqlite's Connection is Send but not Sync; one connection per store, used in turn.
    // Separate processes (or separate stores) have their own and are serialised by SQLite.
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tokens (
    id      TEXT PRIMARY KEY,
    user    TEXT NOT NULL,
    hash    BLOB NOT NULL UNIQUE,
    created INTEGER NOT NULL,
    expires INTEGER,
    revoked INTEGER
);
CREATE TABLE IF NOT EXISTS usage (
    user            TEXT PRIMARY KEY,
    minute          INTEGER NOT NULL,
    minute_requests INTEGER NOT NULL,
    day             INTEGER NOT NULL,
    day_requests    INTEGER NOT NULL,
    day_tokens      INTEGER NOT NULL
);
";

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let shown = crate::sanitize::path(path);
        prepare_file(path).with_context(|| format!("cannot create the store {shown}"))?;
        let conn =
            Connection::open(path).with_context(|| format!("cannot open the store {shown}"))?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // WAL: readers (token lookups) never block on the writer. NORMAL sync in WAL mode loses
        // no committed transaction when a process dies, only on power loss.
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .with_context(|| format!("cannot open the store {shown}"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            anyhow::bail!("the store {shown} cannot use WAL mode (journal mode is {mode})");
        }
        conn.execute_batch("PRAGMA synchronous=NORMAL;")?;
        conn.execute_batch(SCHEMA)
            .with_context(|| format!("the store {shown} is not a keyguard store"))?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // rusqlite rolls back an unfinished transaction when it is dropped, so a panic while the
        // lock was held leaves the connection usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Creates missing directories 0700 and the file 0600 (an existing file keeps its mode).
fn prepare_file(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            crate::keychain::create_private_dir(dir)?;
        }
        crate::repo::keep_local_state_out_of_git(dir);
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path).map(drop)
}

fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    Ok(TokenRecord {
        id: r.get(0)?,
        user: r.get(1)?,
        created: r.get(2)?,
        expires: r.get(3)?,
        revoked: r.get(4)?,
    })
}

/// The user's counts in the windows containing `now` (stale windows read as zero).
fn counts(tx: &Connection, user: &str, now: i64) -> rusqlite::Result<Counts> {
    let row: Option<(i64, i64, i64, i64, i64)> = tx
        .prepare_cached(
            "SELECT minute, minute_requests, day, day_requests, day_tokens FROM usage WHERE user = ?1",
        )?
        .query_row([user], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    let (minute, day) = (now.div_euclid(60), now.div_euclid(86_400));
    let mut c = Counts::default();
    if let Some((m, mr, d, dr, dt)) = row {
        if m == minute {
            c.minute = mr as u64;
        }
        if d == day {
            c.day_requests = dr as u64;
            c.day_tokens = dt as u64;
        }
    }
    Ok(c)
}

fn save(tx: &Connection, user: &str, c: Counts, now: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO usage (user, minute, minute_requests, day, day_requests, day_tokens)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(user) DO UPDATE SET minute = ?2, minute_requests = ?3, day = ?4,
             day_requests = ?5, day_tokens = ?6",
    )?
    .execute(params![
        user,
        now.div_euclid(60),
        c.minute as i64,
        now.div_euclid(86_400),
        c.day_requests as i64,
        c.day_tokens.min(i64::MAX as u64) as i64
    ])?;
    Ok(())
}

impl Store for SqliteStore {
    fn insert_token(&self, hash: &TokenHash, r: &TokenRecord) -> Result<()> {
        self.conn().execute(
            "INSERT INTO tokens (id, user, hash, created, expires, revoked) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![r.id, r.user, &hash[..], r.created, r.expires, r.revoked],
        )?;
        Ok(())
    }

    fn lookup(&self, hash: &TokenHash) -> Result<Option<TokenRecord>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT id, user, created, expires, revoked FROM tokens WHERE hash = ?1",
            )?
            .query_row([&hash[..]], record)
            .optional()?)
    }

    fn list_tokens(&self) -> Result<Vec<TokenRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, user, created, expires, revoked FROM tokens ORDER BY created, rowid",
        )?;
        let rows = stmt.query_map([], record)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn revoke_id(&self, id: &str, now: i64) -> Result<bool> {
        let n = self.conn().execute(
            "UPDATE tokens SET revoked = COALESCE(revoked, ?2) WHERE id = ?1",
            params![id, now],
        )?;
        Ok(n > 0)
    }

    fn check_request(&self, user: &str, limits: &Limits) -> Result<Decision> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // The clock is read inside the write lock, so checks are ordered as their times are.
        let now = now();
        let mut c = counts(&tx, user, now)?;
        let retry = would_deny(limits, c, now);
        if retry == 0 {
            c.minute += 1;
            c.day_requests += 1;
            save(&tx, user, c, now)?;
        }
        tx.commit()?;
        Ok(decide(limits, c, retry, now))
    }

    fn add_tokens(&self, user: &str, n: u64) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now();
        let mut c = counts(&tx, user, now)?;
        c.day_tokens = c.day_tokens.saturating_add(n);
        save(&tx, user, c, now)?;
        tx.commit()?;
        Ok(())
    }
}
