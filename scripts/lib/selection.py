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


def split_items(spec, starts_item=None):
    """Split a list at its commas; with `starts_item`, a piece for which it is false
    belongs to the item before it (a value with a comma in it)."""
    pieces = spec.split(ITEM_SEPARATOR)
    if starts_item is None:
        return [p.strip() for p in pieces]
    items = []
    for piece in pieces:
        if items and items[-1] and piece.strip() and not starts_item(piece.strip()):
            items[-1] += ITEM_SEPARATOR + piece
        else:
            items.append(piece.strip())
    return items


def select(spec, names, what, parse_extra=None, extra_help="", starts_item=None, in_all=None,
           extra_names=()):
    """Return the chosen items in the order given: declared names (str) and whatever
    `parse_extra(item)` returns for items that are not names (None: not recognised;
    a list: several items, e.g. a sweep's variants).

    `names` are the declared names in their list order; `what` ("allocator",
    "benchmark") words the error message. `in_all`: the names `all` stands for
    (default: every name). `extra_names`: more names that parse_extra knows and
    `no-NAME` may drop (named variants).
    """
    items = split_items(spec, starts_item)
    if not spec.strip() or any(not item for item in items):
        raise SelectionError(f"empty {what} in {spec!r}; {valid_text(names, what, extra_help)}")
    everything = list(names) if in_all is None else list(in_all)
    droppable = set(names) | set(extra_names)
    chosen, excluded = [], set()
    for item in items:
        if item == ALL:
            chosen.extend(everything)
        elif item.startswith(EXCLUDE_PREFIX) and item[len(EXCLUDE_PREFIX):] in droppable:
            excluded.add(item[len(EXCLUDE_PREFIX):])
        elif item in names:
            chosen.append(item)
        else:
            extra = parse_extra(item) if parse_extra else None
            if extra is None:
                raise SelectionError(f"unknown {what} {item!r}; {valid_text(names, what, extra_help)}")
            chosen.extend(extra if isinstance(extra, list) else [extra])
    if not chosen:  # only exclusions: they apply to everything
        chosen = everything
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
