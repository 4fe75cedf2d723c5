//! `--format json`: the run as JSON Lines on stdout, one event object per line, for tools that
//! follow a run as it happens. Every object has an `event` field:
//!
//! - `run_started`: target, seed, jobs, plans, total_tests, warnings, tool version
//! - `test_started`: id
//! - `finding`: test, plan, step, subject, expected, actual, location (one per finding of a
//!   failed test, before its `test_finished`)
//! - `test_finished`: id, plan, title, severity, outcome, message, duration_ms, notes,
//!   exchanges (their count)
//! - `interrupted`
//! - `cleanup_started`: pending; `cleanup_finished`: removed, left_behind
//! - `summary`: counts, per-plan counts, interrupted, duration_ms, exit_code (always last)
//!
//! Everything in it comes from recorded (redacted) results: nothing can carry a secret the
//! other reports would not.

use std::io::Write;

use serde_json::{Value, json};

use crate::run::RunReport;
use crate::run::events::Event;
use crate::run::outcome::{Counts, TestResult};

/// Bumped on any incompatible change to the event shapes.
pub const EVENTS_VERSION: u32 = 1;

/// The lines one event becomes (a finished test also yields its findings).
pub fn event_lines(event: &Event) -> Vec<Value> {
    match event {
        Event::RunStarted(info) => vec![json!({
            "event": "run_started",
            "events_version": EVENTS_VERSION,
            "tool": { "name": "oinspect", "version": info.tool_version },
            "target": info.target,
            "seed": info.seed,
            "jobs": info.jobs,
            "total_tests": info.total_tests,
            "plans": info.plans,
            "warnings": info.warnings,
        })],
        Event::TestStarted { id } => vec![json!({ "event": "test_started", "id": id })],
        Event::TestFinished(r) => {
            let mut lines: Vec<Value> = r
                .findings
                .iter()
                .map(|f| {
                    json!({
                        "event": "finding",
                        "test": r.id,
                        "plan": r.plan,
                        "step": f.step,
                        "subject": f.subject,
                        "expected": f.expected,
                        "actual": f.actual,
                        "location": f.location,
                    })
                })
                .collect();
            lines.push(test_finished(r));
            lines
        }
        Event::Interrupted => vec![json!({ "event": "interrupted" })],
        Event::CleanupStarted { pending } => {
            vec![json!({ "event": "cleanup_started", "pending": pending })]
        }
        Event::CleanupFinished(c) => vec![json!({
            "event": "cleanup_finished",
            "removed": c.removed,
            "left_behind": c.left_behind,
        })],
    }
}

fn test_finished(r: &TestResult) -> Value {
    json!({
        "event": "test_finished",
        "id": r.id,
        "plan": r.plan,
        "title": r.title,
        "severity": r.severity,
        "outcome": r.outcome,
        "message": r.message,
        "duration_ms": r.duration_ms,
        "notes": r.notes,
        "exchanges": r.evidence.len(),
        "location": r.location,
    })
}

/// The closing line.
pub fn summary_line(report: &RunReport, exit_code: i32) -> Value {
    let plans: Vec<Value> = report
        .info
        .plans
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "summary": Counts::of(report.results.iter().filter(|r| r.plan == p.id)),
            })
        })
        .collect();
    json!({
        "event": "summary",
        "summary": report.counts,
        "plans": plans,
        "interrupted": report.interrupted,
        "duration_ms": report.duration_ms,
        "seed": report.info.seed,
        "exit_code": exit_code,
    })
}

/// Writes events as lines to stdout (or any writer), flushing after each so a reader sees
/// them as they happen.
pub struct JsonLines<W: Write> {
    out: W,
}

impl<W: Write> JsonLines<W> {
    pub fn new(out: W) -> Self {
        Self { out }
    }

    pub fn handle(&mut self, event: &Event) {
        for line in event_lines(event) {
            self.write(&line);
        }
    }

    pub fn finish(&mut self, report: &RunReport, exit_code: i32) {
        self.write(&summary_line(report, exit_code));
    }

    fn write(&mut self, value: &Value) {
        // serde_json never writes a raw newline inside a value: one object, one line.
        // A closed pipe is not worth dying for (the exit code still tells the verdict).
        let _ = writeln!(self.out, "{value}");
        let _ = self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::outcome::{Finding, Outcome};
    use crate::severity::Severity;
    use std::sync::Arc;

    fn result() -> TestResult {
        TestResult {
            id: "a.b".into(),
            plan: "p".into(),
            title: "line\nbreak".into(),
            severity: Severity::Required,
            outcome: Outcome::Fail,
            message: "m".into(),
            findings: vec![Finding {
                step: 1,
                subject: "HTTP status".into(),
                expected: "201".into(),
                actual: "200".into(),
                location: "p.yaml:3:4".into(),
            }],
            notes: vec![],
            evidence: vec![],
            duration_ms: 3,
            spec: "s".into(),
            why: "w".into(),
            fix: None,
            location: "p.yaml:1:1".into(),
        }
    }

    #[test]
    fn a_finished_test_is_its_findings_then_the_result_each_on_one_line() {
        let mut buf = Vec::new();
        JsonLines::new(&mut buf).handle(&Event::TestFinished(Arc::new(result())));
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["event"], "finding");
        assert_eq!(lines[0]["expected"], "201");
        assert_eq!(lines[1]["event"], "test_finished");
        assert_eq!(lines[1]["outcome"], "fail");
        assert_eq!(lines[1]["title"], "line\nbreak");
    }
}
