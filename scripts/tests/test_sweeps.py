#!/usr/bin/env python3
"""Thread sweeps, the time budget, merging machines and the device script, end to
end on tiny selections of the real suite: each writes a results set that plot and
compare accept, with the figures the feature promises (scaling, RSS over time, a
caption per machine). Nothing here depends on how fast anything ran, except that the
budget test's budget is far below what two rounds take."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from tap import REPO_ROOT, Tap

import results

t = Tap()


def run(*argv, cwd=REPO_ROOT):
    done = subprocess.run([sys.executable, *argv], cwd=cwd, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    return done.returncode, done.stdout + done.stderr


with tempfile.TemporaryDirectory() as tmp:
    sweep = os.path.join(tmp, "sweep")
    status, log = run("scripts/bench", "-a", "sa,sys", "-b", "cfrac,larsonN", "--threads", "1,2",
                      "--runs", "1", "--pin", "--machine", "box-a", "--out", sweep)
    if not t.check(status == 0, "a thread sweep --threads 1,2 runs", log):
        t.close()
    rows = results.read_rows(sweep)
    t.equal(sorted({(r["benchmark"], r["threads"]) for r in rows}),
            [("cfrac", 1), ("larsonN", 1), ("larsonN", 2)],
            "larsonN runs at each count; cfrac (no {threads}) once")
    t.check(all(r["machine"] == "box-a" and r["command"].startswith("taskset -c ") for r in rows),
            "rows name the machine; pinned runs show taskset in their command", [r["command"] for r in rows])
    t.check(all(r["rss_samples"] and r["rss_mean_kib"] and r["run_environment"] == (
        "LD_PRELOAD=" + os.path.join(REPO_ROOT, "build/release/libshardalloc.so") if r["variant"] == "sa" else "")
        for r in rows), "RSS is sampled and each run's allocator environment recorded",
        [(r["variant"], r["rss_samples"], r["run_environment"]) for r in rows])
    env = json.load(open(os.path.join(sweep, results.ENVIRONMENT_NAME)))
    t.check(env["threads"] == [1, 2] and env["pinned"] is True and env["cpu_governor"] and env["thp_enabled"],
            "environment.json records the sweep, the pinning, the governor and THP",
            {k: env.get(k) for k in ("threads", "pinned", "cpu_governor", "thp_enabled")})
    figures = set(os.listdir(os.path.join(sweep, results.FIGURES_DIR)))
    t.check({"scaling-larsonN.svg", "rss-time-larsonN_1.svg", "rss-time-larsonN_2.svg",
             "absolute-larsonN_2.png"} <= figures, "a scaling figure and RSS-over-time figures are drawn",
            sorted(figures))
    summary_text = open(os.path.join(sweep, results.SUMMARY_TEXT_NAME)).read()
    t.check("larsonN@1" in summary_text and "larsonN@2" in summary_text, "the summary has a row per thread count")
    status, log = run("scripts/bench", "-b", "cfrac", "-a", "sys", "--threads", "64", "--runs", "1",
                      "--no-plot", "--out", os.path.join(tmp, "over"))
    t.check(status == 0 and "exceeds the" in log, "threads above the cores give a warning", log)

    budget = os.path.join(tmp, "budget")
    # larsonN runs 1 s a round (cfrac's 0.5 s made two rounds fit a 1 s budget on a fast machine)
    status, log = run("scripts/bench", "-a", "sys", "-b", "larsonN", "--threads", "1", "--runs", "5", "--budget", "1",
                      "--no-plot", "--out", budget)
    env = json.load(open(os.path.join(budget, results.ENVIRONMENT_NAME)))
    t.check(status == 0 and env["stopped_by_budget"] and env["rounds_completed"] == 1 and env["runs"] == 1
            and len(results.read_rows(budget)) == 1, "--budget stops between whole rounds, and says so",
            log[-800:] + json.dumps({k: env.get(k) for k in ("stopped_by_budget", "rounds_completed", "runs")}))

    other = os.path.join(tmp, "other")
    shutil.copytree(sweep, other)
    merged = os.path.join(tmp, "merged")
    status, log = run("scripts/merge", "--out", merged, f"{sweep}=box-a", f"{other}=box-b")
    t.check(status == 0, "scripts/merge merges two sets", log)
    rows = results.read_rows(merged)
    t.equal(sorted({r["machine"] for r in rows}), ["box-a", "box-b"], "each row keeps its machine")
    t.check(all(os.path.exists(os.path.join(merged, r["raw"] + ".stdout.txt")) for r in rows),
            "the raw files come along under raw/<machine>/")
    text = open(os.path.join(merged, results.SUMMARY_TEXT_NAME)).read()
    t.check("larsonN@2 (box-b)" in text and "Machines: box-a, box-b" in text,
            "the summary says which machine each row is", text[:1500])
    svg = open(os.path.join(merged, results.FIGURES_DIR, "time-real-world.svg")).read()
    t.check("box-a = " in svg and "box-b = " in svg, "the figures' caption names each machine")
    t.check(os.path.exists(os.path.join(merged, results.FIGURES_DIR, "scaling-larsonN-box-b.svg")),
            "a scaling figure per machine")
    referred = os.path.join(tmp, "referred")
    status, log = run("scripts/merge", "--raw", "refer", "--out", referred, f"{sweep}=box-a", f"{other}=box-b",
                      "--no-plot")
    rows = results.read_rows(referred) if status == 0 else []
    t.check(rows and not os.path.exists(os.path.join(referred, "raw")) and all(
        os.path.exists(os.path.join(referred, r["raw"] + ".stdout.txt")) for r in rows),
        "merge --raw refer points into the source sets instead of copying", log)
    status, log = run("scripts/merge", "--out", os.path.join(tmp, "m2"), sweep, sweep)
    t.check(status == 2 and "same machine name" in log, "merging two sets of one name asks for names", log)

    # The device script's rehearsal: a tiny run that writes a set plot and compare accept.
    device = os.path.join(tmp, "device")
    status, log = run("scripts/device-run", "run", "--budget", "60", "--threads", "1,2", "--runs", "1",
                      "-b", "cfrac,larsonN", "-a", "sa,sys", "--no-plot", "--out", device)
    t.check(status == 0 and "--offline" in log and os.path.isfile(os.path.join(device, "results.csv")),
            "scripts/device-run run (a rehearsal) writes a results set", log[-2000:])
    elsewhere = tempfile.mkdtemp(dir=tmp)
    status, log = run(os.path.join(REPO_ROOT, "scripts", "plot"), os.path.relpath(device, elsewhere),
                      cwd=elsewhere)
    t.check(status == 0 and "scaling-larsonN.svg" in log, "scripts/plot accepts it (from elsewhere, relative)", log)
    status, log = run("scripts/compare", device, sweep)
    t.check(status == 0 and "larsonN@2" in log, "scripts/compare accepts it", log)

# The converted 16-core set and the merged reference report are real results sets.
for name in ("device-16core-2026-11-26", "merged-vm-dev16"):
    path = os.path.join(REPO_ROOT, "results", name)
    rows = results.read_rows(path)
    t.check(rows and all(r["status"] == "ok" for r in rows), f"results/{name} is a results set of passing runs")
status, log = run("scripts/compare", "results/vm-20261126-0226-911d2f2f1c", "results/device-16core-2026-11-26")
t.check(status == 0 and "cfrac" in log, "scripts/compare takes the 2-core and the 16-core sets", log)
t.close()
