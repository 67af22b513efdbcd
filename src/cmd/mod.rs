//! One module per subcommand. Each takes parsed options and `out` (standard output, for the data a
//! pipe wants); messages for people go to standard error through `Printer`.

pub mod completions;
pub mod hook;
pub mod init;
pub mod key;
pub mod rotate;
pub mod rules;
pub mod run;
pub mod scan;
pub mod scan_bundle;
pub mod scan_git;
pub mod scan_staged;
pub mod serve;
pub mod token;
pub mod verify;

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::cli::ColorChoice;
use crate::config::Config;
use crate::rules::{Rule, RuleSet};

/// What a command found, mapped to the exit code by `main`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Clean,
    Findings,
}

/// Decides colour and quietness for messages on standard error.
pub struct Printer {
    pub quiet: bool,
    pub color: bool,
}

impl Printer {
    pub fn new(quiet: bool, choice: ColorChoice) -> Printer {
        Printer {
            quiet,
            color: use_color(choice, std::io::stderr().is_terminal()),
        }
    }

    // Messages can carry text from a scanned repository (its keyguard.toml, file names), so
    // everything printed is escaped.
    pub fn warn(&self, msg: &str) {
        if !self.quiet {
            eprintln!("keyguard: warning: {}", crate::sanitize::escape_lines(msg));
        }
    }

    pub fn info(&self, msg: &str) {
        if !self.quiet {
            eprintln!("{}", crate::sanitize::escape_lines(msg));
        }
    }

    pub fn hint(&self, msg: &str) {
        if !self.quiet {
            eprintln!("hint: {}", crate::sanitize::escape_lines(msg));
        }
    }
}

/// The error for a provider name no adapter answers to: the known ids, wrapped to fit a
/// terminal, and where to read what each can do.
pub fn unknown_provider(name: &str) -> anyhow::Error {
    let known: Vec<&str> = crate::providers::all().iter().map(|p| p.id()).collect();
    anyhow::anyhow!(
        "unknown provider `{}`\n{}\nhint: `keyguard rotate --list` shows what keyguard can do for each",
        crate::sanitize::escape(name),
        crate::text::fill(
            &format!("known providers: {}", known.join(", ")),
            crate::text::WIDTH,
            "",
            "  "
        )
    )
}

/// `--color auto` means: a terminal, and NO_COLOR unset or empty.
pub fn use_color(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// The built-in catalogue plus the config's `[[rules]]`, minus `[scan] disabled_rules`, with
/// optional rules only where enabled (`all_optional`, `[scan] all_rules` or `enable_rules`).
pub fn load_rules(config: &Config, all_optional: bool, printer: &Printer) -> Result<Arc<RuleSet>> {
    let mut set = RuleSet::builtin();
    let origin = config.name();
    for spec in &config.rules {
        let rule = Rule::new(spec.clone(), &origin)?;
        // Compile now so a bad pattern is an error before scanning, not a panic during it.
        rule.compile_now()?;
        set.push(rule)?;
    }
    for id in set.select_optional(
        all_optional || config.scan.all_rules,
        &config.scan.enable_rules,
    ) {
        printer.warn(&format!(
            "{origin}: [scan] enable_rules names `{id}`, which is not a rule (see `keyguard rules`)"
        ));
    }
    let unknown = set.disable(&config.scan.disabled_rules);
    for id in unknown {
        printer.warn(&format!(
            "{origin}: [scan] disabled_rules names `{id}`, which is not a rule (see `keyguard rules`)"
        ));
    }
    Ok(Arc::new(set))
}

/// Writes `bytes` to `path` atomically (temporary file in the same directory, then rename), with
/// mode 0600: reports can hold secrets (`--show-secrets`) and always hold where keys are.
pub fn write_private_file(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let shown = crate::sanitize::path(path);
    // Replacing is only right for a regular file (or a new one): a rename over /dev/stdout, a
    // FIFO or a symlink would destroy it. A symlink's target is written instead; anything else
    // is refused.
    let resolved;
    let path = if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        resolved = std::fs::canonicalize(path)
            .with_context(|| format!("cannot write {shown}: it is a broken symbolic link"))?;
        resolved.as_path()
    } else {
        path
    };
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        anyhow::bail!(
            "cannot write {shown}: not a regular file (to write to a pipe or terminal, leave out -o)"
        );
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".keyguard-")
        .tempfile_in(dir)
        .map_err(|e| {
            // tempfile's message names its random file; name the user's instead.
            let cause = match e.kind() {
                std::io::ErrorKind::NotFound => "its directory does not exist".to_string(),
                std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
                k => k.to_string(),
            };
            anyhow::anyhow!("cannot write {shown}: {cause}")
        })?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {shown}"))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write {shown}"))?;
    Ok(())
}
