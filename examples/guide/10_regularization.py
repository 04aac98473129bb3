"""Underfitting, overfitting and regularization: L1 against L2, dropout, early stopping.

A network learns scikit-learn's digits from only 150 training images and is judged on 539
others (the validation set):

- too small (2 hidden units), it underfits: the loss stays high on the training set too;
- large (128 hidden units) and unregularized, it overfits: the training loss goes to zero while
  the validation loss reaches its minimum early and then climbs;
- L2 (``l2 * sum w^2``) and dropout restrain it; early stopping (``EarlyStopping`` with
  ``restore_best_weights``) keeps the weights of the epoch where the validation loss turned;
- L1 (``l1 * sum |w|``) against L2 of the same strength: L1 pushes many weights to (nearly)
  zero, L2 only shrinks them. Plain SGD shows it best, so that pair is trained with SGD;
- L2 and weight decay: with plain SGD, L2 of strength l2 and a weight decay of 2 * l2 give the
  same weights; with Adam they do not (which is why AdamW exists).

The exercises' flags: ``--l1 S`` adds an L1 run of strength S to the L1/L2 pair;
``--patience P`` adds early stopping with that patience; ``--train N`` adds the unregularized
network trained on N images (at most 359) instead of 150.

Run: python examples/guide/10_regularization.py [--out DIR] [--quick] [--l1 S] [--patience P]
     [--train N]
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

TRAIN = 150
POOL = 359  # the training part of the split: the most images --train can use
PATIENCE = 5
ZERO = 1e-3  # |w| below this counts as zero: subgradient steps hover near 0 rather than on it
OUT = Path(tempfile.gettempdir()) / "feedforward-guide"


def data():
    """The training pool (359 digits) and 539 validation digits (stratified), pixels scaled to
    [0, 1]; the experiments use the first TRAIN images of the pool."""
    x, y = ff.data.load_dataset("digits")
    s = ff.data.train_val_test_split(x / 16.0, y, val=0.3, test=0.5, seed=0)
    return s.x_train, s.y_train, s.x_val, s.y_val


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


def early_stopping(train, val, epochs, patience):
    """Early stopping on the unregularized network: (stopped epoch counted from 1, the
    restored weights' validation loss)."""
    stopper = ff.callbacks.EarlyStopping(patience=patience, restore_best_weights=True)
    model = network()
    fit(model, train, val, epochs, [stopper])
    return stopper.stopped_epoch + 1, float(model.evaluate(*val)[0])


def first_kernel(regularizer, train, val, epochs):
    """The first layer's weights after plain SGD (rate 0.1) with ``regularizer``, flat."""
    model = network(regularizer=regularizer, optimizer=ff.optimizers.SGD(0.1))
    fit(model, train, val, epochs)
    return model.layers[0].params["kernel"].ravel().copy()


def l2_against_decay(train, l2=1e-3, epochs=3):
    """Largest weight difference between an L2 penalty of strength ``l2`` on every weight and
    bias, and a weight decay that shrinks them by the same fraction ``2 * rate * l2`` per step,
    after ``epochs`` epochs (same batches): {"SGD": SGD(weight_decay=2 * l2), "Adam":
    AdamW(weight_decay=2 * l2)}, each against its optimizer with the penalty."""
    def model(optimizer, reg=None):
        layers = [ff.Dense(units, activation=act, kernel_initializer="he_normal",
                           kernel_regularizer=reg, bias_regularizer=reg)
                  for units, act in ((128, "relu"), (10, "softmax"))]
        built = ff.Sequential(layers, input_dim=64, seed=0)
        built.compile(optimizer, "categorical_crossentropy")
        return built

    pairs = {"SGD": (ff.optimizers.SGD(0.1), ff.optimizers.SGD(0.1, weight_decay=2 * l2)),
             "Adam": (ff.optimizers.Adam(0.01), ff.optimizers.AdamW(0.01, weight_decay=2 * l2))}
    gaps = {}
    for name, (plain, decaying) in pairs.items():
        penalised, decayed = model(plain, ff.regularizers.L2(l2)), model(decaying)
        for m in (penalised, decayed):
            m.fit(*train, epochs=epochs, batch_size=32, shuffle=False, verbose=0)
        gaps[name] = max(float(np.abs(a - b).max()) for a, b in
                         zip(penalised.get_weights(), decayed.get_weights(), strict=True))
    return gaps


def main(out=None, quick=False, l1=None, patience=None, train=None) -> dict:
    """Run every experiment, draw the figure into ``out`` and return the measured numbers.

    ``l1``, ``patience`` and ``train`` add the exercises' runs (see the module's text).
    """
    out = Path(out or OUT)
    out.mkdir(parents=True, exist_ok=True)
    x, y, x_val, y_val = data()
    small_train, val = (x[:TRAIN], y[:TRAIN]), (x_val, y_val)
    epochs = 40 if quick else 60

    small = fit(network(units=2), small_train, val, epochs)
    runs = {"no regularization": fit(network(), small_train, val, epochs),
            "L2 (3e-4)": fit(network(regularizer=ff.regularizers.L2(3e-4)), small_train, val,
                             epochs),
            "dropout (0.5)": fit(network(dropout=0.5), small_train, val, epochs)}
    stopped_epoch, stopped_loss = early_stopping(small_train, val, epochs, PATIENCE)

    sgd_epochs = 100 if quick else 150
    strengths = {"L1": ff.regularizers.L1(1e-3), "L2": ff.regularizers.L2(1e-3)}
    if l1 is not None:
        strengths[f"L1 ({l1:g})"] = ff.regularizers.L1(l1)
    kernels = {name: first_kernel(reg, small_train, val, sgd_epochs)
               for name, reg in strengths.items()}

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
        "early_stopping_stopped_epoch": stopped_epoch,
        "early_stopping_val_loss": stopped_loss,
        "zero_fraction": {k: float((np.abs(w) < ZERO).mean()) for k, w in kernels.items()},
        "l2_against_decay": l2_against_decay(small_train),
    }
    if patience is not None:
        results["patience"] = dict(zip(("stopped_epoch", "val_loss"),
                                       early_stopping(small_train, val, epochs, patience),
                                       strict=True))
    if train is not None:
        more = np.array(fit(network(), (x[:train], y[:train]), val, epochs)["val_loss"])
        results["more_data"] = {"train": train, "best_val_loss": float(more.min())}
    path = out / "10-regularization.png"
    _plot(path, small, runs, results, kernels)
    _report(results)
    print(f"Figure: {path}")
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
    ax.set(yscale="log", xlabel="epoch", ylabel="loss J", title="underfitting and overfitting")
    ax.legend(fontsize=8)
    ax = axes[1]
    for name, h in runs.items():
        ax.plot(np.arange(1, len(h["val_loss"]) + 1), h["val_loss"], label=name)
    ax.axvline(r["plain_best_epoch"], ls=":", c="gray",
               label=f"early stopping keeps epoch {r['plain_best_epoch']}")
    ax.set(xlabel="epoch", ylabel="validation loss", title="regularization", ylim=(0.2, 0.7))
    ax.legend(fontsize=8)
    ax = axes[2]
    # every weight inside the range (no clipping), and a bin centred on zero
    edge = max(np.abs(kernels["L1"]).max(), np.abs(kernels["L2"]).max())
    bins = np.linspace(-edge, edge, 102)
    for name in ("L1", "L2"):
        ax.hist(kernels[name], bins=bins, alpha=0.6,
                label=f"{name}: {r['zero_fraction'][name]:.1%} of |w| < {ZERO:g}")
    ax.set(yscale="log", xlabel="first-layer weight", ylabel="count",
           title="L1 against L2 (SGD, same strength 1e-3)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=70)
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
    print(f"Early stopping (patience {PATIENCE}) stopped after epoch "
          f"{r['early_stopping_stopped_epoch']} and restored the best weights: validation loss "
          f"{r['early_stopping_val_loss']:.3f}.")
    print("First-layer weights with |w| < 0.001: " + ", ".join(
        f"{k} {v:.1%}" for k, v in r["zero_fraction"].items()) + ".")
    gap = r["l2_against_decay"]
    print(f"L2 against weight decay, largest weight difference after 3 epochs: SGD "
          f"{gap['SGD']:.1e}, Adam against AdamW {gap['Adam']:.1e}.")
    if "patience" in r:
        p = r["patience"]
        print(f"--patience: stopped after epoch {p['stopped_epoch']}, validation loss "
              f"{p['val_loss']:.3f}.")
    if "more_data" in r:
        m = r["more_data"]
        print(f"--train {m['train']}: lowest validation loss {m['best_val_loss']:.3f}.")


def options(argv=None) -> dict:
    """The command line's options as keyword arguments of :func:`main`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help=f"folder for the figure (default {OUT})")
    parser.add_argument("--quick", action="store_true", help="a shorter run (for tests)")
    parser.add_argument("--l1", type=float, metavar="S", help="also train with L1 of strength S")
    parser.add_argument("--patience", type=int, metavar="P",
                        help="also stop early with patience P")
    parser.add_argument("--train", type=int, metavar="N",
                        help="also train the unregularized network on N images (at most 359)")
    args = parser.parse_args(argv)
    if args.train is not None and not TRAIN <= args.train <= POOL:
        parser.error(f"--train: expected a number of images from {TRAIN} to {POOL}, got "
                     f"{args.train}")
    return vars(args)


if __name__ == "__main__":
    try:
        main(**options())
    except ff.FeedforwardError as error:  # a flag's value the library refuses: say which
        raise SystemExit(f"{Path(__file__).name}: error: {error}") from None
