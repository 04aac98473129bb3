"""The playground's doctor in a real browser (the system Chromium, driven by Playwright, against
the real server): ‖∇‖ reads "–" before the first step, and a finding's Apply button changes the
control and the server's setup."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from _helpers import CHROMIUM, NO_CHROMIUM
from test_playground_doctor import PYTHON
from test_playground_e2e import browser, open_page, server, shot, wait_setup  # noqa: F401

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=NO_CHROMIUM)

RELU_AT_10 = {"layers": [{"units": 8, "activation": "relu", "dropout": 0}] * 8,
              "optimizer": {"name": "sgd", "learning_rate": 10}}
RATE_FIX = "#findings button.apply[title^='Set Learning rate:']"


def test_apply_lowers_the_rate_and_no_gradient_norm_before_a_step(open_page):  # noqa: F811
    page = open_page(RELU_AT_10)
    wait_setup(page, "s.layers.length === 8 && s.optimizer.learning_rate === 10")
    # the frame of this network, drawn: 8 hidden layers and the output, no step yet
    page.wait_for_function("document.querySelectorAll('.gradnorm').length === 9 && "
                           "ffStats.lastFrame.weights.length === 9 && "
                           "ffStats.lastFrame.step === 0")
    norms = [page.inner_text(f"[data-testid=grad-norm-{i}]") for i in range(9)]
    assert norms == ["‖∇‖ –"] * 9

    page.click("[data-testid=step]")  # one epoch at rate 10
    page.wait_for_function("ffStats.lastFrame.epoch === 1")
    page.wait_for_function("!document.querySelector('[data-testid=grad-norm-0]')"
                           ".textContent.includes('–')")
    assert re.fullmatch(r"‖∇‖ \d\.\de[+-]\d+", page.inner_text("[data-testid=grad-norm-8]"))

    button = page.wait_for_selector(RATE_FIX, timeout=10000)
    panel = page.inner_text("#findings")
    assert "Apply" in panel and not PYTHON.findall(panel), panel
    rate = float(button.get_attribute("title").removeprefix("Set Learning rate:"))
    assert rate < 10
    shot(page, "doctor-apply.png")
    button.click()
    assert float(page.input_value("#learning-rate")) == rate  # the control, at once
    wait_setup(page, f"s.optimizer.learning_rate === {rate}")  # and the server's setup
    assert page.evaluate("ffStats.setup.optimizer.name") == "sgd"
