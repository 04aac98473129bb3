"""The `feedforward` command, run as a subprocess: train, evaluate, predict, summary, datasets.

One digits run checks the default (the `make demo` job); the others use iris as a CSV file
with text labels, and playground sets, with few epochs.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open

import feedforward as ff
from _helpers import ff_cli, record
from feedforward.cli import main as cli_main
from feedforward.config import tomllib

IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
IRIS_RUN = ["--epochs", "100", "--layers", "16,8", "--patience", "20", "--learning-rate", "0.01"]


def ok(result):
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def tensors(path):
    with safe_open(str(path), framework="numpy") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()


@pytest.fixture(scope="module")
def iris_csv(tmp_path_factory):
    """scikit-learn's iris as a CSV file: four measurements and a text `species` column."""
    from sklearn.datasets import load_iris

    iris = load_iris()
    path = tmp_path_factory.mktemp("data") / "iris.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*IRIS_FEATURES, "species"])
        for row, code in zip(iris.data, iris.target, strict=True):
            writer.writerow([*row, iris.target_names[code]])
    return path


@pytest.fixture(scope="module")
def iris_run(iris_csv, tmp_path_factory):
    """One training run on the iris CSV file; returns its folder."""
    work = tmp_path_factory.mktemp("work")
    ok(ff_cli("train", "--dataset", iris_csv, "--target", "species", *IRIS_RUN,
              "--out", "run", cwd=work))
    return work / "run"


# ---------------------------------------------------------------------------- help
@pytest.mark.parametrize("command", [[], ["train"], ["evaluate"], ["predict"], ["summary"],
                                     ["datasets"]])
def test_every_command_has_help_with_examples(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main([*command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: {' '.join(['feedforward', *command])}")
    examples = text.split("examples:", 1)[1]
    assert f"feedforward {command[0]}" in examples if command else "feedforward train" in examples


def test_entry_point_and_module_agree(tmp_path):
    script = Path(sys.executable).parent / "feedforward"
    assert script.exists(), "the console script is missing: pip install -e ."
    by_script = subprocess.run([str(script), "--version"], capture_output=True, text=True,
                               cwd=tmp_path, timeout=60)
    by_module = ff_cli("--version", cwd=tmp_path)
    assert by_script.returncode == by_module.returncode == 0
    assert by_script.stdout == by_module.stdout == f"feedforward {ff.__version__}\n"


# ---------------------------------------------------------------------------- the demo
def test_default_train_is_the_demo(tmp_path):
    """No flags: digits, two hidden ReLU layers, Adam, early stopping; test accuracy >= 97 %."""
    start = time.perf_counter()
    result = ok(ff_cli("train", "--out", "demo", cwd=tmp_path))
    record("demo_train", seconds=time.perf_counter() - start)
    out = tmp_path / "demo"
    printed = re.search(r"test accuracy (\d+\.\d+) %", result.stdout)
    assert printed, result.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.97
    assert float(printed.group(1)) == pytest.approx(100 * metrics["test"]["accuracy"], abs=0.006)
    assert metrics["samples"] == {"train": 1078, "val": 359, "test": 360}
    assert re.search(r"Dense \(relu\)\s.*\(None, 128\)", result.stdout)
    assert re.search(r"Dense \(relu\)\s.*\(None, 64\)", result.stdout)
    assert "Adam" in result.stdout and "early stopping on val_loss" in result.stdout
    assert re.search(r"epoch 1/1000 .* loss=\S+ +accuracy=\S+ +val_loss=\S+ +val_accuracy=",
                     result.stdout), "no per-epoch progress with training and validation"

    # the history and the restored weights agree: the best epoch's validation loss is the
    # final model's
    header, rows = read_csv(out / "history.csv")
    assert header == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"]
    assert len(rows) == metrics["epochs"]
    val_loss = [float(r[3]) for r in rows]
    assert val_loss[metrics["weights_epoch"] - 1] == min(val_loss) == metrics["val"]["loss"]

    matrix = np.array(metrics["confusion_matrix"]["matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == 360
    assert np.trace(matrix) / 360 == pytest.approx(metrics["test"]["accuracy"])
    config = tomllib.loads((out / "config.toml").read_text())
    assert config["dataset"] == "digits" and config["layers"] == [128, 64]
    assert config["optimizer"] == "adam" and config["early_stopping"] is True

    import matplotlib.image

    for name, size in (("loss", (480, 640)), ("accuracy", (480, 640)),
                       ("confusion_matrix", (560, 640))):
        image = matplotlib.image.imread(out / f"{name}.png")
        assert image.shape[:2] == size, name
        assert image[..., :3].std() > 0.05, f"{name}.png is blank"


# ---------------------------------------------------------------------------- run folder
def test_run_folder_holds_model_history_metrics_config_and_plots(iris_run, iris_csv):
    names = {p.name for p in iris_run.iterdir()}
    assert names == {"model.safetensors", "history.csv", "metrics.json", "config.toml",
                     "loss.png", "accuracy.png", "confusion_matrix.png"}
    model = ff.load_model(iris_run / "model.safetensors")
    assert model.classes == ["setosa", "versicolor", "virginica"]
    assert [type(p).__name__ for p in model.preprocessing] == ["StandardScaler"]
    x = np.loadtxt(iris_csv, delimiter=",", skiprows=1, usecols=range(4))
    # fitted on the training split only: close to the whole set's statistics, not equal
    assert np.allclose(model.preprocessing[0].mean_, x.mean(axis=0), rtol=0.1)
    assert not np.array_equal(model.preprocessing[0].mean_, x.mean(axis=0))

    metrics = json.loads((iris_run / "metrics.json").read_text())
    assert metrics["samples"] == {"train": 90, "val": 30, "test": 30}
    assert metrics["test"]["accuracy"] > 0.8  # it learned
    matrix = np.array(metrics["confusion_matrix"]["matrix"])
    assert matrix.sum(axis=1).tolist() == [10, 10, 10]  # stratified: 10 of each class
    header, rows = read_csv(iris_run / "history.csv")
    assert len(rows) == metrics["epochs"] <= 100
    config = tomllib.loads((iris_run / "config.toml").read_text())
    assert Path(config["dataset"]) == iris_csv.resolve()
    assert config["target"] == "species" and config["epochs"] == 100


def test_saved_config_reproduces_the_run_bit_for_bit(iris_csv, tmp_path):
    """Dropout, augmentation noise, a schedule and momentum: every random stream is used."""
    first = tmp_path / "first"
    ok(ff_cli("train", "--dataset", iris_csv, "--target", "species", *IRIS_RUN,
              "--dropout", "0.2", "--augment-noise", "0.05", "--optimizer", "sgd",
              "--momentum", "0.9", "--schedule", "cosine", "--epochs", "10",
              "--out", first, "--no-plots", cwd=tmp_path))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    ok(ff_cli("train", "--config", first / "config.toml", "--out", "again", "--no-plots",
              cwd=elsewhere))
    ok(ff_cli("train", "--config", first / "config.toml", "--seed", "1", "--out", "seed1",
              "--no-plots", cwd=elsewhere))

    weights, meta = tensors(first / "model.safetensors")
    again, meta_again = tensors(elsewhere / "again" / "model.safetensors")
    assert weights.keys() == again.keys()
    for name in weights:
        assert np.array_equal(weights[name], again[name]), name
    assert meta["config"] == meta_again["config"]
    assert (first / "history.csv").read_text() == (elsewhere / "again/history.csv").read_text()
    assert (first / "config.toml").read_text() == (elsewhere / "again/config.toml").read_text()

    # a flag overrides the file, and the seed matters
    other, _ = tensors(elsewhere / "seed1" / "model.safetensors")
    assert not np.array_equal(weights["layers.0.kernel"], other["layers.0.kernel"])
    config = tomllib.loads((elsewhere / "seed1" / "config.toml").read_text())
    assert config["seed"] == 1 and config["dropout"] == 0.2 and config["optimizer"] == "sgd"


# ---------------------------------------------------------------------------- predict
def _raw_rows(iris_csv, tmp_path, rows, columns):
    """Some iris rows, raw, with ``columns`` in that order, as a CSV file."""
    header, body = read_csv(iris_csv)
    picked = [body[i] for i in rows]
    path = tmp_path / "rows.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in picked:
            writer.writerow([row[header.index(c)] for c in columns])
    x = np.array([[float(row[header.index(c)]) for c in IRIS_FEATURES] for row in picked])
    return path, x


def test_predict_on_raw_rows_equals_model_predict(iris_run, iris_csv, tmp_path):
    # columns shuffled and the target kept: columns are matched by name
    path, x = _raw_rows(iris_csv, tmp_path, [0, 60, 120, 75, 149],
                        ["species", "petal_width", "sepal_length", "petal_length", "sepal_width"])
    ok(ff_cli("predict", iris_run / "model.safetensors", path, "-o", "out.csv", cwd=tmp_path))
    model = ff.load_model(iris_run / "model.safetensors")
    expected = model.predict(x)  # raw rows: the model scales them itself
    header, rows = read_csv(tmp_path / "out.csv")
    assert header == ["prediction", "probability_setosa", "probability_versicolor",
                      "probability_virginica"]
    probabilities = np.array([[np.float32(v) for v in row[1:]] for row in rows])
    assert np.array_equal(probabilities, expected)
    assert [row[0] for row in rows] == [model.classes[i] for i in expected.argmax(axis=1)]

    result = ok(ff_cli("predict", iris_run / "model.safetensors", path, "--json", cwd=tmp_path))
    answers = json.loads(result.stdout)
    assert [a["prediction"] for a in answers] == [row[0] for row in rows]
    as_json = np.array([[a["probabilities"][c] for c in model.classes] for a in answers])
    assert np.array_equal(as_json.astype(np.float32), expected)

    # piped without -o: CSV on stdout, the same as the file
    piped = ok(ff_cli("predict", iris_run / "model.safetensors", path, cwd=tmp_path))
    assert piped.stdout == (tmp_path / "out.csv").read_text()


def test_predict_takes_unnamed_columns_in_order_when_asked(iris_run, iris_csv, tmp_path):
    path, x = _raw_rows(iris_csv, tmp_path, [3, 55, 140], IRIS_FEATURES)
    text = path.read_text().splitlines()
    path.write_text("\n".join(["a,b,c,d", *text[1:]]) + "\n")
    refused = ff_cli("predict", iris_run / "model.safetensors", path, cwd=tmp_path)
    assert refused.returncode == 2 and "unexpected 'a'" in refused.stderr
    result = ok(ff_cli("predict", iris_run / "model.safetensors", path, "--by-position",
                       cwd=tmp_path))
    rows = list(csv.reader(result.stdout.splitlines()))[1:]
    expected = ff.load_model(iris_run / "model.safetensors").predict(x)
    assert np.array_equal(np.array([[np.float32(v) for v in r[1:]] for r in rows]), expected)


def test_regression_run_predicts_values(tmp_path):
    quiet = ok(ff_cli("train", "--dataset", "plane", "--samples", "300", "--epochs", "10",
                      "--layers", "8", "--quiet", "--out", "plane", cwd=tmp_path))
    assert quiet.stdout == quiet.stderr == ""
    out = tmp_path / "plane"
    assert {"mae.png", "r2.png", "loss.png"} <= {p.name for p in out.iterdir()}
    assert not (out / "confusion_matrix.png").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "regression" and set(metrics["test"]) == {"loss", "mae", "r2"}
    x = np.array([[1.0, 2.0], [-3.0, 0.5], [5.5, -5.5]])
    np.savetxt(tmp_path / "points.csv", x, delimiter=",", header="x1,x2", comments="")
    result = ok(ff_cli("predict", out / "model.safetensors", "points.csv", "--json",
                       cwd=tmp_path))
    values = [a["prediction"] for a in json.loads(result.stdout)]
    expected = ff.load_model(out / "model.safetensors").predict(x)[:, 0]
    assert np.array_equal(np.float32(values), expected)


# ---------------------------------------------------------------------------- evaluate
def test_evaluate_repeats_the_runs_test_metrics(iris_run, tmp_path):
    # a built-in dataset is rebuilt from the record; a file that a model file names is never
    # opened (it may name any path): the user passes it with --data
    refused = ff_cli("evaluate", iris_run / "model.safetensors", cwd=tmp_path)
    assert refused.returncode == 2 and "pass --data" in refused.stderr
    ok(ff_cli("train", "--dataset", "iris", *IRIS_RUN, "--no-plots", "--quiet", "--out", "run",
              cwd=tmp_path))
    run = tmp_path / "run"
    metrics = json.loads((run / "metrics.json").read_text())
    result = ok(ff_cli("evaluate", run / "model.safetensors", "--json", cwd=tmp_path))
    report = json.loads(result.stdout)
    assert report["split"] == "test" and report["samples"] == 30
    assert report["metrics"] == metrics["test"]
    assert report["confusion_matrix"] == metrics["confusion_matrix"]["matrix"]

    val = json.loads(ok(ff_cli("evaluate", run / "model.safetensors", "--split", "val",
                               "--json", cwd=tmp_path)).stdout)
    assert val["metrics"] == metrics["val"]


def test_evaluate_on_given_data(iris_run, iris_csv, tmp_path):
    result = ok(ff_cli("evaluate", iris_run / "model.safetensors", "--data", iris_csv,
                       "--target", "species", cwd=tmp_path))
    assert "iris.csv (all, 150 samples)" in result.stdout
    assert "confusion matrix" in result.stdout and "virginica" in result.stdout
    report = json.loads(ok(ff_cli("evaluate", iris_run / "model.safetensors", "--data",
                                  iris_csv, "--json", cwd=tmp_path)).stdout)
    assert report["samples"] == 150 and np.sum(report["confusion_matrix"]) == 150
    model = ff.load_model(iris_run / "model.safetensors")
    x = np.loadtxt(iris_csv, delimiter=",", skiprows=1, usecols=range(4))
    codes = np.repeat([0, 1, 2], 50)
    assert report["metrics"] == model.evaluate(x, codes, return_dict=True)


# ---------------------------------------------------------------------------- summary, datasets
def test_summary(iris_run, tmp_path, capsys):
    info = json.loads(ok(ff_cli("summary", iris_run / "model.safetensors", "--json",
                                cwd=tmp_path)).stdout)
    assert [layer["output_shape"] for layer in info["layers"]] == [[16], [8], [3]]
    assert info["params"] == (4 * 16 + 16) + (16 * 8 + 8) + (8 * 3 + 3)
    assert info["classes"] == ["setosa", "versicolor", "virginica"]
    assert info["feature_names"] == IRIS_FEATURES
    assert info["training"]["dataset"] == "iris.csv"
    assert cli_main(["summary", str(iris_run / "model.safetensors")]) == 0
    text = capsys.readouterr().out
    for expected in ("Dense (relu)", "Dense (softmax)", "StandardScaler", "setosa, versicolor",
                     "sepal_length", "categorical_crossentropy", "iris.csv"):
        assert expected in text, expected


def test_datasets_lists_what_train_accepts(tmp_path, capsys):
    rows = json.loads(ok(ff_cli("datasets", "--json", cwd=tmp_path)).stdout)
    by_name = {row["name"]: row for row in rows}
    assert set(by_name) == {"circle", "xor", "gaussian", "spiral", "blobs", "plane",
                            "multi_gaussian", "digits", "iris", "wine", "breast_cancer",
                            "diabetes", "mnist"}
    assert (by_name["iris"]["samples"], by_name["iris"]["features"],
            by_name["iris"]["classes"]) == (150, 4, 3)
    assert by_name["diabetes"]["task"] == "regression" and by_name["blobs"]["classes"] == 3
    assert cli_main(["datasets"]) == 0
    table = capsys.readouterr().out
    assert all(re.search(rf"\b{name}\b", table) for name in by_name)


def test_train_without_matplotlib_skips_the_plots(tmp_path):
    fake = tmp_path / "fake"
    (fake / "matplotlib").mkdir(parents=True)
    (fake / "matplotlib" / "__init__.py").write_text("raise ImportError('blocked in a test')\n")
    env = {**os.environ, "PYTHONPATH": str(fake)}
    result = ok(ff_cli("train", "--dataset", "xor", "--samples", "200", "--epochs", "3",
                       "--out", "run", cwd=tmp_path, env=env))
    assert "plots skipped: matplotlib is not installed" in result.stdout
    names = {p.name for p in (tmp_path / "run").iterdir()}
    assert names == {"model.safetensors", "history.csv", "metrics.json", "config.toml"}




def test_names_with_brackets_are_printed_as_they_are(tmp_path, capsys, monkeypatch):
    """File, column and class names are text, never rich markup."""
    monkeypatch.chdir(tmp_path)
    rows = "".join(f"{i},{(i * 7) % 5},{'[x]' if i % 2 else '[/y]'}\n" for i in range(20))
    (tmp_path / "da[t]a.csv").write_text("a[1],b,[cls]\n" + rows)
    assert cli_main(["train", "--dataset", "da[t]a.csv", "--epochs", "2", "--no-plots",
                     "--out", "run"]) == 0
    assert cli_main(["evaluate", "run/model.safetensors", "--data", "da[t]a.csv"]) == 0
    assert cli_main(["summary", "run/model.safetensors"]) == 0
    out = capsys.readouterr().out
    for text in ("da[t]a.csv: 20 samples", "da[t]a.csv: final metrics", "┃ [/y] ┃ [x] ┃",
                 "inputs: 2 features (a[1], b)", "outputs: 2 classes ([/y], [x])"):
        assert text in out, text
