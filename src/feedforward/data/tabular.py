"""Tabular data: delimited text files, and scikit-learn's bundled datasets by name.

One reading rule serves every caller (``load_csv``, and the command line's ``train``,
``evaluate`` and ``predict``), through :func:`read_table`:

- **delimiter**: a tab for ``.tsv`` and ``.tab`` files; else sniffed from the first rows
  (:func:`sniff_delimiter`: the one of ``,`` ``;`` tab ``|`` that splits every sampled row
  into the same number of cells, the most, or a comma); unless given;
- **header**: ``header=None`` detects it. The first row is data when its cells parse as numbers
  (a text cell in the target column counts as a class label when that label recurs below it)
  and none of them is a known column name; a first row that is exactly ``0 .. m - 1`` or
  ``1 .. m`` (or an empty cell, then ``0 .. m - 2`` or ``1 .. m - 1``: pandas' ``to_csv()``
  header with its index column), or that names some known columns and not others, is
  ambiguous and refused.
  A file without a header gets the names ``column_1 .. column_m``;
- **names**: a column named twice is refused; :func:`match_columns` takes a model's columns
  by name and refuses a missing, unexpected or misspelled one;
- **cells**: numbers are read row by row, so an error names the first bad cell in row-major
  order (its row, file line and column).

A target column whose values are all numbers stays numeric (int64 when every value is a whole
number that int64 holds exactly, else float64) with ``classes`` None. Whole numbers beyond
int64 keep their exact values as ``classes`` (Python ints), so no two distinct labels merge;
any other target is categorical. Categorical targets are int64 codes ``0 .. k - 1`` in sorted
order of the labels, with ``classes[code]`` giving the label back.
"""

from __future__ import annotations

import csv
import difflib
import importlib
import itertools
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

from ..errors import FeedforwardError

# lower-cased cells read as missing, in features (imputed or refused) and targets (refused):
# those of spreadsheets and pandas' writers (#N/A, <NA>, ...), and ? and - of hand-made files
MISSING = {"", "na", "n/a", "nan", "-nan", "null", "none", "?", "-", "#n/a", "#na", "#n/a n/a",
           "<na>", "nat"}
TAB_SUFFIXES = (".tsv", ".tab")
PARQUET_SUFFIXES = (".parquet", ".pq")
SNIFFED = (",", ";", "\t", "|")  # the delimiters sniffed, in order of preference on a tie
SNIFF_LINES = 20  # non-empty lines sampled to sniff the delimiter
DELIMITER_NAMES = {"tab": "\t", "\\t": "\t"}  # "\\t": a shell's '\t' reaches us as two characters
SHOWN = 80  # characters of a cell or column name echoed in a message
ID_MIN_ROWS = 20  # rows from which a column of distinct whole numbers is taken for an id
_INT64 = np.iinfo(np.int64)


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


@dataclass(frozen=True)
class CsvTable:
    """The cells of a delimited text file, read by :func:`read_table`.

    Parameters
    ----------
    path : Path
    names : list of str
        The header's column names, or ``column_1 .. column_m`` for a file without one.
    rows : list of list of str
        The data rows (stripped cells), each as wide as ``names``.
    lines : list of int
        The file line on which each data row starts.
    has_header : bool
        Whether the first row of the file was read as column names.
    delimiter : str
        The cell separator the file was read with.
    """

    path: Path
    names: list
    rows: list
    lines: list
    has_header: bool
    delimiter: str = ","

    def __len__(self):
        return len(self.rows)

    @property
    def hint(self) -> str:
        """For a table read as one column whose first cell holds another delimiter: ``"; it
        looks ';'-separated ...: pass delimiter=';'"``, to end an error; else ``""``."""
        if len(self.names) != 1:
            return ""
        first = self.names[0] if self.has_header else (self.rows[0][0] if self.rows else "")
        counts = {c: first.count(c) for c in SNIFFED if c != self.delimiter}
        char = max(counts, key=counts.get)
        if not counts[char]:
            return ""
        name = "tab" if char == "\t" else repr(char)
        return (f"; it looks {name}-separated (its first row holds {counts[char]} of them): "
                f"pass delimiter={char!r}")

    def index(self, column, option="target") -> int:
        """The position of a column.

        Parameters
        ----------
        column : str or int
            A name, or a 0-based index (negative counts from the end); ``"name:X"`` is the
            column named ``X`` and ``"index:N"`` the column of index ``N`` (for a name that
            is a number, or empty), unless a column is named so itself.
        option : str
            The parameter that chose the column, named by an error.

        Returns
        -------
        int
            The 0-based index.

        Raises
        ------
        FeedforwardError
            For an unknown name or an index out of range, naming ``option``; and for an
            index that is also the name of another column (``2`` for a file whose columns
            are ``a, 2, b``), which says how to choose one.
        """
        prefixed = None if column in self.names else _column_choice(column, option)
        if prefixed is not None:
            kind, value = prefixed
            return self._named(value, option) if kind == "name" else self._at(value, option)
        if isinstance(column, (int, np.integer)) and not isinstance(column, bool):
            named = str(int(column))
            if named not in self.names:
                return self._at(column, option)
            k = self.names.index(named)
            if not -len(self.names) <= column < len(self.names) or column % len(self.names) == k:
                return k  # no other column has that index: the name is meant
            j = self._at(column, option)
            raise FeedforwardError(
                f"{option}: {column} is ambiguous in {self.path}: it is the name of one column "
                f"and the 0-based index of another, {shorten(self.names[j])!r}; write "
                f"name:{column} for the column named {named!r}, or index:{column} for "
                f"{shorten(self.names[j])!r}")
        return self._named(column, option)

    def _at(self, column, option) -> int:
        m = len(self.names)
        if -m <= column < m:
            return int(column) % m
        raise FeedforwardError(
            f"{option}: column {column} is out of range for {m} columns in {self.path}")

    def _named(self, column, option) -> int:
        if column in self.names:
            return self.names.index(column)
        where = "" if self.has_header else " (it has no header row, so its columns are named " \
                                           "by position; or give a 0-based index)"
        raise FeedforwardError(f"{option}: no column {shorten(str(column))!r} in {self.path}"
                               f"{where}; its columns are {_some(self.names)}{self.hint}")

    def numbers(self, columns) -> np.ndarray:
        """The cells of some columns as numbers.

        Parameters
        ----------
        columns : sequence of int
            The columns' indexes, in the order wanted.

        Returns
        -------
        ndarray of shape (rows, len(columns)), float64

        Raises
        ------
        FeedforwardError
            For a missing, non-numeric or non-finite cell, naming the first bad cell in
            row-major order: its row, file line and column.
        """
        columns = list(columns)
        cells = [[row[j] for j in columns] for row in self.rows]
        text = "".join(itertools.chain.from_iterable(cells))
        if "_" not in text and text.isascii():  # else the cell by cell check names the cell
            try:
                x = np.array(cells, dtype=np.float64)
                if np.isfinite(x).all():
                    return x.reshape(len(self.rows), len(columns))
            except ValueError:
                pass
        for i, row in enumerate(self.rows):
            for j in columns:
                self._check_number(row[j], i, j)
        raise AssertionError("unreachable: a cell failed to convert but every cell is good")

    def cells(self, columns) -> np.ndarray:
        """The cells of some columns as text, for a :class:`~feedforward.data.TableEncoder`.

        Parameters
        ----------
        columns : sequence of int
            The columns' indexes, in the order wanted.

        Returns
        -------
        ndarray of shape (rows, len(columns)), object
            The stripped cells, missing ones as written (the encoder reads them).
        """
        columns = list(columns)
        out = np.empty((len(self.rows), len(columns)), dtype=object)
        for i, row in enumerate(self.rows):
            out[i] = [row[j] for j in columns]
        return out

    def refuse_missing(self, columns) -> None:
        """Refuse the first missing cell (see :data:`MISSING`) of some columns, naming it.

        Parameters
        ----------
        columns : sequence of int

        Raises
        ------
        FeedforwardError
            Naming its row, file line and column, and the ``impute`` option.
        """
        for i, row in enumerate(self.rows):
            for j in columns:
                if row[j].lower() in MISSING:
                    raise FeedforwardError(
                        f"impute: is 'none', but {self.path} has a missing value in row {i + 1} "
                        f"(line {self.lines[i]}), column {shorten(self.names[j])!r}: "
                        f"{row[j]!r}; fill missing values with --impute median (or "
                        "most_frequent)")

    def _check_number(self, cell, i, j):
        where = f"in row {i + 1} (line {self.lines[i]}), column {shorten(self.names[j])!r}"
        if cell.lower() in MISSING:
            raise FeedforwardError(f"{self.path}: missing value {where}: {cell!r}")
        try:
            value = to_number(cell)
        except ValueError:
            raise FeedforwardError(f"{self.path}: non-numeric value {shorten(cell)!r} "
                                   f"{where}{self.hint}") from None
        if not np.isfinite(value):
            raise FeedforwardError(f"{self.path}: non-finite value {cell!r} {where}")

    def dataset(self, target=None, features=None, raw=False) -> Dataset:
        """The table as a :class:`Dataset`.

        Parameters
        ----------
        target : str or int, optional
            The target column's name or index; the last column by default.
        features : list of int, optional
            The feature columns, in this order; by default every column but the target.
        raw : bool
            Keep the features as text cells (:meth:`cells`) instead of numbers.

        Returns
        -------
        Dataset
            The features as float64 (text with ``raw``) and the target encoded (see the
            module docstring).
        """
        if len(self.names) < 2:
            raise FeedforwardError(f"{self.path}: expected at least two columns (features and "
                                   f"a target), got {_some(self.names)}{self.hint}")
        t = self.index(-1 if target is None else target)
        if features is None:
            features = [j for j in range(len(self.names)) if j != t]
        x = self.cells(features) if raw else self.numbers(features)
        y, classes = _encode_target([row[t] for row in self.rows], self.names[t], self.path,
                                    self.lines)
        return Dataset(x, y, [self.names[j] for j in features], self.names[t], classes)


def _column_choice(column, option="column"):
    """A column chosen with a prefix: ``"name:X"`` gives ``("name", "X")``, ``"index:N"``
    gives ``("index", N)``; anything else None.

    Parameters
    ----------
    column : object
        A column as an option gives it (a name or an index).
    option : str
        The option that gave it, named by an error.

    Returns
    -------
    tuple or None

    Raises
    ------
    FeedforwardError
        For ``index:`` followed by anything but an integer.
    """
    if not isinstance(column, str):
        return None
    kind, colon, value = column.partition(":")
    if not colon or kind not in ("name", "index"):
        return None
    if kind == "name":
        return kind, value
    try:
        return kind, int(value)
    except ValueError:
        raise FeedforwardError(f"{option}: {shorten(column)!r}: expected index:N with N a "
                               "0-based index") from None


def chosen_name(column):
    """The name a column choice gives (``"name:X"``: ``X``), or None for an index.

    Parameters
    ----------
    column : str or int
        As :meth:`CsvTable.index` takes it.

    Returns
    -------
    str or None
    """
    if not isinstance(column, str) or column.startswith("index:"):
        return None
    return column.removeprefix("name:")


def column_kind(cells) -> str:
    """``"numbers"``, ``"gaps"`` (numbers and missing cells) or ``"text"`` (a present cell
    that is not a number: a categorical column).

    Parameters
    ----------
    cells : list of str
        A column's cells.

    Returns
    -------
    str
    """
    gaps = False
    for cell in cells:
        if cell.lower() in MISSING:
            gaps = True
            continue
        try:
            to_number(cell)
        except ValueError:
            return "text"
    return "gaps" if gaps else "numbers"


def id_columns(table: CsvTable, columns) -> list:
    """The columns that look like row ids: all distinct whole numbers, most of a run.

    Parameters
    ----------
    table : CsvTable
    columns : sequence of int
        The columns to look at (the features).

    Returns
    -------
    list of int
        Those of ``columns`` whose cells are whole numbers (written without a point, so a
        column of floats never is), no two equal, that fill more than half of the run from
        their least to their greatest; none for a table under :data:`ID_MIN_ROWS` rows, where
        a few distinct numbers happen by chance.
    """
    if len(table) < ID_MIN_ROWS:
        return []
    return [j for j in columns if _is_id([row[j] for row in table.rows])]


def _is_id(cells) -> bool:
    try:
        values = [int(cell) for cell in cells]
    except ValueError:
        return False
    span = max(values) - min(values) + 1
    return len(set(values)) == len(values) and 2 * len(values) > span


def _some(names, limit=8) -> str:
    """Names for a message: the first ``limit``, each cut short, and how many in all."""
    shown = ", ".join(shorten(str(n)) for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def shorten(text: str) -> str:
    """Text for a message, cut to :data:`SHOWN` characters and ``...``.

    A header misread as one cell (the wrong delimiter) is one name of any length.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
    """
    return text if len(text) <= SHOWN else text[:SHOWN] + "..."


def parse_delimiter(value) -> str:
    """A delimiter as given: ``tab`` (or ``\\t``) or a single character.

    Parameters
    ----------
    value : str
        ``","``, ``";"``, ``"tab"``, ``"|"`` or any other single character but a quote or
        a line break.

    Returns
    -------
    str
        The character.

    Raises
    ------
    FeedforwardError
        Naming ``delimiter``, for anything else.
    """
    char = DELIMITER_NAMES.get(value.lower(), value) if isinstance(value, str) else value
    if isinstance(char, str) and len(char) == 1 and char not in '"\r\n':
        return char
    shown = repr(shorten(value)) if isinstance(value, str) else type(value).__name__
    raise FeedforwardError(f"delimiter: expected one of , ; tab | or another single character "
                           f"(not a quote or a line break), got {shown}")


def sniff_delimiter(lines) -> str:
    """The delimiter of some lines of delimited text.

    Parameters
    ----------
    lines : iterable of str
        The first lines of a file (:data:`SNIFF_LINES` non-empty ones suffice); quoted cells
        are respected.

    Returns
    -------
    str
        The one of :data:`SNIFFED` that splits every non-empty row into the same number (at
        least two) of cells, the most of them; on a tie the first in :data:`SNIFFED`. A comma
        when none does: a one-column file, or one whose rows are ragged whatever the
        delimiter (the reader then names the bad row).
    """
    lines = list(lines)
    best, most = ",", 1
    for candidate in SNIFFED:
        widths = _widths(lines, candidate)
        if len(widths) == 1 and (width := widths.pop()) > most:
            best, most = candidate, width
    return best


def _widths(lines, delimiter) -> set:
    """The numbers of cells the non-empty rows of ``lines`` have; empty if they do not parse."""
    try:
        return {len(row) for row in csv.reader(lines, delimiter=delimiter) if row}
    except csv.Error:
        return set()


def _sample(f) -> list:
    """The first lines of ``f``, up to :data:`SNIFF_LINES` non-empty ones."""
    sample, filled = [], 0
    for line in f:
        sample.append(line)
        filled += bool(line.strip())
        if filled == SNIFF_LINES:
            break
    return sample


def _rows(path: Path, delimiter):
    """The non-blank rows, stripped, the file line on which each starts, and the delimiter
    (sniffed when None)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            return read_rows(f, delimiter)
    except OSError as e:
        raise FeedforwardError(f"path: cannot read {str(path)!r} ({e.strerror or e})") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise FeedforwardError(f"{path}: not a readable CSV text file ({e})") from None


def read_rows(f, delimiter=None) -> tuple[list, list, str]:
    """The rows of delimited text, read as :func:`read_table` reads a file's (for text that
    is not in a file, such as an upload).

    Parameters
    ----------
    f : iterable of str
        The lines, with their line ends: a file opened with ``newline=""``, or
        ``io.StringIO(text, newline="")``.
    delimiter : str, optional
        The cell separator; when None, sniffed from the first lines (:func:`sniff_delimiter`).

    Returns
    -------
    rows : list of list of str
        The non-blank rows, each cell stripped (and unquoted: ``"1.5"`` is ``1.5``).
    lines : list of int
        The line on which each row starts (a quoted cell may span lines).
    delimiter : str
        The delimiter given or sniffed.

    Raises
    ------
    csv.Error
        For text that the csv module cannot read (a cell longer than its field limit).
    """
    rows, lines = [], []
    sample = _sample(f)
    delimiter = delimiter or sniff_delimiter(sample)
    # the sample, then the rest: the file is read once, so a pipe may be read too
    reader = csv.reader(itertools.chain(sample, f), delimiter=delimiter)
    last = 0
    for row in reader:  # a quoted cell may span lines, so count them as we go
        if row:
            rows.append([cell.strip() for cell in row])
            lines.append(last + 1)
        last = reader.line_num
    return rows, lines, delimiter


# a number as a CSV file writes it: Python's float also takes 1_0 (ten) and non-ASCII digits,
# which no spreadsheet writes, so a typo would pass as another number; nan and inf are
# numbers here, for the callers' own refusal of them, which names them
NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*|\s*[+-]?(nan|inf|infinity)\s*",
                    re.ASCII | re.IGNORECASE)


def to_number(cell: str) -> float:
    """The float a CSV cell writes.

    Parameters
    ----------
    cell : str
        One cell's text.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For a cell no CSV writer produces as a number: text, ``1_0``, non-ASCII digits.
    """
    if not NUMBER.fullmatch(cell):
        raise ValueError(f"not a number: {cell!r}")
    return float(cell)


def _is_number(cell: str) -> bool:
    if cell.lower() in MISSING:  # a data row with a gap: refused later, naming the cell
        return True
    try:
        to_number(cell)
    except ValueError:
        return False
    return True


def _looks_like_data(rows, target) -> bool:
    """Whether the first row reads as data: numbers, and perhaps values of text columns.

    A text cell is a value (a class label, a category) when the same text recurs in its
    column below it, and a column name otherwise; a target given by name means a header.
    """
    return not isinstance(target, str) and not _lonely_text(rows)


def _lonely_text(rows) -> list:
    """The columns whose first-row cell is text that recurs nowhere below it."""
    first = rows[0]
    return [j for j, cell in enumerate(first) if not _is_number(cell)
            and not any(len(row) > j and row[j] == cell for row in rows[1:])]


def _refuse_ambiguous(path, rows, target) -> None:
    """Refuse a first row of numbers beside lonely text in a feature column: a header's
    names are seldom numbers, a data row's categories may be rare; only the user knows."""
    first = rows[0]
    numbers = [c for c in first if c.lower() not in MISSING and _is_number(c)]
    if isinstance(target, str):
        return
    # False: no target column (a file to predict on), so every column holds features
    skip = () if target is False else ((-1 if target is None else target) % len(first),)
    features = [j for j in _lonely_text(rows) if j not in skip]
    if numbers and features:
        raise FeedforwardError(
            f"header: cannot tell whether the first row of {path} ({_some(first, 6)}) is a "
            f"header or data: it holds numbers ({_some(numbers, 3)}) beside text that appears "
            f"nowhere below it ({_some([first[j] for j in features], 3)}); say which")


def _has_header(path, rows, header, names, target, in_order=False) -> bool:
    if header is not None:
        if not isinstance(header, (bool, np.bool_)):
            raise FeedforwardError(f"header: expected True, False or None (detect), got "
                                   f"{header!r}")
        return bool(header)
    first = rows[0]
    known = [n for n in names if n]
    if known and set(known) <= set(first):
        if in_order and _numbers_only(first) and [c for c in first if c in known] != known:
            # a model's own file lists its names in its order; a data row of small whole
            # numbers may hold the same numbers in any order
            raise FeedforwardError(
                f"header: cannot tell whether the first row of {path} ({_some(first, 6)}) is "
                f"a header or data: it holds numbers that are the model's column names, but "
                f"not in the model's order ({_some(known, 6)}); say which")
        return True  # every known name, some perhaps numbers, such as 0, 1, 2 or 2019
    if not _looks_like_data(rows, target):
        _refuse_ambiguous(path, rows, target)
        return True
    named = [c for c in first if c in known]
    ambiguous = ""
    if named:
        absent = [n for n in known if n not in first]
        ambiguous = f"it names the columns {_some(named)} but not {_some(absent)}"
    elif len(first) > 1 and _counts(first):
        ambiguous = "it counts the columns, as names made up of their numbers do"
    elif len(first) > 2 and not first[0] and _counts(first[1:]):
        raise FeedforwardError(
            f"header: cannot tell whether the first row of {path} ({_some(first, 6)}) is a "
            "header or data: it looks like the header of pandas' DataFrame.to_csv() with its "
            "index column (an empty cell above the index, then the column labels "
            f"{first[1]}, {first[2]}, ...); write the file with to_csv(index=False), or pass "
            "header=True to read the row as a header (its first column, the index, is best "
            "left out)")
    if ambiguous:
        raise FeedforwardError(
            f"header: cannot tell whether the first row of {path} ({_some(first, 6)}) is a "
            f"header or data: {ambiguous}; say which")
    return False


def _refuse_numbered(path, first, chosen, names) -> None:
    """Refuse a first row of distinct whole numbers holding a column chosen by a number: as a
    header, the number names that column; as data, it is an index. Only the user knows,
    unless a column chosen by name (``name:3``) is in the row: then it is a header."""
    cells = [c.strip() for c in first]
    if not all(c.isdigit() for c in cells) or len(set(cells)) < len(cells) or any(
            n in cells for n in names if n):
        return
    hit = [c for c in chosen if isinstance(c, (int, np.integer)) and not isinstance(c, bool)
           and str(c) in cells]
    if hit:
        raise FeedforwardError(
            f"header: cannot tell whether the first row of {path} ({_some(first, 6)}) is a "
            f"header or data: it holds distinct whole numbers, as a header of column names "
            f"that are numbers does, and {hit[0]}, which chooses a column, is one of them; say "
            f"which (or choose the column as name:{hit[0]} or index:{hit[0]})")


def _numbers_only(cells) -> bool:
    """Whether every cell is a number (no text, no missing cell)."""
    return all(c.strip() and c.lower() not in MISSING and _is_number(c) for c in cells)


def _counts(cells) -> bool:
    """Whether ``cells`` are 0, 1, ..., m - 1 or 1, 2, ..., m."""
    try:
        values = [to_number(c) for c in cells]
    except ValueError:
        return False
    return values in ([float(i) for i in range(len(cells))],
                      [float(i) for i in range(1, len(cells) + 1)])


def _refuse_duplicates(path, names):
    seen = {}
    for j, name in enumerate(names):
        seen.setdefault(name, []).append(j + 1)
    twice = {name: cols for name, cols in seen.items() if len(cols) > 1}
    if twice:
        listed = "; ".join(f"{name!r} (columns {', '.join(map(str, cols))})"
                           for name, cols in twice.items())
        raise FeedforwardError(f"{path}: columns named more than once: {listed}; each column "
                               "needs its own name")


def read_table(path, header=None, delimiter=None, names=(), target=None,
               in_order=False, numbers=()) -> CsvTable:
    """Read a delimited text file: its header (given or detected) and its data rows.

    Parameters
    ----------
    path : str or Path
    header : bool, optional
        Whether the first row holds the column names; None detects it (see the module
        docstring).
    delimiter : str, optional
        The cell separator: a character, or ``"tab"``; by default a tab for ``.tsv`` and
        ``.tab`` files, else sniffed (:func:`sniff_delimiter`).
    names : sequence of str
        Column names the caller expects (a model's features); used to detect the header.
    target : str, int or False, optional
        The target column, if the file has one (the last by default); a text cell there may
        be a class label rather than a name. False: no column is a target (every first-row
        text cell is then a feature's, or a name).
    in_order : bool
        Whether ``names`` are a model's columns in its order: a detected first row of numbers
        alone that holds them is then a header only when it lists them in that order (another
        order is refused as ambiguous).
    numbers : sequence of int
        Other columns the caller chose by a bare number (``features=[0, 2]``), an index or
        the name of a column named so: a detected first row of distinct whole numbers that
        holds one of them, or an integer ``target``, is refused as ambiguous.

    Returns
    -------
    CsvTable

    Raises
    ------
    FeedforwardError
        For a bad ``delimiter``, an unreadable or empty file, a file with no data rows, a row
        with the wrong number of cells, a column named twice, or a first row that may be
        either a header or data (pass ``header``).
    """
    path = Path(path)
    if delimiter is not None:
        delimiter = parse_delimiter(delimiter)
    elif path.suffix.lower() in TAB_SUFFIXES:
        delimiter = "\t"
    rows, lines, delimiter = _rows(path, delimiter)
    if header is None and rows:  # before index:N becomes N, which it then would look like
        _refuse_numbered(path, rows[0], [target, *numbers], names)
    if isinstance(target, str):  # "name:X" names X; "index:N" is an index
        name = chosen_name(target)
        target = name if name is not None else _column_choice(target, "target")[1]
    if not rows:
        raise FeedforwardError(f"{path}: the file is empty; expected a header row and data rows")
    width = len(rows[0])
    has_header = _has_header(path, rows, header, names, target, in_order)
    if has_header:
        columns, rows, lines = rows[0], rows[1:], lines[1:]
        _refuse_duplicates(path, columns)
        if not rows:
            raise FeedforwardError(f"{path}: the file has a header but no data rows")
    else:
        columns = [f"column_{j + 1}" for j in range(width)]
    for i, row in enumerate(rows):
        if len(row) != width:
            raise FeedforwardError(f"{path}: row {i + 1} (line {lines[i]}) has {len(row)} cells, "
                                   f"{'the header' if has_header else 'the first row'} has {width}")
    for j, name in enumerate(columns if has_header else ()):
        if not name.strip() and all(not row[j].strip() for row in rows):
            raise FeedforwardError(
                f"{path}: column {j + 1} has no name and no value (a delimiter "
                f"{delimiter!r} at the end of every line?); remove it from the file")
    return CsvTable(path, columns, rows, lines, has_header, delimiter)


def match_columns(table: CsvTable, features, required=(), allowed=(), hint="") -> list:
    """Find a model's columns in a table by name.

    Every column of ``table`` must be one of ``features``, ``required`` or ``allowed``.

    Parameters
    ----------
    table : CsvTable
        A table read with a header.
    features : sequence of str
        The names of the columns wanted, in the order wanted.
    required : sequence of str
        Other names that must be there too, such as a target.
    allowed : sequence of str
        Names that may be there, and are ignored.
    hint : str
        Appended to the error, e.g. how to take the columns by position instead.

    Returns
    -------
    list of int
        The index of each of ``features`` in ``table``.

    Raises
    ------
    FeedforwardError
        Naming every missing and unexpected column (with the likely intended name for a
        misspelled one), then ``hint``.
    """
    return match_names(table.names, features, str(table.path), required, allowed,
                       hint, table.hint)


def match_names(names, features, where: str, required=(), allowed=(), hint="",
                tail="") -> list:
    """Find features among column names: the rule of :func:`match_columns`, for any table
    with named columns (a CSV header, a DataFrame's columns).

    Parameters
    ----------
    names : sequence of str
        The table's column names, in its order.
    features, required, allowed, hint
        As for :func:`match_columns`.
    where : str
        What the error names first, e.g. a path or an argument.
    tail : str
        Appended after ``hint`` (a file's own hint).

    Returns
    -------
    list of int
        The index of each of ``features`` in ``names``.

    Raises
    ------
    FeedforwardError
        As :func:`match_columns` does, naming ``where``.
    """
    names = list(names)
    expected = [*features, *required]
    missing = [n for n in expected if n not in names]
    extra = [n for n in names if n not in expected and n not in allowed]
    if not missing and not extra:
        return [names.index(n) for n in features]
    if not extra and set(missing) <= set(required) - set(features):
        raise FeedforwardError(
            f"{where}: expected the target column {missing[0]!r}; its columns are "
            f"{_some(names)}")
    parts = []
    if missing:
        parts.append(f"missing {_some([repr(n) for n in missing])}")
    if extra:
        shown = []
        for name in extra:  # one for one, a renamed column: say which
            close = difflib.get_close_matches(name, missing, n=1) or (
                missing if len(missing) == len(extra) == 1 else [])
            shown.append(repr(shorten(name)) + (f" (did you mean {close[0]!r}?)" if close else ""))
        parts.append(f"unexpected {_some(shown)}")
    raise FeedforwardError(
        f"{where}: its columns do not match by name: {'; '.join(parts)}. Expected "
        f"{_some(expected)}" + (f" (and optionally {_some(list(allowed))})" if allowed else "")
        + (f"; {hint}" if hint else "") + tail)


def _exact_int(cell: str, value: float):
    """The exact whole number a cell writes, or None when it is not one."""
    try:
        exact = Decimal(cell)
    except InvalidOperation:
        exact = Decimal(value)
    return int(exact) if exact == exact.to_integral_value() else None


_LEADING_ZERO = re.compile(r"\s*[+-]?0\d+\s*")  # a whole number with a leading zero


def _encode_target(cells, name, path, lines):
    """Numeric targets as numbers; anything else as codes with their classes.

    Whole numbers are read exactly (not through float64, which merges integers beyond
    2**53): int64 when it holds them all, else classes of Python ints.
    """
    for i, cell in enumerate(cells):
        if cell.lower() in MISSING:  # never imputed: a made-up answer would be learned
            raise FeedforwardError(f"{path}: missing target {cell!r} in row {i + 1} (line "
                                   f"{lines[i]}), column {name!r}; remove the row (a target is "
                                   "never imputed)")
    try:
        if any(_LEADING_ZERO.fullmatch(c) for c in cells):  # codes such as 007 and 010:
            raise ValueError  # as numbers, 007 would come back as 7, and 007 and 7 be one
        y = np.array([to_number(c) for c in cells])
    except ValueError:
        if all(c.strip().lower() in ("true", "false") for c in cells):  # as the features'
            cells = [c.strip().capitalize() for c in cells]  # categories: TRUE, true: True
        classes, codes = np.unique(np.array(cells), return_inverse=True)
        return codes.astype(np.int64), classes.tolist()
    if not np.isfinite(y).all():
        i = int(np.argmax(~np.isfinite(y)))
        raise FeedforwardError(f"{path}: non-finite target {cells[i]!r} in row {i + 1} "
                               f"(line {lines[i]}), column {name!r}")
    if not np.array_equal(y, np.round(y)):
        return y, None
    exact = [_exact_int(c, v) for c, v in zip(cells, y.tolist(), strict=True)]
    if None in exact:  # float64 rounded it to a whole number: as a label it would merge
        i = exact.index(None)
        raise FeedforwardError(
            f"{path}: the target {cells[i]!r} in row {i + 1} (line {lines[i]}), column "
            f"{name!r}, is not a whole number but float64 reads it as {y[i]:.17g}; round the "
            "column, or make its labels text")
    if all(_INT64.min <= v <= _INT64.max for v in exact):
        return np.array(exact, dtype=np.int64), None
    classes = sorted(set(exact))  # beyond int64: exact Python ints, one class per value
    code = {v: i for i, v in enumerate(classes)}
    return np.array([code[v] for v in exact], dtype=np.int64), classes


def load_csv(path, target=None, delimiter=None, header=None) -> Dataset:
    """Read a CSV file: numeric feature columns and one target column.

    Parameters
    ----------
    path : str or Path
    target : str or int, optional
        The target column's name or index; the last column by default.
    delimiter : str, optional
        A character, or ``"tab"``; by default a tab for ``.tsv`` and ``.tab`` files, else
        sniffed among ``,`` ``;`` tab ``|`` (:func:`sniff_delimiter`).
    header : bool, optional
        Whether the first row holds the column names; None (the default) detects it. A file
        without one names its columns ``column_1 .. column_m``.

    Returns
    -------
    Dataset
        ``x`` (n, features) float64, ``y`` (n,), names, and ``classes`` for a categorical
        target (see the module docstring).

    Raises
    ------
    FeedforwardError
        For an empty file, a file with no data rows, a row with the wrong number of cells, a
        column named twice, an unknown target, or a missing (empty, ``NA``, ``NaN``, ``?``,
        ...) or non-numeric feature value, naming its row and column.
    """
    names = [n for n in [chosen_name(target)] if n is not None]
    table = read_table(path, header, delimiter, names=names, target=target)
    return table.dataset(target)


def read_csv(path, target=None, delimiter=None, header=None) -> Dataset:
    """Read a table of mixed columns: the features' raw cells and the encoded target.

    The reading rules are :func:`load_csv`'s (a ``.parquet`` file is read with
    :func:`read_parquet`), but the features stay text, for a
    :class:`~feedforward.data.TableEncoder` to make numbers of, with what it learns from the
    training rows only::

        ds = ff.data.read_csv("houses.csv", target="price")
        x_train, x_test, y_train, y_test = ...  # split the rows
        encoder = ff.data.TableEncoder(columns=ds.feature_names).fit(x_train)

    Parameters
    ----------
    path : str or Path
    target : str or int, optional
        The target column's name or index; the last column by default.
    delimiter : str, optional
        As in :func:`load_csv`.
    header : bool, optional
        As in :func:`load_csv`.

    Returns
    -------
    Dataset
        ``x`` of shape (n, features), an object array of text cells (missing ones as
        written), ``y`` (n,) as in :func:`load_csv`.

    Raises
    ------
    FeedforwardError
        As :func:`load_csv`, but for the feature cells; and for a missing target.
    """
    names = [n for n in [chosen_name(target)] if n is not None]
    if Path(path).suffix.lower() in PARQUET_SUFFIXES:
        table = read_parquet(path, header=header, delimiter=delimiter)
    else:
        table = read_table(path, header, delimiter, names=names, target=target)
    return table.dataset(target, raw=True)


def _parquet_cell(value) -> str:
    """A Parquet value as the text a CSV file would hold (null: empty, a missing cell);
    a float's repr reads back as the same float."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _pandas_index(schema) -> list:
    """The columns that hold a pandas DataFrame's index (``__index_level_0__`` of a filtered
    frame, or a named index), as the file's pandas metadata lists them."""
    try:
        meta = schema.pandas_metadata or {}
    except (ValueError, TypeError):  # metadata that is not pandas' JSON: no index known
        return []
    index = meta.get("index_columns", []) if isinstance(meta, dict) else []
    return [c for c in index if isinstance(c, str)]  # a RangeIndex is stored as a dict


def read_parquet(path, header=None, delimiter=None) -> CsvTable:
    """Read a Parquet file as a :class:`CsvTable`, so that every column rule applies.

    Needs pyarrow: ``pip install 'feedforward[parquet]'``. A null is a missing cell. The
    columns that hold a pandas DataFrame's index (named in the file's pandas metadata, such
    as ``__index_level_0__``) are left out, as pandas leaves them out of the columns.

    Parameters
    ----------
    path : str or Path
    header, delimiter : None
        Not for Parquet files (their columns are named); anything else is refused.

    Returns
    -------
    CsvTable
        ``lines`` holds each row's 1-based number.
    """
    path = Path(path)
    for option, value in (("header", header), ("delimiter", delimiter)):
        if value is not None:
            raise FeedforwardError(f"{option}: applies to delimited text files, not to the "
                                   f"Parquet file {path}")
    try:
        parquet = importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise FeedforwardError(f"{path}: reading Parquet files needs pyarrow; install the extra "
                               "with pip install 'feedforward[parquet]'") from None
    try:
        data = parquet.read_table(path)
    except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid is a ValueError
        raise FeedforwardError(f"{path}: not a readable Parquet file ({e})") from None
    index = _pandas_index(data.schema)
    data = data.select([n for n in data.column_names if n not in index])
    names = [str(n) for n in data.column_names]
    _refuse_duplicates(path, names)
    columns = [[_parquet_cell(v) for v in data.column(j).to_pylist()]
               for j in range(len(names))]
    rows = [list(r) for r in zip(*columns, strict=True)] if columns else []
    if not rows:
        raise FeedforwardError(f"{path}: the file has no data rows")
    return CsvTable(path, names, rows, list(range(1, len(rows) + 1)), True, "")


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
