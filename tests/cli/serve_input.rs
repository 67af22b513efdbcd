//! `keyguard serve` against bad input and hostile clients (the issue's "Bad input" section), and
//! the transport rules around it: malformed JSON, wrong content type and wrong method in the
//! provider's error shape, huge headers, clients that send their headers or body slowly,
//! configurations that must not start (a literal key, an unknown provider, an unreachable Redis,
//! a non-loopback `listen` without `--listen`), `/metrics` off loopback, `--log-bodies`, and the
//! SIGHUP key reload. The built binary in front of a wiremock upstream, as in `serve.rs`; every
//! response and log is checked for the provider key.
//!
//! The slow-client tests shorten the server's timeouts with `KEYGUARD_SERVE_HEADER_TIMEOUT_MS`
//! and `KEYGUARD_SERVE_BODY_TIMEOUT_MS` (defaults 10 s and 30 s): they assert that the connection
//! is closed or refused, which without the timeouts would not happen at all.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::serve::{Reply, assert_no_key, call, mock_upstream, post};
use crate::support::proxy::{Proxy, provider_key};
use crate::support::{Fakes, keyguard, run_in, write};

const ROUTES: &str = r#"
[[serve.routes]]
provider = "openai"
key = "env:PROXY_OPENAI_KEY"
models = ["gpt-4o-mini", "gpt-4.1-mini"]
max_tokens = 256

[[serve.routes]]
provider = "anthropic"
key = "env:PROXY_ANTHROPIC_KEY"
models = ["claude-haiku-4-5"]
max_tokens = 256
"#;

/// A directory with a keyguard.toml (`serve` lines, then the routes) and a token for alice.
fn setup(serve: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "keyguard.toml",
        format!("[serve]\nstore = \"sqlite:serve.db\"\n{serve}\n{ROUTES}"),
    );
    let run = run_in(dir.path(), &["token", "issue", "--user", "alice"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    (dir, run.stdout.trim().to_string())
}

/// A request with a raw body (the helpers in `serve.rs` send JSON).
fn raw(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut req = client.request(method.parse().unwrap(), url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.body(body.to_string()).send().unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.text().unwrap();
    Reply {
        status,
        headers,
        body,
    }
}

/// Everything the server sends on `sock` until it closes the connection (a reset counts as
/// closed). Panics if it is still open after 20 s.
fn read_until_closed(sock: &mut TcpStream) -> String {
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match sock.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!(
                "the server kept the connection open ({e}); got so far: {}",
                String::from_utf8_lossy(&got)
            ),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// `keyguard serve` that must refuse to start: its exit code and stderr.
fn refused(dir: &Path, args: &[&str], key: &str) -> (i32, String) {
    let mut child = keyguard()
        .current_dir(dir)
        .arg("serve")
        .args(args)
        .env("PROXY_OPENAI_KEY", key)
        .env("PROXY_ANTHROPIC_KEY", key)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve started where it had to refuse");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn serve_input_bad_bodies_and_wrong_methods_get_the_providers_error_shapes() {
    let key = provider_key(81);
    let upstream = mock_upstream(&key);
    let (dir, token) = setup("");
    let proxy = Proxy::start(dir.path(), &upstream.uri(), &key);
    let bearer = format!("Bearer {token}");
    let chat = format!("{}/v1/chat/completions", proxy.url);
    let messages = format!("{}/v1/messages", proxy.url);
    let json_ct = ("content-type", "application/json");
    let auth = ("authorization", bearer.as_str());
    let mut replies = Vec::new();

    // Malformed JSON: 400 in OpenAI's shape on its endpoint, in Anthropic's on /v1/messages.
    let r = raw(
        "POST",
        &chat,
        &[auth, json_ct],
        r#"{"model": "gpt-4o-mini", "messages": ["#,
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
    assert!(v["error"]["message"].is_string(), "{v}");
    replies.push(r);
    let xkey = ("x-api-key", token.as_str());
    let r = raw("POST", &messages, &[xkey, json_ct], "{not json");
    assert_eq!(r.status, 400, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["type"], "error", "{v}");
    assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
    replies.push(r);

    // Valid JSON sent as something else: 415.
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]});
    let r = raw(
        "POST",
        &chat,
        &[auth, ("content-type", "text/plain")],
        &body.to_string(),
    );
    assert_eq!(r.status, 415, "{}", r.body);
    assert!(serde_json::from_str::<Value>(&r.body).unwrap()["error"]["message"].is_string());
    replies.push(r);

    // A known endpoint with the wrong method: 405 with Allow, in the endpoint's shape.
    let r = call(reqwest::Method::GET, &chat, &[auth], None);
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(r.headers["allow"], "POST");
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["error"]["code"], "method_not_allowed", "{v}");
    replies.push(r);
    let r = call(reqwest::Method::PUT, &messages, &[xkey], None);
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(r.headers["allow"], "POST");
    assert_eq!(
        serde_json::from_str::<Value>(&r.body).unwrap()["type"],
        "error"
    );
    replies.push(r);
    for (method, path) in [
        (reqwest::Method::POST, "/v1/models"),
        (reqwest::Method::DELETE, "/healthz"),
        (reqwest::Method::POST, "/metrics"),
    ] {
        let r = call(method, &format!("{}{path}", proxy.url), &[auth], None);
        assert_eq!(r.status, 405, "{path}: {}", r.body);
        assert!(
            r.headers["allow"].to_str().unwrap().contains("GET"),
            "{path}"
        );
        assert!(serde_json::from_str::<Value>(&r.body).unwrap()["error"].is_object());
        replies.push(r);
    }
    // An unknown path: 404.
    let r = call(
        reqwest::Method::GET,
        &format!("{}/v2/anything", proxy.url),
        &[auth],
        None,
    );
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(serde_json::from_str::<Value>(&r.body).unwrap()["error"].is_object());
    replies.push(r);
    assert!(
        upstream.requests().is_empty(),
        "a refused request went upstream"
    );

    // A good request still works; without --log-bodies the prompt is not in the log.
    let r = post(
        &chat,
        &[auth],
        json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "prompt-marker-4711"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    replies.push(r);
    proxy.wait_for_log("status=200");
    let log = proxy.log();
    assert!(!log.contains("prompt-marker-4711"), "{log}");
    assert_no_key(&key, &replies, &log);
}

/// A remote image costs input tokens the body does not show, so no limit could reserve for it:
/// refused before anything goes upstream, unless the route sets `remote_media = true`.
#[test]
fn serve_input_remote_media_is_refused_unless_the_route_allows_it() {
    let key = provider_key(82);
    let upstream = mock_upstream(&key);
    let (dir, token) = setup("");
    let bearer = format!("Bearer {token}");
    let auth = ("authorization", bearer.as_str());
    let image = |url: &str| {
        json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "what is in this image?"},
            {"type": "image_url", "image_url": {"url": url}}]}]})
    };
    let remote = image("https://img.example/cat.png");
    let inline = image("data:image/png;base64,iVBORw0KGgo=");
    let mut replies = Vec::new();
    {
        let proxy = Proxy::start_with(dir.path(), &upstream.uri(), &key, &[], &[]);
        let r = post(
            &format!("{}/v1/chat/completions", proxy.url),
            &[auth],
            remote.clone(),
        );
        assert_eq!(r.status, 400, "{}", r.body);
        let v: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains("remote media is not allowed on this route"),
            "{msg}"
        );
        assert!(msg.contains("remote_media = true"), "{msg}");
        replies.push(r);
        // Anthropic's shape on its endpoint, for a document fetched by URL.
        let r = post(
            &format!("{}/v1/messages", proxy.url),
            &[("x-api-key", token.as_str())],
            json!({"model": "claude-haiku-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": [
                {"type": "document", "source": {"type": "url", "url": "https://doc.example/a.pdf"}}]}]}),
        );
        assert_eq!(r.status, 400, "{}", r.body);
        let v: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["type"], "error", "{v}");
        assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
        replies.push(r);
        assert!(
            upstream.requests().is_empty(),
            "a request with remote media went upstream"
        );
        // The same picture inline is fine.
        let r = post(
            &format!("{}/v1/chat/completions", proxy.url),
            &[auth],
            inline,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        replies.push(r);
        assert_eq!(upstream.requests().len(), 1);
        assert_no_key(&key, &replies, &proxy.log());
    }

    // The operator opts the route in: the URL goes upstream as sent.
    let toml = std::fs::read_to_string(dir.path().join("keyguard.toml")).unwrap();
    let toml = toml.replacen(
        "models = [\"gpt-4o-mini\"",
        "remote_media = true\nmodels = [\"gpt-4o-mini\"",
        1,
    );
    assert!(toml.contains("remote_media = true"), "{toml}");
    write(dir.path(), "keyguard.toml", toml);
    let proxy = Proxy::start_with(dir.path(), &upstream.uri(), &key, &[], &[]);
    let r = post(
        &format!("{}/v1/chat/completions", proxy.url),
        &[auth],
        remote,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let sent = upstream.requests();
    assert_eq!(sent.len(), 2);
    let body: Value = serde_json::from_slice(&sent[1].body).unwrap();
    assert_eq!(
        body["messages"][0]["content"][1]["image_url"]["url"],
        "https://img.example/cat.png"
    );
    assert_no_key(&key, &[r], &proxy.log());
}

#[test]
fn serve_input_huge_headers_are_refused_and_the_server_keeps_serving() {
    let key = provider_key(82);
    let upstream = mock_upstream(&key);
    let (dir, _token) = setup("");
    let proxy = Proxy::start(dir.path(), &upstream.uri(), &key);
    let addr = proxy.addr();
    let one_big = format!("x-big: {}\r\n", "a".repeat(200_000));
    let many: String = (0..500).map(|i| format!("x-h{i}: v\r\n")).collect();
    for headers in [one_big, many] {
        let mut sock = TcpStream::connect(&addr).unwrap();
        sock.set_write_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        // The server may close the connection before it has read everything: a failed write
        // is part of the expected outcome.
        let _ = sock.write_all(
            format!("GET /healthz HTTP/1.1\r\nhost: {addr}\r\n{headers}\r\n").as_bytes(),
        );
        let got = read_until_closed(&mut sock);
        assert!(
            got.is_empty() || got.starts_with("HTTP/1.1 431"),
            "huge headers were not refused: {}",
            &got[..got.len().min(200)]
        );
    }
    let r = call(
        reqwest::Method::GET,
        &format!("{}/healthz", proxy.url),
        &[],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_no_key(&key, &[r], &proxy.log());
}

#[test]
fn serve_input_slow_clients_are_cut_off_by_the_header_and_body_timeouts() {
    let key = provider_key(83);
    let upstream = mock_upstream(&key);
    let (dir, token) = setup("");
    let proxy = Proxy::start_with(
        dir.path(),
        &upstream.uri(),
        &key,
        &["--listen", "127.0.0.1:0"],
        &[
            ("KEYGUARD_SERVE_HEADER_TIMEOUT_MS", "400"),
            ("KEYGUARD_SERVE_BODY_TIMEOUT_MS", "400"),
        ],
    );
    let addr = proxy.addr();

    // Headers that never end: the connection is closed, with no answer.
    let mut sock = TcpStream::connect(&addr).unwrap();
    sock.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    sock.write_all(format!("host: {addr}\r\n").as_bytes())
        .unwrap();
    let got = read_until_closed(&mut sock);
    assert!(!got.contains("200 OK"), "{got}");

    // A connected client that sends nothing at all is closed too.
    let mut idle = TcpStream::connect(&addr).unwrap();
    assert_eq!(read_until_closed(&mut idle), "");

    // A body that trickles: refused in the provider's shape, nothing sent upstream.
    let mut sock = TcpStream::connect(&addr).unwrap();
    sock.write_all(
        format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{{\"model\""
        )
        .as_bytes(),
    )
    .unwrap();
    let got = read_until_closed_or_answered(&mut sock);
    assert!(got.starts_with("HTTP/1.1 400"), "{got}");
    assert!(got.contains("too slowly"), "{got}");
    assert!(upstream.requests().is_empty());

    // The server still serves.
    let r = call(
        reqwest::Method::GET,
        &format!("{}/healthz", proxy.url),
        &[],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let log = proxy.log();
    assert!(!log.contains(&token), "token in the log");
    assert_no_key(&key, &[r], &log);
}

/// Reads a whole response (head and a JSON body) or until the connection closes.
fn read_until_closed_or_answered(sock: &mut TcpStream) -> String {
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head.lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap())
            });
            if len.is_some_and(|n| body.len() >= n) {
                return text;
            }
        }
        match sock.read(&mut buf) {
            Ok(0) => return text,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("no answer ({e}); got so far: {text}"),
        }
    }
}

#[test]
fn serve_input_configs_that_must_not_start_exit_2_and_say_why() {
    let key = provider_key(84);
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(String, &str, Vec<&str>)> = vec![
        // A literal key: refused, and never echoed.
        (
            format!(
                "[serve]\n[[serve.routes]]\nprovider = \"openai\"\nkey = \"{key}\"\nmodels = [\"gpt-4o-mini\"]\n"
            ),
            "key",
            vec!["keychain:", "env:"],
        ),
        (
            "[serve]\n[[serve.routes]]\nprovider = \"openia\"\nkey = \"env:PROXY_OPENAI_KEY\"\nmodels = [\"gpt-4o-mini\"]\n".to_string(),
            "unknown provider",
            vec!["openai, anthropic, gemini, openai-compatible"],
        ),
        (
            format!("[serve]\nstore = \"redis://127.0.0.1:1/0\"\n{ROUTES}"),
            "Redis",
            vec!["cannot reach"],
        ),
        // A config file alone cannot expose the proxy beyond this machine.
        (
            format!("[serve]\nlisten = \"0.0.0.0:8787\"\nstore = \"memory\"\n{ROUTES}"),
            "not a loopback address",
            vec!["--listen 0.0.0.0:8787"],
        ),
        (
            format!("[serve]\nstore = \"memory\"\nmetrics_token = \"{key}\"\n{ROUTES}"),
            "metrics_token",
            vec!["env:"],
        ),
    ];
    for (config, why, also) in cases {
        write(dir.path(), "keyguard.toml", &config);
        let (code, stderr) = refused(dir.path(), &[], &key);
        assert_eq!(code, 2, "{config}\n{stderr}");
        assert!(stderr.contains(why), "{why}: {stderr}");
        for a in also {
            assert!(stderr.contains(a), "{a}: {stderr}");
        }
        assert!(!stderr.contains(&key), "the key echoed: {stderr}");
        assert!(!stderr.contains(&key[8..20]), "part of the key echoed");
        assert!(!stderr.contains("listening"), "{stderr}");
    }
}

#[test]
fn serve_input_listens_beyond_loopback_only_with_the_flag_and_guards_metrics() {
    let key = provider_key(85);
    let upstream = mock_upstream(&key);
    let (dir, token) = setup("");
    let metrics = |p: &Proxy, auth: Option<&str>| {
        let bearer = auth.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = bearer
            .as_deref()
            .map(|b| vec![("authorization", b)])
            .unwrap_or_default();
        call(
            reqwest::Method::GET,
            &format!("{}/metrics", p.url),
            &headers,
            None,
        )
    };
    let mut replies = Vec::new();

    // --listen on every interface: the reminder, and no /metrics for anyone.
    let open = Proxy::start_with(
        dir.path(),
        &upstream.uri(),
        &key,
        &["--listen", "0.0.0.0:0"],
        &[],
    );
    let log = open.log();
    assert!(
        log.contains("TLS") && log.contains("reverse proxy"),
        "{log}"
    );
    let r = metrics(&open, None);
    assert_eq!(r.status, 404, "{}", r.body);
    replies.push(r);
    let r = metrics(&open, Some(&token));
    assert_eq!(r.status, 404, "{}", r.body);
    replies.push(r);
    let r = call(
        reqwest::Method::GET,
        &format!("{}/healthz", open.url),
        &[],
        None,
    );
    assert_eq!(r.status, 200);
    replies.push(r);
    let mut logs = open.log();
    drop(open);

    // With a metrics token: served to its bearer only.
    let metrics_token = Fakes::new(85).alnum(32);
    write(
        dir.path(),
        "keyguard.toml",
        format!(
            "[serve]\nstore = \"sqlite:serve.db\"\nmetrics_token = \"env:KG_TEST_METRICS_TOKEN\"\n{ROUTES}"
        ),
    );
    let guarded = Proxy::start_with(
        dir.path(),
        &upstream.uri(),
        &key,
        &["--listen", "0.0.0.0:0"],
        &[("KG_TEST_METRICS_TOKEN", &metrics_token)],
    );
    let r = metrics(&guarded, None);
    assert_eq!(r.status, 401, "{}", r.body);
    replies.push(r);
    let r = metrics(&guarded, Some(&token));
    assert_eq!(r.status, 401, "{}", r.body);
    replies.push(r);
    let r = metrics(&guarded, Some(&metrics_token));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("keyguard_requests_total"), "{}", r.body);
    replies.push(r);
    logs.push_str(&guarded.log());
    assert!(!logs.contains(&metrics_token), "metrics token in the log");
    assert_no_key(&key, &replies, &logs);
}

#[test]
fn serve_input_log_bodies_logs_prompts_and_answers_without_keys_or_tokens() {
    let key = provider_key(86);
    let upstream = mock_upstream(&key);
    let (dir, token) = setup("");
    let proxy = Proxy::start_with(
        dir.path(),
        &upstream.uri(),
        &key,
        &["--listen", "127.0.0.1:0", "--log-bodies"],
        &[],
    );
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str())];
    let chat = format!("{}/v1/chat/completions", proxy.url);
    // A user pastes secrets into a prompt: the proxy's own key, their token and a GitHub token
    // (which the rule catalogue recognises), assembled at run time.
    let github = Fakes::new(186).checksummed("ghp_");
    let prompt = format!("prompt-marker-1234 {key} {token} {github}");
    let mut replies = Vec::new();
    let r = post(
        &chat,
        &auth,
        json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    replies.push(r);
    // The upstream's error quotes the key: the logged response body must not.
    let r = post(
        &chat,
        &auth,
        json!({"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "error-marker-5678"}]}),
    );
    assert_eq!(r.status, 500, "{}", r.body);
    replies.push(r);
    // A stream: its request body is logged.
    let r = post(
        &chat,
        &auth,
        json!({"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user", "content": "stream-marker-9012"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    replies.push(r);
    proxy.wait_for_log("stream-marker-9012");
    let log = proxy.log();
    assert!(log.contains("prompt-marker-1234"), "{log}");
    assert!(
        log.contains("Hello there"),
        "the answer is not logged: {log}"
    );
    assert!(log.contains("error-marker-5678"), "{log}");
    assert!(log.contains("internal failure for key"), "{log}");
    assert!(!log.contains(&token), "client token in the log: {log}");
    assert!(!log.contains(&token[4..]), "client token in the log: {log}");
    assert!(!log.contains(&github), "GitHub token in the log: {log}");
    assert!(log.contains("<github-classic-pat>"), "{log}");
    assert_no_key(&key, &replies, &log);
}

#[test]
fn serve_sighup_rereads_a_keychain_key_secret_service() {
    use crate::support::keystore::{kg, run_with, secret_service};
    let Some(vars) = secret_service() else { return };
    let first = provider_key(87);
    let second = provider_key(88);
    let upstream = mock_upstream(&first);
    let (dir, token) = setup("");
    write(
        dir.path(),
        "keyguard.toml",
        "[serve]\nstore = \"sqlite:serve.db\"\n\n[[serve.routes]]\nprovider = \"openai\"\nkey = \"keychain:serve-sighup-test\"\nmodels = [\"gpt-4o-mini\"]\n",
    );
    let set = |value: &str| {
        let r = run_with(
            kg(dir.path(), &vars),
            &["key", "set", "serve-sighup-test", "--stdin"],
            Some(value.as_bytes()),
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
    };
    set(&first);
    let mut cmd = kg(dir.path(), &vars);
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .env("KEYGUARD_OPENAI_API_BASE", upstream.uri());
    let proxy = Proxy::spawn(cmd);
    let bearer = format!("Bearer {token}");
    let chat = format!("{}/v1/chat/completions", proxy.url);
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]});
    let ask = || {
        let r = post(&chat, &[("authorization", bearer.as_str())], body.clone());
        assert_eq!(r.status, 200, "{}", r.body);
        let seen = upstream.requests();
        let sent = seen.last().unwrap().headers["authorization"]
            .to_str()
            .unwrap()
            .to_string();
        (r, sent)
    };
    let hup = || {
        let ok = Command::new("kill")
            .args(["-HUP", &proxy.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    };
    let mut replies = Vec::new();
    let (r, sent) = ask();
    assert_eq!(sent, format!("Bearer {first}"));
    replies.push(r);

    // The key is rotated in the keychain; SIGHUP, and the next request carries the new one.
    set(&second);
    hup();
    proxy.wait_for_log("provider keys re-read");
    let (r, sent) = ask();
    assert_eq!(sent, format!("Bearer {second}"));
    replies.push(r);

    // The key is gone from the keychain: SIGHUP keeps the key in use and says so.
    let r = run_with(
        kg(dir.path(), &vars),
        &["key", "rm", "serve-sighup-test"],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    hup();
    proxy.wait_for_log("keeping the old keys");
    let (r, sent) = ask();
    assert_eq!(sent, format!("Bearer {second}"));
    replies.push(r);

    let log = proxy.log();
    assert_no_key(&first, &replies, &log);
    assert_no_key(&second, &replies, &log);
}

/// An upstream that holds one streamed completion until told to answer: its URL, a receiver
/// that hears when the request has arrived, and the sender that releases the answer.
fn held_upstream() -> (
    String,
    std::sync::mpsc::Receiver<()>,
    std::sync::mpsc::Sender<()>,
) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (arrived_tx, arrived) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let mut seen = Vec::new();
        let mut buf = [0u8; 8192];
        // The request head and body are small: wait for the body's closing brace.
        while !seen.ends_with(b"}") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
        let _ = arrived_tx.send(());
        if release_rx.recv().is_err() {
            return;
        }
        let events = concat!(
            "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"late answer\"}}],\"usage\":null}\n\n",
            "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}\n\n",
            "data: [DONE]\n\n",
        );
        let _ = stream.write_all(
            format!("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n{events}")
                .as_bytes(),
        );
    });
    (url, arrived, release)
}

#[test]
fn serve_input_sigterm_stops_accepting_and_lets_the_stream_in_flight_finish() {
    let key = provider_key(89);
    let (upstream, arrived, release) = held_upstream();
    let (dir, token) = setup("");
    let mut proxy = Proxy::start(dir.path(), &upstream, &key);
    let chat = format!("{}/v1/chat/completions", proxy.url);
    let bearer = format!("Bearer {token}");
    let in_flight = std::thread::spawn(move || {
        post(
            &chat,
            &[("authorization", bearer.as_str())],
            json!({"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        )
    });
    arrived
        .recv_timeout(Duration::from_secs(20))
        .expect("the request did not reach the upstream");

    let ok = Command::new("kill")
        .args(["-TERM", &proxy.child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    proxy.wait_for_log("stopping");
    // No longer accepting: a new connection is refused.
    assert!(
        TcpStream::connect(proxy.addr()).is_err(),
        "still accepting after SIGTERM"
    );
    // The answer in flight still arrives whole.
    release.send(()).unwrap();
    let r = in_flight.join().unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("late answer") && r.body.contains("data: [DONE]"),
        "{}",
        r.body
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = proxy.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "serve did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    let log = proxy.log();
    assert!(!log.contains("deadline reached"), "{log}");
    assert_no_key(&key, &[r], &log);
}

#[test]
fn serve_input_max_connections_makes_further_clients_wait_not_fail() {
    let key = provider_key(90);
    let upstream = mock_upstream(&key);
    let (dir, _token) = setup("max_connections = 1");
    let proxy = Proxy::start_with(
        dir.path(),
        &upstream.uri(),
        &key,
        &["--listen", "127.0.0.1:0"],
        &[("KEYGUARD_SERVE_HEADER_TIMEOUT_MS", "60000")],
    );
    let addr = proxy.addr();
    // One client holds the only connection, sending nothing.
    let holder = TcpStream::connect(&addr).unwrap();
    // The next one connects (the kernel's backlog) but is not served while the first is open.
    let mut waiting = TcpStream::connect(&addr).unwrap();
    waiting
        .write_all(
            format!("GET /healthz HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
    waiting
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = [0u8; 256];
    match waiting.read(&mut buf) {
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) => {}
        other => panic!("served beyond max_connections: {other:?}"),
    }
    // The first goes away: the waiting client is served.
    drop(holder);
    let got = read_until_closed(&mut waiting);
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert_no_key(&key, &[], &proxy.log());
}

#[test]
fn serve_input_the_header_timeout_does_not_cut_a_slow_answer() {
    let key = provider_key(91);
    let (upstream, arrived, release) = held_upstream();
    let (dir, token) = setup("");
    let proxy = Proxy::start_with(
        dir.path(),
        &upstream,
        &key,
        &["--listen", "127.0.0.1:0"],
        &[("KEYGUARD_SERVE_HEADER_TIMEOUT_MS", "200")],
    );
    let chat = format!("{}/v1/chat/completions", proxy.url);
    let bearer = format!("Bearer {token}");
    let waiting = std::thread::spawn(move || {
        post(
            &chat,
            &[("authorization", bearer.as_str())],
            json!({"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        )
    });
    arrived
        .recv_timeout(Duration::from_secs(20))
        .expect("the request did not reach the upstream");
    // The upstream thinks for several header timeouts: the client's connection must stay.
    std::thread::sleep(Duration::from_millis(1000));
    release.send(()).unwrap();
    let r = waiting.join().unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("late answer"), "{}", r.body);
    assert_no_key(&key, &[r], &proxy.log());
}
