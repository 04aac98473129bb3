"""Weights files (``save_weights`` / ``load_weights``): what they carry, and what a file that
does not fit the model is refused for, before the model changes."""

from __future__ import annotations

import numpy as np
import pytest

import feedforward as ff
from feedforward import FeedforwardError

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 3)) * [1, 10, 100] + [0, 5, 50]
Y = (X[:, 0] > 0).astype(int)


def _net(pre="standard_scaler", dtype="float32"):
    m = ff.Sequential([ff.Input((3,)), ff.Dense(4, activation="relu"),
                       ff.Dense(1, activation="sigmoid")], seed=1, dtype=dtype, preprocessing=pre)
    m.compile("adam", "binary_crossentropy")
    return m


def _trained(pre="standard_scaler", x=X):
    m = _net(pre)
    m.fit(x, Y, epochs=2, verbose=0)
    return m


def test_model_checkpoint_refuses_a_keras_suffix_before_training(tmp_path):
    with pytest.raises(FeedforwardError, match="Keras's format"):
        ff.callbacks.ModelCheckpoint(filepath=str(tmp_path / "best.weights.h5"),
                                     save_weights_only=True)


def test_a_dtype_mismatch_names_both_dtypes_as_numpy_does(tmp_path):
    _trained().save_weights(tmp_path / "w.safetensors")
    with pytest.raises(FeedforwardError, match="has dtype float32, the model says float64"):
        _net(dtype="float64").load_weights(tmp_path / "w.safetensors")
