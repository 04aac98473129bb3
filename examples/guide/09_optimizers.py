"""Optimizers compared on MNIST: training loss against iterations, as in the Adam paper.

Kingma & Ba (2015), figure 2, trains a multilayer network on MNIST with several optimizers and
plots the training cost against the iterations. This script does the same at a smaller scale:
one MLP (784 inputs, two hidden ReLU layers, 10 softmax outputs), the same initial weights and
the same sequence of mini-batches of 128 for each of ten optimizers, each at a commonly used
learning rate (the optimizer's default, or a usual value for plain SGD). It plots the loss on the
training set against the iterations and prints the ranking at the end.

The data: the MNIST test set in ../shared/datasets/mnist (relative to the project root), read by
``ff.data.load_mnist``, from which a stratified subset is taken; where that folder is absent,
scikit-learn's 8x8 digits stand in (the script says so).

``--quick`` (the tests) averages the images down to 14x14 pixels over 2x2 blocks and trains a
smaller network on fewer images for fewer iterations.

Run: python examples/guide/09_optimizers.py [--out DIR] [--quick]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import feedforward as ff  # noqa: E402

MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "mnist"
BATCH = 128
opt = ff.optimizers
OPTIMIZERS = {
    "SGD": lambda: opt.SGD(0.05),
    "momentum": lambda: opt.SGD(0.05, momentum=0.9),
    "Nesterov": lambda: opt.SGD(0.05, momentum=0.9, nesterov=True),
    "AdaGrad": lambda: opt.Adagrad(0.01),
    "AdaDelta": lambda: opt.Adadelta(1.0),
    "RMSProp": lambda: opt.RMSprop(0.001),
    "Adam": lambda: opt.Adam(0.001),
    "AdaMax": lambda: opt.Adamax(0.002),
    "NAdam": lambda: opt.Nadam(0.002),
    "AMSGrad": lambda: opt.AMSGrad(0.001),
}
ADAPTIVE = ("AdaGrad", "AdaDelta", "RMSProp", "Adam", "AdaMax", "NAdam", "AMSGrad")


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


def train(make_optimizer, x, y, iterations, hidden):
    """Mini-batch training of a fresh MLP (seed 0; batches in the same order for every call).

    Returns the loss of each mini-batch before its update, shape (iterations,), and the loss
    on all of (x, y) at the end.
    """
    model = ff.Sequential([ff.Dense(hidden, activation="relu", kernel_initializer="he_normal"),
                           ff.Dense(hidden, activation="relu", kernel_initializer="he_normal"),
                           ff.Dense(10, activation="softmax")], input_dim=x.shape[1], seed=0)
    model.compile(make_optimizer(), "categorical_crossentropy")
    batches = ff.data.BatchIterator(x, y, BATCH, shuffle=True, rng=0)
    losses = []
    while len(losses) < iterations:
        for xb, yb in batches:
            losses.append(model.train_on_batch(xb, yb))
            if len(losses) == iterations:
                break
    return np.array(losses), model.evaluate(x, y)


def smooth(losses, window):
    """Mean of each run of ``window`` consecutive values: shape (len(losses) // window,)."""
    n = len(losses) // window * window
    return losses[:n].reshape(-1, window).mean(axis=1)


def main(out=".", quick=False, folder=MNIST) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # quick: 14x14 images (2x2 means), a quarter of the work per step
    samples, iterations, hidden, pool = (2000, 200, 32, 2) if quick else (8000, 500, 64, 1)
    x, y, source = load(samples, folder, pool)
    runs = {name: train(make, x, y, iterations, hidden) for name, make in OPTIMIZERS.items()}
    curves = {name: losses for name, (losses, _) in runs.items()}
    final = {name: float(loss) for name, (_, loss) in runs.items()}
    ranking = sorted(final, key=final.get)
    results = {"source": source, "samples": len(x), "iterations": iterations, "hidden": hidden,
               "initial_loss": float(curves["SGD"][0]), "final_loss": final, "ranking": ranking}
    _plot(out / "09-optimizers.png", curves, iterations, source, len(x))
    _report(results)
    return results


def _plot(path, curves, iterations, source, samples):
    fig, ax = plt.subplots(figsize=(8, 4.8))
    window = iterations // 40  # mini-batch losses are noisy: plot means over windows
    steps = (np.arange(iterations // window) + 0.5) * window
    colors = plt.get_cmap("tab10").colors
    for (name, losses), color in zip(curves.items(), colors, strict=True):
        ax.plot(steps, smooth(losses, window), "-" if name in ADAPTIVE else "--", color=color,
                label=name)
    ax.set(yscale="log", xlabel=f"iterations (mini-batches of {BATCH})",
           ylabel=f"training loss (mean over {window} mini-batches)",
           title=f"{source}: {samples} training images, MLP with two hidden ReLU layers")
    ax.legend(ncol=2, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _report(r):
    print(f"{r['source']}, {r['samples']} training images, two hidden layers of {r['hidden']} "
          f"ReLU units, {r['iterations']} iterations of {BATCH}; starting loss "
          f"{r['initial_loss']:.3f}.")
    print("Ranking by final training loss (lowest first): " + ", ".join(
        f"{name} {r['final_loss'][name]:.4f}" for name in r["ranking"]) + ".")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="folder for the figure")
    parser.add_argument("--quick", action="store_true", help="a shorter run (for tests)")
    args = parser.parse_args()
    main(args.out, args.quick)
