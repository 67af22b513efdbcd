//! `keyguard scan git [REPO]`: a repository's whole history through the engine.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Outcome;
use super::scan::{Prepared, threads};
use crate::cli::GitArgs;
use crate::finding::Finding;
use crate::source::Stats;
use crate::source::git::{self, GitOptions};

/// At most this many warnings about unreadable objects are printed; the rest are counted.
const MAX_WARNINGS: u64 = 20;

pub fn run(args: &GitArgs, out: &mut dyn std::io::Write) -> Result<Outcome> {
    let path = args.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    let since = args
        .since
        .as_deref()
        .map(git::parse_since)
        .transpose()
        .map_err(|e| anyhow::anyhow!("bad --since: {e}"))?;
    let repo = git::open(&path)?;
    let config_roots: Vec<PathBuf> = repo.workdir().map(Path::to_path_buf).into_iter().collect();
    let p = Prepared::new(&args.common, args.all_rules, &config_roots)?;
    crate::source::tree::validate_globs(&p.config.scan.exclude)
        .map_err(|e| anyhow::anyhow!("{}: [scan] exclude: {e}", p.config.name()))?;
    let opts = GitOptions {
        range: args.range.clone(),
        since,
        refs: args.branch.clone(),
        reachable_only: args.reachable_only,
        max_blob_size: args.max_file_size.unwrap_or(p.config.max_file_size()),
        threads: threads(&args.common),
        exclude: crate::source::tree::build_excludes(Path::new(""), &p.config.scan.exclude),
    };
    let stats = Arc::new(Stats::default());
    let warned = AtomicU64::new(0);
    let warn = |m: String| {
        let n = warned.fetch_add(1, Ordering::Relaxed);
        if n < MAX_WARNINGS {
            p.printer.warn(&m);
        } else if n == MAX_WARNINGS {
            p.printer
                .warn("more unreadable objects; the summary counts them all");
        }
    };
    let show_progress = !args.common.quiet && std::io::stderr().is_terminal();

    let mut findings = scan_repository(&repo, "", &opts, &p, &stats, &warn, show_progress)?;
    if args.submodules {
        // A submodule is another repository: its whole history is scanned (a range or branch
        // names commits of the outer one). Excludes apply to the paths as shown, under the
        // submodule's place.
        let sub_opts = GitOptions {
            range: None,
            refs: Vec::new(),
            exclude: None,
            ..opts.clone()
        };
        if opts.range.is_some() || !opts.refs.is_empty() {
            p.printer.warn(
                "--range and --branch apply to the outer repository; submodules are scanned whole",
            );
        }
        for sm in repo.submodules().context("reading .gitmodules")? {
            let sm_path =
                String::from_utf8_lossy(sm.path().as_os_str().as_encoded_bytes()).into_owned();
            match sm.open() {
                Ok(sub) => {
                    let prefix = format!("{}/", crate::sanitize::escape(&sm_path));
                    let found =
                        scan_repository(&sub, &prefix, &sub_opts, &p, &stats, &warn, show_progress)?;
                    findings.extend(found.into_iter().filter(|f| {
                        !opts.exclude.as_ref().is_some_and(|ex| {
                            ex.matched_path_or_any_parents(&f.path, false).is_ignore()
                        })
                    }));
                }
                Err(_) => p.printer.warn(&format!(
                    "submodule {sm_path} is not checked out; skipped (run `git submodule update --init`)"
                )),
            }
        }
    }
    p.finish("git", findings, &stats, &args.common, out)
}

/// Plans and scans one repository; `prefix` goes before every path (a submodule's place).
fn scan_repository(
    repo: &git2::Repository,
    prefix: &str,
    opts: &GitOptions,
    p: &Prepared,
    stats: &Arc<Stats>,
    warn: &(dyn Fn(String) + Sync),
    show_progress: bool,
) -> Result<Vec<Finding>> {
    let progress = bar(show_progress);
    progress.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} objects  {mbps}  {elapsed_precise}")
            .unwrap()
            .with_key("mbps", {
                let stats = Arc::clone(stats);
                move |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let secs = state.elapsed().as_secs_f64().max(0.001);
                    let mb = stats.bytes.load(Ordering::Relaxed) as f64 / 1e6;
                    let _ = write!(w, "{:.0} MB/s", mb / secs);
                }
            }),
    );
    let (plan, mut findings) = git::scan(
        &git::git_dir(repo),
        opts,
        &p.scanner,
        stats,
        warn,
        &progress,
    )?;
    stats
        .commits
        .fetch_add(plan.commits_scanned, Ordering::Relaxed);
    progress.finish_and_clear();
    if !prefix.is_empty() {
        for f in &mut findings {
            f.path = format!("{prefix}{}", f.path);
            f.rel_path = f.path.clone();
            f.refresh_fingerprint();
        }
    }
    Ok(findings)
}

fn bar(show: bool) -> ProgressBar {
    if show {
        // The length grows as the planner finds objects (and is final once it has walked all).
        ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    }
}
