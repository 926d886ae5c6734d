"""Check a variant's settings before anything runs, so that a misspelt or unsupported
option cannot turn into a bar that silently measures the default.

Each allocator family reads its own variables. A setting is checked as far as the
allocator allows, by running a tiny probe program under it:
  shardalloc  SHARDALLOC_VERBOSE=1 lists every option; an unknown name or a bad value
              gets a warning on stderr: either is an error here.
  mimalloc    MIMALLOC_VERBOSE=1 lists the options this build has: an unknown name is
              an error (Debian's 2.0.9 has no purge_delay); values are not checked.
  jemalloc    an invalid MALLOC_CONF pair is reported on stderr ("Invalid conf"): error.
  glibc       GLIBC_TUNABLES names are checked against `ld.so --list-tunables`, with
              their numeric range; the classic MALLOC_*_ variables against their list.
  tcmalloc, TBB  cannot report their settings: said plainly, not checked.
A variable of another family (mi:SHARDALLOC_...) would change nothing: an error.
LD_PRELOAD cannot be a setting (the harness sets it).
"""
import os
import re
import shutil
import subprocess

PROBE = ["ls", "-d", "/"]   # any small program that allocates
PROBE_TIMEOUT_S = 20
LD_SO = "/lib64/ld-linux-x86-64.so.2"
# variable prefix or exact name -> the family that reads it
FAMILIES = (
    ("SHARDALLOC_", "sa"), ("MIMALLOC_", "mi"), ("MALLOC_CONF", "je"), ("JE_MALLOC_CONF", "je"),
    ("TCMALLOC_", "tc"), ("TBB_", "tbb"), ("GLIBC_TUNABLES", "sys"), ("MALLOC_", "sys"),
)
# The allocator variables a caller's environment must not pass into a run (measure.py).
ALLOCATOR_VARIABLE = re.compile(r"^(SHARDALLOC_|MIMALLOC_|MALLOC_|JE_MALLOC_CONF$|TCMALLOC_|"
                                r"TBB_MALLOC|GLIBC_TUNABLES$|LD_PRELOAD$)")
# glibc's malloc reads these besides its tunables (mallopt(3), "ENVIRONMENT").
GLIBC_MALLOC_VARIABLES = ("MALLOC_ARENA_MAX", "MALLOC_ARENA_TEST", "MALLOC_CHECK_",
                          "MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_PERTURB_",
                          "MALLOC_TOP_PAD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TCACHE_MAX")
SA_WARNING = re.compile(r"^shardalloc: warning: (.*)$", re.MULTILINE)
MI_OPTION = re.compile(r"^mimalloc: option '([a-z_0-9]+)'", re.MULTILINE)
JE_INVALID = re.compile(r"^<jemalloc>: (Invalid conf.*)$", re.MULTILINE)
TUNABLE_LINE = re.compile(r"^(\S+): (\S+) \(min: (\S+), max: (\S+)\)", re.MULTILINE)


def family_of(var):
    for prefix, family in FAMILIES:
        if var == prefix or (prefix.endswith("_") and var.startswith(prefix)):
            return family
    return None


def base_family(base):
    """sa-debug and sa-secure are shardalloc too."""
    return "sa" if base == "sa" or base.startswith("sa-") else base


def probe(preload, settings, extra=()):
    """stderr of the probe program under the allocator and settings."""
    env = {k: v for k, v in os.environ.items() if not ALLOCATOR_VARIABLE.match(k)}
    env.update(dict(settings))
    env.update(dict(extra))
    if preload:
        env["LD_PRELOAD"] = preload
    try:
        done = subprocess.run(PROBE, env=env, capture_output=True, text=True,
                              timeout=PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"probe failed: {e}"
    return done.stderr


def glibc_tunables():
    """{name: (min, max)} of this glibc, or None when ld.so cannot list them."""
    if not os.path.exists(LD_SO):
        return None
    try:
        out = subprocess.run([LD_SO, "--list-tunables"], capture_output=True, text=True,
                             timeout=PROBE_TIMEOUT_S).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return {m.group(1): (number(m.group(3)), number(m.group(4))) for m in TUNABLE_LINE.finditer(out)}


def number(text):
    try:
        return int(text, 0)
    except ValueError:
        return None


def check(allocator, preload):
    """(errors, notes) for one allocator's settings; both lists of sentences."""
    errors, notes = [], []
    family = base_family(allocator.base)
    own = []
    for var, value in allocator.settings:
        reader = family_of(var)
        if var == "LD_PRELOAD":
            errors.append(f"{allocator.name}: LD_PRELOAD cannot be a setting (the harness "
                          f"preloads the allocator's library)")
        elif reader is None:
            notes.append(f"{allocator.name}: {var} is not an allocator variable; passed on unchecked")
        elif reader != family:
            errors.append(f"{allocator.name}: {var} is read by {reader}, not by {allocator.base}: "
                          f"it would change nothing")
        else:
            own.append((var, value))
    if not own:
        return errors, notes
    checker = CHECKERS.get(family)
    if checker is None:
        names = " ".join(v for v, _ in own)
        notes.append(f"{allocator.name}: {allocator.base} cannot report its settings, so {names} "
                     f"is NOT checked: a misspelt name would measure the default")
        return errors, notes
    more_errors, more_notes = checker(allocator, preload, own)
    return errors + more_errors, notes + more_notes


def check_sa(allocator, preload, settings):
    stderr = probe(preload, settings, () if any(v == "SHARDALLOC_VERBOSE" for v, _ in settings)
                   else (("SHARDALLOC_VERBOSE", "1"),))
    warnings = SA_WARNING.findall(stderr)
    if warnings:
        return [f"{allocator.name}: shardalloc says: {w}" for w in warnings], []
    if "shardalloc: info: option" not in stderr:
        return [f"{allocator.name}: shardalloc printed no options under SHARDALLOC_VERBOSE=1 "
                f"(is {preload} shardalloc?); cannot check {settings}"], []
    return [], [f"{allocator.name}: shardalloc accepts {' '.join(f'{k}={v}' for k, v in settings)}"]


def check_mi(allocator, preload, settings):
    stderr = probe(preload, settings, (("MIMALLOC_VERBOSE", "1"),))
    known = set(MI_OPTION.findall(stderr))
    if not known:
        return [f"{allocator.name}: mimalloc printed no options under MIMALLOC_VERBOSE=1; "
                f"cannot check {' '.join(v for v, _ in settings)}"], []
    errors = []
    for var, _ in settings:
        name = var[len("MIMALLOC_"):].lower()
        if name not in known:
            errors.append(f"{allocator.name}: this mimalloc ({preload}) has no option {name!r} "
                          f"({var}); it has: {', '.join(sorted(known))}")
    return errors, ([] if errors else [f"{allocator.name}: mimalloc knows "
                                       f"{' '.join(v for v, _ in settings)} (values not checked)"])


def check_je(allocator, preload, settings):
    invalid = JE_INVALID.findall(probe(preload, settings))
    if invalid:
        return [f"{allocator.name}: jemalloc says: {line}" for line in invalid], []
    return [], [f"{allocator.name}: jemalloc accepts {' '.join(f'{k}={v}' for k, v in settings)}"]


def check_sys(allocator, preload, settings):
    errors, notes = [], []
    for var, value in settings:
        if var == "GLIBC_TUNABLES":
            tunables = glibc_tunables()
            if tunables is None:
                notes.append(f"{allocator.name}: cannot list this glibc's tunables; "
                             f"{var} NOT checked")
                continue
            for pair in value.split(":"):
                name, eq, text = pair.partition("=")
                if name not in tunables:
                    malloc_ones = sorted(t for t in tunables if t.startswith("glibc.malloc."))
                    errors.append(f"{allocator.name}: glibc has no tunable {name!r}; its malloc "
                                  f"tunables: {', '.join(malloc_ones)}")
                    continue
                low, high = tunables[name]
                n = number(text)
                if not eq or n is None:
                    errors.append(f"{allocator.name}: tunable {name} needs a number, got {text!r}")
                elif low is not None and high is not None and not low <= n <= high:
                    errors.append(f"{allocator.name}: tunable {name}={text} is outside "
                                  f"[{low}, {high}] (glibc would ignore it)")
            if not errors:
                notes.append(f"{allocator.name}: glibc has the tunables in {value}")
        elif var in GLIBC_MALLOC_VARIABLES:
            notes.append(f"{allocator.name}: {var} is a glibc malloc variable (value not checked)")
        else:
            errors.append(f"{allocator.name}: glibc's malloc reads no {var}; it reads "
                          f"GLIBC_TUNABLES and {', '.join(GLIBC_MALLOC_VARIABLES)}")
    return errors, notes


CHECKERS = {"sa": check_sa, "mi": check_mi, "je": check_je, "sys": check_sys}


def check_all(ready):
    """(errors, notes) over (allocator, preload) pairs."""
    errors, notes = [], []
    if not shutil.which(PROBE[0]):
        return [], [f"no {PROBE[0]} to probe with: settings NOT checked"]
    for allocator, preload in ready:
        if allocator.settings:
            e, n = check(allocator, preload)
            errors += e
            notes += n
    return errors, notes
