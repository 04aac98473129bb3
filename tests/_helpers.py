"""Helpers shared by the tests."""

import contextlib
import json
import os
import tracemalloc
from pathlib import Path

import numpy as np

TOL = 1e-6  # gradient checks: largest relative error allowed
PARITY_TOL = 1e-10  # float64 agreement with torch
# the browser tests drive the system Chromium (make test installs it); no browser is downloaded
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run", "--disable-sync"]
NO_CHROMIUM = f"no system Chromium at {CHROMIUM} (make test installs it)"


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
