#!/usr/bin/env python3
"""gen_pla.py: writes the deterministic PLA inputs of the espresso workload.

    gen_pla.py largest OUT.pla    the standard input (the shape of largest.espresso)
    gen_pla.py quick OUT.pla      a small one for quick runs and tests

A PLA of the kind espresso is fed: a multi-output function that has a much
smaller cover than the one written. The generator draws a hidden cover of
"core" cubes (a handful of specified inputs each, a few outputs each), then
writes every core cube as several overlapping fragments (cubes with some of
its free inputs fixed, carrying some of its outputs), in shuffled order. So
the rows overlap, many are redundant, and a minimiser has to merge, expand and
drop cubes to get back to (about) the core cover. Deterministic: its own
linear congruential generator, no dependence on Python's random module.
"""
import sys

# preset: inputs, outputs, core cubes, (min, max) specified inputs of a core
# cube, (min, max) outputs of a core cube, (min, max) free inputs a core is
# split on, (min, max) extra overlapping fragments per core, seed
PRESETS = {
    "largest": dict(inputs=16, outputs=16, cores=56, specified=(2, 6), core_outputs=(1, 5),
                    split=(1, 3), extras=(0, 1), seed=20191),
    "quick": dict(inputs=10, outputs=8, cores=40, specified=(3, 6), core_outputs=(1, 3),
                  split=(1, 2), extras=(0, 1), seed=7),
}

LCG_MULTIPLIER = 6364136223846793005
LCG_INCREMENT = 1442695040888963407
MASK64 = (1 << 64) - 1


class Lcg:
    def __init__(self, seed):
        self.state = seed & MASK64

    def below(self, bound):
        self.state = (self.state * LCG_MULTIPLIER + LCG_INCREMENT) & MASK64
        return (self.state >> 33) % bound

    def between(self, lo, hi):
        return lo + self.below(hi - lo + 1)

    def sample(self, items, k):
        pool = list(items)
        for i in range(k):
            j = i + self.below(len(pool) - i)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]


def generate(preset):
    p = PRESETS[preset]
    rng = Lcg(p["seed"])
    n, m = p["inputs"], p["outputs"]
    rows = []
    for _ in range(p["cores"]):
        inputs = ["-"] * n
        for v in rng.sample(range(n), rng.between(*p["specified"])):
            inputs[v] = "01"[rng.below(2)]
        outputs = rng.sample(range(m), rng.between(*p["core_outputs"]))
        out = "".join("1" if j in outputs else "0" for j in range(m))
        # Split the core on a few of its free inputs into all 2^k pieces, so
        # the pieces together are exactly the core again.
        free = [v for v in range(n) if inputs[v] == "-"]
        split = rng.sample(free, min(len(free), rng.between(*p["split"])))
        for piece in range(1 << len(split)):
            fragment = list(inputs)
            for bit, v in enumerate(split):
                fragment[v] = "01"[(piece >> bit) & 1]
            rows.append("".join(fragment) + " " + out)
        # and a few overlapping extras: smaller cubes inside the core
        for _ in range(rng.between(*p["extras"])):
            fragment = list(inputs)
            for v in rng.sample(free, min(len(free), rng.between(1, 4))):
                fragment[v] = "01"[rng.below(2)]
            rows.append("".join(fragment) + " " + out)
    for i in range(len(rows) - 1, 0, -1):  # shuffle: no help from the row order
        j = rng.below(i + 1)
        rows[i], rows[j] = rows[j], rows[i]
    lines = [f"# espresso workload input '{preset}' (workloads/espresso/gen_pla.py)",
             f".i {n}", f".o {m}",
             ".ilb " + " ".join(f"x{v}" for v in range(n)),
             ".ob " + " ".join(f"f{j}" for j in range(m)),
             f".p {len(rows)}"] + rows + [".e"]
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in PRESETS:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(PRESETS)} OUT.pla")
    text = generate(sys.argv[1])
    with open(sys.argv[2], "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
