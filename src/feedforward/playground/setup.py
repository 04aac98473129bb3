"""The playground's setup: its fields, defaults and limits, the ``options`` object, and checks.

A setup is a JSON-safe dict (see ``docs/playground-protocol.md``). :func:`merge` applies a
partial setup to a complete one and checks every field; an error is a :class:`FieldError`
that names the field (``setup.layers[2].units``), what was expected and what came.
The choices of optimizers, schedules, initializers and activations come from the library's
registries, with each class's constructor parameters read from its signature.

A setup's network and training map onto the library's one config schema with
:func:`to_config`; the network is built from it by the experiment recipe
(:mod:`feedforward.experiment`), as ``feedforward train`` builds its own.
"""

from __future__ import annotations

import copy
import inspect
import math

from .. import activations, config, initializers, optimizers, schedules
from ..data import playground as datasets
from ..data.tabular import shorten
from ..errors import FeedforwardError, describe, show
from . import features, pictures

MAX_LAYERS, MAX_UNITS = 8, 32
MAX_POINTS = 5000  # points of a dataset: the server keeps and re-evaluates every one
MAX_UPLOAD_ROWS = MAX_POINTS
MAX_CSV_VALUE = 1e6  # of an uploaded coordinate or target: their squares stay finite in float32
MAX_MESSAGE_BYTES = 1_000_000
MAX_PARAMETER = 1e6  # sanity bound of any optimizer or schedule number

DATASETS = (*[n for n in datasets.DATASETS if n != "blobs"], "custom")
MULTICLASS = ("gaussian", "spiral")  # the datasets that take classes=k
PROBLEMS = ("classification", "regression")
REGULARIZATIONS = ("none", "l1", "l2")
HIDDEN_ACTIVATIONS = tuple(n for n in activations.registry.classes if n != "softmax")
INITIALIZERS = ("zeros", *config.NAMED_INITIALIZERS,
                *[n for n in initializers.registry.classes
                  if n not in ("zeros", "constant", "variance_scaling")])
SCHEDULES = tuple(schedules.registry.classes)

# int fields: (low, high); number fields: (low, high)
INTEGERS = {"classes": (2, 6), "samples": (50, 2000), "train_percent": (10, 90),
            "val_percent": (0, 40), "batch_size": (1, 2000), "seed": (0, 2**31 - 1),
            "early_stopping": (0, 10000), "grid": (10, 100), "speed": (1, 50)}
NUMBERS = {"noise": (0, 50), "reg_rate": (0, 10)}
BOOLEANS = ("discretize", "show_test")
CHOICES = {"dataset": DATASETS, "problem": PROBLEMS, "initializer": INITIALIZERS,
           "regularization": REGULARIZATIONS}
LAYER_DEFAULT = {"units": 4, "activation": "tanh", "dropout": 0}
MAX_DROPOUT = 0.9

DEFAULTS = {
    "dataset": "circle", "classes": 2, "problem": "classification", "samples": 500,
    "noise": 0, "train_percent": 50, "val_percent": 0, "batch_size": 10, "seed": 0,
    "features": ["x1", "x2"],
    "layers": [{"units": 4, "activation": "tanh", "dropout": 0},
               {"units": 2, "activation": "tanh", "dropout": 0}],
    "initializer": "glorot_uniform",
    "optimizer": {"name": "sgd", "learning_rate": 0.03},
    "schedule": None, "regularization": "none", "reg_rate": 0, "early_stopping": 0,
    "discretize": False, "show_test": False, "grid": 50, "speed": 1,
}
FIELDS = tuple(DEFAULTS)


class FieldError(FeedforwardError):
    """A bad value: ``field`` is its path (``setup.samples``), or None for the message."""

    def __init__(self, field, message):
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


# ---------------------------------------------------------------------------- registries
def _defaults(cls, base) -> dict:
    """Constructor parameters of ``cls`` with their defaults (the base class's for **kwargs)."""
    params = dict(inspect.signature(cls).parameters)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        params = {**inspect.signature(base).parameters, **params}
    return {name: _json_default(p.default) for name, p in params.items()
            if p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)}


def _json_default(value):
    return list(value) if isinstance(value, tuple) else value


def _names(registry) -> dict:
    return {name.lower(): cls for name, cls in registry.classes.items()}


OPTIMIZERS = {name: _defaults(cls, optimizers.Optimizer)
              for name, cls in _names(optimizers.registry).items()}
SCHEDULE_PARAMETERS = {name: _defaults(cls, schedules.Schedule)
                       for name, cls in _names(schedules.registry).items()}
METRICS = {"classification": "accuracy", "regression": "r2"}  # the metric of each problem
# the setup's field of each option that it sets (for messages)
LABELS = {"layers": "setup.layers", "initializer": "setup.initializer",
          "l1": "setup.reg_rate", "l2": "setup.reg_rate", "optimizer": "setup.optimizer.name",
          "schedule": "setup.schedule", "batch_size": "setup.batch_size", "seed": "setup.seed",
          "task": "setup.problem", "patience": "setup.early_stopping",
          **{k: f"setup.optimizer.{k}" for k in ("learning_rate", *config.OPTIMIZER_KEYS)}}


def options() -> dict:
    """Every choice and limit, for ``GET /api/options`` and the ``hello`` message."""
    return {
        "datasets": list(DATASETS), "multiclass_datasets": list(MULTICLASS),
        "tasks": {name: datasets.TASKS[name] for name in DATASETS if name != "custom"},
        "problems": list(PROBLEMS),
        "features": [{"name": n, "label": features.FEATURES[n][2]} for n in features.NAMES],
        "feature_thumbnails": pictures.feature_thumbnails(),
        "previews": pictures.dataset_previews(n for n in DATASETS if n != "custom"),
        "activations": list(HIDDEN_ACTIVATIONS), "initializers": list(INITIALIZERS),
        "optimizers": copy.deepcopy(OPTIMIZERS), "schedules": copy.deepcopy(SCHEDULE_PARAMETERS),
        "regularizations": list(REGULARIZATIONS),
        "limits": {**{k: list(v) for k, v in {**INTEGERS, **NUMBERS}.items()},
                   "layers": [0, MAX_LAYERS], "units": [1, MAX_UNITS],
                   "dropout": [0, MAX_DROPOUT], "upload_rows": MAX_UPLOAD_ROWS,
                   "upload_values": [-MAX_CSV_VALUE, MAX_CSV_VALUE],
                   "points": MAX_POINTS,
                   "message_bytes": MAX_MESSAGE_BYTES},
        "defaults": default_setup(),
        "domain": [datasets.LOW, datasets.HIGH], "thumbnail": 20,
    }


def default_setup() -> dict:
    """A complete setup with every default (the optimizer with all its parameters)."""
    return merge(None, {})


# ---------------------------------------------------------------------------- checks
def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_integer(value, field, low, high) -> int:
    """``value`` as an int in ``[low, high]``, else a FieldError naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(field, f"expected an integer from {low} to {high}, got {describe(value)}")
    if not low <= value <= high:
        raise FieldError(field, f"expected an integer from {low} to {high}, got {show(value)}")
    return value


def check_float(value, field, low=None, high=None) -> float:
    """``value`` as a finite number in ``[low, high]``, else a FieldError naming ``field``.

    An integer beyond the range of a float (JSON allows 10**400) is not a finite number.
    """
    span = "" if low is None else f" from {low:g} to {high:g}"
    if not _is_number(value) or not math.isfinite(_as_float(value)):
        shown = show(value) if _is_number(value) else describe(value)
        raise FieldError(field, f"expected a finite number{span}, got {shown}")
    if low is not None and not low <= value <= high:
        raise FieldError(field, f"expected a number{span}, got {show(value)}")
    return value


def _as_float(number) -> float:
    try:
        return float(number)
    except OverflowError:  # an int past 1.8e308
        return math.inf


def check_choice(value, field, choices):
    if value not in choices:
        raise FieldError(field, f"expected one of {', '.join(map(str, choices))}, "
                                f"got {describe(value)}")
    return value


def check_object(value, field, keys) -> dict:
    """A dict whose keys are all in ``keys``."""
    if not isinstance(value, dict):
        raise FieldError(field, f"expected an object, got {describe(value)}")
    unknown = [k for k in value if k not in keys]
    if unknown:
        key = unknown[0]
        if not (isinstance(key, str) and key.isidentifier()):
            key = repr(key)  # a name that a message can show on one line
        key = shorten(key)  # a key of any length is echoed in both field and message
        raise FieldError(f"{field}.{key}" if field else key,
                         f"unknown field; expected {', '.join(keys)}")
    return value


def _check_features(value, field="setup.features") -> list:
    if not isinstance(value, list) or not value:
        raise FieldError(field, f"expected a non-empty list of {', '.join(features.NAMES)}, "
                                f"got {describe(value)}")
    for i, name in enumerate(value):
        check_choice(name, f"{field}[{i}]", features.NAMES)
    twice = next((n for i, n in enumerate(value) if n in value[:i]), None)
    if twice is not None:  # the repeated name, not the list: it may be long
        raise FieldError(field, f"expected each feature at most once, got {twice!r} twice")
    return list(value)


def _check_layers(value, field="setup.layers") -> list:
    if not isinstance(value, list) or len(value) > MAX_LAYERS:
        raise FieldError(field, f"expected a list of 0 to {MAX_LAYERS} hidden layers, got "
                                + (f"{len(value)}" if isinstance(value, list) else describe(value)))
    layers = []
    for i, layer in enumerate(value):
        where = f"{field}[{i}]"
        check_object(layer, where, tuple(LAYER_DEFAULT))
        layer = {**LAYER_DEFAULT, **layer}
        check_integer(layer["units"], f"{where}.units", 1, MAX_UNITS)
        check_choice(layer["activation"], f"{where}.activation", HIDDEN_ACTIVATIONS)
        check_float(layer["dropout"], f"{where}.dropout", 0, MAX_DROPOUT)
        layers.append(layer)
    return layers


def _check_parameters(values, defaults, field) -> dict:
    """Values of constructor parameters: the type of each follows its default."""
    for key, value in values.items():
        if key == "name":
            continue
        default, where = defaults[key], f"{field}.{key}"
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise FieldError(where, f"expected true or false, got {describe(value)}")
        elif isinstance(default, list):
            if not isinstance(value, list) or not value or len(value) > 100:
                raise FieldError(where, f"expected a list of 1 to 100 numbers, got "
                                        f"{describe(value)}")
            for i, v in enumerate(value):
                _check_parameter(v, f"{where}[{i}]")
        elif value is not None or default is not None:
            _check_parameter(value, where)
    return values


def _check_parameter(value, field) -> None:
    """A finite number of at most :data:`MAX_PARAMETER` in size. Its sign is the class's to
    check (a learning rate must be positive, a momentum may not be negative): the bound is
    said without a range that would name negative values as allowed."""
    check_float(value, field)
    if abs(value) > MAX_PARAMETER:
        raise FieldError(field, f"expected a number of size at most {MAX_PARAMETER:g}, got "
                                f"{show(value)}")


def _check_named(value, current, table, field, kind) -> dict:
    """An ``{"name": ..., **parameters}`` object merged onto ``current`` (same name) or the
    named class's defaults (another name)."""
    if not isinstance(value, dict):
        raise FieldError(field, f"expected an object with a name, got {describe(value)}")
    name = value.get("name", (current or {}).get("name"))
    if isinstance(name, str):
        name = name.lower()
    check_choice(name, f"{field}.name", tuple(table))
    base = current if current and current.get("name") == name else {"name": name,
                                                                      **table[name]}
    check_object(value, field, ("name", *table[name]))
    merged = {**base, **_check_parameters(value, table[name], field), "name": name}
    return merged


def _check_optimizer(value, current) -> dict:
    merged = _check_named(value, current, OPTIMIZERS, "setup.optimizer", "optimizer")
    _construct(optimizers.registry, merged, "setup.optimizer")  # its own checks
    return merged


def _check_schedule(value, current, optimizer) -> dict | None:
    if value is None:
        return None
    fresh = not current or (isinstance(value, dict) and "name" in value
                            and str(value["name"]).lower() != current.get("name"))
    merged = _check_named(value, current, SCHEDULE_PARAMETERS, "setup.schedule", "schedule")
    where = rate_key(merged)
    if fresh and where is not None and where[0] not in value:
        # a new schedule starts from the optimizer's learning rate (the page's one box)
        merged = _with_rate(merged, optimizer["learning_rate"])
    _construct(schedules.registry, merged, "setup.schedule")
    return merged


def _construct(registry, values, field) -> None:
    """Make the object of a setup's ``{"name", **parameters}``, for its own checks (ranges,
    combinations), whose errors are given under the field of the parameter they name."""
    params = {k: (tuple(v) if isinstance(v, list) else v)
              for k, v in values.items() if k != "name"}
    try:
        registry.lookup(values["name"])(**params)
    except (FeedforwardError, TypeError) as e:
        raise _parameter_error(field, values, e) from None


def _parameter_error(field, config, error) -> FieldError:
    """The constructor's message, under the field of the parameter it names (``beta_1: ...``)."""
    message = str(error)
    name = message.split(":", 1)[0]
    if name in config and name != "name":
        return FieldError(f"{field}.{name}", message.split(":", 1)[1].strip())
    return FieldError(field, message)


def merge(current, partial) -> dict:
    """``current`` (a complete setup, or None for the defaults) updated by ``partial``.

    Every field of ``partial`` is checked; the result is complete and consistent. Raises
    :class:`FieldError` naming the first bad field, leaving ``current`` unchanged.
    """
    check_object(partial, "setup", FIELDS)
    base = copy.deepcopy(current) if current is not None else copy.deepcopy(DEFAULTS)
    if current is None:  # the defaults' own optimizer gets its full parameter list
        base["optimizer"] = None
    setup = {**base, **copy.deepcopy(partial)}
    for key, (low, high) in INTEGERS.items():
        check_integer(setup[key], f"setup.{key}", low, high)
    for key, (low, high) in NUMBERS.items():
        check_float(setup[key], f"setup.{key}", low, high)
    for key in BOOLEANS:
        if not isinstance(setup[key], bool):
            raise FieldError(f"setup.{key}", f"expected true or false, got {describe(setup[key])}")
    for key, choices in CHOICES.items():
        check_choice(setup[key], f"setup.{key}", choices)
    setup["features"] = _check_features(setup["features"])
    setup["layers"] = _check_layers(setup["layers"])
    if "optimizer" in partial or current is None:
        setup["optimizer"] = _check_optimizer(partial.get("optimizer", DEFAULTS["optimizer"]),
                                              base["optimizer"])
    if "schedule" in partial:
        setup["schedule"] = _check_schedule(partial["schedule"], base["schedule"],
                                            setup["optimizer"])
    _one_rate(setup, base, partial)
    _follow_dataset(setup)
    to_config(setup)  # what the library's schema refuses, refused here, naming the field
    return setup


def rate_key(schedule) -> tuple[str, int | None] | None:
    """Where a schedule table keeps its initial learning rate: ``(key, None)`` for a number
    (``initial_learning_rate``, ...), ``("values", 0)`` for a piecewise schedule's first
    value; None when it has none."""
    for key in config.SCHEDULE_RATE_KEYS:
        if _is_number(schedule.get(key)):
            return key, None
    if isinstance(schedule.get("values"), list) and schedule["values"]:
        return "values", 0
    return None


def _with_rate(schedule, rate) -> dict:
    """``schedule`` starting at ``rate``: its rate parameter set to ``rate``, or a piecewise
    schedule's values scaled so that the first is ``rate`` (the later values keep their ratios
    to it, so a decay by 10 stays a decay by 10). ``schedule`` unchanged when it has no rate."""
    where = rate_key(schedule)
    if where is None:
        return schedule
    key, index = where
    if index is None:
        return {**schedule, key: rate}
    first, *later = schedule[key]
    # 12 significant digits: 0.3 * 0.001 / 0.01 shows as 0.03, not 0.029999999999999995
    scaled = [float(f"{rate * v / first:.12g}") for v in later] if first else later
    return {**schedule, key: [rate, *scaled]}


def _one_rate(setup, base, partial) -> None:
    """With a schedule on, the optimizer's learning rate is the schedule's initial rate: the
    page's one learning-rate box edits both. A new optimizer rate (one that the partial setup
    changes, or a new optimizer's own default) goes to the schedule; else the schedule's rate
    is the optimizer's."""
    schedule = setup["schedule"]
    where = rate_key(schedule) if schedule else None
    if where is None:
        return
    key, index = where
    asked = partial.get("optimizer") if isinstance(partial.get("optimizer"), dict) else {}
    before = base["optimizer"]
    new_rate = before is not None and (
        ("learning_rate" in asked and asked["learning_rate"] != before["learning_rate"])
        or asked.get("name", before["name"]) != before["name"])  # a new class: its own rate
    if new_rate:
        setup["schedule"] = schedule = _with_rate(schedule, setup["optimizer"]["learning_rate"])
        _construct(schedules.registry, schedule, "setup.schedule")
    else:
        rate = schedule[key] if index is None else schedule[key][index]
        setup["optimizer"] = {**setup["optimizer"], "learning_rate": rate}
        _construct(optimizers.registry, setup["optimizer"], "setup.optimizer")


def _follow_dataset(setup) -> None:
    """The problem and the number of classes that the dataset implies."""
    name = setup["dataset"]
    if name == "custom":
        return
    setup["problem"] = datasets.TASKS[name]
    if name not in MULTICLASS:
        setup["classes"] = 2


# ---------------------------------------------------------------------------- the schema
class _Labels(config.Config):
    """Options whose errors name the setup's field (``setup.optimizer.beta_1: ...``)."""

    def label(self, key) -> str:
        return LABELS.get(key, "setup")


def to_config(setup, seed=None) -> config.Config:
    """The setup's network and training as options of the library's config schema.

    Parameters
    ----------
    setup : dict
        A complete, checked setup.
    seed : int, optional
        The network's seed; default the setup's (a session adds its resets).

    Returns
    -------
    feedforward.config.Config
        Validated: ``layers`` as tables ``{units, activation, dropout}``, ``initializer``,
        ``l1`` or ``l2`` (the setup's ``reg_rate``), the optimizer with every parameter of
        the setup's, ``schedule`` (the setup's table, or constant), ``batch_size``, the
        problem as ``task``, the metric (accuracy, or R² for a regression) and early
        stopping. The playground's inputs are its feature columns as they are: no scaling.
        The data options (``dataset``, ``val``, ...) keep their defaults and mean nothing
        here: the playground makes and splits its own data (:mod:`.dataset`).

    Raises
    ------
    FieldError
        For a value the schema refuses, naming the setup's field.
    """
    opt = setup["optimizer"]
    reg, rate = setup["regularization"], setup["reg_rate"]
    values = {
        **config.DEFAULTS,
        "task": setup["problem"], "scaling": "none",
        "layers": [dict(layer) for layer in setup["layers"]],
        "initializer": setup["initializer"],
        "dropout": 0.0, "l1": rate if reg == "l1" else 0.0, "l2": rate if reg == "l2" else 0.0,
        "optimizer": opt["name"],
        **{k: v for k, v in opt.items() if k != "name"},
        "schedule": "constant" if setup["schedule"] is None else dict(setup["schedule"]),
        "batch_size": setup["batch_size"], "metrics": [METRICS[setup["problem"]]],
        "early_stopping": setup["early_stopping"] > 0,
        "patience": setup["early_stopping"] or config.DEFAULTS["patience"],
        "seed": setup["seed"] if seed is None else seed,
    }
    try:
        return config.validate(_Labels(values))
    except FieldError:
        raise
    except FeedforwardError as e:
        field, _, message = str(e).partition(": ")
        raise FieldError(field, message) from None
