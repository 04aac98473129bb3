"""MNIST: the IDX reader on the shared test set and on files written here, the checked download,
and an MLP reaching 95 % on a stratified 8,000 / 2,000 split of the real digits."""

from __future__ import annotations

import gzip
import hashlib
import re
import struct
import time
import urllib.error
from pathlib import Path

import numpy as np
import pytest

import feedforward as ff
from feedforward.data import load_mnist, mnist, read_idx, train_val_test_split
from feedforward.errors import FeedforwardError

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "mnist"
CLASS_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]  # from the README
needs_shared = pytest.mark.skipif(
    not (SHARED / "t10k-images-idx3-ubyte.gz").is_file(),
    reason=f"the shared MNIST test set is not at {SHARED} (see ../shared/datasets/README.md)")


def idx_bytes(array, type_code=0x08):
    """An IDX file's bytes: 0, 0, the type code, the dimension count, sizes, big-endian data."""
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    head = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return head + np.asarray(array).astype(dtype[type_code]).tobytes()


def write_mnist(folder, prefix="t10k", n=12, gz=False, images=None, labels=None, dotted=False):
    """Write a small MNIST-format pair (4x5 images) and return the arrays."""
    rng = np.random.default_rng(len(prefix) + n)
    images = rng.integers(0, 256, (n, 4, 5), dtype=np.uint8) if images is None else images
    labels = rng.integers(0, 10, n, dtype=np.uint8) if labels is None else labels
    for what, array in (("images-idx3", images), ("labels-idx1", labels)):
        name = f"{prefix}-{what}-ubyte"
        if dotted:
            name = name.replace("-idx", ".idx")
        data = idx_bytes(array)
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return images, labels


# ----------------------------------------------------------------------------- shared data
@needs_shared
def test_the_shared_test_set_loads_with_its_known_class_counts():
    x, y = load_mnist(SHARED, kind="test")
    assert x.shape == (10_000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (10_000,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == CLASS_COUNTS
    assert x.min() == 0 and x.max() == 255
    assert y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # the well-known first digits


@needs_shared
def test_the_shared_images_are_read_byte_for_byte():
    x, y = load_mnist(SHARED, kind="t10k")
    # the README's MD5 of the decompressed files, rebuilt from what was read
    assert hashlib.md5(idx_bytes(x)).hexdigest() == "2646ac647ad5339dbf082846283269ea"
    assert hashlib.md5(idx_bytes(y.astype(np.uint8))).hexdigest() == \
        "27ae3e4e09519cfbb04c329615203637"


@needs_shared
def test_an_mlp_reaches_95_percent_on_a_stratified_8000_2000_split():
    x, y = load_mnist(SHARED, kind="test")
    x = x.reshape(len(x), -1).astype(np.float32) / 255  # inputs in [0, 1]
    split = train_val_test_split(x, y, val=0.0, test=0.2, stratify=True, seed=0)
    assert len(split.x_train) == 8000 and len(split.x_test) == 2000
    model = ff.Sequential([ff.Dense(256, activation="relu"), ff.Dense(10, activation="softmax")],
                          seed=0)
    model.compile(ff.optimizers.SGD(learning_rate=0.3), "categorical_crossentropy", ["accuracy"])
    start = time.perf_counter()
    model.fit(split.x_train, split.y_train, epochs=15, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(split.x_test, split.y_test)
    print(f"MNIST 8000/2000: test accuracy {accuracy:.4f} in {time.perf_counter() - start:.1f} s")
    assert accuracy >= 0.95


# ----------------------------------------------------------------------------- small files
@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("dotted", [False, True], ids=["dash", "dot"])
def test_small_files_round_trip(tmp_path, gz, dotted):
    images, labels = write_mnist(tmp_path, "train", gz=gz, dotted=dotted)
    x, y = load_mnist(tmp_path, kind="train")
    assert np.array_equal(x, images) and x.dtype == np.uint8
    assert np.array_equal(y, labels) and y.dtype == np.int64


def test_kind_all_concatenates_train_then_test(tmp_path):
    tr = write_mnist(tmp_path, "train", n=7)
    te = write_mnist(tmp_path, "t10k", n=3, gz=True)
    x, y = load_mnist(str(tmp_path), kind="all")
    assert np.array_equal(x, np.concatenate([tr[0], te[0]]))
    assert np.array_equal(y, np.concatenate([tr[1], te[1]]))


@pytest.mark.parametrize(("code", "dtype"), [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16),
                                             (0x0C, np.int32), (0x0D, np.float32),
                                             (0x0E, np.float64)])
def test_read_idx_reads_every_value_type(tmp_path, code, dtype):
    a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if code == 0x08:
        a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a.idx").write_bytes(idx_bytes(a, code))
    out = read_idx(tmp_path / "a.idx")
    assert out.dtype == dtype and out.dtype.isnative and np.array_equal(out, a)


def test_a_truncated_file_is_a_clear_error(tmp_path):
    write_mnist(tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(FeedforwardError, match=r"truncated.*\(12, 4, 5\) \(240 bytes.*233"):
        load_mnist(tmp_path, kind="test")
    path.write_bytes(path.read_bytes()[:10])  # cut inside the header
    with pytest.raises(FeedforwardError, match="truncated in the header"):
        load_mnist(tmp_path, kind="test")


def test_a_truncated_gzip_file_is_a_clear_error(tmp_path):
    write_mnist(tmp_path, gz=True)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(FeedforwardError, match="gzip data is truncated or corrupt"):
        load_mnist(tmp_path, kind="test")


def test_extra_bytes_are_a_clear_error(tmp_path):
    write_mnist(tmp_path)
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes() + b"\0\0")
    with pytest.raises(FeedforwardError, match="longer than declared"):
        load_mnist(tmp_path, kind="test")


def test_a_wrong_magic_number_is_a_clear_error(tmp_path):
    images, labels = write_mnist(tmp_path)
    # labels where images belong: a valid IDX file, but the wrong one
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(labels))
    with pytest.raises(FeedforwardError, match="wrong magic number 0x00000801.*0x00000803"):
        load_mnist(tmp_path, kind="test")


def test_a_foreign_file_is_a_clear_error(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").write_text("label\n7\n2\n")
    with pytest.raises(FeedforwardError, match="wrong magic number"):
        load_mnist(tmp_path, kind="test")
    (tmp_path / "other.idx").write_text("hello world")
    with pytest.raises(FeedforwardError, match="not an IDX file"):
        read_idx(tmp_path / "other.idx")


def test_a_label_image_count_mismatch_is_a_clear_error(tmp_path):
    images, labels = write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(labels[:-1]))
    with pytest.raises(FeedforwardError, match="12 images.*11 labels"):
        load_mnist(tmp_path, kind="test")


def test_missing_files_and_folders_are_clear_errors(tmp_path):
    write_mnist(tmp_path, "t10k")
    with pytest.raises(FeedforwardError, match="no MNIST train images.*download=True"):
        load_mnist(tmp_path, kind="train")
    with pytest.raises(FeedforwardError, match="not a folder"):
        load_mnist(tmp_path / "nowhere", kind="test")
    with pytest.raises(FeedforwardError, match="kind"):
        load_mnist(tmp_path, kind="validation")


# ----------------------------------------------------------------------------- download
class FakeServer:
    """Stands in for the network: serves small MNIST-format gzip files, records every URL."""

    def __init__(self, served):
        self.served, self.overrides, self.calls = served, {}, []

    def fetch(self, url, dest, timeout=30.0):
        self.calls.append(url)
        Path(dest).write_bytes(self.overrides.get(url, self.served[url.rsplit("/", 1)[1]]))


@pytest.fixture
def server(tmp_path, monkeypatch):
    served = {}
    for prefix in ("train", "t10k"):
        src = tmp_path / f"src-{prefix}"
        src.mkdir()
        write_mnist(src, prefix, n=6 if prefix == "train" else 4, gz=True)
        served.update({f.name: f.read_bytes() for f in src.iterdir()})
    for name, data in served.items():  # the published checksums, for these stand-in files
        monkeypatch.setitem(mnist.CHECKSUMS, name, hashlib.md5(data).hexdigest())
    fake = FakeServer(served)
    monkeypatch.setattr(mnist, "_fetch", fake.fetch)
    return fake


def test_download_fetches_the_missing_files_once(tmp_path, server):
    cache = tmp_path / "cache"
    x, y = load_mnist(cache, kind="test", download=True)
    assert x.shape == (4, 4, 5)
    assert server.calls == [mnist.MIRRORS[0] + "t10k-images-idx3-ubyte.gz",
                           mnist.MIRRORS[0] + "t10k-labels-idx1-ubyte.gz"]
    assert sorted(p.name for p in cache.iterdir()) == ["t10k-images-idx3-ubyte.gz",
                                                        "t10k-labels-idx1-ubyte.gz"]
    load_mnist(cache, kind="test", download=True)
    assert len(server.calls) == 2  # already there: nothing fetched
    mnist.download_mnist(cache)
    assert len(server.calls) == 4  # all four standard files now
    assert len(list(cache.iterdir())) == 4


def test_a_checksum_mismatch_tries_the_next_mirror(tmp_path, server):
    bad = mnist.MIRRORS[0] + "t10k-labels-idx1-ubyte.gz"
    server.overrides[bad] = b"tampered"
    x, y = load_mnist(tmp_path, kind="test", download=True)
    assert server.calls.count(bad) == 1
    assert server.calls[-1] == mnist.MIRRORS[1] + "t10k-labels-idx1-ubyte.gz"
    assert y.shape == (4,)


def test_when_every_mirror_fails_nothing_is_left_behind(tmp_path, server):
    for mirror in mnist.MIRRORS:
        server.overrides[mirror + "t10k-images-idx3-ubyte.gz"] = b"tampered"
    with pytest.raises(FeedforwardError, match="checksum mismatch.*expected"):
        load_mnist(tmp_path, kind="test", download=True)
    assert list(tmp_path.glob("t10k-images*")) == [] and list(tmp_path.glob(".*part")) == []


def test_a_network_error_is_reported(tmp_path, monkeypatch):
    def offline(url, dest, timeout=30.0):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(mnist, "_fetch", offline)
    with pytest.raises(FeedforwardError, match="download of t10k-images.*no route to host"):
        load_mnist(tmp_path, kind="test", download=True)
    assert list(tmp_path.iterdir()) == []


def test_the_cache_folder(tmp_path, monkeypatch, server):
    monkeypatch.delenv("FEEDFORWARD_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert mnist.default_cache_dir() == tmp_path / "xdg" / "feedforward"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert mnist.default_cache_dir() == tmp_path / "home" / ".cache" / "feedforward"
    monkeypatch.setenv("FEEDFORWARD_DATA", str(tmp_path / "data"))
    assert mnist.default_cache_dir() == tmp_path / "data"
    x, _ = load_mnist(kind="test", download=True)  # no path: the cache folder
    assert (tmp_path / "data" / "mnist" / "t10k-images-idx3-ubyte.gz").is_file()
    assert np.array_equal(x, load_mnist(tmp_path / "data" / "mnist", kind="test")[0])


# the MD5s of the four gzip files as published (yann.lecun.com, and the mirrors since)
PUBLISHED_MD5 = {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                 "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
                 "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
                 "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}


def test_the_checksum_table_holds_the_published_md5s_in_the_form_md5_returns(tmp_path):
    assert mnist.CHECKSUMS == PUBLISHED_MD5
    # the download compares md5()'s hexdigest with the table: 32 lowercase hex digits
    # are the only form that can ever match
    data = bytes(range(256)) * 5000  # over one 1 MiB read chunk
    (tmp_path / "f").write_bytes(data)
    assert mnist.md5(tmp_path / "f") == hashlib.md5(data).hexdigest()
    for value in [*mnist.CHECKSUMS.values(), mnist.md5(tmp_path / "f")]:
        assert re.fullmatch("[0-9a-f]{32}", value), value
