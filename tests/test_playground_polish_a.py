"""The playground page's pacing and data semantics in a real browser (the system Chromium, driven
by Playwright, against the real server): the frame after a pause holds the paused weights, the
learning-rate box is the exported code's initial rate, discretize bands a regression map, a
refused upload says why beside the button, and a lost connection disables play."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from _helpers import CHROMIUM, NO_CHROMIUM
from test_playground_e2e import (  # noqa: F401
    browser,
    colours,
    heatmap_pixels,
    open_page,
    server,
    shot,
    wait_setup,
)

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=NO_CHROMIUM)
safetensors_numpy = pytest.importorskip("safetensors.numpy")

LONG_EPOCH = {"layers": [{"units": 8, "activation": "tanh", "dropout": 0}] * 3,
              "samples": 2000, "batch_size": 1, "speed": 50}


def exported_kernels(page) -> list:
    """The kernels of the server's network now, from the page's export link."""
    data = page.evaluate("""async () => {
        const r = await fetch(document.getElementById('export').href);
        return Array.from(new Uint8Array(await r.arrayBuffer())); }""")
    tensors = safetensors_numpy.load(bytes(data))
    kernels = sorted((k for k in tensors if k.endswith("kernel")),
                     key=lambda k: int(re.search(r"\d+", k).group()))
    return [tensors[k] for k in kernels]


def test_the_frame_after_a_pause_shows_the_weights_it_stopped_on(open_page):  # noqa: F811
    page = open_page(LONG_EPOCH)
    wait_setup(page, "s.batch_size === 1 && s.samples === 2000")
    page.click("#play")
    # a long epoch is shown as it goes: frames before its end, the progress bar moving
    page.wait_for_function("ffStats.lastFrame.epoch === 0 && ffStats.lastFrame.step > 0 "
                           "&& document.getElementById('epoch-progress').value > 0")
    page.click("#play")  # pause
    page.wait_for_function("!ffStats.running")
    page.wait_for_timeout(300)  # the frame that follows the pause's state
    frame = page.evaluate("ffStats.lastFrame")
    kernels = exported_kernels(page)
    assert len(kernels) == len(frame["weights"]) == 4
    for sent, kernel in zip(frame["weights"], kernels, strict=True):
        np.testing.assert_allclose(sent, kernel, atol=6e-6)  # sent with 5 decimals
    assert int(page.text_content("#epoch").replace(",", "")) == frame["epoch"]


def test_the_rate_box_is_the_schedules_initial_rate_in_the_code(open_page):  # noqa: F811
    page = open_page()
    page.select_option("#schedule", "cosine_decay")
    wait_setup(page, "s.schedule && s.schedule.name === 'cosine_decay'")
    page.select_option("#learning-rate", "0.3")
    wait_setup(page, "s.schedule.initial_learning_rate === 0.3")
    assert page.input_value("#learning-rate") == "0.3"
    page.click("#show-code")
    page.wait_for_function("ffStats.lastCode")
    assert "'initial_learning_rate': 0.3" in page.evaluate("ffStats.lastCode")
    assert "0.03" not in page.evaluate("ffStats.lastCode")
    page.keyboard.press("Escape")
    page.click("#step")
    page.wait_for_function("ffStats.lastFrame.step > 0")
    now = page.text_content("#rate-now")
    assert now.startswith("now ") and 0 < float(now[4:]) <= 0.3


def test_discretize_bands_a_regression_map(open_page):  # noqa: F811
    page = open_page({"dataset": "plane"})
    wait_setup(page, "s.problem === 'regression'")
    for _ in range(3):
        page.click("#step")
    page.wait_for_function("ffStats.lastFrame.epoch === 3")
    page.wait_for_timeout(100)
    smooth = heatmap_pixels(page)
    assert len(colours(page)) > 10
    page.check("#discretize")
    wait_setup(page, "s.discretize")
    page.wait_for_timeout(100)
    assert heatmap_pixels(page) != smooth
    assert 2 <= len(colours(page)) <= 10  # at most ten bands


def test_points_outside_the_map_are_refused_with_a_warning(open_page, tmp_path):  # noqa: F811
    page = open_page()
    path = tmp_path / "far.csv"
    path.write_text("x1,x2,label\n1,1,0\n2,2,1\n100,200,1\n")
    page.set_input_files("#csv-file", str(path))
    warning = page.locator("[data-testid=points-warning]")
    warning.wait_for(state="visible")
    assert "line 4: (100, 200)" in warning.text_content()
    assert "from -6 to 6" in warning.text_content()
    assert page.evaluate("ffStats.setup.dataset") == "circle"
    path.write_text("x1,x2,label\n1,1,0\n2,2,1\n-1,-1,0\n")
    page.set_input_files("#csv-file", str(path))
    wait_setup(page, "s.dataset === 'custom'")
    warning.wait_for(state="hidden")


def test_a_lost_connection_disables_play_and_refuses_changes(open_page):  # noqa: F811
    page = open_page()
    sockets, blocked = [], []

    def route(ws):
        if blocked:
            ws.close()
            return
        sockets.append(ws)
        ws.connect_to_server()

    page.route_web_socket(re.compile(r".*/ws$"), route)
    page.reload()  # the page's socket now goes through the route
    page.wait_for_function("window.ffStats && ffStats.framesDrawn > 0 && ffStats.setup")
    assert sockets and page.is_enabled("#play")

    blocked.append(True)
    sockets[-1].close()
    page.wait_for_function("document.getElementById('play').disabled")
    assert "disconnected" in page.text_content("#conn")
    page.click("[data-testid=dataset-spiral]")
    toast = page.locator("#toast")
    toast.wait_for(state="visible")
    assert "Not connected" in toast.text_content()
    assert page.evaluate("ffStats.setup.dataset") == "circle"
    shot(page, "disconnected.png", full=False)

    blocked.clear()  # the server answers again: the page reconnects by itself
    page.wait_for_function("!document.getElementById('play').disabled", timeout=20000)
    page.click("#play")
    page.wait_for_function("ffStats.running")
    page.click("#play")
