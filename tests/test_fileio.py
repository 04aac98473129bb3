"""atomic_write: whole files or none, the umask's permissions, links replaced, clear errors."""

import os
import stat

import pytest

import feedforward as ff
from feedforward.fileio import atomic_write


def test_writes_bytes_and_text(tmp_path):
    atomic_write(tmp_path / "a.bin", b"\x00\x01")
    atomic_write(tmp_path / "b.txt", "é\n")
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "b.txt").read_text(encoding="utf-8") == "é\n"


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_permissions_follow_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        atomic_write(tmp_path / "f", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o666 & ~mask


def test_a_link_at_the_target_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    (tmp_path / "history.csv").symlink_to(victim)
    atomic_write(tmp_path / "history.csv", "new")
    assert victim.read_text() == "keep"
    assert not (tmp_path / "history.csv").is_symlink()
    assert (tmp_path / "history.csv").read_text() == "new"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "config.toml"
    target.write_text("old")

    def full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ff.fileio.os, "fsync", full)
    with pytest.raises(ff.FeedforwardError, match=r"--out: cannot write .*No space left"):
        atomic_write(target, "new", label="--out")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["config.toml"]


def test_a_folder_in_the_way_and_a_missing_folder_are_clear_errors(tmp_path):
    (tmp_path / "metrics.json").mkdir()
    with pytest.raises(ff.FeedforwardError, match="is a folder"):
        atomic_write(tmp_path / "metrics.json", "{}")
    with pytest.raises(ff.FeedforwardError, match="cannot write"):
        atomic_write(tmp_path / "no" / "x", "{}")


def test_model_files_and_checkpoints_follow_the_umask(tmp_path):
    import numpy as np

    model = ff.Sequential([ff.Dense(2, activation="softmax")], input_dim=3, seed=0)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    x, y = np.zeros((4, 3)), np.array([0, 1, 0, 1])
    backup = ff.BackupAndRestore(tmp_path / "backup", delete_checkpoint=False)
    old = os.umask(0o022)
    try:
        model.fit(x, y, epochs=1, verbose=0, callbacks=[backup])
        model.save(tmp_path / "m.safetensors")
    finally:
        os.umask(old)
    checkpoint = tmp_path / "backup" / backup.FILE
    for path in (tmp_path / "m.safetensors", checkpoint):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
