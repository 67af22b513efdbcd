//! `keyguard scan bundle`: build output, source maps, minified lines. Synthetic bundles here, with
//! maps made by the `sourcemap` crate; the real Vite builds under fixtures/bundles are in
//! `bundle_fixtures`.

use serde_json::Value;

use crate::support::{Fakes, Run, run_in, write};

/// An empty config, so the repository's own keyguard.toml (which allows fixtures/) plays no part.
fn no_config(dir: &std::path::Path) -> String {
    let p = dir.join("empty-keyguard.toml");
    std::fs::write(&p, "").unwrap();
    p.to_str().unwrap().to_string()
}

fn scan_bundle(dir: &std::path::Path, extra: &[&str]) -> (Run, Value) {
    let config = no_config(dir);
    let mut args = vec![
        "scan",
        "bundle",
        "--format",
        "json",
        "--show-secrets",
        "--config",
        &config,
    ];
    args.extend_from_slice(extra);
    let run = run_in(dir, &args);
    assert!(
        run.code == 0 || run.code == 1,
        "scan bundle failed ({}): {}",
        run.code,
        run.stderr
    );
    let report = serde_json::from_str(&run.stdout).expect("JSON report");
    (run, report)
}

fn findings(report: &Value) -> &Vec<Value> {
    report["findings"].as_array().unwrap()
}

fn openai_key(seed: u64) -> String {
    let mut f = Fakes::new(seed);
    format!("sk-proj-{}T3BlbkFJ{}", f.alnum(74), f.alnum(74))
}

/// A source map for `generated`, mapping the token at (line 0, `gen_col`) to line `src_line`
/// (0-based) of `source`, with `content` embedded as its sourcesContent.
fn map_json(source: &str, content: &str, gen_col: u32, src_line: u32) -> String {
    let mut b = sourcemap::SourceMapBuilder::new(Some("index.js"));
    let id = b.add_source(source);
    b.set_source_contents(id, Some(content));
    b.add_raw(0, 0, 0, 0, Some(id), None, false);
    b.add_raw(0, gen_col, src_line, 6, Some(id), None, false);
    let mut out = Vec::new();
    b.into_sourcemap().to_writer(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn a_key_in_generated_code_is_traced_to_its_original_source() {
    let dir = tempfile::tempdir().unwrap();
    let k = openai_key(1);
    let code = format!("var a=1;const k=\"{k}\";fetch(k);\n//# sourceMappingURL=index.js.map\n");
    let col = code.find("sk-proj").unwrap() as u32;
    write(dir.path(), "dist/assets/index.js", &code);
    write(
        dir.path(),
        "dist/assets/index.js.map",
        map_json("../../src/App.tsx", "// no key here\n", col, 2),
    );
    let (run, report) = scan_bundle(dir.path(), &[]);
    assert_eq!(run.code, 1);
    assert_eq!(report["source"], "bundle");
    let f = &findings(&report)[0];
    assert_eq!(f["path"], "dist/assets/index.js");
    assert_eq!(f["line"], 1);
    assert_eq!(f["column"], col + 1);
    assert_eq!(f["original"]["path"], "src/App.tsx");
    assert_eq!(f["original"]["line"], 3);
    assert_eq!(f["original"]["column"], 7);
    assert_eq!(findings(&report).len(), 1);
}

#[test]
fn keys_in_sources_content_are_found_after_unescaping() {
    let dir = tempfile::tempdir().unwrap();
    // A key found only through the variable name beside it: in the map's JSON the quotes around
    // it are escaped (`\"`), which hides the pair from a plain scan of the map.
    let mistral = Fakes::new(2).alnum(32);
    let source =
        format!("// config\nexport const config = {{\"MISTRAL_API_KEY\": \"{mistral}\"}};\n");
    write(dir.path(), "dist/index.js", "console.log(1);\n");
    write(
        dir.path(),
        "dist/index.js.map",
        map_json("../src/config.js", &source, 0, 0),
    );
    assert!(
        std::fs::read_to_string(dir.path().join("dist/index.js.map"))
            .unwrap()
            .contains("\\\"MISTRAL_API_KEY\\\"")
    );
    let (_, report) = scan_bundle(dir.path(), &["dist"]);
    let f = findings(&report)
        .iter()
        .find(|f| f["secret"] == mistral.as_str())
        .expect("the key in sourcesContent");
    assert_eq!(f["rule_id"], "mistral-api-key");
    assert_eq!(f["path"], "dist/index.js.map");
    assert_eq!(f["original"]["path"], "src/config.js");
    assert_eq!(f["original"]["line"], 2);
}

#[test]
fn inline_maps_are_read() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let k = openai_key(3);
    let source = format!("const key = '{k}';\n");
    let map = map_json("src/inline.js", &source, 0, 0);
    let b64 = base64::engine::general_purpose::STANDARD.encode(map);
    write(
        dir.path(),
        "out/app.js",
        format!("console.log(1);\n//# sourceMappingURL=data:application/json;base64,{b64}\n"),
    );
    let (_, report) = scan_bundle(dir.path(), &["out"]);
    let f = &findings(&report)[0];
    assert_eq!(f["secret"], k.as_str());
    assert_eq!(f["path"], "out/app.js");
    assert_eq!(f["line"], 2);
    assert_eq!(f["original"]["path"], "out/src/inline.js");
}

#[test]
fn broken_maps_are_warnings_and_the_code_is_still_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let k = openai_key(4);
    let cases = [
        ("a.js", "a.js.map", "{\"version\":3,\"mappings\":\"!!!"), // truncated JSON
        ("b.js", "b.js.map", "not json at all"),
    ];
    for (js, map, text) in cases {
        write(
            dir.path(),
            &format!("dist/{js}"),
            format!("x=\"{k}\";\n//# sourceMappingURL={map}\n"),
        );
        write(dir.path(), &format!("dist/{map}"), text);
    }
    // Invalid base64 in an inline map, and a map outside the scanned directory.
    write(
        dir.path(),
        "dist/c.js",
        format!("x=\"{k}\";\n//# sourceMappingURL=data:application/json;base64,@@@notbase64@@@\n"),
    );
    write(dir.path(), "secret.map", map_json("s.js", "", 0, 0));
    write(
        dir.path(),
        "dist/d.js",
        format!("x=\"{k}\";\n//# sourceMappingURL=../secret.map\n"),
    );
    let (run, report) = scan_bundle(dir.path(), &["dist"]);
    let paths: Vec<&str> = findings(&report)
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for js in ["dist/a.js", "dist/b.js", "dist/c.js", "dist/d.js"] {
        assert!(paths.contains(&js), "{js} not scanned: {paths:?}");
    }
    assert!(
        findings(&report)
            .iter()
            .all(|f| f.get("original").is_none())
    );
    for needle in [
        "dist/a.js",
        "dist/b.js",
        "dist/c.js: inline source map is not valid base64",
        "outside the scanned directories",
    ] {
        assert!(
            run.stderr.contains(needle),
            "no warning for {needle}: {}",
            run.stderr
        );
    }
    // The broken map files themselves are scanned as text, with a warning naming them.
    assert!(
        run.stderr.contains("dist/b.js.map: not a valid source map"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_enormous_inline_map_is_not_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let big = "A".repeat(300_000);
    write(
        dir.path(),
        "dist/big.js",
        format!("x=1;\n//# sourceMappingURL=data:application/json;base64,{big}\n"),
    );
    let (run, _) = scan_bundle(dir.path(), &["dist", "--max-file-size", "400KiB"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stderr.contains("larger than the size limit"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_key_on_a_two_megabyte_line_shows_only_a_window() {
    let dir = tempfile::tempdir().unwrap();
    let k = openai_key(5);
    let filler = "var a=1;".repeat(131_072); // 1 MiB either side
    write(
        dir.path(),
        "build/static/js/main.js",
        format!("{filler}const k=\"{k}\";{filler}\n"),
    );
    let (_, report) = scan_bundle(dir.path(), &["build"]);
    let f = &findings(&report)[0];
    assert_eq!(f["line"], 1);
    assert_eq!(f["column"], filler.len() + 10);
    let config = no_config(dir.path());
    let human = run_in(
        dir.path(),
        &["scan", "bundle", "build", "--config", &config],
    );
    assert_eq!(human.code, 1);
    assert!(
        human.stdout.len() < 1000,
        "{} bytes of output",
        human.stdout.len()
    );
    assert!(
        human.stdout.contains("const k=\"sk-proj-…"),
        "{}",
        human.stdout
    );
    assert!(!human.stdout.contains(&k));
}

#[test]
fn one_key_in_chunk_map_and_page_is_one_distinct_secret() {
    let dir = tempfile::tempdir().unwrap();
    let k = openai_key(6);
    let source = format!("export const key = \"{k}\";\n");
    write(
        dir.path(),
        "dist/chunk.js",
        format!("const key=\"{k}\";\n//# sourceMappingURL=chunk.js.map\n"),
    );
    write(
        dir.path(),
        "dist/chunk.js.map",
        map_json("../src/key.js", &source, 10, 0),
    );
    write(
        dir.path(),
        "dist/index.html",
        format!("<script>window.KEY=\"{k}\"</script>\n"),
    );
    // Build output is git-ignored; scan bundle reads it anyway.
    write(dir.path(), ".gitignore", "dist/\n");
    let (_, report) = scan_bundle(dir.path(), &[]);
    let all = findings(&report);
    assert_eq!(all.len(), 3, "{report:#}");
    let hashes: std::collections::HashSet<&str> = all
        .iter()
        .map(|f| f["secret_hash"].as_str().unwrap())
        .collect();
    assert_eq!(hashes.len(), 1);
    assert_eq!(report["summary"]["distinct_secrets"], 1);
    assert!(crate::support::json_schema_errors(&report).is_empty());
}

#[test]
fn missing_or_absent_build_output_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(dir.path(), &["scan", "bundle"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no build output here"),
        "{}",
        run.stderr
    );
    let run = run_in(dir.path(), &["scan", "bundle", "nope"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("nope"), "{}", run.stderr);
}

/// Real `vite build` output committed under fixtures/bundles (scripts/build-bundle-fixtures.sh).
fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/bundles")
        .join(name)
}

/// Scans a fixture app's build output from the app's directory, with an empty config.
fn scan_fixture(app: &str, dirs: &[&str]) -> Value {
    let tmp = tempfile::tempdir().unwrap();
    let config = no_config(tmp.path());
    let mut args = vec!["scan", "bundle", "--format", "json", "--config", &config];
    args.extend_from_slice(dirs);
    let run = run_in(&fixture(app), &args);
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

#[test]
fn vite_build_keys_are_traced_to_the_source() {
    let report = scan_fixture("vite-fetch", &[]); // default: dist
    let all = findings(&report);
    // The .env key Vite inlined into the bundle, traced back through the map.
    let inlined = all
        .iter()
        .find(|f| f["path"] == "dist/assets/index.js" && f["rule_id"] == "openai-project-api-key")
        .expect("the inlined key");
    assert_eq!(inlined["original"]["path"], "src/openai.js");
    assert_eq!(inlined["original"]["line"], 4);
    // The dead fallback the minifier dropped survives only in the map's sourcesContent.
    let fallback = all
        .iter()
        .find(|f| f["path"] == "dist/assets/index.js.map" && f["kind"] == "secret")
        .expect("the key in sourcesContent");
    assert_eq!(fallback["original"]["path"], "src/openai.js");
    assert_eq!(fallback["original"]["line"], 6);
    assert_ne!(fallback["secret_hash"], inlined["secret_hash"]);

    // The inline-map build: both keys, the fallback from inside the base64 map.
    let inline = scan_fixture("vite-fetch", &["dist-inline"]);
    let secrets: std::collections::HashSet<&str> = findings(&inline)
        .iter()
        .filter(|f| f["kind"] == "secret")
        .map(|f| f["secret_hash"].as_str().unwrap())
        .collect();
    assert!(secrets.contains(inlined["secret_hash"].as_str().unwrap()));
    assert!(secrets.contains(fallback["secret_hash"].as_str().unwrap()));
}

#[test]
fn vite_sdk_bundle_holds_the_key() {
    let report = scan_fixture("vite-sdk", &["dist"]);
    let key = findings(&report)
        .iter()
        .find(|f| f["rule_id"] == "anthropic-api-key")
        .expect("the Anthropic key in the bundle");
    assert_eq!(key["path"], "dist/assets/index.js");
    assert_eq!(key["original"]["path"], "src/main.js");
    // The SDK option that lets it run there (minified to `!0`).
    let lint = findings(&report)
        .iter()
        .find(|f| f["rule_id"] == "browser-sdk-dangerously-allow-browser")
        .expect("the exposure lint on the bundle");
    assert_eq!(lint["kind"], "exposure");
    assert_eq!(lint["path"], "dist/assets/index.js");
    assert_eq!(lint["original"]["path"], "src/main.js");
}

#[test]
fn a_third_party_minified_bundle_is_clean() {
    let report = scan_fixture("third-party", &["."]);
    assert_eq!(findings(&report).len(), 0, "{report:#}");
    assert!(report["summary"]["files"].as_u64().unwrap() >= 2);
}

#[test]
fn context_never_shows_another_secret() {
    let dir = tempfile::tempdir().unwrap();
    let k = openai_key(7);
    // A password no rule reports sits beside the key; an exposure's assigned value.
    write(
        dir.path(),
        "dist/a.js",
        format!("const c={{A:\"{k}\",pw:\"Zx81kQm29Lpw0aTr\",B:1}};\n"),
    );
    // (Assembled here so this repository's own scan stays clean.)
    write(
        dir.path(),
        "dist/.env",
        concat!("VITE", "_ADMIN_PASSWORD=hunter\n"),
    );
    let config = no_config(dir.path());
    let run = run_in(dir.path(), &["scan", "bundle", "dist", "--config", &config]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("client-public-env-secret"),
        "{}",
        run.stdout
    );
    for hidden in ["Zx81kQm29Lpw0aTr", "hunter", &k] {
        assert!(
            !run.stdout.contains(hidden),
            "{hidden} shown: {}",
            run.stdout
        );
    }
}

#[test]
fn hostile_maps_neither_leak_nor_hang_nor_crash() {
    let dir = tempfile::tempdir().unwrap();
    let k = openai_key(8);
    // sourcesContent as a string: the parser's error would quote it.
    write(
        dir.path(),
        "dist/a.js.map",
        format!(
            "{{\"version\":3,\"sources\":[\"a\"],\"sourcesContent\":\"const k='{k}'\",\"mappings\":\"\"}}"
        ),
    );
    // Section offsets near u32::MAX overflow the map crate's arithmetic.
    write(
        dir.path(),
        "dist/b.js.map",
        r#"{"version":3,"sections":[{"offset":{"line":4294967295,"column":4294967295},"map":{"version":3,"sources":["x"],"names":[],"mappings":"AAAA;AAAA"}}]}"#,
    );
    write(
        dir.path(),
        "dist/d.js",
        format!("y=\"{k}\";\n//# sourceMappingURL=b.js.map\n"),
    );
    // A map that is a FIFO: reading it would block forever.
    write(
        dir.path(),
        "dist/c.js",
        format!("x=\"{k}\";\n//# sourceMappingURL=pipe\n"),
    );
    let fifo = std::process::Command::new("mkfifo")
        .arg(dir.path().join("dist/pipe"))
        .status()
        .is_ok_and(|s| s.success());
    let config = no_config(dir.path());
    let run = run_in(dir.path(), &["scan", "bundle", "dist", "--config", &config]);
    assert!(run.code == 1, "{}", run.stderr);
    assert!(
        !run.stderr.contains(&k) && !run.stdout.contains(&k),
        "key leaked"
    );
    assert!(run.stderr.contains("out of range"), "{}", run.stderr);
    if fifo {
        assert!(run.stderr.contains("not a regular file"), "{}", run.stderr);
    }
}

#[test]
fn keys_in_other_map_fields_are_found_too() {
    let dir = tempfile::tempdir().unwrap();
    let k = openai_key(9);
    write(
        dir.path(),
        "dist/a.js.map",
        format!(
            "{{\"version\":3,\"sources\":[\"a.js\"],\"sourcesContent\":[\"x\"],\"mappings\":\"\",\"x_token\":\"{k}\"}}"
        ),
    );
    let (_, report) = scan_bundle(dir.path(), &["dist"]);
    let f = &findings(&report)[0];
    assert_eq!(f["secret"], k.as_str());
    assert_eq!(f["path"], "dist/a.js.map");
    assert!(f.get("original").is_none());
    assert_eq!(f["column"], 81); // where the key starts in the raw file
}
