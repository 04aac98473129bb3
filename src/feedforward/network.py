"""``Network``: the numbers of a model, on arrays already prepared.

The base of :class:`~feedforward.model.Sequential`: its parameters in one flat buffer (built
from the layers), the forward pass, backpropagation by the chain rule, the regularization
penalties, and one optimizer update. It reads the attributes that ``Sequential`` sets:
``layers``, ``dtype``, ``rngs``, ``loss``, ``optimizer`` and ``fused``.

The training engine (:mod:`feedforward.training`), the gradient check and the playground's
inspector use these public methods: :meth:`Network.forward`, :meth:`Network.compute_gradients`,
:meth:`Network.loss_value`, :meth:`Network.train_step` and :meth:`Network.apply_gradients`.
"""

from __future__ import annotations

import math

import numpy as np

from . import layers as layers_mod
from .errors import FeedforwardError, NotBuiltError, check_number
from .training import Diverged


class Network:
    """Parameters, forward pass, backpropagation and update of a stack of layers.

    Attributes
    ----------
    params, grads : ndarray
        Every parameter (and its gradient) in one flat buffer; each layer's ``params`` and
        ``grads`` entries are views into these.
    """

    # ------------------------------------------------------------------ parameters
    @property
    def built(self) -> bool:
        """Whether the parameters exist (``input_dim`` is known)."""
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
            Number of input features, at least 1. ``Sequential.build`` also takes Keras's
            input shape, ``(None, features)`` or ``(features,)``.
        initialize : bool, default True
            Draw the initial weights. False allocates them without initial values, for the
            caller to fill (``load_model`` reads them from the file: each is allocated once).

        Returns
        -------
        Network
            The model itself.
        """
        self._build_from(0, input_dim, initialize)
        self.input_dim = int(input_dim)
        self.layers[0].input_grad = False
        return self

    def _build_from(self, first, input_dim, initialize=True, what="build"):
        """Build ``layers[first:]`` (those before are built) and put every parameter in one
        new flat buffer (copying the built ones' values)."""
        count = sum(math.prod(s) for s in self.param_shapes(input_dim).values())
        need = f"{count:,} parameters ({count * self.dtype.itemsize / 2**30:.3g} GiB)"
        if count * 8 >= 2**62:  # beyond any memory (initializers draw float64)
            raise FeedforwardError(f"{what}: the model would need {need}; make the layers "
                                   "smaller")
        shape = (int(input_dim),)
        for layer in self.layers[:first]:
            shape = layer.compute_output_shape(shape)
        try:
            for layer in self.layers[first:]:
                if hasattr(layer, "rng"):  # layers that draw noise share the dropout stream
                    layer.rng = self.rngs["dropout"]
                shape = layer.build(shape, self.rngs["init"] if initialize else None,
                                    self.dtype)
            self._flatten_parameters(copy=initialize)
        except MemoryError:
            raise FeedforwardError(f"{what}: not enough memory for the model's {need}; make "
                                   "the layers smaller") from None

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
        """Refuse to go on before :meth:`build`.

        Parameters
        ----------
        what : str
            The operation, named in the error.
        """
        if not self.built:
            raise NotBuiltError(
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

    def param_arrays(self) -> list[np.ndarray]:
        """The parameters themselves (views into ``params``), in Keras order.

        Returns
        -------
        list of ndarray
            ``[kernel_1, bias_1, kernel_2, ...]``; writing into them changes the model.
        """
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
        layers_mod.assign_weights(self.param_arrays(), weights)

    @property
    def weights(self) -> list[np.ndarray]:
        """Read-only views of the parameters in Keras order, ``[kernel_1, bias_1, ...]``: what
        :meth:`get_weights` copies. Write them with :meth:`set_weights`."""
        self.require_built("weights")
        return [layers_mod.read_only(p) for p in self.param_arrays()]

    def __setstate__(self, state):
        """Unpickling gives each layer a copy of its arrays: tie them to one flat buffer again."""
        for old, new in (("_rngs", "rngs"), ("_fused", "fused")):  # pickled by version 0.1
            if old in state:
                state[new] = state.pop(old)
        state.pop("output_shape", None)  # a property now, (None, outputs)
        state.setdefault("pending_input_dim", None)
        self.__dict__.update(state)
        if self.built:
            self._flatten_parameters()

    # ------------------------------------------------------------------ one step
    def forward(self, x, training=False) -> np.ndarray:
        """The last layer's outputs for prepared inputs.

        Parameters
        ----------
        x : ndarray of shape (n, features)
            As the first layer sees them (see ``prepare_x``).
        training : bool, default False
            Training mode: Dropout is active.

        Returns
        -------
        ndarray of shape (n, outputs)
            The last layer's buffer, overwritten by the next call: copy it to keep it.
        """
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def _backward(self, grad, from_logits=False):
        last = self.layers[-1]
        grad = last.backward_from_logits(grad) if from_logits else last.backward(grad)
        for layer in reversed(self.layers[:-1]):
            grad = layer.backward(grad)

    def penalty(self, with_grads=False) -> float:
        """The layers' regularization penalties at the current weights.

        Parameters
        ----------
        with_grads : bool, default False
            Also add their gradients to ``grads`` (as :meth:`compute_gradients` does).

        Returns
        -------
        float
            The sum of the penalties.
        """
        total = 0.0
        for layer in self.layers:
            for k, reg in layer.regularizers.items():
                total += reg.penalty(layer.params[k])
                if with_grads:
                    layer.grads[k] += reg.gradient(layer.params[k])
        return total

    def compute_gradients(self, x, y, training=True):
        """Forward, loss and backward on one batch; fills ``grads`` (penalties included).

        Parameters
        ----------
        x : ndarray of shape (n, features)
            Prepared inputs.
        y : ndarray
            Prepared targets (see ``prepare_y``).
        training : bool, default True
            Training mode: Dropout is active.

        Returns
        -------
        loss : float
            The batch's loss plus the regularization penalties.
        out : ndarray of shape (n, outputs)
            The outputs (the last layer's buffer).
        """
        out = self.forward(x, training)
        loss = self.loss.value(out, y, prepared=True)
        if self.fused:
            self._backward(self.loss.fused_gradient(out, y, prepared=True), from_logits=True)
        else:
            self._backward(self.loss.gradient(out, y, prepared=True))
        return loss + self.penalty(with_grads=True), out

    def loss_value(self, x, y, training=False) -> float:
        """The loss on one prepared batch, penalties included; no gradient.

        Parameters
        ----------
        x : ndarray of shape (n, features)
            Prepared inputs.
        y : ndarray
            Prepared targets.
        training : bool, default False
            Training mode: Dropout is active.

        Returns
        -------
        float
            The loss plus the regularization penalties.
        """
        return self.loss.value(self.forward(x, training), y, prepared=True) + self.penalty()

    def train_step(self, x, y):
        """One update on a prepared batch: gradients (with penalties), then
        :meth:`apply_gradients`. A non-finite loss skips the update and raises
        :class:`~feedforward.training.Diverged`.

        Parameters
        ----------
        x : ndarray of shape (n, features)
            Prepared inputs.
        y : ndarray
            Prepared targets.

        Returns
        -------
        loss : float
            The loss before the update, penalties included.
        out : ndarray of shape (n, outputs)
            The outputs in training mode (the last layer's buffer).
        """
        loss, out = self.compute_gradients(x, y, training=True)
        if not np.isfinite(loss):
            raise Diverged(loss, self.optimizer)
        self.apply_gradients()
        return loss, out

    def apply_gradients(self):
        """The optimizer's rule on ``grads`` (clipping included), then the layers'
        constraints: the second half of :meth:`train_step`."""
        self.optimizer.apply([self.params], [self.grads], segments=[self._sizes])
        for layer in self._constrained:
            for k, constraint in layer.constraints.items():
                constraint(layer.params[k])
