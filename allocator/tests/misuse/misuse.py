#!/usr/bin/env python3
"""Bad pointers and misuse: runs one small program per fault (misuse/*.c) under
LD_PRELOAD of libshardalloc.so and checks the exact outcome, like hardened_malloc's
test suite.

Outcomes the table below expects:
  abort     killed by SIGABRT, and a stderr line starting `shardalloc: error:` that
            contains one of the fault's keywords (debug build, the default there:
            abort_on_error=1)
  report    exit status 0 (the program went on past its fault and finished), and the
            same stderr line (debug build with SHARDALLOC_ABORT_ON_ERROR=0; release
            build with SHARDALLOC_SHOW_ERRORS=1 where release checks)
  quiet     exit status 0 and nothing from shardalloc on stderr (release build, whose
            errors are not shown by default; the faults the secure build misses)
  segv, maybe  the secure builds': see SECURE_OUTCOME below

The release build checks pointers only where that costs nothing on a hot path
(realloc, malloc_usable_size); its free trusts its argument, so only the faults that
cannot crash a release process are run against it (RELEASE_CHECKED).

The secure builds are two: secure (SA_SECURE=1, its default protections) and
secure-full (also page guards, canaries and zero on free), each with its own table.

Usage: misuse.py [--build-dir build/tests/misuse] [--lib-dir build] [-k NAME]
                 [--table]        (print the table of expected outcomes and exit)
Output: TAP, one line per (fault, build, mode), then a summary per build.
Standard library only. Run from the repository root.
"""
import argparse
import os
import resource
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import tap as taplib  # noqa: E402  (allocator/tests/lib/tap.py: the shared TAP output)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SETUP_FAILED = 77
TIMEOUT_S = 30

# fault program -> (what it does, keywords of which the message must contain one)
FAULTS = {
    "free_stack": ("free() of a stack pointer", ["invalid pointer"]),
    "free_static": ("free() of a static pointer", ["invalid pointer"]),
    "free_foreign": ("free() of an mmap'd (foreign) pointer", ["invalid pointer"]),
    "free_wild": ("free() of a wild pointer to no mapping", ["invalid pointer"]),
    "free_unaligned": ("free() of block + 1", ["invalid pointer"]),
    "free_interior": ("free() of block + 16 (small block)", ["invalid pointer"]),
    "free_interior_large": ("free() of block + 64 KiB (huge block)", ["invalid pointer"]),
    "double_free": ("free(); free() at once", ["double free"]),
    "double_free_churn": ("double free after 20000 other allocations", ["double free"]),
    "double_free_reused": ("double free after the block was reused and freed",
                           ["double free"]),
    "double_free_large": ("a 1 MiB block freed twice", ["double free", "invalid pointer"]),
    "double_free_huge": ("an 8 MiB block freed twice", ["double free", "invalid pointer"]),
    "double_free_remote": ("the same block freed by two other threads", ["double free"]),
    "free_sized_mismatch": ("free_sized() with a size larger than the block",
                            ["does not match"]),
    "free_aligned_sized_mismatch": ("free_aligned_sized() with a size larger than the block",
                                    ["does not match"]),
    "delete_sized_mismatch": ("sized operator delete with a wrong size",
                              ["does not match"]),
    "overflow_1": ("1 byte written past the requested size, then free",
                   ["buffer overflow"]),
    "overflow_8": ("8 bytes written past the requested size, then free",
                   ["buffer overflow"]),
    "overflow_1_medium": ("1 byte past a 20000-byte block, then free", ["buffer overflow"]),
    "overflow_usable": ("8 bytes past malloc_usable_size, then free",
                        ["buffer overflow", "corrupted free list"]),
    "write_after_free": ("a freed block written, then reused", ["write after free"]),
    "corrupt_free_list": ("a bit flipped in a free-list pointer, then malloc",
                          ["corrupted free list"]),
    "realloc_after_free": ("realloc() of a freed block", ["double free", "invalid pointer"]),
    "realloc_foreign": ("realloc() of an mmap'd pointer", ["invalid pointer"]),
    "realloc_stack": ("realloc() of a stack pointer", ["invalid pointer"]),
    "realloc_unaligned": ("realloc() of block + 1", ["invalid pointer"]),
    "usable_size_foreign": ("malloc_usable_size() of an mmap'd pointer", ["invalid pointer"]),
    "usable_size_static": ("malloc_usable_size() of a static pointer", ["invalid pointer"]),
    "canary_overwrite": ("1 byte past malloc_usable_size (the last word), then free; abort off: leaked",
                         ["buffer overflow"]),
    "canary_overwrite_remote": ("the same, the block freed by another thread",
                                ["buffer overflow"]),
}
# The secure builds' attacks (run against the secure builds only).
SECURE_ONLY = {
    "uaf_link_write": ("a use-after-free write of 8 bytes over a free block's link",
                       ["corrupted free list"]),
    "forged_link": ("a forged link (a static buffer) written into a freed block",
                    ["corrupted free list"]),
    "double_free_after_uaf": ("a block freed, its link overwritten, then freed again",
                              ["double free"]),
    "overflow_to_metadata": ("a linear overflow towards the next segment's header", []),
    "free_guard_page": ("free() of a pointer into a segment's end guard page",
                        ["invalid pointer"]),
    "free_middle": ("free() of block + 48 (100-byte block)", ["invalid pointer"]),
    "overflow_huge": ("a linear overflow off a huge block's end", []),
    "overflow_page_guard": ("a linear overflow off a small page's last block", []),
}
FAULTS.update(SECURE_ONLY)
# The secure build (build/secure, SA_SECURE=1): what it does with each fault.
#   abort    as in debug (abort_on_error is on by default there), and `report` with
#            SHARDALLOC_ABORT_ON_ERROR=0
#   segv     killed by SIGSEGV at a guard page (no message: the MMU caught it); the
#            programs that end at one check that the fault is in a guard page
#            (programs/fault.h, expect_guard_fault), else they exit 3
#   quiet    not detected: exit 0 and no message (no canary, no size check)
#   maybe    detected only when the overflow lands on a free block's link: the free
#            list's random order puts an unused block (about 1 in 64) there instead:
#            abort with the message, or exit 0 without one
#   none     not run (the byte past the usable size lands on the neighbour, as in
#            overflow_usable; there is no canary to find it)
SECURE_OUTCOME = {
    "segv": ["overflow_to_metadata", "overflow_huge"],
    "quiet": ["free_sized_mismatch", "free_aligned_sized_mismatch", "delete_sized_mismatch",
              "overflow_1", "overflow_8", "overflow_1_medium", "write_after_free",
              "overflow_page_guard"],
    "maybe": ["overflow_usable"],
    "none": ["canary_overwrite", "canary_overwrite_remote"],
}
# secure-full (SA_SECURE_PAGE_GUARDS, SA_SECURE_CANARY, SA_SECURE_ZERO_ON_FREE on top):
# where it differs from secure. The canary is the block's last word, so an overflow
# is caught once it reaches that word: 8 bytes past a 20-byte request in a 32-byte
# block (24 usable) are, 1 byte is not (inside the usable size).
SECURE_FULL_CHANGES = {
    "overflow_8": "abort", "overflow_usable": "abort",
    "canary_overwrite": "abort", "canary_overwrite_remote": "abort",
    "overflow_page_guard": "segv",
}
# Keywords where a secure build names a fault otherwise than debug: a double free
# after churn finds the page reused for another size class (usually not a block start);
# with canaries an overflow past the usable size is always the canary's.
SECURE_KEYWORDS = {"double_free_churn": ["double free", "invalid pointer"]}
SECURE_FULL_KEYWORDS = dict(SECURE_KEYWORDS, overflow_usable=["buffer overflow"])
SECURE_BUILDS = ("secure", "secure-full")


def secure_outcome(fault, build="secure"):
    if build == "secure-full" and fault in SECURE_FULL_CHANGES:
        return SECURE_FULL_CHANGES[fault]
    for outcome, faults in SECURE_OUTCOME.items():
        if fault in faults:
            return outcome
    return "abort"


def keywords_for(fault, build):
    keywords = FAULTS[fault][1]
    if build == "secure":
        return SECURE_KEYWORDS.get(fault, keywords)
    if build == "secure-full":
        return SECURE_FULL_KEYWORDS.get(fault, keywords)
    return keywords


# The faults the release build checks (and that cannot crash a release process).
RELEASE_CHECKED = ["realloc_foreign", "realloc_stack", "realloc_unaligned",
                   "usable_size_foreign", "usable_size_static"]


def cases():
    """(fault, build, mode, extra environment) for every run, in order."""
    out = []
    for fault in FAULTS:
        if fault in SECURE_ONLY:
            continue
        out.append((fault, "debug", "abort", {}))
        out.append((fault, "debug", "report", {"SHARDALLOC_ABORT_ON_ERROR": "0"}))
    for build in SECURE_BUILDS:
        for fault in FAULTS:
            outcome = secure_outcome(fault, build)
            if outcome == "none":
                continue
            out.append((fault, build, outcome, {}))
            if outcome == "abort":
                out.append((fault, build, "report", {"SHARDALLOC_ABORT_ON_ERROR": "0"}))
    for fault in RELEASE_CHECKED:
        out.append((fault, "release", "report", {"SHARDALLOC_SHOW_ERRORS": "1"}))
        out.append((fault, "release", "quiet", {}))
    return out


def no_core_dumps():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run(program, lib, env_extra):
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith("SHARDALLOC_") and k != "LD_PRELOAD"}
    env.update(env_extra)
    env["LD_PRELOAD"] = lib
    try:
        r = subprocess.run([program], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=TIMEOUT_S, preexec_fn=no_core_dumps)
        return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired:
        return "timeout", "", ""


def describe_status(status):
    if status == "timeout":
        return f"hung (killed after {TIMEOUT_S}s)"
    if status < 0:
        return f"killed by {signal.Signals(-status).name}"
    if status == SETUP_FAILED:
        return "exit 77 (the fault could not be set up)"
    return f"exit {status}"


def error_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("shardalloc: error:")]


def judge(mode, keywords, status, stderr):
    """Returns (verdict, reason): verdict is 'ok' or 'fail'."""
    lines = error_lines(stderr)
    named = [line for line in lines if any(k.lower() in line.lower() for k in keywords)]
    wanted = " or ".join(repr(k) for k in keywords)
    if mode == "segv":
        if status != -signal.SIGSEGV:
            return "fail", f"expected SIGSEGV, got {describe_status(status)}"
        return "ok", ""
    if mode == "maybe":
        if status == 0 and not lines:
            return "ok", ""
        mode = "abort"
    if mode == "quiet":
        if status != 0:
            return "fail", f"expected exit 0, got {describe_status(status)}"
        if "shardalloc:" in stderr:
            return "fail", "expected no message, got one"
        return "ok", ""
    if mode == "abort" and status != -signal.SIGABRT:
        return "fail", f"expected SIGABRT, got {describe_status(status)}"
    if mode == "report" and status != 0:
        return "fail", f"expected exit 0 after the report, got {describe_status(status)}"
    if not named:
        what = f"lines {lines!r}" if lines else "no `shardalloc: error:` line"
        return "fail", f"expected a `shardalloc: error:` line naming {wanted}; got {what}"
    return "ok", ""


def print_table():
    print(f"{'fault':24} {'what it does':56} {'message':24} {'debug':8} {'secure':8} {'sec-full':8} release")
    for fault, (what, keywords) in FAULTS.items():
        words = " or ".join(SECURE_KEYWORDS.get(fault, keywords)) or "-"
        release = "NULL/0, message if show_errors" if fault in RELEASE_CHECKED else "not run"
        debug = "not run" if fault in SECURE_ONLY else "abort"
        secure, full = (secure_outcome(fault, b).replace("none", "not run") for b in SECURE_BUILDS)
        print(f"{fault:24} {what:56} {words:24} {debug:8} {secure:8} {full:8} {release}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", default="build/tests/misuse")
    ap.add_argument("--lib-dir", default="build")
    ap.add_argument("-k", help="run only the faults whose name contains this")
    ap.add_argument("--table", action="store_true", help="print the expected outcomes")
    args = ap.parse_args()
    if args.table:
        print_table()
        return 0
    os.chdir(ROOT)
    libs = {b: os.path.abspath(os.path.join(args.lib_dir, b, "libshardalloc.so"))
            for b in ("debug", "release") + SECURE_BUILDS}
    tally = {}  # build -> [tried, as specified]
    failed = 0
    for fault, build, mode, env_extra in cases():
        if args.k and args.k not in fault:
            continue
        what = FAULTS[fault][0]
        keywords = keywords_for(fault, build)
        name = f"misuse {build}/{mode}: {fault} ({what})"
        program = os.path.join(args.build_dir, fault)
        if not os.path.exists(program) or not os.path.exists(libs[build]):
            taplib.check(False, name, [f"missing {program} or {libs[build]}"])
            failed += 1
            continue
        status, stdout, stderr = run(program, libs[build], env_extra)
        verdict, reason = judge(mode, keywords, status, stderr)
        if status == SETUP_FAILED:
            verdict, reason = "fail", "the fault could not be set up: " + stderr.strip()[-200:]
        counts = tally.setdefault(build, [0, 0])
        counts[0] += 1
        if verdict == "ok":
            counts[1] += 1
            taplib.check(True, name)
        else:
            failed += 1
            taplib.comment(reason)
            tail = (stderr.strip().splitlines() or ["(empty)"])[-3:]
            taplib.comment("stderr: " + " | ".join(t[:160] for t in tail))
            taplib.check(False, name)
        sys.stdout.flush()
    for build, (tried, good) in sorted(tally.items()):
        taplib.comment(f"{build}: {good} of {tried} fault runs caught/handled as specified")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
