//! Mistral AI. Verify: `GET https://api.mistral.ai/v1/models` with `Authorization: Bearer` (free,
//! read-only); 401 is a dead key. Mistral documents Bearer authentication at `api.mistral.ai` and
//! lists 401 as "Unauthorized: the API key is missing, invalid, or expired" (docs.mistral.ai, via
//! its error reference); the 401 body (`{"message":"Unauthorized",…}`) is third-party, so the
//! verdict rests on the status alone.
//!
//! Keys are 32 letters and digits with no prefix (Kingfisher; the catalogue rule
//! `mistral-api-key` needs a "mistral" keyword near the key), so a bare key matches no rule and
//! `check_format` checks that shape itself. Mistral has no documented API to create or revoke keys:
//! both are done in the console (console.mistral.ai → API Keys; the URL is the catalogue's and
//! third parties', not confirmed on a Mistral page).

use reqwest::Method;

use super::openai::expose;
use super::*;

const API: &str = "https://api.mistral.ai";

pub struct Mistral;

impl Provider for Mistral {
    fn id(&self) -> &'static str {
        "mistral"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["mistral-ai", "mistralai"]
    }

    fn name(&self) -> &'static str {
        "Mistral AI"
    }

    fn rules(&self) -> &'static [&'static str] {
        &["mistral-api-key"]
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
            dashboard: "https://console.mistral.ai/api-keys",
            create: &[
                "Open https://console.mistral.ai/api-keys (pick the workspace the old key belongs to) and click \"Create new key\".",
                "Name it after where it will be used, set an expiry if you want one, and copy the key: Mistral shows it once.",
            ],
            revoke: &[
                "Open https://console.mistral.ai/api-keys and find the old key by its name and redacted form.",
                "Delete it and confirm. The key stops working at once.",
            ],
            usage: "https://console.mistral.ai/usage",
        }
    }

    fn check_format(&self, key: &Secret) -> Result<(), String> {
        check_shape(
            self.name(),
            key,
            "",
            32,
            |b| b.is_ascii_alphanumeric(),
            "32 letters and digits",
        )
    }

    fn verify(&self, cx: &Cx, key: &Secret) -> Verdict {
        let request = cx
            .http
            .request(Method::GET, &cx.base(API), "/v1/models")
            .bearer_auth(expose(key));
        verify_by_status(cx, key, request, &[401], |_| None)
    }
}

/// `check_format` for providers whose keys match no catalogue rule on their own (no prefix, or a
/// prefix shared with others): `prefix` then exactly `len` bytes of the alphabet. The message
/// shows only the key's redacted form.
pub(super) fn check_shape(
    name: &str,
    key: &Secret,
    prefix: &str,
    len: usize,
    alphabet: impl Fn(u8) -> bool,
    shape: &str,
) -> Result<(), String> {
    let value = key.expose();
    let fits = value.len() == prefix.len() + len
        && value.starts_with(prefix.as_bytes())
        && value[prefix.len()..].iter().all(|b| alphabet(*b));
    if fits {
        return Ok(());
    }
    let redacted = crate::finding::redact(value, 0);
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("`{prefix}` then ")
    };
    Err(format!(
        "the key {redacted} does not look like a {name} key ({prefix}{shape})"
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, ResponseTemplate};

    use super::super::testing::*;
    use super::*;

    /// A format-valid fake key, different for each seed.
    fn fake_key(seed: u32) -> Secret {
        let body: String = (0..32u32)
            .map(|i| {
                b"abcdefghijkmnopqrstuvwxyzABCDEFGH0123456789"[((i * 7 + seed * 3) % 43) as usize]
                    as char
            })
            .collect();
        Secret::new(body.as_bytes())
    }

    #[test]
    fn format_is_32_letters_and_digits() {
        assert!(Mistral.check_format(&fake_key(1)).is_ok());
        let k = expose(&fake_key(1));
        for bad in [&k[..31], &format!("{k}a"), &format!("{}-", &k[..31])] {
            let err = Mistral
                .check_format(&Secret::new(bad.as_bytes()))
                .unwrap_err();
            assert!(
                !err.contains(&bad[..12]),
                "the message quotes the key: {err}"
            );
        }
    }

    #[test]
    fn verify_live_and_dead() {
        let server = Server::start();
        let (live, dead) = (fake_key(1), fake_key(2));
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/models"))
                .and(header(
                    "authorization",
                    format!("Bearer {}", expose(&live)).as_str(),
                ))
                .respond_with(
                    ResponseTemplate::new(200).set_body_json(json!({"object":"list","data":[]})),
                ),
        );
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1/models"))
                .respond_with(
                    ResponseTemplate::new(401)
                        .set_body_json(json!({"message":"Unauthorized","request_id":"0123abcd"})),
                ),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &Mistral, &base, None, &params);
        let v = Mistral.verify(&cx, &live);
        assert_eq!(v.status, Status::Live, "{v:?}");
        let v = Mistral.verify(&cx, &dead);
        assert_eq!(v.status, Status::Dead, "{v:?}");
        assert_no_key_in(&v, &dead);
        assert_key_only_in_header(&server, &live, "authorization");
        assert_key_only_in_header(&server, &dead, "authorization");
    }

    #[test]
    fn verify_inconclusive_cases() {
        assert_inconclusive_cases(&Mistral, &fake_key(3), "GET", "/v1/models");
    }

    #[test]
    fn no_api_to_create_or_revoke() {
        let http = http();
        let base = Base::parse("http://127.0.0.1:9").unwrap();
        let params = Params::new();
        let cx = cx(&http, &Mistral, &base, None, &params);
        assert!(matches!(
            Mistral.create(&cx),
            Err(ProviderError::NotSupported { .. })
        ));
        assert!(matches!(
            Mistral.revoke(&cx, &fake_key(1)),
            Err(ProviderError::NotSupported { .. })
        ));
    }
}
