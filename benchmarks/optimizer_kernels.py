"""The compiled optimizer loops (``feedforward.kernels``) against the NumPy rules they replace.

Two measurements on the network of the main suite (784-512-256-10, Adam, float32):

- **One Adam step** over the 535,818 parameters, fastest of several rounds, twice: with the
  arrays in cache (the same step repeated) and after streaming 32 MB through the cache, as
  happens between two steps of training.
- **One epoch** of ``fit`` on 20,000 rows at batch 32, 128 and 512, each run in a fresh process,
  with ``FEEDFORWARD_KERNELS=numpy`` or without it, interleaved, median of the runs.

Usage: ``.venv/bin/python benchmarks/optimizer_kernels.py [--runs 3] [--rows 20000]``.
The two paths give identical weights (``tests/test_kernels.py``); this says what the loops buy.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

CHILD = """
import json, sys, time
import numpy as np
import feedforward as ff
bs, rows = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
x = rng.random((rows, 784), dtype=np.float32)
y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, rows)]
def model():
    m = ff.Sequential([ff.Dense(512, activation="relu"), ff.Dense(256, activation="relu"),
                       ff.Dense(10, activation="softmax")], seed=0)
    m.compile(ff.optimizers.Adam(1e-3), "categorical_crossentropy", ["accuracy"])
    return m
model().fit(x[:512], y[:512], epochs=1, batch_size=bs, verbose=0)  # warm-up
m = model()
start = time.perf_counter()
m.fit(x, y, epochs=1, batch_size=bs, verbose=0)
print(json.dumps({"seconds": time.perf_counter() - start, "kernels": ff.kernels.enabled()}))
"""


def adam_step_us(use: bool, cold: bool, rounds: int = 5, steps: int = 100) -> float:
    import feedforward as ff

    previous = ff.kernels.use(use)
    try:
        rng = np.random.default_rng(0)
        model = ff.Sequential([ff.Dense(512), ff.Dense(256), ff.Dense(10)], seed=0).build(784)
        model.grads[:] = rng.standard_normal(model.grads.size, dtype=np.float32) * 1e-2
        opt = ff.optimizers.Adam(1e-3)
        flush = np.ones(8 << 20, np.float32), np.empty(8 << 20, np.float32)
        best = float("inf")
        for _ in range(rounds):
            total = 0.0
            for _ in range(steps):
                if cold:
                    np.copyto(flush[1], flush[0])
                start = time.perf_counter()
                opt.apply([model.params], [model.grads])
                total += time.perf_counter() - start
            best = min(best, total / steps)
        return best * 1e6
    finally:
        ff.kernels.use(previous)


def epoch_seconds(batch: int, rows: int, numpy_rules: bool) -> float:
    env = dict(os.environ)
    env.pop("FEEDFORWARD_KERNELS", None)
    if numpy_rules:
        env["FEEDFORWARD_KERNELS"] = "numpy"
    out = subprocess.run([sys.executable, "-c", CHILD, str(batch), str(rows)], env=env,
                         capture_output=True, text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["kernels"] is not numpy_rules, "the child did not use the intended path"
    return result["seconds"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args(argv)
    import feedforward as ff

    if not ff.kernels.available():
        sys.exit("feedforward._kernels was not built: pip install -e . with a C compiler present")
    print("| Adam step, 535,818 float32 parameters | NumPy (µs) | compiled (µs) | speed-up |")
    print("|---|---|---|---|")
    for cold in (False, True):
        slow, fast = adam_step_us(False, cold), adam_step_us(True, cold)
        label = "after 32 MB through the cache" if cold else "arrays in cache"
        print(f"| {label} | {slow:,.0f} | {fast:,.0f} | {slow / fast:.2f}x |")
    print(f"\n| epoch of {args.rows:,} rows | NumPy rules (s) | compiled (s) | speed-up |")
    print("|---|---|---|---|")
    for batch in (32, 128, 512):
        times = {True: [], False: []}
        for i in range(args.runs):
            for numpy_rules in ((True, False) if i % 2 else (False, True)):
                times[numpy_rules].append(epoch_seconds(batch, args.rows, numpy_rules))
        slow, fast = statistics.median(times[True]), statistics.median(times[False])
        print(f"| batch {batch} | {slow:.3f} ({min(times[True]):.3f}-{max(times[True]):.3f}) "
              f"| {fast:.3f} ({min(times[False]):.3f}-{max(times[False]):.3f}) "
              f"| {slow / fast:.2f}x |")


if __name__ == "__main__":
    main()
