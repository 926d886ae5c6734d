#!/usr/bin/env python3
"""Inputs for the real programs the suite runs under preload (workloads/README.md).

    generate.py KIND SIZE OUTPUT

KIND is gs, z3, sqlite or cxx; SIZE is quick or full. Writes OUTPUT (the input)
and OUTPUT.expected: what the program must print, or for gs the page count, worked
out here independently of the program, so the runner can tell a wrong run from a
right one. For cxx, OUTPUT is a directory of C++ sources. Deterministic: the same
arguments always give the same bytes (a fixed-seed generator, no clock, no hash
order).
"""
import os
import random
import sys

SEED = 20190101  # any fixed number; the inputs only need to be the same every time

# Sizes: quick runs take about a second on one core of a 2019 machine, full ones
# ten to thirty.
SIZES = {
    "gs": {"quick": 12, "full": 120},              # pages
    "z3": {"quick": 1, "full": 16},                 # rounds of the problem set
    "sqlite": {"quick": 80000, "full": 400000},    # rows
    "cxx": {"quick": 2, "full": 24},               # translation units
}


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


# --- ghostscript: pages of curves, text, strokes and a sampled image ----------

GS_PAGE_POINTS = (612, 792)  # US letter
GS_SHAPES_PER_PAGE = 150
GS_WORDS_PER_PAGE = 120
GS_FONTS = ("Times-Roman", "Helvetica-Bold", "Courier", "Times-Italic")


def gs_document(pages, rng):
    """PostScript that the interpreter must rasterise page by page: filled and
    stroked Bezier paths, clipped and rotated text in several fonts, a sampled
    image, with gsave/grestore nesting. It prints its page count at the end."""
    w, h = GS_PAGE_POINTS
    out = ["%!PS-Adobe-3.0", f"%%Pages: {pages}", "%%EndComments",
           "/rnd { 2 mul 1 sub } bind def"]
    for page in range(1, pages + 1):
        out.append(f"%%Page: {page} {page}")
        for _ in range(GS_SHAPES_PER_PAGE):
            pts = " ".join(f"{rng.uniform(0, w):.1f} {rng.uniform(0, h):.1f}" for _ in range(7))
            r, g, b = (rng.random() for _ in range(3))
            out.append(f"gsave {r:.3f} {g:.3f} {b:.3f} setrgbcolor newpath {pts} "
                       f"6 -2 roll moveto curveto closepath "
                       f"{'fill' if rng.random() < 0.6 else f'{rng.uniform(0.2, 6):.1f} setlinewidth stroke'}"
                       " grestore")
        out.append(f"gsave 40 40 {w - 80} {h - 80} rectclip")
        for _ in range(GS_WORDS_PER_PAGE):
            font = rng.choice(GS_FONTS)
            word = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 12)))
            out.append(f"gsave /{font} findfont {rng.uniform(6, 40):.1f} scalefont setfont "
                       f"{rng.uniform(0, w):.1f} {rng.uniform(0, h):.1f} moveto "
                       f"{rng.uniform(-90, 90):.1f} rotate ({word}) show grestore")
        out.append("grestore")
        samples = 64
        out.append(f"gsave 100 100 translate 200 200 scale {samples} {samples} 8 "
                   f"[{samples} 0 0 {samples} 0 0] "
                   f"{{ {samples} string 0 1 {samples - 1} {{ 1 index exch dup {page} mul 255 "
                   "mod cvi put } for } image grestore")
        out.append("showpage")
    out.append(f"(gs-render: {pages} pages\\n) print flush")
    out.append("%%EOF")
    return "\n".join(out) + "\n", f"{pages}\n"


# --- z3: SMT-LIB problems whose answers are known by construction -------------

def z3_planted_3sat(rng, variables, clauses):
    """Random 3-SAT with a hidden model every clause satisfies: sat."""
    model = [rng.random() < 0.5 for _ in range(variables)]
    lines = [f"(declare-const p{i} Bool)" for i in range(variables)]
    for _ in range(clauses):
        while True:
            vs = rng.sample(range(variables), 3)
            signs = [rng.random() < 0.5 for _ in vs]
            if any(model[v] == s for v, s in zip(vs, signs)):
                break
        lits = " ".join(f"p{v}" if s else f"(not p{v})" for v, s in zip(vs, signs))
        lines.append(f"(assert (or {lits}))")
    return lines, "sat"


def z3_pigeonhole(holes):
    """holes + 1 pigeons in `holes` holes, one pigeon a hole: unsat."""
    pigeons = holes + 1
    lines = [f"(declare-const x{p}_{h} Bool)" for p in range(pigeons) for h in range(holes)]
    for p in range(pigeons):
        lines.append("(assert (or " + " ".join(f"x{p}_{h}" for h in range(holes)) + "))")
    for h in range(holes):
        for p in range(pigeons):
            for q in range(p + 1, pigeons):
                lines.append(f"(assert (not (and x{p}_{h} x{q}_{h})))")
    return lines, "unsat"


def z3_planted_lia(rng, variables, equations, parity_conflict):
    """Integer equations with a planted solution (sat), or the same system plus an
    equation whose left side is even and right side odd (unsat)."""
    solution = [rng.randint(-50, 50) for _ in range(variables)]
    lines = [f"(declare-const n{i} Int)" for i in range(variables)]
    for i in range(variables):
        lines.append(f"(assert (and (>= n{i} -100) (<= n{i} 100)))")
    for _ in range(equations):
        terms = rng.sample(range(variables), 4)
        coefficients = [rng.randint(1, 9) for _ in terms]
        total = sum(c * solution[v] for c, v in zip(coefficients, terms))
        lhs = " ".join(f"(* {c} n{v})" for c, v in zip(coefficients, terms))
        lines.append(f"(assert (= (+ {lhs}) {total}))")
    if parity_conflict:
        terms = rng.sample(range(variables), 3)
        lhs = " ".join(f"(* 2 n{v})" for v in terms)
        lines.append(f"(assert (= (+ {lhs}) {2 * rng.randint(-20, 20) + 1}))")
        return lines, "unsat"
    return lines, "sat"


def z3_planted_bv(rng, variables, constraints):
    """32-bit vector equations (multiply, xor, shifts) with a planted model: sat."""
    mask = (1 << 32) - 1
    model = [rng.getrandbits(32) for _ in range(variables)]
    lines = [f"(declare-const b{i} (_ BitVec 32))" for i in range(variables)]
    for _ in range(constraints):
        i, j = rng.sample(range(variables), 2)
        k = rng.randint(1, 31)
        value = ((model[i] * model[j]) ^ (model[i] << k)) & mask
        lines.append(f"(assert (= (bvxor (bvmul b{i} b{j}) (bvshl b{i} (_ bv{k} 32))) "
                     f"(_ bv{value} 32)))")
    return lines, "sat"


def z3_problems(rounds, rng):
    """Each round: a planted 3-SAT, a pigeonhole, a sat and an unsat integer
    system and a bit-vector system, each checked after a (reset)."""
    text, answers = ["(set-option :print-success false)"], []
    for r in range(rounds):
        for lines, answer in (z3_planted_3sat(rng, 300, 1250), z3_pigeonhole(8),
                              z3_planted_lia(rng, 30, 40, False),
                              z3_planted_lia(rng, 30, 40, True),
                              z3_planted_bv(rng, 8, 6)):
            text += ["(reset)"] + lines + ["(check-sat)"]
            answers.append(answer)
    return "\n".join(text) + "\n", "\n".join(answers) + "\n"


# --- sqlite: a speedtest-like session on an in-memory database ----------------

SQLITE_WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
                "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa")


def sqlite_document(rows, rng):
    """Inserts in one transaction, an index, range and group-by queries, updates,
    deletes and a join; the expected results are computed here on the same rows."""
    data = []
    for i in range(rows):
        b = rng.randint(0, 999999)
        c = " ".join(rng.choice(SQLITE_WORDS) for _ in range(rng.randint(1, 6)))
        data.append((i, b, c))
    sql = [".bail on", "CREATE TABLE t1(a INTEGER PRIMARY KEY, b INTEGER, c TEXT);",
           "CREATE TABLE t2(a INTEGER, b INTEGER, c TEXT);", "BEGIN;"]
    sql += [f"INSERT INTO t1 VALUES({a},{b},'{c}');" for a, b, c in data]
    sql += [f"INSERT INTO t2 VALUES({a},{b},'{c}');" for a, b, c in data[::2]]
    t2 = {a: b for a, b, _ in data[::2]}
    sql.append("COMMIT;")
    expected = []

    sql.append("SELECT count(*), sum(b), min(b), max(b) FROM t1;")
    bs = [b for _, b, _ in data]
    expected.append(f"{len(bs)}|{sum(bs)}|{min(bs)}|{max(bs)}")

    sql.append("CREATE INDEX i1b ON t1(b); CREATE INDEX i2a ON t2(a);")
    for lo in range(0, 1000000, 100000):
        hi = lo + 9999
        sql.append(f"SELECT count(*), coalesce(sum(a),0) FROM t1 WHERE b BETWEEN {lo} AND {hi};")
        hit = [a for a, b, _ in data if lo <= b <= hi]
        expected.append(f"{len(hit)}|{sum(hit)}")

    sql.append("SELECT count(*), sum(length(c)) FROM t1 WHERE c LIKE '%golf%';")
    hit = [c for _, _, c in data if "golf" in c]
    expected.append(f"{len(hit)}|{sum(len(c) for c in hit)}")

    sql.append("SELECT length(c) - length(replace(c, ' ', '')) + 1 AS w, count(*) FROM t1 "
               "GROUP BY w ORDER BY w;")
    words = {}
    for _, _, c in data:
        words[c.count(" ") + 1] = words.get(c.count(" ") + 1, 0) + 1
    expected += [f"{w}|{n}" for w, n in sorted(words.items())]

    sql.append("BEGIN; UPDATE t1 SET b = b * 2 WHERE a % 3 = 0; "
               "UPDATE t1 SET c = c || ' zulu' WHERE b < 100000; COMMIT;")
    data = [(a, b * 2 if a % 3 == 0 else b, c) for a, b, c in data]
    data = [(a, b, c + " zulu" if b < 100000 else c) for a, b, c in data]
    sql.append("SELECT sum(b), sum(length(c)) FROM t1;")
    expected.append(f"{sum(b for _, b, _ in data)}|{sum(len(c) for _, _, c in data)}")

    sql.append("DELETE FROM t1 WHERE b % 7 = 0;")
    data = [row for row in data if row[1] % 7 != 0]
    sql.append("SELECT count(*), sum(t1.b + t2.b) FROM t1 JOIN t2 ON t1.a = t2.a;")
    joined = [(b, t2[a]) for a, b, _ in data if a in t2]
    expected.append(f"{len(joined)}|{sum(b1 + b2 for b1, b2 in joined)}")
    return "\n".join(sql) + "\n", "\n".join(expected) + "\n"


# --- cxx: translation units for a parallel build --------------------------------

CXX_FUNCTIONS_PER_UNIT = 2


def cxx_unit(index, rng):
    """One translation unit: class templates over standard containers, instantiated
    for several types, and a function whose result the generator knows."""
    seeds = [rng.randint(1, 1000) for _ in range(CXX_FUNCTIONS_PER_UNIT)]
    lines = ["#include <algorithm>", "#include <map>", "#include <numeric>", "#include <sstream>",
             "#include <string>", "#include <unordered_map>", "#include <vector>", "",
             f"namespace unit{index} {{", "template <typename K, typename V> struct Table {",
             "    std::map<K, std::vector<V>> rows;",
             "    void add(const K &k, const V &v) { rows[k].push_back(v); }",
             "    long total() const {", "        long t = 0;",
             "        for (const auto &row : rows)",
             "            t += static_cast<long>(row.second.size());", "        return t;",
             "    }", "};", ""]
    for f, seed in enumerate(seeds):
        lines += [f"long f{f}() {{",
                  "    Table<std::string, long> a; Table<long, std::string> b;",
                  "    std::unordered_map<long, std::string> c;",
                  f"    for (long i = 0; i < {seed}; i++) {{",
                  "        std::ostringstream s; s << \"k\" << (i % 17);",
                  "        a.add(s.str(), i); b.add(i % 5, s.str()); c[i] = s.str();",
                  "    }",
                  "    std::vector<long> v(c.size());",
                  "    std::iota(v.begin(), v.end(), 0L);",
                  "    std::sort(v.begin(), v.end(), [](long x, long y) { return x > y; });",
                  "    return a.total() + b.total() + static_cast<long>(v.size());",
                  "}", ""]
    lines += ["}", "", f"long unit_{index}() {{", "    long sum = 0;"]
    lines += [f"    sum += unit{index}::f{f}();" for f in range(CXX_FUNCTIONS_PER_UNIT)]
    lines += ["    return sum;", "}", ""]
    return "\n".join(lines), 3 * sum(seeds)  # a.total = b.total = v.size = seed


def cxx_tree(units, rng, directory):
    os.makedirs(directory, exist_ok=True)
    for stale in os.listdir(directory):  # from an earlier, larger tree
        if stale.endswith(".cpp"):
            os.remove(os.path.join(directory, stale))
    total = 0
    for i in range(units):
        text, value = cxx_unit(i, rng)
        write(os.path.join(directory, f"unit_{i:03d}.cpp"), text)
        total += value
    main = ["#include <cstdio>", ""] + [f"long unit_{i}();" for i in range(units)]
    main += ["", "int main() {", "    long sum = 0;"]
    main += [f"    sum += unit_{i}();" for i in range(units)]
    main += ['    std::printf("cxx-build: %ld\\n", sum);', "    return 0;", "}", ""]
    write(os.path.join(directory, "main.cpp"), "\n".join(main))
    return f"cxx-build: {total}\n"


def main(argv):
    if len(argv) != 4 or argv[1] not in SIZES or argv[2] not in SIZES[argv[1]]:
        sys.exit(f"usage: {argv[0]} {{{','.join(SIZES)}}} {{quick,full}} OUTPUT")
    kind, size, output = argv[1:]
    rng = random.Random(f"{SEED}-{kind}-{size}")
    count = SIZES[kind][size]
    if kind == "cxx":
        expected = cxx_tree(count, rng, output)
    else:
        text, expected = {"gs": gs_document, "z3": z3_problems,
                          "sqlite": sqlite_document}[kind](count, rng)
        write(output, text)
    write(output + ".expected", expected)


if __name__ == "__main__":
    main(sys.argv)
