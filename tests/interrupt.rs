//! Ctrl-C during a run: the run stops, deletes what it created and exits 130; a second
//! Ctrl-C abandons the cleanup at once and the report lists what was left behind.
//!
//! These tests run the real binary as a child process and send it SIGINT with `kill -INT`.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use oinspect::demo::{Breaks, ReferenceApp, SCIM_BASE_PATH};

/// A running `oinspect` child: its stdout is read line by line on a thread; dropping the
/// guard kills the process, so a failed assertion never leaves one behind.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    stdout: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl Running {
    fn start(args: &[&std::ffi::OsStr], envs: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_oinspect"));
        cmd.args(args)
            .env("NO_COLOR", "1")
            .env_remove("OINSPECT_SEED")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let err = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Self {
            child,
            lines,
            stdout: Vec::new(),
            stderr,
        }
    }

    /// Collects what stdout printed so far (without blocking).
    fn drain(&mut self) {
        while let Ok(line) = self.lines.try_recv() {
            self.stdout.push(line);
        }
    }

    fn stdout(&mut self) -> String {
        self.drain();
        self.stdout.join("\n")
    }

    fn exited(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }

    /// Polls until `ready` holds, the child exits (false) or `limit` passes (panics).
    fn wait_until(&mut self, limit: Duration, mut ready: impl FnMut(&[String]) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            self.drain();
            if ready(&self.stdout) {
                return true;
            }
            if self.exited() {
                self.drain();
                return ready(&self.stdout);
            }
            assert!(
                Instant::now() < deadline,
                "gave up waiting after {limit:?}; stdout so far:\n{}\nstderr:\n{}",
                self.stdout.join("\n"),
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -INT failed");
    }

    /// Waits at most `limit` for the exit code; then stdout is complete.
    fn exit_code(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "oinspect did not exit within {limit:?} of the interrupt; stdout so far:\n{}",
                self.stdout()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader thread ends at EOF; collect everything it read.
        let eof = Instant::now() + Duration::from_secs(5);
        while Instant::now() < eof {
            match self.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => self.stdout.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
        status.code()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The reference app on its own runtime, for the duration of `f`.
fn with_app<T>(f: impl FnOnce(&ReferenceApp) -> T) -> T {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = rt
        .block_on(ReferenceApp::start(0, Breaks::none(), None))
        .unwrap();
    let out = f(&app);
    drop(app);
    rt.shutdown_timeout(Duration::from_secs(1));
    out
}

/// Serves the reference app's SCIM data behind a front that waits `delay` before handling
/// each request, so a run takes long enough for Ctrl-C to land in the middle of it. The
/// wait comes before the handler: a request aborted by Ctrl-C has created nothing.
fn slow_scim_front(app: &ReferenceApp, delay: Duration) -> String {
    let router = axum::Router::new()
        .nest(SCIM_BASE_PATH, app.scim.router())
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| async move {
                tokio::time::sleep(delay).await;
                next.run(req).await
            },
        ));
    common::serve_on_thread(router)
}

fn lines_with<'a>(stdout: &'a str, needle: &str) -> Vec<&'a str> {
    stdout.lines().filter(|l| l.contains(needle)).collect()
}

#[test]
fn ctrl_c_mid_lifecycle_stops_cleans_up_and_exits_130() {
    with_app(|app| {
        // A slower front if the run finished before the signal could land.
        for delay_ms in [100, 400] {
            let dir = tempfile::tempdir().unwrap();
            let front = slow_scim_front(app, Duration::from_millis(delay_ms));
            let target = dir.path().join("target.yaml");
            std::fs::write(
                &target,
                app.target_yaml(false).replace(
                    &format!("{}{SCIM_BASE_PATH}", app.base_url()),
                    &format!("{front}{SCIM_BASE_PATH}"),
                ),
            )
            .unwrap();
            let json = dir.path().join("r.json");
            let mut run = Running::start(
                &[
                    "run".as_ref(),
                    "scim-okta".as_ref(),
                    "scim-rfc".as_ref(),
                    "--target".as_ref(),
                    target.as_os_str(),
                    "--jobs".as_ref(),
                    "2".as_ref(),
                    "--seed".as_ref(),
                    "3".as_ref(),
                    "--json".as_ref(),
                    json.as_os_str(),
                ],
                &[("OINSPECT_DEMO_TOKEN", app.token.as_str())],
            );
            // Mid-lifecycle: some test passed and the app holds something the run created.
            let mid_run = run.wait_until(Duration::from_secs(30), |lines| {
                lines.iter().any(|l| l.trim_start().starts_with("PASS"))
                    && app.scim.user_count() + app.scim.group_count() > 0
            });
            if !mid_run || run.exited() {
                eprintln!(
                    "the run ended before Ctrl-C (front delay {delay_ms}ms); retrying slower"
                );
                continue;
            }
            // Land inside the next request's delay rather than right after a create.
            std::thread::sleep(Duration::from_millis(delay_ms / 4));
            let created_before = app.scim.user_count() + app.scim.group_count();
            run.interrupt();
            let code = run.exit_code(Duration::from_secs(20));
            let stdout = run.stdout();
            assert_eq!(code, Some(130), "{stdout}");
            assert!(
                created_before > 0,
                "nothing existed to clean up when interrupted"
            );
            assert_eq!(lines_with(&stdout, "interrupted:").len(), 1, "{stdout}");
            assert!(
                stdout.contains("interrupted (Ctrl-C) before it finished"),
                "tests that did not run say why:\n{stdout}"
            );
            assert_eq!(lines_with(&stdout, "cleanup: removed").len(), 1, "{stdout}");
            assert!(!stdout.contains("left behind"), "{stdout}");
            assert!(stdout.contains("exit 130"), "{stdout}");
            assert_eq!(
                app.scim.user_names(),
                Vec::<String>::new(),
                "users left behind:\n{stdout}"
            );
            assert_eq!(
                app.scim.group_names(),
                Vec::<String>::new(),
                "groups left behind:\n{stdout}"
            );
            let report: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
            assert_eq!(report["interrupted"], true);
            assert!(
                !report["cleanup"]["removed"].as_array().unwrap().is_empty(),
                "{report}"
            );
            assert_eq!(
                report["cleanup"]["left_behind"].as_array().unwrap().len(),
                0,
                "{report}"
            );
            return;
        }
        panic!("every run finished before Ctrl-C could interrupt it");
    });
}

/// A vendor whose POST /Users creates `u-N`, whose DELETE answers 204 for `u-3` and hangs
/// for 30 s for any other user, and whose `/slow` answers after 30 s.
struct HangingVendor {
    base: String,
    deletes: Arc<AtomicUsize>,
    slow_hit: Arc<AtomicBool>,
}

fn start_hanging_vendor() -> HangingVendor {
    use axum::routing::{delete, get, post};
    let next_id = Arc::new(AtomicUsize::new(0));
    let deletes = Arc::new(AtomicUsize::new(0));
    let slow_hit = Arc::new(AtomicBool::new(false));
    let (d, s) = (deletes.clone(), slow_hit.clone());
    let app = axum::Router::new()
        .route(
            "/scim/v2/Users",
            post(move |body: String| async move {
                let n = next_id.fetch_add(1, Ordering::SeqCst) + 1;
                let sent: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                let user = serde_json::json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "id": format!("u-{n}"),
                    "userName": sent["userName"],
                });
                (
                    axum::http::StatusCode::CREATED,
                    [("content-type", "application/scim+json")],
                    user.to_string(),
                )
            }),
        )
        .route(
            "/scim/v2/Users/{id}",
            delete(
                move |axum::extract::Path(id): axum::extract::Path<String>| async move {
                    d.fetch_add(1, Ordering::SeqCst);
                    if id != "u-3" {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                    }
                    axum::http::StatusCode::NO_CONTENT
                },
            ),
        )
        .route(
            "/slow",
            get(move || async move {
                s.store(true, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        );
    HangingVendor {
        base: common::serve_on_thread(app),
        deletes,
        slow_hit,
    }
}

/// One sequence: create three users, then wait on the vendor's slow endpoint.
fn write_plan_and_target(dir: &Path, base: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut plan = String::from("plan: interrupt\ntitle: t\nrequires: [scim]\ntests:\n");
    plan.push_str(
        "  - id: t.create\n    title: creates three users\n    severity: required\n    why: w\n    spec: s\n    sequence: s\n    steps:\n",
    );
    for name in ["ada", "bob", "cy"] {
        plan.push_str(&format!(
            "      - scim: {{ method: POST, path: /Users, json: {{ userName: {name}@example.test }} }}\n        expect: {{ status: 201 }}\n"
        ));
    }
    plan.push_str(&format!(
        "  - id: t.slow\n    title: waits\n    severity: required\n    why: w\n    spec: s\n    sequence: s\n    steps:\n      - http: {{ method: GET, path: \"{base}/slow\" }}\n        expect: {{ status: 200 }}\n"
    ));
    let plan_path = dir.join("plan.yaml");
    std::fs::write(&plan_path, plan).unwrap();
    let target = dir.join("t.yaml");
    std::fs::write(
        &target,
        format!(
            "name: v\nscim:\n  base_url: {base}/scim/v2\n  auth: {{ bearer: tok-1234 }}\ntimeouts: {{ request_secs: 60 }}\n"
        ),
    )
    .unwrap();
    (plan_path, target)
}

#[test]
fn a_second_ctrl_c_abandons_cleanup_and_reports_what_is_left() {
    let vendor = start_hanging_vendor();
    let dir = tempfile::tempdir().unwrap();
    let (plan, target) = write_plan_and_target(dir.path(), &vendor.base);
    let json = dir.path().join("r.json");
    let mut run = Running::start(
        &[
            "run".as_ref(),
            plan.as_os_str(),
            "--target".as_ref(),
            target.as_os_str(),
            "--json".as_ref(),
            json.as_os_str(),
        ],
        &[],
    );
    // Mid-test: the users exist and the second test waits on /slow.
    assert!(
        run.wait_until(Duration::from_secs(30), |lines| {
            lines
                .iter()
                .any(|l| l.contains("PASS") && l.contains("t.create"))
                && vendor.slow_hit.load(Ordering::SeqCst)
        }),
        "the run ended early:\n{}",
        run.stdout()
    );
    run.interrupt();
    // Cleanup starts (newest first): u-3 is removed, then the DELETE of u-2 hangs.
    assert!(
        run.wait_until(Duration::from_secs(10), |lines| {
            lines
                .iter()
                .any(|l| l.contains("cleanup: removing 3 resources"))
                && vendor.deletes.load(Ordering::SeqCst) == 2
        }),
        "cleanup did not start:\n{}",
        run.stdout()
    );
    std::thread::sleep(Duration::from_secs(1));
    run.interrupt();
    let code = run.exit_code(Duration::from_secs(10));
    let stdout = run.stdout();
    assert_eq!(code, Some(130), "{stdout}");
    assert_eq!(vendor.deletes.load(Ordering::SeqCst), 2, "{stdout}");
    assert_eq!(lines_with(&stdout, "interrupted:").len(), 1, "{stdout}");
    // The sequence was aborted in its second test: the first keeps its PASS, once.
    let create = lines_with(&stdout, "t.create");
    assert_eq!(create.len(), 1, "{stdout}");
    assert!(create[0].trim_start().starts_with("PASS"), "{stdout}");
    assert_eq!(lines_with(&stdout, "t.slow").len(), 1, "{stdout}");
    // What was removed before the second Ctrl-C still counts as removed...
    assert!(stdout.contains("cleanup: removed 1\n"), "{stdout}");
    // ...and every other user is listed once, the one whose DELETE was in flight included.
    let left = lines_with(&stdout, "left behind:");
    assert_eq!(left.len(), 2, "{stdout}");
    assert!(!stdout.contains("left behind: SCIM Users u-3"), "{stdout}");
    for (id, name) in [("u-1", "ada"), ("u-2", "bob")] {
        let line = format!(
            "left behind: SCIM Users {id} ({name}@example.test) (cleanup aborted by a second Ctrl-C)"
        );
        assert_eq!(lines_with(&stdout, &line).len(), 1, "{line}\n{stdout}");
    }
    assert!(stdout.contains("exit 130"), "{stdout}");

    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&json).unwrap_or_else(|e| panic!("no JSON report ({e}):\n{stdout}")),
    )
    .unwrap();
    assert_eq!(report["interrupted"], true, "{report}");
    assert_eq!(report["exit_code"], 130, "{report}");
    let outcomes: Vec<(&str, &str)> = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap(), t["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        [("t.create", "pass"), ("t.slow", "skip")],
        "{report}"
    );
    assert_eq!(
        report["cleanup"]["removed"],
        serde_json::json!(["SCIM Users u-3 (cy@example.test)"]),
        "{report}"
    );
    let mut resources: Vec<&str> = report["cleanup"]["left_behind"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            assert_eq!(
                l["reason"], "cleanup aborted by a second Ctrl-C",
                "{report}"
            );
            l["resource"].as_str().unwrap()
        })
        .collect();
    resources.sort_unstable();
    assert_eq!(
        resources,
        [
            "SCIM Users u-1 (ada@example.test)",
            "SCIM Users u-2 (bob@example.test)",
        ],
        "{report}"
    );
}

/// A vendor that creates the user the moment POST /Users arrives but answers only after
/// 30 s: a Ctrl-C in between cuts off a create that did happen. Lookups by
/// `filter=userName eq "..."` and DELETE work, so cleanup can find and remove it.
struct SlowCreateVendor {
    base: String,
    users: Arc<Mutex<Vec<(String, String)>>>,
    posts: Arc<AtomicUsize>,
}

fn start_slow_create_vendor() -> SlowCreateVendor {
    use axum::extract::{Path as UrlPath, Query};
    use axum::routing::{delete, get};
    let users: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let posts = Arc::new(AtomicUsize::new(0));
    let (u1, u2, u3, p) = (users.clone(), users.clone(), users.clone(), posts.clone());
    let app = axum::Router::new()
        .route(
            "/scim/v2/Users",
            get(
                move |Query(q): Query<std::collections::HashMap<String, String>>| async move {
                    // Only `userName eq "<value>"` is understood.
                    let wanted = q
                        .get("filter")
                        .and_then(|f| f.strip_prefix("userName eq "))
                        .and_then(|v| serde_json::from_str::<String>(v).ok());
                    let found: Vec<serde_json::Value> = u1
                        .lock()
                        .unwrap()
                        .iter()
                        .filter(|(_, name)| wanted.as_deref().is_some_and(|w| w.eq_ignore_ascii_case(name)))
                        .map(|(id, name)| serde_json::json!({ "id": id, "userName": name }))
                        .collect();
                    (
                        [("content-type", "application/scim+json")],
                        serde_json::json!({
                            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                            "totalResults": found.len(), "startIndex": 1, "itemsPerPage": found.len(),
                            "Resources": found
                        })
                        .to_string(),
                    )
                },
            )
            .post(move |body: String| async move {
                let n = p.fetch_add(1, Ordering::SeqCst) + 1;
                let sent: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                let name = sent["userName"].as_str().unwrap_or("").to_string();
                u2.lock().unwrap().push((format!("u-{n}"), name));
                tokio::time::sleep(Duration::from_secs(30)).await;
                axum::http::StatusCode::CREATED
            }),
        )
        .route(
            "/scim/v2/Users/{id}",
            delete(move |UrlPath(id): UrlPath<String>| async move {
                let mut users = u3.lock().unwrap();
                let before = users.len();
                users.retain(|(i, _)| *i != id);
                if users.len() < before {
                    axum::http::StatusCode::NO_CONTENT
                } else {
                    axum::http::StatusCode::NOT_FOUND
                }
            }),
        );
    SlowCreateVendor {
        base: common::serve_on_thread(app),
        users,
        posts,
    }
}

/// Runs one POST /Users of `user_name` against the slow vendor and presses Ctrl-C once the
/// vendor has created the user but before it answers. Returns (stdout, JSON report).
fn interrupt_a_create_in_flight(
    vendor: &SlowCreateVendor,
    user_name: &str,
) -> (String, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.yaml");
    std::fs::write(
        &plan,
        format!(
            "plan: cut-off\ntitle: t\nrequires: [scim]\ntests:\n  - id: t.create\n    title: creates a user\n    severity: required\n    why: w\n    spec: s\n    steps:\n      - scim: {{ method: POST, path: /Users, json: {{ userName: \"{user_name}\" }} }}\n        expect: {{ status: 201 }}\n"
        ),
    )
    .unwrap();
    let target = dir.path().join("t.yaml");
    std::fs::write(
        &target,
        format!(
            "name: v\nscim:\n  base_url: {}/scim/v2\n  auth: {{ bearer: tok-1234 }}\ntimeouts: {{ request_secs: 60 }}\n",
            vendor.base
        ),
    )
    .unwrap();
    let json = dir.path().join("r.json");
    let before = vendor.posts.load(Ordering::SeqCst);
    let mut run = Running::start(
        &[
            "run".as_ref(),
            plan.as_os_str(),
            "--target".as_ref(),
            target.as_os_str(),
            "--seed".as_ref(),
            "5".as_ref(),
            "--json".as_ref(),
            json.as_os_str(),
        ],
        &[],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while vendor.posts.load(Ordering::SeqCst) == before {
        assert!(
            Instant::now() < deadline && !run.exited(),
            "the POST never arrived:\n{}",
            run.stdout()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    run.interrupt();
    let code = run.exit_code(Duration::from_secs(20));
    let stdout = run.stdout();
    assert_eq!(code, Some(130), "{stdout}");
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&json).unwrap_or_else(|e| panic!("no JSON report ({e}):\n{stdout}")),
    )
    .unwrap();
    (stdout, report)
}

#[test]
fn a_create_cut_off_by_ctrl_c_is_found_and_deleted() {
    let vendor = start_slow_create_vendor();
    // `{{random.email}}` is this run's test data (`oinspect-5-...`).
    let (stdout, report) = interrupt_a_create_in_flight(&vendor, "{{random.email}}");
    assert_eq!(
        vendor.users.lock().unwrap().clone(),
        Vec::<(String, String)>::new(),
        "the user created by the cut-off POST is still there:\n{stdout}"
    );
    assert!(stdout.contains("cleanup: removed 1"), "{stdout}");
    assert!(!stdout.contains("left behind"), "{stdout}");
    let removed = report["cleanup"]["removed"].as_array().unwrap();
    assert_eq!(removed.len(), 1, "{report}");
    let removed = removed[0].as_str().unwrap();
    assert!(
        removed.starts_with("SCIM Users u-1 (oinspect-5-") && removed.ends_with("@example.test)"),
        "{report}"
    );
    assert_eq!(report["interrupted"], true, "{report}");
}

#[test]
fn a_cut_off_create_of_a_name_that_is_not_test_data_is_reported_not_deleted() {
    let vendor = start_slow_create_vendor();
    // A name the run did not make up could belong to an account that existed before (the
    // POST would then have answered 409): cleanup must not delete it on a name match.
    let (stdout, report) = interrupt_a_create_in_flight(&vendor, "ada@example.test");
    assert_eq!(
        vendor.users.lock().unwrap().clone(),
        vec![("u-1".to_string(), "ada@example.test".to_string())],
        "{stdout}"
    );
    let left = report["cleanup"]["left_behind"].as_array().unwrap();
    assert_eq!(left.len(), 1, "{report}");
    assert_eq!(
        left[0]["resource"], "SCIM Users u-1 (ada@example.test)",
        "{report}"
    );
    let reason = left[0]["reason"].as_str().unwrap();
    assert!(reason.contains("not this run's test data"), "{reason}");
    assert!(
        stdout.contains("left behind: SCIM Users u-1 (ada@example.test)"),
        "{stdout}"
    );
}
