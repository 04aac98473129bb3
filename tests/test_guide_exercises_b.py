"""Pages 7-12 of the guide: their playground links show what the pages say, their Python
snippets run and print what their comments claim, and their exercises are answered by flags of
their scripts.

Each link opens ``feedforward playground`` with a setup in the URL hash; the tests train each
setup in a playground session, for the epochs its page names, and check the effect the page
describes (tests/test_guide_links.py checks that every link's setup is valid). The snippets
and exercises are checked by the rules of tests/test_guide_basics.py, which does the same for
pages 0-6.
"""

from __future__ import annotations

import ast
import json
import re
import urllib.parse
from pathlib import Path

import numpy as np
import pytest

from test_guide_basics import FENCE, claimed_value

playground = pytest.importorskip("feedforward.playground")

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "guide"
LINK = re.compile(r"\]\((http://127\.0\.0\.1:8765/#[^)\s]+)\)")


def sessions(page, epochs):
    """A playground session per link of ``page``, in the page's order, each with its scores
    before training, trained ``epochs`` epochs: [(session, scores before, scores after)]."""
    out = []
    for link in LINK.findall((GUIDE / page).read_text()):
        setup = json.loads(urllib.parse.unquote(link.split("#", 1)[1]))
        session = playground.Session(setup)
        before = session.evaluate()
        session.train(epochs)
        out.append((session, before, session.evaluate()))
    return out


def test_learning_rate_links():
    (_, _, low), (_, _, good), (_, start, high), (relu, _, dead) = \
        sessions("07-learning-rate.md", 30)
    assert low["test"]["metric"] == pytest.approx(0.53, abs=0.03)  # too low: near chance
    assert good["test"]["metric"] == pytest.approx(0.98, abs=0.01)
    assert high["train"]["loss"] > start["train"]["loss"]  # too high: above the start
    assert relu.frame()["doctor"]["dead"], "rate 3 should leave dead ReLU units"
    assert dead["train"]["metric"] < 0.65


def test_batch_size_links():
    (_, _, one), (_, _, ten), (_, _, whole) = sessions("08-gradient-descent.md", 30)
    assert one["train"]["loss"] < ten["train"]["loss"] < whole["train"]["loss"]
    losses = [run["train"]["loss"] for run in (one, ten, whole)]
    assert losses == pytest.approx([0.015, 0.22, 0.70], abs=0.005)  # as the page quotes


def test_optimizer_links():
    (_, start, sgd), (_, _, adam) = sessions("09-optimizers.md", 30)
    assert adam["train"]["metric"] > sgd["train"]["metric"] + 0.08
    accuracies = [start["train"]["metric"], sgd["train"]["metric"], adam["train"]["metric"]]
    assert accuracies == pytest.approx([0.45, 0.60, 0.73], abs=0.01)


def test_regularization_links():
    (_, _, plain), (_, _, l2) = sessions("10-regularization.md", 200)
    assert plain["train"]["loss"] < 0.01 and plain["test"]["loss"] > 1.0  # overfits
    assert l2["test"]["loss"] < 0.5 * plain["test"]["loss"]
    assert (plain["test"]["loss"], l2["train"]["loss"], l2["test"]["loss"]) == \
        pytest.approx((1.6, 0.14, 0.5), abs=0.03)


def test_input_links():
    (_, _, linear), (_, _, squares) = sessions("11-data.md", 30)
    assert linear["test"]["metric"] == pytest.approx(0.5, abs=0.03)  # chance: no line fits
    assert squares["test"]["metric"] == 1.0


def test_overfit_a_small_subset_links():
    (_, _, one), (_, _, two_layers) = sessions("12-sanity-recipe.md", 300)
    assert one["train"]["loss"] == pytest.approx(0.6, abs=0.02)  # cannot memorise 25 points
    assert two_layers["train"]["loss"] < 0.01
    assert two_layers["test"]["metric"] < 0.6  # near chance: memorised, not learned


PAGES = [f"{n:02d}-" for n in range(7, 13)]
CLAIMS = {"07": 2, "08": 2, "09": 1, "10": 1, "11": 0, "12": 2}  # checked values per page


def page_named(prefix):
    return next(GUIDE.glob(f"{prefix}*.md"))


@pytest.mark.parametrize("prefix", PAGES)
def test_each_python_snippet_runs_and_shows_what_its_comments_claim(prefix, tmp_path,
                                                                    monkeypatch):
    """Every python block of the page runs, in order, in one namespace; an expression line
    whose comment starts with a value evaluates to it, to the digits shown."""
    monkeypatch.chdir(tmp_path)
    page = page_named(prefix)
    namespace, checked = {}, 0
    for skip, code in FENCE.findall(page.read_text()):
        if skip:
            continue
        for statement in ast.parse(code).body:
            line = code.splitlines()[statement.end_lineno - 1]
            claim = claimed_value(line.split("#", 1)[1]) if "#" in line else None
            if isinstance(statement, ast.Expr) and claim is not None:
                value, precision = claim
                got = eval(compile(ast.Expression(statement.value), page.name, "eval"),
                           namespace)
                assert np.asarray(got, dtype=float) == pytest.approx(value, abs=precision), \
                    f"{page.name}: {ast.get_source_segment(code, statement)} gave {got}"
                checked += 1
            else:
                exec(compile(ast.Module([statement], []), page.name, "exec"), namespace)
    assert checked >= CLAIMS[prefix[:2]], f"{page.name}: only {checked} values checked"


@pytest.mark.parametrize("prefix", PAGES)
def test_each_page_has_exercises_answered_by_flags_of_its_script(prefix):
    page = page_named(prefix)
    exercises = page.read_text().split("## Exercises", 1)[1].split("\n## ", 1)[0]
    assert 2 <= len(re.findall(r"^\d\. ", exercises, re.M)) <= 3, page.name
    script = next((GUIDE.parents[1] / "examples" / "guide").glob(f"{prefix[:2]}_*.py"))
    flags = set(re.findall(r'add_argument\("(--[\w-]+)"', script.read_text()))
    used = set(re.findall(r"`(--[\w-]+)", exercises))
    assert used and used <= flags, f"{page.name}: {sorted(used - flags)} are not flags"
