//! Replicate. Verify: `GET https://api.replicate.com/v1/account` with `Authorization: Bearer`
//! (replicate.com HTTP reference "account.get"; the official Python client's `Account` has
//! `type` user|organization, `username`, `name`, `github_url`). It reads the token's own account,
//! so it is free and changes nothing. 401 is a dead token (status from third parties and
//! clients; the body is not relied on).
//!
//! Tokens are `r8_` and 37 more characters, 40 in all (replicate.com/docs/topics/security/api-tokens).
//! Replicate documents no API to create or disable tokens: "you can disable it from the web
//! interface" at replicate.com/account/api-tokens (same page), after which "any applications
//! using that token can no longer make API requests".

use reqwest::Method;

use super::openai::expose;
use super::*;

const API: &str = "https://api.replicate.com";

pub struct Replicate;

impl Provider for Replicate {
    fn id(&self) -> &'static str {
        "replicate"
    }

    fn name(&self) -> &'static str {
        "Replicate"
    }

    fn rules(&self) -> &'static [&'static str] {
        &["replicate-api-token"]
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
            dashboard: "https://replicate.com/account/api-tokens",
            create: &[
                "Open https://replicate.com/account/api-tokens (switch to the organization that owns the old token, if it is not yours) and create a token.",
                "Give it a name that says where it is used and copy the token (r8_…).",
            ],
            revoke: &[
                "Open https://replicate.com/account/api-tokens and find the old token by its name.",
                "Click \"Disable\" next to it. Applications using it can no longer make API requests.",
            ],
            usage: "https://replicate.com/account/billing",
        }
    }

    fn verify(&self, cx: &Cx, key: &Secret) -> Verdict {
        let request = cx
            .http
            .request(Method::GET, &cx.base(API), "/v1/account")
            .bearer_auth(expose(key));
        verify_by_status(cx, key, request, &[401], |b| {
            let username = json_str(b, "/username")?;
            Some(match json_str(b, "/type") {
                Some(t) if t == "organization" => format!("{username} (organization)"),
                _ => username,
            })
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

    fn fake_token(seed: u32) -> Secret {
        let body: String = (0..37u32)
            .map(|i| {
                b"abcdefghijkmnopqrstuvwxyzABCDEFGH0123456789"[((i * 5 + seed * 7) % 43) as usize]
                    as char
            })
            .collect();
        Secret::new(format!("r8_{body}").as_bytes())
    }

    #[test]
    fn verify_live_names_the_account_and_401_is_dead() {
        let server = Server::start();
        let (live, org, dead) = (fake_token(1), fake_token(2), fake_token(3));
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/account"))
                .and(header(
                    "authorization",
                    format!("Bearer {}", expose(&live)).as_str(),
                ))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "type":"user","username":"octo","name":"Octo Cat","github_url":null}))),
        );
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/account"))
                .and(header(
                    "authorization",
                    format!("Bearer {}", expose(&org)).as_str(),
                ))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "type":"organization","username":"acme","name":"Acme"}))),
        );
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/account"))
                .respond_with(ResponseTemplate::new(401).set_body_json(json!({
                    "title":"Unauthenticated","detail":"You did not pass a valid authentication token","status":401}))),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &Replicate, &base, None, &params);
        assert!(Replicate.check_format(&live).is_ok());
        let v = Replicate.verify(&cx, &live);
        assert_eq!(
            (v.status, v.account.as_deref()),
            (Status::Live, Some("octo"))
        );
        let v = Replicate.verify(&cx, &org);
        assert_eq!(v.account.as_deref(), Some("acme (organization)"));
        let v = Replicate.verify(&cx, &dead);
        assert_eq!(v.status, Status::Dead, "{v:?}");
        assert_no_key_in(&v, &dead);
        for k in [&live, &org, &dead] {
            assert_key_only_in_header(&server, k, "authorization");
        }
    }

    #[test]
    fn verify_inconclusive_cases() {
        assert_inconclusive_cases(&Replicate, &fake_token(4), "GET", "/v1/account");
    }
}
