"""The playground under hostile or unlucky input (issue 17): a cap on the points, memory that
stays flat while points are added, no non-finite weights between training slices, the IPv6
loopback, and a clear 4xx-style refusal (never a 500 or an internal error) for any value in any
field of any request."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
import tracemalloc
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

import feedforward as ff  # noqa: E402
from _helpers import CHROMIUM, LAUNCH_ARGS, NO_CHROMIUM  # noqa: E402
from feedforward.cli.playground import url  # noqa: E402
from feedforward.playground.server import MESSAGES, allowed_hosts_for, create_app  # noqa: E402
from feedforward.playground.session import Session  # noqa: E402
from feedforward.playground.setup import FIELDS, MAX_POINTS, options  # noqa: E402

WS = "ws://127.0.0.1/ws"
HUGE = 10**400
# one epoch of this network overflows its weights mid-epoch while every batch's loss is finite
# (found by a random search; the update of the seventh batch or so makes them inf)
OVERFLOWS = {"dataset": "xor", "features": ["x1", "x2", "x1x2"],
             "layers": [{"units": 6, "activation": "softplus"}],
             "optimizer": {"name": "sgd", "learning_rate": 1e5}, "batch_size": 28}


@pytest.fixture
def client():
    with TestClient(create_app(), base_url="http://127.0.0.1",
                    raise_server_exceptions=False) as c:
        yield c


class Conn:
    """A WebSocket to the server; ``answer`` collects what one message brings back."""

    def __init__(self, client, url=WS, **kwargs):
        self._cm = client.websocket_connect(url, **kwargs)
        self.ws = self._cm.__enter__()
        self.hello = self.ws.receive_json()
        self.session = client.app.state.sessions[self.hello["session"]]
        self.answer(None)

    def answer(self, text) -> list:
        """The messages sent after ``text`` (None: after connecting), up to a marker error."""
        if text is not None:
            self.ws.send_text(text)
        self.ws.send_text('{"type": "marker"}')  # refused: its error ends the answer
        messages = []
        while True:
            message = self.ws.receive_json()
            if message["type"] == "error" and message["field"] == "type" \
                    and "'marker'" in message["message"]:
                return messages
            messages.append(message)

    def close(self):
        self.answer('{"type": "pause"}')
        self._cm.__exit__(None, None, None)


@pytest.fixture
def conn(client):
    c = Conn(client)
    yield c
    c.close()


def errors(messages) -> list:
    return [m for m in messages if m["type"] == "error"]


def assert_clear(messages) -> None:
    """Every error in ``messages`` is a one-line refusal, not a bug report."""
    for e in errors(messages):
        assert e["message"] and "internal error" not in e["message"], e
        assert "Traceback" not in e["message"] and "\n" not in e["message"], e


# ---------------------------------------------------------------------------- item 8: points
def test_points_beyond_the_cap_are_refused_with_the_limit_named(conn):
    xs = np.linspace(-5, 5, MAX_POINTS - 1)
    rows = "\n".join(f"{x:.4f},{-x:.4f},{int(x > 0)}" for x in xs)
    assert not errors(conn.answer(json.dumps({"type": "upload", "csv": rows})))
    point = json.dumps({"type": "add_point", "x1": 1, "x2": 1, "label": 0})
    assert not errors(conn.answer(point))  # the last point below the cap
    before = conn.session.data
    answer = conn.answer(point)
    [error] = errors(answer)
    assert str(MAX_POINTS) in error["message"].replace(",", "") and "points" in error["message"]
    assert_clear(answer)
    assert conn.session.data is before  # nothing changed
    assert sum(len(y) for _, y in conn.session.data.values()) == MAX_POINTS
    assert options()["limits"]["points"] == MAX_POINTS  # the page knows the cap


def test_the_page_turns_drawing_off_at_the_cap(tmp_path):
    """In Chromium, against ``feedforward playground`` itself: a file of MAX_POINTS rows
    fills the data, and the page says so instead of sending points the server refuses."""
    if not Path(CHROMIUM).exists():
        pytest.skip(NO_CHROMIUM)
    sync_api = pytest.importorskip("playwright.sync_api")
    rows = "\n".join(f"{x:.4f},{-x:.4f},{int(x > 0)}" for x in np.linspace(-5, 5, MAX_POINTS))
    (tmp_path / "full.csv").write_text(rows)
    (tmp_path / "small.csv").write_text("1,1,0\n2,2,1\n3,3,1\n-1,-1,0\n")
    with serving() as address, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = browser.new_page()
        thrown = []
        page.on("pageerror", lambda e: thrown.append(str(e)))
        page.goto(address)
        page.wait_for_function("window.ffStats && ffStats.framesDrawn > 0", timeout=30000)
        page.check("#draw-mode")
        page.set_input_files("#csv-file", str(tmp_path / "full.csv"))
        page.wait_for_function(f"ffStats.dataCounts.total === {MAX_POINTS}", timeout=30000)
        assert page.is_disabled("#draw-mode") and not page.is_checked("#draw-mode")
        assert f"{MAX_POINTS:,} points" in page.text_content("#draw-hint")
        page.set_input_files("#csv-file", str(tmp_path / "small.csv"))
        page.wait_for_function("ffStats.dataCounts.total === 4", timeout=30000)
        assert page.is_enabled("#draw-mode") and "click" in page.text_content("#draw-hint")
        browser.close()
    assert not thrown


@contextlib.contextmanager
def serving():
    """``feedforward playground --no-browser`` on a free port; yields the URL it prints."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "feedforward.cli", "playground", "--no-browser",
               "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        address = process.stdout.readline().split()[2]
        for _ in range(300):
            with contextlib.suppress(OSError), urllib.request.urlopen(address, timeout=1):
                break
            time.sleep(0.1)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_memory_stays_flat_while_points_are_added():
    # the largest network: each new point changes the shape of every batch that the
    # frames and the scores run, which grew the server by ~20 MB a point at grid 100
    tracemalloc.start()  # before anything: freeing what it did not see would not count
    try:
        session = Session({"grid": 60, "layers": [{"units": 32, "activation": "tanh"}] * 8})
        for i in range(14):
            session.add_point(0.1 * i - 1.5, -1.0, i % 2)
            session.frame()
            if i == 5:  # the layers' work arrays have reached their bound
                start = tracemalloc.get_traced_memory()[0]
        grown = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert grown < 10 * 2**20, f"{grown / 2**20:.0f} MB more after 8 points"


def test_open_pages_are_capped_and_a_refused_one_is_told_why(client, monkeypatch):
    from feedforward.playground import server

    monkeypatch.setattr(server, "MAX_SESSIONS", 2)
    first, second = Conn(client), Conn(client)
    with client.websocket_connect(WS) as ws:
        refusal = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert refusal["type"] == "error" and "at most 2 pages" in refusal["message"]
    assert closed.value.code == 1013
    assert len(client.app.state.sessions) == 2
    first.close()
    third = Conn(client)  # a page closed: the next one is served
    assert third.hello["type"] == "hello"
    second.close()
    third.close()
    assert client.app.state.sessions == {}


# ---------------------------------------------------------------------------- item 21
def test_no_training_slice_ends_with_non_finite_weights():
    session = Session(OVERFLOWS)
    for _ in range(200):
        _, stop = session.train(1, budget=0)  # a slice of one batch
        if stop is not None:
            break
        assert np.isfinite(session.model.params).all(), "non-finite weights between slices"
    assert stop is not None and stop[0] == "diverged", stop
    assert "learning rate" in stop[1].lower()
    assert np.isfinite(session.model.params).all()


def test_export_between_slices_is_a_model_file_or_a_clear_refusal(client, conn, tmp_path):
    assert not errors(conn.answer(json.dumps({"type": "setup", "setup": OVERFLOWS})))
    session = conn.session
    for _ in range(30):
        _, stop = session.train(1, budget=0)
        response = client.get(f"/api/export/{session.id}")
        assert response.status_code == 200, (response.status_code, response.text)
        path = tmp_path / "model.safetensors"
        path.write_bytes(response.content)
        model = ff.load_model(path)
        assert np.isfinite(model.params).all()
        if stop is not None:
            break
    assert stop is not None


def test_export_of_non_finite_weights_is_a_409_with_a_json_message(client, conn):
    conn.session.model.params[0] = np.nan  # as an update that overflowed would leave them
    response = client.get(f"/api/export/{conn.session.id}")
    assert response.status_code == 409
    assert "not finite" in response.json()["message"]
    missing = client.get("/api/export/nope")
    assert missing.status_code == 404 and "session" in missing.json()["message"]


def test_set_weight_after_an_overflowing_slice_never_saves_nan_as_the_good_weights():
    session = Session(OVERFLOWS)
    for _ in range(200):
        _, stop = session.train(1, budget=0)
        session.set_weight(0, 0, 0, 0.5)  # the user edits a weight between two slices
        if stop is not None:
            break
    for _ in range(200):  # train on: any later divergence restores the last good weights
        _, stop = session.train(1, budget=0)
        assert np.isfinite(session.model.params).all()
        if stop is not None:
            break
    assert np.isfinite(session.model.params).all()
    assert all(np.isfinite(v["loss"]) for v in session.scores.values() if v is not None)


@pytest.mark.parametrize("host, other", [("::1", "[::2]"), ("2001:db8::7", "[2001:db8::8]")])
def test_an_ipv6_host_answers_the_url_it_prints(host, other):
    address = url(host, 8765)
    assert address.startswith("http://[")
    app = create_app(allowed_hosts=allowed_hosts_for(host))
    with TestClient(app, base_url=address.rstrip("/")) as client:
        assert client.get("/api/options").status_code == 200
        assert client.get("/").status_code in (200, 404)  # 404: the page is not installed
        ws_url = "ws" + address[len("http"):] + "ws"
        origin = address.rstrip("/")
        with client.websocket_connect(ws_url, headers={"origin": origin}) as ws:
            assert ws.receive_json()["type"] == "hello"
        for bad in (f"{other}:8765", "evil.example", "[::1", "[::1]x", "[nothost]:8765"):
            assert client.get("/api/options", headers={"host": bad}).status_code == 400, bad


def test_wildcard_host_patterns_allow_names_under_the_domain_only():
    app = create_app(allowed_hosts=["*.example.com", "127.0.0.1"])
    with TestClient(app, base_url="http://127.0.0.1:8765") as client:
        for good in ("app.example.com", "a.b.example.com:8765", "127.0.0.1:8765"):
            assert client.get("/api/options", headers={"host": good}).status_code == 200, good
        for bad in ("example.com", "evilexample.com", "example.com.evil.net", "localhost"):
            assert client.get("/api/options", headers={"host": bad}).status_code == 400, bad


def test_a_bracketed_host_flag_says_to_drop_the_brackets(capsys):
    from feedforward.cli.main import main

    assert main(["playground", "--no-browser", "--host", "[::1]", "--port", "8765"]) == 2
    err = capsys.readouterr().err
    assert "--host [::1]" in err and "without brackets" in err and err.count("\n") == 1


# ---------------------------------------------------------------------------- item 20
FIELD_CASES = [
    *[({"type": "setup", "setup": {key: HUGE}}, f"setup.{key}") for key in
      ("classes", "samples", "noise", "train_percent", "val_percent", "batch_size", "seed",
       "reg_rate", "early_stopping", "grid", "speed")],
    ({"type": "setup", "setup": {"layers": [{"units": HUGE}]}}, "setup.layers[0].units"),
    ({"type": "setup", "setup": {"layers": [{"dropout": -HUGE}]}}, "setup.layers[0].dropout"),
    ({"type": "setup", "setup": {"optimizer": {"learning_rate": HUGE}}},
     "setup.optimizer.learning_rate"),
    ({"type": "setup", "setup": {"optimizer": {"name": "adam", "beta_1": HUGE}}},
     "setup.optimizer.beta_1"),
    ({"type": "setup", "setup": {"schedule": {"name": "exponential_decay",
                                              "decay_steps": HUGE}}},
     "setup.schedule.decay_steps"),
    ({"type": "set_weight", "layer": HUGE, "from": 0, "to": 0, "value": 1}, "layer"),
    ({"type": "set_weight", "layer": 0, "from": HUGE, "to": 0, "value": 1}, "from"),
    ({"type": "set_weight", "layer": 0, "from": 0, "to": -HUGE, "value": 1}, "to"),
    ({"type": "set_weight", "layer": 0, "from": 0, "to": 0, "value": HUGE}, "value"),
    ({"type": "set_bias", "layer": 0, "unit": 0, "value": -HUGE}, "value"),
    ({"type": "add_point", "x1": HUGE, "x2": 0, "label": 1}, "x1"),
    ({"type": "add_point", "x1": 0, "x2": HUGE, "label": 1}, "x2"),
    ({"type": "add_point", "x1": 0, "x2": 0, "label": HUGE}, "label"),
]


@pytest.mark.parametrize("message, field", FIELD_CASES, ids=[f for _, f in FIELD_CASES])
def test_an_integer_like_10_to_the_400_is_a_clear_error_naming_its_field(conn, message,
                                                                          field):
    answer = conn.answer(json.dumps(message))
    assert_clear(answer)
    [error] = errors(answer)
    assert error["field"] == field, error
    assert "number" in error["message"] or "integer" in error["message"], error
    assert len(error["message"]) < 300, error  # the digits are cut short


def test_a_huge_integer_in_a_regression_label_is_a_clear_error(conn):
    conn.answer(json.dumps({"type": "upload", "csv": "1,1,0.25\n2,2,0.5\n3,3,0.75\n"}))
    answer = conn.answer(json.dumps({"type": "add_point", "x1": 0, "x2": 0, "label": HUGE}))
    assert_clear(answer)
    assert errors(answer)[0]["field"] == "label"


@pytest.mark.parametrize("row", ["1e300,1,0", "1,-1e20,1", "1,1,1e300"])
def test_an_uploaded_number_whose_features_overflow_is_refused(conn, row):
    answer = conn.answer(json.dumps({"type": "upload", "csv": f"1,1,0\n2,2,1\n{row}\n"}))
    assert_clear(answer)
    [error] = errors(answer)
    assert error["field"] == "csv" and "line 3" in error["message"], error
    assert conn.session.setup["dataset"] != "custom"


# ---------------------------------------------------------------------------- the fuzz
NUMBERS = st.one_of(st.sampled_from([HUGE, -HUGE, 2**63, -2**64, 2**1100]), st.integers(),
                    st.floats(), st.sampled_from([0, 1, -1, 0.5, 1e300]))
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=8),
                    st.sampled_from(["", "sgd", "adam", "relu", "custom", "NaN"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=12)
FIELD = st.one_of(NUMBERS, VALUES)  # numbers more often: most fields are numbers
SETUP_KEYS = st.sampled_from([*FIELDS, "colour"])
LAYER = st.dictionaries(st.sampled_from(["units", "activation", "dropout", "size"]), FIELD,
                        max_size=3)
NAMED = st.fixed_dictionaries({"name": st.one_of(st.sampled_from(
    [*options()["optimizers"], *options()["schedules"]]), VALUES)},
    optional={k: FIELD for k in ("learning_rate", "momentum", "beta_1", "decay_steps",
                                 "clipnorm", "initial_learning_rate", "boundaries")})
SETUP_VALUE = st.one_of(FIELD, st.lists(LAYER, max_size=10), NAMED)


@st.composite
def messages(draw):
    """A message of a known type whose fields are each missing, random, or plausible."""
    kind = draw(st.sampled_from(list(MESSAGES)))
    message = {"type": kind}
    for field in MESSAGES[kind]:
        if draw(st.integers(0, 9)) == 0:
            continue  # missing
        if field == "setup":
            message[field] = draw(st.one_of(VALUES, st.dictionaries(
                SETUP_KEYS, SETUP_VALUE, max_size=4)))
        elif field == "csv":
            message[field] = draw(st.one_of(VALUES, st.lists(
                st.lists(NUMBERS, min_size=3, max_size=3), max_size=8).map(
                lambda rows: "\n".join(",".join(map(str, r)) for r in rows))))
        else:
            message[field] = draw(st.one_of(FIELD, st.integers(-2, 40)))
    if draw(st.integers(0, 9)) == 0:
        message[draw(st.text(max_size=6))] = draw(VALUES)
    return message


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(message=messages())
def test_any_message_gets_its_answer_or_a_clear_error(conn, message):
    text = json.dumps(message)  # floats nan and inf become NaN and Infinity (not JSON)
    answer = conn.answer(text)
    assert_clear(answer)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
       path=st.sampled_from(["/api/options", "/api/export/", "/api/", "/api/nothing"]),
       tail=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126,
                                           exclude_characters="/?#%"), max_size=20),
       body=VALUES)
def test_any_http_request_gets_an_answer_below_500(client, conn, method, path, tail, body):
    if path == "/api/export/" and not tail:
        tail = conn.session.id
    response = client.request(method, path + tail, content=json.dumps(body))
    assert response.status_code < 500, (response.status_code, response.text)
    if response.status_code >= 400:
        assert response.json()["message"], response.text
