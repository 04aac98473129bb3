"""Tabular data: CSV files with a header row, and scikit-learn's bundled datasets by name.

Both return a :class:`Dataset`, which unpacks as ``x, y = load_csv(...)``. A target column
whose values are all numbers stays numeric (int64 when every value is a whole number, else
float64) with ``classes`` None; any other target is categorical, encoded to int64 codes
``0 .. k - 1`` in sorted order of the labels, with ``classes[code]`` giving the label back.
"""

from __future__ import annotations

import csv
import importlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import FeedforwardError

MISSING = {"", "na", "n/a", "nan", "null", "none", "?"}  # lower-cased cells read as missing


@dataclass(frozen=True)
class Dataset:
    """Features, targets and their names.

    Iterating gives ``x`` then ``y``, so ``x, y = dataset`` works.

    Parameters
    ----------
    x : ndarray of shape (n, features), float64
        The features.
    y : ndarray of shape (n,)
        int64 class codes (see ``classes``) or numeric targets.
    feature_names : list of str
        The name of each column of ``x``; empty when unknown.
    target_name : str
        The name of the target column.
    classes : list or None
        The label of each class code, for a categorical target; else None.
    """

    x: np.ndarray
    y: np.ndarray
    feature_names: list = field(default_factory=list)
    target_name: str = ""
    classes: list | None = None

    def __iter__(self):
        return iter((self.x, self.y))


def _rows(path: Path, delimiter: str):
    """The non-blank rows, stripped, and the file line on which each starts."""
    rows, lines = [], []
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter)
            last = 0
            for row in reader:  # a quoted cell may span lines, so count them as we go
                if row:
                    rows.append([cell.strip() for cell in row])
                    lines.append(last + 1)
                last = reader.line_num
    except OSError as e:
        raise FeedforwardError(f"path: cannot read {str(path)!r} ({e.strerror or e})") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise FeedforwardError(f"{path}: not a readable CSV text file ({e})") from None
    return rows, lines


def _target_index(header, target, path):
    if target is None:
        return len(header) - 1
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if -len(header) <= target < len(header):
            return int(target) % len(header)
        raise FeedforwardError(
            f"target: column {target} is out of range for {len(header)} columns in {path}")
    if target in header:
        return header.index(target)
    raise FeedforwardError(
        f"target: no column {target!r} in {path}; its columns are {', '.join(header)}")


def _numeric_column(cells, name, path, lines):
    """One column of strings as float64; the first missing or non-numeric cell is an error."""
    for i, cell in enumerate(cells):
        if cell.lower() in MISSING:
            raise FeedforwardError(
                f"{path}: missing value in row {i + 1} (line {lines[i]}), column {name!r}: "
                f"{cell!r}")
        try:
            value = float(cell)
        except ValueError:
            raise FeedforwardError(
                f"{path}: non-numeric value {cell!r} in row {i + 1} (line {lines[i]}), column "
                f"{name!r}") from None
        if not np.isfinite(value):
            raise FeedforwardError(
                f"{path}: non-finite value {cell!r} in row {i + 1} (line {lines[i]}), column "
                f"{name!r}")
    return np.array(cells, dtype=np.float64)


def _encode_target(cells, name, path, lines):
    """Numeric targets as numbers; anything else as codes with their classes."""
    for i, cell in enumerate(cells):
        if cell == "":
            raise FeedforwardError(f"{path}: missing target in row {i + 1} (line {lines[i]}), "
                                   f"column {name!r}")
    try:
        y = np.array([float(c) for c in cells])
    except ValueError:
        classes, codes = np.unique(np.array(cells), return_inverse=True)
        return codes.astype(np.int64), classes.tolist()
    if not np.isfinite(y).all():
        i = int(np.argmax(~np.isfinite(y)))
        raise FeedforwardError(f"{path}: non-finite target {cells[i]!r} in row {i + 1} "
                               f"(line {lines[i]}), column {name!r}")
    return (y.astype(np.int64) if np.array_equal(y, np.round(y)) else y), None


def load_csv(path, target=None, delimiter=",") -> Dataset:
    """Read a CSV file with a header row: numeric feature columns and one target column.

    Parameters
    ----------
    path : str or Path
    target : str or int, optional
        The target column's name or index; the last column by default.
    delimiter : str

    Returns
    -------
    Dataset
        ``x`` (n, features) float64, ``y`` (n,), names, and ``classes`` for a categorical
        target (see the module docstring).

    Raises
    ------
    FeedforwardError
        For an empty file, a file with no data rows, a row with the wrong number of cells, an
        unknown target, or a missing (empty, ``NA``, ``NaN``, ``?``, ...) or non-numeric
        feature value, naming its row and column.
    """
    path = Path(path)
    rows, lines = _rows(path, delimiter)
    if not rows:
        raise FeedforwardError(f"{path}: the file is empty; expected a header row and data rows")
    header, body = rows[0], rows[1:]
    if not body:
        raise FeedforwardError(f"{path}: the file has a header but no data rows")
    if len(header) < 2:
        raise FeedforwardError(f"{path}: expected at least two columns (features and a target), "
                               f"got header {header}")
    lines = lines[1:]
    for i, row in enumerate(body):
        if len(row) != len(header):
            raise FeedforwardError(f"{path}: row {i + 1} (line {lines[i]}) has {len(row)} cells, "
                                   f"the header has {len(header)}")
    t = _target_index(header, target, path)
    columns = list(zip(*body, strict=True))
    features = [j for j in range(len(header)) if j != t]
    x = np.column_stack([_numeric_column(columns[j], header[j], path, lines) for j in features])
    y, classes = _encode_target(columns[t], header[t], path, lines)
    return Dataset(x, y, [header[j] for j in features], header[t], classes)


SKLEARN_DATASETS = {"digits": "load_digits", "iris": "load_iris", "wine": "load_wine",
                    "breast_cancer": "load_breast_cancer", "diabetes": "load_diabetes"}
"""scikit-learn's bundled datasets (no download needed) by name: its loader function."""


def load_dataset(name: str) -> Dataset:
    """A dataset bundled with scikit-learn: digits, iris, wine, breast_cancer or diabetes.

    ``diabetes`` is regression (float targets, ``classes`` None); the others are
    classification with int64 labels and ``classes`` from scikit-learn's ``target_names``.
    Needs the ``sklearn`` extra: ``pip install 'feedforward[sklearn]'``.

    Parameters
    ----------
    name : str
        One of :data:`SKLEARN_DATASETS`; case-insensitive, ``-`` as ``_``.

    Returns
    -------
    Dataset
        ``x`` of shape ``(n, features)`` in float64, ``y`` of shape ``(n,)``, the feature
        names and ``target_name`` ``"target"``.
    """
    key = name.lower().replace("-", "_") if isinstance(name, str) else None
    if key not in SKLEARN_DATASETS:
        raise FeedforwardError(
            f"name: unknown dataset {name!r}; known datasets: {', '.join(SKLEARN_DATASETS)}")
    try:
        datasets = importlib.import_module("sklearn.datasets")
    except ImportError:
        raise FeedforwardError(
            f"load_dataset({name!r}) needs scikit-learn; install the extra with "
            "pip install 'feedforward[sklearn]'") from None
    bunch = getattr(datasets, SKLEARN_DATASETS[key])()
    regression = key == "diabetes"
    y = bunch.target.astype(np.float64 if regression else np.int64)
    classes = None if regression else np.asarray(bunch.target_names).tolist()
    names = [str(f) for f in getattr(bunch, "feature_names", range(bunch.data.shape[1]))]
    return Dataset(np.ascontiguousarray(bunch.data, dtype=np.float64), y, names, "target", classes)
