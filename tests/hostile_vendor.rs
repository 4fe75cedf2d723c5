//! oinspect against a vendor that misbehaves on purpose (tests/common/hostile.rs): refused and
//! reset connections, stalled headers and bodies, endless redirects, 100 MB bodies, broken
//! chunking, invalid UTF-8, the wrong content type, JSON nested 100 000 deep, a DEFLATE bomb
//! in a Redirect-binding AuthnRequest, entity-expansion bombs and external entities in
//! AuthnRequests (both bindings) and SP metadata, and TLS with an untrusted certificate.
//!
//! The real binary runs plans pointing SCIM and SAML steps at each route. Every affected test
//! must end as `error` or `fail` with a one-line reason naming the cause; the run must go on
//! and finish with a report and the documented exit code; nothing may panic; the external
//! entities' canary must get no request; and the process's peak RSS (VmHWM, polled from
//! /proc) must stay under 200 MB.

#[path = "common/hostile.rs"]
mod hostile;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Peak memory allowed to one oinspect process.
const MAX_PEAK_RSS_KB: u64 = 200 * 1024;
/// No run may take longer (the stalling routes hold connections for 30 s; oinspect's
/// request timeout is 1 s).
const RUN_DEADLINE: Duration = Duration::from_secs(40);

fn oinspect_path() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_oinspect"))
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// One finished `oinspect run`.
struct Finished {
    name: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
    report: serde_json::Value,
    peak_rss_kb: u64,
    elapsed: Duration,
}

/// VmHWM (peak resident set) of a live process, in KiB.
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Runs `oinspect run PLAN --target TARGET --json ...`, polling the child's peak RSS every
/// 5 ms until it exits (VmHWM only grows, so the last reading is the peak up to the last
/// few milliseconds). Killed, and the test failed, past [`RUN_DEADLINE`].
fn run(name: &str, dir: &Path, plan: &Path, target: &Path) -> Finished {
    let json = dir.join(format!("{name}.json"));
    let started = Instant::now();
    let mut child = Command::new(oinspect_path())
        .arg("run")
        .arg(plan)
        .arg("--target")
        .arg(target)
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(dir.join(format!("{name}.xml")))
        .arg("--artifacts")
        .arg(dir.join(format!("{name}-artifacts")))
        .args(["--timeout", "20", "--seed", "7", "--color", "never"])
        .env("NO_COLOR", "1")
        .env_remove("OINSPECT_SEED")
        .env_remove("OINSPECT_TARGET")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let stdout = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let stderr = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let mut peak = 0;
    let status = loop {
        if let Some(kb) = peak_rss_kb(pid) {
            peak = peak.max(kb);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > RUN_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{name}: oinspect still running after {RUN_DEADLINE:?}; stdout:\n{}",
                stdout.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    let stdout = stdout.join().unwrap();
    let stderr = stderr.join().unwrap();
    // The JUnit report stays well-formed XML whatever the vendor sent.
    let junit = std::fs::read_to_string(dir.join(format!("{name}.xml")))
        .unwrap_or_else(|e| panic!("{name}: no JUnit report ({e})"));
    if let Err(e) = roxmltree::Document::parse(&junit) {
        panic!("{name}: the JUnit report is not XML: {e}");
    }
    let report = std::fs::read(&json)
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or_else(|e| {
            panic!("{name}: no JSON report ({e}); stdout:\n{stdout}\nstderr:\n{stderr}")
        });
    Finished {
        name: name.to_string(),
        code: status.code(),
        stdout,
        stderr,
        report,
        peak_rss_kb: peak,
        elapsed,
    }
}

fn test_entry(test_id: &str, steps: &str) -> String {
    format!(
        "  - id: {test_id}\n    title: {test_id}\n    severity: required\n    why: hostile vendor\n    spec: none\n    steps:\n{steps}"
    )
}

/// What a test must end as: the outcomes allowed and words of which the message must hold
/// at least one (case-insensitive).
struct Expected {
    test: &'static str,
    outcomes: &'static [&'static str],
    any_of: &'static [&'static str],
}

const ERROR: &[&str] = &["error"];
const FAIL: &[&str] = &["fail"];
const ERROR_OR_FAIL: &[&str] = &["error", "fail"];

/// The SCIM plan: one test per route, a GET (or, for `refused` and `tls`, an `http:` step
/// with an absolute URL) expecting a SCIM User; then one well-behaved route.
fn scim_plan(h: &hostile::Hostile) -> (String, Vec<Expected>) {
    let expect = "        expect: { status: 200, content_type: [application/scim+json], schema: User, json: [{ path: \"$.id\", type: string }] }\n";
    let scim = |route: &str| format!("      - scim: {{ method: GET, path: /{route} }}\n{expect}");
    let http = |url: &str| format!("      - http: {{ method: GET, path: \"{url}\" }}\n{expect}");
    let mut plan =
        String::from("plan: hostile-scim\ntitle: Hostile SCIM vendor\nrequires: [scim]\ntests:\n");
    let mut expected = Vec::new();
    let mut add = |id: &'static str, steps: String, outcomes, any_of| {
        plan.push_str(&test_entry(id, &steps));
        expected.push(Expected {
            test: id,
            outcomes,
            any_of,
        });
    };
    add(
        "hostile.refused",
        http(&format!("{}/scim/v2/Users", h.refused)),
        ERROR,
        &["could not connect", "refused"],
    );
    add("hostile.reset", scim("reset"), ERROR, &["reset", "closed"]);
    add(
        "hostile.stall-headers",
        scim("stall-headers"),
        ERROR,
        &["timed out"],
    );
    add(
        "hostile.stall-body",
        scim("stall-body"),
        ERROR,
        &["timed out"],
    );
    add(
        "hostile.redirect-loop",
        scim("redirect-loop"),
        FAIL,
        &["got 302"],
    );
    add("hostile.huge-chunked", scim("huge"), ERROR, &["byte cap"]);
    add(
        "hostile.huge-length",
        scim("huge-length"),
        ERROR,
        &["byte cap"],
    );
    add(
        "hostile.chunked-garbage",
        scim("chunked-garbage"),
        ERROR,
        &["chunk"],
    );
    add(
        "hostile.invalid-utf8",
        scim("invalid-utf8"),
        FAIL,
        &["not valid UTF-8"],
    );
    add(
        "hostile.wrong-type",
        scim("wrong-type"),
        FAIL,
        &["content type", "content-type"],
    );
    add(
        "hostile.deep-json",
        scim("deep-json"),
        FAIL,
        &["nested deeper"],
    );
    add(
        "hostile.untrusted-tls",
        http(&format!("{}/scim/v2/Users", h.tls_base)),
        ERROR,
        &["certificate"],
    );
    add(
        "hostile.escape-codes",
        scim("escape-codes"),
        FAIL,
        &["got 500"],
    );
    add(
        "hostile.escape-json",
        "      - scim: { method: GET, path: /escape-json }\n        expect: { status: 200, json: [{ path: \"$.userName\", equals: ada }] }\n"
        .to_string(),
        FAIL,
        &["userName"],
    );
    add("hostile.well-behaved", scim("ok"), &["pass"], &[""]);
    (plan, expected)
}

fn saml_target(h: &hostile::Hostile, idp: &Path, login: Option<&str>, md: Option<&str>) -> String {
    // Only the login that reaches the ACS needs a real one.
    let acs = if login == Some("login-valid") {
        format!("{}/saml/acs-escape-codes", h.base)
    } else {
        "https://sp.hostile.test/acs".to_string()
    };
    let mut t = format!(
        "name: hostile SP\nsaml:\n  entity_id: https://sp.hostile.test\n  acs_url: {acs}\n  session_check: {{ url: \"{}/me\", status: 200 }}\n",
        h.base
    );
    if let Some(route) = login {
        let base = if route == "tls" { &h.tls_base } else { &h.base };
        t.push_str(&format!("  login_url: \"{base}/saml/{route}\"\n"));
    }
    if let Some(route) = md {
        t.push_str(&format!("  sp_metadata: \"{}/md/{route}\"\n", h.base));
    }
    t.push_str(&format!(
        "idp:\n  entity_id: https://idp.hostile.test\n  sso_url: {}\n  key: {}\n  cert: {}\nusers:\n  primary: {{ email: ada@example.test }}\ntimeouts: {{ request_secs: 1 }}\n",
        hostile::SSO_URL,
        idp.join("idp-key.pem").display(),
        idp.join("idp-cert.pem").display(),
    ));
    t
}

fn check_run(f: &Finished, expected: &[Expected]) -> Vec<String> {
    let mut problems = Vec::new();
    let ctx = format!("stdout:\n{}\nstderr:\n{}", f.stdout, f.stderr);
    // With --color never, any escape or control character in the terminal output came from
    // the vendor.
    for (stream, text) in [("stdout", &f.stdout), ("stderr", &f.stderr)] {
        if let Some(c) = text
            .chars()
            .find(|c| c.is_control() && !matches!(c, '\n' | '\t'))
        {
            problems.push(format!(
                "{}: control character {c:?} in {stream}:\n{text}",
                f.name
            ));
        }
    }
    for needle in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
        if f.stderr.contains(needle) || f.stdout.contains(needle) {
            problems.push(format!("{}: `{needle}` in the output\n{ctx}", f.name));
        }
    }
    let tests = f.report["tests"].as_array().cloned().unwrap_or_default();
    if tests.len() != expected.len() {
        problems.push(format!(
            "{}: {} tests in the report, expected {} (the run must finish every test)\n{ctx}",
            f.name,
            tests.len(),
            expected.len()
        ));
    }
    let mut any_fail = false;
    let mut any_error = false;
    for e in expected {
        let Some(t) = tests.iter().find(|t| t["id"] == e.test) else {
            problems.push(format!("{}: {} missing from the report", f.name, e.test));
            continue;
        };
        let outcome = t["outcome"].as_str().unwrap_or("");
        let message = t["message"].as_str().unwrap_or("");
        eprintln!("  {:<24} {outcome:<5} {message}", e.test);
        any_fail |= outcome == "fail";
        any_error |= outcome == "error";
        if !e.outcomes.contains(&outcome) {
            problems.push(format!(
                "{}: {} ended as {outcome}, expected {:?}: {message}",
                f.name, e.test, e.outcomes
            ));
        }
        let lower = message.to_lowercase();
        if !e.any_of.iter().any(|w| lower.contains(&w.to_lowercase())) {
            problems.push(format!(
                "{}: {}: the reason does not name the cause (any of {:?}): {message}",
                f.name, e.test, e.any_of
            ));
        }
        if message.contains('\n') || message.len() > 600 {
            problems.push(format!(
                "{}: {}: the reason is not one short line: {message:?}",
                f.name, e.test
            ));
        }
    }
    // The documented contract (README, src/exit.rs): 1 when a required test failed, else 3
    // when one could not be judged.
    let want = if any_fail {
        1
    } else if any_error {
        3
    } else {
        0
    };
    if f.code != Some(want) || f.report["exit_code"] != want {
        problems.push(format!(
            "{}: exit code {:?} (report: {}), expected {want}\n{ctx}",
            f.name, f.code, f.report["exit_code"]
        ));
    }
    if !f.stdout.contains(&format!("exit {want}")) {
        problems.push(format!(
            "{}: no summary line with `exit {want}`\n{ctx}",
            f.name
        ));
    }
    if f.peak_rss_kb == 0 || f.peak_rss_kb > MAX_PEAK_RSS_KB {
        problems.push(format!(
            "{}: peak RSS {} KiB (limit {MAX_PEAK_RSS_KB} KiB; 0 means it could not be read)",
            f.name, f.peak_rss_kb
        ));
    }
    problems
}

#[test]
fn hostile_vendor_endpoints_end_as_errors_or_failures_and_the_run_finishes() {
    if !Path::new("/proc/self/status").exists() {
        eprintln!("skipped: peak RSS is read from /proc (Linux only)");
        return;
    }
    let started = Instant::now();
    let h = hostile::start();
    let dir = tempfile::tempdir().unwrap();
    let idp = dir.path().join("idp");
    let status = Command::new(oinspect_path())
        .args(["idp", "init", "--out"])
        .arg(&idp)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());

    // (run name, plan, target, expectations)
    let mut runs: Vec<(String, PathBuf, PathBuf, Vec<Expected>)> = Vec::new();
    let (plan, expected) = scim_plan(&h);
    runs.push((
        "scim".into(),
        write(dir.path(), "scim-plan.yaml", &plan),
        write(
            dir.path(),
            "scim-target.yaml",
            &format!(
                "name: hostile SCIM vendor\nscim:\n  base_url: {}/scim/v2\n  auth: {{ bearer: hostile-token-1234 }}\ntimeouts: {{ request_secs: 1 }}\n",
                h.base
            ),
        ),
        expected,
    ));

    let login_plan = write(
        dir.path(),
        "login-plan.yaml",
        &format!(
            "plan: hostile-login\ntitle: Hostile SP login\nrequires: [saml]\ntests:\n{}",
            test_entry(
                "hostile.login",
                "      - saml: { flow: sp-initiated, user: primary, stop_after_request: true }\n        expect: { authn_request: [version] }\n"
            )
        ),
    );
    let logins: [(&str, &[&str], &[&str]); 8] = [
        ("redirect-loop", ERROR_OR_FAIL, &["redirects"]),
        (
            "login-deflate-bomb",
            ERROR_OR_FAIL,
            &["inflated SAMLRequest is larger than"],
        ),
        (
            "login-redirect-entity-bomb",
            ERROR_OR_FAIL,
            &["DOCTYPE", "refused"],
        ),
        ("login-redirect-xxe", ERROR_OR_FAIL, &["DOCTYPE", "refused"]),
        (
            "login-post-entity-bomb",
            ERROR_OR_FAIL,
            &["DOCTYPE", "refused"],
        ),
        ("login-post-xxe", ERROR_OR_FAIL, &["DOCTYPE", "refused"]),
        ("stall-headers", ERROR, &["timed out"]),
        ("tls", ERROR, &["certificate"]),
    ];
    for (route, outcomes, any_of) in logins {
        runs.push((
            format!("saml-{route}"),
            login_plan.clone(),
            write(
                dir.path(),
                &format!("login-{route}.yaml"),
                &saml_target(&h, &idp, Some(route), None),
            ),
            vec![Expected {
                test: "hostile.login",
                outcomes,
                any_of,
            }],
        ));
    }
    // A login that reaches an ACS whose page carries terminal escape sequences.
    let full_login_plan = write(
        dir.path(),
        "full-login-plan.yaml",
        &format!(
            "plan: hostile-acs\ntitle: Hostile SP ACS\nrequires: [saml]\ntests:\n{}",
            test_entry(
                "hostile.acs",
                "      - saml: { flow: sp-initiated, user: primary }\n        expect: { login: accepted }\n"
            )
        ),
    );
    runs.push((
        "saml-acs-escape-codes".into(),
        full_login_plan,
        write(
            dir.path(),
            "login-valid.yaml",
            &saml_target(&h, &idp, Some("login-valid"), None),
        ),
        vec![Expected {
            test: "hostile.acs",
            outcomes: FAIL,
            any_of: &["Login failed"],
        }],
    ));
    let md_plan = write(
        dir.path(),
        "md-plan.yaml",
        &format!(
            "plan: hostile-metadata\ntitle: Hostile SP metadata\nrequires: [saml]\ntests:\n{}",
            test_entry("hostile.metadata", "      - saml: { flow: sp-metadata }\n")
        ),
    );
    let metadata: [(&str, &[&str]); 3] = [
        ("metadata-entity-bomb", &["DOCTYPE"]),
        ("metadata-xxe", &["DOCTYPE"]),
        ("huge", &["byte cap"]),
    ];
    for (route, any_of) in metadata {
        runs.push((
            format!("md-{route}"),
            md_plan.clone(),
            write(
                dir.path(),
                &format!("md-{route}.yaml"),
                &saml_target(&h, &idp, None, Some(route)),
            ),
            vec![Expected {
                test: "hostile.metadata",
                outcomes: ERROR_OR_FAIL,
                any_of,
            }],
        ));
    }

    // Four runs at a time: the machine may have two cores, and most runs wait on timeouts.
    let mut finished: Vec<(Finished, Vec<Expected>)> = Vec::new();
    let mut queue = runs.into_iter();
    loop {
        let batch: Vec<_> = queue.by_ref().take(4).collect();
        if batch.is_empty() {
            break;
        }
        let results: Vec<(Finished, Vec<Expected>)> = std::thread::scope(|s| {
            let handles: Vec<_> = batch
                .into_iter()
                .map(|(name, plan, target, expected)| {
                    let dir = dir.path();
                    s.spawn(move || (run(&name, dir, &plan, &target), expected))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        finished.extend(results);
    }
    // An external entity fetched late would still arrive within this.
    std::thread::sleep(Duration::from_millis(300));

    let mut problems = Vec::new();
    let mut max_rss = 0;
    for (f, expected) in &finished {
        eprintln!(
            "{:<32} exit {:?}  peak RSS {:>7} KiB  {:>5.1}s",
            f.name,
            f.code,
            f.peak_rss_kb,
            f.elapsed.as_secs_f64()
        );
        max_rss = max_rss.max(f.peak_rss_kb);
        problems.extend(check_run(f, expected));
    }
    eprintln!(
        "highest peak RSS: {max_rss} KiB; flooding routes wrote {} MB; whole test {:.1}s",
        h.flooded.load(std::sync::atomic::Ordering::SeqCst) / (1024 * 1024),
        started.elapsed().as_secs_f64()
    );
    if h.canary_hits() != 0 {
        problems.push(format!(
            "the external-entity canary got {} request(s): oinspect resolved an external entity",
            h.canary_hits()
        ));
    }
    assert!(
        h.tls_connections.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "the TLS routes were never contacted"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
