"""The training doctor: rules over a :class:`Monitor`'s records, the loss curves and the run.

:func:`examine` runs every rule of :mod:`.rules` on the :class:`Evidence` of a run and
resolves the report: root causes come first, a finding that another one explains is folded
into it (a rate too high explains "underfitting"), and a fix that contradicts the fix of an
earlier finding for the same setting is dropped. :func:`diagnose` does it for a model and
its history; the :class:`Doctor` callback does it while training, from a record measured at
initialization on, and prints what is new.
"""

from __future__ import annotations

import numpy as np

from ..callbacks import Callback
from . import rules
from .findings import Evidence, Finding
from .monitor import Monitor
from .runinfo import RunInfo

RULES = rules.RULES
CHECKED = ("gradient flow", "dead and saturated units", "weight symmetry", "input scale",
           "target scale",
           "learning rate", "regularization", "output range", "over- and underfitting",
           "progress against chance")


def examine(evidence: Evidence) -> list[Finding]:
    """Every rule on ``evidence``, the report resolved: root causes first, no symptom that a
    root cause explains, no contradictory fixes.

    Parameters
    ----------
    evidence : Evidence

    Returns
    -------
    list of Finding
        In the order of :data:`RULES` (root causes first); empty when no rule fires.
    """
    found = [f for f in (rule(evidence) for rule in RULES) if f is not None]
    names = {f.name for f in found}
    kept = []
    for finding in found:
        if any(finding.name in rules.EXPLAINS.get(k.name, ()) for k in kept):
            continue
        finding.explains = [n for n in rules.EXPLAINS.get(finding.name, ()) if n in names]
        kept.append(finding)
    chosen: dict = {}
    for finding in kept:  # an earlier (root) finding's value for a setting wins
        finding.fixes = [f for f in finding.fixes if not _has(evidence.run, f) and (
            f.setting in (None, "check") or chosen.setdefault(f.setting, f.value) == f.value)]
    return kept


def _has(run, fix) -> bool:
    """Whether the run already has the fix's value (advice to keep it would be no advice),
    early stopping included."""
    current = {"activation": run.hidden and all(a == fix.value for a in run.hidden),
               "initializer": run.initializer == fix.value,
               "optimizer": run.optimizer.lower() == str(fix.value).lower(),
               "scaling": run.scaled and fix.value != "none",
               "layers": run.units == fix.value,
               "learning_rate": run.learning_rate == fix.value,
               "early_stopping": run.early_stopping == bool(fix.value)}
    return bool(current.get(fix.setting, False))


def diagnose(model, history, monitor=None, x=None, y=None) -> list:
    """Run every rule; returns the list of :class:`Finding` (see :func:`examine`).

    Parameters
    ----------
    model : Sequential
    history : History or dict
        ``fit``'s History (its ``monitor`` records are used when a :class:`Monitor` ran), or
        a dict of per-epoch lists such as ``history.history``.
    monitor : Monitor, optional
        The monitor that watched the run (default: the records found on ``history``).
    x : array of shape (n, features), optional
        Raw inputs; when given and no monitor ran, one record is measured on them now.
    y : array of shape (n,) or (n, outputs), optional
        The raw training targets, for the chance level and the output range.

    Returns
    -------
    list of Finding
        The findings, root causes first; empty when no rule fired.
    """
    curves = history if isinstance(history, dict) else getattr(history, "history", {})
    if monitor is None:
        monitor = getattr(history, "monitor", None)
    if monitor is None and x is not None:
        monitor = Monitor(probe=x)
        monitor.measure(model, epoch=len(curves.get("loss", [])) - 1)
    records, inputs = ([], {}) if monitor is None else (monitor.records, monitor.inputs)
    targets = None if y is None or model is None else model.prepare_y(y, len(y))
    return examine(Evidence(records, curves, inputs, RunInfo.of(model, targets), final=True))


class Doctor(Callback):
    """Diagnose while training: prints each new finding once, and all of them at the end.

    The doctor's monitor records the network once before the first step (gradients of the
    probe batch included), so problems whose evidence exists at initialization are named at
    epoch 0.

    Parameters
    ----------
    monitor : Monitor, optional
        A monitor that is also in ``fit``'s callbacks, before the doctor (its record of an
        epoch must exist when the doctor reads it); by default the doctor runs its own.
    print_fn : callable
        Receives each new finding as text (``print`` by default).
    every, probe_size : int
        Epochs between records, and rows of the probe batch, of the doctor's own monitor.
    surface : {"python", "cli"}
        The terms of the printed fixes: Python arguments, or ``feedforward train`` flags.

    Attributes
    ----------
    findings : list of Finding
        Those of the last diagnosis (at the end of training).
    first_seen : dict
        ``{name: epoch}``: when each finding was first named (0: at initialization).
    explained : dict
        ``{name: epoch}``: when a symptom was first named as explained by another finding,
        for the symptoms never named on their own before.
    run : RunInfo
        What the rules know of the run.
    resumed_at : int or None
        For a fit resumed from a checkpoint: the epochs that had ended before it, which this
        doctor did not watch (its records are not in the checkpoint); None otherwise.
    """

    def __init__(self, monitor=None, print_fn=print, every=1, probe_size=256, surface="python"):
        self.monitor = monitor
        self._own = monitor is None
        self.print_fn = print_fn
        self.every, self.probe_size = every, probe_size
        self.surface = surface
        self.findings: list[Finding] = []
        self.first_seen: dict[str, int] = {}
        self.explained: dict[str, int] = {}
        self.run = RunInfo()
        self.resumed_at = None

    def set_model(self, model):
        super().set_model(model)
        if self._own:
            self.monitor = Monitor(every=self.every, probe_size=self.probe_size, initial=True)
            self.monitor.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        self._forward("set_params", params)

    def set_trainer(self, trainer):
        super().set_trainer(trainer)
        self._forward("set_trainer", trainer)

    def _forward(self, hook, *args):
        if self._own:
            getattr(self.monitor, hook)(*args)

    def on_train_begin(self, logs=None):
        self._forward("on_train_begin", logs)
        trainer = self.trainer
        self.first_seen, self.explained, self._last = {}, {}, 0
        self.resumed_at = None
        self.run = RunInfo.of(self.model, trainer.y, trainer.batch_size, trainer.callbacks,
                              getattr(trainer.source, "sample_weight", None))
        self._started = False

    def on_epoch_begin(self, epoch, logs=None):
        self._forward("on_epoch_begin", epoch, logs)
        if not self._started:  # after every on_train_begin: a checkpoint has restored
            self._started = True
            if epoch or self.trainer.position["batch"]:
                self.resumed_at = epoch
            if self.monitor.records and self.monitor.records[0]["epoch"] < 0:
                self._report(0)

    def on_batch_end(self, batch, logs=None):
        self._forward("on_batch_end", batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._forward("on_epoch_end", epoch, logs)
        self._last = epoch + 1
        self._logs = (epoch, dict(logs or {}))  # the History records it after the callbacks
        self._report(epoch + 1)
        self._logs = None

    def _report(self, epoch):
        for finding in self.diagnose():
            if finding.name not in self.first_seen:
                self.first_seen[finding.name] = epoch
                self.print_fn(f"doctor (epoch {epoch}): {finding.render(self.surface)}")
            for name in finding.explains:  # a symptom shown under its root cause
                if name not in self.first_seen and name not in self.explained:
                    self.explained[name] = epoch
                    self.print_fn(f"doctor (epoch {epoch}): {name}, explained by "
                                  f"{finding.name}")

    def on_train_end(self, logs=None):
        self._forward("on_train_end", logs)
        if not self._started and self.trainer.position["epoch"]:  # resumed after the last
            self.resumed_at = self.trainer.position["epoch"]
        self.findings = self.diagnose(final=True)
        for finding in self.findings:  # one that only the end of training shows
            self.first_seen.setdefault(finding.name, self._last)

    def conclude(self, error) -> list:
        """The findings of a run that ``error`` (a Diverged exception) ended: a non-finite loss
        counts, and a finding named only now is first seen in the epoch that diverged.

        Parameters
        ----------
        error : Exception
            The error that ended training.

        Returns
        -------
        list of Finding
            Also kept as :attr:`findings`.
        """
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            self.findings = self.diagnose(error=error)
        diverged_in = len(self.model.history.history.get("loss", [])) + 1
        for finding in self.findings:
            self.first_seen.setdefault(finding.name, diverged_in)
        return self.findings

    def diagnose(self, error=None, final=False) -> list:
        """Findings now; ``error`` (a Diverged exception) counts as a non-finite loss.

        Parameters
        ----------
        error : Exception, optional
            The error that ended training, if any.
        final : bool
            Whether training has ended (see :attr:`Evidence.final`).

        Returns
        -------
        list of Finding
            As :func:`examine` returns them, on the model's History, the monitor's records
            and the run.
        """
        history = self.model.history
        curves = {k: list(v) for k, v in history.history.items()}
        pending = getattr(self, "_logs", None)
        if pending is not None and pending[0] not in history.epoch:
            for key, value in pending[1].items():
                curves.setdefault(key, []).append(float(value))
        if error is not None:
            curves.setdefault("loss", []).append(float("nan"))
        self.run.learning_rate = RunInfo.of(self.model).learning_rate  # a schedule moves it
        return examine(Evidence(self.monitor.records, curves, self.monitor.inputs, self.run,
                                final))

    def summary(self) -> str:
        """One line: what was checked over how many epochs, and what was found.

        Returns
        -------
        str
            E.g. ``"doctor: checked gradient flow, ... over 20 epochs: no problem found"``.
        """
        epochs = getattr(self, "_last", 0)  # a resumed run counts its epochs before the resume
        what = f"checked {', '.join(CHECKED)} at initialization and over {epochs} epoch(s)"
        if self.resumed_at is not None:
            span = (f"over epochs {self.resumed_at + 1} to {epochs} only"
                    if epochs > self.resumed_at else "over no epoch")
            what = (f"checked {', '.join(CHECKED)} {span} (resumed from a checkpoint: "
                    "initialization and the epochs before were watched by the interrupted run)")
        if not self.findings:
            return f"doctor: {what}: no problem found"
        return f"doctor: {what}: {len(self.findings)} finding(s)"
