//! What a test run produces: one result per test, and counts.

use serde::Serialize;

use crate::http::Exchange;
use crate::severity::Severity;

/// Exactly one per test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The app behaved as the check requires.
    Pass,
    /// The app misbehaved: expected vs actual, with evidence.
    Fail,
    /// Could not be judged: connection refused, timeout, bad configuration.
    Error,
    /// Not applicable or not run, with the reason.
    Skip,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::Error => "ERROR",
            Self::Skip => "SKIP",
        }
    }
}

/// One thing the app got wrong in a step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// 1-based step number in the test.
    pub step: usize,
    /// What was checked: `status`, `header Location`, `$.userName`.
    pub subject: String,
    pub expected: String,
    pub actual: String,
    /// `file:line:col` of the step in the plan.
    pub location: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "step {}: {}: expected {}, got {}",
            self.step, self.subject, self.expected, self.actual
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    pub id: String,
    pub plan: String,
    pub title: String,
    pub severity: Severity,
    pub outcome: Outcome,
    /// One line: why it failed, errored or was skipped; empty on pass.
    pub message: String,
    pub findings: Vec<Finding>,
    /// Things worth knowing that did not decide the outcome (retries, milder findings).
    pub notes: Vec<String>,
    pub evidence: Vec<Exchange>,
    pub duration_ms: u64,
    pub spec: String,
    pub why: String,
    pub fix: Option<String>,
    /// `file:line:col` of the test in its plan.
    pub location: String,
}

impl TestResult {
    pub fn is_required_failure(&self) -> bool {
        self.outcome == Outcome::Fail && self.severity.gates()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
    pub skipped: usize,
    /// Failures of required tests: what gates the exit code.
    pub required_failed: usize,
}

impl Counts {
    pub fn add(&mut self, r: &TestResult) {
        self.total += 1;
        match r.outcome {
            Outcome::Pass => self.passed += 1,
            Outcome::Fail => self.failed += 1,
            Outcome::Error => self.errors += 1,
            Outcome::Skip => self.skipped += 1,
        }
        if r.is_required_failure() {
            self.required_failed += 1;
        }
    }

    pub fn of<'a>(results: impl IntoIterator<Item = &'a TestResult>) -> Self {
        let mut c = Self::default();
        for r in results {
            c.add(r);
        }
        c
    }
}
