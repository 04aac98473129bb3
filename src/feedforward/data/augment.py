"""Image augmentation: mirror, flip, rotate, translate and Gaussian noise, vectorised over a batch.

Images are ``(n, h, w)``, ``(n, h, w, c)`` or flattened rows ``(n, h * w * c)`` (channels
last) with ``image_shape``. Every function returns a new array of the input's shape and dtype,
and never changes its input; integer images are rounded and clipped to their dtype's range.

Geometry: row 0 is the top of an image. A positive angle turns the content counterclockwise
as displayed, so ``rotate(x, 90)`` equals ``np.rot90`` on square images. Rotation is about the
image centre, ``((h - 1) / 2, (w - 1) / 2)``, keeps the image size, and samples the source
bilinearly ("inverse mapping": each output pixel looks up where it came from); pixels that
come from outside the image are 0. Translation by ``(dy, dx)`` moves the content ``dy`` rows
down and ``dx`` columns right, filling the uncovered border with 0.

:class:`Augmenter` draws a random transformation per image and is what ``fit`` applies to
each training batch (never at evaluation).
"""

from __future__ import annotations

import numpy as np

from .._registry import Configurable, Registry
from ..errors import FeedforwardError, as_array, check_number, describe
from ._images import as_images, check_image_shape


def _work_dtype(dtype):
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def _restore(images, dtype):
    """Cast the working float images back to ``dtype``, rounding and clipping integers."""
    if dtype.kind in "iub":
        info = np.iinfo(dtype) if dtype.kind != "b" else None
        images = np.rint(images)
        if info is not None:
            np.clip(images, info.min, info.max, out=images)
    return images.astype(dtype, copy=False)


def _per_image(value, n, name, width=None):
    """One value for all images, or one per image: shape ``(n,)``, or ``(n, width)`` with width."""
    a = as_array(value, name, dtype=np.float64)
    want = (n,) if width is None else (n, width)
    try:
        return np.broadcast_to(a, want)
    except ValueError:
        raise FeedforwardError(
            f"{name}: expected one value for all {n} images or one per image (shape {want}), "
            f"got shape {a.shape}") from None


def _warp(images, angle, shift):
    """Rotate by ``angle`` degrees then translate by ``shift`` rows/columns, per image.

    Parameters
    ----------
    images : ndarray of shape (n, h, w, c), floating
    angle : ndarray of shape (n,)
    shift : ndarray of shape (n, 2)

    Returns
    -------
    ndarray of shape (n, h, w, c), of ``images``' dtype
    """
    n, h, w, c = images.shape
    dt = images.dtype  # float32 coordinates for float32 images: errors near 1e-6 pixel
    theta = np.deg2rad(angle)[:, None, None]
    # rounding makes multiples of 90 degrees exact (cos 90 is 6e-17 in floating point)
    cos, sin = np.round(np.cos(theta), 12).astype(dt), np.round(np.sin(theta), 12).astype(dt)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    y = (np.arange(h)[:, None] - cy - shift[:, 0, None, None]).astype(dt)  # (n, h, 1)
    x = (np.arange(w)[None, :] - cx - shift[:, 1, None, None]).astype(dt)  # (n, 1, w)
    # source coordinates, clipped to one pixel beyond the image: any farther reads zeros anyway
    src_y = np.clip(cos * y + sin * x + cy, -1, h)  # (n, h, w)
    src_x = np.clip(-sin * y + cos * x + cx, -1, w)
    y0, x0 = np.floor(src_y), np.floor(src_x)
    fy, fx = (src_y - y0)[..., None], (src_x - x0)[..., None]
    # a zero border (1 before, 2 after) makes every corner of every clipped point a valid index
    padded = np.zeros((n, h + 3, w + 3, c), dtype=images.dtype)
    padded[:, 1:h + 1, 1:w + 1] = images
    flat = padded.reshape(-1, c)
    row = w + 3
    # index arithmetic in float64 (exact below 2**53) is several times faster than in int64
    base = np.arange(n, dtype=np.float64)[:, None, None] * ((h + 3) * row) + (row + 1)
    i00 = (base + y0 * row + x0).astype(np.intp)
    v00 = flat[i00]
    if not fy.any() and not fx.any():  # whole-pixel moves: no interpolation
        return v00
    # the other corners through shifted views of the buffer, not shifted index arrays
    top = v00 + fx * (flat[1:][i00] - v00)
    v10 = flat[row:][i00]
    bottom = v10 + fx * (flat[row + 1:][i00] - v10)
    return top + fy * (bottom - top)


def mirror(x, image_shape=None):
    """Mirror every image left to right (reverse the width axis).

    Parameters
    ----------
    x : array of shape (n, h, w), (n, h, w, c) or (n, h * w * c)
        Images, channels last.
    image_shape : tuple, optional
        ``(h, w)`` or ``(h, w, c)``; needed for flattened rows.

    Returns
    -------
    ndarray
        The transformed images, of ``x``'s shape and dtype.
    """
    images, shape = as_images(x, image_shape)
    return np.ascontiguousarray(images[:, :, ::-1]).reshape(shape)


def flip(x, image_shape=None):
    """Flip every image upside down (reverse the height axis).

    Parameters
    ----------
    x : array of shape (n, h, w), (n, h, w, c) or (n, h * w * c)
        Images, channels last.
    image_shape : tuple, optional
        ``(h, w)`` or ``(h, w, c)``; needed for flattened rows.

    Returns
    -------
    ndarray
        The transformed images, of ``x``'s shape and dtype.
    """
    images, shape = as_images(x, image_shape)
    return np.ascontiguousarray(images[:, ::-1]).reshape(shape)


def rotate(x, angle, image_shape=None):
    """Rotate images counterclockwise by ``angle`` degrees about their centre, zero fill.

    Parameters
    ----------
    x : array of shape (n, h, w), (n, h, w, c) or (n, h * w * c)
        Images, channels last.
    angle : float or array of shape (n,)
        Degrees; one angle for all images or one per image.
    image_shape : tuple, optional
        ``(h, w)`` or ``(h, w, c)`` for flattened rows.

    Returns
    -------
    ndarray
        The rotated images, of ``x``'s shape and dtype (integer types rounded and clipped).
    """
    images, shape = as_images(x, image_shape)
    n = images.shape[0]
    work = images.astype(_work_dtype(images.dtype), copy=False)
    out = _warp(work, _per_image(angle, n, "angle"), np.zeros((n, 2)))
    return _restore(out, images.dtype).reshape(shape)


def translate(x, shift, image_shape=None):
    """Move image content by ``shift = (dy, dx)`` pixels (down, right), zero fill.

    Parameters
    ----------
    x : array of shape (n, h, w), (n, h, w, c) or (n, h * w * c)
        Images, channels last.
    shift : pair or array of shape (n, 2)
        Rows down and columns right (negative: up, left); one pair for all images or one per
        image. Whole pixels move exactly; fractions interpolate bilinearly.
    image_shape : tuple, optional
        ``(h, w)`` or ``(h, w, c)`` for flattened rows.

    Returns
    -------
    ndarray
        The moved images, of ``x``'s shape and dtype (integer types rounded and clipped).
    """
    images, shape = as_images(x, image_shape)
    n = images.shape[0]
    work = images.astype(_work_dtype(images.dtype), copy=False)
    out = _warp(work, np.zeros(n), _per_image(shift, n, "shift", width=2))
    return _restore(out, images.dtype).reshape(shape)


def gaussian_noise(x, std, rng=None):
    """Add independent ``N(0, std^2)`` noise to every value.

    Parameters
    ----------
    x : array of any shape
        The values, e.g. a batch of images or feature rows.
    std : float >= 0
        The standard deviation of the noise, in the units of ``x``.
    rng : numpy.random.Generator, int or None
        The source of the noise, or a seed; None draws fresh noise.

    Returns
    -------
    ndarray
        ``x`` plus the noise, of ``x``'s shape and dtype (integer types rounded and clipped).
    """
    x = as_array(x, "x")
    std = float(check_number(std, "std", low=0))
    rng = np.random.default_rng(rng)
    dt = _work_dtype(x.dtype)
    noise = rng.standard_normal(x.shape, dtype=dt if dt == np.float32 else np.float64)
    return _restore(x + std * noise.astype(dt, copy=False), x.dtype)


def _range(value, name, integer=False):
    """A bound ``b`` as the range ``(-b, b)``, or a pair ``(lo, hi)``; JSON-safe."""
    cast = int if integer else float
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise FeedforwardError(f"{name}: expected a number or a pair (lo, hi), got {value!r}")
        lo, hi = (cast(check_number(v, name, integer=integer)) for v in value)
        if lo > hi:
            raise FeedforwardError(f"{name}: expected lo <= hi, got ({lo}, {hi})")
        return [lo, hi]
    return cast(check_number(value, name, low=0, integer=integer))


class Augmenter(Configurable):
    """Random augmentation of image batches, drawn independently for each image.

    ``aug(x_batch, rng)`` returns a new batch of the same shape and dtype; the labels are
    not involved, so they stay paired with their images. Order: mirror, flip, rotation and
    translation (one bilinear resampling), then noise.

    Parameters
    ----------
    image_shape : tuple (h, w) or (h, w, c), optional
        Needed for flattened rows (what a model sees: ``(n, h * w * c)``).
    hflip : bool
        Mirror each image left to right with probability 1/2.
    vflip : bool
        Flip each image upside down with probability 1/2.
    rotation : float or (lo, hi)
        Rotate by an angle drawn uniformly from ``(-rotation, rotation)`` degrees, or
        ``(lo, hi)``.
    translation : int or (lo, hi)
        Shift rows and columns each by an integer drawn uniformly from
        ``-translation .. translation`` (or ``lo .. hi``) pixels.
    noise : float
        Standard deviation of Gaussian noise added to every value (in the data's units).
    """

    name = "augmenter"
    aliases = ("image_augmenter",)
    _config_keys = ("image_shape", "hflip", "vflip", "rotation", "translation", "noise")

    def __init__(self, image_shape=None, hflip=False, vflip=False, rotation=0.0, translation=0,
                 noise=0.0):
        shape = check_image_shape(image_shape)
        self.image_shape = list(shape) if shape is not None else None
        for flag, value in (("hflip", hflip), ("vflip", vflip)):
            if not isinstance(value, (bool, np.bool_)):
                raise FeedforwardError(f"{flag}: expected True or False, got {describe(value)}")
        self.hflip, self.vflip = bool(hflip), bool(vflip)
        self.rotation = _range(rotation, "rotation")
        self.translation = _range(translation, "translation", integer=True)
        self.noise = float(check_number(noise, "noise", low=0))

    @staticmethod
    def _bounds(value):
        return tuple(value) if isinstance(value, list) else (-value, value)

    @property
    def active(self) -> bool:
        """Whether calling it changes anything."""
        return (self.hflip or self.vflip or self._bounds(self.rotation) != (0, 0)
                or self._bounds(self.translation) != (0, 0) or self.noise > 0)

    def __call__(self, x, rng=None):
        """A randomly augmented copy of the batch ``x``.

        Parameters
        ----------
        x : array of shape (n, h, w), (n, h, w, c) or (n, h * w * c)
        rng : numpy.random.Generator, int or None
            The source of every random draw; the same generator state gives the same batch.

        Returns
        -------
        ndarray of the shape and dtype of ``x``
        """
        images, shape = as_images(x, self.image_shape)
        rng = np.random.default_rng(rng)
        n = images.shape[0]
        out = images.astype(_work_dtype(images.dtype), copy=True)
        for enabled, axis in ((self.hflip, 2), (self.vflip, 1)):
            if enabled:
                chosen = rng.random(n) < 0.5
                out[chosen] = np.flip(out[chosen], axis=axis)
        rot, trans = self._bounds(self.rotation), self._bounds(self.translation)
        if rot != (0, 0) or trans != (0, 0):
            angle = rng.uniform(*rot, n) if rot != (0, 0) else np.zeros(n)
            shift = (rng.integers(trans[0], trans[1] + 1, (n, 2)) if trans != (0, 0)
                     else np.zeros((n, 2)))
            out = _warp(out, angle, shift)
        if self.noise > 0:
            out += self.noise * rng.standard_normal(out.shape, dtype=out.dtype)
        return _restore(out, images.dtype).reshape(shape)


registry = Registry("augmenter", [Augmenter], base=Augmenter)
get, serialize, deserialize = registry.get, registry.serialize, registry.deserialize
