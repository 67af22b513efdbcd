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
