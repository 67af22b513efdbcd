//! `keyguard completions SHELL`.

use anyhow::Result;
use clap::CommandFactory;

use super::Outcome;
use crate::cli::Cli;

pub fn run(shell: clap_complete::Shell, out: &mut dyn std::io::Write) -> Result<Outcome> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "keyguard", out);
    Ok(Outcome::Clean)
}
