//! Request bodies: a client's JSON is parsed and rebuilt, never forwarded as sent, so the proxy,
//! not the client, decides the model, the token ceiling and what may cost more. What upstream
//! receives is the serialisation of the checked value (a duplicated key, say a second
//! `max_tokens`, cannot slip past: the parser keeps one and that one is checked).
//!
//! Rules, per API (facts from the providers' API references, read through the search tool's
//! mirrors of them; the rows marked "not confirmed" are from knowledge of the APIs and want a
//! check against the live docs):
//! - OpenAI chat completions (`POST /v1/chat/completions`): the ceiling applies to `max_tokens`
//!   and `max_completion_tokens` (the newer name, the only one reasoning models take); when
//!   both are sent both carry the smaller (servers differ on which wins); when neither is sent, `max_completion_tokens` is set for OpenAI and `max_tokens` for
//!   openai-compatible servers (which may not know the newer name). `n` (choices per request,
//!   each billed) is removed, so the default 1 applies; `best_of` (legacy completions, billed per
//!   candidate) likewise. `service_tier` is removed: `priority`/`fast` are billed at a premium
//!   (developers.openai.com "Fast mode"; OpenRouter's and Vercel's service-tier pages agree).
//!   `web_search_options` is removed: search models bill each search (not confirmed).
//!   Fields with which some openai-compatible upstreams pick another model or raise the output
//!   limit behind the ceiling's back are removed (OpenAI takes none of them): `models` and
//!   `route` (OpenRouter's fallback models, tried when the first fails and "priced using the
//!   model that was ultimately used", openrouter.ai "Model Fallbacks": a way around the allowed
//!   list), `plugins` (OpenRouter's web search, billed per request), `n_predict` (llama.cpp's
//!   server reads it before `max_tokens`: `json_value(data, "n_predict", json_value(data,
//!   "max_tokens", ...))` in its `params_from_json_cmpl`) and `max_new_tokens`
//!   (text-generation-inference's name; not confirmed).
//!   `logprobs`/`top_logprobs` are kept: they return more detail about the same
//!   tokens, not more tokens. Streaming requests get `stream_options.include_usage = true`, which
//!   makes OpenAI send a final chunk with the usage before `data: [DONE]` (the ChatCompletion
//!   StreamOptions schema of OpenAI's OpenAPI spec).
//! - Anthropic messages (`POST /v1/messages`): `max_tokens` is required by the API, so it is set
//!   when absent and clamped otherwise. Extended thinking's `thinking.budget_tokens` must stay
//!   below `max_tokens` (and at least 1024): after a clamp it is lowered, or thinking is removed
//!   when no valid budget fits (the 1024 floor and "strictly less than max_tokens" are stated
//!   by secondary sources; Anthropic's page was not in the search index). Premium-priced
//!   options are removed: `speed` (`"fast"`, platform.claude.com "Fast mode": premium pricing),
//!   `inference_geo` (`"us"` is priced at 1.1x on newer Opus models, platform.claude.com
//!   "Service tiers") and `service_tier` (Priority Tier; without it the default applies).
//!   Server tools billed per use (`web_search_*`, `code_execution_*`, by their `type`) are
//!   removed from `tools` (not confirmed), and so is `web_fetch_*`, whose fetched pages count as
//!   input tokens that neither the body limit nor the ceiling bounds; client tools stay.
//! - Gemini `generateContent` / `streamGenerateContent`: the model is in the path, not the body.
//!   `generationConfig.maxOutputTokens` is clamped or set; `candidateCount` (candidates, each
//!   billed) is removed. Google's JSON mapping accepts snake_case names too (`generation_config`,
//!   `max_output_tokens`), so both spellings are read and only camelCase is sent: a client cannot
//!   hide a second ceiling under the other name. Search grounding tools (`googleSearch`,
//!   `googleSearchRetrieval`), billed per grounded prompt, are removed (not confirmed), as are
//!   `googleMaps` (Maps grounding, $25 per 1,000 grounded prompts by secondary sources) and
//!   `urlContext` (the fetched pages are input tokens no limit here bounds), and so
//!   is a top-level `serviceTier` (Google's priority tier; OpenRouter's service-tier page).
//! - Every API: top-level fields that could carry a credential or pick a host (`api_key`,
//!   `api_base`, `base_url`, `authorization`, ...) are removed; headers are the server's business.
//! - Remote media (every API, unless the route sets `remote_media = true`): a part that makes
//!   the provider fetch or load an image, audio, PDF or video by URL or file id is refused with
//!   400, because its input tokens are not in the body, so the daily reservation (4 bytes of
//!   body per token) cannot see them: one short request can cost about a million tokens. Inline
//!   (base64) data stays allowed; `max_body_bytes` bounds it. Only the message arrays are
//!   searched (`messages`, Anthropic's `system`, Gemini's `contents` and `systemInstruction`),
//!   at any depth (tool results nest blocks); tool schemas may well name a property `fileData`.
//!   Shapes relied on (third-party mirrors of the references, through the search tool):
//!   - OpenAI chat: an `image_url` part's `url` is "either a URL of the image or the base64
//!     encoded image data" (a `data:` URL; the ImageURL schema as the koog and LangChain.js
//!     clients document it), so any `url` (or bare string) not starting with `data:` is
//!     remote. A `file` part carries `file_data` (base64) or `file_id` ("the ID of an uploaded
//!     file", openai-ruby's ChatCompletionContentPart::File): `file_id` is refused.
//!     `input_audio` is documented as base64 `data` plus `format` only (openai-python's
//!     InputAudio); one that carries a `file_id` or `url` anyway is refused (not confirmed
//!     that any server takes it). `audio_url`/`video_url` (vLLM's extensions of the same
//!     shape; not confirmed) are treated like `image_url`.
//!   - Anthropic messages: an `image`/`document` block's `source` is `base64`, `text`,
//!     `content`, `url` (`{"type": "url", "url": …}`) or `file` (`{"type": "file",
//!     "file_id": …}`, the Files API beta; anthropic-sdk-ruby's BetaFileDocumentSource,
//!     OpenRouter's AnthropicDocumentBlockParamSourceUnion, letta's ImageContent schema):
//!     `url` and `file` are refused, and so is any other block carrying a `file_id`
//!     (`container_upload`; not confirmed).
//!   - Gemini: a Part's data is one of `text`, `inlineData` (`mimeType`, base64 `data`) or
//!     `fileData` (`mimeType`, `fileUri`: a Files API URI, `gs://`, `https://` or a YouTube
//!     link) (the generateContent request body in Google's Vertex reference;
//!     google.generativeai.protos.FileData): every `fileData`/`file_data` is refused. A
//!     top-level `cachedContent` names stored content whose tokens count as input (same
//!     request body): refused too.

use serde_json::{Map, Value};

use super::config::{ProviderKind, Route, ServeConfig, Wire};
use super::errors::ErrorKind;

/// Which endpoint a request arrived on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /v1/chat/completions`
    OpenAiChat,
    /// `POST /v1/messages`
    AnthropicMessages,
    /// `POST /v1beta/models/{model}:generateContent` or `:streamGenerateContent`.
    Gemini { model: String, stream: bool },
}

impl Endpoint {
    pub fn wire(&self) -> Wire {
        match self {
            Endpoint::OpenAiChat => Wire::OpenAi,
            Endpoint::AnthropicMessages => Wire::Anthropic,
            Endpoint::Gemini { .. } => Wire::Gemini,
        }
    }

    /// The endpoint a `POST` to `path` (without its query) is for, if any.
    pub fn for_path(path: &str) -> Option<Endpoint> {
        match path {
            "/v1/chat/completions" => Some(Endpoint::OpenAiChat),
            "/v1/messages" => Some(Endpoint::AnthropicMessages),
            _ => Endpoint::gemini(path),
        }
    }

    /// Gemini's paths: `/v1beta/models/MODEL:generateContent` (or `/v1/…`,
    /// `:streamGenerateContent`).
    pub fn gemini(path: &str) -> Option<Endpoint> {
        let rest = path
            .strip_prefix("/v1beta/models/")
            .or_else(|| path.strip_prefix("/v1/models/"))?;
        let (model, method) = rest.rsplit_once(':')?;
        let stream = match method {
            "generateContent" => false,
            "streamGenerateContent" => true,
            _ => return None,
        };
        (!model.is_empty() && !model.contains('/')).then(|| Endpoint::Gemini {
            model: model.to_string(),
            stream,
        })
    }
}

/// Why a request body was refused; `kind` gives the status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RewriteError {
    #[error("the request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("the request body is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("{0}")]
    Malformed(String),
    #[error("model `{model}` is not available here; allowed: {}", allowed.join(", "))]
    ModelNotAllowed { model: String, allowed: Vec<String> },
    #[error("no route serves this API")]
    NoRoute,
    #[error(
        "remote media is not allowed on this route; send the data inline (base64) or ask the operator to set remote_media = true (found {what} at `{at}`)"
    )]
    RemoteMedia { what: &'static str, at: String },
}

impl RewriteError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            RewriteError::UnsupportedMediaType => ErrorKind::UnsupportedMediaType,
            RewriteError::TooLarge { .. } => ErrorKind::PayloadTooLarge,
            RewriteError::Malformed(_)
            | RewriteError::ModelNotAllowed { .. }
            | RewriteError::RemoteMedia { .. } => ErrorKind::BadRequest,
            RewriteError::NoRoute => ErrorKind::NotFound,
        }
    }
}

/// What the proxy decided, for the log line and the usage accounting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Index into `ServeConfig::routes`.
    pub route: usize,
    pub model: String,
    pub stream: bool,
    /// The output-token limit sent upstream (never above the route's ceiling).
    pub max_tokens: u32,
    /// Whether the client asked for more than the ceiling.
    pub clamped: bool,
    /// Top-level parameters removed (names only).
    pub dropped: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Rewritten {
    /// The body to send upstream.
    pub body: Vec<u8>,
    pub summary: Summary,
}

/// Whether a Content-Type header says JSON: `application/json`, any parameters, any case.
pub fn is_json_content_type(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    })
}

/// Checks and rebuilds one request body for `endpoint`, choosing the route by the model.
pub fn rewrite(
    config: &ServeConfig,
    endpoint: &Endpoint,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Rewritten, RewriteError> {
    if body.len() as u64 > config.max_body_bytes {
        return Err(RewriteError::TooLarge {
            limit: config.max_body_bytes,
        });
    }
    if !is_json_content_type(content_type) {
        return Err(RewriteError::UnsupportedMediaType);
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        // serde_json's message says where and what ("expected `,` or `}` at line 1 column 9"),
        // never the text around it.
        RewriteError::Malformed(format!("the request body is not valid JSON: {e}"))
    })?;
    let Value::Object(mut obj) = value else {
        return Err(RewriteError::Malformed(
            "the request body must be a JSON object".to_string(),
        ));
    };
    let wire = endpoint.wire();
    let mut dropped = drop_credential_fields(&mut obj);

    let requested = match endpoint {
        Endpoint::Gemini { model, .. } => Some(model.clone()),
        _ => match obj.get("model") {
            None | Some(Value::Null) => None,
            Some(Value::String(m)) => Some(m.clone()),
            Some(_) => {
                return Err(RewriteError::Malformed(
                    "`model` must be a string".to_string(),
                ));
            }
        },
    };
    let (index, route) = match &requested {
        Some(m) => config
            .routes
            .iter()
            .enumerate()
            .find(|(_, r)| r.provider.wire() == wire && r.allows(m))
            .ok_or_else(|| RewriteError::ModelNotAllowed {
                model: shown_model(m),
                allowed: config
                    .models_for(wire)
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
            })?,
        None => config
            .routes
            .iter()
            .enumerate()
            .find(|(_, r)| r.provider.wire() == wire)
            .ok_or(RewriteError::NoRoute)?,
    };
    let model = requested.unwrap_or_else(|| route.default_model().to_string());
    if !route.remote_media
        && let Some((what, at)) = find_remote_media(wire, &obj)
    {
        return Err(RewriteError::RemoteMedia { what, at });
    }

    let (stream, max_tokens, clamped) = match endpoint {
        Endpoint::OpenAiChat => openai(route, &mut obj, &model, &mut dropped)?,
        Endpoint::AnthropicMessages => anthropic(route, &mut obj, &model, &mut dropped)?,
        Endpoint::Gemini { stream, .. } => {
            let (m, c) = gemini(route, &mut obj, &mut dropped)?;
            (*stream, m, c)
        }
    };
    let body = serde_json::to_vec(&Value::Object(obj)).expect("a JSON value serialises");
    Ok(Rewritten {
        body,
        summary: Summary {
            route: index,
            model,
            stream,
            max_tokens,
            clamped,
            dropped,
        },
    })
}

/// A model name as it may appear in a message: escaped and cut (it is client text).
fn shown_model(m: &str) -> String {
    let cut: String = m.chars().take(64).collect();
    let mut s = crate::sanitize::escape(&cut).into_owned();
    if m.chars().count() > 64 {
        s.push('…');
    }
    s
}

fn openai(
    route: &Route,
    obj: &mut Map<String, Value>,
    model: &str,
    dropped: &mut Vec<String>,
) -> Result<(bool, u32, bool), RewriteError> {
    obj.insert("model".to_string(), Value::String(model.to_string()));
    let stream = read_stream(obj)?;
    for name in [
        "n",
        "best_of",
        "service_tier",
        "web_search_options",
        "models",
        "route",
        "plugins",
        "n_predict",
        "max_new_tokens",
    ] {
        if obj.remove(name).is_some() {
            dropped.push(name.to_string());
        }
    }
    let ceiling = route.max_tokens;
    let mut clamped = false;
    let mut effective = None;
    for name in ["max_completion_tokens", "max_tokens"] {
        if let Some(v) = obj.get(name).filter(|v| !v.is_null()) {
            let asked = positive(name, v)?;
            clamped |= asked > u64::from(ceiling);
            let sent = asked.min(u64::from(ceiling)) as u32;
            obj.insert(name.to_string(), Value::from(sent));
            effective = Some(effective.map_or(sent, |e: u32| e.min(sent)));
        } else {
            obj.remove(name);
        }
    }
    let max_tokens = match effective {
        Some(m) => {
            // Both names sent: servers differ on which wins (SGLang and vLLM read
            // `max_completion_tokens or max_tokens`), so both carry the smaller one; the
            // reservation, made for `m`, then holds whichever the server reads.
            for name in ["max_completion_tokens", "max_tokens"] {
                if let Some(v) = obj.get_mut(name) {
                    *v = Value::from(m);
                }
            }
            m
        }
        None => {
            let name = match route.provider {
                ProviderKind::OpenAi => "max_completion_tokens",
                _ => "max_tokens",
            };
            obj.insert(name.to_string(), Value::from(ceiling));
            ceiling
        }
    };
    if stream {
        let options = obj
            .entry("stream_options")
            .or_insert_with(|| Value::Object(Map::new()));
        if !options.is_object() {
            *options = Value::Object(Map::new());
        }
        if let Value::Object(o) = options {
            o.insert("include_usage".to_string(), Value::Bool(true));
        }
    }
    Ok((stream, max_tokens, clamped))
}

fn anthropic(
    route: &Route,
    obj: &mut Map<String, Value>,
    model: &str,
    dropped: &mut Vec<String>,
) -> Result<(bool, u32, bool), RewriteError> {
    obj.insert("model".to_string(), Value::String(model.to_string()));
    let stream = read_stream(obj)?;
    let ceiling = route.max_tokens;
    let (max_tokens, clamped) = match obj.get("max_tokens").filter(|v| !v.is_null()) {
        Some(v) => {
            let asked = positive("max_tokens", v)?;
            (
                asked.min(u64::from(ceiling)) as u32,
                asked > u64::from(ceiling),
            )
        }
        None => (ceiling, false),
    };
    obj.insert("max_tokens".to_string(), Value::from(max_tokens));
    for name in ["speed", "inference_geo", "service_tier"] {
        if obj.remove(name).is_some() {
            dropped.push(name.to_string());
        }
    }

    // Thinking tokens count toward max_tokens, so the ceiling already bounds their cost; the
    // budget is only kept valid (1024 <= budget < max_tokens) so a clamp does not turn into a 400.
    const MIN_THINKING_BUDGET: u64 = 1024;
    let mut drop_thinking = false;
    if let Some(Value::Object(thinking)) = obj.get_mut("thinking")
        && let Some(budget) = thinking.get("budget_tokens").and_then(Value::as_u64)
        && budget >= u64::from(max_tokens)
    {
        let fitted = u64::from(max_tokens).saturating_sub(1);
        if fitted >= MIN_THINKING_BUDGET {
            thinking.insert("budget_tokens".to_string(), Value::from(fitted));
        } else {
            drop_thinking = true;
        }
    }
    if drop_thinking {
        obj.remove("thinking");
        dropped.push("thinking".to_string());
    }

    if let Some(Value::Array(tools)) = obj.get_mut("tools") {
        let before = tools.len();
        tools.retain(|t| {
            let kind = t.get("type").and_then(Value::as_str).unwrap_or("");
            !(kind.starts_with("web_search")
                || kind.starts_with("code_execution")
                || kind.starts_with("web_fetch"))
        });
        if tools.len() != before {
            dropped.push("tools (server tools billed per use)".to_string());
        }
    }
    Ok((stream, max_tokens, clamped))
}

fn gemini(
    route: &Route,
    obj: &mut Map<String, Value>,
    dropped: &mut Vec<String>,
) -> Result<(u32, bool), RewriteError> {
    let mut config = take_either(obj, "generationConfig", "generation_config")?
        .filter(|v| !v.is_null())
        .unwrap_or_else(|| Value::Object(Map::new()));
    let Value::Object(gc) = &mut config else {
        return Err(RewriteError::Malformed(
            "`generationConfig` must be an object".to_string(),
        ));
    };
    let ceiling = route.max_tokens;
    let (max_tokens, clamped) = match take_either(gc, "maxOutputTokens", "max_output_tokens")? {
        Some(v) if !v.is_null() => {
            let asked = positive("maxOutputTokens", &v)?;
            (
                asked.min(u64::from(ceiling)) as u32,
                asked > u64::from(ceiling),
            )
        }
        _ => (ceiling, false),
    };
    gc.insert("maxOutputTokens".to_string(), Value::from(max_tokens));
    if take_either(gc, "candidateCount", "candidate_count")?.is_some() {
        dropped.push("candidateCount".to_string());
    }
    obj.insert("generationConfig".to_string(), config);
    if take_either(obj, "serviceTier", "service_tier")?.is_some() {
        dropped.push("serviceTier".to_string());
    }

    if let Some(Value::Array(tools)) = obj.get_mut("tools") {
        let grounding = [
            "googleSearch",
            "google_search",
            "googleSearchRetrieval",
            "google_search_retrieval",
            "googleMaps",
            "google_maps",
            "urlContext",
            "url_context",
        ];
        let mut removed = false;
        for tool in tools.iter_mut() {
            if let Value::Object(t) = tool {
                for g in grounding {
                    removed |= t.remove(g).is_some();
                }
            }
        }
        tools.retain(|t| !t.as_object().is_some_and(Map::is_empty));
        if removed {
            dropped.push("tools (search grounding billed per prompt)".to_string());
        }
    }
    Ok((max_tokens, clamped))
}

/// The first reference to remote media in the message arrays (see the module doc): what it is
/// and where, as a JSON path such as `messages[0].content[1]`.
fn find_remote_media(wire: Wire, obj: &Map<String, Value>) -> Option<(&'static str, String)> {
    let roots: &[&str] = match wire {
        Wire::OpenAi => &["messages"],
        Wire::Anthropic => &["messages", "system"],
        Wire::Gemini => {
            for name in ["cachedContent", "cached_content"] {
                if obj.get(name).is_some_and(|v| !v.is_null()) {
                    return Some(("cached content", name.to_string()));
                }
            }
            &["contents", "systemInstruction", "system_instruction"]
        }
    };
    let mut path = Vec::new();
    for root in roots {
        if let Some(v) = obj.get(*root) {
            path.push(root.to_string());
            if let Some(what) = walk_for_remote(wire, v, &mut path) {
                // Keys on the path are client text: escaped and cut.
                let at: String = path.concat().chars().take(120).collect();
                return Some((what, crate::sanitize::escape(&at).into_owned()));
            }
            path.pop();
        }
    }
    None
}

/// Depth-first; on a hit `path` is left pointing at the object that holds the reference.
/// serde_json's parser stops at 128 levels of nesting, which bounds the recursion.
fn walk_for_remote(wire: Wire, v: &Value, path: &mut Vec<String>) -> Option<&'static str> {
    match v {
        Value::Object(o) => {
            if let Some(what) = remote_in(wire, o) {
                return Some(what);
            }
            for (k, child) in o {
                path.push(format!(".{k}"));
                if let Some(what) = walk_for_remote(wire, child, path) {
                    return Some(what);
                }
                path.pop();
            }
            None
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                path.push(format!("[{i}]"));
                if let Some(what) = walk_for_remote(wire, child, path) {
                    return Some(what);
                }
                path.pop();
            }
            None
        }
        _ => None,
    }
}

/// Whether this one object (a content part, block or Part) refers to remote media.
fn remote_in(wire: Wire, o: &Map<String, Value>) -> Option<&'static str> {
    let has_str = |v: Option<&Value>, key: &str| {
        v.and_then(|v| v.get(key))
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    match wire {
        Wire::OpenAi => {
            for (key, what) in [
                ("image_url", "an `image_url` that is not a data: URL"),
                ("audio_url", "an `audio_url` that is not a data: URL"),
                ("video_url", "a `video_url` that is not a data: URL"),
            ] {
                let url = match o.get(key) {
                    Some(Value::String(s)) => Some(s.as_str()),
                    Some(Value::Object(u)) => u.get("url").and_then(Value::as_str),
                    _ => None,
                };
                if url.is_some_and(|u| !is_data_url(u)) {
                    return Some(what);
                }
            }
            if has_str(o.get("file"), "file_id") {
                return Some("a `file` part with a `file_id`");
            }
            if has_str(o.get("input_audio"), "file_id") || has_str(o.get("input_audio"), "url") {
                return Some("an `input_audio` part that refers to a file");
            }
            None
        }
        Wire::Anthropic => {
            if let Some(Value::Object(source)) = o.get("source") {
                match source.get("type").and_then(Value::as_str) {
                    Some("url") => return Some("a `source` of type `url`"),
                    Some("file") => return Some("a `source` of type `file`"),
                    _ => {}
                }
            }
            o.get("file_id")
                .is_some_and(|v| !v.is_null())
                .then_some("a `file_id`")
        }
        Wire::Gemini => ["fileData", "file_data"]
            .iter()
            .any(|k| o.get(*k).is_some_and(|v| !v.is_null()))
            .then_some("a `fileData` part (a file URI)"),
    }
}

/// `data:…` (any case, leading blanks ignored): the bytes are in the body.
fn is_data_url(url: &str) -> bool {
    url.trim_start()
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("data:"))
}

/// `stream`: absent or a boolean.
fn read_stream(obj: &Map<String, Value>) -> Result<bool, RewriteError> {
    match obj.get("stream") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(RewriteError::Malformed(
            "`stream` must be true or false".to_string(),
        )),
    }
}

/// A token count: a positive whole number (`1024` or `1024.0`).
fn positive(name: &str, v: &Value) -> Result<u64, RewriteError> {
    let n = v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 1.0)
            .map(|f| f.min(u64::MAX as f64) as u64)
    });
    n.filter(|n| *n >= 1)
        .ok_or_else(|| RewriteError::Malformed(format!("`{name}` must be a positive whole number")))
}

/// One field under either of its two spellings, removed; both present is refused.
fn take_either(
    obj: &mut Map<String, Value>,
    camel: &str,
    snake: &str,
) -> Result<Option<Value>, RewriteError> {
    match (obj.remove(camel), obj.remove(snake)) {
        (Some(_), Some(_)) => Err(RewriteError::Malformed(format!(
            "`{camel}` and `{snake}` are the same field; send one"
        ))),
        (a, b) => Ok(a.or(b)),
    }
}

/// Removes top-level fields that could carry a credential or an upstream address. Names are
/// compared without case, `_` or `-`. Returns the removed names.
fn drop_credential_fields(obj: &mut Map<String, Value>) -> Vec<String> {
    const EXACT: &[&str] = &[
        "key",
        "apibase",
        "baseurl",
        "apiurl",
        "endpoint",
        "upstream",
        "url",
        "host",
        "authorization",
        "headers",
        "extraheaders",
        "organization",
        "project",
    ];
    const CONTAINS: &[&str] = &["apikey", "secret", "credential", "password", "bearer"];
    let doomed: Vec<String> = obj
        .keys()
        .filter(|k| {
            let n: String = k
                .chars()
                .filter(|c| *c != '_' && *c != '-')
                .flat_map(char::to_lowercase)
                .collect();
            EXACT.contains(&n.as_str()) || CONTAINS.iter().any(|c| n.contains(c))
        })
        .cloned()
        .collect();
    for k in &doomed {
        obj.remove(k);
    }
    doomed
        .into_iter()
        .map(|k| crate::sanitize::escape(&k.chars().take(40).collect::<String>()).into_owned())
        .collect()
}

#[cfg(test)]
#[path = "rewrite_tests.rs"]
mod tests;
