"""Issue 17: a run folder, a model file's training record and a checkpoint are trusted no more
than typed input, and every file of a run is whole: the right result, or one line with exit 2.

- a model file's record is checked like a --config file; no path named in it is ever opened;
- every file of a run folder is written atomically; a damaged config.toml stops --resume;
- history.csv matches the checkpoint it is resumed from;
- a folder that holds a run is refused unless --overwrite;
- --resume continues --schedule plateau, and every option the run was started with;
- every field of a checkpoint's training state is checked;
- an unwritable --out, a folder in the way and a full disk give one line with exit 2.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import save_file

import feedforward as ff
from feedforward import callbacks
from feedforward.callbacks import Callback, ReduceLROnPlateau
from feedforward.checkpoint import BackupAndRestore
from feedforward.cli.main import main
from feedforward.errors import FeedforwardError
from feedforward.records import RECORD_KEY
from test_checkpoint import Crash, CrashAt, fit, make
from test_checkpoint import callbacks as checkpoint_callbacks

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--dataset", "spiral", "--samples", "200", "--layers", "8", "--quiet", "--seed", "0"]
CHECKPOINT = Path("backup") / BackupAndRestore.FILE


def train(*args) -> int:
    return main(["train", *FAST, *map(str, args)])


def resume(folder) -> int:
    return main(["train", "--resume", str(folder), "--quiet"])


def one_line_error(capsys, command, *words):
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err, err
    assert err.count("\n") == 1 and err.startswith(f"feedforward {command}: error: "), err
    for word in words:
        assert word in err, f"{word!r} not in {err!r}"
    return err


def history_epochs(folder):
    with open(Path(folder) / "history.csv", newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


class Interrupt:
    """Stops `feedforward train` at the end of ``epoch`` as Ctrl-C would: before the epoch's
    checkpoint is written, or just after it. The files are then those a SIGKILL leaves."""

    def __init__(self, monkeypatch, epoch, before_checkpoint=False):
        original = BackupAndRestore.on_epoch_end

        def on_epoch_end(backup, e, logs=None):
            if e == epoch and before_checkpoint:
                raise KeyboardInterrupt
            original(backup, e, logs)
            if e == epoch:
                raise KeyboardInterrupt

        monkeypatch.setattr(BackupAndRestore, "on_epoch_end", on_epoch_end)


def interrupted_run(monkeypatch, folder, epoch, *args, before_checkpoint=False):
    with monkeypatch.context() as m:
        Interrupt(m, epoch, before_checkpoint)
        assert train(*args, "--out", folder) == 130


# ---------------------------------------------------------------------------- item 9: the record
def rewrite_record(path, change):
    """Rewrite the training record of the model file at ``path`` with ``change(record)``
    (which returns the new record, or the JSON text itself)."""
    with safe_open(str(path), framework="numpy") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    record = change(json.loads(meta[RECORD_KEY]))
    meta[RECORD_KEY] = record if isinstance(record, str) else json.dumps(record)
    save_file(tensors, str(path), metadata=meta)


@pytest.fixture(scope="module")
def spiral_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "spiral"
    assert train("--epochs", "3", "--no-plots", "--out", folder) == 0
    return folder


@pytest.fixture
def model_copy(spiral_run, tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes((spiral_run / "model.safetensors").read_bytes())
    return path


def with_config(**values):
    return lambda record: {**record, "config": {**record["config"], **values}}


@pytest.mark.parametrize("change, words", [
    (with_config(samples=3e8), ["samples", "integer"]),
    (with_config(samples=2**70), ["samples", "<="]),
    (with_config(layers="big"), ["layers", "list of integers"]),
    (with_config(dataset=["spiral"]), ["dataset", "string"]),
    (with_config(epochs=-5), ["epochs", ">="]),
    (with_config(optimizer="os.system"), ["optimizer", "unknown"]),
    (with_config(nonsense=1), ["unknown option", "nonsense"]),
    (lambda r: {**r, "epochs": "ten"}, ["epochs", "integer"]),
    (lambda r: {**r, "feature_names": [1, 2]}, ["feature_names"]),
    (lambda r: {**r, "feature_names": ["a", "b", "c"]}, ["feature_names", "2 names"]),
    (lambda r: {**r, "task": 3}, ["task", "string"]),
    (lambda r: {**r, "results": {"test": {"loss": "low"}}}, ["results.test.loss"]),
    (lambda r: {**r, "weights_epoch": 99}, ["weights_epoch"]),
    (lambda r: {**r, "extra": 1}, ["unknown field", "extra"]),
    (lambda r: {**r, "tune": {"trial": 1, "params": {}}}, ["tune", "trial id"]),
    (lambda r: [r], ["expected an object"]),
    (lambda r: "[" * 100_000 + "]" * 100_000, ["not valid JSON"]),
], ids=["samples-float", "samples-huge", "layers", "dataset-list", "epochs-negative",
        "optimizer-name", "unknown-option", "epochs-text", "feature-names-numbers",
        "feature-names-count", "task", "results", "weights-epoch", "unknown-field", "tune", "list",
        "deep-json"])
@pytest.mark.parametrize("command", ["evaluate", "summary", "predict"])
def test_a_bad_training_record_is_refused_naming_the_field(model_copy, tmp_path, capsys,
                                                           command, change, words):
    rewrite_record(model_copy, change)
    rows = tmp_path / "rows.csv"
    rows.write_text("x1,x2\n0.5,0.5\n")
    extra = {"evaluate": [], "summary": [], "predict": [rows]}[command]
    assert main([command, str(model_copy), *map(str, extra)]) == 2
    one_line_error(capsys, command, "MODEL", "training record", *words)


def test_a_recorded_sample_count_too_large_to_generate_is_refused_before_any_allocation(
        model_copy, tmp_path, capsys):
    rewrite_record(model_copy, with_config(samples=300_000_000))
    assert main(["evaluate", str(model_copy)]) == 2
    one_line_error(capsys, "evaluate", "--samples", "at most 1,000,000")
    # a count that generates nothing is no reason to refuse what does not read it
    assert main(["summary", str(model_copy), "--json"]) == 0


def test_a_record_written_by_tune_is_read(model_copy, capsys):
    trial = {"trial": "0003-ab12", "params": {"layers": [16, 8], "learning_rate": 0.01}}
    rewrite_record(model_copy, lambda r: {**r, "tune": trial})
    assert main(["summary", str(model_copy), "--json"]) == 0
    assert main(["evaluate", str(model_copy), "--quiet"]) == 0


def test_evaluate_never_opens_a_path_that_a_model_file_names(model_copy, tmp_path, capsys):
    secret = tmp_path / "secret.csv"
    secret.write_text("TOP-SECRET-LINE,x2,label\n1,2,3\n")
    for dataset in (str(secret), "/etc/passwd", str(tmp_path)):
        rewrite_record(model_copy, with_config(dataset=dataset))
        assert main(["evaluate", str(model_copy)]) == 2
        err = one_line_error(capsys, "evaluate", "--data", "never opened")
        assert "TOP-SECRET" not in err and "root:" not in err
    # the user names the data: then it is read
    assert main(["evaluate", str(model_copy), "--data", "spiral", "--quiet"]) == 0


def test_evaluate_takes_the_runs_split_only_from_the_very_file_it_trained_on(tmp_path, capsys):
    x, y = ff.data.playground.get("spiral")(200, 0.0, np.random.default_rng(0))
    data = tmp_path / "spiral.csv"
    rows = "".join(f"{a},{b},{c}\n" for (a, b), c in zip(x, y, strict=True))
    data.write_text("x1,x2,label\n" + rows)
    run = tmp_path / "run"
    assert train("--dataset", str(data), "--samples", "0", "--out", str(run)) == 0
    model = str(run / "model.safetensors")
    capsys.readouterr()
    assert main(["evaluate", model, "--data", str(data), "--split", "test", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    metrics = json.loads((run / "metrics.json").read_text())
    assert report["split"] == "test" and report["metrics"] == metrics["test"]
    assert report["samples"] == metrics["samples"]["test"]
    # one changed cell: the split would be a different one, so it is refused
    edited = tmp_path / "edited.csv"
    edited.write_text(data.read_text().replace(f"{x[0, 0]},", "0.5,", 1))
    assert main(["evaluate", model, "--data", str(edited), "--split", "test"]) == 2
    one_line_error(capsys, "evaluate", "--split", "SHA-256 differs")
    # without --split, every row of the given file
    assert main(["evaluate", model, "--data", str(edited), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["samples"] == 200


def test_evaluate_rebuilds_a_builtin_dataset_from_the_record(spiral_run, capsys):
    capsys.readouterr()
    assert main(["evaluate", str(spiral_run / "model.safetensors"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    metrics = json.loads((spiral_run / "metrics.json").read_text())
    assert report["split"] == "test" and report["metrics"] == metrics["test"]


# ---------------------------------------------------------------------------- item 14: atomic
def _file_size_limit(limit):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def train_with_full_disk(folder, limit, *args):
    """`feedforward train` in a process that cannot write past ``limit`` bytes of a file: a
    write stops part-way, as on a full disk."""
    return subprocess.run([sys.executable, "-m", "feedforward.cli", "train", *FAST, *args,
                           "--out", str(folder)], capture_output=True, text=True, timeout=120,
                          preexec_fn=_file_size_limit(limit))


def no_partial_files(folder):
    names = [p.name for p in Path(folder).rglob("*")]
    assert not [n for n in names if n.endswith(".tmp")], names


def test_a_full_disk_leaves_no_part_of_config_toml(tmp_path):
    result = train_with_full_disk(tmp_path / "run", 1000, "--epochs", "3")
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "config.toml" in result.stderr
    assert "internal error" not in result.stderr
    assert not (tmp_path / "run" / "config.toml").exists()  # never 1 KB of it
    no_partial_files(tmp_path / "run")


def test_a_full_disk_mid_run_keeps_whole_files_and_the_run_resumes(tmp_path):
    reference = tmp_path / "reference"
    assert train("--epochs", "4", "--no-plots", "--out", reference) == 0
    config_size = (reference / "config.toml").stat().st_size
    run = tmp_path / "run"
    # config.toml and history.csv fit; the first checkpoint (a model file) does not
    result = train_with_full_disk(run, config_size + 200, "--epochs", "4", "--no-plots")
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "File too large" in result.stderr and "internal error" not in result.stderr
    assert (run / "config.toml").read_bytes() == (reference / "config.toml").read_bytes()
    assert history_epochs(run) == [0]
    no_partial_files(run)
    assert resume(run) == 0  # nothing was checkpointed: from the start, with its options
    assert (run / "history.csv").read_text() == (reference / "history.csv").read_text()
    assert np.array_equal(ff.load_model(run / "model.safetensors").params,
                          ff.load_model(reference / "model.safetensors").params)


@pytest.mark.parametrize("damage", ["truncated", "not-toml", "edited"])
def test_resume_refuses_a_damaged_config_toml(tmp_path, monkeypatch, capsys, damage):
    run = tmp_path / "run"
    interrupted_run(monkeypatch, run, 1, "--epochs", "50", "--no-plots")
    text = (run / "config.toml").read_text()
    (run / "config.toml").write_text({
        "truncated": text[:len(text) // 3].rsplit("\n", 1)[0] + "\n",
        "not-toml": text[:len(text) // 3] + "lay",
        "edited": text.replace("epochs = 50", "epochs = 60")}[damage])
    capsys.readouterr()
    assert resume(run) == 2
    one_line_error(capsys, "train", "--resume", "config.toml")
    assert history_epochs(run) == [0, 1]  # nothing trained


def test_temporary_files_of_writes_a_kill_cut_short_are_removed(tmp_path, monkeypatch):
    run = tmp_path / "run"
    interrupted_run(monkeypatch, run, 0, "--epochs", "2", "--no-plots")
    (run / ".history.csv.k1ll3d.tmp").write_bytes(b"epoch,lo")
    (run / "backup" / ".checkpoint.safetensors.k1ll3d.tmp").write_bytes(b"\x00" * 10)
    (run / ".notes.tmp").write_text("not the run's")
    assert resume(run) == 0
    assert {p.name for p in run.rglob("*")} == {"config.toml", "history.csv", "metrics.json",
                                                "model.safetensors", ".notes.tmp"}


def test_history_writer_replaces_a_link_instead_of_following_it(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me\n")
    link = tmp_path / "history.csv"
    link.symlink_to(outside)
    model = ff.Sequential([ff.layers.Dense(1)], input_dim=2, seed=0)
    model.compile("sgd", "mse")
    model.fit(np.ones((8, 2)), np.ones(8), epochs=2, verbose=0,
              callbacks=[callbacks.CSVLogger(link)])
    assert outside.read_text() == "keep me\n"
    assert not link.is_symlink() and history_epochs(tmp_path) == [0, 1]


# ---------------------------------------------------------------------------- item 15: history
@pytest.mark.parametrize("epoch, before_checkpoint", [(0, True), (1, False), (2, True)],
                         ids=["before-the-first-checkpoint", "after-a-checkpoint",
                              "before-a-later-checkpoint"])
def test_resumed_history_matches_an_uninterrupted_run(tmp_path, monkeypatch, epoch,
                                                      before_checkpoint):
    args = ["--epochs", "5", "--no-early-stopping", "--no-plots"]
    reference = tmp_path / "reference"
    assert train(*args, "--out", reference) == 0
    run = tmp_path / "run"
    interrupted_run(monkeypatch, run, epoch, *args, before_checkpoint=before_checkpoint)
    assert history_epochs(run) == list(range(epoch + 1))  # the row before the checkpoint
    assert resume(run) == 0
    assert history_epochs(run) == [0, 1, 2, 3, 4]
    assert (run / "history.csv").read_text() == (reference / "history.csv").read_text()


# ---------------------------------------------------------------------------- item 16: overwrite
def test_a_folder_holding_a_run_is_refused_unless_overwrite(tmp_path, capsys):
    good = tmp_path / "good"
    assert train("--epochs", "2", "--doctor", "--out", good) == 0
    before = {p.name: p.read_bytes() for p in good.iterdir()}
    assert {"monitor.json", "accuracy.png", "model.safetensors"} <= set(before)
    capsys.readouterr()
    # a diverging re-run must not touch the good run
    assert train("--epochs", "2", "--learning-rate", "1e6", "--out", good) == 2
    one_line_error(capsys, "train", "--out", "finished run", "--overwrite")
    assert {p.name: p.read_bytes() for p in good.iterdir()} == before
    # asked for: the old run's files go first, so none of them is left beside the new ones
    assert train("--epochs", "1", "--no-plots", "--out", good, "--overwrite") == 0
    assert {p.name for p in good.iterdir()} == {"config.toml", "history.csv", "metrics.json",
                                                "model.safetensors"}
    assert history_epochs(good) == [0]


def test_an_unfinished_run_is_refused_with_resume_as_the_remedy(tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    interrupted_run(monkeypatch, run, 0, "--epochs", "5", "--no-plots")
    capsys.readouterr()
    assert train("--epochs", "5", "--no-plots", "--out", run) == 2
    one_line_error(capsys, "train", "unfinished run", "--resume", "--overwrite")
    assert train("--epochs", "2", "--no-plots", "--out", run, "--overwrite") == 0
    assert not (run / "backup").exists() and history_epochs(run) == [0, 1]


def test_make_demo_runs_on_a_fresh_folder_and_again(tmp_path, monkeypatch):
    recipe = (ROOT / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n")[1]
    argv = shlex.split(recipe)
    assert Path(argv[0]).name == "feedforward" and argv[1] == "train"
    monkeypatch.chdir(tmp_path)
    fast = ["--epochs", "1", "--layers", "4", "--no-plots", "--quiet"]  # only faster
    for _ in range(2):
        assert main([*argv[1:], *fast]) == 0
    assert history_epochs(tmp_path / "runs" / "demo") == [0]


# ---------------------------------------------------------------------------- item 17: plateau
@pytest.fixture(scope="module")
def data():
    """The points of test_checkpoint's runs (XOR of two signs), for its fit and make."""
    x = np.random.default_rng(0).normal(size=(200, 5)).astype("float32")
    return x, (x[:, 0] * x[:, 1] > 0).astype(int)


def plateau_model():
    model = ff.Sequential([ff.layers.Dense(16, activation="relu"),
                           ff.layers.Dense(2, activation="softmax")], seed=3)
    model.compile(ff.optimizers.SGD(0.5), "categorical_crossentropy", ["accuracy"])
    return model


def plateau_fit(model, data, extra):
    plateau = ReduceLROnPlateau(patience=0, factor=0.5, min_delta=0.05)
    return model.fit(*data, epochs=10, batch_size=32, validation_split=0.2, verbose=0,
                     callbacks=[*extra, plateau])


def test_api_resumes_after_reduce_lr_on_plateau_lowered_the_rate(data, tmp_path):
    reference = plateau_model()
    rates = plateau_fit(reference, data, []).history["learning_rate"]
    assert rates[5] < rates[0]  # lowered before the checkpoint
    crashed = plateau_model()
    with pytest.raises(Crash):  # in epoch 7 (5 steps each): the checkpoint is of epoch 6
        plateau_fit(crashed, data, [CrashAt(33), BackupAndRestore(tmp_path)])
    resumed = plateau_model()  # compiled with the rate the run started from
    history = plateau_fit(resumed, data, [BackupAndRestore(tmp_path)])
    assert history.history["learning_rate"] == rates
    assert resumed.optimizer.learning_rate == reference.optimizer.learning_rate
    assert np.array_equal(resumed.params, reference.params)


def test_cli_resumes_a_plateau_schedule_that_lowered_the_rate(tmp_path, monkeypatch):
    args = ["--epochs", "12", "--schedule", "plateau", "--patience", "2",
            "--learning-rate", "0.05", "--no-early-stopping", "--no-plots"]
    reference = tmp_path / "reference"
    assert train(*args, "--out", reference) == 0
    with open(reference / "history.csv", newline="") as f:
        rates = [float(row["learning_rate"]) for row in csv.DictReader(f)]
    assert rates[7] < rates[0]  # lowered before the interruption
    run = tmp_path / "run"
    interrupted_run(monkeypatch, run, 7, *args)
    assert resume(run) == 0
    assert (run / "history.csv").read_text() == (reference / "history.csv").read_text()
    assert np.array_equal(ff.load_model(run / "model.safetensors").params,
                          ff.load_model(reference / "model.safetensors").params)


# ---------------------------------------------------------------------------- item 18: options
def test_resume_keeps_every_option_the_run_was_started_with(tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    interrupted_run(monkeypatch, run, 1, "--epochs", "4", "--no-plots", "--doctor",
                    "--checkpoint-every", "3")
    seen = []
    original = BackupAndRestore.__init__

    def spy(backup, backup_dir, save_freq="epoch", delete_checkpoint=True):
        seen.append(save_freq)
        original(backup, backup_dir, save_freq, delete_checkpoint)

    monkeypatch.setattr(BackupAndRestore, "__init__", spy)
    assert resume(run) == 0
    assert seen == [3]
    names = {p.name for p in run.iterdir()}
    assert "monitor.json" in names and not [n for n in names if n.endswith(".png")], names
    # an option given with --resume would make another run: refused
    interrupted_run(monkeypatch, tmp_path / "again", 0, "--epochs", "4")
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "again"), "--no-plots"]) == 2
    one_line_error(capsys, "train", "--resume", "--plots")
    assert main(["train", "--resume", str(tmp_path / "again"), "--epochs", "9"]) == 2
    one_line_error(capsys, "train", "--resume", "--epochs")


# ---------------------------------------------------------------------------- item 19: tampering
def small_callbacks(folder):
    return checkpoint_callbacks(folder, save_freq=3)


@pytest.fixture(scope="module")
def saved_checkpoint(data, tmp_path_factory):
    """A mid-epoch checkpoint (step 9, in the second epoch of 5 steps) and its history."""
    folder = tmp_path_factory.mktemp("checkpoint")
    with pytest.raises(Crash):
        fit(make(), data, [CrashAt(10), *small_callbacks(folder)])
    return folder


def _place(saved, folder):
    """The saved checkpoint and the history it follows, copied into ``folder``."""
    (folder / "h.csv").write_bytes((saved / "h.csv").read_bytes())
    path = folder / "backup" / BackupAndRestore.FILE
    path.parent.mkdir()
    path.write_bytes((saved / "backup" / BackupAndRestore.FILE).read_bytes())
    return path


def _state(change):
    def apply(meta, tensors):
        state = json.loads(meta["training_state"])
        change(state)
        meta["training_state"] = json.dumps(state)
    return apply


def _set(*keys, value):
    def change(state):
        for key in keys[:-1]:
            state = state[key]
        state[keys[-1]] = value
    return _state(change)


def _optimizer_state(meta, tensors):
    meta["optimizer_state"] = json.dumps({"iterations": -4})


def _nan_weight(meta, tensors):
    tensors["layers.0.kernel"][0, 0] = np.nan


TAMPERING = {
    "negative-learning-rate": (_set("learning_rate", value=-0.01), "learning_rate"),
    "text-learning-rate": (_set("learning_rate", value="fast"), "learning_rate"),
    "negative-epoch": (_set("epoch", value=-250), "epoch"),
    "epoch-beyond-the-fit": (_set("epoch", value=355), "epoch"),
    "batch-beyond-the-epoch": (_set("batch", value=99), "batch"),
    "negative-seen": (_set("seen", value=-1), "seen"),
    "nan-total": (_set("total", value=float("nan")), "total"),
    "stopped-text": (_set("stopped", value="yes"), "stopped"),
    "unknown-field": (_set("hack", value=1), "training_state"),
    "rngs-missing": (_set("rngs", value={}), "rngs"),
    "rng-garbage": (_set("rngs", "shuffle", value={"bit_generator": "PCG64"}), "rngs.shuffle"),
    "callbacks-not-a-list": (_set("callbacks", value="none"), "callbacks"),
    "early-stopping-wait": (_set("callbacks", 0, "wait", value=-3), "EarlyStopping: wait"),
    "early-stopping-best": (_set("callbacks", 0, "best", value="low"), "EarlyStopping: best"),
    "plateau-cooldown": (_set("callbacks", 1, "cooldown_left", value=5),
                         "ReduceLROnPlateau: cooldown_left"),
    "csv-rows": (_set("callbacks", 2, "rows", value=-1), "CSVLogger: rows"),
    "history-epochs": (_set("callbacks", 3, "epoch", value=["x"]), "History"),
    "optimizer-iterations": (_optimizer_state, "optimizer_state.iterations"),
    "nan-weight": (_nan_weight, "layers.0.kernel"),
}


@pytest.mark.parametrize("name", TAMPERING)
def test_a_tampered_checkpoint_is_refused_naming_the_field(data, saved_checkpoint, tmp_path,
                                                           name):
    change, field = TAMPERING[name]
    path = _place(saved_checkpoint, tmp_path)
    with safe_open(str(path), framework="numpy") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    change(meta, tensors)
    save_file(tensors, str(path), metadata=meta)
    with pytest.raises(FeedforwardError) as error:
        fit(make(), data, small_callbacks(tmp_path))
    assert field in str(error.value) and str(path) in str(error.value)


def test_the_untampered_checkpoint_resumes(data, saved_checkpoint, tmp_path):
    _place(saved_checkpoint, tmp_path)
    (tmp_path / "ref").mkdir()
    reference = make()
    fit(reference, data, small_callbacks(tmp_path / "ref")[:3])
    resumed = make()
    fit(resumed, data, small_callbacks(tmp_path))
    assert np.array_equal(resumed.params, reference.params)


class CrashAtEpochEnd(Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise Crash


def test_a_checkpoint_after_the_last_step_of_an_epoch_resumes(data, tmp_path):
    """Saved every 5 steps, 5 steps an epoch: the last one is written after the epoch's last
    step and before its end, the position batch == steps, which a resumed fit accepts."""
    (tmp_path / "ref").mkdir()
    reference = make()
    fit(reference, data, checkpoint_callbacks(tmp_path / "ref", 5)[:3])
    with pytest.raises(Crash):
        fit(make(), data, [CrashAtEpochEnd(), *checkpoint_callbacks(tmp_path, 5)])
    resumed = make()
    fit(resumed, data, checkpoint_callbacks(tmp_path, 5))
    assert np.array_equal(resumed.params, reference.params)
    assert (tmp_path / "h.csv").read_text() == (tmp_path / "ref" / "h.csv").read_text()


def test_cli_refuses_a_tampered_checkpoint_in_one_line(tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    interrupted_run(monkeypatch, run, 1, "--epochs", "5", "--no-plots")
    path = run / CHECKPOINT
    with safe_open(str(path), framework="numpy") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    _set("learning_rate", value=-0.001)(meta, tensors)
    save_file(tensors, str(path), metadata=meta)
    capsys.readouterr()
    assert resume(run) == 2
    one_line_error(capsys, "train", "learning_rate")


# ---------------------------------------------------------------------------- item 20: outputs
@pytest.mark.parametrize("name", ["config.toml", "metrics.json", "history.csv",
                                  "model.safetensors"])
def test_a_folder_where_a_run_file_goes_is_one_line(tmp_path, capsys, name):
    run = tmp_path / "run"
    (run / name).mkdir(parents=True)
    assert train("--epochs", "2", "--no-plots", "--out", run) == 2
    one_line_error(capsys, "train", "--out", name, "is a folder")
    assert {p.name for p in run.iterdir()} == {name}  # refused before anything was written


def test_an_unwritable_out_is_one_line(tmp_path, monkeypatch, capsys):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("feedforward.fileio.tempfile.mkstemp", refuse)
    run = tmp_path / "run"
    assert train("--epochs", "2", "--no-plots", "--out", run) == 2
    one_line_error(capsys, "train", "--out", "Permission denied")
    assert not list(run.iterdir())
    file = tmp_path / "a-file"
    file.write_text("")
    assert train("--epochs", "2", "--no-plots", "--out", file / "run") == 2
    one_line_error(capsys, "train", "--out")


def test_a_full_disk_at_the_end_is_one_line_and_the_run_can_resume(tmp_path, monkeypatch,
                                                                   capsys):
    original = os.fsync

    def full_at_the_model(fd):
        if Path(os.readlink(f"/proc/self/fd/{fd}")).name.startswith(".model.safetensors"):
            raise OSError(28, "No space left on device")
        original(fd)

    monkeypatch.setattr("feedforward.fileio.os.fsync", full_at_the_model)
    run = tmp_path / "run"
    assert train("--epochs", "2", "--no-plots", "--out", run) == 2
    one_line_error(capsys, "train", "No space left on device")
    assert not (run / "model.safetensors").exists() and (run / CHECKPOINT).exists()
    no_partial_files(run)
    monkeypatch.setattr("feedforward.fileio.os.fsync", original)
    assert resume(run) == 0 and (run / "model.safetensors").exists()


def test_history_rows_are_appended_not_the_file_rewritten_each_epoch(tmp_path, monkeypatch):
    """A rewrite per epoch costs time that grows with the square of the epochs (8,000 epochs of
    a tiny model: 0.75 s became 6.2 s); the file is written whole only at the start."""
    writes = []
    real = callbacks.atomic_write
    monkeypatch.setattr(callbacks, "atomic_write",
                        lambda *a, **k: writes.append(a) or real(*a, **k))
    x = np.random.default_rng(0).normal(size=(16, 2))
    model = ff.Sequential([ff.Dense(2, activation="softmax")], input_dim=2, seed=0)
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    path = tmp_path / "history.csv"
    model.fit(x, (x[:, 0] > 0).astype(int), epochs=50, verbose=0,
              callbacks=[callbacks.CSVLogger(path)])
    assert len(writes) == 1
    rows = list(csv.reader(path.open()))
    assert rows[0][0] == "epoch" and [int(r[0]) for r in rows[1:]] == list(range(50))
