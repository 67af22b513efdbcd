//! The git history source: every blob reachable from every ref (branches, remote-tracking
//! branches, tags and what they point at, notes, stashes and their reflog), commit and tag messages,
//! and, unless asked not to, every object in the object database that no ref reaches.
//!
//! The repository is read with libgit2 only: nothing in it (hooks, config-driven commands,
//! filters) ever runs. Each distinct blob is scanned once and attributed to the first commit, in
//! parents-before-children order (oldest first among independent lines), whose tree holds it.
//!
//! Two phases. The plan walks the commit graph and the trees, one thread, skipping every tree
//! already seen, and produces one job per blob not seen before (and per message). The scan runs
//! the jobs on `threads` workers, each with its own handle on the repository.

use std::collections::{BinaryHeap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use crossbeam_channel::Sender;
use git2::{ObjectType, Oid, Repository};
use indicatif::ProgressBar;

use crate::engine::Scanner;
use crate::finding::{CommitInfo, Finding};
use crate::sanitize;
use crate::source::Stats;

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{path}: not a git repository ({message})")]
    NotARepository { path: String, message: String },
    #[error("bad --range `{range}`: {message}")]
    BadRange { range: String, message: String },
    #[error("bad --branch `{name}`: {message}")]
    BadRef { name: String, message: String },
    #[error("{what}: {message}")]
    Broken { what: String, message: String },
}

/// What to scan.
#[derive(Debug, Clone, Default)]
pub struct GitOptions {
    /// `A..B`: commits reachable from B and not from A, and the blobs they add.
    pub range: Option<String>,
    /// Only commits whose committer time is at or after this (seconds since the epoch).
    pub since: Option<i64>,
    /// Only these refs (any revision git understands) instead of every ref.
    pub refs: Vec<String>,
    /// Skip objects that no ref reaches.
    pub reachable_only: bool,
    pub max_blob_size: u64,
    pub threads: usize,
    /// `[scan] exclude`: blobs at matching paths are never read.
    pub exclude: Option<ignore::gitignore::Gitignore>,
}

/// One unit of scanning work: a blob at a path, or a message.
#[derive(Debug, Clone)]
struct Job {
    what: JobKind,
    oid: Oid,
    /// Index into `Plan::commits` of the commit that introduced it (none for a dangling tree's
    /// or blob's contents, or a tag message).
    commit: Option<u32>,
    /// Displayed path: the path in the tree, or a description for messages and lone blobs.
    path: String,
    reachable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JobKind {
    Blob,
    CommitMessage,
    TagMessage,
}

/// The result of walking history: what to scan, in attribution order.
pub struct Plan {
    commits: Vec<Oid>,
    jobs: Vec<Job>,
    /// Blobs in HEAD's tree: a key found in one of them is present at HEAD.
    head_blobs: HashSet<Oid>,
    /// With `--range` or `--since`: the trees just before the scanned commits. A key already
    /// there at the same path was not introduced by them.
    boundary: Vec<Oid>,
    pub commits_scanned: u64,
}

/// Opens the repository at `path` (a working tree or any directory in it, a `.git` directory or a
/// bare repository). Ownership checks are off: keyguard only reads objects and refs, never runs
/// anything the repository configures, so scanning a checkout owned by another user (CI
/// containers) is safe.
pub fn open(path: &Path) -> Result<Repository, GitError> {
    // SAFETY: called before any other libgit2 use on this thread of control; the option is a
    // process-wide flag that libgit2 reads when opening repositories.
    unsafe {
        let _ = git2::opts::set_verify_owner_validation(false);
    }
    // Every object is read once: libgit2's object cache only holds memory. Re-hashing each object
    // on read (a third of the time over a whole history) guards against disk corruption, which
    // the pack's own checksums and zlib's already catch for what keyguard does with the bytes.
    git2::opts::enable_caching(false);
    git2::opts::strict_hash_verification(false);
    Repository::discover(path).map_err(|e| GitError::NotARepository {
        path: sanitize::path(path),
        message: e.message().to_string(),
    })
}

/// A label for where commits come from, for messages.
fn describe(repo: &Repository) -> String {
    let p = repo.workdir().unwrap_or_else(|| repo.path());
    sanitize::path(p)
}

struct Walker<'r> {
    repo: &'r Repository,
    /// Every commit loaded, scanned or not (older than --since): not dangling.
    seen_commits: HashSet<Oid>,
    seen_trees: HashSet<Oid>,
    seen_blobs: HashSet<Oid>,
    seen_tags: HashSet<Oid>,
    jobs: Vec<Job>,
    exclude: Option<&'r ignore::gitignore::Gitignore>,
    /// Blobs seen only at excluded paths: not dangling either.
    excluded: HashSet<Oid>,
    /// Trees with an excluded blob somewhere under them.
    partly_excluded: HashSet<Oid>,
    /// Jobs go to the readers as soon as they are planned.
    sink: Option<Sender<(usize, Job)>>,
    progress: &'r ProgressBar,
    warn: &'r (dyn Fn(String) + Sync),
    stats: &'r Stats,
}

impl Walker<'_> {
    fn push(&mut self, job: Job) {
        if let Some(sink) = &self.sink {
            // The readers only stop early when the scan is failing anyway.
            let _ = sink.send((self.jobs.len(), job.clone()));
        }
        self.progress.inc_length(1);
        self.jobs.push(job);
    }

    fn unreadable(&self, what: &str, oid: Oid, e: &git2::Error) {
        self.stats.unreadable.fetch_add(1, Ordering::Relaxed);
        (self.warn)(format!(
            "{what} {oid} is missing or corrupt ({}); skipped",
            e.message()
        ));
    }

    /// Walks a tree, queueing every blob not seen before at its path. Trees already walked are
    /// skipped whole: everything under them was queued (or marked) the first time.
    /// `queue: false` only marks (the boundary of a range).
    fn walk_tree(
        &mut self,
        root: Oid,
        prefix: &str,
        commit: Option<u32>,
        reachable: bool,
        queue: bool,
    ) {
        // An explicit stack: an untrusted repository can nest trees deeper than the call stack.
        // Each entry: tree, path prefix, and the frame of the tree holding it.
        let mut stack = vec![(root, prefix.to_string(), None)];
        // (tree, parent frame) for every tree walked in this call.
        let mut frames: Vec<(Oid, Option<usize>)> = Vec::new();
        while let Some((oid, prefix, parent)) = stack.pop() {
            // A tree with an excluded path somewhere under it is walked again wherever it shows
            // up: the same tree at a path that is not excluded must be read.
            if !self.seen_trees.insert(oid) && !self.partly_excluded.contains(&oid) {
                continue;
            }
            let tree = match self.repo.find_tree(oid) {
                Ok(t) => t,
                Err(e) => {
                    self.unreadable("tree", oid, &e);
                    continue;
                }
            };
            let frame = frames.len();
            frames.push((oid, parent));
            for entry in tree.iter() {
                let name = String::from_utf8_lossy(entry.name_bytes());
                match entry.filemode() {
                    0o040000 => stack.push((entry.id(), format!("{prefix}{name}/"), Some(frame))),
                    // Submodule commits live in another repository.
                    0o160000 => {}
                    _ => {
                        if !queue || self.seen_blobs.contains(&entry.id()) {
                            self.seen_blobs.insert(entry.id());
                            continue;
                        }
                        let path = format!("{prefix}{name}");
                        // An excluded path is skipped, not marked: the same blob elsewhere counts.
                        if self.exclude.is_some_and(|ex| {
                            ex.matched_path_or_any_parents(&path, false).is_ignore()
                        }) {
                            self.excluded.insert(entry.id());
                            let mut f = Some(frame);
                            while let Some(i) = f {
                                self.partly_excluded.insert(frames[i].0);
                                f = frames[i].1;
                            }
                            continue;
                        }
                        self.seen_blobs.insert(entry.id());
                        self.push(Job {
                            what: JobKind::Blob,
                            oid: entry.id(),
                            commit,
                            path,
                            reachable,
                        });
                    }
                }
            }
        }
    }
}

/// A commit in the graph being planned.
struct Node {
    oid: Oid,
    tree: Oid,
    time: i64,
    parents: Vec<Oid>,
}

/// Loads every commit reachable from `tips` that was not loaded before. Missing parents of a
/// shallow clone's boundary are expected; other missing commits are warned about and skipped.
fn load_commits(w: &mut Walker, tips: &[Oid]) -> Vec<Node> {
    let repo = w.repo;
    let shallow: HashSet<Oid> = shallow_boundary(repo);
    let mut nodes = Vec::new();
    let mut stack: Vec<Oid> = tips.to_vec();
    while let Some(oid) = stack.pop() {
        if !w.seen_commits.insert(oid) {
            continue;
        }
        match repo.find_commit(oid) {
            Ok(c) => {
                let parents: Vec<Oid> = if shallow.contains(&oid) {
                    Vec::new()
                } else {
                    c.parent_ids().collect()
                };
                stack.extend(parents.iter().copied());
                nodes.push(Node {
                    oid,
                    tree: c.tree_id(),
                    time: c.time().seconds(),
                    parents,
                });
            }
            Err(e) => w.unreadable("commit", oid, &e),
        }
    }
    nodes
}

/// Commits whose parents a shallow clone does not have (`.git/shallow`).
fn shallow_boundary(repo: &Repository) -> HashSet<Oid> {
    if !repo.is_shallow() {
        return HashSet::new();
    }
    std::fs::read_to_string(repo.commondir().join("shallow"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| Oid::from_str(l.trim()).ok())
        .collect()
}

/// Parents before children; among commits ready at the same time, the oldest first (then by id),
/// so a blob added independently on two branches is attributed to the earlier commit.
fn topo_order(nodes: Vec<Node>) -> Vec<Node> {
    let index: HashMap<Oid, usize> = nodes.iter().enumerate().map(|(i, n)| (n.oid, i)).collect();
    let mut pending = vec![0usize; nodes.len()];
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        for p in &n.parents {
            if let Some(&pi) = index.get(p) {
                pending[i] += 1;
                children[pi].push(i);
            }
        }
    }
    let mut ready: BinaryHeap<std::cmp::Reverse<(i64, Oid, usize)>> = nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| pending[*i] == 0)
        .map(|(i, n)| std::cmp::Reverse((n.time, n.oid, i)))
        .collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(std::cmp::Reverse((_, _, i))) = ready.pop() {
        order.push(i);
        for &c in &children[i] {
            pending[c] -= 1;
            if pending[c] == 0 {
                ready.push(std::cmp::Reverse((nodes[c].time, nodes[c].oid, c)));
            }
        }
    }
    let mut slots: Vec<Option<Node>> = nodes.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// Where history starts: commits, annotated tags, and trees or blobs that refs point at directly.
#[derive(Default)]
struct Roots {
    commits: Vec<Oid>,
    tags: Vec<(Oid, String)>,
    trees: Vec<(Oid, String)>,
    blobs: Vec<(Oid, String)>,
}

impl Roots {
    /// Follows `oid` through annotated tags to what they name.
    fn add(&mut self, repo: &Repository, mut oid: Oid, name: &str, w: &Walker) {
        for _ in 0..64 {
            let kind = match repo.odb().and_then(|odb| odb.read_header(oid)) {
                Ok((_, kind)) => kind,
                Err(e) => {
                    w.unreadable("object", oid, &e);
                    return;
                }
            };
            match kind {
                ObjectType::Tag => {
                    self.tags.push((oid, name.to_string()));
                    match repo.find_tag(oid) {
                        Ok(t) => oid = t.target_id(),
                        Err(e) => {
                            w.unreadable("tag", oid, &e);
                            return;
                        }
                    }
                }
                ObjectType::Commit => return self.commits.push(oid),
                ObjectType::Tree => return self.trees.push((oid, name.to_string())),
                ObjectType::Blob => return self.blobs.push((oid, name.to_string())),
                _ => return,
            }
        }
    }
}

fn all_roots(repo: &Repository, w: &Walker) -> Result<Roots, GitError> {
    let broken = |e: git2::Error| GitError::Broken {
        what: format!("{}: reading refs", describe(repo)),
        message: e.message().to_string(),
    };
    let mut roots = Roots::default();
    let mut refs: Vec<(String, Oid)> = Vec::new();
    for r in repo.references().map_err(broken)? {
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                (w.warn)(format!("unreadable ref skipped: {}", e.message()));
                continue;
            }
        };
        // Symbolic refs (HEAD, origin/HEAD) name refs listed on their own.
        if let Some(oid) = r.target() {
            refs.push((String::from_utf8_lossy(r.name_bytes()).into_owned(), oid));
        }
    }
    refs.sort();
    if let Ok(head) = repo.head()
        && let Some(oid) = head.target()
    {
        refs.push(("HEAD".to_string(), oid));
    }
    // What linked worktrees (and the main one, when scanning from a linked one) have checked
    // out: their HEADs are refs of their own.
    let mut heads: Vec<(String, Oid)> = Vec::new();
    if let Ok(main) = Repository::open(repo.commondir())
        && let Ok(head) = main.head()
        && let Some(oid) = head.target()
    {
        heads.push(("HEAD (main worktree)".to_string(), oid));
    }
    if let Ok(names) = repo.worktrees() {
        for name in names.iter().flatten().flatten() {
            if let Ok(wt) = repo.find_worktree(name)
                && let Ok(wt_repo) = Repository::open_from_worktree(&wt)
                && let Ok(head) = wt_repo.head()
                && let Some(oid) = head.target()
            {
                heads.push((format!("HEAD (worktree {name})"), oid));
            }
        }
    }
    refs.extend(heads);
    // Every stash, not only the newest: older ones live in the stash ref's reflog.
    if let Ok(log) = repo.reflog("refs/stash") {
        for (i, entry) in log.iter().enumerate() {
            refs.push((format!("stash@{{{i}}}"), entry.id_new()));
        }
    }
    for (name, oid) in refs {
        roots.add(repo, oid, &name, w);
    }
    Ok(roots)
}

/// Walks history and plans the scan, sending each job to `sink` as soon as it is planned.
fn plan(
    repo: &Repository,
    opts: &GitOptions,
    stats: &Stats,
    warn: &(dyn Fn(String) + Sync),
    sink: Option<Sender<(usize, Job)>>,
    progress: &ProgressBar,
) -> Result<Plan, GitError> {
    let mut w = Walker {
        repo,
        seen_commits: HashSet::new(),
        seen_trees: HashSet::new(),
        seen_blobs: HashSet::new(),
        seen_tags: HashSet::new(),
        jobs: Vec::new(),
        exclude: opts.exclude.as_ref(),
        excluded: HashSet::new(),
        partly_excluded: HashSet::new(),
        sink,
        progress,
        warn,
        stats,
    };
    let mut commits: Vec<Oid> = Vec::new();

    // Which commits to scan, in order, and which to hold as the boundary (seen, not scanned).
    let (roots, order, boundary) = if let Some(range) = &opts.range {
        let (order, boundary) = range_commits(repo, range)?;
        (Roots::default(), order, boundary)
    } else {
        let roots = if opts.refs.is_empty() {
            all_roots(repo, &w)?
        } else {
            let mut roots = Roots::default();
            for name in &opts.refs {
                let obj = repo.revparse_single(name).map_err(|e| GitError::BadRef {
                    name: sanitize::escape(name).into_owned(),
                    message: e.message().to_string(),
                })?;
                roots.add(repo, obj.id(), name, &w);
            }
            roots
        };
        let nodes = topo_order(load_commits(&mut w, &roots.commits));
        let (order, boundary) = split_since(nodes, opts.since);
        (roots, order, boundary)
    };

    for tree in &boundary {
        w.walk_tree(*tree, "", None, true, false);
    }
    plan_commits(&mut w, order, true, &mut commits);
    for (tag, name) in &roots.tags {
        if w.seen_tags.insert(*tag) {
            w.push(Job {
                what: JobKind::TagMessage,
                oid: *tag,
                commit: None,
                path: format!("(tag message: {})", sanitize::escape(name)),
                reachable: true,
            });
        }
    }
    for (tree, name) in &roots.trees {
        w.walk_tree(
            *tree,
            &format!("({})/", sanitize::escape(name)),
            None,
            true,
            true,
        );
    }
    for (blob, name) in &roots.blobs {
        if w.seen_blobs.insert(*blob) {
            w.push(Job {
                what: JobKind::Blob,
                oid: *blob,
                commit: None,
                path: format!("({})", sanitize::escape(name)),
                reachable: true,
            });
        }
    }

    if !opts.reachable_only && opts.range.is_none() && opts.refs.is_empty() {
        plan_unreachable(&mut w, opts.since, &mut commits)?;
    }

    w.sink = None;
    let head_blobs = head_blobs(repo);
    let commits_scanned = w
        .jobs
        .iter()
        .filter(|j| j.what == JobKind::CommitMessage)
        .count() as u64;
    Ok(Plan {
        commits,
        jobs: w.jobs,
        head_blobs,
        boundary,
        commits_scanned,
    })
}

/// Queues each commit's message and the blobs its tree adds, in order.
fn plan_commits(w: &mut Walker, order: Vec<Node>, reachable: bool, commits: &mut Vec<Oid>) {
    for node in order {
        let i = commits.len() as u32;
        commits.push(node.oid);
        w.push(Job {
            what: JobKind::CommitMessage,
            oid: node.oid,
            commit: Some(i),
            path: "(commit message)".to_string(),
            reachable,
        });
        w.walk_tree(node.tree, "", Some(i), reachable, true);
    }
}

/// With `--since`: the commits to scan, and the trees of their older parents, whose blobs are
/// not new in the scanned commits.
fn split_since(nodes: Vec<Node>, since: Option<i64>) -> (Vec<Node>, Vec<Oid>) {
    let Some(since) = since else {
        return (nodes, Vec::new());
    };
    let old: HashMap<Oid, Oid> = nodes
        .iter()
        .filter(|n| n.time < since)
        .map(|n| (n.oid, n.tree))
        .collect();
    let order: Vec<Node> = nodes.into_iter().filter(|n| n.time >= since).collect();
    let mut boundary: Vec<Oid> = order
        .iter()
        .flat_map(|n| n.parents.iter().filter_map(|p| old.get(p).copied()))
        .collect();
    boundary.sort();
    boundary.dedup();
    (order, boundary)
}

/// `A..B`: the commits reachable from B and not from A, oldest first, and the trees of their
/// parents outside the range.
fn range_commits(repo: &Repository, range: &str) -> Result<(Vec<Node>, Vec<Oid>), GitError> {
    let bad = |message: String| GitError::BadRange {
        range: sanitize::escape(range).into_owned(),
        message,
    };
    if range.contains("...") {
        return Err(bad(
            "symmetric ranges (A...B) are not supported; use A..B".into()
        ));
    }
    let Some((from, to)) = range.split_once("..") else {
        return Err(bad("expected A..B (for example origin/main..HEAD)".into()));
    };
    let resolve = |rev: &str| -> Result<Oid, GitError> {
        let rev = if rev.is_empty() { "HEAD" } else { rev };
        repo.revparse_single(rev)
            .and_then(|o| o.peel_to_commit())
            .map(|c| c.id())
            .map_err(|e| bad(format!("`{}`: {}", sanitize::escape(rev), e.message())))
    };
    let (from, to) = (resolve(from)?, resolve(to)?);
    let mut walk = repo.revwalk().map_err(|e| bad(e.message().to_string()))?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
        .and_then(|_| walk.push(to))
        .and_then(|_| walk.hide(from))
        .map_err(|e| bad(e.message().to_string()))?;
    let mut nodes = Vec::new();
    let mut inside = HashSet::new();
    for oid in walk {
        let oid = oid.map_err(|e| bad(e.message().to_string()))?;
        let c = repo
            .find_commit(oid)
            .map_err(|e| bad(format!("commit {oid}: {}", e.message())))?;
        inside.insert(oid);
        nodes.push(Node {
            oid,
            tree: c.tree_id(),
            time: c.time().seconds(),
            parents: c.parent_ids().collect(),
        });
    }
    let mut boundary = Vec::new();
    for n in &nodes {
        for p in &n.parents {
            if !inside.contains(p)
                && let Ok(c) = repo.find_commit(*p)
            {
                boundary.push(c.tree_id());
            }
        }
    }
    boundary.sort();
    boundary.dedup();
    Ok((nodes, boundary))
}

/// Everything in the object database that no ref reaches: dangling commits (and their trees),
/// annotated tags, trees and blobs. Reported as unreachable.
fn plan_unreachable(
    w: &mut Walker,
    since: Option<i64>,
    commits: &mut Vec<Oid>,
) -> Result<(), GitError> {
    let repo = w.repo;
    let alternates = repo.commondir().join("objects/info/alternates");
    if alternates.is_file() {
        // Listing the object database would list the other repository's objects too, and
        // report its secrets as this one's.
        (w.warn)(format!(
            "{} borrows objects from another repository (objects/info/alternates): unreachable \
             objects are not scanned here; scan that repository itself",
            describe(repo)
        ));
        return Ok(());
    }
    let odb = repo.odb().map_err(|e| GitError::Broken {
        what: format!("{}: object database", describe(repo)),
        message: e.message().to_string(),
    })?;
    let mut unseen: Vec<Oid> = Vec::new();
    odb.foreach(|oid| {
        if !w.seen_commits.contains(oid)
            && !w.seen_trees.contains(oid)
            && !w.seen_blobs.contains(oid)
            && !w.excluded.contains(oid)
            && !w.seen_tags.contains(oid)
        {
            unseen.push(*oid);
        }
        true
    })
    .map_err(|e| GitError::Broken {
        what: format!("{}: listing objects", describe(repo)),
        message: e.message().to_string(),
    })?;
    // Packs can repeat an object another pack or a loose file also holds.
    unseen.sort();
    unseen.dedup();
    let (mut dangling_commits, mut tags, mut trees, mut blobs) = (vec![], vec![], vec![], vec![]);
    for oid in unseen {
        match odb.read_header(oid) {
            Ok((_, ObjectType::Commit)) => dangling_commits.push(oid),
            Ok((_, ObjectType::Tag)) => tags.push(oid),
            Ok((_, ObjectType::Tree)) => trees.push(oid),
            Ok((_, ObjectType::Blob)) => blobs.push(oid),
            Ok(_) => {}
            Err(e) => w.unreadable("object", oid, &e),
        }
    }
    let nodes = topo_order(load_commits(w, &dangling_commits));
    let (order, _) = split_since(nodes, since);
    plan_commits(w, order, false, commits);
    if since.is_some() {
        // Loose trees, blobs and tags carry no date.
        return Ok(());
    }
    for tag in tags {
        if w.seen_tags.insert(tag) {
            w.push(Job {
                what: JobKind::TagMessage,
                oid: tag,
                commit: None,
                path: format!("(unreachable tag {tag})"),
                reachable: false,
            });
        }
    }
    for tree in trees {
        // A dangling tree may be a subtree of another dangling tree walked before it.
        if !w.seen_trees.contains(&tree) {
            w.walk_tree(
                tree,
                &format!("(unreachable tree {tree})/"),
                None,
                false,
                true,
            );
        }
    }
    for blob in blobs {
        if w.seen_blobs.insert(blob) {
            w.push(Job {
                what: JobKind::Blob,
                oid: blob,
                commit: None,
                path: format!("(unreachable blob {blob})"),
                reachable: false,
            });
        }
    }
    Ok(())
}

/// Every blob in HEAD's tree (empty when HEAD is unborn or unreadable).
fn head_blobs(repo: &Repository) -> HashSet<Oid> {
    let mut blobs = HashSet::new();
    let Ok(tree) = repo.head().and_then(|h| h.peel_to_tree()) else {
        return blobs;
    };
    let mut seen = HashSet::new();
    let mut stack = vec![tree.id()];
    while let Some(oid) = stack.pop() {
        if !seen.insert(oid) {
            continue;
        }
        let Ok(tree) = repo.find_tree(oid) else {
            continue;
        };
        for e in tree.iter() {
            match e.filemode() {
                0o040000 => stack.push(e.id()),
                0o160000 => {}
                _ => {
                    blobs.insert(e.id());
                }
            }
        }
    }
    blobs
}

/// Readers at most: libgit2 shares each pack (and its delta-base cache) between handles behind
/// locks, so readers beyond a few contend more than they add. Measured on two cores only: two
/// readers beat one (median 4.4 s vs 6.1 s over cargo's history); more is unmeasured.
const MAX_READERS: usize = 4;

/// Plans and scans a repository as one pipeline: a planner thread walks history and sends jobs as
/// it goes, reader threads load the bytes with libgit2 (inflating and applying deltas is most of
/// the work), and `opts.threads` workers run the engine. Returns one finding per (rule, secret,
/// path), at its first introduction.
pub fn scan(
    git_dir: &Path,
    opts: &GitOptions,
    scanner: &Scanner,
    stats: &Stats,
    warn: &(dyn Fn(String) + Sync),
    progress: &ProgressBar,
) -> Result<(Plan, Vec<Finding>), GitError> {
    let threads = opts.threads.max(1);
    let readers = threads.min(MAX_READERS);
    let (job_tx, job_rx) = crossbeam_channel::bounded::<(usize, Job)>(4096);
    // Bounded in count: what waits for the engine is a few blobs per worker.
    let (data_tx, data_rx) = crossbeam_channel::bounded::<(usize, Vec<u8>)>(threads * 4);
    let open_here = || {
        Repository::open(git_dir).map_err(|e| GitError::NotARepository {
            path: sanitize::path(git_dir),
            message: e.message().to_string(),
        })
    };
    std::thread::scope(|s| {
        let named = |name: &str| std::thread::Builder::new().name(format!("keyguard-{name}"));
        let planner = named("planner")
            .spawn_scoped(s, || {
                let repo = open_here()?;
                plan(&repo, opts, stats, warn, Some(job_tx), progress)
            })
            .expect("starting the planner thread");
        let mut reader_handles = Vec::new();
        for _ in 0..readers {
            let (job_rx, data_tx) = (job_rx.clone(), data_tx.clone());
            reader_handles.push(
                named("reader")
                    .spawn_scoped(s, move || -> Result<(), GitError> {
                        let repo = open_here()?;
                        let odb = repo.odb().map_err(|e| GitError::Broken {
                            what: format!("{}: object database", sanitize::path(git_dir)),
                            message: e.message().to_string(),
                        })?;
                        for (i, job) in job_rx.iter() {
                            match read_job(&repo, &odb, &job, opts, stats, warn) {
                                Some(bytes) => {
                                    if data_tx.send((i, bytes)).is_err() {
                                        break;
                                    }
                                }
                                None => progress.inc(1),
                            }
                        }
                        Ok(())
                    })
                    .expect("starting a reader thread"),
            );
        }
        drop((job_rx, data_tx));
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let data_rx = data_rx.clone();
                named("worker")
                    .spawn_scoped(s, move || {
                        let mut local = Vec::new();
                        for (i, bytes) in data_rx.iter() {
                            // Only the planner holds the job's path: `attribute` sets it.
                            for f in super::scan_bytes(scanner, &bytes, "", "") {
                                local.push((i, f));
                            }
                            progress.inc(1);
                        }
                        local
                    })
                    .expect("starting a worker thread")
            })
            .collect();
        drop(data_rx);
        let plan = planner.join().expect("planner panicked");
        let read: Result<Vec<()>, GitError> = reader_handles
            .into_iter()
            .map(|h| h.join().expect("reader panicked"))
            .collect();
        let mut found: Vec<(usize, Finding)> = workers
            .into_iter()
            .flat_map(|h| h.join().expect("scan worker panicked"))
            .collect();
        let plan = plan?;
        read?;
        let findings = attribute(git_dir, &plan, &mut found);
        Ok((plan, findings))
    })
}

/// Loads what a job scans, applying the size and binary checks; `None` when skipped.
fn read_job(
    repo: &Repository,
    odb: &git2::Odb,
    job: &Job,
    opts: &GitOptions,
    stats: &Stats,
    warn: &(dyn Fn(String) + Sync),
) -> Option<Vec<u8>> {
    let unreadable = |what: &str, e: git2::Error| {
        stats.unreadable.fetch_add(1, Ordering::Relaxed);
        warn(format!(
            "{what} {} is missing or corrupt ({}); skipped",
            job.oid,
            e.message()
        ));
        None
    };
    let bytes = match job.what {
        JobKind::Blob => {
            // The header first, so a huge blob is skipped without being inflated into memory.
            match odb.read_header(job.oid) {
                Ok((size, _)) if size as u64 > opts.max_blob_size => {
                    stats.too_large.fetch_add(1, Ordering::Relaxed);
                    return None;
                }
                Ok(_) => {}
                Err(e) => return unreadable("blob", e),
            }
            let obj = match odb.read(job.oid) {
                Ok(o) => o,
                Err(e) => return unreadable("blob", e),
            };
            let bytes = obj.data();
            if super::looks_binary(bytes) {
                stats.binary.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            stats.blobs.fetch_add(1, Ordering::Relaxed);
            bytes.to_vec()
        }
        JobKind::CommitMessage => match repo.find_commit(job.oid) {
            Ok(c) => c.message_bytes().to_vec(),
            Err(e) => return unreadable("commit", e),
        },
        JobKind::TagMessage => match repo.find_tag(job.oid) {
            Ok(t) => t.message_bytes().unwrap_or_default().to_vec(),
            Err(e) => return unreadable("tag", e),
        },
    };
    stats.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
    Some(bytes)
}

/// One finding per (rule, secret, path), the earliest in attribution order, with its path,
/// commit, reachability and whether the key is still in HEAD's tree.
fn attribute(git_dir: &Path, plan: &Plan, found: &mut Vec<(usize, Finding)>) -> Vec<Finding> {
    let in_head = |job: usize| {
        let job = &plan.jobs[job];
        job.what == JobKind::Blob && plan.head_blobs.contains(&job.oid)
    };
    let at_head: HashSet<(String, String)> = found
        .iter()
        .filter(|(job, _)| in_head(*job))
        .map(|(_, f)| (f.rule_id.clone(), f.secret_hash.clone()))
        .collect();
    // Every secret found, so that none reaches a report through a commit's summary or author.
    let mut secrets: Vec<(String, String)> = found
        .iter()
        .filter_map(|(_, f)| {
            let s = std::str::from_utf8(f.secret.expose()).ok()?;
            Some((s.to_string(), f.secret_redacted.clone()))
        })
        .collect();
    secrets.sort();
    secrets.dedup();
    found.sort_by_key(|(job, f)| (*job, f.line, f.column));
    let mut first: HashSet<(String, String, &str)> = HashSet::new();
    let mut infos: HashMap<u32, CommitInfo> = HashMap::new();
    let repo = Repository::open(git_dir).ok();
    let mut out = Vec::new();
    for (i, mut f) in found.drain(..) {
        let job = &plan.jobs[i];
        if !first.insert((f.rule_id.clone(), f.secret_hash.clone(), &job.path)) {
            continue;
        }
        if job.what == JobKind::Blob
            && let Some(repo) = &repo
            && already_there(repo, &plan.boundary, &job.path, f.secret.expose())
        {
            continue;
        }
        f.path = sanitize::escape(&job.path).into_owned();
        f.rel_path = f.path.clone();
        f.reachable = Some(job.reachable);
        f.present_at_head = Some(at_head.contains(&(f.rule_id.clone(), f.secret_hash.clone())));
        let commit = job.commit.map(|c| {
            infos
                .entry(c)
                .or_insert_with(|| {
                    let mut info = commit_info(repo.as_ref(), plan.commits[c as usize]);
                    for text in [&mut info.summary, &mut info.author, &mut info.email] {
                        for (secret, redacted) in &secrets {
                            if text.contains(secret.as_str()) {
                                *text = text.replace(secret.as_str(), redacted);
                            }
                        }
                    }
                    info
                })
                .clone()
        });
        f.commit = commit;
        f.refresh_fingerprint();
        out.push(f);
    }
    out
}

/// Whether `secret` is already in the blob at `path` in one of the `trees`: a range that edits a
/// file holding an old key did not introduce that key.
fn already_there(repo: &Repository, trees: &[Oid], path: &str, secret: &[u8]) -> bool {
    trees.iter().any(|t| {
        repo.find_tree(*t)
            .and_then(|tree| tree.get_path(Path::new(path)))
            .and_then(|entry| repo.find_blob(entry.id()))
            .is_ok_and(|blob| memchr::memmem::find(blob.content(), secret).is_some())
    })
}

fn commit_info(repo: Option<&Repository>, oid: Oid) -> CommitInfo {
    let commit = repo.and_then(|r| r.find_commit(oid).ok());
    let Some(c) = commit else {
        return CommitInfo {
            id: oid.to_string(),
            author: String::new(),
            email: String::new(),
            date: String::new(),
            summary: String::new(),
        };
    };
    let author = c.author();
    let summary = String::from_utf8_lossy(c.summary_bytes().unwrap_or_default()).into_owned();
    CommitInfo {
        id: oid.to_string(),
        author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
        email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
        date: rfc3339(author.when()),
        summary,
    }
}

/// A git time (seconds and the author's UTC offset) as RFC 3339 in that offset.
pub fn rfc3339(t: git2::Time) -> String {
    let ts = jiff::Timestamp::from_second(t.seconds()).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let offset =
        jiff::tz::Offset::from_seconds(t.offset_minutes() * 60).unwrap_or(jiff::tz::Offset::UTC);
    ts.to_zoned(jiff::tz::TimeZone::fixed(offset))
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// Parses `--since`: a date (2024-01-31, midnight UTC), an RFC 3339 time, or a span back from
/// now (`90 days ago`, `2 weeks`, `1y`).
pub fn parse_since(text: &str) -> Result<i64, String> {
    let t = text.trim();
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return Ok(ts.as_second());
    }
    if let Ok(d) = t.parse::<jiff::civil::Date>() {
        return d
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp().as_second())
            .map_err(|e| e.to_string());
    }
    let span_text = t.strip_suffix("ago").unwrap_or(t).trim();
    if let Ok(span) = span_text.parse::<jiff::Span>() {
        return jiff::Zoned::now()
            .checked_sub(span.abs())
            .map(|z| z.timestamp().as_second())
            .map_err(|e| e.to_string());
    }
    Err(format!(
        "`{}` is not a date: use 2024-01-31, an RFC 3339 time (2024-01-31T12:00:00Z) or a span such as `90 days ago`",
        sanitize::escape(t)
    ))
}

/// The repository's git directory (what workers open).
pub fn git_dir(repo: &Repository) -> PathBuf {
    repo.path().to_path_buf()
}
