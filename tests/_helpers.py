"""Helpers shared by the tests."""

import contextlib
import json
import os
import socket
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np

TOL = 1e-6  # gradient checks against central differences: largest relative error allowed
PARITY_TOL = 1e-10  # float64 agreement with torch (relative)
# the browser tests drive the system Chromium (make test installs it); no browser is downloaded
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run", "--disable-sync"]
NO_CHROMIUM = f"no system Chromium at {CHROMIUM} (make test installs it)"


def ff_cli(*args, cwd, env=None, timeout=120):
    """Run ``python -m feedforward.cli ARGS`` in ``cwd``; returns the CompletedProcess (text)."""
    return subprocess.run([sys.executable, "-m", "feedforward.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=env)


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def relative_difference(a, b) -> float:
    """``||a - b|| / ||b||`` over all elements, in float64; ``||a - b||`` where ``b`` is zero."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / scale) if scale > 0 else float(np.linalg.norm(a - b))


def torch_linears(model):
    """torch twins of a model's Dense layers: float64 ``torch.nn.Linear`` layers holding the same
    parameters (kernel ``(in, out)`` -> weight ``(out, in)``), one per layer, in order."""
    import torch

    out = []
    for layer in model.layers:
        kernel = layer.params["kernel"]
        lin = torch.nn.Linear(*kernel.shape, bias=layer.use_bias, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(kernel.T.copy()))
            if layer.use_bias:
                lin.bias.copy_(torch.from_numpy(layer.params["bias"].copy()))
        out.append(lin)
    return out


def torch_grads(lins):
    """The gradients torch left in ``torch_linears``' layers, in the model's order and layout
    (kernel ``(in, out)``, then the bias where there is one)."""
    return [g for lin in lins for g in
            [lin.weight.grad.numpy().T] + ([lin.bias.grad.numpy()] if lin.bias is not None else [])]


def randomize(model, seed=0, scale=0.7):
    """Replace every parameter, biases included, by Normal(0, scale^2) draws."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, scale, w.shape) for w in model.get_weights()])
    return model


def record(name, **figures):
    """Write a test's measured speed figures to ``$FF_FIGURES/<name>.json``.

    Speed targets are judged by ``benchmarks/speed_targets.py``, which runs the measuring tests
    with ``FF_FIGURES`` set; the tests themselves assert behaviour only, so a busy machine cannot
    fail them. Without the variable nothing is written.
    """
    folder = os.environ.get("FF_FIGURES")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        Path(folder, f"{name}.json").write_text(json.dumps(figures, indent=1))


@contextlib.contextmanager
def peak_memory():
    """Measure the peak of Python's and NumPy's allocations inside a ``with`` block.

    Yields a dict whose ``"bytes"`` holds, after the block, the highest total allocated in it
    (NumPy reports its array buffers to ``tracemalloc``).
    """
    result = {"bytes": None}
    tracemalloc.start()
    try:
        yield result
        result["bytes"] = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
