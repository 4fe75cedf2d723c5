//! `--artifacts DIR`: each test's evidence as files a person can open and a CI job can
//! upload: `DIR/<plan>/<test-id>/result.txt` and one file per HTTP exchange.

use std::path::Path;

use crate::report::{text, write_atomically};
use crate::run::RunReport;

pub fn write(report: &RunReport, dir: &Path) -> std::io::Result<usize> {
    let mut files = 0;
    for r in &report.results {
        let test_dir = dir.join(safe_name(&r.plan)).join(safe_name(&r.id));
        let mut summary = format!("outcome: {}\n", r.outcome.label());
        summary.push_str(&text::details(r));
        write_atomically(&test_dir.join("result.txt"), summary.as_bytes())?;
        files += 1;
        for (i, e) in r.evidence.iter().enumerate() {
            let name = format!("exchange-{:02}.http", i + 1);
            write_atomically(&test_dir.join(name), e.to_string().as_bytes())?;
            files += 1;
        }
    }
    Ok(files)
}

/// Test ids are already safe (`[a-z0-9._-]`), but plan ids come from user files; never let
/// one climb out of the artifacts directory.
fn safe_name(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '.') {
        "_".to_string()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_cannot_escape() {
        assert_eq!(super::safe_name(".."), "_");
        assert_eq!(super::safe_name("a/../b"), "a_.._b");
    }
}
