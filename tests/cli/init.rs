//! `keyguard init` on real repositories: fresh, already set up, a CRLF `.gitignore`, a tracked
//! `.env`, no `.env`; idempotence byte for byte, `--dry-run`, the no-terminal refusal, errors
//! outside a working tree, and the prompts through a pseudo-terminal.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::git::{Repo, git_available};
use crate::support::{Fakes, keyguard, run_in, skip_missing};

const HEADER: &str = "# keyguard: keep secrets out of git";
const MARKER: &str = "# keyguard pre-commit hook";
// Split so that this file does not trip the exposure lint of the repository's own scan.
const PUBLIC_KEY_NAME: &str = concat!("NEXT_PUBLIC", "_OPENAI_API_KEY");
const VITE_SECRET_NAME: &str = concat!("VITE", "_STRIPE_SECRET");

fn repo() -> Option<Repo> {
    if !git_available() && skip_missing("git") {
        return None;
    }
    Some(Repo::init())
}

fn read(repo: &Repo, rel: &str) -> Option<Vec<u8>> {
    std::fs::read(repo.path().join(rel)).ok()
}

fn text(repo: &Repo, rel: &str) -> String {
    String::from_utf8(read(repo, rel).unwrap_or_else(|| panic!("{rel} missing"))).unwrap()
}

/// Every file in the working tree and the hooks directory, with its bytes (the index too).
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let name = p.strip_prefix(dir).unwrap().display().to_string();
            if name == ".git/objects" || name == ".git/logs" {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((name, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn hook_installed(repo: &Repo) -> bool {
    std::fs::read_to_string(repo.git_dir().join("hooks/pre-commit"))
        .is_ok_and(|s| s.contains(MARKER))
}

/// A `.env` with a fake key, a client-public secret name and a multi-line value.
fn env_file(seed: u64) -> (String, String) {
    let key = format!("sk-proj-{}", Fakes::new(seed).alnum(48));
    let env = format!(
        "# LLM keys\nOPENAI_API_KEY={key}\n\n{PUBLIC_KEY_NAME}={key}\nexport DATABASE_URL=\"postgres://app:pw@db/app\"\nCERT=\"-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\"\nPORT=3000\n"
    );
    (env, key)
}

#[test]
fn fresh_repository_with_yes_then_a_second_run_changes_nothing() {
    let Some(repo) = repo() else { return };
    let (env, key) = env_file(1);
    repo.write(".env", &env);
    let run = run_in(repo.path(), &["init", "--yes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "stdout: {}", run.stdout);

    let gitignore = text(&repo, ".gitignore");
    assert!(gitignore.starts_with(HEADER), "{gitignore}");
    let lines: Vec<&str> = gitignore.lines().collect();
    for p in [
        ".env",
        ".env.local",
        ".env.*.local",
        ".env.*",
        "*.pem",
        "*.key",
        "credentials.json",
    ] {
        assert!(lines.contains(&p), "{p} missing: {gitignore}");
    }
    let star = lines.iter().position(|l| *l == ".env.*").unwrap();
    let example = lines.iter().position(|l| *l == "!.env.example").unwrap();
    assert!(star < example, "{gitignore}");

    let example = text(&repo, ".env.example");
    assert_eq!(
        example,
        format!(
            "# LLM keys\nOPENAI_API_KEY=\n\n{PUBLIC_KEY_NAME}=\nexport DATABASE_URL=\nCERT=\nPORT=\n"
        )
    );
    assert!(!example.contains(&key));
    assert_eq!(read(&repo, ".env").unwrap(), env.as_bytes());

    for new_file in [".gitignore", ".env.example", "keyguard.toml"] {
        assert_eq!(mode(&repo.path().join(new_file)), 0o644, "{new_file}");
    }
    let config = text(&repo, "keyguard.toml");
    assert!(config.contains("[scan]") && config.contains("[allow]"));
    assert!(hook_installed(&repo));

    // The client-public name is flagged with the exposure lint's explanation; the key never shows.
    assert!(
        run.stderr.contains(&format!(".env:4: {PUBLIC_KEY_NAME}")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("rename it without the prefix"));
    assert!(!run.stderr.contains(&key));

    // git sees .env as ignored and .env.example as not.
    let ignored = repo.git(&["status", "--porcelain", "--ignored"]);
    assert!(
        ignored.contains("!! .env\n") || ignored.ends_with("!! .env"),
        "{ignored}"
    );
    assert!(ignored.contains("?? .env.example"), "{ignored}");

    // The starter config is valid: a scan reads it.
    let scan = run_in(repo.path(), &["scan"]);
    assert_ne!(scan.code, 2, "{}", scan.stderr);

    let before = snapshot(repo.path());
    let again = run_in(repo.path(), &["init", "--yes"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stderr.contains("nothing to change"),
        "{}",
        again.stderr
    );
    assert_eq!(snapshot(repo.path()), before);
    // Without a terminal and without --yes, nothing to do is not an error either.
    assert_eq!(run_in(repo.path(), &["init"]).code, 0);
}

#[test]
fn already_configured_repository_is_left_alone() {
    let Some(repo) = repo() else { return };
    let mut gitignore = String::from("node_modules/\n");
    for p in [
        ".env",
        ".env.local",
        ".env.*.local",
        ".env.*",
        "!.env.example",
        "*.pem",
        "*.key",
        "*.p12",
        "*.pfx",
        "credentials.json",
        "service-account*.json",
        ".netrc",
    ] {
        // Trailing whitespace does not make a pattern different.
        gitignore.push_str(p);
        gitignore.push_str("  \n");
    }
    repo.write(".gitignore", &gitignore);
    repo.write(".env", "A=1\nexport B=2\n");
    repo.write(".env.example", "# mine\nA=\nB=default\n");
    repo.write("keyguard.toml", "[allow]\npaths = [\"/fixtures/\"]\n");
    assert_eq!(run_in(repo.path(), &["hook", "install"]).code, 0);
    let before = snapshot(repo.path());
    let run = run_in(repo.path(), &["init"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("nothing to change"), "{}", run.stderr);
    assert_eq!(snapshot(repo.path()), before);
}

#[test]
fn crlf_gitignore_keeps_its_lines_and_line_endings() {
    let Some(repo) = repo() else { return };
    let original = b"# mine\r\nnode_modules/\r\n.env\r\n*.log".to_vec();
    repo.write(".gitignore", &original);
    let gitignore = repo.path().join(".gitignore");
    std::fs::set_permissions(&gitignore, std::fs::Permissions::from_mode(0o640)).unwrap();
    let run = run_in(repo.path(), &["init", "--yes"]);
    // Replaced atomically, with its mode kept.
    assert_eq!(mode(&gitignore), 0o640);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let after = read(&repo, ".gitignore").unwrap();
    assert!(after.starts_with(&original));
    assert!(after.ends_with(b"\r\n"));
    for (i, &b) in after.iter().enumerate() {
        if b == b'\n' {
            assert_eq!(after[i - 1], b'\r', "a bare LF at byte {i}");
        }
    }
    let text = String::from_utf8(after.clone()).unwrap();
    assert!(
        text.contains(&format!("*.log\r\n\r\n{HEADER}\r\n")),
        "{text:?}"
    );
    // `.env` was there already: not added twice.
    assert_eq!(text.matches("\r\n.env\r\n").count(), 1, "{text:?}");
    let again = run_in(repo.path(), &["init", "--yes"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(read(&repo, ".gitignore").unwrap(), after);
}

#[test]
fn tracked_env_file_is_called_leaked_and_untracked_but_kept_on_disk() {
    let Some(repo) = repo() else { return };
    let (env, key) = env_file(2);
    repo.write(".env", &env);
    repo.write("app/.env.production", "API_TOKEN=x\n");
    repo.write("app/.env.example", "API_TOKEN=\n");
    repo.write("README", "app\n");
    repo.commit_all("first");

    // A dry run says it all and changes nothing.
    let before = snapshot(repo.path());
    let dry = run_in(repo.path(), &["init", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(snapshot(repo.path()), before);
    for said in [
        "tracked by git: .env, app/.env.production",
        "in the repository's history",
        "treat those keys as leaked",
        "git rm --cached",
        "keyguard scan git",
        "keyguard rotate",
        "dry run: nothing was changed",
    ] {
        assert!(dry.stderr.contains(said), "{said:?} not in {}", dry.stderr);
    }
    assert!(!dry.stderr.contains(&key));

    let run = run_in(repo.path(), &["init", "--yes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let tracked = repo.git(&["ls-files"]);
    assert_eq!(tracked, "README\napp/.env.example", "{tracked}");
    // The working files are untouched.
    assert_eq!(read(&repo, ".env").unwrap(), env.as_bytes());
    assert_eq!(text(&repo, "app/.env.production"), "API_TOKEN=x\n");
    // git now shows them as deleted from the index (to commit) and ignored on disk.
    let status = repo.git(&["status", "--porcelain"]);
    assert!(status.contains("D  .env"), "{status}");
    assert!(status.contains("D  app/.env.production"), "{status}");

    let again = run_in(repo.path(), &["init", "--yes"]);
    assert_eq!(again.code, 0);
    assert!(!again.stderr.contains("tracked by git"), "{}", again.stderr);
}

#[test]
fn no_env_file_means_no_env_example() {
    let Some(repo) = repo() else { return };
    repo.write("index.js", "console.log(1)\n");
    let run = run_in(repo.path(), &["init", "--yes", "-q"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    assert!(read(&repo, ".env.example").is_none());
    assert!(read(&repo, ".gitignore").is_some());
    assert!(read(&repo, "keyguard.toml").is_some());
}

#[test]
fn existing_env_example_gets_only_missing_names() {
    let Some(repo) = repo() else { return };
    repo.write(".env", format!("A=1\n{VITE_SECRET_NAME}=x\n"));
    repo.write(".env.example", "A=\r\n");
    let run = run_in(repo.path(), &["init", "--yes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let example = text(&repo, ".env.example");
    assert!(
        example.starts_with("A=\r\n\r\n# added by keyguard init"),
        "{example:?}"
    );
    assert!(
        example.ends_with(&format!("\r\n{VITE_SECRET_NAME}=\r\n")),
        "{example:?}"
    );
    assert!(
        run.stderr.contains(&format!(".env:2: {VITE_SECRET_NAME}")),
        "{}",
        run.stderr
    );
}

#[test]
fn without_a_terminal_or_yes_nothing_changes_and_exit_is_2() {
    let Some(repo) = repo() else { return };
    repo.write(".env", "A=1\n");
    let before = snapshot(repo.path());
    let run = run_in(repo.path(), &["init"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--yes"), "{}", run.stderr);
    assert!(run.stderr.contains("--dry-run"), "{}", run.stderr);
    // The plan is shown before the refusal.
    assert!(run.stderr.contains("create .gitignore"), "{}", run.stderr);
    assert_eq!(snapshot(repo.path()), before);
}

#[test]
fn dir_option_names_the_repository() {
    let Some(repo) = repo() else { return };
    std::fs::create_dir(repo.path().join("sub")).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let dir = repo.path().join("sub");
    let run = run_in(
        elsewhere.path(),
        &["init", "--yes", "--dir", dir.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The repository's root gets the files, not the subdirectory.
    assert!(read(&repo, ".gitignore").is_some());
    assert!(!dir.join(".gitignore").exists());
}

#[test]
fn outside_a_repository_or_in_a_bare_one_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(dir.path(), &["init", "--yes"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("is not in a git repository"),
        "{}",
        run.stderr
    );
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());

    if !git_available() && skip_missing("git") {
        return;
    }
    let bare = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("git")
        .args(["init", "-q", "--bare", "."])
        .current_dir(bare.path())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let run = run_in(bare.path(), &["init", "--yes"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("bare repository"), "{}", run.stderr);
    assert!(!bare.path().join(".gitignore").exists());

    let missing = run_in(dir.path(), &["init", "--dir", "nope"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("no such file or directory"));
}

/// The real prompts, answered through a pseudo-terminal: yes to the files and to untracking,
/// no to the hook.
#[test]
fn prompts_through_a_pseudo_terminal() {
    let Some(repo) = repo() else { return };
    repo.write(".env", "OPENAI_API_KEY=x\n");
    repo.commit_all("env");
    let mut cmd = keyguard();
    cmd.current_dir(repo.path())
        .env("TERM", "xterm")
        .arg("init");
    let mut p = match rexpect::session::spawn_command(cmd, Some(20_000)) {
        Ok(p) => p,
        Err(e) => {
            skip_missing(&format!("a pseudo-terminal ({e})"));
            return;
        }
    };
    p.exp_string("Write the files listed above?").unwrap();
    p.send("y").unwrap();
    p.flush().unwrap();
    p.exp_string("Stop tracking .env").unwrap();
    p.send("y").unwrap();
    p.flush().unwrap();
    p.exp_string("Install the pre-commit hook?").unwrap();
    p.send("n").unwrap();
    p.flush().unwrap();
    p.exp_eof().unwrap();
    let status = p.process().wait().unwrap();
    assert!(format!("{status:?}").ends_with(", 0)"), "{status:?}");
    assert!(read(&repo, ".gitignore").is_some());
    assert_eq!(text(&repo, ".env.example"), "OPENAI_API_KEY=\n");
    assert_eq!(repo.git(&["ls-files"]), "");
    assert_eq!(text(&repo, ".env"), "OPENAI_API_KEY=x\n");
    assert!(!hook_installed(&repo));

    // Asked again, the hook is the only question left; no this time too.
    let mut cmd = keyguard();
    cmd.current_dir(repo.path())
        .env("TERM", "xterm")
        .arg("init");
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
    p.exp_string("Install the pre-commit hook?").unwrap();
    p.send("y").unwrap();
    p.flush().unwrap();
    p.exp_string("installed the pre-commit hook").unwrap();
    p.exp_eof().unwrap();
    assert!(hook_installed(&repo));
}

/// In a linked worktree, the worktree's own index loses the env file; the main one keeps it.
#[test]
fn linked_worktree_untracks_in_its_own_index() {
    let Some(repo) = repo() else { return };
    repo.write(".env", "A=1\n");
    repo.commit_all("env");
    let wt = tempfile::tempdir().unwrap();
    let wt_path = wt.path().join("wt");
    repo.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "side",
        wt_path.to_str().unwrap(),
    ]);
    let run = run_in(&wt_path, &["init", "--yes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(wt_path.join(".gitignore").exists());
    assert!(!repo.path().join(".gitignore").exists());
    assert_eq!(std::fs::read(wt_path.join(".env")).unwrap(), b"A=1\n");
    let ls = std::process::Command::new("git")
        .args(["ls-files"])
        .current_dir(&wt_path)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&ls.stdout), "");
    assert_eq!(repo.git(&["ls-files"]), ".env");
    // Linked worktrees share the main repository's hooks.
    assert!(hook_installed(&repo));
}

/// A key in `.env.example` (meant to be committed) is called out; init never rewrites the file's
/// own lines, and the key never shows.
#[test]
fn key_in_an_example_file_is_called_out() {
    let Some(repo) = repo() else { return };
    let key = Fakes::new(7).checksummed("ghp_");
    repo.write(".env.example", format!("GITHUB_TOKEN={key}\n"));
    let run = run_in(repo.path(), &["init", "--dry-run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(".env.example:1: ") && run.stderr.contains("in an example file"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(&key));
    assert_eq!(text(&repo, ".env.example"), format!("GITHUB_TOKEN={key}\n"));
}

/// Comments go to `.env.example`, but not the keys in them: a commented-out assignment keeps its
/// name, and a comment holding a key is dropped.
#[test]
fn keys_in_env_comments_stay_out_of_the_example() {
    let Some(repo) = repo() else { return };
    let mut fakes = Fakes::new(11);
    let old = fakes.checksummed("ghp_");
    let older = fakes.checksummed("ghp_");
    repo.write(
        ".env",
        format!("# GitHub\n# GITHUB_TOKEN={old}\n# the one before: {older}\nGITHUB_TOKEN=x\n"),
    );
    let run = run_in(repo.path(), &["init", "--yes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        text(&repo, ".env.example"),
        "# GitHub\n# GITHUB_TOKEN=\nGITHUB_TOKEN=\n"
    );
}

/// Client-public secrets are flagged in env files below the root too (monorepos), ignored or
/// not; dependencies are not searched.
#[test]
fn nested_env_files_are_checked_for_client_public_secrets() {
    let Some(repo) = repo() else { return };
    repo.write(".gitignore", ".env*\n");
    repo.write(
        "apps/web/.env.local",
        format!("A=1\n{VITE_SECRET_NAME}=x\n"),
    );
    repo.write("node_modules/pkg/.env", format!("{VITE_SECRET_NAME}=x\n"));
    let run = run_in(repo.path(), &["init", "--dry-run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("apps/web/.env.local:2: {VITE_SECRET_NAME}")),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("node_modules"), "{}", run.stderr);
}

/// With core.hooksPath (husky, say), the hook goes there and the hook already there is kept.
#[test]
fn hook_respects_hooks_path_and_keeps_the_existing_hook() {
    let Some(repo) = repo() else { return };
    repo.git(&["config", "core.hooksPath", ".husky"]);
    repo.write(".husky/pre-commit", "#!/bin/sh\necho husky\n");
    let run = run_in(repo.path(), &["init", "--yes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("core.hooksPath is set to `.husky`"),
        "{}",
        run.stderr
    );
    assert!(text(&repo, ".husky/pre-commit").contains(MARKER));
    assert_eq!(
        text(&repo, ".husky/pre-commit.keyguard-chained"),
        "#!/bin/sh\necho husky\n"
    );
    assert!(!repo.git_dir().join("hooks/pre-commit").exists());
    let again = run_in(repo.path(), &["init", "--yes"]);
    assert!(
        again.stderr.contains("nothing to change"),
        "{}",
        again.stderr
    );
}

/// Answering no to every question at a real terminal changes nothing.
#[test]
fn declining_every_prompt_changes_nothing() {
    let Some(repo) = repo() else { return };
    repo.write(".env", "OPENAI_API_KEY=x\n");
    repo.commit_all("env");
    let before = snapshot(repo.path());
    let mut cmd = keyguard();
    cmd.current_dir(repo.path())
        .env("TERM", "xterm")
        .arg("init");
    let mut p = match rexpect::session::spawn_command(cmd, Some(20_000)) {
        Ok(p) => p,
        Err(e) => {
            skip_missing(&format!("a pseudo-terminal ({e})"));
            return;
        }
    };
    for question in [
        "Write the files listed above?",
        "Stop tracking .env",
        "Install the pre-commit hook?",
    ] {
        p.exp_string(question).unwrap();
        p.send("n").unwrap();
        p.flush().unwrap();
    }
    p.exp_eof().unwrap();
    assert_eq!(snapshot(repo.path()), before);
}

#[test]
fn appended_env_patterns_keep_the_users_env_exceptions() {
    let Some(repo) = repo() else { return };
    let original = "node_modules/\n!.env.production\n";
    repo.write(".gitignore", original);
    repo.write(".env.production", "PUBLIC_URL=https://example.org\n");
    repo.write(".env.staging", "PUBLIC_URL=https://staging.example.org\n");
    let run = run_in(repo.path(), &["init", "--yes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let after = text(&repo, ".gitignore");
    assert!(after.starts_with(original), "{after:?}");
    let env_star = after.find("\n.env.*\n").expect("`.env.*` appended");
    assert!(
        after[env_star..].contains("\n!.env.production\n"),
        "{after:?}"
    );
    // git agrees: the exception still holds, and other env files are ignored.
    let ignored = |rel: &str| {
        repo.cmd(&["check-ignore", "-q", rel])
            .status()
            .unwrap()
            .success()
    };
    assert!(!ignored(".env.production"));
    assert!(ignored(".env.staging"));
    assert!(!ignored(".env.example"));
    let again = run_in(repo.path(), &["init", "--yes"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(text(&repo, ".gitignore"), after);
}

#[test]
fn env_example_gets_no_key_from_a_comment() {
    let Some(repo) = repo() else { return };
    let mut fakes = Fakes::new(7);
    let hex = fakes.alnum(32).to_lowercase();
    let other = fakes.alnum(40);
    let env = format!(
        "# Stripe keys\n# old stripe key {hex}\n#   API_KEY: {other}\nSTRIPE_KEY=x\n# OLD_TOKEN={other}\n"
    );
    repo.write(".env", &env);
    let run = run_in(repo.path(), &["init", "--yes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let example = text(&repo, ".env.example");
    assert_eq!(
        example,
        "# Stripe keys\n#   API_KEY:\nSTRIPE_KEY=\n# OLD_TOKEN=\n"
    );
    for secret in [&hex, &other] {
        assert!(!run.stdout.contains(secret.as_str()), "{}", run.stdout);
        assert!(!run.stderr.contains(secret.as_str()), "{}", run.stderr);
    }
}
