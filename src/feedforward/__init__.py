"""feedforward: feedforward neural networks from first principles on NumPy."""

from . import (
    activations,
    callbacks,
    data,
    diagnostics,
    fileio,
    initializers,
    interop,
    layers,
    losses,
    metrics,
    optimizers,
    regularizers,
    schedules,
)
from ._version import __version__ as __version__
from .checkpoint import BackupAndRestore
from .errors import FeedforwardError
from .layers import Activation, Dense, Dropout, Input, Maxout
from .model import Sequential, load_model

__all__ = [
    "Activation", "BackupAndRestore", "Dense", "Dropout", "FeedforwardError", "Input", "Maxout",
    "Sequential", "activations", "callbacks", "data", "diagnostics", "fileio", "initializers",
    "interop", "layers", "load_model", "losses", "metrics", "optimizers", "regularizers",
    "schedules",
]


def __getattr__(name):
    # ff.tune is imported on first use: the search, its executors and the recipe's data loading
    if name == "tune":
        import importlib

        return importlib.import_module(".tune", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
