"""Initializers: moments, bounds, orthogonality, aliases, reproducibility, errors, torch bounds.

Moment checks compare the sample mean and standard deviation of ``N`` draws with the values
the distribution should have, within 3 standard errors:

- the mean's standard error is ``sd / sqrt(N)``;
- the standard deviation's is ``sd * sqrt((kurtosis - 1) / (4 N))`` (delta method), with the
  kurtosis of the distribution: 1.8 for a uniform, 3 for a normal, and the exact value below
  for a normal truncated at two standard deviations.

The kernel shape is non-square, ``(fan_in, fan_out) = (300, 200)``, so that ``fan_in``,
``fan_out`` and their mean give three different variances.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from feedforward import initializers
from feedforward.errors import FeedforwardError

SHAPE = (300, 200)  # a Dense kernel: (fan_in, fan_out)
N = SHAPE[0] * SHAPE[1]
SEED = 20240601
TRUNCATION = 2.0  # in units of the pre-truncation standard deviation
Z = 3.0  # tolerance, in standard errors


def _normal_pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def truncated_normal_moments(a: float) -> tuple[float, float]:
    """Variance and kurtosis of a standard normal truncated to ``[-a, a]``.

    With ``M_k`` the integral of ``x^k phi(x)`` over ``[-a, a]``, integration by parts gives
    ``M_k = (k - 1) M_{k-2} - 2 a^{k-1} phi(a)`` for even ``k``, from ``M_0 = erf(a / sqrt 2)``.
    """
    m0 = math.erf(a / math.sqrt(2))
    m2 = m0 - 2 * a * _normal_pdf(a)
    m4 = 3 * m2 - 2 * a**3 * _normal_pdf(a)
    variance = m2 / m0
    return variance, (m4 / m0) / variance**2


TRUNC_VARIANCE, TRUNC_KURTOSIS = truncated_normal_moments(TRUNCATION)
KURTOSIS = {"uniform": 1.8, "untruncated_normal": 3.0, "truncated_normal": TRUNC_KURTOSIS}


def expected_std(scale: float, mode: str, shape=SHAPE) -> float:
    """sqrt(scale / n), n the fan the mode names, for a kernel of shape (fan_in, fan_out)."""
    fan_in, fan_out = shape
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    return math.sqrt(scale / n)


def assert_moments(w: np.ndarray, mean: float, sd: float, kurtosis: float) -> None:
    """Sample mean and standard deviation of ``w`` within ``Z`` standard errors of the truth."""
    n = w.size
    se_mean = sd / math.sqrt(n)
    se_sd = sd * math.sqrt((kurtosis - 1) / (4 * n))
    assert abs(w.mean() - mean) < Z * se_mean, (w.mean(), mean, se_mean)
    assert abs(w.std() - sd) < Z * se_sd, (w.std(), sd, se_sd)


def draw(init, shape=SHAPE, seed=SEED, dtype="float64") -> np.ndarray:
    return init(shape, np.random.default_rng(seed), dtype)


# (name, scale, mode, distribution) as Glorot & Bengio (2010), He et al. (2015) and
# LeCun et al. (1998) define them, with Keras's truncated normal for the "normal" variants
PRESETS = [
    ("glorot_uniform", 1.0, "fan_avg", "uniform"),
    ("glorot_normal", 1.0, "fan_avg", "truncated_normal"),
    ("he_uniform", 2.0, "fan_in", "uniform"),
    ("he_normal", 2.0, "fan_in", "truncated_normal"),
    ("lecun_uniform", 1.0, "fan_in", "uniform"),
    ("lecun_normal", 1.0, "fan_in", "truncated_normal"),
]
MODES = ("fan_in", "fan_out", "fan_avg")
DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")
SCALING_CASES = (
    [pytest.param(initializers.get(name), scale, mode, dist, id=name)
     for name, scale, mode, dist in PRESETS]
    + [pytest.param(initializers.VarianceScaling(scale, mode, dist), scale, mode, dist,
                    id=f"variance_scaling-{scale}-{mode}-{dist}")
       for scale in (1.0, 2.5) for mode in MODES for dist in DISTRIBUTIONS]
)


def test_truncated_normal_moments_match_the_library_constant():
    # the std of a standard normal cut at +/- 2 (Keras uses the same constant)
    assert math.sqrt(TRUNC_VARIANCE) == pytest.approx(initializers._TRUNC_STD, rel=1e-14)
    assert 2.3 < TRUNC_KURTOSIS < 3  # lighter tails than a normal, heavier than a uniform


@pytest.mark.parametrize(("init", "scale", "mode", "distribution"), SCALING_CASES)
def test_variance_scaling_moments(init, scale, mode, distribution):
    w = draw(init)
    assert w.shape == SHAPE
    assert_moments(w, 0.0, expected_std(scale, mode), KURTOSIS[distribution])


@pytest.mark.parametrize(("init", "scale", "mode", "distribution"), SCALING_CASES)
def test_variance_scaling_support(init, scale, mode, distribution):
    w = np.abs(draw(init))
    sd = expected_std(scale, mode)
    if distribution == "uniform":
        bound = math.sqrt(3) * sd  # limit = sqrt(3 scale / n)
    elif distribution == "truncated_normal":
        bound = TRUNCATION * sd / math.sqrt(TRUNC_VARIANCE)  # 2 x the pre-truncation std
    else:
        # about 160 of 60,000 normal draws lie beyond 3 sd; a truncation at 2 would leave none
        assert w.max() > 3 * sd
        return
    assert w.max() <= bound * (1 + 1e-12)
    # with 60,000 draws the largest lies within 1% of the edge (it fills the support)
    assert w.max() > 0.99 * bound


def test_he_uniform_limit_is_sqrt_6_over_fan_in():
    w = draw(initializers.HeUniform())
    limit = math.sqrt(6 / SHAPE[0])
    assert limit * 0.999 < np.abs(w).max() <= limit


@pytest.mark.parametrize(("alias", "cls"), [
    ("xavier_uniform", initializers.GlorotUniform),
    ("xavier_normal", initializers.GlorotNormal),
    ("kaiming_uniform", initializers.HeUniform),
    ("kaiming_normal", initializers.HeNormal),
])
def test_aliases_resolve_to_glorot_and_he(alias, cls):
    init = initializers.get(alias)
    assert type(init) is cls
    np.testing.assert_array_equal(draw(init), draw(cls()))


@pytest.mark.parametrize(("init", "mean", "sd", "kurtosis"), [
    (initializers.RandomNormal(), 0.0, 0.05, 3.0),
    (initializers.RandomNormal(mean=0.5, stddev=0.2), 0.5, 0.2, 3.0),
    (initializers.RandomUniform(), 0.0, 0.1 / math.sqrt(12), 1.8),
    (initializers.RandomUniform(-0.3, 0.7), 0.2, 1.0 / math.sqrt(12), 1.8),
    (initializers.TruncatedNormal(), 0.0, 0.05 * math.sqrt(TRUNC_VARIANCE), TRUNC_KURTOSIS),
    (initializers.TruncatedNormal(mean=1.0, stddev=0.5), 1.0, 0.5 * math.sqrt(TRUNC_VARIANCE),
     TRUNC_KURTOSIS),
], ids=lambda v: f"{v:.3g}" if isinstance(v, float) else repr(v))
def test_random_initializer_moments(init, mean, sd, kurtosis):
    assert_moments(draw(init), mean, sd, kurtosis)


@pytest.mark.parametrize(("init", "low", "high"), [
    (initializers.RandomUniform(-0.3, 0.7), -0.3, 0.7),
    (initializers.TruncatedNormal(mean=1.0, stddev=0.5), 0.0, 2.0),  # mean +/- 2 stddev
], ids=repr)
def test_bounded_initializers_stay_in_range(init, low, high):
    w = draw(init)
    assert w.min() >= low and w.max() <= high
    width = high - low
    assert w.min() < low + 0.01 * width and w.max() > high - 0.01 * width


@pytest.mark.parametrize(("init", "value"), [
    (initializers.Zeros(), 0.0),
    (initializers.Ones(), 1.0),
    (initializers.Constant(), 0.0),
    (initializers.Constant(-3.25), -3.25),
], ids=repr)
@pytest.mark.parametrize("shape", [(7,), (4, 3)])
def test_deterministic_initializers(init, value, shape):
    w = draw(init, shape)
    assert w.shape == shape
    assert np.all(w == value)


@pytest.mark.parametrize("shape", [(300, 200), (200, 300), (50, 50), (4, 5, 6)],
                         ids=["tall", "wide", "square", "3d"])
@pytest.mark.parametrize("gain", [1.0, 1.7])
def test_orthogonal(shape, gain):
    w = draw(initializers.Orthogonal(gain=gain), shape)
    assert w.shape == shape
    q = w.reshape(-1, shape[-1]) / gain
    # the smaller Gram matrix is the identity: orthonormal columns (tall) or rows (wide)
    gram = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
    np.testing.assert_allclose(gram, np.eye(len(gram)), atol=1e-12)


def test_orthogonal_is_uniform_over_the_group():
    # for Haar-distributed 3x3 rotations every entry has mean 0 and variance 1/3; the sign
    # correction matters: plain Householder QR makes q[0, 0] always negative
    rng = np.random.default_rng(SEED)
    init = initializers.Orthogonal()
    corner = np.array([init((3, 3), rng, "float64")[0, 0] for _ in range(2000)])
    assert abs(corner.mean()) < Z * math.sqrt(1 / 3 / corner.size)
    assert corner.var() == pytest.approx(1 / 3, rel=0.1)


ALL_INITIALIZERS = [pytest.param(cls, id=cls.name)
                    for cls in initializers.registry.classes.values()]


@pytest.mark.parametrize("cls", ALL_INITIALIZERS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_seed_same_array_and_dtype_honoured(cls, dtype):
    a = draw(cls(), (30, 20), seed=3, dtype=dtype)
    b = draw(cls(), (30, 20), seed=3, dtype=dtype)
    assert a.dtype == np.dtype(dtype) and a.shape == (30, 20)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cls", [c for c in initializers.registry.classes.values()
                                 if c not in (initializers.Zeros, initializers.Ones,
                                              initializers.Constant)], ids=lambda c: c.name)
def test_different_seeds_differ(cls):
    assert not np.array_equal(draw(cls(), (30, 20), seed=3), draw(cls(), (30, 20), seed=4))


@pytest.mark.parametrize(("make", "argument"), [
    (lambda: initializers.RandomNormal(stddev=-0.1), "stddev"),
    (lambda: initializers.TruncatedNormal(stddev=-0.1), "stddev"),
    (lambda: initializers.RandomNormal(mean=float("nan")), "mean"),
    (lambda: initializers.RandomUniform(minval=0.5, maxval=0.1), "maxval"),
    (lambda: initializers.RandomUniform(minval="a"), "minval"),
    (lambda: initializers.Constant("one"), "value"),
    (lambda: initializers.VarianceScaling(scale=0.0), "scale"),
    (lambda: initializers.VarianceScaling(scale=-1.0), "scale"),
    (lambda: initializers.VarianceScaling(mode="fan_sideways"), "mode"),
    (lambda: initializers.VarianceScaling(distribution="cauchy"), "distribution"),
    (lambda: initializers.Orthogonal(gain=None), "gain"),
    (lambda: initializers.Orthogonal()((5,), np.random.default_rng(0)), "shape"),
])
def test_bad_arguments_name_the_argument(make, argument):
    with pytest.raises(FeedforwardError, match=rf"\b{argument}\b"):
        make()


# torch's Linear weight is (out, in) = (fan_out, fan_in): the transpose of our kernel
@pytest.mark.parametrize(("ours", "theirs", "limit"), [
    ("he_uniform", lambda t, g: torch.nn.init.kaiming_uniform_(t, nonlinearity="relu",
                                                               generator=g),
     math.sqrt(6 / SHAPE[0])),
    ("glorot_uniform", lambda t, g: torch.nn.init.xavier_uniform_(t, generator=g),
     math.sqrt(6 / (SHAPE[0] + SHAPE[1]))),
], ids=["kaiming_uniform", "xavier_uniform"])
def test_uniform_limits_match_torch(ours, theirs, limit):
    t = torch.empty(SHAPE[::-1], dtype=torch.float64)
    theirs(t, torch.Generator().manual_seed(SEED))
    torch_max = t.abs().max().item()
    our_max = np.abs(draw(initializers.get(ours))).max()
    # both samples reach within 0.1% of the same limit and never pass it; the fans swapped
    # would move the He limit by 22%
    for largest in (torch_max, our_max):
        assert limit * 0.999 < largest <= limit
