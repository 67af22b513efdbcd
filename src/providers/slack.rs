//! Slack tokens. Verify: `POST https://slack.com/api/auth.test` with `Authorization: Bearer`.
//! Slack's Web API answers HTTP 200 for failures too, with `{"ok":false,"error":"…"}`, so the
//! verdict reads `ok`, not the status: `ok:true` (with `team`, `user`, `url`) is live;
//! `invalid_auth`, `token_revoked`, `account_inactive`, `token_expired` and `not_authed` are
//! dead; any other error (`ratelimited`, `fatal_error`, `internal_error`, …) is unknown.
//!
//! Revoke: `POST /api/auth.revoke` with the token itself as the Bearer credential answers
//! `{"ok":true,"revoked":true}`; it is permanent. (`test=1` would be a dry run; keyguard does not
//! send it.) A new token cannot be made by API: a bot or user token comes from reinstalling the
//! app (OAuth & Permissions → Reinstall / regenerate), so `create` is manual.
//!
//! Rules: bot (`xoxb-`), user (`xoxp-`), legacy workspace (`xoxa-`) and legacy (`xoxs-`,
//! `xoxo-`) tokens, which `auth.test` takes; refresh tokens those rules also match (`xoxr-`,
//! `xoxe-`) are `unknown` without a request. Not covered: app-level tokens (`xapp-`, used to open
//! Socket Mode connections), configuration and refresh tokens (`xoxe…`, used only with
//! `tooling.tokens.rotate`), session tokens and cookies (`xoxc-`/`xoxd-`, which work only
//! together), and webhook URLs (no token to test; posting to one would send a message). Checked
//! against Slack's method docs as mirrored by SDKs (auth.test, auth.revoke error lists); the
//! HTTP 200 for `ok:false` is Slack's documented Web API convention. The manual steps follow the
//! app settings pages (api.slack.com/apps → OAuth & Permissions); their exact labels are not
//! confirmed. The usage page is Slack's help article on workspace access logs.

use reqwest::Method;
use serde_json::Value;

use super::openai::expose;
use super::*;

const API: &str = "https://slack.com";

pub struct Slack;

/// `ok:false` errors that say the token itself is no good.
const DEAD: &[&str] = &[
    "invalid_auth",
    "token_revoked",
    "account_inactive",
    "token_expired",
    "not_authed",
];

impl Provider for Slack {
    fn id(&self) -> &'static str {
        "slack"
    }

    fn name(&self) -> &'static str {
        "Slack"
    }

    fn rules(&self) -> &'static [&'static str] {
        &[
            "slack-bot-token",
            "slack-legacy-bot-token",
            "slack-user-token",
            "slack-workspace-token",
            "slack-legacy-token",
        ]
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
            dashboard: "https://api.slack.com/apps",
            create: &[
                "Open https://api.slack.com/apps and pick the app the token belongs to.",
                "Under \"OAuth & Permissions\", reinstall the app to the workspace (or revoke all tokens and reinstall) to get a new bot or user token.",
                "Copy the new token from the same page.",
            ],
            revoke: &[
                "Under \"OAuth & Permissions\" of the app, use \"Revoke All OAuth Tokens\" (Advanced token security), or revoke this token alone with auth.revoke.",
                "For a user token in a workspace you administer, remove the app's access under Settings & administration → Manage apps.",
            ],
            usage: "https://slack.com/help/articles/360002084807-View-Access-Logs-for-your-workspace",
        }
    }

    fn verify(&self, cx: &Cx, key: &Secret) -> Verdict {
        // Refresh tokens (legacy workspace-app `xoxr-`, rotation `xoxe-`) only buy access tokens
        // with the app's client secret; auth.test would call them invalid while they work.
        if key.expose().starts_with(b"xoxr-") || key.expose().starts_with(b"xoxe-") {
            return Verdict::unknown(
                "a refresh token is only usable with its app's client secret; it cannot be checked alone",
            );
        }
        let request = cx
            .http
            .request(Method::POST, &cx.base(API), "/api/auth.test")
            .bearer_auth(expose(key));
        verify_reply(cx, key, request, classify_slack)
    }

    fn revoke(&self, cx: &Cx, key: &Secret) -> Result<Revoked, ProviderError> {
        let request = cx
            .http
            .request(Method::POST, &cx.base(API), "/api/auth.revoke")
            .bearer_auth(expose(key));
        let reply = cx.http.send(request)?;
        let body = reply.json();
        if reply.is_success() && body.get("ok").and_then(Value::as_bool) == Some(true) {
            if body.get("revoked").and_then(Value::as_bool) == Some(true) {
                return Ok(Revoked {
                    detail: "Slack revoked the token (auth.revoke)".into(),
                    permanent: true,
                });
            }
            return Err(ProviderError::Refused(
                "Slack answered auth.revoke without revoking the token".into(),
            ));
        }
        match error_code(&body) {
            Some(c) if DEAD.contains(&c.as_str()) => Err(ProviderError::Refused(format!(
                "Slack does not accept this token ({c}): it is already revoked or invalid"
            ))),
            _ => Err(ProviderError::refused(&reply, "revoking the token")),
        }
    }
}

fn classify_slack(reply: &Reply) -> Verdict {
    if let Some(why) = reply.inconclusive() {
        return Verdict::unknown(why);
    }
    let body = reply.json();
    if !reply.is_success() {
        return classify(reply, &[], |_| None);
    }
    match body.get("ok").and_then(Value::as_bool) {
        Some(true) => {
            let team = json_str(&body, "/team");
            let user = json_str(&body, "/user");
            let account = match (team, user) {
                (Some(t), Some(u)) => Some(format!("{u} in {t}")),
                (t, u) => t.or(u),
            };
            let detail = match json_str(&body, "/url") {
                Some(url) => format!("auth.test ok ({url})"),
                None => "auth.test ok".into(),
            };
            Verdict::live(account, detail)
        }
        Some(false) => match error_code(&body) {
            Some(c) if DEAD.contains(&c.as_str()) => Verdict::dead(format!("auth.test: {c}")),
            Some(c) => Verdict::unknown(format!("auth.test: {c}")),
            None => Verdict::unknown("auth.test answered ok:false without an error code"),
        },
        None => Verdict::unknown(format!("HTTP {} without Slack's `ok` field", reply.status)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, ResponseTemplate};

    use super::super::testing::*;
    use super::*;

    fn fake_bot_token(seed: u32) -> Secret {
        let digits = |n: u32, s: u32| -> String {
            (0..n)
                .map(|i| char::from(b'0' + ((i * 7 + s * 3 + 1) % 10) as u8))
                .collect()
        };
        let tail: String = (0..24u32)
            .map(|i| {
                b"abcdefghijkmnopqrstuvwxyzABCDEFGH0123456789"[((i * 5 + seed * 11) % 43) as usize]
                    as char
            })
            .collect();
        Secret::new(format!("xoxb-{}-{}-{tail}", digits(12, seed), digits(13, seed + 1)).as_bytes())
    }

    fn bearer(k: &Secret) -> String {
        format!("Bearer {}", expose(k))
    }

    #[test]
    fn verify_reads_ok_not_the_status() {
        let server = Server::start();
        let (live, revoked, limited) = (fake_bot_token(1), fake_bot_token(2), fake_bot_token(3));
        assert!(Slack.check_format(&live).is_ok());
        server.mount(
            Mock::given(method("POST"))
                .and(path("/api/auth.test"))
                .and(header("authorization", bearer(&live).as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "ok": true, "url": "https://acme.slack.com/", "team": "Acme",
                    "user": "deploy-bot", "team_id": "T0123ABCD", "user_id": "U0123ABCD",
                    "bot_id": "B0123ABCD", "is_enterprise_install": false}))),
        );
        server.mount(
            Mock::given(method("POST"))
                .and(path("/api/auth.test"))
                .and(header("authorization", bearer(&limited).as_str()))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_json(json!({"ok":false,"error":"fatal_error"})),
                ),
        );
        server.mount(
            Mock::given(method("POST"))
                .and(path("/api/auth.test"))
                .and(header("authorization", bearer(&revoked).as_str()))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_json(json!({"ok":false,"error":"token_revoked"})),
                ),
        );
        server.mount(
            Mock::given(method("POST"))
                .and(path("/api/auth.test"))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_json(json!({"ok":false,"error":"invalid_auth"})),
                ),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &Slack, &base, None, &params);
        let v = Slack.verify(&cx, &live);
        assert_eq!(v.status, Status::Live, "{v:?}");
        assert_eq!(v.account.as_deref(), Some("deploy-bot in Acme"));
        let v = Slack.verify(&cx, &revoked);
        assert_eq!(
            (v.status, v.detail.as_str()),
            (Status::Dead, "auth.test: token_revoked")
        );
        let v = Slack.verify(&cx, &fake_bot_token(4));
        assert_eq!(
            (v.status, v.detail.as_str()),
            (Status::Dead, "auth.test: invalid_auth")
        );
        let v = Slack.verify(&cx, &limited);
        assert_eq!(v.status, Status::Unknown, "{v:?}");
        assert_key_only_in_header(&server, &live, "authorization");
        assert_key_only_in_header(&server, &revoked, "authorization");
    }

    #[test]
    fn verify_inconclusive_cases() {
        assert_inconclusive_cases(&Slack, &fake_bot_token(5), "POST", "/api/auth.test");
        // Slack's own rate-limit error inside a 200 is not a verdict either.
        let server = Server::start();
        server.mount(
            Mock::given(method("POST"))
                .and(path("/api/auth.test"))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_json(json!({"ok":false,"error":"ratelimited"})),
                ),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let v = Slack.verify(&cx(&http, &Slack, &base, None, &params), &fake_bot_token(6));
        assert_eq!(v.status, Status::Unknown);
    }

    #[test]
    fn refresh_tokens_are_not_called_dead() {
        let server = Server::start();
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &Slack, &base, None, &params);
        let tail: String = (0..40u32)
            .map(|i| b"abcdefghijkmnopqrstuvwxyz0123456789"[(i * 13 % 35) as usize] as char)
            .collect();
        let refresh = Secret::new(format!("xoxr-{tail}").as_bytes());
        let v = Slack.verify(&cx, &refresh);
        assert_eq!(v.status, Status::Unknown, "{v:?}");
        assert!(server.requests().is_empty(), "nothing sent");
    }

    #[test]
    fn revoke_uses_the_token_itself() {
        let server = Server::start();
        let key = fake_bot_token(7);
        let gone = fake_bot_token(8);
        server.mount(
            Mock::given(method("POST"))
                .and(path("/api/auth.revoke"))
                .and(header("authorization", bearer(&key).as_str()))
                .respond_with(
                    ResponseTemplate::new(200).set_body_json(json!({"ok":true,"revoked":true})),
                ),
        );
        server.mount(
            Mock::given(method("POST"))
                .and(path("/api/auth.revoke"))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_json(json!({"ok":false,"error":"invalid_auth"})),
                ),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &Slack, &base, None, &params);
        let revoked = Slack.revoke(&cx, &key).unwrap();
        assert!(revoked.permanent);
        let Err(ProviderError::Refused(why)) = Slack.revoke(&cx, &gone) else {
            panic!("an invalid token cannot be revoked");
        };
        assert!(why.contains("invalid_auth"), "{why}");
        assert_key_only_in_header(&server, &key, "authorization");
        let requests = server.requests();
        assert!(
            requests.iter().all(|r| r.body.is_empty()),
            "no test=1, no token in the body"
        );
        assert!(matches!(
            Slack.create(&cx),
            Err(ProviderError::NotSupported { .. })
        ));
    }
}
