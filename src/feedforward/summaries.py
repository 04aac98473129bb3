"""What a model is, in words and tables: ``Sequential.summary`` and ``describe_outputs``.

Presentation only, from the model's public names (``layers``, ``input_dim``, ``classes``,
``count_params``, ``require_built``) and :func:`feedforward.model.output_of`'s answer, which
the model passes in.
"""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table


def summary(model) -> str:
    """A table of layers with output shapes and parameter counts, and the total.

    Parameters
    ----------
    model : Sequential
        A built model.

    Returns
    -------
    str
        The table, as ``Sequential.summary`` prints it.
    """
    model.require_built("summary")
    table = Table(title="Sequential")
    for col in ("#", "Layer", "Output shape", "Param #"):
        table.add_column(col, justify="right" if col in ("#", "Param #") else "left")
    shape = (model.input_dim,)
    for i, layer in enumerate(model.layers):
        shape = layer.compute_output_shape(shape)
        act = getattr(layer, "activation", None)
        label = type(layer).__name__ + (f" ({act.name})" if act is not None else "")
        table.add_row(str(i), label, str((None, *shape)), f"{layer.count_params():,}")
    console = Console(file=io.StringIO(), width=80, highlight=False)
    console.print(table)
    console.print(f"Total params: {model.count_params():,}")
    return console.file.getvalue()


def describe_outputs(output, classes) -> str:
    """What the outputs are, in words, e.g. for a summary.

    Parameters
    ----------
    output : tuple (str, int or None)
        The output activation's name and the number of outputs (``output_of(model)``).
    classes : list or None
        The model's class names.

    Returns
    -------
    str
        ``"3 classes (cat, dog, fish)"``; for one output read as a probability (a sigmoid,
        or two class names) ``"probability of class 1"``, naming the second class when
        known; else ``"2 value(s)"``.
    """
    activation, units = output
    names = None if classes is None else [str(c) for c in classes]
    if units == 1 and (activation == "sigmoid" or names is not None):
        positive = f"probability of class {names[1] if names else 1}"
        return positive if names is None else f"2 classes ({', '.join(names)}): {positive}"
    if names is not None:
        shown = names if len(names) <= 8 else [*names[:6], "...", names[-1]]
        return f"{len(names)} classes ({', '.join(shown)})"
    return f"{units} value(s)"
