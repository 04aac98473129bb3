"""The playground's ``Session`` on the library's engine: the live optimizer, one source of rules."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("starlette")

import feedforward as ff  # noqa: E402
from feedforward.playground.session import Session  # noqa: E402

SPIRAL = {"dataset": "spiral", "samples": 200, "noise": 10, "seed": 4, "batch_size": 10,
          "layers": [{"units": 6, "activation": "tanh", "dropout": 0}] * 2,
          "optimizer": {"name": "adam", "learning_rate": 0.02}}


def _slots(optimizer):
    return {k: [a.copy() for a in v] for k, v in optimizer.slots.items()}


def test_a_new_learning_rate_keeps_adams_moments_and_step_count():
    session = Session(SPIRAL)
    session.train(2)
    optimizer = session.model.optimizer
    steps, slots = optimizer.iterations, _slots(optimizer)
    assert steps == 2 * 10 and set(slots) == {"m", "v"}  # 100 training points, batches of 10
    weights = session.model.get_weights()
    session.apply({"optimizer": {"learning_rate": 0.005}})
    assert session.model.optimizer is optimizer and optimizer.iterations == steps
    assert optimizer.learning_rate == 0.005 and optimizer.lr == 0.005
    for key, arrays in slots.items():
        assert all(np.array_equal(a, b) for a, b in zip(arrays, optimizer.slots[key],
                                                           strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(weights, session.model.get_weights(),
                                                    strict=True))
    session.train(1)  # the moments carry on: the step is Adam's t = 21, not t = 1
    assert optimizer.iterations == steps + 10


def test_a_schedule_goes_on_from_the_optimizers_step_count():
    session = Session(SPIRAL)
    session.train(1)
    optimizer = session.model.optimizer
    session.apply({"schedule": {"name": "exponential_decay", "decay_steps": 10,
                                "decay_rate": 0.5}})
    assert session.model.optimizer is optimizer and optimizer.iterations == 10
    assert isinstance(optimizer.learning_rate, ff.schedules.ExponentialDecay)
    assert optimizer.lr == pytest.approx(0.02 * 0.5)  # the schedule at step 10, not step 0
    session.apply({"schedule": None, "optimizer": {"learning_rate": 0.1}})
    assert optimizer.learning_rate == 0.1 and optimizer.iterations == 10


@pytest.mark.parametrize("change", [{"optimizer": {"name": "sgd"}},
                                    {"optimizer": {"beta_1": 0.8}}])
def test_another_optimizer_or_its_parameters_start_a_fresh_one(change):
    session = Session(SPIRAL)
    session.train(1)
    before = session.model.optimizer
    session.apply(change)
    assert session.model.optimizer is not before and session.model.optimizer.iterations == 0


def test_an_architecture_change_rebuilds_the_network_and_its_optimizer():
    session = Session(SPIRAL)
    session.train(1)
    model = session.model
    session.apply({"layers": [{"units": 3}]})
    assert session.model is not model and session.model.optimizer.iterations == 0
    assert session.epoch == 0


class Steps(ff.callbacks.Callback):
    """Counts what the engine tells a callback."""

    def __init__(self):
        super().__init__()
        self.batches, self.epochs, self.trainers = 0, [], []

    def set_trainer(self, trainer):
        super().set_trainer(trainer)
        self.trainers.append(trainer)

    def on_batch_end(self, batch, logs=None):
        self.batches += 1

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append((epoch, logs["loss"]))


def test_a_callback_on_the_playgrounds_trainer_sees_its_steps():
    steps = Steps()
    session = Session(SPIRAL, callbacks=[steps])
    assert steps.trainers == [session.driver.trainer] and steps.model is session.model
    for _ in range(5):
        session.train(1, budget=0)  # slices of one step
    assert steps.batches == session.step == 5 and steps.epochs == []
    done, stop = session.train(2)
    assert (done, stop) == (2, None) and session.epoch == 2
    assert steps.batches == session.step == 20  # 10 steps an epoch: the first one ended at 10
    assert [epoch for epoch, _ in steps.epochs] == [0, 1]
    session.apply({"batch_size": 20})  # a new trainer for the new batch size
    assert steps.trainers[-1] is session.driver.trainer and len(steps.trainers) == 2


def test_training_in_slices_reaches_the_weights_of_whole_epochs():
    whole, sliced = Session(SPIRAL), Session(SPIRAL)
    whole.train(3)
    while sliced.epoch < 3:
        sliced.train(3 - sliced.epoch, budget=0)
    assert sliced.step == whole.step == 30
    assert all(np.array_equal(a, b) for a, b in zip(whole.model.get_weights(),
                                                    sliced.model.get_weights(), strict=True))


def test_a_divergence_is_the_engines_the_epoch_undone_and_a_clear_message():
    session = Session({"dataset": "plane", "features": ["x1sq", "x2sq"],
                       "layers": [{"units": 8, "activation": "linear"}] * 2,
                       "optimizer": {"name": "sgd", "learning_rate": 1}})
    start = session.model.get_weights()
    done, stop = session.train(5)  # the loss overflows within the first epoch
    assert done == 0 and stop[0] == "diverged" and not session.running
    assert "learning rate" in stop[1] and "back at epoch 0" in stop[1]
    assert all(np.array_equal(a, b) for a, b in zip(start, session.model.get_weights(),
                                                    strict=True))


# ---------------------------------------------------------------------------- one recipe
RICH = {**SPIRAL, "val_percent": 20, "features": ["x1", "x2", "x1x2", "sinx1"],
        "layers": [{"units": 5, "activation": "relu", "dropout": 0.2},
                   {"units": 3, "activation": "tanh", "dropout": 0}],
        "initializer": "small_random", "regularization": "l2", "reg_rate": 0.002,
        "optimizer": {"name": "sgd", "learning_rate": 0.05, "momentum": 0.8, "nesterov": True},
        "schedule": {"name": "exponential_decay", "decay_steps": 7, "decay_rate": 0.9}}


def test_the_setup_is_an_experiment_config():
    from feedforward import config, experiment
    from feedforward.playground.setup import merge, to_config

    cfg = to_config(merge(None, RICH))
    assert cfg["layers"] == RICH["layers"] and cfg["initializer"] == "small_random"
    assert (cfg["l1"], cfg["l2"], cfg["scaling"]) == (0.0, 0.002, "none")
    assert (cfg["optimizer"], cfg["learning_rate"], cfg["momentum"], cfg["nesterov"]) == \
        ("sgd", 0.05, 0.8, True)
    assert cfg["schedule"]["name"] == "exponential_decay"
    assert cfg["schedule"]["initial_learning_rate"] == 0.05  # a new schedule starts at the rate
    # the session's network is the recipe's for that config: the same layers and weights
    session = Session(RICH)
    data = experiment.data_like(4, "classification", classes=[0, 1])
    model = experiment.build_model(cfg, experiment.make_plan(cfg, data, 1), data)
    assert model.get_config() == session.model.get_config()
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(),
                                                    session.model.get_weights(), strict=True))
    assert isinstance(cfg, config.Config)


def test_a_value_the_schema_refuses_names_the_setups_field():
    from feedforward.playground.setup import FieldError

    with pytest.raises(FieldError, match=r"^setup\.optimizer\.beta_1: "):
        Session({"optimizer": {"name": "adam", "beta_1": 1.5}})


@pytest.mark.parametrize("setup", [RICH, {**SPIRAL, "problem": "regression", "dataset": "plane",
                                          "regularization": "l1", "reg_rate": 0.001,
                                          "early_stopping": 3}], ids=["rich", "regression"])
def test_the_python_code_reaches_the_sessions_weights_exactly(setup):
    import contextlib
    import io

    from feedforward.playground import codegen

    session = Session(setup)
    session.train(3)
    source = codegen.generate(session)
    assert "experiment.build_model(cfg, plan, data)" in source and "ff.Sequential" not in source
    namespace = {"__name__": "generated"}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(source, "generated", "exec"), namespace)  # noqa: S102
    model = namespace["model"]
    assert model.get_config() == session.model.get_config()
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(),
                                                    session.model.get_weights(), strict=True))


def _generated_model(session):
    import contextlib
    import io

    from feedforward.playground import codegen

    namespace = {"__name__": "generated"}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(codegen.generate(session), "generated", "exec"), namespace)  # noqa: S102
    return namespace["model"]


def test_the_code_reaches_the_weights_whether_early_stopping_stopped_or_not():
    setup = {"early_stopping": 10, "optimizer": {"name": "sgd", "learning_rate": 1}}
    running = Session(setup)  # patience not run out: the weights are the current ones
    running.train(8)
    stopped = Session(setup)
    stop = None
    while stop is None:  # until early stopping ends training and restores its best epoch
        _, stop = stopped.train(1)
    assert stop[0] == "early_stopping"
    for session in (running, stopped):
        assert np.array_equal(_generated_model(session).params, session.model.params)


def test_a_step_after_an_early_stop_trains_on_and_a_refused_setup_keeps_the_custom_data():
    session = Session({"early_stopping": 2, "optimizer": {"name": "sgd", "learning_rate": 1}})
    stop = None
    while stop is None:
        _, stop = session.train(1)
    before = session.model.params.copy()
    session.driver.resume(stopped_only=True)  # what a step does after a stop
    _, stop = session.train(1)
    assert stop is None and not np.array_equal(session.model.params, before)
    session.upload("1,1,0\n2,2,1\n-1,-1,0")
    with pytest.raises(ff.FeedforwardError, match="train_percent"):
        session.apply({"problem": "regression", "train_percent": 10})
    session.apply({"dataset": "xor"})
    session.apply({"dataset": "custom"})  # its own problem, as uploaded
    assert session.setup["problem"] == "classification"
    assert session.state()["output"]["loss"] == "binary_crossentropy"


def test_a_new_optimizer_brings_its_own_rate_with_or_without_a_schedule():
    rates = []
    for schedule in (None, {"name": "exponential_decay"}):
        session = Session({"optimizer": {"name": "sgd", "learning_rate": 0.5},
                           "schedule": schedule})
        session.apply({"optimizer": {"name": "adam"}})  # it kept sgd's 0.5 with a schedule
        rates.append(session.setup["optimizer"]["learning_rate"])
        if schedule:
            assert session.setup["schedule"]["initial_learning_rate"] == rates[-1]
    assert rates == [0.001, 0.001]
