"""The end of a search: the model it returns, and that model's one score on held-out data.

**Refit** (the default): the best trial's configuration trains again on the training and
validation rows together, for the number of epochs after which its trial scored best on
validation, with the recipe of every trial (:mod:`feedforward.experiment`), and that model is
the search's ``model.safetensors``. The best trial's own model is kept as
``best_trial.safetensors``. Without refit, the best trial's model is the result.

**The held-out score**: the returned model is scored once, after every trial has been ranked,
on a separate test file when one is given (``test_data``; then no rows are held out of the
search's data), or else on the internal test split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import experiment, records
from ..data import sources
from ..errors import FeedforwardError
from ..fileio import atomic_write
from ..inputs import labels_are_ids
from ..model import Diverged
from .trial import Bundle, prepare

MODEL_FILE = "model.safetensors"
TRIAL_FILE = "best_trial.safetensors"


def check_test_file(test_data) -> None:
    """Refuse a test file that cannot be read, before anything trains."""
    if isinstance(test_data, (str, Path)) and not Path(test_data).is_file():
        why = "a folder" if Path(test_data).is_dir() else "no such file"
        raise FeedforwardError(f"test_data (--test-data): cannot read {str(test_data)!r} "
                               f"({why}); expected a labelled CSV file")


def check_test_data(test_data, space, params: dict, bundle: Bundle) -> None:
    """Read and check the test data as the final score will, before anything trains.

    Parameters
    ----------
    test_data : str, Path or tuple (x, y)
        A labelled CSV file, or arrays: ``x`` of shape ``(n, features)``, ``y`` of ``(n,)``.
    space : Space
        The search space.
    params : dict
        A trial's parameters (the data options are the same in every trial).
    bundle : Bundle
        The search's data.

    Raises
    ------
    FeedforwardError
        For missing or unexpected columns, a wrong feature count, or labels that are not
        the data's classes (or not numbers, for regression).
    """
    cfg, _ = space.config(params)
    model = experiment.build_model(cfg, prepare(cfg, bundle), bundle.data)  # untrained
    _test_rows(test_data, model, experiment.record(cfg, bundle.data, 0, 0, {}))


def without_test_split(space):
    """The space with no internal test split, for a search scored on a separate test file.

    Parameters
    ----------
    space : Space
        A space whose ``test_data`` is set.

    Returns
    -------
    Space
        ``space`` itself, its ``[fixed]`` ``test`` set to 0.

    Raises
    ------
    FeedforwardError
        When ``[fixed]`` asks for a test split as well: two test sets would be ambiguous.
    """
    if space.fixed.get("test", 0) > 0:
        raise FeedforwardError(f"{space.labels['test']}: a test file is given (test_data), so "
                               "the search keeps no test split of its data; remove test from "
                               "[fixed] or leave out the test file")
    space.fixed["test"] = 0.0
    return space


def model_state(path: Path) -> tuple[str | None, bool]:
    """Whose model ``path`` holds: ``(trial id, refit)``; ``(None, False)`` when unreadable."""
    if not path.exists():
        return None, False
    try:
        _, record = records.load(path)
    except FeedforwardError:
        return None, False
    tune = (record or {}).get("tune", {})
    return tune.get("trial"), bool(tune.get("refit"))


def epochs_of(best: dict) -> int:
    """The refit's epochs: the trial's best epoch (its weights' epoch), else all it ran."""
    return int(best.get("best_epoch") or best["epochs"])


def refit(space, best: dict, bundle: Bundle, path: Path) -> dict:
    """Train the best configuration on the training and validation rows; write it to ``path``.

    Parameters
    ----------
    space : Space
        The search space (its ``config`` gives the trial's configuration).
    best : dict
        The best trial's record: ``id``, ``params``, ``best_epoch``, ``epochs``.
    bundle : Bundle
        The search's data; ``x_train`` and ``x_val`` (``(n, features)``) are trained on.
    path : Path
        Where the model goes (written through a temporary file).

    Returns
    -------
    dict
        ``trial``, ``rows`` (trained on), ``epochs``, and ``error`` (None, or why the refit
        diverged; then nothing is written).
    """
    p = bundle.parts
    rows = len(p.x_train) + len(p.x_val)
    info = {"trial": best["id"], "rows": rows, "epochs": epochs_of(best), "error": None}
    kept, _ = space.config(best["params"])
    horizon = kept["epochs"]  # the trial's schedule spans its maximum epochs
    kept.update(epochs=info["epochs"], early_stopping=False)
    if kept["learning_rate"] is None:  # the trial's rate, not the default of longer epochs
        # cross-validated, the trial trained on each fold's rows (the first is its model's)
        trained = bundle.folds[0] if bundle.folds else p
        kept["learning_rate"] = experiment.default_rate(kept, len(trained.x_train))
    # no validation rows: a fixed epoch count, no early stopping; a plateau schedule then
    # watches the training loss. The file keeps the search's val, which its test split needs.
    cfg = type(kept)(kept, kept.labels)
    cfg["val"] = 0.0
    merged = p._replace(x_train=np.concatenate([p.x_train, p.x_val]), x_val=p.x_val[:0],
                        y_train=np.concatenate([p.y_train, p.y_val]), y_val=p.y_val[:0])
    data = Bundle(bundle.data, merged, data_sha256=bundle.data_sha256)
    try:
        with sources.unseen_told():
            plan = prepare(cfg, data, horizon)
            model = experiment.build_model(cfg, plan, data.data)
            history, _, _ = experiment.fit(cfg, plan, model, data.splits())
    except Diverged as e:
        return {**info, "error": str(e)}
    run = experiment.record(kept, data.data, len(history.epoch), len(history.epoch), {},
                            **bundle.provenance(),
                            tune={"trial": best["id"], "params": best["params"],
                                  "refit": {"rows": rows, "epochs": info["epochs"]}})
    tmp = path.with_name(path.name + ".refit")
    records.save(model, tmp, run)
    atomic_write(path, tmp.read_bytes(), label="--out")
    tmp.unlink()
    return info


def settle(out: Path, space, best: dict, bundle: Bundle, retrain, note=print) -> dict:
    """Make ``out``'s model the search's result: the refit of ``best`` or its trial's model.

    Parameters
    ----------
    out : Path
        The output folder; its ``model.safetensors`` holds the best trial's model after the
        trials (or an earlier run's result).
    space : Space
        Its ``refit`` setting chooses.
    best : dict
        The best trial's record.
    bundle : Bundle
        The data.
    retrain : callable
        ``retrain(path)`` writes the best trial's model to ``path`` (trains it again).
    note : callable
        Told, in a line, that a refit starts.

    Returns
    -------
    dict
        ``kind`` (``refit`` or ``trial``), ``trial``, ``rows`` it trained on, ``epochs``,
        ``error`` (why a refit fell back to the trial's model, else None) and ``folds`` (of
        cross-validation, 0 without; the trial's model is then its first fold's).
    """
    model, kept = out / MODEL_FILE, out / TRIAL_FILE
    p = bundle.parts
    trained = bundle.folds[0] if bundle.folds else p  # cross-validated: the first fold's
    trial_info = {"kind": "trial", "trial": best["id"], "rows": len(trained.x_train),
                  "epochs": epochs_of(best), "error": None, "folds": len(bundle.folds)}
    refitted, state = (best["id"], True), model_state(model)
    if state != (best["id"], False) and not (space.settings["refit"] and state == refitted):
        # another trial's model, a refit not wanted now, or none: the trial's model again
        if model_state(kept) == (best["id"], False):
            atomic_write(model, kept.read_bytes(), label="--out")
        else:
            retrain(model)
    if not space.settings["refit"]:
        return trial_info
    if model_state(model) == refitted:  # an earlier run's refit, already done
        return {**trial_info, "kind": "refit", "rows": len(p.x_train) + len(p.x_val)}
    atomic_write(kept, model.read_bytes(), label="--out")  # the trial's, beside the refit
    note(f"refit: {best['id']} on the training and validation rows, {epochs_of(best)} epochs")
    info = refit(space, best, bundle, model)
    if info["error"]:
        return trial_info | {"error": info["error"]}
    return {**trial_info, "kind": "refit", **info}


def score(out: Path, bundle: Bundle, test_data) -> tuple[dict, str]:
    """The result model's loss and metrics on the test file, else on the internal test split.

    Parameters
    ----------
    out : Path
        The output folder, with ``model.safetensors``.
    bundle : Bundle
        The search's data (its ``x_test``, of shape ``(n_test, features)``).
    test_data : str, Path, tuple (x, y) or None
        A labelled CSV file (its columns matched by name, its delimiter and header sniffed, as
        ``feedforward evaluate --data`` does), or arrays (a DataFrame's columns matched by
        name); None: the internal test split.

    Returns
    -------
    scores : dict
        ``{metric: value}``; empty when there is nothing to score on.
    where : str
        What was scored, for the report: ``test file held_out.csv (1000 rows)``.
    """
    model, record = records.load(out / MODEL_FILE)
    if test_data is None:
        x, y = bundle.parts.x_test, bundle.parts.y_test
        if not len(x):
            return {}, "no test rows (test = 0 and no test file)"
        where = f"the internal test split ({len(x)} rows), used once, at the end"
    else:
        x, y, name = _test_rows(test_data, model, record)
        where = f"test file {name} ({len(x)} rows)"
    with sources.unseen_categories(model, "test_data"), labels_are_ids():
        return model.evaluate(x, y, return_dict=True), where


def _test_rows(test_data, model, record):
    """``x`` of shape ``(n, features)``, ``y`` as the model's targets, and a name."""
    arrays = isinstance(test_data, (tuple, list))
    if arrays:  # a DataFrame keeps its column names: evaluate matches them to the model's
        x, labels = test_data[0], np.asarray(test_data[1])
        x = x if hasattr(x, "columns") else np.asarray(x)
        name, classes = "arrays", None
    else:  # its own delimiter and header, sniffed as evaluate --data does: not the data's
        data = sources.read_labelled(test_data, record, model.raw_input_dim, header=None,
                                     label="test_data", by_position=None, delimiter=None,
                                     raw=model.row_encoder is not None)
        x, name, classes = data.x, Path(test_data).name, data.classes
        labels = data.y if classes is None else np.asarray(classes, dtype=object)[data.y]
    if x.ndim != 2 or x.shape[1] != model.raw_input_dim or len(labels) != len(x):
        raise FeedforwardError(f"test_data: expected {model.raw_input_dim} feature columns and "
                               f"one target per row, got x of shape {x.shape} and "
                               f"{len(labels)} targets")
    if record.get("task") != "classification":
        if classes is not None:
            raise FeedforwardError("test_data: the model is a regression model, but the "
                                   f"target of {name} holds class labels")
        return x, labels.astype(np.float64), name
    known = list(model.classes) if model.classes is not None else list(
        range(max(2, model.output_shape[-1])))
    if arrays and _codes(labels, known):  # arrays: codes, as fit and evaluate take; a file's
        # labels are matched as text, as evaluate --data matches them
        if labels.min() < 0 or labels.max() >= len(known):
            raise FeedforwardError(f"test_data: expected class codes 0 to {len(known) - 1} "
                                   f"(or the class names), got {labels.min()} to "
                                   f"{labels.max()}")
        return x, labels.astype(np.int64), name
    return x, sources.label_codes(labels, known, label="test_data"), name


def _codes(labels, known) -> bool:
    """Whether array labels are class codes: integers, for classes named by text."""
    return (np.issubdtype(labels.dtype, np.integer)
            and all(isinstance(c, str) for c in known))
