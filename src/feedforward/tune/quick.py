"""A built-in search space suited to a dataset's size: ``feedforward tune --quick DATA.csv``.

The space searches what matters most on tabular data: the width and depth, dropout, AdamW's
learning rate and weight decay, the learning-rate schedule (constant, cosine or plateau) and
the early stopping's patience. Small data gets smaller networks, smaller batches and more
epochs (early stopping ends most trials long before).
"""

from __future__ import annotations

from pathlib import Path

from ..data import sources

# (rows below, [fixed], layer choices, patience range): the first tier that holds the data
TIERS = (
    (1_000, {"epochs": 300, "batch_size": 16}, [[32], [64], [128], [64, 64]], [10, 40]),
    (20_000, {"epochs": 200, "batch_size": 64}, [[128], [256], [256, 256], [512, 512]],
     [10, 30]),
    (None, {"epochs": 60, "batch_size": 128}, [[256, 256], [512, 512], [512, 256, 128]],
     [5, 15]),
)


def space_for(dataset: str, target: str | None = None, trials: int = 20, **csv) -> dict:
    """The quick space for ``dataset``, as the tables of a space file.

    Parameters
    ----------
    dataset : str
        A built-in dataset name or a CSV file (as ``train --dataset``).
    target : str, optional
        The CSV file's target column (default: its last).
    trials : int
        The number of trials.
    **csv
        ``header`` and ``delimiter`` of a CSV file, when given.

    Returns
    -------
    dict
        ``{"fixed": ..., "search": ..., "tune": ...}``, for :func:`feedforward.tune.search`.
    """
    options = {k: v for k, v in csv.items() if v is not None}
    data = sources.load(dataset, target, label="--dataset", **options)
    rows = len(data.x)
    _, fixed, layers, patience = next(t for t in TIERS if t[0] is None or rows < t[0])
    path = sources.csv_file(dataset)
    name = str(Path(path).resolve()) if path is not None else dataset
    extra = {"target": target} if target is not None else {}
    return {
        "fixed": {"dataset": name, **extra, **options, **fixed, "optimizer": "adamw"},
        "search": {
            "layers": {"choice": layers},
            "dropout": {"uniform": [0.0, 0.4]},
            "learning_rate": {"log_uniform": [3e-4, 1e-2]},
            "weight_decay": {"log_uniform": [1e-5, 3e-2]},
            "schedule": {"choice": ["constant", "cosine", "plateau"]},
            "patience": {"int": patience},
        },
        "tune": {"trials": trials},
    }
