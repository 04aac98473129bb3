"""The ``code`` message: a Python script that recreates a session's setup with the library.

The script generates (or embeds) the same data, splits it with the same function and computes
the same feature columns. Its network is the session's by construction: the setup's options
of the library's config schema (:func:`.setup.to_config`), written as a dict, go through the
same experiment recipe (:mod:`feedforward.experiment`) that the session builds with. It trains
with ``model.fit``: for as many epochs as the session (with no change of setup, weight edit or
reset in between), it reaches the session's weights, as ``fit`` draws its shuffles and dropout
masks from the same seeded streams as the server does.
"""

from __future__ import annotations

import inspect

from .. import config
from . import features
from .dataset import split_indices
from .setup import OPTIMIZERS, SCHEDULE_PARAMETERS, to_config

DEFAULT_EPOCHS = 100  # epochs of the script when the session has not trained yet
# options the script always shows, default or not: what a learner changes first
SHOWN = ("layers", "initializer", "l1", "l2", "optimizer", "learning_rate", "schedule",
         "scaling", "batch_size", "metrics", "seed")
# options of the config that the script's own fit call stands for
LEFT_OUT = ("task", "early_stopping", "patience")


def _options(session) -> dict:
    """The options of the session's network that differ from the schema's defaults (the
    optimizer's and schedule's parameters: from their own), and those in :data:`SHOWN`."""
    setup = session.setup
    cfg = to_config(setup, setup["seed"] + session.resets)
    own = OPTIMIZERS[setup["optimizer"]["name"]]
    out = {}
    for option in config.OPTIONS:
        key, value = option.key, cfg[option.key]
        if key in LEFT_OUT or (key in config.OPTIMIZER_KEYS and own.get(key) == value):
            continue
        if key == "schedule" and isinstance(value, dict):
            value = _schedule(value)
        if key in SHOWN or value != config.DEFAULTS[key]:
            out[key] = value
    if out["schedule"] == "constant":
        del out["schedule"]
    return out


def _schedule(table) -> dict:
    """A schedule table with its name, its rate and the parameters not at their defaults."""
    defaults = SCHEDULE_PARAMETERS[table["name"]]
    return {k: v for k, v in table.items()
            if k == "name" or k in config.SCHEDULE_RATE_KEYS or defaults.get(k) != v}


def _dict_source(options) -> list[str]:
    """``options = {...}`` as lines, one option a line (one hidden layer a line)."""
    lines = ["options = {"]
    for key, value in options.items():
        if key == "layers" and value:
            lines += [f"    {key!r}: ["] + [f"        {layer!r}," for layer in value] + ["    ],"]
        else:
            lines.append(f"    {key!r}: {value!r},")
    return lines + ["}"]


def _data(session) -> list[str]:
    setup = session.setup
    if setup["dataset"] == "custom":
        c = session.custom
        return ["# the custom data: points (x1, x2), labels, and each point's split",
                f"points = np.array({c.points.tolist()!r})",
                f"y = np.array({c.targets(setup['problem']).tolist()!r})",
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
    has_val = len(session.data["val"][0]) > 0
    epochs = session.epoch or DEFAULT_EPOCHS
    classes = list(range(setup["classes"])) if setup["problem"] == "classification" else None
    lines = ['"""A feedforward playground setup, recreated with the feedforward library.',
             "",
             "The network's inputs are the feature columns computed by features(points);",
             'a model file exported from the playground takes the same columns."""',
             "", "import numpy as np", "", "import feedforward as ff",
             "from feedforward import config, experiment", "",
             *_data(session), "", features.source(setup["features"]),
             "x_train, y_train = features(points[train]), y[train]",
             "x_val, y_val = features(points[val]), y[val]",
             "x_test, y_test = features(points[test]), y[test]", "",
             "# the network and its optimizer, as options of the library's config schema (those",
             "# of `feedforward train --config FILE`); the experiment recipe builds the network",
             *_dict_source(_options(session)),
             "cfg = config.check(options, 'options')  # checked, the defaults filled in",
             f"data = experiment.data_like({len(setup['features'])}, {setup['problem']!r}, "
             f"classes={classes!r})",
             "plan = experiment.make_plan(cfg, data, n_train=len(x_train))  # output layer, loss",
             "model = experiment.build_model(cfg, plan, data)  # built and compiled", ""]
    callbacks, validation = "[]", "(x_val, y_val)" if has_val else "None"
    if setup["early_stopping"]:
        if not has_val:
            lines.append("# as in the playground, early stopping watches the test loss when "
                         "there is no validation split")
            validation = "(x_test, y_test)"
        # the playground restores the best weights when it stops, and only then; the
        # callback restores at the end of fit, so only for a session that stopped
        restore = session.driver.stopped_early
        callbacks = (f"[ff.callbacks.EarlyStopping(monitor='val_loss', "
                     f"patience={setup['early_stopping']}, restore_best_weights={restore})]")
    lines += [f"history = model.fit(x_train, y_train, epochs={epochs}, "
              f"batch_size=cfg['batch_size'], validation_data={validation},",
              f"                    callbacks={callbacks}, verbose=0)",
              "print('test:', model.evaluate(x_test, y_test, return_dict=True))", ""]
    return "\n".join(lines)
