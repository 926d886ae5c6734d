#!/usr/bin/env python3
"""rptest: short runs (without the original's pauses, -p 0) print the tradition's `...X memory ops/CPU second (...)` line
and pass their own checks (every block's tag at its free, by whichever thread
frees it; every block freed), also under shardalloc; bad arguments are rejected."""
import re

import tap

RPTEST = tap.program("rptest")
PROFILE = tap.program("alloc_profile.so")
COUNTS = re.compile(r"malloc (\d+), calloc (\d+), realloc (\d+), free (\d+)")
# mimalloc-bench's bench.sh reads the figure with `.*\.\.\.\([0-9]*\) memory ops.*`:
# the dots the threads print run straight into the number.
RESULT = re.compile(r"^malloc +(\d+) threads .* ops: \.+(\d+) memory ops/CPU second "
                    r"\((\d+)MiB peak, (\d+)MiB -> (\d+)MiB bytes sample, -?\d+% overhead\)$")


QUICK = ["-p", "0"]  # no pauses: the tests' runs take a fraction of a second


def check_run(args, what, env=None):
    status, out, err = tap.run([RPTEST] + QUICK + args, env)
    m = RESULT.match(out.strip())
    # Two runs of the benchmark, each thread prints a dot per pass (two passes).
    dots = out.count(".")
    tap.check(status == 0 and m is not None and int(m[1]) == int(args[0]) and int(m[2]) > 0 and
              dots >= 4 * int(args[0]),
              f"rptest {' '.join(args)} prints its throughput ({what})",
              f"status {status}, stdout {out!r}, stderr {err!r}")


def main():
    check_run(["2", "0", "1", "2", "100", "200", "100", "8", "16000"], "the standard shape, shorter")
    check_run(["3", "0", "0", "1", "50", "100", "50", "8", "4000"], "even sizes, hand-overs every loop")
    check_run(["2", "0", "2", "3", "50", "100", "50", "16", "100000"], "exp sizes, blocks of many pages")
    check_run(["1", "1", "0", "5", "50", "100", "50", "64"], "fixed size, one thread: no hand-overs")
    check_run(["2", "0", "1", "2", "100", "200", "100", "8", "16000"], "under shardalloc",
              {"LD_PRELOAD": tap.shardalloc()})
    # The original's pauses, shortened: 2 runs x 8 pauses of 0.05 s (and the threads'
    # own one before their last meeting) make the run last at least 0.8 s.
    status, out, err = tap.run([RPTEST, "-p", "0.05", "2", "0", "1", "2", "50", "100", "50", "8",
                                "16000"])
    tap.check(status == 0 and RESULT.match(out.strip()) is not None,
              "rptest -p 0.05 keeps the original's pauses, shortened", f"{status} {out!r} {err!r}")

    # The standard run against the original's profile (185,281 callocs, 370,741 frees:
    # the other blocks come from memalign, which the shim does not count). Our size
    # and op tables are our own draws, and hand-overs stop when the first thread ends
    # its pass, so a busy machine that runs the threads one after the other makes
    # fewer: the frees lie between the slots' own (about 70% of the original's) and
    # the original's count plus 5%.
    standard = ["2", "0", "1", "2", "500", "1000", "100", "8", "16000"]
    status, out, err = tap.run([RPTEST] + QUICK + standard, {"LD_PRELOAD": PROFILE})
    m = COUNTS.search(err)
    tap.check(status == 0 and m is not None and 0.65 < int(m[2]) / 185281 < 1.05 and
              0.70 < int(m[4]) / 370741 < 1.05 and int(m[3]) == 0,
              "rptest's standard run: callocs and frees as many as the original's, or fewer "
              "hand-overs", err)
    bad = {
        "too few arguments": standard[:7],
        "too many arguments": standard + ["1"],
        "0 threads": ["0"] + standard[1:],
        "mode 2": standard[:1] + ["2"] + standard[2:],
        "size_mode 3": standard[:2] + ["3"] + standard[3:],
        "a non-number loop count": standard[:4] + ["many"] + standard[5:],
        "a loop count above 0xFFFFFF": standard[:4] + ["16777216"] + standard[5:],
        "min_size below 8": standard[:7] + ["4", "16000"],
        "max_size below min_size": standard[:7] + ["100", "50"],
        "random mode without max_size": standard[:8],
        "-p without a value": ["-p"],
        "a negative pause": ["-p", "-1"] + standard,
        "a pause over 60 s": ["-p", "61"] + standard,
    }
    for what, args in bad.items():
        tap.check_rejects([RPTEST] + args, what, "rptest")
    tap.finish()


if __name__ == "__main__":
    main()
