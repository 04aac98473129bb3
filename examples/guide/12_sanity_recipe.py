"""The sanity recipe: check the network before a long training run.

``ff.diagnostics.check`` (and ``feedforward check`` in the shell) runs the training doctor on
the untrained network, then four steps, each on a fresh copy of the network:

1. gradient check: backpropagation against central differences, in float64;
2. initial loss: an untrained k-class softmax should predict about 1/k everywhere, so the
   cross-entropy starts near ln k;
3. overfit a small subset (64 samples, no regularization): a network that can learn at all
   drives the loss on so few samples to nearly zero;
4. learning-rate range test: the rate grows exponentially for a few hundred steps; a tenth
   of the rate at the lowest smoothed loss is recommended.

The script runs the recipe on three networks for scikit-learn's digits: a sound one (128 and
64 ReLU units), one too small to learn (a single hidden unit) and one with a wild initialization
(normal weights with standard deviation 3). The sound network passes; each broken one fails the
step that names its fault. Then the sound network is trained with the recommended rate.

The exercises' flags: ``--units N [N ...]`` adds networks of one hidden layer of N units;
``--init-std S [S ...]`` adds networks whose initial weights are normal with standard
deviation S.

Run: python examples/guide/12_sanity_recipe.py [--out DIR] [--quick] [--units N ...]
     [--init-std S ...]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import feedforward as ff  # noqa: E402

SUBSET = 64
MAX_STEPS = 500  # of the overfitting step, and of the figure's curves
OUT = Path(tempfile.gettempdir()) / "feedforward-guide"


def network(units=(128, 64), initializer="he_normal", learning_rate=0.01):
    """A compiled MLP for 8x8 digits: ReLU hidden ``units``, softmax output, SGD with momentum."""
    layers = [ff.Dense(u, activation="relu", kernel_initializer=initializer) for u in units]
    layers.append(ff.Dense(10, activation="softmax", kernel_initializer=initializer))
    model = ff.Sequential(layers, seed=0, preprocessing=ff.data.StandardScaler())
    model.compile(ff.optimizers.SGD(learning_rate, momentum=0.9), "categorical_crossentropy",
                  ["accuracy"])
    return model


NETWORKS = {
    "sound (128, 64)": lambda: network(),
    "too small (1 unit)": lambda: network(units=(1,)),
    "wild init (std 3)": lambda: network(initializer=ff.initializers.RandomNormal(stddev=3.0)),
}


def overfit_curve(model, x, y, steps):
    """Full-batch losses on the subset, one per step (an epoch is one step here): what step 3
    of the recipe does."""
    return np.array(model.fit(x, y, epochs=steps, batch_size=len(x), verbose=0).history["loss"])


def networks(units=(), init_std=()) -> dict:
    """NETWORKS, and the exercises' networks: one hidden layer of each of ``units``, and the
    sound network with normal initial weights of each standard deviation in ``init_std``."""
    extra = {f"{n} units": (lambda n=n: network(units=(n,))) for n in units}
    extra.update({f"normal init (std {sd:g})": (lambda sd=sd: network(
        initializer=ff.initializers.RandomNormal(stddev=sd))) for sd in init_std})
    return {**NETWORKS, **extra}


def predicted_classes(make, x, y, steps):
    """After ``steps`` full-batch steps on (x, y): how many distinct classes the network
    predicts on x, and its accuracy there."""
    model = make()
    model.fit(x, y, epochs=steps, batch_size=len(x), verbose=0)
    guess = model.predict(x).argmax(axis=1)
    return len(np.unique(guess)), float((guess == y).mean())


def main(out=None, quick=False, units=(), init_std=()) -> dict:
    """Run the recipe on every network, draw the figure into ``out``, return the numbers.

    ``units`` and ``init_std`` add the exercises' networks (see the module's text).
    """
    out = Path(out or OUT)
    out.mkdir(parents=True, exist_ok=True)
    x, y = ff.data.load_dataset("digits")
    s = ff.data.train_val_test_split(x, y, val=0.2, test=0.2, seed=0)
    reports = {name: ff.diagnostics.check(make, s.x_train, s.y_train, subset=SUBSET,
                                          max_steps=MAX_STEPS, lr_steps=100 if quick else 200)
               for name, make in networks(units, init_std).items()}
    subset = s.x_train[:SUBSET], s.y_train[:SUBSET]
    curves = {name: overfit_curve(make(), *subset, 100 if quick else MAX_STEPS)
              for name, make in NETWORKS.items() if name != "wild init (std 3)"}

    rate = reports["sound (128, 64)"].recommended_learning_rate
    model = network(learning_rate=rate)
    history = model.fit(s.x_train, s.y_train, epochs=10 if quick else 20, batch_size=32,
                        validation_data=(s.x_val, s.y_val), verbose=0).history
    results = {
        "steps": {name: {st.name: st.passed for st in r.steps} for name, r in reports.items()},
        "passed": {name: r.passed for name, r in reports.items()},
        "initial_loss": {name: r["initial_loss"].evidence["loss"] for name, r in reports.items()},
        "overfit_loss": {name: r["overfit_small_subset"].evidence["loss"]
                         for name, r in reports.items()},
        "gradient_error": {name: r["gradient_check"].evidence.get("relative_error")
                           for name, r in reports.items()},
        "recommended_learning_rate": rate,
        "one_unit_classes": predicted_classes(NETWORKS["too small (1 unit)"], *subset,
                                              MAX_STEPS),
        "val_accuracy": history["val_accuracy"][-1],
        "test_accuracy": model.evaluate(s.x_test, s.y_test)[1],
    }
    path = out / "12-sanity-recipe.png"
    _plot(path, curves, reports["sound (128, 64)"], history)
    _report(results, reports)
    print(f"Figure: {path}")
    return results


def _plot(path, curves, report, history):
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    ax = axes[0]
    for name, losses in curves.items():
        ax.plot(np.arange(1, len(losses) + 1), losses, label=name)
    ax.axhline(0.05, ls=":", c="gray", label="the recipe's target 0.05")
    ax.set(yscale="log", xlabel="full-batch step", ylabel="loss on the subset",
           title=f"overfit {SUBSET} samples")
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.plot(report.lr_curve["learning_rate"], report.lr_curve["loss"])
    rate = report.recommended_learning_rate
    ax.axvline(rate, ls="--", c="gray", label=f"recommended {rate:.2g}")
    ax.set(xscale="log", xlabel="learning rate", ylabel="smoothed loss",
           title="learning-rate range test")
    ax.legend(fontsize=8)
    ax = axes[2]
    epochs = np.arange(1, len(history["loss"]) + 1)
    ax.plot(epochs, history["accuracy"], label="training")
    ax.plot(epochs, history["val_accuracy"], label="validation")
    ax.set(xlabel="epoch", ylabel="accuracy", title=f"training at the recommended {rate:.2g}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=70)
    plt.close(fig)


def _report(r, reports):
    for name, report in reports.items():
        print(f"{name}: {'all steps pass' if report.passed else 'some steps fail'}")
        for step in report.steps:
            print(f"  {step}")
    count, accuracy = r["one_unit_classes"]
    print(f"After {MAX_STEPS} steps on the {SUBSET} samples the one-unit network predicts "
          f"{count} distinct classes (accuracy {accuracy:.1%} on them).")
    print(f"Training the sound network at the recommended rate "
          f"{r['recommended_learning_rate']:.2g}: validation accuracy {r['val_accuracy']:.1%}, "
          f"test accuracy {r['test_accuracy']:.1%}.")


def options(argv=None) -> dict:
    """The command line's options as keyword arguments of :func:`main`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help=f"folder for the figure (default {OUT})")
    parser.add_argument("--quick", action="store_true", help="a shorter run (for tests)")
    parser.add_argument("--units", type=int, nargs="+", default=(), metavar="N",
                        help="also check networks of one hidden layer of N units (exercise)")
    parser.add_argument("--init-std", type=float, nargs="+", default=(), metavar="S",
                        help="also check normal initial weights of standard deviation S")
    return vars(parser.parse_args(argv))


if __name__ == "__main__":
    try:
        main(**options())
    except ff.FeedforwardError as error:  # a flag's value the library refuses: say which
        raise SystemExit(f"{Path(__file__).name}: error: {error}") from None
