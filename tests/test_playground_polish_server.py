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
