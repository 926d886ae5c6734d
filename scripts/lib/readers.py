"""How a benchmark's figure is read from a finished run.

Every reader turns (program output, command, wall time) into a Reading:
  figure   the program's own figure in its own unit (throughput), or the wall time;
  time_s   what the time figures compare, lower is better: the wall time, or for a
           throughput workload the tradition's "relative time" converted from the
           throughput (mimalloc-bench puts it in place of the elapsed time).
A reader raises BadOutput when the output lacks the figure or fails its check; the
run is then recorded as failed.
"""
import re
from dataclasses import dataclass

# larson prints "relative time: Ys" with Y = 1e9 / throughput; we convert the same way
# (from the throughput, which is printed with more digits) so our relative times match
# the tradition's. The constant cancels out in every figure relative to a baseline.
LARSON_RELATIVE_TIME_OPS = 1e9
# xmalloc-test prints "rtime: R" with R = 100 / (millions of frees per second).
XMALLOC_RELATIVE_TIME_MFREES = 100.0
# glibc-thread prints "I iterations" done in its fixed time; mimalloc-bench's script
# turns that into the relative time 1e9 / I seconds.
GLIBC_THREAD_RELATIVE_TIME_ITERATIONS = 1e9
# rptest prints "X memory ops/CPU second"; mimalloc-bench's bench.sh records 2000000 / X.
RPTEST_RELATIVE_TIME_OPS = 2e6

NUMBER = r"([0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)"
LARSON_LINE = re.compile(r"Throughput\s*=\s*" + NUMBER + r"\s+operations per second")
XMALLOC_LINE = re.compile(r"free/sec:\s*" + NUMBER + r"\s*M")
GLIBC_THREAD_LINE = re.compile(r"^\s*" + NUMBER + r"\s+iterations\s*$", re.MULTILINE)
RPTEST_LINE = re.compile(NUMBER + r"\s+memory ops/CPU second")
REDIS_LINE = re.compile(NUMBER + r"\s+requests per second")
# redis-benchmark's own default request count (its -n), when the command gives none.
REDIS_DEFAULT_REQUESTS = 100000
CFRAC_LINE = re.compile(r"^\s*([0-9]+)\s*=\s*([0-9]+)\s*\*\s*([0-9]+)\s*$", re.MULTILINE)


class BadOutput(Exception):
    pass


@dataclass(frozen=True)
class Reading:
    figure: float
    time_s: float


@dataclass(frozen=True)
class Reader:
    name: str
    figure_unit: str         # the unit of Reading.figure
    higher_is_better: bool   # of the figure (time_s is always lower-is-better)
    read: object             # function (output, argv, wall_s) -> Reading


def read_elapsed(output, argv, wall_s):
    return Reading(figure=wall_s, time_s=wall_s)


def read_cfrac(output, argv, wall_s):
    """cfrac prints `N = f * N/f`: check it is a non-trivial split of the N we gave."""
    numbers = [word for word in argv[1:] if word.isdigit()]
    if not numbers:
        raise BadOutput("the cfrac command has no number to factor")
    n = int(numbers[-1])
    for m in CFRAC_LINE.finditer(output):
        printed, f, g = (int(x) for x in m.groups())
        if printed != n:
            continue
        if f * g != n or not 1 < f < n:
            raise BadOutput(f"cfrac printed a wrong split: {m.group(0).strip()}")
        return Reading(figure=wall_s, time_s=wall_s)
    raise BadOutput(f"cfrac printed no line `{n} = f * g`")


def read_larson(output, argv, wall_s):
    throughput = _last_number(LARSON_LINE, output, "larson: no `Throughput = X operations per second`")
    return Reading(figure=throughput, time_s=larson_relative_time(throughput))


def read_xmalloc(output, argv, wall_s):
    frees_m = _last_number(XMALLOC_LINE, output, "xmalloc-test: no `free/sec: F M`")
    return Reading(figure=frees_m, time_s=xmalloc_relative_time(frees_m))


def read_glibc_thread(output, argv, wall_s):
    iterations = _last_number(GLIBC_THREAD_LINE, output, "glibc-thread: no `I iterations`")
    return Reading(figure=iterations, time_s=glibc_thread_relative_time(iterations))
def read_rptest(output, argv, wall_s):
    ops = _last_number(RPTEST_LINE, output, "rptest: no `X memory ops/CPU second`")
    return Reading(figure=ops, time_s=rptest_relative_time(ops))
def read_redis(output, argv, wall_s):
    """redis-bench prints redis-benchmark's `...: X requests per second` line; the
    relative time is the time the client took for its -n requests, n / X."""
    rps = _last_number(REDIS_LINE, output, "redis: no `X requests per second`")
    return Reading(figure=rps, time_s=redis_relative_time(rps, redis_requests(argv)))


def redis_requests(argv):
    """The -n of a redis-bench command (redis-benchmark's default when absent)."""
    for flag, value in zip(argv, argv[1:]):
        if flag == "-n" and value.isdigit() and int(value) > 0:
            return int(value)
    return REDIS_DEFAULT_REQUESTS


def redis_relative_time(requests_per_s, requests):
    return requests / requests_per_s


def larson_relative_time(ops_per_s):
    return LARSON_RELATIVE_TIME_OPS / ops_per_s


def xmalloc_relative_time(mfrees_per_s):
    return XMALLOC_RELATIVE_TIME_MFREES / mfrees_per_s


def glibc_thread_relative_time(iterations):
    return GLIBC_THREAD_RELATIVE_TIME_ITERATIONS / iterations
def rptest_relative_time(ops_per_cpu_s):
    return RPTEST_RELATIVE_TIME_OPS / ops_per_cpu_s


def _last_number(pattern, output, missing):
    found = pattern.findall(output)
    if not found:
        raise BadOutput(missing)
    value = float(found[-1])
    if not value > 0:
        raise BadOutput(f"{missing.split(':')[0]}: non-positive figure {found[-1]}")
    return value


READERS = {r.name: r for r in (
    Reader("elapsed", "s", False, read_elapsed),
    Reader("cfrac", "s", False, read_cfrac),
    Reader("larson", "ops/s", True, read_larson),
    Reader("xmalloc", "Mfree/s", True, read_xmalloc),
    Reader("glibc-thread", "iterations", True, read_glibc_thread),
    Reader("rptest", "ops/CPU-s", True, read_rptest),
    Reader("redis", "requests/s", True, read_redis),
)}
