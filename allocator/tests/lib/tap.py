"""tap.py: the TAP output of the allocator's Python test runners, in one place.

scripts/test counts `ok - what` and `not ok - what` lines (and `ok - what # SKIP why`
as skipped); diagnostics are `# ` comment lines printed before the check they explain.
Every runner imports this (sys.path gets allocator/tests/lib first):

    from tap import check, skip, comment, Counter
"""

def comment(text):
    """A diagnostic line: not counted."""
    print(f"# {text}", flush=True)


def check(ok, name, diags=(), max_diags=None):
    """One check: its diagnostics (when given), then its TAP line. Returns ok."""
    shown = list(diags) if max_diags is None else list(diags)[:max_diags]
    for d in shown:
        comment(d)
    print(f"{'ok' if ok else 'not ok'} - {name}", flush=True)
    return ok


def skip(name, reason):
    """A check that does not apply here (scripts/test wants it declared: {skip-ok: ...})."""
    print(f"ok - {name} # SKIP {reason}", flush=True)


class Counter:
    """Counts the checks of a runner, for its summary line and exit status."""

    def __init__(self, prefix=""):
        self.prefix = prefix
        self.passed = 0
        self.failed = 0

    def check(self, ok, name, diags=(), max_diags=None):
        check(ok, self.prefix + name, diags, max_diags)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        return ok

    def summary(self):
        comment(f"{self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0

