//! `keyguard init`: what setting a repository up would change (a `Plan`), and applying it.
//!
//! The plan is computed without touching anything: `.gitignore` patterns to append, env files the
//! index tracks, `.env.example` to create or extend (names only, never a value), client-public
//! variables that look secret, a starter `keyguard.toml`, and the pre-commit hook. Applying writes
//! files atomically and edits the index with libgit2; the git CLI never runs and no working file is
//! ever deleted. This module knows nothing of the command line, prompts or printing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::Scanner;
use crate::hook::{self, HooksDir};
use crate::repo::OpenError;
use crate::rules::{Kind, RuleSet};

/// The comment heading the block `init` appends to `.gitignore`.
pub const GITIGNORE_HEADER: &str = "# keyguard: keep secrets out of git";

/// Patterns `init` makes sure `.gitignore` has, in this order (`!.env.example` after `.env.*`).
pub const GITIGNORE_PATTERNS: &[&str] = &[
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
];

/// `.npmrc` is ignored only when it holds a token: a token-free one is usually shared config.
const NPMRC_TOKEN_MARKERS: &[&str] = &["_authToken", "_auth=", "_password"];

/// The rule whose finding (and explanation) `init` reports for env files.
pub const CLIENT_PUBLIC_RULE: &str = "client-public-env-secret";

pub const STARTER_CONFIG: &str = "\
# keyguard configuration, written by `keyguard init`. Everything here is optional.
# Patterns are gitignore-style; a leading '/' anchors them to this directory.

[scan]
# Paths never to scan:
# exclude = [\"/vendor/\", \"*.min.js\"]
# Skip files larger than this:
# max_file_size = \"16MiB\"
# Rules to turn off (ids from `keyguard rules`):
# disabled_rules = []

[allow]
# Files whose key-shaped strings are known fakes, such as test fixtures:
# paths = [\"/tests/fixtures/\"]
# Rules allowed everywhere:
# rules = []
";

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{path}: no such file or directory")]
    NotFound { path: String },
    #[error(
        "{path} is not in a git repository: `keyguard init` sets up a repository (run `git init` \
         there first, or name one with --dir)"
    )]
    NotARepository { path: String },
    #[error(
        "{path} is a bare repository: it has no working tree to set up; run `keyguard init` in a \
         clone of it"
    )]
    Bare { path: String },
    #[error("cannot open the git repository at {path}: {message}")]
    Repository { path: String, message: String },
    #[error("cannot read the git index of {path}: {message}")]
    Index { path: String, message: String },
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

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> InitError {
    let path = shown(path);
    move |source| InitError::Io {
        action,
        path,
        source,
    }
}

/// A file to write whole: its new bytes, and whether it exists now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    pub created: bool,
}

/// A client-public variable that looks like a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposure {
    /// Relative to the working tree's root.
    pub file: String,
    pub line: usize,
    pub name: String,
}

/// The pre-commit hook's state.
#[derive(Debug, Clone)]
pub enum HookPlan {
    Installed(HooksDir),
    Install(HooksDir),
    /// It cannot be located (a broken `core.hooksPath`, say): the message says why.
    Unavailable(String),
}

/// Everything `init` would change in one repository.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The working tree's root.
    pub root: PathBuf,
    pub gitignore: Option<FileChange>,
    /// The patterns `gitignore` appends.
    pub gitignore_added: Vec<String>,
    /// Env files the index tracks (paths relative to the root, `/`-separated).
    pub tracked_env: Vec<String>,
    pub env_example: Option<FileChange>,
    /// The names `env_example` adds.
    pub env_example_names: Vec<String>,
    pub exposures: Vec<Exposure>,
    /// Keys found in example env files (`.env.example`, ...), which are meant to be committed:
    /// `name` is the title of the rule that found each.
    pub example_secrets: Vec<Exposure>,
    /// The rule's explanation, shown with the exposures.
    pub exposure_title: String,
    pub exposure_remediation: String,
    pub config: Option<FileChange>,
    pub hook: HookPlan,
}

impl Plan {
    /// Whether applying would write a file (the tracked files and the hook are asked apart).
    pub fn has_file_changes(&self) -> bool {
        self.gitignore.is_some() || self.env_example.is_some() || self.config.is_some()
    }

    pub fn hook_to_install(&self) -> Option<&HooksDir> {
        match &self.hook {
            HookPlan::Install(h) => Some(h),
            _ => None,
        }
    }

    /// Whether there is anything at all to do or to ask.
    pub fn is_empty(&self) -> bool {
        !self.has_file_changes() && self.tracked_env.is_empty() && self.hook_to_install().is_none()
    }
}

/// Finds the repository `start` is in (a non-bare one) and computes the plan.
pub fn plan(start: &Path) -> Result<Plan, InitError> {
    let (repo, root) = crate::repo::open_worktree(start).map_err(|e| match e {
        OpenError::NotFound { path } => InitError::NotFound { path },
        OpenError::NotARepository { path } => InitError::NotARepository { path },
        OpenError::Repository { path, message } => InitError::Repository { path, message },
        OpenError::Bare { path } => InitError::Bare { path },
    })?;

    let (gitignore, gitignore_added) = plan_gitignore(&root)?;
    let tracked_env = tracked_env_files(&repo, &root)?;
    let (env_example, env_example_names) = plan_env_example(&root)?;

    let rules = client_public_rules();
    let rule = rules.get(0);
    let exposure_title = rule.spec.title.clone();
    let exposure_remediation = rule.spec.remediation.clone().unwrap_or_default();
    let scanner = Scanner::new(rules.clone()).expect("the built-in rule is valid");
    let mut exposures = Vec::new();
    let mut files = env_files(&root);
    for t in &tracked_env {
        if !files.contains(t) {
            files.push(t.clone());
        }
    }
    for rel in &files {
        let Ok(bytes) = std::fs::read(root.join(rel)) else {
            continue;
        };
        for m in scanner.scan(&bytes) {
            exposures.push(Exposure {
                file: rel.clone(),
                line: 1 + bytes[..m.start].iter().filter(|&&b| b == b'\n').count(),
                name: String::from_utf8_lossy(&bytes[m.start..m.end]).into_owned(),
            });
        }
    }

    let example_secrets = example_secrets(&root)?;

    let config_path = root.join("keyguard.toml");
    let config = (!exists(&config_path)).then(|| FileChange {
        path: config_path,
        bytes: STARTER_CONFIG.as_bytes().to_vec(),
        created: true,
    });

    let hook = match hook::locate(&root) {
        Ok(h) => match hook::is_installed(&h) {
            Ok(true) => HookPlan::Installed(h),
            Ok(false) => HookPlan::Install(h),
            Err(e) => HookPlan::Unavailable(e.to_string()),
        },
        Err(e) => HookPlan::Unavailable(e.to_string()),
    };

    Ok(Plan {
        root,
        gitignore,
        gitignore_added,
        tracked_env,
        env_example,
        env_example_names,
        exposures,
        example_secrets,
        exposure_title,
        exposure_remediation,
        config,
        hook,
    })
}

fn exists(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok()
}

/// A file's bytes; `None` if there is no file there (nothing, or a directory: not ours to judge).
fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, InitError> {
    if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return Ok(None);
    }
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error("read", path)(e)),
    }
}

/// Example files hold names and placeholders; a key in one is a key about to be committed.
const EXAMPLE_FILES: &[&str] = &[".env.example", ".env.sample", ".env.template"];

/// The built-in catalogue without its optional rules.
fn secret_scanner() -> Scanner {
    let mut set = RuleSet::builtin();
    set.select_optional(false, &[]);
    Scanner::new(Arc::new(set)).expect("the built-in rules are valid")
}

/// Keys the built-in secret rules find in the example env files of the root.
fn example_secrets(root: &Path) -> Result<Vec<Exposure>, InitError> {
    let mut found = Vec::new();
    let mut scanner = None;
    for name in EXAMPLE_FILES {
        let Some(bytes) = read_optional(&root.join(name))? else {
            continue;
        };
        let scanner = scanner.get_or_insert_with(secret_scanner);
        for m in scanner.scan(&bytes) {
            let rule = scanner.rules().get(m.rule);
            if rule.spec.kind != Kind::Secret {
                continue;
            }
            found.push(Exposure {
                file: name.to_string(),
                line: 1 + bytes[..m.start].iter().filter(|&&b| b == b'\n').count(),
                name: rule.spec.title.clone(),
            });
        }
    }
    Ok(found)
}

/// The built-in client-public rule alone.
fn client_public_rules() -> Arc<RuleSet> {
    let mut set = RuleSet::builtin();
    let others: Vec<String> = set
        .rules()
        .iter()
        .map(|r| r.id().to_string())
        .filter(|id| id != CLIENT_PUBLIC_RULE)
        .collect();
    set.disable(&others);
    assert_eq!(
        set.len(),
        1,
        "the built-in catalogue has {CLIENT_PUBLIC_RULE}"
    );
    Arc::new(set)
}

/// `.env`, `.env.local`, `.env.production`, ...: the names env files go by. Examples and
/// templates hold no values and belong in git.
pub fn is_env_file_name(name: &str) -> bool {
    if name == ".env" {
        return true;
    }
    match name.strip_prefix(".env.") {
        Some(rest) => !matches!(
            rest,
            "example" | "sample" | "template" | "dist" | "defaults" | "schema"
        ),
        None => false,
    }
}

/// Directories no env file of the project's own lives in (dependencies, build output), skipped
/// when looking for env files.
const SKIP_DIRS: &[&str] = &[
    ".git",
    "node_modules",
    "vendor",
    "target",
    "dist",
    "build",
    "out",
    ".next",
    ".nuxt",
    ".output",
    ".svelte-kit",
    ".venv",
    "venv",
    "__pycache__",
];

/// How deep below the root env files are looked for (`apps/web/.env.local` is 3 deep).
const ENV_SEARCH_DEPTH: usize = 4;

/// The env files (and `.env.example` files) in the working tree, paths relative to the root with
/// `/`, sorted. `.gitignore` is not honoured: env files are usually ignored, which is the point.
fn env_files(root: &Path) -> Vec<String> {
    let walk = ignore::WalkBuilder::new(root)
        .standard_filters(false)
        .max_depth(Some(ENV_SEARCH_DEPTH))
        .filter_entry(|e| {
            // The root itself may well be called `build`.
            e.depth() == 0
                || !(e.file_type().is_some_and(|t| t.is_dir())
                    && e.file_name()
                        .to_str()
                        .is_some_and(|n| SKIP_DIRS.contains(&n)))
        })
        .build();
    let mut out = Vec::new();
    for e in walk.flatten() {
        let name = e.file_name().to_string_lossy();
        if !(is_env_file_name(&name) || name == ".env.example")
            || !e.file_type().is_some_and(|t| t.is_file())
        {
            continue;
        }
        if let Ok(rel) = e.path().strip_prefix(root) {
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(parts.join("/"));
        }
    }
    out.sort();
    out
}

fn tracked_env_files(repo: &git2::Repository, root: &Path) -> Result<Vec<String>, InitError> {
    let err = |e: git2::Error| InitError::Index {
        path: shown(root),
        message: e.message().to_string(),
    };
    let index = repo.index().map_err(err)?;
    let mut out: Vec<String> = index
        .iter()
        .filter_map(|entry| {
            let path = String::from_utf8_lossy(&entry.path).into_owned();
            let base = path.rsplit('/').next().unwrap_or(&path);
            is_env_file_name(base).then_some(path)
        })
        .collect();
    out.dedup();
    Ok(out)
}

/// The line ending a text uses: CRLF if its lines end in `\r\n`.
fn line_ending(text: &[u8]) -> &'static str {
    match text.iter().position(|&b| b == b'\n') {
        Some(i) if i > 0 && text[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

/// The bytes of `.gitignore` after appending what is missing, with the added patterns.
pub fn gitignore_append(existing: &[u8], npmrc_has_token: bool) -> Option<(Vec<u8>, Vec<String>)> {
    let present: std::collections::HashSet<&[u8]> = lines(existing)
        .map(|l| l.trim_ascii_end())
        .filter(|l| !l.is_empty())
        .collect();
    let mut wanted: Vec<&str> = GITIGNORE_PATTERNS.to_vec();
    if npmrc_has_token {
        wanted.push(".npmrc");
    }
    let mut added: Vec<String> = Vec::new();
    for p in wanted {
        // Appending `.env.*` after the user's `!.env.example` would ignore the example again.
        let readd = p == "!.env.example" && added.iter().any(|a| a == ".env.*");
        if readd || !present.contains(p.as_bytes()) {
            added.push(p.to_string());
        }
    }
    // Likewise for every other `!.env...` exception of the user's: an env pattern appended after
    // it would cancel it, so it is stated again after the env patterns (never moved or removed).
    if let Some(last_env) = added.iter().rposition(|a| a.starts_with(".env")) {
        let mut at = last_env + 1;
        while added.get(at).is_some_and(|a| a.starts_with("!.env")) {
            at += 1;
        }
        for l in lines(existing) {
            let Ok(l) = std::str::from_utf8(l.trim_ascii()) else {
                continue;
            };
            if is_env_negation(l)
                && !added.iter().any(|a| a == l)
                && !ignored_by_user(existing, &l[1..])
            {
                added.insert(at, l.to_string());
                at += 1;
            }
        }
    }
    if added.is_empty() {
        return None;
    }
    let eol = line_ending(existing);
    let mut out = existing.to_vec();
    if !out.is_empty() {
        if !out.ends_with(b"\n") {
            out.extend_from_slice(eol.as_bytes());
        }
        out.extend_from_slice(eol.as_bytes());
    }
    out.extend_from_slice(GITIGNORE_HEADER.as_bytes());
    out.extend_from_slice(eol.as_bytes());
    for a in &added {
        out.extend_from_slice(a.as_bytes());
        out.extend_from_slice(eol.as_bytes());
    }
    Some((out, added))
}

/// `!.env.production`, `!/.env.ci`, `!**/.env.test`: an exception to the env patterns.
fn is_env_negation(line: &str) -> bool {
    let Some(p) = line.strip_prefix('!') else {
        return false;
    };
    let p = p
        .strip_prefix("**/")
        .or_else(|| p.strip_prefix('/'))
        .unwrap_or(p);
    p.starts_with(".env")
}

/// Whether the user's `.gitignore` alone ends up ignoring the file a negation names (they
/// re-ignored it further down, say): such a negation is not stated again. A pattern with glob
/// characters cannot be checked this way and counts as not ignored.
fn ignored_by_user(existing: &[u8], pattern: &str) -> bool {
    let path = pattern
        .strip_prefix("**/")
        .or_else(|| pattern.strip_prefix('/'))
        .unwrap_or(pattern);
    if path.contains(['*', '?', '[', '\\']) {
        return false;
    }
    let mut b = ignore::gitignore::GitignoreBuilder::new("");
    for l in lines(existing) {
        if let Ok(l) = std::str::from_utf8(l) {
            let _ = b.add_line(None, l);
        }
    }
    b.build()
        .is_ok_and(|g| g.matched(path, path.ends_with('/')).is_ignore())
}

fn plan_gitignore(root: &Path) -> Result<(Option<FileChange>, Vec<String>), InitError> {
    let path = root.join(".gitignore");
    let existing = read_optional(&path)?;
    let npmrc = read_optional(&root.join(".npmrc"))?.is_some_and(|b| {
        let text = String::from_utf8_lossy(&b);
        NPMRC_TOKEN_MARKERS.iter().any(|m| text.contains(m))
    });
    let created = existing.is_none();
    Ok(
        match gitignore_append(existing.as_deref().unwrap_or_default(), npmrc) {
            Some((bytes, added)) => (
                Some(FileChange {
                    path,
                    bytes,
                    created,
                }),
                added,
            ),
            None => (None, Vec::new()),
        },
    )
}

/// One line of an env file, as `.env.example` keeps it.
#[derive(Debug, PartialEq, Eq)]
enum EnvLine<'a> {
    /// A comment or a blank line: kept as it is.
    Keep(&'a [u8]),
    /// `NAME=...` (with `export ` kept): written as `NAME=`.
    Var { export: bool, name: &'a str },
    /// Anything else (the rest of a multi-line value, say): dropped.
    Drop,
}

/// Parses an env file line by line; the lines after an unclosed quote are the value's.
fn env_lines(text: &[u8]) -> Vec<EnvLine<'_>> {
    let mut out = Vec::new();
    let mut open_quote: Option<u8> = None;
    for line in lines(text) {
        if let Some(q) = open_quote {
            if closing_quote(line, q).is_some() {
                open_quote = None;
            }
            out.push(EnvLine::Drop);
            continue;
        }
        let t = line.trim_ascii();
        if t.is_empty() || t.starts_with(b"#") {
            out.push(EnvLine::Keep(line));
            continue;
        }
        let (export, rest) = match t.strip_prefix(b"export ") {
            Some(r) => (true, r.trim_ascii_start()),
            None => (false, t),
        };
        let Some(eq) = rest.iter().position(|&b| b == b'=') else {
            out.push(EnvLine::Drop);
            continue;
        };
        let name = rest[..eq].trim_ascii();
        let valid = !name.is_empty()
            && name
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
        if !valid {
            out.push(EnvLine::Drop);
            continue;
        }
        let value = rest[eq + 1..].trim_ascii_start();
        if let Some(&q) = value
            .first()
            .filter(|&&q| q == b'"' || q == b'\'' || q == b'`')
            && closing_quote(&value[1..], q).is_none()
        {
            open_quote = Some(q);
        }
        out.push(EnvLine::Var {
            export,
            name: std::str::from_utf8(name).expect("ASCII"),
        });
    }
    // `split` yields an empty last piece after a final newline: it is no line.
    if text.ends_with(b"\n") || text.is_empty() {
        out.pop();
    }
    out
}

/// Where the quote `q` that opened a value closes in `rest`: inside double quotes `\"` is an
/// escaped quote (and `\\` a backslash); single quotes and backticks know no escapes.
fn closing_quote(rest: &[u8], q: u8) -> Option<usize> {
    let mut i = 0;
    while i < rest.len() {
        match rest[i] {
            b'\\' if q == b'"' => i += 2,
            b if b == q => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The bytes a credential is made of: base64 (plain and URL-safe), hex, and the separators keys
/// use (`sk-proj-...`, `ghp_...`, JWT dots).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'/' | b'=' | b'.' | b'-')
}

/// Whether `text` holds a run of token bytes that could be a credential: 16 or more with a
/// digit in it, or 24 or more of any kind. Prose, short words and URLs broken by `:`/`?` pass.
fn has_credential_like_token(text: &[u8]) -> bool {
    text.split(|&b| !is_token_byte(b))
        .any(|run| run.len() >= 24 || (run.len() >= 16 && run.iter().any(u8::is_ascii_digit)))
}

/// Whether `text` holds `NAME=value` or `NAME: value` with an environment-style name (capitals,
/// digits and `_`, at least one capital) and a non-empty value.
fn has_assignment_shape(text: &[u8]) -> bool {
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if !(b.is_ascii_uppercase() || b == b'_')
            || (i > 0 && (text[i - 1].is_ascii_alphanumeric() || text[i - 1] == b'_'))
        {
            i += 1;
            continue;
        }
        let start = i;
        while text
            .get(i)
            .is_some_and(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        {
            i += 1;
        }
        let name = &text[start..i];
        if !name.iter().any(u8::is_ascii_uppercase) {
            continue;
        }
        let mut j = i;
        while text.get(j).is_some_and(|&b| b == b' ' || b == b'\t') {
            j += 1;
        }
        let value_follows = |k: usize| {
            let mut k = k;
            while text.get(k).is_some_and(|&b| b == b' ' || b == b'\t') {
                k += 1;
            }
            text.get(k).is_some_and(|b| !b.is_ascii_whitespace())
        };
        match text.get(j) {
            Some(b'=') if value_follows(j + 1) => return true,
            // `NAME: value` (and not a URL's `scheme://`).
            Some(b':')
                if text.get(j + 1) != Some(&b'/')
                    && !COMMENT_LABELS.contains(&name)
                    && value_follows(j + 1) =>
            {
                return true;
            }
            _ => {}
        }
    }
    false
}

/// Words that head a comment (`# NOTE: ...`) rather than name a variable.
const COMMENT_LABELS: &[&[u8]] = &[
    b"NOTE",
    b"NB",
    b"TODO",
    b"FIXME",
    b"XXX",
    b"HACK",
    b"WARNING",
    b"IMPORTANT",
    b"SEE",
    b"DEPRECATED",
    b"EXAMPLE",
    b"USAGE",
    b"OPTIONAL",
    b"REQUIRED",
];

/// In `# NAME: value` (a commented-out assignment in YAML's style), the length up to and
/// including the `:`. The name is environment-style (see `has_assignment_shape`) and no
/// comment label.
fn commented_colon_assignment(line: &[u8]) -> Option<usize> {
    let start = line.iter().position(|&b| b == b'#')? + 1;
    let mut i = start;
    while line.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
        i += 1;
    }
    let name_start = i;
    while line
        .get(i)
        .is_some_and(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        i += 1;
    }
    if i == name_start
        || line[name_start].is_ascii_digit()
        || COMMENT_LABELS.contains(&&line[name_start..i])
    {
        return None;
    }
    while line.get(i).is_some_and(|&b| b == b' ' || b == b'\t') {
        i += 1;
    }
    (line.get(i) == Some(&b':') && line.get(i + 1) != Some(&b'/')).then_some(i + 1)
}

/// The part of a comment or blank line `.env.example` may hold, or `None` to drop it whole: a
/// commented-out assignment (`# OLD_KEY=...`, `# OLD_KEY: ...`) keeps its name only, and a
/// comment that still holds a credential-like token, an assignment or something `secret_in`
/// finds is dropped.
fn kept_comment<'a>(line: &'a [u8], secret_in: &dyn Fn(&[u8]) -> bool) -> Option<&'a [u8]> {
    let line = match commented_assignment(line).or_else(|| commented_colon_assignment(line)) {
        Some(end) => &line[..end],
        None => line,
    };
    let keep = !has_credential_like_token(line) && !has_assignment_shape(line) && !secret_in(line);
    keep.then_some(line)
}

/// `.env.example` made from `.env`: comments and blank lines kept, every value emptied. A
/// commented-out assignment (`# OLD_KEY=...`) keeps its name only, and a comment that could hold
/// a key (a credential-like token, an assignment, or `secret_in` is true: the secret rules find
/// a key in it) is dropped whole.
pub fn env_example_from(env: &[u8], secret_in: &dyn Fn(&[u8]) -> bool) -> (Vec<u8>, Vec<String>) {
    let eol = line_ending(env).as_bytes();
    let mut out = Vec::new();
    let mut names = Vec::new();
    for l in env_lines(env) {
        match l {
            EnvLine::Keep(line) => {
                let Some(line) = kept_comment(line, secret_in) else {
                    continue;
                };
                out.extend_from_slice(line);
            }
            EnvLine::Var { export, name } => {
                if export {
                    out.extend_from_slice(b"export ");
                }
                out.extend_from_slice(name.as_bytes());
                out.push(b'=');
                names.push(name.to_string());
            }
            EnvLine::Drop => continue,
        }
        out.extend_from_slice(eol);
    }
    (out, names)
}

/// In `# NAME=value` (or `#export NAME = value`), the length up to and including the `=`.
fn commented_assignment(line: &[u8]) -> Option<usize> {
    let start = line.iter().position(|&b| b == b'#')? + 1;
    let mut i = start;
    let skip_space = |i: &mut usize| {
        while line.get(*i).is_some_and(|b| b.is_ascii_whitespace()) {
            *i += 1;
        }
    };
    skip_space(&mut i);
    if line[i..].starts_with(b"export ") {
        i += 7;
        skip_space(&mut i);
    }
    let name_start = i;
    while line
        .get(i)
        .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
    {
        i += 1;
    }
    if i == name_start || !(line[name_start].is_ascii_alphabetic() || line[name_start] == b'_') {
        return None;
    }
    skip_space(&mut i);
    (line.get(i) == Some(&b'=')).then_some(i + 1)
}

/// `.env.example` extended with the names `.env` has and it lacks, as `NAME=` lines appended
/// under a comment; its own lines are never changed.
pub fn env_example_update(example: &[u8], env: &[u8]) -> Option<(Vec<u8>, Vec<String>)> {
    let have: std::collections::HashSet<&str> = env_lines(example)
        .into_iter()
        .filter_map(|l| match l {
            EnvLine::Var { name, .. } => Some(name),
            _ => None,
        })
        .collect();
    let mut missing: Vec<(bool, String)> = Vec::new();
    for l in env_lines(env) {
        if let EnvLine::Var { export, name } = l
            && !have.contains(name)
            && !missing.iter().any(|(_, n)| n == name)
        {
            missing.push((export, name.to_string()));
        }
    }
    if missing.is_empty() {
        return None;
    }
    let eol = if example.is_empty() {
        line_ending(env)
    } else {
        line_ending(example)
    };
    let mut out = example.to_vec();
    if !out.is_empty() {
        if !out.ends_with(b"\n") {
            out.extend_from_slice(eol.as_bytes());
        }
        out.extend_from_slice(eol.as_bytes());
    }
    out.extend_from_slice(b"# added by keyguard init from .env (set the values in your own .env)");
    out.extend_from_slice(eol.as_bytes());
    for (export, name) in &missing {
        if *export {
            out.extend_from_slice(b"export ");
        }
        out.extend_from_slice(name.as_bytes());
        out.push(b'=');
        out.extend_from_slice(eol.as_bytes());
    }
    Some((out, missing.into_iter().map(|(_, n)| n).collect()))
}

fn plan_env_example(root: &Path) -> Result<(Option<FileChange>, Vec<String>), InitError> {
    let Some(env) = read_optional(&root.join(".env"))? else {
        return Ok((None, Vec::new()));
    };
    let path = root.join(".env.example");
    Ok(match read_optional(&path)? {
        None => {
            let scanner = secret_scanner();
            let secret_in = |line: &[u8]| {
                scanner
                    .scan(line)
                    .iter()
                    .any(|m| scanner.rules().get(m.rule).spec.kind == Kind::Secret)
            };
            let (bytes, names) = env_example_from(&env, &secret_in);
            (
                Some(FileChange {
                    path,
                    bytes,
                    created: true,
                }),
                names,
            )
        }
        Some(example) => match env_example_update(&example, &env) {
            Some((bytes, names)) => (
                Some(FileChange {
                    path,
                    bytes,
                    created: false,
                }),
                names,
            ),
            None => (None, Vec::new()),
        },
    })
}

/// Writes `change` atomically (a temporary file beside it, then a rename), keeping an existing
/// file's permissions; a symbolic link's target is written.
pub fn write_file(change: &FileChange) -> Result<(), InitError> {
    let mut path = change.path.clone();
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
        path = std::fs::canonicalize(&path).map_err(io_error("resolve", &change.path))?;
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".keyguard-init-")
        .tempfile_in(dir)
        .map_err(io_error("write a file in", dir))?;
    let perms = match std::fs::metadata(&path) {
        Ok(m) => Some(m.permissions()),
        Err(_) => default_permissions(),
    };
    tmp.write_all(&change.bytes)
        .and_then(|_| match perms {
            Some(p) => tmp.as_file().set_permissions(p),
            None => Ok(()),
        })
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(io_error("write", &path))?;
    tmp.persist(&path)
        .map_err(|e| io_error("write", &path)(e.error))?;
    Ok(())
}

/// A new file is readable by all, like one an editor makes (the temporary file is 0600).
#[cfg(unix)]
fn default_permissions() -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn default_permissions() -> Option<std::fs::Permissions> {
    None
}

/// `git rm --cached`: removes `paths` from the index of the working tree at `root` (a linked
/// worktree has its own) and writes it. The working files stay.
pub fn untrack(root: &Path, paths: &[String]) -> Result<(), InitError> {
    let err = |e: git2::Error| InitError::Index {
        path: shown(root),
        message: e.message().to_string(),
    };
    let repo = git2::Repository::open(root).map_err(err)?;
    let mut index = repo.index().map_err(err)?;
    for p in paths {
        index.remove_path(Path::new(p)).map_err(err)?;
    }
    index.write().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitignore_appends_missing_patterns_once() {
        let (first, added) = gitignore_append(b"node_modules/\n.env\n", false).unwrap();
        assert!(!added.contains(&".env".to_string()));
        assert!(first.starts_with(b"node_modules/\n.env\n\n# keyguard"));
        assert!(gitignore_append(&first, false).is_none());
        // CRLF is kept, and a missing final newline is added before the block.
        let (crlf, _) = gitignore_append(b"dist\r\n.env  \r\nbuild", false).unwrap();
        assert!(crlf.starts_with(b"dist\r\n.env  \r\nbuild\r\n\r\n# keyguard"));
        assert!(!crlf.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'));
        assert!(gitignore_append(&crlf, false).is_none());
        // The user's `!.env.example` before a new `.env.*` is repeated after it.
        let (neg, added) = gitignore_append(b"!.env.example\n", false).unwrap();
        assert_eq!(added.last().unwrap(), ".netrc");
        assert!(added.contains(&"!.env.example".to_string()));
        assert!(gitignore_append(&neg, false).is_none());
        let (_, added) = gitignore_append(b"", true).unwrap();
        assert!(added.contains(&".npmrc".to_string()));
    }

    #[test]
    fn env_example_keeps_names_never_values() {
        let env = b"# API keys\nOPENAI_API_KEY=sk-secret\n\nexport DB_URL = \"postgres://u:p@h/db\"\nPEM=\"-----BEGIN\nabc\n-----END\"\nAFTER='x'\n";
        let (out, names) = env_example_from(env, &|_| false);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "# API keys\nOPENAI_API_KEY=\n\nexport DB_URL=\nPEM=\nAFTER=\n"
        );
        assert_eq!(names, ["OPENAI_API_KEY", "DB_URL", "PEM", "AFTER"]);
        let (crlf, _) = env_example_from(b"A=1\r\nB=2\r\n", &|_| false);
        assert_eq!(crlf, b"A=\r\nB=\r\n");
    }

    #[test]
    fn env_example_comments_lose_values_and_keys() {
        let env =
            b"# OLD_KEY=abc123\n#export B = x\n# see https://x.dev/?a=b\n# KEY IN PROSE\nC=1\n";
        let (out, _) = env_example_from(env, &|l: &[u8]| l.windows(5).any(|w| w == b"PROSE"));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "# OLD_KEY=\n#export B =\n# see https://x.dev/?a=b\nC=\n"
        );
    }

    #[test]
    fn env_example_drops_comments_holding_keys() {
        let env = b"# old stripe key 9f8e7d6c5b4a39281706f5e4d3c2b1a0\n#   API_KEY: 4f1c2e9a7b3d5f8e0a1c2b4d6e8f0a9b\n# Stripe keys\n# rotated: see docs\n# NOTE: rotate monthly\n# PASSWORD: hunter2\n# long YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4\n# set TOKEN=abc to debug\nSTRIPE_KEY=sk_x\n";
        let (out, names) = env_example_from(env, &|_| false);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "#   API_KEY:\n# Stripe keys\n# rotated: see docs\n# NOTE: rotate monthly\n# PASSWORD:\nSTRIPE_KEY=\n"
        );
        assert_eq!(names, ["STRIPE_KEY"]);
    }

    #[test]
    fn escaped_quote_keeps_a_double_quoted_value_open() {
        let env = b"A=\"say \\\"hi\\\" then\n# not a comment 1234567890abcdefgh\n# value line\nend\"\nB=\"x\\\\\"\n# real\nC='a\\'\n# real too\n";
        let (out, names) = env_example_from(env, &|_| false);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "A=\nB=\n# real\nC=\n# real too\n"
        );
        assert_eq!(names, ["A", "B", "C"]);
    }

    /// A run of 16+ token bytes with a digit, or of 24+.
    fn credential_like_runs(text: &[u8]) -> Vec<String> {
        text.split(|&b| !is_token_byte(b))
            .filter(|r| r.len() >= 24 || (r.len() >= 16 && r.iter().any(u8::is_ascii_digit)))
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect()
    }

    proptest::proptest! {
        /// No credential-like token of `.env`, in a value, a comment or a multi-line value,
        /// ends up in `.env.example`.
        #[test]
        fn env_example_never_holds_a_credential_like_token(
            lines in proptest::collection::vec(
                (0..6u8, "[A-Z_]{1,8}", "[a-z ]{0,12}", "[A-Za-z0-9_+/=.-]{0,14}[0-9][A-Za-z0-9_+/=.-]{1,30}|[A-Za-z_+/=.-]{24,40}", "[ :=#]{0,3}"),
                0..10,
            )
        ) {
            let mut env = String::new();
            for (shape, name, prose, token, sep) in &lines {
                env.push_str(&match shape {
                    0 => format!("# {prose}{sep}{token}\n"),
                    1 => format!("#{name}{sep}{token} {prose}\n"),
                    2 => format!("{name}={token}\n"),
                    3 => format!("{name}=\"{prose}\\\"{sep}\n# {token}\n{prose}\"\n"),
                    4 => format!("# {prose} {name}: {token}\n"),
                    _ => format!("export {name} = '{prose}\n#{token}\n'\n"),
                });
            }
            let (out, _) = env_example_from(env.as_bytes(), &|_| false);
            let leaked = credential_like_runs(&out);
            proptest::prop_assert!(leaked.is_empty(), "{:?} from {:?}", leaked, env);
        }
    }

    proptest::proptest! {
        /// Whatever `.env` holds, every line of the example is a kept comment or blank line
        /// of the input, or ends in `=` (or, a commented-out `# NAME: value`, in `:`).
        #[test]
        fn env_example_never_holds_a_value(env in "(([ #A-Za-z_]{0,6}(export )?[A-Z_]{1,5} ?= ?[\"'`]?[ -~]{0,12}|#[ -~]{0,12}|)\r?\n){0,8}") {
            let (out, _) = env_example_from(env.as_bytes(), &|_| false);
            let input: Vec<&[u8]> = lines(env.as_bytes()).collect();
            for line in lines(&out) {
                let t = line.trim_ascii();
                proptest::prop_assert!(
                    t.is_empty()
                        || t.ends_with(b"=")
                        || (t.starts_with(b"#") && (t.ends_with(b":") || input.contains(&line))),
                    "{:?} from {:?}", String::from_utf8_lossy(line), env
                );
            }
        }
    }

    #[test]
    fn env_example_update_appends_only_missing_names() {
        let (out, names) = env_example_update(b"A=\n# kept\nB=default\n", b"A=1\nC=3\n").unwrap();
        assert_eq!(names, ["C"]);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("A=\n# kept\nB=default\n\n# added by keyguard"));
        assert!(text.ends_with("\nC=\n"));
        assert!(env_example_update(text.as_bytes(), b"A=1\nC=3\n").is_none());
    }

    #[test]
    fn gitignore_restates_the_users_env_exceptions_after_new_env_patterns() {
        let existing = b"node_modules/\n!.env.production\n!/.env.ci  \n# !.env.comment\n";
        let (out, added) = gitignore_append(existing, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        // The user's lines stay where they were, untouched.
        assert!(text.starts_with(std::str::from_utf8(existing).unwrap()));
        // Each exception comes again after the last env pattern appended.
        let env_star = added.iter().position(|a| a == ".env.*").unwrap();
        for neg in ["!.env.example", "!.env.production", "!/.env.ci"] {
            let at = added
                .iter()
                .position(|a| a == neg)
                .unwrap_or_else(|| panic!("{neg}"));
            assert!(at > env_star, "{neg} in {added:?}");
        }
        assert!(!added.iter().any(|a| a.contains("comment")));
        assert_eq!(added.iter().filter(|a| *a == "!.env.example").count(), 1);
        assert!(gitignore_append(text.as_bytes(), false).is_none());
        // Nothing env-related appended: nothing restated.
        let all = b".env\n.env.local\n.env.*.local\n.env.*\n!.env.example\n!.env.production\n";
        let (_, added) = gitignore_append(all, false).unwrap();
        assert!(!added.iter().any(|a| a.starts_with("!")), "{added:?}");
        // An exception the user revoked further down is not brought back.
        let (_, added) =
            gitignore_append(b"!.env.staging\n.env.staging\n!.env.ci\n", false).unwrap();
        assert!(!added.iter().any(|a| a == "!.env.staging"), "{added:?}");
        assert!(added.iter().any(|a| a == "!.env.ci"), "{added:?}");
    }

    #[test]
    fn env_file_names() {
        for n in [
            ".env",
            ".env.local",
            ".env.production",
            ".env.development.local",
        ] {
            assert!(is_env_file_name(n), "{n}");
        }
        for n in [".env.example", ".env.sample", ".envrc", "env", "x.env"] {
            assert!(!is_env_file_name(n), "{n}");
        }
    }
}
