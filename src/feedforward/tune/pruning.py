"""Pruning decisions for trials that run elsewhere: each epoch, a trial asks the search's
process whether to stop.

The study lives in the search's process (the parent), which alone reads and writes it. A
trial reports its validation value after each epoch and waits for the answer, so that the
pruner decides on that epoch with what the other trials have reported by then:

- in the parent itself (``jobs=1``), the trial calls the :class:`Oracle` directly;
- in local worker processes, through a ``multiprocessing.connection`` socket that a thread of
  the parent serves (:class:`SocketServer`, authenticated with a random key);
- on Dask workers, through two Dask queues on the scheduler (:class:`DaskServer`): workers
  need not reach the parent's machine, only the scheduler, as for their tasks.

A trial whose question goes unanswered (the parent was killed) trains on without asking
again: it is not pruned, and its result goes nowhere.
"""

from __future__ import annotations

import os
import threading
import uuid
from multiprocessing.connection import Client, Listener

ANSWER_SECONDS = 5.0
"""How long a Dask worker waits for an answer before it stops asking."""


class Oracle:
    """Answers whether a running trial should stop, with Optuna's pruner.

    Parameters
    ----------
    lock : threading.Lock
        Held around every use of the study (the search's loop asks and tells under it).
    """

    def __init__(self, lock):
        self.lock = lock
        self.running = {}  # trial number -> optuna.Trial
        self.steps = {}  # trial number -> the steps reported (a rerun reports them again)

    def add(self, trial) -> None:
        """Take questions about ``trial`` (an ``optuna.Trial``) from now on."""
        self.running[trial.number] = trial
        self.steps[trial.number] = set()

    def remove(self, number: int):
        """Stop taking questions about trial ``number``; returns its ``optuna.Trial``."""
        self.steps.pop(number, None)
        return self.running.pop(number)

    def report(self, number: int, step: int, value: float) -> bool:
        """Record ``value`` at epoch ``step`` of trial ``number``; True if it should stop.

        Parameters
        ----------
        number : int
            The trial's number in the study.
        step : int
            The epoch (1-based).
        value : float
            The validation metric after that epoch.

        Returns
        -------
        bool
            Whether the pruner stops the trial; False for a trial no longer running.
        """
        with self.lock:
            trial = self.running.get(number)
            if trial is None:
                return False
            if step not in self.steps[number]:
                self.steps[number].add(step)
                trial.report(value, step)
            return bool(trial.should_prune())


class Direct:
    """In-process questions: the trial calls the oracle."""

    def __init__(self, oracle):
        self.oracle = oracle

    def asker(self, number: int):
        """``ask(step, value) -> bool`` for trial ``number``."""
        return lambda step, value: self.oracle.report(number, step, value)

    def close(self) -> None:
        """Nothing to close."""


class SocketServer:
    """Serves the oracle to local worker processes over an authenticated local socket."""

    def __init__(self, oracle):
        self.oracle, self.key, self.stopping = oracle, os.urandom(32), False
        self.listener = Listener(authkey=self.key)
        self.thread = threading.Thread(target=self._accept, name="feedforward-pruning",
                                       daemon=True)
        self.thread.start()

    def asker(self, number: int):
        """A picklable ``ask(step, value) -> bool`` for trial ``number``."""
        return SocketAsk(self.listener.address, self.key, number)

    def _accept(self):
        while not self.stopping:
            try:
                conn = self.listener.accept()
            except OSError:  # closed, or a client that failed the authentication
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn:
            while True:
                try:
                    number, step, value = conn.recv()
                    conn.send(self.oracle.report(number, step, value))
                except (EOFError, OSError):  # the worker process ended
                    return

    def close(self) -> None:
        """Stop accepting connections."""
        self.stopping = True
        try:  # wake the blocking accept, which a close from this thread would not
            Client(self.listener.address, authkey=self.key).close()
        except OSError:
            pass
        self.thread.join(5)
        self.listener.close()


_connections = {}  # a worker process's connection to each parent, kept across its trials


class SocketAsk:
    """A worker's question to a :class:`SocketServer`: picklable, it connects on first use."""

    def __init__(self, address, key: bytes, number: int):
        self.address, self.key, self.number = address, key, number

    def __call__(self, step: int, value: float) -> bool:
        if self.address is None:
            return False
        try:
            conn = _connections.get(self.address)
            if conn is None:
                conn = _connections[self.address] = Client(self.address, authkey=self.key)
            conn.send((self.number, step, value))
            return bool(conn.recv())
        except (EOFError, OSError):  # the parent is gone: train on, unpruned
            _connections.pop(self.address, None)
            self.address = None
            return False


class DaskServer:
    """Serves the oracle to Dask workers through queues on the scheduler: one for the
    questions, and one per trial attempt for its answers, removed once read.

    Parameters
    ----------
    oracle : Oracle
    client : dask.distributed.Client
    distributed : module
        The ``distributed`` package.
    """

    def __init__(self, oracle, client, distributed):
        self.oracle, self.client, self.distributed = oracle, client, distributed
        self.name = f"feedforward-pruning-{uuid.uuid4().hex}"
        self.questions = distributed.Queue(self.name, client=client)
        self.thread = threading.Thread(target=self._serve, name="feedforward-pruning",
                                       daemon=True)
        self.thread.start()

    def asker(self, number: int):
        """A picklable ``ask(step, value) -> bool`` for trial ``number``."""
        return DaskAsk(self.name, number)

    def _serve(self):
        while True:
            try:  # no timeout: the scheduler would log each one as an error
                question = self.questions.get()
            except Exception:  # noqa: BLE001 - the client is closing: nothing more to serve
                return
            if question is None:  # see close
                return
            number, step, value, reply = question
            answers = self.distributed.Queue(reply, client=self.client)
            answers.put(self.oracle.report(number, step, value))
            answers.close()

    def close(self) -> None:
        """Stop serving."""
        try:
            self.questions.put(None)
        except Exception:  # noqa: BLE001 - the client is gone, and the thread with it
            pass
        self.thread.join(5)
        self.questions.close()


class DaskAsk:
    """A Dask worker's question to a :class:`DaskServer`; gives up after one unanswered."""

    def __init__(self, name: str, number: int):
        self.name, self.number, self.reply = name, number, None

    def __call__(self, step: int, value: float) -> bool:
        import distributed

        if self.reply is None:  # one answer queue per attempt: a rerun ignores stale answers
            self.reply = f"{self.name}-{self.number}-{uuid.uuid4().hex}"
        if self.reply == "gone":
            return False
        answers = distributed.Queue(self.reply)  # before the question: it must exist then
        try:
            questions = distributed.Queue(self.name)
            questions.put((self.number, step, value, self.reply))
            questions.close()
            return bool(answers.get(timeout=ANSWER_SECONDS))
        except TimeoutError:  # the search's process is gone: train on, unpruned
            self.reply = "gone"
            return False
        finally:
            answers.close()
