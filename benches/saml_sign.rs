//! Benchmarks: signed SAML Responses per second on one core.
//!
//! Run with `cargo bench --bench saml_sign` (release profile). It is a plain program
//! (`harness = false`), not a timed test: it prints figures and never fails on them.
//!
//! What it measures, single-threaded, each after a warm-up and for a fixed time
//! (`SAML_BENCH_SECS`, default 3 s):
//! - `response::build_signed` with RSA-2048, exclusive c14n, SHA-256, for a realistic Response
//!   (InResponseTo, a few attributes, certificate in KeyInfo), Assertion signed and Both
//!   (Assertion, then Response) signed;
//! - raw RSA-2048 SHA-256 signatures in-process (the openssl crate's `Signer`, a fresh one
//!   per signature, as our signing code does) and `openssl speed -seconds 3 -multi 1 rsa2048`
//!   (its `sign/s`) when the `openssl` CLI is on PATH, in the same run;
//! - a per-phase breakdown of one Assertion-signed Response: build, c14n + digest, RSA sign,
//!   serialize, and the rest of `sign_enveloped` (key/certificate checks, KeyInfo, skeleton,
//!   ID lookup) as the remainder.
//!
//! Target: Assertion-signed responses/s ≥ 0.8 × the raw RSA signs/s (and, for Both, signatures
//! per second ≥ 0.8 × the raw rate), i.e. everything but the RSA private-key operation costs at
//! most a quarter of it. Other processes on the machine (compilers!) skew every figure; the
//! load average is printed before and after so a reader can judge.
//!
//! Without `--bench` (e.g. `cargo test --benches`) it runs a short smoke pass instead.

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use openssl::hash::{MessageDigest, hash};
use openssl::sign::Signer;

use oinspect::saml::c14n::{self, C14nMethod, C14nOptions};
use oinspect::saml::dsig::{self, DSIG_NS};
use oinspect::saml::idp::{IdpIdentity, KeyKind};
use oinspect::saml::response::{self, ResponseSpec, SignMode, new_id};
use oinspect::saml::xml::{Document, NodePath};

const ISSUER: &str = "https://idp.example.com/saml/metadata";
const ACS: &str = "https://sp.example.com/saml/acs";
const AUDIENCE: &str = "https://sp.example.com/saml/metadata";

struct Config {
    warmup: Duration,
    /// Measured time per workload.
    measure: Duration,
    /// Length of one turn of a workload in the round robin.
    slice: Duration,
    run_cli: bool,
}

/// Something to count calls of.
struct Workload<'a> {
    f: Box<dyn FnMut() + 'a>,
    calls: u64,
    time: Duration,
}

impl<'a> Workload<'a> {
    fn new(f: impl FnMut() + 'a) -> Workload<'a> {
        Workload {
            f: Box::new(f),
            calls: 0,
            time: Duration::ZERO,
        }
    }

    /// Calls `f` for at least `d`; returns (calls, elapsed).
    fn run_for(&mut self, d: Duration) -> (u64, Duration) {
        let start = Instant::now();
        let mut n = 0;
        loop {
            (self.f)();
            n += 1;
            let elapsed = start.elapsed();
            if elapsed >= d {
                return (n, elapsed);
            }
        }
    }

    fn per_second(&self) -> f64 {
        self.calls as f64 / self.time.as_secs_f64()
    }
}

/// Warms every workload up, then runs them round robin in turns of `cfg.slice` until each has
/// run for `cfg.measure`. Interleaving matters on a shared machine: a burst of load from
/// other processes then slows every workload alike instead of skewing one figure, so the
/// ratios between them stay meaningful.
fn measure_interleaved(cfg: &Config, workloads: &mut [Workload<'_>]) {
    for w in workloads.iter_mut() {
        w.run_for(cfg.warmup);
    }
    let rounds = (cfg.measure.as_secs_f64() / cfg.slice.as_secs_f64())
        .ceil()
        .max(1.0) as u32;
    for _ in 0..rounds {
        for w in workloads.iter_mut() {
            let (n, t) = w.run_for(cfg.slice);
            w.calls += n;
            w.time += t;
        }
    }
}

fn spec(sign: SignMode) -> ResponseSpec {
    let mut s = ResponseSpec::new(ISSUER, ACS, AUDIENCE, "alice@example.com");
    s.in_response_to = Some(new_id());
    s.sign = sign;
    s.attributes = vec![
        ("email".into(), vec!["alice@example.com".into()]),
        ("givenName".into(), vec!["Alice".into()]),
        ("sn".into(), vec!["Liddell".into()]),
        ("displayName".into(), vec!["Alice Liddell".into()]),
        (
            "groups".into(),
            vec!["engineering".into(), "admins".into(), "vpn-users".into()],
        ),
    ];
    s
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| {
            let f: Vec<&str> = s.split_whitespace().take(3).collect();
            (f.len() == 3).then(|| f.join(" "))
        })
        .unwrap_or_else(|| "unknown".into())
}

/// `sign/s` of `openssl speed -seconds 3 -multi 1 rsa2048`, if the CLI runs.
fn openssl_speed_cli() -> Result<f64, String> {
    let out = Command::new("openssl")
        .args(["speed", "-seconds", "3", "-multi", "1", "rsa2048"])
        .output()
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("openssl speed exited with {}", out.status));
    }
    parse_openssl_speed(&stdout).ok_or_else(|| "no rsa 2048 sign/s figure in the output".into())
}

/// Finds the `sign/s` column of the `rsa 2048 bits` row. The header names the columns
/// (`sign verify sign/s verify/s`, and more in newer versions); the row's values after
/// `bits` line up with them. Falls back to the `+F2:…:2048:sign/s:verify/s` line that
/// `-multi` children report.
fn parse_openssl_speed(out: &str) -> Option<f64> {
    let mut column = None;
    for line in out.lines() {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        if let Some(i) = tokens.iter().position(|t| *t == "sign/s") {
            column = Some(i);
            continue;
        }
        if let (Some(col), Some(bits)) = (column, tokens.iter().position(|t| *t == "bits"))
            && tokens.first() == Some(&"rsa")
            && tokens.get(bits.wrapping_sub(1)) == Some(&"2048")
            && let Some(v) = tokens.get(bits + 1 + col).and_then(|v| v.parse().ok())
        {
            return Some(v);
        }
    }
    out.lines().find_map(|line| {
        let rest = line.split_once("+F2:")?.1;
        let f: Vec<&str> = rest.split(':').collect();
        (f.get(1) == Some(&"2048")).then(|| f.get(2)?.trim().parse().ok())?
    })
}

/// The parser against the output shapes of OpenSSL 3.0 and newer (checked on every run: a
/// harness-less bench has no `#[test]`s).
fn check_openssl_speed_parser() {
    let v30 = "Got: +F2:2:2048:4117.333333:60260.666667 from 0\n\
               version: 3.0.19\n                  sign    verify    sign/s verify/s\n\
               rsa 2048 bits 0.000243s 0.000017s   4117.3  60260.7\n";
    assert_eq!(parse_openssl_speed(v30), Some(4117.3));
    let only_multi = "Got: +F2:2:2048:4117.5:60260.6 from 0\n";
    assert_eq!(parse_openssl_speed(only_multi), Some(4117.5));
    let newer = "                   sign    verify    encrypt   decrypt   sign/s verify/s  encr./s  decr./s\n\
                 rsa  2048 bits 0.000700s 0.000020s 0.000021s 0.000709s   1428.6  50000.0  47619.0   1410.4\n";
    assert_eq!(parse_openssl_speed(newer), Some(1428.6));
}

fn main() {
    check_openssl_speed_parser();
    let bench = std::env::args().any(|a| a == "--bench");
    let secs: f64 = std::env::var("SAML_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let cfg = if bench {
        Config {
            warmup: Duration::from_millis(300),
            measure: Duration::from_secs_f64(secs),
            slice: Duration::from_millis(100),
            run_cli: true,
        }
    } else {
        Config {
            warmup: Duration::from_millis(5),
            measure: Duration::from_millis(20),
            slice: Duration::from_millis(10),
            run_cli: false,
        }
    };

    let idp = IdpIdentity::generate(ISSUER, "https://idp.example.com/saml/sso", KeyKind::Rsa2048)
        .expect("generate RSA-2048 IdP");
    let assertion_spec = spec(SignMode::Assertion);
    let both_spec = spec(SignMode::Both);

    // Sanity: what we time is a valid, verifiable Response.
    for s in [&assertion_spec, &both_spec] {
        let xml = response::build_signed(s, &idp).expect("sign");
        let doc = Document::parse(&xml).expect("parse signed");
        let refs = dsig::verify(&doc, std::slice::from_ref(&idp.cert)).expect("verify");
        let want = if s.sign == SignMode::Both { 2 } else { 1 };
        assert_eq!(refs.len(), want, "signature count");
    }
    let sample = response::build_signed(&assertion_spec, &idp).expect("sign");

    println!("saml_sign benchmark (RSA-2048, exclusive c14n, SHA-256, single thread)");
    println!(
        "  {} s per figure, interleaved in {} ms turns, after {} ms warm-up each;",
        cfg.measure.as_secs_f64(),
        cfg.slice.as_millis(),
        cfg.warmup.as_millis(),
    );
    println!(
        "  signed Response: {} bytes, {} attributes, certificate in KeyInfo",
        sample.len(),
        assertion_spec.attributes.len()
    );
    if !bench {
        println!(
            "  SMOKE RUN (no --bench): short figures, possibly unoptimized; use `cargo bench --bench saml_sign`"
        );
    }
    println!("  load average before: {}", load_average());

    // --- Setup for the per-phase workloads ------------------------------------------------
    let signed = Document::parse(&sample).expect("parse sample");
    let assertion_path = signed
        .find_by_id(&assertion_spec.assertion_id)
        .unwrap()
        .expect("assertion");
    let assertion = signed.get(&assertion_path).unwrap();
    let (sig_index, _) = assertion
        .indexed_child_elements()
        .find(|(_, e)| e.is(DSIG_NS, "Signature"))
        .expect("signature");
    let sig_path = assertion_path.child(sig_index);
    let signed_info_path: NodePath = sig_path.child(0);
    let exclusive = |exclude| C14nOptions {
        method: C14nMethod::EXCLUSIVE,
        inclusive_prefixes: &[],
        exclude,
    };
    let signed_info_c14n =
        c14n::canonicalize(&signed, &signed_info_path, &exclusive(None)).unwrap();
    let message = [0x5au8; 32];

    let mut workloads = vec![
        // 0: whole Response, Assertion signed
        Workload::new(|| {
            black_box(response::build_signed(black_box(&assertion_spec), &idp).unwrap());
        }),
        // 1: whole Response, Assertion then Response signed
        Workload::new(|| {
            black_box(response::build_signed(black_box(&both_spec), &idp).unwrap());
        }),
        // 2: raw RSA over a digest-sized message (a fresh Signer each time, as we sign)
        Workload::new(|| {
            let mut s = Signer::new(MessageDigest::sha256(), &idp.key).unwrap();
            s.update(black_box(&message)).unwrap();
            black_box(s.sign_to_vec().unwrap());
        }),
        // 3: phase: build
        Workload::new(|| {
            black_box(response::build(black_box(&assertion_spec)));
        }),
        // 4: phase: c14n of the Assertion (signature cut out) + SHA-256, c14n of SignedInfo
        Workload::new(|| {
            let sig = signed.get(&sig_path).unwrap();
            let canonical =
                c14n::canonicalize(&signed, &assertion_path, &exclusive(Some(sig))).unwrap();
            black_box(hash(MessageDigest::sha256(), canonical.as_bytes()).unwrap());
            black_box(c14n::canonicalize(&signed, &signed_info_path, &exclusive(None)).unwrap());
        }),
        // 5: phase: RSA signature over the real SignedInfo
        Workload::new(|| {
            let mut s = Signer::new(MessageDigest::sha256(), &idp.key).unwrap();
            s.update(black_box(signed_info_c14n.as_bytes())).unwrap();
            black_box(s.sign_to_vec().unwrap());
        }),
        // 6: phase: serialize
        Workload::new(|| {
            black_box(black_box(&signed).to_xml());
        }),
    ];
    measure_interleaved(&cfg, &mut workloads);
    let rates: Vec<f64> = workloads.iter().map(Workload::per_second).collect();
    drop(workloads);
    let [
        assertion_rate,
        both_rate,
        rsa_rate,
        build_rate,
        c14n_rate,
        sign_rate,
        serialize_rate,
    ] = rates[..]
    else {
        unreachable!("seven workloads")
    };

    // --- openssl speed, same run -----------------------------------------------------------
    let cli = if cfg.run_cli {
        Some(openssl_speed_cli())
    } else {
        None
    };
    let load_after = load_average();

    // --- Report ------------------------------------------------------------------------------
    println!();
    println!("  signed Responses/s, Assertion signed:   {assertion_rate:>9.1}");
    println!(
        "  signed Responses/s, Both signed:        {both_rate:>9.1}   ({:.1} signatures/s)",
        2.0 * both_rate
    );
    println!("  raw RSA-2048 SHA-256 signs/s, in-process (openssl crate Signer): {rsa_rate:>9.1}");
    let cli_rate = match &cli {
        Some(Ok(v)) => {
            println!(
                "  raw RSA-2048 signs/s, `openssl speed -seconds 3 -multi 1 rsa2048`: {v:>9.1}"
            );
            Some(*v)
        }
        Some(Err(e)) => {
            println!("  raw RSA-2048 signs/s, `openssl speed`: not measured ({e})");
            None
        }
        None => {
            println!("  raw RSA-2048 signs/s, `openssl speed`: skipped (smoke run, no --bench)");
            None
        }
    };

    println!();
    println!("  ratios (target >= 0.80):");
    let verdict = |r: f64| if r >= 0.8 { "ok" } else { "BELOW TARGET" };
    let ratio_line = |what: &str, against: &str, base: f64| {
        let a = assertion_rate / base;
        let b = 2.0 * both_rate / base;
        println!(
            "    vs {against:<10} Assertion: {a:.3} ({})   Both, per signature: {b:.3} ({})   [{what}]",
            verdict(a),
            verdict(b)
        );
    };
    ratio_line("openssl crate Signer, same process", "in-process", rsa_rate);
    if let Some(c) = cli_rate {
        ratio_line("openssl speed CLI", "CLI", c);
    }

    println!();
    println!("  per-phase breakdown of one Assertion-signed Response (µs):");
    let us = |r: f64| 1e6 / r;
    let total = us(assertion_rate);
    let phases = [
        ("build (response::build)", us(build_rate)),
        (
            "c14n + SHA-256 (Assertion) + c14n (SignedInfo)",
            us(c14n_rate),
        ),
        ("RSA sign (Signer over SignedInfo)", us(sign_rate)),
        ("serialize (Document::to_xml)", us(serialize_rate)),
    ];
    let accounted: f64 = phases.iter().map(|(_, t)| t).sum();
    for (name, t) in phases {
        println!("    {name:<48} {t:>8.1}   {:>5.1}%", 100.0 * t / total);
    }
    let rest = total - accounted;
    println!(
        "    {:<48} {rest:>8.1}   {:>5.1}%",
        "rest of sign_enveloped (checks, KeyInfo, ...)",
        100.0 * rest / total
    );
    println!("    {:<48} {total:>8.1}", "total per Response");
    println!();
    println!("  load average after: {load_after}");
}
