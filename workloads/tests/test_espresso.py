#!/usr/bin/env python3
"""espresso: minimises PLAs whose minimum the test knows, checks the result of
the generated inputs against the input minterm by minterm (in Python, sharing
nothing with the program), that -D verify tells equal PLAs from corrupted
ones, that it runs under shardalloc, and that bad arguments and malformed files
are rejected with a message and exit 2."""
import os
import tempfile

import tap

ESPRESSO = tap.program("espresso")
QUICK = tap.program(os.path.join("inputs", "quick.pla"))
LARGEST = tap.program(os.path.join("inputs", "largest.pla"))
SHARDALLOC = os.path.join(tap.ROOT, "build", "release", "libshardalloc.so")


def parse_pla(text):
    """(inputs, outputs, [(input string, output string)]) of a PLA text."""
    n = m = 0
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(".i "):
            n = int(line.split()[1])
        elif line.startswith(".o "):
            m = int(line.split()[1])
        elif not line.startswith("."):
            chars = line.replace(" ", "").replace("|", "")
            rows.append((chars[:n], chars[n:]))
    return n, m, rows


def truth_table(n, m, rows, dont_care=False):
    """minterm -> output bit mask: the ON-set (or, with dont_care, the '-'
    outputs of the rows)."""
    table = {}
    for ins, outs in rows:
        mask = 0
        for j, ch in enumerate(outs):
            if (ch == "-" if dont_care else ch == "1"):
                mask |= 1 << j
        if not mask:
            continue
        free = [v for v, ch in enumerate(ins) if ch == "-"]
        base = sum(1 << v for v, ch in enumerate(ins) if ch == "1")
        for k in range(1 << len(free)):
            minterm = base | sum(1 << free[b] for b in range(len(free)) if (k >> b) & 1)
            table[minterm] = table.get(minterm, 0) | mask
    return table


def write(directory, name, text):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def check_minimises(path, what, env=None, runs="1"):
    """The result is equivalent to the input (by our own truth tables) and has
    no more cubes. Returns the result's text."""
    status, out, err = tap.run([ESPRESSO, "-n", runs, path], env)
    with open(path) as f:
        n, m, before = parse_pla(f.read())
    n2, m2, after = parse_pla(out)
    good = status == 0 and (n2, m2) == (n, m) and out.rstrip().endswith(".e")
    if good:
        good = (truth_table(n, m, after) == truth_table(n, m, before)
                and len(after) <= len([r for r in before if "1" in r[1]]))
    tap.check(good, f"espresso minimises {what}: equivalent, no more cubes",
              f"status {status}, stderr {err!r}, {len(after)} cubes")
    return out, len(before), len(after)


def rejects(args, what):
    """A message naming the program, and exit status 2 (a bad argument or file)."""
    tap.check_rejects(args, what, "espresso")
    status, _, err = tap.run(args)
    if status != 2:
        tap.check(False, f"espresso exits 2 for {what}", f"status {status}, stderr {err!r}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        # Known minima: four minterms of one half cube; x xor y needs two cubes;
        # a two-output function where one shared cube is best.
        cases = [
            (".i 3\n.o 1\n000 1\n001 1\n010 1\n011 1\n.e\n", 1, "four minterms into one cube"),
            (".i 2\n.o 1\n01 1\n10 1\n.e\n", 2, "exclusive or (nothing to merge)"),
            (".i 3\n.o 2\n110 11\n111 11\n11- 10\n.e\n", 1, "two outputs sharing a cube"),
            (".i 4\n.o 1\n.p 0\n.e\n", 0, "an empty ON-set"),
        ]
        for text, cubes, what in cases:
            out, _, after = check_minimises(write(tmp, "case.pla", text), what)
            tap.check(after == cubes, f"espresso finds the minimum for {what} ({cubes} cubes)",
                      out)

        # Don't-cares (.type fd): 00 and 01 ON, 10 don't care, 11 OFF: one cube,
        # 0- (or -0, through the don't-care), never one reaching 11.
        fd = ".i 2\n.o 1\n.type fd\n00 1\n01 1\n10 -\n.e\n"
        status, out, err = tap.run([ESPRESSO, "-n", "1", write(tmp, "fd.pla", fd)])
        _, _, rows = parse_pla(out)
        tap.check(status == 0 and len(rows) == 1 and rows[0][0] in ("0-", "-0"),
                  "espresso uses don't-cares and never covers the OFF-set", out + err)

        out, before, after = check_minimises(QUICK, "the quick input", runs="3")
        tap.check(after < before, f"the quick input shrinks ({before} -> {after} cubes)")
        status2, out2, _ = tap.run([ESPRESSO, "-n", "1", QUICK])
        tap.check(status2 == 0 and out2 == out, "espresso is deterministic (same PLA twice)")
        result = write(tmp, "result.pla", out)
        status, vout, err = tap.run([ESPRESSO, "-D", "verify", QUICK, result])
        tap.check(status == 0 and vout.strip() == "PLA's compared equal",
                  "-D verify finds the result equal to the input", vout + err)

        # Corrupted results: the check must fire (exit 1 and say so).
        n, m, rows = parse_pla(out)
        ins, outs = rows[0]
        flipped = "0" if outs[0] == "1" else "1"
        corrupt = [(ins, flipped + outs[1:])] + rows[1:]
        for what, corrupted in (("a flipped output bit", corrupt), ("a dropped cube", rows[1:])):
            text = f".i {n}\n.o {m}\n" + "".join(f"{a} {b}\n" for a, b in corrupted) + ".e\n"
            status, vout, err = tap.run([ESPRESSO, "-D", "verify", QUICK,
                                         write(tmp, "bad.pla", text)])
            tap.check(status == 1 and "comparison failed" in vout,
                      f"-D verify rejects a result with {what}", f"status {status} {vout}{err}")

        check_minimises(LARGEST, "the standard input (one run)")
        if os.path.exists(SHARDALLOC):
            check_minimises(QUICK, "the quick input under shardalloc",
                            env={"LD_PRELOAD": SHARDALLOC}, runs="5")
        else:
            tap.check(False, "build/release/libshardalloc.so exists")

        bad_files = {
            "a bad input character": ".i 2\n.o 1\n0x 1\n.e\n",
            "a short row": ".i 3\n.o 1\n01 1\n.e\n",
            "a long row": ".i 2\n.o 1\n011 1\n.e\n",
            "a wrong .p": ".i 2\n.o 1\n.p 3\n01 1\n.e\n",
            "no .i": ".o 1\n01 1\n.e\n",
            ".i 0": ".i 0\n.o 1\n.e\n",
            "an unsupported keyword": ".i 2\n.o 1\n.phase 1\n01 1\n.e\n",
            "an OFF-set type": ".i 2\n.o 1\n.type fr\n01 1\n.e\n",
            "a wrong .ilb count": ".i 2\n.o 1\n.ilb a\n01 1\n.e\n",
            "an empty file": "",
        }
        for what, text in bad_files.items():
            rejects([ESPRESSO, write(tmp, "bad.pla", text)], what)
        bad_arguments = {
            "no file": [],
            "two files": [QUICK, QUICK],
            "a missing file": [os.path.join(tmp, "nonexistent.pla")],
            "-n 0": ["-n", "0", QUICK],
            "-n not a number": ["-n", "many", QUICK],
            "-n without a value": ["-n"],
            "an unknown option": ["-q", QUICK],
            "an unknown subcommand": ["-D", "exact", QUICK],
            "-D verify with one file": ["-D", "verify", QUICK],
        }
        for what, args in bad_arguments.items():
            rejects([ESPRESSO] + args, what)
    tap.finish()


if __name__ == "__main__":
    main()
