"""Playground datasets: the TensorFlow Playground's definitions, class counts, range and noise."""

from __future__ import annotations

import numpy as np
import pytest

import feedforward as ff
from feedforward.data import playground, train_val_test_split
from feedforward.errors import FeedforwardError

NAMES = playground.names()
CLASSIFICATION = [k for k in NAMES if playground.TASKS[k] == "classification"]
REGRESSION = [k for k in NAMES if playground.TASKS[k] == "regression"]
# the Playground's six bumps of the regression dataset: (centre x, centre y, sign)
BUMPS = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]


def radius(x):
    return np.hypot(x[:, 0], x[:, 1])


def bump_target(p):
    """multi_gaussian's target written from the Playground's definition, one bump at a time."""
    best = np.zeros(len(p))
    for cx, cy, sign in BUMPS:
        value = sign * np.clip(1 - np.hypot(p[:, 0] - cx, p[:, 1] - cy) / 2, 0, 1)
        best = np.where(np.abs(value) > np.abs(best), value, best)
    return best


def test_the_names_and_tasks_cover_the_issue():
    assert set(NAMES) == {"circle", "xor", "gaussian", "spiral", "blobs", "plane",
                          "multi_gaussian"}
    assert set(REGRESSION) == {"plane", "multi_gaussian"}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("noise", [0.0, 0.5, 1.0])
def test_shapes_dtypes_and_the_input_square(name, noise):
    x, y = playground.get(name)(n=301, noise=noise, seed=1)
    assert x.shape == (301, 2) and x.dtype == np.float64 and y.shape == (301,)
    assert np.all((x >= -6) & (x <= 6))
    if name in CLASSIFICATION:
        assert y.dtype == np.int64
    else:
        assert y.dtype == np.float64


@pytest.mark.parametrize("name", NAMES)
def test_the_seed_fixes_the_data(name):
    gen = playground.get(name)
    a, b, c = gen(n=50, seed=3), gen(n=50, seed=3), gen(n=50, seed=4)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    rng_made = gen(n=50, seed=np.random.default_rng(3))
    assert np.array_equal(rng_made[0], a[0])


@pytest.mark.parametrize("name", ["circle", "gaussian", "spiral"])
@pytest.mark.parametrize("n", [400, 401])
def test_binary_class_counts_are_exact(name, n):
    _, y = playground.get(name)(n=n, noise=0.0, seed=0)
    assert set(np.unique(y)) == {0, 1}
    counts = np.bincount(y)
    assert counts.sum() == n and abs(int(counts[0]) - int(counts[1])) == n % 2


def test_points_come_in_random_order():
    _, y = playground.spiral(n=200, seed=0)
    assert 40 < np.count_nonzero(np.diff(y)) < 160  # not two blocks of labels


def test_circle_definition_without_noise():
    x, y = playground.circle(n=2000, noise=0.0, seed=0)
    r = radius(x)
    assert np.all(r[y == 1] < 2.5) and np.all((r[y == 0] >= 3.5) & (r[y == 0] <= 5))
    # uniform radius and angle, as in the Playground (not uniform over the disc's area)
    assert abs(np.median(r[y == 1]) - 1.25) < 0.1
    assert abs(np.median(r[y == 0]) - 4.25) < 0.1
    angle = np.arctan2(x[:, 0], x[:, 1])
    assert np.all(np.histogram(angle, bins=4, range=(-np.pi, np.pi))[0] > 400)


def test_circle_noise_flips_labels_near_the_boundary_and_never_moves_points():
    noise = 0.2
    x0, y0 = playground.circle(n=3000, noise=0.0, seed=5)
    x, y = playground.circle(n=3000, noise=noise, seed=5)
    assert np.array_equal(x, x0)  # same points
    flipped = y != y0
    # a point moves by at most 5 * noise per coordinate before its label is read
    assert np.all(np.abs(radius(x)[flipped] - 2.5) <= 5 * noise * np.sqrt(2))
    # the flip rate of the Playground's rule, estimated independently
    rng = np.random.default_rng(123)
    m = 400_000
    r = np.concatenate([rng.uniform(0, 2.5, m), rng.uniform(3.5, 5, m)])
    t = rng.uniform(0, 2 * np.pi, 2 * m)
    p = np.column_stack([r * np.sin(t), r * np.cos(t)]) + rng.uniform(-5, 5, (2 * m, 2)) * noise
    expected = np.mean((radius(p) < 2.5) != (r < 2.5))
    assert expected > 0.02
    assert abs(flipped.mean() - expected) < 4 * np.sqrt(expected / 3000)


def test_xor_definition_and_noise():
    x, y = playground.xor(n=2000, noise=0.0, seed=0)
    assert np.all((np.abs(x) >= 0.3) & (np.abs(x) <= 5.3))  # the 0.3 padding off the axes
    assert np.array_equal(y, (x[:, 0] * x[:, 1] >= 0).astype(int))
    assert 900 < y.sum() < 1100
    noise = 0.1
    xn, yn = playground.xor(n=2000, noise=noise, seed=0)
    assert np.array_equal(xn, x)
    flipped = yn != y
    assert flipped.any()
    assert np.all(np.abs(x[flipped]).min(axis=1) <= 5 * noise)  # only near an axis


def test_gaussian_definition_and_noise_sets_the_variance():
    x, y = playground.gaussian(n=4000, noise=0.0, seed=0)
    for label, centre in ((1, (2, 2)), (0, (-2, -2))):
        pts = x[y == label]
        assert np.abs(pts.mean(axis=0) - centre).max() < 0.06
        assert np.abs(pts.var(axis=0) - 0.5).max() < 0.06  # variance 0.5 at noise 0
    # noise sets the variance to 0.5 + 7 noise: the same draws, scaled
    xn, yn = playground.gaussian(n=4000, noise=0.25, seed=0)
    assert np.array_equal(yn, y)
    centres = np.where(y[:, None] == 1, 2.0, -2.0)
    inside = np.all(np.abs(xn) < 6, axis=1)  # clipped points aside
    ratio = (xn - centres)[inside] / (x - centres)[inside]
    assert np.allclose(ratio, np.sqrt((0.5 + 7 * 0.25) / 0.5), rtol=1e-9)


def spiral_phase(x, classes):
    """Angle of each point minus the Playground's angle for its radius, mod 2 pi."""
    r = radius(x)
    t = np.arctan2(x[:, 0], x[:, 1])  # x1 = r sin t, x2 = r cos t
    return np.mod(t - 1.75 * 2 * np.pi * r / 5, 2 * np.pi), r


def test_spiral_definition_matches_the_playground_arms():
    x, y = playground.spiral(n=1000, noise=0.0, seed=0)
    phase, r = spiral_phase(x, 2)
    ok = r > 1e-9  # the first point of an arm is the origin, where the angle is undefined
    # the Playground's positive arm (label 1) has delta 0, the negative (label 0) delta pi
    delta = np.where(y == 1, 0.0, np.pi)
    diff = np.angle(np.exp(1j * (phase - delta)))[ok]
    assert np.abs(diff).max() < 1e-9
    assert r.max() < 5 and np.isclose(np.sort(r[y == 1])[1], 5 / 500)  # r = 5 i / m


def test_spiral_noise_moves_points_by_at_most_noise():
    x0, y0 = playground.spiral(n=500, noise=0.0, seed=2)
    x, y = playground.spiral(n=500, noise=0.3, seed=2)
    assert np.array_equal(y, y0)
    d = np.abs(x - x0)
    assert d.max() <= 0.3 and d.max() > 0.25 and d.mean() > 0.05


@pytest.mark.parametrize("classes", [3, 5])
def test_multiclass_spiral_arms(classes):
    x, y = playground.spiral(n=600, noise=0.0, seed=0, classes=classes)
    assert np.array_equal(np.bincount(y), [600 // classes] * classes)
    phase, r = spiral_phase(x, classes)
    delta = np.pi + 2 * np.pi * y / classes
    diff = np.angle(np.exp(1j * (phase - delta)))[r > 1e-9]
    assert np.abs(diff).max() < 1e-9


def test_spiral_with_two_classes_is_the_binary_spiral():
    a, b = playground.spiral(n=300, noise=0.2, seed=9), playground.spiral(300, 0.2, 9, classes=2)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


@pytest.mark.parametrize("classes", [3, 4, 7])
def test_blobs_have_k_centres_on_a_circle(classes):
    x, y = playground.blobs(n=7000, noise=0.0, seed=0, classes=classes)
    counts = np.bincount(y)
    assert counts.sum() == 7000 and counts.max() - counts.min() <= 1
    means = np.array([x[y == c].mean(axis=0) for c in range(classes)])
    assert np.allclose(radius(means), 2 * np.sqrt(2), atol=0.08)
    angles = np.sort(np.mod(np.arctan2(means[:, 1], means[:, 0]), 2 * np.pi))
    gaps = np.diff(np.append(angles, angles[0] + 2 * np.pi))
    assert np.allclose(gaps, 2 * np.pi / classes, atol=0.05)


def test_gaussian_with_two_classes_is_blobs_with_two():
    a, b = playground.gaussian(n=100, seed=1), playground.blobs(n=100, seed=1, classes=2)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_plane_definition_and_noise():
    x, y = playground.plane(n=2000, noise=0.0, seed=0)
    assert np.allclose(y, (x[:, 0] + x[:, 1]) / 10, rtol=0, atol=1e-15)
    assert np.abs(x).max() > 5.9  # uniform over the whole square
    xn, yn = playground.plane(n=2000, noise=0.3, seed=0)
    assert np.array_equal(xn, x)  # noise perturbs the target only
    err = np.abs(yn - y)
    assert err.max() <= 2 * 6 * 0.3 / 10 and err.mean() > 0.05


def test_multi_gaussian_definition_and_noise():
    x, y = playground.multi_gaussian(n=3000, noise=0.0, seed=0)
    assert np.allclose(y, bump_target(x), rtol=0, atol=1e-15)
    assert y.min() >= -1 and y.max() <= 1 and y.min() < -0.9 and y.max() > 0.9
    assert np.mean(y == 0) > 0.2  # far from every bump the target is 0
    xn, yn = playground.multi_gaussian(n=3000, noise=0.1, seed=0)
    assert np.array_equal(xn, x) and not np.array_equal(yn, y)


@pytest.mark.parametrize("name", ["circle", "xor", "gaussian"])
def test_a_small_mlp_separates_the_binary_sets(name):
    x, y = playground.get(name)(n=500, noise=0.0, seed=0)
    split = train_val_test_split(x / 6, y, val=0.0, test=0.2, seed=0)
    model = ff.Sequential([ff.Dense(16, activation="tanh"), ff.Dense(16, activation="tanh"),
                           ff.Dense(1, activation="sigmoid")], seed=0)
    model.compile(ff.optimizers.SGD(learning_rate=0.1, momentum=0.9), "binary_crossentropy",
                  ["accuracy"])
    model.fit(split.x_train, split.y_train, epochs=100, batch_size=16, verbose=0)
    assert model.evaluate(split.x_test, split.y_test)[1] >= 0.97


@pytest.mark.parametrize(("name", "r2"), [("plane", 0.99), ("multi_gaussian", 0.7)])
def test_a_small_mlp_fits_the_regression_sets(name, r2):
    x, y = playground.get(name)(n=1200, noise=0.0, seed=0)
    split = train_val_test_split(x / 6, y, val=0.0, test=0.2, seed=0)
    model = ff.Sequential([ff.Dense(32, activation="tanh"), ff.Dense(32, activation="tanh"),
                           ff.Dense(1)], seed=0)
    model.compile(ff.optimizers.Adam(learning_rate=0.01), "mse", ["r2"])
    model.fit(split.x_train, split.y_train, epochs=100, batch_size=16, verbose=0)
    assert model.evaluate(split.x_test, split.y_test)[1] >= r2


def test_get_resolves_names_and_the_playground_url_names():
    assert playground.get("circle") is playground.circle
    assert playground.get("gauss") is playground.gaussian
    assert playground.get("reg-plane") is playground.plane
    assert playground.get("reg-gauss") is playground.multi_gaussian
    assert playground.get("Multi_Gaussian") is playground.multi_gaussian
    with pytest.raises(FeedforwardError, match="moons") as info:
        playground.get("moons")
    for name in NAMES:
        assert name in str(info.value)


@pytest.mark.parametrize(("kwargs", "word"), [
    ({"n": 0}, "n"), ({"n": 2.5}, "n"), ({"noise": -0.1}, "noise"), ({"noise": 1.5}, "noise"),
    ({"classes": 1}, "classes"), ({"n": 3, "classes": 4}, "n"), ({"noise": "high"}, "noise"),
])
def test_bad_arguments_are_refused(kwargs, word):
    with pytest.raises(FeedforwardError, match=word):
        playground.spiral(**kwargs)
