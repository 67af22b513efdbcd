//! `keyguard rotate`: the playbook end to end, driving the binary against local providers that
//! keep state (support/fake_providers.rs), so revocation and "proven dead" are observed, not
//! assumed. Tests named `secret_service_*` need the Secret Service (scripts/test runs them inside
//! scripts/with-secret-service.sh); elsewhere they skip, or fail under KEYGUARD_REQUIRE_ALL=1.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Stdio;

use crate::support::fake_providers::{self, Fake};
use crate::support::keystore::{kg, run_with, secret_service};
use crate::support::{Fakes, skip_missing};

/// A name no other test (or earlier run against the same keyring) uses.
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{}-{}", std::process::id(), nanos % 100_000)
}

fn store(dir: &Path, vars: &[(String, String)], name: &str, key: &str) {
    let r = run_with(
        kg(dir, vars),
        &["key", "set", name, "--stdin"],
        Some(key.as_bytes()),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}

fn stored(dir: &Path, vars: &[(String, String)], name: &str) -> Option<String> {
    let r = run_with(kg(dir, vars), &["key", "get", name], None);
    (r.code == 0).then(|| r.stdout.trim_end().to_string())
}

/// No 12-character run of `key` in `text`.
fn assert_no_key(text: &str, key: &str, what: &str) {
    for i in 0..=key.len() - 12 {
        assert!(
            !text.contains(&key[i..i + 12]),
            "{what} holds 12 characters of a key"
        );
    }
}

/// The one incident record in `dir`, after checking its mode.
fn record(dir: &Path) -> String {
    let files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "md"))
        .collect();
    assert_eq!(files.len(), 1, "one incident record");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = files[0].metadata().unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the record is private");
        let dmode = std::fs::metadata(dir).unwrap().permissions().mode();
        assert_eq!(dmode & 0o777, 0o700, "the record directory is private");
    }
    std::fs::read_to_string(files[0].path()).unwrap()
}

/// Everything written under `dir` (record and state), for "no key anywhere".
fn everything_in(dir: &Path) -> String {
    let mut text = String::new();
    for e in walk(dir) {
        text.push_str(&String::from_utf8_lossy(&std::fs::read(e).unwrap()));
    }
    text
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

fn groq_key(f: &mut Fakes) -> String {
    format!("gsk_{}", f.alnum(52))
}

fn openai_key(f: &mut Fakes, kind: &str) -> String {
    format!("sk-{kind}-{}T3BlbkFJ{}", f.alnum(74), f.alnum(74))
}

#[test]
fn secret_service_rotate_openai_with_an_admin_key_end_to_end() {
    let Some(mut vars) = secret_service() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fakes::new(61);
    let (old, admin) = (openai_key(&mut f, "proj"), openai_key(&mut f, "admin"));
    let openai = fake_providers::openai(&admin, "proj_test", 62);
    openai.add_user_key("key_old", &old);
    let name = unique("oa");
    store(dir.path(), &vars, &name, &old);
    vars.push(("KEYGUARD_OPENAI_API_BASE".into(), openai.fake.uri()));
    vars.push(("KEYGUARD_OPENAI_ADMIN_KEY".into(), admin.clone()));

    let r = run_with(
        kg(dir.path(), &vars),
        &[
            "rotate",
            "openai",
            "--key",
            &name,
            "--param",
            "project=proj_test",
            "--deploy",
            "vercel,github-actions",
            "--yes",
            "--record-dir",
            "rec",
            "--prove-timeout",
            "10",
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let new = openai
        .keys
        .lock()
        .unwrap()
        .values()
        .map(|(k, _)| k.clone())
        .find(|k| k.starts_with("sk-svcacct-"))
        .expect("a service account key was created");
    assert!(!openai.fake.is_live(&old), "the old key was deleted");
    assert!(openai.fake.is_live(&new));
    assert!(
        r.stderr.contains("KEYGUARD_OPENAI_API_BASE is set"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!(
            "keyguard key get {name} | gh secret set OPENAI_API_KEY"
        )),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!(
            "keyguard key get {name} | vercel env add OPENAI_API_KEY production"
        )),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("revoked by the OpenAI API"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("the old key is dead"), "{}", r.stderr);
    let text = record(&dir.path().join("rec"));
    assert!(text.contains("Prove the old key dead — done"), "{text}");
    assert!(text.contains("created by the OpenAI API"), "{text}");
    let written = everything_in(&dir.path().join("rec"));
    for (k, what) in [(&old, "old"), (&new, "new"), (&admin, "admin")] {
        assert_no_key(&written, k, &format!("the record ({what} key)"));
        assert_no_key(&r.stdout, k, "stdout");
        assert_no_key(&r.stderr, k, "stderr");
    }
    assert_eq!(
        stored(dir.path(), &vars, &name).as_deref(),
        Some(new.as_str())
    );
    assert!(stored(dir.path(), &vars, &format!("{name}.rotating-old")).is_none());
    assert!(stored(dir.path(), &vars, &format!("{name}.rotating-new")).is_none());
    // The admin key went to the admin endpoints only; the old key only to /v1/models.
    for req in openai.fake.requests() {
        let auth = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        if auth.contains(&old) {
            assert_eq!(req.url.path(), "/v1/models");
        }
        assert!(!String::from_utf8_lossy(&req.body).contains(&old));
    }
    run_with(kg(dir.path(), &vars), &["key", "rm", &name], None);
}

#[test]
fn secret_service_rotate_groq_by_hand_with_yes() {
    let Some(mut vars) = secret_service() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fakes::new(71);
    let (old, new) = (groq_key(&mut f), groq_key(&mut f));
    let groq = fake_providers::groq();
    groq.make_live(&old);
    groq.make_live(&new);
    let name = unique("gq");
    store(dir.path(), &vars, &name, &old);
    vars.push(("KEYGUARD_GROQ_API_BASE".into(), groq.uri()));

    let mut cmd = kg(dir.path(), &vars);
    cmd.args([
        "rotate",
        "groq",
        "--key",
        &name,
        "--new-key-stdin",
        "--yes",
        "--record-dir",
        "rec",
        "--prove-timeout",
        "20",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(new.as_bytes())
        .unwrap();
    // The user follows the printed steps: the key dies in the console once step 5 shows them.
    let mut stderr = String::new();
    let mut killed_at_step_5 = false;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.contains("by hand:") {
            assert!(groq.is_live(&old), "nothing revoked the key before step 5");
            groq.kill(&old);
            killed_at_step_5 = true;
        }
        stderr.push_str(&line);
        stderr.push('\n');
    }
    let status = child.wait().unwrap();
    assert!(killed_at_step_5, "{stderr}");
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("https://console.groq.com/keys"), "{stderr}");
    assert!(
        stderr.contains("confirmed by --yes") || stderr.contains("the old key is dead"),
        "{stderr}"
    );
    assert!(stderr.contains("the old key is dead"), "{stderr}");
    let written = everything_in(&dir.path().join("rec"));
    let text = record(&dir.path().join("rec"));
    assert!(text.contains("revoked by hand"), "{text}");
    assert_no_key(&written, &old, "the record");
    assert_no_key(&written, &new, "the record");
    assert_no_key(&stderr, &new, "stderr");
    assert_eq!(
        stored(dir.path(), &vars, &name).as_deref(),
        Some(new.as_str())
    );
    run_with(kg(dir.path(), &vars), &["key", "rm", &name], None);
}

#[test]
fn secret_service_rotate_github_in_a_script_revokes_by_api_and_proves_it() {
    let Some(mut vars) = secret_service() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fakes::new(81);
    let (old, new) = (f.checksummed("ghp_"), f.checksummed("ghp_"));
    let github = fake_providers::github();
    github.make_live(&old);
    github.make_live(&new);
    let name = unique("gh");
    store(dir.path(), &vars, &name, &old);
    vars.push(("KEYGUARD_GITHUB_API_BASE".into(), github.uri()));
    vars.push(("NEW".into(), new.clone()));
    std::fs::create_dir(dir.path().join("DIR")).unwrap();

    // The example, as a script runs it: no terminal, every answer from flags and env.
    let r = run_with(
        kg(dir.path(), &vars),
        &[
            "rotate",
            "github",
            "--key",
            &name,
            "--new-key-env",
            "NEW",
            "--yes",
            "--record-dir",
            "DIR",
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !github.is_live(&old),
        "revoked through the credential-revocation API"
    );
    assert!(github.is_live(&new));
    assert!(r.stderr.contains("the old key is dead"), "{}", r.stderr);
    let revokes: Vec<_> = github
        .requests()
        .into_iter()
        .filter(|q| q.url.path() == "/credentials/revoke")
        .collect();
    assert_eq!(revokes.len(), 1);
    assert!(revokes[0].headers.get("authorization").is_none());
    let written = everything_in(&dir.path().join("DIR"));
    assert_no_key(&written, &old, "the record");
    assert_no_key(&written, &new, "the record");
    assert_no_key(&r.stderr, &old, "stderr");
    assert_eq!(
        stored(dir.path(), &vars, &name).as_deref(),
        Some(new.as_str())
    );
    run_with(kg(dir.path(), &vars), &["key", "rm", &name], None);
}

#[test]
fn rotate_dry_run_reads_nothing_calls_nothing_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let openai = fake_providers::openai("unused-admin", "proj_x", 1);
    let mut cmd = kg(dir.path(), &[]);
    cmd.env("KEYGUARD_OPENAI_API_BASE", openai.fake.uri())
        // No store at all: a dry run must not need one.
        .env("KEYGUARD_KEYSTORE", "nonesuch");
    let r = run_with(
        cmd,
        &[
            "rotate",
            "openai",
            "--key",
            "openai",
            "--deploy",
            "fly",
            "--dry-run",
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    for step in [
        "1. Identify",
        "2. Create",
        "5. Revoke",
        "6. Prove",
        "8. Record",
    ] {
        assert!(r.stdout.contains(step), "{}", r.stdout);
    }
    // The plan is wrapped for a 100-column terminal; read it with the line breaks undone.
    for l in r.stdout.lines() {
        assert!(l.chars().count() <= 100, "wider than 100 columns: {l}");
    }
    let flat = r.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("OPENAI_API_KEY in fly"), "{}", r.stdout);
    // No admin key configured: the plan says what would let keyguard create the key by API.
    assert!(
        flat.contains("set KEYGUARD_OPENAI_ADMIN_KEY or --admin-key NAME, and --param project=…"),
        "{}",
        r.stdout
    );
    assert!(
        openai.fake.requests().is_empty(),
        "a dry run made a request"
    );
    assert!(
        !dir.path().join(".keyguard").exists(),
        "a dry run wrote something"
    );
}

#[test]
fn secret_service_rotate_resumes_after_a_missing_confirmation() {
    let Some(mut vars) = secret_service() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fakes::new(91);
    let (old, new) = (groq_key(&mut f), groq_key(&mut f));
    let groq = fake_providers::groq();
    groq.make_live(&old);
    groq.make_live(&new);
    let name = unique("rs");
    store(dir.path(), &vars, &name, &old);
    vars.push(("KEYGUARD_GROQ_API_BASE".into(), groq.uri()));
    vars.push(("NEWKEY".into(), new.clone()));

    let r = run_with(
        kg(dir.path(), &vars),
        &[
            "rotate",
            "groq",
            "--key",
            &name,
            "--new-key-env",
            "NEWKEY",
            "--no-input",
            "--record-dir",
            "rec",
        ],
        None,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--yes"), "{}", r.stderr);
    assert!(r.stderr.contains("--resume"), "{}", r.stderr);
    assert!(groq.is_live(&old), "nothing was revoked");
    assert_eq!(
        stored(dir.path(), &vars, &format!("{name}.rotating-old")).as_deref(),
        Some(old.as_str()),
        "the old key is kept until it is proven dead"
    );
    let partial = record(&dir.path().join("rec"));
    assert!(partial.contains("STOPPED"), "{partial}");

    // The user updates deployments and deletes the old key in the console, then resumes.
    groq.kill(&old);
    let mut cmd = kg(dir.path(), &vars);
    cmd.env_remove("NEWKEY");
    let r = run_with(
        cmd,
        &[
            "rotate",
            "--resume",
            "--yes",
            "--record-dir",
            "rec",
            "--prove-timeout",
            "5",
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stderr.contains("1. Identify"),
        "finished steps are not redone: {}",
        r.stderr
    );
    assert!(r.stderr.contains("the old key is dead"), "{}", r.stderr);
    let text = record(&dir.path().join("rec"));
    assert!(text.contains("finished"), "{text}");
    assert_no_key(&everything_in(&dir.path().join("rec")), &old, "the record");
    assert_eq!(
        stored(dir.path(), &vars, &name).as_deref(),
        Some(new.as_str())
    );
    assert!(stored(dir.path(), &vars, &format!("{name}.rotating-old")).is_none());
    run_with(kg(dir.path(), &vars), &["key", "rm", &name], None);
}

#[test]
fn rotate_bad_input_stops_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let groq: Fake = fake_providers::groq();
    let mut f = Fakes::new(5);
    let cmd = || {
        let mut c = kg(dir.path(), &[]);
        c.env("KEYGUARD_GROQ_API_BASE", groq.uri())
            .env("KEYGUARD_KEYSTORE", "nonesuch");
        c
    };

    let r = run_with(cmd(), &["rotate", "nonesuch", "--key", "x"], None);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("unknown provider `nonesuch`"),
        "{}",
        r.stderr
    );
    for p in keyguard::providers::all() {
        assert!(r.stderr.contains(p.id()), "{}", r.stderr);
    }
    // The list of 17 providers is wrapped to fit a terminal, and the next step is a hint.
    for l in r.stderr.lines() {
        assert!(l.chars().count() <= 100, "wider than 100 columns: {l}");
    }
    assert!(
        r.stderr.contains("\nhint: `keyguard rotate --list`"),
        "{}",
        r.stderr
    );

    let r = run_with(cmd(), &["rotate", "groq"], None);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--key NAME"), "{}", r.stderr);

    let not_groq = format!("sk-proj-{}", f.alnum(40));
    let r = run_with(
        cmd(),
        &[
            "rotate",
            "groq",
            "--key",
            "g",
            "--old-key-stdin",
            "--no-input",
        ],
        Some(not_groq.as_bytes()),
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("does not look like a Groq key"),
        "{}",
        r.stderr
    );
    assert_no_key(&r.stderr, &not_groq, "stderr");

    let r = run_with(
        cmd(),
        &[
            "rotate",
            "groq",
            "--key",
            "g",
            "--old-key-stdin",
            "--no-input",
        ],
        Some(groq_key(&mut f).as_bytes()),
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--new-key-stdin or --new-key-env VAR"),
        "{}",
        r.stderr
    );

    // OpenAI can create keys by API: the stop says how to pass the key, and how to let
    // keyguard make it, on hint lines that fit a terminal.
    let r = run_with(
        cmd(),
        &[
            "rotate",
            "openai",
            "--key",
            "o",
            "--old-key-stdin",
            "--no-input",
        ],
        Some(openai_key(&mut f, "proj").as_bytes()),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("\nhint: pass it with --new-key-stdin or --new-key-env VAR\n"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("hint: or let keyguard create it: set KEYGUARD_OPENAI_ADMIN_KEY"),
        "{}",
        r.stderr
    );
    for l in r.stderr.lines() {
        assert!(l.chars().count() <= 100, "wider than 100 columns: {l}");
    }

    // A dry run of a resumed rotation would be a real one: refused.
    let r = run_with(cmd(), &["rotate", "--resume", "--dry-run"], None);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("--dry-run cannot be combined with --resume"),
        "{}",
        r.stderr
    );
    // Flags a resumed run does not read are named, not silently dropped.
    let r = run_with(
        cmd(),
        &[
            "rotate",
            "--resume",
            "--no-audit",
            "--deploy",
            "fly",
            "--record-dir",
            "none",
        ],
        None,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "warning: --resume continues the run as it was started; ignoring --deploy, --no-audit"
        ),
        "{}",
        r.stderr
    );

    // Not a secret_hash at all: refused at once, with where to find one.
    let r = run_with(
        cmd(),
        &["rotate", "groq", "--key", "g", "--secret-hash", "abc"],
        None,
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("--secret-hash takes a finding's secret_hash (32 hex digits)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("\nhint: `keyguard scan --format json`"),
        "{}",
        r.stderr
    );

    let r = run_with(
        cmd(),
        &["rotate", "groq", "--key", "g", "--deploy", "nowhere"],
        None,
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("github-actions"), "{}", r.stderr);
    assert!(groq.requests().is_empty(), "bad input made a request");
}

/// The variable name goes unquoted into the deployment commands the user is told to run, and
/// keyguard.toml's `[env]` (which a cloned repository brings) can supply it: a name that is not
/// a plain variable name is refused, and one that is is said to come from the file.
#[test]
fn rotate_refuses_a_variable_name_from_keyguard_toml_that_would_run_code() {
    let dir = tempfile::tempdir().unwrap();
    let cmd = || {
        let mut c = kg(dir.path(), &[]);
        c.env("KEYGUARD_KEYSTORE", "nonesuch");
        c
    };
    let args = [
        "rotate",
        "groq",
        "--key",
        "g",
        "--deploy",
        "fly",
        "--dry-run",
    ];
    std::fs::write(
        dir.path().join("keyguard.toml"),
        "[env]\n\"X;touch pwned;#\" = \"g\"\n",
    )
    .unwrap();
    let r = run_with(cmd(), &args, None);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("keyguard.toml"), "{}", r.stderr);
    assert!(!r.stdout.contains("touch pwned"), "{}", r.stdout);

    std::fs::write(
        dir.path().join("keyguard.toml"),
        "[env]\nAPP_GROQ = \"g\"\n",
    )
    .unwrap();
    let r = run_with(cmd(), &args, None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("APP_GROQ (from") && r.stderr.contains("keyguard.toml"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("APP_GROQ in fly"), "{}", r.stdout);

    let r = run_with(
        cmd(),
        &[
            "rotate",
            "groq",
            "--key",
            "g",
            "--env-name",
            "A B",
            "--dry-run",
        ],
        None,
    );
    assert_eq!(r.code, 2, "{}", r.stdout);
}

#[test]
fn rotate_list_says_what_each_provider_can_do() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_with(kg(dir.path(), &[]), &["rotate", "--list"], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("KEYGUARD_OPENAI_ADMIN_KEY"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("--param project="), "{}", r.stdout);
    let groq = r
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("groq"))
        .unwrap();
    assert!(groq.contains("create: by hand, revoke: by hand"), "{groq}");
    // The admin and setting notes are long: wrapped, each provider's block indented under it.
    for l in r.stdout.lines() {
        assert!(l.chars().count() <= 100, "wider than 100 columns: {l}");
    }
    let flat = r.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("set KEYGUARD_AWS_ADMIN_KEY or name a keychain entry with --admin-key NAME"),
        "{}",
        r.stdout
    );
    let ids: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let all: Vec<&str> = keyguard::providers::all().iter().map(|p| p.id()).collect();
    assert_eq!(ids, all, "one unindented-enough line per provider");
}

/// The interactive path through a pseudo-terminal: hidden prompt and confirmations.
#[cfg(unix)]
mod pty {
    use super::*;
    use rexpect::session::spawn_command;

    #[test]
    fn secret_service_pty_rotate_groq_interactively() {
        let Some(mut vars) = secret_service() else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let mut f = Fakes::new(101);
        let (old, new) = (groq_key(&mut f), groq_key(&mut f));
        let groq = fake_providers::groq();
        groq.make_live(&old);
        groq.make_live(&new);
        let name = unique("pt");
        store(dir.path(), &vars, &name, &old);
        vars.push(("KEYGUARD_GROQ_API_BASE".into(), groq.uri()));
        let mut cmd = kg(dir.path(), &vars);
        cmd.args([
            "rotate",
            "groq",
            "--key",
            &name,
            "--record-dir",
            "rec",
            "--no-audit",
            "--prove-timeout",
            "10",
        ]);
        let mut p = spawn_command(cmd, Some(30_000)).unwrap();
        p.exp_string("input is hidden): ").unwrap();
        p.send_line(&new).unwrap();
        p.exp_string("updated to the new GROQ_API_KEY?").unwrap();
        p.send("y").unwrap();
        p.flush().unwrap();
        p.exp_string("stops working everywhere.").unwrap();
        p.send("y").unwrap();
        p.flush().unwrap();
        p.exp_string("answer yes when done").unwrap();
        groq.kill(&old);
        p.send("y").unwrap();
        p.flush().unwrap();
        let shown = p.exp_eof().unwrap();
        assert!(shown.contains("the old key is dead"), "{shown}");
        assert!(!shown.contains(&new), "the typed key was echoed");
        assert_eq!(
            stored(dir.path(), &vars, &name).as_deref(),
            Some(new.as_str())
        );
        run_with(kg(dir.path(), &vars), &["key", "rm", &name], None);
    }
}

/// `--secret-hash` finds the old key in a repository's history (it was committed, then removed),
/// and step 7 lists that commit with its date.
#[test]
fn secret_service_rotate_by_secret_hash_finds_the_key_in_history_and_audits_it() {
    use crate::support::git::{Repo, git_available};
    let Some(mut vars) = secret_service() else {
        return;
    };
    if !git_available() && skip_missing("git") {
        return;
    }
    let mut f = Fakes::new(111);
    let (old, new) = (f.checksummed("ghp_"), f.checksummed("ghp_"));
    let repo = Repo::init();
    repo.write("deploy.sh", format!("export GITHUB_TOKEN={old}\n"));
    let leaked_in = repo.commit_all("deploy script");
    repo.write(
        "deploy.sh",
        "export GITHUB_TOKEN=\"$(keyguard key get gh)\"\n",
    );
    repo.commit_all("read the token from the keychain");
    let scan = crate::support::run_in(repo.path(), &["scan", "git", "--format", "json"]);
    assert_eq!(scan.code, 1, "{}", scan.stderr);
    let report: serde_json::Value = serde_json::from_str(&scan.stdout).unwrap();
    let hash = report["findings"][0]["secret_hash"]
        .as_str()
        .unwrap()
        .to_string();

    let github = fake_providers::github();
    github.make_live(&old);
    github.make_live(&new);
    vars.push(("KEYGUARD_GITHUB_API_BASE".into(), github.uri()));
    vars.push(("NEW".into(), new.clone()));
    let name = unique("sh");
    let work = tempfile::tempdir().unwrap();
    let repo_arg = repo.path().to_string_lossy().into_owned();
    let r = run_with(
        kg(work.path(), &vars),
        &[
            "rotate",
            "github",
            "--secret-hash",
            &hash,
            "--repo",
            &repo_arg,
            "--key",
            &name,
            "--new-key-env",
            "NEW",
            "--yes",
            "--record-dir",
            "rec",
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!github.is_live(&old));
    let text = record(&work.path().join("rec"));
    assert!(
        text.contains(&format!("deploy.sh:1 in commit {}", &leaked_in[..12])),
        "{text}"
    );
    assert!(text.contains("2024-01-01"), "{text}");
    assert!(text.contains("no longer at HEAD"), "{text}");
    assert!(text.contains("Rewriting history"), "{text}");
    assert_no_key(&everything_in(&work.path().join("rec")), &old, "the record");
    assert_no_key(&r.stderr, &old, "stderr");
    assert_eq!(
        stored(work.path(), &vars, &name).as_deref(),
        Some(new.as_str())
    );
    run_with(kg(work.path(), &vars), &["key", "rm", &name], None);
}
