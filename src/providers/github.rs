//! GitHub tokens. Verify: `GET /user` with `Authorization: Bearer`; 401 "Bad credentials" is dead.
//! A 403 with the rate limit exhausted says nothing; any other 403 means the token authenticated
//! but may not read `/user` (an installation token), so it is live.
//!
//! Revoke: the public credential-revocation API, `POST /credentials/revoke`
//! `{"credentials":[TOKEN]}`, which is unauthenticated by design (an authenticated call gets 403),
//! answers 202 Accepted, notifies the token's owner, and cannot be undone. It takes classic and
//! fine-grained PATs and OAuth, user-to-server and refresh tokens (60 calls an hour). An
//! installation token (`ghs_`) revokes itself with `DELETE /installation/token`. GitHub has no API
//! to create personal access tokens: that is done in the settings page.

use reqwest::Method;
use serde_json::json;

use super::openai::expose;
use super::*;

const API: &str = "https://api.github.com";

pub struct GitHub;

fn github(request: reqwest::blocking::RequestBuilder) -> reqwest::blocking::RequestBuilder {
    request
        .header(reqwest::header::ACCEPT, "application/vnd.github+json")
        .header("x-github-api-version", "2022-11-28")
}

impl Provider for GitHub {
    fn id(&self) -> &'static str {
        "github"
    }

    fn name(&self) -> &'static str {
        "GitHub"
    }

    fn rules(&self) -> &'static [&'static str] {
        &[
            "github-classic-pat",
            "github-fine-grained-pat",
            "github-oauth-token",
            "github-user-to-server-token",
            "github-installation-token",
            "github-refresh-token",
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
            dashboard: "https://github.com/settings/tokens",
            create: &[
                "Open https://github.com/settings/personal-access-tokens (fine-grained) or https://github.com/settings/tokens (classic).",
                "Generate a new token with the same repositories, permissions and a sensible expiry.",
                "Copy the token: GitHub shows it once.",
            ],
            revoke: &[
                "Open https://github.com/settings/tokens or …/settings/personal-access-tokens and find the old token.",
                "Click \"Delete\" (classic) or \"Revoke\" (fine-grained) and confirm.",
            ],
            usage: "https://github.com/settings/security-log",
        }
    }

    fn verify(&self, cx: &Cx, key: &Secret) -> Verdict {
        if key.expose().starts_with(b"ghr_") {
            return Verdict::unknown(
                "a refresh token is only usable with its app's client secret; it cannot be checked alone",
            );
        }
        let request = github(
            cx.http
                .request(Method::GET, &cx.base(API), "/user")
                .bearer_auth(expose(key)),
        );
        verify_reply(cx, key, request, |reply| {
            if reply.status == 403 {
                if reply.header("x-ratelimit-remaining").as_deref() == Some("0") {
                    return Verdict::unknown("rate limited (HTTP 403, rate limit exhausted)");
                }
                return Verdict::live(
                    None,
                    "HTTP 403: the token authenticated but may not read /user",
                );
            }
            classify(reply, &[401], |b| json_str(b, "/login"))
        })
    }

    fn revoke(&self, cx: &Cx, key: &Secret) -> Result<Revoked, ProviderError> {
        let base = cx.base(API);
        if key.expose().starts_with(b"ghs_") {
            let reply = cx.http.send(github(
                cx.http
                    .request(Method::DELETE, &base, "/installation/token")
                    .bearer_auth(expose(key)),
            ))?;
            return match reply.status {
                204 => Ok(Revoked {
                    detail: "the installation token revoked itself (DELETE /installation/token)"
                        .into(),
                    permanent: true,
                }),
                401 => Err(ProviderError::Refused(
                    "GitHub does not accept this installation token (HTTP 401): it has expired or was already revoked".into(),
                )),
                _ => Err(ProviderError::refused(&reply, "revoking the installation token")),
            };
        }
        // Unauthenticated on purpose: GitHub refuses this endpoint with credentials (403).
        let reply = cx.http.send(github(
            cx.http
                .request(Method::POST, &base, "/credentials/revoke")
                .json(&json!({ "credentials": [expose(key)] })),
        ))?;
        match reply.status {
            202 => Ok(Revoked {
                detail: "GitHub accepted the revocation (POST /credentials/revoke, 202); the token's owner is notified".into(),
                permanent: true,
            }),
            429 | 403 if reply.header("x-ratelimit-remaining").as_deref() == Some("0") => Err(
                ProviderError::Refused(
                    "GitHub's revocation API is rate limited (60 calls an hour); try again later or revoke by hand".into(),
                ),
            ),
            _ => Err(ProviderError::refused(&reply, "revoking the token")),
        }
    }
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{body_json, header, method, path};
    use wiremock::{Mock, ResponseTemplate};

    use super::super::testing::*;
    use super::*;

    fn fake_pat(seed: u32) -> Secret {
        let random: String = (0..30u32)
            .map(|i| {
                b"abcdefghijkmnopqrstuvwxyzABCDEFGH0123456789"[((i * 7 + seed) % 43) as usize]
                    as char
            })
            .collect();
        let sum = crate::engine::checksum::crc32_base62(random.as_bytes());
        Secret::new(format!("ghp_{random}{}", std::str::from_utf8(&sum).unwrap()).as_bytes())
    }

    #[test]
    fn verify_live_dead_and_rate_limited() {
        let server = Server::start();
        let (live, dead, limited) = (fake_pat(1), fake_pat(2), fake_pat(3));
        server.mount(
            Mock::given(method("GET"))
                .and(path("/user"))
                .and(header(
                    "authorization",
                    format!("Bearer {}", expose(&live)).as_str(),
                ))
                .respond_with(
                    ResponseTemplate::new(200).set_body_json(json!({"login":"octocat","id":1})),
                ),
        );
        server.mount(
            Mock::given(method("GET"))
                .and(path("/user"))
                .and(header(
                    "authorization",
                    format!("Bearer {}", expose(&limited)).as_str(),
                ))
                .respond_with(
                    ResponseTemplate::new(403)
                        .insert_header("x-ratelimit-remaining", "0")
                        .set_body_json(json!({"message":"API rate limit exceeded"})),
                ),
        );
        server.mount(
            Mock::given(method("GET"))
                .and(path("/user"))
                .respond_with(ResponseTemplate::new(401).set_body_json(json!({
                    "message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}))),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &GitHub, &base, None, &params);
        assert!(GitHub.check_format(&live).is_ok());
        let v = GitHub.verify(&cx, &live);
        assert_eq!(
            (v.status, v.account.as_deref()),
            (Status::Live, Some("octocat"))
        );
        assert_eq!(GitHub.verify(&cx, &dead).status, Status::Dead);
        assert_eq!(GitHub.verify(&cx, &limited).status, Status::Unknown);
        assert_key_only_in_header(&server, &live, "authorization");
    }

    #[test]
    fn verify_inconclusive_cases() {
        assert_inconclusive_cases(&GitHub, &fake_pat(4), "GET", "/user");
    }

    #[test]
    fn revoke_posts_the_token_unauthenticated() {
        let server = Server::start();
        let key = fake_pat(5);
        server.mount(
            Mock::given(method("POST"))
                .and(path("/credentials/revoke"))
                .and(body_json(json!({"credentials":[expose(&key)]})))
                .respond_with(ResponseTemplate::new(202)),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &GitHub, &base, None, &params);
        let revoked = GitHub.revoke(&cx, &key).unwrap();
        assert!(revoked.permanent);
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        assert!(
            requests[0].headers.get("authorization").is_none(),
            "revocation must be unauthenticated"
        );
    }
}
