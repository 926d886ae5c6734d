#!/usr/bin/env python3
"""scripts/README.md documents every results.csv and summary.csv column, every run
status and every way of reading a figure, so the CSV never has unnamed columns."""
import os

from tap import SCRIPTS_DIR, Tap

import measure
import readers
import results
import summary

t = Tap()
with open(os.path.join(SCRIPTS_DIR, "README.md")) as f:
    readme = f.read()
for kind, names in (("results.csv column", results.COLUMNS), ("summary.csv column", summary.CSV_COLUMNS),
                    ("run status", measure.STATUSES), ("reading", readers.READERS)):
    missing = [n for n in names if f"`{n}`" not in readme]
    t.check(not missing, f"every {kind} is documented in scripts/README.md", f"missing: {missing}")
t.close()
