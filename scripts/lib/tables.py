"""Read the harness's declarative lists: one entry a line, columns separated by `|`.

Blank lines and lines starting with `#` are comments. A malformed line stops the
program with its file and line number, so a typo in a list is found at once.
"""
import sys

COLUMN_SEPARATOR = "|"


class TableError(Exception):
    pass


def read_table(path, columns):
    """Return one dict per entry, keyed by `columns` (a sequence of names)."""
    rows = []
    with open(path) as f:
        for number, raw in enumerate(f, 1):
            text = raw.strip()
            if not text or text.startswith("#"):
                continue
            cells = [cell.strip() for cell in text.split(COLUMN_SEPARATOR)]
            if len(cells) != len(columns) or not all(cells):
                raise TableError(
                    f"{path}:{number}: expected {len(columns)} non-empty columns "
                    f"({' | '.join(columns)}), got {len(cells)}: {text}")
            rows.append(dict(zip(columns, cells), line=number))
    return rows


def read_table_or_exit(path, columns):
    try:
        return read_table(path, columns)
    except (OSError, TableError) as e:
        sys.exit(f"error: {e}")
