//! Thin entry point: parse, dispatch, map errors to exit codes (0 clean, 1 findings, 2 error).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use keyguard::cli::{Cli, Command};
use keyguard::cmd::{self, Outcome};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = match cli.command {
        Command::Scan(args) => cmd::scan::run(&args, &mut out),
        Command::Init(args) => cmd::init::run(&args),
        Command::Hook(cmd) => cmd::hook::run(&cmd),
        Command::Rules(args) => cmd::rules::run(&args, &mut out),
        Command::Key(cmd) => cmd::key::run(&cmd, &mut out),
        Command::Run(args) => cmd::run::run(&args),
        Command::Verify(args) => cmd::verify::run(&args, &mut out),
        Command::Rotate(args) => cmd::rotate::run(&args, &mut out),
        Command::Serve(args) => cmd::serve::run(&args),
        Command::Token(cmd) => cmd::token::run(&cmd, &mut out),
        Command::Completions { shell } => cmd::completions::run(shell, &mut out),
    };
    let flushed = out.flush();
    match result.and_then(|o| flushed.map(|_| o).map_err(Into::into)) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Errors can quote a scanned repository's config or file names: escape them.
            eprintln!(
                "keyguard: error: {}",
                keyguard::sanitize::escape_lines(&format!("{e:#}"))
            );
            ExitCode::from(2)
        }
    }
}

/// `keyguard scan | head` closes our stdout early: that is not an error worth a message.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
