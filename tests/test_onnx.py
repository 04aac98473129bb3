"""ONNX export: onnxruntime computes what ``model.predict`` computes, within 1e-5.

Every activation (by the registry, with non-default parameters too), every layer type, every
preprocessor, several opsets, a trained digits model, and the ``feedforward export`` command.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed")
ort = pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")

import feedforward as ff  # noqa: E402
from feedforward import onnx as ff_onnx  # noqa: E402
from feedforward.activations import ALL as ACTIVATIONS  # noqa: E402
from feedforward.cli import main  # noqa: E402

TOL = 1e-5
VARIANTS = [cls() for cls in ACTIVATIONS] + [
    ff.activations.LeakyReLU(0.3), ff.activations.ELU(0.5), ff.activations.GELU(approximate=True)]


def run_onnx(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": np.asarray(x, dtype=np.float32)})[0]


def max_error(model, path, x):
    return float(np.abs(run_onnx(path, x) - model.predict(x)).max())


def inputs(n=64, features=6, scale=3.0, seed=0):
    return np.random.default_rng(seed).normal(0, scale, (n, features))


def every_layer_model(dtype="float32", preprocessing=None):
    """Dense with each activation, Activation layers, Maxout and Dropout, in one network.

    Softmax squeezes 16 features into a simplex, so it comes late: the outputs keep a spread
    far above the tolerance.
    """
    order = sorted(VARIANTS, key=lambda f: f.name == "softmax")
    layers = [ff.Dense(16, activation=f, kernel_initializer="he_normal") for f in order]
    layers += [ff.Maxout(5, pieces=3), ff.Dropout(0.5), ff.Activation("softsign"),
               ff.Dense(7, use_bias=False), ff.Activation("gelu"), ff.Dense(4)]
    return ff.Sequential(layers, input_dim=6, seed=3, dtype=dtype, preprocessing=preprocessing)


@pytest.mark.parametrize("f", VARIANTS, ids=lambda f: f"{f.name}-{f.get_config()}")
@pytest.mark.parametrize("as_layer", [False, True], ids=["dense", "activation_layer"])
def test_each_activation_matches_predict(tmp_path, f, as_layer):
    layers = [ff.Dense(5), ff.Activation(f)] if as_layer else [ff.Dense(5, activation=f)]
    model = ff.Sequential(layers, input_dim=6, seed=1)
    ff_onnx.export_onnx(model, tmp_path / "m.onnx")
    # wide rows reach every saturation and large-x formula; narrow rows the curved middle
    x = np.vstack([inputs(scale=10.0), inputs(scale=0.5, seed=1)])
    assert max_error(model, tmp_path / "m.onnx", x) <= TOL


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_layer_type_with_scaling_matches_predict(tmp_path, dtype):
    x = inputs(n=200) * 5 + 40  # far from zero mean and unit variance
    model = every_layer_model(dtype, preprocessing=ff.data.StandardScaler())
    model.preprocessing[0].fit(x)
    proto = ff_onnx.export_onnx(model, tmp_path / "m.onnx")
    ops = {node.op_type for node in proto.graph.node}
    assert {"Sub", "Div", "MatMul", "Reshape", "ReduceMax", "Erf", "Softmax"} <= ops
    assert "Dropout" not in ops
    out = run_onnx(tmp_path / "m.onnx", x)
    assert out.shape == (200, 4)
    assert np.abs(out - model.predict(x)).max() <= TOL
    assert np.ptp(out, axis=0).min() > 100 * TOL  # the outputs vary: the comparison has teeth


def test_maxout_picks_the_right_pieces(tmp_path):
    """Column j*pieces + k belongs to unit j: a wrong reshape order would still run."""
    model = ff.Sequential([ff.Maxout(4, pieces=3)], input_dim=6, seed=0)
    ff_onnx.export_onnx(model, tmp_path / "m.onnx")
    x = inputs()
    z = (x @ model.layers[0].params["kernel"]).reshape(len(x), 4, 3).max(axis=2)
    np.testing.assert_allclose(run_onnx(tmp_path / "m.onnx", x), z, atol=TOL)


PREPROCESSORS = [
    ff.data.StandardScaler(), ff.data.StandardScaler(with_mean=False),
    ff.data.MinMaxScaler(), ff.data.MinMaxScaler(feature_range=(0, 2)),
    ff.data.ImageMeanSubtraction("pixel"), ff.data.ImageMeanSubtraction("image"),
    ff.data.ImageMeanSubtraction("channel", image_shape=(2, 2, 3)),
]


@pytest.mark.parametrize("p", PREPROCESSORS, ids=lambda p: f"{p.name}-{p.get_config()}")
def test_each_preprocessor_matches_predict(tmp_path, p):
    x = inputs(n=100, features=12) * 4 + np.arange(12)  # per-feature offsets
    x[:, 5] = 7.0  # a constant feature: the scalers' special case
    p.fit(x)
    model = ff.Sequential([ff.Dense(3)], input_dim=12, seed=0, preprocessing=p)
    ff_onnx.export_onnx(model, tmp_path / "m.onnx")
    assert max_error(model, tmp_path / "m.onnx", inputs(n=30, features=12, seed=1) * 4) <= TOL


@pytest.mark.parametrize("opset", [13, ff_onnx.OPSET, 18, 21])
def test_opsets_are_stated_and_give_the_same_outputs(tmp_path, opset):
    x = inputs(n=50, features=12)
    model = ff.Sequential([ff.Maxout(4, pieces=2), ff.Dense(3, activation="gelu")],
                          input_dim=12, seed=0,
                          preprocessing=ff.data.ImageMeanSubtraction("image"))
    ff_onnx.export_onnx(model, tmp_path / "m.onnx", opset=opset)
    loaded = onnx.load(str(tmp_path / "m.onnx"))
    onnx.checker.check_model(loaded, full_check=True)
    assert [(o.domain, o.version) for o in loaded.opset_import] == [("", opset)]
    assert f"opset {opset}" in loaded.doc_string
    assert max_error(model, tmp_path / "m.onnx", x) <= TOL


def test_batch_dimension_is_dynamic_and_classes_are_kept(tmp_path):
    model = ff.Sequential([ff.Dense(3, activation="softmax")], input_dim=4, seed=0,
                          classes=["a", "b", "c"])
    proto = ff_onnx.export_onnx(model, tmp_path / "m.onnx")
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert (dims[0].dim_param, dims[1].dim_value) == ("batch", 4)
    assert {p.key: p.value for p in proto.metadata_props} == {"classes": '["a", "b", "c"]'}
    for n in (1, 7, 300):
        assert run_onnx(tmp_path / "m.onnx", inputs(n, 4)).shape == (n, 3)
    model.feature_names = ["w", "x", "y", "z"]  # the order a consumer must give the columns in
    proto = ff_onnx.export_onnx(model, tmp_path / "n.onnx")
    assert {p.key: p.value for p in proto.metadata_props}["feature_names"] == \
        '["w", "x", "y", "z"]'


def test_trained_digits_model_matches_predict(tmp_path):
    datasets = pytest.importorskip("sklearn.datasets")
    x, y = datasets.load_digits(return_X_y=True)
    model = ff.Sequential([ff.Dense(32, activation="relu"), ff.Dropout(0.1),
                           ff.Maxout(16, pieces=2), ff.Dense(10, activation="softmax")],
                          seed=0, preprocessing=ff.data.StandardScaler())
    model.compile(ff.optimizers.Adam(0.01), "sparse_categorical_crossentropy", ["accuracy"])
    model.fit(x, y, epochs=3, batch_size=64, verbose=0)
    ff_onnx.export_onnx(model, tmp_path / "digits.onnx")
    out, ours = run_onnx(tmp_path / "digits.onnx", x), model.predict(x)
    assert np.abs(out - ours).max() <= TOL
    assert (out.argmax(axis=1) == y).mean() > 0.9  # trained: not a trivial comparison


@pytest.mark.parametrize("opset", [12, 10_000])
def test_bad_opset_is_named(tmp_path, opset):
    model = ff.Sequential([ff.Dense(2)], input_dim=2)
    with pytest.raises(ff.FeedforwardError, match="opset"):
        ff_onnx.export_onnx(model, tmp_path / "m.onnx", opset=opset)


def test_unbuilt_model_and_unfitted_preprocessing_are_errors(tmp_path):
    with pytest.raises(ff.FeedforwardError, match="not built"):
        ff_onnx.export_onnx(ff.Sequential([ff.Dense(2)]), tmp_path / "m.onnx")
    model = ff.Sequential([ff.Dense(2)], input_dim=2, preprocessing=ff.data.MinMaxScaler())
    with pytest.raises(ff.FeedforwardError, match=r"preprocessing\[0\] \(MinMaxScaler\)"):
        ff_onnx.export_onnx(model, tmp_path / "m.onnx")


def test_missing_onnx_package_is_a_feedforward_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes `import onnx` raise ImportError
    with pytest.raises(ff.FeedforwardError, match=r"feedforward\[onnx\]"):
        ff_onnx.export_onnx(ff.Sequential([ff.Dense(2)], input_dim=2), tmp_path / "m.onnx")


# ---------------------------------------------------------------------------- the command
def test_export_command_writes_a_model_onnxruntime_runs(tmp_path):
    x = inputs(n=80) + 10
    model = every_layer_model(preprocessing=ff.data.StandardScaler())
    model.preprocessing[0].fit(x)
    model.save(tmp_path / "model.safetensors")
    done = subprocess.run(
        [sys.executable, "-m", "feedforward.cli", "export", "model.safetensors", "--onnx",
         "model.onnx"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"opset {ff_onnx.OPSET}" in done.stdout
    assert max_error(model, tmp_path / "model.onnx", x) <= TOL


def test_export_command_errors_are_one_line(tmp_path, capsys, monkeypatch):
    assert main(["export", str(tmp_path / "nothing.safetensors"), "--onnx", "m.onnx"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "feedforward export: error: MODEL: no model file" in err
    ff.Sequential([ff.Dense(2)], input_dim=2).save(tmp_path / "model.safetensors")
    assert main(["export", str(tmp_path / "model.safetensors"), "--onnx",
                 str(tmp_path / "no" / "m.onnx")]) == 2
    assert "--onnx: no directory" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert main(["export", str(tmp_path / "model.safetensors"), "--onnx",
                 str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "onnx package is not installed" in err


@pytest.mark.parametrize("scaler", [ff.data.StandardScaler, ff.data.MinMaxScaler])
def test_features_far_from_zero_against_their_spread_are_warned_of(tmp_path, scaler):
    x = inputs(200, 3)
    x[:, 1] = x[:, 1] * 30 + 1.7e9  # timestamps a few minutes apart
    model = ff.Sequential([ff.Dense(4, activation="tanh"), ff.Dense(1)], input_dim=3, seed=0,
                          preprocessing=scaler())
    model.preprocessing[0].fit(x)
    with pytest.warns(UserWarning, match=r"feature\(s\) 1 are large against their spread"):
        ff_onnx.export_onnx(model, tmp_path / "far.onnx")
    assert max_error(model, tmp_path / "far.onnx", x) > 1e-3  # the loss it warns of is real
    shifted = x - np.array([0.0, 1.7e9, 0.0])  # the advice: subtract an offset
    model.preprocessing[0].fit(shifted)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ff_onnx.export_onnx(model, tmp_path / "near.onnx")
    assert max_error(model, tmp_path / "near.onnx", shifted) < TOL
