"""The page holds no copy of a rule: the feature maps, the datasets, the output layer and the
palette each live in one place, and the page draws what the server sends."""

from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("starlette")

from feedforward.data import playground as datasets  # noqa: E402
from feedforward.playground import features, pictures  # noqa: E402
from feedforward.playground.frames import THUMBNAIL, grid_points, unpack  # noqa: E402
from feedforward.playground.server import STATIC  # noqa: E402
from feedforward.playground.session import Session  # noqa: E402
from feedforward.playground.setup import options  # noqa: E402

SCRIPTS = {path.name: path.read_text() for path in STATIC.glob("*.js")}
STYLE = (STATIC / "style.css").read_text()
PAGE = (STATIC / "index.html").read_text()
COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}\b|\brgba?\(\s*\d|\bhsla?\(\s*\d")


def _code(source):
    """JavaScript without its comments (they may name what they do not compute)."""
    return re.sub(r"/\*.*?\*/|//[^\n]*", "", source, flags=re.S)


def test_the_scripts_write_no_colour_the_style_sheet_holds_them():
    for name, source in SCRIPTS.items():
        code = _code(source)
        assert not COLOUR.findall(code), f"{name} writes a colour of its own"
        triples = re.findall(r"\[\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\]", code)
        rgb = [t for t in triples if max(map(int, t)) > 9]  # [1, 2, 5] are chart ticks
        assert not rgb, f"{name} writes a colour of its own as [r, g, b]: {rgb}"


def test_each_data_colour_is_written_once_in_the_palette():
    root = re.search(r":root\s*\{(.*?)\}", STYLE, flags=re.S).group(1)
    palette = dict(re.findall(r"--([\w-]+):\s*([^;]+);", root))
    outside = (STYLE.replace(root, "") + PAGE).lower()
    for name in ("negative", "neutral", "positive", *[f"class-{k}" for k in range(6)],
                 "saturated", "series-train", "series-val"):
        value = palette[name].strip().lower()  # a colour, or another variable of the palette
        assert COLOUR.match(value) or value.startswith("var(--"), (name, value)
        if COLOUR.match(value):
            assert value not in outside and root.lower().count(value) == 1, (name, value)


@pytest.mark.parametrize("pattern", [
    r"Math\.(sin|cos|random|sqrt|log)\b",  # feature maps and dataset generators
    r"\bgauss\w*\s*\(|16807|2147483647",  # a generator's noise or a seeded random stream
    r"(?i)\b(sigmoid|softmax|mse|crossentropy|log loss)\b",  # the output layer and loss
    r"'(plane|multi_gaussian)'",  # which datasets are regressions
])
def test_the_scripts_hold_no_copy_of_a_rule(pattern):
    for name, source in SCRIPTS.items():
        found = re.search(pattern, _code(source))
        assert found is None, f"{name}: {found and found.group(0)!r}"


def test_options_carry_the_feature_pictures_the_server_computes():
    o = options()
    assert [f["name"] for f in o["features"]] == list(features.NAMES)
    thumbs = unpack(o["feature_thumbnails"])
    assert thumbs.shape == (len(features.NAMES), THUMBNAIL, THUMBNAIL)
    x = features.compute(grid_points(THUMBNAIL), features.NAMES, dtype=np.float64)
    expected = (x / np.abs(x).max(axis=0)).T.reshape(thumbs.shape)
    assert np.allclose(thumbs, expected, atol=2 / 255)  # 8-bit codes over [-1, 1]


def test_options_carry_a_preview_of_each_builtin_dataset_made_by_its_generator():
    o = options()
    builtin = [name for name in o["datasets"] if name != "custom"]
    assert sorted(o["previews"]) == sorted(builtin)
    for name in builtin:
        points, y = datasets.get(name)(pictures.PREVIEW_POINTS, 0.0, pictures.PREVIEW_SEED)
        rows = np.array(o["previews"][name])
        assert np.allclose(rows, np.column_stack([points, y]), atol=0.005), name


@pytest.mark.parametrize("setup, output", [
    ({"dataset": "circle"}, (1, "sigmoid", "binary_crossentropy")),
    ({"dataset": "spiral", "classes": 3}, (3, "softmax", "categorical_crossentropy")),
    ({"dataset": "plane"}, (1, "linear", "mse")),
])
def test_the_state_names_the_output_layer_the_network_has(setup, output):
    session = Session({**setup, "samples": 100})
    state = session.state()["output"]
    assert (state["units"], state["activation"], state["loss"]) == output
    last = session.model.layers[-1]
    assert (last.units, last.activation.name) == output[:2]
    assert session.model.loss.name == output[2]
