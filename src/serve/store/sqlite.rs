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
//! The sliding minute of `requests_per_minute` is the table `minute_log` (one row per request of
//! the last minute, only when that limit is set), trimmed in the same transaction; its size per
//! user is kept in `usage` (see `LOG_COUNTED`), so a check costs the same at 10 or 10 000 rows.
//!
//! The proxy calls the store on its async workers first (`try_lookup`, `try_check_request`,
//! `try_settle`): the connection's mutex is only tried, and SQLite's busy timeout is zero for the
//! attempt, so SQLITE_BUSY (another process holds the write lock) answers "not now" at once; the
//! proxy then repeats the call on tokio's blocking pool with the normal 10 s timeout. A busy
//! error comes before COMMIT succeeds, and rusqlite rolls an unfinished transaction back, so an
//! attempt that gives up has changed nothing. SQLite's WAL auto-checkpoint would run inside a
//! committing request's transaction, on a worker, with fsyncs; `take_over_upkeep` turns it off
//! for the proxy's connection and `upkeep` checkpoints (PASSIVE: it never waits for a lock and
//! never blocks readers or the writer) from a second connection, on the blocking pool.
//!
//! The file is created 0600, its missing directories 0700: it lists who may use the proxy.
//! SQLite gives the `-wal` and `-shm` files the database file's permissions.
//!
//! A store file keyguard did not make is refused, because `.keyguard/serve.db` (or a `store`
//! path in keyguard.toml) can arrive with a cloned repository: a committed file could hold
//! tokens its author knows, a symbolic link could point keyguard at another file, and a path
//! could name another program's SQLite database, which opening would convert to WAL and add
//! tables to. So the path must not be a symbolic link; an existing file (and its `-wal`/`-shm`)
//! must be private to its owner (git checks files out group/world-readable, keyguard creates
//! 0600); and the database may hold keyguard's tables only.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, TryLockError};
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{
    Counts, Decision, Limits, MINUTE_MS, Store, TokenHash, TokenRecord, decide, minute_reset,
    now_ms, settled, would_deny,
};

pub struct SqliteStore {
    // rusqlite's Connection is Send but not Sync; one connection per store, used in turn.
    // Separate processes (or separate stores) have their own and are serialised by SQLite.
    conn: Mutex<Connection>,
    /// A second connection for token lookups: in WAL mode a read never waits for the writer,
    /// so a lookup must not queue behind a limit check waiting for another process's lock on
    /// `conn` (the proxy would stop answering even the requests it refuses).
    reader: Mutex<Connection>,
    path: PathBuf,
    /// The second connection `upkeep` checkpoints from, once `take_over_upkeep` made it.
    checkpointer: Mutex<Option<Connection>>,
}

/// How long a blocking call waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the server checkpoints the WAL once it has taken that over. SQLite's automatic
/// checkpoint runs at 1000 pages of WAL; at 1000 requests a second the WAL grows by a few
/// thousand pages a second, so four checkpoints a second keep it near that size.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

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
-- One row per request of the last minute. WITHOUT ROWID: the rows live in the key's B-tree, so
-- a request writes one tree, not a table and an index (37 µs a check instead of 65, measured at
-- 12 000 rows). `n` is the user's request number of the day, which makes two requests in the
-- same millisecond distinct.
CREATE TABLE IF NOT EXISTS minute_log (
    user TEXT NOT NULL,
    at   INTEGER NOT NULL,
    n    INTEGER NOT NULL,
    PRIMARY KEY (user, at, n)
) WITHOUT ROWID;
";

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let shown = crate::sanitize::path(path);
        check_not_foreign(path)?;
        prepare_file(path).with_context(|| format!("cannot create the store {shown}"))?;
        let conn =
            Connection::open(path).with_context(|| format!("cannot open the store {shown}"))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Before anything writes to it (the WAL switch persists in the file).
        let mut foreign = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .and_then(|mut s| {
                s.query_map([], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()
            })
            .with_context(|| format!("cannot open the store {shown}"))?;
        foreign.retain(|t| !KEYGUARD_TABLES.contains(&t.as_str()));
        if !foreign.is_empty() {
            anyhow::bail!(
                "the store {shown} is an SQLite database of another program (it has tables keyguard does not make); keyguard will not write to it: name a new file for the store"
            );
        }
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
        let reader =
            Connection::open(path).with_context(|| format!("cannot open the store {shown}"))?;
        reader.busy_timeout(BUSY_TIMEOUT)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            reader: Mutex::new(reader),
            path: path.to_path_buf(),
            checkpointer: Mutex::new(None),
        })
    }

    /// Runs `f` on connection `conn` only if that needs no waiting (see the module doc): `None`
    /// when the mutex or an SQLite lock is held elsewhere, and then nothing was changed.
    fn attempt<T>(
        conn: &Mutex<Connection>,
        f: impl FnOnce(&mut Connection) -> Result<T>,
    ) -> Option<Result<T>> {
        let mut conn = match conn.try_lock() {
            Ok(c) => c,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        if let Err(e) = conn.busy_timeout(Duration::ZERO) {
            return Some(Err(e.into()));
        }
        let result = f(&mut conn);
        if let Err(e) = conn.busy_timeout(BUSY_TIMEOUT) {
            return Some(Err(e.into()));
        }
        match result {
            Err(e) if is_busy(&e) => None,
            r => Some(r),
        }
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        lock_waiting(&self.conn)
    }
}

/// Locks a connection for a call that may wait (the blocking pool). rusqlite rolls back an
/// unfinished transaction when it is dropped, so a panic while the lock was held leaves the
/// connection usable; but a panic inside `attempt` leaves its zero busy timeout set, which would
/// turn every later wait into SQLITE_BUSY (503), so a poisoned lock gets the timeout back.
fn lock_waiting(conn: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    match conn.lock() {
        Ok(c) => c,
        Err(p) => {
            let c = p.into_inner();
            let _ = c.busy_timeout(BUSY_TIMEOUT);
            c
        }
    }
}

fn is_busy(e: &anyhow::Error) -> bool {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    e.downcast_ref::<rusqlite::Error>()
        .and_then(|e| e.sqlite_error_code())
        .is_some_and(|c| c == DatabaseBusy || c == DatabaseLocked)
}

/// The tables `SCHEMA` makes; a file with any other table is not a keyguard store.
const KEYGUARD_TABLES: &[&str] = &["tokens", "usage", "minute_log"];

/// Refuses a store path that is a symbolic link, or an existing store (or its `-wal`/`-shm`
/// file) that other users may read or write (see the module doc for why).
fn check_not_foreign(path: &Path) -> Result<()> {
    let shown = crate::sanitize::path(path);
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if meta.file_type().is_symlink() {
        anyhow::bail!(
            "the store {shown} is a symbolic link; keyguard opens only a store file it created (a link, for instance one that came with a cloned repository, could point at any file): remove it or name the real file"
        );
    }
    if !meta.is_file() {
        anyhow::bail!("the store {shown} is not a regular file");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            let p = std::path::PathBuf::from(p);
            let Ok(m) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            let mode = m.permissions().mode() & 0o777;
            if m.file_type().is_symlink() || mode & 0o077 != 0 {
                anyhow::bail!(
                    "the store file {} has mode {mode:04o}, open to other users; keyguard creates its store 0600, and a store that arrived some other way (say, committed to a cloned repository) may hold tokens someone else knows. If you made it, `chmod 600` it; otherwise remove it",
                    crate::sanitize::path(&p)
                );
            }
        }
    }
    Ok(())
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

fn lookup_on(conn: &Connection, hash: &TokenHash) -> Result<Option<TokenRecord>> {
    // Cached: this runs on every request.
    Ok(conn
        .prepare_cached("SELECT id, user, created, expires, revoked FROM tokens WHERE hash = ?1")?
        .query_row([&hash[..]], record)
        .optional()?)
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

/// `usage.minute` holds this when `usage.minute_requests` is the number of the user's rows in
/// `minute_log`, kept in step in the same transactions, so that a check reads one number instead
/// of counting the window (a `COUNT(*)` over 10 000 rows cost 0.4 ms a check). Any other value
/// (a row from an older keyguard, or one never checked per minute) makes the next check count
/// the rows once.
const LOG_COUNTED: i64 = -1;

/// The user's day counts for the day containing `now` (a stale day reads as zero), and the
/// stored size of their minute log when it is kept (`LOG_COUNTED`).
fn counts(tx: &Connection, user: &str, now: i64) -> rusqlite::Result<(Counts, Option<u64>)> {
    let row: Option<(i64, i64, i64, i64, i64)> = tx
        .prepare_cached(
            "SELECT day, day_requests, day_tokens, minute, minute_requests FROM usage WHERE user = ?1",
        )?
        .query_row([user], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    let mut c = Counts::default();
    let mut logged = None;
    if let Some((d, dr, dt, m, mr)) = row {
        if d == now.div_euclid(86_400) {
            c.day_requests = dr as u64;
            c.day_tokens = dt as u64;
        }
        if m == LOG_COUNTED {
            logged = Some(mr.max(0) as u64);
        }
    }
    Ok((c, logged))
}

/// Trims the user's sliding minute at `now_ms` and reads it into `c`. True when the stored log
/// size must be written back (rows were trimmed, or it was not stored yet).
fn minute(
    tx: &Connection,
    user: &str,
    now_ms: i64,
    logged: Option<u64>,
    c: &mut Counts,
) -> rusqlite::Result<bool> {
    // Cached statements: these run on every request of a user with a per-minute limit.
    let trimmed = tx
        .prepare_cached("DELETE FROM minute_log WHERE user = ?1 AND at <= ?2")?
        .execute(params![user, now_ms - MINUTE_MS])? as u64;
    let n = match logged {
        Some(n) => n.saturating_sub(trimmed),
        None => tx
            .prepare_cached("SELECT COUNT(*) FROM minute_log WHERE user = ?1")?
            .query_row([user], |r| r.get::<_, i64>(0))? as u64,
    };
    let oldest: Option<i64> = tx
        .prepare_cached("SELECT at FROM minute_log WHERE user = ?1 ORDER BY at LIMIT 1")?
        .query_row([user], |r| r.get(0))
        .optional()?;
    c.minute = n;
    c.minute_reset = minute_reset(oldest, now_ms);
    Ok(trimmed > 0 || logged.is_none())
}

/// Writes the day counts, and the minute log's size when `log` is given (else the stored
/// minute columns are left as they are).
fn save(
    tx: &Connection,
    user: &str,
    c: Counts,
    now: i64,
    log: Option<u64>,
) -> rusqlite::Result<()> {
    let day = now.div_euclid(86_400);
    let tokens = c.day_tokens.min(i64::MAX as u64) as i64;
    match log {
        Some(n) => tx
            .prepare_cached(
                "INSERT INTO usage (user, minute, minute_requests, day, day_requests, day_tokens)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(user) DO UPDATE SET minute = ?2, minute_requests = ?3, day = ?4,
                     day_requests = ?5, day_tokens = ?6",
            )?
            .execute(params![
                user,
                LOG_COUNTED,
                n as i64,
                day,
                c.day_requests as i64,
                tokens
            ])?,
        None => tx
            .prepare_cached(
                "INSERT INTO usage (user, minute, minute_requests, day, day_requests, day_tokens)
                 VALUES (?1, 0, 0, ?2, ?3, ?4)
                 ON CONFLICT(user) DO UPDATE SET day = ?2, day_requests = ?3, day_tokens = ?4",
            )?
            .execute(params![user, day, c.day_requests as i64, tokens])?,
    };
    Ok(())
}

impl SqliteStore {
    /// `check_request` with the clock given (tests move it); it is read inside the write lock,
    /// so checks are ordered as their times are.
    pub(crate) fn check_at(
        &self,
        user: &str,
        limits: &Limits,
        reserve: u64,
        clock: impl Fn() -> i64,
    ) -> Result<Decision> {
        check_on(&mut self.conn(), user, limits, reserve, clock)
    }

    pub(crate) fn settle_at(
        &self,
        user: &str,
        day: i64,
        reserved: u64,
        used: u64,
        clock: impl Fn() -> i64,
    ) -> Result<()> {
        settle_on(&mut self.conn(), user, day, reserved, used, clock)
    }
}

fn check_on(
    conn: &mut Connection,
    user: &str,
    limits: &Limits,
    reserve: u64,
    clock: impl Fn() -> i64,
) -> Result<Decision> {
    {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now_ms = clock();
        let now = now_ms.div_euclid(1000);
        let (mut c, logged) = counts(&tx, user, now)?;
        let per_minute = limits.requests_per_minute.is_some();
        let mut log_changed = per_minute && minute(&tx, user, now_ms, logged, &mut c)?;
        let retry = would_deny(limits, c, reserve, now);
        if retry == 0 {
            if per_minute {
                tx.prepare_cached("INSERT INTO minute_log (user, at, n) VALUES (?1, ?2, ?3)")?
                    .execute(params![user, now_ms, (c.day_requests + 1) as i64])?;
                c.minute += 1;
                if c.minute_reset == 0 {
                    c.minute_reset = minute_reset(Some(now_ms), now_ms);
                }
                log_changed = true;
            }
            c.day_requests += 1;
            c.day_tokens = c.day_tokens.saturating_add(reserve);
        }
        if retry == 0 || log_changed {
            save(&tx, user, c, now, log_changed.then_some(c.minute))?;
        }
        tx.commit()?;
        Ok(decide(limits, c, retry, now))
    }
}

fn settle_on(
    conn: &mut Connection,
    user: &str,
    day: i64,
    reserved: u64,
    used: u64,
    clock: impl Fn() -> i64,
) -> Result<()> {
    {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = clock().div_euclid(1000);
        let (mut c, _) = counts(&tx, user, now)?;
        let before = c.day_tokens;
        c.day_tokens = settled(c.day_tokens, day, now.div_euclid(86_400), reserved, used);
        if c.day_tokens != before {
            save(&tx, user, c, now, None)?;
        }
        tx.commit()?;
        Ok(())
    }
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
        lookup_on(&lock_waiting(&self.reader), hash)
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

    fn check_request(&self, user: &str, limits: &Limits, reserve: u64) -> Result<Decision> {
        self.check_at(user, limits, reserve, now_ms)
    }

    fn settle(&self, user: &str, day: i64, reserved: u64, used: u64) -> Result<()> {
        self.settle_at(user, day, reserved, used, now_ms)
    }

    fn try_lookup(&self, hash: &TokenHash) -> Option<Result<Option<TokenRecord>>> {
        Self::attempt(&self.reader, |c| lookup_on(c, hash))
    }

    fn try_check_request(
        &self,
        user: &str,
        limits: &Limits,
        reserve: u64,
    ) -> Option<Result<Decision>> {
        Self::attempt(&self.conn, |c| check_on(c, user, limits, reserve, now_ms))
    }

    fn try_settle(&self, user: &str, day: i64, reserved: u64, used: u64) -> Option<Result<()>> {
        Self::attempt(&self.conn, |c| {
            settle_on(c, user, day, reserved, used, now_ms)
        })
    }

    fn take_over_upkeep(&self) -> Result<Option<Duration>> {
        let shown = crate::sanitize::path(&self.path);
        let cp = Connection::open(&self.path)
            .with_context(|| format!("cannot open the store {shown}"))?;
        cp.busy_timeout(BUSY_TIMEOUT)?;
        *self.checkpointer.lock().unwrap_or_else(|p| p.into_inner()) = Some(cp);
        // Only after the checkpointer exists: the WAL must not grow unchecked.
        self.conn()
            .execute_batch("PRAGMA wal_autocheckpoint=0;")
            .with_context(|| format!("cannot configure the store {shown}"))?;
        Ok(Some(CHECKPOINT_EVERY))
    }

    fn upkeep(&self) -> Result<()> {
        let guard = self.checkpointer.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(cp) = guard.as_ref() {
            // PASSIVE copies what no reader still needs, waiting for nothing; its row (busy,
            // frames in the WAL, frames copied) is not needed.
            cp.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn busy_ms(conn: &Mutex<Connection>) -> i64 {
        lock_waiting(conn)
            .query_row("PRAGMA busy_timeout", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_panic_inside_an_attempt_does_not_leave_the_zero_busy_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("serve.db")).unwrap();
        assert_eq!(busy_ms(&store.conn), BUSY_TIMEOUT.as_millis() as i64);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            SqliteStore::attempt(&store.conn, |_| -> Result<()> {
                panic!("inside the attempt")
            })
        }));
        assert!(panicked.is_err());
        // The next call that may wait waits again, instead of failing at once with SQLITE_BUSY.
        assert_eq!(busy_ms(&store.conn), BUSY_TIMEOUT.as_millis() as i64);
    }
}
