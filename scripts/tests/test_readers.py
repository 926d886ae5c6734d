#!/usr/bin/env python3
"""How figures are read from program output: the throughput conversion of larson
and xmalloc-test, cfrac's factor check. Canned output, no programs run."""
import math

from tap import Tap

import readers

t = Tap()
WALL_S = 1.25

# larson: the relative time is 1e9 / throughput, the value larson prints itself.
larson_out = "Throughput = 25000000 operations per second, relative time: 40.000s.\n"
r = readers.READERS["larson"].read(larson_out, ["larson"], WALL_S)
t.equal(r.figure, 25000000.0, "larson: the throughput is the figure")
t.check(math.isclose(r.time_s, 40.0), "larson: relative time = 1e9 / throughput (40 s for 25M ops/s)", r)
t.check(math.isclose(readers.larson_relative_time(1e9), 1.0), "larson: 1e9 ops/s is 1 s")
r = readers.READERS["larson"].read("warming up\nThroughput =  1.5e+07 operations per second, "
                                   "relative time: 66.667s.\n", ["larson"], WALL_S)
t.check(math.isclose(r.time_s, 1e9 / 1.5e7), "larson: exponent notation and extra spaces parse", r)
r = readers.READERS["larson"].read(
    "Throughput = 100 operations per second, relative time: 1e7s.\n"
    "Throughput = 200 operations per second, relative time: 5e6s.\n", ["larson"], WALL_S)
t.equal(r.figure, 200.0, "larson: the last figure printed counts")

# xmalloc-test: rtime = 100 / (millions of frees per second).
r = readers.READERS["xmalloc"].read("rtime: 2.000, free/sec: 50.000 M\n", ["xmalloc-test"], WALL_S)
t.equal(r.figure, 50.0, "xmalloc: millions of frees per second are the figure")
t.check(math.isclose(r.time_s, 2.0), "xmalloc: relative time = 100 / Mfree/s (2 s for 50 M)", r)
t.check(math.isclose(readers.xmalloc_relative_time(12.5), 8.0), "xmalloc: 12.5 M/s is 8 s")

for name, text in (("larson", "no figure here\n"), ("xmalloc", "rtime: 1.0\n"),
                   ("larson", "Throughput = 0 operations per second, relative time: infs.\n"),
                   ("xmalloc", "rtime: inf, free/sec: 0.000 M\n")):
    try:
        readers.READERS[name].read(text, [name], WALL_S)
        t.check(False, f"{name}: {text.strip()!r} is rejected")
    except readers.BadOutput:
        t.check(True, f"{name}: {text.strip()!r} is rejected")

# glibc-thread: the relative time is 1e9 / iterations, as mimalloc-bench's script.
r = readers.READERS["glibc-thread"].read("21424349 iterations\n", ["glibc-thread", "2"], WALL_S)
t.equal(r.figure, 21424349.0, "glibc-thread: the iteration count is the figure")
t.check(math.isclose(r.time_s, 1e9 / 21424349), "glibc-thread: relative time = 1e9 / iterations", r)
t.check(math.isclose(readers.glibc_thread_relative_time(2e7), 50.0), "glibc-thread: 20 M iterations is 50 s")
for text in ("no figure here\n", "0 iterations\n", "iterations: 12\n", "Using 2 threads, 5 iterations left\n"):
    try:
        readers.READERS["glibc-thread"].read(text, ["glibc-thread"], WALL_S)
        t.check(False, f"glibc-thread: {text.strip()!r} is rejected")
    except readers.BadOutput:
        t.check(True, f"glibc-thread: {text.strip()!r} is rejected")
# rptest: relative time = 2e6 / (memory ops per CPU second), as mimalloc-bench records it.
rptest_out = ("malloc       2 threads random linear size [8,16000] 500 loops 1000 allocs 100 ops: "
              "........4000000 memory ops/CPU second (9MiB peak, 3MiB -> 9MiB bytes sample, "
              "193% overhead)\n")
r = readers.READERS["rptest"].read(rptest_out, ["rptest"], WALL_S)
t.equal(r.figure, 4000000.0, "rptest: memory ops per CPU second are the figure (the dots before it are skipped)")
t.check(math.isclose(r.time_s, 0.5), "rptest: relative time = 2e6 / ops (0.5 s for 4M ops/s)", r)
for text in ("malloc 2 threads ...: ....", "........0 memory ops/CPU second (1MiB peak)"):
    try:
        readers.READERS["rptest"].read(text, ["rptest"], WALL_S)
        t.check(False, f"rptest: {text!r} is rejected")
    except readers.BadOutput:
        t.check(True, f"rptest: {text!r} is rejected")
# redis: "X requests per second" (redis-benchmark's -q line), relative time n / X.
redis_out = ("lpush a 1 2 3 4 5 lrange a 1 5: 250000.00 requests per second, p50=1.303 msec\n"
             "server peak RSS: 15604 KiB\n")
redis_argv = ["redis-bench", "-r", "1000000", "-n", "100000", "-q", "-P", "16", "lpush", "a", "1"]
r = readers.READERS["redis"].read(redis_out, redis_argv, WALL_S)
t.equal(r.figure, 250000.0, "redis: requests per second are the figure")
t.check(math.isclose(r.time_s, 0.4), "redis: relative time = n / (requests/s) (0.4 s for 1e5 at 250k/s)", r)
r = readers.READERS["redis"].read(redis_out, ["redis-bench", "-q", "ping"], WALL_S)
t.check(math.isclose(r.time_s, 100000 / 250000), "redis: without -n, redis-benchmark's 100000", r)
for text in ("lpush: rps=1000.0 (overall: 900.0) avg_msec=1.0\n", "0.00 requests per second\n"):
    try:
        readers.READERS["redis"].read(text, redis_argv, WALL_S)
        t.check(False, f"redis: {text.strip()!r} is rejected")
    except readers.BadOutput:
        t.check(True, f"redis: {text.strip()!r} is rejected")

# elapsed: the wall time is both the figure and the time.
r = readers.READERS["elapsed"].read("", ["cache-scratch"], WALL_S)
t.equal((r.figure, r.time_s), (WALL_S, WALL_S), "elapsed: the wall time is the figure and the time")

# cfrac: the printed split must multiply back to N and be non-trivial.
N = "17545186520507317056371138836327483792789528"
good = f"{N} = 856070387728264 * 20495027946319472471219512627\n"
r = readers.READERS["cfrac"].read(good, ["cfrac", N], WALL_S)
t.equal(r.time_s, WALL_S, "cfrac: a correct split of the standard number passes; time is wall time")
t.equal(readers.READERS["cfrac"].read("15 = 3 * 5", ["cfrac", "-a", "3", "15"], WALL_S).time_s,
        WALL_S, "cfrac: options before the number are skipped")
for what, text in (("a wrong product", f"{N} = 856070387728264 * 20495027946319472471219512628"),
                   ("a trivial split", f"{N} = 1 * {N}"),
                   ("a split of another number", "15 = 3 * 5"),
                   ("no split at all", "factor base: 300 primes")):
    try:
        readers.READERS["cfrac"].read(text, ["cfrac", N], WALL_S)
        t.check(False, f"cfrac: {what} is rejected")
    except readers.BadOutput as e:
        t.check(True, f"cfrac: {what} is rejected ({e})")

t.close()
