"""Issue 17, the engine: no silent wrong answers and bounded memory in the library itself.

The output layer, the loss and the targets must fit together; scalers give finite statistics
for any finite data, so every file that ``save`` writes is one that ``load_model`` reads; the
class list matches the outputs; work arrays are bounded; a model file is read into memory
once; and messages show plain numbers.
"""

import json
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import feedforward as ff
from feedforward.cli import main as cli_main
from feedforward.errors import FeedforwardError

RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 4))
Y2 = (X[:, 0] > 0).astype(int)
Y3 = np.arange(60) % 3


def _model(units, activation, loss, **kwargs):
    model = ff.Sequential([ff.Dense(6, activation="tanh"), ff.Dense(units, activation=activation)],
                          seed=0, **kwargs)
    model.compile(ff.optimizers.Adam(0.05), loss, ["accuracy"])
    return model


# ------------------------------------------------------------------ item 5: output, loss, targets
@pytest.mark.parametrize("loss", ["categorical_crossentropy", "binary_crossentropy", "mse"])
def test_softmax_over_one_output_is_refused_and_the_fix_named(loss):
    """Softmax over one output is 1 whatever the input: loss 0 and accuracy 1, one class."""
    with pytest.raises(FeedforwardError, match="always 1") as e:
        _model(1, "softmax", loss)
    assert "activation='sigmoid'" in str(e.value)
    assert "binary_crossentropy" in str(e.value)


def test_categorical_crossentropy_over_one_output_is_refused():
    with pytest.raises(FeedforwardError, match="one output per class") as e:
        _model(1, "sigmoid", "categorical_crossentropy")
    assert "binary_crossentropy" in str(e.value)


@pytest.mark.parametrize("units, activation, loss, fix", [
    (3, "sigmoid", "categorical_crossentropy", "activation='softmax'"),
    (3, "linear", "categorical_crossentropy", "activation='softmax'"),
    (1, "linear", "binary_crossentropy", "activation='sigmoid'"),
    (1, "tanh", "binary_crossentropy", "activation='sigmoid'"),
])
def test_cross_entropy_needs_probabilities_from_the_output_layer(units, activation, loss, fix):
    with pytest.raises(FeedforwardError, match=f"compile: {loss}") as e:
        _model(units, activation, loss)
    assert fix in str(e.value) and repr(activation) in str(e.value)


def test_a_refused_compile_leaves_the_model_uncompiled():
    model = ff.Sequential([ff.Dense(1, activation="softmax")], input_dim=4)
    with pytest.raises(FeedforwardError):
        model.compile("sgd", "categorical_crossentropy")
    assert model.loss is None and model.optimizer is None


def test_a_layer_added_after_compile_is_checked_when_the_model_is_built():
    model = ff.Sequential([ff.Dense(6, activation="tanh")])
    model.compile("sgd", "mse")
    model.add(ff.Dense(1, activation="softmax"))
    with pytest.raises(FeedforwardError, match="always 1"):
        model.fit(X, Y2, epochs=1, verbose=0)


@pytest.mark.parametrize("units, activation, loss", [
    (1, "sigmoid", "binary_crossentropy"), (2, "softmax", "categorical_crossentropy"),
    (3, "softmax", "binary_crossentropy"), (3, "sigmoid", "binary_crossentropy"),
    (2, "softmax", "mse"), (1, "sigmoid", "mse"), (1, "linear", "huber"),
])
def test_the_combinations_that_train_right_are_accepted(units, activation, loss):
    _model(units, activation, loss)


def test_binary_crossentropy_over_k_outputs_with_labels_names_softmax():
    model = _model(3, "sigmoid", "binary_crossentropy")
    with pytest.raises(FeedforwardError, match="binary cross-entropy over 3 outputs") as e:
        model.fit(X, Y3, epochs=1, verbose=0)
    assert "Dense(3, activation='softmax')" in str(e.value)
    assert "categorical_crossentropy" in str(e.value)


def test_labels_beyond_one_for_one_sigmoid_output_name_the_output_they_need():
    model = _model(1, "sigmoid", "binary_crossentropy")
    with pytest.raises(FeedforwardError, match=r"in \[0, 1\], got values in \[0, 2\]") as e:
        model.fit(X, Y3, epochs=1, verbose=0)
    assert "Dense(3, activation='softmax')" in str(e.value)


def test_labels_out_of_range_of_the_outputs_name_the_width_they_need():
    model = _model(2, "softmax", "categorical_crossentropy")
    with pytest.raises(FeedforwardError, match=r"got labels in \[0, 5\]; 6 classes need an "
                                               "output layer of 6 units"):
        model.fit(X, np.arange(60) % 6, epochs=1, verbose=0)


def test_categorical_targets_outside_zero_one_are_refused():
    model = _model(3, "softmax", "categorical_crossentropy")
    with pytest.raises(FeedforwardError, match=r"probability rows in \[0, 1\]"):
        model.fit(X, np.eye(3)[Y3] * 5, epochs=1, verbose=0)


# ------------------------------------------------------------------ item 6: scalers and files
EXTREMES = [1e300, -1e300, 1e-300, -1e-300, 1.7e308, -1.7e308, 5e-324, 0.0, 1.0]
finite = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(EXTREMES)


@pytest.mark.parametrize("scaler", [ff.data.StandardScaler, ff.data.MinMaxScaler])
@pytest.mark.parametrize("column", [[1e300, -1e300, 0.0], [1.7e308, 1.7e308, -1.7e308],
                                    [1e-300, 2e-300, 3e-300], [1.7e308, 1.7e308, 1.7e308]])
def test_scalers_fitted_on_extremes_give_finite_statistics_and_values(scaler, column):
    x = np.array(column)[:, None]
    s = scaler().fit(x)
    assert all(np.isfinite(a).all() for a in s.get_state().values())
    out = s.transform(x)
    assert np.isfinite(out).all() and np.abs(out).max() <= 2  # standardized or in range
    if len(set(column)) > 1:  # distinct inputs stay distinct
        assert len(np.unique(out)) == len(set(column))


def test_the_extreme_scaling_equals_numpy_on_ordinary_data():
    x = RNG.normal(40, 7, (500, 3))
    s = ff.data.StandardScaler().fit(x)
    assert np.array_equal(s.mean_, x.mean(axis=0)) and np.array_equal(s.scale_, x.std(axis=0))


def test_an_image_mean_of_huge_values_is_finite():
    x = np.full((4, 2, 2), 1.7e308)
    for mode in ("pixel", "channel"):
        mean = ff.data.ImageMeanSubtraction(mode).fit(x).mean_
        assert np.isfinite(mean).all() and np.allclose(mean, 1.7e308)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(x=hnp.arrays(np.float64, st.tuples(st.integers(2, 8), st.integers(1, 3)), elements=finite),
       scaler=st.sampled_from(["standard_scaler", "min_max_scaler", None]),
       dtype=st.sampled_from(["float32", "float64"]),
       numpy_classes=st.booleans())
def test_every_file_that_save_writes_is_one_that_load_model_reads(tmp_path, x, scaler, dtype,
                                                                  numpy_classes):
    """After fit on any finite data, save either refuses or writes a file that loads."""
    classes = np.array([3, 7]) if numpy_classes else ["no", "yes"]
    model = ff.Sequential([ff.Dense(3, activation="tanh"), ff.Dense(1, activation="sigmoid")],
                          seed=0, dtype=dtype, classes=classes,
                          preprocessing=scaler)
    model.compile(ff.optimizers.Adam(0.01), "binary_crossentropy")
    y = np.arange(len(x)) % 2
    path = tmp_path / "m.safetensors"
    try:
        with np.errstate(all="ignore"):  # 1e300 unscaled overflows, and training diverges
            model.fit(x, y, epochs=2, batch_size=4, verbose=0)
        model.save(path)
    except FeedforwardError:
        return  # a clear refusal (e.g. 1e300 for float32 without a scaler) writes nothing
    again = ff.load_model(path)
    assert again.classes == model.classes
    with np.errstate(over="ignore"):  # 1.7e308 in two columns overflows a sum: tanh(inf) = 1
        assert np.array_equal(again.predict(x), model.predict(x))


# ------------------------------------------------------------------ item 10: classes and outputs
@pytest.mark.parametrize("units, activation, classes", [
    (3, "softmax", ["a", "b"]), (3, "softmax", ["a", "b", "c", "d"]),
    (1, "sigmoid", ["a", "b", "c"]), (1, "sigmoid", ["a"]),
])
def test_a_class_list_that_does_not_match_the_outputs_is_refused(units, activation, classes):
    with pytest.raises(FeedforwardError, match=f"classes: .* got {len(classes)}"):
        ff.Sequential([ff.Dense(units, activation=activation)], classes=classes)


def test_an_unordered_class_list_is_refused():
    with pytest.raises(FeedforwardError, match="in the order of the outputs"):
        ff.Sequential([ff.Dense(2, activation="softmax")], classes={"cat", "dog"})


def test_the_class_count_is_checked_when_layers_come_later():
    model = ff.Sequential(classes=["a", "b", "c"])
    model.add(ff.Dense(2, activation="softmax"))
    with pytest.raises(FeedforwardError, match="needs 2 class names, got 3"):
        model.build(4)


def test_one_sigmoid_output_takes_two_classes_and_numpy_labels_become_plain(tmp_path):
    model = ff.Sequential([ff.Dense(1, activation="sigmoid")], input_dim=2,
                          classes=np.array([0, 1]))
    assert model.classes == [0, 1] and all(type(c) is int for c in model.classes)
    model.save(tmp_path / "m.safetensors")  # np.int64 is not JSON: this raised TypeError
    assert ff.load_model(tmp_path / "m.safetensors").classes == [0, 1]


def _with_classes(tmp_path, classes):
    model = ff.Sequential([ff.Dense(3, activation="softmax")], input_dim=2, classes=list("abc"))
    path = tmp_path / "m.safetensors"
    model.save(path)
    from safetensors import safe_open
    from safetensors.numpy import save_file
    with safe_open(str(path), framework="numpy") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        meta = f.metadata()
    config = json.loads(meta["config"])
    config["classes"] = classes
    save_file(tensors, str(path), metadata={**meta, "config": json.dumps(config)})
    return path


@pytest.mark.parametrize("count", [2, 15_000])
def test_a_file_whose_classes_do_not_match_the_outputs_is_refused(tmp_path, count):
    path = _with_classes(tmp_path, [f"class {i}" for i in range(count)])
    with pytest.raises(FeedforwardError, match=f"needs 3 class names, got {count}"):
        ff.load_model(path)


def test_a_file_whose_classes_repeat_is_refused(tmp_path):
    with pytest.raises(FeedforwardError, match="'a' twice"):
        ff.load_model(_with_classes(tmp_path, ["a", "b", "a"]))


# ------------------------------------------------------------------ item 8: bounded work arrays
def _held(model) -> int:
    return sum(a.nbytes for layer in model.layers for a in layer._buffers.values())


def test_predict_on_ever_new_row_counts_keeps_the_work_arrays_bounded():
    widths = (48, 24, 3)
    model = ff.Sequential([ff.Dense(widths[0], activation="relu"),
                           ff.Dense(widths[1], activation="relu"),
                           ff.Dense(widths[2], activation="softmax")], input_dim=10, seed=0)
    x = RNG.normal(size=(400, 10))
    for n in range(1, 401):
        model.predict(x[:n])
    limit = ff.layers.Layer.MAX_BUFFERS * 400 * sum(widths) * 4  # MAX_BUFFERS of 400 rows
    assert _held(model) <= limit
    assert _held(model) < 0.1 * sum(n * sum(widths) * 4 for n in range(1, 401))


def test_training_reuses_its_work_arrays_across_steps_and_epochs():
    model = ff.Sequential([ff.Maxout(5, pieces=3), ff.Dense(3, activation="softmax")], seed=0)
    model.compile("sgd", "categorical_crossentropy")
    model.fit(X, Y3, epochs=1, batch_size=16, verbose=0, validation_split=0.2)
    before = {k: id(a) for layer in model.layers for k, a in layer._buffers.items()}
    model.fit(X, Y3, epochs=2, batch_size=16, verbose=0, validation_split=0.2)
    after = {k: id(a) for layer in model.layers for k, a in layer._buffers.items()}
    assert before == after  # full and last batch, of z and grad_z, and validation: all kept


# ------------------------------------------------------------------ item 11: reading a model file
def _sparse_file(path, n):
    """A file whose header declares a Dense(n) over n inputs; its data is a hole (all zeros)."""
    config = {"input_dim": n, "seed": 0, "dtype": "float32", "preprocessing": [],
              "classes": None, "layers": [{"class_name": "Dense", "config": {"units": n}}]}
    meta = {"format": "feedforward", "format_version": "1", "config": json.dumps(config),
            "compile": "null", "optimizer_state": "{}"}
    kernel = 4 * n * n
    header = {"__metadata__": meta,
              "layers.0.bias": {"dtype": "F32", "shape": [n], "data_offsets": [0, 4 * n]},
              "layers.0.kernel": {"dtype": "F32", "shape": [n, n],
                                  "data_offsets": [4 * n, 4 * n + kernel]}}
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(head)) + head)
        fh.truncate(8 + len(head) + 4 * n + kernel)
    return kernel + 4 * n


def _run(code):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)


def test_loading_allocates_each_tensor_once(tmp_path):
    path = tmp_path / "sparse.safetensors"
    size = _sparse_file(path, 4000)  # 61 MiB of weights
    result = _run(f"""
        import resource
        import feedforward as ff
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        model = ff.load_model({str(path)!r})
        assert not model.params.any()
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
    """)
    assert result.returncode == 0, result.stderr
    grown = int(result.stdout.split()[-1])
    assert grown < 1.4 * size  # was 3x: float64 initial weights, then two copies of the file's


def test_a_file_too_large_for_memory_is_the_library_error_naming_it(tmp_path):
    path = tmp_path / "big.safetensors"
    _sparse_file(path, 16_000)  # 1 GiB of weights, with the address space capped below it
    result = _run(f"""
        import resource
        import feedforward as ff
        with open("/proc/self/statm") as f:
            used = int(f.read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (used + 2**29, resource.RLIM_INFINITY))
        try:
            ff.load_model({str(path)!r})
        except ff.FeedforwardError as e:
            print("refused:", e)
    """)
    assert result.returncode == 0, result.stderr
    assert "refused:" in result.stdout and "big.safetensors" in result.stdout
    assert "memory" in result.stdout


# ------------------------------------------------------------------ smaller
@pytest.mark.parametrize("make, name", [
    (lambda: ff.Dense(10**400), "units"),
    (lambda: ff.Sequential([ff.Dense(2)], input_dim=10**400), "input_dim"),
    (lambda: ff.Maxout(2, pieces=10**400), "pieces"),
    (lambda: ff.Dropout(10**400), "rate"),
    (lambda: ff.Sequential([ff.Dense(2)], seed=10**5000), "seed"),
    (lambda: ff.Sequential([ff.Dense(2**31 - 1), ff.Dense(2**31 - 1)], input_dim=2), "build"),
])
def test_huge_integers_are_the_library_error(make, name):
    with pytest.raises(FeedforwardError, match=f"^{name}: ") as e:
        make()
    assert len(str(e.value)) < 300  # not the 5,000 digits


def test_a_layer_too_large_for_memory_is_the_library_error():
    """2 x 2**31 weights of float32 pass the bounds, then cannot be allocated twice over."""
    result = _run("""
        import resource
        import feedforward as ff
        with open("/proc/self/statm") as f:
            used = int(f.read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (used + 2**30, resource.RLIM_INFINITY))
        try:
            ff.Sequential([ff.Dense(2**31 - 1)], input_dim=2)
        except ff.FeedforwardError as e:
            print("refused:", e)
    """)
    assert result.returncode == 0, result.stderr
    assert "refused: build: not enough memory" in result.stdout


@pytest.mark.parametrize("classes, units, activation, expected", [
    (None, 1, "sigmoid", "probability of class 1"),
    (["low", "high"], 1, "sigmoid", "2 classes (low, high): probability of class high"),
    (["a", "b", "c"], 3, "softmax", "3 classes (a, b, c)"),
    (None, 2, "linear", "2 value(s)"),
])
def test_the_outputs_are_described_in_words(classes, units, activation, expected):
    model = ff.Sequential([ff.Dense(units, activation=activation)], input_dim=2, classes=classes)
    assert model.describe_outputs() == expected


def test_the_summary_command_names_the_class_a_binary_output_is_the_probability_of(tmp_path,
                                                                                 capsys):
    model = ff.Sequential([ff.Dense(1, activation="sigmoid")], input_dim=2)
    model.save(tmp_path / "m.safetensors")
    assert cli_main(["summary", str(tmp_path / "m.safetensors")]) == 0
    assert "outputs: probability of class 1" in capsys.readouterr().out


@pytest.mark.parametrize("make", [
    lambda: ff.Sequential([ff.Dense(2)], input_dim=np.float64(2.5)),
    lambda: ff.Dense(np.float32(3.5)),
    lambda: ff.Sequential([ff.Dense(2, activation="softmax")], classes=np.array([4, 4])),
    lambda: ff.data.LabelEncoder(classes=[np.int64(4), np.int64(4)]),
])
def test_messages_show_plain_numbers_not_numpy_reprs(make):
    with pytest.raises(FeedforwardError) as e:
        make()
    assert "np." not in str(e.value) and "dtype=" not in str(e.value)


def test_save_model_refuses_non_finite_optimizer_state_that_load_model_would_refuse(tmp_path):
    """The one writer of model files (the CLI's too) checks what the reader checks."""
    model = _model(3, "softmax", "categorical_crossentropy")
    model.fit(X, Y3, epochs=1, verbose=0)
    next(iter(model.optimizer.slots.values()))[0][0] = np.inf
    with pytest.raises(FeedforwardError, match="optimizer state are not finite"):
        ff.saving.save_model(model, tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists()


@pytest.mark.parametrize("mode", ["pixel", "channel"])
def test_an_image_mean_is_fitted_without_a_float64_copy_of_the_images(mode):
    import tracemalloc

    x = np.random.default_rng(0).integers(0, 256, size=(4000, 784)).astype(np.uint8)
    scaler = ff.data.ImageMeanSubtraction(mode=mode, image_shape=(28, 28, 1))
    tracemalloc.start()
    try:
        scaler.fit(x)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < x.nbytes  # a float64 copy would be 8 times x
    assert np.array_equal(scaler.mean_.ravel()[:5] if mode == "pixel" else scaler.mean_,
                          x.mean(axis=0, dtype=np.float64)[:5] if mode == "pixel"
                          else x.mean(dtype=np.float64, keepdims=True).ravel())
