"""The learning rate: too low, about right, too high; decay schedules; the range test.

Gradient descent moves every weight by ``-η * dJ/dw``, ``η`` being the learning rate. This
script trains the same small network (64 inputs, 32 tanh units, 10 softmax outputs) on
scikit-learn's digits with plain SGD and shows:

1. three constant rates: a rate far too low barely moves the loss, a good one drives it
   towards zero, a rate far too high throws the loss above where it started (ln 10 = 2.30);
2. the fast rate 1.0, constant (its loss spikes now and then) and with step decay and
   exponential decay (``ff.schedules``), which keep its speed and remove the spikes;
3. the learning-rate range test (the last step of ``ff.diagnostics.check``):
   a few hundred steps with the rate growing exponentially, the loss recorded against the rate.

The exercises' flags: ``--rate R [R ...]`` trains more constant rates beside the three;
``--gamma G`` adds a step decay that multiplies the rate by G (instead of 0.5) at each step.

Run: python examples/guide/07_learning_rate.py [--out DIR] [--quick] [--rate R ...] [--gamma G]
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import feedforward as ff  # noqa: E402

RATES = {"too low": 0.005, "good": 0.2, "too high": 5.0}
FAST = 1.0  # faster than "good", but its loss spikes now and then
BATCH = 64
OUT = Path(tempfile.gettempdir()) / "feedforward-guide"


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


def main(out=None, quick=False, rate=(), gamma=None) -> dict:
    """Train every network, draw the figure into ``out`` and return the measured numbers.

    ``rate`` (floats) adds constant rates; ``gamma`` adds a step decay with that factor.
    """
    out = Path(out or OUT)
    out.mkdir(parents=True, exist_ok=True)
    x, y = digits()
    epochs = 12 if quick else 30
    steps_per_epoch = math.ceil(len(x) / BATCH)
    tail = max(3, epochs // 4)  # the last quarter of the run: is the loss settled or spiking?

    constant = {name: loss_curve(network(lr), x, y, epochs) for name, lr in RATES.items()}
    extra = {r: loss_curve(network(r), x, y, epochs) for r in rate}

    total = epochs * steps_per_epoch
    step_size = total // 6
    schedules = {
        f"constant {FAST:g}": FAST,
        "step decay": ff.schedules.StepDecay(FAST, step_size=step_size, gamma=0.5),
        "exponential decay": ff.schedules.ExponentialDecay(FAST, decay_steps=total,
                                                           decay_rate=0.05),
    }
    if gamma is not None:
        schedules[f"step decay, gamma {gamma:g}"] = ff.schedules.StepDecay(
            FAST, step_size=step_size, gamma=gamma)
    decayed = {name: loss_curve(network(s), x, y, epochs) for name, s in schedules.items()}

    # the sanity recipe's last step; each step of check() trains a fresh network(1.0), and
    # the range test replaces that rate with its own, growing one
    report = ff.diagnostics.check(lambda: network(1.0), x, y, batch_size=BATCH,
                                  lr_steps=150 if quick else 300)
    step, recommended = report["learning_rate_range"], report.recommended_learning_rate
    tried = loss_curve(network(recommended), x, y, epochs)

    results = {
        "epochs": epochs,
        "initial_loss": float(constant["good"][0]),
        "final_loss": {k: float(v[-1]) for k, v in constant.items()},
        "extra_final_loss": {r: float(v[-1]) for r, v in extra.items()},
        "tail_min_loss": {k: float(v[-tail:].min()) for k, v in decayed.items()},
        "tail_max_loss": {k: float(v[-tail:].max()) for k, v in decayed.items()},
        "decayed_curves": {k: v.tolist() for k, v in decayed.items()},
        "range_test_rate_at_min": step.evidence["rate_at_min"],
        "recommended_learning_rate": recommended,
        "final_loss_at_recommended": float(tried[-1]),
        "rates": dict(RATES),
    }
    path = out / "07-learning-rate.png"
    _plot(path, {**constant, **{f"--rate {r:g}": v for r, v in extra.items()}}, decayed,
          schedules, total, report.lr_curve, recommended)
    _report(results)
    print(f"Figure: {path}")
    return results


def _plot(path, constant, decayed, schedules, total, curve, recommended):
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    ax = axes[0, 0]
    for name, losses in constant.items():
        label = f"{name} ({RATES[name]:g})" if name in RATES else name
        ax.plot(losses, label=label)
    ax.axhline(math.log(10), ls=":", c="gray", label="ln 10 (chance)")
    ax.set(yscale="log", xlabel="epoch", ylabel="training loss J",
           title="constant learning rates")
    ax.legend(fontsize=8)
    loss_ax, rate_ax = axes[0, 1], axes[1, 0]
    epochs_axis = np.linspace(0, len(next(iter(decayed.values()))) - 1, total)
    for name, losses in decayed.items():
        line, = loss_ax.plot(losses, label=name)
        schedule = schedules[name]
        rate = [schedule(t) if callable(schedule) else schedule for t in range(total)]
        rate_ax.plot(epochs_axis, rate, c=line.get_color(), label=name)
    loss_ax.set(yscale="log", xlabel="epoch", ylabel="training loss J",
                title=f"starting at the fast rate {FAST:g}")
    loss_ax.legend(fontsize=8)
    rate_ax.set(yscale="log", xlabel="epoch", ylabel="learning rate η",
                title="the rate each schedule gives")
    rate_ax.legend(fontsize=8)
    ax = axes[1, 1]
    ax.plot(curve["learning_rate"], curve["loss"])
    ax.axvline(recommended, ls="--", c="gray", label=f"recommended {recommended:.2g}")
    ax.set(xscale="log", xlabel="learning rate (growing each step)", ylabel="smoothed loss",
           title="learning-rate range test")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=70)
    plt.close(fig)


def _report(r):
    f = r["final_loss"]
    print(f"Starting loss {r['initial_loss']:.3f} (ln 10 = {math.log(10):.3f}). After "
          f"{r['epochs']} epochs of SGD: rate {RATES['too low']:g} (too low) {f['too low']:.3f}, "
          f"rate {RATES['good']:g} {f['good']:.3f}, rate {RATES['too high']:g} (too high) "
          f"{f['too high']:.3f}, worse than where it started.")
    for rate, loss in r["extra_final_loss"].items():
        print(f"--rate {rate:g}: loss {loss:.3f} after {r['epochs']} epochs.")
    low, top = r["tail_min_loss"], r["tail_max_loss"]
    for name in low:
        print(f"Starting at rate {FAST:g} with {name}: loss over the last quarter of the run "
              f"from {low[name]:.3f} to {top[name]:.3f}.")
    print(f"Range test: lowest smoothed loss at rate {r['range_test_rate_at_min']:.3g}; "
          f"recommended rate (a tenth of it) {r['recommended_learning_rate']:.3g}, which trains "
          f"to loss {r['final_loss_at_recommended']:.3f} in {r['epochs']} epochs.")


def options(argv=None) -> dict:
    """The command line's options as keyword arguments of :func:`main`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help=f"folder for the figure (default {OUT})")
    parser.add_argument("--quick", action="store_true", help="a shorter run (for tests)")
    parser.add_argument("--rate", type=float, nargs="+", default=(), metavar="R",
                        help="also train at these constant learning rates (exercises)")
    parser.add_argument("--gamma", type=float, metavar="G",
                        help="also run step decay with this factor in place of 0.5 (exercise)")
    return vars(parser.parse_args(argv))


if __name__ == "__main__":
    try:
        main(**options())
    except ff.FeedforwardError as error:  # a flag's value the library refuses: say which
        raise SystemExit(f"{Path(__file__).name}: error: {error}") from None
