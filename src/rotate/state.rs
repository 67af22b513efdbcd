//! The resumable state of one rotation: what was decided, which steps finished and how, and the
//! redacted form and hash of each key — never a key. Keys needed across an interruption live in
//! the keychain (`NAME.rotating-old`, `NAME.rotating-new`), never here.
//!
//! One JSON file per run in `<record-dir>/.state/<id>.json`, mode 0600, written to a temporary
//! file and renamed, after every step.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Step;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read the rotation state {path}: {detail}")]
    Read { path: String, detail: String },
    #[error("cannot write the rotation state {path}: {detail}")]
    Write { path: String, detail: String },
    #[error("no unfinished rotation in {dir} to resume{which}")]
    NothingToResume { dir: String, which: String },
}

/// What is known of a key without holding it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyFacts {
    pub redacted: String,
    pub hash: String,
}

impl KeyFacts {
    pub fn of(key: &crate::finding::Secret) -> KeyFacts {
        let redacted = crate::keychain::identify(key.expose())
            .map_or_else(|| crate::finding::redact(key.expose(), 0), |i| i.redacted);
        KeyFacts {
            redacted,
            hash: crate::finding::secret_hash(key.expose()),
        }
    }
}

/// How one step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Done,
    /// Done, but something needs the user's attention (written in the note).
    Warning,
    Skipped,
    /// The run stopped here (an answer was missing, the provider refused).
    Stopped,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    pub step: Step,
    pub outcome: Outcome,
    /// RFC 3339.
    pub at: String,
    /// One or more lines, in keyguard's words; never a key.
    pub note: String,
}

/// Everything a run decided, so `--resume` continues it without the original flags.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    pub id: String,
    pub provider: String,
    pub profile: String,
    /// The keychain entry that holds the key (the new one at the end).
    pub key_name: String,
    pub admin_key: Option<String>,
    pub params: std::collections::BTreeMap<String, String>,
    pub deploy: Vec<String>,
    pub env_name: String,
    pub revoke_first: bool,
    pub repo: PathBuf,
    pub audit: bool,
    /// The incident record's file name in the record directory.
    pub record: String,
    pub started_at: String,
    pub old: Option<KeyFacts>,
    pub new: Option<KeyFacts>,
    /// Where the new key came from ("created by API: …", "from --new-key-env").
    pub new_origin: Option<String>,
    pub steps: Vec<StepRecord>,
    pub finished: bool,
}

impl State {
    /// Whether `step` finished (done, warning or skipped) in an earlier part of the run.
    pub fn done(&self, step: Step) -> bool {
        self.steps
            .iter()
            .rev()
            .find(|r| r.step == step)
            .is_some_and(|r| r.outcome != Outcome::Stopped)
    }

    pub fn record(&mut self, step: Step, outcome: Outcome, note: impl Into<String>) {
        self.steps.push(StepRecord {
            step,
            outcome,
            at: super::now(),
            note: note.into(),
        });
    }
}

/// The directory of the state files for a record directory.
pub fn dir(record_dir: &Path) -> PathBuf {
    record_dir.join(".state")
}

pub fn path(record_dir: &Path, id: &str) -> PathBuf {
    dir(record_dir).join(format!("{id}.json"))
}

pub fn save(record_dir: &Path, state: &State) -> Result<(), StateError> {
    let p = path(record_dir, &state.id);
    let err = |detail: String| StateError::Write {
        path: crate::sanitize::path(&p),
        detail,
    };
    super::create_private_dir(&dir(record_dir)).map_err(|e| err(e.to_string()))?;
    let mut bytes = serde_json::to_vec_pretty(state).map_err(|e| err(e.to_string()))?;
    bytes.push(b'\n');
    crate::cmd::write_private_file(&p, &bytes).map_err(|e| err(format!("{e:#}")))
}

pub fn load(record_dir: &Path, id: &str) -> Result<State, StateError> {
    let p = path(record_dir, id);
    let bytes = std::fs::read(&p).map_err(|e| StateError::Read {
        path: crate::sanitize::path(&p),
        detail: if e.kind() == std::io::ErrorKind::NotFound {
            "no such rotation (ids are listed by `ls` in that directory)".into()
        } else {
            e.to_string()
        },
    })?;
    serde_json::from_slice(&bytes).map_err(|e| StateError::Read {
        path: crate::sanitize::path(&p),
        detail: e.to_string(),
    })
}

/// The newest unfinished rotation in the record directory (ids sort by time).
pub fn latest_unfinished(record_dir: &Path) -> Result<State, StateError> {
    let d = dir(record_dir);
    let mut ids: Vec<String> = std::fs::read_dir(&d)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                .map(str::to_string)
        })
        .collect();
    ids.sort();
    for id in ids.iter().rev() {
        if let Ok(s) = load(record_dir, id)
            && !s.finished
        {
            return Ok(s);
        }
    }
    Err(StateError::NothingToResume {
        dir: crate::sanitize::path(&d),
        which: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_privately_and_knows_finished_steps() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = State {
            version: 1,
            id: "20260101T000000Z-groq".into(),
            provider: "groq".into(),
            profile: "default".into(),
            key_name: "groq".into(),
            admin_key: None,
            params: Default::default(),
            deploy: vec![],
            env_name: "GROQ_API_KEY".into(),
            revoke_first: false,
            repo: ".".into(),
            audit: true,
            record: "x.md".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            old: None,
            new: None,
            new_origin: None,
            steps: vec![],
            finished: false,
        };
        s.record(Step::Identify, Outcome::Done, "ok");
        s.record(Step::Store, Outcome::Stopped, "needs --yes");
        save(dir.path(), &s).unwrap();
        let back = latest_unfinished(dir.path()).unwrap();
        assert!(back.done(Step::Identify));
        assert!(!back.done(Step::Store));
        assert!(!back.done(Step::Revoke));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path(dir.path(), &s.id))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
