//! Google API keys (`AIza…`), as used by the Gemini API (Google AI Studio) and every other Google
//! API a key may be allowed to call. Facts relied on:
//!
//! - Verify: `GET https://generativelanguage.googleapis.com/v1beta/models` with the key in the
//!   `x-goog-api-key` header (the Gemini API reference's way; `?key=` would put the key in the
//!   URL, and URLs end up in logs, so keyguard never uses it). Listing models is free.
//! - Errors are `{"error":{"code","message","status","details":[{"@type":
//!   "type.googleapis.com/google.rpc.ErrorInfo","reason","domain","metadata":{…}}]}}`. The reasons
//!   are Google's `google.api.ErrorReason` enum (error_reason.proto): `API_KEY_INVALID` comes with
//!   HTTP 400 `INVALID_ARGUMENT` ("API key not valid", as many issue reports quote it) → dead.
//!   Its `DebugInfo` detail can quote the key itself, so only the reason is read.
//! - HTTP 403 with `SERVICE_DISABLED` (the Generative Language API is not enabled in the key's
//!   project), `API_KEY_SERVICE_BLOCKED` (the key is restricted to other APIs),
//!   `API_KEY_{HTTP_REFERRER,IP_ADDRESS,ANDROID_APP,IOS_APP}_BLOCKED` (application restrictions)
//!   or `BILLING_DISABLED`: Google identified the key and its project (`metadata.consumer`,
//!   `projects/NUMBER`), so the key exists and works elsewhere or from elsewhere → live, with the
//!   reason as detail and the project as account. Any other 4xx is unknown.
//! - Create and revoke need the API Keys API (`apikeys.googleapis.com`) with a Google Cloud OAuth
//!   credential holding `apikeys.keys.*` permissions, not an API key, so keyguard does not do them:
//!   `manual()` gives the Console steps and the `gcloud services api-keys` commands. Deleted keys
//!   are kept 30 days and can be undeleted (gcloud reference), so a deletion is not final at once.
//!   `gcloud services api-keys lookup KEY_STRING` takes the key in argv (shell history, `ps`), so
//!   the steps match keys by their last characters in the Console, or compare key strings through
//!   a pipe instead.

use reqwest::Method;
use serde_json::Value;

use super::openai::expose;
use super::*;

const API: &str = "https://generativelanguage.googleapis.com";

pub struct Google;

/// ErrorInfo reasons with which Google names the key's project: the key exists.
const KEY_KNOWN: &[(&str, &str)] = &[
    (
        "SERVICE_DISABLED",
        "the key is valid, but the Gemini API is not enabled in its project (the key works for the project's other APIs)",
    ),
    (
        "API_KEY_SERVICE_BLOCKED",
        "the key is valid, but restricted to other Google APIs",
    ),
    (
        "API_KEY_HTTP_REFERRER_BLOCKED",
        "the key is valid, but restricted to some websites (a Referer header is easy to forge)",
    ),
    (
        "API_KEY_IP_ADDRESS_BLOCKED",
        "the key is valid, but restricted to some IP addresses",
    ),
    (
        "API_KEY_ANDROID_APP_BLOCKED",
        "the key is valid, but restricted to some Android apps",
    ),
    (
        "API_KEY_IOS_APP_BLOCKED",
        "the key is valid, but restricted to some iOS apps",
    ),
    (
        "BILLING_DISABLED",
        "the key is valid, but billing is disabled in its project",
    ),
];

impl Provider for Google {
    fn id(&self) -> &'static str {
        "google"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["gemini"]
    }

    fn name(&self) -> &'static str {
        "Google"
    }

    fn rules(&self) -> &'static [&'static str] {
        &["google-gemini-api-key", "google-api-key"]
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
            dashboard: "https://aistudio.google.com/app/apikey",
            create: &[
                "Open https://aistudio.google.com/app/apikey and click \"Create API key\"; pick the Google Cloud project the old key belonged to.",
                "Or with gcloud, restricted to the Gemini API: gcloud services api-keys create --project=PROJECT_ID --display-name=NAME --api-target=service=generativelanguage.googleapis.com (the output holds the new key: keep it out of logs).",
                "Copy the key into your secret store.",
            ],
            revoke: &[
                "Find the old key by its last characters: in https://aistudio.google.com/app/apikey, or in https://console.cloud.google.com/apis/credentials of its project (a 403 from `keyguard verify` names the project as projects/NUMBER).",
                "Delete it there (trash icon / \"Delete API key\"). It stops working within minutes; Google keeps it 30 days, during which `gcloud services api-keys undelete KEY_ID` would restore it.",
                "With gcloud: `gcloud services api-keys list --project=PROJECT_ID` lists the keys, `gcloud services api-keys delete KEY_ID --project=PROJECT_ID` deletes one.",
                "Do not run `gcloud services api-keys lookup KEY_STRING`: it puts the key in argv (shell history, `ps`). To find the key's id without that, save the old key to a file only you can read (old-key.txt, mode 0600) and run: for k in $(gcloud services api-keys list --project=PROJECT_ID --format='value(name)'); do gcloud services api-keys get-key-string \"$k\" --format='value(keyString)' | grep -qxF -f old-key.txt && echo \"$k\"; done; then shred old-key.txt.",
            ],
            usage: "https://console.cloud.google.com/apis/api/generativelanguage.googleapis.com/metrics",
        }
    }

    fn verify(&self, cx: &Cx, key: &Secret) -> Verdict {
        let request = cx
            .http
            .request(Method::GET, &cx.base(API), "/v1beta/models?pageSize=1")
            .header("x-goog-api-key", expose(key));
        verify_reply(cx, key, request, |reply| {
            if reply.inconclusive().is_some() || reply.is_success() {
                return classify(reply, &[], |_| None);
            }
            let body = reply.json();
            let info = error_info(&body);
            let reason = info.and_then(|i| json_str(i, "/reason"));
            let consumer = info.and_then(|i| json_str(i, "/metadata/consumer"));
            // A short code for the detail: the reason, else Google's status (`PERMISSION_DENIED`).
            let code = reason
                .clone()
                .or_else(|| json_str(&body, "/error/status"))
                .filter(|c| {
                    c.len() <= 64
                        && c.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
                });
            match (reply.status, reason.as_deref()) {
                (400, Some("API_KEY_INVALID")) => Verdict::dead("HTTP 400 API_KEY_INVALID"),
                (403, Some(r)) if KEY_KNOWN.iter().any(|(known, _)| *known == r) => {
                    let (known, why) = KEY_KNOWN
                        .iter()
                        .find(|(known, _)| *known == r)
                        .expect("checked above");
                    Verdict::live(consumer, format!("HTTP 403 {known}: {why}"))
                }
                (status, _) => Verdict::unknown(match code {
                    Some(c) => format!("unexpected HTTP {status} ({c})"),
                    None => format!("unexpected HTTP {status}"),
                }),
            }
        })
    }
}

/// The `google.rpc.ErrorInfo` entry of an error's details, which carries the reason.
fn error_info(body: &Value) -> Option<&Value> {
    body.pointer("/error/details")?
        .as_array()?
        .iter()
        .find(|d| {
            d.get("@type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.ends_with("google.rpc.ErrorInfo"))
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, ResponseTemplate};

    use super::super::testing::*;
    use super::*;

    /// A format-valid key made at run time: `AIza` + 35 characters.
    fn fake_key(seed: u32) -> Secret {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
        let body: String = (0..35u32)
            .map(|i| alphabet[((i * 37 + seed * 11 + i * i * 3) % 64) as usize] as char)
            .collect();
        Secret::new(format!("AIza{body}").as_bytes())
    }

    /// Google's error body for `reason`, as the Gemini API sends it; the debug detail quotes
    /// the key, as Google's does.
    fn google_error(code: u16, status: &str, reason: &str, key: &Secret) -> ResponseTemplate {
        ResponseTemplate::new(code).set_body_json(json!({"error":{
            "code": code,
            "message": "API key not valid. Please pass a valid API key.",
            "status": status,
            "details":[
                {"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":reason,
                 "domain":"googleapis.com",
                 "metadata":{"service":"generativelanguage.googleapis.com","consumer":"projects/123456789"}},
                {"@type":"type.googleapis.com/google.rpc.DebugInfo",
                 "detail": format!("Invalid API key: {}", expose(key))}]}}))
    }

    #[test]
    fn a_bare_key_matches_the_catalogue() {
        assert!(Google.check_format(&fake_key(1)).is_ok());
        assert!(Google.check_format(&Secret::new(b"AIzaTooShort")).is_err());
    }

    #[test]
    fn verify_reads_googles_400_and_403_reasons() {
        let server = Server::start();
        let live = fake_key(1);
        let dead = fake_key(2);
        let disabled = fake_key(3);
        let restricted = fake_key(4);
        let denied = fake_key(5);
        let with_key = |k: &Secret| header("x-goog-api-key", expose(k).as_str());
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1beta/models"))
                .and(with_key(&live))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "models":[{"name":"models/gemini-x","displayName":"Gemini X"}],
                    "nextPageToken":"abc"}))),
        );
        for (k, status, reason) in [
            (&dead, 400, "API_KEY_INVALID"),
            (&disabled, 403, "SERVICE_DISABLED"),
            (&restricted, 403, "API_KEY_SERVICE_BLOCKED"),
            (&denied, 403, "CONSUMER_SUSPENDED"),
        ] {
            let grpc = if status == 400 {
                "INVALID_ARGUMENT"
            } else {
                "PERMISSION_DENIED"
            };
            server.mount(
                Mock::given(method("GET"))
                    .and(path("/v1beta/models"))
                    .and(with_key(k))
                    .respond_with(google_error(status, grpc, reason, k)),
            );
        }
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &Google, &base, None, &params);

        let v = Google.verify(&cx, &live);
        assert_eq!(v.status, Status::Live, "{v:?}");
        let v = Google.verify(&cx, &dead);
        assert_eq!(v.status, Status::Dead, "{v:?}");
        assert!(v.detail.contains("API_KEY_INVALID"), "{v:?}");
        assert_no_key_in(&v, &dead);
        for k in [&disabled, &restricted] {
            let v = Google.verify(&cx, k);
            assert_eq!(v.status, Status::Live, "{v:?}");
            assert_eq!(v.account.as_deref(), Some("projects/123456789"));
            assert_no_key_in(&v, k);
        }
        let v = Google.verify(&cx, &denied);
        assert_eq!(v.status, Status::Unknown, "{v:?}");
        assert!(v.detail.contains("CONSUMER_SUSPENDED"), "{v:?}");
        for k in [&live, &dead, &disabled, &restricted, &denied] {
            assert_key_only_in_header(&server, k, "x-goog-api-key");
        }
    }

    #[test]
    fn a_400_without_the_invalid_key_reason_is_not_dead() {
        let server = Server::start();
        let key = fake_key(6);
        server.mount(
            Mock::given(method("GET"))
                .and(path("/v1beta/models"))
                .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error":{
                    "code":400,"message":"Invalid page size","status":"INVALID_ARGUMENT"}}))),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let v = Google.verify(&cx(&http, &Google, &base, None, &params), &key);
        assert_eq!(v.status, Status::Unknown, "{v:?}");
        assert!(v.detail.contains("INVALID_ARGUMENT"), "{v:?}");
    }

    #[test]
    fn verify_inconclusive_cases() {
        assert_inconclusive_cases(&Google, &fake_key(7), "GET", "/v1beta/models");
    }

    #[test]
    fn gemini_is_an_alias_and_keys_are_managed_by_hand() {
        assert_eq!(find("gemini").map(|p| p.id()), Some("google"));
        let http = http();
        let base = Base::parse("http://127.0.0.1:9").unwrap();
        let params = Params::new();
        let cx = cx(&http, &Google, &base, None, &params);
        assert!(matches!(
            Google.create(&cx),
            Err(ProviderError::NotSupported { .. })
        ));
        assert!(matches!(
            Google.revoke(&cx, &fake_key(1)),
            Err(ProviderError::NotSupported { .. })
        ));
        let steps = Google.manual().revoke.join("\n");
        assert!(steps.contains("gcloud services api-keys delete"), "{steps}");
    }
}
