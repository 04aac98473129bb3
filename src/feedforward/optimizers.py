r"""Optimizers: one object per model, holding per-parameter state, updating in place.

``apply(params, grads)`` takes lists of arrays. The model passes its whole flat parameter and
gradient buffers, so one update touches every weight in one pass (a handful with NumPy), and
``segments`` (the sizes of the variables inside each flat array) for per-variable clipping.

One update, in order:

1. ``grads`` holds the loss gradient plus the regularizer gradients (done by the model);
2. clipping: ``clipvalue`` (element-wise), ``clipnorm`` (per variable), ``global_clipnorm``
   (all variables together), each as ``torch.nn.utils.clip_grad_*``: a gradient with norm
   :math:`\|g\|` is scaled by :math:`\min(1, c / (\|g\| + 10^{-6}))`;
3. the optimizer's own rule, including its weight decay;
4. with the learning rate of this step (a schedule is evaluated at the step count).

Each rule is written twice: the NumPy code of ``_update`` is the reference, and a C loop in
``_kernels.c`` (:mod:`feedforward.kernels`) repeats its float operations in one pass, bit for bit
(but for subnormal numbers, which the loop flushes to zero); ``apply`` takes the loop when the
arrays suit it (one float dtype, C-contiguous).

Numerics follow ``torch.optim`` 2.13 of the same name (trajectories agree to rounding), and so
do the default values, except SGD's ``learning_rate`` (0.01 as in Keras; torch's is 0.001);
argument names follow Keras. In the formulas, :math:`\gamma` is
``learning_rate``, :math:`g_t` the clipped gradient, :math:`\lambda` ``weight_decay``,
:math:`\epsilon` ``epsilon``, :math:`t` the 1-based step.
"""

from __future__ import annotations

import math

import numpy as np

from . import kernels
from ._registry import Configurable, Registry
from .errors import FeedforwardError, check_number, describe

_CLIP_EPS = 1e-6  # as torch.nn.utils.clip_grad_norm_



def _epsilon(value) -> float:
    """``epsilon`` checked: positive, for at 0 a weight whose gradient has been 0 so far
    divides 0 by 0 (NaN at the first step), which would pass for a too-high rate."""
    return float(check_number(value, "epsilon", low=0, low_open=True))

class Optimizer(Configurable):
    r"""Base class: learning rate (a float or a schedule ``step -> rate``), clipping, step counter
    and slots.

    ``slots`` maps a slot name to a list of arrays, one per parameter array given to ``apply``;
    model files store them as ``optimizer.<slot>.<i>``. ``state_scalars`` names float attributes
    that are state too (saved in the file's metadata).

    Parameters
    ----------
    learning_rate : float, callable, str or dict, default 0.001
        :math:`\gamma`, positive; or a schedule ``step -> rate`` (an object of
        :mod:`feedforward.schedules`, or its name or config), evaluated at every step.
    weight_decay : float, default 0.0
        :math:`\lambda`, non-negative; each optimizer applies it in its own rule.
    clipnorm : float, optional
        Scale each variable's gradient down to this L2 norm at most.
    clipvalue : float, optional
        Clip each gradient element to ``[-clipvalue, clipvalue]``.
    global_clipnorm : float, optional
        Scale all gradients together down to this joint L2 norm at most; excludes ``clipnorm``.
    """

    name = "optimizer"
    aliases: tuple[str, ...] = ()
    state_scalars: tuple[str, ...] = ()

    def __init__(self, learning_rate=0.001, weight_decay=0.0, clipnorm=None, clipvalue=None,
                 global_clipnorm=None):
        self.learning_rate = learning_rate
        if not callable(self.learning_rate):
            self.learning_rate = float(self.learning_rate)
        self.weight_decay = float(check_number(weight_decay, "weight_decay", low=0))
        for key, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                           ("global_clipnorm", global_clipnorm)):
            if value is not None:
                value = float(check_number(value, key, low=0, low_open=True))
            setattr(self, key, value)
        if clipnorm is not None and global_clipnorm is not None:
            raise FeedforwardError("clipnorm, global_clipnorm: set at most one of them")
        self.iterations = 0
        self.slots: dict[str, list[np.ndarray]] = {}
        self._scratch: dict = {}

    # -- configuration
    slot_names: tuple[str, ...] = ()

    @property
    def learning_rate(self):
        """The learning rate: a positive number, or a schedule ``step -> rate``.

        Assigning it changes the rate of the next steps and nothing else: the slots (e.g.
        Adam's moments) and ``iterations`` are kept, so a schedule goes on counting. A number
        assigned replaces a schedule; a name or config is resolved to a schedule.
        """
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, (str, dict)):  # a schedule by name or config
            from . import schedules

            try:
                value = schedules.get(value)
            except FeedforwardError as e:
                raise FeedforwardError(f"learning_rate: expected a positive number or a "
                                       f"schedule, got {value!r} ({e})") from None
        if not callable(value):  # kept as given (a NumPy scalar stays one)
            check_number(value, "learning_rate", low=0, low_open=True)
        self._learning_rate = value

    @property
    def lr(self) -> float:
        """The learning rate of the next step (a schedule is evaluated at ``iterations``)."""
        if callable(self.learning_rate):
            return float(self.learning_rate(self.iterations))
        return self.learning_rate

    def get_config(self):
        lr = self.learning_rate
        if callable(lr):
            if not hasattr(lr, "get_config"):
                raise FeedforwardError(
                    "learning_rate: a schedule without get_config cannot be saved, "
                    f"got {describe(lr)}")
            from . import schedules

            lr = schedules.serialize(lr)
        keys = (*self._config_keys, "weight_decay", "clipnorm", "clipvalue", "global_clipnorm")
        return {"learning_rate": lr, **{k: getattr(self, k) for k in keys}}

    # -- state
    def build(self, params):
        """Create the slots for these parameter arrays (zeros, as in torch.optim).

        Parameters
        ----------
        params : list of ndarray
            The parameter arrays that ``apply`` will update, in the same order.
        """
        self.slots = {s: [np.zeros_like(p) for p in params] for s in self.slot_names}

    def get_state(self) -> dict:
        """The scalar training state: the step count and the ``state_scalars``.

        Returns
        -------
        dict
            ``{"iterations": int, name: float, ...}``, JSON-safe; the slots are not included.
        """
        return {"iterations": self.iterations, **{k: getattr(self, k) for k in self.state_scalars}}

    def set_state(self, state: dict):
        """Restore the scalar state written by ``get_state``.

        Parameters
        ----------
        state : dict
            ``{"iterations": int, name: float, ...}``; missing keys leave their values as they are
            (a missing step count means 0).
        """
        self.iterations = int(state.get("iterations", 0))
        for k in self.state_scalars:
            if k in state:
                setattr(self, k, float(state[k]))

    # -- the update
    def apply(self, params: list[np.ndarray], grads: list[np.ndarray], segments=None) -> None:
        """One step: update every array of ``params`` in place from ``grads``.

        ``segments[i]``, when given, lists the sizes of the variables that make up ``params[i]``
        (for per-variable ``clipnorm``); otherwise each array is one variable. ``grads`` may be
        modified in place by clipping.

        Parameters
        ----------
        params : list of ndarray
            The parameter arrays, updated in place.
        grads : list of ndarray
            The gradients, one per array of ``params`` and of the same shape.
        segments : list of sequence of int, optional
            For each array of ``params``, the sizes of the variables it concatenates.
        """
        if not self.slots and self.slot_names:
            self.build(params)
        self._clip(grads, segments)
        lr = self.lr
        self.iterations += 1
        self._begin_step(self.iterations)
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            if not self._fused(i, p, g, lr):
                self._update(i, p, g, lr)

    kernel: str | None = None  # the rule's name in _kernels.c, if it has a compiled loop

    def _fused(self, i, p, g, lr):
        """Run the compiled loop of this rule (:mod:`feedforward.kernels`) when there is one and
        the arrays suit it; True if it ran, False to fall back to the NumPy code."""
        if self.kernel is None:
            return False
        arrays, scalars = self._kernel_args(i, p, g, lr)
        if not kernels.fits(*arrays):
            return False
        kernels.run(self.kernel, arrays, scalars)
        return True

    def _kernel_args(self, i, p, g, lr):
        """``(arrays, scalars)`` for the kernel, in its argument order; an unused slot is passed
        as ``p`` (the kernel does not touch it)."""
        raise NotImplementedError

    def _clip(self, grads, segments):
        if self.clipvalue is not None:
            for g in grads:
                np.clip(g, -self.clipvalue, self.clipvalue, out=g)
        if self.clipnorm is not None:
            for i, g in enumerate(grads):
                sizes = np.asarray(segments[i] if segments else [g.size])
                starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
                flat = g.reshape(-1)
                norms = np.sqrt(np.add.reduceat(flat * flat, starts, dtype=np.float64))
                coef = np.minimum(self.clipnorm / (norms + _CLIP_EPS), 1.0)
                flat *= np.repeat(coef, sizes).astype(g.dtype, copy=False)
        if self.global_clipnorm is not None:
            total = math.sqrt(sum(float(np.vdot(g, g)) for g in grads))
            coef = min(self.global_clipnorm / (total + _CLIP_EPS), 1.0)
            for g in grads:
                g *= g.dtype.type(coef)

    def _tmp(self, i, p, k=0):
        """Work array ``k`` shaped like parameter array ``i``: the rules write their
        intermediate values into these, so a step allocates nothing."""
        buf = self._scratch.get((i, k))
        if buf is None or buf.shape != p.shape or buf.dtype != p.dtype:
            buf = self._scratch[(i, k)] = np.empty_like(p)
        return buf

    def _begin_step(self, t):
        """Hook for state shared by all arrays at step ``t`` (e.g. NAdam's momentum schedule)."""

    def _decayed(self, i, p, g, lr):
        """L2-style weight decay, folded into the gradient: g + lambda * p (in work array 1)."""
        if not self.weight_decay:
            return g
        out = np.multiply(p, self.weight_decay, out=self._tmp(i, p, 1))
        out += g
        return out

    def _update(self, i, p, g, lr):
        raise NotImplementedError


def _check_beta(value, name):
    return float(check_number(value, name, low=0, high=1, high_open=True))


class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional (Nesterov) momentum.

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        b_t &= \mu b_{t-1} + g_t \qquad (b_0 = 0) \\
        \theta_t &= \theta_{t-1} - \gamma \, d_t, \quad
        d_t = \begin{cases} g_t & \mu = 0 \\ b_t & \text{momentum} \\
                            g_t + \mu b_t & \text{nesterov} \end{cases}

    :math:`\mu` is ``momentum``. No epsilon. Batch, stochastic and mini-batch gradient descent
    are this rule with ``batch_size`` = n, 1, k. Robbins & Monro (1951); momentum: Polyak (1964);
    Nesterov momentum in the form of Sutskever et al. (2013).

    Parameters
    ----------
    learning_rate : float or schedule, default 0.01
        :math:`\gamma` (see :class:`Optimizer`).
    momentum : float, default 0.0
        :math:`\mu`, in [0, 1]; 0 disables momentum.
    nesterov : bool, default False
        Use Nesterov momentum (needs ``momentum > 0``).
    weight_decay : float, default 0.0
        :math:`\lambda`, the L2 penalty folded into the gradient.
    **kwargs
        ``clipnorm``, ``clipvalue``, ``global_clipnorm``: see :class:`Optimizer`.
    """

    name = "SGD"
    aliases = ("gradient_descent", "momentum")
    _config_keys = ("momentum", "nesterov")

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=0.0,
                 **kwargs):
        super().__init__(learning_rate, weight_decay, **kwargs)
        self.momentum = float(check_number(momentum, "momentum", low=0, high=1))
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum == 0:
            raise FeedforwardError("nesterov: Nesterov momentum needs momentum > 0, got momentum=0")

    @property
    def slot_names(self):
        return ("momentum",) if self.momentum else ()

    kernel = "sgd"

    def _kernel_args(self, i, p, g, lr):
        b = self.slots["momentum"][i] if self.momentum else p
        return [p, g, b], [self.weight_decay, lr, self.momentum, self.nesterov]

    def _update(self, i, p, g, lr):
        g = self._decayed(i, p, g, lr)
        t = self._tmp(i, p)
        if self.momentum:
            b = self.slots["momentum"][i]
            b *= self.momentum
            b += g
            if self.nesterov:
                np.multiply(b, self.momentum, out=t)
                t += g
                g = t
            else:
                g = b
        np.multiply(g, lr, out=t)
        p -= t


class Adagrad(Optimizer):
    r"""Adagrad: per-weight rates shrinking with the sum of squared gradients.

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        s_t &= s_{t-1} + g_t^2 \qquad (s_0 = \text{initial\_accumulator\_value}) \\
        \theta_t &= \theta_{t-1} - \gamma \, g_t / (\sqrt{s_t} + \epsilon)

    Epsilon is added after the square root. Duchi, Hazan & Singer (2011).

    Parameters
    ----------
    learning_rate : float or schedule, default 0.01
        :math:`\gamma` (see :class:`Optimizer`).
    initial_accumulator_value : float, default 0.0
        :math:`s_0`, non-negative.
    epsilon : float, default 1e-10
        :math:`\epsilon`, added to :math:`\sqrt{s_t}`.
    weight_decay : float, default 0.0
        :math:`\lambda`, the L2 penalty folded into the gradient.
    **kwargs
        ``clipnorm``, ``clipvalue``, ``global_clipnorm``: see :class:`Optimizer`.
    """

    name = "Adagrad"
    _config_keys = ("initial_accumulator_value", "epsilon")
    slot_names = ("accumulator",)

    def __init__(self, learning_rate=0.01, initial_accumulator_value=0.0, epsilon=1e-10,
                 weight_decay=0.0, **kwargs):
        super().__init__(learning_rate, weight_decay, **kwargs)
        self.initial_accumulator_value = float(
            check_number(initial_accumulator_value, "initial_accumulator_value", low=0))
        self.epsilon = _epsilon(epsilon)

    def build(self, params):
        self.slots = {"accumulator": [np.full_like(p, self.initial_accumulator_value)
                                      for p in params]}

    kernel = "adagrad"

    def _kernel_args(self, i, p, g, lr):
        return [p, g, self.slots["accumulator"][i]], [self.weight_decay, lr, self.epsilon]

    def _update(self, i, p, g, lr):
        g = self._decayed(i, p, g, lr)
        s, t = self.slots["accumulator"][i], self._tmp(i, p)
        np.multiply(g, g, out=t)
        s += t
        np.sqrt(s, out=t)
        t += self.epsilon
        np.divide(g, t, out=t)
        t *= lr
        p -= t


class Adadelta(Optimizer):
    r"""Adadelta: Adagrad with decaying averages and units-corrected steps.

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        v_t &= \rho v_{t-1} + (1 - \rho) g_t^2 \\
        \Delta_t &= \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}} \, g_t \\
        u_t &= \rho u_{t-1} + (1 - \rho) \Delta_t^2 \\
        \theta_t &= \theta_{t-1} - \gamma \Delta_t

    Epsilon is added inside both square roots; :math:`v_0 = u_0 = 0`. Zeiler (2012).

    Parameters
    ----------
    learning_rate : float or schedule, default 1.0
        :math:`\gamma` (see :class:`Optimizer`).
    rho : float, default 0.9
        :math:`\rho`, the decay of both averages, in [0, 1).
    epsilon : float, default 1e-6
        :math:`\epsilon`, added inside the square roots.
    weight_decay : float, default 0.0
        :math:`\lambda`, the L2 penalty folded into the gradient.
    **kwargs
        ``clipnorm``, ``clipvalue``, ``global_clipnorm``: see :class:`Optimizer`.
    """

    name = "Adadelta"
    _config_keys = ("rho", "epsilon")
    slot_names = ("square_avg", "acc_delta")

    def __init__(self, learning_rate=1.0, rho=0.9, epsilon=1e-6, weight_decay=0.0, **kwargs):
        super().__init__(learning_rate, weight_decay, **kwargs)
        self.rho = _check_beta(rho, "rho")
        self.epsilon = _epsilon(epsilon)

    kernel = "adadelta"

    def _kernel_args(self, i, p, g, lr):
        v, u = self.slots["square_avg"][i], self.slots["acc_delta"][i]
        return [p, g, v, u], [self.weight_decay, lr, self.rho, 1 - self.rho, self.epsilon]

    def _update(self, i, p, g, lr):
        g = self._decayed(i, p, g, lr)
        v, u = self.slots["square_avg"][i], self.slots["acc_delta"][i]
        delta, t = self._tmp(i, p), self._tmp(i, p, 2)
        v *= self.rho
        np.multiply(g, g, out=t)
        t *= 1 - self.rho
        v += t
        np.add(u, self.epsilon, out=delta)
        np.sqrt(delta, out=delta)
        np.add(v, self.epsilon, out=t)
        np.sqrt(t, out=t)
        delta /= t
        delta *= g
        u *= self.rho
        np.multiply(delta, delta, out=t)
        t *= 1 - self.rho
        u += t
        delta *= lr
        p -= delta


class RMSprop(Optimizer):
    r"""RMSprop: divide by a running root mean square of recent gradients.

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        v_t &= \rho v_{t-1} + (1 - \rho) g_t^2 \\
        \bar g_t &= \rho \bar g_{t-1} + (1 - \rho) g_t \quad \text{(centered only)} \\
        d_t &= \sqrt{v_t - \bar g_t^2} + \epsilon \ \text{(centered)}, \quad
               \sqrt{v_t} + \epsilon \ \text{(otherwise)} \\
        b_t &= \mu b_{t-1} + g_t / d_t \quad \text{(momentum } \mu > 0\text{)} \\
        \theta_t &= \theta_{t-1} - \gamma \, b_t
            \quad (\text{or } \gamma g_t / d_t \text{ if } \mu = 0)

    Epsilon is added after the square root. ``rho`` is torch's ``alpha``. Hinton, Srivastava &
    Swersky, Neural Networks for Machine Learning, lecture 6e (2012); centered: Graves (2013).

    Parameters
    ----------
    learning_rate : float or schedule, default 0.01
        :math:`\gamma` (see :class:`Optimizer`).
    rho : float, default 0.99
        :math:`\rho`, the decay of the averages, in [0, 1).
    momentum : float, default 0.0
        :math:`\mu`, in [0, 1]; 0 disables momentum.
    centered : bool, default False
        Divide by the estimated standard deviation of the gradient rather than its RMS.
    epsilon : float, default 1e-8
        :math:`\epsilon`, added to the square root.
    weight_decay : float, default 0.0
        :math:`\lambda`, the L2 penalty folded into the gradient.
    **kwargs
        ``clipnorm``, ``clipvalue``, ``global_clipnorm``: see :class:`Optimizer`.
    """

    name = "RMSprop"
    _config_keys = ("rho", "momentum", "centered", "epsilon")

    def __init__(self, learning_rate=0.01, rho=0.99, momentum=0.0, centered=False, epsilon=1e-8,
                 weight_decay=0.0, **kwargs):
        super().__init__(learning_rate, weight_decay, **kwargs)
        self.rho = _check_beta(rho, "rho")
        self.momentum = float(check_number(momentum, "momentum", low=0, high=1))
        self.centered = bool(centered)
        self.epsilon = _epsilon(epsilon)

    @property
    def slot_names(self):
        return ("square_avg",) + ("grad_avg",) * self.centered + ("momentum",) * (self.momentum > 0)

    kernel = "rmsprop"

    def _kernel_args(self, i, p, g, lr):
        slots = self.slots
        ga = slots["grad_avg"][i] if self.centered else p
        b = slots["momentum"][i] if self.momentum else p
        return [p, g, slots["square_avg"][i], ga, b], [
            self.weight_decay, lr, self.rho, 1 - self.rho, self.momentum, self.epsilon,
            self.centered]

    def _update(self, i, p, g, lr):
        g = self._decayed(i, p, g, lr)
        v, d = self.slots["square_avg"][i], self._tmp(i, p)
        v *= self.rho
        np.multiply(g, g, out=d)
        d *= 1 - self.rho
        v += d
        if self.centered:
            m = self.slots["grad_avg"][i]
            np.subtract(g, m, out=d)
            d *= 1 - self.rho
            m += d
            np.multiply(m, m, out=d)
            np.subtract(v, d, out=d)
            np.sqrt(d, out=d)
        else:
            np.sqrt(v, out=d)
        d += self.epsilon
        np.divide(g, d, out=d)
        if self.momentum:
            b = self.slots["momentum"][i]
            b *= self.momentum
            b += d
            np.multiply(b, lr, out=d)
        else:
            d *= lr
        p -= d


class Adam(Optimizer):
    r"""Adam: momentum on the gradient, RMSprop-style scaling, both bias-corrected.

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        \hat v_t &= \max(\hat v_{t-1}, v_t) \ \text{(amsgrad)}, \quad v_t \ \text{(otherwise)} \\
        \theta_t &= \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t}
                    \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}

    with :math:`m_0 = v_0 = 0`. Epsilon is added after the square root of the bias-corrected
    second moment. Kingma & Ba (2015); ``amsgrad``: Reddi, Kale & Kumar (2018).

    The parts are methods so that the variants share them: :class:`AdamW` changes the weight
    decay, :class:`Adamax` the denominator, :class:`Nadam` the step.

    Parameters
    ----------
    learning_rate : float or schedule, default 0.001
        :math:`\gamma` (see :class:`Optimizer`).
    beta_1 : float, default 0.9
        :math:`\beta_1`, the decay of the first moment, in [0, 1).
    beta_2 : float, default 0.999
        :math:`\beta_2`, the decay of the second moment, in [0, 1).
    epsilon : float, default 1e-8
        :math:`\epsilon`, added to the denominator.
    amsgrad : bool, default False
        Divide by the running maximum of the second moment.
    weight_decay : float, default 0.0
        :math:`\lambda`, the L2 penalty folded into the gradient.
    **kwargs
        ``clipnorm``, ``clipvalue``, ``global_clipnorm``: see :class:`Optimizer`.
    """

    name = "Adam"
    _config_keys = ("beta_1", "beta_2", "epsilon", "amsgrad")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8, amsgrad=False,
                 weight_decay=0.0, **kwargs):
        super().__init__(learning_rate, weight_decay, **kwargs)
        self.beta_1, self.beta_2 = _check_beta(beta_1, "beta_1"), _check_beta(beta_2, "beta_2")
        self.epsilon = _epsilon(epsilon)
        self.amsgrad = bool(amsgrad)

    @property
    def slot_names(self):
        return ("m", "v") + ("v_max",) * self.amsgrad

    kernel = "adam"

    def _decay_terms(self, lr):
        """(l2, decay): the decay folded into the gradient, and the factor on the weights."""
        return self.weight_decay, 1.0

    def _corrections(self):
        """1 - beta_1, 1 - beta_2 and 1 / sqrt(1 - beta_2^t), as the NumPy rule computes them."""
        return 1 - self.beta_1, 1 - self.beta_2, self._inv_bc2_sqrt()

    def _inv_bc2_sqrt(self):
        # a product, not a division, in the element-wise part: a division costs as much as the
        # rest of the compiled loop, and the results differ from torch's only by rounding
        return 1 / math.sqrt(1 - self.beta_2 ** self.iterations)

    def _kernel_args(self, i, p, g, lr):
        m, v = self.slots["m"][i], self.slots["v"][i]
        v_max = self.slots["v_max"][i] if self.amsgrad else p
        b1_c, b2_c, inv_bc2_sqrt = self._corrections()
        step = lr / (1 - self.beta_1 ** self.iterations)
        return [p, g, m, v, v_max], [*self._decay_terms(lr), b1_c, self.beta_2, b2_c, inv_bc2_sqrt,
                                     self.epsilon, step, self.amsgrad]

    def _update(self, i, p, g, lr):
        g = self._decayed(i, p, g, lr)
        m, t = self.slots["m"][i], self._tmp(i, p)
        np.subtract(g, m, out=t)  # m + (1 - beta_1)(g - m): the same rounding as torch's lerp
        t *= 1 - self.beta_1
        m += t
        self._step(i, p, g, m, self._denominator(i, p, g), lr)

    def _denominator(self, i, p, g):
        """sqrt(v_hat) / sqrt(1 - beta_2^t) + epsilon, in work array 0."""
        v, d = self.slots["v"][i], self._tmp(i, p)
        v *= self.beta_2
        np.multiply(g, g, out=d)
        d *= 1 - self.beta_2
        v += d
        if self.amsgrad:
            v = np.maximum(self.slots["v_max"][i], v, out=self.slots["v_max"][i])
        np.sqrt(v, out=d)
        d *= self._inv_bc2_sqrt()
        d += self.epsilon
        return d

    def _step(self, i, p, g, m, denom, lr):
        np.divide(m, denom, out=denom)
        denom *= lr / (1 - self.beta_1 ** self.iterations)
        p -= denom


class AMSGrad(Adam):
    r"""Adam with ``amsgrad=True`` (registry name ``amsgrad``).

    Parameters
    ----------
    learning_rate, beta_1, beta_2, epsilon : float
        As in :class:`Adam`.
    amsgrad : bool, default True
        As in :class:`Adam`; kept so that a saved config round-trips.
    weight_decay : float, default 0.0
        :math:`\lambda`, the L2 penalty folded into the gradient.
    **kwargs
        ``clipnorm``, ``clipvalue``, ``global_clipnorm``: see :class:`Optimizer`.
    """

    name = "amsgrad"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8, amsgrad=True,
                 weight_decay=0.0, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay, **kwargs)


class AdamW(Adam):
    r"""Adam with decoupled weight decay: the weights shrink directly, not through the gradient.

    .. math::
        \theta_{t-1} \leftarrow \theta_{t-1} (1 - \gamma \lambda)

    then the :class:`Adam` rule without the :math:`\lambda \theta` gradient term.
    Loshchilov & Hutter (2019). ``weight_decay`` defaults to 0.01, as in torch.

    Parameters
    ----------
    learning_rate, beta_1, beta_2, epsilon : float
        As in :class:`Adam`.
    amsgrad : bool, default False
        As in :class:`Adam`.
    weight_decay : float, default 0.01
        :math:`\lambda`, the decoupled decay rate.
    **kwargs
        ``clipnorm``, ``clipvalue``, ``global_clipnorm``: see :class:`Optimizer`.
    """

    name = "AdamW"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8, amsgrad=False,
                 weight_decay=0.01, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay, **kwargs)

    def _decayed(self, i, p, g, lr):
        if self.weight_decay:
            p *= 1 - lr * self.weight_decay
        return g

    def _decay_terms(self, lr):
        return 0.0, 1 - lr * self.weight_decay


class Adamax(Adam):
    r"""Adamax: Adam with the infinity norm in place of the second moment.

    .. math::
        u_t &= \max(\beta_2 u_{t-1}, |g_t| + \epsilon) \qquad (u_0 = 0) \\
        \theta_t &= \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t} \frac{m_t}{u_t}

    with :math:`m_t` and the weight decay as in :class:`Adam`. Epsilon is added to
    :math:`|g_t|` inside the maximum. Kingma & Ba (2015), section 7.

    Parameters
    ----------
    learning_rate : float or schedule, default 0.002
        :math:`\gamma` (see :class:`Optimizer`).
    beta_1 : float, default 0.9
        :math:`\beta_1`, the decay of the first moment, in [0, 1).
    beta_2 : float, default 0.999
        :math:`\beta_2`, the decay of the infinity norm, in [0, 1).
    epsilon : float, default 1e-8
        :math:`\epsilon`, added to :math:`|g_t|`.
    weight_decay : float, default 0.0
        :math:`\lambda`, the L2 penalty folded into the gradient.
    **kwargs
        ``clipnorm``, ``clipvalue``, ``global_clipnorm``: see :class:`Optimizer`.
    """

    name = "Adamax"
    _config_keys = ("beta_1", "beta_2", "epsilon")

    def __init__(self, learning_rate=0.002, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 weight_decay=0.0, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, False, weight_decay, **kwargs)

    slot_names = ("m", "u")
    kernel = "adamax"

    def _kernel_args(self, i, p, g, lr):
        step = lr / (1 - self.beta_1 ** self.iterations)
        return [p, g, self.slots["m"][i], self.slots["u"][i]], [
            self.weight_decay, 1 - self.beta_1, self.beta_2, self.epsilon, step]

    def _denominator(self, i, p, g):
        """u_t, updated in place; the step divides by it into work array 0."""
        u, t = self.slots["u"][i], self._tmp(i, p)
        u *= self.beta_2
        np.abs(g, out=t)
        t += self.epsilon
        np.maximum(u, t, out=u)
        return u

    def _step(self, i, p, g, m, denom, lr):
        t = np.divide(m, denom, out=self._tmp(i, p))
        t *= lr / (1 - self.beta_1 ** self.iterations)
        p -= t


class Nadam(Adam):
    r"""NAdam: Adam with Nesterov momentum and a momentum warm-up schedule.

    .. math::
        \mu_t &= \beta_1 (1 - \tfrac12 \, 0.96^{t \psi}), \quad
        \Pi_t = \prod_{s \le t} \mu_s \\
        \theta_t &= \theta_{t-1}
          - \gamma \frac{1 - \mu_t}{1 - \Pi_t} \frac{g_t}{d_t}
          - \gamma \frac{\mu_{t+1}}{1 - \Pi_t \mu_{t+1}} \frac{m_t}{d_t}, \quad
        d_t = \sqrt{v_t / (1 - \beta_2^t)} + \epsilon

    with :math:`m_t, v_t` and the weight decay as in :class:`Adam`; :math:`\psi` is
    ``momentum_decay`` (0.004). Epsilon is added after the square root. Dozat (2016).

    Parameters
    ----------
    learning_rate : float or schedule, default 0.002
        :math:`\gamma` (see :class:`Optimizer`).
    beta_1, beta_2, epsilon : float
        As in :class:`Adam` (0.9, 0.999, 1e-8).
    momentum_decay : float, default 0.004
        :math:`\psi`, non-negative.
    weight_decay : float, default 0.0
        :math:`\lambda`, the L2 penalty folded into the gradient.
    **kwargs
        ``clipnorm``, ``clipvalue``, ``global_clipnorm``: see :class:`Optimizer`.
    """

    name = "Nadam"
    _config_keys = ("beta_1", "beta_2", "epsilon", "momentum_decay")
    state_scalars = ("mu_product",)

    def __init__(self, learning_rate=0.002, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 momentum_decay=0.004, weight_decay=0.0, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, False, weight_decay, **kwargs)
        self.momentum_decay = float(check_number(momentum_decay, "momentum_decay", low=0))
        self.mu_product = 1.0

    def _mu(self, t):
        return self.beta_1 * (1.0 - 0.5 * 0.96 ** (t * self.momentum_decay))

    def _begin_step(self, t):
        self.mu_t, self.mu_next = self._mu(t), self._mu(t + 1)
        self.mu_product *= self.mu_t

    kernel = "nadam"

    def _kernel_args(self, i, p, g, lr):
        prod = self.mu_product
        b1_c, b2_c, inv_bc2_sqrt = self._corrections()
        return [p, g, self.slots["m"][i], self.slots["v"][i]], [
            self.weight_decay, b1_c, self.beta_2, b2_c, inv_bc2_sqrt, self.epsilon,
            lr * (1 - self.mu_t) / (1 - prod), lr * self.mu_next / (1 - prod * self.mu_next)]

    def _step(self, i, p, g, m, denom, lr):
        prod, t = self.mu_product, self._tmp(i, p, 2)
        np.divide(g, denom, out=t)
        t *= lr * (1 - self.mu_t) / (1 - prod)
        p -= t
        np.divide(m, denom, out=t)
        t *= lr * self.mu_next / (1 - prod * self.mu_next)
        p -= t


ALL = [SGD, Adagrad, Adadelta, RMSprop, Adam, AMSGrad, AdamW, Adamax, Nadam]
registry = Registry("optimizer", ALL, base=Optimizer)
get, serialize, deserialize = registry.get, registry.serialize, registry.deserialize

