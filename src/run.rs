//! What `keyguard run` puts in a command's environment: the `[env]` table of keyguard.toml
//! (variable → key name) and env files, whose values may be references (`keyguard:NAME`) to keys
//! in the keychain. Also the env-file reader `key import` rewrites with. Knows nothing of stores
//! or processes: resolving a reference is the caller's closure.

use crate::finding::Secret;
use crate::keychain::check_name;

/// How an env file refers to a keychain entry: `OPENAI_API_KEY=keyguard:openai`.
pub const REFERENCE_PREFIX: &str = "keyguard:";

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{origin} line {line}: {message}")]
    Syntax {
        origin: String,
        line: usize,
        message: String,
    },
    #[error("{origin}: [env] {var} must be a key name in quotes, e.g. {var} = \"openai\"")]
    BadEnvTable { origin: String, var: String },
    /// The value is not shown: what is there instead of a name is often the key itself.
    #[error(
        "{origin}: [env] {var}: the value is not a key name; if it is a key, store it with `keyguard key set {var} --from-env {var}` (or --stdin) and remove it from {origin}"
    )]
    NotAKeyName { origin: String, var: String },
    #[error(
        "{var} refers to key `{name}`, which is not in profile `{profile}` (see `keyguard key list`; store it with `keyguard key set {name} --profile {profile}`); the command was not started"
    )]
    UnknownKey {
        var: String,
        name: String,
        profile: String,
    },
}

/// A variable's value: literal text, or a key to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    Plain(String),
    Key(String),
}

/// One `NAME=value` line of an env file, with where its value sits in the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvLine {
    /// 1-based.
    pub line: usize,
    pub var: String,
    /// The value, unquoted.
    pub value: String,
    /// Byte span of the value as written (with its quotes) within the line.
    pub span: (usize, usize),
}

/// Reads `NAME=value` lines; blank lines and `#` comments are skipped, `export ` is allowed,
/// values may be in single or double quotes. Lines are split on `\n`.
pub fn parse_env_file(text: &str, origin: &str) -> Result<Vec<EnvLine>, RunError> {
    let mut out = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let syntax = |message: &str| RunError::Syntax {
            origin: origin.to_string(),
            line: i + 1,
            message: message.to_string(),
        };
        let indent = line.len() - trimmed.len();
        let (body, body_at) = match trimmed.strip_prefix("export ") {
            Some(rest) => (rest.trim_start(), line.len() - rest.trim_start().len()),
            None => (trimmed, indent),
        };
        let Some(eq) = body.find('=') else {
            return Err(syntax("expected NAME=value"));
        };
        let var = body[..eq].trim_end();
        if var.is_empty()
            || !var
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
        {
            return Err(syntax("a variable name is letters, digits and `_`"));
        }
        let after = &body[eq + 1..];
        let lead = after.len() - after.trim_start().len();
        let start = body_at + eq + 1 + lead;
        let rest = after.trim_start();
        let (value, len) = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => {
                // In double quotes `\"` and `\\` are escapes (as dotenv reads them); single
                // quotes take everything literally.
                let mut value = String::new();
                let mut end = None;
                let mut chars = rest.char_indices().skip(1);
                while let Some((at, c)) = chars.next() {
                    if c == q {
                        end = Some(at);
                        break;
                    }
                    if q == '"'
                        && c == '\\'
                        && let Some(e @ ('"' | '\\')) = rest[at + 1..].chars().next()
                    {
                        value.push(e);
                        chars.next();
                        continue;
                    }
                    value.push(c);
                }
                let Some(end) = end else {
                    return Err(syntax("unterminated quote"));
                };
                let tail = rest[end + 1..].trim_start();
                if !tail.is_empty() && !tail.starts_with('#') {
                    return Err(syntax(
                        "unexpected text after the closing quote (only a `#` comment may follow)",
                    ));
                }
                (value, end + 1)
            }
            _ => {
                // An unquoted value ends where whitespace is followed by `#` (a comment), or at
                // the end of the line; trailing whitespace is not part of it.
                let cut = rest
                    .char_indices()
                    .find(|&(at, c)| {
                        c.is_whitespace() && rest[at + c.len_utf8()..].starts_with('#')
                    })
                    .map_or(rest.len(), |(at, _)| at);
                let v = rest[..cut].trim_end();
                (v.to_string(), v.len())
            }
        };
        out.push(EnvLine {
            line: i + 1,
            var: var.to_string(),
            value,
            span: (start, start + len),
        });
    }
    Ok(out)
}

/// Checks `var` is a plain environment variable name (`[A-Za-z_][A-Za-z0-9_]*`, at most 128).
/// `rotate` pastes it unquoted into the commands the user is told to run, and it can come from a
/// repository's keyguard.toml or a state file there: anything else could make those commands run
/// code. `serve` takes the same names in `env:VAR` key references.
pub fn check_env_name(var: &str) -> Result<(), String> {
    let mut bytes = var.bytes();
    let ok = var.len() <= 128
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not an environment variable name (letters, digits and _, not starting with a digit)",
            crate::sanitize::escape(var)
        ))
    }
}

/// Whether `name` can be a key's name: a valid name that is not itself a key (a value written
/// where the name belongs must not reach a message or a store lookup).
pub(crate) fn is_key_name(name: &str) -> bool {
    check_name("key name", name).is_ok() && crate::keychain::identify(name.as_bytes()).is_none()
}

/// The env file's lines as values: `keyguard:NAME` is a key reference. A reference whose name
/// is not a key name is an error naming the line, never the text.
pub fn env_file_values(
    lines: &[EnvLine],
    origin: &str,
) -> Result<Vec<(String, EnvValue)>, RunError> {
    lines
        .iter()
        .map(|l| {
            let v = match l.value.strip_prefix(REFERENCE_PREFIX) {
                Some(name) => {
                    if !is_key_name(name) {
                        return Err(RunError::Syntax {
                            origin: origin.to_string(),
                            line: l.line,
                            message: format!(
                                "{}: `{REFERENCE_PREFIX}` must be followed by a key name (letters, digits, `-`, `_` and `.`, at most 64 characters)",
                                l.var
                            ),
                        });
                    }
                    EnvValue::Key(name.to_string())
                }
                None => EnvValue::Plain(l.value.clone()),
            };
            Ok((l.var.clone(), v))
        })
        .collect()
}

/// keyguard.toml's `[env]`: `VAR = "key-name"`.
pub fn config_values(
    table: &toml::Table,
    origin: &str,
) -> Result<Vec<(String, EnvValue)>, RunError> {
    table
        .iter()
        .map(|(var, v)| match v.as_str() {
            Some(name) => {
                let name = name.strip_prefix(REFERENCE_PREFIX).unwrap_or(name);
                if !is_key_name(name) {
                    return Err(RunError::NotAKeyName {
                        origin: origin.to_string(),
                        var: var.clone(),
                    });
                }
                Ok((var.clone(), EnvValue::Key(name.to_string())))
            }
            None => Err(RunError::BadEnvTable {
                origin: origin.to_string(),
                var: var.clone(),
            }),
        })
        .collect()
}

/// Resolves every key reference; later entries win over earlier ones for the same variable.
/// `lookup` returns `Ok(None)` for a key that does not exist.
pub fn resolve<E: From<RunError>>(
    values: Vec<(String, EnvValue)>,
    profile: &str,
    mut lookup: impl FnMut(&str) -> Result<Option<Secret>, E>,
) -> Result<Vec<(String, Secret)>, E> {
    let mut merged: Vec<(String, EnvValue)> = Vec::new();
    for (var, v) in values {
        merged.retain(|(k, _)| *k != var);
        merged.push((var, v));
    }
    let mut out = Vec::new();
    for (var, v) in merged {
        let secret = match v {
            EnvValue::Plain(s) => Secret::new(s.as_bytes()),
            EnvValue::Key(name) => match lookup(&name)? {
                Some(s) => s,
                None => {
                    return Err(RunError::UnknownKey {
                        var,
                        name: crate::sanitize::escape(&name).into_owned(),
                        profile: profile.to_string(),
                    }
                    .into());
                }
            },
        };
        out.push((var, secret));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_files_parse_with_quotes_comments_and_export() {
        let text = "# comment\n\nexport A=1\nB = \"two words\" \nC='x#y'\nD=plain # note\nE=keyguard:openai\r\n";
        let lines = parse_env_file(text, ".env").unwrap();
        let got: Vec<(&str, &str)> = lines
            .iter()
            .map(|l| (l.var.as_str(), l.value.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("A", "1"),
                ("B", "two words"),
                ("C", "x#y"),
                ("D", "plain"),
                ("E", "keyguard:openai")
            ]
        );
        let src: Vec<&str> = text.split('\n').collect();
        for l in &lines {
            let s = &src[l.line - 1][l.span.0..l.span.1];
            assert!(s.contains(l.value.as_str()), "{s:?} {l:?}");
        }
        assert_eq!(
            env_file_values(&lines, ".env").unwrap()[4].1,
            EnvValue::Key("openai".into())
        );
    }

    #[test]
    fn a_tab_before_a_comment_ends_an_unquoted_value() {
        let text = "B=ghp_abc\t# c\nC=x\t \t\nD=a#b\n";
        let lines = parse_env_file(text, ".env").unwrap();
        assert_eq!(lines[0].value, "ghp_abc");
        assert_eq!(&text[lines[0].span.0..lines[0].span.1], "ghp_abc");
        assert_eq!(lines[1].value, "x");
        assert_eq!(lines[2].value, "a#b");
    }

    #[test]
    fn escaped_quotes_in_double_quotes() {
        let line = r#"E="ghp_ab\"x\\y" # c"#;
        let lines = parse_env_file(line, ".env").unwrap();
        assert_eq!(lines[0].value, r#"ghp_ab"x\y"#);
        // The span is the whole quoted text, so a rewrite leaves the comment intact.
        assert_eq!(&line[lines[0].span.0..lines[0].span.1], r#""ghp_ab\"x\\y""#);
        let mut rewritten = line.to_string();
        rewritten.replace_range(lines[0].span.0..lines[0].span.1, "keyguard:E");
        assert_eq!(rewritten, "E=keyguard:E # c");
        // Other backslashes stay; single quotes take no escapes.
        let lines = parse_env_file("A=\"a\\nb\"\nS='x\\'\n", ".env").unwrap();
        assert_eq!(lines[0].value, "a\\nb");
        assert_eq!(lines[1].value, "x\\");
    }

    #[test]
    fn text_after_a_closing_quote_is_an_error_without_the_value() {
        for text in ["A=1\nE=\"ghp_secret\"x\n", "A=1\nE='ghp_secret' x\n"] {
            let msg = parse_env_file(text, "app.env").unwrap_err().to_string();
            assert!(msg.starts_with("app.env line 2:"), "{msg}");
            assert!(!msg.contains("ghp_secret"), "{msg}");
        }
        assert!(parse_env_file("E=\"a\\\"\n", "x").is_err());
    }

    #[test]
    fn bad_lines_are_named() {
        let err = parse_env_file("A=1\nnot a line\n", "x.env").unwrap_err();
        assert!(err.to_string().starts_with("x.env line 2"), "{err}");
        assert!(parse_env_file("A=\"open\n", "x").is_err());
    }

    #[test]
    fn unknown_keys_are_named_and_stop() {
        let values = vec![
            ("A".to_string(), EnvValue::Key("known".into())),
            ("B".to_string(), EnvValue::Key("missing".into())),
        ];
        let err = resolve::<RunError>(values, "prod", |n| {
            Ok((n == "known").then(|| Secret::new(b"v")))
        })
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("B refers to key `missing`"), "{msg}");
        assert!(msg.contains("profile `prod`"), "{msg}");
    }

    #[test]
    fn later_sources_win() {
        let values = vec![
            ("A".to_string(), EnvValue::Key("k".into())),
            ("A".to_string(), EnvValue::Plain("literal".into())),
        ];
        let out = resolve::<RunError>(values, "default", |_| Ok(None)).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].1.expose(), b"literal");
    }

    #[test]
    fn config_tables_map_names() {
        let t: toml::Table = toml::from_str("OPENAI_API_KEY = \"openai\"\nX = 1").unwrap();
        assert!(config_values(&t, "keyguard.toml").is_err());
        let t: toml::Table = toml::from_str("OPENAI_API_KEY = \"openai\"").unwrap();
        assert_eq!(
            config_values(&t, "keyguard.toml").unwrap(),
            vec![("OPENAI_API_KEY".into(), EnvValue::Key("openai".into()))]
        );
    }

    #[test]
    fn values_that_are_not_key_names_are_never_echoed() {
        let key: String = (0..36)
            .map(|i| b"AbCdEfGhJkMnPqRsTuVwXyZ23456789"[(i * 7 + 3) % 31] as char)
            .collect();
        let key = format!("ghp_{key}");
        let t: toml::Table = toml::from_str(&format!("GITHUB_TOKEN = \"{key}\"")).unwrap();
        let err = config_values(&t, "keyguard.toml").unwrap_err();
        let msg = err.to_string();
        assert!(!msg.contains(&key), "{msg}");
        assert!(
            msg.contains("[env] GITHUB_TOKEN: the value is not a key name"),
            "{msg}"
        );
        let t: toml::Table = toml::from_str("A = \"keyguard:has space\"").unwrap();
        assert!(config_values(&t, "keyguard.toml").is_err());

        let bad = format!("T=keyguard:{key}!x\n");
        let lines = parse_env_file(&bad, ".env").unwrap();
        let msg = env_file_values(&lines, ".env").unwrap_err().to_string();
        assert!(msg.starts_with(".env line 1: T:"), "{msg}");
        assert!(!msg.contains(&key), "{msg}");
    }
}
