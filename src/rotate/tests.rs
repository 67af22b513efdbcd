//! The playbook's driver with scripted answers, the mock keychain and a local provider that keeps
//! state (a key it was told is revoked answers 401), so "proven dead" observes a real change.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use wiremock::{Mock, Request, Respond, ResponseTemplate, matchers::method};

use super::*;
use crate::keychain::{StoreKind, open_store};
use crate::providers::testing::Server;

/// Answers from a closure over the question, so a test can act (revoke at the fake provider)
/// when the playbook asks whether the key is revoked.
struct Scripted<F: FnMut(&str) -> Option<bool>> {
    confirm: F,
    secrets: Vec<Secret>,
    asked: Vec<String>,
}

impl<F: FnMut(&str) -> Option<bool>> Ask for Scripted<F> {
    fn interactive(&self) -> bool {
        true
    }
    fn confirm(&mut self, q: &str, _: bool) -> anyhow::Result<Option<bool>> {
        self.asked.push(q.to_string());
        Ok((self.confirm)(q))
    }
    fn ask_person(&mut self, q: &str) -> anyhow::Result<Option<bool>> {
        self.asked.push(q.to_string());
        Ok((self.confirm)(q))
    }
    fn secret(&mut self, q: &str) -> anyhow::Result<Option<Secret>> {
        self.asked.push(q.to_string());
        Ok(self.secrets.pop())
    }
}

/// A Groq whose /openai/v1/models answers 200 for live keys and 401 for any other.
#[derive(Clone, Default)]
struct FakeGroq {
    live: Arc<Mutex<HashSet<String>>>,
}

impl Respond for FakeGroq {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let auth = r
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .trim_start_matches("Bearer ")
            .to_string();
        if self.live.lock().unwrap().contains(&auth) {
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"object":"list","data":[]}))
        } else {
            ResponseTemplate::new(401).set_body_json(
                serde_json::json!({"error":{"message":"Invalid API Key","type":"invalid_request_error","code":"invalid_api_key"}}),
            )
        }
    }
}

fn groq_key(seed: u32) -> Secret {
    let body: String = (0..52u32)
        .map(|i| {
            b"abcdefghijkmnopqrstuvwxyzABCDEFGH0123456789"
                [((i * 7 + seed * 13 + i * i) % 43) as usize] as char
        })
        .collect();
    Secret::new(format!("gsk_{body}").as_bytes())
}

fn text(s: &Secret) -> String {
    String::from_utf8(s.expose().to_vec()).unwrap()
}

fn mock_keychain() -> Keychain {
    Keychain::new(StoreKind::Mock, open_store(StoreKind::Mock).unwrap(), None)
}

fn options(record_dir: &Path, repo: &Path) -> Options {
    Options {
        provider: providers::find("groq").unwrap(),
        profile: "default".into(),
        key_name: "groq".into(),
        admin_key: None,
        params: Params::new(),
        deploy: vec!["fly".into()],
        env_name: "GROQ_API_KEY".into(),
        revoke_first: false,
        record_dir: record_dir.to_path_buf(),
        repo: repo.to_path_buf(),
        audit: true,
        prove_timeout: Duration::from_secs(3),
        poll_interval: Duration::from_millis(50),
    }
}

fn session(server: &Server) -> Session {
    let mut s = Session::new(Duration::from_secs(2));
    s.set_override(providers::find("groq").unwrap(), server.base());
    s
}

/// Everything the run wrote, for "no key anywhere" checks.
fn all_files(dir: &Path) -> String {
    let mut text = String::new();
    for e in ignore::WalkBuilder::new(dir)
        .hidden(false)
        .build()
        .flatten()
    {
        if e.file_type().is_some_and(|t| t.is_file()) {
            text.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
        }
    }
    text
}

fn assert_no_key(haystack: &str, key: &Secret) {
    let k = text(key);
    for i in 0..=k.len() - 12 {
        assert!(
            !haystack.contains(&k[i..i + 12]),
            "12 characters of a key leaked: {}",
            &k[i..i + 12]
        );
    }
}

#[test]
fn groq_by_hand_is_guided_stored_revoked_proven_and_recorded() {
    let server = Server::start();
    let fake = FakeGroq::default();
    let (old, new) = (groq_key(1), groq_key(2));
    fake.live.lock().unwrap().insert(text(&old));
    fake.live.lock().unwrap().insert(text(&new));
    server.mount(Mock::given(method("GET")).respond_with(fake.clone()));
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(repo.join(".env"), format!("GROQ_API_KEY={}\n", text(&old))).unwrap();
    let records = dir.path().join("records");
    let opts = options(&records, &repo);
    let kc = mock_keychain();
    kc.set("default", "groq", &old, "t0").unwrap();
    let session = session(&server);
    let live = fake.live.clone();
    let old_text = text(&old);
    let mut ask = Scripted {
        // The user deletes the key in the console when told how, then says so.
        confirm: move |q: &str| {
            if q.contains("revoked") {
                live.lock().unwrap().remove(&old_text);
            }
            Some(true)
        },
        secrets: vec![new.clone()],
        asked: vec![],
    };
    let mut out = Vec::new();
    let run = Run {
        opts: &opts,
        state: new_state(&opts),
        keys: Keys {
            old: old.clone(),
            new: None,
            admin: None,
        },
        keychain: &kc,
        session: &session,
        ask: &mut ask,
        out: &mut out,
    };
    assert_eq!(run.run().unwrap(), Finished::Dead);
    let shown = String::from_utf8(out).unwrap();
    assert!(shown.contains("https://console.groq.com/keys"), "{shown}");
    assert!(
        shown.contains("keyguard key get groq | sed 's/^/GROQ_API_KEY=/' | flyctl secrets import"),
        "{shown}"
    );
    assert!(shown.contains("the old key is dead"), "{shown}");
    assert!(
        shown.contains(".env:1"),
        "the audit names the file: {shown}"
    );
    assert_eq!(kc.get("default", "groq").unwrap(), new);
    assert!(kc.get("default", "groq.rotating-old").is_err());
    assert!(kc.get("default", "groq.rotating-new").is_err());
    let written = all_files(&records);
    assert!(
        written.contains("Prove the old key dead — done"),
        "{written}"
    );
    assert!(written.contains(&crate::finding::secret_hash(old.expose())));
    assert_no_key(&written, &old);
    assert_no_key(&written, &new);
    assert_no_key(&shown, &old);
    assert_no_key(&shown, &new);
}

#[test]
fn a_script_stops_at_a_confirmation_and_resume_finishes() {
    let server = Server::start();
    let fake = FakeGroq::default();
    let (old, new) = (groq_key(3), groq_key(4));
    fake.live.lock().unwrap().insert(text(&old));
    fake.live.lock().unwrap().insert(text(&new));
    server.mount(Mock::given(method("GET")).respond_with(fake.clone()));
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(&dir.path().join("records"), dir.path());
    opts.audit = false;
    let kc = mock_keychain();
    kc.set("default", "groq", &old, "t0").unwrap();
    let session = session(&server);

    let mut ask = Script { yes: false };
    let mut out = Vec::new();
    let run = Run {
        opts: &opts,
        state: new_state(&opts),
        keys: Keys {
            old: old.clone(),
            new: Some(new.clone()),
            admin: None,
        },
        keychain: &kc,
        session: &session,
        ask: &mut ask,
        out: &mut out,
    };
    let err = run.run().unwrap_err().to_string();
    assert!(err.contains("--yes"), "{err}");
    assert!(err.contains("--resume"), "{err}");
    // Stopped at step 4's confirmation: the new key is stored, the old one kept, nothing revoked.
    let saved = state::latest_unfinished(&opts.record_dir).unwrap();
    assert!(saved.done(Step::Verify) && !saved.done(Step::Store));
    assert_eq!(kc.get("default", "groq.rotating-old").unwrap(), old);
    assert_eq!(kc.get("default", "groq.rotating-new").unwrap(), new);

    // The user revokes by hand in the console, then resumes with --yes.
    fake.live.lock().unwrap().remove(&text(&old));
    let mut ask = Script { yes: true };
    let mut out = Vec::new();
    let run = Run {
        opts: &opts,
        state: saved,
        keys: Keys {
            old: kc.get("default", "groq.rotating-old").unwrap(),
            new: Some(kc.get("default", "groq.rotating-new").unwrap()),
            admin: None,
        },
        keychain: &kc,
        session: &session,
        ask: &mut ask,
        out: &mut out,
    };
    assert_eq!(run.run().unwrap(), Finished::Dead);
    let shown = String::from_utf8(out).unwrap();
    assert!(
        !shown.contains("1. Identify"),
        "finished steps are not redone: {shown}"
    );
    assert!(
        shown.contains("confirmed by --yes") || shown.contains("dead"),
        "{shown}"
    );
    assert_eq!(kc.get("default", "groq").unwrap(), new);
}

#[test]
fn an_unverifiable_new_key_stops_a_script_even_with_yes() {
    let server = Server::start();
    server.mount(Mock::given(method("GET")).respond_with(ResponseTemplate::new(503)));
    let dir = tempfile::tempdir().unwrap();
    let opts = options(&dir.path().join("records"), dir.path());
    let kc = mock_keychain();
    let session = session(&server);
    let mut ask = Script { yes: true };
    let mut out = Vec::new();
    let run = Run {
        opts: &opts,
        state: new_state(&opts),
        keys: Keys {
            old: groq_key(5),
            new: Some(groq_key(6)),
            admin: None,
        },
        keychain: &kc,
        session: &session,
        ask: &mut ask,
        out: &mut out,
    };
    let err = run.run().unwrap_err().to_string();
    assert!(err.contains("the new key's status is unknown: "), "{err}");
    assert!(err.contains("\nhint: check the new key by hand"), "{err}");
    let saved = state::latest_unfinished(&opts.record_dir).unwrap();
    assert!(!saved.done(Step::Verify));
    assert!(!saved.done(Step::Revoke));
}

#[test]
fn the_plan_names_every_step_and_what_it_would_do() {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path(), dir.path());
    let shown = plan(&opts, &OldSource::Keychain, &NewSource::Auto, false);
    for step in order(false) {
        assert!(shown.contains(step.title()), "{shown}");
    }
    assert_fits(&shown);
    let flat = flatten(&shown);
    assert!(flat.contains("https://console.groq.com/keys"), "{shown}");
    assert!(flat.contains("GROQ_API_KEY in fly"), "{shown}");
    let first = plan(
        &Options {
            revoke_first: true,
            ..options(dir.path(), dir.path())
        },
        &OldSource::Keychain,
        &NewSource::Stdin,
        false,
    );
    let revoke = first.find("5. Revoke").unwrap();
    let create = first.find("2. Create").unwrap();
    assert!(revoke < create, "{first}");
}

/// The plan's lines are wrapped for a 100-column terminal.
fn assert_fits(text: &str) {
    for l in text.lines() {
        assert!(l.chars().count() <= 100, "wider than 100 columns: {l}");
    }
}

/// `text` with its line breaks and indents as single spaces: what it says, however wrapped.
fn flatten(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_plan_says_what_would_let_keyguard_create_the_key_by_api() {
    let dir = tempfile::tempdir().unwrap();
    let openai = Options {
        provider: providers::find("openai").unwrap(),
        key_name: "openai".into(),
        env_name: "OPENAI_API_KEY".into(),
        ..options(dir.path(), dir.path())
    };
    // No admin credential: by hand, and what would make it by API, with the missing setting.
    let shown = plan(&openai, &OldSource::Keychain, &NewSource::Auto, false);
    assert_fits(&shown);
    let flat = flatten(&shown);
    assert!(
        flat.contains(
            "to have keyguard create it by the OpenAI API instead: set KEYGUARD_OPENAI_ADMIN_KEY \
             or --admin-key NAME, and --param project=…"
        ),
        "{shown}"
    );
    assert!(
        flat.contains("with an admin credential (set KEYGUARD_OPENAI_ADMIN_KEY"),
        "{shown}"
    );
    // An admin credential but no project: by API, and the setting it still needs.
    let shown = plan(&openai, &OldSource::Keychain, &NewSource::Auto, true);
    assert!(
        flatten(&shown)
            .contains("create the new key by the OpenAI API (it needs --param project=…)"),
        "{shown}"
    );
    // Everything given: nothing more to say.
    let mut params = Params::new();
    params.insert("project".into(), "proj_x".into());
    let ready = Options { params, ..openai };
    let shown = flatten(&plan(&ready, &OldSource::Keychain, &NewSource::Auto, true));
    assert!(
        shown.contains("create the new key by the OpenAI API "),
        "{shown}"
    );
    assert!(!shown.contains("it needs"), "{shown}");
    // A provider without a key API only says where to do it by hand.
    let groq = flatten(&plan(
        &options(dir.path(), dir.path()),
        &OldSource::Keychain,
        &NewSource::Auto,
        false,
    ));
    assert!(!groq.contains("to have keyguard create it"), "{groq}");
    assert!(
        groq.contains("--new-key-stdin or --new-key-env VAR"),
        "{groq}"
    );
}

#[test]
fn at_a_terminal_a_person_may_go_on_with_an_unverifiable_key_and_the_record_says_so() {
    let server = Server::start();
    server.mount(Mock::given(method("GET")).respond_with(ResponseTemplate::new(503)));
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(&dir.path().join("records"), dir.path());
    opts.audit = false;
    opts.prove_timeout = Duration::ZERO;
    let kc = mock_keychain();
    let session = session(&server);
    let mut ask = Scripted {
        confirm: |_: &str| Some(true),
        secrets: vec![],
        asked: vec![],
    };
    let mut out = Vec::new();
    let run = Run {
        opts: &opts,
        state: new_state(&opts),
        keys: Keys {
            old: groq_key(7),
            new: Some(groq_key(8)),
            admin: None,
        },
        keychain: &kc,
        session: &session,
        ask: &mut ask,
        out: &mut out,
    };
    // The old key cannot be proven dead either (the provider is down): finished, not proven.
    assert_eq!(run.run().unwrap(), Finished::NotProven);
    assert!(ask.asked.iter().any(|q| q.contains("could not be checked")));
    let record = all_files(&opts.record_dir);
    assert!(record.contains("went on without a check"), "{record}");
    assert!(record.contains("NOT PROVEN"), "{record}");
}

#[test]
fn revoke_first_kills_the_old_key_before_a_new_one_exists() {
    let server = Server::start();
    let fake = FakeGroq::default();
    let (old, new) = (groq_key(9), groq_key(10));
    fake.live.lock().unwrap().insert(text(&old));
    fake.live.lock().unwrap().insert(text(&new));
    server.mount(Mock::given(method("GET")).respond_with(fake.clone()));
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(&dir.path().join("records"), dir.path());
    opts.revoke_first = true;
    opts.audit = false;
    let kc = mock_keychain();
    kc.set("default", "groq", &old, "t0").unwrap();
    let session = session(&server);
    let live = fake.live.clone();
    let old_text = text(&old);
    let mut ask = Scripted {
        confirm: move |q: &str| {
            if q.contains("revoked") {
                live.lock().unwrap().remove(&old_text);
            }
            Some(true)
        },
        secrets: vec![new.clone()],
        asked: vec![],
    };
    let mut out = Vec::new();
    let run = Run {
        opts: &opts,
        state: new_state(&opts),
        keys: Keys {
            old: old.clone(),
            new: None,
            admin: None,
        },
        keychain: &kc,
        session: &session,
        ask: &mut ask,
        out: &mut out,
    };
    assert_eq!(run.run().unwrap(), Finished::Dead);
    let shown = String::from_utf8(out).unwrap();
    let (revoke, prove, create) = (
        shown.find("5. Revoke").unwrap(),
        shown.find("the old key is dead").unwrap(),
        shown.find("2. Create").unwrap(),
    );
    assert!(revoke < prove && prove < create, "{shown}");
    assert!(shown.contains("--revoke-first"), "{shown}");
    let typed_at = ask
        .asked
        .iter()
        .position(|q| q.contains("input is hidden"))
        .unwrap();
    let revoked_at = ask
        .asked
        .iter()
        .position(|q| q.contains("revoked"))
        .unwrap();
    assert!(revoked_at < typed_at, "{:?}", ask.asked);
    assert_eq!(kc.get("default", "groq").unwrap(), new);
}

/// A setting that is a dot segment would be resolved by the URL parser even percent-encoded
/// (`/projects/%2E%2E/api_keys` is `/api_keys`): refused before any request.
#[test]
fn settings_that_are_dot_segments_are_refused() {
    for bad in ["..", ".", " .. ", "", "proj\n1"] {
        assert!(check_param_value("project", bad).is_err(), "{bad:?}");
    }
    assert!(check_param_value("project", "proj_abc.1").is_ok());
    // Why: the encoded form is still a parent segment to the URL parser.
    let url = reqwest::Url::parse("https://api.example.com/v1/projects/%2E%2E/api_keys").unwrap();
    assert_eq!(url.path(), "/v1/api_keys");
}

/// The audit reads the repository in place: a build directory that is a link out of it (to a
/// home directory, to `/`) is not followed.
#[cfg(unix)]
#[test]
fn the_audit_does_not_follow_a_build_directory_linked_out_of_the_repository() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let key = groq_key(9);
    // Generated code with a source map: what only the build-output scan reports.
    let bundle = |d: &Path| {
        std::fs::create_dir_all(d).unwrap();
        std::fs::write(
            d.join("app.js"),
            format!("\"{}\";\n//# sourceMappingURL=app.js.map\n", text(&key)),
        )
        .unwrap();
        std::fs::write(
            d.join("app.js.map"),
            r#"{"version":3,"sources":["../src/a.ts"],"names":[],"mappings":"AAAA"}"#,
        )
        .unwrap();
    };
    bundle(&outside);
    let hash = crate::finding::secret_hash(key.expose());
    // Control: inside the repository, the same build output is found as such.
    bundle(&repo.join("build"));
    let inside = audit::places(&repo, &hash).unwrap();
    assert!(
        inside.iter().any(|p| p.contains("build output")),
        "{inside:?}"
    );
    std::fs::remove_dir_all(repo.join("build")).unwrap();
    std::os::unix::fs::symlink(&outside, repo.join("dist")).unwrap();
    assert_eq!(audit::places(&repo, &hash).unwrap(), Vec::<String>::new());
}
