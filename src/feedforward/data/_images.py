"""Image batches in one layout: ``(n, h, w, c)``, from ``(n, h, w)``, ``(n, h, w, c)`` or flat rows.

Flattened rows ``(n, h * w * c)`` are in channels-last order (what ``x.reshape(n, -1)`` gives
for an ``(n, h, w, c)`` array), and need ``image_shape`` = ``(h, w)`` or ``(h, w, c)``.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import FeedforwardError, as_array, describe


def check_image_shape(image_shape, name="image_shape"):
    """``image_shape`` as a tuple ``(h, w)`` or ``(h, w, c)`` of positive ints, or None."""
    if image_shape is None:
        return None
    try:
        shape = tuple(image_shape)
    except TypeError:
        shape = ()
    if len(shape) not in (2, 3) or not all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0 for d in shape):
        raise FeedforwardError(
            f"{name}: expected (height, width) or (height, width, channels) of positive "
            f"integers, got {describe(image_shape)}")
    return tuple(int(d) for d in shape)


def as_images(x, image_shape=None, name="x"):
    """View a batch as ``(n, h, w, c)``; returns the view and the input's shape to restore.

    Parameters
    ----------
    x : array of shape (n, h, w), (n, h, w, c) or (n, h * w * c)
    image_shape : tuple (h, w) or (h, w, c), optional
        Required for flattened rows; checked against ``x`` otherwise.

    Returns
    -------
    images : ndarray of shape (n, h, w, c)
        A view of ``x`` where possible (no copy).
    shape : tuple
        ``x.shape``, for ``images.reshape(shape)``.
    """
    x = as_array(x, name, ndim=(2, 3, 4))
    image_shape = check_image_shape(image_shape)
    n = x.shape[0]
    if x.ndim == 2:
        if image_shape is None:
            raise FeedforwardError(
                f"{name}: flattened images of shape {x.shape} need image_shape=(height, width) "
                "or (height, width, channels)")
        if math.prod(image_shape) != x.shape[1]:
            raise FeedforwardError(
                f"{name}: image_shape {image_shape} holds {math.prod(image_shape)} values, but "
                f"each row has {x.shape[1]}")
        full = image_shape if len(image_shape) == 3 else (*image_shape, 1)
        return x.reshape(n, *full), x.shape
    full = x.shape[1:] if x.ndim == 4 else (*x.shape[1:], 1)
    if image_shape is not None and full[:len(image_shape)] != image_shape:
        raise FeedforwardError(
            f"{name}: images of shape {x.shape[1:]} do not match image_shape {image_shape}")
    return x.reshape(n, *full), x.shape
