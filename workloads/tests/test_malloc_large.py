#!/usr/bin/env python3
"""malloc-large: a short run (30 blocks of 5-25 MiB) succeeds under glibc and
under shardalloc; it makes exactly one malloc and one free per iteration, every
one above 5 MiB; it really writes its blocks (peak RSS of hundreds of MiB, which
a malloc + memset turned into calloc would not reach); bad arguments exit 2."""
import os
import re
import resource

import tap

LARGE = tap.program("malloc-large")
PROFILE = tap.program("alloc_profile.so")
SHARDALLOC = os.path.join(tap.ROOT, "build", "release", "libshardalloc.so")
SHORT_RUN = "30"
MiB = 1024 * 1024
# 30 iterations over 20 slots leave about 15 blocks of 15 MiB on average live; a run
# that zeroes them all touches well over this much.
MIN_PEAK_RSS_MIB = 100


def main():
    # First, so the children's peak RSS below is this run's.
    status, out, err = tap.run([LARGE, SHORT_RUN])
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    tap.check(status == 0 and out == "" and err == "", f"malloc-large {SHORT_RUN} runs silently",
              f"status {status}, stdout {out!r}, stderr {err!r}")
    tap.check(peak_mib >= MIN_PEAK_RSS_MIB,
              f"malloc-large writes its blocks: peak RSS {peak_mib:.0f} MiB >= {MIN_PEAK_RSS_MIB} MiB")
    status, out, err = tap.run([LARGE, SHORT_RUN], {"LD_PRELOAD": SHARDALLOC})
    tap.check(status == 0 and out == "" and err == "",
              f"malloc-large {SHORT_RUN} runs silently under shardalloc",
              f"status {status}, stdout {out!r}, stderr {err!r}")

    status, _, err = tap.run([LARGE, SHORT_RUN], {"LD_PRELOAD": PROFILE})
    counts = dict(re.findall(r"(malloc|calloc|free) (\d+)", err))
    large = re.search(r"size >\d+: (\d+)", err)
    live = re.search(r"peak live bytes (\d+)", err)
    tap.check(status == 0 and counts.get("malloc") == SHORT_RUN and counts.get("free") == SHORT_RUN
              and counts.get("calloc") == "0" and large is not None and large[1] == SHORT_RUN,
              f"malloc-large: {SHORT_RUN} large mallocs, each freed, no calloc", err)
    tap.check(live is not None and 5 * MiB < int(live[1]) <= 21 * 25 * MiB + MiB,
              "malloc-large: at most 21 blocks of at most 25 MiB live", err)

    bad = {
        "0 iterations": ["0"],
        "a negative count": ["-5"],
        "a non-number": ["many"],
        "too many arguments": ["10", "10"],
    }
    for what, args in bad.items():
        tap.check_rejects([LARGE] + args, what, "malloc-large", expect_status=2)
    tap.finish()


if __name__ == "__main__":
    main()
