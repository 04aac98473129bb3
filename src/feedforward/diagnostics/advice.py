"""The doctor's fixes, each one setting of the run, shown in the terms of the surface that reads
it: Python arguments for the API, flags for the command line, controls in the playground.

A :class:`Fix` names an option of the one config schema (:data:`feedforward.config.OPTIONS`)
and the concrete value to give it, so every surface can say the same fix its own way and the
playground can apply it. Advice that no setting expresses has ``setting=None`` and only words.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import BY_KEY


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _units(value) -> str:
    return ", ".join(f"Dense({u})" for u in value) or "no hidden layer"


# setting -> how the Python API spells a value of it
PYTHON = {
    "activation": lambda v: f"activation={v!r} in the hidden layers",
    "output_activation": lambda v: f"activation={v!r} in the output layer",
    "initializer": lambda v: f"kernel_initializer={v!r}",
    "learning_rate": lambda v: f"learning_rate={_number(v)} on the optimizer",
    "optimizer": lambda v: f"optimizer={v!r} in compile",
    "loss": lambda v: f"loss={v!r} in compile",
    "scaling": lambda v: ("preprocessing=None" if v == "none" else
                          "preprocessing=ff.data." + ("StandardScaler()" if v == "standard"
                                                      else "MinMaxScaler()")),
    "l1": lambda v: ("no L1 kernel_regularizer" if not v
                     else f"kernel_regularizer=ff.regularizers.L1({_number(v)})"),
    "l2": lambda v: ("no L2 kernel_regularizer" if not v
                     else f"kernel_regularizer=ff.regularizers.L2({_number(v)})"),
    "dropout": lambda v: ("no Dropout layers" if not v
                          else f"Dropout({_number(v)}) after each hidden layer"),
    "max_norm": lambda v: ("no kernel_constraint" if not v
                           else f"kernel_constraint=ff.regularizers.MaxNorm({_number(v)})"),
    "layers": lambda v: f"hidden layers {_units(v)}",
    "clipnorm": lambda v: f"clipnorm={_number(v)} on the optimizer",
    "batch_size": lambda v: f"batch_size={v} in fit",
    "epochs": lambda v: f"epochs={v} in fit",
    "early_stopping": lambda v: ("callbacks=[ff.callbacks.EarlyStopping(monitor='val_loss', "
                                 "restore_best_weights=True)]" if v else "no EarlyStopping"),
    "patience": lambda v: f"EarlyStopping(patience={v})",
    "restore_best_weights": lambda v: f"EarlyStopping(restore_best_weights={v})",
    "schedule": lambda v: f"a {v} learning-rate schedule (ff.schedules)",
    "samples": lambda v: "more training samples",
    "check": lambda v: "ff.diagnostics.check(make_model, x, y)",
}
# fixes that are steps to take rather than options: how the command line says them
COMMANDS = {"check": "feedforward check, with the same flags as train"}


@dataclass(frozen=True)
class Fix:
    """One remedy: give the option ``setting`` the value ``value``.

    Parameters
    ----------
    setting : str or None
        A key of :data:`feedforward.config.OPTIONS` (``"learning_rate"``, ``"activation"``,
        ...), ``"check"`` for running the sanity recipe, or None for advice that no setting
        expresses.
    value : object
        The value to set (``0.0`` turns a regularizer off, ``[64, 64]`` for ``layers``).
    text : str
        The remedy in plain words, whatever the surface.
    """

    setting: str | None
    value: object = None
    text: str = ""

    def python(self) -> str:
        """The fix as Python arguments, e.g. ``"activation='relu' in the hidden layers"``.

        Returns
        -------
        str
            The arguments; the text alone when no setting expresses the fix.
        """
        if self.setting is None:
            return self.text
        return PYTHON[self.setting](self.value)

    def flag(self) -> str | None:
        """The fix as flags of ``feedforward train``, e.g. ``"--activation relu"``.

        Returns
        -------
        str or None
            The flag and its value; None when no flag sets it.
        """
        if self.setting in COMMANDS:
            return COMMANDS[self.setting]
        option = BY_KEY.get(self.setting)
        if option is None or self.setting == "samples" and not self.value:
            return None
        if option.kind == "bool":
            return option.flag if self.value else "--no-" + option.flag[2:]
        if isinstance(self.value, list):
            return f"{option.flag} {','.join(map(str, self.value))}"
        return f"{option.flag} {_number(self.value)}"

    def render(self, surface="python") -> str:
        """The fix with its words, for ``surface`` ``"python"`` or ``"cli"``.

        Parameters
        ----------
        surface : {"python", "cli"}
            Whose terms: Python arguments, or the command line's flags.

        Returns
        -------
        str
            ``"<text> (<arguments>)"``, or the text alone when the surface has no term for it.
        """
        if surface not in ("python", "cli"):
            raise ValueError(f"surface: expected 'python' or 'cli', got {surface!r}")
        term = self.python() if surface == "python" else self.flag()
        if not term or term == self.text:
            return self.text
        return f"{self.text} ({term})" if self.text else term

    def __str__(self):
        return self.render("python")

    def to_dict(self) -> dict:
        """The fix as a JSON-safe dict.

        Returns
        -------
        dict
            ``setting``, ``value``, ``text``, ``python`` and ``flag``.
        """
        return {"setting": self.setting, "value": self.value, "text": self.text,
                "python": self.python(), "flag": self.flag()}
