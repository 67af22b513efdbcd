//! The JSON report of DESIGN.md, field for field.

use serde_json::{Map, Value, json};

use super::Report;
use crate::finding::Finding;

pub fn finding_json(f: &Finding, show_secrets: bool) -> Value {
    let mut m = Map::new();
    m.insert("rule_id".into(), json!(f.rule_id));
    m.insert("kind".into(), json!(f.kind.to_string()));
    m.insert("provider".into(), json!(f.provider));
    m.insert("title".into(), json!(f.title));
    m.insert("severity".into(), json!(f.severity.to_string()));
    m.insert("confidence".into(), json!(f.confidence.to_string()));
    m.insert("path".into(), json!(f.path));
    m.insert("line".into(), json!(f.line));
    m.insert("column".into(), json!(f.column));
    m.insert("secret_redacted".into(), json!(f.secret_redacted));
    if show_secrets {
        m.insert(
            "secret".into(),
            json!(String::from_utf8_lossy(f.secret.expose())),
        );
    }
    m.insert("secret_hash".into(), json!(f.secret_hash));
    m.insert("fingerprint".into(), json!(f.fingerprint));
    if let Some(c) = &f.commit {
        m.insert("commit".into(), json!(c));
    }
    if let Some(r) = f.reachable {
        m.insert("reachable".into(), json!(r));
    }
    if let Some(p) = f.present_at_head {
        m.insert("present_at_head".into(), json!(p));
    }
    if let Some(o) = &f.original {
        m.insert("original".into(), json!(o));
    }
    if let Some(v) = &f.validation {
        m.insert("validation".into(), json!(v));
    }
    Value::Object(m)
}

pub fn to_value(r: &Report) -> Value {
    let s = &r.summary;
    json!({
        "version": 1,
        "tool": {"name": "keyguard", "version": env!("CARGO_PKG_VERSION")},
        "source": r.source,
        "findings": r.findings.iter().map(|f| finding_json(f, r.show_secrets)).collect::<Vec<_>>(),
        "summary": {
            "files": s.files,
            "bytes": s.bytes,
            "commits": s.commits,
            "blobs": s.blobs,
            "findings": r.findings.len(),
            "distinct_secrets": r.distinct_secrets(),
            "skipped": {
                "binary": s.skipped_binary,
                "too_large": s.skipped_too_large,
                "unreadable": s.skipped_unreadable,
            },
            "duration_ms": s.duration_ms,
        }
    })
}

pub fn write(r: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_value(r))?;
    out.write_all(b"\n")
}
