"""An uploaded CSV file's rows ``x1,x2,label``, read by the library's CSV reading rules.

The text is read by :func:`feedforward.data.tabular.read_rows`, as ``feedforward train``
reads a file: the delimiter sniffed (``,`` ``;`` tab ``|``), quoted cells unquoted (``"1.5"``
is 1.5), each row's line counted. The cells must be numbers as CSV files write them
(:data:`~feedforward.data.tabular.NUMBER`). A first line whose every cell is text is a
header. A row index (pandas' ``to_csv()`` and R's ``write.csv()`` write one by default) is
refused, saying so: its numbers would be taken for x1.
"""

from __future__ import annotations

import csv
import io
import re

import numpy as np

from ..data import playground as datasets
from ..data.tabular import MISSING, NUMBER, SNIFFED, read_rows, shorten
from .setup import MAX_CSV_VALUE, MAX_UPLOAD_ROWS, FieldError

HEADER_HINT = "; a header line names every column with text, such as x1,x2,label"
INDEX_HINT = ("a row index, as pandas' to_csv() and R's write.csv() write by default; save "
              "the file without it (to_csv(index=False), write.csv(row.names = FALSE)) or "
              "delete that column")


def parse_csv(text):
    """Rows ``x1,x2,label`` of ``text`` (a header line is optional) as (points, labels).

    Parameters
    ----------
    text : str
        The file's text.

    Returns
    -------
    points : ndarray of shape (n, 2), float64
    labels : ndarray of shape (n,), float64

    Raises
    ------
    FieldError
        On a bad row, too many or too few rows, a row index, or points outside the map's
        square (the file is refused whole: its points are not clipped or moved).
    """
    rows, lines, delimiter = _read(text)
    if rows and not rows[0][0] and len(rows[0]) > 1 and _is_header(rows[0][1:]):
        raise FieldError("csv", f"line {lines[0]}: expected 3 columns x1,x2,label, got "
                                f"{len(rows[0])}, the first without a name: {INDEX_HINT}")
    start = int(bool(rows) and _is_header(rows[0]))
    if start and len(rows[0]) != 3:
        raise FieldError("csv", f"line {lines[0]}: expected 3 columns x1,x2,label, got "
                                f"{len(rows[0])}: {_cells(rows[0], delimiter)}")
    if len(rows) - start > MAX_UPLOAD_ROWS:
        raise FieldError("csv", f"expected at most {MAX_UPLOAD_ROWS} rows, got "
                                f"{len(rows) - start}")
    values = [_numbers(row, number, delimiter, rows[start:])
              for row, number in zip(rows[start:], lines[start:], strict=True)]
    if len(values) < 2:
        raise FieldError("csv", f"expected at least 2 rows x1,x2,label, got {len(values)}")
    data = np.array(values)
    check_domain(data[:, :2], lines[start:])
    return data[:, :2], data[:, 2]


def _read(text):
    """The non-blank rows of ``text``, the line of each, and the delimiter."""
    if not isinstance(text, str):
        raise FieldError("csv", f"expected text, got {type(text).__name__}")
    try:
        rows, lines, delimiter = read_rows(io.StringIO(text.removeprefix("\ufeff"),
                                                       newline=""))
    except csv.Error as e:  # a cell over the csv module's size limit
        raise FieldError("csv", f"not readable as CSV text ({e})") from None
    kept = [i for i, row in enumerate(rows) if any(row)]  # a row of empty cells: ,,
    return [rows[i] for i in kept], [lines[i] for i in kept], delimiter


def _numbers(row, number, delimiter, rows) -> list:
    """The three numbers of a data row on line ``number``, or a FieldError saying why not."""
    bad = [c for c in row if not NUMBER.fullmatch(c)]
    if bad:
        raise FieldError("csv", f"line {number}: expected three numbers x1,x2,label, got "
                                f"{_cells(row, delimiter)} ({shorten(bad[0])!r} is not a "
                                f"number){_bad_hint(bad[0], number, delimiter)}")
    if len(row) != 3:
        index = len(row) == 4 and _counts_rows([r[0] for r in rows])
        raise FieldError("csv", f"line {number}: expected 3 columns x1,x2,label, got "
                                f"{len(row)}: {_cells(row, delimiter)}"
                                + (f"; the first column counts the rows: {INDEX_HINT}"
                                   if index else ""))
    values = [float(c) for c in row]
    if not all(abs(v) <= MAX_CSV_VALUE for v in values):  # NaN included
        raise FieldError("csv", f"line {number}: expected finite numbers from "
                                f"{-MAX_CSV_VALUE:g} to {MAX_CSV_VALUE:g}, got "
                                f"{_cells(row, delimiter)}")
    return values


def _cells(row, delimiter) -> str:
    """A row for a message, cut short."""
    return repr(shorten(delimiter.join(row)))


def _bad_hint(cell, number, delimiter) -> str:
    """Why a cell may not be a number: empty, another delimiter in it (a decimal comma), or
    a header that is not one."""
    if not cell:
        return ("; an empty cell: a missing value (every cell needs one), or a delimiter at "
                "the end of the line")
    if cell.lower() in MISSING:  # as pandas and R write one: NaN, NA, ...
        return "; a missing value: every cell needs a number (remove the row or fill it)"
    others = [c for c in SNIFFED if c != delimiter and c in cell]
    if others:
        name = "tab" if others[0] == "\t" else repr(others[0])
        return (f"; it holds {name}: the cells must be separated by one delimiter, the same "
                f"on every line ({delimiter!r} here), and numbers written with a decimal "
                "point (1.5, not 1,5)")
    return HEADER_HINT if number == 1 else ""


def _counts_rows(cells) -> bool:
    """Whether a column is 0, 1, 2, ... or 1, 2, 3, ...: a row index."""
    if not all(re.fullmatch(r"\d+", c) for c in cells):
        return False
    first = int(cells[0])
    return first in (0, 1) and [int(c) for c in cells] == list(range(first,
                                                                     first + len(cells)))


def _is_header(cells) -> bool:
    """Whether a first row is a header: every cell text (a letter in it), no cell a number,
    so a data row with a typo (``1,x,0``) is not one."""
    return all(re.search(r"[^\W\d_]", c) and not NUMBER.fullmatch(c) for c in cells)


def _shortest(value) -> str:
    """``value`` in the fewest digits that read back as it (6.0000001, not 6; 0, not 0.0)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def check_domain(points, lines) -> None:
    """Refuse points outside the map's square (x1 and x2 from LOW to HIGH): the page could
    not show them, and drawn points are limited to it too.

    Parameters
    ----------
    points : ndarray of shape (n, 2)
    lines : list of int
        The line number of each point in the file.
    """
    outside = np.flatnonzero(((points < datasets.LOW) | (points > datasets.HIGH)).any(axis=1))
    if not len(outside):
        return
    first = outside[0]
    x1, x2 = points[first]
    raise FieldError("csv", f"expected points in the map's square, x1 and x2 from "
                            f"{datasets.LOW:g} to {datasets.HIGH:g}; got {len(outside)} of "
                            f"{len(points)} outside it, the first on line {lines[first]}: "
                            f"({_shortest(x1)}, {_shortest(x2)}). Rescale the coordinates into "
                            "the square")
