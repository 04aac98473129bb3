"""The doctor's labelled scenarios: small runs that each provoke one failure mode, or none.

Each :class:`Scenario` is a run of the experiment recipe (the options of
``feedforward train``, trained exactly as ``feedforward train --doctor`` trains them) and its
ground truth: the failure mode the setup provokes (``mode``), the findings the doctor must
name (``expect``), and the other findings that are also true of the setup (``accept``: a
deep sigmoid network's units saturate beside its vanishing gradient). Anything else the
doctor names is a false finding; on a ``healthy`` run, anything at all is.

The labels were written from the setups, before any was run, by these rules:

- vanishing gradients: five or more sigmoid layers (f' <= 0.25 per layer);
- exploding gradients: plain SGD far past the stable rate, or kernels several times larger
  than He's in a deep ReLU stack (the forward pass grows by that factor per layer);
- dead ReLUs: hidden biases set well below the spread of the pre-activations;
- saturation: tanh / sigmoid layers with kernels 20-30 times Glorot's, or fed raw 0-16
  pixels;
- learning rate too high / too low: an optimizer's rate 30x or more above / below a rate
  that trains the same network well;
- symmetric initialization: kernels initialized to zeros or ones;
- overfitting: a network of hundreds of units, without L2, on 90-180 training rows (noisy
  points or labels);
- underfitting: no hidden layer (or a bottleneck of 2 units) on data that is not linear;
- unscaled inputs: ``scaling='none'`` on features with a spread of hundreds or more;
- over-regularization: a penalty, dropout rate or max-norm bound that outweighs the data
  (L2 of 0.3 and 3, L1 of 0.01 to 1, dropout of 0.8 and 0.9, max-norm of 0.01 to 0.05);
- output mismatch: an output activation whose range cannot reach the targets (relu or
  sigmoid under negative targets, tanh or sigmoid under targets far beyond 1);
- unscaled targets: regression targets multiplied by 1e5 or more;
- class imbalance: a class cut to 2-5 % of the rows of a set where it overlaps the others
  (noisy circle, spiral);
- deep narrow network: 8 or more ReLU-family layers of 6-8 units on digits.

The last three modes were added with their rules, from a review's runs (diabetes' targets
times 1e6, 3 % positives, 20 layers of 8 on digits): their scenarios are calibration, not
held out.

``early`` marks the modes the issue wants named by the end of epoch 2. ``fast`` marks the
subset that ``make test`` runs (tests/test_doctor_benchmark.py). Healthy runs carry
``min_score``, the final validation accuracy (R² for regression) a sound setup reaches: a
"healthy" run below it would be a broken label, and the benchmark reports it.

Setups made stronger after a first run showed no fault (no label changed; [the first
setup]): ``exploding_wine_deep_init3`` [4 layers: trained to 91 %]; ``dead_breast_bias4``
[bias -2: 8 % of units dead]; ``saturation_*_init30``, ``_init20`` [8x, 6x, 4x: 24-47 % of
outputs saturated]; ``lrhigh_circle_tanh_sgd8`` [SGD 3, the issue's playground run: through
the recipe, with standard scaling, 100 % validation accuracy, the loss swinging 0.06-0.3];
``lrhigh_iris_adam1`` [SGD 2: 97 %]; ``lrlow_multigauss_sgd1e-4`` [plane, SGD 1e-3: R² 0.987,
as the untrained net already had 0.93]; ``overfit_digits_noisy_labels`` [120 clean digits:
the validation loss went flat, not up]; ``healthy_multigauss_relu_adam`` [32+32 for 30
epochs: R² 0.66]; ``overreg_dropout_spiral_0.9`` [iris, 16 units, dropout 0.9: 93 %, as
healthy]. ``lrhigh_plane_sgd_momentum`` [SGD 0.5, momentum 0.9: R² 0.998; any
higher rate diverged at once] was dropped, ``exploding_iris_sgd7`` added.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

MODES = ("vanishing_gradients", "exploding_gradients", "dead_relus", "saturation",
         "learning_rate_too_high", "learning_rate_too_low", "symmetric_initialization",
         "overfitting", "underfitting", "unscaled_inputs", "over_regularization",
         "output_mismatch", "unscaled_targets", "class_imbalance", "deep_narrow_network")
HEALTHY = "healthy"
# named by the end of epoch 2, as issue 19 requires
EARLY = {"vanishing_gradients", "exploding_gradients", "dead_relus", "unscaled_inputs",
         "learning_rate_too_high", "symmetric_initialization", "over_regularization"}


@dataclass(frozen=True)
class Scenario:
    """One labelled run.

    Attributes
    ----------
    id, mode, severity : str
        ``mode``: one of :data:`MODES` or ``"healthy"``; ``severity``: mild, severe or none.
    options : dict
        Options of the recipe (``feedforward.config``), over its defaults.
    expect, accept : tuple of str
        Findings the doctor must name at the end (the mode; none when healthy), and other
        findings true of the setup (not counted as false).
    early, fast : bool
        The mode must be named by the end of epoch 2; the run is in ``make test``'s subset.
    data : callable, optional
        ``Data -> Data``: changes the dataset before the split (features times 1000).
    weights : callable, optional
        ``(weights, rng) -> weights``: changes the built model's initial weights (Keras order,
        kernel_1, bias_1, ...), for what no option expresses.
    min_score : float, optional
        Healthy runs: the final validation accuracy (or R²) that shows the setup is sound.
    note : str
        Why the setup has its label.
    """

    id: str
    mode: str
    severity: str
    options: dict
    expect: tuple = ()
    accept: tuple = ()
    early: bool = False
    fast: bool = False
    data: Callable | None = None
    weights: Callable | None = None
    min_score: float | None = None
    note: str = ""


def fault(id, mode, severity, note, *, accept=(), fast=False, data=None, weights=None,
          **options) -> Scenario:
    """A scenario that provokes ``mode``, for a fixed number of epochs (no early stopping
    unless ``early_stopping=True``): the doctor must name ``mode``."""
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    options = {"early_stopping": False, **options}
    return Scenario(id, mode, severity, options, (mode,), tuple(accept), mode in EARLY, fast,
                    data, weights, None, note)


def healthy(id, min_score, note, *, fast=False, data=None, **options) -> Scenario:
    """A sound setup that trains well: the doctor must name nothing."""
    return Scenario(id, HEALTHY, "none", options, (), (), False, fast, data, None, min_score,
                    note)


# ---------------------------------------------------------------------------- hooks
def scale_features(factor):
    """A ``data`` hook: every feature multiplied by ``factor``."""
    def hook(data):
        return replace(data, x=np.asarray(data.x, dtype=np.float64) * factor)
    return hook


def scale_targets(factor):
    """A ``data`` hook: regression targets multiplied by ``factor``."""
    def hook(data):
        return replace(data, y=np.asarray(data.y, dtype=np.float64) * factor)
    return hook


def noisy_labels(fraction, seed=0):
    """A ``data`` hook: ``fraction`` of the labels replaced by labels drawn at random."""
    def hook(data):
        rng = np.random.default_rng(seed)
        y = np.array(data.y)
        rows = rng.choice(len(y), int(fraction * len(y)), replace=False)
        y[rows] = rng.choice(np.unique(y), len(rows))
        return replace(data, y=y)
    return hook


def rare_class(label, share, seed=0):
    """A ``data`` hook: rows of class ``label`` dropped at random until they make up
    ``share`` of the rows."""
    def hook(data):
        rng = np.random.default_rng(seed)
        y = np.asarray(data.y)
        rare, rest = np.flatnonzero(y == label), np.flatnonzero(y != label)
        keep = int(round(share * len(rest) / (1 - share)))
        rows = np.sort(np.r_[rest, rng.choice(rare, min(keep, len(rare)), replace=False)])
        return replace(data, x=np.asarray(data.x)[rows], y=y[rows])
    return hook


def hidden_bias(value):
    """A ``weights`` hook: every hidden layer's bias set to ``value``."""
    def hook(weights, rng):
        out = [w.copy() for w in weights]
        for i in range(1, len(out) - 2, 2):
            out[i][:] = value
        return out
    return hook


def hidden_kernel_scale(factor):
    """A ``weights`` hook: every hidden layer's kernel multiplied by ``factor``."""
    def hook(weights, rng):
        return [w * factor if i % 2 == 0 and i < len(weights) - 2 else w.copy()
                for i, w in enumerate(weights)]
    return hook


# ---------------------------------------------------------------------------- the runs
SIGMOID_ACCEPT = ("saturation",)

FAULTS = [
    # vanishing gradients
    fault("vanishing_digits_sigmoid10", "vanishing_gradients", "severe",
          "10 sigmoid layers of 32 (the issue's run, 3 epochs)", accept=SIGMOID_ACCEPT,
          fast=True, dataset="digits", layers=[32] * 10, activation="sigmoid", epochs=3),
    fault("vanishing_digits_sigmoid6", "vanishing_gradients", "mild", "6 sigmoid layers of 32",
          accept=SIGMOID_ACCEPT, dataset="digits", layers=[32] * 6, activation="sigmoid",
          epochs=8),
    fault("vanishing_circle_sigmoid8_sgd", "vanishing_gradients", "severe",
          "8 sigmoid layers of 8 with SGD", accept=SIGMOID_ACCEPT, dataset="circle",
          layers=[8] * 8, activation="sigmoid", optimizer="sgd", learning_rate=0.1, epochs=10),
    fault("vanishing_wine_sigmoid5", "vanishing_gradients", "mild", "5 sigmoid layers of 16",
          accept=SIGMOID_ACCEPT, dataset="wine", layers=[16] * 5, activation="sigmoid",
          epochs=10),
    # exploding gradients
    fault("exploding_digits_sgd10", "exploding_gradients", "severe", "SGD at rate 10",
          accept=("learning_rate_too_high",), fast=True, dataset="digits", layers=[64],
          optimizer="sgd", learning_rate=10.0, epochs=5),
    fault("exploding_diabetes_sgd", "exploding_gradients", "severe",
          "SGD at 0.01 on raw targets of 25-346: steps of hundreds", accept=(
              "learning_rate_too_high",), dataset="diabetes", layers=[32], optimizer="sgd",
          learning_rate=0.01, epochs=10),
    fault("exploding_digits_deep_init4", "exploding_gradients", "severe",
          "6 ReLU layers with kernels 4x He's: the forward pass grows 4x per layer",
          dataset="digits", layers=[64] * 6, optimizer="sgd", learning_rate=0.01, epochs=5,
          weights=hidden_kernel_scale(4.0)),
    fault("exploding_wine_deep_init3", "exploding_gradients", "severe",
          "6 ReLU layers with kernels 3x He's", dataset="wine", layers=[32] * 6,
          optimizer="sgd", learning_rate=0.01, epochs=5, weights=hidden_kernel_scale(3.0)),
    fault("exploding_iris_sgd7", "exploding_gradients", "mild",
          "SGD at 7: the loss grows a million-fold, still finite",
          accept=("learning_rate_too_high",), dataset="iris", layers=[16], optimizer="sgd",
          learning_rate=7.0, epochs=15),
    # dead ReLUs
    fault("dead_digits_bias10", "dead_relus", "severe", "hidden bias -10", fast=True,
          dataset="digits", layers=[64], epochs=5, weights=hidden_bias(-10.0)),
    fault("dead_circle_bias3", "dead_relus", "mild", "hidden biases -3 (pre-activations ~1.4)",
          dataset="circle", layers=[16, 16], epochs=10, weights=hidden_bias(-3.0)),
    fault("dead_wine_bias4", "dead_relus", "severe", "hidden biases -4", dataset="wine",
          layers=[32, 32], epochs=10, weights=hidden_bias(-4.0)),
    fault("dead_breast_bias4", "dead_relus", "mild", "hidden bias -4 in one wide layer",
          dataset="breast_cancer", layers=[64], epochs=10, weights=hidden_bias(-4.0)),
    # saturation
    fault("saturation_digits_tanh_raw", "saturation", "mild",
          "tanh on raw 0-16 pixels: pre-activations ~8", accept=("unscaled_inputs",),
          dataset="digits", layers=[64], activation="tanh", scaling="none", epochs=5),
    fault("saturation_iris_tanh_init30", "saturation", "severe", "tanh kernels 30x Glorot's",
          fast=True, dataset="iris", layers=[32], activation="tanh", epochs=10,
          weights=hidden_kernel_scale(30.0)),
    fault("saturation_wine_sigmoid_init30", "saturation", "severe",
          "2 sigmoid layers with kernels 30x Glorot's", accept=("vanishing_gradients",),
          dataset="wine", layers=[32, 32], activation="sigmoid", epochs=10,
          weights=hidden_kernel_scale(30.0)),
    fault("saturation_circle_tanh_init20", "saturation", "mild", "tanh kernels 20x Glorot's",
          dataset="circle", layers=[16], activation="tanh", epochs=10,
          weights=hidden_kernel_scale(20.0)),
    # learning rate too high
    fault("lrhigh_circle_tanh_sgd8", "learning_rate_too_high", "severe",
          "SGD at 8 with tanh on circle", accept=("exploding_gradients",), fast=True,
          dataset="circle", layers=[8, 8], activation="tanh", optimizer="sgd",
          learning_rate=8.0, epochs=15),
    fault("lrhigh_iris_adam1", "learning_rate_too_high", "mild", "Adam at 1 on iris",
          accept=("exploding_gradients",), dataset="iris", layers=[16], learning_rate=1.0,
          epochs=15),
    fault("lrhigh_digits_adam01", "learning_rate_too_high", "mild", "Adam at 0.1 (100x)",
          accept=("exploding_gradients", "dead_relus"), dataset="digits", layers=[64],
          learning_rate=0.1, epochs=10),
    fault("lrhigh_xor_rmsprop03", "learning_rate_too_high", "mild", "RMSprop at 0.3",
          accept=("exploding_gradients",), dataset="xor", layers=[8, 8], activation="tanh",
          optimizer="rmsprop", learning_rate=0.3, epochs=15),
    # learning rate too low
    fault("lrlow_digits_sgd1e-5", "learning_rate_too_low", "severe", "SGD at 1e-5",
          fast=True, dataset="digits", layers=[64], optimizer="sgd", learning_rate=1e-5,
          epochs=10),
    fault("lrlow_wine_sgd3e-4", "learning_rate_too_low", "mild", "SGD at 3e-4, 4 steps an "
          "epoch", dataset="wine", layers=[32], optimizer="sgd", learning_rate=3e-4,
          epochs=20),
    fault("lrlow_circle_adam1e-5", "learning_rate_too_low", "severe", "Adam at 1e-5",
          dataset="circle", layers=[8, 8], learning_rate=1e-5, epochs=20),
    fault("lrlow_multigauss_sgd1e-4", "learning_rate_too_low", "mild",
          "SGD at 1e-4 on a regression", dataset="multi_gaussian", layers=[32, 32],
          optimizer="sgd", learning_rate=1e-4, epochs=20),
    # symmetric initialization
    fault("symmetric_digits_zeros_tanh", "symmetric_initialization", "severe",
          "every kernel zeros", fast=True, dataset="digits", layers=[32], activation="tanh",
          initializer="zeros", epochs=5),
    fault("symmetric_iris_ones_relu", "symmetric_initialization", "mild",
          "every kernel ones: the units move as one", dataset="iris", layers=[16, 16],
          initializer="ones", epochs=10),
    fault("symmetric_circle_zeros_sgd", "symmetric_initialization", "severe",
          "every kernel zeros, SGD", dataset="circle", layers=[8, 8], activation="tanh",
          initializer="zeros", optimizer="sgd", learning_rate=0.1, epochs=10),
    fault("symmetric_breast_ones_sigmoid", "symmetric_initialization", "mild",
          "every kernel ones, sigmoid", dataset="breast_cancer", layers=[32],
          activation="sigmoid", initializer="ones", epochs=10),
    # overfitting
    fault("overfit_circle_noisy", "overfitting", "severe",
          "2x128 ReLU on 120 noisy points (noise 0.5), no L2", fast=True, dataset="circle",
          samples=200, noise=0.5, val=0.4, test=0.0, layers=[128, 128], learning_rate=0.01,
          l2=0.0, batch_size=16, epochs=60),
    fault("overfit_digits_noisy_labels", "overfitting", "severe",
          "2x256 ReLU on 180 digits, 30 % of labels random, no L2", dataset="digits",
          samples=300, val=0.4, test=0.0, layers=[256, 256], learning_rate=0.003, l2=0.0,
          batch_size=16, epochs=40, data=noisy_labels(0.3)),
    fault("overfit_breast_small", "overfitting", "mild", "2x256 ReLU on 90 rows, no L2",
          dataset="breast_cancer", samples=150, val=0.4, test=0.0, layers=[256, 256],
          learning_rate=0.003, l2=0.0, batch_size=16, epochs=60),
    fault("overfit_spiral_noisy", "overfitting", "severe",
          "2x128 ReLU on 120 noisy spiral points, no L2", dataset="spiral", samples=200,
          noise=0.5, val=0.4, test=0.0, layers=[128, 128], learning_rate=0.01, l2=0.0,
          batch_size=16, epochs=80),
    # underfitting
    fault("underfit_spiral_linear", "underfitting", "severe", "no hidden layer on spiral",
          fast=True, dataset="spiral", layers=[], learning_rate=0.01, epochs=30),
    fault("underfit_circle_linear", "underfitting", "severe", "no hidden layer on circle",
          dataset="circle", layers=[], learning_rate=0.01, epochs=30),
    fault("underfit_digits_bottleneck2", "underfitting", "mild", "one hidden layer of 2 units",
          dataset="digits", layers=[2], activation="tanh", learning_rate=0.01, epochs=30),
    fault("underfit_multigauss_linear", "underfitting", "severe",
          "no hidden layer on six bumps (regression)", dataset="multi_gaussian", layers=[],
          learning_rate=0.01, epochs=30),
    fault("underfit_spiral_bottleneck2", "underfitting", "mild", "one hidden layer of 2 units",
          dataset="spiral", layers=[2], activation="tanh", learning_rate=0.01, epochs=30),
    # unscaled inputs
    fault("unscaled_breast_none", "unscaled_inputs", "severe",
          "scaling none: areas up to 2500", dataset="breast_cancer", layers=[32], scaling="none",
          epochs=10),
    fault("unscaled_wine_none_tanh", "unscaled_inputs", "mild", "scaling none: proline ~750",
          accept=("saturation",), dataset="wine", layers=[32], activation="tanh",
          scaling="none", epochs=10),
    fault("unscaled_digits_x1000", "unscaled_inputs", "severe",
          "pixels times 1000, scaling none", fast=True, dataset="digits", layers=[64],
          scaling="none", data=scale_features(1000.0), epochs=5),
    fault("unscaled_circle_x30_tanh", "unscaled_inputs", "mild",
          "coordinates times 30 (std ~100), scaling none", accept=("saturation",),
          dataset="circle", layers=[8], activation="tanh", scaling="none",
          data=scale_features(30.0), epochs=10),
    # over-regularization
    fault("overreg_l2_digits_3", "over_regularization", "severe",
          "L2 3 (the issue's run: chance for 15 epochs)", fast=True, dataset="digits",
          l2=3.0, epochs=15, early_stopping=True),
    fault("overreg_l2_digits_0.3", "over_regularization", "mild",
          "L2 0.3 (the issue's run diagnosed as vanishing gradients)", dataset="digits",
          l2=0.3, epochs=15),
    fault("overreg_l2_circle_1", "over_regularization", "severe", "L2 1 on a small tanh net",
          dataset="circle", layers=[8, 8], activation="tanh", learning_rate=0.01, l2=1.0,
          epochs=15),
    fault("overreg_l1_digits_0.01", "over_regularization", "mild",
          "L1 0.01: the penalty starts ~10x the data loss", dataset="digits", l1=0.01,
          epochs=15),
    fault("overreg_l1_circle_1", "over_regularization", "severe", "L1 1", dataset="circle",
          layers=[16, 16], learning_rate=0.01, l1=1.0, epochs=15),
    fault("overreg_l1_wine_0.3", "over_regularization", "severe", "L1 0.3", dataset="wine",
          layers=[32], learning_rate=0.01, l1=0.3, epochs=15),
    fault("overreg_dropout_digits_0.9", "over_regularization", "severe",
          "dropout 0.9 after each of 2x64", fast=True, dataset="digits", layers=[64, 64],
          dropout=0.9, epochs=15),
    fault("overreg_dropout_circle_0.8", "over_regularization", "mild",
          "dropout 0.8 on a net of 8+8 units", dataset="circle", layers=[8, 8],
          learning_rate=0.01, dropout=0.8, epochs=15),
    fault("overreg_dropout_spiral_0.9", "over_regularization", "severe",
          "dropout 0.9: healthy_spiral_relu_adam's run, which reaches 96 %, with dropout",
          dataset="spiral", samples=1000, noise=0.1, layers=[32, 32], learning_rate=0.01,
          dropout=0.9, batch_size=16, epochs=30),
    fault("overreg_maxnorm_digits_0.01", "over_regularization", "severe",
          "max-norm 0.01 on every hidden unit", fast=True, dataset="digits", max_norm=0.01,
          epochs=15),
    fault("overreg_maxnorm_circle_0.05", "over_regularization", "mild",
          "max-norm 0.05 on 16+16 units", dataset="circle", layers=[16, 16],
          learning_rate=0.01, max_norm=0.05, epochs=15),
    fault("overreg_maxnorm_wine_0.02", "over_regularization", "severe", "max-norm 0.02",
          dataset="wine", layers=[32], learning_rate=0.01, max_norm=0.02, epochs=15),
    # output mismatch
    fault("outmis_plane_relu", "output_mismatch", "mild",
          "relu output under targets in [-1.2, 1.2]: half are negative", fast=True,
          dataset="plane", layers=[16], activation="tanh", output_activation="relu",
          learning_rate=0.01, epochs=20),
    fault("outmis_plane_sigmoid", "output_mismatch", "mild",
          "sigmoid output under targets in [-1.2, 1.2]", dataset="plane", layers=[16],
          activation="tanh", output_activation="sigmoid", learning_rate=0.01, epochs=20),
    fault("outmis_diabetes_tanh", "output_mismatch", "severe",
          "tanh output under targets of 25-346", dataset="diabetes", layers=[32],
          output_activation="tanh", learning_rate=0.01, epochs=15),
    fault("outmis_diabetes_sigmoid", "output_mismatch", "severe",
          "sigmoid output under targets of 25-346", dataset="diabetes", layers=[32],
          output_activation="sigmoid", learning_rate=0.01, epochs=15),
    fault("outmis_multigauss_relu", "output_mismatch", "mild",
          "relu output under targets in [-1, 1]", dataset="multi_gaussian", layers=[32, 32],
          output_activation="relu", learning_rate=0.01, epochs=20),
    fault("outmis_plane_tanh_x5", "output_mismatch", "severe",
          "tanh output under targets in [-6, 6] (plane times 5)", dataset="plane",
          layers=[16], activation="tanh", output_activation="tanh", learning_rate=0.01,
          data=scale_targets(5.0), epochs=20),
    # unscaled targets
    fault("untargets_diabetes_x1e6", "unscaled_targets", "severe",
          "diabetes' targets times 1e6 (mean 1.5e8): R² -3.8 after 10 epochs", fast=True,
          dataset="diabetes", epochs=10, data=scale_targets(1e6)),
    fault("untargets_plane_x1e5", "unscaled_targets", "mild",
          "plane's targets times 1e5 (std 5e5), one layer of 32", dataset="plane",
          layers=[32], epochs=10, data=scale_targets(1e5)),
    # class imbalance
    fault("imbalance_spiral_2pct", "class_imbalance", "severe",
          "spiral with one arm cut to 2 % of the rows, one layer of 16", dataset="spiral",
          samples=2000, layers=[16], epochs=15, data=rare_class(1, 0.02)),
    fault("imbalance_circle_noisy_5pct", "class_imbalance", "mild",
          "noisy circle (0.5) with the inner class cut to 5 % of the rows", fast=True,
          dataset="circle", samples=2000, noise=0.5, epochs=15, data=rare_class(1, 0.05)),
    # deep, narrow networks
    fault("deepnarrow_digits_relu20x8", "deep_narrow_network", "severe",
          "20 ReLU layers of 8 on digits (36 % after 15 epochs; 64+64 reaches 96 %)",
          accept=("dead_relus", "vanishing_gradients"), fast=True, dataset="digits",
          layers=[8] * 20, epochs=15),
    fault("deepnarrow_digits_leaky12x8", "deep_narrow_network", "mild",
          "12 leaky ReLU layers of 8 on digits", accept=("vanishing_gradients",),
          dataset="digits", layers=[8] * 12, activation="leaky_relu", epochs=15),
    fault("deepnarrow_digits_relu8x6", "deep_narrow_network", "mild",
          "8 ReLU layers of 6 on digits", accept=("dead_relus", "vanishing_gradients"),
          dataset="digits", layers=[6] * 8, epochs=15, seed=1),
]

HEALTHY_RUNS = [
    healthy("healthy_digits_default", 0.93, "the recipe's defaults: 128+64 ReLU, Adam",
            fast=True, dataset="digits", epochs=15),
    healthy("healthy_iris_tanh_adam", 0.85, "16 tanh, Adam 0.01", fast=True, dataset="iris",
            layers=[16], activation="tanh", learning_rate=0.01, epochs=30),
    healthy("healthy_wine_relu_momentum", 0.9, "32 ReLU, SGD 0.05 with momentum 0.9",
            dataset="wine", layers=[32], optimizer="sgd", learning_rate=0.05, momentum=0.9,
            epochs=30),
    healthy("healthy_breast_elu_rmsprop", 0.9, "32+16 ELU, RMSprop", fast=True,
            dataset="breast_cancer", layers=[32, 16], activation="elu", optimizer="rmsprop",
            epochs=20),
    healthy("healthy_diabetes_relu_adam", 0.3, "32 ReLU, Adam 0.05 (diabetes R² tops ~0.5)",
            dataset="diabetes", layers=[32], learning_rate=0.05, epochs=30),
    healthy("healthy_circle_tanh_sgd", 0.9, "8+8 tanh, SGD 0.3", fast=True, dataset="circle",
            layers=[8, 8], activation="tanh", optimizer="sgd", learning_rate=0.3, epochs=30),
    healthy("healthy_xor_relu_adam", 0.9, "8+8 ReLU, Adam 0.01", dataset="xor", layers=[8, 8],
            learning_rate=0.01, epochs=30),
    healthy("healthy_gaussian_sigmoid_adagrad", 0.9, "4 sigmoid, Adagrad 0.1",
            dataset="gaussian", layers=[4], activation="sigmoid", optimizer="adagrad",
            learning_rate=0.1, epochs=20),
    healthy("healthy_spiral_relu_adam", 0.85, "32+32 ReLU, Adam 0.01, 1000 points",
            dataset="spiral", samples=1000, noise=0.1, layers=[32, 32], learning_rate=0.01,
            batch_size=16, epochs=30),
    healthy("healthy_plane_tanh_sgd", 0.95, "8 tanh, SGD 0.05", fast=True, dataset="plane",
            layers=[8], activation="tanh", optimizer="sgd", learning_rate=0.05, epochs=20),
    healthy("healthy_multigauss_relu_adam", 0.8, "64+64 ReLU, Adam 0.01, 1200 points",
            dataset="multi_gaussian", samples=1200, layers=[64, 64], learning_rate=0.01,
            batch_size=16, epochs=40),
    healthy("healthy_blobs_leaky_momentum", 0.9, "8 leaky ReLU, SGD 0.05 with momentum",
            dataset="blobs", layers=[8], activation="leaky_relu", optimizer="sgd",
            learning_rate=0.05, momentum=0.9, epochs=20),
    healthy("healthy_digits_tanh_nesterov", 0.93, "64 tanh, SGD 0.05 Nesterov",
            dataset="digits", layers=[64], activation="tanh", optimizer="sgd",
            learning_rate=0.05, momentum=0.9, nesterov=True, epochs=15),
    healthy("healthy_wine_sigmoid_adam", 0.9, "16 sigmoid, Adam 0.01", dataset="wine",
            layers=[16], activation="sigmoid", learning_rate=0.01, epochs=30),
    healthy("healthy_breast_leaky_adamw", 0.9, "16 leaky ReLU, AdamW", dataset="breast_cancer",
            layers=[16], activation="leaky_relu", optimizer="adamw", epochs=20),
    healthy("healthy_iris_elu_rmsprop", 0.85, "8+8 ELU, RMSprop 0.01", dataset="iris",
            layers=[8, 8], activation="elu", optimizer="rmsprop", learning_rate=0.01,
            epochs=30),
    healthy("healthy_digits_dropout_l2", 0.93, "sensible regularization: dropout 0.2, L2 1e-4",
            dataset="digits", dropout=0.2, l2=1e-4, epochs=20),
    healthy("healthy_circle_maxnorm3", 0.9, "sensible max-norm 3 on 16+16 ReLU",
            dataset="circle", layers=[16, 16], learning_rate=0.01, max_norm=3.0, epochs=30),
    healthy("healthy_digits_l1_small", 0.93, "sensible L1 1e-5", dataset="digits", l1=1e-5,
            l2=0.0, epochs=15),
    healthy("healthy_plane_deep_relu", 0.95, "4 ReLU layers of 16, Adam 0.01",
            dataset="plane", layers=[16] * 4, learning_rate=0.01, epochs=20),
    # added after the review of the rules: small targets need small weights, so an ordinary
    # L2 looks strong beside their tiny chance loss (the doctor had named it at epoch 0); the
    # first version, L2 1e-3 on targets x0.05, reached only R² 0.76: that L2 does hurt there
    healthy("healthy_plane_small_targets_l2", 0.9, "128+64 ReLU, the default L2 3e-4, "
            "targets x0.2", dataset="plane", layers=[128, 64], data=scale_targets(0.2),
            epochs=20),
]

SCENARIOS = FAULTS + HEALTHY_RUNS
BY_ID = {s.id: s for s in SCENARIOS}
if len(BY_ID) != len(SCENARIOS):
    raise RuntimeError("doctor_scenarios: two scenarios share an id")
