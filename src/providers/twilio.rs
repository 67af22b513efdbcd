//! Twilio credentials are pairs, taken joined as `SID:SECRET`: an Account SID with the account's
//! auth token (`AC` + 32 hex `:` 32 hex), or an API key SID with its secret (`SK` + 32 hex `:` 32
//! letters and digits). The catalogue rules need a "twilio" keyword nearby, so a bare pair is
//! checked here by its documented shape (SIDs are `^AC[0-9a-fA-F]{32}$` / `^SK…` in Twilio's API
//! reference).
//!
//! Verify, HTTP Basic with the pair, read-only:
//! - account + auth token: `GET https://api.twilio.com/2010-04-01/Accounts/{AC}.json` → 200 with
//!   `friendly_name`; 401 (Twilio error 20003 "Authenticate") is dead.
//! - API key: `/Accounts` is closed to Standard and Restricted keys, and Twilio answers them with
//!   the same 401/20003 as a bad key (twilio-python#259: "you can't use a Key Secret to get an
//!   Account"), so it cannot tell a live Standard key from a dead one. keyguard reads
//!   `GET https://messaging.twilio.com/v1/Services?PageSize=1` instead, which Main and Standard
//!   keys may read: 200 live, 401 dead. A Restricted key without Messaging read permission is
//!   refused the same way (error 70051 lists both causes); the dead detail says so.
//!
//! Revoke: an API key with `DELETE /2010-04-01/Accounts/{AC}/Keys/{SK}.json` → 204, permanent.
//! Twilio lets only the account's auth token or a Main key manage keys: the credential is
//! `KEYGUARD_TWILIO_ADMIN_KEY` (`AC…:TOKEN`, or a Main `SK…:SECRET`), else the key itself (works
//! if it is a Main key). The account comes from the admin pair or `--param account=AC…`. An auth
//! token is revoked by promoting the secondary token (`POST
//! https://accounts.twilio.com/v1/AuthTokens/Promote`): the old primary stops working at once
//! (Functions/Services with the token inlined need a minute). Create: for an auth token,
//! `POST https://accounts.twilio.com/v1/AuthTokens/Secondary` → 201 `secondary_auth_token`; for
//! an API key, `POST /2010-04-01/Accounts/{AC}/Keys.json` (`FriendlyName`) → 201 `sid`, `secret`
//! (shown once; a Standard key). Checked against twilio.com/docs (iam/api-keys, iam/api/authtoken,
//! iam/api/secondary_authtoken, usage/api/keys); the 204 of the key delete is from the Key
//! resource reference and Kingfisher. The Console steps follow Twilio's "Create API keys in the
//! Console" page; the debugger URL given as the usage page is not confirmed.

use reqwest::Method;
use serde_json::Value;

use super::openai::seg;
use super::*;

const API: &str = "https://api.twilio.com";
const MESSAGING: &str = "https://messaging.twilio.com";
const ACCOUNTS: &str = "https://accounts.twilio.com";

pub struct Twilio;

const ADMIN: AdminSpec = AdminSpec {
    what: "the account's SID and auth token (AC…:TOKEN) or a Main API key (SK…:SECRET), joined with `:`",
    env: "KEYGUARD_TWILIO_ADMIN_KEY",
    rules: &[],
};

const ACCOUNT: ParamSpec = ParamSpec {
    name: "account",
    help: "the Account SID (AC…) the API key belongs to, from the Console's Account Info; not needed when the admin credential is an AC… pair",
};

const NAME: ParamSpec = ParamSpec {
    name: "name",
    help: "the friendly name of the API key `create` makes (default keyguard-rotated-DATE)",
};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Account SID + auth token.
    AuthToken,
    /// API key SID + secret.
    ApiKey,
}

struct Pair {
    kind: Kind,
    sid: String,
    secret: String,
}

impl Pair {
    fn parse(key: &Secret) -> Result<Pair, String> {
        let text = std::str::from_utf8(key.expose()).unwrap_or_default();
        let redacted = crate::finding::redact(key.expose(), 0);
        let sid_ok = |s: &str, prefix: &str| {
            s.len() == 34 && s.starts_with(prefix) && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
        };
        let Some((sid, secret)) = text.split_once(':') else {
            if sid_ok(text, "AC") || sid_ok(text, "SK") {
                return Err(format!(
                    "{redacted} is a Twilio SID alone: verifying it needs its auth token or API key secret too, given as SID:SECRET"
                ));
            }
            return Err(format!(
                "{redacted} does not look like a Twilio credential (expected AC…:AUTH_TOKEN or SK…:SECRET)"
            ));
        };
        let kind = if sid_ok(sid, "AC") {
            Kind::AuthToken
        } else if sid_ok(sid, "SK") {
            Kind::ApiKey
        } else {
            return Err(format!(
                "{redacted} does not start with a Twilio Account SID (AC + 32 hex) or API key SID (SK + 32 hex)"
            ));
        };
        let secret_ok = secret.len() == 32
            && match kind {
                Kind::AuthToken => secret.bytes().all(|b| b.is_ascii_hexdigit()),
                Kind::ApiKey => secret.bytes().all(|b| b.is_ascii_alphanumeric()),
            };
        if !secret_ok {
            return Err(format!(
                "{redacted}: the part after `:` is not a Twilio {} (32 {})",
                if kind == Kind::AuthToken {
                    "auth token"
                } else {
                    "API key secret"
                },
                if kind == Kind::AuthToken {
                    "hex digits"
                } else {
                    "letters and digits"
                }
            ));
        }
        Ok(Pair {
            kind,
            sid: sid.to_string(),
            secret: secret.to_string(),
        })
    }

    fn parse_admin(admin: &Secret) -> Result<Pair, ProviderError> {
        Pair::parse(admin).map_err(|why| {
            ProviderError::Refused(format!(
                "{} must hold AC…:AUTH_TOKEN or SK…:SECRET: {why}",
                ADMIN.env
            ))
        })
    }

    fn basic(
        &self,
        request: reqwest::blocking::RequestBuilder,
    ) -> reqwest::blocking::RequestBuilder {
        request.basic_auth(&self.sid, Some(&self.secret))
    }
}

impl Provider for Twilio {
    fn id(&self) -> &'static str {
        "twilio"
    }

    fn name(&self) -> &'static str {
        "Twilio"
    }

    fn rules(&self) -> &'static [&'static str] {
        &[
            "twilio-account-sid",
            "twilio-auth-token",
            "twilio-api-key-sid",
            "twilio-api-key-secret",
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
            dashboard: "https://console.twilio.com/us1/account/keys-credentials/api-keys",
            create: &[
                "API key: in the Console open Admin → Account management → Keys & credentials → API keys & tokens, click \"Create API key\", and copy the SID and secret (the secret is shown once).",
                "Auth token: on the same page, under Auth tokens, click \"Request a secondary token\" and copy it.",
            ],
            revoke: &[
                "API key: open the key on the API keys & tokens page and click \"Delete this API key\".",
                "Auth token: once the secondary token is deployed, click \"Promote\" next to it; the old primary stops working (allow a minute for Functions and Services).",
            ],
            usage: "https://console.twilio.com/us1/monitor/logs/debugger",
        }
    }

    fn admin(&self) -> Option<AdminSpec> {
        Some(ADMIN)
    }

    fn params(&self) -> &'static [ParamSpec] {
        &[ACCOUNT, NAME]
    }

    fn creates_with_old_key(&self) -> bool {
        true
    }

    fn pairing(&self) -> Option<Pairing> {
        Some(Pairing {
            id_rules: &["twilio-account-sid", "twilio-api-key-sid"],
            secret_rules: &["twilio-auth-token", "twilio-api-key-secret"],
        })
    }

    fn check_format(&self, key: &Secret) -> Result<(), String> {
        Pair::parse(key).map(|_| ())
    }

    fn verify(&self, cx: &Cx, key: &Secret) -> Verdict {
        let pair = match Pair::parse(key) {
            Ok(p) => p,
            Err(why) => return Verdict::unknown(why),
        };
        let request = match pair.kind {
            Kind::AuthToken => cx.http.request(
                Method::GET,
                &cx.base(API),
                &format!("/2010-04-01/Accounts/{}.json", seg(&pair.sid)),
            ),
            Kind::ApiKey => {
                cx.http
                    .request(Method::GET, &cx.base(MESSAGING), "/v1/Services?PageSize=1")
            }
        };
        verify_reply(cx, key, pair.basic(request), |reply| {
            match (pair.kind, reply.status) {
                (Kind::ApiKey, 401) => Verdict::dead(format!(
                    "HTTP 401{}: Twilio does not accept this API key (a Restricted key without Messaging read permission is refused the same way)",
                    code_suffix(reply)
                )),
                (Kind::ApiKey, 403) => Verdict::live(
                    None,
                    "HTTP 403: Twilio authenticated the API key but refused it here",
                ),
                (Kind::AuthToken, _) => classify(reply, &[401], |b| json_str(b, "/friendly_name")),
                (Kind::ApiKey, _) => classify(reply, &[], |b| {
                    json_str(b, "/services/0/account_sid").map(|a| format!("account {a}"))
                }),
            }
        })
    }

    fn create(&self, cx: &Cx) -> Result<Created, ProviderError> {
        let admin = Pair::parse_admin(cx.admin(&ADMIN)?)?;
        let account = account_for(cx, &admin)?;
        create_api_key(cx, &admin, &account)
    }

    fn create_replacing(&self, cx: &Cx, old: &Secret) -> Result<Created, ProviderError> {
        let old = Pair::parse(old).map_err(ProviderError::Refused)?;
        let admin = cx.admin.map(Pair::parse_admin).transpose()?;
        match old.kind {
            Kind::AuthToken => {
                let signer = admin
                    .filter(|a| a.kind == Kind::AuthToken && a.sid == old.sid)
                    .unwrap_or(Pair {
                        kind: old.kind,
                        sid: old.sid.clone(),
                        secret: old.secret.clone(),
                    });
                let reply = cx.http.send(signer.basic(cx.http.request(
                    Method::POST,
                    &cx.base(ACCOUNTS),
                    "/v1/AuthTokens/Secondary",
                )))?;
                if !reply.is_success() {
                    return Err(refused(&reply, "creating a secondary auth token"));
                }
                let body = reply.json();
                let token = body
                    .get("secondary_auth_token")
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| {
                        ProviderError::Refused(
                            "Twilio created a secondary auth token but returned no value".into(),
                        )
                    })?;
                Ok(Created {
                    key: Secret::new(format!("{}:{token}", old.sid).as_bytes()),
                    id: None,
                    name: Some("secondary auth token".into()),
                    detail: format!(
                        "secondary auth token of account {}; revoking the old token promotes it to primary",
                        old.sid
                    ),
                })
            }
            Kind::ApiKey => {
                let signer = admin.unwrap_or(old);
                let account = account_for(cx, &signer)?;
                create_api_key(cx, &signer, &account)
            }
        }
    }

    fn revoke(&self, cx: &Cx, key: &Secret) -> Result<Revoked, ProviderError> {
        let old = Pair::parse(key).map_err(ProviderError::Refused)?;
        let admin = cx.admin.map(Pair::parse_admin).transpose()?;
        match old.kind {
            Kind::AuthToken => {
                // The old primary still authenticates until the promotion it signs.
                let signer = admin
                    .filter(|a| a.kind == Kind::AuthToken && a.sid == old.sid)
                    .unwrap_or(old);
                let reply = cx.http.send(signer.basic(cx.http.request(
                    Method::POST,
                    &cx.base(ACCOUNTS),
                    "/v1/AuthTokens/Promote",
                )))?;
                match reply.status {
                    200..=299 => Ok(Revoked {
                        detail: "promoted the secondary auth token to primary; the old token no longer works".into(),
                        permanent: true,
                    }),
                    404 => Err(ProviderError::Refused(format!(
                        "Twilio has no secondary auth token to promote (HTTP 404{}): create one first (keyguard rotate does, or Console → Auth tokens → Request a secondary token)",
                        code_suffix(&reply)
                    ))),
                    _ => Err(refused(&reply, "promoting the secondary auth token")),
                }
            }
            Kind::ApiKey => {
                let signer = admin.unwrap_or(Pair {
                    kind: old.kind,
                    sid: old.sid.clone(),
                    secret: old.secret.clone(),
                });
                let account = account_for(cx, &signer)?;
                let reply = cx.http.send(signer.basic(cx.http.request(
                    Method::DELETE,
                    &cx.base(API),
                    &format!(
                        "/2010-04-01/Accounts/{}/Keys/{}.json",
                        seg(&account),
                        seg(&old.sid)
                    ),
                )))?;
                match reply.status {
                    200..=299 => Ok(Revoked {
                        detail: format!("deleted API key {} of account {account}", old.sid),
                        permanent: true,
                    }),
                    401 if cx.admin.is_none() => Err(ProviderError::Refused(format!(
                        "Twilio refused the key deleting itself (HTTP 401{}): only the auth token or a Main key may delete API keys; set {}",
                        code_suffix(&reply),
                        ADMIN.env
                    ))),
                    404 => Err(ProviderError::Refused(format!(
                        "account {account} has no API key {} (HTTP 404): deleted already, or another account (--param account=AC…)",
                        old.sid
                    ))),
                    _ => Err(refused(&reply, "deleting the API key")),
                }
            }
        }
    }
}

/// The account to manage keys in: the admin pair's own account, or the `account` param.
fn account_for(cx: &Cx, signer: &Pair) -> Result<String, ProviderError> {
    if let Some(a) = cx.params.get(ACCOUNT.name) {
        let ok =
            a.len() == 34 && a.starts_with("AC") && a[2..].bytes().all(|b| b.is_ascii_hexdigit());
        if !ok {
            return Err(ProviderError::Refused(format!(
                "--param account=`{}` is not an Account SID (AC + 32 hex)",
                crate::sanitize::escape(a)
            )));
        }
        return Ok(a.clone());
    }
    match signer.kind {
        Kind::AuthToken => Ok(signer.sid.clone()),
        Kind::ApiKey => Err(ProviderError::NeedsParam {
            provider: "twilio",
            name: ACCOUNT.name,
            help: ACCOUNT.help,
        }),
    }
}

fn create_api_key(cx: &Cx, signer: &Pair, account: &str) -> Result<Created, ProviderError> {
    let name = cx.params.get(NAME.name).cloned().unwrap_or_else(|| {
        format!(
            "keyguard-rotated-{}",
            jiff::Zoned::now().strftime("%Y%m%d-%H%M%S")
        )
    });
    let reply = cx.http.send(
        signer
            .basic(cx.http.request(
                Method::POST,
                &cx.base(API),
                &format!("/2010-04-01/Accounts/{}/Keys.json", seg(account)),
            ))
            .form(&[("FriendlyName", name.as_str())]),
    )?;
    if !reply.is_success() {
        return Err(refused(&reply, "creating an API key"));
    }
    let body = reply.json();
    let (Some(sid), Some(secret)) = (
        body.get("sid").and_then(Value::as_str),
        body.get("secret").and_then(Value::as_str),
    ) else {
        return Err(ProviderError::Refused(
            "Twilio created an API key but returned no SID or secret".into(),
        ));
    };
    Ok(Created {
        key: Secret::new(format!("{sid}:{secret}").as_bytes()),
        id: Some(sid.to_string()),
        name: json_str(&body, "/friendly_name").or(Some(name)),
        detail: format!("Standard API key {sid} in account {account}"),
    })
}

/// `(code)` for Twilio's numeric error code, if the body has one.
fn code_suffix(reply: &Reply) -> String {
    error_code(&reply.json())
        .map(|c| format!(", {c}"))
        .unwrap_or_default()
}

fn refused(reply: &Reply, what: &str) -> ProviderError {
    let hint = if reply.status == 401 {
        ": the credential may not manage keys (use the auth token or a Main key)"
    } else {
        ""
    };
    ProviderError::Refused(format!(
        "{what}: HTTP {}{}{hint}",
        reply.status,
        code_suffix(reply)
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{body_string, header, method, path, query_param};
    use wiremock::{Mock, ResponseTemplate};

    use super::super::testing::*;
    use super::*;

    fn hex32(seed: u32) -> String {
        (0..32u32)
            .map(|i| b"0123456789abcdef"[((i * 7 + seed * 5 + i * i) % 16) as usize] as char)
            .collect()
    }

    fn alnum32(seed: u32) -> String {
        (0..32u32)
            .map(|i| {
                b"abcdefghijkmnopqrstuvwxyzABCDEFGH0123456789"[((i * 11 + seed * 3) % 43) as usize]
                    as char
            })
            .collect()
    }

    fn account(seed: u32) -> (String, Secret) {
        let sid = format!("AC{}", hex32(seed));
        let key = Secret::new(format!("{sid}:{}", hex32(seed + 50)).as_bytes());
        (sid, key)
    }

    fn api_key(seed: u32) -> (String, Secret) {
        let sid = format!("SK{}", hex32(seed));
        let key = Secret::new(format!("{sid}:{}", alnum32(seed)).as_bytes());
        (sid, key)
    }

    fn basic(k: &Secret) -> String {
        use base64::Engine;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(k.expose())
        )
    }

    #[test]
    fn format_needs_both_halves() {
        let (sid, key) = account(1);
        assert!(Twilio.check_format(&key).is_ok());
        assert!(Twilio.check_format(&api_key(2).1).is_ok());
        let alone = Twilio
            .check_format(&Secret::new(sid.as_bytes()))
            .unwrap_err();
        assert!(
            alone.contains("SID:SECRET") && !alone.contains(&sid),
            "{alone}"
        );
        // An auth token is hex; an API key secret of letters after an AC SID is not one.
        let mixed = Secret::new(format!("{sid}:{}", alnum32(3)).as_bytes());
        assert!(Twilio.check_format(&mixed).is_err());
        assert_eq!(identify(&key).map(|(p, _)| p.id()), Some("twilio"));
    }

    #[test]
    fn verify_account_token_live_and_dead() {
        let server = Server::start();
        let (sid, live) = account(4);
        let (dead_sid, dead) = account(5);
        server.mount(
            Mock::given(method("GET"))
                .and(path(format!("/2010-04-01/Accounts/{sid}.json")))
                .and(header("authorization", basic(&live).as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "sid": sid, "friendly_name": "Acme Production", "status": "active",
                    "type": "Full"}))),
        );
        server.mount(
            Mock::given(method("GET"))
                .and(path(format!("/2010-04-01/Accounts/{dead_sid}.json")))
                .respond_with(ResponseTemplate::new(401).set_body_json(json!({
                    "code": 20003, "message": "Authenticate",
                    "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}))),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &Twilio, &base, None, &params);
        let v = Twilio.verify(&cx, &live);
        assert_eq!(v.status, Status::Live, "{v:?}");
        assert_eq!(v.account.as_deref(), Some("Acme Production"));
        let v = Twilio.verify(&cx, &dead);
        assert_eq!(v.status, Status::Dead, "{v:?}");
        assert!(v.detail.contains("20003"), "{v:?}");
        assert_key_only_in_header(&server, &live, "authorization");
    }

    #[test]
    fn verify_api_key_reads_a_resource_standard_keys_may_read() {
        let server = Server::start();
        let (_, live) = api_key(6);
        let (_, dead) = api_key(7);
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/Services"))
                .and(query_param("PageSize", "1"))
                .and(header("authorization", basic(&live).as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "services": [{"account_sid": format!("AC{}", hex32(8)), "friendly_name": "alerts"}],
                    "meta": {"page": 0, "page_size": 1}}))),
        );
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/Services"))
                .respond_with(ResponseTemplate::new(401).set_body_json(json!({
                    "code": 20003, "message": "Authenticate", "status": 401}))),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &Twilio, &base, None, &params);
        let v = Twilio.verify(&cx, &live);
        assert_eq!(v.status, Status::Live, "{v:?}");
        assert_eq!(v.account, Some(format!("account AC{}", hex32(8))));
        let v = Twilio.verify(&cx, &dead);
        assert_eq!(v.status, Status::Dead, "{v:?}");
        assert!(v.detail.contains("Restricted"), "{v:?}");
        assert_key_only_in_header(&server, &live, "authorization");
        assert!(
            server
                .requests()
                .iter()
                .all(|r| !r.url.path().contains("Accounts")),
            "/Accounts cannot tell a Standard key from a dead one"
        );
    }

    #[test]
    fn verify_inconclusive_cases() {
        let (sid, key) = account(9);
        assert_inconclusive_cases(
            &Twilio,
            &key,
            "GET",
            &format!("/2010-04-01/Accounts/{sid}.json"),
        );
        assert_inconclusive_cases(&Twilio, &api_key(10).1, "GET", "/v1/Services");
    }

    #[test]
    fn api_key_rotation_with_the_auth_token_as_admin() {
        let server = Server::start();
        let (ac, admin) = account(11);
        let (old_sid, old) = api_key(12);
        let (new_sid, new) = api_key(13);
        let new_secret = std::str::from_utf8(new.expose()).unwrap()[35..].to_string();
        server.mount(
            Mock::given(method("POST"))
                .and(path(format!("/2010-04-01/Accounts/{ac}/Keys.json")))
                .and(header("authorization", basic(&admin).as_str()))
                .and(body_string("FriendlyName=ci-sms"))
                .respond_with(ResponseTemplate::new(201).set_body_json(json!({
                    "sid": new_sid, "friendly_name": "ci-sms", "secret": new_secret,
                    "date_created": "Mon, 13 Jun 2016 22:50:08 +0000"}))),
        );
        server.mount(
            Mock::given(method("DELETE"))
                .and(path(format!(
                    "/2010-04-01/Accounts/{ac}/Keys/{old_sid}.json"
                )))
                .and(header("authorization", basic(&admin).as_str()))
                .respond_with(ResponseTemplate::new(204)),
        );
        let http = http();
        let base = server.base();
        let mut params = Params::new();
        params.insert("name".into(), "ci-sms".into());
        let cx = cx(&http, &Twilio, &base, Some(&admin), &params);
        let created = Twilio.create_replacing(&cx, &old).unwrap();
        assert_eq!(created.key, new);
        assert_eq!(created.id.as_deref(), Some(new_sid.as_str()));
        let revoked = Twilio.revoke(&cx, &old).unwrap();
        assert!(
            revoked.permanent && revoked.detail.contains(&old_sid),
            "{revoked:?}"
        );
        assert_key_only_in_header(&server, &admin, "authorization");
        assert_eq!(server.requests().len(), 2);
    }

    #[test]
    fn auth_token_rotation_is_secondary_then_promote() {
        let server = Server::start();
        let (ac, old) = account(14);
        let secondary = hex32(15);
        server.mount(
            Mock::given(method("POST"))
                .and(path("/v1/AuthTokens/Secondary"))
                .and(header("authorization", basic(&old).as_str()))
                .respond_with(ResponseTemplate::new(201).set_body_json(json!({
                    "account_sid": ac, "secondary_auth_token": secondary,
                    "date_created": "2026-11-22T20:00:00Z", "url": "https://accounts.twilio.com/v1/AuthTokens/Secondary"}))),
        );
        server.mount(
            Mock::given(method("POST"))
                .and(path("/v1/AuthTokens/Promote"))
                .and(header("authorization", basic(&old).as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "account_sid": ac, "auth_token": secondary,
                    "url": "https://accounts.twilio.com/v1/AuthTokens/Promote"}))),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &Twilio, &base, None, &params);
        let created = Twilio.create_replacing(&cx, &old).unwrap();
        assert_eq!(
            created.key,
            Secret::new(format!("{ac}:{secondary}").as_bytes())
        );
        let revoked = Twilio.revoke(&cx, &old).unwrap();
        assert!(
            revoked.permanent && revoked.detail.contains("promoted"),
            "{revoked:?}"
        );
        assert_key_only_in_header(&server, &old, "authorization");

        // No secondary to promote: refused with the next step, never the message.
        server.reset();
        server.mount(
            Mock::given(method("POST"))
                .and(path("/v1/AuthTokens/Promote"))
                .respond_with(ResponseTemplate::new(404).set_body_json(json!({
                    "code": 20404, "message": "The requested resource was not found", "status": 404}))),
        );
        let Err(ProviderError::Refused(why)) = Twilio.revoke(&cx, &old) else {
            panic!("no secondary must refuse");
        };
        assert!(why.contains("20404") && why.contains("secondary"), "{why}");
        assert!(!why.contains("requested resource"), "{why}");
    }

    #[test]
    fn refusals_name_what_is_missing() {
        let server = Server::start();
        server.mount(
            Mock::given(method("DELETE")).respond_with(
                ResponseTemplate::new(401).set_body_json(
                    json!({"code": 20003, "message": "Authenticate", "status": 401}),
                ),
            ),
        );
        let http = http();
        let base = server.base();
        let none = Params::new();
        let cx_none = cx(&http, &Twilio, &base, None, &none);
        assert!(matches!(
            Twilio.create(&cx_none),
            Err(ProviderError::NeedsAdmin {
                env: "KEYGUARD_TWILIO_ADMIN_KEY",
                ..
            })
        ));
        // An API key revoking itself needs the account SID…
        assert!(matches!(
            Twilio.revoke(&cx_none, &api_key(16).1),
            Err(ProviderError::NeedsParam {
                name: "account",
                ..
            })
        ));
        // …and a Standard key may not delete keys: the hint names the admin variable.
        let mut params = Params::new();
        params.insert("account".into(), account(17).0);
        let cx = super::super::testing::cx(&http, &Twilio, &base, None, &params);
        let Err(ProviderError::Refused(why)) = Twilio.revoke(&cx, &api_key(16).1) else {
            panic!("401 must refuse");
        };
        assert!(
            why.contains("KEYGUARD_TWILIO_ADMIN_KEY") && why.contains("20003"),
            "{why}"
        );
    }
}
