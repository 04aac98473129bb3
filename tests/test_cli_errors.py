"""Bad input to the `feedforward` command: one line on stderr naming the problem, exit status 2,
no traceback.

The four kinds of the acceptance list (a missing file, a malformed CSV, an unknown option value,
an impossible combination) run as subprocesses; the wider matrix runs in-process through
``main``, which is what the subprocess runs.
"""

from __future__ import annotations

import pytest

import feedforward as ff
from _helpers import ff_cli
from feedforward.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A folder with a small model (2 features, classes a/b), good and bad CSV files."""
    folder = tmp_path_factory.mktemp("files")
    model = ff.Sequential([ff.Dense(2, activation="softmax")], input_dim=2, seed=0,
                          classes=["a", "b"])
    model.compile("adam", "categorical_crossentropy", ["accuracy"])
    model.save(folder / "model.safetensors")
    (folder / "ragged.csv").write_text("x1,x2,label\n1,2,a\n3,b\n5,6,a\n")
    (folder / "text.csv").write_text("x1,x2,label\n1,2,a\n3,abc,b\n")
    (folder / "rows.csv").write_text("x1,x2\n1,2\nabc,4\n")
    (folder / "three.csv").write_text("p,q,r\n1,2,3\n")
    (folder / "two.csv").write_text("p,q\n1,2\n")
    (folder / "good.csv").write_text("x1,x2,label\n" + "".join(
        f"{i % 7},{i % 3},{'ab'[i % 2]}\n" for i in range(40)))  # no id-like column
    # a price column with one typo: read as text, it was 37 classes for 40 rows, exit 0
    (folder / "price.csv").write_text("x1,x2,price\n" + "".join(
        f"{i % 7},{i % 3},{'12.5kg' if i == 17 else 1.5 * i}\n" for i in range(40)))
    (folder / "const.csv").write_text("x1,x2,y\n" + "".join(f"{i % 7},{i % 3},7\n"
                                                           for i in range(40)))
    (folder / "trailing.csv").write_text("x1,x2,label,\n" + "".join(
        f"{i % 7},{i % 3},{'ab'[i % 2]},\n" for i in range(40)))  # a delimiter ending each line
    (folder / "broken.toml").write_text("epochs = [1,\n")
    (folder / "typo.toml").write_text("lerning_rate = 0.1\n")
    (folder / "wrongtype.toml").write_text('epochs = "ten"\n')
    (folder / "notamodel.safetensors").write_bytes(b"this is not a model file")
    return folder


def assert_one_line_error(stderr: str, command: str, *words):
    assert "Traceback" not in stderr
    assert stderr.endswith("\n") and stderr.count("\n") == 1, f"not one line: {stderr!r}"
    assert stderr.startswith(f"feedforward {command}: error: "), stderr
    for word in words:
        assert word in stderr, f"{word!r} not in {stderr!r}"


SUBPROCESS_CASES = [
    # a missing file
    (["train", "--dataset", "missing.csv"], ["--dataset", "no such file", "missing.csv"]),
    (["predict", "missing.safetensors", "rows.csv"], ["MODEL", "no model file",
                                                      "missing.safetensors"]),
    # a malformed CSV
    (["train", "--dataset", "ragged.csv"], ["--dataset", "row 2", "2 cells", "header has 3"]),
    (["predict", "model.safetensors", "rows.csv"], ["row 2", "'x1'", "non-numeric value 'abc'"]),
    # an unknown option value: named, with the valid values
    (["train", "--activation", "relux"], ["--activation", "'relux'", "relu", "tanh", "sigmoid"]),
    # impossible combinations
    (["train", "--dataset", "plane", "--loss", "categorical_crossentropy"],
     ["--loss", "categorical_crossentropy", "plane", "continuous", "mse"]),
    (["train", "--test", "0.9", "--val", "0.2"], ["--val 0.2", "--test 0.9", "below 1"]),
    # a usage error from argparse
    (["train", "--epochs", "ten"], ["--epochs", "invalid int value", "'ten'"]),
    # training that diverges: the library's message, without NumPy's overflow warnings
    (["train", "--dataset", "circle", "--optimizer", "sgd", "--learning-rate", "1e9",
      "--quiet", "--out", "diverged"], ["training diverged", "Lower the learning rate"]),
]


@pytest.mark.parametrize("args, words", SUBPROCESS_CASES, ids=lambda v: " ".join(v)[:40])
def test_errors_as_subprocess(args, words, files):
    result = ff_cli(*args, cwd=files)
    assert result.returncode == 2
    assert result.stdout == ""
    assert_one_line_error(result.stderr, args[0], *words)


IN_PROCESS_CASES = [
    # unknown values of every kind of named option
    (["train", "--optimizer", "adamm"], ["--optimizer", "'adamm'", "adam", "sgd", "rmsprop"]),
    (["train", "--loss", "hinge"], ["--loss", "'hinge'", "categorical_crossentropy", "mse"]),
    (["train", "--initializer", "kaiming"], ["--initializer", "he_normal", "glorot_uniform"]),
    (["train", "--output-activation", "relux"], ["--output-activation", "auto", "softmax"]),
    (["train", "--metrics", "accuracy,f1"], ["--metrics", "'f1'", "accuracy", "r2"]),
    (["train", "--scaling", "robust"], ["--scaling", "standard, minmax, none", "'robust'"]),
    (["train", "--schedule", "linear"], ["--schedule", "cosine", "plateau"]),
    (["train", "--task", "ranking"], ["--task", "classification, regression"]),
    (["train", "--dataset", "mnist2"], ["--dataset", "unknown dataset", "digits", "spiral"]),
    # values out of range
    (["train", "--epochs", "0"], ["--epochs", ">= 1", "got 0"]),
    (["train", "--dropout", "1"], ["--dropout", "< 1"]),
    (["train", "--learning-rate", "0"], ["--learning-rate", "> 0"]),
    (["train", "--learning-rate", "nan"], ["--learning-rate", "finite"]),
    (["train", "--layers", "64,0"], ["--layers", "positive"]),
    (["train", "--layers", "64,x"], ["--layers", "comma-separated integers"]),
    (["train", "--noise", "2", "--dataset", "circle"], ["--noise", "<= 1"]),
    # impossible combinations
    (["train", "--dataset", "digits", "--loss", "mse"], ["--loss", "regression loss",
                                                         "--task regression"]),
    (["train", "--dataset", "iris", "--loss", "binary_crossentropy"],
     ["--loss", "two classes", "iris has 3"]),
    (["train", "--dataset", "spiral", "--loss", "bce", "--output-activation", "softmax"],
     ["--output-activation", "sigmoid"]),
    (["train", "--dataset", "plane", "--task", "classification"],
     ["--task classification", "continuous"]),
    # whole numbers that are a quantity: 214 values in 442 rows made a 214-class problem
    (["train", "--dataset", "diabetes", "--task", "classification"],
     ["--task classification", "214 distinct values", "442 rows", "--task regression"]),
    (["train", "--dataset", "text.csv", "--categorical", "abc"], ["--categorical", "'abc'"]),
    (["train", "--dataset", "good.csv", "--task", "regression"], ["--task regression",
                                                                  "text labels"]),
    (["train", "--dataset", "price.csv"], ["'price'", "'12.5kg'", "row 18", "typo"]),
    (["train", "--dataset", "const.csv"], ["'y'", "one value (7)", "all 40 rows"]),
    (["train", "--dataset", "trailing.csv"], ["column 4 has no name and no value",
                                              "end of every line"]),
    (["train", "--dataset", "price.csv", "--task", "classification"], ["'12.5kg'", "typo"]),
    (["train", "--optimizer", "adam", "--momentum", "0.9"], ["--momentum", "'adam'",
                                                             "beta_1"]),
    (["train", "--optimizer", "sgd", "--nesterov"], ["--optimizer", "nesterov", "momentum"]),
    (["train", "--dataset", "iris", "--noise", "0.1"], ["--noise", "playground", "'iris'"]),
    (["train", "--dataset", "iris", "--target", "species"], ["--target", "CSV"]),
    (["train", "--dataset", "iris", "--augment-rotation", "10"],
     ["--augment-rotation", "images", "--image-shape"]),
    (["train", "--dataset", "digits", "--augment-hflip", "--image-shape", "7,7"],
     ["--image-shape", "49", "64 features"]),
    (["train", "--val", "0", "--monitor", "val_loss"], ["--monitor", "validation", "--val"]),
    (["train", "--dataset", "circle", "--monitor", "val_r2"], ["--monitor", "'val_r2'",
                                                               "val_accuracy"]),
    (["train", "--decay-rate", "0.5"], ["--decay-rate", "constant schedule"]),
    (["train", "--schedule", "plateau", "--warmup-steps", "10"], ["--warmup-steps", "plateau"]),
    (["train", "--schedule", "step", "--decay-rate", "2"], ["--decay-rate", "below 1"]),
    (["train", "--maxout", "1"], ["--maxout", "at least 2"]),
    (["train", "--dataset", "circle", "--maxout", "2", "--activation", "tanh"],
     ["--activation", "Maxout"]),
    (["train", "--dataset", "good.csv", "--samples", "1000"], ["--samples", "1000", "40"]),
    (["train", "--dataset", "good.csv", "--target", "nope"], ["--dataset", "'nope'", "x1"]),
    (["train", "--dataset", "good.csv", "--delimiter", "ab"], ["--delimiter", "'ab'", "tab",
                                                                "single character"]),
    (["train", "--dataset", "iris", "--delimiter", ";"], ["--delimiter", "CSV", "'iris'"]),
    (["predict", "model.safetensors", "two.csv", "--delimiter", "ab"], ["--delimiter", "'ab'"]),
    (["evaluate", "model.safetensors", "--delimiter", ";"], ["--delimiter", "--data"]),
    (["train", "--dataset", "good.csv", "--features", "x1,nope"],
     ["--features", "'nope'", "x1, x2, label"]),
    (["train", "--dataset", "good.csv", "--drop", "label"], ["--drop", "'label'", "target",
                                                             "--target"]),
    (["train", "--dataset", "good.csv", "--features", "x1,label"],
     ["--features", "'label'", "--target"]),
    (["train", "--dataset", "good.csv", "--features", "x1", "--drop", "x2"],
     ["--features and --drop", "not both"]),
    (["train", "--dataset", "good.csv", "--drop", "x1,x2"], ["--drop", "no feature column"]),
    (["train", "--dataset", "good.csv", "--drop", "7"], ["--drop", "7", "out of range"]),
    (["train", "--dataset", "iris", "--features", "x1"], ["--features", "CSV", "'iris'"]),
    # the experiment file
    (["train", "--config", "missing.toml"], ["--config", "missing.toml"]),
    (["train", "--config", "broken.toml"], ["--config", "not valid TOML"]),
    (["train", "--config", "typo.toml"], ["unknown option 'lerning_rate'",
                                          "did you mean 'learning_rate'"]),
    (["train", "--config", "wrongtype.toml"], ["epochs (in", "an integer", '"ten"']),
    # model files and inputs
    (["evaluate", "notamodel.safetensors"], ["MODEL", "not a readable safetensors file"]),
    (["evaluate", "model.safetensors"], ["--data", "no record", "pass --data"]),
    (["evaluate", "model.safetensors", "--data", "good.csv", "--split", "val"], ["--split"]),
    (["evaluate", "model.safetensors", "--data", "three.csv"], ["--data", "label", "3",
                                                                "a, b"]),
    (["summary", "missing.safetensors"], ["MODEL", "no model file"]),
    (["predict", "model.safetensors", "three.csv"], ["INPUT.csv", "3 columns",
                                                     "2 features"]),
    (["predict", "model.safetensors", "missing.csv"], ["INPUT.csv", "cannot read"]),
    (["predict", "model.safetensors", "two.csv", "-o", "no/such/folder/out.csv"],
     ["--output", "cannot write"]),
    (["predict", "model.safetensors", "two.csv", "-o", "model.safetensors"],
     ["--output", "MODEL file", "destroy"]),
    (["predict", "model.safetensors", "two.csv", "-o", "two.csv"], ["--output", "INPUT.csv"]),
    # usage
    (["train", "--no-such-flag"], ["unrecognized arguments: --no-such-flag"]),
    (["predict", "model.safetensors"], ["required", "INPUT.csv"]),
    (["evaluate", "model.safetensors", "--split", "holdout"], ["--split", "invalid choice"]),
]


@pytest.mark.parametrize("args, words", IN_PROCESS_CASES, ids=lambda v: " ".join(v)[:50])
def test_errors_in_process(args, words, files, capsys, monkeypatch):
    monkeypatch.chdir(files)
    try:
        status = main(args)
    except SystemExit as e:  # argparse's own errors
        status = e.code
    out, err = capsys.readouterr()
    assert status == 2
    assert_one_line_error(err, args[0], *words)


def test_no_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("feedforward: error: choose a command: train, evaluate, predict")


def test_debug_shows_the_traceback(files):
    result = ff_cli("train", "--activation", "relux", "--debug", cwd=files)
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "FeedforwardError" in result.stderr


@pytest.mark.parametrize("error, words", [
    (MemoryError("Unable to allocate 3.64 TiB for an array"), ["out of memory", "3.64 TiB"]),
    (OSError(36, "File name too long", "x" * 300), ["File name too long", "'xxx"]),
])
def test_the_system_refusing_is_one_line_not_an_internal_error(error, words, files, capsys,
                                                               monkeypatch):
    """A MemoryError or OSError that a command lets through is what the user asked for not
    fitting this machine: one line, exit status 2 (issue 17)."""
    from feedforward.cli import summary

    def refuse(*args):
        raise error

    monkeypatch.setattr(summary, "describe", refuse)
    assert main(["summary", str(files / "model.safetensors")]) == 2
    assert_one_line_error(capsys.readouterr().err, "summary", *words)


def test_json_output_is_strict_json(capsys):
    import json

    import numpy as np

    from feedforward.cli import common

    common.print_json({"loss": float("inf"), "r2": np.array([1.0, float("nan")])})
    assert json.loads(capsys.readouterr().out, parse_constant=lambda c: 1 / 0) == {
        "loss": None, "r2": [1.0, None]}


def test_a_folder_that_a_live_run_writes_into_is_refused(tmp_path, capsys):
    import fcntl

    out = tmp_path / "run"
    out.mkdir()
    with open(out / ".train.lock", "a+") as held:  # as a live training run holds it
        fcntl.flock(held, fcntl.LOCK_EX)
        for extra in ([], ["--overwrite"]):  # --overwrite mixed the two runs' files
            assert main(["train", "--dataset", "xor", "--epochs", "1", "--out", str(out),
                         "--no-plots", *extra]) == 2
            assert "another training run is writing into" in capsys.readouterr().err
    assert main(["train", "--dataset", "xor", "--epochs", "1", "--out", str(out),
                 "--no-plots", "--quiet"]) == 0  # free once that run has ended
