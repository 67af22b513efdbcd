//! xAI (Grok). Facts relied on, from docs.x.ai (its REST API reference and OpenAPI spec, and the
//! Management API reference):
//!
//! - Verify: `GET https://api.x.ai/v1/api-key` with `Authorization: Bearer` ("get information
//!   about an API key") → 200 `{redacted_api_key, user_id, name, team_id, acls, api_key_id,
//!   api_key_blocked, api_key_disabled, team_blocked, …}`; 400 "the request is invalid or an
//!   invalid API key is provided" (the OpenAPI spec's only error) and 401 → dead. It is a read
//!   and costs nothing. xAI's error bodies quote the head of the key, so only codes are kept.
//! - A 200 is live only when the flags allow use: a disabled key (the Management API describes
//!   `disabled` as "users can disable API keys to prevent them from making API calls") or a
//!   blocked one cannot be used → dead, with the reason (a disabled key can be enabled again, so
//!   the detail says to delete it). A blocked *team* leaves the key itself intact: it works again
//!   once the team is unblocked → unknown.
//! - Management API on its own host, `https://management-api.x.ai`, with a management key (xAI
//!   Console → Settings → Management Keys; the account needs "Management Keys Read + Write"):
//!   `POST /auth/teams/{teamId}/api-keys` `{name, acls}` → the key in `apiKey` (its only
//!   unredacted copy) and its id in `apiKeyId`; a key has no permissions until ACLs grant them
//!   (`api-key:model:*`, `api-key:endpoint:*` grant all). `DELETE /auth/api-keys/{apiKeyId}`
//!   deletes a key; nothing documents an undo. The key's id and team come from the verify call
//!   made with the old key itself, so `revoke` needs no list. `PUT /auth/api-keys/{id}` could
//!   only disable it (reversible); `revoke` deletes.
//! - Both hosts go through `cx.base(...)`: `KEYGUARD_XAI_API_BASE` replaces both.
//! - Paths of the management endpoints come from the Management API reference's endpoint list
//!   (create, list, update, delete, propagation); the delete's response body is not documented,
//!   so any 2xx is success. The console pages below `https://console.x.ai` are not confirmed.

use reqwest::Method;
use serde_json::{Value, json};

use super::openai::{expose, seg};
use super::*;

const API: &str = "https://api.x.ai";
const MANAGEMENT: &str = "https://management-api.x.ai";

pub struct Xai;

const ADMIN: AdminSpec = AdminSpec {
    what: "an xAI management key (xAI Console → Settings → Management Keys; your account needs the \"Management Keys Read + Write\" permission)",
    env: "KEYGUARD_XAI_ADMIN_KEY",
    rules: &[],
};

const TEAM: ParamSpec = ParamSpec {
    name: "team",
    help: "the id of the team the new key belongs to: `keyguard verify` shows the old key's team, or see https://console.x.ai/team/default/settings/team",
};

const NAME: ParamSpec = ParamSpec {
    name: "name",
    help: "the name `create` gives the new key (default keyguard-rotated-DATE)",
};

const ACLS: ParamSpec = ParamSpec {
    name: "acls",
    help: "comma-separated permissions of the new key (default api-key:model:*,api-key:endpoint:* = all models and endpoints)",
};

const ALL_ACLS: &[&str] = &["api-key:model:*", "api-key:endpoint:*"];

impl Provider for Xai {
    fn id(&self) -> &'static str {
        "xai"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["grok"]
    }

    fn name(&self) -> &'static str {
        "xAI"
    }

    fn rules(&self) -> &'static [&'static str] {
        &["xai-api-key"]
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
            dashboard: "https://console.x.ai",
            create: &[
                "Open https://console.x.ai, pick the team, and go to API Keys.",
                "Click \"Create API Key\", give it the same models and endpoints as the old key, and copy it: it is shown once.",
            ],
            revoke: &[
                "Open https://console.x.ai → API Keys and find the old key by its redacted form (xai-...abcd).",
                "Delete it (disabling it can be undone; deleting cannot).",
            ],
            usage: "https://console.x.ai",
        }
    }

    fn admin(&self) -> Option<AdminSpec> {
        Some(ADMIN)
    }

    fn params(&self) -> &'static [ParamSpec] {
        &[TEAM, NAME, ACLS]
    }

    fn verify(&self, cx: &Cx, key: &Secret) -> Verdict {
        verify_reply(cx, key, key_info(cx, key), |reply| {
            if !reply.is_success() {
                return classify(reply, &[400, 401], |_| None);
            }
            let body = reply.json();
            let flag = |name: &str| body.get(name).and_then(Value::as_bool) == Some(true);
            let text = |pointer: &str| {
                json_str(&body, pointer).map(|s| crate::sanitize::escape(&s).into_owned())
            };
            if flag("api_key_disabled") {
                Verdict::dead(
                    "HTTP 200, but the key is disabled; it can be enabled again, so delete it to be sure",
                )
            } else if flag("api_key_blocked") {
                Verdict::dead("HTTP 200, but xAI has blocked the key")
            } else if flag("team_blocked") {
                Verdict::unknown(
                    "HTTP 200, but the key's team is blocked: the key works again if the team is unblocked",
                )
            } else {
                let mut detail = "HTTP 200".to_string();
                if let Some(team) = text("/team_id") {
                    detail.push_str(&format!(", team {team}"));
                }
                if let Some(id) = text("/api_key_id") {
                    detail.push_str(&format!(", key id {id}"));
                }
                Verdict::live(json_str(&body, "/name"), detail)
            }
        })
    }

    fn create(&self, cx: &Cx) -> Result<Created, ProviderError> {
        let admin = cx.admin(&ADMIN)?;
        let team = cx.param(&TEAM)?;
        let name = cx.params.get(NAME.name).cloned().unwrap_or_else(|| {
            format!(
                "keyguard-rotated-{}",
                jiff::Zoned::now().strftime("%Y%m%d-%H%M%S")
            )
        });
        let acls: Vec<String> = match cx.params.get(ACLS.name) {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect(),
            None => ALL_ACLS.iter().map(|a| a.to_string()).collect(),
        };
        if acls.is_empty() {
            return Err(ProviderError::Refused(
                "--param acls= is empty: an xAI key without ACLs can call nothing".into(),
            ));
        }
        let reply = cx.http.send(
            cx.http
                .request(
                    Method::POST,
                    &cx.base(MANAGEMENT),
                    &format!("/auth/teams/{}/api-keys", seg(team)),
                )
                .bearer_auth(expose(admin))
                .json(&json!({ "name": name, "acls": acls })),
        )?;
        if !reply.is_success() {
            return Err(ProviderError::refused(&reply, "creating an API key"));
        }
        let body = reply.json();
        let value = body
            .get("apiKey")
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                ProviderError::Refused("xAI created a key but returned no key value".into())
            })?;
        Ok(Created {
            key: Secret::new(value.as_bytes()),
            id: json_str(&body, "/apiKeyId"),
            name: json_str(&body, "/name").or(Some(name)),
            detail: crate::sanitize::escape(&format!(
                "in team {team} with ACLs {}",
                acls.join(", ")
            ))
            .into_owned(),
        })
    }

    fn revoke(&self, cx: &Cx, key: &Secret) -> Result<Revoked, ProviderError> {
        let admin = cx.admin(&ADMIN)?;
        // The key's own info call names its id: exact, and no list to page through.
        let reply = cx.http.send(key_info(cx, key))?;
        if let Some(why) = reply.inconclusive() {
            return Err(ProviderError::Refused(format!(
                "cannot look up the key's id: {why}"
            )));
        }
        if matches!(reply.status, 400 | 401) {
            return Err(ProviderError::Refused(format!(
                "xAI no longer accepts the key (HTTP {}): it is invalid or already deleted, so there is nothing to revoke",
                reply.status
            )));
        }
        if !reply.is_success() {
            return Err(ProviderError::refused(&reply, "looking up the key's id"));
        }
        let body = reply.json();
        let id = json_str(&body, "/api_key_id").ok_or_else(|| {
            ProviderError::Refused(
                "xAI's key info named no api_key_id; delete the key by hand".into(),
            )
        })?;
        let reply = cx.http.send(
            cx.http
                .request(
                    Method::DELETE,
                    &cx.base(MANAGEMENT),
                    &format!("/auth/api-keys/{}", seg(&id)),
                )
                .bearer_auth(expose(admin)),
        )?;
        if !reply.is_success() {
            return Err(ProviderError::refused(&reply, "deleting the key"));
        }
        let name = json_str(&body, "/name").unwrap_or_default();
        let team = json_str(&body, "/team_id").unwrap_or_default();
        Ok(Revoked {
            detail: crate::sanitize::escape(&scrub(
                &format!("deleted key {id} ({name}) of team {team}"),
                key,
            ))
            .into_owned(),
            permanent: true,
        })
    }
}

/// The old key's own info request (verify, and the id lookup of `revoke`).
fn key_info(cx: &Cx, key: &Secret) -> reqwest::blocking::RequestBuilder {
    cx.http
        .request(Method::GET, &cx.base(API), "/v1/api-key")
        .bearer_auth(expose(key))
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{body_json, header, method, path};
    use wiremock::{Mock, ResponseTemplate};

    use super::super::testing::*;
    use super::*;

    /// A format-valid key made at run time: `xai-` + 80 characters.
    fn fake_key(seed: u32) -> Secret {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_";
        // A seeded linear congruential generator: varied enough to pass the rule's entropy
        // check, and a different key for every seed.
        let mut state = u64::from(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let body: String = (0..80)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                alphabet[((state >> 33) % 63) as usize] as char
            })
            .collect();
        Secret::new(format!("xai-{body}").as_bytes())
    }

    /// A management key: its format is not documented, so any opaque token will do.
    fn fake_management(seed: u32) -> Secret {
        let body: String = (0..48u32)
            .map(|i| {
                b"abcdefghijkmnopqrstuvwxyz0123456789"[((i * 11 + seed) % 35) as usize] as char
            })
            .collect();
        Secret::new(format!("mgmt-{body}").as_bytes())
    }

    fn info(key: &Secret, disabled: bool, blocked: bool, team_blocked: bool) -> Value {
        let k = expose(key);
        json!({"redacted_api_key": format!("xai-...{}", &k[k.len() - 4..]),
            "user_id":"59fbe5f2-040b-46d5-8325-868bb8f23eb2","name":"backend",
            "create_time":"2026-01-01T12:55:18Z","modify_time":"2026-01-02T17:20:12Z",
            "modified_by":"3d38b4dc-4eb7-4785-ae26-c3fa8997ffc7",
            "team_id":"5ea6f6bd-7815-4b8a-9135-28b2d7ba6722",
            "acls":["api-key:model:*","api-key:endpoint:*"],
            "api_key_id":"ae1e1841-4326-4b36-a8a9-8a1a7237db11",
            "team_blocked":team_blocked,"api_key_blocked":blocked,"api_key_disabled":disabled})
    }

    fn bearer(k: &Secret) -> String {
        format!("Bearer {}", expose(k))
    }

    #[test]
    fn format_is_checked_by_the_catalogue() {
        assert!(Xai.check_format(&fake_key(1)).is_ok());
        assert!(Xai.check_format(&Secret::new(b"xai-short")).is_err());
    }

    #[test]
    fn verify_reads_the_flags_and_the_400() {
        let server = Server::start();
        let live = fake_key(1);
        let disabled = fake_key(2);
        let blocked = fake_key(3);
        let team_blocked = fake_key(4);
        let dead = fake_key(5);
        for (k, flags) in [
            (&live, (false, false, false)),
            (&disabled, (true, false, false)),
            (&blocked, (false, true, false)),
            (&team_blocked, (false, false, true)),
        ] {
            server.mount(
                Mock::given(method("GET"))
                    .and(path("/v1/api-key"))
                    .and(header("authorization", bearer(k).as_str()))
                    .respond_with(
                        ResponseTemplate::new(200)
                            .set_body_json(info(k, flags.0, flags.1, flags.2)),
                    ),
            );
        }
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/api-key"))
                .respond_with(ResponseTemplate::new(400).set_body_json(json!({
                    "code":"Client specified an invalid argument",
                    "error": format!("Incorrect API key provided: {}***. You can obtain an API key from https://console.x.ai.", &expose(&dead)[..10])}))),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &Xai, &base, None, &params);

        let v = Xai.verify(&cx, &live);
        assert_eq!(
            (v.status, v.account.as_deref()),
            (Status::Live, Some("backend")),
            "{v:?}"
        );
        assert!(
            v.detail.contains("5ea6f6bd-7815-4b8a-9135-28b2d7ba6722"),
            "{v:?}"
        );
        let v = Xai.verify(&cx, &disabled);
        assert_eq!(v.status, Status::Dead, "{v:?}");
        assert!(v.detail.contains("disabled"), "{v:?}");
        assert_eq!(Xai.verify(&cx, &blocked).status, Status::Dead);
        assert_eq!(Xai.verify(&cx, &team_blocked).status, Status::Unknown);
        let v = Xai.verify(&cx, &dead);
        assert_eq!(v.status, Status::Dead, "{v:?}");
        assert!(!v.detail.contains("Incorrect"), "{v:?}");
        assert_no_key_in(&v, &dead);
        for k in [&live, &disabled, &blocked, &team_blocked, &dead] {
            assert_key_only_in_header(&server, k, "authorization");
        }
    }

    #[test]
    fn verify_inconclusive_cases() {
        assert_inconclusive_cases(&Xai, &fake_key(6), "GET", "/v1/api-key");
    }

    #[test]
    fn create_posts_to_the_team_with_acls() {
        let server = Server::start();
        let admin = fake_management(1);
        let new = fake_key(7);
        server.mount(
            Mock::given(method("POST"))
                .and(path("/auth/teams/team-42/api-keys"))
                .and(header("authorization", bearer(&admin).as_str()))
                .and(body_json(
                    json!({"name":"backend-2","acls":["api-key:model:*","api-key:endpoint:*"]}),
                ))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "redactedApiKey":"xai-...wxyz","apiKey": expose(&new),
                    "userId":"u1","name":"backend-2","teamId":"team-42",
                    "apiKeyId":"key-new","disabled":false,
                    "aclStrings":["api-key:model:*","api-key:endpoint:*"]}))),
        );
        let http = http();
        let base = server.base();
        let mut params = Params::new();
        params.insert("team".into(), "team-42".into());
        params.insert("name".into(), "backend-2".into());
        let cx = cx(&http, &Xai, &base, Some(&admin), &params);
        let created = Xai.create(&cx).unwrap();
        assert_eq!(created.key, new);
        assert_eq!(created.id.as_deref(), Some("key-new"));
        assert!(created.detail.contains("team-42"), "{}", created.detail);
        assert_key_only_in_header(&server, &admin, "authorization");
    }

    #[test]
    fn create_needs_the_management_key_and_the_team() {
        let http = http();
        let base = Base::parse("http://127.0.0.1:9").unwrap();
        let params = Params::new();
        assert!(matches!(
            Xai.create(&cx(&http, &Xai, &base, None, &params)),
            Err(ProviderError::NeedsAdmin {
                env: "KEYGUARD_XAI_ADMIN_KEY",
                ..
            })
        ));
        let admin = fake_management(1);
        assert!(matches!(
            Xai.create(&cx(&http, &Xai, &base, Some(&admin), &params)),
            Err(ProviderError::NeedsParam { name: "team", .. })
        ));
    }

    #[test]
    fn revoke_looks_up_the_id_with_the_old_key_and_deletes_it_with_the_management_key() {
        let server = Server::start();
        let admin = fake_management(2);
        let old = fake_key(8);
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/api-key"))
                .and(header("authorization", bearer(&old).as_str()))
                .respond_with(
                    ResponseTemplate::new(200).set_body_json(info(&old, false, false, false)),
                ),
        );
        server.mount(
            Mock::given(method("DELETE"))
                .and(path("/auth/api-keys/ae1e1841-4326-4b36-a8a9-8a1a7237db11"))
                .and(header("authorization", bearer(&admin).as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({}))),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &Xai, &base, Some(&admin), &params);
        let revoked = Xai.revoke(&cx, &old).unwrap();
        assert!(revoked.permanent);
        assert!(revoked.detail.contains("ae1e1841"), "{revoked:?}");
        let requests = server.requests();
        assert_eq!(requests.len(), 2);
        assert_key_only_in_header(&server, &old, "authorization");
        assert_key_only_in_header(&server, &admin, "authorization");
        // Each key went only to its own call.
        let delete = requests
            .iter()
            .find(|r| r.method.as_str() == "DELETE")
            .unwrap();
        assert_eq!(
            delete
                .headers
                .get("authorization")
                .unwrap()
                .to_str()
                .unwrap(),
            bearer(&admin)
        );
    }

    #[test]
    fn revoke_of_a_key_xai_already_rejects_changes_nothing() {
        let server = Server::start();
        let admin = fake_management(2);
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/api-key"))
                .respond_with(ResponseTemplate::new(400).set_body_json(json!({
                    "code":"Client specified an invalid argument","error":"Incorrect API key provided"}))),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &Xai, &base, Some(&admin), &params);
        match Xai.revoke(&cx, &fake_key(9)) {
            Err(ProviderError::Refused(why)) => {
                assert!(why.contains("nothing to revoke"), "{why}");
                assert!(!why.contains("Incorrect"), "{why}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(server.requests().iter().all(|r| r.method.as_str() == "GET"));
    }

    #[test]
    fn revoke_reports_a_management_refusal_by_status() {
        let server = Server::start();
        let admin = fake_management(3);
        let old = fake_key(10);
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/api-key"))
                .respond_with(
                    ResponseTemplate::new(200).set_body_json(info(&old, false, false, false)),
                ),
        );
        server.mount(
            Mock::given(method("DELETE"))
                .respond_with(ResponseTemplate::new(403).set_body_json(json!({
                    "code":"PermissionDenied","error":"management key lacks Management Keys Write"}))),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &Xai, &base, Some(&admin), &params);
        let text = Xai.revoke(&cx, &old).unwrap_err().to_string();
        assert!(
            text.contains("HTTP 403") && text.contains("PermissionDenied"),
            "{text}"
        );
        assert!(!text.contains("lacks"), "{text}");
    }
}
