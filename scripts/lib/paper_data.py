"""The data of the paper: the results sets it is made from, and every number derived
from them (the named functions below; scripts/tests/test_paper.py re-computes them).

A set may hold any of: results.csv (a suite run: scripts/bench), cost-per-pair.csv
(allocator/bench/cost-per-pair --out), memory-return.csv (allocator/bench/memory-return
--out). What a set holds decides where it appears in the paper; nothing names a set
but paper/sets.txt (or the command line).
"""
import csv
import math
import os
import statistics

import environment
import results
import stats
import summary

SETS_FILE = os.path.join("paper", "sets.txt")
COST_NAME = "cost-per-pair.csv"
MEMORY_RETURN_NAME = "memory-return.csv"
BASELINE = "mi"      # the report's figures are relative to mimalloc
OURS = "sa"
SECURE = "sa-secure"
OK = "ok"


def read_sets_file(path):
    """The set folders named in a sets file: one a line, `#` comments."""
    names = []
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                names.append(line)
    return names


def read_csv(path):
    if not os.path.isfile(path):
        return None
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


class PaperSet:
    """One results set and what it holds."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(os.path.normpath(path))
        self.env = environment.read(path)
        has_runs = os.path.isfile(os.path.join(path, results.CSV_NAME))
        self.rows = results.read_rows(path) if has_runs else []
        for r in self.rows:
            r["machine"] = r.get("machine") or self.env.get("machine") or self.env.get("host") or "?"
        self.cost = read_csv(os.path.join(path, COST_NAME))
        self.memory_return = read_csv(os.path.join(path, MEMORY_RETURN_NAME))

    def machines(self):
        return list(dict.fromkeys(r["machine"] for r in self.rows))

    def machine_record(self, machine):
        """The environment record of one machine of the set (a merged set keeps one each)."""
        for m in self.env.get("machines", []):
            if m.get("machine") == machine:
                return m
        return self.env

    def plain_rows(self, machine):
        """The rows of plain allocators (no variants) on one machine, at each benchmark's
        largest thread count: the report's comparison (N = the machine's threads)."""
        rows = [r for r in self.rows if r["machine"] == machine and r["variant"] == r["allocator"]]
        return at_top_threads(rows)

    def variant_rows(self, machine):
        """The rows of benchmarks with a variant, on one machine, at the top thread count."""
        rows = [r for r in self.rows if r["machine"] == machine]
        with_variants = {r["benchmark"] for r in rows if r["variant"] != r["allocator"]}
        return at_top_threads([r for r in rows if r["benchmark"] in with_variants])

    def is_comparison(self, machine):
        """Whether the set compares allocators the report's way on this machine: the
        baseline and at least one other plain allocator."""
        names = {r["variant"] for r in self.plain_rows(machine)}
        return BASELINE in names and len(names) > 1

    def swept(self, machine):
        """The benchmarks run at several thread counts on this machine, suite order."""
        threads = {}
        for r in self.rows:
            if r["machine"] == machine:
                threads.setdefault(r["benchmark"], set()).add(r["threads"])
        order = stats.ordered_names(self.rows, self.env, "benchmarks")
        return [b for b in order if len(threads.get(b, ())) > 1]


def at_top_threads(rows):
    top = {}
    for r in rows:
        top[r["benchmark"]] = max(top.get(r["benchmark"], 0), r["threads"] or 0)
    kept = [dict(r) for r in rows if (r["threads"] or 0) == top[r["benchmark"]]]
    for r in kept:
        r.pop("case", None)
    return kept


def load(paths):
    return [PaperSet(p) for p in paths]


# --- derived numbers: every number of the paper that is not read as it is -----------

def median(values):
    """The median of the passing runs' values (statistics.median)."""
    return statistics.median(values)


def ratio(a, b):
    """a / b: a median relative to another (the report's relative time or RSS)."""
    return a / b


def percent_more(r):
    """How much larger a ratio above 1 is, in percent: (r - 1) * 100."""
    return (r - 1) * 100


def percent_less(r):
    """How much smaller a ratio below 1 is, in percent: (1 - r) * 100."""
    return (1 - r) * 100


def geometric_mean(values):
    """The geometric mean of ratios (the mean that treats 2x and 0.5x alike)."""
    return math.exp(sum(math.log(v) for v in values) / len(values))


def mib(kib):
    """KiB (as GNU time reports) to MiB."""
    return kib / stats.KIB_PER_MIB


def gib(kib):
    return kib / (stats.KIB_PER_MIB * stats.KIB_PER_MIB)


class Comparison:
    """Per case, the median of a measure of every allocator, and any allocator against
    any other: the harness's summary (summary.build) for the baseline, and stats.compare
    (paired bootstrap over the rounds) for two others."""

    def __init__(self, rows, env, baseline=BASELINE):
        self.rows, self.env, self.baseline = rows, env, baseline
        self.entries = summary.build(rows, env, baseline) if rows else []
        self.cells = stats.cells_of(rows) if rows else {}
        self.cases = stats.ordered_names(rows, env, "cases") if rows else []
        self.variants = stats.ordered_names(rows, env, "allocators") if rows else []
        first = {}
        for r in rows:
            first.setdefault(r["case"], r)
        self.group_of = {c: first[c]["group"] for c in self.cases}
        self.benchmark_of = {c: first[c]["benchmark"] for c in self.cases}

    def groups(self):
        return list(dict.fromkeys(self.group_of[c] for c in self.cases))

    def cases_of(self, group):
        return [c for c in self.cases if self.group_of[c] == group]

    def has_measure(self, column):
        return any(r[column] is not None for r in self.rows if r["status"] == OK)

    def versus(self, case, a, b, column):
        """stats.Comparison of a against b on one case (None: either is missing)."""
        ca, cb = self.cells.get((case, a)), self.cells.get((case, b))
        if ca is None or cb is None:
            return None
        return stats.compare(ca.spread(column), cb.spread(column),
                             stats.run_values(ca, column), stats.run_values(cb, column))

    def medians(self, case, variant, column):
        cell = self.cells.get((case, variant))
        return cell.spread(column) if cell else None


class Tally:
    """How one allocator stands against another over cases: faster/slower (the 95%
    interval of the paired ratios excludes 1), level (it includes 1), or unknown (too
    few runs to judge); each with the cases and their ratios."""

    def __init__(self, comparison, cases, a, b, column):
        self.better, self.worse, self.level, self.unknown = [], [], [], []
        for case in cases:
            v = comparison.versus(case, a, b, column)
            if v is None:
                continue
            if v.significant == stats.SIGNIFICANT:
                (self.better if v.ratio < 1 else self.worse).append((case, v.ratio))
            elif v.significant == stats.NOT_SIGNIFICANT:
                self.level.append((case, v.ratio))
            else:
                self.unknown.append((case, v.ratio))

    @property
    def total(self):
        return len(self.better) + len(self.worse) + len(self.level) + len(self.unknown)

    def below_one(self):
        """Among the unknown (fewer than 3 runs a side): the cases whose ratio is below 1."""
        return [c for c in self.unknown if c[1] < 1]


def memory_return_medians(rows):
    """{(allocator, mode): median held % of peak, median peak MiB, runs} of the passing runs."""
    out = {}
    for r in rows:
        if r["status"] != OK:
            continue
        out.setdefault((r["allocator"], r["mode"]), []).append(r)
    return {k: (median([float(r["held_percent"]) for r in v]),
                median([float(r["peak_mib"]) for r in v]), len(v)) for k, v in out.items()}
