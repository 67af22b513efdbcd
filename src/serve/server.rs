//! The HTTP server of `keyguard serve`: axum on tokio, in front of the library parts (`config`,
//! `rewrite`, `usage`, `errors`, `store`). Per request, in this order: the client token is
//! looked up (401), the body size is checked before parsing (413), the body is rebuilt
//! (`rewrite`: 400/415), the user's limits are checked and counted (429, or 503 when the store
//! fails: closed, never open) — all before any upstream call, so refused requests cost nothing.
//! Then the provider key (held as a `Secret`, re-read on SIGHUP) is added and the request goes to
//! the route's upstream; streamed answers pass through chunk by chunk while `usage::StreamMeter`
//! counts tokens, recorded when the stream ends or the client goes away.
//!
//! Never logged or returned: the provider key, client tokens, Authorization headers, bodies.
//! Upstream headers reach the client only from `FORWARDED_HEADERS`.
//!
//! Provider header facts: OpenAI takes `Authorization: Bearer KEY`; Anthropic `x-api-key` plus
//! `anthropic-version` (`2023-06-01` when the client sends none); Gemini `x-goog-api-key`
//! (same as the verify adapters in `src/providers/`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::Stream;

use super::config::{KeySource, ServeConfig, Wire};
use super::errors::{ErrorKind, error_body, upstream_error};
use super::rewrite::{Endpoint, rewrite};
use super::store::{self, Auth, Decision, Limits, Store};
use super::usage::{self, StreamMeter};
use crate::finding::Secret;

/// Upstream response headers a client may see; everything else (org ids, upstream URLs, cookies)
/// stays behind the proxy.
const FORWARDED_HEADERS: &[&str] = &[
    "content-type",
    "cache-control",
    "retry-after",
    "x-request-id",
    "request-id",
];
const ANTHROPIC_VERSION: &str = "2023-06-01";
/// How long a client may take to send its request body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// In-flight requests get this long after SIGTERM/ctrl-c before the process exits anyway.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);
const LATENCY_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

pub struct Options {
    pub config: ServeConfig,
    pub limits: Limits,
    pub store: Box<dyn Store>,
}

struct AppState {
    config: ServeConfig,
    limits: Limits,
    store: Arc<dyn Store>,
    /// One key per route, replaced whole on SIGHUP.
    keys: RwLock<Arc<Vec<Secret>>>,
    client: reqwest::Client,
    metrics: Metrics,
}

#[derive(Default)]
struct Metrics {
    requests: Mutex<BTreeMap<u16, u64>>,
    latency: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
    upstream_errors: AtomicU64,
    limit_rejections: AtomicU64,
    tokens: AtomicU64,
}

impl Metrics {
    fn observe(&self, status: u16, elapsed: Duration) {
        *self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(status)
            .or_default() += 1;
        let secs = elapsed.as_secs_f64();
        for (i, b) in LATENCY_BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.latency[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        s.push_str("# HELP keyguard_requests_total Proxied requests by response status.\n# TYPE keyguard_requests_total counter\n");
        for (status, n) in self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(s, "keyguard_requests_total{{status=\"{status}\"}} {n}");
        }
        s.push_str("# HELP keyguard_request_duration_seconds Time to the response head.\n# TYPE keyguard_request_duration_seconds histogram\n");
        for (i, b) in LATENCY_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                s,
                "keyguard_request_duration_seconds_bucket{{le=\"{b}\"}} {}",
                self.latency[i].load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(
            s,
            "keyguard_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            s,
            "keyguard_request_duration_seconds_sum {}",
            self.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(s, "keyguard_request_duration_seconds_count {count}");
        for (name, help, v) in [
            (
                "keyguard_upstream_errors_total",
                "Upstream failures and error answers.",
                &self.upstream_errors,
            ),
            (
                "keyguard_limit_rejections_total",
                "Requests refused with 429 by a per-user limit.",
                &self.limit_rejections,
            ),
            (
                "keyguard_tokens_total",
                "Provider tokens counted toward users' limits.",
                &self.tokens,
            ),
        ] {
            let _ = writeln!(
                s,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        }
        s
    }
}

/// Reads every route's key. Errors name the source, never a value.
pub fn load_keys(config: &ServeConfig) -> Result<Vec<Secret>> {
    let mut keychain = None;
    let mut keys = Vec::new();
    for route in &config.routes {
        let key = match &route.key {
            KeySource::Env(var) => {
                let v = std::env::var_os(var).with_context(|| {
                    format!(
                        "the {} route's key: environment variable {var} is not set",
                        route.provider.id()
                    )
                })?;
                Secret::new(v.as_encoded_bytes())
            }
            KeySource::Keychain(name) => {
                if keychain.is_none() {
                    keychain = Some(crate::keychain::Keychain::open()?);
                }
                keychain
                    .as_ref()
                    .expect("opened above")
                    .get("default", name)?
            }
        };
        if key.expose().is_empty() {
            anyhow::bail!("the {} route's key is empty", route.provider.id());
        }
        route.check_key(&key).map_err(anyhow::Error::msg)?;
        keys.push(key);
    }
    Ok(keys)
}

/// Runs the server until SIGTERM/ctrl-c; prints the bound address (port 0 resolved) on stderr.
pub fn run(opts: Options) -> Result<()> {
    let keys = load_keys(&opts.config)?;
    crate::providers::http::install_crypto_provider();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(120))
        .tcp_nodelay(true)
        .build()
        .context("building the upstream HTTP client")?;
    let state = Arc::new(AppState {
        limits: opts.limits,
        store: Arc::from(opts.store),
        keys: RwLock::new(Arc::new(keys)),
        client,
        metrics: Metrics::default(),
        config: opts.config,
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(serve(state))
}

async fn serve(state: Arc<AppState>) -> Result<()> {
    let listen = state.config.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let bound: SocketAddr = listener.local_addr()?;
    if !bound.ip().is_loopback() {
        eprintln!(
            "keyguard serve: listening on {bound}, not only this machine: put it behind TLS (a reverse proxy such as Caddy or nginx); tokens travel in headers"
        );
    }
    eprintln!("keyguard serve: listening on http://{bound}");

    #[cfg(unix)]
    tokio::spawn(reload_on_sighup(state.clone()));

    let mut app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .route("/v1/models", get(models))
        .fallback(proxy)
        .with_state(state.clone());
    if !state.config.cors_origins.is_empty() {
        app = app.layer(cors(&state.config.cors_origins)?);
    }
    let shutdown = Arc::new(tokio::sync::Notify::new());
    let notified = shutdown.clone();
    let server = axum::serve(
        axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        }),
        app,
    )
    .with_graceful_shutdown(async move {
        stop_signal().await;
        eprintln!(
            "keyguard serve: stopping; in-flight requests have {}s",
            SHUTDOWN_DEADLINE.as_secs()
        );
        notified.notify_one();
    });
    let deadline = async {
        shutdown.notified().await;
        tokio::time::sleep(SHUTDOWN_DEADLINE).await;
    };
    tokio::select! {
        r = server => r.context("server error")?,
        _ = deadline => eprintln!("keyguard serve: shutdown deadline reached"),
    }
    Ok(())
}

fn cors(origins: &[String]) -> Result<tower_http::cors::CorsLayer> {
    use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};
    let origins = origins
        .iter()
        .map(|o| HeaderValue::from_str(o).context("a cors origin is not a valid header value"))
        .collect::<Result<Vec<_>>>()?;
    Ok(CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST])
        // Whatever request headers the page's preflight asks for: the official JS SDKs send
        // `X-Stainless-*` headers (their set changes between versions) that a fixed list
        // refuses, and refusing them protects nothing: only the configured origins get an
        // answer, and no client header but `anthropic-version`/`-beta` reaches the upstream.
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([
            header::RETRY_AFTER,
            HeaderName::from_static("x-ratelimit-limit-requests"),
            HeaderName::from_static("x-ratelimit-remaining-requests"),
            HeaderName::from_static("x-ratelimit-reset-requests"),
            HeaderName::from_static("x-ratelimit-limit-tokens"),
            HeaderName::from_static("x-ratelimit-remaining-tokens"),
            HeaderName::from_static("x-ratelimit-reset-tokens"),
        ])
        .max_age(Duration::from_secs(600)))
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(unix)]
async fn reload_on_sighup(state: Arc<AppState>) {
    let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
        return;
    };
    while hup.recv().await.is_some() {
        let st = state.clone();
        match tokio::task::spawn_blocking(move || load_keys(&st.config)).await {
            Ok(Ok(keys)) => {
                *state.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys);
                tracing::info!("provider keys re-read (SIGHUP)");
            }
            Ok(Err(e)) => tracing::warn!("SIGHUP: keeping the old keys: {e:#}"),
            Err(e) => tracing::warn!("SIGHUP: keeping the old keys: {e}"),
        }
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// `GET /v1/models`: the allowed models, in OpenAI's list shape (Anthropic's SDK reads `data`
/// and `id` too). Needs a valid token like every other API call.
async fn models(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let wire = if headers.contains_key("x-api-key") {
        Wire::Anthropic
    } else {
        Wire::OpenAi
    };
    if let Err(r) = authenticate(&state, &headers, wire).await {
        return r;
    }
    let data: Vec<_> = state
        .config
        .routes
        .iter()
        .flat_map(|r| {
            r.models.iter().map(move |m| {
                serde_json::json!({"id": m, "object": "model", "type": "model", "owned_by": r.provider.id()})
            })
        })
        .collect();
    json_response(
        StatusCode::OK,
        serde_json::to_vec(&serde_json::json!({"object": "list", "data": data}))
            .unwrap_or_default(),
    )
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn refuse(wire: Wire, kind: ErrorKind, message: &str) -> Response {
    json_response(
        StatusCode::from_u16(kind.status()).unwrap_or(StatusCode::BAD_GATEWAY),
        error_body(wire, kind, message),
    )
}

/// The client token from `Authorization: Bearer`, `x-api-key` or `x-goog-api-key`. No client
/// header is forwarded upstream except `anthropic-version`/`anthropic-beta`, so all are stripped.
fn client_token(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        if v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ") {
            return Some(v[7..].trim().to_string());
        }
    }
    // `x-api-key` is how the anthropic SDK sends it, `x-goog-api-key` the Gemini SDKs.
    ["x-api-key", "x-goog-api-key"].iter().find_map(|name| {
        headers
            .get(*name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_string())
    })
}

async fn authenticate(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    wire: Wire,
) -> Result<String, Response> {
    let Some(token) = client_token(headers) else {
        return Err(refuse(
            wire,
            ErrorKind::Unauthorized,
            "missing keyguard token (Authorization: Bearer or x-api-key)",
        ));
    };
    let st = state.clone();
    let auth =
        tokio::task::spawn_blocking(move || store::authenticate(&*st.store, &token, store::now()))
            .await;
    match auth {
        Ok(Ok(Auth::Valid(r))) => Ok(r.user),
        Ok(Ok(Auth::Unknown)) => Err(refuse(
            wire,
            ErrorKind::Unauthorized,
            "invalid keyguard token",
        )),
        Ok(Ok(Auth::Revoked)) => Err(refuse(
            wire,
            ErrorKind::Unauthorized,
            "this keyguard token has been revoked",
        )),
        Ok(Ok(Auth::Expired)) => Err(refuse(
            wire,
            ErrorKind::Unauthorized,
            "this keyguard token has expired",
        )),
        Ok(Err(e)) => {
            tracing::error!("store error during authentication: {e:#}");
            Err(refuse(
                wire,
                ErrorKind::Unavailable,
                "the proxy's store is unavailable",
            ))
        }
        Err(_) => Err(refuse(
            wire,
            ErrorKind::Unavailable,
            "the proxy's store is unavailable",
        )),
    }
}

fn rate_headers(d: &Decision, headers: &mut HeaderMap) {
    let tightest = [d.requests_per_minute, d.requests_per_day]
        .into_iter()
        .flatten()
        .min_by_key(|w| w.remaining);
    let mut put = |name: &'static str, v: u64| {
        headers.insert(HeaderName::from_static(name), HeaderValue::from(v));
    };
    if let Some(w) = tightest {
        put("x-ratelimit-limit-requests", w.limit);
        put("x-ratelimit-remaining-requests", w.remaining);
        put("x-ratelimit-reset-requests", w.reset_after);
    }
    if let Some(w) = d.tokens_per_day {
        put("x-ratelimit-limit-tokens", w.limit);
        put("x-ratelimit-remaining-tokens", w.remaining);
        put("x-ratelimit-reset-tokens", w.reset_after);
    }
}

/// What one request is, for the log line.
struct Line {
    user: String,
    route: &'static str,
    model: String,
    started: Instant,
}

impl Line {
    fn log(&self, status: u16, tokens: Option<u64>) {
        tracing::info!(
            user = %self.user,
            route = self.route,
            model = %self.model,
            status,
            latency_ms = self.started.elapsed().as_millis() as u64,
            tokens = tokens.unwrap_or(0),
            "request"
        );
    }
}

async fn proxy(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let started = Instant::now();
    let response = proxy_inner(&state, req, started).await;
    state
        .metrics
        .observe(response.status().as_u16(), started.elapsed());
    response
}

async fn proxy_inner(state: &Arc<AppState>, req: Request, started: Instant) -> Response {
    let path = req.uri().path().to_string();
    let Some(endpoint) = Endpoint::for_path(&path) else {
        return refuse(Wire::OpenAi, ErrorKind::NotFound, "no such endpoint");
    };
    let wire = endpoint.wire();
    if req.method() != Method::POST {
        return refuse(wire, ErrorKind::NotFound, "this endpoint takes POST");
    }
    let (parts, body) = req.into_parts();
    let user = match authenticate(state, &parts.headers, wire).await {
        Ok(u) => u,
        Err(r) => {
            let line = Line {
                user: "-".into(),
                route: "-",
                model: "-".into(),
                started,
            };
            line.log(r.status().as_u16(), None);
            return r;
        }
    };
    let mut line = Line {
        user,
        route: "-",
        model: "-".into(),
        started,
    };
    let max = state.config.max_body_bytes;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || {
        refuse(
            wire,
            ErrorKind::PayloadTooLarge,
            &format!("the request body is larger than {max} bytes"),
        )
    };
    if declared.is_some_and(|n| n > max) {
        line.log(413, None);
        return too_large();
    }
    // A client that trickles its body holds a connection: it gets BODY_TIMEOUT in all.
    let body =
        match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, max as usize)).await {
            Ok(Ok(body)) => body,
            Ok(Err(_)) => {
                line.log(413, None);
                return too_large();
            }
            Err(_) => {
                line.log(400, None);
                return refuse(
                    wire,
                    ErrorKind::BadRequest,
                    "the request body arrived too slowly",
                );
            }
        };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let rewritten = match rewrite(&state.config, &endpoint, content_type, &body) {
        Ok(r) => r,
        Err(e) => {
            let kind = e.kind();
            line.log(kind.status(), None);
            return refuse(wire, kind, &e.to_string());
        }
    };
    let summary = rewritten.summary;
    let route = &state.config.routes[summary.route];
    line.route = route.provider.id();
    line.model = summary.model.clone();

    let st = state.clone();
    let user = line.user.clone();
    let decision =
        tokio::task::spawn_blocking(move || st.store.check_request(&user, &st.limits)).await;
    let decision = match decision {
        Ok(Ok(d)) => d,
        Ok(Err(e)) => {
            tracing::error!("store error during the limit check: {e:#}");
            line.log(503, None);
            return refuse(
                wire,
                ErrorKind::Unavailable,
                "the proxy's store is unavailable",
            );
        }
        Err(_) => {
            line.log(503, None);
            return refuse(
                wire,
                ErrorKind::Unavailable,
                "the proxy's store is unavailable",
            );
        }
    };
    if !decision.allowed {
        state
            .metrics
            .limit_rejections
            .fetch_add(1, Ordering::Relaxed);
        line.log(429, None);
        let mut r = refuse(
            wire,
            ErrorKind::RateLimited,
            &format!(
                "rate limit reached for user {}; retry in {} s",
                line.user, decision.retry_after
            ),
        );
        r.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(decision.retry_after.max(1)),
        );
        rate_headers(&decision, r.headers_mut());
        return r;
    }

    let key = state.keys.read().unwrap_or_else(|e| e.into_inner())[summary.route].clone();
    let base = route.upstream.url().trim_end_matches('/');
    let url = match &endpoint {
        Endpoint::OpenAiChat => format!("{base}/v1/chat/completions"),
        Endpoint::AnthropicMessages => format!("{base}/v1/messages"),
        Endpoint::Gemini { stream: false, .. } => {
            format!("{base}/v1beta/models/{}:generateContent", summary.model)
        }
        Endpoint::Gemini { stream: true, .. } => format!(
            "{base}/v1beta/models/{}:streamGenerateContent?alt=sse",
            summary.model
        ),
    };
    let mut up = state
        .client
        .post(url)
        .header(header::CONTENT_TYPE, "application/json")
        .body(rewritten.body);
    let key_value = |prefix: &str| {
        let mut v = HeaderValue::from_bytes(&[prefix.as_bytes(), key.expose()].concat())
            .unwrap_or_else(|_| HeaderValue::from_static(""));
        v.set_sensitive(true);
        v
    };
    up = match wire {
        Wire::OpenAi => up.header(header::AUTHORIZATION, key_value("Bearer ")),
        Wire::Anthropic => {
            let version = parts
                .headers
                .get("anthropic-version")
                .cloned()
                .unwrap_or(HeaderValue::from_static(ANTHROPIC_VERSION));
            let mut up = up
                .header("x-api-key", key_value(""))
                .header("anthropic-version", version);
            if let Some(beta) = parts.headers.get("anthropic-beta") {
                up = up.header("anthropic-beta", beta.clone());
            }
            up
        }
        Wire::Gemini => up.header("x-goog-api-key", key_value("")),
    };
    let upstream = match up.send().await {
        Ok(r) => r,
        Err(e) => {
            state
                .metrics
                .upstream_errors
                .fetch_add(1, Ordering::Relaxed);
            let why = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "could not be reached"
            } else {
                "failed"
            };
            tracing::warn!("upstream {} {why}", route.provider.id());
            line.log(502, None);
            return refuse(
                wire,
                ErrorKind::BadGateway,
                &format!("the upstream provider {why}"),
            );
        }
    };
    let status = upstream.status();
    let mut headers = HeaderMap::new();
    for name in FORWARDED_HEADERS {
        if let Some(v) = upstream.headers().get(*name) {
            headers.insert(HeaderName::from_static(name), v.clone());
        }
    }
    rate_headers(&decision, &mut headers);

    if !status.is_success() {
        state
            .metrics
            .upstream_errors
            .fetch_add(1, Ordering::Relaxed);
        let body = upstream.bytes().await.unwrap_or_default();
        let (code, body) = upstream_error(wire, status.as_u16(), &body, &key);
        line.log(code, None);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let mut r = (
            StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY),
            body,
        )
            .into_response();
        r.headers_mut().extend(headers);
        return r;
    }

    if summary.stream {
        let metered = Metered {
            inner: Box::pin(upstream.bytes_stream()),
            meter: StreamMeter::new(wire),
            record: Some(Record {
                state: state.clone(),
                line,
                status: status.as_u16(),
            }),
        };
        let mut r = (status, Body::from_stream(metered)).into_response();
        r.headers_mut().extend(headers);
        return r;
    }

    let body = match upstream.bytes().await {
        Ok(b) => b,
        Err(_) => {
            state
                .metrics
                .upstream_errors
                .fetch_add(1, Ordering::Relaxed);
            line.log(502, None);
            return refuse(
                wire,
                ErrorKind::BadGateway,
                "the upstream provider's answer was cut off",
            );
        }
    };
    let tokens = usage::from_response(wire, &body).map(|u| u.total);
    if let Some(n) = tokens {
        record_tokens(state, &line.user, n);
    }
    line.log(status.as_u16(), tokens);
    let mut r = (status, body).into_response();
    r.headers_mut().extend(headers);
    r
}

fn record_tokens(state: &Arc<AppState>, user: &str, n: u64) {
    if n == 0 {
        return;
    }
    state.metrics.tokens.fetch_add(n, Ordering::Relaxed);
    let st = state.clone();
    let user = user.to_string();
    let task = move || {
        if let Err(e) = st.store.add_tokens(&user, n) {
            tracing::error!("store error recording tokens: {e:#}");
        }
    };
    match tokio::runtime::Handle::try_current() {
        Ok(h) => drop(h.spawn_blocking(task)),
        Err(_) => task(),
    }
}

struct Record {
    state: Arc<AppState>,
    line: Line,
    status: u16,
}

/// An upstream SSE stream passed through as it arrives, metered; the usage is recorded when it
/// is dropped: at its end, or when the client goes away and hyper drops the body.
struct Metered {
    inner: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    meter: StreamMeter,
    record: Option<Record>,
}

impl Stream for Metered {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                self.meter.feed(&chunk);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(_))) => {
                self.state_error();
                Poll::Ready(Some(Err(std::io::Error::other("upstream stream failed"))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Metered {
    fn state_error(&self) {
        if let Some(r) = &self.record {
            r.state
                .metrics
                .upstream_errors
                .fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Drop for Metered {
    fn drop(&mut self) {
        if let Some(r) = self.record.take() {
            let n = self.meter.usage().total;
            record_tokens(&r.state, &r.line.user, n);
            r.line.log(r.status, Some(n));
        }
    }
}
