//! SARIF 2.1.0, as GitHub code scanning accepts it: the rules that produced results in
//! `tool.driver.rules`, one result per finding with a physical location, and
//! `partialFingerprints` so alerts track across commits.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Report;
use crate::rules::{Rule, Severity};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// GitHub maps `security-severity` to critical (≥ 9.0), high (≥ 7.0), medium (≥ 4.0), low.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

fn rule_descriptor(rule: &Rule) -> Value {
    let s = &rule.spec;
    let mut help = match s.kind {
        crate::rules::Kind::Secret => format!(
            "{} found in the source. A key that reached a repository must be treated as leaked: revoke it and issue a new one.",
            s.title
        ),
        crate::rules::Kind::Exposure => format!("{}.", s.title),
    };
    if let Some(r) = &s.remediation {
        help = format!("{help}\n\n{r}");
    }
    if let Some(url) = &s.dashboard_url {
        help = format!("{help}\n\nRotate at: {url}");
    }
    let mut d = json!({
        "id": s.id,
        "name": s.id,
        "shortDescription": {"text": s.title},
        "fullDescription": {"text": format!("{} ({})", s.title, s.provider)},
        "help": {"text": help},
        "defaultConfiguration": {"level": level(s.severity)},
        "properties": {
            "tags": ["security", s.kind.to_string(), s.provider.as_str()],
            "security-severity": security_severity(s.severity),
            "precision": match s.confidence {
                crate::rules::Confidence::High => "very-high",
                crate::rules::Confidence::Medium => "high",
                crate::rules::Confidence::Low => "medium",
            },
        }
    });
    if let Some(url) = s.docs_url.as_ref().or(s.dashboard_url.as_ref()) {
        d["helpUri"] = json!(url);
    }
    d
}

/// Percent-encodes what may not stand in a relative URI reference.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn to_value(r: &Report) -> Value {
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rules = Vec::new();
    for f in r.findings {
        if !index.contains_key(f.rule_id.as_str())
            && let Some(rule) = r.rules.rules().iter().find(|x| x.id() == f.rule_id)
        {
            index.insert(&f.rule_id, rules.len());
            rules.push(rule_descriptor(rule));
        }
    }
    let results: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            let mut result = json!({
                "ruleId": f.rule_id,
                "level": level(f.severity),
                "message": {"text": format!("{}: {} ({} confidence)", f.title, f.secret_redacted, f.confidence)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(&f.path)},
                        "region": {"startLine": f.line, "startColumn": f.column}
                    }
                }],
                // No secret hash here: SARIF is uploaded to code-scanning services, and a fast
                // hash of a short password can be brute-forced. The fingerprint hashes it again
                // with the rule and location.
                "partialFingerprints": {"keyguardFinding/v1": f.fingerprint},
                "properties": {"confidence": f.confidence.to_string()}
            });
            if let Some(v) = &f.validation {
                result["properties"]["validation"] = json!(v);
            }
            if let Some(c) = &f.commit {
                result["properties"]["commit"] = json!(c.id);
                result["message"]["text"] = json!(format!(
                    "{} (introduced in commit {}{})",
                    result["message"]["text"].as_str().unwrap_or_default(),
                    c.id.get(..12).unwrap_or(&c.id),
                    if f.present_at_head == Some(false) {
                        "; gone from HEAD, still in history: revoke it"
                    } else {
                        ""
                    }
                ));
            }
            if let Some(reachable) = f.reachable {
                result["properties"]["reachable"] = json!(reachable);
            }
            if let Some(at_head) = f.present_at_head {
                result["properties"]["presentAtHead"] = json!(at_head);
            }
            if r.show_secrets {
                result["properties"]["secret"] =
                    json!(String::from_utf8_lossy(f.secret.expose()));
            }
            if let Some(&i) = index.get(f.rule_id.as_str()) {
                result["ruleIndex"] = json!(i);
            }
            result
        })
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "keyguard",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

pub fn write(r: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_value(r))?;
    out.write_all(b"\n")
}
