#!/usr/bin/env python3
"""mstress: short runs print the start line and pass their own checks (cookies at
every free, as many frees as allocations), also under shardalloc; the profile
follows from the original's random stream; bad arguments are rejected."""
import re

import tap

MSTRESS = tap.program("mstress")
PROFILE = tap.program("alloc_profile.so")
START = re.compile(r"^start with (\d+) threads with a (\d+)% load-per-thread and (\d+) iterations$")
COUNTS = re.compile(r"malloc (\d+), calloc (\d+), realloc (\d+), free (\d+)")
SIZE_CLASS = re.compile(r"size (\d+)-(\d+): (\d+)")


def check_run(args, what, env=None):
    status, out, err = tap.run([MSTRESS] + args, env)
    m = START.match(out.strip())
    tap.check(status == 0 and m is not None and m.groups() == tuple(args),
              f"mstress {' '.join(args)} runs and checks itself ({what})",
              f"status {status}, stdout {out!r}, stderr {err!r}")
    return err


def main():
    check_run(["2", "10", "3"], "2 threads, 3 rounds")
    check_run(["3", "5", "2"], "3 threads: objects cross between more threads")
    check_run(["2", "10", "3"], "under shardalloc", {"LD_PRELOAD": tap.shardalloc()})
    # Two rounds of two threads at scale 2: thread 0 allocates 200 data + 100
    # retained objects, thread 1 twice that, every round; one data-array realloc
    # per thread and round.
    err = check_run(["2", "2", "2"], "profiled", {"LD_PRELOAD": PROFILE})
    m = COUNTS.search(err)
    objects = 2 * (300 + 600)
    tap.check(m is not None and int(m[3]) == 4 and int(m[1]) >= objects and
              int(m[1]) + int(m[2]) + int(m[3]) - 4 <= objects + 12 and int(m[4]) >= objects,
              "mstress 2 2 2: 1800 objects, 4 reallocs, every object freed", err)
    # The standard run draws the original's numbers, so its size mix is the
    # original's to the object (its profile: 200,650 of at most 16 bytes, 99,100 of
    # 17-32, 97,900 of 33-64; 50 reallocs).
    err = check_run(["2", "50", "25"], "the standard run, profiled", {"LD_PRELOAD": PROFILE})
    classes = {int(hi): int(n) for lo, hi, n in SIZE_CLASS.findall(err)}
    m = COUNTS.search(err)
    mix = (classes.get(8, 0) + classes.get(16, 0), classes.get(32), classes.get(64))
    tap.check(m is not None and int(m[3]) == 50 and mix == (200650, 99100, 97900),
              "mstress 2 50 25: the original's size mix and realloc count", err)

    bad = {
        "too many arguments": ["2", "50", "25", "1"],
        "0 threads": ["0"],
        "257 threads": ["257"],
        "a non-number scale": ["2", "lots"],
        "a negative round count": ["2", "50", "-1"],
        "0 rounds": ["2", "50", "0"],
    }
    for what, args in bad.items():
        tap.check_rejects([MSTRESS] + args, what, "mstress")
    tap.finish()


if __name__ == "__main__":
    main()
