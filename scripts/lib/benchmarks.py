"""The benchmarks: the declarative list (scripts/benchmarks.txt) and -b."""
import os
import re
import shlex
import shutil
from dataclasses import dataclass

import readers
import selection
import tables

SCRIPTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHMARK_LIST = os.path.join(SCRIPTS_DIR, "benchmarks.txt")
COLUMNS = ("name", "group", "reads", "quick", "full")
GROUPS = ("real-world", "stress")  # the report's figure sets 1 and 2, in that order
# Real programs run under preload beyond the report's sets (workloads/programs/).
GROUPS += ("other",)
MODES = ("quick", "full")
WORKLOADS_DIR = os.path.join("build", "workloads")
THREADS_PLACEHOLDER = "{threads}"
NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")


@dataclass(frozen=True)
class Benchmark:
    name: str
    group: str
    reads: str            # a key of readers.READERS
    commands: dict        # mode -> command template

    def argv(self, mode, threads):
        """The command of `mode` with {threads} filled in, as an argument list whose
        first word is still as written (see resolve_program)."""
        return shlex.split(self.commands[mode].replace(THREADS_PLACEHOLDER, str(threads)))


def load(path=BENCHMARK_LIST):
    """The declared benchmarks, by name, in list order."""
    by_name = {}
    for row in tables.read_table_or_exit(path, COLUMNS):
        where = f"{path}:{row['line']}"
        name = row["name"]
        if not NAME.match(name) or name in by_name or name == selection.ALL:
            raise SystemExit(f"error: {where}: bad or repeated benchmark name {name!r}")
        if row["group"] not in GROUPS:
            raise SystemExit(f"error: {where}: group must be one of {', '.join(GROUPS)}")
        if row["reads"] not in readers.READERS:
            raise SystemExit(f"error: {where}: reads must be one of {', '.join(readers.READERS)}")
        for mode in MODES:
            leftover = row[mode].replace(THREADS_PLACEHOLDER, "")
            if "{" in leftover or "}" in leftover:
                raise SystemExit(f"error: {where}: the only placeholder is {THREADS_PLACEHOLDER}")
        by_name[name] = Benchmark(name=name, group=row["group"], reads=row["reads"],
                                  commands={mode: row[mode] for mode in MODES})
    return by_name


def choose(spec, by_name):
    """Parse a -b value into Benchmarks in list order; raises SelectionError."""
    chosen = set(selection.select(spec, list(by_name), "benchmark"))
    return [b for name, b in by_name.items() if name in chosen]


def resolve_program(word, root):
    """The executable for a command's first word: a path (relative to the repository
    root) when it has a `/`, else a program in build/workloads/, else one on PATH.
    None when it does not exist."""
    if "/" in word:
        path = word if os.path.isabs(word) else os.path.join(root, word)
        return path if os.access(path, os.X_OK) else None
    built = os.path.join(root, WORKLOADS_DIR, word)
    if os.access(built, os.X_OK):
        return built
    return shutil.which(word)
