//! The committed completion scripts under completions/ must match what the binary generates.
//! Regenerate with: KEYGUARD_BLESS=1 cargo test --test cli completions

use crate::support::keyguard;

const SHELLS: &[(&str, &str)] = &[
    ("bash", "keyguard.bash"),
    ("zsh", "_keyguard"),
    ("fish", "keyguard.fish"),
    ("powershell", "_keyguard.ps1"),
    ("elvish", "keyguard.elv"),
];

#[test]
fn committed_completions_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    let bless = std::env::var("KEYGUARD_BLESS").is_ok_and(|v| v == "1");
    let mut stale = Vec::new();
    for (shell, file) in SHELLS {
        let out = keyguard().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "completions {shell} failed");
        assert!(!out.stdout.is_empty());
        let path = dir.join(file);
        if bless {
            std::fs::write(&path, &out.stdout).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&out.stdout[..]) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale completions (regenerate with KEYGUARD_BLESS=1 cargo test --test cli completions): {stale:?}"
    );
}
