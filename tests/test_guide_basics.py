"""The guide's first topics (examples/guide/00-06): each script runs in quick mode, draws its
figures, and the claims its page makes, and the answers to its exercises (the script run with
the exercise's flag), hold for the numbers it returns."""

from __future__ import annotations

import ast
import importlib.util
import json
import math
import re
import urllib.parse
from pathlib import Path

import numpy as np
import pytest

GUIDE = Path(__file__).resolve().parents[1] / "examples" / "guide"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "guide"
_results: dict = {}


def load(stem):
    """examples/guide/<stem>.py, imported by path."""
    spec = importlib.util.spec_from_file_location(f"guide_{stem}", GUIDE / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(stem, tmp_path_factory, **flags):
    """``main(out, quick=True, **flags)`` of examples/guide/<stem>.py, once per test session."""
    key = (stem, repr(sorted(flags.items())))
    if key not in _results:
        out = tmp_path_factory.mktemp(stem)
        _results[key] = load(stem).main(out=out, quick=True, **flags), out
    return _results[key]


def assert_figures(out, *names):
    for name in names:
        path = out / name
        assert path.exists(), f"{name} was not written"
        assert path.stat().st_size > 5_000, f"{name} is nearly empty"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_training_worked_example_and_descent(tmp_path_factory):
    r, out = run("00_training", tmp_path_factory)
    hand = r["worked"]
    # the page's hand computation: errors (1, -1, -3), J = 11/3, dJ/dw = -8/3, dJ/db = -2
    assert hand["loss"] == pytest.approx(11 / 3) and hand["dw"] == pytest.approx(-8 / 3)
    assert hand["db"] == pytest.approx(-2)
    assert (hand["w"], hand["b"]) == pytest.approx((2 / 3, 0.5))
    assert round(hand["loss_after"], 4) == 1.4352
    # the library's one SGD step agrees
    assert hand["library_loss"] == pytest.approx(hand["loss"], abs=1e-12)
    assert (hand["library_w"], hand["library_b"]) == pytest.approx((hand["w"], hand["b"]),
                                                                   abs=1e-12)
    assert r["library_gap"] <= 1e-12  # descent by hand = model.fit with one full batch
    losses, lowest = r["losses"], r["best"][2]
    assert round(losses[0], 1) == 13.6 and round(losses[1], 1) == 8.8
    assert r["step_ratio"] == pytest.approx(0.8, abs=1e-9)
    assert len(losses) == 51 and round(losses[-1], 4) == round(lowest, 4) == 0.2312
    # the bowl: J - J* = (J0 - J*) (1 - 2 rate)^(2 t) at every step
    excess = np.array(losses) - lowest
    assert excess[1:20] == pytest.approx(excess[0] * 0.64 ** np.arange(1, 20), rel=1e-6)
    curves, steps = r["curves"], r["steps_per_epoch"]
    assert steps == {32: 1, 8: 4, 1: 32}
    table = {32: (8.80, 0.386), 8: (2.29, 0.2314), 1: (0.381, 0.295)}
    for size, (one, ten) in table.items():
        assert curves[size][1] == pytest.approx(one, abs=0.006)
        assert curves[size][10] == pytest.approx(ten, abs=0.0006)
    # more steps per epoch: more progress in the first epoch; B = 1 jitters above the lowest loss
    assert curves[1][1] < curves[8][1] < curves[32][1]
    assert curves[1][10] > curves[8][10] > lowest
    assert_figures(out, "00-training.png")


def test_training_exercises():
    """What ``--rate 1.5``, ``--rate 0.5`` and ``--batch-size 4`` compute, called directly."""
    script = load("00_training")
    x, y = script.make_data()
    w_best, b_best, lowest = script.best_line(x, y)
    for rate, factor in ((1.5, 2.0), (0.5, 0.0)):  # |1 - 2 rate|
        path, losses = script.descend(x, y, rate, 10)
        distance = np.hypot(path[:, 0] - w_best, path[:, 1] - b_best)
        assert distance[1:] == pytest.approx(factor * distance[:-1], abs=1e-9)
        if rate > 1:
            assert all(b > a for a, b in zip(losses[:-1], losses[1:], strict=True))
        else:
            assert losses[1] == pytest.approx(lowest, abs=1e-9)
    after_one = {size: curve[1] for size, curve in
                 script.epochs_by_batch_size(x, y, 0.1, (32, 4, 1), epochs=1).items()}
    assert after_one[1] < after_one[4] < after_one[32]


def test_architecture_counts_match_summary(tmp_path_factory):
    results, out = run("01_architecture", tmp_path_factory)
    for r in results.values():
        assert r["summary_rows"] == r["by_hand"]
        assert r["summary_total"] == sum(r["by_hand"])
    # (n + 1) * m per layer, written out for 3-4-4-2; and the well-known MNIST MLP count
    assert results["small"]["summary_total"] == 4 * 4 + 5 * 4 + 5 * 2 == 46
    assert results["mnist"]["summary_total"] == 109_386
    assert_figures(out, "01-architecture.png")


def test_architecture_exercises(tmp_path_factory):
    yours, _ = run("01_architecture", tmp_path_factory, sizes=[784, 256, 10])
    assert yours["yours"]["summary_total"] == sum(yours["yours"]["by_hand"]) == 203_530
    assert yours["yours"]["summary_total"] > yours["mnist"]["summary_total"]  # wide beats deep
    bare, _ = run("01_architecture", tmp_path_factory, bias=False)
    small = bare["small"]
    assert small["summary_rows"] == small["by_hand"] == [12, 16, 8]  # one fewer per neuron
    assert small["summary_total"] == 46 - (4 + 4 + 2) == 36


def test_forward_by_hand_equals_predict(tmp_path_factory):
    results, out = run("02_forward", tmp_path_factory)
    assert results["float64"]["max_abs_difference"] <= 1e-12
    assert results["float32"]["max_abs_difference"] <= 1e-5
    assert results["float64"]["accuracy"] > 0.9  # the weights compared are trained ones
    low, high = results["row_sums"]
    assert abs(low - 1) < 1e-12 and abs(high - 1) < 1e-12
    # without casting X to the model's float32, NumPy computes in float64: float32's precision
    assert 1e-8 < results["uncast_difference"] < 1e-6
    assert results["shapes"]["Z1"] == (300, 6)
    assert_figures(out, "02-forward.png")


def test_forward_exercise_wider_layer(tmp_path_factory):
    results, _ = run("02_forward", tmp_path_factory, hidden=50)
    shapes = results["shapes"]
    assert shapes["Z1"] == shapes["A1"] == (300, 50) and shapes["Z2"] == shapes["P"] == (300, 3)
    assert results["multiplications"] == 300 * (2 * 50 + 50 * 3) == 75_000
    assert results["float32"]["max_abs_difference"] <= 1e-5


def test_activations_saturate_and_relus_die(tmp_path_factory):
    results, out = run("03_activations", tmp_path_factory)
    assert results["derivative_error"] < 1e-6
    # where f' falls to 5 % of its peak, solved in closed form:
    # sigmoid: s (1 - s) = 0.0125; tanh: 1 - t^2 = 0.05
    root = math.sqrt(0.95)
    assert results["saturation_onset"]["sigmoid"] == pytest.approx(
        math.log((1 + root) / (1 - root)), abs=0.02)
    assert results["saturation_onset"]["tanh"] == pytest.approx(math.atanh(root), abs=0.02)
    saturated = results["saturated"]
    for act in ("sigmoid", "tanh"):
        assert saturated[f"{act}, normal(std=1)"] > 0.4
        assert saturated[f"{act}, glorot_uniform"] < 0.1
    # several seeds: where a high learning rate throws the weights varies with the start
    dead = results["dead"]
    low, high, leaky = dead["relu, lr=0.1"], dead["relu, lr=3"], dead["leaky_relu(0.1), lr=3"]
    assert len(low) == len(high) == len(leaky) >= 3
    assert max(max(r["dead_fraction"]) for r in low) <= 0.15
    assert min(r["dead_fraction"][0] for r in high) >= 0.5  # most of layer 1 dies, every time
    assert min(r["final_accuracy"] for r in leaky) > 0.9
    assert all(g > 0 for r in leaky for g in r["grad_norm"])  # leaky units still learn
    for r in high:  # a fully dead layer passes nothing back: the monitor sees no gradient
        if r["dead_fraction"][1] == 1:
            assert r["grad_norm"] == [0, 0]
    mean_loss = {k: np.mean([r["final_loss"] for r in v]) for k, v in dead.items()}
    assert mean_loss["relu, lr=3"] > 2 * mean_loss["leaky_relu(0.1), lr=3"]
    assert mean_loss["relu, lr=3"] > 2 * mean_loss["relu, lr=0.1"]
    # the derivative's 1/4 and the weights' sum together: about fourfold at the usual size
    assert all(0.2 < r <= 0.25 for r in results["sigmoid_shrink"])
    assert round(float(np.prod(results["sigmoid_shrink"])), 5) == 6.6e-4
    assert results["chain_saturated"] == 0
    assert_figures(out, "03-activations.png", "03-dead-relu.png")


def test_activation_exercises():
    """What ``--weight-scale 16``, ``--activation linear`` and ``--activation tanh --rate 3``
    compute, called directly (the whole script needs not run again)."""
    script = load("03_activations")
    # larger weights outweigh the small derivative
    shrink, saturated = script.gradient_through_sigmoids(16.0)
    assert round(min(shrink), 2) == 1.06 and round(max(shrink), 2) == 1.47
    assert round(saturated, 2) == 0.70
    assert script.accuracy_with("linear", 0.1, epochs=15) < 0.6
    assert script.accuracy_with("relu", 0.1, epochs=15) > 0.9
    assert script.accuracy_with("tanh", 3.0, epochs=15) < 0.6  # saturated, though never dead


def test_softmax_properties_and_gradient(tmp_path_factory):
    results, out = run("04_softmax", tmp_path_factory)
    props = results["properties"]
    assert props["finite"] and props["same_argmax"]
    assert 0 <= props["min"] and props["max"] <= 1
    assert props["row_sum_error"] < 1e-12
    assert props["shift_difference"] < 1e-12
    for q, loss in results["log_loss"].items():
        assert loss == pytest.approx(-math.log(q), rel=1e-6)
    assert results["fused_difference"] < 1e-12
    assert results["chain_difference"] < 1e-12
    assert results["numerical_difference"] < 1e-6
    assert results["binary_difference"] < 1e-6  # sigmoid + binary cross-entropy: p - y too
    worked = results["worked"]  # logits (2, 1, 0.1), true class 0, as on the page
    assert np.round(worked["p"], 3).tolist() == [0.659, 0.242, 0.099]
    assert round(worked["loss"], 3) == 0.417
    assert np.round(worked["gradient"], 3).tolist() == [-0.341, 0.242, 0.099]
    assert abs(sum(worked["gradient"])) < 1e-12
    assert worked["library_loss"] == pytest.approx(worked["loss"], abs=1e-12)
    assert worked["library_gradient"] == pytest.approx(worked["gradient"], abs=1e-12)
    # cross-entropy learns a confidently wrong sigmoid output fast; squared error crawls
    assert results["race"] == {"binary_crossentropy": 5, "mse": 36}
    assert_figures(out, "04-softmax.png")


def test_softmax_exercises():
    script = load("04_softmax")
    assert script.steps_to_learn(-8, "binary_crossentropy") == 9
    slow = script.steps_to_learn(-8, "mse")
    assert slow == 1507 and slow == pytest.approx(math.exp(8) / 2, rel=0.02)
    assert script.steps_to_learn(-6, "mse") == 214
    confident = script.worked_example([20, 10, 1])
    assert round(confident["p"][0], 5) == 0.99995 and round(confident["loss"], 6) == 4.5e-5
    assert max(abs(g) for g in confident["gradient"]) < 5e-5
    shifted = script.worked_example([102, 101, 100.1])
    assert shifted["p"] == pytest.approx(script.worked_example([2, 1, 0.1])["p"], abs=1e-12)


def test_backprop_by_hand_matches_library(tmp_path_factory):
    results, out = run("05_backprop", tmp_path_factory)
    for label in ("relu/softmax classifier", "sigmoid/SSE regression"):
        assert results[label]["gradient_gap"] <= 1e-10
        assert results[label]["loss_gap"] <= 1e-10
    training = results["training"]
    assert training["last_loss"] < 0.5 * training["first_loss"]
    assert training["loss_curve_gap"] <= 1e-10
    assert training["weight_gap"] <= 1e-10
    assert_figures(out, "05-backprop.png")


def test_backprop_worked_example():
    script = load("05_backprop")
    w = script.worked_example()
    assert w["Z1"] == [1, 0.5] and w["A1"] == [1, 0.5] and w["y_hat"] == 0.5 and w["J"] == 0.25
    assert w["dy"] == -1 and w["dA1"] == [-1, 2] and w["dZ1"] == [-1, 2]
    dW1, db1, dW2, db2 = w["gradients"]
    assert dW1 == [[-1, 2], [-2, 4]] and db1 == [-1, 2] and dW2 == [[-1], [-0.5]] and db2 == [-1]
    assert w["library_J"] == 0.25 and w["library_gap"] <= 1e-12
    assert w["nudged"][0][1][1] == pytest.approx(4.16)  # J rises by 0.0416 for h = 0.01
    assert 0.15 < w["nudge_gap"] < 0.17
    finer = script.worked_example(nudge=0.001)  # exercise 2: the error is proportional to h
    assert finer["nudge_gap"] == pytest.approx(w["nudge_gap"] / 10, rel=0.01)
    off = script.worked_example(b1_second=-2.0)  # exercise 1: the second unit passes nothing
    assert off["Z1"] == [1, -1.5] and off["y_hat"] == 1.5
    dW1, db1, dW2, _ = off["gradients"]
    assert [row[1] for row in dW1] == [0, 0] and db1[1] == 0 and dW2[1] == [0]
    assert dW1 == [[1, 0], [2, 0]] and off["library_gap"] <= 1e-12


def test_initialization_exercises():
    script = load("06_initialization")
    for fan_out, (forward, backward) in ((256, (1, 1)), (64, (1.6, 0.4))):
        factors = script.glorot_factors(fan_out)
        assert factors["predicted"] == pytest.approx((forward, backward))
        assert factors["forward"] == pytest.approx(forward, rel=0.1)
        assert factors["backward"] == pytest.approx(backward, rel=0.1)
    constant = script.train_symmetry(script.ff.initializers.Constant(0.5), 30,
                                     *script.circle_data())[1]
    assert constant["symmetric"] and constant["unit_spread"] <= 1e-6 * constant["kernel_norm"]
    assert constant["accuracy"] < 0.75
    deep = script.variances("relu", 200, depth=20,
                            labels=("Xavier (glorot_normal)", "He (he_normal)"))[0]
    ratio = {label: v[-1] / v[1] for label, v in deep.items()}
    assert ratio["Xavier (glorot_normal)"] < 1e-5  # halves per layer: 0.5^19
    assert 1 / 3 < ratio["He (he_normal)"] < 3


def test_initialization_symmetry_and_variance(tmp_path_factory):
    results, out = run("06_initialization", tmp_path_factory)
    zeros, glorot = results["symmetry"]["zeros"], results["symmetry"]["glorot_uniform"]
    assert zeros["kernel_norm"] > 0  # the weights moved during training ...
    assert zeros["unit_spread"] <= 1e-6 * zeros["kernel_norm"]  # ... but all units alike
    assert zeros["symmetric"] and not glorot["symmetric"]
    assert glorot["accuracy"] > zeros["accuracy"] + 0.2
    ratios, spreads = results["ratios"], results["spreads"]
    assert spreads["relu, He (he_normal)"] < 3
    assert ratios["relu, normal(std=0.01)"] < 1e-6
    assert ratios["relu, normal(std=1)"] > 1e6
    assert ratios["relu, Xavier (glorot_normal)"] < 0.01  # Xavier halves per ReLU layer
    assert 1e14 < 1 / ratios["tanh, normal(std=0.01)"] < 4e14  # the page's 2e14
    assert ratios["tanh, Xavier (glorot_normal)"] > 0.05  # slow decline, no collapse
    assert results["saturated"]["normal(std=1)"] > 0.5
    variances = np.array(results["variances"]["relu, He (he_normal)"])
    assert np.all(np.isfinite(variances)) and variances.shape == (11,)
    assert_figures(out, "06-symmetry.png", "06-initialization.png")


def playground(page, index, epochs):
    """The frame of a playground session set up by the page's ``index``-th playground link,
    after training ``epochs`` epochs (what the reader sees after pressing play)."""
    session_module = pytest.importorskip("feedforward.playground")
    links = re.findall(r"\]\((http://127\.0\.0\.1:8765/#[^)]+)\)",
                       (DOCS / page).read_text())
    session = session_module.Session(json.loads(urllib.parse.unquote(links[index].split("#")[1])))
    session.train(epochs)
    return session.frame()


def findings(frame):
    return {finding["name"] for finding in frame["doctor"]["findings"]}


def test_the_playground_links_show_what_the_pages_say():
    assert playground("00-how-training-works.md", 0, 20)["metric"]["train"] > 0.99  # r2
    start = playground("00-how-training-works.md", 2, 0)["loss"]["train"]
    diverged = playground("00-how-training-works.md", 2, 20)["loss"]["train"]
    assert round(start) == 22 and 1e9 < diverged < 1e11  # the rate 0.1 overshoots
    assert playground("01-architecture.md", 0, 50)["metric"]["train"] > 0.9  # xor learnt
    assert playground("02-forward-propagation.md", 0, 20)["metric"]["train"] > 0.95
    linear = playground("03-activations.md", 0, 50)
    assert linear["metric"]["train"] < 0.7  # a straight line cannot draw a circle
    sigmoid = playground("03-activations.md", 1, 30)
    assert len(sigmoid["doctor"]["saturated"]) >= 8 and sigmoid["metric"]["train"] < 0.6
    assert "learning_rate_too_high" in findings(sigmoid)
    norms = sigmoid["doctor"]["grad_norms"]
    assert norms[0] < 0.01 * norms[-1]
    tanh = playground("03-activations.md", 2, 30)
    assert "saturation" in findings(tanh) and len(tanh["doctor"]["saturated"]) >= 8
    norms = tanh["doctor"]["grad_norms"]
    assert norms[0] < 1e-4 * norms[-1]
    relu = playground("03-activations.md", 3, 30)
    assert "dead_relus" in findings(relu) and relu["doctor"]["grad_norms"][:2] == [0, 0]
    assert playground("03-activations.md", 4, 30)["metric"]["train"] > 0.95  # leaky: alive
    four = playground("04-softmax-cross-entropy.md", 0, 0)
    assert four["loss"]["train"] == pytest.approx(math.log(4), abs=0.25)  # starts near log 4
    assert playground("05-backpropagation.md", 0, 5)["doctor"]["grad_norms"][0] > 0
    assert "symmetric_initialization" in findings(playground("06-initialization.md", 0, 30))
    small = playground("06-initialization.md", 1, 50)
    norms = small["doctor"]["grad_norms"]
    assert norms[0] < 1e-4 * norms[-1]
    assert small["loss"]["train"] == pytest.approx(math.log(2), abs=0.01)
    assert playground("06-initialization.md", 2, 50)["metric"]["train"] > 0.95  # He trains


FENCE = re.compile(r"(<!-- doc-test: skip[^>]*-->\n)?```python\n(.*?)```", re.S)


def claimed_value(comment):
    """The literal a snippet's comment starts with ("3.6667: J before the step" -> 3.6667),
    and the precision it is shown to (half a unit of its last digit), or None."""
    depth, head = 0, comment.strip()
    for i, char in enumerate(head):  # the text up to the first ':' or ', ' outside brackets
        depth += {"[": 1, "]": -1}.get(char, 0)
        if depth == 0 and (char == ":" or head[i:i + 2] == ", "):
            head = head[:i]
            break
    try:
        value = np.asarray(ast.literal_eval(head), dtype=float)
    except (ValueError, SyntaxError, TypeError):
        return None
    digits = max((len(d) for d in re.findall(r"\.(\d+)", head)), default=0)
    return value, 0.5 * 10.0 ** -digits


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("0[0-6]-*.md")))
def test_each_python_snippet_runs_and_shows_what_its_comments_claim(page, tmp_path,
                                                                    monkeypatch):
    """Every python block of the page runs, in order, in one namespace (unless marked
    ``<!-- doc-test: skip (reason) -->``); an expression line whose comment starts with a
    value (``model.count_params()  # 46``) evaluates to it, to the digits shown."""
    monkeypatch.chdir(tmp_path)
    namespace, checked = {}, 0
    for skip, code in FENCE.findall((DOCS / page).read_text()):
        if skip:
            continue
        for statement in ast.parse(code).body:
            source = ast.get_source_segment(code, statement)
            line = code.splitlines()[statement.end_lineno - 1]
            claim = claimed_value(line.split("#", 1)[1]) if "#" in line else None
            if isinstance(statement, ast.Expr) and claim is not None:
                value, precision = claim
                got = eval(compile(ast.Expression(statement.value), page, "eval"), namespace)
                assert np.asarray(got, dtype=float) == pytest.approx(value, abs=precision), \
                    f"{page}: {source} gave {got}, the page says {value}"
                checked += 1
            else:
                exec(compile(ast.Module([statement], []), page, "exec"), namespace)
    assert checked >= CLAIMS[page[:2]], f"{page}: only {checked} values checked"


CLAIMS = {"00": 2, "01": 1, "02": 1, "03": 2, "04": 3, "05": 2, "06": 0}  # values per page


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("0[0-6]-*.md")))
def test_each_page_has_exercises_answered_by_flags_of_its_script(page):
    text = (DOCS / page).read_text()
    exercises = text.split("## Exercises", 1)[1].split("\n## ", 1)[0]
    items = re.findall(r"^\d\. ", exercises, re.M)
    assert 2 <= len(items) <= 3, f"{page}: {len(items)} exercises"
    script = next(GUIDE.glob(f"{page[:2]}_*.py"))
    flags = set(re.findall(r'add_argument\("(--[\w-]+)"', script.read_text()))
    commands = re.findall(rf"python examples/guide/{re.escape(script.name)}([^`]*)`", exercises)
    used = {flag for command in commands for flag in re.findall(r"--[\w-]+", command)}
    used |= set(re.findall(r"`(--[\w-]+)", exercises))  # "run it with `--no-bias`"
    assert used, f"{page}: no exercise runs {script.name} with a flag"
    assert used <= flags, f"{page}: {sorted(used - flags)} are not flags of {script.name}"
