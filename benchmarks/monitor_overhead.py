"""The training monitor's overhead: digits training time with and without ``Monitor()``.

Trains the same network (64-128-64-10, ReLU, He initialization, Adam, batch 32) on the
scikit-learn digits, alternating runs without and with the monitor at its default frequency
(one record per epoch), and reports the fastest of each and their ratio: on a shared machine
other processes only ever add time, so the minimum is the least disturbed measurement, and
interleaving the runs spreads what noise remains over both. As a cross-check it also times
one record on its own (the fastest of many) against the fastest epoch.

    .venv/bin/python benchmarks/monitor_overhead.py [--runs 7] [--epochs 20] [--doctor]

``--doctor`` times the Doctor callback (a monitor plus the rules after every epoch) instead.
The budget of issue 7 is 10 %.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import feedforward as ff

BUDGET = 0.10


def _model():
    model = ff.Sequential([ff.Dense(128, "relu", kernel_initializer="he_normal"),
                           ff.Dense(64, "relu", kernel_initializer="he_normal"),
                           ff.Dense(10, "softmax")], seed=0,
                          preprocessing=ff.data.StandardScaler())
    model.compile("adam", "categorical_crossentropy", ["accuracy"])
    return model


def train_seconds(x, y, epochs, callback=None) -> float:
    model = _model()
    start = time.perf_counter()
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0,
              callbacks=[callback] if callback is not None else [])
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--doctor", action="store_true")
    parser.add_argument("--probe-size", type=int, default=256)
    args = parser.parse_args(argv)
    x, y = ff.data.load_dataset("digits")
    x = np.asarray(x, dtype=np.float64)
    probe_size = args.probe_size
    if args.doctor:
        def make():
            return ff.diagnostics.Doctor(print_fn=lambda _: None, probe_size=probe_size)
    else:
        def make():
            return ff.diagnostics.Monitor(probe_size=probe_size)
    train_seconds(x, y, 2)  # warm-up: imports, BLAS threads, caches
    plain, watched = [], []
    for _ in range(args.runs):
        plain.append(train_seconds(x, y, args.epochs))
        watched.append(train_seconds(x, y, args.epochs, make()))
    a, b = min(plain), min(watched)
    overhead = b / a - 1
    what = "Doctor" if args.doctor else "Monitor"
    print(f"digits, {len(x)} samples, {args.epochs} epochs, fastest of {args.runs} runs "
          f"(medians {statistics.median(plain):.3f} s and {statistics.median(watched):.3f} s)")
    print(f"  without {what}: {a:.3f} s")
    print(f"  with {what}:    {b:.3f} s")
    print(f"  overhead: {overhead:+.1%} (budget {BUDGET:.0%}): "
          f"{'PASS' if overhead < BUDGET else 'FAIL'}")
    record, epoch = record_seconds(x, y, probe_size)
    print(f"  one record {record * 1e3:.2f} ms beside one epoch {epoch * 1e3:.2f} ms: "
          f"{record / epoch:+.1%}")
    return 0 if overhead < BUDGET else 1


def record_seconds(x, y, probe_size, repeats=200):
    """The fastest record and the fastest epoch, each timed on its own."""
    model, monitor = _model(), ff.diagnostics.Monitor(probe_size=probe_size)
    epochs = [train_seconds(x, y, 1) for _ in range(10)]
    model.fit(x, y, epochs=1, verbose=0, callbacks=[monitor])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        monitor.record()
        times.append(time.perf_counter() - start)
    return min(times), min(epochs)


if __name__ == "__main__":
    raise SystemExit(main())
