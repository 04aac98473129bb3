"""The report of :func:`~.check.check`: its steps (:class:`Step`), their verdicts and fixes,
and the whole (:class:`Report`), rendered as text with fixes as Python arguments or as
``feedforward train`` flags, or as a JSON-safe dict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .advice import Fix

DOCTOR = "doctor_at_initialization"

MAX_STEPS = 100_000
"""The most steps (and subset samples) :func:`~.check.check` takes: a sanity check, not a
training run."""


@dataclass
class Step:
    """One step of the recipe: ``passed`` is True, False, or None when it does not apply.

    Parameters
    ----------
    name : str
        The step: ``"doctor_at_initialization"``, ``"gradient_check"``, ``"initial_loss"``,
        ``"overfit_small_subset"`` or ``"learning_rate_range"``.
    passed : bool or None
        The verdict; None when the step does not apply.
    summary : str
        One line of the numbers behind the verdict.
    evidence : dict
        Those numbers, by name.
    reason : str
        Why the step failed, in plain words (empty when it passed); for a failure that
        findings at initialization explain, those findings and their numbers.
    fixes : list of Fix
        What to do about the failure, each a setting and its value
        (:class:`~feedforward.diagnostics.advice.Fix`), the first to try first.
    findings : list of Finding
        The doctor's findings that the step reports (the step at initialization).
    """

    name: str
    passed: bool | None
    summary: str
    evidence: dict = field(default_factory=dict)
    reason: str = ""
    fixes: list = field(default_factory=list)
    findings: list = field(default_factory=list)

    @property
    def advice(self) -> str:
        """What to do about a failure, fixes as Python arguments (empty when it passed)."""
        return self.advise("python")

    def advise(self, surface="python") -> str:
        """The reason and the fixes (or the findings), in the terms of ``surface``.

        Parameters
        ----------
        surface : {"python", "cli"}
            Python arguments for the API, ``feedforward train`` flags for the command line.

        Returns
        -------
        str
            ``"<reason>: <fix>; <fix>"``, or one finding per line; empty when there is none.
        """
        if self.findings:
            return "\n".join(f.render(surface) for f in self.findings)
        fixes = "; ".join(fix.render(surface) for fix in self.fixes)
        return ": ".join(part for part in (self.reason, fixes) if part)

    def render(self, surface="python") -> str:
        """``[PASS|FAIL|SKIP] name: summary`` and the advice (:meth:`advise`) indented below.

        Parameters
        ----------
        surface : {"python", "cli"}

        Returns
        -------
        str
        """
        mark = {True: "PASS", False: "FAIL", None: "SKIP"}[self.passed]
        advice = self.advise(surface)
        return f"[{mark}] {self.name}: {self.summary}" + "".join(
            f"\n       {line}" for line in advice.splitlines())

    def __str__(self):
        return self.render("python")

    def to_dict(self, surface="python") -> dict:
        """The step as a JSON-safe dict.

        Parameters
        ----------
        surface : {"python", "cli"}
            The terms of ``advice``.

        Returns
        -------
        dict
            ``name``, ``passed``, ``summary``, ``evidence``, ``reason``, ``fixes`` (each as
            :meth:`Fix.to_dict`, with its flag and its Python form), ``findings`` (each as
            :meth:`Finding.to_dict`) and ``advice`` (:meth:`advise`).
        """
        return {"name": self.name, "passed": self.passed, "summary": self.summary,
                "evidence": self.evidence, "reason": self.reason,
                "fixes": [fix.to_dict() for fix in self.fixes],
                "findings": [f.to_dict() for f in self.findings],
                "advice": self.advise(surface)}


@dataclass
class Report:
    """The steps of :func:`~.check.check`; ``passed`` when none failed.

    ``report["initial_loss"]`` is the step of that name. ``str(report)`` gives the fixes as
    Python arguments; ``report.render("cli")`` as ``feedforward train`` flags.

    Parameters
    ----------
    steps : list of Step
        The steps, in the order they ran.
    recommended_learning_rate : float, optional
        A tenth of the rate at the lowest smoothed loss of the range test; None when no rate
        made the loss fall meaningfully below its start (see :func:`~.lr_range.lr_range_step`).
    lr_curve : dict
        ``{"learning_rate": [...], "loss": [...]}``: the range test's rates and smoothed losses.
    """

    steps: list
    recommended_learning_rate: float | None = None
    lr_curve: dict = field(default_factory=dict)  # {"learning_rate": [...], "loss": [...]}

    @property
    def passed(self) -> bool:
        return all(s.passed is not False for s in self.steps)

    @property
    def findings(self) -> list:
        """The doctor's findings at initialization (list of Finding; empty when none)."""
        return [f for s in self.steps if s.name == DOCTOR for f in s.findings]

    def __getitem__(self, name) -> Step:
        return next(s for s in self.steps if s.name == name)

    def render(self, surface="python") -> str:
        """Each step (:meth:`Step.render`) on its lines, fixes in the terms of ``surface``.

        Parameters
        ----------
        surface : {"python", "cli"}

        Returns
        -------
        str
        """
        return "\n".join(s.render(surface) for s in self.steps)

    def __str__(self):
        return self.render("python")

    def to_dict(self, surface="python") -> dict:
        """The report as a JSON-safe dict.

        Parameters
        ----------
        surface : {"python", "cli"}
            The terms of each step's ``advice``.

        Returns
        -------
        dict
            ``passed``, ``recommended_learning_rate`` (None when no rate worked), ``findings``
            (those at initialization, each as :meth:`Finding.to_dict`), ``steps`` (each as
            :meth:`Step.to_dict`) and ``lr_curve``.
        """
        return {"passed": self.passed, "recommended_learning_rate": self.recommended_learning_rate,
                "findings": [f.to_dict() for f in self.findings],
                "steps": [s.to_dict(surface) for s in self.steps], "lr_curve": self.lr_curve}


@dataclass(frozen=True)
class CheckFix(Fix):
    """A fix that is an option of :func:`~.check.check` itself (``lr_steps``, ``max_steps``), not of
    the run: ``lr_steps=2000`` in Python, ``--lr-steps 2000`` on ``feedforward check``.

    Parameters
    ----------
    setting : str
        The argument of :func:`~.check.check`, e.g. ``"lr_steps"``.
    value : int
        Its value.
    text : str
        The remedy in plain words.
    """

    def python(self) -> str:
        """The fix as an argument of :func:`~.check.check`, e.g. ``"lr_steps=2000"``.

        Returns
        -------
        str
        """
        return f"{self.setting}={self.value}"

    def flag(self) -> str:
        """The fix as a flag of ``feedforward check``, e.g. ``"--lr-steps 2000"``.

        Returns
        -------
        str
        """
        return f"--{self.setting.replace('_', '-')} {self.value}"
