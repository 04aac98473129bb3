"""Callbacks: hooks called by the training engine (:mod:`feedforward.training`, which
``Sequential.fit`` runs) at the start and end of training, epochs and batches.

``logs`` holds the epoch's ``loss``, metrics, ``val_*`` entries and ``learning_rate``. A callback
may set ``model.stop_training = True``: from ``on_batch_end`` training ends after that batch,
from ``on_epoch_end`` after that epoch.

A callback reaches the training through a small public surface, as in Keras: ``self.model``
(:meth:`Callback.set_model`), ``self.params`` (:meth:`Callback.set_params`: ``epochs``,
``steps``, ``batch_size``, ``verbose``) and ``self.trainer`` (:meth:`Callback.set_trainer`: the
:class:`~feedforward.training.Trainer`, with its ``position``, data and callbacks). Two class
attributes change how the engine treats a callback: ``runs_last`` and ``handles_divergence``.
``BackupAndRestore`` lives in :mod:`feedforward.checkpoint`.
"""

from __future__ import annotations

import contextlib
import csv
import inspect
import io
import os
import sys
import time

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from . import saving
from .errors import FeedforwardError, check_finite, check_number, describe
from .fileio import atomic_write


class Callback:
    """Base class: every hook does nothing.

    Attributes
    ----------
    model : Sequential
        The model being trained, set by the engine through :meth:`set_model`.
    params : dict
        ``{"epochs", "steps", "batch_size", "verbose"}`` of the training (Keras's), set through
        :meth:`set_params`; ``epochs`` is None for a training without end.
    trainer : Trainer
        The engine running the training, set through :meth:`set_trainer`.
    runs_last : bool
        Class attribute, default False. True puts the callback after all the others, History
        included, so that its hooks see what they hold (BackupAndRestore saves their states).
    handles_divergence : bool
        Class attribute, default False. True makes a divergence (a non-finite loss, or weights
        made non-finite) end training quietly: the engine undoes the epoch, passes the
        non-finite loss to ``on_batch_end`` and the epoch's logs, and stops, instead of raising
        :class:`~feedforward.training.Diverged` (see :class:`TerminateOnNaN`).
    """

    model = None
    params: dict | None = None
    trainer = None
    runs_last = False
    handles_divergence = False

    def set_model(self, model):
        """Attach the callback to the model being trained.

        Parameters
        ----------
        model : Sequential
            The model; hooks reach it as ``self.model``.
        """
        self.model = model

    def set_params(self, params):
        """Take the training's parameters, before ``on_train_begin``.

        Parameters
        ----------
        params : dict
            ``{"epochs", "steps", "batch_size", "verbose"}``; hooks reach it as
            ``self.params``. The engine updates it in place when its data change.
        """
        self.params = params

    def set_trainer(self, trainer):
        """Attach the callback to the engine that runs the training.

        Parameters
        ----------
        trainer : Trainer
            Hooks reach it as ``self.trainer``: its ``position``, ``x``, ``y``, ``x_is_raw``,
            ``callbacks`` and ``finished`` (see :mod:`feedforward.training`).
        """
        self.trainer = trainer

    def on_train_begin(self, logs=None):
        """Called once at the start of ``fit``, before the first epoch.

        Parameters
        ----------
        logs : dict, optional
            Unused by ``fit`` (None); kept for Keras's signature.
        """

    def on_train_end(self, logs=None):
        """Called once at the end of ``fit``, also when training stopped early or failed.

        Parameters
        ----------
        logs : dict, optional
            Unused by ``fit`` (None); kept for Keras's signature.
        """

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of each epoch.

        Parameters
        ----------
        epoch : int
            The epoch index, 0-based.
        logs : dict, optional
            Unused by ``fit`` (None); kept for Keras's signature.
        """

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of each epoch, after validation.

        Parameters
        ----------
        epoch : int
            The epoch index, 0-based.
        logs : dict, optional
            The epoch's ``loss``, metrics, ``val_*`` entries and ``learning_rate``.
        """

    def on_batch_end(self, batch, logs=None):
        """Called after each optimizer step.

        Parameters
        ----------
        batch : int
            The batch index within the epoch, 0-based.
        logs : dict, optional
            ``{"loss": ...}``, the running mean loss of the epoch so far.
        """

    # A callback with state that a resumed run needs overrides both (see BackupAndRestore).
    def get_state(self) -> dict:
        """JSON-safe values and NumPy arrays that :meth:`set_state` takes back.

        Returns
        -------
        dict
            The state a resumed run needs; empty for a callback without state.
        """
        return {}

    def set_state(self, state: dict) -> None:
        """Take back a state returned by :meth:`get_state`, when ``fit`` resumes a run.

        Parameters
        ----------
        state : dict
            The state, as :meth:`get_state` returned it (arrays included).
        """


def has_state(callback) -> bool:
    """Whether ``callback`` keeps state that a resumed run needs (it overrides ``get_state``).

    Parameters
    ----------
    callback : Callback
        Any callback.

    Returns
    -------
    bool
        True when its class overrides :meth:`Callback.get_state`.
    """
    return type(callback).get_state is not Callback.get_state


def _restored(callback, state, key, optional=False, **bounds):
    """``state[key]`` checked as a number (``integer=True``: a whole one) within ``bounds``;
    None passes when ``optional``. The error names the callback and the key."""
    value = state.get(key) if isinstance(state, dict) else None
    if value is None and optional:
        return None
    return check_number(value, f"the state of {type(callback).__name__}: {key}", **bounds)


class CallbackList(Callback):
    """Calls each hook on every callback, in order.

    Parameters
    ----------
    callbacks : iterable of Callback
        The callbacks, in the order their hooks are called.
    model : Sequential
        The model given to each callback's :meth:`~Callback.set_model`.
    """

    def __init__(self, callbacks, model):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params):
        self._call("set_params", params)

    def set_trainer(self, trainer):
        self._call("set_trainer", trainer)

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

    ``fit`` returns it; ``epoch`` lists the epoch indices, and ``params`` holds the training's
    parameters as Keras's does: ``{"verbose", "epochs", "steps"}``, and ``batch_size`` (see
    :meth:`Callback.set_params`).
    """

    def __init__(self):
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)

    def get_state(self):
        return {"epoch": list(self.epoch), "history": {k: list(v) for k, v in self.history.items()}}

    def set_state(self, state):
        epochs, history = state.get("epoch"), state.get("history")
        if not isinstance(epochs, list) or not isinstance(history, dict):
            raise FeedforwardError("the state of History: expected a list of epochs and a "
                                   f"table of values, got {describe(state)}")
        for e in epochs:
            check_number(e, "the state of History: epoch", low=0, integer=True)
        for key, values in history.items():
            if not isinstance(values, list) or len(values) > len(epochs):
                raise FeedforwardError(f"the state of History: {key!r}: expected a list of at "
                                       f"most {len(epochs)} values, got {describe(values)}")
            for v in values:  # a diverged epoch's loss is logged as it was: NaN or inf too
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise FeedforwardError(f"the state of History: {key!r}: expected numbers, "
                                           f"got {describe(v)}")
        self.epoch, self.history = list(epochs), {k: list(v) for k, v in history.items()}

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


def _format_logs(logs):
    return "  ".join(f"{k}={v:.4g}" for k, v in logs.items())


class QuietOnClosedOutput(Console):
    """A rich console that outlives a closed stdout (``... | head``): rich's own exits the
    process with status 1 and no word when the reader goes away. Printing is a log of work
    whose results go elsewhere (a model, files), so the work goes on: stdout is pointed at
    the null device and the console falls quiet.

    Parameters
    ----------
    **kwargs
        ``rich.console.Console``'s arguments.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def on_broken_pipe(self) -> None:
        self.quiet = True
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


class ProgressBar(Callback):
    """A live bar per epoch with the running loss (``verbose=1``), or one line per epoch (``2``).

    Where the output is not a terminal (a log file, CI), ``verbose=1`` prints one line per epoch.

    Parameters
    ----------
    verbose : {1, 2}
        1 for the live bar, 2 for one line per epoch (default 1).
    console : rich.console.Console, optional
        Where to print; by default a new console on standard output.
    """

    def __init__(self, verbose: int = 1, console: Console | None = None):
        self.verbose = verbose
        self.console = console or QuietOnClosedOutput(highlight=False)

    def on_train_begin(self, logs=None):
        self.epochs, self.steps = self.params["epochs"], self.params["steps"]

    def _label(self, epoch):
        return f"epoch {epoch + 1}" + ("" if self.epochs is None else f"/{self.epochs}")

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
        self.live = self.verbose == 1 and self.console.is_terminal
        if self.live:
            self.progress = Progress(
                TextColumn(self._label(epoch)), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TextColumn("{task.fields[logs]}"),
                console=self.console, transient=True)
            self.task = self.progress.add_task("", total=self.steps, logs="")
            self.progress.start()

    def on_train_end(self, logs=None):
        if getattr(self, "live", False):  # an error mid-epoch left the bar running
            self.progress.stop()

    def on_batch_end(self, batch, logs=None):
        if self.live:
            self.progress.update(self.task, advance=1, logs=_format_logs(logs or {}))

    def on_epoch_end(self, epoch, logs=None):
        if self.live:
            self.progress.stop()
            self.live = False
        seconds = time.perf_counter() - self.start
        self.console.print(
            f"{self._label(epoch)}  {seconds:.2f}s  {_format_logs(logs or {})}",
            soft_wrap=True)


class _Monitor(Callback):
    """Shared by callbacks that watch one logged value and track its best."""

    def __init__(self, monitor="val_loss", mode="auto", min_delta=0.0):
        if mode not in ("auto", "min", "max"):
            raise FeedforwardError(f"mode: expected 'auto', 'min' or 'max', got {mode!r}")
        self.monitor, self.min_delta = monitor, abs(float(check_number(min_delta, "min_delta")))
        if mode == "auto":  # accuracy-like values grow, losses and errors shrink
            mode = "max" if any(k in monitor for k in ("acc", "r2", "auc")) else "min"
        self.mode = mode

    def _value(self, logs):
        if self.monitor not in (logs or {}):
            raise FeedforwardError(
                f"monitor: {self.monitor!r} is not among the logged values {sorted(logs or {})}; "
                "val_* values need validation_split or validation_data")
        return float(logs[self.monitor])

    def _improved(self, value, best):
        if best is None:
            return np.isfinite(value)
        if self.mode == "min":
            return value < best - self.min_delta
        return value > best + self.min_delta


class EarlyStopping(_Monitor):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs.

    Parameters
    ----------
    monitor : str
        A key of the epoch logs, e.g. ``"val_loss"`` or ``"val_accuracy"``.
    min_delta : float
        The smallest change that counts as an improvement.
    patience : int
        Training stops at the end of the ``patience``-th epoch in a row without improvement
        (as in Keras; ``0`` and ``1`` both stop at the first such epoch).
    mode : {"auto", "min", "max"}
        Whether lower or higher is better; ``"auto"`` infers it from the name.
    baseline : float, optional
        An epoch resets the patience count only if it also improves on ``baseline``, so
        training stops unless the value beats it within ``patience`` epochs.
    restore_best_weights : bool
        At the end of training, restore the weights of the best epoch (the best value seen,
        whether or not it beat ``baseline``).
    start_from_epoch : int
        Epochs of warm-up before the value is watched.
    verbose : int
        When non-zero, print the epoch training stopped at and the epoch whose weights were
        restored (default 0).

    Attributes
    ----------
    best, best_epoch, stopped_epoch
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0, verbose=0):
        super().__init__(monitor, mode, min_delta)
        self.verbose = verbose
        self.patience = int(check_number(patience, "patience", low=0, integer=True))
        self.baseline = None if baseline is None else float(check_number(baseline, "baseline"))
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = int(check_number(start_from_epoch, "start_from_epoch", low=0,
                                                 integer=True))

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_epoch = 0, None, None
        self.best, self.best_weights = None, None

    def on_epoch_end(self, epoch, logs=None):
        if epoch < self.start_from_epoch:
            return
        value = self._value(logs)
        self.wait += 1
        if self._improved(value, self.best):
            self.best, self.best_epoch = value, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.params.copy()
            if self.baseline is None or self._improved(value, self.baseline):
                self.wait = 0
        if self.wait >= max(self.patience, 1):
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.verbose:
                print(f"epoch {epoch + 1}: early stopping ({self.monitor} did not improve "
                      f"for {self.wait} epoch{'s' if self.wait != 1 else ''})")

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.params[...] = self.best_weights
            if self.verbose:
                print(f"restored the weights of epoch {self.best_epoch + 1}, the best")

    def get_state(self):
        state = {"wait": self.wait, "best": self.best, "best_epoch": self.best_epoch}
        if self.best_weights is not None:
            state["best_weights"] = self.best_weights
        return state

    def set_state(self, state):
        self.wait = _restored(self, state, "wait", low=0, integer=True)
        self.best = _restored(self, state, "best", optional=True)
        self.best_epoch = _restored(self, state, "best_epoch", optional=True, low=0, integer=True)
        weights = state.get("best_weights")
        if weights is not None:
            params = self.model.params
            if weights.shape != params.shape or weights.dtype != params.dtype:
                raise FeedforwardError(f"the state of EarlyStopping: best_weights: expected "
                                       f"{params.dtype}{list(params.shape)}, got "
                                       f"{weights.dtype}{list(weights.shape)}")
            check_finite(weights, "the state of EarlyStopping: best_weights")
        self.best_weights = weights


class ModelCheckpoint(_Monitor):
    """Save the model file at the end of epochs.

    ``path`` may hold ``{epoch}`` (1-based) and any logged key, e.g.
    ``"ckpt-{epoch:02d}-{val_loss:.3f}.safetensors"``. With ``save_best_only`` a file is written
    only when ``monitor`` improves.

    Parameters
    ----------
    path : str or Path
        The model file to write, a format string as above.
    monitor : str
        A key of the epoch logs (default ``"val_loss"``); used only with ``save_best_only``.
    save_best_only : bool
        Write only when ``monitor`` improves on the best value so far (default False).
    mode : {"auto", "min", "max"}
        Whether lower or higher is better; ``"auto"`` infers it from the name.
    filepath : str or Path, optional
        Keras's name for ``path``; give one of the two.
    save_weights_only : bool
        Write a weights file (``model.save_weights``) rather than a model file (default
        False).
    """

    def __init__(self, path=None, monitor="val_loss", save_best_only=False, mode="auto",
                 filepath=None, save_weights_only=False):
        super().__init__(monitor, mode)
        self.save_weights_only = bool(save_weights_only)
        if (path is None) == (filepath is None):
            raise FeedforwardError(f"ModelCheckpoint: expected the file as path (or Keras's "
                                   f"filepath), one of the two, got path={path!r} and "
                                   f"filepath={filepath!r}")
        path = path if filepath is None else filepath
        saving.check_suffix(path)  # now, not after the first epoch has trained
        self.path, self.save_best_only = str(path), bool(save_best_only)
        self.best = None

    def on_epoch_end(self, epoch, logs=None):
        if self.save_best_only:
            value = self._value(logs)
            if not self._improved(value, self.best):
                return
            self.best = value
        save = self.model.save_weights if self.save_weights_only else self.model.save
        save(self._format_path(epoch, logs or {}))

    def get_state(self):
        return {"best": self.best}

    def set_state(self, state):
        self.best = _restored(self, state, "best", optional=True)

    def _format_path(self, epoch, logs):
        try:
            return self.path.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError) as e:
            raise FeedforwardError(
                f"path: {self.path!r} could not be formatted with epoch and the logged values "
                f"{sorted(logs)} ({type(e).__name__}: {e})") from None


def _require_constant_rate(callback):
    """A callback that sets the rate would silently replace a schedule given as learning_rate."""
    lr = callback.model.optimizer.learning_rate
    if callable(lr):
        raise FeedforwardError(
            f"{type(callback).__name__}: the optimizer's learning_rate must be a number for this "
            f"callback to set it, got the schedule {lr!r}; use one of the two, not both")


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to ``schedule(epoch, lr)``.

    ``epoch`` is 0-based and ``lr`` is the current rate. The optimizer's ``learning_rate``
    must be a number, not a schedule.

    Parameters
    ----------
    schedule : callable
        ``schedule(epoch, lr) -> float``, the new rate (positive); or, as Keras also takes
        it, ``schedule(epoch) -> float``.
    verbose : int
        When non-zero, print the rate at the start of each epoch (default 0).
    """

    def __init__(self, schedule, verbose=0):
        if not callable(schedule):
            raise FeedforwardError(
                f"schedule: expected a callable (epoch, lr) -> lr, got {schedule!r}")
        self.schedule, self.verbose = schedule, verbose
        self._takes_lr = _takes(schedule, 2)
        if not self._takes_lr and not _takes(schedule, 1):
            raise FeedforwardError(f"schedule: expected a callable (epoch, lr) -> lr or "
                                   f"(epoch) -> lr, got one of signature "
                                   f"{inspect.signature(schedule)}")

    def on_train_begin(self, logs=None):
        _require_constant_rate(self)

    def on_epoch_begin(self, epoch, logs=None):
        lr = (self.schedule(epoch, self.model.optimizer.lr) if self._takes_lr else
              self.schedule(epoch))
        self.model.optimizer.learning_rate = float(
            check_number(lr, "learning_rate (from the schedule)", low=0, low_open=True))
        if self.verbose:
            print(f"epoch {epoch + 1}: learning rate {lr:g}")


def _takes(function, n) -> bool:
    """Whether ``function`` can be called with ``n`` positional arguments (True when its
    signature cannot be read, as for some built-ins: the call itself then tells)."""
    if isinstance(getattr(function, "nin", None), int):  # a NumPy ufunc: a second
        return function.nin == n  # positional argument would be its output array
    try:
        inspect.signature(function).bind(*range(n))
    except TypeError:
        return False
    except ValueError:
        return n == 2
    return True


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` when ``monitor`` stops improving.

    The epochs are counted as by Keras's ``keras.callbacks.ReduceLROnPlateau``, so both
    reduce at the same epochs. At the end of each epoch, with ``wait`` the count of bad
    epochs and ``cooldown_left`` that of the cooldown, both 0 at the start:

    1. during a cooldown (``cooldown_left > 0``): ``cooldown_left -= 1`` and ``wait = 0``;
    2. the epoch improves when its value beats the best so far by more than ``min_delta``
       (``value < best - min_delta`` in ``"min"`` mode, ``value > best + min_delta`` in
       ``"max"``; any finite value beats the start): then ``best = value`` and ``wait = 0``;
    3. otherwise, unless still in a cooldown after step 1, ``wait += 1``; when
       ``wait >= patience`` and ``lr > min_lr``, the rate becomes ``max(lr * factor, min_lr)``,
       ``wait = 0`` and ``cooldown_left = cooldown``.

    So the rate drops at the end of the ``patience``-th epoch in a row without improvement
    (``patience`` 0 and 1 both at the first), and ``cooldown = c`` leaves ``c - 1`` epochs
    uncounted after a drop (step 1 ends the cooldown in the epoch that it counts down to 0).
    ``torch.optim.lr_scheduler.ReduceLROnPlateau`` counts one epoch more: it drops after
    ``patience + 1`` bad epochs.

    The optimizer's ``learning_rate`` must be a number, not a schedule.

    Parameters
    ----------
    monitor : str
        A key of the epoch logs (default ``"val_loss"``).
    factor : float
        The multiplier of the rate at each reduction, in (0, 1) (default 0.1).
    patience : int
        The number of epochs in a row without improvement after which the rate is reduced
        (default 10).
    mode : {"auto", "min", "max"}
        Whether lower or higher is better; ``"auto"`` infers it from the name.
    min_delta : float
        The margin by which a value must beat the best to count as an improvement
        (default 1e-4).
    cooldown : int
        Epochs to wait after a reduction before counting again (default 0; see step 1).
    min_lr : float
        The lower bound of the rate (default 0).
    verbose : int
        When non-zero, print each reduction (default 0).
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, verbose=0):
        super().__init__(monitor, mode, min_delta)
        self.factor = float(check_number(factor, "factor", low=0, high=1, low_open=True,
                                         high_open=True))
        self.patience = int(check_number(patience, "patience", low=0, integer=True))
        self.cooldown = int(check_number(cooldown, "cooldown", low=0, integer=True))
        self.min_lr = float(check_number(min_lr, "min_lr", low=0))
        self.verbose = verbose

    def on_train_begin(self, logs=None):
        _require_constant_rate(self)
        self.best, self.wait, self.cooldown_left = None, 0, 0

    def on_epoch_end(self, epoch, logs=None):
        value = self._value(logs)
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.wait = 0
        if self._improved(value, self.best):
            self.best, self.wait = value, 0
        elif self.cooldown_left == 0:
            self.wait += 1
            opt = self.model.optimizer
            if self.wait >= self.patience and opt.lr > self.min_lr:
                new = max(opt.lr * self.factor, self.min_lr)
                opt.learning_rate = new
                if self.verbose:
                    print(f"epoch {epoch + 1}: reducing the learning rate to {new:g}")
                self.cooldown_left, self.wait = self.cooldown, 0

    def get_state(self):
        return {"best": self.best, "wait": self.wait, "cooldown_left": self.cooldown_left}

    def set_state(self, state):
        """Take back the count of bad epochs and the best value; the rate it lowered is the
        optimizer's, restored with it (see :mod:`feedforward.checkpoint`).

        Parameters
        ----------
        state : dict
            ``{"best": float or None, "wait": int, "cooldown_left": int}``.
        """
        self.best = _restored(self, state, "best", optional=True)
        self.wait = _restored(self, state, "wait", low=0, integer=True)
        self.cooldown_left = _restored(self, state, "cooldown_left", low=0, high=self.cooldown,
                                       integer=True)


class TerminateOnNaN(Callback):
    """End training quietly when the loss becomes NaN or infinite.

    Without it, ``fit`` raises :class:`~feedforward.training.Diverged` on divergence. With it
    (``handles_divergence``), the engine undoes the diverging epoch instead, this callback
    reports the loss and stops training, and ``fit`` returns the History (whose last loss is
    non-finite).
    """

    handles_divergence = True

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            print(f"batch {batch}: the loss is {loss}; terminating training")
            self.model.stop_training = True


class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file, under a header line.

    The file is first written whole, atomically (see :mod:`feedforward.fileio`), so a
    symbolic link at ``filename`` is replaced, not followed; then each epoch appends its row
    and flushes it, so a killed process loses no finished epoch. Rewriting the whole file per
    epoch would cost time that grows with the square of the epochs. A resume
    (:meth:`set_state`) rewrites the file atomically with the rows up to its checkpoint,
    which drops a row a crash left half-written.

    Parameters
    ----------
    filename : str or Path
        The CSV file; its first column is ``epoch`` (0-based).
    separator : str
        The field delimiter (default ``","``).
    append : bool
        Keep the rows of an existing file and add to them, instead of starting it afresh
        (default False).
    """

    def __init__(self, filename, separator=",", append=False):
        self.filename, self.separator, self.append = str(filename), separator, bool(append)
        self.file = None

    def on_train_begin(self, logs=None):
        self.lines = self._read() if self.append else []
        self._write()  # an unwritable file fails now, not after the first epoch

    def on_train_end(self, logs=None):
        self._close()

    def _read(self) -> list[str]:
        try:
            with open(self.filename, newline="") as f:
                return f.readlines()
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as e:
            raise FeedforwardError(f"filename: cannot read {self.filename!r} to append to it "
                                   f"({getattr(e, 'strerror', None) or e})") from None

    def _write(self):
        """The whole file, atomically; then kept open for the rows to come."""
        self._close()
        atomic_write(self.filename, "".join(self.lines), label="filename")
        try:  # O_NOFOLLOW: a link put there since is refused, not followed
            fd = os.open(self.filename, os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0))
            self.file = os.fdopen(fd, "w", newline="")
        except OSError as e:
            raise self._error(e) from None

    def _append(self, line: str):
        try:
            self.file.write(line)
            self.file.flush()
        except OSError as e:
            self._close()
            raise self._error(e) from None

    def _close(self):
        if self.file is not None:
            with contextlib.suppress(OSError):  # a full disk: the error is already raised
                self.file.close()
            self.file = None

    def _error(self, e: OSError) -> FeedforwardError:
        return FeedforwardError(f"filename: cannot write {self.filename!r} "
                                f"({e.strerror or e})")

    def _row(self, values) -> str:
        text = io.StringIO()
        csv.writer(text, delimiter=self.separator).writerow(values)
        return text.getvalue()

    @property
    def rows(self) -> int:
        """The data rows in the file."""
        return max(len(self.lines) - 1, 0)

    def on_epoch_end(self, epoch, logs=None):
        logs = {"epoch": epoch, **(logs or {})}
        new = [] if self.lines else [self._row(logs)]
        fields = next(csv.reader([(self.lines or new)[0]], delimiter=self.separator), [])
        if fields != list(logs):
            raise FeedforwardError(f"filename: the header of {self.filename!r} lists {fields}; "
                                   f"this fit logs {list(logs)}; use append=False or another "
                                   "file")
        new.append(self._row(logs.values()))
        self.lines += new
        if self.file is None:  # called outside a fit: write the file whole
            self._write()
        else:
            self._append("".join(new))

    def get_state(self):
        return {"rows": self.rows}

    def set_state(self, state):
        """Keep the header and the rows of the epochs being resumed from; drop any later row.

        Rows after those were written after the checkpoint, before the interruption.

        Parameters
        ----------
        state : dict
            ``{"rows": int}``, the data rows written when the checkpoint was saved.
        """
        rows = _restored(self, state, "rows", low=0, integer=True)
        if rows > self.rows:  # resuming would leave a gap in the history
            has = (f"holds {self.rows}" if self.lines else "is missing or empty") \
                if self.append else "was started afresh (CSVLogger(append=False))"
            raise FeedforwardError(f"the checkpoint was saved after {rows} epochs, but "
                                   f"{self.filename!r} {has}: the history would lack epochs; "
                                   "restore the file, or start the run again")
        self.lines = self.lines[:1 + rows] if rows else []
        self._write()


def __getattr__(name):
    # Keras keeps it among the callbacks; here it is the checkpoint module's (importing it
    # from there would make an import cycle), so say where it went rather than "no attribute"
    if name == "BackupAndRestore":
        raise AttributeError("feedforward.callbacks has no BackupAndRestore: it lives with the "
                             "checkpoints; use feedforward.BackupAndRestore (or "
                             "feedforward.checkpoint.BackupAndRestore)")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
