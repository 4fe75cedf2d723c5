//! docs/checks.md is the catalogue `oinspect explain --all` prints for the built-in plans.
//! When a plan changes, this test fails and says how to regenerate the file;
//! `OINSPECT_UPDATE_DOCS=1 cargo test --test docs_sync` rewrites it.

use assert_cmd::Command;

#[test]
fn checks_md_is_in_sync_with_the_builtin_plans() {
    let out = Command::cargo_bin("oinspect")
        .expect("binary is built by cargo test")
        .args(["explain", "--all"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = String::from_utf8(out.stdout).unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/checks.md");
    if std::env::var_os("OINSPECT_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/checks.md is out of date with the built-in plans; regenerate it with\n  {}\nor\n  OINSPECT_UPDATE_DOCS=1 cargo test --test docs_sync",
        oinspect::report::catalogue::REGENERATE
    );
}

#[test]
fn explain_prints_the_catalogue_entry() {
    let plan = oinspect::plan::load_plan_source(&oinspect::plan::builtin::all()[0]).unwrap();
    let t = &plan.tests[0];
    let out = Command::cargo_bin("oinspect")
        .unwrap()
        .args(["explain", &t.id])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text, oinspect::report::catalogue::entry(t));
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/checks.md");
    let docs = std::fs::read_to_string(path).unwrap_or_default();
    assert!(docs.contains(&text), "the same text as in docs/checks.md");
    for needle in ["Why:", t.spec.as_str(), t.severity.as_str()] {
        assert!(text.contains(needle), "{needle}");
    }
}
