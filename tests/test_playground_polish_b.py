"""The playground page's pictures and layout in a real browser (the system Chromium, driven by
Playwright, against the real server): a resize keeps the neuron pictures, the legend and the
axes say what the map means, everything needed to train fits the window at three sizes, a
hovered neuron is drawn on the output map, tooltips use the page's labels, the code is coloured,
and the newcomer panel links to the guide.

Screenshots of the three sizes go to ``$FF_SCREENSHOTS`` (default: the test's tmp folder).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from _helpers import CHROMIUM, NO_CHROMIUM
from test_playground_e2e import browser, open_page, server, wait_setup  # noqa: F401

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=NO_CHROMIUM)

# what a person needs to train: transport, data, inputs, layers, the two main knobs, the results
NEEDED = ["#reset", "#play", "#step", "#epoch", "#learning-rate", "#activation",
          "[data-testid=dataset-circle]", "[data-testid=dataset-plane]", "[data-testid=feature-x1]",
          "[data-testid=feature-sinx2]", "#add-layer", "#remove-layer", "[data-testid=layer-0-add]",
          "[data-testid=layer-0-activation]", "#heatmap", "#chart", "#loss-test", "#colorbar"]
SIZES = [(1600, 1000), (1280, 800), (1000, 800)]


def canvas_ink(page, selector: str) -> int:
    """How many pixels of a canvas are painted and not the blank panel white."""
    return page.evaluate("""(sel) => { const c = document.querySelector(sel);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) {
            if (d[i + 3] && (d[i] < 250 || d[i + 1] < 250 || d[i + 2] < 250)) n++;
        }
        return n; }""", selector)


def legend_ticks(page) -> list[str]:
    return page.eval_on_selector_all("#colorbar .legend-ticks span",
                                     "s => s.map(e => e.textContent)")


def test_a_resize_keeps_the_pictures_the_popup_and_the_gradient_norms(open_page):  # noqa: F811
    page = open_page()
    page.set_viewport_size({"width": 1600, "height": 1000})
    for _ in range(20):
        page.click("#step")
    page.wait_for_function("ffStats.lastFrame.epoch === 20")
    page.wait_for_timeout(100)  # the last frame, drawn
    neurons = ".network canvas.links:nth-of-type(2)"  # the pictures' layer, above the links
    before = canvas_ink(page, neurons)
    norms = page.inner_text("[data-testid=grad-norm-0]")
    assert before > 0 and norms.startswith("‖∇‖ ") and "–" not in norms
    drawn = page.evaluate("ffStats.framesDrawn")

    page.set_viewport_size({"width": 1500, "height": 1000})
    page.wait_for_function("document.querySelector('.network canvas.links').style.width !== ''")
    page.wait_for_timeout(100)
    assert page.evaluate("ffStats.framesDrawn") == drawn  # paused: no new frame repainted it
    after = canvas_ink(page, neurons)
    assert after > 0.8 * before * (1500 / 1600) ** 2, (before, after)
    assert page.inner_text("[data-testid=grad-norm-0]") == norms
    page.hover("[data-testid=node-1-0]")
    page.wait_for_selector("#hover:not([hidden])")
    assert canvas_ink(page, "#hover canvas") > 0  # the popup has the picture
    # and the map shows the neuron's picture large, named
    assert page.is_visible("#map-preview") and canvas_ink(page, "#map-preview") > 0
    assert page.inner_text("#map-label") == "layer 1, neuron 1"
    page.mouse.move(5, 5)
    page.wait_for_selector("#map-preview", state="hidden")


def test_the_legend_shows_the_scale_of_a_regression_and_the_axes_have_ticks(open_page):  # noqa: F811
    page = open_page({"dataset": "plane"})
    wait_setup(page, "s.problem === 'regression'")
    page.wait_for_function("document.querySelectorAll('#colorbar .legend-ticks span').length === 5")
    scale = page.evaluate("ffPage.heatmap.scale")
    assert 0 < scale < 9
    ticks = legend_ticks(page)
    assert float(ticks[-1]) == pytest.approx(scale, rel=1e-2)
    assert float(ticks[0]) == -float(ticks[-1])
    assert page.inner_text("#ticks-x1").split() == ["-6", "-3", "0", "3", "6"]
    assert page.inner_text("#ticks-x2").split() == ["6", "3", "0", "-3", "-6"]
    assert page.is_visible(".axis-name.x2") and page.is_visible(".axis-name.x1")

    page.check("#draw-mode")  # one point with target 9: the colours now saturate at 9
    page.fill("#draw-value", "9")
    page.click("#points", position={"x": 150, "y": 150})
    page.wait_for_function("['train', 'val', 'test'].some(part => "
                           "(ffStats.lastData[part] || []).some(p => p[2] === 9))")
    page.wait_for_function("[...document.querySelectorAll('#colorbar .legend-ticks span')]"
                           ".map(e => e.textContent).join(' ') === '-9 -4.5 0 4.5 9'")
    assert "±9" in page.inner_text("#colorbar")


def test_the_legend_of_a_classifier_is_a_probability(open_page):  # noqa: F811
    page = open_page({"dataset": "gaussian", "classes": 3})
    wait_setup(page, "s.classes === 3")
    page.wait_for_function("document.querySelectorAll('#colorbar .legend-row').length === 3")
    text = page.inner_text("#colorbar")
    assert "class 2" in text and "0.333" in text
    page.click("[data-testid=dataset-circle]")
    wait_setup(page, "s.dataset === 'circle'")
    page.wait_for_function("document.getElementById('colorbar').textContent"
                           ".includes('Probability of class 1')")
    assert legend_ticks(page) == ["0", "0.25", "0.5", "0.75", "1"]


@pytest.mark.parametrize("width,height", SIZES)
def test_everything_needed_to_train_is_on_screen(open_page, width, height, tmp_path):  # noqa: F811
    page = open_page()
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_function(f"document.querySelector('.network canvas.links').style.width && "
                           f"window.innerWidth === {width}")
    page.wait_for_timeout(150)
    off = []
    for selector in NEEDED:
        box = page.locator(selector).bounding_box()
        if box is None or box["x"] < 0 or box["y"] < 0 or box["x"] + box["width"] > width \
                or box["y"] + box["height"] > height:
            off.append((selector, box))
    assert not off, f"off screen at {width}x{height}: {off}"
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll
    for selector in ["#layout select", ".layer-head select", ".inspect", "#colorbar", ".gradnorm"]:
        size = page.eval_on_selector(selector, "e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= 11, (selector, size)
    folder = Path(os.environ.get("FF_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"playground-{width}x{height}.png"))


def test_the_drawer_holds_the_advanced_options_and_checkboxes_sit_by_their_labels(open_page):  # noqa: F811
    page = open_page({"optimizer": {"name": "sgd", "learning_rate": 0.03, "momentum": 0.9}})
    wait_setup(page, "s.optimizer.name === 'sgd'")
    assert not page.is_visible("#initializer") and page.is_visible("#schedule")
    page.click("#advanced > summary")
    assert page.is_visible("#initializer") and page.is_visible("#speed")
    box = page.locator("[data-testid=opt-nesterov]").bounding_box()
    name = page.locator("label.param:has([data-testid=opt-nesterov]) span").bounding_box()
    assert 0 <= name["x"] - (box["x"] + box["width"]) <= 12  # the label right beside its box


def test_tooltips_use_the_labels_and_the_code_is_coloured(open_page):  # noqa: F811
    page = open_page()
    labels = page.evaluate("Object.fromEntries(ffStats.setup && [...document.querySelectorAll("
                           "'.node.feature')].map(d => [d.dataset.feature, d.title]))")
    assert labels["x1x2"].startswith("X₁X₂:"), labels
    for name, title in labels.items():
        if name not in ("x1", "x2"):
            assert not title.startswith(f"{name}:"), (name, title)
    page.hover("[data-testid=feature-x1x2]")
    page.wait_for_selector("#hover:not([hidden])")
    assert "x1x2" not in page.inner_text("#hover")
    page.click("#show-code")
    page.wait_for_selector("#code-text .token.keyword")
    colour = page.eval_on_selector("#code-text .token.keyword", "e => getComputedStyle(e).color")
    plain = page.eval_on_selector("#code-text", "e => getComputedStyle(e).color")
    assert colour != plain
    assert "import feedforward" in page.text_content("#code-text")


def test_the_newcomer_panel_links_each_part_to_its_guide_page(open_page, server):  # noqa: F811
    page = open_page()
    assert page.is_visible("#help a[href='/guide/03-activations.md']")  # open at first
    links = page.eval_on_selector_all("#help a", "as => as.map(a => a.getAttribute('href'))")
    root = Path(__file__).resolve().parents[1]
    for page_name in ("01-architecture.md", "03-activations.md", "07-learning-rate.md",
                      "10-regularization.md"):
        assert f"/guide/{page_name}" in links
    for href in links:
        assert (root / "docs" / href.lstrip("/")).is_file(), href
        text = page.evaluate("async (h) => (await fetch(h)).text()", href)
        assert text.startswith("#"), href  # the guide's page itself, served by the playground
    status = page.evaluate("async () => (await fetch('/guide/no-such-page.md')).status")
    assert status == 404
