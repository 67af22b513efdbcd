//! A fast mock of OpenAI's chat completions endpoint, the upstream of `scripts/bench-serve.sh`:
//! `POST /v1/chat/completions` answers at once, with a `chat.completion` JSON object, or, when
//! the body has `"stream": true`, with `--chunks` `chat.completion.chunk` server-sent events, a
//! final usage chunk (empty `choices`) when `stream_options.include_usage` is true, and
//! `data: [DONE]`. `GET /v1/models` lists the one model, for clients that look first.
//!
//! An example rather than a binary target so that it adds nothing to the keyguard binary; it
//! uses axum, tokio and serde_json, which keyguard already depends on.
//!
//! Wire facts (OpenAI's API reference, "Create chat completion" and "The chat completion chunk
//! object"): each event is `data: <json>\n\n`; the stream ends with `data: [DONE]`; with
//! `stream_options: {"include_usage": true}` one last chunk carries `usage` and an empty `choices`
//! array, and every other chunk has `"usage": null`.
//!
//! Usage: `mock_upstream [--listen ADDR] [--chunks N] [--threads N]`; it prints
//! `mock_upstream: listening on http://ADDR` on stderr once it accepts connections.

use std::net::SocketAddr;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

struct Args {
    listen: SocketAddr,
    chunks: usize,
    threads: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        listen: "127.0.0.1:0".parse().expect("a valid address"),
        chunks: 20,
        threads: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--listen" => {
                let v = value("--listen")?;
                args.listen = v.parse().map_err(|_| {
                    format!("--listen: `{v}` is not an address such as 127.0.0.1:9000")
                })?;
            }
            "--chunks" => {
                let v = value("--chunks")?;
                args.chunks = v
                    .parse()
                    .map_err(|_| format!("--chunks: `{v}` is not a number"))?;
            }
            "--threads" => {
                let v = value("--threads")?;
                args.threads = v
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(format!("--threads: `{v}` is not a positive number"))?;
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(args)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("mock_upstream: {e}");
            eprintln!("usage: mock_upstream [--listen ADDR] [--chunks N] [--threads N]");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(serve(args));
}

async fn serve(args: Args) {
    let chunks = args.chunks;
    let app = Router::new()
        .route(
            "/v1/chat/completions",
            post(move |body: Bytes| async move { chat(&body, chunks) }),
        )
        .route(
            "/v1/models",
            get(|| async {
                axum::Json(json!({"object": "list", "data": [
                    {"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "mock"}
                ]}))
            }),
        );
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("mock_upstream: cannot listen on {}: {e}", args.listen);
            std::process::exit(2);
        }
    };
    let bound = listener.local_addr().expect("a bound address");
    eprintln!("mock_upstream: listening on http://{bound}");
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await.expect("the mock server");
}

fn chat(body: &[u8], chunks: usize) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": {"message": "the body is not JSON", "type": "invalid_request_error", "param": null, "code": null}})),
        )
            .into_response();
    };
    let model = req["model"].as_str().unwrap_or("gpt-4o-mini").to_string();
    let completion_tokens = chunks.max(1) as u64;
    let usage = json!({"prompt_tokens": 9, "completion_tokens": completion_tokens, "total_tokens": 9 + completion_tokens});
    if req["stream"].as_bool() != Some(true) {
        let text = "Hello! ".repeat(chunks.max(1));
        return axum::Json(json!({
            "id": "chatcmpl-mock",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text.trim_end(), "refusal": null}, "logprobs": null, "finish_reason": "stop"}],
            "usage": usage,
            "system_fingerprint": "fp_mock"
        }))
        .into_response();
    }
    let include_usage = req["stream_options"]["include_usage"].as_bool() == Some(true);
    let mut events: Vec<Result<Bytes, std::convert::Infallible>> = Vec::with_capacity(chunks + 3);
    let mut event = |v: Value| {
        let mut s = b"data: ".to_vec();
        serde_json::to_writer(&mut s, &v).expect("JSON to a Vec");
        s.extend_from_slice(b"\n\n");
        events.push(Ok(Bytes::from(s)));
    };
    let chunk = |delta: Value, finish: Value| {
        let mut c = json!({
            "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_700_000_000,
            "model": model, "system_fingerprint": "fp_mock",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
        });
        if include_usage {
            c["usage"] = Value::Null;
        }
        c
    };
    event(chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    ));
    for _ in 0..chunks {
        event(chunk(json!({"content": "Hello! "}), Value::Null));
    }
    event(chunk(json!({}), json!("stop")));
    if include_usage {
        event(json!({
            "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_700_000_000,
            "model": model, "system_fingerprint": "fp_mock", "choices": [], "usage": usage
        }));
    }
    events.push(Ok(Bytes::from_static(b"data: [DONE]\n\n")));
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(futures_util::stream::iter(events)),
    )
        .into_response()
}
