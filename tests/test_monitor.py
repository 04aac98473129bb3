"""The training monitor: what it records, how often, against the math, for every layer type;
that it leaves training unchanged; its JSON export."""

from __future__ import annotations

import json

import numpy as np
import pytest

import feedforward as ff
from feedforward.diagnostics import Monitor

D = ff.Dense


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 6))
    y = (x[:, 0] + x[:, 1] ** 2 > 1).astype(int)
    return x, y


def _model(layers=None, optimizer="adam", seed=0):
    model = ff.Sequential(layers or [D(16, "relu"), D(8, "tanh"), D(2, "softmax")], seed=seed)
    model.compile(optimizer, "categorical_crossentropy")
    return model


def test_one_record_per_epoch_with_every_statistic(data):
    model, monitor = _model(), Monitor()
    history = model.fit(*data, epochs=4, batch_size=32, verbose=0, callbacks=[monitor])
    assert history.monitor is monitor
    assert [r["epoch"] for r in monitor.records] == [0, 1, 2, 3]
    assert [r["step"] for r in monitor.records] == [7, 14, 21, 28]  # 200 rows / 32 = 7 steps
    relu, tanh, out = monitor.records[-1]["layers"]
    common = {"grad_norm", "weight_norm", "update_ratio", "act_mean", "act_std", "units"}
    assert common | {"dead_fraction"} <= set(relu) and "saturated_fraction" not in relu
    assert common | {"saturated_fraction"} <= set(tanh) and "dead_fraction" not in tanh
    assert "saturated_fraction" not in out  # a confident output layer is not a problem
    assert all(0 < e["update_ratio"] < 1 for e in (relu, tanh, out))


@pytest.mark.parametrize("every, every_steps, steps", [(2, None, [14, 28]),
                                                       (1, 5, [5, 10, 15, 20, 25]),
                                                       (1, 1, list(range(1, 29)))])
def test_frequency(data, every, every_steps, steps):
    monitor = Monitor(every=every, every_steps=every_steps)
    _model().fit(*data, epochs=4, batch_size=32, verbose=0, callbacks=[monitor])
    assert [r["step"] for r in monitor.records] == steps
    assert all(e["update_ratio"] is not None for r in monitor.records for e in r["layers"]
               if "weight_norm" in e)


def test_training_is_unchanged_by_the_monitor(data):
    """The probe runs in inference mode: no dropout draws, same trajectory."""
    layers = lambda: [D(16, "relu"), ff.Dropout(0.3), D(2, "softmax")]  # noqa: E731
    a, b = _model(layers()), _model(layers())
    a.fit(*data, epochs=3, verbose=0)
    b.fit(*data, epochs=3, verbose=0, callbacks=[Monitor(every_steps=2)])
    np.testing.assert_array_equal(a.params, b.params)


@pytest.mark.parametrize("batch_size", [200, 32])
def test_update_ratio_is_the_last_sgd_step_over_the_weights(data, batch_size):
    """Plain SGD moves the weights by lr * g, so the ratio is lr * ||g|| / ||w||."""
    lr = 0.05
    monitor = Monitor()
    _model(optimizer=ff.optimizers.SGD(lr)).fit(*data, epochs=2, batch_size=batch_size,
                                                 verbose=0, callbacks=[monitor])
    for e in monitor.records[-1]["layers"]:
        assert e["update_ratio"] == pytest.approx(lr * e["grad_norm"] / e["weight_norm"],
                                                  rel=1e-4)


def test_statistics_against_numpy_on_a_given_probe(data):
    x, y = data
    probe = x[:50]
    model = _model([D(16, "relu", bias_initializer=ff.initializers.Constant(-0.5)),
                    D(8, "sigmoid"), D(2, "softmax")])
    monitor = Monitor(probe=probe)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[monitor])
    w1, b1, w2, b2, w3, b3 = model.get_weights()
    h1 = np.maximum(probe @ w1 + b1, 0)
    h2 = 1 / (1 + np.exp(-(h1 @ w2 + b2)))
    relu, sig, _ = monitor.records[0]["layers"]
    assert relu["dead_fraction"] == pytest.approx(np.mean(~(h1 > 0).any(axis=0)))
    assert relu["act_mean"] == pytest.approx(h1.mean(), rel=1e-4)
    assert relu["act_std"] == pytest.approx(h1.std(), rel=1e-4)
    assert sig["saturated_fraction"] == pytest.approx(np.mean(h2 * (1 - h2) < 0.0125), abs=0.01)
    assert relu["weight_norm"] == pytest.approx(np.sqrt((w1 ** 2).sum() + (b1 ** 2).sum()),
                                                rel=1e-5)
    assert monitor.inputs["std"] == pytest.approx(probe.std(axis=0), rel=1e-4)


def test_dead_and_saturated_extremes(data):
    x, y = data
    dead = Monitor()
    _model([D(16, "relu", bias_initializer=ff.initializers.Constant(-100.0)),
            D(2, "softmax")]).fit(x, y, epochs=1, verbose=0, callbacks=[dead])
    assert dead.records[0]["layers"][0]["dead_fraction"] == 1.0
    saturated = Monitor()
    _model([D(16, "tanh"), D(2, "softmax")]).fit(x * 1000, y, epochs=1, verbose=0,
                                                   callbacks=[saturated])
    assert saturated.records[0]["layers"][0]["saturated_fraction"] > 0.95


@pytest.mark.parametrize("layer", [D(8, "relu"), ff.Activation("tanh"), ff.Dropout(0.5),
                                   ff.Maxout(4, pieces=3)], ids=lambda layer: layer.name)
def test_every_layer_type(data, layer):
    assert type(layer) in ff.layers.ALL
    monitor = Monitor()
    _model([D(8, "linear"), layer, D(2, "softmax")]).fit(*data, epochs=1, verbose=0,
                                                          callbacks=[monitor])
    entries = {e["index"]: e for e in monitor.records[0]["layers"]}
    if isinstance(layer, ff.Dropout):  # the identity in inference: nothing to report
        assert sorted(entries) == [0, 2]
        return
    entry = entries[1]
    assert entry["layer"] == type(layer).__name__
    assert ("grad_norm" in entry) == bool(layer.count_params())
    assert np.isfinite(entry["act_mean"]) and entry["act_std"] > 0


def test_probe_size_and_symmetry(data):
    monitor = Monitor(probe_size=40)
    model = _model([D(8, "tanh", kernel_initializer="zeros"), D(2, "softmax",
                                                                kernel_initializer="zeros")])
    model.fit(*data, epochs=2, batch_size=16, verbose=0, callbacks=[monitor])
    assert len(monitor._probe) == 40  # gathered over the first three batches of 16
    assert monitor.records[-1]["layers"][0]["symmetric"] is True
    healthy = Monitor()
    _model().fit(*data, epochs=1, verbose=0, callbacks=[healthy])
    assert not any(e.get("symmetric") for e in healthy.records[0]["layers"])


def test_json_export_round_trips(data, tmp_path):
    monitor = Monitor()
    _model().fit(*data, epochs=2, verbose=0, callbacks=[monitor])
    path = tmp_path / "monitor.json"
    text = monitor.to_json(path)
    assert json.loads(path.read_text()) == json.loads(text) == monitor.to_dict()
    assert len(json.loads(text)["records"]) == 2


def test_measure_outside_fit(data):
    x, _ = data
    model = ff.Sequential([D(4, "relu"), D(2, "softmax")], input_dim=6, seed=0)
    record = Monitor(probe=x).measure(model)
    assert record["layers"][0]["update_ratio"] is None
    with pytest.raises(ff.FeedforwardError, match="probe="):
        Monitor().measure(model)


@pytest.mark.parametrize("kwargs, name", [({"every": 0}, "every"),
                                          ({"every_steps": 0}, "every_steps"),
                                          ({"probe_size": 0}, "probe_size")])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ff.FeedforwardError, match=name):
        Monitor(**kwargs)
