//! Opening the repository a command works on (`hook`, `init`): the one holding a directory, with
//! a working tree. Each command words the errors for its own context. Also keeps keyguard's own
//! local state (`.keyguard/`) out of commits.

use std::path::{Path, PathBuf};

/// Why no working-tree repository could be opened; `path` is the directory as named, escaped.
pub enum OpenError {
    NotFound {
        path: String,
    },
    NotARepository {
        path: String,
    },
    Repository {
        path: String,
        message: String,
    },
    /// `path` is the bare repository's git directory.
    Bare {
        path: String,
    },
}

/// The repository holding `start` and the root of its working tree.
pub fn open_worktree(start: &Path) -> Result<(git2::Repository, PathBuf), OpenError> {
    let named = if start == Path::new(".") {
        std::env::current_dir().unwrap_or_else(|_| start.to_path_buf())
    } else {
        start.to_path_buf()
    };
    let path = crate::sanitize::path(&named);
    if std::fs::symlink_metadata(start).is_err() {
        return Err(OpenError::NotFound { path });
    }
    let repo = git2::Repository::discover(start).map_err(|e| {
        if e.code() == git2::ErrorCode::NotFound {
            OpenError::NotARepository { path: path.clone() }
        } else {
            OpenError::Repository {
                path: path.clone(),
                message: e.message().to_string(),
            }
        }
    })?;
    match repo.workdir() {
        Some(w) if !repo.is_bare() => {
            let root = w.to_path_buf();
            Ok((repo, root))
        }
        _ => Err(OpenError::Bare {
            path: crate::sanitize::path(repo.path()),
        }),
    }
}

/// keyguard keeps local state in `.keyguard/` (incident records, rotation state, the serve store),
/// usually inside a repository: a `.keyguard/.gitignore` of `*` keeps it out of commits. Looks for
/// a `.keyguard` directory among `dir` and its ancestors; writes the file only when absent, never
/// through a link (`create_new` does not follow one). A failure only costs the convenience.
pub fn keep_local_state_out_of_git(dir: &Path) {
    let Some(dot) = dir
        .ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == ".keyguard"))
    else {
        return;
    };
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dot.join(".gitignore"))
    {
        use std::io::Write;
        let _ = f.write_all(b"# keyguard's local state (records, rotation state, serve store): never committed\n*\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_state_in_dot_keyguard_is_kept_out_of_git() {
        let tmp = tempfile::tempdir().unwrap();
        let records = tmp.path().join(".keyguard/incidents");
        std::fs::create_dir_all(&records).unwrap();
        keep_local_state_out_of_git(&records);
        let text = std::fs::read_to_string(tmp.path().join(".keyguard/.gitignore")).unwrap();
        assert!(text.lines().any(|l| l == "*"), "{text}");
        // A user's own file is left alone.
        std::fs::write(tmp.path().join(".keyguard/.gitignore"), "mine\n").unwrap();
        keep_local_state_out_of_git(&records);
        assert_eq!(
            std::fs::read_to_string(tmp.path().join(".keyguard/.gitignore")).unwrap(),
            "mine\n"
        );
        // Elsewhere, nothing is written.
        let other = tmp.path().join("records");
        std::fs::create_dir_all(&other).unwrap();
        keep_local_state_out_of_git(&other);
        assert!(!other.join(".gitignore").exists());
    }
}
