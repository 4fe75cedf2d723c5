//! Plain-text renderings shared by the terminal, JUnit and artifacts, so a failure reads the
//! same everywhere.

use std::fmt::Write;

use crate::run::outcome::{Outcome, TestResult};

/// How many exchanges a failure report shows inline; the artifacts keep all of them.
const INLINE_EXCHANGES: usize = 2;

/// The full explanation of a failed, errored or skipped test: findings, where they are
/// defined, the rule and its reference, how to fix, and the evidence that decided.
pub fn details(r: &TestResult) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} [{}] {}", r.id, r.severity, r.title);
    if !r.message.is_empty() {
        let _ = writeln!(out, "  {}", r.message);
    }
    for f in &r.findings {
        let _ = writeln!(out, "  - step {}: {}", f.step, f.subject);
        let _ = writeln!(out, "      expected: {}", f.expected);
        let _ = writeln!(out, "      actual:   {}", f.actual);
        let _ = writeln!(out, "      defined at {}", f.location);
    }
    for n in &r.notes {
        let _ = writeln!(out, "  note: {n}");
    }
    if r.outcome == Outcome::Fail {
        let _ = writeln!(out, "  rule: {}", r.why);
        let _ = writeln!(out, "  spec: {}", r.spec);
        if let Some(fix) = &r.fix {
            let _ = writeln!(out, "  fix:  {fix}");
        }
    }
    let _ = writeln!(out, "  test: {}", r.location);
    if r.outcome != Outcome::Skip {
        // The last exchanges are the ones that decided.
        let skip = r.evidence.len().saturating_sub(INLINE_EXCHANGES);
        if skip > 0 {
            let _ = writeln!(
                out,
                "  evidence ({skip} earlier exchanges in the artifacts):"
            );
        } else if !r.evidence.is_empty() {
            let _ = writeln!(out, "  evidence:");
        }
        for e in r.evidence.iter().skip(skip) {
            for line in excerpt(&e.to_string(), 40).lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    out
}

/// The first `max_lines` lines of `text`, saying how many were left out.
pub fn excerpt(text: &str, max_lines: usize) -> String {
    let total = text.lines().count();
    if total <= max_lines {
        return text.to_string();
    }
    let mut out: String = text.lines().take(max_lines).collect::<Vec<_>>().join("\n");
    let _ = write!(out, "\n... ({} more lines)", total - max_lines);
    out
}
