#!/usr/bin/env python3
"""Turn scale.txt (the ad-hoc output of scale.sh) into a results set in this folder,
so scripts/plot, compare and merge accept it.

What the data allows: one run per allocator and thread count (so no interval can be
given: every comparison reads `?`), wall time from `date` around each run (start-up
included), the program's own figure from its last line, read and checked by the
harness's readers. No peak RSS, faults or CPU times were recorded: those cells are
empty, and the RSS figures show nothing for this machine. The arguments were neither
quick nor full (xmalloc-test -t 2, larson 2 s, cache-* and cfrac full): the mode is
`custom`. Run from anywhere: python3 results/device-16core-2026-11-26/to-results-set.py
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts", "lib"))
import allocators as allocator_list  # noqa: E402
import environment  # noqa: E402
import readers  # noqa: E402
import results  # noqa: E402
import summary  # noqa: E402

MACHINE = "dev16"
# scale.txt's benchmark -> (our benchmark, reader, command template as scale.sh ran it)
BENCHMARKS = {
    "xmalloc-test": ("xmalloc-testN", "stress", "xmalloc", "xmalloc-test -w {threads} -t 2 -s 64"),
    "larson": ("larsonN", "real-world", "larson", "larson 2 8 1000 5000 100 4141 {threads}"),
    "cache-scratch": ("cache-scratchN", "stress", "elapsed", "cache-scratch {threads} 1000 1 2000000 {threads}"),
    "cache-thrash": ("cache-thrashN", "stress", "elapsed", "cache-thrash {threads} 1000 1 2000000 {threads}"),
    "cfrac": ("cfrac", "real-world", "cfrac", "cfrac 17545186520507317056371138836327483792789528"),
}
# scale.sh's allocator names -> (allocator, variant, settings)
VARIANTS = {"sa-nobatch": ("sa", "sa:SHARDALLOC_REMOTE_BATCH=0", "SHARDALLOC_REMOTE_BATCH=0")}


def main():
    declared = allocator_list.load()
    rows = []
    with open(os.path.join(HERE, "scale.txt")) as f:
        lines = [line.rstrip("\n") for line in f if "|" in line]
    for line in lines:
        bench, threads, name, rc, wall, last = line.split("|", 5)
        ours, group, reads, template = BENCHMARKS[bench]
        base, variant, settings = VARIANTS.get(name, (name, name, ""))
        wall_s = int(wall.split("=")[1]) / 1000
        argv = template.replace("{threads}", threads).split()
        row = {"benchmark": ours, "group": group, "allocator": base, "variant": variant,
               "settings": settings, "run": 1, "threads": int(threads), "mode": "custom",
               "exit_status": int(rc.split("=")[1]), "wall_s": wall_s,
               "figure_unit": readers.READERS[reads].figure_unit, "machine": MACHINE,
               "command": " ".join(argv), "started_at": "2026-11-26", "raw": ""}
        try:
            reading = readers.READERS[reads].read(last, argv, wall_s)
            row.update(status="ok" if row["exit_status"] == 0 else "failed-exit",
                       time_s=reading.time_s, figure=reading.figure)
        except readers.BadOutput as e:
            row.update(status="failed-check", detail=str(e))
        rows.append(row)
    writer = results.CsvWriter(os.path.join(HERE, results.CSV_NAME))
    for row in rows:
        writer.write(row)
    writer.close()
    order = ["sa", "sa:SHARDALLOC_REMOTE_BATCH=0", "mi", "tc", "je", "tbb", "sys"]
    allocators = []
    for name in order:
        base = name.split(":")[0]
        colour = declared[base].colour if name == base else allocator_list.lighten(
            declared[base].colour, 0.4)
        allocators.append({"name": name, "allocator": base, "colour": colour,
                           "settings": VARIANTS.get("sa-nobatch")[2] if name != base else ""})
    record = {
        "date": "2026-11-26", "host": "lent 16-core machine", "machine": MACHINE,
        "cpu_model": "unknown (not recorded)", "cores": 16, "memory_kib": 128 * 1024 * 1024,
        "kernel": "Linux 6.18.44-fc-v657-gpu", "commit": "f35838a", "mode": "custom", "runs": 1,
        "warmup": 0, "threads": [1, 4, 8, 16], "baseline": "mi", "pinned": False,
        "command_line": "THREADS='1 4 8 16' ./scale.sh (see README.md); converted by to-results-set.py",
        "converted_from": "scale.txt",
        "not_measured": "peak RSS, page faults, context switches, user/system time, RSS over time",
        "allocators": allocators,
        "benchmarks": [{"name": o, "group": g, "reads": r, "template": t,
                        "figure_unit": readers.READERS[r].figure_unit,
                        "higher_is_better": readers.READERS[r].higher_is_better}
                       for o, g, r, t in BENCHMARKS.values()],
    }
    environment.write(os.path.join(HERE, results.ENVIRONMENT_NAME), record)
    print(summary.write(HERE, results.read_rows(HERE), record, "mi"), end="")


if __name__ == "__main__":
    main()
