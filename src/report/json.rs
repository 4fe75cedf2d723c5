//! The JSON report: a documented, versioned shape (see README "JSON report") for other tools.

use serde::Serialize;

use crate::http::Exchange;
use crate::run::RunReport;
use crate::run::cleanup::CleanupReport;
use crate::run::events::RunInfo;
use crate::run::outcome::{Counts, Finding, Outcome};
use crate::severity::Severity;

/// Bumped on any incompatible change to the shape.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    tool: Tool,
    run: &'a RunInfo,
    interrupted: bool,
    duration_ms: u64,
    summary: &'a Counts,
    plans: Vec<PlanSummary<'a>>,
    tests: Vec<JsonTest<'a>>,
    cleanup: &'a CleanupReport,
    exit_code: i32,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct PlanSummary<'a> {
    id: &'a str,
    title: &'a str,
    source: &'a str,
    summary: Counts,
}

#[derive(Serialize)]
struct JsonTest<'a> {
    id: &'a str,
    plan: &'a str,
    title: &'a str,
    severity: Severity,
    outcome: Outcome,
    message: &'a str,
    duration_ms: u64,
    spec: &'a str,
    why: &'a str,
    fix: Option<&'a str>,
    location: &'a str,
    findings: &'a [Finding],
    notes: &'a [String],
    evidence: &'a [Exchange],
}

pub fn render(report: &RunReport, exit_code: i32) -> serde_json::Result<String> {
    let doc = JsonReport {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "oinspect",
            version: env!("CARGO_PKG_VERSION"),
        },
        run: &report.info,
        interrupted: report.interrupted,
        duration_ms: report.duration_ms,
        summary: &report.counts,
        plans: report
            .info
            .plans
            .iter()
            .map(|p| PlanSummary {
                id: &p.id,
                title: &p.title,
                source: &p.source,
                summary: Counts::of(report.results.iter().filter(|r| r.plan == p.id)),
            })
            .collect(),
        tests: report
            .results
            .iter()
            .map(|r| JsonTest {
                id: &r.id,
                plan: &r.plan,
                title: &r.title,
                severity: r.severity,
                outcome: r.outcome,
                message: &r.message,
                duration_ms: r.duration_ms,
                spec: &r.spec,
                why: &r.why,
                fix: r.fix.as_deref(),
                location: &r.location,
                findings: &r.findings,
                notes: &r.notes,
                evidence: &r.evidence,
            })
            .collect(),
        cleanup: &report.cleanup,
        exit_code,
    };
    serde_json::to_string_pretty(&doc)
}
