"""Underfitting, overfitting and regularization: L1 against L2, dropout, early stopping.

A network learns scikit-learn's digits from only 150 training images and is judged on 539
others (the validation set):

- too small (2 hidden units), it underfits: the loss stays high on the training set too;
- large (128 hidden units) and unregularized, it overfits: the training loss goes to zero while
  the validation loss reaches its minimum early and then climbs;
- L2 (``l2 * sum w^2``) and dropout restrain it; early stopping (``EarlyStopping`` with
  ``restore_best_weights``) keeps the weights of the epoch where the validation loss turned;
- L1 (``l1 * sum |w|``) against L2 of the same strength: L1 pushes most weights to (nearly)
  zero, L2 only shrinks them. Plain SGD shows it best, so that pair is trained with SGD.

Run: python examples/guide/10_regularization.py [--out DIR] [--quick]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import feedforward as ff  # noqa: E402

TRAIN = 150
ZERO = 1e-3  # |w| below this counts as zero: subgradient steps hover near 0 rather than on it


def data():
    """150 training and 539 validation digits (stratified), pixels scaled to [0, 1]."""
    x, y = ff.data.load_dataset("digits")
    s = ff.data.train_val_test_split(x / 16.0, y, val=0.3, test=0.5, seed=0)
    return s.x_train[:TRAIN], s.y_train[:TRAIN], s.x_val, s.y_val


def network(units=128, regularizer=None, dropout=0.0, optimizer=None):
    """64 inputs, ``units`` ReLU units (then optional dropout), 10 softmax outputs; seed 0."""
    layers = [ff.Dense(units, activation="relu", kernel_initializer="he_normal",
                       kernel_regularizer=regularizer)]
    if dropout:
        layers.append(ff.Dropout(dropout))
    layers.append(ff.Dense(10, activation="softmax", kernel_regularizer=regularizer))
    model = ff.Sequential(layers, input_dim=64, seed=0)
    model.compile(optimizer or ff.optimizers.Adam(0.01), "categorical_crossentropy",
                  ["accuracy"])
    return model


def fit(model, train, val, epochs, callbacks=None):
    """Train with mini-batches of 32; returns the History's dict of per-epoch lists."""
    return model.fit(*train, epochs=epochs, batch_size=32, validation_data=val, verbose=0,
                     callbacks=callbacks).history


def main(out=".", quick=False) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    x, y, x_val, y_val = data()
    train, val = (x, y), (x_val, y_val)
    epochs = 40 if quick else 60

    small = fit(network(units=2), train, val, epochs)
    runs = {"no regularization": fit(network(), train, val, epochs),
            "L2 (3e-4)": fit(network(regularizer=ff.regularizers.L2(3e-4)), train, val, epochs),
            "dropout (0.5)": fit(network(dropout=0.5), train, val, epochs)}
    stopper = ff.callbacks.EarlyStopping(patience=5, restore_best_weights=True)
    stopped = network()
    fit(stopped, train, val, epochs, [stopper])

    sgd_epochs = 100 if quick else 150
    kernels = {}
    for name, reg in (("L1", ff.regularizers.L1(1e-3)), ("L2", ff.regularizers.L2(1e-3))):
        model = network(regularizer=reg, optimizer=ff.optimizers.SGD(0.1))
        fit(model, train, val, sgd_epochs)
        kernels[name] = model.layers[0].params["kernel"].ravel().copy()

    plain = np.array(runs["no regularization"]["val_loss"])
    results = {
        "epochs": epochs,
        "small_train_accuracy": small["accuracy"][-1],
        "small_val_accuracy": small["val_accuracy"][-1],
        "plain_train_accuracy": runs["no regularization"]["accuracy"][-1],
        "plain_train_loss": runs["no regularization"]["loss"][-1],
        "final_val_loss": {k: r["val_loss"][-1] for k, r in runs.items()},
        "final_val_accuracy": {k: r["val_accuracy"][-1] for k, r in runs.items()},
        "plain_best_epoch": int(plain.argmin()) + 1,  # epochs counted from 1
        "plain_best_val_loss": float(plain.min()),
        "early_stopping_stopped_epoch": stopper.stopped_epoch + 1,
        "early_stopping_val_loss": float(stopped.evaluate(x_val, y_val)[0]),
        "zero_fraction": {k: float((np.abs(w) < ZERO).mean()) for k, w in kernels.items()},
    }
    _plot(out / "10-regularization.png", small, runs, results, kernels)
    _report(results)
    return results


def _plot(path, small, runs, r, kernels):
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.9))
    ax = axes[0]
    plain = runs["no regularization"]
    for name, h, color in (("2 hidden units", small, "C3"), ("128 hidden units", plain, "C0")):
        ax.plot(np.arange(1, len(h["loss"]) + 1), h["loss"], "--", color=color,
                label=f"{name}: training")
        ax.plot(np.arange(1, len(h["val_loss"]) + 1), h["val_loss"], color=color,
                label=f"{name}: validation")
    ax.set(yscale="log", xlabel="epoch", ylabel="loss", title="underfitting and overfitting")
    ax.legend(fontsize=8)
    ax = axes[1]
    for name, h in runs.items():
        ax.plot(np.arange(1, len(h["val_loss"]) + 1), h["val_loss"], label=name)
    ax.axvline(r["plain_best_epoch"], ls=":", c="gray",
               label=f"early stopping keeps epoch {r['plain_best_epoch']}")
    ax.set(xlabel="epoch", ylabel="validation loss", title="regularization", ylim=(0.2, 0.7))
    ax.legend(fontsize=8)
    ax = axes[2]
    bins = np.linspace(-0.4, 0.4, 81)
    for name, w in kernels.items():
        ax.hist(np.clip(w, bins[0], bins[-1]), bins=bins, alpha=0.6,
                label=f"{name}: {r['zero_fraction'][name]:.0%} of |w| < {ZERO:g}")
    ax.set(yscale="log", xlabel="first-layer weight", ylabel="count",
           title="L1 against L2 (SGD, same strength 1e-3)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _report(r):
    print(f"2 hidden units underfit: training accuracy {r['small_train_accuracy']:.1%}, "
          f"validation {r['small_val_accuracy']:.1%}.")
    print(f"128 hidden units, no regularization: training loss {r['plain_train_loss']:.4f} "
          f"(accuracy {r['plain_train_accuracy']:.0%}); validation loss lowest at epoch "
          f"{r['plain_best_epoch']} ({r['plain_best_val_loss']:.3f}), "
          f"{r['final_val_loss']['no regularization']:.3f} after {r['epochs']} epochs.")
    for name, loss in r["final_val_loss"].items():
        print(f"{name}: final validation loss {loss:.3f}, accuracy "
              f"{r['final_val_accuracy'][name]:.1%}.")
    print(f"Early stopping (patience 5) stopped after epoch {r['early_stopping_stopped_epoch']} "
          f"and restored the best weights: validation loss {r['early_stopping_val_loss']:.3f}.")
    z = r["zero_fraction"]
    print(f"First-layer weights with |w| < {ZERO:g}: L1 {z['L1']:.1%}, L2 {z['L2']:.1%}.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="folder for the figure")
    parser.add_argument("--quick", action="store_true", help="a shorter run (for tests)")
    args = parser.parse_args()
    main(args.out, args.quick)
