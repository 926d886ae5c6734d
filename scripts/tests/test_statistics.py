#!/usr/bin/env python3
"""The summary's statistics: medians, min-max, ratios to the baseline, bootstrap
intervals (paired within a set, unpaired between sets), the noise floor of an A/A
pair, and cases (thread counts, machines). Made-up rows, no programs run."""
import math

from tap import Tap

import measure
import stats
import summary

t = Tap()


def rows(benchmark, variant, times, rss_kib=2048, failed=0, threads=2, machine="vm"):
    made = [{"benchmark": benchmark, "group": "stress", "variant": variant, "status": measure.OK,
             "time_s": x, "maxrss_kib": rss_kib, "figure": x, "figure_unit": "s", "run": k,
             "threads": threads, "machine": machine, "rss_mean_kib": rss_kib // 2,
             "rss_final_kib": rss_kib // 4}
            for k, x in enumerate(times, 1)]
    made += [{"benchmark": benchmark, "group": "stress", "variant": variant,
              "status": measure.FAILED_SIGNAL, "time_s": None, "maxrss_kib": None, "figure": None,
              "figure_unit": "s", "run": len(times) + k, "threads": threads, "machine": machine,
              "rss_mean_kib": None, "rss_final_kib": None} for k in range(1, failed + 1)]
    return made


s = stats.spread_of([3.0, 1.0, 2.0, 10.0])
t.equal((s.median, s.low, s.high, s.runs), (2.5, 1.0, 10.0, 4), "spread: median, min, max, count")

# Paired, within a set: run k against the baseline's run k.
base = {1: 1.0, 2: 1.5, 3: 1.2}
slower = {1: 2.0, 2: 3.0, 3: 2.4}  # twice the baseline in every round, though the spreads overlap
v = stats.compare(stats.spread_of(list(slower.values())), stats.spread_of(list(base.values())),
                  slower, base)
t.check(v.significant == stats.SIGNIFICANT and v.paired and math.isclose(v.ci_low, 2.0)
        and math.isclose(v.ci_high, 2.0), "paired: 2x in every round is significant, interval [2, 2]", v)
mixed = {1: 0.9, 2: 1.6, 3: 1.3}
v = stats.compare(stats.spread_of(list(mixed.values())), stats.spread_of(list(base.values())), mixed, base)
t.check(v.significant == stats.NOT_SIGNIFICANT and v.ci_low < 1 < v.ci_high,
        "paired: rounds that disagree in direction are not significant", v)
v = stats.compare(stats.spread_of([5.0, 6.0]), stats.spread_of([1.0, 1.1]), {1: 5.0, 2: 6.0}, {1: 1.0, 2: 1.1})
t.equal(v.significant, stats.TOO_FEW_RUNS, "fewer than 3 pairs cannot be judged")
t.check(stats.compare(None, stats.spread_of([1.0])) is None, "no comparison without runs on both sides")

# The A/A case from the issue: two sets of the same commit, an hour apart.
aa_a, aa_b = [1.63, 1.74, 1.76], [2.14, 2.35, 2.36]
v = stats.compare(stats.spread_of(aa_b), stats.spread_of(aa_a), aa_b, aa_a)
t.check(not v.paired and v.significant == stats.SIGNIFICANT,
        "unpaired, no floor: the A/A 1.35x reads as significant (why a floor is needed)", v)
floor = 2.35 / 1.74 - 1
v = stats.compare(stats.spread_of(aa_b), stats.spread_of(aa_a), aa_b, aa_a, floor=floor)
t.equal(v.significant, stats.NOT_SIGNIFICANT, "with the A/A pair's own floor, the same difference is noise")
big = [x * 3 for x in aa_a]
v = stats.compare(stats.spread_of(big), stats.spread_of(aa_a), big, aa_a, floor=floor)
t.equal(v.significant, stats.SIGNIFICANT, "3x stays significant above a 35% floor")
t.equal(stats.paired_interval([(2.0, 1.0), (3.0, 1.0), (1.0, 1.0)]),
        stats.paired_interval([(2.0, 1.0), (3.0, 1.0), (1.0, 1.0)]), "the bootstrap is deterministic")

# Cases: thread counts and machines.
swept = rows("larsonN", "sa", [1.0, 1.0, 1.0], threads=1) + rows("larsonN", "sa", [2.0] * 3, threads=4) \
    + rows("cfrac", "sa", [1.0] * 3, threads=1)
t.equal(stats.ordered_names(swept, {"benchmarks": [{"name": "larsonN"}, {"name": "cfrac"}]}, "cases"),
        ["larsonN@1", "larsonN@4", "cfrac"],
        "a benchmark at several thread counts becomes one case per count; others keep their name")
merged = rows("cfrac", "sa", [1.0] * 3, threads=2, machine="vm") + rows("cfrac", "sa", [1.0] * 3, threads=1,
                                                                         machine="dev16")
t.equal(stats.label_cases(merged), ["cfrac (vm)", "cfrac (dev16)"],
        "in a merged set each machine is a case; threads differing between machines add no @")

# The summary.
data = (rows("cache-scratchN", "mi", [1.0, 1.1, 1.2]) + rows("cache-scratchN", "tc", [18.0, 19.0, 20.0])
        + rows("cache-scratchN", "sa", [1.05, 1.1, 1.3], failed=1) + rows("cache-scratchN", "tbb", [], failed=3))
env = {"benchmarks": [{"name": "cache-scratchN"}],
       "allocators": [{"name": n} for n in ("sa", "mi", "tc", "tbb")]}
entries = summary.build(data, env, "mi")
t.equal([e["variant"] for e in entries], ["sa", "mi", "tc", "tbb"], "the summary keeps the suite's order")
by = {e["variant"]: e for e in entries}
t.check(math.isclose(by["tc"]["time_relative"], 19.0 / 1.1) and by["tc"]["time_significant"] == stats.SIGNIFICANT
        and by["tc"]["time_ci_low"] > 15, "tc is 17x the baseline, significantly, with its interval", by["tc"])
t.equal((by["sa"]["runs_ok"], by["sa"]["runs_failed"], by["sa"]["time_significant"]),
        (3, 1, stats.NOT_SIGNIFICANT), "failed runs are counted apart; sa's rounds disagree with mi's")
t.equal((by["sa"]["rss_mean_median_kib"], by["sa"]["rss_final_median_kib"]), (1024, 512),
        "mean and final RSS are summarised beside the peak")
text = summary.format_text(entries, "mi")
lines = {line.split()[1]: line for line in text.splitlines() if line.startswith("cache-scratchN")}
t.check("17.27" in lines["tc"] and "17.27 ~" not in lines["tc"] and "[" in lines["tc"],
        "summary text: tc's ratio and interval, no flag", lines["tc"])
t.check("1.00 ~" in lines["sa"] and "failed-signal" in lines["sa"],
        "summary text: sa flagged not significant, its failure shown", lines["sa"])
t.check("FAILED" in lines["tbb"], "summary text: an allocator with no passing run says FAILED", lines["tbb"])
t.close()
