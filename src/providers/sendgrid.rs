//! SendGrid (Twilio SendGrid) API keys: `SG.` + 22 + `.` + 43 characters. Verify:
//! `GET https://api.sendgrid.com/v3/scopes` with `Authorization: Bearer`, which SendGrid
//! documents as returning the scopes of the key used to call it (so it needs no scope of its
//! own); 200 `{"scopes":[…]}` is live, 401 is dead. A 403 means SendGrid authenticated the key but
//! refused it here, so it is live (not confirmed by SendGrid's docs for this endpoint). EU-region
//! subusers use `api.eu.sendgrid.com`: point `KEYGUARD_SENDGRID_API_BASE` there.
//!
//! Create and revoke need a key with the API Keys permission (`KEYGUARD_SENDGRID_ADMIN_KEY`).
//! `POST /v3/api_keys {"name","scopes"?}` answers 201 with `api_key` (the value, shown once) and
//! `api_key_id`; without `scopes` the new key gets full access, so `--param scopes=a,b` narrows
//! it. `DELETE /v3/api_keys/{api_key_id}` answers 204 and is permanent. SendGrid never maps a key's
//! value to its id (`GET /v3/api_keys` lists names and ids only), so revoke needs
//! `--param key-id=ID`: keyguard does not guess, and never picks "the first key". The endpoints
//! and the 69-character shape are from twilio.com/docs/sendgrid; the dashboard steps and the
//! Email Activity URL given as the usage page are not confirmed.

use reqwest::Method;
use serde_json::{Value, json};

use super::openai::{expose, seg};
use super::*;

const API: &str = "https://api.sendgrid.com";

pub struct SendGrid;

const ADMIN: AdminSpec = AdminSpec {
    what: "a SendGrid API key with the API Keys permission (Full Access, or a restricted key with api_keys scopes)",
    env: "KEYGUARD_SENDGRID_ADMIN_KEY",
    rules: &["sendgrid-api-key"],
};

const KEY_ID: ParamSpec = ParamSpec {
    name: "key-id",
    help: "the old key's API key ID: find it by the key's name in Settings → API Keys (https://app.sendgrid.com/settings/api_keys; the ID shows when you open the key) or in `curl -H \"Authorization: Bearer $ADMIN\" https://api.sendgrid.com/v3/api_keys`",
};

const NAME: ParamSpec = ParamSpec {
    name: "name",
    help: "the name of the key `create` makes (default keyguard-rotated-DATE)",
};

const SCOPES: ParamSpec = ParamSpec {
    name: "scopes",
    help: "comma-separated scopes for the new key (default: full access, as SendGrid gives a key made without scopes)",
};

impl Provider for SendGrid {
    fn id(&self) -> &'static str {
        "sendgrid"
    }

    fn name(&self) -> &'static str {
        "SendGrid"
    }

    fn rules(&self) -> &'static [&'static str] {
        &["sendgrid-api-key"]
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
            dashboard: "https://app.sendgrid.com/settings/api_keys",
            create: &[
                "Open https://app.sendgrid.com/settings/api_keys and click \"Create API Key\".",
                "Name it, choose Restricted Access with only the permissions it needs, and click \"Create & View\".",
                "Copy the key: SendGrid shows it once.",
            ],
            revoke: &[
                "Open https://app.sendgrid.com/settings/api_keys and find the old key by its name.",
                "Open its action menu (gear), choose Delete, and confirm. Deletion is permanent.",
            ],
            usage: "https://app.sendgrid.com/email_activity",
        }
    }

    fn admin(&self) -> Option<AdminSpec> {
        Some(ADMIN)
    }

    fn params(&self) -> &'static [ParamSpec] {
        &[KEY_ID, NAME, SCOPES]
    }

    fn verify(&self, cx: &Cx, key: &Secret) -> Verdict {
        let request = cx
            .http
            .request(Method::GET, &cx.base(API), "/v3/scopes")
            .bearer_auth(expose(key));
        verify_reply(cx, key, request, |reply| {
            if reply.status == 403 {
                return Verdict::live(
                    None,
                    "HTTP 403: SendGrid authenticated the key but refused it here",
                );
            }
            let verdict = classify(reply, &[401], |_| None);
            if verdict.status == Status::Live {
                let scopes = reply
                    .json()
                    .get("scopes")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                return Verdict::live(None, format!("HTTP {}, {scopes} scopes", reply.status));
            }
            verdict
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
        let mut body = json!({ "name": name });
        if let Some(scopes) = cx.params.get(SCOPES.name) {
            let list: Vec<&str> = scopes
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            body["scopes"] = json!(list);
        }
        let reply = cx.http.send(
            cx.http
                .request(Method::POST, &cx.base(API), "/v3/api_keys")
                .bearer_auth(expose(admin))
                .json(&body),
        )?;
        if !reply.is_success() {
            return Err(match reply.status {
                403 => ProviderError::Refused(format!(
                    "creating a key: HTTP 403: the admin key lacks the API Keys permission, or the account has its 100 keys; check {}",
                    ADMIN.env
                )),
                _ => ProviderError::refused(&reply, "creating a key"),
            });
        }
        let body = reply.json();
        let value = body
            .get("api_key")
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                ProviderError::Refused("SendGrid created a key but returned no value".into())
            })?;
        let id = json_str(&body, "/api_key_id");
        Ok(Created {
            key: Secret::new(value.as_bytes()),
            detail: match &id {
                Some(i) => format!("API key {i}"),
                None => "API key".into(),
            },
            id,
            name: json_str(&body, "/name").or(Some(name)),
        })
    }

    fn revoke(&self, cx: &Cx, _key: &Secret) -> Result<Revoked, ProviderError> {
        let admin = cx.admin(&ADMIN)?;
        let id = cx.param(&KEY_ID)?;
        let reply = cx.http.send(
            cx.http
                .request(
                    Method::DELETE,
                    &cx.base(API),
                    &format!("/v3/api_keys/{}", seg(id)),
                )
                .bearer_auth(expose(admin)),
        )?;
        let id = crate::sanitize::escape(id);
        match reply.status {
            200..=299 => Ok(Revoked {
                detail: format!("deleted API key {id}"),
                permanent: true,
            }),
            404 => Err(ProviderError::Refused(format!(
                "SendGrid has no API key {id} (HTTP 404): check the ID, or it is deleted already"
            ))),
            _ => Err(ProviderError::refused(&reply, "deleting the key")),
        }
    }
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{body_json, header, method, path};
    use wiremock::{Mock, ResponseTemplate};

    use super::super::testing::*;
    use super::*;

    const CHARS: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ0123456789_-";

    /// A format-valid fake key from a seeded xorshift generator.
    fn fake_key(seed: u64) -> Secret {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut part = |n: usize| -> String {
            (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    CHARS[(x % CHARS.len() as u64) as usize] as char
                })
                .collect()
        };
        let head = part(22);
        Secret::new(format!("SG.{head}.{}", part(43)).as_bytes())
    }

    fn bearer(k: &Secret) -> String {
        format!("Bearer {}", expose(k))
    }

    #[test]
    fn verify_live_dead_and_forbidden() {
        let server = Server::start();
        let (live, dead, forbidden) = (fake_key(1), fake_key(2), fake_key(3));
        assert!(SendGrid.check_format(&live).is_ok());
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v3/scopes"))
                .and(header("authorization", bearer(&live).as_str()))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_json(json!({"scopes":["mail.send","alerts.read"]})),
                ),
        );
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v3/scopes"))
                .and(header("authorization", bearer(&forbidden).as_str()))
                .respond_with(ResponseTemplate::new(403).set_body_json(
                    json!({"errors":[{"field":null,"message":"access forbidden"}]}),
                )),
        );
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v3/scopes"))
                .respond_with(ResponseTemplate::new(401).set_body_json(
                    json!({"errors":[{"field":null,"message":"authorization required"}]}),
                )),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &SendGrid, &base, None, &params);
        let v = SendGrid.verify(&cx, &live);
        assert_eq!(
            (v.status, v.detail.as_str()),
            (Status::Live, "HTTP 200, 2 scopes")
        );
        assert_eq!(SendGrid.verify(&cx, &dead).status, Status::Dead);
        assert_eq!(SendGrid.verify(&cx, &forbidden).status, Status::Live);
        assert_key_only_in_header(&server, &live, "authorization");
        assert_key_only_in_header(&server, &dead, "authorization");
    }

    #[test]
    fn verify_inconclusive_cases() {
        assert_inconclusive_cases(&SendGrid, &fake_key(4), "GET", "/v3/scopes");
    }

    #[test]
    fn create_and_revoke_with_the_admin_key() {
        let server = Server::start();
        let admin = fake_key(5);
        let old = fake_key(6);
        let new = fake_key(7);
        server.mount(
            Mock::given(method("POST"))
                .and(path("/v3/api_keys"))
                .and(header("authorization", bearer(&admin).as_str()))
                .and(body_json(
                    json!({"name":"ci-mailer","scopes":["mail.send"]}),
                ))
                .respond_with(ResponseTemplate::new(201).set_body_json(json!({
                    "api_key": expose(&new), "api_key_id": "qfTQ6KG0QBiwWdJ0-pCLCA",
                    "name": "ci-mailer", "scopes": ["mail.send"]}))),
        );
        server.mount(
            Mock::given(method("DELETE"))
                .and(path("/v3/api_keys/old_key-ID"))
                .and(header("authorization", bearer(&admin).as_str()))
                .respond_with(ResponseTemplate::new(204)),
        );
        let http = http();
        let base = server.base();
        let mut params = Params::new();
        params.insert("name".into(), "ci-mailer".into());
        params.insert("scopes".into(), "mail.send".into());
        params.insert("key-id".into(), "old_key-ID".into());
        let cx = cx(&http, &SendGrid, &base, Some(&admin), &params);
        let created = SendGrid.create(&cx).unwrap();
        assert_eq!(created.key, new);
        assert_eq!(created.id.as_deref(), Some("qfTQ6KG0QBiwWdJ0-pCLCA"));
        let revoked = SendGrid.revoke(&cx, &old).unwrap();
        assert!(revoked.permanent && revoked.detail.contains("old_key-ID"));
        assert_key_only_in_header(&server, &admin, "authorization");
        let sent = format!("{:?}", server.requests());
        assert!(!sent.contains(&expose(&old)), "the old key is never sent");
    }

    #[test]
    fn refusals_name_what_is_missing() {
        let server = Server::start();
        server.mount(Mock::given(method("DELETE")).respond_with(
            ResponseTemplate::new(404).set_body_json(
                json!({"errors":[{"field":null,"message":"unable to find API Key"}]}),
            ),
        ));
        server.mount(Mock::given(method("POST")).respond_with(
            ResponseTemplate::new(400).set_body_json(
                json!({"errors":[{"field":"name","message":"missing required argument"}]}),
            ),
        ));
        let http = http();
        let base = server.base();
        let admin = fake_key(8);
        let none = Params::new();
        let cx_no_admin = cx(&http, &SendGrid, &base, None, &none);
        assert!(matches!(
            SendGrid.create(&cx_no_admin),
            Err(ProviderError::NeedsAdmin {
                env: "KEYGUARD_SENDGRID_ADMIN_KEY",
                ..
            })
        ));
        let cx_no_id = super::super::testing::cx(&http, &SendGrid, &base, Some(&admin), &none);
        let Err(e @ ProviderError::NeedsParam { name: "key-id", .. }) =
            SendGrid.revoke(&cx_no_id, &fake_key(9))
        else {
            panic!("revoke without key-id must ask for it");
        };
        assert!(e.to_string().contains("/v3/api_keys"), "{e}");
        assert!(
            server.requests().is_empty(),
            "nothing guessed, nothing sent"
        );
        let mut params = Params::new();
        params.insert("key-id".into(), "nope".into());
        let cx = super::super::testing::cx(&http, &SendGrid, &base, Some(&admin), &params);
        let Err(ProviderError::Refused(why)) = SendGrid.revoke(&cx, &fake_key(9)) else {
            panic!("404 must refuse");
        };
        assert!(why.contains("404"), "{why}");
        let Err(ProviderError::Refused(why)) = SendGrid.create(&cx) else {
            panic!("400 must refuse");
        };
        assert!(
            why.contains("HTTP 400") && !why.contains("missing"),
            "{why}"
        );
    }
}
