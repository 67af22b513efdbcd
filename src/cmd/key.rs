//! `keyguard key set|get|list|rm|import`: the people-facing side of the keychain. A key is read
//! from a hidden prompt, standard input or an environment variable, never from argv; it is printed
//! only into a pipe or with `--reveal`.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::cli::{ColorChoice, KeyCommand, KeyGetArgs, KeyImportArgs, KeySetArgs};
use crate::cmd::{Outcome, Printer};
use crate::finding::Secret;
use crate::keychain::{Keychain, KeychainError, check_name, identify, trim_newline};

pub fn run(cmd: &KeyCommand, out: &mut dyn Write) -> Result<Outcome> {
    let printer = Printer::new(false, ColorChoice::Auto);
    match cmd {
        KeyCommand::Set(args) => set(args, &printer),
        KeyCommand::Get(args) => get(args, out, &printer),
        KeyCommand::List(args) => list(args.profile.as_deref(), out, &printer),
        KeyCommand::Rm(args) => {
            let profile = &args.profile.profile;
            let kc = Keychain::open()?;
            kc.remove(profile, &args.name)?;
            printer.info(&format!(
                "removed key `{}` (profile {profile}) from the {}",
                args.name,
                kc.kind()
            ));
            Ok(Outcome::Clean)
        }
        KeyCommand::Import(args) => import(args, &printer),
    }
}

fn now() -> String {
    let t = jiff::Timestamp::now();
    jiff::Timestamp::from_second(t.as_second())
        .map(|t| t.to_string())
        .unwrap_or_else(|_| t.to_string())
}

/// Where the value comes from, in order: `--from-env`, `--stdin`, a hidden prompt on a terminal.
fn read_value(args: &KeySetArgs) -> Result<Vec<u8>> {
    if let Some(var) = &args.from_env {
        let Some(v) = std::env::var_os(var) else {
            bail!("the environment variable {var} is not set");
        };
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt;
            return Ok(v.into_vec());
        }
        #[cfg(not(unix))]
        return v
            .into_string()
            .map(String::into_bytes)
            .map_err(|_| anyhow::anyhow!("{var} is not valid Unicode"));
    }
    if args.stdin {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("cannot read the key from standard input")?;
        return Ok(buf);
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "no terminal to prompt for the key on: pipe it in with `--stdin`, or name a variable \
             that holds it with `--from-env VAR` (a key is never taken from the command line)"
        );
    }
    let value = rpassword::prompt_password(format!(
        "Key `{}` (profile {}; input is hidden): ",
        args.name, args.profile.profile
    ))
    .context("cannot read the key from the terminal")?;
    Ok(value.into_bytes())
}

fn set(args: &KeySetArgs, printer: &Printer) -> Result<Outcome> {
    let profile = &args.profile.profile;
    check_name("profile", profile)?;
    check_name("key name", &args.name)?;
    let mut value = read_value(args)?;
    if trim_newline(&mut value) {
        printer.info("note: removed the trailing newline from the key (as `echo` adds one)");
    }
    if value.is_empty() {
        bail!("the key is empty; nothing was stored");
    }
    let secret = Secret::new(&value);
    drop(value);
    match identify(secret.expose()) {
        Some(id) => printer.info(&format!(
            "recognised {} ({}): {}",
            id.title, id.provider, id.redacted
        )),
        None => printer.info("provider not recognised from the key's format"),
    }
    let kc = Keychain::open()?;
    let outcome = kc.set(profile, &args.name, &secret, &now())?;
    printer.info(&format!(
        "{} key `{}` (profile {profile}) in the {}",
        if outcome.replaced {
            "replaced"
        } else {
            "stored"
        },
        args.name,
        kc.kind()
    ));
    let files = files_holding(secret.expose());
    if !files.is_empty() {
        let more = files.len().saturating_sub(5);
        let mut named = files[..files.len().min(5)].join(", ");
        if more > 0 {
            named.push_str(&format!(" and {more} more"));
        }
        printer.warn(&format!(
            "this key also sits in a file of the repository here: {named}; remove it from there \
             (and check history with `keyguard scan git`)"
        ));
    }
    printer.hint(&format!(
        "use it with `keyguard run -- CMD` and `[env] VAR = \"{}\"` in keyguard.toml, or \
         `VAR=keyguard:{}` in an env file",
        args.name, args.name
    ));
    Ok(Outcome::Clean)
}

/// Files of the current repository's working tree (or the current directory outside one) whose
/// bytes contain `needle`. Ignored files count: a .env is exactly where keys sit.
fn files_holding(needle: &[u8]) -> Vec<String> {
    const MAX_FILES: usize = 50_000;
    const MAX_SIZE: u64 = 16 << 20;
    // A value this short is found everywhere and is no key worth the warning.
    if needle.len() < 8 {
        return Vec::new();
    }
    let Ok(cwd) = std::env::current_dir() else {
        return Vec::new();
    };
    let Some(root) = git2::Repository::discover(&cwd)
        .ok()
        .and_then(|r| r.workdir().map(Path::to_path_buf))
    else {
        return Vec::new();
    };
    let finder = memchr::memmem::Finder::new(needle);
    let mut hits = Vec::new();
    let walk = ignore::WalkBuilder::new(&root)
        .standard_filters(false)
        .filter_entry(|e| e.file_name() != ".git" && e.file_name() != "node_modules")
        .build();
    for entry in walk.flatten().take(MAX_FILES) {
        if !entry.file_type().is_some_and(|t| t.is_file())
            || entry.metadata().map_or(true, |m| m.len() > MAX_SIZE)
        {
            continue;
        }
        if let Ok(bytes) = std::fs::read(entry.path())
            && finder.find(&bytes).is_some()
        {
            let rel = entry.path().strip_prefix(&root).unwrap_or(entry.path());
            hits.push(crate::sanitize::path(rel));
        }
    }
    hits
}

fn get(args: &KeyGetArgs, out: &mut dyn Write, printer: &Printer) -> Result<Outcome> {
    let profile = &args.profile.profile;
    let kc = Keychain::open()?;
    let secret = match kc.get(profile, &args.name) {
        Ok(s) => s,
        Err(e @ KeychainError::NotFound { .. }) => {
            // The index remembers where a key went: say so when that is another store.
            if let Ok(Some(meta)) = kc.meta(profile, &args.name)
                && meta.store != kc.kind()
            {
                bail!(
                    "{e}\nhint: `{}` was stored in the {}, but this run uses the {}: run with \
                     KEYGUARD_KEYSTORE={}",
                    args.name,
                    meta.store,
                    kc.kind(),
                    meta.store.id()
                );
            }
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    if std::io::stdout().is_terminal() && !args.reveal {
        writeln!(out, "{}", crate::keychain::redacted(secret.expose()))?;
        printer.hint(
            "the key is redacted on a terminal: pipe it (`keyguard key get NAME | tool`) or add \
             --reveal",
        );
    } else {
        out.write_all(secret.expose())?;
        out.write_all(b"\n")?;
    }
    Ok(Outcome::Clean)
}

fn list(profile: Option<&str>, out: &mut dyn Write, printer: &Printer) -> Result<Outcome> {
    if let Some(p) = profile {
        check_name("profile", p)?;
    }
    let kc = Keychain::open()?;
    let keys = kc.list(profile)?;
    writeln!(out, "store: {} — {}", kc.kind().id(), kc.kind())?;
    if keys.is_empty() {
        printer.info("no keys stored yet");
        printer.hint("store one with `keyguard key set NAME`");
        return Ok(Outcome::Clean);
    }
    let rows: Vec<[String; 6]> = keys
        .iter()
        .map(|k| {
            let mut provider = k.provider.clone().unwrap_or_else(|| "-".into());
            if k.store != kc.kind() {
                provider.push_str(&format!(" [in {}]", k.store.id()));
            }
            [
                k.profile.clone(),
                k.name.clone(),
                provider,
                k.redacted.clone(),
                k.set_at.clone(),
                k.rotated_at.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let header = ["PROFILE", "NAME", "PROVIDER", "KEY", "SET", "ROTATED"];
    let mut widths = header.map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[&str]| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        s
    };
    writeln!(out, "{}", line(&header))?;
    for r in &rows {
        let cells: Vec<&str> = r.iter().map(String::as_str).collect();
        writeln!(out, "{}", crate::sanitize::escape(&line(&cells)))?;
    }
    Ok(Outcome::Clean)
}

/// Whether an env-file value looks like a secret: the scanner finds a secret spanning it, in
/// the value alone or in the `NAME=value` line (generic rules need the name).
fn looks_secret(var: &str, value: &str) -> bool {
    if value.is_empty() || value.starts_with(crate::run::REFERENCE_PREFIX) {
        return false;
    }
    if identify(value.as_bytes()).is_some() {
        return true;
    }
    let line = format!("{var}={value}\n");
    let rules = std::sync::Arc::new(crate::rules::RuleSet::builtin());
    let Ok(scanner) = crate::engine::Scanner::new(rules) else {
        return false;
    };
    let at = var.len() + 1;
    scanner
        .scan(line.as_bytes())
        .iter()
        .any(|m| m.start >= at && m.end <= at + value.len())
}

fn import(args: &KeyImportArgs, printer: &Printer) -> Result<Outcome> {
    let profile = &args.profile.profile;
    check_name("profile", profile)?;
    let path = &args.file;
    let shown = crate::sanitize::path(path);
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {shown}"))?;
    let lines = crate::run::parse_env_file(&text, &shown)?;
    let picked: Vec<_> = lines
        .iter()
        .filter(|l| looks_secret(&l.var, &l.value))
        .collect();
    if picked.is_empty() {
        printer.info(&format!("{shown}: no secret-looking values; nothing to do"));
        return Ok(Outcome::Clean);
    }
    for l in &picked {
        check_name("key name", &l.var)?;
    }
    let mut names: Vec<&str> = Vec::new();
    for l in &picked {
        if !names.contains(&l.var.as_str()) {
            names.push(&l.var);
        }
    }
    // Everything is checked before anything is written: a key replaced in the store, or a
    // variable set twice in the file, could be lost for good.
    let repeated: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| lines.iter().filter(|l| l.var == *name).count() > 1)
        .collect();
    if !repeated.is_empty() && !args.force {
        bail!(
            "{shown}: {} set more than once; nothing was changed (keep one line each, or \
             --force to take the last one)",
            repeated.join(", ")
        );
    }
    // With --force, the last line of a repeated variable is the one stored.
    let mut last: Vec<&crate::run::EnvLine> = Vec::new();
    for l in &picked {
        last.retain(|k| k.var != l.var);
        last.push(l);
    }
    let kc = Keychain::open()?;
    let mut replaced: Vec<&str> = Vec::new();
    for l in &last {
        match kc.get(profile, &l.var) {
            Ok(existing) if existing.expose() == l.value.as_bytes() => {}
            Ok(_) => replaced.push(l.var.as_str()),
            Err(KeychainError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if !replaced.is_empty() && !args.force {
        bail!(
            "{shown}: the {} already holds {} (profile {profile}) with a different value; nothing \
             was changed (compare with `keyguard key get NAME`, or --force to replace)",
            kc.kind(),
            replaced.join(", ")
        );
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            bail!(
                "{shown}: would move {} into the keychain; confirm with --yes (no terminal to ask on)",
                names.join(", ")
            );
        }
        eprint!(
            "Move {} from {shown} into the keychain (profile {profile}) and replace them there with \
             keyguard: references? [y/N] ",
            names.join(", ")
        );
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            printer.info("nothing changed");
            return Ok(Outcome::Clean);
        }
        let again =
            std::fs::read_to_string(path).with_context(|| format!("cannot read {shown}"))?;
        if again != text {
            bail!("{shown} changed while waiting for the answer; nothing was changed (run again)");
        }
    }
    // The backup holds the secrets: private, never over an earlier one (which may be the only
    // copy of a key), and the user is told to delete it.
    let backup = create_backup(path, text.as_bytes())?;
    let when = now();
    for l in &last {
        kc.set(profile, &l.var, &Secret::new(l.value.as_bytes()), &when)?;
    }
    let mut src: Vec<String> = text.split('\n').map(str::to_string).collect();
    for l in &picked {
        let row = &mut src[l.line - 1];
        row.replace_range(
            l.span.0..l.span.1,
            &format!("{}{}", crate::run::REFERENCE_PREFIX, l.var),
        );
    }
    crate::cmd::write_private_file(path, src.join("\n").as_bytes())?;
    printer.info(&format!(
        "moved {} into the {} (profile {profile}); {shown} now refers to them",
        names.join(", "),
        kc.kind()
    ));
    if !replaced.is_empty() {
        printer.warn(&format!(
            "replaced {} (profile {profile}): the earlier values are gone",
            replaced.join(", ")
        ));
    }
    printer.hint(&format!(
        "the original is in {} (mode 0600): delete it once `keyguard run --env-file {shown} -- CMD` works",
        crate::sanitize::path(&backup)
    ));
    Ok(Outcome::Clean)
}

/// Writes `bytes` to a new file `FILE.keyguard-backup` (or `.keyguard-backup.1`, `.2`, ... when
/// taken), created exclusively with mode 0600. Returns its path.
fn create_backup(path: &Path, bytes: &[u8]) -> Result<std::path::PathBuf> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    for n in 0..1000u32 {
        let mut name = path.as_os_str().to_owned();
        name.push(".keyguard-backup");
        if n > 0 {
            name.push(format!(".{n}"));
        }
        let candidate = std::path::PathBuf::from(name);
        let shown = crate::sanitize::path(&candidate);
        match opts.open(&candidate) {
            Ok(mut f) => {
                f.write_all(bytes)
                    .and_then(|()| f.sync_all())
                    .with_context(|| format!("cannot write the backup {shown}"))?;
                return Ok(candidate);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot create the backup {shown}")),
        }
    }
    bail!(
        "cannot create a backup of {}: too many earlier backups",
        crate::sanitize::path(path)
    )
}

#[cfg(test)]
mod tests {
    use super::looks_secret;

    #[test]
    fn import_picks_secret_looking_values_only() {
        let body: String = (0..156)
            .map(|i| b"AbCdEfGhJkMnPqRsTuVwXyZ23456789"[(i * 7 + 3) % 31] as char)
            .collect();
        assert!(looks_secret("ANYTHING", &format!("sk-proj-{body}")));
        assert!(!looks_secret("DEBUG", "true"));
        assert!(!looks_secret("PORT", "8080"));
        assert!(!looks_secret("OPENAI_API_KEY", "keyguard:openai"));
        assert!(!looks_secret("OPENAI_API_KEY", ""));
    }
}
