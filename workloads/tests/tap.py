"""tap.py: the little the workload tests share: run a program, report TAP lines.

scripts/test counts each `ok - ...` / `not ok - ...` line as one check, and a
non-zero exit as one more failure; every test script ends with tap.finish().
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build", "workloads")
# Generous per-run limit: a hung workload must fail its test, not stall the suite.
RUN_TIMEOUT_S = 60

_failures = 0


def program(name):
    """Path of a built workload; fails loudly when it has not been built."""
    path = os.path.join(BUILD, name)
    if not os.path.exists(path):
        sys.exit(f"{path} is missing: build it first (ninja)")
    return path


def run(args, env_extra=None):
    """Run a command; returns (exit status, stdout, stderr) as text."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)  # the workloads are tested on the system malloc
    if env_extra:
        env.update(env_extra)
    try:
        r = subprocess.run(args, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                           env=env, stdin=subprocess.DEVNULL)
        return r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired:
        return "timeout", "", f"timed out after {RUN_TIMEOUT_S}s"


def check(passed, what, detail=""):
    """Print one TAP line; on failure also the detail that explains it."""
    global _failures
    print(f"{'ok' if passed else 'not ok'} - {what}", flush=True)
    if not passed:
        _failures += 1
        for line in str(detail).strip().splitlines()[-10:]:
            print(f"#   {line}", flush=True)


def check_rejects(args, what, program_name, expect_status=None):
    """A bad command line must exit non-zero (expect_status, when given) with a
    message naming the program (never a crash: a signal shows as a negative status)."""
    status, out, err = run(args)
    passed = (isinstance(status, int) and status > 0 and
              (expect_status is None or status == expect_status) and
              err.startswith(f"{program_name}:") and len(err.strip()) > len(program_name) + 5)
    check(passed, f"{program_name} rejects {what}",
          f"status {status}, stdout {out!r}, stderr {err!r}")


def finish():
    sys.exit(1 if _failures else 0)


def shardalloc():
    """Path of our allocator's release build: the workloads are also tested under it
    (LD_PRELOAD), since that is how the suite runs them."""
    path = os.path.join(ROOT, "build", "release", "libshardalloc.so")
    if not os.path.exists(path):
        sys.exit(f"{path} is missing: build it first (ninja)")
    return path
