//! OpenAI. Verify: `GET /v1/models` with `Authorization: Bearer` (free, read-only); 401 is a dead
//! key. A restricted key without the models scope gets 403 "insufficient permissions … missing
//! scopes": the key authenticated, so it is live.
//!
//! Create and revoke go through the Admin API with an admin key (`sk-admin-…`, made by an
//! organization Owner) and a project id. User keys cannot be created by API ("users need to
//! authorize themselves"), so `create` makes a service account in the project, whose response
//! carries the one unredacted copy of its key. `revoke` finds the key among the project's keys by
//! its redacted value (`sk-abc...xyz`), then deletes it; a service account's key cannot be deleted
//! on its own (HTTP 400), so its service account is deleted instead. Deletes are permanent.

use reqwest::Method;
use serde_json::{Value, json};

use super::*;

const API: &str = "https://api.openai.com";

pub struct OpenAi;

const ADMIN: AdminSpec = AdminSpec {
    what: "an OpenAI admin key (sk-admin-…, made by an organization Owner under Organization settings → Admin keys)",
    env: "KEYGUARD_OPENAI_ADMIN_KEY",
    rules: &["openai-admin-api-key"],
};

const PROJECT: ParamSpec = ParamSpec {
    name: "project",
    help: "the id (proj_…) of the project the key belongs to, from Settings → Project → General",
};

const SERVICE_ACCOUNT: ParamSpec = ParamSpec {
    name: "service-account",
    help: "the name of the service account `create` makes (default keyguard-rotated-DATE)",
};

impl Provider for OpenAi {
    fn id(&self) -> &'static str {
        "openai"
    }

    fn name(&self) -> &'static str {
        "OpenAI"
    }

    fn rules(&self) -> &'static [&'static str] {
        &[
            "openai-project-api-key",
            "openai-service-account-api-key",
            "openai-user-api-key",
            "openai-api-key-unmarked",
            "openai-legacy-api-key",
            "openai-legacy-api-key-unmarked",
        ]
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
            dashboard: "https://platform.openai.com/api-keys",
            create: &[
                "Open https://platform.openai.com/api-keys and pick the project the old key belongs to.",
                "Click \"Create new secret key\", give it a name and the same permissions as the old key.",
                "Copy the key: OpenAI shows it once.",
            ],
            revoke: &[
                "Open https://platform.openai.com/api-keys and find the old key by its redacted form.",
                "Click the trash icon and confirm \"Revoke key\". Revocation is immediate and permanent.",
            ],
            usage: "https://platform.openai.com/usage",
        }
    }

    fn admin(&self) -> Option<AdminSpec> {
        Some(ADMIN)
    }

    fn params(&self) -> &'static [ParamSpec] {
        &[PROJECT, SERVICE_ACCOUNT]
    }

    fn verify(&self, cx: &Cx, key: &Secret) -> Verdict {
        let request = cx
            .http
            .request(Method::GET, &cx.base(API), "/v1/models")
            .bearer_auth(expose(key));
        verify_reply(cx, key, request, |reply| {
            let organization = reply.header("openai-organization");
            if reply.status == 403 && lacks_scope(&reply.json()) {
                return Verdict::live(
                    organization,
                    "HTTP 403: a restricted key without the models scope (it authenticated)",
                );
            }
            classify(reply, &[401], |_| organization.clone())
        })
    }

    fn create(&self, cx: &Cx) -> Result<Created, ProviderError> {
        let admin = cx.admin(&ADMIN)?;
        let project = cx.param(&PROJECT)?;
        let name = cx
            .params
            .get(SERVICE_ACCOUNT.name)
            .cloned()
            .unwrap_or_else(|| {
                format!(
                    "keyguard-rotated-{}",
                    jiff::Zoned::now().strftime("%Y%m%d-%H%M%S")
                )
            });
        let request = cx
            .http
            .request(
                Method::POST,
                &cx.base(API),
                &format!(
                    "/v1/organization/projects/{}/service_accounts",
                    seg(project)
                ),
            )
            .bearer_auth(expose(admin))
            .json(&json!({ "name": name }));
        let reply = cx.http.send(request)?;
        if !reply.is_success() {
            return Err(ProviderError::refused(&reply, "creating a service account"));
        }
        let body = reply.json();
        let value = body
            .pointer("/api_key/value")
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                ProviderError::Refused(
                    "OpenAI created the service account but returned no key value".into(),
                )
            })?;
        Ok(Created {
            key: Secret::new(value.as_bytes()),
            id: json_str(&body, "/api_key/id"),
            name: json_str(&body, "/name").or(Some(name)),
            detail: format!(
                "service account {} in project {}",
                json_str(&body, "/id").unwrap_or_default(),
                crate::sanitize::escape(project)
            ),
        })
    }

    fn revoke(&self, cx: &Cx, key: &Secret) -> Result<Revoked, ProviderError> {
        let admin = cx.admin(&ADMIN)?;
        let project = cx.param(&PROJECT)?;
        let found = find_project_key(cx, admin, project, key)?;
        let base = cx.base(API);
        let (path, what) = match &found.service_account {
            Some(sa) => (
                format!(
                    "/v1/organization/projects/{}/service_accounts/{}",
                    seg(project),
                    seg(sa)
                ),
                format!("deleted service account {sa} (and its key {})", found.id),
            ),
            None => (
                format!(
                    "/v1/organization/projects/{}/api_keys/{}",
                    seg(project),
                    seg(&found.id)
                ),
                format!("deleted key {} from project {project}", found.id),
            ),
        };
        let reply = cx.http.send(
            cx.http
                .request(Method::DELETE, &base, &path)
                .bearer_auth(expose(admin)),
        )?;
        if !reply.is_success() {
            return Err(ProviderError::refused(&reply, "deleting the key"));
        }
        Ok(Revoked {
            detail: crate::sanitize::escape(&what).into_owned(),
            permanent: true,
        })
    }
}

struct ProjectKey {
    id: String,
    service_account: Option<String>,
}

/// Pages through the project's keys for the one whose redacted value fits `key`.
fn find_project_key(
    cx: &Cx,
    admin: &Secret,
    project: &str,
    key: &Secret,
) -> Result<ProjectKey, ProviderError> {
    let base = cx.base(API);
    let mut after: Option<String> = None;
    let mut matches = Vec::new();
    for _page in 0..50 {
        let mut path = format!(
            "/v1/organization/projects/{}/api_keys?limit=100&owner_project_access=any",
            seg(project)
        );
        if let Some(a) = &after {
            path.push_str(&format!("&after={}", seg(a)));
        }
        let reply = cx.http.send(
            cx.http
                .request(Method::GET, &base, &path)
                .bearer_auth(expose(admin)),
        )?;
        if !reply.is_success() {
            return Err(ProviderError::refused(&reply, "listing the project's keys"));
        }
        let body = reply.json();
        let data = body.get("data").and_then(Value::as_array);
        for k in data.into_iter().flatten() {
            let fits = k
                .get("redacted_value")
                .and_then(Value::as_str)
                .is_some_and(|r| redacted_fits(r, key));
            if let (true, Some(id)) = (fits, k.get("id").and_then(Value::as_str)) {
                let sa = (k.pointer("/owner/type").and_then(Value::as_str)
                    == Some("service_account"))
                .then(|| json_str(k, "/owner/service_account/id"))
                .flatten();
                matches.push(ProjectKey {
                    id: id.to_string(),
                    service_account: sa,
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
        0 => Err(ProviderError::Refused(format!(
            "no key of project {} has this key's redacted form: it may be in another project (--param project=…), or already deleted",
            crate::sanitize::escape(project)
        ))),
        n => Err(ProviderError::Refused(format!(
            "{n} keys of the project share this key's redacted form; revoke it by hand"
        ))),
    }
}

/// Whether OpenAI's redacted form (`sk-abc...xyz`, `sk-proj-****xyz`) fits `key`: its head and
/// tail, around the elided middle, must both match.
pub(super) fn redacted_fits(redacted: &str, key: &Secret) -> bool {
    let Ok(k) = std::str::from_utf8(key.expose()) else {
        return false;
    };
    let mut parts = redacted.split(['.', '*', '…']).filter(|p| !p.is_empty());
    let (Some(head), tail) = (parts.next(), parts.next_back()) else {
        return false;
    };
    let Some(tail) = tail else {
        return false;
    };
    head.len() >= 3 && tail.len() >= 3 && k.starts_with(head) && k.ends_with(tail)
}

/// A restricted key reaching an endpoint outside its scopes.
fn lacks_scope(body: &Value) -> bool {
    let message = body
        .pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    message.contains("insufficient permissions") || message.contains("missing scopes")
}

pub(super) fn expose(key: &Secret) -> String {
    String::from_utf8_lossy(key.expose()).into_owned()
}

/// A path segment from a user-given id, percent-encoded so it cannot add path parts.
pub(super) fn seg(s: &str) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, ResponseTemplate};

    use super::super::testing::*;
    use super::*;

    fn fake_key(seed: u8) -> Secret {
        let body: String = (0..156u32)
            .map(|i| {
                b"AbCdEfGhJkMnPqRsTuVwXyZ23456789"[((i * 7 + seed as u32) % 31) as usize] as char
            })
            .collect();
        Secret::new(format!("sk-proj-{body}").as_bytes())
    }

    fn fake_admin() -> Secret {
        let body: String = (0..64u32)
            .map(|i| b"abcdefghijkmnopqrstuvwxyz0123456789"[(i * 11 % 35) as usize] as char)
            .collect();
        Secret::new(format!("sk-admin-{body}").as_bytes())
    }

    #[test]
    fn format_is_checked_by_the_catalogue() {
        assert!(OpenAi.check_format(&fake_key(1)).is_ok());
        assert!(OpenAi.check_format(&Secret::new(b"sk-short")).is_err());
    }

    #[test]
    fn verify_live_dead_and_restricted() {
        let server = Server::start();
        let (live, dead, restricted) = (fake_key(1), fake_key(2), fake_key(3));
        let bearer = |k: &Secret| format!("Bearer {}", expose(k));
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/models"))
                .and(header("authorization", bearer(&live).as_str()))
                .respond_with(
                    ResponseTemplate::new(200)
                        .insert_header("openai-organization", "org-acme")
                        .set_body_json(json!({"object":"list","data":[]})),
                ),
        );
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/models"))
                .and(header("authorization", bearer(&restricted).as_str()))
                .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error":{
                    "message":"You have insufficient permissions for this operation. Missing scopes: api.model.read.",
                    "type":"invalid_request_error","code":null}}))),
        );
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/models"))
                .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error":{
                    "message": format!("Incorrect API key provided: {}***{}. You can find your API key at https://platform.openai.com/account/api-keys.", &expose(&dead)[..12], &expose(&dead)[160..]),
                    "type":"invalid_request_error","code":"invalid_api_key"}}))),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &OpenAi, &base, None, &params);

        let v = OpenAi.verify(&cx, &live);
        assert_eq!(v.status, Status::Live, "{v:?}");
        assert_eq!(v.account.as_deref(), Some("org-acme"));
        let v = OpenAi.verify(&cx, &restricted);
        assert_eq!(v.status, Status::Live, "{v:?}");
        let v = OpenAi.verify(&cx, &dead);
        assert_eq!(v.status, Status::Dead, "{v:?}");
        assert!(v.detail.contains("invalid_api_key"), "{v:?}");
        assert_no_key_in(&v, &dead);
        assert_key_only_in_header(&server, &live, "authorization");
        assert_key_only_in_header(&server, &dead, "authorization");
    }

    #[test]
    fn verify_inconclusive_cases() {
        assert_inconclusive_cases(&OpenAi, &fake_key(4), "GET", "/v1/models");
    }

    #[test]
    fn create_makes_a_service_account_and_revoke_deletes_by_redacted_form() {
        let server = Server::start();
        let admin = fake_admin();
        let old = fake_key(5);
        let new = fake_key(6);
        let admin_bearer = format!("Bearer {}", expose(&admin));
        let o = expose(&old);
        server.mount(
            Mock::given(method("POST"))
                .and(path("/v1/organization/projects/proj_abc/service_accounts"))
                .and(header("authorization", admin_bearer.as_str()))
                .respond_with(
                    ResponseTemplate::new(200).set_body_json(json!({
                    "object":"organization.project.service_account","id":"svc_acct_1",
                    "name":"rotated","role":"member","created_at":1,
                    "api_key":{"object":"organization.project.service_account.api_key",
                        "value": expose(&new),"name":"Secret Key","created_at":1,"id":"key_new"}})),
                ),
        );
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/organization/projects/proj_abc/api_keys"))
                .and(query_param("after", "key_2"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "object":"list","has_more":false,"first_id":"key_old","last_id":"key_old",
                    "data":[{"object":"organization.project.api_key","id":"key_old","name":"app",
                        "redacted_value": format!("{}...{}", &o[..6], &o[o.len()-4..]),
                        "owner":{"type":"user","user":{"id":"user_1"}}}]}))),
        );
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/organization/projects/proj_abc/api_keys"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "object":"list","has_more":true,"first_id":"key_1","last_id":"key_2",
                    "data":[{"object":"organization.project.api_key","id":"key_1",
                        "redacted_value":"sk-pro...zzzz","owner":{"type":"user"}},
                        {"object":"organization.project.api_key","id":"key_2",
                        "redacted_value":"sk-svc...yyyy","owner":{"type":"service_account",
                        "service_account":{"id":"svc_acct_0"}}}]}))),
        );
        server.mount(
            Mock::given(method("DELETE"))
                .and(path("/v1/organization/projects/proj_abc/api_keys/key_old"))
                .and(header("authorization", admin_bearer.as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "object":"organization.project.api_key.deleted","id":"key_old","deleted":true}))),
        );
        let http = http();
        let base = server.base();
        let mut params = Params::new();
        params.insert("project".into(), "proj_abc".into());
        let cx = cx(&http, &OpenAi, &base, Some(&admin), &params);
        let created = OpenAi.create(&cx).unwrap();
        assert_eq!(created.key, new);
        assert_eq!(created.id.as_deref(), Some("key_new"));
        let revoked = OpenAi.revoke(&cx, &old).unwrap();
        assert!(revoked.detail.contains("key_old"), "{revoked:?}");
        assert!(revoked.permanent);
        assert_key_only_in_header(&server, &admin, "authorization");
        // The old key itself never went to the server: revocation used the admin key only.
        let o = expose(&old);
        for r in server.requests() {
            for (_, v) in r.headers.iter() {
                assert!(!v.to_str().unwrap_or("").contains(&o));
            }
        }
    }

    #[test]
    fn create_and_revoke_name_what_is_missing() {
        let http = http();
        let base = Base::parse("http://127.0.0.1:9").unwrap();
        let params = Params::new();
        let cx_no_admin = cx(&http, &OpenAi, &base, None, &params);
        assert!(matches!(
            OpenAi.create(&cx_no_admin),
            Err(ProviderError::NeedsAdmin {
                env: "KEYGUARD_OPENAI_ADMIN_KEY",
                ..
            })
        ));
        let admin = fake_admin();
        let cx_no_project = cx(&http, &OpenAi, &base, Some(&admin), &params);
        assert!(matches!(
            OpenAi.revoke(&cx_no_project, &fake_key(1)),
            Err(ProviderError::NeedsParam {
                name: "project",
                ..
            })
        ));
    }

    #[test]
    fn redacted_forms_fit_only_their_key() {
        let k = Secret::new(b"sk-proj-abcdefghijklmnopWXYZ");
        assert!(redacted_fits("sk-pro...WXYZ", &k));
        assert!(redacted_fits("sk-proj-****WXYZ", &k));
        assert!(!redacted_fits("sk-pro...WXYA", &k));
        assert!(!redacted_fits("sk-proj", &k));
    }

    #[test]
    fn ids_cannot_add_path_segments() {
        assert_eq!(seg("proj_abc"), "proj_abc");
        assert_eq!(seg("../admin"), "%2E%2E%2Fadmin");
    }
}
