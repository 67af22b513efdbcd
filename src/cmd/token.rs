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
use crate::serve::store::{self, Store, TokenStatus};

pub fn run(cmd: &TokenCommand, out: &mut dyn Write) -> Result<Outcome> {
    let printer = Printer::new(false, ColorChoice::Never);
    match cmd {
        TokenCommand::Issue(args) => {
            // Checked before the store is opened: a typo creates no database.
            store::check_user(&args.user)?;
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
            let target = &args.target;
            let done = store::revoke(&*store, target, store::now())?;
            if done.is_empty() {
                let known = store
                    .list_tokens()?
                    .iter()
                    .any(|r| &r.id == target || &r.user == target);
                if !known {
                    anyhow::bail!(
                        "no token has the id or user `{}` (see `keyguard token list`)",
                        escape(target)
                    );
                }
                printer.info(&format!("already revoked: {}", escape(target)));
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
