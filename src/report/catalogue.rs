//! The check catalogue: why each check exists, its spec reference and how to fix a failure,
//! as Markdown. One renderer for `oinspect explain ID` (one entry) and `oinspect explain
//! --all` (docs/checks.md: every built-in check, grouped by plan), so both say the same.

use std::fmt::Write as _;

use crate::plan::{Plan, TestCase};
use crate::severity::Severity;

/// How docs/checks.md is regenerated; said in the file and by the test that keeps it in sync.
pub const REGENERATE: &str = "cargo run -- explain --all > docs/checks.md";

/// The heading anchor GitHub makes for `### text`: lowercase, letters, digits, `-` and `_`
/// kept, spaces to `-`, everything else dropped.
fn slug(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                Some(c.to_lowercase().next().unwrap_or(c))
            } else if c == ' ' {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

/// Text for a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The source file name without line and column (`builtin:scim-rfc.yaml`).
fn source_file(location: &str) -> &str {
    let mut s = location;
    for _ in 0..2 {
        match s.rsplit_once(':') {
            Some((head, tail)) if !tail.is_empty() && tail.chars().all(|c| c.is_ascii_digit()) => {
                s = head;
            }
            _ => break,
        }
    }
    s
}

/// One check, as `oinspect explain ID` prints it and docs/checks.md lists it.
pub fn entry(t: &TestCase) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### {}\n", t.id);
    let _ = writeln!(out, "**{}**\n", t.title.trim());
    let _ = writeln!(
        out,
        "- plan: `{}` ({})",
        t.plan_id,
        source_file(&t.location)
    );
    let _ = writeln!(out, "- severity: {}", t.severity);
    let _ = writeln!(out, "- spec: {}\n", t.spec.trim());
    let _ = writeln!(out, "Why: {}\n", t.why.trim());
    if let Some(fix) = &t.fix {
        let _ = writeln!(out, "How to fix: {}\n", fix.trim());
    }
    out
}

fn plan_heading(p: &Plan) -> String {
    format!("`{}`: {}", p.id, p.title.trim())
}

fn count(tests: &[std::sync::Arc<TestCase>], s: Severity) -> usize {
    tests.iter().filter(|t| t.severity == s).count()
}

/// Every check of `plans`, grouped by plan (docs/checks.md).
pub fn catalogue(plans: &[Plan]) -> String {
    let mut out = String::new();
    let total: usize = plans.iter().map(|p| p.tests.len()).sum();
    out.push_str("# Check catalogue\n\n");
    let _ = writeln!(
        out,
        "Every check of oinspect's built-in plans: why it exists, its spec reference and how to fix a failure. \
         Generated from the plans (`{REGENERATE}`); `oinspect explain ID` prints one entry. \
         Do not edit by hand: `cargo test --test docs_sync` fails when this file and the plans disagree.\n"
    );
    let _ = writeln!(out, "{total} checks in {} plans.\n", plans.len());
    // Severities present, most severe first (the set grows with the plans).
    let mut severities: Vec<Severity> = plans
        .iter()
        .flat_map(|p| p.tests.iter().map(|t| t.severity))
        .collect();
    severities.sort_by(|a, b| b.cmp(a));
    severities.dedup();
    out.push_str("| plan | title | needs | checks |");
    for s in &severities {
        let _ = write!(out, " {s} |");
    }
    out.push_str("\n|---|---|---|---:|");
    for _ in &severities {
        out.push_str("---:|");
    }
    out.push('\n');
    for p in plans {
        let needs: Vec<&str> = p.requires.iter().map(|c| c.as_str()).collect();
        let _ = write!(
            out,
            "| [`{}`](#{}) | {} | {} | {} |",
            p.id,
            slug(&plan_heading(p)),
            cell(&p.title),
            if needs.is_empty() {
                "-".to_string()
            } else {
                needs.join(", ")
            },
            p.tests.len()
        );
        for s in &severities {
            let _ = write!(out, " {} |", count(&p.tests, *s));
        }
        out.push('\n');
    }
    out.push('\n');
    for p in plans {
        let _ = writeln!(out, "## {}\n", plan_heading(p));
        let _ = writeln!(out, "Source: `{}`.\n", p.source_name);
        out.push_str("| check | severity | title |\n|---|---|---|\n");
        for t in &p.tests {
            let _ = writeln!(
                out,
                "| [{}](#{}) | {} | {} |",
                t.id,
                slug(&t.id),
                t.severity,
                cell(t.title.trim())
            );
        }
        out.push('\n');
        for t in &p.tests {
            out.push_str(&entry(t));
        }
    }
    // One trailing newline, as editors and `git diff` like it.
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_github() {
        assert_eq!(slug("scim.users.create"), "scimuserscreate");
        assert_eq!(
            slug("scim-rfc SCIM 2.0 (RFC 7643)"),
            "scim-rfc-scim-20-rfc-7643"
        );
    }

    #[test]
    fn source_file_drops_line_and_column() {
        assert_eq!(source_file("builtin:x.yaml:3:4"), "builtin:x.yaml");
        assert_eq!(source_file("plans/x.yaml"), "plans/x.yaml");
    }

    #[test]
    fn every_builtin_check_is_in_the_catalogue() {
        let plans: Vec<Plan> = crate::plan::builtin::all()
            .iter()
            .map(|s| crate::plan::load_plan_source(s).unwrap())
            .collect();
        let md = catalogue(&plans);
        for p in &plans {
            for t in &p.tests {
                assert!(md.contains(&format!("### {}\n", t.id)), "{}", t.id);
                assert!(md.contains(entry(t).trim_end()));
            }
        }
    }
}
