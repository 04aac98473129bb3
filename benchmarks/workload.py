"""The benchmark's data: the shared MNIST test set, tiled to an MNIST-sized training set.

A tiny IDX reader of its own (gzip + ``numpy.frombuffer``), so the benchmark does not depend on
the library's loader. Where the files are absent, synthetic data of the same shape stands in and
the result says so.

Split: the first 8,000 of the 10,000 images, tiled (repeated in order) to ``rows`` training rows
(60,000 = 7.5 copies); the last 2,000 images are the held-out test set.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DIR = REPO.parent / "shared" / "datasets" / "mnist"
IMAGES, LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"
N_TRAIN_IMAGES, N_TEST_IMAGES, FEATURES, CLASSES = 8_000, 2_000, 784, 10
_UBYTE = 0x08


def read_idx(path) -> np.ndarray:
    """Read a gzipped IDX file of unsigned bytes.

    Returns
    -------
    ndarray of uint8, shape given by the file's header (e.g. ``(10000, 28, 28)``).
    """
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != _UBYTE:
        raise ValueError(
            f"{path}: expected an IDX file of unsigned bytes, got magic {raw[:4].hex()}")
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says shape {shape}, body has {body.size} bytes")
    return body.reshape(shape)


def _synthetic_images(seed=0):
    """10,000 learnable 784-pixel uint8 images: one random prototype per class plus noise."""
    rng = np.random.default_rng(seed)
    n = N_TRAIN_IMAGES + N_TEST_IMAGES
    labels = rng.integers(0, CLASSES, n).astype(np.uint8)
    prototypes = (rng.random((CLASSES, FEATURES)) < 0.2) * 0.9
    noisy = prototypes[labels] + rng.normal(0, 0.35, (n, FEATURES))
    return (np.clip(noisy, 0, 1) * 255).astype(np.uint8), labels


def source_dir() -> Path:
    """Where the IDX files are read from: ``$FF_BENCH_MNIST`` or ``../shared/datasets/mnist``."""
    return Path(os.environ.get("FF_BENCH_MNIST", DEFAULT_DIR))


def load_images():
    """The 10,000 images ``(10000, 784)`` uint8, their labels ``(10000,)`` and the source's name."""
    folder = source_dir()
    if (folder / IMAGES).is_file() and (folder / LABELS).is_file():
        images = read_idx(folder / IMAGES).reshape(-1, FEATURES)
        labels = read_idx(folder / LABELS)
        return images, labels, f"MNIST test set ({folder})"
    images, labels = _synthetic_images()
    return images, labels, f"synthetic (no MNIST files in {folder})"


def _tile(a: np.ndarray, rows: int, out: np.ndarray) -> np.ndarray:
    """Fill ``out`` (``rows`` rows) with ``a`` repeated in order, copying block by block."""
    for start in range(0, rows, len(a)):
        k = min(len(a), rows - start)
        out[start:start + k] = a[:k]
    return out


def workload(rows: int) -> dict:
    """Training and test arrays.

    Returns
    -------
    dict with ``x`` ``(rows, 784)`` float32 in [0, 1], ``y`` ``(rows,)`` int64,
    ``x_test`` ``(2000, 784)`` float32, ``y_test`` ``(2000,)`` int64 and ``source`` (str).
    Pixels are scaled in float32 so no float64 temporary raises the peak memory.
    """
    images, labels, source = load_images()
    scale = np.float32(1 / 255)
    train = np.multiply(images[:N_TRAIN_IMAGES], scale, dtype=np.float32)
    x = _tile(train, rows, np.empty((rows, FEATURES), dtype=np.float32))
    y = _tile(labels[:N_TRAIN_IMAGES].astype(np.int64), rows, np.empty(rows, dtype=np.int64))
    del train
    x_test = np.multiply(images[N_TRAIN_IMAGES:], scale, dtype=np.float32)
    return {"x": x, "y": y, "x_test": x_test, "y_test": labels[N_TRAIN_IMAGES:].astype(np.int64),
            "source": source}
