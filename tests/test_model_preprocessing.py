"""A model carries its preprocessing: fitted on the training part, applied everywhere, saved."""

import json

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import save_file

import feedforward as ff


def _data(seed=0, n=300):
    rng = np.random.default_rng(seed)
    x = rng.normal(50.0, 20.0, (n, 3))  # far from zero mean and unit variance
    y = (x[:, 0] + x[:, 1] > 100).astype(int)
    return x, y


def _model(**kwargs):
    model = ff.Sequential([ff.Dense(8, activation="tanh"), ff.Dense(1, activation="sigmoid")],
                          seed=0, **kwargs)
    model.compile(ff.optimizers.Adam(0.01), "binary_crossentropy", ["accuracy"])
    return model


def test_scaler_is_fitted_on_the_training_part_and_applied_to_raw_inputs():
    x, y = _data()
    model = _model(preprocessing=ff.data.StandardScaler())
    model.fit(x, y, epochs=3, batch_size=32, validation_split=0.2, verbose=0)
    scaler = model.preprocessing[0]
    cut = int(round(len(x) * 0.8))
    np.testing.assert_allclose(scaler.mean_, x[:cut].mean(axis=0))  # not the validation rows
    # predict on raw rows equals the network applied to scaled rows
    scaled = ((x - scaler.mean_) / scaler.scale_).astype(np.float32)
    np.testing.assert_allclose(model.predict(x), model.forward(scaled, False), rtol=1e-6)


def test_saved_model_predicts_raw_inputs_identically(tmp_path):
    x, y = _data()
    model = _model(preprocessing=ff.data.StandardScaler(), classes=["low", "high"])
    model.fit(x, y, epochs=3, batch_size=32, verbose=0)
    path = tmp_path / "m.safetensors"
    model.save(path)
    with safe_open(str(path), framework="numpy") as f:
        assert {"preprocessing.0.mean", "preprocessing.0.scale"} <= set(f.keys())
    again = ff.load_model(path)
    assert again.classes == ["low", "high"]
    assert np.array_equal(again.predict(x), model.predict(x))


def test_an_oversized_preprocessing_tensor_is_refused(tmp_path):
    x, y = _data()
    model = _model(preprocessing=ff.data.StandardScaler())
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "m.safetensors"
    model.save(path)
    with safe_open(str(path), framework="numpy") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        meta = f.metadata()
    tensors["preprocessing.0.mean"] = np.zeros(10_000)  # more statistics than features
    save_file(tensors, str(path), metadata=meta)
    with pytest.raises(ff.FeedforwardError, match="preprocessing"):
        ff.load_model(path)


def test_augmentation_changes_training_batches_only():
    x, y = _data()
    seen = []

    def augment(batch, rng):
        seen.append(batch.shape[0])
        return batch + rng.normal(0, 1e-3, batch.shape)

    model = _model(preprocessing=ff.data.StandardScaler())
    model.fit(x, y, epochs=2, batch_size=50, validation_split=0.2, verbose=0, augment=augment)
    assert sum(seen) == 2 * int(round(len(x) * 0.8))  # every training row, every epoch
    calls = len(seen)
    model.evaluate(x, y)
    model.predict(x)
    assert len(seen) == calls  # never at evaluation or prediction
    assert json.dumps(model.get_config())  # the config stays JSON


def test_pickled_model_keeps_one_flat_buffer_and_trains_on_identically():
    import pickle

    x, y = _data()
    a = _model(preprocessing=ff.data.StandardScaler())
    a.fit(x, y, epochs=2, batch_size=32, verbose=0)
    b = pickle.loads(pickle.dumps(a))
    for layer in b.layers:
        for p in layer.params.values():
            assert np.shares_memory(p, b.params)  # views of the flat buffer, as after build
    assert np.array_equal(a.predict(x), b.predict(x))
    a.fit(x, y, epochs=2, batch_size=32, verbose=0)
    b.fit(x, y, epochs=2, batch_size=32, verbose=0)
    assert np.array_equal(a.params, b.params)  # optimizer state and random streams came along
