//! The one HTTP client every adapter uses, and the rules it enforces: requests go only to the
//! provider's base URL (official host, or `KEYGUARD_<PROVIDER>_API_BASE`), redirects are never
//! followed, every call has one overall deadline, and failures of the transport become reasons
//! (`unknown`), never key verdicts. Nothing here logs a request; keys travel only in the headers
//! an adapter sets.

use std::sync::OnceLock;
use std::time::Duration;

use reqwest::Method;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::Value;

/// The default deadline for one call (connect, send, and read the whole response).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Provider responses we read are small JSON documents; a larger body is cut here.
const MAX_BODY: usize = 1 << 20;

/// A base URL an adapter may talk to: scheme, host, optional port and path prefix, no trailing
/// slash. Built only from an adapter's official host list or the override variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    url: String,
    overridden: bool,
}

impl Base {
    /// One of an adapter's official hosts (`https://api.openai.com`).
    pub fn official(url: &'static str) -> Base {
        Base {
            url: url.trim_end_matches('/').to_string(),
            overridden: false,
        }
    }

    /// A base from the override variable's syntax rules, for tests that point an adapter at a
    /// local server without touching the environment.
    pub fn parse(value: &str) -> Result<Base, BaseError> {
        parse_override("base URL", value)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether `KEYGUARD_<PROVIDER>_API_BASE` replaced the official host.
    pub fn overridden(&self) -> bool {
        self.overridden
    }
}

/// The name of a provider's override variable: `KEYGUARD_OPENAI_API_BASE` for `openai`.
pub fn override_var(provider_id: &str) -> String {
    let id: String = provider_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("KEYGUARD_{id}_API_BASE")
}

#[derive(Debug, thiserror::Error)]
pub enum BaseError {
    #[error(
        "{var}=`{value}` is not a usable base URL: {why} (expected e.g. `http://127.0.0.1:9000` or `https://proxy.example.com/openai`)"
    )]
    Invalid {
        var: String,
        value: String,
        why: &'static str,
    },
}

/// The override for a provider, from `KEYGUARD_<PROVIDER>_API_BASE`: it replaces every official
/// host of the provider (a test server, or a company's egress proxy, serves them all).
pub fn override_base(provider_id: &str) -> Result<Option<Base>, BaseError> {
    let var = override_var(provider_id);
    match std::env::var(&var) {
        Ok(value) if !value.trim().is_empty() => parse_override(&var, value.trim()).map(Some),
        _ => Ok(None),
    }
}

fn parse_override(var: &str, value: &str) -> Result<Base, BaseError> {
    let invalid = |why| BaseError::Invalid {
        var: var.to_string(),
        value: crate::sanitize::escape(value).into_owned(),
        why,
    };
    let url = reqwest::Url::parse(value).map_err(|_| invalid("it does not parse as a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("only http and https are supported"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials do not belong in a base URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a base URL takes no query or fragment"));
    }
    Ok(Base {
        url: url.as_str().trim_end_matches('/').to_string(),
        overridden: true,
    })
}

/// Why a call produced no answer to read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("cannot reach {host}: {detail}")]
    Unreachable { host: String, detail: String },
    #[error("the request failed: {0}")]
    Failed(String),
}

/// A provider's answer: status, the headers adapters look at, and the body (cut at 1 MiB).
/// `Debug` shows neither headers nor body: a create's answer holds the new key.
#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("status", &self.status)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish_non_exhaustive()
    }
}

impl Reply {
    /// The body as JSON, `Value::Null` when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// A response header as text (at most 200 characters), if present and readable.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|s| !s.is_empty())
            .map(|s| crate::sanitize::escape(&s.chars().take(200).collect::<String>()).into_owned())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// What every adapter treats alike: rate limits, server errors and redirects say nothing
    /// about the key, so they are `unknown`. `None` leaves the reply to the adapter.
    pub fn inconclusive(&self) -> Option<String> {
        match self.status {
            // `header` escapes what it returns.
            429 => Some(match self.header("retry-after") {
                Some(after) => format!("rate limited (HTTP 429, retry after {after})"),
                None => "rate limited (HTTP 429)".to_string(),
            }),
            500..=599 => Some(format!("the provider failed (HTTP {})", self.status)),
            300..=399 => Some(format!(
                "the provider answered with a redirect (HTTP {}), which keyguard does not follow",
                self.status
            )),
            _ => None,
        }
    }
}

/// The client: no redirects, one deadline per call, rustls.
#[derive(Clone)]
pub struct Http {
    client: Client,
    timeout: Duration,
}

impl Http {
    pub fn new(timeout: Duration) -> Http {
        install_crypto_provider();
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("keyguard/", env!("CARGO_PKG_VERSION")))
            .https_only(false)
            .build()
            .expect("the HTTP client configuration is static and valid");
        Http { client, timeout }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A request to `path` (starting with `/`, may carry a query) under `base`. Adapters build
    /// every request through here, so none can name another host.
    pub fn request(&self, method: Method, base: &Base, path: &str) -> RequestBuilder {
        debug_assert!(path.starts_with('/'), "paths are absolute: {path}");
        self.client
            .request(method, format!("{}{}", base.url(), path))
            .header(reqwest::header::ACCEPT, "application/json")
    }

    /// Sends and reads the whole reply within the deadline.
    ///
    /// reqwest's blocking client applies its timeout to sending and then to each read of the
    /// body separately, so a server that drips a byte every few seconds would hold a call for
    /// as long as it likes. The call runs on its own thread and is given up at the deadline;
    /// the abandoned thread ends at reqwest's next per-read timeout.
    pub fn send(&self, request: RequestBuilder) -> Result<Reply, CallError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let http = self.clone();
        std::thread::Builder::new()
            .name("keyguard-http".into())
            .spawn(move || {
                let result = request
                    .send()
                    .map_err(|e| http.call_error(&e))
                    .and_then(|response| read_reply(response, &http));
                let _ = tx.send(result);
            })
            .map_err(|e| CallError::Failed(format!("cannot start the request: {e}")))?;
        match rx.recv_timeout(self.timeout) {
            Ok(result) => result,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                Err(CallError::Timeout(self.timeout))
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(CallError::Failed(
                "the request stopped without an answer".into(),
            )),
        }
    }

    fn call_error(&self, e: &reqwest::Error) -> CallError {
        let host = e
            .url()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| "the provider".into());
        if e.is_timeout() {
            CallError::Timeout(self.timeout)
        } else if e.is_connect() {
            CallError::Unreachable {
                host,
                detail: root_cause(e),
            }
        } else {
            // reqwest's message names the URL; keys never travel in URLs, but keep it short.
            CallError::Failed(root_cause(e))
        }
    }
}

fn read_reply(response: Response, http: &Http) -> Result<Reply, CallError> {
    use std::io::Read;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    response
        .take(MAX_BODY as u64)
        .read_to_end(&mut body)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::TimedOut
                || e.to_string().contains("timed out")
                || e.to_string().contains("timeout")
            {
                CallError::Timeout(http.timeout)
            } else {
                // The message may name the URL (reqwest's own), which carries user-given ids.
                CallError::Failed(format!("reading the answer: {}", root_cause(&e)))
            }
        })?;
    Ok(Reply {
        status,
        headers,
        body,
    })
}

/// The innermost cause, without the URL reqwest puts in its own message.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    crate::sanitize::escape(&inner.to_string()).into_owned()
}

/// rustls needs one process-wide crypto provider; ring builds without cmake or a C++ toolchain.
pub(crate) fn install_crypto_provider() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_variable_names_are_upper_snake() {
        assert_eq!(override_var("openai"), "KEYGUARD_OPENAI_API_BASE");
        assert_eq!(
            override_var("hugging-face"),
            "KEYGUARD_HUGGING_FACE_API_BASE"
        );
    }

    #[test]
    fn overrides_are_checked() {
        let ok = parse_override("V", "http://127.0.0.1:9000/").unwrap();
        assert_eq!(ok.url(), "http://127.0.0.1:9000");
        assert!(ok.overridden());
        let prefix = parse_override("V", "https://proxy.example.com/openai").unwrap();
        assert_eq!(prefix.url(), "https://proxy.example.com/openai");
        for bad in [
            "127.0.0.1:9000",
            "ftp://example.com",
            "https://user:pw@example.com",
            "https://example.com/?x=1",
            "not a url",
        ] {
            assert!(parse_override("V", bad).is_err(), "{bad}");
        }
    }

    /// A server that sends its headers at once, then the body a byte at a time, each byte
    /// well within the per-read timeout: the call must still end at its one deadline.
    #[test]
    fn a_body_dripped_slowly_does_not_outlast_the_deadline() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            if let Ok((mut conn, _)) = listener.accept() {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n",
                );
                for _ in 0..100 {
                    if conn.write_all(b" ").and_then(|_| conn.flush()).is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        });
        let http = Http::new(Duration::from_secs(1));
        let base = Base::parse(&format!("http://{addr}")).unwrap();
        let started = std::time::Instant::now();
        let result = http.send(http.request(Method::GET, &base, "/v1/models"));
        let took = started.elapsed();
        assert!(
            matches!(result, Err(CallError::Timeout(_))),
            "{:?}",
            result.map(|r| r.status)
        );
        assert!(took < Duration::from_secs(3), "the call took {took:?}");
    }

    #[test]
    fn a_reply_debug_shows_no_body() {
        let secret: String = (0..40)
            .map(|i| (b'a' + (i * 7 % 26) as u8) as char)
            .collect();
        let reply = Reply {
            status: 200,
            headers: Default::default(),
            body: format!("{{\"api_key\":{{\"value\":\"{secret}\"}}}}").into_bytes(),
        };
        let shown = format!("{reply:?}");
        assert!(!shown.contains(&secret[..12]), "{shown}");
        assert!(shown.contains("200"), "{shown}");
    }

    #[test]
    fn rate_limits_server_errors_and_redirects_are_inconclusive() {
        let reply = |status| Reply {
            status,
            headers: Default::default(),
            body: vec![],
        };
        for s in [429, 500, 502, 503, 301, 302, 307] {
            assert!(reply(s).inconclusive().is_some(), "{s}");
        }
        for s in [200, 400, 401, 403, 404] {
            assert!(reply(s).inconclusive().is_none(), "{s}");
        }
    }
}
