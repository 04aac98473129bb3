"""The search: trials from a space, run by an executor, recorded as they finish, resumable.

The output folder receives ``results.jsonl`` (appended trial by trial), ``model.safetensors``
(the best trial's model, replaced whenever a better one finishes; at the end, by default, the
refit of the best configuration on the training and validation rows: see
:mod:`feedforward.tune.final`), ``best_trial.safetensors`` (with refit: the best trial's own
model), ``best.toml`` (its configuration: ``feedforward train --config best.toml`` trains it
again), ``results.csv`` and ``results.md`` (ranked), ``tune.png`` (with matplotlib) and
``search.json`` (a summary).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .. import experiment, records
from ..data import sources
from ..errors import FeedforwardError
from ..fileio import atomic_write, digest, exclusive
from ..model import load_model
from . import adaptive, cv, executors, final, report, results, strategies
from . import space as spaces
from .strategies import make_trials
from .trial import Bundle, prepare, run_trial

MODEL_FILE = report.MODEL_FILE


@dataclass
class SearchResult:
    """What :func:`search` found.

    Parameters
    ----------
    out : Path
        The output folder.
    metric : str
        The validation metric that ranks the trials.
    mode : str
        ``max`` or ``min``: whether larger values of ``metric`` are better.
    records : list of dict
        Every trial of the search (this run's and earlier runs'), best first.
    best : dict or None
        The best finished trial's record.
    ran : list of str
        Ids of the trials run by this call (the others came from ``results.jsonl``).
    test : dict
        The result model's loss and metrics on the test file or the internal test split,
        scored once, at the end (empty without either).
    tested : str
        What ``test`` was scored on: ``test file held_out.csv (1000 rows)``.
    model : dict
        The saved model: ``kind`` (``refit`` or ``trial``), ``trial``, ``rows`` (trained
        on), ``epochs``, ``error`` (why a refit fell back to the trial's model).
    seconds : float
        Wall-clock time of this call.
    """

    out: Path
    metric: str
    mode: str
    records: list
    best: dict | None
    ran: list = field(default_factory=list)
    test: dict = field(default_factory=dict)
    tested: str = ""
    model: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def best_params(self) -> dict | None:
        """The best trial's parameters (None when no trial finished)."""
        return None if self.best is None else self.best["params"]

    def best_model(self):
        """The search's result model (the refit, or the best trial's), loaded from the output
        folder.

        Returns
        -------
        Sequential
        """
        return load_model(self.out / MODEL_FILE)


def search(space, data=None, *, out=None, strategy=None, trials=None, seed=None, metric=None,
           grid_points=None, pruner=None, refit=None, test_data=None, cv=None, jobs=1,
           scheduler=None, client=None, retries=2, plots=True, console=None,
           on_result=None) -> SearchResult:
    """Search the space; record every trial in ``out``; resume where an earlier run stopped.

    Parameters
    ----------
    space : str, Path, dict or Space
        A space file (see ``docs/tune.md``), or its tables as a dict.
    data : tuple (x, y), optional
        ``x`` of shape ``(n, features)``, ``y`` of shape ``(n,)``; default: the ``dataset``
        of ``[fixed]`` (digits without one). It is split by ``val``, ``test`` and ``seed``.
    out : str or Path, optional
        Output folder; default ``runs/tune-<space file name>``.
    strategy, trials, seed, metric, grid_points, pruner : optional
        Override the ``[tune]`` table.
    refit : bool, optional
        Train the best configuration again on the training and validation rows and return
        that model (default: the ``[tune]`` table's, True).
    test_data : str, Path or tuple (x, y), optional
        A labelled file (or arrays) that scores the result model once, at the end; then no
        internal test split is taken. Default: the ``[tune]`` table's ``test_data``.
    cv : int, optional
        Score each trial by the mean validation score over ``cv`` folds of the training and
        validation rows (default: the ``[tune]`` table's; None: one validation split).
    jobs : int
        Local processes (1: trials run in this process; 0: one per CPU).
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:8786``): trials run on its workers.
    client : dask.distributed.Client, optional
        A client to run the trials with (instead of ``scheduler``).
    retries : int
        Dask reruns of a trial that raised; local restarts of the process pool after a
        worker process died.
    plots : bool
        Write ``tune.png`` (needs matplotlib).
    console : rich.console.Console, optional
        Where progress goes; default: a quiet one (nothing printed).
    on_result : callable, optional
        Called with each trial's record as it is written.

    Returns
    -------
    SearchResult
    """
    start = time.perf_counter()
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 0:
        raise FeedforwardError(f"jobs: expected 0 (one per CPU) or a positive integer, got "
                               f"{jobs!r}")
    console = console or Console(quiet=True)
    arrays = test_data if isinstance(test_data, (tuple, list)) else None
    space = spaces.load(space, strategy=strategy, trials=trials, seed=seed, metric=metric,
                        grid_points=grid_points, pruner=pruner, refit=refit, cv=cv,
                        test_data=None if arrays is not None else _path(test_data))
    test_data = arrays if arrays is not None else space.settings["test_data"]
    if test_data is not None:
        final.check_test_file(test_data)
        final.without_test_split(space)
    adaptive_search = space.settings["strategy"] == "tpe"  # its trials come as it runs
    trial_list = strategies.probes(space) if adaptive_search else make_trials(space)
    bundle = _bundle(space, trial_list[0], data)
    metric = _metric(space, trial_list, bundle)
    if test_data is not None:
        final.check_test_data(test_data, space, trial_list[0].params, bundle)
    fingerprint = space.fingerprint(_data_digest(bundle))
    out = _out_folder(out, space)
    with exclusive(out, ".tune.lock", "another search"):  # else every trial ran twice
        jsonl = out / results.JSONL
        done = results.read(jsonl, fingerprint, note=console.print)
        if adaptive_search:
            trial_list = strategies.from_records(space, done.values())
        pending = [t for t in trial_list if t.id not in done]
        total = max(space.settings["trials"], len(done)) if adaptive_search else len(trial_list)
        to_run = total - len(done) if adaptive_search else len(pending)
        wanted = {t.id for t in trial_list}
        best = _best([r for i, r in done.items() if i in wanted], metric)
        console.print(f"{total} trials ({space.settings['strategy']} search of "
                      f"{', '.join(space.ranges)}), ranked by {metric}; "
                      f"{total - to_run} already in {jsonl}, {to_run} to run")
        own = executors.connect(scheduler) if to_run and client is None and scheduler else None
        try:
            with _progress(console, total, total - to_run) as progress:
                if adaptive_search and to_run:
                    runs = adaptive.execute(space, bundle, out, fingerprint, metric, done,
                                            jobs=jobs, client=client or own, retries=retries)
                else:
                    runs = _execute(pending, bundle, jobs, client or own, retries, fingerprint,
                                    metric)
                best, ran = _record(runs, out, fingerprint, done, best, metric, progress, on_result)
        finally:
            if own is not None:
                own.close()
        if adaptive_search:
            trial_list = strategies.from_records(space, done.values())
        ranked = results.rank([done[t.id] for t in trial_list if t.id in done], metric)
        result = SearchResult(out, metric, results.direction(metric), ranked, best, ran)
        if best is not None:
            _finish_model(result, space, trial_list, bundle, test_data, console)
        report.finish(result, space, trial_list, bundle, plots, console)
        result.seconds = time.perf_counter() - start
        return result


# ---------------------------------------------------------------------------- set-up
def _bundle(space, first, data) -> Bundle:
    cfg, _ = space.config(first.params)  # the data options are the same in every trial
    prepared, parts = experiment.load(cfg, None if data is None else sources.from_arrays(data))
    if len(parts.x_val) == 0:
        raise cfg.error("val", "a search ranks its trials on the validation split; set val "
                               "above 0")
    k = space.settings["cv"]
    # the file's digest, as train records it: evaluate --split takes the split from that file
    csv = sources.csv_file(cfg["dataset"]) if data is None else None
    return Bundle(prepared, parts, cv.folds(prepared, parts, k, cfg["seed"]) if k else (),
                  None if csv is None else digest(csv, cfg.label("dataset")))


def _metric(space, trial_list, bundle) -> str:
    """The ranking metric; each trial's plan is made here, so that a configuration the data
    cannot serve fails before anything trains."""
    logged = None
    for trial in trial_list:
        cfg, _ = space.config(trial.params)
        plan = prepare(cfg, bundle)
        logged = logged or ["val_loss", *(f"val_{m}" for m in plan.metrics)]
    name = space.settings["metric"]
    if name == "auto":
        return "val_accuracy" if "val_accuracy" in logged else "val_loss"
    if name not in logged:
        raise FeedforwardError(f"tune.metric (in {space.file}): {name!r} is not a validation "
                               f"value of these trials; choose from {', '.join(logged)}")
    return name


def _data_digest(bundle: Bundle) -> str:
    """The same for the same rows in every process: a table with text columns is an object
    array, whose bytes are pointers, so its cells are hashed as text."""
    p, h = bundle.parts, hashlib.sha256()
    for a in (p.x_train, p.x_val, p.y_train, p.y_val):
        a = np.asarray(a)
        if a.dtype.hasobject:
            h.update(f"{a.shape}".encode() + "\x1f".join(map(repr, a.ravel().tolist())).encode())
        else:
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def _out_folder(out, space) -> Path:
    if out is None:
        stem = Path(space.file).stem if space.file != "the space" else "space"
        out = Path("runs") / f"tune-{stem}"
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FeedforwardError(f"--out: cannot create the folder {str(out)!r} "
                               f"({e.strerror or e})") from None
    return out


def _best(records, metric):
    best = None
    for record in sorted(records, key=lambda r: r["index"]):
        if results.better(record, best, metric):
            best = record
    return best


# ---------------------------------------------------------------------------- running
def _execute(pending, bundle, jobs, client, retries, fingerprint, metric):
    if not pending:
        return iter(())
    if client is not None:
        return executors.dask(pending, bundle, client, retries, tag=f"trial-{fingerprint}",
                              metric=metric)
    return executors.local(pending, bundle, jobs or os.cpu_count() or 1, retries, metric)


def _record(runs, out, fingerprint, done, best, metric, progress, on_result):
    """Write each finished trial (``(record, model_bytes)`` from ``runs``) to ``out``: the
    model first if it is the best so far, then its line. Returns the best record and the ids
    written."""
    bar, task = progress
    ran = []
    for record, model_bytes in runs:
        if record["id"] in done:  # never twice, whatever an executor reran
            continue
        record = {"search": fingerprint, **record}
        if results.better(record, best, metric) and model_bytes is not None:
            # the model before the line: a kill in between reruns the trial, which writes it
            atomic_write(out / MODEL_FILE, model_bytes, label="--out")
            best = record
        results.append(out / results.JSONL, record)
        done[record["id"]] = record
        ran.append(record["id"])
        bar.update(task, advance=1, description=_describe(best, metric))
        if on_result is not None:
            on_result(record)
    return best, ran


def _finish_model(result, space, trial_list, bundle, test_data, console) -> None:
    """The result model (the refit, or the best trial's) and its one held-out score."""
    best = result.best
    result.model = final.settle(result.out, space, best, bundle,
                                lambda path: _retrain(path, best, trial_list, bundle),
                                console.print)
    result.test, result.tested = final.score(result.out, bundle, test_data)


def _path(value):
    return None if value is None else str(value)


def _retrain(path, best, trial_list, bundle) -> None:
    """Write the best trial's model to ``path`` by training that trial again (it gives the
    same model): after a shorter rerun of a longer search, or when the file is gone."""
    trial = next(t for t in trial_list if t.id == best["id"])
    # a pruned trial stopped at its last epoch: stop the retraining there too
    stop = (lambda step, value: step >= best["epochs"]) if best.get("pruned") else None
    _, model_bytes = run_trial(executors.sendable(trial), bundle, stop)
    atomic_write(path, model_bytes, label="--out")


class _progress:
    """A rich progress bar over the trials (nothing on a quiet console)."""

    def __init__(self, console, total, completed):
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=console, disable=console.quiet)
        self.task = self.bar.add_task("trials", total=total, completed=completed)

    def __enter__(self):
        self.bar.__enter__()
        return self.bar, self.task

    def __exit__(self, *exc):
        return self.bar.__exit__(*exc)


def _describe(best, metric) -> str:
    if best is None:
        return "trials"
    return f"best {metric} {records.fmt(metric, best['metrics'][metric])} ({best['id']})"
