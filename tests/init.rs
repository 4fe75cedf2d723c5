//! `oinspect init`: a target from the reference app's SP metadata that `validate` accepts at
//! once and that `run` logs in with after the one placeholder the metadata cannot fill (the
//! session check) is filled in; existing files are never overwritten.

use std::path::Path;

use assert_cmd::Command;
use oinspect::demo::{Breaks, ReferenceApp};

fn oinspect() -> Command {
    let mut cmd = Command::cargo_bin("oinspect").expect("binary is built by cargo test");
    cmd.env("NO_COLOR", "1")
        .env("CI", "true")
        .env_remove("SCIM_TOKEN")
        .timeout(std::time::Duration::from_secs(120));
    cmd
}

/// The app runs on its own thread's runtime while the binary runs in another process.
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
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    out
}

/// `idp.entity_id` of the app's own target: the IdP its SP trusts.
fn trusted_idp_entity_id(app: &ReferenceApp) -> String {
    let yaml = app.target_yaml(false);
    let idp = &yaml[yaml.find("\nidp:\n").expect("an idp section")..];
    idp.lines()
        .find_map(|l| l.trim().strip_prefix("entity_id: "))
        .expect("idp.entity_id")
        .trim_matches('"')
        .to_string()
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn init_from_the_reference_apps_metadata_gives_a_target_that_runs() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("acme.yaml");
    with_app(|app| {
        let base = app.base_url();
        let idp_dir = app.idp_key_path.parent().unwrap();
        let out = oinspect()
            .args(["init", "--sp-metadata", &format!("{base}/saml/metadata")])
            .arg("--out")
            .arg(&target)
            .arg("--idp-dir")
            .arg(idp_dir)
            .args(["--idp-entity-id", &trusted_idp_entity_id(app)])
            .args(["--login-url", &format!("{base}/saml/login")])
            .args(["--user-email", "ada@example.test"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        let said = text(&out);
        assert!(
            said.contains("saml.session_check"),
            "names what to fill: {said}"
        );
        assert!(said.contains("scim:"), "{said}");

        let yaml = std::fs::read_to_string(&target).unwrap();
        for expected in [
            format!("entity_id: \"{base}/saml/metadata\""),
            format!("acs_url: \"{base}/saml/acs\""),
            format!("sp_metadata: \"{base}/saml/metadata\""),
            "requires_signed: assertion".to_string(),
            "# session_check:".to_string(),
            "#     bearer: \"${env:SCIM_TOKEN}\"".to_string(),
            "FILL IN".to_string(),
        ] {
            assert!(yaml.contains(&expected), "missing `{expected}` in\n{yaml}");
        }

        // Valid as written: placeholders are comments.
        let out = oinspect()
            .args(["validate", "--target"])
            .arg(&target)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("saml-sp-initiated"), "{}", text(&out));

        // Without a session check the login test cannot judge and says so.
        let out = oinspect()
            .args(["run", "--only", "saml.sp-initiated.login", "--target"])
            .arg(&target)
            .output()
            .unwrap();
        assert!(text(&out).contains("session_check"), "{}", text(&out));

        // Fill the placeholder the reference app needs: GET /api/me, $.nameid.
        let placeholder = format!(
            "  # session_check:\n  #   url: \"{base}/api/me\"\n  #   status: 200\n  #   json_path: \"$.email\"\n"
        );
        assert!(yaml.contains(&placeholder), "{yaml}");
        let filled = yaml.replace(
            &placeholder,
            &format!(
                "  session_check:\n    url: \"{base}/api/me\"\n    status: 200\n    json_path: \"$.nameid\"\n"
            ),
        );
        std::fs::write(&target, filled).unwrap();
        let out = oinspect()
            .args(["run", "--only", "saml.sp-initiated.login", "--target"])
            .arg(&target)
            .output()
            .unwrap();
        let said = text(&out);
        assert_eq!(out.status.code(), Some(0), "{said}");
        assert!(said.contains("PASS  saml.sp-initiated.login"), "{said}");
    });
}

#[test]
fn init_never_overwrites_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target.yaml");
    std::fs::write(&target, "mine\n").unwrap();
    let out = oinspect()
        .args(["init", "--entity-id", "https://a.example/sp"])
        .arg("--out")
        .arg(&target)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("never overwrites"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "mine\n");
}

fn validate(target: &Path) -> std::process::Output {
    oinspect()
        .args(["validate", "--target"])
        .arg(target)
        .output()
        .unwrap()
}

#[test]
fn init_from_flags_offers_the_idp_key_or_creates_it() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t.yaml");
    let out = oinspect()
        .args([
            "init",
            "--entity-id",
            "https://acme.example/saml",
            "--acs-url",
            "https://acme.example/saml/acs",
            "--scim-url",
            "https://acme.example/scim/v2",
            "--scim-token-env",
            "ACME_TOKEN",
        ])
        .arg("--out")
        .arg(&target)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("oinspect idp init --out"),
        "offers `idp init`: {}",
        text(&out)
    );
    let yaml = std::fs::read_to_string(&target).unwrap();
    assert!(yaml.contains("  # key: \"idp/idp-key.pem\""), "{yaml}");
    assert!(yaml.contains("bearer: \"${env:ACME_TOKEN}\""), "{yaml}");
    // The token variable must be set for the target to load; the placeholders do not matter.
    let out = oinspect()
        .env("ACME_TOKEN", "x-token")
        .args(["validate", "--target"])
        .arg(&target)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let out = validate(&target);
    assert_eq!(out.status.code(), Some(2), "ACME_TOKEN unset is named");
    assert!(text(&out).contains("ACME_TOKEN"), "{}", text(&out));

    let second = dir.path().join("with-key.yaml");
    let out = oinspect()
        .args([
            "init",
            "--entity-id",
            "https://acme.example/saml",
            "--create-idp-key",
        ])
        .arg("--out")
        .arg(&second)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(dir.path().join("idp/idp-key.pem").exists());
    let yaml = std::fs::read_to_string(&second).unwrap();
    assert!(yaml.contains("\n  key: \"idp/idp-key.pem\""), "{yaml}");
    let out = validate(&second);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn interactive_needs_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let out = oinspect()
        .args(["init", "--interactive"])
        .arg("--out")
        .arg(dir.path().join("t.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("needs a terminal"), "{}", text(&out));
    assert!(!dir.path().join("t.yaml").exists());
}
