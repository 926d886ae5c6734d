#!/usr/bin/env python3
"""The declarative lists and the -a / -b syntax: names, all, no-NAME, variants,
the fixed figure order; errors that list what is valid."""
import os
import subprocess

from tap import REPO_ROOT, Tap

import allocators
import benchmarks
import selection

t = Tap()
declared = allocators.load()
ABLATIONS = ["double-free", "encoded-lists", "random-order", "guard-pages", "random-addresses"]
t.equal(list(declared), ["sa", "sa-debug", "sa-secure", "sa-secure-full"]
        + [f"sa-secure-without-{name}" for name in ABLATIONS] + ["mi", "tc", "je", "tbb", "sys"],
        "allocators.txt declares the allocators in figure order (our build flavours after sa)")
t.check(all(declared[f"sa-secure-without-{name}"].in_all == "no" for name in ABLATIONS),
        "the secure ablations are chosen by name only")
# scripts/bench builds a chosen library under build/ that the default build leaves out
# (on_demand_libraries): each must be a target ninja knows, or that build fails.
ninja_targets = subprocess.run(["ninja", "-C", REPO_ROOT, "-t", "targets", "all"], capture_output=True,
                               text=True).stdout
known = {line.split(":")[0] for line in ninja_targets.splitlines()}
own_libraries = [a.library for a in declared.values() if a.library.startswith("build/")]
t.check(own_libraries and all(lib in known for lib in own_libraries),
        "every library of our own build in allocators.txt is a ninja target",
        [lib for lib in own_libraries if lib not in known])
t.equal((declared["sa-debug"].in_all, declared["sa-secure"].in_all, declared["sa-secure-full"].in_all),
        ("no", "if-built", "no"),
        "sa-debug and sa-secure-full are chosen by name only; sa-secure joins `all` once built")
suite = benchmarks.load()
t.check({"cfrac", "larsonN", "xmalloc-testN", "cache-scratch1", "cache-scratchN"} <= set(suite),
        "benchmarks.txt declares the report's workloads", list(suite))
t.check(all(b.group in benchmarks.GROUPS for b in suite.values()), "every benchmark has a figure group")
t.equal(suite["larsonN"].argv("full", 16), "larson 5 8 1000 5000 100 4141 16".split(),
        "larsonN --full is the standard command with {threads} filled in")
t.equal(suite["xmalloc-testN"].argv("full", 4), "xmalloc-test -w 4 -t 5 -s 64".split(),
        "xmalloc-testN --full is the standard command (-w is the thread count, not doubled)")
barnes_input = os.path.join(REPO_ROOT, "workloads", "barnes", "input")
t.equal(benchmarks.resolve_paths(suite["barnes"].argv("full", 2)[1:] + ["-n", "x/y"], REPO_ROOT),
        [barnes_input, "-n", "x/y"],
        "a command's word naming a repository file becomes its absolute path; others stay")
t.equal(suite["sh6benchN"].argv("full", 4), "sh6bench 8".split(),
        "sh6benchN --full runs twice --threads threads, as the tradition does ({threads2})")
t.equal(suite["rptestN"].argv("full", 3), "rptest 3 0 1 2 500 1000 100 8 16000".split(),
        "rptestN fills in {threads} once, not doubled")


def names(spec):
    return [a.name for a in allocators.choose(spec, declared)]


t.equal(names("all"), ["sa", "mi", "tc", "je", "tbb", "sys"], "-a all")
t.equal(names("no-tbb"), ["sa", "mi", "tc", "je", "sys"], "-a no-tbb: only exclusions start from all")
t.equal(names("all,no-sys,no-je"), ["sa", "mi", "tc", "tbb"], "-a all,no-sys,no-je")
t.equal(names("sys,mi,sa"), ["sa", "mi", "sys"], "chosen allocators come in the fixed figure order")
t.equal(names("mi,sa:SHARDALLOC_PURGE_DELAY=0,sa,mi"), ["sa", "sa:SHARDALLOC_PURGE_DELAY=0", "mi"],
        "a variant follows its base; repeats count once")

chosen = allocators.choose("sa,sa:SHARDALLOC_PURGE_DELAY=0:SHARDALLOC_VERBOSE=1,sa:X=", declared)
variant, empty_value = chosen[1], chosen[2]
t.equal(variant.settings, (("SHARDALLOC_PURGE_DELAY", "0"), ("SHARDALLOC_VERBOSE", "1")),
        "a variant's settings, in order")
t.equal((variant.base, variant.library), ("sa", declared["sa"].library),
        "a variant keeps its base's allocator and library")
t.check(variant.colour != declared["sa"].colour and empty_value.colour != variant.colour,
        "each variant gets its own shade of the base colour",
        (variant.colour, empty_value.colour))
t.equal(empty_value.settings, (("X", ""),), "a variant may set a variable to the empty string")
t.equal(allocators.default_baseline(allocators.choose("sa,mi", declared)), "mi",
        "the default baseline is mimalloc, as in the report")
t.equal(allocators.default_baseline(allocators.choose("sys,je", declared)), "je",
        "without mimalloc the first chosen allocator is the baseline")

bad = (
    ("nosuch", "unknown allocator 'nosuch'"),
    ("sa,,mi", "empty allocator"),
    ("zz:X=1", "unknown allocator 'zz'"),
    ("sa:NOT-A-NAME=1", "bad variant setting"),
    ("sa:PURGE", "bad variant setting"),
    ("no-sa,no-mi,no-tc,no-je,no-tbb,no-sys", "leaves no allocator"),
    ("sa:X=1|2:Y=3,sa-debug:SHARDALLOC_NOPE", "bad variant setting"),
)
for spec, message in bad:
    try:
        allocators.choose(spec, declared)
        t.check(False, f"-a {spec} is refused")
    except selection.SelectionError as e:
        t.check(message in str(e) and ("sa, sa-debug" in str(e) or "VAR=VALUE" in str(e)),
                f"-a {spec} is refused, saying what is valid", e)

t.equal([b.name for b in benchmarks.choose("no-cfrac", suite)], [n for n in suite if n != "cfrac"],
        "-b no-cfrac")
t.equal([b.name for b in benchmarks.choose("xmalloc-testN,cfrac", suite)], ["cfrac", "xmalloc-testN"],
        "chosen benchmarks come in list order")
try:
    benchmarks.choose("cfrac,sa:X=1", suite)
    t.check(False, "-b refuses variants")
except selection.SelectionError as e:
    t.check("cfrac" in str(e), "-b refuses variants, listing the benchmarks", e)

t.close()
