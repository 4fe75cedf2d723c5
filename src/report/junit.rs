//! JUnit XML as GitHub Actions reporters, GitLab and Jenkins read it: a testsuite per plan,
//! a testcase per test with classname = plan id and name = test id.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::report::text;
use crate::run::RunReport;
use crate::run::outcome::Outcome;

pub fn render(report: &RunReport) -> Result<String, quick_junit::SerializeError> {
    let mut junit = Report::new("oinspect");
    junit.set_time(Duration::from_millis(report.duration_ms));
    for plan in &report.info.plans {
        let mut suite = TestSuite::new(plan.id.as_str());
        suite.add_property(("plan.source", plan.source.as_str()));
        suite.add_property(("target", report.info.target.as_str()));
        suite.add_property(("seed", report.info.seed.to_string().as_str()));
        suite.add_property(("oinspect.version", report.info.tool_version));
        for w in &report.info.warnings {
            suite.add_property(("warning", w.as_str()));
        }
        let mut total = Duration::ZERO;
        for r in report.results.iter().filter(|r| r.plan == plan.id) {
            let status = match r.outcome {
                Outcome::Pass => TestCaseStatus::success(),
                Outcome::Skip => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(r.message.as_str());
                    s
                }
                Outcome::Fail | Outcome::Error => {
                    let kind = if r.outcome == Outcome::Fail {
                        NonSuccessKind::Failure
                    } else {
                        NonSuccessKind::Error
                    };
                    let mut s = TestCaseStatus::non_success(kind);
                    s.set_message(format!("[{}] {}", r.severity, r.message));
                    s.set_type(if r.outcome == Outcome::Fail {
                        "assertion"
                    } else {
                        "error"
                    });
                    s.set_description(text::details(r));
                    s
                }
            };
            let mut case = TestCase::new(r.id.as_str(), status);
            case.set_classname(r.plan.as_str());
            let time = Duration::from_millis(r.duration_ms);
            total += time;
            case.set_time(time);
            case.add_property(("severity", r.severity.as_str()));
            case.add_property(("spec", r.spec.as_str()));
            suite.add_test_case(case);
        }
        suite.set_time(total);
        junit.add_test_suite(suite);
    }
    junit.to_string()
}
