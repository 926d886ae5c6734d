#!/usr/bin/env python3
"""Real programs under LD_PRELOAD: their output must be identical to a run without it.

Each program runs once on its own allocator (the baseline) and once per library
given, with LD_PRELOAD set to that library; stdout, stderr and the exit status must
match the baseline exactly. A library that fails to load makes the dynamic loader
complain on stderr, so that fails too; a separate check also confirms the library
really is mapped into a preloaded process.

Programs: python3 (PYTHONMALLOC=malloc) on an allocation-heavy script, sort on a
large generated file (in memory with two threads, and external with a small
buffer), sqlite3 on a generated SQL script, perl, the C++ workload of newdelete,
git on a generated repository, and g++ compiling a C++ file.

Usage: real_programs.py LIBRARY.so [LIBRARY.so ...]   (TAP on stdout)
Standard library only. Run from the repository root.
"""
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PROGRAMS_DIR = os.path.join(ROOT, "allocator", "tests", "programs")
NEWDELETE = os.path.join(ROOT, "build", "tests", "api", "newdelete")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import tap as taplib  # noqa: E402  (allocator/tests/lib/tap.py: the shared TAP output)
TIMEOUT_S = 120


def python3_path():
    # The system interpreter, not a version-manager shim (a shell script).
    for candidate in ("/usr/bin/python3", shutil.which("python3"), sys.executable):
        if candidate and os.path.exists(candidate):
            return candidate
    return sys.executable


def write_sort_input(path):
    """~300k lines of mixed keys (deterministic), about 12 MB."""
    x = 987654321
    with open(path, "w") as f:
        for i in range(300_000):
            x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
            word = "".join(chr(97 + ((x >> s) % 26)) for s in range(5, 5 + 6 * 5, 5))
            f.write(f"{word}\t{(x >> 20) % 100000}\t{i}\t{'z' * ((x >> 40) % 20)}\n")


def write_sql_script(path):
    """A generated SQL workload: tables, many inserts, indexes, joins, grouping,
    window functions and string aggregation, all with deterministic output."""
    lines = [
        "PRAGMA cache_size = -2000;",
        "CREATE TABLE person(id INTEGER PRIMARY KEY, name TEXT, city INTEGER, score REAL);",
        "CREATE TABLE city(id INTEGER PRIMARY KEY, name TEXT);",
        "CREATE TABLE visit(person INTEGER, city INTEGER, day INTEGER, note TEXT);",
        "BEGIN;",
    ]
    for c in range(200):
        lines.append(f"INSERT INTO city VALUES({c}, 'city{c:03d}');")
    x = 42
    for p in range(20000):
        x = (x * 1103515245 + 12345) % 2147483648
        lines.append(f"INSERT INTO person VALUES({p}, 'person{x % 100000}', {x % 200}, "
                     f"{(x % 10000) / 100.0});")
    lines.append("COMMIT;")
    lines += [
        "INSERT INTO visit SELECT p.id, (p.id * 7 + d.value) % 200, d.value, "
        "printf('%s-%d', p.name, d.value) FROM person p, "
        "(WITH RECURSIVE n(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM n WHERE value < 10) "
        "SELECT value FROM n) d;",
        "CREATE INDEX visit_city ON visit(city, day);",
        "CREATE INDEX person_score ON person(score);",
        "SELECT count(*), sum(length(note)) FROM visit;",
        "SELECT c.name, count(*), round(avg(p.score), 3) FROM visit v JOIN city c ON v.city = c.id "
        "JOIN person p ON v.person = p.id GROUP BY c.id ORDER BY count(*) DESC, c.name LIMIT 15;",
        "SELECT name, score, rank() OVER (ORDER BY score DESC, id) FROM person "
        "ORDER BY score DESC, id LIMIT 20;",
        "SELECT city, group_concat(name, ',') FROM (SELECT city, name FROM person "
        "WHERE id % 97 = 0 ORDER BY name) GROUP BY city ORDER BY city LIMIT 30;",
        "UPDATE person SET name = name || '-' || upper(substr(name, 1, 3)) WHERE id % 3 = 0;",
        "DELETE FROM visit WHERE day % 4 = 0;",
        "SELECT count(*), max(note), min(note) FROM visit;",
        "SELECT sum(length(name)), count(DISTINCT name) FROM person;",
        "VACUUM;",
        "SELECT count(*) FROM visit v WHERE EXISTS (SELECT 1 FROM person p "
        "WHERE p.id = v.person AND p.score > 50);",
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def write_git_repo_script(path):
    """A shell script that builds a git repository with fixed identities and
    dates (so hashes are deterministic) and prints its history and contents."""
    script = r"""
set -e
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.org GIT_COMMITTER_NAME=t
export GIT_COMMITTER_EMAIL=t@example.org GIT_CONFIG_NOSYSTEM=1 HOME="$PWD"
git init -q -b main repo
cd repo
for c in $(seq 1 15); do
  export GIT_AUTHOR_DATE="2024-01-01T00:00:$c +0000" GIT_COMMITTER_DATE="2024-01-01T00:00:$c +0000"
  for f in $(seq 1 10); do
    seq $((c * f)) $((c * f + 200)) > "file$f.txt"
  done
  git add -A
  git commit -q -m "commit $c"
done
git log --stat --format='%H %s' | head -400
git gc -q
git fsck --strict 2>&1
git diff HEAD~10 HEAD --stat
git rev-list --all --objects | sort | head -50
"""
    with open(path, "w") as f:
        f.write(script)


def programs(work):
    """(name, argv, extra env, cwd) of each program to run."""
    sort_in = os.path.join(work, "sort-input.txt")
    write_sort_input(sort_in)
    sql = os.path.join(work, "workload.sql")
    write_sql_script(sql)
    git_script = os.path.join(work, "git-workload.sh")
    write_git_repo_script(git_script)
    py = python3_path()
    progs = [
        ("python3 (PYTHONMALLOC=malloc) allocation-heavy script",
         [py, os.path.join(PROGRAMS_DIR, "alloc_heavy.py")],
         {"PYTHONMALLOC": "malloc", "PYTHONHASHSEED": "0"}, work),
        ("sort of 300k lines in memory with 2 threads",
         ["sort", "-S", "200M", "--parallel=2", "-k2,2n", "-k1,1", sort_in], {}, work),
        ("sort of 300k lines through temporary files (1 MiB buffer)",
         ["sort", "-S", "1M", "-T", work, sort_in], {}, work),
        ("sqlite3 on a generated SQL script",
         ["sqlite3", "-batch", ":memory:", f".read {sql}"], {}, work),
        ("perl allocation-heavy script",
         ["perl", os.path.join(PROGRAMS_DIR, "churn.pl")], {}, work),
        ("C++ containers, threads, new/delete (newdelete --workload)",
         [NEWDELETE, "--workload"], {}, work),
        ("git: 15 commits, log, gc, fsck",
         ["sh", git_script], {}, None),  # cwd: a fresh directory per run
        ("g++ -O2 -S of a C++ source",
         ["g++", "-std=gnu++17", "-O2", "-S", "-o", "-",
          os.path.join(ROOT, "allocator", "tests", "api", "newdelete.cpp")], {}, work),
    ]
    return progs


def run(argv, env_extra, cwd, preload):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.update({"LC_ALL": "C", "TZ": "UTC"})
    env.update(env_extra)
    if preload:
        env["LD_PRELOAD"] = preload
    own_dir = None
    if cwd is None:
        own_dir = tempfile.mkdtemp(prefix="sa-real-")
        cwd = own_dir
    try:
        r = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=TIMEOUT_S)
        return r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired:
        return "timeout", b"", b"[timed out]"
    finally:
        if own_dir:
            shutil.rmtree(own_dir, ignore_errors=True)


def first_difference(a, b):
    la, lb = a.decode(errors="replace").splitlines(), b.decode(errors="replace").splitlines()
    for i, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            return f"line {i + 1}: baseline {x[:100]!r} vs preloaded {y[:100]!r}"
    return f"baseline has {len(la)} lines, preloaded {len(lb)}"


def tap(ok, name, diags=()):
    return taplib.check(ok, name, diags)


def check_loaded(lib):
    """The library is really in a preloaded process's address space."""
    code, out, err = run(["cat", "/proc/self/maps"], {}, None, lib)
    loaded = code == 0 and os.path.realpath(lib).encode() in out
    diags = [] if loaded else [f"status {code}; stderr: {err.decode(errors='replace')[:300]}"]
    return tap(loaded, f"{os.path.relpath(lib, ROOT)} is mapped into a preloaded process", diags)


def main():
    libs = [os.path.abspath(a) for a in sys.argv[1:]]
    if not libs:
        sys.exit("usage: real_programs.py LIBRARY.so [LIBRARY.so ...]")
    failed = 0
    for lib in libs:
        if not os.path.exists(lib):
            failed += not tap(False, f"{lib} exists")
    if failed:
        return 1
    for lib in libs:
        failed += not check_loaded(lib)
    with tempfile.TemporaryDirectory(prefix="sa-real-programs-") as work:
        for name, argv, env_extra, cwd in programs(work):
            if not shutil.which(argv[0]) and not os.path.exists(argv[0]):
                taplib.skip(name, f"{argv[0]} not installed")
                continue
            base = run(argv, env_extra, cwd, None)
            if base[0] != 0:
                failed += not tap(False, f"{name}: runs without preload",
                                  [f"status {base[0]}: {base[2].decode(errors='replace')[:300]}"])
                continue
            for lib in libs:
                got = run(argv, env_extra, cwd, lib)
                diags = []
                if got[0] != base[0]:
                    diags.append(f"exit status {got[0]} (baseline {base[0]})")
                if got[1] != base[1]:
                    diags.append("stdout differs: " + first_difference(base[1], got[1]))
                if got[2] != base[2]:
                    diags.append("stderr differs: " + first_difference(base[2], got[2]))
                    diags.append("preloaded stderr ends: "
                                 + got[2].decode(errors="replace")[-300:].replace("\n", " | "))
                ok = not diags
                failed += not tap(ok, f"{name}: identical under {os.path.relpath(lib, ROOT)}",
                                  diags)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
