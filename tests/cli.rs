//! The binary as users and CI jobs meet it: exit codes, diagnostics, reports, color.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

fn oinspect() -> Command {
    let mut cmd = Command::cargo_bin("oinspect").expect("binary is built by cargo test");
    cmd.env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("FORCE_COLOR")
        .env_remove("OINSPECT_TARGET")
        .env_remove("OINSPECT_SEED")
        .timeout(std::time::Duration::from_secs(120));
    cmd
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn help_has_examples_and_exit_codes() {
    oinspect()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes:"))
        .stdout(predicate::str::contains("4    no test selected"));
    oinspect()
        .args(["run", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:"))
        .stdout(predicate::str::contains("--only"));
}

#[test]
fn typo_in_plan_key_is_exit_2_with_file_line_col_and_caret() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write(
        dir.path(),
        "typo.yaml",
        "plan: typo\ntitle: T\ntests:\n  - id: a.b\n    title: t\n    severty: required\n    why: w\n    spec: s\n    steps: []\n",
    );
    let out = oinspect()
        .arg("validate")
        .arg(&plan)
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let expected_loc = format!("{}:6:5", plan.display());
    assert!(stderr.contains(&expected_loc), "{stderr}");
    assert!(stderr.contains("unknown field `severty`"), "{stderr}");
    assert!(stderr.contains("6 |     severty: required"), "{stderr}");
    assert!(
        stderr.contains("  |     ^"),
        "caret under the key: {stderr}"
    );
}

#[test]
fn invalid_target_is_exit_2_before_any_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let target = write(
        dir.path(),
        "t.yaml",
        "name: x\nscim:\n  base_url: ftp://nope\n",
    );
    oinspect()
        .args(["run", "--target"])
        .arg(&target)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("t.yaml:3:13"))
        .stderr(predicate::str::contains(
            "expected an absolute http:// or https:// URL",
        ));
    oinspect()
        .args(["run", "--target", "/nonexistent/target.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read file"));
}

#[test]
fn missing_env_variable_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let target = write(
        dir.path(),
        "t.yaml",
        "name: x\nscim:\n  base_url: http://127.0.0.1:9/scim\n  auth: { bearer: \"${env:OINSPECT_CLI_TEST_UNSET}\" }\n",
    );
    oinspect()
        .env_remove("OINSPECT_CLI_TEST_UNSET")
        .args(["validate", "--target"])
        .arg(&target)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("OINSPECT_CLI_TEST_UNSET"))
        .stderr(predicate::str::contains(":4:"));
}

#[test]
fn list_shows_every_builtin_test_id() {
    let out = oinspect()
        .arg("list")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let listed = String::from_utf8(out).unwrap();
    for src in oinspect::plan::builtin::all() {
        let plan = oinspect::plan::load_plan_source(&src).unwrap();
        for t in &plan.tests {
            assert!(listed.contains(&t.id), "`list` misses {}", t.id);
        }
    }
}

#[test]
fn explain_prints_why_spec_and_fix() {
    let plan = oinspect::plan::load_plan_source(&oinspect::plan::builtin::all()[0]).unwrap();
    let t = &plan.tests[0];
    oinspect()
        .args(["explain", &t.id])
        .assert()
        .success()
        .stdout(predicate::str::contains(t.spec.as_str()))
        .stdout(predicate::str::contains("Why"));
    oinspect()
        .args(["explain", "no.such.test"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("oinspect list"));
}

#[test]
fn no_selected_test_is_exit_4() {
    oinspect()
        .args(["demo", "--only", "no.such.*"])
        .assert()
        .code(4)
        .stdout(predicate::str::contains("no test selected"));
}

#[test]
fn bad_glob_is_exit_2() {
    oinspect()
        .args(["demo", "--only", "a[b"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid pattern"));
}

#[test]
fn unreachable_app_is_exit_3_with_a_reason() {
    // Port 9 (discard) on loopback: nothing listens there in a test sandbox.
    let dir = tempfile::tempdir().unwrap();
    let target = write(
        dir.path(),
        "t.yaml",
        "name: nowhere\nscim:\n  base_url: http://127.0.0.1:9/scim/v2\n  auth: { bearer: tok-unreachable }\ntimeouts: { request_secs: 2 }\n",
    );
    let out = oinspect()
        .args(["run", "--only", "scim.discovery.*", "--target"])
        .arg(&target)
        .env("NO_COLOR", "1")
        .assert()
        .code(3)
        .get_output()
        .clone();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("ERROR"), "{stdout}");
    assert!(stdout.contains("could not connect"), "{stdout}");
}

#[test]
fn demo_passes_and_junit_agrees_with_json() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("j.xml");
    let json = dir.path().join("r.json");
    let out = oinspect()
        .args(["demo", "--seed", "7", "--junit"])
        .arg(&junit)
        .arg("--json")
        .arg(&json)
        .env("NO_COLOR", "1")
        .assert()
        .get_output()
        .clone();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "demo must pass:\n{stdout}");
    assert!(stdout.contains("seed 7"), "{stdout}");

    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["exit_code"], 0);
    assert_eq!(report["run"]["seed"], 7);
    let tests = report["tests"].as_array().unwrap();
    assert!(!tests.is_empty());
    for t in tests {
        for key in [
            "id",
            "plan",
            "title",
            "severity",
            "outcome",
            "message",
            "duration_ms",
        ] {
            assert!(t.get(key).is_some(), "JSON test lacks `{key}`: {t}");
        }
    }
    assert_eq!(
        report["summary"]["total"].as_u64().unwrap() as usize,
        tests.len()
    );

    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let mut junit_cases = Vec::new();
    for suite in doc.descendants().filter(|n| n.has_tag_name("testsuite")) {
        for case in suite.children().filter(|n| n.has_tag_name("testcase")) {
            assert_eq!(case.attribute("classname"), suite.attribute("name"));
            let outcome = if case.children().any(|c| c.has_tag_name("failure")) {
                "fail"
            } else if case.children().any(|c| c.has_tag_name("error")) {
                "error"
            } else if case.children().any(|c| c.has_tag_name("skipped")) {
                "skip"
            } else {
                "pass"
            };
            junit_cases.push((
                case.attribute("classname").unwrap().to_string(),
                case.attribute("name").unwrap().to_string(),
                outcome.to_string(),
            ));
        }
    }
    let json_cases: Vec<(String, String, String)> = tests
        .iter()
        .map(|t| {
            (
                t["plan"].as_str().unwrap().to_string(),
                t["id"].as_str().unwrap().to_string(),
                t["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(junit_cases, json_cases);
}

#[test]
fn broken_app_fails_with_evidence_and_reports_are_still_written() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("j.xml");
    let json = dir.path().join("r.json");
    let artifacts = dir.path().join("artifacts");
    let out = oinspect()
        .args(["demo", "--break", "scim-create-200", "--junit"])
        .arg(&junit)
        .arg("--json")
        .arg(&json)
        .arg("--artifacts")
        .arg(&artifacts)
        .env("NO_COLOR", "1")
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("FAIL"), "{stdout}");
    assert!(stdout.contains("expected: 201"), "{stdout}");
    assert!(stdout.contains("actual:   200"), "{stdout}");
    assert!(
        stdout.contains("> POST "),
        "request line in the evidence: {stdout}"
    );
    assert!(stdout.contains("spec: "), "{stdout}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<failure"), "{xml}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["exit_code"], 1);
    let count = walk_files(&artifacts);
    assert!(count > 0, "artifacts written");
}

fn walk_files(dir: &Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            n += walk_files(&p);
        } else {
            n += 1;
        }
    }
    n
}

#[test]
fn no_color_and_non_tty_output_is_plain() {
    let out = oinspect()
        .args(["demo", "--break", "scim-create-200"])
        .env("NO_COLOR", "1")
        .assert()
        .get_output()
        .clone();
    assert!(
        !out.stdout.contains(&0x1b),
        "escape bytes in NO_COLOR stdout"
    );
    assert!(
        !out.stderr.contains(&0x1b),
        "escape bytes in NO_COLOR stderr"
    );
    // A progress bar redraws with carriage returns; none when not on a terminal.
    assert!(!out.stdout.contains(&b'\r') && !out.stderr.contains(&b'\r'));
}

#[test]
fn color_always_colors_and_auto_off_a_tty_does_not() {
    let colored = oinspect()
        .args(["demo", "--color", "always", "--only", "scim.discovery.*"])
        .assert()
        .get_output()
        .stdout
        .clone();
    assert!(colored.contains(&0x1b), "--color always gives escape codes");
    let plain = oinspect()
        .args(["demo", "--only", "scim.discovery.*"])
        .assert()
        .get_output()
        .stdout
        .clone();
    assert!(!plain.contains(&0x1b), "auto off a terminal gives none");
}

#[test]
fn unknown_break_switch_is_exit_2() {
    oinspect()
        .args(["demo", "--break", "no-such-switch"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--list-breaks"));
    oinspect()
        .args(["demo", "--list-breaks"])
        .assert()
        .success()
        .stdout(predicate::str::contains("scim-create-200"));
}

#[test]
fn secrets_never_reach_reports() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let junit = dir.path().join("j.xml");
    let artifacts = dir.path().join("a");
    let out = oinspect()
        .args(["demo", "--break", "scim-create-200", "--json"])
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .arg("--artifacts")
        .arg(&artifacts)
        .assert()
        .get_output()
        .clone();
    // The demo's token is random per run and starts with `demo-`; it must appear nowhere.
    let mut texts = vec![
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        std::fs::read_to_string(&json).unwrap(),
        std::fs::read_to_string(&junit).unwrap(),
    ];
    collect(&artifacts, &mut texts);
    for t in &texts {
        assert!(
            !t.contains("Bearer demo-"),
            "token leaked: {}",
            &t[..t.len().min(400)]
        );
        assert!(!regex_like_token(t), "token leaked");
    }
}

fn collect(dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(std::fs::read_to_string(p).unwrap());
        }
    }
}

/// `demo-` followed by 32 hex digits: the reference app's token format.
fn regex_like_token(text: &str) -> bool {
    text.match_indices("demo-").any(|(i, _)| {
        let rest = &text[i + 5..];
        rest.len() >= 32 && rest[..32].chars().all(|c| c.is_ascii_hexdigit())
    })
}

#[test]
fn idp_init_writes_a_private_key_and_idp_metadata_prints_the_certificate() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("idp");
    oinspect()
        .args(["idp", "init", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("SHA-256 fingerprint"));
    let mode = std::fs::metadata(out.join("idp-key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "the private key is readable by its owner only"
    );
    // A second init refuses to overwrite the key.
    oinspect()
        .args(["idp", "init", "--out"])
        .arg(&out)
        .assert()
        .code(2);
    let target = write(
        dir.path(),
        "t.yaml",
        "name: x\nidp:\n  entity_id: http://idp.example/oinspect\n  sso_url: https://idp.example/sso\n  key: idp/idp-key.pem\n  cert: idp/idp-cert.pem\n",
    );
    let cert = std::fs::read_to_string(out.join("idp-cert.pem")).unwrap();
    let body: String = cert.lines().filter(|l| !l.starts_with("-----")).collect();
    oinspect()
        .args(["idp", "metadata", "--target"])
        .arg(&target)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "entityID=\"http://idp.example/oinspect\"",
        ))
        .stdout(predicate::str::contains("https://idp.example/sso"))
        .stdout(predicate::str::contains(body.as_str()));
}

#[test]
fn a_private_key_readable_by_others_gets_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    oinspect()
        .args(["idp", "init", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    let key = dir.path().join("idp-key.pem");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let target = write(
        dir.path(),
        "t.yaml",
        "name: x\nsaml: { acs_url: http://127.0.0.1:9/acs }\nidp: { key: idp-key.pem, cert: idp-cert.pem }\n",
    );
    // No test selected (exit 4) is enough: the warning is about the target, before any test.
    oinspect()
        .args(["run", "--only", "none.such", "--target"])
        .arg(&target)
        .env("NO_COLOR", "1")
        .assert()
        .code(4)
        .stdout(predicate::str::contains(
            "is readable by other users (mode 644): chmod 600 it",
        ));
}
