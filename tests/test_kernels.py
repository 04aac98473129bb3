"""The compiled optimizer loops give exactly what the NumPy rules give, bit for bit.

Every optimizer configuration of the torch parity tests runs twice from the same state on the
same gradients, once through ``feedforward.kernels`` and once through NumPy, in float32 and
float64; parameters and every slot must be identical. The torch parity tests themselves run
with the kernels on, so both paths are tied to torch.optim.
"""

from __future__ import annotations

import copy
import subprocess
import sys

import numpy as np
import pytest

from feedforward import kernels, optimizers
from feedforward.errors import FeedforwardError
from test_optimizers import PARITY_CASES


@pytest.fixture
def calls(monkeypatch):
    """The rule names that went through the compiled loops."""
    seen = []
    run = kernels.run

    def spy(rule, arrays, scalars):
        seen.append(rule)
        run(rule, arrays, scalars)

    monkeypatch.setattr(kernels, "run", spy)
    return seen


@pytest.fixture
def kernels_on():
    previous = kernels.use(True)
    yield
    kernels.use(previous)


def test_the_compiled_module_was_built():
    # make test builds it with gcc; a silent fallback to NumPy would hide a broken build
    assert kernels.available(), "feedforward._kernels is missing: pip install -e . with gcc"


def trajectory(opt, dtype, use, steps=25, n=3001, weird=False):
    """Params and slots after ``steps`` updates of a copy of ``opt`` on seeded gradients."""
    previous = kernels.use(use)
    try:
        opt = copy.deepcopy(opt)
        rng = np.random.default_rng(0)
        p = rng.standard_normal(n).astype(dtype)
        for step in range(steps):
            g = rng.standard_normal(n).astype(dtype)
            if weird:  # zeros, a huge value and a NaN late in the run
                g[::7] = 0
                g[5] = 1e30 if dtype == np.float64 else 1e18
                if step == steps - 2:
                    g[11] = np.nan
            opt.apply([p], [g])
        return p, {k: v[0].copy() for k, v in opt.slots.items()}
    finally:
        kernels.use(previous)


CASES = [(c[0], c[1], c[2]) for c in PARITY_CASES]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("case_id", "name", "kwargs"), CASES, ids=[c[0] for c in CASES])
def test_compiled_and_numpy_rules_agree_bit_for_bit(case_id, name, kwargs, dtype, calls):
    opt = optimizers.get({"class_name": name, "config": kwargs})
    p_c, slots_c = trajectory(opt, dtype, use=True)
    assert calls and set(calls) == {opt.kernel}, f"{case_id}: the compiled loop did not run"
    n_calls = len(calls)
    p_n, slots_n = trajectory(opt, dtype, use=False)
    assert len(calls) == n_calls, f"{case_id}: use(False) still ran the compiled loop"
    assert p_c.dtype == dtype
    np.testing.assert_array_equal(p_c, p_n)
    assert slots_c.keys() == slots_n.keys()
    for k in slots_c:
        np.testing.assert_array_equal(slots_c[k], slots_n[k], err_msg=f"{case_id} slot {k}")


@pytest.mark.parametrize(("case_id", "name", "kwargs"), CASES, ids=[c[0] for c in CASES])
def test_zeros_huge_values_and_nan_agree_too(case_id, name, kwargs, kernels_on):
    opt = optimizers.get({"class_name": name, "config": kwargs})
    p_c, slots_c = trajectory(opt, np.float32, use=True, weird=True)
    p_n, slots_n = trajectory(opt, np.float32, use=False, weird=True)
    assert not np.isfinite(p_n).all(), "the NaN gradient should reach the parameters"
    np.testing.assert_array_equal(p_c, p_n)  # NaN where NumPy has NaN, inf where it has inf
    for k in slots_c:
        np.testing.assert_array_equal(slots_c[k], slots_n[k], err_msg=f"{case_id} slot {k}")


def test_arrays_the_loops_cannot_take_go_through_numpy(calls, kernels_on):
    rng = np.random.default_rng(1)
    base = rng.standard_normal((6, 8))
    g = rng.standard_normal((6, 8))
    strided, contiguous = base.copy()[:, ::2], np.ascontiguousarray(base[:, ::2])
    a, b = optimizers.Adam(0.1), optimizers.Adam(0.1)
    a.apply([strided], [np.ascontiguousarray(g[:, ::2])])
    assert calls == []  # a strided view: NumPy
    b.apply([contiguous], [g[:, ::2]])
    assert calls == []  # a strided gradient: NumPy
    shared = rng.standard_normal(48)
    expected = shared - shared * 0.1
    optimizers.SGD(0.1).apply([shared], [shared])  # the gradient is the weights themselves
    assert calls == []
    np.testing.assert_array_equal(shared, expected)
    frozen = rng.standard_normal(48)
    frozen.flags.writeable = False  # read-only memory cannot be handed to ctypes
    optimizers.Adam(0.1).apply([rng.standard_normal(48)], [frozen])
    optimizers.Adam(0.1).apply([np.empty(0)], [np.empty(0)])
    assert calls == []
    ints = np.arange(6)
    with pytest.raises(TypeError):
        optimizers.SGD(0.1).apply([ints], [np.ones(6)])  # integer weights: refused by NumPy
    assert calls == []
    kernels.use(False)
    c = optimizers.Adam(0.1)
    ref = base[:, ::2].copy()
    c.apply([ref], [np.ascontiguousarray(g[:, ::2])])
    np.testing.assert_array_equal(strided, ref)


def test_a_training_run_uses_the_compiled_loop(calls, kernels_on):
    import feedforward as ff

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 5)), rng.integers(0, 3, 64)
    model = ff.Sequential([ff.Dense(8, activation="relu"), ff.Dense(3, activation="softmax")],
                          seed=0)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert calls == ["adam"] * 8


def test_use_returns_the_setting_it_replaces():
    previous = kernels.use(True)
    try:
        assert kernels.enabled() is True
        assert kernels.use(False) is True
        assert kernels.enabled() is False
        assert kernels.use(False) is False
        assert kernels.use(True) is False
        assert kernels.enabled() is True
    finally:
        kernels.use(previous)
    assert kernels.enabled() is previous


def test_use_refuses_when_the_module_is_missing(monkeypatch, calls):
    before = kernels.enabled()
    monkeypatch.setattr(kernels, "_available", False)
    with pytest.raises(FeedforwardError, match="use: the compiled kernels were not built"):
        kernels.use(True)
    assert kernels.enabled() is before  # the refused call changed nothing
    assert kernels.use(False) is before  # and use(False) says what it replaced
    p, g = np.linspace(-1, 1, 64), np.linspace(2, -2, 64)
    optimizers.Adam(0.1).apply([p], [g])
    assert calls == []  # off: the NumPy rule ran
    monkeypatch.undo()
    kernels.use(before)


def test_the_environment_variable_turns_the_loops_off():
    code = "from feedforward import kernels; print(kernels.available(), kernels.enabled())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"FEEDFORWARD_KERNELS": "numpy", "PATH": ""}).stdout.split()
    assert out == [str(kernels.available()), "False"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_subnormal_moments_are_flushed_to_zero_and_the_caller_mode_restored(dtype, kernels_on):
    # a moment decaying through the subnormal range costs ~100 cycles per operation on Intel
    # CPUs; the compiled loop flushes it to zero, the NumPy rule keeps it
    tiny = np.finfo(dtype).tiny
    p, g = np.ones(64, dtype), np.zeros(64, dtype)
    opt = optimizers.Adam(0.1)
    opt.build([p])
    opt.slots["m"][0][:] = tiny / 4  # subnormal
    opt.slots["v"][0][:] = 1.0
    reference = copy.deepcopy(opt)
    p_ref = p.copy()
    opt.apply([p], [g])
    kernels.use(False)
    reference.apply([p_ref], [g])
    assert (opt.slots["m"][0] == 0).all()
    assert (reference.slots["m"][0] > 0).all() and (reference.slots["m"][0] < tiny).all()
    np.testing.assert_array_equal(p, p_ref)  # a step of ~1e-38 on weights of 1 is lost anyway
    # the loop restored the caller's floating-point mode: NumPy still produces subnormals
    assert np.array([tiny], dtype)[0] * dtype(0.25) > 0


def test_without_the_compiled_module_training_runs_on_numpy_and_agrees():
    # as on a machine without a C compiler: the import of the module fails
    code = """
import sys
sys.modules["feedforward._kernels"] = None
import numpy as np
import feedforward as ff
rng = np.random.default_rng(0)
x, y = rng.standard_normal((64, 5)), rng.integers(0, 3, 64)
model = ff.Sequential([ff.Dense(8, activation="relu"), ff.Dense(3, activation="softmax")], seed=0)
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(x, y, epochs=2, batch_size=16, verbose=0)
print(ff.kernels.available(), ff.kernels.enabled(), model.params.tobytes().hex())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[:2] == ["False", "False"]
    import feedforward as ff

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 5)), rng.integers(0, 3, 64)
    model = ff.Sequential([ff.Dense(8, activation="relu"), ff.Dense(3, activation="softmax")],
                          seed=0)
    model.compile("adam", "sparse_categorical_crossentropy")
    previous = kernels.use(True)
    try:
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    finally:
        kernels.use(previous)
    assert out[2] == model.params.tobytes().hex()  # the same weights, bit for bit
