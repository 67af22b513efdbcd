//! `keyguard rules`: the catalogue, as a table or JSON.

use anyhow::Result;
use serde_json::json;

use super::{Outcome, Printer};
use crate::cli::{ColorChoice, RulesArgs, RulesFormat};
use crate::config::Config;

pub fn run(args: &RulesArgs, out: &mut dyn std::io::Write) -> Result<Outcome> {
    let printer = Printer::new(false, ColorChoice::Auto);
    let config = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    let set = super::load_rules(&config, true, &printer)?;
    let rules: Vec<_> = set
        .rules()
        .iter()
        .filter(|r| {
            args.provider
                .as_ref()
                .is_none_or(|p| r.spec.provider.eq_ignore_ascii_case(p))
        })
        .collect();
    match args.format {
        RulesFormat::Json => {
            let v: Vec<_> = rules
                .iter()
                .map(|r| {
                    let s = &r.spec;
                    json!({
                        "id": s.id, "provider": s.provider, "title": s.title,
                        "kind": s.kind.to_string(),
                        "severity": s.severity.to_string(), "confidence": s.confidence.to_string(),
                        "keywords": s.keywords, "pattern": s.pattern,
                        "dashboard_url": s.dashboard_url, "docs_url": s.docs_url,
                        "remediation": s.remediation, "optional": s.optional,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &v)?;
            writeln!(out)?;
        }
        RulesFormat::Human => {
            let w = rules.iter().map(|r| r.id().len()).max().unwrap_or(0).max(2);
            let pw = rules
                .iter()
                .map(|r| r.spec.provider.len())
                .max()
                .unwrap_or(0)
                .max("PROVIDER".len());
            writeln!(
                out,
                "{:<w$}  {:<pw$}  {:<8}  TITLE",
                "ID", "PROVIDER", "SEVERITY"
            )?;
            for r in &rules {
                writeln!(
                    out,
                    "{:<w$}  {:<pw$}  {:<8}  {}",
                    r.id(),
                    r.spec.provider,
                    r.spec.severity.to_string(),
                    r.spec.title
                )?;
            }
            let providers: std::collections::HashSet<_> =
                rules.iter().map(|r| r.spec.provider.as_str()).collect();
            let optional = rules.iter().filter(|r| r.spec.optional).count();
            printer.info(&format!(
                "{} rules ({} optional: on with `keyguard scan --all-rules` or [scan] enable_rules), {} providers",
                rules.len(),
                optional,
                providers.len()
            ));
        }
    }
    Ok(Outcome::Clean)
}
