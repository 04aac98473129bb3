"""Files written so that a crash, a full disk or a kill never leaves half of one.

Every output of the library and the command line (model files, checkpoints, ``config.toml``,
``metrics.json``, ``history.csv``, tune results) goes through :func:`atomic_write`: the bytes
go to a temporary file in the same folder, are flushed to disk, and the temporary file is
renamed over the target. A reader sees the old file or the new one, never a mix. The new file
gets the permissions ``open()`` would give it (``0o666`` less the umask), not ``mkstemp``'s
``0o600``. A symbolic link at the target is replaced, never followed.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import os
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

from .errors import FeedforwardError

_umask_lock = threading.Lock()


def _umask() -> int:
    # os.umask can only be read by setting it; the lock keeps threads from seeing the 0
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


_SUFFIX = ".tmp"


def leftovers(path) -> list[Path]:
    """The temporary files that writes of ``path`` killed part-way left (``.NAME.*.tmp``).

    Parameters
    ----------
    path : str or Path
        A file written with :func:`atomic_write`.

    Returns
    -------
    list of Path
        Beside ``path``, never read by anything: safe to remove once no write is under way.
    """
    path = Path(path)
    return sorted(path.parent.glob(f".{glob.escape(path.name)}.*{_SUFFIX}"))


def atomic_write(path, data: bytes | str, label: str | None = None) -> None:
    """Write ``data`` to ``path`` atomically (see the module docstring).

    Parameters
    ----------
    path : str or Path
        The file to create or replace; its folder must exist.
    data : bytes or str
        The whole content; a str is encoded as UTF-8.
    label : str, optional
        What to name in the error (a flag such as ``--out``); the path's name by default.

    Raises
    ------
    FeedforwardError
        When the folder is missing or unwritable, the disk is full, or a folder stands where
        the file should go; the target is then unchanged.
    """
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    what = label or path.name
    if path.is_dir():
        raise FeedforwardError(f"{what}: {str(path)!r} is a folder; expected a file to write")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=_SUFFIX)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as e:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise FeedforwardError(f"{what}: cannot write {str(path)!r} "
                               f"({e.strerror or e})") from None
    except BaseException:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise


def digest(path, label: str) -> str:
    """The SHA-256 of the file at ``path``, in hex: what tells the same file from an edited one.

    Raises
    ------
    FeedforwardError
        Naming ``label``, when the file cannot be read.
    """
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError as e:
        raise FeedforwardError(f"{label}: cannot read {str(path)!r} ({e.strerror or e})") from None
    return h.hexdigest()


@contextmanager
def exclusive(folder, name: str, what: str, label: str = "--out"):
    """Hold the lock file ``folder/name`` for the block: a second process that asks for it
    meanwhile is refused, so two runs never write into one folder (a lock dies with its
    process, so a killed run leaves only an unlocked file behind; the block's end removes it).

    Parameters
    ----------
    folder : str or Path
        An existing folder.
    name : str
        The lock file's name, such as ``.train.lock``.
    what : str
        What holds the folder, for the message (``"a training run"``).
    label : str
        The argument to name in the error.

    Raises
    ------
    FeedforwardError
        When another process holds the lock.
    """
    path = Path(folder) / name
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise FeedforwardError(f"{label}: {what} is writing into {str(folder)!r} now; wait "
                                   "for it to end, or choose another folder") from None
        try:
            yield
        finally:  # removed while held: the folder keeps only the run's own files
            path.unlink(missing_ok=True)
            fcntl.flock(handle, fcntl.LOCK_UN)
