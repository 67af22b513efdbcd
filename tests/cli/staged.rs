//! `keyguard scan staged` on real repositories: only what `git commit` would record, and of that
//! only added lines; renames, deletions, binary and large files, `git add -N`, merges in progress,
//! conflicts, the index formats git writes, and the temporary index git builds for hooks.

use serde_json::Value;

use crate::support::git::{Repo, git_available};
use crate::support::{Fakes, Run, keyguard, run_in, skip_missing};

fn repo() -> Option<Repo> {
    if !git_available() {
        skip_missing("git");
        return None;
    }
    Some(Repo::init())
}

/// `scan staged --format json` in `dir`; the exit code must be 0 or 1.
fn staged_json(dir: &std::path::Path, extra: &[&str]) -> (Run, Value) {
    let mut args = vec!["scan", "staged", "--format", "json"];
    args.extend_from_slice(extra);
    let run = run_in(dir, &args);
    assert!(
        run.code == 0 || run.code == 1,
        "scan staged failed ({}): {}",
        run.code,
        run.stderr
    );
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON report");
    (run, report)
}

/// (path, line) of every finding.
fn found(report: &Value) -> Vec<(String, u64)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn summary(report: &Value, field: &str) -> u64 {
    report["summary"][field].as_u64().unwrap()
}

fn skipped(report: &Value, field: &str) -> u64 {
    report["summary"]["skipped"][field].as_u64().unwrap()
}

#[test]
fn a_staged_key_is_found_at_its_path_and_line_and_never_printed() {
    let Some(r) = repo() else { return };
    r.write("README.md", "# app\n");
    r.commit_all("init");
    let key = Fakes::new(100).checksummed("ghp_");
    r.write(
        "src/settings.py",
        format!("DEBUG = False\n\nGITHUB_TOKEN = \"{key}\"\n"),
    );
    r.git(&["add", "src/settings.py"]);
    let (run, report) = staged_json(r.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(report["source"], "staged");
    assert_eq!(found(&report), [("src/settings.py".to_string(), 3)]);
    assert_eq!(summary(&report, "files"), 1);
    let human = run_in(r.path(), &["scan", "staged"]);
    assert_eq!(human.code, 1);
    for out in [&run.stdout, &run.stderr, &human.stdout, &human.stderr] {
        assert!(!out.contains(&key), "the full key was printed");
    }
    // From a subdirectory, and with -C from elsewhere, paths stay relative to the root.
    let sub = run_in(
        &r.path().join("src"),
        &["scan", "staged", "--format", "json"],
    );
    let sub: Value = serde_json::from_str(&sub.stdout).unwrap();
    assert_eq!(found(&sub), [("src/settings.py".to_string(), 3)]);
    let elsewhere = tempfile::tempdir().unwrap();
    let repo_arg = r.path().to_str().unwrap();
    let (_, c) = staged_json(elsewhere.path(), &["-C", repo_arg]);
    assert_eq!(found(&c), [("src/settings.py".to_string(), 3)]);
}

#[test]
fn an_old_key_does_not_block_a_commit_that_does_not_touch_its_line() {
    let Some(r) = repo() else { return };
    let mut fakes = Fakes::new(101);
    let (old, new) = (fakes.checksummed("ghp_"), fakes.checksummed("ghp_"));
    r.write("deploy.sh", format!("#!/bin/sh\nexport GH_TOKEN={old}\n"));
    r.commit_all("old key");
    r.write(
        "deploy.sh",
        format!("#!/bin/sh\nset -e\nexport GH_TOKEN={old}\necho done\n"),
    );
    r.git(&["add", "deploy.sh"]);
    let (run, report) = staged_json(r.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(summary(&report, "files"), 1, "the changed file is scanned");

    // A new key on a new line of the same file is reported, the old one still is not.
    r.write(
        "deploy.sh",
        format!("#!/bin/sh\nset -e\nexport GH_TOKEN={old}\nexport GH_TOKEN2={new}\n"),
    );
    r.git(&["add", "deploy.sh"]);
    let (run, report) = staged_json(r.path(), &[]);
    assert_eq!(run.code, 1);
    assert_eq!(found(&report), [("deploy.sh".to_string(), 4)]);

    // Editing the old key's own line (here: replacing the key) is adding that line.
    r.write("deploy.sh", format!("#!/bin/sh\nexport GH_TOKEN={new}\n"));
    r.git(&["add", "deploy.sh"]);
    let (_, report) = staged_json(r.path(), &[]);
    assert_eq!(found(&report), [("deploy.sh".to_string(), 2)]);
}

#[test]
fn first_commit_on_an_unborn_branch() {
    let Some(r) = repo() else { return };
    let key = Fakes::new(102).checksummed("ghp_");
    r.write("a.env", format!("T={key}\n"));
    let (run, report) = staged_json(r.path(), &[]);
    assert_eq!(run.code, 0, "nothing staged yet");
    assert_eq!(summary(&report, "files"), 0);
    r.git(&["add", "a.env"]);
    let (run, report) = staged_json(r.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(found(&report), [("a.env".to_string(), 1)]);
}

#[test]
fn only_the_index_counts_not_the_working_tree() {
    let Some(r) = repo() else { return };
    let mut fakes = Fakes::new(103);
    let (k1, k2) = (fakes.checksummed("ghp_"), fakes.checksummed("ghp_"));
    r.write("app.js", "const a = 1;\n");
    r.commit_all("init");
    // Staged clean, then a key typed into the file but not added.
    r.write("app.js", "const a = 1;\nconst b = 2;\n");
    r.git(&["add", "app.js"]);
    r.write(
        "app.js",
        format!("const a = 1;\nconst b = 2;\nconst t = '{k1}';\n"),
    );
    assert_eq!(run_in(r.path(), &["scan", "staged"]).code, 0);
    // A key that is staged and then deleted from the file only on disk still goes in the commit.
    r.write("other.js", format!("const t = '{k2}';\n"));
    r.git(&["add", "other.js"]);
    r.remove("other.js");
    let (run, report) = staged_json(r.path(), &[]);
    assert_eq!(run.code, 1);
    assert_eq!(found(&report), [("other.js".to_string(), 1)]);
}

#[test]
fn renames_and_deletions_of_files_holding_old_keys_are_clean() {
    let Some(r) = repo() else { return };
    let mut fakes = Fakes::new(104);
    let (old, new) = (fakes.checksummed("ghp_"), fakes.checksummed("ghp_"));
    let body: String = (0..20).map(|i| format!("setting_{i} = {i}\n")).collect();
    r.write("config/old.toml", format!("{body}token = \"{old}\"\n"));
    r.write("gone.env", format!("T={old}\n"));
    r.write("settings", format!("{body}T={old}\n"));
    r.commit_all("init");
    r.git(&["mv", "config/old.toml", "config/new.toml"]);
    r.git(&["rm", "-q", "gone.env"]);
    // A file replaced by a directory of the same name, holding the file moved into it.
    r.git(&["mv", "settings", "settings.tmp"]);
    std::fs::create_dir(r.path().join("settings")).unwrap();
    r.git(&["mv", "settings.tmp", "settings/main.env"]);
    let (run, report) = staged_json(r.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(found(&report).is_empty());

    // Renamed and edited: only the lines the edit adds count.
    r.write(
        "config/new.toml",
        format!("{body}token = \"{old}\"\nsecond = \"{new}\"\n"),
    );
    r.git(&["add", "config/new.toml"]);
    let (run, report) = staged_json(r.path(), &[]);
    assert_eq!(run.code, 1);
    assert_eq!(found(&report), [("config/new.toml".to_string(), 22)]);
}

#[test]
fn binary_and_too_large_files_are_skipped_and_counted() {
    let Some(r) = repo() else { return };
    r.write("README.md", "# app\n");
    r.commit_all("init");
    let mut fakes = Fakes::new(105);
    let mut blob = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    blob.extend_from_slice(format!("\ntoken={}\n", fakes.checksummed("ghp_")).as_bytes());
    r.write("logo.png", &blob);
    let big_key = fakes.checksummed("ghp_");
    r.write("big.txt", format!("{}\nT={big_key}\n", "x".repeat(4000)));
    r.git(&["add", "logo.png", "big.txt"]);
    let (run, report) = staged_json(r.path(), &["--max-file-size", "1KiB"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(skipped(&report, "binary"), 1);
    assert_eq!(skipped(&report, "too_large"), 1);
    assert_eq!(summary(&report, "files"), 0);
    assert!(
        run.stderr.contains("big.txt") && !run.stderr.contains(&big_key),
        "{}",
        run.stderr
    );
    // Within the limit the large file is scanned.
    let (run, _) = staged_json(r.path(), &[]);
    assert_eq!(run.code, 1);
}

#[test]
fn intent_to_add_and_submodule_entries_add_nothing() {
    let Some(r) = repo() else { return };
    r.write("README.md", "# app\n");
    r.commit_all("init");
    let key = Fakes::new(106).checksummed("ghp_");
    r.write("later.env", format!("T={key}\n"));
    r.git(&["add", "-N", "later.env"]);
    // A gitlink: what a submodule is in the index.
    let head = r.head();
    r.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{head},vendor/lib"),
    ]);
    let (run, report) = staged_json(r.path(), &[]);
    assert_eq!(run.code, 0, "{} {}", run.stdout, run.stderr);
    assert_eq!(summary(&report, "files"), 0, "nothing readable is staged");
    // Once really added, the key is found.
    r.git(&["add", "later.env"]);
    let (run, report) = staged_json(r.path(), &[]);
    assert_eq!(run.code, 1);
    assert_eq!(found(&report), [("later.env".to_string(), 1)]);

    // A committed submodule replaced by a file: its old side is a commit id this repository
    // does not hold, and the file is new content.
    let absent = "f".repeat(40);
    r.git(&["rm", "-q", "--cached", "vendor/lib"]);
    r.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{absent},vendor/lib"),
    ]);
    r.commit("a submodule");
    let key2 = Fakes::new(116).checksummed("ghp_");
    r.git(&["rm", "-q", "--cached", "vendor/lib"]);
    r.write("vendor/lib", format!("T={key2}\n"));
    r.git(&["add", "vendor/lib"]);
    let (run, report) = staged_json(r.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(found(&report), [("vendor/lib".to_string(), 1)]);
}

#[test]
fn a_merge_reports_only_what_the_resolution_adds() {
    let Some(r) = repo() else { return };
    let mut fakes = Fakes::new(107);
    let (theirs, resolution) = (fakes.checksummed("ghp_"), fakes.checksummed("ghp_"));
    r.write("conf.txt", "mode = base\n");
    r.write("shared.txt", "a\nb\nc\n");
    r.commit_all("base");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write("conf.txt", "mode = feature\n");
    r.write("keys.env", format!("T={theirs}\n"));
    r.write("shared.txt", format!("a\ntoken = {theirs}\nb\nc\n"));
    r.commit_all("feature: a key that is already committed");
    r.git(&["checkout", "-q", "main"]);
    r.write("conf.txt", "mode = main\n");
    r.write("shared.txt", "a\nb\nc\nd\n");
    r.commit_all("main");
    // conf.txt conflicts; keys.env and shared.txt merge cleanly and are staged.
    let merge = r.cmd(&["merge", "-q", "feature"]).output().unwrap();
    assert!(!merge.status.success(), "the merge must stop on a conflict");
    let (run, report) = staged_json(r.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(found(&report).is_empty());
    assert!(
        run.stderr.contains("conf.txt") && run.stderr.contains("conflict"),
        "{}",
        run.stderr
    );
    // The resolution brings a new key: that, and only that, is reported.
    r.write("conf.txt", format!("mode = main\nkey = {resolution}\n"));
    r.git(&["add", "conf.txt"]);
    let (run, report) = staged_json(r.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(found(&report), [("conf.txt".to_string(), 2)]);
    assert!(!run.stderr.contains("conflict"), "{}", run.stderr);
}

#[test]
fn a_key_spanning_lines_counts_when_any_of_its_lines_is_added() {
    let Some(r) = repo() else { return };
    let mut fakes = Fakes::new(108);
    let b64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let body: String = (0..8)
        .map(|_| format!("{}\n", fakes.pick_from(b64, 64)))
        .collect();
    // HEAD holds the armour with a placeholder; the commit fills in the key's body only.
    r.write(
        "tls/key.pem",
        "-----BEGIN EC PRIVATE KEY-----\n...\n-----END EC PRIVATE KEY-----\n",
    );
    r.commit_all("placeholder");
    assert_eq!(run_in(r.path(), &["scan", "staged"]).code, 0);
    r.write(
        "tls/key.pem",
        format!("-----BEGIN EC PRIVATE KEY-----\n{body}-----END EC PRIVATE KEY-----\n"),
    );
    r.git(&["add", "tls/key.pem"]);
    let (run, report) = staged_json(r.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(found(&report), [("tls/key.pem".to_string(), 1)]);
}

#[test]
fn index_version_4_and_an_invalidated_cache_tree_read_the_same() {
    let Some(r) = repo() else { return };
    let mut fakes = Fakes::new(109);
    let (old, new) = (fakes.checksummed("ghp_"), fakes.checksummed("ghp_"));
    for d in 0..30 {
        r.write(
            &format!("pkg/m{d:02}/lib.rs"),
            format!("pub const N: u32 = {d};\n"),
        );
    }
    r.write("pkg/m07/secret.rs", format!("const T: &str = \"{old}\";\n"));
    r.commit_all("init");
    r.write(
        "pkg/m07/secret.rs",
        format!("const T: &str = \"{old}\";\nconst U: &str = \"{new}\";\n"),
    );
    r.write(
        "pkg/m21/lib.rs",
        format!("pub const N: u32 = 21;\n// {old}\n"),
    );
    r.git(&["add", "-A"]);
    let expect = [
        ("pkg/m07/secret.rs".to_string(), 2),
        ("pkg/m21/lib.rs".to_string(), 2),
    ];
    let (_, report) = staged_json(r.path(), &[]);
    assert_eq!(found(&report), expect, "index v2, cache tree after commit");
    r.git(&["update-index", "--index-version", "4"]);
    let (_, report) = staged_json(r.path(), &[]);
    assert_eq!(found(&report), expect, "index v4");
    // Every cache-tree node invalid: the whole tree is compared.
    r.git(&["rm", "-r", "-q", "--cached", "."]);
    r.git(&["add", "-A"]);
    let (_, report) = staged_json(r.path(), &[]);
    assert_eq!(found(&report), expect, "invalidated cache tree");
}

#[test]
fn the_repository_config_applies_from_its_root() {
    let Some(r) = repo() else { return };
    r.write(
        "keyguard.toml",
        "[scan]\nexclude = [\"vendor/\"]\n[allow]\npaths = [\"fixtures/**\"]\n",
    );
    r.commit_all("config");
    let mut fakes = Fakes::new(110);
    r.write(
        "fixtures/fake.env",
        format!("T={}\n", fakes.checksummed("ghp_")),
    );
    r.write(
        "vendor/lib.js",
        format!("t='{}'\n", fakes.checksummed("ghp_")),
    );
    r.write("src/real.env", format!("T={}\n", fakes.checksummed("ghp_")));
    r.git(&["add", "-A"]);
    // Run from a subdirectory: the root's keyguard.toml still applies, paths relative to the root.
    let (run, report) = staged_json(&r.path().join("src"), &[]);
    assert_eq!(run.code, 1);
    assert_eq!(found(&report), [("src/real.env".to_string(), 1)]);
    assert!(run.stderr.contains("1 suppressed"), "{}", run.stderr);
    assert_eq!(
        summary(&report, "files"),
        2,
        "vendor/ is excluded, never read"
    );
}

#[test]
fn hooks_see_the_index_git_commit_builds() {
    let Some(r) = repo() else { return };
    let mut fakes = Fakes::new(111);
    let (k1, k2) = (fakes.checksummed("ghp_"), fakes.checksummed("ghp_"));
    r.write("a.txt", "one\n");
    r.write("b.txt", "two\n");
    r.commit_all("init");
    let hook = r.git_dir().join("hooks/pre-commit");
    std::fs::create_dir_all(hook.parent().unwrap()).unwrap();
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\nexec '{}' scan staged\n",
            env!("CARGO_BIN_EXE_keyguard")
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // `git commit -a` stages into a temporary index (GIT_INDEX_FILE): the key is only there.
    r.write("a.txt", format!("one\nT={k1}\n"));
    let commit = r
        .cmd(&["commit", "-q", "-a", "-m", "leak"])
        .output()
        .unwrap();
    assert!(!commit.status.success(), "the hook must block the commit");
    assert!(String::from_utf8_lossy(&commit.stderr).contains("a.txt"));
    r.git(&["checkout", "--", "a.txt"]);
    // `git commit PATH` commits only PATH: a key staged in another file is not part of it.
    r.write("b.txt", format!("two\nT={k2}\n"));
    r.git(&["add", "b.txt"]);
    r.write("a.txt", "one\nmore\n");
    let commit = r
        .cmd(&["commit", "-q", "-m", "a only", "a.txt"])
        .output()
        .unwrap();
    assert!(
        commit.status.success(),
        "{}",
        String::from_utf8_lossy(&commit.stderr)
    );
    assert_eq!(
        r.git(&["show", "--format=", "--name-only", "HEAD"]),
        "a.txt"
    );
}

#[test]
fn outside_a_repository_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(dir.path(), &["scan", "staged"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("not in a git repository"),
        "{}",
        run.stderr
    );
    let named = dir.path().join("nowhere");
    std::fs::create_dir(&named).unwrap();
    let run = run_in(
        dir.path(),
        &["scan", "staged", "-C", named.to_str().unwrap()],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("nowhere"), "{}", run.stderr);
}

/// An index file of version 4 whose entries are (bytes stripped off the previous path, suffix),
/// all regular files with one made-up id; the checksum is left zero, as keyguard does not check it.
fn v4_index(entries: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut f = b"DIRC".to_vec();
    f.extend_from_slice(&4u32.to_be_bytes());
    f.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    for (strip, suffix) in entries {
        let mut e = vec![0u8; 40];
        e[24..28].copy_from_slice(&0o100644u32.to_be_bytes());
        e.extend_from_slice(&[9; 20]);
        e.extend_from_slice(&(suffix.len().min(0xfff) as u16).to_be_bytes());
        e.push(*strip);
        e.extend_from_slice(suffix);
        e.push(0);
        f.extend_from_slice(&e);
    }
    f.extend_from_slice(&[0; 20]);
    f
}

#[test]
fn an_index_whose_paths_dwarf_the_file_is_refused_as_damaged() {
    let Some(r) = repo() else { return };
    // Each version 4 path is the one before plus a byte: 190 KB of file, 120 MB of paths.
    let mut entries = vec![(0u8, vec![b'a'; 60_000])];
    entries.extend((0..2000).map(|_| (0u8, b"a".to_vec())));
    let index = r.git_dir().join("index");
    std::fs::write(&index, v4_index(&entries)).unwrap();
    let run = run_in(r.path(), &["scan", "staged"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("damaged") && run.stderr.contains(&index.display().to_string()),
        "{}",
        run.stderr
    );
}

#[test]
fn a_split_index_is_refused_as_unsupported_not_damaged() {
    let Some(r) = repo() else { return };
    r.write("a.txt", "one\n");
    r.write("b.txt", "two\n");
    r.commit_all("init");
    r.git(&["update-index", "--split-index"]);
    // A changed entry is written to the split index with an empty name, replacing the shared one.
    r.write("a.txt", "one\nmore\n");
    r.git(&["add", "a.txt"]);
    let run = run_in(r.path(), &["scan", "staged"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("split index") && !run.stderr.contains("damaged"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("git update-index --no-split-index"),
        "{}",
        run.stderr
    );
    r.git(&["update-index", "--no-split-index"]);
    assert_eq!(run_in(r.path(), &["scan", "staged"]).code, 0);
}

/// Commits, as HEAD of `main`, a tree of `depth` nested directories `d/d/…/d/` holding a file
/// `f` with `content`; written with libgit2, as git's own tools refuse trees this deep. Returns
/// the path of `f`.
fn commit_deep_tree(r: &Repo, depth: usize, content: &str) -> String {
    let repo = git2::Repository::open(r.path()).unwrap();
    let blob = repo.blob(content.as_bytes()).unwrap();
    let mut b = repo.treebuilder(None).unwrap();
    b.insert("f", blob, 0o100644).unwrap();
    let mut tree = b.write().unwrap();
    for _ in 0..depth {
        let mut b = repo.treebuilder(None).unwrap();
        b.insert("d", tree, 0o040000).unwrap();
        tree = b.write().unwrap();
    }
    let tree = repo.find_tree(tree).unwrap();
    let who =
        git2::Signature::new("Ada Author", "ada@example.com", &git2::Time::new(0, 0)).unwrap();
    let commit = repo.commit(None, &who, &who, "deep", &tree, &[]).unwrap();
    repo.reference("refs/heads/main", commit, true, "deep")
        .unwrap();
    format!("{}f", "d/".repeat(depth))
}

/// The index holds `path` (and nothing else) with `content`.
fn stage_only(r: &Repo, path: &str, content: &str) {
    let repo = git2::Repository::open(r.path()).unwrap();
    let blob = repo.blob(content.as_bytes()).unwrap();
    r.git(&["read-tree", "--empty"]);
    r.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("100644,{blob},{path}"),
    ]);
}

#[test]
fn trees_nested_past_the_depth_limit_are_an_error_not_a_crash() {
    let Some(r) = repo() else { return };
    // Deleted: the index no longer has the deep directory at all.
    commit_deep_tree(&r, 20_000, "one\n");
    stage_only(&r, "other.txt", "two\n");
    let run = run_in(r.path(), &["scan", "staged"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("more than 4096 levels deep") && run.stderr.contains("d/d/d/"),
        "{}",
        run.stderr
    );
    // Changed: both sides hold the deep directory.
    let path = commit_deep_tree(&r, 5000, "one\n");
    stage_only(&r, &path, "two\n");
    let run = run_in(r.path(), &["scan", "staged"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("4096 levels"), "{}", run.stderr);
}

#[test]
fn trees_nested_up_to_the_depth_limit_are_read() {
    let Some(r) = repo() else { return };
    let key = Fakes::new(117).checksummed("ghp_");
    let path = commit_deep_tree(&r, 4096, "one\n");
    stage_only(&r, &path, &format!("one\nT={key}\n"));
    std::process::Command::new("cp")
        .args(["-r", r.path().to_str().unwrap(), "/tmp/deep-repo"])
        .status()
        .unwrap();
    let (run, report) = staged_json(r.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(found(&report), [(path.clone(), 2)]);
    // All of it deleted, and a new file beside it.
    stage_only(&r, "other.txt", "two\n");
    let (run, _) = staged_json(r.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn a_broken_head_is_an_error_that_says_why_once() {
    let Some(r) = repo() else { return };
    r.write("a.txt", "one\n");
    r.commit_all("init");
    // The branch names a commit the repository does not have.
    std::fs::write(
        r.git_dir().join("refs/heads/main"),
        format!("{}\n", "f".repeat(40)),
    )
    .unwrap();
    let run = run_in(r.path(), &["scan", "staged"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("cannot read HEAD"), "{}", run.stderr);
    // libgit2's message, once, without its class and code.
    let why = "cannot be peeled";
    assert_eq!(run.stderr.matches(why).count(), 1, "{}", run.stderr);
    assert!(!run.stderr.contains("class="), "{}", run.stderr);
}

/// Runs keyguard in `dir` with `env` added to the clean environment.
fn run_env(dir: &std::path::Path, env: &[(&str, &std::path::Path)], args: &[&str]) -> Run {
    let mut cmd = keyguard();
    cmd.current_dir(dir).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Dotfiles kept in a bare repository: `git --git-dir=~/.cfg --work-tree=~`, which git passes on
/// to hooks as GIT_DIR and GIT_WORK_TREE.
#[test]
fn git_dir_and_git_work_tree_are_honoured_as_git_does() {
    if !git_available() {
        skip_missing("git");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .current_dir(home)
            .args(["--git-dir=.cfg", "--work-tree=."])
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Ada Author")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "Ada Author")
            .env("GIT_COMMITTER_EMAIL", "ada@example.com")
            .env_remove("GIT_INDEX_FILE")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let init = std::process::Command::new("git")
        .args(["init", "-q", "--bare", "-b", "main"])
        .arg(home.join(".cfg"))
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .unwrap();
    assert!(init.success());
    crate::support::write(home, ".bashrc", "export EDITOR=vi\n");
    assert!(git(&["add", ".bashrc"]).0);
    assert!(git(&["commit", "-q", "--no-verify", "-m", "init"]).0);
    let key = Fakes::new(118).checksummed("ghp_");
    crate::support::write(home, ".config/gh/env", format!("GH_TOKEN={key}\n"));
    assert!(git(&["add", ".config/gh/env"]).0);

    let cfg = home.join(".cfg");
    for (git_dir, work_tree) in [(cfg.as_path(), home), (".cfg".as_ref(), ".".as_ref())] {
        let env = [("GIT_DIR", git_dir), ("GIT_WORK_TREE", work_tree)];
        let run = run_env(home, &env, &["scan", "staged", "--format", "json"]);
        assert_eq!(run.code, 1, "{}", run.stderr);
        let report: Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(found(&report), [(".config/gh/env".to_string(), 1)]);
    }
    // Run as git runs the hook: a clean commit goes through, one adding the key does not.
    let hook = cfg.join("hooks/pre-commit");
    std::fs::create_dir_all(hook.parent().unwrap()).unwrap();
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\nexec '{}' scan staged\n",
            env!("CARGO_BIN_EXE_keyguard")
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let (ok, stderr) = git(&["commit", "-q", "-m", "leak"]);
    assert!(!ok, "the hook must block the commit");
    assert!(stderr.contains(".config/gh/env"), "{stderr}");
    assert!(git(&["rm", "-q", "--cached", ".config/gh/env"]).0);
    crate::support::write(home, ".bashrc", "export EDITOR=vim\n");
    assert!(git(&["add", ".bashrc"]).0);
    let (ok, stderr) = git(&["commit", "-q", "-m", "vim"]);
    assert!(ok, "a clean commit was blocked: {stderr}");

    // A GIT_DIR that is no repository is named as such.
    let run = run_env(
        home,
        &[("GIT_DIR", ".nothing".as_ref())],
        &["scan", "staged"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("GIT_DIR") && run.stderr.contains(".nothing"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_environment_is_ignored_with_dash_c() {
    let Some(r) = repo() else { return };
    r.write("a.txt", "one\n");
    r.commit_all("init");
    let key = Fakes::new(119).checksummed("ghp_");
    r.write("b.env", format!("T={key}\n"));
    r.git(&["add", "b.env"]);
    // An index holding HEAD only: nothing staged in it.
    let alt = r.git_dir().join("alt-index");
    let out = r
        .cmd(&["read-tree", "HEAD"])
        .env("GIT_INDEX_FILE", &alt)
        .output()
        .unwrap();
    assert!(out.status.success());
    let other = Repo::init();
    let elsewhere = tempfile::tempdir().unwrap();
    let repo_arg = r.path().to_str().unwrap();

    let env = [("GIT_INDEX_FILE", alt.as_path())];
    assert_eq!(run_env(r.path(), &env, &["scan", "staged"]).code, 0);
    let run = run_env(elsewhere.path(), &env, &["scan", "staged", "-C", repo_arg]);
    assert_eq!(
        run.code, 1,
        "-C scans that repository's own index: {}",
        run.stderr
    );
    let env = [
        ("GIT_DIR", other.git_dir()),
        ("GIT_WORK_TREE", other.path().to_path_buf()),
    ];
    let env: Vec<(&str, &std::path::Path)> = env.iter().map(|(k, v)| (*k, v.as_path())).collect();
    assert_eq!(run_env(r.path(), &env, &["scan", "staged"]).code, 0);
    let run = run_env(elsewhere.path(), &env, &["scan", "staged", "-C", repo_arg]);
    assert_eq!(run.code, 1, "{}", run.stderr);
}

#[test]
fn a_missing_git_index_file_is_an_error_not_an_empty_index() {
    let Some(r) = repo() else { return };
    r.write("a.txt", "one\n");
    r.commit_all("init");
    r.write(
        "b.env",
        format!("T={}\n", Fakes::new(120).checksummed("ghp_")),
    );
    r.git(&["add", "b.env"]);
    let missing = r.git_dir().join("next-index-1234.lock");
    let run = run_env(
        r.path(),
        &[("GIT_INDEX_FILE", &missing)],
        &["scan", "staged"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("GIT_INDEX_FILE") && run.stderr.contains("next-index-1234.lock"),
        "{}",
        run.stderr
    );
    // The repository's own index, though, is empty when missing, as before the first `git add`.
    let fresh = Repo::init();
    for index in [
        ".git/index".as_ref(),
        fresh.git_dir().join("index").as_path(),
    ] {
        let run = run_env(
            fresh.path(),
            &[("GIT_INDEX_FILE", index)],
            &["scan", "staged"],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
}

/// `n` numbered filler lines, about 25 bytes each.
fn filler(n: usize) -> String {
    (0..n)
        .map(|i| format!("filler line number {i:05}\n"))
        .collect()
}

#[test]
fn an_old_version_over_the_size_limit_is_not_read_and_every_line_counts() {
    let Some(r) = repo() else { return };
    let mut fakes = Fakes::new(121);
    let (old, new) = (fakes.checksummed("ghp_"), fakes.checksummed("ghp_"));
    r.write("big.txt", format!("T={old}\n{}", filler(200)));
    r.commit_all("a big file");
    // Cut down below the limit: HEAD's version is not read, so the old key counts as added too.
    r.write("big.txt", format!("T={old}\nU={new}\n"));
    r.git(&["add", "big.txt"]);
    let (run, report) = staged_json(r.path(), &["--max-file-size", "1KiB"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        found(&report),
        [("big.txt".to_string(), 1), ("big.txt".to_string(), 2)]
    );
    assert!(
        run.stderr.contains("big.txt") && run.stderr.contains("not compared"),
        "{}",
        run.stderr
    );
    assert_eq!(
        skipped(&report, "too_large"),
        0,
        "the staged file was scanned"
    );
    // Within the limit the comparison runs as ever.
    let (_, report) = staged_json(r.path(), &[]);
    assert_eq!(found(&report), [("big.txt".to_string(), 2)]);
}

#[test]
fn a_merge_head_version_over_the_size_limit_narrows_nothing() {
    let Some(r) = repo() else { return };
    let theirs = Fakes::new(122).checksummed("ghp_");
    r.write("conf.txt", "mode = base\n");
    r.commit_all("base");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write("conf.txt", format!("key = {theirs}\n{}", filler(200)));
    r.commit_all("feature: a big file with a key");
    r.git(&["checkout", "-q", "main"]);
    r.write("conf.txt", "mode = main\n");
    r.commit_all("main");
    let merge = r.cmd(&["merge", "-q", "feature"]).output().unwrap();
    assert!(!merge.status.success(), "the merge must stop on a conflict");
    // The resolution keeps their key line only: not added, relative to MERGE_HEAD.
    r.write("conf.txt", format!("mode = main\nkey = {theirs}\n"));
    r.git(&["add", "conf.txt"]);
    let (run, report) = staged_json(r.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    // MERGE_HEAD's version over the limit is not read: the line counts as added.
    let (run, report_limited) = staged_json(r.path(), &["--max-file-size", "1KiB"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(found(&report_limited), [("conf.txt".to_string(), 2)]);
    assert!(
        run.stderr.contains("MERGE_HEAD") && run.stderr.contains("not compared"),
        "{}",
        run.stderr
    );
    assert!(found(&report).is_empty());
}

#[test]
fn rename_detection_never_weighs_a_file_over_the_size_limit() {
    let Some(r) = repo() else { return };
    let mut fakes = Fakes::new(123);
    let old = fakes.checksummed("ghp_");
    // 1,100 bytes or so: just over a 1 KiB limit.
    r.write("big.txt", format!("T={old}\n{}", filler(42)));
    r.write("huge.bin.txt", filler(400));
    r.commit_all("init");
    // Moved and cut just below the limit: similar enough to be a rename, but the old file is
    // over the limit, so it is not read; the moved file is new content.
    r.git(&["mv", "big.txt", "moved.txt"]);
    r.write("moved.txt", format!("T={old}\n{}", filler(36)));
    // Moved whole, and over the limit: adds nothing, so it is not even skipped.
    r.git(&["mv", "huge.bin.txt", "huge-moved.txt"]);
    r.git(&["add", "-A"]);
    let (run, report) = staged_json(r.path(), &["--max-file-size", "1KiB"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(found(&report), [("moved.txt".to_string(), 1)]);
    assert_eq!(skipped(&report, "too_large"), 0, "{}", run.stderr);
    assert!(!run.stderr.contains("huge-moved.txt"), "{}", run.stderr);
    // Within the limit, the rename is found and the old key is not new.
    let (run, report) = staged_json(r.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(found(&report).is_empty());
}
