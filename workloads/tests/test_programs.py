#!/usr/bin/env python3
"""The real programs under preload (workloads/programs/): each runner's quick run
passes its check; a program that prints the wrong thing makes its run fail (fake
programs first on PATH); the preloaded allocator reaches the program; bad
arguments are rejected with a message."""
import os
import re
import stat
import tempfile

import tap

PROGRAMS = os.path.join(tap.ROOT, "workloads", "programs")
PROFILE = tap.program("alloc_profile.so")
RUNNERS = {  # runner -> its quick arguments
    "gs-render": ["quick"], "z3-solve": ["quick"], "sqlite-speed": ["quick"],
    "lua-alloc": ["quick"], "python-alloc": ["quick"], "cxx-build": ["quick", "2"],
}
# Fakes that exit 0 but print the wrong thing, one per program a runner can be
# fooled with through PATH (python-alloc runs /usr/bin/python3 by its full path).
FAKES = {
    "gs": ("gs-render", "echo ' 0.1 0.1 0.1 0.1 CMYK OK'\necho 'gs-render: 1 pages'"),
    "z3": ("z3-solve", "echo sat"),
    "sqlite3": ("sqlite-speed", "echo '1|2|3|4'"),
    "lua5.4": ("lua-alloc", "echo 'lua-alloc: some checks passed'"),
    "xargs": ("cxx-build", "exit 0"),  # compiles nothing: the link then has no objects
}
ALLOCATION_CALLS = re.compile(r"alloc-profile: malloc (\d+), calloc \d+, realloc (\d+)")
# The quick Lua run makes millions of allocations (Lua allocates with realloc);
# the runner's own tools a few hundred each, so this many proves the program
# itself ran on the preload.
MANY_MALLOC_CALLS = 100000


def runner(name):
    return os.path.join(PROGRAMS, name)


def fake_path(directory, program, script):
    path = os.path.join(directory, program)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + script + "\n")
    os.chmod(path, stat.S_IRWXU)
    return directory + os.pathsep + os.environ.get("PATH", "")


def main():
    for name, args in RUNNERS.items():
        status, out, err = tap.run([runner(name)] + args)
        tap.check(status == 0, f"{name} {' '.join(args)} runs and passes its check",
                  f"status {status}, stdout {out!r}, stderr {err!r}")

    with tempfile.TemporaryDirectory() as directory:
        for program, (name, script) in FAKES.items():
            fakes = os.path.join(directory, program + "-fake")
            os.mkdir(fakes)
            status, out, err = tap.run([runner(name)] + RUNNERS[name],
                                       {"PATH": fake_path(fakes, program, script)})
            said = any(line.startswith(f"{name}: ") for line in err.splitlines())
            tap.check(status == 1 and said,
                      f"{name} fails when {program} prints the wrong thing",
                      f"status {status}, stderr {err!r}")

        output = os.path.join(directory, "profile.txt")
        status, out, err = tap.run([runner("lua-alloc"), "quick"],
                                   {"LD_PRELOAD": PROFILE, "ALLOC_PROFILE_OUTPUT": output})
        calls = [int(m) + int(r) for m, r in ALLOCATION_CALLS.findall(tap_read(output))]
        tap.check(status == 0 and calls and max(calls) > MANY_MALLOC_CALLS,
                  "the preloaded allocator reaches the program (lua-alloc under alloc_profile.so)",
                  f"status {status}, malloc+realloc counts {calls}, stderr {err!r}")

    for name in RUNNERS:
        tap.check_rejects([runner(name)], "no arguments", name)
        tap.check_rejects([runner(name), "medium"] + RUNNERS[name][1:], "a size other than quick or full",
                          name)
    for threads in ("0", "x", "257", "-1"):
        tap.check_rejects([runner("cxx-build"), "quick", threads], f"{threads} threads", "cxx-build")
    tap.finish()


def tap_read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


if __name__ == "__main__":
    main()
