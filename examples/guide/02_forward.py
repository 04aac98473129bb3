"""Forward propagation in NumPy, step by step, checked against ``model.predict``.

For a batch X of shape (m, n), each Dense layer computes

    z = x . W + b      (m, in) . (in, out) + (out,)  ->  (m, out)
    a = f(z)           element by element (softmax: row by row)

and the output of one layer is the input of the next. We train a small 2-6-3 network
(ReLU hidden layer, softmax output) on three Gaussian clouds, take its weights with
``get_weights()``, redo the forward pass with nothing but NumPy, and compare with
``model.predict``. They agree to rounding, in float64 and in float32 (here exactly: the
library runs the same products in the same order).
The figure shows every intermediate array for five samples.

Run: python examples/guide/02_forward.py [--out DIR] [--quick] [--hidden H]
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

DEFAULT_OUT = Path(tempfile.gettempdir()) / "feedforward-guide"  # not the current folder

SHOWN = 5  # samples in the figure


def relu(z):
    return np.maximum(z, 0.0)


def softmax(z):
    # subtracting the row maximum changes nothing mathematically and keeps exp() finite
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def forward_by_hand(x, weights):
    """Every stage of the forward pass of the 2-6-3 network.

    Parameters
    ----------
    x : ndarray of shape (n, 2)
    weights : list ``[W1 (2, 6), b1 (6,), W2 (6, 3), b2 (3,)]`` as from ``get_weights()``

    Returns
    -------
    dict of the arrays X, Z1 = X W1 + b1, A1 = relu(Z1), Z2 = A1 W2 + b2, P = softmax(Z2)
    """
    W1, b1, W2, b2 = weights
    Z1 = x @ W1 + b1
    A1 = relu(Z1)
    Z2 = A1 @ W2 + b2
    return {"X": x, "Z1": Z1, "A1": A1, "Z2": Z2, "P": softmax(Z2)}


def trained_model(x, y, dtype, epochs, hidden=6):
    """A 2-``hidden``-3 classifier (ReLU, softmax), trained with Adam."""
    model = ff.Sequential([ff.Dense(hidden, activation="relu"), ff.Dense(3, activation="softmax")],
                          input_dim=2, seed=2, dtype=dtype)
    model.compile(optimizer=ff.optimizers.Adam(0.02), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    return model


def draw(stages, predicted, path):
    """Heat maps of X, Z1, A1, Z2, P by hand and model.predict, numbers written in."""
    titles = {"X": "X (input)", "Z1": "Z1 = X W1 + b1", "A1": "A1 = relu(Z1)",
              "Z2": "Z2 = A1 W2 + b2", "P": "P = softmax(Z2)"}
    panels = [(titles[k], v[:SHOWN]) for k, v in stages.items()]
    panels.append(("model.predict(X)", predicted[:SHOWN]))
    widths = [a.shape[1] for _, a in panels]
    fig, axes = plt.subplots(1, len(panels), figsize=(13, 3.2),
                             gridspec_kw={"width_ratios": widths})
    for ax, (title, a) in zip(axes, panels, strict=True):
        limit = max(np.abs(a).max(), 1e-9)
        ax.imshow(a, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        for (i, j), v in np.ndenumerate(a):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if abs(v) > 0.6 * limit else "black")
        ax.set_title(title, fontsize=9)
        ax.set_xticks(range(a.shape[1]))
        ax.set_yticks(range(a.shape[0]))
        ax.set_xlabel("unit")
    axes[0].set_xlabel("feature")
    axes[0].set_ylabel("sample")
    fig.suptitle("One forward pass, stage by stage (red positive, blue negative)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(out=DEFAULT_OUT, quick=False, hidden=6) -> dict:
    """Train, redo the forward pass by hand in float64 and float32, compare, draw.

    ``hidden`` is the number of hidden units (the figure shows 6 or fewer of them best).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    x, y = ff.data.blobs(n=300, noise=0.1, seed=0)
    epochs = 10 if quick else 40
    results = {}
    for dtype in ("float64", "float32"):
        model = trained_model(x, y, dtype, epochs, hidden)
        stages = forward_by_hand(x.astype(dtype), model.get_weights())  # the model's dtype
        predicted = model.predict(x)
        diff = float(np.abs(stages["P"] - predicted).max())
        results[dtype] = {"max_abs_difference": diff,
                          "accuracy": float(np.mean(predicted.argmax(axis=1) == y))}
        print(f"{dtype}: the NumPy forward pass and model.predict differ by at most {diff:.2e} "
              f"over {len(x)} samples (training accuracy {results[dtype]['accuracy']:.3f})")
        if dtype == "float32":  # the same pass on float64 inputs: NumPy computes in float64
            uncast = forward_by_hand(x.astype("float64"), model.get_weights())["P"]
            results["uncast_difference"] = float(np.abs(uncast - predicted).max())
            print(f"without the cast (float64 X, float32 weights) they differ by "
                  f"{results['uncast_difference']:.1e}: float32 keeps about 7 digits")
        if dtype == "float64":
            results["shapes"] = {k: v.shape for k, v in stages.items()}
            m, n = x.shape
            k = stages["P"].shape[1]
            results["multiplications"] = m * (n * hidden + hidden * k)
            print("shapes: " + ", ".join(f"{k} {v}" for k, v in results["shapes"].items())
                  + f"; multiplications in the two products: m (n h + h k) = "
                  f"{results['multiplications']:,}")
            draw(stages, predicted, out / "02-forward.png")
            rows = stages["P"].sum(axis=1)
            results["row_sums"] = (float(rows.min()), float(rows.max()))
            print(f"every row of P sums to 1 (min {rows.min():.15f}, max {rows.max():.15f})")
    print(f"figure: {out / '02-forward.png'}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"folder for the figure ({DEFAULT_OUT})")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    parser.add_argument("--hidden", type=int, default=6, help="hidden units (6)")
    args = parser.parse_args()
    if args.hidden < 1:
        parser.error(f"--hidden: expected a whole number >= 1, got {args.hidden}")
    main(args.out, args.quick, args.hidden)
