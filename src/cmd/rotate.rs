//! `keyguard rotate PROVIDER`: the command edge of the playbook (`crate::rotate`). Turns flags into
//! `Options`, reads every answer a script must give before anything changes (the old key, a given
//! new key, the admin credential), and maps the end of the run to an exit status: 0 the old key
//! is proven dead, 1 finished without that proof, 2 stopped (the message names what is missing).

use std::io::{IsTerminal, Read, Write};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::cli::{ColorChoice, RotateArgs};
use crate::cmd::{Outcome, Printer};
use crate::finding::Secret;
use crate::keychain::{Keychain, check_name, trim_newline};
use crate::providers::{self, Params, Provider, Session};
use crate::rotate::{
    self, Ask, Finished, Keys, NewSource, OldSource, Options, Run, Script, Terminal,
};

pub fn run(args: &RotateArgs, out: &mut dyn Write) -> Result<Outcome> {
    let printer = Printer::new(false, ColorChoice::Auto);
    if args.list || (args.provider.is_none() && args.resume.is_none()) {
        list(out)?;
        return Ok(Outcome::Clean);
    }
    let interactive =
        !args.no_input && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let mut ask: Box<dyn Ask> = if interactive {
        Box::new(Terminal { yes: args.yes })
    } else {
        Box::new(Script { yes: args.yes })
    };
    if let Some(id) = &args.resume {
        // A resumed run changes things at once: a dry run of it must not quietly become a real one.
        if args.dry_run {
            bail!(
                "--dry-run cannot be combined with --resume: a resumed rotation continues for real\n\
                 hint: the run's record (in --record-dir) shows the steps done and the one it stopped at"
            );
        }
        let ignored = ignored_on_resume(args);
        if !ignored.is_empty() {
            printer.warn(&format!(
                "--resume continues the run as it was started; ignoring {}",
                ignored.join(", ")
            ));
        }
        return resume(args, id, ask.as_mut(), &printer);
    }
    let name = args.provider.as_deref().unwrap_or_default();
    let provider = find(name)?;
    let deploy = rotate::deploy::parse_targets(&args.deploy).map_err(anyhow::Error::msg)?;
    let params = params(provider, &args.param)?;
    check_name("profile", &args.profile.profile)?;
    let old_source = if args.old_key_stdin {
        OldSource::Stdin
    } else if let Some(h) = &args.secret_hash {
        // A typo or a fingerprint pasted by mistake would otherwise cost a whole history scan.
        if h.len() != 32 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!(
                "--secret-hash takes a finding's secret_hash (32 hex digits), not `{}`\n\
                 hint: `keyguard scan --format json` (or `keyguard scan git --format json`) shows \
                 each finding's secret_hash",
                crate::sanitize::escape(h)
            );
        }
        OldSource::SecretHash(h.to_ascii_lowercase())
    } else {
        OldSource::Keychain
    };
    let Some(key_name) = args.key.clone() else {
        bail!(match old_source {
            OldSource::Keychain => "name the old key: --key NAME (the keychain entry that holds \
                 it, where the new key will go)\nhint: or give the old key with --old-key-stdin or \
                 --secret-hash HASH, with --key NAME for the new one"
                .to_string(),
            _ => "--key NAME is required: it names the keychain entry the new key is stored in"
                .to_string(),
        });
    };
    check_name("key name", &key_name)?;
    check_name("key name", &rotate::pending_new(&key_name)).context(
        "the key name is too long for its temporary entries (NAME.rotating-new): use a shorter --key",
    )?;
    let new_source = if args.new_key_stdin {
        NewSource::Stdin
    } else if let Some(v) = &args.new_key_env {
        NewSource::Env(v.clone())
    } else {
        NewSource::Auto
    };
    let env_name = match &args.env_name {
        Some(v) => {
            rotate::deploy::check_env_name(v).map_err(|e| anyhow::anyhow!("--env-name: {e}"))?;
            v.clone()
        }
        None => match env_name_from_config(&key_name) {
            // The repository's keyguard.toml chose it: checked, and said, since it goes into
            // the commands the user is told to run.
            Some((v, config)) => {
                rotate::deploy::check_env_name(&v).map_err(|e| {
                    anyhow::anyhow!("{} [env]: {e}", crate::sanitize::path(&config))
                })?;
                printer.info(&format!(
                    "keyguard: the variable the app reads is {v} (from {} [env]; --env-name VAR to change)",
                    crate::sanitize::path(&config)
                ));
                v
            }
            None => rotate::deploy::usual_env_name(provider.id()),
        },
    };
    let opts = Options {
        provider,
        profile: args.profile.profile.clone(),
        key_name,
        admin_key: args.admin_key.clone(),
        params,
        deploy,
        env_name,
        revoke_first: args.revoke_first,
        record_dir: args.record_dir.clone(),
        repo: args.repo.clone(),
        audit: !args.no_audit,
        prove_timeout: Duration::from_secs(args.prove_timeout),
        poll_interval: Duration::from_secs(2),
    };
    if args.dry_run {
        let admin_configured = admin_configured(args, provider);
        writeln!(
            out,
            "{}",
            crate::sanitize::escape_lines(&rotate::plan(
                &opts,
                &old_source,
                &new_source,
                admin_configured
            ))
        )?;
        printer.info("dry run: no key was read, no request made, nothing changed");
        return Ok(Outcome::Clean);
    }

    // Every answer a script must give, read and checked before anything changes.
    // Keys from stdin, the environment or a scan first: a malformed one is refused even where
    // no keychain answers.
    let given_old = match &old_source {
        OldSource::Keychain | OldSource::Pending => None,
        OldSource::Stdin => Some(read_stdin("the old key")?),
        OldSource::SecretHash(h) => {
            Some(rotate::audit::find_secret(&opts.repo, h)?.ok_or_else(|| {
                anyhow::anyhow!(
                    "no finding with secret_hash {} in {} (its files and history)\n\
                     hint: name the repository the scan report came from with --repo DIR",
                    crate::sanitize::escape(h),
                    crate::sanitize::path(&opts.repo)
                )
            })?)
        }
    };
    if let Some(o) = &given_old
        && let Err(why) = provider.check_format(o)
    {
        bail!("the old key is refused before any request: {why}");
    }
    let new = match &new_source {
        NewSource::Stdin => Some(read_stdin("the new key")?),
        NewSource::Env(var) => Some(read_env(var)?),
        NewSource::Auto => None,
    };
    if let Some(n) = &new
        && let Err(why) = provider.check_format(n)
    {
        bail!("the new key is refused before any request: {why}");
    }
    let admin_configured = admin_configured(args, provider);
    if new.is_none() && !ask.interactive() && !(provider.capabilities().create && admin_configured)
    {
        let by_api = match provider.admin() {
            Some(a) if provider.capabilities().create => format!(
                "\n{}",
                crate::text::fill(
                    &format!(
                        "or let keyguard create it: set {} or --admin-key NAME (what it takes: \
                         `keyguard rotate --list`)",
                        a.env
                    ),
                    crate::text::WIDTH,
                    "hint: ",
                    "      "
                )
            ),
            _ => String::new(),
        };
        bail!(
            "no new key, and no terminal to ask for one\n\
             hint: pass it with --new-key-stdin or --new-key-env VAR{by_api}"
        );
    }
    let keychain = Keychain::open()?;
    let old = match given_old {
        Some(o) => o,
        None => keychain.get(&opts.profile, &opts.key_name)?,
    };
    if let Err(why) = provider.check_format(&old) {
        bail!("the old key is refused before any request: {why}");
    }
    if new.as_ref() == Some(&old) {
        bail!("the new key is the old key: create a different one");
    }
    let admin = admin(&opts, &keychain)?;
    let session = session(args, provider, &printer)?;
    let mut state = rotate::new_state(&opts);
    if let NewSource::Env(v) = &new_source {
        state.new_origin = Some(format!("read from the environment variable {v}"));
    } else if new.is_some() {
        state.new_origin = Some("read from standard input".into());
    }
    printer.info(&format!(
        "rotating the {} key `{}` (run {}; record in {})",
        provider.name(),
        opts.key_name,
        state.id,
        crate::sanitize::path(&opts.record_dir)
    ));
    let run = Run {
        opts: &opts,
        state,
        keys: Keys { old, new, admin },
        keychain: &keychain,
        session: &session,
        ask: ask.as_mut(),
        out: &mut std::io::stderr(),
    };
    finished(run.run()?)
}

fn resume(args: &RotateArgs, id: &str, ask: &mut dyn Ask, printer: &Printer) -> Result<Outcome> {
    let state = if id.is_empty() {
        rotate::state::latest_unfinished(&args.record_dir)?
    } else {
        rotate::state::load(&args.record_dir, id)?
    };
    if state.finished {
        bail!("the rotation {} is already finished", state.id);
    }
    let provider = find(&state.provider)?;
    if let Some(p) = &args.provider
        && find(p)?.id() != provider.id()
    {
        bail!(
            "the rotation {} is of {}, not {}",
            state.id,
            provider.name(),
            crate::sanitize::escape(p)
        );
    }
    let opts = Options {
        provider,
        profile: state.profile.clone(),
        key_name: state.key_name.clone(),
        admin_key: state.admin_key.clone(),
        params: state.params.clone(),
        deploy: state.deploy.clone(),
        env_name: state.env_name.clone(),
        revoke_first: state.revoke_first,
        record_dir: args.record_dir.clone(),
        repo: state.repo.clone(),
        audit: state.audit,
        prove_timeout: Duration::from_secs(args.prove_timeout),
        poll_interval: Duration::from_secs(2),
    };
    let keychain = Keychain::open()?;
    let old = keychain
        .get(&opts.profile, &rotate::pending_old(&opts.key_name))
        .context("the old key's temporary keychain entry is gone; the rotation cannot continue")?;
    let new = if state.new.is_some() {
        Some(
            keychain
                .get(&opts.profile, &rotate::pending_new(&opts.key_name))
                .context(
                    "the new key's temporary keychain entry is gone; the rotation cannot continue",
                )?,
        )
    } else {
        None
    };
    let admin = admin(&opts, &keychain)?;
    let session = session(args, provider, printer)?;
    printer.info(&format!(
        "resuming the rotation {} ({} key `{}`)",
        state.id,
        provider.name(),
        opts.key_name
    ));
    let run = Run {
        opts: &opts,
        state,
        keys: Keys { old, new, admin },
        keychain: &keychain,
        session: &session,
        ask,
        out: &mut std::io::stderr(),
    };
    finished(run.run()?)
}

/// The flags given that a resumed run does not read: its saved state decides them.
fn ignored_on_resume(args: &RotateArgs) -> Vec<&'static str> {
    [
        (args.key.is_some(), "--key"),
        (args.old_key_stdin, "--old-key-stdin"),
        (args.secret_hash.is_some(), "--secret-hash"),
        (args.new_key_stdin, "--new-key-stdin"),
        (args.new_key_env.is_some(), "--new-key-env"),
        (args.admin_key.is_some(), "--admin-key"),
        (!args.param.is_empty(), "--param"),
        (!args.deploy.is_empty(), "--deploy"),
        (args.env_name.is_some(), "--env-name"),
        (args.revoke_first, "--revoke-first"),
        (args.no_audit, "--no-audit"),
        (args.repo != std::path::Path::new("."), "--repo"),
    ]
    .into_iter()
    .filter_map(|(given, flag)| given.then_some(flag))
    .collect()
}

fn finished(f: Finished) -> Result<Outcome> {
    Ok(match f {
        Finished::Dead => Outcome::Clean,
        Finished::NotProven => Outcome::Findings,
    })
}

fn find(name: &str) -> Result<&'static dyn Provider> {
    providers::find(name).ok_or_else(|| super::unknown_provider(name))
}

/// `--param NAME=VALUE` over `KEYGUARD_<PROVIDER>_<NAME>`; names the provider does not take are
/// refused (a typo would otherwise surface as a missing setting halfway through).
fn params(p: &dyn Provider, given: &[String]) -> Result<Params> {
    let mut out = Params::new();
    for spec in p.params() {
        let var = format!("KEYGUARD_{}_{}", env_part(p.id()), env_part(spec.name));
        if let Ok(v) = std::env::var(&var)
            && !v.trim().is_empty()
        {
            out.insert(spec.name.to_string(), v.trim().to_string());
        }
    }
    for g in given {
        let Some((name, value)) = g.split_once('=') else {
            bail!(
                "--param takes NAME=VALUE, not `{}`",
                crate::sanitize::escape(g)
            );
        };
        if !p.params().iter().any(|s| s.name == name) {
            let known: Vec<&str> = p.params().iter().map(|s| s.name).collect();
            bail!(
                "{} takes no setting `{}` (it takes: {})",
                p.name(),
                crate::sanitize::escape(name),
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            );
        }
        out.insert(name.to_string(), value.to_string());
    }
    for (name, value) in &out {
        rotate::check_param_value(name, value).map_err(anyhow::Error::msg)?;
    }
    Ok(out)
}

fn env_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Whether keyguard has what it needs to create the new key by API: an admin credential named or
/// set, or an adapter that creates with the old key itself.
fn admin_configured(args: &RotateArgs, provider: &dyn Provider) -> bool {
    provider.creates_with_old_key()
        || args.admin_key.is_some()
        || provider
            .admin()
            .is_some_and(|a| std::env::var_os(a.env).is_some_and(|v| !v.is_empty()))
}

/// A session with the provider's base override checked (its warning printed) before any request.
fn session(args: &RotateArgs, provider: &dyn Provider, printer: &Printer) -> Result<Session> {
    let mut session = Session::new(Duration::from_secs(args.timeout));
    if let Some(w) = session.prepare(provider)? {
        printer.warn(&w);
    }
    Ok(session)
}

/// The admin credential: `--admin-key NAME` from the keychain, else the adapter's variable.
fn admin(opts: &Options, keychain: &Keychain) -> Result<Option<Secret>> {
    let (name, profile) = (opts.admin_key.as_deref(), &opts.profile);
    let Some(spec) = opts.provider.admin() else {
        return Ok(None);
    };
    let secret = match name {
        Some(n) => Some(keychain.get(profile, n)?),
        None => match std::env::var_os(spec.env) {
            Some(v) if !v.is_empty() => Some(Secret::new(v.to_string_lossy().trim().as_bytes())),
            _ => None,
        },
    };
    if let Some(s) = &secret
        && !spec.rules.is_empty()
    {
        let matched = crate::keychain::matching_rules(s.expose());
        if !matched.iter().any(|r| spec.rules.contains(&r.as_str())) {
            bail!(
                "the admin credential ({}) does not look like {}",
                name.map_or_else(|| spec.env.to_string(), |n| format!("keychain entry `{n}`")),
                spec.what
            );
        }
    }
    Ok(secret)
}

fn read_stdin(what: &str) -> Result<Secret> {
    let mut buf = Vec::new();
    std::io::stdin()
        .read_to_end(&mut buf)
        .with_context(|| format!("cannot read {what} from standard input"))?;
    trim_newline(&mut buf);
    if buf.is_empty() {
        bail!("standard input is empty: {what} was expected there");
    }
    Ok(Secret::new(&buf))
}

fn read_env(var: &str) -> Result<Secret> {
    match std::env::var_os(var) {
        Some(v) if !v.is_empty() => {
            let mut bytes = v.to_string_lossy().into_owned().into_bytes();
            trim_newline(&mut bytes);
            Ok(Secret::new(&bytes))
        }
        _ => bail!("the environment variable {var} (--new-key-env) is not set"),
    }
}

/// The variable keyguard.toml's `[env]` maps to this keychain entry, and the file that says so.
fn env_name_from_config(key_name: &str) -> Option<(String, std::path::PathBuf)> {
    let config = crate::config::Config::discover(None, &[std::path::PathBuf::from(".")]).ok()?;
    let path = config.path.clone()?;
    config
        .env?
        .iter()
        .find(|(_, v)| v.as_str() == Some(key_name))
        .map(|(k, _)| (k.clone(), path))
}

/// `keyguard rotate --list`: one block per provider, wrapped to 100 columns (the admin and
/// setting notes are long; a hanging indent keeps the provider ids in a scannable column).
fn list(out: &mut dyn Write) -> Result<()> {
    use crate::text::{WIDTH, fill};
    writeln!(
        out,
        "What keyguard rotate does for each provider by API (the rest it guides you through by hand):"
    )?;
    let (indent, hanging) = (" ".repeat(15), " ".repeat(17));
    for p in providers::all() {
        let c = p.capabilities();
        let by = |yes: bool| if yes { "API" } else { "by hand" };
        writeln!(
            out,
            "  {:<12} {:<14} verify: {}, create: {}, revoke: {}",
            p.id(),
            p.name(),
            if c.verify { "API" } else { "no" },
            by(c.create),
            by(c.revoke)
        )?;
        let mut notes = Vec::new();
        if let Some(a) = p.admin() {
            notes.push(format!(
                "admin: {}; set {} or name a keychain entry with --admin-key NAME",
                a.what, a.env
            ));
        }
        for s in p.params() {
            notes.push(format!("--param {}=…: {}", s.name, s.help));
        }
        notes.push(format!("dashboard: {}", p.manual().dashboard));
        for n in notes {
            writeln!(out, "{}", fill(&n, WIDTH, &indent, &hanging))?;
        }
    }
    Ok(())
}
