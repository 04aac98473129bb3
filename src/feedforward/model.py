"""``Sequential``: a stack of layers with build, compile, fit, evaluate, predict and save."""

from __future__ import annotations

import io
import math

import numpy as np
from rich.console import Console
from rich.table import Table

from . import layers as layers_mod
from . import losses, metrics, optimizers
from . import training as engine
from .callbacks import History
from .data import preprocessing as prep
from .data.batching import BatchIterator
from .errors import (
    FeedforwardError,
    as_array,
    cast,
    check_finite,
    check_number,
    describe,
    show,
)
from .training import Diverged  # raised by train_step; importable from here too

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


class Sequential:
    """A feedforward network: the output of each layer is the input of the next.

    Parameters
    ----------
    layers : list of Layer, optional
        The layers, first to last; more can be appended with :meth:`add`.
    input_dim : int, optional
        Number of input features. When given the model is built at once; otherwise at the
        first ``fit`` / ``predict`` / ``build`` call, from the data.
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

    Attributes
    ----------
    params, grads : ndarray
        Every parameter (and its gradient) in one flat buffer; each layer's ``params`` and
        ``grads`` entries are views into these.
    """

    def __init__(self, layers=None, input_dim=None, seed=None, dtype="float32", preprocessing=None,
                 classes=None):
        if dtype not in DTYPES:
            raise FeedforwardError(f"dtype: expected one of {DTYPES}, got {dtype!r}")
        if seed is not None:
            seed = int(check_number(seed, "seed", low=0, high=MAX_SEED, integer=True))
        self.layers: list = []
        self.seed, self.dtype, self.input_dim = seed, np.dtype(dtype), None
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
        for layer in layers or []:
            self.add(layer)
        self._check_class_count()
        if input_dim is not None:
            self.build(input_dim)

    # ------------------------------------------------------------------ structure
    def add(self, layer):
        """Append a layer (a Layer instance, a layer config dict, or a layer name).

        Parameters
        ----------
        layer : Layer, dict or str
            The layer to add last; the model must not be built yet.
        """
        if self.built:
            raise FeedforwardError("add: the model is already built; create a new Sequential")
        self.layers.append(layers_mod.get(layer))

    @property
    def built(self) -> bool:
        return self.input_dim is not None

    def param_shapes(self, input_dim) -> dict[str, tuple]:
        """The shape of every parameter for inputs of ``input_dim`` features; allocates nothing.

        Parameters
        ----------
        input_dim : int
            Number of input features, at least 1.

        Returns
        -------
        dict of str to tuple
            ``{"layers.<i>.<name>": shape}`` in Keras order (the names of the model file).
        """
        input_dim = int(check_number(input_dim, "input_dim", low=1, high=layers_mod.MAX_WIDTH,
                                     integer=True))
        if not self.layers:
            raise FeedforwardError(
                "build: the model has no layers; pass layers=[...] or call add()")
        shapes, shape = {}, (input_dim,)
        for i, layer in enumerate(self.layers):
            for k, (s, _init) in layer.param_shapes(shape).items():
                shapes[f"layers.{i}.{k}"] = tuple(s)
            shape = layer.compute_output_shape(shape)
        return shapes

    def build(self, input_dim, initialize=True):
        """Create every parameter, in one flat buffer, for inputs with ``input_dim`` features.

        Parameters
        ----------
        input_dim : int
            Number of input features, at least 1.
        initialize : bool, default True
            Draw the initial weights. False allocates them without initial values, for the
            caller to fill (``load_model`` reads them from the file: each is allocated once).

        Returns
        -------
        Sequential
            The model itself.
        """
        count = sum(math.prod(s) for s in self.param_shapes(input_dim).values())
        need = f"{count:,} parameters ({count * self.dtype.itemsize / 2**30:.3g} GiB)"
        if count * 8 >= 2**62:  # beyond any memory (initializers draw float64)
            raise FeedforwardError(f"build: the model would need {need}; make the layers "
                                   "smaller")
        input_dim, shape = int(input_dim), (int(input_dim),)
        try:
            for layer in self.layers:
                if hasattr(layer, "rng"):  # layers that draw noise share the dropout stream
                    layer.rng = self.rngs["dropout"]
                shape = layer.build(shape, self.rngs["init"] if initialize else None,
                                    self.dtype)
            self._flatten_parameters(copy=initialize)
        except MemoryError:
            raise FeedforwardError(f"build: not enough memory for the model's {need}; make "
                                   "the layers smaller") from None
        self.input_dim, self.output_shape = input_dim, shape
        self.layers[0].input_grad = False
        self._check_class_count()  # layers added after construction
        self._check_output(self.loss)  # layers added after compile
        return self

    def _flatten_parameters(self, copy=True):
        total = sum(layer.count_params() for layer in self.layers)
        self.params = np.empty(total, dtype=self.dtype)
        self.grads = np.zeros(total, dtype=self.dtype)
        offset = 0
        for layer in self.layers:
            for k, p in layer.params.items():
                view = self.params[offset:offset + p.size].reshape(p.shape)
                if copy:
                    view[...] = p
                layer.params[k] = view
                layer.grads[k] = self.grads[offset:offset + p.size].reshape(p.shape)
                offset += p.size
        self._sizes = [p.size for p in self.param_arrays()]
        self._constrained = [layer for layer in self.layers if getattr(layer, "constraints", None)]

    def require_built(self, what):
        if not self.built:
            raise FeedforwardError(
                f"{what}: the model is not built yet; call build(input_dim) or fit")

    def count_params(self) -> int:
        """The number of trainable scalars of the built model.

        Returns
        -------
        int
            The size of the flat parameter buffer ``params``.
        """
        self.require_built("count_params")
        return int(self.params.size)

    # ------------------------------------------------------------------ weights
    def param_arrays(self):
        return [p for layer in self.layers for p in layer.params.values()]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the parameters in Keras order: ``[kernel_1, bias_1, kernel_2, ...]``.

        Returns
        -------
        list of ndarray
            One copy per parameter array, e.g. a Dense kernel of shape ``(in, units)``.
        """
        self.require_built("get_weights")
        return [p.copy() for p in self.param_arrays()]

    def set_weights(self, weights):
        """Set the parameters from a list in the order of :meth:`get_weights`.

        Parameters
        ----------
        weights : list of array_like
            One array per parameter, of the shapes that :meth:`get_weights` returns; copied.
        """
        self.require_built("set_weights")
        targets = self.param_arrays()
        if len(weights) != len(targets):
            raise FeedforwardError(
                f"weights: expected a list of {len(targets)} arrays, got {len(weights)}")
        for i, (t, w) in enumerate(zip(targets, weights, strict=True)):
            w = as_array(w, f"weights[{i}]")
            if w.shape != t.shape:
                raise FeedforwardError(f"weights[{i}]: expected shape {t.shape}, got {w.shape}")
            t[...] = w

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="sgd", loss="mse", metrics=None):
        """Choose the optimizer, the loss and the metrics.

        When the last layer's activation is softmax and the loss is categorical
        cross-entropy, or sigmoid and binary cross-entropy, backpropagation starts from the
        fused gradient ``(p - y) / n`` with respect to the pre-activation (see
        :mod:`feedforward.losses`); the activation's own Jacobian is skipped.
        ``"accuracy"`` becomes binary or categorical accuracy to suit the loss.

        Parameters
        ----------
        optimizer : str, dict or Optimizer, default "sgd"
            By name, config or instance (see :mod:`feedforward.optimizers`).
        loss : str, dict or Loss, default "mse"
            By name, config or instance (see :mod:`feedforward.losses`).
        metrics : list of str, dict or Metric, optional
            Computed on every epoch and by :meth:`evaluate`, recorded under the names given.

        Returns
        -------
        Sequential
            The model itself.
        """
        optimizer, loss_fn = optimizers.get(optimizer), losses.get(loss)
        if optimizer is None or loss_fn is None:
            raise FeedforwardError("compile: optimizer and loss must not be None")
        self._check_output(loss_fn)
        self.optimizer, self.loss = optimizer, loss_fn
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            metrics = [metrics]
        self.metrics = [self._resolve_metric(m) for m in metrics or []]
        # the History keys: the name the user gave ("accuracy"), else the metric's own
        self.metric_names = [m if isinstance(m, str) else r.name
                             for m, r in zip(metrics or [], self.metrics, strict=True)]
        last = self.layers[-1] if self.layers else None
        act = getattr(last, "activation", None)
        self.fused = act is not None and act.name == self.loss.fused_activation
        return self

    def _output(self) -> tuple[str, int | None]:
        """The output activation's name (through trailing Dropout layers, "linear" for none)
        and the number of outputs (None while unknown)."""
        last = next((layer for layer in reversed(self.layers)
                     if not isinstance(layer, layers_mod.Dropout)), self.layers[-1])
        act = getattr(last, "activation", None)
        if self.built:
            units = self.output_shape[0]
        else:  # before build: the last layer with a width (Activation and Dropout keep it)
            units = next((layer.units for layer in reversed(self.layers)
                          if hasattr(layer, "units")), None)
        return (act.name if act is not None else "linear"), units

    def _check_class_count(self):
        """One class name per output; two for a single output (the probability of the second).
        A longer list would size a confusion matrix, a shorter one leave outputs unnamed."""
        units = self._output()[1] if self.layers and self.classes is not None else None
        want = 2 if units == 1 else units
        if want is not None and len(self.classes) != want:
            what = ("a single output (the probability of the second class)" if units == 1
                    else f"{units} outputs")
            raise FeedforwardError(f"classes: the output layer has {what}, so it needs {want} "
                                   f"class names, got {len(self.classes)}")

    def _check_output(self, loss):
        """Refuse an output layer that ``loss`` cannot train (see ``Loss.check_output``)."""
        if loss is None or not self.layers:
            return
        activation, units = self._output()
        if units is None:
            return
        try:
            loss.check_output(activation, units)
        except FeedforwardError as e:
            raise FeedforwardError(f"compile: {e} (output layer {len(self.layers) - 1}, "
                                   f"{type(self.layers[-1]).__name__} of {units} "
                                   f"unit(s), activation {activation!r})") from None

    def _resolve_metric(self, m):
        if isinstance(m, str) and m.replace("_", "").lower() in ("accuracy", "acc"):
            if isinstance(self.loss, losses.BinaryCrossentropy):
                return metrics.BinaryAccuracy()
            if isinstance(self.loss, losses.CategoricalCrossentropy):
                return metrics.CategoricalAccuracy()
        resolved = metrics.get(m)
        if resolved is None:  # get(None) is None: no metric is not a metric
            raise FeedforwardError(f"metrics: expected metric names, configs or instances, got "
                                   f"{describe(m)}")
        return resolved

    def require_compiled(self, what):
        if self.loss is None:
            raise FeedforwardError(f"{what}: call compile(optimizer, loss, metrics) first")

    # ------------------------------------------------------------------ data checks
    def raw_inputs(self, x, name="x"):
        """Inputs checked (numeric, finite, 2-D, the model's feature count), not yet transformed."""
        x = as_array(x, name, ndim=(1, 2))
        if x.ndim == 1:
            if self.built and self.input_dim == 1:
                x = x[:, None]
            else:
                raise FeedforwardError(
                    f"{name}: expected a 2-D array (samples, features), got shape {x.shape}; "
                    "use x.reshape(-1, 1) for one feature or x.reshape(1, -1) for one sample")
        if not self.built:
            self.build(x.shape[1])
        elif x.shape[1] != self.input_dim:
            raise FeedforwardError(
                f"{name}: expected {self.input_dim} features (the input of layer 0, "
                f"{type(self.layers[0]).__name__}), got {x.shape[1]}")
        return x

    def transform(self, x, name="x"):
        """Raw inputs to what the first layer sees: the preprocessing, then the model's dtype
        (refusing values that overflow it, such as 1e300 for float32)."""
        for p in self.preprocessing:
            x = p.transform(x)
        if self.preprocessing:  # raw values far outside the fitted range may overflow
            check_finite(x, name, " after the preprocessing",
                         "the values lie far outside those the preprocessing was fitted on")
        return cast(x, self.dtype, name)

    def prepare_x(self, x, name="x"):
        return self.transform(self.raw_inputs(x, name), name)

    def prepare_xy(self, x, y, xname="x", yname="y"):
        x = self.raw_inputs(x, xname)
        return self.transform(x, xname), self.prepare_y(y, x.shape[0], xname, yname)

    def prepare_y(self, y, n, xname="x", yname="y"):
        """Targets checked against the loss and brought to the output's shape."""
        y = as_array(y, yname, ndim=(1, 2))
        if y.shape[0] != n:
            raise FeedforwardError(
                f"{yname}: expected {n} samples to match {xname}, got {y.shape[0]}")
        probe = np.broadcast_to(np.zeros((), self.dtype), (n, *self.output_shape))
        try:
            y = self.loss.prepare(y, probe)
        except FeedforwardError as e:
            message = str(e)
            if message.startswith("y:"):  # the loss calls its targets "y"
                message = yname + message[1:]
            raise FeedforwardError(f"{message} (loss {self.loss.name}, output layer "
                                   f"{type(self.layers[-1]).__name__})") from None
        return np.ascontiguousarray(y)

    # ------------------------------------------------------------------ the engine
    def forward(self, x, training=False):
        """The last layer's outputs for prepared inputs ``x`` (``training`` turns dropout on)."""
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def _backward(self, grad, from_logits=False):
        last = self.layers[-1]
        grad = last.backward_from_logits(grad) if from_logits else last.backward(grad)
        for layer in reversed(self.layers[:-1]):
            grad = layer.backward(grad)

    def _penalty(self, with_grads):
        total = 0.0
        for layer in self.layers:
            for k, reg in layer.regularizers.items():
                total += reg.penalty(layer.params[k])
                if with_grads:
                    layer.grads[k] += reg.gradient(layer.params[k])
        return total

    def compute_gradients(self, x, y, training=True):
        """Forward, loss and backward on one batch; fills ``self.grads``; returns (loss, output)."""
        out = self.forward(x, training)
        loss = self.loss._value(out, y)
        if self.fused:
            self._backward(self.loss._fused_gradient(out, y), from_logits=True)
        else:
            self._backward(self.loss._gradient(out, y))
        return float(loss) + self._penalty(with_grads=True), out

    def loss_value(self, x, y, training=False):
        return float(self.loss._value(self.forward(x, training), y)) + self._penalty(False)

    def train_step(self, x, y):
        """One update: gradients (with penalties), clipping and the rule (the optimizer), then
        constraints. A non-finite loss skips the update and raises :class:`Diverged`."""
        loss, out = self.compute_gradients(x, y, training=True)
        if not np.isfinite(loss):
            raise Diverged(loss, self.optimizer)
        self.apply_gradients()
        return loss, out

    def apply_gradients(self):
        """The optimizer's rule on ``self.grads`` (clipping included), then the constraints."""
        self.optimizer.apply([self.params], [self.grads], segments=[self._sizes])
        for layer in self._constrained:
            for k, constraint in layer.constraints.items():
                constraint(layer.params[k])

    def train_on_batch(self, x, y) -> float:
        """Exactly one optimizer step on this batch; returns the loss before the step.

        Parameters
        ----------
        x : array of shape (n, features)
            The batch's inputs, raw (the preprocessing is applied).
        y : array of shape (n,) or (n, outputs)
            The batch's labels or targets.

        Returns
        -------
        float
            The loss on the batch, with regularization penalties, before the update.
        """
        self.require_compiled("train_on_batch")
        x, y = self.prepare_xy(x, y)
        return self.train_step(x, y)[0]

    # ------------------------------------------------------------------ fit
    def fit(self, x, y, epochs=1, batch_size=32, validation_split=0.0, validation_data=None,
            shuffle=True, callbacks=None, verbose=1, augment=None) -> History:
        """Train for ``epochs`` passes over ``(x, y)`` in mini-batches.

        Parameters
        ----------
        x : array of shape (n, features)
        y : array of shape (n,) (labels or targets) or (n, outputs)
        epochs : int
            0 trains nothing and returns an empty History, as in Keras; the arguments and
            data are still checked, an unbuilt model is built and unfitted preprocessing
            is fitted, as in any fit.
        batch_size : int
            ``n`` for batch gradient descent, ``1`` for stochastic, ``k`` for mini-batch.
        validation_split : float in [0, 1)
            Fraction of the data, taken from the end before shuffling, held out for validation.
        validation_data : tuple (x_val, y_val), optional
            Overrides ``validation_split``.
        shuffle : bool
            Reshuffle the training data every epoch.
        callbacks : list of Callback
        verbose : {0, 1, 2}
            Silent, a progress bar per epoch, or one line per epoch.
        augment : Augmenter, dict or callable ``(x_batch, rng) -> x_batch``, optional
            Applied to every training batch of raw inputs, before the preprocessing, with the
            model's augmentation stream; never to validation, ``evaluate`` or ``predict``.

        Returns
        -------
        History
            ``history.history`` maps ``loss``, each metric and their ``val_`` versions to
            per-epoch lists.
        """
        self.require_compiled("fit")
        epochs = int(check_number(epochs, "epochs", low=0, integer=True))
        callbacks = engine.check_callbacks(callbacks)
        augment = engine.check_augment(augment)
        batch_size = int(check_number(batch_size, "batch_size", low=1, integer=True))
        validation_split = check_number(validation_split, "validation_split", low=0, high=1,
                                        high_open=True)
        engine.check_verbose(verbose)
        x = self.raw_inputs(x)
        y = self.prepare_y(y, x.shape[0])
        val = None
        if validation_data is None and validation_split > 0:
            cut = int(round(x.shape[0] * (1 - validation_split)))
            if cut < 1 or cut >= x.shape[0]:
                raise FeedforwardError(
                    f"validation_split: {validation_split} of {x.shape[0]} samples leaves an "
                    "empty training or validation set")
            x, y, val = x[:cut], y[:cut], (x[cut:], y[cut:])
        for p in self.preprocessing:  # fitted on the training part only
            if not p.fitted:
                p.fit(x)
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise FeedforwardError("validation_data: expected a tuple (x_val, y_val), got "
                                       f"{describe(validation_data)}")
            val = self.prepare_xy(*validation_data, xname="x_val", yname="y_val")
        elif val is not None:
            val = (self.transform(val[0]), val[1])
        if augment is None:  # augmented batches are transformed one by one
            x = self.transform(x)
        return engine.Trainer(self, x, y, batch_size=batch_size, shuffle=shuffle,
                              callbacks=callbacks, augment=augment, validation=val,
                              epochs=epochs, verbose=verbose).fit()

    # ------------------------------------------------------------------ inference
    def predict(self, x, batch_size=1024) -> np.ndarray:
        """Outputs for ``x`` of shape ``(n, features)``: shape ``(n, outputs)``, inference mode.

        Parameters
        ----------
        x : array of shape (n, features)
            Raw inputs (the preprocessing is applied).
        batch_size : int, default 1024
            Rows computed at once; bounds the memory of the work arrays.

        Returns
        -------
        ndarray of shape (n, outputs)
            The last layer's outputs, of the model's dtype.
        """
        self._require_built_or_layers()
        batch_size = int(check_number(batch_size, "batch_size", low=1, integer=True))
        x = self.prepare_x(x)
        if x.shape[0] <= batch_size:  # one batch: skip the iterator (latency of small calls)
            return self.forward(x, training=False).copy()  # layers reuse their buffers
        out = np.empty((x.shape[0], *self.output_shape), dtype=self.dtype)
        start = 0
        for xb in BatchIterator(x, batch_size=batch_size):
            out[start:start + len(xb)] = self.forward(xb, training=False)
            start += len(xb)
        return out

    def _require_built_or_layers(self):
        if not self.layers:
            raise FeedforwardError("predict: the model has no layers")

    def evaluate(self, x, y, batch_size=1024, return_dict=False):
        """Loss (with regularization penalties) and metrics on ``(x, y)``, in inference mode.

        Returns the loss alone when there are no metrics, else ``[loss, metric, ...]``;
        a dict when ``return_dict`` is true.

        Parameters
        ----------
        x : array of shape (n, features)
            Raw inputs (the preprocessing is applied).
        y : array of shape (n,) or (n, outputs)
            Labels or targets.
        batch_size : int, default 1024
            Rows computed at once; the result does not depend on it.
        return_dict : bool, default False
            Return ``{"loss": ..., metric name: ...}``.

        Returns
        -------
        float, list of float or dict
            The loss over all ``n`` samples, then the metrics in the order of ``compile``.
        """
        self.require_compiled("evaluate")
        x, y = self.prepare_xy(x, y)
        logs = engine.evaluate_prepared(self, x, y, batch_size)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    # ------------------------------------------------------------------ description
    def summary(self, print_fn=None) -> str:
        """A table of layers with output shapes and parameter counts; printed and returned.

        Parameters
        ----------
        print_fn : callable, optional
            Called with the table's text instead of ``print``.

        Returns
        -------
        str
            The table.
        """
        self.require_built("summary")
        table = Table(title="Sequential")
        for col in ("#", "Layer", "Output shape", "Param #"):
            table.add_column(col, justify="right" if col in ("#", "Param #") else "left")
        shape = (self.input_dim,)
        for i, layer in enumerate(self.layers):
            shape = layer.compute_output_shape(shape)
            act = getattr(layer, "activation", None)
            label = type(layer).__name__ + (f" ({act.name})" if act is not None else "")
            table.add_row(str(i), label, str((None, *shape)), f"{layer.count_params():,}")
        console = Console(file=io.StringIO(), width=80, highlight=False)
        console.print(table)
        console.print(f"Total params: {self.count_params():,}")
        text = console.file.getvalue()
        (print_fn or print)(text.rstrip("\n"))
        return text

    def describe_outputs(self) -> str:
        """What the outputs are, in words, e.g. for a summary.

        Returns
        -------
        str
            ``"3 classes (cat, dog, fish)"``; for one output read as a probability (a sigmoid,
            or two class names) ``"probability of class 1"``, naming the second class when
            known; else ``"2 value(s)"``.
        """
        activation, units = self._output() if self.layers else ("linear", None)
        names = None if self.classes is None else [str(c) for c in self.classes]
        if units == 1 and (activation == "sigmoid" or names is not None):
            positive = f"probability of class {names[1] if names else 1}"
            return positive if names is None else f"2 classes ({', '.join(names)}): {positive}"
        if names is not None:
            shown = names if len(names) <= 8 else [*names[:6], "...", names[-1]]
            return f"{len(names)} classes ({', '.join(shown)})"
        return f"{units} value(s)"

    def get_config(self) -> dict:
        """JSON-safe description from which :meth:`from_config` rebuilds the same network.

        Returns
        -------
        dict
            ``input_dim``, ``seed``, ``dtype``, the layer configs, the preprocessing (with
            its fitted state) and ``classes``; no weights.
        """
        return {
            "input_dim": self.input_dim, "seed": self.seed, "dtype": self.dtype.name,
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
        from .onnx import export_onnx

        return export_onnx(self, path, opset=opset)

    def save(self, path):
        """Write the model (config, weights, optimizer state) to one safetensors file.

        Non-finite weights or optimizer state are refused, so a diverged run never
        overwrites a good file, and every file written is one that ``load_model`` reads.

        Parameters
        ----------
        path : str or path-like
            The file to write; read it back with :func:`feedforward.load_model`.
        """
        from .saving import save_model

        save_model(self, path)

    def __setstate__(self, state):
        """Unpickling gives each layer a copy of its arrays: tie them to one flat buffer again."""
        self.__dict__.update(state)
        if self.built:
            self._flatten_parameters()

    def __repr__(self):
        return f"Sequential({self.layers!r})"
