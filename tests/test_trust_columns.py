"""One CSV reading rule for train, evaluate and predict (issue 17, items 1-4 and the smaller CSV
items): columns matched by name, the header detected or forced, duplicate names refused, whole
labels kept exact, .tsv read with tabs, the first bad cell in row-major order.

Each test runs ``main`` in-process on a small model trained once for the module.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import feedforward as ff
from feedforward import records
from feedforward.cli import common
from feedforward.cli.main import main
from feedforward.data import load_csv, sources
from feedforward.errors import FeedforwardError

FEATURES = ["x1", "x2", "x3"]


def write(path, header, rows, delimiter=","):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, delimiter=delimiter)
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)
    return path


def cli(capsys, *args):
    """``main(args)``: (exit status, stdout, stderr)."""
    try:
        status = main([str(a) for a in args])
    except SystemExit as e:  # argparse's own errors
        status = e.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err, err
    return status, out, err


@pytest.fixture(scope="module")
def data():
    """60 rows: three features on different scales, and a label that depends on their order."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3)) * [1.0, 5.0, 0.2] + [0.0, 3.0, -1.0]
    labels = np.where(x[:, 0] + x[:, 2] > -1.0, "yes", "no")
    return x, labels


@pytest.fixture(scope="module")
def run(data, tmp_path_factory):
    """A model trained on a CSV file with the header x1,x2,x3,label; returns its folder."""
    folder = tmp_path_factory.mktemp("trust")
    x, labels = data
    write(folder / "train.csv", [*FEATURES, "label"],
          [[*map(repr, row), lab] for row, lab in zip(x.tolist(), labels, strict=True)])
    status = main(["train", "--dataset", str(folder / "train.csv"), "--epochs", "20",
                   "--layers", "8", "--learning-rate", "0.05", "--out", str(folder / "run"),
                   "--no-plots", "--quiet"])
    assert status == 0
    return folder


@pytest.fixture
def model(run):
    return ff.load_model(run / "run" / "model.safetensors")


def model_file(run):
    return run / "run" / "model.safetensors"


def reading(command, path, run, tmp_path) -> list:
    """The arguments of ``command`` (train, evaluate or predict) that read the CSV ``path``."""
    return {"train": ["train", "--dataset", path, "--epochs", "1", "--out", tmp_path / "r",
                      "--no-plots", "--quiet"],
            "evaluate": ["evaluate", model_file(run), "--data", path],
            "predict": ["predict", model_file(run), path]}[command]


def probabilities(out: str) -> np.ndarray:
    rows = list(csv.reader(out.splitlines()))
    assert rows[0] == ["prediction", "probability_no", "probability_yes"]
    return np.array([[np.float32(v) for v in row[1:]] for row in rows[1:]])


def expected(model, x) -> np.ndarray:
    """The per-class probabilities predict writes for ``x``."""
    return common.class_scores(model.predict(x))[1]


def columns(x, labels, order):
    """Rows of ``x`` and ``labels`` with the columns in ``order`` (names of FEATURES, label, id)."""
    cells = {name: x[:, j].tolist() for j, name in enumerate(FEATURES)}
    cells["label"], cells["id"] = list(labels), list(range(len(x)))
    return [[cells[name][i] for name in order] for i in range(len(x))]


# ---------------------------------------------------------------------------- item 1: names
def test_evaluate_matches_reordered_columns_by_name(run, data, model, capsys, tmp_path):
    x, labels = data
    order = ["x3", "x1", "x2", "label"]
    path = write(tmp_path / "reordered.csv", order, columns(x, labels, order))
    status, out, _ = cli(capsys, "evaluate", model_file(run), "--data", path, "--json")
    assert status == 0
    report = json.loads(out)
    codes = (labels == "yes").astype(np.int64)
    assert report["metrics"] == model.evaluate(x, codes, return_dict=True)
    # by position, as asked: the file's own order, which is not the model's
    status, out, _ = cli(capsys, "evaluate", model_file(run), "--data", path, "--by-position",
                         "--json")
    assert status == 0
    shuffled = x[:, [2, 0, 1]]
    assert json.loads(out)["metrics"] == model.evaluate(shuffled, codes, return_dict=True)


@pytest.mark.parametrize(("header", "words"), [
    (["x1", "x2", "x3", "id"], ["unexpected 'id'"]),
    (["id", "x3", "x1", "x2"], ["unexpected 'id'"]),
    (["x1", "x2", "x4"], ["missing 'x3'", "unexpected 'x4'", "did you mean 'x3'"]),
    (["x1", "x_2", "x3"], ["missing 'x2'", "unexpected 'x_2'", "did you mean 'x2'"]),
    (["x1", "x2"], ["missing 'x3'"]),
])
def test_predict_refuses_a_header_that_matches_only_partly(run, data, capsys, tmp_path,
                                                            header, words):
    x, _ = data
    rows = [[*row, 7][:len(header)] for row in x.tolist()]
    path = write(tmp_path / "rows.csv", header, rows)
    status, out, err = cli(capsys, "predict", model_file(run), path)
    assert status == 2 and out == ""
    for word in ["INPUT.csv", *words, "--by-position"]:
        assert word in err, (word, err)


def test_evaluate_refuses_an_unexpected_column(run, data, capsys, tmp_path):
    x, labels = data
    order = ["id", *FEATURES, "label"]
    path = write(tmp_path / "id.csv", order, columns(x, labels, order))
    status, _, err = cli(capsys, "evaluate", model_file(run), "--data", path)
    assert status == 2 and "--data" in err and "unexpected 'id'" in err


def test_predict_ignores_the_target_column_and_takes_any_order(run, data, model, capsys,
                                                               tmp_path):
    x, labels = data
    order = ["x2", "label", "x3", "x1"]
    path = write(tmp_path / "rows.csv", order, columns(x, labels, order))
    status, out, _ = cli(capsys, "predict", model_file(run), path)
    assert status == 0
    assert np.array_equal(probabilities(out), expected(model, x))


def test_by_position_takes_the_columns_in_order(run, data, model, capsys, tmp_path):
    x, _ = data
    path = write(tmp_path / "rows.csv", ["a", "b", "c"], x.tolist())
    status, _, err = cli(capsys, "predict", model_file(run), path)
    assert status == 2 and "unexpected 'a'" in err and "missing 'x1'" in err
    status, out, _ = cli(capsys, "predict", model_file(run), path, "--by-position")
    assert status == 0
    assert np.array_equal(probabilities(out), expected(model, x))


def test_evaluate_without_the_target_column_names_it(run, data, capsys, tmp_path):
    x, _ = data
    path = write(tmp_path / "features.csv", FEATURES, x.tolist())
    status, _, err = cli(capsys, "evaluate", model_file(run), "--data", path)
    assert status == 2
    assert "expected the target column 'label'" in err, err


# ---------------------------------------------------------------------------- item 2: header
def test_a_file_without_a_header_loses_no_row(run, data, model, capsys, tmp_path):
    x, _ = data
    path = write(tmp_path / "rows.csv", None, x[:20].tolist())
    status, out, err = cli(capsys, "predict", model_file(run), path)
    assert status == 0
    assert np.array_equal(probabilities(out), expected(model, x[:20]))  # 20 rows, not 19
    assert "no" in err and "header" in err and "20 rows" in err  # said on stderr, not stdout


def test_evaluate_a_file_without_a_header(run, data, model, capsys, tmp_path):
    x, labels = data
    path = write(tmp_path / "labelled.csv", None, columns(x, labels, [*FEATURES, "label"]))
    status, out, err = cli(capsys, "evaluate", model_file(run), "--data", path, "--json")
    assert status == 0 and "header" in err
    report = json.loads(out)
    assert report["samples"] == 60
    codes = (labels == "yes").astype(np.int64)
    assert report["metrics"] == model.evaluate(x, codes, return_dict=True)


def test_train_on_a_file_without_a_header(data, capsys, tmp_path):
    x, labels = data
    path = write(tmp_path / "noheader.csv", None, columns(x, labels, ["label", *FEATURES]))
    status, _, err = cli(capsys, "train", "--dataset", path, "--target", "0", "--epochs", "2",
                         "--layers", "4", "--out", tmp_path / "run", "--no-plots", "--quiet")
    assert status == 0 and "header" in err
    _, record = records.load(tmp_path / "run" / "model.safetensors")
    assert record["feature_names"] == ["column_2", "column_3", "column_4"]
    assert record["target_name"] == "column_1"
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert sum(metrics["samples"].values()) == 60  # every row
    assert metrics["classes"] == ["no", "yes"]
    data = sources.load(str(path), target=0)
    assert data.feature_names == ["column_2", "column_3", "column_4"]
    assert data.target_name == "column_1" and np.array_equal(data.x, x)


def test_header_flags_force_either_reading(tmp_path, capsys):
    path = write(tmp_path / "numbers.csv", ["10", "20", "30"], [[1, 2, 0], [3, 4, 1], [5, 6, 0]])
    detected = load_csv(path)
    assert len(detected.y) == 4 and detected.feature_names == ["column_1", "column_2"]
    forced = load_csv(path, header=True)
    assert len(forced.y) == 3 and forced.feature_names == ["10", "20"]
    named = write(tmp_path / "named.csv", ["a", "b", "y"], [[1, 2, 0], [3, 4, 1]])
    with pytest.raises(FeedforwardError, match=r"non-numeric value 'a' in row 1 \(line 1\)"):
        load_csv(named, header=False)  # the header row read as data
    # the flag and the TOML key reach the reader
    (tmp_path / "header.toml").write_text(f'dataset = "{path}"\nheader = true\nepochs = 1\n')
    status, _, err = cli(capsys, "train", "--config", tmp_path / "header.toml", "--val", "0",
                         "--test", "0", "--out", tmp_path / "run", "--no-plots", "--quiet")
    assert status == 0, err
    assert "header = true" in (tmp_path / "run" / "config.toml").read_text()
    status, _, err = cli(capsys, "train", "--dataset", path, "--no-header", "--val", "0",
                         "--test", "0", "--epochs", "1", "--out", tmp_path / "run2",
                         "--no-plots", "--quiet")
    assert status == 0 and err == ""  # forced: nothing to say
    metrics = json.loads((tmp_path / "run2" / "metrics.json").read_text())
    assert metrics["samples"]["train"] == 4


@pytest.mark.parametrize("first", [["0", "1", "2"], ["1", "2", "3"]])
def test_a_first_row_that_counts_the_columns_is_ambiguous(tmp_path, first):
    path = write(tmp_path / "counted.csv", first, [[1, 2, 0], [3, 4, 1]])
    with pytest.raises(FeedforwardError, match="header: cannot tell"):
        load_csv(path)
    assert len(load_csv(path, header=False).y) == 3


def test_a_text_label_in_the_first_row_is_data_when_it_recurs(tmp_path):
    path = write(tmp_path / "labels.csv", None, [[1, 2, "cat"], [3, 4, "dog"], [5, 6, "cat"]])
    ds = load_csv(path)
    assert ds.classes == ["cat", "dog"] and ds.y.tolist() == [0, 1, 0]
    named = write(tmp_path / "named.csv", ["1", "2", "animal"], [[3, 4, "dog"], [5, 6, "cat"]])
    assert load_csv(named).target_name == "animal"


# ---------------------------------------------------------------------------- item 3: duplicates
@pytest.mark.parametrize("command", ["train", "evaluate", "predict"])
def test_duplicate_column_names_are_refused(run, data, capsys, tmp_path, command):
    x, labels = data
    header = ["x1", "x2", "x1", "label"]
    path = write(tmp_path / "dup.csv", header, columns(x, labels, [*FEATURES, "label"]))
    status, out, err = cli(capsys, *reading(command, path, run, tmp_path))
    assert status == 2
    assert "named more than once" in err and "'x1' (columns 1, 3)" in err, err


# ---------------------------------------------------------------------------- item 4: labels
def test_whole_labels_beyond_int64_stay_distinct(tmp_path):
    rows = [[i, -i, ["1e20", "2e20", "3e20"][i % 3]] for i in range(9)]
    ds = load_csv(write(tmp_path / "big.csv", ["a", "b", "y"], rows))
    assert ds.classes == [10**20, 2 * 10**20, 3 * 10**20]
    assert ds.y.tolist() == [0, 1, 2] * 3
    data = sources.for_task(sources.load(str(tmp_path / "big.csv")), "auto")
    assert data.task == "classification" and len(data.classes) == 3


def test_labels_float64_would_merge_stay_distinct(tmp_path):
    labels = ["100000000000000000001", "100000000000000000002", "9007199254740993",
              "9007199254740992", "1e20"]
    rows = [[i, -i, labels[i % 5]] for i in range(10)]
    ds = load_csv(write(tmp_path / "long.csv", ["a", "b", "y"], rows))
    assert ds.classes == [9007199254740992, 9007199254740993, 10**20, 10**20 + 1, 10**20 + 2]
    assert [ds.classes[c] for c in ds.y[:5]] == [int(s) if "e" not in s else 10**20
                                                 for s in labels]
    within = load_csv(write(tmp_path / "int64.csv", ["a", "y"],
                            [[0, "9007199254740993"], [1, "9007199254740992"]]))
    assert within.y.dtype == np.int64 and within.y.tolist() == [2**53 + 1, 2**53]
    fraction = write(tmp_path / "fraction.csv", ["a", "y"], [[0, "1.00000000000000000001"],
                                                            [1, "1"]])
    with pytest.raises(FeedforwardError, match=r"'1\.0+1' in row 1.*not a whole number"):
        load_csv(fraction)


# ---------------------------------------------------------------------------- smaller items
def test_predict_reads_tsv_with_tabs(run, data, model, capsys, tmp_path):
    x, _ = data
    path = write(tmp_path / "rows.tsv", ["x3", "x1", "x2"], x[:, [2, 0, 1]].tolist(), "\t")
    status, out, err = cli(capsys, "predict", model_file(run), path)
    assert status == 0, err
    assert np.array_equal(probabilities(out), expected(model, x))


@pytest.mark.parametrize("command", ["evaluate", "predict"])  # train: text is categorical
def test_the_first_bad_cell_is_row_major(run, capsys, tmp_path, command):
    rows = [[1, 2, 3, "yes"], [4, "b?", 6, "no"], ["a?", 8, "c?", "yes"], [1, 2, 3, "no"]]
    path = write(tmp_path / "bad.csv", [*FEATURES, "label"], rows)
    status, _, err = cli(capsys, *reading(command, path, run, tmp_path))
    assert status == 2
    assert "'b?' in row 2 (line 3), column 'x2'" in err, err


@pytest.mark.parametrize(("args", "flag"), [
    (["evaluate", "{model}", "--data", "iris", "--by-position"], "--by-position"),
    (["evaluate", "{model}", "--data", "iris", "--no-header"], "--header/--no-header"),
    (["evaluate", "{model}", "--header"], "--header/--no-header"),
    (["train", "--dataset", "iris", "--no-header"], "--header"),
])
def test_csv_flags_elsewhere_are_refused(run, capsys, args, flag):
    status, _, err = cli(capsys, *[a.format(model=model_file(run)) for a in args])
    assert status == 2 and err.startswith(f"feedforward {args[0]}: error: {flag}"), err


def test_an_unknown_label_is_shown_as_a_plain_number():
    from feedforward.data.sources import label_codes

    with pytest.raises(ff.FeedforwardError, match=r"the label 5 in row 2") as e:
        label_codes(np.array([0, 5]), [0, 1], label="--data")
    assert "np." not in str(e.value)
