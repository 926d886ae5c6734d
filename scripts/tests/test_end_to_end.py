#!/usr/bin/env python3
"""scripts/bench end to end on a tiny selection of the real suite (two allocators,
two workloads, one run, quick mode): the CSV, the environment record, the summary
and the figures are produced and well-formed; scripts/plot and scripts/compare
work on the result. Nothing here depends on how fast anything ran."""
import json
import os
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree

from tap import REPO_ROOT, Tap

import environment
import figures
import measure
import readers
import results
import summary

ALLOCATORS = ("sa", "sys")           # ours and the no-preload path
BENCHMARKS = ("cfrac", "xmalloc-testN")  # one per figure group, one read from a throughput
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
t = Tap()


def run(*argv):
    done = subprocess.run([sys.executable, *argv], cwd=REPO_ROOT, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    return done.returncode, done.stdout + done.stderr


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != PNG_SIGNATURE or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def svg_texts(path):
    root = ElementTree.parse(path).getroot()
    return root.tag.endswith("svg"), " ".join(e.text or "" for e in root.iter())


with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "set")
    status, log = run("scripts/bench", "-a", ",".join(ALLOCATORS), "-b", ",".join(BENCHMARKS),
                      "--runs", "1", "--out", out)
    if not t.check(status == 0, "scripts/bench -a sa,sys -b cfrac,xmalloc-testN --runs 1 passes", log):
        t.close()
    t.check("run 1 of 1" in log and "left]" in log, "progress lines say the run and the time left", log)

    # results.csv: the documented columns, one row per run, every run ok with its numbers.
    rows = results.read_rows(out)
    with open(os.path.join(out, results.CSV_NAME)) as f:
        header = f.readline().strip().split(",")
    t.equal(tuple(header), results.COLUMNS, "results.csv has the documented columns in order")
    t.equal(sorted((r["benchmark"], r["variant"]) for r in rows),
            sorted((b, a) for b in BENCHMARKS for a in ALLOCATORS), "one row per benchmark and allocator")
    t.check(all(r["status"] == measure.OK and r["exit_status"] == 0 for r in rows),
            "every run passed", [(r["benchmark"], r["variant"], r["status"], r["detail"]) for r in rows])
    numeric = ("wall_s", "time_s", "figure", "maxrss_kib", "minor_faults")
    t.check(all(all(r[c] is not None and r[c] > 0 for c in numeric) for r in rows),
            "wall time, time, figure, peak RSS and faults are positive numbers", rows)
    t.check(all(r["user_s"] is not None and r["sys_s"] is not None for r in rows), "user and system time")
    t.check(all(r["run"] == 1 and r["mode"] == "quick" and r["threads"] >= 1 for r in rows),
            "run number, mode and threads are recorded")
    for r in rows:
        if r["benchmark"] == "xmalloc-testN":
            t.check(abs(r["time_s"] - readers.xmalloc_relative_time(r["figure"])) < 1e-6 * r["time_s"],
                    f"xmalloc-testN/{r['variant']}: time is 100 / the program's Mfree/s", r)
        else:
            t.equal(r["time_s"], r["wall_s"], f"cfrac/{r['variant']}: time is the wall time")
        t.check(("LD_PRELOAD=" in r["command"]) == (r["variant"] == "sa"),
                f"{r['benchmark']}/{r['variant']}: preloads exactly its own library", r["command"])
        raw = measure.RunFiles(os.path.join(out, r["raw"]))
        with open(raw.hyperfine_json) as f:
            t.equal(len(json.load(f)["results"][0]["times"]), 1,
                    f"{r['benchmark']}/{r['variant']}: hyperfine's JSON is kept, one timed run")
        t.check(os.path.getsize(raw.stdout) > 0 and os.path.exists(raw.rusage),
                f"{r['benchmark']}/{r['variant']}: the program's output and GNU time's report are kept")

    # environment.json
    with open(os.path.join(out, results.ENVIRONMENT_NAME)) as f:
        env = json.load(f)
    t.check(all(k in env for k in environment.REQUIRED_KEYS), "the environment record has every key",
            [k for k in environment.REQUIRED_KEYS if k not in env])
    t.check(env["cpu_model"] and env["cores"] >= 1 and env["kernel"] and env["glibc"] and env["compiler"]
            and env["commit"], "it names the CPU, cores, kernel, glibc, compiler and commit", env)
    t.equal([a["name"] for a in env["allocators"]], list(ALLOCATORS), "it lists the allocators in order")
    t.check(all(a["version"] for a in env["allocators"] if a["package"] != "-"),
            "it gives each packaged allocator's version", env["allocators"])
    t.check(env["runs"] == 1 and env["mode"] == "quick" and "-a sa,sys" in env["command_line"],
            "it records the settings and the command line", env["command_line"])

    # summary
    with open(os.path.join(out, results.SUMMARY_TEXT_NAME)) as f:
        text = f.read()
    t.check(all(f"{b}  " in text for b in BENCHMARKS) and "relative to sa" in text,
            "summary.txt has every benchmark, relative to the default baseline (sa: no mi here)", text)
    with open(os.path.join(out, results.SUMMARY_CSV_NAME)) as f:
        t.equal(tuple(f.readline().strip().split(",")), summary.CSV_COLUMNS, "summary.csv has its columns")

    # figures: relative per group and measure, absolute per benchmark, SVG and PNG.
    names = [f"{m}-{g}" for g in ("real-world", "stress") for m in figures.MEASURES]
    names += [f"absolute-{b}" for b in BENCHMARKS]
    for name in names:
        svg = os.path.join(out, results.FIGURES_DIR, name + ".svg")
        png = os.path.join(out, results.FIGURES_DIR, name + ".png")
        try:
            is_svg, texts = svg_texts(svg)
        except (OSError, ElementTree.ParseError) as e:
            is_svg, texts = False, str(e)
        t.check(is_svg and all(a in texts for a in ALLOCATORS),
                f"{name}.svg is well-formed SVG naming the allocators", texts[:500])
        size = png_size(png) if os.path.exists(png) else None
        t.check(size is not None and size[0] > 0 and size[1] > 0, f"{name}.png is a PNG image", size)

    status, log = run("scripts/plot", out)
    t.check(status == 0 and log.count(".svg") == len(names), "scripts/plot redraws every figure", log)
    status, log = run("scripts/compare", out, out)
    t.check(status == 0 and "1.00" in log and all(b in log for b in BENCHMARKS),
            "scripts/compare shows a set against itself at 1.00", log)

t.close()
