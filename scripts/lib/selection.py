"""The -a / -b list syntax shared by allocators and benchmarks.

A list is comma-separated items: a name, `all`, or `no-NAME` (drop one). A list of
only `no-` items starts from all. Allocators also take variants (see allocators.py),
which the caller recognises through `parse_extra`.
"""

ALL = "all"
EXCLUDE_PREFIX = "no-"
ITEM_SEPARATOR = ","


class SelectionError(Exception):
    """A bad -a / -b value; the message lists what is valid."""


def select(spec, names, what, parse_extra=None, extra_help=""):
    """Return the chosen items in the order given: declared names (str) and whatever
    `parse_extra(item)` returns for items that are not names (None: not recognised).

    `names` are the declared names in their list order; `what` ("allocator",
    "benchmark") words the error message.
    """
    items = [item.strip() for item in spec.split(ITEM_SEPARATOR)]
    if not spec.strip() or any(not item for item in items):
        raise SelectionError(f"empty {what} in {spec!r}; {valid_text(names, what, extra_help)}")
    chosen, excluded = [], set()
    for item in items:
        if item == ALL:
            chosen.extend(names)
        elif item.startswith(EXCLUDE_PREFIX) and item[len(EXCLUDE_PREFIX):] in names:
            excluded.add(item[len(EXCLUDE_PREFIX):])
        elif item in names:
            chosen.append(item)
        else:
            extra = parse_extra(item) if parse_extra else None
            if extra is None:
                raise SelectionError(f"unknown {what} {item!r}; {valid_text(names, what, extra_help)}")
            chosen.append(extra)
    if not chosen:  # only exclusions: they apply to everything
        chosen = list(names)
    result, seen = [], set()
    for entry in chosen:
        key = entry if isinstance(entry, str) else entry.name
        if key in excluded or key in seen:
            continue
        seen.add(key)
        result.append(entry)
    if not result:
        raise SelectionError(f"{spec!r} leaves no {what}; {valid_text(names, what, extra_help)}")
    return result


def valid_text(names, what, extra_help=""):
    text = f"valid {what}s: {', '.join(names)}; or {ALL}, or {EXCLUDE_PREFIX}NAME to drop one"
    return text + (f"; {extra_help}" if extra_help else "")
