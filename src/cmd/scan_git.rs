//! `keyguard scan git [REPO]`: a repository's whole history through the engine.

use anyhow::Result;

use super::Outcome;
use crate::cli::GitArgs;

pub fn run(_args: &GitArgs, _out: &mut dyn std::io::Write) -> Result<Outcome> {
    anyhow::bail!("scan git: not built yet")
}
