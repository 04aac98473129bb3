"""What the page draws that never changes, computed here so that the page holds no copy of a
rule: each input feature's thumbnail (from :mod:`.features`) and a preview of each built-in
dataset (from :mod:`feedforward.data.playground`). Both travel in the ``options`` object.
"""

from __future__ import annotations

import copy
import functools

import numpy as np

from ..data import playground as datasets
from . import features, frames

PREVIEW_POINTS = 150  # points of a dataset's preview tile
PREVIEW_SEED = 0
PREVIEW_DECIMALS = 2  # the tiles are 48 px wide: two decimals of [-6, 6] are plenty


@functools.lru_cache(maxsize=1)
def _feature_thumbnails() -> dict:
    x = features.compute(frames.grid_points(frames.THUMBNAIL), features.NAMES, dtype=np.float64)
    scale = np.abs(x).max(axis=0)
    return frames.thumbnails(x / np.where(scale > 0, scale, 1))


def feature_thumbnails() -> dict:
    """Every feature of :data:`.features.NAMES` over the thumbnail grid, scaled to [-1, 1].

    Returns
    -------
    dict
        A packed 8-bit array of shape ``(len(NAMES), 20, 20)``, in the order of ``NAMES``
        (see :func:`.frames.pack_bytes`).
    """
    return copy.deepcopy(_feature_thumbnails())


@functools.lru_cache(maxsize=1)
def _previews() -> dict:
    out = {}
    for name in datasets.DATASETS:
        points, y = datasets.get(name)(PREVIEW_POINTS, 0.0, PREVIEW_SEED)
        out[name] = np.round(np.column_stack([points, y]), PREVIEW_DECIMALS).tolist()
    return out


def dataset_previews(names) -> dict:
    """A few points of each built-in dataset in ``names``, for its tile.

    Parameters
    ----------
    names : iterable of str
        Built-in dataset names.

    Returns
    -------
    dict
        ``{name: rows [x1, x2, y]}``: :data:`PREVIEW_POINTS` points at noise 0 (two classes
        for the multi-class datasets), rounded to :data:`PREVIEW_DECIMALS` decimals.
    """
    previews = _previews()
    return {name: copy.deepcopy(previews[name]) for name in names}
