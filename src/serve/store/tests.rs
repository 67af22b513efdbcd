//! The store contract, run with the same bodies against every backend: memory, SQLite (a file in
//! a temporary directory) and Redis (the server named by KEYGUARD_TEST_REDIS_URL, which
//! scripts/test starts; without it the Redis cases skip with a notice, or fail under
//! KEYGUARD_REQUIRE_ALL=1).

use std::sync::{Arc, Barrier};

use super::*;

/// Makes store instances over one shared state: the same file, the same Redis key prefix.
type Factory = Box<dyn Fn() -> Arc<dyn Store>>;

fn memory() -> Factory {
    let one: Arc<dyn Store> = Arc::new(MemoryStore::new());
    Box::new(move || one.clone())
}

fn sqlite() -> (tempfile::TempDir, Factory) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/serve.db");
    (
        dir,
        Box::new(move || Arc::new(SqliteStore::open(&path).unwrap()) as Arc<dyn Store>),
    )
}

fn redis_url() -> Option<String> {
    match std::env::var("KEYGUARD_TEST_REDIS_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var("KEYGUARD_REQUIRE_ALL").as_deref() == Ok("1") {
                panic!("KEYGUARD_TEST_REDIS_URL is not set and KEYGUARD_REQUIRE_ALL=1");
            }
            eprintln!("notice: KEYGUARD_TEST_REDIS_URL is not set; skipping a Redis store test");
            None
        }
    }
}

/// Instances on the test Redis under a prefix of their own, so tests never see each other's keys.
fn redis() -> Option<Factory> {
    let url = redis_url()?;
    let prefix = format!("kgtest:{}", new_id().unwrap());
    Some(Box::new(move || {
        Arc::new(RedisStore::open(&url, &prefix).unwrap()) as Arc<dyn Store>
    }))
}

macro_rules! contract {
    ($name:ident) => {
        mod $name {
            #[test]
            fn memory() {
                super::$name(&super::memory());
            }
            #[test]
            fn sqlite() {
                let (_dir, f) = super::sqlite();
                super::$name(&f);
            }
            #[test]
            fn redis() {
                if let Some(f) = super::redis() {
                    super::$name(&f);
                }
            }
        }
    };
}

contract!(tokens_issue_lookup_revoke_expire);
contract!(requests_per_day_exact_under_concurrency);
contract!(per_minute_and_tokens_per_day);
contract!(tokens_per_day_reservations_exact_under_concurrency);
contract!(requests_per_minute_exact_under_concurrency);
contract!(settle_refunds_and_survives_a_day_change);

fn tokens_issue_lookup_revoke_expire(f: &Factory) {
    let store = f();
    let now = now();
    let (alice, alice_rec) = issue(&*store, "alice", None, now).unwrap();
    let (bob, bob_rec) = issue(&*store, "bob", Some(now + 3600), now).unwrap();
    assert!(well_formed(&alice) && well_formed(&bob));
    assert_ne!(alice, bob);
    assert_ne!(alice_rec.id, bob_rec.id);

    // A second instance (another process, another proxy) sees the same tokens.
    let other = f();
    assert_eq!(
        authenticate(&*other, &alice, now).unwrap(),
        Auth::Valid(alice_rec.clone())
    );
    assert_eq!(
        authenticate(&*store, &bob, now).unwrap(),
        Auth::Valid(bob_rec.clone())
    );
    assert_eq!(
        authenticate(&*store, &bob, now + 3600).unwrap(),
        Auth::Expired
    );
    // Unknown, malformed and mistyped tokens are all just unknown.
    let stranger = new_token().unwrap();
    assert_eq!(
        authenticate(&*store, &stranger, now).unwrap(),
        Auth::Unknown
    );
    assert_eq!(
        authenticate(&*store, "kgp_short", now).unwrap(),
        Auth::Unknown
    );
    let mut typo = alice.clone().into_bytes();
    typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
    assert_eq!(
        authenticate(&*store, std::str::from_utf8(&typo).unwrap(), now).unwrap(),
        Auth::Unknown
    );

    let listed = store.list_tokens().unwrap();
    assert_eq!(listed, vec![alice_rec.clone(), bob_rec.clone()]);

    // Revoke by id, then by user name; a second revocation changes nothing.
    let done = revoke(&*store, Revoke::Id(&alice_rec.id), now + 5).unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].id, alice_rec.id);
    assert_eq!(
        authenticate(&*other, &alice, now + 6).unwrap(),
        Auth::Revoked
    );
    assert_eq!(
        authenticate(&*store, &bob, now + 6).unwrap(),
        Auth::Valid(bob_rec.clone())
    );
    let done = revoke(&*store, Revoke::User("bob"), now + 7).unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(authenticate(&*store, &bob, now + 8).unwrap(), Auth::Revoked);
    assert!(
        revoke(&*store, Revoke::User("bob"), now + 9)
            .unwrap()
            .is_empty()
    );
    assert!(
        revoke(&*store, Revoke::User("nobody"), now + 9)
            .unwrap()
            .is_empty()
    );
    // An id is not a user name, nor a user name an id; ids have the shape `issue` refuses.
    assert!(
        looks_like_id(&alice_rec.id) && !looks_like_id("alice") && !looks_like_id("0123456789abc")
    );
    assert!(
        revoke(&*store, Revoke::User(&bob_rec.id), now + 9)
            .unwrap()
            .is_empty()
    );
    assert!(
        revoke(&*store, Revoke::Id("bob"), now + 9)
            .unwrap()
            .is_empty()
    );
    let listed = store.list_tokens().unwrap();
    assert_eq!(listed[0].revoked, Some(now + 5));
    assert_eq!(listed[1].revoked, Some(now + 7));
    assert!(!store.revoke_id("000000000000", now).unwrap());
}

/// 200 threads race for 50 requests: exactly 50 are allowed, through several store instances
/// `n` threads released together by a barrier, thread `i` running `each` on `stores[i % len]`;
/// their results in thread order.
fn race<T: Send + 'static>(
    stores: &[Arc<dyn Store>],
    n: usize,
    each: impl Fn(&dyn Store) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let each = Arc::new(each);
    let barrier = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let store = stores[i % stores.len()].clone();
            let (barrier, each) = (barrier.clone(), each.clone());
            std::thread::spawn(move || {
                barrier.wait();
                each(&*store)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

/// (separate SQLite connections, separate Redis connections), not one shared lock.
fn requests_per_day_exact_under_concurrency(f: &Factory) {
    let limits = Limits {
        requests_per_day: Some(50),
        ..Limits::default()
    };
    let stores: Vec<Arc<dyn Store>> = (0..4).map(|_| f()).collect();
    let decisions = race(&stores, 200, move |store| {
        store.check_request("racer", &limits, 0).unwrap()
    });
    let allowed: Vec<&Decision> = decisions.iter().filter(|d| d.allowed).collect();
    assert_eq!(allowed.len(), 50);
    // Each allowed request saw a different remaining count: 49 down to 0.
    let mut remaining: Vec<u64> = allowed
        .iter()
        .map(|d| d.requests_per_day.unwrap().remaining)
        .collect();
    remaining.sort_unstable();
    assert_eq!(remaining, (0..50).collect::<Vec<u64>>());
    for d in decisions.iter().filter(|d| !d.allowed) {
        assert!(d.retry_after >= 1 && d.retry_after <= 86_400, "{d:?}");
        assert_eq!(d.requests_per_day.unwrap().remaining, 0);
    }
    // Another user is untouched.
    assert!(
        stores[0]
            .check_request("bystander", &limits, 0)
            .unwrap()
            .allowed
    );
}

fn per_minute_and_tokens_per_day(f: &Factory) {
    let store = f();
    let per_minute = Limits {
        requests_per_minute: Some(3),
        requests_per_day: Some(100),
        tokens_per_day: None,
    };
    for left in [2, 1, 0] {
        let d = store.check_request("carol", &per_minute, 0).unwrap();
        assert!(d.allowed);
        assert_eq!(d.retry_after, 0);
        assert_eq!(d.requests_per_minute.unwrap().remaining, left);
        assert_eq!(d.requests_per_day.unwrap().remaining, 97 + left);
        assert!(d.tokens_per_day.is_none());
    }
    let d = store.check_request("carol", &per_minute, 0).unwrap();
    assert!(!d.allowed);
    assert!((1..=60).contains(&d.retry_after), "{d:?}");
    // A denied request is not counted against the day.
    assert_eq!(d.requests_per_day.unwrap().remaining, 97);

    let tokens = Limits {
        tokens_per_day: Some(100),
        ..Limits::default()
    };
    assert!(store.check_request("dave", &tokens, 0).unwrap().allowed);
    store.add_tokens("dave", 60).unwrap();
    let d = store.check_request("dave", &tokens, 0).unwrap();
    assert!(d.allowed);
    assert_eq!(d.tokens_per_day.unwrap().remaining, 40);
    // The response that crosses the limit is counted in full; the next request is refused.
    store.add_tokens("dave", 50).unwrap();
    let d = f().check_request("dave", &tokens, 0).unwrap();
    assert!(!d.allowed);
    assert_eq!(d.tokens_per_day.unwrap().remaining, 0);
    assert_eq!(d.retry_after, d.tokens_per_day.unwrap().reset_after);
}

/// 100 threads each reserve 30 tokens of a 1000-token day and then use all 30: exactly 33 start
/// (990 tokens), none past the limit, whatever the interleaving of checks and settlements.
fn tokens_per_day_reservations_exact_under_concurrency(f: &Factory) {
    let limits = Limits {
        tokens_per_day: Some(1000),
        ..Limits::default()
    };
    let stores: Vec<Arc<dyn Store>> = (0..4).map(|_| f()).collect();
    let decisions = race(&stores, 100, move |store| {
        let d = store.check_request("spender", &limits, 30).unwrap();
        if d.allowed {
            store.settle("spender", d.day, 30, 30).unwrap();
        }
        d
    });
    assert_eq!(decisions.iter().filter(|d| d.allowed).count(), 33);
    for d in decisions.iter().filter(|d| !d.allowed) {
        // Refused for the reservation, not for a spent day: a short wait.
        assert!((1..=RESERVATION_RETRY).contains(&d.retry_after), "{d:?}");
    }
    let store = &stores[0];
    let d = store.check_request("spender", &limits, 0).unwrap();
    assert_eq!(d.tokens_per_day.unwrap().remaining, 10);
    // A reservation that does not fit is refused and counts nothing; one that fits is taken.
    let d = store.check_request("spender", &limits, 11).unwrap();
    assert!(!d.allowed);
    assert_eq!(d.tokens_per_day.unwrap().remaining, 10);
    let d = store.check_request("spender", &limits, 10).unwrap();
    assert!(d.allowed);
    assert_eq!(d.tokens_per_day.unwrap().remaining, 0);
    // Settling below the reservation gives the rest back.
    store.settle("spender", d.day, 10, 4).unwrap();
    let d = f().check_request("spender", &limits, 0).unwrap();
    assert_eq!(d.tokens_per_day.unwrap().remaining, 6);
}

/// The sliding minute is counted in the same atomic step: 100 threads race for 30 a minute.
fn requests_per_minute_exact_under_concurrency(f: &Factory) {
    let limits = Limits {
        requests_per_minute: Some(30),
        ..Limits::default()
    };
    let stores: Vec<Arc<dyn Store>> = (0..4).map(|_| f()).collect();
    let decisions = race(&stores, 100, move |store| {
        store.check_request("burst", &limits, 0).unwrap()
    });
    assert_eq!(decisions.iter().filter(|d| d.allowed).count(), 30);
    for d in decisions.iter().filter(|d| !d.allowed) {
        assert!((1..=60).contains(&d.retry_after), "{d:?}");
        assert_eq!(d.requests_per_minute.unwrap().remaining, 0);
    }
}

fn settle_refunds_and_survives_a_day_change(f: &Factory) {
    let store = f();
    let limits = Limits {
        tokens_per_day: Some(100),
        ..Limits::default()
    };
    let remaining = || {
        store
            .check_request("kim", &limits, 0)
            .unwrap()
            .tokens_per_day
            .unwrap()
            .remaining
    };
    let d = store.check_request("kim", &limits, 80).unwrap();
    assert!(d.allowed);
    assert_eq!(d.tokens_per_day.unwrap().remaining, 20);
    // The answer used 25 of the 80 reserved.
    store.settle("kim", d.day, 80, 25).unwrap();
    assert_eq!(remaining(), 75);
    // A stream that began yesterday: its 50 reserved stayed with yesterday; the 20 beyond count
    // today.
    store.settle("kim", d.day - 1, 50, 70).unwrap();
    assert_eq!(remaining(), 55);
    // A refund larger than the count leaves 0, not a negative or wrapped count.
    store.settle("kim", d.day, 1000, 0).unwrap();
    assert_eq!(remaining(), 100);
    // `add_tokens` is a settlement without reservation.
    store.add_tokens("kim", 30).unwrap();
    assert_eq!(remaining(), 70);
}

/// The sliding minute at chosen times: 3 per minute, used up at second 59.5 of a clock minute.
/// A fixed clock minute would allow 3 more half a second later; the sliding one waits until the
/// first three are 60 s old.
fn sliding_minute(check: &dyn Fn(i64) -> Decision) {
    let t0 = 1_767_225_600_000 + 59_500;
    for left in [2, 1, 0] {
        let d = check(t0);
        assert!(d.allowed);
        assert_eq!(d.requests_per_minute.unwrap().remaining, left);
        assert_eq!(d.requests_per_minute.unwrap().reset_after, 60);
    }
    let d = check(t0);
    assert!(!d.allowed);
    assert_eq!(d.retry_after, 60);
    let d = check(t0 + 1_000);
    assert!(!d.allowed, "a new clock minute must not reset the window");
    assert_eq!(d.retry_after, 59);
    let d = check(t0 + 59_999);
    assert!(!d.allowed);
    assert_eq!(d.retry_after, 1);
    let d = check(t0 + 60_000);
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.requests_per_minute.unwrap().remaining, 2);
    // Refused checks were not logged: the window holds only this one.
    let d = check(t0 + 60_001);
    assert_eq!(d.requests_per_minute.unwrap().remaining, 1);
}

const THREE_PER_MINUTE: Limits = Limits {
    requests_per_minute: Some(3),
    requests_per_day: None,
    tokens_per_day: None,
};

#[test]
fn sliding_minute_memory() {
    let store = MemoryStore::new();
    sliding_minute(&|t| store.check_at("lee", &THREE_PER_MINUTE, 0, t));
}

#[test]
fn sliding_minute_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    sliding_minute(&|t| store.check_at("lee", &THREE_PER_MINUTE, 0, || t).unwrap());
}

#[test]
fn sliding_minute_redis() {
    let Some(url) = redis_url() else { return };
    let store = RedisStore::open(&url, &format!("kgtest:{}", new_id().unwrap())).unwrap();
    sliding_minute(&|t| {
        store
            .check_at("lee", &THREE_PER_MINUTE, 0, Some(t))
            .unwrap()
    });
}

/// A store file written by a keyguard with fixed minutes (`usage.minute` a minute number, its
/// count in `minute_requests`, no `minute_log`): the first check counts the log instead of
/// trusting the old count.
#[test]
fn sqlite_reads_an_older_files_minute_count_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    drop(SqliteStore::open(&path).unwrap());
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute(
        "INSERT INTO usage (user, minute, minute_requests, day, day_requests, day_tokens)
         VALUES ('old', 29453760, 3, 20454, 3, 0)",
        [],
    )
    .unwrap();
    drop(raw);
    let store = SqliteStore::open(&path).unwrap();
    let t = 29_453_760 * 60_000 + 30_000;
    let d = store.check_at("old", &THREE_PER_MINUTE, 0, || t).unwrap();
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.requests_per_minute.unwrap().remaining, 2);
    for _ in 0..2 {
        assert!(
            store
                .check_at("old", &THREE_PER_MINUTE, 0, || t)
                .unwrap()
                .allowed
        );
    }
    assert!(
        !store
            .check_at("old", &THREE_PER_MINUTE, 0, || t + 59_999)
            .unwrap()
            .allowed
    );
}

#[test]
fn sqlite_counts_and_tokens_survive_reopening() {
    let (dir, f) = sqlite();
    let limits = Limits {
        requests_per_day: Some(5),
        ..Limits::default()
    };
    let (token, _) = {
        let store = f();
        for _ in 0..3 {
            assert!(store.check_request("erin", &limits, 0).unwrap().allowed);
        }
        store.add_tokens("erin", 7).unwrap();
        issue(&*store, "erin", None, now()).unwrap()
    };
    // Every instance is dropped: the next one is a restarted proxy.
    let store = f();
    assert!(matches!(
        authenticate(&*store, &token, now()).unwrap(),
        Auth::Valid(_)
    ));
    let d = store.check_request("erin", &limits, 0).unwrap();
    assert_eq!(d.requests_per_day.unwrap().remaining, 1);
    assert!(store.check_request("erin", &limits, 0).unwrap().allowed);
    assert!(!store.check_request("erin", &limits, 0).unwrap().allowed);
    drop(dir);
}

#[cfg(unix)]
#[test]
fn sqlite_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".keyguard/serve.db");
    let store = SqliteStore::open(&path).unwrap();
    store.check_request("frank", &Limits::default(), 0).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir.path().join(".keyguard")), 0o700);
    let wal = dir.path().join(".keyguard/serve.db-wal");
    assert!(wal.exists(), "WAL mode creates a -wal file");
    assert_eq!(mode(&wal), 0o600);
    assert!(dir.path().join(".keyguard/.gitignore").exists());
}

#[test]
fn two_redis_instances_share_one_limit() {
    let Some(f) = redis() else { return };
    let limits = Limits {
        requests_per_day: Some(50),
        ..Limits::default()
    };
    let (a, b) = (f(), f());
    let allowed = race(&[a.clone(), b.clone()], 200, move |store| {
        store.check_request("shared", &limits, 0).unwrap().allowed
    });
    assert_eq!(allowed.iter().filter(|a| **a).count(), 50);
    store_sees_tokens_of_the_other(&*a, &*b);
}

fn store_sees_tokens_of_the_other(a: &dyn Store, b: &dyn Store) {
    let (token, rec) = issue(a, "grace", None, now()).unwrap();
    assert_eq!(authenticate(b, &token, now()).unwrap(), Auth::Valid(rec));
}

#[test]
fn unreachable_redis_is_an_error_not_allowed() {
    // A port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://127.0.0.1:{port}/0");
    let err = RedisStore::open(&url, "keyguard")
        .err()
        .expect("open must fail");
    assert!(
        format!("{err:#}").contains("cannot reach the Redis store"),
        "{err:#}"
    );
    // A store whose Redis went away after start: every call fails, none is allowed.
    let store = RedisStore::unchecked(&url, "keyguard").unwrap();
    assert!(store.check_request("henry", &Limits::default(), 0).is_err());
    assert!(store.add_tokens("henry", 1).is_err());
    assert!(store.lookup(&hash_token("kgp_x")).is_err());
}

#[test]
fn tokens_have_the_documented_shape() {
    let t = new_token().unwrap();
    assert!(t.starts_with("kgp_") && t.len() == 40, "{}", t.len());
    assert!(well_formed(&t));
    assert_ne!(t, new_token().unwrap());
    // A mistyped character fails the checksum.
    let mut typo = t.clone().into_bytes();
    typo[5] = if typo[5] == b'Q' { b'R' } else { b'Q' };
    assert!(!well_formed(std::str::from_utf8(&typo).unwrap()));
}

#[test]
fn store_urls() {
    let dir = tempfile::tempdir().unwrap();
    assert!(open("memory", dir.path()).is_ok());
    assert!(open("sqlite:sub/s.db", dir.path()).is_ok());
    assert!(dir.path().join("sub/s.db").is_file());
    // Built at run time: a password-bearing URL literal is what keyguard's own scan reports.
    let url = ["postgres://u:", "hunter2", "@h/db"].concat();
    let err = open(&url, dir.path()).err().unwrap();
    let msg = format!("{err:#}");
    assert!(msg.contains("unknown store `postgres`"), "{msg}");
    assert!(!msg.contains("hunter2"), "{msg}");
    assert!(open("sqlite:", dir.path()).is_err());
    assert!(check_user("alice@example.org").is_ok());
    assert!(check_user("a b").is_err());
    assert!(check_user("").is_err());
}

/// A private redis-server on a unix socket in `dir`, stopped when dropped.
struct PrivateRedis {
    child: std::process::Child,
}

impl PrivateRedis {
    fn start(dir: &std::path::Path) -> PrivateRedis {
        let sock = dir.join("redis.sock");
        let _ = std::fs::remove_file(&sock);
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                "0",
                "--save",
                "",
                "--appendonly",
                "no",
                "--unixsocket",
            ])
            .arg(&sock)
            .arg("--dir")
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server starts");
        for _ in 0..100 {
            if sock.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(sock.exists(), "redis-server did not open its socket");
        PrivateRedis { child }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Redis going away while the proxy runs: every call fails (the proxy's 503, never "allowed"),
/// and once Redis is back the same store works again without a restart.
#[test]
fn redis_going_away_mid_run_fails_closed_then_recovers() {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("redis-server").is_file()));
    if !found {
        if std::env::var("KEYGUARD_REQUIRE_ALL").as_deref() == Ok("1") {
            panic!("redis-server is not on PATH and KEYGUARD_REQUIRE_ALL=1");
        }
        eprintln!("notice: redis-server is not on PATH; skipping a Redis store test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = format!("redis+unix://{}", dir.path().join("redis.sock").display());
    let limits = Limits {
        requests_per_day: Some(10),
        ..Limits::default()
    };
    let server = PrivateRedis::start(dir.path());
    let store = RedisStore::open(&url, "keyguard").unwrap();
    assert!(store.check_request("ivy", &limits, 0).unwrap().allowed);
    drop(server);
    for _ in 0..3 {
        let err = store.check_request("ivy", &limits, 0).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("Redis store"), "{msg}");
    }
    assert!(store.add_tokens("ivy", 5).is_err());
    // Back (empty: this server keeps nothing on disk), and the same store reconnects.
    let _server = PrivateRedis::start(dir.path());
    let d = store.check_request("ivy", &limits, 0).unwrap();
    assert!(d.allowed);
    assert_eq!(d.requests_per_day.unwrap().remaining, 9);
}

/// A store that arrived with a cloned repository (a committed file, checked out 0644; a symbolic
/// link; another program's database named by `store`) is refused, and left as it was.
#[cfg(unix)]
#[test]
fn sqlite_refuses_a_store_it_did_not_make() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("serve.db");
    let (token, _) = issue(&SqliteStore::open(&path).unwrap(), "mallory", None, now()).unwrap();
    // A known token in a file open to others: as if committed and checked out.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = SqliteStore::open(&path)
        .err()
        .expect("a 0644 store is refused");
    assert!(format!("{e:#}").contains("chmod 600"), "{e:#}");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let wal = dir.path().join("serve.db-wal");
    if wal.exists() {
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o664)).unwrap();
        assert!(
            SqliteStore::open(&path).is_err(),
            "a shared -wal is refused"
        );
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert!(matches!(
        authenticate(&store, &token, now()).unwrap(),
        Auth::Valid(_)
    ));
    drop(store);

    // A symbolic link, even to a private keyguard store.
    let link = dir.path().join("link.db");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    let e = SqliteStore::open(&link).err().expect("a link is refused");
    assert!(format!("{e:#}").contains("symbolic link"), "{e:#}");
    // A dangling link creates nothing at its target.
    let target = dir.path().join("elsewhere.db");
    let dangling = dir.path().join("dangling.db");
    std::os::unix::fs::symlink(&target, &dangling).unwrap();
    assert!(SqliteStore::open(&dangling).is_err());
    assert!(!target.exists());

    // Another program's private database: not converted to WAL, no table added.
    let other = dir.path().join("other.db");
    let raw = rusqlite::Connection::open(&other).unwrap();
    raw.execute_batch("CREATE TABLE logins (origin TEXT, password BLOB);")
        .unwrap();
    drop(raw);
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o600)).unwrap();
    let e = SqliteStore::open(&other)
        .err()
        .expect("a foreign database is refused");
    assert!(format!("{e:#}").contains("another program"), "{e:#}");
    let raw = rusqlite::Connection::open(&other).unwrap();
    let mode: String = raw
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete");
    let tables: i64 = raw
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 1);
}

/// A record whose user name `issue` would never have stored (written into the store behind
/// keyguard's back) does not authenticate: the name would reach the log raw and build Redis keys.
#[test]
fn a_tampered_user_name_does_not_authenticate() {
    let store = MemoryStore::new();
    for user in ["eve\nuser=admin status=200", "alice:d:20000", ""] {
        let token = new_token().unwrap();
        let record = TokenRecord {
            id: "0123456789ab".to_string(),
            user: user.to_string(),
            created: now(),
            expires: None,
            revoked: None,
        };
        store.insert_token(&hash_token(&token), &record).unwrap();
        assert_eq!(
            authenticate(&store, &token, now()).unwrap(),
            Auth::Unknown,
            "{user:?}"
        );
    }
    let (token, _) = issue(&store, "alice", None, now()).unwrap();
    assert!(matches!(
        authenticate(&store, &token, now()).unwrap(),
        Auth::Valid(_)
    ));
}

/// The proxy's non-waiting attempts (`try_*`) against a file another connection is writing:
/// they give way ("not now") without changing anything, lookups still answer (WAL readers do
/// not wait for the writer), and the blocking call waits for the lock and then counts.
#[test]
fn sqlite_attempts_give_way_to_another_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = std::sync::Arc::new(SqliteStore::open(&path).unwrap());
    let (token, _) = issue(&*store, "ann", None, now()).unwrap();
    let limits = Limits {
        requests_per_day: Some(10),
        tokens_per_day: Some(1000),
        ..Limits::default()
    };
    let free = store
        .try_check_request("ann", &limits, 100)
        .unwrap()
        .unwrap();
    assert!(free.allowed);
    assert!(matches!(
        store.try_settle("ann", free.day, 100, 40),
        Some(Ok(()))
    ));

    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    assert!(store.try_check_request("ann", &limits, 100).is_none());
    assert!(store.try_settle("ann", free.day, 0, 5).is_none());
    assert!(matches!(
        try_authenticate(&*store, &token, now()),
        Some(Ok(Auth::Valid(_)))
    ));
    let s = store.clone();
    let waiter = std::thread::spawn(move || s.check_request("ann", &limits, 100).unwrap());
    other.execute_batch("COMMIT").unwrap();
    let d = waiter.join().unwrap();
    assert!(d.allowed);
    // One request before and this one; the attempts that gave way counted nothing.
    assert_eq!(d.requests_per_day.unwrap().remaining, 8);
    assert_eq!(d.tokens_per_day.unwrap().remaining, 1000 - 40 - 100);
}

/// Once the server has taken the WAL checkpoint over, commits no longer checkpoint (SQLite's
/// automatic one would, past 1000 pages of WAL, fsyncing on the proxy's async worker) and
/// `upkeep` does: only a checkpoint writes pages into the database file itself.
#[test]
fn sqlite_upkeep_checkpoints_the_wal_instead_of_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = SqliteStore::open(&path).unwrap();
    assert!(store.take_over_upkeep().unwrap().is_some());
    let size = || std::fs::metadata(&path).unwrap().len();
    let start = size();
    let limits = Limits {
        requests_per_minute: Some(100_000),
        ..Limits::default()
    };
    // Three or more WAL frames a check: well past the automatic checkpoint's 1000 pages.
    for _ in 0..1500 {
        assert!(
            store
                .try_check_request("ann", &limits, 0)
                .unwrap()
                .unwrap()
                .allowed
        );
    }
    assert!(
        std::fs::metadata(dir.path().join("s.db-wal"))
            .unwrap()
            .len()
            > 4_000_000
    );
    assert_eq!(size(), start, "a commit checkpointed the WAL");
    store.upkeep().unwrap();
    assert!(size() > start, "upkeep did not checkpoint");
}
