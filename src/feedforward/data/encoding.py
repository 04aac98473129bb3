"""Mixed-type tables to numbers: one-hot categories, imputed gaps and missing indicators.

:class:`TableEncoder` takes raw rows (a 2-D array of strings or objects, a list of rows, or a
pandas DataFrame) and gives float columns, as scikit-learn's ``ColumnTransformer`` of a
``SimpleImputer`` and a ``OneHotEncoder`` would:

- **missing**: ``None``, a float NaN, or a text cell that is, ignoring case and surrounding
  spaces, one of :data:`~feedforward.data.tabular.MISSING` (empty, ``NA``, ``N/A``,
  ``NaN``, ``null``, ``None``, ``?``, ``-``, ``#N/A``, ``<NA>`` ...);
- **categorical** columns: those named in ``categorical``, and every column whose present
  cells are all text (a column of numbers with a text cell is refused, naming the cell: it
  is a typo or an unlisted missing value more often than a category). Their categories are
  the training cells written one way (a number as its value, so ``3``, ``3.0`` and ``"3.0"``
  are one category; true and false in any case as ``True`` and ``False``), sorted; each
  becomes one 0/1 column, and a category not seen in training becomes all zeros (counted in
  ``unseen_`` and warned of with :class:`UnseenCategoryWarning`);
- **imputation**: a missing number becomes the training median (``impute="median"``) or
  most frequent value (``"most_frequent"``); a missing category becomes the most frequent
  category either way; ``"none"`` refuses missing cells;
- **indicators** (``missing_indicators=True``): one 0/1 column per column that had missing
  cells in training, after all the others.

Everything it learns is JSON (categories are text), so it lives in :meth:`get_config`
(``learned``) and the model file's tensors hold nothing of it.
"""

from __future__ import annotations

import math
import re
import warnings
from collections import Counter

import numpy as np

from ..errors import FeedforwardError, describe
from .frames import column_names, is_frame, take_columns
from .preprocessing import Preprocessor, registry
from .tabular import MISSING, shorten, to_number

IMPUTE = ("median", "most_frequent", "none")
# a categorical column with more categories than this share of its present training cells
# (and more than MIN_REFUSED of them) names rows rather than groups: an id or free text
MAX_CATEGORY_SHARE = 0.5
MIN_REFUSED = 20
_LONGEST = max(map(len, MISSING))
_NULLS = ("NAType", "NaTType")  # pandas' pd.NA and pd.NaT, known without importing pandas


class UnseenCategoryWarning(UserWarning):
    """Rows held categories that the :class:`TableEncoder` did not see in training."""


def _cell(value):
    """A cell as None (missing), a str, or a number."""
    if type(value) is str:  # the common case first: a file's cells
        text = value.strip()
        return None if len(text) <= _LONGEST and text.lower() in MISSING else text
    if value is None or type(value).__name__ in _NULLS:
        return None
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        return None if isinstance(value, (float, np.floating)) and math.isnan(value) else value
    text = str(value).strip()
    return None if text.lower() in MISSING else text


def _number(value):
    """The float a present cell writes, or None when it is not a number."""
    if not isinstance(value, str):
        return float(value)
    try:
        return to_number(value)
    except ValueError:
        return None


def _numbers_or_none(cells):
    """The present cells of a column as floats, or None when one is not a number."""
    if any(isinstance(c, str) and _number(c) is None for c in cells):
        return None  # float's own reading takes 1_0 for ten
    try:
        return np.array(cells, dtype=np.float64)
    except (ValueError, TypeError):
        return None


def _category(value) -> str:
    """A present cell as a category, written one way whatever wrote it: a number as its
    value (3, 3.0, "3" and "3.0" are one category; a whole number without a point), true and
    false in any case as ``True`` and ``False``, other text as it is."""
    if isinstance(value, str):
        if value.lower() in ("true", "false"):  # a bool column of one file, text of another
            return value.capitalize()
        number = _number(value)  # the CSV rule first: int() also reads 1_0 and non-ASCII digits
        if number is None or not math.isfinite(number):
            return value
        try:
            return str(int(value))  # exact for whole numbers of any size
        except ValueError:
            value = number
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(int(value)) if float(value).is_integer() else repr(float(value))


_DECIMAL_COMMA = re.compile(r"\s*[+-]?\d+,\d+\s*")


def refuse_decimal_commas(present, name) -> None:
    """Refuse a column of numbers written with a decimal comma (``-0,823`` in a ``;`` file):
    read as text, they would become categories of their values.

    Parameters
    ----------
    present : sequence
        The column's present (not missing) cells.
    name : str
        The column's name, for the message.

    Raises
    ------
    FeedforwardError
        When every present cell is such a number.
    """
    if present and all(isinstance(v, str) and _DECIMAL_COMMA.fullmatch(v) for v in present):
        raise FeedforwardError(
            f"x: column {shorten(name)!r} holds numbers written with a decimal comma (e.g. "
            f"{shorten(present[0])!r}), which are text here; write them with a decimal point, "
            f"or pass --categorical {shorten(name)} if they are categories")


def mixed_text(cells):
    """The index of a column's first text cell when the column also holds numbers, else None.

    Such a column is refused rather than read as categories: one stray cell (``1,000``,
    ``unknown``) would turn a numeric feature into one-hot columns of its values.

    Parameters
    ----------
    cells : sequence
        A column's cells: None for missing ones, text or numbers.

    Returns
    -------
    int or None
    """
    text = number = None
    for i, v in enumerate(cells):
        if v is None:
            continue
        if _number(v) is None:
            text = i if text is None else text
        else:
            number = i if number is None else number
        if text is not None and number is not None:
            return text
    return None


def mixed_message(name, cell, row, where="", flag="categorical") -> str:
    """Why a column of numbers holding a text cell is refused, and the ways forward.

    Parameters
    ----------
    name : str
        The column's name.
    cell : str
        The text cell.
    row : int
        Its 1-based row.
    where : str
        More about its place (e.g. ``" (line 10) of data.csv"``).
    flag : str
        How categories are asked for: ``"categorical"`` or ``"--categorical"``.

    Returns
    -------
    str
    """
    return (f"column {shorten(name)!r} holds numbers, but row {row}{where} holds "
            f"{shorten(str(cell))!r}: a column is either numbers or categories. If the cell "
            f"means a missing value, write it empty or NA; if the column's values are "
            f"categories, name it in {flag}; or fix the cell")


def _most_frequent(values):
    """The most frequent value; on a tie the least (sorted first)."""
    counts = Counter(values)
    top = max(counts.values())
    return min(v for v, c in counts.items() if c == top)


class TableEncoder(Preprocessor):
    """Raw table rows to float columns: one-hot categories, imputed gaps, missing indicators.

    See the module docstring for the rules. ``fit`` learns, from the training rows only, which
    columns are categorical, their categories and the fill values; a model whose first
    preprocessor is a ``TableEncoder`` takes raw rows in ``fit``, ``predict`` and
    ``evaluate``.

    Parameters
    ----------
    columns : list of str, optional
        The names of the raw columns, in order; by default a DataFrame's column names, else
        ``column_1 .. column_m``. A DataFrame given later has its columns taken by name.
    categorical : list of str or int, optional
        Columns (names or 0-based indexes) that are categorical even if every cell is a
        number, such as zip codes.
    impute : {"median", "most_frequent", "none"}
        How missing numbers are filled ("none": missing cells are refused).
    missing_indicators : bool
        Add a 0/1 column per column that had missing cells in training.
    learned : dict, optional
        What ``fit`` learned (as :meth:`get_config` gives it); given, no ``fit`` is needed.

    Attributes
    ----------
    missing_ : dict
        After ``fit``: ``{column: missing cells}`` of the training rows.
    unseen_ : dict
        After ``transform``: ``{column: {category: rows}}`` of the categories not seen in
        training, and ``unseen_rows_`` the number of rows that held any.
    """

    name = "table_encoder"
    aliases = ("column_encoder",)
    _config_keys = ("columns", "categorical", "impute", "missing_indicators", "learned")
    takes_rows = True  # the model's inputs are raw rows, not numbers (see Inputs.raw_inputs)

    def __init__(self, columns=None, categorical=None, impute="median",
                 missing_indicators=False, learned=None):
        super().__init__()
        if impute not in IMPUTE:
            raise FeedforwardError(f"impute: expected one of {', '.join(IMPUTE)}, got "
                                   f"{describe(impute)}")
        if columns is not None and (not isinstance(columns, (list, tuple)) or not all(
                isinstance(c, str) for c in columns) or len(set(columns)) != len(columns)):
            raise FeedforwardError(f"columns: expected distinct column names, got "
                                   f"{describe(columns)}")
        self.columns = None if columns is None else list(columns)
        self.categorical = None if categorical is None else list(categorical)
        self.impute, self.missing_indicators = impute, bool(missing_indicators)
        self.learned = None
        self.unseen_, self.unseen_rows_ = {}, 0
        if learned is not None:
            self._set_learned(learned)

    # ------------------------------------------------------------------ state
    @property
    def fitted(self) -> bool:
        return self.learned is not None

    def get_state(self):
        self._require_fitted("get_state")
        return {}

    def set_state(self, state):
        if state:
            raise FeedforwardError("TableEncoder.set_state: what it learned lives in its config;"
                                   f" got state {sorted(state)}")
        return self

    def _set_learned(self, learned):
        keys = {"kinds", "categories", "fill", "indicators"}
        if not isinstance(learned, dict) or set(learned) != keys or self.columns is None:
            raise FeedforwardError(f"learned: expected a dict with keys {sorted(keys)} and the "
                                   f"columns' names, got {describe(learned)}")
        m = len(self.columns)
        if any(len(learned[k]) != m for k in ("kinds", "categories", "fill")) or not set(
                learned["kinds"]) <= {"numeric", "categorical"}:
            raise FeedforwardError(f"learned: expected kinds, categories and fill for each of "
                                   f"{m} columns")
        self.learned = {k: list(v) for k, v in learned.items()}
        self._index = [None if c is None else {v: i for i, v in enumerate(c)}
                       for c in self.learned["categories"]]

    @property
    def n_columns(self) -> int:
        """The number of raw columns."""
        self._require_fitted("n_columns")
        return len(self.columns)

    @property
    def n_outputs(self) -> int:
        """The number of float columns ``transform`` gives."""
        self._require_fitted("n_outputs")
        cats = self.learned["categories"]
        return sum(1 if c is None else len(c) for c in cats) + len(self.learned["indicators"])

    @property
    def categorical_columns(self) -> list:
        """The names of the categorical columns (after ``fit``)."""
        self._require_fitted("categorical_columns")
        return [n for n, k in zip(self.columns, self.learned["kinds"], strict=True)
                if k == "categorical"]

    def feature_names_out(self) -> list:
        """The name of each output column: ``age``, ``colour=red``, ``age_missing``.

        Returns
        -------
        list of str
            ``n_outputs`` names.
        """
        self._require_fitted("feature_names_out")
        out = []
        for name, cats in zip(self.columns, self.learned["categories"], strict=True):
            out += [name] if cats is None else [f"{name}={c}" for c in cats]
        return out + [f"{self.columns[j]}_missing" for j in self.learned["indicators"]]

    # ------------------------------------------------------------------ rows
    def rows(self, x, name="x") -> np.ndarray:
        """Raw rows as a 2-D object array of cells (None, str or number).

        Parameters
        ----------
        x : array_like of shape (n, columns), list of rows, or a DataFrame
            A DataFrame's (pandas, polars, ...) columns are taken by name when the encoder
            knows them.
        name : str
            The argument's name in errors.

        Returns
        -------
        ndarray of shape (n, columns), object
        """
        if is_frame(x):
            x, self.columns = _frame(x, self.columns, name)
        elif hasattr(x, "to_numpy"):
            x = x.to_numpy()
        try:
            a = np.array(x, dtype=object)
        except (ValueError, TypeError) as e:
            raise FeedforwardError(f"{name}: could not be read as rows ({e})") from None
        if a.ndim != 2 or a.shape[0] == 0:
            raise FeedforwardError(f"{name}: expected rows of shape (n, columns), got "
                                   f"{describe(a)}")
        if self.columns is not None and a.shape[1] != len(self.columns):
            raise FeedforwardError(f"{name}: expected {len(self.columns)} columns "
                                   f"({', '.join(map(shorten, self.columns[:8]))}"
                                   f"{', ...' if len(self.columns) > 8 else ''}), got "
                                   f"{a.shape[1]}")
        return np.frompyfunc(_cell, 1, 1)(a).reshape(a.shape)

    # ------------------------------------------------------------------ fit
    def fit(self, x, y=None):
        """Learn the columns' kinds, categories and fill values from training rows.

        Parameters
        ----------
        x : array_like of shape (n, columns), list of rows, or pandas DataFrame
            The training rows, raw.
        y : None
            Ignored.

        Returns
        -------
        TableEncoder
            ``self``, fitted.
        """
        cells = self.rows(x)
        if self.columns is None:
            self.columns = [f"column_{j + 1}" for j in range(cells.shape[1])]
        forced = _resolve(self.categorical, self.columns)
        learned = {"kinds": [], "categories": [], "fill": [], "indicators": []}
        self.missing_ = {}
        for j, name in enumerate(self.columns):
            present = [v for v in cells[:, j] if v is not None]
            if not present:
                raise FeedforwardError(f"x: column {shorten(name)!r} has no value in the "
                                       f"{len(cells)} training rows; leave it out (--drop)")
            numbers = None if j in forced else _numbers_or_none(present)
            if numbers is None and j not in forced:
                i = mixed_text(cells[:, j])
                if i is not None:
                    raise FeedforwardError(f"x: {mixed_message(name, cells[i, j], i + 1)}")
                refuse_decimal_commas(present, name)
            if numbers is not None:
                kind, cats, fill = "numeric", None, _numeric_fill(numbers, name, self.impute)
            else:
                kind, cats, fill = "categorical", *_categories(present, name, self.impute)
            if len(present) < len(cells):
                self.missing_[name] = len(cells) - len(present)
                if self.impute == "none":
                    self._refuse_missing(cells, j)
                if self.missing_indicators:
                    learned["indicators"].append(j)
            for key, value in (("kinds", kind), ("categories", cats), ("fill", fill)):
                learned[key].append(value)
        self._set_learned(learned)
        return self

    def _refuse_missing(self, cells, j):
        i = next(i for i in range(len(cells)) if cells[i, j] is None)
        raise FeedforwardError(
            f"x: missing value in row {i + 1}, column {shorten(self.columns[j])!r}, and "
            f"impute is 'none': the model fills no missing value; fill the cell, or train "
            f"with impute='median' or 'most_frequent' (train --impute median)")

    # ------------------------------------------------------------------ transform
    def transform(self, x):
        """Encode raw rows as floats with what ``fit`` learned.

        Parameters
        ----------
        x : array_like of shape (n, columns), list of rows, or pandas DataFrame
            Raw rows of the columns seen in ``fit``.

        Returns
        -------
        ndarray of shape (n, n_outputs), float64
            Numbers (imputed), one-hot categories (all zeros for an unseen one), then the
            missing indicators.
        """
        self._require_fitted("transform")
        cells = self.rows(x)
        blocks, unseen = [], {}
        for j, name in enumerate(self.columns):
            fill = self.learned["fill"][j]
            col = cells[:, j]
            if fill is None and any(v is None for v in col):
                self._refuse_missing(cells, j)
            col = [fill if v is None else v for v in col]
            if self.learned["kinds"][j] == "numeric":
                blocks.append(_numbers(col, name)[:, None])
            else:
                block, missed = _one_hot(col, self._index[j])
                blocks.append(block)
                if missed:
                    unseen[name] = missed
        missing = [[v is None for v in cells[:, j]] for j in self.learned["indicators"]]
        blocks.append(np.array(missing, dtype=np.float64).T.reshape(len(cells), -1))
        self._tell_unseen(unseen, blocks)
        return np.hstack(blocks)

    def _tell_unseen(self, unseen, blocks):
        self.unseen_ = unseen
        self.unseen_rows_ = 0
        if unseen:
            self.unseen_rows_ = _rows_with_unseen(blocks, self.learned["kinds"])
            warnings.warn(self.unseen_message(), UnseenCategoryWarning, stacklevel=3)

    def unseen_message(self) -> str:
        """The last ``transform``'s unseen categories in one line ("" when none).

        Returns
        -------
        str
            E.g. ``"3 rows had categories not seen in training (encoded as all zeros):
            colour='purple' (2), size='XL' (1)"``.
        """
        return _unseen_text(self.unseen_, self.unseen_rows_) if self.unseen_ else ""

    def inverse_transform(self, x):
        """Not available: one-hot columns and imputed cells do not give the raw rows back.

        Parameters
        ----------
        x : array of shape (n, n_outputs)
            Encoded rows.

        Returns
        -------
        None
            Always raises :class:`FeedforwardError`.
        """
        self._require_fitted("inverse_transform")
        raise FeedforwardError("TableEncoder.inverse_transform: imputed cells and one-hot "
                               "columns do not give the raw rows back")

    def describe_fit(self) -> str:
        """One line on what ``fit`` found: the categorical columns and the columns they make.

        Returns
        -------
        str
        """
        cats = self.categorical_columns
        n_cat = sum(len(c) for c in self.learned["categories"] if c is not None)
        parts = [f"categorical columns {', '.join(map(repr, cats))} one-hot encoded as {n_cat} "
                 f"columns" if cats else "no categorical column"]
        gaps = getattr(self, "missing_", {})
        if gaps:
            how = "median" if self.impute == "median" else "most frequent value"
            parts.append(f"{sum(gaps.values())} missing cells in {len(gaps)} column"
                         f"{'s' if len(gaps) > 1 else ''} imputed "
                         f"with the training {how} (categories: the most frequent)")
        if self.learned["indicators"]:
            parts.append(f"{len(self.learned['indicators'])} missing-indicator columns")
        parts.append(f"{self.n_outputs} inputs in all from {self.n_columns} columns")
        return "; ".join(parts)


def _frame(frame, columns, name):
    """A DataFrame's columns ``columns`` (all when None) as an object array, and its names
    (pandas, polars or another frame; a name given to two columns is refused)."""
    names = column_names(frame, name)
    columns = names if columns is None else columns
    missing = [c for c in columns if c not in names]
    if missing:
        raise FeedforwardError(f"{name}: the DataFrame has no column "
                               f"{', '.join(map(repr, missing[:8]))}; its columns are "
                               f"{', '.join(map(repr, names[:8]))}")
    part = take_columns(frame, [names.index(c) for c in columns])
    return (part.astype(object).to_numpy() if hasattr(part, "iloc") else part), columns


def _resolve(categorical, columns) -> set:
    """The indexes of the ``categorical`` columns (names or indexes) among ``columns``."""
    chosen = set()
    for c in categorical or ():
        if isinstance(c, (int, np.integer)) and not isinstance(c, bool):
            if not -len(columns) <= c < len(columns):
                raise FeedforwardError(f"categorical: column {c} is out of range for "
                                       f"{len(columns)} columns")
            chosen.add(int(c) % len(columns))
        elif c in columns:
            chosen.add(columns.index(c))
        else:
            raise FeedforwardError(f"categorical: no column {shorten(str(c))!r}; the "
                                   f"columns are {', '.join(columns[:8])}"
                                   f"{', ...' if len(columns) > 8 else ''}")
    return chosen


def _numeric_fill(values, name, impute):
    if not np.isfinite(values).all():
        bad = values[~np.isfinite(values)][0]
        raise FeedforwardError(f"x: non-finite value {bad} in column {shorten(name)!r}")
    if impute == "none":
        return None
    return float(np.median(values) if impute == "median" else _most_frequent(values))


def _categories(present, name, impute):
    """A column's sorted categories and its fill (None for ``impute='none'``)."""
    texts = [_category(v) for v in present]
    cats = sorted(set(texts))
    if len(cats) > MIN_REFUSED and len(cats) > MAX_CATEGORY_SHARE * len(texts):
        raise FeedforwardError(
            f"x: column {shorten(name)!r} has {len(cats)} distinct text values in "
            f"{len(texts)} training rows (e.g. {', '.join(map(repr, cats[:3]))}): as "
            f"categories they would name rows, not groups (an id or free text); leave it "
            f"out with --drop {name}")
    return cats, None if impute == "none" else _most_frequent(texts)


def _numbers(col, name):
    """A numeric column's cells as float64, naming a cell that is no finite number."""
    try:  # at C speed, for cells that are numbers already (text cells take the CSV rule:
        # NumPy's reading, Python's float, also takes 1_0 and non-ASCII digits)
        numeric = getattr(col, "dtype", np.dtype(object)).kind in "biuf"
        if numeric or not any(isinstance(v, str) for v in col):
            values = np.array(col, dtype=np.float64)
            if np.isfinite(values).all():
                return values
    except (ValueError, TypeError):
        pass
    values = [_number(v) for v in col]
    for i, v in enumerate(values):
        if v is None or not math.isfinite(v):
            raise FeedforwardError(
                f"x: {shorten(str(col[i]))!r} in row {i + 1}, column {shorten(name)!r}, is "
                f"not a finite number, and the column held numbers in training")
    return np.array(values, dtype=np.float64)


def _one_hot(col, index):
    """One-hot rows of the categories ``index`` maps, and the unseen ones counted."""
    out = np.zeros((len(col), len(index)))
    missed = Counter()
    for i, v in enumerate(col):
        k = index.get(_category(v))
        if k is None:
            missed[_category(v)] += 1
        else:
            out[i, k] = 1.0
    return out, dict(missed)


def _rows_with_unseen(blocks, kinds):
    """Rows whose one-hot block of some categorical column is all zeros."""
    rows = np.zeros(len(blocks[0]), dtype=bool)
    for block, kind in zip(blocks, kinds, strict=False):
        if kind == "categorical":
            rows |= ~block.any(axis=1)
    return int(rows.sum())


def _unseen_text(unseen, rows) -> str:
    shown = [f"{shorten(name)}={shorten(v)!r} ({n})" for name, seen in unseen.items()
             for v, n in sorted(seen.items(), key=lambda kv: -kv[1])]
    more = f", ... ({len(shown)} in all)" if len(shown) > 6 else ""
    return (f"{rows} row{'s' if rows != 1 else ''} had categories not seen in training "
            f"(encoded as all zeros): {', '.join(shown[:6])}{more}")


registry.register(TableEncoder)
