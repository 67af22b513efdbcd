//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod fake_providers;
pub mod git;
pub mod keystore;
pub mod providers;
pub mod proxy;

use std::path::PathBuf;

/// `../shared` beside the repository, where CI puts the team's shared data.
pub fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

/// Whether CI demands every external part (`KEYGUARD_REQUIRE_ALL=1`): then a missing part fails.
pub fn require_all() -> bool {
    std::env::var("KEYGUARD_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

/// Skips (returns true after printing a notice) when a part is missing, or fails under CI.
pub fn skip_missing(what: &str) -> bool {
    if require_all() {
        panic!("{what} is missing and KEYGUARD_REQUIRE_ALL=1");
    }
    eprintln!("SKIPPED: {what} is missing");
    true
}

/// The built binary, with a clean environment: no colour, no inherited config variables.
pub fn keyguard() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_keyguard"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("NO_COLOR", "1");
    cmd
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs keyguard with `args` in `dir` and captures everything.
pub fn run_in(dir: &std::path::Path, args: &[&str]) -> Run {
    let out = keyguard().current_dir(dir).args(args).output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs a JSON scan in `dir` and returns the parsed report.
pub fn scan_json(dir: &std::path::Path, extra: &[&str]) -> (Run, serde_json::Value) {
    let mut args = vec!["scan", "--format", "json"];
    args.extend_from_slice(extra);
    let run = run_in(dir, &args);
    assert!(
        run.code == 0 || run.code == 1,
        "scan failed ({}): {}",
        run.code,
        run.stderr
    );
    let v = serde_json::from_str(&run.stdout).expect("JSON report");
    (run, v)
}

pub fn write(dir: &std::path::Path, rel: &str, content: impl AsRef<[u8]>) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// A deterministic generator of fake key material.
pub struct Fakes(u64);

impl Fakes {
    pub fn new(seed: u64) -> Fakes {
        Fakes(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn pick_from(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize] as char)
            .collect()
    }

    pub fn alnum(&mut self, n: usize) -> String {
        self.pick_from(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            n,
        )
    }

    pub fn hex(&mut self, n: usize) -> String {
        self.pick_from(b"0123456789abcdef", n)
    }

    pub fn upper_alnum(&mut self, n: usize) -> String {
        self.pick_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", n)
    }

    /// A GitHub/npm-style token: prefix, 30 random base62, 6-digit base62 CRC32 checksum.
    pub fn checksummed(&mut self, prefix: &str) -> String {
        let random = self.alnum(30);
        let sum = keyguard::engine::checksum::crc32_base62(random.as_bytes());
        format!("{prefix}{random}{}", std::str::from_utf8(&sum).unwrap())
    }
}

/// Schema errors of a JSON report against docs/report.schema.json (DESIGN.md's contract).
pub fn json_schema_errors(report: &serde_json::Value) -> Vec<String> {
    let schema_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    validator
        .iter_errors(report)
        .map(|e| e.to_string())
        .collect()
}

/// Checks a SARIF file against the official SARIF 2.1.0 schema through scripts/validate-sarif.sh
/// (installed by scripts/test); skips, or fails under KEYGUARD_REQUIRE_ALL, when it is missing.
pub fn validate_sarif_file(path: &std::path::Path) {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/validate-sarif.sh");
    let status = std::process::Command::new(&script)
        .arg(path)
        .output()
        .unwrap();
    match status.status.code() {
        Some(0) => {}
        Some(3) => {
            skip_missing("the SARIF validator (scripts/validate-sarif.sh could not install it)");
        }
        _ => panic!(
            "SARIF invalid:\n{}{}",
            String::from_utf8_lossy(&status.stdout),
            String::from_utf8_lossy(&status.stderr)
        ),
    }
}
