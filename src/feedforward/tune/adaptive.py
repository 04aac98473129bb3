"""The ``tpe`` strategy: Optuna's TPE sampler picks each trial from the results of the
others, and a pruner stops the trials whose validation curve falls behind.

The study is kept in the output folder, in Optuna's journal file (``study.journal``), beside
``results.jsonl``. The search's process alone reads and writes it: it asks the study for a
trial when an executor slot is free, answers the trials' per-epoch questions
(:mod:`feedforward.tune.pruning`), writes each finished trial's line to ``results.jsonl``, and
then tells the study. A trial's number in the study is its ``index``.

Resuming: a study trial with a line in ``results.jsonl`` is done (its result is told to the
study if the kill came between the line and the telling); one without a line was running at
the kill: it is marked failed in the study and its parameters are run again as a new trial.
No trial that finished (completed, pruned, diverged or failed) runs twice.

Optuna is imported only when this strategy is used (``pip install 'feedforward[tune]'``).
"""

from __future__ import annotations

import copy
import os
import threading
import time

import numpy as np

from ..errors import FeedforwardError
from . import executors, pruning, results
from .space import digest
from .strategies import Trial, probes
from .trial import unfinished

JOURNAL = "study.journal"
LOCK_SECONDS = 30.0
"""How long a journal lock whose holder seems alive is waited for."""


def optuna_module():
    """Optuna, quieted to warnings; an error that says how to install it if absent."""
    try:
        import optuna
    except ImportError:
        raise FeedforwardError('tune.strategy: "tpe" needs Optuna; pip install '
                               "'feedforward[tune]'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


# ---------------------------------------------------------------------------- the study
def distributions(optuna, space) -> dict:
    """Optuna's distribution of each range of ``space``: a choice is the index of its value
    (choices may be lists or tables, which Optuna's categories cannot hold)."""
    out = {}
    for key, rng in space.ranges.items():
        if rng.kind == "choice":
            out[key] = optuna.distributions.CategoricalDistribution(list(range(len(rng.values))))
        elif rng.kind in ("uniform", "log_uniform"):
            out[key] = optuna.distributions.FloatDistribution(*rng.values, log=rng.log)
        else:
            out[key] = optuna.distributions.IntDistribution(*rng.values, log=rng.log)
    return out


def decode(space, sampled: dict) -> dict:
    """The searched options' values of Optuna's ``sampled`` parameters."""
    out = {}
    for key, value in sampled.items():
        rng = space.ranges[key]
        out[key] = copy.deepcopy(rng.values[value]) if rng.kind == "choice" else value
    return out


def make_pruner(optuna, name: str, epochs: int):
    """Optuna's pruner ``name`` (one of ``PRUNERS``) for trials of at most ``epochs``.

    The median pruner compares from the fifth trial on and lets each trial run a tenth of its
    epochs first; successive halving and Hyperband start their rungs at a sixteenth of the
    epochs and keep a third at each.
    """
    pruners = optuna.pruners
    low = max(1, epochs // 16)
    if name == "median":
        return pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=max(1, epochs // 10))
    if name == "halving":
        return pruners.SuccessiveHalvingPruner(min_resource=low, reduction_factor=3)
    if name == "hyperband":
        return pruners.HyperbandPruner(min_resource=low, max_resource=max(epochs, low),
                                       reduction_factor=3)
    return pruners.NopPruner()


def max_epochs(space, probe) -> int:
    """The most epochs a trial of ``space`` can train (``probe``: any of its trials)."""
    rng = space.ranges.get("epochs")
    if rng is None:
        return int(probe.config["epochs"])
    return int(max(rng.values))


class ProcessLock:
    """The journal's lock: a file that holds the writing process's id. A lock that a killed
    process left is taken over at once (Optuna's own locks wait 30 s for it), one whose
    holder seems alive after :data:`LOCK_SECONDS` (its id reused) as well.

    Parameters
    ----------
    path : str
        The journal file; the lock is ``path`` with ``.lock``.
    """

    def __init__(self, path: str):
        self.path = path + ".lock"

    def acquire(self) -> bool:
        """Wait for the lock and take it; True."""
        start = time.monotonic()
        while True:
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                if self._stale() or time.monotonic() - start > LOCK_SECONDS:
                    self.release()
                else:
                    time.sleep(0.005)
                continue
            with os.fdopen(fd, "w") as f:
                f.write(str(os.getpid()))
            return True

    def release(self) -> None:
        """Remove the lock file."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def _stale(self) -> bool:
        try:
            with open(self.path) as f:
                text = f.read()
            age = time.time() - os.stat(self.path).st_mtime
        except FileNotFoundError:
            return False
        if not text.isdigit():  # killed between creating it and writing its id
            return age > 1.0
        pid = int(text)
        if pid == os.getpid():  # this process's writes are serialized by the storage
            return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, another user's
            return False
        return False


def open_study(space, out, fingerprint: str, metric: str, epochs: int):
    """Create or load the study of ``out``'s journal, with the TPE sampler and the pruner.

    The sampler's seed is the search's with the number of trials the study holds, so that a
    resumed search does not draw the same random trials again.
    """
    optuna = optuna_module()
    journal = optuna.storages.journal
    path = str(out / JOURNAL)
    storage = optuna.storages.JournalStorage(
        journal.JournalFileBackend(path, lock_obj=ProcessLock(path)))
    study = optuna.create_study(
        storage=storage, study_name=f"feedforward-{fingerprint}", load_if_exists=True,
        pruner=make_pruner(optuna, space.settings["pruner"], epochs),
        direction="maximize" if results.direction(metric) == "max" else "minimize")
    seen = len(study.get_trials(deepcopy=False))
    seed = int(np.random.SeedSequence([space.settings["seed"], seen]).generate_state(1)[0])
    # each option modelled on its own, after 10 random trials (Optuna 4's defaults): on the
    # benchmark's wide spaces, the multivariate model (Optuna 5's default) settled on its
    # first good region, and fewer random trials first made that worse
    study.sampler = optuna.samplers.TPESampler(seed=seed, multivariate=False,
                                               n_startup_trials=10, constant_liar=True)
    return study


# ---------------------------------------------------------------------------- the search
class Search:
    """Ask the study for trials, run them on ``slots``, tell it their results.

    Parameters
    ----------
    space : Space
    study : optuna.Study
    metric : str
        The validation value the study optimizes (reported each epoch).
    done : dict
        The records of ``results.jsonl`` by id; finished trials are added as they end.
    """

    def __init__(self, space, study, metric: str, done: dict):
        self.space, self.study, self.metric, self.done = space, study, metric, done
        self.optuna = optuna_module()
        self.distributions = distributions(self.optuna, space)
        self.lock = threading.Lock()
        self.oracle = pruning.Oracle(self.lock)
        self.trials = {}  # number -> Trial, while running
        self.reconcile()

    def reconcile(self) -> None:
        """Make the study agree with ``results.jsonl`` after a kill (see the module)."""
        state = self.optuna.trial.TrialState
        ids = set()
        for frozen in self.study.get_trials(states=(state.RUNNING, state.COMPLETE,
                                                    state.PRUNED, state.FAIL)):
            trial_id = frozen.user_attrs.get("id")  # none: killed as it was asked
            ids.add(trial_id)
            record = self.done.get(trial_id)
            if frozen.state == state.RUNNING:
                if record is not None:  # killed between the line and the telling
                    self._tell(frozen.number, record)
                else:  # killed while it ran: run its parameters again, as a new trial
                    self.study.tell(frozen.number, state=state.FAIL)
                    self.study.enqueue_trial(frozen.params,
                                             user_attrs={"rerun": frozen.number})
            elif frozen.state != state.FAIL and record is None:
                raise FeedforwardError(
                    f"--out: {JOURNAL} holds finished trial {trial_id} that results.jsonl "
                    "lacks: the two files belong together; delete both to start again")
        missing = sorted(set(self.done) - ids)
        if missing:
            raise FeedforwardError(
                f"--out: results.jsonl holds trials that {JOURNAL} lacks ({missing[0]}, ...): "
                "the two files belong together; restore it, or delete both to start again")

    def finished(self) -> int:
        """The trials with a result (those of ``results.jsonl``)."""
        return len(self.done)

    def run(self, slots, channel):
        """Keep ``slots`` full until the ``trials`` budget is spent; yield each finished
        trial's ``(record, model_bytes)``, and tell the study its result once the caller
        (which writes its line) asks for the next."""
        budget = self.space.settings["trials"]
        while True:
            while len(self.trials) < slots.capacity and \
                    self.finished() + len(self.trials) < budget:
                trial, refused = self.ask()
                if refused is not None:  # a configuration that cannot train: recorded
                    yield refused, None
                    self._tell(trial.index, refused)
                    continue
                slots.submit(trial, self.metric, channel.asker(trial.index))
            if not self.trials:
                return
            record, model = slots.next()
            yield record, model
            self._tell(record["index"], record)

    def ask(self) -> tuple[Trial, dict | None]:
        """A new trial from the study, its id recorded in the study; and None, or the record
        of its failure when its configuration is refused (``train`` would refuse it too)."""
        with self.lock:
            sampled = self.study.ask(self.distributions)
            params, refused = decode(self.space, sampled.params), None
            try:
                cfg, params = self.space.config(params)
            except FeedforwardError as e:
                cfg, refused = {}, str(e)
            trial = Trial(sampled.number, f"{sampled.number:04d}-{digest(params)[:8]}",
                          params, dict(cfg))
            sampled.set_user_attr("id", trial.id)
            self.oracle.add(sampled)
        self.trials[trial.index] = trial
        return trial, None if refused is None else unfinished(trial, refused)

    def _tell(self, number: int, record: dict) -> None:
        state = self.optuna.trial.TrialState
        value = record["metrics"].get(self.metric)
        with self.lock:
            if number in self.oracle.running:
                self.oracle.remove(number)
            self.trials.pop(number, None)
            if record["status"] != "ok" or value is None or not np.isfinite(value):
                self.study.tell(number, state=state.FAIL, skip_if_finished=True)
            elif record.get("pruned"):
                self.study.tell(number, state=state.PRUNED, skip_if_finished=True)
            else:
                self.study.tell(number, value, skip_if_finished=True)


def execute(space, bundle, out, fingerprint: str, metric: str, done: dict, *, jobs: int = 1,
            client=None, retries: int = 2):
    """Run a ``tpe`` search until ``done`` holds ``trials`` records.

    Parameters
    ----------
    space : Space
    bundle : Bundle
    out : Path
        The output folder, which keeps the study's journal.
    fingerprint : str
        The search's fingerprint (names the study).
    metric : str
        The validation value to optimize.
    done : dict
        The records of ``results.jsonl`` by id; the caller adds each new one.
    jobs : int
        Local processes (0: one per CPU); with ``client``, its workers instead.
    client : dask.distributed.Client, optional
    retries : int
        As for :func:`~feedforward.tune.executors.local` and ``dask``.

    Returns
    -------
    iterator of (dict, bytes or None)
        Each finished trial's record and model file.
    """
    study = open_study(space, out, fingerprint, metric, max_epochs(space, probes(space, 1)[0]))
    search = Search(space, study, metric, done)
    jobs = jobs or os.cpu_count() or 1
    if client is not None:
        slots = executors.DaskSlots(bundle, client, retries, tag=f"trial-{fingerprint}")
    elif jobs > 1:
        slots = executors.ProcessSlots(bundle, jobs, retries)
    else:
        slots = executors.Slots(bundle)
    with slots:
        server = channel(search, slots, client)
        try:
            yield from search.run(slots, server)
        finally:
            server.close()


def channel(search: Search, slots, client):
    """How the trials on ``slots`` ask ``search`` whether to stop (see
    :mod:`~feedforward.tune.pruning`)."""
    if isinstance(slots, executors.DaskSlots):
        return pruning.DaskServer(search.oracle, client, slots.distributed)
    if isinstance(slots, executors.ProcessSlots):
        return pruning.SocketServer(search.oracle)
    return pruning.Direct(search.oracle)
