#!/usr/bin/env python3
"""A failing benchmark is recorded as failed, with its exit status, and the suite
goes on: real workloads made to fail (a bad argument, running past the time limit,
output without the expected figure), then one that passes, from a test-only list."""
import os
import subprocess
import sys
import tempfile

from tap import REPO_ROOT, Tap

import measure
import results

FAILING_LIST = os.path.join("scripts", "tests", "failing-benchmarks.txt")
# larson-overtime would run 600 s; the limit stops it long before. The passing
# benchmark takes milliseconds, a thousandfold margin under the limit.
TIME_LIMIT_S = 3
EXPECTED = {
    "cfrac-not-a-number": measure.FAILED_EXIT,
    "larson-overtime": measure.FAILED_TIMEOUT,
    "cache-scratch-as-larson": measure.FAILED_CHECK,
    "cache-scratch-tiny": measure.OK,
}
EXIT_SOME_RUNS_FAILED = 3
t = Tap()

with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "set")
    done = subprocess.run([sys.executable, "scripts/bench", "--benchmark-list", FAILING_LIST,
                           "-a", "sys", "--runs", "1", "--timeout", str(TIME_LIMIT_S), "--out", out],
                          cwd=REPO_ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    log = done.stdout + done.stderr
    t.equal(done.returncode, EXIT_SOME_RUNS_FAILED, "the suite finishes, exit status 3: some runs failed")
    rows = {r["benchmark"]: r for r in results.read_rows(out)}
    t.equal(list(rows), list(EXPECTED), "every benchmark ran, in order, after the failures", )
    for name, status in EXPECTED.items():
        row = rows.get(name, {})
        t.check(row.get("status") == status, f"{name}: recorded as {status}", row)
    row = rows.get("cfrac-not-a-number", {})
    t.check(isinstance(row.get("exit_status"), int) and row["exit_status"] != 0 and row.get("detail"),
            "a failed exit keeps its exit status and a detail", row)
    t.equal(rows.get("larson-overtime", {}).get("exit_status"), measure.TIMEOUT_EXIT_STATUS,
            "a timeout keeps timeout(1)'s exit status 124")
    t.check(all(r["time_s"] is None for n, r in rows.items() if EXPECTED[n] != measure.OK),
            "failed runs have no time (they cannot count in a median)")
    t.check(all(os.path.exists(os.path.join(out, r["raw"]) + ".stderr.txt") for r in rows.values()),
            "failed runs keep their raw output")
    with open(os.path.join(out, results.SUMMARY_TEXT_NAME)) as f:
        text = f.read()
    t.check(text.count("FAILED") == 3 and "cache-scratch-tiny" in text,
            "the summary shows the three failures and the passing run", text)
    t.check("FAILED (failed-timeout" in log, "the progress line says why a run failed", log)

t.close()
