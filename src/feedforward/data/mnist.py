"""MNIST from the standard IDX files, gzipped or not, with an optional checked download.

The IDX format (LeCun et al.): a big-endian header, then the values in C order.

- bytes 0-1: zero; byte 2: the value type (``0x08`` unsigned byte, ``0x09`` signed byte,
  ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64); byte 3: the number of
  dimensions ``d``;
- ``d`` big-endian uint32 sizes;
- the values.

MNIST images are ``0x00000803`` (unsigned bytes, 3 dimensions: n, 28, 28) and labels
``0x00000801`` (unsigned bytes, one dimension: n). The files are
``{train,t10k}-{images-idx3,labels-idx1}-ubyte``, optionally ending in ``.gz`` (``.idx``
instead of ``-idx`` is accepted too). Gzip is recognised by its magic bytes, not its name.

``download=True`` fetches missing files with :mod:`urllib` into the folder (by default
:func:`default_cache_dir` ``/ "mnist"``), writing each through a temporary file that is renamed
into place only after its MD5 checksum matches the published one.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import tempfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import FeedforwardError

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801

MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
           "https://storage.googleapis.com/cvdf-datasets/mnist/")
"""Where :func:`download_mnist` looks, in order (yann.lecun.com no longer serves the files)."""

CHECKSUMS = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
"""MD5 of the four published gzip files."""

KINDS = {"train": ("train",), "test": ("t10k",), "t10k": ("t10k",), "all": ("train", "t10k")}


def default_cache_dir() -> Path:
    """Where downloaded datasets go: ``$FEEDFORWARD_DATA``, else ``$XDG_CACHE_HOME/feedforward``.

    Without either variable, ``~/.cache/feedforward``.

    Returns
    -------
    Path
        The folder, with ``~`` expanded; it may not exist yet.
    """
    if os.environ.get("FEEDFORWARD_DATA"):
        return Path(os.environ["FEEDFORWARD_DATA"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "feedforward"


MAX_IDX_BYTES = 2**31
"""The most data bytes one IDX file may declare (all of MNIST's training images: 47 MB)."""

GZIP_MAX_RATIO = 1032
"""Deflate expands at most about 1032-fold, so a gzip file of ``k`` bytes cannot hold more."""


def read_idx(path) -> np.ndarray:
    """Read one IDX file (gzipped or not) into an array of its declared type and shape.

    The header is read and checked first; no more data is read, or decompressed, than it
    declares (at most :data:`MAX_IDX_BYTES`), so a gzip bomb costs nothing.

    Parameters
    ----------
    path : str or Path
        The file, e.g. ``train-images-idx3-ubyte.gz``.

    Returns
    -------
    ndarray
        The data, e.g. uint8 of shape ``(n, 28, 28)`` for MNIST images, ``(n,)`` for labels.

    Raises
    ------
    FeedforwardError
        When the header is not IDX, declares more than the limit, or the data is shorter or
        longer than the header declares.
    """
    return _read_checked(Path(path), None, None)


def _read_checked(path: Path, what: str | None, magic: int | None) -> np.ndarray:
    """Read an IDX file; with ``magic``, first check the magic number that names its content
    (MNIST ``what``: images or labels)."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            gzipped = f.read(2) == b"\x1f\x8b"
            f.seek(0)
            stream = gzip.GzipFile(fileobj=f) if gzipped else f
            return _read_idx(stream, path, what, magic, size, gzipped)
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise FeedforwardError(f"{path}: the gzip data is truncated or corrupt ({e})") from None
    except OSError as e:
        raise FeedforwardError(f"{path}: cannot be read ({e.strerror or e})") from None


def _read_idx(stream, path, what, magic, size, gzipped) -> np.ndarray:
    head = stream.read(4)
    found = int.from_bytes(head, "big")
    if magic is not None and (len(head) < 4 or found != magic):
        raise FeedforwardError(
            f"{path}: wrong magic number 0x{found:08x} for MNIST {what}; expected "
            f"0x{magic:08x} (unsigned bytes, {magic & 0xFF} dimension(s))")
    if len(head) < 4 or head[:2] != b"\0\0" or head[2] not in IDX_TYPES or head[3] == 0:
        raise FeedforwardError(
            f"{path}: not an IDX file (its first 4 bytes are {head.hex() or 'missing'}; "
            "expected 0000 then a type code 08/09/0b/0c/0d/0e and a dimension count)")
    ndim, dtype = head[3], np.dtype(IDX_TYPES[head[2]])
    sizes = stream.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise FeedforwardError(f"{path}: truncated in the header ({4 + len(sizes)} bytes, the "
                               f"header of {ndim} dimensions needs {4 + 4 * ndim})")
    shape = tuple(int(d) for d in np.frombuffer(sizes, ">u4"))
    expected = math.prod(shape) * dtype.itemsize
    _check_declared(path, shape, expected, size if gzipped else size - 4 - 4 * ndim, gzipped)
    data = bytearray(expected)
    got = _fill(stream, data)
    if got < expected:
        raise FeedforwardError(f"{path}: truncated: the header declares shape {shape} "
                               f"({expected} bytes of data), the file holds {got}")
    if stream.read(1):
        raise FeedforwardError(f"{path}: longer than declared: the header declares shape "
                               f"{shape} ({expected} bytes of data), the file holds more")
    array = np.frombuffer(data, dtype).reshape(shape)
    return array if dtype.isnative else array.astype(dtype.newbyteorder("="))


def _fill(stream, data) -> int:
    """Read into ``data`` until it is full or the stream ends; returns the bytes read."""
    view, got = memoryview(data), 0
    while got < len(data) and (n := stream.readinto(view[got:])):
        got += n
    return got


def _check_declared(path, shape, expected, stored, gzipped) -> None:
    """Refuse a declared data size over the limit, or one that the file cannot hold: without
    gzip exactly the ``stored`` bytes after the header; with gzip (``stored`` compressed
    bytes), at most the ratio's worth."""
    if expected > MAX_IDX_BYTES:
        raise FeedforwardError(
            f"{path}: the header declares shape {shape} ({expected} bytes of data), over the "
            f"limit of {MAX_IDX_BYTES} bytes (feedforward.data.mnist.MAX_IDX_BYTES)")
    if gzipped and expected > GZIP_MAX_RATIO * stored:
        raise FeedforwardError(
            f"{path}: truncated: the header declares shape {shape} ({expected} bytes of data), "
            f"more than {stored} gzip bytes can hold")
    if not gzipped and stored != expected:
        what = "truncated" if stored < expected else "longer than declared"
        raise FeedforwardError(
            f"{path}: {what}: the header declares shape {shape} ({expected} bytes of data), "
            f"the file holds {stored}")


def _candidates(prefix: str, what: str) -> list[str]:
    stem = "images-idx3-ubyte" if what == "images" else "labels-idx1-ubyte"
    dotted = stem.replace("-idx", ".idx")
    return [f"{prefix}-{s}{gz}" for s in (stem, dotted) for gz in ("", ".gz")]


def _find(folder: Path, prefix: str, what: str) -> Path | None:
    for name in _candidates(prefix, what):
        if (folder / name).is_file():
            return folder / name
    return None


def _load_pair(folder: Path, prefix: str):
    paths = {w: _find(folder, prefix, w) for w in ("images", "labels")}
    missing = [w for w, p in paths.items() if p is None]
    if missing:
        looked = ", ".join(_candidates(prefix, missing[0]))
        raise FeedforwardError(
            f"path: no MNIST {prefix} {missing[0]} in {str(folder)!r} (looked for {looked}); "
            "pass download=True to fetch the files")
    images = _read_checked(paths["images"], "images", IMAGES_MAGIC)
    labels = _read_checked(paths["labels"], "labels", LABELS_MAGIC)
    if images.shape[0] != labels.shape[0]:
        raise FeedforwardError(
            f"{folder}: {images.shape[0]} images in {paths['images'].name} but "
            f"{labels.shape[0]} labels in {paths['labels'].name}")
    return images, labels


def load_mnist(path=None, kind="train", download=False):
    """Load MNIST (or a dataset in its format: Fashion-MNIST, ...) from a folder of IDX files.

    Parameters
    ----------
    path : str or Path, optional
        The folder holding the files. Defaults to ``default_cache_dir() / "mnist"``.
    kind : {"train", "test", "all"}
        The 60,000 training images, the 10,000 test images (``"t10k"`` also works) or both,
        training first.
    download : bool
        Fetch missing files for ``kind`` into ``path`` first, checking their MD5 checksums.

    Returns
    -------
    x : ndarray of shape (n, 28, 28), uint8
    y : ndarray of shape (n,), int64 labels 0 .. 9

    Raises
    ------
    FeedforwardError
        For missing files, a wrong magic number, a truncated or oversized file, or a different
        number of images and labels.
    """
    if kind not in KINDS:
        raise FeedforwardError(f"kind: expected one of {sorted(KINDS)}, got {kind!r}")
    folder = Path(path).expanduser() if path is not None else default_cache_dir() / "mnist"
    if download:
        download_mnist(folder, kind)
    elif not folder.is_dir():
        raise FeedforwardError(f"path: {str(folder)!r} is not a folder; pass the folder holding "
                               "the MNIST IDX files, or download=True")
    pairs = [_load_pair(folder, prefix) for prefix in KINDS[kind]]
    x = np.concatenate([p[0] for p in pairs]) if len(pairs) > 1 else pairs[0][0]
    y = np.concatenate([p[1] for p in pairs]) if len(pairs) > 1 else pairs[0][1]
    return x, y.astype(np.int64)


def md5(path) -> str:
    """Hex MD5 of a file, read in chunks.

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    str
        The 32 hex digits of its MD5 digest.
    """
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch(url: str, dest: Path, timeout: float = 30.0) -> None:
    """Copy ``url`` into the file ``dest`` (the one network call; tests replace it)."""
    import urllib.request  # here, so that importing the library does not load the HTTP stack

    with urllib.request.urlopen(url, timeout=timeout) as response, open(dest, "wb") as f:
        while chunk := response.read(1 << 20):
            f.write(chunk)


def _download_file(name: str, folder: Path) -> Path:
    """Fetch ``name`` from the first mirror that serves it with the right checksum."""
    import http.client

    errors = []
    for mirror in MIRRORS:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
        os.close(fd)
        tmp = Path(tmp)
        try:
            _fetch(mirror + name, tmp)
            got = md5(tmp)
            if got != CHECKSUMS[name]:
                errors.append(f"{mirror + name}: checksum mismatch (md5 {got}, expected "
                              f"{CHECKSUMS[name]})")
                continue
            os.replace(tmp, folder / name)
            return folder / name
        except (OSError, http.client.HTTPException) as e:  # URLError, HTTPError are OSErrors
            errors.append(f"{mirror + name}: {e}")
        finally:
            tmp.unlink(missing_ok=True)
    raise FeedforwardError(f"download of {name} failed: " + "; ".join(errors))


def download_mnist(path=None, kind="all") -> Path:
    """Fetch the MNIST files of ``kind`` missing from ``path`` (all four by default).

    Files already present (under any accepted name) are kept as they are; each new one is
    verified against :data:`CHECKSUMS` before it is renamed into place. Returns the folder.

    Parameters
    ----------
    path : str or Path, optional
        The folder to fill, created if needed. Defaults to ``default_cache_dir() / "mnist"``.
    kind : {"all", "train", "test"}
        Which pair of files (images and labels) to fetch; ``"t10k"`` means ``"test"``.

    Returns
    -------
    Path
        The folder holding the files.
    """
    if kind not in KINDS:
        raise FeedforwardError(f"kind: expected one of {sorted(KINDS)}, got {kind!r}")
    folder = Path(path).expanduser() if path is not None else default_cache_dir() / "mnist"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FeedforwardError(f"path: cannot create {str(folder)!r} ({e.strerror or e})") from None
    for prefix in KINDS[kind]:
        for what in ("images", "labels"):
            if _find(folder, prefix, what) is None:
                _download_file(_candidates(prefix, what)[1], folder)
    return folder
