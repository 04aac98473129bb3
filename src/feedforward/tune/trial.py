"""One trial: the recipe of ``feedforward train`` on the search's data, scored on validation.

:func:`run_trial` is what every executor runs, in this process, in a worker process or on a
Dask worker: it builds the model with the experiment recipe
(:func:`~feedforward.experiment.make_plan`, :func:`~feedforward.experiment.build_model`), and
trains it with :func:`~feedforward.experiment.fit` (early stopping that restores the best
weights, the plateau schedule, divergence detection), as ``feedforward train`` does.
"""

from __future__ import annotations

import os
import signal
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .. import callbacks, config, experiment, records
from ..data.sources import Data, unseen_told
from ..errors import FeedforwardError
from ..inputs import labels_are_ids
from ..model import Diverged
from . import cv


@dataclass(frozen=True)
class Bundle:
    """The data every trial shares: the dataset (with its classes and names) and its split.

    Attributes
    ----------
    data : feedforward.data.sources.Data
    parts : feedforward.data.Split
        ``x_train``, ``x_val``, ``x_test`` of shape ``(n_*, features)`` and the ``y_*``.
    folds : tuple of Split
        Cross-validation's splits (:func:`feedforward.tune.cv.folds`); empty: ``parts`` only.
    data_sha256 : str or None
        The SHA-256 of the CSV file the data was read from (None for a built-in dataset or
        arrays): recorded in the model files, as ``feedforward train`` does, so that
        ``feedforward evaluate --data FILE --split test`` takes the search's split again.
    fold : int or None
        Which cross-validation fold ``parts`` is (recorded in the model file: its training
        rows are not the split's), None for the split itself.
    """

    data: Data
    parts: object
    folds: tuple = ()
    data_sha256: str | None = None
    fold: int | None = None

    def provenance(self) -> dict:
        """The model record's ``data_sha256`` field, when there is a file's digest."""
        return {"data_sha256": self.data_sha256} if self.data_sha256 else {}

    def splits(self) -> dict:
        return experiment.splits(self.parts)


def exit_with_parent(interval: float = 1.0) -> threading.Thread:
    """In a worker process: exit when the process that started it dies.

    A pool's workers otherwise outlive a search killed with ``kill -9`` (they are adopted,
    and wait for work forever). A daemon thread checks the parent's id every ``interval``
    seconds; when it changes (the parent died), the worker exits at once.

    Parameters
    ----------
    interval : float
        Seconds between checks.

    Returns
    -------
    threading.Thread
        The started watcher.
    """
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(interval)
        # at once, no clean-up: the parent, which wanted the results, is gone
        os.kill(os.getpid(), signal.SIGKILL)

    thread = threading.Thread(target=watch, name="exit-with-parent", daemon=True)
    thread.start()
    return thread


def prepare(cfg, bundle: Bundle, horizon: int | None = None):
    """The recipe's plan for ``cfg`` on the bundle's data (a cosine schedule spanning
    ``horizon`` epochs, default ``cfg["epochs"]``); raises for what the data cannot serve
    (a regression loss for classes, ...)."""
    return experiment.make_plan(cfg, bundle.data, len(bundle.parts.x_train), horizon)


class Curve(callbacks.Callback):
    """Keep one logged value per epoch and, given ``ask``, stop a trial that it says to prune.

    Parameters
    ----------
    metric : str or None
        The key of the epoch logs to keep (``val_accuracy``); None keeps nothing.
    ask : callable, optional
        ``ask(step, value) -> bool`` after each epoch (``step`` 1-based): True stops training
        at the end of that epoch (the early stopping still restores the best weights).
    """

    def __init__(self, metric=None, ask=None):
        self.metric, self.ask = metric, ask
        self.values, self.pruned = [], False

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.metric)
        if value is None:
            return
        self.values.append(float(value))
        if self.ask is not None and not self.pruned and self.ask(epoch + 1, float(value)):
            self.pruned = True
            self.model.stop_training = True


def run_trial(trial: dict, bundle: Bundle, ask=None) -> tuple[dict, bytes | None]:
    """Train the configuration of ``trial`` (:meth:`Trial.to_dict`) on ``bundle``.

    Parameters
    ----------
    trial : dict
        ``index``, ``id``, ``params``, ``config``, and optionally ``metric``: the validation
        value whose curve is kept (and reported to ``ask``).
    bundle : Bundle
        The data.
    ask : callable, optional
        ``ask(step, value) -> bool``, called after each epoch with its ``metric``: True prunes
        the trial (see :class:`Curve`).

    Returns
    -------
    record : dict
        ``id``, ``index``, ``params``, ``status`` (``ok``, ``diverged`` or ``failed``),
        ``metrics`` (``val_loss`` and the ``val_`` metrics, with the restored weights),
        ``epochs`` (run), ``best_epoch`` (whose weights the model ends with), ``seconds``
        (of training), ``worker`` (``host:pid``), ``error`` (the message, or None), ``curve``
        (``metric`` after each epoch run, a list of floats; empty without a metric) and
        ``pruned`` (True when ``ask`` stopped it).
    model : bytes or None
        The trained model's file (safetensors, with the run's record in its metadata);
        None when the trial did not finish.
    """
    if bundle.folds:  # cross-validated: one run per fold, the mean scores
        return cv.run(trial, bundle, ask, run_trial)
    record = {"id": trial["id"], "index": trial["index"], "params": trial["params"],
              "status": "ok", "metrics": {}, "epochs": 0, "best_epoch": None, "seconds": 0.0,
              "worker": f"{socket.gethostname()}:{os.getpid()}", "error": None, "curve": [],
              "pruned": False}
    start = time.perf_counter()
    cfg = config.Config(trial["config"])
    curve = Curve(trial.get("metric"), ask)
    try:  # a mixed table's unseen categories were told once, at the search's loading
        with tempfile.TemporaryDirectory(prefix="feedforward-trial-") as tmp, unseen_told():
            plan = prepare(cfg, bundle)
            model = experiment.build_model(cfg, plan, bundle.data)
            history, stopper, seconds = experiment.fit(cfg, plan, model, bundle.splits(),
                                                       extra_callbacks=[curve])
            epochs = len(history.epoch)
            best = experiment.weights_epoch(stopper, epochs)
            x, y = bundle.splits()["val"]
            with labels_are_ids():
                val = model.evaluate(x, y, return_dict=True)
            record.update(metrics={f"val_{k}": float(v) for k, v in val.items()},
                          epochs=epochs, best_epoch=best, seconds=round(seconds, 4))
            model_bytes = _model_file(model, cfg, bundle, record, Path(tmp) / "model.safetensors")
    except Diverged as e:
        record.update(status="diverged", error=str(e))
        model_bytes = None
    except FeedforwardError as e:
        record.update(status="failed", error=str(e))
        model_bytes = None
    if record["status"] != "ok":
        record["seconds"] = round(time.perf_counter() - start, 4)
    record.update(curve=curve.values, pruned=curve.pruned)
    return record, model_bytes


def unfinished(trial, error: str) -> dict:
    """The record of a trial that could not train (``status`` ``failed``).

    Parameters
    ----------
    trial : Trial
        The trial.
    error : str
        Why.

    Returns
    -------
    dict
        As the record of :func:`run_trial`, with no worker.
    """
    return {"id": trial.id, "index": trial.index, "params": trial.params, "status": "failed",
            "metrics": {}, "epochs": 0, "best_epoch": None, "seconds": 0.0, "worker": None,
            "error": error, "curve": [], "pruned": False}


def _model_file(model, cfg, bundle: Bundle, record: dict, path: Path) -> bytes:
    """The model's file, with a record as ``train`` writes it (so ``feedforward evaluate``
    rebuilds its split from the configuration)."""
    results = {"val": {k[4:]: v for k, v in record["metrics"].items()}}
    run = experiment.record(cfg, bundle.data, record["epochs"], record["best_epoch"], results,
                            **bundle.provenance(),
                            tune={"trial": record["id"], "params": record["params"],
                                  **({} if bundle.fold is None else {"fold": bundle.fold})})
    records.save(model, path, run)
    return path.read_bytes()
