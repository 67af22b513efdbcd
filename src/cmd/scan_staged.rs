//! `keyguard scan staged`: what `git commit` would record now, added lines only.

use anyhow::Result;

use super::Outcome;
use super::scan::Prepared;
use crate::cli::StagedArgs;
use crate::source::Stats;
use crate::source::staged::{Staged, StagedOptions};
use crate::source::tree;

pub fn run(args: &StagedArgs, out: &mut dyn std::io::Write) -> Result<Outcome> {
    let staged = Staged::open(args.repo.as_deref())?;
    // The repository's keyguard.toml applies, with [allow] paths relative to its root.
    let p = Prepared::new(&args.common, args.all_rules, &[staged.root().to_path_buf()])?;
    tree::validate_globs(&p.config.scan.exclude)
        .map_err(|e| anyhow::anyhow!("{}: [scan] exclude: {e}", p.config.name()))?;
    let opts = StagedOptions {
        max_file_size: args.max_file_size.unwrap_or(p.config.max_file_size()),
        exclude: p.config.scan.exclude.clone(),
    };
    let stats = Stats::default();
    let warn = |m: String| p.printer.warn(&m);
    let findings = staged.scan(&opts, &p.scanner, &stats, &warn)?;
    p.finish("staged", findings, &stats, &args.common, out)
}
