//! `keyguard hook install|uninstall`: finds the repository, then reports what `crate::hook` did.

use std::path::Path;

use anyhow::Result;

use super::{Outcome, Printer};
use crate::cli::{ColorChoice, HookArgs, HookCommand};
use crate::hook::{self, HooksDir, Installed, Uninstalled};
use crate::sanitize;

pub fn run(cmd: &HookCommand) -> Result<Outcome> {
    match cmd {
        HookCommand::Install(args) => install(args),
        HookCommand::Uninstall(args) => uninstall(args),
    }
}

fn locate(args: &HookArgs, printer: &Printer) -> Result<HooksDir> {
    let start = args.repo.as_deref().unwrap_or(Path::new("."));
    let hooks = hook::locate(start)?;
    if let Some(value) = &hooks.hooks_path {
        printer.info(&format!(
            "core.hooksPath is set to `{value}`: hooks run from {}",
            sanitize::path(&hooks.dir)
        ));
    }
    Ok(hooks)
}

fn install(args: &HookArgs) -> Result<Outcome> {
    let printer = Printer::new(args.quiet, ColorChoice::Auto);
    let hooks = locate(args, &printer)?;
    // The hook runs this very binary by its absolute path (and keyguard on PATH if it has gone).
    let exe = std::env::current_exe().ok();
    let outcome = hook::install(&hooks, exe.as_deref())?;
    let hook_path = sanitize::path(&hooks.hook());
    let chained = sanitize::path(&hooks.chained());
    match outcome {
        Installed::New { leftover_chained } => {
            printer.info(&format!("installed the pre-commit hook: {hook_path}"));
            if leftover_chained {
                printer.warn(&format!(
                    "{chained} is left from an earlier install: it runs first (delete it if it is \
                     no longer wanted)"
                ));
            }
        }
        Installed::Chained { executable } => {
            printer.info(&format!("installed the pre-commit hook: {hook_path}"));
            printer.info(&format!(
                "existing hook kept: it runs first (moved to {chained})"
            ));
            if !executable {
                printer.warn(&format!(
                    "the existing hook is not executable, so git did not run it and it still does \
                     not run; `chmod +x {chained}` to run it"
                ));
            }
        }
        Installed::Updated { chaining } => {
            printer.info(&format!("already installed: {hook_path} (updated)"));
            if chaining {
                printer.info(&format!("the earlier hook still runs first: {chained}"));
            }
        }
    }
    let binary = match &exe {
        Some(p) => sanitize::path(p),
        None => "keyguard on PATH".to_string(),
    };
    printer.info(&format!(
        "before every commit it runs `keyguard scan staged` ({binary}), which blocks a commit that \
         adds a secret"
    ));
    printer.hint(
        "`git commit --no-verify` skips hooks for one commit; `keyguard hook uninstall` removes it",
    );
    Ok(Outcome::Clean)
}

fn uninstall(args: &HookArgs) -> Result<Outcome> {
    let printer = Printer::new(args.quiet, ColorChoice::Auto);
    let hooks = locate(args, &printer)?;
    let hook_path = sanitize::path(&hooks.hook());
    let chained = sanitize::path(&hooks.chained());
    match hook::uninstall(&hooks)? {
        Uninstalled::Removed => {
            printer.info(&format!("removed keyguard's pre-commit hook: {hook_path}"));
        }
        Uninstalled::Restored => {
            printer.info(&format!(
                "removed keyguard's pre-commit hook and put back the one that was there before: \
                 {hook_path}"
            ));
        }
        Uninstalled::RestoredLeftover => {
            printer.info(&format!(
                "keyguard's pre-commit hook was not there, but the hook it had kept was: moved \
                 {chained} back to {hook_path}"
            ));
        }
        Uninstalled::NotInstalled => {
            printer.info(&format!(
                "keyguard's pre-commit hook is not installed ({hook_path} does not exist): nothing \
                 to do"
            ));
        }
        Uninstalled::Foreign { chained_present } => {
            printer.info(&format!(
                "the pre-commit hook at {hook_path} is not keyguard's: left unchanged"
            ));
            if chained_present {
                printer.warn(&format!(
                    "{chained} is left from an earlier install of keyguard's hook; it does not \
                     run now (move it back or delete it)"
                ));
            }
        }
    }
    Ok(Outcome::Clean)
}
