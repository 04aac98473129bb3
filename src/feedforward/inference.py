"""The inference plan: ``predict``'s forward pass with every per-call look-up done once.

A :class:`Plan` holds, for one row count, each layer's step with its weights and its work
arrays already found, so that a one-row ``predict`` spends its time in the matrix products and
not in Python. It runs the very operations of the layers' ``forward`` in inference mode (the
same ``np.matmul`` into a work array, the same bias and activation loop of
:mod:`feedforward.kernels`), so its outputs equal ``Network.forward``'s to the last bit.

A plan is valid for the model it was made from while the model keeps its flat parameter buffer,
its layers and their activations: training, ``set_weights`` and the optimizer write into that
buffer in place, and the plan reads the weights from it at every call. Building, ``add``,
``pop`` and loading make a new buffer; :meth:`Plan.fits` sees that and the model makes a new
plan.

A model's plans and its layers' work arrays are shared by every call, so the calls of one
model run one at a time: :func:`lock` gives the lock that ``predict`` and ``evaluate`` hold.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

from . import activations, kernels
from .layers import Dense

MAX_ROWS = 64
"""Plans are made for calls of at most this many rows; larger ones are bound by their products,
and their work arrays come from the layers' own bounded store."""
MAX_PLANS = 4
"""Plans kept per model, for as many row counts: the memory of the plans stays below
``MAX_PLANS * MAX_ROWS`` rows of every layer's outputs, twice."""
_SOFTMAX = activations.Softmax.__call__  # the one that takes out=


class _ByIdentity:
    """A map from live objects to values, by identity (a model class that defines ``__eq__``
    is unhashable, and two equal models must not share plans); an entry goes with its object."""

    def __init__(self):
        self._items: dict[int, tuple] = {}

    def get(self, key, default=None):
        item = self._items.get(id(key))
        return item[1] if item is not None and item[0]() is key else default

    def __setitem__(self, key, value):
        ident, items = id(key), self._items
        items[ident] = (weakref.ref(key, lambda _, ident=ident: items.pop(ident, None)), value)


_PLANS = _ByIdentity()  # model -> {rows: Plan}
_LOCKS = _ByIdentity()  # model -> RLock
_MAKING = threading.Lock()  # two threads asking at once for a model's first lock get one


def lock(model) -> threading.RLock:
    """The lock of ``model``'s inference: held, its plans and work arrays are the caller's.

    Kept beside the model, not in it (a model pickles and copies without it); reentrant, so
    that a layer or callback calling ``predict`` inside ``predict`` does not wait on itself.
    One lock costs about a tenth of a microsecond a call, against microseconds for a per-thread
    copy of the plans and no protection for the layers' own work arrays.

    Parameters
    ----------
    model : Network
        Any model.

    Returns
    -------
    threading.RLock
    """
    found = _LOCKS.get(model)
    if found is None:
        with _MAKING:
            found = _LOCKS.get(model)
            if found is None:
                found = _LOCKS[model] = threading.RLock()
    return found


def plan_count(model) -> int:
    """The number of plans kept for ``model`` (at most :data:`MAX_PLANS`).

    Parameters
    ----------
    model : Network
        Any model.

    Returns
    -------
    int
    """
    return len(_PLANS.get(model, ()))


def outputs(model, x: np.ndarray) -> np.ndarray:
    """The model's inference outputs for prepared inputs, through a plan where one pays.

    Parameters
    ----------
    model : Network
        A built model; its plans are kept beside it, not in it (a model pickles without them).
    x : ndarray of shape (n, features)
        C-contiguous, of the model's dtype, finite (see ``Inputs.ready_inputs``).

    Returns
    -------
    ndarray of shape (n, outputs)
        A new array, equal bit for bit to ``model.forward(x).copy()``.
    """
    rows = len(x)
    if rows > MAX_ROWS:
        return model.forward(x, training=False).copy()
    plans = _PLANS.get(model)
    if plans is None:
        plans = _PLANS[model] = {}
    plan = plans.get(rows)
    if plan is None or not plan.fits(model, rows):
        if len(plans) >= MAX_PLANS:
            plans.clear()
        plan = plans[rows] = Plan(model, rows)
    return plan.run(x).copy()


class Plan:
    """The forward pass of a model's layers on ``rows`` rows, in inference mode.

    Parameters
    ----------
    model : Network
        A built model.
    rows : int
        The number of rows of every call.

    Attributes
    ----------
    rows : int
        As given.
    """

    def __init__(self, model, rows: int):
        self.rows, self.params = rows, model.params
        self.layers = list(model.layers)
        self.activations = [layer.activation for layer in self.layers]
        self.weights = [list(layer.params.values()) for layer in self.layers]
        self.steps = [_step(layer, rows) for layer in self.layers]

    def fits(self, model, rows: int) -> bool:
        """Whether this plan computes ``model``'s outputs on ``rows`` rows now.

        Parameters
        ----------
        model : Network
            The model asking.
        rows : int
            The number of rows of the call.

        Returns
        -------
        bool
            False after the model's parameters were reallocated (build, add, pop, load), its
            layers, their activations or their weight arrays replaced, or for another row
            count.
        """
        layers = model.layers
        return (rows == self.rows and model.params is self.params
                and len(layers) == len(self.layers)
                and all(now is then and now.activation is a for now, then, a
                        in zip(layers, self.layers, self.activations, strict=True))
                and all(p is q for layer, kept in zip(layers, self.weights, strict=True)
                        for p, q in zip(layer.params.values(), kept, strict=True)))

    def run(self, x: np.ndarray) -> np.ndarray:
        """The last layer's outputs for prepared inputs of ``rows`` rows.

        Parameters
        ----------
        x : ndarray of shape (rows, features)
            C-contiguous, of the model's dtype (see ``Inputs.ready_inputs``).

        Returns
        -------
        ndarray of shape (rows, outputs)
            A work array of the plan or of the last layer, overwritten by the next call.
        """
        for step in self.steps:
            x = step(x)
        return x


def _step(layer, rows):
    """A function of the layer's input doing its inference ``forward``: for a Dense layer the
    product and the bias and activation pass into its work arrays, found now; for any other
    layer its own ``forward``."""
    if type(layer) is not Dense:
        return lambda x: layer.forward(x, False)
    kernel, bias, activation = layer.params["kernel"], layer.params.get("bias"), layer.activation
    code = activations.kernel_code(activation)
    z = np.empty((rows, layer.units), layer.dtype)
    y = z if code in (None, 0) else np.empty_like(z)
    matmul, bias_activation = np.matmul, kernels.bias_activation
    if type(activation).__call__ is _SOFTMAX:  # its passes into z, without new arrays
        linear = activations.Linear()

        def softmax_step(x):
            return activation(bias_activation(matmul(x, kernel, out=z), bias, linear, z, 0),
                              out=z)
        return softmax_step

    def step(x):
        return bias_activation(matmul(x, kernel, out=z), bias, activation, y, code)
    return step
