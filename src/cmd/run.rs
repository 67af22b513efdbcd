//! `keyguard run [--profile P] [--env-file F] -- CMD ARGS...`: resolves the mapped keys, then
//! replaces itself with CMD (Unix `exec`) so signals, the terminal and the exit status are the
//! command's. Nothing is written to disk.

use anyhow::{Context, Result};

use crate::cli::RunArgs;
use crate::cmd::Outcome;
use crate::config::Config;
use crate::keychain::{Keychain, KeychainError, check_name};
use crate::run::{EnvValue, config_values, env_file_values, parse_env_file, resolve};

pub fn run(args: &RunArgs) -> Result<Outcome> {
    let profile = args.profile.profile.as_str();
    check_name("profile", profile)?;
    let config = Config::discover(args.config.as_deref(), &[])?;
    let mut values = Vec::new();
    if let Some(table) = &config.env {
        values.extend(config_values(table, &config.name())?);
    }
    for file in &args.env_file {
        let shown = crate::sanitize::path(file);
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {shown}"))?;
        values.extend(env_file_values(&parse_env_file(&text, &shown)?, &shown)?);
    }
    let mut keychain: Option<Keychain> = None;
    if values.iter().any(|(_, v)| matches!(v, EnvValue::Key(_))) {
        keychain = Some(Keychain::open()?);
    }
    let env = resolve::<anyhow::Error>(values, profile, |name| {
        let kc = keychain.as_mut().expect("opened when a key is referenced");
        match kc.get(profile, name) {
            Ok(secret) => Ok(Some(secret)),
            Err(KeychainError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    })?;

    let (program, rest) = args
        .command
        .split_first()
        .context("no command given after `--`")?;
    let mut cmd = std::process::Command::new(program);
    cmd.args(rest);
    for (var, secret) in &env {
        cmd.env(var, secret_to_os(secret.expose()));
    }
    let shown = crate::sanitize::escape(&program.to_string_lossy()).into_owned();
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let err = cmd.exec();
        cannot_start(&shown, &err)
    }
    #[cfg(not(unix))]
    {
        let status = match cmd.status() {
            Ok(s) => s,
            Err(err) => cannot_start(&shown, &err),
        };
        std::process::exit(status.code().unwrap_or(1));
    }
}

/// The command did not start: exit as shells do, 127 when it is not found and 126 when it
/// cannot be executed, so this is not mistaken for the command's own exit status.
fn cannot_start(shown: &str, err: &std::io::Error) -> ! {
    let (code, why) = match err.kind() {
        std::io::ErrorKind::NotFound => (127, "command not found".to_string()),
        std::io::ErrorKind::PermissionDenied => (126, "not executable (permission denied)".into()),
        _ => (126, format!("cannot execute it: {err}")),
    };
    eprintln!(
        "keyguard: error: cannot start {}: {why}",
        crate::sanitize::escape(shown)
    );
    std::process::exit(code);
}

fn secret_to_os(bytes: &[u8]) -> std::ffi::OsString {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        std::ffi::OsString::from_vec(bytes.to_vec())
    }
    #[cfg(not(unix))]
    {
        String::from_utf8_lossy(bytes).into_owned().into()
    }
}
