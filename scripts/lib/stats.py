"""Statistics of a results set: per benchmark and allocator, the median and the
spread (min-max) of the runs, relative to a baseline allocator.

Noise on a shared 2-core machine is large (single-thread runs spread up to ~30%,
multi-threaded throughput 1.5-3x), so a comparison is only called significant when
the two spreads do not overlap; with fewer than MIN_RUNS_TO_JUDGE runs on either side
nothing can be said.
"""
import statistics
from dataclasses import dataclass, field

import measure

MIN_RUNS_TO_JUDGE = 2
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


def spread_of(values):
    if not values:
        return None
    return Spread(statistics.median(values), min(values), max(values), len(values))


def cells_of(rows):
    """{(benchmark, variant): Cell} over every row."""
    cells = {}
    for row in rows:
        key = (row["benchmark"], row["variant"])
        cell = cells.setdefault(key, Cell(*key))
        (cell.ok_runs if row["status"] == measure.OK else cell.failed_runs).append(row)
    return cells


def compare(spread, base):
    """How `spread` stands against the baseline's; None when either is missing."""
    if spread is None or base is None or base.median <= 0:
        return None
    if spread.runs < MIN_RUNS_TO_JUDGE or base.runs < MIN_RUNS_TO_JUDGE:
        judged = TOO_FEW_RUNS
    elif spread.low <= base.high and base.low <= spread.high:
        judged = NOT_SIGNIFICANT
    else:
        judged = SIGNIFICANT
    return Comparison(spread.median / base.median, spread.low / base.median,
                      spread.high / base.median, judged)


def ordered_names(rows, environment, key):
    """The benchmark or allocator names that have rows, in the suite's order (from
    the environment record), then any others in order of appearance."""
    declared = [entry["name"] for entry in environment.get(key, [])]
    column = "benchmark" if key == "benchmarks" else "variant"
    present = dict.fromkeys(r[column] for r in rows)
    return [n for n in declared if n in present] + [n for n in present if n not in declared]
