//! The reports people and tools read beside the terminal: JSON Lines on stdout
//! (`--format json`), the GitHub step summary and annotations (`--github-summary`), the HTML
//! report (`--html`), and the terminal's verbosity levels (`-q`, `-v`, `-vv`). All against the
//! embedded reference app on 127.0.0.1 (`oinspect demo`).

use assert_cmd::Command;

fn oinspect() -> Command {
    let mut cmd = Command::cargo_bin("oinspect").expect("binary is built by cargo test");
    cmd.env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("FORCE_COLOR")
        .env_remove("OINSPECT_SEED")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("CI", "true")
        .timeout(std::time::Duration::from_secs(180));
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

#[test]
fn format_json_puts_only_json_lines_on_stdout() {
    let out = oinspect()
        .args([
            "demo",
            "--break",
            "scim-no-409",
            "--only",
            "scim.okta.*",
            "--format",
            "json",
            "--seed",
            "5",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:?}")))
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().expect("every line has an `event`"))
        .collect();
    assert_eq!(kinds.first(), Some(&"run_started"));
    assert_eq!(kinds.last(), Some(&"summary"));
    let started = kinds.iter().filter(|k| **k == "test_started").count();
    let finished: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["event"] == "test_finished")
        .collect();
    assert_eq!(
        events[0]["total_tests"].as_u64(),
        Some(finished.len() as u64)
    );
    assert!(started >= 1 && started <= finished.len());
    let failed: Vec<&str> = finished
        .iter()
        .filter(|e| e["outcome"] == "fail")
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert!(!failed.is_empty(), "the break makes a test fail");
    for id in &failed {
        assert!(
            events
                .iter()
                .any(|e| e["event"] == "finding" && e["test"] == *id),
            "a failed test's findings come before its result: {id}"
        );
    }
    let summary = events.last().unwrap();
    assert_eq!(summary["exit_code"], 1);
    assert_eq!(
        summary["summary"]["failed"].as_u64(),
        Some(failed.len() as u64)
    );
    assert_eq!(events[0]["seed"], 5);
    // The human report moved to stderr.
    let stderr = text(&out.stderr);
    assert!(stderr.contains("Summary"), "{stderr}");
    assert!(!stdout.contains("Summary"));
}

#[test]
fn quiet_prints_only_the_summary() {
    let out = oinspect()
        .args(["-q", "demo", "--only", "scim.okta.s1*"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.first(), Some(&"Summary"), "{stdout}");
    assert!(lines.iter().any(|l| l.trim_start().starts_with("total")));
    assert!(lines.last().unwrap().contains("all required tests passed"));
    assert!(!stdout.contains("PASS"), "no per-test lines: {stdout}");
    assert!(!stdout.contains("oinspect 0."), "no banner: {stdout}");
}

#[test]
fn verbose_lists_exchanges_and_very_verbose_prints_them_redacted() {
    let token = "vv-demo-token-0123456789";
    let v = oinspect()
        .env("OINSPECT_DEMO_TOKEN", token)
        .args(["-v", "demo", "--only", "scim.okta.s1*"])
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", text(&v.stderr));
    let v_out = text(&v.stdout);
    assert!(
        v_out.contains("· GET http://127.0.0.1:") && v_out.contains("-> HTTP 200"),
        "one line per exchange: {v_out}"
    );
    assert!(!v_out.contains("> Authorization"), "-v shows no headers");

    let vv = oinspect()
        .env("OINSPECT_DEMO_TOKEN", token)
        .args(["-vv", "demo", "--only", "scim.okta.s1*"])
        .output()
        .unwrap();
    assert!(vv.status.success(), "{}", text(&vv.stderr));
    let all = format!("{}{}", text(&vv.stdout), text(&vv.stderr));
    assert!(
        all.contains("> GET http://127.0.0.1:"),
        "request lines: {all}"
    );
    assert!(all.contains("> Authorization: Bearer ***"), "{all}");
    assert!(all.contains("< HTTP 200"));
    assert!(!all.contains(token), "the token never appears");
}

#[test]
fn github_summary_appends_markdown_and_prints_annotations() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    std::fs::write(&summary, "earlier output of the step\n").unwrap();
    let out = oinspect()
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args([
            "demo",
            "--break",
            "scim-no-409",
            "--only",
            "scim-okta",
            "--github-summary",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.starts_with("earlier output of the step\n"), "appended");
    assert!(md.len() < 1024 * 1024);
    assert!(md.contains("## oinspect: ❌ required tests failed"), "{md}");
    assert!(md.contains("| plan | tests | passed |"));
    assert!(md.contains("### Failures and errors"));
    let stdout = text(&out.stdout);
    let annotations: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("::error "))
        .collect();
    assert!(!annotations.is_empty(), "{stdout}");
    assert!(annotations.len() <= 10);
    for a in &annotations {
        let (props, _message) = a["::error ".len()..].split_once("::").unwrap();
        assert!(props.contains("title=oinspect scim.okta."), "{a}");
    }
}

#[test]
fn html_report_holds_the_failing_test_with_its_decoded_saml() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("r.html");
    let json = dir.path().join("r.json");
    let out = oinspect()
        .args([
            "demo",
            "--break",
            "saml-wrong-idp-cert",
            "--only",
            "saml-sp-initiated",
        ])
        .arg("--html")
        .arg(&html)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let page = std::fs::read_to_string(&html).unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let failing = first_failing_saml_test(&report);
    assert!(
        page.contains(&format!("id=\"test-{failing}\"")),
        "{failing}"
    );
    assert!(page.contains("saml:Assertion") && page.contains("NameID"));
    assert!(page.contains("signed by signature #1"));
    assert!(page.contains("SHA-256 <code class=\"fingerprint\">"));
    assert!(page.contains("Summary by severity"));
    // Self-contained: nothing to fetch.
    for needle in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!page.contains(needle), "{needle}");
    }
    // Failures come first.
    let first_test = page.find("<details class=\"test ").unwrap();
    assert!(page[first_test..].starts_with("<details class=\"test fail\""));
}

/// The first failed test of a SAML plan whose evidence holds a decoded SAML Response.
fn first_failing_saml_test(report: &serde_json::Value) -> String {
    report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| {
            t["outcome"] == "fail"
                && t["plan"].as_str().unwrap().starts_with("saml")
                && t["evidence"].as_array().unwrap().iter().any(|e| {
                    e["request"]["start_line"]
                        .as_str()
                        .is_some_and(|s| s.starts_with("(decoded) SAML Response"))
                })
        })
        .and_then(|t| t["id"].as_str())
        .expect("a failed SAML test with a decoded Response")
        .to_string()
}
