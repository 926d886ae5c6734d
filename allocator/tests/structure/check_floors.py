#!/usr/bin/env python3
"""The allocator's floors hold (TAP): allocator/src/README.md's table against the code.

From the object files of each build (nm: which file defines a symbol another one
uses) it checks that every file calls only files listed before it in the table,
except through hooks (sa_hook_*, each listed in the README's table of hooks); that
no two files call each other (the largest loop of files is one file); that the
table lists exactly the sources; and that no source but debug.c has an `#if
SA_DEBUG` block (the debug build's hooks are debug.h's). It prints the loop and the
height of the file graph as diagnostics.

Usage: check_floors.py [BUILD_DIR ...]   (default: build/release build/debug build/secure build/secure-full)
"""
import collections
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SRC = os.path.join(ROOT, "allocator", "src")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import tap  # noqa: E402  (allocator/tests/lib/tap.py: the shared TAP output)

ROW = re.compile(r"^\|\s*(\d+) [^|]*\|\s*`([^`]+\.c)`\s*\|")
HOOK_ROW = re.compile(r"^\|\s*`(sa_hook_\w+)`\s*\|")


def read_readme():
    files, hooks = [], set()
    with open(os.path.join(SRC, "README.md")) as f:
        for line in f:
            m = ROW.match(line)
            if m:
                files.append((int(m.group(1)), m.group(2)))
            m = HOOK_ROW.match(line)
            if m:
                hooks.add(m.group(1))
    return files, hooks


def object_graph(build_dir):
    """{file: {other file: [symbols]}} from the objects of one build (obj/a_b.o is a/b.c)."""
    defined, used = {}, collections.defaultdict(set)
    for obj in sorted(glob.glob(os.path.join(build_dir, "obj", "*.o"))):
        name = os.path.basename(obj)[:-2].replace("os_linux", "os/linux") + ".c"
        if not os.path.exists(os.path.join(SRC, name)):
            continue  # left in build/ by a source that is gone (an older checkout's)
        out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "U":
                used[name].add(parts[1])
            elif len(parts) == 3 and parts[1] in "TDBRVWGS":
                defined[parts[2]] = name
            used.setdefault(name, set())
    edges = collections.defaultdict(lambda: collections.defaultdict(list))
    for f, symbols in used.items():
        for s in symbols:
            g = defined.get(s)
            if g is not None and g != f:
                edges[f][g].append(s)
    return set(used), edges


def largest_loop(files, edges):
    """The largest set of files that all reach each other (Tarjan's components)."""
    index, low, stack, on, best = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > len(best):
                best[:] = sorted(component)

    for v in sorted(files):
        if v not in index:
            visit(v)
    return best


def main():
    dirs = sys.argv[1:] or [os.path.join(ROOT, "build", v) for v in ("release", "debug", "secure", "secure-full")]
    table, hooks = read_readme()
    order = {f: i for i, (_, f) in enumerate(table)}
    floors = [floor for floor, _ in table]
    counter = tap.Counter("floors: ")
    counter.check(floors == sorted(floors), "the README's table lists the floors bottom up")
    sources = {os.path.relpath(p, SRC) for p in glob.glob(os.path.join(SRC, "*.c")) + glob.glob(os.path.join(SRC, "*", "*.c"))}
    counter.check(sources == set(order), "the README's table lists exactly the sources",
                  [] if sources == set(order) else
                  [f"not in the table: {sorted(sources - set(order))}", f"no such source: {sorted(set(order) - sources)}"])
    for build_dir in dirs:
        label = os.path.relpath(build_dir, ROOT)
        files, edges = object_graph(build_dir)
        upward, hook_calls, unknown_hooks = [], [], []
        for f in sorted(files):
            for g, symbols in sorted(edges[f].items()):
                plain = sorted(s for s in symbols if not s.startswith("sa_hook_"))
                hooked = sorted(s for s in symbols if s.startswith("sa_hook_"))
                hook_calls += [f"{f} -> {g}: {s}" for s in hooked]
                unknown_hooks += [s for s in hooked if s not in hooks]
                if plain and order.get(g, -1) >= order.get(f, -1):
                    upward.append(f"{f} (row {order.get(f)}) calls {g} (row {order.get(g)}): {', '.join(plain[:4])}")
        counter.check(not upward, f"{label}: every file calls only files below it (but through hooks)", upward)
        counter.check(not unknown_hooks, f"{label}: every hook is in the README's table of hooks", unknown_hooks)
        # Calls only: a hook is the one way up, and closes no loop by design.
        calls = {f: {g for g, syms in edges[f].items() if any(not s.startswith("sa_hook_") for s in syms)}
                 for f in files}
        loop = largest_loop(files, collections.defaultdict(set, calls))
        counter.check(len(loop) <= 1, f"{label}: no two files call each other (largest loop: {len(loop)} file)",
                      [" ".join(loop)] if len(loop) > 1 else [])
        tap.comment(f"{label}: {len(files)} files, {sum(len(e) for e in edges.values())} file-to-file calls, "
                    f"hooks: {'; '.join(hook_calls)}")
    blocks = []
    for source in sorted(sources - {"debug.c"}):
        with open(os.path.join(SRC, source)) as f:
            blocks += [f"{source}:{n}" for n, line in enumerate(f, 1) if re.match(r"\s*#\s*if(def)?\b.*\bSA_DEBUG\b", line)]
    counter.check(not blocks, "no #if SA_DEBUG block outside debug.c (the debug seam is debug.h)", blocks)
    return counter.summary()


if __name__ == "__main__":
    sys.exit(main())
