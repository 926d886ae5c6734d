#!/usr/bin/env python3
"""larson and larson-sized: short runs print the throughput line; larson-sized
frees through the sized C++ operator delete[] (seen by the probe shim, which
replaces it as an allocator's library does) with sizes that fit, plain larson
through the unsized one; bad arguments are rejected with a message."""
import os
import re

import tap

LARSON = tap.program("larson")
LARSON_SIZED = tap.program("larson-sized")
PROBE = tap.program("sized_delete_probe.so")
# The debug build of our allocator checks every sized free against the requested size.
DEBUG_ALLOCATOR = os.path.join(tap.ROOT, "build", "debug", "libshardalloc.so")
PROBE_LINE = re.compile(r"sized-delete-probe: (\d+) sized, (\d+) unsized, (\d+) bad sizes")

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
    check_run(LARSON_SIZED, "larson-sized", SMALL_RUN)
    err = check_run(LARSON_SIZED, "larson-sized", SMALL_RUN, {"LD_PRELOAD": PROBE},
                    " (under the delete[] probe)")
    m = PROBE_LINE.search(err)
    tap.check(m is not None and int(m[1]) > 0 and int(m[2]) == 0 and int(m[3]) == 0,
              "larson-sized frees only through sized operator delete[], with sizes that fit", err)
    status, _, err = tap.run([LARSON] + SMALL_RUN, {"LD_PRELOAD": PROBE})
    m = PROBE_LINE.search(err)
    tap.check(status == 0 and m is not None and int(m[1]) == 0 and int(m[2]) > 0,
              "plain larson frees through unsized operator delete[], never the sized one", err)
    err = check_run(LARSON_SIZED, "larson-sized", SMALL_RUN, {"LD_PRELOAD": DEBUG_ALLOCATOR},
                    " (under the debug shardalloc, which checks each sized free's size)")
    tap.check("does not match" not in err and "free_sized" not in err,
              "the debug shardalloc finds every size larson-sized passes exact", err)

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
