"""Gradient checking by central differences, in float64."""

from __future__ import annotations

import numpy as np

from .. import layers as layers_mod
from ..errors import FeedforwardError
from ..model import Sequential


def numerical_gradient(f, x: np.ndarray, epsilon: float = 1e-6) -> np.ndarray:
    """dF/dx of a scalar function ``f`` by central differences: (f(x + e) - f(x - e)) / 2e.

    ``x`` is perturbed in place, one element at a time, and restored.

    Parameters
    ----------
    f : callable
        ``f() -> float``, a function of the current values of ``x``, called without arguments.
    x : ndarray
        The array ``f`` reads, any shape; left unchanged.
    epsilon : float
        The step ``e`` (default 1e-6).

    Returns
    -------
    ndarray
        The derivative dF/dx in float64, of the shape of ``x``.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    flat, g = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + epsilon
        plus = f()
        flat[i] = old - epsilon
        minus = f()
        flat[i] = old
        g[i] = (plus - minus) / (2 * epsilon)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / (||a|| + ||b||), 0 when both vanish.

    Parameters
    ----------
    a, b : ndarray
        Arrays of one shape, e.g. two gradients.

    Returns
    -------
    float
        The relative error, in [0, 1].
    """
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / denom) if denom > 0 else 0.0


def float64_copy(model) -> Sequential:
    """A float64 copy of a compiled, built ``model``: its layers, weights and loss, no metrics.

    Central differences need float64: a float32 loss resolves no step small enough to
    approximate a derivative. Each layer keeps its own class, a subclass of a built-in layer
    included. The copy shares ``model``'s optimizer and loss objects, which it
    only reads (it is never stepped).

    Parameters
    ----------
    model : Sequential
        A compiled, built model; left unchanged.

    Returns
    -------
    Sequential
        The copy, compiled, with the weights of ``model`` in float64.
    """
    config = model.get_config()
    # the layers are added one by one: the class names wait for the last (output) layer
    clone = Sequential.from_config({**config, "layers": [], "classes": None}, dtype="float64")
    for layer, layer_config in zip(model.layers, config["layers"], strict=True):
        clone.add(_same_class(layer, layer_config))
    clone.classes = model.classes
    if model.built:
        clone.build(model.input_dim)
    clone.set_weights(model.get_weights())
    clone.compile(model.optimizer, model.loss, [])
    return clone


def _same_class(layer, layer_config):
    """A new layer of ``layer``'s own class and settings: a subclass of a built-in layer is
    serialized under its parent's name, and rebuilt by name it would lose the very
    derivative the check is for. A class whose constructor does not take its parent's
    settings falls back to the registry's (the parent's) class."""
    try:
        return type(layer)(**layer_config["config"])
    except TypeError:
        return layers_mod.deserialize(layer_config)


def gradient_check(model, x, y, epsilon: float = 1e-6, training: bool = False) -> float:
    """Compare backpropagation with central differences on a float64 copy of ``model``.

    The loss is the compiled loss plus regularization penalties. With ``training=True``,
    dropout is active with one fixed mask: the dropout stream is rewound before every
    evaluation.

    Parameters
    ----------
    model : Sequential
        A compiled model, built from ``x`` if it is not yet; its weights are not changed.
    x : array of shape (n, features)
        Raw inputs (preprocessed as ``fit`` does); keep ``n`` small, as each parameter costs
        two evaluations of the loss.
    y : ndarray
        Targets, e.g. of shape (n,) or (n, outputs).
    epsilon : float
        The step of the central differences (default 1e-6).
    training : bool
        Evaluate in training mode, dropout included (default False).

    Returns
    -------
    float
        The largest relative error ``||g_backprop - g_numeric|| / (||g_backprop|| + ||g_numeric||)``
        over the model's parameter arrays. Below 1e-6 means the gradients agree.
    """
    model.require_compiled("gradient_check")
    if not model.built:  # built from the data, as fit and predict would
        model.prepare_x(x)
    clone = float64_copy(model)
    x, y = clone.prepare_xy(x, y)
    rng = clone.rngs["dropout"]
    state = rng.bit_generator.state

    def loss(with_grads=False):
        rng.bit_generator.state = state
        if with_grads:
            return clone.compute_gradients(x, y, training)[0]
        return clone.loss_value(x, y, training)

    loss(with_grads=True)
    analytic = clone.grads.copy()
    numeric = numerical_gradient(loss, clone.params, epsilon)
    if not np.all(np.isfinite(numeric)):
        raise FeedforwardError("gradient_check: the loss is not finite at these weights")
    errors, offset = [], 0
    for p in clone.param_arrays():
        s = slice(offset, offset + p.size)
        errors.append(relative_error(analytic[s], numeric[s]))
        offset += p.size
    return max(errors) if errors else 0.0
