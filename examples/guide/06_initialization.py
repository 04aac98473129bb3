"""Initialization: symmetry, vanishing and exploding activations, Xavier and He.

1. Symmetry. If every hidden unit starts with the same weights (all zero here), every unit
   computes the same output, receives the same gradient and takes the same step: they stay
   identical forever, and the layer is worth one unit. A sigmoid network initialized with
   zeros is trained on the circle dataset; its hidden units end identical (the monitor's
   ``symmetric`` flag) and it cannot learn the circle, while a randomly initialized copy can
   (figure 06-symmetry.png: the units' weights and the two decision regions).
2. Scale. In a 10-layer network of 256 units each layer multiplies the variance of its
   outputs by about fan_in * Var(w) (times 1/2 after a ReLU). Weights drawn with standard
   deviation 0.01 make the activations vanish layer after layer; standard deviation 1
   makes ReLU activations explode (and tanh units saturate at +-1). Xavier / Glorot
   (Var(w) = 2 / (fan_in + fan_out)) suits tanh and He (Var(w) = 2 / fan_in) suits ReLU:
   they keep the variance steady across the layers. The variances are the training
   monitor's ``act_std`` squared, measured by ``ff.diagnostics.Monitor.measure``
   (figure 06-initialization.png).

Run: python examples/guide/06_initialization.py [--out DIR] [--quick]
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

DEPTH, WIDTH = 10, 256
INITIALIZERS = {
    "normal(std=0.01)": ff.initializers.RandomNormal(stddev=0.01),
    "normal(std=1)": ff.initializers.RandomNormal(stddev=1.0),
    "Xavier (glorot_normal)": "glorot_normal",
    "He (he_normal)": "he_normal",
}


def symmetry(epochs, path):
    """Train a 2-16-2 sigmoid network from all-zero weights and from Glorot's; compare and
    draw each hidden unit's incoming weights and the two decision regions."""
    x, y = ff.data.circle(n=400, noise=0.0, seed=0)
    x = x / 3
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.9))
    found = {}
    for (label, init), ax, marker in zip((("zeros", "zeros"), ("glorot_uniform", "glorot_uniform")),
                                         axes[1:], ("o", "^"), strict=True):
        model = ff.Sequential([ff.Dense(16, activation="sigmoid", kernel_initializer=init),
                               ff.Dense(2, activation="softmax", kernel_initializer=init)],
                              seed=0, dtype="float64")  # rounding cannot break the tie
        model.compile(optimizer=ff.optimizers.Adam(0.05), loss="categorical_crossentropy",
                      metrics=["accuracy"])
        monitor = ff.diagnostics.Monitor(every=epochs)  # one record, after the last epoch
        history = model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, callbacks=[monitor])
        kernel = model.layers[0].params["kernel"]  # (2, 16): one column per hidden unit
        found[label] = {
            "unit_spread": float(np.abs(kernel - kernel[:, :1]).max()),
            "kernel_norm": float(np.linalg.norm(kernel)),
            "symmetric": monitor.records[-1]["layers"][0]["symmetric"],
            "accuracy": float(history.history["accuracy"][-1])}
        distinct = len(np.unique(kernel, axis=1).T)
        axes[0].plot(kernel[0], kernel[1], marker, ms=7, alpha=0.6,
                     label=f"{label} init: 16 units, {distinct} distinct point(s)")
        draw_regions(ax, model, x, y)
        ax.set_title(f"{label} init: accuracy {found[label]['accuracy']:.2f}")
    axes[0].set(title="each hidden unit's weights after training", xlabel="weight from x1",
                ylabel="weight from x2")
    axes[0].legend(fontsize=8)
    axes[0].grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=85)
    plt.close(fig)
    return found


def draw_regions(ax, model, x, y):
    """The predicted class over the plane, with the training points."""
    grid = np.linspace(-2.2, 2.2, 120)
    g1, g2 = np.meshgrid(grid, grid)
    p = model.predict(np.column_stack([g1.ravel(), g2.ravel()]))[:, 1].reshape(g1.shape)
    ax.contourf(g1, g2, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
    ax.scatter(x[:, 0], x[:, 1], c=y, cmap="RdBu_r", s=6, edgecolors="none")
    ax.set(xlabel="x1", ylabel="x2", aspect="equal")


def variances(activation, samples, seed=0):
    """Variance of each layer's outputs for every initializer in INITIALIZERS.

    Returns ``{label: array of DEPTH + 1 variances}`` (the input's first) and, for tanh,
    ``{label: largest saturated fraction of a hidden layer}`` (empty for ReLU).
    """
    x = np.random.default_rng(seed).normal(size=(samples, WIDTH))
    monitor = ff.diagnostics.Monitor(probe=x, probe_size=samples)
    found, saturated = {}, {}
    for label, init in INITIALIZERS.items():
        model = ff.Sequential([ff.Dense(WIDTH, activation=activation, kernel_initializer=init)
                               for _ in range(DEPTH)], input_dim=WIDTH, seed=seed,
                              dtype="float64")
        layers = monitor.measure(model)["layers"]
        stds = [np.mean(monitor.inputs["std"])] + [layer["act_std"] for layer in layers]
        found[label] = np.square(stds)
        if activation == "tanh":
            saturated[label] = max(layer["saturated_fraction"] for layer in layers[:-1])
    return found, saturated


def draw(per_activation, saturated, path):
    """Variance against depth, one panel per activation; tanh's saturation noted."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    layers = np.arange(DEPTH + 1)
    for ax, (activation, found) in zip(axes, per_activation.items(), strict=True):
        for label, v in found.items():
            ax.plot(layers, v, "o-", ms=4, label=label)
        ax.set(title=f"{DEPTH} layers of {WIDTH} {activation} units", xlabel="layer (0 = input)",
               ylabel="variance of the layer's outputs", yscale="log", xticks=layers)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    label = "normal(std=1)"
    axes[1].annotate(f"{label}: flat only because up\nto {saturated[label]:.0%} of the units "
                     "saturate at +-1", (5, per_activation["tanh"][label][5]),
                     xytext=(4.6, 1e-5), fontsize=8, color="tab:orange",
                     arrowprops={"arrowstyle": "->", "color": "tab:orange"})
    fig.tight_layout()
    fig.savefig(path, dpi=85)
    plt.close(fig)


def main(out=DEFAULT_OUT, quick=False) -> dict:
    """Show the symmetry and the variance per layer; print and return the numbers."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sym = symmetry(30 if quick else 60, out / "06-symmetry.png")
    for label, r in sym.items():
        print(f"{label} init: hidden units' weights differ by at most {r['unit_spread']:.2e} "
              f"(kernel norm {r['kernel_norm']:.3f}; monitor says symmetric: {r['symmetric']}), "
              f"training accuracy {r['accuracy']:.3f}")
    per_activation, ratios, spreads = {}, {}, {}
    for activation in ("relu", "tanh"):
        found, saturated = variances(activation, 500 if quick else 1000)
        per_activation[activation] = found
        for label, v in found.items():
            key = f"{activation}, {label}"
            # growth or decay through the depth, and the widest gap between hidden layers
            ratios[key], spreads[key] = float(v[-1] / v[1]), float(v[1:].max() / v[1:].min())
            print(f"{key}: variance {v[1]:.3g} after layer 1, {v[-1]:.3g} after layer {DEPTH} "
                  f"(ratio {ratios[key]:.3g}; largest / smallest over the layers "
                  f"{spreads[key]:.3g})")
        for label, fraction in saturated.items():
            print(f"tanh, {label}: up to {fraction:.0%} of a hidden layer's outputs saturated")
    draw(per_activation, saturated, out / "06-initialization.png")
    print(f"figures: {out / '06-symmetry.png'}, {out / '06-initialization.png'}")
    return {"symmetry": sym, "ratios": ratios, "spreads": spreads, "saturated": saturated,
            "variances": {f"{a}, {k}": v.tolist() for a, f in per_activation.items()
                          for k, v in f.items()}}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"folder for the figure ({DEFAULT_OUT})")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    args = parser.parse_args()
    main(args.out, args.quick)
