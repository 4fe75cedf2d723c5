//! `--github-summary`: a Markdown summary appended to `$GITHUB_STEP_SUMMARY` and `::error`
//! workflow commands for required failures, as GitHub Actions shows them.
//!
//! GitHub's limits: a step summary holds at most 1 MiB (larger ones are dropped with an
//! error), and a step shows at most 10 error annotations. The summary is cut at whole
//! blocks (table rows, detail sections) and says so; annotations stop at 10, the last one
//! saying how many more failed.

use std::fmt::Write as _;

use crate::redact::Redactor;
use crate::report::text;
use crate::run::RunReport;
use crate::run::outcome::{Counts, Outcome, TestResult};

/// GitHub's limit for one step's summary.
pub const STEP_SUMMARY_LIMIT: usize = 1024 * 1024;
/// GitHub shows at most this many `error` annotations per step.
pub const MAX_ERROR_ANNOTATIONS: usize = 10;
/// Room kept for the closing "truncated" notice.
const RESERVE: usize = 1024;

/// Escapes a workflow command's message (GitHub's `escapeData`).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value (GitHub's `escapeProperty`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Text for a Markdown table cell: one line, no cell breaks, no HTML or emphasis.
fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\r' => {}
            '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A fenced code block whose fence no line of `body` can close.
fn code_block(body: &str) -> String {
    let longest = body
        .lines()
        .map(|l| l.trim_start().chars().take_while(|c| *c == '`').count())
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}text\n{}\n{fence}\n", body.trim_end())
}

fn counts_cells(c: &Counts) -> String {
    format!(
        "{} | {} | {} | {} | {} | {}",
        c.total, c.passed, c.failed, c.required_failed, c.errors, c.skipped
    )
}

/// The Markdown summary, at most `limit` bytes.
pub fn markdown(report: &RunReport, exit_code: i32, redactor: &Redactor, limit: usize) -> String {
    let info = &report.info;
    let verdict = match exit_code {
        0 => "✅ all required tests passed",
        1 => "❌ required tests failed",
        3 => "⚠️ some tests could not be judged (errors)",
        4 => "⚠️ no test selected",
        130 => "⚠️ interrupted",
        _ => "finished",
    };
    let mut head = String::new();
    let _ = writeln!(head, "## oinspect: {verdict}\n");
    let _ = writeln!(
        head,
        "Target **{}** · seed `{}` · {} tests in {} plans · {:.2}s · exit {exit_code}\n",
        cell(&info.target),
        info.seed,
        info.total_tests,
        info.plans.len(),
        report.duration_ms as f64 / 1000.0
    );
    for w in &info.warnings {
        let _ = writeln!(head, "> **warning:** {}\n", cell(w));
    }
    head.push_str("| plan | tests | passed | failed | required failed | errors | skipped |\n");
    head.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    for plan in &info.plans {
        let c = Counts::of(report.results.iter().filter(|r| r.plan == plan.id));
        let _ = writeln!(head, "| {} | {} |", cell(&plan.id), counts_cells(&c));
    }
    let _ = writeln!(head, "| **total** | {} |\n", counts_cells(&report.counts));

    let mut notable: Vec<&TestResult> = report
        .results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Fail | Outcome::Error))
        .collect();
    notable.sort_by_key(|r| (r.outcome != Outcome::Fail, std::cmp::Reverse(r.severity)));

    // Blocks in the order they matter; each goes in whole or not at all.
    let mut blocks: Vec<(String, &'static str)> = Vec::new();
    if !notable.is_empty() {
        blocks.push((
            "### Failures and errors\n\n| outcome | severity | test | plan | message |\n|---|---|---|---|---|\n"
                .to_string(),
            "",
        ));
        for r in &notable {
            blocks.push((
                format!(
                    "| {} | {} | {} | {} | {} |\n",
                    r.outcome.label(),
                    r.severity,
                    cell(&r.id),
                    cell(&r.plan),
                    cell(&r.message)
                ),
                "failure rows",
            ));
        }
        blocks.push(("\n".to_string(), ""));
        for r in &notable {
            blocks.push((
                format!(
                    "<details><summary>{} {}</summary>\n\n{}\n</details>\n\n",
                    r.outcome.label(),
                    cell(&r.id),
                    code_block(&text::details(r))
                ),
                "failure details",
            ));
        }
    }
    blocks.push((
        "<details><summary>All tests</summary>\n\n| outcome | severity | test | plan | ms |\n|---|---|---|---|---:|\n"
            .to_string(),
        "",
    ));
    for r in &report.results {
        blocks.push((
            format!(
                "| {} | {} | {} | {} | {} |\n",
                r.outcome.label(),
                r.severity,
                cell(&r.id),
                cell(&r.plan),
                r.duration_ms
            ),
            "rows of the all-tests table",
        ));
    }
    blocks.push(("\n</details>\n".to_string(), ""));

    let mut out = redactor.redact(&head).into_owned();
    let budget = limit.saturating_sub(RESERVE);
    let mut left_out: Vec<(&'static str, usize)> = Vec::new();
    let mut cut = false;
    for (block, what) in blocks {
        let block = redactor.redact(&block).into_owned();
        // Structural blocks (table heads, closers) always go in so the Markdown stays valid;
        // they are small.
        if what.is_empty() {
            out.push_str(&block);
            continue;
        }
        if cut || out.len() + block.len() > budget {
            cut = true;
            match left_out.iter_mut().find(|(w, _)| *w == what) {
                Some((_, n)) => *n += 1,
                None => left_out.push((what, 1)),
            }
            continue;
        }
        out.push_str(&block);
    }
    if !left_out.is_empty() {
        let list: Vec<String> = left_out.iter().map(|(w, n)| format!("{n} {w}")).collect();
        let _ = writeln!(
            out,
            "\n**Truncated:** GitHub keeps at most 1 MiB of step summary; left out: {}. The JUnit and JSON reports have everything.",
            list.join(", ")
        );
    }
    if out.len() > limit {
        // Only a huge header (thousands of plans) gets here: cut at a line boundary.
        let mut end = limit.saturating_sub(200);
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        let end = out[..end].rfind('\n').unwrap_or(0);
        out.truncate(end);
        out.push_str("\n\n**Truncated:** GitHub keeps at most 1 MiB of step summary.\n");
    }
    out
}

/// Splits `builtin:x.yaml:12:5` / `plans/a.yaml:12:5` into (file, line, col).
fn split_location(location: &str) -> (&str, Option<&str>, Option<&str>) {
    let mut parts = location.rsplitn(3, ':');
    let last = parts.next();
    let middle = parts.next();
    let rest = parts.next();
    match (rest, middle, last) {
        (Some(file), Some(line), Some(col))
            if line.chars().all(|c| c.is_ascii_digit())
                && col.chars().all(|c| c.is_ascii_digit())
                && !line.is_empty() =>
        {
            (file, Some(line), Some(col))
        }
        _ => (location, None, None),
    }
}

/// One `::error` line for a required failure. Built-in plans live in oinspect's binary, not
/// in the workflow's repository, so only plan files get `file=`.
fn annotation(r: &TestResult, redactor: &Redactor) -> String {
    let (file, line, col) = split_location(&r.location);
    let mut props = Vec::new();
    if !file.starts_with("builtin:") && !file.is_empty() {
        props.push(format!("file={}", escape_property(file)));
        if let Some(l) = line {
            props.push(format!("line={l}"));
        }
        if let Some(c) = col {
            props.push(format!("col={c}"));
        }
    }
    props.push(format!(
        "title={}",
        escape_property(&format!("oinspect {} [{}]", r.id, r.severity))
    ));
    let mut message = format!("{}: {}", r.title, r.message);
    if let Some(fix) = &r.fix {
        let _ = write!(message, "\nfix: {fix}");
    }
    let _ = write!(message, "\nspec: {}", r.spec);
    format!(
        "::error {}::{}",
        props.join(","),
        escape_data(&redactor.redact(&message))
    )
}

/// `::error` commands for required failures, at most [`MAX_ERROR_ANNOTATIONS`]: past that
/// the last one says how many more there are.
pub fn annotations(report: &RunReport, redactor: &Redactor) -> Vec<String> {
    let failures: Vec<&TestResult> = report
        .results
        .iter()
        .filter(|r| r.is_required_failure())
        .collect();
    if failures.len() <= MAX_ERROR_ANNOTATIONS {
        return failures.iter().map(|r| annotation(r, redactor)).collect();
    }
    let shown = MAX_ERROR_ANNOTATIONS - 1;
    let mut out: Vec<String> = failures[..shown]
        .iter()
        .map(|r| annotation(r, redactor))
        .collect();
    let more = failures.len() - shown;
    out.push(format!(
        "::error title={}::{}",
        escape_property(&format!("oinspect: {more} more required failures")),
        escape_data(&format!(
            "{more} more required tests failed ({} in all); GitHub shows at most {MAX_ERROR_ANNOTATIONS} error annotations per step. The step summary and the JUnit report list them all.",
            failures.len()
        ))
    ));
    out
}

/// Appends the summary to the file `$GITHUB_STEP_SUMMARY` names, keeping the file (which
/// may already hold earlier output of the step) under GitHub's limit.
pub fn append_step_summary(
    path: &std::path::Path,
    report: &RunReport,
    exit_code: i32,
    redactor: &Redactor,
) -> std::io::Result<()> {
    use std::io::Write;
    let existing = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let room = STEP_SUMMARY_LIMIT.saturating_sub(usize::try_from(existing).unwrap_or(usize::MAX));
    if room < 4 * RESERVE {
        return Err(std::io::Error::other(format!(
            "{} already holds {existing} bytes: no room left under GitHub's 1 MiB step summary limit",
            path.display()
        )));
    }
    let text = markdown(report, exit_code, redactor, room);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::cleanup::CleanupReport;
    use crate::run::events::{PlanInfo, RunInfo};
    use crate::severity::Severity;
    use std::sync::Arc;

    fn result(i: usize, outcome: Outcome) -> TestResult {
        TestResult {
            id: format!("p.test{i:05}"),
            plan: "p".into(),
            title: "a | b\nc".into(),
            severity: Severity::Required,
            outcome,
            message: "expected 201, got 200 | <b>hi</b> 100%\nsecond line, with: colon".repeat(3),
            findings: vec![],
            notes: vec![],
            evidence: vec![],
            duration_ms: 1,
            spec: "RFC 7644 §3.3".into(),
            why: "w".into(),
            fix: Some("do x".into()),
            location: if i.is_multiple_of(2) {
                "builtin:p.yaml:3:5".into()
            } else {
                "plans/my,plan:x.yaml:12:7".into()
            },
        }
    }

    fn report(n: usize) -> RunReport {
        let results: Vec<TestResult> = (0..n)
            .map(|i| {
                result(
                    i,
                    if i.is_multiple_of(3) {
                        Outcome::Pass
                    } else {
                        Outcome::Fail
                    },
                )
            })
            .collect();
        RunReport {
            info: Arc::new(RunInfo {
                tool_version: "0",
                target: "acme | staging".into(),
                seed: 7,
                jobs: 4,
                plans: vec![PlanInfo {
                    id: "p".into(),
                    title: "P".into(),
                    source: "s".into(),
                    tests: n,
                }],
                total_tests: n,
                warnings: vec![],
            }),
            counts: Counts::of(&results),
            results,
            cleanup: CleanupReport::default(),
            interrupted: false,
            duration_ms: 10,
        }
    }

    /// Every table row has as many cells as its header (a `|` inside a cell is escaped).
    fn assert_tables_valid(md: &str) {
        let mut columns: Option<usize> = None;
        for line in md.lines() {
            if !line.starts_with('|') {
                columns = None;
                continue;
            }
            let mut cells = 0;
            let mut escaped = false;
            for c in line.chars() {
                match (c, escaped) {
                    ('\\', false) => escaped = true,
                    ('|', false) => cells += 1,
                    _ => escaped = false,
                }
            }
            match columns {
                None => columns = Some(cells),
                Some(n) => assert_eq!(n, cells, "row with another cell count: {line}"),
            }
        }
    }

    #[test]
    fn summary_is_valid_markdown_and_keeps_the_limit_with_many_tests() {
        let r = report(20_000);
        let md = markdown(&r, 1, &Redactor::default(), STEP_SUMMARY_LIMIT);
        assert!(md.len() <= STEP_SUMMARY_LIMIT, "{}", md.len());
        assert!(md.contains("**Truncated:**"), "says it was cut");
        assert!(md.contains("| **total** | 20000 |"));
        assert_tables_valid(&md);
        assert_eq!(
            md.matches("<details>").count(),
            md.matches("</details>").count()
        );
        let small = markdown(&report(5), 1, &Redactor::default(), STEP_SUMMARY_LIMIT);
        assert!(!small.contains("Truncated"));
        assert!(small.contains("### Failures and errors"));
        assert!(small.contains("\\| &lt;b&gt;hi&lt;/b&gt;"), "{small}");
        assert_tables_valid(&small);
    }

    #[test]
    fn secrets_in_results_are_redacted() {
        let mut r = report(3);
        r.results[1].message = "token tok-sekrit-1 leaked".into();
        let md = markdown(
            &r,
            1,
            &Redactor::new(["tok-sekrit-1".to_string()]),
            STEP_SUMMARY_LIMIT,
        );
        assert!(!md.contains("tok-sekrit-1"));
    }

    #[test]
    fn annotations_are_escaped_and_capped() {
        let r = report(40);
        let lines = annotations(&r, &Redactor::default());
        assert_eq!(lines.len(), MAX_ERROR_ANNOTATIONS);
        for l in &lines {
            assert!(l.starts_with("::error "), "{l}");
            assert!(!l.contains('\n') && !l.contains('\r'));
        }
        // Properties: `:` and `,` escaped inside the file name.
        let odd = lines.iter().find(|l| l.contains("file=")).unwrap();
        assert!(
            odd.starts_with(
                "::error file=plans/my%2Cplan%3Ax.yaml,line=12,col=7,title=oinspect p.test"
            ),
            "{odd}"
        );
        let builtin = lines[..9].iter().find(|l| !l.contains("file=")).unwrap();
        assert!(
            builtin.contains("100%25%0Asecond line, with: colon"),
            "{builtin}"
        );
        let required = r.results.iter().filter(|r| r.is_required_failure()).count();
        assert!(
            lines[9].contains(&format!("{} more required", required - 9)),
            "{}",
            lines[9]
        );
    }

    #[test]
    fn escaping_follows_github_rules() {
        assert_eq!(escape_data("a%b\r\nc:d,e"), "a%25b%0D%0Ac:d,e");
        assert_eq!(escape_property("a%b\r\nc:d,e"), "a%25b%0D%0Ac%3Ad%2Ce");
    }
}
