//! Command-line definitions only (clap). Also feeds the generated completions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::Format;

const MAIN_EXAMPLES: &str = "\
Examples:
  keyguard scan                      scan the current directory
  keyguard scan src .env             scan some paths
  keyguard scan --format sarif -o keyguard.sarif
                                     write a SARIF report for GitHub code scanning
  keyguard rules                     list what keyguard looks for
  keyguard completions bash > /etc/bash_completion.d/keyguard";

const SCAN_EXAMPLES: &str = "\
Examples:
  keyguard scan                      scan the current directory (.gitignore honoured)
  keyguard scan app/ config.yaml     scan a directory and a file
  cat notes.txt | keyguard scan -    scan standard input
  keyguard scan --format json -o report.json
  keyguard scan --baseline report.json
                                     report only keys not in an earlier report
  keyguard scan --exit-zero          report, but never fail a build

Exit status: 0 nothing found, 1 findings, 2 error.
Secrets are redacted (sk-proj-…Xy9Z) unless --show-secrets is given.
Suppress a finding with a `keyguard:allow` comment on its line, or in keyguard.toml:
  [allow]
  paths = [\"fixtures/**\"]";

#[derive(Debug, Parser)]
#[command(
    name = "keyguard",
    version,
    about = "Find API keys where they must not be, and keep them where they belong.",
    after_help = MAIN_EXAMPLES,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan files and directories for secrets
    #[command(after_help = SCAN_EXAMPLES)]
    Scan(ScanArgs),
    /// List the rule catalogue (what keyguard finds)
    Rules(RulesArgs),
    /// Print a shell completion script to standard output
    Completions {
        /// Shell to generate for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan; `-` reads standard input [default: .]
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Skip files larger than this (e.g. 10MiB) [default: 64MiB, or [scan] max_file_size]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: Option<u64>,

    /// Follow symbolic links (loops are detected and skipped)
    #[arg(long)]
    pub follow: bool,

    /// Don't honour .gitignore, .ignore and .keyguardignore
    #[arg(long)]
    pub no_ignore: bool,

    /// Also run optional rules (identifiers such as bucket names and ARNs; see `keyguard rules`)
    #[arg(long)]
    pub all_rules: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// Options every scan mode shares.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Report format
    #[arg(long, value_enum, default_value_t = Format::Human, value_name = "FORMAT")]
    pub format: Format,

    /// Write the report to FILE (created 0600, replaced atomically) instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Print secrets in full instead of redacted (keep such reports private)
    #[arg(long)]
    pub show_secrets: bool,

    /// Hide findings whose rule and secret appear in this earlier JSON report
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Read this keyguard.toml instead of looking in the scanned directory and here
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// When to use colour (NO_COLOR is honoured in auto mode)
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Print no summary or warnings on standard error
    #[arg(short, long)]
    pub quiet: bool,

    /// Number of threads [default: number of CPUs]
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,

    /// Exit 0 even when secrets are found (errors still exit 2)
    #[arg(long)]
    pub exit_zero: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = RulesFormat::Human, value_name = "FORMAT")]
    pub format: RulesFormat,

    /// Only rules of this provider (e.g. openai)
    #[arg(long, value_name = "NAME")]
    pub provider: Option<String>,

    /// Also load extra rules from this keyguard.toml
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Human,
    Json,
}

fn parse_size(s: &str) -> Result<u64, String> {
    crate::config::parse_size(s)
}
