//! `keyguard scan bundle [DIR]...`: built front-end output, through source maps.

use std::path::PathBuf;

use anyhow::Result;

use super::Outcome;
use super::scan::{Prepared, threads, worker_pool};
use crate::cli::BundleArgs;
use crate::source::Stats;
use crate::source::bundle::{self, BundleScan};
use crate::source::tree::{self, TreeOptions};

pub fn run(args: &BundleArgs, out: &mut dyn std::io::Write) -> Result<Outcome> {
    let roots: Vec<PathBuf> = if args.dirs.is_empty() {
        let found = bundle::default_dirs();
        if found.is_empty() {
            anyhow::bail!(
                "no build output here (looked for {}); build first, or name the directory: \
                 keyguard scan bundle DIR",
                bundle::DEFAULT_DIRS.join(", ")
            );
        }
        found
    } else {
        args.dirs.clone()
    };
    tree::check_roots(&roots)?;
    // keyguard.toml is looked for in the current directory (the project), not in the output.
    let p = Prepared::new(&args.common, args.all_rules, &[])?;
    tree::validate_globs(&p.config.scan.exclude)
        .map_err(|e| anyhow::anyhow!("{}: [scan] exclude: {e}", p.config.name()))?;
    let max_file_size = args.max_file_size.unwrap_or(p.config.max_file_size());
    let opts = TreeOptions {
        roots: roots.clone(),
        threads: threads(&args.common),
        max_file_size,
        follow_symlinks: false,
        // Build output is usually git-ignored: ignore files do not apply here.
        honour_ignore_files: false,
        exclude: p.config.scan.exclude.clone(),
    };
    let warn = |m: String| p.printer.warn(&m);
    let scan = BundleScan {
        scanner: &p.scanner,
        roots: roots
            .iter()
            .filter_map(|r| std::fs::canonicalize(r).ok())
            .map(|r| {
                if r.is_file() {
                    r.parent().map(PathBuf::from).unwrap_or(r)
                } else {
                    r
                }
            })
            .collect(),
        max_map_size: max_file_size,
        warn: &warn,
    };
    let stats = Stats::default();
    let pool = worker_pool(opts.threads)?;
    let findings = pool.install(|| bundle::scan(&opts, &scan, &stats, &warn));
    let findings = super::scan::anchor_to_config(
        findings,
        p.config.path.as_deref(),
        args.common.config.is_some(),
    );
    p.finish("bundle", findings, &stats, &args.common, out)
}
