//! Every SCIM auth mode of the target sends exactly the header it promises, and the OAuth
//! client-credentials flow works and fails clearly. A small recording server stands in for
//! the vendor, so the assertions are about bytes on the wire, not about our own server.

mod common;

use std::sync::{Arc, Mutex};

use assert_cmd::Command;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};

#[derive(Default)]
struct Seen {
    authorization: Vec<String>,
    token_requests: Vec<(Option<String>, String)>,
}

type Shared = Arc<Mutex<Seen>>;

async fn spc(
    State(seen): State<Shared>,
    headers: HeaderMap,
) -> ([(&'static str, &'static str); 1], String) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    seen.lock().unwrap().authorization.push(auth);
    (
        [("content-type", "application/scim+json")],
        serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": true}, "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": 100}, "changePassword": {"supported": false},
            "sort": {"supported": false}, "etag": {"supported": false},
            "authenticationSchemes": [{"type": "oauthbearertoken", "name": "OAuth Bearer Token", "description": "d"}]
        })
        .to_string(),
    )
}

async fn token(
    State(seen): State<Shared>,
    headers: HeaderMap,
    body: String,
) -> (axum::http::StatusCode, String) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    seen.lock()
        .unwrap()
        .token_requests
        .push((auth, body.clone()));
    if body.contains("client_secret=wrong") {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            r#"{"error":"invalid_client"}"#.into(),
        );
    }
    (
        axum::http::StatusCode::OK,
        r#"{"access_token":"issued-access-token-77","token_type":"bearer","expires_in":3600}"#
            .into(),
    )
}

/// Starts the recording server; returns its base URL and what it saw.
fn start() -> (String, Shared) {
    let seen: Shared = Arc::default();
    let app = axum::Router::new()
        .route("/scim/v2/ServiceProviderConfig", get(spc))
        .route("/oauth/token", post(token))
        .with_state(seen.clone());
    (common::serve_on_thread(app), seen)
}

fn run(base: &str, auth_yaml: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t.yaml");
    std::fs::write(
        &target,
        format!("name: recorder\nscim:\n  base_url: {base}/scim/v2\n  auth:\n{auth_yaml}\n"),
    )
    .unwrap();
    Command::cargo_bin("oinspect")
        .unwrap()
        .args([
            "run",
            "scim-rfc",
            "--only",
            "scim.discovery.service-provider-config",
            "--target",
        ])
        .arg(&target)
        .env("NO_COLOR", "1")
        .env("OINSPECT_AUTH_TEST_SECRET", "s3cr3t-value")
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap()
}

#[test]
fn bearer_header_token_and_basic_send_the_right_header() {
    let (base, seen) = start();
    let cases = [
        (
            "    bearer: \"${env:OINSPECT_AUTH_TEST_SECRET}\"",
            "Bearer s3cr3t-value",
        ),
        (
            "    header_token: \"${env:OINSPECT_AUTH_TEST_SECRET}\"",
            "s3cr3t-value",
        ),
        (
            "    basic: { username: okta, password: \"${env:OINSPECT_AUTH_TEST_SECRET}\" }",
            "Basic b2t0YTpzM2NyM3QtdmFsdWU=",
        ),
    ];
    for (yaml, expected) in cases {
        let out = run(&base, yaml);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}");
        assert!(
            !stdout.contains("s3cr3t-value"),
            "secret in the report: {stdout}"
        );
        let last = seen.lock().unwrap().authorization.last().cloned();
        assert_eq!(last.as_deref(), Some(expected));
    }
}

#[test]
fn oauth_client_credentials_fetches_and_uses_a_token() {
    let (base, seen) = start();
    let yaml = format!(
        "    oauth: {{ token_url: {base}/oauth/token, client_id: my-client, client_secret: \"${{env:OINSPECT_AUTH_TEST_SECRET}}\", scope: scim }}"
    );
    let out = run(&base, &yaml);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.authorization.last().map(String::as_str),
        Some("Bearer issued-access-token-77")
    );
    let (auth, body) = &seen.token_requests[0];
    // Basic over form-encoded id and secret (RFC 6749 §2.3.1).
    assert_eq!(
        auth.as_deref(),
        Some("Basic bXktY2xpZW50OnMzY3IzdC12YWx1ZQ==")
    );
    assert!(body.contains("grant_type=client_credentials"), "{body}");
    assert!(body.contains("scope=scim"), "{body}");
}

#[test]
fn oauth_post_auth_and_a_refused_client_is_a_clear_error() {
    let (base, seen) = start();
    let yaml = format!(
        "    oauth: {{ token_url: {base}/oauth/token, client_id: my-client, client_secret: wrong, client_auth: post }}"
    );
    let out = run(&base, &yaml);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "not judged: {stdout}");
    assert!(
        stdout.contains("token endpoint answered HTTP 401"),
        "{stdout}"
    );
    let seen = seen.lock().unwrap();
    let (auth, body) = &seen.token_requests[0];
    assert!(auth.is_none());
    assert!(body.contains("client_id=my-client"), "{body}");
    assert!(
        seen.authorization.is_empty(),
        "no SCIM request without a token"
    );
}
