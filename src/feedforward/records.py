"""The record of a run: model files that carry the configuration, data and results of the run
that trained them (``feedforward train``, a tune trial), checked when read; the JSON of a run's
results, and how a metric's value reads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open

from . import config
from .errors import FeedforwardError, check_number, describe
from .model import load_model
from .saving import RECORD_KEY, check_feature_names, save_model

# RECORD_KEY: the metadata entry of a model file written by train (its configuration, data and
# results); it lives in saving, which load_model reads the recorded feature names with


def dumps(obj, level: int = 0) -> str:
    """Indented JSON with each list of scalars on one line, so matrix rows stay rows."""
    if isinstance(obj, np.ndarray):
        obj = obj.tolist()
    pad, end = "  " * (level + 1), "  " * level
    if isinstance(obj, dict) and obj:
        items = [f"{pad}{json.dumps(str(k))}: {dumps(v, level + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + f"\n{end}}}"
    if isinstance(obj, (list, tuple)) and any(
            isinstance(v, (dict, list, tuple, np.ndarray)) for v in obj):
        return "[\n" + ",\n".join(pad + dumps(v, level + 1) for v in obj) + f"\n{end}]"
    return json.dumps(obj, default=_json_default)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON-serializable: {type(value).__name__}")


# ---------------------------------------------------------------------------- model files
def save(model, path, record: dict) -> None:
    """Save ``model`` with ``record`` (JSON) in the file's metadata."""
    save_model(model, path, extra_metadata={RECORD_KEY: json.dumps(record, default=_json_default)})


def _folder_hint(path) -> str:
    """For a run's folder given as a model file: the file to give, or why it has none."""
    folder = Path(path)
    if not folder.is_dir():
        return ""
    if (folder / "model.safetensors").is_file():
        return f": it is a folder; give its model, {str(folder / 'model.safetensors')!r}"
    return (": it is a folder without a model.safetensors (a run's folder has none until the "
            f"run ends: `feedforward train --resume {folder}` finishes a killed one)")


def load(path, label="MODEL"):
    """The model at ``path`` and its training record (None for files not written by ``train``).

    The record is checked as a ``--config`` file is (see :func:`check_record`): a file may
    hold anything, and a value of the record is trusted no more than one typed by the user.
    """
    if not Path(path).is_file():
        raise FeedforwardError(f"{label}: no model file at {str(path)!r}{_folder_hint(path)}")
    try:
        model = load_model(path)
    except FeedforwardError as e:
        raise FeedforwardError(f"{label}: {e}") from None
    try:
        with safe_open(str(path), framework="numpy") as f:
            text = (f.metadata() or {}).get(RECORD_KEY)
    except SafetensorError as e:  # load_model read it a moment ago
        raise FeedforwardError(f"{label}: {path} could not be read again ({e})") from None
    if text is None:
        return model, None
    where = f"the training record of {path}"
    try:
        record = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        raise FeedforwardError(f"{label}: {where} is not valid JSON "
                               f"({type(e).__name__})") from None
    try:
        return model, check_record(record, model, where)
    except FeedforwardError as e:
        raise FeedforwardError(f"{label}: {e}") from None


def naming(model, record):
    """The record whose ``feature_names`` the CSV readers match a file's columns to:
    ``record``, completed with the model's own names when it records none (a file saved from
    Python has no training record).

    The model's names are its ``feature_names`` (``Sequential.save`` writes them), else the
    columns its first preprocessor, a :class:`~feedforward.data.TableEncoder`, was given: a
    model fitted on an array of rows knows its columns there only. The encoder's made-up
    ``column_1 .. column_m`` (no columns given) are no names.

    Parameters
    ----------
    model : Sequential
        The model, as :func:`load` returned it.
    record : dict or None
        Its training record, as :func:`load` returned it.

    Returns
    -------
    dict or None
        None when neither the record nor the model names the features.
    """
    if record is not None and record.get("feature_names") is not None:
        return record
    names = _model_names(model)
    if names is None:
        return record
    return {**(record or {}), "feature_names": names}


def _model_names(model) -> list | None:
    """The feature names a model knows: its ``feature_names``, else its row encoder's
    columns unless made up (``column_1 .. column_m``); None when it knows none."""
    if model.feature_names is not None:
        return list(model.feature_names)
    encoder = model.row_encoder
    columns = getattr(encoder, "columns", None)
    if not columns or columns == [f"column_{j + 1}" for j in range(len(columns))]:
        return None
    return list(columns)


# the fields ``train`` writes; each may be absent (files of earlier versions) or null
RECORD_FIELDS = {"config": dict, "dataset": str, "task": str, "feature_names": list,
                 "target_name": str, "epochs": int, "weights_epoch": int, "results": dict,
                 "tune": dict,  # the trial of `feedforward tune` that trained the model
                 "data_sha256": str}  # the SHA-256 of the CSV file the run trained on
_KINDS = {dict: "an object", list: "a list", str: "a string", int: "an integer"}
TASKS = ("classification", "regression")
SPLITS = ("train", "val", "test")


def check_record(record, model, where: str) -> dict:
    """A training record, every field checked, its ``config`` as :func:`config.check` makes it.

    Parameters
    ----------
    record : object
        The record as read from the JSON of a model file.
    model : Sequential
        The model of that file: the feature names must be as many as its inputs.
    where : str
        What to name in errors, e.g. ``"the training record of m.safetensors"``.

    Returns
    -------
    dict
        The record, its ``config`` checked and completed with the defaults.

    Raises
    ------
    FeedforwardError
        For an unknown field, a value of the wrong type or out of range, naming it.
    """
    if not isinstance(record, dict):
        raise FeedforwardError(f"{where}: expected an object, got {describe(record)}")
    for key, value in record.items():
        kind = RECORD_FIELDS.get(key)
        if kind is None:
            raise FeedforwardError(f"{where}: unknown field {key!r}; expected "
                                   f"{', '.join(RECORD_FIELDS)}")
        if value is not None and (isinstance(value, bool) or not isinstance(value, kind)):
            raise FeedforwardError(f"{where}: {key}: expected {_KINDS[kind]}, got "
                                   f"{describe(value)}")
    record = dict(record)
    if record.get("config") is not None:
        record["config"] = config.check(record["config"], where)
    if record.get("task") not in (None, *TASKS):
        raise FeedforwardError(f"{where}: task: expected one of {', '.join(TASKS)}, got "
                               f"{record['task']!r}")
    check_feature_names(record.get("feature_names"), model, where)
    epochs = record.get("epochs")
    for key, high in (("epochs", None), ("weights_epoch", epochs)):
        if record.get(key) is not None:
            check_number(record[key], f"{where}: {key}", low=0, high=high, integer=True)
    _check_results(record.get("results") or {}, where)
    if record.get("tune") is not None:
        _check_trial(record["tune"], where)
    sha = record.get("data_sha256")
    if sha is not None and (len(sha) != 64 or set(sha) - set("0123456789abcdef")):
        raise FeedforwardError(f"{where}: data_sha256: expected 64 hexadecimal digits, got "
                               f"{describe(sha)}")
    return record




def _check_results(results: dict, where):
    for split, logs in results.items():
        if split not in SPLITS or not isinstance(logs, dict):
            raise FeedforwardError(f"{where}: results: expected a table of metrics for each of "
                                   f"{', '.join(SPLITS)}, got {split!r}: {describe(logs)}")
        for name, value in logs.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise FeedforwardError(f"{where}: results.{split}.{name}: expected a number, "
                                       f"got {describe(value)}")


def _check_trial(tune: dict, where):
    trial, params, refit = tune.get("trial"), tune.get("params"), tune.get("refit", {})
    # refit: {"rows": n, "epochs": e} when the trial's configuration trained again on more rows
    counts = isinstance(refit, dict) and all(type(v) is int for v in refit.values())
    # fold: which cross-validation fold's rows the model trained on
    counts = counts and (type(tune.get("fold", 0)) is int and tune.get("fold", 0) >= 0)
    if set(tune) - {"trial", "params", "refit", "fold"} or not counts or not isinstance(
            trial, str) or not isinstance(params, dict) or not all(
                _is_value(v) or (isinstance(v, list) and all(_is_value(x) for x in v))
                for v in params.values()):
        raise FeedforwardError(f"{where}: tune: expected a trial id and its parameters, got "
                               f"{describe(tune)}")


def _is_value(value) -> bool:
    return value is None or isinstance(value, (str, int, float))


# ---------------------------------------------------------------------------- formats
def is_fraction(metric: str) -> bool:
    """Metrics shown as percentages: the accuracies."""
    return "acc" in metric


def fmt(metric: str, value) -> str:
    """``value`` as the commands show it: a percentage for accuracies, 4 digits otherwise;
    ``-`` for None."""
    if value is None:
        return "-"
    return f"{100 * value:.2f} %" if is_fraction(metric) else f"{value:.4g}"
