"""The TensorFlow Neural Network Playground's datasets, as NumPy arrays.

Every generator has the signature ``(n, noise, seed) -> (x, y)``: ``x`` is a float64 array of
shape ``(n, 2)`` inside the Playground's square ``[-6, 6]^2``; ``y`` has shape ``(n,)``.
The definitions follow the Playground's ``dataset.ts`` (Smilkov & Carter, 2016), with its
``+1`` / ``-1`` labels written as ``1`` / ``0``; points are returned in a random order, as the
Playground shuffles them before use. The Playground's noise slider spans 0 to 0.5; values up
to 1 are accepted.

What ``noise`` does differs between datasets, as in the Playground:

``circle`` (binary; ``n - n // 2`` points generated inside, ``n // 2`` outside)
    Inside points have radius ``r ~ U(0, 2.5)``, outside points ``r ~ U(3.5, 5)``, with a
    uniform angle. The label is 1 when the point *displaced by noise* lies within radius 2.5:
    the displacement is ``U(-5, 5) * noise`` per coordinate. Noise never moves a point; it
    flips labels near the boundary.
``xor`` (binary)
    ``x1, x2 ~ U(-5, 5)``, each pushed 0.3 away from zero. The label is 1 when
    ``x1 * x2 >= 0`` for the point displaced by ``U(-5, 5) * noise`` per coordinate; again the
    point itself does not move.
``gaussian`` (binary, or ``classes=k`` blobs)
    Two isotropic Gaussians centred at ``(2, 2)`` (label 1) and ``(-2, -2)`` (label 0), with
    variance ``0.5 + 7 * noise`` per coordinate (0.5 at noise 0, 4 at noise 0.5). Noise
    widens the clouds so they overlap. Points are clipped to the square. With ``k`` classes
    the centres lie evenly on the circle of radius ``2 * sqrt(2)`` through those two.
``spiral`` (binary, or ``classes=k`` arms)
    Point ``i`` of an arm of ``m`` points has radius ``5 i / m`` and angle
    ``1.75 * 2 pi * i / m + delta``, with ``x1 = r sin(angle)``, ``x2 = r cos(angle)``; the
    arm with ``delta = 0`` is label 1, the one with ``delta = pi`` label 0. Noise moves the
    point itself by ``U(-1, 1) * noise`` per coordinate. Class ``c`` of ``k`` uses
    ``delta = pi + 2 pi c / k``, so ``classes=2`` is the binary dataset.
``plane`` (regression)
    ``x1, x2 ~ U(-6, 6)``; the target is ``(x1 + x2) / 10`` evaluated at the point displaced
    by ``U(-6, 6) * noise`` per coordinate: noise perturbs the target, never the input.
``multi_gaussian`` (regression)
    ``x1, x2 ~ U(-6, 6)``; six bumps centred at ``(-4, 2.5), (0, 2.5), (4, 2.5)`` with signs
    ``+, -, +`` and ``(-4, -2.5), (0, -2.5), (4, -2.5)`` with signs ``-, +, -``. Each gives
    ``sign * clip(1 - d / 2, 0, 1)`` at distance ``d``; the target is the one largest in
    absolute value, evaluated at the displaced point as for ``plane``.

Class sizes are exact for ``circle``, ``gaussian`` and ``spiral`` (before noise flips any
``circle`` label): ``n // k`` each, the remainder going one by one to the first classes
generated (the inside of ``circle``, class 0 of the others). The Playground instead makes
``ceil(n / 2)`` per class, one point too many for an odd ``n``. ``xor`` classes are as drawn.

Noise never changes which random numbers are drawn: with the same ``seed``, ``circle``,
``xor``, ``plane`` and ``multi_gaussian`` give the same points at every noise level (only the
labels or targets differ), ``spiral`` points move by at most ``noise`` per coordinate, and
``gaussian`` deviations from the centres scale by the standard deviation.
"""

from __future__ import annotations

import numpy as np

from ..errors import FeedforwardError, check_number

LOW, HIGH = -6.0, 6.0  # the Playground's input square
_BUMPS = np.array([[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1],
                   [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]], dtype=float)


def _check(n, noise, classes=None):
    n = int(check_number(n, "n", low=1, integer=True))
    noise = float(check_number(noise, "noise", low=0, high=1))
    if classes is None:
        return n, noise, None
    classes = int(check_number(classes, "classes", low=2, integer=True))
    if n < classes:
        raise FeedforwardError(f"n: expected at least one point per class ({classes}), got {n}")
    return n, noise, classes


def _class_sizes(n, k):
    """``n`` split into ``k`` counts differing by at most one, the larger ones first."""
    return [n // k + (c < n % k) for c in range(k)]


def _shuffled(rng, x, y):
    perm = rng.permutation(len(x))
    return np.ascontiguousarray(x[perm]), np.ascontiguousarray(y[perm])


def _polar(r, angle):
    # the Playground puts sin on the first coordinate and cos on the second
    return np.column_stack([r * np.sin(angle), r * np.cos(angle)])


def circle(n=500, noise=0.0, seed=None):
    """Points inside radius 2.5 (label 1) and in the ring 3.5 to 5 (label 0).

    Parameters
    ----------
    n : int
        Number of points; ``n - n // 2`` are generated inside, ``n // 2`` outside.
    noise : float in [0, 1]
        Labels are those of the point displaced by ``U(-5, 5) * noise`` per coordinate.
    seed : int, numpy.random.Generator or None

    Returns
    -------
    x : ndarray of shape (n, 2)
    y : ndarray of shape (n,), int64 labels in {0, 1}
    """
    n, noise, _ = _check(n, noise, 2)
    rng = np.random.default_rng(seed)
    n_in, n_out = _class_sizes(n, 2)
    r = np.concatenate([rng.uniform(0, 2.5, n_in), rng.uniform(3.5, 5, n_out)])
    x = _polar(r, rng.uniform(0, 2 * np.pi, n))
    moved = x + rng.uniform(-5, 5, (n, 2)) * noise
    y = (np.hypot(moved[:, 0], moved[:, 1]) < 2.5).astype(np.int64)
    return _shuffled(rng, x, y)


def xor(n=500, noise=0.0, seed=None):
    """Points in the four quadrants; label 1 where both coordinates have the same sign.

    Parameters
    ----------
    n : int
    noise : float in [0, 1]
        Labels are those of the point displaced by ``U(-5, 5) * noise`` per coordinate.
    seed : int, numpy.random.Generator or None

    Returns
    -------
    x : ndarray of shape (n, 2), with ``0.3 <= |x_ij| <= 5.3``
    y : ndarray of shape (n,), int64 labels in {0, 1}
    """
    n, noise, _ = _check(n, noise, 2)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-5, 5, (n, 2))
    x += np.where(x > 0, 0.3, -0.3)  # padding keeps points off the axes
    moved = x + rng.uniform(-5, 5, (n, 2)) * noise
    y = (moved[:, 0] * moved[:, 1] >= 0).astype(np.int64)
    return x, y  # already in random order


def gaussian(n=500, noise=0.0, seed=None, classes=2):
    """Gaussian clouds of equal size: ``(2, 2)`` is label 1, ``(-2, -2)`` label 0.

    Parameters
    ----------
    n : int
    noise : float in [0, 1]
        Sets the variance per coordinate: ``0.5 + 7 * noise``.
    seed : int, numpy.random.Generator or None
    classes : int
        Number of clouds; their centres lie evenly on the circle of radius ``2 sqrt 2``,
        class ``c`` at angle ``5 pi / 4 + 2 pi c / k``, so ``classes=2`` is the binary set.

    Returns
    -------
    x : ndarray of shape (n, 2), clipped to ``[-6, 6]``
    y : ndarray of shape (n,), int64 labels in ``0 .. classes - 1``
    """
    n, noise, classes = _check(n, noise, classes)
    rng = np.random.default_rng(seed)
    sizes = _class_sizes(n, classes)
    y = np.repeat(np.arange(classes), sizes)
    angle = 5 * np.pi / 4 + 2 * np.pi * np.arange(classes) / classes
    # rounding makes the two binary centres exactly (2, 2) and (-2, -2)
    centres = np.round(2 * np.sqrt(2) * np.column_stack([np.cos(angle), np.sin(angle)]), 12)
    x = centres[y] + rng.normal(0, np.sqrt(0.5 + 7 * noise), (n, 2))
    np.clip(x, LOW, HIGH, out=x)
    return _shuffled(rng, x, y)


def blobs(n=500, noise=0.0, seed=None, classes=3):
    """``gaussian`` with ``classes`` clouds (3 by default); see :func:`gaussian`.

    Parameters
    ----------
    n : int, default 500
        Number of samples.
    noise : float in [0, 1], default 0.0
        Sets the variance per coordinate: ``0.5 + 7 * noise``.
    seed : int, numpy.random.Generator or None
        Source of the samples; None draws fresh ones.
    classes : int, default 3
        Number of clouds, evenly spaced on a circle.

    Returns
    -------
    x : ndarray of shape (n, 2)
        Points, clipped to ``[-6, 6]``.
    y : ndarray of shape (n,)
        int64 labels in ``0 .. classes - 1``.
    """
    return gaussian(n, noise, seed, classes)


def spiral(n=500, noise=0.0, seed=None, classes=2):
    """Interleaved spiral arms, one per class.

    Parameters
    ----------
    n : int
    noise : float in [0, 1]
        Each point moves by ``U(-1, 1) * noise`` per coordinate.
    seed : int, numpy.random.Generator or None
    classes : int
        Number of arms; class ``c`` starts at angle ``pi + 2 pi c / k``.

    Returns
    -------
    x : ndarray of shape (n, 2)
    y : ndarray of shape (n,), int64 labels in ``0 .. classes - 1``
    """
    n, noise, classes = _check(n, noise, classes)
    rng = np.random.default_rng(seed)
    sizes = _class_sizes(n, classes)
    y = np.repeat(np.arange(classes), sizes)
    m = np.repeat(sizes, sizes)
    i = np.arange(n) - np.repeat(np.cumsum(sizes) - sizes, sizes)  # index along its arm
    t = 1.75 * 2 * np.pi * i / m + np.pi + 2 * np.pi * y / classes
    x = _polar(5 * i / m, t) + rng.uniform(-1, 1, (n, 2)) * noise
    return _shuffled(rng, x, y)


def _regression_inputs(n, noise, seed):
    n, noise, _ = _check(n, noise)
    rng = np.random.default_rng(seed)
    x = rng.uniform(LOW, HIGH, (n, 2))
    return x, x + rng.uniform(LOW, HIGH, (n, 2)) * noise


def plane(n=1200, noise=0.0, seed=None):
    """Regression on a tilted plane: target ``(x1 + x2) / 10`` (in ``[-1.2, 1.2]`` at noise 0).

    Parameters
    ----------
    n : int
    noise : float in [0, 1]
        The target is taken at the point displaced by ``U(-6, 6) * noise`` per coordinate.
    seed : int, numpy.random.Generator or None

    Returns
    -------
    x : ndarray of shape (n, 2), uniform on ``[-6, 6]^2``
    y : ndarray of shape (n,), float64
    """
    x, moved = _regression_inputs(n, noise, seed)
    return x, moved.sum(axis=1) / 10


def multi_gaussian(n=1200, noise=0.0, seed=None):
    """Regression on six signed bumps (see the module docstring); targets in ``[-1, 1]``.

    Parameters
    ----------
    n : int
    noise : float in [0, 1]
        The target is taken at the point displaced by ``U(-6, 6) * noise`` per coordinate.
    seed : int, numpy.random.Generator or None

    Returns
    -------
    x : ndarray of shape (n, 2), uniform on ``[-6, 6]^2``
    y : ndarray of shape (n,), float64
    """
    x, moved = _regression_inputs(n, noise, seed)
    d = np.hypot(moved[:, None, 0] - _BUMPS[:, 0], moved[:, None, 1] - _BUMPS[:, 1])
    values = _BUMPS[:, 2] * np.clip(1 - d / 2, 0, 1)  # (n, 6)
    # the bump largest in absolute value wins; argmax keeps the first of equals, as there
    return x, values[np.arange(len(x)), np.argmax(np.abs(values), axis=1)]


DATASETS = {"circle": circle, "xor": xor, "gaussian": gaussian, "spiral": spiral,
            "blobs": blobs, "plane": plane, "multi_gaussian": multi_gaussian}
"""Built-in datasets by name."""

TASKS = {"circle": "classification", "xor": "classification", "gaussian": "classification",
         "spiral": "classification", "blobs": "classification", "plane": "regression",
         "multi_gaussian": "regression"}
"""Whether each dataset is ``"classification"`` or ``"regression"``."""

# the Playground's own URL names (``dataset=gauss``, ``regDataset=reg-plane``)
_ALIASES = {"gauss": "gaussian", "reg_plane": "plane", "reg_gauss": "multi_gaussian",
            "regplane": "plane", "reggauss": "multi_gaussian", "multigaussian": "multi_gaussian"}


def names() -> list[str]:
    """The built-in dataset names.

    Returns
    -------
    list of str
        The names :func:`get` accepts, classification sets first.
    """
    return list(DATASETS)


def get(name: str):
    """The generator called ``name``; the Playground's ``gauss``, ``reg-plane``, ``reg-gauss`` too.

    Parameters
    ----------
    name : str
        A name of :func:`names` or a Playground alias; case-insensitive, ``-`` as ``_``.

    Returns
    -------
    callable
        The generator, called as ``f(n, noise, seed)`` and returning ``(x, y)``.

    Raises
    ------
    FeedforwardError
        For an unknown name; the message lists the known ones.
    """
    key = name.lower().replace("-", "_") if isinstance(name, str) else None
    key = _ALIASES.get(key, key)
    if key not in DATASETS:
        raise FeedforwardError(
            f"dataset: unknown playground dataset {name!r}; known datasets: {', '.join(DATASETS)}")
    return DATASETS[key]
