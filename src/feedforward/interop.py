"""Hand-off to and from PyTorch: :func:`to_torch` and :func:`from_torch`.

Both sides have: ``Dense`` as ``torch.nn.Linear`` (``weight = kernel.T``) followed by its
activation's module, ``Activation`` as that module alone, ``Dropout(rate)`` as
``torch.nn.Dropout(p)``, and the activations

=====================  ===============================================
feedforward            torch.nn
=====================  ===============================================
linear                 Identity
relu                   ReLU
leaky_relu(alpha)      LeakyReLU(negative_slope=alpha)
elu(alpha)             ELU(alpha)
selu                   SELU
gelu(approximate)      GELU(approximate="none" or "tanh")
silu                   SiLU
softplus               Softplus(beta=1, threshold=20)
softsign               Softsign
sigmoid                Sigmoid
tanh                   Tanh
softmax                Softmax(dim=-1)
=====================  ===============================================

``Maxout`` has no torch module. torch's ``Softplus`` returns ``x`` itself above its
``threshold`` (20), where ``log(1 + e^x)`` differs from ``x`` by less than ``e^-20 = 2.1e-9``;
``from_torch`` accepts thresholds of 20 or more only.

Preprocessing is not part of a ``torch.nn.Sequential``: :func:`to_torch` refuses a model with
preprocessing unless ``include_preprocessing=False``, and then the torch network expects
inputs already transformed (``p.transform(x)`` for each ``p`` in ``model.preprocessing``).
torch is imported on first use; it is in the ``dev`` extra only.
"""

from __future__ import annotations

from . import activations as act
from .errors import FeedforwardError, describe
from .layers import Activation, Dense, Dropout
from .model import Sequential

_SOFTPLUS_THRESHOLD = 20.0
_DTYPES = ("float32", "float64")


def _import_torch():
    try:
        import torch
    except ImportError:
        raise FeedforwardError("interop: torch is not installed; install it with "
                               "pip install torch") from None
    return torch


# ---------------------------------------------------------------------------- to torch
def _torch_activation(nn, f):
    """The torch module computing activation ``f``."""
    simple = {act.Linear: nn.Identity, act.ReLU: nn.ReLU, act.SELU: nn.SELU, act.SiLU: nn.SiLU,
              act.Softsign: nn.Softsign, act.Sigmoid: nn.Sigmoid, act.Tanh: nn.Tanh}
    kind = type(f)
    if kind in simple:
        return simple[kind]()
    if kind is act.LeakyReLU:
        return nn.LeakyReLU(negative_slope=f.alpha)
    if kind is act.ELU:
        return nn.ELU(alpha=f.alpha)
    if kind is act.GELU:
        return nn.GELU(approximate="tanh" if f.approximate else "none")
    if kind is act.Softplus:
        return nn.Softplus(beta=1.0, threshold=_SOFTPLUS_THRESHOLD)
    if kind is act.Softmax:
        return nn.Softmax(dim=-1)
    raise FeedforwardError(f"to_torch: activation {f.name!r} ({kind.__name__}) has no torch "
                           "module")


def _linear(torch, layer, dtype):
    kernel = layer.params["kernel"]
    linear = torch.nn.Linear(*kernel.shape, bias=layer.use_bias, dtype=dtype)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(kernel.T.copy()))
        if layer.use_bias:
            linear.bias.copy_(torch.from_numpy(layer.params["bias"].copy()))
    return linear


def to_torch(model, include_preprocessing=True):
    """A ``torch.nn.Sequential`` computing the same function as the built ``model``.

    Parameters
    ----------
    model : Sequential
        A built model of Dense, Activation and Dropout layers.
    include_preprocessing : bool
        torch has no module for our preprocessing, so with True (the default) a model with
        preprocessing raises :class:`FeedforwardError`. With False it is left out: apply
        ``model.preprocessing`` to the inputs before the torch network.

    Returns
    -------
    torch.nn.Sequential
        In the model's dtype; maps inputs ``(n, features)`` to ``(n, outputs)``. A Dense layer
        becomes ``Linear`` followed by its activation's module (none for linear). In eval
        mode, so that it computes ``model.predict`` (Dropout off); call ``.train()`` on it to
        train it.
    """
    torch = _import_torch()
    if not model.built:
        raise FeedforwardError("to_torch: the model is not built yet; call build(input_dim) "
                               "or fit")
    if model.preprocessing and include_preprocessing:
        names = ", ".join(type(p).__name__ for p in model.preprocessing)
        raise FeedforwardError(
            f"to_torch: the model has preprocessing ({names}), which torch.nn.Sequential cannot "
            "hold; pass include_preprocessing=False and apply model.preprocessing to the inputs "
            "yourself")
    dtype = getattr(torch, model.dtype.name)
    modules = []
    for i, layer in enumerate(model.layers):
        if isinstance(layer, Dense):
            modules.append(_linear(torch, layer, dtype))
            if not isinstance(layer.activation, act.Linear):
                modules.append(_torch_activation(torch.nn, layer.activation))
        elif isinstance(layer, Activation):
            modules.append(_torch_activation(torch.nn, layer.activation))
        elif isinstance(layer, Dropout):
            modules.append(torch.nn.Dropout(p=layer.rate))
        else:
            raise FeedforwardError(f"to_torch: layer {i} ({type(layer).__name__}) has no "
                                   "torch.nn equivalent")
    return torch.nn.Sequential(*modules).eval()  # torch's default, train mode, drops inputs


# ---------------------------------------------------------------------------- from torch
def _our_activation(nn, module, index):
    """Our activation for the torch ``module``, or None if it is not an activation."""
    simple = {nn.Identity: act.Linear, nn.ReLU: act.ReLU, nn.SELU: act.SELU, nn.SiLU: act.SiLU,
              nn.Softsign: act.Softsign, nn.Sigmoid: act.Sigmoid, nn.Tanh: act.Tanh}
    kind = type(module)
    if kind in simple:
        return simple[kind]()
    if kind is nn.LeakyReLU:
        return act.LeakyReLU(module.negative_slope)
    if kind is nn.ELU:
        return act.ELU(module.alpha)
    if kind is nn.GELU:
        return act.GELU(approximate=module.approximate == "tanh")
    if kind is nn.Softplus:
        if module.beta != 1 or module.threshold < _SOFTPLUS_THRESHOLD:
            raise FeedforwardError(
                f"from_torch: module {index} ({module!r}): expected beta=1 and threshold >= "
                f"{_SOFTPLUS_THRESHOLD:g}, got beta={module.beta}, threshold={module.threshold}")
        return act.Softplus()
    if kind is nn.Softmax:
        if module.dim not in (-1, 1):
            raise FeedforwardError(f"from_torch: module {index} ({module!r}): expected dim=-1 "
                                   f"(the features), got dim={module.dim}")
        return act.Softmax()
    return None


def _weights(linear):
    weights = [linear.weight.detach().cpu().numpy().T]
    if linear.bias is not None:
        weights.append(linear.bias.detach().cpu().numpy())
    return weights


def from_torch(seq):
    """A built :class:`Sequential` computing the same function as ``seq``.

    Parameters
    ----------
    seq : torch.nn.Sequential
        ``Linear``, ``Dropout`` and the activation modules of this module's table, with at least
        one ``Linear``. A ``Linear`` followed by an activation module other than ``Identity``
        becomes one ``Dense`` layer with that activation; other activation modules become
        ``Activation`` layers.

    Returns
    -------
    Sequential
        In the dtype of the first ``Linear``'s weight (float32 or float64), with input_dim its
        ``in_features`` and no preprocessing.
    """
    torch = _import_torch()
    nn = torch.nn
    if not isinstance(seq, nn.Sequential):
        raise FeedforwardError(f"seq: expected a torch.nn.Sequential, got {describe(seq)}")
    modules = list(seq)
    linears = [m for m in modules if isinstance(m, nn.Linear)]
    if not linears:
        raise FeedforwardError("seq: expected at least one torch.nn.Linear, got none")
    dtype = str(linears[0].weight.dtype).removeprefix("torch.")
    if dtype not in _DTYPES:
        raise FeedforwardError(f"seq: expected float32 or float64 weights, got {dtype}")
    layers, weights, i = [], [], 0
    while i < len(modules):
        module = modules[i]
        if type(module) is nn.Linear:
            following = modules[i + 1] if i + 1 < len(modules) else None
            f = _our_activation(nn, following, i + 1) if following is not None else None
            if isinstance(f, act.Linear):  # to_torch writes an Identity only for a layer
                f = None
            layers.append(Dense(module.out_features, activation=f,
                                use_bias=module.bias is not None))
            weights += _weights(module)
            i += 2 if f is not None else 1
            continue
        if type(module) is nn.Dropout:
            layers.append(Dropout(module.p))
        else:
            f = _our_activation(nn, module, i)
            if f is None:
                raise FeedforwardError(f"from_torch: module {i} ({type(module).__name__}) has "
                                       "no feedforward equivalent")
            layers.append(Activation(f))
        i += 1
    model = Sequential(layers, input_dim=linears[0].in_features, dtype=dtype)
    model.set_weights(weights)
    return model
