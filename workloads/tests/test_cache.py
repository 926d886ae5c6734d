#!/usr/bin/env python3
"""cache-scratch and cache-thrash: short runs succeed silently with one and
several threads; bad arguments are rejected with a message."""
import tap

PROGRAMS = ["cache-scratch", "cache-thrash"]
# nthreads iterations objsize repetitions concurrency: a fraction of a second.
RUNS = [["1", "100", "1", "20000", "1"], ["2", "100", "1", "20000", "2"],
        ["4", "50", "64", "4000", "4"]]
BAD = {
    "too few arguments": ["1", "100", "1", "20000"],
    "too many arguments": ["1", "100", "1", "20000", "1", "1"],
    "a non-number": ["two", "100", "1", "20000", "2"],
    "0 threads": ["0", "100", "1", "20000", "1"],
    "257 threads": ["257", "100", "1", "20000", "1"],
    "a negative objsize": ["1", "100", "-1", "20000", "1"],
    "0 iterations": ["1", "0", "1", "20000", "1"],
    "repetitions below nthreads": ["4", "100", "1", "3", "4"],
    "0 concurrency": ["1", "100", "1", "20000", "0"],
}


def main():
    for name in PROGRAMS:
        path = tap.program(name)
        for args in RUNS:
            status, out, err = tap.run([path] + args)
            tap.check(status == 0 and out == "" and err == "",
                      f"{name} {' '.join(args)} succeeds and prints nothing",
                      f"status {status}, stdout {out!r}, stderr {err!r}")
        for what, args in BAD.items():
            tap.check_rejects([path] + args, what, name)
    tap.finish()


if __name__ == "__main__":
    main()
