//! `keyguard serve`: the built binary in front of a local mock upstream (wiremock speaking
//! OpenAI's and Anthropic's JSON and SSE), called by a plain HTTP client with tokens from
//! `keyguard token issue` on the same SQLite store. Every response and the server's log are
//! checked for the provider key: it must never leave the server except toward the upstream.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::support::providers::Server;
use crate::support::proxy::{Proxy, metric, provider_key};
use crate::support::{Fakes, run_in, write};

const OPENAI_SSE: &str = concat!(
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}],\"usage\":null}\n\n",
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}],\"usage\":null}\n\n",
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":25,\"total_tokens\":35}}\n\n",
    "data: [DONE]\n\n",
);

const ANTHROPIC_SSE: &str = concat!(
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-haiku-4-5\",\"usage\":{\"input_tokens\":7,\"output_tokens\":1}}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n",
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":13}}\n\n",
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
);

pub(crate) fn mock_upstream(key: &str) -> Server {
    let server = Server::start();
    // Specific mocks first: wiremock matches in mount order.
    server.mount(
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .and(body_partial_json(json!({"model": "gpt-4.1-mini"})))
            .respond_with(ResponseTemplate::new(500).set_body_json(json!({
                "error": {"message": format!("internal failure for key {key}"), "type": "server_error", "param": null, "code": null}
            }))),
    );
    server.mount(
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .and(body_partial_json(json!({"stream": true})))
            .respond_with(ResponseTemplate::new(200).set_body_raw(OPENAI_SSE, "text/event-stream")),
    );
    server.mount(
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("openai-organization", "org-secret-of-the-operator")
                    .set_body_json(json!({
                        "id": "c0", "object": "chat.completion", "model": "gpt-4o-mini",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello there"}, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
                    })),
            ),
    );
    server.mount(
        Mock::given(method("POST"))
            .and(path("/v1/messages"))
            .and(body_partial_json(json!({"stream": true})))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(ANTHROPIC_SSE, "text/event-stream"),
            ),
    );
    server.mount(
        Mock::given(method("POST"))
            .and(path("/v1/messages"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "id": "m0", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
                "content": [{"type": "text", "text": "Hello from Claude"}],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": 4, "output_tokens": 6}
            }))),
    );
    server
}

fn setup(limits: &str) -> (tempfile::TempDir, String) {
    setup_config(&format!(
        r#"[serve]
store = "sqlite:serve.db"
cors_origins = ["http://localhost:5173"]
max_body_bytes = 4096

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

[serve.limits]
{limits}
"#
    ))
}

/// A directory with `config` as its keyguard.toml and a token for `alice`.
fn setup_config(config: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "keyguard.toml", config);
    let run = run_in(dir.path(), &["token", "issue", "--user", "alice"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let token = run.stdout.trim().to_string();
    (dir, token)
}

pub(crate) struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

pub(crate) fn call(
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Reply {
    // reqwest is built without a default crypto provider (as keyguard itself is).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut req = client.request(method, url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.text().unwrap();
    Reply {
        status,
        headers,
        body,
    }
}

pub(crate) fn post(url: &str, headers: &[(&str, &str)], body: Value) -> Reply {
    call(reqwest::Method::POST, url, headers, Some(body))
}

/// The key in no response (body or headers) and not in the log.
pub(crate) fn assert_no_key(key: &str, replies: &[Reply], log: &str) {
    for r in replies {
        assert!(!r.body.contains(key), "key in a response body: {}", r.body);
        for (name, v) in &r.headers {
            assert!(
                !String::from_utf8_lossy(v.as_bytes()).contains(key),
                "key in response header {name}"
            );
        }
    }
    assert!(!log.contains(key), "key in the log");
    assert!(!log.contains(&key[8..20]), "part of the key in the log");
}

#[test]
fn serve_proxies_with_its_own_key_and_refuses_what_it_must() {
    let key = provider_key(71);
    let upstream = mock_upstream(&key);
    let (dir, token) = setup("requests_per_minute = 100\ntokens_per_day = 100000");
    let proxy = Proxy::start(dir.path(), &upstream.uri(), &key);
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str())];
    let chat = format!("{}/v1/chat/completions", proxy.url);
    let messages = format!("{}/v1/messages", proxy.url);
    let mut replies = Vec::new();

    // Plain OpenAI completion: the answer comes back, the cost parameters do not go up.
    let r = post(
        &chat,
        &auth,
        json!({"model": "gpt-4o-mini", "n": 3, "max_tokens": 100000,
               "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Hello there"), "{}", r.body);
    assert!(r.headers.get("openai-organization").is_none());
    assert!(r.headers.get("x-ratelimit-remaining-requests").is_some());
    replies.push(r);

    // Streamed OpenAI completion, passed through as SSE.
    let r = post(
        &chat,
        &auth,
        json!({"model": "gpt-4o-mini", "stream": true,
               "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    assert!(
        r.body.contains("\"Hel\"") && r.body.contains("data: [DONE]"),
        "{}",
        r.body
    );
    replies.push(r);

    // Anthropic, plain (token as x-api-key, as the anthropic SDK sends it) and streamed.
    let xkey = [
        ("x-api-key", token.as_str()),
        ("anthropic-version", "2023-06-01"),
    ];
    let r = post(
        &messages,
        &xkey,
        json!({"model": "claude-haiku-4-5", "max_tokens": 50,
               "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Hello from Claude"), "{}", r.body);
    replies.push(r);
    let r = post(
        &messages,
        &xkey,
        json!({"model": "claude-haiku-4-5", "max_tokens": 50, "stream": true,
               "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("message_stop"), "{}", r.body);
    replies.push(r);

    // What the upstream saw: the server's key, never the client's token; no `n`; a clamped
    // ceiling; include_usage asked for on the stream.
    let seen = upstream.requests();
    assert_eq!(seen.len(), 4);
    for req in &seen {
        let all_headers: String = req
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())))
            .collect();
        assert!(!all_headers.contains(&token[4..]), "token forwarded");
        assert!(!String::from_utf8_lossy(&req.body).contains(&token[4..]));
        if req.url.path() == "/v1/chat/completions" {
            assert_eq!(
                req.headers["authorization"].to_str().unwrap(),
                format!("Bearer {key}")
            );
        } else {
            assert_eq!(req.headers["x-api-key"].to_str().unwrap(), key);
            assert!(req.headers.get("authorization").is_none());
        }
    }
    let first: Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert!(first.get("n").is_none(), "{first}");
    let ceiling = first
        .get("max_tokens")
        .or(first.get("max_completion_tokens"))
        .unwrap();
    assert_eq!(ceiling, 256, "{first}");
    let second: Value = serde_json::from_slice(&seen[1].body).unwrap();
    assert_eq!(second["stream_options"]["include_usage"], true, "{second}");

    // Model not allowed: 400 naming the allowed ones, nothing sent upstream.
    let r = post(
        &chat,
        &auth,
        json!({"model": "gpt-5-pro", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("gpt-4o-mini"), "{}", r.body);
    replies.push(r);

    // Bad and missing tokens: 401 in each provider's shape.
    let bad = format!("Bearer kgp_{}", Fakes::new(3).alnum(36));
    let r = post(
        &chat,
        &[("authorization", bad.as_str())],
        json!({"model": "gpt-4o-mini", "messages": []}),
    );
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(serde_json::from_str::<Value>(&r.body).unwrap()["error"]["message"].is_string());
    replies.push(r);
    let r = post(
        &messages,
        &[],
        json!({"model": "claude-haiku-4-5", "messages": []}),
    );
    assert_eq!(r.status, 401, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["error"]["type"], "authentication_error", "{v}");
    replies.push(r);

    // Over max_body_bytes: 413 before parsing.
    let r = post(
        &chat,
        &auth,
        json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x".repeat(5000)}]}),
    );
    assert_eq!(r.status, 413, "{}", r.body);
    replies.push(r);
    assert_eq!(
        upstream.requests().len(),
        4,
        "a refused request reached upstream"
    );

    // Upstream 500: passed back in OpenAI's shape, the key scrubbed out of its message.
    let r = post(
        &chat,
        &auth,
        json!({"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(r.status, 500, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert!(v["error"]["message"].is_string(), "{v}");
    replies.push(r);

    // /v1/models lists the allowed models; /healthz needs no token.
    let r = call(
        reqwest::Method::GET,
        &format!("{}/v1/models", proxy.url),
        &auth,
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    for m in ["gpt-4o-mini", "gpt-4.1-mini", "claude-haiku-4-5"] {
        assert!(r.body.contains(m), "{}", r.body);
    }
    replies.push(r);
    let r = call(
        reqwest::Method::GET,
        &format!("{}/healthz", proxy.url),
        &[],
        None,
    );
    assert_eq!(r.status, 200);
    replies.push(r);

    // CORS: the configured origin gets a preflight answer exposing Retry-After; another gets none.
    let pre = |origin: &str| {
        call(
            reqwest::Method::OPTIONS,
            &chat,
            &[
                ("origin", origin),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "authorization,content-type",
                ),
            ],
            None,
        )
    };
    let r = pre("http://localhost:5173");
    assert!(r.status < 300, "{}", r.status);
    assert_eq!(
        r.headers["access-control-allow-origin"],
        "http://localhost:5173"
    );
    replies.push(r);
    let r = pre("https://evil.example");
    assert!(r.headers.get("access-control-allow-origin").is_none());
    replies.push(r);
    let r = post(
        &chat,
        &[
            ("authorization", bearer.as_str()),
            ("origin", "http://localhost:5173"),
        ],
        json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
    );
    let exposed = r.headers["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("retry-after"), "{exposed}");
    replies.push(r);

    // /metrics: the tokens of all four answers (8 + 35 + 10 + 20, streamed ones included once
    // their streams ended), and no secrets.
    let text = proxy.metrics_after_tokens(81);
    assert_eq!(
        metric(&text, "keyguard_tokens_total"),
        8 + 35 + 10 + 20 + 8,
        "{text}"
    );
    assert_eq!(metric(&text, "keyguard_upstream_errors_total"), 1, "{text}");
    assert!(
        text.contains("keyguard_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(!text.contains(&token[4..]));

    let log = proxy.log();
    assert!(log.contains("user=alice"), "{log}");
    assert!(!log.contains(&token[4..]), "token in the log");
    // The metrics text is checked with the log.
    assert_no_key(&key, &replies, &format!("{log}{text}"));
}

#[test]
fn serve_limits_count_streamed_tokens_and_answer_429_with_retry_after() {
    let key = provider_key(72);
    let upstream = mock_upstream(&key);
    // One streamed answer (35 tokens) leaves too few of the day's 60 for a second one: each
    // request reserves its `max_tokens` (10) plus its prompt estimate before it starts.
    let (dir, token) = setup("requests_per_minute = 100\ntokens_per_day = 60");
    let proxy = Proxy::start(dir.path(), &upstream.uri(), &key);
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str())];
    let chat = format!("{}/v1/chat/completions", proxy.url);
    let body = json!({"model": "gpt-4o-mini", "stream": true, "max_tokens": 10,
                      "messages": [{"role": "user", "content": "hi"}]});
    let first = post(&chat, &auth, body.clone());
    assert_eq!(first.status, 200, "{}", first.body);
    // The usage is recorded when the stream is dropped; give it a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    let second = loop {
        let r = post(&chat, &auth, body.clone());
        if r.status != 200 || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(second.status, 429, "{}", second.body);
    let retry: u64 = second.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=86_400).contains(&retry), "{retry}");
    // 35 used (or the first request's reservation, if not yet settled): at most 25 left.
    let left: u64 = second.headers["x-ratelimit-remaining-tokens"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(left <= 25, "{left}");
    let v: Value = serde_json::from_str(&second.body).unwrap();
    assert_eq!(v["error"]["code"], "rate_limit_exceeded", "{v}");
    // Refused before any upstream call: the mock saw the allowed requests only.
    let upstream_calls = upstream.requests().len();
    let again = post(&chat, &auth, body);
    assert_eq!(again.status, 429);
    assert_eq!(upstream.requests().len(), upstream_calls);

    // The usage survives in the SQLite store: a restarted server still refuses.
    drop(proxy);
    let proxy = Proxy::start(dir.path(), &upstream.uri(), &key);
    let r = post(
        &format!("{}/v1/chat/completions", proxy.url),
        &auth,
        json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(r.status, 429, "{}", r.body);
    let log = proxy.log();
    // 60 tokens a day against a 256-token ceiling: the operator is told at start.
    assert!(
        log.contains("warning: [serve.limits] tokens_per_day = 60"),
        "{log}"
    );
    assert_no_key(&key, &[first, second, again, r], &log);
}

/// An upstream that sends an OpenAI stream slowly: one content chunk at once, then one every
/// 100 ms for a minute. (The proxy notices a client that went away when it next writes to it; an
/// upstream that stalls completely is noticed at its read timeout.)
fn slow_upstream() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let mut seen = Vec::new();
                // The request head and body are small: wait for the body's closing brace.
                while !seen.ends_with(b"}") {
                    let Ok(n) = stream.read(&mut buf) else { return };
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                }
                let first = OPENAI_SSE.split("\n\n").next().unwrap();
                // One write per event: `write!` would send the pieces of its format separately,
                // and an event cut before its blank line is not yet an event for the meter.
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n{first}\n\n"
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.flush();
                // Then a token every 100 ms, as a long generation does, until the proxy hangs up.
                let next = OPENAI_SSE.split("\n\n").nth(1).unwrap();
                for _ in 0..600 {
                    std::thread::sleep(Duration::from_millis(100));
                    let event = format!("{next}\n\n");
                    if stream
                        .write_all(event.as_bytes())
                        .and_then(|_| stream.flush())
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
    });
    url
}

#[test]
fn serve_counts_an_abandoned_stream_and_stops_on_sigterm() {
    use std::io::{Read, Write};
    let key = provider_key(73);
    let upstream = slow_upstream();
    let (dir, token) = setup("tokens_per_day = 100000");
    let mut proxy = Proxy::start(dir.path(), &upstream, &key);
    // A raw socket as the client, so that walking away closes the connection at once (an HTTP
    // client library may keep it open until the next chunk arrives).
    let addr = proxy.url.trim_start_matches("http://").to_string();
    let mut sock = std::net::TcpStream::connect(&addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let body = json!({"model": "gpt-4o-mini", "stream": true,
                      "messages": [{"role": "user", "content": "hi"}]})
    .to_string();
    write!(
        sock,
        "POST /v1/chat/completions HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // The first chunk arrives while upstream is still generating: passed through, not buffered.
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&got).contains("\"Hel\"") {
        let n = sock.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "stream ended early: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
    // The client walks away mid-stream.
    sock.shutdown(std::net::Shutdown::Both).unwrap();
    drop(sock);
    // Cut before its usage chunk: it counts its whole reservation (max_tokens 256 plus the
    // prompt), not the two content chunks seen, since the provider may have billed far more than
    // passed through (hidden reasoning tokens stream nothing).
    let n = metric(&proxy.metrics_after_tokens(1), "keyguard_tokens_total");
    assert!(n > 256, "an abandoned stream counts its reservation: {n}");

    // SIGTERM: a clean exit.
    let pid = proxy.child.id().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let code = loop {
        if let Some(s) = proxy.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(code.success(), "{code:?}");
    let log = proxy.log();
    assert!(log.contains("stopping"), "{log}");
    assert!(!log.contains(&key), "key in the log");
}

#[test]
fn serve_proxies_gemini_generate_content_plain_and_streamed() {
    let key = provider_key(74);
    let upstream = Server::start();
    let model = "gemini-2.0-flash";
    upstream.mount(
        Mock::given(method("POST"))
            .and(path(format!("/v1beta/models/{model}:streamGenerateContent")))
            .and(query_param("alt", "sse"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(
                concat!(
                    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}]}}],\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":1,\"totalTokenCount\":4}}\r\n\r\n",
                    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\" there\"}]}}],\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":6,\"totalTokenCount\":9}}\r\n\r\n",
                ),
                "text/event-stream",
            )),
    );
    upstream.mount(
        Mock::given(method("POST"))
            .and(path(format!("/v1beta/models/{model}:generateContent")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "candidates": [{"content": {"parts": [{"text": "Hello from Gemini"}]}}],
                "usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 5, "totalTokenCount": 7}
            }))),
    );
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "keyguard.toml",
        format!(
            "[serve]\nstore = \"sqlite:serve.db\"\n\n[[serve.routes]]\nprovider = \"gemini\"\nkey = \"env:PROXY_GEMINI_KEY\"\nmodels = [\"{model}\"]\nmax_tokens = 128\n"
        ),
    );
    let run = run_in(dir.path(), &["token", "issue", "--user", "bob"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let token = run.stdout.trim().to_string();
    let proxy = Proxy::start(dir.path(), &upstream.uri(), &key);
    let auth = [("x-goog-api-key", token.as_str())];
    let body = json!({"contents": [{"parts": [{"text": "hi"}]}],
                      "generationConfig": {"maxOutputTokens": 5000, "candidateCount": 4}});
    let plain = post(
        &format!("{}/v1beta/models/{model}:generateContent", proxy.url),
        &auth,
        body.clone(),
    );
    assert_eq!(plain.status, 200, "{}", plain.body);
    assert!(plain.body.contains("Hello from Gemini"), "{}", plain.body);
    let streamed = post(
        &format!(
            "{}/v1beta/models/{model}:streamGenerateContent?alt=sse",
            proxy.url
        ),
        &auth,
        body,
    );
    assert_eq!(streamed.status, 200, "{}", streamed.body);
    assert!(streamed.body.contains(" there"), "{}", streamed.body);
    let other = post(
        &format!("{}/v1beta/models/gemini-2.5-pro:generateContent", proxy.url),
        &auth,
        json!({"contents": []}),
    );
    assert_eq!(other.status, 400, "{}", other.body);
    assert_eq!(
        serde_json::from_str::<Value>(&other.body).unwrap()["error"]["status"],
        "INVALID_ARGUMENT"
    );

    let seen = upstream.requests();
    assert_eq!(seen.len(), 2);
    for req in &seen {
        assert_eq!(req.headers["x-goog-api-key"].to_str().unwrap(), key);
        let sent: Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(sent["generationConfig"]["maxOutputTokens"], 128, "{sent}");
        assert!(
            sent["generationConfig"].get("candidateCount").is_none(),
            "{sent}"
        );
    }
    let m = proxy.metrics_after_tokens(16);
    assert_eq!(metric(&m, "keyguard_tokens_total"), 7 + 9, "{m}");
    let log = proxy.log();
    assert_no_key(&key, &[plain, streamed, other], &format!("{log}{m}"));
}

/// A private redis-server on a unix socket in `dir`, stopped when dropped.
struct PrivateRedis(Child);

impl PrivateRedis {
    fn start(dir: &Path) -> PrivateRedis {
        let sock = dir.join("redis.sock");
        let _ = std::fs::remove_file(&sock);
        let child = std::process::Command::new("redis-server")
            .args(["--port", "0", "--save", "", "--appendonly", "no"])
            .arg("--unixsocket")
            .arg(&sock)
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !sock.exists() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        PrivateRedis(child)
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_two_instances_share_one_redis_limit_and_fail_closed_without_it() {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("redis-server").is_file()));
    if !found && crate::support::skip_missing("redis-server") {
        return;
    }
    let key = provider_key(75);
    let upstream = mock_upstream(&key);
    let dir = tempfile::tempdir().unwrap();
    let redis = PrivateRedis::start(dir.path());
    let url = format!("redis+unix://{}", dir.path().join("redis.sock").display());
    write(
        dir.path(),
        "keyguard.toml",
        format!(
            "[serve]\nstore = \"{url}\"\n\n[[serve.routes]]\nprovider = \"openai\"\nkey = \"env:PROXY_OPENAI_KEY\"\nmodels = [\"gpt-4o-mini\"]\n\n[serve.limits]\nrequests_per_day = 3\n"
        ),
    );
    let run = run_in(dir.path(), &["token", "issue", "--user", "carol"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let token = run.stdout.trim().to_string();
    let a = Proxy::start(dir.path(), &upstream.uri(), &key);
    let b = Proxy::start(dir.path(), &upstream.uri(), &key);
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str())];
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]});
    let chat = |p: &Proxy| format!("{}/v1/chat/completions", p.url);
    let mut replies = Vec::new();
    for p in [&a, &b, &a] {
        let r = post(&chat(p), &auth, body.clone());
        assert_eq!(r.status, 200, "{}", r.body);
        replies.push(r);
    }
    // The fourth request of the day, on the instance that has seen only one: refused.
    let r = post(&chat(&b), &auth, body.clone());
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.headers.get("retry-after").is_some());
    replies.push(r);
    assert_eq!(upstream.requests().len(), 3);

    // Redis gone mid-run: 503 in the provider's shape, never "allowed".
    drop(redis);
    let r = post(&chat(&a), &auth, body);
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(serde_json::from_str::<Value>(&r.body).unwrap()["error"].is_object());
    replies.push(r);
    assert_eq!(upstream.requests().len(), 3);
    let log = format!("{}{}", a.log(), b.log());
    assert_no_key(&key, &replies, &log);
}

/// The upstream's answer is held to what the proxy promises its clients: a redirect is a 502 of
/// ours (no `Location`, no upstream URL), oversized error and answer bodies are refused with 502
/// instead of being read whole, and only the route's allowed `anthropic-beta` names and a known
/// `anthropic-version` reach the provider.
#[test]
fn serve_guards_redirects_oversized_bodies_and_anthropic_headers() {
    let key = provider_key(76);
    let upstream = Server::start();
    let uri = upstream.uri();
    let chat = |model: &str, response: ResponseTemplate| {
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .and(body_partial_json(json!({"model": model})))
            .respond_with(response)
    };
    upstream.mount(chat(
        "redirect-model",
        ResponseTemplate::new(302)
            .insert_header("location", format!("{uri}/internal/v2/chat").as_str())
            .set_body_json(
                json!({"error": {"message": format!("moved to {uri}/internal/v2/chat")}}),
            ),
    ));
    upstream.mount(chat(
        "big-error-model",
        ResponseTemplate::new(500)
            .set_body_json(json!({"error": {"message": "x".repeat(100 * 1024)}})),
    ));
    upstream.mount(chat(
        "big-answer-model",
        ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "y".repeat(9 << 20)}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        })),
    ));
    upstream.mount(
        Mock::given(method("POST"))
            .and(path("/v1/messages"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "id": "m0", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
                "content": [{"type": "text", "text": "Hello"}], "stop_reason": "end_turn",
                "usage": {"input_tokens": 4, "output_tokens": 6}
            }))),
    );
    let (dir, token) = setup_config(
        r#"[serve]
store = "sqlite:serve.db"

[[serve.routes]]
provider = "openai"
key = "env:PROXY_OPENAI_KEY"
models = ["redirect-model", "big-error-model", "big-answer-model"]

[[serve.routes]]
provider = "anthropic"
key = "env:PROXY_ANTHROPIC_KEY"
models = ["claude-haiku-4-5"]
anthropic_beta = ["prompt-caching-2024-07-31"]
"#,
    );
    let proxy = Proxy::start(dir.path(), &uri, &key);
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str())];
    let chat_url = format!("{}/v1/chat/completions", proxy.url);
    let ask = |model: &str| {
        post(
            &chat_url,
            &auth,
            json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}),
        )
    };
    let mut replies = Vec::new();

    let r = ask("redirect-model");
    assert_eq!(r.status, 502, "{}", r.body);
    assert!(r.headers.get("location").is_none(), "{:?}", r.headers);
    let host = uri.trim_start_matches("http://");
    assert!(
        !r.body.contains(host) && !r.body.contains("internal"),
        "{}",
        r.body
    );
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["error"]["type"], "server_error", "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("redirect"));
    replies.push(r);

    for model in ["big-error-model", "big-answer-model"] {
        let r = ask(model);
        assert_eq!(r.status, 502, "{model}: {}", r.body);
        let v: Value = serde_json::from_str(&r.body).unwrap();
        assert!(
            v["error"]["message"].as_str().unwrap().contains("larger"),
            "{v}"
        );
        assert!(!r.body.contains("xxxx") && !r.body.contains("yyyy"));
        replies.push(r);
    }

    let r = post(
        &format!("{}/v1/messages", proxy.url),
        &[
            ("x-api-key", token.as_str()),
            ("anthropic-version", "2099-01-01"),
            (
                "anthropic-beta",
                "computer-use-2025-01-24,prompt-caching-2024-07-31",
            ),
        ],
        json!({"model": "claude-haiku-4-5", "max_tokens": 20,
               "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    replies.push(r);
    let sent = upstream
        .requests()
        .into_iter()
        .find(|q| q.url.path() == "/v1/messages")
        .expect("the messages call reached the upstream");
    let header = |name: &str| {
        sent.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(header("anthropic-beta"), ["prompt-caching-2024-07-31"]);
    assert_eq!(header("anthropic-version"), ["2023-06-01"]);
    assert_no_key(&key, &replies, &proxy.log());
}

/// The body of a chunked HTTP/1.1 response, as far as it arrived.
fn dechunk(raw: &[u8]) -> Vec<u8> {
    let text = raw;
    let start = text
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(text.len(), |p| p + 4);
    let mut rest = &text[start..];
    let mut body = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let Ok(size) = usize::from_str_radix(std::str::from_utf8(&rest[..eol]).unwrap_or("x"), 16)
        else {
            break;
        };
        rest = &rest[eol + 2..];
        let take = size.min(rest.len());
        body.extend_from_slice(&rest[..take]);
        if size == 0 || rest.len() < size + 2 {
            break;
        }
        rest = &rest[size + 2..];
    }
    body
}

/// An upstream that streams the key back (cut across two writes, then in an OpenAI-style error
/// object) and then stalls with the connection open.
fn key_echoing_stalling_upstream(key: String) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let key = key.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let mut seen = Vec::new();
                while !seen.ends_with(b"}") {
                    let Ok(n) = stream.read(&mut buf) else { return };
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                }
                let pieces = [
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n".to_string(),
                    format!("data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"echo {}", &key[..12]),
                    format!("{}\"}}}}],\"usage\":null}}\n\n", &key[12..]),
                    format!("data: {{\"error\":{{\"message\":\"Incorrect API key provided: {key}\",\"type\":\"invalid_request_error\"}}}}\n\n"),
                ];
                for p in pieces {
                    if stream
                        .write_all(p.as_bytes())
                        .and_then(|_| stream.flush())
                        .is_err()
                    {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(150));
                }
                // Stalled: nothing more, connection open.
                std::thread::sleep(Duration::from_secs(60));
            });
        }
    });
    url
}

#[test]
fn serve_scrubs_the_key_from_streams_and_drops_a_stalled_upstream() {
    use std::io::{Read, Write};
    let key = provider_key(77);
    let upstream = key_echoing_stalling_upstream(key.clone());
    let (dir, token) = setup_config(
        r#"[serve]
store = "sqlite:serve.db"
upstream_idle_timeout = 1

[[serve.routes]]
provider = "openai"
key = "env:PROXY_OPENAI_KEY"
models = ["gpt-4o-mini"]
"#,
    );
    let proxy = Proxy::start(dir.path(), &upstream, &key);
    let addr = proxy.url.trim_start_matches("http://").to_string();
    let mut sock = std::net::TcpStream::connect(&addr).unwrap();
    // Far longer than the idle timeout: the proxy, not this, must end the stream.
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = json!({"model": "gpt-4o-mini", "stream": true,
                      "messages": [{"role": "user", "content": "hi"}]})
    .to_string();
    write!(
        sock,
        "POST /v1/chat/completions HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let ended = loop {
        match sock.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) => break Err(e),
        }
    };
    // Closed by the proxy (EOF or reset), not by this client's read timeout.
    if let Err(e) = &ended {
        assert!(
            !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "the stalled stream was not ended: {e}"
        );
    }
    assert!(String::from_utf8_lossy(&raw).starts_with("HTTP/1.1 200"));
    let body = String::from_utf8_lossy(&dechunk(&raw)).into_owned();
    assert!(body.contains("echo <key>"), "{body}");
    assert!(body.contains("Incorrect API key provided: <key>"), "{body}");
    assert!(
        !body.contains(&key) && !body.contains(&key[8..20]),
        "{body}"
    );
    // The proxy logs the stall as it ends the stream: the line may follow the client's EOF.
    proxy.wait_for_log("stalled");
    assert!(!proxy.log().contains(&key), "key in the log");
}

/// An upstream that echoes the provider key in the headers the proxy forwards (`x-request-id`,
/// `request-id`, `content-type`, `retry-after`), on an answer and on an error: none reaches the
/// client.
#[test]
fn serve_drops_forwarded_headers_that_quote_the_key() {
    let key = provider_key(81);
    let upstream = Server::start();
    let echo = |status: u16| {
        ResponseTemplate::new(status)
            .insert_header("x-request-id", key.as_str())
            .insert_header("request-id", format!("req_{}", &key[8..30]).as_str())
            .insert_header("retry-after", key.as_str())
            .insert_header("cache-control", "no-store")
            .set_body_json(json!({
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                "error": {"message": "busy"}
            }))
    };
    upstream.mount(
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .and(body_partial_json(json!({"model": "gpt-4.1-mini"})))
            .respond_with(echo(429)),
    );
    upstream.mount(
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(echo(200)),
    );
    let (dir, token) = setup("");
    let proxy = Proxy::start(dir.path(), &upstream.uri(), &key);
    let bearer = format!("Bearer {token}");
    let url = format!("{}/v1/chat/completions", proxy.url);
    let mut replies = Vec::new();
    for (model, status) in [("gpt-4o-mini", 200), ("gpt-4.1-mini", 429)] {
        let r = post(
            &url,
            &[("authorization", &bearer)],
            json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}),
        );
        assert_eq!(r.status, status, "{}", r.body);
        // The harmless header still passes; the ones quoting the key do not.
        assert_eq!(r.headers.get("cache-control").unwrap(), "no-store");
        for name in ["x-request-id", "request-id"] {
            assert!(r.headers.get(name).is_none(), "{name}: {:?}", r.headers);
        }
        for (name, v) in &r.headers {
            let v = String::from_utf8_lossy(v.as_bytes());
            assert!(!v.contains(&key[8..30]), "part of the key in {name}");
        }
        replies.push(r);
    }
    assert_no_key(&key, &replies, &proxy.log());
}

/// A route whose key leaves for a host other than its provider's (an openai-compatible upstream
/// from keyguard.toml, which a cloned repository can supply) is named at start: which secret
/// goes to which host, by name only.
#[test]
fn serve_names_where_a_key_goes_that_is_not_its_providers() {
    let key = provider_key(82);
    let upstream = mock_upstream(&key);
    let (dir, _token) = setup_config(&format!(
        r#"[serve]
store = "sqlite:serve.db"

[[serve.routes]]
provider = "openai-compatible"
key = "env:PROXY_OPENAI_KEY"
upstream = "{}"
models = ["llama3"]
"#,
        upstream.uri()
    ));
    let proxy = Proxy::start(dir.path(), &upstream.uri(), &key);
    let log = proxy.log();
    let line = log
        .lines()
        .find(|l| l.contains("sends the key"))
        .unwrap_or_else(|| panic!("no key destination in {log}"));
    assert!(
        line.contains("openai-compatible")
            && line.contains("env:PROXY_OPENAI_KEY")
            && line.contains(&upstream.uri()),
        "{line}"
    );
    assert_no_key(&key, &[], &log);
}

/// A client that sends a plain (not streamed) request and hangs up while the upstream is still
/// working is counted its whole reservation, not its prompt alone: the provider may finish, and
/// bill, the answer all the same.
#[test]
fn serve_counts_the_reservation_of_a_client_that_hangs_up_before_the_answer() {
    use std::io::{Read, Write};
    let key = provider_key(83);
    // An upstream that reads the request, says so, and answers only much later.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream = format!("http://{}", listener.local_addr().unwrap());
    let (got_request, request_seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let got_request = got_request.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let mut seen = Vec::new();
                while !seen.ends_with(b"}") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = got_request.send(());
                // Held open until the proxy hangs up (a read of 0) or 30 s pass.
                stream
                    .set_read_timeout(Some(Duration::from_secs(30)))
                    .unwrap();
                let _ = stream.read(&mut buf);
            });
        }
    });
    let (dir, token) = setup("tokens_per_day = 100000");
    let proxy = Proxy::start(dir.path(), &upstream, &key);
    let addr = proxy.url.trim_start_matches("http://").to_string();
    let mut sock = std::net::TcpStream::connect(&addr).unwrap();
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
        .to_string();
    write!(
        sock,
        "POST /v1/chat/completions HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    request_seen
        .recv_timeout(Duration::from_secs(20))
        .expect("the request reached the upstream");
    sock.shutdown(std::net::Shutdown::Both).unwrap();
    drop(sock);
    let n = metric(&proxy.metrics_after_tokens(1), "keyguard_tokens_total");
    assert!(n > 256, "a client that hung up counts its reservation: {n}");
    assert_no_key(&key, &[], &proxy.log());
}

/// Another process holding the store's write lock (here a transaction the test keeps open): the
/// proxy's first, non-waiting attempt at the limit check gives way to its blocking pool, so the
/// requests wait for the lock and then succeed, each counted once, while the server keeps
/// answering (a token lookup is a read, which WAL mode does not make wait). A proxy that waited
/// on its async workers would stop answering until SQLite's busy timeout failed the waiting
/// requests (503); one that gave up without a fallback would answer them 503 at once.
#[test]
fn serve_waits_for_another_writer_on_its_blocking_pool() {
    let key = provider_key(79);
    let upstream = mock_upstream(&key);
    let (dir, token) = setup("requests_per_day = 100");
    let proxy = Proxy::start(dir.path(), &upstream.uri(), &key);
    let bearer = format!("Bearer {token}");
    let chat = format!("{}/v1/chat/completions", proxy.url);
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]});
    let ask = {
        let (chat, bearer, body) = (chat.clone(), bearer.clone(), body.clone());
        move || post(&chat, &[("authorization", bearer.as_str())], body.clone())
    };
    let first = ask();
    assert_eq!(first.status, 200, "{}", first.body);

    let other = rusqlite::Connection::open(dir.path().join("serve.db")).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    // More waiting requests than the runtime has async workers (one per core).
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let waiting: Vec<_> = (0..cores + 4)
        .map(|_| std::thread::spawn(ask.clone()))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // Meanwhile: a request refused after the token lookup, before the limit check.
    let unknown_model = post(
        &chat,
        &[("authorization", bearer.as_str())],
        json!({"model": "no-such-model", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(unknown_model.status, 400, "{}", unknown_model.body);
    // A request cannot be counted while another process holds the write lock.
    assert!(waiting.iter().all(|w| !w.is_finished()));
    other.execute_batch("COMMIT").unwrap();
    let mut replies = vec![first, unknown_model];
    for w in waiting {
        let r = w.join().unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        replies.push(r);
    }
    let last = ask();
    assert_eq!(last.status, 200, "{}", last.body);
    let waited = (cores + 4) as u64;
    assert_eq!(
        last.headers["x-ratelimit-remaining-requests"],
        (100 - 2 - waited).to_string().as_str()
    );
    replies.push(last);
    assert_no_key(&key, &replies, &proxy.log());
}
