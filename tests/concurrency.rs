//! `--jobs` changes speed, never verdicts: the same outcomes with 1 and 16 jobs across
//! seeds, so no test depends on another's leftovers or timing.

use std::collections::BTreeMap;

use assert_cmd::Command;

fn outcomes(seed: u32, jobs: u32) -> BTreeMap<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let out = Command::cargo_bin("oinspect")
        .unwrap()
        .args([
            "demo",
            "--seed",
            &seed.to_string(),
            "--jobs",
            &jobs.to_string(),
            "--json",
        ])
        .arg(&json)
        .env("NO_COLOR", "1")
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "seed {seed} jobs {jobs}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn sixteen_jobs_and_one_job_agree_across_seeds() {
    for seed in 1..=10 {
        assert_eq!(outcomes(seed, 16), outcomes(seed, 1), "seed {seed}");
    }
}
