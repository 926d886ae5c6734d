"""An allocation-heavy Python workload with deterministic output.

Run with PYTHONMALLOC=malloc (every object then comes from malloc) and
PYTHONHASHSEED=0; real_programs.py compares its output with and without the
allocator preloaded. It prints one digest per phase, so a difference points at
the phase where the contents went wrong.
"""
import collections
import hashlib
import json
import re
import sys
import threading


def digest(obj):
    return hashlib.sha256(repr(obj).encode()).hexdigest()[:16]


def rng(seed):
    x = seed
    while True:
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        yield x >> 33


def phase_containers(r):
    index = collections.defaultdict(list)
    for i in range(200_000):
        index[f"key{next(r) % 30000}"].append(i)
    sizes = sorted((k, len(v)) for k, v in index.items())
    for k in list(index)[::3]:
        del index[k]
    return digest((sizes[:50], len(index), sum(len(v) for v in index.values())))


def phase_strings(r):
    parts = []
    for i in range(100_000):
        n = next(r) % 200
        parts.append(("abcdefghij" * 20)[:n] + str(i))
    text = "|".join(parts)
    words = re.findall(r"[a-j]+\d+", text)
    upper = [w.upper() for w in words if len(w) % 3 == 0]
    counts = collections.Counter(w[:2] for w in words)
    return digest((len(text), len(words), len(upper), sorted(counts.items())))


def phase_json(r):
    records = [{"id": i, "name": f"n{next(r) % 1000}", "tags": [next(r) % 50 for _ in range(i % 12)],
                "nested": {"a": [1.5 * i, None, True], "b": str(i) * (i % 7)}}
               for i in range(40_000)]
    text = json.dumps(records, sort_keys=True)
    back = json.loads(text)
    return digest((len(text), back[12345], sum(len(x["tags"]) for x in back)))


class Node:
    __slots__ = ("value", "children")

    def __init__(self, value):
        self.value = value
        self.children = []


def phase_objects(r):
    nodes = [Node(i) for i in range(100_000)]
    for i in range(1, len(nodes)):
        nodes[next(r) % i].children.append(nodes[i])
    total, stack = 0, [nodes[0]]
    while stack:
        n = stack.pop()
        total += n.value
        stack.extend(n.children)
    del nodes, stack
    big = [bytes(range(i % 256)) * (i % 5) for i in range(50_000)]
    return digest((total, sum(len(b) for b in big), len(big)))


def phase_threads(r):
    results = [None] * 4

    def work(t):
        acc = {}
        for i in range(50_000):
            acc[(t, i % 5000)] = [i] * (i % 9)
        results[t] = sorted((k, len(v)) for k, v in acc.items())[:100]

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return digest(results)


def main():
    r = rng(12345)
    for name, fn in [("containers", phase_containers), ("strings", phase_strings),
                     ("json", phase_json), ("objects", phase_objects), ("threads", phase_threads)]:
        print(f"{name}: {fn(r)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
