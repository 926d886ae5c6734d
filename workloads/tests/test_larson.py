#!/usr/bin/env python3
"""larson and larson-sized: short runs print the throughput line; larson-sized
takes the free_sized path when an allocator provides it (the probe shim) with
sizes that fit; bad arguments are rejected with a message."""
import re

import tap

LARSON = tap.program("larson")
LARSON_SIZED = tap.program("larson-sized")
PROBE = tap.program("free_sized_probe.so")

THROUGHPUT = re.compile(
    r"^Throughput = (\d+) operations per second, relative time: (\d+\.\d+)s\.$")
# Short and small: 0.3 s, 2 threads of 500 blocks, successors every 10 x 500 steps.
SMALL_RUN = ["0.3", "8", "1000", "500", "10", "4141", "2"]


def check_run(path, name, args, env=None, what=""):
    status, out, err = tap.run([path] + args, env)
    m = THROUGHPUT.match(out.strip())
    good = status == 0 and m is not None and int(m[1]) > 0
    if good:  # relative time is 1e9 / throughput, to the printed precision (the
        # throughput is printed rounded to an integer: a relative error of 1/X)
        x, y = int(m[1]), float(m[2])
        good = abs(y - 1e9 / x) <= 0.0005 + y / x + 1e-6 * y
    tap.check(good, f"{name} {' '.join(args)} prints its throughput{what}",
              f"status {status}, stdout {out!r}, stderr {err!r}")
    return err


def main():
    check_run(LARSON, "larson", SMALL_RUN)
    check_run(LARSON, "larson", ["0.3", "16", "16", "100", "1", "7", "4"],
              what=" (fixed size, a successor thread every 100 steps)")
    check_run(LARSON_SIZED, "larson-sized", SMALL_RUN, what=" (glibc: plain free)")
    err = check_run(LARSON_SIZED, "larson-sized", SMALL_RUN, {"LD_PRELOAD": PROBE},
                    " (probe: free_sized)")
    m = re.search(r"free_sized-probe: (\d+) calls, (\d+) bad sizes", err)
    tap.check(m is not None and int(m[1]) > 0 and int(m[2]) == 0,
              "larson-sized frees through free_sized, with sizes that fit the blocks", err)
    status, _, err = tap.run([LARSON] + SMALL_RUN, {"LD_PRELOAD": PROBE})
    m = re.search(r"free_sized-probe: (\d+) calls", err)
    tap.check(status == 0 and m is not None and int(m[1]) == 0,
              "plain larson never calls free_sized", err)

    bad = {
        "too few arguments": ["1", "8", "1000"],
        "too many arguments": SMALL_RUN + ["1"],
        "a non-number": ["1", "8", "big", "500", "10", "4141", "2"],
        "a negative size": ["1", "-8", "1000", "500", "10", "4141", "2"],
        "max_size below min_size": ["1", "100", "10", "500", "10", "4141", "2"],
        "0 seconds": ["0", "8", "1000", "500", "10", "4141", "2"],
        "0 threads": ["1", "8", "1000", "500", "10", "4141", "0"],
        "101 threads": ["1", "8", "1000", "500", "10", "4141", "101"],
        "0 chunks": ["1", "8", "1000", "0", "10", "4141", "2"],
        "a negative seed": ["1", "8", "1000", "500", "10", "-1", "2"],
        "an enormous block count": ["1", "8", "1000", "100000000", "10", "4141", "100"],
    }
    for what, args in bad.items():
        tap.check_rejects([LARSON] + args, what, "larson")
    tap.check_rejects([LARSON_SIZED, "1", "8"], "too few arguments", "larson-sized")
    tap.finish()


if __name__ == "__main__":
    main()
