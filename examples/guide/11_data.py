"""Data: feature scaling, augmentation and the 60 / 20 / 20 split.

1. Feature scaling. scikit-learn's wine data has 13 features whose spreads run from 0.12
   (hue) to 314 (proline). Gradient descent on the raw features must use a rate small enough
   for the largest one, and then barely moves the others. The same network is trained with
   plain SGD at six rates, on raw features and through ``ff.data.StandardScaler`` (zero mean,
   unit variance), and the best loss of each is compared.
2. Augmentation. Mirrored, rotated and translated copies of digits (``ff.data.mirror``,
   ``rotate``, ``translate`` and the random ``ff.data.Augmenter``). A network trained on 8x8
   digits without augmentation fails on test digits moved by one pixel; one trained with
   ``fit(augment=Augmenter(translation=1))`` recognises them.
3. The split. ``ff.data.train_val_test_split`` makes a stratified 60 / 20 / 20 split: train
   on the first part, choose hyperparameters on the second, report the third once.

The picture of augmented digits uses MNIST from ../shared/datasets/mnist where present, else
scikit-learn's 8x8 digits.

Run: python examples/guide/11_data.py [--out DIR] [--quick]
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
RATES = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
SHIFT = (1, 1)  # one pixel down and one right


def scaling(epochs):
    """Final training loss on wine at each rate, raw and standardized: two lists like RATES."""
    x, y = ff.data.load_dataset("wine")

    def final_loss(rate, scaler):
        model = ff.Sequential([ff.Dense(16, activation="tanh"),
                               ff.Dense(3, activation="softmax")], seed=0, preprocessing=scaler)
        model.compile(ff.optimizers.SGD(rate), "categorical_crossentropy")
        try:
            return model.fit(x, y, epochs=epochs, batch_size=16, verbose=0).history["loss"][-1]
        except ff.FeedforwardError:  # diverged: the model says so and stops
            return float("inf")

    raw = [final_loss(r, None) for r in RATES]
    scaled = [final_loss(r, ff.data.StandardScaler()) for r in RATES]
    return raw, scaled, x.std(axis=0)


def augmentation(epochs):
    """Test accuracy on digits as they are and moved by SHIFT, for a network trained without
    and with random one-pixel translations: {"plain" | "augmented": (accuracy, shifted)}."""
    x, y = ff.data.load_dataset("digits")
    s = ff.data.train_val_test_split(x / 16.0, y, val=0.0, test=0.3, seed=0)
    shifted = ff.data.translate(s.x_test, SHIFT, image_shape=(8, 8))
    out = {}
    for name, augment in (("plain", None),
                          ("augmented", ff.data.Augmenter(image_shape=(8, 8), translation=1))):
        model = ff.Sequential([ff.Dense(64, activation="relu"),
                               ff.Dense(10, activation="softmax")], seed=0)
        model.compile(ff.optimizers.Adam(0.003), "categorical_crossentropy", ["accuracy"])
        model.fit(s.x_train, s.y_train, epochs=epochs, batch_size=32, verbose=0, augment=augment)
        out[name] = (model.evaluate(s.x_test, s.y_test)[1], model.evaluate(shifted, s.y_test)[1])
    return out


def split():
    """The 60 / 20 / 20 split of digits: sizes, and each part's class shares."""
    x, y = ff.data.load_dataset("digits")
    s = ff.data.train_val_test_split(x, y, val=0.2, test=0.2, seed=0)
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


def main(out=".", quick=False) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    raw, scaled, spread = scaling(epochs=30 if quick else 50)
    accuracy = augmentation(epochs=15 if quick else 30)
    sizes, shares, overall = split()
    images, source = example_images()
    results = {
        "feature_std_range": (float(spread.min()), float(spread.max())),
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
    _plot_scaling(out / "11-scaling.png", raw, scaled)
    _plot_augmentation(out / "11-augmentation.png", images, source)
    _report(results)
    return results


def _plot_scaling(path, raw, scaled):
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.plot(RATES, raw, "o-", label="raw features")
    ax.plot(RATES, scaled, "o-", label="standardized (StandardScaler)")
    ax.set(xscale="log", yscale="log", xlabel="learning rate (SGD)",
           ylabel="training loss after the run", title="wine: feature scaling")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
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
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _report(r):
    lo, hi = r["feature_std_range"]
    print(f"Wine features' standard deviations run from {lo:.2f} to {hi:.0f}. Best training "
          f"loss over rates {', '.join(f'{x:g}' for x in RATES)}: raw {r['best_raw_loss']:.3f}, "
          f"standardized {r['best_scaled_loss']:.4f}.")
    for name, (plain, moved) in r["accuracy"].items():
        print(f"Digits, {name} training: test accuracy {plain:.1%}; test digits moved by "
              f"{SHIFT}: {moved:.1%}.")
    print(f"60/20/20 split of {sum(r['split_sizes'].values())} digits: {r['split_sizes']}; each "
          f"class's share differs from the whole set's by at most "
          f"{r['max_class_share_difference']:.4f}.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="folder for the figures")
    parser.add_argument("--quick", action="store_true", help="a shorter run (for tests)")
    args = parser.parse_args()
    main(args.out, args.quick)
