"""``Inputs``: the input boundary of a model, a base of :class:`~feedforward.model.Sequential`.

Raw inputs and targets are checked here, once, and brought to what the first layer and the
loss expect; errors name the argument, what was expected and what came. It reads the
attributes that ``Sequential`` sets: ``layers``, ``input_dim``, ``output_shape``, ``dtype``,
``preprocessing`` and ``loss``.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np

from . import kernels
from .data.frames import by_name, column_names, is_frame, refuse_sparse
from .errors import FeedforwardError, as_array, cast, check_finite, show


class Inputs:
    """Checks and prepares a model's inputs and targets (``fit``, ``evaluate``, ``predict``)."""

    def require_compiled(self, what):
        """Refuse to go on before ``compile``.

        Parameters
        ----------
        what : str
            The operation, named in the error.
        """
        if self.loss is None:
            raise FeedforwardError(f"{what}: call compile(optimizer, loss, metrics) first")

    def ready_inputs(self, x) -> np.ndarray | None:
        """``x`` itself when it is already what the first layer sees, else None.

        The fast check of ``predict``: a C-contiguous 2-D ndarray of the model's dtype and
        number of features, finite, for a built model without preprocessing. What
        :meth:`prepare_x` would do to it is nothing, so both paths give the same numbers; any
        other input (a list, another dtype, NaN) takes :meth:`prepare_x` and its messages.

        Parameters
        ----------
        x : object
            Anything ``predict`` was given.

        Returns
        -------
        ndarray of shape (n, features) or None
        """
        if (type(x) is np.ndarray and x.dtype == self.dtype and x.ndim == 2 and x.shape[0]
                and x.shape[1] == self.input_dim and not self.preprocessing
                and x.flags.c_contiguous and _stock(self) and kernels.all_finite(x)):
            return x
        return None

    def raw_inputs(self, x, name="x") -> np.ndarray:
        """Inputs checked (numeric, finite, 2-D, the model's feature count), not transformed.

        An unbuilt model is built for their number of features.

        Parameters
        ----------
        x : array_like of shape (n, features)
            Raw inputs; a 1-D array is one feature per sample when the model has one input.
        name : str, default "x"
            The argument's name in errors.

        Returns
        -------
        ndarray of shape (n, features)
            The inputs, as given when they are already a suitable array.
        """
        encoder = self.row_encoder
        if encoder is not None:
            return self._raw_rows(encoder, x, name)
        if is_frame(x):
            x = by_name(x, getattr(self, "feature_names", None), name)
        else:
            refuse_sparse(x, name)
        x = as_array(x, name, ndim=(1, 2))
        if x.ndim == 1:
            if self.built and self.input_dim == 1:
                x = x[:, None]
            else:
                raise FeedforwardError(
                    f"{name}: expected a 2-D array (samples, features), got shape {x.shape}; "
                    "use x.reshape(-1, 1) for one feature or x.reshape(1, -1) for one sample")
        if not self.built:
            self.build(x.shape[1])
        elif x.shape[1] != self.input_dim:
            raise FeedforwardError(
                f"{name}: expected {self.input_dim} features (the input of layer 0, "
                f"{type(self.layers[0]).__name__}), got {x.shape[1]}")
        return x

    @property
    def row_encoder(self):
        """The first preprocessor when it takes raw rows (a
        :class:`~feedforward.data.TableEncoder`), else None."""
        first = self.preprocessing[0] if self.preprocessing else None
        return first if getattr(first, "takes_rows", False) else None

    @property
    def raw_input_dim(self) -> int:
        """The number of raw input columns: the row encoder's columns, else ``input_dim``."""
        encoder = self.row_encoder
        return encoder.n_columns if encoder is not None else self.input_dim

    def _raw_rows(self, encoder, x, name):
        """Rows for a model whose first preprocessor encodes them; an unfitted encoder is
        fitted on them and an unbuilt model built for its outputs."""
        rows = encoder.rows(x, name)
        if not encoder.fitted:
            encoder.fit(rows)
        if not self.built:
            self.build(encoder.n_outputs)
        elif encoder.n_outputs != self.input_dim:
            raise FeedforwardError(
                f"{name}: the {type(encoder).__name__} makes {encoder.n_outputs} inputs, the "
                f"model takes {self.input_dim}")
        return rows

    def fit_preprocessing(self, x) -> None:
        """Fit the unfitted preprocessors on raw training inputs, each on what the ones
        before it give.

        Parameters
        ----------
        x : ndarray of shape (n, features)
            Checked raw inputs (see :meth:`raw_inputs`).
        """
        for i, p in enumerate(self.preprocessing):
            if not p.fitted:
                p.fit(x)
            # transformed only for a later unfitted one: a memory-mapped x stays on disk
            if any(not q.fitted for q in self.preprocessing[i + 1:]):
                x = p.transform(x)

    def transform(self, x, name="x") -> np.ndarray:
        """Raw inputs to what the first layer sees: the preprocessing, then the model's dtype
        (refusing values that overflow it, such as 1e300 for float32).

        Parameters
        ----------
        x : ndarray of shape (n, features)
            Checked raw inputs (see :meth:`raw_inputs`).
        name : str, default "x"
            The argument's name in errors.

        Returns
        -------
        ndarray of shape (n, features)
            Of the model's dtype.
        """
        for p in self.preprocessing:
            x = p.transform(x)
        if self.preprocessing:  # raw values far outside the fitted range may overflow
            check_finite(x, name, " after the preprocessing",
                         "the values lie far outside those the preprocessing was fitted on")
        return cast(x, self.dtype, name)

    def prepare_x(self, x, name="x") -> np.ndarray:
        """:meth:`raw_inputs`, then :meth:`transform`.

        Parameters
        ----------
        x : array_like of shape (n, features)
            Raw inputs.
        name : str, default "x"
            The argument's name in errors.

        Returns
        -------
        ndarray of shape (n, features)
            What the first layer sees.
        """
        return self.transform(self.raw_inputs(x, name), name)

    def prepare_xy(self, x, y, xname="x", yname="y"):
        """Inputs as :meth:`prepare_x` and targets as :meth:`prepare_y` makes them.

        Parameters
        ----------
        x : array_like of shape (n, features)
            Raw inputs.
        y : array_like of shape (n,) or (n, outputs)
            Labels or targets.
        xname, yname : str
            The arguments' names in errors.

        Returns
        -------
        x : ndarray of shape (n, features)
            What the first layer sees.
        y : ndarray
            What the loss takes.
        """
        x = self.raw_inputs(x, xname)
        return self.transform(x, xname), self.prepare_y(y, x.shape[0], xname, yname)

    def prepare_y(self, y, n, xname="x", yname="y") -> np.ndarray:
        """Targets checked against the loss and brought to the output's shape.

        Parameters
        ----------
        y : array_like of shape (n,) or (n, outputs)
            Labels or targets.
        n : int
            The number of samples of the inputs they go with.
        xname, yname : str
            The arguments' names in errors.

        Returns
        -------
        ndarray
            C-contiguous, as the loss takes them (e.g. one-hot rows or class ids).
        """
        self._refuse_class_names(y, yname)
        y = as_array(y, yname, ndim=(1, 2))
        if y.shape[0] != n:
            raise FeedforwardError(
                f"{yname}: expected {n} samples to match {xname}, got {y.shape[0]}")
        probe = np.broadcast_to(np.zeros((), self.dtype), (n, *self.output_shape[1:]))
        try:
            y = self.loss.prepare(y, probe)
        except FeedforwardError as e:
            message = str(e)
            if message.startswith("y:"):  # the loss calls its targets "y"
                message = yname + message[1:]
            raise FeedforwardError(f"{message} (loss {self.loss.name}, output layer "
                                   f"{type(self.layers[-1]).__name__})") from None
        return np.ascontiguousarray(y)


    def _refuse_class_names(self, y, yname) -> None:
        """Labels given as the model's class names, where ids ``0 .. k-1`` are taken (as
        Keras takes them): say so, and how to map them, rather than "expected numeric data"
        or "an output layer of 4 units" for names 1, 2, 3."""
        names = list(getattr(self, "classes", None) or [])
        if not names or np.ndim(y) not in (1, 2) or np.ndim(y) == 2 and np.shape(y)[1] != 1:
            return
        a = np.asarray(y).ravel()
        try:
            values = set((np.unique(a) if a.dtype.kind in "biuf" else a).tolist())
        except TypeError:  # unhashable cells: as_array names them below
            return
        ids = set(range(len(names)))
        if values <= ids:
            _warn_if_names_too(values, names, yname)
            return
        if not values <= set(names) | {str(c) for c in names}:
            return
        raise FeedforwardError(
            f"{yname}: holds the model's class names "
            f"({', '.join(map(show, sorted(values, key=str)))}); "
            f"it takes class ids 0..{len(names) - 1}, in the order of model.classes "
            f"({', '.join(map(show, names))}): map them with "
            f"[model.classes.index(c) for c in {yname}]")


class AmbiguousLabelsWarning(UserWarning):
    """Labels that are class ids and, for other classes, the model's class names too (ids
    1 and 2 of classes named 1, 2, 3): read as ids, as ``fit`` and ``evaluate`` take them."""


def _warn_if_names_too(values, names, yname) -> None:
    """Warn when ids are also names of other classes: a user who meant the names gets
    wrong numbers, and nothing else would say so."""
    other = sorted(int(v) for v in values if v in names and names.index(v) != v)
    if not other or any(v not in names for v in values):
        return  # a value that is no name (0 of names 1, 2, 3) shows these are ids
    shown = ", ".join(map(show, other))
    warnings.warn(f"{yname}: {shown} are class ids here (classes "
                  f"{', '.join(show(names[v]) for v in other)}), and also the names of other "
                  f"classes of this model ({', '.join(map(show, names))}); read as ids. If they "
                  f"are names, map them: [model.classes.index(c) for c in {yname}]",
                  AmbiguousLabelsWarning, stacklevel=4)


@contextmanager
def labels_are_ids():
    """Within: no :class:`AmbiguousLabelsWarning`, for callers whose labels are ids by
    construction (the command line's and the search's, mapped from a file's names)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AmbiguousLabelsWarning)
        yield


_PATH = ("forward", "transform", "prepare_x")  # what predict's checked path calls
_STOCK: dict = {}  # model class -> whether those are the library's methods (once per class)


def _stock(model) -> bool:
    """Whether ``model`` computes its outputs with the library's own methods: a subclass or an
    instance that replaces one of them must take the path that calls it."""
    cls, own = type(model), model.__dict__
    stock = _STOCK.get(cls)
    if stock is None:
        stock = _STOCK[cls] = all(getattr(cls, name).__module__.startswith("feedforward.")
                                  for name in _PATH)
    return stock and "forward" not in own and "transform" not in own and "prepare_x" not in own


def record_names(model, x, name="x") -> None:
    """Set ``model.feature_names`` from a frame's columns when it has none, as scikit-learn
    keeps ``feature_names_in_``: a frame given later is matched by name, not by position.

    Parameters
    ----------
    model : Sequential
    x : object
        What ``fit`` got (or a stream's first batch of inputs); anything but a frame is left.
    name : str, default "x"
        The argument's name in errors.
    """
    if getattr(model, "feature_names", None) is None and is_frame(x):
        model.feature_names = column_names(x, name)
