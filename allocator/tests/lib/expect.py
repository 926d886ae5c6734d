#!/usr/bin/env python3
"""Runs a TAP-printing command and checks that it printed exactly N checks.

Some checks print from exit handlers and destructors: a process that dies or skips
them there would otherwise just print fewer lines. Passes the output through, then
adds `not ok` lines for a wrong count or a non-zero exit status.
Usage: expect.py N COMMAND [ARG...]
"""
import re
import subprocess
import sys

import tap  # allocator/tests/lib/tap.py (this folder): the shared TAP output


def main():
    want = int(sys.argv[1])
    r = subprocess.run(sys.argv[2:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = r.stdout.decode(errors="replace")
    sys.stdout.write(out)
    seen = sum(1 for line in out.splitlines() if re.match(r"^(ok|not ok)\b", line))
    if seen != want:
        tap.check(False, f"{sys.argv[2]} printed {seen} checks, expected {want}")
    if r.returncode != 0:
        tap.comment(f"{sys.argv[2]} exited with status {r.returncode}")
    return 0 if seen == want and r.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
