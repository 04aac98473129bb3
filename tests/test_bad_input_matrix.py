"""The bad-input matrix: every public entry point crossed with every kind of bad input.

The matrix is data: :data:`CELLS` holds one :class:`Cell` per (entry point, bad input), each
expecting either

- a :class:`~feedforward.FeedforwardError` whose message names the argument (``expect``) and
  says something of what came (``came``), or
- a documented behaviour (``expect`` starting with ``"ok: "``), asserted by ``check``
  (see docs/errors.md).

Library entry points must raise exactly the library's error type (or its subclass), never a
bare ``ValueError``, ``TypeError`` or ``IndexError`` from inside NumPy. Command-line cells run
``feedforward.cli.main.main`` in-process and expect exit status 2 and one line on stderr that
names the option; a few also run as subprocesses to show no traceback reaches the user.
"""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

import feedforward as ff
from feedforward.cli.main import main as cli_main
from feedforward.sklearn import NeuralNetClassifier, NeuralNetRegressor

K = 10  # classes of the classifier: label 10 is the first label out of range
N, D = 20, 4
RNG = np.random.default_rng(0)
X = RNG.normal(size=(N, D))
LABELS = np.arange(N) % K
TARGETS = RNG.normal(size=(N, 2))  # the regressor has 2 outputs


@dataclass(frozen=True)
class Cell:
    """One entry point against one bad input.

    ``call`` runs the entry point on the bad input. ``expect`` is the argument the error must
    name, or ``"ok: <behaviour>"`` for an input that is accepted; then ``check`` asserts the
    behaviour on ``call``'s result. ``came`` is a fragment of what came, which the message
    must contain.
    """

    entry: str
    case: str
    call: Callable[[], object]
    expect: str
    came: str = ""
    check: Callable[[object], None] | None = None

    @property
    def id(self) -> str:
        return f"{self.entry}[{self.case}]"


# ---------------------------------------------------------------------------- models and data
def classifier(built=True):
    """4 -> 8 -> 10 softmax classifier with categorical cross-entropy."""
    model = ff.Sequential([ff.Dense(8, activation="relu"), ff.Dense(K, activation="softmax")],
                          input_dim=D if built else None, seed=0)
    model.compile("sgd", "categorical_crossentropy", ["accuracy"])
    return model


def regressor():
    """4 -> 2 linear outputs with mean squared error."""
    model = ff.Sequential([ff.Dense(2)], input_dim=D, seed=0)
    model.compile("sgd", "mse")
    return model


def binary():
    """4 -> 1 sigmoid output with binary cross-entropy."""
    model = ff.Sequential([ff.Dense(1, activation="sigmoid")], input_dim=D, seed=0)
    model.compile("sgd", "binary_crossentropy")
    return model


def put(a, value, index=(1, 1), dtype=float):
    """A copy of ``a`` as ``dtype`` with ``value`` at ``index``."""
    a = np.array(a, dtype=dtype)
    a[index] = value
    return a


def object_x():
    a = X.astype(object)
    a[3, 1] = None
    return a


def string_frame():
    frame = pd.DataFrame(X, columns=list("abcd"))
    frame["b"] = ["x", "y"] * (N // 2)
    return frame


def missing_frame(value):
    """A DataFrame with one missing value: NaN in a float column, or pd.NA in an Int64 one."""
    frame = pd.DataFrame(X, columns=list("abcd"))
    frame["c"] = pd.array(np.round(X[:, 2]), dtype="Float64" if value is np.nan else "Int64")
    frame.loc[3, "c"] = value
    return frame


# ---------------------------------------------------------------------------- Sequential
def _fit(model, x, y):
    return model.fit(x, y, epochs=1, verbose=0)


XY_ENTRIES = {
    "Sequential.fit": _fit,
    "Sequential.evaluate": lambda m, x, y: m.evaluate(x, y),
    "Sequential.train_on_batch": lambda m, x, y: m.train_on_batch(x, y),
}
X_ENTRIES = {**XY_ENTRIES, "Sequential.predict": lambda m, x, y: m.predict(x)}


def _finite_result(out):
    """Whatever the entry point returns (History, loss, list, outputs) holds finite numbers."""
    if isinstance(out, ff.callbacks.History):
        out = [v for values in out.history.values() for v in values]
    assert np.isfinite(np.asarray(out, dtype=float)).all()


# (name, bad x, came); every one of these must be refused naming x
BAD_X = [
    ("nan", put(X, np.nan), "nan"),
    ("inf", put(X, np.inf), "inf"),
    ("-inf", put(X, -np.inf), "-inf"),
    ("1-D", X[:, 0], "(20,)"),
    ("3-D", X[:, :, None], "(20, 4, 1)"),
    ("0-D", np.float64(1.5), "()"),
    ("fewer features", X[:, :3], "3"),
    ("more features", np.hstack([X, X]), "8"),
    ("0 rows", np.zeros((0, D)), "(0, 4)"),
    ("0 columns", np.zeros((N, 0)), "(20, 0)"),
    ("str array", X.astype(str), "<U"),
    ("object array with None", object_x(), "object"),
    ("DataFrame with a string column", string_frame(), "object"),
    ("DataFrame with NaN", missing_frame(np.nan), "nan at index (3, 2)"),
    ("DataFrame with pd.NA", missing_frame(pd.NA), "nan at index (3, 2)"),
    ("None", None, "None"),
    ("ragged list", [[1.0, 2.0, 3.0, 4.0], [1.0]] * (N // 2), "could not be read"),
    ("complex", X.astype(complex), "complex"),
    ("datetime", np.zeros((N, D), dtype="datetime64[s]"), "datetime64"),
    ("a string", "abcd", "<U"),
    ("beyond float32", put(X, 1e300), "float32"),
]

# (name, x, behaviour, check of the result); accepted by every X entry point
GOOD_X = [
    ("single sample", X[:1], "one sample is a batch of one", _finite_result),
    ("bool", X > 0, "booleans are 0/1 numbers", _finite_result),
    ("int", np.round(X).astype(np.int64), "integers are converted", _finite_result),
    ("nested lists", X.tolist(), "lists are arrays", _finite_result),
    ("numeric DataFrame", pd.DataFrame(X), "pandas through to_numpy", _finite_result),
    ("DataFrame of nullable Int64", pd.DataFrame(np.round(X * 3)).astype("Int64"),
     "nullable numeric columns are numbers", _finite_result),
    ("float16", X.astype(np.float16), "any float width", _finite_result),
    ("strided view", np.hstack([X, X])[::1, ::2], "non-contiguous arrays", _finite_result),
]


def x_cells():
    cells = []
    for entry, run in X_ENTRIES.items():
        for case, x, came in BAD_X:
            cells.append(Cell(entry, f"x {case}",
                              lambda run=run, x=x: run(classifier(), x, LABELS), "x", came))
        for case, x, behaviour, check in GOOD_X:
            n = len(x)
            cells.append(Cell(entry, f"x {case}",
                              lambda run=run, x=x, n=n: run(classifier(), x, LABELS[:n]),
                              f"ok: {behaviour}", check=check))
    # an unbuilt model takes its input width from the first data: none is no width
    cells.append(Cell("Sequential.fit", "x 0 columns, unbuilt model",
                      lambda: _fit(classifier(built=False), np.zeros((N, 0)), LABELS),
                      "x", "(20, 0)"))
    cells.append(Cell("Sequential.predict", "x 0 columns, unbuilt model",
                      lambda: classifier(built=False).predict(np.zeros((N, 0))), "x", "(20, 0)"))
    return cells


# (name, model, bad y, came); refused naming y by fit, evaluate and train_on_batch
BAD_Y = [
    ("nan", regressor, put(TARGETS, np.nan), "nan"),
    ("inf", regressor, put(TARGETS, np.inf), "inf"),
    ("-inf label", classifier, put(LABELS, -np.inf, 3), "-inf"),
    ("3-D", regressor, TARGETS[:, :, None], "(20, 2, 1)"),
    ("shorter than x", classifier, LABELS[:-1], "19"),
    ("longer than x", regressor, np.vstack([TARGETS, TARGETS]), "40"),
    ("label 10 for 10 classes", classifier, put(LABELS, 10, 3, int), "10"),
    ("negative label", classifier, put(LABELS, -1, 3, int), "-1"),
    ("label 0.5", classifier, put(LABELS, 0.5, 3), "non-integer"),
    ("one-hot 9 wide", classifier, np.eye(9)[LABELS % 9], "(20, 9)"),
    ("one-hot 11 wide", classifier, np.eye(11)[LABELS], "(20, 11)"),
    ("regression 3 wide", regressor, np.zeros((N, 3)), "(20, 3)"),
    ("regression 1-D for 2 outputs", regressor, TARGETS[:, 0], "(20, 1)"),
    ("bce target 2", binary, put(LABELS % 2, 2, 3), "2"),
    ("bce target -1", binary, put(LABELS % 2, -1, 3), "-1"),
    ("str labels", classifier, LABELS.astype(str), "<U"),
    ("object labels with None", classifier, put(LABELS, None, 3, object), "object"),
    ("Series of strings", classifier, pd.Series(LABELS.astype(str)), "object"),
    ("0 rows", regressor, np.zeros((0, 2)), "0"),
    ("None", classifier, None, "None"),
    ("beyond float32", regressor, put(TARGETS, 1e300), "float32"),
]

GOOD_Y = [
    ("labels as whole floats", classifier, LABELS.astype(float), "1.0 is label 1"),
    ("labels as a column", classifier, LABELS[:, None], "(n, 1) integer labels are labels"),
    ("one-hot rows", classifier, np.eye(K)[LABELS], "one-hot rows of the output width"),
    ("probability rows", classifier, np.full((N, K), 1 / K), "soft labels"),
    ("bool bce targets", binary, LABELS % 2 == 1, "booleans are 0/1 targets"),
    ("list of labels", classifier, LABELS.tolist(), "lists are arrays"),
    ("Series of labels", classifier, pd.Series(LABELS), "pandas through to_numpy"),
]


def y_cells():
    cells = []
    for entry, run in XY_ENTRIES.items():
        for case, make, y, came in BAD_Y:
            cells.append(Cell(entry, f"y {case}",
                              lambda run=run, make=make, y=y: run(make(), X, y), "y", came))
        for case, make, y, behaviour in GOOD_Y:
            cells.append(Cell(entry, f"y {case}",
                              lambda run=run, make=make, y=y: run(make(), X, y),
                              f"ok: {behaviour}", check=_finite_result))
    return cells


def _fit_with(**kwargs):
    def call():
        return classifier().fit(X, LABELS, **{"epochs": 1, "verbose": 0, **kwargs})
    return call


def _empty_history(history):
    assert isinstance(history, ff.callbacks.History)
    assert history.history == {} and history.epoch == []


def _one_epoch(history):
    assert len(history.history["loss"]) == 1 and np.isfinite(history.history["loss"][0])


def _epochs_zero_changes_nothing():
    model = classifier()
    before = model.get_weights()
    history = model.fit(X, LABELS, epochs=0, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    assert model.optimizer.iterations == 0
    return history


ARGUMENT_CELLS = [
    # batch_size
    ("Sequential.fit", "batch_size 0", _fit_with(batch_size=0), "batch_size", "0"),
    ("Sequential.fit", "batch_size -1", _fit_with(batch_size=-1), "batch_size", "-1"),
    ("Sequential.fit", "batch_size 2.5", _fit_with(batch_size=2.5), "batch_size", "2.5"),
    ("Sequential.fit", "batch_size True", _fit_with(batch_size=True), "batch_size", "bool"),
    ("Sequential.fit", "batch_size '32'", _fit_with(batch_size="32"), "batch_size", "'32'"),
    ("Sequential.fit", "batch_size with a stream of batches",
     lambda: classifier().fit([(X, LABELS)], batch_size=8, verbose=0), "batch_size", "8"),
    ("Sequential.predict", "batch_size 0", lambda: classifier().predict(X, batch_size=0),
     "batch_size", "0"),
    ("Sequential.predict", "batch_size -2", lambda: classifier().predict(X, batch_size=-2),
     "batch_size", "-2"),
    ("Sequential.predict", "batch_size 1.5", lambda: classifier().predict(X, batch_size=1.5),
     "batch_size", "1.5"),
    ("Sequential.predict", "batch_size True", lambda: classifier().predict(X, batch_size=True),
     "batch_size", "bool"),
    ("Sequential.evaluate", "batch_size 0",
     lambda: classifier().evaluate(X, LABELS, batch_size=0), "batch_size", "0"),
    ("Sequential.evaluate", "batch_size -3",
     lambda: classifier().evaluate(X, LABELS, batch_size=-3), "batch_size", "-3"),
    ("Sequential.evaluate", "batch_size 1.5",
     lambda: classifier().evaluate(X, LABELS, batch_size=1.5), "batch_size", "1.5"),
    ("Sequential.evaluate", "batch_size False",
     lambda: classifier().evaluate(X, LABELS, batch_size=False), "batch_size", "bool"),
    # epochs
    ("Sequential.fit", "epochs -1", _fit_with(epochs=-1), "epochs", "-1"),
    ("Sequential.fit", "epochs 2.5", _fit_with(epochs=2.5), "epochs", "2.5"),
    ("Sequential.fit", "epochs True", _fit_with(epochs=True), "epochs", "bool"),
    ("Sequential.fit", "epochs '5'", _fit_with(epochs="5"), "epochs", "'5'"),
    ("Sequential.fit", "epochs nan", _fit_with(epochs=float("nan")), "epochs", "nan"),
    # validation_split and validation_data
    ("Sequential.fit", "validation_split -0.1", _fit_with(validation_split=-0.1),
     "validation_split", "-0.1"),
    ("Sequential.fit", "validation_split 1", _fit_with(validation_split=1.0),
     "validation_split", "1.0"),
    ("Sequential.fit", "validation_split 1.5", _fit_with(validation_split=1.5),
     "validation_split", "1.5"),
    ("Sequential.fit", "validation_split nan", _fit_with(validation_split=float("nan")),
     "validation_split", "nan"),
    ("Sequential.fit", "validation_split '0.2'", _fit_with(validation_split="0.2"),
     "validation_split", "'0.2'"),
    ("Sequential.fit", "validation_split with a single sample",
     lambda: classifier().fit(X[:1], LABELS[:1], validation_split=0.5, verbose=0),
     "validation_split", "1 samples"),
    ("Sequential.fit", "validation_data not a pair", _fit_with(validation_data=(X,)),
     "validation_data", "tuple"),
    ("Sequential.fit", "validation_data an array", _fit_with(validation_data=X),
     "validation_data", "array of shape (20, 4)"),
    ("Sequential.fit", "validation_data a triple of 2-D weights",
     _fit_with(validation_data=(X, LABELS, X)), "val_sample_weight", "(20, 4)"),
    ("Sequential.fit", "validation_data of four", _fit_with(validation_data=(X, LABELS, X, X)),
     "validation_data", "tuple"),
    # sample_weight, class_weight, initial_epoch
    ("Sequential.fit", "sample_weight negative", _fit_with(sample_weight=-np.ones(20)),
     "sample_weight", "-1.0"),
    ("Sequential.fit", "sample_weight length", _fit_with(sample_weight=np.ones(3)),
     "sample_weight", "(3,)"),
    ("Sequential.fit", "class_weight unknown class", _fit_with(class_weight={12: 2.0}),
     "class_weight", "12"),
    ("Sequential.fit", "initial_epoch above epochs", _fit_with(initial_epoch=2),
     "initial_epoch", "2"),
    ("Sequential.fit", "validation_data x features",
     _fit_with(validation_data=(X[:, :3], LABELS)), "x_val", "3"),
    ("Sequential.fit", "validation_data x 1-D", _fit_with(validation_data=(X[:, 0], LABELS)),
     "x_val", "(20,)"),
    ("Sequential.fit", "validation_data x nan",
     _fit_with(validation_data=(put(X, np.nan), LABELS)), "x_val", "nan"),
    ("Sequential.fit", "validation_data x 0 rows",
     _fit_with(validation_data=(X[:0], LABELS[:0])), "x_val", "(0, 4)"),
    ("Sequential.fit", "validation_data y length",
     _fit_with(validation_data=(X, LABELS[:5])), "y_val", "5"),
    ("Sequential.fit", "validation_data label 10",
     _fit_with(validation_data=(X, put(LABELS, 10, 0, int))), "y_val", "10"),
    ("Sequential.fit", "validation_data one-hot width",
     _fit_with(validation_data=(X, np.eye(3)[LABELS % 3])), "y_val", "(20, 3)"),
    ("Sequential.fit", "validation_data y None", _fit_with(validation_data=(X, None)),
     "y_val", "None"),
    # the other arguments of fit
    ("Sequential.fit", "verbose 3", _fit_with(verbose=3), "verbose", "3"),
    ("Sequential.fit", "verbose '1'", _fit_with(verbose="1"), "verbose", "'1'"),
    ("Sequential.fit", "shuffle 'yes'", _fit_with(shuffle="yes"), "shuffle", "'yes'"),
    ("Sequential.fit", "callbacks not a list", _fit_with(callbacks=ff.callbacks.History()),
     "callbacks", "History"),
    ("Sequential.fit", "callbacks holding a non-callback", _fit_with(callbacks=[print]),
     "callbacks", "builtin_function_or_method"),
    ("Sequential.fit", "augment unknown name", _fit_with(augment="spin"), "augment", "spin"),
    ("Sequential.fit", "augment a number", _fit_with(augment=3), "augment", "int 3"),
]

OK_ARGUMENT_CELLS = [
    ("Sequential.fit", "epochs 0", _epochs_zero_changes_nothing,
     "0 epochs train nothing and return an empty History, as in Keras", _empty_history),
    ("Sequential.fit", "batch_size larger than the data", _fit_with(batch_size=1000),
     "one batch of all the samples (batch gradient descent)", _one_epoch),
    ("Sequential.fit", "batch_size numpy integer", _fit_with(batch_size=np.int64(4)),
     "NumPy integers are integers", _one_epoch),
    ("Sequential.fit", "validation_split with two samples",
     lambda: classifier().fit(X[:2], LABELS[:2], validation_split=0.5, verbose=0),
     "one sample to train on, one to validate", _one_epoch),
    ("Sequential.predict", "batch_size 1", lambda: classifier().predict(X, batch_size=1),
     "one sample per batch", _finite_result),
    ("Sequential.fit", "batch_size beyond the float range", _fit_with(batch_size=2 ** 1100),
     "an exact integer, larger than the data: one batch", _one_epoch),
    ("Sequential.fit", "x 1-D for a one-feature model",
     lambda: one_feature().fit(X[:, 0], TARGETS, verbose=0),
     "a vector is a column when the model takes one feature", _one_epoch),
    ("Sequential.predict", "x 1-D for a one-feature model",
     lambda: one_feature().predict(X[:, 0]),
     "a vector is a column when the model takes one feature",
     lambda out: _expect(out.shape == (N, 2))),
]


def one_feature():
    model = ff.Sequential([ff.Dense(2)], input_dim=1, seed=0)
    model.compile("sgd", "mse")
    return model


def argument_cells():
    cells = [Cell(e, c, call, name, came) for e, c, call, name, came in ARGUMENT_CELLS]
    cells += [Cell(e, c, call, f"ok: {b}", check=check) for e, c, call, b, check in
              OK_ARGUMENT_CELLS]
    return cells


# ---------------------------------------------------------------------------- compile, names
OPTIMIZERS = ["SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "Adamax", "Nadam",
              "amsgrad"]
BAD_LEARNING_RATES = [(0, "0"), (0.0, "0"), (-0.1, "-0.1"), (float("nan"), "nan"),
                      (float("inf"), "inf"), ("fast", "'fast'"), (True, "True")]


def _compile(**kwargs):
    def call():
        model = ff.Sequential([ff.Dense(2)], input_dim=D)
        model.compile(**{"optimizer": "sgd", "loss": "mse", **kwargs})
        return model
    return call


def compile_cells():
    cells = []
    for name in OPTIMIZERS:
        for lr, came in BAD_LEARNING_RATES:
            config = {"class_name": name, "config": {"learning_rate": lr}}
            cells.append(Cell("compile", f"{name} learning_rate {lr!r}",
                              _compile(optimizer=config), "learning_rate", came))
    cells += [
        Cell("compile", "optimizer unknown", _compile(optimizer="sgdd"), "optimizer", "'sgdd'"),
        Cell("compile", "optimizer a number", _compile(optimizer=3), "optimizer", "3"),
        Cell("compile", "optimizer None", _compile(optimizer=None), "optimizer", "None"),
        Cell("compile", "optimizer config without class_name",
             _compile(optimizer={"config": {}}), "optimizer", "class_name"),
        Cell("compile", "optimizer unknown argument",
             _compile(optimizer={"class_name": "SGD", "config": {"lr": 0.1}}), "lr", "lr"),
        Cell("compile", "loss unknown", _compile(loss="mean_squared_eror"), "loss",
             "'mean_squared_eror'"),
        Cell("compile", "loss a number", _compile(loss=3.5), "loss", "3.5"),
        Cell("compile", "loss None", _compile(loss=None), "loss", "None"),
        Cell("compile", "metric unknown", _compile(metrics=["acuracy"]), "metric", "'acuracy'"),
        Cell("compile", "metric a number", _compile(metrics=[7]), "metric", "7"),
        Cell("compile", "metric None", _compile(metrics=[None]), "metrics", "None"),
        Cell("compile", "metrics a bare unknown string", _compile(metrics="f1"), "metric",
             "'f1'"),
        Cell("compile", "momentum negative",
             _compile(optimizer={"class_name": "SGD", "config": {"momentum": -0.5}}),
             "momentum", "-0.5"),
        Cell("compile", "beta_1 of 1",
             _compile(optimizer={"class_name": "Adam", "config": {"beta_1": 1.0}}),
             "beta_1", "1.0"),
        Cell("compile", "clipnorm 0",
             _compile(optimizer={"class_name": "Adam", "config": {"clipnorm": 0}}),
             "clipnorm", "0"),
        Cell("compile", "metrics a single known name", _compile(metrics="mae"),
             "ok: one name is a list of one", check=lambda m: _expect(m.metric_names == ["mae"])),
    ]
    return cells


def _expect(condition):
    assert condition


LAYER_CELLS = [
    ("Dense", "units 0", lambda: ff.Dense(0), "units", "0"),
    ("Dense", "units -1", lambda: ff.Dense(-1), "units", "-1"),
    ("Dense", "units 2.5", lambda: ff.Dense(2.5), "units", "2.5"),
    ("Dense", "units True", lambda: ff.Dense(True), "units", "bool"),
    ("Dense", "units '8'", lambda: ff.Dense("8"), "units", "'8'"),
    ("Dense", "activation unknown", lambda: ff.Dense(4, activation="rleu"), "activation",
     "'rleu'"),
    ("Dense", "activation a number", lambda: ff.Dense(4, activation=3), "activation", "3"),
    ("Dense", "kernel_initializer unknown", lambda: ff.Dense(4, kernel_initializer="glorot"),
     "initializer", "'glorot'"),
    ("Dense", "bias_initializer unknown", lambda: ff.Dense(4, bias_initializer="zeroes"),
     "initializer", "'zeroes'"),
    ("Dense", "kernel_regularizer unknown", lambda: ff.Dense(4, kernel_regularizer="l3"),
     "regularizer", "'l3'"),
    ("Activation", "name unknown", lambda: ff.Activation("softmaks"), "activation",
     "'softmaks'"),
    ("Dropout", "rate 1", lambda: ff.Dropout(1.0), "rate", "1.0"),
    ("Dropout", "rate 1.5", lambda: ff.Dropout(1.5), "rate", "1.5"),
    ("Dropout", "rate -0.1", lambda: ff.Dropout(-0.1), "rate", "-0.1"),
    ("Dropout", "rate nan", lambda: ff.Dropout(float("nan")), "rate", "nan"),
    ("Dropout", "rate '0.5'", lambda: ff.Dropout("0.5"), "rate", "'0.5'"),
    ("Dropout", "rate True", lambda: ff.Dropout(True), "rate", "bool"),
    ("Maxout", "pieces 0", lambda: ff.Maxout(3, pieces=0), "pieces", "0"),
    ("L2", "l2 -1", lambda: ff.regularizers.L2(-1.0), "l2", "-1"),
    ("L1", "l1 nan", lambda: ff.regularizers.L1(float("nan")), "l1", "nan"),
    ("Sequential", "layer unknown", lambda: ff.Sequential(["Dense2"]), "layer", "'Dense2'"),
    ("Sequential", "dtype float16", lambda: ff.Sequential([ff.Dense(2)], dtype="float16"),
     "dtype", "'float16'"),
    ("Sequential", "seed -1", lambda: ff.Sequential([ff.Dense(2)], seed=-1), "seed", "-1"),
    ("Sequential", "input_dim 0", lambda: ff.Sequential([ff.Dense(2)], input_dim=0),
     "input_dim", "0"),
]


def layer_cells():
    cells = [Cell(e, c, call, name, came) for e, c, call, name, came in LAYER_CELLS]
    cells.append(Cell("Dropout", "rate 0", lambda: ff.Dropout(0.0),
                      "ok: rate 0 is the identity",
                      check=lambda layer: _expect(layer.forward(X, training=True) is X)))
    return cells


# ---------------------------------------------------------------------------- load_model
@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Files the cells read by relative name: model files, good and bad CSV files."""
    from safetensors.numpy import save_file

    folder = tmp_path_factory.mktemp("matrix")
    model = ff.Sequential([ff.Dense(3, activation="softmax")], input_dim=2, seed=0,
                          classes=["a", "b", "c"])
    model.compile("adam", "categorical_crossentropy", ["accuracy"])
    model.save(folder / "model.safetensors")
    data = (folder / "model.safetensors").read_bytes()
    (folder / "truncated.safetensors").write_bytes(data[: len(data) // 2])
    (folder / "empty.safetensors").write_bytes(b"")
    (folder / "garbage.safetensors").write_bytes(b"not a model file at all")
    save_file({"w": np.zeros(2, np.float32)}, str(folder / "plain.safetensors"))
    save_file({"w": np.zeros(2, np.float32)}, str(folder / "badconfig.safetensors"),
              metadata={"format": "feedforward", "format_version": "1", "config": "{oops"})
    (folder / "folder.safetensors").mkdir()
    csv = {
        "good.csv": "x1,x2,label\n" + "".join(f"{i},{i % 3},{'abc'[i % 3]}\n" for i in range(30)),
        "nan.csv": "x1,x2,label\n1,nan,a\n2,3,b\n4,5,c\n",
        "inf.csv": "x1,x2,label\n1,inf,a\n2,3,b\n4,5,c\n",
        "header.csv": "x1,x2,label\n",
        "blank.csv": "",
        "text.csv": "x1,x2,label\n1,abc,a\n2,3,b\n4,5,c\n",
        "nolabel.csv": "x1,x2,label\n1,2,a\n2,3,NA\n4,5,c\n",
        "names.csv": "name,x,label\n" + "".join(f"n{i},{i % 7},{i % 2}\n" for i in range(500)),
        "colours.csv": "colour,x,label\n" + "".join(
            f"{'rgb'[i % 3]},{i % 5},{i % 2}\n" for i in range(29)) + ",1,0\n",
        "onecolumn.csv": "label\na\nb\nc\n",
        "onerow.csv": "x1,x2,label\n1,2,a\n",
        "unknownlabel.csv": "x1,x2,label\n1,2,a\n2,3,z\n",
        "threefeatures.csv": "p,q,r,label\n1,2,3,a\n2,3,4,b\n",
        "rows.csv": "x1,x2\n1,2\n3,4\n",
        "rows_nan.csv": "x1,x2\n1,nan\n3,4\n",
        "rows_inf.csv": "x1,x2\n1,2\n-inf,4\n",
        "rows_text.csv": "x1,x2\n1,2\nabc,4\n",
        "rows_header.csv": "x1,x2\n",
        "rows_three.csv": "p,q,r\n1,2,3\n",
        "rows_ragged.csv": "x1,x2\n1,2\n3\n",
    }
    for name, text in csv.items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture(autouse=True)
def _in_folder(folder, monkeypatch):
    monkeypatch.chdir(folder)


LOAD_CELLS = [
    ("missing file", "missing.safetensors", "path", "missing.safetensors"),
    ("a folder", "folder.safetensors", "path", "folder.safetensors"),
    ("empty file", "empty.safetensors", "empty.safetensors", "safetensors"),
    ("not safetensors", "garbage.safetensors", "garbage.safetensors", "safetensors"),
    ("truncated", "truncated.safetensors", "truncated.safetensors", "safetensors"),
    ("no feedforward metadata", "plain.safetensors", "plain.safetensors", "feedforward"),
    ("config not JSON", "badconfig.safetensors", "badconfig.safetensors", "config"),
    ("path None", None, "path", "None"),
    ("path a number", 3, "path", "int"),
    ("path bytes", b"model.safetensors", "path", "bytes"),
]


def load_cells():
    cells = [Cell("ff.load_model", case, lambda p=path: ff.load_model(p), name, came)
             for case, path, name, came in LOAD_CELLS]
    cells.append(Cell("ff.load_model", "a good file", lambda: ff.load_model("model.safetensors"),
                      "ok: the model, compiled, with its classes",
                      check=lambda m: _expect(m.classes == ["a", "b", "c"] and m.loss)))
    return cells


# ---------------------------------------------------------------------------- scikit-learn
SMALL = {"hidden_layer_sizes": (4,), "epochs": 2, "random_state": 0}
CLASS_LABELS = np.array(["p", "q"])[np.arange(N) % 2]


def _sk(kind, **params):
    return (NeuralNetClassifier if kind == "classifier" else NeuralNetRegressor)(
        **{**SMALL, **params})


def _sk_y(kind):
    return CLASS_LABELS if kind == "classifier" else TARGETS[:, 0]


def _fitted(kind):
    return _sk(kind).fit(X, _sk_y(kind))


SK_BAD_X = [
    ("nan", put(X, np.nan), "NaN"),
    ("inf", put(X, np.inf), "infinity"),
    ("1-D", X[:, 0], "1D"),
    ("3-D", X[:, :, None], "dim 3"),
    ("0 rows", X[:0], "0 sample"),
    ("0 columns", np.zeros((N, 0)), "0 feature"),
    ("str array", X.astype(str).astype(object) + "x", "could not convert"),
    ("DataFrame with a string column", string_frame(), "could not convert"),
    ("None", None, "None"),
    ("complex", X.astype(complex), "Complex"),
]
SK_BAD_PREDICT_X = [*SK_BAD_X[:4], *SK_BAD_X[6:],
                    ("fewer features", X[:, :3], "3 features"),
                    ("0 rows", X[:0], "0 sample")]
SK_BAD_Y = {
    "classifier": [
        ("None", None, "None"),
        ("shorter than X", CLASS_LABELS[:-1], "19"),
        ("one class", np.zeros(N, dtype=int), "one class"),
        ("continuous labels", put(np.arange(N) % 2, 0.5, 3), "continuous"),
        ("nan label", put(np.arange(N) % 2, np.nan, 3), "NaN"),
        ("3-D", (np.arange(N) % 2)[:, None, None], "3"),
    ],
    "regressor": [
        ("None", None, "None"),
        ("shorter than X", TARGETS[:-1, 0], "19"),
        ("nan", put(TARGETS[:, 0], np.nan, 3), "NaN"),
        ("inf", put(TARGETS[:, 0], np.inf, 3), "infinity"),
        ("str targets", np.array(["a"] * N), "could not convert"),
        ("3-D", TARGETS[:, :, None], "3"),
    ],
}
SK_BAD_PARAMS = [
    ("batch_size", 0, "0"), ("batch_size", -1, "-1"), ("batch_size", 2.5, "2.5"),
    ("batch_size", True, "True"), ("batch_size", "big", "'big'"),
    ("epochs", 0, "0"), ("epochs", -1, "-1"), ("epochs", 2.5, "2.5"),
    ("learning_rate", 0.0, "0"), ("learning_rate", -1.0, "-1"),
    ("learning_rate", float("nan"), "nan"), ("learning_rate", "fast", "'fast'"),
    ("dropout", 1.0, "1.0"), ("dropout", -0.1, "-0.1"), ("dropout", "half", "'half'"),
    ("activation", "rleu", "'rleu'"), ("optimizer", "sgdd", "'sgdd'"),
    ("kernel_initializer", "glorot", "'glorot'"),
    ("hidden_layer_sizes", (0,), "0"), ("hidden_layer_sizes", (True,), "True"),
    ("l2", -1.0, "-1"), ("l1", float("nan"), "nan"), ("validation_fraction", 1.0, "1.0"),
    ("learning_rate", True, "bool"), ("verbose", 5, "5"), ("random_state", "x", "'x'"),
    ("patience", -1, "-1"),
]


def _raised(call):
    """The exception ``call`` raises (None if it returns)."""
    try:
        call()
    except Exception as e:  # noqa: BLE001 - the cell's check inspects it
        return e
    return None


def sklearn_cells():
    cells = []
    for kind in ("classifier", "regressor"):
        entry = f"NeuralNet{kind.title()}"
        y = _sk_y(kind)
        for case, x, came in SK_BAD_X:
            cells.append(Cell(f"{entry}.fit", f"X {case}",
                              lambda kind=kind, x=x, y=y: _sk(kind).fit(x, y), "X", came))
        for case, x, came in SK_BAD_PREDICT_X:
            cells.append(Cell(f"{entry}.predict", f"X {case}",
                              lambda kind=kind, x=x: _fitted(kind).predict(x), "X", came))
        for case, bad_y, came in SK_BAD_Y[kind]:
            cells.append(Cell(f"{entry}.fit", f"y {case}",
                              lambda kind=kind, bad_y=bad_y: _sk(kind).fit(X, bad_y), "y", came))
        for param, value, came in SK_BAD_PARAMS:
            extra = {"early_stopping": True} if param in ("validation_fraction", "patience") \
                else {}
            cells.append(Cell(f"{entry}.fit", f"{param} {value!r}",
                              lambda kind=kind, p={param: value, **extra}, y=y:
                              _sk(kind, **p).fit(X, y),
                              param, came))
        cells += [
            Cell(f"{entry}.fit", "sample_weight too short",
                 lambda kind=kind, y=y: _sk(kind).fit(X, y, sample_weight=np.ones(5)),
                 "sample_weight", "(5,)"),
            Cell(f"{entry}.fit", "sample_weight all negative",
                 lambda kind=kind, y=y: _sk(kind).fit(X, y, sample_weight=-np.ones(N)),
                 "sample_weight", "-20"),
            Cell(f"{entry}.score", "X fewer features",
                 lambda kind=kind, y=y: _fitted(kind).score(X[:, :3], y), "X", "3 features"),
            Cell(f"{entry}.score", "y shorter than X",
                 lambda kind=kind, y=y: _fitted(kind).score(X, y[:-1]), "y", "19"),
            Cell(f"{entry}.score", "y None",
                 lambda kind=kind: _fitted(kind).score(X, None), "y", "None"),
            Cell(f"{entry}.score", "X nan",
                 lambda kind=kind, y=y: _fitted(kind).score(put(X, np.nan), y), "X", "NaN"),
        ]
    cells += [
        Cell("NeuralNetClassifier.fit", "class_weight unknown", lambda: _sk(
            "classifier", class_weight="bal").fit(X, CLASS_LABELS), "class_weight", "'bal'"),
        Cell("NeuralNetClassifier.fit", "class_weight of absent classes", lambda: _sk(
            "classifier", class_weight={"z": 2.0}).fit(X, CLASS_LABELS), "class_weight",
             "not in class_weight"),
        Cell("NeuralNetClassifier.score", "labels never seen",
             lambda: _fitted("classifier").score(X, np.array(["r"] * N)), "ok: they count as "
             "wrong, as in scikit-learn", check=lambda s: _expect(s == 0.0)),
        *(Cell(f"NeuralNet{kind}.predict", "before fit",
               lambda kind=kind: _raised(lambda: _sk(kind.lower()).predict(X)),
               "ok: scikit-learn's NotFittedError, as its conventions ask",
               check=lambda e: _expect(isinstance(e, NotFittedError)))
          for kind in ("Classifier", "Regressor")),
        Cell("NeuralNetClassifier.fit", "single sample",
             lambda: _sk("classifier").fit(X[:1], CLASS_LABELS[:1]), "y", "one class"),
        Cell("NeuralNetRegressor.fit", "single sample",
             lambda: _sk("regressor").fit(X[:1], TARGETS[:1, 0]),
             "ok: one sample trains (a batch of one)",
             check=lambda est: _expect(est.predict(X[:1]).shape == (1,))),
        Cell("NeuralNetClassifier.partial_fit", "no classes on the first call",
             lambda: _sk("classifier").partial_fit(X, CLASS_LABELS), "classes", "None"),
        Cell("NeuralNetClassifier.partial_fit", "other classes later",
             lambda: _sk("classifier").partial_fit(X, CLASS_LABELS, classes=["p", "q"])
             .partial_fit(X, CLASS_LABELS, classes=["p", "z"]), "classes", "'z'"),
        Cell("NeuralNetRegressor.partial_fit", "another output width",
             lambda: _sk("regressor").partial_fit(X, TARGETS[:, 0]).partial_fit(X, TARGETS),
             "y", "2"),
    ]
    return cells


# ---------------------------------------------------------------------------- command line
CLI_CELLS = [
    # train: data
    (["train", "--dataset", "mnist2"], "--dataset", "'mnist2'"),
    (["train", "--dataset", "missing.csv"], "--dataset", "missing.csv"),
    (["train", "--dataset", "nan.csv", "--impute", "none"], "--impute", "nan"),
    (["train", "--dataset", "colours.csv", "--impute", "none"], "--impute", "row 30"),
    (["train", "--dataset", "nolabel.csv"], "--dataset", "row 2"),
    (["train", "--dataset", "names.csv"], "--dataset", "--drop name"),
    (["train", "--dataset", "good.csv", "--categorical", "x9"], "--categorical", "'x9'"),
    (["train", "--dataset", "good.csv", "--categorical", "label"], "--categorical", "target"),
    (["train", "--dataset", "inf.csv"], "--dataset", "inf"),
    (["train", "--dataset", "header.csv"], "--dataset", "no data rows"),
    (["train", "--dataset", "blank.csv"], "--dataset", "empty"),
    (["train", "--dataset", "onecolumn.csv"], "--dataset", "two columns"),
    (["train", "--dataset", "onerow.csv"], "--val", "1"),
    (["train", "--dataset", "good.csv", "--target", "9"], "--target", "9"),
    (["train", "--samples", "-1"], "--samples", "-1"),
    (["train", "--val", "1"], "--val", "1"),
    (["train", "--val", "-0.1"], "--val", "-0.1"),
    (["train", "--test", "1"], "--test", "1"),
    # train: numbers
    (["train", "--epochs", "0"], "--epochs", "0"),
    (["train", "--epochs", "-1"], "--epochs", "-1"),
    (["train", "--epochs", "1.5"], "--epochs", "'1.5'"),
    (["train", "--batch-size", "0"], "--batch-size", "0"),
    (["train", "--batch-size", "-1"], "--batch-size", "-1"),
    (["train", "--batch-size", "1.5"], "--batch-size", "'1.5'"),
    (["train", "--batch-size", "many"], "--batch-size", "'many'"),
    (["train", "--learning-rate", "0"], "--learning-rate", "0"),
    (["train", "--learning-rate", "-0.1"], "--learning-rate", "-0.1"),
    (["train", "--learning-rate", "nan"], "--learning-rate", "nan"),
    (["train", "--learning-rate", "inf"], "--learning-rate", "inf"),
    (["train", "--learning-rate", "fast"], "--learning-rate", "'fast'"),
    (["train", "--dropout", "1"], "--dropout", "1"),
    (["train", "--dropout", "1.5"], "--dropout", "1.5"),
    (["train", "--dropout", "-0.1"], "--dropout", "-0.1"),
    # train: names
    (["train", "--activation", "relux"], "--activation", "'relux'"),
    (["train", "--optimizer", "adamm"], "--optimizer", "'adamm'"),
    (["train", "--loss", "hinge"], "--loss", "'hinge'"),
    (["train", "--metrics", "accuracy,f1"], "--metrics", "'f1'"),
    (["train", "--initializer", "kaiming"], "--initializer", "'kaiming'"),
    (["train", "--output-activation", "relux"], "--output-activation", "'relux'"),
    (["train", "--schedule", "linear"], "--schedule", "'linear'"),
    # evaluate
    (["evaluate", "missing.safetensors", "--data", "good.csv"], "MODEL", "missing"),
    (["evaluate", "garbage.safetensors", "--data", "good.csv"], "MODEL", "safetensors"),
    (["evaluate", "model.safetensors", "--data", "nan.csv"], "--data", "nan"),
    (["evaluate", "model.safetensors", "--data", "inf.csv"], "--data", "inf"),
    (["evaluate", "model.safetensors", "--data", "header.csv"], "--data", "no data rows"),
    (["evaluate", "model.safetensors", "--data", "text.csv"], "--data", "'abc'"),
    (["evaluate", "model.safetensors", "--data", "unknownlabel.csv"], "--data", "z"),
    (["evaluate", "model.safetensors", "--data", "threefeatures.csv"], "--data", "3"),
    (["evaluate", "model.safetensors", "--data", "mnist2"], "--data", "'mnist2'"),
    # predict
    (["predict", "missing.safetensors", "rows.csv"], "MODEL", "missing"),
    (["predict", "garbage.safetensors", "rows.csv"], "MODEL", "safetensors"),
    (["predict", "model.safetensors", "rows_nan.csv"], "INPUT.csv", "nan"),
    (["predict", "model.safetensors", "rows_inf.csv"], "INPUT.csv", "-inf"),
    (["predict", "model.safetensors", "rows_text.csv"], "INPUT.csv", "'abc'"),
    (["predict", "model.safetensors", "rows_header.csv"], "INPUT.csv", "data row"),
    (["predict", "model.safetensors", "rows_three.csv"], "INPUT.csv", "3 columns"),
    (["predict", "model.safetensors", "rows_ragged.csv"], "INPUT.csv", "1 cells"),
    (["predict", "model.safetensors", "missing.csv"], "INPUT.csv", "missing.csv"),
]
# these also run as subprocesses: the user's view, with no traceback
SUBPROCESS = {"train --dataset nan.csv --impute none", "train --batch-size 0",
              "evaluate model.safetensors --data unknownlabel.csv",
              "predict model.safetensors rows_nan.csv"}


def run_cli(args):
    """``main(args)`` in-process: (exit status, stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            status = cli_main(args)
        except SystemExit as e:  # argparse's own errors
            status = e.code
    return status, err.getvalue()


def cli_cells():
    return [Cell(f"cli {args[0]}", " ".join(args[1:]), lambda a=args: run_cli(a), name, came)
            for args, name, came in CLI_CELLS]


# ---------------------------------------------------------------------------- the matrix
CELLS = [*x_cells(), *y_cells(), *argument_cells(), *compile_cells(), *layer_cells(),
         *load_cells(), *sklearn_cells(), *cli_cells()]
CELL_COUNT = len(CELLS)


def test_the_matrix_is_large_and_its_cells_distinct():
    assert CELL_COUNT >= 550
    assert len({c.id for c in CELLS}) == CELL_COUNT
    errors = sum(not c.expect.startswith("ok: ") for c in CELLS)
    assert errors >= 482 and CELL_COUNT - errors >= 68


def _assert_names(message: str, cell: Cell):
    # as a word: "x" must not be found inside "expected", nor "rate" in "learning_rate"
    named = re.search(rf"(?<![\w-]){re.escape(cell.expect)}(?![\w-])", message)
    assert named, f"{cell.expect!r} not named in {message!r}"
    assert cell.came in message, f"{cell.came!r} (what came) not in {message!r}"
    assert "\n" not in message.rstrip("\n"), f"not one line: {message!r}"


@pytest.mark.filterwarnings("ignore:X has feature names")
@pytest.mark.parametrize("cell", CELLS, ids=lambda c: c.id)
def test_cell(cell):
    if cell.expect.startswith("ok: "):
        cell.check(cell.call())
    elif cell.entry.startswith("cli "):
        status, err = cell.call()
        command = cell.entry.split()[1]
        assert status == 2, err
        assert err.startswith(f"feedforward {command}: error: "), err
        assert "Traceback" not in err
        _assert_names(err, cell)
    else:
        with pytest.raises(Exception) as info:
            cell.call()
        assert isinstance(info.value, ff.FeedforwardError), (
            f"{type(info.value).__name__} is not a FeedforwardError: {info.value}")
        _assert_names(str(info.value), cell)


@pytest.mark.parametrize("args", sorted(SUBPROCESS))
def test_cli_subprocess_shows_one_line_and_no_traceback(args, folder):
    argv = args.split()
    name, came = next((n, c) for a, n, c in CLI_CELLS if a == argv)
    result = subprocess.run([sys.executable, "-m", "feedforward.cli", *argv], cwd=folder,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and name in result.stderr and came in result.stderr
