"""Fused optimizer kernels: one pass over the flat buffers instead of a dozen NumPy passes.

An update rule written with NumPy ufuncs reads and writes every parameter-sized array once per
operation: Adam is 13 passes over ``params``, ``grads`` and its two slots. The same arithmetic,
compiled from ``_kernels.c`` when the package is installed, runs as one loop that touches each
element once, in the same order of float operations (no fast-math, no fused multiply-add), so
both paths give identical results, except that the loops flush subnormal numbers (below
1.2e-38 in float32) to zero, where an operation would cost a hundred cycles on Intel CPUs. On
MNIST's 784-512-256-10 network it makes an Adam step about five times faster (see
``benchmarks/README.md``).

The layers use two more of its loops: a Dense layer's bias and ReLU (or linear, or leaky ReLU)
in one pass after its matrix product (:func:`bias_activation`), and the ReLU's backward with the
bias gradient in one pass (:func:`relu_backward`), both into the layers' work arrays instead of
new temporaries. They too give NumPy's results to the last bit (subnormals included).

The compiled module is optional: where it could not be built (no C compiler at install time),
or with ``FEEDFORWARD_KERNELS=numpy`` in the environment, or after ``use(False)``, the
optimizers and layers run their NumPy code. The loops run on the calling thread, without the GIL.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["available", "enabled", "use", "fits", "run", "bias_activation", "relu_backward",
           "softmax", "all_finite"]

try:  # built by setup.py when a C compiler was found; a broken build counts as absent
    from . import _kernels
except ImportError:
    _kernels = None
_available = _kernels is not None
_enabled = _available and os.environ.get("FEEDFORWARD_KERNELS", "").lower() != "numpy"
_functions: dict = {}  # (rule, dtype) -> the ctypes function, its argument types set


def available() -> bool:
    """Whether the compiled kernels were built with this installation.

    Returns
    -------
    bool
    """
    return _available


def enabled() -> bool:
    """Whether the optimizers use the fused kernels now.

    Returns
    -------
    bool
    """
    return _enabled


def use(flag: bool) -> bool:
    """Turn the fused kernels on or off for this process; returns the previous setting.

    Parameters
    ----------
    flag : bool
        True to use the compiled kernels, False for the NumPy code.

    Returns
    -------
    bool
        The setting before this call.
    """
    global _enabled
    from .errors import FeedforwardError

    if flag and not _available:
        raise FeedforwardError("use: the compiled kernels were not built with this "
                               "installation (reinstall with a C compiler present)")
    previous, _enabled = _enabled, bool(flag)
    return previous


def fits(*arrays) -> bool:
    """Whether the kernels take these arrays now: enabled, one float dtype, C-contiguous, one size.

    Parameters
    ----------
    *arrays : ndarray
        The parameters, the gradients and the slots of one update.

    Returns
    -------
    bool
    """
    if not _enabled:
        return False
    first = arrays[0]
    dtype, size = first.dtype, first.size
    for a in arrays:
        flags = a.flags
        if (a.dtype != dtype or a.size != size
                or not (flags.c_contiguous and flags.aligned and flags.writeable)):
            return False
    # the loops promise the compiler that the weights and the gradients do not overlap
    return (size > 0 and (dtype == np.float32 or dtype == np.float64)
            and not np.may_share_memory(first, arrays[1]))


def run(rule, arrays, scalars):
    """Run the compiled ``rule`` over ``arrays``, in place.

    Parameters
    ----------
    rule : str
        The rule's name in ``_kernels.c``: ``"adam"``, ``"sgd"``, ...
    arrays : sequence of ndarray
        The parameters first, then the gradients and the slots, as :func:`fits` accepts them.
    scalars : sequence of float or bool
        The rule's coefficients; floats are rounded to the arrays' dtype, as NumPy rounds a
        Python float against a float32 array.
    """
    p = arrays[0]
    f = _functions.get((rule, p.dtype)) or _function(rule, p.dtype, arrays, scalars)
    f(p.size, *[_address(a) for a in arrays], *scalars)


def _address(a):
    """The address of the first element: ``a.ctypes.data``, four times faster (a step of a small
    model passes five arrays, and ``ctypes.data`` cost more than the loop itself)."""
    return _addressof(_char.from_buffer(a))


def _function(rule, dtype, arrays, scalars):
    """The C function ``ff_<rule>_f32`` (or ``_f64``), its argument types set from a first call."""
    global _addressof, _char
    import ctypes

    _addressof, _char = ctypes.addressof, ctypes.c_char

    f = getattr(ctypes.CDLL(_kernels.__file__), f"ff_{rule}_f{dtype.itemsize * 8}")
    real = ctypes.c_float if dtype == np.float32 else ctypes.c_double
    f.argtypes = [ctypes.c_ssize_t, *[ctypes.c_void_p] * len(arrays),
                  *[ctypes.c_int if isinstance(s, bool) else real for s in scalars]]
    f.restype = None
    _functions[(rule, dtype)] = f
    return f


def bias_activation(z, bias, activation, y, code=None):
    """``z += bias``, then ``y = activation(z)``: one pass where the loops take it.

    Parameters
    ----------
    z : ndarray of shape (n, units)
        The product ``x @ kernel``, C-contiguous; it holds ``z + bias`` afterwards.
    bias : ndarray of shape (units,) or None
        Added to every row; None adds nothing.
    activation : feedforward.activations.Activation
        Applied as its own code after the bias, unless ``code`` is given.
    y : ndarray of shape (n, units)
        Where a fused activation writes (may be ``z``).
    code : int, optional
        ``activations.kernel_code(activation)``: the compiled loop applies it (linear, ReLU,
        leaky ReLU) in the bias's pass, when the loops are enabled.

    Returns
    -------
    ndarray of shape (n, units)
        ``y``, or the NumPy activation's new array.
    """
    if _enabled:
        if code is not None:
            _kernels.bias_act(z, bias, y, z.shape[-1], code, getattr(activation, "alpha", 0.0))
            return y
        if bias is not None:  # the loop's bias alone: cheaper to call than NumPy's add
            _kernels.bias_act(z, bias, z, z.shape[-1], 0, 0.0)
        return activation(z)
    if bias is not None:
        z += bias
    return activation(z)


def relu_backward(grad_y, y, out, bias_grad=None) -> bool:
    """``out = grad_y * (y > 0)``, and ``bias_grad = out.sum(axis=0)`` in the same pass; with the
    loops only.

    Parameters
    ----------
    grad_y : ndarray of shape (n, units)
        dL/dy.
    y : ndarray of shape (n, units)
        The ReLU's outputs, C-contiguous.
    out : ndarray of shape (n, units)
        dL/dz, written.
    bias_grad : ndarray of shape (units,), optional
        Written with the column sums of ``out``; only for two units or more (NumPy sums a single
        column pairwise, not row after row). NumPy's bits, except that a sum meeting NaN or
        ``inf - inf`` may carry the other NaN sign.

    Returns
    -------
    bool
        False, having written nothing, where the loops are off or do not take the arrays: the
        caller then runs its NumPy code.
    """
    if not (_enabled and grad_y.dtype == y.dtype and grad_y.flags.c_contiguous
            and grad_y.flags.aligned):
        return False
    if bias_grad is not None and y.shape[-1] < 2:
        raise ValueError("relu_backward: a bias gradient needs two units or more")
    _kernels.relu_grad(grad_y, y, out, bias_grad, y.shape[-1])
    return True


def softmax(x, out=None):
    """``exp(x - max) / sum`` by rows, NumPy's exp between two compiled passes where the loops
    take ``x`` (2-D, C-contiguous), else five NumPy passes; the same bits either way (the
    row sums follow NumPy's pairwise order).

    Parameters
    ----------
    x : ndarray of shape (..., classes)
        The pre-activations.
    out : ndarray, optional
        Of the shape and dtype of ``x``, C-contiguous; may be ``x``.

    Returns
    -------
    ndarray
        The softmax of ``x`` over its last axis, in ``out`` when given.
    """
    if (_enabled and x.ndim == 2 and x.shape[1] and _plain(x) and x.dtype.kind == "f"
            and x.dtype.itemsize in (4, 8) and (out is None or _plain(out))):
        cols = x.shape[1]
        y = np.empty_like(x) if out is None else out
        _kernels.softmax(x, y, cols, 0)
        np.exp(y, out=y)
        _kernels.softmax(y, y, cols, 1)
        return y
    e = np.subtract(x, x.max(axis=-1, keepdims=True), out=out)  # shift: exp never overflows
    np.exp(e, out=e)
    return np.divide(e, e.sum(axis=-1, keepdims=True), out=e)


def _plain(a) -> bool:
    """C-contiguous and aligned, as the loops read memory (``np.frombuffer`` at an odd offset
    gives a contiguous array that is not aligned)."""
    flags = a.flags
    return flags.c_contiguous and flags.aligned


def all_finite(a) -> bool:
    """Whether a float array holds no NaN or inf, as ``np.isfinite(a).all()``; one pass without
    a temporary where the loops take it (C-contiguous, float32 or float64).

    Parameters
    ----------
    a : ndarray
        Any shape.

    Returns
    -------
    bool
    """
    if _enabled and _plain(a) and a.dtype.kind == "f" and a.dtype.itemsize in (4, 8):
        return _kernels.all_finite(a)
    return bool(np.isfinite(a).all())
