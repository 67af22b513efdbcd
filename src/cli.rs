//! Command-line definitions only (clap). Also feeds the generated completions.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use crate::report::Format;

const MAIN_EXAMPLES: &str = "\
Examples:
  keyguard scan                      scan the current directory
  keyguard scan src .env             scan some paths
  keyguard scan --format sarif -o keyguard.sarif
                                     write a SARIF report for GitHub code scanning
  keyguard scan git                  scan every commit of the repository here
  keyguard init                      set the repository here up to keep keys out of git
  keyguard hook install              block commits that add secrets
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

  keyguard scan git                  every commit, branch, tag and stash of this repository
  keyguard scan staged               what `git commit` would record (the pre-commit hook)

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
#[allow(clippy::large_enum_variant)] // parsed once; boxing would only add noise
pub enum Command {
    /// Scan files and directories for secrets
    #[command(after_help = SCAN_EXAMPLES)]
    Scan(ScanArgs),
    /// Set a repository up so keys stay out: .gitignore, .env.example, the pre-commit hook
    #[command(after_help = INIT_EXAMPLES)]
    Init(InitArgs),
    /// Install or remove the git pre-commit hook that runs `keyguard scan staged`
    #[command(subcommand)]
    Hook(HookCommand),
    /// List the rule catalogue (what keyguard finds)
    Rules(RulesArgs),
    /// Keep API keys in the OS keychain instead of files
    #[command(subcommand)]
    Key(KeyCommand),
    /// Run a command with keys from the keychain in its environment
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Check whether keys are live, by asking their providers (read-only, free calls)
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(VerifyArgs),
    /// After a leak: replace a key, revoke the old one, prove it dead, and keep a record
    #[command(after_help = ROTATE_EXAMPLES)]
    Rotate(RotateArgs),
    /// Run the backend proxy: clients call it with a keyguard token, it adds the provider key
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// Issue, list and revoke the client tokens of `keyguard serve` (the proxy's users)
    #[command(subcommand)]
    Token(TokenCommand),
    /// Print a shell completion script to standard output
    Completions {
        /// Shell to generate for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ScanArgs {
    #[command(subcommand)]
    pub mode: Option<ScanMode>,

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

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum ScanMode {
    /// Scan a repository's whole history: every commit, branch, tag, note and stash, commit
    /// messages, and objects no ref reaches any more
    #[command(after_help = GIT_EXAMPLES)]
    Git(GitArgs),
    /// Scan what `git commit` would record now, reporting only keys on added lines
    #[command(after_help = STAGED_EXAMPLES)]
    Staged(StagedArgs),
    /// Scan built front-end output (minified JS, CSS, HTML, source maps) for keys that would ship
    /// to the browser
    #[command(after_help = BUNDLE_EXAMPLES)]
    Bundle(BundleArgs),
}

const BUNDLE_EXAMPLES: &str = "\
Examples:
  npm run build && keyguard scan bundle
                                     dist, build, out, .next, .output, .svelte-kit/output and
                                     public/build, those that exist
  keyguard scan bundle dist/ --format sarif -o bundle.sarif

Build output is scanned whole: .gitignore does not apply here. A key found in generated code is
traced back through its source map to the file and line it came from (`original`), and keys in
a map's embedded sources are found too. A key in a bundle is public: revoke it, and call the
provider from a server (or `keyguard serve`) instead.";

#[derive(Debug, Args)]
pub struct BundleArgs {
    /// Build output directories or files [default: dist, build, out, .next, .output,
    /// .svelte-kit/output, public/build: those that exist]
    #[arg(value_name = "DIR")]
    pub dirs: Vec<PathBuf>,

    /// Skip files larger than this [default: 64MiB, or [scan] max_file_size]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: Option<u64>,

    /// Also run optional rules (identifiers such as bucket names and ARNs)
    #[arg(long)]
    pub all_rules: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

const GIT_EXAMPLES: &str = "\
Examples:
  keyguard scan git                  the repository here, all of its history
  keyguard scan git ../other.git     another repository (bare repositories work too)
  keyguard scan git --range origin/main..HEAD
                                     only the commits a pull request adds (CI)
  keyguard scan git --since 2024-01-01 --branch main
  keyguard scan git --format sarif -o keyguard.sarif

Each blob is scanned once and reported at the commit and path that first introduced it.
`present_at_head: false` means the key is gone from HEAD but still in history: anyone with a
clone has it, so it must be revoked. Objects no ref reaches (after `reset --hard`, dropped
`git add`s) are scanned too and reported as unreachable, unless --reachable-only.
The repository is read with libgit2: its hooks, config and filters never run.";

const STAGED_EXAMPLES: &str = "\
Examples:
  keyguard scan staged               in a pre-commit hook (see `keyguard hook install`)
  keyguard scan staged --format json

Only lines the commit would add are reported: a key already in HEAD does not block a commit
that does not touch it. Exit status: 0 nothing found, 1 findings (the commit is blocked), 2 error.";

#[derive(Debug, Args)]
pub struct GitArgs {
    /// The repository: a working tree, a `.git` directory or a bare repository [default: .]
    #[arg(value_name = "REPO")]
    pub repo: Option<PathBuf>,

    /// Only commits in this range (`A..B`: reachable from B, not from A) and the blobs they add
    #[arg(long, value_name = "A..B", conflicts_with_all = ["since", "branch", "reachable_only"])]
    pub range: Option<String>,

    /// Only commits made on or after DATE (2024-01-31, an RFC 3339 time, or `90 days ago`)
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,

    /// Only this branch, tag or other ref (repeatable) instead of every ref
    #[arg(long, value_name = "REF")]
    pub branch: Vec<String>,

    /// Skip objects that no ref reaches (dangling commits and blobs)
    #[arg(long)]
    pub reachable_only: bool,

    /// Also scan the histories of submodules that are checked out
    #[arg(long)]
    pub submodules: bool,

    /// Skip blobs larger than this (e.g. 10MiB) [default: 64MiB, or [scan] max_file_size]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: Option<u64>,

    /// Also run optional rules (identifiers such as bucket names and ARNs)
    #[arg(long)]
    pub all_rules: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct StagedArgs {
    /// The repository [default: as git finds it: GIT_DIR, GIT_WORK_TREE and GIT_INDEX_FILE, else
    /// the current directory's; with -C those variables are ignored]
    #[arg(long, short = 'C', value_name = "REPO")]
    pub repo: Option<PathBuf>,

    /// Skip staged files larger than this [default: 64MiB, or [scan] max_file_size]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: Option<u64>,

    /// Also run optional rules (identifiers such as bucket names and ARNs)
    #[arg(long)]
    pub all_rules: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

const INIT_EXAMPLES: &str = "\
Examples:
  keyguard init                      show what it would change here, ask, then do it
  keyguard init --dry-run            only show the plan
  keyguard init --yes                do it all without asking (scripts)

It appends the env and key-file patterns .gitignore lacks (never touching your lines), writes
.env.example from .env with names only, flags secret-looking VITE_ / NEXT_PUBLIC_ variables, offers
to stop tracking env files that are already committed (the files stay on disk), writes a starter
keyguard.toml and installs the pre-commit hook. Running it again changes nothing.";

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The repository to set up [default: the one the current directory is in]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Apply every change without asking (needed when there is no terminal)
    #[arg(short, long, conflicts_with = "dry_run")]
    pub yes: bool,

    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Print nothing but errors
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Install a pre-commit hook running `keyguard scan staged` (an existing hook is kept and
    /// still runs first)
    #[command(after_help = HOOK_EXAMPLES)]
    Install(HookArgs),
    /// Remove keyguard's pre-commit hook and restore the hook that was there before
    Uninstall(HookArgs),
}

const HOOK_EXAMPLES: &str = "\
Examples:
  keyguard hook install              in the repository here
  keyguard hook install -C ../app    in another repository

core.hooksPath is honoured. An existing pre-commit hook is never overwritten: it is kept beside
keyguard's and runs first; `keyguard hook uninstall` puts it back.
With the pre-commit framework, add keyguard to .pre-commit-config.yaml instead (see README).";

#[derive(Debug, Args)]
pub struct HookArgs {
    /// The repository [default: the one the current directory is in]
    #[arg(long, short = 'C', value_name = "REPO")]
    pub repo: Option<PathBuf>,

    /// Print nothing but errors
    #[arg(short, long)]
    pub quiet: bool,
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

    /// Ask each provider whether the keys found are live, and fill `validation` in the report
    /// (the only way a scan touches the network)
    #[arg(long)]
    pub verify: bool,
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

const KEY_EXAMPLES: &str = "\
Examples:
  keyguard key set openai            type the key at a hidden prompt
  pbpaste | keyguard key set openai --stdin
  keyguard key set openai --from-env OPENAI_API_KEY --profile prod
  keyguard key get openai | some-tool --key-stdin
  keyguard key list

A key is never taken from the command line: other users of the machine can read it there.
The store is the macOS Keychain, the Windows Credential Manager, or on Linux the Secret Service
(GNOME Keyring, KWallet), else the kernel keyring (keyutils); KEYGUARD_KEYSTORE=secret-service
or keyutils picks one.";

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Store a key (read from a hidden prompt, --stdin or --from-env; never from the command line)
    #[command(after_help = KEY_EXAMPLES)]
    Set(KeySetArgs),
    /// Print a key: in full into a pipe or with --reveal, redacted on a terminal
    Get(KeyGetArgs),
    /// List stored keys: name, provider, redacted form, when set and rotated (no values)
    List(KeyListArgs),
    /// Delete a key from the keychain
    Rm(KeyNameArgs),
    /// Move the secrets of an env file into the keychain and remove them from the file
    Import(KeyImportArgs),
}

#[derive(Debug, Args)]
pub struct ProfileArg {
    /// Namespace of keys (dev, staging, prod, ...): each profile's keys are separate entries
    #[arg(long, short = 'p', value_name = "PROFILE", default_value = "default")]
    pub profile: String,
}

#[derive(Debug, Args)]
pub struct KeySetArgs {
    /// Name of the key (letters, digits, `-`, `_`, `.`)
    pub name: String,

    /// Read the key from standard input
    #[arg(long, conflicts_with = "from_env")]
    pub stdin: bool,

    /// Read the key from this environment variable
    #[arg(long, value_name = "VAR")]
    pub from_env: Option<String>,

    #[command(flatten)]
    pub profile: ProfileArg,
}

#[derive(Debug, Args)]
pub struct KeyGetArgs {
    /// Name of the key
    pub name: String,

    /// Print the key in full even on a terminal (it stays in the scroll-back)
    #[arg(long)]
    pub reveal: bool,

    #[command(flatten)]
    pub profile: ProfileArg,
}

#[derive(Debug, Args)]
pub struct KeyListArgs {
    /// Only this profile [default: every profile]
    #[arg(long, short = 'p', value_name = "PROFILE")]
    pub profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct KeyNameArgs {
    /// Name of the key
    pub name: String,

    #[command(flatten)]
    pub profile: ProfileArg,
}

#[derive(Debug, Args)]
pub struct KeyImportArgs {
    /// The env file (KEY=value lines)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Don't ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Replace keys already stored with a different value, and accept a variable set twice in
    /// the file (the last line wins)
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub profile: ProfileArg,
}

const RUN_EXAMPLES: &str = "\
Examples:
  keyguard run -- npm start          with the keys keyguard.toml's [env] maps
  keyguard run --profile prod --env-file .env -- ./server

keyguard.toml:                       .env (a reference instead of a value):
  [env]                                OPENAI_API_KEY=keyguard:openai
  OPENAI_API_KEY = \"openai\"

On Unix keyguard replaces itself with the command (exec): signals, the terminal and the exit
status are the command's. Nothing is written to disk. An unknown key name stops before the
command starts (exit 2).";

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub profile: ProfileArg,

    /// Also read variables from this env file; values `keyguard:NAME` come from the keychain
    #[arg(long, value_name = "FILE")]
    pub env_file: Vec<PathBuf>,

    /// Read this keyguard.toml instead of the one in the current directory
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The command and its arguments
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<std::ffi::OsString>,
}

const ROTATE_EXAMPLES: &str = "\
Examples:
  keyguard rotate --list             what each provider can do by API, and what it needs
  keyguard rotate openai --key openai --deploy vercel,github-actions
                                     guided, at a terminal
  NEW=... keyguard rotate github --key gh --new-key-env NEW --yes --record-dir DIR
                                     in a script: revoke through GitHub's API, prove it dead
  keyguard rotate groq --key groq --dry-run
                                     print the plan; change nothing, call nothing
  keyguard rotate --resume --yes     continue the last interrupted rotation

Keys are never taken from the command line. The new key is stored in the keychain entry --key
names; between steps keys live only in the keychain (NAME.rotating-old, NAME.rotating-new).
Exit status: 0 the old key is proven dead, 1 finished but not proven dead, 2 stopped or error
(the message names the missing flag; --resume continues).";

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The provider (see --list)
    #[arg(value_name = "PROVIDER")]
    pub provider: Option<String>,

    /// List the providers, what each can do by API, and the settings they need
    #[arg(long)]
    pub list: bool,

    /// Keychain entry holding the old key; the new key is stored there
    #[arg(long, value_name = "NAME")]
    pub key: Option<String>,

    #[command(flatten)]
    pub profile: ProfileArg,

    /// Read the old key from standard input instead of the keychain
    #[arg(long, conflicts_with_all = ["secret_hash", "new_key_stdin"])]
    pub old_key_stdin: bool,

    /// Find the old key by the secret_hash of a scan finding (scans --repo: files and history)
    #[arg(long, value_name = "HASH")]
    pub secret_hash: Option<String>,

    /// Read the new key from standard input
    #[arg(long, conflicts_with = "new_key_env")]
    pub new_key_stdin: bool,

    /// Read the new key from this environment variable
    #[arg(long, value_name = "VAR")]
    pub new_key_env: Option<String>,

    /// Keychain entry holding the provider's admin credential (else its environment variable)
    #[arg(long, value_name = "NAME")]
    pub admin_key: Option<String>,

    /// A provider setting, e.g. --param project=proj_abc (also KEYGUARD_<PROVIDER>_<NAME>)
    #[arg(long, value_name = "NAME=VALUE")]
    pub param: Vec<String>,

    /// Print the commands that update these deployments: vercel, netlify, fly, render, railway,
    /// heroku, aws-secrets-manager, gcp-secret-manager, doppler, vault, github-actions
    #[arg(long, value_name = "TARGET[,TARGET]")]
    pub deploy: Vec<String>,

    /// The variable the app reads the key from [default: from keyguard.toml [env], else the
    /// provider's usual name, e.g. OPENAI_API_KEY]
    #[arg(long, value_name = "VAR")]
    pub env_name: Option<String>,

    /// Revoke the old key before the new one is in place (it is being abused right now)
    #[arg(long)]
    pub revoke_first: bool,

    /// Continue an interrupted rotation (the newest unfinished one, or ID)
    #[arg(long, value_name = "ID", num_args = 0..=1, default_missing_value = "")]
    pub resume: Option<String>,

    /// Print the plan; read no key, make no request, change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Answer yes to every confirmation (deployments updated, revoke, revoked by hand)
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Never prompt, even on a terminal: every answer comes from flags, environment or stdin
    #[arg(long)]
    pub no_input: bool,

    /// Where the incident record (and the run's state) is written
    #[arg(long, value_name = "DIR", default_value = ".keyguard/incidents")]
    pub record_dir: PathBuf,

    /// The repository to audit for the old key (and to search with --secret-hash)
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub repo: PathBuf,

    /// Skip step 7 (where the old key still sits)
    #[arg(long)]
    pub no_audit: bool,

    /// How long step 6 checks that the old key is dead
    #[arg(long, value_name = "SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub prove_timeout: u64,

    /// Deadline of one request to the provider
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub timeout: u64,
}

const VERIFY_EXAMPLES: &str = "\
Examples:
  keyguard verify < keys.txt         one key a line (blank lines and # comments skipped)
  keyguard verify --key openai       a key from the keychain (see `keyguard key`)
  keyguard verify --provider groq < keys.txt
                                     check the keys as Groq keys, whatever their format says
  keyguard verify --format json < keys.txt
  keyguard scan --verify             check the keys a scan finds (fills `validation`)

Two-part keys go on one line as ID:SECRET: AWS AKIA…:SECRET, Twilio AC…:TOKEN or SK…:SECRET.
Each key is checked with a free, read-only call (e.g. GET /v1/models), only to its provider's
official host; KEYGUARD_<PROVIDER>_API_BASE (e.g. KEYGUARD_OPENAI_API_BASE) sends that
provider's requests elsewhere, with a warning. Providers are checked in parallel; requests to
one provider are spaced. Rate limits, server errors and timeouts are `unknown`, never `dead`.
A key that does not match its provider's format is `unknown`, with no request made.
Exit status: 0 every key is dead, 1 any key is live or unknown (act on it, or look), 2 error.";

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Check this keychain entry instead of reading standard input (repeatable)
    #[arg(long = "key", value_name = "NAME")]
    pub keys: Vec<String>,

    #[command(flatten)]
    pub profile: ProfileArg,

    /// Check every key with this provider's adapter instead of recognising it by format
    #[arg(long, value_name = "PROVIDER")]
    pub provider: Option<String>,

    /// Output format
    #[arg(long, value_enum, default_value_t = VerifyFormat::Human, value_name = "FORMAT")]
    pub format: VerifyFormat,

    /// Deadline for each call to a provider, in seconds
    #[arg(long, value_name = "SECS", default_value_t = crate::providers::DEFAULT_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub timeout: u64,

    /// When to use colour (NO_COLOR is honoured in auto mode)
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyFormat {
    Human,
    Json,
}

const TOKEN_EXAMPLES: &str = "\
Examples:
  keyguard token issue --user alice --expires 30d > alice.token
  keyguard token list
  keyguard token revoke alice          every token of user alice
  keyguard token revoke 3f9c0a1b2d4e   one token, by the id `list` shows

The store is [serve] store in keyguard.toml (default sqlite:.keyguard/serve.db), or --store.
Only a hash of each token is stored: a lost token cannot be shown again; revoke it and issue
another.";

const SERVE_EXAMPLES: &str = "\
Examples:
  keyguard serve                                  [serve] of ./keyguard.toml, 127.0.0.1:8787
  keyguard serve --listen 127.0.0.1:9000 --store memory
  keyguard serve --listen 0.0.0.0:8787            every interface: behind TLS (a reverse proxy)

Clients use their OpenAI/Anthropic SDK with base_url pointing here and a token from
`keyguard token issue --user NAME` as the API key. SIGHUP re-reads the provider keys.

Only --listen exposes the proxy beyond this machine: a `listen` in keyguard.toml that is not a
loopback address is refused, so a cloned repository's config cannot. Off loopback, GET /metrics
is served only with [serve] metrics_token = \"env:VAR\" and `Authorization: Bearer` that token.";

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Read this configuration file instead of ./keyguard.toml
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address to listen on [default: [serve] listen, else 127.0.0.1:8787]. The only way to
    /// listen beyond this machine (0.0.0.0:8787, a LAN address): put it behind TLS, a reverse
    /// proxy
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,

    /// Store URL: memory, sqlite:PATH or redis://HOST:PORT/DB [default: [serve] store, else
    /// sqlite:.keyguard/serve.db]
    #[arg(
        long,
        value_name = "URL",
        env = "KEYGUARD_STORE",
        hide_env_values = true
    )]
    pub store: Option<String>,

    /// Log request and response bodies (prompts and answers) on each request's log line, with
    /// provider keys, client tokens and anything the rule catalogue recognises replaced.
    /// Streamed answers are not logged, their requests are
    #[arg(long)]
    pub log_bodies: bool,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for a user and print it once, alone on standard output
    #[command(after_help = TOKEN_EXAMPLES)]
    Issue(TokenIssueArgs),
    /// List tokens: id, user, created, expires, status (never a token or its hash)
    List(TokenStoreArgs),
    /// Revoke the token with this id, or every token of this user
    #[command(after_help = TOKEN_REVOKE_HELP)]
    Revoke(TokenRevokeArgs),
}

#[derive(Debug, Args)]
pub struct TokenStoreArgs {
    /// Store URL: memory, sqlite:PATH or redis://HOST:PORT/DB [default: [serve] store, else
    /// sqlite:.keyguard/serve.db]. A URL with a Redis password belongs in KEYGUARD_STORE, not on
    /// the command line, where every user of the machine can read it
    #[arg(
        long,
        value_name = "URL",
        env = "KEYGUARD_STORE",
        hide_env_values = true
    )]
    pub store: Option<String>,

    /// Read this configuration file instead of ./keyguard.toml
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TokenIssueArgs {
    /// The user the token acts for (limits are counted per user)
    #[arg(long, value_name = "NAME")]
    pub user: String,

    /// Lifetime, such as 90m, 12h, 30d or 2w [default: never expires]
    #[arg(long, value_name = "DURATION", value_parser = parse_lifetime)]
    pub expires: Option<u64>,

    #[command(flatten)]
    pub store: TokenStoreArgs,
}

const TOKEN_REVOKE_HELP: &str = "\
A user name that is also a token's id is refused as ambiguous (exit 2): say which with
--id or --user. `keyguard token issue` refuses user names of that shape (12 hex digits).";

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("which").required(true).args(["target", "id", "user"])))]
pub struct TokenRevokeArgs {
    /// A token id (from `keyguard token list`) or a user name
    #[arg(value_name = "NAME|ID")]
    pub target: Option<String>,

    /// Revoke only the token with this id
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,

    /// Revoke every token of this user
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,

    #[command(flatten)]
    pub store: TokenStoreArgs,
}

/// "30d" -> seconds. Minutes, hours, days or weeks; a bare number is refused (is 30 days or
/// seconds meant?).
pub fn parse_lifetime(s: &str) -> Result<u64, String> {
    const HELP: &str = "use a number and a unit: 90m, 12h, 30d or 2w";
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| HELP.to_string())?;
    let unit: u64 = match unit {
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(HELP.to_string()),
    };
    match n.checked_mul(unit) {
        Some(0) => Err("a lifetime must be longer than zero".to_string()),
        // Beyond ~100 years, timestamps stop being meaningful: say "leave out --expires".
        Some(secs) if secs <= 100 * 365 * 86_400 => Ok(secs),
        _ => Err("too long (at most 100 years; leave out --expires for no expiry)".to_string()),
    }
}

fn parse_size(s: &str) -> Result<u64, String> {
    crate::config::parse_size(s)
}
