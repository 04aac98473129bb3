"""Data frames and sparse matrices at the library's boundary, recognized without importing
pandas, polars or SciPy.

A frame is anything with named ``columns`` and either pandas' ``iloc`` or a ``to_numpy``
(polars, and other frame libraries): its columns are taken by name wherever the names are
known (a model's ``feature_names``, a :class:`~feedforward.data.TableEncoder`'s ``columns``,
a scaler fitted on a frame). A frame that names one column twice is refused: which copy is
meant would be a guess. A SciPy sparse matrix is refused with the way to densify it, before
its ``len`` and ``[i]`` make it look like a stream of batches.
"""

from __future__ import annotations

import numpy as np

from ..errors import FeedforwardError, describe
from .tabular import match_names


def is_frame(x) -> bool:
    """Whether ``x`` is a data frame with named columns (pandas, polars, ...).

    Parameters
    ----------
    x : object

    Returns
    -------
    bool
    """
    return hasattr(x, "columns") and (hasattr(x, "iloc") or hasattr(x, "to_numpy"))


def is_sparse(x) -> bool:
    """Whether ``x`` is a SciPy sparse matrix or array (duck-typed: ``tocsr`` and ``nnz``).

    Parameters
    ----------
    x : object

    Returns
    -------
    bool
    """
    return hasattr(x, "tocsr") and hasattr(x, "nnz")


def refuse_sparse(x, name) -> None:
    """Refuse a SciPy sparse matrix, saying how to pass it.

    Parameters
    ----------
    x : object
        Anything given as ``name``.
    name : str
        The argument's name in the error.
    """
    if is_sparse(x):
        raise FeedforwardError(
            f"{name}: a SciPy sparse matrix of shape {getattr(x, 'shape', '?')}; the model "
            f"takes dense arrays: pass {name}.toarray()")


def column_names(frame, name) -> list:
    """A frame's column names as text, refusing a name given to two columns.

    Parameters
    ----------
    frame : DataFrame
        See :func:`is_frame`.
    name : str
        The argument's name in the error.

    Returns
    -------
    list of str
    """
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        seen = set()
        twice = next(c for c in names if c in seen or seen.add(c))
        raise FeedforwardError(
            f"{name}: the DataFrame has {names.count(twice)} columns named {twice!r}; which "
            "one is meant would be a guess: drop or rename the copies")
    return names


def check_names(names, where) -> list:
    """Feature names checked: a list (or tuple) of distinct strings.

    Parameters
    ----------
    names : object
        The names as set, e.g. ``model.feature_names`` (any sequence of strings).
    where : str
        What holds them, for the message.

    Returns
    -------
    list of str
    """
    if isinstance(names, (str, bytes, dict)) or not hasattr(names, "__iter__") or not all(
            isinstance(n, str) for n in names):
        raise FeedforwardError(f"{where}: expected a list of column names (strings), got "
                               f"{describe(names)}")
    names = list(names)
    if len(set(names)) != len(names):
        twice = next(n for i, n in enumerate(names) if n in names[:i])
        raise FeedforwardError(f"{where}: expected distinct names, got {twice!r} twice")
    return names


def take_columns(frame, indices):
    """The columns ``indices`` of a frame, in that order.

    Parameters
    ----------
    frame : DataFrame
        See :func:`is_frame`.
    indices : list of int
        Column positions.

    Returns
    -------
    DataFrame or ndarray of shape (n, len(indices))
        A pandas frame stays one (its column dtypes are read later); another frame
        becomes the array of its ``to_numpy()``'s columns.
    """
    if hasattr(frame, "iloc"):
        return frame.iloc[:, list(indices)]
    return np.asarray(frame.to_numpy())[:, list(indices)]


def by_name(frame, names, name="x"):
    """A frame's columns in the order of ``names``, matched by name (each must be there,
    and no other); all of them, in order, when ``names`` is None.

    Parameters
    ----------
    frame : DataFrame
        pandas, polars or another frame (see :func:`is_frame`).
    names : list of str or None
        A model's ``feature_names``.
    name : str, default "x"
        The argument's name in errors.

    Returns
    -------
    DataFrame or ndarray of shape (n, len(names))
        What :func:`~feedforward.errors.as_array` reads (a pandas frame stays one).
    """
    columns = column_names(frame, name)  # a name given twice is refused even without names
    if names is None or (isinstance(names, (list, tuple)) and not names):
        return frame if hasattr(frame, "iloc") else take_columns(frame, range(len(columns)))
    names = check_names(names, "feature_names")
    return take_columns(frame, match_names(columns, names, name,
                                           hint=f"pass {name}.to_numpy() to take them in order"))
