"""Softmax and cross-entropy: the properties, the log loss and the gradient p - y.

Softmax turns a row of scores (logits) z into probabilities

    p_j = exp(z_j) / sum_k exp(z_k)

each in [0, 1], summing to 1, in the same order as the scores, and unchanged when a constant
is added to every score (which is why the library subtracts the row maximum: logits of 1e4 do
not overflow). Cross-entropy against a one-hot target y is J = -sum_j y_j log p_j = -log p_c,
the log loss of the probability given to the true class c: 0 when p_c = 1, log 2 = 0.69 at
p_c = 0.5, and without bound as p_c goes to 0. Together, softmax and cross-entropy have the
simple gradient dJ/dz = p - y (divided by m for the mean over a batch of m samples).

The script checks the properties on random logits, plots the log loss, and compares the
formula (p - y) / n with three computations: the library's fused gradient
(``CategoricalCrossentropy.fused_gradient``), the unfused chain (the loss gradient through
``Softmax.backward``), and central differences of the library's loss value. It checks the
same p - y for a sigmoid output with binary cross-entropy. A worked example with three logits
is done by hand and by the library, and a race shows why cross-entropy learns a confidently
wrong sigmoid output fast where squared error crawls: its gradient p - y does not carry the
factor p (1 - p) that vanishes on sigmoid's flat tail.

Run: python examples/guide/04_softmax.py [--out DIR] [--quick] [--logits 2,1,0.1] [--start -4]
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

softmax = ff.activations.Softmax()
cross_entropy = ff.losses.CategoricalCrossentropy()


def properties(rng, n):
    """Range, row sums, order and shift invariance of softmax on ``n`` rows of random logits,
    some of magnitude 1e4."""
    z = rng.normal(0, 3, (n, 5))
    z[: n // 10] *= 3000  # huge logits: exp would overflow without the max shift
    with np.errstate(over="raise"):  # any overflow would be an error, not a warning
        p = softmax(z)
    shifted = softmax(z + rng.normal(0, 100, (n, 1)))
    return {"min": float(p.min()), "max": float(p.max()),
            "row_sum_error": float(np.abs(p.sum(axis=1) - 1).max()),
            "same_argmax": bool(np.array_equal(p.argmax(axis=1), z.argmax(axis=1))),
            "shift_difference": float(np.abs(shifted - p).max()), "finite": bool(
                np.isfinite(p).all())}


def numerical_gradient(loss, activation, z, y, h=1e-6):
    """dJ/dz by central differences of ``loss.value(activation(z), y)``, one logit at a time."""
    grad = np.zeros_like(z)
    for index in np.ndindex(z.shape):
        step = np.zeros_like(z)
        step[index] = h
        grad[index] = (loss.value(activation(z + step), y)
                       - loss.value(activation(z - step), y)) / (2 * h)
    return grad


def gradients(rng, n):
    """The gradient of the mean cross-entropy with respect to the logits, four ways; and the
    sigmoid / binary cross-entropy pair against central differences."""
    z = rng.normal(0, 2, (n, 4))
    labels = rng.integers(0, 4, n)
    y = np.eye(4)[labels]
    p = softmax(z)
    formula = (p - y) / n
    fused = cross_entropy.fused_gradient(p, labels)
    chain = softmax.backward(z, p, cross_entropy.gradient(p, labels))
    numeric = numerical_gradient(cross_entropy, softmax, z, labels)
    # one sigmoid output, targets 0 or 1: the same p - y
    sigmoid, log_loss = ff.activations.Sigmoid(), ff.losses.BinaryCrossentropy()
    z1, y1 = rng.normal(0, 2, (n, 1)), rng.integers(0, 2, (n, 1)).astype(float)
    binary = numerical_gradient(log_loss, sigmoid, z1, y1)
    return {"p": p, "y": y, "fused": fused,
            "fused_difference": float(np.abs(fused - formula).max()),
            "chain_difference": float(np.abs(chain - formula).max()),
            "numerical_difference": float(np.abs(numeric - formula).max()),
            "binary_difference": float(np.abs(binary - (sigmoid(z1) - y1) / n).max())}


def draw(grads, path):
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    z = np.array([2.0, 1.0, 0.1, -1.0])
    for ax_z, (shift, color) in enumerate(((0.0, "tab:blue"), (5.0, "tab:orange"))):
        axes[0].bar(np.arange(4) + 0.38 * ax_z, softmax(z + shift), width=0.38, color=color,
                    label=f"softmax(z + {shift:g})")
    for j, v in enumerate(z):
        axes[0].text(j + 0.19, softmax(z)[j] + 0.02, f"z={v:g}", ha="center", fontsize=8)
    axes[0].set(title="softmax: in [0, 1], sums to 1, shift-invariant", xlabel="class j",
                ylabel="p_j", xticks=np.arange(4) + 0.19, xticklabels=range(4), ylim=(0, 0.8))
    axes[0].legend(fontsize=8)

    p = np.linspace(0.005, 1, 400)
    axes[1].plot(p, -np.log(p), color="tab:red")
    for q in (0.9, 0.5, 0.1):
        axes[1].plot(q, -np.log(q), "o", color="tab:red")
        axes[1].annotate(f"p={q:g}: {-np.log(q):.2f}", (q, -np.log(q)),
                         xytext=(8, 6) if q < 0.8 else (-30, 14),
                         textcoords="offset points", fontsize=8)
    axes[1].set(title="log loss -log p of the true class", xlabel="predicted probability p",
                ylabel="loss", ylim=(0, 5.5))

    p0, y0, g0 = grads["p"][0], grads["y"][0], grads["fused"][0] * len(grads["p"])
    j = np.arange(4)
    axes[2].bar(j - 0.2, p0, width=0.4, color="tab:blue", label="p")
    axes[2].bar(j + 0.2, y0, width=0.4, color="0.7", label="y (one-hot)")
    axes[2].plot(j, g0, "D", color="tab:red", label="m * dJ/dz (library)")
    axes[2].plot(j, p0 - y0, "x", color="black", ms=10, label="p - y")
    axes[2].axhline(0, color="0.5", lw=0.8)
    axes[2].set(title="the gradient is p - y", xlabel="class j", xticks=j, ylim=(-1.05, 1.3))
    axes[2].legend(fontsize=8, loc="lower left")
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=85)
    plt.close(fig)


def worked_example(logits, true_class=0) -> dict:
    """One sample by hand (p, J = -log p_c, p - y) and by the library (its fused gradient)."""
    z = np.asarray(logits, dtype=float)
    e = np.exp(z - z.max())
    p = e / e.sum()
    y = np.eye(len(z))[true_class]
    library_p = softmax(z[None, :])
    labels = np.array([true_class])
    return {"p": p.tolist(), "loss": float(-np.log(p[true_class])), "gradient": (p - y).tolist(),
            "library_p": library_p[0].tolist(),
            "library_loss": float(cross_entropy.value(library_p, labels)),
            "library_gradient": cross_entropy.fused_gradient(library_p, labels)[0].tolist()}


def steps_to_learn(start, loss, cap=100_000) -> int:
    """SGD steps (rate 1) until a sigmoid output starting at logit ``start`` for a sample of
    class 1 gives it a probability above 0.5, with the loss ``"binary_crossentropy"`` or
    ``"mse"``. The input is 0, so the logit is the bias alone."""
    model = ff.Sequential([ff.Dense(1, activation="sigmoid")], input_dim=1, dtype="float64")
    model.compile(optimizer=ff.optimizers.SGD(learning_rate=1.0), loss=loss)
    model.set_weights([np.zeros((1, 1)), np.array([float(start)])])
    x, y = np.zeros((1, 1)), np.ones((1, 1))
    for step in range(cap):
        if model.get_weights()[1][0] > 0:  # logit > 0: p > 0.5
            return step
        model.train_on_batch(x, y)
    return cap


def main(out=DEFAULT_OUT, quick=False, logits=(2.0, 1.0, 0.1), start=-4.0) -> dict:
    """Check the properties, compare the gradients, draw; print and return the numbers.

    ``logits`` are the worked example's (class 0 is the true one); ``start`` is the logit a
    sigmoid output starts from when cross-entropy and squared error race to learn a sample.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    worked = worked_example(logits)
    print(f"worked example, logits {', '.join(f'{v:g}' for v in logits)}, true class 0: p = "
          f"{', '.join(f'{v:.3g}' for v in worked['p'])}, J = -log p_0 = {worked['loss']:.3g}, "
          f"dJ/dz = p - y = {', '.join(f'{v:.3g}' for v in worked['gradient'])}; the library: "
          f"J = {worked['library_loss']:.3g}, gradient "
          f"{', '.join(f'{v:.3g}' for v in worked['library_gradient'])}")
    race = {loss: steps_to_learn(start, loss) for loss in ("binary_crossentropy", "mse")}
    print(f"a sigmoid output starting at logit {start:g} (p = {1 / (1 + np.exp(-start)):.4f}) "
          f"for a sample of class 1 needs {race['binary_crossentropy']} SGD steps with "
          f"cross-entropy and {race['mse']} with squared error to pass p = 0.5")
    rng = np.random.default_rng(0)
    props = properties(rng, 1000 if quick else 10000)
    print(f"softmax on random logits (some of size 1e4): outputs in [{props['min']:.3g}, "
          f"{props['max']:.3g}], all finite: {props['finite']}, rows sum to 1 within "
          f"{props['row_sum_error']:.1e}, adding a constant to a row changes p by at most "
          f"{props['shift_difference']:.1e}, largest logit -> largest p: {props['same_argmax']}")
    log_loss = {}
    for q in (0.9, 0.5, 0.1, 0.01):
        loss = log_loss[q] = cross_entropy.value(np.array([[q, 1 - q]]), np.array([0]))
        print(f"log loss when the true class gets p = {q:g}: {loss:.4f} "
              f"(-log p = {-np.log(q):.4f})")
    grads = gradients(rng, 8 if quick else 32)
    print("dJ/dz = (p - y) / m agrees with the library's fused gradient to "
          f"{grads['fused_difference']:.1e}, with the loss gradient through Softmax.backward "
          f"to {grads['chain_difference']:.1e}, and with central differences of the loss to "
          f"{grads['numerical_difference']:.1e}")
    print("sigmoid with binary cross-entropy: dJ/dz = (p - y) / m agrees with central "
          f"differences of the library's loss to {grads['binary_difference']:.1e}")
    draw(grads, out / "04-softmax.png")
    print(f"figure: {out / '04-softmax.png'}")
    return {"properties": props, "log_loss": log_loss, "worked": worked, "race": race,
            **{k: v for k, v in grads.items() if k.endswith("difference")}}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"folder for the figure ({DEFAULT_OUT})")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    parser.add_argument("--logits", default="2,1,0.1",
                        help="the worked example's logits; class 0 is the true one (2,1,0.1)")
    parser.add_argument("--start", type=float, default=-4.0,
                        help="the starting logit of the cross-entropy / squared error race (-4)")
    args = parser.parse_args()
    try:
        chosen = [float(v) for v in args.logits.split(",")]
    except ValueError:
        parser.error(f"--logits: expected numbers separated by commas, got {args.logits!r}")
    if len(chosen) < 2 or not np.all(np.isfinite(chosen)):
        parser.error(f"--logits: expected at least two finite numbers, got {args.logits!r}")
    if not -30 <= args.start < 0:
        parser.error(f"--start: expected a logit in [-30, 0) (a wrong answer to learn), "
                     f"got {args.start:g}")
    main(args.out, args.quick, chosen, args.start)
