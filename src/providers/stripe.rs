//! Stripe secret (`sk_live_`, `sk_test_`) and restricted (`rk_live_`, `rk_test_`) keys.
//!
//! Verify: `GET https://api.stripe.com/v1/balance` with `Authorization: Bearer` (Stripe takes the
//! key as Bearer or as the Basic user name). Balance is a read-only core resource a restricted key
//! can be given ("Balance: Read"), unlike `/v1/account`, which is Connect's; it moves no money.
//! Stripe's status table (docs.stripe.com/api/errors): 401 "No valid API key provided", 403 "The
//! API key doesn't have permissions to perform the request". docs.stripe.com/keys: a deleted or
//! expired key (one rolled with an expiry that has passed; code `api_key_expired`, handled by the
//! Stripe CLI) is an authentication error. So 401 is dead, and 403 is a restricted key without
//! the Balance permission: it authenticated, so it is live. Test-mode keys are verified the same
//! way; the detail says they are test mode (they move no real money but expose test data).
//!
//! Publishable keys (`pk_`) are meant to be public and webhook signing secrets (`whsec_`) cannot be
//! checked by any API, so neither rule is claimed here.
//!
//! Create and revoke: done in the Dashboard (docs.stripe.com/keys: "create, reveal, delete, and
//! rotate API keys" in the Developers Dashboard). "Roll key…" makes the new key and sets when the
//! old one expires — pick a time after the deploy so both work meanwhile (zero-outage rotation),
//! or "now" when the key is being abused. Live secret keys are shown once. Stripe's SDKs carry a
//! v2 IAM API-key service (create, rotate, expire; stripe-java `v2.iam.ApiKeyService`), but no
//! Stripe page found documents it for this use, so keyguard does not call it.

use reqwest::Method;

use super::openai::expose;
use super::*;

const API: &str = "https://api.stripe.com";

pub struct Stripe;

impl Provider for Stripe {
    fn id(&self) -> &'static str {
        "stripe"
    }

    fn name(&self) -> &'static str {
        "Stripe"
    }

    fn rules(&self) -> &'static [&'static str] {
        &[
            "stripe-secret-key",
            "stripe-restricted-key",
            "stripe-test-key",
        ]
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
            dashboard: "https://dashboard.stripe.com/apikeys",
            create: &[
                "Open https://dashboard.stripe.com/apikeys (https://dashboard.stripe.com/test/apikeys for a test key); turn test mode off for a live key.",
                "Find the old key (Standard keys for sk_, Restricted keys for rk_), open its ⋯ menu and choose \"Roll key…\".",
                "Pick an expiration for the old key that leaves time to deploy the new one (1 hour, 24 hours…), so both work meanwhile; pick \"Now\" only if the key is being abused.",
                "Click \"Roll API key\" and copy the new key: Stripe shows a live key once.",
            ],
            revoke: &[
                "If you rolled the key with an expiration, the old key stops working at that time; nothing more is needed.",
                "To end it sooner: on https://dashboard.stripe.com/apikeys open the old key's ⋯ menu and roll it again with expiration \"Now\", or delete a restricted key (\"Delete key\").",
            ],
            usage: "https://dashboard.stripe.com/logs",
        }
    }

    fn verify(&self, cx: &Cx, key: &Secret) -> Verdict {
        let request = cx
            .http
            .request(Method::GET, &cx.base(API), "/v1/balance")
            .bearer_auth(expose(key));
        verify_reply(cx, key, request, |reply| {
            let mut verdict = if reply.status == 403 {
                Verdict::live(
                    None,
                    "HTTP 403: a restricted key without the Balance read permission (it authenticated)",
                )
            } else {
                classify(reply, &[401], |_| None)
            };
            if is_test_mode(key) {
                verdict
                    .detail
                    .push_str("; a test-mode key: it moves no real money");
            }
            verdict
        })
    }
}

fn is_test_mode(key: &Secret) -> bool {
    let k = key.expose();
    k.starts_with(b"sk_test_") || k.starts_with(b"rk_test_")
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, ResponseTemplate};

    use super::super::testing::*;
    use super::*;

    fn fake_key(prefix: &str, seed: u32) -> Secret {
        let body: String = (0..99u32)
            .map(|i| {
                b"abcdefghijkmnopqrstuvwxyzABCDEFGH0123456789"[((i * 7 + seed * 5) % 43) as usize]
                    as char
            })
            .collect();
        Secret::new(format!("{prefix}{body}").as_bytes())
    }

    fn bearer(k: &Secret) -> String {
        format!("Bearer {}", expose(k))
    }

    fn balance() -> serde_json::Value {
        json!({"object":"balance","livemode":true,
            "available":[{"amount":0,"currency":"usd","source_types":{"card":0}}],
            "pending":[{"amount":0,"currency":"usd","source_types":{"card":0}}]})
    }

    #[test]
    fn every_claimed_kind_passes_the_format_check() {
        for prefix in ["sk_live_", "rk_live_", "sk_test_", "rk_test_"] {
            let k = fake_key(prefix, 1);
            assert!(Stripe.check_format(&k).is_ok(), "{prefix}");
        }
        assert!(Stripe.check_format(&fake_key("pk_live_", 1)).is_err());
    }

    #[test]
    fn verify_live_restricted_test_and_dead() {
        let server = Server::start();
        let live = fake_key("sk_live_", 1);
        let restricted = fake_key("rk_live_", 2);
        let test = fake_key("sk_test_", 3);
        let expired = fake_key("sk_live_", 4);
        let deleted = fake_key("rk_live_", 5);
        for k in [&live, &test] {
            server.mount(
                Mock::given(method("GET"))
                    .and(path("/v1/balance"))
                    .and(header("authorization", bearer(k).as_str()))
                    .respond_with(ResponseTemplate::new(200).set_body_json(balance())),
            );
        }
        let r = expose(&restricted);
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/balance"))
                .and(header("authorization", bearer(&restricted).as_str()))
                .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error":{
                    "message": format!("The provided key '{}***{}' does not have the required permissions for this endpoint on account 'acct_1Abc'.", &r[..12], &r[r.len()-4..]),
                    "type":"invalid_request_error"}}))),
        );
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/balance"))
                .and(header("authorization", bearer(&expired).as_str()))
                .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error":{
                    "code":"api_key_expired","doc_url":"https://stripe.com/docs/error-codes/api-key-expired",
                    "message": format!("Expired API Key provided: {}", expose(&expired)),
                    "type":"invalid_request_error"}}))),
        );
        let d = expose(&deleted);
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/balance"))
                .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error":{
                    "message": format!("Invalid API Key provided: {}********{}", &d[..8], &d[d.len()-4..]),
                    "type":"invalid_request_error"}}))),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &Stripe, &base, None, &params);

        let v = Stripe.verify(&cx, &live);
        assert_eq!(v.status, Status::Live, "{v:?}");
        assert!(!v.detail.contains("test-mode"), "{v:?}");
        let v = Stripe.verify(&cx, &restricted);
        assert_eq!(v.status, Status::Live, "{v:?}");
        assert!(v.detail.contains("403"), "{v:?}");
        assert_no_key_in(&v, &restricted);
        let v = Stripe.verify(&cx, &test);
        assert_eq!(v.status, Status::Live, "{v:?}");
        assert!(v.detail.contains("test-mode"), "{v:?}");
        let v = Stripe.verify(&cx, &expired);
        assert_eq!(v.status, Status::Dead, "{v:?}");
        assert!(v.detail.contains("api_key_expired"), "{v:?}");
        assert_no_key_in(&v, &expired);
        let v = Stripe.verify(&cx, &deleted);
        assert_eq!(v.status, Status::Dead, "{v:?}");
        assert!(!v.detail.contains("Invalid API Key"), "{v:?}");
        assert_no_key_in(&v, &deleted);
        for k in [&live, &restricted, &test, &expired, &deleted] {
            assert_key_only_in_header(&server, k, "authorization");
        }
    }

    #[test]
    fn verify_inconclusive_cases() {
        assert_inconclusive_cases(&Stripe, &fake_key("rk_live_", 6), "GET", "/v1/balance");
    }

    #[test]
    fn no_api_to_create_or_revoke() {
        let http = http();
        let base = Base::parse("http://127.0.0.1:9").unwrap();
        let params = Params::new();
        let cx = cx(&http, &Stripe, &base, None, &params);
        assert!(matches!(
            Stripe.create(&cx),
            Err(ProviderError::NotSupported { .. })
        ));
        assert!(matches!(
            Stripe.revoke(&cx, &fake_key("sk_live_", 1)),
            Err(ProviderError::NotSupported { .. })
        ));
    }
}
