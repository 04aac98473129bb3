"""Weight initializers: ``init(shape, rng, dtype) -> array``.

For a Dense kernel of shape ``(fan_in, fan_out)`` the variance-scaling family draws weights
with variance ``scale / n``, where ``n`` is ``fan_in``, ``fan_out`` or their mean:

===================  =====  ========  ==========================
name                 scale  mode      distribution
===================  =====  ========  ==========================
glorot_uniform       1      fan_avg   uniform   (Glorot & Bengio, 2010)
glorot_normal        1      fan_avg   truncated normal
he_uniform           2      fan_in    uniform   (He et al., 2015)
he_normal            2      fan_in    truncated normal
lecun_uniform        1      fan_in    uniform   (LeCun et al., 1998)
lecun_normal         1      fan_in    truncated normal
===================  =====  ========  ==========================

As in Keras, the truncated normal is cut at two standard deviations and its standard
deviation is raised so that the variance is exactly ``scale / n``.
"""

from __future__ import annotations

import math

import numpy as np

from ._registry import Configurable, Registry
from .errors import FeedforwardError, check_number

# std of a standard normal truncated to [-2, 2]
_TRUNC_STD = 0.87962566103423978


def compute_fans(shape) -> tuple[int, int]:
    """Fan-in and fan-out of a weight shape: ``(in, out)`` for 2-D, ``(n, n)`` for 1-D.

    Parameters
    ----------
    shape : tuple of int
        The weight shape. With more than two dimensions the leading ones form the receptive
        field, which multiplies both fans; a scalar shape ``()`` has fans ``(1, 1)``.

    Returns
    -------
    tuple of int
        ``(fan_in, fan_out)``.
    """
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _truncated_normal(rng, shape, std):
    """Normal(0, std) samples redrawn until all lie within two standard deviations."""
    x = rng.standard_normal(shape)
    bad = np.abs(x) > 2
    while bad.any():
        x[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(x) > 2
    return x * std


class Initializer(Configurable):
    """Base class. Subclasses set ``name`` and define :meth:`sample`."""

    name = "initializer"
    aliases: tuple[str, ...] = ()

    def __call__(self, shape, rng: np.random.Generator, dtype="float32") -> np.ndarray:
        """Draw an initial weight array.

        Parameters
        ----------
        shape : tuple of int
            The shape of the weight array, e.g. (fan_in, fan_out) for a Dense kernel.
        rng : numpy.random.Generator
            The random stream to draw from.
        dtype : str or numpy.dtype
            The dtype of the result (default ``"float32"``).

        Returns
        -------
        ndarray
            The weights, of shape ``shape`` and dtype ``dtype``.
        """
        return np.asarray(self.sample(tuple(shape), rng), dtype=dtype)

    def sample(self, shape, rng):
        """Draw the weights; :meth:`__call__` casts them to its ``dtype``.

        Parameters
        ----------
        shape : tuple of int
            The shape of the weight array, e.g. (fan_in, fan_out) for a Dense kernel.
        rng : numpy.random.Generator
            The random stream to draw from.

        Returns
        -------
        ndarray
            The weights, of shape ``shape``.
        """
        raise NotImplementedError


class Zeros(Initializer):
    """w = 0."""

    name = "zeros"
    aliases = ("zero",)

    def sample(self, shape, rng):
        return np.zeros(shape)


class Ones(Initializer):
    """w = 1."""

    name = "ones"
    aliases = ("one",)

    def sample(self, shape, rng):
        return np.ones(shape)


class Constant(Initializer):
    """w = ``value``.

    Parameters
    ----------
    value : float
        The value of every weight (default 0).
    """

    name = "constant"
    _config_keys = ("value",)

    def __init__(self, value: float = 0.0):
        self.value = float(check_number(value, "value"))

    def sample(self, shape, rng):
        return np.full(shape, self.value)


class RandomNormal(Initializer):
    """w ~ Normal(mean, stddev^2). Small random initialization when ``stddev`` is small.

    Parameters
    ----------
    mean : float
        The mean (default 0).
    stddev : float
        The standard deviation (default 0.05); at least 0.
    """

    name = "random_normal"
    aliases = ("normal",)
    _config_keys = ("mean", "stddev")

    def __init__(self, mean: float = 0.0, stddev: float = 0.05):
        self.mean = float(check_number(mean, "mean"))
        self.stddev = float(check_number(stddev, "stddev", low=0))

    def sample(self, shape, rng):
        return rng.normal(self.mean, self.stddev, shape)


class RandomUniform(Initializer):
    """w ~ Uniform(minval, maxval).

    Parameters
    ----------
    minval : float
        The lower bound (default -0.05).
    maxval : float
        The upper bound (default 0.05); at least ``minval``.
    """

    name = "random_uniform"
    aliases = ("uniform",)
    _config_keys = ("minval", "maxval")

    def __init__(self, minval: float = -0.05, maxval: float = 0.05):
        self.minval = float(check_number(minval, "minval"))
        self.maxval = float(check_number(maxval, "maxval"))
        if self.maxval < self.minval:
            raise FeedforwardError(f"maxval: expected a value >= minval={minval}, got {maxval}")

    def sample(self, shape, rng):
        return rng.uniform(self.minval, self.maxval, shape)


class TruncatedNormal(Initializer):
    """w ~ Normal(mean, stddev^2) truncated to mean +/- 2 stddev (``stddev`` before truncation).

    Parameters
    ----------
    mean : float
        The mean (default 0).
    stddev : float
        The standard deviation of the normal before truncation (default 0.05); at least 0.
    """

    name = "truncated_normal"
    _config_keys = ("mean", "stddev")

    def __init__(self, mean: float = 0.0, stddev: float = 0.05):
        self.mean = float(check_number(mean, "mean"))
        self.stddev = float(check_number(stddev, "stddev", low=0))

    def sample(self, shape, rng):
        return self.mean + _truncated_normal(rng, shape, self.stddev)


class VarianceScaling(Initializer):
    """Weights with variance ``scale / n``, ``n`` chosen by ``mode`` from the fans.

    ``distribution`` is ``"truncated_normal"``, ``"untruncated_normal"`` or ``"uniform"``
    (on ``[-limit, limit]`` with ``limit = sqrt(3 scale / n)``).

    Parameters
    ----------
    scale : float
        The numerator of the variance (default 1.0); positive.
    mode : {"fan_in", "fan_out", "fan_avg"}
        Which fan is ``n`` (default ``"fan_in"``); ``"fan_avg"`` is their mean.
    distribution : {"truncated_normal", "untruncated_normal", "uniform"}
        The distribution drawn from (default ``"truncated_normal"``; ``"normal"`` is an alias
        of it).
    """

    name = "variance_scaling"
    _config_keys = ("scale", "mode", "distribution")
    modes = ("fan_in", "fan_out", "fan_avg")
    distributions = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal"):
        self.scale = float(check_number(scale, "scale", low=0, low_open=True))
        if mode not in self.modes:
            raise FeedforwardError(f"mode: expected one of {self.modes}, got {mode!r}")
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in self.distributions:
            raise FeedforwardError(
                f"distribution: expected one of {self.distributions}, got {distribution!r}")
        self.mode, self.distribution = mode, distribution

    def variance(self, shape) -> float:
        """The variance ``scale / n`` of the weights for ``shape``.

        Parameters
        ----------
        shape : tuple of int
            The shape of the weight array, e.g. (fan_in, fan_out) for a Dense kernel.

        Returns
        -------
        float
            ``scale / max(1, n)``, ``n`` the fan chosen by ``mode`` (see :func:`compute_fans`).
        """
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        return self.scale / max(1.0, n)

    def sample(self, shape, rng):
        std = math.sqrt(self.variance(shape))
        if self.distribution == "uniform":
            limit = math.sqrt(3.0) * std
            return rng.uniform(-limit, limit, shape)
        if self.distribution == "untruncated_normal":
            return rng.normal(0.0, std, shape)
        return _truncated_normal(rng, shape, std / _TRUNC_STD)


def _preset(cls_name, name, scale, mode, distribution, aliases=()):
    """A named VarianceScaling with fixed arguments and no config of its own."""

    def __init__(self):
        VarianceScaling.__init__(self, scale, mode, distribution)

    return type(cls_name, (VarianceScaling,), {
        "name": name, "aliases": aliases, "_config_keys": (), "__init__": __init__,
        "__doc__": f"VarianceScaling(scale={scale}, mode={mode!r}, distribution={distribution!r}).",
    })


GlorotUniform = _preset("GlorotUniform", "glorot_uniform", 1.0, "fan_avg", "uniform",
                        ("xavier_uniform",))
GlorotNormal = _preset("GlorotNormal", "glorot_normal", 1.0, "fan_avg", "truncated_normal",
                       ("xavier_normal",))
HeUniform = _preset("HeUniform", "he_uniform", 2.0, "fan_in", "uniform", ("kaiming_uniform",))
HeNormal = _preset("HeNormal", "he_normal", 2.0, "fan_in", "truncated_normal", ("kaiming_normal",))
LecunUniform = _preset("LecunUniform", "lecun_uniform", 1.0, "fan_in", "uniform")
LecunNormal = _preset("LecunNormal", "lecun_normal", 1.0, "fan_in", "truncated_normal")


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``gain`` (Saxe et al., 2014): QR of a Gaussian matrix.

    A shape of more than two dimensions is drawn as a matrix of shape
    (prod(shape[:-1]), shape[-1]) and reshaped.

    Parameters
    ----------
    gain : float
        The multiplier of the orthogonal matrix (default 1.0).
    """

    name = "orthogonal"
    _config_keys = ("gain",)

    def __init__(self, gain: float = 1.0):
        self.gain = float(check_number(gain, "gain"))

    def sample(self, shape, rng):
        if len(shape) < 2:
            raise FeedforwardError(
                f"shape: orthogonal expects 2 or more dimensions, got {shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = rng.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))  # makes the result uniform over orthogonal matrices
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)


ALL = [Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
       GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal, Orthogonal]
registry = Registry("initializer", ALL, base=Initializer)
get, serialize, deserialize = registry.get, registry.serialize, registry.deserialize
