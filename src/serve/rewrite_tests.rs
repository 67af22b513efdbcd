use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

fn config() -> ServeConfig {
    config_from(CONFIG)
}

fn config_from(text: &str) -> ServeConfig {
    ServeConfig::parse_with(text, "keyguard.toml", |_| Ok(None)).unwrap()
}

/// The same routes, each with `remote_media = true`.
fn config_remote_media() -> ServeConfig {
    config_from(&CONFIG.replace("max_tokens =", "remote_media = true\nmax_tokens ="))
}

const CONFIG: &str = r#"
[serve]
max_body_bytes = 4096

[[serve.routes]]
provider = "openai"
key = "env:OPENAI_API_KEY"
models = ["gpt-4o-mini", "gpt-4.1-mini"]
max_tokens = 1000

[[serve.routes]]
provider = "openai-compatible"
key = "env:LOCAL_KEY"
upstream = "http://127.0.0.1:11434"
models = ["llama3"]
max_tokens = 300

[[serve.routes]]
provider = "anthropic"
key = "env:ANTHROPIC_API_KEY"
models = ["claude-haiku-4-5", "claude-sonnet-4-5"]
max_tokens = 2000

[[serve.routes]]
provider = "gemini"
key = "env:GEMINI_API_KEY"
models = ["gemini-2.0-flash"]
max_tokens = 800
"#;

const JSON: Option<&str> = Some("application/json");

fn run(endpoint: &Endpoint, body: Value) -> Result<(Value, Summary), RewriteError> {
    let r = rewrite(&config(), endpoint, JSON, body.to_string().as_bytes())?;
    Ok((serde_json::from_slice(&r.body).unwrap(), r.summary))
}

fn gemini(stream: bool) -> Endpoint {
    Endpoint::Gemini {
        model: "gemini-2.0-flash".into(),
        stream,
    }
}

#[test]
fn content_type() {
    assert!(is_json_content_type(Some("application/json")));
    assert!(is_json_content_type(Some(
        "Application/JSON; charset=utf-8"
    )));
    assert!(!is_json_content_type(Some("text/plain")));
    assert!(!is_json_content_type(Some("application/jsonx")));
    assert!(!is_json_content_type(None));
    let err = rewrite(&config(), &Endpoint::OpenAiChat, Some("text/plain"), b"{}").unwrap_err();
    assert_eq!(err, RewriteError::UnsupportedMediaType);
    assert_eq!(err.kind().status(), 415);
}

#[test]
fn malformed_and_oversized() {
    for body in [&b"{\"model\": "[..], b"[1,2]", b"\"text\"", b"\xff\xfe"] {
        let err = rewrite(&config(), &Endpoint::OpenAiChat, JSON, body).unwrap_err();
        assert_eq!(err.kind().status(), 400, "{err}");
        assert!(matches!(err, RewriteError::Malformed(_)), "{err}");
    }
    let err = rewrite(&config(), &Endpoint::OpenAiChat, JSON, b"{\"model\": ").unwrap_err();
    assert!(err.to_string().contains("line 1"), "{err}");
    let big = vec![b' '; 4097];
    let err = rewrite(&config(), &Endpoint::OpenAiChat, JSON, &big).unwrap_err();
    assert_eq!(err.kind().status(), 413);
    for bad in [
        json!({"model": 5}),
        json!({"stream": "yes"}),
        json!({"max_tokens": -1}),
        json!({"max_tokens": 0}),
        json!({"max_tokens": 1.5}),
        json!({"max_completion_tokens": "100"}),
    ] {
        let err = run(&Endpoint::OpenAiChat, bad.clone()).unwrap_err();
        assert_eq!(err.kind().status(), 400, "{bad}");
    }
}

#[test]
fn model_must_be_allowed_and_defaults_to_the_first() {
    let err = run(&Endpoint::OpenAiChat, json!({"model": "gpt-4o"})).unwrap_err();
    assert_eq!(err.kind().status(), 400);
    let msg = err.to_string();
    assert!(msg.contains("`gpt-4o`"), "{msg}");
    assert!(msg.contains("gpt-4o-mini, gpt-4.1-mini, llama3"), "{msg}");
    // An Anthropic model on the OpenAI endpoint is not allowed either.
    assert!(run(&Endpoint::OpenAiChat, json!({"model": "claude-haiku-4-5"})).is_err());

    let (body, s) = run(&Endpoint::OpenAiChat, json!({"messages": []})).unwrap();
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(s.model, "gpt-4o-mini");
    assert_eq!(s.route, 0);
    let (_, s) = run(&Endpoint::OpenAiChat, json!({"model": "llama3"})).unwrap();
    assert_eq!(s.route, 1);
    let (body, s) = run(&Endpoint::AnthropicMessages, json!({"model": null})).unwrap();
    assert_eq!(body["model"], "claude-haiku-4-5");
    assert_eq!(s.route, 2);

    let err = run(
        &Endpoint::Gemini {
            model: "gemini-2.5-pro".into(),
            stream: false,
        },
        json!({}),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("allowed: gemini-2.0-flash"),
        "{err}"
    );
}

#[test]
fn a_hostile_model_name_is_escaped_and_cut() {
    let long = format!("\u{1b}[31m{}", "x".repeat(500));
    let err = run(&Endpoint::OpenAiChat, json!({"model": long})).unwrap_err();
    let msg = err.to_string();
    assert!(!msg.contains('\u{1b}'), "{msg}");
    assert!(msg.len() < 300, "{msg}");
}

#[test]
fn openai_max_tokens_clamped_or_set() {
    let (body, s) = run(&Endpoint::OpenAiChat, json!({"max_tokens": 5000})).unwrap();
    assert_eq!(body["max_tokens"], 1000);
    assert!(s.clamped);
    assert_eq!(s.max_tokens, 1000);

    let (body, s) = run(&Endpoint::OpenAiChat, json!({"max_completion_tokens": 200})).unwrap();
    assert_eq!(body["max_completion_tokens"], 200);
    assert!(!s.clamped);
    assert_eq!(s.max_tokens, 200);

    let (body, s) = run(
        &Endpoint::OpenAiChat,
        json!({"max_completion_tokens": 20000, "max_tokens": 100}),
    )
    .unwrap();
    // Both carry the smaller: a server that reads `max_completion_tokens` first (SGLang, vLLM)
    // must not generate 1000 tokens against a reservation of 100.
    assert_eq!(body["max_completion_tokens"], 100);
    assert_eq!(body["max_tokens"], 100);
    assert!(s.clamped);
    assert_eq!(s.max_tokens, 100);

    // Absent: OpenAI gets the newer name, an openai-compatible server the older one.
    let (body, s) = run(&Endpoint::OpenAiChat, json!({})).unwrap();
    assert_eq!(body["max_completion_tokens"], 1000);
    assert!(body.get("max_tokens").is_none());
    assert_eq!(s.max_tokens, 1000);
    let (body, s) = run(
        &Endpoint::OpenAiChat,
        json!({"model": "llama3", "max_tokens": null}),
    )
    .unwrap();
    assert_eq!(body["max_tokens"], 300);
    assert!(body.get("max_completion_tokens").is_none());
    assert_eq!(s.max_tokens, 300);
}

#[test]
fn a_duplicated_key_cannot_smuggle_a_second_ceiling() {
    let body = br#"{"max_tokens": 10, "messages": [], "max_tokens": 100000}"#;
    let r = rewrite(&config(), &Endpoint::OpenAiChat, JSON, body).unwrap();
    let text = String::from_utf8(r.body).unwrap();
    assert_eq!(text.matches("max_tokens").count(), 1, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert!(v["max_tokens"].as_u64().unwrap() <= 1000);
}

#[test]
fn openai_cost_raising_parameters_are_removed() {
    let (body, s) = run(
        &Endpoint::OpenAiChat,
        json!({"n": 8, "best_of": 4, "service_tier": "priority", "web_search_options": {},
               "logprobs": true, "top_logprobs": 5, "temperature": 0.2}),
    )
    .unwrap();
    for gone in ["n", "best_of", "service_tier", "web_search_options"] {
        assert!(body.get(gone).is_none(), "{gone}");
        assert!(s.dropped.iter().any(|d| d == gone), "{gone}");
    }
    assert_eq!(body["logprobs"], true);
    assert_eq!(body["top_logprobs"], 5);
    assert_eq!(body["temperature"], 0.2);
}

/// Fields openai-compatible servers read to pick another model (OpenRouter's fallback `models`,
/// billed at the model that answered) or to lift the output limit over `max_tokens` (llama.cpp's
/// `n_predict`, where -1 is "until the context is full") never reach the upstream.
#[test]
fn openai_compatible_model_and_limit_overrides_are_removed() {
    let (body, s) = run(
        &Endpoint::OpenAiChat,
        json!({"model": "gpt-4o-mini", "max_tokens": 100,
               "models": ["gpt-4o-mini", "openai/o1-pro"], "route": "fallback",
               "plugins": [{"id": "web"}], "n_predict": -1, "max_new_tokens": 100000}),
    )
    .unwrap();
    for gone in ["models", "route", "plugins", "n_predict", "max_new_tokens"] {
        assert!(body.get(gone).is_none(), "{gone} in {body}");
        assert!(s.dropped.iter().any(|d| d == gone), "{gone}");
    }
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["max_tokens"], 100);
}

#[test]
fn credentials_and_upstreams_in_the_body_are_removed() {
    let (body, s) = run(
        &Endpoint::OpenAiChat,
        json!({"api_key": "x", "apiKey": "x", "api-base": "http://evil", "base_url": "http://evil",
               "Authorization": "Bearer x", "extra_headers": {}, "client_secret": "x",
               "messages": [{"role": "user", "content": "my api_key is in the prompt"}],
               "user": "u1", "metadata": {"a": "b"}}),
    )
    .unwrap();
    let obj = body.as_object().unwrap();
    for gone in [
        "api_key",
        "apiKey",
        "api-base",
        "base_url",
        "Authorization",
        "extra_headers",
        "client_secret",
    ] {
        assert!(!obj.contains_key(gone), "{gone}");
    }
    assert_eq!(s.dropped.len(), 7, "{:?}", s.dropped);
    // Prompts and ordinary fields are untouched.
    assert_eq!(
        body["messages"][0]["content"],
        "my api_key is in the prompt"
    );
    assert_eq!(body["user"], "u1");
    assert_eq!(body["metadata"]["a"], "b");
    assert!(obj.contains_key("max_completion_tokens"));
}

#[test]
fn openai_stream_asks_for_usage() {
    let (body, s) = run(&Endpoint::OpenAiChat, json!({"stream": true})).unwrap();
    assert!(s.stream);
    assert_eq!(body["stream_options"]["include_usage"], true);
    let (body, _) = run(
        &Endpoint::OpenAiChat,
        json!({"stream": true, "stream_options": {"include_usage": false, "other": 1}}),
    )
    .unwrap();
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["stream_options"]["other"], 1);
    let (body, _) = run(
        &Endpoint::OpenAiChat,
        json!({"stream": true, "stream_options": "x"}),
    )
    .unwrap();
    assert_eq!(body["stream_options"]["include_usage"], true);
    let (body, s) = run(&Endpoint::OpenAiChat, json!({"stream": false})).unwrap();
    assert!(!s.stream);
    assert!(body.get("stream_options").is_none());
}

#[test]
fn anthropic_rules() {
    let (body, s) = run(&Endpoint::AnthropicMessages, json!({"messages": []})).unwrap();
    assert_eq!(body["max_tokens"], 2000);
    assert_eq!(s.max_tokens, 2000);
    assert!(!s.clamped);
    let (body, s) = run(
        &Endpoint::AnthropicMessages,
        json!({"model": "claude-sonnet-4-5", "max_tokens": 64000, "stream": true}),
    )
    .unwrap();
    assert_eq!(body["max_tokens"], 2000);
    assert!(s.clamped && s.stream);
    assert_eq!(s.model, "claude-sonnet-4-5");
    // Premium-priced options go.
    let (body, s) = run(
        &Endpoint::AnthropicMessages,
        json!({"speed": "fast", "inference_geo": "us", "service_tier": "auto", "temperature": 1}),
    )
    .unwrap();
    for gone in ["speed", "inference_geo", "service_tier"] {
        assert!(body.get(gone).is_none(), "{gone}");
        assert!(s.dropped.iter().any(|d| d == gone), "{gone}");
    }
    assert_eq!(body["temperature"], 1);
    // Anthropic has no stream_options; none is added.
    assert!(body.get("stream_options").is_none());

    // Thinking budget kept below the clamped max_tokens, or removed when none fits.
    let (body, _) = run(
        &Endpoint::AnthropicMessages,
        json!({"max_tokens": 64000, "thinking": {"type": "enabled", "budget_tokens": 32000}}),
    )
    .unwrap();
    assert_eq!(body["thinking"]["budget_tokens"], 1999);
    let (body, _) = run(
        &Endpoint::AnthropicMessages,
        json!({"max_tokens": 1500, "thinking": {"type": "enabled", "budget_tokens": 1200}}),
    )
    .unwrap();
    assert_eq!(body["thinking"]["budget_tokens"], 1200);
    let (body, s) = run(
        &Endpoint::AnthropicMessages,
        json!({"max_tokens": 1000, "thinking": {"type": "enabled", "budget_tokens": 4000}}),
    )
    .unwrap();
    assert!(body.get("thinking").is_none());
    assert!(s.dropped.contains(&"thinking".to_string()));

    // Server tools billed per use go; client tools stay.
    let (body, _) = run(
        &Endpoint::AnthropicMessages,
        json!({"tools": [
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 50},
            {"type": "code_execution_20250522", "name": "code_execution"},
            {"type": "web_fetch_20250910", "name": "web_fetch", "max_uses": 50},
            {"name": "get_weather", "input_schema": {"type": "object"}}
        ]}),
    )
    .unwrap();
    let tools = body["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 1);
    assert_eq!(tools[0]["name"], "get_weather");
}

#[test]
fn gemini_rules() {
    let (body, s) = run(&gemini(false), json!({"contents": []})).unwrap();
    assert_eq!(body["generationConfig"]["maxOutputTokens"], 800);
    assert_eq!(s.model, "gemini-2.0-flash");
    assert!(!s.stream);
    let (body, s) = run(
        &gemini(true),
        json!({"generationConfig": {"maxOutputTokens": 9000, "candidateCount": 4, "temperature": 1}}),
    )
    .unwrap();
    assert_eq!(body["generationConfig"]["maxOutputTokens"], 800);
    assert!(body["generationConfig"].get("candidateCount").is_none());
    assert_eq!(body["generationConfig"]["temperature"], 1);
    assert!(s.clamped && s.stream);
    // snake_case spellings are read, and only camelCase is sent.
    let (body, s) = run(
        &gemini(false),
        json!({"generation_config": {"max_output_tokens": 100000, "candidate_count": 3}}),
    )
    .unwrap();
    assert!(body.get("generation_config").is_none());
    assert_eq!(body["generationConfig"]["maxOutputTokens"], 800);
    assert!(body["generationConfig"].get("max_output_tokens").is_none());
    assert!(body["generationConfig"].get("candidate_count").is_none());
    assert!(s.clamped);
    // Both spellings at once is ambiguous.
    assert!(
        run(
            &gemini(false),
            json!({"generationConfig": {}, "generation_config": {}})
        )
        .is_err()
    );
    assert!(
        run(
            &gemini(false),
            json!({"generationConfig": {"maxOutputTokens": 1, "max_output_tokens": 1}})
        )
        .is_err()
    );
    let (body, s) = run(
        &gemini(false),
        json!({"generationConfig": null, "serviceTier": "priority"}),
    )
    .unwrap();
    assert_eq!(body["generationConfig"]["maxOutputTokens"], 800);
    assert!(body.get("serviceTier").is_none());
    assert!(s.dropped.contains(&"serviceTier".to_string()));
    // Search and Maps grounding and URL fetching go; function declarations stay.
    let (body, _) = run(
        &gemini(false),
        json!({"tools": [{"googleSearch": {}}, {"googleMaps": {}}, {"url_context": {}},
                         {"functionDeclarations": [{"name": "f"}], "urlContext": {}}]}),
    )
    .unwrap();
    assert_eq!(
        body["tools"],
        json!([{"functionDeclarations": [{"name": "f"}]}])
    );
}

/// Bodies that make the provider fetch or load media by URL or file id, one per shape.
fn remote_media_bodies() -> Vec<(Endpoint, Value)> {
    let user = |content: Value| json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}]});
    let claude = |block: Value| {
        json!({"model": "claude-haiku-4-5", "max_tokens": 100,
               "messages": [{"role": "user", "content": [block, {"type": "text", "text": "what is this?"}]}]})
    };
    let part =
        |p: Value| json!({"contents": [{"role": "user", "parts": [{"text": "describe"}, p]}]});
    vec![
        (
            Endpoint::OpenAiChat,
            user(
                json!([{"type": "image_url", "image_url": {"url": "https://img.example/cat.png"}}]),
            ),
        ),
        (
            Endpoint::OpenAiChat,
            user(
                json!([{"type": "image_url", "image_url": {"url": "http://img.example/cat.png", "detail": "high"}}]),
            ),
        ),
        // A bare string, which some servers take, and a scheme other than http(s).
        (
            Endpoint::OpenAiChat,
            user(json!([{"type": "image_url", "image_url": "gs://bucket/cat.png"}])),
        ),
        (
            Endpoint::OpenAiChat,
            user(json!([{"type": "file", "file": {"file_id": "file-abc123"}}])),
        ),
        (
            Endpoint::OpenAiChat,
            user(
                json!([{"type": "input_audio", "input_audio": {"file_id": "file-abc123", "format": "wav"}}]),
            ),
        ),
        (
            Endpoint::OpenAiChat,
            user(json!([{"type": "video_url", "video_url": {"url": "https://v.example/a.mp4"}}])),
        ),
        (
            Endpoint::AnthropicMessages,
            claude(
                json!({"type": "image", "source": {"type": "url", "url": "https://img.example/cat.png"}}),
            ),
        ),
        (
            Endpoint::AnthropicMessages,
            claude(
                json!({"type": "document", "source": {"type": "url", "url": "https://doc.example/a.pdf"}}),
            ),
        ),
        (
            Endpoint::AnthropicMessages,
            claude(
                json!({"type": "document", "source": {"type": "file", "file_id": "file_011abc"}}),
            ),
        ),
        (
            Endpoint::AnthropicMessages,
            claude(json!({"type": "image", "source": {"type": "file", "file_id": "file_011abc"}})),
        ),
        // Nested in a tool result.
        (
            Endpoint::AnthropicMessages,
            claude(json!({"type": "tool_result", "tool_use_id": "t1",
            "content": [{"type": "image", "source": {"type": "url", "url": "https://img.example/x.png"}}]})),
        ),
        // In the system prompt.
        (
            Endpoint::AnthropicMessages,
            json!({"model": "claude-haiku-4-5", "max_tokens": 100,
            "system": [{"type": "document", "source": {"type": "url", "url": "https://doc.example/a.pdf"}}],
            "messages": [{"role": "user", "content": "hi"}]}),
        ),
        (
            gemini(false),
            part(
                json!({"fileData": {"mimeType": "video/mp4", "fileUri": "https://www.youtube.com/watch?v=abcdefghijk"}}),
            ),
        ),
        (
            gemini(true),
            part(
                json!({"file_data": {"mime_type": "application/pdf", "file_uri": "https://generativelanguage.googleapis.com/v1beta/files/abc"}}),
            ),
        ),
        (
            gemini(false),
            part(json!({"fileData": {"mimeType": "image/png", "fileUri": "gs://bucket/cat.png"}})),
        ),
        (
            gemini(false),
            json!({"systemInstruction": {"parts": [{"fileData": {"mimeType": "application/pdf", "fileUri": "gs://b/a.pdf"}}]},
            "contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
        ),
        (
            gemini(false),
            json!({"cachedContent": "cachedContents/abc123", "contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
        ),
        (
            gemini(false),
            json!({"cached_content": "cachedContents/abc123", "contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
        ),
    ]
}

#[test]
fn remote_media_is_refused_by_default() {
    for (endpoint, body) in remote_media_bodies() {
        let err = run(&endpoint, body.clone()).unwrap_err();
        assert!(
            matches!(err, RewriteError::RemoteMedia { .. }),
            "{body}: {err}"
        );
        assert_eq!(err.kind().status(), 400, "{body}");
        let msg = err.to_string();
        assert!(
            msg.starts_with("remote media is not allowed on this route; send the data inline (base64) or ask the operator to set remote_media = true"),
            "{msg}"
        );
        // The message says where, so the client can find the part.
        let at = msg.rsplit_once(" at `").map(|(_, at)| at).unwrap_or("");
        assert!(
            at.starts_with("messages[")
                || at.starts_with("system[")
                || at.starts_with("contents[")
                || at.starts_with("systemInstruction")
                || at.starts_with("cached"),
            "{msg}"
        );
    }
    let err = run(&Endpoint::OpenAiChat, remote_media_bodies()[0].1.clone()).unwrap_err();
    assert!(
        err.to_string().contains("`messages[0].content[0]`"),
        "{err}"
    );
}

#[test]
fn remote_media_is_allowed_where_the_route_says_so() {
    let config = config_remote_media();
    for (endpoint, body) in remote_media_bodies() {
        let r = rewrite(&config, &endpoint, JSON, body.to_string().as_bytes())
            .unwrap_or_else(|e| panic!("{body}: {e}"));
        let sent: Value = serde_json::from_slice(&r.body).unwrap();
        // Forwarded as sent: the media reference is not rewritten away.
        for key in [
            "messages",
            "system",
            "contents",
            "systemInstruction",
            "cachedContent",
        ] {
            assert_eq!(sent.get(key), body.get(key), "{key}: {body}");
        }
    }
}

#[test]
fn inline_media_and_look_alikes_stay_allowed() {
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
    let bodies = [
        (
            Endpoint::OpenAiChat,
            json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "see https://img.example/cat.png"},
            {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{png}")}},
            {"type": "image_url", "image_url": {"url": format!("  DATA:image/png;base64,{png}")}},
            {"type": "input_audio", "input_audio": {"data": png, "format": "wav"}},
            {"type": "file", "file": {"filename": "a.pdf", "file_data": format!("data:application/pdf;base64,{png}")}}]}],
            // A tool may well have a parameter called image_url: tools are not searched.
            "tools": [{"type": "function", "function": {"name": "fetch", "parameters": {"type": "object",
                "properties": {"image_url": {"type": "string"}, "url": {"type": "string"}}}}}]}),
        ),
        (
            Endpoint::AnthropicMessages,
            json!({"model": "claude-haiku-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": png}},
            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain text"}},
            {"type": "text", "text": "source: url"}]}],
            "tools": [{"name": "t", "input_schema": {"type": "object", "properties": {"source": {"type": "string"}, "file_id": {"type": "string"}}}}]}),
        ),
        (
            gemini(false),
            json!({"contents": [{"role": "user", "parts": [
            {"text": "fileData https://www.youtube.com/watch?v=abcdefghijk"},
            {"inlineData": {"mimeType": "image/png", "data": png}},
            {"inline_data": {"mime_type": "image/png", "data": png}}]}],
            "cachedContent": null,
            "tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "object", "properties": {"fileData": {"type": "string"}}}}]}]}),
        ),
    ];
    for (endpoint, body) in bodies {
        let (sent, _) = run(&endpoint, body.clone()).unwrap_or_else(|e| panic!("{body}: {e}"));
        let key = if endpoint.wire() == Wire::Gemini {
            "contents"
        } else {
            "messages"
        };
        assert_eq!(sent[key], body[key]);
    }
}

#[test]
fn gemini_paths() {
    assert_eq!(
        Endpoint::for_path("/v1/chat/completions"),
        Some(Endpoint::OpenAiChat)
    );
    assert_eq!(
        Endpoint::for_path("/v1/messages"),
        Some(Endpoint::AnthropicMessages)
    );
    assert_eq!(
        Endpoint::for_path("/v1beta/models/gemini-2.0-flash:generateContent"),
        Some(gemini(false))
    );
    assert_eq!(Endpoint::for_path("/v1/completions"), None);
    assert_eq!(
        Endpoint::gemini("/v1beta/models/gemini-2.0-flash:generateContent"),
        Some(gemini(false))
    );
    assert_eq!(
        Endpoint::gemini("/v1beta/models/gemini-2.0-flash:streamGenerateContent"),
        Some(gemini(true))
    );
    assert_eq!(Endpoint::gemini("/v1beta/models/x:countTokens"), None);
    assert_eq!(Endpoint::gemini("/v1beta/models/:generateContent"), None);
    assert_eq!(Endpoint::gemini("/v1beta/models/a/b:generateContent"), None);
}

/// Arbitrary JSON values, a few levels deep, with the field names the rewriter looks at.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop_oneof![
            Just("gpt-4o-mini".to_string()),
            Just("llama3".to_string()),
            Just("claude-haiku-4-5".to_string()),
            ".{0,12}".prop_map(|s: String| s),
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            Just("model".to_string()),
            Just("max_tokens".to_string()),
            Just("max_completion_tokens".to_string()),
            Just("maxOutputTokens".to_string()),
            Just("max_output_tokens".to_string()),
            Just("generationConfig".to_string()),
            Just("generation_config".to_string()),
            Just("stream".to_string()),
            Just("stream_options".to_string()),
            Just("thinking".to_string()),
            Just("budget_tokens".to_string()),
            Just("tools".to_string()),
            Just("n".to_string()),
            Just("api_key".to_string()),
            "[a-z_]{1,8}".prop_map(|s: String| s),
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn rewriter_never_panics_and_keeps_its_promises(
        value in arb_json(),
        which in 0..3usize,
    ) {
        let config = config();
        let endpoint = [Endpoint::OpenAiChat, Endpoint::AnthropicMessages, gemini(false)][which].clone();
        let Ok(r) = rewrite(&config, &endpoint, JSON, value.to_string().as_bytes()) else {
            return Ok(());
        };
        let route = &config.routes[r.summary.route];
        prop_assert_eq!(route.provider.wire(), endpoint.wire());
        prop_assert!(route.allows(&r.summary.model));
        prop_assert!(r.summary.max_tokens <= route.max_tokens && r.summary.max_tokens >= 1);
        let out: Value = serde_json::from_slice(&r.body).unwrap();
        let obj = out.as_object().unwrap();
        prop_assert!(!obj.contains_key("api_key"));
        let limits: Vec<&Value> = match endpoint.wire() {
            Wire::OpenAi => {
                prop_assert_eq!(&out["model"], &Value::String(r.summary.model.clone()));
                prop_assert!(!obj.contains_key("n"));
                let present: Vec<&Value> = ["max_tokens", "max_completion_tokens"]
                    .iter()
                    .filter_map(|k| obj.get(*k))
                    .collect();
                prop_assert!(!present.is_empty());
                if r.summary.stream {
                    prop_assert_eq!(&out["stream_options"]["include_usage"], &Value::Bool(true));
                }
                present
            }
            Wire::Anthropic => {
                prop_assert_eq!(&out["model"], &Value::String(r.summary.model.clone()));
                let m = &out["max_tokens"];
                if let Some(b) = out.pointer("/thinking/budget_tokens").and_then(Value::as_u64) {
                    prop_assert!(b < m.as_u64().unwrap() || b < 1024);
                }
                vec![m]
            }
            Wire::Gemini => {
                prop_assert!(!obj.contains_key("generation_config"));
                prop_assert!(out["generationConfig"].get("candidateCount").is_none());
                vec![&out["generationConfig"]["maxOutputTokens"]]
            }
        };
        for v in limits {
            let n = v.as_u64().unwrap();
            prop_assert!(n >= 1 && n <= u64::from(route.max_tokens), "{} over {}", n, route.max_tokens);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = rewrite(&config(), &Endpoint::OpenAiChat, JSON, &bytes);
        let _ = rewrite(&config(), &Endpoint::AnthropicMessages, JSON, &bytes);
        let _ = rewrite(&config(), &gemini(true), JSON, &bytes);
    }
}
