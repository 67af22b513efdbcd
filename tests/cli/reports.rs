//! Report formats: the JSON report validates against docs/report.schema.json (DESIGN.md's
//! contract), SARIF against the official SARIF 2.1.0 schema, and this repository scans clean.

use std::path::Path;

use crate::support::{self, Fakes, run_in, write};

fn tree_with_findings() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fakes::new(40);
    write(
        dir.path(),
        ".env",
        format!(
            "GH={}\nNPM_TOKEN={}\n",
            f.checksummed("ghp_"),
            f.checksummed("npm_")
        ),
    );
    write(
        dir.path(),
        "src/dir with space/ünï.js",
        format!("t='{}'\n", f.checksummed("ghp_")),
    );
    dir
}

#[test]
fn json_report_matches_the_schema() {
    let dir = tree_with_findings();
    for extra in [&[][..], &["--show-secrets"][..]] {
        let (_, report) = support::scan_json(dir.path(), extra);
        assert!(!report["findings"].as_array().unwrap().is_empty());
        let errors = support::json_schema_errors(&report);
        assert!(errors.is_empty(), "{errors:#?}");
    }
    let clean = tempfile::tempdir().unwrap();
    let (_, report) = support::scan_json(clean.path(), &[]);
    assert!(support::json_schema_errors(&report).is_empty());
}

#[test]
fn sarif_report_is_valid_sarif_2_1_0() {
    let dir = tree_with_findings();
    let out = dir.path().join("report.sarif");
    let run = run_in(
        dir.path(),
        &["scan", "--format", "sarif", "-o", out.to_str().unwrap()],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    // What GitHub code scanning relies on, checked here whatever validator is installed.
    let run0 = &sarif["runs"][0];
    let rules: Vec<&str> = run0["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let results = run0["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    for r in results {
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx], r["ruleId"].as_str().unwrap());
        assert!(
            r["partialFingerprints"]
                .as_object()
                .is_some_and(|p| !p.is_empty())
        );
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(!uri.contains(' '), "URIs are percent-encoded: {uri}");
    }
    support::validate_sarif_file(&out);
}

#[test]
fn this_repository_scans_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = run_in(root, &["scan", ".", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        run.code, 0,
        "findings in the repository: {:#}",
        report["findings"]
    );
}
