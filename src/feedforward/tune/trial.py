"""One trial: a ``feedforward train`` run on the search's data, scored on the validation split.

:func:`run_trial` is what every executor runs, in this process, in a worker process or on a
Dask worker: it builds the model with ``train``'s own :func:`~feedforward.cli.train.make_plan`
and :func:`~feedforward.cli.train.build_model`, and trains it with ``train``'s ``_fit`` (early
stopping that restores the best weights, the plateau schedule, divergence detection).
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..cli import common, config, datasets, train
from ..errors import FeedforwardError
from ..model import Diverged


@dataclass(frozen=True)
class Bundle:
    """The data every trial shares: the dataset (with its classes and names) and its split.

    Attributes
    ----------
    data : feedforward.cli.datasets.Data
    parts : feedforward.data.Split
        ``x_train``, ``x_val``, ``x_test`` of shape ``(n_*, features)`` and the ``y_*``.
    """

    data: datasets.Data
    parts: object

    def splits(self) -> dict:
        p = self.parts
        return {"train": (p.x_train, p.y_train), "val": (p.x_val, p.y_val),
                "test": (p.x_test, p.y_test)}


def prepare(cfg, bundle: Bundle):
    """``train``'s plan for ``cfg`` on the bundle's data; raises for what the data cannot
    serve (a regression loss for classes, ...)."""
    return train.make_plan(cfg, bundle.data, len(bundle.parts.x_train))


def run_trial(trial: dict, bundle: Bundle) -> tuple[dict, bytes | None]:
    """Train the configuration of ``trial`` (:meth:`Trial.to_dict`) on ``bundle``.

    Returns
    -------
    record : dict
        ``id``, ``index``, ``params``, ``status`` (``ok``, ``diverged`` or ``failed``),
        ``metrics`` (``val_loss`` and the ``val_`` metrics, with the restored weights),
        ``epochs`` (run), ``best_epoch`` (whose weights the model ends with), ``seconds``
        (of training), ``worker`` (``host:pid``) and ``error`` (the message, or None).
    model : bytes or None
        The trained model's file (safetensors, with the run's record in its metadata);
        None when the trial did not finish.
    """
    record = {"id": trial["id"], "index": trial["index"], "params": trial["params"],
              "status": "ok", "metrics": {}, "epochs": 0, "best_epoch": None, "seconds": 0.0,
              "worker": f"{socket.gethostname()}:{os.getpid()}", "error": None}
    start = time.perf_counter()
    quiet = common.console(quiet=True)
    cfg = config.Config(trial["config"])
    try:
        with tempfile.TemporaryDirectory(prefix="feedforward-trial-") as tmp:
            plan = prepare(cfg, bundle)
            model = train.build_model(cfg, plan, bundle.data)
            history, stopper, seconds = train._fit(cfg, plan, model, bundle.splits(), Path(tmp),
                                                   quiet)
            epochs = len(history.epoch)
            best = train._weights_epoch(stopper, epochs, quiet)
            x, y = bundle.splits()["val"]
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
    return record, model_bytes


def _model_file(model, cfg, bundle: Bundle, record: dict, path: Path) -> bytes:
    """The model's file, with a record as ``train`` writes it (so ``feedforward evaluate``
    rebuilds its split from the configuration)."""
    data = bundle.data
    results = {"val": {k[4:]: v for k, v in record["metrics"].items()}}
    run = {"config": dict(cfg), "dataset": data.name, "task": data.task,
           "feature_names": data.feature_names, "target_name": data.target_name,
           "epochs": record["epochs"], "weights_epoch": record["best_epoch"],
           "results": results, "tune": {"trial": record["id"], "params": record["params"]}}
    common.save(model, path, run)
    return path.read_bytes()
