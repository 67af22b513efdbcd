//! The HTTP server of `keyguard serve`: axum on tokio, in front of the library parts (`config`,
//! `rewrite`, `usage`, `errors`, `store`). Per request, in this order: the client token is
//! looked up (401), the body size is checked before parsing (413), the body is rebuilt
//! (`rewrite`: 400/415), the user's limits are checked and counted, and the request's worst-case
//! tokens reserved (429, or 503 when the store fails: closed, never open) — all before any
//! upstream call, so refused requests cost nothing. Then the provider key (held as a `Secret`,
//! re-read on SIGHUP) is added and the request goes to the route's upstream; streamed answers pass
//! through chunk by chunk, the key scrubbed out (`scrub`), while `usage::StreamMeter` counts
//! tokens; the reservation is settled to them when the stream ends, or kept whole when the
//! stream is cut before the provider states its usage (the client went away).
//! The upstream is held to bounds: no redirect followed (a 3xx is a 502 of ours), error bodies
//! and plain answers read up to a cap (502 past it), and `upstream_idle_timeout` of silence
//! before the head or between chunks ends the request.
//!
//! Never logged or returned: the provider key, client tokens, Authorization headers, bodies
//! (`--log-bodies` logs bodies, scrubbed: `scrub_for_log`).
//! Upstream headers reach the client only from `FORWARDED_HEADERS`.
//!
//! Transport (`serve`): hyper's HTTP/1 connection driven by our own accept loop, because
//! `axum::serve` gives hyper no timer and so no header read timeout. Per connection: the head
//! within `HEADER_TIMEOUT` (idle keep-alive included), at most `MAX_HEADER_BYTES` of it (431),
//! the body within `BODY_TIMEOUT`; at most `max_connections` connections, the rest wait in the
//! backlog. SIGTERM closes the listener, lets each connection finish its request in flight
//! (streams included) and exits when all are done or `SHUTDOWN_DEADLINE` has passed.
//! Off loopback, `/metrics` needs `[serve] metrics_token` (else 404): it shows the traffic.
//!
//! Provider header facts: OpenAI takes `Authorization: Bearer KEY`; Anthropic `x-api-key` plus
//! `anthropic-version` (`2023-06-01` when the client sends none or an unknown one) and
//! `anthropic-beta` (only names the route allows); Gemini `x-goog-api-key`
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
use super::scrub::KeyScrub;
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
/// How long a client may take to send a request's head (and how long an idle keep-alive
/// connection stays open): a slow client holds a connection no longer than this.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Request line plus headers. The SDKs send about 1 KiB; a browser's cookies for the host are
/// the largest legitimate part. More gets 431 and a closed connection.
const MAX_HEADER_BYTES: usize = 32 * 1024;
/// hyper's per-connection read buffer ceiling (its default is ~400 KiB): bounds the memory a
/// connection can hold, headers and body chunks alike.
const MAX_BUF_BYTES: usize = 64 * 1024;
/// Bodies logged by `--log-bodies` are cut here.
const MAX_LOGGED_BODY: usize = 16 * 1024;
/// In-flight requests get this long after SIGTERM/ctrl-c before the process exits anyway.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);
const LATENCY_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

pub struct Options {
    pub config: ServeConfig,
    pub limits: Limits,
    pub store: Box<dyn Store>,
    /// `--log-bodies`: request and (non-streamed) response bodies on the request's log line,
    /// scrubbed of keys, tokens and whatever the rule catalogue recognises.
    pub log_bodies: bool,
}

/// The slow-client timeouts. Tests shorten them with the (undocumented in --help)
/// `KEYGUARD_SERVE_HEADER_TIMEOUT_MS` and `KEYGUARD_SERVE_BODY_TIMEOUT_MS`.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub header: Duration,
    pub body: Duration,
}

impl Timeouts {
    pub fn from_env() -> Result<Timeouts> {
        let read = |var: &str, default: Duration| -> Result<Duration> {
            match std::env::var(var) {
                Err(_) => Ok(default),
                Ok(v) => v
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|ms| *ms > 0)
                    .map(Duration::from_millis)
                    .with_context(|| format!("{var} must be a positive number of milliseconds")),
            }
        };
        Ok(Timeouts {
            header: read("KEYGUARD_SERVE_HEADER_TIMEOUT_MS", HEADER_TIMEOUT)?,
            body: read("KEYGUARD_SERVE_BODY_TIMEOUT_MS", BODY_TIMEOUT)?,
        })
    }
}

struct AppState {
    config: ServeConfig,
    limits: Limits,
    store: Arc<dyn Store>,
    /// One key per route, replaced whole on SIGHUP.
    keys: RwLock<Arc<Vec<Secret>>>,
    client: reqwest::Client,
    metrics: Metrics,
    timeouts: Timeouts,
    log_bodies: bool,
    /// The bearer token `GET /metrics` needs, from `[serve] metrics_token`.
    metrics_token: Option<Secret>,
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
    if let Some(w) = limits_warning(&opts.config, &opts.limits) {
        eprintln!("keyguard serve: warning: {w}");
    }
    for line in key_destinations(&opts.config) {
        eprintln!("keyguard serve: {line}");
    }
    let keys = load_keys(&opts.config)?;
    let timeouts = Timeouts::from_env()?;
    let metrics_token = match &opts.config.metrics_token {
        None => None,
        Some(var) => {
            let v = std::env::var_os(var)
                .filter(|v| !v.is_empty())
                .with_context(|| {
                    format!("[serve] metrics_token: environment variable {var} is not set")
                })?;
            Some(Secret::new(v.as_encoded_bytes()))
        }
    };
    if opts.log_bodies {
        // Compile the catalogue now, not during the first request.
        let _ = crate::keychain::builtin_scanner();
    }
    crate::providers::http::install_crypto_provider();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(opts.config.upstream_idle_timeout)
        .tcp_nodelay(true)
        .build()
        .context("building the upstream HTTP client")?;
    let state = Arc::new(AppState {
        limits: opts.limits,
        store: Arc::from(opts.store),
        keys: RwLock::new(Arc::new(keys)),
        client,
        metrics: Metrics::default(),
        timeouts,
        log_bodies: opts.log_bodies,
        metrics_token,
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
        if state.metrics_token.is_none() {
            eprintln!(
                "keyguard serve: GET /metrics is not served on this address; set [serve] metrics_token = \"env:VAR\" to serve it to a bearer of that token"
            );
        }
    }
    eprintln!("keyguard serve: listening on http://{bound}");

    #[cfg(unix)]
    tokio::spawn(reload_on_sighup(state.clone()));
    if let Some(every) = state
        .store
        .take_over_upkeep()
        .context("preparing the store")?
    {
        tokio::spawn(store_upkeep(state.clone(), every));
    }

    let app = router(&state)?;
    // hyper's HTTP/1 connection, configured directly: axum::serve sets no timer, so it has no
    // header read timeout at all and a client that never finishes its headers holds a
    // connection forever. hyper (1.x, `server::conn::http1::Builder`): `header_read_timeout`
    // needs a `timer` and covers an idle keep-alive connection waiting for its next request too
    // (the clock starts when hyper starts reading a head); headers over `max_header_size` get
    // "431 Request Header Fields Too Large" and the connection is closed.
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(state.timeouts.header)
        .max_header_size(MAX_HEADER_BYTES)
        .max_buf_size(MAX_BUF_BYTES);
    let http = Arc::new(http);
    let max = state.config.max_connections;
    // One permit per open connection. At the cap the loop stops accepting, so further clients
    // wait in the kernel's backlog instead of costing a file descriptor each.
    let permits = Arc::new(tokio::sync::Semaphore::new(max));
    let (stopping, stop_rx) = tokio::sync::watch::channel(false);
    let stop = stop_signal();
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            _ = &mut stop => break,
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
        };
        let tcp = tokio::select! {
            _ = &mut stop => break,
            r = listener.accept() => match r {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // Out of file descriptors (EMFILE) or a connection reset before accept:
                    // back off briefly rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Streamed tokens go out as they arrive, not when Nagle's algorithm decides.
        let _ = tcp.set_nodelay(true);
        let conn = http.serve_connection(
            hyper_util::rt::TokioIo::new(tcp),
            hyper_util::service::TowerToHyperService::new(app.clone()),
        );
        let mut stop_rx = stop_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop_rx.changed() => {
                    // Finish the request in flight (a stream runs to its end), then close.
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    drop(listener);
    eprintln!(
        "keyguard serve: stopping; in-flight requests have {}s",
        SHUTDOWN_DEADLINE.as_secs()
    );
    let _ = stopping.send(true);
    // Every connection's task holds a permit: all of them back means all connections are done.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    if tokio::time::timeout(SHUTDOWN_DEADLINE, permits.acquire_many(all))
        .await
        .is_err()
    {
        eprintln!("keyguard serve: shutdown deadline reached");
    }
    Ok(())
}

/// The endpoints. A known path called with another method gets 405 with `Allow`, any other path
/// 404, both in a provider's JSON error shape (the proxy's paths in their own API's shape).
fn router(state: &Arc<AppState>) -> Result<Router> {
    let get_only = || async { wrong_method(Wire::OpenAi, "GET, HEAD") };
    let mut app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }).fallback(get_only))
        .route("/metrics", get(metrics).fallback(get_only))
        .route("/v1/models", get(models).fallback(get_only))
        .fallback(proxy)
        .with_state(state.clone());
    if !state.config.cors_origins.is_empty() {
        app = app.layer(cors(&state.config.cors_origins)?);
    }
    Ok(app)
}

fn wrong_method(wire: Wire, allow: &'static str) -> Response {
    let mut r = refuse(
        wire,
        ErrorKind::MethodNotAllowed,
        &format!("this endpoint takes {allow}"),
    );
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
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

/// The store's upkeep (SQLite's WAL checkpoint), on the blocking pool, one at a time.
async fn store_upkeep(state: Arc<AppState>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let st = state.clone();
        match tokio::task::spawn_blocking(move || st.store.upkeep()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("store upkeep (WAL checkpoint) failed: {e:#}"),
            Err(e) => tracing::warn!("store upkeep (WAL checkpoint) failed: {e}"),
        }
    }
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

/// `GET /metrics`. With `[serve] metrics_token` it needs `Authorization: Bearer TOKEN`; without
/// one it is served on a loopback address only: the counts reveal the traffic to anyone.
async fn metrics(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match &state.metrics_token {
        Some(expected) => {
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            // Digests compared, so the time taken says nothing about the token.
            use sha2::Digest;
            if sha2::Sha256::digest(given.trim().as_bytes())
                != sha2::Sha256::digest(expected.expose())
            {
                let mut r = refuse(
                    Wire::OpenAi,
                    ErrorKind::Unauthorized,
                    "GET /metrics needs the metrics token (Authorization: Bearer)",
                );
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return r;
            }
        }
        None if !state.config.listen_is_loopback() => {
            return refuse(Wire::OpenAi, ErrorKind::NotFound, "no such endpoint");
        }
        None => {}
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// `GET /v1/models`: the allowed models, one list both SDKs read: OpenAI's `Model` fields (`id`,
/// `object`, `created`, `owned_by`) and Anthropic's `ModelInfo` ones (`type`, `display_name`,
/// `created_at`: the epoch when the date is unknown, as the SDK's `ModelInfo` docs allow), with
/// Anthropic's page fields (`has_more: false` ends the SDK's paging). Needs a valid token like
/// every other API call; the anthropic SDK sends `anthropic-version` on every request (and
/// since 2.x its key as `Authorization: Bearer`), so that header picks its error shape.
async fn models(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let wire = if headers.contains_key("x-api-key") || headers.contains_key("anthropic-version") {
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
                serde_json::json!({"id": m, "object": "model", "created": 0, "owned_by": r.provider.id(),
                                   "type": "model", "display_name": m, "created_at": "1970-01-01T00:00:00Z"})
            })
        })
        .collect::<Vec<_>>();
    let page = serde_json::json!({
        "object": "list", "has_more": false,
        "first_id": data.first().map(|m| m["id"].clone()),
        "last_id": data.last().map(|m| m["id"].clone()),
        "data": data,
    });
    json_response(
        StatusCode::OK,
        serde_json::to_vec(&page).unwrap_or_default(),
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
    // On this worker when the store can answer without waiting, else on the blocking pool
    // (see `Store::try_lookup`).
    let auth = match store::try_authenticate(&*state.store, &token, store::now()) {
        Some(auth) => Ok(auth),
        None => {
            let st = state.clone();
            tokio::task::spawn_blocking(move || {
                store::authenticate(&*st.store, &token, store::now())
            })
            .await
        }
    };
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
    /// `--log-bodies` only, scrubbed.
    bodies: Option<Box<Bodies>>,
}

#[derive(Default)]
struct Bodies {
    request: String,
    response: String,
}

impl Line {
    /// `--log-bodies`: keeps the request body, scrubbed, for the log line.
    fn keep_request_body(&mut self, state: &AppState, headers: &HeaderMap, body: &[u8]) {
        if state.log_bodies {
            self.bodies.get_or_insert_default().request =
                scrub_for_log(state, client_token(headers).as_deref(), body);
        }
    }

    /// `--log-bodies`: keeps the (non-streamed) response body, scrubbed, for the log line.
    fn keep_response_body(&mut self, state: &AppState, body: &[u8]) {
        if state.log_bodies {
            self.bodies.get_or_insert_default().response = scrub_for_log(state, None, body);
        }
    }

    fn log(&self, status: u16, tokens: Option<u64>) {
        // The body fields are recorded only with `--log-bodies` (an absent `Option` is no field).
        let bodies = self.bodies.as_ref();
        tracing::info!(
            user = %self.user,
            route = %self.route,
            model = %self.model,
            status,
            latency_ms = self.started.elapsed().as_millis() as u64,
            tokens = tokens.unwrap_or(0),
            request_body = bodies.map(|b| b.request.as_str()),
            response_body = bodies.map(|b| b.response.as_str()),
            "request"
        );
    }
}

async fn proxy(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let started = Instant::now();
    let response = match Endpoint::for_path(req.uri().path()) {
        None => refuse(Wire::OpenAi, ErrorKind::NotFound, "no such endpoint"),
        Some(e) if req.method() != Method::POST => wrong_method(e.wire(), "POST"),
        Some(endpoint) => proxy_inner(&state, req, endpoint, started).await,
    };
    state
        .metrics
        .observe(response.status().as_u16(), started.elapsed());
    response
}

/// One `POST` to a known endpoint, from the token check to the answer.
async fn proxy_inner(
    state: &Arc<AppState>,
    req: Request,
    endpoint: Endpoint,
    started: Instant,
) -> Response {
    let wire = endpoint.wire();
    let (parts, body) = req.into_parts();
    let user = match authenticate(state, &parts.headers, wire).await {
        Ok(u) => u,
        Err(r) => {
            let line = Line {
                user: "-".into(),
                route: "-",
                model: "-".into(),
                started,
                bodies: None,
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
        bodies: None,
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
    let body = match tokio::time::timeout(
        state.timeouts.body,
        axum::body::to_bytes(body, max as usize),
    )
    .await
    {
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
    line.keep_request_body(state, &parts.headers, &body);
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

    // The worst case of this request against `tokens_per_day`, reserved in the limit check and
    // settled to the real usage when the answer ends: concurrent requests cannot together
    // overshoot the day. The answer is at most the clamped `max_tokens`; the prompt is estimated
    // at 4 bytes of the rebuilt body per token.
    let prompt_estimate = rewritten.body.len() as u64 / 4;
    let reserve = if state.limits.tokens_per_day.is_some() {
        u64::from(summary.max_tokens) + prompt_estimate
    } else {
        0
    };
    let decision = match state
        .store
        .try_check_request(&line.user, &state.limits, reserve)
    {
        Some(d) => Ok(d),
        None => {
            let st = state.clone();
            let user = line.user.clone();
            tokio::task::spawn_blocking(move || st.store.check_request(&user, &st.limits, reserve))
                .await
        }
    };
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
    // Settled on every path below; if this handler is dropped first (the client left while the
    // upstream was working), it settles to the whole reservation: the provider may generate, and
    // bill, the whole answer all the same, and a client that hangs up right after sending must
    // not be counted only its prompt.
    let reservation = Reservation {
        state: state.clone(),
        user: line.user.clone(),
        day: decision.day,
        reserved: reserve,
        fallback: reserve.max(prompt_estimate),
        done: false,
    };

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
            let mut up = up
                .header("x-api-key", key_value(""))
                .header("anthropic-version", anthropic_version(&parts.headers));
            if let Some(beta) = allowed_betas(&parts.headers, &route.anthropic_beta) {
                up = up.header("anthropic-beta", beta);
            }
            up
        }
        Wire::Gemini => up.header("x-goog-api-key", key_value("")),
    };
    let idle = state.config.upstream_idle_timeout;
    let upstream_failed = |why: &str, line: &Line, reservation: Reservation, used: u64| {
        state
            .metrics
            .upstream_errors
            .fetch_add(1, Ordering::Relaxed);
        tracing::warn!("upstream {} {why}", route.provider.id());
        reservation.settle(used);
        line.log(502, None);
        refuse(
            wire,
            ErrorKind::BadGateway,
            &format!("the upstream provider {why}"),
        )
    };
    let upstream = match tokio::time::timeout(idle, up.send()).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            let why = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "could not be reached"
            } else {
                "failed"
            };
            // Never reached, or no answer: nothing the provider bills beyond the prompt it may
            // have read.
            let used = if e.is_connect() { 0 } else { prompt_estimate };
            return upstream_failed(why, &line, reservation, used);
        }
        Err(_) => return upstream_failed("timed out", &line, reservation, prompt_estimate),
    };
    let status = upstream.status();
    let mut headers = HeaderMap::new();
    for name in FORWARDED_HEADERS {
        if let Some(v) = upstream.headers().get(*name) {
            // Bodies are scrubbed of the key; a header that quotes it (a hostile upstream, or a
            // KEYGUARD_*_API_BASE one, echoing it as a request id) is dropped.
            let text = String::from_utf8_lossy(v.as_bytes());
            if crate::providers::scrub(&text, &key) == text {
                headers.insert(HeaderName::from_static(name), v.clone());
            }
        }
    }
    rate_headers(&decision, &mut headers);

    if !status.is_success() {
        // Providers do not bill refused requests; a redirect or an error body is not an answer.
        let body = match read_capped(upstream, MAX_ERROR_BODY, idle).await {
            Ok(b) => b,
            Err(e) => return upstream_failed(e.why_error(), &line, reservation, 0),
        };
        reservation.settle(0);
        state
            .metrics
            .upstream_errors
            .fetch_add(1, Ordering::Relaxed);
        let (code, body) = upstream_error(wire, status.as_u16(), &body, &key);
        line.keep_response_body(state, &body);
        line.log(code, None);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        // The upstream refused the operator's key (now a 502): the openai and anthropic SDKs
        // retry 5xx twice by default, each retry another refused upstream call; both obey
        // `x-should-retry: false` (their `_base_client.py`, `_should_retry`).
        if matches!(status.as_u16(), 401 | 403) {
            headers.insert(
                HeaderName::from_static("x-should-retry"),
                HeaderValue::from_static("false"),
            );
        }
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
            meter: StreamMeter::new(wire).with_prompt_estimate(prompt_estimate),
            scrub: KeyScrub::new(&key),
            idle,
            last_chunk: tokio::time::Instant::now(),
            stall: Box::pin(tokio::time::sleep(idle)),
            ended: false,
            record: Some(Record {
                reservation,
                line,
                status: status.as_u16(),
            }),
        };
        let mut r = (status, Body::from_stream(metered)).into_response();
        r.headers_mut().extend(headers);
        return r;
    }

    let body = match read_capped(upstream, MAX_ANSWER_BODY, idle).await {
        Ok(b) => b,
        // The provider generated (and billed) an answer we do not pass on: count the reservation.
        Err(e) => return upstream_failed(e.why_answer(), &line, reservation, reserve),
    };
    let body = KeyScrub::new(&key).whole(body);
    let tokens = usage::from_response(wire, &body).map(|u| u.total);
    // An answer that states no usage counts as its reservation: the limit errs toward the
    // operator's bill.
    reservation.settle(tokens.unwrap_or(reserve));
    line.keep_response_body(state, &body);
    line.log(status.as_u16(), tokens);
    let mut r = (status, body).into_response();
    r.headers_mut().extend(headers);
    r
}

/// Where keys go that do not go to their provider's official host: an `openai-compatible`
/// route's upstream comes from keyguard.toml, which may have arrived with a cloned repository and
/// name any environment variable or keychain entry whose value the catalogue does not recognise
/// (`Route::check_key` refuses the ones it does). Said at start, names only, so the operator sees
/// which secret leaves for which host.
fn key_destinations(config: &ServeConfig) -> Vec<String> {
    config
        .routes
        .iter()
        .filter(|r| r.provider.official().is_none() || r.upstream.overridden())
        .map(|r| {
            let source = match &r.key {
                KeySource::Env(var) => format!("env:{var}"),
                KeySource::Keychain(name) => format!("keychain:{name}"),
            };
            format!(
                "the {} route sends the key {source} to {}",
                r.provider.id(),
                r.upstream.url()
            )
        })
        .collect()
}

/// A `tokens_per_day` below a route's `max_tokens` ceiling: every request reserves its
/// `max_tokens` (the ceiling unless it asks for less), so requests to that route that do not ask
/// for fewer tokens can never start. Not an error: clients that ask for less still work.
pub fn limits_warning(config: &ServeConfig, limits: &Limits) -> Option<String> {
    let day = limits.tokens_per_day?;
    let r = config
        .routes
        .iter()
        .find(|r| u64::from(r.max_tokens) > day)?;
    Some(format!(
        "[serve.limits] tokens_per_day = {day} is below the {} route's max_tokens = {}: each request reserves its max_tokens against tokens_per_day before it starts, so requests that do not ask for fewer tokens will get 429; lower max_tokens in [[serve.routes]] or raise tokens_per_day",
        r.provider.id(),
        r.max_tokens
    ))
}

/// Anthropic API versions a client may ask for (platform.claude.com, "Versions": `2023-06-01`,
/// current, and `2023-01-01`, the first); any other value, or none, is sent as the default.
const ANTHROPIC_VERSIONS: &[&str] = &["2023-06-01", "2023-01-01"];
/// Upstream error bodies are read up to this size (providers' error JSON is well under 1 KiB).
const MAX_ERROR_BODY: usize = 64 * 1024;
/// Non-streamed answers are read whole (the usage is in them) up to this size: an answer capped
/// by `max_tokens` is far smaller, so a larger one is broken or hostile.
const MAX_ANSWER_BODY: usize = 8 * 1024 * 1024;

fn anthropic_version(client: &HeaderMap) -> HeaderValue {
    client
        .get("anthropic-version")
        .filter(|v| {
            ANTHROPIC_VERSIONS
                .iter()
                .any(|k| v.as_bytes() == k.as_bytes())
        })
        .cloned()
        .unwrap_or(HeaderValue::from_static(ANTHROPIC_VERSION))
}

/// The client's `anthropic-beta` names (comma-separated, in one or several headers) that the
/// route allows, joined; `None` when none is left. Betas can turn on costly or risky features,
/// so only the operator's list passes.
fn allowed_betas(client: &HeaderMap, allowed: &[String]) -> Option<String> {
    if allowed.is_empty() {
        return None;
    }
    let mut kept: Vec<&str> = Vec::new();
    for v in client.get_all("anthropic-beta") {
        let Ok(v) = v.to_str() else { continue };
        for name in v.split(',').map(str::trim) {
            if allowed.iter().any(|a| a == name) && !kept.contains(&name) {
                kept.push(name);
            }
        }
    }
    (!kept.is_empty()).then(|| kept.join(","))
}

#[derive(Debug, PartialEq, Eq)]
enum ReadError {
    TooLarge,
    Stalled,
    Failed,
}

impl ReadError {
    fn why_error(&self) -> &'static str {
        match self {
            ReadError::TooLarge => "sent an error answer larger than this proxy accepts",
            ReadError::Stalled => "stalled while sending an error answer",
            ReadError::Failed => "cut its error answer off",
        }
    }

    fn why_answer(&self) -> &'static str {
        match self {
            ReadError::TooLarge => "sent an answer larger than this proxy accepts",
            ReadError::Stalled => "stalled while sending its answer",
            ReadError::Failed => "cut its answer off",
        }
    }
}

/// The whole body, refused past `cap` bytes (by its `Content-Length`, or as it arrives) or
/// when the upstream stays silent for `idle`.
async fn read_capped(
    mut upstream: reqwest::Response,
    cap: usize,
    idle: Duration,
) -> Result<Bytes, ReadError> {
    if upstream.content_length().is_some_and(|n| n > cap as u64) {
        return Err(ReadError::TooLarge);
    }
    let mut body = Vec::new();
    loop {
        match tokio::time::timeout(idle, upstream.chunk()).await {
            Err(_) => return Err(ReadError::Stalled),
            Ok(Err(_)) => return Err(ReadError::Failed),
            Ok(Ok(None)) => return Ok(Bytes::from(body)),
            Ok(Ok(Some(chunk))) => {
                if body.len() + chunk.len() > cap {
                    return Err(ReadError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
        }
    }
}

/// A request's `tokens_per_day` reservation, settled exactly once: explicitly with the usage,
/// or when dropped unsettled (the handler was cancelled) with `fallback`.
struct Reservation {
    state: Arc<AppState>,
    user: String,
    day: i64,
    reserved: u64,
    fallback: u64,
    done: bool,
}

impl Reservation {
    fn settle(mut self, used: u64) {
        self.finish(used);
    }

    fn finish(&mut self, used: u64) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        self.state.metrics.tokens.fetch_add(used, Ordering::Relaxed);
        if used == self.reserved {
            return;
        }
        // Inline when that needs no waiting (it never does for the memory store, and for SQLite
        // unless another process holds the write lock), else on the blocking pool: the answer
        // does not wait for it either way.
        match self
            .state
            .store
            .try_settle(&self.user, self.day, self.reserved, used)
        {
            Some(Ok(())) => return,
            Some(Err(e)) => {
                tracing::error!("store error recording tokens: {e:#}");
                return;
            }
            None => {}
        }
        let (st, user, day, reserved) = (
            self.state.clone(),
            std::mem::take(&mut self.user),
            self.day,
            self.reserved,
        );
        let task = move || {
            if let Err(e) = st.store.settle(&user, day, reserved, used) {
                tracing::error!("store error recording tokens: {e:#}");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) => drop(h.spawn_blocking(task)),
            Err(_) => task(),
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let fallback = self.fallback;
        self.finish(fallback);
    }
}

struct Record {
    reservation: Reservation,
    line: Line,
    status: u16,
}

/// An upstream SSE stream passed through as it arrives, metered and with the provider key
/// scrubbed out; the usage is settled when it is dropped: at its end, or when the client goes
/// away and hyper drops the body. An upstream silent for `idle` ends it with an error.
struct Metered {
    inner: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    meter: StreamMeter,
    scrub: KeyScrub,
    idle: Duration,
    /// When the last chunk arrived. The stall timer is moved forward lazily (only when it
    /// fires), so a chunk costs a clock read, not a timer update.
    last_chunk: tokio::time::Instant,
    stall: Pin<Box<tokio::time::Sleep>>,
    ended: bool,
    record: Option<Record>,
}

impl Stream for Metered {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        loop {
            match self.inner.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    self.last_chunk = tokio::time::Instant::now();
                    self.meter.feed(&chunk);
                    let out = self.scrub.chunk(chunk);
                    // An empty piece (all held back) is not sent: an empty chunk could read as
                    // the end of the body.
                    if !out.is_empty() {
                        return Poll::Ready(Some(Ok(out)));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    self.ended = true;
                    self.state_error();
                    // reqwest's read timeout (the same `upstream_idle_timeout`) may see a stall
                    // before the timer below does.
                    let why = if e.is_timeout() { "stalled" } else { "failed" };
                    tracing::warn!("upstream stream {why}; closing it");
                    return Poll::Ready(Some(Err(std::io::Error::other(format!(
                        "upstream stream {why}"
                    )))));
                }
                Poll::Ready(None) => {
                    self.ended = true;
                    return Poll::Ready(self.scrub.finish().map(Ok));
                }
                Poll::Pending => loop {
                    if self.stall.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    let deadline = self.last_chunk + self.idle;
                    if deadline <= tokio::time::Instant::now() {
                        self.ended = true;
                        self.state_error();
                        tracing::warn!("upstream stream stalled; closing it");
                        return Poll::Ready(Some(Err(std::io::Error::other(
                            "upstream stream stalled",
                        ))));
                    }
                    self.stall.as_mut().reset(deadline);
                },
            }
        }
    }
}

impl Metered {
    fn state_error(&self) {
        if let Some(r) = &self.record {
            r.reservation
                .state
                .metrics
                .upstream_errors
                .fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Drop for Metered {
    fn drop(&mut self) {
        if let Some(r) = self.record.take() {
            let u = self.meter.usage();
            // A stream cut before the provider stated its usage (the client left, or the
            // upstream broke off) counts its whole reservation, not the estimate: the provider
            // may have generated, and billed, far more than passed through (a reasoning model's
            // hidden tokens stream nothing; an Anthropic delta carries several tokens), and may
            // finish the answer anyway. Otherwise a client that hangs up just before the usage
            // chunk would spend a ceiling's worth of tokens per request against a few counted.
            let n = if u.exact {
                u.total
            } else {
                u.total.max(r.reservation.reserved)
            };
            r.reservation.settle(n);
            r.line.log(r.status, Some(n));
        }
    }
}

/// A body fit for the log: every copy of a route's provider key (and runs quoting 8 of its
/// characters, `providers::scrub`), the client's token, and every match of the built-in rule
/// catalogue (client tokens, other providers' keys, private keys, …) replaced; cut at
/// `MAX_LOGGED_BODY`.
fn scrub_for_log(state: &AppState, token: Option<&str>, body: &[u8]) -> String {
    let cut = body.len() > MAX_LOGGED_BODY;
    let mut text = String::from_utf8_lossy(&body[..body.len().min(MAX_LOGGED_BODY)]).into_owned();
    for key in state.keys.read().unwrap_or_else(|e| e.into_inner()).iter() {
        text = crate::providers::scrub(&text, key);
    }
    if let Some(t) = token.filter(|t| t.len() >= 8) {
        text = text.replace(t, "<token>");
    }
    if let Some(scanner) = crate::keychain::builtin_scanner() {
        let bytes = text.as_bytes();
        let mut found = scanner.scan(bytes);
        found.sort_by_key(|m| (m.start, m.end));
        let rules = scanner.rules();
        let mut out = Vec::with_capacity(bytes.len());
        let mut at = 0;
        for m in found {
            if m.start < at {
                // Overlaps the previous match, whose replacement now reaches this one's end.
                at = at.max(m.end);
                continue;
            }
            out.extend_from_slice(&bytes[at..m.start]);
            out.extend_from_slice(format!("<{}>", rules.get(m.rule).id()).as_bytes());
            at = m.end;
        }
        out.extend_from_slice(&bytes[at.min(bytes.len())..]);
        text = String::from_utf8_lossy(&out).into_owned();
    }
    if cut {
        text.push_str("…(cut)");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_allowed_betas_pass() {
        let allowed = vec!["prompt-caching-2024-07-31".to_string(), "b-1".to_string()];
        let h = headers(&[
            (
                "anthropic-beta",
                "computer-use-2025-01-24, prompt-caching-2024-07-31",
            ),
            ("anthropic-beta", "b-1,prompt-caching-2024-07-31"),
        ]);
        assert_eq!(
            allowed_betas(&h, &allowed).as_deref(),
            Some("prompt-caching-2024-07-31,b-1")
        );
        // No allow-list: nothing passes.
        assert_eq!(allowed_betas(&h, &[]), None);
        let h = headers(&[("anthropic-beta", "computer-use-2025-01-24")]);
        assert_eq!(allowed_betas(&h, &allowed), None);
    }

    #[test]
    fn a_day_smaller_than_one_answer_is_warned_about() {
        let config = ServeConfig::parse_with(
            "[serve]\n[[serve.routes]]\nprovider = \"openai\"\nkey = \"env:K\"\nmodels = [\"m\"]\nmax_tokens = 500\n",
            "keyguard.toml",
            |_| Ok(None),
        )
        .unwrap();
        let limits = |n| Limits {
            tokens_per_day: Some(n),
            ..Limits::default()
        };
        let w = limits_warning(&config, &limits(499)).unwrap();
        assert!(
            w.contains("tokens_per_day = 499") && w.contains("max_tokens = 500"),
            "{w}"
        );
        assert_eq!(limits_warning(&config, &limits(500)), None);
        assert_eq!(limits_warning(&config, &Limits::default()), None);
    }

    #[test]
    fn unknown_anthropic_versions_become_the_default() {
        assert_eq!(anthropic_version(&HeaderMap::new()), ANTHROPIC_VERSION);
        let h = headers(&[("anthropic-version", "2023-01-01")]);
        assert_eq!(anthropic_version(&h), "2023-01-01");
        let h = headers(&[("anthropic-version", "2099-12-31")]);
        assert_eq!(anthropic_version(&h), ANTHROPIC_VERSION);
    }
}
