#!/usr/bin/env python3
"""scripts/paper builds the paper's text from a small results set made here, and every
number it prints is found in the data.

What "every number" means (check_numbers below):
- a number is a decimal token in paper.md, `12` or `0.83`, standing alone or followed
  by `%` or `x`: a digit run glued to a letter, `_`, `.` or `/` is part of a name
  (alloc-test1, x86_64, 2.0.9, f35838a) and is not a number;
- left out: code spans (`...`: commands, paths, variant names), citation marks
  ([1], [4, 5]), and the References section (years and report numbers);
- a number passes when, at the decimals it is printed with, it equals a value of the
  input (any number in results.csv, environment.json, cost-per-pair.csv or
  memory-return.csv) or one derived here by a named function, re-computed by this test
  from the input: median (per benchmark and allocator, of time, peak RSS in KiB and MiB,
  mean RSS in MiB, the program's figure and it in millions), ratio (of two allocators'
  medians), percent_more / percent_less (of such a ratio, and of one allocator's
  instructions per pair against another's), geometric_mean (of one allocator's time
  ratios to another's over the benchmarks), spread (max - min over the median, in
  percent), gib (memory), the memory-return medians, a count (0 up to the number of
  benchmarks), or a constant of the harness that says how data is read
  (stats.CONFIDENCE in percent, stats.BOOTSTRAP_RESAMPLES, stats.MIN_RUNS_TO_JUDGE,
  figures.CLIP).
The claims are checked beyond that: "faster than mimalloc on X of Y" must give the
count of benchmarks whose paired interval (stats.compare) lies below 1.
"""
import csv
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile

from tap import Tap, REPO_ROOT

import figures
import results
import stats

t = Tap()
PAPER = os.path.join(REPO_ROOT, "scripts", "paper")
NUMBER = re.compile(r"(?<![\w./-])(\d+(?:\.\d+)?)(?=%|x\b|[^\w./]|\.(?!\d)|$)")
CODE = re.compile(r"`[^`]*`")
CITATION = re.compile(r"\[\d+(?:, \d+)*\]")

# The fixture: cfrac, where sa is faster than mi in every round, and xmalloc-testN,
# where they trade places (level); je slower on both.
TIMES = {("cfrac", "sa"): (0.90, 0.95, 0.93), ("cfrac", "mi"): (1.00, 1.02, 1.01),
         ("cfrac", "je"): (1.30, 1.25, 1.27),
         ("xmalloc-testN", "sa"): (2.10, 1.90, 2.05), ("xmalloc-testN", "mi"): (2.00, 2.02, 1.95),
         ("xmalloc-testN", "je"): (4.40, 4.10, 4.30)}
RSS = {"sa": 2300, "mi": 2600, "je": 4100}
GROUP = {"cfrac": "real-world", "xmalloc-testN": "stress"}
VERSIONS = {"sa": ("-", "abc1234567"), "mi": ("libmimalloc2.0", "2.0.9+ds-2"),
            "je": ("libjemalloc2", "5.3.0-1")}


SECURE_TIMES = {("cfrac", "sa-secure"): (0.97, 1.00, 0.99),
                ("xmalloc-testN", "sa-secure"): (2.20, 2.00, 2.15)}
RSS["sa-secure"] = 2400
VERSIONS["sa-secure"] = VERSIONS["sa"]


def make_set(folder, secure=False):
    """The fixture set; with `secure`, sa-secure rows too (the secure build's section)."""
    times = {**TIMES, **(SECURE_TIMES if secure else {})}
    os.makedirs(folder)
    writer = results.CsvWriter(os.path.join(folder, results.CSV_NAME))
    for run in (1, 2, 3):
        for (benchmark, variant), runs in times.items():
            x = runs[run - 1]
            writer.write({"benchmark": benchmark, "group": GROUP[benchmark], "allocator": variant,
                          "variant": variant, "run": run, "threads": 2, "mode": "quick",
                          "status": "ok", "exit_status": 0, "wall_s": x, "time_s": x, "figure": x,
                          "figure_unit": "s", "maxrss_kib": RSS[variant] + 10 * run,
                          "rss_mean_kib": RSS[variant] // 2, "rss_final_kib": RSS[variant] // 3,
                          "rss_samples": 0, "machine": "box", "raw": ""})
    writer.close()
    env = {"host": "box", "machine": "box", "cpu_model": "Test CPU", "cores": 2,
           "memory_kib": 8000000, "kernel": "Linux 6.1", "glibc": "2.36", "compiler": "gcc 12.2.0",
           "commit": "abc1234567", "mode": "quick", "runs": 3, "threads": 2, "baseline": "mi",
           "allocators": [{"name": n, "package": p, "version": v, "colour": "#123456"}
                          for n, (p, v) in VERSIONS.items() if secure or n != "sa-secure"],
           "benchmarks": [{"name": b, "group": g} for b, g in GROUP.items()]}
    with open(os.path.join(folder, "environment.json"), "w") as f:
        json.dump(env, f)
    with open(os.path.join(folder, "cost-per-pair.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["allocator", "package", "version", "cfrac_number", "malloc_calls", "instructions",
                    "per_pair", "commit", "host", "cpu_model", "machine"])
        for n, instructions in (("sa", 3800), ("mi", 4420), ("je", 6730)):
            p, v = VERSIONS[n]
            w.writerow([n, p, v, "1000003", 100, instructions, f"{instructions / 100:.1f}",
                        "abc1234567", "box", "Test CPU", "box"])
    with open(os.path.join(folder, "memory-return.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["allocator", "package", "version", "mode", "run", "status", "before_mib",
                    "peak_mib", "held_mib", "held_percent", "commit", "host", "cpu_model", "machine"])
        for n, held in (("sa", (0.3, 0.4, 0.3)), ("mi", (99.1, 99.3, 99.2)), ("je", (27.5, 28.0, 28.4))):
            p, v = VERSIONS[n]
            for run, h in enumerate(held, 1):
                w.writerow([n, p, v, "live", run, "ok", 1.5, 650.0 + run, 650 * h / 100, h,
                            "abc1234567", "box", "Test CPU", "box"])


def numbers_in_data(folder):
    """Every number in the input files, as floats."""
    found = set()
    for name in ("results.csv", "cost-per-pair.csv", "memory-return.csv"):
        with open(os.path.join(folder, name), newline="") as f:
            for row in csv.reader(f):
                for cell in row:
                    found.update(float(x) for x in re.findall(r"\d+(?:\.\d+)?", cell))
    with open(os.path.join(folder, "environment.json")) as f:
        found.update(float(x) for x in re.findall(r"\d+(?:\.\d+)?", f.read()))
    return found


def median(values):
    return statistics.median(values)


def ratio(a, b):
    return a / b


def percent_more(r):
    return (r - 1) * 100


def percent_less(r):
    return (1 - r) * 100


def geometric_mean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values))


def derived(folder):
    """The numbers the paper may derive, re-computed from the input files."""
    rows = list(csv.DictReader(open(os.path.join(folder, "results.csv"), newline="")))
    cells = {}
    for r in rows:
        cells.setdefault((r["benchmark"], r["variant"]), []).append(r)
    out = set()
    medians = {}
    for key, runs in cells.items():
        for column in ("time_s", "maxrss_kib", "figure", "rss_mean_kib"):
            values = [float(r[column]) for r in runs]
            m = median(values)
            medians[key + (column,)] = m
            out.update({m, m / 1024, m / 1e6})
            if m > 0:
                out.add((max(values) - min(values)) / m * 100)
    for (b1, v1, c1), m1 in medians.items():
        for (b2, v2, c2), m2 in medians.items():
            if (b1, c1) == (b2, c2) and m2 > 0:
                r = ratio(m1, m2)
                out.update({r, percent_more(r), percent_less(r)})
    benchmarks = sorted({b for b, _ in cells})
    variants = sorted({v for _, v in cells})
    for v1 in variants:
        for v2 in variants:
            ratios = [ratio(medians[(b, v1, "time_s")], medians[(b, v2, "time_s")]) for b in benchmarks
                      if (b, v1, "time_s") in medians and (b, v2, "time_s") in medians]
            if ratios:
                out.add(geometric_mean(ratios))
    cost = list(csv.DictReader(open(os.path.join(folder, "cost-per-pair.csv"), newline="")))
    for a in cost:
        for b in cost:
            r = ratio(float(a["per_pair"]), float(b["per_pair"]))
            out.update({percent_more(r), percent_less(r)})
    memory = list(csv.DictReader(open(os.path.join(folder, "memory-return.csv"), newline="")))
    for key in {(r["allocator"], r["mode"]) for r in memory}:
        runs = [r for r in memory if (r["allocator"], r["mode"]) == key]
        out.add(median([float(r["held_percent"]) for r in runs]))
        out.add(median([float(r["peak_mib"]) for r in runs]))
    env = json.load(open(os.path.join(folder, "environment.json")))
    out.add(env["memory_kib"] / 1024 / 1024)
    out.update(range(0, len({b for b, _ in cells}) + 1))
    out.update({stats.CONFIDENCE * 100, stats.BOOTSTRAP_RESAMPLES, stats.MIN_RUNS_TO_JUDGE,
                *figures.CLIP.values()})
    return out


def printed_numbers(text):
    """The numbers of paper.md the rule covers (see the docstring)."""
    text = text.split("\n## References")[0]
    text = CODE.sub(" ", text)
    text = CITATION.sub(" ", text)
    return NUMBER.findall(text)


def matches(token, value):
    decimals = len(token.split(".")[1]) if "." in token else 0
    return f"{value:.{decimals}f}" == token


def check_numbers(text, allowed):
    """The printed numbers found neither in the data nor among the derived ones."""
    return sorted({tok for tok in printed_numbers(text) if not any(matches(tok, v) for v in allowed)})


def run_paper(folder, out):
    return subprocess.run([sys.executable, PAPER, "--markdown-only", "--out", out, folder],
                          capture_output=True, text=True, cwd=REPO_ROOT)


with tempfile.TemporaryDirectory() as tmp:
    fixture = os.path.join(tmp, "results", "box-fixture")
    make_set(fixture)
    out = os.path.join(tmp, "paper")
    done = run_paper(fixture, out)
    t.check(done.returncode == 0, "scripts/paper --markdown-only builds the text of a small set",
            done.stdout + done.stderr)
    text = open(os.path.join(out, "paper.md")).read() if done.returncode == 0 else ""
    t.check(not os.path.exists(os.path.join(out, "paper.tex")) and not os.path.exists(
        os.path.join(out, "figures")), "--markdown-only writes no LaTeX and draws no figure")
    allowed = numbers_in_data(fixture) | derived(fixture)
    printed = printed_numbers(text)
    t.check(len(printed) > 40, f"the text prints numbers ({len(printed)} of them)", text[:2000])
    bad = check_numbers(text, allowed)
    t.check(not bad, "every number the text prints is in the data or derived from it",
            "not found: " + ", ".join(bad))
    forged = text.replace("## Design", "shardalloc is 7.77x faster.\n\n## Design", 1)
    t.equal(check_numbers(forged, allowed), ["7.77"], "the check finds a number typed by hand")
    for heading in ("Abstract", "Design", "Method", "Time and memory, relative to mimalloc",
                    "Thread scaling", "Memory over time and memory return", "Tuned options",
                    "The fast path", "Threats to validity", "References"):
        t.check(f"\n## {heading}\n" in text, f"the paper has its section {heading!r}")
    t.check("secure build" not in text.lower().split("## threats")[0],
            "no secure-build section without a sa-secure set")
    # the claim: sa faster than mi on cfrac in every round, level on xmalloc-testN
    t.check("shardalloc is faster than mimalloc on 1 of 2 benchmarks" in text
            and "not distinguishable on 1" in text, "the claim counts what the data says",
            "\n".join(l for l in text.splitlines() if "faster than mimalloc" in l))
    for label, key in (("Larson", "larson"), ("Lever", "xmalloc"), ("MSR-TR-2019-18", "report")):
        t.check(label in text.split("## References")[-1], f"the references cite {label}")
    t.check("2.0.9+ds-2" in text and "5.3.0-1" in text, "the peers' package versions are printed")
    again = os.path.join(tmp, "again")
    run_paper(fixture, again)
    t.equal(open(os.path.join(again, "paper.md")).read(), text, "a second run writes the same text")
    secure = os.path.join(tmp, "results", "box-secure")
    make_set(secure, secure=True)
    done = run_paper(secure, os.path.join(tmp, "secure-paper"))
    text = open(os.path.join(tmp, "secure-paper", "paper.md")).read() if done.returncode == 0 else ""
    t.check("\n## The secure build's cost\n" in text, "a set with sa-secure gives the secure build's section",
            done.stderr)
    bad = check_numbers(text, numbers_in_data(secure) | derived(secure))
    t.check(not bad and "geometric mean" in text,
            "the secure section's numbers are in the data or derived from it (geometric mean)",
            "not found: " + ", ".join(bad))
    no_set = run_paper(os.path.join(tmp, "nowhere"), os.path.join(tmp, "x"))
    t.check(no_set.returncode == 2 and "nowhere" in no_set.stderr,
            "a missing set: a message naming it, exit status 2", no_set.stderr)

t.close()
