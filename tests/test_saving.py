"""Model files: exact round trips, the safetensors layout, refused files, atomic writes."""

from __future__ import annotations

import json
import os
import pickle
import struct

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import save_file

import feedforward as ff
from _helpers import peak_memory
from feedforward import saving


def trained_model(dtype="float32", seed=0):
    """A fitted 6-8-3 classifier with every layer kind, a metric and optimizer state."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(30, 6))
    y = rng.integers(0, 3, 30)
    model = ff.Sequential([
        ff.Dense(8, activation=ff.activations.LeakyReLU(0.2), kernel_regularizer="l2"),
        ff.Dropout(0.3),
        ff.Maxout(5, pieces=2, use_bias=False),
        ff.Activation("tanh"),
        ff.Dense(3, activation="softmax"),
    ], seed=seed, dtype=dtype)
    model.compile(ff.optimizers.SGD(0.05, momentum=0.9), "categorical_crossentropy", ["accuracy"])
    model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    return model, x, y


@pytest.fixture
def saved(tmp_path):
    model, x, y = trained_model()
    path = tmp_path / "model.safetensors"
    model.save(path)
    return model, x, y, path


def meta_for(config, **extra):
    return {"format": saving.FORMAT, "format_version": str(saving.FORMAT_VERSION),
            "config": json.dumps(config), **extra}


def dense_config(units, input_dim=3, dtype="float32"):
    return {"input_dim": input_dim, "seed": 0, "dtype": dtype,
            "layers": [{"class_name": "Dense", "config": {"units": units}}]}


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_load_predicts_bit_identical_outputs(tmp_path, dtype):
    model, x, _ = trained_model(dtype)
    path = tmp_path / "m.safetensors"
    model.save(str(path))  # str and Path both work
    loaded = ff.load_model(path)
    assert loaded.dtype == np.dtype(dtype)
    out = loaded.predict(x)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, model.predict(x))
    for w, lw in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(w, lw)


def test_load_keeps_config_and_compile(saved):
    model, x, y, path = saved
    loaded = ff.load_model(path)
    assert loaded.get_config() == model.get_config()
    assert loaded.get_compile_config() == model.get_compile_config()
    assert loaded.loss.name == "categorical_crossentropy"
    assert loaded.metric_names == ["accuracy"]
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.learning_rate == 0.05
    for slot, arrays in model.optimizer.slots.items():
        np.testing.assert_array_equal(loaded.optimizer.slots[slot][0], arrays[0])
    assert model.optimizer.slots  # momentum: there is state to restore
    assert loaded.optimizer.iterations == model.optimizer.iterations == 12
    assert loaded.evaluate(x, y) == model.evaluate(x, y)


def test_loaded_model_trains_on_like_the_original(saved):
    """Training state lives in the file, not in the History: one more step agrees exactly."""
    model, x, y, path = saved
    loaded = ff.load_model(path)
    model.layers[1].rate = loaded.layers[1].rate = 0.0  # dropout masks are not in the file
    assert loaded.train_on_batch(x, y) == model.train_on_batch(x, y)
    for w, lw in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(w, lw)
    assert loaded.optimizer.iterations == model.optimizer.iterations


@pytest.mark.parametrize("optimizer", [cls() for cls in ff.optimizers.ALL],
                         ids=lambda opt: type(opt).__name__)
def test_every_optimizers_state_survives_the_file(tmp_path, optimizer):
    """Slots and scalar state are saved: the loaded model's next steps equal the original's."""
    model, x, y = trained_model()
    model.layers[1].rate = 0.0  # dropout masks are not in the file
    model.compile(optimizer, "categorical_crossentropy")
    for _ in range(3):
        model.train_on_batch(x, y)
    model.save(tmp_path / "m.safetensors")
    loaded = ff.load_model(tmp_path / "m.safetensors")
    assert type(loaded.optimizer) is type(optimizer)
    assert loaded.optimizer.get_state() == model.optimizer.get_state()
    for _ in range(2):
        assert loaded.train_on_batch(x, y) == model.train_on_batch(x, y)
    for w, lw in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(w, lw)


def test_load_without_compile(saved):
    model, x, _, path = saved
    loaded = ff.load_model(path, compile=False)
    assert loaded.loss is None and loaded.optimizer is None
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_file_is_safetensors_with_named_tensors_and_metadata(saved):
    model, _, _, path = saved
    with safe_open(str(path), framework="numpy") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    assert meta["format"] == "feedforward"
    assert meta["format_version"] == "1"
    assert json.loads(meta["config"]) == model.get_config()
    # layers 1 (Dropout) and 3 (Activation) have no parameters; Maxout has no bias here
    names = ["layers.0.kernel", "layers.0.bias", "layers.2.kernel", "layers.4.kernel",
             "layers.4.bias"]
    assert sorted(k for k in tensors if k.startswith("layers.")) == sorted(names)
    for name, w in zip(names, model.get_weights(), strict=True):
        np.testing.assert_array_equal(tensors[name], w)
    assert not [k for k in tensors if not k.startswith(("layers.", "optimizer."))]


def test_saving_an_unbuilt_model_is_an_error(tmp_path):
    with pytest.raises(ff.FeedforwardError, match="not built"):
        ff.Sequential([ff.Dense(2)]).save(tmp_path / "m.safetensors")


# ------------------------------------------------------------------ atomic writes
def test_save_leaves_no_temporary_files_and_overwrites(saved):
    model, x, y, path = saved
    model.fit(x, y, epochs=1, verbose=0)
    model.save(path)  # overwrite in place
    assert os.listdir(path.parent) == [path.name]
    np.testing.assert_array_equal(ff.load_model(path).predict(x), model.predict(x))


def test_a_failed_write_keeps_the_old_file_and_cleans_up(saved, monkeypatch):
    model, x, y, path = saved
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(ff.fileio.os, "replace", crash)
    model.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(ff.FeedforwardError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == [path.name]


def test_save_into_a_missing_folder_is_a_clear_error(tmp_path):
    model, _, _ = trained_model()
    with pytest.raises(ff.FeedforwardError, match="does not exist"):
        model.save(tmp_path / "no" / "such" / "m.safetensors")
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------ refused files
def write_pickle_payload(path, marker):
    """A pickle whose loading creates ``marker`` (it would, if anything unpickled it)."""

    class Payload:
        def __reduce__(self):
            return open, (str(marker), "w")

    path.write_bytes(pickle.dumps(Payload()))


def test_the_pickle_payload_would_run_if_unpickled(tmp_path):
    # the control for the next test: the payload is live
    write_pickle_payload(tmp_path / "evil.pkl", tmp_path / "ran")
    pickle.loads((tmp_path / "evil.pkl").read_bytes()).close()
    assert (tmp_path / "ran").exists()


def test_a_pickle_file_is_refused_and_never_unpickled(tmp_path):
    path = tmp_path / "model.safetensors"
    write_pickle_payload(path, tmp_path / "ran")
    with pytest.raises(ff.FeedforwardError, match="not a readable safetensors file"):
        ff.load_model(path)
    assert not (tmp_path / "ran").exists()


def truncated(raw, fraction):
    return raw[:max(1, int(len(raw) * fraction))]


@pytest.mark.parametrize("make, match", [
    (lambda raw: truncated(raw, 0.5), "not a readable safetensors file"),
    (lambda raw: truncated(raw, 0.9), "truncated"),
    (lambda raw: raw[:-1], "truncated"),
    (lambda raw: raw[:5], "truncated"),
    (lambda raw: b"", "truncated"),
    (lambda raw: np.random.default_rng(0).bytes(4096), "not a readable safetensors file"),
    (lambda raw: b"name,value\nkernel,0.5\n" * 20, "not a readable safetensors file"),
], ids=["half", "90pct", "one_byte_short", "five_bytes", "empty", "random_bytes", "text"])
def test_damaged_or_foreign_bytes_are_refused(saved, make, match):
    _, _, _, path = saved
    path.write_bytes(make(path.read_bytes()))
    with pytest.raises(ff.FeedforwardError, match=match):
        ff.load_model(path)


def test_a_plain_safetensors_file_is_not_a_model(tmp_path):
    path = tmp_path / "weights.safetensors"
    save_file({"layers.0.kernel": np.zeros((3, 4), np.float32)}, str(path))
    with pytest.raises(ff.FeedforwardError, match="not a feedforward model file"):
        ff.load_model(path)


@pytest.mark.parametrize("where", ["missing", "folder"])
def test_a_missing_file_is_refused(tmp_path, where):
    path = tmp_path / "nothing.safetensors" if where == "missing" else tmp_path
    with pytest.raises(ff.FeedforwardError, match="no model file"):
        ff.load_model(path)


def crafted(tmp_path, config, tensors=None, **meta):
    path = tmp_path / "crafted.safetensors"
    if tensors is None:
        tensors = {"layers.0.kernel": np.zeros((3, 4), np.float32),
                   "layers.0.bias": np.zeros(4, np.float32)}
    save_file(tensors, str(path), metadata=meta_for(config, **meta))
    return path


def test_crafted_file_control_loads(tmp_path):
    # the untampered crafted file is accepted, so each refusal below is due to its one change
    model = ff.load_model(crafted(tmp_path, dense_config(4)), compile=False)
    assert [w.shape for w in model.get_weights()] == [(3, 4), (4,)]


@pytest.mark.parametrize("class_name", ["Evil", "os.system", "builtins.eval", "Sequential"])
def test_an_unknown_layer_class_is_refused(tmp_path, class_name):
    config = {"input_dim": 3, "layers": [{"class_name": class_name, "config": {}}]}
    with pytest.raises(ff.FeedforwardError, match="unknown layer") as info:
        ff.load_model(crafted(tmp_path, config))
    assert "Dense" in str(info.value)  # lists the known names


@pytest.mark.parametrize("field, value, match", [
    ("activation", {"class_name": "subprocess.call", "config": {}}, "unknown activation"),
    ("kernel_initializer", "evil", "unknown initializer"),
    ("units", "4; rm -rf /", "units"),
    ("no_such_argument", 1, "bad config"),
])
def test_unknown_names_inside_a_layer_config_are_refused(tmp_path, field, value, match):
    config = dense_config(4)
    config["layers"][0]["config"][field] = value
    with pytest.raises(ff.FeedforwardError, match=match):
        ff.load_model(crafted(tmp_path, config))


@pytest.mark.parametrize("config, match", [
    ([1, 2, 3], "config"),
    ("Dense", "config"),
    (None, "config"),
    ({"input_dim": 3}, "layers"),
    ({"input_dim": 3, "layers": ["Dense"]}, "config"),
    ({**dense_config(4), "input_dim": -3}, "input_dim"),
    ({**dense_config(4), "input_dim": "3"}, "input_dim"),
    ({**dense_config(4), "dtype": "float16"}, "dtype"),
], ids=["list", "string", "null", "no_layers", "layer_not_dict", "negative_input_dim",
        "string_input_dim", "bad_dtype"])
def test_malformed_configs_are_refused(tmp_path, config, match):
    with pytest.raises(ff.FeedforwardError, match=match):
        ff.load_model(crafted(tmp_path, config))


@pytest.mark.parametrize("meta, match", [
    ({"config": "{not json"}, "not valid JSON"),
    ({"format_version": "99"}, "version"),
    ({"compile": "[1, 2]"}, "compile"),
    ({"compile": json.dumps({"optimizer": {"class_name": "SGD", "config": {"learning_rate": -1}},
                             "loss": {"class_name": "mse", "config": {}}})}, "learning_rate"),
    ({"compile": json.dumps({"optimizer": {"class_name": "SGD", "config": {}},
                             "loss": {"class_name": "os.remove", "config": {}}})}, "unknown loss"),
    ({"compile": "null", "feature_names": '["a", "b"'}, "not valid JSON"),
    ({"compile": "null", "feature_names": '["a", "b"]'}, "expected 3 names"),
    ({"compile": "null", "feature_names": '{"a": 1}'}, "expected 3 names"),
], ids=["config_not_json", "future_version", "compile_not_dict", "bad_learning_rate",
        "unknown_loss", "names_not_json", "names_too_few", "names_not_a_list"])
def test_malformed_metadata_is_refused(tmp_path, meta, match):
    path = tmp_path / "m.safetensors"
    base = meta_for(dense_config(4))
    save_file({"layers.0.kernel": np.zeros((3, 4), np.float32),
               "layers.0.bias": np.zeros(4, np.float32)}, str(path), metadata={**base, **meta})
    with pytest.raises(ff.FeedforwardError, match=match):
        ff.load_model(path)


@pytest.mark.parametrize("tensors, match", [
    ({"layers.0.kernel": np.zeros((4, 3), np.float32), "layers.0.bias": np.zeros(4, np.float32)},
     r"'layers.0.kernel' has shape \(4, 3\) but the config implies \(3, 4\)"),
    ({"layers.0.kernel": np.zeros((3, 4), np.float32)}, "missing"),
    ({"layers.0.kernel": np.zeros((3, 4), np.float32), "layers.0.bias": np.zeros(4, np.float32),
      "layers.1.kernel": np.zeros((4, 4), np.float32)}, "unexpected"),
    ({"layers.0.kernel": np.zeros((3, 4), np.float64), "layers.0.bias": np.zeros(4, np.float64)},
     "dtype"),
    ({"layers.0.kernel": np.full((3, 4), np.nan, np.float32),
      "layers.0.bias": np.zeros(4, np.float32)}, "finite"),
], ids=["transposed", "missing", "extra", "wrong_dtype", "nan_weights"])
def test_tensors_that_disagree_with_the_config_are_refused(tmp_path, tensors, match):
    with pytest.raises(ff.FeedforwardError, match=match):
        ff.load_model(crafted(tmp_path, dense_config(4), tensors))


def test_a_gigantic_layer_is_refused_before_allocating(tmp_path):
    path = crafted(tmp_path, dense_config(2**31 - 1))  # the widest layer allowed: 24 GiB
    with peak_memory() as peak, \
            pytest.raises(ff.FeedforwardError, match=r"config implies \(3, 2147483647\)"):
        ff.load_model(path)
    assert peak["bytes"] < 2**26


def test_a_gigantic_declared_tensor_is_refused_before_allocating(tmp_path):
    """Config and header agree on 8 TB of weights that the file does not hold."""
    units = 2**31 - 1  # the widest layer allowed
    config = dense_config(units, input_dim=1000)
    config["layers"][0]["config"]["use_bias"] = False
    header = {"__metadata__": meta_for(config),
              "layers.0.kernel": {"dtype": "F32", "shape": [1000, units],
                                  "data_offsets": [0, 4 * 1000 * units]}}
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    path = tmp_path / "giant.safetensors"
    path.write_bytes(struct.pack("<Q", len(head)) + head + bytes(64))
    with peak_memory() as peak, pytest.raises(ff.FeedforwardError, match="truncated"):
        ff.load_model(path)
    assert peak["bytes"] < 2**26


def test_an_optimizer_slot_of_the_wrong_size_is_refused(tmp_path):
    (slot,) = ff.optimizers.SGD(momentum=0.9).slot_names
    tensors = {"layers.0.kernel": np.zeros((3, 4), np.float32),
               "layers.0.bias": np.zeros(4, np.float32),
               f"optimizer.{slot}.0": np.zeros(10**3, np.float32)}
    compile_meta = {"optimizer": {"class_name": "SGD", "config": {"momentum": 0.9}},
                    "loss": {"class_name": "mse", "config": {}}, "metrics": []}
    path = crafted(tmp_path, dense_config(4), tensors, compile=json.dumps(compile_meta))
    with pytest.raises(ff.FeedforwardError, match="optimizer slot"):
        ff.load_model(path)


def test_a_header_whose_length_looks_like_pickle_magic_is_read(tmp_path):
    """A header of 1408 bytes starts the file with 80 05, pickle's protocol-5 magic: the file
    is still a safetensors file (a length, then that much JSON), and loads."""
    model = ff.Sequential([ff.Dense(2)], input_dim=3, seed=0)
    model.compile("sgd", "mse")
    path = tmp_path / "m.safetensors"
    model.save(path)
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    assert n < 1408  # padded with spaces, which the format allows after the JSON
    padded = (1408).to_bytes(8, "little") + data[8:8 + n] + b" " * (1408 - n) + data[8 + n:]
    assert padded[:2] == pickle.dumps(None, protocol=5)[:2]
    path.write_bytes(padded)
    loaded = ff.load_model(path)
    assert np.array_equal(loaded.params, model.params)
