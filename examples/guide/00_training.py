"""How training works: the loss, its gradient, the update rule, epochs and mini-batches.

A straight line ``y_hat = w x + b`` is fitted to 32 noisy points by gradient descent on the mean
squared error ``J = mean((y_hat - y)^2)``:

1. a worked example with three points and numbers small enough to follow by hand, redone by
   the library's ``train_on_batch`` (one step of ``SGD``);
2. full-batch gradient descent by hand, step by step, against ``model.fit`` with the whole
   set as one batch: the same losses;
3. the inputs are standardized (mean 0, mean square 1), so each step multiplies the distance
   to the best line by exactly ``|1 - 2 * rate|``: below rate 1 it shrinks, at 0.5 it is 0
   after one step, above 1 it grows;
4. one epoch with batches of 32 (one step), 8 (four steps) and 1 (32 steps).

Run: python examples/guide/00_training.py [--out DIR] [--quick] [--rate R] [--batch-size B]
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

DEFAULT_OUT = Path(tempfile.gettempdir()) / "feedforward-guide"
RATE, BATCH_SIZE = 0.1, 8
HAND_X, HAND_Y, HAND_RATE = [-1.0, 0.0, 1.0], [-1.0, 1.0, 3.0], 0.25


def loss_and_gradient(w, b, x, y):
    """J = mean((w x + b - y)^2) and its partial derivatives dJ/dw, dJ/db; x, y of shape (m,)."""
    error = w * x + b - y
    return float(np.mean(error**2)), float(2 * np.mean(error * x)), float(2 * np.mean(error))


def line_model(rate, w=0.0, b=0.0) -> ff.Sequential:
    """The line as a one-unit model: a (1, 1) kernel ``w`` and a bias ``b``, trained by SGD."""
    model = ff.Sequential([ff.Dense(1)], input_dim=1, dtype="float64", seed=0)
    model.compile(optimizer=ff.optimizers.SGD(learning_rate=rate), loss="mse")
    model.set_weights([np.array([[w]]), np.array([b])])
    return model


def worked_example() -> dict:
    """Three points, w = b = 0, rate 0.25: one step by hand and one by ``train_on_batch``."""
    x, y = np.array(HAND_X), np.array(HAND_Y)
    loss, dw, db = loss_and_gradient(0.0, 0.0, x, y)
    w, b = -HAND_RATE * dw, -HAND_RATE * db
    model = line_model(HAND_RATE)
    library_loss = model.train_on_batch(x[:, None], y[:, None])  # the loss before the step
    kernel, bias = model.get_weights()
    return {"loss": loss, "dw": dw, "db": db, "w": w, "b": b,
            "loss_after": loss_and_gradient(w, b, x, y)[0],
            "library_loss": float(library_loss),
            "library_w": float(kernel[0, 0]), "library_b": float(bias[0])}


def make_data(m=32, seed=0):
    """``m`` points near y = 3x + 2, x standardized exactly (mean 0, mean square 1)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=m)
    x = (x - x.mean()) / x.std()
    return x, 3 * x + 2 + rng.normal(scale=0.5, size=m)


def best_line(x, y):
    """The least-squares line (w*, b*) and its loss, the lowest J can go."""
    w, b = np.polyfit(x, y, 1)
    return float(w), float(b), loss_and_gradient(w, b, x, y)[0]


def descend(x, y, rate, steps):
    """Full-batch gradient descent by hand from w = b = 0: the (w, b) path and the losses."""
    w = b = 0.0
    path, losses = [(w, b)], []
    for _ in range(steps):
        loss, dw, db = loss_and_gradient(w, b, x, y)
        losses.append(loss)
        w, b = w - rate * dw, b - rate * db
        path.append((w, b))
    losses.append(loss_and_gradient(w, b, x, y)[0])
    return np.array(path), np.array(losses)


def library_losses(x, y, rate, steps):
    """The same descent by ``model.fit``, one epoch of one full batch per step."""
    model, losses = line_model(rate), []
    for _ in range(steps):
        losses.append(model.evaluate(x[:, None], y[:, None], verbose=0))
        model.fit(x[:, None], y[:, None], epochs=1, batch_size=len(x), shuffle=False, verbose=0)
    losses.append(model.evaluate(x[:, None], y[:, None], verbose=0))
    return np.array(losses, dtype=float)


def epochs_by_batch_size(x, y, rate, batch_sizes, epochs):
    """The whole set's loss after each epoch, for each batch size (shuffled mini-batches)."""
    curves = {}
    for size in batch_sizes:
        model = line_model(rate)
        curve = [model.evaluate(x[:, None], y[:, None], verbose=0)]
        for _ in range(epochs):
            model.fit(x[:, None], y[:, None], epochs=1, batch_size=size, verbose=0)
            curve.append(model.evaluate(x[:, None], y[:, None], verbose=0))
        curves[size] = [float(c) for c in curve]
    return curves


def plot(path, x, y, paths, curves, best):
    """The line as it moves, the path over the loss surface, and the loss per epoch."""
    fig, (data, surface, epochs) = plt.subplots(1, 3, figsize=(14, 4.2))
    data.scatter(x, y, s=12, color="0.3", label="data")
    grid = np.linspace(x.min(), x.max(), 2)
    main_path = next(iter(paths.values()))
    for step in (0, 1, 3, 10):
        w, b = main_path[min(step, len(main_path) - 1)]
        data.plot(grid, w * grid + b, label=f"after {step} steps")
    data.set(title="the line during gradient descent", xlabel="x", ylabel="y")
    ws, bs = np.meshgrid(np.linspace(-1, 6, 120), np.linspace(-2, 5, 120))
    error = ws[..., None] * x + bs[..., None] - y
    surface.contour(ws, bs, np.mean(error**2, axis=-1), levels=np.geomspace(0.3, 60, 12),
                    colors="0.75", linewidths=0.8)
    for label, p in paths.items():
        surface.plot(p[:, 0], p[:, 1], ".-", label=label, ms=5)
    surface.plot(*best[:2], "k*", ms=12, label="lowest loss")
    surface.set(title="steps over the loss surface J(w, b)", xlabel="w", ylabel="b",
                xlim=(-1, 6), ylim=(-2, 5))
    for size, curve in curves.items():
        epochs.plot(range(len(curve)), curve, ".-", label=f"batch size {size}")
    epochs.axhline(best[2], color="k", ls=":", label="lowest loss")
    epochs.set(title="loss of the whole set after each epoch", xlabel="epoch",
               ylabel="J (mean squared error)", yscale="log")
    for ax in (data, surface, epochs):
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(out=DEFAULT_OUT, quick=False, rate=RATE, batch_size=BATCH_SIZE) -> dict:
    """Run the worked example, the descent at ``rate`` and the batch sizes; print and return."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    hand = worked_example()
    print(f"worked example: J = {hand['loss']:.4f}, dJ/dw = {hand['dw']:.4f}, "
          f"dJ/db = {hand['db']:.4f}; after one step w = {hand['w']:.4f}, b = {hand['b']:.4f}, "
          f"J = {hand['loss_after']:.4f}")
    print(f"the library's train_on_batch: J = {hand['library_loss']:.4f}, "
          f"w = {hand['library_w']:.4f}, b = {hand['library_b']:.4f}")
    x, y = make_data()
    best = best_line(x, y)
    steps = 50  # cheap: the script is as fast in full as in quick mode
    path, losses = descend(x, y, rate, steps)
    distance = np.hypot(path[:, 0] - best[0], path[:, 1] - best[1])
    ratio = float(distance[1] / distance[0])
    gap = float(np.abs(library_losses(x, y, rate, steps) - losses).max())
    print(f"rate {rate:g}: loss {losses[0]:.3f} -> {losses[1]:.3f} after one step -> "
          f"{losses[-1]:.4g} after {steps} (lowest possible {best[2]:.4f}); each step "
          f"multiplies the distance to the best line by {ratio:.3f} (|1 - 2 rate| = "
          f"{abs(1 - 2 * rate):.3f}); by hand and by model.fit differ by {gap:.1e}")
    sizes = sorted({len(x), batch_size, 1} if batch_size != len(x) else {len(x), 8, 1},
                   reverse=True)
    curves = epochs_by_batch_size(x, y, RATE, sizes, epochs=10)
    for size, curve in curves.items():
        print(f"batch size {size}: {-(-len(x) // size)} steps per epoch; whole-set loss after "
              f"1 epoch {curve[1]:.4f}, after {len(curve) - 1} epochs {curve[-1]:.4f}")
    paths = {f"rate {rate:g}": path[:11]}
    if rate != RATE:
        paths[f"rate {RATE:g}"] = descend(x, y, RATE, 10)[0]
    figure = out / "00-training.png"
    plot(figure, x, y, paths, curves, best)
    print(f"figure: {figure}")
    return {"worked": hand, "best": best, "losses": losses.tolist(), "step_ratio": ratio,
            "library_gap": gap, "curves": curves, "steps_per_epoch":
            {size: -(-len(x) // size) for size in curves}, "m": len(x)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"folder for the figure ({DEFAULT_OUT})")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    parser.add_argument("--rate", type=float, default=RATE, help="the learning rate of the descent")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE,
                        help="a batch size to compare with 1 and the whole set")
    args = parser.parse_args()
    if not args.rate > 0:
        parser.error(f"--rate: expected a learning rate > 0, got {args.rate:g}")
    if args.batch_size < 1:
        parser.error(f"--batch-size: expected a whole number >= 1, got {args.batch_size}")
    main(args.out, args.quick, args.rate, args.batch_size)
