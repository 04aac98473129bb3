"""Where feedforward's batch-512 epoch spends its time beyond the matrix products, in one process.

    .venv/bin/python benchmarks/epoch_floor.py [--rows 60000] [--batch-size 512] [--rounds 5]

``run.py`` times the BLAS bound and feedforward's epoch in different processes, minutes apart,
so on a shared machine their ratio moves with the neighbours' load. This script measures, in
rounds within one process:

- ``epoch``: one epoch of the benchmark's model (``peers.Feedforward``: 784-512-256-10, Adam);
- ``gemm``: the time of the ``np.matmul`` calls inside that same epoch (NumPy's ``matmul`` is
  wrapped with a clock for the run);
- ``optimizer``: the time of the compiled optimizer loop inside that epoch (``kernels.run``);
- ``gather``: ``np.take`` of every shuffled batch into a work array, as ``data.batching`` does;
- ``bound``: the epoch's products alone (``blas_bound.time_epoch``), as in ``run.py``.

It prints each figure's best round and the floor they imply: the bound plus the work that any
trainer must do per step (read every batch from its shuffled rows, stream the optimizer's
state through memory), against 1.15 times the bound.
"""

from __future__ import annotations

import argparse
import time

import blas_bound
import numpy as np
import peers
from workload import workload


class Clocked:
    """A function wrapped so that the seconds spent in it add up in ``seconds``."""

    def __init__(self, fn):
        self.fn, self.seconds = fn, 0.0

    def __call__(self, *args, **kwargs):
        t = time.perf_counter()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t


def epoch_parts(peer, x, y, batch_size) -> dict:
    """One timed epoch, with the seconds of its products and optimizer loop inside it."""
    import feedforward.kernels as kernels

    model = peer.build()
    matmul, run = Clocked(np.matmul), Clocked(kernels.run)
    np.matmul, kernels.run = matmul, run
    try:
        t = time.perf_counter()
        peer.fit(model, x, y, batch_size)
        seconds = time.perf_counter() - t
    finally:
        np.matmul, kernels.run = matmul.fn, run.fn
    return {"epoch": seconds, "gemm": matmul.seconds, "optimizer": run.seconds}


def gather_seconds(x, batch_size, seed=0) -> float:
    """The shuffled batches copied out of ``x``, as ``data.batching`` copies them."""
    idx = np.random.default_rng(seed).permutation(len(x))
    buf = np.empty((batch_size,) + x.shape[1:], x.dtype)
    t = time.perf_counter()
    for s in range(0, len(x), batch_size):
        part = idx[s:s + batch_size]
        np.take(x, part, axis=0, out=buf[:len(part)], mode="clip")
    return time.perf_counter() - t


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    data = workload(args.rows)
    x, y, bs = data["x"], data["y"], args.batch_size
    peer = peers.Feedforward()
    peer.fit(peer.build(), x[:4096], y[:4096], bs)  # warm-up
    rounds = []
    for _ in range(args.rounds):
        parts = epoch_parts(peer, x, y, bs)
        parts["gather"] = gather_seconds(x, bs)
        parts["bound"] = blas_bound.time_epoch(x, bs)["seconds"]
        rounds.append(parts)
        print("  ".join(f"{k} {v:.3f}" for k, v in parts.items()), flush=True)
    best = {k: min(r[k] for r in rounds) for k in rounds[0]}
    rest = best["epoch"] - best["gemm"]
    floor = best["bound"] + best["gather"] + best["optimizer"]
    print(f"\nbest of {args.rounds} rounds, {args.rows:,} rows, batch {bs} (s):")
    for k, v in best.items():
        print(f"  {k:<10} {v:.3f}")
    print(f"  epoch beyond its own products: {rest:.3f} "
          f"(optimizer {best['optimizer']:.3f}, the rest {rest - best['optimizer']:.3f})")
    print(f"  epoch / bound: {best['epoch'] / best['bound']:.3f}; "
          f"own products / bound: {best['gemm'] / best['bound']:.3f}")
    print(f"  floor = bound + gather + optimizer = {floor:.3f} = "
          f"{floor / best['bound']:.3f} x bound (target 1.15)")


if __name__ == "__main__":
    main()
