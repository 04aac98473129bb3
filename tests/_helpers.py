"""Helpers shared by the layer and model tests."""

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
