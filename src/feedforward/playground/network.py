"""The setup's network: built, compiled and changed by the library's experiment recipe.

A setup maps onto the library's config schema (:func:`.setup.to_config`), and the recipe
(:mod:`feedforward.experiment`) makes its plan (output layer and loss, by
:func:`feedforward.experiment.output_for`; initializers; learning rate or schedule) and its
model, as ``feedforward train`` and the ``code`` message's script do. The page is told the
output layer and loss in the ``state`` message.
"""

from __future__ import annotations

from .. import experiment
from ..model import Sequential
from .setup import METRICS, to_config


def output_spec(problem, classes) -> tuple[int, str, str, str]:
    """``(units, activation, loss, metric)`` of the output layer for the problem: the
    library's rule (:func:`~feedforward.experiment.output_for`), and the playground's metric
    (accuracy, or R² for a regression)."""
    units, activation, loss = experiment.output_for(problem, classes)
    return units, activation, loss, METRICS[problem]


def data_like(setup):
    """What the recipe needs of the setup's data: its features, problem and classes."""
    classes = list(range(setup["classes"])) if setup["problem"] == "classification" else None
    return experiment.data_like(len(setup["features"]), setup["problem"], classes)


def recipe(setup, seed=None):
    """The setup's config, data description and plan.

    Returns
    -------
    cfg : feedforward.config.Config
    data : feedforward.data.sources.Data
        No rows (:func:`feedforward.experiment.data_like`).
    plan : feedforward.experiment.Plan
    """
    cfg = to_config(setup, seed)
    data = data_like(setup)
    return cfg, data, experiment.make_plan(cfg, data, n_train=1)


def build_model(setup, seed) -> Sequential:
    """The setup's network, built for its features and compiled with its optimizer."""
    cfg, data, plan = recipe(setup, seed)
    return experiment.build_model(cfg, plan, data)


def compile_model(model, setup) -> None:
    """Compile with a fresh optimizer (and schedule) of the setup."""
    cfg, _, plan = recipe(setup)
    experiment.compile_model(model, cfg, plan)


def set_learning_rate(model, setup) -> None:
    """The setup's learning rate (or schedule) on the live optimizer: its moments and step
    count stay, and a schedule goes on from that step."""
    model.optimizer.learning_rate = recipe(setup)[2].learning_rate


def set_regularizers(dense, setup) -> None:
    """The setup's kernel penalty on each of the ``dense`` layers."""
    reg = experiment.kernel_regularizer(to_config(setup))
    for layer in dense:
        layer.regularizers.pop("kernel", None)
        if reg is not None:
            layer.regularizers["kernel"] = reg
