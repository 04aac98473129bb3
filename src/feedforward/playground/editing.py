"""What the user edits by hand: a weight, a bias, the custom data (an upload, a drawn point).

Each function changes a :class:`~.session.Session` and re-evaluates its network; the data
edits are all or nothing (the session's ``transaction``).
"""

from __future__ import annotations

from ..data import playground as datasets
from . import dataset
from .setup import MAX_POINTS, FieldError, check_float, check_integer, merge


def _dense(session, layer):
    return session.dense[check_integer(layer, "layer", 0, len(session.dense) - 1)]


def set_weight(session, layer, i, j, value) -> None:
    """Set one kernel entry of a dense layer and re-evaluate the network.

    Parameters
    ----------
    session : Session
    layer : int
        Index of the dense layer, the output layer included (0 is the first hidden layer).
    i : int
        The input unit the weight leaves (row of the kernel).
    j : int
        The unit of ``layer`` the weight enters (column of the kernel).
    value : float
        The new weight, in [-1000, 1000].
    """
    kernel = _dense(session, layer).params["kernel"]
    i = check_integer(i, "from", 0, kernel.shape[0] - 1)
    j = check_integer(j, "to", 0, kernel.shape[1] - 1)
    kernel[i, j] = check_float(value, "value", -1e3, 1e3)
    session.scores = session.evaluate()


def set_bias(session, layer, unit, value) -> None:
    """Set one bias of a dense layer and re-evaluate the network.

    Parameters
    ----------
    session : Session
    layer : int
        Index of the dense layer, the output layer included (0 is the first hidden layer).
    unit : int
        The unit of ``layer`` whose bias to set.
    value : float
        The new bias, in [-1000, 1000].
    """
    bias = _dense(session, layer).params["bias"]
    unit = check_integer(unit, "unit", 0, bias.shape[0] - 1)
    bias[unit] = check_float(value, "value", -1e3, 1e3)
    session.scores = session.evaluate()


def upload(session, csv) -> None:
    """Make the rows ``x1,x2,label`` of ``csv`` the (custom) dataset.

    Labels 0 to 5 (or the Playground's -1 and +1) make a classification problem, other
    values a regression. The network is rebuilt for the new data.

    Parameters
    ----------
    session : Session
    csv : str
        The file's text: rows of three numbers ``x1,x2,label``, with an optional header line.
    """
    custom = dataset.Custom.from_csv(csv, session.setup)
    with session.transaction():
        session.custom = custom
        session.setup = merge(session.setup, {"dataset": "custom", "problem": custom.problem})
        if custom.problem == "classification":
            session.setup["classes"] = custom.classes()
        session.rebuild(data=True)


def add_point(session, x1, x2, label) -> None:
    """Add a training point to the custom dataset (a copy of the current data at first).

    The network keeps its weights; only its data grows, up to
    :data:`~feedforward.playground.setup.MAX_POINTS` points.

    Parameters
    ----------
    session : Session
    x1, x2 : float
        The point's coordinates, in the Playground's input square [-6, 6].
    label : int or float
        A class in 0 to ``classes - 1`` for classification, a target in [-10, 10] for
        regression.
    """
    setup = session.setup
    x1 = check_float(x1, "x1", datasets.LOW, datasets.HIGH)
    x2 = check_float(x2, "x2", datasets.LOW, datasets.HIGH)
    if setup["problem"] == "classification":
        label = check_integer(label, "label", 0, setup["classes"] - 1)
    else:
        label = check_float(label, "label", -10, 10)
    points = sum(len(y) for _, y in session.data.values())
    if points >= MAX_POINTS:
        raise FieldError(None, f"add_point: the data has {points:,} points, the most the "
                               "playground takes; upload a CSV file or pick a dataset to "
                               "start again")
    with session.transaction():
        if setup["dataset"] != "custom":
            session.custom = dataset.Custom.copy_of(session.data, setup["problem"])
            session.setup = {**setup, "dataset": "custom"}
        session.custom.add(x1, x2, label, setup["problem"])
        session.grow_data()
