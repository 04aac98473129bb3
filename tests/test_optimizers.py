"""Optimizers: parity with torch.optim 2.13, clipping, convergence, invariants and validation.

Parity runs the same float64 MLP (5-8-6-3, tanh/relu, softmax + categorical cross-entropy) in
feedforward and in torch from identical weights on the same batches, and compares parameters
and optimizer state after every one of 100 steps. Our kernel is ``(in, out)`` and our slots are
one flat array in Keras order ``[kernel_1, bias_1, kernel_2, ...]``; torch's weight is
``(out, in)`` and its state is per tensor, so torch arrays are transposed and concatenated.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import feedforward as ff
from _helpers import PARITY_TOL, relative_difference, torch_linears
from feedforward import optimizers, schedules
from feedforward.errors import FeedforwardError

pytestmark = pytest.mark.usefixtures("torch_float64")
STEPS = 100
SIZES = (5, 8, 6, 3)

# our slot name -> torch's state key
TORCH_SLOT = {
    "momentum": "momentum_buffer", "accumulator": "sum", "square_avg": "square_avg",
    "acc_delta": "acc_delta", "grad_avg": "grad_avg", "m": "exp_avg", "v": "exp_avg_sq",
    "v_max": "max_exp_avg_sq", "u": "exp_inf",
}
TORCH_SCALARS = {"step", "mu_product"}  # torch state entries that are scalars, not slots


# ---------------------------------------------------------------------------- twin networks
def twin_models(seed=0):
    """The same MLP in feedforward (compiled later) and torch, from identical random weights.

    Returns
    -------
    model : Sequential, float64, built for 5 inputs
    net : torch.nn.Sequential of Linear/Tanh/ReLU/Linear..., float64, emitting logits
    tparams : list of torch parameters in Keras order ``[W1, b1, W2, b2, W3, b3]``
    """
    model = ff.Sequential([ff.Dense(SIZES[1], activation="tanh"),
                           ff.Dense(SIZES[2], activation="relu"),
                           ff.Dense(SIZES[3], activation="softmax")],
                          input_dim=SIZES[0], dtype="float64", seed=seed)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.6, w.shape) for w in model.get_weights()])
    linears = torch_linears(model)
    net = torch.nn.Sequential(linears[0], torch.nn.Tanh(), linears[1], torch.nn.ReLU(),
                              linears[2])
    tparams = [p for lin in linears for p in (lin.weight, lin.bias)]
    return model, net, tparams


def batches(steps=STEPS, n_batches=10, batch_size=16, seed=1):
    """``steps`` batches ``(x (16, 5), labels (16,))``, cycling through 10 fixed ones."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_batches, batch_size, SIZES[0]))
    teacher = rng.normal(size=(SIZES[0], SIZES[-1]))
    y = np.argmax(x @ teacher + rng.normal(0, 0.5, (n_batches, batch_size, SIZES[-1])), axis=-1)
    return [(x[i % n_batches], y[i % n_batches]) for i in range(steps)]


def keras_order(tensors):
    """Torch per-parameter arrays as NumPy in our layout: weights transposed to (in, out)."""
    return [t.detach().numpy().T if t.ndim == 2 else t.detach().numpy() for t in tensors]


def torch_step(net, tparams, topt, xb, yb, clip=None):
    """zero_grad, mean cross-entropy on logits, backward, optional clipping, step.

    Returns what ``clip`` returns (whether the clip was active on this step), else None.
    """
    topt.zero_grad()
    F.cross_entropy(net(torch.from_numpy(xb)), torch.from_numpy(yb)).backward()
    active = clip(tparams) if clip is not None else None
    topt.step()
    return active


def torch_state(topt, tparams, key):
    return keras_order([topt.state[p][key] for p in tparams])


def compare_state(opt, model, topt, tparams):
    """Largest relative difference between our slots and torch's state, array by array.

    Also asserts that we keep exactly the state torch keeps, and that each flat slot is torch's
    state concatenated in Keras order.
    """
    state0 = topt.state[tparams[0]]
    torch_keys = {k for k, v in state0.items() if v is not None} - TORCH_SCALARS
    assert {TORCH_SLOT[s] for s in opt.slots} == torch_keys
    worst = 0.0
    for slot, (flat,) in opt.slots.items():
        ref = torch_state(topt, tparams, TORCH_SLOT[slot])
        assert flat.shape == (model.count_params(),)
        worst = max(worst, relative_difference(flat, np.concatenate([r.ravel() for r in ref])))
        splits = np.split(flat, np.cumsum([r.size for r in ref])[:-1])
        worst = max(worst, *(relative_difference(s.reshape(r.shape), r)
                             for s, r in zip(splits, ref, strict=True)))
    for p in tparams:  # torch's SGD keeps no step count
        assert int(topt.state[p].get("step", opt.iterations)) == opt.iterations
    if "mu_product" in state0:
        worst = max(worst, *(relative_difference(opt.mu_product,
                                                 float(topt.state[p]["mu_product"]))
                             for p in tparams))
    return worst


def run_parity(case_id, opt, tcls, tkwargs, torch_clip=None):
    """Train both twins for STEPS batches; assert parameters and state agree after every step.

    Returns the number of steps on which ``torch_clip`` reported an active clip.
    """
    model, net, tparams = twin_models()
    model.compile(opt, "categorical_crossentropy")
    topt = tcls(tparams, **tkwargs)
    worst, active = 0.0, 0
    for xb, yb in batches():
        model.train_on_batch(xb, yb)
        active += bool(torch_step(net, tparams, topt, xb, yb, torch_clip))
        ref = keras_order(tparams)
        worst = max(worst, *(relative_difference(w, r)
                             for w, r in zip(model.get_weights(), ref, strict=True)))
        worst = max(worst, compare_state(model.optimizer, model, topt, tparams))
        assert worst < PARITY_TOL, f"{case_id}: relative difference {worst:.3g} at step " \
                                   f"{model.optimizer.iterations}"
    # the run must have moved the weights well beyond the tolerance, or it proves nothing
    start = twin_models()[0].get_weights()
    assert min(relative_difference(w, s)
               for w, s in zip(model.get_weights(), start, strict=True)) > 1e-3
    print(f"{case_id}: max relative difference {worst:.2e}")  # shown with pytest -s
    return active


# (id, our optimizer name, our kwargs, torch class, torch kwargs); hyperparameters are
# deliberately not the defaults, so that a mis-mapped argument shows
B = {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-7}
TB = {"betas": (0.8, 0.99), "eps": 1e-7}
PARITY_CASES = [
    ("sgd", "SGD", {"learning_rate": 0.2}, torch.optim.SGD, {"lr": 0.2}),
    ("sgd-momentum", "SGD", {"learning_rate": 0.05, "momentum": 0.9},
     torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}),
    ("sgd-nesterov", "SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True},
     torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("sgd-weight_decay", "SGD", {"learning_rate": 0.2, "weight_decay": 0.02},
     torch.optim.SGD, {"lr": 0.2, "weight_decay": 0.02}),
    ("sgd-momentum-weight_decay", "SGD",
     {"learning_rate": 0.05, "momentum": 0.9, "weight_decay": 0.02},
     torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.02}),
    ("sgd-nesterov-weight_decay", "SGD",
     {"learning_rate": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.02},
     torch.optim.SGD, {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.02}),
    ("adagrad", "Adagrad",
     {"learning_rate": 0.1, "initial_accumulator_value": 0.1, "epsilon": 1e-9},
     torch.optim.Adagrad, {"lr": 0.1, "initial_accumulator_value": 0.1, "eps": 1e-9}),
    ("adagrad-weight_decay", "Adagrad",
     {"learning_rate": 0.1, "initial_accumulator_value": 0.1, "weight_decay": 0.02},
     torch.optim.Adagrad, {"lr": 0.1, "initial_accumulator_value": 0.1, "weight_decay": 0.02}),
    ("adadelta", "Adadelta", {"learning_rate": 1.0, "rho": 0.8, "epsilon": 1e-5},
     torch.optim.Adadelta, {"lr": 1.0, "rho": 0.8, "eps": 1e-5}),
    ("adadelta-weight_decay", "Adadelta",
     {"learning_rate": 1.0, "rho": 0.8, "epsilon": 1e-5, "weight_decay": 0.02},
     torch.optim.Adadelta, {"lr": 1.0, "rho": 0.8, "eps": 1e-5, "weight_decay": 0.02}),
    ("rmsprop", "RMSprop", {"learning_rate": 0.01, "rho": 0.9, "epsilon": 1e-7},
     torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.9, "eps": 1e-7}),
    ("rmsprop-momentum", "RMSprop", {"learning_rate": 0.01, "rho": 0.9, "momentum": 0.5},
     torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.9, "momentum": 0.5}),
    ("rmsprop-centered", "RMSprop", {"learning_rate": 0.01, "rho": 0.9, "centered": True},
     torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.9, "centered": True}),
    ("rmsprop-centered-momentum", "RMSprop",
     {"learning_rate": 0.01, "rho": 0.9, "centered": True, "momentum": 0.5},
     torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.9, "centered": True, "momentum": 0.5}),
    ("rmsprop-weight_decay", "RMSprop",
     {"learning_rate": 0.01, "rho": 0.9, "weight_decay": 0.02},
     torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.9, "weight_decay": 0.02}),
    ("adam", "Adam", {"learning_rate": 0.01, **B}, torch.optim.Adam, {"lr": 0.01, **TB}),
    ("adam-amsgrad", "Adam", {"learning_rate": 0.01, "amsgrad": True, **B},
     torch.optim.Adam, {"lr": 0.01, "amsgrad": True, **TB}),
    ("adam-weight_decay", "Adam", {"learning_rate": 0.01, "weight_decay": 0.02, **B},
     torch.optim.Adam, {"lr": 0.01, "weight_decay": 0.02, **TB}),
    ("adam-amsgrad-weight_decay", "Adam",
     {"learning_rate": 0.01, "amsgrad": True, "weight_decay": 0.02, **B},
     torch.optim.Adam, {"lr": 0.01, "amsgrad": True, "weight_decay": 0.02, **TB}),
    ("amsgrad", "amsgrad", {"learning_rate": 0.01, **B},
     torch.optim.Adam, {"lr": 0.01, "amsgrad": True, **TB}),
    ("adamw", "AdamW", {"learning_rate": 0.01, "weight_decay": 0.05, **B},
     torch.optim.AdamW, {"lr": 0.01, "weight_decay": 0.05, **TB}),
    ("adamw-amsgrad", "AdamW", {"learning_rate": 0.01, "weight_decay": 0.05, "amsgrad": True, **B},
     torch.optim.AdamW, {"lr": 0.01, "weight_decay": 0.05, "amsgrad": True, **TB}),
    ("adamax", "Adamax", {"learning_rate": 0.02, **B}, torch.optim.Adamax, {"lr": 0.02, **TB}),
    ("adamax-weight_decay", "Adamax", {"learning_rate": 0.02, "weight_decay": 0.02, **B},
     torch.optim.Adamax, {"lr": 0.02, "weight_decay": 0.02, **TB}),
    ("nadam", "Nadam", {"learning_rate": 0.01, "momentum_decay": 0.006, **B},
     torch.optim.NAdam, {"lr": 0.01, "momentum_decay": 0.006, **TB}),
    ("nadam-weight_decay", "Nadam", {"learning_rate": 0.01, "weight_decay": 0.02, **B},
     torch.optim.NAdam, {"lr": 0.01, "weight_decay": 0.02, **TB}),
]


@pytest.mark.parametrize(("case_id", "name", "kwargs", "tcls", "tkwargs"), PARITY_CASES,
                         ids=[c[0] for c in PARITY_CASES])
def test_parity_with_torch(case_id, name, kwargs, tcls, tkwargs):
    opt = optimizers.get({"class_name": name, "config": kwargs})
    run_parity(case_id, opt, tcls, tkwargs)


def test_parity_covers_every_registered_optimizer():
    assert {optimizers.get(c[1]).name for c in PARITY_CASES} == {c.name for c in optimizers.ALL}


# our class name -> torch class, and how our argument names map to torch's
TORCH_CLASS = {"SGD": torch.optim.SGD, "Adagrad": torch.optim.Adagrad,
               "Adadelta": torch.optim.Adadelta, "RMSprop": torch.optim.RMSprop,
               "Adam": torch.optim.Adam, "amsgrad": torch.optim.Adam,
               "AdamW": torch.optim.AdamW, "Adamax": torch.optim.Adamax,
               "Nadam": torch.optim.NAdam}
# where our defaults knowingly differ from torch's: SGD's rate is Keras's 0.01 (torch: 0.001)
DEFAULT_EXCEPTIONS = {("SGD", "learning_rate"): 0.01, ("amsgrad", "amsgrad"): True}


def torch_name(cls, key):
    if key == "rho" and cls is optimizers.RMSprop:
        return "alpha"
    return {"learning_rate": "lr", "epsilon": "eps"}.get(key, key)


@pytest.mark.parametrize("cls", optimizers.ALL, ids=lambda c: c.name)
def test_defaults_match_torch(cls):
    defaults = TORCH_CLASS[cls.name]([torch.zeros(1, requires_grad=True)]).defaults
    defaults = {**defaults, "beta_1": defaults.get("betas", (None,))[0],
                "beta_2": defaults.get("betas", (None, None))[1]}
    for key, ours in cls().get_config().items():
        if key in ("clipnorm", "clipvalue", "global_clipnorm"):
            assert ours is None
            continue
        expected = DEFAULT_EXCEPTIONS.get((cls.name, key), defaults[torch_name(cls, key)])
        assert ours == expected, f"{cls.name}.{key}: {ours} != {expected}"


# ---------------------------------------------------------------------------- clipping
def clip_value(c):
    def clip(tparams):
        active = any(bool((p.grad.abs() > c).any()) for p in tparams)
        torch.nn.utils.clip_grad_value_(tparams, c)
        return active
    return clip


def clip_each_norm(c):
    def clip(tparams):
        norms = [float(torch.nn.utils.clip_grad_norm_(p, c)) for p in tparams]  # clip all
        return max(norms) > c
    return clip


def clip_global_norm(c):
    def clip(tparams):
        return float(torch.nn.utils.clip_grad_norm_(tparams, c)) > c
    return clip


CLIP_CASES = [("clipvalue", 0.02, clip_value), ("clipnorm", 0.05, clip_each_norm),
              ("global_clipnorm", 0.1, clip_global_norm)]
CLIP_OPTIMIZERS = [("SGD", {"learning_rate": 0.5, "momentum": 0.5},
                    torch.optim.SGD, {"lr": 0.5, "momentum": 0.5}),
                   ("Adam", {"learning_rate": 0.01}, torch.optim.Adam, {"lr": 0.01})]


@pytest.mark.parametrize(("clip_arg", "c", "torch_clip"), CLIP_CASES,
                         ids=[c[0] for c in CLIP_CASES])
@pytest.mark.parametrize(("name", "kwargs", "tcls", "tkwargs"), CLIP_OPTIMIZERS,
                         ids=[c[0] for c in CLIP_OPTIMIZERS])
def test_clipping_parity_with_torch(clip_arg, c, torch_clip, name, kwargs, tcls, tkwargs):
    opt = optimizers.get({"class_name": name, "config": {**kwargs, clip_arg: c}})
    active = run_parity(f"{name}-{clip_arg}", opt, tcls, tkwargs, torch_clip=torch_clip(c))
    assert active >= 0.9 * STEPS, f"the clip was active on only {active} of {STEPS} steps"


@pytest.mark.parametrize("cls", optimizers.ALL, ids=lambda c: c.name)
def test_clipnorm_and_global_clipnorm_together_is_an_error(cls):
    with pytest.raises(FeedforwardError, match="clipnorm.*global_clipnorm"):
        cls(clipnorm=1.0, global_clipnorm=1.0)


def test_clipnorm_clips_each_variable_of_a_flat_buffer_separately():
    # two variables of norms 5 and 0.5 in one flat array: only the first is scaled, to norm 1
    g = np.array([3.0, 4.0, 0.3, 0.4])
    p = np.zeros(4)
    optimizers.SGD(learning_rate=1.0, clipnorm=1.0).apply([p], [g.copy()], segments=[[2, 2]])
    np.testing.assert_allclose(-p, [0.6, 0.8, 0.3, 0.4], rtol=1e-6)


# ---------------------------------------------------------------------------- convergence
# f(x) = 0.5 x^T A x - b^T x with eigenvalues of A evenly spread in [1, 10] (condition 10)
_rng = np.random.default_rng(0)
_Q = np.linalg.qr(_rng.normal(size=(5, 5)))[0]
A = _Q @ np.diag(np.linspace(1.0, 10.0, 5)) @ _Q.T
X_STAR = _rng.normal(size=5)  # |x*| = 1.29 from the start x0 = 0
B_VEC = A @ X_STAR


def quadratic_grad(x):
    return A @ x - B_VEC


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def rosenbrock_grad(x):
    return np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2),
                     200 * (x[1] - x[0] ** 2)])


# per optimizer, settings that converge on both problems within BUDGET steps (from a sweep of
# learning rates over decades, as optax's tests do). Plain SGD needs momentum to get along
# Rosenbrock's curved valley in budget; AdamW runs without decay, which would move the optimum.
BUDGET = 5000
SWEEP = {
    "SGD": {"learning_rate": 2e-3, "momentum": 0.9},
    "Adagrad": {"learning_rate": 1.0},
    "Adadelta": {"learning_rate": 0.05, "rho": 0.8},
    "RMSprop": {"learning_rate": 1e-3, "rho": 0.9},
    "Adam": {"learning_rate": 0.03},
    "amsgrad": {"learning_rate": 0.1},
    "AdamW": {"learning_rate": 0.03, "weight_decay": 0.0},
    "Adamax": {"learning_rate": 0.05},  # larger rates drift off once u decays (u ~ beta_2^t)
    "Nadam": {"learning_rate": 5e-3},
}


def minimise(cls, grad, x0):
    opt = cls(**SWEEP[cls.name])
    x = np.array(x0, dtype=np.float64)
    for _ in range(BUDGET):
        opt.apply([x], [grad(x)])
    return x


@pytest.mark.parametrize("cls", optimizers.ALL, ids=lambda c: c.name)
def test_minimises_an_ill_conditioned_quadratic(cls):
    x = minimise(cls, quadratic_grad, np.zeros(5))
    # within 1e-2 of x*: under 1% of the starting distance, and far below what stalling at any
    # point of the path would give; constant-rate sign-like methods (RMSprop) hover ~lr away
    assert np.linalg.norm(x - X_STAR) < 1e-2


@pytest.mark.parametrize("cls", optimizers.ALL, ids=lambda c: c.name)
def test_minimises_rosenbrock(cls):
    x0 = np.array([-1.2, 1.0])
    x = minimise(cls, rosenbrock_grad, x0)
    # f(x0) = 24.2; f < 1e-2 is a 2400-fold reduction and puts x inside the valley within
    # about 0.1 of (1, 1) in x[0] (since (1 - x0)^2 < 1e-2)
    assert rosenbrock(x) < 1e-2
    assert np.linalg.norm(x - 1.0) < 0.25


def test_sweep_covers_every_registered_optimizer():
    assert set(SWEEP) == {c.name for c in optimizers.ALL}


# ---------------------------------------------------------------------------- invariants
def test_sgd_with_momentum_zero_is_plain_sgd_bit_for_bit():
    lr = 0.07
    ours = [optimizers.SGD(lr), optimizers.SGD(lr, momentum=0.0, nesterov=False)]
    xs = [np.ones(5) for _ in ours]
    ref = np.ones(5)
    for _ in range(50):
        for opt, x in zip(ours, xs, strict=True):
            opt.apply([x], [quadratic_grad(x)])
        ref = ref - lr * quadratic_grad(ref)
        for x in xs:
            np.testing.assert_array_equal(x, ref)
    assert all(not opt.slots for opt in ours)  # no momentum buffer kept


def test_nesterov_needs_momentum():
    with pytest.raises(FeedforwardError, match="^nesterov:"):
        optimizers.SGD(nesterov=True)


def varying_gradients(steps=200, n=30, seed=3):
    """Gradients whose magnitude jumps by 1000x in bursts, so that Adam's v rises and falls."""
    rng = np.random.default_rng(seed)
    scale = np.where(np.arange(steps) % 25 < 3, 10.0, 0.01)
    return rng.normal(size=(steps, n)) * scale[:, None]


@pytest.mark.parametrize("make", [lambda: optimizers.Adam(0.01, amsgrad=True),
                                  lambda: optimizers.get("amsgrad"),
                                  lambda: optimizers.AdamW(0.01, amsgrad=True)],
                         ids=["Adam-amsgrad", "amsgrad", "AdamW-amsgrad"])
def test_amsgrad_running_maximum_never_decreases(make):
    opt, x = make(), np.zeros(30)
    v_seen, decreased = np.zeros(30), False
    for g in varying_gradients():
        before = opt.slots["v_max"][0].copy() if opt.slots else np.zeros(30)
        v_before = opt.slots["v"][0].copy() if opt.slots else np.zeros(30)
        opt.apply([x], [g.copy()])
        v, v_max = opt.slots["v"][0], opt.slots["v_max"][0]
        decreased |= bool((v < v_before).any())
        v_seen = np.maximum(v_seen, v)
        assert (v_max >= before).all()
        assert (v_max >= v).all()
        np.testing.assert_array_equal(v_max, v_seen)  # the running maximum of v, exactly
    assert decreased, "v never decreased: the run does not exercise the maximum"


def test_adam_weight_decay_adds_to_the_gradient():
    # Adam(weight_decay=wd) on g is Adam without decay on g + wd * theta, bit for bit
    lr, wd = 0.01, 0.1
    decayed, plain = optimizers.Adam(lr, weight_decay=wd), optimizers.Adam(lr)
    p, q = np.linspace(-1, 1, 30), np.linspace(-1, 1, 30)
    for g in varying_gradients(50):
        decayed.apply([p], [g.copy()])
        plain.apply([q], [g + wd * q])
        np.testing.assert_array_equal(p, q)


def test_adamw_decay_is_decoupled():
    # AdamW shrinks theta by (1 - lr * wd) and then takes Adam's step without decay
    lr, wd = 0.01, 0.1
    adamw, plain = optimizers.AdamW(lr, weight_decay=wd), optimizers.Adam(lr)
    p, q = np.linspace(-1, 1, 30), np.linspace(-1, 1, 30)
    for g in varying_gradients(50):
        adamw.apply([p], [g.copy()])
        q *= 1 - lr * wd
        plain.apply([q], [g.copy()])
        np.testing.assert_array_equal(p, q)


def test_with_zero_gradients_adamw_shrinks_weights_geometrically_and_adam_does_not():
    lr, wd = 0.01, 0.1
    theta0 = np.linspace(-2, 2, 9)
    p, expected = theta0.copy(), theta0.copy()
    adamw = optimizers.AdamW(lr, weight_decay=wd)
    for _ in range(20):
        adamw.apply([p], [np.zeros_like(p)])
        expected *= 1 - lr * wd
        np.testing.assert_array_equal(p, expected)
    # Adam's decay goes through the normalised step: each weight moves by about lr per step
    # (m / sqrt(v) = sign(theta) at step 1), whatever its size
    q = theta0.copy()
    optimizers.Adam(lr, weight_decay=wd).apply([q], [np.zeros_like(q)])
    g = wd * theta0
    np.testing.assert_allclose(q, theta0 - lr * g / (np.abs(g) + 1e-8), rtol=0, atol=1e-15)
    assert not np.allclose(q, theta0 * (1 - lr * wd))


SAVE_CASES = [
    ("Adam", {"learning_rate": 0.01}),
    ("Nadam", {"learning_rate": 0.01}),
    ("Adam", {"learning_rate": {"class_name": "exponential_decay",
                                "config": {"initial_learning_rate": 0.02, "decay_steps": 5,
                                           "decay_rate": 0.5}}, "amsgrad": True}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    ("Adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.1}),
    ("Adadelta", {}),
    ("RMSprop", {"centered": True, "momentum": 0.5}),
    ("AdamW", {"learning_rate": 0.01}),
    ("Adamax", {}),
]


@pytest.mark.parametrize(("name", "kwargs"), SAVE_CASES,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(SAVE_CASES)])
def test_optimizer_state_survives_save_and_load(tmp_path, name, kwargs):
    model = twin_models()[0]
    model.compile(optimizers.get({"class_name": name, "config": kwargs}),
                  "categorical_crossentropy")
    data = batches(40)
    for xb, yb in data[:20]:
        model.train_on_batch(xb, yb)
    model.save(tmp_path / "m.safetensors")
    loaded = ff.load_model(tmp_path / "m.safetensors")
    assert loaded.optimizer.iterations == model.optimizer.iterations == 20
    for xb, yb in data[20:]:
        model.train_on_batch(xb, yb)
        loaded.train_on_batch(xb, yb)
    for w, v in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(w, v)
    assert model.optimizer.slots.keys() == loaded.optimizer.slots.keys()
    for slot, arrays in model.optimizer.slots.items():
        np.testing.assert_array_equal(arrays[0], loaded.optimizer.slots[slot][0])
    assert model.optimizer.get_state() == loaded.optimizer.get_state()


def test_nadam_state_scalar_is_saved(tmp_path):
    # mu_product is not a slot: without it a reloaded Nadam would restart its momentum schedule
    model = twin_models()[0]
    model.compile(optimizers.Nadam(0.01), "categorical_crossentropy")
    for xb, yb in batches(5):
        model.train_on_batch(xb, yb)
    model.save(tmp_path / "m.safetensors")
    mu = ff.load_model(tmp_path / "m.safetensors").optimizer.mu_product
    assert mu == model.optimizer.mu_product
    assert mu == math.prod(model.optimizer._mu(t) for t in range(1, 6))


# ---------------------------------------------------------------------------- configs
@pytest.mark.parametrize("cls", optimizers.ALL, ids=lambda c: c.name)
def test_round_trips_with_a_schedule_learning_rate(cls):
    schedule = schedules.LinearWarmup(schedules.CosineDecay(0.05, decay_steps=40, alpha=0.1),
                                      warmup_steps=5, start_factor=0.2)
    opt = cls(learning_rate=schedule, clipvalue=3.0)
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert type(again) is cls
    assert again.get_config() == opt.get_config()
    assert isinstance(again.learning_rate, schedules.LinearWarmup)
    # the rebuilt optimizer takes the same steps
    x, y = np.ones(5), np.ones(5)
    for _ in range(10):
        opt.apply([x], [quadratic_grad(x)])
        again.apply([y], [quadratic_grad(y)])
    np.testing.assert_array_equal(x, y)


# ---------------------------------------------------------------------------- validation
ALL_NAMES = [c.name for c in optimizers.ALL]
ADAM_FAMILY = ["Adam", "amsgrad", "AdamW", "Adamax", "Nadam"]
WITH_EPSILON = ["Adagrad", "Adadelta", "RMSprop", *ADAM_FAMILY]
BAD_ARGUMENTS = [
    *[(n, "learning_rate", v) for n in ALL_NAMES for v in (0.0, -0.1, float("nan"))],
    *[(n, "weight_decay", -0.01) for n in ALL_NAMES],
    *[(n, arg, v) for n in ALL_NAMES
      for arg in ("clipnorm", "clipvalue", "global_clipnorm") for v in (0.0, -1.0)],
    *[(n, beta, v) for n in ADAM_FAMILY for beta in ("beta_1", "beta_2") for v in (1.0, -0.1)],
    *[(n, "rho", v) for n in ("Adadelta", "RMSprop") for v in (1.0, -0.1)],
    *[(n, "epsilon", v) for n in WITH_EPSILON for v in (-1e-8, 0.0)],  # 0: 0 / 0 at step 1
    *[(n, "momentum", -0.1) for n in ("SGD", "RMSprop")],
    ("Adagrad", "initial_accumulator_value", -0.1),
    ("Nadam", "momentum_decay", -0.1),
]


@pytest.mark.parametrize(("name", "arg", "value"), BAD_ARGUMENTS,
                         ids=[f"{n}-{a}={v}" for n, a, v in BAD_ARGUMENTS])
def test_bad_hyperparameter_is_refused_naming_it(name, arg, value):
    with pytest.raises(FeedforwardError, match=f"^{re.escape(arg)}:"):
        optimizers.get({"class_name": name, "config": {arg: value}})

