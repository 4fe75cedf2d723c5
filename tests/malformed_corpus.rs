//! Every malformed plan and target in `tests/corpus/` is refused by the real binary with
//! exit code 2 and a clear message: `file:line:col`, the offending line and a caret where a
//! position exists, and what is expected. No run may panic, hang or use unbounded memory.
//!
//! Files that must not be committed (a 50 MB file, random bytes, crossed IdP keys) are
//! generated into a temporary directory at test time.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(20);
/// Peak resident memory allowed for the alias bomb and the 50 MB file.
const MAX_RSS_KB: u64 = 200 * 1024;

#[derive(Clone, Copy, Debug)]
enum Kind {
    Plan,
    Target,
}
use Kind::{Plan, Target};

/// (file under tests/corpus, kind, exit code, "line:col" or None, message substring)
type Case = (&'static str, Kind, i32, Option<&'static str>, &'static str);

const CASES: &[Case] = &[
    // YAML syntax
    (
        "plans/syntax_unclosed_flow.yaml",
        Plan,
        2,
        Some("4:6"),
        "illegal placement of ':'",
    ),
    (
        "plans/syntax_bad_indent.yaml",
        Plan,
        2,
        Some("5:5"),
        "missing field `severity`",
    ),
    (
        "plans/syntax_tab_indent.yaml",
        Plan,
        2,
        Some("4:2"),
        "tabs disallowed",
    ),
    (
        "plans/syntax_unterminated_quote.yaml",
        Plan,
        2,
        Some("2:8"),
        "unclosed quote",
    ),
    (
        "plans/top_level_list.yaml",
        Plan,
        2,
        Some("1:1"),
        "expected a mapping here",
    ),
    (
        "plans/empty_file.yaml",
        Plan,
        2,
        None,
        "file is empty: expected a YAML mapping",
    ),
    (
        "targets/syntax_unclosed_flow.yaml",
        Target,
        2,
        Some("5:6"),
        "did not find expected ',' or '}'",
    ),
    (
        "targets/syntax_tab_indent.yaml",
        Target,
        2,
        Some("3:2"),
        "tabs disallowed",
    ),
    (
        "targets/syntax_unterminated_quote.yaml",
        Target,
        2,
        Some("1:7"),
        "unclosed quote",
    ),
    // Wrong types
    (
        "plans/type_tests_string.yaml",
        Plan,
        2,
        Some("3:8"),
        "expected a list here",
    ),
    (
        "plans/type_requires_string.yaml",
        Plan,
        2,
        Some("3:11"),
        "expected a list here",
    ),
    (
        "plans/type_steps_mapping.yaml",
        Plan,
        2,
        Some("11:7"),
        "expected a list here",
    ),
    (
        "plans/type_severity_int.yaml",
        Plan,
        2,
        Some("7:15"),
        "unknown variant `5`, expected one of advisory, recommended, required",
    ),
    (
        "plans/type_status_string.yaml",
        Plan,
        2,
        Some("13:19"),
        "expected an HTTP status code",
    ),
    (
        "plans/type_max_ms_string.yaml",
        Plan,
        2,
        Some("13:19"),
        "expected a whole number",
    ),
    (
        "plans/type_repeat_negative.yaml",
        Plan,
        2,
        Some("12:17"),
        "expected a whole number, 0 or more",
    ),
    (
        "plans/type_json_length_string.yaml",
        Plan,
        2,
        Some("14:46"),
        "expected a whole number",
    ),
    (
        "plans/unknown_method.yaml",
        Plan,
        2,
        Some("11:25"),
        "expected one of GET, POST",
    ),
    (
        "plans/unknown_capability.yaml",
        Plan,
        2,
        Some("3:12"),
        "expected one of scim, saml",
    ),
    (
        "plans/missing_tests.yaml",
        Plan,
        2,
        Some("2:1"),
        "missing field `tests`",
    ),
    (
        "targets/type_users_list.yaml",
        Target,
        2,
        Some("2:8"),
        "expected a mapping here",
    ),
    (
        "targets/type_request_secs_string.yaml",
        Target,
        2,
        Some("2:27"),
        "expected a number",
    ),
    (
        "targets/type_insecure_string.yaml",
        Target,
        2,
        Some("2:18"),
        "strict mode expects true/false",
    ),
    (
        "targets/type_session_status.yaml",
        Target,
        2,
        Some("3:58"),
        "expected a whole number",
    ),
    (
        "targets/type_requires_signed.yaml",
        Target,
        2,
        Some("3:20"),
        "expected one of assertion, response, both, either",
    ),
    (
        "targets/missing_name.yaml",
        Target,
        2,
        Some("1:1"),
        "missing field `name`",
    ),
    (
        "targets/empty_mapping.yaml",
        Target,
        2,
        Some("1:1"),
        "missing field `name`",
    ),
    // Unknown keys at every level
    (
        "plans/unknown_key_plan.yaml",
        Plan,
        2,
        Some("3:1"),
        "unknown field `descripton`, expected one of",
    ),
    (
        "plans/unknown_key_test.yaml",
        Plan,
        2,
        Some("7:5"),
        "unknown field `severty`, expected one of",
    ),
    (
        "plans/unknown_key_step.yaml",
        Plan,
        2,
        Some("12:9"),
        "unknown field `expekt`, expected one of",
    ),
    (
        "plans/unknown_key_request.yaml",
        Plan,
        2,
        Some("12:11"),
        "unknown field `methd`, expected one of method",
    ),
    (
        "plans/unknown_key_expect.yaml",
        Plan,
        2,
        Some("13:11"),
        "unknown field `stauts`, expected one of status",
    ),
    (
        "plans/unknown_key_json_assertion.yaml",
        Plan,
        2,
        Some("14:31"),
        "unknown field `equal`, expected one of path, equals",
    ),
    (
        "plans/unknown_key_saml_step.yaml",
        Plan,
        2,
        Some("11:37"),
        "unknown field `usr`, expected one of flow, user",
    ),
    (
        "plans/misspelt_step_kind.yaml",
        Plan,
        2,
        Some("11:9"),
        "unknown field `scmi`, expected one of scim, http, saml",
    ),
    (
        "targets/unknown_key_top.yaml",
        Target,
        2,
        Some("2:1"),
        "unknown field `scm`, expected one of name",
    ),
    (
        "targets/unknown_key_scim.yaml",
        Target,
        2,
        Some("3:3"),
        "unknown field `base_ur`, expected one of base_url",
    ),
    (
        "targets/unknown_key_auth.yaml",
        Target,
        2,
        Some("4:11"),
        "unknown field `berer`, expected one of bearer",
    ),
    (
        "targets/unknown_key_saml.yaml",
        Target,
        2,
        Some("4:3"),
        "unknown field `acs`, expected one of entity_id, acs_url",
    ),
    (
        "targets/unknown_key_session_check.yaml",
        Target,
        2,
        Some("3:50"),
        "unknown field `jsonpath`, expected one of url",
    ),
    (
        "targets/unknown_key_idp.yaml",
        Target,
        2,
        Some("3:3"),
        "unknown field `entityid`, expected one of entity_id",
    ),
    (
        "targets/unknown_key_user.yaml",
        Target,
        2,
        Some("3:39"),
        "unknown field `first_name`, expected one of email",
    ),
    (
        "targets/unknown_key_tls.yaml",
        Target,
        2,
        Some("2:24"),
        "unknown field `verify`, expected one of ca_cert, insecure",
    ),
    (
        "targets/unknown_key_timeouts.yaml",
        Target,
        2,
        Some("3:3"),
        "unknown field `request`, expected one of request_secs",
    ),
    // Rules beyond types
    (
        "plans/two_actions.yaml",
        Plan,
        2,
        Some("11:9"),
        "step has more than one action (`scim` and `http`)",
    ),
    (
        "plans/no_action.yaml",
        Plan,
        2,
        Some("11:9"),
        "step has no action",
    ),
    ("plans/no_steps.yaml", Plan, 2, Some("5:9"), "has no steps"),
    (
        "plans/assertion_two_checks.yaml",
        Plan,
        2,
        Some("11:9"),
        "has 2 checks; give one per assertion",
    ),
    (
        "plans/assertion_no_check.yaml",
        Plan,
        2,
        Some("11:9"),
        "checks nothing: add one of equals",
    ),
    (
        "plans/invalid_jsonpath.yaml",
        Plan,
        2,
        Some("11:9"),
        "invalid JSONPath `$[`",
    ),
    (
        "plans/bad_capture.yaml",
        Plan,
        2,
        Some("11:9"),
        "must be a JSONPath (`$.id`) or `header:Name`",
    ),
    (
        "plans/bad_capture_name.yaml",
        Plan,
        2,
        Some("11:9"),
        "invalid capture name `user id`",
    ),
    (
        "plans/json_and_body.yaml",
        Plan,
        2,
        Some("11:9"),
        "both `json` and `body`",
    ),
    (
        "plans/unknown_schema.yaml",
        Plan,
        2,
        Some("11:9"),
        "unknown resource kind \"Usr\"; valid kinds",
    ),
    (
        "plans/repeat_zero.yaml",
        Plan,
        2,
        Some("11:9"),
        "expected 1 to 1000",
    ),
    (
        "plans/login_on_scim_step.yaml",
        Plan,
        2,
        Some("11:9"),
        "apply to `saml:` steps",
    ),
    (
        "plans/unknown_authn_check.yaml",
        Plan,
        2,
        Some("11:9"),
        "unknown AuthnRequest check `acs-url`; expected one of",
    ),
    (
        "targets/two_auth_modes.yaml",
        Target,
        2,
        Some("5:5"),
        "more than one mode: expected one of `bearer`",
    ),
    (
        "targets/request_secs_zero.yaml",
        Target,
        2,
        Some("3:17"),
        "must be a positive number of seconds",
    ),
    // Templates and environment
    (
        "plans/unknown_placeholder.yaml",
        Plan,
        2,
        Some("11:9"),
        "unknown placeholder `{{random.emial}}`: expected one of random.email",
    ),
    (
        "plans/unknown_placeholder_header.yaml",
        Plan,
        2,
        Some("13:36"),
        "expected `| upper` or `| lower`",
    ),
    (
        "plans/unterminated_placeholder.yaml",
        Plan,
        2,
        Some("12:17"),
        "unterminated `{{`",
    ),
    (
        "plans/env_unset.yaml",
        Plan,
        2,
        Some("13:32"),
        "environment variable `OINSPECT_CORPUS_UNSET` is not set",
    ),
    (
        "plans/env_bad_syntax.yaml",
        Plan,
        2,
        Some("13:37"),
        "unknown interpolation `${TOKEN}`: expected `${env:NAME}`",
    ),
    (
        "plans/env_unterminated.yaml",
        Plan,
        2,
        Some("12:17"),
        "unterminated `${`",
    ),
    (
        "targets/env_unset.yaml",
        Target,
        2,
        Some("4:19"),
        "environment variable `OINSPECT_CORPUS_UNSET` is not set",
    ),
    (
        "targets/env_bad_syntax.yaml",
        Target,
        2,
        Some("4:19"),
        "unknown interpolation `${TOKEN}`",
    ),
    // URLs and files
    (
        "targets/url_ftp.yaml",
        Target,
        2,
        Some("3:13"),
        "invalid URL `ftp://acme.example/scim/v2`: expected an absolute http:// or https:// URL",
    ),
    (
        "targets/url_relative.yaml",
        Target,
        2,
        Some("3:13"),
        "invalid URL `/scim/v2`",
    ),
    (
        "targets/url_not_a_url.yaml",
        Target,
        2,
        Some("3:12"),
        "invalid URL `not a url`",
    ),
    (
        "targets/url_oauth_token.yaml",
        Target,
        2,
        Some("5:25"),
        "expected an absolute http:// or https:// URL",
    ),
    (
        "targets/missing_key_file.yaml",
        Target,
        2,
        Some("3:8"),
        "idp.key: cannot read",
    ),
    (
        "targets/missing_cert_file.yaml",
        Target,
        2,
        Some("3:9"),
        "idp.cert: cannot read",
    ),
    (
        "targets/missing_ca_file.yaml",
        Target,
        2,
        Some("3:12"),
        "tls.ca_cert: cannot read",
    ),
    // Ids and duplicates
    (
        "plans/duplicate_test_id.yaml",
        Plan,
        2,
        Some("12:9"),
        "duplicate test id `corpus.users.create` in this plan",
    ),
    (
        "plans/duplicate_yaml_key.yaml",
        Plan,
        2,
        Some("3:1"),
        "duplicate mapping key: title",
    ),
    (
        "targets/duplicate_yaml_key.yaml",
        Target,
        2,
        Some("4:3"),
        "duplicate mapping key: base_url",
    ),
    (
        "plans/invalid_test_id.yaml",
        Plan,
        2,
        Some("5:9"),
        "invalid test id `Scim Users`",
    ),
    (
        "plans/invalid_plan_id.yaml",
        Plan,
        2,
        Some("1:7"),
        "invalid plan id `Corpus Plan`",
    ),
    (
        "plans/empty_plan.yaml",
        Plan,
        2,
        Some("1:7"),
        "plan has no tests",
    ),
    // Hostile files
    (
        "plans/alias_bomb.yaml",
        Plan,
        2,
        Some("20:32"),
        "budget breached",
    ),
    (
        "targets/alias_bomb.yaml",
        Target,
        2,
        Some("8:18"),
        "expected string scalar",
    ),
    (
        "plans/deep_nesting.yaml",
        Plan,
        2,
        Some("11:305"),
        "recursion limit exceeded",
    ),
    (
        "plans/binary_nul.yaml",
        Plan,
        2,
        Some("2:12"),
        "NUL bytes: binary data, expected YAML text",
    ),
    (
        "targets/binary_nul.yaml",
        Target,
        2,
        Some("1:13"),
        "NUL bytes",
    ),
    (
        "plans/latin1.yaml",
        Plan,
        2,
        Some("2:11"),
        "not valid UTF-8 (first bad byte 0xe9",
    ),
    (
        "targets/latin1.yaml",
        Target,
        2,
        Some("3:24"),
        "not valid UTF-8",
    ),
    (
        "plans/bom_middle.yaml",
        Plan,
        2,
        Some("2:1"),
        "a BOM must not appear inside a document",
    ),
    ("targets/bom_middle.yaml", Target, 2, Some("2:1"), "BOM"),
    (
        "plans/directory.yaml",
        Plan,
        2,
        None,
        "is a directory, expected a YAML file",
    ),
    (
        "plans/directory.yaml",
        Target,
        2,
        None,
        "is a directory, expected a YAML file",
    ),
    (
        "plans/does-not-exist.yaml",
        Plan,
        2,
        None,
        "no such plan file or built-in plan",
    ),
    (
        "targets/does-not-exist.yaml",
        Target,
        2,
        None,
        "cannot read file",
    ),
];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("oinspect")
}

struct Outcome {
    code: Option<i32>,
    stderr: String,
    /// Peak resident set (VmHWM) seen while polling, in KiB.
    peak_kb: u64,
}

/// Runs the binary in `cwd`, killing it after [`TIMEOUT`], and polls its peak RSS.
fn run(cwd: &Path, args: &[&str]) -> Outcome {
    let err = tempfile::tempfile().unwrap();
    let mut child = Command::new(binary())
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("OINSPECT_CORPUS_UNSET")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err.try_clone().unwrap())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let started = Instant::now();
    let mut peak_kb = 0;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_path)
            && let Some(kb) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak_kb = peak_kb.max(kb);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`oinspect {}` did not finish within {TIMEOUT:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    use std::io::{Read, Seek};
    let mut err = err;
    err.rewind().unwrap();
    let mut stderr = String::new();
    err.read_to_string(&mut stderr).unwrap();
    Outcome {
        code: status.code(),
        stderr,
        peak_kb,
    }
}

fn validate(cwd: &Path, file: &str, kind: Kind) -> Outcome {
    match kind {
        Plan => run(cwd, &["validate", file]),
        Target => run(cwd, &["validate", "--target", file]),
    }
}

/// Checks one refusal; returns a description of what is wrong, if anything.
fn judge(
    label: &str,
    out: &Outcome,
    exit: i32,
    file: &str,
    at: Option<&str>,
    message: &str,
) -> Option<String> {
    let mut problems = Vec::new();
    if out.stderr.contains("panicked") {
        problems.push("panicked".to_string());
    }
    if out.code != Some(exit) {
        problems.push(format!("exit {:?}, expected {exit}", out.code));
    }
    if !out.stderr.contains(message) {
        problems.push(format!("no `{message}` in the message"));
    }
    if !out.stderr.contains("error: ") {
        problems.push("no `error: ` line".into());
    }
    match at {
        Some(at) => {
            let header = format!("--> {file}:{at}");
            if !out.stderr.lines().any(|l| l.trim() == header) {
                problems.push(format!("no `{header}`"));
            }
            let caret = out.stderr.lines().any(|l| {
                let l = l.trim();
                l.starts_with('|') && l.ends_with('^')
            });
            if !caret {
                problems.push("no caret line".into());
            }
            let line = at.split(':').next().unwrap();
            if !out
                .stderr
                .lines()
                .any(|l| l.starts_with(&format!("{line} | ")))
            {
                problems.push(format!("line {line} is not quoted"));
            }
        }
        None => {
            if !out.stderr.contains(&format!("--> {file}")) {
                problems.push(format!("no `--> {file}`"));
            }
        }
    }
    (!problems.is_empty()).then(|| format!("{label}: {}\n{}", problems.join("; "), out.stderr))
}

#[test]
fn every_corpus_file_is_refused_clearly() {
    let dir = corpus_dir();
    let mut failures = Vec::new();
    for &(file, kind, exit, at, message) in CASES {
        let out = validate(&dir, file, kind);
        if let Some(f) = judge(&format!("{file} ({kind:?})"), &out, exit, file, at, message) {
            failures.push(f);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_corpus_file_is_in_the_table() {
    let dir = corpus_dir();
    let mut files = 0;
    for sub in ["plans", "targets"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let name = format!("{sub}/{}", entry.unwrap().file_name().to_string_lossy());
            files += 1;
            assert!(
                CASES.iter().any(|c| c.0 == name) || name.starts_with("plans/dup_across_"),
                "{name} is not in CASES"
            );
        }
    }
    assert!(files >= 40, "{files} files");
}

#[test]
fn duplicate_test_id_across_two_plans() {
    let dir = corpus_dir();
    let out = run(
        &dir,
        &[
            "validate",
            "plans/dup_across_a.yaml",
            "plans/dup_across_b.yaml",
        ],
    );
    let problem = judge(
        "dup_across",
        &out,
        2,
        "plans/dup_across_b.yaml",
        Some("5:9"),
        "duplicate test id `corpus.users.create` (first defined at plans/dup_across_a.yaml:5:9)",
    );
    assert!(problem.is_none(), "{}", problem.unwrap_or_default());
}

#[test]
fn bad_glob_is_refused() {
    let dir = corpus_dir();
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("t.yaml");
    // Port 9 (discard): nothing may be sent, the glob is refused first.
    std::fs::write(
        &target,
        "name: t\nscim:\n  base_url: http://127.0.0.1:9/scim/v2\n  auth: { bearer: t }\n",
    )
    .unwrap();
    let out = run(
        &dir,
        &[
            "run",
            "scim-rfc",
            "--target",
            target.to_str().unwrap(),
            "--only",
            "a[b",
        ],
    );
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("invalid pattern `a[b`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("missing ']'"), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn generated_hostile_files_are_refused_in_bounded_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    // 50 MB of YAML-looking text, refused before it is read.
    let mut big = String::from("plan: big\ntitle: Big\ntests:\n");
    let line = "  # padding padding padding padding padding padding padding padding\n";
    while big.len() < 50 * 1024 * 1024 {
        big.push_str(line);
    }
    std::fs::write(dir.join("big.yaml"), &big).unwrap();
    drop(big);

    // Random bytes (a fixed xorshift stream, invalid UTF-8 and NULs included).
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let junk: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(dir.join("junk.yaml"), &junk).unwrap();

    let mut failures = Vec::new();
    for (file, kind, at, message, measure) in [
        (
            "big.yaml",
            Plan,
            None,
            "byte limit for plans and targets",
            true,
        ),
        (
            "big.yaml",
            Target,
            None,
            "byte limit for plans and targets",
            true,
        ),
        ("junk.yaml", Plan, Some(""), "not valid UTF-8", false),
        ("junk.yaml", Target, Some(""), "not valid UTF-8", false),
    ] {
        let out = validate(dir, file, kind);
        // The position of the first bad byte depends on the stream; only require one.
        let problem = match at {
            Some(_) => {
                let quoted = out.stderr.contains(&format!("--> {file}:"))
                    && out.stderr.lines().any(|l| l.trim().ends_with('^'));
                judge(file, &out, 2, file, None, message).or_else(|| {
                    (!quoted).then(|| format!("{file}: no position or caret\n{}", out.stderr))
                })
            }
            None => judge(file, &out, 2, file, None, message),
        };
        failures.extend(problem);
        if measure && out.peak_kb > MAX_RSS_KB {
            failures.push(format!("{file} ({kind:?}): peak RSS {} KiB", out.peak_kb));
        }
    }

    // The alias bomb, measured too.
    let out = validate(&corpus_dir(), "plans/alias_bomb.yaml", Plan);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    if out.peak_kb > MAX_RSS_KB {
        failures.push(format!("alias bomb: peak RSS {} KiB", out.peak_kb));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn key_that_does_not_match_its_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for d in [&a, &b] {
        let out = run(
            tmp.path(),
            &["idp", "init", "--ec", "--out", d.to_str().unwrap()],
        );
        assert_eq!(out.code, Some(0), "{}", out.stderr);
    }
    let target = tmp.path().join("crossed.yaml");
    std::fs::write(
        &target,
        "name: Crossed keys\nidp:\n  key: a/idp-key.pem\n  cert: b/idp-cert.pem\n",
    )
    .unwrap();
    let out = validate(tmp.path(), "crossed.yaml", Target);
    let problem = judge(
        "crossed keys",
        &out,
        2,
        "crossed.yaml",
        Some("3:8"),
        "the private key does not belong to the certificate",
    );
    assert!(problem.is_none(), "{}", problem.unwrap_or_default());
    // The same key and certificate together are fine.
    std::fs::write(
        &target,
        "name: Matching keys\nidp:\n  key: a/idp-key.pem\n  cert: a/idp-cert.pem\n",
    )
    .unwrap();
    let out = validate(tmp.path(), "crossed.yaml", Target);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}
