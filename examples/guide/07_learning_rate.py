"""The learning rate: too low, about right, too high; decay schedules; the range test.

Gradient descent moves every weight by ``-learning_rate * dL/dw``. This script trains the same
small network (64 inputs, 32 tanh units, 10 softmax outputs) on scikit-learn's digits with
plain SGD and shows:

1. three constant rates: a rate far too low barely moves the loss, a good one drives it
   towards zero, a rate far too high throws the loss above where it started (ln 10 = 2.30);
2. step decay and exponential decay (``ff.schedules``), started at a rate that is a little
   too high: the decayed rate settles where the constant one keeps bouncing;
3. the learning-rate range test (the last step of ``ff.diagnostics.check``):
   a few hundred steps with the rate growing exponentially, the loss recorded against the rate.

Run: python examples/guide/07_learning_rate.py [--out DIR] [--quick]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import feedforward as ff  # noqa: E402

RATES = {"too low": 0.005, "good": 0.2, "too high": 5.0}
BATCH = 64


def digits():
    """scikit-learn's 8x8 digits, pixels scaled from 0..16 to 0..1: x (1797, 64), y (1797,)."""
    x, y = ff.data.load_dataset("digits")
    return x / 16.0, y


def network(learning_rate):
    """The same tanh network (same initial weights, seed 0) with SGD at ``learning_rate``
    (a float or a schedule)."""
    model = ff.Sequential([ff.Dense(32, activation="tanh"), ff.Dense(10, activation="softmax")],
                          input_dim=64, seed=0)
    model.compile(ff.optimizers.SGD(learning_rate), "categorical_crossentropy")
    return model


def loss_curve(model, x, y, epochs):
    """The loss on all of ``x`` before training and after each epoch: shape (epochs + 1,)."""
    losses = [model.evaluate(x, y)]
    for _ in range(epochs):
        model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)
        losses.append(model.evaluate(x, y))
    return np.array(losses)


def main(out=".", quick=False) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    x, y = digits()
    epochs = 12 if quick else 30
    steps_per_epoch = math.ceil(len(x) / BATCH)

    constant = {name: loss_curve(network(lr), x, y, epochs) for name, lr in RATES.items()}

    start = 1.0  # a little too high for a constant rate on this problem
    total = epochs * steps_per_epoch
    schedules = {
        "constant 1.0": start,
        "step decay": ff.schedules.StepDecay(start, step_size=total // 6, gamma=0.5),
        "exponential decay": ff.schedules.ExponentialDecay(start, decay_steps=total,
                                                           decay_rate=0.05),
    }
    decayed = {name: loss_curve(network(s), x, y, epochs) for name, s in schedules.items()}

    # the sanity recipe's last step; each step of check() trains a fresh network(1.0), and
    # the range test replaces that rate with its own, growing one
    report = ff.diagnostics.check(lambda: network(1.0), x, y, batch_size=BATCH,
                                  lr_steps=150 if quick else 300)
    step, recommended = report["learning_rate_range"], report.recommended_learning_rate
    curve = report.lr_curve
    tried = loss_curve(network(recommended), x, y, epochs)

    tail = max(3, epochs // 4)  # the last quarter of the run: is the loss settled or bouncing?
    results = {
        "initial_loss": float(constant["good"][0]),
        "final_loss": {k: float(v[-1]) for k, v in constant.items()},
        "tail_mean_loss": {k: float(v[-tail:].mean()) for k, v in decayed.items()},
        "tail_max_loss": {k: float(v[-tail:].max()) for k, v in decayed.items()},
        "range_test_rate_at_min": step.evidence["rate_at_min"],
        "recommended_learning_rate": recommended,
        "final_loss_at_recommended": float(tried[-1]),
        "rates": dict(RATES),
    }
    _plot(out / "07-learning-rate.png", constant, decayed, schedules, total, curve, recommended)
    _report(results, epochs)
    return results


def _plot(path, constant, decayed, schedules, total, curve, recommended):
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    ax = axes[0]
    for name, losses in constant.items():
        ax.plot(losses, label=f"{name} ({RATES[name]:g})")
    ax.axhline(math.log(10), ls=":", c="gray", label="ln 10 (chance)")
    ax.set(yscale="log", xlabel="epoch", ylabel="training loss",
           title="constant learning rates")
    ax.legend(fontsize=8)
    ax = axes[1]
    steps = np.arange(total)
    for (name, schedule), losses in zip(schedules.items(), decayed.values(), strict=True):
        rate = [schedule(t) if callable(schedule) else schedule for t in steps]
        line, = ax.plot(np.linspace(0, len(losses) - 1, total), rate, ls="--", lw=1)
        ax.plot(losses, c=line.get_color(), label=name)
    ax.set(yscale="log", xlabel="epoch",
           ylabel="training loss (solid), learning rate (dashed)", title="decay schedules")
    ax.legend(fontsize=8)
    ax = axes[2]
    ax.plot(curve["learning_rate"], curve["loss"])
    ax.axvline(recommended, ls="--", c="gray", label=f"recommended {recommended:.2g}")
    ax.set(xscale="log", xlabel="learning rate (growing each step)", ylabel="smoothed loss",
           title="learning-rate range test")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _report(r, epochs):
    f = r["final_loss"]
    print(f"Starting loss {r['initial_loss']:.3f} (ln 10 = {math.log(10):.3f}). After {epochs} "
          f"epochs of SGD: rate {RATES['too low']:g} (too low) {f['too low']:.3f}, rate "
          f"{RATES['good']:g} {f['good']:.3f}, rate {RATES['too high']:g} (too high) "
          f"{f['too high']:.3f}, worse than where it started.")
    m, top = r["tail_mean_loss"], r["tail_max_loss"]
    for name in m:
        print(f"Starting at rate 1.0 with {name}: loss over the last epochs averages "
              f"{m[name]:.3f}, at worst {top[name]:.3f}.")
    print(f"Range test: lowest smoothed loss at rate {r['range_test_rate_at_min']:.3g}; "
          f"recommended rate (a tenth of it) {r['recommended_learning_rate']:.3g}, which trains "
          f"to loss {r['final_loss_at_recommended']:.3f} in {epochs} epochs.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="folder for the figure")
    parser.add_argument("--quick", action="store_true", help="a shorter run (for tests)")
    args = parser.parse_args()
    main(args.out, args.quick)
