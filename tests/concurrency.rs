//! `--jobs` changes speed, never verdicts, and no test depends on another's leftovers:
//! - the same outcomes with 16 jobs and with 1 job, across 20 seeds (each run against a
//!   fresh reference app, so the two runs of a seed differ only in scheduling);
//! - every scheduling unit (a test, or a whole `sequence`) run alone gets the outcomes it
//!   gets in the full run.
//!
//! The SAML security suite is far slower than the other plans in a debug build (forged
//! Responses, extra keys), so the 20 seeds cover every other built-in plan and the suite
//! gets its own comparison (one seed).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use oinspect::demo::{Breaks, ReferenceApp};

type Outcomes = BTreeMap<String, String>;
/// Work for [`in_parallel`].
type Job<'a, T> = Box<dyn FnOnce() -> T + Send + 'a>;

/// The tests of this file each start several oinspect processes; run one at a time so they
/// do not starve each other (and time out) on a small machine.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

fn outcomes_of(report: &Path, what: &str, stdout: &[u8]) -> Outcomes {
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report).unwrap_or_else(|e| {
            panic!(
                "{what}: no report ({e}): {}",
                String::from_utf8_lossy(stdout)
            )
        }))
        .unwrap();
    assert_eq!(
        report["cleanup"]["left_behind"],
        serde_json::json!([]),
        "{what}: the run left resources behind"
    );
    report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `oinspect demo` (a fresh reference app per run) with `args`; every selected test must pass.
fn demo(seed: u32, jobs: u32, args: &[&str]) -> Outcomes {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let out = Command::new(env!("CARGO_BIN_EXE_oinspect"))
        .args([
            "demo",
            "--seed",
            &seed.to_string(),
            "--jobs",
            &jobs.to_string(),
        ])
        .args(args)
        .arg("--json")
        .arg(&json)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let what = format!("seed {seed} jobs {jobs}");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    outcomes_of(&json, &what, &out.stdout)
}

/// Runs `jobs` (closures) `width` at a time on threads; results in input order.
fn in_parallel<T: Send>(width: usize, jobs: Vec<Job<'_, T>>) -> Vec<T> {
    let mut out = Vec::new();
    let mut jobs = jobs.into_iter();
    loop {
        let batch: Vec<_> = jobs.by_ref().take(width).collect();
        if batch.is_empty() {
            return out;
        }
        out.extend(std::thread::scope(|s| {
            let handles: Vec<_> = batch.into_iter().map(|job| s.spawn(job)).collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .collect::<Vec<_>>()
        }));
    }
}

fn compare_jobs(seeds: std::ops::RangeInclusive<u32>, args: &'static [&'static str]) {
    let runs: Vec<Job<'static, (u32, u32, Outcomes)>> = seeds
        .flat_map(|seed| {
            [16, 1].map(|jobs| {
                Box::new(move || (seed, jobs, demo(seed, jobs, args)))
                    as Job<'static, (u32, u32, Outcomes)>
            })
        })
        .collect();
    // Both runs of two seeds at once: each has its own reference app.
    let results = in_parallel(4, runs);
    for pair in results.chunks(2) {
        let [(seed, 16, many), (_, 1, one)] = pair else {
            panic!("runs out of order");
        };
        assert!(!one.is_empty(), "seed {seed}: no tests ran");
        assert_eq!(many, one, "seed {seed}: --jobs 16 and --jobs 1 disagree");
    }
}

#[test]
fn sixteen_jobs_and_one_job_agree_across_twenty_seeds() {
    let _one = exclusive();
    compare_jobs(1..=20, &["--skip", "saml-security"]);
}

#[test]
fn the_saml_security_suite_agrees_across_jobs() {
    let _one = exclusive();
    compare_jobs(1..=1, &["--only", "saml-security"]);
}

/// The units the runner schedules: each test alone, or a sequence's tests together.
fn units() -> Vec<(String, Vec<String>)> {
    let mut units: Vec<(String, Vec<String>)> = Vec::new();
    for source in oinspect::plan::builtin::all() {
        let plan = oinspect::plan::load_plan_source(&source).unwrap();
        if plan.id == "saml-security" {
            continue;
        }
        let mut sequences: BTreeMap<String, usize> = BTreeMap::new();
        for t in &plan.tests {
            match &t.sequence {
                Some(seq) => {
                    let i = *sequences.entry(seq.clone()).or_insert_with(|| {
                        units.push((plan.id.clone(), Vec::new()));
                        units.len() - 1
                    });
                    units[i].1.push(t.id.clone());
                }
                None => units.push((plan.id.clone(), vec![t.id.clone()])),
            }
        }
    }
    units
}

#[test]
fn every_test_alone_gets_its_outcome_in_the_full_run() {
    let _one = exclusive();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = rt
        .block_on(ReferenceApp::start(0, Breaks::none(), None))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target.yaml");
    std::fs::write(&target, app.target_yaml(true)).unwrap();
    let run = |name: &str, plans: &[&str], only: &[String]| -> Outcomes {
        let json = dir.path().join(format!("{name}.json"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_oinspect"));
        cmd.arg("run")
            .args(plans)
            .arg("--target")
            .arg(&target)
            .args(["--seed", "9", "--jobs", "4", "--json"])
            .arg(&json)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        for id in only {
            cmd.arg("--only").arg(id);
        }
        let out = cmd.output().unwrap();
        outcomes_of(&json, name, &out.stdout)
    };
    let units = units();
    let plans: Vec<&str> = {
        let mut p: Vec<&str> = units.iter().map(|(plan, _)| plan.as_str()).collect();
        p.dedup();
        p
    };
    let full = run("full", &plans, &[]);
    assert!(
        full.values().all(|o| o == "pass"),
        "the full run does not pass: {full:?}"
    );
    let jobs: Vec<Job<'_, (Vec<String>, Outcomes)>> = units
        .iter()
        .enumerate()
        .map(|(i, (plan, ids))| {
            let run = &run;
            Box::new(move || {
                (
                    ids.clone(),
                    run(&format!("unit-{i}"), &[plan.as_str()], ids),
                )
            }) as Job<'_, (Vec<String>, Outcomes)>
        })
        .collect();
    let count = jobs.len();
    // One at a time: a unit must not see anything another unit is doing.
    for (ids, alone) in in_parallel(1, jobs) {
        let expected: Outcomes = ids
            .iter()
            .map(|id| (id.clone(), full[id].clone()))
            .collect();
        assert_eq!(
            alone, expected,
            "run alone, {ids:?} differ from the full run"
        );
    }
    eprintln!(
        "{count} units alone agree with the full run of {} tests",
        full.len()
    );
    drop(app);
    rt.shutdown_timeout(Duration::from_secs(1));
}
