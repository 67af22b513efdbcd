//! `keyguard scan git`: real repositories built with the git CLI (fixed identity and dates),
//! scanned by the built binary.

use serde_json::Value;

use crate::support::git::{Repo, git_available};
use crate::support::{Fakes, Run, run_in};

/// `keyguard scan git --format json --show-secrets` in `dir` with `extra` arguments.
fn scan_git(dir: &std::path::Path, extra: &[&str]) -> (Run, Value) {
    let mut args = vec!["scan", "git", "--format", "json", "--show-secrets"];
    args.extend_from_slice(extra);
    let run = run_in(dir, &args);
    assert!(
        run.code == 0 || run.code == 1,
        "scan git failed ({}): {}",
        run.code,
        run.stderr
    );
    let report = serde_json::from_str(&run.stdout).expect("JSON report");
    (run, report)
}

/// The findings whose secret is `key`.
fn findings_of<'a>(report: &'a Value, key: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["secret"] == key)
        .collect()
}

/// The one finding of `key`; fails when there are none or several.
fn only<'a>(report: &'a Value, key: &str) -> &'a Value {
    let found = findings_of(report, key);
    assert_eq!(found.len(), 1, "findings of the key: {found:#?}");
    found[0]
}

fn key(seed: u64) -> String {
    Fakes::new(seed).checksummed("ghp_")
}

fn repo() -> Option<Repo> {
    if !git_available() {
        crate::support::skip_missing("the git command (to build test repositories)");
        return None;
    }
    let r = Repo::init();
    r.write("README.md", "# demo\n");
    r.commit_all("initial commit");
    Some(r)
}

#[test]
fn key_committed_then_deleted_is_still_found() {
    let Some(r) = repo() else { return };
    let k = key(1);
    r.write("config/.env", format!("GITHUB_TOKEN={k}\n"));
    let added = r.commit_all("add config");
    r.remove("config/.env");
    r.commit_all("remove the key");

    let (run, report) = scan_git(r.path(), &[]);
    assert_eq!(run.code, 1);
    let f = only(&report, &k);
    assert_eq!(f["path"], "config/.env");
    assert_eq!(f["line"], 1);
    assert_eq!(f["commit"]["id"], added);
    assert_eq!(f["commit"]["author"], "Ada Author");
    assert_eq!(f["commit"]["email"], "ada@example.com");
    assert_eq!(f["commit"]["summary"], "add config");
    assert_eq!(f["commit"]["date"], "2024-01-02T00:00:00+00:00");
    assert_eq!(f["reachable"], true);
    assert_eq!(f["present_at_head"], false);
    assert_eq!(report["source"], "git");

    // The human report says the key outlived its deletion.
    let human = run_in(r.path(), &["scan", "git"]);
    assert_eq!(human.code, 1);
    assert!(
        human.stdout.contains("still in history"),
        "{}",
        human.stdout
    );
    assert!(
        !human.stdout.contains(&k),
        "full key printed: {}",
        human.stdout
    );
}

#[test]
fn key_still_at_head_says_so() {
    let Some(r) = repo() else { return };
    let k = key(2);
    r.write("app.py", format!("TOKEN = \"{k}\"\n"));
    r.commit_all("add app");
    // Edited later: a new blob holding the same key, reported once, at its first commit.
    r.write("app.py", format!("# the app\nTOKEN = \"{k}\"\n"));
    r.commit_all("comment");
    let (_, report) = scan_git(r.path(), &[]);
    let f = only(&report, &k);
    assert_eq!(f["present_at_head"], true);
    assert_eq!(f["commit"]["summary"], "add app");
    assert_eq!(f["line"], 1);
}

#[test]
fn renamed_file_is_attributed_to_the_original_commit_and_path() {
    let Some(r) = repo() else { return };
    let k = key(3);
    r.write("old/name.txt", format!("token: {k}\n"));
    let added = r.commit_all("add secrets file");
    std::fs::create_dir_all(r.path().join("new")).unwrap();
    r.git(&["mv", "old/name.txt", "new/place.txt"]);
    r.commit_all("move it");
    let (_, report) = scan_git(r.path(), &[]);
    let f = only(&report, &k);
    assert_eq!(f["path"], "old/name.txt");
    assert_eq!(f["commit"]["id"], added);
    assert_eq!(f["present_at_head"], true);
}

#[test]
fn unmerged_side_branch_and_tag_only_commits_are_scanned() {
    let Some(r) = repo() else { return };
    let (on_branch, on_tag, in_tag_message) = (key(4), key(5), key(6));
    r.git(&["checkout", "-q", "-b", "experiment"]);
    r.write("side.txt", format!("{on_branch}\n"));
    let side = r.commit_all("side work");
    r.git(&["checkout", "-q", "main"]);
    // A commit only an annotated tag holds, with a key in the tag message too.
    r.git(&["checkout", "-q", "--detach"]);
    r.write("release.txt", format!("{on_tag}\n"));
    let tagged = r.commit_all("release build");
    r.git(&[
        "tag",
        "-a",
        "v1.0",
        "-m",
        &format!("release notes\ntoken {in_tag_message}"),
    ]);
    r.git(&["checkout", "-q", "main"]);

    let (_, report) = scan_git(r.path(), &[]);
    assert_eq!(only(&report, &on_branch)["commit"]["id"], side);
    let t = only(&report, &on_tag);
    assert_eq!(t["commit"]["id"], tagged);
    assert_eq!(t["reachable"], true);
    assert_eq!(t["present_at_head"], false);
    let m = only(&report, &in_tag_message);
    assert_eq!(m["path"], "(tag message: refs/tags/v1.0)");
    assert_eq!(m["line"], 2);

    // --branch limits the scan to one ref.
    let (_, main_only) = scan_git(r.path(), &["--branch", "main"]);
    assert!(findings_of(&main_only, &on_branch).is_empty());
    let (_, side_only) = scan_git(r.path(), &["--branch", "experiment"]);
    assert_eq!(findings_of(&side_only, &on_branch).len(), 1);
}

#[test]
fn conflict_resolution_in_a_merge_is_attributed_to_the_merge() {
    let Some(r) = repo() else { return };
    r.write("settings.ini", "token = none\n");
    r.commit_all("settings");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write("settings.ini", "token = from-feature\n");
    r.commit_all("feature settings");
    r.git(&["checkout", "-q", "main"]);
    r.write("settings.ini", "token = from-main\n");
    r.commit_all("main settings");
    let merge = r.cmd(&["merge", "-q", "feature"]).output().unwrap();
    assert!(!merge.status.success(), "the merge should conflict");
    let k = key(7);
    r.write("settings.ini", format!("token = {k}\n"));
    let merged = r.commit_all("merge feature");
    let (_, report) = scan_git(r.path(), &[]);
    let f = only(&report, &k);
    assert_eq!(f["commit"]["id"], merged);
    assert_eq!(f["commit"]["summary"], "merge feature");
}

#[test]
fn stashed_keys_are_found_in_every_stash() {
    let Some(r) = repo() else { return };
    let (older, newer) = (key(8), key(9));
    r.write("README.md", format!("# demo\n{older}\n"));
    r.git(&["stash", "-q"]);
    r.write("README.md", format!("# demo\n{newer}\n"));
    r.git(&["stash", "-q"]);
    let (_, report) = scan_git(r.path(), &[]);
    for k in [&older, &newer] {
        let f = only(&report, k);
        assert_eq!(f["reachable"], true);
        assert_eq!(f["present_at_head"], false);
    }
}

#[test]
fn dangling_commits_and_dropped_blobs_are_unreachable_findings() {
    let Some(r) = repo() else { return };
    let (in_commit, in_blob) = (key(10), key(11));
    r.write("oops.env", format!("TOKEN={in_commit}\n"));
    let lost = r.commit_all("oops");
    r.git(&["reset", "-q", "--hard", "HEAD~1"]);
    // Added to the index, then dropped: a blob no commit ever held.
    r.write("draft.env", format!("TOKEN={in_blob}\n"));
    r.git(&["add", "draft.env"]);
    r.git(&["rm", "-q", "--cached", "draft.env"]);
    r.remove("draft.env");
    r.git(&["reflog", "expire", "--expire=now", "--all"]);

    let (_, report) = scan_git(r.path(), &[]);
    let c = only(&report, &in_commit);
    assert_eq!(c["reachable"], false);
    assert_eq!(c["commit"]["id"], lost);
    assert_eq!(c["path"], "oops.env");
    let b = only(&report, &in_blob);
    assert_eq!(b["reachable"], false);
    assert!(b.get("commit").is_none());
    assert!(
        b["path"]
            .as_str()
            .unwrap()
            .starts_with("(unreachable blob "),
        "{b}"
    );

    // Also once packed (gc keeps unreachable objects younger than two weeks, loose or packed).
    r.git(&["gc", "-q"]);
    let (_, packed) = scan_git(r.path(), &[]);
    assert_eq!(only(&packed, &in_commit)["reachable"], false);
    assert_eq!(only(&packed, &in_blob)["reachable"], false);

    let (_, reachable_only) = scan_git(r.path(), &["--reachable-only"]);
    assert!(findings_of(&reachable_only, &in_commit).is_empty());
    assert!(findings_of(&reachable_only, &in_blob).is_empty());
}

#[test]
fn keys_in_commit_messages_are_found() {
    let Some(r) = repo() else { return };
    let k = key(12);
    r.write("log.txt", "see message\n");
    let c = r.commit_all(&format!("debug the deploy\n\nfailing request used {k}"));
    let (_, report) = scan_git(r.path(), &[]);
    let f = only(&report, &k);
    assert_eq!(f["path"], "(commit message)");
    assert_eq!(f["line"], 3);
    assert_eq!(f["commit"]["id"], c);
    assert_eq!(f["present_at_head"], false);
}

#[test]
fn packed_and_loose_objects_are_both_scanned() {
    let Some(r) = repo() else { return };
    let (packed, loose) = (key(13), key(14));
    r.write("a.txt", format!("{packed}\n"));
    r.commit_all("packed later");
    r.git(&["gc", "-q"]);
    r.write("b.txt", format!("{loose}\n"));
    r.commit_all("stays loose");
    let objects = r.git_dir().join("objects");
    assert!(
        std::fs::read_dir(objects.join("pack")).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".pack"))
    );
    let (_, report) = scan_git(r.path(), &[]);
    assert_eq!(only(&report, &packed)["path"], "a.txt");
    assert_eq!(only(&report, &loose)["path"], "b.txt");
}

#[test]
fn one_blob_in_many_commits_is_scanned_once() {
    let Some(r) = repo() else { return };
    let k = key(15);
    r.write("keys.txt", format!("{k}\n"));
    for i in 0..20 {
        r.write("counter.txt", format!("{i}\n"));
        r.commit_all(&format!("commit {i}"));
    }
    let (_, report) = scan_git(r.path(), &[]);
    let f = only(&report, &k);
    assert_eq!(f["commit"]["summary"], "commit 0");
    // Distinct blobs: README, keys.txt and 20 counters; commits: 21.
    let blobs = r.git(&["rev-list", "--objects", "--all"]).lines().count() as u64
        - r.git(&["rev-list", "--all"]).lines().count() as u64
        - 21; // one root tree per commit
    assert_eq!(report["summary"]["blobs"], blobs);
    assert_eq!(report["summary"]["blobs"], 22);
    assert_eq!(report["summary"]["commits"], 21);
}

#[test]
fn range_covers_only_new_commits_and_the_blobs_they_add() {
    let Some(r) = repo() else { return };
    let (old, new) = (key(16), key(17));
    r.write("old.txt", format!("{old}\n"));
    let base = r.commit_all("old key");
    r.git(&["checkout", "-q", "-b", "pr"]);
    r.write("new.txt", format!("{new}\n"));
    r.write("old.txt", format!("{old}\nmore\n"));
    r.commit_all("pull request");
    let (_, report) = scan_git(r.path(), &["--range", &format!("{base}..pr")]);
    // old.txt is a new blob in the pull request, but the key in it is not new: not reported.
    assert!(findings_of(&report, &old).is_empty(), "{report:#}");
    assert_eq!(only(&report, &new)["commit"]["summary"], "pull request");
    assert_eq!(report["summary"]["commits"], 1);

    let (_, main_range) = scan_git(r.path(), &["--range", "main..main"]);
    assert_eq!(main_range["findings"].as_array().unwrap().len(), 0);
}

#[test]
fn since_skips_older_commits() {
    let Some(r) = repo() else { return };
    let (old, new) = (key(18), key(19));
    r.write("old.txt", format!("{old}\n"));
    r.commit_all("old"); // 2024-01-02
    r.write("new.txt", format!("{new}\n"));
    r.commit_all("new"); // 2024-01-03
    let (_, report) = scan_git(r.path(), &["--since", "2024-01-03"]);
    assert!(findings_of(&report, &old).is_empty());
    assert_eq!(findings_of(&report, &new).len(), 1);
    let bad = run_in(r.path(), &["scan", "git", "--since", "last tuesdayish"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("--since"), "{}", bad.stderr);
}

#[test]
fn bare_and_shallow_clones_work() {
    let Some(r) = repo() else { return };
    let (old, head) = (key(20), key(21));
    r.write("a.txt", format!("{old}\n"));
    r.commit_all("a");
    r.remove("a.txt");
    r.write("b.txt", format!("{head}\n"));
    r.commit_all("b");
    let parent = tempfile::tempdir().unwrap();
    let url = format!("file://{}", r.path().display());
    let bare = parent.path().join("bare.git");
    let shallow = parent.path().join("shallow");
    for (args, _) in [
        (
            vec!["clone", "-q", "--bare", &url, bare.to_str().unwrap()],
            (),
        ),
        (
            vec![
                "clone",
                "-q",
                "--depth",
                "1",
                &url,
                shallow.to_str().unwrap(),
            ],
            (),
        ),
    ] {
        let out = r.cmd(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (_, b) = scan_git(&bare, &[]);
    assert_eq!(findings_of(&b, &old).len(), 1);
    assert_eq!(findings_of(&b, &head).len(), 1);
    let (run, s) = scan_git(&shallow, &[]);
    assert_eq!(findings_of(&s, &head).len(), 1);
    assert!(findings_of(&s, &old).is_empty());
    assert!(!run.stderr.contains("missing"), "{}", run.stderr);
}

#[test]
fn a_corrupt_object_is_warned_about_counted_and_skipped() {
    let Some(r) = repo() else { return };
    let (fine, broken) = (key(22), key(23));
    r.write("fine.txt", format!("{fine}\n"));
    r.write("broken.txt", format!("{broken}\n"));
    r.commit_all("two files");
    let blob = r.git(&["rev-parse", "HEAD:broken.txt"]);
    let path = r
        .git_dir()
        .join("objects")
        .join(&blob[..2])
        .join(&blob[2..]);
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).unwrap();
    std::fs::write(&path, b"this is not a zlib stream").unwrap();

    let (run, report) = scan_git(r.path(), &[]);
    assert_eq!(run.code, 1);
    assert_eq!(findings_of(&report, &fine).len(), 1);
    assert!(findings_of(&report, &broken).is_empty());
    assert!(
        run.stderr.contains(&blob),
        "warning names the object: {}",
        run.stderr
    );
    assert!(report["summary"]["skipped"]["unreadable"].as_u64().unwrap() >= 1);
}

#[test]
fn bad_input_is_a_clear_error() {
    let Some(r) = repo() else { return };
    let not_repo = tempfile::tempdir().unwrap();
    let run = run_in(not_repo.path(), &["scan", "git"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("not a git repository"),
        "{}",
        run.stderr
    );

    for range in ["nope..HEAD", "HEAD", "main...HEAD"] {
        let run = run_in(r.path(), &["scan", "git", "--range", range]);
        assert_eq!(run.code, 2, "{range}: {}", run.stderr);
        assert!(run.stderr.contains("--range"), "{}", run.stderr);
    }
    let run = run_in(r.path(), &["scan", "git", "--branch", "no-such-branch"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no-such-branch"), "{}", run.stderr);
}

#[test]
fn large_and_binary_blobs_are_skipped_and_counted() {
    let Some(r) = repo() else { return };
    let (big, bin) = (key(24), key(25));
    r.write("big.txt", format!("{big}\n{}", "x".repeat(200_000)));
    let mut binary = b"\x00\x01binary".to_vec();
    binary.extend_from_slice(bin.as_bytes());
    r.write("blob.bin", binary);
    r.commit_all("big and binary");
    let (_, report) = scan_git(r.path(), &["--max-file-size", "100KiB"]);
    assert!(findings_of(&report, &big).is_empty());
    assert!(findings_of(&report, &bin).is_empty());
    assert_eq!(report["summary"]["skipped"]["too_large"], 1);
    assert_eq!(report["summary"]["skipped"]["binary"], 1);
}

#[test]
fn keys_in_notes_and_worktrees_are_found() {
    let Some(r) = repo() else { return };
    let (in_note, in_worktree) = (key(26), key(27));
    r.git(&["notes", "add", "-m", &format!("ops: {in_note}"), "HEAD"]);
    let wt = tempfile::tempdir().unwrap();
    let wt_path = wt.path().join("wt");
    r.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "wt-branch",
        wt_path.to_str().unwrap(),
    ]);
    crate::support::write(&wt_path, "w.txt", format!("{in_worktree}\n"));
    let out = r
        .cmd(&["-C", wt_path.to_str().unwrap(), "add", "-A"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = r
        .cmd(&[
            "-C",
            wt_path.to_str().unwrap(),
            "commit",
            "-q",
            "-m",
            "in worktree",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Scanned from the linked worktree: the whole repository's history.
    let (_, report) = scan_git(&wt_path, &[]);
    assert_eq!(findings_of(&report, &in_note).len(), 1);
    assert_eq!(
        only(&report, &in_worktree)["commit"]["summary"],
        "in worktree"
    );
}

#[test]
fn submodules_are_scanned_only_when_asked() {
    let Some(outer) = repo() else { return };
    let Some(inner) = repo() else { return };
    let k = key(28);
    inner.write("lib.txt", format!("{k}\n"));
    inner.commit_all("inner key");
    let url = inner.path().to_str().unwrap().to_string();
    outer.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        &url,
        "vendor/inner",
    ]);
    outer.commit_all("add submodule");
    let (_, without) = scan_git(outer.path(), &[]);
    assert!(findings_of(&without, &k).is_empty());
    let (_, with) = scan_git(outer.path(), &["--submodules"]);
    assert_eq!(only(&with, &k)["path"], "vendor/inner/lib.txt");
    // A range names the outer repository's commits: the submodule is still scanned whole.
    let (run, ranged) = scan_git(outer.path(), &["--submodules", "--range", "HEAD~1..HEAD"]);
    assert_eq!(only(&ranged, &k)["path"], "vendor/inner/lib.txt");
    assert!(run.stderr.contains("scanned whole"), "{}", run.stderr);
    // Excludes apply to the submodule's paths as shown.
    outer.write("keyguard.toml", "[scan]\nexclude = [\"vendor/inner/\"]\n");
    let (_, excluded) = scan_git(outer.path(), &["--submodules"]);
    assert!(findings_of(&excluded, &k).is_empty());
}

#[test]
fn config_excludes_apply_to_history_paths() {
    let Some(r) = repo() else { return };
    let (vendored, own) = (key(29), key(30));
    r.write("vendor/lib/test.txt", format!("{vendored}\n"));
    r.write("src/app.txt", format!("{own}\n"));
    r.write("keyguard.toml", "[scan]\nexclude = [\"vendor/\"]\n");
    r.commit_all("code");
    let (_, report) = scan_git(r.path(), &[]);
    // Excluded paths are not read, and their blobs are not mistaken for dangling ones.
    assert!(findings_of(&report, &vendored).is_empty(), "{report:#}");
    assert_eq!(findings_of(&report, &own).len(), 1);
}

#[test]
fn git_reports_match_the_json_schema_and_sarif() {
    let Some(r) = repo() else { return };
    let k = key(31);
    r.write("gone.env", format!("TOKEN={k}\n"));
    r.commit_all(&format!("add env\n\nalso {}", key(32)));
    r.remove("gone.env");
    r.commit_all("remove env");
    let (_, report) = scan_git(r.path(), &[]);
    assert_eq!(report["findings"].as_array().unwrap().len(), 2);
    let errors = crate::support::json_schema_errors(&report);
    assert!(errors.is_empty(), "{errors:#?}");

    let out = tempfile::tempdir().unwrap();
    let sarif_path = out.path().join("history.sarif");
    let run = run_in(
        r.path(),
        &[
            "scan",
            "git",
            "--format",
            "sarif",
            "-o",
            sarif_path.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif_path).unwrap()).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(
        results
            .iter()
            .all(|x| x["properties"]["commit"].is_string()),
        "{sarif:#}"
    );
    assert!(!std::fs::read_to_string(&sarif_path).unwrap().contains(&k));
    crate::support::validate_sarif_file(&sarif_path);
}

#[test]
fn a_key_in_a_commit_subject_never_reaches_the_report_in_full() {
    let Some(r) = repo() else { return };
    let k = key(33);
    r.write("a.txt", format!("{k}\n"));
    r.commit_all(&format!("oops: token {k}"));
    for format in ["json", "human", "sarif"] {
        let run = run_in(r.path(), &["scan", "git", "--format", format]);
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(!run.stdout.contains(&k), "{format}: full key in the report");
        assert!(!run.stderr.contains(&k), "{format}: full key on stderr");
    }
    let (_, report) = scan_git(r.path(), &[]);
    let f = &findings_of(&report, &k)[0];
    assert!(
        f["commit"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("oops: token ghp_")
    );
}

#[test]
fn control_characters_in_history_paths_are_escaped() {
    let Some(r) = repo() else { return };
    let k = key(34);
    r.write("evil\x1b[31mred.txt", format!("{k}\n"));
    r.commit_all("evil name");
    let run = run_in(r.path(), &["scan", "git"]);
    assert_eq!(run.code, 1);
    assert!(
        !run.stdout.contains('\x1b'),
        "raw escape reached the terminal"
    );
    assert!(
        run.stdout.contains("evil\\u{1b}[31mred.txt"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_tree_moved_out_of_an_excluded_directory_is_scanned() {
    let Some(r) = repo() else { return };
    let k = key(35);
    r.write("keyguard.toml", "[scan]\nexclude = [\"vendor/\"]\n");
    r.write("vendor/lib/k.txt", format!("{k}\n"));
    r.commit_all("vendored");
    std::fs::create_dir_all(r.path().join("src")).unwrap();
    r.git(&["mv", "vendor/lib", "src/lib"]);
    let moved = r.commit_all("unvendor");
    let (_, report) = scan_git(r.path(), &[]);
    let f = only(&report, &k);
    assert_eq!(f["path"], "src/lib/k.txt");
    assert_eq!(f["commit"]["id"], moved);
}

#[test]
fn commits_checked_out_in_a_linked_worktree_are_reachable() {
    let Some(r) = repo() else { return };
    let k = key(36);
    let parent = tempfile::tempdir().unwrap();
    let wt = parent.path().join("wt");
    r.git(&["worktree", "add", "-q", "--detach", wt.to_str().unwrap()]);
    crate::support::write(&wt, "w.txt", format!("{k}\n"));
    let wt_s = wt.to_str().unwrap();
    r.git(&["-C", wt_s, "add", "-A"]);
    r.git(&["-C", wt_s, "commit", "-q", "-m", "detached work"]);
    let (_, report) = scan_git(r.path(), &[]);
    assert_eq!(only(&report, &k)["reachable"], true);
    let (_, reachable) = scan_git(r.path(), &["--reachable-only"]);
    assert_eq!(findings_of(&reachable, &k).len(), 1);
}

#[test]
fn objects_borrowed_from_another_repository_are_not_reported_as_ours() {
    let Some(r) = repo() else { return };
    let k = key(37);
    r.git(&["checkout", "-q", "-b", "other"]);
    r.write("other.txt", format!("{k}\n"));
    r.commit_all("other branch");
    r.git(&["checkout", "-q", "main"]);
    let parent = tempfile::tempdir().unwrap();
    let shared = parent.path().join("shared");
    let out = r
        .cmd(&[
            "clone",
            "-q",
            "--shared",
            "--single-branch",
            "-b",
            "main",
            r.path().to_str().unwrap(),
            shared.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (run, report) = scan_git(&shared, &[]);
    assert!(findings_of(&report, &k).is_empty(), "{report:#}");
    assert!(run.stderr.contains("alternates"), "{}", run.stderr);
}

#[test]
fn range_conflicts_with_since_and_branch() {
    let Some(r) = repo() else { return };
    for extra in [["--since", "2024-01-01"], ["--branch", "main"]] {
        let mut args = vec!["scan", "git", "--range", "HEAD..HEAD"];
        args.extend(extra);
        let run = run_in(r.path(), &args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
    }
}
