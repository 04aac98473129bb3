"""Where the trials run: in this process, in a pool of local processes, or on a Dask cluster.

Each executor is a generator over ``(record, model_bytes)`` pairs (see
:func:`~feedforward.tune.trial.run_trial`) in the order the trials finish, so that the caller
records each result as soon as it exists. The data travels to each worker once: as the pool's
initializer argument, or scattered to every Dask worker, the trials then naming it.

Dask is imported only when a Dask executor is used.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

from ..errors import FeedforwardError
from .trial import Bundle, run_trial

# A trial is a small network: its BLAS calls gain little from threads, and N processes with
# M threads each on N cores would fight over them.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def local(trials, bundle: Bundle, jobs: int = 1, retries: int = 2):
    """Run ``trials`` here (``jobs=1``) or in ``jobs`` processes, one BLAS thread each.

    When a worker process dies, the pool is started again for the trials not yet finished,
    at most ``retries`` times.
    """
    if jobs <= 1 or len(trials) <= 1:
        for trial in trials:
            yield run_trial(trial.to_dict(), bundle)
        return
    left = {t.id: t for t in trials}
    for attempt in range(retries + 1):
        try:
            for record, model in _pool(list(left.values()), bundle, jobs):
                del left[record["id"]]
                yield record, model
            return
        except BrokenProcessPool:
            if attempt == retries:
                raise FeedforwardError(
                    f"--jobs: worker processes died {retries + 1} times (out of memory, or "
                    "killed); the finished trials are recorded: run the search again to run "
                    "the others") from None


_bundle = None  # a pool worker's data, set once by its initializer


def _init_worker(bundle: Bundle) -> None:
    global _bundle
    _bundle = bundle


def _run_in_worker(trial: dict):
    return run_trial(trial, _bundle)


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


def _pool(trials, bundle, jobs):
    # spawn, not fork: a forked child would inherit this process's BLAS threads and locks
    context = multiprocessing.get_context("spawn")
    with single_threaded_blas():  # the workers start while the trials are submitted
        pool = ProcessPoolExecutor(min(jobs, len(trials)), mp_context=context,
                                   initializer=_init_worker, initargs=(bundle,))
        try:
            futures = [pool.submit(_run_in_worker, t.to_dict()) for t in trials]
            for future in as_completed(futures):
                yield future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------------------- Dask
def connect(address: str):
    """A ``dask.distributed.Client`` of the scheduler at ``address`` (``tcp://HOST:8786``)."""
    distributed = _distributed("--scheduler")
    try:
        return distributed.Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as e:
        raise FeedforwardError(f"--scheduler: cannot connect to {address!r} ({e}); start it "
                               "with `dask scheduler` and give its tcp:// address") from None


def dask(trials, bundle: Bundle, client, retries: int = 2, tag: str = "feedforward"):
    """Run ``trials`` on the workers of ``client``.

    The bundle is scattered to every worker once (``broadcast=True``). A trial whose worker
    dies is rerun on another by the scheduler; ``retries`` reruns one that raised. Each trial's
    result comes back once, whatever ran twice.
    """
    distributed = _distributed("client")
    try:
        data = client.scatter(bundle, broadcast=True)
    except TimeoutError:  # no worker has joined the scheduler
        raise FeedforwardError(f"--scheduler: the cluster at {client.scheduler.address} has no "
                               "workers; start some with `dask worker ADDRESS`") from None
    futures = [client.submit(run_trial, t.to_dict(), data, key=f"{tag}-{t.id}", pure=False,
                             retries=retries) for t in trials]
    by_key = {f.key: t for f, t in zip(futures, trials, strict=True)}
    try:
        for future in distributed.as_completed(futures):
            try:
                result = future.result()
            except distributed.KilledWorker as e:  # it killed worker after worker
                result = (_lost(by_key[future.key], e), None)
            future.release()
            yield result
    finally:
        client.cancel(futures)
        data.release()


def _lost(trial, error) -> dict:
    return {"id": trial.id, "index": trial.index, "params": trial.params, "status": "failed",
            "metrics": {}, "epochs": 0, "best_epoch": None, "seconds": 0.0, "worker": None,
            "error": f"its workers died while running it ({error})"}


def _distributed(label):
    try:
        import distributed
    except ImportError:
        raise FeedforwardError(f"{label}: Dask is not installed; pip install "
                               "'feedforward[distributed]'") from None
    return distributed
