#!/usr/bin/env python3
"""The summary's statistics: medians, min-max, ratios to the baseline, and the
not-significant flag when the spreads overlap. Made-up rows, no programs run."""
import math

from tap import Tap

import measure
import stats
import summary

t = Tap()


def rows(benchmark, variant, times, rss_kib=2048, failed=0):
    made = [{"benchmark": benchmark, "group": "stress", "variant": variant, "status": measure.OK,
             "time_s": x, "maxrss_kib": rss_kib, "figure": x, "figure_unit": "s"} for x in times]
    made += [{"benchmark": benchmark, "group": "stress", "variant": variant,
              "status": measure.FAILED_SIGNAL, "time_s": None, "maxrss_kib": None, "figure": None,
              "figure_unit": "s"}] * failed
    return made


s = stats.spread_of([3.0, 1.0, 2.0, 10.0])
t.equal((s.median, s.low, s.high, s.runs), (2.5, 1.0, 10.0, 4), "spread: median, min, max, count")
base = stats.spread_of([1.0, 1.1, 1.2])
versus = stats.compare(stats.spread_of([2.0, 2.2, 2.4]), base)
t.check(math.isclose(versus.ratio, 2.0) and versus.significant == stats.SIGNIFICANT,
        "twice the baseline with disjoint spreads is significant", versus)
versus = stats.compare(stats.spread_of([1.15, 1.3, 1.4]), base)
t.equal(versus.significant, stats.NOT_SIGNIFICANT, "overlapping spreads are not significant")
versus = stats.compare(stats.spread_of([5.0]), base)
t.equal(versus.significant, stats.TOO_FEW_RUNS, "one run cannot be judged")
t.check(stats.compare(None, base) is None and stats.compare(base, None) is None,
        "no comparison without runs on both sides")

data = (rows("cache-scratchN", "mi", [1.0, 1.1, 1.2]) + rows("cache-scratchN", "tc", [18.0, 19.0, 20.0])
        + rows("cache-scratchN", "sa", [1.05, 1.1, 1.3], failed=1) + rows("cache-scratchN", "tbb", [], failed=3))
env = {"benchmarks": [{"name": "cache-scratchN"}],
       "allocators": [{"name": n} for n in ("sa", "mi", "tc", "tbb")]}
entries = summary.build(data, env, "mi")
t.equal([e["variant"] for e in entries], ["sa", "mi", "tc", "tbb"], "the summary keeps the suite's order")
by = {e["variant"]: e for e in entries}
t.check(math.isclose(by["tc"]["time_relative"], 19.0 / 1.1) and
        by["tc"]["time_significant"] == stats.SIGNIFICANT, "tc is 17x the baseline, significantly", by["tc"])
t.equal((by["sa"]["runs_ok"], by["sa"]["runs_failed"], by["sa"]["time_significant"]),
        (3, 1, stats.NOT_SIGNIFICANT), "failed runs are counted apart; sa overlaps mi")
text = summary.format_text(entries, "mi")
lines = {line.split()[1]: line for line in text.splitlines() if line.startswith("cache-scratchN")}
t.check("17.27" in lines["tc"] and "17.27 ~" not in lines["tc"], "summary text: tc's ratio, no flag", lines["tc"])
t.check("1.00 ~" in lines["sa"] and "failed-signal" in lines["sa"],
        "summary text: sa flagged not significant, its failure shown", lines["sa"])
t.check("FAILED" in lines["tbb"], "summary text: an allocator with no passing run says FAILED", lines["tbb"])

t.close()
