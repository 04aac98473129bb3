"""Preprocessing: scalers against scikit-learn, inverses, constant features, state round trips."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from feedforward.data import (
    ImageMeanSubtraction,
    LabelEncoder,
    MinMaxScaler,
    StandardScaler,
    TableEncoder,
    preprocessing,
)
from feedforward.data.preprocessing import one_hot
from feedforward.errors import FeedforwardError

RNG = np.random.default_rng(0)
X = RNG.normal([5.0, -3.0, 100.0, 0.0], [2.0, 0.1, 30.0, 1.0], size=(200, 4))
X[:, 3] = 7.25  # a constant feature
IMAGES = RNG.random((20, 5, 6, 3)) * [1.0, 2.0, 3.0]  # channels with different means


class Frame:
    """A stand-in for a pandas DataFrame / Series: only ``to_numpy``."""

    def __init__(self, a):
        self.a = a

    def to_numpy(self):
        return np.asarray(self.a)


# one fitted example of every registered preprocessor, with the data it was fitted on
EXAMPLES = {
    "standard_scaler": (StandardScaler(), X),
    "min_max_scaler": (MinMaxScaler(), X),
    "image_mean_subtraction": (ImageMeanSubtraction(), IMAGES),
    "label_encoder": (LabelEncoder(), np.array(["b", "a", "c", "a"])),
    "table_encoder": (TableEncoder(), np.array([["red", "1.5"], ["blue", "NA"], ["red", "2"],
                                                ["green", "-1"]], dtype=object)),
}


def test_every_registered_preprocessor_has_an_example():
    assert set(EXAMPLES) == set(preprocessing.registry.classes)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_transform_before_fit_is_a_clear_error(name):
    obj, data = EXAMPLES[name]
    fresh = preprocessing.registry.get(name)
    for method in (fresh.transform, fresh.inverse_transform):
        with pytest.raises(FeedforwardError, match="not fitted"):
            method(data)
    with pytest.raises(FeedforwardError, match="not fitted"):
        fresh.get_state()


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_state_and_config_round_trip_through_a_safetensors_file(name):
    obj, data = EXAMPLES[name]
    expected = obj.fit_transform(data)
    state = obj.get_state()
    assert all(isinstance(v, np.ndarray) for v in state.values())
    config = json.loads(json.dumps(preprocessing.serialize(obj)))
    restored_state = st_load(st_save(state)) if state else {}
    again = preprocessing.deserialize(config, restored_state)
    assert type(again) is type(obj)
    assert np.array_equal(again.transform(data), expected)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_pandas_like_objects_are_accepted(name):
    obj, data = EXAMPLES[name]
    assert np.array_equal(obj.fit(Frame(data)).transform(Frame(data)),
                          obj.fit(data).transform(data))


@pytest.mark.parametrize("name", ["standard_scaler", "min_max_scaler", "image_mean_subtraction"])
def test_inverse_transform_recovers_the_input(name):
    obj, data = EXAMPLES[name]
    back = obj.inverse_transform(obj.fit_transform(data))
    assert np.abs(back - data).max() <= 1e-12 * np.abs(data).max()


def test_standard_scaler_gives_zero_mean_unit_variance_and_matches_sklearn():
    sk = pytest.importorskip("sklearn.preprocessing")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by zero on the constant feature
        z = StandardScaler().fit_transform(X)
    assert np.abs(z.mean(axis=0)).max() < 1e-12
    assert np.allclose(z[:, :3].std(axis=0), 1, atol=1e-12)
    assert np.array_equal(z[:, 3], np.zeros(200))  # the constant feature becomes 0
    assert np.abs(z - sk.StandardScaler().fit_transform(X)).max() < 1e-12


def test_standard_scaler_options_and_dtypes():
    s = StandardScaler(with_mean=False).fit(X)
    assert np.array_equal(s.mean_, np.zeros(4))
    assert np.allclose(StandardScaler(with_std=False).fit_transform(X).std(axis=0)[:3],
                       X.std(axis=0)[:3])
    x32 = X.astype(np.float32)
    assert StandardScaler().fit_transform(x32).dtype == np.float32
    assert StandardScaler().fit_transform(np.arange(12).reshape(6, 2)).dtype == np.float64


def test_standard_scaler_handles_images_per_pixel():
    z = StandardScaler().fit_transform(IMAGES)
    assert z.shape == IMAGES.shape and np.abs(z.mean(axis=0)).max() < 1e-12


def test_min_max_scaler_maps_each_feature_onto_the_range():
    sk = pytest.importorskip("sklearn.preprocessing")
    z = MinMaxScaler().fit_transform(X)
    assert np.array_equal(z[:, :3].min(axis=0), [-1, -1, -1])
    assert np.allclose(z[:, :3].max(axis=0), 1, atol=1e-15)
    assert np.array_equal(z[:, 3], np.zeros(200))  # constant: the middle of (-1, 1)
    z01 = MinMaxScaler(feature_range=(0, 1)).fit_transform(X[:, :3])
    assert np.abs(z01 - sk.MinMaxScaler().fit_transform(X[:, :3])).max() < 1e-12
    z = MinMaxScaler((2, 4)).fit(X).transform(X[:, :] + [0, 0, 1000, 0])
    assert z[:, 2].min() > 4  # values beyond the training range are not clipped


def test_scalers_check_the_feature_count():
    for scaler in (StandardScaler().fit(X), MinMaxScaler().fit(X)):
        with pytest.raises(FeedforwardError, match=r"\(n, 4\).*\(200, 3\)"):
            scaler.transform(X[:, :3])


@pytest.mark.parametrize("rng", [(1, 1), (2, -1), (0,), "wide", (0, np.inf)], ids=repr)
def test_min_max_scaler_refuses_bad_ranges(rng):
    with pytest.raises(FeedforwardError, match="feature_range"):
        MinMaxScaler(feature_range=rng)


def test_set_state_checks_keys_and_shapes():
    s = StandardScaler()
    with pytest.raises(FeedforwardError, match="mean"):
        s.set_state({"mean": np.zeros(3)})
    with pytest.raises(FeedforwardError, match="shape"):
        s.set_state({"mean": np.zeros(3), "scale": np.ones(4)})
    assert s.set_state({"mean": np.zeros(3), "scale": np.full(3, 2.0)}).fitted
    assert np.array_equal(s.transform(np.full((1, 3), 4.0)), np.full((1, 3), 2.0))


# ----------------------------------------------------------------------------- images
def test_per_channel_mean_subtraction_on_every_layout():
    sub = ImageMeanSubtraction(mode="channel").fit(IMAGES)
    assert sub.mean_.shape == (3,) and np.allclose(sub.mean_, IMAGES.mean(axis=(0, 1, 2)))
    out = sub.transform(IMAGES)
    assert np.abs(out.mean(axis=(0, 1, 2))).max() < 1e-12
    flat = ImageMeanSubtraction(image_shape=(5, 6, 3)).fit(IMAGES.reshape(20, -1))
    assert np.allclose(flat.mean_, sub.mean_)
    assert np.allclose(flat.transform(IMAGES.reshape(20, -1)), out.reshape(20, -1))
    gray = IMAGES[..., 0]
    g = ImageMeanSubtraction().fit(gray)
    assert g.mean_.shape == (1,) and np.isclose(g.mean_[0], gray.mean())
    with pytest.raises(FeedforwardError, match="channel"):
        sub.transform(gray[..., None])  # fitted on 3 channels


def test_per_pixel_and_per_image_mean_subtraction():
    pix = ImageMeanSubtraction(mode="pixel").fit_transform(IMAGES)
    assert np.abs(pix.mean(axis=0)).max() < 1e-12
    per_image = ImageMeanSubtraction(mode="image")
    out = per_image.transform(IMAGES)  # needs no fit
    assert np.abs(out.mean(axis=(1, 2, 3))).max() < 1e-12
    assert np.allclose(out - IMAGES, (out - IMAGES)[:, :1, :1, :1])  # one shift per image
    assert per_image.get_state() == {}
    with pytest.raises(FeedforwardError, match="cannot be inverted"):
        per_image.inverse_transform(out)


def test_image_mean_subtraction_refuses_unknown_modes():
    with pytest.raises(FeedforwardError, match="mode"):
        ImageMeanSubtraction(mode="global")


# ----------------------------------------------------------------------------- labels
def test_label_encoder_codes_sorted_labels_and_back():
    y = np.array(["setosa", "virginica", "setosa", "versicolor"])
    enc = LabelEncoder().fit(y)
    assert enc.classes == ["setosa", "versicolor", "virginica"]
    codes = enc.transform(y)
    assert codes.dtype == np.int64 and codes.tolist() == [0, 2, 0, 1]
    assert enc.inverse_transform(codes).tolist() == y.tolist()
    assert enc.get_config() == {"classes": ["setosa", "versicolor", "virginica"]}
    with pytest.raises(FeedforwardError, match="'daisy'"):
        enc.transform(["setosa", "daisy"])
    with pytest.raises(FeedforwardError, match=r"\[0, 2\]"):
        enc.inverse_transform([0, 3])


def test_label_encoder_keeps_a_given_class_order():
    enc = LabelEncoder(classes=["no", "yes", "maybe"])
    assert enc.transform(["maybe", "no", "yes"]).tolist() == [2, 0, 1]
    assert LabelEncoder().fit([3, 1, 2, 3]).transform([1, 2, 3]).tolist() == [0, 1, 2]
    with pytest.raises(FeedforwardError, match="distinct"):
        LabelEncoder(classes=["a", "a"])
    with pytest.raises(FeedforwardError, match="mixed"):
        LabelEncoder().fit(np.array(["a", 1], dtype=object))


def test_one_hot():
    assert np.array_equal(one_hot([2, 0, 1]), np.eye(3, dtype=np.float32)[[2, 0, 1]])
    out = one_hot(Frame([1, 1]), num_classes=4, dtype="float64")
    assert out.dtype == np.float64 and out.tolist() == [[0, 1, 0, 0]] * 2
    for bad, word in (([0, 3], "num_classes=3"), ([-1], ">= 0"), ([0.5], "integer")):
        with pytest.raises(FeedforwardError, match=word):
            one_hot(bad, num_classes=3)
