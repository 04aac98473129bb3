"""Data: feature scaling, augmentation and the 60 / 20 / 20 split.

1. Feature scaling. scikit-learn's wine data has 13 features whose spreads run from 0.12
   (nonflavanoid phenols) to 314 (proline). On the raw features almost every tanh unit starts
   saturated (its weighted sum is hundreds), so its gradient is nearly zero, and the network
   learns no more than the classes' frequencies. The same network is trained with plain SGD
   at six rates, on raw features and through ``ff.data.StandardScaler`` (zero mean, unit
   variance), and the best loss of each is compared.
2. Augmentation. Mirrored, rotated and translated copies of digits (``ff.data.mirror``,
   ``rotate``, ``translate`` and the random ``ff.data.Augmenter``). A network trained on 8x8
   digits without augmentation fails on test digits moved by one pixel; one trained with
   ``fit(augment=Augmenter(translation=1))`` recognises them.
3. The split. ``ff.data.train_val_test_split`` makes a stratified 60 / 20 / 20 split: train
   on the first part, choose hyperparameters on the second, report the third once.

The picture of augmented digits uses MNIST from ../shared/datasets/mnist where present, else
scikit-learn's 8x8 digits.

The exercises' flags: ``--activation NAME`` is the scaling experiment's hidden activation
(tanh); ``--shift DY DX`` moves the test digits (1 1); ``--translation T`` is the augmenter's
largest shift in pixels (1); ``--val V --test T`` are the split's shares (0.2 0.2).

Run: python examples/guide/11_data.py [--out DIR] [--quick] [--activation NAME]
     [--shift DY DX] [--translation T] [--val V] [--test T]
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

MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "mnist"
RATES = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
SHIFT = (1, 1)  # one pixel down and one right
SATURATED = 0.99  # |tanh(z)| above this: the unit's slope 1 - tanh^2 is below 0.02
OUT = Path(tempfile.gettempdir()) / "feedforward-guide"


def wine_network(activation="tanh", scaler=None):
    """13 wine features, 16 hidden units, 3 softmax outputs; seed 0 (the same initial weights
    whatever the scaling)."""
    return ff.Sequential([ff.Dense(16, activation=activation), ff.Dense(3, activation="softmax")],
                         input_dim=13, seed=0, preprocessing=scaler)


def saturation(x):
    """The share of (sample, unit) pairs whose initial tanh output is beyond SATURATED in size,
    on the raw inputs ``x`` (m, 13), and the share of units saturated on every sample."""
    kernel, bias = wine_network().get_weights()[:2]
    saturated = np.abs(np.tanh(x @ kernel + bias)) > SATURATED
    return float(saturated.mean()), float(saturated.all(axis=0).mean())


def class_entropy(y):
    """The loss of predicting every class's frequency for every sample: -sum p ln p."""
    p = np.bincount(y) / len(y)
    return float(-(p * np.log(p)).sum())


def scaling(epochs, activation="tanh"):
    """Final training loss on wine at each rate, raw and standardized: two lists like RATES;
    and the features' standard deviations (13,)."""
    x, y = ff.data.load_dataset("wine")

    def final_loss(rate, scaler):
        model = wine_network(activation, scaler)
        model.compile(ff.optimizers.SGD(rate), "categorical_crossentropy")
        try:
            return model.fit(x, y, epochs=epochs, batch_size=16, verbose=0).history["loss"][-1]
        except ff.FeedforwardError:  # diverged: the model says so and stops
            return float("inf")

    raw = [final_loss(r, None) for r in RATES]
    scaled = [final_loss(r, ff.data.StandardScaler()) for r in RATES]
    return raw, scaled, x.std(axis=0)


def augmentation(epochs, shift=SHIFT, translation=1):
    """Test accuracy on digits as they are and moved by ``shift`` (rows, columns), for a network
    trained without and with random translations of up to ``translation`` pixels:
    {"plain" | "augmented": (accuracy, shifted)}."""
    x, y = ff.data.load_dataset("digits")
    s = ff.data.train_val_test_split(x / 16.0, y, val=0.0, test=0.3, seed=0)
    shifted = ff.data.translate(s.x_test, tuple(shift), image_shape=(8, 8))
    out = {}
    augmenter = ff.data.Augmenter(image_shape=(8, 8), translation=translation)
    for name, augment in (("plain", None), ("augmented", augmenter)):
        model = ff.Sequential([ff.Dense(64, activation="relu"),
                               ff.Dense(10, activation="softmax")], seed=0)
        model.compile(ff.optimizers.Adam(0.003), "categorical_crossentropy", ["accuracy"])
        model.fit(s.x_train, s.y_train, epochs=epochs, batch_size=32, verbose=0, augment=augment)
        out[name] = (model.evaluate(s.x_test, s.y_test)[1], model.evaluate(shifted, s.y_test)[1])
    return out


def split(val=0.2, test=0.2):
    """The stratified split of digits with these shares: sizes, each part's class shares, and
    the whole set's."""
    x, y = ff.data.load_dataset("digits")
    s = ff.data.train_val_test_split(x, y, val=val, test=test, seed=0)
    parts = {"train": s.y_train, "val": s.y_val, "test": s.y_test}
    shares = {k: np.bincount(v, minlength=10) / len(v) for k, v in parts.items()}
    return {k: len(v) for k, v in parts.items()}, shares, np.bincount(y) / len(y)


def example_images(count=6):
    """``count`` images (count, h, w) in 0..1, of different classes, and their source's name."""
    if MNIST.is_dir():
        images, labels = ff.data.load_mnist(MNIST, kind="test")
        images, source = images / 255.0, "MNIST"
    else:
        x, labels = ff.data.load_dataset("digits")
        images, source = x.reshape(-1, 8, 8) / 16.0, "digits"
    first = [int(np.argmax(labels == k)) for k in range(count)]
    return images[first], source


def main(out=None, quick=False, activation="tanh", shift=SHIFT, translation=1, val=0.2,
         test=0.2) -> dict:
    """Run the three experiments, draw the figures into ``out``, return the measured numbers.

    The keyword arguments are the exercises' flags (see the module's text).
    """
    out = Path(out or OUT)
    out.mkdir(parents=True, exist_ok=True)
    raw, scaled, spread = scaling(30 if quick else 50, activation)
    accuracy = augmentation(15 if quick else 30, shift, translation)
    sizes, shares, overall = split(val, test)
    images, source = example_images()
    x, y = ff.data.load_dataset("wine")
    results = {
        "feature_std_range": (float(spread.min()), float(spread.max())),
        "feature_std_order": (int(spread.argmin()), int(spread.argmax())),
        "saturated_at_start": saturation(x),
        "class_entropy": class_entropy(y),
        "rates": list(RATES),
        "raw_loss": raw,
        "scaled_loss": scaled,
        "best_raw_loss": min(raw),
        "best_scaled_loss": min(scaled),
        "accuracy": accuracy,
        "split_sizes": sizes,
        "max_class_share_difference": float(max(np.abs(s - overall).max()
                                                for s in shares.values())),
        "image_source": source,
    }
    paths = out / "11-scaling.png", out / "11-augmentation.png"
    _plot_scaling(paths[0], raw, scaled, results["class_entropy"])
    _plot_augmentation(paths[1], images, source)
    _report(results, shift)
    print(f"Figures: {paths[0]}, {paths[1]}")
    return results


def _plot_scaling(path, raw, scaled, entropy):
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.plot(RATES, raw, "o-", label="raw features")
    ax.plot(RATES, scaled, "o-", label="standardized (StandardScaler)")
    ax.axhline(entropy, ls=":", c="gray", label=f"predicting the class frequencies ({entropy:.3f})")
    ax.set(xscale="log", yscale="log", xlabel="learning rate (SGD)",
           ylabel="training loss after the run", title="wine: feature scaling")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=70)
    plt.close(fig)


def _plot_augmentation(path, images, source):
    shape = images.shape[1:]
    dy = max(1, shape[0] // 8)  # a visible shift at any resolution
    rows = {
        "original": images,
        "mirror": ff.data.mirror(images),
        "rotate +20°": ff.data.rotate(images, 20),
        "rotate -20°": ff.data.rotate(images, -20),
        f"translate ({2 * dy}, {-2 * dy})": ff.data.translate(images, (2 * dy, -2 * dy)),
        "Augmenter (random)": ff.data.Augmenter(rotation=15, translation=2 * dy)(images, rng=0),
    }
    fig, axes = plt.subplots(len(rows), len(images), figsize=(1.2 * len(images), 1.25 * len(rows)))
    for i, (name, batch) in enumerate(rows.items()):
        for j, image in enumerate(batch):
            ax = axes[i, j]
            ax.imshow(image, cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[i, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(f"augmented {source} digits", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=70)
    plt.close(fig)


def _report(r, shift):
    lo, hi = r["feature_std_range"]
    pairs, units = r["saturated_at_start"]
    print(f"Wine features' standard deviations run from {lo:.2f} to {hi:.0f}. On the raw "
          f"features {pairs:.1%} of the (sample, unit) pairs start saturated, and {units:.0%} "
          f"of the units on every sample.")
    print(f"Best training loss over rates {', '.join(f'{x:g}' for x in RATES)}: raw "
          f"{r['best_raw_loss']:.3f} (predicting the class frequencies: "
          f"{r['class_entropy']:.3f}; ln 3 = {math.log(3):.3f}), standardized "
          f"{r['best_scaled_loss']:.4f}.")
    for name, (plain, moved) in r["accuracy"].items():
        print(f"Digits, {name} training: test accuracy {plain:.1%}; test digits moved by "
              f"{tuple(shift)}: {moved:.1%}.")
    print(f"Split of {sum(r['split_sizes'].values())} digits: {r['split_sizes']}; each "
          f"class's share differs from the whole set's by at most "
          f"{r['max_class_share_difference']:.4f}.")


def options(argv=None) -> dict:
    """The command line's options as keyword arguments of :func:`main`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help=f"folder for the figures (default {OUT})")
    parser.add_argument("--quick", action="store_true", help="a shorter run (for tests)")
    parser.add_argument("--activation", default="tanh",
                        help="the wine network's hidden activation (exercise)")
    parser.add_argument("--shift", type=int, nargs=2, default=SHIFT, metavar=("DY", "DX"),
                        help="move the test digits by DY rows and DX columns (exercise)")
    parser.add_argument("--translation", type=int, default=1, metavar="T",
                        help="the augmenter's largest shift in pixels (exercise)")
    parser.add_argument("--val", type=float, default=0.2, help="the validation share")
    parser.add_argument("--test", type=float, default=0.2, help="the test share")
    return vars(parser.parse_args(argv))


if __name__ == "__main__":
    try:
        main(**options())
    except ff.FeedforwardError as error:  # a flag's value the library refuses: say which
        raise SystemExit(f"{Path(__file__).name}: error: {error}") from None
