"""The ``code`` message: a Python script that recreates a session's setup with the library.

The script generates (or embeds) the same data, splits it with the same function, computes
the same feature columns, builds the same network with the same seed and trains it with
``model.fit``. Trained for as many epochs as the session (with no change of setup, weight
edit or reset in between), it reaches the session's weights: ``fit`` draws its shuffles and
dropout masks from the same seeded streams as the server does.
"""

from __future__ import annotations

import inspect

from .. import optimizers, schedules
from . import features
from .dataset import split_indices
from .network import kernel_regularizer, output_spec
from .setup import OPTIMIZERS, SCHEDULE_PARAMETERS, SMALL_RANDOM_STDDEV

DEFAULT_EPOCHS = 100  # epochs of the script when the session has not trained yet


def _call(prefix, cls, params, defaults) -> str:
    """``prefix.ClassName(k=v, ...)`` with the parameters that differ from the defaults."""
    args = ", ".join(f"{k}={v!r}" for k, v in params.items()
                     if k != "name" and (k not in defaults or defaults[k] != v
                                         or k in ("learning_rate", "initial_learning_rate")))
    return f"{prefix}.{cls.__name__}({args})"


def _initializer(name) -> str:
    if name == "small_random":
        return f"ff.initializers.RandomNormal(stddev={SMALL_RANDOM_STDDEV!r})"
    return repr(name)


def _regularizer(setup) -> str | None:
    reg = kernel_regularizer(setup["regularization"], setup["reg_rate"])
    if reg is None:
        return None
    return f"ff.regularizers.{type(reg).__name__}({setup['reg_rate']!r})"


def _optimizer(setup) -> str:
    config = setup["optimizer"]
    cls = optimizers.registry.lookup(config["name"])
    params = dict(config)
    schedule = setup["schedule"]
    if schedule is not None:
        scls = schedules.registry.lookup(schedule["name"])
        params["learning_rate"] = _Raw(_call("ff.schedules", scls, schedule,
                                             SCHEDULE_PARAMETERS[schedule["name"]]))
    return _call("ff.optimizers", cls, params, OPTIMIZERS[config["name"]])


class _Raw(str):
    """Source text that ``repr`` leaves as it is."""

    def __repr__(self):
        return str(self)


def _layers(setup) -> list[str]:
    init = _initializer(setup["initializer"])
    reg = _regularizer(setup)
    extra = f", kernel_initializer={init}" + (f", kernel_regularizer={reg}" if reg else "")
    lines = []
    for spec in setup["layers"]:
        lines.append(f"ff.layers.Dense({spec['units']}, activation={spec['activation']!r}{extra}),")
        if spec["dropout"] > 0:
            lines.append(f"ff.layers.Dropout({spec['dropout']!r}),")
    units, activation, _, _ = output_spec(setup["problem"], setup["classes"])
    lines.append(f"ff.layers.Dense({units}, activation={activation!r}{extra}),  # the output")
    return lines


def _data(session) -> list[str]:
    setup = session.setup
    if setup["dataset"] == "custom":
        c = session.custom
        return ["# the custom data: points (x1, x2), labels, and each point's split",
                f"points = np.array({c.points.tolist()!r})",
                f"y = np.array({c.labels.tolist()!r})",
                f"parts = np.array({c.parts.tolist()!r})",
                "train, val, test = (np.flatnonzero(parts == i) for i in range(3))"]
    kwargs = f", classes={setup['classes']}" if setup["dataset"] in ("gaussian", "spiral") else ""
    return [f"points, y = ff.data.playground.{setup['dataset']}("
            f"{setup['samples']}, noise={setup['noise'] / 100!r}, seed={setup['seed']}{kwargs})",
            "", inspect.getsource(split_indices),
            f"train, val, test = split_indices(len(points), {setup['train_percent']}, "
            f"{setup['val_percent']}, {setup['seed']})"]


def generate(session) -> str:
    """The script's source for ``session`` (a :class:`~.session.Session`)."""
    setup = session.setup
    _, _, loss, metric = output_spec(setup["problem"], setup["classes"])
    has_val = len(session.data["val"][0]) > 0
    epochs = session.epoch or DEFAULT_EPOCHS
    lines = ['"""A feedforward playground setup, recreated with the feedforward library.',
             "",
             "The network's inputs are the feature columns computed by features(points);",
             'a model file exported from the playground takes the same columns."""',
             "", "import numpy as np", "", "import feedforward as ff", "",
             *_data(session), "", features.source(setup["features"]),
             "x_train, y_train = features(points[train]), y[train]",
             "x_val, y_val = features(points[val]), y[val]",
             "x_test, y_test = features(points[test]), y[test]", "",
             "model = ff.Sequential([",
             *["    " + line for line in _layers(setup)],
             f"], input_dim={len(setup['features'])}, seed={setup['seed'] + session.resets})",
             f"model.compile(optimizer={_optimizer(setup)},",
             f"              loss={loss!r}, metrics=[{metric!r}])"]
    callbacks, validation = "[]", "(x_val, y_val)" if has_val else "None"
    if setup["early_stopping"]:
        if not has_val:
            lines.append("# as in the playground, early stopping watches the test loss when "
                         "there is no validation split")
            validation = "(x_test, y_test)"
        callbacks = (f"[ff.callbacks.EarlyStopping(monitor='val_loss', "
                     f"patience={setup['early_stopping']}, restore_best_weights=True)]")
    lines += [f"history = model.fit(x_train, y_train, epochs={epochs}, "
              f"batch_size={setup['batch_size']}, validation_data={validation},",
              f"                    callbacks={callbacks}, verbose=0)",
              "print('test:', model.evaluate(x_test, y_test, return_dict=True))", ""]
    return "\n".join(lines)
