//! `keyguard token issue|list|revoke`: the token alone on stdout, never shown again, revocable by
//! id or user; the store from keyguard.toml or --store; leaked tokens found by `keyguard scan`.

use sha2::{Digest, Sha256};

use crate::support::{Run, run_in, scan_json, skip_missing, write};

fn issue(dir: &std::path::Path, user: &str, extra: &[&str]) -> (String, String) {
    let mut args = vec!["token", "issue", "--user", user];
    args.extend_from_slice(extra);
    let run = run_in(dir, &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Exactly one line on stdout: the token.
    assert_eq!(run.stdout.lines().count(), 1, "{:?}", run.stdout);
    let token = run.stdout.trim_end_matches('\n').to_string();
    assert!(token.starts_with("kgp_") && token.len() == 40, "{token}");
    assert!(
        token[4..].bytes().all(|b| b.is_ascii_alphanumeric()),
        "{token}"
    );
    assert!(!run.stderr.contains(&token), "{}", run.stderr);
    let id = run
        .stderr
        .split_whitespace()
        .skip_while(|w| *w != "token")
        .nth(1)
        .expect("the id on stderr")
        .to_string();
    (token, id)
}

/// No 8-character piece of the token, and no 8 hex digits of its hash, appear in `text`.
fn assert_nothing_of(token: &str, text: &str) {
    let hash: String = Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for s in [&token[4..], hash.as_str()] {
        for i in 0..=s.len() - 8 {
            assert!(!text.contains(&s[i..i + 8]), "{text}");
        }
    }
}

fn list(dir: &std::path::Path, extra: &[&str]) -> Run {
    let mut args = vec!["token", "list"];
    args.extend_from_slice(extra);
    let run = run_in(dir, &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run
}

fn line_of<'a>(run: &'a Run, id: &str) -> &'a str {
    run.stdout
        .lines()
        .find(|l| l.starts_with(id))
        .unwrap_or_else(|| panic!("{id} not in {}", run.stdout))
}

#[test]
fn token_issue_prints_it_once_and_list_never_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let (token, id) = issue(dir.path(), "alice", &["--expires", "30d"]);
    // The default store, private.
    let db = dir.path().join(".keyguard/serve.db");
    assert!(db.is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let run = list(dir.path(), &[]);
    let line = line_of(&run, &id);
    assert!(line.contains("alice") && line.ends_with("active"), "{line}");
    // 30 days from now, in the expiry column.
    let expected = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(30 * 24))
        .unwrap()
        .strftime("%Y-%m-%d")
        .to_string();
    assert!(line.contains(&expected), "{line} lacks {expected}");
    assert_nothing_of(&token, &run.stdout);
    assert_nothing_of(&token, &run.stderr);
    // The store file holds no token either.
    let bytes = std::fs::read(&db).unwrap();
    assert!(!bytes.windows(token.len()).any(|w| w == token.as_bytes()));

    let (second, _) = issue(dir.path(), "alice", &[]);
    assert_ne!(token, second);
    assert!(line_of(&list(dir.path(), &[]), &id).contains("alice"));
}

#[test]
fn token_leaked_in_a_file_is_found_by_scan() {
    let dir = tempfile::tempdir().unwrap();
    let (token, _) = issue(dir.path(), "leaky", &[]);
    let repo = tempfile::tempdir().unwrap();
    write(
        repo.path(),
        "client.env",
        format!("KEYGUARD_TOKEN={token}\n"),
    );
    let (run, report) = scan_json(repo.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report}");
    assert_eq!(findings[0]["rule_id"], "keyguard-proxy-token", "{report}");
    assert_eq!(findings[0]["confidence"], "high", "{report}");
}

#[test]
fn token_revoke_by_id_and_by_user() {
    let dir = tempfile::tempdir().unwrap();
    let (_, bob1) = issue(dir.path(), "bob", &[]);
    let (_, bob2) = issue(dir.path(), "bob", &[]);
    let (_, carol) = issue(dir.path(), "carol", &[]);

    let run = run_in(dir.path(), &["token", "revoke", &carol]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("revoked token {carol}")),
        "{}",
        run.stderr
    );
    let listed = list(dir.path(), &[]);
    assert!(line_of(&listed, &carol).contains("revoked"));
    assert!(line_of(&listed, &bob1).ends_with("active"));

    let run = run_in(dir.path(), &["token", "revoke", "bob"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&bob1) && run.stderr.contains(&bob2),
        "{}",
        run.stderr
    );
    let listed = list(dir.path(), &[]);
    for id in [&bob1, &bob2, &carol] {
        assert!(
            line_of(&listed, id).contains("revoked"),
            "{}",
            listed.stdout
        );
    }

    // Again: nothing to do, said so; an unknown name is an error naming it.
    let run = run_in(dir.path(), &["token", "revoke", "bob"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("already revoked"), "{}", run.stderr);
    let run = run_in(dir.path(), &["token", "revoke", "mallory"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("`mallory`"), "{}", run.stderr);
}

/// A user named like another token's id: `revoke NAME|ID` must not pick one silently.
#[test]
fn token_revoke_refuses_a_name_that_is_also_an_id() {
    let dir = tempfile::tempdir().unwrap();
    let (_, bob) = issue(dir.path(), "bob", &[]);
    // `token issue` refuses such a name now; a store from before may hold one.
    let run = run_in(dir.path(), &["token", "issue", "--user", &bob]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("shape of a token id"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let run = run_in(dir.path(), &["token", "issue", "--user", "ABCDEF012345"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    {
        use keyguard::serve::store::{self, TokenRecord};
        let db = store::open("sqlite:.keyguard/serve.db", dir.path()).unwrap();
        let record = TokenRecord {
            id: "0123456789ab".to_string(),
            user: bob.clone(),
            created: store::now(),
            expires: None,
            revoked: None,
        };
        db.insert_token(&store::hash_token("from an older keyguard"), &record)
            .unwrap();
    }
    let active = |who: &str| line_of(&list(dir.path(), &[]), who).ends_with("active");

    let run = run_in(dir.path(), &["token", "revoke", &bob]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    for needed in [
        "is both the id of a token (of user bob) and a user name",
        "--id",
        "--user",
    ] {
        assert!(run.stderr.contains(needed), "{needed}: {}", run.stderr);
    }
    assert!(
        active(&bob) && active("0123456789ab"),
        "a refused revoke revoked"
    );

    let run = run_in(dir.path(), &["token", "revoke", "--id", &bob]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!active(&bob) && active("0123456789ab"));
    let run = run_in(dir.path(), &["token", "revoke", "--user", &bob]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("revoked token 0123456789ab"),
        "{}",
        run.stderr
    );
    assert!(!active("0123456789ab"));

    // --user never takes an id, --id never a user; one way to name the target at a time.
    let run = run_in(dir.path(), &["token", "revoke", "--user", "0123456789ab"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("no token belongs to user"),
        "{}",
        run.stderr
    );
    let run = run_in(dir.path(), &["token", "revoke", "--id", "bob"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("no token has the id `bob`"),
        "{}",
        run.stderr
    );
    for args in [
        &["token", "revoke"][..],
        &["token", "revoke", "bob", "--user", "bob"],
    ] {
        assert_eq!(run_in(dir.path(), args).code, 2, "{args:?}");
    }
}

#[test]
fn token_bad_expires_and_user_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["30x", "30", "0d", "-1d", "99999999w"] {
        let arg = format!("--expires={bad}");
        let run = run_in(dir.path(), &["token", "issue", "--user", "a", &arg]);
        assert_eq!(run.code, 2, "{bad}: {}", run.stderr);
        assert!(run.stderr.contains(&format!("'{bad}'")), "{}", run.stderr);
        assert!(run.stdout.is_empty());
    }
    let run = run_in(dir.path(), &["token", "issue", "--user", "a b"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("invalid user name `a b`"),
        "{}",
        run.stderr
    );
    // Nothing was created by the refused commands.
    assert!(!dir.path().join(".keyguard").exists());
}

#[test]
fn token_store_from_config_or_flag() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "keyguard.toml",
        "[serve]\nstore = \"sqlite:state/tokens.db\"\nlisten = \"127.0.0.1:8787\"\n\n[serve.limits]\nrequests_per_day = 10\n",
    );
    let (_, id) = issue(dir.path(), "dana", &[]);
    assert!(dir.path().join("state/tokens.db").is_file());
    assert!(!dir.path().join(".keyguard").exists());
    line_of(&list(dir.path(), &[]), &id);

    // --store wins over the file; `memory` keeps nothing.
    let other = dir.path().join("other.db");
    let url = format!("sqlite:{}", other.display());
    let (_, id2) = issue(dir.path(), "erik", &["--store", &url]);
    assert!(line_of(&list(dir.path(), &["--store", &url]), &id2).contains("erik"));
    assert!(!list(dir.path(), &[]).stdout.contains(&id2));
    issue(dir.path(), "fay", &["--store", "memory"]);
    // KEYGUARD_STORE (where a URL with a password belongs) stands for --store.
    let out = crate::support::keyguard()
        .current_dir(dir.path())
        .env("KEYGUARD_STORE", &url)
        .args(["token", "list"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(&id2));

    let run = run_in(
        dir.path(),
        &["token", "list", "--store", "mysql://u:pw@h/db"],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("unknown store `mysql`"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("pw@"), "{}", run.stderr);

    write(
        dir.path(),
        "keyguard.toml",
        "[serve.limits]\nrequests_per_mintue = 5\n",
    );
    let run = run_in(dir.path(), &["token", "list"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("did you mean `requests_per_minute`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn token_commands_on_redis() {
    let Some(url) = std::env::var("KEYGUARD_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        skip_missing("KEYGUARD_TEST_REDIS_URL (a Redis server; scripts/with-redis.sh)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let user = format!("cli-{}", std::process::id());
    let (token, id) = issue(dir.path(), &user, &["--store", &url]);
    let run = list(dir.path(), &["--store", &url]);
    assert!(line_of(&run, &id).contains(&user));
    assert_nothing_of(&token, &run.stdout);
    let run = run_in(dir.path(), &["token", "revoke", &id, "--store", &url]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(line_of(&list(dir.path(), &["--store", &url]), &id).contains("revoked"));
}

#[test]
fn token_commands_fail_on_an_unreachable_redis() {
    let dir = tempfile::tempdir().unwrap();
    // A Redis that does not answer is an error, not an empty list.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = format!("redis://127.0.0.1:{port}/0");
    let run = run_in(dir.path(), &["token", "list", "--store", &dead]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("cannot reach the Redis store"),
        "{}",
        run.stderr
    );
}
