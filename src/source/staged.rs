//! The staged-changes source (see `scan staged`): what `git commit` would record now, that is the
//! index against HEAD's tree (the empty tree before the first commit).
//!
//! Each blob the commit would add or change is scanned whole, so multi-line keys and rules that
//! need context still match; then only findings on lines the commit adds are kept. During a merge
//! a line counts as added only if it is new relative to HEAD *and* to every MERGE_HEAD, so merging
//! a branch that already holds a key does not block the merge commit.
//!
//! Speed (a hook runs on every commit): the index is read by `index` (libgit2's reader alone
//! costs ~50 ms on 100,000 files), and HEAD's tree is compared with it directory by directory,
//! skipping every directory whose cache-tree id equals HEAD's: a one-file change reads a handful
//! of trees and one blob. The few changed paths then go through libgit2's diff for rename
//! detection and line numbers.
//!
//! The repository is read as data only: nothing from it runs (no hooks, filters, textconv or
//! fsmonitor), and `.gitattributes` cannot hide a file from the line diff (`force_text`).
//! Knows nothing of rules: it hands bytes to the `Scanner`.

mod index;

use std::cmp::Ordering;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;

use git2::{
    Delta, DiffFindOptions, DiffOptions, ErrorCode, FileMode, Index, IndexEntry, IndexTime, Odb,
    Oid, Patch, Repository, Tree,
};
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::engine::Scanner;
use crate::finding::Finding;
use crate::sanitize;
pub use crate::source::Stats;
pub use index::IndexError;
use index::{CacheTree, IndexFile};

const MODE_TREE: u32 = 0o040000;
/// Directories nest deeper than this only in a tree or index made to do harm: git itself stops
/// at `core.maxTreeDepth`, 2048 by default, and libgit2's path lookups recurse once per level.
const MAX_DEPTH: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum StagedError {
    #[error(
        "{path} is not in a git repository (nor is any parent directory); \
         run `keyguard scan staged` inside one, or name it with -C"
    )]
    NotARepository { path: String },
    #[error("GIT_DIR is set to {path}, which is not a git repository")]
    GitDirNotARepository { path: String },
    #[error("{path} is a bare repository: it has no index to commit from")]
    Bare { path: String },
    #[error(
        "GIT_INDEX_FILE names {path}, which does not exist; git sets it for hooks to the index \
         the commit is built in, so a missing one is not taken for an empty index (unset it to \
         scan the repository's own index)"
    )]
    MissingIndexFile { path: String },
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(
        "directories nest more than {MAX_DEPTH} levels deep in HEAD's tree or the index (at \
         {path}); keyguard does not read trees that deep"
    )]
    TooDeep { path: String },
    /// libgit2's message only: its `Display` appends the error's class and code, which mean
    /// nothing to the user. Not a `source` either, or the message would print twice (the
    /// caller prints the whole chain).
    #[error("{what}: {message}")]
    Git { what: String, message: String },
}

impl StagedError {
    fn git(what: impl Into<String>) -> impl FnOnce(git2::Error) -> StagedError {
        let what = what.into();
        move |e| StagedError::Git {
            what,
            message: e.message().to_string(),
        }
    }
}

/// An opened repository, its index and the commits the next commit would have as parents.
pub struct Staged {
    repo: Repository,
    index: IndexFile,
    /// The working tree's root: where paths in findings are relative to.
    root: PathBuf,
    head_tree: Option<Oid>,
    merge_heads: Vec<Oid>,
}

/// What the caller decides: limits and paths never read.
pub struct StagedOptions {
    pub max_file_size: u64,
    /// `[scan] exclude` globs, relative to the working tree's root.
    pub exclude: Vec<String>,
}

/// One side of a changed path: its mode and object id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Side {
    mode: u32,
    oid: Oid,
}

/// The staged paths that differ from HEAD, and the paths left in conflict.
#[derive(Debug, Default)]
struct Changes {
    /// (path, HEAD's side, the index's side); a deletion has no new side, an addition no old one.
    paths: Vec<(Vec<u8>, Option<Side>, Option<Side>)>,
    conflicted: Vec<Vec<u8>>,
}

impl Staged {
    /// Opens the repository and reads its index.
    ///
    /// With `start` (`-C`), the repository holding that directory and its own index, whatever the
    /// environment says. Without, the repository as git finds it for a command run here: `GIT_DIR`
    /// and `GIT_WORK_TREE` when set (a bare repository with a work tree elsewhere, as for
    /// dotfiles, is committed to with both), else the one holding the current directory; and the
    /// index `GIT_INDEX_FILE` names when set (git sets it for every pre-commit hook; under
    /// `git commit -a` and `git commit PATH` the commit is built in a temporary index).
    pub fn open(start: Option<&Path>) -> Result<Staged, StagedError> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let mut repo = match start {
            Some(start) => Repository::discover(start).map_err(|e| match e.code() {
                ErrorCode::NotFound => StagedError::NotARepository {
                    path: sanitize::path(start),
                },
                _ => StagedError::git(format!(
                    "cannot open the repository at {}",
                    sanitize::path(start)
                ))(e),
            })?,
            None => open_from_env(&cwd)?,
        };
        let Some(root) = repo.workdir().map(Path::to_path_buf) else {
            return Err(StagedError::Bare {
                path: sanitize::path(repo.path()),
            });
        };
        // zlib still checks each object as it inflates it; hashing every object again cost a third
        // of the time spent reading trees, and git does not do it either.
        git2::opts::strict_hash_verification(false);
        let own_index = repo.path().join("index");
        let named_index = start
            .is_none()
            .then(|| env_path("GIT_INDEX_FILE"))
            .flatten()
            .map(|file| cwd.join(file));
        let index = match named_index {
            // Before the first `git add` there is no index: nothing is staged.
            None => IndexFile::read(&own_index)?.unwrap_or_default(),
            // git writes the index it names before it runs the hook: a missing one is not an
            // empty one (that would pass every commit), unless it is the repository's own.
            Some(path) => match IndexFile::read(&path)? {
                Some(index) => index,
                None if same_file_name(&path, &own_index) => IndexFile::default(),
                None => {
                    return Err(StagedError::MissingIndexFile {
                        path: sanitize::path(&path),
                    });
                }
            },
        };
        let head_tree = match repo.head() {
            Ok(head) => Some(
                head.peel_to_tree()
                    .map_err(StagedError::git("cannot read HEAD's tree"))?
                    .id(),
            ),
            // Before the first commit everything staged is new.
            Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => None,
            Err(e) => return Err(StagedError::git("cannot read HEAD")(e)),
        };
        let mut merge_heads = Vec::new();
        // libgit2 reads MERGE_HEAD as a list of ids; nothing in it is run.
        match repo.mergehead_foreach(|id| {
            merge_heads.push(*id);
            true
        }) {
            Ok(()) => {}
            Err(e) if e.code() == ErrorCode::NotFound => merge_heads.clear(),
            Err(e) => return Err(StagedError::git("cannot read MERGE_HEAD")(e)),
        }
        Ok(Staged {
            repo,
            index,
            root,
            head_tree,
            merge_heads,
        })
    }

    /// The working tree's root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Scans what the next commit would add. `warn` receives one line per skipped file.
    pub fn scan(
        &self,
        opts: &StagedOptions,
        scanner: &Scanner,
        stats: &Stats,
        warn: &dyn Fn(String),
    ) -> Result<Vec<Finding>, StagedError> {
        let repo = &self.repo;
        let merge_trees = self
            .merge_heads
            .iter()
            .map(|id| repo.find_commit(*id).and_then(|c| c.tree()))
            .collect::<Result<Vec<Tree>, _>>()
            .map_err(StagedError::git("cannot read a MERGE_HEAD commit"))?;
        let exclude = build_excludes(&opts.exclude);

        let mut changes = Changes::default();
        let mut walk = Walk {
            repo,
            index: &self.index,
            out: &mut changes,
        };
        walk.run(self.head_tree)?;
        if !changes.conflicted.is_empty() {
            let list: Vec<String> = changes.conflicted.iter().map(|p| display(p)).collect();
            warn(format!(
                "not scanned: {} path{} with unresolved conflicts (`git commit` refuses them \
                 until they are resolved and added): {}",
                list.len(),
                if list.len() == 1 { "" } else { "s" },
                list.join(", ")
            ));
        }
        if changes.paths.is_empty() {
            return Ok(Vec::new());
        }
        let odb = repo
            .odb()
            .map_err(StagedError::git("cannot open the object database"))?;
        let excluded = |shown: &str| {
            exclude
                .as_ref()
                .is_some_and(|ex| ex.matched_path_or_any_parents(shown, false).is_ignore())
        };
        let too_large = |shown: &str, size: u64| {
            stats.too_large.fetch_add(1, Relaxed);
            warn(format!(
                "skipped {shown}: {size} bytes staged, over the {} byte limit \
                 (--max-file-size or [scan] max_file_size)",
                opts.max_file_size
            ));
        };
        keep_large_blobs_from_renames(&mut changes, &odb, opts.max_file_size, &|path, size| {
            let shown = display(path);
            if !excluded(&shown) {
                too_large(&shown, size);
            }
        })?;

        // The changed paths only, as two small indexes, through libgit2's diff: it pairs renames
        // (a moved file is not new content) and numbers the added lines.
        let (old, new) = small_indexes(&changes)
            .map_err(StagedError::git("cannot compare the index with HEAD"))?;
        let mut diff_opts = line_diff_options();
        diff_opts.include_typechange(true);
        let mut diff = repo
            .diff_index_to_index(&old, &new, Some(&mut diff_opts))
            .map_err(StagedError::git("cannot compare the index with HEAD"))?;
        diff.find_similar(Some(DiffFindOptions::new().renames(true)))
            .map_err(StagedError::git("cannot detect renames"))?;

        let mut findings = Vec::new();
        for delta in diff.deltas() {
            if !matches!(
                delta.status(),
                Delta::Added | Delta::Modified | Delta::Renamed | Delta::Copied | Delta::Typechange
            ) {
                continue; // deleted: nothing to add
            }
            let new = delta.new_file();
            if matches!(delta.status(), Delta::Renamed | Delta::Copied)
                && delta.old_file().id() == new.id()
            {
                continue; // moved, not changed: adds no line
            }
            if !is_blob(new.mode()) {
                continue; // a submodule's commit id, not content
            }
            let Some(path_bytes) = new.path_bytes() else {
                continue;
            };
            let shown = display(path_bytes);
            if excluded(&shown) {
                continue;
            }
            let read_error = || format!("cannot read the staged blob of {shown}");
            let (size, _) = odb
                .read_header(new.id())
                .map_err(StagedError::git(read_error()))?;
            if size as u64 > opts.max_file_size {
                too_large(&shown, size as u64);
                continue;
            }
            let blob = repo
                .find_blob(new.id())
                .map_err(StagedError::git(read_error()))?;
            let bytes = blob.content();
            if super::looks_binary(bytes) {
                stats.binary.fetch_add(1, Relaxed);
                continue;
            }
            stats.files.fetch_add(1, Relaxed);
            stats.bytes.fetch_add(bytes.len() as u64, Relaxed);
            let found = super::scan_bytes(scanner, bytes, &shown, &shown);
            if found.is_empty() {
                continue; // the common case: no line diff needed at all
            }
            // The line diff runs on the two blobs, not through `diff`: a patch from a diff looks
            // up the path's diff driver in .gitattributes, and libgit2 then reads the whole
            // index (~50 ms on 100,000 files) for attributes nobody needs here.
            let what = || format!("cannot compare the staged {shown} with HEAD");
            // The old side is content only if it was a file: a submodule replaced by a file has
            // a commit id there, which this repository need not even hold.
            let old_file = delta.old_file();
            let old_id = (delta.status() != Delta::Added
                && is_blob(old_file.mode())
                && !old_file.id().is_zero())
            .then(|| old_file.id());
            // An old side over the size limit is not read (a one-line edit must not inflate a
            // huge file in a hook). The staged side was scanned, but which of its findings are
            // new is then unknown, and a pre-commit check that cannot tell reports them all: a
            // key let through costs more than a commit blocked with the reason said (old keys
            // in the file show too; raising --max-file-size lets the comparison run). Skipping
            // the file instead would let a new key in a shrunk file through unseen.
            let old = match old_id {
                Some(id) => {
                    let (size, _) = odb.read_header(id).map_err(StagedError::git(what()))?;
                    if size as u64 > opts.max_file_size {
                        warn(old_too_large(&shown, "HEAD's", size as u64, opts));
                        None
                    } else {
                        Some(repo.find_blob(id).map_err(StagedError::git(what()))?)
                    }
                }
                None => None,
            };
            let mut added = lines_added(old.as_ref().map_or(&[][..], |b| b.content()), bytes)
                .map_err(StagedError::git(what()))?;
            for tree in &merge_trees {
                if added.is_empty() {
                    break;
                }
                let old_path = delta.old_file().path_bytes();
                // As for HEAD, a version over the limit is not compared: it narrows nothing.
                match self.added_since(tree, path_bytes, old_path, bytes, &odb, opts)? {
                    Ok(theirs) => added = intersect(&added, &theirs),
                    Err(size) => warn(old_too_large(&shown, "a MERGE_HEAD's", size, opts)),
                }
            }
            findings.extend(found.into_iter().filter(|f| {
                let last = f.line + memchr::memchr_iter(b'\n', f.secret.expose()).count();
                overlaps(&added, f.line..last + 1)
            }));
        }
        Ok(findings)
    }

    /// Lines of `new` added relative to the version of the path in `tree` (the new path, else the
    /// old one for a rename; all of them when `tree` has neither); or, not read, the size of a
    /// version over the size limit.
    fn added_since(
        &self,
        tree: &Tree,
        path: &[u8],
        old_path: Option<&[u8]>,
        new: &[u8],
        odb: &Odb,
        opts: &StagedOptions,
    ) -> Result<Result<Vec<Range<usize>>, u64>, StagedError> {
        let shown = display(path);
        let what = || format!("cannot compare the staged {shown} with MERGE_HEAD");
        let entry = std::iter::once(path)
            .chain(old_path)
            .find_map(|p| tree.get_path(&repo_path(p)).ok())
            .filter(|e| e.kind() == Some(git2::ObjectType::Blob));
        let old = match entry {
            Some(e) => {
                let (size, _) = odb.read_header(e.id()).map_err(StagedError::git(what()))?;
                if size as u64 > opts.max_file_size {
                    return Ok(Err(size as u64));
                }
                Some(
                    self.repo
                        .find_blob(e.id())
                        .map_err(StagedError::git(what()))?,
                )
            }
            None => None,
        };
        let added = lines_added(old.as_ref().map_or(&[][..], |b| b.content()), new)
            .map_err(StagedError::git(what()))?;
        Ok(Ok(added))
    }
}

/// The repository git would use for a command run in `cwd`, from the environment as git reads it.
fn open_from_env(cwd: &Path) -> Result<Repository, StagedError> {
    let git_dir = env_path("GIT_DIR");
    let work_tree = env_path("GIT_WORK_TREE");
    // GIT_DIR (exactly that directory), else a search up from here within
    // GIT_CEILING_DIRECTORIES; and GIT_OBJECT_DIRECTORY and the like.
    let repo = Repository::open_from_env().map_err(|e| match (e.code(), &git_dir) {
        (ErrorCode::NotFound, Some(dir)) => StagedError::GitDirNotARepository {
            path: sanitize::path(&cwd.join(dir)),
        },
        (ErrorCode::NotFound, None) => StagedError::NotARepository {
            path: sanitize::path(cwd),
        },
        _ => StagedError::git(format!(
            "cannot open the repository at {}",
            sanitize::path(git_dir.as_deref().map_or(cwd, Path::new))
        ))(e),
    })?;
    // Where git's choice of work tree differs from libgit2's: GIT_WORK_TREE is relative to the
    // current directory (libgit2: to the git directory) and makes even a bare repository one with
    // a work tree (libgit2 ignores it there); and with GIT_DIR but no work tree named anywhere,
    // the current directory is the work tree's top (libgit2: the git directory's parent).
    let workdir = match work_tree {
        Some(dir) => Some(cwd.join(dir)),
        None if git_dir.is_some() && !repo.is_bare() && !repo.is_worktree() => {
            let config = repo
                .config()
                .and_then(|mut c| c.snapshot())
                .map_err(StagedError::git("cannot read the repository's config"))?;
            match config.get_bytes("core.worktree") {
                Ok(_) => None,
                Err(e) if e.code() == ErrorCode::NotFound => Some(cwd.to_path_buf()),
                Err(e) => return Err(StagedError::git("cannot read core.worktree")(e)),
            }
        }
        None => None,
    };
    if let Some(dir) = workdir {
        repo.set_workdir(&dir, false)
            .map_err(StagedError::git(format!(
                "cannot use {} as the work tree",
                sanitize::path(&dir)
            )))?;
    }
    Ok(repo)
}

/// An environment variable naming a path; unset when empty, as git takes it.
fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Whether `a` and `b` name the same file, which need not exist: the same name in the same
/// directory.
fn same_file_name(a: &Path, b: &Path) -> bool {
    let dir = |p: &Path| p.parent().and_then(|d| d.canonicalize().ok());
    a.file_name() == b.file_name() && dir(a).is_some() && dir(a) == dir(b)
}

/// HEAD's tree against the index, one directory at a time.
struct Walk<'a> {
    repo: &'a Repository,
    index: &'a IndexFile,
    out: &'a mut Changes,
}

/// A name in a directory, as HEAD has it and as the index has it.
enum HeadItem {
    File(Side),
    Dir(Oid),
}

enum IndexItem {
    File(usize),
    Conflict,
    /// The index entries below the directory.
    Dir(Range<usize>),
}

/// One directory being compared (see `Walk::run`): how far both sides have got in it.
struct Frame<'a> {
    /// The length of the directory's path, '/' included: where its children's names start.
    base: usize,
    /// HEAD's tree of the directory, if HEAD has it.
    tree: Option<Tree<'a>>,
    /// The next entry of `tree` to compare.
    head_next: usize,
    /// The next child in the index not yet compared: its name, kind and where the next starts.
    staged_next: Option<(&'a [u8], IndexItem, usize)>,
    /// Where the index entries under the directory end.
    end: usize,
    /// The directory's cache-tree node.
    cache: Option<&'a CacheTree>,
}

impl<'a> Walk<'a> {
    /// Compares HEAD's tree `head` with the whole index.
    ///
    /// Directories are compared one at a time: HEAD's tree of the directory with the index
    /// entries under it, both walked in step in git's order (by name, a directory's name as if
    /// it ended in '/'), in which a tree's entries and the index's paths are both sorted. A
    /// subdirectory is entered as it is met, on a stack of its own rather than by recursion: a
    /// tree nested thousands of levels deep must not exhaust the thread's stack.
    fn run(&mut self, head: Option<Oid>) -> Result<(), StagedError> {
        let mut prefix = Vec::new();
        let mut stack: Vec<Frame<'a>> = Vec::new();
        let everything = 0..self.index.entries.len();
        stack.extend(self.enter(&prefix, head, everything, self.index.cache_tree.as_ref())?);
        while let Some(frame) = stack.last_mut() {
            let base = frame.base;
            let head_next = frame.tree.as_ref().and_then(|t| t.get(frame.head_next));
            let order = match (&head_next, &frame.staged_next) {
                (None, None) => None,
                (Some(_), None) => Some(Ordering::Less),
                (None, Some(_)) => Some(Ordering::Greater),
                (Some(h), Some((name, item, _))) => Some(git_order(
                    h.name_bytes(),
                    h.filemode() as u32 == MODE_TREE,
                    name,
                    matches!(item, IndexItem::Dir(_)),
                )),
            };
            let Some(order) = order else {
                drop(head_next);
                stack.pop();
                continue;
            };
            prefix.truncate(base);
            let h_item = match head_next.filter(|_| order.is_le()) {
                Some(e) => {
                    frame.head_next += 1;
                    prefix.extend_from_slice(e.name_bytes());
                    let mode = e.filemode() as u32;
                    Some(if mode == MODE_TREE {
                        HeadItem::Dir(e.id())
                    } else {
                        HeadItem::File(Side { mode, oid: e.id() })
                    })
                }
                None => None,
            };
            let s_item = if order.is_ge() {
                let (name, item, next) = frame.staged_next.take().expect("compared above");
                if h_item.is_none() {
                    prefix.extend_from_slice(name);
                }
                frame.staged_next = self.index_child(base, next, frame.end);
                Some(item)
            } else {
                None
            };
            let cache = frame.cache;
            // A directory on either side is entered with what the other side has there.
            let sub = match (h_item, s_item) {
                (_, Some(IndexItem::Conflict)) => {
                    self.out.conflicted.push(prefix.clone());
                    None
                }
                (Some(HeadItem::File(old)), Some(IndexItem::File(i))) => {
                    let new = self.staged_side(i);
                    if new != Some(old) {
                        self.out.paths.push((prefix.clone(), Some(old), new));
                    }
                    None
                }
                (Some(HeadItem::File(old)), None) => {
                    self.out.paths.push((prefix.clone(), Some(old), None));
                    None
                }
                (None, Some(IndexItem::File(i))) => {
                    if let Some(new) = self.staged_side(i) {
                        self.out.paths.push((prefix.clone(), None, Some(new)));
                    }
                    None
                }
                (Some(HeadItem::Dir(h)), Some(IndexItem::Dir(r))) => {
                    let sub = cache.and_then(|c| c.child(&prefix[base..]));
                    Some((Some(h), r, sub))
                }
                // Deleted: every file under it is a source for rename detection.
                (Some(HeadItem::Dir(h)), None) => Some((Some(h), 0..0, None)),
                (None, Some(IndexItem::Dir(r))) => Some((None, r, None)),
                // Equal names in git's order are of one kind (a file `a` sorts apart from a
                // directory `a/`), and one side at least is present.
                (Some(HeadItem::File(_)), Some(IndexItem::Dir(_)))
                | (Some(HeadItem::Dir(_)), Some(IndexItem::File(_)))
                | (None, None) => unreachable!("paired only on equal names"),
            };
            if let Some((head, range, cache)) = sub {
                prefix.push(b'/');
                if stack.len() > MAX_DEPTH {
                    return Err(too_deep(&prefix));
                }
                stack.extend(self.enter(&prefix, head, range, cache)?);
            }
        }
        Ok(())
    }

    /// The frame for comparing the directory `prefix` (empty, or ending in '/'): HEAD's tree
    /// `head` with the index entries `range` (all of them under `prefix`); `cache` is the
    /// directory's cache-tree node. None when there is nothing to compare.
    fn enter(
        &self,
        prefix: &[u8],
        head: Option<Oid>,
        range: Range<usize>,
        cache: Option<&'a CacheTree>,
    ) -> Result<Option<Frame<'a>>, StagedError> {
        if let (Some(h), Some(c)) = (head, cache)
            && c.oid == Some(h)
        {
            return Ok(None); // the index would write this directory exactly as HEAD has it
        }
        let tree = head
            .map(|h| self.repo.find_tree(h))
            .transpose()
            .map_err(StagedError::git("cannot compare the index with HEAD"))?;
        let base = prefix.len();
        Ok(Some(Frame {
            base,
            tree,
            head_next: 0,
            staged_next: self.index_child(base, range.start, range.end),
            end: range.end,
            cache,
        }))
    }

    /// The name, kind and end of the index's child of a directory whose entries start at `i`
    /// (`prefix_len` bytes into their paths) and end before `end`.
    fn index_child(
        &self,
        prefix_len: usize,
        i: usize,
        end: usize,
    ) -> Option<(&'a [u8], IndexItem, usize)> {
        if i >= end {
            return None;
        }
        let index: &'a IndexFile = self.index;
        let entries = &index.entries;
        let path = index.path(&entries[i]);
        let rel = &path[prefix_len..];
        Some(match memchr::memchr(b'/', rel) {
            Some(slash) => {
                let sub = &path[..prefix_len + slash + 1];
                let next = end_of_dir(index, sub, i, end);
                (&rel[..slash], IndexItem::Dir(i..next), next)
            }
            None => {
                let mut next = i + 1;
                while next < end && index.path(&entries[next]) == path {
                    next += 1;
                }
                let item = if next - i == 1 && entries[i].stage == 0 {
                    IndexItem::File(i)
                } else {
                    IndexItem::Conflict
                };
                (rel, item, next)
            }
        })
    }

    /// What the commit would record for index entry `i`: nothing for `git add -N`.
    fn staged_side(&self, i: usize) -> Option<Side> {
        let e = &self.index.entries[i];
        (!e.intent_to_add).then_some(Side {
            mode: e.mode,
            oid: e.oid,
        })
    }
}

/// The error for a directory `prefix` nested deeper than `MAX_DEPTH`.
fn too_deep(prefix: &[u8]) -> StagedError {
    // The path is thousands of bytes long: its start is enough to find it.
    let start = String::from_utf8_lossy(&prefix[..prefix.len().min(120)]);
    StagedError::TooDeep {
        path: format!("{}…", sanitize::escape(&start)),
    }
}

/// The warning for a file whose `whose` version is over the size limit, so not compared with.
fn old_too_large(shown: &str, whose: &str, size: u64, opts: &StagedOptions) -> String {
    format!(
        "{shown}: {whose} version is {size} bytes, over the {} byte limit (--max-file-size or \
         [scan] max_file_size), so it was not compared: lines it already has count as added",
        opts.max_file_size
    )
}

/// The type bits of a mode: a file, a symbolic link, a submodule.
fn mode_type(mode: u32) -> u32 {
    mode & 0o170000
}

/// Keeps blobs over the size limit out of rename detection, which reads whole both files of each
/// pair it weighs: a deleted (or typechanged) path's old file against each added one's new file.
/// It weighs nothing unless both kinds are there.
///
/// A new file over the limit is dropped with its path (`too_large` is told, as the scan would
/// have skipped it anyway) unless it is a deleted file moved whole: that adds nothing, as exact
/// rename detection would have found. An old file over the limit is dropped alone: the path's
/// new file, if any, then counts as added whole, as when HEAD's version is too large to compare.
fn keep_large_blobs_from_renames(
    changes: &mut Changes,
    odb: &Odb,
    max: u64,
    too_large: &dyn Fn(&[u8], u64),
) -> Result<(), StagedError> {
    let regular = |s: &Option<Side>| s.is_some_and(|s| mode_type(s.mode) == 0o100000);
    let differ = |a: &Option<Side>, b: &Option<Side>| match (a, b) {
        (Some(a), Some(b)) => mode_type(a.mode) != mode_type(b.mode),
        _ => true,
    };
    let source = |old: &Option<Side>, new: &Option<Side>| regular(old) && differ(old, new);
    let target = |old: &Option<Side>, new: &Option<Side>| regular(new) && differ(old, new);
    let paths = &changes.paths;
    if !paths.iter().any(|(_, o, n)| source(o, n)) || !paths.iter().any(|(_, o, n)| target(o, n)) {
        return Ok(());
    }
    let moved: std::collections::HashSet<Oid> = paths
        .iter()
        .filter(|(_, o, n)| source(o, n))
        .filter_map(|(_, o, _)| o.map(|s| s.oid))
        .collect();
    let size = |side: Side, path: &[u8]| {
        odb.read_header(side.oid)
            .map(|(size, _)| size as u64)
            .map_err(StagedError::git(format!(
                "cannot read the object of {}",
                display(path)
            )))
    };
    let mut kept = Vec::with_capacity(paths.len());
    for (path, mut old, new) in std::mem::take(&mut changes.paths) {
        if target(&old, &new)
            && let Some(n) = new
        {
            let n_size = size(n, &path)?;
            if n_size > max {
                if !moved.contains(&n.oid) {
                    too_large(&path, n_size);
                }
                continue;
            }
        }
        if source(&old, &new)
            && let Some(o) = old
            && size(o, &path)? > max
        {
            old = None;
        }
        if old.is_some() || new.is_some() {
            kept.push((path, old, new));
        }
    }
    changes.paths = kept;
    Ok(())
}

/// In-memory indexes holding HEAD's and the index's sides of the changed paths only.
fn small_indexes(changes: &Changes) -> Result<(Index, Index), git2::Error> {
    let (mut old, mut new) = (Index::new()?, Index::new()?);
    for (path, before, after) in &changes.paths {
        if let Some(s) = before {
            old.add(&index_entry(path, *s))?;
        }
        if let Some(s) = after {
            new.add(&index_entry(path, *s))?;
        }
    }
    Ok((old, new))
}

fn index_entry(path: &[u8], side: Side) -> IndexEntry {
    IndexEntry {
        ctime: IndexTime::new(0, 0),
        mtime: IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode: side.mode,
        uid: 0,
        gid: 0,
        file_size: 0,
        id: side.oid,
        flags: 0,
        flags_extended: 0,
        path: path.to_vec(),
    }
}

/// Whether an entry of this mode holds content (a file or a symbolic link's target).
fn is_blob(mode: FileMode) -> bool {
    matches!(
        mode,
        FileMode::Blob | FileMode::BlobExecutable | FileMode::BlobGroupWritable | FileMode::Link
    )
}

/// Options for every line diff here: no context (only changed lines), and never binary, so a
/// `-diff` or `binary` attribute in the scanned repository cannot hide a line from the check.
fn line_diff_options() -> DiffOptions {
    let mut o = DiffOptions::new();
    o.context_lines(0)
        .interhunk_lines(0)
        .force_text(true)
        .max_size(i64::MAX);
    o
}

/// 1-based line ranges that `new` adds to `old`, in increasing order. With no context lines, each
/// hunk's new side is exactly its added lines.
fn lines_added(old: &[u8], new: &[u8]) -> Result<Vec<Range<usize>>, git2::Error> {
    let mut opts = line_diff_options();
    let patch = Patch::from_buffers(old, None, new, None, Some(&mut opts))?;
    let mut out = Vec::with_capacity(patch.num_hunks());
    for h in 0..patch.num_hunks() {
        let (hunk, _) = patch.hunk(h)?;
        if hunk.new_lines() > 0 {
            let start = hunk.new_start() as usize;
            out.push(start..start + hunk.new_lines() as usize);
        }
    }
    Ok(out)
}

/// The first entry in `from..end` whose path does not start with `dir`, given that `from`'s does.
/// The search gallops from `from` before it bisects, so a directory of n entries costs about
/// 2 log n probes, all near `from`: a plain binary search over a whole large index spends most of
/// its time on cache misses.
fn end_of_dir(index: &IndexFile, dir: &[u8], from: usize, end: usize) -> usize {
    let inside = |k: usize| index.path(&index.entries[k]).starts_with(dir);
    let (mut lo, mut step) = (from, 1);
    let hi = loop {
        let probe = lo.saturating_add(step);
        if probe >= end {
            break end;
        }
        if !inside(probe) {
            break probe;
        }
        lo = probe;
        step *= 2;
    };
    // Entries lo (inside) .. hi (outside, or the end): bisect between them.
    lo + 1 + index.entries[lo + 1..hi].partition_point(|e| index.path(e).starts_with(dir))
}

/// Git's order of names in a tree: byte order, with a directory's name compared as if it ended in
/// '/' (so `a.txt` < `a/` < `a0`).
fn git_order(a: &[u8], a_dir: bool, b: &[u8], b_dir: bool) -> Ordering {
    let a = a.iter().chain(a_dir.then_some(&b'/'));
    let b = b.iter().chain(b_dir.then_some(&b'/'));
    a.cmp(b)
}

/// Lines in both sorted, disjoint range lists.
fn intersect(a: &[Range<usize>], b: &[Range<usize>]) -> Vec<Range<usize>> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        let start = a[i].start.max(b[j].start);
        let end = a[i].end.min(b[j].end);
        if start < end {
            out.push(start..end);
        }
        if a[i].end < b[j].end {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

fn overlaps(ranges: &[Range<usize>], lines: Range<usize>) -> bool {
    ranges
        .iter()
        .any(|r| r.start < lines.end && lines.start < r.end)
}

fn build_excludes(globs: &[String]) -> Option<Gitignore> {
    if globs.is_empty() {
        return None;
    }
    let mut b = GitignoreBuilder::new("");
    for g in globs {
        // Globs were validated by the caller (`tree::validate_globs`).
        let _ = b.add_line(None, g);
    }
    b.build().ok()
}

/// A repository path (bytes, '/'-separated) as libgit2's path arguments take it.
fn repo_path(path: &[u8]) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(path))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(path).into_owned())
    }
}

/// A repository path as shown in reports (lossy for non-UTF-8 names, escaped).
fn display(path: &[u8]) -> String {
    sanitize::escape(&String::from_utf8_lossy(path)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One-element lists of ranges are what these functions take (not ranges to collect).
    #[allow(clippy::single_range_in_vec_init)]
    #[test]
    fn intersects_line_ranges() {
        assert_eq!(intersect(&[1..5, 8..10], &[3..9]), vec![3..5, 8..9]);
        assert_eq!(intersect(&[1..5], &[5..6]), Vec::<Range<usize>>::new());
        assert_eq!(intersect(&[], &[1..2]), Vec::<Range<usize>>::new());
        assert_eq!(intersect(&[1..3, 4..6], &[1..10]), vec![1..3, 4..6]);
    }

    #[test]
    fn end_of_dir_finds_where_a_directory_ends_whatever_its_size() {
        for n in [1usize, 2, 3, 7, 8, 9, 100, 1000] {
            let mut paths = vec!["a.txt".to_string()];
            paths.extend((0..n).map(|i| format!("a/{i:05}")));
            paths.extend(["a0".to_string(), "b/c".to_string()]);
            let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
            let index = IndexFile::from_paths(&refs);
            let end = index.entries.len();
            assert_eq!(end_of_dir(&index, b"a/", 1, end), n + 1, "{n} entries");
            assert_eq!(
                end_of_dir(&index, b"a/", 1, n + 1),
                n + 1,
                "{n}, range ends there"
            );
            assert_eq!(end_of_dir(&index, b"b/", end - 1, end), end);
        }
    }

    #[test]
    fn git_order_sorts_directories_as_if_they_ended_in_a_slash() {
        use Ordering::*;
        assert_eq!(git_order(b"a.txt", false, b"a", true), Less);
        assert_eq!(git_order(b"a", true, b"a0", false), Less);
        assert_eq!(git_order(b"a", false, b"a", true), Less);
        assert_eq!(git_order(b"a", true, b"a", true), Equal);
        assert_eq!(git_order(b"b", false, b"a", true), Greater);
    }

    #[allow(clippy::single_range_in_vec_init)]
    #[test]
    fn overlap_counts_any_line_of_a_span() {
        assert!(overlaps(&[4..5], 2..5));
        assert!(!overlaps(&[4..5], 2..4));
        assert!(!overlaps(&[], 1..2));
    }
}
