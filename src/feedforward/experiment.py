"""The experiment recipe: a validated config becomes data, a split, a model, callbacks, a fit.

``feedforward train``, every trial of ``feedforward tune`` (:mod:`feedforward.tune`), the
playground and the scikit-learn estimators build their models here, so that the same config
gives the same network everywhere. The config is a :class:`feedforward.config.Config`
(:func:`feedforward.config.resolve` reads one from defaults, a TOML file and flags)::

    cfg = config.resolve({"dataset": "iris", "layers": [16]})
    data, parts = experiment.load(cfg)                 # the data and its split
    plan = experiment.make_plan(cfg, data, len(parts.x_train))   # every "auto" made concrete
    model = experiment.build_model(cfg, plan, data)   # compiled, with scaling and class names
    history, stopper, seconds = experiment.fit(cfg, plan, model, experiment.splits(parts))

**A model without a file dataset** (the playground, a notebook): the recipe needs of the data
only its number of features, its task and its class names. Give them as a small :class:`Data`
with :func:`data_like` (or :func:`feedforward.data.sources.from_arrays` for arrays in memory)::

    cfg = config.validate(config.Config({**config.DEFAULTS, "layers": [4, 2]}))
    data = experiment.data_like(2, "classification", classes=[0, 1])
    plan = experiment.make_plan(cfg, data, n_train=400)
    model = experiment.build_model(cfg, plan, data)

:func:`output_for` is THE rule for the output layer and the loss of a task; every surface
calls it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from . import activations, callbacks, initializers, losses, optimizers, regularizers, schedules
from .config import (
    BY_KEY,
    NAMED_INITIALIZERS,
    OPTIMIZER_KEYS,
    Config,
    default_learning_rate,
    portable,
    schedule_arguments,
)
from .data import Augmenter, MinMaxScaler, StandardScaler, gaussian_noise, sources
from .data.sources import Data
from .errors import FeedforwardError
from .inputs import labels_are_ids
from .layers import Dense, Dropout, Maxout
from .model import Sequential

RELU_FAMILY = {"relu", "leaky_relu", "elu", "gelu", "silu"}
CLASSIFICATION_LOSSES = (losses.CategoricalCrossentropy, losses.BinaryCrossentropy)
TASKS = ("classification", "regression", "multilabel")
SPLITS = ("train", "val", "test")


# ---------------------------------------------------------------------------- the data
def load(cfg: Config, raw: Data | None = None):
    """The data of ``cfg`` prepared for its task, and its split.

    Parameters
    ----------
    cfg : Config
        A validated config; its data options (``dataset``, ``target``, ``samples``, ``noise``,
        ``header``, ``delimiter``, ``features``, ``drop``, ``task``, ``val``, ``test``,
        ``seed``) are used.
    raw : Data, optional
        Data in memory (e.g. :func:`feedforward.data.sources.from_arrays`), in place of the
        dataset that ``cfg`` names.

    Returns
    -------
    data : Data
        Class codes and labels (classification) or float targets (regression).
    parts : feedforward.data.Split
        ``x_train``, ``x_val``, ``x_test`` of shape ``(n_part, features)`` and the ``y_*``.
    """
    if raw is None:
        raw = sources.load(cfg["dataset"], cfg["target"], cfg["samples"], cfg["noise"],
                           cfg["seed"], label=cfg.label("dataset"), header=cfg["header"],
                           delimiter=cfg["delimiter"], features=cfg["features"],
                           drop=cfg["drop"], categorical=cfg["categorical"],
                           impute=cfg["impute"], missing_indicators=cfg["missing_indicators"])
    data = sources.for_task(raw, cfg["task"], label=cfg.label("task"))
    parts = sources.split(data, cfg["val"], cfg["test"], cfg["seed"])
    sources.fit_encoder(data, parts, cfg.label("dataset"))  # a mixed table's
    return data, parts


def splits(parts) -> dict:
    """The split as ``{"train": (x, y), "val": (x, y), "test": (x, y)}``.

    Parameters
    ----------
    parts : feedforward.data.Split
        The split of :func:`load`.

    Returns
    -------
    dict
        Each part's ``(x, y)``; a part may have no rows.
    """
    return {"train": (parts.x_train, parts.y_train), "val": (parts.x_val, parts.y_val),
            "test": (parts.x_test, parts.y_test)}


def data_like(n_features: int, task: str, classes=None, name: str = "data") -> Data:
    """A :class:`Data` with no rows, which tells the recipe what it needs to build a model.

    Parameters
    ----------
    n_features : int
        The number of input features.
    task : {"classification", "regression"}
        The task.
    classes : list, optional
        The label of each class (classification).
    name : str
        The name that messages give the data.

    Returns
    -------
    Data
        ``x`` of shape ``(0, n_features)``, ``y`` of shape ``(0,)``.
    """
    if task not in ("classification", "regression"):
        raise FeedforwardError(f"task: expected classification or regression, got {task!r}")
    if (task == "classification") != (classes is not None):
        raise FeedforwardError(f"classes: expected the class labels for classification and "
                               f"None for regression, got {classes!r} for {task}")
    return Data(name, np.zeros((0, n_features)), np.zeros(0), [f"x{i + 1}" for i in
                range(n_features)], "label" if classes else "target",
                None if classes is None else list(classes), task)


# ---------------------------------------------------------------------------- the plan
@dataclass
class Plan:
    """What the options resolve to for one dataset: every ``auto`` made concrete.

    Parameters
    ----------
    task : str
        ``classification``, ``regression`` (or ``multilabel``, scikit-learn's).
    loss : str or Loss
        The loss's canonical name (or an instance).
    output_activation : str
        The output layer's activation.
    units : int
        The output layer's units.
    metrics : list of str
        The metrics compiled with the model.
    hidden_init, output_init : str
        The kernel initializers of the hidden layers and of the output layer.
    monitor : str
        What early stopping and the plateau schedule watch.
    learning_rate : float, Schedule or None
        The optimizer's ``learning_rate`` (None: its default).
    steps_per_epoch : int
        Optimizer steps per epoch.
    plateau : ReduceLROnPlateau, optional
        The plateau schedule's callback.
    augment : callable, optional
        What ``fit(augment=...)`` gets.
    notes : dict
        Option key -> what ``auto`` (or a default) became, for ``config.toml``'s comments.
    """

    task: str
    loss: object
    output_activation: str
    units: int
    metrics: list = field(default_factory=list)
    hidden_init: str = "glorot_uniform"
    output_init: str = "glorot_uniform"
    monitor: str = "loss"
    learning_rate: object = None
    steps_per_epoch: int = 1
    plateau: object = None
    augment: object = None
    notes: dict = field(default_factory=dict)


def _canonical(registry, name) -> str:
    return registry.lookup(name).name


def make_plan(cfg: Config, data: Data, n_train: int, horizon: int | None = None) -> Plan:
    """Resolve the ``auto`` options of ``cfg`` for ``data``.

    Parameters
    ----------
    cfg : Config
        A validated config.
    data : Data
        The data (prepared for its task): its task, classes, name and features are used.
    n_train : int
        The number of training rows (for the steps per epoch).
    horizon : int, optional
        The epochs a cosine schedule decays over (of this run's steps per epoch); default
        ``cfg["epochs"]``. A run that stops after fewer epochs than another run's
        schedule spans (a search's refit) passes that run's epochs, to keep its rates.

    Returns
    -------
    Plan

    Raises
    ------
    FeedforwardError
        For combinations the data cannot serve (a regression loss for classes, an image
        augmentation of rows that are not images, ...), naming the option.
    """
    notes = {}
    if cfg["class_weight"] == "balanced" and data.task != "classification":
        raise cfg.error("class_weight", f"weighs classes, and {data.name} is a "
                                        f"{data.task}; drop it")
    k = len(data.classes) if data.task == "classification" else None
    units, output_activation, loss = output_for(data.task, k, cfg["loss"],
                                                cfg["output_activation"], data=data.name,
                                                label=cfg.label)
    if cfg["loss"] == "auto":
        notes["loss"] = loss
    if cfg["task"] == "auto":
        notes["task"] = data.task
    if cfg["output_activation"] == "auto":
        notes["output_activation"] = output_activation
    metrics = cfg["metrics"]
    if metrics == "auto":
        metrics = ["accuracy"] if data.task == "classification" else ["mae", "r2"]
        notes["metrics"] = ", ".join(metrics)
    hidden_init, output_init = initializers_for(cfg)
    if cfg["initializer"] == "auto":
        notes["initializer"] = _initializer_note(cfg, output_init)
    monitor = _monitor(cfg, metrics)
    if cfg["monitor"] == "auto":
        notes["monitor"] = monitor
    steps = steps_per_epoch(cfg, n_train)
    lr, plateau, lr_notes = _learning_rate(cfg, steps, monitor, horizon or cfg["epochs"])
    notes.update(lr_notes)
    if cfg["samples"] == 0:
        notes["samples"] = f"{data.x.shape[0]} samples"
    return Plan(data.task, loss, output_activation, units, metrics, hidden_init, output_init,
                monitor, lr, steps, plateau, _augmenter(cfg, data), notes)


def output_for(task: str, n_classes=None, loss="auto", output_activation="auto", *,
               targets: int = 1, data: str = "the data", label=None):
    """The output layer and the loss of a task: the one rule every surface follows.

    ``auto`` picks categorical cross-entropy over a softmax for several classes, binary
    cross-entropy over one sigmoid output for two classes (and over one sigmoid per label for
    multilabel targets), and the mean squared error over linear outputs for regression.

    Parameters
    ----------
    task : {"classification", "regression", "multilabel"}
        The task.
    n_classes : int, optional
        The number of classes (classification) or labels (multilabel); unused for regression.
    loss : str
        A loss name, or ``"auto"``.
    output_activation : str
        An activation name, or ``"auto"``.
    targets : int
        The number of target columns of a regression.
    data : str
        How messages name the data.
    label : callable, optional
        Option key -> how errors name it (``Config.label``: the flag or the file's key);
        default: the key itself.

    Returns
    -------
    units : int
        The output layer's units.
    activation : str
        The output layer's activation (canonical name).
    loss : str
        The loss's canonical name.

    Raises
    ------
    FeedforwardError
        For a loss the task cannot use (a regression loss for classes, binary cross-entropy
        for more than two classes, ...) or an output activation the loss cannot read,
        naming the option.
    """
    label = label or (lambda key: key)
    if task not in TASKS:
        raise FeedforwardError(f"{label('task')}: expected one of {', '.join(TASKS)}, "
                               f"got {task!r}")
    k = targets if task == "regression" else n_classes
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        what = "targets" if task == "regression" else "n_classes"
        raise FeedforwardError(f"{what}: expected a positive integer, got {k!r}")
    k = int(k)
    units, name = _output_loss(task, k, loss, data, label)
    if output_activation == "auto":
        activation = {"categorical_crossentropy": "softmax",
                      "binary_crossentropy": "sigmoid"}.get(name, "linear")
        return units, activation, name
    activation = _canonical(activations.registry, output_activation)
    try:  # the engine's rule, named by the option that chose the activation
        losses.get(name).check_output(activation, units)
    except FeedforwardError as e:
        raise FeedforwardError(f"{label('output_activation')}: {e}") from None
    return units, activation, name


def _output_loss(task, k, loss, data, label):
    """The number of output units and the loss's canonical name (see :func:`output_for`)."""
    if loss == "auto":
        if task == "regression":
            return k, "mse"
        if task == "multilabel":
            return k, "binary_crossentropy"
        return (1, "binary_crossentropy") if k == 2 else (k, "categorical_crossentropy")
    cls = losses.registry.lookup(loss)
    name = cls.name

    def error(message):
        return FeedforwardError(f"{label('loss')}: {message}")

    if task != "regression" and not issubclass(cls, CLASSIFICATION_LOSSES):
        raise error(f"{name} is a regression loss, but {data} is a classification task ({k} "
                    "classes); use categorical_crossentropy or binary_crossentropy, or "
                    "--task regression")
    if task == "regression" and issubclass(cls, CLASSIFICATION_LOSSES):
        raise error(f"{name} needs class labels, but the targets of {data} are continuous (a "
                    "regression task); use mse, mae, huber or sse")
    if task == "multilabel" and cls is not losses.BinaryCrossentropy:
        raise error(f"multilabel targets take binary_crossentropy (one sigmoid per label), "
                    f"got {name}")
    if cls is losses.BinaryCrossentropy and task == "classification":
        if k != 2:
            raise error(f"binary_crossentropy takes two classes, {data} has {k}; use "
                        "categorical_crossentropy")
        return 1, name
    return k, name


def _initializer_note(cfg: Config, output_init: str) -> str:
    """What ``initializer = "auto"`` became: per hidden layer when their activations differ."""
    hidden = [hidden_initializer("auto", e.get("activation", cfg["activation"])
                                 if isinstance(e, dict) else cfg["activation"], cfg["maxout"])
              for e in cfg["layers"]]
    if not hidden:
        return output_init
    if len(set(hidden)) == 1:
        return f"{hidden[0]} (hidden layers), {output_init} (output layer)"
    return f"{', '.join(hidden)} (hidden layers, in order), {output_init} (output layer)"


def initializers_for(cfg: Config) -> tuple[str, str]:
    """The kernel initializers of the hidden layers and of the output layer.

    Parameters
    ----------
    cfg : Config
        ``initializer``, ``activation`` and ``maxout``.

    Returns
    -------
    hidden, output : str
        Initializer names: ``initializer`` for both when it is set; for ``auto``,
        :func:`hidden_initializer` of ``activation`` and ``glorot_uniform``.
    """
    if cfg["initializer"] != "auto":
        name = hidden_initializer(cfg["initializer"], cfg["activation"])
        return name, name
    return hidden_initializer("auto", cfg["activation"], cfg["maxout"]), "glorot_uniform"


def hidden_initializer(initializer: str, activation: str, maxout: int = 0) -> str:
    """The kernel initializer of a hidden layer: THE rule for ``auto``.

    Parameters
    ----------
    initializer : str
        An initializer name (returned canonical), ``small_random``, or ``"auto"``.
    activation : str
        The layer's activation.
    maxout : int
        Pieces of a Maxout layer (0: Dense).

    Returns
    -------
    str
        For ``auto``: ``he_uniform`` after the ReLU family, ``lecun_normal`` after selu
        (self-normalising needs it), ``glorot_uniform`` otherwise and for Maxout layers.

    Raises
    ------
    FeedforwardError
        For an unknown initializer or activation.
    """
    if initializer != "auto":
        if initializer.lower() in NAMED_INITIALIZERS:
            return initializer.lower()
        return _canonical(initializers.registry, initializer)
    act = _canonical(activations.registry, activation)
    if maxout:
        return "glorot_uniform"
    if act in RELU_FAMILY:
        return "he_uniform"
    return "lecun_normal" if act == "selu" else "glorot_uniform"


def kernel_initializer(name: str):
    """What a layer's ``kernel_initializer`` gets for ``name``: the name (or initializer)
    itself, or an instance for a named initializer of
    :data:`feedforward.config.NAMED_INITIALIZERS` (``small_random``:
    ``RandomNormal(stddev=0.1)``)."""
    if isinstance(name, str) and name in NAMED_INITIALIZERS:
        cls, kwargs = NAMED_INITIALIZERS[name]
        return initializers.registry.lookup(cls)(**kwargs)
    return name


def _monitor(cfg, metrics):
    has_val = cfg["val"] > 0
    if cfg["monitor"] == "auto":
        return "val_loss" if has_val else "loss"
    logged = ["loss", *metrics]
    if has_val:
        logged += [f"val_{k}" for k in logged]
    if cfg["monitor"] not in logged:
        raise cfg.error("monitor", f"{cfg['monitor']!r} is not a logged value; choose from "
                                   f"{', '.join(logged)}")
    return cfg["monitor"]


def _learning_rate(cfg, steps, monitor, horizon):
    """The optimizer's ``learning_rate`` argument, a plateau callback or None, and notes."""
    notes = {}
    lr = default_learning_rate(cfg)
    if cfg["learning_rate"] is None:
        name, own = _canonical(optimizers.registry, cfg["optimizer"]), lr
        lr = short_epoch_rate(own, steps)
        notes["learning_rate"] = (f"{name}'s default, {lr:g}" if lr == own else
                                  f"{lr:g} ({name}'s default {own:g}, raised for {steps} "
                                  f"steps per epoch)")
    name, rate, decay = cfg["schedule"], cfg["decay_rate"], cfg["decay_steps"]
    plateau = None
    if isinstance(name, dict):  # a schedule with its own parameters
        cls, kwargs = schedule_arguments(name, lr)
        value = cls(**kwargs)
    elif name == "constant":
        value = lr
    elif name == "plateau":
        value = lr
        plateau = callbacks.ReduceLROnPlateau(monitor=monitor, factor=rate or 0.1,
                                              patience=max(1, cfg["patience"] // 2))
        notes["decay_rate"] = None if rate else "0.1 (plateau default)"
    else:
        periods = {"cosine": horizon * steps, "step": 10 * steps}
        decay = decay or periods.get(name, steps)
        if not cfg["decay_steps"]:
            notes["decay_steps"] = f"{decay} steps ({steps} per epoch)"
        args = {"cosine": {}, "step": {"gamma": rate or 0.1},
                "exponential": {"decay_rate": rate or 0.96},
                "inverse_time": {"decay_rate": rate or 0.5}}[name]
        if rate is None and name != "cosine":
            notes["decay_rate"] = f"{next(iter(args.values()))} ({name} default)"
        key = "step_size" if name == "step" else "decay_steps"
        value = schedules.get(name, initial_learning_rate=lr, **{key: decay}, **args)
    if cfg["warmup_steps"]:
        value = schedules.LinearWarmup(value if value is not None else lr, cfg["warmup_steps"])
    return value, plateau, {k: v for k, v in notes.items() if v}


def steps_per_epoch(cfg: Config, n_train: int) -> int:
    """Optimizer steps per epoch of ``cfg``'s batches over ``n_train`` rows (at least 1 row).

    Parameters
    ----------
    cfg : Config
        Its ``batch_size`` is read.
    n_train : int
        The number of training rows.

    Returns
    -------
    int
    """
    return math.ceil(n_train / min(cfg["batch_size"], n_train))


def default_rate(cfg: Config, n_train: int) -> float:
    """The learning rate a run of ``cfg`` on ``n_train`` rows takes when ``learning_rate`` is
    unset: its optimizer's own, raised for short epochs (:func:`short_epoch_rate`).

    Parameters
    ----------
    cfg : Config
        A validated config.
    n_train : int
        The number of training rows.

    Returns
    -------
    float
    """
    return short_epoch_rate(default_learning_rate(cfg), steps_per_epoch(cfg, n_train))


def short_epoch_rate(rate: float, steps: int) -> float:
    """The default learning rate for epochs of ``steps`` optimizer steps: THE rule.

    Keras's rate for Adam, 1e-3, suits epochs of hundreds of steps; on data of a few hundred
    rows (ten steps an epoch) a run then needs thousands of epochs, and early stopping, whose
    patience counts epochs, ends it first (spiral at 52 %). So an epoch of few steps gets a
    larger rate, ``0.1 / steps`` (to two significant digits), up to 0.01; a rate above that
    is kept.

    Parameters
    ----------
    rate : float
        The optimizer's own default rate.
    steps : int
        Optimizer steps per epoch.

    Returns
    -------
    float
        ``max(rate, min(0.01, 0.1 / steps))``.
    """
    return max(rate, min(0.01, float(f"{0.1 / steps:.2g}")))


def _augmenter(cfg, data):
    """What ``fit(augment=...)`` gets: an Augmenter for images, noise alone for other data."""
    geometric = [k for k in ("augment_hflip", "augment_vflip", "augment_rotation",
                             "augment_translation") if cfg[k]]
    noise = cfg["augment_noise"]
    if not geometric:
        if not noise:
            return None
        return lambda x, rng: gaussian_noise(x, noise, rng)
    shape = cfg["image_shape"] or data.image_shape
    if shape is None:
        raise cfg.error(geometric[0], f"needs image rows, but {data.name} is not known to be "
                                      f"images; give {BY_KEY['image_shape'].flag} H,W")
    if math.prod(shape) != data.x.shape[1]:
        raise cfg.error("image_shape", f"{'x'.join(map(str, shape))} = {math.prod(shape)} "
                                       f"values, but {data.name} has {data.x.shape[1]} features")
    return Augmenter(image_shape=shape, hflip=cfg["augment_hflip"], vflip=cfg["augment_vflip"],
                     rotation=cfg["augment_rotation"], translation=cfg["augment_translation"],
                     noise=noise)


# ---------------------------------------------------------------------------- the model
def network(cfg: Config, plan: Plan, n_features: int, classes=None) -> Sequential:
    """The layers ``cfg`` describes, with the plan's output layer and initializers; not
    compiled (:func:`build_model` compiles it).

    Parameters
    ----------
    cfg : Config
        The model options: ``layers``, ``activation``, ``maxout``, ``dropout``,
        ``initializer``, ``l1``, ``l2``, ``max_norm``, ``scaling``, ``dtype``, ``seed``.
    plan : Plan
        The output layer (``units``, ``output_activation``) and the initializers.
    n_features : int
        The number of inputs.
    classes : list, optional
        The class labels, kept in the model (and its file).

    Returns
    -------
    Sequential
    """
    reg = kernel_regularizer(cfg)
    constraint = regularizers.MaxNorm(cfg["max_norm"]) if cfg["max_norm"] else None
    layers = []
    for units, activation, dropout, init in hidden_layers(cfg, plan):
        shared = {"kernel_initializer": kernel_initializer(init), "kernel_regularizer": reg,
                  "kernel_constraint": constraint}
        if cfg["maxout"]:
            layers.append(Maxout(units, pieces=cfg["maxout"], **shared))
        else:
            layers.append(Dense(units, activation=activation, **shared))
        if dropout:
            layers.append(Dropout(dropout))
    layers.append(Dense(plan.units, activation=plan.output_activation,
                        kernel_initializer=kernel_initializer(plan.output_init),
                        kernel_regularizer=reg))
    scaler = {"standard": StandardScaler, "minmax": MinMaxScaler}.get(cfg["scaling"])
    return Sequential(layers, input_dim=n_features, seed=cfg["seed"], dtype=cfg["dtype"],
                      preprocessing=[scaler()] if scaler else None, classes=classes)


def hidden_layers(cfg: Config, plan: Plan) -> list[tuple]:
    """Each hidden layer of ``cfg["layers"]``: an integer is its units, with the options
    ``activation`` and ``dropout``; a table ``{units, activation, dropout}`` sets its own.

    Parameters
    ----------
    cfg : Config
        ``layers``, ``activation``, ``dropout``, ``initializer``, ``maxout``.
    plan : Plan
        ``hidden_init``: the initializer of layers with the option ``activation``.

    Returns
    -------
    list of tuple
        ``(units, activation, dropout, initializer)`` per hidden layer; a layer of an
        activation of its own gets :func:`hidden_initializer` of it.
    """
    out = []
    for entry in cfg["layers"]:
        spec = entry if isinstance(entry, dict) else {"units": entry}
        activation = spec.get("activation", cfg["activation"])
        init = plan.hidden_init if activation == cfg["activation"] else \
            hidden_initializer(cfg["initializer"], activation, cfg["maxout"])
        out.append((spec["units"], activation, spec.get("dropout", cfg["dropout"]), init))
    return out


def kernel_regularizer(cfg: Config):
    """The penalty on every kernel: ``L1L2(l1, l2)``, or None when both are 0.

    Parameters
    ----------
    cfg : Config
        ``l1`` and ``l2``.

    Returns
    -------
    Regularizer or None
        (``L1L2(0, r)`` computes exactly what ``L2(r)`` does: the zero term is skipped.)
    """
    return regularizers.L1L2(cfg["l1"], cfg["l2"]) if cfg["l1"] or cfg["l2"] else None


def build_model(cfg: Config, plan: Plan, data: Data) -> Sequential:
    """The network the options describe, compiled, with its preprocessing and class names.

    Parameters
    ----------
    cfg : Config
        A validated config.
    plan : Plan
        Its plan for ``data`` (:func:`make_plan`).
    data : Data
        The data, or :func:`data_like` (only its features and classes are used).

    Returns
    -------
    Sequential
        Compiled with :func:`optimizer`, the plan's loss and metrics.
    """
    encoder = data.encoder  # a mixed table's, fitted on the training split: raw rows first
    model = network(cfg, plan, encoder.n_outputs if encoder else data.x.shape[1], data.classes)
    if encoder is not None:
        model.preprocessing.insert(0, encoder)
    compile_model(model, cfg, plan)
    return model


def compile_model(model: Sequential, cfg: Config, plan: Plan) -> None:
    """Compile ``model`` with a new :func:`optimizer`, the plan's loss and metrics.

    Parameters
    ----------
    model : Sequential
        Built by :func:`network` (or compiled before: its optimizer state is dropped).
    cfg : Config
        The optimizer options.
    plan : Plan
        ``learning_rate``, ``loss``, ``metrics``.
    """
    model.compile(optimizer=optimizer(cfg, plan), loss=plan.loss, metrics=plan.metrics)


def optimizer(cfg: Config, plan: Plan):
    """A new optimizer of ``cfg`` with the plan's learning rate (or schedule).

    Parameters
    ----------
    cfg : Config
        ``optimizer`` and the hyperparameters that are set.
    plan : Plan
        ``learning_rate``: a float, a schedule, or None for the optimizer's default.

    Returns
    -------
    Optimizer
    """
    kwargs = {k: cfg[k] for k in OPTIMIZER_KEYS if cfg[k] is not None}
    if plan.learning_rate is not None:
        kwargs["learning_rate"] = plan.learning_rate
    cls = optimizers.registry.lookup(cfg["optimizer"])
    try:
        return cls(**kwargs)
    except ValueError as e:  # FeedforwardError names the hyperparameter
        raise cfg.error("optimizer", f"{cls.name}: {e}") from None


# ---------------------------------------------------------------------------- the fit
def fit(cfg: Config, plan: Plan, model: Sequential, parts: dict, extra_callbacks=(),
        verbose: int = 0):
    """Train ``model`` with the recipe's callbacks: early stopping, the plateau schedule.

    Overflow warnings on the way to a non-finite loss are silenced: the
    :class:`~feedforward.model.Diverged` error, which ends the fit, reports it in one line.

    Parameters
    ----------
    cfg : Config
        ``epochs``, ``batch_size``, ``early_stopping``, ``patience``,
        ``restore_best_weights``.
    plan : Plan
        ``monitor``, ``plateau``, ``augment``.
    model : Sequential
        A compiled model (:func:`build_model`).
    parts : dict
        ``{"train": (x, y), "val": (x, y), ...}`` (:func:`splits`); an empty validation
        part means none.
    extra_callbacks : sequence of Callback
        Called before the recipe's own (a CSV logger, a checkpoint, a monitor).
    verbose : int
        ``fit``'s progress output.

    Returns
    -------
    history : History
    stopper : EarlyStopping or None
    seconds : float
        The time spent training.
    """
    cbs = list(extra_callbacks)
    stopper = None
    if cfg["early_stopping"]:
        stopper = callbacks.EarlyStopping(monitor=plan.monitor, patience=cfg["patience"],
                                          restore_best_weights=cfg["restore_best_weights"])
        cbs.append(stopper)
    if plan.plateau is not None:
        cbs.append(plan.plateau)
    (x, y), val = parts["train"], parts["val"]
    start = time.perf_counter()
    weights = "balanced" if cfg["class_weight"] == "balanced" else None
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), labels_are_ids():
        history = model.fit(x, y, epochs=cfg["epochs"], batch_size=cfg["batch_size"],
                            validation_data=val if len(val[0]) else None, callbacks=cbs,
                            verbose=verbose, augment=plan.augment, class_weight=weights)
    return history, stopper, time.perf_counter() - start


def weights_epoch(stopper, epochs_run: int) -> int:
    """The 1-based epoch whose weights the model ends with.

    Parameters
    ----------
    stopper : EarlyStopping or None
        The early stopping of :func:`fit`.
    epochs_run : int
        The epochs run.

    Returns
    -------
    int
        The best epoch if early stopping restored its weights, else the last.
    """
    if stopper is None or stopper.best_epoch is None:
        return epochs_run
    best = stopper.best_epoch + 1
    if stopper.restore_best_weights and best != epochs_run:
        return best
    return epochs_run


def record(cfg: Config, data: Data, epochs: int, weights_epoch: int, results: dict,
           **extra) -> dict:
    """The record of a run, kept in its model file (:func:`feedforward.records.save`).

    Parameters
    ----------
    cfg : Config
        The run's config.
    data : Data
        Its data: name, task, feature and target names.
    epochs : int
        The epochs run.
    weights_epoch : int
        The epoch whose weights the model holds.
    results : dict
        ``{split: {metric: value}}``.
    **extra
        More fields (``data_sha256``, ``tune``), last.

    Returns
    -------
    dict
    """
    return {"config": portable(cfg), "dataset": data.name, "task": data.task,
            "feature_names": data.feature_names, "target_name": data.target_name,
            "epochs": epochs, "weights_epoch": weights_epoch, "results": results, **extra}
