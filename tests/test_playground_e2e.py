"""The playground in a real browser: the system Chromium, driven by Playwright, against the real
server (uvicorn on a free local port).

Screenshots go to ``$FF_ARTIFACTS`` (default ``runs/playground-screenshots/``), with
``frame-rate.json`` holding the measured frames per second of the big network.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from _helpers import CHROMIUM, LAUNCH_ARGS, NO_CHROMIUM, free_port, record

ROOT = Path(__file__).resolve().parents[1]
VIEWPORT = {"width": 1500, "height": 1000}

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=NO_CHROMIUM)
sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("uvicorn")


def artifacts() -> Path:
    folder = Path(os.environ.get("FF_ARTIFACTS") or ROOT / "runs" / "playground-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def server():
    """The playground app (its factory) served by uvicorn in a child process; yields its URL.

    A process of its own, so that the server's training does not share an interpreter lock
    with the test; no per-message compression, which costs more than a frame (as `serve`).
    """
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", "feedforward.playground:create_app",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
               "--ws-per-message-deflate", "false"]
    process = subprocess.Popen(command, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError("the playground server did not start")
        time.sleep(0.1)
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def open_page(browser, server):
    """Open the page (optionally with a setup in the hash) and wait for its first frame.

    Fails the test if the page throws an uncaught error.
    """
    pages, errors = [], []

    def _open(setup=None, url=None):
        page = browser.new_page(viewport=VIEWPORT)
        page.on("pageerror", lambda e: errors.append(str(e)))
        if url is None:
            url = server + ("#" + urllib.parse.quote(json.dumps(setup)) if setup else "")
        page.goto(url)
        page.wait_for_function("window.ffStats && ffStats.framesDrawn > 0 && ffStats.setup",
                               timeout=30000)
        pages.append(page)
        return page

    yield _open
    for page in pages:
        page.close()
    assert not errors, f"the page threw: {errors}"


def wait_setup(page, condition, timeout=20000):
    """Wait until the server's validated setup (``ffStats.setup``) satisfies a JS condition."""
    page.wait_for_function(f"(s => {condition})(ffStats.setup)", timeout=timeout)


def heatmap_pixels(page) -> list[int]:
    return page.evaluate("""() => { const c = document.getElementById('heatmap');
        return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }""")


def colours(page) -> set:
    pixels = heatmap_pixels(page)
    return {tuple(pixels[i:i + 3]) for i in range(0, len(pixels), 4)}


def shot(page, name, full=True):
    page.screenshot(path=str(artifacts() / name), full_page=full)


# ------------------------------------------------------------------------------ training
def test_train_spiral_with_an_extra_layer_and_adam(open_page):
    page = open_page()
    page.click("[data-testid=dataset-spiral]")
    wait_setup(page, "s.dataset === 'spiral'")
    for feature in ("sinx1", "sinx2"):  # the Playground's classic hint for the spiral
        page.click(f"[data-testid=feature-{feature}]")
    page.click("#add-layer")
    wait_setup(page, "s.layers.length === 3 && s.features.length === 4")
    for layer in (0, 1):
        for _ in range(4):
            page.click(f"[data-testid=layer-{layer}-add]")
    page.select_option("#optimizer", "adam")
    page.click("#advanced > summary")  # the drawer of advanced options
    page.fill("#speed", "5")  # epochs per frame
    page.dispatch_event("#speed", "change")
    wait_setup(page, "s.optimizer.name === 'adam' && s.layers[0].units === 8 "
                     "&& s.layers[1].units === 6 && s.speed === 5")
    assert page.locator("[data-testid=opt-beta_1]").input_value() == "0.9"
    page.wait_for_function("ffStats.lastFrame && ffStats.lastFrame.epoch === 0 "
                           "&& ffStats.lastFrame.weights.length === 4")
    page.wait_for_timeout(200)
    before = heatmap_pixels(page)
    first_loss = float(page.text_content("#loss-test"))

    page.click("#play")
    page.wait_for_function("parseFloat(document.getElementById('loss-test').textContent) < 0.3",
                           timeout=30000)
    page.click("#play")  # pause
    page.wait_for_function("!ffStats.running")
    # the counter shows the last frame's epoch, as the Playground writes it (000,123)
    page.wait_for_function("document.getElementById('epoch').textContent.replace(/,/g, '') "
                           "== ffStats.lastFrame.epoch")
    assert int(page.text_content("#epoch").replace(",", "")) > 0
    assert float(page.text_content("#loss-test")) < min(0.3, first_loss)
    after = heatmap_pixels(page)
    changed = sum(abs(a - b) > 30 for a, b in zip(before, after, strict=True)) / len(before)
    assert changed > 0.05, f"only {changed:.1%} of the heatmap's channels changed"
    assert page.evaluate("ffStats.lastFrame.metric.test") > 0.85
    page.check("#show-test")
    page.wait_for_timeout(100)
    shot(page, "spiral-trained.png")

    # discretized, a binary map has exactly two colours
    assert len(colours(page)) > 10
    page.check("#discretize")
    wait_setup(page, "s.discretize")
    page.wait_for_function("ffStats.setup.discretize")
    assert len(colours(page)) == 2

    # hovering a neuron shows its thumbnail full size: the same 20 x 20 picture, drawn 160 px wide
    page.hover("[data-testid=node-1-0]")
    popup = page.locator("#hover")
    popup.wait_for(state="visible")
    assert "layer 1, neuron 1" in popup.text_content()
    assert popup.locator("canvas").bounding_box()["width"] >= 150
    shades = page.evaluate("""() => { const c = document.querySelector('#hover canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        return new Set(Array.from({length: d.length / 4}, (_, i) => d[4 * i] >> 4)).size; }""")
    assert shades > 3, "the hovered thumbnail is blank"
    shot(page, "neuron-hover.png", full=False)


def test_three_classes_get_a_softmax_output_and_a_three_by_three_confusion(open_page):
    page = open_page()
    page.click("[data-testid=dataset-gaussian]")
    page.fill("#classes", "3")
    page.dispatch_event("#classes", "change")
    wait_setup(page, "s.dataset === 'gaussian' && s.classes === 3")
    page.wait_for_function("ffStats.lastFrame.heatmap.shape.length === 3")
    assert page.evaluate("ffStats.lastFrame.heatmap.shape[2]") == 3
    assert page.locator("[data-testid^=output-]").count() == 3
    assert page.locator("#confusion tr").count() == 4  # the header and three classes
    labels = {round(y) for *_, y in page.evaluate("ffStats.lastData.train")}
    assert labels == {0, 1, 2}
    assert page.locator("#draw-label option").count() == 3


def test_regression_shows_r2_and_a_validation_split_shows_its_loss(open_page):
    page = open_page()
    assert page.locator("#loss-val-row").is_hidden()
    page.click("[data-testid=dataset-plane]")
    # the dataset's state first: arriving after the fill, it put the box back to 0, and the
    # change event then sent 0 (a race seen once in seven CI runs)
    wait_setup(page, "s.problem === 'regression'")
    page.fill("#val-percent", "20")
    page.dispatch_event("#val-percent", "change")
    wait_setup(page, "s.problem === 'regression' && s.val_percent === 20")
    page.wait_for_function("ffStats.lastFrame.loss.val !== null && ffStats.dataCounts.val > 0")
    page.click("#step")
    page.wait_for_function("document.getElementById('loss-val').textContent !== '–'")
    assert page.locator("#loss-val-row").is_visible()
    assert page.text_content("#metric-name") == "R²"
    assert page.locator("#confusion-wrap").is_hidden()  # no confusion matrix for regression
    assert page.locator("#draw-value").is_visible() and page.locator("#draw-label").is_hidden()
    assert page.input_value("#problem") == "regression"


def tile_pixel(page, selector, x1, x2) -> list[int]:
    """The colour a 48 px tile over the square [-6, 6]^2 has at the point (x1, x2)."""
    return page.evaluate("""([selector, x1, x2]) => {
        const c = document.querySelector(selector);
        const px = Math.floor((x1 + 6) / 12 * c.width), py = Math.floor((6 - x2) / 12 * c.height);
        return Array.from(c.getContext('2d').getImageData(px, py, 1, 1).data); }""",
                         [selector, x1, x2])


def test_the_tiles_draw_the_points_and_pictures_the_server_computes(open_page, server):
    """The page holds no copy of the generators or the feature maps: what it draws is the
    server's (options.previews, options.feature_thumbnails), in the palette's colours."""
    page = open_page()
    with urllib.request.urlopen(server + "api/options") as response:
        previews = json.load(response)["previews"]
    circle = np.array(previews["circle"])
    radius = np.hypot(circle[:, 0], circle[:, 1])
    inner = circle[np.argmin(radius)]  # class 1, surrounded by its own class
    outer = circle[np.argmax(radius)]  # class 0
    assert (inner[2], outer[2]) == (1, 0)
    tile = "[data-testid=dataset-circle] canvas"
    blue, orange = (tile_pixel(page, tile, *inner[:2]), tile_pixel(page, tile, *outer[:2]))
    assert blue[2] > blue[0] + 60 and orange[0] > orange[2] + 60, (blue, orange)
    feature = "[data-testid=feature-x1] canvas"  # x1: orange on the left, blue on the right
    left, right = tile_pixel(page, feature, -5.5, 0), tile_pixel(page, feature, 5.5, 0)
    assert left[0] > left[2] + 60 and right[2] > right[0] + 60, (left, right)


# ------------------------------------------------------------------------------ editing
def test_clicking_a_link_and_a_bias_edits_them_on_the_server(open_page):
    page = open_page()
    page.wait_for_function("ffStats.lastFrame.weights.length === 3")
    # the output layer's link from the second neuron of hidden layer 2
    page.hover("[data-testid=link-2-1-0]")
    tip = page.locator("#link-tip")
    tip.wait_for(state="visible")
    assert "L2·2 → output" in tip.text_content()
    page.click("[data-testid=link-2-1-0]")
    editor = page.locator("#editor")
    editor.wait_for(state="visible")
    assert "Weight" in page.text_content("#editor-title")
    shown = float(page.input_value("#editor-value"))
    assert math.isclose(shown, page.evaluate("ffStats.lastFrame.weights[2][1][0]"), abs_tol=1e-3)
    page.fill("#editor-value", "2.5")
    shot(page, "edit-weight-dialog.png", full=False)
    page.click("#editor-apply")
    page.wait_for_function("ffStats.lastFrame.weights[2][1][0] === 2.5")
    editor.wait_for(state="hidden")

    page.click("[data-testid=bias-0-3]")
    editor.wait_for(state="visible")
    assert "Bias" in page.text_content("#editor-title")
    page.fill("#editor-value", "-1.25")
    page.press("#editor-value", "Enter")
    page.wait_for_function("ffStats.lastFrame.biases[0][3] === -1.25")
    # the weight edited first is still in place
    assert page.evaluate("ffStats.lastFrame.weights[2][1][0]") == 2.5

    # Escape cancels: nothing is sent, the bias stays
    sent = page.evaluate("ffStats.messages.frame")
    page.click("[data-testid=bias-0-3]")
    editor.wait_for(state="visible")
    page.fill("#editor-value", "7")
    page.keyboard.press("Escape")
    editor.wait_for(state="hidden")
    page.wait_for_timeout(300)
    assert page.evaluate("ffStats.messages.frame") == sent
    assert page.evaluate("ffStats.lastFrame.biases[0][3]") == -1.25


def test_a_refused_value_shows_the_servers_message_and_keeps_the_setup(open_page):
    page = open_page()
    page.select_option("#optimizer", "adam")
    wait_setup(page, "s.optimizer.name === 'adam'")
    page.click("#advanced > summary")  # the drawer of advanced options
    beta = page.locator("[data-testid=opt-beta_1]")
    beta.fill("2")
    beta.dispatch_event("change")
    page.wait_for_function("ffStats.errors.length > 0")
    toast = page.locator("#toast")
    toast.wait_for(state="visible")
    assert "beta_1" in toast.text_content()
    assert page.evaluate("ffStats.setup.optimizer.beta_1") == 0.9
    page.wait_for_function("document.querySelector('[data-testid=opt-beta_1]').value === '0.9'")


# ------------------------------------------------------------------------------ the URL
def test_a_copied_link_reproduces_the_setup(open_page):
    page = open_page()
    page.click("[data-testid=dataset-xor]")
    page.click("[data-testid=feature-x1x2]")
    page.click("#add-layer")
    wait_setup(page, "s.dataset === 'xor' && s.layers.length === 3 && s.features.includes('x1x2')")
    page.click("[data-testid=layer-2-add]")
    page.select_option("[data-testid=layer-1-activation]", "relu")
    page.select_option("#optimizer", "rmsprop")
    page.select_option("#regularization", "l2")
    page.select_option("#reg-rate", "0.003")
    page.select_option("#schedule", "exponential_decay")
    wait_setup(page, "s.optimizer.name === 'rmsprop' && s.regularization === 'l2' "
                     "&& s.reg_rate === 0.003 && s.layers[2].units === 3 "
                     "&& s.layers[1].activation === 'relu' && s.schedule !== null")
    page.fill("#noise", "20")
    page.dispatch_event("#noise", "change")
    wait_setup(page, "s.noise === 20")
    setup = page.evaluate("ffStats.setup")
    link = page.url
    assert "#" in link

    copy = open_page(url=link)
    wait_setup(copy, "s.dataset === 'xor' && s.noise === 20")
    assert copy.evaluate("ffStats.setup") == setup
    assert copy.input_value("#optimizer") == "rmsprop"
    assert copy.text_content("#layer-count") == "3"
    assert copy.input_value("[data-testid=layer-1-activation]") == "relu"
    assert "selected" in copy.get_attribute("[data-testid=dataset-xor]", "class")
    assert "on" in copy.get_attribute("[data-testid=feature-x1x2]", "class")
    # the same setup gives the same initial weights
    assert copy.evaluate("ffStats.lastFrame.weights") == page.evaluate("ffStats.lastFrame.weights")
    shot(copy, "from-copied-link.png")


def test_a_link_with_a_bad_field_keeps_the_rest_of_its_setup(open_page):
    page = open_page({"dataset": "xor", "noise": 10, "speed": 999,
                      "layers": [{"units": 5, "activation": "relu", "dropout": 0}]})
    wait_setup(page, "s.dataset === 'xor' && s.noise === 10 && s.layers.length === 1")
    assert page.evaluate("ffStats.setup.speed") == 1  # the default, in place of 999
    assert any("speed" in e["message"] for e in page.evaluate("ffStats.errors"))
    assert page.locator("#toast").is_visible()


# ------------------------------------------------------------------------------ your data
def test_upload_a_csv_then_draw_a_point(open_page, tmp_path):
    page = open_page()
    rows = ["x1,x2,label"]
    for i in range(60):  # two classes split by the line x1 = x2
        x1, x2 = -5 + (i * 7919 % 100) / 10, -5 + (i * 104729 % 100) / 10
        rows.append(f"{x1},{x2},{int(x1 > x2)}")
    path = tmp_path / "points.csv"
    path.write_text("\n".join(rows) + "\n")
    page.set_input_files("#csv-file", str(path))
    wait_setup(page, "s.dataset === 'custom' && s.problem === 'classification'")
    page.wait_for_function("ffStats.dataCounts && ffStats.dataCounts.total === 60")
    custom = page.locator("[data-testid=dataset-custom]")
    assert custom.is_visible() and "selected" in custom.get_attribute("class")

    page.check("#draw-mode")
    page.select_option("#draw-label", "1")
    box = page.locator("#points").bounding_box()
    # a click at 3/4 of the width and 1/4 of the height is the point (3, 3)
    page.mouse.click(box["x"] + 0.75 * box["width"], box["y"] + 0.25 * box["height"])
    page.wait_for_function("ffStats.dataCounts.total === 61")
    train = page.evaluate("ffStats.lastData.train")
    assert any(abs(x1 - 3) < 0.1 and abs(x2 - 3) < 0.1 and y == 1 for x1, x2, y in train)
    shot(page, "uploaded-csv.png")


# ------------------------------------------------------------------------------ code, inspect
def test_python_code_the_step_by_step_view_and_the_model_download(open_page, tmp_path):
    page = open_page()
    page.click("#show-code")
    page.locator("#code-dialog").wait_for(state="visible")
    page.wait_for_function("document.getElementById('code-text').textContent.includes('import')")
    code = page.text_content("#code-text")
    assert "feedforward" in code and "experiment.build_model" in code
    shot(page, "python-code.png", full=False)
    page.click("#code-close")

    page.click("#step-inspect")
    page.locator("[data-testid=inspect-layer-2]").wait_for(state="visible")
    assert page.evaluate("ffStats.lastFrame.epoch") == 1
    # one matrix cell per value: z of the first hidden layer is (rows of the batch) x 4
    cells = page.locator("[data-testid=inspect-layer-0] .mat").first.locator("td").count()
    assert cells == min(8, page.evaluate("ffStats.lastInspect.layers[0].z.length")) * 4
    shot(page, "step-by-step.png")

    # the download link serves the session's network, as trained so far
    href = page.get_attribute("#export", "href")
    response = page.request.get(urllib.parse.urljoin(page.url, href))
    assert response.ok
    path = tmp_path / "playground.safetensors"
    path.write_bytes(response.body())
    import feedforward as ff

    model = ff.load_model(path)
    kernel = model.get_weights()[0]
    np.testing.assert_allclose(kernel, page.evaluate("ffStats.lastFrame.weights[0]"), atol=1e-4)


# ------------------------------------------------------------------------------ speed
BIG = {"dataset": "spiral", "grid": 100,
       "features": ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"],
       "layers": [{"units": 32, "activation": "tanh", "dropout": 0}] * 8}


REPLAY = """async (seconds) => {
  // Two real frames as JSON text (the second with other weights), each parsed as the socket's
  // would be and fed to the page, the next one as soon as the page has drawn the last.
  const base = ffStats.lastFrame;
  const texts = [JSON.stringify(base), JSON.stringify({...base,
    weights: base.weights.map(k => k.map(row => row.map(w => -1.5 * w)))})];
  const d0 = ffStats.framesDrawn, t0 = performance.now();
  const times = [];
  for (let k = 1; performance.now() - t0 < seconds * 1000; k++) {
    const tp = performance.now();
    const f = JSON.parse(texts[k % 2]);
    const parse = performance.now() - tp;
    f.epoch = base.epoch + k;
    f.history = {epoch: [f.epoch], train: [0.5], val: [null], test: [0.6]};
    f.history_reset = false;
    const drawn = ffStats.framesDrawn;
    ffPage.onMessage(f);
    while (ffStats.framesDrawn === drawn) await new Promise(r => setTimeout(r, 1));
    times.push(parse + ffStats.lastDrawMs);
  }
  const n = ffStats.framesDrawn - d0;
  times.sort((a, b) => a - b);
  // fps: frames parsed and drawn per second; ms: the script's time per frame (parse + draw),
  // the median, as the machine's other work preempts some frames
  return {fps: n / ((performance.now() - t0) / 1000), ms: times[times.length >> 1],
          frames: n};
}"""


def test_the_page_draws_replayed_frames_of_a_big_network(open_page):
    """The page's share of the frame rate: real frames of the big network replayed in the page.

    The script's time per frame (parsing, decoding, drawing) is recorded; its target (under
    25 ms, room for 20 frames a second) is judged by ``benchmarks/speed_targets.py``.
    """
    page = open_page(BIG)
    wait_setup(page, "s.layers.length === 8 && s.grid === 100")
    page.wait_for_function("ffStats.lastFrame.weights.length === 9")
    result = page.evaluate(REPLAY, 2)
    print("playground page alone:", result)
    (artifacts() / "page-frame-rate.json").write_text(json.dumps(result, indent=1))
    record("page_frame", **result)
    assert result["frames"] > 0 and result["ms"] > 0, result


def test_the_big_network_trains_and_draws_live(open_page):
    """End to end: the server trains and sends, the page draws (the rate, whose target is 20
    frames a second, is judged by ``benchmarks/speed_targets.py``)."""
    page = open_page(BIG)
    wait_setup(page, "s.layers.length === 8 && s.grid === 100")
    page.wait_for_function("ffStats.lastFrame.weights.length === 9")
    page.click("#play")
    page.wait_for_timeout(1000)
    start = page.evaluate("[ffStats.framesDrawn, ffStats.framesReceived, ffStats.drawMs, "
                          "performance.now()]")
    page.wait_for_timeout(5000)
    end = page.evaluate("[ffStats.framesDrawn, ffStats.framesReceived, ffStats.drawMs, "
                        "performance.now()]")
    page.click("#play")
    seconds = (end[3] - start[3]) / 1000
    drawn = (end[0] - start[0]) / seconds
    received = (end[1] - start[1]) / seconds
    draw_ms = (end[2] - start[2]) / max(1, end[0] - start[0])
    report = {"frames_drawn_per_s": round(drawn, 1), "frames_received_per_s": round(received, 1),
              "page_ms_per_frame": round(draw_ms, 1), "seconds": round(seconds, 2),
              "setup": "8 x 32 tanh, 7 features, grid 100"}
    (artifacts() / "frame-rate.json").write_text(json.dumps(report, indent=1))
    print("playground frame rate:", report)
    shot(page, "big-network.png")
    record("frame_rate", **report)
    assert end[0] > start[0] and end[1] > start[1], report
