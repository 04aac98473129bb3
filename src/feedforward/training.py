"""The training engine: the one loop of epochs and steps that every surface runs.

``Sequential.fit`` checks its arguments, prepares the data and runs ``Trainer(...).fit()``.
The playground keeps one :class:`Trainer` and runs it in slices with :meth:`Trainer.run`
(N steps, T milliseconds or N epochs, then it returns; the next call continues exactly where
the last one stopped, mid-epoch included), editing weights or swapping the data in between.

One epoch, in order:

1. ``on_epoch_begin``; the metrics are reset; the weights and the optimizer state are kept
   (the undo point); the shuffling stream draws the epoch's permutation;
2. per batch: the augmentation (of raw inputs, with the model's ``"augment"`` stream), then
   ``model.train_step``, the running loss and metrics, ``on_batch_end`` with the running loss;
3. at the end: a check that the weights are finite, the validation logs (``val_*``), the
   ``learning_rate``, ``on_epoch_end``.

**Divergence.** A non-finite loss (``model.train_step`` raises :class:`Diverged`), or weights
made non-finite by the epoch's last update, undoes the epoch: the weights and optimizer state
go back to those of its start, the end of the last epoch with a finite loss. Then
:class:`Diverged` is raised, naming what was restored; unless a callback declares
``handles_divergence = True`` (:class:`~feedforward.callbacks.TerminateOnNaN` does): then
training stops quietly, the non-finite loss going to ``on_batch_end`` and the epoch's logs.

**What callbacks see.** Each gets ``set_model(model)``, ``set_params(params)`` (Keras's
``{"epochs", "steps", "batch_size", "verbose"}``) and ``set_trainer(trainer)``, then uses
the trainer's public names: :attr:`Trainer.position`, :attr:`Trainer.x`, :attr:`Trainer.y`
(None for a stream), :meth:`Trainer.sample` (rows of either), :attr:`Trainer.x_is_raw`,
:attr:`Trainer.shuffle_state`, :attr:`Trainer.callbacks`, :attr:`Trainer.finished`,
:meth:`Trainer.resume_from`.
"""

from __future__ import annotations

import copy
import time

import numpy as np

from . import inference, weighting
from .callbacks import Callback, CallbackList, History, ProgressBar
from .data import augment as augment_mod
from .data.batching import BatchIterator
from .data.streams import (
    ArraySource,
    StreamSource,
    is_stream,
    prepare_data,
    prepare_validation,
    stream_batches,
    stream_source,
)
from .errors import FeedforwardError, check_number, describe
from .inputs import labels_are_ids, record_names


class Diverged(FeedforwardError):
    """Training produced a non-finite loss; the update that would have used it was skipped.

    Parameters
    ----------
    loss : float
        The non-finite loss value (NaN or inf).
    optimizer : Optimizer
        The model's optimizer; its step count and learning rate go in the message.
    what : str, optional
        What went wrong, when not the loss itself (default "the loss became <loss>").
    restored : bool, default False
        Whether the weights and optimizer state of the epoch's start were restored.
    """

    def __init__(self, loss, optimizer, what=None, restored=False):
        self.loss, self.what, self.restored = loss, what or f"the loss became {loss}", restored
        kept = (" The weights and optimizer state of the epoch's start (the last good ones) "
                "were restored." if restored else "")
        super().__init__(
            f"training diverged: {self.what} at optimizer step {optimizer.iterations}.{kept} "
            f"Lower the learning rate (now {optimizer.lr:g}), scale the inputs (e.g. to zero "
            "mean and unit variance), use a smaller initialization, or set clipnorm.")


# ---------------------------------------------------------------------------- argument checks
def check_callbacks(callbacks) -> list:
    """``callbacks`` checked: a list of Callback instances.

    Parameters
    ----------
    callbacks : list of Callback or None
        None for none.

    Returns
    -------
    list of Callback
        A new list.
    """
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)):
        raise FeedforwardError(f"callbacks: expected a list of Callback, got {describe(callbacks)}")
    for i, cb in enumerate(callbacks):
        if not isinstance(cb, Callback):
            raise FeedforwardError(f"callbacks[{i}]: expected a Callback, got {describe(cb)}")
    return list(callbacks)


def check_augment(augment):
    """``augment`` as a callable ``(x_batch, rng) -> x_batch``, or None.

    Parameters
    ----------
    augment : callable, Augmenter, str, dict or None
        A name or config is resolved by :func:`feedforward.data.augment.get`.

    Returns
    -------
    callable or None
        The augmentation.
    """
    if augment is None or callable(augment):
        return augment
    try:
        return augment_mod.get(augment)
    except FeedforwardError as e:
        raise FeedforwardError(f"augment: {e}") from None


def check_verbose(verbose) -> int:
    """``verbose`` checked: 0, 1, 2 or ``"auto"``, which is 1 (Keras's meaning for an
    interactive run).

    Parameters
    ----------
    verbose : {0, 1, 2, "auto"}
        Silent, a progress bar per epoch, or one line per epoch.

    Returns
    -------
    int
        ``verbose``, with ``"auto"`` as 1.
    """
    if isinstance(verbose, str) and verbose == "auto":
        return 1
    if isinstance(verbose, str) or verbose not in (0, 1, 2):
        raise FeedforwardError(f'verbose: expected 0, 1 or 2 (or "auto", which is 1), got '
                               f"{describe(verbose)}")
    return int(verbose)


def ordered_callbacks(callbacks, verbose, history) -> list:
    """The order of the hooks: the user's callbacks, the progress bar, then ``history``, which
    records what the others added to the logs, then those with ``runs_last`` (e.g.
    BackupAndRestore, which saves what all the others hold).

    Parameters
    ----------
    callbacks : list of Callback
        The user's callbacks, in their order.
    verbose : {0, 1, 2}
        A ProgressBar is added unless 0.
    history : History
        The History of the training.

    Returns
    -------
    list of Callback
        All of them, in order.
    """
    first = [cb for cb in callbacks if not cb.runs_last]
    last = [cb for cb in callbacks if cb.runs_last]
    return first + ([ProgressBar(verbose)] if verbose else []) + [history] + last


# ---------------------------------------------------------------------------- evaluation
def loss_weight(model, n) -> int:
    """How a batch counts in a mean over batches: by its size for mean losses, once for
    summed ones.

    Parameters
    ----------
    model : Sequential
        A compiled model.
    n : int
        The batch's samples.

    Returns
    -------
    int
        ``n``, or 1 for a loss with ``reduction == "sum"``.
    """
    return 1 if model.loss.reduction == "sum" else n


def metric_results(model, metrics=None) -> dict:
    """The model's metrics' current values.

    Parameters
    ----------
    model : Sequential
        A compiled model.
    metrics : list of Metric, optional
        Copies of the model's metrics to read instead (as ``evaluate`` keeps them).

    Returns
    -------
    dict
        ``{name: value}`` under the names given to ``compile``.
    """
    metrics = model.metrics if metrics is None else metrics
    return {k: m.result() for k, m in zip(model.metric_names, metrics, strict=True)}


def _gathered(model, stream):
    """The ``(x, y)`` rows of a stream of labelled batches, concatenated: each batch's
    inputs checked as ``model.raw_inputs`` takes them (a DataFrame's columns by name)."""
    xs, ys = [], []
    for k, batch in enumerate(stream_batches(stream)):
        if len(batch) != 2:
            raise FeedforwardError(f"x: batch {k} of the stream holds {len(batch)} arrays; "
                                   "evaluate takes batches (x, y)")
        xs.append(model.raw_inputs(batch[0], f"batch {k} of x"))
        ys.append(np.asarray(batch[1]))
    if not xs:
        raise FeedforwardError("x: the stream holds no batch")
    return np.concatenate(xs), np.concatenate(ys)


def evaluate_prepared(model, x, y, batch_size=1024, sample_weight=None) -> dict:
    """Loss (with penalties) and metrics on prepared data, in inference mode.

    Parameters
    ----------
    model : Sequential
        A compiled, built model.
    x : ndarray of shape (n, features)
        Prepared inputs (``model.prepare_x``).
    y : ndarray
        Prepared targets (``model.prepare_y``).
    batch_size : int, default 1024
        Rows computed at once; the result does not depend on it.
    sample_weight : ndarray of shape (n,), optional
        Weights of the loss's rows (see :mod:`feedforward.weighting`); metrics are unweighted.

    Returns
    -------
    dict
        ``{"loss": ..., metric name: ...}`` over all ``n`` samples.
    """
    # copies: an evaluate inside fit (a callback's, validation) leaves the epoch's running
    # metrics as they were
    metrics = [copy.deepcopy(m) for m in model.metrics]
    for m in metrics:
        m.reset()
    total = 0.0
    for xb, yb, *wb in BatchIterator(x, y, batch_size=batch_size, sample_weight=sample_weight):
        out = model.forward(xb, training=False)
        if wb:
            with weighting.weighted(model):
                value = model.loss.value(out, weighting.weighted_targets(yb, wb[0]),
                                         prepared=True)
        else:
            value = model.loss.value(out, yb, prepared=True)
        total += value * loss_weight(model, out.shape[0])
        for m in metrics:
            m.update(out, yb)
    if model.loss.reduction == "mean":
        total /= x.shape[0]
    return {"loss": total + model.penalty(), **metric_results(model, metrics)}


# ---------------------------------------------------------------------------- the engine
def check_ready(model) -> None:
    """Refuse a model that cannot train: not compiled, or not built (no input size yet).

    Parameters
    ----------
    model : Sequential
    """
    model.require_compiled("Trainer")
    model.require_built("Trainer")


def check_prepared(model, x, y, raw=False, names=("x", "y")) -> None:
    """Refuse data that is not what the engine trains on: arrays prepared by the model.

    The engine takes the arrays as they are (no copy, no conversion); data in another shape
    or type would train on, or score, the wrong numbers, so it is refused here.

    Parameters
    ----------
    model : Sequential
        Built and compiled.
    x : ndarray of shape (n, features)
        ``model.prepare_x(x)``; raw inputs (``model.raw_inputs(x)``) when ``raw``.
    y : ndarray of shape (n, outputs)
        ``model.prepare_y(y, n)``.
    raw : bool
        Whether ``x`` is raw (augmented, then transformed, batch by batch).
    names : tuple of str
        The arguments' names in errors.
    """
    xname, yname = names
    how = f"model.{'raw_inputs' if raw else 'prepare_x'}({xname})"
    if not isinstance(x, np.ndarray) or x.ndim != 2 or x.shape[1] != model.input_dim or (
            not raw and x.dtype != model.dtype):
        raise FeedforwardError(f"{xname}: expected the inputs as {how} gives them, an array "
                               f"of shape (n, {model.input_dim}) of {np.dtype(model.dtype)}, "
                               f"got {_described(x)}")
    # prepared targets are a fixed point of prepare_y: its first row tells their shape
    # (prepared, they are no labels a user typed: no warning that they could be names)
    with labels_are_ids():
        same = isinstance(y, np.ndarray) and y.ndim == 2 and len(y) == len(x) and \
            y.dtype == model.dtype and model.prepare_y(y[:1], 1, xname, yname).shape == y[:1].shape
    if not same:
        raise FeedforwardError(f"{yname}: expected the targets as model.prepare_y({yname}, n) "
                               f"gives them, an array of {len(x)} rows of "
                               f"{np.dtype(model.dtype)}, got {_described(y)}")


def check_validation(model, validation):
    """``validation`` checked: None, or ``(x_val, y_val)`` or ``(x_val, y_val, w_val)``
    prepared by the model (``w_val`` of shape (n,): weights of ``val_loss``'s rows).

    Parameters
    ----------
    model : Sequential
    validation : tuple or None

    Returns
    -------
    tuple or None
        ``validation``.
    """
    if validation is None:
        return None
    if not isinstance(validation, (tuple, list)) or len(validation) not in (2, 3):
        raise FeedforwardError("validation: expected a tuple (x_val, y_val) or (x_val, y_val, "
                               f"w_val), got {describe(validation)}")
    check_prepared(model, *validation[:2], names=("validation[0]", "validation[1]"))
    if len(validation) == 3:
        weighting.check_sample_weight(validation[2], len(validation[0]), "validation[2]")
    return tuple(validation)


def _described(a) -> str:
    if isinstance(a, np.ndarray):
        return f"an array of shape {a.shape} of {a.dtype}"
    return describe(a)


_END = object()  # a stream's end, read ahead


class Feed:
    """The data side of a :class:`Trainer`: one source of batches for arrays and streams
    (:mod:`feedforward.data.streams`), and the sample of the data that callbacks see.

    Attributes
    ----------
    source : ArraySource or StreamSource
        Where the batches come from.
    x, y : ndarray or None
        The training arrays (x raw when ``x_is_raw``); None for a stream (see :meth:`sample`).
    x_is_raw : bool
        Whether each batch is transformed by the trainer (augmented first, with ``augment``).
    steps : int or None
        Batches per epoch; None for a stream of unknown length (an epoch ends with it).
    batch_size : int
        Samples per batch (a stream's: its first batch's).

    Notes
    -----
    An :class:`~feedforward.data.streams.ArraySource` made with ``raw=True`` keeps raw inputs,
    transformed batch by batch: ``fit`` makes one of a memory map, which so stays on disk.
    """

    def set_data(self, x, y=None, sample_weight=None):
        """Train on new data from the next step on (e.g. the playground's new points).

        The epoch in progress, if any, is abandoned: the updates of its batches stay, its
        ``on_epoch_end`` is not called, and the next step begins epoch :attr:`epoch` afresh on
        the new data.

        Parameters
        ----------
        x, y, sample_weight : ndarray or a source
            As for the constructor.
        """
        source = x if isinstance(x, (ArraySource, StreamSource)) else ArraySource(
            x, y, sample_weight, raw=self.augment is not None)
        if not source.streamed:
            check_prepared(self.model, source.x, source.y, raw=source.raw)
        if getattr(source, "sample_weight", None) is not None:
            weighting.check_sample_weight(source.sample_weight, len(source.x))
        if self.augment is not None and not source.raw:
            raise FeedforwardError("augment: needs the raw training inputs")
        self.source, self.x, self.y, self.x_is_raw = source, source.x, source.y, source.raw
        self._batches = self._ahead = None
        self.batch = 0
        self.batch_size = source.start(self._batch_size, self.shuffle, self.model.rngs["shuffle"])
        self.steps = source.steps
        self.params.update(steps=self.steps, batch_size=self.batch_size)

    def sample(self, n) -> tuple:
        """Up to ``n`` training rows, as copies: the arrays' first rows, or a stream's first
        batch's (for callbacks that look at the data, such as the doctor's monitor).

        Parameters
        ----------
        n : int
            The most rows.

        Returns
        -------
        x : ndarray of shape (m, features)
            As the first layer sees them.
        y : ndarray of shape (m, outputs)
            Prepared targets.
        """
        x, y = self.source.sample(n)
        return np.array(self.model.transform(x) if self.x_is_raw else x), np.array(y)

    def _next_batch(self):
        batch, self._ahead = self._ahead or next(self._batches), None
        return batch

    def _stream_ended(self) -> bool:
        """Whether a stream of unknown length has ended: seen by reading one batch ahead."""
        if self._ahead is None:
            self._ahead = next(self._batches, _END)
            if self._ahead is _END and self.batch == 0:
                raise FeedforwardError(f"x: the stream gave no batch for epoch {self.epoch}")
        return self._ahead is _END


class Trainer(Feed):
    """Runs training of a compiled model: epochs of batches, callbacks, divergence undo.

    Parameters
    ----------
    model : Sequential
        A compiled, built model.
    x : ndarray of shape (n, features), or a source (see :class:`Feed`) with ``y`` None
        The training inputs as the first layer sees them (``model.prepare_x``); raw with
        ``augment`` (each batch augmented, then transformed), or a memory map (see ``Feed``).
    y : ndarray of shape (n, outputs) or (n,)
        The training targets, prepared (``model.prepare_y``).
    batch_size : int, default 32
        Samples per step (at most ``n``); a stream gives its own batches.
    shuffle : bool, default True
        Draw a new order of the samples every epoch, from the model's ``"shuffle"`` stream.
    callbacks : list of Callback, optional
        Called at each hook, in the order of :func:`ordered_callbacks`.
    augment : callable ``(x_batch, rng) -> x_batch``, Augmenter or dict, optional
        Applied to every training batch of raw inputs.
    validation : tuple (x_val, y_val) or (x_val, y_val, w_val), optional
        Prepared validation data, evaluated at the end of each epoch (``val_*`` logs).
    epochs : int, optional
        The index of the epoch to stop at (Keras's); None (only with :meth:`run`): no end.
    verbose : {0, 1, 2}
        Silent, a progress bar per epoch, or one line per epoch.
    sample_weight : ndarray of shape (n,), optional
        Weights of the training rows' losses (see :mod:`feedforward.weighting`).
    initial_epoch : int, default 0
        The first epoch's index: epochs ``initial_epoch .. epochs - 1`` run, so numbered.

    Attributes
    ----------
    history : History
        The epochs' logs (also set as ``model.history``).
    callbacks : list of Callback
        Every callback, in the order their hooks are called (History included).
    params : dict
        ``{"epochs", "steps", "batch_size", "verbose"}``, given to each callback.
    epoch, batch, step : int
        The epoch in progress (or the next), its batches done, the optimizer steps taken.
    batch_loss : float
        The loss of the batch trained last (penalties included, before its update), as
        ``model.train_step`` gives it; non-finite when that batch diverged, NaN before any.
    finished : bool
        Whether training ended normally: all epochs run, or a callback stopped it.
    shuffle_state : dict
        The state of the shuffling stream just before the current epoch's permutation was
        drawn (a run resumed mid-epoch draws it again from there).
    """

    def __init__(self, model, x, y=None, *, batch_size=32, shuffle=True, callbacks=None,
                 augment=None, validation=None, epochs=None, verbose=0, sample_weight=None,
                 initial_epoch=0):
        check_ready(model)
        self.model = model
        self.epochs = None if epochs is None else int(check_number(epochs, "epochs", low=0,
                                                                   integer=True))
        start = int(check_number(initial_epoch, "initial_epoch", low=0, integer=True))
        if self.epochs is not None and start > self.epochs:
            raise FeedforwardError(f"initial_epoch: expected at most epochs ({self.epochs}), the "
                                   f"index of the epoch to stop at, got {start}")
        self.shuffle, self.validation = shuffle, check_validation(model, validation)
        self.augment = check_augment(augment)
        self.history = model.history = History()
        self.callbacks = ordered_callbacks(check_callbacks(callbacks), check_verbose(verbose),
                                           self.history)
        self._cbs = CallbackList(self.callbacks, model)
        self.params = {"epochs": self.epochs, "verbose": verbose}
        self._batch_size = int(check_number(batch_size, "batch_size", low=1, integer=True))
        self.epoch, self.batch, self.step, self.batch_loss = start, 0, 0, float("nan")
        self._total, self._seen = 0.0, 0  # the epoch's running loss sum and sample count
        self._batches = None  # the epoch in progress: an iterator over its batches
        self._undo = UndoPoint(model)  # the weights and optimizer state of the epoch's start
        self._stopped_at_start = self._stopping = self._begun = self.finished = False
        self.shuffle_state = self._ahead = None
        self.set_data(x, y, sample_weight)
        self._cbs.set_params(self.params)
        self._cbs.set_trainer(self)

    # ------------------------------------------------------------------ data and position
    @property
    def position(self) -> dict:
        """Where training stands: ``{"epoch", "batch", "total", "seen"}``.

        ``epoch`` epochs have ended and ``batch`` batches of the next are done, whose running
        loss sum (weighted by batch size for mean losses) and sample count are ``total`` and
        ``seen``.
        """
        return {"epoch": self.epoch, "batch": self.batch, "total": self._total,
                "seen": self._seen}

    def resume_from(self, position):
        """Continue from a checkpoint's position, before the first step (in ``on_train_begin``).

        Parameters
        ----------
        position : dict
            As :attr:`position` gives it, and ``"stopped"`` (optional): a callback had ended
            training, nothing is left to run. The epoch's permutation is drawn again (the
            caller restores the shuffling stream's state of the epoch's start, and the
            metrics' sums) and its first ``batch`` batches are skipped.
        """
        if self.step or self._batches is not None:
            raise FeedforwardError("resume_from: training has already started")
        if position["batch"] and self.source.streamed and self.source.once:
            raise FeedforwardError("resume_from: a generator cannot be rewound to the middle of "
                                   "an epoch; give x as a PyDataset or a re-iterable")
        self.epoch, self.batch = position["epoch"], position["batch"]
        self._total, self._seen = position.get("total", 0.0), position.get("seen", 0)
        self._stopped_at_start = bool(position.get("stopped", False))

    @property
    def _all_run(self) -> bool:
        return self.epochs is not None and self.epoch >= self.epochs

    @property
    def stop_training(self) -> bool:
        """The model's ``stop_training`` flag, which a callback sets to end training."""
        return self.model.stop_training

    @stop_training.setter
    def stop_training(self, value):
        self.model.stop_training = bool(value)

    # ------------------------------------------------------------------ running
    def fit(self):
        """Train all :attr:`epochs`, as ``Sequential.fit`` does; the data are dropped after.

        Returns
        -------
        History
            The epochs' logs.
        """
        if self.epochs is None:
            raise FeedforwardError("fit: the Trainer was made without epochs; use run()")
        try:
            self.run()
        finally:
            # not kept alive after fit
            self.x = self.y = self.source = self._batches = self._ahead = None
        return self.history

    def run(self, steps=None, ms=None, epochs=None) -> int:
        """Train until the first budget is spent, or training ends; return the epochs ended.

        A later call continues exactly where this one stopped, mid-epoch included: any
        slicing of a training into calls gives the weights of one uninterrupted ``fit``. An
        epoch whose last batch ran also ends (validation, ``on_epoch_end``) in the same call.
        The first call (and the first after training ended) calls ``on_train_begin``; the
        end of training (all :attr:`epochs` run, a callback stopped it, or an error) calls
        ``on_train_end``.

        Parameters
        ----------
        steps : int, optional
            The most optimizer steps (batches) to run.
        ms : float, optional
            Milliseconds after which to stop, checked after each step and each epoch's end;
            at least one step runs.
        epochs : int, optional
            The most epochs to end (an epoch in progress counts when it ends).

        Returns
        -------
        int
            The epochs that ended during this call.
        """
        steps, ms, epochs = (None if v is None else check_number(v, k, low=0, integer=k != "ms")
                             for k, v in (("steps", steps), ("ms", ms), ("epochs", epochs)))
        if self.finished and self._all_run:
            return 0
        deadline = None if ms is None else time.perf_counter() + ms / 1000
        if not self._begun:
            self._begin()
        ended = taken = 0
        try:  # an overflow is the divergence Diverged names: no NumPy warnings before it
            with np.errstate(over="ignore", invalid="ignore"):
                while not self._over():
                    if (steps is not None and taken >= steps) or (epochs is not None
                                                                  and ended >= epochs):
                        return ended
                    taken += self._step()
                    ended += self._batches is None  # the epoch ended
                    if deadline is not None and time.perf_counter() >= deadline:
                        return ended
            self.finished = True
        except BaseException:
            self._end()
            raise
        self._end()
        return ended

    def end(self):
        """Call ``on_train_end`` now, as ``fit`` does at its end (files are closed, best
        weights restored): for a trainer driven by :meth:`run` that will not run again."""
        if self._begun:
            self._end()

    def _begin(self):
        self.finished = self._stopping = self.model.stop_training = False
        self._cbs.on_train_begin()  # a BackupAndRestore may call resume_from
        self._begun = True

    def _end(self):
        self._begun, self._batches, self._stopped_at_start = False, None, False
        self.batch = self.batch if self.finished else 0  # after an error: the epoch afresh
        self._cbs.on_train_end()

    def _over(self) -> bool:
        """No step is left: all epochs ran, a callback stopped training at an epoch's end, or
        the checkpoint resumed from was written after such a stop."""
        if self._batches is not None:
            return False
        return self._stopped_at_start or self._stopping or self._all_run

    def _step(self) -> int:
        """One step of the epoch in progress (beginning it first), then its end when its
        batches are done; returns the optimizer steps taken (0 or 1)."""
        if self._batches is None:
            self._begin_epoch()
        taken = int(not self._epoch_done())
        if taken:
            self._train_batch()
        if self._epoch_done():
            self._end_epoch()
        return taken

    def _epoch_done(self) -> bool:
        if self._epoch_cut or self.steps is not None:
            return self._epoch_cut or self.batch >= self.steps
        return self._stream_ended()

    # ------------------------------------------------------------------ one epoch
    def _begin_epoch(self):
        self._cbs.on_epoch_begin(self.epoch)
        skip = self.batch  # done before a resumed run's checkpoint
        if not skip:
            for m in self.model.metrics:
                m.reset()
            self._total, self._seen = 0.0, 0
        self._undo.keep()
        self._quiet = any(cb.handles_divergence for cb in self.callbacks)
        self.shuffle_state = self.model.rngs["shuffle"].bit_generator.state
        self._epoch_cut, self._ahead = False, None
        self._batches = self.source.epoch()
        for _ in range(skip):  # the permutation is drawn again: skip what was done
            next(self._batches)

    def _train_batch(self):
        model, index = self.model, self.batch
        xb, yb, wb = self._next_batch()
        if self.x_is_raw:
            if self.augment is not None:
                xb = self.augment(xb, model.rngs["augment"])
            xb = model.transform(xb)
        try:
            loss, out = _train_step(model, xb, yb, wb)
        except Diverged as e:
            self.batch_loss = e.loss
            self._diverged(e)
            model.stop_training = self._epoch_cut = True
            self._total, self._seen, self.batch = e.loss, max(self._seen, 1), self.batch + 1
            self._cbs.on_batch_end(index, {"loss": e.loss})
            return
        self.batch_loss = loss
        self._total += loss * loss_weight(model, len(xb))
        self._seen += len(xb)
        for m in model.metrics:
            m.update(out, yb)
        self.batch, self.step = self.batch + 1, self.step + 1
        self._cbs.on_batch_end(index, {"loss": self._total / loss_weight(model, self._seen)})
        if model.stop_training:  # a callback ended training: the epoch ends after this batch
            self._epoch_cut = True

    def _end_epoch(self):
        model = self.model
        if not np.isfinite(model.params).all():  # the last update overflowed: no loss shows it
            self._diverged(Diverged(float("nan"), model.optimizer,
                                    "the weights became non-finite"))
            model.stop_training, self._total = True, float("nan")
        logs = {"loss": self._total / loss_weight(model, self._seen), **metric_results(model)}
        epoch = self.epoch
        self.epoch, self.batch, self._batches, self._ahead = epoch + 1, 0, None, None
        self.source.end_epoch()
        if self.validation is not None:
            x, y, *w = self.validation
            logs.update({f"val_{k}": v for k, v in evaluate_prepared(
                model, x, y, sample_weight=w[0] if w else None).items()})
        logs["learning_rate"] = model.optimizer.lr
        self._cbs.on_epoch_end(epoch, logs)
        self._stopping = self.model.stop_training  # checked at the end of each epoch

    def _diverged(self, error):
        """Undo the epoch; raise ``error`` (naming what was restored) unless a callback
        handles divergence."""
        report = Diverged(error.loss, self.model.optimizer, error.what, restored=True)
        self._undo.restore()
        if not self._quiet:
            raise report from None


def _train_step(model, x, y, w):
    """``model.train_step``, with the rows' losses weighted by ``w`` unless None."""
    if w is None:
        return model.train_step(x, y)
    with weighting.weighted(model):
        return model.train_step(x, weighting.weighted_targets(y, w))


class UndoPoint:
    """The weights and optimizer state of an epoch's start, to undo the epoch on divergence.

    Copied into buffers kept between epochs: one pass over the arrays per epoch.

    Parameters
    ----------
    model : Sequential
        The compiled, built model whose state is kept.
    """

    def __init__(self, model):
        self.model, self._arrays = model, None

    def keep(self):
        """Copy the model's weights and optimizer state now."""
        opt = self.model.optimizer
        arrays = [self.model.params] + [a for slot in opt.slots.values() for a in slot]
        if self._arrays is None or [a.shape for a in self._arrays] != [a.shape for a in arrays]:
            self._arrays = [np.empty_like(a) for a in arrays]
        for dst, src in zip(self._arrays, arrays, strict=True):
            np.copyto(dst, src)
        self._slots, self._state = list(opt.slots), opt.get_state()

    def restore(self):
        """Put back what :meth:`keep` copied."""
        opt = self.model.optimizer
        np.copyto(self.model.params, self._arrays[0])
        if not self._slots:  # built during the epoch: back to the lazily built zeros
            opt.slots = {}
        else:
            flat = [a for name in self._slots for a in opt.slots[name]]
            for dst, src in zip(flat, self._arrays[1:], strict=True):
                np.copyto(dst, src)
        opt.set_state(self._state)


# ---------------------------------------------------------------------------- the model's side
class Trainable:
    """A base of :class:`~feedforward.model.Sequential`: ``fit``, ``train_on_batch``,
    ``evaluate`` and ``predict``, which check their arguments and data and hand them to the
    engine (as Keras's ``Model`` gets them from its ``Trainer`` base)."""

    def fit(self, x, y=None, epochs=1, batch_size=None, validation_split=0.0,
            validation_data=None, shuffle=True, callbacks=None, verbose=1, augment=None,
            class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None) -> History:
        """Train for ``epochs`` passes over ``(x, y)`` in mini-batches.

        Parameters
        ----------
        x : array of shape (n, features), or a stream of batches
            Raw inputs: an array (a ``np.memmap`` is read batch by batch, never copied; fit
            its model's preprocessing first, on a sample, as fitting it reads all), or a
            stream: a Keras-``PyDataset``-like object (``len`` and ``x[i] -> (x, y)`` or
            ``(x, y, sample_weight)``; its ``on_epoch_end()`` is called after each epoch), a
            list of such batches, or a generator (see ``steps_per_epoch``). A stream's batches
            are checked and prepared one at a time; its model's preprocessing must be fitted
            already (it needs all the data at once), and an unbuilt model is built from the
            first batch.
        y : array of shape (n,) (labels or targets) or (n, outputs)
            None when ``x`` is a stream, whose batches carry the targets.
        epochs : int
            The index of the epoch to stop at: epochs ``initial_epoch .. epochs - 1`` run
            (Keras's meaning). 0 trains nothing and returns an empty History, as in Keras; the
            arguments and data are still checked, an unbuilt model is built and unfitted
            preprocessing is fitted, as in any fit.
        batch_size : int, optional
            Default 32. ``n`` for batch gradient descent, ``1`` for stochastic, ``k`` for
            mini-batch. Not for a stream, which gives its own batches.
        validation_split : float in [0, 1)
            Fraction of the data, taken from the end before shuffling (with its sample
            weights), held out for validation. Not for a stream.
        validation_data : tuple (x_val, y_val) or (x_val, y_val, val_sample_weight), optional
            Arrays; overrides ``validation_split``. The weights weight ``val_loss`` as
            ``sample_weight`` weights ``loss``.
        shuffle : bool
            Reshuffle the training data every epoch; for a PyDataset, the order of its batches
            (as in Keras). A list of batches or a generator gives its own order (ignored, as in
            Keras).
        callbacks : list of Callback
        verbose : {0, 1, 2, "auto"}, default 1
            Silent, a progress bar per epoch, or one line per epoch; ``"auto"`` is 1.
        augment : Augmenter, dict or callable ``(x_batch, rng) -> x_batch``, optional
            Applied to every training batch of raw inputs, before the preprocessing, with the
            model's augmentation stream; never to validation, ``evaluate`` or ``predict``.
        class_weight : dict or "balanced", optional
            ``{class: weight}``, by class id (``0 .. k-1``) or by name from ``classes``;
            classes left out weigh 1. ``"balanced"``, as scikit-learn's: ``n / (k n_c)`` from
            the training part's ``n_c`` rows of each class (not for streams). Each training
            row gets its class's weight (see ``sample_weight``). For one class per sample
            (categorical cross-entropy, or binary cross-entropy over one output). Not with
            ``sample_weight``.
        sample_weight : array of shape (n,), optional
            Weights of the rows' losses, >= 0: a batch's loss is ``sum(w * l) / batch size``
            (Keras's ``"sum_over_batch_size"``), and so is the logged ``loss`` over the epoch;
            metrics are unweighted (see :mod:`feedforward.weighting`). Not for a stream, whose
            batches may carry them as a third element.
        initial_epoch : int, default 0
            The epoch to start at (to resume a training): History and callbacks see the
            epochs ``initial_epoch .. epochs - 1``. At most ``epochs``.
        steps_per_epoch : int, optional
            For a stream only: batches per epoch, drawn from a stream that continues across
            epochs (a PyDataset or list starts a new pass when one ends). Without it an epoch
            is one pass, and a generator, read once, allows one epoch only.

        Returns
        -------
        History
            ``history.history`` maps ``loss``, each metric and their ``val_`` versions to
            per-epoch lists.
        """
        self.require_compiled("fit")
        epochs = int(check_number(epochs, "epochs", low=0, integer=True))
        initial_epoch = int(check_number(initial_epoch, "initial_epoch", low=0, integer=True))
        if initial_epoch > epochs:
            raise FeedforwardError(f"initial_epoch: expected at most epochs ({epochs}), the "
                                   f"index of the epoch to stop at, got {initial_epoch}")
        callbacks = check_callbacks(callbacks)
        augment = check_augment(augment)
        if batch_size is not None:
            batch_size = int(check_number(batch_size, "batch_size", low=1, integer=True))
        validation_split = check_number(validation_split, "validation_split", low=0, high=1,
                                        high_open=True)
        verbose = check_verbose(verbose)
        if is_stream(x):
            source = stream_source(self, x, y, batch_size, validation_split, sample_weight,
                                   class_weight, steps_per_epoch, shuffle,
                                   epochs - initial_epoch)
            val = None if validation_data is None else prepare_validation(self, validation_data)
        else:
            if steps_per_epoch is not None:
                raise FeedforwardError("steps_per_epoch: for a stream of batches only; with "
                                       "arrays an epoch is one pass over them")
            record_names(self, x)  # first: validation_data is then matched by name too
            source, val = prepare_data(self, x, y, validation_split, validation_data, augment,
                                       sample_weight, class_weight)
        return Trainer(self, source, batch_size=batch_size or 32, shuffle=shuffle,
                       callbacks=callbacks, augment=augment, validation=val, epochs=epochs,
                       verbose=verbose, initial_epoch=initial_epoch).fit()

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None) -> float:
        """Exactly one optimizer step on this batch; returns the loss before the step.

        Parameters
        ----------
        x : array of shape (n, features)
            The batch's inputs, raw (the preprocessing is applied).
        y : array of shape (n,) or (n, outputs)
            The batch's labels or targets.
        sample_weight : array of shape (n,), optional
            Weights of the loss's rows, as ``fit`` takes them.
        class_weight : dict or "balanced", optional
            Weights of the classes, as ``fit`` takes them (``"balanced"``: over this batch's
            rows); not with ``sample_weight``.

        Returns
        -------
        float
            The loss on the batch, with regularization penalties, before the update.
        """
        self.require_compiled("train_on_batch")
        x, y = self.prepare_xy(x, y)
        return _train_step(self, x, y,
                           weighting.row_weights(self, y, sample_weight, class_weight))[0]

    def test_on_batch(self, x, y, sample_weight=None, return_dict=False):
        """:meth:`evaluate` on one batch, computed at once (as Keras's ``test_on_batch``).

        Parameters
        ----------
        x : array of shape (n, features)
            The batch's raw inputs.
        y : array of shape (n,) or (n, outputs)
            Its labels or targets.
        sample_weight : array of shape (n,), optional
            Weights of the loss's rows.
        return_dict : bool, default False
            Return ``{"loss": ..., metric name: ...}``.

        Returns
        -------
        float, list of float or dict
            As :meth:`evaluate` returns them.
        """
        return self.evaluate(x, y, batch_size=max(len(x), 1), verbose=0,
                             return_dict=return_dict, sample_weight=sample_weight)

    def predict_on_batch(self, x) -> np.ndarray:
        """:meth:`predict` on one batch, computed at once (as Keras's ``predict_on_batch``).

        Parameters
        ----------
        x : array of shape (n, features)
            The batch's raw inputs.

        Returns
        -------
        ndarray of shape (n, outputs)
        """
        return self.predict(x, batch_size=max(len(x), 1), verbose=0)

    # ------------------------------------------------------------------ inference
    def predict(self, x, batch_size=1024, verbose="auto") -> np.ndarray:
        """Outputs for ``x`` of shape ``(n, features)``: shape ``(n, outputs)``, inference mode.

        Parameters
        ----------
        x : array of shape (n, features), or a stream of batches
            Raw inputs (the preprocessing is applied). A PyDataset-like object or an iterable
            of batches (as ``fit`` takes; a batch's ``y`` is ignored) is predicted batch by
            batch.
        batch_size : int, default 1024
            Rows computed at once; bounds the memory of the work arrays.
        verbose : {0, 1, 2, "auto"}, default "auto"
            Accepted as Keras's is and checked; for now nothing is printed, whatever its value.

        Returns
        -------
        ndarray of shape (n, outputs)
            The last layer's outputs, of the model's dtype.

        Notes
        -----
        Threads may share a model for ``predict`` and ``evaluate`` (as behind a web API): the
        calls of one model take turns on its lock (see :func:`feedforward.inference.lock`), so
        each gets the numbers it would get alone; calls of different models run at once.
        Training a model (``fit``, ``train_on_batch``, ``set_weights``) while another thread
        predicts with it is not safe: training does not take the lock, so a prediction may mix
        the weights of two steps, and the training's own forward pass may overwrite the work
        arrays that the prediction is reading, giving wrong numbers to both without an error.
        """
        ready = self.ready_inputs(x) if self.layers else None
        if (ready is not None and type(batch_size) is int and batch_size >= len(ready)
                and (verbose == "auto" if isinstance(verbose, str) else type(verbose) is int
                     and verbose == 0)):
            # arguments that every check below passes unchanged: skip them (one-row latency)
            with inference.lock(self):
                return inference.outputs(self, ready)
        if not self.layers:
            raise FeedforwardError("predict: the model has no layers")
        batch_size = int(check_number(batch_size, "batch_size", low=1, integer=True))
        check_verbose(verbose)
        if is_stream(x):  # a PyDataset or generator of batches: their outputs, in order
            outputs = [self.predict(b[0], batch_size, 0) for b in stream_batches(x)]
            if not outputs:
                raise FeedforwardError("x: the stream holds no batch")
            return np.concatenate(outputs)
        with inference.lock(self):  # the layers' work arrays are the model's, not the call's
            x = self.prepare_x(x)
            if x.shape[0] <= batch_size:  # one batch: skip the iterator (small calls' latency)
                return self.forward(x, training=False).copy()  # layers reuse their buffers
            out = np.empty((x.shape[0], *self.output_shape[1:]), dtype=self.dtype)
            start = 0
            for xb in BatchIterator(x, batch_size=batch_size):
                out[start:start + len(xb)] = self.forward(xb, training=False)
                start += len(xb)
            return out

    def evaluate(self, x, y=None, batch_size=1024, verbose="auto", return_dict=False,
                 sample_weight=None):
        """Loss (with regularization penalties) and metrics on ``(x, y)``, in inference mode.

        Returns the loss alone when there are no metrics, else ``[loss, metric, ...]``;
        a dict when ``return_dict`` is true.

        Parameters
        ----------
        x : array of shape (n, features), or a stream of ``(x, y)`` batches
            Raw inputs (the preprocessing is applied). A PyDataset-like object or an iterable
            of batches (as ``fit`` takes) is read whole, its rows gathered in memory.
        y : array of shape (n,) or (n, outputs)
            Labels or targets; None for a stream.
        batch_size : int, default 1024
            Rows computed at once; the result does not depend on it.
        verbose : {0, 1, 2, "auto"}, default "auto"
            Accepted as Keras's is and checked; for now nothing is printed, whatever its value.
        return_dict : bool, default False
            Return ``{"loss": ..., metric name: ...}``.
        sample_weight : array of shape (n,), optional
            Weights of the loss's rows, as ``fit`` takes them; the metrics are unweighted.

        Returns
        -------
        float, list of float or dict
            The loss over all ``n`` samples, then the metrics in the order of ``compile``.
        """
        self.require_compiled("evaluate")
        check_verbose(verbose)
        if y is None and is_stream(x):  # gathered: every metric is over all the rows
            x, y = _gathered(self, x)
        x, y = self.prepare_xy(x, y)
        sample_weight = weighting.row_weights(self, y, sample_weight)
        with inference.lock(self):  # the layers' work arrays, as in predict
            logs = evaluate_prepared(self, x, y, batch_size, sample_weight)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values
