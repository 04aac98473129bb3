"""Callbacks: hooks called by ``Sequential.fit`` at the start and end of training, epochs and batches.

``logs`` holds the epoch's ``loss``, metrics and ``val_*`` entries. A callback may set
``model.stop_training = True`` to end training after the current epoch.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class Callback:
    """Base class: every hook does nothing."""

    model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None): ...

    def on_train_end(self, logs=None): ...

    def on_epoch_begin(self, epoch, logs=None): ...

    def on_epoch_end(self, epoch, logs=None): ...

    def on_batch_end(self, batch, logs=None): ...


class CallbackList(Callback):
    """Calls each hook on every callback, in order."""

    def __init__(self, callbacks, model):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            cb.set_model(model)

    def _call(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs)

    def on_batch_end(self, batch, logs=None):
        self._call("on_batch_end", batch, logs)


class History(Callback):
    """Records ``logs`` of every epoch: ``history["loss"]``, ``history["val_accuracy"]``, ...

    ``fit`` returns it; ``epoch`` lists the epoch indices.
    """

    def __init__(self):
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


def _format_logs(logs):
    return "  ".join(f"{k}={v:.4g}" for k, v in logs.items())


class ProgressBar(Callback):
    """A live bar per epoch with the running loss (``verbose=1``), or one line per epoch (``2``).

    Where the output is not a terminal (a log file, CI), ``verbose=1`` prints one line per epoch.
    """

    def __init__(self, verbose: int = 1, console: Console | None = None):
        self.verbose = verbose
        self.console = console or Console(highlight=False)

    def on_train_begin(self, logs=None):
        self.epochs = self.model._fit_state["epochs"]
        self.steps = self.model._fit_state["steps"]

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
        self.live = self.verbose == 1 and self.console.is_terminal
        if self.live:
            self.progress = Progress(
                TextColumn(f"epoch {epoch + 1}/{self.epochs}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TextColumn("{task.fields[logs]}"),
                console=self.console, transient=True)
            self.task = self.progress.add_task("", total=self.steps, logs="")
            self.progress.start()

    def on_batch_end(self, batch, logs=None):
        if self.live:
            self.progress.update(self.task, advance=1, logs=_format_logs(logs or {}))

    def on_epoch_end(self, epoch, logs=None):
        if self.live:
            self.progress.stop()
        seconds = time.perf_counter() - self.start
        self.console.print(f"epoch {epoch + 1}/{self.epochs}  {seconds:.2f}s  {_format_logs(logs or {})}",
                           soft_wrap=True)
