"""TAP lines for the harness's tests (scripts/test counts each `ok` / `not ok`)."""
import os
import sys

SCRIPTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(SCRIPTS_DIR)
sys.path.insert(0, os.path.join(SCRIPTS_DIR, "lib"))


class Tap:
    def __init__(self):
        self.failed = 0

    def check(self, condition, what, diagnosis=""):
        """Print one TAP line; on failure the diagnosis follows as `#` comments."""
        print(("ok - " if condition else "not ok - ") + what, flush=True)
        if not condition:
            self.failed += 1
            for line in str(diagnosis).splitlines()[-30:]:
                print("#   " + line)
        return condition

    def equal(self, actual, expected, what):
        return self.check(actual == expected, what, f"expected {expected!r}\ngot      {actual!r}")

    def close(self):
        sys.exit(1 if self.failed else 0)
