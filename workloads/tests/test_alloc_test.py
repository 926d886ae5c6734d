#!/usr/bin/env python3
"""alloc-test: short runs print the operation count and pass their own checks
(every byte of every object read back at its free, frees = allocations), also
under shardalloc; the size mix is the original's; bad arguments are rejected."""
import re

import tap

ALLOC_TEST = tap.program("alloc-test")
PROFILE = tap.program("alloc_profile.so")
RESULT = re.compile(r"^(\d+) threads made (\d+) alloc/dealloc operations in (\d+) ms "
                    r"\((\d+) ms per 1 million\)$")
COUNTS = re.compile(r"malloc (\d+), calloc (\d+), realloc (\d+), free (\d+)")
SIZE_CLASS = re.compile(r"size (\d+)-(\d+): (\d+)")
SHORT = "640000"  # 32 phases of 20,000 steps per thread


def check_run(args, what, env=None):
    status, out, err = tap.run([ALLOC_TEST] + args, env)
    m = RESULT.match(out.strip())
    threads, operations = int(args[0]), int(args[1]) // 32 * 32
    tap.check(status == 0 and m is not None and int(m[1]) == threads and
              int(m[2]) == threads * operations,
              f"alloc-test {' '.join(args)} runs and checks itself ({what})",
              f"status {status}, stdout {out!r}, stderr {err!r}")
    return err


def main():
    check_run(["1", SHORT], "one thread")
    check_run(["3", SHORT], "three threads, 2^18 / 3 slots each")
    check_run(["2", SHORT], "under shardalloc", {"LD_PRELOAD": tap.shardalloc()})
    check_run(["1", "100"], "an operation count that is not a multiple of 32")

    # Set-up fills about half of the 2^18 slots; then the Pareto-skewed slots make
    # about half the steps allocations. Sizes: 3/4 at most 16 bytes, 1/8 17-32,
    # 1/16 33-64, 1/16 larger (the original's 37.60 M, 6.27, 3.14, 3.13 of 50.13 M).
    err = check_run(["1", "3200000"], "profiled", {"LD_PRELOAD": PROFILE})
    m = COUNTS.search(err)
    classes = {int(hi): int(n) for lo, hi, n in SIZE_CLASS.findall(err)}
    objects = int(m[1]) if m else 0
    small = classes.get(8, 0) + classes.get(16, 0)
    good = (m is not None and abs(int(m[1]) - int(m[4])) <= 2 and
            abs(objects - (131072 + 1600000)) < 20000 and
            abs(small / objects - 0.75) < 0.01 and abs(classes.get(32, 0) / objects - 0.125) < 0.01)
    tap.check(good, "alloc-test 1 3200000: ~1.73 M objects, 3/4 of them at most 16 bytes, "
              "1/8 17-32; every one freed", err)

    bad = {
        "too many arguments": ["1", "100", "1"],
        "0 threads": ["0"],
        "17 threads (the tradition's limit is 16)": ["17"],
        "a non-number": ["two"],
        "fewer than 32 operations": ["1", "31"],
    }
    for what, args in bad.items():
        tap.check_rejects([ALLOC_TEST] + args, what, "alloc-test")
    tap.finish()


if __name__ == "__main__":
    main()
