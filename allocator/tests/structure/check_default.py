#!/usr/bin/env python3
"""A plain `ninja` builds every top-level target but the ones built on demand:
`install`, and `secure-ablations` (the secure build less one protection each, which
scripts/bench builds when such an allocator is chosen).

Ninja builds its root targets (those nothing else needs) when no `default` statement
names targets; build.ninja names them so that `install`, which writes into
$DESTDIR$PREFIX, runs only when asked. This checks the two lists agree: every root
target but install is among the defaults (`ninja -t targets` lists the roots,
`ninja -t query` and a dry run of the default build plans no install.
Run from the repository root after a build.
"""
import re
import subprocess
import sys

sys.path.insert(0, "allocator/tests/lib")
import tap  # noqa: E402

ON_DEMAND = ("install", "secure-ablations")


def ninja(*args):
    return subprocess.run(["ninja", *args], capture_output=True, text=True, check=True).stdout


def default_targets():
    """The targets of build.ninja's `default` statements (continuation lines joined)."""
    text = re.sub(r"\$\n\s*", " ", open("build.ninja").read())
    names = []
    for line in text.splitlines():
        if line.startswith("default "):
            names += [n.replace("$builddir", "build") for n in line.split()[1:]]
    return names


def main():
    roots = [line.split(":")[0] for line in ninja("-t", "targets").splitlines() if line]
    defaults = set(default_targets())
    missing = [r for r in roots if r not in ON_DEMAND and r not in defaults]
    counter = tap.Counter("default build: ")
    counter.check(bool(defaults) and not missing, "every top-level target but install and secure-ablations is built by a plain ninja",
                  [f"not in build.ninja's default: {' '.join(missing)}"] if missing else [])
    counter.check(not defaults & set(ON_DEMAND), "install and secure-ablations are not built by a plain ninja")
    # A dry run of the default build must not reach install (it always runs when reached).
    plan = ninja("-n")
    counter.check("INSTALL" not in plan, "ninja -n plans no install", [plan.strip()[-400:]])
    counter.check("secure-without/" not in plan, "ninja -n plans no secure ablation", [plan.strip()[-400:]])
    return counter.summary()


if __name__ == "__main__":
    sys.exit(main())
