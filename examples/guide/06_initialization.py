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

Run: python examples/guide/06_initialization.py [--out DIR] [--quick] [--fan-out N]
     [--constant C] [--depth L]
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


def circle_data():
    x, y = ff.data.circle(n=400, noise=0.0, seed=0)
    return x / 3, y


def train_symmetry(init, epochs, x, y):
    """A 2-16-2 sigmoid network trained with Adam from kernels drawn by ``init``.

    Returns the model and ``{unit_spread, kernel_norm, symmetric, accuracy}``: how far the
    hidden units' incoming weights differ, their norm, the monitor's verdict, the accuracy.
    """
    model = ff.Sequential([ff.Dense(16, activation="sigmoid", kernel_initializer=init),
                           ff.Dense(2, activation="softmax", kernel_initializer=init)],
                          seed=0, dtype="float64")  # rounding cannot break the tie
    model.compile(optimizer=ff.optimizers.Adam(0.05), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    monitor = ff.diagnostics.Monitor(every=epochs)  # one record, after the last epoch
    history = model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, callbacks=[monitor])
    kernel = model.layers[0].params["kernel"]  # (2, 16): one column per hidden unit
    return model, {"unit_spread": float(np.abs(kernel - kernel[:, :1]).max()),
                   "kernel_norm": float(np.linalg.norm(kernel)),
                   "symmetric": monitor.records[-1]["layers"][0]["symmetric"],
                   "accuracy": float(history.history["accuracy"][-1])}


def symmetry(epochs, path):
    """Train the 2-16-2 sigmoid network from all-zero weights and from Glorot's; compare and
    draw each hidden unit's incoming weights and the two decision regions."""
    x, y = circle_data()
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.9))
    found = {}
    for (label, init), ax, marker in zip((("zeros", "zeros"), ("glorot_uniform", "glorot_uniform")),
                                         axes[1:], ("o", "^"), strict=True):
        model, found[label] = train_symmetry(init, epochs, x, y)
        kernel = model.layers[0].params["kernel"]
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


def glorot_factors(fan_out, fan_in=WIDTH, m=4000, seed=0) -> dict:
    """By how much one glorot_normal layer multiplies the variance going forward (X W, a sum
    over fan_in) and the gradient's going back (dZ Wᵀ, a sum over fan_out), measured."""
    model = ff.Sequential([ff.Dense(fan_out, activation="linear",
                                    kernel_initializer="glorot_normal")],
                          input_dim=fan_in, seed=seed, dtype="float64")
    w = model.get_weights()[0]
    rng = np.random.default_rng(seed)
    x, dz = rng.normal(size=(m, fan_in)), rng.normal(size=(m, fan_out))
    return {"forward": float(np.var(x @ w) / np.var(x)),
            "backward": float(np.var(dz @ w.T) / np.var(dz)),
            "predicted": (2 * fan_in / (fan_in + fan_out), 2 * fan_out / (fan_in + fan_out))}


def variances(activation, samples, seed=0, depth=DEPTH, labels=tuple(INITIALIZERS)):
    """Variance of each layer's outputs for every initializer in INITIALIZERS.

    Returns ``{label: array of DEPTH + 1 variances}`` (the input's first) and, for tanh,
    ``{label: largest saturated fraction of a hidden layer}`` (empty for ReLU).
    """
    x = np.random.default_rng(seed).normal(size=(samples, WIDTH))
    monitor = ff.diagnostics.Monitor(probe=x, probe_size=samples)
    found, saturated = {}, {}
    for label in labels:
        init = INITIALIZERS[label]
        model = ff.Sequential([ff.Dense(WIDTH, activation=activation, kernel_initializer=init)
                               for _ in range(depth)], input_dim=WIDTH, seed=seed,
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


def main(out=DEFAULT_OUT, quick=False, fan_out=WIDTH, constant=None, depth=DEPTH) -> dict:
    """Show the symmetry and the variance per layer; print and return the numbers.

    ``fan_out``: Glorot's forward and backward factors for a layer of 256 inputs and that many
    units. ``constant``: also train the symmetry network from kernels all equal to it.
    ``depth``: also measure the variance through that many ReLU layers (He against Xavier).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    extra = {}
    factors = glorot_factors(fan_out)
    print(f"glorot_normal, fan_in {WIDTH}, fan_out {fan_out}: forward variance x "
          f"{factors['forward']:.3f} (predicted 2 fan_in / (fan_in + fan_out) = "
          f"{factors['predicted'][0]:.3f}), gradient variance back x {factors['backward']:.3f} "
          f"(predicted {factors['predicted'][1]:.3f})")
    extra["glorot"] = factors
    if constant is not None:
        extra["constant"] = train_symmetry(ff.initializers.Constant(constant),
                                           30 if quick else 60, *circle_data())[1]
        print(f"every kernel {constant:g}: {extra['constant']}")
    if depth != DEPTH:
        deep = variances("relu", 500, depth=depth)[0]
        extra["deep"] = {label: float(v[-1] / v[1]) for label, v in deep.items()}
        print(f"{depth} ReLU layers, variance after the last / after the first: "
              + ", ".join(f"{k} {v:.3g}" for k, v in extra["deep"].items()))
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
    return {**extra, "symmetry": sym, "ratios": ratios, "spreads": spreads,
            "saturated": saturated,
            "variances": {f"{a}, {k}": v.tolist() for a, f in per_activation.items()
                          for k, v in f.items()}}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"folder for the figure ({DEFAULT_OUT})")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    parser.add_argument("--fan-out", type=int, default=WIDTH,
                        help=f"units of the Glorot layer fed {WIDTH} inputs ({WIDTH})")
    parser.add_argument("--constant", type=float,
                        help="also train the symmetry network from kernels all equal to this")
    parser.add_argument("--depth", type=int, default=DEPTH,
                        help=f"also measure this many ReLU layers ({DEPTH}: not again)")
    args = parser.parse_args()
    if not 1 <= args.fan_out <= 4096:
        parser.error(f"--fan-out: expected a whole number from 1 to 4096, got {args.fan_out}")
    if not 2 <= args.depth <= 100:
        parser.error(f"--depth: expected a whole number from 2 to 100, got {args.depth}")
    main(args.out, args.quick, args.fan_out, args.constant, args.depth)
