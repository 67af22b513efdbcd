//! `keyguard token issue|list|revoke`: the client tokens `keyguard serve` accepts. The token is
//! printed once, alone on standard output (so `> file` or a pipe captures exactly it); everything
//! else goes to standard error. `list` shows ids, never tokens or hashes.

use std::io::Write;
use std::path::Path;

use anyhow::Result;

use super::{Outcome, Printer};
use crate::cli::{ColorChoice, TokenCommand, TokenStoreArgs};
use crate::config::Config;
use crate::sanitize::escape;
use crate::serve::store::{self, Revoke, Store, TokenStatus};

pub fn run(cmd: &TokenCommand, out: &mut dyn Write) -> Result<Outcome> {
    let printer = Printer::new(false, ColorChoice::Never);
    match cmd {
        TokenCommand::Issue(args) => {
            // Checked before the store is opened: a typo creates no database.
            store::check_user(&args.user)?;
            if store::looks_like_id(&args.user) {
                // `keyguard token revoke NAME|ID` must never mistake a user for a token.
                anyhow::bail!(
                    "invalid user name `{}`: 12 hex digits is the shape of a token id, which would make `keyguard token revoke` ambiguous; choose another name",
                    escape(&args.user)
                );
            }
            let store = open_store(&args.store)?;
            let now = store::now();
            let expires = args.expires.map(|s| now.saturating_add(s as i64));
            let (token, record) = store::issue(&*store, &args.user, expires, now)?;
            writeln!(out, "{token}")?;
            printer.info(&format!(
                "issued token {} for user {}, {}",
                record.id,
                record.user,
                match expires {
                    Some(e) => format!("expires {}", when(e)),
                    None => "never expires".to_string(),
                }
            ));
            printer.info(
                "it is shown only this once (only its hash is stored): give it to the user now",
            );
            Ok(Outcome::Clean)
        }
        TokenCommand::List(args) => {
            let store = open_store(args)?;
            let records = store.list_tokens()?;
            if records.is_empty() {
                printer.info("no tokens (create one with `keyguard token issue --user NAME`)");
                return Ok(Outcome::Clean);
            }
            let now = store::now();
            let width = records
                .iter()
                .map(|r| r.user.len())
                .max()
                .unwrap_or(4)
                .max(4);
            writeln!(
                out,
                "{:<12}  {:<width$}  {:<17}  {:<17}  STATUS",
                "ID", "USER", "CREATED", "EXPIRES"
            )?;
            for r in &records {
                let status = match r.status(now) {
                    TokenStatus::Active => "active".to_string(),
                    TokenStatus::Expired => "expired".to_string(),
                    TokenStatus::Revoked => format!("revoked {}", when(r.revoked.unwrap_or(0))),
                };
                writeln!(
                    out,
                    "{:<12}  {:<width$}  {:<17}  {:<17}  {status}",
                    r.id,
                    escape(&r.user),
                    when(r.created),
                    r.expires.map_or_else(|| "never".to_string(), when),
                )?;
            }
            Ok(Outcome::Clean)
        }
        TokenCommand::Revoke(args) => {
            let store = open_store(&args.store)?;
            let all = store.list_tokens()?;
            let target = match (&args.id, &args.user, &args.target) {
                (Some(id), _, _) => Revoke::Id(id),
                (_, Some(user), _) => Revoke::User(user),
                (_, _, Some(t)) => {
                    // A store from before user names of an id's shape were refused may hold
                    // one: never guess which was meant.
                    let by_id = all.iter().find(|r| &r.id == t);
                    let by_user = all.iter().any(|r| &r.user == t);
                    match by_id {
                        Some(r) if by_user => anyhow::bail!(
                            "`{t}` is both the id of a token (of user {}) and a user name; say which: `keyguard token revoke --id {t}` revokes that one token, `keyguard token revoke --user {t}` every token of user {t}",
                            escape(&r.user),
                            t = escape(t),
                        ),
                        Some(_) => Revoke::Id(t),
                        None => Revoke::User(t),
                    }
                }
                (None, None, None) => anyhow::bail!("name a token id or a user"),
            };
            let done = store::revoke(&*store, target, store::now())?;
            let shown = match target {
                Revoke::Id(s) | Revoke::User(s) => escape(s),
            };
            if done.is_empty() {
                let known = all.iter().any(|r| match target {
                    Revoke::Id(id) => r.id == id,
                    Revoke::User(user) => r.user == user,
                });
                if !known {
                    anyhow::bail!(match (target, &args.target) {
                        (_, Some(_)) => format!(
                            "no token has the id or user `{shown}` (see `keyguard token list`)"
                        ),
                        (Revoke::Id(_), None) =>
                            format!("no token has the id `{shown}` (see `keyguard token list`)"),
                        (Revoke::User(_), None) => format!(
                            "no token belongs to user `{shown}` (see `keyguard token list`)"
                        ),
                    });
                }
                printer.info(&format!("already revoked: {shown}"));
            }
            for r in &done {
                printer.info(&format!(
                    "revoked token {} of user {}",
                    r.id,
                    escape(&r.user)
                ));
            }
            Ok(Outcome::Clean)
        }
    }
}

/// `--store` (or KEYGUARD_STORE), else `[serve] store` of keyguard.toml (a relative sqlite path
/// is relative to that file), else the default in the current directory.
fn open_store(args: &TokenStoreArgs) -> Result<Box<dyn Store>> {
    if let Some(url) = &args.store {
        return store::open(url, Path::new("."));
    }
    let config = Config::discover(args.config.as_deref(), &[])?;
    let base = config
        .path
        .as_deref()
        .and_then(Path::parent)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let url = config.serve.store.as_deref().unwrap_or(store::DEFAULT_URL);
    store::open(url, base)
}

/// Unix seconds as "2026-11-22 21:30Z" (UTC, minutes are enough to read a list).
fn when(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| t.strftime("%Y-%m-%d %H:%MZ").to_string())
        .unwrap_or_else(|_| secs.to_string())
}
