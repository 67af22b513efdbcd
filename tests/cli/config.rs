//! keyguard.toml, suppression (inline, [allow], baseline), output files and bad input.

use crate::support::{Fakes, run_in, scan_json, write};

fn findings(r: &serde_json::Value) -> Vec<serde_json::Value> {
    r["findings"].as_array().unwrap().clone()
}

#[test]
fn malformed_config_names_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "keyguard.toml",
        "# config\n[scan]\nexlude = [\"x\"]\n",
    );
    let run = run_in(dir.path(), &["scan"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("keyguard.toml"), "{}", run.stderr);
    assert!(run.stderr.contains("line 3"), "{}", run.stderr);
    assert!(
        run.stderr.contains("did you mean `exclude`"),
        "{}",
        run.stderr
    );

    write(dir.path(), "keyguard.toml", "[scan\n");
    let run = run_in(dir.path(), &["scan"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("line 1"), "{}", run.stderr);

    write(
        dir.path(),
        "keyguard.toml",
        "[scan]\nmax_file_size = \"5 parsecs\"\n",
    );
    let run = run_in(dir.path(), &["scan"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("unknown size unit"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"));
}

#[test]
fn malformed_rule_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "keyguard.toml",
        "[[rules]]\nid = \"acme-token\"\nprovider = \"acme\"\ntitle = \"Acme\"\nseverity = \"high\"\nkeywords = [\"acme_\"]\npattern = '(acme_[a-z'\nexamples = []\n",
    );
    let run = run_in(dir.path(), &["scan"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("acme-token"), "{}", run.stderr);
    assert!(run.stderr.contains("pattern"), "{}", run.stderr);
}

#[test]
fn extra_and_disabled_rules() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fakes::new(30);
    let acme = format!("acme_{}", f.alnum(24));
    let gh = f.checksummed("ghp_");
    write(
        dir.path(),
        "keyguard.toml",
        "[scan]\ndisabled_rules = [\"github-classic-pat\"]\n\n[[rules]]\nid = \"acme-token\"\nprovider = \"acme\"\ntitle = \"Acme token\"\nseverity = \"high\"\nkeywords = [\"acme_\"]\npattern = '\\b(acme_[A-Za-z0-9]{24})\\b'\n",
    );
    write(dir.path(), "app.env", format!("ACME={acme}\nGH={gh}\n"));
    let (_, r) = scan_json(dir.path(), &[]);
    let ids: Vec<_> = findings(&r).iter().map(|f| f["rule_id"].clone()).collect();
    assert_eq!(ids, vec!["acme-token"]);
}

#[test]
fn excludes_allows_and_inline_comments() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut f = Fakes::new(31);
    let k: Vec<String> = (0..5).map(|_| f.checksummed("ghp_")).collect();
    write(
        d,
        "keyguard.toml",
        format!(
            "[scan]\nexclude = [\"generated/\"]\n\n[allow]\npaths = [\"fixtures/\"]\nsecret_hashes = [\"{}\"]\n",
            keyguard::finding::secret_hash(k[3].as_bytes())
        ),
    );
    write(d, "generated/a.js", format!("t='{}'\n", k[0]));
    write(d, "fixtures/b.env", format!("T={}\n", k[1]));
    write(d, "src/c.py", format!("t = '{}'  # keyguard:allow\n", k[2]));
    write(d, "src/d.py", format!("t = '{}'\n", k[3]));
    write(d, "src/e.py", format!("t = '{}'\n", k[4]));
    let (run, r) = scan_json(d, &[]);
    let paths: Vec<_> = findings(&r).iter().map(|f| f["path"].clone()).collect();
    assert_eq!(paths, vec!["src/e.py"]);
    // Generated files are not read at all; the rest are read and suppressed.
    assert_eq!(r["summary"]["files"], 5, "{}", run.stderr);
    assert!(run.stderr.contains("3 suppressed"), "{}", run.stderr);
}

#[test]
fn baseline_is_keyed_on_the_secret_not_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut f = Fakes::new(32);
    let old = f.checksummed("ghp_");
    let new = f.checksummed("ghp_");
    write(d, "app.env", format!("OLD={old}\n"));
    let run = run_in(d, &["scan", "--format", "json", "-o", "baseline.json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "the report went to the file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("baseline.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Lines moved and a new key added: only the new key is reported.
    write(d, "app.env", format!("# moved\n\n\nNEW={new}\nOLD={old}\n"));
    let (run, r) = scan_json(d, &["--baseline", "baseline.json"]);
    assert_eq!(run.code, 1);
    let fs = findings(&r);
    assert_eq!(fs.len(), 1);
    assert_eq!(
        fs[0]["secret_hash"],
        keyguard::finding::secret_hash(new.as_bytes())
    );
    // The same key in another file is the same accepted key.
    write(d, "app.env", format!("OLD={old}\n"));
    write(d, "other.env", format!("COPY={old}\n"));
    let (run, _) = scan_json(d, &["--baseline", "baseline.json"]);
    assert_eq!(run.code, 0);
}

#[test]
fn bad_baseline_and_bad_arguments_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "notjson.json", "{ nope");
    let run = run_in(d, &["scan", "--baseline", "notjson.json"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("notjson.json"), "{}", run.stderr);
    write(d, "other.json", "{\"version\": 1}");
    let run = run_in(d, &["scan", "--baseline", "other.json"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("findings"), "{}", run.stderr);
    let run = run_in(d, &["scan", "--baseline", "missing.json"]);
    assert_eq!(run.code, 2);
    assert_eq!(run_in(d, &["scan", "--format", "xml"]).code, 2);
    assert_eq!(run_in(d, &["scan", "--max-file-size", "lots"]).code, 2);
    assert_eq!(run_in(d, &["scan", "-j", "0"]).code, 2);
    let run = run_in(d, &["scan", "--config", "nope.toml"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("nope.toml"), "{}", run.stderr);
}

#[cfg(unix)]
#[test]
fn unreadable_root_is_an_error_and_output_dir_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = run_in(d, &["scan", "-o", "no/such/dir/report.json"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no/such/dir/report.json"),
        "{}",
        run.stderr
    );
    assert!(!d.join("no").exists());
}

#[test]
fn config_errors_never_echo_a_key_or_raw_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let key = Fakes::new(50).checksummed("ghp_");
    for body in [
        format!("[allow]\nsecret_hashes = \"{key}\"\n"),
        format!("[scan]\nmax_file_size = \"{key}\"\n"),
        format!("[allow]\npatterns = ['^{key}(']\n"),
        format!(
            "[[rules]]\nid = \"x\"\nprovider = \"x\"\ntitle = \"x\"\nseverity = \"low\"\nkeywords = [\"xx\"]\npattern = '(xx)'\nexamples = \"{key}\"\n"
        ),
    ] {
        write(dir.path(), "keyguard.toml", &body);
        let run = run_in(dir.path(), &["scan"]);
        assert_eq!(run.code, 2, "{body}");
        assert!(
            !run.stderr.contains(&key),
            "error message leaks the key: {}",
            run.stderr
        );
    }
    // A scanned repository's config cannot drive the terminal.
    write(
        dir.path(),
        "keyguard.toml",
        "[scan]\ndisabled_rules = [\"x\\u001b]0;pwned\\u0007\"]\n[[rules]]\nid = \"acme-token\"\nprovider = \"acme\"\ntitle = \"T\\u001b[31mRED\"\nseverity = \"high\"\nkeywords = [\"acme_\"]\npattern = '\\b(acme_[A-Za-z0-9]{24})\\b'\n",
    );
    write(
        dir.path(),
        "a.env",
        format!("A=acme_{}\n", Fakes::new(51).alnum(24)),
    );
    let run = run_in(dir.path(), &["scan", "--color", "never"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!run.stdout.contains('\x1b') && !run.stderr.contains('\x1b'));
    assert!(run.stdout.contains("T\\u{1b}[31mRED"), "{}", run.stdout);
}

#[cfg(unix)]
#[test]
fn output_never_replaces_special_files_and_follows_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "a.env",
        format!("T={}\n", Fakes::new(52).checksummed("ghp_")),
    );
    let fifo = d.join("pipe");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let run = run_in(d, &["scan", "-o", fifo.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("not a regular file"), "{}", run.stderr);
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo_like()
    );
    std::fs::create_dir(d.join("reports")).unwrap();
    std::os::unix::fs::symlink(d.join("reports/real.json"), d.join("link.json")).unwrap();
    write(d, "reports/real.json", "old");
    let run = run_in(d, &["scan", "--format", "json", "-o", "link.json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        std::fs::symlink_metadata(d.join("link.json"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(d.join("reports/real.json"))
            .unwrap()
            .contains("\"findings\"")
    );
}

#[cfg(unix)]
trait FifoLike {
    fn is_fifo_like(&self) -> bool;
}
#[cfg(unix)]
impl FifoLike for std::fs::FileType {
    fn is_fifo_like(&self) -> bool {
        std::os::unix::fs::FileTypeExt::is_fifo(self)
    }
}

#[test]
fn inline_allow_applies_to_its_own_line_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fakes::new(53);
    let (a, b) = (f.checksummed("ghp_"), f.checksummed("ghp_"));
    let filler = "x=1;".repeat(50_000);
    write(
        dir.path(),
        "bundle.js",
        format!("var a=\"{a}\";{filler}/* keyguard:allow */\nvar b=\"{b}\";\n"),
    );
    let (_, r) = scan_json(dir.path(), &[]);
    let fs = findings(&r);
    assert_eq!(fs.len(), 1);
    assert_eq!(fs[0]["line"], 2);
}

#[test]
fn allow_paths_are_relative_to_the_config_that_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let key = Fakes::new(77).checksummed("ghp_");
    write(
        dir.path(),
        "keyguard.toml",
        "[allow]\npaths = [\"/app/generated/\"]\n",
    );
    write(
        dir.path(),
        "app/generated/client.js",
        format!("t='{key}'\n"),
    );
    write(dir.path(), "app/src/main.js", format!("t='{key}'\n"));
    // Scanning a subdirectory from beside the config: the anchored pattern still applies.
    let (run, report) = scan_json(dir.path(), &["app"]);
    assert_eq!(run.code, 1);
    let paths: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["app/src/main.js"]);
}

#[test]
fn allow_paths_do_not_reach_outside_their_directory() {
    let dir = tempfile::tempdir().unwrap();
    let key = Fakes::new(78).checksummed("ghp_");
    write(
        dir.path(),
        "repo/keyguard.toml",
        "[allow]\npaths = [\"/vendor/\"]\n",
    );
    write(dir.path(), "other/vendor/a.js", format!("t='{key}'\n"));
    // From the repository, a sibling tree's vendor/ is not the repository's vendor/.
    let (run, report) = scan_json(&dir.path().join("repo"), &["../other"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(report["findings"].as_array().unwrap().len(), 1);
}
