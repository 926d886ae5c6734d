"""A results set: the folder results/<host>-<date>-<commit>/ and its files.

    results.csv        one row per measured run (COLUMNS, documented in scripts/README.md)
    environment.json   machine, software versions, commit, command line, settings
    summary.txt        the summary table; summary.csv the same as data
    bench.log          the progress lines of the run
    raw/<benchmark>/<allocator>/run-<k>.*   hyperfine's JSON and log, the program's
                       stdout and stderr, GNU time's rusage, the RSS samples: the
                       evidence for each row (a thread sweep adds a t<threads> level)
    figures/           made by scripts/plot (SVG, PNG, and the gnuplot sources)
"""
import csv
import datetime
import os
import re

CSV_NAME = "results.csv"
ENVIRONMENT_NAME = "environment.json"
SUMMARY_TEXT_NAME = "summary.txt"
SUMMARY_CSV_NAME = "summary.csv"
LOG_NAME = "bench.log"
RAW_DIR = "raw"
FIGURES_DIR = "figures"
RESULTS_ROOT = "results"
DATE_FORMAT = "%Y%m%d-%H%M"

# The columns of results.csv, in order. Keep scripts/README.md's table in step
# (a test checks every name is documented there).
COLUMNS = (
    "benchmark", "group", "allocator", "variant", "settings", "run", "threads", "mode",
    "status", "exit_status", "detail",
    "wall_s", "time_s", "figure", "figure_unit",
    "user_s", "sys_s", "maxrss_kib", "minor_faults", "major_faults",
    "voluntary_switches", "involuntary_switches",
    "started_at", "command", "raw",
    "rss_mean_kib", "rss_final_kib", "rss_samples", "machine", "run_environment",
)
# Columns added after the first results sets were written: a set without them is
# still read (the cells are empty).
LATER_COLUMNS = ("rss_mean_kib", "rss_final_kib", "rss_samples", "machine", "run_environment")
INTEGER_COLUMNS = ("run", "threads", "exit_status", "maxrss_kib", "minor_faults", "major_faults",
                   "voluntary_switches", "involuntary_switches", "rss_mean_kib", "rss_final_kib",
                   "rss_samples")
FLOAT_COLUMNS = ("wall_s", "time_s", "figure", "user_s", "sys_s")


def new_results_dir(root, host, commit):
    """results/<host>-<date>-<commit>[-N]: a fresh folder, never an existing one."""
    stamp = datetime.datetime.now().strftime(DATE_FORMAT)
    base = os.path.join(root, RESULTS_ROOT, f"{slug(host)}-{stamp}-{slug(commit)}")
    path, n = base, 1
    while os.path.exists(path):
        n += 1
        path = f"{base}-{n}"
    return path


def slug(text):
    """A file-name-safe form of a name (variants contain `:` and `=`)."""
    return re.sub(r"[^A-Za-z0-9._+-]", "_", text)


def raw_prefix(results_dir, benchmark, variant, run, threads=None):
    """The path prefix of one run's raw files, relative to the results set; in a
    thread sweep (`threads` given) each thread count has a folder of its own."""
    levels = [RAW_DIR, slug(benchmark)] + ([f"t{threads}"] if threads is not None else [])
    return os.path.join(*levels, slug(variant), f"run-{run}")


class CsvWriter:
    """Writes results.csv a row at a time, flushed, so an interrupted suite keeps
    what it measured."""

    def __init__(self, path):
        self.file = open(path, "w", newline="")
        self.writer = csv.DictWriter(self.file, fieldnames=COLUMNS)
        self.writer.writeheader()
        self.file.flush()

    def write(self, row):
        self.writer.writerow({k: format_value(row.get(k, "")) for k in COLUMNS})
        self.file.flush()

    def close(self):
        self.file.close()


def format_value(value):
    if isinstance(value, float):
        return f"{value:.9g}"  # more digits than any measurement has
    return value


def read_rows(results_dir):
    """The rows of a results set's CSV with numbers as numbers (None when empty)."""
    path = os.path.join(results_dir, CSV_NAME)
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())
                       and c not in LATER_COLUMNS]
            if missing:
                raise ValueError(f"{path}: not a results CSV (missing columns {', '.join(missing)})")
        rows = []
        for row in reader:
            for key in LATER_COLUMNS:
                row.setdefault(key, "")
            for key in INTEGER_COLUMNS:
                row[key] = int(row[key]) if row.get(key) not in (None, "") else None
            for key in FLOAT_COLUMNS:
                row[key] = float(row[key]) if row.get(key) not in (None, "") else None
            rows.append(row)
    return rows
