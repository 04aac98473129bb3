"""The BLAS bound: the time an epoch's matrix products alone take with NumPy's float32 matmul.

Per training step on a batch of ``n`` rows, a Dense layer with kernel ``W`` of shape
``(a, b)``, input ``x`` ``(n, a)`` and pre-activation gradient ``g`` ``(n, b)`` does

- forward:          ``z = x @ W``        ``(n, a) x (a, b)``, ``2 n a b`` FLOPs;
- weight gradient:  ``dW = x.T @ g``     ``(a, n) x (n, b)``, ``2 n a b`` FLOPs;
- input gradient:   ``dx = g @ W.T``     ``(n, b) x (b, a)``, ``2 n a b`` FLOPs, except in the
  first layer, whose input gradient nobody reads (feedforward sets ``input_grad = False``).

The bound runs exactly these products, with the same operand layouts (transposed views, as
feedforward passes them) on the same contiguous batches of the same data, over one epoch, and
times every call. Each product's time per step is the median of its calls over the epoch's
full batches, so a call slowed by another process (a preempted BLAS thread) does not inflate
the bound; the bound is then ``full steps x sum of medians + the last partial step``. The plain
sum of all calls is reported beside it (``raw_seconds``). Bias additions, activations, the loss
and the optimizer are left out: they are what the library should make cheap.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

ARCHITECTURE = (784, 512, 256, 10)


def gemm_plan(sizes=ARCHITECTURE, input_grad=None) -> list[tuple[str, int, str]]:
    """The matrix products of one training step.

    Parameters
    ----------
    sizes : tuple of int
        Layer widths, input first: ``(784, 512, 256, 10)``.
    input_grad : list of bool, optional
        Per Dense layer, whether its input gradient is computed; default all but the first.

    Returns
    -------
    list of ``(name, layer, kind)`` with ``kind`` in ``{"forward", "weight_grad", "input_grad"}``,
    in execution order (forward pass, then backward from the last layer).
    """
    layers = len(sizes) - 1
    if input_grad is None:
        input_grad = [i > 0 for i in range(layers)]
    plan = [(f"L{i + 1} forward x@W", i, "forward") for i in range(layers)]
    for i in reversed(range(layers)):
        plan.append((f"L{i + 1} weight grad x.T@g", i, "weight_grad"))
        if input_grad[i]:
            plan.append((f"L{i + 1} input grad g@W.T", i, "input_grad"))
    return plan


def step_flops(batch: int, sizes=ARCHITECTURE, input_grad=None) -> int:
    """FLOPs (multiply and add counted apart) of one step's matrix products for ``batch`` rows."""
    return sum(2 * batch * sizes[i] * sizes[i + 1] for _, i, _ in gemm_plan(sizes, input_grad))


def epoch_flops(rows: int, batch_size: int, sizes=ARCHITECTURE, input_grad=None) -> int:
    """FLOPs of one epoch's matrix products, the last partial batch included."""
    full, rest = divmod(rows, batch_size)
    return full * step_flops(batch_size, sizes, input_grad) + step_flops(rest, sizes, input_grad)


class _Operands:
    """Weights, activations and gradients for one batch size; values are irrelevant to speed but
    kept moderate (no overflow, no subnormals)."""

    def __init__(self, sizes, n, rng):
        f32 = np.float32
        self.w = [(rng.standard_normal((a, b), dtype=f32) * f32(0.05))
                  for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
        self.dw = [np.empty_like(w) for w in self.w]
        self.z = [rng.standard_normal((n, b), dtype=f32) for b in sizes[1:]]
        self.g = [rng.standard_normal((n, b), dtype=f32) * f32(0.01) for b in sizes[1:]]
        self.dx = [np.empty((n, a), dtype=f32) for a in sizes[:-1]]


def _run_step(plan, ops, x, clock) -> list[float]:
    """One step's products; the seconds of each (aligned with ``plan``)."""
    inputs = [x] + ops.z[:-1]
    seconds = []
    for _, i, kind in plan:
        t = clock()
        if kind == "forward":
            np.matmul(inputs[i], ops.w[i], out=ops.z[i])
        elif kind == "weight_grad":
            np.matmul(inputs[i].T, ops.g[i], out=ops.dw[i])
        else:
            np.matmul(ops.g[i], ops.w[i].T, out=ops.dx[i])
        seconds.append(clock() - t)
    return seconds


def time_epoch(x: np.ndarray, batch_size: int, sizes=ARCHITECTURE, input_grad=None,
               warmup_steps=3, seed=0) -> dict:
    """Time one epoch's matrix products over contiguous batches of ``x``.

    Parameters
    ----------
    x : ndarray of shape (rows, sizes[0]), float32
        The training inputs, batched in order as contiguous slices.

    Returns
    -------
    dict with ``seconds`` (the bound), ``raw_seconds`` (the plain sum of every call), ``flops``,
    ``gflops`` (the measured sgemm rate, ``flops / seconds``), ``steps`` and ``per_gemm``
    (name, FLOPs, seconds and GFLOP/s of each product over the epoch).
    """
    rows = x.shape[0]
    plan = gemm_plan(sizes, input_grad)
    rng = np.random.default_rng(seed)
    full, rest = divmod(rows, batch_size)
    by_size = {n: _Operands(sizes, n, rng) for n in {batch_size, rest} if n}
    clock = time.perf_counter
    for _ in range(warmup_steps):
        _run_step(plan, by_size[batch_size], x[:batch_size], clock)
    calls = [_run_step(plan, by_size[len(xb)], xb, clock)
             for xb in (x[s:s + batch_size] for s in range(0, rows, batch_size))]
    tail = calls.pop() if rest else [0.0] * len(plan)
    per_gemm = []
    for j, (name, i, _) in enumerate(plan):
        seconds = (full * statistics.median(c[j] for c in calls) if full else 0.0) + tail[j]
        flops = 2 * rows * sizes[i] * sizes[i + 1]
        per_gemm.append({"name": name, "flops": flops, "seconds": seconds,
                         "gflops": flops / seconds / 1e9})
    seconds = sum(g["seconds"] for g in per_gemm)
    flops = epoch_flops(rows, batch_size, sizes, input_grad)
    return {"seconds": seconds, "raw_seconds": sum(map(sum, calls)) + sum(tail),
            "flops": flops, "gflops": flops / seconds / 1e9, "steps": full + bool(rest),
            "per_gemm": per_gemm}
