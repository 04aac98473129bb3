"""Cross-validated trials (``cv = K``): each trial trains K times, and scores the mean.

The training and validation rows of the search are dealt into K folds (stratified for
classification, by the search's seed); fold *i* validates a model trained on the others. A
trial's ``metrics`` are the means over the folds, its ``best_epoch`` the mean best epoch
(rounded; the refit trains that long), its ``seconds`` their sum, and ``folds`` lists each
fold's value of the ranking metric. A pruner sees the first fold only: a trial it stops there
runs no other fold. The internal test split (or the test file) stays out of every fold.
"""

from __future__ import annotations

import numpy as np

from ..data.sources import Data
from ..errors import FeedforwardError


def folds(data: Data, parts, k: int, seed: int) -> tuple:
    """``k`` splits of the training and validation rows, each fold the validation once.

    Parameters
    ----------
    data : Data
        Its ``task`` decides whether the folds are stratified.
    parts : feedforward.data.Split
        The search's split; ``x_train`` and ``x_val`` (``(n, features)``) are dealt.
    k : int
        The number of folds, 2 or more.
    seed : int
        Deals the rows.

    Returns
    -------
    tuple of Split
        ``k`` splits, each with the search's test rows.
    """
    x = np.concatenate([parts.x_train, parts.x_val])
    y = np.concatenate([parts.y_train, parts.y_val])
    if k > len(x) // 2:
        raise FeedforwardError(f"cv: {k} folds of {len(x)} training and validation rows leave "
                               "fewer than 2 rows a fold; choose fewer folds")
    rng = np.random.default_rng([seed, k])
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if data.task == "classification" \
        else [np.arange(len(x))]
    fold = np.empty(len(x), dtype=np.int64)
    start = 0
    for rows in groups:  # dealt in turn: each class spread over the folds
        rows = rng.permutation(rows)
        fold[rows] = (start + np.arange(len(rows))) % k
        start += len(rows)
    return tuple(parts._replace(x_train=x[fold != i], y_train=y[fold != i],
                                x_val=x[fold == i], y_val=y[fold == i]) for i in range(k))


def run(trial: dict, bundle, ask, run_one) -> tuple[dict, bytes | None]:
    """Run ``trial`` on each fold of ``bundle`` with ``run_one`` and merge the records.

    Parameters
    ----------
    trial : dict
        As for :func:`~feedforward.tune.trial.run_trial`.
    bundle : Bundle
        With ``folds`` (a tuple of Split).
    ask : callable or None
        The pruner's question, asked on the first fold only.
    run_one : callable
        ``run_one(trial, bundle, ask) -> (record, model_bytes)`` on a bundle of one split.

    Returns
    -------
    record : dict
        The merged record (see the module docstring).
    model : bytes or None
        The first fold's model.
    """
    records, model = [], None
    for i, parts in enumerate(bundle.folds):
        fold = type(bundle)(bundle.data, parts, data_sha256=bundle.data_sha256, fold=i)
        record, model_bytes = run_one(trial, fold, ask if i == 0 else None)
        records.append(record)
        model = model if i else model_bytes
        if record["status"] != "ok" or record.get("pruned"):
            return record, model_bytes  # a failure, or pruned on the first fold: no more
    metric = trial.get("metric")
    merged = dict(records[0])
    merged.update(
        metrics={k: float(np.mean([r["metrics"][k] for r in records])) for k in
                 records[0]["metrics"]},
        epochs=int(round(np.mean([r["epochs"] for r in records]))),
        best_epoch=int(round(np.mean([r["best_epoch"] for r in records]))),
        seconds=round(sum(r["seconds"] for r in records), 4),
        folds=[r["metrics"].get(metric) for r in records])
    return merged, model
