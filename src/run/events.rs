//! What the runner tells reporters while it works. Adding a variant means updating every
//! reporter that consumes events (today: the terminal).

use std::sync::Arc;

use serde::Serialize;

use super::cleanup::CleanupReport;
use super::outcome::TestResult;

#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub tool_version: &'static str,
    pub target: String,
    pub seed: u64,
    pub jobs: usize,
    pub plans: Vec<PlanInfo>,
    pub total_tests: usize,
    /// Set when `tls.insecure` is on: every report repeats it.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlanInfo {
    pub id: String,
    pub title: String,
    pub source: String,
    pub tests: usize,
}

#[derive(Debug, Clone)]
pub enum Event {
    RunStarted(Arc<RunInfo>),
    TestStarted { id: String },
    TestFinished(Arc<TestResult>),
    Interrupted,
    CleanupStarted { pending: usize },
    CleanupFinished(CleanupReport),
}
