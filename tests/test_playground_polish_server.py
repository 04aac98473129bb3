"""The playground server's pacing and data semantics: frames paced by time (mid-epoch when an
epoch is long), a last frame on pause, one learning rate for the box and the schedule, and
uploaded points outside the map refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

import feedforward as ff  # noqa: E402
from feedforward.playground import server  # noqa: E402
from test_playground_server import Conn, client  # noqa: E402, F401

LONG_EPOCH = {"layers": [{"units": 32, "activation": "tanh"}] * 8, "samples": 2000,
              "train_percent": 90, "batch_size": 1, "speed": 50, "grid": 20}


@pytest.fixture
def conn(client):  # noqa: F811
    c = Conn(client)
    yield c
    c.close()


def test_a_long_epoch_is_shown_as_it_goes_and_pause_sends_the_weights_it_stopped_on(
        conn, monkeypatch):
    # frames due every millisecond: far less than the 1,800 steps of an epoch take
    monkeypatch.setattr(server, "MIN_FPS", 1000)
    conn.ask({"type": "setup", "setup": LONG_EPOCH}, "frame")
    conn.send({"type": "play"})
    frames = [conn.until("frame") for _ in range(3)]
    assert [f["epoch"] for f in frames] == [0, 0, 0]  # no epoch ended, yet three frames
    steps = [f["step"] for f in frames]
    assert steps == sorted(steps) and steps[0] > 0
    for f in frames:
        assert f["epoch_progress"] == pytest.approx(f["step"] / 1800)

    conn.send({"type": "pause"})
    seen = []
    assert not conn.until("state", seen)["running"]
    last = conn.until("frame")
    model, session = conn.session.model, conn.session
    assert (last["epoch"], last["step"]) == (session.epoch, session.step)
    kernels = [layer.params["kernel"] for layer in model.layers if hasattr(layer, "units")]
    assert len(last["weights"]) == len(kernels) == 9
    for sent, kernel in zip(last["weights"], kernels, strict=True):
        np.testing.assert_allclose(sent, kernel, atol=6e-6)  # sent with 5 decimals
    assert all(f["step"] <= last["step"] for f in seen if f["type"] == "frame")


def test_the_rate_box_sets_the_schedules_initial_rate_and_the_code_says_so(conn):
    conn.ask({"type": "setup", "setup": {"schedule": {"name": "cosine_decay",
                                                      "decay_steps": 50}}}, "frame")
    optimizer = conn.session.setup["optimizer"]
    state = conn.ask({"type": "setup", "setup": {"optimizer": {**optimizer,
                                                               "learning_rate": 0.3}}}, "state")
    assert state["setup"]["schedule"]["initial_learning_rate"] == 0.3
    assert state["setup"]["optimizer"]["learning_rate"] == 0.3
    code = conn.ask({"type": "code"}, "code")["python"]
    assert "'schedule': {'name': 'cosine_decay', 'initial_learning_rate': 0.3" in code

    # the schedule's own field moves the box too
    state = conn.ask({"type": "setup", "setup": {"schedule": {
        **state["setup"]["schedule"], "initial_learning_rate": 0.2}}}, "state")
    assert state["setup"]["optimizer"]["learning_rate"] == 0.2

    # each frame tells the rate of the next step: the schedule's at the optimizer's step
    conn.until("frame")
    frame = conn.ask({"type": "step"}, "frame")
    rate = ff.schedules.CosineDecay(initial_learning_rate=0.2, decay_steps=50)(frame["step"])
    assert frame["learning_rate"] == pytest.approx(float(rate))
    assert frame["learning_rate"] < 0.2


def test_uploaded_points_outside_the_map_are_refused_naming_the_line(conn):
    conn.send({"type": "upload", "csv": "x1,x2,label\n1,1,0\n2,2,1\n100,200,1\n3,3,0\n"})
    error = conn.until("error")
    assert error["field"] == "csv"
    assert "from -6 to 6" in error["message"] and "line 4: (100, 200)" in error["message"]
    assert conn.session.setup["dataset"] != "custom"
    answer = json.dumps({"type": "upload", "csv": "1,1,0\n6,-6,1\n-6,6,1\n"})
    conn.ws.send_text(answer)  # the square's edges are in it
    assert conn.until("state")["setup"]["dataset"] == "custom"


@pytest.mark.parametrize("name", ["piecewise_constant_decay", "cosine_decay", "linear_warmup"])
def test_a_new_schedule_starts_at_the_rate_box_piecewise_values_keeping_their_ratios(name):
    from feedforward.playground import codegen, setup
    from feedforward.playground.session import Session

    s = Session()
    s.apply({"optimizer": {"name": "sgd", "learning_rate": 0.3}})
    s.apply({"schedule": {"name": name}})
    table = s.setup["schedule"]
    key, index = setup.rate_key(table)
    rate = table[key] if index is None else table[key][index]
    assert rate == 0.3 and s.setup["optimizer"]["learning_rate"] == 0.3
    if name == "piecewise_constant_decay":
        defaults = setup.SCHEDULE_PARAMETERS[name]["values"]
        ratio = defaults[1] / defaults[0]
        assert table["values"] == [0.3, pytest.approx(0.3 * ratio)]
        assert repr(table["values"]) in codegen.generate(s)
        # the box moves the whole piecewise schedule, its later values still in ratio
        s.apply({"optimizer": {"name": "sgd", "learning_rate": 0.05}})
        assert s.setup["schedule"]["values"] == [0.05, pytest.approx(0.05 * ratio)]
        # values the page sets itself are kept, and the box follows their first
        s.apply({"schedule": {"name": name, "values": [0.2, 0.1]}})
        assert s.setup["schedule"]["values"] == [0.2, 0.1]
        assert s.setup["optimizer"]["learning_rate"] == 0.2


def test_an_upload_message_shows_a_point_outside_the_map_in_full():
    from feedforward.playground.dataset import parse_csv
    from feedforward.playground.setup import FieldError

    with pytest.raises(FieldError, match=r"line 3: \(6\.0000001, 0\)"):
        parse_csv("x1,x2,label\n1,1,0\n6.0000001,0,1\n")


@pytest.mark.parametrize("text, message", [
    ("1;1;0\n1,1,0\n2,2,1\n", "line 1: .*'1;1;0' is not a number"),  # another delimiter
    ("1,x,0\n1,1,0\n2,2,1\n", "line 1: .*'x' is not a number"),  # a typo, no header
    ("x1,2,label\n1,1,0\n2,2,1\n", "line 1: .*'x1' is not a number"),  # a half header
    ("x1,x2,label\n1_0,1,0\n2,2,1\n", "line 2: .*'1_0' is not a number"),  # Python's float: 10
    ("x1,x2,label\n1,1,0\n\u0661,2,1\n", "line 3: .*is not a number"),  # an Arabic-Indic 1
])
def test_an_upload_refuses_a_row_that_is_not_numbers_and_not_a_header(text, message):
    from feedforward.playground.dataset import parse_csv
    from feedforward.playground.setup import FieldError

    with pytest.raises(FieldError, match=message):
        parse_csv(text)


def test_an_upload_reads_a_text_header_and_the_numbers_csv_files_write():
    from feedforward.playground.dataset import parse_csv

    for head in ("", "x1,x2,label\n", " X1 , x2 ,class\n"):
        points, labels = parse_csv(head + "1e-3,-.5,+1\n2.,2,0\n")
        assert points.tolist() == [[0.001, -0.5], [2.0, 2.0]] and labels.tolist() == [1, 0]
