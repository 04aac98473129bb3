"""The training engine: budgeted runs continue exactly, callbacks see every step through the
public surface, the data can be swapped, divergence is handled by a flag any callback can set,
and a learning-rate change keeps the optimizer's state."""

from __future__ import annotations

import numpy as np
import pytest

import feedforward as ff
from feedforward import schedules
from feedforward.callbacks import Callback, TerminateOnNaN
from feedforward.errors import FeedforwardError
from feedforward.training import Diverged, Trainer

N, BATCH, EPOCHS = 50, 8, 4  # 7 steps an epoch, the last one short


def data(n=N, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype("float32")
    return x, (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(int)


def make(optimizer="adam", dropout=0.2):
    model = ff.Sequential([ff.Dense(6, activation="tanh"), ff.Dropout(dropout),
                           ff.Dense(2, activation="softmax")], seed=3)
    model.compile(optimizer, "categorical_crossentropy", metrics=["accuracy"])
    return model


def trainer(model, x, y, augment=None, **kw):
    """A Trainer on the data ``fit`` would give it, with a validation split of 0.2."""
    source, val = ff.training.prepare_data(model, x, y, 0.2, None, augment)
    return Trainer(model, source, batch_size=BATCH, validation=val, augment=augment, **kw)


def noise(xb, rng):
    return xb + rng.normal(0, 0.1, xb.shape)


# ---------------------------------------------------------------------------- budgets
@pytest.mark.parametrize("budget", [{"steps": 1}, {"steps": 3}, {"steps": 7}, {"epochs": 1},
                                    {"steps": 5, "epochs": 1}, {"ms": 0}])
@pytest.mark.parametrize("augment", [None, noise])
def test_runs_in_slices_give_the_weights_and_history_of_one_fit(budget, augment):
    x, y = data()
    reference = make()
    history = reference.fit(x, y, epochs=EPOCHS, batch_size=BATCH, validation_split=0.2,
                            verbose=0, augment=augment)
    model = make()
    t = trainer(model, x, y, augment, epochs=EPOCHS)
    calls = 0
    while not t.finished:
        t.run(**budget)
        calls += 1
    np.testing.assert_array_equal(model.params, reference.params)
    assert t.history.history == history.history
    assert (t.epoch, t.step) == (EPOCHS, EPOCHS * 5)  # 40 training rows: 5 batches of 8
    if "steps" in budget and "epochs" not in budget:
        assert calls == -(-t.step // budget["steps"])  # each call took its steps, no more


def test_run_returns_the_epochs_that_ended_and_stops_at_the_first_budget():
    x, y = data()
    t = trainer(make(), x, y, epochs=3)
    assert t.run(steps=4) == 0 and t.position["batch"] == 4
    assert t.run(steps=1) == 1  # the epoch's last step, then its end
    assert (t.position["epoch"], t.position["batch"]) == (1, 0)
    assert t.run(steps=100, epochs=1) == 1 and t.epoch == 2  # the epochs budget came first
    assert t.run() == 1 and t.finished
    assert t.run(steps=5) == 0 and t.step == 15  # nothing left


def test_an_edit_of_the_weights_between_runs_is_what_the_next_step_starts_from():
    x, y = data()
    model = make("sgd", dropout=0.0)
    t = Trainer(model, *model.prepare_xy(x, y), batch_size=BATCH, shuffle=False, epochs=2)
    t.run(steps=1)
    model.params[...] *= 0.5  # the user edits the weights
    xb, yb = model.prepare_xy(x[BATCH:2 * BATCH], y[BATCH:2 * BATCH])
    expected = model.loss_value(xb, yb)
    t.run(steps=1)
    assert t.batch_loss == expected


def test_run_refuses_a_negative_budget_and_fit_needs_epochs():
    x, y = data()
    t = trainer(make(), x, y)
    with pytest.raises(FeedforwardError, match="steps"):
        t.run(steps=-1)
    with pytest.raises(FeedforwardError, match="use run"):
        t.fit()


# ---------------------------------------------------------------------------- callbacks
class Recorder(Callback):
    """Everything a callback can see of the training, through public names only."""

    def __init__(self):
        self.events = []

    def on_train_begin(self, logs=None):
        self.events.append(("begin", dict(self.params), self.trainer.x.shape))

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(("epoch", epoch, self.trainer.position["batch"]))

    def on_batch_end(self, batch, logs=None):
        p = self.trainer.position
        self.events.append(("batch", batch, p["epoch"], p["batch"], self.trainer.step,
                            self.model.optimizer.iterations, logs["loss"]))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("end", epoch, self.trainer.epoch, sorted(logs)))

    def on_train_end(self, logs=None):
        self.events.append(("done", self.trainer.finished))


def test_a_callback_sees_every_step_through_the_public_surface():
    x, y = data()
    recorder = Recorder()
    model = make()
    model.fit(x, y, epochs=2, batch_size=BATCH, validation_split=0.2, verbose=0,
              callbacks=[recorder])
    events = recorder.events
    assert events[0] == ("begin", {"epochs": 2, "steps": 5, "batch_size": BATCH, "verbose": 0},
                         (40, 3))
    batches = [e for e in events if e[0] == "batch"]
    assert [(b[1], b[2], b[3], b[4], b[5]) for b in batches] == [
        (i % 5, i // 5, i % 5 + 1, i + 1, i + 1) for i in range(10)]
    assert all(np.isfinite(b[6]) for b in batches)
    assert events[7] == ("end", 0, 1, ["accuracy", "learning_rate", "loss", "val_accuracy",
                                       "val_loss"])
    assert events[-1] == ("done", True)


def test_callbacks_run_in_order_with_runs_last_after_history():
    class Last(Callback):
        runs_last = True

    first, last, other = Callback(), Last(), Callback()
    x, y = data()
    model = make()
    t = trainer(model, x, y, callbacks=[last, first, other], epochs=1)
    assert t.callbacks == [first, other, t.history, last]
    assert all(cb.trainer is t and cb.model is model for cb in t.callbacks)


def test_a_run_after_a_callback_stopped_training_begins_again():
    class StopAfterOneEpoch(Callback):
        begun = 0

        def on_train_begin(self, logs=None):
            self.begun += 1

        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    x, y = data()
    stopper = StopAfterOneEpoch()
    t = trainer(make(), x, y, callbacks=[stopper])
    assert t.run(epochs=5) == 1 and t.finished and t.stop_training
    assert t.run(epochs=5) == 1 and stopper.begun == 2 and t.epoch == 2


# ---------------------------------------------------------------------------- set_data
def test_set_data_starts_a_new_epoch_on_the_new_data():
    x, y = data()
    model = make()
    recorder = Recorder()
    t = trainer(model, x, y, callbacks=[recorder])
    t.run(steps=3)
    more_x, more_y = data(n=80, seed=1)
    t.set_data(*model.prepare_xy(more_x, more_y))
    assert (t.position["epoch"], t.position["batch"]) == (0, 0)
    assert t.params["steps"] == 10 and recorder.params["steps"] == 10
    assert t.run(epochs=1) == 1 and t.step == 13
    epochs = [e[1] for e in recorder.events if e[0] == "epoch"]
    assert epochs == [0, 0]  # epoch 0 abandoned, begun again on the new data
    assert len([e for e in recorder.events if e[0] == "end"]) == 1


# ---------------------------------------------------------------------------- divergence
def diverging():
    """A regression whose loss grows until it overflows (in epoch 29 of 50)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 2))
    y = x @ np.array([3.0, -2.0])
    model = ff.Sequential([ff.Dense(1)], seed=0, dtype="float64")
    model.compile(ff.optimizers.SGD(3.0), "mse")
    return model, x, y


class Quiet(Callback):
    handles_divergence = True

    def on_batch_end(self, batch, logs=None):
        self.last = logs["loss"]


@pytest.mark.parametrize("handler", [Quiet, TerminateOnNaN])
def test_a_callback_that_handles_divergence_makes_it_stop_quietly(handler, capsys):
    model, x, y = diverging()
    good = []

    class Keep(Callback):
        def on_epoch_end(self, epoch, logs=None):
            good.append(model.get_weights())

    history = model.fit(x, y, epochs=50, batch_size=8, verbose=0,
                        callbacks=[Keep(), handler()])
    assert not np.isfinite(history.history["loss"][-1])
    assert all(np.isfinite(v) for v in history.history["loss"][:-1])
    np.testing.assert_array_equal(model.get_weights()[0], good[-2][0])  # the epoch is undone
    assert ("terminating" in capsys.readouterr().out) == (handler is TerminateOnNaN)


def test_without_a_handler_divergence_raises_after_the_undo():
    model, x, y = diverging()
    reference, *_ = diverging()
    history = reference.fit(x, y, epochs=50, batch_size=8, verbose=0, callbacks=[Quiet()])
    with pytest.raises(Diverged, match="were restored") as info:
        model.fit(x, y, epochs=50, batch_size=8, verbose=0)
    assert info.value.restored
    np.testing.assert_array_equal(model.params, reference.params)
    assert model.history.history["loss"] == history.history["loss"][:-1]


# ---------------------------------------------------------------------------- learning rate
def test_a_learning_rate_change_keeps_adams_moments_and_step_count():
    x, y = data()
    model = make(ff.optimizers.Adam(0.01), dropout=0.0)
    model.fit(x, y, epochs=2, batch_size=BATCH, verbose=0)
    opt = model.optimizer
    moments = {k: [a.copy() for a in v] for k, v in opt.slots.items()}
    steps = opt.iterations
    assert steps == 14 and moments and all(np.any(a) for v in moments.values() for a in v)
    opt.learning_rate = 0.05
    assert opt.iterations == steps and opt.lr == 0.05
    for k, arrays in moments.items():
        for a, b in zip(arrays, opt.slots[k], strict=True):
            np.testing.assert_array_equal(a, b)
    # the next step is Adam's step 15 (bias corrections), not a restart from zero moments
    twin = make(ff.optimizers.Adam(0.01), dropout=0.0)
    twin.fit(x, y, epochs=2, batch_size=BATCH, verbose=0)
    twin.optimizer.learning_rate = 0.05
    restarted = make(ff.optimizers.Adam(0.05), dropout=0.0).build(3)
    restarted.set_weights(twin.get_weights())
    xb, yb = model.prepare_xy(x[:BATCH], y[:BATCH])
    model.train_step(xb, yb)
    twin.train_step(xb, yb)
    restarted.train_step(xb, yb)
    np.testing.assert_array_equal(model.params, twin.params)
    assert not np.array_equal(model.params, restarted.params)
    assert model.optimizer.iterations == steps + 1


def test_a_number_replaces_a_schedule_and_the_step_count_goes_on():
    opt = ff.optimizers.SGD(schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5))
    opt.iterations = 3
    assert opt.lr == pytest.approx(0.1 * 0.5**3)
    opt.learning_rate = 0.02
    assert opt.lr == 0.02 and opt.iterations == 3
    opt.learning_rate = {"class_name": "ExponentialDecay",
                         "config": {"initial_learning_rate": 0.1, "decay_steps": 1,
                                    "decay_rate": 0.5}}
    assert callable(opt.learning_rate) and opt.lr == pytest.approx(0.0125)


@pytest.mark.parametrize("bad", [0, -0.1, float("nan"), "no-such-schedule"])
def test_a_bad_learning_rate_is_refused_on_assignment(bad):
    opt = ff.optimizers.Adam()
    with pytest.raises(FeedforwardError, match="learning_rate"):
        opt.learning_rate = bad
    assert opt.learning_rate == 0.001


def test_the_trainer_refuses_data_it_would_train_or_score_wrongly():
    """The engine takes prepared arrays as they are; anything else is refused, naming the
    argument (labels as a vector would score a wrong validation loss, silently)."""
    x, y = data()
    model = make()
    with pytest.raises(FeedforwardError, match="not built"):
        Trainer(model, x, y)
    xp, yp = model.prepare_xy(x, y)  # builds the model
    bad = {"x": [(xp.tolist(), yp), (xp[:, :2], yp), (xp.astype("float64"), yp)],
           "y": [(xp, y), (xp, yp[:-1]), (xp, yp.astype("float64"))]}
    for name, cases in bad.items():
        for xb, yb in cases:
            with pytest.raises(FeedforwardError, match=rf"^{name}: expected"):
                Trainer(model, xb, yb)
    with pytest.raises(FeedforwardError, match=r"^validation: expected a tuple"):
        Trainer(model, xp, yp, validation=(xp,))
    with pytest.raises(FeedforwardError, match=r"^validation\[1\]: expected the targets"):
        Trainer(model, xp, yp, validation=(xp, y))
    t = Trainer(model, xp, yp, validation=(xp, yp), epochs=1)
    t.fit()
    assert np.isclose(t.history.history["val_loss"][0], model.evaluate(x, y)[0])
    with pytest.raises(FeedforwardError, match=r"^x: expected"):
        t.set_data(xp[:, :1], yp)
