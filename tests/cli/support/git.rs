//! Real git repositories for the tests, built with the git CLI in a temporary directory, with a
//! fixed identity and fixed dates so commit ids are the same on every run. The CLI runs only in
//! repositories the test itself made, with global and system config ignored.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A repository under a temporary directory; dropped with it.
pub struct Repo {
    pub dir: tempfile::TempDir,
    /// Seconds since the epoch of the next commit; each commit advances it by a day.
    clock: std::cell::Cell<i64>,
}

/// 2024-01-01T00:00:00Z: the first commit's date.
pub const EPOCH: i64 = 1_704_067_200;

pub fn git_available() -> bool {
    Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

impl Repo {
    /// `git init` with `main` as the first branch.
    pub fn init() -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().unwrap(),
            clock: std::cell::Cell::new(EPOCH),
        };
        repo.git(&["init", "-q", "-b", "main", "."]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The date the next commit gets, as git's `@seconds +0000`.
    pub fn now(&self) -> String {
        format!("@{} +0000", self.clock.get())
    }

    /// A git command in this repository with a fixed identity and date; no user or system config.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("git");
        c.current_dir(self.path())
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Ada Author")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "Ada Author")
            .env("GIT_COMMITTER_EMAIL", "ada@example.com")
            .env("GIT_AUTHOR_DATE", self.now())
            .env("GIT_COMMITTER_DATE", self.now())
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE");
        c
    }

    /// Runs git and returns its trimmed standard output; panics with its stderr on failure.
    pub fn git(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().expect("running git");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        super::write(self.path(), rel, content);
    }

    pub fn remove(&self, rel: &str) {
        std::fs::remove_file(self.path().join(rel)).unwrap();
    }

    /// `git add -A` and a commit with `message`; returns the new commit's id. Advances the clock.
    pub fn commit_all(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.commit(message)
    }

    /// Commits what is staged (allowing an empty commit); returns its id. Advances the clock.
    pub fn commit(&self, message: &str) -> String {
        self.git(&[
            "commit",
            "-q",
            "--allow-empty",
            "--no-verify",
            "-m",
            message,
        ]);
        self.clock.set(self.clock.get() + 86_400);
        self.git(&["rev-parse", "HEAD"])
    }

    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"])
    }

    pub fn git_dir(&self) -> PathBuf {
        self.path().join(".git")
    }
}
