//! Error responses in each provider's JSON shape, so the official SDKs raise their usual
//! exceptions (`RateLimitError`, `AuthenticationError`, ...) for the proxy's own refusals, and
//! upstream error bodies passed on to the client with the provider key scrubbed out.
//!
//! Shapes (from the providers' error documentation, read through the search tool; the type
//! names per status are as the SDKs map them):
//! - OpenAI: `{"error":{"message","type","param","code"}}`; the SDK picks the exception by
//!   status, `type` is informational (`invalid_request_error`, `rate_limit_exceeded`, ...).
//! - Anthropic: `{"type":"error","error":{"type","message"}}` with `invalid_request_error`
//!   (400, 413 is `request_too_large`), `authentication_error` (401), `rate_limit_error` (429),
//!   `api_error` (5xx), `overloaded_error`.
//! - Gemini (Google APIs): `{"error":{"code","message","status"}}` with canonical status names
//!   (`INVALID_ARGUMENT`, `UNAUTHENTICATED`, `RESOURCE_EXHAUSTED`, `UNAVAILABLE`).

use serde_json::{Value, json};

use super::config::Wire;
use crate::finding::Secret;

/// The proxy's own refusals, by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: malformed body, model not allowed.
    BadRequest,
    /// 401: no, bad, revoked or expired client token.
    Unauthorized,
    /// 404: no route for this API.
    NotFound,
    /// 405: a known endpoint called with another method (the response carries `Allow`).
    MethodNotAllowed,
    /// 413: body over `max_body_bytes`.
    PayloadTooLarge,
    /// 415: not JSON.
    UnsupportedMediaType,
    /// 429: over a limit.
    RateLimited,
    /// 502: the upstream refused the proxy's own provider key, or answered nonsense.
    BadGateway,
    /// 503: the store is unreachable (fail closed) or the upstream is.
    Unavailable,
}

impl ErrorKind {
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::BadRequest => 400,
            ErrorKind::Unauthorized => 401,
            ErrorKind::NotFound => 404,
            ErrorKind::MethodNotAllowed => 405,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::UnsupportedMediaType => 415,
            ErrorKind::RateLimited => 429,
            ErrorKind::BadGateway => 502,
            ErrorKind::Unavailable => 503,
        }
    }

    /// The kind for an upstream status, for wrapping a non-JSON upstream error.
    pub fn for_status(status: u16) -> ErrorKind {
        match status {
            401 | 403 => ErrorKind::BadGateway,
            404 => ErrorKind::NotFound,
            413 => ErrorKind::PayloadTooLarge,
            415 => ErrorKind::UnsupportedMediaType,
            429 => ErrorKind::RateLimited,
            400..=499 => ErrorKind::BadRequest,
            503 => ErrorKind::Unavailable,
            _ => ErrorKind::BadGateway,
        }
    }

    fn openai(self) -> (&'static str, &'static str) {
        match self {
            ErrorKind::BadRequest => ("invalid_request_error", "invalid_request"),
            ErrorKind::Unauthorized => ("invalid_request_error", "invalid_api_key"),
            ErrorKind::NotFound => ("invalid_request_error", "not_found"),
            ErrorKind::MethodNotAllowed => ("invalid_request_error", "method_not_allowed"),
            ErrorKind::PayloadTooLarge => ("invalid_request_error", "request_too_large"),
            ErrorKind::UnsupportedMediaType => ("invalid_request_error", "unsupported_media_type"),
            ErrorKind::RateLimited => ("rate_limit_exceeded", "rate_limit_exceeded"),
            ErrorKind::BadGateway => ("server_error", "upstream_error"),
            ErrorKind::Unavailable => ("server_error", "service_unavailable"),
        }
    }

    fn anthropic(self) -> &'static str {
        match self {
            ErrorKind::BadRequest
            | ErrorKind::UnsupportedMediaType
            | ErrorKind::MethodNotAllowed => "invalid_request_error",
            ErrorKind::Unauthorized => "authentication_error",
            ErrorKind::NotFound => "not_found_error",
            ErrorKind::PayloadTooLarge => "request_too_large",
            ErrorKind::RateLimited => "rate_limit_error",
            ErrorKind::BadGateway => "api_error",
            ErrorKind::Unavailable => "overloaded_error",
        }
    }

    fn gemini(self) -> &'static str {
        match self {
            ErrorKind::BadRequest
            | ErrorKind::UnsupportedMediaType
            | ErrorKind::PayloadTooLarge
            | ErrorKind::MethodNotAllowed => "INVALID_ARGUMENT",
            ErrorKind::Unauthorized => "UNAUTHENTICATED",
            ErrorKind::NotFound => "NOT_FOUND",
            ErrorKind::RateLimited => "RESOURCE_EXHAUSTED",
            ErrorKind::BadGateway => "INTERNAL",
            ErrorKind::Unavailable => "UNAVAILABLE",
        }
    }
}

/// The JSON body of one of the proxy's refusals, in `wire`'s shape.
pub fn error_body(wire: Wire, kind: ErrorKind, message: &str) -> Vec<u8> {
    let v = match wire {
        Wire::OpenAi => {
            let (ty, code) = kind.openai();
            json!({"error": {"message": message, "type": ty, "param": null, "code": code}})
        }
        Wire::Anthropic => {
            json!({"type": "error", "error": {"type": kind.anthropic(), "message": message}})
        }
        Wire::Gemini => {
            json!({"error": {"code": kind.status(), "message": message, "status": kind.gemini()}})
        }
    };
    serde_json::to_vec(&v).expect("a JSON value serialises")
}

/// An upstream error answer made fit for the client: the status to send and the body.
///
/// A JSON body keeps the provider's own shape (the SDKs read it), with every copy of the key,
/// and any run quoting 8 or more of its characters, replaced by `<key>` (`providers::scrub`).
/// A non-JSON body (an HTML page from a load balancer) is not passed on: a body in `wire`'s
/// shape says what happened. The operator's account ids that providers quote in error messages
/// (OpenAI's 429 says "... in organization org-… on tokens per min"; Google's error details name
/// `projects/NUMBER`) are replaced too: they identify the operator's account, not the client's.
/// 401 and 403 mean the upstream refused the proxy's own key: the
/// client's token is fine and retrying with another is pointless, so they become 502 with a
/// message of ours (the provider's message may quote part of the key).
/// A 3xx (the proxy follows no redirect: it would carry the key to wherever `Location` points)
/// becomes 502 with a message of ours; neither the body nor `Location` (which may name the
/// upstream's own URLs) reaches the client.
pub fn upstream_error(wire: Wire, status: u16, body: &[u8], key: &Secret) -> (u16, Vec<u8>) {
    if (300..400).contains(&status) {
        return (
            502,
            error_body(
                wire,
                ErrorKind::BadGateway,
                &format!(
                    "the upstream provider answered HTTP {status}, a redirect, which this proxy does not follow"
                ),
            ),
        );
    }
    if matches!(status, 401 | 403) {
        return (
            502,
            error_body(
                wire,
                ErrorKind::BadGateway,
                "the upstream provider refused this proxy's API key; the proxy's operator must check or rotate it",
            ),
        );
    }
    let text = String::from_utf8_lossy(body);
    if serde_json::from_str::<Value>(&text).is_ok_and(|v| v.is_object()) {
        let scrubbed = scrub_account_ids(&crate::providers::scrub(&text, key));
        // `<key>` contains no quote or backslash, so the scrubbed text stays JSON; checked anyway.
        if serde_json::from_str::<Value>(&scrubbed).is_ok() {
            return (status, scrubbed.into_bytes());
        }
    }
    let kind = ErrorKind::for_status(status);
    (
        status,
        error_body(
            wire,
            kind,
            &format!("the upstream provider answered HTTP {status}"),
        ),
    )
}

/// `text` with provider account ids (`org-…`, `proj_…`, `projects/NUMBER`) replaced by
/// `<account>`. The replacement has no quote or backslash, so JSON stays JSON.
fn scrub_account_ids(text: &str) -> String {
    static IDS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\b(?:org-[A-Za-z0-9]{6,}|proj_[A-Za-z0-9]{6,}|projects/[0-9]{3,})")
            .expect("a valid pattern")
    });
    IDS.replace_all(text, "<account>").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A format-valid fake OpenAI key, made at run time.
    fn fake_key() -> Secret {
        let body: String = (0..48u32)
            .map(|i| b"AbCdEfGhJkMnPqRsTuVwXyZ23456789"[((i * 7 + 3) % 31) as usize] as char)
            .collect();
        Secret::new(format!("sk-proj-{body}").as_bytes())
    }

    #[test]
    fn statuses() {
        let all = [
            (ErrorKind::BadRequest, 400),
            (ErrorKind::Unauthorized, 401),
            (ErrorKind::PayloadTooLarge, 413),
            (ErrorKind::UnsupportedMediaType, 415),
            (ErrorKind::RateLimited, 429),
            (ErrorKind::Unavailable, 503),
        ];
        for (k, s) in all {
            assert_eq!(k.status(), s);
        }
    }

    #[test]
    fn openai_shape() {
        let v: Value = serde_json::from_slice(&error_body(
            Wire::OpenAi,
            ErrorKind::RateLimited,
            "over the limit",
        ))
        .unwrap();
        assert_eq!(v["error"]["message"], "over the limit");
        assert_eq!(v["error"]["type"], "rate_limit_exceeded");
        assert_eq!(v["error"]["code"], "rate_limit_exceeded");
        assert!(v["error"]["param"].is_null());
    }

    #[test]
    fn anthropic_shape() {
        let cases = [
            (ErrorKind::BadRequest, "invalid_request_error"),
            (ErrorKind::Unauthorized, "authentication_error"),
            (ErrorKind::PayloadTooLarge, "request_too_large"),
            (ErrorKind::UnsupportedMediaType, "invalid_request_error"),
            (ErrorKind::RateLimited, "rate_limit_error"),
            (ErrorKind::Unavailable, "overloaded_error"),
        ];
        for (kind, ty) in cases {
            let v: Value = serde_json::from_slice(&error_body(Wire::Anthropic, kind, "m")).unwrap();
            assert_eq!(v["type"], "error");
            assert_eq!(v["error"]["type"], ty, "{kind:?}");
            assert_eq!(v["error"]["message"], "m");
        }
    }

    #[test]
    fn gemini_shape() {
        let v: Value =
            serde_json::from_slice(&error_body(Wire::Gemini, ErrorKind::Unauthorized, "m"))
                .unwrap();
        assert_eq!(v["error"]["code"], 401);
        assert_eq!(v["error"]["status"], "UNAUTHENTICATED");
    }

    #[test]
    fn message_is_escaped_as_json() {
        let body = error_body(Wire::OpenAi, ErrorKind::BadRequest, "model `a\"b` \n");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["message"], "model `a\"b` \n");
    }

    #[test]
    fn upstream_json_error_keeps_its_shape_without_the_key() {
        let key = fake_key();
        let k = String::from_utf8_lossy(key.expose()).to_string();
        let body = json!({"error": {"message": format!("Bad request for key {k} (head {})", &k[..20]), "type": "invalid_request_error", "code": null}});
        let (status, out) = upstream_error(Wire::OpenAi, 400, body.to_string().as_bytes(), &key);
        assert_eq!(status, 400);
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains(&k[8..20]), "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert!(v["error"]["message"].as_str().unwrap().contains("<key>"));
    }

    #[test]
    fn upstream_error_does_not_name_the_operators_account() {
        let key = fake_key();
        // Made at run time: OpenAI org/project ids are `org-`/`proj_` + 24 letters and digits.
        let id: String = (0..24u32)
            .map(|i| b"aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"[((i * 11 + 5) % 36) as usize] as char)
            .collect();
        let (org, proj, gcp) = (
            format!("org-{id}"),
            format!("proj_{id}"),
            "projects/8".to_string() + &"31".repeat(5),
        );
        let body = json!({"error": {
            "message": format!("Rate limit reached for gpt-4o-mini in organization {org} (project {proj}) on tokens per min"),
            "type": "tokens", "code": "rate_limit_exceeded",
            "details": [{"metadata": {"consumer": gcp}}]}});
        let (status, out) = upstream_error(Wire::OpenAi, 429, body.to_string().as_bytes(), &key);
        assert_eq!(status, 429);
        let text = String::from_utf8(out).unwrap();
        for leaked in [&org, &proj, &gcp, &id] {
            assert!(!text.contains(leaked.as_str()), "{leaked} in {text}");
        }
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["error"]["code"], "rate_limit_exceeded");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("gpt-4o-mini")
        );
    }

    #[test]
    fn upstream_auth_failure_is_ours_not_the_providers() {
        let key = fake_key();
        let k = String::from_utf8_lossy(key.expose()).to_string();
        let body = json!({"error": {"message": format!("Incorrect API key provided: {}****{}", &k[..10], &k[k.len()-4..])}});
        for status in [401, 403] {
            let (s, out) =
                upstream_error(Wire::Anthropic, status, body.to_string().as_bytes(), &key);
            assert_eq!(s, 502);
            let text = String::from_utf8(out).unwrap();
            assert!(!text.contains(&k[..10]), "{text}");
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["error"]["type"], "api_error");
        }
    }

    #[test]
    fn upstream_redirect_is_a_bad_gateway_of_ours() {
        let key = fake_key();
        let body = br#"{"error":{"message":"moved to https://internal.example/v2/chat"}}"#;
        for wire in [Wire::OpenAi, Wire::Anthropic, Wire::Gemini] {
            for status in [301, 302, 307, 308] {
                let (s, out) = upstream_error(wire, status, body, &key);
                assert_eq!(s, 502);
                let text = String::from_utf8(out).unwrap();
                assert!(!text.contains("internal.example"), "{text}");
                assert!(text.contains("redirect"), "{text}");
                let v: Value = serde_json::from_str(&text).unwrap();
                assert!(v["error"].is_object(), "{text}");
            }
        }
    }

    #[test]
    fn upstream_non_json_is_replaced() {
        let key = fake_key();
        let k = String::from_utf8_lossy(key.expose()).to_string();
        let html = format!("<html>gateway error for {k}</html>");
        let (s, out) = upstream_error(Wire::OpenAi, 500, html.as_bytes(), &key);
        assert_eq!(s, 500);
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("html") && !text.contains(&k[..12]), "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["error"]["type"], "server_error");
        let (s, _) = upstream_error(Wire::Gemini, 429, b"slow down", &key);
        assert_eq!(s, 429);
    }
}
