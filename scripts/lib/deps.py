"""Debian packages the project needs, and the one place that installs them.

Both main commands call ensure(): as root the missing packages are installed with
apt-get; otherwise the exact apt-get line is printed and the command stops.
"""
import os
import shutil
import subprocess
import sys

# package -> why we need it (a file it provides, checked instead of dpkg when given)
BUILD = {
    "ninja-build": "/usr/bin/ninja",
    "gcc": "/usr/bin/gcc",
    "g++": "/usr/bin/g++",
    "clang": "/usr/bin/clang",
    "valgrind": "/usr/bin/valgrind",
}
TEST_PROGRAMS = {
    "sqlite3": "/usr/bin/sqlite3",
    "perl": "/usr/bin/perl",
    "git": "/usr/bin/git",
    "python3": "/usr/bin/python3",
    "time": "/usr/bin/time",
    # real programs the fault suite runs under preload (allocator/tests/programs/real.py)
    "ghostscript": "/usr/bin/gs",
    "xz-utils": "/usr/bin/xz",
    "jq": "/usr/bin/jq",
    "tcl": "/usr/bin/tclsh",
    "bc": "/usr/bin/bc",
    "libpython3.11-testsuite": "/usr/lib/python3.11/test/__init__.py",
    # real programs the workload tests run (workloads/tests/test_redis.py, test_programs.py)
    "redis-server": "/usr/bin/redis-server",
    "redis-tools": "/usr/bin/redis-benchmark",
    "lua5.4": "/usr/bin/lua5.4",
    "z3": "/usr/bin/z3",
}
BENCH = {
    "hyperfine": "/usr/bin/hyperfine",
    "gnuplot-nox": "/usr/bin/gnuplot",
    "time": "/usr/bin/time",
    "libjemalloc2": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
    "libgoogle-perftools4": "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4",
    # tc in scripts/allocators.txt: tcmalloc_minimal, as the tradition's suite builds it
    "libtcmalloc-minimal4": "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
    "libmimalloc2.0": "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2",
    "libtbbmalloc2": "/usr/lib/x86_64-linux-gnu/libtbbmalloc_proxy.so.2",
}

# The Debian programs each real-program benchmark runs (scripts/benchmarks.txt),
# by benchmark name: scripts/bench installs only those of the benchmarks chosen,
# so a suite without them needs none of these packages.
PROGRAMS = {
    "redis": {"redis-server": "/usr/bin/redis-server", "redis-tools": "/usr/bin/redis-benchmark"},
    "cxx-buildN": {"g++": "/usr/bin/g++"},
    "gs": {"ghostscript": "/usr/bin/gs"},
    "lua": {"lua5.4": "/usr/bin/lua5.4"},
    "z3": {"z3": "/usr/bin/z3"},
    "sqlite": {"sqlite3": "/usr/bin/sqlite3"},
    "python": {"python3": "/usr/bin/python3"},
}


def programs_of(benchmark_names):
    """The package groups of the chosen benchmarks that run Debian programs."""
    return [PROGRAMS[name] for name in benchmark_names if name in PROGRAMS]

# scripts/paper's PDF: pdflatex and the few LaTeX packages the paper uses (geometry,
# booktabs, longtable, float, caption, microtype, hyperref); Markdown needs none.
PAPER = {
    "texlive-latex-base": "/usr/bin/pdflatex",
    "texlive-latex-recommended": "/usr/share/texlive/texmf-dist/tex/latex/booktabs/booktabs.sty",
}


def _present(pkg, path):
    """A package counts as present when the file it provides exists, or dpkg says so
    (the file may sit under another multiarch directory)."""
    if os.path.exists(path):
        return True
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
    return "install ok installed" in r.stdout


def missing(groups):
    need = {}
    for group in groups:
        need.update(group)
    return sorted(p for p, path in need.items() if not _present(p, path))


def ensure(groups, what):
    """Install what is missing (as root) or print the apt-get line and exit 2."""
    todo = missing(groups)
    if not todo:
        return
    line = "apt-get install -y " + " ".join(todo)
    if os.geteuid() != 0:
        print(f"{what} needs Debian packages that are missing. Run as root:\n  {line}",
              file=sys.stderr)
        sys.exit(2)
    print(f"installing missing packages: {' '.join(todo)}", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
    r = subprocess.run(["apt-get", "install", "-y", "-qq", *todo], env=env)
    if r.returncode != 0:
        print(f"apt-get failed ({r.returncode}); run by hand:\n  {line}", file=sys.stderr)
        sys.exit(2)


def build(targets=()):
    """Run ninja at the repository root; exit on failure."""
    root = repo_root()
    ninja = shutil.which("ninja") or "ninja"
    r = subprocess.run([ninja, "-C", root, *targets])
    if r.returncode != 0:
        print("build failed", file=sys.stderr)
        sys.exit(1)


def repo_root():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
