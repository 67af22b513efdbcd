//! The working-tree source: files on disk under one or more roots, walked in parallel, honouring
//! `.gitignore`, `.ignore` and `.keyguardignore`. Hidden files are scanned (that is where `.env`
//! lives); `.git/` is not. Symlinks are not followed unless asked, and loops never hang.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::Ordering;

use ignore::gitignore::Gitignore;
use ignore::{WalkBuilder, WalkState};

use crate::engine::Scanner;
use crate::finding::Finding;
use crate::sanitize;
pub use crate::source::Stats;

pub const IGNORE_FILE: &str = ".keyguardignore";

#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("{path}: no such file or directory")]
    NotFound { path: String },
    #[error("cannot read {path}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone)]
pub struct TreeOptions {
    pub roots: Vec<PathBuf>,
    pub threads: usize,
    pub max_file_size: u64,
    pub follow_symlinks: bool,
    /// Honour .gitignore/.ignore/.keyguardignore (turned off by `--no-ignore`).
    pub honour_ignore_files: bool,
    /// Gitignore-style globs relative to each root: never read.
    pub exclude: Vec<String>,
}

/// One root the user named, and how to show paths under it.
struct Root {
    path: PathBuf,
    /// Prefix for displayed paths: "" for ".", else the root as named plus '/'.
    display_prefix: String,
}

impl Root {
    fn new(path: &Path) -> Root {
        let shown = sanitize::escape(&path.to_string_lossy()).into_owned();
        let display_prefix = if shown == "." || shown == "./" {
            String::new()
        } else if shown.ends_with('/') {
            shown
        } else {
            format!("{shown}/")
        };
        Root {
            path: path.to_path_buf(),
            display_prefix,
        }
    }

    /// (shown path, path relative to the root)
    fn display(&self, file: &Path) -> (String, String) {
        let rel = file.strip_prefix(&self.path).unwrap_or(file);
        let rel = sanitize::escape(&rel.to_string_lossy().replace('\\', "/")).into_owned();
        (format!("{}{}", self.display_prefix, rel), rel)
    }
}

/// Checks every root before any work, so a typo fails fast with exit 2.
pub fn check_roots(roots: &[PathBuf]) -> Result<(), TreeError> {
    for r in roots {
        let meta = std::fs::metadata(r).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                TreeError::NotFound {
                    path: sanitize::path(r),
                }
            } else {
                TreeError::Unreadable {
                    path: sanitize::path(r),
                    source: e,
                }
            }
        })?;
        let probe = if meta.is_dir() {
            std::fs::read_dir(r).map(|_| ())
        } else {
            std::fs::File::open(r).map(|_| ())
        };
        probe.map_err(|source| TreeError::Unreadable {
            path: sanitize::path(r),
            source,
        })?;
    }
    Ok(())
}

/// Scans one file's bytes, once read and past the size and binary checks:
/// `(path on disk, bytes, shown path, path relative to the root)`.
pub type ContentScan<'a> = dyn Fn(&Path, &[u8], &str, &str) -> Vec<Finding> + Sync + 'a;

/// Walks every root and scans every file; `warn` receives one line per unreadable file.
pub fn scan(
    opts: &TreeOptions,
    scanner: &Scanner,
    stats: &Stats,
    warn: &(dyn Fn(String) + Sync),
) -> Vec<Finding> {
    scan_with(
        opts,
        &|_, bytes, shown, rel| super::scan_bytes(scanner, bytes, shown, rel),
        stats,
        warn,
    )
}

/// Walks every root and hands every file's content to `content` (the bundle source maps
/// positions through source maps there).
pub fn scan_with(
    opts: &TreeOptions,
    content: &ContentScan,
    stats: &Stats,
    warn: &(dyn Fn(String) + Sync),
) -> Vec<Finding> {
    let findings = Mutex::new(Vec::new());
    for root_path in &opts.roots {
        let root = Root::new(root_path);
        if root_path.is_file() {
            // A file named on the command line is scanned even if an ignore file lists it.
            let shown = sanitize::path(root_path);
            // Relative to the current directory, where the config that allows paths usually is.
            let rel = shown.strip_prefix("./").unwrap_or(&shown).to_string();
            let found = scan_file(root_path, (&shown, &rel), opts, content, stats, warn);
            findings.lock().unwrap().extend(found);
            continue;
        }
        let exclude = build_excludes(root_path, &opts.exclude);
        let mut builder = WalkBuilder::new(root_path);
        builder
            .hidden(false)
            .follow_links(opts.follow_symlinks)
            .threads(opts.threads)
            .require_git(false)
            .git_ignore(opts.honour_ignore_files)
            .git_exclude(opts.honour_ignore_files)
            .git_global(opts.honour_ignore_files)
            .ignore(opts.honour_ignore_files)
            .parents(opts.honour_ignore_files)
            .filter_entry(move |e| {
                if e.file_name() == ".git" {
                    return false;
                }
                match &exclude {
                    Some(ex) => {
                        let is_dir = e.file_type().is_some_and(|t| t.is_dir());
                        !ex.matched_path_or_any_parents(e.path(), is_dir).is_ignore()
                    }
                    None => true,
                }
            });
        if opts.honour_ignore_files {
            builder.add_custom_ignore_filename(IGNORE_FILE);
        }
        builder.build_parallel().run(|| {
            let root = &root;
            let findings = &findings;
            Box::new(move |entry| {
                let entry = match entry {
                    Ok(e) => e,
                    Err(err) => {
                        // Loops under --follow and unreadable directories land here.
                        stats.unreadable.fetch_add(1, Ordering::Relaxed);
                        warn(err.to_string());
                        return WalkState::Continue;
                    }
                };
                if !entry.file_type().is_some_and(|t| t.is_file()) {
                    return WalkState::Continue;
                }
                let (shown, rel) = root.display(entry.path());
                let found = scan_file(entry.path(), (&shown, &rel), opts, content, stats, warn);
                if !found.is_empty() {
                    findings.lock().unwrap().extend(found);
                }
                WalkState::Continue
            })
        });
    }
    findings.into_inner().unwrap()
}

/// Gitignore-style `[scan] exclude` globs, relative to `root`; `None` when there are none.
pub fn build_excludes(root: &Path, globs: &[String]) -> Option<Gitignore> {
    if globs.is_empty() {
        return None;
    }
    let mut b = ignore::gitignore::GitignoreBuilder::new(root);
    for g in globs {
        // Globs were validated when the config was loaded (see `validate_globs`).
        let _ = b.add_line(None, g);
    }
    b.build().ok()
}

/// Checks gitignore-style globs, naming the first bad one.
pub fn validate_globs(globs: &[String]) -> Result<(), String> {
    let mut b = ignore::gitignore::GitignoreBuilder::new("/");
    for g in globs {
        b.add_line(None, g).map_err(|e| format!("`{g}`: {e}"))?;
    }
    Ok(())
}

fn scan_file(
    path: &Path,
    (shown, rel): (&str, &str),
    opts: &TreeOptions,
    content: &ContentScan,
    stats: &Stats,
    warn: &(dyn Fn(String) + Sync),
) -> Vec<Finding> {
    let read = std::fs::File::open(path).and_then(|file| {
        // Metadata only lets an obviously large file be skipped unread; the cap on reading is
        // what holds (files grow, and /proc files claim size 0).
        let hint = file.metadata().map_or(0, |m| m.len());
        if hint > opts.max_file_size {
            return Ok(None);
        }
        read_capped(file, hint, opts.max_file_size)
    });
    match read {
        Ok(bytes) => scan_content(bytes, (path, shown, rel), content, stats),
        Err(e) => {
            stats.unreadable.fetch_add(1, Ordering::Relaxed);
            warn(format!("cannot read {shown}: {e}"));
            Vec::new()
        }
    }
}

/// Reads at most `limit` bytes; `None` when there is more.
pub fn read_capped(reader: impl Read, hint: u64, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::with_capacity(hint.min(limit) as usize + 1);
    reader.take(limit + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// What every file and standard input go through once read: the size and binary checks, the
/// counters, the engine.
fn scan_content(
    bytes: Option<Vec<u8>>,
    (path, shown, rel): (&Path, &str, &str),
    content: &ContentScan,
    stats: &Stats,
) -> Vec<Finding> {
    let Some(bytes) = bytes else {
        stats.too_large.fetch_add(1, Ordering::Relaxed);
        return Vec::new();
    };
    if super::looks_binary(&bytes) {
        stats.binary.fetch_add(1, Ordering::Relaxed);
        return Vec::new();
    }
    stats.files.fetch_add(1, Ordering::Relaxed);
    stats.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
    content(path, &bytes, shown, rel)
}

/// Reads standard input (for `keyguard scan -`), subject to the same size limit.
pub fn scan_stdin(
    opts: &TreeOptions,
    scanner: &Scanner,
    stats: &Stats,
) -> std::io::Result<Vec<Finding>> {
    let bytes = read_capped(std::io::stdin().lock(), 0, opts.max_file_size)?;
    Ok(scan_content(
        bytes,
        (Path::new("-"), "<stdin>", "<stdin>"),
        &|_, bytes, shown, rel| super::scan_bytes(scanner, bytes, shown, rel),
        stats,
    ))
}
