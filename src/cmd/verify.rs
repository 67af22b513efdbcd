//! `keyguard verify` (keys from standard input or the keychain) and the verification step of
//! `scan --verify`: each key is matched to an adapter (by format, or `--provider`), checked once
//! per distinct key (by `secret_hash`) through `providers::batch`, and reported as live, dead or
//! unknown. Only redacted forms and hashes are ever printed; a key never reaches argv, a file or
//! a message.
//!
//! Choices: a key that does not match the adapter's format (even with `--provider`) is reported
//! `unknown` with the reason and no request, rather than stopping the run, so one stray line in
//! a list of 500 does not hide the other 499. No keys at all is an error (exit 2): an empty list
//! is far more often a broken pipeline than a clean bill of health. Base-override warnings are
//! printed even with `-q`: they say where keys are being sent.

use std::collections::HashMap;
use std::io::{IsTerminal, Read};

use anyhow::{Context, Result, bail};
use colored::Colorize;
use serde_json::json;

use super::{Outcome, Printer};
use crate::cli::{VerifyArgs, VerifyFormat};
use crate::finding::{Finding, Secret, Validation, redact, secret_hash};
use crate::providers::batch::{self, Checked, Job};
use crate::providers::{self, Provider, Session, Status, Verdict};
use crate::text::WIDTH;

/// One distinct key to report.
struct Entry {
    redacted: String,
    /// The catalogue's provider id, when the format (or `--provider`) says.
    provider: Option<String>,
    rule_id: Option<String>,
    hash: String,
    /// What to check, or the verdict reached without a request.
    check: Check,
}

enum Check {
    Job(usize),
    Known(Verdict),
}

pub fn run(args: &VerifyArgs, out: &mut dyn std::io::Write) -> Result<Outcome> {
    let forced = match &args.provider {
        Some(name) => Some(providers::find(name).ok_or_else(|| super::unknown_provider(name))?),
        None => None,
    };
    let keys = if args.keys.is_empty() {
        read_stdin()?
    } else {
        from_keychain(&args.keys, &args.profile.profile)?
    };
    if keys.is_empty() {
        bail!("no keys to verify: standard input held no key lines");
    }

    let mut jobs = Vec::new();
    let mut entries = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for key in keys {
        let hash = secret_hash(key.expose());
        if seen.insert(hash.clone()) {
            entries.push(classify(key, hash, forced, &mut jobs));
        }
    }

    let timeout = std::time::Duration::from_secs(args.timeout);
    let session = prepare_session(timeout, &jobs)?;
    let checked = batch::verify_all(&session, &jobs);

    let now = jiff::Timestamp::now();
    let rows: Vec<(&Entry, Verdict, jiff::Timestamp)> = entries
        .iter()
        .map(|e| match &e.check {
            Check::Job(i) => (e, checked[*i].verdict.clone(), checked[*i].checked_at),
            Check::Known(v) => (e, v.clone(), now),
        })
        .collect();
    match args.format {
        VerifyFormat::Json => {
            let keys: Vec<_> = rows
                .iter()
                .map(|(e, v, at)| {
                    json!({
                        "redacted": e.redacted,
                        "provider": e.provider,
                        "rule_id": e.rule_id,
                        "secret_hash": e.hash,
                        "status": v.status,
                        "account": v.account,
                        "detail": crate::sanitize::escape(&v.detail),
                        "checked_at": timestamp(*at),
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &json!({"version": 1, "keys": keys}))?;
            writeln!(out)?;
        }
        VerifyFormat::Human => {
            let color = super::use_color(args.color, std::io::stdout().is_terminal());
            colored::control::set_override(color);
            for (e, v, _) in &rows {
                writeln!(out, "{}", human_line(e, v))?;
            }
        }
    }
    Ok(if rows.iter().all(|(_, v, _)| v.status == Status::Dead) {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

/// Keys from standard input: one a line, blank lines and `#` comments skipped, CRLF accepted.
fn read_stdin() -> Result<Vec<Secret>> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        bail!("give keys on standard input or name a keychain entry with --key NAME");
    }
    let mut bytes = Vec::new();
    stdin
        .lock()
        .read_to_end(&mut bytes)
        .context("reading standard input")?;
    Ok(parse_lines(&bytes))
}

fn parse_lines(bytes: &[u8]) -> Vec<Secret> {
    bytes
        .split(|b| *b == b'\n')
        .map(|line| line.trim_ascii())
        .filter(|line| !line.is_empty() && !line.starts_with(b"#"))
        .map(Secret::new)
        .collect()
}

fn from_keychain(names: &[String], profile: &str) -> Result<Vec<Secret>> {
    let kc = crate::keychain::Keychain::open()?;
    // `get` checks the profile and name before it touches the store.
    names
        .iter()
        .map(|name| kc.get(profile, name).map_err(Into::into))
        .collect()
}

/// Decides which adapter checks `key`, or the verdict when none can.
fn classify(
    key: Secret,
    hash: String,
    forced: Option<&'static dyn Provider>,
    jobs: &mut Vec<Job>,
) -> Entry {
    let value = key.expose();
    let mut job = |provider: &'static dyn Provider, key: Secret| {
        jobs.push(Job { provider, key });
        Check::Job(jobs.len() - 1)
    };
    if let Some(p) = forced {
        let matched = crate::keychain::matching_rules(value);
        let rule_id = matched
            .iter()
            .find(|r| p.rules().contains(&r.as_str()))
            .cloned()
            .or_else(|| {
                split_pair(value)
                    .filter(|(q, _, _)| q.id() == p.id())
                    .map(|(_, r, _)| r)
            });
        let redacted = crate::keychain::redacted(value);
        return Entry {
            redacted,
            provider: Some(p.id().to_string()),
            rule_id,
            hash,
            // The adapter's format check runs first in the worker: a mismatch is `unknown` with
            // the reason, and no request.
            check: job(p, key),
        };
    }
    if let Some((p, rule)) = providers::identify(&key) {
        return Entry {
            redacted: match p.pairing() {
                Some(_) => pair_redacted(value),
                None => crate::keychain::redacted(value),
            },
            provider: Some(p.id().to_string()),
            rule_id: Some(rule),
            hash,
            check: job(p, key),
        };
    }
    if let Some((p, rule, shown)) = split_pair(value) {
        return Entry {
            redacted: shown,
            provider: Some(p.id().to_string()),
            rule_id: Some(rule),
            hash,
            check: job(p, key),
        };
    }
    match crate::keychain::identify(value) {
        Some(id) => {
            let why = format!(
                "keyguard cannot verify {} keys",
                crate::sanitize::escape(&id.provider)
            );
            Entry {
                redacted: id.redacted,
                provider: Some(id.provider),
                rule_id: crate::keychain::matching_rules(value).into_iter().next(),
                hash,
                check: Check::Known(Verdict::unknown(why)),
            }
        }
        None => Entry {
            redacted: crate::keychain::redacted(value),
            provider: None,
            rule_id: None,
            hash,
            check: Check::Known(Verdict::unknown(
                "no known format: try --provider NAME (pairs: ID:SECRET)",
            )),
        },
    }
}

/// A two-part key `ID:SECRET` whose id part is an id of some adapter's `pairing`: the adapter,
/// the id's rule and the redacted pair.
fn split_pair(value: &[u8]) -> Option<(&'static dyn Provider, String, String)> {
    let colon = value.iter().position(|b| *b == b':')?;
    let (id, secret) = (&value[..colon], &value[colon + 1..]);
    if secret.is_empty() {
        return None;
    }
    crate::keychain::matching_rules(id)
        .into_iter()
        .find_map(|rule| {
            providers::all()
                .iter()
                .copied()
                .find(|p| {
                    p.pairing()
                        .is_some_and(|pr| pr.id_rules.contains(&rule.as_str()))
                })
                .map(|p| (p, rule, pair_redacted(value)))
        })
}

/// A two-part key shown as both halves redacted, `AKIA…WXYZ:…abcd`, so the user can tell which
/// access key (or Twilio SID) it is; the id half keeps its public prefix (`AKIA`, `SK`, `AC`).
fn pair_redacted(value: &[u8]) -> String {
    match value.iter().position(|b| *b == b':') {
        Some(colon) => {
            let (id, secret) = (&value[..colon], &value[colon + 1..]);
            let id = crate::keychain::identify(id)
                .map(|i| i.redacted)
                .unwrap_or_else(|| redact(id, 2));
            format!("{id}:{}", redact(secret, 0))
        }
        None => crate::keychain::redacted(value),
    }
}

/// A session with each provider's base override checked, and its warning printed once, before
/// the first request. An invalid override is an error: nothing is sent.
fn prepare_session(timeout: std::time::Duration, jobs: &[Job]) -> Result<Session> {
    let mut session = Session::new(timeout);
    for job in jobs {
        if let Some(warning) = session.prepare(job.provider)? {
            eprintln!(
                "keyguard: warning: {}",
                crate::sanitize::escape_lines(&warning)
            );
        }
    }
    Ok(session)
}

fn timestamp(t: jiff::Timestamp) -> String {
    t.round(jiff::Unit::Second).unwrap_or(t).to_string()
}

/// One key: redacted form, provider, status, then the account and detail, wrapped onto indented
/// lines past 100 columns (never cut: the end of a detail is often the next step to take).
fn human_line(e: &Entry, v: &Verdict) -> String {
    let provider = e.provider.as_deref().unwrap_or("?");
    // The widest provider id ("huggingface") keeps the status column straight.
    let head = format!("{:<18}  {:<11}  ", e.redacted, provider);
    let status = format!("{:<7}", v.status.as_str());
    let mut tail = String::new();
    if let Some(a) = &v.account {
        tail.push_str(a);
        tail.push_str(": ");
    }
    tail.push_str(&crate::sanitize::escape(&v.detail));
    let indent = " ".repeat(head.chars().count() + status.len() + 2);
    let mut lines = crate::text::wrap(&tail, WIDTH, &indent, &indent).into_iter();
    let first = lines.next().unwrap_or_default();
    let rest: Vec<String> = lines.map(|l| l.dimmed().to_string()).collect();
    // `redacted` is escaped by `redact`, the provider id is the catalogue's: no escaping again.
    let mut out = format!(
        "{}{}  {}",
        head,
        crate::report::human::paint_status(v.status, &status),
        first.trim_start().dimmed()
    );
    for l in rest {
        out.push('\n');
        out.push_str(&l);
    }
    out
}

/// `scan --verify`: checks each distinct key among `findings` that an adapter can verify (two-part
/// keys joined with the nearest partner in the same file) and fills `validation` on every finding
/// of it. Prints the summary to standard error unless quiet.
pub fn fill_validation(findings: &mut [Finding], printer: &Printer) -> Result<()> {
    let mut jobs: Vec<Job> = Vec::new();
    let mut targets: Vec<Vec<usize>> = Vec::new();
    let mut by_hash: HashMap<String, usize> = HashMap::new();
    for (i, f) in findings.iter().enumerate() {
        if f.kind != crate::rules::Kind::Secret {
            continue;
        }
        let Some(p) = providers::for_rule(&f.rule_id) else {
            continue;
        };
        let (key, members) = match p.pairing() {
            Some(pr) if pr.secret_rules.contains(&f.rule_id.as_str()) => continue,
            Some(pr) if pr.id_rules.contains(&f.rule_id.as_str()) => {
                let Some(j) = nearest_partner(findings, i, pr.secret_rules) else {
                    continue;
                };
                let mut joined = f.secret.expose().to_vec();
                joined.push(b':');
                joined.extend_from_slice(findings[j].secret.expose());
                (Secret::new(&joined), vec![i, j])
            }
            _ => (f.secret.clone(), vec![i]),
        };
        let hash = secret_hash(key.expose());
        let n = *by_hash.entry(hash).or_insert_with(|| {
            jobs.push(Job { provider: p, key });
            targets.push(Vec::new());
            jobs.len() - 1
        });
        targets[n].extend(members);
    }
    if jobs.is_empty() {
        printer.info("keyguard: verified 0 keys: no finding is a key keyguard can verify");
        return Ok(());
    }
    let session = prepare_session(providers::DEFAULT_TIMEOUT, &jobs)?;
    let checked = batch::verify_all(&session, &jobs);
    let mut counts = [0usize; 3];
    for (
        Checked {
            verdict,
            checked_at,
        },
        members,
    ) in checked.iter().zip(&targets)
    {
        counts[verdict.status as usize] += 1;
        for &i in members {
            findings[i].validation = Some(Validation {
                status: verdict.status.as_str().to_string(),
                checked_at: timestamp(*checked_at),
            });
        }
    }
    printer.info(&format!(
        "keyguard: verified {} key{}: {} live, {} dead, {} unknown",
        jobs.len(),
        if jobs.len() == 1 { "" } else { "s" },
        counts[Status::Live as usize],
        counts[Status::Dead as usize],
        counts[Status::Unknown as usize],
    ));
    Ok(())
}

/// The finding of one of `rules` in the same file (and commit) as `findings[i]`, nearest by line.
fn nearest_partner(findings: &[Finding], i: usize, rules: &[&str]) -> Option<usize> {
    let f = &findings[i];
    let commit = |x: &Finding| x.commit.as_ref().map(|c| c.id.clone());
    findings
        .iter()
        .enumerate()
        .filter(|(j, x)| {
            *j != i
                && x.path == f.path
                && commit(x) == commit(f)
                && rules.contains(&x.rule_id.as_str())
        })
        .min_by_key(|(_, x)| (x.line.abs_diff(f.line), x.column.abs_diff(f.column)))
        .map(|(j, _)| j)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_skip_blanks_and_comments_and_accept_crlf() {
        let keys = parse_lines(b"# keys\r\none\r\n\r\n  two  \n#three\nfour");
        let got: Vec<&[u8]> = keys.iter().map(|k| k.expose()).collect();
        assert_eq!(got, [b"one".as_slice(), b"two", b"four"]);
    }

    #[test]
    fn a_two_part_key_pairs_with_the_nearest_secret_in_the_same_file() {
        let rules = crate::rules::RuleSet::builtin();
        let rule = |id: &str| rules.rules().iter().find(|r| r.id() == id).unwrap();
        let at = |id: &str, value: &[u8], path: &str, line: usize| {
            Finding::new(
                rule(id),
                crate::rules::Confidence::High,
                value,
                path.into(),
                line,
                1,
            )
        };
        let findings = vec![
            at("aws-access-key-id", b"id-one", "a.env", 10),
            at("aws-secret-access-key", b"far", "a.env", 40),
            at("aws-secret-access-key", b"near", "a.env", 11),
            at("aws-secret-access-key", b"other-file", "b.env", 10),
            at("aws-access-key-id", b"id-alone", "c.env", 1),
        ];
        let secrets = &["aws-secret-access-key"];
        assert_eq!(nearest_partner(&findings, 0, secrets), Some(2));
        assert_eq!(nearest_partner(&findings, 4, secrets), None);
    }
}
