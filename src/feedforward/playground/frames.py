"""Pieces of a ``frame``: packed arrays, the evaluation grids, and the doctor's live findings.

The doctor's statistics are those of :mod:`feedforward.diagnostics.monitor` (the same dead and
saturation tests, the same gradient norms), measured on the thumbnail grid and the training
points at every frame. A network keeps its last records (the first one measured before the
first step, with the gradients of the training points, as ``Monitor(initial=True)`` does), and
:mod:`.measure` gives them to the doctor's one entry point,
:func:`feedforward.diagnostics.examine`.
"""

from __future__ import annotations

import base64
import copy
import functools
import weakref

import numpy as np

from ..data.playground import HIGH, LOW
from ..diagnostics import monitor
from . import features

THUMBNAIL = 20  # thumbnails are THUMBNAIL x THUMBNAIL
SATURATED_SHARE = 0.95  # "saturated unit": saturated on at least this share of the points
DECIMALS = 5  # weights and biases are sent rounded to this many decimals
RECORDS = 10  # records kept per network: the rules read the last 10 (Evidence.recent)
_RECORDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # driver -> its records


def pack(array) -> dict:
    """A packed array: shape, dtype and the base64 of the little-endian float32 bytes."""
    a = np.ascontiguousarray(array, dtype="<f4")
    return {"shape": list(a.shape), "dtype": "float32",
            "b64": base64.b64encode(a.tobytes()).decode("ascii")}


def pack_bytes(rows) -> dict:
    """A packed array of 8-bit codes: each row of ``rows`` (shape ``(k, m)``) scaled from its
    own ``[lo, hi]`` to 0..255, a quarter of the bytes of float32 (thumbnails only need a
    colour)."""
    codes, lo, hi = _codes(rows)
    return {"shape": list(codes.shape), "dtype": "uint8", "lo": lo.tolist(), "hi": hi.tolist(),
            "b64": base64.b64encode(codes.tobytes()).decode("ascii")}


def _codes(rows) -> tuple:
    """The 8-bit codes (k, m) of :func:`pack_bytes`, and each row's lo and hi (k,)."""
    with np.errstate(invalid="ignore", over="ignore"):
        rows = np.nan_to_num(np.asarray(rows, dtype=np.float64))
        lo, hi = rows.min(axis=1), rows.max(axis=1)
        scale = np.divide(255.0, hi - lo, out=np.zeros_like(lo), where=hi > lo)
        codes = np.rint((rows - lo[:, None]) * scale[:, None]).astype(np.uint8)
    return codes, lo, hi


def unpack(packed) -> np.ndarray:
    """The array of a packed array (for tests and clients written in Python); 8-bit codes
    come back as float64 in each row's ``[lo, hi]``."""
    data = base64.b64decode(packed["b64"])
    if packed["dtype"] == "uint8":
        codes = np.frombuffer(data, dtype=np.uint8).reshape(len(packed["lo"]), -1)
        lo, hi = np.array(packed["lo"]), np.array(packed["hi"])
        return (lo[:, None] + codes * ((hi - lo) / 255)[:, None]).reshape(packed["shape"])
    return np.frombuffer(data, dtype="<f4").reshape(packed["shape"])


@functools.lru_cache(maxsize=32)
def grid_points(size: int) -> np.ndarray:
    """Cell centres of a ``size x size`` grid over the square, row-major, row 0 at x2 = +6.

    Returns
    -------
    ndarray of shape (size * size, 2), read-only
    """
    step = (HIGH - LOW) / size
    x1 = LOW + (np.arange(size) + 0.5) * step
    x2 = HIGH - (np.arange(size) + 0.5) * step
    points = np.column_stack([np.tile(x1, size), np.repeat(x2, size)])
    points.flags.writeable = False
    return points


@functools.lru_cache(maxsize=64)
def grid_features(size: int, names: tuple) -> np.ndarray:
    """:func:`grid_points` as the network's input columns (cached; read-only)."""
    x = features.compute(grid_points(size), names)
    x.flags.writeable = False
    return x


def rounded(array) -> list:
    """Nested lists of ``array`` rounded to :data:`DECIMALS` decimals (short JSON)."""
    return np.round(np.asarray(array, dtype=np.float64), DECIMALS).tolist()


def thumbnails(values) -> dict:
    """Packed 8-bit ``(units, 20, 20)`` thumbnails of ``values`` (400, units) on the thumbnail
    grid, each unit scaled to its own range."""
    packed = pack_bytes(values.T)
    packed["shape"] = [values.shape[1], THUMBNAIL, THUMBNAIL]
    return packed


def thumbnail_sets(arrays) -> list:
    """:func:`thumbnails` of each array of ``arrays`` (each (400, units)), packed in one pass
    (the same codes: each unit is scaled to its own range either way)."""
    if not arrays:
        return []
    codes, lo, hi = _codes(np.concatenate([a.T for a in arrays]))
    lo, hi = lo.tolist(), hi.tolist()
    sets, start = [], 0
    for a in arrays:
        stop = start + a.shape[1]
        sets.append({"shape": [a.shape[1], THUMBNAIL, THUMBNAIL], "dtype": "uint8",
                     "lo": lo[start:stop], "hi": hi[start:stop],
                     "b64": base64.b64encode(codes[start:stop].tobytes()).decode("ascii")})
        start = stop
    return sets


@functools.lru_cache(maxsize=64)
def _feature_set(names: tuple) -> dict:
    return thumbnails(grid_features(THUMBNAIL, names))


def feature_set(names: tuple) -> dict:
    """:func:`thumbnails` of the input columns ``names`` on the thumbnail grid (they never
    change: packed once)."""
    return dict(_feature_set(names))


# ---------------------------------------------------------------------------- the doctor
def layer_record(index, layer, outputs, params, grads, previous, hidden) -> dict:
    """The monitor's statistics of one dense layer, as a record entry.

    Parameters
    ----------
    index : int
        The dense layer's number (0 = the first hidden layer).
    layer : Dense
    outputs : ndarray of shape (n, units)
        The layer's outputs on the probe points.
    params, grads : ndarray of shape (size,)
        The layer's parameters and the gradients the record reads, flat.
    previous : ndarray of shape (size,) or None
        The parameters one optimizer step back (None: no step yet).
    hidden : bool
        Whether the layer is hidden (the output layer has no dead or saturated fraction).
    """
    act = layer.activation.name
    with np.errstate(all="ignore"):  # a diverging network's numbers overflow
        entry = {"index": index, "layer": type(layer).__name__, "units": layer.units,
                 "activation": act, **monitor.activation_stats(outputs, act, hidden),
                 **monitor.parameter_stats(layer, params, grads, previous)}
    ratio = entry["update_ratio"]
    if ratio is not None and not np.isfinite(ratio):
        entry["update_ratio"] = None
    return entry


def unit_flags(index, activation, outputs) -> tuple[list, list]:
    """``[layer, unit]`` pairs of the dead ReLU and the saturated sigmoid / tanh units."""
    dead, saturated = [], []
    if activation in monitor.DEAD:
        dead = [[index, int(u)] for u in np.flatnonzero(~(outputs > 0).any(axis=0))]
    if activation in monitor.SATURATION:
        share = monitor.SATURATION[activation](outputs).mean(axis=0)
        saturated = [[index, int(u)] for u in np.flatnonzero(share >= SATURATED_SHARE)]
    return dead, saturated


def step(model) -> np.ndarray:
    """The step the optimizer takes now for the gradients in ``model.grads`` (flat).

    A copy of the optimizer, with its moments and step count, updates a copy of the
    parameters: for the last batch's gradients this is the size of the last step (exactly,
    for SGD without momentum). The model and its optimizer are left as they are.
    """
    optimizer = copy.deepcopy(model.optimizer)
    params, grads = model.params.copy(), model.grads.copy()
    with np.errstate(all="ignore"):
        optimizer.apply([params], [grads], segments=[[a.size for a in model.param_arrays()]])
    return params - model.params


def keep(driver, record) -> list:
    """The records of the network that ``driver`` trains, ``record`` the newest.

    A record of the same step as the last one replaces it (weights edited, a setting changed
    between two steps); the record at initialization (``epoch`` -1), which rules compare
    with, and the last :data:`RECORDS` are kept, as the ``Doctor`` callback's rules read them.
    """
    records = _RECORDS.setdefault(driver, [])
    if records and records[-1]["step"] == record["step"]:
        records[-1] = record
    else:
        records.append(record)
    first = records[:1] if records[0]["epoch"] < 0 else []
    records[:] = first + records[len(first):][-RECORDS:]
    return records
