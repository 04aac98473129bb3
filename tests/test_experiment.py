"""The experiment recipe (feedforward.experiment): a config becomes a plan, a model and a fit,
the same model whichever surface asks for it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from feedforward import config, experiment
from feedforward.cli.main import main as cli_main
from feedforward.data import sources
from feedforward.errors import FeedforwardError
from feedforward.model import load_model
from feedforward.tune.trial import Bundle, run_trial


def _cfg(**values):
    return config.resolve(values)


# ---------------------------------------------------------------------------- output_for
@pytest.mark.parametrize("task, n, loss, activation, want", [
    ("classification", 2, "auto", "auto", (1, "sigmoid", "binary_crossentropy")),
    ("classification", 3, "auto", "auto", (3, "softmax", "categorical_crossentropy")),
    ("classification", 2, "categorical_crossentropy", "auto",
     (2, "softmax", "categorical_crossentropy")),
    ("classification", 3, "cce", "auto", (3, "softmax", "categorical_crossentropy")),
    ("classification", 2, "log_loss", "auto", (1, "sigmoid", "binary_crossentropy")),
    ("classification", 4, "auto", "Softmax", (4, "softmax", "categorical_crossentropy")),
    ("multilabel", 4, "auto", "auto", (4, "sigmoid", "binary_crossentropy")),
    ("multilabel", 2, "binary_crossentropy", "auto", (2, "sigmoid", "binary_crossentropy")),
    ("regression", None, "auto", "auto", (1, "linear", "mse")),
    ("regression", 7, "auto", "auto", (1, "linear", "mse")),  # classes mean nothing here
    ("regression", None, "huber", "auto", (1, "linear", "huber")),
    ("regression", None, "mean_absolute_error", "relu", (1, "relu", "mae")),
    ("regression", None, "sse", "tanh", (1, "tanh", "sse")),
])
def test_output_for_gives_the_output_layer_and_loss_of_a_task(task, n, loss, activation, want):
    assert experiment.output_for(task, n, loss, activation) == want


def test_output_for_a_regression_of_several_targets():
    assert experiment.output_for("regression", targets=3) == (3, "linear", "mse")


@pytest.mark.parametrize("task, n, loss, activation, match", [
    ("classification", 3, "mse", "auto", r"^loss: mse is a regression loss, but the data is a "
                                         r"classification task \(3 classes\)"),
    ("classification", 2, "huber", "auto", r"^loss: huber is a regression loss"),
    ("regression", None, "binary_crossentropy", "auto",
     r"^loss: binary_crossentropy needs class labels"),
    ("regression", None, "categorical_crossentropy", "auto", r"^loss: categorical_cross"),
    ("classification", 3, "binary_crossentropy", "auto",
     r"^loss: binary_crossentropy takes two classes, the data has 3"),
    ("multilabel", 3, "categorical_crossentropy", "auto", r"^loss: multilabel targets take "
                                                          r"binary_crossentropy"),
    ("classification", 2, "auto", "softmax", r"^output_activation: softmax over a single output"),
    ("classification", 3, "auto", "sigmoid", r"^output_activation: categorical_crossentropy "
                                             r"reads the outputs as probabilities"),
    ("classification", 2, "auto", "relu", r"^output_activation: binary_crossentropy reads"),
    ("mystery", 2, "auto", "auto", r"^task: expected one of classification, regression"),
    ("classification", None, "auto", "auto", r"^n_classes: expected a positive integer"),
    ("classification", 0, "auto", "auto", r"^n_classes: expected a positive integer"),
])
def test_output_for_refuses_what_the_task_cannot_use_naming_the_option(task, n, loss,
                                                                       activation, match):
    with pytest.raises(FeedforwardError, match=match):
        experiment.output_for(task, n, loss, activation)


def test_output_for_names_the_option_as_the_caller_labels_it():
    with pytest.raises(FeedforwardError, match=r"^--loss: mse is a regression loss, but iris "):
        experiment.output_for("classification", 3, "mse", data="iris",
                              label=lambda key: "--" + key)


# ---------------------------------------------------------------------------- the plan
def test_the_plan_makes_every_auto_concrete():
    cfg = _cfg(dataset="iris", layers=[16], epochs=3)
    data, parts = experiment.load(cfg)
    plan = experiment.make_plan(cfg, data, len(parts.x_train))
    assert (plan.task, plan.loss, plan.output_activation, plan.units) == (
        "classification", "categorical_crossentropy", "softmax", 3)
    assert plan.metrics == ["accuracy"] and plan.monitor == "val_loss"
    assert (plan.hidden_init, plan.output_init) == ("he_uniform", "glorot_uniform")
    assert plan.steps_per_epoch == -(-len(parts.x_train) // 32)
    assert plan.learning_rate == 0.01  # Adam's own 1e-3, raised: 3 steps per epoch
    assert plan.notes["loss"] == "categorical_crossentropy"
    assert plan.notes["learning_rate"] == ("0.01 (Adam's default 0.001, raised for 3 steps "
                                           "per epoch)")
    assert plan.notes["samples"] == "150 samples"
    assert experiment.optimizer(cfg, plan).learning_rate == pytest.approx(0.01)


@pytest.mark.parametrize("rate, steps, want", [
    (1e-3, 1, 0.01), (1e-3, 10, 0.01), (1e-3, 34, 0.0029), (1e-3, 100, 1e-3),
    (1e-3, 1000, 1e-3), (0.002, 100, 0.002), (1.0, 3, 1.0)])
def test_epochs_of_few_steps_get_a_larger_default_rate(rate, steps, want):
    assert experiment.short_epoch_rate(rate, steps) == pytest.approx(want)


@pytest.mark.parametrize("name, batch, rate, note", [
    ("sgd", 32, 0.01, "SGD's default, 0.01"),        # its own is already 0.01
    ("adadelta", 32, 1.0, "Adadelta's default, 1"),  # its own is higher: kept
    ("nadam", 32, 0.01, "0.01 (Nadam's default 0.002, raised for 3 steps per epoch)"),
    ("adam", 2, 0.0022, "0.0022 (Adam's default 0.001, raised for 45 steps per epoch)")])
def test_an_unset_rate_is_the_recipes_rule_and_a_set_one_is_kept(name, batch, rate, note):
    cfg = _cfg(dataset="iris", layers=[4], optimizer=name, batch_size=batch)
    data, parts = experiment.load(cfg)
    plan = experiment.make_plan(cfg, data, len(parts.x_train))
    assert plan.learning_rate == pytest.approx(rate) and plan.notes["learning_rate"] == note
    assert experiment.optimizer(cfg, plan).learning_rate == pytest.approx(rate)
    # a rate that is set is taken as it is, below the rule's too
    cfg = _cfg(dataset="iris", layers=[4], optimizer=name, learning_rate=1e-4)
    plan = experiment.make_plan(cfg, data, len(parts.x_train))
    assert plan.learning_rate == 1e-4 and "learning_rate" not in plan.notes


def test_the_plan_of_a_regression_and_a_schedule():
    cfg = _cfg(dataset="diabetes", activation="selu", schedule="cosine", learning_rate=0.01,
               epochs=4, batch_size=100, val=0.0)
    data, parts = experiment.load(cfg)
    plan = experiment.make_plan(cfg, data, len(parts.x_train))
    assert (plan.loss, plan.output_activation, plan.units) == ("mse", "linear", 1)
    assert plan.metrics == ["mae", "r2"] and plan.monitor == "loss"
    assert plan.hidden_init == "lecun_normal"
    steps = -(-len(parts.x_train) // 100)
    assert plan.notes["decay_steps"] == f"{4 * steps} steps ({steps} per epoch)"
    assert plan.learning_rate(0) == pytest.approx(0.01)


def test_the_plan_refuses_a_loss_the_data_cannot_serve_naming_the_flag():
    cfg = _cfg(dataset="iris", loss="mse")
    data, parts = experiment.load(cfg)
    with pytest.raises(FeedforwardError, match=r"^--loss: mse is a regression loss, but iris"):
        experiment.make_plan(cfg, data, len(parts.x_train))


# ---------------------------------------------------------------------------- the model
def test_a_model_is_built_without_a_file_dataset():
    cfg = config.validate(config.Config({**config.DEFAULTS, "layers": [4, 3], "seed": 5}))
    data = experiment.data_like(2, "classification", classes=["a", "b"])
    plan = experiment.make_plan(cfg, data, n_train=100)
    model = experiment.build_model(cfg, plan, data)
    assert model.input_dim == 2 and model.output_shape == (None, 1) and model.classes == ["a", "b"]
    assert model.loss.name == "binary_crossentropy"
    # the same network as one built for file data of that shape (the weights depend on the
    # config and the shapes only)
    spiral = sources.for_task(sources.load("xor", samples=100, seed=5), "auto")
    other = experiment.build_model(cfg, experiment.make_plan(cfg, spiral, 100), spiral)
    for a, b in zip(model.get_weights(), other.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def _built(text, tmp_path, n_features=2, task="classification"):
    """The model of the TOML ``text`` (model options only) for data of that shape."""
    path = tmp_path / "experiment.toml"
    path.write_text(text)
    cfg = config.resolve({}, path)
    data = experiment.data_like(n_features, task, [0, 1] if task == "classification" else None)
    plan = experiment.make_plan(cfg, data, n_train=100)
    return cfg, plan, experiment.build_model(cfg, plan, data)


def test_layers_of_their_own_activation_and_dropout(tmp_path):
    cfg, plan, model = _built('layers = [8, {units = 4, activation = "selu", dropout = 0.25}, '
                              '{units = 3, dropout = 0.5}]\nactivation = "relu"\n', tmp_path)
    kinds = [(type(layer).__name__, getattr(layer, "units", None)) for layer in model.layers]
    assert kinds == [("Dense", 8), ("Dense", 4), ("Dropout", None), ("Dense", 3),
                     ("Dropout", None), ("Dense", 1)]
    dense = [layer for layer in model.layers if type(layer).__name__ == "Dense"]
    assert [d.activation.name for d in dense[:3]] == ["relu", "selu", "relu"]
    assert [d.rate for d in model.layers if type(d).__name__ == "Dropout"] == [0.25, 0.5]
    # auto initializers follow each layer's own activation: He for relu, LeCun for selu
    assert [spec[3] for spec in experiment.hidden_layers(cfg, plan)] == \
        ["he_uniform", "lecun_normal", "he_uniform"]
    # and config.toml's note of what "auto" became says so, layer by layer
    assert plan.notes["initializer"] == ("he_uniform, lecun_normal, he_uniform (hidden layers, "
                                         "in order), glorot_uniform (output layer)")


def test_small_random_is_a_normal_of_stddev_0_1(tmp_path):
    _, plan, model = _built('layers = [256]\ninitializer = "small_random"\n', tmp_path,
                            n_features=200)
    assert plan.hidden_init == plan.output_init == "small_random"
    kernel = model.get_weights()[0]
    assert abs(kernel.std() - 0.1) < 0.003 and abs(kernel.mean()) < 0.003


def test_a_schedule_table_with_its_own_parameters(tmp_path):
    cfg, plan, model = _built('schedule = {name = "piecewise_constant", boundaries = [10], '
                              'values = [0.1, 0.01]}\noptimizer = "rmsprop"\ncentered = true\n'
                              'warmup_steps = 5\n', tmp_path)
    assert model.optimizer.centered is True
    rate = plan.learning_rate
    assert rate(0) == pytest.approx(0.0) and rate(7) == pytest.approx(0.1)
    assert rate(20) == pytest.approx(0.01)
    # a table that leaves its rate out starts from learning_rate
    _, plan, _ = _built('schedule = {name = "exponential_decay", decay_steps = 2, '
                        'decay_rate = 0.5}\nlearning_rate = 0.2\n', tmp_path)
    assert plan.learning_rate(0) == pytest.approx(0.2)
    assert plan.learning_rate(2) == pytest.approx(0.1)


def test_data_like_refuses_classes_that_do_not_fit_the_task():
    with pytest.raises(FeedforwardError, match="^classes: "):
        experiment.data_like(2, "classification")
    with pytest.raises(FeedforwardError, match="^task: "):
        experiment.data_like(2, "clustering")


def test_fit_trains_with_early_stopping_and_reports_the_weights_epoch():
    cfg = _cfg(dataset="xor", samples=200, layers=[8], epochs=40, patience=2, seed=1)
    data, parts = experiment.load(cfg)
    plan = experiment.make_plan(cfg, data, len(parts.x_train))
    model = experiment.build_model(cfg, plan, data)
    history, stopper, seconds = experiment.fit(cfg, plan, model, experiment.splits(parts))
    epochs = len(history.epoch)
    assert stopper is not None and seconds >= 0 and 1 <= epochs <= 40
    best = experiment.weights_epoch(stopper, epochs)
    assert best == (stopper.best_epoch + 1 if stopper.restore_best_weights else epochs)
    assert experiment.weights_epoch(None, epochs) == epochs


# ---------------------------------------------------------------------------- one model
def test_a_tune_trial_and_train_build_the_same_model_for_the_same_config(tmp_path):
    out = tmp_path / "run"
    argv = ["train", "--dataset", "xor", "--samples", "200", "--layers", "8", "--epochs", "6",
            "--seed", "3", "--no-plots", "--out", str(out), "--quiet"]
    assert cli_main(argv) == 0
    cfg = config.resolve({}, out / "config.toml")
    data, parts = experiment.load(cfg)
    trial = {"id": "t0", "index": 0, "params": {}, "config": dict(cfg)}
    record, model_bytes = run_trial(trial, Bundle(data, parts))
    assert record["status"] == "ok", record["error"]
    (tmp_path / "trial.safetensors").write_bytes(model_bytes)
    by_train = load_model(out / "model.safetensors")
    by_trial = load_model(tmp_path / "trial.safetensors")
    for a, b in zip(by_train.get_weights(), by_trial.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    x = parts.x_test
    np.testing.assert_array_equal(by_train.predict(x), by_trial.predict(x))


def test_tune_imports_nothing_from_the_cli():
    code = ("import sys, feedforward.tune, feedforward.experiment, feedforward.config; "
            "print(sorted(m for m in sys.modules if m.startswith('feedforward.cli')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_a_record_leaves_out_unset_options_that_version_0_1_does_not_know():
    data = experiment.data_like(2, "classification", classes=[0, 1])
    cfg = config.validate(config.Config({**config.DEFAULTS, "layers": [4]}))
    saved = experiment.record(cfg, data, 1, 1, {})["config"]
    assert not set(config.ADDED_AFTER_0_1) & set(saved)
    assert config.check(saved, "record") == cfg  # read back: the defaults fill them in
    cfg = config.validate(config.Config({**cfg, "optimizer": "sgd", "global_clipnorm": 1.0}))
    assert experiment.record(cfg, data, 1, 1, {})["config"]["global_clipnorm"] == 1.0
