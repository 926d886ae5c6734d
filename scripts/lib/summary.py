"""The summary table of a results set: per benchmark and allocator, median and
min-max of time and peak RSS, relative to the baseline, with the significance flag.
Written as summary.txt (for people) and summary.csv (for programs)."""
import csv
import os

import results
import stats

FLAG = {stats.SIGNIFICANT: " ", stats.NOT_SIGNIFICANT: "~", stats.TOO_FEW_RUNS: "?"}
LEGEND = (
    "median [min-max] of the runs that passed; rel = median / the baseline's median "
    "(lower is better),\n"
    "  with the 95% bootstrap interval of the paired ratios (run k against the baseline's "
    "run k, which ran beside it).\n"
    "  ~ after rel: the interval includes 1, not significant; "
    "? : fewer than {min_runs} runs on a side, cannot tell.\n"
    "  time: wall time, or for throughput workloads the tradition's relative time "
    "(larson 1e9/ops, xmalloc 100/Mfree, rptest 2e6/ops).")
CSV_COLUMNS = (
    "benchmark", "group", "variant", "runs_ok", "runs_failed", "failures",
    "time_median_s", "time_min_s", "time_max_s", "time_relative", "time_significant",
    "maxrss_median_kib", "maxrss_min_kib", "maxrss_max_kib", "maxrss_relative",
    "maxrss_significant", "figure_median", "figure_unit", "baseline",
    "case", "threads", "machine", "time_ci_low", "time_ci_high", "maxrss_ci_low",
    "maxrss_ci_high", "rss_mean_median_kib", "rss_final_median_kib",
)


def build(rows, environment, baseline):
    """One dict per (case, variant) in suite order, with CSV_COLUMNS keys."""
    cases = stats.ordered_names(rows, environment, "cases")
    cells = stats.cells_of(rows)
    first = {}
    for r in rows:
        first.setdefault(r["case"], r)
    entries = []
    for case in cases:
        row = first[case]
        base = cells.get((case, baseline))
        for variant in stats.ordered_names(rows, environment, "allocators"):
            cell = cells.get((case, variant))
            if cell is None:
                continue
            entry = {"benchmark": row["benchmark"], "group": row["group"], "variant": variant,
                     "case": case, "threads": row["threads"], "machine": row.get("machine", ""),
                     "runs_ok": len(cell.ok_runs), "runs_failed": len(cell.failed_runs),
                     "failures": cell.failures, "figure_unit": row["figure_unit"],
                     "baseline": baseline}
            for name, column in (("time", "time_s"), ("maxrss", "maxrss_kib")):
                spread = cell.spread(column)
                if spread:
                    entry.update({f"{name}_median{_unit(name)}": spread.median,
                                  f"{name}_min{_unit(name)}": spread.low,
                                  f"{name}_max{_unit(name)}": spread.high})
                versus = None
                if base:
                    versus = stats.compare(spread, base.spread(column),
                                           stats.run_values(cell, column),
                                           stats.run_values(base, column))
                if versus:
                    entry[f"{name}_relative"] = versus.ratio
                    entry[f"{name}_significant"] = versus.significant
                    if versus.ci_low is not None and variant != baseline:
                        entry[f"{name}_ci_low"] = versus.ci_low
                        entry[f"{name}_ci_high"] = versus.ci_high
            for name in ("rss_mean", "rss_final"):
                spread = cell.spread(f"{name}_kib")
                entry[f"{name}_median_kib"] = round(spread.median) if spread else ""
            figure = cell.spread("figure")
            entry["figure_median"] = figure.median if figure else ""
            entries.append(entry)
    return entries


def _unit(name):
    return "_s" if name == "time" else "_kib"


def write(results_dir, rows, environment, baseline):
    """Write summary.txt and summary.csv; return the text."""
    entries = build(rows, environment, baseline)
    with open(os.path.join(results_dir, results.SUMMARY_CSV_NAME), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for entry in entries:
            writer.writerow({k: results.format_value(entry.get(k, "")) for k in CSV_COLUMNS})
    text = format_text(entries, baseline)
    with open(os.path.join(results_dir, results.SUMMARY_TEXT_NAME), "w") as f:
        f.write(text)
    return text


def format_text(entries, baseline):
    header = ("benchmark", "allocator", "ok", "time s: median [min-max]", "rel [95% interval]",
              "peak RSS MiB: median [min-max]", "rel [95% interval]", "mean/final RSS MiB",
              "program's figure")
    lines = [header]
    for e in entries:
        ok = f"{e['runs_ok']}/{e['runs_ok'] + e['runs_failed']}"
        if not e["runs_ok"]:
            lines.append((e["case"], e["variant"], ok, f"FAILED: {e['failures']}", "", "", "", "", ""))
            continue
        time = f"{number(e['time_median_s'])} [{number(e['time_min_s'])}-{number(e['time_max_s'])}]"
        rss = "-"
        if e.get("maxrss_median_kib") is not None:
            rss = " ".join((number(e["maxrss_median_kib"] / stats.KIB_PER_MIB),
                            f"[{number(e['maxrss_min_kib'] / stats.KIB_PER_MIB)}-"
                            f"{number(e['maxrss_max_kib'] / stats.KIB_PER_MIB)}]"))
        figure = ""
        if e["figure_unit"] != "s" and e["figure_median"] != "":
            figure = f"{number(e['figure_median'])} {e['figure_unit']}"
        if e["runs_failed"]:
            figure = (figure + "  " if figure else "") + f"(failed: {e['failures']})"
        over_time = "-"
        if e.get("rss_mean_median_kib") not in (None, ""):
            over_time = (f"{number(e['rss_mean_median_kib'] / stats.KIB_PER_MIB)}/"
                         f"{number(e['rss_final_median_kib'] / stats.KIB_PER_MIB)}")
        lines.append((e["case"], e["variant"], ok, time, relative(e, "time"),
                      rss, relative(e, "maxrss"), over_time, figure))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    body = "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip()
                     for line in lines)
    legend = LEGEND.format(min_runs=stats.MIN_RUNS_TO_JUDGE)
    machines = sorted({e["machine"] for e in entries if e.get("machine")})
    where = f" Machines: {', '.join(machines)}." if len(machines) > 1 else ""
    return f"Summary, relative to {baseline}: {legend}{where}\n\n{body}\n"


def relative(entry, name):
    if entry["variant"] == entry["baseline"]:
        return "1.00  "
    ratio = entry.get(f"{name}_relative")
    if ratio is None:
        return "n/a"
    text = f"{ratio:.2f} {FLAG[entry[f'{name}_significant']]}"
    if entry.get(f"{name}_ci_low") is not None:
        text += f" [{entry[f'{name}_ci_low']:.2f}-{entry[f'{name}_ci_high']:.2f}]"
    return text


def number(x):
    """Three significant digits, without exponents for everyday magnitudes."""
    if x is None:
        return "-"
    if abs(x) >= 1000:
        return f"{x:.3g}" if abs(x) >= 1e6 else f"{x:.0f}"
    return f"{x:.3g}"
