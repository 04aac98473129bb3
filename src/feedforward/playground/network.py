"""The setup's network: its layers, output layer, loss, optimizer and penalties.

The output layer and the loss of a problem are the library's one rule,
:func:`feedforward.experiment.output_for`; the page is told them in the ``state`` message.
"""

from __future__ import annotations

from .. import initializers, regularizers
from ..experiment import output_for
from ..layers import Dense, Dropout
from ..model import Sequential
from .setup import SMALL_RANDOM_STDDEV, build_optimizer, build_schedule


def kernel_initializer(name):
    """The initializer called ``name``; ``small_random`` is N(0, 0.1^2)."""
    if name == "small_random":
        return initializers.RandomNormal(stddev=SMALL_RANDOM_STDDEV)
    return initializers.get(name)


def kernel_regularizer(kind, rate):
    """L1 or L2 of ``rate`` on every kernel, or None."""
    if kind == "none" or rate == 0:
        return None
    return regularizers.L1(rate) if kind == "l1" else regularizers.L2(rate)


def output_spec(problem, classes) -> tuple[int, str, str, str]:
    """``(units, activation, loss, metric)`` of the output layer for the problem: the
    library's rule (:func:`~feedforward.experiment.output_for`), and the playground's metric
    (accuracy, or R² for a regression)."""
    units, activation, loss = output_for(problem, classes)
    return units, activation, loss, "accuracy" if problem == "classification" else "r2"


def build_model(setup, seed) -> Sequential:
    """The setup's network, built for its features and compiled with its optimizer."""
    init = kernel_initializer(setup["initializer"])
    reg = kernel_regularizer(setup["regularization"], setup["reg_rate"])
    layers = []
    for spec in setup["layers"]:
        layers.append(Dense(spec["units"], activation=spec["activation"],
                            kernel_initializer=init, kernel_regularizer=reg))
        if spec["dropout"] > 0:
            layers.append(Dropout(spec["dropout"]))
    units, activation, _, _ = output_spec(setup["problem"], setup["classes"])
    layers.append(Dense(units, activation=activation, kernel_initializer=init,
                        kernel_regularizer=reg))
    model = Sequential(layers, input_dim=len(setup["features"]), seed=seed)
    compile_model(model, setup)
    return model


def compile_model(model, setup) -> None:
    """Compile with a fresh optimizer (and schedule) of the setup."""
    _, _, loss, metric = output_spec(setup["problem"], setup["classes"])
    optimizer = build_optimizer(setup["optimizer"], build_schedule(setup["schedule"]))
    model.compile(optimizer=optimizer, loss=loss, metrics=[metric])


def set_learning_rate(model, setup) -> None:
    """The setup's learning rate (or schedule) on the live optimizer: its moments and step
    count stay, and a schedule goes on from that step."""
    schedule = build_schedule(setup["schedule"])
    model.optimizer.learning_rate = setup["optimizer"]["learning_rate"] if schedule is None \
        else schedule


def set_regularizers(dense, setup) -> None:
    """The setup's kernel penalty on each of the ``dense`` layers."""
    reg = kernel_regularizer(setup["regularization"], setup["reg_rate"])
    for layer in dense:
        layer.regularizers.pop("kernel", None)
        if reg is not None:
            layer.regularizers["kernel"] = reg
