"""fit(sample_weight, class_weight, initial_epoch) and validation_data with weights, as Keras."""

import numpy as np
import pytest

import feedforward as ff
from feedforward.errors import FeedforwardError

RNG = np.random.default_rng(7)
X = RNG.normal(size=(60, 3))
Y_REG = X @ np.array([1.0, -2.0, 0.5]) + RNG.normal(0, 0.1, 60)
Y_CLS = (X[:, 0] + X[:, 1] > 0).astype(int)


def regressor(**kw):
    model = ff.Sequential([ff.Dense(4, activation="tanh"), ff.Dense(1)], seed=1,
                          dtype="float64", **kw)
    model.compile(ff.optimizers.SGD(0.05), "mse")
    return model


def classifier(units=2, classes=None, loss="categorical_crossentropy"):
    act = "softmax" if units > 1 and loss == "categorical_crossentropy" else "sigmoid"
    model = ff.Sequential([ff.Dense(5, activation="tanh"), ff.Dense(units, activation=act)],
                          seed=2, dtype="float64", classes=classes)
    model.compile("adam", loss, metrics=["accuracy"])
    return model


def rows_mse(model, x, y):
    return ((model.predict(x)[:, 0] - y) ** 2)


# ---------------------------------------------------------------------------- the reduction
def test_the_logged_loss_is_the_weighted_sum_over_the_batch_size():
    """Keras's "sum_over_batch_size": sum(w * l) / n, not / sum(w); computed by hand."""
    w = RNG.uniform(0, 3, 60)
    model = regressor()
    model.build(3)
    expected = np.sum(w * rows_mse(model, X, Y_REG)) / 60  # before the one full-batch step
    history = model.fit(X, Y_REG, epochs=1, batch_size=60, shuffle=False, verbose=0,
                        sample_weight=w)
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-12)
    assert history.history["loss"][0] != pytest.approx(np.average(rows_mse(regressor(), X, Y_REG),
                                                                  weights=w), rel=1e-3)


def test_val_loss_is_weighted_by_the_validation_weights_and_metrics_are_not():
    wv = RNG.uniform(0, 2, 60)
    model = classifier()
    history = model.fit(X, Y_CLS, epochs=2, verbose=0, validation_data=(X, Y_CLS, wv))
    p = np.clip(model.predict(X), 1e-7, 1 - 1e-7)
    rows = -np.log(p[np.arange(60), Y_CLS])
    assert history.history["val_loss"][-1] == pytest.approx(np.sum(wv * rows) / 60, rel=1e-9)
    accuracy = np.mean(p.argmax(1) == Y_CLS)
    assert history.history["val_accuracy"][-1] == pytest.approx(accuracy)


def test_validation_split_keeps_each_rows_weight():
    w = np.r_[np.ones(45), np.full(15, 4.0)]
    model = regressor()
    history = model.fit(X, Y_REG, epochs=1, verbose=0, validation_split=0.25, sample_weight=w)
    expected = np.sum(4.0 * rows_mse(model, X[45:], Y_REG[45:])) / 15
    assert history.history["val_loss"][0] == pytest.approx(expected, rel=1e-9)


def test_weights_of_one_train_exactly_as_no_weights():
    """The gradient is multiplied by 1.0: the same weights bit for bit; the logged loss is
    summed in another order, equal to rounding."""
    a, b = classifier(), classifier()
    ha = a.fit(X, Y_CLS, epochs=3, batch_size=8, verbose=0, sample_weight=np.ones(60),
               validation_data=(X, Y_CLS, np.ones(60)))
    hb = b.fit(X, Y_CLS, epochs=3, batch_size=8, verbose=0, validation_data=(X, Y_CLS))
    np.testing.assert_array_equal(a.params, b.params)
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(ha.history[key], hb.history[key], rtol=1e-12)


def test_a_zero_weight_removes_the_row():
    keep = np.r_[np.ones(30), np.zeros(30)]
    a, b = regressor(), regressor()
    a.fit(X, Y_REG, epochs=2, batch_size=60, verbose=0, sample_weight=keep)
    y = Y_REG.copy()
    y[30:] += 100.0  # what rows of weight 0 hold does not matter
    b.fit(X, y, epochs=2, batch_size=60, verbose=0, sample_weight=keep)
    np.testing.assert_array_equal(a.params, b.params)


def test_the_model_keeps_its_own_loss_during_and_after_a_weighted_fit():
    seen = []

    class Spy(ff.callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append(type(self.model.loss).__name__)

    model = regressor()
    model.fit(X, Y_REG, epochs=1, batch_size=30, verbose=0, sample_weight=np.ones(60),
              callbacks=[Spy()])
    assert seen == ["MSE", "MSE"] and type(model.loss).__name__ == "MSE"


# ---------------------------------------------------------------------------- class_weight
@pytest.mark.parametrize("units,loss", [(2, "categorical_crossentropy"),
                                        (1, "binary_crossentropy")])
def test_class_weight_is_the_sample_weight_of_each_rows_class(units, loss):
    a, b = classifier(units, loss=loss), classifier(units, loss=loss)
    ha = a.fit(X, Y_CLS, epochs=2, batch_size=16, verbose=0, class_weight={1: 3.0})
    hb = b.fit(X, Y_CLS, epochs=2, batch_size=16, verbose=0,
               sample_weight=np.where(Y_CLS == 1, 3.0, 1.0))
    np.testing.assert_array_equal(a.params, b.params)
    assert ha.history["loss"] == hb.history["loss"]


@pytest.mark.parametrize("units,loss", [(2, "categorical_crossentropy"),
                                        (1, "binary_crossentropy")])
def test_balanced_class_weight_is_scikit_learns_rule_on_the_training_part(units, loss):
    from sklearn.utils.class_weight import compute_sample_weight

    y = np.r_[np.ones(10, int), np.zeros(50, int)]  # one class in six
    a, b = classifier(units, loss=loss), classifier(units, loss=loss)
    a.fit(X, y, epochs=2, batch_size=16, verbose=0, class_weight="balanced",
          validation_split=0.25)
    b.fit(X, y, epochs=2, batch_size=16, verbose=0, validation_split=0.25,
          class_weight=dict(enumerate(compute_sample_weight("balanced", y[:45])[[44, 0]])))
    np.testing.assert_array_equal(a.params, b.params)


def test_balanced_class_weight_is_refused_for_a_stream():
    batches = [(X[:30], Y_CLS[:30]), (X[30:], Y_CLS[30:])]
    with pytest.raises(FeedforwardError, match="'balanced' counts the classes of the whole"):
        classifier().fit(batches, epochs=1, verbose=0, class_weight="balanced")


def test_class_weight_by_the_models_class_names():
    a = classifier(classes=["no", "yes"])
    b = classifier(classes=["no", "yes"])
    a.fit(X, Y_CLS, epochs=1, verbose=0, class_weight={"yes": 2.0, "no": 0.5})
    b.fit(X, Y_CLS, epochs=1, verbose=0, class_weight={1: 2.0, 0: 0.5})
    np.testing.assert_array_equal(a.params, b.params)


def test_class_weight_applies_to_training_not_to_the_validation_split():
    a, b = classifier(), classifier()
    ha = a.fit(X, Y_CLS, epochs=1, verbose=0, validation_split=0.5, class_weight={0: 5.0})
    hb = b.fit(X, Y_CLS, epochs=1, verbose=0, validation_split=0.5,
               sample_weight=np.where(Y_CLS == 0, 5.0, 1.0))
    np.testing.assert_array_equal(a.params, b.params)
    assert ha.history["loss"] == hb.history["loss"]
    assert ha.history["val_loss"] != hb.history["val_loss"]


@pytest.mark.parametrize("make,kw,match", [
    (classifier, {"class_weight": {2: 1.0}}, r"class_weight: unknown class 2; expected class "
                                             r"ids 0\.\.1"),
    (lambda: classifier(classes=["a", "b"]), {"class_weight": {"c": 1.0}},
     "unknown class 'c'.*names"),
    (classifier, {"class_weight": {0: -1.0}}, r"class_weight\[0\]: expected a weight >= 0"),
    (classifier, {"class_weight": [1.0, 2.0]}, "class_weight: expected a dict"),
    (regressor, {"class_weight": {0: 2.0}}, "class_weight: .*loss mse"),
    (classifier, {"class_weight": {0: 2.0}, "sample_weight": np.ones(60)},
     "class_weight: cannot be combined with sample_weight"),
    (classifier, {"sample_weight": np.ones(59)}, r"sample_weight: expected one weight per "
                                                 r"sample, shape \(60,\)"),
    (classifier, {"sample_weight": -np.ones(60)}, "sample_weight: expected weights >= 0"),
    (classifier, {"sample_weight": np.zeros(60)}, "sample_weight: expected at least one"),
    (classifier, {"sample_weight": np.full(60, np.nan)}, "sample_weight: expected finite"),
    (classifier, {"validation_data": (X, Y_CLS, np.ones(3))}, "val_sample_weight: expected one"),
    (classifier, {"validation_data": (X, Y_CLS, 1, 2)}, "validation_data: expected a tuple"),
])
def test_bad_weights_are_refused_naming_the_argument(make, kw, match):
    y = Y_REG if make is regressor else Y_CLS
    with pytest.raises(FeedforwardError, match=match):
        make().fit(X, y, epochs=1, verbose=0, **kw)


def test_class_weight_is_refused_for_multilabel_targets():
    model = classifier(2, loss="binary_crossentropy")
    with pytest.raises(FeedforwardError, match="class_weight: .*multilabel"):
        model.fit(X, np.c_[Y_CLS, 1 - Y_CLS], verbose=0, class_weight={0: 2.0})


def test_a_loss_without_per_sample_terms_refuses_weights():
    model = ff.Sequential([ff.Dense(1)], seed=0)
    model.compile("sgd", "huber")
    with pytest.raises(FeedforwardError, match="sample_weight: weights need .* huber"):
        model.fit(X, Y_REG, verbose=0, sample_weight=np.ones(60))


# ---------------------------------------------------------------------------- initial_epoch
class Seen(ff.callbacks.Callback):
    def __init__(self):
        self.begun, self.ended = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.begun.append(epoch)

    def on_epoch_end(self, epoch, logs=None):
        self.ended.append(epoch)


def test_initial_epoch_trains_the_epochs_from_it_to_epochs_as_keras():
    seen, rates = Seen(), []
    schedule = ff.callbacks.LearningRateScheduler(lambda e, lr: rates.append(e) or 0.1 / (1 + e))
    model = regressor()
    history = model.fit(X, Y_REG, epochs=5, initial_epoch=2, verbose=0,
                        callbacks=[seen, schedule])
    assert history.epoch == seen.begun == seen.ended == rates == [2, 3, 4]
    assert len(history.history["loss"]) == 3
    assert model.optimizer.lr == pytest.approx(0.1 / 5)


def test_initial_epoch_continues_a_training_as_one_fit():
    """Two fits, the second from initial_epoch, give the weights of one (no shuffling, a
    rate that depends on the epoch)."""
    def sched():
        return ff.callbacks.LearningRateScheduler(lambda e, lr: 0.1 / (1 + e))
    a, b = regressor(), regressor()
    a.fit(X, Y_REG, epochs=4, shuffle=False, verbose=0, callbacks=[sched()])
    b.fit(X, Y_REG, epochs=2, shuffle=False, verbose=0, callbacks=[sched()])
    b.fit(X, Y_REG, epochs=4, initial_epoch=2, shuffle=False, verbose=0, callbacks=[sched()])
    np.testing.assert_array_equal(a.params, b.params)


def test_initial_epoch_equal_to_epochs_trains_nothing():
    model = regressor()
    model.build(3)
    before = model.params.copy()
    history = model.fit(X, Y_REG, epochs=3, initial_epoch=3, verbose=0)
    assert history.epoch == [] and np.array_equal(model.params, before)


@pytest.mark.parametrize("initial,match", [(4, r"initial_epoch: expected at most epochs \(3\)"),
                                           (-1, "initial_epoch"), (1.5, "initial_epoch")])
def test_bad_initial_epoch_is_refused(initial, match):
    with pytest.raises(FeedforwardError, match=match):
        regressor().fit(X, Y_REG, epochs=3, initial_epoch=initial, verbose=0)


def test_a_checkpoint_position_overrides_initial_epoch(tmp_path):
    """One notion of the current epoch: a BackupAndRestore resumes where it saved, as
    Keras's does (it sets the initial epoch from the checkpoint)."""
    class Stop(ff.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    model = regressor()
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, Y_REG, epochs=5, verbose=0,
                  callbacks=[Stop(), ff.BackupAndRestore(tmp_path)])
    seen = Seen()
    model.fit(X, Y_REG, epochs=5, verbose=0, callbacks=[seen, ff.BackupAndRestore(tmp_path)])
    assert seen.begun == seen.ended == [1, 2, 3, 4]  # epoch 0 was saved; 1 was not
