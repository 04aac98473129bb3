"""The commands' output as a script or a shell sees it: a closed pipe, the file formats of
``predict -o``, and messages that name what the user can do on the command line."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from feedforward.cli import main


def _rows(n, target):
    return "".join(f"{i % 7},{(i * 3) % 5},{target(i)}\n" for i in range(n))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A classifier and a regression run (no test split) of a few epochs, with their CSVs."""
    folder = tmp_path_factory.mktemp("runs")
    (folder / "cls.csv").write_text("a,b,label\n"
                                    + _rows(60, lambda i: "hi" if i % 7 > 2 else "lo"))
    (folder / "reg.csv").write_text("a,b,y\n" + _rows(60, lambda i: 0.5 * i))
    (folder / "rows.csv").write_text("a,b\n1,2\n3,4\n")
    for name, extra in (("cls", []), ("reg", ["--test", "0"])):
        assert main(["train", "-d", str(folder / f"{name}.csv"), "--epochs", "2", "--quiet",
                     "--no-plots", "--out", str(folder / name), *extra]) == 0
    return folder


def test_train_goes_on_when_stdout_is_closed(runs, tmp_path):
    # `feedforward train ... | head -1`: rich exits 1 without a word when the reader goes away
    out = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "feedforward.cli", "train", "-d", str(runs / "cls.csv"),
         "--epochs", "30", "--no-plots", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 0, stderr
    assert stderr == ""
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 30
    assert (out / "model.safetensors").is_file()


def test_fit_goes_on_when_stdout_is_closed_before_the_progress_lines(tmp_path):
    # the progress bar's own console hit the closed pipe first: rich exited 1, without a word
    script = ("import numpy as np, feedforward as ff\n"
              "m = ff.Sequential([ff.Input((2,)), ff.Dense(1)], seed=0)\n"
              "m.compile('sgd', 'mse')\n"
              "m.fit(np.ones((8, 2)), np.ones(8), epochs=50, verbose=2)\n"
              f"m.save({str(tmp_path / 'm.safetensors')!r})\n")
    read, write = os.pipe()
    os.close(read)  # no reader at all: the first progress line meets a closed pipe
    try:
        done = subprocess.run([sys.executable, "-c", script], stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)
    assert done.returncode == 0 and done.stderr == ""
    assert (tmp_path / "m.safetensors").is_file()


@pytest.mark.parametrize("name", ["out.tsv", "out.tab"])
def test_predict_writes_a_tab_separated_file_for_tsv(runs, tmp_path, name):
    out = tmp_path / name
    assert main(["predict", str(runs / "cls" / "model.safetensors"), str(runs / "rows.csv"),
                 "-o", str(out), "--quiet"]) == 0
    rows = list(csv.reader(out.read_text().splitlines(), delimiter="\t"))
    assert rows[0] == ["prediction", "probability_hi", "probability_lo"]
    assert [len(r) for r in rows[1:]] == [3, 3]


def test_predict_writes_json_for_a_json_file(runs, tmp_path, capsys):
    out = tmp_path / "out.json"
    model, rows = str(runs / "cls" / "model.safetensors"), str(runs / "rows.csv")
    assert main(["predict", model, rows, "-o", str(out), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["predict", model, rows, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert json.loads(out.read_text()) == printed
    assert [r["prediction"] in ("hi", "lo") for r in printed] == [True, True]


def test_predict_refuses_to_write_csv_under_a_parquet_name(runs, tmp_path, capsys):
    out = tmp_path / "out.parquet"
    assert main(["predict", str(runs / "cls" / "model.safetensors"), str(runs / "rows.csv"),
                 "-o", str(out)]) == 2
    error = capsys.readouterr().err
    assert "--output" in error and "Parquet" in error and ".tsv" in error
    assert not out.exists()


def test_evaluate_reads_whole_number_targets_as_values_for_a_regression_model(runs, tmp_path,
                                                                           capsys):
    # two whole values are classes by the task rule; a regression model takes them as values
    (tmp_path / "whole.csv").write_text("a,b,y\n1,2,3\n4,1,1e19\n")
    assert main(["evaluate", str(runs / "reg" / "model.safetensors"), "--data",
                 str(tmp_path / "whole.csv"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"]["mae"] > 1e18


def test_evaluate_names_a_text_target_cell_for_a_regression_model(runs, tmp_path, capsys):
    (tmp_path / "text.csv").write_text('a,b,y\n1,2,"1,234"\n4,1,3\n')
    assert main(["evaluate", str(runs / "reg" / "model.safetensors"), "--data",
                 str(tmp_path / "text.csv")]) == 2
    error = capsys.readouterr().err
    assert "'1,234'" in error and "not numbers" in error


def test_evaluate_split_advice_drops_data_when_data_was_given(runs, capsys):
    model = str(runs / "reg" / "model.safetensors")
    assert main(["evaluate", model, "--data", str(runs / "reg.csv"), "--split", "test"]) == 2
    error = capsys.readouterr().err
    assert "no test split" in error and "pass --data" not in error
    assert main(["evaluate", model, "--split", "test"]) == 2
    assert "pass --data" in capsys.readouterr().err


def test_a_value_beyond_float32_names_the_command_line_fix(runs, tmp_path, capsys):
    (tmp_path / "big.csv").write_text("a,b\n1e39,2\n")
    assert main(["predict", str(runs / "reg" / "model.safetensors"),
                 str(tmp_path / "big.csv")]) == 2
    error = capsys.readouterr().err
    assert "float32" in error and "--dtype float64" in error


def test_a_missing_cell_for_a_model_that_imputes_nothing_names_train(runs, tmp_path, capsys):
    out = tmp_path / "none"  # a text column: the model encodes its rows itself
    (tmp_path / "mixed.csv").write_text("b,colour,y\n" + "".join(
        f"{i % 5},{('red', 'blue')[i % 2]},{'xy'[i % 3 > 0]}\n" for i in range(40)))
    assert main(["train", "-d", str(tmp_path / "mixed.csv"), "--impute", "none", "--epochs",
                 "1", "--quiet", "--no-plots", "--out", str(out)]) == 0
    (tmp_path / "gap.csv").write_text("b,colour\n,red\n")
    assert main(["predict", str(out / "model.safetensors"), str(tmp_path / "gap.csv")]) == 2
    error = capsys.readouterr().err
    assert "row 1, column 'b'" in error and "train --impute median" in error


def test_evaluate_target_naming_a_feature_is_refused_by_name(runs, capsys):
    assert main(["evaluate", str(runs / "cls" / "model.safetensors"), "--data",
                 str(runs / "cls.csv"), "--target", "a"]) == 2
    error = capsys.readouterr().err
    assert "--target 'a' is one of the model's features" in error and "'label'" in error


def test_predict_matches_a_python_saved_model_s_columns_by_name(tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    import numpy as np

    import feedforward as ff

    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(40, 3)), columns=["a", "b", "c"])
    model = ff.Sequential([ff.Input((3,)), ff.Dense(1, activation="sigmoid")], seed=0)
    model.compile("adam", "binary_crossentropy")
    model.fit(frame, (frame["a"] > 0).to_numpy().astype(int), epochs=5, verbose=0)
    model.save(tmp_path / "m.safetensors")
    frame.head(4)[["c", "a", "b"]].to_csv(tmp_path / "rows.csv", index=False)
    assert main(["predict", str(tmp_path / "m.safetensors"), str(tmp_path / "rows.csv"),
                 "--json"]) == 0
    printed = [r["probabilities"]["1"] for r in json.loads(capsys.readouterr().out)]
    np.testing.assert_allclose(printed, model.predict(frame.head(4))[:, 0], rtol=1e-6)
    assert main(["summary", str(tmp_path / "m.safetensors"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["feature_names"] == ["a", "b", "c"]


def test_train_class_weight_balanced_weighs_the_rare_class_and_is_recorded(tmp_path, capsys):
    import numpy as np

    import feedforward as ff

    rows = "".join(f"{i % 7},{(i * 3) % 5},{'rare' if i % 9 == 0 else 'common'}\n"
                   for i in range(90))
    (tmp_path / "imb.csv").write_text("a,b,label\n" + rows)
    outs = {}
    for weight in ("none", "balanced"):
        outs[weight] = tmp_path / weight
        assert main(["train", "-d", str(tmp_path / "imb.csv"), "--class-weight", weight,
                     "--epochs", "3", "--quiet", "--no-plots", "--out",
                     str(outs[weight])]) == 0
    assert 'class_weight = "balanced"' in (outs["balanced"] / "config.toml").read_text()
    plain, weighed = (ff.load_model(outs[w] / "model.safetensors") for w in outs)
    assert not np.array_equal(plain.params, weighed.params)
    capsys.readouterr()
    assert main(["train", "--dataset", "plane", "--class-weight", "balanced", "--out",
                 str(tmp_path / "plane")]) == 2
    assert "--class-weight: weighs classes, and plane is a regression" in capsys.readouterr().err
