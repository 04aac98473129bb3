"""Learning-rate schedules: parity with torch's schedulers, golden values for what torch lacks,
use by the optimizers step by step, validation and round trips through the registries."""

from __future__ import annotations

import json
import math
import re
from itertools import pairwise

import numpy as np
import pytest
import torch

from _helpers import PARITY_TOL, relative_difference
from feedforward import optimizers, schedules
from feedforward.errors import FeedforwardError
from feedforward.schedules import (
    Constant,
    CosineDecay,
    ExponentialDecay,
    InverseTimeDecay,
    LinearWarmup,
    PiecewiseConstantDecay,
    StepDecay,
)

STEPS = 100
LR0 = 0.1

pytestmark = pytest.mark.usefixtures("torch_float64")


# (id, our schedule, torch scheduler factory for an optimizer with lr = LR0)
TORCH_CASES = [
    ("step", StepDecay(LR0, step_size=7, gamma=0.5),
     lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5)),
    ("exponential", ExponentialDecay(LR0, decay_steps=1, decay_rate=0.95),
     lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.95)),
    ("cosine-floor", CosineDecay(LR0, decay_steps=STEPS, alpha=0.1),
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=STEPS, eta_min=0.1 * LR0)),
    ("cosine", CosineDecay(LR0, decay_steps=STEPS),
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=STEPS)),
    ("linear-warmup", LinearWarmup(LR0, warmup_steps=20, start_factor=0.1),
     lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=20)),
]
CASE_IDS = [c[0] for c in TORCH_CASES]


def torch_rates(make_scheduler, steps=STEPS):
    """Torch's learning rate after 0, 1, ..., ``steps`` calls of ``scheduler.step()``."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=LR0)
    scheduler = make_scheduler(opt)
    rates = [opt.param_groups[0]["lr"]]
    for _ in range(steps):
        opt.step()  # torch expects an optimizer step before each scheduler step
        scheduler.step()
        rates.append(opt.param_groups[0]["lr"])
    return rates


@pytest.mark.parametrize(("case_id", "schedule", "make_scheduler"), TORCH_CASES, ids=CASE_IDS)
def test_parity_with_torch_schedulers(case_id, schedule, make_scheduler):
    rates = torch_rates(make_scheduler)
    worst = max(relative_difference(schedule(t), r) for t, r in enumerate(rates))
    print(f"{case_id}: max relative difference {worst:.2e}")  # shown with pytest -s
    assert worst < 1e-12
    assert len(set(rates)) > 3  # the rate really changes over the run


@pytest.mark.parametrize(("case_id", "schedule", "make_scheduler"), TORCH_CASES, ids=CASE_IDS)
@pytest.mark.parametrize("kind", ["SGD", "Adam"])
def test_optimizer_uses_the_schedule_at_each_step(kind, case_id, schedule, make_scheduler):
    """An optimizer given a schedule takes its t-th update (from 0) with schedule(t): the same
    trajectory as torch's optimizer with the scheduler stepped after every update."""
    a = np.linspace(1.0, 10.0, 6)  # f(x) = 0.5 sum a x^2 - b.x, minimum at b / a
    b = np.linspace(-3.0, 2.0, 6)
    ours = optimizers.get({"class_name": kind, "config": {"learning_rate": schedule}})
    tx = torch.zeros(6, requires_grad=True)
    topt = (torch.optim.SGD([tx], lr=LR0) if kind == "SGD"
            else torch.optim.Adam([tx], lr=LR0))
    scheduler = make_scheduler(topt)
    x = np.zeros(6)
    for t in range(STEPS):
        assert ours.lr == schedule(t)
        ours.apply([x], [a * x - b])
        tx.grad = torch.from_numpy(a) * tx.detach() - torch.from_numpy(b)
        topt.step()
        scheduler.step()
        ref = tx.detach().numpy()
        assert relative_difference(x, ref) < PARITY_TOL, f"step {t}"
    # the scheduled run ends elsewhere than a constant-rate one would
    const = optimizers.get({"class_name": kind, "config": {"learning_rate": LR0}})
    y = np.zeros(6)
    for _ in range(STEPS):
        const.apply([y], [a * y - b])
    assert np.linalg.norm(x - y) > 1e-6


# ---------------------------------------------------------------------------- golden values
# (schedule, {step: rate}) worked out by hand from the formulas
GOLDEN = [
    (InverseTimeDecay(0.1, decay_steps=10, decay_rate=0.5),
     {0: 0.1, 10: 0.1 / 1.5, 15: 0.1 / 1.75, 20: 0.05, 100: 0.1 / 6}),
    (InverseTimeDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True),
     {0: 0.1, 9: 0.1, 10: 0.1 / 1.5, 19: 0.1 / 1.5, 20: 0.05}),
    (ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5),
     {0: 0.1, 5: 0.1 * math.sqrt(0.5), 10: 0.05, 25: 0.1 * 0.5 ** 2.5}),
    (ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True),
     {0: 0.1, 9: 0.1, 10: 0.05, 19: 0.05, 20: 0.025, 25: 0.025}),
    (PiecewiseConstantDecay(boundaries=[10, 20], values=[1.0, 0.5, 0.1]),
     {0: 1.0, 10: 1.0, 11: 0.5, 20: 0.5, 21: 0.1, 1000: 0.1}),
    # warm up from 0 to 0.1 over 10 steps, then cosine over 50 steps down to 0.1 * 0.1
    (CosineDecay(0.0, decay_steps=50, alpha=0.1, warmup_target=0.1, warmup_steps=10),
     {0: 0.0, 5: 0.05, 10: 0.1, 35: 0.1 * (0.1 + 0.9 * 0.5), 60: 0.01, 1000: 0.01}),
    (CosineDecay(0.1, decay_steps=40), {0: 0.1, 20: 0.05, 40: 0.0, 80: 0.0}),
    # warm up to inner(0) = 0.1 from 0.2 * 0.1 over 5 steps, then the inner schedule from 0
    (LinearWarmup(ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5), warmup_steps=5,
                  start_factor=0.2),
     {0: 0.02, 2: 0.1 * (0.2 + 0.8 * 2 / 5), 4: 0.1 * (0.2 + 0.8 * 4 / 5), 5: 0.1, 15: 0.05}),
    (LinearWarmup(StepDecay(0.1, step_size=10, gamma=0.1), warmup_steps=10),
     {0: 0.0, 5: 0.05, 10: 0.1, 19: 0.1, 20: 0.01}),
    (Constant(0.3), {0: 0.3, 10 ** 6: 0.3}),
]


@pytest.mark.parametrize(("schedule", "golden"), GOLDEN, ids=[repr(g[0]) for g in GOLDEN])
def test_golden_values(schedule, golden):
    for step, rate in golden.items():
        assert schedule(step) == pytest.approx(rate, rel=1e-14, abs=1e-17), f"step {step}"


def inverse_time(lr0, s, r, staircase):
    return lambda t: lr0 / (1 + r * (t // s if staircase else t / s))


def exponential(lr0, s, r, staircase):
    return lambda t: lr0 * r ** (t // s if staircase else t / s)


def cosine_with_warmup(lr0, s, alpha, peak, w):
    def rate(t):
        if t < w:
            return lr0 + (peak - lr0) * t / w
        return peak * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * min(t - w, s) / s)) + alpha)
    return rate


def piecewise(boundaries, values):
    # values[i] on (boundaries[i-1], boundaries[i]]
    return lambda t: values[sum(t > b for b in boundaries)]


def warmup(inner, w, f):
    return lambda t: inner(0) * (f + (1 - f) * t / w) if t < w else inner(t - w)


# (ours, the formula written independently here) over every step of a long run
FORMULAS = [
    (InverseTimeDecay(0.2, 7, 0.3), inverse_time(0.2, 7, 0.3, False)),
    (InverseTimeDecay(0.2, 7, 0.3, staircase=True), inverse_time(0.2, 7, 0.3, True)),
    (ExponentialDecay(0.2, 7, 0.8, staircase=True), exponential(0.2, 7, 0.8, True)),
    (ExponentialDecay(0.2, 7, 0.8), exponential(0.2, 7, 0.8, False)),
    (PiecewiseConstantDecay([5, 50, 120], [0.4, 0.3, 0.2, 0.1]),
     piecewise([5, 50, 120], [0.4, 0.3, 0.2, 0.1])),
    (CosineDecay(0.01, 150, alpha=0.05, warmup_target=0.3, warmup_steps=30),
     cosine_with_warmup(0.01, 150, 0.05, 0.3, 30)),
    (LinearWarmup(InverseTimeDecay(0.2, 7, 0.3), warmup_steps=25, start_factor=0.1),
     warmup(inverse_time(0.2, 7, 0.3, False), 25, 0.1)),
    (LinearWarmup(CosineDecay(0.2, 100, alpha=0.1), warmup_steps=25),
     warmup(cosine_with_warmup(0.2, 100, 0.1, 0.2, 0), 25, 0.0)),
]


@pytest.mark.parametrize(("schedule", "formula"), FORMULAS, ids=[repr(f[0]) for f in FORMULAS])
def test_matches_the_formula_at_every_step(schedule, formula):
    for t in range(300):
        assert schedule(t) == pytest.approx(formula(t), rel=1e-13), f"step {t}"


@pytest.mark.parametrize("schedule", [g[0] for g in GOLDEN[:6]], ids=repr)
def test_decaying_schedules_never_increase_after_warmup(schedule):
    start = getattr(schedule, "warmup_steps", 0)
    rates = [schedule(t) for t in range(start, 300)]
    assert all(b <= a for a, b in pairwise(rates))
    assert rates[-1] < rates[0]


# ---------------------------------------------------------------------------- validation
BAD_ARGUMENTS = [
    (Constant, {"learning_rate": 0.0}, "learning_rate"),
    (Constant, {"learning_rate": float("nan")}, "learning_rate"),
    (StepDecay, {"initial_learning_rate": -0.1}, "initial_learning_rate"),
    (StepDecay, {"step_size": 0}, "step_size"),
    (StepDecay, {"step_size": 2.5}, "step_size"),
    (StepDecay, {"gamma": 0.0}, "gamma"),
    (ExponentialDecay, {"initial_learning_rate": 0.0}, "initial_learning_rate"),
    (ExponentialDecay, {"decay_steps": 0}, "decay_steps"),
    (ExponentialDecay, {"decay_rate": -0.5}, "decay_rate"),
    (ExponentialDecay, {"decay_rate": float("inf")}, "decay_rate"),
    (InverseTimeDecay, {"decay_steps": -3}, "decay_steps"),
    (InverseTimeDecay, {"decay_rate": 0.0}, "decay_rate"),
    (CosineDecay, {"initial_learning_rate": -0.1}, "initial_learning_rate"),
    (CosineDecay, {"decay_steps": 0}, "decay_steps"),
    (CosineDecay, {"alpha": 1.5}, "alpha"),
    (CosineDecay, {"alpha": -0.1}, "alpha"),
    (CosineDecay, {"warmup_target": 0.0}, "warmup_target"),
    (CosineDecay, {"warmup_steps": -1}, "warmup_steps"),
    (PiecewiseConstantDecay, {"boundaries": [10], "values": [1.0]}, "values"),
    (PiecewiseConstantDecay, {"boundaries": [20, 10], "values": [1.0, 0.5, 0.1]}, "boundaries"),
    (PiecewiseConstantDecay, {"boundaries": [10, 10], "values": [1.0, 0.5, 0.1]}, "boundaries"),
    (PiecewiseConstantDecay, {"boundaries": [1.5], "values": [1.0, 0.5]}, "boundaries"),
    (PiecewiseConstantDecay, {"boundaries": [10], "values": [1.0, -0.5]}, "values"),
    (LinearWarmup, {"warmup_steps": -1}, "warmup_steps"),
    (LinearWarmup, {"start_factor": 1.5}, "start_factor"),
    (LinearWarmup, {"schedule": [0.1, 0.2]}, "schedule"),
    (LinearWarmup, {"schedule": -0.1}, "schedule"),
    # huge step counts, and arguments of the wrong shape (issue 17): an OverflowError or a
    # TypeError before
    (CosineDecay, {"warmup_steps": 10**400}, "warmup_steps"),
    (LinearWarmup, {"warmup_steps": 2**63}, "warmup_steps"),
    (ExponentialDecay, {"decay_steps": 10**400}, "decay_steps"),
    (StepDecay, {"step_size": 10**5000}, "step_size"),
    (PiecewiseConstantDecay, {"boundaries": 5, "values": [1.0]}, "boundaries"),
    (PiecewiseConstantDecay, {"boundaries": [5], "values": 1.0}, "values"),
    (LinearWarmup, {"schedule": None}, "schedule"),
]


@pytest.mark.parametrize(("cls", "kwargs", "arg"), BAD_ARGUMENTS,
                         ids=[f"{c.__name__}-{','.join(k)}" for c, k, _ in BAD_ARGUMENTS])
def test_bad_argument_is_refused_naming_it(cls, kwargs, arg):
    with pytest.raises(FeedforwardError, match=f"^{re.escape(arg)}:"):
        cls(**kwargs)


@pytest.mark.parametrize(("schedule", "arg"), [
    (ExponentialDecay(0.001, decay_steps=1, decay_rate=1e300), "decay_rate"),
    (ExponentialDecay(0.001, decay_steps=1, decay_rate=1e6), "decay_rate"),
    (StepDecay(0.01, step_size=1, gamma=1e200), "gamma"),
])
def test_a_rate_that_overflows_is_refused_naming_the_factor(schedule, arg):
    """A factor above 1 raises the rate every period; once it leaves the floats, the error
    names the factor (an OverflowError from float power before, issue 17)."""
    steps = iter(range(10**6))
    with pytest.raises(FeedforwardError, match=f"^{arg}: the learning rate overflows at step"):
        for step in steps:
            assert math.isfinite(schedule(step))
    assert next(steps) > 2  # it ran until the overflow, not before


def test_an_optimizer_whose_schedule_overflows_stops_with_the_library_error():
    opt = optimizers.SGD(learning_rate={"class_name": "exponential_decay", "config": {
        "initial_learning_rate": 0.001, "decay_steps": 1, "decay_rate": 1e300}})
    w, g = [np.ones(3)], [np.zeros(3)]
    opt.build(w)
    with pytest.raises(FeedforwardError, match="^decay_rate:"):
        for _ in range(5):
            opt.apply(w, g)


def test_unknown_schedule_name_lists_the_known_ones():
    with pytest.raises(FeedforwardError, match="unknown schedule 'nope'.*cosine_decay"):
        optimizers.Adam(learning_rate="nope")


# ---------------------------------------------------------------------------- round trips
EXAMPLES = [
    Constant(0.05),
    StepDecay(0.1, step_size=7, gamma=0.5),
    ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True),
    InverseTimeDecay(0.1, decay_steps=10, decay_rate=0.5),
    CosineDecay(0.0, decay_steps=50, alpha=0.1, warmup_target=0.1, warmup_steps=10),
    PiecewiseConstantDecay(boundaries=[10, 20], values=[1.0, 0.5, 0.1]),
    LinearWarmup(CosineDecay(0.2, 100, alpha=0.1), warmup_steps=25, start_factor=0.1),
    LinearWarmup(0.01, warmup_steps=5),
]


def test_examples_cover_every_registered_schedule():
    assert {type(s) for s in EXAMPLES} == set(schedules.ALL)


@pytest.mark.parametrize("schedule", EXAMPLES, ids=repr)
def test_schedule_round_trips_through_its_json_config(schedule):
    config = json.loads(json.dumps(schedules.serialize(schedule)))
    again = schedules.deserialize(config)
    assert type(again) is type(schedule)
    assert again.get_config() == schedule.get_config()
    assert [again(t) for t in range(200)] == [schedule(t) for t in range(200)]


@pytest.mark.parametrize("schedule", EXAMPLES, ids=repr)
def test_optimizer_with_a_schedule_round_trips(schedule):
    opt = optimizers.Adam(learning_rate=schedule)
    config = json.loads(json.dumps(optimizers.serialize(opt)))
    again = optimizers.deserialize(config)
    assert type(again.learning_rate) is type(schedule)
    assert again.get_config() == opt.get_config()
    x, y = np.ones(4), np.ones(4)
    for t in range(60):
        assert again.lr == opt.lr == schedule(t)
        opt.apply([x], [x - 0.5])
        again.apply([y], [y - 0.5])
    np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("name", ["cosine", "step", "exponential", "warmup", "inverse_time",
                                  "piecewise_constant", "constant"])
def test_schedule_by_name_as_learning_rate(name):
    opt = optimizers.SGD(learning_rate=name)
    assert isinstance(opt.learning_rate, schedules.Schedule)
    assert opt.lr == opt.learning_rate(0)
