"""The training of a session's network: the library's engine, driven in slices.

There is no training loop here. A :class:`Driver` keeps one :class:`~feedforward.training.Trainer`
per network and calls its :meth:`~feedforward.training.Trainer.run` with a time budget, so that
the server answers messages between two slices; the next slice continues where the last one
stopped, mid-epoch included. What the playground does at each epoch's end (the scores, the loss
curves, early stopping) is a callback of that trainer, and a divergence is the engine's: it
undoes the epoch and raises :class:`~feedforward.training.Diverged`, whose message goes to the
user.
"""

from __future__ import annotations

import math

import numpy as np

from ..callbacks import Callback, EarlyStopping
from ..training import Diverged, Trainer

CURVE_LENGTH = 1000  # epochs of loss curves kept for the doctor's rules


class EpochEnd(Callback):
    """The playground's work at each epoch's end, called by the engine."""

    def __init__(self, driver):
        super().__init__()
        self.driver = driver

    def on_epoch_end(self, epoch, logs=None):
        self.driver.end_epoch()


class Stopping(EarlyStopping):
    """The library's early stopping, given the monitored split's loss by the playground at each
    epoch's end (numbered by the playground, across trainers). The best weights come back as
    soon as it stops: a playground's training has no end for ``on_train_end`` to wait for.

    Parameters
    ----------
    patience : int
        Epochs without improvement that stop training (``setup.early_stopping``).
    """

    def __init__(self, patience):
        super().__init__(monitor="loss", patience=patience, restore_best_weights=True)
        self.on_train_begin()

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if self.stopped_epoch == epoch:
            self.on_train_end()


class Driver:
    """One network's training: its trainer, epoch and step counts, curves and early stopping.

    Parameters
    ----------
    session : Session
        The session whose ``model``, ``x``, ``y`` and ``setup`` it trains on; it sets the
        session's ``scores`` and ``running``.
    callbacks : list of Callback
        More callbacks for every trainer (after the playground's own).

    Attributes
    ----------
    trainer : Trainer
    epoch : int
        Epochs since the network was built or reset.
    curves : dict
        ``{"epoch", "train", "val", "test", "accuracy": list}``: the last
        :data:`CURVE_LENGTH` epochs, for the doctor.
    pending : dict
        The curves' points not yet sent in a frame.
    """

    def __init__(self, session, callbacks=()):
        self.session, self.callbacks = session, list(callbacks)
        self.epoch, self._steps = 0, 0
        self.curves = {"epoch": [], "train": [], "val": [], "test": [], "accuracy": []}
        self.pending = {"epoch": [], "train": [], "val": [], "test": []}
        self.history_reset = True
        self.reset_early_stopping()
        self.stop = None
        self.new_trainer()
        session.scores = session.evaluate()
        self.record(session.scores)

    @property
    def step(self) -> int:
        """Optimizer steps since the network was built or reset."""
        return self._steps + self.trainer.step

    @property
    def progress(self) -> float:
        """The share of the epoch in progress that is done, in [0, 1)."""
        t = self.trainer
        return t.batch / t.steps if t.steps else 0.0

    def new_trainer(self) -> None:
        """A trainer for the session's model, data and batch size; the epoch in progress, if
        any, is abandoned (a new optimizer or batch size begins a new epoch)."""
        s = self.session
        if getattr(self, "trainer", None) is not None:
            self._steps += self.trainer.step
        self.trainer = Trainer(s.model, s.x["train"], s.y["train"],
                               batch_size=s.setup["batch_size"], shuffle=True,
                               callbacks=[EpochEnd(self), *self.callbacks])

    def set_data(self) -> None:
        """Train on the session's new training data from the next step on."""
        self.trainer.set_data(self.session.x["train"], self.session.y["train"])

    def train(self, epochs, budget=None):
        """Run the trainer until ``epochs`` more epochs end or ``budget`` seconds pass.

        Returns
        -------
        done : int
            Epochs completed.
        stop : tuple (reason, message) or None
            ``("early_stopping", ...)`` or ``("diverged", ...)`` when training must stop.
        """
        start, self.stop = self.epoch, None
        ms = None if budget is None else 1000 * budget
        try:
            with np.errstate(all="ignore"):  # overflow is caught as divergence, not warned
                self._run(ms, epochs)
        except Diverged as e:
            self.stop = ("diverged", f"{e} The network is back at epoch {self.epoch}.")
        if self.stop is not None:
            self.session.running = False
            self.session.scores = self.session.evaluate()
        return self.epoch - start, self.stop

    def _run(self, ms, epochs) -> None:
        self.trainer.run(ms=ms, epochs=epochs)
        if not np.isfinite(self.session.model.params).all():
            # an update overflowed though its batch's loss was finite: the engine finds it at
            # the epoch's end and undoes the epoch, so that no slice ends on such weights (an
            # export, a frame or an edited weight would see them)
            self.trainer.run(epochs=1)

    def end_epoch(self) -> None:
        """The scores, the curves and early stopping, at the end of each epoch."""
        s = self.session
        self.epoch += 1
        scores = s.evaluate()
        bad = [(split, v["loss"]) for split, v in scores.items()
               if v is not None and not math.isfinite(v["loss"])]
        s.scores = scores
        if bad:  # finite weights, yet a loss overflows: stop before the curves take it
            split, loss = bad[0]
            self.stop = ("diverged", f"training stopped: the {split} loss became {loss} at "
                                     f"epoch {self.epoch}. Lower the learning rate, use a "
                                     "smaller initialization, or set clipnorm.")
            self.trainer.stop_training = True
            return
        self.record(scores)
        self.early_stopping(scores)

    def record(self, scores) -> None:
        point = {"epoch": self.epoch, **{s: None if v is None else v["loss"]
                                         for s, v in scores.items()}}
        for key, value in point.items():
            self.pending[key].append(value)
            self.curves[key].append(value)
        train = scores["train"]
        self.curves["accuracy"].append(
            train["metric"] if train and self.session.setup["problem"] == "classification"
            else None)
        for values in self.curves.values():
            if len(values) > CURVE_LENGTH:  # the first value stays: rules compare with it
                del values[1]

    def take_history(self):
        """The curves' points not sent yet, and whether the curves restarted; then none."""
        history, reset = self.pending, self.history_reset
        self.pending = {k: [] for k in self.pending}
        self.history_reset = False
        return history, reset

    def monitored(self) -> str:
        return "val" if self.session.scores.get("val") is not None else "test"

    def early_stopping(self, scores) -> None:
        patience, split = self.session.setup["early_stopping"], self.monitored()
        if not patience or scores[split] is None:
            return
        stopper = self.stopper
        stopper.set_model(self.session.model)
        stopper.on_epoch_end(self.epoch, {"loss": scores[split]["loss"]})
        if stopper.stopped_epoch != self.epoch:  # else: training stopped, the best weights back
            return
        self.session.scores = self.session.evaluate()
        name = "validation" if split == "val" else "test"
        self.stop = ("early_stopping",
                     f"early stopping at epoch {self.epoch}: the {name} loss has not improved "
                     f"for {patience} epochs; the weights of epoch {stopper.best_epoch} (loss "
                     f"{stopper.best:.4g}) are restored")

    def reset_early_stopping(self) -> None:
        """Early stopping from scratch, with the setup's patience."""
        self.stopper = Stopping(self.session.setup["early_stopping"])

    @property
    def stopped_early(self) -> bool:
        """Whether early stopping ended training and restored its best weights (until the
        next play or step)."""
        return self.stopper.stopped_epoch is not None

    def resume(self, stopped_only=False) -> None:
        """Before playing again: early stopping counts its patience anew. ``stopped_only``:
        only after it stopped training (a step after a stop trains on, as play does)."""
        if not stopped_only or self.stopper.stopped_epoch is not None:
            self.stopper.wait, self.stopper.stopped_epoch = 0, None
