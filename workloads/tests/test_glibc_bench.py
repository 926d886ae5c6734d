#!/usr/bin/env python3
"""glibc-simple and glibc-thread (glibc's malloc micro-benchmarks): small runs
succeed under glibc and under shardalloc; their allocation profiles, counted by
the alloc_profile shim, are the originals' (exact counts for glibc-simple, the
inverse-square size mix for glibc-thread); glibc-thread prints `I iterations`;
bad arguments exit 2 with a message."""
import os
import re

import tap

SIMPLE = tap.program("glibc-simple")
THREAD = tap.program("glibc-thread")
PROFILE = tap.program("alloc_profile.so")
SHARDALLOC = os.path.join(tap.ROOT, "build", "release", "libshardalloc.so")

ITERATIONS = re.compile(r"^(\d+) iterations$")
# glibc-simple 16 3200: each of the 4 batch counts allocates 3200 blocks per run, 4 runs
# (warm-up, main thread, second thread, main again) per size, 3 sizes (16, 32, 64).
SMALL_SIMPLE = ["16", "3200"]
SIMPLE_BLOCKS_PER_SIZE = 4 * 4 * 3200
SIMPLE_BATCH_ARRAYS = 3  # one array of 1600 pointers per size


def profile(err):
    """The shim's counts: {"malloc": n, ..., "9-16": n, ...}."""
    counts = {k: int(v) for k, v in re.findall(r"(malloc|calloc|realloc|free) (\d+)", err)}
    counts.update({k: int(v) for k, v in re.findall(r"size (\S+): (\d+)", err)})
    return counts


def check_simple():
    for what, env in (("glibc", None), ("shardalloc", {"LD_PRELOAD": SHARDALLOC})):
        status, out, err = tap.run([SIMPLE] + SMALL_SIMPLE, env)
        tap.check(status == 0 and out == "" and err == "",
                  f"glibc-simple {' '.join(SMALL_SIMPLE)} runs silently under {what}",
                  f"status {status}, stdout {out!r}, stderr {err!r}")
    status, _, err = tap.run([SIMPLE] + SMALL_SIMPLE, {"LD_PRELOAD": PROFILE})
    p = profile(err)
    blocks = 3 * SIMPLE_BLOCKS_PER_SIZE + SIMPLE_BATCH_ARRAYS
    tap.check(status == 0 and p.get("malloc") == blocks and p.get("free") == blocks,
              f"glibc-simple: {blocks} mallocs, each freed", err)
    tap.check(all(p.get(c) == SIMPLE_BLOCKS_PER_SIZE for c in ("9-16", "17-32", "33-64")),
              "glibc-simple: a third each of 16, 32 and 64 bytes", err)
    status, _, _ = tap.run([SIMPLE, "5", "1600"])
    tap.check(status == 0, "glibc-simple runs with a size that is not a multiple of an int")


def check_thread():
    for threads, what, env in (("1", "glibc, on the main thread", None),
                               ("2", "glibc", None),
                               ("2", "shardalloc", {"LD_PRELOAD": SHARDALLOC})):
        status, out, err = tap.run([THREAD, threads, "0.3"], env)
        m = ITERATIONS.match(out.strip())
        tap.check(status == 0 and m is not None and int(m[1]) > 0,
                  f"glibc-thread {threads} 0.3 prints its iterations under {what}",
                  f"status {status}, stdout {out!r}, stderr {err!r}")
    status, out, err = tap.run([THREAD, "2", "0.3"], {"LD_PRELOAD": PROFILE})
    m = ITERATIONS.match(out.strip())
    p = profile(err)
    iterations = int(m[1]) if m else -1
    # Every iteration is one malloc and one free of the slot's previous block (the
    # shim does not count free(NULL)); the blocks left in the slots are freed at the
    # end, so every block is freed once. stdio may malloc its buffer.
    tap.check(status == 0 and m is not None and
              iterations <= p.get("malloc", -1) <= iterations + 2 and
              p.get("free") == iterations,
              "glibc-thread: one malloc and one free per iteration, the working sets freed at the end",
              f"{out!r} {err}")
    small = p.get("0-8", 0) + p.get("9-16", 0)
    over_64 = sum(v for k, v in p.items() if "-" in k and int(k.split("-")[0]) > 64
                  or k.startswith(">"))
    total = max(p.get("malloc", 1), 1)
    # The original's profile: 76% of requests are 16 bytes or less, 6% above 64.
    tap.check(0.72 < small / total < 0.80 and 0.04 < over_64 / total < 0.09,
              f"glibc-thread: inverse-square sizes ({small / total:.1%} <= 16 B, "
              f"{over_64 / total:.1%} > 64 B; the original: 76%, 6%)", err)


def main():
    check_simple()
    check_thread()
    bad_simple = {
        "a zero block size": ["0"],
        "a negative block size": ["-16"],
        "a block size above 16384": ["16385"],
        "a non-number": ["big"],
        "fewer blocks per test than one batch of 1600": ["16", "1599"],
        "too many arguments": ["16", "3200", "1"],
    }
    for what, args in bad_simple.items():
        tap.check_rejects([SIMPLE] + args, what, "glibc-simple", expect_status=2)
    bad_thread = {
        "0 threads": ["0"],
        "257 threads": ["257"],
        "a non-number": ["two"],
        "0 seconds": ["2", "0"],
        "negative seconds": ["2", "-1"],
        "too many arguments": ["2", "1", "1"],
    }
    for what, args in bad_thread.items():
        tap.check_rejects([THREAD] + args, what, "glibc-thread", expect_status=2)
    tap.finish()


if __name__ == "__main__":
    main()
