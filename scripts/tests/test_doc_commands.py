#!/usr/bin/env python3
"""Every command that README.md and scripts/README.md show, run as they are written:
relative paths, from the repository root and from another directory (scripts/plot
once failed there: gnuplot runs in figures/src and was handed a relative path).

A command is a line of a ```sh block that starts with `scripts/`. To stay fast each
scripts/bench or device-run command gets a tiny selection appended (argparse: the last
-b and --runs win; -a only when the doc's command has none or `all`), and every
--out is redirected to a scratch folder under results/ (ignored by git) that later
commands naming the same folder use too. `results/<...>` placeholders stand for sets
the test made. scripts/test (the runner of this very test) is not run. A command
passes when it exits 0 (bench: 0 or 3, some runs failed, is not a pass either) and
every set plotted from it has its figures."""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

from tap import REPO_ROOT, Tap

DOCS = ("README.md", os.path.join("scripts", "README.md"), os.path.join("paper", "paper.md"))
TINY = {"bench": ["-b", "cfrac", "--runs", "1", "--warmup", "0", "--no-plot"],
        "device-run": ["--budget", "60", "--threads", "1,2", "--runs", "1", "-b", "cfrac"]}
TINY_ALLOCATORS = ["-a", "sa,sys"]
NOT_RUN = ("scripts/test",)
PLACEHOLDER = re.compile(r"^results/<[^>]+>$")
t = Tap()


def documented_commands():
    found = []
    for doc in DOCS:
        in_block = False
        with open(os.path.join(REPO_ROOT, doc)) as f:
            for number, line in enumerate(f, 1):
                if line.startswith("```"):
                    in_block = line.strip() in ("```sh", "```bash", "```shell")
                    continue
                text = line.strip()
                if in_block and text.startswith("scripts/") and not text.startswith(NOT_RUN):
                    # a placeholder may hold spaces: `results/<that folder>`
                    words = shlex.split(re.sub(r"<[^>]*>", lambda m: m.group(0).replace(" ", "-"), text),
                                        comments=True)
                    found.append((f"{doc}:{number}", words))
    return found


def adapt(words, sets, made, scratch):
    """The command to run: tiny selection, --out in scratch, placeholders filled."""
    program = words[0].split("/")[-1]
    words = list(words)
    out = None
    if "--out" in words:
        i = words.index("--out")
        name = words[i + 1]
        out = sets.setdefault(name, os.path.join(scratch, f"set-{len(sets) + 1}"))
        words[i + 1] = out
    placeholders = iter(made)
    for i, w in enumerate(words):
        if PLACEHOLDER.match(w.split("=")[0]):
            base, eq, name = w.partition("=")
            words[i] = next(placeholders, made[0] if made else base) + eq + name
        elif w in sets and w != out:
            words[i] = sets[w]
    if program in TINY:
        if program == "bench" and out is None:
            out = os.path.join(scratch, f"set-{len(sets) + 1}")
            sets[out] = out
            words += ["--out", out]
        if program == "device-run" and words[1:2] == ["run"]:
            out = os.path.join(scratch, f"set-{len(sets) + 1}")
            sets[out] = out
            words += TINY[program] + ["--out", out, "-a", "sa,sys"]
        elif program == "bench":
            words += TINY[program]
            if "-a" not in words or words[words.index("-a") + 1] == "all":
                words += TINY_ALLOCATORS
    if program == "merge" and out is None:
        pass
    return words, out


def run_from(cwd, words):
    """Run with the script and every path relative to cwd, as a user there would."""
    shown = []
    for w in words:
        path, eq, rest = w.partition("=")
        relative_in_root = not os.path.isabs(path) and "/" in path and os.path.exists(
            os.path.join(REPO_ROOT, path))
        if relative_in_root:  # a path as the docs write it, from the root
            shown.append(os.path.relpath(os.path.join(REPO_ROOT, path), cwd) + eq + rest)
        elif os.path.isabs(w) and w.startswith(REPO_ROOT):
            shown.append(os.path.relpath(w, cwd))
        elif os.path.isabs(path) and path.startswith(REPO_ROOT):
            shown.append(os.path.relpath(path, cwd) + eq + rest)
        else:
            shown.append(w)
    done = subprocess.run(shown, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=300)
    return done.returncode, done.stdout + done.stderr, shown


commands = documented_commands()
t.check(len(commands) >= 15, f"the docs show {len(commands)} commands", commands)
results_root = os.path.join(REPO_ROOT, "results")
for where in ("root", "elsewhere"):
    scratch = tempfile.mkdtemp(prefix="tmp-docs-", dir=results_root)  # ignored by git
    other = tempfile.mkdtemp(prefix="harness-elsewhere-")
    cwd = REPO_ROOT if where == "root" else other
    sets, made = {}, []
    tracked_before = subprocess.run(["git", "status", "--porcelain"], cwd=REPO_ROOT,
                                    capture_output=True, text=True).stdout
    try:
        for origin, words in commands:
            adapted, out = adapt(words, sets, made, scratch)
            status, log, shown = run_from(cwd, adapted)
            ok = status == 0
            if ok and out and os.path.isfile(os.path.join(out, "results.csv")) and out not in made:
                made.append(out)
            if ok and words[0].endswith("plot"):
                target = shown[-1]
                figures = os.path.join(cwd, target, "figures")
                ok = os.path.isdir(figures) and any(n.endswith(".svg") for n in os.listdir(figures))
            t.check(ok, f"{origin} from the {where}: {' '.join(words)}",
                    f"ran in {cwd}: {shlex.join(shown)}\nexit {status}\n{log[-3000:]}")
        tracked_after = subprocess.run(["git", "status", "--porcelain"], cwd=REPO_ROOT,
                                       capture_output=True, text=True).stdout
        t.equal(tracked_after, tracked_before, f"from the {where}: the commands leave tracked files as they were")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(other, ignore_errors=True)
t.close()
