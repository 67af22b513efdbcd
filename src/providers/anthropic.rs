//! Anthropic (Claude API). Facts relied on, checked against Anthropic's API reference
//! (platform.claude.com/docs, docs.anthropic.com) unless marked otherwise:
//!
//! - Verify an API key (`sk-ant-api03-…`): `GET /v1/models` with `x-api-key` and
//!   `anthropic-version: 2023-06-01`. Listing models is a read; billing is per token of messages,
//!   so it costs nothing (that it is free is inferred from the pricing model, not stated).
//! - Errors are `{"type":"error","error":{"type":…,"message":…}}`; the errors page maps
//!   401 `authentication_error` ("there's an issue with your API key": malformed, revoked,
//!   expired) → dead; 403 `permission_error` ("your API key does not have permission to use the
//!   specified resource") → the key authenticated, so live; 402 `billing_error` likewise (the key
//!   is known, the organization's billing is not in order) → live; 429 `rate_limit_error`, 500
//!   `api_error`, 529 `overloaded_error` → unknown.
//! - Verify an Admin API key (`sk-ant-admin01-…`): `GET /v1/organizations/me`, documented as
//!   returning the organization the key belongs to (`{id, name, type}`); that name becomes the
//!   verdict's account. Claude Code OAuth tokens (`sk-ant-oat01-`, `sk-ant-ort01-`) are not API
//!   keys and no documented endpoint checks them: they are left out of `rules()`.
//! - Revoke: the Admin API (admin key, made in the Console by an org member with the admin role)
//!   lists keys with `GET /v1/organizations/api_keys` (`limit` 1–1000, cursor `after_id`,
//!   `has_more`/`last_id`; optional `workspace_id` filter) and each key carries a
//!   `partial_key_hint` (`sk-ant-api03-R2D...igAA`) but never its value; `POST
//!   /v1/organizations/api_keys/{id}` with `{"status":"inactive"}` deactivates it. Statuses are
//!   `active | inactive | archived`. The Console calls inactive "Disable API key", and a disabled
//!   key can be enabled again, so `Revoked.permanent` is false. Whether `archived` can be undone
//!   is not documented, so keyguard does not pretend it is the stronger option: the manual steps
//!   say to delete the key in the Console, which the Console help says is permanent.
//! - Create: the Admin API has no create (or delete) for API keys: both are done in the Console
//!   (stated by third-party SDK docs; the Admin API reference lists only get, list and update).
//! - The Console lives at platform.claude.com ("go to platform.claude.com … Settings → API
//!   keys", says the get-an-API-key page); the exact `/settings/keys` and `/usage` paths used in
//!   `manual()` are not confirmed by a doc page.

use reqwest::Method;
use serde_json::{Value, json};

use super::openai::{expose, redacted_fits, seg};
use super::*;

const API: &str = "https://api.anthropic.com";
const VERSION: &str = "2023-06-01";

pub struct Anthropic;

const ADMIN: AdminSpec = AdminSpec {
    what: "an Anthropic Admin API key (sk-ant-admin01-…, made in the Console under Settings → Admin keys by an organization admin)",
    env: "KEYGUARD_ANTHROPIC_ADMIN_KEY",
    rules: &["anthropic-admin-api-key"],
};

const WORKSPACE: ParamSpec = ParamSpec {
    name: "workspace",
    help: "optional: the id (wrkspc_…) of the workspace the key belongs to, to search only there",
};

/// Every Anthropic request carries the key in `x-api-key` and the API version.
fn anthropic(
    request: reqwest::blocking::RequestBuilder,
    key: &Secret,
) -> reqwest::blocking::RequestBuilder {
    request
        .header("x-api-key", expose(key))
        .header("anthropic-version", VERSION)
}

fn is_admin_key(key: &Secret) -> bool {
    key.expose().starts_with(b"sk-ant-admin")
}

impl Provider for Anthropic {
    fn id(&self) -> &'static str {
        "anthropic"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["claude"]
    }

    fn name(&self) -> &'static str {
        "Anthropic"
    }

    fn rules(&self) -> &'static [&'static str] {
        &["anthropic-api-key", "anthropic-admin-api-key"]
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            verify: true,
            create: false,
            revoke: true,
        }
    }

    fn manual(&self) -> Manual {
        Manual {
            dashboard: "https://platform.claude.com/settings/keys",
            create: &[
                "Open https://platform.claude.com/settings/keys (Claude Console → Settings → API keys).",
                "Click \"Create key\", name it, and pick the same workspace as the old key.",
                "Copy the key: the Console shows it once.",
            ],
            revoke: &[
                "Open https://platform.claude.com/settings/keys and find the old key by its hint (sk-ant-api03-abc...wxAA).",
                "Click its \"⋯\" menu and choose \"Delete API key\" (permanent) rather than \"Disable API key\" (reversible).",
            ],
            usage: "https://platform.claude.com/usage",
        }
    }

    fn admin(&self) -> Option<AdminSpec> {
        Some(ADMIN)
    }

    fn params(&self) -> &'static [ParamSpec] {
        &[WORKSPACE]
    }

    fn verify(&self, cx: &Cx, key: &Secret) -> Verdict {
        let base = cx.base(API);
        if is_admin_key(key) {
            let request = anthropic(
                cx.http.request(Method::GET, &base, "/v1/organizations/me"),
                key,
            );
            return verify_by_status(cx, key, request, &[401], |b| json_str(b, "/name"));
        }
        let request = anthropic(
            cx.http.request(Method::GET, &base, "/v1/models?limit=1"),
            key,
        );
        verify_reply(cx, key, request, |reply| {
            let kind = error_code(&reply.json());
            match (reply.status, kind.as_deref()) {
                (403, Some("permission_error")) => Verdict::live(
                    None,
                    "HTTP 403 permission_error: the key authenticated but may not list models",
                ),
                (402, Some("billing_error")) => Verdict::live(
                    None,
                    "HTTP 402 billing_error: the key authenticated; the organization's billing needs attention",
                ),
                _ => classify(reply, &[401], |_| None),
            }
        })
    }

    fn revoke(&self, cx: &Cx, key: &Secret) -> Result<Revoked, ProviderError> {
        let admin = cx.admin(&ADMIN)?;
        let found = find_key(cx, admin, key)?;
        if found.status != "active" {
            return Ok(Revoked {
                detail: scrub(
                    &format!(
                        "key {} ({}) was already {}; delete it in the Console to remove it for good",
                        found.id, found.name, found.status
                    ),
                    key,
                ),
                permanent: false,
            });
        }
        let reply = cx.http.send(
            anthropic(
                cx.http.request(
                    Method::POST,
                    &cx.base(API),
                    &format!("/v1/organizations/api_keys/{}", seg(&found.id)),
                ),
                admin,
            )
            .json(&json!({ "status": "inactive" })),
        )?;
        if !reply.is_success() {
            return Err(ProviderError::refused(&reply, "deactivating the key"));
        }
        let status = json_str(&reply.json(), "/status");
        if status.as_deref() != Some("inactive") {
            return Err(ProviderError::Refused(format!(
                "Anthropic answered the deactivation of key {} with status `{}`, not `inactive`; check it in the Console",
                found.id,
                crate::sanitize::escape(status.as_deref().unwrap_or("none"))
            )));
        }
        Ok(Revoked {
            detail: scrub(
                &format!(
                    "deactivated key {} ({}); an admin can enable it again, so delete it in the Console to make it permanent",
                    found.id, found.name
                ),
                key,
            ),
            permanent: false,
        })
    }
}

struct ApiKey {
    id: String,
    name: String,
    status: String,
}

/// Pages through the organization's keys for the one whose `partial_key_hint` fits `key`.
fn find_key(cx: &Cx, admin: &Secret, key: &Secret) -> Result<ApiKey, ProviderError> {
    let base = cx.base(API);
    let workspace = cx.params.get(WORKSPACE.name);
    let mut after: Option<String> = None;
    let mut matches = Vec::new();
    for _page in 0..50 {
        let mut path = "/v1/organizations/api_keys?limit=1000".to_string();
        if let Some(w) = workspace {
            path.push_str(&format!("&workspace_id={}", seg(w)));
        }
        if let Some(a) = &after {
            path.push_str(&format!("&after_id={}", seg(a)));
        }
        let reply = cx
            .http
            .send(anthropic(cx.http.request(Method::GET, &base, &path), admin))?;
        if !reply.is_success() {
            return Err(ProviderError::refused(
                &reply,
                "listing the organization's API keys",
            ));
        }
        let body = reply.json();
        for k in body
            .get("data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let fits = k
                .get("partial_key_hint")
                .and_then(Value::as_str)
                .is_some_and(|hint| redacted_fits(hint, key));
            if let (true, Some(id)) = (fits, json_str(k, "/id")) {
                matches.push(ApiKey {
                    id: crate::sanitize::escape(&id).into_owned(),
                    name: crate::sanitize::escape(&json_str(k, "/name").unwrap_or_default())
                        .into_owned(),
                    status: crate::sanitize::escape(
                        &json_str(k, "/status").unwrap_or_else(|| "active".into()),
                    )
                    .into_owned(),
                });
            }
        }
        let more = body.get("has_more").and_then(Value::as_bool) == Some(true);
        after = json_str(&body, "/last_id");
        if !more || after.is_none() {
            break;
        }
    }
    match matches.len() {
        1 => Ok(matches.pop().expect("one match")),
        0 => Err(ProviderError::Refused(
            "no API key of the organization has this key's hint: it may belong to another organization, or already be deleted".into(),
        )),
        n => Err(ProviderError::Refused(format!(
            "{n} API keys of the organization share this key's hint; revoke it by hand in the Console"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{body_json, header, method, path, query_param};
    use wiremock::{Mock, ResponseTemplate};

    use super::super::testing::*;
    use super::*;

    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

    /// A format-valid key made at run time: `sk-ant-<kind>-` + 93 characters + `AA`.
    fn fake(kind: &str, seed: u32) -> Secret {
        let body: String = (0..93u32)
            .map(|i| ALPHABET[((i * 29 + seed * 7 + i * i) % 64) as usize] as char)
            .collect();
        Secret::new(format!("sk-ant-{kind}-{body}AA").as_bytes())
    }

    fn fake_key(seed: u32) -> Secret {
        fake("api03", seed)
    }

    fn fake_admin(seed: u32) -> Secret {
        fake("admin01", seed)
    }

    /// Anthropic's hint: the key's first 16 characters, `...`, its last 4.
    fn hint(key: &Secret) -> String {
        let k = expose(key);
        format!("{}...{}", &k[..16], &k[k.len() - 4..])
    }

    fn error(kind: &str, message: &str) -> Value {
        json!({"type":"error","error":{"type":kind,"message":message}})
    }

    #[test]
    fn formats_are_checked_by_the_catalogue() {
        assert!(Anthropic.check_format(&fake_key(1)).is_ok());
        assert!(Anthropic.check_format(&fake_admin(1)).is_ok());
        assert!(
            Anthropic
                .check_format(&Secret::new(b"sk-ant-api03-short"))
                .is_err()
        );
    }

    #[test]
    fn verify_live_dead_and_lacking_permission() {
        let server = Server::start();
        let (live, dead, limited) = (fake_key(1), fake_key(2), fake_key(3));
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/models"))
                .and(header("x-api-key", expose(&live).as_str()))
                .and(header("anthropic-version", "2023-06-01"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "data":[{"id":"claude-x","type":"model","display_name":"Claude X","created_at":"2026-01-01T00:00:00Z"}],
                    "first_id":"claude-x","last_id":"claude-x","has_more":true}))),
        );
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/models"))
                .and(header("x-api-key", expose(&limited).as_str()))
                .respond_with(ResponseTemplate::new(403).set_body_json(error(
                    "permission_error",
                    "Your API key does not have permission to use the specified resource.",
                ))),
        );
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/models"))
                .respond_with(ResponseTemplate::new(401).set_body_json(error(
                    "authentication_error",
                    &format!("invalid x-api-key {}", &expose(&dead)[..20]),
                ))),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &Anthropic, &base, None, &params);

        let v = Anthropic.verify(&cx, &live);
        assert_eq!(v.status, Status::Live, "{v:?}");
        let v = Anthropic.verify(&cx, &limited);
        assert_eq!(v.status, Status::Live, "{v:?}");
        assert!(v.detail.contains("permission_error"), "{v:?}");
        let v = Anthropic.verify(&cx, &dead);
        assert_eq!(v.status, Status::Dead, "{v:?}");
        assert!(v.detail.contains("authentication_error"), "{v:?}");
        assert_no_key_in(&v, &dead);
        for k in [&live, &dead, &limited] {
            assert_key_only_in_header(&server, k, "x-api-key");
        }
    }

    #[test]
    fn a_403_without_permission_error_says_nothing() {
        let server = Server::start();
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/models"))
                .respond_with(ResponseTemplate::new(403).set_body_json(
                    json!({"error":{"type":"forbidden","message":"Request not allowed"}}),
                )),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let v = Anthropic.verify(&cx(&http, &Anthropic, &base, None, &params), &fake_key(4));
        assert_eq!(v.status, Status::Unknown, "{v:?}");
    }

    #[test]
    fn admin_keys_are_verified_with_organizations_me() {
        let server = Server::start();
        let (live, dead) = (fake_admin(1), fake_admin(2));
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/organizations/me"))
                .and(header("x-api-key", expose(&live).as_str()))
                .and(header("anthropic-version", "2023-06-01"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "id":"12345678-1234-5678-1234-567812345678","name":"Acme Research","type":"organization"}))),
        );
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/organizations/me"))
                .respond_with(
                    ResponseTemplate::new(401)
                        .set_body_json(error("authentication_error", "invalid x-api-key")),
                ),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &Anthropic, &base, None, &params);
        let v = Anthropic.verify(&cx, &live);
        assert_eq!(
            (v.status, v.account.as_deref()),
            (Status::Live, Some("Acme Research"))
        );
        assert_eq!(Anthropic.verify(&cx, &dead).status, Status::Dead);
        // Admin keys never reach the models endpoint.
        assert!(
            server
                .requests()
                .iter()
                .all(|r| r.url.path() == "/v1/organizations/me")
        );
        assert_key_only_in_header(&server, &live, "x-api-key");
    }

    #[test]
    fn verify_inconclusive_cases() {
        assert_inconclusive_cases(&Anthropic, &fake_key(5), "GET", "/v1/models");
        assert_inconclusive_cases(&Anthropic, &fake_admin(5), "GET", "/v1/organizations/me");
    }

    #[test]
    fn revoke_pages_to_the_key_by_hint_and_deactivates_it() {
        let server = Server::start();
        let admin = fake_admin(9);
        let old = fake_key(6);
        let (other1, other2) = (fake_key(7), fake_key(8));
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/organizations/api_keys"))
                .and(query_param("after_id", "apikey_02"))
                .and(header("x-api-key", expose(&admin).as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "data":[{"id":"apikey_03","type":"api_key","name":"ci","status":"active",
                        "partial_key_hint": hint(&old),"workspace_id":null,
                        "created_at":"2026-01-01T00:00:00Z","created_by":{"id":"user_1","type":"user"}}],
                    "has_more":false,"first_id":"apikey_03","last_id":"apikey_03"}))),
        );
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/organizations/api_keys"))
                .and(query_param("limit", "1000"))
                .and(header("x-api-key", expose(&admin).as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "data":[
                        {"id":"apikey_01","type":"api_key","name":"a","status":"active","partial_key_hint": hint(&other1)},
                        {"id":"apikey_02","type":"api_key","name":"b","status":"inactive","partial_key_hint": hint(&other2)}],
                    "has_more":true,"first_id":"apikey_01","last_id":"apikey_02"}))),
        );
        server.mount(
            Mock::given(method("POST"))
                .and(path("/v1/organizations/api_keys/apikey_03"))
                .and(header("x-api-key", expose(&admin).as_str()))
                .and(header("anthropic-version", "2023-06-01"))
                .and(body_json(json!({"status":"inactive"})))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "id":"apikey_03","type":"api_key","name":"ci","status":"inactive",
                    "partial_key_hint": hint(&old)}))),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &Anthropic, &base, Some(&admin), &params);
        let revoked = Anthropic.revoke(&cx, &old).unwrap();
        assert!(revoked.detail.contains("apikey_03"), "{revoked:?}");
        assert!(!revoked.permanent, "inactive keys can be enabled again");
        let requests = server.requests();
        assert_eq!(requests.len(), 3, "two list pages and one update");
        assert_key_only_in_header(&server, &admin, "x-api-key");
        // The old key itself never went to the server: only the admin key did.
        let o = expose(&old);
        for r in &requests {
            assert!(!r.url.as_str().contains(&o));
            assert!(!String::from_utf8_lossy(&r.body).contains(&o));
            for (_, v) in r.headers.iter() {
                assert!(!v.to_str().unwrap_or("").contains(&o));
            }
        }
    }

    #[test]
    fn revoke_refuses_what_it_cannot_pin_down() {
        let server = Server::start();
        let admin = fake_admin(9);
        let (old, twin) = (fake_key(10), fake_key(11));
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/organizations/api_keys"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "data":[{"id":"apikey_x","name":"x","status":"active","partial_key_hint": hint(&twin)}],
                    "has_more":false,"first_id":"apikey_x","last_id":"apikey_x"}))),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &Anthropic, &base, Some(&admin), &params);
        match Anthropic.revoke(&cx, &old) {
            Err(ProviderError::Refused(why)) => assert!(why.contains("no API key"), "{why}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(
            server.requests().iter().all(|r| r.method.as_str() == "GET"),
            "nothing may be changed when no key matched"
        );
    }

    #[test]
    fn revoke_reports_the_providers_code_never_its_message() {
        let server = Server::start();
        let admin = fake_admin(9);
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/organizations/api_keys"))
                .respond_with(ResponseTemplate::new(401).set_body_json(error(
                    "authentication_error",
                    &format!("invalid x-api-key {}", expose(&admin)),
                ))),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &Anthropic, &base, Some(&admin), &params);
        let err = Anthropic.revoke(&cx, &fake_key(12)).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ProviderError::Refused(_)), "{err:?}");
        assert!(
            text.contains("HTTP 401") && text.contains("authentication_error"),
            "{text}"
        );
        assert!(!text.contains("invalid x-api-key"), "{text}");
        assert!(!text.contains(&expose(&admin)[..16]), "{text}");
    }

    #[test]
    fn revoke_needs_the_admin_key_and_create_is_by_hand() {
        let http = http();
        let base = Base::parse("http://127.0.0.1:9").unwrap();
        let params = Params::new();
        let cx = cx(&http, &Anthropic, &base, None, &params);
        assert!(matches!(
            Anthropic.revoke(&cx, &fake_key(1)),
            Err(ProviderError::NeedsAdmin {
                env: "KEYGUARD_ANTHROPIC_ADMIN_KEY",
                ..
            })
        ));
        assert!(matches!(
            Anthropic.create(&cx),
            Err(ProviderError::NotSupported { .. })
        ));
    }
}
