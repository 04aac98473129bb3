"""A search's answers stay true on the inputs users bring: a table with a text column resumes,
a test file's labels and a DataFrame's columns are matched as evaluate matches them, the
refit and the folds' models are not scored on rows they trained on, one folder holds one live
search, and ``--quick --target`` takes a column index as ``train`` does.

Trials are tiny networks (4 units, 2 epochs) on generated rows.
"""

from __future__ import annotations

import fcntl

import numpy as np
import pytest

import feedforward as ff
from feedforward.cli import main as cli_main
from feedforward.errors import FeedforwardError
from feedforward.tune import final, results

pd = pytest.importorskip("pandas")

GRID = '[search]\nlearning_rate = {choice = [0.01]}\n[tune]\nstrategy = "grid"\n'


def table(n=120, seed=0):
    """Three text classes from four numbers: a DataFrame with columns a, b, c, d, label."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.normal(size=(n, 4)) + 2.0 * np.eye(3, 4)[y]
    frame = pd.DataFrame(x, columns=list("abcd"))
    frame["label"] = np.array(["red", "green", "blue"])[y]
    return frame


def space_file(folder, dataset="train.csv", extra=""):
    path = folder / "space.toml"
    path.write_text(f'[fixed]\ndataset = "{dataset}"\ntarget = "label"\nlayers = [4]\n'
                    f'epochs = 2\n{extra}'
                    + GRID)
    return path


def test_a_table_with_a_text_column_resumes_its_search(tmp_path):
    frame = table()
    frame["colour"] = np.array(["x", "y"])[np.arange(len(frame)) % 2]  # a text feature
    frame.to_csv(tmp_path / "train.csv", index=False)
    path = space_file(tmp_path)
    first = ff.tune.search(path, out=tmp_path / "out", plots=False)
    again = ff.tune.search(path, out=tmp_path / "out", plots=False)  # was "another search"
    assert again.ran == [] and [r["id"] for r in again.records] == [
        r["id"] for r in first.records]


def test_a_test_files_integer_labels_are_labels_not_positions(tmp_path):
    frame = table()
    frame.iloc[:90].to_csv(tmp_path / "train.csv", index=False)
    coded = frame.iloc[90:].copy()
    coded["label"] = coded["label"].map({"blue": 2, "green": 1, "red": 0})  # another coding
    coded.to_csv(tmp_path / "codes.csv", index=False)
    path = space_file(tmp_path)
    with pytest.raises(FeedforwardError, match="test_data: the label .* not one of"):
        ff.tune.search(path, out=tmp_path / "out", plots=False, test_data=tmp_path / "codes.csv")
    assert not (tmp_path / "out" / results.JSONL).exists()  # refused before any trial


def test_a_dataframe_as_test_data_is_matched_by_its_column_names(tmp_path):
    frame = table()
    frame.iloc[:90].to_csv(tmp_path / "train.csv", index=False)
    test = frame.iloc[90:]
    path = space_file(tmp_path)
    scores = []
    for name, columns in (("ordered", list("abcd")), ("reordered", list("dcab"))):
        result = ff.tune.search(path, out=tmp_path / name, plots=False,
                                test_data=(test[columns], test["label"]))
        scores.append(result.test)
    assert scores[0] == pytest.approx(scores[1])


def test_a_test_file_has_its_own_delimiter(tmp_path):
    frame = table()
    frame.iloc[:90].to_csv(tmp_path / "train.csv", index=False, sep=";")
    frame.iloc[90:].to_csv(tmp_path / "test.csv", index=False)  # commas
    path = space_file(tmp_path, extra='delimiter = ";"\n')
    result = ff.tune.search(path, out=tmp_path / "out", plots=False,
                            test_data=tmp_path / "test.csv")
    assert result.tested == "test file test.csv (30 rows)" and result.test


def test_evaluate_refuses_the_rows_a_refit_or_a_fold_trained_on(tmp_path, capsys):
    table().to_csv(tmp_path / "train.csv", index=False)
    path = space_file(tmp_path)
    data = str(tmp_path / "train.csv")
    ff.tune.search(path, out=tmp_path / "refit", plots=False)
    ff.tune.search(path, out=tmp_path / "folds", plots=False, cv=2, refit=False)
    for out, what in (("refit", "the refit"), ("folds", "cross-validation fold")):
        model = str(tmp_path / out / final.MODEL_FILE)
        for split in ("val", "train"):
            assert cli_main(["evaluate", model, "--data", data, "--split", split]) == 2
            assert what in capsys.readouterr().err
        # the test split stays open, the fold's model included (it records the file's digest)
        assert cli_main(["evaluate", model, "--data", data, "--split", "test"]) == 0
        assert "(test, 24 samples)" in capsys.readouterr().out


def test_one_folder_holds_one_live_search(tmp_path):
    table().to_csv(tmp_path / "train.csv", index=False)
    path, out = space_file(tmp_path), tmp_path / "out"
    out.mkdir()
    with open(out / ".tune.lock", "a+") as held:  # as a live search holds it
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(FeedforwardError, match="--out: another search is writing into"):
            ff.tune.search(path, out=out, plots=False)
        assert not (out / results.JSONL).exists()
    assert ff.tune.search(path, out=out, plots=False).ran  # free once the other has ended


def test_quick_takes_a_column_index_as_train_does(tmp_path, capsys):
    frame = table()[["label", "a", "b", "c", "d"]]  # the target first
    frame.to_csv(tmp_path / "first.csv", index=False)
    assert cli_main(["tune", "--quick", str(tmp_path / "first.csv"), "--target", "0",
                     "--trials", "1", "--out", str(tmp_path / "out"), "--no-plots",
                     "--quiet"]) == 0
    model = ff.load_model(tmp_path / "out" / final.MODEL_FILE)
    assert sorted(model.classes) == ["blue", "green", "red"]
