//! `keyguard rotate PROVIDER`: the guided rotate-and-revoke playbook after a leak. Owns the eight
//! steps and their order, the driver that runs them and saves state after each, and the prompt
//! seam (`Ask`). Knows nothing of clap: the command edge (`cmd::rotate`) builds `Options`.
//!
//! The steps: 1 identify the old key, 2 create (by API, else by hand) the new one, 3 verify the
//! new key is live and not the old one, 4 store it in the keychain and print the deployment
//! commands, 5 revoke the old key (API, else guided), 6 prove it dead (poll verify), 7 audit
//! where the old key still sits (tree, history, bundles), 8 record. With `--revoke-first` the
//! old key is revoked and proven dead right after step 1.
//!
//! Where keys live between steps: never in a file. The old key is kept in the keychain entry
//! `NAME.rotating-old` from step 1 and the new one in `NAME.rotating-new` from step 2, so
//! `--resume` continues after an interruption; both entries are removed when the run finishes.
//!
//! Decisions: a new key that cannot be verified (`unknown`) stops a script even with `--yes`
//! (revoking the old key while the new one may not work is an outage); at a terminal the user
//! may go on, and the record says so. A confirmation a script cannot give (no `--yes`) stops the
//! run with the state saved, so `--resume ID --yes` continues it once the user has done their
//! part. An old key not proven dead by `--prove-timeout` is not an error but exits 1.

pub mod deploy;
pub mod incident;
pub mod state;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::finding::Secret;
use crate::keychain::Keychain;
use crate::providers::{self, Params, Provider, ProviderError, Session, Status};
use state::{KeyFacts, Outcome, State};

/// One step of the playbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    Identify,
    Create,
    Verify,
    Store,
    Revoke,
    Prove,
    Audit,
    Record,
}

impl Step {
    pub fn title(self) -> &'static str {
        match self {
            Step::Identify => "1. Identify the old key",
            Step::Create => "2. Create the new key",
            Step::Verify => "3. Verify the new key",
            Step::Store => "4. Store the new key",
            Step::Revoke => "5. Revoke the old key",
            Step::Prove => "6. Prove the old key dead",
            Step::Audit => "7. Audit where the old key sits",
            Step::Record => "8. Record",
        }
    }
}

/// The order of the steps: revoking first moves 5 and 6 right after 1.
pub fn order(revoke_first: bool) -> &'static [Step] {
    use Step::*;
    if revoke_first {
        &[
            Identify, Revoke, Prove, Create, Verify, Store, Audit, Record,
        ]
    } else {
        &[
            Identify, Create, Verify, Store, Revoke, Prove, Audit, Record,
        ]
    }
}

/// Where the old key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OldSource {
    Keychain,
    Stdin,
    /// A finding's `secret_hash`: the key is found by scanning `--repo`.
    SecretHash(String),
    /// `NAME.rotating-old`, on resume.
    Pending,
}

/// Where the new key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewSource {
    /// By API when the provider can and an admin credential is configured, else by hand.
    Auto,
    Stdin,
    Env(String),
}

/// Questions the playbook asks. `None` means nobody can answer (a script without `--yes`).
pub trait Ask {
    fn interactive(&self) -> bool;
    fn confirm(&mut self, question: &str, default: bool) -> anyhow::Result<Option<bool>>;
    /// A question `--yes` does not answer (going on with a new key nobody could check): only a
    /// person at a terminal can say yes.
    fn ask_person(&mut self, question: &str) -> anyhow::Result<Option<bool>>;
    /// A key typed at a hidden prompt.
    fn secret(&mut self, prompt: &str) -> anyhow::Result<Option<Secret>>;
}

/// A script: every confirmation is `--yes` or unanswered; no key can be typed.
pub struct Script {
    pub yes: bool,
}

impl Ask for Script {
    fn interactive(&self) -> bool {
        false
    }
    fn confirm(&mut self, _: &str, _: bool) -> anyhow::Result<Option<bool>> {
        Ok(self.yes.then_some(true))
    }
    fn ask_person(&mut self, _: &str) -> anyhow::Result<Option<bool>> {
        Ok(None)
    }
    fn secret(&mut self, _: &str) -> anyhow::Result<Option<Secret>> {
        Ok(None)
    }
}

/// A person at a terminal: dialoguer confirmations and a hidden prompt, on standard error.
pub struct Terminal {
    pub yes: bool,
}

impl Ask for Terminal {
    fn interactive(&self) -> bool {
        true
    }
    fn confirm(&mut self, question: &str, default: bool) -> anyhow::Result<Option<bool>> {
        if self.yes {
            return Ok(Some(true));
        }
        let answer = dialoguer::Confirm::new()
            .with_prompt(crate::sanitize::escape(question))
            .default(default)
            .interact_opt()?;
        Ok(Some(answer.unwrap_or(false)))
    }
    fn ask_person(&mut self, question: &str) -> anyhow::Result<Option<bool>> {
        let answer = dialoguer::Confirm::new()
            .with_prompt(crate::sanitize::escape(question))
            .default(false)
            .interact_opt()?;
        Ok(Some(answer.unwrap_or(false)))
    }
    fn secret(&mut self, prompt: &str) -> anyhow::Result<Option<Secret>> {
        let mut value = rpassword::prompt_password(prompt)?.into_bytes();
        crate::keychain::trim_newline(&mut value);
        Ok((!value.is_empty()).then(|| Secret::new(&value)))
    }
}

/// Everything a run needs, decided by the command edge.
pub struct Options {
    pub provider: &'static dyn Provider,
    pub profile: String,
    pub key_name: String,
    pub admin_key: Option<String>,
    pub params: Params,
    pub deploy: Vec<String>,
    pub env_name: String,
    pub revoke_first: bool,
    pub record_dir: PathBuf,
    pub repo: PathBuf,
    pub audit: bool,
    pub prove_timeout: Duration,
    /// The first pause between two checks in step 6 (it grows to 10 s).
    pub poll_interval: Duration,
}

/// The keys of a run, in memory only.
pub struct Keys {
    pub old: Secret,
    /// Given up front (`--new-key-stdin`, `--new-key-env`) or reloaded on resume.
    pub new: Option<Secret>,
    pub admin: Option<Secret>,
}

/// How a run ended (a stop is an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// The old key is proven dead.
    Dead,
    /// The playbook ran to the end but the old key was not proven dead.
    NotProven,
}

/// The run stopped before the end: what is missing and how to continue. Exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Stopped(pub String);

pub fn now() -> String {
    let t = jiff::Timestamp::now();
    jiff::Timestamp::from_second(t.as_second())
        .map(|t| t.to_string())
        .unwrap_or_else(|_| t.to_string())
}

pub fn pending_new(name: &str) -> String {
    format!("{name}.rotating-new")
}

pub fn pending_old(name: &str) -> String {
    format!("{name}.rotating-old")
}

/// Checks a provider setting's value. Ids among them (an OpenAI project, a SendGrid key id) go
/// into request paths, percent-encoded; but a URL parser resolves a segment that is `.` or `..`,
/// encoded or not, so `--param project=..` would send the admin credential to another endpoint
/// of the provider's API.
pub fn check_param_value(name: &str, value: &str) -> Result<(), String> {
    if matches!(value.trim(), "" | "." | "..") || value.chars().any(char::is_control) {
        return Err(format!(
            "the setting {} = `{}` is not a usable value",
            crate::sanitize::escape(name),
            crate::sanitize::escape(value)
        ));
    }
    Ok(())
}

/// Creates the record (or state) directory, 0700, refusing symbolic links on the way.
///
/// The record directory is inside the repository by default (`.keyguard/incidents`), and a
/// repository is untrusted content: a clone can plant `.keyguard` or `.keyguard/incidents` as a
/// link to any directory, and the record and state would be written there. A relative path is
/// checked component by component (everything under the current directory may come from the
/// repository); an absolute one, which the user typed, only at its last component.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    refuse_symlinked_dir(dir)?;
    crate::keychain::create_private_dir(dir)?;
    // Again: a link planted between the check and the creation.
    refuse_symlinked_dir(dir)
}

/// An error when `dir` (every component of it when relative) is a symbolic link, or exists and
/// is not a directory.
pub(crate) fn refuse_symlinked_dir(dir: &Path) -> std::io::Result<()> {
    let refuse = |p: &Path, what: &str| {
        std::io::Error::other(format!(
            "{} is {what}; keyguard does not follow links for its records (a repository could \
             point them anywhere): remove it or pass --record-dir with a real directory",
            crate::sanitize::path(p)
        ))
    };
    let mut checked: Vec<PathBuf> = Vec::new();
    if dir.is_relative() {
        let mut prefix = PathBuf::new();
        for c in dir.components() {
            prefix.push(c);
            if matches!(c, std::path::Component::Normal(_)) {
                checked.push(prefix.clone());
            }
        }
    } else {
        checked.push(dir.to_path_buf());
    }
    for p in checked {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => return Err(refuse(&p, "a symbolic link")),
            Ok(m) if !m.is_dir() => return Err(refuse(&p, "not a directory")),
            _ => {}
        }
    }
    Ok(())
}

/// Writes a record or state file privately (0600, temporary file and rename), refusing to
/// write through a symbolic link or over anything but a regular file.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Ok(m) = std::fs::symlink_metadata(path)
        && !m.file_type().is_file()
    {
        anyhow::bail!(
            "refusing to write {}: it is a symbolic link or not a regular file",
            crate::sanitize::path(path)
        );
    }
    crate::cmd::write_private_file(path, bytes)
}

/// A new run's state (nothing done yet).
pub fn new_state(opts: &Options) -> State {
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let mut id = format!("{stamp}-{}", opts.provider.id());
    let mut n = 2;
    while state::path(&opts.record_dir, &id).exists()
        || opts.record_dir.join(format!("{id}.md")).exists()
    {
        id = format!("{stamp}-{}-{n}", opts.provider.id());
        n += 1;
    }
    State {
        version: 1,
        record: format!("{id}.md"),
        id,
        provider: opts.provider.id().to_string(),
        profile: opts.profile.clone(),
        key_name: opts.key_name.clone(),
        admin_key: opts.admin_key.clone(),
        params: opts.params.clone(),
        deploy: opts.deploy.clone(),
        env_name: opts.env_name.clone(),
        revoke_first: opts.revoke_first,
        repo: opts.repo.clone(),
        audit: opts.audit,
        started_at: now(),
        old: None,
        new: None,
        new_origin: None,
        steps: Vec::new(),
        finished: false,
    }
}

/// The plan `--dry-run` prints: each step and what it would do here. No key is read, no request
/// made, nothing changed.
pub fn plan(opts: &Options, old: &OldSource, new: &NewSource, admin_configured: bool) -> String {
    let p = opts.provider;
    let caps = p.capabilities();
    let m = p.manual();
    let mut lines = vec![format!(
        "Plan for rotating the {} key `{}` (profile {}); nothing is done in a dry run:",
        p.name(),
        opts.key_name,
        opts.profile
    )];
    for step in order(opts.revoke_first) {
        let what = match step {
            Step::Identify => format!(
                "read the old key from {}, check its format, show its redacted form and whether it is live{}",
                match old {
                    OldSource::Keychain => format!("the keychain entry `{}`", opts.key_name),
                    OldSource::Stdin => "standard input".into(),
                    OldSource::SecretHash(h) => format!(
                        "the finding with secret_hash {h} in {} (tree and history)",
                        crate::sanitize::path(&opts.repo)
                    ),
                    OldSource::Pending => "the pending keychain entry".into(),
                },
                if caps.verify {
                    ""
                } else {
                    " (no API to check)"
                }
            ),
            Step::Create => match new {
                NewSource::Stdin => "read the new key from standard input".into(),
                NewSource::Env(v) => format!("read the new key from ${v}"),
                NewSource::Auto if caps.create && admin_configured => {
                    let missing = missing_params(opts);
                    format!(
                        "create the new key by the {} API{}",
                        p.name(),
                        if missing.is_empty() {
                            String::new()
                        } else {
                            format!(" (it needs {})", missing.join(" and "))
                        }
                    )
                }
                NewSource::Auto => {
                    let mut s = format!(
                        "create the new key by hand at {} and type it at a hidden prompt (in a \
                         script: --new-key-stdin or --new-key-env VAR)",
                        m.dashboard
                    );
                    if let (true, Some(a)) = (caps.create, p.admin()) {
                        let mut needs = vec![format!("set {} or --admin-key NAME", a.env)];
                        needs.extend(missing_params(opts));
                        s.push_str(&format!(
                            "; to have keyguard create it by the {} API instead: {}",
                            p.name(),
                            needs.join(", and ")
                        ));
                    }
                    s
                }
            },
            Step::Verify => "check the new key is live and is not the old key".into(),
            Step::Store => format!(
                "store it in the keychain entry `{}` (kept: the old key as `{}` until it is proven dead), then {}, and wait for confirmation",
                opts.key_name,
                pending_old(&opts.key_name),
                if opts.deploy.is_empty() {
                    format!(
                        "remind you to update every place that reads {}",
                        opts.env_name
                    )
                } else {
                    format!(
                        "print the commands that set {} in {}",
                        opts.env_name,
                        opts.deploy.join(", ")
                    )
                }
            ),
            Step::Revoke => {
                if caps.revoke {
                    format!(
                        "revoke the old key by the {} API{}",
                        p.name(),
                        match p.admin() {
                            Some(a) if !admin_configured => format!(
                                " with an admin credential (set {} or --admin-key NAME); \
                                 without one, by hand",
                                a.env
                            ),
                            _ => String::new(),
                        }
                    )
                } else {
                    format!("guide you through revoking it at {}", m.dashboard)
                }
            }
            Step::Prove => format!(
                "check the old key until it is dead (at most {}s)",
                opts.prove_timeout.as_secs()
            ),
            Step::Audit if opts.audit => format!(
                "list where the old key still sits in {} (files, commits, build output); usage: {}",
                crate::sanitize::path(&opts.repo),
                m.usage
            ),
            Step::Audit => "skipped (--no-audit)".into(),
            Step::Record => format!(
                "write the incident record to {}",
                crate::sanitize::path(&opts.record_dir)
            ),
        };
        lines.push(crate::text::fill(
            &format!("{}: {what}", step.title()),
            crate::text::WIDTH,
            "  ",
            "     ",
        ));
    }
    lines.join("\n")
}

/// "it is live", "it is dead", or "its status is unknown" ("it is unknown" reads as if the key
/// were unknown to the provider, which is what `dead` means).
fn is_what(subject: &str, status: Status) -> String {
    match status {
        Status::Unknown if subject == "it" => "its status is unknown".into(),
        Status::Unknown => format!("{subject}'s status is unknown"),
        s => format!("{subject} is {s}"),
    }
}

/// The `--param NAME=…` settings creating a key by API needs that were not given: read from the
/// adapters' help, which marks the others "optional" or "(default …)"; a setting about the old
/// key (SendGrid's key-id) is for revoking, not creating.
fn missing_params(opts: &Options) -> Vec<String> {
    opts.provider
        .params()
        .iter()
        .filter(|s| {
            !opts.params.contains_key(s.name)
                && !s.help.starts_with("optional")
                && !s.help.contains("(default")
                && !s.help.starts_with("the old key")
        })
        .map(|s| format!("--param {}=…", s.name))
        .collect()
}

/// One run of the playbook.
pub struct Run<'a> {
    pub opts: &'a Options,
    pub state: State,
    pub keys: Keys,
    pub keychain: &'a Keychain,
    pub session: &'a Session,
    pub ask: &'a mut dyn Ask,
    pub out: &'a mut dyn Write,
}

impl Run<'_> {
    fn say(&mut self, text: &str) {
        let _ = writeln!(self.out, "{}", crate::sanitize::escape_lines(text));
    }

    fn cx_verify(&self, key: &Secret) -> providers::Verdict {
        let params = Params::new();
        let cx = self.session.cx(self.opts.provider, None, &params);
        providers::verify_checked(self.opts.provider, &cx, key)
    }

    fn save(&mut self) -> anyhow::Result<()> {
        state::save(&self.opts.record_dir, &self.state)?;
        incident::write(
            &self.opts.record_dir,
            &self.state,
            self.opts.provider.name(),
        )?;
        Ok(())
    }

    /// Records a stop, saves, and returns the error that ends the run.
    fn stop(&mut self, step: Step, why: String) -> anyhow::Error {
        let resume = format!(
            "{why}\nhint: the state is saved; continue with `keyguard rotate --resume {} --record-dir {}` (add --yes in a script)",
            self.state.id,
            crate::sanitize::path(&self.opts.record_dir)
        );
        self.state.record(step, Outcome::Stopped, why);
        if let Err(e) = self.save() {
            return e;
        }
        Stopped(resume).into()
    }

    /// Runs every unfinished step in order.
    pub fn run(mut self) -> anyhow::Result<Finished> {
        for &step in order(self.state.revoke_first) {
            if step != Step::Record && self.state.done(step) {
                continue;
            }
            self.say(&format!("\n{}", step.title()));
            match step {
                Step::Identify => self.identify()?,
                Step::Create => self.create()?,
                Step::Verify => self.verify()?,
                Step::Store => self.store()?,
                Step::Revoke => self.revoke()?,
                Step::Prove => self.prove()?,
                Step::Audit => self.audit()?,
                Step::Record => return self.finish(),
            }
            self.save()?;
        }
        unreachable!("the order ends with Record")
    }

    fn identify(&mut self) -> anyhow::Result<()> {
        let facts = KeyFacts::of(&self.keys.old);
        self.keychain.set(
            &self.opts.profile,
            &pending_old(&self.opts.key_name),
            &self.keys.old,
            &now(),
        )?;
        let verdict = self.cx_verify(&self.keys.old);
        let mut note = format!(
            "old key {} (secret_hash {}); {}: {}",
            facts.redacted,
            facts.hash,
            is_what("it", verdict.status),
            verdict.detail
        );
        if let Some(a) = &verdict.account {
            note.push_str(&format!(" (account {a})"));
        }
        self.say(&note);
        if verdict.status == Status::Dead {
            self.say("the old key is already dead: rotating still replaces it where it is used");
        }
        self.state.old = Some(facts);
        self.state.record(Step::Identify, Outcome::Done, note);
        Ok(())
    }

    fn create(&mut self) -> anyhow::Result<()> {
        let p = self.opts.provider;
        let (key, origin) = if let Some(k) = self.keys.new.take() {
            let origin = self
                .state
                .new_origin
                .clone()
                .unwrap_or_else(|| "given to keyguard".into());
            (k, origin)
        } else if let Some(created) = self.create_by_api()? {
            created
        } else {
            let m = p.manual();
            self.say(&format!(
                "{} cannot create keys by API here; create one by hand:",
                p.name()
            ));
            for (i, s) in m.create.iter().enumerate() {
                self.say(&format!("  {}. {s}", i + 1));
            }
            match self
                .ask
                .secret(&format!("New {} key (input is hidden): ", p.name()))?
            {
                Some(k) => (k, "typed at the hidden prompt".to_string()),
                None => {
                    let why =
                        "no new key: pass it with --new-key-stdin or --new-key-env VAR".to_string();
                    return Err(self.stop(Step::Create, why));
                }
            }
        };
        if let Err(why) = p.check_format(&key) {
            return Err(self.stop(Step::Create, format!("the new key is refused: {why}")));
        }
        self.keychain.set(
            &self.opts.profile,
            &pending_new(&self.opts.key_name),
            &key,
            &now(),
        )?;
        let facts = KeyFacts::of(&key);
        let note = format!(
            "new key {} (secret_hash {}), {origin}; kept in the keychain entry `{}` until the run ends",
            facts.redacted,
            facts.hash,
            pending_new(&self.opts.key_name)
        );
        self.say(&note);
        self.state.new = Some(facts);
        self.state.new_origin = Some(origin);
        self.keys.new = Some(key);
        self.state.record(Step::Create, Outcome::Done, note);
        Ok(())
    }

    /// Step 2 by the provider's API, when it has one and the credential it needs is here (an
    /// admin key, or for some providers the old key itself). `None`: do it by hand.
    fn create_by_api(&mut self) -> anyhow::Result<Option<(Secret, String)>> {
        let p = self.opts.provider;
        if !p.capabilities().create {
            return Ok(None);
        }
        let cx = self
            .session
            .cx(p, self.keys.admin.as_ref(), &self.opts.params);
        match p.create_replacing(&cx, &self.keys.old) {
            Ok(created) => {
                let origin = format!(
                    "created by the {} API: {}{}",
                    p.name(),
                    created.detail,
                    created
                        .id
                        .as_ref()
                        .map(|i| format!(" (key id {i})"))
                        .unwrap_or_default()
                );
                // The id and detail are the provider's words: neither key may be in them.
                let origin = crate::providers::scrub(
                    &crate::providers::scrub(&origin, &created.key),
                    &self.keys.old,
                );
                Ok(Some((created.key, origin)))
            }
            Err(e @ ProviderError::NeedsAdmin { .. }) => {
                self.say(&format!("{} can create keys by API, but {e}", p.name()));
                Ok(None)
            }
            Err(ProviderError::NotSupported { .. }) => Ok(None),
            Err(e) => {
                // Some adapters create with the old key as the credential (AWS, Twilio).
                let why = format!(
                    "{} could not create the new key: {}\nhint: create it by hand at {} and pass it with --new-key-stdin or --new-key-env VAR",
                    p.name(),
                    crate::providers::scrub(&e.to_string(), &self.keys.old),
                    p.manual().dashboard
                );
                Err(self.stop(Step::Create, why))
            }
        }
    }

    fn verify(&mut self) -> anyhow::Result<()> {
        let new = self.keys.new.clone().expect("step 2 made the new key");
        if crate::finding::secret_hash(new.expose())
            == crate::finding::secret_hash(self.keys.old.expose())
        {
            return Err(self.stop(
                Step::Verify,
                "the new key is the old key: create a different one".into(),
            ));
        }
        let v = self.cx_verify(&new);
        let note = format!("{}: {}", is_what("the new key", v.status), v.detail);
        self.say(&note);
        match v.status {
            Status::Live => self.state.record(Step::Verify, Outcome::Done, note),
            Status::Dead => {
                return Err(self.stop(
                    Step::Verify,
                    format!("{note}\nthe old key stays as it is; create a new key that works"),
                ));
            }
            Status::Unknown => {
                let by_hand = format!(
                    "check the new key by hand (make one request with it), or retry when {} answers",
                    self.opts.provider.name()
                );
                let go_on = self
                    .ask
                    .ask_person("The new key could not be checked. Go on as if it works?")?;
                if go_on == Some(true) {
                    self.state.record(
                        Step::Verify,
                        Outcome::Warning,
                        format!("{note}\nthe user went on without a check"),
                    );
                } else {
                    return Err(self.stop(Step::Verify, format!("{note}\nhint: {by_hand}")));
                }
            }
        }
        Ok(())
    }

    fn store(&mut self) -> anyhow::Result<()> {
        let new = self.keys.new.clone().expect("step 2 made the new key");
        let (profile, name, var) = (
            self.opts.profile.clone(),
            self.opts.key_name.clone(),
            self.opts.env_name.clone(),
        );
        let outcome = self.keychain.set(&profile, &name, &new, &now())?;
        let mut note = format!(
            "stored the new key in the keychain entry `{name}` (profile {profile}){}",
            if outcome.replaced {
                "; the old value is kept as the entry `".to_string()
                    + &pending_old(&name)
                    + "` until the old key is proven dead"
            } else {
                String::new()
            }
        );
        self.say(&note);
        if self.opts.deploy.is_empty() {
            self.say(&format!(
                "Update every place that reads {var} (servers, CI, hosting): the value is `keyguard key get {name}`; \
                 `keyguard run` picks it up already. Name targets with --deploy for the exact commands."
            ));
        } else {
            self.say(
                "Update the deployments (the value comes through a pipe, never a command line):",
            );
            // A two-part key (ID:SECRET) is read by apps from two variables: set each half.
            let parts: Vec<(String, deploy::Part)> = match self.opts.provider.pairing().and(
                deploy::usual_id_env_name(self.opts.provider.id(), new.expose()),
            ) {
                Some(id_var) => vec![
                    (id_var.to_string(), deploy::Part::Id),
                    (var.clone(), deploy::Part::Secret),
                ],
                None => vec![(var.clone(), deploy::Part::Whole)],
            };
            for t in self.opts.deploy.clone() {
                self.say(&format!("  # {t}"));
                for (v, part) in &parts {
                    for c in deploy::commands_for(&t, &name, &profile, v, *part) {
                        self.say(&format!("  {c}"));
                    }
                }
            }
            note.push_str(&format!(
                "\ndeployment commands printed for {}",
                self.opts.deploy.join(", ")
            ));
        }
        match self.ask.confirm(
            &format!("Has every deployment been updated to the new {var}?"),
            false,
        )? {
            Some(true) => {
                note.push_str("\nthe user confirmed the deployments are updated");
                self.state.record(Step::Store, Outcome::Done, note);
                Ok(())
            }
            Some(false) => Err(self.stop(
                Step::Store,
                "the deployments are not updated yet; the old key stays live until they are".into(),
            )),
            None => Err(self.stop(
                Step::Store,
                "confirm the deployments are updated with --yes (a script cannot answer the question)".into(),
            )),
        }
    }

    fn revoke(&mut self) -> anyhow::Result<()> {
        let p = self.opts.provider;
        let redacted = self
            .state
            .old
            .as_ref()
            .map(|f| f.redacted.clone())
            .unwrap_or_default();
        if self.state.revoke_first {
            self.say("--revoke-first: the old key is revoked before a new one is in place; whatever uses it stops working now");
        }
        match self.ask.confirm(
            &format!("Revoke the old key {redacted} now? It stops working everywhere."),
            true,
        )? {
            Some(true) => {}
            Some(false) => {
                return Err(self.stop(Step::Revoke, "the old key was not revoked".into()));
            }
            None => {
                return Err(self.stop(
                    Step::Revoke,
                    "confirm the revocation with --yes (a script cannot answer the question)"
                        .into(),
                ));
            }
        }
        let mut why_manual = None;
        if p.capabilities().revoke {
            let cx = self
                .session
                .cx(p, self.keys.admin.as_ref(), &self.opts.params);
            match p.revoke(&cx, &self.keys.old) {
                Ok(r) => {
                    let note = format!(
                        "revoked by the {} API: {}{}",
                        p.name(),
                        crate::providers::scrub(&r.detail, &self.keys.old),
                        if r.permanent {
                            ""
                        } else {
                            " (the provider can undo this; delete it for good in the dashboard)"
                        }
                    );
                    self.say(&note);
                    self.state.record(Step::Revoke, Outcome::Done, note);
                    return Ok(());
                }
                Err(e @ (ProviderError::NeedsAdmin { .. } | ProviderError::NeedsParam { .. })) => {
                    why_manual = Some(format!("revoking by API {e}"));
                }
                Err(e) => {
                    why_manual = Some(format!(
                        "the {} API did not revoke it: {}",
                        p.name(),
                        crate::providers::scrub(&e.to_string(), &self.keys.old)
                    ));
                }
            }
        }
        let m = p.manual();
        if let Some(w) = &why_manual {
            self.say(w);
        }
        self.say(&format!("Revoke the old key {redacted} by hand:"));
        for (i, s) in m.revoke.iter().enumerate() {
            self.say(&format!("  {}. {s}", i + 1));
        }
        let note_head = why_manual.map(|w| format!("{w}\n")).unwrap_or_default();
        match self
            .ask
            .confirm("Is the old key revoked (answer yes when done)?", false)?
        {
            Some(true) => {
                let note = format!(
                    "{note_head}revoked by hand at {} (confirmed{})",
                    m.dashboard,
                    if self.ask.interactive() {
                        ""
                    } else {
                        " by --yes"
                    }
                );
                self.state.record(Step::Revoke, Outcome::Done, note);
                Ok(())
            }
            Some(false) => Err(self.stop(
                Step::Revoke,
                format!("{note_head}the old key is not revoked yet"),
            )),
            None => Err(self.stop(
                Step::Revoke,
                format!("{note_head}revoke it by hand, then confirm with --yes"),
            )),
        }
    }

    fn prove(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + self.opts.prove_timeout;
        let mut pause = self.opts.poll_interval;
        let mut checks = 0u32;
        let last = loop {
            let v = self.cx_verify(&self.keys.old);
            checks += 1;
            if v.status == Status::Dead || Instant::now() + pause > deadline {
                break v;
            }
            std::thread::sleep(pause);
            pause = (pause.mul_f32(1.5)).min(Duration::from_secs(10));
        };
        if last.status == Status::Dead {
            let note = format!(
                "the old key is dead ({}), after {checks} check{}",
                last.detail,
                if checks == 1 { "" } else { "s" }
            );
            self.say(&note);
            self.state.record(Step::Prove, Outcome::Done, note);
        } else {
            let note = format!(
                "NOT PROVEN: the old key was still {} after {}s ({checks} checks; last: {}). \
                 Check the dashboard ({}) that it is deleted; to check again later, give the old \
                 key to `keyguard verify` on standard input, or run `keyguard scan --verify` where \
                 it leaked.",
                last.status,
                self.opts.prove_timeout.as_secs(),
                last.detail,
                self.opts.provider.manual().dashboard
            );
            self.say(&note);
            self.state.record(Step::Prove, Outcome::Warning, note);
        }
        Ok(())
    }

    fn audit(&mut self) -> anyhow::Result<()> {
        if !self.state.audit {
            self.state
                .record(Step::Audit, Outcome::Skipped, "skipped (--no-audit)");
            return Ok(());
        }
        let hash = crate::finding::secret_hash(self.keys.old.expose());
        let places = audit::places(&self.opts.repo, &hash)?;
        let mut note = String::new();
        if places.is_empty() {
            note.push_str(&format!(
                "the old key sits nowhere in {} (working tree, history, build output)",
                crate::sanitize::path(&self.opts.repo)
            ));
        } else {
            note.push_str(&format!(
                "the old key still sits in {} place{}:\n",
                places.len(),
                if places.len() == 1 { "" } else { "s" }
            ));
            for p in &places {
                note.push_str(&format!("- {p}\n"));
            }
            note.push_str(
                "Remove it from the files. Rewriting history (git filter-repo, BFG) removes it from \
                 this repository's future clones, but not from forks, existing clones, CI caches, \
                 package registries or the provider's and GitHub's own secret scanners, which have \
                 already seen it.",
            );
            // Only a key proven dead makes the copies harmless; step 6 says whether it is.
            note.push_str(if self.proven() {
                " The key is dead, which is what matters."
            } else {
                " What matters is that the key is revoked: step 6 could not prove it."
            });
        }
        note.push_str(&format!(
            "\n(not searched: {})",
            audit::NOT_SEARCHED.join(", ")
        ));
        note.push_str(&format!(
            "\nCheck for use by someone else at {}",
            self.opts.provider.manual().usage
        ));
        self.say(&note);
        self.state.record(
            Step::Audit,
            if places.is_empty() {
                Outcome::Done
            } else {
                Outcome::Warning
            },
            note,
        );
        Ok(())
    }

    /// Whether step 6 proved the old key dead.
    fn proven(&self) -> bool {
        self.state
            .steps
            .iter()
            .rev()
            .find(|r| r.step == Step::Prove)
            .is_some_and(|r| r.outcome == Outcome::Done)
    }

    fn finish(mut self) -> anyhow::Result<Finished> {
        let proven = self.proven();
        // The run's keychain copies: the new key is in its entry; the old one is revoked.
        for entry in [
            pending_new(&self.opts.key_name),
            pending_old(&self.opts.key_name),
        ] {
            let _ = self.keychain.remove(&self.opts.profile, &entry);
        }
        let record = incident::path(&self.opts.record_dir, &self.state);
        self.state.finished = true;
        self.state.record(
            Step::Record,
            Outcome::Done,
            format!("incident record {}", crate::sanitize::path(&record)),
        );
        self.save()?;
        self.say(&format!(
            "incident record: {}",
            crate::sanitize::path(&record)
        ));
        if proven {
            self.say("done: the new key is in place and the old key is dead");
            Ok(Finished::Dead)
        } else {
            self.say("finished, but the old key is NOT proven dead: see step 6 in the record");
            Ok(Finished::NotProven)
        }
    }
}

/// Finding the old key in a repository: the working tree (ignore files not honoured: a .env is
/// exactly where keys sit), the git history, and build output directories, in-process.
pub mod audit {
    use std::path::Path;
    use std::sync::Arc;

    use crate::finding::Finding;
    use crate::source::Stats;
    use crate::source::tree::TreeOptions;

    fn scanner(repo: &Path) -> anyhow::Result<crate::engine::Scanner> {
        let config = crate::config::Config::discover(None, &[repo.to_path_buf()])?;
        let printer = crate::cmd::Printer {
            quiet: true,
            color: false,
        };
        // Every optional rule too: any rule that catches the key counts.
        let rules = crate::cmd::load_rules(&config, true, &printer)?;
        Ok(crate::engine::Scanner::new(rules)?)
    }

    /// Dependency and compiler caches: ignored files are searched (a .env is exactly where keys
    /// sit), but these hold gigabytes of other people's code and would make the audit take
    /// minutes. Said in the audit's note.
    pub const NOT_SEARCHED: &[&str] = &["node_modules/", "target/", ".venv/", "__pycache__/"];

    fn tree_options(roots: Vec<std::path::PathBuf>) -> TreeOptions {
        TreeOptions {
            roots,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_file_size: crate::config::DEFAULT_MAX_FILE_SIZE,
            follow_symlinks: false,
            honour_ignore_files: false,
            exclude: NOT_SEARCHED.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Every finding in the tree, the history (when `repo` is a repository) and build output.
    pub fn findings(repo: &Path) -> anyhow::Result<Vec<(&'static str, Finding)>> {
        let scanner = scanner(repo)?;
        let quiet = |_: String| {};
        let stats = Stats::default();
        let mut out: Vec<(&'static str, Finding)> = Vec::new();
        let tree = crate::source::tree::scan(
            &tree_options(vec![repo.to_path_buf()]),
            &scanner,
            &stats,
            &quiet,
        );
        out.extend(tree.into_iter().map(|f| ("file", f)));
        if let Ok(r) = crate::source::git::open(repo) {
            let opts = crate::source::git::GitOptions {
                max_blob_size: crate::config::DEFAULT_MAX_FILE_SIZE,
                threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
                ..Default::default()
            };
            let stats = Arc::new(Stats::default());
            let (_, found) = crate::source::git::scan(
                &crate::source::git::git_dir(&r),
                &opts,
                &scanner,
                &stats,
                &quiet,
                &indicatif::ProgressBar::hidden(),
            )?;
            out.extend(found.into_iter().map(|f| ("commit", f)));
        }
        let bundles: Vec<_> = crate::source::bundle::DEFAULT_DIRS
            .iter()
            .map(|d| repo.join(d))
            // A repository's `dist` may be a link to `/` or a home directory: the walk would
            // follow it (roots are followed) and list places outside the repository.
            .filter(|d| {
                d.is_dir()
                    && !std::fs::symlink_metadata(d).is_ok_and(|m| m.file_type().is_symlink())
            })
            .collect();
        if !bundles.is_empty() {
            let scan = crate::source::bundle::BundleScan {
                scanner: &scanner,
                roots: bundles
                    .iter()
                    .filter_map(|r| std::fs::canonicalize(r).ok())
                    .collect(),
                max_map_size: crate::config::DEFAULT_MAX_FILE_SIZE,
                warn: &quiet,
            };
            let found = crate::source::bundle::scan(&tree_options(bundles), &scan, &stats, &quiet);
            out.extend(
                found
                    .into_iter()
                    .filter(|f| f.original.is_some())
                    .map(|f| ("bundle", f)),
            );
        }
        Ok(out)
    }

    /// Where the key with `hash` sits, one line each: `path:line`, with the commit and its date
    /// for history, the original position for build output.
    pub fn places(repo: &Path, hash: &str) -> anyhow::Result<Vec<String>> {
        let mut lines = Vec::new();
        for (kind, f) in findings(repo)? {
            if f.secret_hash != hash {
                continue;
            }
            let line = match (kind, &f.commit, &f.original) {
                ("commit", Some(c), _) => format!(
                    "{}:{} in commit {} ({}){}",
                    f.path,
                    f.line,
                    &c.id[..c.id.len().min(12)],
                    c.date,
                    match f.present_at_head {
                        Some(false) => ", no longer at HEAD",
                        _ => "",
                    }
                ),
                ("bundle", _, Some(o)) => format!(
                    "{}:{} (build output; from {}:{})",
                    f.path, f.line, o.path, o.line
                ),
                _ => format!("{}:{}", f.path, f.line),
            };
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
        Ok(lines)
    }

    /// The key whose `secret_hash` is `hash`, found in the tree or history of `repo`.
    pub fn find_secret(repo: &Path, hash: &str) -> anyhow::Result<Option<crate::finding::Secret>> {
        let hash = hash.trim().to_ascii_lowercase();
        Ok(findings(repo)?
            .into_iter()
            .find(|(_, f)| f.secret_hash == hash)
            .map(|(_, f)| f.secret))
    }
}

#[cfg(test)]
mod tests;
