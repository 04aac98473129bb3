"""A resumed run is the run that was never interrupted, or it is refused: its history, its
training time and its doctor's report cover every epoch; --overwrite removes only the files
a run writes.
"""

from __future__ import annotations

import json
import time

import pytest
from safetensors import safe_open
from safetensors.numpy import save_file

from feedforward.cli import train as train_cli
from feedforward.cli.main import main
from test_trust_runs import (
    CHECKPOINT,
    FAST,
    history_epochs,
    interrupted_run,
    one_line_error,
    resume,
)


# ---------------------------------------------------------------------------- history.csv
@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_resume_refuses_a_history_that_lacks_epochs_of_the_checkpoint(tmp_path, monkeypatch,
                                                                       capsys, damage):
    run = tmp_path / "run"
    interrupted_run(monkeypatch, run, 2, "--epochs", "5", "--no-plots")
    history = run / "history.csv"
    kept = history.read_text()
    if damage == "missing":
        history.unlink()
    else:  # the header and epoch 0: epochs 1 and 2 gone
        history.write_text("".join(kept.splitlines(keepends=True)[:2]))
    capsys.readouterr()
    assert resume(run) == 2
    one_line_error(capsys, "train", "history.csv", "3 epochs")
    # refused before anything was written: with the file back, the run goes on
    history.write_text(kept)
    assert resume(run) == 0
    assert history_epochs(run) == [0, 1, 2, 3, 4]


# ---------------------------------------------------------------------------- train_seconds
def test_train_seconds_add_up_every_session_of_a_resumed_run(tmp_path, monkeypatch):
    """The interrupted session runs on a clock a thousand seconds a reading, the resumed one
    on the real clock: only a sum of the two reaches 1000 s."""
    run = tmp_path / "run"
    readings = iter(range(1, 10**6))
    with monkeypatch.context() as m:
        m.setattr(time, "perf_counter", lambda: 1000.0 * next(readings))
        interrupted_run(monkeypatch, run, 2, "--epochs", "5", "--no-plots")
    before = checkpoint_state(run)["seconds"]
    assert before >= 1000
    assert resume(run) == 0
    seconds = json.loads((run / "metrics.json").read_text())["train_seconds"]
    assert before <= seconds < before + 1000


def checkpoint_state(run):
    with safe_open(str(run / CHECKPOINT), framework="numpy") as f:
        return json.loads(f.metadata()["training_state"])


@pytest.mark.parametrize("value", [-1, "long", float("inf")])
def test_a_checkpoint_with_damaged_seconds_is_refused(tmp_path, monkeypatch, capsys, value):
    run = tmp_path / "run"
    interrupted_run(monkeypatch, run, 1, "--epochs", "3", "--no-plots")
    path = run / CHECKPOINT
    with safe_open(str(path), framework="numpy") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    meta["training_state"] = json.dumps({**checkpoint_state(run), "seconds": value})
    save_file(tensors, str(path), metadata=meta)
    capsys.readouterr()
    assert resume(run) == 2
    one_line_error(capsys, "train", "training_state.seconds")


# ---------------------------------------------------------------------------- --doctor
def test_a_resumed_doctor_says_which_epochs_it_watched(tmp_path, monkeypatch, capsys):
    """The doctor's records are not in the checkpoint: after a resume its summary and
    monitor.json name the epochs it watched, and never claim initialization."""
    run = tmp_path / "run"
    interrupted_run(monkeypatch, run, 2, "--epochs", "5", "--no-plots", "--doctor")
    capsys.readouterr()
    assert main(["train", "--resume", str(run)]) == 0
    summary = [line for line in capsys.readouterr().out.splitlines()
               if line.startswith("doctor: checked")]
    assert len(summary) == 1 and "over epochs 4 to 5 only" in summary[0], summary
    assert "at initialization" not in summary[0]
    monitor = json.loads((run / "monitor.json").read_text())
    assert monitor["resumed_at"] == 3
    assert [r["epoch"] for r in monitor["records"]] == [3, 4]


# ---------------------------------------------------------------------------- --overwrite
def test_overwrite_keeps_pngs_named_after_a_foreign_historys_columns(tmp_path, capsys):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "config.toml").write_text("[tool.x]\n")
    (folder / "history.csv").write_text("epoch,vacation,family,accuracy\n")
    for name in ("vacation.png", "family.png", "notes.txt"):
        (folder / name).write_text("the user's\n")
    (folder / "accuracy.png").write_text("a run's plot\n")
    args = ["train", *FAST, "--epochs", "1", "--no-plots", "--out", str(folder)]
    assert main(args) == 2  # no run.json: nothing to resume, so --resume is not advised
    err = one_line_error(capsys, "train", "--overwrite", "cannot be resumed")
    assert "--resume" not in err
    assert main([*args, "--overwrite"]) == 0
    kept = {p.name for p in folder.iterdir()}
    assert {"vacation.png", "family.png", "notes.txt"} <= kept
    assert "accuracy.png" not in kept  # a plot a run writes is the run's


# ---------------------------------------------------------------------------- finished runs
def test_a_run_killed_while_its_backup_was_removed_is_finished_for_every_command(
        tmp_path, capsys):
    """The checkpoint goes first, then run.json: a kill between leaves a finished run."""
    run = tmp_path / "run"
    assert main(["train", *FAST, "--epochs", "1", "--no-plots", "--out", str(run)]) == 0
    (run / "backup").mkdir()
    (run / "backup" / "run.json").write_text("{}")
    capsys.readouterr()
    assert main(["train", *FAST, "--epochs", "1", "--no-plots", "--out", str(run)]) == 2
    one_line_error(capsys, "train", "a finished run", "--overwrite")
    assert resume(run) == 2
    one_line_error(capsys, "train", "has finished")


def test_a_run_that_finishes_while_resume_loads_its_data_is_not_trained_again(
        tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    interrupted_run(monkeypatch, run, 1, "--epochs", "3", "--no-plots")
    model = run / "model.safetensors"
    load = train_cli.load

    def load_then_finish(args):  # the interrupted run, still alive, ends meanwhile
        loaded = load(args)
        (run / CHECKPOINT).unlink()
        model.write_bytes(b"the finished run's model")
        return loaded

    monkeypatch.setattr(train_cli, "load", load_then_finish)
    capsys.readouterr()
    assert resume(run) == 2
    one_line_error(capsys, "train", "has finished")
    assert model.read_bytes() == b"the finished run's model"


# ---------------------------------------------------------------------------- messages
@pytest.mark.parametrize("out", ["afile", "afile/run"])
def test_out_naming_a_file_says_it_is_a_file(tmp_path, monkeypatch, capsys, out):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("not a folder\n")
    assert main(["train", *FAST, "--epochs", "1", "--no-plots", "--out", out]) == 2
    one_line_error(capsys, "train", "--out", "'afile' is a file")


def test_evaluate_and_summary_of_an_unfinished_run_point_to_resume(tmp_path, monkeypatch,
                                                                    capsys):
    run = tmp_path / "run"
    interrupted_run(monkeypatch, run, 0, "--epochs", "3", "--no-plots")
    capsys.readouterr()
    assert main(["evaluate", str(run / CHECKPOINT)]) == 2
    one_line_error(capsys, "evaluate", "training checkpoint", f"--resume {run}")
    for command in ("evaluate", "summary"):
        assert main([command, str(run)]) == 2
        one_line_error(capsys, command, "it is a folder", f"--resume {run}")
    assert resume(run) == 0
    assert main(["summary", str(run)]) == 2
    one_line_error(capsys, "summary", str(run / "model.safetensors"))


@pytest.mark.parametrize("key", ["out", "plots", "doctor", "checkpoint_every"])
def test_a_command_line_flag_in_a_config_file_is_named_as_such(tmp_path, capsys, key):
    path = tmp_path / "run.toml"
    path.write_text(f"{key} = 1\n")
    assert main(["train", "--config", str(path)]) == 2
    err = one_line_error(capsys, "train", f"'{key}'", "command line", f"--{key.replace('_', '-')}")
    assert "did you mean" not in err


def test_a_config_file_with_a_byte_order_mark_is_told_so(tmp_path, capsys):
    path = tmp_path / "run.toml"
    path.write_bytes(b"\xef\xbb\xbfepochs = 3\n")
    assert main(["train", "--config", str(path)]) == 2
    one_line_error(capsys, "train", "--config", "byte order mark")
