//! Keys in the OS credential store: which store, how entries are named, and the small index of
//! names and metadata (never values) that keeps `key list` working on stores that cannot
//! enumerate. Knows nothing of prompts, terminals or the command line.
//!
//! Stores (keyring v4 ecosystem: `keyring-core` plus one store crate per platform): the macOS
//! Keychain, the Windows Credential Manager, and on Linux the Secret Service (GNOME Keyring,
//! KWallet) over D-Bus, with the kernel keyutils store where no Secret Service answers. The choice
//! is made once per run, in that order, unless `KEYGUARD_KEYSTORE` names a store.
//!
//! An entry is service `keyguard:PROFILE`, user `NAME`, so profiles are separate entries.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use keyring_core::{CredentialStore, Error as StoreError};
use serde::{Deserialize, Serialize};

use crate::finding::Secret;

pub const DEFAULT_PROFILE: &str = "default";
const SERVICE_PREFIX: &str = "keyguard:";
const INDEX_FILE: &str = "keys.json";

#[derive(Debug, thiserror::Error)]
pub enum KeychainError {
    #[error("no key `{name}` in profile `{profile}` (see `keyguard key list`)")]
    NotFound { name: String, profile: String },
    #[error("the {store} is locked or refused access: {detail}\nhint: {hint}")]
    Locked {
        store: StoreKind,
        detail: String,
        hint: &'static str,
    },
    #[error("the {store} is not available: {detail}\nhint: {hint}")]
    Unavailable {
        store: StoreKind,
        detail: String,
        hint: &'static str,
    },
    #[error("the {store} failed: {detail}")]
    Failed { store: StoreKind, detail: String },
    #[error(
        "invalid {what} `{value}`: use letters, digits, `-`, `_` and `.` (at most 64 characters)"
    )]
    InvalidName { what: &'static str, value: String },
    #[error("KEYGUARD_KEYSTORE=`{0}` is not a store here (one of: {1})")]
    UnknownStore(String, String),
    #[error("cannot read the key index {path}: {detail}")]
    Index { path: String, detail: String },
}

/// Which credential store holds the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreKind {
    SecretService,
    Keyutils,
    MacosKeychain,
    WindowsCredentialManager,
    /// keyring-core's in-memory store: tests only, gone when the process ends.
    Mock,
}

impl StoreKind {
    pub fn id(self) -> &'static str {
        match self {
            StoreKind::SecretService => "secret-service",
            StoreKind::Keyutils => "keyutils",
            StoreKind::MacosKeychain => "macos-keychain",
            StoreKind::WindowsCredentialManager => "windows-credential-manager",
            StoreKind::Mock => "mock",
        }
    }

    fn unlock_hint(self) -> &'static str {
        match self {
            StoreKind::SecretService => {
                "unlock the login keyring (log in to the desktop session, or run \
                 `gnome-keyring-daemon --unlock` and type its password), or use the kernel \
                 keyring with KEYGUARD_KEYSTORE=keyutils"
            }
            StoreKind::Keyutils => {
                "the kernel keyring needs a session keyring: start one with `keyctl session`, \
                 or run in a login session"
            }
            StoreKind::MacosKeychain => "unlock it with `security unlock-keychain`",
            StoreKind::WindowsCredentialManager => {
                "log in to Windows interactively; the Credential Manager is per user"
            }
            StoreKind::Mock => "the mock store is for tests",
        }
    }

    fn unavailable_hint(self) -> &'static str {
        match self {
            StoreKind::SecretService => {
                "no Secret Service answered on the D-Bus session bus: start GNOME Keyring or \
                 KWallet (headless: `dbus-run-session -- sh -c 'echo PASSWORD | \
                 gnome-keyring-daemon --unlock --components=secrets; CMD'`), or use \
                 KEYGUARD_KEYSTORE=keyutils"
            }
            other => other.unlock_hint(),
        }
    }
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreKind::SecretService => "Secret Service (GNOME Keyring / KWallet, over D-Bus)",
            StoreKind::Keyutils => "Linux kernel keyring (keyutils)",
            StoreKind::MacosKeychain => "macOS Keychain",
            StoreKind::WindowsCredentialManager => "Windows Credential Manager",
            StoreKind::Mock => "in-memory mock store",
        })
    }
}

/// The stores this build can use, in the order they are tried.
pub fn available_stores() -> &'static [StoreKind] {
    #[cfg(target_os = "macos")]
    return &[StoreKind::MacosKeychain];
    #[cfg(target_os = "windows")]
    return &[StoreKind::WindowsCredentialManager];
    #[cfg(target_os = "linux")]
    return &[StoreKind::SecretService, StoreKind::Keyutils];
    #[cfg(all(
        unix,
        not(any(
            target_os = "linux",
            target_os = "macos",
            target_os = "ios",
            target_os = "android"
        ))
    ))]
    return &[StoreKind::SecretService];
    #[allow(unreachable_code)]
    &[]
}

/// Opens one store. An error says why it cannot be used.
pub fn open_store(kind: StoreKind) -> Result<Arc<CredentialStore>, KeychainError> {
    let unavailable = |e: StoreError| KeychainError::Unavailable {
        store: kind,
        detail: e.to_string(),
        hint: kind.unavailable_hint(),
    };
    match kind {
        StoreKind::Mock => Ok(keyring_core::mock::Store::new().map_err(unavailable)?),
        #[cfg(all(
            unix,
            not(any(target_os = "macos", target_os = "ios", target_os = "android"))
        ))]
        StoreKind::SecretService => {
            Ok(zbus_secret_service_keyring_store::Store::new().map_err(unavailable)?)
        }
        #[cfg(target_os = "linux")]
        StoreKind::Keyutils => Ok(linux_keyutils_keyring_store::Store::new().map_err(unavailable)?),
        #[cfg(target_os = "macos")]
        StoreKind::MacosKeychain => {
            Ok(apple_native_keyring_store::keychain::Store::new().map_err(unavailable)?)
        }
        #[cfg(target_os = "windows")]
        StoreKind::WindowsCredentialManager => {
            Ok(windows_native_keyring_store::Store::new().map_err(unavailable)?)
        }
        #[allow(unreachable_patterns)]
        _ => Err(KeychainError::Unavailable {
            store: kind,
            detail: "not built for this platform".into(),
            hint: "set KEYGUARD_KEYSTORE to a store this platform has",
        }),
    }
}

/// The store for this run: `KEYGUARD_KEYSTORE` when set, else the first of `available_stores`
/// that opens. Deterministic for a given machine state; `key list` shows the choice.
pub fn choose_store(
    requested: Option<&str>,
) -> Result<(StoreKind, Arc<CredentialStore>), KeychainError> {
    let all = available_stores();
    if let Some(name) = requested.filter(|n| !n.is_empty()) {
        let kind = all
            .iter()
            .copied()
            .find(|k| k.id() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = all.iter().map(|k| k.id()).collect();
                KeychainError::UnknownStore(name.to_string(), names.join(", "))
            })?;
        return Ok((kind, open_store(kind)?));
    }
    let mut last = None;
    for &kind in all {
        match open_store(kind) {
            Ok(store) => return Ok((kind, store)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or(KeychainError::Unavailable {
        store: StoreKind::Mock,
        detail: "this platform has no credential store keyguard can use".into(),
        hint: "keep keys in environment variables set by your deployment instead",
    }))
}

/// What the index remembers of a key: never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyMeta {
    pub profile: String,
    pub name: String,
    pub provider: Option<String>,
    pub redacted: String,
    pub store: StoreKind,
    /// RFC 3339.
    pub set_at: String,
    /// RFC 3339: when a value replaced an earlier one.
    pub rotated_at: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct IndexFile {
    version: u32,
    keys: Vec<KeyMeta>,
}

/// The directory of keyguard's user config: `$XDG_CONFIG_HOME/keyguard` or `~/.config/keyguard`
/// (Linux and other Unix), `~/Library/Application Support/keyguard` (macOS),
/// `%APPDATA%\keyguard` (Windows).
pub fn config_dir() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if cfg!(windows) {
        return env("APPDATA").map(|p| p.join("keyguard"));
    }
    if cfg!(target_os = "macos") {
        return env("HOME").map(|h| h.join("Library/Application Support/keyguard"));
    }
    env("XDG_CONFIG_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| env("HOME").map(|h| h.join(".config")))
        .map(|p| p.join("keyguard"))
}

/// Key and profile names: kept plain so they read well in a store's UI and in `run` references.
pub fn check_name(what: &'static str, value: &str) -> Result<(), KeychainError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(KeychainError::InvalidName {
            what,
            value: crate::sanitize::escape(value).into_owned(),
        })
    }
}

/// The keychain: one store plus the index beside it.
pub struct Keychain {
    kind: StoreKind,
    store: Arc<CredentialStore>,
    index_path: Option<PathBuf>,
}

/// What `set` did, for the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetOutcome {
    pub meta: KeyMeta,
    pub replaced: bool,
}

impl Keychain {
    /// `index_path` None keeps the index in nowhere (tests of the store alone).
    pub fn new(
        kind: StoreKind,
        store: Arc<CredentialStore>,
        index_path: Option<PathBuf>,
    ) -> Keychain {
        Keychain {
            kind,
            store,
            index_path,
        }
    }

    /// The store chosen for this run, with the index in the user's config directory.
    pub fn open() -> Result<Keychain, KeychainError> {
        let requested = std::env::var("KEYGUARD_KEYSTORE").ok();
        let (kind, store) = choose_store(requested.as_deref())?;
        Ok(Keychain::new(
            kind,
            store,
            config_dir().map(|d| d.join(INDEX_FILE)),
        ))
    }

    pub fn kind(&self) -> StoreKind {
        self.kind
    }

    pub fn index_path(&self) -> Option<&Path> {
        self.index_path.as_deref()
    }

    fn entry(&self, profile: &str, name: &str) -> Result<keyring_core::Entry, KeychainError> {
        check_name("profile", profile)?;
        check_name("key name", name)?;
        let service = format!("{SERVICE_PREFIX}{profile}");
        let mut mods = HashMap::new();
        let label = format!("keyguard {profile}/{name}");
        if self.kind == StoreKind::SecretService {
            mods.insert("label", label.as_str());
        }
        let mods = (!mods.is_empty()).then_some(&mods);
        self.store
            .build(&service, name, mods)
            .map_err(|e| self.map_err(e, profile, name))
    }

    fn map_err(&self, e: StoreError, profile: &str, name: &str) -> KeychainError {
        match e {
            StoreError::NoEntry => KeychainError::NotFound {
                name: name.to_string(),
                profile: profile.to_string(),
            },
            StoreError::NoStorageAccess(detail) => KeychainError::Locked {
                store: self.kind,
                detail: detail.to_string(),
                hint: self.kind.unlock_hint(),
            },
            StoreError::NoDefaultStore => KeychainError::Unavailable {
                store: self.kind,
                detail: e.to_string(),
                hint: self.kind.unavailable_hint(),
            },
            // Errors never carry the value: keyring-core's BadEncoding would hold its bytes.
            StoreError::BadEncoding(_) | StoreError::BadDataFormat(..) => KeychainError::Failed {
                store: self.kind,
                detail: format!("the stored value of `{profile}/{name}` is malformed"),
            },
            other => KeychainError::Failed {
                store: self.kind,
                detail: other.to_string(),
            },
        }
    }

    /// Stores `value` under `profile/name` and records it in the index.
    pub fn set(
        &self,
        profile: &str,
        name: &str,
        value: &Secret,
        now: &str,
    ) -> Result<SetOutcome, KeychainError> {
        let entry = self.entry(profile, name)?;
        let previous = match entry.get_secret() {
            Ok(v) => Some(v),
            Err(StoreError::NoEntry) => None,
            Err(e) => return Err(self.map_err(e, profile, name)),
        };
        entry
            .set_secret(value.expose())
            .map_err(|e| self.map_err(e, profile, name))?;
        let replaced = previous.as_deref().is_some_and(|p| p != value.expose());
        let identity = identify(value.expose());
        let mut index = self.read_index()?;
        let old = index
            .keys
            .iter()
            .position(|k| k.profile == profile && k.name == name)
            .map(|i| index.keys.remove(i));
        let meta = KeyMeta {
            profile: profile.to_string(),
            name: name.to_string(),
            provider: identity.as_ref().map(|i| i.provider.clone()),
            redacted: identity.as_ref().map_or_else(
                || crate::finding::redact(value.expose(), 0),
                |i| i.redacted.clone(),
            ),
            store: self.kind,
            set_at: old
                .as_ref()
                .filter(|_| !replaced)
                .map_or_else(|| now.to_string(), |o| o.set_at.clone()),
            rotated_at: if replaced {
                Some(now.to_string())
            } else {
                old.and_then(|o| o.rotated_at)
            },
        };
        index.keys.push(meta.clone());
        self.write_index(&mut index)?;
        Ok(SetOutcome { meta, replaced })
    }

    pub fn get(&self, profile: &str, name: &str) -> Result<Secret, KeychainError> {
        let entry = self.entry(profile, name)?;
        let bytes = entry
            .get_secret()
            .map_err(|e| self.map_err(e, profile, name))?;
        Ok(Secret::new(&bytes))
    }

    /// Deletes the entry and its index record. A record whose entry is already gone is removed
    /// too (and still counts as found).
    pub fn remove(&self, profile: &str, name: &str) -> Result<(), KeychainError> {
        let entry = self.entry(profile, name)?;
        let deleted = match entry.delete_credential() {
            Ok(()) => true,
            Err(StoreError::NoEntry) => false,
            Err(e) => return Err(self.map_err(e, profile, name)),
        };
        let mut index = self.read_index()?;
        let before = index.keys.len();
        index
            .keys
            .retain(|k| !(k.profile == profile && k.name == name));
        let indexed = index.keys.len() != before;
        if indexed {
            self.write_index(&mut index)?;
        }
        if deleted || indexed {
            Ok(())
        } else {
            Err(KeychainError::NotFound {
                name: name.to_string(),
                profile: profile.to_string(),
            })
        }
    }

    /// Index records, optionally of one profile, sorted by profile and name.
    pub fn list(&self, profile: Option<&str>) -> Result<Vec<KeyMeta>, KeychainError> {
        let mut keys: Vec<KeyMeta> = self
            .read_index()?
            .keys
            .into_iter()
            .filter(|k| profile.is_none_or(|p| k.profile == p))
            .collect();
        keys.sort_by(|a, b| (&a.profile, &a.name).cmp(&(&b.profile, &b.name)));
        Ok(keys)
    }

    /// The index record of one key, if any.
    pub fn meta(&self, profile: &str, name: &str) -> Result<Option<KeyMeta>, KeychainError> {
        Ok(self
            .read_index()?
            .keys
            .into_iter()
            .find(|k| k.profile == profile && k.name == name))
    }

    fn read_index(&self) -> Result<IndexFile, KeychainError> {
        let Some(path) = &self.index_path else {
            return Ok(MEMORY_INDEX.with(|m| IndexFile {
                version: 1,
                keys: m.borrow().clone(),
            }));
        };
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| KeychainError::Index {
                path: crate::sanitize::path(path),
                detail: format!("{e} (delete it to start a new index; keys stay in the store)"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(IndexFile {
                version: 1,
                keys: Vec::new(),
            }),
            Err(e) => Err(KeychainError::Index {
                path: crate::sanitize::path(path),
                detail: e.to_string(),
            }),
        }
    }

    fn write_index(&self, index: &mut IndexFile) -> Result<(), KeychainError> {
        index.version = 1;
        let Some(path) = &self.index_path else {
            MEMORY_INDEX.with(|m| *m.borrow_mut() = index.keys.clone());
            return Ok(());
        };
        let err = |detail: String| KeychainError::Index {
            path: crate::sanitize::path(path),
            detail,
        };
        if let Some(dir) = path.parent() {
            create_private_dir(dir).map_err(|e| err(e.to_string()))?;
        }
        let mut bytes = serde_json::to_vec_pretty(index).map_err(|e| err(e.to_string()))?;
        bytes.push(b'\n');
        crate::cmd::write_private_file(path, &bytes).map_err(|e| err(format!("{e:#}")))
    }
}

thread_local! {
    /// The index of a `Keychain` without an index file (unit tests on the mock store).
    static MEMORY_INDEX: std::cell::RefCell<Vec<KeyMeta>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Creates `dir` and its parents, 0700 on Unix.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// What a key's format says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub provider: String,
    pub title: String,
    pub redacted: String,
}

/// The form `keyguard key list` shows a key in: the rule's redaction (its keyword prefix kept)
/// when the format is known, else the generic one.
pub fn redacted(value: &[u8]) -> String {
    identify(value).map_or_else(|| crate::finding::redact(value, 0), |i| i.redacted)
}

/// Recognises the provider of a key from its format with the scanner's built-in rules: the
/// value must be (nearly) all of one match, so a generic rule's hit inside a longer text does not
/// count. Provider-less (generic) rules are ignored.
pub fn identify(value: &[u8]) -> Option<Identity> {
    let scanner = whole_value_scanner()?;
    let rules = scanner.rules().clone();
    whole_matches(scanner, value)
        .map(|m| rules.get(m))
        .find(|r| !r.is_generic())
        .map(|rule| Identity {
            provider: rule.spec.provider.clone(),
            title: rule.spec.title.clone(),
            redacted: crate::finding::redact(value, rule.keyword_prefix_len(value)),
        })
}

/// The ids of the provider (non-generic) rules whose match is the whole of `value`, in catalogue
/// order: what a bare key (from stdin or the keychain) is, by format.
pub fn matching_rules(value: &[u8]) -> Vec<String> {
    let Some(scanner) = whole_value_scanner() else {
        return Vec::new();
    };
    let rules = scanner.rules().clone();
    let mut ids: Vec<String> = Vec::new();
    for rule in whole_matches(scanner, value).map(|m| rules.get(m)) {
        if !rule.is_generic() && !ids.iter().any(|i| i == rule.id()) {
            ids.push(rule.id().to_string());
        }
    }
    ids
}

/// The built-in rule set, compiled once per process and shared with the adapters' format checks.
pub(crate) fn builtin_rules() -> Option<&'static crate::rules::RuleSet> {
    whole_value_scanner().map(|s| s.rules().as_ref())
}

/// The built-in rules compiled into a scanner, once per process (`keyguard serve --log-bodies`
/// scrubs what they match out of logged bodies).
pub(crate) fn builtin_scanner() -> Option<&'static crate::engine::Scanner> {
    whole_value_scanner()
}

fn whole_value_scanner() -> Option<&'static crate::engine::Scanner> {
    use std::sync::OnceLock;
    static SCANNER: OnceLock<Option<crate::engine::Scanner>> = OnceLock::new();
    SCANNER
        .get_or_init(|| {
            crate::engine::Scanner::new(Arc::new(crate::rules::RuleSet::builtin())).ok()
        })
        .as_ref()
}

/// Rule indexes of the matches that cover all of `value`.
fn whole_matches<'a>(
    scanner: &'a crate::engine::Scanner,
    value: &'a [u8],
) -> impl Iterator<Item = usize> + 'a {
    scanner
        .scan(value)
        .into_iter()
        .filter(move |m| m.end - m.start == value.len())
        .map(|m| m.rule)
}

/// Trims one trailing line ending (`echo` adds one). Returns whether one was removed.
pub fn trim_newline(value: &mut Vec<u8>) -> bool {
    let mut trimmed = false;
    while value.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        value.pop();
        trimmed = true;
    }
    trimmed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mock() -> Keychain {
        MEMORY_INDEX.with(|m| m.borrow_mut().clear());
        Keychain::new(StoreKind::Mock, open_store(StoreKind::Mock).unwrap(), None)
    }

    fn fake_openai() -> Vec<u8> {
        let body: String = (0..156)
            .map(|i| b"AbCdEfGhJkMnPqRsTuVwXyZ23456789"[(i * 7 + 3) % 31] as char)
            .collect();
        format!("sk-proj-{body}").into_bytes()
    }

    #[test]
    fn set_get_remove_round_trip_on_the_mock_store() {
        let kc = mock();
        let value = Secret::new(b"a-value-that-is-not-a-key");
        let out = kc
            .set("default", "demo", &value, "2026-01-01T00:00:00Z")
            .unwrap();
        assert!(!out.replaced);
        assert_eq!(kc.get("default", "demo").unwrap(), value);
        let listed = kc.list(None).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].name, "demo");
        assert_eq!(listed[0].store, StoreKind::Mock);
        assert!(!listed[0].redacted.contains("not-a-key"));
        kc.remove("default", "demo").unwrap();
        assert!(matches!(
            kc.get("default", "demo"),
            Err(KeychainError::NotFound { .. })
        ));
        assert!(kc.list(None).unwrap().is_empty());
        assert!(matches!(
            kc.remove("default", "demo"),
            Err(KeychainError::NotFound { .. })
        ));
    }

    #[test]
    fn profiles_are_separate_entries() {
        let kc = mock();
        kc.set("dev", "openai", &Secret::new(b"dev-value"), "t1")
            .unwrap();
        kc.set("prod", "openai", &Secret::new(b"prod-value"), "t1")
            .unwrap();
        assert_eq!(kc.get("dev", "openai").unwrap().expose(), b"dev-value");
        assert_eq!(kc.get("prod", "openai").unwrap().expose(), b"prod-value");
        assert!(kc.get("default", "openai").is_err());
        assert_eq!(kc.list(Some("dev")).unwrap().len(), 1);
        assert_eq!(kc.list(None).unwrap().len(), 2);
    }

    #[test]
    fn a_new_value_is_a_rotation() {
        let kc = mock();
        kc.set("default", "k", &Secret::new(b"first-value"), "t1")
            .unwrap();
        let same = kc
            .set("default", "k", &Secret::new(b"first-value"), "t2")
            .unwrap();
        assert!(!same.replaced);
        assert_eq!(same.meta.rotated_at, None);
        let out = kc
            .set("default", "k", &Secret::new(b"second-value"), "t3")
            .unwrap();
        assert!(out.replaced);
        assert_eq!(out.meta.set_at, "t3");
        assert_eq!(out.meta.rotated_at.as_deref(), Some("t3"));
    }

    #[test]
    fn a_locked_store_is_named_with_how_to_unlock() {
        let kc = mock();
        kc.set("default", "k", &Secret::new(b"v"), "t").unwrap();
        let entry = kc.entry("default", "k").unwrap();
        let cred: &keyring_core::mock::Cred = entry.as_any().downcast_ref().unwrap();
        cred.set_error(StoreError::NoStorageAccess(Box::new(
            std::io::Error::other("collection is locked"),
        )));
        let err = kc.get("default", "k").unwrap_err();
        assert!(matches!(err, KeychainError::Locked { .. }));
        let msg = err.to_string();
        assert!(msg.contains("locked"), "{msg}");
        assert!(msg.contains("mock store"), "{msg}");
        assert!(!msg.contains("No matching credential"), "{msg}");
    }

    #[test]
    fn names_are_checked() {
        let kc = mock();
        for bad in ["", "a b", "a/b", "x\u{1b}[31m", &"a".repeat(65)] {
            assert!(
                matches!(
                    kc.set("default", bad, &Secret::new(b"v"), "t"),
                    Err(KeychainError::InvalidName { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(
            kc.set("bad profile", "ok", &Secret::new(b"v"), "t")
                .is_err()
        );
    }

    #[test]
    fn providers_are_recognised_from_the_format() {
        let id = identify(&fake_openai()).expect("an OpenAI key");
        assert_eq!(id.provider, "openai");
        assert!(id.redacted.starts_with("sk-proj-…"), "{}", id.redacted);
        assert_eq!(identify(b"hunter2"), None);
    }

    #[test]
    fn errors_never_show_a_value() {
        let kc = mock();
        let value = fake_openai();
        kc.set("default", "k", &Secret::new(&value), "t").unwrap();
        let entry = kc.entry("default", "k").unwrap();
        let cred: &keyring_core::mock::Cred = entry.as_any().downcast_ref().unwrap();
        cred.set_error(StoreError::BadEncoding(value.clone()));
        let msg = kc.get("default", "k").unwrap_err().to_string();
        assert!(!msg.contains(std::str::from_utf8(&value[8..30]).unwrap()));
    }

    #[test]
    fn trailing_newlines_are_trimmed() {
        let mut v = b"abc\r\n".to_vec();
        assert!(trim_newline(&mut v));
        assert_eq!(v, b"abc");
        assert!(!trim_newline(&mut v));
    }

    #[test]
    fn the_index_file_is_private_and_holds_no_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cfg/keyguard/keys.json");
        let kc = Keychain::new(
            StoreKind::Mock,
            open_store(StoreKind::Mock).unwrap(),
            Some(path.clone()),
        );
        let value = fake_openai();
        kc.set("default", "openai", &Secret::new(&value), "t")
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(std::str::from_utf8(&value).unwrap()));
        assert!(text.contains("\"openai\""));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let dmode = std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(dmode & 0o777, 0o700);
        }
        assert_eq!(kc.list(None).unwrap().len(), 1);
    }
}
