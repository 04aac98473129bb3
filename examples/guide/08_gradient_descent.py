"""Batch, stochastic and mini-batch gradient descent: loss against epochs and against time.

The three differ only in how many samples estimate the gradient before each update, which in
feedforward is ``fit``'s ``batch_size``:

- batch gradient descent, ``batch_size=len(x)``: the exact gradient, one update per epoch;
- stochastic gradient descent, ``batch_size=1``: a noisy gradient from one sample, ``n``
  updates per epoch, each a tiny matrix product that cannot use the CPU well;
- mini-batch gradient descent, ``batch_size=32``: the compromise that everyone uses.

The same network (64 inputs, 32 tanh units, 10 softmax outputs, same initial weights) learns
scikit-learn's digits with each, every one at a rate that suits it; a callback records the loss
on the whole training set and the training time (not counting that evaluation) after each epoch.

Run: python examples/guide/08_gradient_descent.py [--out DIR] [--quick]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import feedforward as ff  # noqa: E402

# name: (batch size, learning rate, epochs relative to the others); None means all samples.
# Batch gradient descent gets more epochs since each one is a single cheap update.
VARIANTS = {"batch": (None, 1.0, 5), "stochastic": (1, 0.02, 1), "mini-batch (32)": (32, 0.2, 1)}
TARGET = 0.5  # a loss to reach, about a fifth of the starting loss ln 10


class Recorder(ff.callbacks.Callback):
    """After each epoch: the loss on all of (x, y) and the training time so far, in seconds.

    The time spent evaluating that loss is excluded, so ``times`` measure training only.
    """

    def __init__(self, x, y):
        self.x, self.y = x, y

    def on_train_begin(self, logs=None):
        self.losses, self.times = [self.model.evaluate(self.x, self.y)], [0.0]
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        self.times.append(self.times[-1] + now - self.start)
        self.losses.append(self.model.evaluate(self.x, self.y))
        self.start = time.perf_counter()


def train(x, y, batch_size, learning_rate, epochs):
    """Fit a fresh network (seed 0); returns the Recorder with losses and times, (epochs + 1,)."""
    model = ff.Sequential([ff.Dense(32, activation="tanh"), ff.Dense(10, activation="softmax")],
                          input_dim=x.shape[1], seed=0)
    model.compile(ff.optimizers.SGD(learning_rate), "categorical_crossentropy")
    recorder = Recorder(x, y)
    model.fit(x, y, epochs=epochs, batch_size=batch_size or len(x), verbose=0,
              callbacks=[recorder])
    return recorder


def main(out=".", quick=False) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    x, y = ff.data.load_dataset("digits")
    x = x / 16.0
    if quick:  # a stratified third of the data keeps the stochastic epochs short
        x, _, _, y, _, _ = ff.data.train_val_test_split(x, y, val=0.33, test=0.34, seed=0)
    epochs = 6 if quick else 8
    runs = {name: train(x, y, bs, lr, epochs * k) for name, (bs, lr, k) in VARIANTS.items()}

    results = {
        "samples": len(x),
        "epochs": epochs,
        "loss_after_epochs": {k: float(r.losses[epochs]) for k, r in runs.items()},
        "seconds_per_epoch": {k: float(np.diff(r.times).mean()) for k, r in runs.items()},
        "epochs_to_target": {k: _first(range(len(r.losses)), r.losses) for k, r in runs.items()},
        "seconds_to_target": {k: _first(r.times, r.losses) for k, r in runs.items()},
    }
    _plot(out / "08-gradient-descent.png", runs)
    _report(results)
    return results


def _first(when, losses):
    """The first entry of ``when`` at which the loss is at most TARGET; None if never."""
    return next((float(w) for w, v in zip(when, losses, strict=True) if v <= TARGET), None)


def _plot(path, runs):
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, r in runs.items():
        axes[0].plot(r.losses, marker=".", label=name)
        axes[1].plot(r.times, r.losses, marker=".", label=name)
    for ax in axes:
        ax.axhline(TARGET, ls=":", c="gray")
    axes[0].set(xlabel="epoch", ylabel="training loss", yscale="log",
                title="loss against epochs (passes over the data)")
    # the time axis ends with batch gradient descent's run; stochastic runs on past it
    axes[1].set(xlabel="training time (s)", ylabel="training loss", yscale="log",
                xlim=(0, 1.2 * runs["batch"].times[-1]), title="loss against wall-clock time")
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _report(r):
    e, s = r["loss_after_epochs"], r["seconds_per_epoch"]
    print(f"{r['samples']} samples. Loss after {r['epochs']} epochs: "
          + ", ".join(f"{k} {v:.3f}" for k, v in e.items()) + ".")
    print("Training time per epoch: " + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in s.items())
          + f"; stochastic is {s['stochastic'] / s['mini-batch (32)']:.0f} times slower per "
          "epoch than mini-batch.")
    for name, seconds in r["seconds_to_target"].items():
        when = ("never, in its run" if seconds is None else
                f"after {r['epochs_to_target'][name]:.0f} epochs, {seconds:.3f} s")
        print(f"{name} reached loss {TARGET}: {when}.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="folder for the figure")
    parser.add_argument("--quick", action="store_true", help="a shorter run (for tests)")
    args = parser.parse_args()
    main(args.out, args.quick)
