//! Cohere. Verify: `POST https://api.cohere.com/v1/check-api-key` with `Authorization: Bearer`,
//! which "checks that the api key in the Authorization header is valid and active" and answers
//! 200 `{"valid": bool, "organization_id"?, "owner_id"?}`; its documented errors include 401
//! (docs.cohere.com/reference/check-api-key). It runs no model, so it costs nothing. A 200 with
//! `"valid": false` is Cohere saying the key is not valid: dead, like a 401. A 200 without a
//! `valid` field says nothing, so it is unknown.
//!
//! Keys are 40 letters and digits with no prefix (Kingfisher; the catalogue rule
//! `cohere-api-key` needs a "cohere" keyword near the key), so `check_format` checks that shape.
//! Cohere documents no API to create or delete keys: both are done in the dashboard
//! (dashboard.cohere.com/api-keys, the catalogue's URL; trial and production keys are listed
//! there).

use reqwest::Method;
use serde_json::Value;

use super::mistral::check_shape;
use super::openai::expose;
use super::*;

const API: &str = "https://api.cohere.com";

pub struct Cohere;

impl Provider for Cohere {
    fn id(&self) -> &'static str {
        "cohere"
    }

    fn name(&self) -> &'static str {
        "Cohere"
    }

    fn rules(&self) -> &'static [&'static str] {
        &["cohere-api-key"]
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
            dashboard: "https://dashboard.cohere.com/api-keys",
            create: &[
                "Open https://dashboard.cohere.com/api-keys and click \"New Production key\" (or \"New Trial key\" if the old one was a trial key).",
                "Name it after where it will be used and copy the key: Cohere shows it in full once.",
            ],
            revoke: &[
                "Open https://dashboard.cohere.com/api-keys and find the old key by its name and last characters.",
                "Delete it from its menu and confirm. The key stops working at once.",
            ],
            usage: "https://dashboard.cohere.com/billing",
        }
    }

    fn check_format(&self, key: &Secret) -> Result<(), String> {
        check_shape(
            self.name(),
            key,
            "",
            40,
            |b| b.is_ascii_alphanumeric(),
            "40 letters and digits",
        )
    }

    fn verify(&self, cx: &Cx, key: &Secret) -> Verdict {
        let request = cx
            .http
            .request(Method::POST, &cx.base(API), "/v1/check-api-key")
            .bearer_auth(expose(key));
        verify_reply(cx, key, request, |reply| {
            if reply.is_success() {
                let body = reply.json();
                return match body.get("valid").and_then(Value::as_bool) {
                    Some(true) => Verdict::live(
                        json_str(&body, "/organization_id").map(|o| format!("organization {o}")),
                        format!("HTTP {}, valid", reply.status),
                    ),
                    Some(false) => {
                        Verdict::dead(format!("HTTP {}, \"valid\": false", reply.status))
                    }
                    None => {
                        Verdict::unknown(format!("HTTP {} without a \"valid\" field", reply.status))
                    }
                };
            }
            classify(reply, &[401], |_| None)
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
        let body: String = (0..40u32)
            .map(|i| {
                b"abcdefghijkmnopqrstuvwxyzABCDEFGH0123456789"[((i * 11 + seed * 5) % 43) as usize]
                    as char
            })
            .collect();
        Secret::new(body.as_bytes())
    }

    fn bearer(k: &Secret) -> String {
        format!("Bearer {}", expose(k))
    }

    #[test]
    fn format_is_40_letters_and_digits() {
        assert!(Cohere.check_format(&fake_key(1)).is_ok());
        let k = expose(&fake_key(1));
        assert!(
            Cohere
                .check_format(&Secret::new(&k.as_bytes()[..32]))
                .is_err()
        );
        assert!(
            Cohere
                .check_format(&Secret::new(format!("{}_", &k[..39]).as_bytes()))
                .is_err()
        );
    }

    #[test]
    fn verify_reads_valid_true_false_and_401() {
        let server = Server::start();
        let (live, invalid, dead) = (fake_key(1), fake_key(2), fake_key(3));
        server.mount(
            Mock::given(method("POST"))
                .and(path("/v1/check-api-key"))
                .and(header("authorization", bearer(&live).as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_json(
                    json!({"valid":true,"organization_id":"org-1234","owner_id":"user-5678"}),
                )),
        );
        server.mount(
            Mock::given(method("POST"))
                .and(path("/v1/check-api-key"))
                .and(header("authorization", bearer(&invalid).as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"valid":false}))),
        );
        server.mount(
            Mock::given(method("POST"))
                .and(path("/v1/check-api-key"))
                .respond_with(
                    ResponseTemplate::new(401)
                        .set_body_json(json!({"id":"abc","message":"invalid api token"})),
                ),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &Cohere, &base, None, &params);
        let v = Cohere.verify(&cx, &live);
        assert_eq!(v.status, Status::Live, "{v:?}");
        assert_eq!(v.account.as_deref(), Some("organization org-1234"));
        let v = Cohere.verify(&cx, &invalid);
        assert_eq!(v.status, Status::Dead, "{v:?}");
        let v = Cohere.verify(&cx, &dead);
        assert_eq!(v.status, Status::Dead, "{v:?}");
        assert_no_key_in(&v, &dead);
        for k in [&live, &invalid, &dead] {
            assert_key_only_in_header(&server, k, "authorization");
        }
    }

    #[test]
    fn a_success_without_the_valid_field_is_unknown() {
        let server = Server::start();
        server.mount(
            Mock::given(method("POST"))
                .and(path("/v1/check-api-key"))
                .respond_with(ResponseTemplate::new(200).set_body_string("<html>ok</html>")),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &Cohere, &base, None, &params);
        assert_eq!(Cohere.verify(&cx, &fake_key(4)).status, Status::Unknown);
    }

    #[test]
    fn verify_inconclusive_cases() {
        assert_inconclusive_cases(&Cohere, &fake_key(5), "POST", "/v1/check-api-key");
    }
}
