//! Exit codes: a public contract (README "Exit codes"); change only with a major version.

/// Every selected required test passed.
pub const OK: i32 = 0;
/// A required or critical test failed: the app misbehaved.
pub const REQUIRED_FAILED: i32 = 1;
/// Invalid invocation, plan or target, found before any network traffic.
pub const INVALID_INPUT: i32 = 2;
/// No required test failed, but at least one test could not be judged (error).
pub const NOT_JUDGED: i32 = 3;
/// The plans and filters selected no test.
pub const NO_TESTS: i32 = 4;
/// Interrupted by Ctrl-C (128 + SIGINT, as shells report it).
pub const INTERRUPTED: i32 = 130;

use crate::run::RunReport;
use crate::run::outcome::Outcome;

/// The exit code a finished run deserves. A required failure outranks errors: the vendor
/// must fix it whatever else could not be judged.
pub fn for_report(report: &RunReport) -> i32 {
    if report.interrupted {
        INTERRUPTED
    } else if report.results.is_empty() {
        NO_TESTS
    } else if report.results.iter().any(|r| r.is_required_failure()) {
        REQUIRED_FAILED
    } else if report.results.iter().any(|r| r.outcome == Outcome::Error) {
        NOT_JUDGED
    } else {
        OK
    }
}
