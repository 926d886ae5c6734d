"""Statistics of a results set: per case (a benchmark, at a thread count, on a
machine) and allocator, the median and the spread (min-max) of the runs, relative
to a baseline allocator, and how sure a difference is.

How sure: a bootstrap confidence interval of the ratio. Within one set the runs are
interleaved, so run k of an allocator and run k of the baseline ran side by side
under the same load: they are paired, and the interval is that of the median of the
paired ratios (resampling pairs), which cancels the load drift that hits both. Two
sets (scripts/compare) have no pairs: the interval is that of the ratio of medians,
resampling each side. A difference is significant when the interval lies wholly
outside [1/(1+floor), 1+floor], where `floor` is the noise between sessions measured
by an A/A run (two sets of the same commit; 0 within a set, whose pairs share their
session). With fewer than MIN_RUNS_TO_JUDGE runs on a side nothing can be said: with
3 pairs the 95% interval is the range of the 3 ratios, so "significant" means all
three pairs agree in direction.
"""
import math
import random
import statistics
from dataclasses import dataclass, field

import measure

MIN_RUNS_TO_JUDGE = 3
BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE = 0.95
BOOTSTRAP_SEED = 20261126  # fixed: the same data gives the same interval every time
SIGNIFICANT = "yes"
NOT_SIGNIFICANT = "no"       # the spreads overlap
TOO_FEW_RUNS = "unknown"
KIB_PER_MIB = 1024


@dataclass(frozen=True)
class Spread:
    median: float
    low: float
    high: float
    runs: int


@dataclass
class Cell:
    """The runs of one allocator (or variant) on one benchmark."""
    benchmark: str
    variant: str
    ok_runs: list = field(default_factory=list)
    failed_runs: list = field(default_factory=list)

    def spread(self, column):
        values = [r[column] for r in self.ok_runs if r[column] is not None]
        return spread_of(values)

    @property
    def failures(self):
        """The failure statuses seen, e.g. "failed-signal x2"."""
        counts = {}
        for r in self.failed_runs:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        return ", ".join(f"{s} x{n}" if n > 1 else s for s, n in sorted(counts.items()))


@dataclass(frozen=True)
class Comparison:
    ratio: float        # median / baseline median
    low: float          # min / baseline median
    high: float         # max / baseline median
    significant: str    # SIGNIFICANT, NOT_SIGNIFICANT or TOO_FEW_RUNS
    ci_low: float = None    # the bootstrap interval of the ratio (None: too few runs)
    ci_high: float = None
    paired: bool = False    # the interval is of paired ratios (one interleaved set)


def spread_of(values):
    if not values:
        return None
    return Spread(statistics.median(values), min(values), max(values), len(values))


def cells_of(rows):
    """{(benchmark, variant): Cell} over every row."""
    cells = {}
    if rows and "case" not in rows[0]:
        label_cases(rows)
    for row in rows:
        key = (row["case"], row["variant"])
        cell = cells.setdefault(key, Cell(*key))
        (cell.ok_runs if row["status"] == measure.OK else cell.failed_runs).append(row)
    return cells


def compare(spread, base, values=None, base_values=None, floor=0.0):
    """How `spread` stands against the baseline's; None when either is missing.
    `values`/`base_values`: the runs, as {run number: value} to pair them (one set)
    or lists (two sets, unpaired); without them only the ratios are given."""
    if spread is None or base is None or base.median <= 0:
        return None
    ratio = spread.median / base.median
    interval, paired = None, False
    if values is not None and base_values is not None:
        if isinstance(values, dict) and isinstance(base_values, dict):
            pairs = [(values[k], base_values[k]) for k in sorted(values) if k in base_values]
            paired = True
            if len(pairs) >= MIN_RUNS_TO_JUDGE:
                interval = paired_interval(pairs)
        else:
            a, b = list(values), list(base_values)
            if len(a) >= MIN_RUNS_TO_JUDGE and len(b) >= MIN_RUNS_TO_JUDGE:
                interval = unpaired_interval(a, b)
    if interval is None:
        judged = TOO_FEW_RUNS
    else:
        judged = SIGNIFICANT if outside_floor(interval, floor) else NOT_SIGNIFICANT
    return Comparison(ratio, spread.low / base.median, spread.high / base.median, judged,
                      *(interval or (None, None)), paired)


def outside_floor(interval, floor):
    low, high = interval
    return low > 1 + floor or high < 1 / (1 + floor)


def percentile_interval(samples):
    samples = sorted(samples)
    tail = (1 - CONFIDENCE) / 2
    at = lambda q: samples[min(len(samples) - 1, max(0, int(math.floor(q * len(samples)))))]
    return at(tail), at(1 - tail)


def paired_interval(pairs):
    """The bootstrap interval of the median of the paired ratios x/base."""
    ratios = [x / b for x, b in pairs if b > 0]
    rng = random.Random(BOOTSTRAP_SEED)
    medians = [statistics.median(rng.choices(ratios, k=len(ratios)))
               for _ in range(BOOTSTRAP_RESAMPLES)]
    return percentile_interval(medians)


def unpaired_interval(values, base_values):
    """The bootstrap interval of median(values) / median(base_values)."""
    rng = random.Random(BOOTSTRAP_SEED)
    ratios = []
    for _ in range(BOOTSTRAP_RESAMPLES):
        b = statistics.median(rng.choices(base_values, k=len(base_values)))
        if b > 0:
            ratios.append(statistics.median(rng.choices(values, k=len(values))) / b)
    return percentile_interval(ratios)


def run_values(cell, column):
    """{run number: value} of a cell's passing runs (for pairing)."""
    return {r["run"]: r[column] for r in cell.ok_runs if r.get(column) is not None}


def label_cases(rows):
    """Give every row its `case`: the benchmark, with `@T` when the set has it at
    several thread counts on one machine and ` (MACHINE)` when the set has several machines.
    Returns the case names in order: benchmarks as they come, threads ascending,
    machines as they come."""
    threads_of, machines = {}, []
    for r in rows:
        threads_of.setdefault((r["benchmark"], r.get("machine")), set()).add(r.get("threads"))
        if r.get("machine") not in machines:
            machines.append(r.get("machine"))
    for r in rows:
        name = r["benchmark"]
        if len(threads_of[(name, r.get("machine"))]) > 1:
            name += f"@{r.get('threads')}"
        if len(machines) > 1:
            name += f" ({r.get('machine')})"
        r["case"] = name
    return sorted(dict.fromkeys(r["case"] for r in rows),
                  key=lambda c: case_sort_key(c, rows, machines))


def case_sort_key(case, rows, machines):
    row = next(r for r in rows if r["case"] == case)
    return (machines.index(row.get("machine")), row.get("threads") or 0)


def ordered_names(rows, environment, key):
    """The benchmark or allocator names that have rows, in the suite's order (from
    the environment record), then any others in order of appearance. For
    "cases", the cases (see label_cases) of those benchmarks in that order."""
    if key == "cases":
        if rows and "case" not in rows[0]:
            label_cases(rows)
        benchmarks = ordered_names(rows, environment, "benchmarks")
        machines = list(dict.fromkeys(r.get("machine") for r in rows))
        first = {}
        for r in rows:
            first.setdefault(r["case"], r)
        return sorted(first, key=lambda c: (benchmarks.index(first[c]["benchmark"]),
                                            machines.index(first[c].get("machine")),
                                            first[c].get("threads") or 0))
    declared = [entry["name"] for entry in environment.get(key, [])]
    column = "benchmark" if key == "benchmarks" else "variant"
    present = dict.fromkeys(r[column] for r in rows)
    return [n for n in declared if n in present] + [n for n in present if n not in declared]
