//! A run leaves the vendor's tenant as it found it: everything the plans create is deleted at
//! the end, also when tests fail.

mod common;

use std::path::Path;

use assert_cmd::Command;
use oinspect::demo::{Breaks, ReferenceApp};

fn run_against(app: &ReferenceApp, dir: &Path, extra: &[&str]) -> std::process::Output {
    let target = dir.join("target.yaml");
    std::fs::write(&target, app.target_yaml(false)).unwrap();
    Command::cargo_bin("oinspect")
        .unwrap()
        .args(["run", "--seed", "5", "--target"])
        .arg(&target)
        .args(extra)
        .env("OINSPECT_DEMO_TOKEN", &app.token)
        .env("NO_COLOR", "1")
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap()
}

/// The app runs on its own thread's runtime while the binary runs in another process.
fn with_app<T>(breaks: &[&str], f: impl FnOnce(&ReferenceApp) -> T) -> T {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let breaks = Breaks::from_names(breaks).unwrap();
    let app = rt.block_on(ReferenceApp::start(0, breaks, None)).unwrap();
    let out = f(&app);
    drop(app);
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    out
}

#[test]
fn a_passing_run_leaves_no_user_or_group() {
    let dir = tempfile::tempdir().unwrap();
    with_app(&[], |app| {
        let out = run_against(app, dir.path(), &[]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}");
        assert!(stdout.contains("cleanup: removed"), "{stdout}");
        assert_eq!(
            app.scim.user_names(),
            Vec::<String>::new(),
            "users left behind"
        );
        assert_eq!(
            app.scim.group_names(),
            Vec::<String>::new(),
            "groups left behind"
        );
    });
}

#[test]
fn a_failing_run_still_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    // Broken PATCH handling makes lifecycle tests fail half-way, with resources created.
    with_app(
        &[
            "scim-pathless-patch-rejected",
            "scim-member-filter-remove-ignored",
        ],
        |app| {
            let out = run_against(
                app,
                dir.path(),
                &["--json", dir.path().join("r.json").to_str().unwrap()],
            );
            assert_eq!(out.status.code(), Some(1));
            assert_eq!(
                app.scim.user_count(),
                0,
                "users left: {:?}",
                app.scim.user_names()
            );
            assert_eq!(
                app.scim.group_count(),
                0,
                "groups left: {:?}",
                app.scim.group_names()
            );
            let report: serde_json::Value =
                serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
            assert!(report["cleanup"]["removed"].as_array().unwrap().len() > 5);
            assert_eq!(
                report["cleanup"]["left_behind"].as_array().unwrap().len(),
                0
            );
        },
    );
}

/// A vendor whose DELETE answers `delete_status` and whose PATCH records its body.
fn start_undeletable_vendor(
    delete_status: u16,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::routing::{delete, post};
    let patches: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let recorded = patches.clone();
    let app = axum::Router::new()
        .route(
            "/scim/v2/Users",
            post(|| async {
                (
                    axum::http::StatusCode::CREATED,
                    [("content-type", "application/scim+json")],
                    r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"kept-1","userName":"oinspect-9-x@example.test"}"#,
                )
            }),
        )
        .route(
            "/scim/v2/Users/{id}",
            delete(move || async move { axum::http::StatusCode::from_u16(delete_status).unwrap() })
                .patch(move |body: String| async move {
                    recorded.lock().unwrap().push(body);
                    axum::http::StatusCode::NO_CONTENT
                }),
        );
    (common::serve_on_thread(app), patches)
}

/// Runs a one-test plan that creates a user on `base`; returns stdout and the JSON report.
fn create_one_user(base: &str) -> (String, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.yaml");
    std::fs::write(
        &plan,
        "plan: create-only\ntitle: t\nrequires: [scim]\ntests:\n  - id: t.create\n    title: c\n    severity: required\n    why: w\n    spec: s\n    steps:\n      - scim: { method: POST, path: /Users, json: { userName: x } }\n        expect: { status: 201 }\n",
    )
    .unwrap();
    let target = dir.path().join("t.yaml");
    std::fs::write(
        &target,
        format!("name: v\nscim:\n  base_url: {base}/scim/v2\n  auth: {{ bearer: tok-1234 }}\n"),
    )
    .unwrap();
    let json = dir.path().join("r.json");
    let out = Command::cargo_bin("oinspect")
        .unwrap()
        .arg("run")
        .arg(&plan)
        .arg("--target")
        .arg(&target)
        .arg("--json")
        .arg(&json)
        .env("NO_COLOR", "1")
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let report = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    (stdout, report)
}

#[test]
fn what_cannot_be_deleted_is_reported_as_left_behind() {
    let (base, patches) = start_undeletable_vendor(500);
    let (stdout, report) = create_one_user(&base);
    assert!(
        stdout.contains(
            "left behind: SCIM Users kept-1 (oinspect-9-x@example.test) (DELETE answered HTTP 500)"
        ),
        "{stdout}"
    );
    assert!(
        patches.lock().unwrap().is_empty(),
        "a failing DELETE is not a missing DELETE"
    );
    let left = &report["cleanup"]["left_behind"][0];
    assert_eq!(
        left["resource"],
        "SCIM Users kept-1 (oinspect-9-x@example.test)"
    );
    assert_eq!(left["reason"], "DELETE answered HTTP 500");
}

#[test]
fn a_user_without_delete_is_deactivated_and_reported() {
    let (base, patches) = start_undeletable_vendor(405);
    let (stdout, report) = create_one_user(&base);
    let left = &report["cleanup"]["left_behind"][0];
    assert_eq!(
        left["reason"], "deactivated (active=false) instead: DELETE answered HTTP 405",
        "{stdout}"
    );
    let patches = patches.lock().unwrap();
    let body: serde_json::Value = serde_json::from_str(&patches[0]).unwrap();
    assert_eq!(body["Operations"][0]["value"]["active"], false);
}
