"""``Structure``: the layers of a model as Keras's ``Sequential`` changes and describes them.

A base of :class:`~feedforward.model.Sequential`: :meth:`Structure.add` and
:meth:`Structure.pop` (a built model builds an added layer at once, and keeps the weights of
the others), an input declared by :class:`~feedforward.layers.Input` or a first layer's
``input_shape``, and ``input_shape`` / ``output_shape`` with None for the batch axis. It reads
and sets the attributes that ``Sequential`` and :class:`~feedforward.network.Network` keep:
``layers``, ``input_dim``, ``pending_input_dim``, ``classes``, ``rngs``, ``dtype``, the compile
state, and ``build``.
"""

from __future__ import annotations

from . import layers as layers_mod
from .errors import FeedforwardError


class Structure:
    """Adding and removing layers, the declared input, and the shapes of a model."""

    def add(self, layer):
        """Append a layer (a Layer instance, a layer config dict, or a layer name), or, first,
        an :class:`~feedforward.layers.Input`.

        As in Keras, a model whose input is known (an ``Input``, ``input_shape=`` on its first
        layer, ``input_dim``) is built as soon as it has a layer, and each later layer is built
        as it is added; the earlier layers keep their weights. Adding to a built model leaves
        it uncompiled and without ``classes``: its output layer changed (compile it again).

        Parameters
        ----------
        layer : Layer, dict, str or Input
            The layer to add last.
        """
        was_built = self.built
        if self._append(layer) is None:  # an Input, first: the next layer builds the model
            return
        if was_built:
            try:
                self.build_appended()
            except Exception:
                self.layers.pop()
                raise
            self._output_changed()
        elif self.pending_input_dim is not None:
            self.build(self.pending_input_dim)

    def pop(self):
        """Remove the last layer, as Keras's ``Sequential.pop``.

        The other layers keep their weights. The model is left uncompiled and without
        ``classes``, which were those of the removed output layer: compile it again. Popping
        the only layer leaves an empty, unbuilt model that keeps its number of inputs, so the
        next :meth:`add` builds it.

        Returns
        -------
        Layer
            The layer removed.
        """
        if not self.layers:
            raise FeedforwardError("pop: the model has no layers")
        layer = self.layers[-1]
        if self.built:
            inputs = self.input_dim
            self.unbuild_last()
            if not self.layers:
                self.pending_input_dim = inputs
        else:
            self.layers.pop()
        self._output_changed()
        return layer

    def _append(self, layer):
        """Append ``layer`` unbuilt, taking the input an ``Input`` or ``input_shape`` declares;
        None for an ``Input``."""
        where = f"layer {len(self.layers)}"
        if isinstance(layer, layers_mod.Input):
            if self.layers:
                raise FeedforwardError(f"Input: only the first element of a Sequential model "
                                       f"takes it, got it after {len(self.layers)} layer(s)")
            self._declare_input(layer.shape[1], "Input")
            return None
        layer = layers_mod.get(layer)
        _refuse_shared(layer, self.layers, where)
        declared = getattr(layer, "declared_input_dim", None)
        if declared is not None:
            if self.layers:
                raise FeedforwardError(
                    f"input_shape: only the first layer takes it (it is the model's input), "
                    f"got it on {where}, {type(layer).__name__}")
            self._declare_input(declared, "input_shape")
        self.layers.append(layer)
        return layer

    def _declare_input(self, features, what):
        known = self.input_dim if self.built else getattr(self, "pending_input_dim", None)
        if known is not None and known != features:
            raise FeedforwardError(f"{what}: gives {features} input features, but the model "
                                   f"already has {known}")
        self.pending_input_dim = features

    def _output_changed(self):
        """After add or pop changed the output layer: what was for the old one goes."""
        self.classes = None
        self.optimizer = self.loss = None
        self.metrics, self.metric_names, self.fused = [], [], False

    def build_appended(self):
        """Build the last layer of a built model, appended after the build: the other layers
        keep their weights, and the initializer stream goes on where the build left it, so
        the weights are those that building all the layers at once would draw."""
        self._build_from(len(self.layers) - 1, self.input_dim, what="add")

    def unbuild_last(self):
        """Remove the last layer of a built model; the others keep their weights (in a new
        flat buffer). Removing the only layer leaves the model unbuilt."""
        self.layers.pop()
        if not self.layers:
            self.input_dim = self.params = self.grads = None
            return
        self._flatten_parameters()

    @property
    def trainable(self) -> bool:
        """True: every layer trains (``trainable = False`` is refused, as for a layer)."""
        return True

    @trainable.setter
    def trainable(self, value):
        layers_mod.refuse_freezing(value, "the model")

    @property
    def input_shape(self) -> tuple:
        """``(None, features)``, as Keras gives it: None stands for the batch axis."""
        self.require_built("input_shape")
        return (None, self.input_dim)

    @property
    def output_shape(self) -> tuple:
        """``(None, outputs)``, as Keras gives it: None stands for the batch axis."""
        self.require_built("output_shape")
        return (None, *self._shape_after(self.layers))

    def _shape_after(self, layers) -> tuple:
        shape = (self.input_dim,)
        for layer in layers:
            shape = layer.compute_output_shape(shape)
        return shape


def _refuse_shared(layer, present, where):
    """A layer object holds its weights as views of one model's buffer: twice in a model, its
    gradients would mix; built into another model, it would leave the first one's weights."""
    kind = type(layer).__name__
    again = f"add a new layer with the same settings: ff.layers.{kind}(**layer.get_config())"
    if any(layer is other for other in present):
        raise FeedforwardError(f"{where}: this {kind} object is already layer "
                               f"{next(i for i, o in enumerate(present) if o is layer)} of the "
                               f"model; a layer appears once; {again}")
    if layer.built and layer.count_params():
        raise FeedforwardError(f"{where}: this {kind} object is built already, its weights held "
                               f"by another model (or one it was popped from); {again}")
