#!/usr/bin/env python3
"""Variants for tuned-option experiments: values with `:`, `,` and `=`, sweeps, a
variants file, shades per base; and the setting checks against the real allocators
(shardalloc's and mimalloc's option lists, jemalloc's conf check, glibc's tunables),
through scripts/bench, which must refuse a bad setting before running anything."""
import os
import subprocess
import sys
import tempfile

from tap import REPO_ROOT, Tap

import allocators
import checks
import selection

t = Tap()
declared = allocators.load()


def choose(spec, named=None):
    return allocators.choose(spec, declared, named)


je = "je:MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0"
glibc = "sys:GLIBC_TUNABLES=glibc.malloc.tcache_count=0"
chosen = {a.name: a for a in choose(f"sa,{je},{glibc},mi")}
t.equal(list(chosen), ["sa", "mi", je, glibc], "a value with : and , and one with = are whole variants")
t.equal(chosen[je].settings, (("MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0"),),
        "jemalloc's MALLOC_CONF keeps its : and ,")
t.equal(chosen[glibc].settings, (("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0"),),
        "glibc's tunable keeps its =")
two = choose("sys:GLIBC_TUNABLES=glibc.malloc.tcache_count=0:glibc.malloc.arena_max=1:MALLOC_ARENA_MAX=2")[0]
t.equal(two.settings, (("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0:glibc.malloc.arena_max=1"),
                       ("MALLOC_ARENA_MAX", "2")), "a : starts a new setting only before VAR=")

sweep = choose("sa,sa:SHARDALLOC_PURGE_DELAY=0|10|100|-1,mi")
t.equal([a.name for a in sweep], ["sa"] + [f"sa:SHARDALLOC_PURGE_DELAY={v}" for v in (0, 10, 100, -1)]
        + ["mi"], "a sweep a|b|c is one variant a value, after its base")
shades = [a.colour for a in sweep[:5]]
t.check(len(set(shades)) == 5 and all(allocators.lighten(sweep[0].colour, 0) != c for c in shades[1:]),
        "each variant of a sweep has its own shade of sa's colour", shades)
mixed = choose("sa:SHARDALLOC_PURGE_DELAY=0,je:MALLOC_CONF=dirty_decay_ms:0|dirty_decay_ms:1000")
t.check(mixed[1].colour != mixed[2].colour and mixed[1].colour[1:3] > "e0",
        "shades are per base: je's variants are shades of je's orange", [a.colour for a in mixed])
t.equal(len(choose("sa:SHARDALLOC_PURGE_DELAY=0|-1:SHARDALLOC_LARGE_CACHE=0|1M")), 4,
        "two swept settings give every combination")

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(REPO_ROOT, "scripts", "tests", "variants-example.txt")
    named = allocators.load_variants(path, declared)
    t.equal(list(named), ["purge-0", "purge--1", "je-nodecay", "sys-notcache"],
            "a variants file names its variants; a sweep appends its values")
    t.equal(named["je-nodecay"].settings, (("MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0"),),
            "a named variant keeps its settings")
    t.equal([a.name for a in choose("sa,je-nodecay", named)], ["sa", "je-nodecay"],
            "-a can name a file's variant")
    bad = os.path.join(tmp, "bad.txt")
    for text, message in (("x | zz:A=1\n", "unknown allocator 'zz'"), ("sa | sa:A=1\n", "taken"),
                          ("just-a-name\n", "expected `NAME | BASE:VAR=VALUE"),
                          ("a | sa:A=1\na | sa:B=1\n", "taken")):
        with open(bad, "w") as f:
            f.write(text)
        try:
            allocators.load_variants(bad, declared)
            t.check(False, f"variants file {text.strip()!r} is refused")
        except selection.SelectionError as e:
            t.check(message in str(e) and "bad.txt:" in str(e), f"variants file {text.strip()!r} is refused",
                    e)

# The checks, against the real libraries (each probe is one run of ls).
root = REPO_ROOT
ready = []
for spec in ("sa:SHARDALLOC_PURGE_DELAY=0", "sa:SHARDALLOC_PURGE_DELAI=0", "sa:SHARDALLOC_PURGE_DELAY=soon",
             "mi:MIMALLOC_PURGE_DELAY=0", "mi:MIMALLOC_DECOMMIT_DELAY=0", je, "je:MALLOC_CONF=dirty_decay:0",
             glibc, "sys:GLIBC_TUNABLES=glibc.malloc.tcache_cnt=0", "sys:GLIBC_TUNABLES=glibc.malloc.perturb=999",
             "tc:TCMALLOC_RELEASE_RATE=0", "mi:SHARDALLOC_PURGE_DELAY=0", "sa:LD_PRELOAD=x"):
    a = choose(spec)[0]
    ready.append((a, allocators.resolve_library(a, root)[0]))
errors, notes = checks.check_all(ready)
said = "\n".join(errors + notes)


def verdict(name, what, error):
    lines = [line for line in (errors if error else notes) if line.startswith(name + ":")]
    t.check(lines and (what in lines[0]), f"check {name}: {'error' if error else 'note'} saying {what!r}", said)


verdict("sa:SHARDALLOC_PURGE_DELAY=0", "accepts", False)
verdict("sa:SHARDALLOC_PURGE_DELAI=0", "unknown option SHARDALLOC_PURGE_DELAI", True)
verdict("sa:SHARDALLOC_PURGE_DELAY=soon", "invalid value", True)
verdict("mi:MIMALLOC_PURGE_DELAY=0", "has no option 'purge_delay'", True)
verdict("mi:MIMALLOC_DECOMMIT_DELAY=0", "values not checked", False)
verdict(je, "accepts", False)
verdict("je:MALLOC_CONF=dirty_decay:0", "Invalid conf pair", True)
verdict(glibc, "has the tunables", False)
verdict("sys:GLIBC_TUNABLES=glibc.malloc.tcache_cnt=0", "no tunable 'glibc.malloc.tcache_cnt'", True)
verdict("sys:GLIBC_TUNABLES=glibc.malloc.perturb=999", "outside", True)
verdict("tc:TCMALLOC_RELEASE_RATE=0", "NOT checked", False)
verdict("mi:SHARDALLOC_PURGE_DELAY=0", "read by sa, not by mi", True)
verdict("sa:LD_PRELOAD=x", "cannot be a setting", True)

# scripts/bench refuses before running anything, exit 2.
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "set")
    done = subprocess.run([sys.executable, "scripts/bench", "-a", "mi,mi:MIMALLOC_PURGE_DELAY=0",
                           "-b", "cfrac", "--runs", "1", "--out", out], cwd=REPO_ROOT,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    t.check(done.returncode == 2 and "purge_delay" in done.stderr and "nothing was run" in done.stderr
            and not os.path.exists(os.path.join(out, "results.csv")),
            "scripts/bench refuses mi:MIMALLOC_PURGE_DELAY=0 (Debian's mimalloc has no such option) "
            "before running", done.stdout[-1500:] + done.stderr[-1500:])
t.close()
