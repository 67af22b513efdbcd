//! DeepSeek. Verify: `GET https://api.deepseek.com/user/balance` with `Authorization: Bearer`
//! (api-docs.deepseek.com, "Get User Balance"): read-only and free, it answers 200
//! `{"is_available": bool, "balance_infos": [{currency, total_balance, …}]}`. DeepSeek's error
//! table (api-docs.deepseek.com/quick_start/error_codes) gives 401 "Authentication Fails" for a
//! wrong key, and 402 "Insufficient Balance" for an account out of money: that key authenticated,
//! so it is live (and so is a 200 with `is_available: false`). The 401 body's exact shape is
//! third-party; only its status decides.
//!
//! Keys are `sk-` and 32 lowercase hex digits (Kingfisher). The catalogue rule `deepseek-api-key`
//! needs a "deepseek" keyword near the key, because OpenAI's legacy keys share the `sk-` head, so
//! `check_format` checks the shape itself. DeepSeek documents no API to create or delete keys: both
//! are done on the platform (platform.deepseek.com/api_keys, linked from the error table).

use reqwest::Method;
use serde_json::Value;

use super::mistral::check_shape;
use super::openai::expose;
use super::*;

const API: &str = "https://api.deepseek.com";

pub struct DeepSeek;

impl Provider for DeepSeek {
    fn id(&self) -> &'static str {
        "deepseek"
    }

    fn name(&self) -> &'static str {
        "DeepSeek"
    }

    fn rules(&self) -> &'static [&'static str] {
        &["deepseek-api-key"]
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
            dashboard: "https://platform.deepseek.com/api_keys",
            create: &[
                "Open https://platform.deepseek.com/api_keys and click \"Create new API key\".",
                "Name it after where it will be used and copy the key: DeepSeek shows it once.",
            ],
            revoke: &[
                "Open https://platform.deepseek.com/api_keys and find the old key by its name and redacted form.",
                "Click its delete icon and confirm. The key stops working at once.",
            ],
            usage: "https://platform.deepseek.com/usage",
        }
    }

    fn check_format(&self, key: &Secret) -> Result<(), String> {
        check_shape(
            self.name(),
            key,
            "sk-",
            32,
            |b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
            "32 lowercase hex digits",
        )
    }

    fn verify(&self, cx: &Cx, key: &Secret) -> Verdict {
        let request = cx
            .http
            .request(Method::GET, &cx.base(API), "/user/balance")
            .bearer_auth(expose(key));
        verify_reply(cx, key, request, |reply| match reply.status {
            402 => Verdict::live(
                None,
                "HTTP 402: the key authenticated but the account has no balance",
            ),
            200 if reply.json().get("is_available").and_then(Value::as_bool) == Some(false) => {
                Verdict::live(
                    None,
                    "HTTP 200: the key authenticated; the account has no balance available for API calls",
                )
            }
            _ => classify(reply, &[401], |_| None),
        })
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
        let body: String = (0..32u32)
            .map(|i| b"0123456789abcdef"[((i * 7 + seed * 3 + i / 5) % 16) as usize] as char)
            .collect();
        Secret::new(format!("sk-{body}").as_bytes())
    }

    fn bearer(k: &Secret) -> String {
        format!("Bearer {}", expose(k))
    }

    #[test]
    fn format_is_sk_and_32_lowercase_hex() {
        assert!(DeepSeek.check_format(&fake_key(1)).is_ok());
        let k = expose(&fake_key(1));
        assert!(
            DeepSeek
                .check_format(&Secret::new(k.to_uppercase().as_bytes()))
                .is_err()
        );
        assert!(
            DeepSeek
                .check_format(&Secret::new(&k.as_bytes()[3..]))
                .is_err()
        );
        assert!(
            DeepSeek
                .check_format(&Secret::new(format!("{k}0").as_bytes()))
                .is_err()
        );
    }

    #[test]
    fn verify_live_broke_and_dead() {
        let server = Server::start();
        let (live, empty, broke, dead) = (fake_key(1), fake_key(2), fake_key(3), fake_key(4));
        server.mount(
            Mock::given(method("GET"))
                .and(path("/user/balance"))
                .and(header("authorization", bearer(&live).as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "is_available": true,
                    "balance_infos": [{"currency":"CNY","total_balance":"110.00",
                        "granted_balance":"10.00","topped_up_balance":"100.00"}]}))),
        );
        server.mount(
            Mock::given(method("GET"))
                .and(path("/user/balance"))
                .and(header("authorization", bearer(&empty).as_str()))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_json(json!({"is_available": false, "balance_infos": []})),
                ),
        );
        server.mount(
            Mock::given(method("GET"))
                .and(path("/user/balance"))
                .and(header("authorization", bearer(&broke).as_str()))
                .respond_with(ResponseTemplate::new(402).set_body_json(json!({"error":{
                    "message":"Insufficient Balance","type":"unknown_error","param":null,"code":"invalid_request_error"}}))),
        );
        let d = expose(&dead);
        server.mount(
            Mock::given(method("GET"))
                .and(path("/user/balance"))
                .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error":{
                    "message": format!("Authentication Fails, Your api key: ****{} is invalid", &d[d.len()-4..]),
                    "type":"authentication_error","param":null,"code":"invalid_request_error"}}))),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &DeepSeek, &base, None, &params);
        let v = DeepSeek.verify(&cx, &live);
        assert_eq!((v.status, v.detail.as_str()), (Status::Live, "HTTP 200"));
        let v = DeepSeek.verify(&cx, &empty);
        assert_eq!(v.status, Status::Live, "{v:?}");
        assert!(v.detail.contains("no balance"), "{v:?}");
        let v = DeepSeek.verify(&cx, &broke);
        assert_eq!(v.status, Status::Live, "{v:?}");
        let v = DeepSeek.verify(&cx, &dead);
        assert_eq!(v.status, Status::Dead, "{v:?}");
        assert!(!v.detail.contains("Authentication Fails"), "{v:?}");
        assert_no_key_in(&v, &dead);
        for k in [&live, &empty, &broke, &dead] {
            assert_key_only_in_header(&server, k, "authorization");
        }
    }

    #[test]
    fn verify_inconclusive_cases() {
        assert_inconclusive_cases(&DeepSeek, &fake_key(5), "GET", "/user/balance");
    }
}
