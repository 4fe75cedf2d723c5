#!/usr/bin/env python3
"""SCIM benchmark: the built-in SCIM plans against the embedded reference server.

Builds the release binary, runs `oinspect demo --only 'scim-*'` (the three SCIM plans, --jobs 4)
several times and
prints wall time, HTTP request count (from the JSON report's evidence, plus cleanup) and the
peak resident memory of the oinspect process. The issue's target: total wall time < 0.5 s on
the 2-core CI machine.

    python3 bench/scim.py [--runs N]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=4)
    args = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    exe = os.path.join(ROOT, "target", "release", "oinspect")
    walls, runs, peaks, requests, tests = [], [], [], None, None
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "r.json")
        for i in range(args.runs):
            start = time.perf_counter()
            proc = subprocess.Popen(
                [exe, "demo", "--only", "scim-*", "--seed", str(i + 1), "--jobs", str(args.jobs),
                 "--json", report],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={**os.environ, "NO_COLOR": "1"},
            )
            # wait4 gives this child's own rusage: its peak RSS, not cargo's.
            _, status, usage = os.wait4(proc.pid, 0)
            walls.append(time.perf_counter() - start)
            peaks.append(usage.ru_maxrss)
            code = os.waitstatus_to_exitcode(status)
            if code != 0:
                print(f"run {i + 1}: oinspect exited {code}", file=sys.stderr)
                return 1
            with open(report) as f:
                data = json.load(f)
            requests = sum(len(t["evidence"]) for t in data["tests"]) + len(data["cleanup"]["removed"])
            runs.append(data["duration_ms"] / 1000)
            tests = len(data["tests"])
    print(f"plans: scim-okta, scim-entra, scim-rfc · tests: {tests} · jobs: {args.jobs} · runs: {args.runs}")
    print(f"the plans' run (first test to cleanup done): median {statistics.median(runs) * 1000:.0f} ms, "
          f"min {min(runs) * 1000:.0f} ms, max {max(runs) * 1000:.0f} ms")
    print(f"whole process: median {statistics.median(walls) * 1000:.0f} ms, "
          f"min {min(walls) * 1000:.0f} ms, max {max(walls) * 1000:.0f} ms "
          f"(adds process start and the reference app's start, mostly two RSA-2048 key generations)")
    print(f"HTTP requests per run: {requests} (test requests + cleanup deletes)")
    print(f"peak RSS of the oinspect process (client and reference app together): "
          f"max {max(peaks) / 1024:.1f} MiB over {args.runs} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
