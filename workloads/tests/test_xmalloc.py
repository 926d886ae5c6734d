#!/usr/bin/env python3
"""xmalloc-test: short runs print `rtime: R, free/sec: F M` with R = 100 / F,
-v accounts for every object, bad arguments are rejected with a message."""
import re

import tap

XMALLOC = tap.program("xmalloc-test")
RESULT = re.compile(r"^rtime: (\d+\.\d+), free/sec: (\d+\.\d+) M$")
VERBOSE = re.compile(r"produced (\d+) objects, consumers freed (\d+), (\d+) left over")


def check_run(args, what):
    status, out, err = tap.run([XMALLOC] + args)
    m = RESULT.match(out.strip())
    good = status == 0 and m is not None and float(m[2]) > 0
    if good:
        good = abs(float(m[1]) - 100 / float(m[2])) <= 0.01 * float(m[1]) + 0.002
    tap.check(good, f"xmalloc-test {' '.join(args)} prints rtime and free/sec ({what})",
              f"status {status}, stdout {out!r}, stderr {err!r}")
    return err


def main():
    check_run(["-w", "2", "-t", "0.3", "-s", "64"], "fixed size")
    check_run(["-w", "1", "-t", "0.3", "-s", "0"], "random sizes")
    check_run(["-w", "3", "-t", "0.3", "-s", "-1"], "negative size: random")
    err = check_run(["-w", "2", "-t", "0.3", "-s", "64", "-v"], "verbose")
    m = VERBOSE.search(err)
    tap.check(m is not None and int(m[1]) == int(m[2]) + int(m[3]) and int(m[1]) % 4096 == 0,
              "xmalloc-test -v: every produced object was freed, by a consumer or at exit",
              err)

    bad = {
        "-w 0": ["-w", "0", "-t", "1"],
        "-w 65 (too many threads)": ["-w", "65", "-t", "1"],
        "a non-number -t": ["-t", "soon"],
        "-t 0": ["-t", "0"],
        "-s above 2048": ["-s", "4096"],
        "-s not a number": ["-s", "big"],
        "an unknown option": ["-x"],
        "a missing value": ["-w"],
        "a stray argument": ["-w", "1", "extra"],
    }
    for what, args in bad.items():
        tap.check_rejects([XMALLOC] + args, what, "xmalloc-test")
    tap.finish()


if __name__ == "__main__":
    main()
