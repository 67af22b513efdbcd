//! `keyguard init`: shows the plan `crate::init` computed, asks (or takes `--yes`), applies it.
//! Questions go through `Prompt`, so the flow is testable without a terminal.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Result, bail};

use super::{Outcome, Printer};
use crate::cli::{ColorChoice, InitArgs};
use crate::hook::Installed;
use crate::init::{self, HookPlan, Plan};
use crate::sanitize;

/// Asks yes/no questions.
pub trait Prompt {
    fn confirm(&mut self, question: &str, default: bool) -> Result<bool>;
}

/// `--yes`: every answer is yes.
pub struct AssumeYes;

impl Prompt for AssumeYes {
    fn confirm(&mut self, _: &str, _: bool) -> Result<bool> {
        Ok(true)
    }
}

/// A person at a terminal, asked on standard error with dialoguer.
pub struct Terminal;

impl Prompt for Terminal {
    fn confirm(&mut self, question: &str, default: bool) -> Result<bool> {
        let answer = dialoguer::Confirm::new()
            .with_prompt(sanitize::escape(question))
            .default(default)
            .interact_opt()?;
        // Esc or q: no.
        Ok(answer.unwrap_or(false))
    }
}

pub fn run(args: &InitArgs) -> Result<Outcome> {
    let printer = Printer::new(args.quiet, ColorChoice::Auto);
    let start = args.dir.as_deref().unwrap_or(Path::new("."));
    let plan = init::plan(start)?;
    // A question about "the files listed above" needs the list, -q or not.
    let asking = !args.yes && !args.dry_run && !plan.is_empty();
    show_plan(
        &plan,
        &Printer::new(args.quiet && !asking, ColorChoice::Auto),
    );
    if plan.is_empty() {
        printer.info("nothing to change: this repository is already set up");
        return Ok(Outcome::Clean);
    }
    if args.dry_run {
        printer.info("dry run: nothing was changed (run without --dry-run to apply)");
        return Ok(Outcome::Clean);
    }
    if args.yes {
        return apply(&plan, &mut AssumeYes, &printer);
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        bail!(
            "no terminal to ask for confirmation: nothing was changed; pass --yes to apply the \
             plan above, or --dry-run to only show it"
        );
    }
    apply(&plan, &mut Terminal, &printer)
}

fn list(items: &[String]) -> String {
    items.join(", ")
}

fn rel(plan: &Plan, p: &Path) -> String {
    sanitize::path(p.strip_prefix(&plan.root).unwrap_or(p))
}

/// The plan, on standard error.
pub fn show_plan(plan: &Plan, printer: &Printer) {
    printer.info(&format!("keyguard init: {}", sanitize::path(&plan.root)));
    if let Some(g) = &plan.gitignore {
        printer.info(&format!(
            "  {} .gitignore: {} under `{}`: {}",
            if g.created { "create" } else { "append to" },
            plural(plan.gitignore_added.len(), "pattern"),
            init::GITIGNORE_HEADER,
            list(&plan.gitignore_added)
        ));
    }
    if let Some(e) = &plan.env_example {
        printer.info(&format!(
            "  {} {} from .env, names only, every value empty: {}",
            if e.created { "create" } else { "add to" },
            rel(plan, &e.path),
            list(&plan.env_example_names)
        ));
    }
    if let Some(c) = &plan.config {
        printer.info(&format!(
            "  create {}: a starter configuration, all commented out",
            rel(plan, &c.path)
        ));
    }
    match &plan.hook {
        HookPlan::Install(h) => {
            printer.info(&format!(
                "  install the pre-commit hook ({}): it runs `keyguard scan staged` and blocks a \
                 commit that adds a secret",
                sanitize::path(&h.hook())
            ));
            if let Some(value) = &h.hooks_path {
                printer.info(&format!(
                    "    (core.hooksPath is set to `{value}`; a hook already there is kept and \
                     runs first)"
                ));
            }
        }
        HookPlan::Installed(_) => {}
        HookPlan::Unavailable(why) => {
            printer.warn(&format!("the pre-commit hook cannot be installed: {why}"))
        }
    }
    if !plan.tracked_env.is_empty() {
        printer.warn(&format!(
            "{} tracked by git: {}",
            if plan.tracked_env.len() == 1 {
                "this env file is"
            } else {
                "these env files are"
            },
            list(&plan.tracked_env)
        ));
        let (them, files) = if plan.tracked_env.len() == 1 {
            ("it", "the file is")
        } else {
            ("them", "the files are")
        };
        printer.info(&format!(
            "  Every key in {them} is in the repository's history, and anyone with a clone has it: \
             treat those keys as leaked, even once {files} no longer tracked."
        ));
        printer.info(&format!(
            "  stop tracking {} (`git rm --cached`: the files stay on disk; commit the removal)",
            list(&plan.tracked_env)
        ));
        printer.hint(
            "run `keyguard scan git` to list every key in the history, and `keyguard rotate \
             PROVIDER` to replace each one",
        );
    }
    for e in &plan.example_secrets {
        printer.warn(&format!(
            "{}:{}: {} in an example file, which is meant to be committed: replace it with an \
             empty value or a placeholder, and if it is a real key that was ever committed, treat \
             it as leaked",
            e.file, e.line, e.name
        ));
    }
    if !plan.exposures.is_empty() {
        for e in &plan.exposures {
            printer.warn(&format!(
                "{}:{}: {}: {}",
                e.file, e.line, e.name, plan.exposure_title
            ));
        }
        printer.info(&format!("  {}", plan.exposure_remediation));
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Applies the plan, asking through `prompt`: the file changes, untracking, the hook.
pub fn apply(plan: &Plan, prompt: &mut dyn Prompt, printer: &Printer) -> Result<Outcome> {
    let write_files =
        plan.has_file_changes() && prompt.confirm("Write the files listed above?", true)?;
    if write_files {
        for change in [&plan.gitignore, &plan.env_example, &plan.config]
            .into_iter()
            .flatten()
        {
            init::write_file(change)?;
            printer.info(&format!(
                "{} {}",
                if change.created { "created" } else { "updated" },
                rel(plan, &change.path)
            ));
        }
    }
    if !plan.tracked_env.is_empty()
        && prompt.confirm(
            &format!(
                "Stop tracking {} (git rm --cached; the files stay on disk)?",
                list(&plan.tracked_env)
            ),
            true,
        )?
    {
        init::untrack(&plan.root, &plan.tracked_env)?;
        printer.info(&format!(
            "no longer tracked: {} (commit this removal; the files are still on disk)",
            list(&plan.tracked_env)
        ));
        if plan.gitignore.is_some() && !write_files {
            printer.warn(
                ".gitignore was left as it was, so it may not ignore them: `git add` can track \
                 them again (run `keyguard init` again to add the patterns)",
            );
        }
    }
    if let Some(hooks) = plan.hook_to_install()
        && prompt.confirm("Install the pre-commit hook?", true)?
    {
        let exe = std::env::current_exe().ok();
        let outcome = crate::hook::install(hooks, exe.as_deref())?;
        printer.info(&format!(
            "installed the pre-commit hook: {}",
            sanitize::path(&hooks.hook())
        ));
        if let Installed::Chained { .. } = outcome {
            printer.info(&format!(
                "the existing hook is kept and runs first: {}",
                sanitize::path(&hooks.chained())
            ));
        }
    }
    Ok(Outcome::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers in order and records the questions.
    struct Scripted {
        answers: Vec<bool>,
        asked: Vec<String>,
    }

    impl Prompt for Scripted {
        fn confirm(&mut self, question: &str, _: bool) -> Result<bool> {
            self.asked.push(question.to_string());
            Ok(self.answers.remove(0))
        }
    }

    #[test]
    fn each_answer_governs_its_own_change() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        std::fs::write(dir.path().join(".env"), "A=1\n").unwrap();
        let mut index = repo.index().unwrap();
        index.add_path(Path::new(".env")).unwrap();
        index.write().unwrap();

        let plan = init::plan(dir.path()).unwrap();
        assert_eq!(plan.tracked_env, [".env"]);
        let printer = Printer {
            quiet: true,
            color: false,
        };
        // No to the files, yes to untracking, no to the hook.
        let mut prompt = Scripted {
            answers: vec![false, true, false],
            asked: Vec::new(),
        };
        apply(&plan, &mut prompt, &printer).unwrap();
        assert_eq!(prompt.asked.len(), 3, "{:?}", prompt.asked);
        assert!(prompt.asked[1].contains(".env"));
        assert!(!dir.path().join(".gitignore").exists());
        assert!(!dir.path().join(".env.example").exists());
        assert!(!dir.path().join("keyguard.toml").exists());
        assert_eq!(std::fs::read(dir.path().join(".env")).unwrap(), b"A=1\n");
        let index = git2::Repository::open(dir.path()).unwrap().index().unwrap();
        assert!(index.get_path(Path::new(".env"), 0).is_none());
        assert!(!dir.path().join(".git/hooks/pre-commit").exists());

        // Asked again: the files and the hook, nothing about tracking.
        let plan = init::plan(dir.path()).unwrap();
        assert!(plan.tracked_env.is_empty());
        let mut prompt = Scripted {
            answers: vec![true, true],
            asked: Vec::new(),
        };
        apply(&plan, &mut prompt, &printer).unwrap();
        assert_eq!(prompt.asked.len(), 2, "{:?}", prompt.asked);
        assert!(dir.path().join(".gitignore").exists());
        assert!(dir.path().join(".git/hooks/pre-commit").exists());
        assert!(init::plan(dir.path()).unwrap().is_empty());
    }
}
