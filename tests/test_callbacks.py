"""Callbacks: early stopping, checkpoints, learning-rate control, NaN handling, CSV logs and
``model.stop_training``.

Monitors are tested two ways: driven by hand-written logs fed straight to ``on_epoch_end``
(so the exact epoch of every decision is stated in the test), and inside real ``fit`` runs
(so the decisions reach the model). ReduceLROnPlateau is compared epoch by epoch with Keras's
rule, transcribed in ``keras_plateau_rates``.
"""

from __future__ import annotations

import csv
import itertools
import math

import numpy as np
import pytest

import feedforward as ff
from feedforward import schedules
from feedforward.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)


# ------------------------------------------------------------------ helpers
def noisy_regression(n, seed):
    """``n`` samples of y = sin(2 x_0) + noise (sd 0.5): x ``(n, 3)``, y ``(n, 1)``."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (n, 3))
    return x, np.sin(2 * x[:, :1]) + 0.5 * rng.normal(size=(n, 1))


def overfitting_run(lr=0.01, width=64):
    """A wide float64 network, 40 noisy training samples and 200 validation samples.

    Trained with Adam, its validation loss bottoms out after some 30 epochs and then climbs
    while the training loss goes to zero.
    """
    model = ff.Sequential([ff.Dense(width, activation="relu"),
                           ff.Dense(width, activation="relu"), ff.Dense(1)],
                          seed=0, dtype="float64")
    model.compile(ff.optimizers.Adam(lr), "mse")
    return model, noisy_regression(40, seed=0), noisy_regression(200, seed=1)


def small_model(optimizer, seed=0):
    model = ff.Sequential([ff.Dense(8, activation="tanh"), ff.Dense(1)], seed=seed,
                          dtype="float64")
    model.compile(optimizer, "mse")
    return model


class WeightRecorder(Callback):
    """Copies of the flat parameters, and the predictions on ``x``, at every epoch's end."""

    def __init__(self, x=None):
        self.x, self.weights, self.predictions = x, [], []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.params.copy())
        if self.x is not None:
            self.predictions.append(self.model.predict(self.x))


class StepRates(Callback):
    """The learning rate each SGD update really used: theta_before - theta_after = lr * g."""

    def on_train_begin(self, logs=None):
        self.before, self.rates = self.model.params.copy(), []

    def on_batch_end(self, batch, logs=None):
        g, step = self.model.grads, self.before - self.model.params
        self.rates.append(float(np.vdot(step, g) / np.vdot(g, g)))
        self.before = self.model.params.copy()


class FakeModel:
    """What the monitoring callbacks touch: ``stop_training``, ``params``, ``optimizer``."""

    def __init__(self, learning_rate=1.0):
        self.stop_training = False
        self.params = np.zeros(2)
        self.optimizer = ff.optimizers.SGD(learning_rate)


def drive(callback, values, key="val_loss"):
    """Feed ``values`` as successive epoch logs until the callback stops training.

    Each epoch's "weights" are filled with the epoch index, so after ``on_train_end`` the
    model's ``params`` tell which epoch's weights were restored. Returns the model and the
    learning rate of every epoch run.
    """
    model = FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    rates = []
    for epoch, value in enumerate(values):
        model.params[...] = epoch
        rates.append(model.optimizer.lr)
        callback.on_epoch_end(epoch, {key: value, "learning_rate": model.optimizer.lr})
        if model.stop_training:
            break
    callback.on_train_end()
    return model, rates


# ------------------------------------------------------------------ EarlyStopping
def test_early_stopping_restores_the_best_epoch_bit_for_bit():
    model, (x, y), (xv, yv) = overfitting_run()
    patience = 10
    stopper = EarlyStopping(patience=patience, restore_best_weights=True)
    recorder = WeightRecorder()
    history = model.fit(x, y, epochs=400, batch_size=10, validation_data=(xv, yv),
                        callbacks=[recorder, stopper], verbose=0)
    val_loss = np.array(history.history["val_loss"])
    best = int(val_loss.argmin())
    # the run overfits: it stops long before 400 epochs, well after its best epoch
    assert val_loss[-1] > val_loss[best] * 1.05
    assert history.epoch == list(range(best + patience + 1))
    assert stopper.best_epoch == best and stopper.stopped_epoch == best + patience
    assert stopper.best == val_loss[best]
    np.testing.assert_array_equal(model.params, recorder.weights[best])
    assert not np.array_equal(model.params, recorder.weights[-1])
    assert model.evaluate(xv, yv) == val_loss[best]


def test_early_stopping_without_restore_keeps_the_last_weights():
    model, (x, y), (xv, yv) = overfitting_run()
    recorder = WeightRecorder()
    history = model.fit(x, y, epochs=400, batch_size=10, validation_data=(xv, yv),
                        callbacks=[recorder, EarlyStopping(patience=5)], verbose=0)
    assert len(history.epoch) < 400
    np.testing.assert_array_equal(model.params, recorder.weights[-1])


WORSENING = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]

# (arguments, monitored key, values, epochs run, epoch whose weights are restored)
EARLY_STOPPING_CASES = {
    # best at epoch 2; epochs 3, 4, 5 do not improve
    "patience 3": (dict(patience=3), "val_loss", [5, 4, 3, 3.5, 3.2, 3.1, 2, 1], 6, 2),
    "patience 4 sees the late improvement": (
        dict(patience=4), "val_loss", [5, 4, 3, 3.5, 3.2, 3.1, 2, 1], 8, 7),
    "patience 0": (dict(patience=0), "val_loss", [5, 4, 3, 3.5, 3.2, 3.1, 2, 1], 4, 2),
    "patience 1": (dict(patience=1), "val_loss", [5, 4, 3, 3.5, 3.2, 3.1, 2, 1], 4, 2),
    "equal is no improvement": (dict(patience=2), "loss", [3, 2, 2, 2, 1], 4, 1),
    "runs to the end and restores the best": (dict(patience=3), "loss", [3, 1, 2, 2.5], 4, 1),
    "min_delta 0": (dict(patience=2), "val_loss", [5, 4.6, 4.7, 4.55, 3.0], 5, 4),
    # 4.6 and 4.7 do not beat 5 by more than 0.5
    "min_delta 0.5": (dict(patience=2, min_delta=0.5), "val_loss", [5, 4.6, 4.7, 4.55, 3.0],
                      3, 0),
    "auto mode maximises accuracy": (
        dict(patience=1), "val_accuracy", [0.5, 0.6, 0.7, 0.8], 4, 3),
    "mode min on accuracy": (
        dict(patience=1, mode="min"), "val_accuracy", [0.5, 0.6, 0.7, 0.8], 2, 0),
    "auto mode minimises mae": (dict(patience=1), "val_mae", [0.5, 0.6, 0.7, 0.8], 2, 0),
    # improving, but never below the baseline: patience runs out at epoch 2
    "baseline never beaten": (
        dict(patience=3, baseline=1.0), "val_loss", [3, 2, 1.5, 1.2, 0.9, 0.8], 3, 2),
    "baseline beaten at epoch 1": (
        dict(patience=3, baseline=2.5), "val_loss", [3, 2, 1.5, 1.2, 0.9, 0.8], 6, 5),
    "no baseline": (dict(patience=3), "val_loss", [3, 2, 1.5, 1.2, 0.9, 0.8], 6, 5),
    "start_from_epoch 0": (dict(patience=1), "val_loss", WORSENING, 2, 0),
    # epochs 0-2 are not watched, so epoch 3 is the first best despite its higher value
    "start_from_epoch 3": (dict(patience=1, start_from_epoch=3), "val_loss", WORSENING, 5, 3),
}


@pytest.mark.parametrize("kwargs, key, values, epochs_run, restored",
                         EARLY_STOPPING_CASES.values(), ids=EARLY_STOPPING_CASES.keys())
def test_early_stopping_decides_at_the_documented_epoch(kwargs, key, values, epochs_run,
                                                        restored):
    stopper = EarlyStopping(monitor=key, restore_best_weights=True, **kwargs)
    model, rates = drive(stopper, values, key)
    assert len(rates) == epochs_run
    assert model.stop_training == (epochs_run < len(values))
    assert stopper.stopped_epoch == (epochs_run - 1 if model.stop_training else None)
    assert stopper.best_epoch == restored
    np.testing.assert_array_equal(model.params, restored)


@pytest.mark.parametrize("monitor, mode", [
    ("val_accuracy", "max"), ("accuracy", "max"), ("val_categorical_accuracy", "max"),
    ("val_binary_accuracy", "max"), ("r2", "max"), ("val_loss", "min"), ("loss", "min"),
    ("val_mae", "min"), ("mse", "min")])
def test_auto_mode_follows_the_metric(monitor, mode):
    assert EarlyStopping(monitor=monitor).mode == mode
    assert ReduceLROnPlateau(monitor=monitor).mode == mode
    assert ModelCheckpoint("m.safetensors", monitor=monitor).mode == mode


def test_an_unknown_monitor_lists_the_logged_keys():
    x, y = noisy_regression(20, seed=0)
    model = small_model("sgd")
    with pytest.raises(ff.FeedforwardError) as info:
        model.fit(x, y, epochs=3, callbacks=[EarlyStopping(monitor="val_loss")], verbose=0)
    message = str(info.value)
    assert "'val_loss'" in message and "validation" in message
    for key in ("loss", "learning_rate"):
        assert repr(key) in message


@pytest.mark.parametrize("make, bad", [
    (EarlyStopping, dict(patience=-1)), (EarlyStopping, dict(patience=1.5)),
    (EarlyStopping, dict(mode="up")), (EarlyStopping, dict(start_from_epoch=-2)),
    (EarlyStopping, dict(baseline="low")), (EarlyStopping, dict(min_delta=float("nan"))),
    (ReduceLROnPlateau, dict(factor=1.0)), (ReduceLROnPlateau, dict(factor=0)),
    (ReduceLROnPlateau, dict(cooldown=-1)), (ReduceLROnPlateau, dict(min_lr=-1e-3)),
    (LearningRateScheduler, dict(schedule=0.1))])
def test_bad_arguments_are_named(make, bad):
    name = next(iter(bad))
    with pytest.raises(ff.FeedforwardError, match=name):
        make(**bad)


# ------------------------------------------------------------------ ModelCheckpoint
def test_checkpoint_every_epoch_with_a_formatted_path(tmp_path):
    model, (x, y), (xv, yv) = overfitting_run()
    recorder = WeightRecorder(xv)
    path = tmp_path / "ckpt-{epoch:02d}-{val_loss:.4f}.safetensors"
    history = model.fit(x, y, epochs=4, batch_size=10, validation_data=(xv, yv),
                        callbacks=[recorder, ModelCheckpoint(path)], verbose=0)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"ckpt-{e + 1:02d}-{v:.4f}.safetensors"
                     for e, v in enumerate(history.history["val_loss"])]
    for name, expected in zip(names, recorder.predictions, strict=True):
        np.testing.assert_array_equal(ff.load_model(tmp_path / name).predict(xv), expected)


def test_checkpoint_save_best_only_writes_on_improvement(tmp_path):
    model, (x, y), (xv, yv) = overfitting_run()
    recorder = WeightRecorder(xv)
    callbacks = [recorder, ModelCheckpoint(tmp_path / "best-{epoch:03d}.safetensors",
                                           save_best_only=True),
                 ModelCheckpoint(tmp_path / "best.safetensors", save_best_only=True)]
    history = model.fit(x, y, epochs=60, batch_size=10, validation_data=(xv, yv),
                        callbacks=callbacks, verbose=0)
    val_loss = history.history["val_loss"]
    improved = [e for e, v in enumerate(val_loss) if v < min(val_loss[:e], default=np.inf)]
    assert 1 < len(improved) < 60  # some epochs improve and some do not
    written = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("best-"))
    assert written == [f"best-{e + 1:03d}.safetensors" for e in improved]
    best = ff.load_model(tmp_path / "best.safetensors")
    np.testing.assert_array_equal(best.predict(xv), recorder.predictions[improved[-1]])
    assert improved[-1] == int(np.argmin(val_loss))


@pytest.mark.parametrize("pattern", ["m-{val_loss}.safetensors", "m-{0}.safetensors",
                                     "m-{epoch:q}.safetensors"])
def test_checkpoint_path_that_cannot_be_formatted_is_named(tmp_path, pattern):
    x, y = noisy_regression(20, seed=0)
    model = small_model("sgd")
    with pytest.raises(ff.FeedforwardError, match="path") as info:
        model.fit(x, y, epochs=1, callbacks=[ModelCheckpoint(tmp_path / pattern, monitor="loss")],
                  verbose=0)
    assert "'learning_rate'" in str(info.value)


# ------------------------------------------------------------------ learning-rate control
def test_learning_rate_scheduler_sets_the_rate_of_each_epoch():
    x, y = noisy_regression(40, seed=0)
    model = small_model(ff.optimizers.SGD(0.2))
    rates = StepRates()
    history = model.fit(
        x, y, epochs=5, batch_size=10, verbose=0,
        callbacks=[LearningRateScheduler(lambda epoch, lr: 0.1 if epoch < 2 else lr / 2), rates])
    per_epoch = [0.1, 0.1, 0.05, 0.025, 0.0125]
    assert history.history["learning_rate"] == per_epoch
    np.testing.assert_allclose(rates.rates, np.repeat(per_epoch, 4), rtol=1e-9)


def test_learning_rate_scheduler_takes_a_schedule_of_the_epoch_alone():
    # Keras takes schedule(epoch) too; it was a bare TypeError from inside the callback
    x, y = noisy_regression(40, seed=0)
    history = small_model(ff.optimizers.SGD(0.2)).fit(
        x, y, epochs=3, batch_size=10, verbose=0,
        callbacks=[LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))])
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.05, 0.1 / 3])
    with pytest.raises(ff.FeedforwardError, match=r"schedule: .*\(epoch\) -> lr.*\(a, b, c\)"):
        LearningRateScheduler(lambda a, b, c: a)


@pytest.mark.parametrize("callback", [LearningRateScheduler(lambda epoch, lr: lr),
                                      ReduceLROnPlateau(monitor="loss")],
                         ids=lambda cb: type(cb).__name__)
def test_rate_setting_callbacks_refuse_a_schedule(callback):
    """Setting the rate would silently throw the schedule away."""
    x, y = noisy_regression(20, seed=0)
    model = small_model(ff.optimizers.SGD(schedules.StepDecay(0.1, 5)))
    with pytest.raises(ff.FeedforwardError, match="schedule"):
        model.fit(x, y, epochs=2, callbacks=[callback], verbose=0)


# (arguments, values, the epochs at whose end the rate is reduced), as Keras counts
PLATEAU_CASES = {
    # a flat curve: epoch 0 sets the best, then every epoch is bad: the 2nd bad one reduces
    "patience 2": (dict(patience=2), [1.0] * 12, [2, 4, 6, 8, 10]),
    "patience 1": (dict(patience=1), [1.0] * 4, [1, 2, 3]),
    "patience 0": (dict(patience=0), [1.0] * 4, [1, 2, 3]),
    # the epoch after a reduction counts the cooldown down to 0 and no bad epoch; the next
    # counts again (Keras's cooldown=2 leaves one epoch out)
    "cooldown 2": (dict(patience=2, cooldown=2), [1.0] * 14, [2, 5, 8, 11]),
    "cooldown 3": (dict(patience=1, cooldown=3), [1.0] * 10, [1, 4, 7]),
    "an improvement restarts the count": (dict(patience=2), [3, 3, 2, 2, 2, 2], [4]),
    "min_delta 0": (dict(patience=2), [3, 2.6, 2.7, 2.0, 1.9, 1.8], []),
    # 2.6 and 2.7 do not beat 3 by more than 0.5; 1.9 and 1.8 do not beat 2.0
    "min_delta 0.5": (dict(patience=2, min_delta=0.5), [3, 2.6, 2.7, 2.0, 1.9, 1.8], [2, 5]),
}


@pytest.mark.parametrize("kwargs, values, reduced_at", PLATEAU_CASES.values(),
                         ids=PLATEAU_CASES.keys())
def test_reduce_on_plateau_reduces_at_the_documented_epochs(kwargs, values, reduced_at):
    callback = ReduceLROnPlateau(factor=0.5, **{"min_delta": 0.0, **kwargs})
    _, rates = drive(callback, values)
    rates.append(callback.model.optimizer.lr)  # the rate after the last epoch
    changed = [e for e in range(len(values)) if rates[e + 1] != rates[e]]
    assert changed == reduced_at
    assert rates[-1] == 0.5 ** len(reduced_at)


def test_reduce_on_plateau_stops_at_min_lr():
    callback = ReduceLROnPlateau(factor=0.5, patience=0, min_delta=0.0, min_lr=0.2)
    _, rates = drive(callback, [1.0] * 6)
    assert rates == [1.0, 1.0, 0.5, 0.25, 0.2, 0.2]


def plateau_curve(mode, seed=0, n=80):
    """A noisy curve rounded to 2 decimals, so that it has ties, plateaus and setbacks."""
    rng = np.random.default_rng(seed)
    trend = np.linspace(2, 0, n) if mode == "min" else np.linspace(0, 2, n)
    return np.round(trend + 0.3 * rng.normal(size=n).cumsum() / np.sqrt(n), 2).tolist()


def keras_plateau_rates(values, mode, factor, patience, min_delta, cooldown, min_lr, lr=1.0):
    """The rate after each epoch as Keras's ``ReduceLROnPlateau.on_epoch_end`` sets it
    (keras/src/callbacks/reduce_lr_on_plateau.py), written out step by step: the reference
    the callback is held to."""
    if mode == "min":
        best, better = math.inf, lambda a, b: a < b - min_delta
    else:
        best, better = -math.inf, lambda a, b: a > b + min_delta
    wait = cooldown_counter = 0
    rates = []
    for current in values:
        if cooldown_counter > 0:  # in_cooldown()
            cooldown_counter -= 1
            wait = 0
        if better(current, best):
            best, wait = current, 0
        elif not cooldown_counter > 0:
            wait += 1
            if wait >= patience and lr > np.float32(min_lr):
                lr = max(lr * factor, min_lr)
                cooldown_counter, wait = cooldown, 0
        rates.append(lr)
    return rates


@pytest.mark.parametrize("kwargs, values, reduced_at", PLATEAU_CASES.values(),
                         ids=PLATEAU_CASES.keys())
def test_the_documented_epochs_are_keras_s(kwargs, values, reduced_at):
    rates = keras_plateau_rates(values, "min", 0.5, **{"min_delta": 0.0, "cooldown": 0,
                                                       "min_lr": 0.0, **kwargs})
    assert [e for e in range(len(values)) if rates[e] != ([1.0] + rates)[e]] == reduced_at


@pytest.mark.parametrize("mode, patience, cooldown, min_delta, min_lr",
                         list(itertools.product(["min", "max"], [0, 1, 3], [0, 1, 3],
                                                [0.0, 0.05], [0.0, 0.01])))
def test_reduce_on_plateau_matches_keras(mode, patience, cooldown, min_delta, min_lr):
    values = plateau_curve(mode)
    callback = ReduceLROnPlateau(monitor="val_score", mode=mode, factor=0.5, patience=patience,
                                 min_delta=min_delta, cooldown=cooldown, min_lr=min_lr)
    _, ours = drive(callback, values, key="val_score")
    ours = ours[1:] + [callback.model.optimizer.lr]
    assert ours == keras_plateau_rates(values, mode, 0.5, patience, min_delta, cooldown, min_lr)
    assert len(set(ours)) > 2  # the curve does plateau, more than once
    assert min(ours) >= min_lr


def test_reduce_on_plateau_in_fit_lowers_the_rate_used():
    """With a huge min_delta no epoch after the first improves; patience 2 then halves the
    rate after epochs 2 and 4, and the next epochs' updates use it."""
    x, y = noisy_regression(40, seed=0)
    model = small_model(ff.optimizers.SGD(0.1))
    rates = StepRates()
    callback = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2, min_delta=1e9)
    history = model.fit(x, y, epochs=6, batch_size=10, callbacks=[callback, rates], verbose=0)
    per_epoch = [0.1, 0.1, 0.1, 0.05, 0.05, 0.025]
    assert history.history["learning_rate"] == per_epoch
    np.testing.assert_allclose(rates.rates, np.repeat(per_epoch, 4), rtol=1e-9)
    assert model.optimizer.lr == 0.025


# one instance per registered schedule, with changes inside the 24 steps of the run
SCHEDULES = {
    schedules.Constant: dict(learning_rate=0.05),
    schedules.StepDecay: dict(initial_learning_rate=0.1, step_size=7, gamma=0.5),
    schedules.ExponentialDecay: dict(initial_learning_rate=0.1, decay_steps=5, decay_rate=0.5,
                                     staircase=True),
    schedules.InverseTimeDecay: dict(initial_learning_rate=0.1, decay_steps=4, decay_rate=1.0),
    schedules.CosineDecay: dict(initial_learning_rate=0.01, decay_steps=12, alpha=0.1,
                                warmup_target=0.1, warmup_steps=6),
    schedules.PiecewiseConstantDecay: dict(boundaries=[5, 15], values=[0.1, 0.05, 0.01]),
    schedules.LinearWarmup: dict(schedule=schedules.StepDecay(0.1, 6, 0.5), warmup_steps=8,
                                 start_factor=0.25),
}


@pytest.mark.parametrize("cls", schedules.ALL, ids=lambda cls: cls.name)
def test_schedule_sets_the_rate_of_every_step(cls):
    """Update t (0-based) uses schedule(t); History records schedule(iterations) per epoch."""
    schedule = cls(**SCHEDULES[cls])
    x, y = noisy_regression(40, seed=0)
    model = small_model(ff.optimizers.SGD(learning_rate=schedule))
    rates = StepRates()
    history = model.fit(x, y, epochs=6, batch_size=10, callbacks=[rates], verbose=0)
    expected = [schedule(t) for t in range(24)]
    np.testing.assert_allclose(rates.rates, expected, rtol=1e-9)
    assert history.history["learning_rate"] == [schedule(4 * (e + 1)) for e in range(6)]
    distinct = len(set(np.round(expected, 12)))
    assert distinct == 1 if cls is schedules.Constant else distinct > 2


# ------------------------------------------------------------------ divergence
def diverging_run():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 100, (64, 5))
    y = x @ rng.normal(0, 10, (5, 1))
    model = ff.Sequential([ff.Dense(16, activation="relu"), ff.Dense(1)], seed=0)
    model.compile(ff.optimizers.SGD(1e6), "mse")
    return model, x, y


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow on the way to inf is expected
def test_terminate_on_nan_ends_a_diverging_run_quietly(capsys):
    model, x, y = diverging_run()
    history = model.fit(x, y, epochs=20, batch_size=16, callbacks=[TerminateOnNaN()],
                        verbose=0)
    assert len(history.epoch) < 20
    assert not np.isfinite(history.history["loss"][-1])
    assert all(np.isfinite(history.history["loss"][:-1]))
    assert "terminating" in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_without_terminate_on_nan_divergence_is_an_error():
    model, x, y = diverging_run()
    with pytest.raises(ff.FeedforwardError, match="diverged"):
        model.fit(x, y, epochs=20, batch_size=16, verbose=0)


# ------------------------------------------------------------------ CSVLogger
def read_csv(path, separator=","):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=separator))


@pytest.mark.parametrize("separator", [",", ";"])
def test_csv_logger_writes_a_header_and_one_row_per_epoch(tmp_path, separator):
    x, y = noisy_regression(40, seed=0)
    model = small_model(ff.optimizers.SGD(0.05))
    model.compile(model.optimizer, "mse", metrics=["mae"])
    path = tmp_path / "log.csv"
    history = model.fit(x, y, epochs=3, batch_size=10, validation_split=0.25, verbose=0,
                        callbacks=[CSVLogger(path, separator=separator)])
    header, *rows = read_csv(path, separator)
    assert header == ["epoch", *history.history]
    assert set(header) == {"epoch", "loss", "mae", "val_loss", "val_mae", "learning_rate"}
    assert [int(r[0]) for r in rows] == history.epoch == [0, 1, 2]
    for key in history.history:
        column = [float(r[header.index(key)]) for r in rows]
        assert column == history.history[key]  # written at full precision


def test_csv_logger_appends_or_overwrites(tmp_path):
    x, y = noisy_regression(40, seed=0)
    model = small_model(ff.optimizers.SGD(0.05))
    path = tmp_path / "log.csv"
    first = model.fit(x, y, epochs=3, verbose=0, callbacks=[CSVLogger(path)])
    second = model.fit(x, y, epochs=2, verbose=0, callbacks=[CSVLogger(path, append=True)])
    header, *rows = read_csv(path)
    assert header == ["epoch", "loss", "learning_rate"]
    assert [float(r[1]) for r in rows] == first.history["loss"] + second.history["loss"]
    assert [r[0] for r in rows] == ["0", "1", "2", "0", "1"]

    model.fit(x, y, epochs=2, verbose=0, callbacks=[CSVLogger(path)])
    assert len(read_csv(path)) == 1 + 2


# ------------------------------------------------------------------ stop_training
class StopAt(Callback):
    """Sets ``model.stop_training`` in one hook at one (epoch, batch)."""

    def __init__(self, hook, epoch, batch=None):
        self.hook, self.at_epoch, self.at_batch, self.epoch = hook, epoch, batch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        if self.hook == "batch" and (self.epoch, batch) == (self.at_epoch, self.at_batch):
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.hook == "epoch" and epoch == self.at_epoch:
            self.model.stop_training = True


@pytest.mark.parametrize("stopper, epochs_run, updates", [
    (StopAt("batch", epoch=1, batch=2), 2, 5 + 3),  # within epoch 1, after its third update
    (StopAt("batch", epoch=0, batch=0), 1, 1),
    (StopAt("epoch", epoch=2), 3, 3 * 5),  # epoch 2 is completed
])
def test_stop_training_from_a_callback(stopper, epochs_run, updates):
    x, y = noisy_regression(40, seed=0)
    model = small_model(ff.optimizers.SGD(0.05))
    history = model.fit(x, y, epochs=10, batch_size=8, callbacks=[stopper], verbose=0)
    assert history.epoch == list(range(epochs_run))
    assert model.optimizer.iterations == updates
    assert len(history.history["loss"]) == epochs_run


def test_backup_and_restore_lives_with_the_checkpoints_and_the_old_place_says_so():
    from feedforward import checkpoint

    assert ff.BackupAndRestore is checkpoint.BackupAndRestore
    with pytest.raises(AttributeError, match="use feedforward.BackupAndRestore"):
        ff.callbacks.BackupAndRestore  # noqa: B018
