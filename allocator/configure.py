#!/usr/bin/env python3
"""Writes allocator/build.ninja: the allocator's sources compiled in each variant.

Ninja cannot loop, and a variable cannot stand for a list of inputs, so this
script spells out one compile edge per source and variant. Ninja reruns it when
it changes (see the `configure` edge it writes). Variants:
  release  -O2, no checks                      build/release/libshardalloc.{so,a}
  secure   -O2, SA_SECURE=1 (hardened: secure.h)  build/secure/libshardalloc.{so,a}
  secure-full  secure plus the protections that are off by default there: page guards,
           canaries, zero on free           build/secure-full/libshardalloc.{so,a}
  debug    -O1, SA_DEBUG=1 (assertions, checks) build/debug/libshardalloc.{so,a}
  secure-without/<protection>: the secure build less one protection (SECURE_ABLATIONS),
           for measuring what each costs; not built by default (`ninja secure-ablations`)
           build/secure-without/<protection>/libshardalloc.so
  tsan, ubsan, asan: the core (no standard-name override) as a static library
           built with that sanitizer, for tests against the sa_ API only:
           build/<variant>/libshardalloc-core.a
"""
import os

# The library's sources by floor, bottom up (allocator/src/README.md).
CORE = ["os/linux",                                           # 0 port
        "base",                                               # 1 base
        "memory",                                             # 2 os
        "options", "metadata", "stats",                       # 3 support
        "arena", "segment_map", "segment_cache", "segment",   # 4 segments
        "page", "huge",                                       # 5 pages
        "heap", "collect", "abandon", "thread", "remote", "debug",  # 6 heaps
        "alloc", "aligned", "free",                           # 7 alloc/free
        "process", "stats_report"]                            # 8 entry points
OVERRIDE = ["override", "glibc_compat"]
LIB_FLAGS = ("$sa_include -fPIC -fvisibility=hidden -fno-builtin-malloc -ftls-model=initial-exec "
             "-fno-semantic-interposition -fno-plt -fno-stack-protector -fexceptions")
# The test folders (each with a PROGRAMS list and a TESTS manifest), listed once in
# allocator/tests/SUITES, which scripts/test reads too.
SUITES = "allocator/tests/SUITES"
# The compiler warnings of the test programs: warnings are errors there.
TEST_WARNINGS = "-Werror"
TEST_INCLUDES = "-Iallocator/include -Iallocator/tests/lib"
# The C test programs' own flags: -fno-builtin keeps the compiler from folding or
# removing the allocation calls they make on purpose (malloc(SIZE_MAX), malloc/free pairs).
TEST_CFLAGS = f"-O2 -fno-builtin {TEST_INCLUDES}"
SANITIZER_CFLAGS = f"-O1 -g {TEST_INCLUDES}"
# What each kind of test program (PROGRAMS' third column) is built with:
# (rule, cflags, ldflags, static library it links (or None), libs).
TEST_KINDS = {
    # the sa_ API, linked statically with a full library
    "sa-release": ("cc_exe", f"{TEST_CFLAGS} -DSA_API", "", "release/libshardalloc.a", "-lpthread"),
    "sa-debug": ("cc_exe", f"{TEST_CFLAGS} -DSA_API", "", "debug/libshardalloc.a", "-lpthread"),
    # a plain program, run with LD_PRELOAD
    "std": ("cc_exe", TEST_CFLAGS, "", None, ""),
    "cxx": ("cxx_exe", "", "", None, ""),
    # one fault each, in plain sight (-O1: the compiler leaves it there)
    "misuse": ("cc_exe", "-O1 -fno-builtin -Iallocator/tests/misuse/programs -Iallocator/tests/lib", "", None, ""),
    # the sa_ API against the sanitizer builds of the core, each with its compiler
    "tsan": ("clang_exe", f"{SANITIZER_CFLAGS} -DSA_API -fsanitize=thread", "-fsanitize=thread",
             "tsan/libshardalloc-core.a", "-lpthread"),
    "ubsan": ("cc_exe", f"{SANITIZER_CFLAGS} -DSA_API -fsanitize=undefined -fno-sanitize-recover=all",
              "-fsanitize=undefined", "ubsan/libshardalloc-core.a", "-lpthread"),
    "asan": ("clang_exe", f"{SANITIZER_CFLAGS} -DSA_API -fsanitize=address", "-fsanitize=address",
             "asan/libshardalloc-core.a", "-lpthread"),
    # the fuzzing driver: libFuzzer with ASan, standalone on the UBSan core and the secure build
    "fuzz-asan": ("clang_exe", f"{SANITIZER_CFLAGS} -fsanitize=fuzzer,address", "-fsanitize=fuzzer,address",
                  "asan/libshardalloc-core.a", "-lpthread"),
    "fuzz-ubsan": ("cc_exe", f"{SANITIZER_CFLAGS} -DFUZZ_STANDALONE -fsanitize=undefined "
                   "-fno-sanitize-recover=all", "-fsanitize=undefined", "ubsan/libshardalloc-core.a", "-lpthread"),
    "fuzz-secure": ("cc_exe", f"{SANITIZER_CFLAGS} -DFUZZ_STANDALONE", "", "secure/libshardalloc.a",
                    "-lpthread"),
    "fuzz-secure-full": ("cc_exe", f"{SANITIZER_CFLAGS} -DFUZZ_STANDALONE", "", "secure-full/libshardalloc.a",
                         "-lpthread"),
}
# The secure build's protections that are off by default (allocator/SECURITY.md).
SECURE_FULL_FLAGS = "-DSA_SECURE_PAGE_GUARDS=1 -DSA_SECURE_CANARY=1 -DSA_SECURE_ZERO_ON_FREE=1"
VARIANTS = {
    # name: (compile rule, extra flags, sources, full library?)
    "release": ("cc", "-O2 -DNDEBUG -DSA_OVERRIDE=1", CORE + OVERRIDE, True),
    "secure": ("cc", "-O2 -DNDEBUG -DSA_SECURE=1 -DSA_OVERRIDE=1", CORE + ["secure"] + OVERRIDE, True),
    "secure-full": ("cc", f"-O2 -DNDEBUG -DSA_SECURE=1 {SECURE_FULL_FLAGS} -DSA_OVERRIDE=1",
                    CORE + ["secure"] + OVERRIDE, True),
    "debug": ("cc", "-O1 -DSA_DEBUG=1 -DSA_OVERRIDE=1", CORE + OVERRIDE, True),
    "tsan": ("clang_cc", "-O1 -fsanitize=thread", CORE, False),
    "ubsan": ("cc", "-O1 -DSA_DEBUG=1 -fsanitize=undefined -fno-sanitize-recover=all", CORE, False),
    "asan": ("clang_cc", "-O1 -fsanitize=address", CORE, False),
}
# The secure build less one of its default protections (allocator/SECURITY.md): the
# cost of a protection is the secure build's time over its ablation's, in one run
# (`scripts/bench -a sa,sa-secure,sa-secure-without-double-free,...`). The double-free
# check needs the encoded lists' page geometry and links, so the lists go with it.
SECURE_ABLATIONS = {
    "double-free": "-DSA_SECURE_DOUBLE_FREE=0",
    "encoded-lists": "-DSA_SECURE_DOUBLE_FREE=0 -DSA_SECURE_ENCODED_LISTS=0",
    "random-order": "-DSA_SECURE_RANDOM_ORDER=0",
    "guard-pages": "-DSA_SECURE_GUARD_PAGES=0 -DSA_SECURE_HUGE_GUARD=0",
    "random-addresses": "-DSA_SECURE_RANDOM_ADDRESSES=0",
}
ABLATION_DIR = "secure-without"


def suite_lists():
    """The files the generated build depends on besides this script."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return " ".join([SUITES] + [f"allocator/tests/{s}/PROGRAMS" for s in suites(root)
                                if os.path.exists(os.path.join(root, "allocator", "tests", s, "PROGRAMS"))])


def suites(root):
    """The test folders of allocator/tests/SUITES."""
    with open(os.path.join(root, SUITES)) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def test_edges(here):
    """One build edge per line of every suite's PROGRAMS, into build/tests/<suite>/."""
    root = os.path.dirname(here)
    out = ["# ---- the test programs (allocator/tests/*/PROGRAMS) ----"]
    everything = []
    for suite in suites(root):
        path = os.path.join(root, "allocator", "tests", suite, "PROGRAMS")
        if not os.path.exists(path):
            continue
        for number, raw in enumerate(open(path), 1):
            words = raw.split()
            if not words or words[0].startswith("#"):
                continue
            if len(words) < 3 or words[2] not in TEST_KINDS:
                raise SystemExit(f"{path}:{number}: expected OUTPUT SOURCE KIND [cflags=..] [libs=..]")
            name, source, kind = words[:3]
            extra = dict(w.split("=", 1) for w in words[3:])
            rule, cflags, ldflags, library, libs = TEST_KINDS[kind]
            cflags = " ".join(filter(None, [cflags, extra.get("cflags", "").replace(",", " "), TEST_WARNINGS]))
            libs = " ".join(filter(None, [f"$builddir/{library}" if library else "", libs,
                                          extra.get("libs", "").replace(",", " ")]))
            target = f"$builddir/tests/{suite}/{name}"
            implicit = f" | $builddir/{library}" if library else ""
            out.append(f"build {target}: {rule} allocator/tests/{suite}/{source}{implicit}")
            out.append(f"  cflags = {cflags}")
            if ldflags:
                out.append(f"  ldflags = {ldflags}")
            if libs:
                out.append(f"  libs = {libs}")
            everything.append(target)
    out.append("build sa-tests: phony " + " ".join(everything))
    out.append("")
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = [
        "# Generated by allocator/configure.py: edit that, not this.",
        "sa_include = -Iallocator/include -Iallocator/src",
        "sa_ldflags = -Wl,-z,nodelete -Wl,-z,now -Wl,--version-script=allocator/src/exports.map",
        "",
        "rule sa_configure",
        "  command = python3 allocator/configure.py",
        "  generator = 1",
        "  description = CONFIGURE allocator/build.ninja",
        "build allocator/build.ninja: sa_configure allocator/configure.py " + suite_lists(),
        "",
    ]
    everything = []
    secure_rule, secure_flags, secure_sources, _ = VARIANTS["secure"]
    ablations = {f"{ABLATION_DIR}/{name}": (secure_rule, f"{secure_flags} {flags}", secure_sources, True)
                 for name, flags in SECURE_ABLATIONS.items()}
    ablation_libraries = []
    for variant, (rule, flags, sources, full) in {**VARIANTS, **ablations}.items():
        objs = []
        for src in sources:
            obj = f"$builddir/{variant}/obj/{src.replace('/', '_')}.o"
            out.append(f"build {obj}: {rule} allocator/src/{src}.c")
            out.append(f"  cflags = {LIB_FLAGS} {flags}")
            objs.append(obj)
        objs_text = " ".join(objs)
        if full:
            out.append(f"build $builddir/{variant}/libshardalloc.so: shared {objs_text}"
                       " | allocator/src/exports.map")
            out.append("  ldflags = $sa_ldflags")
        if variant in ablations:  # the shared library only, outside the default build
            ablation_libraries.append(f"$builddir/{variant}/libshardalloc.so")
        elif full:
            out.append(f"build $builddir/{variant}/libshardalloc.a: archive {objs_text}")
            everything += [f"$builddir/{variant}/libshardalloc.so",
                           f"$builddir/{variant}/libshardalloc.a"]
        else:
            out.append(f"build $builddir/{variant}/libshardalloc-core.a: archive {objs_text}")
            everything.append(f"$builddir/{variant}/libshardalloc-core.a")
        out.append("")
    out.append("build shardalloc: phony " + " ".join(everything))
    out.append("build secure-ablations: phony " + " ".join(ablation_libraries))
    out.append("")
    out.append("subninja allocator/bench/build.ninja")
    out += test_edges(here)
    with open(os.path.join(here, "build.ninja"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
