//! The runner: schedules tests (concurrently up to `--jobs`, sequences in order), enforces
//! per-test timeouts, stops on Ctrl-C or `--fail-fast`, cleans up, and emits events.
//! It never prints.

pub mod cleanup;
pub mod events;
pub mod outcome;
pub mod scope;
pub mod select;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc, watch};

use crate::engine::{self, RunContext};
use crate::plan::{Plan, TestCase};
use cleanup::CleanupReport;
use events::{Event, PlanInfo, RunInfo};
use outcome::{Counts, Outcome, TestResult};

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub jobs: usize,
    pub fail_fast: bool,
    pub test_timeout: Duration,
}

/// Everything reporters need after the run.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub info: Arc<RunInfo>,
    /// In plan order, then test order, whatever order they ran in.
    pub results: Vec<TestResult>,
    pub cleanup: CleanupReport,
    pub interrupted: bool,
    pub duration_ms: u64,
    pub counts: Counts,
}

/// Ctrl-C presses so far; the app's signal handler bumps it.
pub type Interrupts = watch::Receiver<u32>;

/// Runs the selected tests of `plans` (each already filtered to its selected tests).
pub async fn run(
    ctx: Arc<RunContext>,
    plans: &[Plan],
    opts: &RunOptions,
    target_name: String,
    warnings: Vec<String>,
    events: mpsc::UnboundedSender<Event>,
    mut interrupts: Interrupts,
) -> RunReport {
    let started = Instant::now();
    let info = Arc::new(RunInfo {
        tool_version: env!("CARGO_PKG_VERSION"),
        target: target_name,
        seed: ctx.seed,
        jobs: opts.jobs,
        plans: plans
            .iter()
            .map(|p| PlanInfo {
                id: p.id.clone(),
                title: p.title.clone(),
                source: p.source_name.clone(),
                tests: p.tests.len(),
            })
            .collect(),
        total_tests: plans.iter().map(|p| p.tests.len()).sum(),
        warnings,
    });
    let _ = events.send(Event::RunStarted(info.clone()));

    let order: Vec<Arc<TestCase>> = plans.iter().flat_map(|p| p.tests.iter().cloned()).collect();
    let units = schedule_units(plans);
    let stop = Arc::new(AtomicBool::new(false));
    let semaphore = Arc::new(Semaphore::new(opts.jobs.max(1)));
    // Results are kept as each test finishes, so a sequence aborted by Ctrl-C keeps the
    // results of the tests it already ran.
    let done: Arc<std::sync::Mutex<BTreeMap<String, TestResult>>> = Arc::default();
    let mut tasks = tokio::task::JoinSet::new();
    for unit in units {
        let ctx = ctx.clone();
        let stop = stop.clone();
        let semaphore = semaphore.clone();
        let events = events.clone();
        let opts = opts.clone();
        let done = done.clone();
        tasks.spawn(async move {
            // The semaphore is never closed, so acquiring only fails if it were: treat
            // that as "no limit" rather than losing the unit.
            let _permit = semaphore.acquire_owned().await.ok();
            run_unit(&ctx, unit, &opts, &stop, &events, &done).await;
        });
    }

    let mut presses_at_interrupt = None;
    let mut interrupted = false;
    loop {
        tokio::select! {
            joined = tasks.join_next() => match joined {
                Some(Ok(())) => {}
                // A panicking test task is a bug; its tests are reported below as errors.
                Some(Err(_)) => {}
                None => break,
            },
            changed = interrupts.changed(), if !interrupted => {
                if changed.is_ok() {
                    interrupted = true;
                    // Presses after this one abort the cleanup, even those that arrive
                    // before the cleanup has started.
                    presses_at_interrupt = Some(*interrupts.borrow_and_update());
                    stop.store(true, Ordering::SeqCst);
                    tasks.abort_all();
                    let _ = events.send(Event::Interrupted);
                }
            }
        }
    }

    let mut finished = std::mem::take(&mut *done.lock().unwrap_or_else(|p| p.into_inner()));
    let results: Vec<TestResult> = order
        .iter()
        .map(|t| {
            finished.remove(&t.id).unwrap_or_else(|| {
                let reason = if interrupted {
                    "interrupted (Ctrl-C) before it finished"
                } else {
                    "internal error: the test's task ended without a result (a bug; please report it)"
                };
                let outcome = if interrupted { Outcome::Skip } else { Outcome::Error };
                let r = unfinished(t, outcome, reason);
                let _ = events.send(Event::TestFinished(Arc::new(r.clone())));
                r
            })
        })
        .collect();

    let cleanup = run_cleanup(&ctx, &events, &mut interrupts, presses_at_interrupt).await;
    RunReport {
        counts: Counts::of(&results),
        info,
        results,
        cleanup,
        interrupted,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

/// Cleanup runs after everything, also after Ctrl-C; another Ctrl-C abandons it and the
/// report lists what is left.
async fn run_cleanup(
    ctx: &RunContext,
    events: &mpsc::UnboundedSender<Event>,
    interrupts: &mut Interrupts,
    presses_at_interrupt: Option<u32>,
) -> CleanupReport {
    let pending = ctx.cleanup.pending();
    if pending == 0 {
        return CleanupReport::default();
    }
    let _ = events.send(Event::CleanupStarted { pending });
    let seen = *interrupts.borrow_and_update();
    let presses_before = presses_at_interrupt.unwrap_or(seen);
    if seen > presses_before {
        let report = ctx.cleanup.abandoned("cleanup aborted by a second Ctrl-C");
        let _ = events.send(Event::CleanupFinished(report.clone()));
        return report;
    }
    let report = tokio::select! {
        r = ctx.cleanup.run(&ctx.client) => r,
        _ = async {
            loop {
                if interrupts.changed().await.is_err() {
                    // The sender is gone: nobody can interrupt any more, so wait forever
                    // and let cleanup finish.
                    std::future::pending::<()>().await;
                }
                if *interrupts.borrow() > presses_before { break; }
            }
        } => ctx.cleanup.abandoned("cleanup aborted by a second Ctrl-C"),
    };
    let _ = events.send(Event::CleanupFinished(report.clone()));
    report
}

/// Tests with a `sequence` run in file order in one unit; every other test is a unit.
fn schedule_units(plans: &[Plan]) -> Vec<Vec<Arc<TestCase>>> {
    let mut units: Vec<Vec<Arc<TestCase>>> = Vec::new();
    let mut sequence_index: BTreeMap<(String, String), usize> = BTreeMap::new();
    for plan in plans {
        for test in &plan.tests {
            match &test.sequence {
                Some(seq) => {
                    let key = (plan.id.clone(), seq.clone());
                    let index = *sequence_index.entry(key).or_insert_with(|| {
                        units.push(Vec::new());
                        units.len() - 1
                    });
                    units[index].push(test.clone());
                }
                None => units.push(vec![test.clone()]),
            }
        }
    }
    units
}

async fn run_unit(
    ctx: &RunContext,
    unit: Vec<Arc<TestCase>>,
    opts: &RunOptions,
    stop: &AtomicBool,
    events: &mpsc::UnboundedSender<Event>,
    done: &std::sync::Mutex<BTreeMap<String, TestResult>>,
) {
    let mut names = BTreeMap::new();
    for test in unit {
        let result = if stop.load(Ordering::SeqCst) {
            unfinished(
                &test,
                Outcome::Skip,
                "not run: --fail-fast stopped the run after a required test failed",
            )
        } else {
            let _ = events.send(Event::TestStarted {
                id: test.id.clone(),
            });
            match tokio::time::timeout(opts.test_timeout, engine::run_test(ctx, &test, &mut names))
                .await
            {
                Ok(r) => r,
                Err(_) => unfinished(
                    &test,
                    Outcome::Error,
                    &format!(
                        "test timed out after {:.0}s (--timeout)",
                        opts.test_timeout.as_secs_f64()
                    ),
                ),
            }
        };
        if opts.fail_fast && result.is_required_failure() {
            stop.store(true, Ordering::SeqCst);
        }
        let _ = events.send(Event::TestFinished(Arc::new(result.clone())));
        done.lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(result.id.clone(), result);
    }
}

fn unfinished(test: &TestCase, outcome: Outcome, reason: &str) -> TestResult {
    TestResult {
        id: test.id.clone(),
        plan: test.plan_id.clone(),
        title: test.title.clone(),
        severity: test.severity,
        outcome,
        message: reason.to_string(),
        findings: Vec::new(),
        notes: Vec::new(),
        evidence: Vec::new(),
        duration_ms: 0,
        spec: test.spec.clone(),
        why: test.why.clone(),
        fix: test.fix.clone(),
        location: test.location.clone(),
    }
}
