#!/usr/bin/env python3
"""Each protection flag of allocator/src/secure.h builds on its own, as secure.h says
it can: the library with one `-DSA_SECURE_<NAME>=1` (and the flags that one needs,
read from secure.h's `#if A && !B` / `#error` pairs) compiles with gcc and clang
without a warning, links with no undefined symbol, and runs a program preloaded.
The default builds set the flags together (SA_SECURE=1) or leave one out (the
secure ablations); nothing else would notice a flag that no longer builds alone.
Run from the repository root.
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, "allocator/tests/lib")
import tap  # noqa: E402

SECURE_H = "allocator/src/secure.h"
COMPILERS = ("gcc", "clang")
FLAGS = ("-std=gnu11 -O1 -Wall -Wextra -Werror -D_GNU_SOURCE -fPIC -fvisibility=hidden "
         "-fno-builtin-malloc -ftls-model=initial-exec -DSA_OVERRIDE=1 -Iallocator/include -Iallocator/src").split()
# A preloaded program that allocates, frees and reallocates thousands of blocks.
PROGRAM = ["python3", "-c", "b = [bytes(i % 3000) for i in range(20000)]; del b[::2]; print(sum(map(len, b)))"]
EXPECTED = str(sum(i % 3000 for i in range(1, 20000, 2)))


def protection_flags():
    """secure.h's flags (every `#ifndef SA_SECURE_X` but SA_SECURE itself) and what each needs."""
    text = open(SECURE_H).read()
    flags = [f for f in re.findall(r"^#ifndef (SA_SECURE_\w+)$", text, re.M) if f != "SA_SECURE_H"]
    needs = {}
    for flag, needed in re.findall(r"^#if (SA_SECURE_\w+) && !(SA_SECURE_\w+)$", text, re.M):
        needs.setdefault(flag, []).append(needed)
    return flags, needs


def build(compiler, defines, out):
    sources = sorted(glob.glob("allocator/src/*.c")) + ["allocator/src/os/linux.c"]
    command = [compiler, *FLAGS, *defines, *sources, "-shared", "-Wl,--no-undefined", "-lpthread", "-o", out]
    return subprocess.run(command, capture_output=True, text=True)


def main():
    counter = tap.Counter("single flags: ")
    flags, needs = protection_flags()
    counter.check(len(flags) >= 8, f"secure.h names its protection flags ({len(flags)} found)")
    with tempfile.TemporaryDirectory() as tmp:
        for flag in flags:
            defines = [f"-D{f}=1" for f in (*needs.get(flag, []), flag)]
            for compiler in COMPILERS:
                library = os.path.join(tmp, f"{flag}-{compiler}.so")
                result = build(compiler, defines, library)
                name = f"{' '.join(defines)} builds with {compiler}"
                if not counter.check(result.returncode == 0 and not result.stderr.strip(), name,
                                     result.stderr.strip().splitlines(), max_diags=8):
                    continue
                run = subprocess.run(PROGRAM, capture_output=True, text=True, timeout=120,
                                     env={**os.environ, "LD_PRELOAD": os.path.abspath(library)})
                ran = run.returncode == 0 and run.stdout.strip() == EXPECTED and not run.stderr
                counter.check(ran, f"{' '.join(defines)} ({compiler}) runs a program preloaded",
                              [] if ran else [f"exit {run.returncode}, out {run.stdout.strip()!r}, "
                                              f"err {run.stderr.strip()[-300:]!r}"])
    return counter.summary()


if __name__ == "__main__":
    sys.exit(main())
