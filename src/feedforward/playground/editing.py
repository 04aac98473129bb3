"""What the user edits by hand: a weight, a bias, the custom data (an upload, a drawn point).

:class:`Editing` is a part of :class:`~.session.Session`: each edit changes the session and
re-evaluates its network; the data edits are all or nothing (the session's ``transaction``).
"""

from __future__ import annotations

from ..data import playground as datasets
from . import dataset
from .setup import MAX_POINTS, FieldError, check_float, check_integer, merge


class Editing:
    """The edits a user makes by hand; a part of :class:`~.session.Session`, whose
    ``dense``, ``data``, ``setup``, ``custom``, ``evaluate``, ``transaction``, ``rebuild`` and
    ``grow_data`` they use."""

    def _dense(self, layer):
        return self.dense[check_integer(layer, "layer", 0, len(self.dense) - 1)]

    def set_weight(self, layer, i, j, value) -> None:
        """Set one kernel entry of a dense layer and re-evaluate the network.

        Parameters
        ----------
        layer : int
            Index of the dense layer, the output layer included (0 is the first hidden layer).
        i : int
            The input unit the weight leaves (row of the kernel).
        j : int
            The unit of ``layer`` the weight enters (column of the kernel).
        value : float
            The new weight, in [-1000, 1000].
        """
        kernel = self._dense(layer).params["kernel"]
        i = check_integer(i, "from", 0, kernel.shape[0] - 1)
        j = check_integer(j, "to", 0, kernel.shape[1] - 1)
        kernel[i, j] = check_float(value, "value", -1e3, 1e3)
        self.scores = self.evaluate()


    def set_bias(self, layer, unit, value) -> None:
        """Set one bias of a dense layer and re-evaluate the network.

        Parameters
        ----------
        layer : int
            Index of the dense layer, the output layer included (0 is the first hidden layer).
        unit : int
            The unit of ``layer`` whose bias to set.
        value : float
            The new bias, in [-1000, 1000].
        """
        bias = self._dense(layer).params["bias"]
        unit = check_integer(unit, "unit", 0, bias.shape[0] - 1)
        bias[unit] = check_float(value, "value", -1e3, 1e3)
        self.scores = self.evaluate()


    def upload(self, csv) -> None:
        """Make the rows ``x1,x2,label`` of ``csv`` the (custom) dataset.

        Labels 0 to 5 (or the Playground's -1 and +1) make a classification problem, other
        values a regression. The network is rebuilt for the new data.

        Parameters
        ----------
        csv : str
            The file's text: rows of three numbers ``x1,x2,label``, with an optional header line.
        """
        custom = dataset.Custom.from_csv(csv, self.setup)
        with self.transaction():
            self.custom = custom
            self.setup = merge(self.setup, {"dataset": "custom", "problem": custom.problem})
            if custom.problem == "classification":
                self.setup["classes"] = custom.classes()
            self.rebuild(data=True)


    def add_point(self, x1, x2, label) -> None:
        """Add a training point to the custom dataset (a copy of the current data at first).

        The network keeps its weights; only its data grows, up to
        :data:`~feedforward.playground.setup.MAX_POINTS` points.

        Parameters
        ----------
        x1, x2 : float
            The point's coordinates, in the Playground's input square [-6, 6].
        label : int or float
            A class in 0 to ``classes - 1`` for classification, a target in [-10, 10] for
            regression.
        """
        setup = self.setup
        x1 = check_float(x1, "x1", datasets.LOW, datasets.HIGH)
        x2 = check_float(x2, "x2", datasets.LOW, datasets.HIGH)
        if setup["problem"] == "classification":
            label = check_integer(label, "label", 0, setup["classes"] - 1)
        else:
            label = check_float(label, "label", -10, 10)
        points = sum(len(y) for _, y in self.data.values())
        if points >= MAX_POINTS:
            raise FieldError(None, f"add_point: the data has {points:,} points, the most the "
                                   "playground takes; upload a CSV file or pick a dataset to "
                                   "start again")
        with self.transaction():
            if setup["dataset"] != "custom":
                self.custom = dataset.Custom.copy_of(self.data, setup["problem"])
                self.setup = {**setup, "dataset": "custom"}
            self.custom.add(x1, x2, label, setup["problem"])
            self.grow_data()
