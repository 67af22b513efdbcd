//! `keyguard hook install|uninstall` on real repositories: where the hook goes, that an existing
//! hook is kept and still runs (through a real `git commit`), and that uninstall restores it.
#![cfg(unix)]

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use crate::support::git::{Repo, git_available};
use crate::support::{Fakes, run_in, skip_missing};

const MARKER: &str = "# keyguard pre-commit hook";
const CHAINED: &str = "pre-commit.keyguard-chained";

fn repo() -> Option<Repo> {
    if !git_available() && skip_missing("git") {
        return None;
    }
    Some(Repo::init())
}

fn hooks_dir(repo: &Repo) -> PathBuf {
    repo.git_dir().join("hooks")
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

fn write_hook(path: &Path, body: &str, mode: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A hook that records that it ran, with its arguments, in `flag`.
fn flag_hook(flag: &Path) -> String {
    format!(
        "#!/bin/sh\n# someone else's hook\necho \"ran with $# arguments\" > '{}'\n",
        flag.display()
    )
}

/// `git commit` as a person runs it: hooks run (no --no-verify).
fn git_commit(repo: &Repo, message: &str) -> std::process::Output {
    repo.cmd(&["commit", "-q", "-m", message]).output().unwrap()
}

/// Names in the hooks directory that start with `pre-commit` (the samples aside).
fn pre_commit_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("pre-commit") && !n.ends_with(".sample"))
        .collect();
    names.sort();
    names
}

/// Every file under `dir` with its bytes and mode (symlinks as their target).
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>, u32)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let meta = std::fs::symlink_metadata(&p).unwrap();
        let bytes = if meta.file_type().is_symlink() {
            std::fs::read_link(&p)
                .unwrap()
                .to_string_lossy()
                .into_owned()
                .into_bytes()
        } else if meta.is_file() {
            std::fs::read(&p).unwrap()
        } else {
            Vec::new()
        };
        out.push((p.display().to_string(), bytes, mode(&p)));
    }
    out.sort();
    out
}

#[test]
fn install_in_a_fresh_repository() {
    let Some(repo) = repo() else { return };
    let run = run_in(repo.path(), &["hook", "install"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let hook = hooks_dir(&repo).join("pre-commit");
    let text = std::fs::read_to_string(&hook).unwrap();
    assert!(text.starts_with("#!/bin/sh\n"), "{text}");
    assert!(text.contains(MARKER), "{text}");
    // The hook runs this binary by its absolute path.
    assert!(
        text.contains(&format!("keyguard='{}'", env!("CARGO_BIN_EXE_keyguard"))),
        "{text}"
    );
    assert!(text.contains("scan staged"), "{text}");
    assert_eq!(mode(&hook), 0o755);
    assert_eq!(pre_commit_files(&hooks_dir(&repo)), ["pre-commit"]);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr.contains(&format!(
            "installed the pre-commit hook: {}",
            hook.display()
        )),
        "{}",
        run.stderr
    );
    // No temporary file left behind.
    assert!(
        std::fs::read_dir(hooks_dir(&repo)).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with('.')),
    );
}

#[test]
fn quiet_install_and_uninstall_print_nothing() {
    let Some(repo) = repo() else { return };
    let run = run_in(repo.path(), &["hook", "install", "--quiet"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "");
    let run = run_in(repo.path(), &["hook", "uninstall", "-q"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "");
    assert!(pre_commit_files(&hooks_dir(&repo)).is_empty());
}

#[test]
fn install_over_an_existing_hook_keeps_it_and_it_runs_first() {
    let Some(repo) = repo() else { return };
    let flag = repo.git_dir().join("flag-existing-hook");
    let hook = hooks_dir(&repo).join("pre-commit");
    let original = flag_hook(&flag);
    write_hook(&hook, &original, 0o750);

    let run = run_in(repo.path(), &["hook", "install"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("existing hook kept: it runs first"),
        "{}",
        run.stderr
    );
    let chained = hooks_dir(&repo).join(CHAINED);
    assert!(run.stderr.contains(&chained.display().to_string()));
    assert_eq!(std::fs::read_to_string(&chained).unwrap(), original);
    assert_eq!(mode(&chained), 0o750);
    assert!(std::fs::read_to_string(&hook).unwrap().contains(MARKER));

    // A real commit runs the old hook (whatever `scan staged` then decides).
    repo.write("notes.txt", "nothing secret\n");
    repo.git(&["add", "notes.txt"]);
    let _ = git_commit(&repo, "notes");
    assert_eq!(
        std::fs::read_to_string(&flag).unwrap(),
        "ran with 0 arguments\n",
        "the existing hook did not run"
    );
}

#[test]
fn a_failing_existing_hook_still_blocks_the_commit() {
    let Some(repo) = repo() else { return };
    repo.write("README", "hello\n");
    let first = repo.commit_all("first");
    write_hook(
        &hooks_dir(&repo).join("pre-commit"),
        "#!/bin/sh\necho 'old hook says no' >&2\nexit 3\n",
        0o755,
    );
    let run = run_in(repo.path(), &["hook", "install"]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    repo.write("notes.txt", "nothing secret\n");
    repo.git(&["add", "notes.txt"]);
    let out = git_commit(&repo, "notes");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("old hook says no"), "{stderr}");
    assert_eq!(repo.head(), first);
}

#[test]
fn uninstall_restores_the_original_hook_byte_for_byte() {
    let Some(repo) = repo() else { return };
    let hook = hooks_dir(&repo).join("pre-commit");
    let original = "#!/bin/sh\n# team hook\r\nexit 0\n";
    write_hook(&hook, original, 0o700);
    let before = snapshot(&hooks_dir(&repo));

    assert_eq!(run_in(repo.path(), &["hook", "install"]).code, 0);
    assert_ne!(snapshot(&hooks_dir(&repo)), before);
    let run = run_in(repo.path(), &["hook", "uninstall"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("put back the one that was there before"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(&hook.display().to_string()));
    assert_eq!(std::fs::read(&hook).unwrap(), original.as_bytes());
    assert_eq!(mode(&hook), 0o700);
    assert_eq!(snapshot(&hooks_dir(&repo)), before);
}

#[test]
fn uninstall_without_an_earlier_hook_removes_keyguards() {
    let Some(repo) = repo() else { return };
    let before = snapshot(&hooks_dir(&repo));
    assert_eq!(run_in(repo.path(), &["hook", "install"]).code, 0);
    let run = run_in(repo.path(), &["hook", "uninstall"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("removed keyguard's pre-commit hook"),
        "{}",
        run.stderr
    );
    assert_eq!(snapshot(&hooks_dir(&repo)), before);
}

#[test]
fn a_symlinked_hook_is_kept_as_a_symlink() {
    let Some(repo) = repo() else { return };
    let flag = repo.git_dir().join("flag-symlinked-hook");
    repo.write("tools/hook.sh", flag_hook(&flag));
    std::fs::set_permissions(
        repo.path().join("tools/hook.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let hook = hooks_dir(&repo).join("pre-commit");
    // Relative, as shared hook set-ups usually are: it must still resolve after the move.
    symlink("../../tools/hook.sh", &hook).unwrap();

    assert_eq!(run_in(repo.path(), &["hook", "install"]).code, 0);
    let chained = hooks_dir(&repo).join(CHAINED);
    assert_eq!(
        std::fs::read_link(&chained).unwrap(),
        Path::new("../../tools/hook.sh")
    );
    repo.git(&["add", "tools/hook.sh"]);
    let _ = git_commit(&repo, "tools");
    assert!(flag.exists(), "the symlinked hook did not run");

    assert_eq!(run_in(repo.path(), &["hook", "uninstall"]).code, 0);
    assert_eq!(
        std::fs::read_link(&hook).unwrap(),
        Path::new("../../tools/hook.sh")
    );
    assert!(!chained.exists());
}

#[test]
fn install_twice_updates_in_place() {
    let Some(repo) = repo() else { return };
    let hook = hooks_dir(&repo).join("pre-commit");
    let original = "#!/bin/sh\nexit 0\n";
    write_hook(&hook, original, 0o755);

    assert_eq!(run_in(repo.path(), &["hook", "install"]).code, 0);
    let installed = std::fs::read(&hook).unwrap();
    let run = run_in(repo.path(), &["hook", "install"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("already installed"), "{}", run.stderr);
    // One kept hook, not a chain of chains; the same script.
    assert_eq!(
        pre_commit_files(&hooks_dir(&repo)),
        ["pre-commit", "pre-commit.keyguard-chained"]
    );
    assert_eq!(std::fs::read(&hook).unwrap(), installed);
    assert_eq!(
        std::fs::read_to_string(hooks_dir(&repo).join(CHAINED)).unwrap(),
        original
    );

    assert_eq!(run_in(repo.path(), &["hook", "uninstall"]).code, 0);
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), original);
    assert_eq!(pre_commit_files(&hooks_dir(&repo)), ["pre-commit"]);
}

#[test]
fn install_refuses_when_the_chained_name_is_taken() {
    let Some(repo) = repo() else { return };
    let dir = hooks_dir(&repo);
    write_hook(&dir.join("pre-commit"), "#!/bin/sh\nexit 0\n", 0o755);
    write_hook(&dir.join(CHAINED), "#!/bin/sh\necho other\n", 0o755);
    let before = snapshot(&dir);
    let run = run_in(repo.path(), &["hook", "install"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains(CHAINED), "{}", run.stderr);
    assert!(run.stderr.contains("is taken"), "{}", run.stderr);
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn relative_core_hooks_path_is_honoured() {
    let Some(repo) = repo() else { return };
    repo.git(&["config", "core.hooksPath", ".githooks"]);
    let flag = repo.git_dir().join("flag-hooks-path");
    write_hook(
        &repo.path().join(".githooks/pre-commit"),
        &flag_hook(&flag),
        0o755,
    );
    std::fs::create_dir_all(repo.path().join("sub")).unwrap();

    // Relative to the working tree's root, not to the current directory.
    let run = run_in(&repo.path().join("sub"), &["hook", "install"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("core.hooksPath"), "{}", run.stderr);
    let hook = repo.path().join(".githooks/pre-commit");
    assert!(std::fs::read_to_string(&hook).unwrap().contains(MARKER));
    assert!(repo.path().join(".githooks").join(CHAINED).exists());
    assert!(!hooks_dir(&repo).join("pre-commit").exists());
    assert!(!repo.path().join("sub/.githooks").exists());

    repo.write("notes.txt", "nothing secret\n");
    repo.git(&["add", "notes.txt"]);
    let _ = git_commit(&repo, "notes");
    assert!(flag.exists(), "the hook in core.hooksPath did not run");
}

#[test]
fn core_hooks_path_directory_is_created() {
    let Some(repo) = repo() else { return };
    repo.git(&["config", "core.hooksPath", "hooks/git"]);
    let run = run_in(
        Path::new("/"),
        &["hook", "install", "-C", repo.path().to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(repo.path().join("hooks/git/pre-commit").is_file());
}

#[test]
fn linked_worktrees_share_the_main_hooks_directory() {
    let Some(repo) = repo() else { return };
    repo.write("README", "hello\n");
    repo.commit_all("first");
    let other = tempfile::tempdir().unwrap();
    let wt = other.path().join("wt");
    repo.git(&["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()]);

    let run = run_in(&wt, &["hook", "install"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        std::fs::read_to_string(hooks_dir(&repo).join("pre-commit"))
            .unwrap()
            .contains(MARKER)
    );
}

#[test]
fn uninstall_with_nothing_installed_changes_nothing() {
    let Some(repo) = repo() else { return };
    let before = snapshot(&hooks_dir(&repo));
    let run = run_in(repo.path(), &["hook", "uninstall"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("not installed"), "{}", run.stderr);
    assert!(run.stderr.contains("pre-commit"), "{}", run.stderr);
    assert_eq!(snapshot(&hooks_dir(&repo)), before);
}

#[test]
fn uninstall_leaves_someone_elses_hook_alone() {
    let Some(repo) = repo() else { return };
    write_hook(
        &hooks_dir(&repo).join("pre-commit"),
        "#!/bin/sh\n# husky\nexit 0\n",
        0o755,
    );
    let before = snapshot(&hooks_dir(&repo));
    let run = run_in(repo.path(), &["hook", "uninstall"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("not keyguard's"), "{}", run.stderr);
    assert!(run.stderr.contains("left unchanged"), "{}", run.stderr);
    assert_eq!(snapshot(&hooks_dir(&repo)), before);
}

#[test]
fn outside_a_repository_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["hook", "install"],
        vec!["hook", "uninstall"],
        vec!["hook", "install", "-C", dir.path().to_str().unwrap()],
    ] {
        let run = run_in(dir.path(), &args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("not in a git repository"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains(&dir.path().display().to_string()),
            "{}",
            run.stderr
        );
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    let missing = dir.path().join("missing");
    let run = run_in(
        dir.path(),
        &["hook", "install", "-C", missing.to_str().unwrap()],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("missing: no such file or directory"),
        "{}",
        run.stderr
    );
}

/// End to end through `keyguard scan staged`: fails until that command is built.
#[test]
fn hook_blocks_commit_adding_a_key() {
    let Some(repo) = repo() else { return };
    repo.write("README", "hello\n");
    let first = repo.commit_all("first");
    assert_eq!(run_in(repo.path(), &["hook", "install"]).code, 0);

    let key = Fakes::new(31).checksummed("ghp_");
    repo.write("deploy.env", format!("GITHUB_TOKEN={key}\n"));
    // The key is one keyguard finds at all (scanning the working tree).
    let (_, report) = crate::support::scan_json(repo.path(), &[]);
    assert_eq!(report["findings"][0]["path"], "deploy.env", "{report}");
    repo.git(&["add", "deploy.env"]);
    let out = git_commit(&repo, "add deploy settings");
    // git sends a hook's standard output to its standard error.
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "a commit adding a key went through");
    assert_eq!(repo.head(), first);
    assert!(output.contains("deploy.env"), "{output}");
    assert!(!output.contains(&key), "the key was printed");

    repo.git(&["rm", "-q", "--cached", "deploy.env"]);
    repo.write("notes.txt", "nothing secret\n");
    repo.git(&["add", "notes.txt"]);
    let out = git_commit(&repo, "notes");
    assert!(
        out.status.success(),
        "a clean commit was blocked: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(repo.head(), first);
}

/// KEYGUARD_CHAINED_HOOK marks the kept hook keyguard's hook runs; set by anything else (an
/// export in a shell profile, say) it must not turn the scan off.
#[test]
fn an_inherited_keyguard_chained_hook_does_not_turn_the_scan_off() {
    let Some(repo) = repo() else { return };
    repo.write("README", "hello\n");
    let first = repo.commit_all("first");
    let flag = repo.git_dir().join("flag-kept-hook");
    write_hook(
        &hooks_dir(&repo).join("pre-commit"),
        &flag_hook(&flag),
        0o755,
    );
    assert_eq!(run_in(repo.path(), &["hook", "install"]).code, 0);

    let key = Fakes::new(32).checksummed("ghp_");
    repo.write("deploy.env", format!("GITHUB_TOKEN={key}\n"));
    repo.git(&["add", "deploy.env"]);
    let chained = hooks_dir(&repo).join(CHAINED);
    for inherited in ["1".as_ref(), chained.as_os_str()] {
        let out = repo
            .cmd(&["commit", "-q", "-m", "add deploy settings"])
            .env("KEYGUARD_CHAINED_HOOK", inherited)
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "KEYGUARD_CHAINED_HOOK={inherited:?} let a key through"
        );
        assert_eq!(repo.head(), first);
        assert!(flag.exists(), "the kept hook did not run");
        std::fs::remove_file(&flag).unwrap();
    }
}
