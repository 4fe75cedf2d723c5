//! The SAML security suite as a user meets it: every id the review asks for is listed, a
//! forged login that gets in is a critical failure naming whom it logged in as, with the
//! payload in the report and the artifacts and the fix beside it, and a patched SP that
//! logs in the identity the IdP really signed is not blamed for it.

use assert_cmd::Command;

/// The ids a security review expects (issue: "SAML security review suite").
const REQUIRED_IDS: &[&str] = &[
    "saml.security.unsigned",
    "saml.security.wrong-key",
    "saml.security.keyinfo-cert-substitution",
    "saml.security.tampered-nameid",
    "saml.security.tampered-attributes",
    "saml.security.reference-uri-mismatch",
    "saml.security.empty-signature-value",
    "saml.security.sha1",
    "saml.security.xsw1",
    "saml.security.xsw2",
    "saml.security.xsw3",
    "saml.security.xsw4",
    "saml.security.xsw5",
    "saml.security.xsw6",
    "saml.security.xsw7",
    "saml.security.xsw8",
    "saml.security.xsw-evil-after-valid",
    "saml.security.multiple-assertions",
    "saml.security.duplicate-id",
    "saml.security.signed-error-response",
    "saml.security.comment-injection-nameid",
    "saml.security.digest-comment",
    "saml.security.expired",
    "saml.security.not-yet-valid",
    "saml.security.subject-confirmation-expired",
    "saml.security.audience-mismatch",
    "saml.security.audience-missing",
    "saml.security.recipient-mismatch",
    "saml.security.destination-mismatch",
    "saml.security.issuer-mismatch",
    "saml.security.status-not-success",
    "saml.security.clock-skew",
    "saml.security.in-response-to-unknown",
    "saml.security.in-response-to-other-session",
    "saml.security.replay",
    "saml.security.relay-state-open-redirect",
    "saml.security.dtd",
    "saml.security.xxe",
    "saml.security.entity-expansion",
    "saml.security.cross-tenant",
    "saml.security.encrypted-wrong-key",
    "saml.security.encrypted-unsigned-inner",
];

fn oinspect() -> Command {
    let mut c = Command::cargo_bin("oinspect").unwrap();
    c.env("NO_COLOR", "1")
        .timeout(std::time::Duration::from_secs(120));
    c
}

#[test]
fn every_review_id_is_listed_and_the_matrix_has_a_result_per_shape() {
    let out = oinspect().arg("list").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let listed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for id in REQUIRED_IDS {
        assert!(listed.contains(id), "{id} is not listed");
    }
    // Each wrapping-matrix shape is its own result: 10 placements x 3 signature fates.
    let matrix: Vec<&&str> = listed
        .iter()
        .filter(|id| id.starts_with("saml.security.xsw-matrix."))
        .collect();
    assert_eq!(matrix.len(), 30, "{matrix:?}");
    for placement in [
        "sibling-before",
        "sibling-after",
        "in-extensions",
        "in-advice",
        "in-issuer",
        "in-subject",
        "in-signature-object",
        "in-nested-response",
        "second-root",
        "trailing-content",
    ] {
        for fate in ["left-in-place", "moved", "copied"] {
            let id = format!("saml.security.xsw-matrix.{placement}.{fate}");
            assert!(listed.contains(&id.as_str()), "{id} is not listed");
        }
    }
}

#[test]
fn a_forgery_that_logs_in_is_critical_names_the_victim_and_keeps_the_payload() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let artifacts = dir.path().join("artifacts");
    let out = oinspect()
        .args(["demo", "--seed", "7", "--break", "saml-signature-unbound"])
        .args(["--only", "saml.security.xsw3", "--json"])
        .arg(&json)
        .arg("--artifacts")
        .arg(&artifacts)
        .output()
        .unwrap();
    // Critical failures gate the exit code like required ones.
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("saml.security.xsw3"), "{stdout}");
    assert!(stdout.contains("critical"), "{stdout}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let t = &report["tests"][0];
    assert_eq!(t["id"], "saml.security.xsw3");
    assert_eq!(t["outcome"], "fail");
    assert_eq!(t["severity"], "critical");
    assert_eq!(report["summary"]["required_failed"], 1);
    // Whom the forgery logged in as, exactly.
    let message = t["message"].as_str().unwrap();
    assert!(
        message.contains("logged in as \"ceo@example.test\""),
        "{message}"
    );
    // How to fix it.
    assert!(
        t["fix"]
            .as_str()
            .unwrap()
            .contains("Consume only the element the verified signature covers"),
        "{t}"
    );
    // The exact payload, decoded, with the evil Assertion for the victim before the signed
    // one for the attacker.
    let payload = t["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["request"]["start_line"]
                .as_str()
                .unwrap_or_default()
                .to_string()
                + "\n"
                + e["request"]["body"].as_str().unwrap_or_default()
        })
        .find(|e| e.contains("SAML Response sent (forged)"))
        .expect("the forged Response is in the evidence");
    let victim = payload.find("ceo@example.test").expect("victim in payload");
    let attacker = payload
        .find("ada@example.test")
        .expect("attacker in payload");
    assert!(victim < attacker, "{payload}");
    // ... and in the artifacts.
    let saved = walk(&artifacts)
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .any(|text| {
            text.contains("SAML Response sent (forged)") && text.contains("ceo@example.test")
        });
    assert!(saved, "no artifact holds the forged payload");
}

#[test]
fn a_patched_sp_logging_in_the_signed_identity_is_a_pass() {
    // The reference SP reads the whole NameID: the comment-injection payload logs in the
    // identity the IdP signed, `ceo@example.test.evil.test`, which is not a finding.
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let out = oinspect()
        .args([
            "demo",
            "--seed",
            "7",
            "--only",
            "saml.security.comment-injection-nameid",
        ])
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let t = &report["tests"][0];
    assert_eq!(t["outcome"], "pass");
    let notes = t["notes"].to_string();
    assert!(
        notes.contains("ceo@example.test.evil.test")
            && notes.contains("the identity the IdP really signed"),
        "{notes}"
    );

    // The same payload against the SP that reads the first text node only is critical.
    let out = oinspect()
        .args(["demo", "--seed", "7", "--break", "saml-comment-truncation"])
        .args(["--only", "saml.security.comment-injection-nameid", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let message = report["tests"][0]["message"].as_str().unwrap().to_string();
    assert!(
        message.contains("logged in as \"ceo@example.test\""),
        "{message}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
