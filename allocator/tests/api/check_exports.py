#!/usr/bin/env python3
"""The preloaded library exports exactly the allocation API, and nothing internal.

Required: the C allocation API (glibc's names, the C23 sized frees, the __libc_
aliases) and every C++ operator new/delete by its mangled name. Allowed besides:
the sa_ functions the public header declares, and a few traditional aliases.
Anything else exported is an internal symbol leaking (it could collide with the
program's own symbols).

Usage: check_exports.py LIBRARY.so [...]   (TAP on stdout; uses nm from binutils)
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
HEADER = os.path.join(ROOT, "allocator", "include", "shardalloc.h")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import tap as taplib  # noqa: E402  (allocator/tests/lib/tap.py: the shared TAP output)

C_API = """malloc free calloc realloc reallocarray posix_memalign aligned_alloc memalign valloc
pvalloc malloc_usable_size free_sized free_aligned_sized __libc_malloc __libc_free
__libc_calloc __libc_realloc __libc_memalign __libc_valloc __libc_pvalloc""".split()

# glibc's inspection and tuning calls (glibc_compat.c): without them a preloaded program
# would ask glibc's own, empty arena.
GLIBC_INSPECT = "mallinfo mallinfo2 malloc_trim malloc_stats malloc_info mallopt".split()

# new / new[]: plain, nothrow, align_val_t, align_val_t + nothrow
# delete / delete[]: plain, sized, nothrow, align_val_t, sized + align_val_t,
# align_val_t + nothrow
CXX_API = """_Znwm _Znam _ZnwmRKSt9nothrow_t _ZnamRKSt9nothrow_t _ZnwmSt11align_val_t
_ZnamSt11align_val_t _ZnwmSt11align_val_tRKSt9nothrow_t _ZnamSt11align_val_tRKSt9nothrow_t
_ZdlPv _ZdaPv _ZdlPvm _ZdaPvm _ZdlPvRKSt9nothrow_t _ZdaPvRKSt9nothrow_t _ZdlPvSt11align_val_t
_ZdaPvSt11align_val_t _ZdlPvmSt11align_val_t _ZdaPvmSt11align_val_t
_ZdlPvSt11align_val_tRKSt9nothrow_t _ZdaPvSt11align_val_tRKSt9nothrow_t""".split()

# Harmless traditional aliases other allocators export too.
TOLERATED = {"cfree", "__libc_cfree", "__posix_memalign", "__libc_reallocarray",
             "__libc_posix_memalign", "__libc_aligned_alloc", "__libc_malloc_usable_size"}


def header_names():
    text = open(HEADER).read()
    return set(re.findall(r"\b(sa_[a-z0-9_]+)\s*\(", text))


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True,
                         check=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] not in ("A",):  # skip version-node absolutes
            names.add(parts[2].split("@")[0])
    return names


def tap(ok, name, diags=()):
    return taplib.check(ok, name, diags)


def main():
    failed = 0
    allowed = set(C_API) | set(CXX_API) | set(GLIBC_INSPECT) | header_names() | TOLERATED
    for lib in sys.argv[1:]:
        rel = os.path.relpath(os.path.abspath(lib), ROOT)
        try:
            names = exported(lib)
        except (OSError, subprocess.CalledProcessError) as e:
            failed += not tap(False, f"{rel}: exported symbols readable", [str(e)])
            continue
        missing_c = [n for n in C_API if n not in names]
        failed += not tap(not missing_c, f"{rel} exports every C allocation entry point",
                          [f"missing: {' '.join(missing_c)}"] if missing_c else [])
        missing_glibc = [n for n in GLIBC_INSPECT if n not in names]
        failed += not tap(not missing_glibc, f"{rel} exports glibc's inspection calls (mallinfo2 ...)",
                          [f"missing: {' '.join(missing_glibc)}"] if missing_glibc else [])
        missing_cxx = [n for n in CXX_API if n not in names]
        failed += not tap(not missing_cxx, f"{rel} exports every C++ operator new/delete",
                          [f"missing: {' '.join(missing_cxx)}"] if missing_cxx else [])
        extra = sorted(names - allowed)
        failed += not tap(not extra, f"{rel} exports nothing internal",
                          [f"unexpected: {' '.join(extra[:40])}"] if extra else [])
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: check_exports.py LIBRARY.so [...]")
    sys.exit(main())
