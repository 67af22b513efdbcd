//! Hugging Face user access tokens (`hf_…`). Verify: `GET https://huggingface.co/api/whoami-v2`
//! with `Authorization: Bearer` — the call `huggingface_hub`'s `whoami()` makes (read in its
//! source and in huggingface.js, whose `AuthInfo` gives `auth.accessToken.{displayName, role}`).
//! It is read-only and free. 200 names the account (`name`) and the token (its display name and
//! role: fine-grained, read or write); 401 is a dead token (the JSON error body's text is not
//! documented, so only the status decides).
//!
//! Legacy organization tokens (`api_org_…`, rule `huggingface-organization-token`) are left out:
//! Hugging Face staff say they still authenticate (huggingface/transformers#15693) but no source
//! found says how `whoami-v2` answers for one, and a wrong "dead" would tell a user a leaked live
//! token is harmless.
//!
//! Hugging Face has no public API to create or revoke tokens (hub docs "User access tokens"; staff
//! point to the settings page): at https://huggingface.co/settings/tokens a token is revoked with
//! Manage → "Invalidate and refresh" (same name and permissions, new value) or deleted.

use reqwest::Method;

use super::openai::expose;
use super::*;

const API: &str = "https://huggingface.co";

pub struct HuggingFace;

impl Provider for HuggingFace {
    fn id(&self) -> &'static str {
        "huggingface"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["hf", "hugging-face"]
    }

    fn name(&self) -> &'static str {
        "Hugging Face"
    }

    fn rules(&self) -> &'static [&'static str] {
        &["huggingface-access-token"]
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
            dashboard: "https://huggingface.co/settings/tokens",
            create: &[
                "Open https://huggingface.co/settings/tokens and click \"Create new token\".",
                "Prefer a fine-grained token limited to the repositories and organizations the app needs; otherwise give it the old token's role (read or write).",
                "Copy the token: Hugging Face shows it once.",
            ],
            revoke: &[
                "Open https://huggingface.co/settings/tokens and find the old token by its name.",
                "Open its menu (Manage) and choose \"Invalidate and refresh\" (the old value stops working; the token keeps its name and permissions with a new value), or delete it.",
            ],
            usage: "https://huggingface.co/settings/billing",
        }
    }

    fn verify(&self, cx: &Cx, key: &Secret) -> Verdict {
        let request = cx
            .http
            .request(Method::GET, &cx.base(API), "/api/whoami-v2")
            .bearer_auth(expose(key));
        verify_by_status(cx, key, request, &[401], account)
    }
}

/// "user (token NAME, role ROLE)" from a whoami-v2 answer.
fn account(body: &serde_json::Value) -> Option<String> {
    let user = json_str(body, "/name")?;
    let token = json_str(body, "/auth/accessToken/displayName");
    let role = json_str(body, "/auth/accessToken/role");
    Some(match (token, role) {
        (Some(t), Some(r)) => format!("{user} (token {t}, role {r})"),
        (Some(t), None) => format!("{user} (token {t})"),
        (None, Some(r)) => format!("{user} (role {r})"),
        (None, None) => user,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, ResponseTemplate};

    use super::super::testing::*;
    use super::*;

    fn fake_token(seed: u32) -> Secret {
        let body: String = (0..34u32)
            .map(|i| {
                b"abcdefghijkmnopqrstuvwxyzABCDEFGH0123456789"[((i * 5 + seed * 3) % 43) as usize]
                    as char
            })
            .collect();
        Secret::new(format!("hf_{body}").as_bytes())
    }

    #[test]
    fn verify_live_names_user_and_token_and_401_is_dead() {
        let server = Server::start();
        let (live, dead) = (fake_token(1), fake_token(2));
        server.mount(
            Mock::given(method("GET"))
                .and(path("/api/whoami-v2"))
                .and(header(
                    "authorization",
                    format!("Bearer {}", expose(&live)).as_str(),
                ))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "type":"user","id":"6123","name":"octo","fullname":"Octo Cat",
                    "orgs":[],"auth":{"type":"access_token",
                        "accessToken":{"displayName":"ci-deploy","role":"fineGrained"}}}))),
        );
        server.mount(
            Mock::given(method("GET"))
                .and(path("/api/whoami-v2"))
                .respond_with(
                    ResponseTemplate::new(401).set_body_json(
                        json!({"error":"Invalid credentials in Authorization header"}),
                    ),
                ),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &HuggingFace, &base, None, &params);
        assert!(HuggingFace.check_format(&live).is_ok());
        let v = HuggingFace.verify(&cx, &live);
        assert_eq!(v.status, Status::Live, "{v:?}");
        assert_eq!(
            v.account.as_deref(),
            Some("octo (token ci-deploy, role fineGrained)")
        );
        let v = HuggingFace.verify(&cx, &dead);
        assert_eq!(v.status, Status::Dead, "{v:?}");
        assert!(!v.detail.contains("Invalid credentials"), "{v:?}");
        assert_no_key_in(&v, &dead);
        assert_key_only_in_header(&server, &live, "authorization");
        assert_key_only_in_header(&server, &dead, "authorization");
    }

    #[test]
    fn verify_inconclusive_cases() {
        assert_inconclusive_cases(&HuggingFace, &fake_token(3), "GET", "/api/whoami-v2");
    }
}
