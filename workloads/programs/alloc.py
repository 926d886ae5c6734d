"""alloc.py: an allocation-heavy Python program that checks its own results.

    PYTHONMALLOC=malloc python3 alloc.py SCALE      (SCALE 15 takes about a second)

With PYTHONMALLOC=malloc every object is a malloc'd block: binary trees of
objects (many small, short- and long-lived), dicts churned by string keys,
lists of tuples sorted, string building and splitting, a JSON round trip. Each
part compares its result with a closed form or a second computation; a failure
stops the run with exit status 1.
"""
import json
import sys

MIN_SCALE, MAX_SCALE = 4, 24


class Node:
    __slots__ = ("left", "right")

    def __init__(self, left, right):
        self.left, self.right = left, right


def make(depth):
    return Node(None, None) if depth == 0 else Node(make(depth - 1), make(depth - 1))


def count(node):
    return 1 if node.left is None else 1 + count(node.left) + count(node.right)


def check(ok, what):
    if not ok:
        sys.exit(f"alloc.py: check failed: {what}")


def trees(scale):
    long_lived = make(scale)
    for depth in range(4, scale + 1, 2):
        iterations = 1 << (scale - depth + 2)
        nodes = sum(count(make(depth)) for _ in range(iterations))
        check(nodes == iterations * ((1 << (depth + 1)) - 1), f"short-lived trees of depth {depth}")
    check(count(long_lived) == (1 << (scale + 1)) - 1, "the long-lived tree")


def dicts(scale):
    size = 1 << (scale + 1)
    table = {f"k{i}": [i, str(i)] for i in range(1, size + 1)}
    for i in range(1, size + 1, 2):
        del table[f"k{i}"]
    half = size // 2
    check(len(table) == half and sum(v[0] for v in table.values()) == half * (half + 1),
          "the churned dict")


def strings_and_lists(scale):
    words = 1 << (scale + 1)
    parts = [f"w{i * 2654435761 % 4294967296:x}-{i}" for i in range(1, words + 1)]
    text = " ".join(parts)
    check(len(text) == sum(map(len, parts)) + words - 1, "the joined text's length")
    check(text.split() == parts, "the split words")
    pairs = sorted((p[::-1], i) for i, p in enumerate(parts))
    check(sorted(i for _, i in pairs) == list(range(words)), "the sorted pairs")
    return parts


def json_round_trip(parts):
    records = [{"id": i, "name": p, "tags": [p[:3], p[-3:]]} for i, p in enumerate(parts)]
    check(json.loads(json.dumps(records)) == records, "the JSON round trip")


def main():
    try:
        scale = int(sys.argv[1]) if len(sys.argv) == 2 else None
    except ValueError:
        scale = None
    if scale is None or not MIN_SCALE <= scale <= MAX_SCALE:
        print(f"alloc.py: SCALE must be a whole number from {MIN_SCALE} to {MAX_SCALE}, "
              f"got {sys.argv[1:]}", file=sys.stderr)
        sys.exit(2)
    trees(scale)
    dicts(scale)
    json_round_trip(strings_and_lists(scale))
    print("python-alloc: all checks passed")


if __name__ == "__main__":
    main()
