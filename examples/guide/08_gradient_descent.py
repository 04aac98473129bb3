"""Batch, stochastic and mini-batch gradient descent: loss against epochs and against time.

The three differ only in how many samples estimate the gradient before each update, which in
feedforward is ``fit``'s ``batch_size``:

- batch gradient descent, ``batch_size=len(x)``: the exact gradient, one update per epoch;
- stochastic gradient descent, ``batch_size=1``: a noisy gradient from one sample, ``m``
  updates per epoch, each a tiny matrix product that cannot use the CPU well;
- mini-batch gradient descent, ``batch_size=32``: the compromise that everyone uses.

The same network (64 inputs, 32 tanh units, 10 softmax outputs, same initial weights) learns
scikit-learn's digits with each, every one at a rate that suits it; a callback records the loss
on the whole training set and the training time (not counting that evaluation) after each epoch.

The exercises' flags: ``--batch-size K [K ...]`` adds mini-batch runs of K samples at the
mini-batch rate; ``--stochastic-rate R`` adds a one-sample run at the rate R.

Run: python examples/guide/08_gradient_descent.py [--out DIR] [--quick] [--batch-size K ...]
     [--stochastic-rate R]
"""

from __future__ import annotations

import argparse
import tempfile
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
OUT = Path(tempfile.gettempdir()) / "feedforward-guide"


class Recorder(ff.callbacks.Callback):
    """After each epoch: the loss on all of (x, y), the training time so far in seconds, and
    the number of updates so far.

    The time spent evaluating that loss is excluded, so ``times`` measure training only.
    """

    def __init__(self, x, y):
        self.x, self.y = x, y

    def on_train_begin(self, logs=None):
        self.losses, self.times = [self.model.evaluate(self.x, self.y)], [0.0]
        self.updates = [0]
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        self.times.append(self.times[-1] + now - self.start)
        self.updates.append(self.model.optimizer.iterations)
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


def gradient_noise(x, y, sizes=(8, 32), draws=200):
    """How far mini-batch gradients fall from the full gradient, at the initial weights.

    A gradient is read off one SGD step at rate 1 (the weights move by exactly ``-dW``), and
    the weights are put back after each. Returns {k: root mean square distance between a
    random batch of ``k`` samples' gradient and the full-batch gradient, over ``draws``
    batches}.
    """
    model = ff.Sequential([ff.Dense(32, activation="tanh"), ff.Dense(10, activation="softmax")],
                          input_dim=x.shape[1], seed=0, dtype="float64")
    model.compile(ff.optimizers.SGD(1.0), "categorical_crossentropy")
    start = model.get_weights()

    def gradient(rows):
        model.set_weights(start)
        model.train_on_batch(x[rows], y[rows])
        return np.concatenate([(a - b).ravel() for a, b in zip(start, model.get_weights(),
                                                                 strict=True)])

    full = gradient(np.arange(len(x)))
    rng = np.random.default_rng(0)
    return {k: float(np.sqrt(np.mean([np.sum((gradient(rng.choice(len(x), k, replace=False))
                                              - full) ** 2) for _ in range(draws)])))
            for k in sizes}


def main(out=None, quick=False, batch_size=(), stochastic_rate=None) -> dict:
    """Train each variant, draw the figure into ``out`` and return the measured numbers.

    ``batch_size`` (ints) adds mini-batch runs at the mini-batch rate; ``stochastic_rate``
    adds a one-sample run at that rate.
    """
    out = Path(out or OUT)
    out.mkdir(parents=True, exist_ok=True)
    x, y = ff.data.load_dataset("digits")
    x = x / 16.0
    if quick:  # a stratified third of the data keeps the stochastic epochs short
        x, _, _, y, _, _ = ff.data.train_val_test_split(x, y, val=0.33, test=0.34, seed=0)
    epochs = 6 if quick else 8
    variants = dict(VARIANTS)
    for k in batch_size:
        variants[f"mini-batch ({k})"] = (k, VARIANTS["mini-batch (32)"][1], 1)
    if stochastic_rate is not None:
        variants[f"stochastic at rate {stochastic_rate:g}"] = (1, stochastic_rate, 1)
    runs = {name: train(x, y, bs, lr, epochs * k) for name, (bs, lr, k) in variants.items()}

    results = {
        "samples": len(x),
        "epochs": epochs,
        "loss_after_epochs": {k: float(r.losses[epochs]) for k, r in runs.items()},
        "updates_per_epoch": {k: r.updates[1] for k, r in runs.items()},
        "batch_sizes": {k: bs or len(x) for k, (bs, _, _) in variants.items()},
        "seconds_per_epoch": {k: float(np.diff(r.times).mean()) for k, r in runs.items()},
        "gradient_noise": gradient_noise(x, y),
        "epochs_to_target": {k: _first(range(len(r.losses)), r.losses) for k, r in runs.items()},
        "seconds_to_target": {k: _first(r.times, r.losses) for k, r in runs.items()},
    }
    path = out / "08-gradient-descent.png"
    _plot(path, runs)
    _report(results)
    print(f"Figure: {path}")
    return results


def _first(when, losses):
    """The first entry of ``when`` at which the loss is at most TARGET; None if never."""
    return next((float(w) for w, v in zip(when, losses, strict=True) if v <= TARGET), None)


def _plot(path, runs):
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, r in runs.items():
        axes[0].plot(r.losses, marker=".", label=name)
        # a log time axis: the runs' durations differ twentyfold; time 0 cannot be shown
        axes[1].plot(r.times[1:], r.losses[1:], marker=".", label=name)
    for ax in axes:
        ax.axhline(TARGET, ls=":", c="gray", label=f"target loss {TARGET}")
        ax.legend(fontsize=8)
    axes[0].set(xlabel="epoch", ylabel="training loss J", yscale="log",
                title="loss against epochs (passes over the data)")
    axes[1].set(xlabel="training time (s, log scale; points are epochs)",
                ylabel="training loss J", xscale="log", yscale="log",
                title="loss against wall-clock time")
    fig.tight_layout()
    fig.savefig(path, dpi=70)
    plt.close(fig)


def _report(r):
    noise = r["gradient_noise"]
    print("Distance of a mini-batch gradient from the full gradient (root mean square): "
          + ", ".join(f"{k} samples {v:.4f}" for k, v in noise.items())
          + f"; ratio {noise[8] / noise[32]:.2f}.")
    e, s, u = r["loss_after_epochs"], r["seconds_per_epoch"], r["updates_per_epoch"]
    print(f"{r['samples']} samples. Loss after {r['epochs']} epochs: "
          + ", ".join(f"{k} {v:.3f} ({u[k]} updates per epoch)" for k, v in e.items()) + ".")
    print("Training time per epoch: " + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in s.items())
          + f"; stochastic is {s['stochastic'] / s['mini-batch (32)']:.0f} times slower per "
          "epoch than mini-batch.")
    for name, seconds in r["seconds_to_target"].items():
        when = ("never, in its run" if seconds is None else
                f"after {r['epochs_to_target'][name]:.0f} epochs, {seconds:.3f} s")
        print(f"{name} reached loss {TARGET}: {when}.")


def options(argv=None) -> dict:
    """The command line's options as keyword arguments of :func:`main`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help=f"folder for the figure (default {OUT})")
    parser.add_argument("--quick", action="store_true", help="a shorter run (for tests)")
    parser.add_argument("--batch-size", type=int, nargs="+", default=(), metavar="K",
                        help="also train with mini-batches of K samples (exercises)")
    parser.add_argument("--stochastic-rate", type=float, metavar="R",
                        help="also train one sample at a time at the rate R (exercise)")
    return vars(parser.parse_args(argv))


if __name__ == "__main__":
    try:
        main(**options())
    except ff.FeedforwardError as error:  # a flag's value the library refuses: say which
        raise SystemExit(f"{Path(__file__).name}: error: {error}") from None
