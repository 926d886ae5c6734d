#!/usr/bin/env python3
"""Options from the environment: every option with good and bad values, names in any
case, unknown SHARDALLOC_ variables, and the verbose listing. One TAP line a check.

The probe (options_probe.c) prints `name=value` for every option as the allocator
parsed it, then `alloc=ok`; this driver runs it under many environments and checks
its stdout and the warnings on its stderr.

Usage:
  options_test.py [--label L] [--preload LIB] [--plain PROGRAM] [--readme README.md] PROBE
    --preload LIB   run the probe (a plain build) and PROGRAM with LD_PRELOAD=LIB
    --plain PROGRAM also check a program that knows nothing of shardalloc (/bin/true)
    --readme FILE   check that the README's options table lists exactly these options
                    with these defaults (for a release build)
"""
import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import tap as taplib  # noqa: E402  (allocator/tests/lib/tap.py: the shared TAP output)

PREFIX = "SHARDALLOC_"
WARNING = "shardalloc: warning:"

BOOL = "bool"
LONG = "long"
SIZE = "size"

# Every option and its kind: the driver must know each one the probe lists.
KINDS = {
    "verbose": BOOL, "show_errors": BOOL, "show_stats": BOOL, "purge_delay": LONG,
    "purge_decommits": BOOL, "eager_commit": BOOL, "allow_large_os_pages": BOOL,
    "reserve_huge_os_pages": LONG, "reserve_os_memory": SIZE, "allow_thp": BOOL,
    "max_segment_reclaim": LONG, "generic_collect": LONG, "destroy_on_exit": BOOL,
    "limit_os_alloc": BOOL, "segment_cache": LONG, "large_cache": SIZE,
    "abort_on_error": BOOL, "fail_os_after": LONG, "remote_batch": LONG,
}

# Good values: text -> the value it must give.
BOOL_GOOD = {"1": 1, "0": 0, "true": 1, "false": 0, "yes": 1, "no": 0, "on": 1, "off": 0,
             "TRUE": 1, "False": 0, "YES": 1, "nO": 0, "On": 1, "OFF": 0, "tRuE": 1, "No": 0}
SIZE_GOOD = {"0": 0, "4096": 4096, "512K": 512 << 10, "512k": 512 << 10, "64M": 64 << 20,
             "64m": 64 << 20, "1G": 1 << 30, "1g": 1 << 30, "3G": 3 << 30, "100": 100}
LONG_GOOD = {  # per option: some values change behaviour, so each gets harmless ones
    "purge_delay": {"0": 0, "25": 25, "-1": -1, "1000000": 1000000},
    "reserve_huge_os_pages": {"0": 0, "1": 1},
    "max_segment_reclaim": {"0": 0, "1": 1, "100": 100},
    "generic_collect": {"1": 1, "500": 500, "1000000": 1000000},
    "segment_cache": {"0": 0, "16": 16},
    "fail_os_after": {"0": 0, "1000000": 1000000},  # far beyond the probe's OS calls
    "remote_batch": {"0": 0, "1": 1, "64": 64},
}

# Bad values: each must give one warning naming the variable, and keep the default.
BOOL_BAD = ["2", "maybe", "", "yes please", "-1", "0x1", "truee", "o"]
LONG_BAD = ["abc", "", "1.5", "--5", "5-", "1e3", " ", "99999999999999999999999"]
SIZE_BAD = ["12X", "M", "1.5G", "K10", "", "64MX"]


class Tap(taplib.Counter):
    """The options checks of one build, labelled in every check's name."""

    def __init__(self, label):
        super().__init__(f"options[{label}]: ")
        self.label = label

    def check(self, ok, name, diags=()):
        return super().check(ok, name, diags if not ok else (), max_diags=12)


class Runner:
    def __init__(self, probe, preload):
        self.probe = probe
        self.preload = preload
        base = {k: v for k, v in os.environ.items() if not k.upper().startswith("SHARDALLOC")}
        base.pop("LD_PRELOAD", None)
        if preload:
            base["LD_PRELOAD"] = os.path.abspath(preload)
        self.base = base

    def run(self, env_add, program=None):
        """Runs the probe (or program) with these variables; returns (values, stderr, rc, stdout)."""
        env = dict(self.base)
        env.update(env_add)
        argv = [program or self.probe]
        r = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=60)
        out = r.stdout.decode(errors="replace")
        err = r.stderr.decode(errors="replace")
        values = {}
        for line in out.splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                values[k] = v
        return values, err, r.returncode, out


# Warnings that depend on the machine, not on parsing: huge OS pages asked for by
# allow_large_os_pages or reserve_huge_os_pages may not exist (nr_hugepages is 0 here);
# the allocator then says so once and falls back to normal pages.
MACHINE_FALLBACKS = ("huge OS page",)
LIMIT_RESERVE_BYTES = 64 << 20


def warnings(stderr):
    return [line for line in stderr.splitlines()
            if line.startswith(WARNING) and not any(f in line for f in MACHINE_FALLBACKS)]


def expect_clean(res, defaults, changed, diags):
    """The probe ran, printed every option, no warning; options in `changed` have
    the given values, every other option its default."""
    values, err, rc, _ = res
    ok = True
    if rc != 0 or values.get("alloc") != "ok":
        diags.append(f"probe exit {rc}, alloc={values.get('alloc')}; stderr: {err.strip()[:300]}")
        return False
    w = warnings(err)
    if w:
        diags.append(f"unexpected warnings: {w[:3]}")
        ok = False
    for name, default in defaults.items():
        want = changed.get(name, default)
        got = values.get(name)
        if got is None or int(got) != int(want):
            diags.append(f"{name}: got {got}, expected {want}")
            ok = False
    return ok


def expect_one_warning(res, defaults, variable, fragments, diags):
    """Exactly one warning, naming `variable` and containing every fragment; every
    option keeps its default; the program still works."""
    values, err, rc, _ = res
    if rc != 0 or values.get("alloc") != "ok":
        diags.append(f"{variable}: probe exit {rc}, alloc={values.get('alloc')}; stderr: {err.strip()[:300]}")
        return False
    ok = True
    w = warnings(err)
    if len(w) != 1:
        diags.append(f"{variable}: expected one warning, got {len(w)}: {w[:3]}")
        ok = False
    elif variable not in w[0]:
        diags.append(f"{variable}: the warning does not name the variable: {w[0]}")
        ok = False
    else:
        for f in fragments:
            if f not in w[0]:
                diags.append(f"{variable}: the warning lacks {f!r}: {w[0]}")
                ok = False
    for name, default in defaults.items():
        if values.get(name) is None or int(values[name]) != int(default):
            diags.append(f"{variable}: {name} is {values.get(name)}, expected the default {default}")
            ok = False
    return ok


def good_values(name):
    kind = KINDS[name]
    if kind == BOOL:
        return BOOL_GOOD
    if kind == SIZE:
        return SIZE_GOOD
    return LONG_GOOD[name]


def bad_values(name):
    return {BOOL: BOOL_BAD, LONG: LONG_BAD, SIZE: SIZE_BAD}[KINDS[name]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", default="sa")
    ap.add_argument("--preload")
    ap.add_argument("--plain")
    ap.add_argument("--readme")
    ap.add_argument("probe")
    args = ap.parse_args()
    tap = Tap(args.label)
    runner = Runner(args.probe, args.preload)

    # The defaults: the probe under an environment without SHARDALLOC_ variables.
    values, err, rc, out = runner.run({})
    if rc != 0 or values.get("alloc") != "ok":
        tap.check(False, "the probe runs", [f"exit {rc}", out.strip()[:300], err.strip()[:300]])
        return 1
    defaults = {k: v for k, v in values.items() if k != "alloc"}
    tap.check(not warnings(err), "no SHARDALLOC_ variable: no warning", warnings(err))
    unknown = sorted(set(defaults) - set(KINDS))
    tap.check(not unknown and set(KINDS) <= set(defaults),
              "the probe lists every option this test knows, and no other",
              [f"options the test does not know: {unknown}",
               f"options the probe lacks: {sorted(set(KINDS) - set(defaults))}"])
    names = [n for n in defaults if n in KINDS]

    # Every option, every good value (one run each).
    for name in names:
        diags = []
        ok = True
        for text, want in good_values(name).items():
            var = PREFIX + name.upper()
            env = {var: text}
            changed = {name: want}
            if name == "limit_os_alloc":
                # Only reserved memory is left then: give it some, or nothing could be
                # allocated (which the probe reports as a failure).
                env[PREFIX + "RESERVE_OS_MEMORY"] = str(LIMIT_RESERVE_BYTES)
                changed["reserve_os_memory"] = LIMIT_RESERVE_BYTES
            res = runner.run(env)
            if not expect_clean(res, defaults, changed, diags):
                diags.append(f"  ... with {var}={text!r}")
                ok = False
        forms = "/".join(good_values(name))
        tap.check(ok, f"{PREFIX}{name.upper()} accepts {forms}", diags)

    # Every option, every bad value: one warning naming it, default kept.
    for name in names:
        diags = []
        ok = True
        for text in bad_values(name):
            var = PREFIX + name.upper()
            res = runner.run({var: text})
            if not expect_one_warning(res, defaults, var, [text] if text.strip() else [], diags):
                ok = False
        tap.check(ok, f"{PREFIX}{name.upper()} refuses {bad_values(name)!r} with one warning each, default kept",
                  diags)

    # Sizes: numbers that do not fit (a wrapped shift must not become a small value),
    # and negative sizes.
    for texts, what in ((["17179869184G", "18014398509481984K", "9223372036854775807",
                          "18446744073709551616"], "sizes too large to represent"),
                        (["-1M", "-4096", "-1"], "negative sizes")):
        diags = []
        ok = True
        for size_option in ("large_cache", "reserve_os_memory"):
            var = PREFIX + size_option.upper()
            for text in texts:
                res = runner.run({var: text})
                if not expect_one_warning(res, defaults, var, [text], diags):
                    ok = False
        tap.check(ok, f"{what} are refused with a warning, default kept ({', '.join(texts)})", diags)

    # Names in any case.
    diags = []
    ok = True
    for var, name, text, want in (("shardalloc_purge_delay", "purge_delay", "7", 7),
                                  ("Shardalloc_Purge_Delay", "purge_delay", "8", 8),
                                  ("SHARDALLOC_purge_DELAY", "purge_delay", "-1", -1),
                                  ("sHaRdAlLoC_LaRgE_cAcHe", "large_cache", "2M", 2 << 20),
                                  ("shardalloc_show_errors", "show_errors", "on", 1),
                                  ("SHARDALLOC_Segment_Cache", "segment_cache", "3", 3)):
        if not expect_clean(runner.run({var: text}), defaults, {name: want}, diags):
            diags.append(f"  ... with {var}={text}")
            ok = False
    tap.check(ok, "option names are case-insensitive (prefix and name)", diags)

    # Unknown SHARDALLOC_ variables: one warning naming it and listing the valid names.
    diags = []
    ok = True
    for var in ("SHARDALLOC_PURGE_DELAYS", "SHARDALLOC_FOO", "shardalloc_bar", "SHARDALLOC_VERBOS",
                "SHARDALLOC_PURGE"):
        res = runner.run({var: "1"})
        if not expect_one_warning(res, defaults, var[len(PREFIX):], names, diags):
            ok = False
    tap.check(ok, "an unknown SHARDALLOC_ variable gives one warning naming it and listing every valid name",
              diags)

    # Variables that only look alike are not ours: no warning.
    diags = []
    ok = True
    for var in ("SHARDALLOC", "SHARDALLOCATOR", "MY_SHARDALLOC_VERBOSE", "SHARDALLOCX_VERBOSE"):
        if not expect_clean(runner.run({var: "1"}), defaults, {}, diags):
            diags.append(f"  ... with {var}=1")
            ok = False
    tap.check(ok, "variables without the SHARDALLOC_ prefix are ignored silently", diags)

    # Several at once: the good ones apply, each bad one warns once.
    env = {"SHARDALLOC_PURGE_DELAY": "-1", "SHARDALLOC_LARGE_CACHE": "1g", "SHARDALLOC_SEGMENT_CACHE": "oops",
           "SHARDALLOC_PURGE_DECOMMITS": "No", "SHARDALLOC_NOPE": "1", "SHARDALLOC_ALLOW_THP": "sometimes"}
    values, err, rc, _ = runner.run(env)
    w = warnings(err)
    diags = [f"warnings: {w}"]
    ok = (rc == 0 and len(w) == 3 and any("SHARDALLOC_SEGMENT_CACHE" in x for x in w)
          and any("NOPE" in x for x in w) and any("SHARDALLOC_ALLOW_THP" in x for x in w))
    want = dict(defaults, purge_delay=-1, large_cache=1 << 30, purge_decommits=0)
    for name, v in want.items():
        if values.get(name) is None or int(values[name]) != int(v):
            diags.append(f"{name}: got {values.get(name)}, expected {v}")
            ok = False
    tap.check(ok, "several variables at once: good ones applied, one warning per bad or unknown one", diags)

    # The verbose listing: every option, once, with its value.
    def listing(err):
        return [line for line in err.splitlines() if line.startswith("shardalloc:") and " option " in line]

    diags = []
    ok = True
    env = {"SHARDALLOC_VERBOSE": "1", "SHARDALLOC_PURGE_DELAY": "-1", "SHARDALLOC_LARGE_CACHE": "64M",
           "SHARDALLOC_ALLOW_THP": "off"}
    values, err, rc, _ = runner.run(env)
    lines = listing(err)
    if rc != 0 or values.get("verbose") != "1":
        diags.append(f"exit {rc}, verbose={values.get('verbose')}")
        ok = False
    if warnings(err):
        diags.append(f"warnings: {warnings(err)}")
        ok = False
    if len(lines) != len(names):
        diags.append(f"{len(lines)} listing lines for {len(names)} options")
        ok = False
    for name in names:
        found = [line for line in lines if re.search(rf"\boption\s+{name}\s*=\s*(-?\d+)\b", line)]
        if len(found) != 1:
            diags.append(f"{name}: listed {len(found)} times")
            ok = False
            continue
        shown = int(re.search(rf"\boption\s+{name}\s*=\s*(-?\d+)", found[0]).group(1))
        if shown != int(values.get(name, "nan")):
            diags.append(f"{name}: listed as {shown}, the value is {values.get(name)}")
            ok = False
    tap.check(ok, "SHARDALLOC_VERBOSE=1 lists every option once with its value", diags)

    diags = []
    for text in ("0", "off", "no"):
        _, err, rc, _ = runner.run({"SHARDALLOC_VERBOSE": text})
        if listing(err) or rc != 0:
            diags.append(f"SHARDALLOC_VERBOSE={text}: exit {rc}, {len(listing(err))} listing lines")
    tap.check(not diags, "SHARDALLOC_VERBOSE=0/off/no lists nothing", diags)

    # A program that knows nothing of shardalloc, with the library preloaded.
    if args.plain:
        diags = []
        ok = True
        _, err, rc, _ = runner.run({"SHARDALLOC_VERBOSE": "on"}, program=args.plain)
        lines = listing(err)
        missing = [n for n in names if not any(re.search(rf"\boption\s+{n}\s*=", x) for x in lines)]
        if rc != 0 or missing or warnings(err):
            diags.append(f"{args.plain}: exit {rc}, options not listed: {missing}, warnings: {warnings(err)}")
            ok = False
        _, err, rc, _ = runner.run({"SHARDALLOC_PURGE_DELAY": "soon", "SHARDALLOC_WHATEVER": "1"},
                                   program=args.plain)
        w = warnings(err)
        if rc != 0 or len(w) != 2 or not any("SHARDALLOC_PURGE_DELAY" in x for x in w):
            diags.append(f"{args.plain} with a bad and an unknown variable: exit {rc}, warnings {w}")
            ok = False
        tap.check(ok, f"{os.path.basename(args.plain)} (a plain program) with the library preloaded: "
                  "verbose listing and warnings", diags)

    # The README's options table: exactly these options, with these defaults.
    if args.readme:
        diags = []
        rows = {}
        in_table = False
        for line in open(args.readme, encoding="utf-8"):
            if line.startswith("| option | default |"):
                in_table = True
                continue
            if in_table:
                if not line.startswith("|"):
                    break
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                if len(cells) >= 2 and not set(cells[0]) <= set("-"):
                    rows[cells[0]] = cells[1]
        ok = bool(rows)
        if set(rows) != set(names):
            diags.append(f"README lacks {sorted(set(names) - set(rows))}, has extra {sorted(set(rows) - set(names))}")
            ok = False
        for name, text in rows.items():
            if name not in defaults:
                continue
            m = re.match(r"(-?\d+)\s*([KMG]?)", text)
            if not m:
                diags.append(f"{name}: README default {text!r} is not a number")
                ok = False
                continue
            shown = int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)]
            if shown != int(defaults[name]):
                diags.append(f"{name}: README says {text!r}, the build's default is {defaults[name]}")
                ok = False
        tap.check(ok, "the README's options table lists exactly the options, with the release defaults", diags)

    return tap.summary()


if __name__ == "__main__":
    sys.exit(main())
