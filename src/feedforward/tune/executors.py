"""Where the trials run: in this process, in a pool of local processes, or on a Dask cluster.

Each executor is a generator over ``(record, model_bytes)`` pairs (see
:func:`~feedforward.tune.trial.run_trial`) in the order the trials finish, so that the caller
records each result as soon as it exists. The data travels to each worker once: as the pool's
initializer argument, or scattered to every Dask worker, the trials then naming it.

Dask is imported only when a Dask executor is used.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, as_completed, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

from ..errors import FeedforwardError
from .trial import Bundle, exit_with_parent, run_trial, unfinished

# A trial is a small network: its BLAS calls gain little from threads, and N processes with
# M threads each on N cores would fight over them.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def local(trials, bundle: Bundle, jobs: int = 1, retries: int = 2, metric=None):
    """Run ``trials`` here (``jobs=1``) or in ``jobs`` processes, one BLAS thread each.

    When a worker process dies, the pool is started again for the trials not yet finished,
    at most ``retries`` times. ``metric`` names the validation value whose curve each record
    keeps.
    """
    if jobs <= 1 or len(trials) <= 1:
        for trial in trials:
            yield run_trial(sendable(trial, metric), bundle)
        return
    left = {t.id: t for t in trials}
    for attempt in range(retries + 1):
        try:
            for record, model in _pool(list(left.values()), bundle, jobs, metric):
                del left[record["id"]]
                yield record, model
            return
        except BrokenProcessPool:
            if attempt == retries:
                raise FeedforwardError(
                    f"--jobs: worker processes died {retries + 1} times (out of memory, or "
                    "killed); the finished trials are recorded: run the search again to run "
                    "the others") from None


def sendable(trial, metric=None) -> dict:
    """The trial as plain data for :func:`~feedforward.tune.trial.run_trial`, with the
    ``metric`` whose curve its record keeps."""
    return {**trial.to_dict(), "metric": metric}


_bundle = None  # a pool worker's data, set once by its initializer


def _init_worker(bundle: Bundle) -> None:
    global _bundle
    _bundle = bundle
    exit_with_parent()  # not orphaned when the search is killed


def run_in_worker(trial: dict, ask=None):
    """:func:`~feedforward.tune.trial.run_trial` in a pool worker, on the data its
    initializer received."""
    return run_trial(trial, _bundle, ask)


@contextmanager
def single_threaded_blas():
    """Set the BLAS and OpenMP thread counts to 1 in the environment that new processes
    inherit; restore them on exit."""
    saved = {k: os.environ.get(k) for k in THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, "1"))
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def process_pool(bundle, jobs: int) -> ProcessPoolExecutor:
    """``jobs`` worker processes, each holding ``bundle``, to submit :func:`run_in_worker`
    to. They start with ``spawn`` as the trials are submitted: submit within
    :func:`single_threaded_blas`."""
    # spawn, not fork: a forked child would inherit this process's BLAS threads and locks
    return ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(bundle,))


def _pool(trials, bundle, jobs, metric=None):
    with single_threaded_blas():  # the workers start while the trials are submitted
        pool = process_pool(bundle, min(jobs, len(trials)))
        try:
            futures = [pool.submit(run_in_worker, sendable(t, metric)) for t in trials]
            for future in as_completed(futures):
                yield future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------------------- Dask
CONNECT_SECONDS = 10.0
"""How long a scheduler has to connect and answer Dask's handshake."""


def connect(address: str):
    """A ``dask.distributed.Client`` of the scheduler at ``address`` (``tcp://HOST:8786``).

    The handshake is tried first within :data:`CONNECT_SECONDS`: Dask waits for the answer
    without a limit, and reads a foreign answer's first bytes as sizes (an HTTP server's
    ``HTTP/1.1`` asks for 3 EiB).
    """
    distributed = distributed_module("--scheduler")
    _handshake(distributed, address, CONNECT_SECONDS)
    try:
        return distributed.Client(address, timeout=f"{CONNECT_SECONDS}s")
    except Exception as e:  # noqa: BLE001 - as in the handshake: see _not_connected
        raise _not_connected(address, e) from None


def _handshake(distributed, address: str, seconds: float) -> None:
    """Open a Dask connection to ``address`` and close it, in a thread of its own (whatever
    event loop the caller runs), giving up after ``seconds``."""
    outcome = {}

    async def shake():
        comm = await asyncio.wait_for(distributed.comm.connect(address, timeout=seconds),
                                      seconds)
        await comm.close()

    def run():
        try:
            asyncio.run(shake())
            outcome["ok"] = True
        except Exception as e:  # noqa: BLE001 - any failure: reported to the caller below
            outcome["error"] = e

    thread = threading.Thread(target=run, name="feedforward-scheduler-handshake", daemon=True)
    thread.start()
    thread.join(seconds + 5)  # the wait_for above ends it sooner; this bounds it regardless
    if "ok" in outcome:
        return
    error = outcome.get("error")
    if error is None or isinstance(error, TimeoutError):
        raise FeedforwardError(
            f"--scheduler: {address!r} did not answer as a Dask scheduler within {seconds:g} "
            "s; give the tcp:// address that `dask scheduler` prints")
    raise _not_connected(address, error)


def _not_connected(address, error) -> FeedforwardError:
    if isinstance(error, OSError):  # refused, unreachable, closed
        return FeedforwardError(f"--scheduler: cannot connect to {address!r} ({error}); start "
                                "it with `dask scheduler` and give its tcp:// address")
    # a malformed address, or a server whose answer is not Dask's (MemoryError, ValueError,
    # a msgpack error, ...: whatever its bytes made of Dask's reader)
    return FeedforwardError(f"--scheduler: {address!r} is not a Dask scheduler's address "
                            f"({type(error).__name__}: {str(error)[:120]}); give the tcp:// "
                            "address that `dask scheduler` prints")


def dask(trials, bundle: Bundle, client, retries: int = 2, tag: str = "feedforward",
         metric=None):
    """Run ``trials`` on the workers of ``client``.

    The bundle is scattered to every worker once (``broadcast=True``). A trial whose worker
    dies is rerun on another by the scheduler; ``retries`` reruns one that raised. Each trial's
    result comes back once, whatever ran twice.
    """
    distributed = distributed_module("client")
    data = scatter(client, bundle)
    futures = [client.submit(run_trial, sendable(t, metric), data, key=f"{tag}-{t.id}",
                             pure=False, retries=retries) for t in trials]
    by_key = {f.key: t for f, t in zip(futures, trials, strict=True)}
    try:
        for future in distributed.as_completed(futures):
            try:
                result = future.result()
            except distributed.KilledWorker as e:  # it killed worker after worker
                result = (lost(by_key[future.key], e), None)
            future.release()
            yield result
    finally:
        client.cancel(futures)
        data.release()


def scatter(client, bundle: Bundle):
    """The bundle sent to every worker of ``client`` once (a Dask future)."""
    try:
        return client.scatter(bundle, broadcast=True)
    except TimeoutError:  # no worker has joined the scheduler
        raise FeedforwardError(f"--scheduler: the cluster at {client.scheduler.address} has no "
                               "workers; start some with `dask worker ADDRESS`") from None


def lost(trial, error) -> dict:
    """The record of a trial whose Dask workers kept dying (``KilledWorker``)."""
    return unfinished(trial, f"its workers died while running it ({error})")


def distributed_module(label):
    """The ``distributed`` package, or an error naming ``label`` that says how to install it."""
    try:
        import distributed
    except ImportError:
        raise FeedforwardError(f"{label}: Dask is not installed; pip install "
                               "'feedforward[distributed]'") from None
    return distributed


# ---------------------------------------------------------------------------- one at a time
class Slots:
    """Run trials given one at a time, for a strategy that decides each trial after the
    results of the others: :meth:`submit` up to :attr:`capacity` trials, :meth:`next` waits
    for one to finish. A context manager; this base runs each trial in this process.

    Parameters
    ----------
    bundle : Bundle
        The data.
    """

    capacity = 1

    def __init__(self, bundle: Bundle):
        self.bundle, self.queued = bundle, []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def submit(self, trial, metric, ask) -> None:
        """Start ``trial`` (a Trial), keeping the curve of ``metric``, asking ``ask`` each
        epoch whether to stop."""
        self.queued.append((trial, metric, ask))

    def next(self) -> tuple[dict, bytes | None]:
        """The next finished trial's ``(record, model_bytes)``."""
        trial, metric, ask = self.queued.pop(0)
        return run_trial(sendable(trial, metric), self.bundle, ask)


class ProcessSlots(Slots):
    """:class:`Slots` in ``jobs`` local processes; a dead worker process restarts the pool,
    with the trials it was running, at most ``retries`` times."""

    def __init__(self, bundle: Bundle, jobs: int, retries: int):
        super().__init__(bundle)
        self.capacity, self.retries, self.pool, self.futures = jobs, retries, None, {}
        self.blas = single_threaded_blas()

    def __enter__(self):
        self.blas.__enter__()  # the workers start as trials are submitted
        self.pool = process_pool(self.bundle, self.capacity)
        return self

    def __exit__(self, *exc):
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.blas.__exit__(*exc)
        return False

    def submit(self, trial, metric, ask) -> None:
        """As :meth:`Slots.submit`, in a worker process."""
        future = self.pool.submit(run_in_worker, sendable(trial, metric), ask)
        self.futures[future] = (trial, metric, ask)

    def next(self) -> tuple[dict, bytes | None]:
        """As :meth:`Slots.next`."""
        while True:
            finished, _ = wait(self.futures, return_when=FIRST_COMPLETED)
            future = finished.pop()
            try:
                result = future.result()
                del self.futures[future]
                return result
            except BrokenProcessPool:
                self._restart()

    def _restart(self):
        if self.retries == 0:
            raise FeedforwardError(
                "--jobs: worker processes died too often (out of memory, or killed); the "
                "finished trials are recorded: run the search again to go on") from None
        self.retries -= 1
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool = process_pool(self.bundle, self.capacity)
        waiting, self.futures = list(self.futures.values()), {}
        for trial, metric, ask in waiting:
            self.submit(trial, metric, ask)


class DaskSlots(Slots):
    """:class:`Slots` on the workers of a Dask client (one trial per worker thread)."""

    def __init__(self, bundle: Bundle, client, retries: int, tag: str):
        super().__init__(bundle)
        self.client, self.retries, self.tag = client, retries, tag
        self.distributed = distributed_module("client")
        self.data, self.trials = None, {}
        self.done = self.distributed.as_completed()

    def __enter__(self):
        self.data = scatter(self.client, self.bundle)
        self.capacity = max(1, sum(self.client.nthreads().values()))
        return self

    def __exit__(self, *exc):
        self.client.cancel(list(self.trials))
        self.data.release()
        return False

    def submit(self, trial, metric, ask) -> None:
        """As :meth:`Slots.submit`, on a worker."""
        future = self.client.submit(run_trial, sendable(trial, metric), self.data, ask,
                                    key=f"{self.tag}-{trial.id}", pure=False,
                                    retries=self.retries)
        self.trials[future] = trial
        self.done.add(future)

    def next(self) -> tuple[dict, bytes | None]:
        """As :meth:`Slots.next`."""
        future = next(self.done)
        trial = self.trials.pop(future)
        try:
            result = future.result()
        except self.distributed.KilledWorker as e:  # it killed worker after worker
            result = (lost(trial, e), None)
        future.release()
        return result
