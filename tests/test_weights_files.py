"""Weights files (``save_weights`` / ``load_weights``): what they carry, and what a file that
does not fit the model is refused for, before the model changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from safetensors.numpy import load_file, save_file

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


def _rewrite(src, dst, change):
    """Copy the weights file ``src`` to ``dst`` with ``change(tensors)`` applied."""
    tensors = load_file(src)
    change(tensors)
    save_file(tensors, dst, metadata={"format": "feedforward-weights", "format_version": "1"})
    return dst


def _unchanged(model):
    """A function that asserts that ``model``'s weights, statistics and names are as now."""
    params = model.params.copy()
    states = [p.get_state() if p.fitted else None for p in model.preprocessing]
    names = model.feature_names

    def check():
        np.testing.assert_array_equal(model.params, params)
        for p, s in zip(model.preprocessing, states, strict=True):
            if s is not None:
                for k, a in p.get_state().items():
                    np.testing.assert_array_equal(a, s[k])
        assert model.feature_names == names
    return check


@pytest.mark.parametrize("change, message", [
    (lambda t: t.update(junk=np.ones(1, np.float32)), "'junk' is none of a model's"),
    (lambda t: t.update({"preprocessing.5.mean": np.ones(1)}), "preprocessor 5, which the"),
    (lambda t: t.update({"preprocessing.0": t.pop("preprocessing.0.mean")}), "malformed"),
    (lambda t: t.update({"preprocessing.x.mean": np.ones(1)}), "malformed"),
])
def test_a_tensor_the_model_has_no_place_for_is_refused(tmp_path, change, message):
    path = _rewrite(_save(_trained(), tmp_path), tmp_path / "bad.safetensors", change)
    model = _trained(x=X * 3 + 7)
    check = _unchanged(model)
    with pytest.raises(FeedforwardError, match=message):
        model.load_weights(path)
    check()


def _save(model, tmp_path, name="w.safetensors"):
    model.save_weights(tmp_path / name)
    return tmp_path / name


def test_statistics_for_a_preprocessor_the_model_lacks_are_refused(tmp_path):
    path = _save(_trained(), tmp_path)
    with pytest.raises(FeedforwardError, match="which the model does not have"):
        _net(pre=None).load_weights(path)


def test_a_fitted_preprocessor_is_not_left_with_its_own_statistics(tmp_path):
    unfitted = _net()  # built, never fitted: its file holds no statistics
    path = _save(unfitted, tmp_path)
    model = _trained()
    check = _unchanged(model)
    with pytest.raises(FeedforwardError, match="holds no statistics for preprocessing 0"):
        model.load_weights(path)
    check()
    _net().load_weights(path)  # into a model as unfitted as the file's: nothing is lost


def test_a_refused_preprocessor_leaves_the_earlier_ones_as_they_were(tmp_path):
    pre = ["standard_scaler", "min_max"]
    path = _rewrite(_save(_trained(pre), tmp_path), tmp_path / "bad.safetensors",
                    lambda t: t.update({"preprocessing.1.data_max": t["preprocessing.1.data_max"]
                                        * np.nan}))
    model = _trained(pre, x=X * 3 + 7)
    check = _unchanged(model)
    with pytest.raises(FeedforwardError, match="preprocessing 1 is refused"):
        model.load_weights(path)
    check()


def test_load_model_refuses_a_malformed_preprocessing_tensor(tmp_path):
    from safetensors import safe_open

    _trained().save(tmp_path / "m.safetensors")
    tensors = load_file(tmp_path / "m.safetensors")
    with safe_open(tmp_path / "m.safetensors", "numpy") as f:
        meta = f.metadata()
    tensors["preprocessing.0"] = tensors.pop("preprocessing.0.mean")
    save_file(tensors, tmp_path / "bad.safetensors", metadata=meta)
    with pytest.raises(FeedforwardError, match="malformed"):
        ff.load_model(tmp_path / "bad.safetensors")


def _frame():
    return pd.DataFrame(X, columns=["income", "age", "debt"])


@pytest.mark.parametrize("save", ["save_weights", "save"])
def test_load_weights_gives_a_model_without_names_the_file_s(tmp_path, save):
    frame = _frame()
    trained = _net()
    trained.fit(frame, Y, epochs=2, verbose=0)
    getattr(trained, save)(tmp_path / "w.safetensors")
    fresh = _net()
    fresh.load_weights(tmp_path / "w.safetensors")
    assert fresh.feature_names == ["income", "age", "debt"]
    reordered = frame[["debt", "income", "age"]]  # matched by name, not taken by position
    np.testing.assert_array_equal(fresh.predict(reordered), trained.predict(frame))


def test_load_weights_refuses_other_feature_names_than_the_model_s(tmp_path):
    frame = _frame()
    trained = _net()
    trained.fit(frame, Y, epochs=1, verbose=0)
    trained.save_weights(tmp_path / "w.safetensors")
    other = _net()
    other.fit(frame.set_axis(["a", "b", "c"], axis=1), Y, epochs=1, verbose=0)
    check = _unchanged(other)
    with pytest.raises(FeedforwardError, match="feature_names .* are not the model's"):
        other.load_weights(tmp_path / "w.safetensors")
    check()


def test_a_model_with_a_table_encoder_is_refused_weights_files(tmp_path):
    rows = pd.DataFrame({"a": X[:, 0], "c": np.array(list("abc"))[np.arange(40) % 3]})

    def net():
        m = ff.Sequential([ff.Dense(4, activation="relu"), ff.Dense(1, activation="sigmoid")],
                          seed=1, preprocessing=ff.data.TableEncoder(categorical=["c"]))
        m.compile("adam", "binary_crossentropy")
        return m
    trained = net()
    trained.fit(rows, Y, epochs=1, verbose=0)
    with pytest.raises(FeedforwardError, match=r"save_weights: preprocessing 0 \(TableEncoder\)"
                                               r" .* use model.save\(path\)"):
        trained.save_weights(tmp_path / "w.safetensors")
    trained.save(tmp_path / "m.safetensors")  # the model file keeps what the encoder learned
    fresh = net()
    fresh.build((None, trained.input_dim))
    with pytest.raises(FeedforwardError, match="load_weights: preprocessing 0"):
        fresh.load_weights(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(ff.load_model(tmp_path / "m.safetensors").predict(rows),
                                  trained.predict(rows))


@pytest.mark.parametrize("scaler", [ff.data.StandardScaler, ff.data.MinMaxScaler])
def test_a_scaler_returns_a_reordered_frame_in_fit_s_column_order(scaler):
    frame = pd.DataFrame(X[:, :2], columns=["a", "b"])
    s = scaler().fit(frame)
    np.testing.assert_array_equal(s.transform(frame[["b", "a"]]), s.transform(frame))
    assert "in fit's order" in " ".join(scaler.transform.__doc__.split())
