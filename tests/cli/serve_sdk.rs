//! `keyguard serve` under the official Python SDKs, `openai` and `anthropic`, configured with
//! only `base_url` and `api_key` (a token from `keyguard token issue`), as the issue promises.
//! The proxy sits in front of a wiremock upstream speaking the providers' documented JSON and
//! SSE; a second proxy sits in front of a raw-socket upstream that streams slowly, for the
//! client that walks away mid-stream. The SDK side is tests/sdk/scenarios.py, one process per
//! SDK, run with the venv of scripts/sdk-venv.sh (pinned versions; scripts/test installs it;
//! absent, the tests skip, or fail under KEYGUARD_REQUIRE_ALL=1). Tokens reach python through
//! environment variables. Python's whole output (it prints every response body and header it
//! can reach), the proxies' logs and their /metrics are checked for the provider key.
//!
//! SDK facts, read in the installed sources (openai 3.54.0, anthropic 2.12.0):
//! - openai sends `Authorization: Bearer <api_key>` (`openai/lib/_client_auth.py`,
//!   `syncauth_headers`). anthropic 2.12.0 sends `api_key` as `Authorization: Bearer` too
//!   (`anthropic/_client.py`, `_api_key_auth`), not `x-api-key` as older releases did; the
//!   proxy takes either, and tests/cli/serve.rs covers `x-api-key`.
//! - Exceptions by status: 400 `BadRequestError`, 401 `AuthenticationError`, 429
//!   `RateLimitError`, any 5xx `InternalServerError` (openai `_client.py` `_make_status_error`;
//!   anthropic `_error_classes.py` `ERROR_CLASSES`, 503 and 529 being subclasses of it).
//!   Both retry 408, 409, 429 and 5xx twice by default honouring `retry-after`, unless the
//!   response says `x-should-retry: false` (`_base_client.py` `_should_retry`), hence
//!   `max_retries=0` where the test wants the first refusal's response.
//! - Streaming: openai's `Stream` ends at `data: [DONE]` (`openai/_streaming.py`); anthropic's
//!   skips events without an `event:` name and `ping`, raises on `event: error`, and ends when
//!   the body does; its `messages.stream()` helper needs `content_block_start` before a block's
//!   deltas (`lib/streaming/_messages.py`, `accumulate_event`). Closing a stream closes the
//!   HTTP response, so the connection drops mid-body.
//! - `models.list()`: both GET `/v1/models` and read `data[].id`; anthropic pages on `has_more`
//!   and `last_id`, and stops when they are absent.
//!
//! Provider formats (OpenAI's API reference and OpenAPI spec: a chunk per delta, a last chunk
//! with `choices: []` and the usage when `stream_options.include_usage` is set, then
//! `data: [DONE]`; Anthropic's streaming guide: `message_start`, `content_block_start`, `ping`,
//! `content_block_delta`s, `content_block_stop`, `message_delta` with the output usage,
//! `message_stop`), read through the search tool's mirrors.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, body_string_contains, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::providers::Server;
use crate::support::proxy::{Proxy, metric, provider_key};
use crate::support::{Fakes, run_in, skip_missing, write};

const OPENAI_MODELS: [&str; 2] = ["gpt-4o-mini", "gpt-4.1-mini"];
const ANTHROPIC_MODELS: [&str; 2] = ["claude-haiku-4-5", "claude-sonnet-4-5"];

/// One `chat.completion.chunk` as an SSE event.
fn openai_chunk(delta: Value, finish: Value) -> String {
    let v = json!({"id": "chatcmpl-kg1", "object": "chat.completion.chunk", "created": 1_700_000_000,
                   "model": "gpt-4o-mini", "system_fingerprint": null,
                   "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
                   "usage": null});
    format!("data: {v}\n\n")
}

fn openai_stream() -> String {
    let usage = json!({"id": "chatcmpl-kg1", "object": "chat.completion.chunk", "created": 1_700_000_000,
                       "model": "gpt-4o-mini", "choices": [],
                       "usage": {"prompt_tokens": 10, "completion_tokens": 25, "total_tokens": 35}});
    [
        openai_chunk(json!({"role": "assistant", "content": ""}), Value::Null),
        openai_chunk(json!({"content": "Hel"}), Value::Null),
        openai_chunk(json!({"content": "lo"}), Value::Null),
        openai_chunk(json!({}), json!("stop")),
        format!("data: {usage}\n\ndata: [DONE]\n\n"),
    ]
    .concat()
}

fn anthropic_event(v: Value) -> String {
    format!("event: {}\ndata: {v}\n\n", v["type"].as_str().unwrap())
}

fn anthropic_text(text: &str) -> String {
    anthropic_event(
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}),
    )
}

/// `message_start` and `content_block_start`: what precedes the first text.
fn anthropic_head() -> String {
    [
        anthropic_event(json!({"type": "message_start", "message": {
            "id": "msg_kg1", "type": "message", "role": "assistant", "content": [],
            "model": "claude-haiku-4-5", "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 7, "output_tokens": 1}}})),
        anthropic_event(
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        anthropic_event(json!({"type": "ping"})),
    ]
    .concat()
}

fn anthropic_stream() -> String {
    [
        anthropic_head(),
        anthropic_text("Hi"),
        anthropic_text(" there"),
        anthropic_event(json!({"type": "content_block_stop", "index": 0})),
        anthropic_event(json!({"type": "message_delta",
                               "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                               "usage": {"output_tokens": 13}})),
        anthropic_event(json!({"type": "message_stop"})),
    ]
    .concat()
}

/// The upstream: answers per path; a prompt of `upstream-401` or `upstream-500` gets that error,
/// quoting the key as providers sometimes do (the proxy must not pass it on).
fn mock_upstream(key: &str) -> Server {
    let server = Server::start();
    let openai_error = |status: u16| {
        let (ty, code) = if status == 401 {
            ("invalid_request_error", json!("invalid_api_key"))
        } else {
            ("server_error", Value::Null)
        };
        ResponseTemplate::new(status).set_body_json(json!({"error": {
            "message": format!("HTTP {status} for key {key}"), "type": ty, "param": null, "code": code}}))
    };
    let anthropic_error = |status: u16| {
        let ty = if status == 401 {
            "authentication_error"
        } else {
            "api_error"
        };
        ResponseTemplate::new(status).set_body_json(json!({"type": "error", "error": {
            "type": ty, "message": format!("HTTP {status} for x-api-key {key}")}}))
    };
    // Specific mocks first: wiremock matches in mount order.
    for status in [401, 500] {
        let trigger = format!("upstream-{status}");
        server.mount(
            Mock::given(method("POST"))
                .and(path("/v1/chat/completions"))
                .and(body_string_contains(trigger.as_str()))
                .respond_with(openai_error(status)),
        );
        server.mount(
            Mock::given(method("POST"))
                .and(path("/v1/messages"))
                .and(body_string_contains(trigger.as_str()))
                .respond_with(anthropic_error(status)),
        );
    }
    server.mount(
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .and(body_partial_json(json!({"stream": true})))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(openai_stream(), "text/event-stream"),
            ),
    );
    server.mount(
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "id": "chatcmpl-kg0", "object": "chat.completion", "created": 1_700_000_000,
                "model": "gpt-4o-mini", "system_fingerprint": null,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello there", "refusal": null},
                             "logprobs": null, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
            }))),
    );
    server.mount(
        Mock::given(method("POST"))
            .and(path("/v1/messages"))
            .and(body_partial_json(json!({"stream": true})))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(anthropic_stream(), "text/event-stream"),
            ),
    );
    server.mount(
        Mock::given(method("POST"))
            .and(path("/v1/messages"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "msg_kg0", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
            "content": [{"type": "text", "text": "Hello from Claude"}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 4, "output_tokens": 6}
        }))),
    );
    server
}

/// An upstream that streams slowly, as a long generation does: the head and a first piece of
/// text at once, then a piece every 100 ms for a minute, until the proxy hangs up. OpenAI's
/// format on /v1/chat/completions, Anthropic's on /v1/messages.
fn slow_upstream() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let Some(target) = read_request(&mut stream) else {
                    return;
                };
                let (first, next) = if target.starts_with("/v1/messages") {
                    (
                        anthropic_head() + &anthropic_text("Hi"),
                        anthropic_text(" more"),
                    )
                } else {
                    (
                        openai_chunk(json!({"content": "Hel"}), Value::Null),
                        openai_chunk(json!({"content": "lo"}), Value::Null),
                    )
                };
                // One write per event: an event cut before its blank line is no event yet.
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n{first}"
                );
                if stream.write_all(head.as_bytes()).is_err() {
                    return;
                }
                for _ in 0..600 {
                    std::thread::sleep(Duration::from_millis(100));
                    if stream.write_all(next.as_bytes()).is_err() {
                        break;
                    }
                }
            });
        }
    });
    url
}

/// Reads one HTTP/1.1 request (head, then `content-length` bytes) and returns its target.
fn read_request(stream: &mut std::net::TcpStream) -> Option<String> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut buf).ok().filter(|&n| n > 0)?;
        seen.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&seen[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while seen.len() < head_end + length {
        let n = stream.read(&mut buf).ok().filter(|&n| n > 0)?;
        seen.extend_from_slice(&buf[..n]);
    }
    head.split(' ').nth(1).map(str::to_string)
}

/// The SDK venv's python, from `scripts/sdk-venv.sh --check` (the one place that knows the path
/// and the pins); `None` after a skip notice when it is not installed.
fn sdk_python() -> Option<PathBuf> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/sdk-venv.sh");
    let out = std::process::Command::new(&script)
        .arg("--check")
        .output()
        .unwrap();
    if out.status.success() {
        return Some(PathBuf::from(
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        ));
    }
    skip_missing("the openai/anthropic SDK venv (run scripts/sdk-venv.sh)");
    None
}

/// A directory with a keyguard.toml (both routes, SQLite store, `limits`) and a token for `user`.
fn setup(limits: &str, user: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let list = |m: [&str; 2]| format!("[\"{}\", \"{}\"]", m[0], m[1]);
    write(
        dir.path(),
        "keyguard.toml",
        format!(
            "[serve]\nstore = \"sqlite:serve.db\"\n\n\
             [[serve.routes]]\nprovider = \"openai\"\nkey = \"env:PROXY_OPENAI_KEY\"\nmodels = {}\nmax_tokens = 256\n\n\
             [[serve.routes]]\nprovider = \"anthropic\"\nkey = \"env:PROXY_ANTHROPIC_KEY\"\nmodels = {}\nmax_tokens = 256\n\n\
             [serve.limits]\n{limits}\n",
            list(OPENAI_MODELS),
            list(ANTHROPIC_MODELS)
        ),
    );
    let run = run_in(dir.path(), &["token", "issue", "--user", user]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    (dir, run.stdout.trim().to_string())
}

/// Runs tests/sdk/scenarios.py for `sdk` with `env` (the tokens among them) and a deadline;
/// returns its results by scenario and its whole output.
fn run_scenarios(
    python: &PathBuf,
    sdk: &str,
    env: &[(&str, &str)],
) -> (BTreeMap<String, Value>, String) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/scenarios.py");
    let home = tempfile::tempdir().unwrap();
    // A clean environment: no proxy variables (httpx honours them), no bytecode in the repo.
    let mut child = std::process::Command::new(python)
        .arg(&script)
        .arg(sdk)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONIOENCODING", "utf-8")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{sdk} scenarios did not finish in 120 s:\n{}{}",
                stdout.join().unwrap(),
                stderr.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let output = format!("{stdout}{stderr}");
    assert!(status.success(), "{sdk} scenarios failed: {output}");
    let results = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| (v["scenario"].as_str().unwrap_or("?").to_string(), v))
        .collect();
    (results, output)
}

/// Failed expectations, gathered so that one run reports every scenario that went wrong.
#[derive(Default)]
struct Checks(Vec<String>);

impl Checks {
    fn check(&mut self, ok: bool, scenario: &str, what: &str, result: &Value) {
        if !ok {
            self.0
                .push(format!("{scenario}: {what}\n    got: {result}"));
        }
    }

    fn finish(self, sdk: &str) {
        assert!(
            self.0.is_empty(),
            "{sdk} SDK scenarios failed:\n{}",
            self.0.join("\n")
        );
    }
}

fn get_text(url: &str) -> String {
    // reqwest is built without a default crypto provider (as keyguard itself is).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
        .get(url)
        .send()
        .unwrap()
        .text()
        .unwrap()
}

/// A header of a result's `headers` map, by case-insensitive name.
fn header<'a>(result: &'a Value, name: &str) -> Option<&'a str> {
    result["headers"]
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))?
        .1
        .as_str()
}

/// What differs between the two SDKs' runs.
struct Expect {
    sdk: &'static str,
    seed: u64,
    plain: &'static str,
    stream: &'static [&'static str],
    stream_usage: u64,
    allowed: [&'static str; 2],
    first_piece: &'static str,
}

fn sdk_scenarios(e: Expect) {
    let Some(python) = sdk_python() else { return };
    let key = provider_key(e.seed);
    let upstream = mock_upstream(&key);
    let slow = slow_upstream();
    let (dir, token) = setup("requests_per_minute = 8", "ada");
    let (slow_dir, slow_token) = setup("", "bob");
    let proxy = Proxy::start(dir.path(), &upstream.uri(), &key);
    let slow_proxy = Proxy::start(slow_dir.path(), &slow, &key);
    // Well-formed, never issued.
    let bad_token = format!("kgp_{}", Fakes::new(e.seed).alnum(token.len() - 4));
    let (results, output) = run_scenarios(
        &python,
        e.sdk,
        &[
            ("KG_URL", &proxy.url),
            ("KG_TOKEN", &token),
            ("KG_BAD_TOKEN", &bad_token),
            ("KG_SLOW_URL", &slow_proxy.url),
            ("KG_SLOW_TOKEN", &slow_token),
        ],
    );
    eprintln!("{} scenarios:\n{output}", e.sdk);
    let mut c = Checks::default();
    let none = Value::Null;
    let r = |name: &str| results.get(name).unwrap_or(&none);
    for (name, v) in &results {
        c.check(
            v.get("unexpected").is_none(),
            name,
            "the SDK did something else",
            v,
        );
    }

    let v = r("versions");
    let auth: Vec<&str> = v["auth_headers"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    c.check(
        auth.len() == 1 && ["Authorization", "X-Api-Key"].contains(&auth[0]),
        "versions",
        "the SDK authenticates with one header, Authorization or X-Api-Key",
        v,
    );

    let v = r("models");
    let all: Vec<&str> = OPENAI_MODELS
        .iter()
        .chain(ANTHROPIC_MODELS.iter())
        .copied()
        .collect();
    c.check(
        v["ids"] == json!(all),
        "models",
        "models.list() gives the allowed models",
        v,
    );
    c.check(
        v["typed"] == true,
        "models",
        "each model has the fields the SDK's model type declares",
        v,
    );

    let v = r("plain");
    c.check(v["text"] == e.plain, "plain", "the answer's text", v);
    c.check(
        header(v, "x-ratelimit-remaining-requests").is_some(),
        "plain",
        "rate-limit headers on the answer",
        v,
    );

    let v = r("stream");
    c.check(
        v["pieces"] == json!(e.stream),
        "stream",
        "the streaming iterator yields the text as sent",
        v,
    );
    c.check(
        v["usage"] == e.stream_usage,
        "stream",
        "the stream's usage reaches the SDK",
        v,
    );

    let v = r("model_not_allowed");
    let msg = v["message"].as_str().unwrap_or("");
    c.check(
        v["error"] == "BadRequestError" && v["status"] == 400,
        "model_not_allowed",
        "BadRequestError (400)",
        v,
    );
    c.check(
        e.allowed.iter().all(|m| msg.contains(m)),
        "model_not_allowed",
        "the message names the allowed models",
        v,
    );

    let v = r("bad_token");
    c.check(
        v["error"] == "AuthenticationError" && v["status"] == 401,
        "bad_token",
        "AuthenticationError (401)",
        v,
    );

    // The upstream refused the operator's key: not the client's fault, a 502 the SDK raises as
    // InternalServerError, with a message for the operator.
    let v = r("upstream_401");
    c.check(
        v["error"] == "InternalServerError" && v["status"] == 502,
        "upstream_401",
        "InternalServerError (502)",
        v,
    );
    c.check(
        v["message"].as_str().unwrap_or("").contains("operator"),
        "upstream_401",
        "the message says the operator's key is at fault",
        v,
    );
    let v = r("upstream_500");
    c.check(
        v["error"] == "InternalServerError" && v["status"] == 500,
        "upstream_500",
        "InternalServerError (500), the provider's own error passed on",
        v,
    );
    c.check(
        v["message"].as_str().unwrap_or("").contains("<key>"),
        "upstream_500",
        "the provider's message, with the key scrubbed",
        v,
    );
    // The default client retries 5xx twice, but not this one: the proxy says `x-should-retry:
    // false` (the retries would be refused too). The 500 ran with max_retries=0.
    let calls = |trigger: &str| {
        upstream
            .requests()
            .iter()
            .filter(|q| String::from_utf8_lossy(&q.body).contains(trigger))
            .count()
    };
    c.check(
        calls("upstream-401") == 1,
        "upstream_401",
        "one upstream call: the SDK does not retry the operator's key problem",
        &json!(calls("upstream-401")),
    );
    c.check(
        calls("upstream-500") == 1,
        "upstream_500",
        "one upstream call (max_retries=0)",
        &json!(calls("upstream-500")),
    );

    let v = r("over_limit");
    let retry = header(v, "retry-after").and_then(|s| s.parse::<u64>().ok());
    c.check(
        v["error"] == "RateLimitError" && v["status"] == 429,
        "over_limit",
        "RateLimitError (429)",
        v,
    );
    c.check(
        retry.is_some_and(|s| (1..=60).contains(&s)),
        "over_limit",
        "Retry-After on the response, within the minute window",
        v,
    );

    // The client walked away after the first piece; the proxy still counts the tokens seen.
    let v = r("disconnect");
    c.check(
        v["first"] == e.first_piece,
        "disconnect",
        "the first piece arrived before the stream ended",
        v,
    );
    let metrics = slow_proxy.metrics_after_tokens(1);
    c.check(
        metric(&metrics, "keyguard_tokens_total") >= 1,
        "disconnect",
        "the abandoned stream's tokens are counted (keyguard_tokens_total)",
        &json!(metrics),
    );
    let slow_log = slow_proxy.log();
    let counted = slow_log
        .lines()
        .filter(|l| l.contains("status=200"))
        .filter_map(|l| l.split("tokens=").nth(1))
        .filter_map(|t| t.split_whitespace().next()?.parse::<u64>().ok())
        .any(|n| n >= 1);
    c.check(
        counted,
        "disconnect",
        "the request's log line counts tokens",
        &json!(slow_log),
    );
    c.finish(e.sdk);

    // Nothing the client could see, and nothing logged, holds the provider key; no log holds
    // the client's token.
    let log = format!("{}{}", proxy.log(), slow_log);
    let main_metrics = get_text(&format!("{}/metrics", proxy.url));
    for (what, text) in [
        ("the SDK's output", &output),
        ("a log", &log),
        ("/metrics", &format!("{metrics}{main_metrics}")),
    ] {
        assert!(!text.contains(&key), "the provider key in {what}");
        assert!(
            !text.contains(&key[8..20]),
            "part of the provider key in {what}"
        );
    }
    for t in [&token, &slow_token, &bad_token] {
        assert!(!log.contains(&t[4..]), "a client token in the log");
    }
}

#[test]
fn serve_sdk_openai() {
    sdk_scenarios(Expect {
        sdk: "openai",
        seed: 91,
        plain: "Hello there",
        stream: &["Hel", "lo"],
        stream_usage: 35,
        allowed: OPENAI_MODELS,
        first_piece: "Hel",
    });
}

#[test]
fn serve_sdk_anthropic() {
    sdk_scenarios(Expect {
        sdk: "anthropic",
        seed: 92,
        plain: "Hello from Claude",
        stream: &["Hi", " there"],
        stream_usage: 7 + 13,
        allowed: ANTHROPIC_MODELS,
        first_piece: "Hi",
    });
}
