#!/usr/bin/env python3
"""mleak: a short run (100 rounds of 10 threads) prints the original's line and
succeeds under glibc and under shardalloc; its objects are 1000 callocs of 128
bytes plus one 80-byte thread array per round, all freed; -v reports the RSS ten
times; bad arguments exit 2."""
import os
import re

import tap

MLEAK = tap.program("mleak")
PROFILE = tap.program("alloc_profile.so")
SHARDALLOC = os.path.join(tap.ROOT, "build", "release", "libshardalloc.so")
HEADER = "Using 10 threads with 100*1 iterations"
PROGRESS = re.compile(r"^mleak: (\d+) of 100 rounds, rss (\d+) KiB$", re.MULTILINE)
# 100 rounds x (10 objects of 128 bytes + a 10-handle thread array of 80 bytes).
OBJECTS_AND_ARRAYS = 100 * (10 + 1)
# Left allocated at exit by glibc itself: stdio's buffer, and the thread-local storage
# of the thread stacks it keeps cached for reuse (4 with glibc 2.36).
C_LIBRARY_LEFTOVERS = 10


def main():
    for what, env in (("glibc", None), ("shardalloc", {"LD_PRELOAD": SHARDALLOC})):
        status, out, err = tap.run([MLEAK, "1"], env)
        tap.check(status == 0 and out.strip() == HEADER and err == "",
                  f"mleak 1 prints the original's line and succeeds under {what}",
                  f"status {status}, stdout {out!r}, stderr {err!r}")
    status, out, err = tap.run([MLEAK, "-v", "1"])
    steps = PROGRESS.findall(err)
    tap.check(status == 0 and [int(r) for r, _ in steps] == list(range(10, 101, 10))
              and all(int(k) > 0 for _, k in steps),
              "mleak -v 1 reports the RSS after every tenth of the rounds", err)

    status, _, err = tap.run([MLEAK, "1"], {"LD_PRELOAD": PROFILE})
    objects = re.search(r"size 65-128: (\d+)", err)
    calls = dict(re.findall(r"(malloc|calloc|free) (\d+)", err))
    # glibc's pthread_create makes a few allocations of its own (thread-local
    # storage), outside the 65-128 byte class; each is freed like ours.
    tap.check(status == 0 and objects is not None and int(objects[1]) == OBJECTS_AND_ARRAYS,
              f"mleak 1: {OBJECTS_AND_ARRAYS} allocations of 65-128 bytes (objects and thread arrays)",
              err)
    tap.check(int(calls.get("calloc", 0)) >= OBJECTS_AND_ARRAYS and
              int(calls.get("free", -1)) >= OBJECTS_AND_ARRAYS and
              int(calls.get("malloc", 0)) + int(calls.get("calloc", 0)) - int(calls.get("free", 0))
              <= C_LIBRARY_LEFTOVERS,
              "mleak 1: everything it allocates is freed (all but the C library's few)", err)

    bad = {
        "0 iterations": ["0"],
        "a non-number": ["lots"],
        "a negative count": ["-3"],
        "two counts": ["5", "2"],
        "an unknown option": ["-x"],
    }
    for what, args in bad.items():
        tap.check_rejects([MLEAK] + args, what, "mleak", expect_status=2)
    tap.finish()


if __name__ == "__main__":
    main()
