"""The playground's refusals of what a user sends and uploads: messages of bounded size that
name the field, CSV files as common writers make them, and uploaded targets kept as written."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from feedforward.playground.session import Session  # noqa: E402
from feedforward.playground.setup import FieldError  # noqa: E402
from test_playground_server import Conn, client, still_serves  # noqa: E402, F401


@pytest.fixture
def conn(client):  # noqa: F811
    c = Conn(client)
    yield c
    c.close()


def _error(conn, message):
    conn.ws.send_text(message if isinstance(message, str) else json.dumps(message))
    error = conn.ws.receive_json()
    assert error["type"] == "error", error
    return error


# ---------------------------------------------------------------------------- messages
@pytest.mark.parametrize("digits", [401, 5000, 100_000])
def test_an_integer_of_any_length_is_refused_by_its_field(conn, digits):
    # valid JSON: Python's int() reads at most 4,300 digits, json.loads then said "not JSON"
    for sign in ("", "-"):
        error = _error(conn, '{"type": "set_bias", "layer": 0, "unit": 0, "value": '
                             + sign + "9" * digits + "}")
        assert error["field"] == "value" and "not valid JSON" not in error["message"]
        about = re.search(r"integer of about (\d+) digits", error["message"])
        assert about and abs(int(about[1]) - digits) <= 1, error
        error = _error(conn, '{"type": "setup", "setup": {"seed": ' + "9" * digits + "}}")
        assert error["field"] == "setup.seed" and "from 0 to" in error["message"]
    assert conn.session.setup["seed"] == 0
    still_serves(conn)


@pytest.mark.parametrize("setup", [{"k" * 200_000: 1}, {"!" * 200_000: 1},
                                   {"features": ["x1", "x2"] * 50_000},
                                   {"optimizer": {"b" * 200_000: 1}}])
def test_an_error_echoes_a_long_key_or_list_cut_short(conn, setup):
    error = _error(conn, {"type": "setup", "setup": setup})
    assert error["field"].startswith("setup.")
    assert len(error["field"]) < 120 and len(error["message"]) < 600, error
    still_serves(conn)


def test_a_repeated_feature_is_named():
    with pytest.raises(FieldError, match="got 'x2' twice"):
        Session().apply({"features": ["x1", "x2", "x2"]})


@pytest.mark.parametrize("field, value", [("learning_rate", 1e300),
                                          ("learning_rate", -1e300), ("momentum", 2e6)])
def test_an_optimizer_number_too_large_is_not_told_it_may_be_negative(field, value):
    with pytest.raises(FieldError) as refused:
        Session().apply({"optimizer": {"name": "sgd", field: value}})
    assert refused.value.field == f"setup.optimizer.{field}"
    assert "size at most 1e+06" in str(refused.value) and "-1e+06" not in str(refused.value)


# ---------------------------------------------------------------------------- targets
SIGNS = "x1,x2,label\n1,1,-1\n2,2,1\n-1,-1,-1\n3,3,1\n-2,-2,1\n"


def _targets(rows):
    return sorted({row[2] for split in ("train", "val", "test") for row in rows[split]})


def test_uploaded_minus_one_and_one_stay_as_written_in_a_regression(conn):
    conn.send({"type": "upload", "csv": SIGNS})
    assert conn.until("state")["setup"]["problem"] == "classification"
    assert _targets(conn.until("data")) == [0, 1]  # the Playground's two classes
    conn.until("frame")
    conn.send({"type": "setup", "setup": {"problem": "regression"}})
    conn.send({"type": "code"})
    seen = []
    code = conn.until("code", seen)["python"]
    data = [m for m in seen if m["type"] == "data"]
    assert data, "a new problem for the custom data sends its targets"
    assert _targets(data[0]) == [-1, 1]
    assert "y = np.array([-1.0, 1.0, -1.0, 1.0, 1.0])" in code  # the script trains on them too
    conn.ask({"type": "setup", "setup": {"problem": "classification"}}, "state")
    assert _targets(conn.until("data")) == [0, 1]


def test_a_drawn_class_on_minus_one_and_one_data_is_written_as_they_are():
    session = Session()
    session.upload(SIGNS)
    session.add_point(0.5, 0.5, 0)  # class 0, the file's -1
    session.apply({"problem": "regression"})
    assert session.data["train"][1][-1] == -1 and set(session.custom.values) == {-1, 1}
    session.add_point(0.5, 0.5, 0.25)  # a target now, not a class
    with pytest.raises(FieldError, match=r"labels 0 to 5 \(or -1 and \+1\)"):
        session.apply({"problem": "classification"})
    assert session.setup["problem"] == "regression"


# ---------------------------------------------------------------------------- CSV writers
ROWS = [[1.0, 1.0, 0.0], [2.0, -2.0, 1.0], [-1.5, 0.5, 1.0]]


def _written(fmt, sep=","):
    return "".join(fmt.format(*row).replace(",", sep) + "\n" for row in ROWS)


@pytest.mark.parametrize("text", [
    '"x1","x2","label"\n' + _written('"{}","{}","{}"'),  # quoted cells: csv.QUOTE_ALL
    '"x1","x2","label"\n' + _written("{},{},{}"),  # R's write.csv(row.names = FALSE)
    "x1;x2;label\n" + _written("{},{},{}", ";"),  # the delimiter of decimal-comma locales
    "x1\tx2\tlabel\n" + _written("{},{},{}", "\t"),
    "\ufeffx1,x2,label\r\n" + _written("{},{},{}").replace("\n", "\r\n") + ",,\r\n",  # Excel
])
def test_an_upload_reads_what_common_csv_writers_write(text):
    session = Session()
    session.upload(text)
    got = np.column_stack([session.custom.points, session.custom.values])
    assert got.tolist() == ROWS


@pytest.mark.parametrize("text, why", [
    (",x1,x2,label\n0,1.0,1.0,0\n1,2.0,-2.0,1\n", r"got 4, the first without a name: a row "
                                                  r"index.*to_csv\(index=False\)"),  # pandas
    ('"","x1","x2","label"\n"1",1,1,0\n"2",2,-2,1\n', r"row\.names = FALSE"),  # R
    ("0,1.0,1.0,0\n1,2.0,-2.0,1\n2,-1.5,0.5,1\n", r"line 1: expected 3 columns x1,x2,label, "
                                                  r"got 4.*the first column counts the rows"),
    ("1,1,0,\n2,-2,1,\n", r"line 1: .*an empty cell: .*a delimiter at the end of the line"),
    ("x1,x2,label\n1,1,0\n2,NA,1\n", r"line 3: .*'NA' is not a number.*a missing value"),
    ("x1;x2;label\n1,5;1;0\n2;2;1\n", r"line 2: .*'1,5' is not a number.* one delimiter, "
                                      r"the same on every line \(';' here\).*decimal point"),
    ("id,x1,x2,label\n1,1,1,0\n2,2,2,1\n", r"line 1: expected 3 columns x1,x2,label, got 4: "
                                           r"'id,x1,x2,label'"),
])
def test_an_upload_refused_says_why_and_what_to_do(text, why):
    with pytest.raises(FieldError, match=why) as refused:
        Session().upload(text)
    assert refused.value.field == "csv"


def test_an_upload_counts_lines_as_the_librarys_csv_reader_does():
    # a quoted cell may span lines: the row after it is on line 4
    with pytest.raises(FieldError, match=r"line 4: .*'x' is not a number"):
        Session().upload('x1,x2,label\n1,1,"0\n"\n2,x,1\n')


def test_an_upload_of_quoted_numbers_through_the_server(conn):
    conn.send({"type": "upload", "csv": '"x1","x2","label"\n' + _written('"{}","{}","{}"')})
    assert conn.until("state")["setup"]["dataset"] == "custom"
    data = conn.until("data")
    assert sorted(row for split in ("train", "val", "test") for row in data[split]) \
        == sorted(ROWS)
