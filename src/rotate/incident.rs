//! The incident record: a Markdown file, `<record-dir>/<UTC timestamp>-<provider>.md`, rewritten
//! from the run's state after every step so an interrupted run still has its record. It holds the
//! timeline, each step's outcome and the redacted form and hash of the old and new keys — never a
//! key. Mode 0600 in a 0700 directory, written to a temporary file and renamed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::state::{Outcome, State};

pub fn path(record_dir: &Path, state: &State) -> PathBuf {
    record_dir.join(&state.record)
}

/// The record's text.
pub fn render(state: &State, provider_name: &str) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Key rotation: {provider_name}\n");
    let status = if state.finished {
        "finished"
    } else {
        "in progress (continue with `keyguard rotate --resume`)"
    };
    let _ = writeln!(md, "- Run: `{}` ({status})", state.id);
    let _ = writeln!(md, "- Started: {}", state.started_at);
    let _ = writeln!(
        md,
        "- Keychain entry: `{}` (profile `{}`)",
        state.key_name, state.profile
    );
    let _ = writeln!(md, "- Variable the app reads: `{}`", state.env_name);
    if !state.deploy.is_empty() {
        let _ = writeln!(md, "- Deployments: {}", state.deploy.join(", "));
    }
    if state.revoke_first {
        let _ = writeln!(
            md,
            "- Order: revoke first (`--revoke-first`: the key was being abused)"
        );
    }
    let _ = writeln!(md, "\n## Keys\n");
    let _ = writeln!(md, "| | redacted | secret_hash |\n|---|---|---|");
    for (label, facts) in [("old", &state.old), ("new", &state.new)] {
        match facts {
            Some(f) => {
                let _ = writeln!(
                    md,
                    "| {label} | `{}` | `{}` |",
                    crate::sanitize::escape(&f.redacted),
                    crate::sanitize::escape(&f.hash)
                );
            }
            None => {
                let _ = writeln!(md, "| {label} | — | — |");
            }
        }
    }
    if let Some(origin) = &state.new_origin {
        let _ = writeln!(md, "\nThe new key: {}.", crate::sanitize::escape(origin));
    }
    let _ = writeln!(md, "\n## Timeline\n");
    for r in &state.steps {
        let mark = match r.outcome {
            Outcome::Done => "done",
            Outcome::Warning => "WARNING",
            Outcome::Skipped => "skipped",
            Outcome::Stopped => "STOPPED",
        };
        let _ = writeln!(md, "### {} {} — {mark}\n", r.at, r.step.title());
        for line in r.note.lines() {
            let _ = writeln!(md, "    {line}");
        }
        md.push('\n');
    }
    md
}

pub fn write(record_dir: &Path, state: &State, provider_name: &str) -> anyhow::Result<PathBuf> {
    super::create_private_dir(record_dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot create the record directory {}: {e}",
            crate::sanitize::path(record_dir)
        )
    })?;
    crate::repo::keep_local_state_out_of_git(record_dir);
    let p = path(record_dir, state);
    super::write_private(&p, render(state, provider_name).as_bytes())?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::super::state::{KeyFacts, State};
    use super::*;

    #[test]
    fn the_record_holds_no_terminal_controls() {
        let mut s: State = serde_json::from_value(serde_json::json!({
            "version": 1, "id": "20260101T000000Z-groq", "provider": "groq",
            "profile": "default", "key_name": "groq", "admin_key": null, "params": {},
            "deploy": [], "env_name": "GROQ_API_KEY", "revoke_first": false, "repo": ".",
            "audit": true, "record": "20260101T000000Z-groq.md",
            "started_at": "2026-01-01T00:00:00Z", "old": null, "new": null,
            "new_origin": "created by the API: \u{1b}]0;owned\u{7}", "steps": [],
            "finished": false
        }))
        .unwrap();
        s.old = Some(KeyFacts {
            redacted: "x\u{1b}[2J".into(),
            hash: "h".into(),
        });
        s.record(
            super::super::Step::Audit,
            Outcome::Done,
            "a.env\u{1b}[31m:1",
        );
        let md = render(&s, "Groq");
        assert!(!md.contains('\u{1b}') && !md.contains('\u{7}'), "{md}");
    }
}
