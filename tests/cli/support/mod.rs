//! Helpers shared by the integration tests.
#![allow(dead_code)]

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
