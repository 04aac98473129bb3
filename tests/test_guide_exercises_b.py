"""The playground links of the guide's pages 7-12 show what their pages say.

Each link opens ``feedforward playground`` with a setup in the URL hash; this test trains each
setup in a playground session, for the epochs its page names, and checks the effect the page
describes. (tests/test_guide_links.py checks that every link's setup is valid.)
"""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path

import pytest

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
    assert low["test"]["metric"] < 0.65  # too low: near chance
    assert good["test"]["metric"] > 0.9
    assert high["train"]["loss"] > start["train"]["loss"]  # too high: above the start
    assert relu.frame()["doctor"]["dead"], "rate 3 should leave dead ReLU units"
    assert dead["train"]["metric"] < 0.65


def test_batch_size_links():
    (_, _, one), (_, _, ten), (_, _, whole) = sessions("08-gradient-descent.md", 30)
    assert one["train"]["loss"] < 0.05 and whole["train"]["loss"] > 0.6
    assert one["train"]["loss"] < ten["train"]["loss"] < whole["train"]["loss"]


def test_optimizer_links():
    (_, start, sgd), (_, _, adam) = sessions("09-optimizers.md", 30)
    assert sgd["train"]["metric"] > start["train"]["metric"]
    assert adam["train"]["metric"] > sgd["train"]["metric"] + 0.08


def test_regularization_links():
    (_, _, plain), (_, _, l2) = sessions("10-regularization.md", 200)
    assert plain["train"]["loss"] < 0.01 and plain["test"]["loss"] > 1.0  # overfits
    assert l2["test"]["loss"] < 0.5 * plain["test"]["loss"]
    assert 0.05 < l2["train"]["loss"] < 0.3


def test_input_links():
    (_, _, linear), (_, _, squares) = sessions("11-data.md", 30)
    assert linear["test"]["metric"] < 0.65  # no straight line separates a circle
    assert squares["test"]["metric"] == 1.0


def test_overfit_a_small_subset_links():
    (_, _, one), (_, _, two_layers) = sessions("12-sanity-recipe.md", 300)
    assert one["train"]["loss"] > 0.4
    assert two_layers["train"]["loss"] < 0.01
