"""Bad input at the boundary: every case raises FeedforwardError naming the argument.

The matrix crosses each kind of bad data with every entry point that takes it
(``fit``, ``evaluate``, ``train_on_batch``, and ``predict`` for ``x``), and lists the bad
hyperparameters and unknown names separately. A failed call must leave the weights as they were.
"""

from __future__ import annotations

import numpy as np
import pytest

import feedforward as ff

RNG = np.random.default_rng(0)
X = RNG.normal(size=(6, 3))
LABELS = np.array([0, 1, 2, 0, 1, 2])


def classifier(loss="categorical_crossentropy"):
    """3 -> 4 -> 3 softmax classifier (or 1 sigmoid output for binary cross-entropy)."""
    out = ff.Dense(1, activation="sigmoid") if loss == "binary_crossentropy" else \
        ff.Dense(3, activation="softmax" if loss == "categorical_crossentropy" else None)
    model = ff.Sequential([ff.Dense(4, activation="relu"), out], input_dim=3, seed=0)
    model.compile("sgd", loss)
    return model


def with_value(a, value, index=(1, 1)):
    a = np.array(a, dtype=float)
    a[index] = value
    return a


def object_column():
    a = X.astype(object)
    a[2, 1] = None
    return a


XY_METHODS = {
    "fit": lambda m, x, y: m.fit(x, y, epochs=1, verbose=0),
    "evaluate": lambda m, x, y: m.evaluate(x, y),
    "train_on_batch": lambda m, x, y: m.train_on_batch(x, y),
}
X_METHODS = {**XY_METHODS, "predict": lambda m, x, y: m.predict(x)}

BAD_X = {
    "nan": (with_value(X, np.nan), r"^x: expected finite values, got nan at index \(1, 1\)"),
    "inf": (with_value(X, -np.inf), r"^x: expected finite values, got -inf"),
    "3d": (X[:, :, None], r"^x: expected 1 or 2 dimensions, got shape \(6, 3, 1\)"),
    "0d": (np.float64(1.0), r"^x: expected 1 or 2 dimensions"),
    "1d": (X[:, 0], r"^x: expected a 2-D array \(samples, features\), got shape \(6,\)"),
    "too_few_features": (X[:, :2], r"^x: expected 3 features \(the input of layer 0, Dense\), "
                                   r"got 2"),
    "too_many_features": (np.hstack([X, X]), r"^x: expected 3 features .*Dense.*got 6"),
    "empty": (np.zeros((0, 3)), r"^x: expected at least one sample, got shape \(0, 3\)"),
    "strings": (X.astype(str), r"^x: expected numeric data, got dtype <U"),
    "object": (object_column(), r"^x: expected numeric data, got None at index \(2, 1\)"),
    "ragged": ([[1.0, 2.0, 3.0], [1.0, 2.0]] * 3, r"^x: could not be read as an array"),
    "none": (None, r"^x: expected an array, got None"),
}

# (loss, y, message)
BAD_Y = {
    "nan": ("mse", with_value(np.zeros((6, 3)), np.nan), r"^y: expected finite values"),
    "inf": ("mse", with_value(np.zeros((6, 3)), np.inf), r"^y: expected finite values, got inf"),
    "3d": ("mse", np.zeros((6, 3, 1)), r"^y: expected 1 or 2 dimensions"),
    "too_short": ("categorical_crossentropy", LABELS[:4], r"^y: expected 6 samples to match x, "
                                                          r"got 4"),
    "too_long": ("mse", np.zeros((9, 3)), r"^y: expected 6 samples to match x, got 9"),
    "label_too_big": ("categorical_crossentropy", with_value(LABELS, 3, 2),
                      r"^y: expected class labels in \[0, 2\] for 3 outputs, "
                      r"got labels in \[0, 3\]"),
    "label_negative": ("categorical_crossentropy", with_value(LABELS, -1, 0),
                       r"^y: expected class labels in \[0, 2\].*\[-1, 2\]"),
    "label_not_integer": ("categorical_crossentropy", with_value(LABELS, 0.5, 0),
                          r"^y: expected integer class labels"),
    "onehot_wrong_width": ("categorical_crossentropy", np.eye(4)[LABELS],
                           r"^y: expected 3 column\(s\).*got shape \(6, 4\)"),
    "bce_target_above_1": ("binary_crossentropy", with_value(LABELS % 2, 2, 3),
                           r"^y: binary cross-entropy expects targets in \[0, 1\]"),
    "bce_target_negative": ("binary_crossentropy", with_value((LABELS % 2)[:, None], -1, (0, 0)),
                            r"^y: binary cross-entropy expects targets in \[0, 1\]"),
    "regression_wrong_width": ("mse", np.zeros((6, 2)), r"^y: expected 3 column\(s\)"),
    "strings": ("categorical_crossentropy", LABELS.astype(str), r"^y: expected numeric data"),
    "empty": ("mse", np.zeros((0, 3)), r"^y: expected at least one sample"),
    "none": ("mse", None, r"^y: expected an array, got None"),
}


def good_y(loss):
    return np.zeros((6, 3)) if loss == "mse" else LABELS


def raises_and_keeps_weights(model, call, match):
    before = model.get_weights()
    with pytest.raises(ff.FeedforwardError, match=match) as info:
        call()
    assert isinstance(info.value, ValueError)
    for w, w0 in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(w, w0)
    assert model.optimizer.iterations == 0
    return str(info.value)


@pytest.mark.parametrize("case", BAD_X)
@pytest.mark.parametrize("method", X_METHODS)
def test_bad_x(method, case):
    x, match = BAD_X[case]
    model = classifier()
    raises_and_keeps_weights(model, lambda: X_METHODS[method](model, x, LABELS), match)


@pytest.mark.parametrize("case", BAD_Y)
@pytest.mark.parametrize("method", XY_METHODS)
def test_bad_y(method, case):
    loss, y, match = BAD_Y[case]
    model = classifier(loss)
    raises_and_keeps_weights(model, lambda: XY_METHODS[method](model, X, y), match)


def test_good_data_control():
    # every loss the matrix uses accepts its good targets, so each refusal is due to the bad part
    for loss in ("mse", "categorical_crossentropy"):
        model = classifier(loss)
        for method in XY_METHODS.values():
            method(model, X, good_y(loss))
    model = classifier("binary_crossentropy")
    model.fit(X, LABELS % 2, verbose=0)


# ------------------------------------------------------------------ call arguments
CALL_CASES = {
    "fit_batch_size_0": (lambda m: m.fit(X, LABELS, batch_size=0, verbose=0),
                         r"^batch_size: expected a value >= 1, got 0"),
    "fit_batch_size_negative": (lambda m: m.fit(X, LABELS, batch_size=-4, verbose=0),
                                r"^batch_size: expected a value >= 1, got -4"),
    "fit_batch_size_float": (lambda m: m.fit(X, LABELS, batch_size=2.5, verbose=0),
                             r"^batch_size: expected an integer, got float 2.5"),
    "evaluate_batch_size_0": (lambda m: m.evaluate(X, LABELS, batch_size=0), r"^batch_size"),
    "predict_batch_size_negative": (lambda m: m.predict(X, batch_size=-1), r"^batch_size"),
    "epochs_float": (lambda m: m.fit(X, LABELS, epochs=1.5, verbose=0),
                     r"^epochs: expected an integer, got float 1.5"),
    "epochs_negative": (lambda m: m.fit(X, LABELS, epochs=-1, verbose=0), r"^epochs"),
    "epochs_string": (lambda m: m.fit(X, LABELS, epochs="10", verbose=0),
                      r"^epochs: expected an integer, got str"),
    "validation_split_negative": (lambda m: m.fit(X, LABELS, validation_split=-0.1, verbose=0),
                                  r"^validation_split: expected a value >= 0, got -0.1"),
    "validation_split_1": (lambda m: m.fit(X, LABELS, validation_split=1.0, verbose=0),
                           r"^validation_split: expected a value < 1, got 1.0"),
    "validation_split_nan": (lambda m: m.fit(X, LABELS, validation_split=np.nan, verbose=0),
                             r"^validation_split: expected a finite number"),
    "validation_split_leaves_nothing": (
        lambda m: m.fit(X[:1], LABELS[:1], validation_split=0.5, verbose=0),
        r"^validation_split: 0.5 of 1 samples leaves an empty"),
    "validation_data_not_pair": (lambda m: m.fit(X, LABELS, validation_data=(X,), verbose=0),
                                 r"^validation_data: expected a tuple \(x_val, y_val\)"),
    "validation_data_nan": (
        lambda m: m.fit(X, LABELS, validation_data=(with_value(X, np.nan), LABELS), verbose=0),
        r"^x_val: expected finite values"),
    "validation_data_features": (
        lambda m: m.fit(X, LABELS, validation_data=(X[:, :2], LABELS), verbose=0),
        r"^x_val: expected 3 features .*Dense"),
    "validation_data_labels": (
        lambda m: m.fit(X, LABELS, validation_data=(X, LABELS + 1), verbose=0),
        r"^y_val: expected class labels in \[0, 2\]"),
    "validation_data_length": (
        lambda m: m.fit(X, LABELS, validation_data=(X, LABELS[:3]), verbose=0),
        r"^y_val: expected 6 samples to match x_val, got 3"),
    "verbose_3": (lambda m: m.fit(X, LABELS, verbose=3), r"^verbose: expected 0, 1 or 2"),
    "set_weights_nan": (
        lambda m: m.set_weights([with_value(w, np.nan, (0,) * w.ndim) for w in m.get_weights()]),
        r"^weights\[0\]: expected finite values"),
}


@pytest.mark.parametrize("case", CALL_CASES)
def test_bad_call_arguments(case):
    call, match = CALL_CASES[case]
    model = classifier()
    raises_and_keeps_weights(model, lambda: call(model), match)


# ------------------------------------------------------------------ hyperparameters and names
CONSTRUCTOR_CASES = {
    "learning_rate_0": (lambda: ff.optimizers.SGD(learning_rate=0),
                        r"^learning_rate: expected a value > 0, got 0"),
    "learning_rate_negative": (lambda: ff.optimizers.SGD(learning_rate=-0.1),
                               r"^learning_rate: expected a value > 0"),
    "learning_rate_nan": (lambda: ff.optimizers.SGD(learning_rate=float("nan")),
                          r"^learning_rate: expected a finite number, got nan"),
    "learning_rate_inf": (lambda: ff.optimizers.SGD(learning_rate=float("inf")),
                          r"^learning_rate: expected a finite number"),
    # a string names a schedule; one that names none must still be blamed on learning_rate
    "learning_rate_string": (lambda: ff.optimizers.SGD(learning_rate="0.1"),
                             r"^learning_rate: .*'0\.1'"),
    "learning_rate_in_config": (
        lambda: ff.optimizers.get({"class_name": "SGD", "config": {"learning_rate": 0.0}}),
        r"^learning_rate: expected a value > 0"),
    "dropout_rate_1": (lambda: ff.Dropout(1.0), r"^rate: expected a value < 1, got 1.0"),
    "dropout_rate_above_1": (lambda: ff.Dropout(1.5), r"^rate: expected a value < 1"),
    "dropout_rate_negative": (lambda: ff.Dropout(-0.2), r"^rate: expected a value >= 0"),
    "units_0": (lambda: ff.Dense(0), r"^units: expected a value >= 1, got 0"),
    "units_float": (lambda: ff.Dense(2.5), r"^units: expected an integer"),
    "maxout_pieces_0": (lambda: ff.Maxout(3, pieces=0), r"^pieces: expected a value >= 1"),
    "dtype": (lambda: ff.Sequential([ff.Dense(2)], dtype="float16"),
              r"^dtype: expected one of .*float32.*got 'float16'"),
    "seed_negative": (lambda: ff.Sequential([ff.Dense(2)], seed=-1), r"^seed: expected a value"),
    "input_dim_0": (lambda: ff.Sequential([ff.Dense(2)], input_dim=0), r"^input_dim"),
    "no_layers": (lambda: ff.Sequential([]).build(3), r"^build: the model has no layers"),
    "unknown_activation": (lambda: ff.Dense(4, activation="rleu"),
                           r"^unknown activation 'rleu'; known activations: .*relu.*tanh"),
    "unknown_activation_layer": (lambda: ff.Activation("softmaks"),
                                 r"^unknown activation 'softmaks'; known activations: .*softmax"),
    "unknown_kernel_initializer": (lambda: ff.Dense(4, kernel_initializer="glorot"),
                                   r"^unknown initializer 'glorot'; known initializers: "
                                   r".*glorot_uniform.*he_normal"),
    "unknown_bias_initializer": (lambda: ff.Dense(4, bias_initializer="zeroes"),
                                 r"^unknown initializer 'zeroes'; known initializers: .*zeros"),
    "unknown_regularizer": (lambda: ff.Dense(4, kernel_regularizer="l3"),
                            r"^unknown regularizer 'l3'; known regularizers: .*l1.*l2"),
    "unknown_loss": (lambda: ff.Sequential([ff.Dense(2)]).compile("sgd", "mean_squared_eror"),
                     r"^unknown loss 'mean_squared_eror'; known losses: .*mean_squared_error"),
    "unknown_optimizer": (lambda: ff.Sequential([ff.Dense(2)]).compile("sgdd", "mse"),
                          r"^unknown optimizer 'sgdd'; known optimizers: .*SGD"),
    "unknown_metric": (lambda: ff.Sequential([ff.Dense(2)]).compile("sgd", "mse", ["acuracy"]),
                       r"^unknown metric 'acuracy'; known metrics: .*accuracy"),
    "unknown_layer": (lambda: ff.Sequential(["Dense2"]),
                      r"^unknown layer 'Dense2'; known layers: .*Dense.*Dropout"),
    "fit_before_compile": (lambda: ff.Sequential([ff.Dense(2)]).fit(X, LABELS, verbose=0),
                           r"^fit: call compile\(optimizer, loss, metrics\) first"),
    "evaluate_before_compile": (lambda: ff.Sequential([ff.Dense(2)]).evaluate(X, LABELS),
                                r"^evaluate: call compile"),
    "train_on_batch_before_compile": (
        lambda: ff.Sequential([ff.Dense(2)]).train_on_batch(X, LABELS),
        r"^train_on_batch: call compile"),
}


@pytest.mark.parametrize("case", CONSTRUCTOR_CASES)
def test_bad_hyperparameters_and_unknown_names(case):
    make, match = CONSTRUCTOR_CASES[case]
    with pytest.raises(ff.FeedforwardError, match=match) as info:
        make()
    assert isinstance(info.value, ValueError)


# ------------------------------------------------------------------ edge cases that must work
@pytest.mark.parametrize("loss, y", [("categorical_crossentropy", LABELS[:1]),
                                     ("mse", np.ones((1, 3)))])
def test_a_single_sample_fit_works(loss, y):
    model = classifier(loss)
    before = model.get_weights()
    history = model.fit(X[:1], y, epochs=3, verbose=0)
    assert model.optimizer.iterations == 3
    assert len(history.history["loss"]) == 3
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert not np.array_equal(model.get_weights()[0], before[0])
    assert model.predict(X[:1]).shape == (1, 3)
    assert np.isfinite(model.evaluate(X[:1], y))


def test_one_feature_accepts_a_vector_once_built():
    model = ff.Sequential([ff.Dense(2)], input_dim=1, seed=0)
    model.compile("sgd", "mse")
    assert model.predict(np.arange(5.0)).shape == (5, 2)


def test_plain_lists_and_integer_or_bool_data_are_accepted():
    model = classifier()
    model.fit(X.tolist(), LABELS.tolist(), epochs=1, verbose=0)
    model.fit((X > 0), LABELS, epochs=1, verbose=0)
    model.fit(np.round(X).astype(np.int64), LABELS, epochs=1, verbose=0)
    assert model.optimizer.iterations == 3
