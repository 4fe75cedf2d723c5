//! Every check can fail: for each break switch of the reference app, exactly the listed
//! tests fail, and every built-in test fails under at least one switch (or is listed in
//! `NOT_BREAKABLE` with the reason). The correct app passes everything.
//!
//! To refresh the table after changing plans or switches:
//!   OINSPECT_PRINT_MATRIX=1 cargo test --test break_matrix -- --nocapture print_matrix

use std::collections::{BTreeMap, BTreeSet};

use assert_cmd::Command;

/// Fixed so the matrix is reproducible; the outcomes must not depend on it (the demo test
/// in tests/cli.rs and the concurrency test use other seeds).
const SEED: &str = "20261129";

/// break switch → the tests that fail under it (outcome `fail`; tests that cannot run
/// because an earlier test of their sequence failed are skipped, not listed).
const EXPECTED: &[(&str, &[&str])] = &[];

/// Built-in tests no break switch can make fail, with the reason.
const NOT_BREAKABLE: &[(&str, &str)] = &[];

fn demo(args: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let out = Command::cargo_bin("oinspect")
        .unwrap()
        .args(["demo", "--seed", SEED, "--jobs", "4", "--json"])
        .arg(&json)
        .args(args)
        .env("NO_COLOR", "1")
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1 | 3)),
        "demo {args:?} exited {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap()
}

fn outcomes(report: &serde_json::Value, outcome: &str) -> BTreeSet<String> {
    report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["outcome"] == outcome)
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

fn switches() -> Vec<String> {
    oinspect::demo::catalogue()
        .iter()
        .map(|b| b.name.to_string())
        .collect()
}

fn observed() -> BTreeMap<String, BTreeSet<String>> {
    switches()
        .into_iter()
        .map(|b| {
            let report = demo(&["--break", &b]);
            let errors = outcomes(&report, "error");
            assert!(
                errors.is_empty(),
                "--break {b}: tests errored instead of judging: {errors:?}"
            );
            (b, outcomes(&report, "fail"))
        })
        .collect()
}

#[test]
fn the_correct_app_passes_everything() {
    let report = demo(&[]);
    let not_passed: Vec<_> = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["outcome"] != "pass")
        .map(|t| format!("{} {}: {}", t["id"], t["outcome"], t["message"]))
        .collect();
    assert!(not_passed.is_empty(), "{not_passed:#?}");
}

#[test]
fn each_break_fails_exactly_its_checks_and_every_check_can_fail() {
    let observed = observed();
    let expected: BTreeMap<String, BTreeSet<String>> = EXPECTED
        .iter()
        .map(|(b, ids)| (b.to_string(), ids.iter().map(|s| s.to_string()).collect()))
        .collect();
    let mut problems = Vec::new();
    for (b, got) in &observed {
        match expected.get(b) {
            None => problems.push(format!("switch {b} is not in EXPECTED (fails: {got:?})")),
            Some(want) if want != got => problems.push(format!(
                "--break {b}: unexpectedly failing {:?}, unexpectedly passing {:?}",
                got.difference(want).collect::<Vec<_>>(),
                want.difference(got).collect::<Vec<_>>()
            )),
            Some(_) => {}
        }
        if got.is_empty() {
            problems.push(format!("--break {b}: no check catches it"));
        }
    }
    for b in expected.keys() {
        if !observed.contains_key(b) {
            problems.push(format!("EXPECTED names unknown switch {b}"));
        }
    }
    let caught: BTreeSet<&String> = observed.values().flatten().collect();
    let exempt: BTreeSet<&str> = NOT_BREAKABLE.iter().map(|(id, _)| *id).collect();
    for src in oinspect::plan::builtin::all() {
        let plan = oinspect::plan::load_plan_source(&src).unwrap();
        for t in &plan.tests {
            if !caught.contains(&t.id) && !exempt.contains(t.id.as_str()) {
                problems.push(format!("{} fails under no break switch", t.id));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `--rate-limit` makes every Nth request a 429 with `Retry-After: 0`: oinspect retries as
/// Okta does and everything passes; without the header it cannot, and says why.
#[test]
fn rate_limited_app_is_retried_and_a_missing_retry_after_is_named() {
    let report = demo(&["--rate-limit", "9"]);
    assert!(
        outcomes(&report, "fail").is_empty(),
        "{:?}",
        outcomes(&report, "fail")
    );
    let retried = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["notes"].as_array().unwrap().iter())
        .filter(|n| n.as_str().unwrap().contains("HTTP 429 with Retry-After: 0"))
        .count();
    assert!(retried > 0, "no retry happened");

    let report = demo(&["--rate-limit", "9", "--break", "scim-429-no-retry-after"]);
    let failed: Vec<&serde_json::Value> = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["outcome"] == "fail")
        .collect();
    assert!(!failed.is_empty());
    assert!(failed.iter().any(|t| {
        t["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["subject"] == "Retry-After header of the 429")
    }));
}

#[test]
#[ignore = "prints the matrix; run with OINSPECT_PRINT_MATRIX=1 to refresh EXPECTED"]
fn print_matrix() {
    if std::env::var_os("OINSPECT_PRINT_MATRIX").is_none() {
        return;
    }
    println!("const EXPECTED: &[(&str, &[&str])] = &[");
    for (b, ids) in observed() {
        let list: Vec<String> = ids.iter().map(|i| format!("\"{i}\"")).collect();
        println!("    (\"{b}\", &[{}]),", list.join(", "));
    }
    println!("];");
}
