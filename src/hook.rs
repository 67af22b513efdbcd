//! The git pre-commit hook that runs `keyguard scan staged`: where it goes (`core.hooksPath`, else
//! the common git directory's `hooks/`, so linked worktrees share it), what the script says, and
//! how it is installed without losing the hook that was there before.
//!
//! A hook that is not keyguard's is never overwritten: it is renamed to
//! `pre-commit.keyguard-chained` (a rename keeps its bytes, its mode and, for a symlink, the link
//! itself) and keyguard's script runs it first. Uninstalling renames it back.
//!
//! The repository is found and read with libgit2; the git CLI never runs. This module knows
//! nothing of the command line or of printing: callers get back what changed.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::repo::OpenError;

pub const HOOK_NAME: &str = "pre-commit";
/// The name the hook that was there before keyguard's is kept under, beside it.
pub const CHAINED_NAME: &str = "pre-commit.keyguard-chained";
/// The line that marks a hook as keyguard's. Changing it would orphan installed hooks.
pub const MARKER: &str = "# keyguard pre-commit hook";

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("{path}: no such file or directory")]
    NotFound { path: String },
    #[error("{path} is not in a git repository (run `git init` there, or name one with -C)")]
    NotARepository { path: String },
    #[error("cannot open the git repository at {path}: {message}")]
    Repository { path: String, message: String },
    #[error(
        "{path} is a bare repository: nobody commits there, so a pre-commit hook would never run"
    )]
    Bare { path: String },
    #[error("cannot read core.hooksPath from the git config of {path}: {message}")]
    Config { path: String, message: String },
    #[error(
        "core.hooksPath is set but empty; set it to a directory, or unset it \
         (git config --unset core.hooksPath)"
    )]
    EmptyHooksPath,
    #[error("core.hooksPath starts with `~/`, but HOME is not set")]
    NoHome,
    #[error(
        "cannot install: {hook} is not keyguard's hook and {chained} is taken, so the existing \
         hook cannot be kept beside keyguard's; move one of them away first"
    )]
    ChainedTaken { hook: String, chained: String },
    #[error("{path} is not a file or a symbolic link; move it away first")]
    NotAFile { path: String },
    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
}

fn shown(p: &Path) -> String {
    crate::sanitize::path(p)
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> HookError {
    let path = shown(path);
    move |source| HookError::Io {
        action,
        path,
        source,
    }
}

/// The directory git runs this repository's hooks from.
#[derive(Debug, Clone)]
pub struct HooksDir {
    pub dir: PathBuf,
    /// `core.hooksPath` as configured, when it chose the directory.
    pub hooks_path: Option<String>,
}

impl HooksDir {
    pub fn hook(&self) -> PathBuf {
        self.dir.join(HOOK_NAME)
    }

    pub fn chained(&self) -> PathBuf {
        self.dir.join(CHAINED_NAME)
    }
}

/// Finds the repository `start` is in and the directory its hooks run from.
pub fn locate(start: &Path) -> Result<HooksDir, HookError> {
    let (repo, workdir) = crate::repo::open_worktree(start).map_err(|e| match e {
        OpenError::NotFound { path } => HookError::NotFound { path },
        OpenError::NotARepository { path } => HookError::NotARepository { path },
        OpenError::Repository { path, message } => HookError::Repository { path, message },
        OpenError::Bare { path } => HookError::Bare { path },
    })?;
    let config_error = |e: git2::Error| HookError::Config {
        path: shown(&workdir),
        message: e.message().to_string(),
    };
    let config = repo
        .config()
        .and_then(|mut c| c.snapshot())
        .map_err(config_error)?;
    let configured = match config.get_bytes("core.hooksPath") {
        Ok(v) => Some(v.to_vec()),
        Err(e) if e.code() == git2::ErrorCode::NotFound => None,
        Err(e) => return Err(config_error(e)),
    };
    match configured {
        None => Ok(HooksDir {
            dir: repo.commondir().join("hooks"),
            hooks_path: None,
        }),
        Some(value) => {
            let dir = resolve_hooks_path(&value, &workdir, std::env::var_os("HOME"))?;
            Ok(HooksDir {
                dir,
                hooks_path: Some(String::from_utf8_lossy(&value).into_owned()),
            })
        }
    }
}

/// `core.hooksPath` as git reads it: `~/` is HOME, and a relative path is relative to where hooks
/// run, the working tree's root.
fn resolve_hooks_path(
    value: &[u8],
    workdir: &Path,
    home: Option<std::ffi::OsString>,
) -> Result<PathBuf, HookError> {
    if value.is_empty() {
        return Err(HookError::EmptyHooksPath);
    }
    if let Some(rest) = value.strip_prefix(b"~/") {
        let home = home.filter(|h| !h.is_empty()).ok_or(HookError::NoHome)?;
        return Ok(Path::new(&home).join(path_from_bytes(rest)));
    }
    Ok(workdir.join(path_from_bytes(value)))
}

#[cfg(unix)]
fn path_from_bytes(b: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(b))
}

#[cfg(not(unix))]
fn path_from_bytes(b: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(b).into_owned())
}

#[cfg(unix)]
fn path_bytes(p: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    p.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
fn path_bytes(p: &Path) -> Vec<u8> {
    p.to_string_lossy().into_owned().into_bytes()
}

/// Quotes bytes as one sh word: inside single quotes nothing is special but the quote itself.
pub fn sh_quote(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 2);
    out.push(b'\'');
    for &b in raw {
        if b == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(b);
        }
    }
    out.push(b'\'');
    out
}

/// The hook script. `keyguard` is the binary to run (the one installing the hook); when it is
/// `None`, or is gone when the hook runs, `keyguard` on PATH runs instead.
pub fn script(keyguard: Option<&Path>) -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(
        format!(
            "#!/bin/sh\n\
             {MARKER}\n\
             # Written by `keyguard hook install`. It runs `keyguard scan staged`, which fails (and so\n\
             # blocks the commit) when the commit would add a secret. The hook that was here before\n\
             # keyguard's, if any, is kept beside this file as {CHAINED_NAME} and runs first;\n\
             # `keyguard hook uninstall` removes this file and puts that one back.\n\
             # `git commit --no-verify` skips every pre-commit hook for one commit.\n\
             \n\
             # Run as the kept hook of another keyguard hook (a symlink to it, say): that one\n\
             # scans, and this one must not start itself again. That hook names the kept hook it\n\
             # runs in KEYGUARD_CHAINED_HOOK: a value from anywhere else (an export, a kept hook\n\
             # committing in another repository) turns no scan off.\n\
             if [ \"${{KEYGUARD_CHAINED_HOOK:-}}\" = \"$0\" ]; then\n\
             \x20   exit 0\n\
             fi\n\
             case $0 in\n\
             \x20   */*) hooks_dir=${{0%/*}} ;;\n\
             \x20   *) hooks_dir=. ;;\n\
             esac\n\
             chained=\"$hooks_dir/{CHAINED_NAME}\"\n\
             # Like git, run it only if it is executable; same arguments and standard input.\n\
             if [ -x \"$chained\" ]; then\n\
             \x20   KEYGUARD_CHAINED_HOOK=\"$chained\" \"$chained\" \"$@\" || exit $?\n\
             fi\n\
             \n"
        )
        .as_bytes(),
    );
    match keyguard {
        Some(path) => {
            s.extend_from_slice(b"# The keyguard that installed this hook; the one on PATH if it has gone.\nkeyguard=");
            s.extend_from_slice(&sh_quote(&path_bytes(path)));
            s.extend_from_slice(
                b"\n\
                  if [ ! -x \"$keyguard\" ]; then\n\
                  \x20   if command -v keyguard >/dev/null 2>&1; then\n\
                  \x20       keyguard=keyguard\n\
                  \x20   else\n\
                  \x20       printf '%s\\n' \"keyguard pre-commit hook: keyguard is neither at $keyguard nor on PATH.\" \\\n\
                  \x20           \"Install it again, remove this hook (keyguard hook uninstall, or delete $0),\" \\\n\
                  \x20           \"or skip hooks for one commit with git commit --no-verify.\" >&2\n\
                  \x20       exit 1\n\
                  \x20   fi\n\
                  fi\n",
            );
        }
        None => {
            s.extend_from_slice(
                b"if ! command -v keyguard >/dev/null 2>&1; then\n\
                  \x20   printf '%s\\n' \"keyguard pre-commit hook: keyguard is not on PATH.\" \\\n\
                  \x20       \"Install it, remove this hook (keyguard hook uninstall, or delete $0),\" \\\n\
                  \x20       \"or skip hooks for one commit with git commit --no-verify.\" >&2\n\
                  \x20   exit 1\n\
                  fi\n\
                  keyguard=keyguard\n",
            );
        }
    }
    s.extend_from_slice(b"exec \"$keyguard\" scan staged\n");
    s
}

/// What is at a hook path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Present {
    Nothing,
    Keyguards,
    Foreign,
}

/// Hooks are small scripts; a file larger than this is not keyguard's.
const MAX_HOOK_READ: u64 = 1 << 20;

fn present(path: &Path) -> Result<Present, HookError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Present::Nothing),
        Err(e) => return Err(io_error("read", path)(e)),
    };
    // keyguard only ever writes a regular file: a symlink is someone's shared script.
    if meta.file_type().is_symlink() {
        return Ok(Present::Foreign);
    }
    if !meta.is_file() {
        return Err(HookError::NotAFile { path: shown(path) });
    }
    let mut text = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_HOOK_READ).read_to_end(&mut text))
        .map_err(io_error("read", path))?;
    let ours = text
        .split(|&b| b == b'\n')
        .take(8)
        .any(|line| line.strip_suffix(b"\r").unwrap_or(line) == MARKER.as_bytes());
    Ok(if ours {
        Present::Keyguards
    } else {
        Present::Foreign
    })
}

fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    // Follows a symlink, as git does when it decides whether to run a hook.
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

/// Whether keyguard's hook is the one at `hooks.hook()` now (`keyguard init` installs it only if
/// not).
pub fn is_installed(hooks: &HooksDir) -> Result<bool, HookError> {
    Ok(present(&hooks.hook())? == Present::Keyguards)
}

/// What `install` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installed {
    /// There was no hook. `leftover_chained`: a chained hook from an earlier install was found
    /// beside it, and runs first.
    New { leftover_chained: bool },
    /// Someone else's hook was there: it was renamed to the chained name and runs first (if it is
    /// executable; if not, git did not run it before either).
    Chained { executable: bool },
    /// keyguard's hook was there already: rewritten in place. `chaining`: a chained hook runs
    /// first.
    Updated { chaining: bool },
}

/// Installs keyguard's hook in `hooks.dir` (created if missing), keeping any other hook there as
/// the chained one.
pub fn install(hooks: &HooksDir, keyguard: Option<&Path>) -> Result<Installed, HookError> {
    let dir = &hooks.dir;
    if dir.exists() && !dir.is_dir() {
        return Err(HookError::NotAFile { path: shown(dir) });
    }
    std::fs::create_dir_all(dir).map_err(io_error("create", dir))?;
    let hook = hooks.hook();
    let chained = hooks.chained();
    let before = present(&hook)?;
    if before == Present::Foreign && exists(&chained) {
        return Err(HookError::ChainedTaken {
            hook: shown(&hook),
            chained: shown(&chained),
        });
    }
    // Ready the new script before touching anything, so a failure leaves the old hook in place.
    let tmp = write_temp(dir, &script(keyguard))?;
    let outcome = match before {
        Present::Nothing => Installed::New {
            leftover_chained: exists(&chained),
        },
        Present::Keyguards => Installed::Updated {
            chaining: exists(&chained),
        },
        Present::Foreign => {
            let executable = is_executable(&hook);
            std::fs::rename(&hook, &chained).map_err(io_error("move aside", &hook))?;
            Installed::Chained { executable }
        }
    };
    if let Err(e) = tmp.persist(&hook) {
        if before == Present::Foreign {
            // Put the user's hook back where it was.
            let _ = std::fs::rename(&chained, &hook);
        }
        return Err(io_error("write", &hook)(e.error));
    }
    Ok(outcome)
}

/// A temporary file in `dir` holding `bytes`, mode 0755, flushed to disk: renamed over the hook.
fn write_temp(dir: &Path, bytes: &[u8]) -> Result<tempfile::NamedTempFile, HookError> {
    let err = io_error("write a hook in", dir);
    let mut tmp = tempfile::Builder::new()
        .prefix(".pre-commit.keyguard-")
        .tempfile_in(dir)
        .map_err(err)?;
    let err = io_error("write a hook in", dir);
    tmp.write_all(bytes)
        .and_then(|_| set_executable(tmp.as_file()))
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(err)?;
    Ok(tmp)
}

#[cfg(unix)]
fn set_executable(f: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn set_executable(_: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

/// What `uninstall` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uninstalled {
    /// keyguard's hook was removed; nothing had been chained.
    Removed,
    /// keyguard's hook was replaced by the chained hook, as it was before `install`.
    Restored,
    /// No hook at all: nothing changed.
    NotInstalled,
    /// Someone else's hook is there: nothing changed. `chained_present`: a chained hook from an
    /// earlier install is beside it.
    Foreign { chained_present: bool },
    /// No hook, but a chained one from an earlier install (keyguard's hook was deleted by hand):
    /// it was moved back.
    RestoredLeftover,
}

/// Removes keyguard's hook from `hooks.dir` and moves the chained hook back; leaves anyone
/// else's hook alone.
pub fn uninstall(hooks: &HooksDir) -> Result<Uninstalled, HookError> {
    let hook = hooks.hook();
    let chained = hooks.chained();
    let chained_present = exists(&chained);
    match present(&hook)? {
        Present::Foreign => Ok(Uninstalled::Foreign { chained_present }),
        Present::Nothing if chained_present => {
            std::fs::rename(&chained, &hook).map_err(io_error("restore", &hook))?;
            Ok(Uninstalled::RestoredLeftover)
        }
        Present::Nothing => Ok(Uninstalled::NotInstalled),
        Present::Keyguards if chained_present => {
            // One rename replaces keyguard's hook: there is no moment without a hook.
            std::fs::rename(&chained, &hook).map_err(io_error("restore", &hook))?;
            Ok(Uninstalled::Restored)
        }
        Present::Keyguards => {
            std::fs::remove_file(&hook).map_err(io_error("remove", &hook))?;
            Ok(Uninstalled::Removed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_for_sh() {
        assert_eq!(sh_quote(b"/usr/bin/keyguard"), b"'/usr/bin/keyguard'");
        assert_eq!(sh_quote(b"it's"), b"'it'\\''s'");
        assert_eq!(sh_quote(b"$(rm -rf /)`x`"), b"'$(rm -rf /)`x`'");
    }

    #[test]
    fn hooks_path_resolution() {
        let wd = Path::new("/repo");
        let home = Some("/home/ada".into());
        assert_eq!(
            resolve_hooks_path(b".githooks", wd, home.clone()).unwrap(),
            Path::new("/repo/.githooks")
        );
        assert_eq!(
            resolve_hooks_path(b"/etc/hooks", wd, home.clone()).unwrap(),
            Path::new("/etc/hooks")
        );
        assert_eq!(
            resolve_hooks_path(b"~/hooks", wd, home).unwrap(),
            Path::new("/home/ada/hooks")
        );
        assert!(matches!(
            resolve_hooks_path(b"~/hooks", wd, None),
            Err(HookError::NoHome)
        ));
        assert!(matches!(
            resolve_hooks_path(b"", wd, None),
            Err(HookError::EmptyHooksPath)
        ));
    }

    #[test]
    fn script_is_marked_and_quotes_the_binary() {
        let s = script(Some(Path::new("/opt/it's here/keyguard")));
        let text = String::from_utf8(s).unwrap();
        assert!(text.starts_with("#!/bin/sh\n# keyguard pre-commit hook\n"));
        assert!(text.contains("keyguard='/opt/it'\\''s here/keyguard'\n"));
        assert!(text.ends_with("exec \"$keyguard\" scan staged\n"));
    }

    /// Runs the script with sh: the chained hook gets the arguments, a failing one stops the
    /// hook, and a binary that has gone falls back to `keyguard` on PATH.
    #[cfg(unix)]
    #[test]
    fn script_runs_chained_hook_then_keyguard() {
        use std::os::unix::fs::PermissionsExt;
        use std::process::Command;

        let tmp = tempfile::tempdir().unwrap();
        let hooks = tmp.path().join("hooks dir");
        let bin = tmp.path().join("bin");
        std::fs::create_dir_all(&hooks).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        let exe = |p: &Path, body: &str| {
            std::fs::write(p, body).unwrap();
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        let log = tmp.path().join("log");
        let log_q = String::from_utf8(sh_quote(log.to_str().unwrap().as_bytes())).unwrap();
        exe(
            &bin.join("keyguard"),
            &format!("#!/bin/sh\necho \"keyguard $*\" >> {log_q}\n"),
        );
        exe(
            &hooks.join(CHAINED_NAME),
            &format!("#!/bin/sh\necho \"chained $#:$1:$2\" >> {log_q}\nexit \"${{FAIL:-0}}\"\n"),
        );
        let gone = tmp.path().join("no such dir/keyguard");
        exe(&hooks.join(HOOK_NAME), "");
        std::fs::write(hooks.join(HOOK_NAME), script(Some(&gone))).unwrap();
        let run = |fail: &str| {
            Command::new(hooks.join(HOOK_NAME))
                .args(["a b", "c"])
                .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
                .env("FAIL", fail)
                .status()
                .unwrap()
        };
        assert!(run("0").success());
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            "chained 2:a b:c\nkeyguard scan staged\n"
        );
        std::fs::remove_file(&log).unwrap();
        assert_eq!(run("3").code(), Some(3));
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "chained 2:a b:c\n");
        std::fs::remove_file(&log).unwrap();

        // A kept hook that is keyguard's own (here: a symlink to it) does not loop, and the scan
        // runs once.
        std::fs::remove_file(hooks.join(CHAINED_NAME)).unwrap();
        std::os::unix::fs::symlink(HOOK_NAME, hooks.join(CHAINED_NAME)).unwrap();
        let status = Command::new("timeout")
            .arg("20")
            .arg(hooks.join(HOOK_NAME))
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            "keyguard scan staged\n"
        );
        std::fs::remove_file(&log).unwrap();

        // A KEYGUARD_CHAINED_HOOK from the environment, naming no hook or another one, turns
        // neither the kept hook nor the scan off.
        std::fs::remove_file(hooks.join(CHAINED_NAME)).unwrap();
        exe(
            &hooks.join(CHAINED_NAME),
            &format!("#!/bin/sh\necho \"chained $#\" >> {log_q}\n"),
        );
        let other = tmp
            .path()
            .join("elsewhere/.git/hooks/pre-commit.keyguard-chained");
        for inherited in ["1", other.to_str().unwrap()] {
            let status = Command::new(hooks.join(HOOK_NAME))
                .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
                .env("KEYGUARD_CHAINED_HOOK", inherited)
                .status()
                .unwrap();
            assert!(status.success());
            assert_eq!(
                std::fs::read_to_string(&log).unwrap(),
                "chained 0\nkeyguard scan staged\n",
                "KEYGUARD_CHAINED_HOOK={inherited}"
            );
            std::fs::remove_file(&log).unwrap();
        }
    }
}
