"""Backpropagation by the chain rule: a worked example and two networks derived by hand, all
checked against the library.

0. The page's worked example: one sample x = (1, 2), two ReLU units, one linear output,
   J = (y_hat - y)^2. Its forward and backward numbers by hand, the library's gradients, and
   every weight nudged by h, (J(w + h) - J(w)) / h, beside its gradient. ``--b1`` sets the
   second unit's bias (-2 switches it off); ``--nudge`` sets h.
1. The classifier of ``examples/backprop_by_hand.py`` (reused from there): no biases,
   Z1 = X W1, A1 = relu(Z1), Z2 = A1 W2, P = softmax(Z2), mean cross-entropy.
2. A regression with sigmoid activations, biases and the sum-of-squares error:

       Z1 = X W1 + b1      A1 = sigmoid(Z1)
       Z2 = A1 W2 + b2     P = sigmoid(Z2)
       J  = sum_ij (P_ij - Y_ij)^2                       (the library's "sse" loss)

   Going backwards, one local derivative at a time (sigmoid'(z) = s (1 - s)), dZ standing
   for dJ/dZ:

       dP  = 2 (P - Y)
       dZ2 = dP * P (1 - P)
       dW2 = A1^T dZ2          db2 = column sums of dZ2
       dA1 = dZ2 W2^T
       dZ1 = dA1 * A1 (1 - A1)
       dW1 = X^T dZ1           db1 = column sums of dZ1

The library's gradients are read off one SGD step with learning rate 1 (which moves every
weight by exactly -dJ/dW). Then the regression is trained by hand-written gradient descent
and by ``model.fit`` side by side; the loss curves coincide.

Run: python examples/guide/05_backprop.py [--out DIR] [--quick] [--b1 B] [--nudge H]
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import feedforward as ff  # noqa: E402

DEFAULT_OUT = Path(tempfile.gettempdir()) / "feedforward-guide"  # not the current folder

TOLERANCE = 1e-10
HIDDEN = 8
LEARNING_RATE = 0.05


def load_classifier_example():
    """The module ``examples/backprop_by_hand.py``: its forward, backward and library_step."""
    path = Path(__file__).resolve().parents[1] / "backprop_by_hand.py"
    spec = importlib.util.spec_from_file_location("backprop_by_hand", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def regression_forward(X, W1, b1, W2, b2, Y):
    """Every intermediate of the sigmoid network, and the sum-of-squares error J."""
    H = sigmoid(X @ W1 + b1)
    P = sigmoid(H @ W2 + b2)
    return H, P, float(np.sum((P - Y) ** 2))


def regression_backward(X, W2, Y, H, P):
    """dJ/dW1, dJ/db1, dJ/dW2, dJ/db2 by the chain rule (see the module docstring)."""
    dZ2 = 2 * (P - Y) * P * (1 - P)  # (n, k)
    dW2, db2 = H.T @ dZ2, dZ2.sum(axis=0)  # (h, k), (k,)
    dZ1 = (dZ2 @ W2.T) * H * (1 - H)  # (n, h)
    dW1, db1 = X.T @ dZ1, dZ1.sum(axis=0)  # (d, h), (h,)
    return [dW1, db1, dW2, db2]


def regression_model(weights, learning_rate):
    """The same network in feedforward, in float64, holding ``weights`` [W1, b1, W2, b2]."""
    model = ff.Sequential([ff.Dense(HIDDEN, activation="sigmoid"),
                           ff.Dense(weights[2].shape[1], activation="sigmoid")],
                          input_dim=weights[0].shape[0], dtype="float64")
    model.compile(optimizer=ff.optimizers.SGD(learning_rate), loss="sse")
    model.set_weights(weights)
    return model


def regression_data(n):
    """A smooth 1-D curve inside (0, 1), the sigmoid output's range."""
    x = np.linspace(-3, 3, n)[:, None]
    return x, 0.5 + 0.35 * np.sin(1.5 * x)


def initial_weights(rng, d, k):
    return [rng.normal(0, 1.0, (d, HIDDEN)), rng.normal(0, 0.1, HIDDEN),
            rng.normal(0, 1.0, (HIDDEN, k)), rng.normal(0, 0.1, k)]


def check_classifier(example):
    """Hand and library gradients of the ReLU / softmax network (without biases)."""
    rng = np.random.default_rng(0)
    n, d, h, k = example.n, example.d, example.h, example.k
    X = rng.normal(size=(n, d))
    Y = np.eye(k)[rng.integers(0, k, n)]
    W1, W2 = rng.normal(0, 0.8, (d, h)), rng.normal(0, 0.8, (h, k))
    Z1, H, _, P, J = example.forward(X, W1, W2, Y)
    hand = example.backward(X, W2, Y, Z1, H, P)
    J_lib, *library = example.library_step(X, W1, W2, Y)
    return J, J_lib, list(hand), library


def check_regression(X, Y, weights):
    """Hand and library gradients of the sigmoid / sum-of-squares network."""
    H, P, J = regression_forward(X, *weights, Y)
    hand = regression_backward(X, weights[2], Y, H, P)
    model = regression_model(weights, learning_rate=1.0)
    J_lib = model.train_on_batch(X, Y)
    library = [w - w_new for w, w_new in zip(weights, model.get_weights(), strict=True)]
    return J, J_lib, hand, library


# the page's worked example: one sample, 2 inputs, 2 ReLU units, one linear output
WORKED_X, WORKED_Y = np.array([[1.0, 2.0]]), np.array([[1.0]])
WORKED_W1 = np.array([[0.5, -0.5], [0.25, 0.5]])
WORKED_W2, WORKED_B2 = np.array([[1.0], [-2.0]]), 0.5


def worked_weights(b1_second=0.0):
    """[W1, b1, W2, b2] of the worked example; ``b1_second`` is the second unit's bias."""
    return [WORKED_W1.copy(), np.array([0.0, b1_second]), WORKED_W2.copy(),
            np.array([WORKED_B2])]


def worked_loss(weights) -> float:
    """J = (y_hat - y)^2 of the worked example."""
    W1, b1, W2, b2 = weights
    return float(((np.maximum(WORKED_X @ W1 + b1, 0) @ W2 + b2 - WORKED_Y) ** 2).sum())


def worked_example(b1_second=0.0, nudge=0.01) -> dict:
    """The forward and backward pass of the worked example by hand, the library's gradients
    (one SGD step at rate 1), and each weight nudged by ``nudge``: (J(w + h) - J(w)) / h."""
    W1, b1, W2, b2 = weights = worked_weights(b1_second)
    Z1 = WORKED_X @ W1 + b1
    A1 = np.maximum(Z1, 0)
    y_hat = A1 @ W2 + b2
    dy = 2 * (y_hat - WORKED_Y)              # dJ/dy_hat
    dZ1 = (dy @ W2.T) * (Z1 > 0)             # dA1 = dy W2^T, then relu'
    # + 0.0 turns the -0.0 of an inactive unit into 0.0 for printing
    hand = [g + 0.0 for g in (WORKED_X.T @ dZ1, dZ1.sum(axis=0), A1.T @ dy, dy.sum(axis=0))]
    dZ1 = dZ1 + 0.0
    model = ff.Sequential([ff.Dense(2, activation="relu"), ff.Dense(1)], input_dim=2,
                          dtype="float64")
    model.compile(optimizer=ff.optimizers.SGD(learning_rate=1.0), loss="mse")
    model.set_weights(weights)
    J_lib = float(model.train_on_batch(WORKED_X, WORKED_Y))
    library = [w0 - w1 for w0, w1 in zip(weights, model.get_weights(), strict=True)]
    J = worked_loss(weights)
    nudged = []
    for k, w in enumerate(weights):
        ratios = np.zeros_like(w)
        for index in np.ndindex(w.shape):
            moved = [v.copy() for v in weights]
            moved[k][index] += nudge
            ratios[index] = (worked_loss(moved) - J) / nudge
        nudged.append(ratios)
    return {"Z1": Z1[0].tolist(), "A1": A1[0].tolist(), "y_hat": float(y_hat[0, 0]), "J": J,
            "dy": float(dy[0, 0]), "dA1": (dy @ W2.T)[0].tolist(), "dZ1": dZ1[0].tolist(),
            "gradients": [g.tolist() for g in hand], "library_J": J_lib,
            "library_gap": max(float(np.abs(a - b).max()) for a, b in zip(hand, library,
                                                                          strict=True)),
            "nudged": [r.tolist() for r in nudged],
            "nudge_gap": max(float(np.abs(a - b).max()) for a, b in zip(hand, nudged,
                                                                        strict=True))}


def print_worked(w, nudge):
    print(f"worked example: Z1 = {w['Z1']}, A1 = {w['A1']}, y_hat = {w['y_hat']:g}, "
          f"J = {w['J']:g}")
    print(f"  backward: dJ/dy_hat = {w['dy']:g}, dA1 = {w['dA1']}, dZ1 = {w['dZ1']}")
    for name, g in zip(("dW1", "db1", "dW2", "db2"), w["gradients"], strict=True):
        print(f"  {name} = {g}")
    print(f"  the library (one SGD step at rate 1): J = {w['library_J']:g}, gradients equal to "
          f"{w['library_gap']:.0e}")
    print(f"  each weight nudged by {nudge:g}: (J(w + h) - J(w)) / h = "
          + "; ".join(f"{n} {np.round(r, 4).tolist()}" for n, r in
                      zip(("W1", "b1", "W2", "b2"), w["nudged"], strict=True))
          + f" (largest difference from the gradient {w['nudge_gap']:.2g})")


def train_both(X, Y, weights, steps):
    """Batch gradient descent by hand and with ``model.fit``; both loss curves."""
    hand_w = [w.copy() for w in weights]
    hand_losses = []
    for _ in range(steps):
        H, P, J = regression_forward(X, *hand_w, Y)
        hand_losses.append(J)
        for w, g in zip(hand_w, regression_backward(X, hand_w[2], Y, H, P), strict=True):
            w -= LEARNING_RATE * g
    model = regression_model(weights, LEARNING_RATE)
    history = model.fit(X, Y, epochs=steps, batch_size=len(X), shuffle=False, verbose=0)
    weight_gap = max(float(np.abs(a - b).max())
                     for a, b in zip(hand_w, model.get_weights(), strict=True))
    return np.array(hand_losses), np.array(history.history["loss"]), weight_gap, model


def draw(pairs, curves, fit, path):
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for (label, hand, library), marker in zip(pairs, ("o", "s"), strict=True):
        h = np.concatenate([g.ravel() for g in hand])
        lib = np.concatenate([g.ravel() for g in library])
        gap = np.abs(h - lib).max()
        axes[0].plot(h, lib, marker, ms=4, alpha=0.7, label=f"{label} (max gap {gap:.0e})")
    lim = axes[0].get_xlim()
    axes[0].plot(lim, lim, color="0.5", lw=0.8)
    axes[0].set(title="every gradient entry: hand vs library", xlabel="by the chain rule",
                ylabel="feedforward (one SGD step, lr = 1)")
    hand_losses, lib_losses = curves
    steps = np.arange(1, len(hand_losses) + 1)
    axes[1].plot(steps, hand_losses, lw=4, alpha=0.4, label="NumPy by hand")
    axes[1].plot(steps, lib_losses, "--", color="black", label="model.fit")
    axes[1].set(title="sum-of-squares regression: training", xlabel="gradient descent step",
                ylabel="J = sum (p - y)^2", yscale="log")
    x, y, model = fit
    axes[2].plot(x, y, ".", color="0.5", label="data")
    axes[2].plot(x, model.predict(x), color="tab:red", label="trained network")
    axes[2].set(title="the regression after training", xlabel="x", ylabel="y")
    for ax in axes:
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=85)
    plt.close(fig)


def main(out=DEFAULT_OUT, quick=False, b1_second=0.0, nudge=0.01) -> dict:
    """The worked example; both hand derivations against the library; then train the
    regression both ways. ``b1_second`` and ``nudge`` change the worked example."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    worked = worked_example(b1_second, nudge)
    print_worked(worked, nudge)
    results, pairs = {"worked": worked}, []
    X, Y = regression_data(40)
    weights = initial_weights(np.random.default_rng(1), 1, 1)
    checks = (("relu/softmax classifier", check_classifier(load_classifier_example())),
              ("sigmoid/SSE regression", check_regression(X, Y, weights)))
    for label, (J, J_lib, hand, library) in checks:
        gap = max(float(np.abs(a - b).max()) for a, b in zip(hand, library, strict=True))
        results[label] = {"loss_gap": abs(J - J_lib), "gradient_gap": gap}
        pairs.append((label, hand, library))
        print(f"{label}: loss {J:.10f} by hand, {J_lib:.10f} by feedforward; largest gradient "
              f"difference {gap:.1e} over {sum(g.size for g in hand)} entries")
    steps = 300 if quick else 3000
    hand_losses, lib_losses, weight_gap, model = train_both(X, Y, weights, steps)
    curve_gap = float(np.abs(hand_losses - lib_losses).max())
    results["training"] = {"steps": steps, "first_loss": float(hand_losses[0]),
                           "last_loss": float(hand_losses[-1]), "loss_curve_gap": curve_gap,
                           "weight_gap": weight_gap}
    print(f"{steps} steps of gradient descent (lr {LEARNING_RATE}): J falls from "
          f"{hand_losses[0]:.4f} to {hand_losses[-1]:.4f}; the hand and library loss curves "
          f"differ by at most {curve_gap:.1e}, the final weights by {weight_gap:.1e}")
    worst = max(r["gradient_gap"] for label, r in results.items()
                if label not in ("training", "worked"))
    verdict = "agree" if worst <= TOLERANCE else "DISAGREE"
    print(f"the chain rule by hand and feedforward {verdict} (tolerance {TOLERANCE:g})")
    draw(pairs, (hand_losses, lib_losses), (X, Y, model), out / "05-backprop.png")
    print(f"figure: {out / '05-backprop.png'}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"folder for the figure ({DEFAULT_OUT})")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    parser.add_argument("--b1", type=float, default=0.0,
                        help="the worked example's bias of hidden unit 2 (0)")
    parser.add_argument("--nudge", type=float, default=0.01,
                        help="how far each weight is nudged in the worked example (0.01)")
    args = parser.parse_args()
    if not 0 < abs(args.nudge) <= 1:
        parser.error(f"--nudge: expected a step with 0 < |h| <= 1, got {args.nudge:g}")
    main(args.out, args.quick, args.b1, args.nudge)
