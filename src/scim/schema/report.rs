//! Collecting findings: JSONPath building, bounded rendering of actual values, and a cap on the
//! number of findings so an attacker-shaped body cannot blow up the report.

use std::io;

use serde_json::Value;

use super::Violation;
use super::rules::{Rule, TRUNCATED};
use crate::severity::Severity;

/// Findings kept per body. A 1000-item page with a few findings each stays readable, and a
/// 100 MB array of broken items cannot turn into gigabytes of report.
pub(super) const MAX_FINDINGS: usize = 1000;

/// Rendered actual values are cut at this many bytes (roughly characters for ASCII JSON).
const ACTUAL_MAX: usize = 80;

/// What was found where a rule expected something else.
pub(super) enum Actual<'a> {
    /// The attribute is absent (or null, which RFC 7643 §2.5 makes equivalent).
    Absent,
    /// Render this JSON value, truncated.
    Json(&'a Value),
    /// The value must not be echoed into reports (a leaked password).
    Redacted,
    /// A short explanation built by the rule.
    Text(String),
}

impl Actual<'_> {
    fn render(&self) -> String {
        match self {
            Actual::Absent => "(absent)".to_owned(),
            Actual::Json(value) => render_json(value),
            Actual::Redacted => "a value (redacted)".to_owned(),
            Actual::Text(text) => text.clone(),
        }
    }
}

/// Accumulates violations for one `validate` call.
#[derive(Default)]
pub(super) struct Report {
    found: Vec<Violation>,
    suppressed: usize,
    worst_suppressed: Option<Severity>,
}

impl Report {
    /// Records that `rule` is violated at `path`.
    pub(super) fn flag(
        &mut self,
        rule: &Rule,
        path: &str,
        expected: impl Into<String>,
        actual: Actual<'_>,
    ) {
        if self.found.len() >= MAX_FINDINGS {
            self.suppressed += 1;
            self.worst_suppressed = self.worst_suppressed.max(Some(rule.severity));
            return;
        }
        self.found.push(Violation {
            path: path.to_owned(),
            expected: expected.into(),
            actual: actual.render(),
            rule: rule.text.to_owned(),
            reference: rule.reference,
            severity: rule.severity,
        });
    }

    /// The findings, plus one summary finding if some were dropped. The summary carries the
    /// worst dropped severity so the exit code still reflects a dropped `Required` finding.
    pub(super) fn finish(mut self) -> Vec<Violation> {
        if let Some(severity) = self.worst_suppressed {
            self.found.push(Violation {
                path: "$".to_owned(),
                expected: format!("at most {MAX_FINDINGS} findings"),
                actual: format!("{} more findings not listed", self.suppressed),
                rule: TRUNCATED.text.to_owned(),
                reference: TRUNCATED.reference,
                severity,
            });
        }
        self.found
    }
}

/// `base` followed by the member `key`, in RFC 9535 notation: `$.emails` for plain names,
/// `$['urn:...:User']` or `$.members[0]['$ref']` for anything else.
pub(super) fn child(base: &str, key: &str) -> String {
    let mut path = base.to_owned();
    push_child(&mut path, key);
    path
}

/// `base` followed by the array index `index`.
pub(super) fn index(base: &str, index: usize) -> String {
    let mut path = base.to_owned();
    push_index(&mut path, index);
    path
}

/// Appends the member `key` to `path` in place (no copy of the prefix).
pub(super) fn push_child(path: &mut String, key: &str) {
    if is_shorthand_name(key) {
        path.push('.');
        path.push_str(key);
    } else {
        path.push_str("['");
        push_escaped_name(path, key);
        path.push_str("']");
    }
}

/// Appends the array index `index` to `path` in place.
pub(super) fn push_index(path: &mut String, index: usize) {
    path.push('[');
    path.push_str(&index.to_string());
    path.push(']');
}

/// RFC 9535 member-name-shorthand, restricted to ASCII: a letter or `_`, then letters, digits
/// or `_`. Everything else (URNs, `$ref`, empty names) needs bracket notation.
fn is_shorthand_name(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Appends `key` escaped for a single-quoted RFC 9535 name selector.
fn push_escaped_name(out: &mut String, key: &str) {
    for c in key.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
}

/// Compact JSON of `value`, cut at [`ACTUAL_MAX`] bytes with a trailing `…`. Serialization
/// stops as soon as the buffer is full, so a huge or deeply nested value costs no more than a
/// small one beyond scanning its first long string.
pub(super) fn render_json(value: &Value) -> String {
    let mut sink = CappedSink::default();
    let complete = serde_json::to_writer(&mut sink, value).is_ok();
    let mut text = utf8_prefix(sink.buf);
    if !complete {
        text.push('…');
    }
    text
}

/// The longest valid UTF-8 prefix of `bytes` (the cap may split a multi-byte character).
fn utf8_prefix(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            // `valid_up_to` is at most the length, so the slice below is in bounds.
            let valid = err.utf8_error().valid_up_to();
            let bytes = err.into_bytes();
            String::from_utf8_lossy(&bytes[..valid]).into_owned()
        }
    }
}

/// A writer that keeps the first [`ACTUAL_MAX`] bytes and then fails, aborting serialization.
#[derive(Default)]
struct CappedSink {
    buf: Vec<u8>,
}

impl io::Write for CappedSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        // Cannot underflow: the buffer only ever grows up to `ACTUAL_MAX`.
        let room = ACTUAL_MAX - self.buf.len();
        if data.len() > room {
            self.buf.extend_from_slice(&data[..room]);
            return Err(io::Error::other("rendering cap reached"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
