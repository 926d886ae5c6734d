#!/usr/bin/env python3
"""How a run is classified (ok, failed exit, crash, timeout, bad output) and how GNU
time's report is parsed; then the measuring chain itself (hyperfine, GNU time,
timeout) on tiny shell commands, so each failure kind is seen through the real tools.
The workloads' own end-to-end runs are in test_end_to_end.py and test_failures.py."""
import os
import tempfile

from tap import Tap

import measure
import readers

t = Tap()
LIMIT_S = 10

# classify(): exit code as hyperfine saw it, GNU time's notes, wall time, limit.
cases = (
    ("a clean exit", 0, "maxrss_kib=100\n", 1.0, measure.OK, 0),
    ("a non-zero exit", 3, "Command exited with non-zero status 3\n", 1.0, measure.FAILED_EXIT, 3),
    ("a crash", 139, "Command terminated by signal 11\n", 1.0, measure.FAILED_SIGNAL, 139),
    ("timeout(1)'s 124 at the limit", 124, "Command exited with non-zero status 124\n", LIMIT_S,
     measure.FAILED_TIMEOUT, 124),
    ("a program's own 124 before the limit", 124, "Command exited with non-zero status 124\n", 1.0,
     measure.FAILED_EXIT, 124),
    ("SIGKILL after the grace period", 137, "Command terminated by signal 9\n", LIMIT_S + 5,
     measure.FAILED_TIMEOUT, 137),
    ("SIGKILL before the limit (the OOM killer)", 137, "Command terminated by signal 9\n", 1.0,
     measure.FAILED_SIGNAL, 137),
    ("SIGKILL after the grace period, passed on as 137", 137,
     "Command exited with non-zero status 137\n", LIMIT_S + 5, measure.FAILED_TIMEOUT, 137),
    ("an abort passed on as 134", 134, "Command exited with non-zero status 134\n", 1.0,
     measure.FAILED_SIGNAL, 134),
)
for what, code, notes, wall_s, status, exit_status in cases:
    m = measure.classify(code, notes, wall_s, LIMIT_S)
    t.equal((m.status, m.exit_status), (status, exit_status), f"classify: {what}")
t.check("SIGSEGV" in measure.classify(139, "Command terminated by signal 11", 1.0, LIMIT_S).detail,
        "classify: a crash names its signal")

rusage = measure.parse_rusage("Command exited with non-zero status 1\nuser_s=0.52\nsys_s=0.03\n"
                              "maxrss_kib=3120\nminor_faults=811\nmajor_faults=0\n"
                              "voluntary_switches=2\ninvoluntary_switches=14\n")
t.equal(rusage, {"user_s": 0.52, "sys_s": 0.03, "maxrss_kib": 3120, "minor_faults": 811,
                 "major_faults": 0, "voluntary_switches": 2, "involuntary_switches": 14},
        "parse_rusage: GNU time's key=value lines")

# The chain on real processes. sh stands in for a workload here; only its exit matters.
elapsed = readers.READERS["elapsed"]
larson = readers.READERS["larson"]
with tempfile.TemporaryDirectory() as tmp:
    def run(name, script, reader=elapsed, timeout_s=LIMIT_S, warmup=0):
        files = measure.RunFiles(os.path.join(tmp, name, "run-1"))
        return measure.measure(name, ["sh", "-c", script], None, (("HARNESS_TEST", "1"),),
                               files, warmup, timeout_s, reader), files

    m, files = run("ok", 'echo "Throughput = 2000 operations per second, x"; '
                         'test "$HARNESS_TEST" = 1', reader=larson, warmup=1)
    t.equal(m.status, measure.OK, "measure: a passing run is ok (variant settings reach it)")
    t.check(m.reading and m.reading.figure == 2000.0, "measure: its figure is read from stdout", m)
    t.check(m.wall_s > 0 and m.rusage.get("maxrss_kib", 0) > 0 and "minor_faults" in m.rusage,
            "measure: wall time, peak RSS and faults are recorded", m)
    t.check(all(os.path.exists(p) for p in (files.stdout, files.stderr, files.rusage,
                                            files.hyperfine_json, files.hyperfine_log)),
            "measure: the raw files are kept")
    m, _ = run("exit", "echo broken >&2; exit 3")
    t.equal((m.status, m.exit_status), (measure.FAILED_EXIT, 3), "measure: a non-zero exit fails")
    t.check("broken" in m.detail, "measure: the failure's detail quotes stderr", m.detail)
    m, _ = run("crash", "kill -SEGV $$")
    t.equal((m.status, m.exit_status), (measure.FAILED_SIGNAL, 139), "measure: a crash is caught")
    m, _ = run("hang", "exec sleep 60", timeout_s=1)
    t.equal(m.status, measure.FAILED_TIMEOUT, "measure: a run past its limit times out")
    m, _ = run("silent", "true", reader=larson)
    t.equal(m.status, measure.FAILED_CHECK, "measure: a run without its figure fails its check")

    # The caller's allocator variables never reach a run; the variant's settings do.
    leaked = {"SHARDALLOC_PURGE_DELAY": "0", "MIMALLOC_VERBOSE": "1", "MALLOC_CONF": "junk:1",
              "TCMALLOC_X": "1", "GLIBC_TUNABLES": "glibc.malloc.tcache_count=0",
              "LD_PRELOAD": "/nonexistent.so", "MALLOC_ARENA_MAX": "1"}
    saved = dict(os.environ)
    os.environ.update(leaked)
    try:
        t.equal(measure.removed_variables(), sorted(leaked), "removed_variables names the caller's")
        m, files = run("scrubbed", "env")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    with open(files.stdout) as f:
        seen = f.read()
    t.check(m.status == measure.OK and not any(k + "=" in seen for k in leaked) and "HARNESS_TEST=1" in seen,
            "measure: the run's environment has none of the caller's allocator variables, "
            "only its own settings", seen)

    # RSS over time: a program that holds 64 MiB for half a second.
    files = measure.RunFiles(os.path.join(tmp, "rss", "run-1"))
    hold = "import time; x = bytearray(64 << 20); time.sleep(0.5)"
    m = measure.measure("rss", ["python3", "-c", hold], None, (), files, 0, LIMIT_S, elapsed)
    samples = open(files.rss_samples).read().splitlines() if os.path.exists(files.rss_samples) else []
    t.check(m.status == measure.OK and m.rusage.get("rss_samples", 0) >= 10
            and m.rusage.get("rss_mean_kib", 0) > 40 * 1024 and m.rusage.get("rss_final_kib", 0) > 0
            and m.rusage["rss_mean_kib"] <= m.rusage["maxrss_kib"]
            and max(int(line.split(",")[1]) for line in samples[1:]) > 60 * 1024,
            "measure: RSS is sampled: mean and final beside the peak", m.rusage)
    t.check(samples[:1] == ["t_s,rss_kib"] and len(samples) == m.rusage.get("rss_samples", -1) + 1,
            "measure: the samples are kept in run-1.rss.csv", samples[:3])
    m = measure.measure("rss-off", ["python3", "-c", "pass"], None, (), measure.RunFiles(
        os.path.join(tmp, "rss-off", "run-1")), 0, LIMIT_S, elapsed, rss_interval_s=0)
    t.check("rss_samples" not in m.rusage, "measure: --rss-interval 0 samples nothing", m.rusage)
    m = measure.measure("pinned", ["sh", "-c", "taskset -p $$"], None, (), measure.RunFiles(
        os.path.join(tmp, "pinned", "run-1")), 0, LIMIT_S, elapsed, cpus="0")
    with open(os.path.join(tmp, "pinned", "run-1.stdout.txt")) as f:
        mask = f.read()
    t.check(m.status == measure.OK and mask.strip().endswith(": 1"), "measure: --pin runs under taskset", mask)

t.close()
