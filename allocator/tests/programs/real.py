#!/usr/bin/env python3
"""Real programs under LD_PRELOAD whose output must be identical to a run without it.

allocator/tests/programs/real_programs.py already runs python3 on an allocation-heavy script,
sort, sqlite3, perl, a C++ workload, git and g++ on a small file. This covers the
rest of the reliability issue's list, plus a few more allocation-heavy tools:

  python3 test suite  `python3 -m unittest -v test.test_list test.test_dict
                      test.test_set test.test_json` with PYTHONMALLOC=malloc (every
                      test's verdict compared; the timing line left out)
  g++ large file      -O1 -S of a generated 3000-line C++ file (templates, maps,
                      lambdas): the assembly compared
  ghostscript         a generated 3-page PostScript file rendered to PPM and to PNG:
                      the images compared byte for byte
  xz -T2              6 MB of generated text compressed with two threads and back
  jq                  grouping and sorting 40000 generated JSON objects
  awk, tclsh, bc      word counts, dicts and lists, 1000-digit arithmetic

Each program runs without preload (the baseline) and with each library given, at
the same time; stdout, stderr and the exit status must match. A program that is not
installed is a skip (with the reason); so is the python test slice if the python3
found has no `test` package (Debian: libpython3.11-testsuite).
Usage: real.py LIBRARY.so [LIBRARY.so ...]   (TAP on stdout; from the repository root)
"""
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import tap as taplib  # noqa: E402  (allocator/tests/lib/tap.py: the shared TAP output)
TIMEOUT_S = 150
PYTHON_TESTS = ["test.test_list", "test.test_dict", "test.test_set", "test.test_json"]


def tap(ok, name, diags=(), skip=None):
    if skip:
        for d in diags:
            taplib.comment(d)
        taplib.skip(name, skip)
        return ok
    return taplib.check(ok, name, diags)


# ---- inputs ----------------------------------------------------------------------------

def lcg(seed):
    x = seed
    while True:
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        yield x >> 33


WORDS = ["alloc", "free", "segment", "page", "heap", "thread", "block", "shard", "list",
         "cache", "purge", "huge", "small", "medium", "large", "remote", "local", "fork"]


def write_cpp(path, count=110):
    lines = ["#include <algorithm>", "#include <functional>", "#include <map>", "#include <memory>",
             "#include <string>", "#include <vector>", ""]
    for i in range(count):
        lines.append(f"""template <typename T> struct Node{i} {{
  std::vector<T> items;
  std::map<std::string, T> named;
  T total() const {{
    T t{{}};
    for (const auto& x : items) t += x;
    for (const auto& [k, v] : named) t += v * T(k.size());
    return t;
  }}
  void add(const std::string& key, T v) {{ items.push_back(v); named[key + "_{i}"] = v * T({i % 7 + 1}); }}
}};
inline long use{i}(int n) {{
  Node{i}<long> a;
  Node{i}<double> b;
  for (int k = 0; k < n; k++) {{
    a.add(std::to_string(k), k * {i});
    b.add("x" + std::to_string(k), k / {i + 1}.0);
  }}
  auto f = [&](long x) {{ return x * {i} + (long)b.total(); }};
  std::vector<long> v(a.items.begin(), a.items.end());
  std::sort(v.begin(), v.end(), std::greater<long>());
  auto owned = std::make_unique<std::string>(std::to_string(v.size()));
  return f(a.total()) + (long)owned->size();
}}""")
    lines.append("long run_all(int n) {\n  long s = 0;")
    lines += [f"  s += use{i}(n + {i});" for i in range(count)]
    lines.append("  return s;\n}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def write_postscript(path):
    ps = ["%!PS-Adobe-3.0", "/Times-Roman findfont 14 scalefont setfont"]
    for page in range(3):
        for i in range(500):
            x, y = (i * 37 + page * 11) % 560 + 20, (i * 53 + page * 7) % 760 + 20
            r = (i * 13) % 40 + 5
            ps.append(f"{(i % 10) / 10} {(i * 3 % 10) / 10} {(i * 7 % 10) / 10} setrgbcolor")
            ps.append(f"newpath {x} {y} {r} 0 360 arc closepath {'fill' if i % 2 else 'stroke'}")
            if i % 5 == 0:
                ps.append(f"newpath {x} {y} moveto {x + 30} {y + 60} {x + 90} {y - 40} "
                          f"{x + 120} {y + 10} curveto stroke")
            if i % 8 == 0:
                ps.append(f"{x} {y} moveto (shardalloc page {page} item {i}) show")
        ps.append("gsave 300 400 translate 0 10 350 { rotate 0 0 moveto 200 0 lineto stroke } "
                  "for grestore")
        ps.append("showpage")
    with open(path, "w") as f:
        f.write("\n".join(ps) + "\n")


def write_text(path, megabytes):
    rng = lcg(7)
    with open(path, "w") as f:
        written = 0
        while written < megabytes << 20:
            line = " ".join(WORDS[next(rng) % len(WORDS)] + str(next(rng) % 500)
                            for _ in range(12)) + "\n"
            f.write(line)
            written += len(line)


def write_json(path, count):
    rng = lcg(11)
    with open(path, "w") as f:
        f.write("[\n")
        for i in range(count):
            word = WORDS[next(rng) % len(WORDS)]
            tags = ",".join(f'"{WORDS[next(rng) % len(WORDS)]}"' for _ in range(next(rng) % 5))
            f.write(f'{{"id":{i},"kind":"{word}","size":{next(rng) % 100000},"tags":[{tags}]}}'
                    f'{"," if i + 1 < count else ""}\n')
        f.write("]\n")


TCL_SCRIPT = r"""
set d [dict create]
for {set i 0} {$i < 200000} {incr i} {
  set k "key[expr {($i * 7919) % 5000}]"
  dict append d $k [string repeat x [expr {$i % 7}]]
  lappend l($k) $i
}
set total 0
dict for {k v} $d { incr total [string length $v] }
puts "total $total keys [dict size $d]"
foreach k [lsort [array names l]] { if {[string match *99 $k]} { puts "$k [llength $l($k)] [lindex [lsort -integer -decreasing $l($k)] 0]" } }
"""

BC_SCRIPT = "scale=1000\nsqrt(2)\ne(1)\n2^20000\nl(7)\n"

AWK_SCRIPT = ('{ for (i = 1; i <= NF; i++) { count[$i]++; len[length($i)] += 1 } } '
              'END { for (w in count) print w, count[w] | "sort"; close("sort"); '
              'for (n in len) print "length", n, len[n] | "sort -n -k2"; }')


def python_with_tests():
    """A python3 executable (not a shim script) that has the test package."""
    candidates = []
    try:
        out = subprocess.run(["python3", "-c", "import sys; print(sys.executable)"],
                             capture_output=True, text=True, timeout=30)
        candidates.append(out.stdout.strip())
    except (OSError, subprocess.TimeoutExpired):
        pass
    candidates += ["/usr/bin/python3", sys.executable]
    for exe in candidates:
        if not exe or not os.path.exists(exe):
            continue
        r = subprocess.run([exe, "-c", "import " + ", ".join(PYTHON_TESTS)], capture_output=True,
                           timeout=60)
        if r.returncode == 0:
            return exe, None
    return None, ("no python3 here has the test package (`import test.test_list` fails; "
                  "Debian: apt-get install libpython3.11-testsuite)")


def programs(work):
    """(name, argv, extra environment, normaliser of the output or None, skip reason)."""
    cpp = os.path.join(work, "big.cpp")
    write_cpp(cpp)
    ps = os.path.join(work, "art.ps")
    write_postscript(ps)
    text = os.path.join(work, "text.txt")
    write_text(text, 6)
    small_text = os.path.join(work, "small.txt")
    write_text(small_text, 3)
    js = os.path.join(work, "data.json")
    write_json(js, 40000)
    tcl = os.path.join(work, "dicts.tcl")
    with open(tcl, "w") as f:
        f.write(TCL_SCRIPT)
    python, why_not = python_with_tests()
    timing = re.compile(rb"^Ran (\d+) tests? in [0-9.]+s$", re.M)
    progs = [
        ("python3 test suite (test_list, test_dict, test_set, test_json; PYTHONMALLOC=malloc)",
         [python or "python3", "-m", "unittest", "-v"] + PYTHON_TESTS,
         {"PYTHONMALLOC": "malloc", "PYTHONHASHSEED": "0"},
         lambda out: timing.sub(rb"Ran \1 tests", out), why_not),
        ("g++ -O1 -S of a generated 3000-line C++ file",
         ["g++", "-std=gnu++17", "-O1", "-S", "-o", "-", cpp], {}, None, None),
        ("ghostscript renders a generated PostScript file to PPM",
         ["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=ppmraw", "-r150",
          "-sOutputFile=-", ps], {}, None, None),
        ("ghostscript renders a generated PostScript file to PNG",
         ["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=png16m", "-r100",
          "-sOutputFile=-", ps], {}, None, None),
        ("xz -T2 compresses 6 MB with two threads and decompresses it",
         ["sh", "-c", f"xz -T2 -3 --block-size=1MiB -c {text} > {text}.$$.xz && xz -d -T2 -c {text}.$$.xz | cksum "
                      f"&& cksum < {text}.$$.xz && rm -f {text}.$$.xz"], {}, None, None),
        ("jq groups and sorts 40000 JSON objects",
         ["jq", "-c", "group_by(.kind) | map({kind: .[0].kind, n: length, "
                      "total: (map(.size) | add), tags: (map(.tags[]) | unique)}) "
                      "| sort_by(-.total)", js], {}, None, None),
        ("awk counts the words of 3 MB of text", ["awk", AWK_SCRIPT, small_text], {}, None, None),
        ("tclsh builds dicts and lists", ["tclsh", tcl], {}, None, None),
        ("bc computes 1000-digit constants", ["sh", "-c", f"printf '{BC_SCRIPT}' | bc -l"], {},
         None, None),
    ]
    return progs


def run(argv, env_extra, cwd, preload):
    env = {k: v for k, v in os.environ.items()
           if k != "LD_PRELOAD" and not k.upper().startswith("SHARDALLOC_")}
    env.update({"LC_ALL": "C", "TZ": "UTC"})
    env.update(env_extra)
    if preload:
        env["LD_PRELOAD"] = preload
    try:
        r = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=TIMEOUT_S)
        return r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired:
        return "timeout", b"", b"[timed out]"


def first_difference(a, b):
    la, lb = a.decode(errors="replace").splitlines(), b.decode(errors="replace").splitlines()
    for i, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            return f"line {i + 1}: baseline {x[:100]!r} vs preloaded {y[:100]!r}"
    return f"baseline has {len(la)} lines ({len(a)} bytes), preloaded {len(lb)} ({len(b)} bytes)"


def main():
    libs = [os.path.abspath(a) for a in sys.argv[1:]]
    if not libs:
        sys.exit("usage: real.py LIBRARY.so [LIBRARY.so ...]")
    for lib in libs:
        if not os.path.exists(lib):
            tap(False, f"{lib} exists")
            return 1
    failed = identical = 0
    with tempfile.TemporaryDirectory(prefix="sa-faults-real-") as work:
        for name, argv, env_extra, normalise, skip in programs(work):
            if skip:
                tap(True, name, skip=skip)
                continue
            if shutil.which(argv[0]) is None and not os.path.exists(argv[0]):
                tap(True, name, skip=f"{argv[0]} is not installed")
                continue
            # The baseline and the preloaded runs at the same time (their outputs are
            # compared, not their timings).
            start = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(max_workers=1 + len(libs)) as pool:
                futures = [pool.submit(run, argv, env_extra, work, lib) for lib in [None] + libs]
                results = [f.result() for f in futures]
            print(f"# {name}: {time.monotonic() - start:.1f}s", flush=True)
            base = results[0]
            if normalise:
                results = [(c, normalise(o), normalise(e)) for c, o, e in results]
                base = results[0]
            if base[0] != 0:
                failed += not tap(False, f"{name}: runs without preload",
                                  [f"status {base[0]}: {base[2].decode(errors='replace')[-300:]}"])
                continue
            for lib, got in zip(libs, results[1:]):
                diags = []
                if got[0] != base[0]:
                    diags.append(f"exit status {got[0]} (baseline {base[0]})")
                if got[1] != base[1]:
                    diags.append("stdout differs: " + first_difference(base[1], got[1]))
                if got[2] != base[2]:
                    diags.append("stderr differs: " + first_difference(base[2], got[2]))
                    diags.append("preloaded stderr ends: " +
                                 got[2].decode(errors="replace")[-300:].replace("\n", " | "))
                ok = not diags
                identical += ok
                failed += not tap(ok, f"{name}: identical under {os.path.relpath(lib, ROOT)}", diags)
    print(f"# {identical} program runs identical under preload")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
