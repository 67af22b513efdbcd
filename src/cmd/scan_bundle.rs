//! `keyguard scan bundle [DIR]...`: built front-end output, through source maps.

use anyhow::Result;

use super::Outcome;
use crate::cli::BundleArgs;

pub fn run(_args: &BundleArgs, _out: &mut dyn std::io::Write) -> Result<Outcome> {
    anyhow::bail!("scan bundle: not built yet")
}
