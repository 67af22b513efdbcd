//! OpenRouter. Facts relied on, from OpenRouter's API reference (openrouter.ai/docs, its OpenAPI
//! excerpts and its SDK docs):
//!
//! - Verify: `GET https://openrouter.ai/api/v1/key` with `Authorization: Bearer` ("get information
//!   on the API key associated with the current authentication session") → 200
//!   `{"data":{label, usage, limit, limit_remaining, is_free_tier, is_management_key, …}}`; 401
//!   "Unauthorized - Authentication required or invalid credentials" → dead. It is a read and
//!   costs nothing. Its `label` is the key's redacted form (`sk-or-v1-au7...890`), not a name,
//!   so the verdict carries no account; the detail says what kind of key it is and its usage.
//! - Management API (a management key, formerly "provisioning key", made at
//!   openrouter.ai/settings/management-keys; it cannot call completions): `POST /api/v1/keys`
//!   `{name, limit?}` → 201 with `key` (the only unredacted copy) and `data.hash`; `GET
//!   /api/v1/keys` lists keys (most recent 100 per page, `offset` to page on, `include_disabled`,
//!   `workspace_id`, default workspace otherwise), each with `hash`, `name`, `label` (the
//!   redacted form) and `disabled`; `DELETE /api/v1/keys/{hash}` → `{"deleted":true}`.
//!   `PATCH /api/v1/keys/{hash}` `{"disabled":true}` would only disable the key, reversibly:
//!   `revoke` deletes instead, which nothing documents as undoable (`permanent: true`).
//! - `GET /api/v1/key` does not return the key's hash, so `revoke` finds the key in the list by
//!   its redacted `label`, or by `hash` equal to the key's SHA-256 in hex (third-party clients
//!   say that is what the hash is; OpenRouter does not document it, so it is only ever a second
//!   way to match, never assumed). The old key itself is never sent.
//! - Pages: the management-keys page is linked from the docs; `/settings/keys` (the catalogue's
//!   dashboard) and `/activity` (where third-party docs send users to see requests) are not
//!   confirmed by an OpenRouter doc page.

use reqwest::Method;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::openai::{expose, redacted_fits, seg};
use super::*;

const API: &str = "https://openrouter.ai";

pub struct OpenRouter;

const ADMIN: AdminSpec = AdminSpec {
    what: "an OpenRouter management key (made at https://openrouter.ai/settings/management-keys)",
    env: "KEYGUARD_OPENROUTER_ADMIN_KEY",
    rules: &["openrouter-api-key"],
};

const NAME: ParamSpec = ParamSpec {
    name: "name",
    help: "the name `create` gives the new key (default keyguard-rotated-DATE)",
};

const LIMIT: ParamSpec = ParamSpec {
    name: "limit",
    help: "optional: the new key's credit limit in USD (e.g. 50)",
};

const WORKSPACE: ParamSpec = ParamSpec {
    name: "workspace",
    help: "optional: the workspace id whose keys `revoke` searches (default: the default workspace)",
};

/// The most keys one list page holds.
const PAGE: usize = 100;

impl Provider for OpenRouter {
    fn id(&self) -> &'static str {
        "openrouter"
    }

    fn name(&self) -> &'static str {
        "OpenRouter"
    }

    fn rules(&self) -> &'static [&'static str] {
        &["openrouter-api-key"]
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            verify: true,
            create: true,
            revoke: true,
        }
    }

    fn manual(&self) -> Manual {
        Manual {
            dashboard: "https://openrouter.ai/settings/keys",
            create: &[
                "Open https://openrouter.ai/settings/keys and click \"Create API Key\".",
                "Name it, set a credit limit, and copy the key: OpenRouter shows it once.",
            ],
            revoke: &[
                "Open https://openrouter.ai/settings/keys and find the old key by its redacted form (sk-or-v1-abc...xyz).",
                "Delete it from its menu (disabling it can be undone; deleting cannot).",
            ],
            usage: "https://openrouter.ai/activity",
        }
    }

    fn admin(&self) -> Option<AdminSpec> {
        Some(ADMIN)
    }

    fn params(&self) -> &'static [ParamSpec] {
        &[NAME, LIMIT, WORKSPACE]
    }

    fn verify(&self, cx: &Cx, key: &Secret) -> Verdict {
        let request = cx
            .http
            .request(Method::GET, &cx.base(API), "/api/v1/key")
            .bearer_auth(expose(key));
        verify_reply(cx, key, request, |reply| {
            if reply.is_success() {
                return Verdict::live(None, describe(&reply.json()));
            }
            classify(reply, &[401], |_| None)
        })
    }

    fn create(&self, cx: &Cx) -> Result<Created, ProviderError> {
        let admin = cx.admin(&ADMIN)?;
        let name = cx.params.get(NAME.name).cloned().unwrap_or_else(|| {
            format!(
                "keyguard-rotated-{}",
                jiff::Zoned::now().strftime("%Y%m%d-%H%M%S")
            )
        });
        let mut body = Map::new();
        body.insert("name".into(), json!(name));
        if let Some(limit) = cx.params.get(LIMIT.name) {
            let usd: f64 = limit
                .trim()
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| {
                    ProviderError::Refused(format!(
                        "--param limit={} is not an amount of USD",
                        crate::sanitize::escape(limit)
                    ))
                })?;
            body.insert("limit".into(), json!(usd));
        }
        let reply = cx.http.send(
            cx.http
                .request(Method::POST, &cx.base(API), "/api/v1/keys")
                .bearer_auth(expose(admin))
                .json(&Value::Object(body)),
        )?;
        if !reply.is_success() {
            return Err(ProviderError::refused(&reply, "creating a key"));
        }
        let body = reply.json();
        let value = body
            .get("key")
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                ProviderError::Refused("OpenRouter created a key but returned no key value".into())
            })?;
        let hash = json_str(&body, "/data/hash");
        Ok(Created {
            key: Secret::new(value.as_bytes()),
            id: hash.clone(),
            name: json_str(&body, "/data/name").or(Some(name)),
            detail: match hash {
                Some(h) => format!("key {}", crate::sanitize::escape(&h)),
                None => "a new key".into(),
            },
        })
    }

    fn revoke(&self, cx: &Cx, key: &Secret) -> Result<Revoked, ProviderError> {
        let admin = cx.admin(&ADMIN)?;
        let found = find_key(cx, admin, key)?;
        let reply = cx.http.send(
            cx.http
                .request(
                    Method::DELETE,
                    &cx.base(API),
                    &format!("/api/v1/keys/{}", seg(&found.hash)),
                )
                .bearer_auth(expose(admin)),
        )?;
        if !reply.is_success() {
            return Err(ProviderError::refused(&reply, "deleting the key"));
        }
        Ok(Revoked {
            detail: scrub(
                &format!(
                    "deleted key {} ({})",
                    crate::sanitize::escape(&found.hash),
                    crate::sanitize::escape(&found.name)
                ),
                key,
            ),
            permanent: true,
        })
    }
}

/// A live key's detail: its kind and what it has spent, which hints at abuse.
fn describe(body: &Value) -> String {
    let data = body.get("data").unwrap_or(&Value::Null);
    let flag = |name: &str| data.get(name).and_then(Value::as_bool) == Some(true);
    let mut detail = "HTTP 200".to_string();
    if flag("is_management_key") || flag("is_provisioning_key") {
        detail.push_str(", a management key");
    }
    if flag("is_free_tier") {
        detail.push_str(", free tier");
    }
    if let Some(usage) = data.get("usage").and_then(Value::as_f64) {
        detail.push_str(&format!(", {usage:.2} USD used"));
    }
    if let Some(left) = data.get("limit_remaining").and_then(Value::as_f64) {
        detail.push_str(&format!(", {left:.2} USD of its limit left"));
    }
    detail
}

struct ListedKey {
    hash: String,
    name: String,
}

/// Pages through the management key's keys for the one that is `key`.
fn find_key(cx: &Cx, admin: &Secret, key: &Secret) -> Result<ListedKey, ProviderError> {
    let digest: String = Sha256::digest(key.expose())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let base = cx.base(API);
    let mut matches: Vec<ListedKey> = Vec::new();
    let mut offset = 0usize;
    for _page in 0..50 {
        let mut path = format!("/api/v1/keys?include_disabled=true&offset={offset}");
        if let Some(w) = cx.params.get(WORKSPACE.name) {
            path.push_str(&format!("&workspace_id={}", seg(w)));
        }
        let reply = cx.http.send(
            cx.http
                .request(Method::GET, &base, &path)
                .bearer_auth(expose(admin)),
        )?;
        if !reply.is_success() {
            return Err(ProviderError::refused(&reply, "listing the keys"));
        }
        let body = reply.json();
        let data = body.get("data").and_then(Value::as_array);
        let page = data.map_or(0, Vec::len);
        for k in data.into_iter().flatten() {
            let Some(hash) = json_str(k, "/hash") else {
                continue;
            };
            let by_hash = hash.eq_ignore_ascii_case(&digest);
            let by_label = k
                .get("label")
                .and_then(Value::as_str)
                .is_some_and(|l| redacted_fits(l, key));
            if (by_hash || by_label) && !matches.iter().any(|m| m.hash == hash) {
                matches.push(ListedKey {
                    name: json_str(k, "/name").unwrap_or_default(),
                    hash,
                });
            }
        }
        if page < PAGE {
            break;
        }
        offset += page;
    }
    match matches.len() {
        1 => Ok(matches.pop().expect("one match")),
        0 => Err(ProviderError::Refused(
            "none of the management key's keys is this key: it may be in another workspace (--param workspace=…) or account, or already deleted".into(),
        )),
        n => Err(ProviderError::Refused(format!(
            "{n} keys share this key's redacted form; delete it by hand"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{body_json, header, method, path, query_param};
    use wiremock::{Mock, ResponseTemplate};

    use super::super::testing::*;
    use super::*;

    /// A format-valid key made at run time: `sk-or-v1-` + 64 hex digits.
    fn fake_key(seed: u32) -> Secret {
        // A seeded linear congruential generator: varied enough to pass the rule's entropy
        // check, and a different key for every seed.
        let mut state = u64::from(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let body: String = (0..64)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                b"0123456789abcdef"[((state >> 33) % 16) as usize] as char
            })
            .collect();
        Secret::new(format!("sk-or-v1-{body}").as_bytes())
    }

    /// OpenRouter's redacted form: the prefix and 3 characters, `...`, the last 3.
    fn label(key: &Secret) -> String {
        let k = expose(key);
        format!("{}...{}", &k[..12], &k[k.len() - 3..])
    }

    fn listed(hash: &str, name: &str, label: &str) -> Value {
        json!({"hash":hash,"name":name,"label":label,"disabled":false,"limit":null,
            "usage":0.0,"created_at":"2026-01-01T00:00:00Z","updated_at":null})
    }

    #[test]
    fn format_is_checked_by_the_catalogue() {
        assert!(OpenRouter.check_format(&fake_key(1)).is_ok());
        assert!(
            OpenRouter
                .check_format(&Secret::new(b"sk-or-v1-abc"))
                .is_err()
        );
    }

    #[test]
    fn verify_live_and_dead() {
        let server = Server::start();
        let (live, dead, management) = (fake_key(1), fake_key(2), fake_key(3));
        let bearer = |k: &Secret| format!("Bearer {}", expose(k));
        server.mount(
            Mock::given(method("GET"))
                .and(path("/api/v1/key"))
                .and(header("authorization", bearer(&live).as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data":{
                    "label": label(&live),"limit":100,"limit_remaining":74.5,"usage":25.5,
                    "is_free_tier":false,"is_management_key":false,"is_provisioning_key":false}}))),
        );
        server.mount(
            Mock::given(method("GET"))
                .and(path("/api/v1/key"))
                .and(header("authorization", bearer(&management).as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data":{
                    "label": label(&management),"limit":null,"usage":0,
                    "is_free_tier":false,"is_management_key":true}}))),
        );
        server.mount(
            Mock::given(method("GET"))
                .and(path("/api/v1/key"))
                .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error":{
                    "message":"No auth credentials found","code":401}}))),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &OpenRouter, &base, None, &params);
        let v = OpenRouter.verify(&cx, &live);
        assert_eq!(v.status, Status::Live, "{v:?}");
        assert!(v.detail.contains("25.50 USD used"), "{v:?}");
        assert_no_key_in(&v, &live);
        let v = OpenRouter.verify(&cx, &management);
        assert_eq!(v.status, Status::Live, "{v:?}");
        assert!(v.detail.contains("management key"), "{v:?}");
        let v = OpenRouter.verify(&cx, &dead);
        assert_eq!(v.status, Status::Dead, "{v:?}");
        for k in [&live, &dead, &management] {
            assert_key_only_in_header(&server, k, "authorization");
        }
    }

    #[test]
    fn verify_inconclusive_cases() {
        assert_inconclusive_cases(&OpenRouter, &fake_key(4), "GET", "/api/v1/key");
    }

    #[test]
    fn create_posts_name_and_limit_and_returns_the_one_copy() {
        let server = Server::start();
        let admin = fake_key(20);
        let new = fake_key(21);
        server.mount(
            Mock::given(method("POST"))
                .and(path("/api/v1/keys"))
                .and(header(
                    "authorization",
                    format!("Bearer {}", expose(&admin)).as_str(),
                ))
                .and(body_json(json!({"name":"app-2026","limit":50.0})))
                .respond_with(ResponseTemplate::new(201).set_body_json(json!({
                    "data": listed("f01d5260", "app-2026", &label(&new)),
                    "key": expose(&new)}))),
        );
        let http = http();
        let base = server.base();
        let mut params = Params::new();
        params.insert("name".into(), "app-2026".into());
        params.insert("limit".into(), "50".into());
        let cx = cx(&http, &OpenRouter, &base, Some(&admin), &params);
        let created = OpenRouter.create(&cx).unwrap();
        assert_eq!(created.key, new);
        assert_eq!(created.id.as_deref(), Some("f01d5260"));
        assert_eq!(created.name.as_deref(), Some("app-2026"));
        assert!(!created.detail.contains(&expose(&new)[..16]));
        assert_key_only_in_header(&server, &admin, "authorization");
    }

    #[test]
    fn create_refuses_a_limit_that_is_not_an_amount() {
        let http = http();
        let base = Base::parse("http://127.0.0.1:9").unwrap();
        let admin = fake_key(20);
        let mut params = Params::new();
        params.insert("limit".into(), "lots".into());
        let cx = cx(&http, &OpenRouter, &base, Some(&admin), &params);
        assert!(matches!(
            OpenRouter.create(&cx),
            Err(ProviderError::Refused(why)) if why.contains("limit=lots")
        ));
    }

    #[test]
    fn revoke_pages_to_the_key_by_its_redacted_label_and_deletes_it() {
        let server = Server::start();
        let admin = fake_key(30);
        let old = fake_key(31);
        let first_page: Vec<Value> = (0..100)
            .map(|i| listed(&format!("h{i:03}"), "other", "sk-or-v1-000...000"))
            .collect();
        server.mount(
            Mock::given(method("GET"))
                .and(path("/api/v1/keys"))
                .and(query_param("offset", "100"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "data":[listed("h100", "production", &label(&old))]}))),
        );
        server.mount(
            Mock::given(method("GET"))
                .and(path("/api/v1/keys"))
                .and(query_param("offset", "0"))
                .and(query_param("include_disabled", "true"))
                .respond_with(
                    ResponseTemplate::new(200).set_body_json(json!({ "data": first_page })),
                ),
        );
        server.mount(
            Mock::given(method("DELETE"))
                .and(path("/api/v1/keys/h100"))
                .and(header(
                    "authorization",
                    format!("Bearer {}", expose(&admin)).as_str(),
                ))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"deleted":true}))),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &OpenRouter, &base, Some(&admin), &params);
        let revoked = OpenRouter.revoke(&cx, &old).unwrap();
        assert!(revoked.permanent);
        assert!(revoked.detail.contains("h100"), "{revoked:?}");
        assert_eq!(server.requests().len(), 3, "two list pages and one delete");
        assert_key_only_in_header(&server, &admin, "authorization");
        let o = expose(&old);
        for r in server.requests() {
            for (_, v) in r.headers.iter() {
                assert!(
                    !v.to_str().unwrap_or("").contains(&o),
                    "the old key was sent"
                );
            }
        }
    }

    #[test]
    fn revoke_matches_a_hash_that_is_the_keys_sha256() {
        let server = Server::start();
        let admin = fake_key(30);
        let old = fake_key(32);
        let digest: String = Sha256::digest(old.expose())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        server.mount(
            Mock::given(method("GET"))
                .and(path("/api/v1/keys"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "data":[listed(&digest, "renamed", "Production API Key")]}))),
        );
        server.mount(
            Mock::given(method("DELETE"))
                .and(path(format!("/api/v1/keys/{digest}").as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"deleted":true}))),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &OpenRouter, &base, Some(&admin), &params);
        assert!(OpenRouter.revoke(&cx, &old).is_ok());
    }

    #[test]
    fn revoke_refusals_name_what_is_missing_or_wrong() {
        let http = http();
        let offline = Base::parse("http://127.0.0.1:9").unwrap();
        let params = Params::new();
        assert!(matches!(
            OpenRouter.revoke(
                &cx(&http, &OpenRouter, &offline, None, &params),
                &fake_key(1)
            ),
            Err(ProviderError::NeedsAdmin {
                env: "KEYGUARD_OPENROUTER_ADMIN_KEY",
                ..
            })
        ));
        assert!(matches!(
            OpenRouter.create(&cx(&http, &OpenRouter, &offline, None, &params)),
            Err(ProviderError::NeedsAdmin { .. })
        ));

        let server = Server::start();
        let admin = fake_key(30);
        server.mount(
            Mock::given(method("GET"))
                .and(path("/api/v1/keys"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "data":[listed("h1", "other", "sk-or-v1-000...000")]}))),
        );
        let base = server.base();
        let cx_admin = cx(&http, &OpenRouter, &base, Some(&admin), &params);
        assert!(matches!(
            OpenRouter.revoke(&cx_admin, &fake_key(33)),
            Err(ProviderError::Refused(why)) if why.contains("none of")
        ));
        assert!(server.requests().iter().all(|r| r.method.as_str() == "GET"));

        server.reset();
        server.mount(
            Mock::given(method("GET"))
                .and(path("/api/v1/keys"))
                .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error":{
                    "message": format!("Only management keys can do this, not {}", expose(&admin)),
                    "code":"forbidden"}}))),
        );
        let err = OpenRouter.revoke(&cx_admin, &fake_key(33)).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("HTTP 403") && text.contains("forbidden"),
            "{text}"
        );
        assert!(!text.contains("management keys can"), "{text}");
    }
}
