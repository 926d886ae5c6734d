#!/usr/bin/env python3
"""barnes: small simulations conserve energy and print the original's summary,
the input is read from a file or from standard input alike, an integration
that is bound to blow up fails its energy check (exit 1), it runs under
shardalloc, and bad parameter files are rejected with a message and exit 2."""
import os
import re
import subprocess
import tempfile

import tap

BARNES = tap.program("barnes")
QUICK_INPUT = os.path.join(tap.ROOT, "workloads", "barnes", "input-quick")
SHARDALLOC = os.path.join(tap.ROOT, "build", "release", "libshardalloc.so")

STEP_LINE = re.compile(r"^\s*(\d+)\s+(\d+\.\d+)\s+(-?\d+\.\d+)\s+(\d+\.\d+)\s+(-\d+\.\d+)\s")
DRIFT_LINE = re.compile(r"^energy drift: (\S+) \(tolerance (\S+)\)$", re.MULTILINE)


def parameters(nbody=2000, seed=123, dtime=0.025, eps=0.05, tol=1.0, tstop=0.075):
    """The twelve lines: infile, nbody, seed, outfile, dtime, eps, tol, fcells,
    fleaves, tstop, dtout, NPROC."""
    return f"\n{nbody}\n{seed}\n\n{dtime}\n{eps}\n{tol}\n2.0\n5.0\n{tstop}\n0.25\n1\n"


def run_stdin(text, env=None):
    environment = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    environment.update(env or {})
    r = subprocess.run([BARNES], input=text, capture_output=True, text=True,
                       timeout=tap.RUN_TIMEOUT_S, env=environment)
    return r.returncode, r.stdout, r.stderr


def check_summary(status, out, err, what, steps):
    """Exit 0, the header, one line per printed step with Etot = Ekin + Epot,
    and the drift line within its tolerance."""
    lines = [STEP_LINE.match(line) for line in out.splitlines()]
    rows = [m for m in lines if m]
    drift = DRIFT_LINE.search(out)
    good = (status == 0 and "Hack code: Plummer model" in out and len(rows) == steps
            and drift is not None and float(drift[1]) <= float(drift[2]))
    if good:
        good = all(abs(float(m[3]) - (float(m[4]) + float(m[5]))) < 2e-6 for m in rows)
    tap.check(good, f"barnes {what}: {steps} diagnostics lines, energy conserved",
              f"status {status}, stdout {out!r}, stderr {err!r}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        def write(text):
            path = os.path.join(tmp, "input")
            with open(path, "w") as f:
                f.write(text)
            return path

        status, from_file, err = tap.run([BARNES, QUICK_INPUT])
        check_summary(status, from_file, err, "runs the quick input", steps=2)
        with open(QUICK_INPUT) as f:
            status, from_stdin, err = run_stdin(f.read())
        tap.check(status == 0 and from_stdin == from_file,
                  "barnes < input prints what barnes input prints (and is deterministic)", err)
        # Every default (an empty standard input): 16384 bodies, but leaves for
        # only half of them; as in the original, whose pool leaves are not reused
        # across steps, the second step runs out of leaves.
        status, out, err = tap.run([BARNES, "-"], None)
        tap.check(status == 1 and "16384" in out and "increase fleaves" in err,
                  "barnes - reads standard input (empty: the defaults; leaves run out)",
                  f"status {status}, stderr {err!r}")

        status, out, err = tap.run([BARNES, write(parameters(tstop=0.1, seed=9))])
        check_summary(status, out, err, "runs 5 steps of 2000 bodies", steps=2)
        status, out, err = tap.run([BARNES, write(parameters(nbody=3000, tol=0.5, tstop=0.05))])
        check_summary(status, out, err, "runs with a tighter opening tolerance", steps=2)

        if os.path.exists(SHARDALLOC):
            status, out, err = tap.run([BARNES, QUICK_INPUT], {"LD_PRELOAD": SHARDALLOC})
            tap.check(status == 0 and out == from_file,
                      "barnes under shardalloc prints the same", err)
        else:
            tap.check(False, "build/release/libshardalloc.so exists")

        # A time step far too long for the softening: the integration blows up
        # and the energy check must say so.
        status, out, err = tap.run([BARNES, write(parameters(dtime=1.0, eps=0.001, tstop=6.0))])
        tap.check(status == 1 and "drift" in err,
                  "barnes fails its energy check when the integration blows up",
                  f"status {status}, stderr {err!r}")

        bad = {
            "an input file of bodies": "bodies.dat\n1000\n",
            "nbody not a number": "\nmany\n",
            "nbody 1": "\n1\n",
            "a negative time step": "\n1000\n123\n\n-0.025\n",
            "a non-number tolerance": "\n1000\n123\n\n0.025\n0.05\nloose\n",
            "NPROC 2": "\n1000\n123\n\n0.025\n0.05\n1.0\n2.0\n5.0\n0.075\n0.25\n2\n",
            "a thirteenth parameter": parameters() + "7\n",
            "too many steps": "\n1000\n123\n\n0.0000001\n0.05\n1.0\n2.0\n5.0\n100\n",
        }
        for what, text in bad.items():
            args = [BARNES, write(text)]
            tap.check_rejects(args, what, "barnes")
            status, _, _ = tap.run(args)
            if status != 2:
                tap.check(False, f"barnes exits 2 for {what}", f"status {status}")
        for what, args in {"a missing input file": [os.path.join(tmp, "none")],
                           "two arguments": [QUICK_INPUT, QUICK_INPUT],
                           "an option": ["-h"]}.items():
            tap.check_rejects([BARNES] + args, what, "barnes")
    tap.finish()


if __name__ == "__main__":
    main()
