#!/usr/bin/env python3
"""cfrac: splits numbers whose factorisation the test knows, checks its output
format, its -v statistics and determinism, its allocation profile (through the
counting shim), and that bad input is rejected with a message."""
import re
from math import prod

import tap

CFRAC = tap.program("cfrac")
PROFILE_SHIM = tap.program("alloc_profile.so")

STANDARD = 17545186520507317056371138836327483792789528

# N -> its prime factors (with multiplicity). A mix of semiprimes of growing
# size (the continued fraction at work), composites with several or repeated
# factors, an expansion with a short period (10^20 + 1, k = 1), and the easy
# cases cfrac handles before the continued fraction (small N, prime powers,
# N = 2 * odd).
KNOWN = {
    STANDARD: [2, 2, 2, 107008798466033, 20495027946319472471219512627],
    1000036000099: [1000003, 1000033],
    369273425491777: [9513359, 38816303],
    24546554509096133: [140260663, 175006691],
    200532867843781358653: [2033639717, 98607863609],
    523989557961647743464179: [148194179473, 3535830893123],
    144375310901970588581081818331: [232929552206543, 619823931889717],
    61657702050311419747422047798888327: [61704375324253003, 999243598631437109],
    60189848669541395568144876007: [585151261, 7287550639, 14114760733],
    2225105258935050055958325282077897: [63558187529, 63558187529, 550817274617],
    3992977439950841884: [2, 2, 998244353, 1000000007],
    100000000000000000001: [73, 137, 1676321, 5964848081],
    18446744073709551617: [274177, 67280421310721],
    2000000000000000000000014: [2, 1000000000000000000000007],
    1000000014000000049: [1000000007, 1000000007],
    1000000021000000147000000343: [1000000007, 1000000007, 1000000007],
    999999999999: [3, 3, 3, 7, 11, 13, 37, 101, 9901],
    4: [2, 2],
}

SPLIT = re.compile(r"^(\d+) = (\d+) \* (\d+)$")


def is_sub_multiset(part, whole):
    rest = list(whole)
    for x in part:
        if x not in rest:
            return False
        rest.remove(x)
    return True


def divisor_from_known(f, primes):
    """f is a product of some of the known primes (so it really divides N)."""
    chosen = []
    for p in sorted(set(primes)):
        while f % p == 0 and is_sub_multiset(chosen + [p], primes):
            chosen.append(p)
            f //= p
    return f == 1


def check_split(n, primes):
    assert prod(primes) == n, f"the test's own table is wrong for {n}"
    status, out, err = tap.run([CFRAC, str(n)])
    lines = out.strip().splitlines()
    m = SPLIT.match(lines[0]) if len(lines) == 1 else None
    good = (status == 0 and m is not None and int(m[1]) == n)
    if good:
        f, g = int(m[2]), int(m[3])
        good = f * g == n and 1 < f <= g < n and divisor_from_known(f, primes)
    tap.check(good, f"cfrac splits {n}", f"status {status}, stdout {out!r}, stderr {err!r}")


def check_verbose_and_determinism():
    n = 61657702050311419747422047798888327
    first = tap.run([CFRAC, "-v", str(n)])
    second = tap.run([CFRAC, "-v", str(n)])
    keys = ["iterations", "early aborts", "partials", "full solutions", "factor attempts"]
    has_all = first[0] == 0 and all(re.search(rf"^{k}: \d+", first[2], re.M) for k in keys)
    tap.check(has_all, "cfrac -v reports iterations, early aborts, partials, full "
              "solutions and factor attempts", first[2])
    tap.check(first == second, "cfrac is deterministic (same split, same statistics)",
              f"{first!r}\n{second!r}")
    no_aborts = tap.run([CFRAC, "-a", "0", "-k", "1", "-v", str(n)])
    tap.check(no_aborts[0] == 0 and "early aborts: 0" in no_aborts[2] and
              "multiplier 1," in no_aborts[2],
              "cfrac -a 0 -k 1: no early aborts, multiplier 1", no_aborts[2])
    limited = tap.run([CFRAC, "-i", "1000", str(n)])
    tap.check(limited[0] == 1 and "no factor found after 1000 iterations" in limited[2],
              "cfrac -i 1000 gives up with a message and exit 1", limited)


def check_profile():
    """Through the counting shim: mostly 9-32-byte blocks, every one freed."""
    n = 944662485989931193179382989501794545331  # ~40 digits, about a second
    status, out, err = tap.run([CFRAC, str(n)], {"LD_PRELOAD": PROFILE_SHIM})
    counts = {m[1]: int(m[2]) for m in re.finditer(r"alloc-profile: size (\S+): (\d+)", err)}
    calls = re.search(r"malloc (\d+), calloc (\d+), realloc (\d+), free (\d+)", err)
    ok = status == 0 and calls is not None
    if ok:
        mallocs, callocs, _, frees = (int(x) for x in calls.groups())
        small = counts.get("9-16", 0) + counts.get("17-32", 0)
        ok = mallocs > 10_000_000 and small > 0.99 * mallocs and frees >= mallocs + callocs - 10
    tap.check(ok, "cfrac's allocations: millions of mallocs, over 99% of 9-32 bytes, all freed",
              err)


def check_rejections():
    bad = {
        "a non-number": ["abc"],
        "a number with junk": ["12x"],
        "an empty N": [""],
        "a negative N": ["-5"],
        "0": ["0"],
        "1": ["1"],
        "a prime (small)": ["1000000007"],
        "a prime (large)": [str(2**127 - 1)],
        "2": ["2"],
        "too many digits": ["9" * 101],
        "no arguments": [],
        "two numbers": ["15", "21"],
        "-a out of range": ["-a", "99", "15"],
        "-a not a number": ["-a", "x", "15"],
        "-k 0": ["-k", "0", "15"],
        "a negative -i": ["-i", "-1", "15"],
        "an unknown option": ["-x", "15"],
        "an option without its value": ["-a"],
    }
    for what, args in bad.items():
        tap.check_rejects([CFRAC] + args, what, "cfrac")


def main():
    for n, primes in KNOWN.items():
        check_split(n, primes)
    check_verbose_and_determinism()
    check_profile()
    check_rejections()
    tap.finish()


if __name__ == "__main__":
    main()
