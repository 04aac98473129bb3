"""Files whose first row could be names or data, the names ``predict -o`` accepts, and the
learning rate of a cross-validated tune's refit."""

from __future__ import annotations

import json

import numpy as np
import pytest

import feedforward as ff
from feedforward.cli import main
from test_trust_runs import interrupted_run, one_line_error, resume


@pytest.fixture(scope="module")
def numeric_run(tmp_path_factory):
    """A classifier trained with ``--header`` on a file whose feature names are 1, 2, 3."""
    folder = tmp_path_factory.mktemp("numeric")
    rows = "".join(f"{i % 3 + 1},{(i * 2) % 3 + 1},{(i // 3) % 3 + 1},{i % 2}\n"
                   for i in range(40))
    (folder / "train.csv").write_text("1,2,3,y\n" + rows)
    assert main(["train", "-d", str(folder / "train.csv"), "--header", "--target", "y",
                 "--epochs", "2", "--quiet", "--no-plots", "--out", str(folder / "run")]) == 0
    return folder


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson", ".xlsx", ".feather", ".pkl", ".npy",
                                    ".tar", ".gz"])
def test_predict_output_refuses_a_name_of_a_format_it_does_not_write(numeric_run, suffix,
                                                                      capsys):
    out = numeric_run / f"p{suffix}"
    (numeric_run / "rows.csv").write_text("1,2,3\n1,1,2\n")
    assert main(["predict", str(numeric_run / "run" / "model.safetensors"),
                 str(numeric_run / "rows.csv"), "-o", str(out)]) == 2
    error = capsys.readouterr().err
    assert "--output" in error and suffix in error and ".csv" in error and ".json" in error
    assert not out.exists()


@pytest.mark.parametrize("name", ["p.txt", "p.CSV", "p"])
def test_predict_output_writes_csv_for_text_names(numeric_run, name):
    out = numeric_run / name
    (numeric_run / "rows.csv").write_text("1,2,3\n1,1,2\n")
    assert main(["predict", str(numeric_run / "run" / "model.safetensors"),
                 str(numeric_run / "rows.csv"), "-o", str(out), "--quiet"]) == 0
    assert out.read_text().splitlines()[0].split(",")[0] == "prediction"


def test_a_first_row_of_the_models_numeric_names_in_another_order_is_ambiguous(numeric_run,
                                                                               capsys):
    model = str(numeric_run / "run" / "model.safetensors")
    shuffled = numeric_run / "shuffled.csv"  # no header: its first data row is 3, 1, 2
    shuffled.write_text("3,1,2\n3,1,3\n1,2,2\n2,2,2\n")
    assert main(["predict", model, str(shuffled)]) == 2
    error = capsys.readouterr().err
    assert "--header/--no-header" in error and "(3, 1, 2)" in error and "order" in error
    assert main(["predict", model, str(shuffled), "--no-header", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 4
    # the names in the model's order, as its own training file has them: a header
    (numeric_run / "named.csv").write_text("1,2,3\n3,1,2\n3,1,3\n")
    assert main(["predict", model, str(numeric_run / "named.csv"), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2


@pytest.fixture()
def shuffled_header(tmp_path):
    """``df[[2, 0, 1, 3]].to_csv(index=False)`` of a frame with integer labels."""
    rng = np.random.default_rng(0)
    path = tmp_path / "num.csv"
    path.write_text("2,0,1,3\n" + "".join(
        f"{a:.4f},{b:.4f},{c:.4f},{int(a > 0)}\n" for a, b, c in rng.normal(size=(30, 3))))
    return path


@pytest.mark.parametrize("flags", [["--target", "3"], ["--features", "0,2"],
                                   ["--drop", "1"]])
def test_a_number_chosen_among_a_first_row_of_distinct_whole_numbers_is_ambiguous(
        shuffled_header, flags, capsys):
    assert main(["train", "--dataset", str(shuffled_header), *flags, "--epochs", "1",
                 "--no-plots", "--out", str(shuffled_header.parent / "run")]) == 2
    error = capsys.readouterr().err
    assert "--header/--no-header" in error and "(2, 0, 1, 3)" in error
    assert f"name:{flags[1][0]}" in error and not (shuffled_header.parent / "run").exists()


def test_name_and_index_prefixes_say_which_reading_of_such_a_row(shuffled_header):
    read = ff.data.tabular.read_table
    assert read(shuffled_header, names=["3"], target="name:3").has_header
    assert not read(shuffled_header, target="index:3").has_header
    assert not read(shuffled_header, target=3, header=False).has_header
    # a row that repeats a number is no header: data, as before
    repeated = shuffled_header.parent / "rep.csv"
    repeated.write_text("2,0,2,3\n1,1,1,0\n")
    assert len(read(repeated, target=3)) == 2


def test_resume_refuses_a_history_of_other_columns_in_the_command_lines_words(
        tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    interrupted_run(monkeypatch, run, 2, "--epochs", "4", "--no-plots")
    history = run / "history.csv"
    lines = history.read_text().splitlines(keepends=True)
    history.write_text(lines[0].replace("loss", "cost", 1) + "".join(lines[1:]))
    capsys.readouterr()
    assert resume(run) == 2
    err = one_line_error(capsys, "train", "--resume", "history.csv", "without --resume")
    assert "append=False" not in err and "filename" not in err


def test_an_ambiguous_number_in_a_toml_file_names_its_key_and_no_positions(tmp_path, capsys):
    (tmp_path / "num.csv").write_text("a,2,b,t\n" + "".join(
        f"{i},{i % 3},{i * 2},{i % 2}\n" for i in range(20)))
    (tmp_path / "run.toml").write_text('dataset = "num.csv"\ntarget = "t"\nfeatures = [2]\n')
    assert main(["train", "--config", str(tmp_path / "run.toml"), "--out",
                 str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "features (in " in err and "--features" not in err
    assert "name of one column and the 0-based index of another, 'b'" in err


def _tiny(callback):
    model = ff.Sequential([ff.Input((3,)), ff.Dense(1)], seed=0)
    model.compile(ff.optimizers.SGD(0.01), "mse")
    x, y = np.random.default_rng(0).random((8, 3)), np.random.default_rng(1).random(8)
    return model.fit(x, y, epochs=3, verbose=0, callbacks=[callback])


def test_early_stopping_after_one_epoch_says_one_epoch(capsys):
    _tiny(ff.callbacks.EarlyStopping(monitor="loss", patience=1, min_delta=10.0, verbose=1))
    assert capsys.readouterr().out.splitlines() == [
        "epoch 2: early stopping (loss did not improve for 1 epoch)"]


def test_a_numpy_ufunc_is_a_schedule_of_the_epoch_alone():
    # np.exp(epoch, lr) would take lr for its output array: a bare TypeError from inside fit
    history = _tiny(ff.callbacks.LearningRateScheduler(np.exp))
    assert np.allclose(history.history["learning_rate"], np.exp(np.arange(3)))


def test_train_on_batch_takes_class_weight_as_the_matching_sample_weight():
    x = np.random.default_rng(0).random((6, 3))
    y = np.array([0, 1, 1, 0, 1, 1])
    losses = []
    for weights in ({"class_weight": {0: 3.0}}, {"sample_weight": np.where(y == 0, 3.0, 1.0)}):
        model = ff.Sequential([ff.Input((3,)), ff.Dense(2, activation="softmax")], seed=0)
        model.compile("sgd", "sparse_categorical_crossentropy")
        losses.append([model.train_on_batch(x, y, **weights) for _ in range(2)])
    assert losses[0] == losses[1]
    with pytest.raises(ff.FeedforwardError, match="class_weight: expected a dict"):
        model.train_on_batch(x, y, class_weight=[3.0, 1.0])
    # one of the two, as fit takes them
    with pytest.raises(ff.FeedforwardError, match="cannot be combined with sample_weight"):
        model.train_on_batch(x, y, class_weight={0: 3.0}, sample_weight=np.ones(6))
