//! `keyguard scan staged`: what `git commit` would record now, added lines only.

use anyhow::Result;

use super::Outcome;
use crate::cli::StagedArgs;

pub fn run(_args: &StagedArgs, _out: &mut dyn std::io::Write) -> Result<Outcome> {
    anyhow::bail!("scan staged: not built yet")
}
