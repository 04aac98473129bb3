"""ONNX export: a fitted :class:`~feedforward.Sequential` as an ONNX graph.

The graph takes ``input`` of shape ``(batch, features)`` (``batch`` is dynamic) and gives
``output`` of shape ``(batch, outputs)``, equal to ``model.predict`` on raw inputs:

- the fitted preprocessing comes first, as element-wise ``Sub`` / ``Div`` / ``Mul`` / ``Add``;
- a :class:`~feedforward.data.TableEncoder` of numeric columns takes NaN for a missing
  value: ``IsNaN`` + ``Where`` fill it with the training median (or most frequent value), and
  its missing indicators are the ``IsNaN`` mask's columns, ``Cast`` to float and
  ``Concat``-ed last. One with categorical columns is refused: an ONNX input tensor holds
  one type, so text cannot come in beside numbers (one-hot them upstream instead);
- ``Dense`` is ``MatMul`` (+ ``Add`` for the bias) and then its activation;
- ``Maxout`` is ``MatMul`` + ``Add``, ``Reshape`` to ``(batch, units, pieces)`` and ``ReduceMax``
  over the pieces;
- ``Activation`` layers are their activation; ``Dropout`` is the identity at inference and
  is left out.

Activations map to ONNX operators with our parameters: ``Identity``, ``Relu``,
``LeakyRelu(alpha)``, ``Elu(alpha)``, ``Selu(alpha, gamma)`` with our constants, ``Sigmoid``,
``Tanh``, ``Softplus``, ``Softsign``, ``Softmax(axis=-1)``. ``Gelu`` is an operator only from
opset 20, so it is composed: ``0.5 x (1 + Erf(x / sqrt 2))``, or with ``Tanh`` for the
approximate form; SiLU is ``x * Sigmoid(x)``.

The graph is float32 whatever the model's dtype (float64 weights and statistics are rounded to
float32): float32 is the type ONNX runtimes implement for every operator used. The default
opset is :data:`OPSET` (17), written into the model's ``opset_import``; opsets 13 and later
are accepted (13 is the first whose ``Softmax`` normalises one axis only).
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np

from . import activations as act
from ._version import __version__
from .data import preprocessing as prep
from .errors import FeedforwardError, check_number
from .layers import Activation, Dense, Dropout, Maxout

OPSET = 17
MIN_OPSET = 13
_REDUCE_AXES_AS_INPUT = 18  # from this opset on, ReduceMax / ReduceMean take axes as an input


def _import_onnx():
    try:
        import onnx
    except ImportError:
        raise FeedforwardError(
            "export_onnx: the onnx package is not installed; install it with "
            "pip install 'feedforward[onnx]'") from None
    return onnx


class _Graph:
    """Nodes and float32 initializers, with unique names, appended in order."""

    def __init__(self, onnx, opset):
        self.onnx, self.opset = onnx, opset
        self.nodes, self.initializers = [], []
        self._count = 0

    def _name(self, prefix):
        self._count += 1
        return f"{prefix}_{self._count}"

    def const(self, value, prefix="const", dtype=np.float32):
        name = self._name(prefix)
        array = np.asarray(value, dtype=dtype)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op, *inputs, **attrs):
        out = self._name(op.lower())
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), [out], **attrs))
        return out

    def reduce(self, op, x, axis, keepdims):
        if self.opset >= _REDUCE_AXES_AS_INPUT:
            return self.node(op, x, self.const([axis], "axes", np.int64), keepdims=keepdims)
        return self.node(op, x, axes=[axis], keepdims=keepdims)


# ---------------------------------------------------------------------------- activations
def _gelu(g, x, f):
    if f.approximate:  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.node("Mul", g.node("Mul", x, x), x)
        inner = g.node("Add", x, g.node("Mul", cube, g.const(0.044715)))
        cdf2 = g.node("Tanh", g.node("Mul", inner, g.const(math.sqrt(2 / math.pi))))
    else:  # 0.5 x (1 + erf(x / sqrt 2))
        cdf2 = g.node("Erf", g.node("Mul", x, g.const(1 / math.sqrt(2))))
    return g.node("Mul", g.node("Mul", x, g.node("Add", cdf2, g.const(1.0))), g.const(0.5))


_SIMPLE = {act.Linear: "Identity", act.ReLU: "Relu", act.Sigmoid: "Sigmoid", act.Tanh: "Tanh",
           act.Softplus: "Softplus", act.Softsign: "Softsign"}


def _activation(g, x, f):
    """Nodes computing ``f(x)``; returns the output's name."""
    kind = type(f)
    if kind in _SIMPLE:
        return g.node(_SIMPLE[kind], x)
    if kind is act.LeakyReLU:
        return g.node("LeakyRelu", x, alpha=f.alpha)
    if kind is act.ELU:
        return g.node("Elu", x, alpha=f.alpha)
    if kind is act.SELU:
        return g.node("Selu", x, alpha=f.alpha, gamma=f.scale)
    if kind is act.Softmax:
        return g.node("Softmax", x, axis=-1)
    if kind is act.SiLU:
        return g.node("Mul", x, g.node("Sigmoid", x))
    if kind is act.GELU:
        return _gelu(g, x, f)
    raise FeedforwardError(f"export_onnx: activation {f.name!r} ({kind.__name__}) has no ONNX "
                           "translation")


# ---------------------------------------------------------------------------- layers
def _affine(g, x, layer):
    z = g.node("MatMul", x, g.const(layer.params["kernel"], "kernel"))
    if layer.use_bias:
        z = g.node("Add", z, g.const(layer.params["bias"], "bias"))
    return z


def _layer(g, x, layer, index):
    if isinstance(layer, Dense):
        return _activation(g, _affine(g, x, layer), layer.activation)
    if isinstance(layer, Maxout):
        shape = g.const([-1, layer.units, layer.pieces], "shape", np.int64)
        z = g.node("Reshape", _affine(g, x, layer), shape)
        return g.reduce("ReduceMax", z, axis=2, keepdims=0)
    if isinstance(layer, Activation):
        return _activation(g, x, layer.activation)
    if isinstance(layer, Dropout):  # the identity at inference
        return x
    raise FeedforwardError(f"export_onnx: layer {index} ({type(layer).__name__}) has no ONNX "
                           "translation")


# ---------------------------------------------------------------------------- preprocessing
def _preprocessor(g, x, p, features, index):
    """Nodes applying the fitted ``p`` to rows of ``features`` values."""
    what = f"preprocessing[{index}] ({type(p).__name__})"
    if not p.fitted:
        raise FeedforwardError(f"export_onnx: {what} is not fitted; fit the model first")
    if isinstance(p, prep.StandardScaler):
        _warn_rounding(what, np.abs(p.mean_.reshape(-1)) / p.scale_.reshape(-1))
        x = g.node("Sub", x, g.const(p.mean_.reshape(-1), "mean"))
        return g.node("Div", x, g.const(p.scale_.reshape(-1), "scale"))
    if isinstance(p, prep.MinMaxScaler):  # inputs from -offset to 1 - offset, in ranges
        offset = p.offset_.reshape(-1)
        _warn_rounding(what, np.maximum(np.abs(offset), np.abs(offset - 1)))
        x = g.node("Mul", x, g.const(p.scale_.reshape(-1), "scale"))
        return g.node("Add", x, g.const(p.offset_.reshape(-1), "offset"))
    if getattr(p, "takes_rows", False):
        return _table_encoder(g, x, p, what)
    if isinstance(p, prep.ImageMeanSubtraction):
        if p.mode == "image":
            return g.node("Sub", x, g.reduce("ReduceMean", x, axis=1, keepdims=1))
        mean = p.mean_.reshape(-1)
        if p.mode == "channel":  # rows are channels-last pixels: the means repeat per pixel
            mean = np.tile(mean, features // mean.size)
        return g.node("Sub", x, g.const(mean, "mean"))
    raise FeedforwardError(f"export_onnx: {what} transforms no input features and has no ONNX "
                           "translation")


ROUNDING_WARN = 1e-4
"""The float32 input's rounding, in units of a feature's spread, above which the export warns."""


def _warn_rounding(what, ratio):
    """Warn of features whose values are large against their spread (timestamps, say): the
    graph's float32 input rounds them by ``ratio * 2**-24`` spreads before the scaler, where
    ``predict`` scales the float64 input first."""
    error = np.asarray(ratio, dtype=np.float64) * 2.0**-24
    bad = np.flatnonzero(~(error <= ROUNDING_WARN))  # NaN counts as bad
    if bad.size:
        warnings.warn(
            f"export_onnx: {what}: feature(s) {', '.join(map(str, bad[:5]))} are large against "
            f"their spread (e.g. {error[bad[0]] / 2.0**-24:.3g} spreads from zero), so the "
            f"graph's float32 input rounds them by up to {error[bad].max():.2g} of a spread "
            "before scaling, and its outputs may differ from predict's; subtract an offset "
            "from those columns (e.g. a start time) before training", stacklevel=5)


def _table_encoder(g, x, p, what):
    """A numeric TableEncoder: NaN filled (``IsNaN`` + ``Where``), then the indicators."""
    if p.categorical_columns:
        raise FeedforwardError(
            f"export_onnx: {what} has categorical columns "
            f"({', '.join(map(repr, p.categorical_columns[:5]))}): an ONNX input tensor holds "
            "one type, so their text cannot come in beside the numbers; export a model trained "
            "on numeric inputs instead: encode the categories as a separate step before the "
            "model (a TableEncoder fitted on its own, or any one-hot encoder), fit the model "
            "on the encoded columns, and run that step before the ONNX graph")
    fill = p.learned["fill"]
    mask = g.node("IsNaN", x)
    if all(v is not None for v in fill):  # impute "none" leaves NaN as it is (refused in Python)
        x = g.node("Where", mask, g.const(np.array(fill, dtype=np.float64), "fill"), x)
    if not p.learned["indicators"]:
        return x
    flags = g.node("Cast", mask, to=g.onnx.TensorProto.FLOAT)
    index = g.const(p.learned["indicators"], "indicators", np.int64)
    flags = g.node("Gather", flags, index, axis=1)
    return g.node("Concat", x, flags, axis=1)


# ---------------------------------------------------------------------------- export
def to_onnx(model, opset=OPSET):
    """The ``onnx.ModelProto`` of a built ``model``; see :func:`export_onnx`.

    Parameters
    ----------
    model : Sequential
        A built model; its preprocessing must be fitted.
    opset : int
        The ONNX opset (default 17); at least 13 and at most what the installed ``onnx``
        supports.

    Returns
    -------
    onnx.ModelProto
        The checked graph, not written to a file.
    """
    onnx = _import_onnx()
    opset = int(check_number(opset, "opset", low=MIN_OPSET, high=onnx.defs.onnx_opset_version(),
                             integer=True))
    if not model.built:
        raise FeedforwardError("export_onnx: the model is not built yet; call build(input_dim) "
                               "or fit")
    g = _Graph(onnx, opset)
    x = "input"
    for i, p in enumerate(model.preprocessing):
        x = _preprocessor(g, x, p, model.input_dim, i)
    for i, layer in enumerate(model.layers):
        x = _layer(g, x, layer, i)
    g.nodes.append(onnx.helper.make_node("Identity", [x], ["output"]))
    float32 = onnx.TensorProto.FLOAT
    graph = onnx.helper.make_graph(
        g.nodes, "feedforward_sequential",
        [onnx.helper.make_tensor_value_info("input", float32, ["batch", model.raw_input_dim])],
        [onnx.helper.make_tensor_value_info("output", float32,
                                            ["batch", *model.output_shape[1:]])],
        initializer=g.initializers)
    proto = onnx.helper.make_model(
        graph, opset_imports=[onnx.helper.make_opsetid("", opset)], producer_name="feedforward",
        producer_version=__version__,
        doc_string=f"feedforward Sequential, float32, opset {opset}")
    props = {key: json.dumps(value, default=str) for key, value in
             (("classes", model.classes), ("feature_names", model.feature_names))
             if value is not None}
    if props:  # what a consumer needs to give the columns in order and to read the output
        onnx.helper.set_model_props(proto, props)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export_onnx(model, path, opset=OPSET):
    """Write ``model`` as an ONNX file that computes ``model.predict`` on raw inputs.

    Parameters
    ----------
    model : Sequential
        A built model; its preprocessing must be fitted.
    path : str or path-like
        The ``.onnx`` file to write.
    opset : int
        The ONNX opset (default 17); at least 13 and at most what the installed ``onnx``
        supports.

    Returns
    -------
    onnx.ModelProto
        The graph written: input ``input`` of shape ``(batch, features)``, output ``output``
        of shape ``(batch, outputs)``, float32, checked by ``onnx.checker.check_model``.
        The class names and the feature names, when the model has them, are the JSON
        metadata entries ``classes`` and ``feature_names``.
    """
    onnx = _import_onnx()
    proto = to_onnx(model, opset)
    try:
        onnx.save_model(proto, str(path))
    except OSError as e:
        raise FeedforwardError(f"path: could not write {str(path)!r} ({e})") from None
    return proto
