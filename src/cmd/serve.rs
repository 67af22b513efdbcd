//! `keyguard serve [--config FILE] [--listen ADDR] [--store URL] [--log-bodies]`: loads `[serve]`
//! of keyguard.toml (routes via `serve::config`, store and limits via `crate::config`), applies
//! the flags, sets up the log (tracing to stderr, `RUST_LOG`-free: info, one line per request) and
//! runs `serve::server`.
//!
//! Listening beyond this machine takes `--listen` (the issue: "binding elsewhere is an explicit
//! flag"): a non-loopback `listen` in the file alone is refused, since a keyguard.toml arrives
//! with any cloned repository and must not expose the proxy by itself.

use std::path::Path;

use anyhow::{Context, Result};

use super::Outcome;
use crate::cli::ServeArgs;
use crate::config::Config;
use crate::serve::config::ServeConfig;
use crate::serve::server::{self, Options};
use crate::serve::store;

pub fn run(args: &ServeArgs) -> Result<Outcome> {
    let config = Config::discover(args.config.as_deref(), &[])?;
    let Some(path) = config.path.clone() else {
        anyhow::bail!(
            "no keyguard.toml found: `keyguard serve` needs a [serve] section with at least one [[serve.routes]]"
        );
    };
    let mut serve = ServeConfig::load(&path)?;
    if serve.routes.is_empty() {
        anyhow::bail!(
            "{}: [serve] has no [[serve.routes]]: nothing to proxy",
            path.display()
        );
    }
    match args.listen {
        Some(listen) => serve.listen = listen,
        None if !serve.listen_is_loopback() => anyhow::bail!(
            "{}: [serve] listen = \"{}\" is not a loopback address; a configuration file alone does not expose the proxy beyond this machine: pass --listen {} to mean it (and put the proxy behind TLS, a reverse proxy)",
            path.display(),
            serve.listen,
            serve.listen
        ),
        None => {}
    }
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let store = match &args.store {
        Some(url) => store::open(url, Path::new(".")),
        None => store::open(
            config.serve.store.as_deref().unwrap_or(store::DEFAULT_URL),
            base,
        ),
    }
    .context("opening the store")?;
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .try_init();
    server::run(Options {
        config: serve,
        limits: config.serve.limits,
        store,
        log_bodies: args.log_bodies,
    })?;
    Ok(Outcome::Clean)
}
