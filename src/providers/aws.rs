//! AWS access keys. A key is a pair, taken joined as `ACCESS_KEY_ID:SECRET_ACCESS_KEY`; the
//! catalogue finds the halves with `aws-access-key-id` and `aws-secret-access-key` (or together
//! with `aws-credential-pair`). Every request is signed with Signature Version 4, written here
//! (HMAC-SHA256 from `hmac` + `sha2`) and proven by AWS's published SigV4 test-suite vectors in the
//! tests. The SDK's `aws-sigv4` 1.6 would add 13 crates to the build (the smithy runtime and
//! types crates, and `time`, a second date library next to jiff) for one HMAC chain.
//!
//! Verify: `sts:GetCallerIdentity`, a form `POST https://sts.amazonaws.com/` with
//! `Action=GetCallerIdentity&Version=2011-06-15`, signed for us-east-1/sts. AWS documents that it
//! needs no permission and works even under an explicit deny, so any live key answers 200 with
//! `<Account>` and `<Arn>` (the Arn is reported as the account). Errors are XML
//! `<ErrorResponse><Error><Code>`: `InvalidClientTokenId` (HTTP 403) means AWS knows no such
//! access key ID (never issued, deleted, or inactive) — dead. `SignatureDoesNotMatch` (403) means
//! AWS found the ID but the secret is not its secret: this *pair* is dead, but the ID is real and
//! may be live with its true secret, which the detail says. The same code is used for a request
//! signed with a clock more than 15 minutes off, so a reply whose `Date` is more than 5 minutes
//! from ours is `unknown`. Temporary keys (`ASIA…`) need their session token, which keyguard does
//! not take: `unknown`. The exact dead-key messages are not copied (only codes), and whether an
//! inactive key gets `InvalidClientTokenId` is from third-party reports, not AWS's docs.
//!
//! Create and revoke use the IAM Query API (`https://iam.amazonaws.com/`, us-east-1/iam,
//! `Version=2010-05-08`), signed with an admin pair from `KEYGUARD_AWS_ADMIN_KEY` (`ID:SECRET`)
//! or, when none is given, the old key itself: AWS's "manage your own access keys" policy lets
//! a user create, deactivate and delete their own keys, so the leaked key can rotate itself.
//! `CreateAccessKey` answers with the one copy of the new secret; AWS allows two keys per user
//! (`LimitExceeded`, HTTP 409, otherwise). `revoke` sets the key `Inactive` (`UpdateAccessKey`,
//! reversible) and then deletes it (`DeleteAccessKey`, permanent) unless `--param delete=no`. A key
//! revoking itself is deleted in one call (once inactive it could not sign the delete). With an
//! admin credential the owner is `--param user=NAME` or, if not given, looked up with
//! `GetAccessKeyLastUsed`, which returns the key's user name. STS and IAM share one override:
//! `KEYGUARD_AWS_API_BASE` replaces both hosts; requests are still signed for the official host,
//! so a forwarding proxy presents AWS with a valid signature. The console URLs in `manual()` are
//! from AWS's IAM user guide; the CloudTrail event-history URL is not confirmed.

use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use sha2::{Digest, Sha256};

use super::*;

const STS: &str = "https://sts.amazonaws.com";
const STS_HOST: &str = "sts.amazonaws.com";
const IAM: &str = "https://iam.amazonaws.com";
const IAM_HOST: &str = "iam.amazonaws.com";
const REGION: &str = "us-east-1";
const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

pub struct Aws;

const ADMIN: AdminSpec = AdminSpec {
    what: "an AWS access key pair (ACCESS_KEY_ID:SECRET_ACCESS_KEY) allowed to manage the user's access keys (iam:CreateAccessKey, UpdateAccessKey, DeleteAccessKey, GetAccessKeyLastUsed); without one, revoke uses the old key itself",
    env: "KEYGUARD_AWS_ADMIN_KEY",
    rules: &[],
};

const USER: ParamSpec = ParamSpec {
    name: "user",
    help: "the IAM user name that owns the key (default: the user of the signing key, or the old key's user looked up with GetAccessKeyLastUsed)",
};

const DELETE: ParamSpec = ParamSpec {
    name: "delete",
    help: "yes (default): deactivate, then delete the old key; no: only deactivate it (reversible in IAM, and it still counts toward the two-key limit)",
};

impl Provider for Aws {
    fn id(&self) -> &'static str {
        "aws"
    }

    fn name(&self) -> &'static str {
        "AWS"
    }

    fn rules(&self) -> &'static [&'static str] {
        &[
            "aws-access-key-id",
            "aws-secret-access-key",
            "aws-credential-pair",
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
            dashboard: "https://console.aws.amazon.com/iam/home#/security_credentials",
            create: &[
                "Open the IAM console (https://console.aws.amazon.com/iam/), choose Users, the key's user, then the Security credentials tab.",
                "Under Access keys choose \"Create access key\" (a user may hold two; delete an unused one first if both exist).",
                "Copy the access key ID and secret access key, or download the .csv: the secret is shown once.",
            ],
            revoke: &[
                "In the same Security credentials tab, find the old access key ID and choose Actions → Deactivate (reversible).",
                "Once nothing breaks, choose Actions → Delete and confirm with the key ID. Check CloudTrail for its use, and for STS sessions it opened (revoke them on the role, or attach a deny policy).",
            ],
            usage: "https://console.aws.amazon.com/cloudtrail/home#/events",
        }
    }

    fn admin(&self) -> Option<AdminSpec> {
        Some(ADMIN)
    }

    fn params(&self) -> &'static [ParamSpec] {
        &[USER, DELETE]
    }

    fn creates_with_old_key(&self) -> bool {
        true
    }

    fn pairing(&self) -> Option<Pairing> {
        Some(Pairing {
            id_rules: &["aws-access-key-id"],
            secret_rules: &["aws-secret-access-key", "aws-credential-pair"],
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
        if pair.id.starts_with("ASIA") {
            return Verdict::unknown(
                "a temporary (ASIA…) key works only with its session token, which keyguard does not take; check it with `aws sts get-caller-identity`",
            );
        }
        let body = "Action=GetCallerIdentity&Version=2011-06-15";
        let request = signed_post(cx, &cx.base(STS), STS_HOST, "sts", &pair, body);
        verify_reply(cx, key, request, classify_sts)
    }

    fn create(&self, cx: &Cx) -> Result<Created, ProviderError> {
        let admin = Pair::parse_admin(cx.admin(&ADMIN)?)?;
        let user = cx.params.get(USER.name).cloned();
        create_key(cx, &admin, user.as_deref())
    }

    fn create_replacing(&self, cx: &Cx, old: &Secret) -> Result<Created, ProviderError> {
        let old = long_term(old)?;
        let signer = match cx.admin {
            Some(a) => Pair::parse_admin(a)?,
            None => old.clone(),
        };
        let user = owner(cx, &signer, &old)?;
        create_key(cx, &signer, user.as_deref())
    }

    fn revoke(&self, cx: &Cx, key: &Secret) -> Result<Revoked, ProviderError> {
        let old = long_term(key)?;
        let delete = match cx.params.get(DELETE.name).map(|s| s.to_ascii_lowercase()) {
            None => true,
            Some(v) if matches!(v.as_str(), "yes" | "true" | "1") => true,
            Some(v) if matches!(v.as_str(), "no" | "false" | "0") => false,
            Some(_) => {
                return Err(ProviderError::Refused(
                    "--param delete takes yes or no".into(),
                ));
            }
        };
        let signer = match cx.admin {
            Some(a) => Pair::parse_admin(a)?,
            None => old.clone(),
        };
        let itself = signer.id == old.id;
        let user = owner(cx, &signer, &old)?;
        let mut args = vec![("AccessKeyId", old.id.clone())];
        if let Some(u) = &user {
            args.push(("UserName", u.clone()));
        }
        let id = crate::sanitize::escape(&old.id).into_owned();
        // A key that signs its own deactivation can sign nothing after it, so it deletes itself
        // in one call, or (delete=no) only deactivates.
        if !(itself && delete) {
            let mut update = args.clone();
            update.push(("Status", "Inactive".into()));
            iam(cx, &signer, "UpdateAccessKey", &update)
                .map_err(|e| refine(e, &id, "deactivating"))?;
            if !delete {
                return Ok(Revoked {
                    detail: format!(
                        "set access key {id} Inactive (UpdateAccessKey); it can be reactivated in IAM, and deleted later"
                    ),
                    permanent: false,
                });
            }
        }
        match iam(cx, &signer, "DeleteAccessKey", &args) {
            Ok(_) => Ok(Revoked {
                detail: if itself {
                    format!("access key {id} deleted itself (DeleteAccessKey)")
                } else {
                    format!("set access key {id} Inactive, then deleted it (DeleteAccessKey)")
                },
                permanent: true,
            }),
            // Deactivated but not deleted: the key no longer works, which is what revoking
            // promised; say what is left to do.
            Err(ProviderError::Refused(why)) if !itself => Ok(Revoked {
                detail: format!(
                    "set access key {id} Inactive (it no longer works), but deleting it failed ({why}); delete it in IAM"
                ),
                permanent: false,
            }),
            Err(e) => Err(refine(e, &id, "deleting")),
        }
    }
}

/// An access key ID and its secret.
#[derive(Clone)]
struct Pair {
    id: String,
    secret: String,
}

impl Pair {
    fn parse(key: &Secret) -> Result<Pair, String> {
        let text = std::str::from_utf8(key.expose()).unwrap_or_default();
        let redacted = crate::finding::redact(key.expose(), 0);
        let Some((id, secret)) = text.split_once(':') else {
            if is_access_key_id(text) {
                return Err(format!(
                    "{redacted} is an AWS access key ID alone: verifying it needs its secret access key too, given as ACCESS_KEY_ID:SECRET_ACCESS_KEY"
                ));
            }
            return Err(format!(
                "{redacted} does not look like an AWS key (expected ACCESS_KEY_ID:SECRET_ACCESS_KEY)"
            ));
        };
        if !is_access_key_id(id) {
            return Err(format!(
                "{redacted} does not start with an AWS access key ID (AKIA… or ASIA…, 20 characters)"
            ));
        }
        let secret_ok = secret.len() == 40
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+');
        if !secret_ok {
            return Err(format!(
                "{redacted}: the part after `:` is not an AWS secret access key (40 characters of A-Z, a-z, 0-9, / and +)"
            ));
        }
        Ok(Pair {
            id: id.to_string(),
            secret: secret.to_string(),
        })
    }

    fn parse_admin(admin: &Secret) -> Result<Pair, ProviderError> {
        Pair::parse(admin).map_err(|why| {
            ProviderError::Refused(format!(
                "{} must hold ACCESS_KEY_ID:SECRET_ACCESS_KEY: {why}",
                ADMIN.env
            ))
        })
    }
}

/// The pair of an IAM user's access key: temporary (`ASIA…`) keys are not in IAM, cannot be
/// deleted, and expire on their own.
fn long_term(key: &Secret) -> Result<Pair, ProviderError> {
    let pair = Pair::parse(key).map_err(ProviderError::Refused)?;
    if pair.id.starts_with("ASIA") {
        return Err(ProviderError::Refused(
            "a temporary (ASIA…) key is not an IAM access key: it expires on its own; to cut it off now, revoke the role's active sessions in IAM or attach a deny policy to the role".into(),
        ));
    }
    Ok(pair)
}

/// The catalogue's access key ID rule, on the whole value.
fn is_access_key_id(s: &str) -> bool {
    crate::keychain::matching_rules(s.as_bytes())
        .iter()
        .any(|r| r == "aws-access-key-id")
}

fn classify_sts(reply: &Reply) -> Verdict {
    if let Some(why) = reply.inconclusive() {
        return Verdict::unknown(why);
    }
    let body = String::from_utf8_lossy(&reply.body);
    if reply.is_success() {
        let arn = xml_text(&body, "Arn");
        let detail = match xml_text(&body, "Account") {
            Some(a) => format!("HTTP {}, account {a}", reply.status),
            None => format!("HTTP {}", reply.status),
        };
        return Verdict::live(arn, detail);
    }
    let code = xml_code(&body);
    match code.as_deref() {
        Some("InvalidClientTokenId") => Verdict::dead(format!(
            "HTTP {} (InvalidClientTokenId): AWS knows no such access key ID (never issued, deleted or inactive)",
            reply.status
        )),
        Some("SignatureDoesNotMatch") => match clock_skew(reply) {
            Some(minutes) => Verdict::unknown(format!(
                "HTTP {} (SignatureDoesNotMatch) with this machine's clock {minutes} minutes off AWS's: fix the clock and check again",
                reply.status
            )),
            None => Verdict::dead(format!(
                "HTTP {} (SignatureDoesNotMatch): the access key ID exists, but this secret is not its secret, so this pair is dead; the ID with its real secret may still be live",
                reply.status
            )),
        },
        Some(c) => Verdict::unknown(format!("unexpected HTTP {} ({c})", reply.status)),
        None => Verdict::unknown(format!("unexpected HTTP {}", reply.status)),
    }
}

/// Minutes between AWS's `Date` and this machine's clock, when more than 5.
fn clock_skew(reply: &Reply) -> Option<i64> {
    let date = reply.header("date")?;
    let theirs = jiff::fmt::rfc2822::parse(&date).ok()?.timestamp();
    let minutes = (jiff::Timestamp::now().as_second() - theirs.as_second()).abs() / 60;
    (minutes > 5).then_some(minutes)
}

/// Creates an access key for `user` (or the signer's own user).
fn create_key(cx: &Cx, signer: &Pair, user: Option<&str>) -> Result<Created, ProviderError> {
    let mut args = Vec::new();
    if let Some(u) = user {
        args.push(("UserName", u.to_string()));
    }
    let reply = iam(cx, signer, "CreateAccessKey", &args).map_err(|e| match e {
        ProviderError::Refused(why) if why.contains("LimitExceeded") => ProviderError::Refused(format!(
            "{why}: AWS allows two access keys per user and this user has two; delete the one not in use (IAM → Users → Security credentials), then run again"
        )),
        other => other,
    })?;
    let body = String::from_utf8_lossy(&reply.body);
    let (Some(id), Some(secret)) = (
        xml_text(&body, "AccessKeyId"),
        xml_text(&body, "SecretAccessKey"),
    ) else {
        return Err(ProviderError::Refused(
            "IAM answered CreateAccessKey without a key pair".into(),
        ));
    };
    let owner = xml_text(&body, "UserName");
    Ok(Created {
        key: Secret::new(format!("{id}:{secret}").as_bytes()),
        detail: match &owner {
            Some(u) => format!("access key {id} for IAM user {u}"),
            None => format!("access key {id}"),
        },
        id: Some(id),
        name: None,
    })
}

/// The user that owns `old`, when `signer` is another credential: the `user` param, or IAM's
/// answer to `GetAccessKeyLastUsed`. `None` lets IAM default to the signer's own user.
fn owner(cx: &Cx, signer: &Pair, old: &Pair) -> Result<Option<String>, ProviderError> {
    if let Some(u) = cx.params.get(USER.name) {
        return Ok(Some(u.clone()));
    }
    if signer.id == old.id {
        return Ok(None);
    }
    let reply = iam(
        cx,
        signer,
        "GetAccessKeyLastUsed",
        &[("AccessKeyId", old.id.clone())],
    );
    match reply {
        Ok(r) => match xml_text(&String::from_utf8_lossy(&r.body), "UserName") {
            Some(u) => Ok(Some(u)),
            None => Err(ProviderError::NeedsParam {
                provider: "aws",
                name: USER.name,
                help: USER.help,
            }),
        },
        Err(ProviderError::Call(e)) => Err(ProviderError::Call(e)),
        Err(_) => Err(ProviderError::NeedsParam {
            provider: "aws",
            name: USER.name,
            help: USER.help,
        }),
    }
}

/// Adds what IAM's error codes mean for a revocation.
fn refine(e: ProviderError, id: &str, doing: &str) -> ProviderError {
    match e {
        ProviderError::Refused(why) if why.contains("NoSuchEntity") => {
            ProviderError::Refused(format!(
                "{doing} access key {id}: {why}: IAM finds no such key for this user; it may be deleted already, or belong to another user (--param user=NAME)"
            ))
        }
        ProviderError::Refused(why) => {
            ProviderError::Refused(format!("{doing} access key {id}: {why}"))
        }
        other => other,
    }
}

/// One IAM Query API call; a non-2xx answer is `Refused` with IAM's error code.
fn iam(
    cx: &Cx,
    signer: &Pair,
    action: &str,
    args: &[(&str, String)],
) -> Result<Reply, ProviderError> {
    let mut body = format!("Action={action}&Version=2010-05-08");
    for (k, v) in args {
        body.push_str(&format!("&{k}={}", uri_encode(v)));
    }
    let request = signed_post(cx, &cx.base(IAM), IAM_HOST, "iam", signer, &body);
    let reply = cx.http.send(request)?;
    if reply.is_success() {
        return Ok(reply);
    }
    let code = xml_code(&String::from_utf8_lossy(&reply.body));
    Err(ProviderError::Refused(match code {
        Some(c) => format!("IAM {action}: HTTP {} ({c})", reply.status),
        None => format!("IAM {action}: HTTP {}", reply.status),
    }))
}

/// A form POST to `/` under `base`, signed for `host` (the official one: see the module doc).
fn signed_post(
    cx: &Cx,
    base: &Base,
    host: &str,
    service: &str,
    pair: &Pair,
    body: &str,
) -> reqwest::blocking::RequestBuilder {
    let amz_date = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let scope = Scope {
        region: REGION,
        service,
        amz_date: &amz_date,
    };
    let authorization = authorization(
        &scope,
        pair,
        "POST",
        "/",
        "",
        &[
            ("content-type", FORM),
            ("host", host),
            ("x-amz-date", &amz_date),
        ],
        body.as_bytes(),
    );
    cx.http
        .request(Method::POST, base, "/")
        .header(reqwest::header::CONTENT_TYPE, FORM)
        .header("x-amz-date", amz_date.as_str())
        .header(reqwest::header::AUTHORIZATION, authorization)
        .body(body.to_string())
}

/// Where and when a signature is valid.
struct Scope<'a> {
    region: &'a str,
    service: &'a str,
    /// `YYYYMMDDTHHMMSSZ`, also sent as `x-amz-date`.
    amz_date: &'a str,
}

/// The SigV4 `Authorization` header for a request: `path` already URI-encoded, `query` as sent
/// (`a=1&b=2`, encoded), `headers` every signed header (names any case).
fn authorization(
    scope: &Scope,
    pair: &Pair,
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    payload: &[u8],
) -> String {
    let mut canonical_headers: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| {
            (
                n.to_ascii_lowercase(),
                v.split_whitespace().collect::<Vec<_>>().join(" "),
            )
        })
        .collect();
    canonical_headers.sort();
    let signed_headers = canonical_headers
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let mut query_pairs: Vec<(&str, &str)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    query_pairs.sort();
    let canonical_query = query_pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut canonical = format!("{method}\n{path}\n{canonical_query}\n");
    for (n, v) in &canonical_headers {
        canonical.push_str(&format!("{n}:{v}\n"));
    }
    canonical.push_str(&format!(
        "\n{signed_headers}\n{}",
        hex(&Sha256::digest(payload))
    ));
    let date = &scope.amz_date[..8];
    let credential_scope = format!("{date}/{}/{}/aws4_request", scope.region, scope.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{credential_scope}\n{}",
        scope.amz_date,
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{}", pair.secret).as_bytes(), date.as_bytes());
    for part in [scope.region, scope.service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let signature = hex(&hmac(&key, string_to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{credential_scope}, SignedHeaders={signed_headers}, Signature={signature}",
        pair.id
    )
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// SigV4's URI encoding: everything but unreserved characters, upper-case hex.
fn uri_encode(s: &str) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The text of the first `<tag>…</tag>` in an AWS XML reply (they are small and flat enough that
/// a parser would add nothing), unescaped, at most 200 characters.
fn xml_text(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = body.find(&open)? + open.len();
    let end = start + body[start..].find(&close)?;
    let text = body[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&");
    let text = text.trim();
    (!text.is_empty()).then(|| text.chars().take(200).collect())
}

/// An AWS error code (`<Error><Code>…</Code>`), only when it looks like one.
fn xml_code(body: &str) -> Option<String> {
    let code = xml_text(body, "Code")?;
    let code_like =
        code.len() <= 64 && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.');
    code_like.then_some(code)
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{body_string, header, method, path};
    use wiremock::{Mock, ResponseTemplate};

    use super::super::testing::*;
    use super::*;

    const ID_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const SECRET_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/+";

    /// A format-valid fake pair, built at run time.
    fn fake_pair(seed: u32, prefix: &str) -> Pair {
        let id: String = (0..16u32)
            .map(|i| ID_CHARS[((i * 13 + seed * 7 + i * i) % 32) as usize] as char)
            .collect();
        let secret: String = (0..40u32)
            .map(|i| SECRET_CHARS[((i * 29 + seed * 11 + i * i * 3) % 64) as usize] as char)
            .collect();
        Pair {
            id: format!("{prefix}{id}"),
            secret,
        }
    }

    fn joined(p: &Pair) -> Secret {
        Secret::new(format!("{}:{}", p.id, p.secret).as_bytes())
    }

    /// AWS's public SigV4 test-suite credentials (aws-sig-v4-test-suite, as shipped in the AWS
    /// SDKs' fixtures): public test data, not a key. Built from parts so the file holds no
    /// key-shaped literal.
    fn suite_pair() -> Pair {
        Pair {
            id: ["AKID", "EXAMPLE"].concat(),
            secret: ["wJalrXUtnFEMI", "/K7MDENG+bPxRfiCY", "EXAMPLEKEY"].concat(),
        }
    }

    const SUITE_DATE: &str = "20150830T123600Z";

    fn suite(method: &str, query: &str, headers: &[(&str, &str)], payload: &[u8]) -> String {
        let scope = Scope {
            region: "us-east-1",
            service: "service",
            amz_date: SUITE_DATE,
        };
        let mut all = vec![
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", SUITE_DATE),
        ];
        all.extend_from_slice(headers);
        authorization(&scope, &suite_pair(), method, "/", query, &all, payload)
    }

    /// The signature of each case, from AWS's SigV4 test suite (get-vanilla, post-vanilla,
    /// get-vanilla-query-order-key-case, post-vanilla-query, post-x-www-form-urlencoded).
    #[test]
    fn signatures_match_the_aws_sigv4_test_suite() {
        let prefix =
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ";
        let cases = [
            (
                suite("GET", "", &[], b""),
                "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            ),
            (
                suite("POST", "", &[], b""),
                "SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
            ),
            (
                suite("GET", "Param2=value2&Param1=value1", &[], b""),
                "SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
            ),
            (
                suite("POST", "Param1=value1", &[], b""),
                "SignedHeaders=host;x-amz-date, Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
            ),
            (
                suite(
                    "POST",
                    "",
                    &[("Content-Type", "application/x-www-form-urlencoded")],
                    b"Param1=value1",
                ),
                "SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, format!("{prefix}{want}"));
        }
    }

    #[test]
    fn format_needs_the_pair() {
        let p = fake_pair(1, "AKIA");
        assert!(Aws.check_format(&joined(&p)).is_ok());
        let alone = Aws.check_format(&Secret::new(p.id.as_bytes())).unwrap_err();
        assert!(alone.contains("secret access key"), "{alone}");
        assert!(!alone.contains(&p.id), "{alone}");
        let short = Secret::new(format!("{}:{}", p.id, &p.secret[..30]).as_bytes());
        assert!(Aws.check_format(&short).is_err());
        assert!(Aws.check_format(&Secret::new(b"hello:world")).is_err());
        // A joined pair is recognised as AWS by format, for `keyguard verify` on stdin.
        assert_eq!(identify(&joined(&p)).map(|(p, _)| p.id()), Some("aws"));
    }

    fn sts_ok(arn: &str) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_string(format!(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <GetCallerIdentityResult>\n    <Arn>{arn}</Arn>\n    <UserId>AIDAEXAMPLEUSERID</UserId>\n    <Account>123456789012</Account>\n  </GetCallerIdentityResult>\n  <ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>\n</GetCallerIdentityResponse>"
        ))
    }

    fn sts_error(code: &str) -> ResponseTemplate {
        ResponseTemplate::new(403).set_body_string(format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>{code}</Code>\n    <Message>The request was refused.</Message>\n  </Error>\n  <RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>\n</ErrorResponse>"
        ))
    }

    /// The credential in a request's Authorization header.
    fn credential_of(r: &wiremock::Request) -> String {
        let auth = r.headers.get("authorization").unwrap().to_str().unwrap();
        auth.split("Credential=")
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .to_string()
    }

    /// Recomputes the signature of a request the server received, signed for `host`.
    fn assert_signed_by(r: &wiremock::Request, pair: &Pair, host: &str, service: &str) {
        let amz_date = r.headers.get("x-amz-date").unwrap().to_str().unwrap();
        let scope = Scope {
            region: "us-east-1",
            service,
            amz_date,
        };
        let want = authorization(
            &scope,
            pair,
            "POST",
            "/",
            "",
            &[
                ("content-type", FORM),
                ("host", host),
                ("x-amz-date", amz_date),
            ],
            &r.body,
        );
        assert_eq!(
            r.headers.get("authorization").unwrap().to_str().unwrap(),
            want
        );
    }

    #[test]
    fn verify_live_dead_wrong_secret_and_temporary() {
        let server = Server::start();
        let live = fake_pair(1, "AKIA");
        let unknown_id = fake_pair(2, "AKIA");
        let wrong_secret = fake_pair(3, "AKIA");
        let cred = |p: &Pair| format!("{}/", p.id);
        let body = "Action=GetCallerIdentity&Version=2011-06-15";
        server.mount(
            Mock::given(method("POST"))
                .and(path("/"))
                .and(body_string(body))
                .and(header("content-type", FORM))
                .and(wiremock::matchers::header_regex(
                    "authorization",
                    &format!("^AWS4-HMAC-SHA256 Credential={}", cred(&live)),
                ))
                .respond_with(sts_ok("arn:aws:iam::123456789012:user/alice")),
        );
        server.mount(
            Mock::given(method("POST"))
                .and(path("/"))
                .and(wiremock::matchers::header_regex(
                    "authorization",
                    &format!("Credential={}", cred(&wrong_secret)),
                ))
                .respond_with(sts_error("SignatureDoesNotMatch")),
        );
        server.mount(
            Mock::given(method("POST"))
                .and(path("/"))
                .respond_with(sts_error("InvalidClientTokenId")),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &Aws, &base, None, &params);

        let v = Aws.verify(&cx, &joined(&live));
        assert_eq!(v.status, Status::Live, "{v:?}");
        assert_eq!(
            v.account.as_deref(),
            Some("arn:aws:iam::123456789012:user/alice")
        );
        assert!(v.detail.contains("123456789012"), "{v:?}");
        let v = Aws.verify(&cx, &joined(&unknown_id));
        assert_eq!(v.status, Status::Dead, "{v:?}");
        assert!(v.detail.contains("InvalidClientTokenId"), "{v:?}");
        let v = Aws.verify(&cx, &joined(&wrong_secret));
        assert_eq!(v.status, Status::Dead, "{v:?}");
        assert!(
            v.detail.contains("SignatureDoesNotMatch") && v.detail.contains("ID exists"),
            "{v:?}"
        );
        let requests = server.requests();
        assert_eq!(requests.len(), 3);
        assert_signed_by(&requests[0], &live, STS_HOST, "sts");
        assert!(credential_of(&requests[0]).ends_with("/us-east-1/sts/aws4_request"));
        // The secret never travels: only the ID, in the signature's credential.
        for (r, p) in requests.iter().zip([&live, &unknown_id, &wrong_secret]) {
            let all = format!("{:?} {}", r.headers, String::from_utf8_lossy(&r.body));
            assert!(!all.contains(&p.secret), "the secret was sent");
        }

        let temporary = fake_pair(4, "ASIA");
        let v = Aws.verify(&cx, &joined(&temporary));
        assert_eq!(v.status, Status::Unknown, "{v:?}");
        assert!(v.detail.contains("session token"), "{v:?}");
        let Err(ProviderError::Refused(why)) = Aws.revoke(&cx, &joined(&temporary)) else {
            panic!("a temporary key is not revoked through IAM");
        };
        assert!(why.contains("sessions"), "{why}");
        assert_eq!(server.requests().len(), 3, "a temporary key is not sent");
    }

    #[test]
    fn a_wrong_clock_is_not_a_dead_key() {
        let server = Server::start();
        server.mount(
            Mock::given(method("POST")).and(path("/")).respond_with(
                sts_error("SignatureDoesNotMatch")
                    .insert_header("date", "Mon, 02 Jan 2006 15:04:05 GMT"),
            ),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &Aws, &base, None, &params);
        let v = Aws.verify(&cx, &joined(&fake_pair(5, "AKIA")));
        assert_eq!(v.status, Status::Unknown, "{v:?}");
        assert!(v.detail.contains("clock"), "{v:?}");
    }

    #[test]
    fn verify_inconclusive_cases() {
        assert_inconclusive_cases(&Aws, &joined(&fake_pair(6, "AKIA")), "POST", "/");
    }

    fn iam_ok(action: &str, result: &str) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_string(format!(
            "<{action}Response xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ResponseMetadata></{action}Response>"
        ))
    }

    fn iam_error(status: u16, code: &str) -> ResponseTemplate {
        ResponseTemplate::new(status).set_body_string(format!(
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>Refused.</Message></Error><RequestId>7a62c49f</RequestId></ErrorResponse>"
        ))
    }

    fn form(action: &str, rest: &str) -> String {
        format!("Action={action}&Version=2010-05-08{rest}")
    }

    #[test]
    fn rotate_with_the_old_key_itself() {
        let server = Server::start();
        let old = fake_pair(7, "AKIA");
        let new = fake_pair(8, "AKIA");
        server.mount(
            Mock::given(method("POST"))
                .and(path("/"))
                .and(body_string(form("CreateAccessKey", "")))
                .respond_with(iam_ok(
                    "CreateAccessKey",
                    &format!(
                        "<AccessKey><UserName>alice</UserName><AccessKeyId>{}</AccessKeyId><Status>Active</Status><SecretAccessKey>{}</SecretAccessKey></AccessKey>",
                        new.id, new.secret
                    ),
                )),
        );
        server.mount(
            Mock::given(method("POST"))
                .and(path("/"))
                .and(body_string(form(
                    "DeleteAccessKey",
                    &format!("&AccessKeyId={}", old.id),
                )))
                .respond_with(iam_ok("DeleteAccessKey", "")),
        );
        let http = http();
        let base = server.base();
        let params = Params::new();
        let cx = cx(&http, &Aws, &base, None, &params);
        let created = Aws.create_replacing(&cx, &joined(&old)).unwrap();
        assert_eq!(created.key, joined(&new));
        assert_eq!(created.id.as_deref(), Some(new.id.as_str()));
        assert!(created.detail.contains("alice"), "{}", created.detail);
        let revoked = Aws.revoke(&cx, &joined(&old)).unwrap();
        assert!(revoked.permanent, "{revoked:?}");
        assert!(revoked.detail.contains("deleted itself"), "{revoked:?}");
        let requests = server.requests();
        assert_eq!(requests.len(), 2, "one call each; nothing else");
        for r in &requests {
            assert_signed_by(r, &old, IAM_HOST, "iam");
            assert!(credential_of(r).ends_with("/us-east-1/iam/aws4_request"));
        }
        // Without an admin key, create alone has no credential to sign with.
        assert!(matches!(
            Aws.create(&cx),
            Err(ProviderError::NeedsAdmin {
                env: "KEYGUARD_AWS_ADMIN_KEY",
                ..
            })
        ));
    }

    #[test]
    fn revoke_with_an_admin_deactivates_then_deletes_the_owners_key() {
        let server = Server::start();
        let old = fake_pair(9, "AKIA");
        let admin = fake_pair(10, "AKIA");
        server.mount(
            Mock::given(method("POST"))
                .and(path("/"))
                .and(body_string(form(
                    "GetAccessKeyLastUsed",
                    &format!("&AccessKeyId={}", old.id),
                )))
                .respond_with(iam_ok(
                    "GetAccessKeyLastUsed",
                    "<UserName>bob+ci@example</UserName><AccessKeyLastUsed><Region>N/A</Region></AccessKeyLastUsed>",
                )),
        );
        let user = "&UserName=bob%2Bci%40example";
        server.mount(
            Mock::given(method("POST"))
                .and(path("/"))
                .and(body_string(form(
                    "UpdateAccessKey",
                    &format!("&AccessKeyId={}{user}&Status=Inactive", old.id),
                )))
                .respond_with(iam_ok("UpdateAccessKey", "")),
        );
        server.mount(
            Mock::given(method("POST"))
                .and(path("/"))
                .and(body_string(form(
                    "DeleteAccessKey",
                    &format!("&AccessKeyId={}{user}", old.id),
                )))
                .respond_with(iam_ok("DeleteAccessKey", "")),
        );
        let http = http();
        let base = server.base();
        let admin_key = joined(&admin);
        let params = Params::new();
        let cx = cx(&http, &Aws, &base, Some(&admin_key), &params);
        let revoked = Aws.revoke(&cx, &joined(&old)).unwrap();
        assert!(revoked.permanent);
        assert!(
            revoked.detail.contains("Inactive, then deleted"),
            "{revoked:?}"
        );
        let requests = server.requests();
        assert_eq!(requests.len(), 3);
        for r in &requests {
            assert_signed_by(r, &admin, IAM_HOST, "iam");
            let all = format!("{:?} {}", r.headers, String::from_utf8_lossy(&r.body));
            assert!(!all.contains(&old.secret), "the old secret was sent");
        }

        // delete=no stops at Inactive and says it is reversible.
        let mut keep = Params::new();
        keep.insert("delete".into(), "no".into());
        keep.insert("user".into(), "bob+ci@example".into());
        let cx = super::super::testing::cx(&http, &Aws, &base, Some(&admin_key), &keep);
        let revoked = Aws.revoke(&cx, &joined(&old)).unwrap();
        assert!(!revoked.permanent);
        assert!(revoked.detail.contains("reactivated"), "{revoked:?}");
        assert_eq!(server.requests().len(), 4, "no lookup, no delete");
    }

    #[test]
    fn a_key_deactivated_but_not_deleted_is_reported_as_reversible() {
        let server = Server::start();
        let old = fake_pair(14, "AKIA");
        server.mount(
            Mock::given(method("POST"))
                .and(path("/"))
                .and(body_string(form(
                    "UpdateAccessKey",
                    &format!("&AccessKeyId={}&UserName=carol&Status=Inactive", old.id),
                )))
                .respond_with(iam_ok("UpdateAccessKey", "")),
        );
        server.mount(
            Mock::given(method("POST"))
                .and(path("/"))
                .respond_with(iam_error(403, "AccessDenied")),
        );
        let http = http();
        let base = server.base();
        let admin = joined(&fake_pair(15, "AKIA"));
        let mut params = Params::new();
        params.insert("user".into(), "carol".into());
        let cx = cx(&http, &Aws, &base, Some(&admin), &params);
        let revoked = Aws.revoke(&cx, &joined(&old)).unwrap();
        assert!(!revoked.permanent, "{revoked:?}");
        assert!(
            revoked.detail.contains("Inactive") && revoked.detail.contains("AccessDenied"),
            "{revoked:?}"
        );
    }

    #[test]
    fn iam_refusals_carry_the_code_and_a_hint() {
        let server = Server::start();
        server.mount(
            Mock::given(method("POST"))
                .and(path("/"))
                .and(body_string(form("CreateAccessKey", "&UserName=alice")))
                .respond_with(iam_error(409, "LimitExceeded")),
        );
        server.mount(
            Mock::given(method("POST"))
                .and(path("/"))
                .respond_with(iam_error(404, "NoSuchEntity")),
        );
        let http = http();
        let base = server.base();
        let admin = joined(&fake_pair(11, "AKIA"));
        let mut params = Params::new();
        params.insert("user".into(), "alice".into());
        let cx = cx(&http, &Aws, &base, Some(&admin), &params);
        let Err(ProviderError::Refused(why)) = Aws.create(&cx) else {
            panic!("LimitExceeded must refuse");
        };
        assert!(
            why.contains("LimitExceeded") && why.contains("two access keys"),
            "{why}"
        );
        assert!(
            !why.contains("Refused."),
            "the message is not copied: {why}"
        );
        let Err(ProviderError::Refused(why)) = Aws.revoke(&cx, &joined(&fake_pair(12, "AKIA")))
        else {
            panic!("NoSuchEntity must refuse");
        };
        assert!(why.contains("NoSuchEntity"), "{why}");

        // An admin credential that is not a pair is named, not sent.
        let bad = Secret::new(b"not-a-pair");
        let cx = super::super::testing::cx(&http, &Aws, &base, Some(&bad), &params);
        assert!(matches!(Aws.create(&cx), Err(ProviderError::Refused(_))));
        // Without `user`, an admin that cannot look the owner up asks for it.
        let none = Params::new();
        let cx = super::super::testing::cx(&http, &Aws, &base, Some(&admin), &none);
        assert!(matches!(
            Aws.revoke(&cx, &joined(&fake_pair(13, "AKIA"))),
            Err(ProviderError::NeedsParam { name: "user", .. })
        ));
    }

    #[test]
    fn xml_fields_are_read_and_unescaped() {
        let body = "<a><Arn>arn:aws:iam::1:user/a&amp;b</Arn><Code>Bad Code!</Code></a>";
        assert_eq!(
            xml_text(body, "Arn").as_deref(),
            Some("arn:aws:iam::1:user/a&b")
        );
        assert_eq!(xml_code(body), None, "not code-like");
        assert_eq!(uri_encode("a b+c/~"), "a%20b%2Bc%2F~");
    }
}
