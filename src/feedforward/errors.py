"""The library's one exception type, and the checks that raise it at the boundary."""

from __future__ import annotations

import numbers

import numpy as np


class FeedforwardError(ValueError):
    """Every error the library raises on bad input, bad files or failed training.

    A ``ValueError`` subclass, so ``except ValueError`` also catches it.
    """


class NotBuiltError(FeedforwardError, AttributeError):
    """What a model or layer has only once built (its weights, ``output_shape``) was asked of
    one not built yet. Also an ``AttributeError``, so ``hasattr(model, "output_shape")`` is
    False before the build, as in Keras.
    """


def show(value) -> str:
    """A number as plain text for messages: a NumPy scalar as the Python number it holds
    (``0``, not ``np.int64(0)``), an integer too long to print as its number of digits.

    Parameters
    ----------
    value : object
        Any value; other than numbers, its ``repr``.

    Returns
    -------
    str
        ``"0"``, ``"0.5"``, ``"'relu'"``, ``"an integer of about 401 digits"``.
    """
    if isinstance(value, np.inexact):
        return str(value)  # NumPy's shortest form for the type: 0.1 for float32(0.1)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, int) and value.bit_length() > 64:  # str() fails past 4,300 digits
        digits = int(value.bit_length() * 0.30103) + 1
        return f"{'a negative' if value < 0 else 'an'} integer of about {digits} digits"
    return repr(value)


def describe(x) -> str:
    """A short description of a value for error messages: type, and shape/dtype for arrays.

    Parameters
    ----------
    x : object
        Any value.

    Returns
    -------
    str
        ``"an array of shape (2, 3) and dtype float32"`` for an array, else the type's name and
        the value (NumPy scalars as plain numbers, see :func:`show`), cut to 60 characters.
    """
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape} and dtype {x.dtype}"
    if isinstance(x, (list, tuple)):  # only the start is shown: never repr a huge list whole
        inner = ", ".join(show(v) for v in x[:20]) + (", ..." if len(x) > 20 else "")
        text = f"[{inner}]" if isinstance(x, list) else f"({inner}{',' * (len(x) == 1)})"
    else:
        text = show(x)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(x).__name__} {text}"


def _all_finite(a: np.ndarray, chunk: int = 1 << 18) -> bool:
    """``np.isfinite(a).all()`` in slices: no temporary as large as the data."""
    flat = a.reshape(-1)
    if flat.size <= chunk:
        return bool(np.isfinite(flat).all())
    return all(np.isfinite(flat[i:i + chunk]).all() for i in range(0, flat.size, chunk))


def as_array(x, name: str, dtype=None, ndim: tuple[int, ...] | None = None,
             finite: bool = True, allow_empty: bool = False) -> np.ndarray:
    """Convert ``x`` to a NumPy array and check it, naming ``name`` in any error.

    Accepts anything ``np.asarray`` accepts (lists, pandas objects). Raises
    :class:`FeedforwardError` for non-numeric data, a wrong number of dimensions,
    empty data, or NaN/inf values.

    Parameters
    ----------
    x : array_like
        The data; None is refused.
    name : str
        The argument the data came in, first in any error message.
    dtype : dtype, optional
        Convert to this type (C-contiguous); by default the type is kept.
    ndim : tuple of int, optional
        The numbers of dimensions allowed; by default any.
    finite : bool, default True
        Refuse NaN and inf.
    allow_empty : bool, default False
        Accept an array with no elements.

    Returns
    -------
    ndarray
        ``x`` as an array of a numeric (bool, integer or float) type.
    """
    if x is None:
        raise FeedforwardError(f"{name}: expected an array, got None")
    if hasattr(x, "to_numpy"):  # pandas DataFrame / Series
        x = _pandas_to_numpy(x)
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as e:
        raise FeedforwardError(f"{name}: could not be read as an array ({e})") from None
    if arr.dtype == object:  # from a pandas object column: numbers are numbers still
        arr = _numbers_of(arr, name)
    if arr.dtype.kind not in "biuf":
        raise FeedforwardError(
            f"{name}: expected numeric data, got dtype {arr.dtype}"
            + (" (strings or mixed types)" if arr.dtype.kind in "OUS" else ""))
    if ndim is not None and arr.ndim not in ndim:
        want = " or ".join(str(d) for d in ndim)
        raise FeedforwardError(f"{name}: expected {want} dimensions, got shape {arr.shape}")
    if not allow_empty and arr.size == 0:
        what = "feature" if arr.ndim > 1 and arr.shape[0] else "sample"
        raise FeedforwardError(f"{name}: expected at least one {what}, got shape {arr.shape}")
    if dtype is not None:
        arr = np.ascontiguousarray(arr, dtype=dtype)
    if finite:
        check_finite(arr, name)
    return arr


def _numbers_of(arr: np.ndarray, name: str) -> np.ndarray:
    """An object array of Python or NumPy numbers as a numeric array; else the first cell
    that is not a number, named."""
    for i, v in enumerate(arr.flat):
        if isinstance(v, (str, bytes)) or not isinstance(v, numbers.Real):
            index = tuple(int(j) for j in np.unravel_index(i, arr.shape))
            raise FeedforwardError(f"{name}: expected numeric data, got {show(v)} at index "
                                   f"{index} (dtype object: strings or mixed types)")
    return np.asarray(arr.tolist()) if arr.size else arr.astype(np.float64)


def check_finite(a: np.ndarray, name: str, after: str = "", hint: str = "") -> None:
    """Refuse NaN or inf in a float array, naming ``name`` and the first bad index.

    Parameters
    ----------
    a : ndarray
        Any shape; arrays of other kinds than float pass unchecked.
    name : str
        The argument the values came in, first in the message.
    after : str
        What produced the values, e.g. ``" after conversion to float32"``.
    hint : str
        What to do about it, appended to the message.

    Raises
    ------
    FeedforwardError
        When ``a`` holds NaN or inf.
    """
    if a.dtype.kind != "f" or _all_finite(a):
        return
    bad = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
    raise FeedforwardError(f"{name}: expected finite values{after}, got {a[bad]} at index {bad}"
                           + (f"; {hint}" if hint else ""))


def cast(a, dtype, name: str) -> np.ndarray:
    """``a`` as a contiguous array of ``dtype``, refusing values that overflow it.

    Parameters
    ----------
    a : array_like
        Finite values (checked before), any shape.
    dtype : dtype
        The type to convert to.
    name : str
        The argument the values came in, first in any error message.

    Returns
    -------
    ndarray
        ``a`` converted, C-contiguous, of the same shape.

    Raises
    ------
    FeedforwardError
        When a value finite in the wider float type overflows the narrower one (1e300 in
        float64 is inf in float32).
    """
    a = np.asarray(a)
    with np.errstate(over="ignore"):  # the overflow is reported below, by name
        out = np.ascontiguousarray(a, dtype=dtype)
    if a.dtype.kind == "f" and out.dtype.kind == "f" and a.dtype.itemsize > out.dtype.itemsize:
        limit = np.finfo(out.dtype).max
        check_finite(out, name, f" after conversion to {out.dtype}",
                     f"{out.dtype} holds magnitudes up to {limit:.2g}: scale the data, or "
                     "use a float64 model (dtype='float64'; train --dtype float64)")
    return out


def _pandas_to_numpy(x) -> np.ndarray:
    """A pandas object's values; nullable numeric columns (Int64, Float64) give floats with
    NaN for their missing values (refused as such), not an object array."""
    a = np.asarray(x.to_numpy())
    if a.dtype != object:
        return a
    dtypes = (getattr(x, "dtypes", [None]) if getattr(x, "ndim", 1) == 2
              else [getattr(x, "dtype", None)])
    # the nullable dtypes have kinds like NumPy's; text ("3" too) stays text, and is refused
    if all(getattr(d, "kind", "O") in "biuf" for d in dtypes):
        return x.to_numpy(dtype=np.float64, na_value=np.nan)
    return a


def as_samples(a, name: str) -> np.ndarray:
    """Any array-like (pandas objects too) as an array with at least one sample on axis 0.

    Parameters
    ----------
    a : array_like
        Samples along axis 0, of any type (labels may be strings).
    name : str
        The argument the data came in, first in any error message.

    Returns
    -------
    ndarray of shape (n, ...)
        ``a`` as an array, ``n >= 1``.
    """
    if hasattr(a, "to_numpy"):  # pandas DataFrame / Series
        a = a.to_numpy()
    a = np.asarray(a)
    if a.ndim == 0 or a.shape[0] == 0:
        raise FeedforwardError(f"{name}: expected at least one sample, got {describe(a)}")
    return a


def check_number(value, name: str, low=None, high=None, low_open=False, high_open=False,
                 integer=False):
    """Check a scalar hyperparameter lies in a range; return it unchanged.

    ``low_open`` / ``high_open`` make the bounds strict.

    Parameters
    ----------
    value : int or float
        The value to check; bools, NaN and inf are refused.
    name : str
        The argument's name, first in any error message.
    low, high : int or float, optional
        The bounds, inclusive unless ``low_open`` / ``high_open``; None means unbounded.
    low_open, high_open : bool, default False
        Make the corresponding bound strict.
    integer : bool, default False
        Require an integer (Python or NumPy).

    Returns
    -------
    int or float
        ``value``, unchanged.
    """
    kind = "an integer" if integer else "a number"
    ok_type = (isinstance(value, (int, np.integer)) if integer
               else isinstance(value, (int, float, np.integer, np.floating)))
    if isinstance(value, bool) or not ok_type:
        raise FeedforwardError(f"{name}: expected {kind}, got {describe(value)}")
    try:
        finite = bool(np.isfinite(float(value)))
    except OverflowError:  # an int beyond the float range: exact as an int, infinite as a float
        finite = integer
    if not finite:
        raise FeedforwardError(f"{name}: expected a finite number, got {show(value)}")
    if low is not None and (value < low or (low_open and value == low)):
        op = ">" if low_open else ">="
        raise FeedforwardError(f"{name}: expected a value {op} {show(low)}, got {show(value)}")
    if high is not None and (value > high or (high_open and value == high)):
        op = "<" if high_open else "<="
        raise FeedforwardError(f"{name}: expected a value {op} {show(high)}, got {show(value)}")
    return value
