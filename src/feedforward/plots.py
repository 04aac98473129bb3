"""PNG plots of a training run: learning curves and the confusion matrix; and the
figures of ``feedforward tune``'s ``tune.png``.

matplotlib (the ``plot`` extra) is optional: :func:`available` says whether it can be imported,
and ``train`` skips the plots without it. Figures are made with ``matplotlib.figure.Figure``
and rendered by the Agg canvas directly, so pyplot's global state and the interactive backends
are never touched.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from .fileio import atomic_write

DPI = 100
CURVE_SIZE = (6.4, 4.8)  # inches: 640 x 480 pixels at DPI
MATRIX_SIZE = (6.4, 5.6)  # 640 x 560 pixels


def available() -> bool:
    """Whether matplotlib (the ``plot`` extra) can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def save(fig, path: Path) -> None:
    """Render the PNG in memory and write it atomically, as every file of a run."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    atomic_write(path, buffer.getvalue(), label="--out")


def figure(size):
    """A matplotlib Figure of ``size`` inches at :data:`DPI`, on its own Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def curves(history: dict, out: Path, title: str, best_epoch: int | None = None) -> list[Path]:
    """One PNG per logged quantity (``loss.png``, ``accuracy.png``, ...): training and
    validation values against the epoch, the restored best epoch marked.

    Parameters
    ----------
    history : dict
        ``History.history``: lists of per-epoch values keyed ``loss``, ``val_loss``, ...
    best_epoch : int, optional
        1-based epoch whose weights the model ended with (early stopping).

    Returns
    -------
    list of Path
        The files written.
    """
    written = []
    for key in history:
        if key.startswith("val_"):
            continue
        values = np.asarray(history[key], dtype=float)
        epochs = np.arange(1, len(values) + 1)
        fig = figure(CURVE_SIZE)
        ax = fig.subplots()
        if key == "learning_rate":
            if np.ptp(values) == 0:  # a constant rate is not worth a plot
                continue
            ax.plot(epochs, values, color="tab:purple", label="learning rate")
        else:
            ax.plot(epochs, values, color="tab:blue", label=f"training {key}")
            if f"val_{key}" in history:
                ax.plot(epochs, history[f"val_{key}"], color="tab:orange",
                        label=f"validation {key}")
        if best_epoch is not None:
            ax.axvline(best_epoch, color="gray", linestyle="--", linewidth=1,
                       label=f"restored: epoch {best_epoch}")
        if key == "loss" and np.all(values > 0) and values.max() > 20 * values.min():
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key.replace("_", " "))
        ax.set_title(f"{title}: {key.replace('_', ' ')}")
        ax.grid(alpha=0.3)
        ax.legend()
        path = out / f"{key}.png"
        save(fig, path)
        written.append(path)
    return written


def confusion(matrix: np.ndarray, classes: list, path: Path, title: str) -> Path:
    """The confusion matrix as a heat map, counts written in the cells (rows: true class)."""
    matrix = np.asarray(matrix)
    k = len(classes)
    fig = figure(MATRIX_SIZE)
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ticks = np.arange(k)
    labels = [str(c) for c in classes]
    ax.set_xticks(ticks, labels, rotation=45 if max(map(len, labels)) > 3 else 0, ha="right"
                  if max(map(len, labels)) > 3 else "center")
    ax.set_yticks(ticks, labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    if k <= 30:
        threshold = matrix.max() / 2
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center",
                        fontsize=8 if k > 12 else 10,
                        color="white" if matrix[i, j] > threshold else "black")
    fig.tight_layout()
    save(fig, path)
    return path
