//! Opening the repository a command works on (`hook`, `init`): the one holding a directory, with
//! a working tree. Each command words the errors for its own context.

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
