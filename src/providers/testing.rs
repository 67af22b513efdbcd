//! Test support for adapters: a local server (wiremock, on its own tokio runtime) that speaks a
//! provider's documented responses, and the checks every adapter must pass (429, 5xx, slow and
//! redirect answers are `unknown`; no request leaves the configured base).

use std::time::Duration;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

/// A local provider. Blocking adapters call it from the test thread; it runs on its own runtime.
pub struct Server {
    rt: tokio::runtime::Runtime,
    pub mock: MockServer,
}

impl Server {
    pub fn start() -> Server {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let mock = rt.block_on(MockServer::start());
        Server { rt, mock }
    }

    pub fn mount(&self, mock: Mock) {
        self.rt.block_on(mock.mount(&self.mock));
    }

    pub fn reset(&self) {
        self.rt.block_on(self.mock.reset());
    }

    pub fn base(&self) -> Base {
        Base::parse(&self.mock.uri()).unwrap()
    }

    pub fn requests(&self) -> Vec<wiremock::Request> {
        self.rt
            .block_on(self.mock.received_requests())
            .unwrap_or_default()
    }
}

/// A client with a short deadline, so the slow-server case takes a second, not ten.
pub fn http() -> Http {
    Http::new(Duration::from_millis(800))
}

/// Everything a call needs, pointed at `base`.
pub fn cx<'a>(
    http: &'a Http,
    p: &dyn Provider,
    base: &'a Base,
    admin: Option<&'a Secret>,
    params: &'a Params,
) -> Cx<'a> {
    Cx {
        http,
        provider: p.id(),
        base_override: Some(base),
        admin,
        params,
    }
}

/// The cases every verification must read as `unknown`: rate limited, server error, slow past
/// the deadline, and a redirect (which must not be followed: a second server behind the
/// `Location` must see nothing). `verb` and `route` are the adapter's verification call.
pub fn assert_inconclusive_cases(p: &dyn Provider, key: &Secret, verb: &str, route: &str) {
    let server = Server::start();
    let elsewhere = Server::start();
    let http = http();
    let base = server.base();
    let params = Params::new();
    let cases: Vec<(&str, ResponseTemplate)> = vec![
        (
            "429",
            ResponseTemplate::new(429).insert_header("retry-after", "20"),
        ),
        ("500", ResponseTemplate::new(500)),
        ("503", ResponseTemplate::new(503)),
        (
            "slow",
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"ok": true}))
                .set_delay(Duration::from_millis(2500)),
        ),
        (
            "redirect",
            ResponseTemplate::new(302).insert_header(
                "location",
                format!("{}{route}", elsewhere.mock.uri()).as_str(),
            ),
        ),
    ];
    for (name, response) in cases {
        server.reset();
        server.mount(
            Mock::given(method(verb))
                .and(path(route))
                .respond_with(response),
        );
        let verdict = p.verify(&cx(&http, p, &base, None, &params), key);
        assert_eq!(
            verdict.status,
            Status::Unknown,
            "{}: the {name} case gave {verdict:?}",
            p.id()
        );
        assert_no_key_in(&verdict, key);
    }
    assert!(
        elsewhere.requests().is_empty(),
        "{}: a redirect was followed",
        p.id()
    );
}

/// Neither the detail nor the account of a verdict quotes the key.
pub fn assert_no_key_in(verdict: &Verdict, key: &Secret) {
    let k = std::str::from_utf8(key.expose()).unwrap();
    let head = &k[..k.len().min(12)];
    for text in [Some(&verdict.detail), verdict.account.as_ref()]
        .into_iter()
        .flatten()
    {
        assert!(!text.contains(head), "the key leaked into `{text}`");
    }
}

/// Every request the server saw carried the key only in `header` (never in the URL or body).
pub fn assert_key_only_in_header(server: &Server, key: &Secret, header: &str) {
    let k = std::str::from_utf8(key.expose()).unwrap();
    for r in server.requests() {
        assert!(!r.url.as_str().contains(k), "key in URL {}", r.url.path());
        assert!(
            !String::from_utf8_lossy(&r.body).contains(k),
            "key in a request body"
        );
        for (name, value) in r.headers.iter() {
            if value.to_str().is_ok_and(|v| v.contains(k)) {
                assert_eq!(name.as_str(), header, "key in header {name}");
            }
        }
    }
}
