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
the trainer's public names: :attr:`Trainer.position`, :attr:`Trainer.x`, :attr:`Trainer.y`,
:attr:`Trainer.x_is_raw`, :attr:`Trainer.shuffle_state`, :attr:`Trainer.callbacks`,
:attr:`Trainer.finished`, :meth:`Trainer.resume_from`.
"""

from __future__ import annotations

import time

import numpy as np

from .callbacks import Callback, CallbackList, History, ProgressBar
from .data import augment as augment_mod
from .data.batching import BatchIterator
from .errors import FeedforwardError, check_number, describe


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
    """``callbacks`` as a list of Callback instances (None: none)."""
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)):
        raise FeedforwardError(f"callbacks: expected a list of Callback, got {describe(callbacks)}")
    for i, cb in enumerate(callbacks):
        if not isinstance(cb, Callback):
            raise FeedforwardError(f"callbacks[{i}]: expected a Callback, got {describe(cb)}")
    return list(callbacks)


def check_augment(augment):
    """``augment`` as a callable ``(x_batch, rng) -> x_batch`` (an Augmenter), or None."""
    if augment is None or callable(augment):
        return augment
    try:
        return augment_mod.get(augment)
    except FeedforwardError as e:
        raise FeedforwardError(f"augment: {e}") from None


def check_verbose(verbose) -> int:
    if verbose not in (0, 1, 2):
        raise FeedforwardError(f"verbose: expected 0, 1 or 2, got {describe(verbose)}")
    return verbose


def ordered_callbacks(callbacks, verbose, history) -> list:
    """The user's callbacks, the progress bar, then ``history``, which records what the others
    added to the logs, then those with ``runs_last`` (e.g. BackupAndRestore, which saves what
    all the others hold)."""
    first = [cb for cb in callbacks if not cb.runs_last]
    last = [cb for cb in callbacks if cb.runs_last]
    return first + ([ProgressBar(verbose)] if verbose else []) + [history] + last


# ---------------------------------------------------------------------------- evaluation
def loss_weight(model, n):
    """How a batch of ``n`` samples counts in a mean over batches: by its size for mean
    losses, once for summed ones."""
    return 1 if model.loss.reduction == "sum" else n


def metric_results(model) -> dict:
    """The model's metrics' current values, under the names of ``compile``."""
    return {k: m.result() for k, m in zip(model.metric_names, model.metrics, strict=True)}


def evaluate_prepared(model, x, y, batch_size=1024) -> dict:
    """Loss (with penalties) and metrics on prepared ``(x, y)``, in inference mode."""
    for m in model.metrics:
        m.reset()
    total = 0.0
    for xb, yb in BatchIterator(x, y, batch_size=batch_size):
        out = model.forward(xb, training=False)
        total += float(model.loss._value(out, yb)) * loss_weight(model, out.shape[0])
        for m in model.metrics:
            m.update(out, yb)
    if model.loss.reduction == "mean":
        total /= x.shape[0]
    return {"loss": total + model._penalty(False), **metric_results(model)}


# ---------------------------------------------------------------------------- the engine
class Trainer:
    """Runs training of a compiled model: epochs of batches, callbacks, divergence undo.

    Parameters
    ----------
    model : Sequential
        A compiled, built model.
    x : ndarray of shape (n, features)
        The training inputs as the first layer sees them (``model.prepare_x``); raw inputs
        (``model.raw_inputs``) when ``augment`` is given: each batch is augmented, then
        transformed.
    y : ndarray of shape (n, outputs) or (n,)
        The training targets, prepared (``model.prepare_y``).
    batch_size : int, default 32
        Samples per step (at most ``n``).
    shuffle : bool, default True
        Draw a new order of the samples every epoch, from the model's ``"shuffle"`` stream.
    callbacks : list of Callback, optional
        Called at each hook, in the order of :func:`ordered_callbacks`.
    augment : callable ``(x_batch, rng) -> x_batch``, Augmenter or dict, optional
        Applied to every training batch of raw inputs.
    validation : tuple (x_val, y_val), optional
        Prepared validation data, evaluated at the end of each epoch (``val_*`` logs).
    epochs : int, optional
        The epochs to train in all; None (only with :meth:`run`): no end.
    verbose : {0, 1, 2}
        Silent, a progress bar per epoch, or one line per epoch.

    Attributes
    ----------
    history : History
        The epochs' logs (also set as ``model.history``).
    callbacks : list of Callback
        Every callback, in the order their hooks are called (History included).
    params : dict
        ``{"epochs", "steps", "batch_size", "verbose"}``, given to each callback.
    epoch : int
        Epochs ended so far: the index of the epoch in progress, or of the next one.
    batch : int
        Batches of that epoch done.
    step : int
        Optimizer steps this trainer has taken.
    batch_loss : float
        The loss of the batch trained last (penalties included, before its update), as
        ``model.train_step`` gives it; non-finite when that batch diverged, NaN before any.
    finished : bool
        Whether training ended normally: all epochs run, or a callback stopped it.
    shuffle_state : dict
        The state of the shuffling stream just before the current epoch's permutation was
        drawn (a run resumed mid-epoch draws it again from there).
    """

    def __init__(self, model, x, y, *, batch_size=32, shuffle=True, callbacks=None,
                 augment=None, validation=None, epochs=None, verbose=0):
        model.require_compiled("Trainer")
        self.model = model
        self.epochs = None if epochs is None else int(check_number(epochs, "epochs", low=0,
                                                                   integer=True))
        self.shuffle, self.validation = shuffle, validation
        self.augment = check_augment(augment)
        self.x_is_raw = self.augment is not None
        self.history = model.history = History()
        self.callbacks = ordered_callbacks(check_callbacks(callbacks), check_verbose(verbose),
                                           self.history)
        self._cbs = CallbackList(self.callbacks, model)
        self.params = {"epochs": self.epochs, "verbose": verbose}
        self._batch_size = int(check_number(batch_size, "batch_size", low=1, integer=True))
        self.epoch = self.batch = self.step = 0
        self.batch_loss = float("nan")
        self._total, self._seen = 0.0, 0  # the epoch's running loss sum and sample count
        self._batches = None  # the epoch in progress: an iterator over its batches
        self._good = None  # the undo point: weights and optimizer state of the epoch's start
        self._stopped_at_start = self._stopping = False
        self._begun = self.finished = False
        self.shuffle_state = None
        self._set_data(x, y)
        self._cbs.set_params(self.params)
        self._cbs.set_trainer(self)

    # ------------------------------------------------------------------ data and position
    def _set_data(self, x, y):
        self.x, self.y = x, y
        n = x.shape[0]
        self.batch_size = min(self._batch_size, n)
        self.steps = -(-n // self.batch_size)
        self.params.update(steps=self.steps, batch_size=self.batch_size)
        self._loader = BatchIterator(x, y, self.batch_size, self.shuffle,
                                     rng=self.model.rngs["shuffle"])

    def set_data(self, x, y):
        """Train on new data from the next step on (e.g. the playground's new points).

        The epoch in progress, if any, is abandoned: the updates of its batches stay, its
        ``on_epoch_end`` is not called, and the next step begins epoch :attr:`epoch` afresh on
        the new data.

        Parameters
        ----------
        x, y : ndarray
            Prepared as for the constructor.
        """
        self._set_data(x, y)
        self._batches, self.batch = None, 0

    @property
    def position(self) -> dict:
        """Where training stands: ``{"epoch", "batch", "total", "seen"}``.

        ``epoch`` epochs have ended and ``batch`` batches of the next one are done; ``total``
        and ``seen`` are that epoch's running loss sum (each batch's loss weighted by its size,
        for mean losses) and sample count.
        """
        return {"epoch": self.epoch, "batch": self.batch, "total": self._total,
                "seen": self._seen}

    def resume_from(self, position):
        """Continue from a checkpoint's position; only before the first step (e.g. from
        ``on_train_begin``).

        Parameters
        ----------
        position : dict
            ``{"epoch", "batch", "total", "seen"}`` as :attr:`position` gives them, and
            ``"stopped"`` (optional): a callback had ended training, so nothing is left to run.
            The epoch's permutation is drawn again from the shuffling stream's state (restored
            by the caller to that of the epoch's start) and its first ``batch`` batches are
            skipped; the metrics' sums are the caller's to restore.
        """
        if self.step or self._batches is not None:
            raise FeedforwardError("resume_from: training has already started")
        self.epoch, self.batch = position["epoch"], position["batch"]
        self._total, self._seen = position.get("total", 0.0), position.get("seen", 0)
        self._stopped_at_start = bool(position.get("stopped", False))

    @property
    def stop_training(self) -> bool:
        """The model's ``stop_training`` flag: a callback sets it to end training."""
        return self.model.stop_training

    @stop_training.setter
    def stop_training(self, value):
        self.model.stop_training = bool(value)

    # ------------------------------------------------------------------ running
    def fit(self):
        """Train all :attr:`epochs`, as ``Sequential.fit`` does; return the History.

        ``on_train_end`` runs on errors too (files are closed, best weights restored). The
        data are not kept after it.

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
            self.x = self.y = self._loader = self._batches = None  # not kept alive after fit
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
        steps = None if steps is None else int(check_number(steps, "steps", low=0, integer=True))
        ms = None if ms is None else float(check_number(ms, "ms", low=0))
        epochs = None if epochs is None else int(check_number(epochs, "epochs", low=0,
                                                              integer=True))
        if self.finished and self._all_run():
            return 0
        deadline = None if ms is None else time.perf_counter() + ms / 1000
        if not self._begun:
            self._begin()
        ended = taken = 0
        try:
            while not self._over():
                if (steps is not None and taken >= steps) or (epochs is not None
                                                              and ended >= epochs):
                    return ended
                taken += self._step()
                if self._batches is None:  # the epoch ended
                    ended += 1
                if deadline is not None and time.perf_counter() >= deadline:
                    return ended
            self.finished = True
        except BaseException:
            self._end()
            raise
        self._end()
        return ended

    def end(self):
        """End training now, as at the end of ``fit``: ``on_train_end`` (files are closed,
        best weights restored). For a trainer driven by :meth:`run` that will not run again."""
        if self._begun:
            self._end()

    def _begin(self):
        self.finished = self._stopping = False
        self.model.stop_training = False
        self._cbs.on_train_begin()  # a BackupAndRestore may call resume_from
        self._begun = True

    def _end(self):
        self._begun, self._batches, self._stopped_at_start = False, None, False
        if self.batch and not self.finished:  # an error mid-epoch: that epoch starts afresh
            self.batch = 0
        self._cbs.on_train_end()

    def _all_run(self) -> bool:
        return self.epochs is not None and self.epoch >= self.epochs

    def _over(self) -> bool:
        """No step is left: all epochs ran, a callback stopped training at an epoch's end, or
        the checkpoint resumed from was written after such a stop."""
        if self._batches is not None:
            return False
        return self._stopped_at_start or self._all_run() or self._stopping

    def _step(self) -> int:
        """One step of the epoch in progress (beginning it first), or its end when its batches
        are done; returns the optimizer steps taken (0 or 1)."""
        if self._batches is None:
            self._begin_epoch()
        if self.batch < self.steps and not self._epoch_cut:
            self._train_batch()
            taken = 1
        else:
            taken = 0
        if self.batch >= self.steps or self._epoch_cut:
            self._end_epoch()
        return taken

    # ------------------------------------------------------------------ one epoch
    def _begin_epoch(self):
        self._cbs.on_epoch_begin(self.epoch)
        skip = self.batch  # done before a resumed run's checkpoint
        if not skip:
            for m in self.model.metrics:
                m.reset()
            self._total, self._seen = 0.0, 0
        self._snapshot()
        self._quiet = any(cb.handles_divergence for cb in self.callbacks)
        self.shuffle_state = self.model.rngs["shuffle"].bit_generator.state
        self._epoch_cut = False
        self._batches = iter(self._loader)
        for _ in range(skip):  # the permutation is drawn again: skip what was done
            next(self._batches)

    def _train_batch(self):
        model, index = self.model, self.batch
        xb, yb = next(self._batches)
        if self.augment is not None:
            xb = model.transform(self.augment(xb, model.rngs["augment"]))
        try:
            loss, out = model.train_step(xb, yb)
        except Diverged as e:
            self.batch_loss = e.loss
            self._undo_epoch(e)
            model.stop_training, self._epoch_cut = True, True
            self._total, self._seen = e.loss, max(self._seen, 1)
            self.batch += 1
            self._cbs.on_batch_end(index, {"loss": e.loss})
            return
        self.batch_loss = loss
        self._total += loss * loss_weight(model, len(xb))
        self._seen += len(xb)
        for m in model.metrics:
            m.update(out, yb)
        self.batch += 1
        self.step += 1
        self._cbs.on_batch_end(index, {"loss": self._total / loss_weight(model, self._seen)})
        if model.stop_training:  # a callback ended training: the epoch ends after this batch
            self._epoch_cut = True

    def _end_epoch(self):
        model = self.model
        if not np.isfinite(model.params).all():  # the last update overflowed: no loss shows it
            self._undo_epoch(Diverged(float("nan"), model.optimizer,
                                      "the weights became non-finite"))
            model.stop_training, self._total = True, float("nan")
        logs = {"loss": self._total / loss_weight(model, self._seen), **metric_results(model)}
        epoch = self.epoch
        self.epoch, self.batch, self._batches = epoch + 1, 0, None
        if self.validation is not None:
            logs.update({f"val_{k}": v
                         for k, v in evaluate_prepared(model, *self.validation).items()})
        logs["learning_rate"] = model.optimizer.lr
        self._cbs.on_epoch_end(epoch, logs)
        self._stopping = self.model.stop_training  # checked at the end of each epoch

    # ------------------------------------------------------------------ divergence undo
    def _snapshot(self):
        """Keep the weights and optimizer state of the epoch's start (copied into reused
        buffers: one pass over them per epoch)."""
        opt, good = self.model.optimizer, self._good
        arrays = [self.model.params] + [a for slot in opt.slots.values() for a in slot]
        if good is None or [a.shape for a in good[0]] != [a.shape for a in arrays]:
            good = ([np.empty_like(a) for a in arrays], None, None)
        for dst, src in zip(good[0], arrays, strict=True):
            np.copyto(dst, src)
        self._good = (good[0], list(opt.slots), opt.get_state())

    def _undo_epoch(self, error):
        """Restore the snapshot; raise ``error`` (naming what was restored) unless a callback
        handles divergence."""
        opt, (arrays, slot_names, state) = self.model.optimizer, self._good
        report = Diverged(error.loss, opt, error.what, restored=True)  # the step it happened at
        np.copyto(self.model.params, arrays[0])
        if not slot_names:  # built during the epoch: back to the lazily built zeros
            opt.slots = {}
        else:
            flat = [a for name in slot_names for a in opt.slots[name]]
            for dst, src in zip(flat, arrays[1:], strict=True):
                np.copyto(dst, src)
        opt.set_state(state)
        if not self._quiet:
            raise report from None
