//! `keyguard scan` over real files: every catalogue rule's fake keys planted in every common kind
//! of source file, placeholders that must stay quiet, redaction, exit codes, and the walk's rules
//! (ignore files, hidden files, binary and large files, symlinks, stdin).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use keyguard::engine::Scanner;
use keyguard::finding::secret_hash;
use keyguard::rules::{Kind, RuleSet};
use serde_json::Value;

use crate::support::{Fakes, run_in, scan_json, write};

/// One fake key per secret rule (exposure rules report code, not keys), taken from the rule's own
/// examples through the engine.
struct Planted {
    rule: String,
    provider: String,
    /// The secret the rule reports.
    secret: String,
    /// The whole regex match (secret plus the context the rule needs).
    whole: String,
    /// The example line it came from.
    example: String,
}

fn planted() -> Vec<Planted> {
    let scanner = Scanner::new(Arc::new(RuleSet::builtin())).unwrap();
    let mut out = Vec::new();
    for (i, rule) in scanner.rules().rules().iter().enumerate() {
        if rule.spec.kind != Kind::Secret {
            continue;
        }
        let ex = &rule.spec.examples[0];
        let m = scanner
            .scan(ex.as_bytes())
            .into_iter()
            .find(|m| m.rule == i)
            .unwrap_or_else(|| panic!("{} misses its first example", rule.id()));
        out.push(Planted {
            rule: rule.id().to_string(),
            provider: rule.spec.provider.clone(),
            secret: ex[m.start..m.end].to_string(),
            whole: ex[m.match_start..m.match_end].to_string(),
            example: ex.clone(),
        });
    }
    out
}

/// The file kinds users keep keys in, each with a way to assign a value to a variable.
const KINDS: &[(&str, &str)] = &[
    (".env", "{NAME}={V}\n"),
    ("settings.py", "{name} = \"{V}\"\n"),
    ("client.js", "const {name} = \"{V}\";\n"),
    ("api.ts", "export const {name}: string = '{V}';\n"),
    ("config.json", "  \"{name}\": \"{V}\",\n"),
    ("values.yaml", "{name}: {V}\n"),
    ("Cargo-like.toml", "{name} = \"{V}\"\n"),
    ("Dockerfile", "ENV {NAME}={V}\n"),
    ("main.tf", "  {name} = \"{V}\"\n"),
    ("README.md", "    export {NAME}={V}\n"),
    ("app.properties", "{name}={V}\n"),
];

fn fill(template: &str, name: &str, value: &str) -> String {
    template
        .replace("{NAME}", &name.to_ascii_uppercase())
        .replace("{name}", &name.to_ascii_lowercase())
        .replace("{V}", value)
}

/// Builds the planted tree; returns (file, secret hash, rule) triples that must be found.
fn build_tree(dir: &std::path::Path, keys: &[Planted]) -> Vec<(String, String, String)> {
    let mut expect = Vec::new();
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    let mut minified = String::from("(()=>{\"use strict\";");
    let mut notebook_lines: Vec<String> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let self_identifying = k.whole == k.secret && !k.secret.contains('\n');
        if self_identifying {
            let name = format!("{}_api_key_{i}", k.provider.replace('-', "_"));
            for (file, template) in KINDS {
                let line = fill(template, &name, &k.secret);
                files.entry(file.to_string()).or_default().push_str(&line);
                expect.push((
                    file.to_string(),
                    secret_hash(k.secret.as_bytes()),
                    k.rule.clone(),
                ));
            }
            // Bundlers keep property names, so the provider's name stays beside the key.
            let p = k.provider.replace('-', "_");
            minified.push_str(&format!(
                "const c{i}={{{p}_api_key:\"{}\",retries:3}};",
                k.secret
            ));
            notebook_lines.push(format!(
                "{p}_client_{i} = Client(api_key='{}')\\n",
                k.secret
            ));
            for f in ["bundle.min.js", "analysis.ipynb"] {
                expect.push((
                    f.to_string(),
                    secret_hash(k.secret.as_bytes()),
                    k.rule.clone(),
                ));
            }
        } else {
            // Keys found through their context are planted with the context the rule documents,
            // in the kinds where such a line is native: env files, properties and docs.
            for file in [".env", "app.properties", "README.md"] {
                let body = files.entry(file.to_string()).or_default();
                if file == "README.md" {
                    body.push_str(&format!("\n```\n{}\n```\n", k.example));
                } else {
                    body.push_str(&format!("{}\n", k.example));
                }
                expect.push((
                    file.to_string(),
                    secret_hash(k.secret.as_bytes()),
                    k.rule.clone(),
                ));
            }
        }
    }
    minified.push_str("})();\n");
    files.insert("bundle.min.js".into(), minified);
    let cells: Vec<String> = notebook_lines.iter().map(|l| format!("\"{l}\"")).collect();
    files.insert(
        "analysis.ipynb".into(),
        format!(
            "{{\"cells\": [{{\"cell_type\": \"code\", \"metadata\": {{}}, \"source\": [{}]}}], \"nbformat\": 4, \"nbformat_minor\": 5}}\n",
            cells.join(", ")
        ),
    );
    for (name, body) in files {
        write(dir, &name, body);
    }
    expect
}

#[test]
fn finds_every_rule_in_every_file_kind() {
    let dir = tempfile::tempdir().unwrap();
    let keys = planted();
    let expect = build_tree(dir.path(), &keys);
    let (run, report) = scan_json(dir.path(), &["--all-rules"]);
    assert_eq!(run.code, 1);
    let found: HashSet<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["secret_hash"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let missed: Vec<String> = expect
        .iter()
        .filter(|(file, hash, _)| !found.contains(&(file.clone(), hash.clone())))
        .map(|(file, _, rule)| format!("{rule} in {file}"))
        .collect();
    assert!(
        missed.is_empty(),
        "{} of {} planted keys missed:\n{}",
        missed.len(),
        expect.len(),
        missed.join("\n")
    );
    // And nothing printed reveals a key.
    for k in &keys {
        assert!(
            !run.stdout.contains(&k.secret),
            "{} printed in full",
            k.rule
        );
        assert!(
            !run.stderr.contains(&k.secret),
            "{} printed in full",
            k.rule
        );
    }
}

#[test]
fn full_keys_only_with_show_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let mut fakes = Fakes::new(11);
    let key = fakes.checksummed("ghp_");
    write(dir.path(), "deploy.sh", format!("export GH_TOKEN={key}\n"));
    for format in ["human", "json", "sarif"] {
        let run = run_in(dir.path(), &["scan", "--format", format]);
        assert_eq!(run.code, 1, "{format}: {}", run.stderr);
        assert!(
            !run.stdout.contains(&key) && !run.stderr.contains(&key),
            "{format} leaks"
        );
        assert!(
            run.stdout
                .contains(&format!("ghp_…{}", &key[key.len() - 4..])),
            "{format}"
        );
        let shown = run_in(dir.path(), &["scan", "--format", format, "--show-secrets"]);
        assert!(
            shown.stdout.contains(&key),
            "{format} --show-secrets hides the key"
        );
    }
}

#[test]
fn checksums_set_confidence() {
    let dir = tempfile::tempdir().unwrap();
    let mut fakes = Fakes::new(5);
    let good = fakes.checksummed("ghp_");
    let mut bad = fakes.checksummed("ghp_");
    let last = bad.pop().unwrap();
    bad.push(if last == 'A' { 'B' } else { 'A' });
    let npm = fakes.checksummed("npm_");
    write(
        dir.path(),
        "a.env",
        format!("A={good}\nB={bad}\nNPM_TOKEN={npm}\n"),
    );
    let (_, report) = scan_json(dir.path(), &[]);
    let conf: BTreeMap<String, String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["secret_hash"].as_str().unwrap().to_string(),
                f["confidence"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        conf.get(&secret_hash(good.as_bytes())).map(String::as_str),
        Some("high")
    );
    assert_eq!(
        conf.get(&secret_hash(bad.as_bytes())).map(String::as_str),
        Some("low")
    );
    assert_eq!(
        conf.get(&secret_hash(npm.as_bytes())).map(String::as_str),
        Some("high")
    );
}

#[test]
fn placeholders_are_not_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = String::from(
        "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n\
         AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n\
         OPENAI_API_KEY=your-api-key-here\n\
         OPENAI_API_KEY=${OPENAI_API_KEY}\n\
         const key = process.env.OPENAI_API_KEY;\n\
         ANTHROPIC_API_KEY=<your-anthropic-key>\n",
    );
    // Every self-identifying rule's key with its random body replaced by filler.
    for k in planted() {
        if k.whole != k.secret || k.secret.contains('\n') {
            continue;
        }
        // Keep the format's prefix and a few characters; the random rest becomes filler.
        let cut = (k.secret.len() * 2 / 5).min(12);
        let (head, tail) = k.secret.split_at(cut.max(1));
        let xs: String = tail
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { 'x' } else { c })
            .collect();
        let zeros: String = tail
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { '0' } else { c })
            .collect();
        body.push_str(&format!("{}_KEY={head}{xs}\n", k.provider));
        body.push_str(&format!("{}_TOKEN=\"{head}{zeros}\"\n", k.provider));
    }
    write(dir.path(), "config/.env.example", &body);
    let (run, report) = scan_json(dir.path(), &["--all-rules"]);
    let noisy: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let line = body
                .lines()
                .nth(f["line"].as_u64().unwrap() as usize - 1)
                .unwrap();
            format!("{} at line {}: {line}", f["rule_id"], f["line"])
        })
        .collect();
    assert!(noisy.is_empty(), "placeholders reported: {noisy:#?}");
    assert_eq!(run.code, 0);
}

#[test]
fn exit_codes_and_exit_zero() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "clean.txt", "nothing to see\n");
    assert_eq!(run_in(dir.path(), &["scan"]).code, 0);
    let key = Fakes::new(3).checksummed("ghp_");
    write(dir.path(), "leak.txt", format!("token {key}\n"));
    assert_eq!(run_in(dir.path(), &["scan"]).code, 1);
    assert_eq!(run_in(dir.path(), &["scan", "--exit-zero"]).code, 0);
    let missing = run_in(dir.path(), &["scan", "no-such-dir"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("no-such-dir"), "{}", missing.stderr);
}

#[test]
fn walk_honours_ignore_files_and_scans_hidden_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut fakes = Fakes::new(21);
    let keys: Vec<String> = (0..6).map(|_| fakes.checksummed("ghp_")).collect();
    write(d, ".env", format!("T={}\n", keys[0]));
    write(d, ".gitignore", "ignored-by-git/\n");
    write(d, "ignored-by-git/a.txt", format!("T={}\n", keys[1]));
    write(d, ".ignore", "ignored.txt\n");
    write(d, "ignored.txt", format!("T={}\n", keys[2]));
    write(d, ".keyguardignore", "vendor/\n");
    write(d, "vendor/lib.js", format!("T='{}'\n", keys[3]));
    write(d, ".git/config", format!("T={}\n", keys[4]));
    write(
        d,
        "src/deep/nested/file.rs",
        format!("let t = \"{}\";\n", keys[5]),
    );
    let paths = |extra: &[&str]| -> Vec<String> {
        let (_, r) = scan_json(d, extra);
        let mut p: Vec<String> = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_string())
            .collect();
        p.sort();
        p
    };
    assert_eq!(paths(&[]), vec![".env", "src/deep/nested/file.rs"]);
    assert_eq!(
        paths(&["--no-ignore"]),
        vec![
            ".env",
            "ignored-by-git/a.txt",
            "ignored.txt",
            "src/deep/nested/file.rs",
            "vendor/lib.js"
        ]
    );
    // A file named on the command line is scanned even when ignored; paths show as named.
    let (_, r) = scan_json(d, &["ignored.txt", "src"]);
    let mut p: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    p.sort();
    assert_eq!(p, vec!["ignored.txt", "src/deep/nested/file.rs"]);
}

#[test]
fn binary_large_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut fakes = Fakes::new(8);
    let k1 = fakes.checksummed("ghp_");
    let k2 = fakes.checksummed("ghp_");
    let mut bin = b"\x7fELF\x00\x00binary".to_vec();
    bin.extend_from_slice(k1.as_bytes());
    write(d, "tool.bin", bin);
    let mut big = "x".repeat(3 << 20);
    big.push('\n');
    big.push_str(&k2);
    write(d, "big.log", big);
    let (run, r) = scan_json(d, &["--max-file-size", "1MiB"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(r["summary"]["skipped"]["binary"], 1);
    assert_eq!(r["summary"]["skipped"]["too_large"], 1);
    let (_, r) = scan_json(d, &[]);
    assert_eq!(
        r["findings"].as_array().unwrap().len(),
        1,
        "the 3 MiB file is scanned by default"
    );

    let mut child = crate::support::keyguard()
        .args(["scan", "-", "--format", "json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("pasted: {k1}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["findings"][0]["path"], "<stdin>");
}

#[cfg(unix)]
#[test]
fn symlinks_not_followed_by_default_and_loops_terminate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let outside = tempfile::tempdir().unwrap();
    let key = Fakes::new(9).checksummed("ghp_");
    write(outside.path(), "secret.txt", format!("T={key}\n"));
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), d.join("link.txt")).unwrap();
    std::fs::create_dir(d.join("sub")).unwrap();
    std::os::unix::fs::symlink(d, d.join("sub/loop")).unwrap();
    let (run, r) = scan_json(d, &[]);
    assert_eq!(run.code, 0);
    assert_eq!(r["findings"].as_array().unwrap().len(), 0);
    let (run, r) = scan_json(d, &["--follow"]);
    assert_eq!(run.code, 1);
    assert_eq!(r["findings"][0]["path"], "link.txt");
    assert!(
        run.stderr.contains("loop"),
        "a loop is reported: {}",
        run.stderr
    );
}

#[test]
fn minified_line_reports_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let key = Fakes::new(4).checksummed("ghp_");
    let prefix = "a".repeat(1 << 20);
    write(
        dir.path(),
        "app.min.js",
        format!("x\n{prefix}é;var t=\"{key}\";\n"),
    );
    let (_, r) = scan_json(dir.path(), &[]);
    let f = &r["findings"][0];
    assert_eq!(f["line"], 2);
    // Columns count characters: 2^20 'a's, 'é' (two bytes, one column), `;var t="`.
    assert_eq!(f["column"], (1 << 20) + 1 + 8 + 1);
}

#[test]
fn long_multiline_secrets_survive_unrelated_text_after_them() {
    // A base64 PEM body that runs on into a filler line must still be reported.
    let planted = planted();
    let pem = planted
        .iter()
        .find(|k| k.rule == "pem-base64-private-key")
        .expect("the catalogue has pem-base64-private-key");
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "key.pem",
        format!("{}\n{}\n", pem.whole, "x".repeat(300)),
    );
    let (run, r) = scan_json(dir.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(r["findings"][0]["rule_id"], "pem-base64-private-key");
}
