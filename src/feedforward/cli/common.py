"""Shared by the commands: consoles, JSON output, tables, and the data a model file's record
names. The record itself is :mod:`feedforward.records`."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from .. import losses
from ..callbacks import QuietOnClosedOutput
from ..checkpoint import is_checkpoint
from ..data import sources
from ..errors import FeedforwardError
from ..fileio import digest
from ..records import dumps, fmt


def console(quiet: bool = False) -> Console:
    # soft wrap: long lines stay whole in logs and pipes; tables still fit the width.
    # No markup: file names, column names and class labels may hold "[...]".
    # A closed stdout (`train | head`) quiets it rather than ending the run.
    return QuietOnClosedOutput(highlight=False, markup=False, quiet=quiet, soft_wrap=True)


def print_json(obj) -> None:
    """``obj`` as JSON on stdout (never through rich, which would wrap lines); see
    :func:`dumps_json`."""
    sys.stdout.write(dumps_json(obj))


def dumps_json(obj) -> str:
    """``obj`` as a line of JSON text; a non-finite number (an overflowed loss) is ``null``,
    as strict JSON has no NaN or Infinity."""
    return dumps(_finite(obj)) + "\n"


def _finite(obj):
    if isinstance(obj, np.ndarray):
        obj = obj.tolist()
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, (float, np.floating)) and not np.isfinite(obj):
        return None
    return obj


def recorded_data_config(record, path, data_file=None) -> dict:
    """The configuration of the run recorded in the model file at ``path``, from which its
    data can be built again: only a built-in dataset, by name. A file or folder that a model
    file names is never opened (the file may name any path): the user names the data, as
    ``data_file``, which must be the very file the run trained on (its SHA-256 is recorded).

    Raises
    ------
    FeedforwardError
        Naming ``--data``, when there is no record, or it names a file or folder.
    """
    cfg = (record or {}).get("config")
    if data_file is not None and (cfg is None or record.get("data_sha256") is None):
        raise FeedforwardError(f"--split: {path} records no digest of a CSV file it trained "
                               "on, so its split cannot be taken again; drop --split to "
                               "evaluate every row")
    if cfg is None and is_checkpoint(path):
        run = Path(path).parent.parent if Path(path).parent.name == "backup" else "RUN_FOLDER"
        raise FeedforwardError(f"MODEL: {path} is the training checkpoint of an unfinished run, "
                               f"not its model; finish the run with `feedforward train --resume "
                               f"{run}`, then evaluate its model.safetensors")
    if cfg is None:
        raise FeedforwardError(f"--data: {path} has no record of its training data (it was not "
                               "written by feedforward train); pass --data")
    if data_file is not None:
        if record["data_sha256"] != digest(data_file, "--data"):
            raise FeedforwardError(f"--split: {str(data_file)!r} is not the file {path} was "
                                   "trained on (its SHA-256 differs), so the run's split "
                                   "cannot be taken from it; drop --split to evaluate every row")
        return {**cfg, "dataset": str(data_file)}
    if sources.builtin_kind(cfg["dataset"]) is None:
        raise FeedforwardError(f"--data: {path} was trained on {cfg['dataset']!r}, a file or "
                               "folder; a path named inside a model file is never opened, so "
                               "pass --data with that data (every row is evaluated; add "
                               "--split to take the run's split of it)")
    return cfg


def is_classifier(model) -> bool:
    """Whether the model's outputs are class scores: a cross-entropy loss, or class names."""
    if isinstance(model.loss, (losses.CategoricalCrossentropy, losses.BinaryCrossentropy)):
        return True
    return model.loss is None and model.classes is not None


def classes_of(model) -> list:
    """The model's class labels; 0 .. k - 1 when it has none."""
    if model.classes is not None:
        return list(model.classes)
    k = model.output_shape[-1]
    return list(range(2 if k == 1 else k))


def class_scores(out: np.ndarray):
    """Predicted codes ``(n,)`` and per-class probabilities ``(n, k)`` from the outputs.

    One output column is the probability of class 1 (a sigmoid); its class 0 is ``1 - p``.
    """
    if out.shape[1] == 1:
        p = out[:, 0]
        return (p > 0.5).astype(np.int64), np.column_stack([1 - p, p])
    return out.argmax(axis=1), out


def metrics_table(results: dict, title: str) -> Table:
    """Rows: metrics; columns: the splits of ``results`` (``{split: {metric: value}}``)."""
    table = Table(title=title)
    table.add_column("metric")
    for split in results:
        table.add_column(split, justify="right")
    names = list(dict.fromkeys(k for logs in results.values() for k in logs))
    for name in names:
        table.add_row(name, *(fmt(name, logs.get(name)) for logs in results.values()))
    return table


def confusion_table(matrix: np.ndarray, classes: list, title: str) -> Table:
    """Rows: true class; columns: predicted class."""
    table = Table(title=title)
    table.add_column("true \\ predicted")
    for c in classes:
        table.add_column(str(c), justify="right")
    for c, row in zip(classes, matrix, strict=True):
        table.add_row(str(c), *(str(int(v)) for v in row))
    return table
