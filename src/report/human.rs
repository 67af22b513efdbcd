//! Human output: findings grouped by file, one line each, `line:column`, severity, title and the
//! redacted secret. Colour only when asked or on a terminal; all file-derived text is escaped.

use colored::Colorize;

use super::Report;
use crate::rules::Severity;

pub fn write(r: &Report, out: &mut dyn std::io::Write, color: bool) -> std::io::Result<()> {
    colored::control::set_override(color);
    let mut current: Option<&str> = None;
    for f in r.findings {
        if current != Some(f.path.as_str()) {
            if current.is_some() {
                writeln!(out)?;
            }
            // Sources escape paths; escaping again is harmless and keeps this a safety net.
            writeln!(out, "{}", crate::sanitize::escape(&f.path).magenta().bold())?;
            current = Some(&f.path);
        }
        let sev = format!("{:<8}", f.severity.to_string());
        let sev = match f.severity {
            Severity::Critical => sev.red().bold(),
            Severity::High => sev.red(),
            Severity::Medium => sev.yellow(),
            Severity::Low => sev.normal(),
        };
        let secret = if r.show_secrets {
            crate::sanitize::escape(&String::from_utf8_lossy(f.secret.expose())).into_owned()
        } else {
            f.secret_redacted.clone()
        };
        let mut line = format!(
            "  {}  {}  {}  {}  {}",
            format!("{}:{}", f.line, f.column).green(),
            sev,
            crate::sanitize::escape(&f.title),
            secret.bold(),
            crate::sanitize::escape(&f.rule_id).dimmed()
        );
        if f.confidence != crate::rules::Confidence::High {
            line.push_str(&format!(
                " {}",
                format!("({} confidence)", f.confidence).dimmed()
            ));
        }
        if let Some(v) = &f.validation {
            let status = match v.status.as_str() {
                "live" => crate::providers::Status::Live,
                "dead" => crate::providers::Status::Dead,
                _ => crate::providers::Status::Unknown,
            };
            line.push_str(&format!("  {}", paint_status(status, &v.status)));
        }
        if let Some(o) = &f.original {
            line.push_str(&format!("  from {}:{}:{}", o.path, o.line, o.column));
        }
        writeln!(out, "{line}")?;
        if let Some((before, after)) = &f.context
            && (!before.trim().is_empty() || !after.trim().is_empty())
        {
            writeln!(
                out,
                "      {}{}{}",
                before.trim_start().dimmed(),
                secret,
                after.trim_end().dimmed()
            )?;
        }
        if let Some(c) = &f.commit {
            let date = c.date.get(..10).unwrap_or(&c.date);
            writeln!(
                out,
                "      {} {}  {} <{}>  {}",
                c.id.get(..12).unwrap_or(&c.id).yellow(),
                date,
                crate::sanitize::escape(&c.author),
                crate::sanitize::escape(&c.email),
                crate::sanitize::escape(&c.summary).dimmed()
            )?;
        }
        let mut notes = Vec::new();
        if f.reachable == Some(false) {
            notes.push("unreachable: no ref holds it, but the object is still in the repository");
        }
        if f.path == "(commit message)" {
            notes.push("in a commit message: only rewriting history removes it; revoke the key");
        } else if f.present_at_head == Some(false) {
            notes.push("gone from HEAD, still in history: anyone with a clone has it");
        }
        for n in notes {
            writeln!(out, "      {}", n.dimmed())?;
        }
    }
    Ok(())
}

/// A verification status word in its colour (when colour is on): live keys are the alarm.
pub fn paint_status(status: crate::providers::Status, text: &str) -> colored::ColoredString {
    use crate::providers::Status;
    match status {
        Status::Live => text.red().bold(),
        Status::Dead => text.green(),
        Status::Unknown => text.yellow(),
    }
}
