"""Crash-safe training: BackupAndRestore resumes bit-identically, mid-epoch included, from the
Python API and from `feedforward train --resume`, after crashes and after SIGKILL."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import feedforward as ff
from feedforward.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    ReduceLROnPlateau,
)
from feedforward.checkpoint import BackupAndRestore
from feedforward.errors import FeedforwardError

EPOCHS, BATCH = 6, 32


class Crash(Exception):
    """Stands for a process dying at a given optimizer step."""


class CrashAt(Callback):
    def __init__(self, step):
        self.step = step

    def on_batch_end(self, batch, logs=None):
        if self.model.optimizer.iterations == self.step:
            raise Crash


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5)).astype("float32")
    return x, (x[:, 0] * x[:, 1] > 0).astype(int)


def make(optimizer="adam"):
    model = ff.Sequential([ff.layers.Dense(16, activation="relu"), ff.layers.Dropout(0.2),
                           ff.layers.Dense(2, activation="softmax")], seed=3)
    model.compile(optimizer, "categorical_crossentropy", ["accuracy"])
    return model


def callbacks(folder, save_freq):
    return [EarlyStopping("val_loss", patience=3, restore_best_weights=True),
            ReduceLROnPlateau(patience=1, factor=0.5), CSVLogger(folder / "h.csv", append=True),
            BackupAndRestore(folder / "backup", save_freq=save_freq)]


def fit(model, data, cbs, augment=None):
    return model.fit(*data, epochs=EPOCHS, batch_size=BATCH, validation_split=0.2,
                     callbacks=cbs, verbose=0, augment=augment)


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference")
    model = make()
    history = fit(model, data, callbacks(folder, "epoch")[:3])
    return model, history, (folder / "h.csv").read_text()


# 160 training samples: 5 steps per epoch; crashes before, at and after epoch ends
@pytest.mark.parametrize("save_freq", [1, 3, "epoch"])
@pytest.mark.parametrize("crash_step", [2, 5, 7, 13, 21])
def test_resumed_fit_is_bit_identical_to_an_uninterrupted_one(data, reference, tmp_path,
                                                              save_freq, crash_step):
    model = make()
    with pytest.raises(Crash):
        fit(model, data, callbacks(tmp_path, save_freq) + [CrashAt(crash_step)])
    checkpoint = tmp_path / "backup" / BackupAndRestore.FILE
    first_save = 5 if save_freq == "epoch" else save_freq
    if crash_step <= first_save:  # CrashAt runs before the backup saves that step
        assert not checkpoint.exists()  # nothing saved yet: the resumed run starts afresh
    else:
        assert ff.load_model(checkpoint).count_params() == model.count_params()
    resumed = make()
    history = fit(resumed, data, callbacks(tmp_path, save_freq))
    ref_model, ref_history, ref_csv = reference
    assert np.array_equal(resumed.params, ref_model.params)
    assert history.history == ref_history.history
    assert (tmp_path / "h.csv").read_text() == ref_csv
    assert not checkpoint.exists()  # a finished fit deletes it


def test_resume_restores_augmentation_and_dropout_streams(data, tmp_path):
    def augment(xb, rng):  # draws from the model's augmentation stream
        return xb + rng.normal(0, 0.1, xb.shape).astype(xb.dtype)

    ref = make()
    fit(ref, data, [], augment=augment)
    crashed = make()
    with pytest.raises(Crash):
        fit(crashed, data, [BackupAndRestore(tmp_path, save_freq=2), CrashAt(9)], augment)
    resumed = make()
    fit(resumed, data, [BackupAndRestore(tmp_path, save_freq=2)], augment)
    assert np.array_equal(resumed.params, ref.params)


def test_a_checkpoint_of_another_model_or_other_data_is_refused(data, tmp_path):
    with pytest.raises(Crash):
        fit(make(), data, [BackupAndRestore(tmp_path, save_freq=1), CrashAt(3)])
    with pytest.raises(FeedforwardError, match="config differs"):
        fit(_other_model(), data, [BackupAndRestore(tmp_path)])
    x, y = data
    with pytest.raises(FeedforwardError, match="other data"):
        fit(make(), (x[::-1].copy(), y), [BackupAndRestore(tmp_path)])
    with pytest.raises(FeedforwardError, match="compile differs"):
        fit(make("sgd"), data, [BackupAndRestore(tmp_path)])


def _other_model():
    model = ff.Sequential([ff.layers.Dense(8, activation="relu"),
                           ff.layers.Dense(2, activation="softmax")], seed=3)
    model.compile("adam", "categorical_crossentropy", ["accuracy"])
    return model


def test_a_foreign_file_is_not_taken_for_a_checkpoint(data, tmp_path):
    (tmp_path / BackupAndRestore.FILE).write_bytes(b"\x00" * 64)
    with pytest.raises(FeedforwardError, match="checkpoint"):
        fit(make(), data, [BackupAndRestore(tmp_path)])


def test_a_damaged_or_inflated_checkpoint_is_refused_before_it_is_read(data, tmp_path):
    with pytest.raises(Crash):
        fit(make(), data, [BackupAndRestore(tmp_path, save_freq=1), CrashAt(3)])
    path = tmp_path / BackupAndRestore.FILE
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(FeedforwardError, match="checkpoint"):
        fit(make(), data, [BackupAndRestore(tmp_path)])
    from safetensors.numpy import save_file

    with _open(good, tmp_path) as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    tensors["callbacks.0.huge"] = np.zeros(10**6, dtype="float32")
    save_file(tensors, str(path), metadata=meta)
    with pytest.raises(FeedforwardError, match="larger than any array"):
        fit(make(), data, [BackupAndRestore(tmp_path)])


def _open(content, folder):
    from safetensors import safe_open

    copy = folder / "copy.safetensors"
    copy.write_bytes(content)
    return safe_open(str(copy), "numpy")


def test_save_freq_is_validated():
    for bad in (0, -2, 1.5, "batch"):
        with pytest.raises(FeedforwardError, match="save_freq"):
            BackupAndRestore("x", save_freq=bad)


# ---------------------------------------------------------------------------- divergence
def regression(data, epochs, cbs=()):
    """SGD with momentum at a rate that diverges in the third epoch (loss 4.6, 17, inf)."""
    x = data[0]
    model = ff.Sequential([ff.layers.Dense(16, activation="relu"), ff.layers.Dense(1)], seed=3)
    model.compile(ff.optimizers.SGD(0.2, momentum=0.9), "mse")
    with np.errstate(all="ignore"):
        model.fit(x, 3 * x[:, 0] + x[:, 1], epochs=epochs, batch_size=BATCH, verbose=0,
                  callbacks=list(cbs))
    return model


def test_divergence_stops_keeps_the_last_good_weights_and_says_why(data, tmp_path):
    good = regression(data, epochs=2)
    backup = BackupAndRestore(tmp_path, delete_checkpoint=False)
    with pytest.raises(ff.model.Diverged) as error:
        regression(data, epochs=10, cbs=[backup])
    message = str(error.value)
    assert "diverged" in message and "restored" in message and "learning rate" in message
    # the checkpoint holds the end of epoch 2, the last with a finite loss: a NaN never
    # overwrote it
    saved = ff.load_model(tmp_path / BackupAndRestore.FILE)
    assert np.array_equal(saved.params, good.params)


def test_a_diverged_fit_leaves_the_model_at_the_last_finite_epoch(data):
    good = regression(data, epochs=2)
    x = data[0]
    model = ff.Sequential([ff.layers.Dense(16, activation="relu"), ff.layers.Dense(1)], seed=3)
    model.compile(ff.optimizers.SGD(0.2, momentum=0.9), "mse")
    with np.errstate(all="ignore"), pytest.raises(ff.model.Diverged):
        model.fit(x, 3 * x[:, 0] + x[:, 1], epochs=10, batch_size=BATCH, verbose=0)
    assert model.history.epoch == [0, 1]  # stopped in the epoch of the first non-finite loss
    assert np.array_equal(model.params, good.params)
    assert model.optimizer.iterations == good.optimizer.iterations
    assert np.array_equal(model.optimizer.slots["momentum"][0],
                          good.optimizer.slots["momentum"][0])


def test_a_diverged_step_never_becomes_a_checkpoint(data, tmp_path):
    good = regression(data, epochs=2)
    backup = BackupAndRestore(tmp_path, save_freq=1, delete_checkpoint=False)
    regression(data, epochs=10, cbs=[ff.callbacks.TerminateOnNaN(), backup])
    saved = ff.load_model(tmp_path / BackupAndRestore.FILE)  # the last finite step's
    assert np.isfinite(saved.params).all()
    assert saved.optimizer.iterations > good.optimizer.iterations  # mid-epoch 3, not undone


def test_terminate_on_nan_stops_quietly_with_the_last_good_weights(data):
    good = regression(data, epochs=2)
    model = regression(data, epochs=10, cbs=[ff.callbacks.TerminateOnNaN()])
    losses = model.history.history["loss"]
    assert len(losses) == 3 and np.isfinite(losses[:2]).all() and not np.isfinite(losses[2])
    assert np.array_equal(model.params, good.params)


def test_non_finite_weights_are_never_saved(data, tmp_path):
    model = make()
    model.fit(*data, epochs=1, verbose=0)
    path = tmp_path / "m.safetensors"
    model.save(path)
    before = path.read_bytes()
    model.params[0] = np.nan
    with pytest.raises(FeedforwardError, match="not finite"):
        model.save(path)
    assert path.read_bytes() == before


# ---------------------------------------------------------------------------- kill tests
KILL_TRIALS = 20
KILL_AT = (0.0, 0.02, 0.05, 0.1, 0.2, 0.4, 0.7, 0.9)  # fractions of a run's life after its first
# checkpoint: from the first step on to the writing of its outputs
TRAIN = [sys.executable, "-m", "feedforward.cli", "train", "--layers", "32", "--epochs", "6",
         "--patience", "3", "--no-plots", "--quiet", "--seed", "0", "--no-header"]


def _weights(folder):
    return ff.load_model(Path(folder) / "model.safetensors").get_weights()


def _digits_csv(folder):
    """scikit-learn's digits as a CSV file: a run reading it skips importing scikit-learn
    (1.2 of its 1.5 s)."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    path = folder / "digits.csv"
    np.savetxt(path, np.column_stack([x, y]), fmt="%d", delimiter=",")
    return path


def _start(data, folder):
    """Start a run that saves its checkpoint every 3 steps; returns it and the checkpoint's
    path, once that exists (or the run ended)."""
    proc = subprocess.Popen(TRAIN + ["--dataset", str(data), "--out", str(folder),
                                     "--checkpoint-every", "3"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    checkpoint = folder / "backup" / BackupAndRestore.FILE
    deadline = time.monotonic() + 60
    while not checkpoint.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    return proc, checkpoint


def _kill_and_resume(data, folder, delay):
    """Start a run, SIGKILL it ``delay`` s after its first checkpoint, resume it; returns
    whether the kill landed."""
    proc, checkpoint = _start(data, folder)
    time.sleep(delay)
    killed = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if killed and not checkpoint.exists():  # killed after its last output: nothing was lost
        assert (folder / "model.safetensors").exists(), "a killed run left no checkpoint"
        return killed
    if killed:
        ff.load_model(checkpoint)  # never half-written
        result = subprocess.run(TRAIN[:4] + ["--resume", str(folder), "--quiet"],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
    return killed


def test_sigkill_at_random_moments_then_resume_gives_the_uninterrupted_weights(tmp_path):
    data = _digits_csv(tmp_path)
    subprocess.run(TRAIN + ["--dataset", str(data), "--out", str(tmp_path / "reference")],
                   check=True, timeout=120)
    reference = _weights(tmp_path / "reference")
    # an uninterrupted run with the trials' checkpoints times the span the kills spread over,
    # so that they land mid-run on a fast machine and on a busy one alike
    proc, _ = _start(data, tmp_path / "timed")
    start = time.monotonic()
    assert proc.wait(120) == 0, proc.stderr.read().decode()
    span = time.monotonic() - start
    delays = [f * span for f in random.Random(0).choices(KILL_AT, k=KILL_TRIALS)]
    folders = [tmp_path / f"trial{i}" for i in range(KILL_TRIALS)]
    with ThreadPoolExecutor(2) as pool:
        killed = list(pool.map(_kill_and_resume, [data] * KILL_TRIALS, folders, delays))
    assert sum(killed) >= KILL_TRIALS * 3 // 4, f"only {sum(killed)} kills landed mid-run"
    for folder in [tmp_path / "timed", *folders]:
        weights = _weights(folder)
        assert all(np.array_equal(a, b) for a, b in zip(weights, reference, strict=True))


def test_resume_refuses_a_finished_run_and_a_folder_without_config(tmp_path):
    from feedforward.cli.main import main

    assert main(["train", "--resume", str(tmp_path), "--quiet"]) == 2
    done = tmp_path / "done"
    assert main(["train", "--layers", "4", "--epochs", "1", "--no-plots", "--quiet",
                 "--out", str(done)]) == 0
    assert main(["train", "--resume", str(done), "--quiet"]) == 2
    assert main(["train", "--resume", str(done), "--out", str(done), "--quiet"]) == 2


def test_a_finished_run_leaves_no_backup_and_wrote_its_config_first(tmp_path):
    from feedforward.cli.main import main

    assert main(["train", "--layers", "4", "--epochs", "2", "--no-plots", "--quiet",
                 "--out", str(tmp_path)]) == 0
    assert not (tmp_path / "backup").exists()
    assert os.path.getsize(tmp_path / "config.toml") > 0
