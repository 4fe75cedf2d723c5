//! Opt-in (`#[ignore]`): the HTML report of a `demo --break` run whose SAML defence is off,
//! opened in a real headless Chromium (Debian's package, which `.ci/install-peers` installs and
//! names in `OINSPECT_CHROMIUM`). The DOM Chromium built must hold the failing test (picked
//! from the JSON report of the same run, not hard-coded) and its decoded SAML Response, and a
//! screenshot must show a page (a real PNG, of some size, not one flat colour).
//!
//! Run: `bash .ci/install-peers && source target/peers/env && cargo test --test html_report_browser -- --ignored`

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;

fn chromium() -> PathBuf {
    std::env::var_os("OINSPECT_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Runs Chromium headless on `url` with `extra` flags; stdout, within `limit`.
fn run_chromium(profile: &Path, extra: &[String], url: &str, limit: Duration) -> String {
    let mut child = Process::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {} ({e}): run `bash .ci/install-peers && source target/peers/env`",
                chromium().display()
            )
        });
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("waiting for chromium") {
            assert!(status.success(), "chromium exited with {status}");
            break;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().expect("reader thread")
}

/// Pixels of an 8-bit RGB or RGBA PNG (the kinds Chromium writes), unfiltered.
fn png_pixels(bytes: &[u8]) -> (u32, u32, usize, Vec<u8>) {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let mut pos = 8;
    let (mut width, mut height, mut channels) = (0u32, 0u32, 0usize);
    let mut idat = Vec::new();
    while pos + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        let kind = &bytes[pos + 4..pos + 8];
        let data = &bytes[pos + 8..pos + 8 + len];
        match kind {
            b"IHDR" => {
                width = u32::from_be_bytes(data[0..4].try_into().unwrap());
                height = u32::from_be_bytes(data[4..8].try_into().unwrap());
                assert_eq!(data[8], 8, "bit depth");
                channels = match data[9] {
                    2 => 3,
                    6 => 4,
                    other => panic!("colour type {other}"),
                };
                assert_eq!(data[12], 0, "not interlaced");
            }
            b"IDAT" => idat.extend_from_slice(data),
            _ => {}
        }
        pos += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .expect("IDAT inflates");
    let stride = width as usize * channels;
    let mut pixels = vec![0u8; stride * height as usize];
    for y in 0..height as usize {
        let filter = raw[y * (stride + 1)];
        let line = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
        for x in 0..stride {
            let a = if x >= channels {
                pixels[y * stride + x - channels]
            } else {
                0
            };
            let b = if y > 0 {
                pixels[(y - 1) * stride + x]
            } else {
                0
            };
            let c = if x >= channels && y > 0 {
                pixels[(y - 1) * stride + x - channels]
            } else {
                0
            };
            let predicted = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => {
                    let p = i16::from(a) + i16::from(b) - i16::from(c);
                    let (pa, pb, pc) = (
                        (p - i16::from(a)).abs(),
                        (p - i16::from(b)).abs(),
                        (p - i16::from(c)).abs(),
                    );
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                other => panic!("PNG filter {other}"),
            };
            pixels[y * stride + x] = line[x].wrapping_add(predicted);
        }
    }
    (width, height, channels, pixels)
}

fn oinspect() -> Command {
    let mut cmd = Command::cargo_bin("oinspect").expect("binary is built by cargo test");
    cmd.env("CI", "true")
        .env_remove("OINSPECT_SEED")
        .timeout(Duration::from_secs(300));
    cmd
}

/// The demo run to render: the saml-security plan with the wrapping defence off when the
/// plan exists, else a break that makes the SP-initiated login fail.
fn demo_args() -> Vec<&'static str> {
    let list = oinspect().arg("list").output().unwrap();
    let listed = String::from_utf8_lossy(&list.stdout).into_owned();
    if listed.lines().any(|l| l.starts_with("saml-security ")) {
        vec![
            "--break",
            "saml-signature-unbound",
            "--only",
            "saml-security*",
        ]
    } else {
        vec![
            "--break",
            "saml-wrong-idp-cert",
            "--only",
            "saml-sp-initiated",
        ]
    }
}

#[test]
#[ignore = "needs Chromium: bash .ci/install-peers && source target/peers/env"]
fn html_report_opens_in_chromium_with_the_failing_test_and_its_decoded_saml() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("r.html");
    let json = dir.path().join("r.json");
    let out = oinspect()
        .arg("demo")
        .args(demo_args())
        .arg("--html")
        .arg(&html)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the break makes a required test fail:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let failing = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| {
            t["outcome"] == "fail"
                && t["evidence"].as_array().unwrap().iter().any(|e| {
                    e["request"]["start_line"]
                        .as_str()
                        .is_some_and(|s| s.starts_with("(decoded) SAML Response"))
                })
        })
        .and_then(|t| t["id"].as_str())
        .expect("a failed test with a decoded SAML Response")
        .to_string();

    let url = format!("file://{}", html.display());
    let profile = tempfile::tempdir().unwrap();
    let dom = run_chromium(
        profile.path(),
        &["--dump-dom".to_string()],
        &url,
        Duration::from_secs(120),
    );
    assert!(dom.contains("</html>"), "a whole DOM: {} bytes", dom.len());
    let anchor = format!("id=\"test-{failing}\"");
    let at = dom
        .find(&anchor)
        .unwrap_or_else(|| panic!("the DOM lacks the failing test {failing}"));
    let section_end = dom[at..].find("</details>").map_or(dom.len(), |e| at + e);
    let section = &dom[at..section_end];
    assert!(section.contains(" open"), "a failure is shown expanded");
    for needle in [
        "saml:Assertion",
        "NameID",
        "signed by signature #",
        "SHA-256",
    ] {
        assert!(
            section.contains(needle),
            "the failing test's section lacks `{needle}`"
        );
    }
    assert!(dom.contains("required tests failed"));

    let shot = dir.path().join("r.png");
    run_chromium(
        profile.path(),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,1600".to_string(),
            "--hide-scrollbars".to_string(),
        ],
        &url,
        Duration::from_secs(120),
    );
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert!(
        png.len() > 20_000,
        "a page, not a blank: {} bytes",
        png.len()
    );
    let (w, h, channels, pixels) = png_pixels(&png);
    assert_eq!((w, h), (1280, 1600));
    let mut colours = std::collections::BTreeSet::new();
    for px in pixels.chunks(channels) {
        colours.insert((px[0], px[1], px[2]));
        if colours.len() > 64 {
            break;
        }
    }
    assert!(
        colours.len() > 64,
        "only {} colours: a blank page?",
        colours.len()
    );
    // The FAIL badge's red is on screen.
    assert!(
        pixels
            .chunks(channels)
            .any(|px| px[0] > 150 && px[1] < 70 && px[2] < 70),
        "no red FAIL badge in the screenshot"
    );
}
