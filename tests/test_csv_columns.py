"""Choosing the columns of a CSV file (issue 20): ``--features`` keeps some, ``--drop`` leaves
some out, and a feature column that looks like a row id gets a warning."""

from __future__ import annotations

import numpy as np
import pytest

from _helpers import ff_cli
from feedforward import config, records
from feedforward.data import sources, tabular
from feedforward.errors import FeedforwardError

NAMES = ("id", "x1", "x2", "notes", "label")
ID_WARNING = ("warning: --dataset {path}: column 'id' looks like an id ({n} distinct whole "
              "numbers in {n} rows): a model learns nothing true from it; leave it out with "
              "--drop id\n")


def write_table(path, rows=60, seed=0, ids=None):
    """id, two features, a column of small whole numbers with repeats, and a label a/b that
    x1 decides."""
    rng = np.random.default_rng(seed)
    ids = range(1, rows + 1) if ids is None else ids
    lines = [",".join(NAMES)]
    for i, x in zip(ids, rng.normal(size=(rows, 2)), strict=True):
        lines.append(f"{i},{x[0]:.3f},{x[1]:.3f},{rng.integers(0, 4)},{'ab'[int(x[0] > 0)]}")
    path.write_text("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------------------- the reader
@pytest.fixture()
def table(tmp_path):
    return write_table(tmp_path / "data.csv")


@pytest.mark.parametrize("features, drop, expected", [
    (None, None, ["id", "x1", "x2", "notes"]),
    (["x2", "x1"], None, ["x2", "x1"]),  # in the order given
    ([2, "x1"], None, ["x2", "x1"]),  # a 0-based index or a name
    (None, ["id", "notes"], ["x1", "x2"]),
    (None, [0, -2], ["x1", "x2"]),
])
def test_features_and_drop_choose_the_columns(table, features, drop, expected):
    data = sources.load(str(table), features=features, drop=drop)
    assert data.feature_names == expected and data.target_name == "label"
    raw = np.genfromtxt(table, delimiter=",", skip_header=1, usecols=range(4))
    assert np.array_equal(data.x, raw[:, [NAMES.index(n) for n in expected]])


@pytest.mark.parametrize("kw, message", [
    ({"features": ["x1", "nope"]},
     r"^--features: no column 'nope' in .*data.csv; its columns are id, x1, x2, notes, label "
     r"\(--dataset\)$"),
    ({"drop": ["label"]},
     r"^--drop: 'label' is the target column \(--target\), never a feature, so it cannot be "
     r"dropped; leave it out of --drop, or choose another target with --target \(--dataset\)$"),
    ({"features": ["x1", "x2"], "target": "x1"},
     r"^--features: 'x1' is the target column \(--target\), not a feature; leave it out of "
     r"--features \(--dataset\)$"),
    ({"drop": ["id", 0]}, r"^--drop: column 'id' is listed twice \(--dataset\)$"),
    ({"drop": ["id", "x1", "x2", "notes"]},
     r"^--drop: leaves no feature column \(.*data.csv has 5 columns, one of them the target "
     r"'label'\) \(--dataset\)$"),
    ({"features": [9]}, r"^--features: column 9 is out of range for 5 columns in "),
    ({"features": ["x1"], "drop": ["id"]}, r"^--features: give the columns to keep"),
])
def test_bad_choices_are_refused_naming_the_flag(table, kw, message):
    with pytest.raises(FeedforwardError, match=message):
        sources.load(str(table), **kw)


def test_a_long_unknown_name_is_cut_short(table):
    with pytest.raises(FeedforwardError) as error:
        sources.load(str(table), drop=["z" * 500])
    assert len(str(error.value)) < 300 and "z" * tabular.SHOWN + "..." in str(error.value)


def test_the_options_are_checked_and_left_out_of_records_while_unset():
    for key in ("features", "drop"):
        assert config.BY_KEY[key].default is None and key in config.ADDED_AFTER_0_1
        assert key not in config.portable(config.resolve({}))
    assert config.resolve({"dataset": "x.csv", "drop": ["id", 0]})["drop"] == ["id", 0]
    with pytest.raises(FeedforwardError, match="^--features and --drop: give the columns to "
                                               "keep or those to leave out, not both$"):
        config.resolve({"dataset": "x.csv", "features": ["a"], "drop": ["b"]})
    with pytest.raises(FeedforwardError, match="^--drop: applies to CSV files, not to the "
                                               "built-in dataset 'iris'$"):
        config.resolve({"dataset": "iris", "drop": ["id"]})
    with pytest.raises(FeedforwardError, match="^--features: expected at least one column"):
        config.resolve({"dataset": "x.csv", "features": []})


# ---------------------------------------------------------------------------- id columns
def test_an_id_column_is_found(table):
    read = tabular.read_table(table)
    assert tabular.id_columns(read, range(4)) == [0]


@pytest.mark.parametrize("cells, is_id", [
    ([str(i) for i in range(20)], True),
    ([str(i) for i in range(100, 120)][::-1], True),  # any order
    ([str(3 * i) for i in range(20)], False),  # a third of a run: a quantity, not a count
    ([str(i) for i in range(19)] + ["0"], False),  # a repeat
    ([f"{i}.0" for i in range(20)], False),  # floats
    ([f"{i + 0.5}" for i in range(20)], False),
    ([str(i) for i in range(19)], False),  # under 20 rows
])
def test_what_looks_like_an_id(tmp_path, cells, is_id):
    path = tmp_path / "one.csv"
    path.write_text("c,label\n" + "".join(f"{c},a\n" for c in cells))
    assert tabular.id_columns(tabular.read_table(path), [0]) == ([0] if is_id else [])


# ---------------------------------------------------------------------------- the command line
@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("columns")
    write_table(folder / "data.csv")
    write_table(folder / "floats.csv", ids=[f"{i}.5" for i in range(60)])
    write_table(folder / "repeats.csv", ids=[i // 2 for i in range(60)])
    return folder


def train(folder, *args):
    return ff_cli("train", *args, "--epochs", "3", "--quiet", "--no-plots", cwd=folder)


@pytest.mark.parametrize("args, out, names", [
    (["--drop", "id,notes"], "dropped", ["x1", "x2"]),
    (["--features", "x2,x1"], "kept", ["x2", "x1"]),
])
def test_train_then_predict_and_evaluate_on_the_full_file(folder, args, out, names):
    result = train(folder, "--dataset", "data.csv", *args, "--out", out)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr  # the id is not a feature
    model, record = records.load(folder / out / "model.safetensors")
    assert record["feature_names"] == names and model.input_dim == len(names)
    result = ff_cli("predict", f"{out}/model.safetensors", "data.csv", "-o", f"{out}.csv",
                    cwd=folder)  # every column of the file, the model's picked by name
    assert result.returncode == 0, result.stderr
    assert len((folder / f"{out}.csv").read_text().splitlines()) == 61
    for split in ([], ["--split", "test"]):  # the run's split rebuilt with its columns
        result = ff_cli("evaluate", f"{out}/model.safetensors", "--data", "data.csv", *split,
                        cwd=folder)
        assert result.returncode == 0, result.stderr


def test_a_missing_chosen_column_is_still_refused_by_predict(folder):
    assert train(folder, "--dataset", "data.csv", "--drop", "id", "--out", "noid").returncode == 0
    (folder / "short.csv").write_text("id,x2,notes\n1,0.5,2\n")
    result = ff_cli("predict", "noid/model.safetensors", "short.csv", cwd=folder)
    assert result.returncode == 2 and "missing 'x1'" in result.stderr


def test_the_id_warning(folder):
    result = train(folder, "--dataset", "data.csv", "--out", "all")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ID_WARNING.format(path="data.csv", n=60)


@pytest.mark.parametrize("file", ["floats.csv", "repeats.csv"])
def test_no_warning_for_floats_or_repeats(folder, file):
    result = train(folder, "--dataset", file, "--out", f"no_{file}")
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr


def test_the_config_file_form(folder):
    (folder / "columns.toml").write_text('dataset = "data.csv"\nfeatures = ["x1", "x2"]\n')
    result = train(folder, "--config", "columns.toml", "--out", "from_file")
    assert result.returncode == 0, result.stderr
    toml = (folder / "from_file" / "config.toml").read_text()
    assert 'features = ["x1", "x2"]' in toml and "# drop = ...  (not set)" in toml
    (folder / "both.toml").write_text('dataset = "data.csv"\nfeatures = ["x1"]\ndrop = ["id"]\n')
    result = train(folder, "--config", "both.toml")
    assert result.returncode == 2
    assert result.stderr.startswith("feedforward train: error: features (in both.toml) and "
                                    "drop (in both.toml): give the columns to keep")


def test_one_line_errors(folder):
    result = train(folder, "--dataset", "data.csv", "--drop", "label")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        "feedforward train: error: --drop: 'label' is the target column (--target), never a "
        "feature, so it cannot be dropped; leave it out of --drop, or choose another target "
        "with --target (--dataset)\n")
