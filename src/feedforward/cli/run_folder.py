"""The folder of a ``feedforward train`` run: its files, claiming and checking it, and the
options ``--resume`` needs besides ``config.toml`` (``backup/run.json``)."""

from __future__ import annotations

import contextlib
import csv
import json
from pathlib import Path

from .. import checkpoint, config, fileio, metrics
from ..errors import FeedforwardError, describe
from ..fileio import atomic_write
from ..fileio import digest as file_digest

MODEL_FILE = "model.safetensors"
BACKUP = "backup"
RUN_FILE = "run.json"  # in BACKUP: the options --resume needs besides config.toml
# what a run writes, besides its plots; a folder holding any of them holds a run
RUN_FILES = ("config.toml", "history.csv", "metrics.json", "monitor.json", MODEL_FILE)
BACKUP_FILES = (checkpoint.BackupAndRestore.FILE, RUN_FILE)
# the plots a run writes besides one per metric (plots.curves, train's confusion matrix)
PLOTS = ("loss", "learning_rate", "confusion_matrix")
# the options of a run that are not in config.toml, with their defaults
RUN_OPTIONS = {"plots": True, "doctor": False, "checkpoint_every": None}


def resume_folder(args) -> Path | None:
    """With ``--resume DIR``: DIR's config.toml becomes the config, DIR the output folder, and
    the options in its run.json those of this run."""
    if args.resume is None:
        return None
    folder = Path(args.resume)
    given = [f"--{k.replace('_', '-')}" for k in ("config", "out", *RUN_OPTIONS)
             if getattr(args, k) is not None]
    given += [o.flag for o in config.OPTIONS if getattr(args, o.key) is not None]
    if args.overwrite:
        given.append("--overwrite")
    if given:
        raise FeedforwardError(f"--resume: the run goes on with the options it was started with "
                               f"(in {str(folder)!r}); drop {', '.join(given)}")
    check_resumable(folder)
    options = read_run_file(folder)
    for key in RUN_OPTIONS:
        setattr(args, key, options[key])
    args.config, args.out = str(folder / "config.toml"), str(folder)
    return folder


def check_resumable(folder: Path) -> None:
    """Refuse a folder without a run's config.toml, and a run that has finished."""
    if not (folder / "config.toml").is_file():
        raise FeedforwardError(f"--resume: {str(folder)!r} holds no config.toml; expected the "
                               "folder of a run of `feedforward train`")
    if finished(folder):
        raise FeedforwardError(f"--resume: the run in {str(folder)!r} has finished (it has "
                               f"{MODEL_FILE} and no checkpoint); there is nothing to resume")


def finished(folder: Path) -> bool:
    """Whether the run in ``folder`` has ended: its model is written and its checkpoint
    removed (a run.json that a kill left while the backup was removed does not count)."""
    return (folder / MODEL_FILE).is_file() and not (
        folder / BACKUP / checkpoint.BackupAndRestore.FILE).is_file()


def digest(path: Path) -> str:
    """The SHA-256 of a file of the run (errors name ``--out``)."""
    return file_digest(path, "--out")


def write_run_file(out: Path, args) -> None:
    """The run's options that config.toml does not hold, and config.toml's digest."""
    record = {**{k: getattr(args, k) for k in RUN_OPTIONS},
              "config_sha256": digest(out / "config.toml")}
    make_folder(out / BACKUP)
    atomic_write(out / BACKUP / RUN_FILE, json.dumps(record, indent=1) + "\n", label="--out")


def read_run_file(folder: Path) -> dict:
    """The options the run in ``folder`` started with; refuses a config.toml changed since."""
    path = folder / BACKUP / RUN_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise FeedforwardError(f"--resume: cannot read {str(path)!r}, the options the run was "
                               f"started with ({type(e).__name__}); start the run again with "
                               "--overwrite") from None
    fields = (*RUN_OPTIONS, "config_sha256")
    if not (isinstance(record, dict) and set(record) == set(fields)
            and isinstance(record["plots"], bool) and isinstance(record["doctor"], bool)
            and isinstance(record["config_sha256"], str)
            and (record["checkpoint_every"] is None or (type(record["checkpoint_every"]) is int
                                                        and record["checkpoint_every"] >= 1))):
        raise FeedforwardError(f"--resume: {str(path)!r} is damaged: expected the fields "
                               f"{', '.join(fields)}, got {describe(record)}")
    if digest(folder / "config.toml") != record["config_sha256"]:
        raise FeedforwardError(f"--resume: {str(folder / 'config.toml')!r} is not the file the "
                               "run was started with (it was changed, or damaged); the run "
                               "cannot go on with other options. Restore it, or start again "
                               "with --overwrite")
    return record


def remove_backup(out: Path) -> None:
    # a file left is harmless: every output is written
    unlink([out / BACKUP / name for name in BACKUP_FILES] + leftovers(out))
    with contextlib.suppress(OSError):  # left when something else was put there
        (out / BACKUP).rmdir()


def leftovers(out: Path) -> list[Path]:
    """The temporary files of writes of the run's files that a kill cut short."""
    files = [out / n for n in RUN_FILES] + [out / BACKUP / n for n in BACKUP_FILES]
    return [temporary for f in files for temporary in fileio.leftovers(f)]


def unlink(paths) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def make_folder(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        file = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
        why = f"{str(file)!r} is a file" if file is not None else e.strerror or e
        raise FeedforwardError(f"--out: cannot create the folder {str(path)!r} ({why}); "
                               "expected a folder, or a path where one can be made") from None
    return path


def claim_folder(out: Path, overwrite: bool) -> None:
    """Refuse a folder that holds a run, or with ``overwrite`` remove that run's files: a new
    run never mixes its files with those of another."""
    backup = out / BACKUP
    found = [name for name in RUN_FILES if (out / name).is_file()] + [
        f"{BACKUP}/{name}" for name in BACKUP_FILES if (backup / name).is_file()]
    if not found:
        return
    if not overwrite:
        raise FeedforwardError(f"--out: {str(out)!r} holds {_held(out, found)}")
    for name in found + plot_names(out):
        try:
            (out / name).unlink(missing_ok=True)
        except OSError as e:
            raise FeedforwardError(f"--overwrite: cannot remove {str(out / name)!r} "
                                   f"({e.strerror or e})") from None
    with contextlib.suppress(OSError):
        backup.rmdir()


def _held(out: Path, found: list[str]) -> str:
    """What a folder holding the run files ``found`` holds, and what to do about it."""
    listed = ", ".join(found)
    if finished(out):
        return (f"a finished run ({listed}); choose another folder, or pass --overwrite to "
                "replace that run")
    if (out / BACKUP / RUN_FILE).is_file():
        return (f"an unfinished run ({listed}); continue it with --resume {out}, or pass "
                "--overwrite to start again")
    return (f"files of a run ({listed}) that cannot be resumed (no {BACKUP}/{RUN_FILE}); "
            "choose another folder, or pass --overwrite to replace them")


def plot_names(out: Path) -> list[str]:
    """The plots a run in ``out`` wrote: :data:`PLOTS` and one per metric of its history.

    A PNG named after another column of history.csv is not a plot of a run (the file may
    not be a run's history), and is kept.
    """
    try:
        with open(out / "history.csv", newline="", encoding="utf-8") as f:
            header = next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        header = []
    known = set(metrics.registry.names())
    names = set(PLOTS) | {c for c in header if c.lower() in known}
    return [f"{n}.png" for n in sorted(names) if (out / f"{n}.png").is_file()]


def check_folder(out: Path) -> None:
    """Refuse, before training, a folder standing where a file of the run goes."""
    for name in RUN_FILES:
        if (out / name).is_dir():
            raise FeedforwardError(f"--out: {str(out / name)!r} is a folder, where the run "
                                   f"writes its {name}; remove or rename it")
    if (out / BACKUP).exists() and not (out / BACKUP).is_dir():
        raise FeedforwardError(f"--out: {str(out / BACKUP)!r} is a file, where the run keeps "
                               "its checkpoint; remove or rename it")
