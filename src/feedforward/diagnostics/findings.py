"""A diagnosis (:class:`Finding`) and what the rules read (:class:`Evidence`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .advice import Fix
from .runinfo import RunInfo


def _fmt(v):
    return f"{v:.3g}" if isinstance(v, float) else str(v)


@dataclass
class Finding:
    """One diagnosis: ``name``, ``evidence`` (numbers), ``cause`` and ``fixes``.

    Parameters
    ----------
    name : str
        The rule that fired, e.g. ``"dead_relus"``.
    evidence : dict
        The numbers the diagnosis rests on, by name (JSON-safe).
    cause : str
        The likely cause, in plain language, fitted to the run.
    fixes : list of Fix
        Remedies, each a setting and its value (:class:`~feedforward.diagnostics.advice.Fix`),
        the first one to try first.
    explains : list of str
        The names of the findings this one explains and that the report therefore leaves
        out (a rate too high explains "underfitting").
    """

    name: str
    evidence: dict = field(default_factory=dict)
    cause: str = ""
    fixes: list = field(default_factory=list)
    explains: list = field(default_factory=list)

    def render(self, surface="python") -> str:
        """The finding as text, its fixes in the terms of ``surface``.

        Parameters
        ----------
        surface : {"python", "cli"}
            Python arguments for the API, ``feedforward train`` flags for the command line.

        Returns
        -------
        str
            ``name: cause [evidence]`` and one line per fix.
        """
        numbers = ", ".join(f"{k}={_fmt(v)}" for k, v in self.evidence.items())
        also = f" (this also explains: {', '.join(self.explains)})" if self.explains else ""
        return (f"{self.name}: {self.cause}{also} [{numbers}]\n"
                + "\n".join(f"  - {_as_fix(fix).render(surface)}" for fix in self.fixes))

    def __str__(self):
        return self.render("python")

    def to_dict(self) -> dict:
        """The finding as a JSON-safe dict.

        Returns
        -------
        dict
            ``name``, ``evidence``, ``cause``, ``fixes`` (each as :meth:`Fix.to_dict`) and
            ``explains``.
        """
        return {"name": self.name, "evidence": self.evidence, "cause": self.cause,
                "fixes": [_as_fix(f).to_dict() for f in self.fixes],
                "explains": list(self.explains)}


def _as_fix(fix) -> Fix:
    return fix if isinstance(fix, Fix) else Fix(None, None, str(fix))


@dataclass
class Evidence:
    """What the rules read: the monitor's records, the curves, the inputs and the run.

    Parameters
    ----------
    records : list of dict
        A :class:`~feedforward.diagnostics.Monitor`'s records; may be empty. A record with
        ``epoch`` -1 was measured at initialization, before the first step.
    history : dict
        Per-epoch lists of the logged values, such as ``History.history``.
    inputs : dict
        ``{"mean": [...], "std": [...]}`` of the probe's features; may be empty.
    run : RunInfo
        The network, its training and its data (:class:`RunInfo`); a default one knows
        nothing of them.
    final : bool
        Whether training has ended: what a run that goes on may still fix (a loss still
        falling at a poor fit) is a finding only then.
    """

    records: list = field(default_factory=list)
    history: dict = field(default_factory=dict)
    inputs: dict = field(default_factory=dict)
    run: RunInfo = field(default_factory=RunInfo)
    final: bool = False

    @property
    def losses(self) -> list:
        """The finite training losses, one per epoch."""
        return [v for v in self.history.get("loss", []) if math.isfinite(v)]

    @property
    def epochs(self) -> int:
        """Epochs ended (the length of the loss curve)."""
        return len(self.history.get("loss", []))

    @property
    def recent(self) -> list:
        """The last 10 records: the state of training now, at a fixed cost."""
        return self.records[-10:]

    @property
    def last(self) -> dict | None:
        """The last record, or None."""
        return self.records[-1] if self.records else None

    def hidden(self, key) -> list:
        """``(index, value)`` of the last record's entries that carry ``key``."""
        if not self.records:
            return []
        return [(e["index"], e[key]) for e in self.records[-1]["layers"]
                if e.get(key) is not None]

    def level(self) -> float | None:
        """How far the fit still is from perfect, as a share of the chance loss.

        1 is the loss of the best constant prediction, 0 a perfect fit. The loss is the last
        record's data loss on the probe (inference mode, no penalty), else the last finite
        training loss. None when the chance loss or both losses are unknown.
        """
        chance = self.run.chance_loss
        if not chance or chance <= 0:
            return None
        loss = (self.last or {}).get("loss")
        if loss is None or not math.isfinite(loss):
            loss = self.losses[-1] if self.losses else None
        return None if loss is None else loss / chance

    def accuracy(self) -> float | None:
        """The last training accuracy, or None when it is not logged."""
        acc = self.history.get("accuracy")
        return float(acc[-1]) if acc else None
