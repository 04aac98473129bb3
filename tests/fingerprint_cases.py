"""The fixed training runs whose results `test_fingerprints.py` pins (issue 18: one engine).

Each driver trains a tiny network on small seeded data through a PUBLIC surface only (the
API, the command line, ``ff.tune``, the playground's ``Session`` and the scikit-learn
estimators), since the internals are what the refactor rewrites. It returns
``(weights, history)``: the final weights in Keras order (``get_weights()``) and a dict of
lists of floats (None where a value is missing). ``CASES`` maps a case's name to its driver,
which takes a fresh temporary folder.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

import feedforward as ff
from feedforward import callbacks, optimizers, regularizers, schedules
from feedforward.cli.main import main as cli_main
from feedforward.data.augment import Augmenter
from feedforward.playground.session import Session

try:  # issue 18 moves it; it stays importable as ff.BackupAndRestore
    from feedforward import BackupAndRestore
except ImportError:  # the layout before issue 18
    try:
        from feedforward.checkpoint import BackupAndRestore
    except ImportError:
        from feedforward.callbacks import BackupAndRestore

N, FEATURES, CLASSES = 120, 4, 3


def _data(task="classification", seed=0):
    """``x`` (120, 4) float32; ``y`` (120,) class ids in 0..2, or a float32 target."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, FEATURES)).astype("float32")
    if task == "classification":
        return x, (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(int) + (x[:, 3] > 0.8)
    return x, (np.sin(x[:, 0]) + 0.5 * x[:, 1] * x[:, 2]).astype("float32")


def _floats(values):
    return [None if v is None else float(v) for v in values]


def _history(history):
    return {k: _floats(v) for k, v in history.history.items()}


def _api(optimizer, *, task="classification", dropout=0.0, layer_kw=None, epochs=4,
         batch_size=16, dtype="float32", fit_kw=None):
    """A 4-8-(3|1) network (tanh), seed 7, trained with ``model.fit``."""
    x, y = _data(task)
    hidden = [ff.layers.Dense(8, activation="tanh", **(layer_kw or {}))]
    if dropout:
        hidden.append(ff.layers.Dropout(dropout))
    if task == "classification":
        out, loss, metrics = ff.layers.Dense(CLASSES, activation="softmax"), \
            "categorical_crossentropy", ["accuracy"]
    else:
        out, loss, metrics = ff.layers.Dense(1), "mse", ["mae"]
    model = ff.Sequential([*hidden, out], seed=7, dtype=dtype)
    model.compile(optimizer, loss, metrics)
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0,
                        **(fit_kw or {}))
    return model.get_weights(), _history(history)


def _optimizer(make):
    return lambda tmp: _api(make())


# ---------------------------------------------------------------------------- the API
def dropout(tmp):
    return _api(optimizers.Adam(0.01), dropout=0.3)


def augment_noise(tmp):
    return _api(optimizers.Adam(0.01), fit_kw={"augment": Augmenter(image_shape=(2, 2), noise=0.1)})


def augment_callable(tmp):
    def jitter(xb, rng):
        return xb + rng.normal(0, 0.05, size=xb.shape).astype(xb.dtype)
    return _api(optimizers.SGD(0.05, momentum=0.5), task="regression",
                fit_kw={"augment": jitter})


def schedule_warmup_cosine(tmp):
    rate = schedules.LinearWarmup(schedules.CosineDecay(0.1, decay_steps=30), warmup_steps=5)
    return _api(optimizers.SGD(rate, momentum=0.9), epochs=5)


def l1l2_maxnorm(tmp):
    kw = {"kernel_regularizer": regularizers.L1L2(l1=1e-3, l2=1e-2),
          "bias_regularizer": regularizers.L2(1e-3),
          "kernel_constraint": regularizers.MaxNorm(0.8)}
    return _api(optimizers.RMSprop(0.01), layer_kw=kw)


def early_stopping_restore(tmp):
    stop = callbacks.EarlyStopping("val_loss", patience=2, restore_best_weights=True)
    return _api(optimizers.Adam(0.1), epochs=30,
                fit_kw={"validation_split": 0.25, "callbacks": [stop]})


def reduce_lr_on_plateau(tmp):
    plateau = callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=1, min_delta=0.05)
    return _api(optimizers.SGD(0.2), task="regression", epochs=8,
                fit_kw={"callbacks": [plateau]})


def float64_regression(tmp):
    return _api(optimizers.Adam(0.01), task="regression", dtype="float64",
                fit_kw={"validation_data": _data("regression", seed=1)})


class _Crash(Exception):
    """Stands for a process dying at a given optimizer step."""


class _CrashAt(callbacks.Callback):
    def __init__(self, step):
        self.step = step

    def on_batch_end(self, batch, logs=None):
        if self.model.optimizer.iterations == self.step:
            raise _Crash


def backup_resume(tmp):
    """Crash mid-epoch (step 10 of 8 per epoch), then a fresh process resumes from the backup
    saved every 3 steps."""
    x, y = _data()

    def fit(extra):
        model = ff.Sequential([ff.layers.Dense(8, activation="relu"), ff.layers.Dropout(0.2),
                               ff.layers.Dense(CLASSES, activation="softmax")], seed=3)
        model.compile(optimizers.Adam(0.01), "categorical_crossentropy", ["accuracy"])
        cbs = [callbacks.EarlyStopping("val_loss", patience=3, restore_best_weights=True),
               callbacks.ReduceLROnPlateau(patience=1, factor=0.5),
               BackupAndRestore(Path(tmp) / "backup", save_freq=3), *extra]
        return model, model.fit(x, y, epochs=4, batch_size=12, validation_split=0.2,
                                callbacks=cbs, verbose=0)

    try:
        fit([_CrashAt(10)])
    except _Crash:
        pass
    else:
        raise AssertionError("the crash did not happen")
    model, history = fit([])
    return model.get_weights(), _history(history)


# ---------------------------------------------------------------------------- the CLI
CLI = ["--dataset", "spiral", "--samples", "150", "--layers", "6", "--optimizer", "adam",
       "--learning-rate", "0.02", "--batch-size", "16", "--epochs", "4", "--seed", "3",
       "--quiet", "--no-plots"]


def _run(folder):
    with open(folder / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    history = {k: _floats(None if r[k] == "" else r[k] for r in rows) for k in rows[0]}
    return ff.load_model(folder / "model.safetensors").get_weights(), history


def cli_train(tmp):
    folder = Path(tmp) / "run"
    if cli_main(["train", *CLI, "--out", str(folder)]) != 0:
        raise AssertionError("feedforward train failed")
    return _run(folder)


def cli_resume(tmp):
    """Ctrl-C just after the checkpoint of epoch 1 (the files a SIGKILL leaves), then
    ``--resume``; bit-identical resume makes its fingerprint that of ``cli_train``."""
    folder = Path(tmp) / "run"
    original = BackupAndRestore.on_epoch_end

    def on_epoch_end(backup, epoch, logs=None):
        original(backup, epoch, logs)
        if epoch == 1:
            raise KeyboardInterrupt

    BackupAndRestore.on_epoch_end = on_epoch_end
    try:
        code = cli_main(["train", *CLI, "--out", str(folder)])
    finally:
        BackupAndRestore.on_epoch_end = original
    if code != 130:
        raise AssertionError(f"the interrupted run exited with {code}, not 130")
    if cli_main(["train", "--resume", str(folder), "--quiet"]) != 0:
        raise AssertionError("feedforward train --resume failed")
    return _run(folder)


# ---------------------------------------------------------------------------- tune
SPACE = """\
[fixed]
dataset = "spiral"
samples = 150
epochs = 4
batch_size = 16
seed = 5
hidden_layers = 1

[search]
units = {choice = [6]}
learning_rate = {choice = [0.02]}
optimizer = {choice = ["rmsprop"]}

[tune]
strategy = "random"
trials = 1
seed = 0
"""


def tune_trial(tmp):
    path = Path(tmp) / "space.toml"
    path.write_text(SPACE)
    # the trial's own model (refit=False): the recorded numbers are the trial recipe's
    result = ff.tune.search(path, out=Path(tmp) / "tune", plots=False, refit=False)
    record = result.best
    history = {"epochs": [float(record["epochs"])], "best_epoch": [float(record["best_epoch"])]}
    for k, v in sorted(record["metrics"].items()):
        history[k] = [float(v)]
    for k, v in sorted(result.test.items()):
        history[f"test_{k}"] = [float(v)]
    return result.best_model().get_weights(), history


# ---------------------------------------------------------------------------- the playground
SPIRAL = {"dataset": "spiral", "samples": 200, "noise": 10, "seed": 4,
          "layers": [{"units": 6, "activation": "tanh", "dropout": 0}] * 2,
          "optimizer": {"name": "adam", "learning_rate": 0.02}, "batch_size": 10,
          "val_percent": 20}
PLANE = {"dataset": "plane", "problem": "regression", "samples": 150, "noise": 5, "seed": 2,
         "features": ["x1", "x2", "x1sq", "sinx2"],
         "layers": [{"units": 5, "activation": "relu", "dropout": 0.1}],
         "optimizer": {"name": "sgd", "learning_rate": 0.01, "momentum": 0.9},
         "regularization": "l2", "reg_rate": 0.001, "batch_size": 8}


def _scores(session, history):
    for split, score in session.evaluate().items():
        for key in ("loss", "metric"):
            value = None if score is None else score[key]
            if value is not None and not math.isfinite(value):
                raise AssertionError(f"{split} {key} is {value}")
            history.setdefault(f"{split}_{key}", []).append(value)


def _play(setup, epochs, change=None):
    session = Session(setup)
    history = {}
    for epoch in range(epochs):
        if change is not None and epoch == epochs // 2:
            session.apply(change)
        done, stop = session.train(1)
        if (done, stop) != (1, None):
            raise AssertionError(f"playground epoch {epoch}: {(done, stop)}")
        _scores(session, history)
    return session.model.get_weights(), history


def playground_classification(tmp):
    return _play(SPIRAL, 5)


def playground_regression(tmp):
    return _play(PLANE, 5)


def playground_learning_rate_change(tmp):
    """Adam at 0.02 for 3 epochs, then 0.005 for 3: issue 18 keeps Adam's moments and step
    count across the change (before it, the optimizer was rebuilt)."""
    return _play(SPIRAL, 6, change={"optimizer": {"name": "adam", "learning_rate": 0.005}})


def playground_early_stopping(tmp):
    """Early stopping on the validation loss (patience 2) ends the run and restores the best
    epoch's weights; then a second run, on the test loss, after a pause and a patience change."""
    session = Session({**SPIRAL, "noise": 40, "early_stopping": 2,
                       "optimizer": {"name": "adam", "learning_rate": 0.2}})
    history = {}
    for _ in range(40):
        done, stop = session.train(1)
        _scores(session, history)
        if stop is not None:
            break
    if stop is None or stop[0] != "early_stopping":
        raise AssertionError(f"the first run did not stop early: {stop}")
    history["stopped_at"] = [float(len(history["train_loss"]))]
    session.apply({"val_percent": 0, "early_stopping": 3})
    session.resume()
    for _ in range(40):
        done, stop = session.train(1)
        _scores(session, history)
        if stop is not None:
            break
    history["stopped_again_at"] = [float(len(history["train_loss"]))]
    return session.model.get_weights(), history


# ---------------------------------------------------------------------------- scikit-learn
def _estimator(cls, task, **kw):
    x, y = _data(task)
    est = cls(hidden_layer_sizes=(6,), epochs=6, batch_size=16, random_state=1,
              learning_rate=0.01, **kw).fit(x, y)
    return est.model_.get_weights(), {k: _floats(v) for k, v in est.history_.items()}


def sklearn_classifier(tmp):
    from feedforward.sklearn import NeuralNetClassifier

    return _estimator(NeuralNetClassifier, "classification", early_stopping=True,
                      validation_fraction=0.2, patience=3)


def sklearn_regressor(tmp):
    from feedforward.sklearn import NeuralNetRegressor

    return _estimator(NeuralNetRegressor, "regression", activation="tanh", dropout=0.1)


CASES = {
    "sgd_momentum": _optimizer(lambda: optimizers.SGD(0.05, momentum=0.9)),
    "sgd_nesterov": _optimizer(lambda: optimizers.SGD(0.05, momentum=0.8, nesterov=True)),
    "adagrad": _optimizer(lambda: optimizers.Adagrad(0.1)),
    "adadelta": _optimizer(lambda: optimizers.Adadelta(1.0)),
    "rmsprop_centered_momentum": _optimizer(
        lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True)),
    "adam": _optimizer(lambda: optimizers.Adam(0.01)),
    "adam_amsgrad": _optimizer(lambda: optimizers.Adam(0.01, amsgrad=True)),
    "adamw_clipnorm": _optimizer(lambda: optimizers.AdamW(0.01, weight_decay=0.1,
                                                          clipnorm=0.5)),
    "adamax": _optimizer(lambda: optimizers.Adamax(0.02)),
    "nadam": _optimizer(lambda: optimizers.Nadam(0.01)),
    "dropout": dropout,
    "augment_noise": augment_noise,
    "augment_callable": augment_callable,
    "schedule_warmup_cosine": schedule_warmup_cosine,
    "l1l2_maxnorm": l1l2_maxnorm,
    "early_stopping_restore": early_stopping_restore,
    "reduce_lr_on_plateau": reduce_lr_on_plateau,
    "backup_resume": backup_resume,
    "float64_regression": float64_regression,
    "cli_train": cli_train,
    "cli_resume": cli_resume,
    "tune_trial": tune_trial,
    "playground_classification": playground_classification,
    "playground_regression": playground_regression,
    "playground_learning_rate_change": playground_learning_rate_change,
    "playground_early_stopping": playground_early_stopping,
    "sklearn_classifier": sklearn_classifier,
    "sklearn_regressor": sklearn_regressor,
}

# the one case whose result issue 18 changes on purpose, and why
INTENDED_CHANGES = {
    "playground_learning_rate_change":
        "the playground keeps the optimizer's state when the rate changes (issue 18)",
}
