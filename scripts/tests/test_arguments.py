#!/usr/bin/env python3
"""scripts/bench, plot and compare refuse bad arguments with a clear message and
exit status 2, before building or running anything."""
import os
import subprocess
import sys
import tempfile

from tap import REPO_ROOT, Tap

USAGE_ERROR = 2
t = Tap()


def run(*argv):
    done = subprocess.run([sys.executable, *argv], cwd=REPO_ROOT, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60)
    return done.returncode, done.stdout + done.stderr


def refused(argv, expected, what):
    status, out = run(*argv)
    t.check(status == USAGE_ERROR and all(e in out for e in expected),
            f"{' '.join(argv[:1])} {what}: exit {USAGE_ERROR}, says {' / '.join(expected)!r}",
            f"exit {status}\n{out}")


with tempfile.TemporaryDirectory() as tmp:
    occupied = os.path.join(tmp, "occupied")
    os.makedirs(occupied)
    open(os.path.join(occupied, "results.csv"), "w").close()
    bench = "scripts/bench"
    for args, expected, what in (
        (["-a", "nosuch"], ["unknown allocator 'nosuch'", "sa, sa-debug, sa-secure, sa-secure-full, sa-secure-without-double-free, sa-secure-without-encoded-lists, sa-secure-without-random-order, sa-secure-without-guard-pages, sa-secure-without-random-addresses, mi, tc, je, tbb, sys"], "an unknown allocator"),
        (["-b", "nosuch"], ["unknown benchmark 'nosuch'", "cfrac", "larsonN"], "an unknown benchmark"),
        (["-a", "sa:PURGE"], ["bad variant setting 'PURGE'", "VAR=VALUE"], "a variant without VAR=VALUE"),
        (["-a", "zz:X=1"], ["unknown allocator 'zz'"], "a variant of an unknown allocator"),
        (["-a", "no-sa,no-sa-secure,no-mi,no-tc,no-je,no-tbb,no-sys"], ["leaves no allocator"], "an empty selection"),
        (["--runs", "0"], ["--runs", "at least 1"], "zero runs"),
        (["--runs", "many"], ["--runs", "whole number"], "a non-number"),
        (["--warmup", "-1"], ["--warmup", "at least 0"], "negative warm-up"),
        (["--threads", "0"], ["--threads", "at least 1"], "zero threads"),
        (["--threads", "1,x"], ["--threads", "whole number"], "a thread list with a non-number"),
        (["--threads", "2,2"], ["--threads", "repeated"], "a repeated thread count"),
        (["--variants", "/nonexistent"], ["variants file"], "a missing variants file"),
        (["--machine", "a b"], ["--machine"], "a machine name with a space"),
        (["--timeout", "0"], ["--timeout", "at least 1"], "a zero time limit"),
        (["--quick", "--full"], ["not allowed with"], "both modes"),
        (["-a", "sa,sys", "--baseline", "mi"], ["--baseline 'mi'", "sa, sys"], "a baseline not chosen"),
        (["--out", occupied], ["not empty"], "an --out folder with results in it"),
        (["--frobnicate"], ["unrecognized arguments"], "an unknown option"),
    ):
        refused([bench, *args], expected, what)

    status, out = run(bench, "--list")
    t.check(status == 0 and all(name in out for name in ("sa", "tbb", "cfrac", "xmalloc-testN")),
            "scripts/bench --list names the allocators and benchmarks", out)
    status, out = run(bench, "--help")
    t.check(status == 0 and "--allocators" in out and "--full" in out, "scripts/bench --help", out)

    refused(["scripts/plot", tmp], ["not a results set"], "a folder that is not a results set")
    refused(["scripts/compare", tmp, tmp], ["not a results set"], "a folder that is not a results set")
    refused(["scripts/compare", tmp], ["required"], "one set only")
    refused(["scripts/merge", "--out", os.path.join(tmp, "m"), tmp, tmp], ["not a results set"],
            "folders that are not results sets")
    refused(["scripts/device-run", "run", "--budget", "0"], ["at least 1"], "a zero budget")

t.close()
