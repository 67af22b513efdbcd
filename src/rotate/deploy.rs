//! The commands that put a rotated key into a deployment: one per target the user names. The
//! value always travels through a pipe from `keyguard key get NAME`, never inlined into a command
//! line (argv is readable by every user of the machine, and shells keep history).
//!
//! What each CLI reads from standard input, and where that comes from:
//! - Fly.io: `flyctl secrets import` reads `NAME=VALUE` lines from stdin (fly.io/docs/flyctl/secrets-import).
//! - Netlify: `netlify env:import FILE` reads a .env file by name (netlify-cli env-import source);
//!   `/dev/stdin` is that file on Unix. `env:set` only takes the value as an argument.
//! - Railway: `railway variables --set-from-stdin NAME` (railwayapp CLI 4.x source).
//! - Vercel: `vercel env add NAME ENV` reads the value from stdin when piped; an existing variable
//!   must be removed first (`vercel env rm`).
//! - GitHub Actions: `gh secret set NAME` reads the value from stdin when it is not a terminal.
//! - GCP Secret Manager: `gcloud secrets versions add SECRET --data-file=-` (`-` is stdin).
//! - AWS Secrets Manager: `--secret-string file:///dev/stdin` (the AWS CLI reads `file://` values).
//! - Vault: `vault kv patch … NAME=-` reads the value from stdin.
//! - Doppler: `doppler secrets set NAME` reads the value from stdin when piped.
//! - Render and Heroku have no CLI that reads a value from stdin: their HTTP APIs are called with
//!   curl, which reads the body from stdin with `--data @-`.
//!
//! Vercel, GitHub, gcloud, AWS, Vault and Doppler behaviour is from their CLI help as we know it and
//! was not re-checked against their docs for this module; placeholders in `<…>` are the user's.

/// Deployment targets `--deploy` accepts.
pub const TARGETS: &[&str] = &[
    "vercel",
    "netlify",
    "fly",
    "render",
    "railway",
    "heroku",
    "aws-secrets-manager",
    "gcp-secret-manager",
    "doppler",
    "vault",
    "github-actions",
];

/// Checks a `--deploy` list; the error lists the known targets.
pub fn parse_targets(list: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for t in list.iter().flat_map(|s| s.split(',')).map(str::trim) {
        if t.is_empty() {
            continue;
        }
        let t = t.to_ascii_lowercase();
        if !TARGETS.contains(&t.as_str()) {
            return Err(format!(
                "unknown deployment target `{}` (known: {})",
                crate::sanitize::escape(&t),
                TARGETS.join(", ")
            ));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

pub use crate::run::check_env_name;

/// Which part of a stored key a command sets: all of it, or one half of a two-part key stored as
/// `ID:SECRET` (AWS, Twilio), which apps read from two variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Whole,
    Id,
    Secret,
}

/// For two-part keys: the variable apps read the id half from, by the new key's own id.
pub fn usual_id_env_name(provider: &str, key: &[u8]) -> Option<&'static str> {
    match provider {
        "aws" => Some("AWS_ACCESS_KEY_ID"),
        "twilio" if key.starts_with(b"SK") => Some("TWILIO_API_KEY"),
        "twilio" => Some("TWILIO_ACCOUNT_SID"),
        _ => None,
    }
}

/// The shell commands for `target`, reading the key stored as `profile/name` (all of it, or one
/// part of a two-part key: the value is cut from the stored `ID:SECRET` inside the pipe, so
/// neither half reaches a command line either) and setting the variable `var`.
pub fn commands_for(target: &str, name: &str, profile: &str, var: &str, part: Part) -> Vec<String> {
    // Callers check all three; a shell metacharacter here would be run by the user's shell.
    if check_env_name(var).is_err()
        || crate::keychain::check_name("key name", name).is_err()
        || crate::keychain::check_name("profile", profile).is_err()
    {
        return Vec::new();
    }
    let get = if profile == crate::keychain::DEFAULT_PROFILE {
        format!("keyguard key get {name}")
    } else {
        format!("keyguard key get {name} --profile {profile}")
    };
    let get = match part {
        Part::Whole => get,
        Part::Id => format!("{get} | cut -d: -f1"),
        Part::Secret => format!("{get} | cut -d: -f2-"),
    };
    let as_line = format!("sed 's/^/{var}=/'");
    match target {
        "vercel" => vec![
            format!("vercel env rm {var} production --yes"),
            format!("{get} | vercel env add {var} production"),
        ],
        "netlify" => vec![format!("{get} | {as_line} | netlify env:import /dev/stdin")],
        "fly" => vec![format!("{get} | {as_line} | flyctl secrets import")],
        "render" => vec![format!(
            "{get} | jq -Rc '{{value: .}}' | curl -sS -X PUT -H \"Authorization: Bearer $RENDER_API_KEY\" -H 'Content-Type: application/json' --data @- https://api.render.com/v1/services/<SERVICE_ID>/env-vars/{var}"
        )],
        "railway" => vec![format!("{get} | railway variables --set-from-stdin {var}")],
        "heroku" => vec![format!(
            "{get} | jq -Rc '{{\"{var}\": .}}' | curl -sS -n -X PATCH -H 'Content-Type: application/json' -H 'Accept: application/vnd.heroku+json; version=3' --data @- https://api.heroku.com/apps/<APP>/config-vars"
        )],
        "aws-secrets-manager" => vec![format!(
            "{get} | aws secretsmanager put-secret-value --secret-id <SECRET_ID> --secret-string file:///dev/stdin"
        )],
        "gcp-secret-manager" => vec![format!(
            "{get} | gcloud secrets versions add <SECRET> --data-file=-"
        )],
        "doppler" => vec![format!("{get} | doppler secrets set {var}")],
        "vault" => vec![format!(
            "{get} | vault kv patch -mount=secret <PATH> {var}=-"
        )],
        "github-actions" => vec![format!("{get} | gh secret set {var}")],
        _ => Vec::new(),
    }
}

/// The variable an app usually reads a provider's key from.
pub fn usual_env_name(provider: &str) -> String {
    match provider {
        "github" => "GITHUB_TOKEN".into(),
        "google" => "GEMINI_API_KEY".into(),
        "huggingface" => "HF_TOKEN".into(),
        "slack" => "SLACK_BOT_TOKEN".into(),
        "stripe" => "STRIPE_SECRET_KEY".into(),
        "aws" => "AWS_SECRET_ACCESS_KEY".into(),
        "twilio" => "TWILIO_AUTH_TOKEN".into(),
        "xai" => "XAI_API_KEY".into(),
        other => format!(
            "{}_API_KEY",
            other
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                })
                .collect::<String>()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands(target: &str, name: &str, profile: &str, var: &str) -> Vec<String> {
        commands_for(target, name, profile, var, Part::Whole)
    }

    #[test]
    fn two_part_keys_set_each_half_through_the_pipe() {
        let id = commands_for(
            "github-actions",
            "aws",
            "default",
            "AWS_ACCESS_KEY_ID",
            Part::Id,
        );
        assert_eq!(
            id,
            ["keyguard key get aws | cut -d: -f1 | gh secret set AWS_ACCESS_KEY_ID"]
        );
        let secret = commands_for(
            "fly",
            "aws",
            "default",
            "AWS_SECRET_ACCESS_KEY",
            Part::Secret,
        );
        assert!(
            secret[0].starts_with("keyguard key get aws | cut -d: -f2- | sed"),
            "{secret:?}"
        );
        assert_eq!(usual_id_env_name("aws", b"AKIA"), Some("AWS_ACCESS_KEY_ID"));
        assert_eq!(usual_id_env_name("twilio", b"SKab"), Some("TWILIO_API_KEY"));
        assert_eq!(usual_id_env_name("openai", b"sk-"), None);
    }

    #[test]
    fn every_target_pipes_the_value_and_never_inlines_it() {
        for t in TARGETS {
            let cmds = commands(t, "openai", "prod", "OPENAI_API_KEY");
            assert!(!cmds.is_empty(), "{t}");
            let setting = cmds.last().unwrap();
            assert!(
                setting.starts_with("keyguard key get openai --profile prod | "),
                "{t}: {setting}"
            );
            assert!(!setting.contains("$(keyguard"), "{t}: {setting}");
        }
    }

    #[test]
    fn targets_are_checked() {
        assert_eq!(
            parse_targets(&["vercel,fly".into(), "fly".into()]).unwrap(),
            vec!["vercel", "fly"]
        );
        let e = parse_targets(&["nowhere".into()]).unwrap_err();
        assert!(e.contains("github-actions"), "{e}");
        assert_eq!(usual_env_name("openai"), "OPENAI_API_KEY");
    }

    #[test]
    fn variable_names_that_would_run_code_are_refused() {
        for ok in ["OPENAI_API_KEY", "_X", "a1"] {
            assert!(check_env_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "1X",
            "X;touch pwned",
            "X$(id)",
            "X Y",
            "X`id`",
            "X|sh",
            "X=1",
        ] {
            assert!(check_env_name(bad).is_err(), "{bad}");
            for t in TARGETS {
                assert!(
                    commands(t, "openai", "default", bad).is_empty(),
                    "{t}: {bad}"
                );
            }
        }
        assert!(commands("vercel", "x;id", "default", "X").is_empty());
    }
}
