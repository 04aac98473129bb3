"""The guide's training topics (examples/guide/07-12): each script's claims and its exercises'
answers hold in quick mode, and its figures are written.

Each script runs once per module, with its exercises' flags given on its command line, so the
page's claims and the exercises' answers are checked on the same run.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

GUIDE = Path(__file__).resolve().parents[1] / "examples" / "guide"


def load(name):
    """Import examples/guide/<name>.py by path."""
    spec = importlib.util.spec_from_file_location(f"guide_{name}", GUIDE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(name, folder, *flags):
    """The module, the folder of its figures, and what ``main`` returns for the command line
    ``--quick --out folder *flags``."""
    module = load(name)
    options = module.options(["--quick", "--out", str(folder), *flags])
    return module, folder, module.main(**options)


def assert_quoted(measured, quoted, rel=0.03):
    """The numbers a page quotes from the quick run, as rounded there: {name: (value, page)}."""
    wrong = {k: (v, measured[k]) for k, v in quoted.items()
             if measured[k] != pytest.approx(v, rel=rel)}
    assert not wrong, f"the page quotes (quoted, measured): {wrong}"


def assert_figures(folder, *names):
    for name in names:
        path = folder / name
        assert path.is_file(), f"{name} was not written"
        assert path.stat().st_size > 5_000, f"{name} is nearly empty"


@pytest.fixture(scope="module")
def learning_rate(tmp_path_factory):
    return run("07_learning_rate", tmp_path_factory.mktemp("07"), "--rate", "0.05", "2",
               "--gamma", "1")


def test_learning_rate(learning_rate):
    module, folder, r = learning_rate
    start, final = r["initial_loss"], r["final_loss"]
    assert abs(start - math.log(10)) < 0.5  # an untrained softmax starts near ln 10
    assert final["too low"] > 0.5 * start, "a tiny rate should barely move the loss"
    assert final["good"] < 0.25 * start
    assert final["too high"] > 2 * start, "too high a rate should throw the loss up"
    # the fast rate: lower than the good rate at its best, but spiking
    low, top = r["tail_min_loss"], r["tail_max_loss"]
    assert low["constant 1"] < final["good"]
    assert top["constant 1"] > 2 * low["constant 1"]
    for name in ("step decay", "exponential decay"):  # decay removes the spikes
        assert top[name] < 0.5 * top["constant 1"]
    rates = r["rates"]
    assert rates["too low"] < r["recommended_learning_rate"] < rates["too high"]
    assert r["final_loss_at_recommended"] < 0.5 * final["too low"]
    assert_quoted({**final, "start": start, "low": low["constant 1"],
                   "step": top["step decay"], "exponential": top["exponential decay"],
                   "constant": top["constant 1"], "recommended": r["recommended_learning_rate"],
                   "at recommended": r["final_loss_at_recommended"]},
                  {"too low": 1.91, "good": 0.19, "too high": 14.5, "start": 2.43, "low": 0.072,
                   "step": 0.110, "exponential": 0.112, "constant": 0.84, "recommended": 0.14,
                   "at recommended": 0.21})
    assert_figures(folder, "07-learning-rate.png")


def test_learning_rate_exercises(learning_rate):
    module, folder, r = learning_rate
    final, extra = r["final_loss"], r["extra_final_loss"]
    assert final["good"] < extra[0.05] < final["too low"]  # exercise 1: in between
    assert extra[2.0] > r["initial_loss"]  # exercise 2: ends above where it started
    curves = r["decayed_curves"]  # exercise 3: gamma 1 is the constant rate, number for number
    assert curves["step decay, gamma 1"] == curves["constant 1"]
    assert_quoted(extra, {0.05: 0.469, 2.0: 4.14})


@pytest.fixture(scope="module")
def gradient_descent(tmp_path_factory):
    return run("08_gradient_descent", tmp_path_factory.mktemp("08"), "--batch-size", "8", "128",
               "--stochastic-rate", "0.2")


def test_gradient_descent_variants(gradient_descent):
    module, folder, r = gradient_descent
    m = r["samples"]
    assert r["updates_per_epoch"]["batch"] == 1
    assert r["updates_per_epoch"]["mini-batch (32)"] == math.ceil(m / 32)
    assert r["updates_per_epoch"]["stochastic"] == m
    after = r["loss_after_epochs"]
    # per epoch: more updates per pass make more progress
    assert after["stochastic"] < after["mini-batch (32)"] < 0.5 * after["batch"]
    noise = r["gradient_noise"]  # four times the batch halves the gradient's noise
    assert noise[8] / noise[32] == pytest.approx(2, abs=0.15)
    # wall-clock times depend on the computer, so only the counted epochs are compared
    assert r["epochs_to_target"]["mini-batch (32)"] is not None
    assert r["epochs_to_target"]["batch"] is None or \
        r["epochs_to_target"]["batch"] > r["epochs_to_target"]["mini-batch (32)"]
    assert (r["epochs_to_target"]["mini-batch (32)"], r["epochs_to_target"]["batch"]) == (5, 18)
    assert_quoted(noise, {8: 1.67, 32: 0.83}, rel=0.01)
    assert_figures(folder, "08-gradient-descent.png")


def test_gradient_descent_exercises(gradient_descent):
    module, folder, r = gradient_descent
    after, updates = r["loss_after_epochs"], r["updates_per_epoch"]
    assert after["mini-batch (8)"] < after["mini-batch (32)"] < after["mini-batch (128)"]
    assert updates["mini-batch (8)"] == math.ceil(r["samples"] / 8)
    assert after["stochastic at rate 0.2"] > 2 * after["stochastic"]
    assert_quoted(after, {"mini-batch (8)": 0.114, "mini-batch (32)": 0.369,
                          "mini-batch (128)": 1.12, "stochastic at rate 0.2": 0.742,
                          "stochastic": 0.133, "batch": 1.28})
    assert updates["mini-batch (8)"] == 75


@pytest.fixture(scope="module")
def optimizers(tmp_path_factory):
    return run("09_optimizers", tmp_path_factory.mktemp("09"))


def test_optimizer_paths(optimizers):
    module, folder, r = optimizers
    paths, final = r["paths"], r["surface_final"]
    # plain SGD: a shrinks by exactly 1 - rate / 10 per step along the valley floor
    assert paths["SGD"][-1, 0] == pytest.approx(-8 * 0.97 ** module.SURFACE_STEPS, rel=1e-9)
    for name in ("momentum", "Nesterov"):
        assert final[name] < 0.1 * final["SGD"]
    assert np.sign(paths["momentum"][:, 0]).max() > 0, "momentum should overshoot a = 0"
    # Adam's first step is the rate in every coordinate, whatever the gradient
    assert np.allclose(paths["Adam"][1] - paths["Adam"][0], [0.3, -0.3])
    quoted = {"SGD": 0.083, "momentum": 0.007, "Nesterov": 0.0008, "AdaGrad": 0.0048,
              "RMSProp": 0.0021, "Adam": 0.0094}
    for name, value in quoted.items():
        assert final[name] == pytest.approx(value, rel=0.06), name
    opt = module.ff.optimizers  # the defaults the page's table of update rules names
    assert (opt.RMSprop().rho, opt.Adadelta().rho) == (0.99, 0.9)
    assert (opt.Adam().beta_1, opt.Adam().beta_2, opt.Adam().epsilon) == (0.9, 0.999, 1e-8)
    assert_figures(folder, "09-trajectories.png", "09-optimizers.png")


def assert_optimizer_claims(module, r):
    """The claims of page 9 that hold on MNIST and on the digits alike."""
    final = r["final_loss"]
    assert set(final) == set(module.OPTIMIZERS) and len(final) == 10
    assert all(math.isfinite(v) and v < r["initial_loss"] for v in final.values())
    sgd = final["SGD"]
    assert final["momentum"] < 0.5 * sgd and final["Nesterov"] < 0.5 * sgd
    adaptive = sorted(final[name] for name in module.ADAPTIVE)
    assert adaptive[len(adaptive) // 2] < 0.7 * sgd
    assert sum(v < sgd for v in adaptive) >= 6
    # the curves are losses on the whole training set, the last one the quoted final loss
    assert r["curves"]["SGD"][-1] == final["SGD"]


def test_optimizers_on_mnist(optimizers):
    module, folder, r = optimizers
    if r["source"] != "MNIST":  # the claim is about MNIST; the fallback is tested below
        pytest.skip(f"needs the MNIST test set in {module.MNIST} (../shared/datasets/mnist)")
    assert_optimizer_claims(module, r)
    assert r["ranking"][-1] == "SGD"  # on MNIST plain SGD is last
    final = r["final_loss"]
    assert_quoted(final, {"SGD": 0.611, "momentum": 0.178, "Nesterov": 0.149,
                          "AdaDelta": 0.231, "AdaMax": 0.480, "AdaGrad": 0.330}, rel=0.01)
    assert sorted(final[k] for k in module.ADAPTIVE)[3] == final["AdaGrad"]  # the median


def test_optimizers_on_digits(tmp_path, capsys):
    module = load("09_optimizers")
    r = module.main(out=tmp_path, quick=True, folder=tmp_path / "absent")
    assert r["source"] == "digits" and r["samples"] == 1797
    assert "no MNIST files" in capsys.readouterr().out
    assert_optimizer_claims(module, r)
    final = r["final_loss"]
    assert_quoted(final, {"SGD": 0.449, "momentum": 0.063, "Nesterov": 0.058,
                          "AdaMax": 0.806}, rel=0.01)
    assert sorted(final[k] for k in module.ADAPTIVE)[3] == pytest.approx(0.292, rel=0.01)
    assert final["AdaMax"] > final["SGD"]  # not every adaptive method beats it here


def test_optimizer_exercises(tmp_path):
    module = load("09_optimizers")
    plain = module.path(module.surface_optimizers()["SGD"])
    # exercise 1: momentum 0 is plain SGD, on the surface and in training
    no_momentum = module.path(module.surface_optimizers(momentum=0.0)["momentum"])
    assert np.array_equal(no_momentum, plain)
    x, y, _ = module.load(300, folder=tmp_path / "absent")
    makers = module.optimizers(momentum=0.0)
    curves = [module.train(makers[name], x, y, 20, 8, 5) for name in ("SGD", "momentum")]
    assert np.array_equal(*curves)
    # exercises 2 and 3: the flags' values drive the surface part of main
    flags = module.options(["--momentum", "0.99", "--surface-rate", "1.1"])
    paths = module.surface_paths(flags["surface_rate"], flags["momentum"])
    assert module.surface(paths["momentum"][-1]) > 0.5  # swings on: 0.91 against 0.007
    sgd = paths["SGD"]
    assert module.surface(sgd[-1]) > 1e9 and np.all(np.diff(np.abs(sgd[1:, 1])) > 0)


@pytest.fixture(scope="module")
def regularization(tmp_path_factory):
    return run("10_regularization", tmp_path_factory.mktemp("10"), "--l1", "3e-3",
               "--patience", "10", "--train", "359")


def test_regularization(regularization):
    module, folder, r = regularization
    # underfitting: too small a network is poor even on its training data
    assert r["small_train_accuracy"] < 0.85
    # overfitting: the large one memorises the training set while the validation loss turns
    assert r["plain_train_accuracy"] == 1.0 and r["plain_train_loss"] < 0.02
    assert r["plain_best_epoch"] < r["epochs"] / 2
    assert r["final_val_loss"]["no regularization"] > 1.1 * r["plain_best_val_loss"]
    # early stopping stops `patience` epochs after the turn and keeps the best weights
    assert r["early_stopping_stopped_epoch"] == r["plain_best_epoch"] + 5
    assert r["early_stopping_val_loss"] == pytest.approx(r["plain_best_val_loss"], rel=1e-4)
    # L1 zeroes weights, L2 only shrinks them
    zeros = r["zero_fraction"]
    assert zeros["L1"] > 0.1 and zeros["L1"] > 10 * zeros["L2"]
    # with SGD an L2 penalty is weight decay; with Adam it is not (AdamW)
    gap = r["l2_against_decay"]
    assert gap["SGD"] < 1e-6 and gap["Adam"] == pytest.approx(0.21, abs=0.005)
    assert (r["plain_best_epoch"], r["early_stopping_stopped_epoch"]) == (12, 17)
    assert_quoted({"small": r["small_train_accuracy"], "plain": r["plain_train_loss"],
                   "best": r["plain_best_val_loss"],
                   "final": r["final_val_loss"]["no regularization"], **zeros},
                  {"small": 0.647, "plain": 0.0036, "best": 0.292, "final": 0.341, "L1": 0.177,
                   "L2": 0.004}, rel=0.05)
    assert_figures(folder, "10-regularization.png")


def test_regularization_exercises(regularization):
    module, folder, r = regularization
    assert r["zero_fraction"]["L1 (0.003)"] > r["zero_fraction"]["L1"]
    assert r["patience"]["stopped_epoch"] == r["plain_best_epoch"] + 10
    assert r["patience"]["val_loss"] == pytest.approx(r["plain_best_val_loss"], rel=1e-4)
    assert r["more_data"]["best_val_loss"] < 0.7 * r["plain_best_val_loss"]
    with pytest.raises(SystemExit):  # more images than the pool holds: refused, not cut
        module.options(["--train", "1000"])
    assert_quoted({"L1": r["zero_fraction"]["L1 (0.003)"], "more": r["more_data"]["best_val_loss"]},
                  {"L1": 0.498, "more": 0.147})


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return run("11_data", tmp_path_factory.mktemp("11"))


def test_data(data):
    module, folder, r = data
    lo, hi = r["feature_std_range"]
    assert hi / lo > 1000  # the wine features' scales differ by three orders of magnitude
    assert r["feature_std_order"] == (7, 12)  # nonflavanoid phenols, proline
    x, y = module.ff.data.load_dataset("wine")
    assert (x[:, 12].min(), x[:, 12].max()) == (278, 1680)
    assert tuple(np.bincount(y)) == (59, 71, 48)
    # raw inputs saturate the tanh units, so the network learns the class frequencies only
    pairs, units = r["saturated_at_start"]
    assert pairs > 0.95 and units >= 14 / 16
    assert r["class_entropy"] == pytest.approx(1.086, abs=5e-4)
    assert abs(r["best_raw_loss"] - r["class_entropy"]) < 0.05
    assert r["best_scaled_loss"] < 0.1 * r["best_raw_loss"]
    plain, augmented = r["accuracy"]["plain"], r["accuracy"]["augmented"]
    assert plain[0] > 0.9 and plain[1] < 0.5, "moved digits should fool the plain network"
    assert augmented[1] > plain[1] + 0.3
    # 0.6, 0.2, 0.2 of 1797 are 1078.2, 359.4, 359.4; the documented largest-remainder
    # rounding gives the leftover sample to the test set on a tie
    assert r["split_sizes"] == {"train": 1078, "val": 359, "test": 360}
    assert r["max_class_share_difference"] < 0.01
    assert r["max_class_share_difference"] == pytest.approx(0.0018, abs=5e-5)
    assert_quoted({"pairs": pairs, "raw": r["best_raw_loss"], "scaled": r["best_scaled_loss"],
                   "plain": plain[0], "plain moved": plain[1], "augmented moved": augmented[1]},
                  {"pairs": 0.987, "raw": 1.057, "scaled": 0.0015, "plain": 0.972,
                   "plain moved": 0.135, "augmented moved": 0.805}, rel=0.04)
    assert units == 15 / 16
    assert_figures(folder, "11-scaling.png", "11-augmentation.png")


def test_data_exercises(data):
    module, folder, r = data
    flags = module.options(["--quick", "--activation", "relu"])
    raw, scaled, _ = module.scaling(30, flags["activation"])
    assert abs(min(raw) - r["class_entropy"]) < 0.05  # ReLU does not rescue raw features
    assert min(raw) == pytest.approx(1.088, abs=5e-4)
    kernel, bias = module.wine_network("relu").get_weights()[:2]
    x, _ = module.ff.data.load_dataset("wine")
    assert ((x @ kernel + bias) <= 0).all(axis=0).sum() == 8  # dead from the start
    flags = module.options(["--shift", "2", "2"])
    once = module.augmentation(15, flags["shift"], flags["translation"])
    assert once["augmented"][1] < 0.3  # taught one-pixel moves only
    flags = module.options(["--shift", "2", "2", "--translation", "2"])
    twice = module.augmentation(15, flags["shift"], flags["translation"])
    assert twice["augmented"][1] > once["augmented"][1] + 0.3
    assert twice["augmented"][0] < once["augmented"][0]  # paid for on unmoved digits
    assert_quoted({"once": once["augmented"][1], "twice": twice["augmented"][1],
                   "unmoved": twice["augmented"][0]},
                  {"once": 0.078, "twice": 0.596, "unmoved": 0.748}, rel=0.02)
    flags = module.options(["--val", "0.1", "--test", "0.1"])
    sizes, _, _ = module.split(flags["val"], flags["test"])
    assert sizes == {"train": 1437, "val": 180, "test": 180}


@pytest.fixture(scope="module")
def sanity(tmp_path_factory):
    return run("12_sanity_recipe", tmp_path_factory.mktemp("12"), "--units", "4", "8",
               "--init-std", "0.3", "0.01")


def test_sanity_recipe(sanity):
    module, folder, r = sanity
    steps = r["steps"]
    assert r["passed"]["sound (128, 64)"] and all(steps["sound (128, 64)"].values())
    small = steps["too small (1 unit)"]
    assert small["overfit_small_subset"] is False
    assert small["gradient_check"] and small["initial_loss"]
    count, accuracy = r["one_unit_classes"]
    assert count <= 5 and accuracy < 0.6
    assert steps["wild init (std 3)"]["initial_loss"] is False
    assert steps["wild init (std 3)"]["gradient_check"] is not False  # saturation: no blame
    assert r["initial_loss"]["wild init (std 3)"] > 3 * math.log(10)
    assert r["overfit_loss"]["too small (1 unit)"] > 10 * 0.05
    assert 1e-4 < r["recommended_learning_rate"] < 1
    assert r["val_accuracy"] > 0.9 and r["test_accuracy"] > 0.9
    assert (count, round(accuracy, 3)) == (4, 0.391)
    assert_quoted({"small": r["overfit_loss"]["too small (1 unit)"],
                   "wild": r["initial_loss"]["wild init (std 3)"],
                   "rate": r["recommended_learning_rate"], "val": r["val_accuracy"],
                   "test": r["test_accuracy"]},
                  {"small": 1.71, "wild": 14.6, "rate": 0.028, "val": 0.975, "test": 0.964})
    assert_figures(folder, "12-sanity-recipe.png")


def test_sanity_exercises(sanity):
    module, folder, r = sanity
    steps = r["steps"]
    assert steps["4 units"]["overfit_small_subset"] is False
    assert steps["8 units"]["overfit_small_subset"] is True
    assert steps["normal init (std 0.3)"]["initial_loss"] is False
    assert steps["normal init (std 0.3)"]["overfit_small_subset"] is True
    tiny = steps["normal init (std 0.01)"]
    assert tiny["initial_loss"] is True
    assert r["initial_loss"]["normal init (std 0.01)"] == pytest.approx(math.log(10), abs=1e-3)
    assert tiny["overfit_small_subset"] is False and tiny["learning_rate_range"] is False
    assert_quoted({name: r["overfit_loss"][name] for name in ("4 units", "8 units",
                                                              "normal init (std 0.01)")}
                  | {"std 0.3": r["initial_loss"]["normal init (std 0.3)"]},
                  {"4 units": 0.493, "8 units": 0.0497, "normal init (std 0.01)": 0.325,
                   "std 0.3": 10.95})
