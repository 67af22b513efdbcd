//! `keyguard scan [PATH]...`: the working tree (or standard input) through the engine, suppression
//! and a report.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{Context, Result};

use super::{Outcome, Printer};
use std::sync::Arc;

use crate::cli::{CommonArgs, ScanArgs, ScanMode};
use crate::config::Config;
use crate::engine::Scanner;
use crate::finding::Finding;
use crate::report::{Format, Report, Summary};
use crate::rules::RuleSet;
use crate::source::Stats;
use crate::source::tree::{self, TreeOptions};
use crate::suppress::Suppressor;

pub fn run(args: &ScanArgs, out: &mut dyn std::io::Write) -> Result<Outcome> {
    match &args.mode {
        Some(ScanMode::Git(git)) => return super::scan_git::run(git, out),
        Some(ScanMode::Staged(staged)) => return super::scan_staged::run(staged, out),
        Some(ScanMode::Bundle(bundle)) => return super::scan_bundle::run(bundle, out),
        None => {}
    }
    let roots: Vec<PathBuf> = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let stdin = roots.iter().any(|p| p.as_os_str() == "-");
    if stdin && roots.len() > 1 {
        anyhow::bail!("`-` (standard input) cannot be combined with other paths");
    }
    if !stdin && let Err(e) = tree::check_roots(&roots) {
        // `keyguard scan --format json git`: clap read `git` as a path because options came first.
        if let Some(mode) = roots.iter().find_map(|r| {
            ["git", "staged", "bundle"]
                .into_iter()
                .find(|m| r.as_os_str() == *m)
        }) {
            anyhow::bail!(
                "{e}\n(to scan {}, put options after the mode: `keyguard scan {mode} --format json`)",
                if mode == "git" {
                    "history"
                } else {
                    "staged changes"
                }
            );
        }
        return Err(e.into());
    }
    let p = Prepared::new(&args.common, args.all_rules, &roots)?;
    tree::validate_globs(&p.config.scan.exclude)
        .map_err(|e| anyhow::anyhow!("{}: [scan] exclude: {e}", p.config.name()))?;

    let opts = TreeOptions {
        roots: roots.clone(),
        threads: threads(&args.common),
        max_file_size: args.max_file_size.unwrap_or(p.config.max_file_size()),
        follow_symlinks: args.follow,
        honour_ignore_files: !args.no_ignore,
        exclude: p.config.scan.exclude.clone(),
    };
    let stats = Stats::default();
    let findings = if stdin {
        tree::scan_stdin(&opts, &p.scanner, &stats).context("reading standard input")?
    } else {
        let warn = |m: String| p.printer.warn(&m);
        let pool = worker_pool(opts.threads)?;
        pool.install(|| tree::scan(&opts, &p.scanner, &stats, &warn))
    };
    let findings = anchor_to_config(
        findings,
        p.config.path.as_deref(),
        args.common.config.is_some(),
    );
    p.finish("tree", findings, &stats, &args.common, out)
}

/// `[allow] paths` are relative to the directory of the keyguard.toml that lists them, as
/// .gitignore patterns are: `keyguard scan src` run beside a keyguard.toml that allows
/// `/src/generated/` must honour it. A file outside that directory is not subject to them (an
/// empty `rel_path`), unless the config was named with `--config`: then paths outside it are
/// matched relative to the scanned root, as before.
pub fn anchor_to_config(
    mut findings: Vec<Finding>,
    config: Option<&std::path::Path>,
    explicit: bool,
) -> Vec<Finding> {
    let Some(dir) = config
        .and_then(|c| std::path::absolute(c).ok())
        .and_then(|c| c.parent().map(normalize))
    else {
        return findings;
    };
    for f in &mut findings {
        // `path` is the file as reached from the current directory (the root as named, then
        // the path under it); `-` (standard input) has no place on disk.
        if f.path == "<stdin>" {
            continue;
        }
        let Ok(abs) = std::path::absolute(&f.path) else {
            continue;
        };
        match normalize(&abs).strip_prefix(&dir) {
            Ok(rel) => f.rel_path = rel.to_string_lossy().replace('\\', "/"),
            Err(_) if !explicit => f.rel_path.clear(),
            Err(_) => {}
        }
    }
    findings
}

/// Resolves `.` and `..` components as text (`std::path::absolute` keeps them).
fn normalize(p: &std::path::Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

pub fn threads(common: &CommonArgs) -> usize {
    match common.threads {
        Some(n) => n as usize,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

pub fn worker_pool(threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("starting worker threads")
}

/// What every scan mode sets up before reading anything: messages, config, rules, the scanner and
/// suppression.
pub struct Prepared {
    pub printer: Printer,
    pub config: Config,
    pub rules: Arc<RuleSet>,
    pub scanner: Scanner,
    pub suppressor: Suppressor,
    pub started: Instant,
}

impl Prepared {
    /// `config_roots`: where to look for keyguard.toml (then the current directory), unless
    /// `--config` names one.
    pub fn new(common: &CommonArgs, all_rules: bool, config_roots: &[PathBuf]) -> Result<Prepared> {
        let started = Instant::now();
        let printer = Printer::new(common.quiet, common.color);
        let config = Config::discover(common.config.as_deref(), config_roots)?;
        if let Some(p) = &config.path {
            // Said every time: a config found in the current directory applies to whatever is
            // scanned from there, and its [allow] hides findings.
            printer.info(&format!("keyguard: using {}", crate::sanitize::path(p)));
        }
        let rules = super::load_rules(&config, all_rules, &printer)?;
        let scanner = Scanner::new(rules.clone()).context("building the scanner")?;
        let mut suppressor = Suppressor::from_config(&config.allow, &config.name())?;
        if let Some(b) = &common.baseline {
            suppressor.load_baseline(b)?;
        }
        Ok(Prepared {
            printer,
            config,
            rules,
            scanner,
            suppressor,
            started,
        })
    }

    /// Suppression, report and exit status: shared by every scan mode.
    pub fn finish(
        &self,
        source: &str,
        mut findings: Vec<Finding>,
        stats: &Stats,
        common: &CommonArgs,
        out: &mut dyn std::io::Write,
    ) -> Result<Outcome> {
        findings.sort_by(|a, b| {
            (&a.path, a.line, a.column, &a.rule_id).cmp(&(&b.path, b.line, b.column, &b.rule_id))
        });
        let (mut findings, suppressed) = self.suppressor.apply(findings);
        // The only network use of a scan, and only when asked: reported findings, not suppressed
        // ones, are checked.
        if common.verify {
            super::verify::fill_validation(&mut findings, &self.printer)?;
        }
        let summary = Summary {
            files: stats.files.load(Ordering::Relaxed),
            bytes: stats.bytes.load(Ordering::Relaxed),
            commits: stats.commits.load(Ordering::Relaxed),
            blobs: stats.blobs.load(Ordering::Relaxed),
            skipped_binary: stats.binary.load(Ordering::Relaxed),
            skipped_too_large: stats.too_large.load(Ordering::Relaxed),
            skipped_unreadable: stats.unreadable.load(Ordering::Relaxed),
            suppressed: suppressed as u64,
            duration_ms: self.started.elapsed().as_millis() as u64,
        };
        let report = Report {
            source,
            findings: &findings,
            summary,
            show_secrets: common.show_secrets,
            rules: &self.rules,
        };
        match &common.output {
            Some(path) => {
                let mut buf = Vec::new();
                report.write(common.format, &mut buf, false)?;
                super::write_private_file(path, &buf)?;
            }
            None => {
                let color = common.format == Format::Human
                    && super::use_color(common.color, std::io::stdout().is_terminal());
                match report
                    .write(common.format, out, color)
                    .and_then(|_| out.flush())
                {
                    // `keyguard scan | head`: the reader has what it wanted; the exit status must
                    // still say that secrets were found.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                    r => r?,
                }
            }
        }
        print_summary(&report, &self.printer);
        Ok(if findings.is_empty() || common.exit_zero {
            Outcome::Clean
        } else {
            Outcome::Findings
        })
    }
}

fn print_summary(report: &Report, printer: &Printer) {
    let s = &report.summary;
    let n = report.findings.len();
    let files_with: std::collections::HashSet<_> =
        report.findings.iter().map(|f| f.path.as_str()).collect();
    let exposures = report
        .findings
        .iter()
        .filter(|f| f.kind == crate::rules::Kind::Exposure)
        .count();
    let distinct = report.distinct_secrets();
    let mut line = if n == 0 {
        "no secrets found".to_string()
    } else {
        let mut what = format!("{distinct} distinct secret{}", plural(distinct));
        if exposures > 0 {
            what.push_str(&format!(", {exposures} exposure{}", plural(exposures)));
        }
        format!(
            "{n} finding{} ({what}) in {} file{}",
            plural(n),
            files_with.len(),
            plural(files_with.len())
        )
    };
    let scanned = if report.source == "git" {
        format!(
            "{} commit{}, {} blob{}",
            s.commits,
            plural(s.commits as usize),
            s.blobs,
            plural(s.blobs as usize)
        )
    } else {
        format!("{} file{}", s.files, plural(s.files as usize))
    };
    line.push_str(&format!(
        "; scanned {scanned}, {} in {:.2}s",
        human_bytes(s.bytes),
        s.duration_ms as f64 / 1000.0
    ));
    let mut skipped = Vec::new();
    if s.skipped_binary > 0 {
        skipped.push(format!("{} binary", s.skipped_binary));
    }
    if s.skipped_too_large > 0 {
        skipped.push(format!("{} too large", s.skipped_too_large));
    }
    if s.skipped_unreadable > 0 {
        skipped.push(format!("{} unreadable", s.skipped_unreadable));
    }
    if !skipped.is_empty() {
        line.push_str(&format!("; skipped {}", skipped.join(", ")));
    }
    if s.suppressed > 0 {
        line.push_str(&format!("; {} suppressed", s.suppressed));
    }
    printer.info(&format!("keyguard: {line}"));
    if distinct > 0 && !report.show_secrets {
        printer.hint(
            "a key that reached a file is leaked: `keyguard rotate PROVIDER` replaces and revokes \
             it (`--verify` tells whether it is live)",
        );
    }
    if exposures > 0 {
        printer.hint(
            "exposures are code that puts a key in the browser: call the provider from a \
             server route (or `keyguard serve`) and keep the key out of client-side variables",
        );
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
