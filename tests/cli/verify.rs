//! `keyguard verify` and `scan --verify` against local stand-ins for providers (wiremock, reached
//! through `KEYGUARD_<PROVIDER>_API_BASE`). Fake keys are generated here at run time.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use serde_json::{Value, json};
use wiremock::matchers::{any, header, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::providers::{Server, Trap};
use crate::support::{Fakes, Run, keyguard, write};

fn openai_key(f: &mut Fakes) -> String {
    format!("sk-proj-{}T3BlbkFJ{}", f.alnum(74), f.alnum(74))
}

fn groq_key(f: &mut Fakes) -> String {
    format!("gsk_{}", f.alnum(52))
}

fn github_key(f: &mut Fakes) -> String {
    f.checksummed("ghp_")
}

/// A format-valid fake key for each adapter. An adapter added to `providers::all()` needs an
/// entry here, or `no_request_goes_anywhere_but_the_configured_base` fails and says so.
fn fake_for(provider: &str, f: &mut Fakes) -> Option<String> {
    Some(match provider {
        "openai" => openai_key(f),
        "groq" => groq_key(f),
        "github" => github_key(f),
        "anthropic" => format!("sk-ant-api03-{}AA", f.alnum(93)),
        "google" => format!("AIza{}", f.alnum(35)),
        "mistral" => f.alnum(32),
        "openrouter" => format!("sk-or-v1-{}", f.hex(64)),
        "xai" => format!("xai-{}", f.alnum(80)),
        "deepseek" => format!("sk-{}", f.hex(32)),
        "cohere" => f.alnum(40),
        "huggingface" => format!("hf_{}", f.alnum(34)),
        "replicate" => format!("r8_{}", f.alnum(37)),
        "stripe" => format!("sk_live_{}", f.alnum(99)),
        "aws" => format!(
            "AKIA{}:{}",
            f.pick_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 16),
            f.alnum(40)
        ),
        "slack" => format!(
            "xoxb-{}-{}-{}",
            f.pick_from(b"0123456789", 12),
            f.pick_from(b"0123456789", 13),
            f.alnum(24)
        ),
        "twilio" => format!("AC{}:{}", f.hex(32), f.hex(32)),
        "sendgrid" => format!("SG.{}.{}", f.alnum(22), f.alnum(43)),
        _ => return None,
    })
}

/// Errors of a `verify --format json` document against docs/verify.schema.json.
fn verify_schema_errors(v: &Value) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/verify.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    validator.iter_errors(v).map(|e| e.to_string()).collect()
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

/// keyguard with `args`, `env` and `stdin`, in `dir` (a temp dir unless given).
fn verify_run(args: &[&str], env: &[(String, String)], stdin: &str, dir: Option<&Path>) -> Run {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = keyguard();
    cmd.current_dir(dir.unwrap_or(tmp.path()))
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // keyguard may refuse its arguments and exit before it reads a byte: a closed pipe is fine.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn overrides(server: &Server, providers: &[&str]) -> Vec<(String, String)> {
    providers
        .iter()
        .map(|p| {
            (
                format!("KEYGUARD_{}_API_BASE", p.to_uppercase()),
                server.uri(),
            )
        })
        .collect()
}

fn assert_no_key(run: &Run, keys: &[&str]) {
    for k in keys {
        let head = &k[..16];
        assert!(!run.stdout.contains(head), "key in stdout:\n{}", run.stdout);
        assert!(!run.stderr.contains(head), "key in stderr:\n{}", run.stderr);
    }
}

/// A server where `live_openai` and `live_groq` are live, `limited_groq` is rate limited and
/// every other key of the three providers is dead.
fn provider_server(live_openai: &str, live_groq: &str, limited_groq: &str) -> Server {
    let server = Server::start();
    server.mount(
        Mock::given(method("GET"))
            .and(path("/v1/models"))
            .and(header("authorization", bearer(live_openai).as_str()))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("openai-organization", "org-acme")
                    .set_body_json(json!({"object":"list","data":[]})),
            ),
    );
    server.mount(
        Mock::given(method("GET"))
            .and(path("/v1/models"))
            .respond_with(ResponseTemplate::new(401).set_body_json(
                json!({"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}),
            )),
    );
    server.mount(
        Mock::given(method("GET"))
            .and(path("/openai/v1/models"))
            .and(header("authorization", bearer(live_groq).as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data":[]}))),
    );
    server.mount(
        Mock::given(method("GET"))
            .and(path("/openai/v1/models"))
            .and(header("authorization", bearer(limited_groq).as_str()))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "30")),
    );
    server.mount(
        Mock::given(method("GET"))
            .and(path("/openai/v1/models"))
            .respond_with(ResponseTemplate::new(401).set_body_json(
                json!({"error":{"message":"Invalid API Key","type":"invalid_request_error","code":"invalid_api_key"}}),
            )),
    );
    server.mount(Mock::given(method("GET")).and(path("/user")).respond_with(
        ResponseTemplate::new(401).set_body_json(
            json!({"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}),
        ),
    ));
    server
}

fn line_for<'a>(stdout: &'a str, provider: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(provider))
        .unwrap_or_else(|| panic!("no line for {provider} in:\n{stdout}"))
}

#[test]
fn stdin_keys_of_several_providers_live_dead_and_unknown() {
    let mut f = Fakes::new(61);
    let (openai, groq_limited, github) = (openai_key(&mut f), groq_key(&mut f), github_key(&mut f));
    let server = provider_server(&openai, "none", &groq_limited);
    let env = overrides(&server, &["openai", "groq", "github"]);
    // Comments, blank lines, CRLF, surrounding spaces and a repeated key.
    let stdin =
        format!("# leaked on 2026-11-01\r\n{openai}\r\n\n  {groq_limited}  \n{github}\n{openai}\n");
    let r = verify_run(&["verify"], &env, &stdin, None);
    assert_eq!(
        r.code, 1,
        "live or unknown keys must exit 1\n{}{}",
        r.stdout, r.stderr
    );
    assert_eq!(
        r.stdout.lines().count(),
        3,
        "one line per distinct key:\n{}",
        r.stdout
    );
    let o = line_for(&r.stdout, "openai");
    assert!(o.contains(" live ") && o.contains("org-acme"), "{o}");
    assert!(o.starts_with("sk-proj-…"), "{o}");
    let g = line_for(&r.stdout, "groq");
    assert!(g.contains(" unknown ") && g.contains("429"), "{g}");
    let h = line_for(&r.stdout, "github");
    assert!(h.contains(" dead "), "{h}");
    for l in r.stdout.lines() {
        assert!(l.chars().count() <= 100, "wider than 100 columns: {l}");
    }
    for var in ["OPENAI", "GROQ", "GITHUB"] {
        let warning = format!("warning: KEYGUARD_{var}_API_BASE is set");
        assert_eq!(r.stderr.matches(&warning).count(), 1, "{}", r.stderr);
    }
    assert_no_key(&r, &[&openai, &groq_limited, &github]);
    // The repeated key was checked once.
    let openai_calls = server
        .requests()
        .iter()
        .filter(|q| q.url.path() == "/v1/models")
        .count();
    assert_eq!(openai_calls, 1);
}

#[test]
fn every_key_dead_exits_0_and_json_has_the_contract_fields() {
    let mut f = Fakes::new(62);
    let (openai, github) = (openai_key(&mut f), github_key(&mut f));
    let server = provider_server("none", "none", "none");
    let env = overrides(&server, &["openai", "github"]);
    let r = verify_run(
        &["verify", "--format", "json"],
        &env,
        &format!("{openai}\n{github}\n"),
        None,
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_no_key(&r, &[&openai, &github]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["version"], 1);
    assert!(
        verify_schema_errors(&v).is_empty(),
        "{:?}",
        verify_schema_errors(&v)
    );
    let keys = v["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for k in keys {
        for field in [
            "redacted",
            "provider",
            "rule_id",
            "secret_hash",
            "status",
            "account",
            "detail",
            "checked_at",
        ] {
            assert!(k.get(field).is_some(), "{field} missing in {k}");
        }
        assert_eq!(k["status"], "dead");
        assert_eq!(k["secret_hash"].as_str().unwrap().len(), 32);
        assert!(
            k["checked_at"]
                .as_str()
                .unwrap()
                .parse::<jiff::Timestamp>()
                .is_ok()
        );
    }
    assert_eq!(keys[0]["provider"], "openai");
    assert_eq!(keys[0]["rule_id"], "openai-project-api-key");
    assert_eq!(keys[1]["provider"], "github");
    assert!(keys[0]["detail"].as_str().unwrap().contains("401"));
}

#[test]
fn json_reports_a_live_key_with_its_account() {
    let mut f = Fakes::new(63);
    let (openai, groq) = (openai_key(&mut f), groq_key(&mut f));
    let server = provider_server(&openai, &groq, "none");
    let env = overrides(&server, &["openai", "groq"]);
    let r = verify_run(
        &["verify", "--format", "json"],
        &env,
        &format!("{openai}\n{groq}\n"),
        None,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        verify_schema_errors(&v).is_empty(),
        "{:?}",
        verify_schema_errors(&v)
    );
    assert_eq!(v["keys"][0]["status"], "live");
    assert_eq!(v["keys"][0]["account"], "org-acme");
    assert_eq!(v["keys"][1]["status"], "live");
    assert_eq!(v["keys"][1]["account"], Value::Null);
    assert_no_key(&r, &[&openai, &groq]);
}

#[test]
fn an_unknown_provider_lists_the_known_ones_and_exits_2() {
    let r = verify_run(&["verify", "--provider", "nonesuch"], &[], "x\n", None);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("unknown provider `nonesuch`"),
        "{}",
        r.stderr
    );
    for id in ["openai", "groq", "github"] {
        assert!(r.stderr.contains(id), "{}", r.stderr);
    }
}

#[test]
fn a_format_mismatch_is_reported_before_any_request() {
    let mut f = Fakes::new(64);
    let openai = openai_key(&mut f);
    let server = provider_server("none", "none", "none");
    let env = overrides(&server, &["openai", "groq"]);
    let r = verify_run(
        &["verify", "--provider", "groq"],
        &env,
        &format!("{openai}\n"),
        None,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains(" unknown "), "{}", r.stdout);
    assert!(
        r.stdout.contains("does not look like a Groq key"),
        "{}",
        r.stdout
    );
    assert!(server.requests().is_empty(), "a request was made");
    assert_no_key(&r, &[&openai]);
}

#[test]
fn keys_keyguard_cannot_check_are_unknown_without_a_request() {
    let server = Server::start();
    server.mount(Mock::given(any()).respond_with(ResponseTemplate::new(200)));
    let env = overrides(&server, &["openai", "groq", "github"]);
    let r = verify_run(&["verify"], &env, "just-some-text-value\n", None);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains(" unknown "), "{}", r.stdout);
    // The next step, on the key's one line (a list of 500 stray lines stays readable).
    assert!(
        r.stdout.contains("no known format: try --provider NAME"),
        "{}",
        r.stdout
    );
    assert_eq!(r.stdout.lines().count(), 1, "{}", r.stdout);
    assert!(server.requests().is_empty());
}

#[test]
fn an_invalid_override_is_an_error_before_any_request() {
    let mut f = Fakes::new(65);
    let groq = groq_key(&mut f);
    let env = vec![(
        "KEYGUARD_GROQ_API_BASE".to_string(),
        "ftp://127.0.0.1:9".to_string(),
    )];
    let r = verify_run(&["verify"], &env, &format!("{groq}\n"), None);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("KEYGUARD_GROQ_API_BASE"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
}

#[test]
fn no_keys_is_an_error() {
    let r = verify_run(&["verify"], &[], "# nothing\n\n", None);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no keys to verify"), "{}", r.stderr);
}

#[test]
fn no_request_goes_anywhere_but_the_configured_base() {
    let trap = Trap::start();
    let mut f = Fakes::new(66);
    let mut missing = Vec::new();
    for p in keyguard::providers::all() {
        let Some(key) = fake_for(p.id(), &mut f) else {
            missing.push(p.id());
            continue;
        };
        // A fresh server per provider, answering anything: the adapter's call must reach it.
        let server = Server::start();
        server.mount(
            Mock::given(any()).respond_with(ResponseTemplate::new(200).set_body_json(json!({}))),
        );
        // Every provider's override points at the server, and the proxy variables at the trap:
        // a request to any other host (an official one, a redirect target) lands in the trap.
        let mut env = trap.env();
        for q in keyguard::providers::all() {
            env.push((
                keyguard::providers::http::override_var(q.id()),
                server.uri(),
            ));
        }
        let r = verify_run(
            &["verify", "--timeout", "5", "--provider", p.id()],
            &env,
            &format!("{key}\n"),
            None,
        );
        assert!(r.code == 0 || r.code == 1, "{}: {}", p.id(), r.stderr);
        assert!(
            !r.stdout.contains("does not look like"),
            "{}: the fake key is not in the adapter's format: {}",
            p.id(),
            r.stdout
        );
        assert!(
            !server.requests().is_empty(),
            "{}: no request reached the configured base:\n{}",
            p.id(),
            r.stdout
        );
        assert!(
            trap.seen().is_empty(),
            "{}: a request went past the base: {:?}",
            p.id(),
            trap.seen()
        );
        assert_eq!(r.stdout.lines().count(), 1, "{}: {}", p.id(), r.stdout);
    }
    assert!(
        missing.is_empty(),
        "add a fake key generator to fake_for() for: {missing:?}"
    );
}

#[test]
fn without_an_override_only_the_official_host_is_asked() {
    let trap = Trap::start();
    let mut f = Fakes::new(67);
    let groq = groq_key(&mut f);
    let r = verify_run(
        &["verify", "--timeout", "5"],
        &trap.env(),
        &format!("{groq}\n"),
        None,
    );
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(" unknown "), "{}", r.stdout);
    let seen = trap.seen();
    assert!(!seen.is_empty(), "no request reached the proxy");
    for line in &seen {
        assert!(line.starts_with("CONNECT api.groq.com:443 "), "{seen:?}");
    }
    assert!(!r.stderr.contains("API_BASE"), "{}", r.stderr);
    assert_no_key(&r, &[&groq]);
}

#[test]
fn scan_verify_fills_validation_and_plain_scan_makes_no_request() {
    let mut f = Fakes::new(68);
    let (openai, github) = (openai_key(&mut f), github_key(&mut f));
    let server = provider_server(&openai, "none", "none");
    let env = overrides(&server, &["openai", "groq", "github"]);
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "app.env",
        format!("OPENAI_API_KEY={openai}\nGITHUB_TOKEN={github}\n"),
    );
    write(
        dir.path(),
        "copy/config.py",
        format!("key = \"{openai}\"\n"),
    );

    let plain = verify_run(&["scan", "--format", "json"], &env, "", Some(dir.path()));
    assert_eq!(plain.code, 1, "{}", plain.stderr);
    assert!(
        server.requests().is_empty(),
        "scan without --verify made a request"
    );
    let v: Value = serde_json::from_str(&plain.stdout).unwrap();
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f.get("validation").is_none())
    );

    let r = verify_run(
        &["scan", "--format", "json", "--verify"],
        &env,
        "",
        Some(dir.path()),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_no_key(&r, &[&openai, &github]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        crate::support::json_schema_errors(&v).is_empty(),
        "{:?}",
        crate::support::json_schema_errors(&v)
    );
    let findings = v["findings"].as_array().unwrap();
    let status = |provider: &str| -> Vec<String> {
        findings
            .iter()
            .filter(|f| f["provider"] == provider)
            .map(|f| {
                f["validation"]["status"]
                    .as_str()
                    .unwrap_or("none")
                    .to_string()
            })
            .collect()
    };
    assert_eq!(status("openai"), ["live", "live"], "{}", r.stdout);
    assert_eq!(status("github"), ["dead"], "{}", r.stdout);
    // One key in two files: one request.
    let paths: Vec<String> = server
        .requests()
        .iter()
        .map(|q| q.url.path().to_string())
        .collect();
    assert_eq!(
        paths.iter().filter(|p| *p == "/v1/models").count(),
        1,
        "{paths:?}"
    );
    assert!(
        r.stderr
            .contains("verified 2 keys: 1 live, 1 dead, 0 unknown"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("warning: KEYGUARD_OPENAI_API_BASE is set"),
        "{}",
        r.stderr
    );

    // The human report shows the status beside the finding.
    let h = verify_run(&["scan", "--verify"], &env, "", Some(dir.path()));
    assert!(
        h.stdout
            .lines()
            .any(|l| l.contains("openai") && l.ends_with("live")),
        "{}",
        h.stdout
    );
}

#[cfg(target_os = "linux")]
#[test]
fn keychain_entries_are_verified_by_name() {
    if std::process::Command::new("keyctl")
        .arg("--version")
        .output()
        .is_err()
    {
        crate::support::skip_missing("keyctl (package keyutils), for a session keyring");
        return;
    }
    let mut f = Fakes::new(69);
    let github = github_key(&mut f);
    let server = provider_server("none", "none", "none");
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_keyguard");
    // One session keyring for both commands: `keyctl session - CMD` makes one and runs CMD in it.
    let script = format!(
        "'{bin}' key set gh --from-env GH_VALUE --profile ci >/dev/null 2>&1 || exit 9; \
         '{bin}' verify --key gh --profile ci"
    );
    let out = std::process::Command::new("keyctl")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("NO_COLOR", "1")
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("KEYGUARD_KEYSTORE", "keyutils")
        .env("GH_VALUE", &github)
        .env("KEYGUARD_GITHUB_API_BASE", server.uri())
        .current_dir(dir.path())
        .args(["session", "-", "sh", "-c", &script])
        .output()
        .unwrap();
    let r = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    if r.code == 9 {
        crate::support::skip_missing("a kernel session keyring keyguard can write to");
        return;
    }
    assert_eq!(r.code, 0, "a dead key exits 0\n{}{}", r.stdout, r.stderr);
    let line = line_for(&r.stdout, "github");
    assert!(
        line.starts_with("ghp_…") && line.contains(" dead "),
        "{line}"
    );
    assert_no_key(&r, &[&github]);
    assert_eq!(server.requests().len(), 1);
}

#[cfg(target_os = "linux")]
#[test]
fn a_terminal_on_stdin_without_key_is_refused() {
    // util-linux `script` gives keyguard a pseudo-terminal as standard input; -e passes on its
    // exit status.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        crate::support::skip_missing("script (util-linux), for a pseudo-terminal");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_keyguard");
    let out = std::process::Command::new("script")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .args(["-qec", &format!("'{bin}' verify"), "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("give keys on standard input or name a keychain entry with --key NAME"),
        "{text}"
    );
}

/// `scan --verify` on a file holding an AWS access key id and its secret: the scan joins them
/// into one pair, the fake STS sees one signed `GetCallerIdentity`, and every AWS finding of the
/// pair (the id's and the secret's) carries the result.
#[test]
fn scan_verify_pairs_an_aws_key_id_with_its_secret_in_the_same_file() {
    use wiremock::matchers::{body_string_contains, header_regex};
    let mut f = Fakes::new(70);
    let id = format!(
        "AKIA{}",
        f.pick_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
    );
    let secret = f.alnum(40);
    let server = Server::start();
    server.mount(
        Mock::given(method("POST"))
            .and(path("/"))
            .and(body_string_contains("Action=GetCallerIdentity"))
            .and(header_regex(
                "authorization",
                &format!("^AWS4-HMAC-SHA256 Credential={id}/"),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_string(
                "<GetCallerIdentityResponse><GetCallerIdentityResult>\
                 <Arn>arn:aws:iam::123456789012:user/ci</Arn><UserId>AIDAFAKE</UserId>\
                 <Account>123456789012</Account></GetCallerIdentityResult>\
                 </GetCallerIdentityResponse>",
            )),
    );
    server.mount(Mock::given(any()).respond_with(ResponseTemplate::new(404)));
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "deploy/.env",
        format!("AWS_ACCESS_KEY_ID={id}\nAWS_SECRET_ACCESS_KEY={secret}\nAWS_REGION=eu-west-1\n"),
    );
    let env = overrides(&server, &["aws"]);
    let r = verify_run(
        &["scan", "--format", "json", "--verify"],
        &env,
        "",
        Some(dir.path()),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_no_key(&r, &[&secret]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let aws: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["provider"] == "aws")
        .collect();
    let rules: Vec<&str> = aws.iter().map(|f| f["rule_id"].as_str().unwrap()).collect();
    assert!(rules.contains(&"aws-access-key-id"), "{rules:?}");
    assert!(
        rules
            .iter()
            .any(|r| *r == "aws-secret-access-key" || *r == "aws-credential-pair"),
        "{rules:?}"
    );
    for f in &aws {
        assert_eq!(
            f["validation"]["status"], "live",
            "{}: {}",
            f["rule_id"], r.stdout
        );
    }
    let sts: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|q| String::from_utf8_lossy(&q.body).contains("Action=GetCallerIdentity"))
        .collect();
    assert_eq!(sts.len(), 1, "one pair, one signed request");
    assert_eq!(server.requests().len(), 1, "nothing but the STS call");
    assert!(
        r.stderr
            .contains("verified 1 key: 1 live, 0 dead, 0 unknown"),
        "{}",
        r.stderr
    );
}

/// The README's table of adapters says what each one does by API; it must not drift from the
/// adapters themselves (a new adapter, or one that gains `create`, updates the table).
#[test]
fn readme_adapter_table_matches_the_adapters() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let rows: Vec<Vec<&str>> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| Provider | Verify"))
        .take_while(|l| l.starts_with('|'))
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
        .collect();
    let by = |yes: bool| if yes { "API" } else { "by hand" };
    for p in keyguard::providers::all() {
        let id = format!("`{}`", p.id());
        let row = rows
            .iter()
            .find(|r| r[0] == id)
            .unwrap_or_else(|| panic!("README's adapter table has no row for {id}"));
        assert_eq!(row.len(), 5, "{row:?}");
        let c = p.capabilities();
        assert!(c.verify, "{id}: the table assumes every adapter verifies");
        assert!(row[2].starts_with(by(c.create)), "{id} create: {row:?}");
        assert!(row[3].starts_with(by(c.revoke)), "{id} revoke: {row:?}");
        match p.admin() {
            Some(a) => assert!(row[4].contains(a.env), "{id} admin: {row:?}"),
            None => assert_eq!(row[4], "—", "{id} admin: {row:?}"),
        }
    }
    assert_eq!(
        rows.len(),
        keyguard::providers::all().len(),
        "rows for adapters that do not exist"
    );
}

/// `ID:SECRET` pairs on standard input: each is named by the rule of its id half (a Twilio API key
/// is not an account SID), shown with both halves redacted so the user can tell which key it is,
/// and a long detail is wrapped onto indented lines within 100 columns, never cut.
#[test]
fn pairs_on_stdin_are_named_by_their_id_and_long_details_wrap_instead_of_being_cut() {
    let mut f = Fakes::new(71);
    let aws_id = format!(
        "AKIA{}",
        f.pick_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
    );
    let aws = format!("{aws_id}:{}", f.alnum(40));
    let twilio_sk = format!("SK{}:{}", f.hex(32), f.alnum(32));
    let twilio_ac = format!("AC{}:{}", f.hex(32), f.hex(32));
    let server = Server::start();
    server.mount(Mock::given(any()).respond_with(ResponseTemplate::new(401)));
    let env = overrides(&server, &["aws", "twilio"]);
    let stdin = format!("{aws}\n{twilio_sk}\n{twilio_ac}\n{aws_id}\n");

    let r = verify_run(&["verify", "--format", "json"], &env, &stdin, None);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let rules: Vec<&str> = v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["rule_id"].as_str().unwrap_or("none"))
        .collect();
    assert_eq!(
        rules,
        [
            "aws-access-key-id",
            "twilio-api-key-sid",
            "twilio-account-sid",
            "aws-access-key-id"
        ],
        "{}",
        r.stdout
    );

    let r = verify_run(&["verify"], &env, &stdin, None);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_no_key(&r, &[&aws[21..], &twilio_sk[35..], &twilio_ac[35..]]);
    let starts: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| !l.starts_with(' '))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(starts.len(), 4, "{}", r.stdout);
    assert!(
        starts[0].starts_with("AKIA…") && starts[0].contains(":…"),
        "{starts:?}"
    );
    assert!(
        starts[1].starts_with("SK…") && starts[1].contains(":…"),
        "{starts:?}"
    );
    assert!(starts[2].starts_with("AC…"), "{starts:?}");
    for l in r.stdout.lines() {
        assert!(l.chars().count() <= 100, "wider than 100 columns: {l}");
        assert!(!l.ends_with('…'), "a detail was cut: {l}");
    }
    // The lone id's detail says what to do; its end is on a continuation line.
    let flat = r.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("given as ACCESS_KEY_ID:SECRET_ACCESS_KEY"),
        "{}",
        r.stdout
    );
}
