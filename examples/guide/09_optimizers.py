"""Optimizers compared: paths on a 2-D loss surface, and training loss on MNIST.

1. One loss surface of two weights, ``J(a, b) = a^2 / 20 + b^2``: a long, narrow bowl (its
   curvature along b is 20 times that along a). Six optimizers start at the same point; their
   paths show the ideas of the update rules: plain SGD crawls along the valley, momentum
   builds up speed (and overshoots), Adam's first steps have the same length in every
   coordinate whatever the gradient.
2. Kingma & Ba (2015), figure 2, trains a multilayer network on MNIST with several optimizers
   and plots the training cost against the iterations. This script does the same at a smaller
   scale: one MLP (784 inputs, two hidden ReLU layers, 10 softmax outputs), the same initial
   weights and the same sequence of mini-batches of 128 for each of ten optimizers, each at a
   commonly used learning rate (the optimizer's default, or a usual value for plain SGD). It
   plots the loss on the whole training set every few iterations and prints the ranking.

The data: the MNIST test set in ../shared/datasets/mnist (relative to the project root), read by
``ff.data.load_mnist``, from which a stratified subset is taken; where that folder is absent,
scikit-learn's 8x8 digits stand in (the script says so). ``--quick`` (the tests) averages the
images down to 14x14 pixels over 2x2 blocks and trains a smaller network on fewer images for
fewer iterations.

The exercises' flags: ``--momentum B`` sets the momentum of the "momentum" optimizer (in both
parts; 0.9 otherwise); ``--surface-rate R`` sets the SGD family's rate on the surface (0.3).

Run: python examples/guide/09_optimizers.py [--out DIR] [--quick] [--momentum B]
     [--surface-rate R]
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

MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "mnist"
OUT = Path(tempfile.gettempdir()) / "feedforward-guide"
BATCH = 128
MOMENTUM = 0.9
opt = ff.optimizers


def optimizers(momentum=MOMENTUM) -> dict:
    """name -> a function making that optimizer at its rate for MNIST."""
    return {
        "SGD": lambda: opt.SGD(0.05),
        "momentum": lambda: opt.SGD(0.05, momentum=momentum),
        "Nesterov": lambda: opt.SGD(0.05, momentum=MOMENTUM, nesterov=True),
        "AdaGrad": lambda: opt.Adagrad(0.01),
        "AdaDelta": lambda: opt.Adadelta(1.0),
        "RMSProp": lambda: opt.RMSprop(0.001),
        "Adam": lambda: opt.Adam(0.001),
        "AdaMax": lambda: opt.Adamax(0.002),
        "NAdam": lambda: opt.Nadam(0.002),
        "AMSGrad": lambda: opt.AMSGrad(0.001),
    }


OPTIMIZERS = tuple(optimizers())
SGD_FAMILY = ("SGD", "momentum", "Nesterov")
ADAPTIVE = ("AdaGrad", "AdaDelta", "RMSProp", "Adam", "AdaMax", "NAdam", "AMSGrad")

# ---------------------------------------------------------------------------- the surface
START = (-8.0, 2.0)
SURFACE_STEPS = 60


def surface(w):
    """J(a, b) = a^2 / 20 + b^2 for w = (a, b); w may carry more axes after the first."""
    return w[0] ** 2 / 20 + w[1] ** 2


def surface_gradient(w):
    """(dJ/da, dJ/db) = (a / 10, 2 b), shape (2,)."""
    return np.array([w[0] / 10, 2 * w[1]])


def surface_optimizers(rate=0.3, momentum=MOMENTUM) -> dict:
    """The six optimizers drawn on the surface: the SGD family at ``rate``, three adaptive."""
    return {
        "SGD": opt.SGD(rate),
        "momentum": opt.SGD(rate, momentum=momentum),
        "Nesterov": opt.SGD(rate, momentum=MOMENTUM, nesterov=True),
        "AdaGrad": opt.Adagrad(1.0),
        "RMSProp": opt.RMSprop(0.1),
        "Adam": opt.Adam(0.3),
    }


def surface_paths(rate=0.3, momentum=MOMENTUM) -> dict:
    """name -> the path of each of :func:`surface_optimizers` (see :func:`path`)."""
    return {name: path(o) for name, o in surface_optimizers(rate, momentum).items()}


def path(optimizer, steps=SURFACE_STEPS):
    """The weights (a, b) before and after each of ``steps`` updates: shape (steps + 1, 2)."""
    w = np.array(START)
    points = [w.copy()]
    for _ in range(steps):
        optimizer.apply([w], [surface_gradient(w)])  # the library's update, in place
        points.append(w.copy())
    return np.array(points)


# ---------------------------------------------------------------------------- MNIST
def load(samples, folder=MNIST, pool=1):
    """A stratified subset of ``samples`` images as rows scaled to [0, 1], and its labels.

    Returns x (samples, 784 / pool^2) and y (samples,) from MNIST when ``folder`` holds it,
    MNIST images being averaged over ``pool`` x ``pool`` blocks; else x (samples, 64) from
    scikit-learn's digits. And the name of the source.
    """
    if folder.is_dir():
        images, y = ff.data.load_mnist(folder, kind="test")
        side = 28 // pool
        images = images.reshape(len(images), side, pool, side, pool).mean(axis=(2, 4))
        x, source = images.reshape(len(images), -1) / 255.0, "MNIST"
    else:
        print(f"Note: no MNIST files in {folder}; using scikit-learn's 8x8 digits instead.")
        x, y = ff.data.load_dataset("digits")
        x, source = x / 16.0, "digits"
    samples = min(samples, len(x))
    if samples < len(x):  # a stratified split's training part is the subset
        rest = 1 - samples / len(x)
        x, _, _, y, _, _ = ff.data.train_val_test_split(x, y, val=0.0, test=rest, seed=0)
    return x.astype(np.float32), y, source


def train(make_optimizer, x, y, iterations, hidden, every):
    """Mini-batch training of a fresh MLP (seed 0; batches in the same order for every call).

    Returns the loss on all of (x, y) before the first update and after every ``every``
    updates, shape (iterations // every + 1,); its last entry is the loss at the end.
    """
    model = ff.Sequential([ff.Dense(hidden, activation="relu", kernel_initializer="he_normal"),
                           ff.Dense(hidden, activation="relu", kernel_initializer="he_normal"),
                           ff.Dense(10, activation="softmax")], input_dim=x.shape[1], seed=0)
    model.compile(make_optimizer(), "categorical_crossentropy")
    batches = ff.data.BatchIterator(x, y, BATCH, shuffle=True, rng=0)
    losses, done = [model.evaluate(x, y)], 0
    while done < iterations:
        for xb, yb in batches:
            model.train_on_batch(xb, yb)
            done += 1
            if done % every == 0:
                losses.append(model.evaluate(x, y))
            if done == iterations:
                break
    return np.array(losses)


def main(out=None, quick=False, folder=MNIST, momentum=MOMENTUM, surface_rate=0.3) -> dict:
    """Draw the paths and train the ten optimizers; figures go to ``out``.

    ``momentum`` is the "momentum" optimizer's; ``surface_rate`` the SGD family's rate on the
    surface. Returns the measured numbers.
    """
    out = Path(out or OUT)
    out.mkdir(parents=True, exist_ok=True)
    paths = surface_paths(surface_rate, momentum)

    # quick: 14x14 images (2x2 means), a quarter of the work per step
    samples, iterations, hidden, pool = (2000, 200, 32, 2) if quick else (8000, 500, 64, 1)
    every = iterations // 20
    x, y, source = load(samples, folder, pool)
    curves = {name: train(make, x, y, iterations, hidden, every)
              for name, make in optimizers(momentum).items()}
    final = {name: float(c[-1]) for name, c in curves.items()}
    results = {"source": source, "samples": len(x), "iterations": iterations, "hidden": hidden,
               "initial_loss": float(curves["SGD"][0]), "final_loss": final,
               "ranking": sorted(final, key=final.get), "curves": curves,
               "paths": paths, "surface_final": {k: float(surface(p[-1])) for k, p in
                                                  paths.items()}}
    figures = out / "09-trajectories.png", out / "09-optimizers.png"
    _plot_paths(figures[0], paths, surface_rate)
    _plot_curves(figures[1], curves, every, source, len(x))
    _report(results)
    print(f"Figures: {figures[0]}, {figures[1]}")
    return results


def _plot_paths(path_, paths, rate):
    fig, axes = plt.subplots(2, 3, figsize=(11, 5.6), sharex=True, sharey=True)
    a, b = np.meshgrid(np.linspace(-9, 9, 200), np.linspace(-3, 3, 120))
    levels = surface(np.array([a, b]))
    for ax, (name, p) in zip(axes.flat, paths.items(), strict=True):
        ax.contour(a, b, levels, levels=np.geomspace(0.01, 8, 10), colors="0.75",
                   linewidths=0.7)
        ax.plot(p[:, 0], p[:, 1], ".-", c="C0" if name in SGD_FAMILY else "C3", lw=1, ms=3)
        ax.plot(*START, "ks", ms=5)
        ax.plot(0, 0, "k*", ms=9)
        ax.set(title=f"{name}: J = {surface(p[-1]):.2g} after {len(p) - 1} steps",
               xlim=(-9, 9), ylim=(-3, 3))
        ax.title.set_fontsize(9)
    for ax in axes[1]:
        ax.set_xlabel("weight a")
    for ax in axes[:, 0]:
        ax.set_ylabel("weight b")
    fig.suptitle(f"J(a, b) = a²/20 + b², from the square to the star (SGD family at rate "
                 f"{rate:g}, momentum {MOMENTUM:g}; AdaGrad 1.0, RMSProp 0.1, Adam 0.3)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path_, dpi=70)
    plt.close(fig)


def _plot_curves(path, curves, every, source, samples):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    steps = np.arange(len(curves["SGD"])) * every
    styles = ["-o", "-s", "-^", "-v", "-D", "-x", "-+"]
    for ax, group in zip(axes, (SGD_FAMILY, ADAPTIVE), strict=True):
        if "SGD" not in group:  # plain SGD on both panels, as the reference
            ax.plot(steps, curves["SGD"], "--", c="0.5", label="SGD (reference)")
        for i, name in enumerate(group):
            ax.plot(steps, curves[name], styles[i], ms=3, lw=1.2, c=f"C{i}", label=name)
        ax.set(yscale="log", xlabel=f"iterations (mini-batches of {BATCH})")
        ax.legend(fontsize=8, ncol=2)
    axes[0].set(ylabel="loss J on all training images", title="the SGD family (rate 0.05)")
    axes[1].set(title="adaptive methods (their usual rates)")
    fig.suptitle(f"{source}: {samples} training images, MLP with two hidden ReLU layers",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=70)
    plt.close(fig)


def _report(r):
    print("On the surface J = a^2/20 + b^2 from (-8, 2), J after "
          f"{SURFACE_STEPS} steps: " + ", ".join(
              f"{k} {v:.2g}" for k, v in r["surface_final"].items()) + ".")
    print(f"{r['source']}, {r['samples']} training images, two hidden layers of {r['hidden']} "
          f"ReLU units, {r['iterations']} iterations of {BATCH}; starting loss "
          f"{r['initial_loss']:.3f}.")
    print("Ranking by final training loss (lowest first): " + ", ".join(
        f"{name} {r['final_loss'][name]:.4f}" for name in r["ranking"]) + ".")


def options(argv=None) -> dict:
    """The command line's options as keyword arguments of :func:`main`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help=f"folder for the figures (default {OUT})")
    parser.add_argument("--quick", action="store_true", help="a shorter run (for tests)")
    parser.add_argument("--momentum", type=float, default=MOMENTUM, metavar="B",
                        help="the momentum optimizer's momentum (exercises)")
    parser.add_argument("--surface-rate", type=float, default=0.3, metavar="R",
                        help="the SGD family's rate on the 2-D surface (exercise)")
    return vars(parser.parse_args(argv))


if __name__ == "__main__":
    try:
        main(**options())
    except ff.FeedforwardError as error:  # a flag's value the library refuses: say which
        raise SystemExit(f"{Path(__file__).name}: error: {error}") from None
