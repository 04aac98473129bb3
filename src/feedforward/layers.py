"""Layers: ``build``, ``forward``, ``backward``, ``get_config``.

The contract (see DESIGN.md):

- ``build(input_shape, rng, dtype) -> output_shape`` creates ``params`` (and ``grads``, same keys).
- ``forward(x, training) -> y`` caches exactly what ``backward`` needs.
- ``backward(grad_y) -> grad_x`` writes ``grads`` *in place* (the model keeps all parameters and
  gradients in one flat buffer and ``params`` / ``grads`` are views into it) and never recomputes
  the forward pass.

Shapes exclude the batch axis: an MLP layer has ``input_shape == (features,)``.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from . import activations, initializers, kernels, regularizers
from ._registry import Configurable, Registry
from .errors import FeedforwardError, NotBuiltError, as_array, check_number, describe

_RELU_BACKWARD = activations.ReLU.backward  # what kernels.relu_backward computes, in one pass

MAX_WIDTH = 2**31 - 1
"""The most units, pieces or input features of one layer; far beyond any memory's reach."""


def read_only(a: np.ndarray) -> np.ndarray:
    """A view of ``a`` that refuses writes (the array itself stays writable).

    Parameters
    ----------
    a : ndarray
        Any array, e.g. a parameter of a layer.

    Returns
    -------
    ndarray
        The same memory and shape; writing into it raises ``ValueError``.
    """
    view = a.view()
    view.flags.writeable = False
    return view


def assign_weights(targets, weights, where="weights", names=None):
    """Copy ``weights`` into ``targets`` in place, one for one, after checking the count and
    every shape; the one rule of ``Sequential.set_weights`` and ``Layer.set_weights``.

    Writing in place keeps the layers' parameters views into the model's flat buffer, so the
    model sees the new values.

    Parameters
    ----------
    targets : list of ndarray
        The parameters to fill, in Keras order.
    weights : list of array_like
        One array per target, of its shape; cast to its dtype.
    where : str, default "weights"
        What the errors name, e.g. ``"Dense layer: weights"``.
    names : list of str, optional
        The targets' names (``"kernel"``, ``"bias"``), added to the errors.
    """
    if not isinstance(weights, (list, tuple)):
        raise FeedforwardError(f"{where}: expected a list of {len(targets)} arrays, got "
                               f"{describe(weights)}")
    if len(weights) != len(targets):
        listed = f" ({', '.join(names)})" if names else ""
        raise FeedforwardError(f"{where}: expected a list of {len(targets)} arrays{listed}, "
                               f"got {len(weights)}")
    arrays = []
    for i, (t, w) in enumerate(zip(targets, weights, strict=True)):
        name = f"{where}[{i}]" + (f" ({names[i]})" if names else "")
        arrays.append(as_array(w, name))
        if arrays[-1].shape != t.shape:
            raise FeedforwardError(f"{name}: expected shape {t.shape}, got {arrays[-1].shape}")
    for t, w in zip(targets, arrays, strict=True):  # all checked first: a refusal changes nothing
        t[...] = w


def input_size(shape, name="shape") -> int:
    """The number of features of a sample of ``shape``, which excludes the batch axis, as
    Keras's ``input_shape``; refuses shapes that a stack of Dense layers cannot take.

    Parameters
    ----------
    shape : tuple or list of one int
        ``(features,)``.
    name : str, default "shape"
        The argument's name in errors.

    Returns
    -------
    int
        ``features``.
    """
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)  # Keras refuses a bare int; there is one way to read it here
    if not isinstance(shape, (tuple, list)) or not shape:
        raise FeedforwardError(f"{name}: expected a shape (features,), got {describe(shape)}")
    if len(shape) != 1:
        hint = ("it excludes the batch axis" if shape[0] is None else
                "the layers take flat samples: reshape the inputs to (n, features) and give "
                "(features,)")
        raise FeedforwardError(f"{name}: expected a shape (features,), got {describe(shape)}; "
                               f"{hint}")
    return int(check_number(shape[0], name, low=1, high=MAX_WIDTH, integer=True))


class Input:
    """The input of a :class:`~feedforward.model.Sequential`, as ``keras.Input``: given first,
    ``Sequential([ff.Input((4,)), ff.Dense(3)])``, it sets the number of input features and
    the model is built at once. It is not a layer: ``model.layers`` does not hold it.

    Parameters
    ----------
    shape : tuple of one int
        The shape of one sample, without the batch axis: ``(features,)``.

    Attributes
    ----------
    shape : tuple
        ``(None, features)``, as Keras's symbolic input: None is the batch axis.
    """

    def __init__(self, shape):
        self.shape = (None, input_size(shape))

    def __repr__(self):
        return f"Input(shape={self.shape[1:]})"


def refuse_freezing(value, what) -> None:
    """Refuse ``trainable = False``: freezing is not supported, and ignored it would not be.

    Parameters
    ----------
    value : object
        The value set.
    what : str
        The layer or model, for the message.
    """
    if not value:
        raise FeedforwardError(f"trainable: freezing {what} is not supported (its weights "
                               "would go on training); to keep weights fixed, train a model "
                               "without them, or restore them after fit with set_weights")


class Layer(Configurable):
    """Base class for layers. Parameter-free layers need only ``forward`` and ``backward``."""

    name = "layer"
    aliases: tuple[str, ...] = ()
    activation = None  # layers ending in an activation expose it (for the fused loss gradient)

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.regularizers: dict[str, regularizers.Regularizer] = {}
        self.constraints: dict[str, regularizers.Constraint] = {}
        self.input_shape = None
        self.declared_input_dim = None  # input_shape= or input_dim= given to a first layer
        self.input_grad = True  # the model turns this off for the first layer: nobody reads it
        self._buffers: OrderedDict = OrderedDict()

    @property
    def built(self) -> bool:
        return self.input_shape is not None

    _caches = ("x", "z", "y", "mask", "argmax", "_buffers")

    def __getstate__(self):
        """Pickle the configuration and parameters, not the work buffers and forward caches."""
        return {k: v for k, v in self.__dict__.items() if k not in self._caches}

    def __setstate__(self, state):
        state.setdefault("declared_input_dim", None)  # pickled before it existed
        self.__dict__.update(state)
        self._buffers = OrderedDict()

    def declare_input(self, input_shape=None):
        """Keras's ``input_shape=(features,)`` on a first layer: the model's number of input
        features, so that it is built at once. It is in the layer's config.

        Parameters
        ----------
        input_shape : tuple of one int, optional
            ``(features,)``, without the batch axis.
        """
        if input_shape is not None:
            self.declared_input_dim = input_size(input_shape, "input_shape")

    def declared_config(self) -> dict:
        """The config entry of :meth:`declare_input`.

        Returns
        -------
        dict
            ``{"input_shape": [features]}``, or ``{"input_shape": None}`` when not declared.
        """
        k = getattr(self, "declared_input_dim", None)
        return {"input_shape": None if k is None else [k]}

    def param_shapes(self, input_shape) -> dict:
        """``{name: (shape, initializer)}`` for ``input_shape``; allocates nothing.

        Parameters
        ----------
        input_shape : tuple of int
            The shape of one sample, without the batch axis.

        Returns
        -------
        dict
            For each parameter, its shape and the initializer that ``build`` calls; empty for
            parameter-free layers.
        """
        return {}

    def compute_output_shape(self, input_shape) -> tuple:
        """The shape of one output sample for inputs of ``input_shape``.

        Parameters
        ----------
        input_shape : tuple of int
            The shape of one sample, without the batch axis.

        Returns
        -------
        tuple of int
            The output shape, without the batch axis (the input shape by default).
        """
        return tuple(input_shape)

    def build(self, input_shape, rng: np.random.Generator, dtype="float32") -> tuple:
        """Create ``params`` (initialized) and ``grads`` (zeros) for inputs of ``input_shape``.

        Parameters
        ----------
        input_shape : tuple of int
            The shape of one sample, without the batch axis, e.g. ``(features,)``.
        rng : numpy.random.Generator or None
            The source of the initial values; None allocates the parameters without
            initializing them (the caller fills them, e.g. from a model file).
        dtype : str or dtype, default "float32"
            The type of the parameters and of the layer's work arrays.

        Returns
        -------
        tuple of int
            The output shape, without the batch axis.
        """
        input_shape = tuple(int(d) for d in input_shape)
        self.params = {k: init(shape, rng, dtype) if rng is not None else np.empty(shape, dtype)
                       for k, (shape, init) in self.param_shapes(input_shape).items()}
        # np.zeros, not zeros_like: the OS hands over zeroed pages as they are first written
        self.grads = {k: np.zeros(v.shape, v.dtype) for k, v in self.params.items()}
        self.input_shape, self.dtype = input_shape, np.dtype(dtype)
        return self.compute_output_shape(input_shape)

    MAX_BUFFERS = 12
    """Work arrays kept per layer, the least recently used dropped first: enough for training
    (a Dense ReLU layer's four keys, z, y, grad_z and grad_x, at the full and the last partial
    batch) and evaluation, while ``predict`` on ever new
    row counts keeps memory flat."""

    def _buffer(self, key: str, shape) -> np.ndarray:
        """A reusable work array: one allocation per (key, batch shape), not one per batch."""
        buffers = self._buffers
        buf = buffers.get((key, shape))
        if buf is None:
            buf = buffers[(key, shape)] = np.empty(shape, dtype=self.dtype)
            if len(buffers) > self.MAX_BUFFERS:
                buffers.popitem(last=False)
        else:
            buffers.move_to_end((key, shape))
        return buf

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Compute the outputs of a batch, caching what ``backward`` needs.

        Parameters
        ----------
        x : ndarray of shape (n, *input_shape)
            A batch of inputs.
        training : bool, default False
            Whether this is a training step (dropout is active only then).

        Returns
        -------
        ndarray of shape (n, *output_shape)
            The outputs; may be a work array that the next call overwrites.
        """
        raise NotImplementedError

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        """Backpropagate through the last ``forward``: fill ``grads`` in place, return dL/dx.

        Parameters
        ----------
        grad_y : ndarray of shape (n, *output_shape)
            The gradient of the loss with respect to the outputs of the last ``forward``.

        Returns
        -------
        ndarray of shape (n, *input_shape) or None
            The gradient with respect to the inputs; None when ``input_grad`` is off.
        """
        raise NotImplementedError

    @property
    def trainable(self) -> bool:
        """True: every layer trains. Freezing is not supported, so ``trainable = False`` is
        refused rather than ignored (the layer would go on training)."""
        return True

    @trainable.setter
    def trainable(self, value):
        refuse_freezing(value, f"the {self.name} layer")

    def count_params(self) -> int:
        """The number of trainable scalars.

        Returns
        -------
        int
            The total size of the arrays in ``params``.
        """
        return sum(p.size for p in self.params.values())

    def require_built(self, what):
        """Refuse to go on before the layer's model is built.

        Parameters
        ----------
        what : str
            The operation, named in the error.
        """
        if not self.built:
            raise NotBuiltError(
                f"{what}: the {self.name} layer is not built yet, so it has no weights; build "
                "its model first (model.build(input_dim), or fit)")

    @property
    def weights(self) -> list[np.ndarray]:
        """Read-only views of the parameters in Keras order (kernel, then bias); ``[]`` for a
        layer without any. Write them with :meth:`set_weights`."""
        self.require_built("weights")
        return [read_only(p) for p in self.params.values()]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the parameters in Keras order: ``[kernel, bias]`` for a Dense layer.

        Returns
        -------
        list of ndarray
            A Dense layer's kernel of shape ``(in, units)`` and bias of shape ``(units,)``;
            ``[]`` for a layer without parameters.
        """
        self.require_built("get_weights")
        return [p.copy() for p in self.params.values()]

    def set_weights(self, weights):
        """Set the parameters from a list in the order of :meth:`get_weights`.

        They are written in place, into the model's flat parameter buffer: the model uses
        them at once.

        Parameters
        ----------
        weights : list of array_like
            One array per parameter, of the shapes that :meth:`get_weights` returns; copied.
        """
        self.require_built("set_weights")
        assign_weights(list(self.params.values()), weights, f"{self.name} layer: weights",
                       list(self.params))


class _Affine(Layer):
    """Shared by Dense and Maxout: ``z = x @ kernel + bias``, then ``y = activation(z)``.

    ``backward_from_logits(grad_z)`` is the part after the activation's derivative; the model
    calls it directly when the loss supplies dL/dz (the fused softmax / sigmoid gradient).
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, *, input_shape=None):
        super().__init__()
        self.declare_input(input_shape)
        self.units = int(check_number(units, "units", low=1, high=MAX_WIDTH, integer=True))
        self.activation = activations.get(activation) or activations.Linear()
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        for key in ("kernel_initializer", "bias_initializer"):
            if getattr(self, key) is None:  # build would call it
                raise FeedforwardError(f"{key}: expected a name, a config or an Initializer, "
                                       "got None")
        for key, reg in (("kernel", kernel_regularizer), ("bias", bias_regularizer)):
            reg = regularizers.get(reg)
            if reg is not None:
                self.regularizers[key] = reg
        for key, con in (("kernel", kernel_constraint), ("bias", bias_constraint)):
            con = regularizers.constraints.get(con)
            if con is not None:
                self.constraints[key] = con

    @property
    def kernel(self) -> np.ndarray:
        """A read-only view of the kernel, of shape ``(in, units)`` (``(in, units * pieces)``
        for Maxout)."""
        self.require_built("kernel")
        return read_only(self.params["kernel"])

    @property
    def bias(self) -> np.ndarray | None:
        """A read-only view of the bias, of shape ``(units,)``; None without ``use_bias``."""
        self.require_built("bias")
        return read_only(self.params["bias"]) if self.use_bias else None

    @property
    def kernel_regularizer(self):
        return self.regularizers.get("kernel")

    @property
    def bias_regularizer(self):
        return self.regularizers.get("bias")

    def get_config(self):
        return {
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": regularizers.constraints.serialize(self.constraints.get("kernel")),
            "bias_constraint": regularizers.constraints.serialize(self.constraints.get("bias")),
            **self.declared_config(),
        }

    def _width(self) -> int:
        return self.units

    def param_shapes(self, input_shape):
        if len(input_shape) != 1:
            raise FeedforwardError(f"{type(self).__name__}: expected a flat input (features,), "
                                   f"got shape {input_shape}")
        shapes = {"kernel": ((input_shape[0], self._width()), self.kernel_initializer)}
        if self.use_bias:
            shapes["bias"] = ((self._width(),), self.bias_initializer)
        return shapes

    def _affine(self, x):
        z = self._product(x)
        if self.use_bias:
            z += self.params["bias"]
        return z

    def _product(self, x):
        """``x @ kernel`` into the work array ``z``, without the bias."""
        self.x = x
        z = self._buffer("z", (x.shape[0], self._width()))
        return np.matmul(x, self.params["kernel"], out=z)

    def backward_from_logits(self, grad_z):
        """Backpropagate from the gradient with respect to ``z``, skipping the activation.

        Parameters
        ----------
        grad_z : ndarray of shape (n, units)
            dL/dz for ``z = x @ kernel + bias`` of the last ``forward``.

        Returns
        -------
        ndarray of shape (n, in) or None
            dL/dx; None when ``input_grad`` is off.
        """
        return self._gradients(grad_z, bias_done=False)

    def _gradients(self, grad_z, bias_done):
        np.matmul(self.x.T, grad_z, out=self.grads["kernel"])
        if self.use_bias and not bias_done:
            np.sum(grad_z, axis=0, out=self.grads["bias"])
        if not self.input_grad:
            return None
        kernel = self.params["kernel"]
        return np.matmul(grad_z, kernel.T, out=self._buffer("grad_x", (grad_z.shape[0],
                                                                       kernel.shape[0])))


class Dense(_Affine):
    """Fully connected layer: ``y = activation(x @ kernel + bias)``.

    Shapes: ``x (n, in)``, ``kernel (in, units)``, ``bias (units,)``, ``y (n, units)``.

    Parameters
    ----------
    units : int
        Number of neurons (output features).
    activation : str, dict or Activation, optional
        Applied to ``z = x @ kernel + bias``; linear when None.
    use_bias : bool, default True
        Whether to add the bias vector (the "bias node").
    kernel_initializer, bias_initializer : str, dict or Initializer
        How ``build`` fills the kernel and the bias (defaults ``"glorot_uniform"``, ``"zeros"``).
    kernel_regularizer, bias_regularizer : str, dict or Regularizer, optional
        Penalties added to the loss (see :mod:`feedforward.regularizers`).
    kernel_constraint, bias_constraint : str, dict or Constraint, optional
        Projections applied after every update, e.g. ``MaxNorm``.
    input_shape : tuple of one int, optional
        On a first layer, as in Keras: ``(features,)``, the model's input (see
        :meth:`Layer.declare_input`).
    """

    name = "Dense"

    def compute_output_shape(self, input_shape):
        return (self.units,)

    def forward(self, x, training=False):
        z = self.z = self._product(x)
        # linear leaves y in z; ReLU and leaky ReLU get their own work array, written in the
        # bias's pass (see kernels.bias_activation); the others are NumPy's new arrays
        code = activations.kernel_code(self.activation)
        y = z if code in (None, 0) else self._buffer("y", z.shape)
        self.y = kernels.bias_activation(z, self.params.get("bias"), self.activation, y, code)
        return self.y

    def backward(self, grad_y):
        if type(self.activation).backward is _RELU_BACKWARD:  # the stock derivative, compiled
            grad_z = self._buffer("grad_z", self.y.shape)
            sums = self.grads["bias"] if self.use_bias and self.units > 1 else None
            if kernels.relu_backward(grad_y, self.y, grad_z, sums):  # one pass, no temporaries
                return self._gradients(grad_z, bias_done=sums is not None)
        return self.backward_from_logits(self.activation.backward(self.z, self.y, grad_y))


class Maxout(_Affine):
    """Maxout units (Goodfellow et al., 2013): ``y_j = max_k z_jk``, ``z = x @ kernel + bias``.

    The kernel has shape ``(in, units * pieces)``; columns ``j*pieces .. j*pieces+pieces-1``
    belong to unit ``j``. The derivative routes each unit's gradient to its winning piece.

    Parameters
    ----------
    units : int
        Number of maxout units (output features).
    pieces : int, default 2
        Number of linear pieces each unit takes the maximum of.
    use_bias : bool, default True
        Whether to add the bias vector, of shape ``(units * pieces,)``.
    kernel_initializer, bias_initializer : str, dict or Initializer
        How ``build`` fills the kernel and the bias (defaults ``"glorot_uniform"``, ``"zeros"``).
    kernel_regularizer, bias_regularizer : str, dict or Regularizer, optional
        Penalties added to the loss (see :mod:`feedforward.regularizers`).
    kernel_constraint, bias_constraint : str, dict or Constraint, optional
        Projections applied after every update, e.g. ``MaxNorm``.
    input_shape : tuple of one int, optional
        On a first layer, as in Keras: ``(features,)``, the model's input (see
        :meth:`Layer.declare_input`).
    """

    name = "Maxout"
    def __init__(self, units, pieces=2, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, *, input_shape=None):
        super().__init__(units, None, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint,
                         input_shape=input_shape)
        self.pieces = int(check_number(pieces, "pieces", low=1, high=MAX_WIDTH, integer=True))
        self.activation = None

    def get_config(self):
        config = super().get_config()
        del config["activation"]
        return {"units": self.units, "pieces": self.pieces, **config}

    def _width(self):
        return self.units * self.pieces

    def compute_output_shape(self, input_shape):
        return (self.units,)

    def forward(self, x, training=False):
        z = self._affine(x).reshape(x.shape[0], self.units, self.pieces)
        self.argmax = z.argmax(axis=2)[..., None]
        return np.take_along_axis(z, self.argmax, axis=2)[..., 0]

    def backward(self, grad_y):
        n = grad_y.shape[0]
        grad_z = self._buffer("grad_z", (n, self.units, self.pieces))
        grad_z.fill(0)
        np.put_along_axis(grad_z, self.argmax, grad_y[..., None], axis=2)
        return self.backward_from_logits(grad_z.reshape(n, -1))


class Activation(Layer):
    """Applies an activation function on its own: ``y = f(x)``.

    Parameters
    ----------
    activation : str, dict or Activation
        The function ``f``, by name, config or instance (see :mod:`feedforward.activations`).
    input_shape : tuple of one int, optional
        On a first layer: ``(features,)`` (see :meth:`Layer.declare_input`).
    """

    name = "Activation"

    def __init__(self, activation, *, input_shape=None):
        super().__init__()
        self.declare_input(input_shape)
        self.activation = activations.get(activation)
        if self.activation is None:
            raise FeedforwardError("activation: expected a name, config or Activation, got None")

    def get_config(self):
        return {"activation": activations.serialize(self.activation), **self.declared_config()}

    def forward(self, x, training=False):
        self.x, self.y = x, self.activation(x)
        return self.y

    def backward(self, grad_y):
        return self.activation.backward(self.x, self.y, grad_y)

    def backward_from_logits(self, grad_z):
        """The gradient with respect to ``z``, which is this layer's input: passed through.

        Parameters
        ----------
        grad_z : ndarray of shape (n, features)
            dL/dz, where ``z`` is the input of the activation.

        Returns
        -------
        ndarray of shape (n, features)
            ``grad_z`` itself.
        """
        return grad_z


class Dropout(Layer):
    """Inverted dropout: in training, each input is zeroed with probability ``rate`` and the
    survivors are scaled by ``1 / (1 - rate)``, so inference is the identity.

    The mask comes from ``self.rng``, the model's dropout stream (independent of initialization).

    Parameters
    ----------
    rate : float
        The probability of dropping each input, in [0, 1).
    input_shape : tuple of one int, optional
        On a first layer: ``(features,)`` (see :meth:`Layer.declare_input`).
    """

    name = "Dropout"

    def __init__(self, rate: float, *, input_shape=None):
        super().__init__()
        self.declare_input(input_shape)
        self.rate = float(check_number(rate, "rate", low=0, high=1, high_open=True))
        self.rng = np.random.default_rng()
        self.mask = None

    def get_config(self):
        return {"rate": self.rate, **self.declared_config()}

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            self.mask = None
            return x
        keep = self.rng.random(x.shape, dtype=self.dtype) >= self.rate
        self.mask = keep * self.dtype.type(1 / (1 - self.rate))
        return x * self.mask

    def backward(self, grad_y):
        return grad_y if self.mask is None else grad_y * self.mask


ALL = [Dense, Activation, Dropout, Maxout]
registry = Registry("layer", ALL, base=Layer)
get, serialize, deserialize = registry.get, registry.serialize, registry.deserialize
