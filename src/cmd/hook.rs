//! `keyguard hook install|uninstall`.

use anyhow::Result;

use super::Outcome;
use crate::cli::HookCommand;

pub fn run(_cmd: &HookCommand) -> Result<Outcome> {
    anyhow::bail!("hook: not built yet")
}
