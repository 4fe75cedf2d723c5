//! No secret reaches any output. A vendor that echoes every request header (and the base64 of
//! every credential, and the decoded Basic pair, and the request body) back in its bodies,
//! its error responses and its response headers stands in for the app: SCIM endpoints, an
//! OAuth token endpoint (that also echoes the client's credentials next to the token it
//! issues, or refuses them), and a SAML SP whose login and ACS set cookies and whose pages
//! echo the cookies back. Full plans run with known secrets in every auth mode, at every
//! verbosity, with every report; then every byte written (stdout, stderr, JUnit, JSON,
//! artifacts, HTML and JSON Lines where the binary has them) is searched for each secret in
//! every form a leak could take: as is, base64 (padded, unpadded, URL-safe), percent- and
//! form-encoded, JSON-escaped, and the Basic pairs' base64.

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

const BEARER: &str = "brr-Tok/en+9=Q7xVb";
const HEADER_TOKEN: &str = "SSWS hdr-0k/ta+Tkn=5Zq";
const BASIC_USER: &str = "svc-oinspect";
const BASIC_PASSWORD: &str = "pw \"Quoted\" /+=%&x9";
const CLIENT_ID: &str = "client-id-77";
const CLIENT_SECRET: &str = "cs/Secret+Value=99&x";
const ACCESS_TOKEN: &str = "at-Acc/ess+Tok=en42Zr";
const LOGIN_COOKIE: &str = "lgnCk7f3a9b2c1d0e5";
const SESSION_COOKIE: &str = "sesCk9e8d7c6b5a4f3";
const SSO_URL: &str = "https://idp.secrets.test/sso";

fn form_enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Every form in which `secret` would be a leak.
fn forms(secret: &str) -> Vec<String> {
    let mut out = vec![
        secret.to_string(),
        STANDARD.encode(secret),
        URL_SAFE.encode(secret),
        form_enc(secret),
        // Percent-encoding as in URL paths and queries (space as %20).
        form_enc(secret).replace('+', "%20"),
    ];
    // Inside a longer base64 text (`base64("Bearer " + token)`) the secret starts at one of
    // three offsets in a 3-byte group; from the next group boundary on, its encoding is the
    // same whatever surrounds it.
    for skip in [0, 1, 2] {
        let rest = &secret.as_bytes()[skip..];
        let whole = &rest[..rest.len() / 3 * 3];
        out.push(STANDARD_NO_PAD.encode(whole));
        out.push(URL_SAFE_NO_PAD.encode(whole));
    }
    let json = serde_json::to_string(secret).unwrap();
    out.push(json[1..json.len() - 1].to_string());
    out.sort();
    out.dedup();
    out
}

/// (what, secret) pairs searched for in every output.
fn secrets(idp_key_pem: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (what, s) in [
        ("bearer token", BEARER),
        ("header token", HEADER_TOKEN),
        ("basic password", BASIC_PASSWORD),
        ("OAuth client secret", CLIENT_SECRET),
        ("OAuth access token", ACCESS_TOKEN),
        ("login cookie", LOGIN_COOKIE),
        ("session cookie", SESSION_COOKIE),
    ] {
        for f in forms(s) {
            out.push((format!("{what} ({f})"), f));
        }
    }
    // The pairs that Basic authentication puts on the wire.
    for (what, pair) in [
        (
            "basic user:password",
            format!("{BASIC_USER}:{BASIC_PASSWORD}"),
        ),
        (
            "OAuth client_id:client_secret",
            format!("{CLIENT_ID}:{CLIENT_SECRET}"),
        ),
        (
            "OAuth client_id:client_secret (form-encoded, RFC 6749 §2.3.1)",
            format!("{}:{}", form_enc(CLIENT_ID), form_enc(CLIENT_SECRET)),
        ),
    ] {
        for f in [STANDARD.encode(&pair), STANDARD_NO_PAD.encode(&pair)] {
            out.push((format!("{what} as base64 ({f})"), f));
        }
    }
    // The IdP private key: every full line of its PEM body.
    for line in idp_key_pem.lines().filter(|l| !l.starts_with("-----")) {
        if line.len() >= 16 {
            out.push(("IdP private key (PEM line)".to_string(), line.to_string()));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// The echoing vendor
// ---------------------------------------------------------------------------------------

/// Everything about a request, as an echoing server would put it in a body.
fn echo(method: &Method, uri: &Uri, headers: &HeaderMap, body: &str) -> serde_json::Value {
    let mut plain = BTreeMap::new();
    let mut encoded = BTreeMap::new();
    for (k, v) in headers {
        let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
        encoded.insert(k.as_str().to_string(), STANDARD.encode(&v));
        // The credential without its scheme, base64-encoded, as some apps log it.
        if let Some((_, credential)) = v.split_once(' ') {
            encoded.insert(format!("{k}-credential"), STANDARD.encode(credential));
        }
        if k == "cookie" {
            for cookie in v.split(';').filter_map(|c| c.split_once('=')) {
                encoded.insert(
                    format!("cookie-{}", cookie.0.trim()),
                    STANDARD.encode(cookie.1),
                );
            }
        }
        plain.insert(k.as_str().to_string(), v);
    }
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .map(|d| String::from_utf8_lossy(&d).into_owned());
    serde_json::json!({
        "request": format!("{method} {uri}"),
        "headers": plain,
        "base64": encoded,
        "basic_decoded": basic,
        "body": body,
    })
}

fn json_response(
    status: StatusCode,
    content_type: &'static str,
    headers: &HeaderMap,
    body: serde_json::Value,
) -> Response {
    let echoed = headers
        .get("authorization")
        .or_else(|| headers.get("cookie"))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (
        status,
        [
            ("content-type", content_type.to_string()),
            ("x-echo-credentials", echoed),
        ],
        body.to_string(),
    )
        .into_response()
}

fn authn_request_redirect(relay_state: &str) -> String {
    let xml = format!(
        "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_echo1\" Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{SSO_URL}\" AssertionConsumerServiceURL=\"https://sp.secrets.test/acs\"><saml:Issuer>https://sp.secrets.test</saml:Issuer></samlp:AuthnRequest>",
        time_now()
    );
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(xml.as_bytes()).unwrap();
    let b64 = STANDARD.encode(z.finish().unwrap());
    format!(
        "{SSO_URL}?SAMLRequest={}&RelayState={}",
        form_enc(&b64),
        form_enc(relay_state)
    )
}

fn time_now() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

async fn vendor(
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
    next_id: Arc<AtomicUsize>,
) -> Response {
    let path = uri.path().to_string();
    let e = echo(&method, &uri, &headers, &body);
    let scim = "application/scim+json";
    let has_cookie = |name: &str| {
        headers
            .get("cookie")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains(&format!("{name}=")))
    };
    match (method.as_str(), path.as_str()) {
        ("POST", "/oauth/token") => json_response(
            StatusCode::OK,
            "application/json",
            &headers,
            serde_json::json!({
                "access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600, "echo": e
            }),
        ),
        ("POST", "/oauth/deny") => json_response(
            StatusCode::UNAUTHORIZED,
            "application/json",
            &headers,
            serde_json::json!({ "error": "invalid_client", "error_description": e.to_string() }),
        ),
        ("POST", "/scim/v2/Users") => {
            let n = next_id.fetch_add(1, Ordering::SeqCst) + 1;
            let sent: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            json_response(
                StatusCode::CREATED,
                scim,
                &headers,
                serde_json::json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "id": format!("u-{n}"), "userName": sent["userName"], "active": true,
                    "meta": { "resourceType": "User", "location": format!("/scim/v2/Users/u-{n}") },
                    "urn:example:echo": e
                }),
            )
        }
        ("GET", p) if p.starts_with("/scim/v2/Users/") => json_response(
            StatusCode::OK,
            scim,
            &headers,
            serde_json::json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": p.rsplit('/').next(), "userName": "echo@example.test",
                "urn:example:echo": e
            }),
        ),
        ("DELETE", _) => StatusCode::NO_CONTENT.into_response(),
        (_, p) if p.starts_with("/scim/") => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            scim,
            &headers,
            serde_json::json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "500", "detail": format!("could not handle {}", e)
            }),
        ),
        ("GET", "/saml/login") => (
            StatusCode::FOUND,
            [
                ("location", authn_request_redirect("/app")),
                (
                    "set-cookie",
                    format!("login={LOGIN_COOKIE}; Path=/; HttpOnly"),
                ),
            ],
            "",
        )
            .into_response(),
        ("POST", "/saml/acs") => {
            if !has_cookie("login") {
                return (StatusCode::BAD_REQUEST, format!("no login cookie: {e}")).into_response();
            }
            (
                StatusCode::FOUND,
                [
                    ("location", "/app".to_string()),
                    (
                        "set-cookie",
                        format!("session={SESSION_COOKIE}; Path=/; HttpOnly"),
                    ),
                ],
                "",
            )
                .into_response()
        }
        ("GET", "/app") => (
            StatusCode::OK,
            [("content-type", "text/html")],
            format!(
                "<html><body><p>Your cookies: {}</p><pre>{e}</pre></body></html>",
                headers
                    .get("cookie")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
            ),
        )
            .into_response(),
        ("GET", "/me") => {
            let nameid = has_cookie("session").then_some("ada@example.test");
            json_response(
                StatusCode::OK,
                "application/json",
                &headers,
                serde_json::json!({ "nameid": nameid, "echo": e }),
            )
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            "application/json",
            &headers,
            serde_json::json!({ "error": "not found", "echo": e }),
        ),
    }
}

fn start_vendor() -> String {
    let next_id = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: String| {
            vendor(method, uri, headers, body, next_id.clone())
        },
    );
    common::serve_on_thread(app)
}

// ---------------------------------------------------------------------------------------
// Plans, targets, runs
// ---------------------------------------------------------------------------------------

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn entry(id: &str, extra: &str, steps: &str) -> String {
    format!(
        "  - id: {id}\n    title: {id}\n    severity: required\n    why: secrets\n    spec: none\n{extra}    steps:\n{steps}"
    )
}

const SCIM_PLAN: &str =
    "plan: secrets-scim\ntitle: Echoing SCIM vendor\nrequires: [scim]\ntests:\n";
const SAML_PLAN: &str = "plan: secrets-saml\ntitle: Echoing SAML SP\nrequires: [saml]\ntests:\n";

fn scim_plan() -> String {
    let mut p = String::from(SCIM_PLAN);
    p.push_str(&entry(
        "secrets.create",
        "    sequence: lifecycle\n",
        "      - scim: { method: POST, path: /Users, json: { userName: \"{{random.email}}\", password: \"{{random.uuid}}\" } }\n        expect: { status: 201 }\n        capture: { uid: \"$.id\" }\n      - scim: { path: \"/Users/{{uid}}\" }\n        expect: { status: 200, body_contains: [\"never-in-the-body\"] }\n",
    ));
    p.push_str(&entry(
        "secrets.delete",
        "    sequence: lifecycle\n",
        "      - scim: { method: DELETE, path: \"/Users/{{uid}}\" }\n        expect: { status: 204 }\n",
    ));
    p.push_str(&entry(
        "secrets.list-error",
        "",
        "      - scim: { path: /Users, query: { filter: 'userName eq \"ada@example.test\"' } }\n        expect: { status: 200, schema_list: User }\n",
    ));
    p.push_str(&entry(
        "secrets.patch-error",
        "",
        "      - scim: { method: PATCH, path: /Groups/g-1, json: { schemas: [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"], Operations: [] } }\n        expect: { status: 200, schema: Group }\n",
    ));
    p.push_str(&entry(
        "secrets.created-left",
        "",
        "      - scim: { method: POST, path: /Users, json: { userName: \"{{random.email}}\" } }\n        expect: { status: 201, schema: User, json: [{ path: \"$.nickName\", exists: true }] }\n",
    ));
    p
}

fn saml_plan() -> String {
    let mut p = String::from(SAML_PLAN);
    p.push_str(&entry(
        "secrets.saml.login",
        "",
        "      - saml: { flow: sp-initiated, user: primary }\n        expect: { login: accepted, authn_request: [version, issuer] }\n",
    ));
    p.push_str(&entry(
        "secrets.saml.must-fail",
        "",
        "      - saml: { flow: sp-initiated, user: primary }\n        expect: { login: rejected }\n",
    ));
    p
}

/// The target's `scim.auth` for each mode.
fn auth(mode: &str, base: &str) -> String {
    match mode {
        "bearer" => "    bearer: \"${env:T_BEARER}\"\n".into(),
        "header-token" => "    header_token: \"${env:T_HEADER_TOKEN}\"\n".into(),
        "basic" => format!(
            "    basic: {{ username: {BASIC_USER}, password: \"${{env:T_BASIC_PASSWORD}}\" }}\n"
        ),
        "oauth-basic" | "oauth-post" | "oauth-basic-denied" | "oauth-post-denied" => {
            let path = if mode.ends_with("denied") {
                "deny"
            } else {
                "token"
            };
            let client_auth = if mode.starts_with("oauth-post") {
                "post"
            } else {
                "basic"
            };
            format!(
                "    oauth:\n      token_url: {base}/oauth/{path}\n      client_id: {CLIENT_ID}\n      client_secret: \"${{env:T_CLIENT_SECRET}}\"\n      client_auth: {client_auth}\n"
            )
        }
        other => panic!("unknown mode {other}"),
    }
}

fn target(mode: &str, base: &str, idp: &Path) -> String {
    let mut t = format!(
        "name: echoing vendor\nscim:\n  base_url: {base}/scim/v2\n  auth:\n{}",
        auth(mode, base)
    );
    if mode == "bearer" {
        t.push_str(&format!(
            "saml:\n  entity_id: https://sp.secrets.test\n  acs_url: {base}/saml/acs\n  login_url: {base}/saml/login\n  session_check: {{ url: {base}/me, status: 200, json_path: \"$.nameid\" }}\n  requires_signed: assertion\nidp:\n  entity_id: https://idp.secrets.test\n  sso_url: {SSO_URL}\n  key: {}\n  cert: {}\n",
            idp.join("idp-key.pem").display(),
            idp.join("idp-cert.pem").display()
        ));
    }
    t.push_str("users:\n  primary: { email: ada@example.test, given_name: Ada, family_name: Lovelace }\ntimeouts: { request_secs: 5 }\n");
    t
}

/// Flags of `oinspect run` that write more output, where this build has them.
struct Extras {
    html: bool,
    jsonl: bool,
}

fn extras() -> Extras {
    let help = Command::new(env!("CARGO_BIN_EXE_oinspect"))
        .args(["run", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    Extras {
        html: help.contains("--html"),
        jsonl: help.contains("--format") && help.contains("JSON Lines"),
    }
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// One run: returns (name of the output, its bytes) for every output it produced.
fn run_once(
    mode: &str,
    variant: &str,
    dir: &Path,
    plans: &[PathBuf],
    target: &Path,
    extras: &Extras,
) -> Vec<(String, Vec<u8>)> {
    let out_dir = dir.join(format!("out-{mode}-{variant}"));
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oinspect"));
    cmd.arg("run")
        .args(plans)
        .arg("--target")
        .arg(target)
        .arg("--junit")
        .arg(out_dir.join("junit.xml"))
        .arg("--json")
        .arg(out_dir.join("report.json"))
        .arg("--artifacts")
        .arg(out_dir.join("artifacts"))
        .args(["--seed", "11", "--jobs", "2"])
        .env("NO_COLOR", "1")
        .env("T_BEARER", BEARER)
        .env("T_HEADER_TOKEN", HEADER_TOKEN)
        .env("T_BASIC_PASSWORD", BASIC_PASSWORD)
        .env("T_CLIENT_SECRET", CLIENT_SECRET)
        .env_remove("OINSPECT_SEED")
        .env_remove("OINSPECT_TARGET")
        .stdin(Stdio::null());
    match variant {
        "default" => {}
        "v" => {
            cmd.arg("-v");
        }
        "vv" => {
            cmd.arg("-vv");
        }
        "jsonl" => {
            cmd.args(["--format", "json", "-vv"]);
        }
        other => panic!("unknown variant {other}"),
    }
    if extras.html {
        cmd.arg("--html").arg(out_dir.join("report.html"));
    }
    let output = cmd.output().unwrap();
    let name = format!("{mode} {variant}");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    // Exit 1 (required failures) is what these plans are built for, 3 (errors) where the
    // token endpoint refuses the client; anything else means the run did not get as far as
    // the vendor.
    let expected_code = if mode.ends_with("denied") { 3 } else { 1 };
    assert_eq!(
        output.status.code(),
        Some(expected_code),
        "{name}: stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("panicked"),
        "{name}"
    );
    let mut outputs = vec![
        (format!("{name}: stdout"), output.stdout),
        (format!("{name}: stderr"), output.stderr),
    ];
    for f in files_under(&out_dir) {
        let bytes = std::fs::read(&f).unwrap();
        outputs.push((format!("{name}: {}", f.display()), bytes));
    }
    outputs
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn no_secret_reaches_any_output_in_any_form() {
    let base = start_vendor();
    let dir = tempfile::tempdir().unwrap();
    let idp = dir.path().join("idp");
    assert!(
        Command::new(env!("CARGO_BIN_EXE_oinspect"))
            .args(["idp", "init", "--out"])
            .arg(&idp)
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success()
    );
    let key_pem = std::fs::read_to_string(idp.join("idp-key.pem")).unwrap();
    let secrets = secrets(&key_pem);
    let scim = write(dir.path(), "scim.yaml", &scim_plan());
    let saml = write(dir.path(), "saml.yaml", &saml_plan());
    let extras = extras();

    let modes = [
        "bearer",
        "header-token",
        "basic",
        "oauth-basic",
        "oauth-post",
        "oauth-basic-denied",
        "oauth-post-denied",
    ];
    let mut variants = vec!["default", "v", "vv"];
    if extras.jsonl {
        variants.push("jsonl");
    }
    let mut jobs = Vec::new();
    for mode in modes {
        let target = write(
            dir.path(),
            &format!("target-{mode}.yaml"),
            &target(mode, &base, &idp),
        );
        let plans = if mode == "bearer" {
            vec![scim.clone(), saml.clone()]
        } else {
            vec![scim.clone()]
        };
        for variant in &variants {
            jobs.push((mode, *variant, plans.clone(), target.clone()));
        }
    }
    let mut outputs = Vec::new();
    for batch in jobs.chunks(4) {
        let results: Vec<Vec<(String, Vec<u8>)>> = std::thread::scope(|s| {
            let handles: Vec<_> = batch
                .iter()
                .map(|(mode, variant, plans, target)| {
                    let (dir, extras) = (dir.path(), &extras);
                    s.spawn(move || run_once(mode, variant, dir, plans, target, extras))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        outputs.extend(results.into_iter().flatten());
    }

    // The runs reached everything that echoes: the SAML login went through (the cookies were
    // set and echoed), the OAuth token was used, the echo bodies are in the evidence.
    let all = |needle: &str| {
        outputs
            .iter()
            .any(|(_, bytes)| find(bytes, needle.as_bytes()).is_some())
    };
    assert!(
        all("PASS  secrets.saml.login"),
        "the SAML login never succeeded"
    );
    assert!(all("basic_decoded"), "no echo body in any output");
    assert!(all("Bearer ***"), "no masked Authorization header");

    let mut leaks = Vec::new();
    for (what, secret) in &secrets {
        for (name, bytes) in &outputs {
            if let Some(at) = find(bytes, secret.as_bytes()) {
                let from = at.saturating_sub(80);
                let to = (at + secret.len() + 80).min(bytes.len());
                leaks.push(format!(
                    "{what} in {name}: ...{}...",
                    String::from_utf8_lossy(&bytes[from..to])
                ));
            }
        }
    }
    let files = outputs.len();
    let bytes: usize = outputs.iter().map(|(_, b)| b.len()).sum();
    eprintln!(
        "searched {files} outputs ({bytes} bytes) of {} runs for {} secret forms",
        jobs.len(),
        secrets.len()
    );
    leaks.truncate(40);
    assert!(leaks.is_empty(), "leaks:\n{}", leaks.join("\n"));
}
