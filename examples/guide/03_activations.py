"""Activation functions: the functions, their derivatives, saturation and dead ReLUs.

1. Each activation of ``ff.activations`` and its derivative (the library's own ``backward``,
   checked against central differences) are plotted. Sigmoid and tanh *saturate*: for
   |x| above about 4.4 (sigmoid) or 2.2 (tanh) the derivative is below 5 % of its peak, so
   almost no gradient passes.
2. The training monitor (``ff.diagnostics.Monitor``) counts saturated units: a sigmoid or
   tanh layer whose weights are drawn with standard deviation 1 from 50 standardized inputs
   is mostly saturated; with Glorot's initialization it is not.
3. Dead ReLUs: a unit whose input is negative for every sample outputs 0 and gets gradient 0,
   so it never recovers. SGD with a learning rate of 3 on the circle dataset kills most of
   the first hidden layer (the monitor's ``dead_fraction``) for every seed tried, and for
   some seeds the whole second layer, leaving the network at chance; at 0.1 almost every unit
   lives. Leaky ReLU (slope 0.1 for x < 0) still passes gradient through negative inputs and
   trains well at the same learning rate of 3.

Run: python examples/guide/03_activations.py [--out DIR] [--quick] [--weight-scale S]
     [--activation NAME [--rate R]]
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

PLOTTED = ["sigmoid", "tanh", "relu", ff.activations.LeakyReLU(0.1), "elu", "gelu", "softplus"]
PEAK = {"sigmoid": 0.25, "tanh": 1.0}  # the largest value of each derivative
HIGH_LR, LOW_LR = 3.0, 0.1


def derivative(activation, x):
    """f'(x) from the library: backward with an upstream gradient of ones."""
    return activation.backward(x, activation(x), np.ones_like(x))


def central_difference(activation, x, h=1e-6):
    return (activation(x + h) - activation(x - h)) / (2 * h)


def plot_functions(path):
    """Functions and derivatives side by side; the saturated ranges of sigmoid and tanh shaded.

    Returns the largest gap between the library's derivative and central differences, and
    where each of sigmoid and tanh starts to saturate (f' below 5 % of its peak).
    """
    # the grid avoids x = 0, where ReLU-like functions have a kink
    x = np.linspace(-6, 6, 1200) + 0.0025
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    worst, onset = 0.0, {}
    for spec in PLOTTED:
        act = ff.activations.get(spec)
        label = act.name + (f" (alpha={act.alpha:g})" if act.name == "leaky_relu" else "")
        d = derivative(act, x)
        worst = max(worst, float(np.abs(d - central_difference(act, x)).max()))
        left.plot(x, act(x), label=label)
        right.plot(x, d, label=label)
        if act.name in PEAK:
            saturated = d < 0.05 * PEAK[act.name]
            onset[act.name] = float(np.abs(x[saturated]).min())
    for name, color in (("sigmoid", "tab:blue"), ("tanh", "tab:orange")):
        for side in (-1, 1):
            right.axvspan(side * onset[name], side * 6, color=color, alpha=0.08,
                          label=f"{name} saturated" if side == 1 else None)
    left.set(title="f(x)", xlabel="x", ylim=(-1.5, 4))
    right.set(title="f'(x): shaded where sigmoid / tanh saturate (f' < 5 % of peak)",
              xlabel="x", ylim=(-0.2, 1.75))
    for ax in (left, right):
        ax.axhline(0, color="0.8", lw=0.8)
        ax.grid(alpha=0.3)
    left.legend(fontsize=8)
    right.legend(fontsize=7, ncol=3, loc="upper center")
    fig.tight_layout()
    fig.savefig(path, dpi=85)
    plt.close(fig)
    return worst, onset


def saturation(seed=0):
    """The monitor's saturated fraction of one hidden layer, for two initializations."""
    x = np.random.default_rng(seed).normal(size=(500, 50))  # standardized inputs
    monitor = ff.diagnostics.Monitor(probe=x, probe_size=500)
    found = {}
    for act in ("sigmoid", "tanh"):
        for init in ("glorot_uniform", ff.initializers.RandomNormal(stddev=1.0)):
            model = ff.Sequential([ff.Dense(64, activation=act, kernel_initializer=init),
                                   ff.Dense(1)], input_dim=50, seed=seed)
            layer = monitor.measure(model)["layers"][0]
            init_name = init if isinstance(init, str) else "normal(std=1)"
            found[f"{act}, {init_name}"] = layer["saturated_fraction"]
    return found


def gradient_through_sigmoids(scale, depth=6, width=32, m=500, seed=0):
    """How much each sigmoid layer shrinks the gradient on its way back.

    ``depth`` layers of ``width`` sigmoid units, weights drawn with standard deviation
    ``scale / sqrt(width)`` (scale 1 is Glorot's variance for a square layer). From a random
    gradient at the top, backpropagation computes dZ = dA * f'(Z) and dA_below = dZ Wᵀ; the
    result is the ratio of the norms of dZ in each layer and in the layer above it, and the
    fraction of all units' outputs that are saturated (f' below 5 % of its peak 0.25).
    """
    rng = np.random.default_rng(seed)
    sigmoid = ff.activations.get("sigmoid")
    a, layers = rng.normal(size=(m, width)), []
    for _ in range(depth):
        w = rng.normal(scale=scale / np.sqrt(width), size=(width, width))
        z = a @ w
        a = sigmoid(z)
        layers.append((w, z, a))
    saturated = float(np.mean([np.mean(a * (1 - a) < 0.05 * PEAK["sigmoid"])
                                for _, _, a in layers]))
    grad, norms = rng.normal(size=(m, width)), []
    for w, z, a in reversed(layers):
        dz = sigmoid.backward(z, a, grad)  # f'(z) * grad
        norms.append(float(np.linalg.norm(dz)))
        grad = dz @ w.T
    return [below / above for above, below in zip(norms[:-1], norms[1:], strict=True)], saturated


def accuracy_with(activation, rate, epochs, seed=0) -> float:
    """Training accuracy of the 2-32-32-2 network on the circle, plain SGD at ``rate``."""
    x, y = ff.data.circle(n=600, noise=0.1, seed=0)
    try:
        history = train(activation, rate, x / 3, y, epochs, seed, every=epochs)[0]
    except ff.training.Diverged:  # the loss became NaN or infinite: no accuracy to report
        return float("nan")
    return float(history["accuracy"][-1])


class NeverPositive(ff.callbacks.Callback):
    """Per epoch, the fraction of each hidden layer's units that are <= 0 on every probe row.

    For ReLU this equals the monitor's ``dead_fraction``; for leaky ReLU such units still
    receive a gradient (times the slope alpha), so they are inactive but not dead.
    """

    def __init__(self, probe):
        self.probe, self.fractions = probe, []

    def on_epoch_end(self, epoch, logs=None):
        a, row = self.probe.astype(self.model.dtype), []
        for layer in self.model.layers[:-1]:
            a = layer.forward(a, False)
            row.append(float(1 - (a > 0).any(axis=0).mean()))
        self.fractions.append(row)


RUNS = {f"relu, lr={LOW_LR:g}": ("relu", LOW_LR),
        f"relu, lr={HIGH_LR:g}": ("relu", HIGH_LR),
        f"leaky_relu(0.1), lr={HIGH_LR:g}": (ff.activations.LeakyReLU(0.1), HIGH_LR)}


def train(activation, learning_rate, x, y, epochs, seed, every=1):
    """A 2-32-32-2 classifier trained with plain SGD, monitored every ``every`` epochs.

    Returns the history, the monitor's records (ReLU layers report ``dead_fraction``, every
    layer its ``grad_norm``) and the never-positive fractions per epoch.
    """
    model = ff.Sequential([ff.Dense(32, activation=activation),
                           ff.Dense(32, activation=activation),
                           ff.Dense(2, activation="softmax")], seed=seed)
    model.compile(optimizer=ff.optimizers.SGD(learning_rate), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    monitor, inactive = ff.diagnostics.Monitor(every=every, probe_size=len(x)), NeverPositive(x)
    history = model.fit(x, y, epochs=epochs, batch_size=32, verbose=0,
                        callbacks=[monitor, inactive])
    return history.history, monitor.records, inactive.fractions


def hidden(record, key) -> list:
    """``key`` of the two hidden layers in one monitor record (None where not measured)."""
    return [layer.get(key) for layer in record["layers"][:2]]


def summarise(history, records, inactive) -> dict:
    return {"final_loss": history["loss"][-1], "final_accuracy": history["accuracy"][-1],
            "dead_fraction": hidden(records[-1], "dead_fraction"),
            "grad_norm": hidden(records[-1], "grad_norm"), "never_positive": inactive[-1]}


def dead_relus(path, epochs, seeds):
    """ReLU at a low and a high learning rate, leaky ReLU at the high one.

    Seed 0 is plotted epoch by epoch; every seed in ``seeds`` is summarised, since where a
    high learning rate throws the weights differs from one initialization to the next.
    Returns ``{label: [summary per seed]}``.
    """
    x, y = ff.data.circle(n=600, noise=0.1, seed=0)
    x = x / 3  # roughly unit scale
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    found = {label: [] for label in RUNS}
    epoch = np.arange(1, epochs + 1)
    for seed in seeds:
        for (label, (act, lr)), color in zip(RUNS.items(), ("tab:green", "tab:red", "tab:blue"),
                                              strict=True):
            history, records, inactive = train(act, lr, x, y, epochs, seed,
                                               every=1 if seed == seeds[0] else epochs)
            found[label].append(summarise(history, records, inactive))
            if seed != seeds[0]:
                continue
            if act == "relu":
                for k, style in ((0, ":"), (1, "-")):
                    left.plot(epoch, [hidden(r, "dead_fraction")[k] for r in records], style,
                              color=color,
                              label=f"{label}, layer {k + 1}")
            right.plot(epoch, history["loss"], color=color, label=label)
    left.set(title=f"dead ReLUs (Monitor.dead_fraction), seed {seeds[0]}", xlabel="epoch",
             ylabel="fraction of units dead", ylim=(-0.03, 1.03))
    right.set(title=f"training loss, seed {seeds[0]}", xlabel="epoch", ylabel="cross-entropy",
              yscale="log")
    for ax in (left, right):
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=85)
    plt.close(fig)
    return found


def main(out=DEFAULT_OUT, quick=False, weight_scale=1.0, activation=None, rate=LOW_LR) -> dict:
    """Plot the activations, measure saturation and dead ReLUs; print and return the numbers.

    ``weight_scale`` sets the weights of the sigmoid chain (:func:`gradient_through_sigmoids`);
    ``activation`` (a name) also trains the circle network with it in the hidden layers, and
    with ReLU, at the learning rate ``rate``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    worst, onset = plot_functions(out / "03-activations.png")
    print(f"library derivatives agree with central differences to {worst:.1e}")
    for name, where in onset.items():
        print(f"{name} saturates (f' < 5 % of its peak {PEAK[name]:g}) for |x| >= {where:.2f}")
    shrink, chain_saturated = gradient_through_sigmoids(weight_scale)
    print(f"6 sigmoid layers of 32, weight std {weight_scale:g}/sqrt(32): each layer multiplies "
          f"the gradient's norm by {', '.join(f'{r:.2f}' for r in shrink)} on its way back "
          f"({np.prod(shrink):.1e} in all); {chain_saturated:.0%} of the outputs saturated")
    saturated = saturation()
    for key, fraction in saturated.items():
        print(f"saturated fraction of a 64-unit hidden layer, {key}: {fraction:.2f}")
    seeds = list(range(3 if quick else 5))
    dead = dead_relus(out / "03-dead-relu.png", epochs=15 if quick else 40, seeds=seeds)
    for label, runs in dead.items():
        first = runs[0]
        extra = "" if label.startswith("leaky") else \
            f"dead fraction per layer {first['dead_fraction']}, "
        norms = ", ".join(f"{g:.2g}" for g in first["grad_norm"])
        print(f"{label}, seed 0: {extra}inactive (never positive) per layer "
              f"{first['never_positive']}, gradient norm per hidden layer {norms}, final loss "
              f"{first['final_loss']:.3f}, accuracy {first['final_accuracy']:.3f}")
        losses = ", ".join(f"{r['final_loss']:.3f}" for r in runs)
        accuracies = ", ".join(f"{r['final_accuracy']:.3f}" for r in runs)
        print(f"{label}, seeds {seeds}: final loss {losses}; accuracy {accuracies}")
        if not label.startswith("leaky"):
            fractions = ", ".join("({:.2f}, {:.2f})".format(*r["dead_fraction"]) for r in runs)
            print(f"{label}, seeds {seeds}: dead fraction (layer 1, layer 2) {fractions}")
    found = {"derivative_error": worst, "saturation_onset": onset, "saturated": saturated,
             "dead": dead, "sigmoid_shrink": shrink, "chain_saturated": chain_saturated}
    if activation is not None:
        epochs = 15 if quick else 40
        found["accuracy"] = {name: accuracy_with(name, rate, epochs)
                             for name in (activation, "relu")}
        print(f"circle, 2-32-32-2, SGD at {rate:g}, {epochs} epochs: training accuracy "
              + ", ".join(f"{k} {v:.3f}" for k, v in found["accuracy"].items()))
    print(f"figures: {out / '03-activations.png'}, {out / '03-dead-relu.png'}")
    return found


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT,
                        help=f"folder for the figures ({DEFAULT_OUT})")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    parser.add_argument("--weight-scale", type=float, default=1.0,
                        help="weights of the sigmoid chain: std = SCALE / sqrt(32) (1)")
    parser.add_argument("--activation", choices=list(ff.activations.registry.classes)[:-1],
                        help="also train the circle network with this hidden activation")
    parser.add_argument("--rate", type=float, default=LOW_LR,
                        help=f"the learning rate of the --activation run ({LOW_LR:g})")
    args = parser.parse_args()
    if not args.rate > 0:
        parser.error(f"--rate: expected a learning rate > 0, got {args.rate:g}")
    if not args.weight_scale > 0:
        parser.error(f"--weight-scale: expected a number > 0, got {args.weight_scale:g}")
    main(args.out, args.quick, args.weight_scale, args.activation, args.rate)
