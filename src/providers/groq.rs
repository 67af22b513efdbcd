//! Groq. Verify: `GET /openai/v1/models` with `Authorization: Bearer` (free); 401 "Invalid API
//! Key" is dead. Groq has no API to create or revoke keys: both are done in the console.

use reqwest::Method;

use super::openai::expose;
use super::*;

const API: &str = "https://api.groq.com";

pub struct Groq;

impl Provider for Groq {
    fn id(&self) -> &'static str {
        "groq"
    }

    fn name(&self) -> &'static str {
        "Groq"
    }

    fn rules(&self) -> &'static [&'static str] {
        &["groq-api-key"]
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            verify: true,
            create: false,
            revoke: false,
        }
    }

    fn manual(&self) -> Manual {
        Manual {
            dashboard: "https://console.groq.com/keys",
            create: &[
                "Open https://console.groq.com/keys and click \"Create API Key\".",
                "Name it after where it will be used, submit, and copy the key: Groq shows it once.",
            ],
            revoke: &[
                "Open https://console.groq.com/keys and find the old key by its redacted form.",
                "Click its delete (trash) icon and confirm. The key stops working at once.",
            ],
            usage: "https://console.groq.com/dashboard/usage",
        }
    }

    fn verify(&self, cx: &Cx, key: &Secret) -> Verdict {
        let request = cx
            .http
            .request(Method::GET, &cx.base(API), "/openai/v1/models")
            .bearer_auth(expose(key));
        verify_by_status(cx, key, request, &[401], |_| None)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, ResponseTemplate};

    use super::super::testing::*;
    use super::*;

    fn fake_key(seed: u32) -> Secret {
        let body: String = (0..52u32)
            .map(|i| {
                b"abcdefghijkmnopqrstuvwxyzABCDEFGH0123456789"[((i * 5 + seed) % 43) as usize]
                    as char
            })
            .collect();
        Secret::new(format!("gsk_{body}").as_bytes())
    }

    #[test]
    fn verify_live_and_dead() {
        let server = Server::start();
        let (live, dead) = (fake_key(1), fake_key(2));
        server.mount(
            Mock::given(method("GET"))
                .and(path("/openai/v1/models"))
                .and(header(
                    "authorization",
                    format!("Bearer {}", expose(&live)).as_str(),
                ))
                .respond_with(
                    ResponseTemplate::new(200).set_body_json(json!({"object":"list","data":[]})),
                ),
        );
        server.mount(
            Mock::given(method("GET"))
                .and(path("/openai/v1/models"))
                .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error":{
                    "message":"Invalid API Key","type":"invalid_request_error","code":"invalid_api_key"}}))),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &Groq, &base, None, &params);
        assert!(Groq.check_format(&live).is_ok());
        assert_eq!(Groq.verify(&cx, &live).status, Status::Live);
        assert_eq!(Groq.verify(&cx, &dead).status, Status::Dead);
        assert_key_only_in_header(&server, &live, "authorization");
    }

    #[test]
    fn verify_inconclusive_cases() {
        assert_inconclusive_cases(&Groq, &fake_key(3), "GET", "/openai/v1/models");
    }

    #[test]
    fn no_api_to_create_or_revoke() {
        let http = http();
        let base = Base::parse("http://127.0.0.1:9").unwrap();
        let params = Params::new();
        let cx = cx(&http, &Groq, &base, None, &params);
        assert!(matches!(
            Groq.create(&cx),
            Err(ProviderError::NotSupported { .. })
        ));
        assert!(matches!(
            Groq.revoke(&cx, &fake_key(1)),
            Err(ProviderError::NotSupported { .. })
        ));
    }
}
