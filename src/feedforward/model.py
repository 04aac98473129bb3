"""``Sequential``: a stack of layers with structure, compile, summary, config and save.

Its bases hold the rest: :class:`~feedforward.network.Network` the parameters and the math of
one step, :class:`~feedforward.structure.Structure` adding and removing layers and the shapes,
:class:`~feedforward.inputs.Inputs` the checks of inputs and targets, and
:class:`~feedforward.training.Trainable` ``fit``, ``train_on_batch``, ``evaluate`` and
``predict``, which check their arguments and data and hand them to the training engine,
:mod:`feedforward.training`.
:func:`load_model` lives here, where the class it builds is known: :mod:`feedforward.saving`
holds the file format and imports no model.
"""

from __future__ import annotations

import numpy as np

from . import layers as layers_mod
from . import losses, metrics, onnx, optimizers, saving, summaries
from . import training as engine
from .data import preprocessing as prep
from .errors import FeedforwardError, check_number, describe, show
from .inputs import Inputs
from .network import Network
from .structure import Structure
from .training import Diverged  # raised by train_step; importable from here too

__all__ = ["Diverged", "Sequential", "load_model"]

DTYPES = ("float32", "float64")
MAX_SEED = 2**128 - 1  # SeedSequence's entropy; a longer integer would not fit a model file
_STREAMS = ("init", "dropout", "shuffle", "augment")  # append only: keeps earlier streams


def _rng_streams(seed):
    """Independent generators for initialization, dropout, shuffling and augmentation.

    Spawning keeps them apart, so adding a Dropout layer does not change the initial weights.
    """
    children = np.random.SeedSequence(seed).spawn(len(_STREAMS))
    return {k: np.random.default_rng(s) for k, s in zip(_STREAMS, children, strict=True)}


def _class_names(classes) -> list | None:
    """``classes`` as a list of distinct labels (strings or numbers, NumPy scalars as Python's,
    so that they are JSON in the model file); None stays None."""
    if classes is None:
        return None
    # a set has no order: which output is which class would be a guess
    if isinstance(classes, (str, bytes, set, frozenset, dict)) or not hasattr(classes, "__iter__"):
        raise FeedforwardError(f"classes: expected a list of class names, in the order of the "
                               f"outputs, got {describe(classes)}")
    names = [c.item() if isinstance(c, np.generic) else c for c in classes]
    for c in names:
        if not isinstance(c, (str, int, float)):  # bool is an int
            raise FeedforwardError(f"classes: expected strings or numbers, got {describe(c)}")
    if len(set(names)) != len(names):
        twice = next(c for i, c in enumerate(names) if c in names[:i])
        raise FeedforwardError(f"classes: expected distinct names, got {show(twice)} twice")
    return names


def output_of(model) -> tuple[str, int | None]:
    """The output activation's name (through trailing Dropout layers, "linear" for none) and
    the number of outputs (None while unknown) of a model with layers."""
    last = next((layer for layer in reversed(model.layers)
                 if not isinstance(layer, layers_mod.Dropout)), model.layers[-1])
    act = getattr(last, "activation", None)
    if model.built:
        units = model.output_shape[-1]
    else:  # before build: the last layer with a width (Activation and Dropout keep it)
        units = next((layer.units for layer in reversed(model.layers)
                      if hasattr(layer, "units")), None)
    return (act.name if act is not None else "linear"), units


def _fused(model) -> bool:
    """Whether backpropagation starts from the loss's fused gradient: the last layer ends in
    the loss's activation (softmax for categorical cross-entropy, sigmoid for binary)."""
    act = getattr(model.layers[-1], "activation", None) if model.layers else None
    return act is not None and act.name == model.loss.fused_activation


def _check_class_count(model):
    """One class name per output; two for a single output (the probability of the second).
    A longer list would size a confusion matrix, a shorter one leave outputs unnamed."""
    units = output_of(model)[1] if model.layers and model.classes is not None else None
    want = 2 if units == 1 else units
    if want is not None and len(model.classes) != want:
        what = ("a single output (the probability of the second class)" if units == 1
                else f"{units} outputs")
        raise FeedforwardError(f"classes: the output layer has {what}, so it needs {want} "
                               f"class names, got {len(model.classes)}")


def _check_output(model, loss):
    """Refuse an output layer that ``loss`` cannot train (see ``Loss.check_output``)."""
    if loss is None or not model.layers:
        return
    activation, units = output_of(model)
    if units is None:
        return
    try:
        loss.check_output(activation, units)
    except FeedforwardError as e:
        raise FeedforwardError(f"compile: {e} (output layer {len(model.layers) - 1}, "
                               f"{type(model.layers[-1]).__name__} of {units} "
                               f"unit(s), activation {activation!r})") from None


def _resolve_metric(m, loss):
    generic = type(m) is metrics.Accuracy  # an instance means what the name means
    if generic or isinstance(m, str) and m.replace("_", "").lower() in ("accuracy", "acc"):
        if isinstance(loss, losses.BinaryCrossentropy):
            return metrics.BinaryAccuracy()
        if isinstance(loss, losses.CategoricalCrossentropy):
            return metrics.CategoricalAccuracy()
    resolved = metrics.get(m)
    if resolved is None:  # get(None) is None: no metric is not a metric
        raise FeedforwardError(f"metrics: expected metric names, configs or instances, got "
                               f"{describe(m)}")
    return resolved


def _refuse_twice(names) -> None:
    """Two metrics under one name would share one History key and evaluate() entry."""
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise FeedforwardError(f"metrics: {', '.join(map(repr, twice))} named twice; give each "
                               "metric its own name (metric.name = '...'), or list it once")


class Sequential(engine.Trainable, Inputs, Structure, saving.Files, Network):
    """A feedforward network: the output of each layer is the input of the next.

    Parameters
    ----------
    layers : list of Layer, optional
        The layers, first to last; more can be appended with :meth:`add`. The first element
        may be an :class:`~feedforward.layers.Input`, as with Keras:
        ``Sequential([ff.Input((4,)), ff.Dense(3)])``.
    input_dim : int, optional
        Number of input features. When given (or by an ``Input``, or by the first layer's
        ``input_shape=(features,)``) the model is built at once; otherwise at the first
        ``fit`` / ``predict`` / ``build`` call, from the data.
    seed : int, optional
        Seed of every random stream (initialization, dropout, shuffling). The same seed, data
        and configuration give bit-identical weights after ``fit``.
    dtype : {"float32", "float64"}
        Floating-point type of parameters and computations.
    preprocessing : Preprocessor or list, optional
        Transforms applied to raw inputs before the first layer, in ``fit``, ``evaluate`` and
        ``predict`` (e.g. ``ff.data.StandardScaler()``). Unfitted ones are fitted on the
        training inputs by the first ``fit``. They are saved with the model, so ``predict``
        on raw inputs works after ``load_model``.
    classes : list, optional
        Names of the classes, in the order of the output units (kept in the model file).
        ``fit`` and ``evaluate`` take class ids ``0 .. k-1`` (as Keras does), not these
        names: labels that are names but not ids are refused, with the mapping; with integer
        names other than ``0 .. k-1`` (1, 2, 3), labels that are both (1 and 2) are read as
        ids, with an :class:`~feedforward.inputs.AmbiguousLabelsWarning`: map names with
        ``model.classes.index``.

    Attributes
    ----------
    params, grads : ndarray
        Every parameter (and its gradient) in one flat buffer (see
        :class:`~feedforward.network.Network`).
    input_shape, output_shape : tuple
        ``(None, features)`` and ``(None, outputs)`` as in Keras, None standing for the batch
        axis; asking an unbuilt model raises :class:`~feedforward.errors.NotBuiltError` (an
        ``AttributeError`` too, so ``hasattr`` is False).
    feature_names : list of str or None
        The names of the raw input columns, in the model's order: a pandas DataFrame given to
        ``fit``, ``evaluate`` or ``predict`` has its columns matched to them by name (and is
        refused, naming the missing and unexpected columns, when they differ). None (the
        default) takes a DataFrame's columns in order. ``fit`` on a DataFrame sets them from
        its columns, as scikit-learn keeps ``feature_names_in_``. :func:`load_model` sets them
        from the file (:meth:`save` writes them, as ``feedforward train`` does); they may be
        set by hand.
    """

    def __init__(self, layers=None, input_dim=None, seed=None, dtype="float32", preprocessing=None,
                 classes=None):
        if dtype not in DTYPES:
            raise FeedforwardError(f"dtype: expected one of {DTYPES}, got {dtype!r}")
        if seed is not None:
            seed = int(check_number(seed, "seed", low=0, high=MAX_SEED, integer=True))
        self.layers: list = []
        self.seed, self.dtype, self.input_dim = seed, np.dtype(dtype), None
        self.pending_input_dim = None  # declared by Input or input_shape, built at once
        self.optimizer = self.loss = None
        self.metrics: list = []
        self.metric_names: list[str] = []
        self.stop_training = False
        self.history = None
        self.rngs = _rng_streams(seed)
        if preprocessing is not None and not isinstance(preprocessing, (list, tuple)):
            preprocessing = [preprocessing]
        self.preprocessing = [prep.get(p) for p in preprocessing or []]
        self.classes = _class_names(classes)
        self.feature_names = None
        for layer in layers or []:
            self._append(layer)
        _check_class_count(self)
        if input_dim is not None:
            self._declare_input(layers_mod.input_size((input_dim,), "input_dim"), "input_dim")
        if self.pending_input_dim is not None and self.layers:
            self.build(self.pending_input_dim)

    # ------------------------------------------------------------------ structure
    def build(self, input_dim, initialize=True):  # the docstring is Network.build's
        if isinstance(input_dim, (tuple, list)):  # Keras's build(input_shape)
            input_dim = _features_of_shape(input_dim)
        super().build(input_dim, initialize)
        _check_class_count(self)  # layers added after construction
        _check_output(self, self.loss)  # layers added after compile
        if self.loss is not None:
            self.fused = _fused(self)
        return self

    def __call__(self, x, training=False) -> np.ndarray:
        """``model(x)``, as in Keras: the outputs for ``x``.

        Parameters
        ----------
        x : array of shape (n, features)
            Raw inputs (the preprocessing is applied).
        training : bool, default False
            False: :meth:`predict`'s outputs. True: training mode, in which Dropout drops
            inputs (drawing from the model's dropout stream), in one batch.

        Returns
        -------
        ndarray of shape (n, outputs)
            The last layer's outputs, of the model's dtype.
        """
        if training is None or isinstance(training, (bool, np.bool_)):
            if not training:
                return self.predict(x, verbose=0)
            if not self.layers:
                raise FeedforwardError("model(x): the model has no layers")
            return self.forward(self.prepare_x(x), training=True).copy()
        raise FeedforwardError(f"training: expected True or False, got {describe(training)}")

    @property
    def metrics_names(self) -> list[str]:
        """``["loss", metric, ...]``, as Keras: the order of :meth:`evaluate`'s list; ``[]``
        before :meth:`compile`."""
        return [] if self.loss is None else ["loss", *self.metric_names]

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="sgd", loss="mse", metrics=None):
        """Choose the optimizer, the loss and the metrics.

        When the last layer's activation is softmax and the loss is categorical
        cross-entropy, or sigmoid and binary cross-entropy, backpropagation starts from the
        fused gradient ``(p - y) / n`` with respect to the pre-activation (see
        :mod:`feedforward.losses`); the activation's own Jacobian is skipped.
        ``"accuracy"`` becomes binary or categorical accuracy to suit the loss. Returns None,
        as Keras's ``compile``.

        Parameters
        ----------
        optimizer : str, dict or Optimizer, default "sgd"
            By name, config or instance (see :mod:`feedforward.optimizers`).
        loss : str, dict or Loss, default "mse"
            By name, config or instance (see :mod:`feedforward.losses`).
        metrics : list of str, dict or Metric, optional
            Computed on every epoch and by :meth:`evaluate`, recorded under the names given.
        """
        optimizer, loss_fn = optimizers.get(optimizer), losses.get(loss)
        if optimizer is None or loss_fn is None:
            raise FeedforwardError("compile: optimizer and loss must not be None")
        _check_output(self, loss_fn)
        self.optimizer, self.loss = optimizer, loss_fn
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            metrics = [metrics]
        self.metrics = [_resolve_metric(m, loss_fn) for m in metrics or []]
        # the History keys: the name the user gave ("accuracy"), else the metric's own
        self.metric_names = [m if isinstance(m, str) else getattr(m, "name", r.name)
                             for m, r in zip(metrics or [], self.metrics, strict=True)]
        _refuse_twice(self.metric_names)
        self.fused = _fused(self)

    # ------------------------------------------------------------------ description
    def summary(self, print_fn=None):
        """Print a table of layers with output shapes and parameter counts; returns None, as
        Keras's ``summary``. :meth:`summary_text` returns the text instead.

        Parameters
        ----------
        print_fn : callable, optional
            Called with each line of the table, without its line break, instead of
            ``print`` (as Keras documents it): ``model.summary(print_fn=lines.append)``.
        """
        for line in self.summary_text().splitlines():
            (print_fn or print)(line)

    def summary_text(self) -> str:
        """The text that :meth:`summary` prints.

        Returns
        -------
        str
            The table of layers (``(None, units)`` output shapes, ``Param #``) and the total.
        """
        return summaries.summary(self)

    def describe_outputs(self) -> str:
        """What the outputs are, in words, e.g. for a summary.

        Returns
        -------
        str
            ``"3 classes (cat, dog, fish)"``; for one output read as a probability (a sigmoid,
            or two class names) ``"probability of class 1"``, naming the second class when
            known; else ``"2 value(s)"``.
        """
        output = output_of(self) if self.layers else ("linear", None)
        return summaries.describe_outputs(output, self.classes)

    def get_config(self) -> dict:
        """JSON-safe description from which :meth:`from_config` rebuilds the same network.

        Returns
        -------
        dict
            ``input_dim``, ``seed``, ``dtype``, the layer configs, the preprocessing (with
            its fitted state) and ``classes``; no weights.
        """
        return {
            "input_dim": self.input_dim if self.built else self.pending_input_dim,
            "seed": self.seed, "dtype": self.dtype.name,
            "layers": [layers_mod.serialize(layer) for layer in self.layers],
            "preprocessing": [prep.serialize(p) for p in self.preprocessing],
            "classes": self.classes,
        }

    def get_compile_config(self) -> dict | None:
        """The arguments of :meth:`compile`, serialized, to compile a rebuilt model alike.

        Returns
        -------
        dict or None
            ``{"optimizer": config, "loss": config, "metrics": [config, ...]}`` (each metric
            with its name); None before ``compile``.
        """
        if self.loss is None:
            return None
        return {"optimizer": optimizers.serialize(self.optimizer),
                "loss": losses.serialize(self.loss),
                "metrics": [{"name": k, **metrics.serialize(m)}
                            for k, m in zip(self.metric_names, self.metrics, strict=True)]}

    @classmethod
    def from_config(cls, config: dict, dtype=None):
        """Rebuild a network, with fresh weights, from :meth:`get_config`'s output.

        Parameters
        ----------
        config : dict
            As written by :meth:`get_config`.
        dtype : {"float32", "float64"}, optional
            Overrides the config's dtype.

        Returns
        -------
        Sequential
            A new, uncompiled model, built when the config has an ``input_dim``.
        """
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise FeedforwardError(
                f"config: expected a dict with a 'layers' list, got {describe(config)}")
        for key in ("preprocessing", "classes"):
            if not isinstance(config.get(key), (list, type(None))):
                raise FeedforwardError(
                    f"config: {key!r} must be a list or null, got {describe(config[key])}")
        return cls([layers_mod.deserialize(c) for c in config["layers"]],
                   input_dim=config.get("input_dim"), seed=config.get("seed"),
                   dtype=dtype or config.get("dtype", "float32"),
                   preprocessing=[prep.deserialize(c) for c in config.get("preprocessing") or []],
                   classes=config.get("classes"))

    def export_onnx(self, path, opset=17):
        """Write the model, with its preprocessing, as an ONNX graph (needs the ``onnx`` extra).

        See :func:`feedforward.onnx.export_onnx`.

        Parameters
        ----------
        path : str or path-like
            The ``.onnx`` file to write.
        opset : int, default 17
            The ONNX opset.

        Returns
        -------
        onnx.ModelProto
            The graph written.
        """
        return onnx.export_onnx(self, path, opset=opset)

    def __repr__(self):
        return f"Sequential({self.layers!r})"


def _features_of_shape(shape) -> int:
    """The feature count of a Keras input shape: ``(None, features)`` or ``(features,)``."""
    shape = tuple(shape)
    if len(shape) in (1, 2) and (len(shape) == 1 or shape[0] is None) and isinstance(
            shape[-1], (int, np.integer)) and not isinstance(shape[-1], bool):
        return int(shape[-1])
    raise FeedforwardError(f"input_shape: expected (None, features) or (features,), got "
                           f"{shape}; a Sequential takes rows of features")


def load_model(path, compile: bool = True) -> Sequential:
    """Load a model saved by :meth:`Sequential.save`.

    Raises :class:`FeedforwardError` naming ``path`` for any file that is not a valid model
    file (missing, truncated, corrupt, hostile or of another format).

    Parameters
    ----------
    path : str or path-like
        The model file (``*.safetensors``).
    compile : bool, default True
        Whether to compile the model with the saved optimizer, loss and metrics and restore the
        optimizer's state, so that training resumes where it stopped. The random streams
        (shuffling, dropout masks) are not in the file: a model with dropout, trained on,
        draws other masks than an uninterrupted run would (for a bit-exact resume, use
        :class:`~feedforward.BackupAndRestore`). If False, or if the model was saved
        uncompiled, the model is returned uncompiled.

    Returns
    -------
    Sequential
        The model, built, with its weights and fitted preprocessing restored, and the
        ``feature_names`` saved in the file (else None).
    """
    model = saving.read_model(path, Sequential.from_config, compile)
    model.feature_names = saving.feature_names(path, model)
    return model
