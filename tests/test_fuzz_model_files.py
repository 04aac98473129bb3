"""Hostile model files: ``load_model`` returns a valid model or raises FeedforwardError.

Nothing else may escape it: no RecursionError, MemoryError, KeyError, TypeError, OverflowError,
SafetensorError, UnicodeDecodeError or OSError, whatever the bytes. The hostile files come from
hypothesis strategies (derandomized, so CI runs the same files every time) that mutate real
model files of several architectures (truncation, bit flips, byte edits, the header length,
the tensor index, the metadata, every position of the JSON configs, every class name) or build
headers from scratch. Two subprocess checks complete the property: no name read from a file is
ever imported or executed (audit hooks), and a batch of hostile files, bombs included, is
refused in bounded memory.
"""

from __future__ import annotations

import copy
import json
import math
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import feedforward as ff
from feedforward import saving
from feedforward._registry import _key

SRC = Path(__file__).resolve().parents[1] / "src"


# FF_FUZZ_SCALE=20 runs twenty times the examples, freshly random each run (to hunt, not in CI)
SCALE = float(os.environ.get("FF_FUZZ_SCALE", "1"))


def fuzz(max_examples):
    """Hypothesis settings for the fuzz tests: reproducible, no deadline, no database."""
    return settings(max_examples=int(max_examples * SCALE), derandomize=SCALE == 1,
                    database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much,
                                           HealthCheck.large_base_example])


def pick(draw, seq):
    """One element of a sequence known only at draw time (cheaper than a new strategy)."""
    return seq[draw(st.integers(0, len(seq) - 1))]


# ---------------------------------------------------------------------------- valid files
def _models():
    """Small trained models covering every layer kind, preprocessing and optimizer slots."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 4)), rng.integers(0, 3, 16)
    dense = ff.Sequential([ff.Dense(3, activation="relu"), ff.Dense(2)], input_dim=3, seed=0)
    dense.compile("sgd", "mse")
    deep = ff.Sequential([
        ff.Dense(5, activation=ff.activations.LeakyReLU(0.2), kernel_regularizer="l2"),
        ff.Dropout(0.3), ff.Maxout(3, pieces=2), ff.Activation("tanh"),
        ff.Dense(3, activation="softmax", kernel_constraint="max_norm"),
    ], seed=1)
    deep.compile(ff.optimizers.Adam(0.01), "categorical_crossentropy", ["accuracy"])
    deep.fit(x, y, epochs=1, batch_size=8, verbose=0)
    scaled = ff.Sequential([ff.Dense(1, activation="sigmoid")], seed=2, classes=["no", "yes"],
                           preprocessing=[ff.data.StandardScaler(), ff.data.MinMaxScaler()])
    scaled.compile(ff.optimizers.RMSprop(momentum=0.5), "binary_crossentropy", ["accuracy"])
    scaled.fit(x, y % 2, epochs=1, batch_size=8, verbose=0)
    pixels = ff.Sequential([ff.Dropout(0.1), ff.Dense(2)], seed=3, dtype="float64",
                           preprocessing=[ff.data.ImageMeanSubtraction("pixel")])
    pixels.compile(ff.optimizers.Nadam(learning_rate={"class_name": "exponential_decay",
                                                      "config": {"initial_learning_rate": 0.1,
                                                                 "decay_steps": 10,
                                                                 "decay_rate": 0.5}}),
                   "mse")
    pixels.fit(x, x[:, :2], epochs=1, batch_size=8, verbose=0)
    bare = ff.Sequential([ff.Maxout(2, pieces=3, use_bias=False)], input_dim=2, seed=4)
    return {"dense": dense, "deep": deep, "scaled": scaled, "pixels": pixels, "bare": bare}


@cache
def base_files() -> dict[str, bytes]:
    """The bytes of each model's file, written by ``save`` as users write them."""
    out = {}
    with tempfile.TemporaryDirectory() as d:
        for name, model in _models().items():
            path = Path(d) / f"{name}.safetensors"
            model.save(path)
            out[name] = path.read_bytes()
    return out


BASES = ["bare", "deep", "dense", "pixels", "scaled"]


def split(raw: bytes):
    """A file's header (parsed) and its data bytes."""
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def join(header, data: bytes) -> bytes:
    """A file from a header (a dict, or JSON text written by hand) and data bytes."""
    text = header if isinstance(header, bytes) else (
        header.encode() if isinstance(header, str) else dumps(header).encode())
    return struct.pack("<Q", len(text)) + text + data


# JSON values no Python object dumps to; a marker string stands for each in generated values
RAW = {
    "big_int": "9" * 5000,  # beyond Python's int digit limit: json.loads raises ValueError
    "neg_big_int": "-" + "9" * 5000,
    "huge_float": "1e999",  # inf
    "deep_lists": "[" * 10_000 + "]" * 10_000,  # RecursionError in json.loads
    "deep_dicts": '{"a":' * 10_000 + "1" + "}" * 10_000,
    "deep_mixed": '[{"a":' * 3000 + "0" + "}]" * 3000,
    "over_depth": "[" * 200 + "]" * 200,  # under the recursion limit, over any real config
    "many_values": "[" + ",".join(["0"] * 300_000) + "]",
}


def dumps(value) -> str:
    text = json.dumps(value)
    for name, raw in RAW.items():
        text = text.replace(f'"@raw:{name}"', raw)
    return text


# ---------------------------------------------------------------------------- the property
SAMPLE: list[bytes] = []  # some generated files, kept for the memory batch
SAMPLE_SIZE = 2000


@pytest.fixture(scope="module")
def scratch():
    """A folder in memory where possible: one write per generated file."""
    root = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(dir=root) as d:
        yield Path(d)


def load(data: bytes, folder: Path):
    """``load_model`` on ``data``: the model, or the FeedforwardError, which must name the file.

    Any other exception propagates and fails the test.
    """
    path = folder / "hostile.safetensors"
    path.write_bytes(data)
    if len(SAMPLE) < SAMPLE_SIZE and len(data) < 2**16 and zlib.crc32(data) % 5 == 0:
        SAMPLE.append(data)  # replayed in a subprocess that measures memory
    try:
        model = ff.load_model(path)
    except ff.FeedforwardError as e:
        assert str(path) in str(e), f"the error does not name the file: {e}"
        return e
    assert_valid(model)
    return model


def assert_valid(model):
    """A loaded model is built, its weights fit its config, and it predicts or refuses clearly."""
    assert isinstance(model, ff.Sequential) and model.built
    assert model.params.size == sum(layer.count_params() for layer in model.layers)
    assert np.isfinite(model.params).all()
    if model.input_dim > 10_000:  # a parameter-free model may declare any width
        return
    try:
        with np.errstate(all="ignore"):
            out = model.predict(np.zeros((2, model.input_dim)))
    except ff.FeedforwardError:  # e.g. statistics of another width than the model's input
        return
    assert out.shape == (2, *model.output_shape[1:])


def refused(data: bytes, folder: Path) -> ff.FeedforwardError:
    outcome = load(data, folder)
    assert isinstance(outcome, ff.FeedforwardError), "a hostile file was accepted"
    return outcome


def test_the_base_files_load_and_predict_as_saved(scratch):
    # the mutations start from valid files: each loads and predicts like the model it came from
    x = np.random.default_rng(5).normal(size=(3, 4))
    for name, model in _models().items():
        loaded = load(base_files()[name], scratch)
        assert isinstance(loaded, ff.Sequential), loaded
        xi = x[:, :model.input_dim]
        np.testing.assert_array_equal(loaded.predict(xi), model.predict(xi))
        assert type(loaded.optimizer) is type(model.optimizer)


# ---------------------------------------------------------------------------- raw bytes
bases = st.sampled_from(BASES)


@st.composite
def truncated(draw):
    """A strict prefix, its length drawn in each region: the length, the header, the data."""
    raw = base_files()[draw(bases)]
    n = int.from_bytes(raw[:8], "little")
    region = pick(draw, [(0, 8), (8, 8 + n), (8 + n, len(raw))])
    return raw[:min(draw(st.integers(*region)), len(raw) - 1)]


flips = st.lists(st.tuples(st.integers(0, 2**20), st.integers(0, 7)), min_size=1, max_size=8)
edits = st.lists(st.tuples(st.sampled_from(["set", "insert", "delete"]), st.integers(0, 2**20),
                           st.integers(0, 255)), min_size=1, max_size=6)
lengths = st.one_of(st.sampled_from(["2**63", "2**64-1", "2**63-1", "2**32", "len", "len-7",
                                     "max+1", "0", "1", "2"]),
                    st.integers(0, 2**64 - 1), st.integers(-16, 16))


@st.composite
def bit_flipped(draw):
    raw = bytearray(base_files()[draw(bases)])
    for pos, bit in draw(flips):
        raw[pos % len(raw)] ^= 1 << bit
    return bytes(raw)


@st.composite
def byte_edited(draw):
    raw = bytearray(base_files()[draw(bases)])
    for op, pos, value in draw(edits):
        pos %= len(raw)
        if op == "set":
            raw[pos] = value
        elif op == "insert":
            raw.insert(pos, value)
        else:
            del raw[pos]
    return bytes(raw)


@st.composite
def length_prefixed(draw):
    """The 8-byte header length replaced: bombs, past the end, off by a little."""
    raw = base_files()[draw(bases)]
    n = int.from_bytes(raw[:8], "little")
    length = draw(lengths)
    if isinstance(length, str):  # a named bomb or a length near the file's
        length = eval(length, {"len": len(raw), "max": saving.MAX_HEADER_BYTES})
    elif -16 <= length <= 16:  # near the true length
        length = max(0, n + length)
    return struct.pack("<Q", length if length != n else n + 1) + raw[8:]


def test_every_truncation_class_is_refused(scratch):
    for raw in base_files().values():
        n = int.from_bytes(raw[:8], "little")
        for k in sorted({0, 1, 7, 8, 9, 8 + n // 2, 8 + n - 1, 8 + n, 8 + n + 1, len(raw) - 1}):
            error = refused(raw[:k], scratch)
            assert "truncated" in str(error)


@fuzz(900)
@given(truncated())
def test_truncated_files_are_refused(scratch, data):
    refused(data, scratch)


@fuzz(2000)
@given(bit_flipped())
def test_bit_flips_anywhere(scratch, data):
    load(data, scratch)


@fuzz(1500)
@given(byte_edited())
def test_byte_edits_anywhere(scratch, data):
    load(data, scratch)


@fuzz(500)
@given(length_prefixed())
def test_a_wrong_header_length_is_refused(scratch, data):
    refused(data, scratch)


@pytest.mark.parametrize("length", [2**63, 2**64 - 1, saving.MAX_HEADER_BYTES + 1])
def test_header_bombs_are_refused_before_reading(scratch, length):
    error = refused(struct.pack("<Q", length) + b"{}", scratch)
    assert str(length) in str(error)
    with pytest.raises(ff.FeedforwardError, match=str(length)):  # the same checks
        saving.read_metadata(scratch / "hostile.safetensors")


def test_a_huge_header_in_a_large_file_is_refused(scratch):
    # the file holds the bytes its header length claims, but more than any model needs
    n = saving.MAX_HEADER_BYTES + 8
    text = b'{"__metadata__":{"format":"feedforward","x":"' + b"x" * n + b'"}}'
    error = refused(struct.pack("<Q", len(text)) + text, scratch)
    assert "at most" in str(error)


# ---------------------------------------------------------------------------- the tensor index
DTYPES = ["F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "I8", "I16", "I32", "I64", "U8",
          "U16", "U32", "U64", "BOOL", "X32", "f32", "", None, 1, ["F32"]]
ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I8": 1,
            "I16": 2, "I32": 4, "I64": 8, "U8": 1, "U16": 2, "U32": 4, "U64": 8, "BOOL": 1}
TERABYTES = [[10**6, 10**6], [2**40], [2**32, 2**32], [2**62, 4], [2**64 - 1], [0, 10**12],
             [10**12, 0], [-1], [], [1] * 64, ["3"], None, 3.0]


def _itemsize(dtype):
    return ITEMSIZE.get(dtype) if isinstance(dtype, str) else None


def _repack(header, data: bytes, rnd_bytes: bytes) -> tuple[dict, bytes]:
    """Offsets recomputed from dtypes and shapes, and data of the matching size, so that the
    file passes safetensors' own checks and reaches the loader's (where sizes are small)."""
    out, offset = {}, 0
    for k, v in header.items():
        if k == "__metadata__":
            out[k] = v
            continue
        shape, size = v.get("shape"), _itemsize(v.get("dtype"))
        if (size is None or not isinstance(shape, list)
                or not all(type(d) is int and 0 <= d < 2**20 for d in shape)
                or math.prod(shape) * size > 2**16):
            return header, data
        nbytes = math.prod(shape) * size
        out[k] = {**v, "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    return out, (rnd_bytes * (offset // max(1, len(rnd_bytes)) + 1))[:offset]


dtypes = st.sampled_from(DTYPES)
shapes = st.sampled_from(TERABYTES) | st.lists(st.integers(0, 9), max_size=3)
any_offsets = st.lists(st.integers(0, 2**64 - 1), max_size=3)
fields = st.sampled_from(["dtype", "shape", "data_offsets", "drop", "rename", "extra",
                          "transpose"])
fill = st.binary(min_size=1, max_size=64)
NEW_NAMES = ["layers.99.kernel", "optimizer.m.7", "preprocessing.5.mean", "x" * 300]


@st.composite
def index_mutated(draw):
    """Tensor entries with another dtype, shape, offsets or name; repacked or not."""
    header, data = split(base_files()[draw(bases)])
    for _ in range(draw(st.integers(1, 3))):
        names = sorted(k for k in header if k != "__metadata__")
        if not names:
            break
        name = pick(draw, names)
        entry = dict(header[name])
        field = draw(fields)
        offsets = entry.get("data_offsets")
        begin, end = offsets if isinstance(offsets, list) and len(offsets) == 2 else (0, 4)
        if field == "dtype":
            entry["dtype"] = draw(dtypes)
        elif field == "shape":
            entry["shape"] = draw(shapes)
        elif field == "transpose" and isinstance(entry.get("shape"), list):
            entry["shape"] = entry["shape"][::-1]
        elif field == "data_offsets":
            entry["data_offsets"] = pick(draw, [  # reversed, empty, overlapping, outside
                [end, begin], [begin, begin], [0, end], [begin, len(data) + 4],
                [begin - 4, end - 4], [2**64 - 1, 2**64 - 1], [begin, 2**64 - 1], [-1, end],
                [begin], None, "0:4", draw(any_offsets)])
        elif field == "extra":
            entry["evil"] = {"class_name": "os.system"}
        if field == "drop":
            del header[name]
        elif field == "rename":
            header[pick(draw, names + NEW_NAMES)] = entry
        else:
            header[name] = entry
    if draw(st.booleans()):
        header, data = _repack(header, data, draw(fill))
    return join(header, data)


class Raw(str):
    """JSON text to embed as it is."""


def _entries_text(items) -> str:
    """A JSON object written by hand, so that a key may appear twice."""
    return "{" + ",".join(f"{json.dumps(k)}:{v if isinstance(v, Raw) else dumps(v)}"
                          for k, v in items) + "}"


@st.composite
def duplicated(draw):
    """A tensor name, a metadata key or the metadata object twice in the header's JSON text."""
    header, data = split(base_files()[draw(bases)])
    meta, tensors = list(header.pop("__metadata__").items()), list(header.items())
    what = pick(draw, ["tensor", "metadata_key", "metadata"])
    if what == "tensor":  # a name twice, the second time with another tensor's entry
        name, other = pick(draw, tensors)[0], pick(draw, tensors)[1]
        tensors.insert(draw(st.integers(0, len(tensors))), (name, other))
    elif what == "metadata_key":
        key = pick(draw, meta)[0]
        meta.insert(draw(st.integers(0, len(meta))), (key, pick(draw, [
            "feedforward", "2", "{}", "null", json.dumps({"input_dim": 1, "layers": []})])))
    items = [("__metadata__", Raw(_entries_text(meta))), *tensors]
    if what == "metadata":
        items.insert(draw(st.integers(0, len(items))), ("__metadata__", {"format": "other"}))
    return join(_entries_text(items), data)


@fuzz(1500)
@given(index_mutated())
def test_tensor_index_mutations(scratch, data):
    load(data, scratch)


@fuzz(300)
@given(duplicated())
def test_duplicate_names_in_the_header_are_refused(scratch, data):
    # safetensors would keep the last of two entries; a reader that keeps the first would see
    # another model in the same file
    assert "appears twice" in str(refused(data, scratch))


def test_duplicate_keys_in_a_config_are_refused(scratch):
    header, data = split(base_files()["dense"])
    config = header["__metadata__"]["config"]
    header["__metadata__"]["config"] = config[:-1] + ', "input_dim": 99}'
    assert "appears twice" in str(refused(join(header, data), scratch))


class _Declared:
    """A stand-in for an open safetensors file that declares shapes without their bytes."""

    def __init__(self, shapes):
        self.shapes = shapes

    def keys(self):
        return list(self.shapes)

    def get_slice(self, k):
        return type("Slice", (), {"get_shape": lambda _: list(self.shapes[k]),
                                  "get_dtype": lambda _: "F32"})()


def test_parameters_beyond_the_file_size_are_refused_before_allocating():
    # safetensors checks this too; the loader does not depend on it
    shapes = {"layers.0.kernel": (10**6, 10**6), "layers.0.bias": (10**6,)}
    with pytest.raises(ff.FeedforwardError, match="truncated"):
        saving._check_shapes(_Declared(shapes), shapes, np.float32, 4 * 10**6, "m.safetensors")
    saving._check_shapes(_Declared(shapes), shapes, np.float32, 4 * (10**12 + 10**6), "m")


def test_terabyte_shapes_are_refused_without_allocating(scratch):
    header, data = split(base_files()["dense"])
    meta = header["__metadata__"]
    config = json.loads(meta["config"])
    config["input_dim"], config["layers"][0]["config"]["units"] = 10**6, 10**6
    header = {"__metadata__": {**meta, "config": json.dumps(config)},
              "layers.0.kernel": {"dtype": "F32", "shape": [10**6, 10**6],
                                  "data_offsets": [0, 4 * 10**12]}}
    assert "truncated" in str(refused(join(header, data), scratch))


@pytest.mark.parametrize("dtype", ["F64", "F16", "BF16", "F8_E4M3", "I8", "U8", "BOOL", "I64"])
def test_a_wrong_dtype_is_refused_by_name(scratch, dtype):
    header, data = split(base_files()["dense"])
    header["layers.0.kernel"]["dtype"] = dtype
    header, data = _repack(header, data, b"\x01")
    assert dtype in str(refused(join(header, data), scratch))


@pytest.mark.parametrize("tensor", ["layers.0.kernel", "optimizer.m.0", "optimizer.v.0"])
def test_non_finite_weights_and_slots_are_refused(scratch, tensor):
    header, data = split(base_files()["deep"])
    begin, end = header[tensor]["data_offsets"]
    nan = np.full((end - begin) // 4, np.nan, np.float32).tobytes()
    assert "finite" in str(refused(join(header, data[:begin] + nan + data[end:]), scratch))


# ---------------------------------------------------------------------------- metadata
ENTRIES = ["format", "format_version", "config", "compile", "optimizer_state"]
SPECIAL = [
    None, True, False, 0, 1, -1, -2**63, 2**63, 2**64, 10**30, -10**30, 0.5, -0.5, 1e308,
    math.nan, math.inf, -math.inf, "", "relu", "0", "None", "x" * 100_000, "\udcff",
    [], {}, [None], [[[]]], {"": None}, [1, 2, 3], {"class_name": "Dense", "config": None},
    {"class_name": "os.system", "config": {"command": "touch pwned"}},
    ["x" * 2**20] + ["a"] * 64,  # as labels: a fixed-width array of 272 MB
    *(f"@raw:{name}" for name in RAW if name != "many_values"),  # that one: tested alone
]
leaves = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)


def containers(children):
    return st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children,
                                                            max_size=3)


hostile_values = st.one_of(st.sampled_from(SPECIAL), leaves,
                           st.recursive(leaves, containers, max_leaves=8))
hostile_texts = st.one_of(
    st.sampled_from(["", "{", "null", "1", "[]", '"str"', "NaN", "1e999", "9" * 5000,
                     "\x00", "x" * 2**21, *(v for k, v in RAW.items() if k != "many_values")]),
    st.text(max_size=20), hostile_values.map(dumps))
short_text = st.text(max_size=10)
non_strings = hostile_values.filter(lambda v: not isinstance(v, str))


@st.composite
def metadata_mutated(draw):
    """Metadata entries missing, not strings, enormous, or not the JSON they should be."""
    header, data = split(base_files()[draw(bases)])
    meta = header["__metadata__"]
    how = pick(draw, ["drop", "text", "value", "whole", "extra"])
    key = pick(draw, ENTRIES)
    if how == "drop":
        del meta[key]
    elif how == "text":
        meta[key] = draw(hostile_texts)
    elif how == "value":  # not a string: safetensors metadata values are strings
        meta[key] = draw(non_strings)
    elif how == "whole":
        header["__metadata__"] = draw(hostile_values)
    else:
        meta[draw(short_text)] = draw(short_text)
    return join(header, data)


@fuzz(800)
@given(metadata_mutated())
def test_metadata_mutations(scratch, data):
    load(data, scratch)


@pytest.mark.parametrize("entry", ["config", "compile", "optimizer_state"])
@pytest.mark.parametrize("raw", ["deep_lists", "deep_dicts", "deep_mixed", "over_depth"])
def test_configs_nested_thousands_deep_are_refused(scratch, entry, raw):
    header, data = split(base_files()["deep"])
    header["__metadata__"][entry] = RAW[raw]
    error = refused(join(header, data), scratch)
    assert "nested" in str(error) and entry in str(error)


@pytest.mark.parametrize("entry", ["config", "compile", "optimizer_state"])
@pytest.mark.parametrize("raw", ["big_int", "many_values"])
def test_huge_json_values_are_refused(scratch, entry, raw):
    header, data = split(base_files()["deep"])
    header["__metadata__"][entry] = RAW[raw]
    assert entry in str(refused(join(header, data), scratch))


# ---------------------------------------------------------------------------- configs
def positions(value, path=()):
    """Every path into a JSON value, the root included."""
    yield path
    items = value.items() if isinstance(value, dict) else (
        enumerate(value) if isinstance(value, list) else ())
    for k, v in items:
        yield from positions(v, (*path, k))


def replaced(value, path, new):
    value = copy.deepcopy(value)
    if not path:
        return new
    parent = value
    for k in path[:-1]:
        parent = parent[k]
    parent[path[-1]] = new
    return value


def deleted(value, path):
    value = copy.deepcopy(value)
    parent = value
    for k in path[:-1]:
        parent = parent[k]
    del parent[path[-1]]
    return value


@st.composite
def config_mutated(draw):
    """One to three positions of a JSON entry replaced, deleted or extended; tensors as saved."""
    header, data = split(base_files()[draw(bases)])
    meta = header["__metadata__"]
    key = pick(draw, ["config", "config", "compile", "optimizer_state"])
    value = json.loads(meta[key])
    for _ in range(draw(st.integers(1, 3))):
        path = pick(draw, list(positions(value)))
        how = pick(draw, ["replace", "replace", "delete", "add"])
        if how == "delete" and path:
            value = deleted(value, path)
        elif how == "add":
            value = copy.deepcopy(value)
            node = value
            for k in path:
                node = node[k]
            if isinstance(node, dict):
                node[pick(draw, ["evil", "module", "__class__", "self", "config"])] = \
                    draw(hostile_values)
            elif isinstance(node, list):
                node.append(draw(hostile_values))
        else:
            value = replaced(value, path, draw(hostile_values))
    meta[key] = dumps(value)
    return join(header, data)


@fuzz(3000)
@given(config_mutated())
def test_wrong_types_at_every_config_position(scratch, data):
    load(data, scratch)


# ---------------------------------------------------------------------------- class names
IMPORTING_NAMES = ["os.system", "builtins.eval", "builtins.exec", "subprocess.Popen",
                   "subprocess.call", "importlib.import_module", "__import__", "eval", "exec",
                   "posix.system", "pickle.loads", "numpy.load", "ctypes.CDLL",
                   "feedforward.saving._atomic_write", "Sequential", "__builtins__",
                   "__class__", "Dense.__init__", "../../etc/passwd", "Dense\x00"]
KNOWN = {_key(n) for reg in (ff.layers.registry, ff.activations.registry,
                             ff.initializers.registry, ff.regularizers.registry,
                             ff.regularizers.constraints, ff.optimizers.registry,
                             ff.losses.registry, ff.metrics.registry, ff.schedules.registry,
                             ff.data.preprocessing.registry) for n in reg._map}


foreign_names = st.sampled_from(IMPORTING_NAMES) | st.text(max_size=30).filter(
    lambda s: _key(s) not in KNOWN)


def keras_style(name):
    module, _, cls = name.rpartition(".")
    return {"module": module or "builtins", "class_name": cls or name, "config": {},
            "registered_name": name}


def class_name_positions(value, path=()):
    """Paths of every dict in a JSON value that has a ``class_name``."""
    return [p for p in positions(value, path) if p and p[-1] == "class_name"]


def with_class(value, path, name, style):
    """``value`` with the class at ``path`` named ``name`` (plainly, or as Keras writes it)."""
    if style == "plain":
        return replaced(value, path, name)
    if style == "keras":
        return replaced(value, path[:-1], keras_style(name))
    return replaced(replaced(value, path, name), (*path[:-1], "module"), "os")


def hostile_class_files():
    """For each base file and each class-name position: a file per importing name and style."""
    for raw in base_files().values():
        header, data = split(raw)
        meta = header["__metadata__"]
        for key in ("config", "compile"):
            value = json.loads(meta[key])
            for path in class_name_positions(value):
                for name in IMPORTING_NAMES:
                    for style in ("plain", "keras", "module_key"):
                        new = {**meta, key: json.dumps(with_class(value, path, name, style))}
                        yield join({**header, "__metadata__": new}, data)


@st.composite
def class_renamed(draw):
    header, data = split(base_files()[draw(bases)])
    meta = header["__metadata__"]
    values = {k: json.loads(meta[k]) for k in ("config", "compile")}
    key = pick(draw, [k for k, v in values.items() if class_name_positions(v)])
    value = values[key]
    path = pick(draw, class_name_positions(value))
    name = draw(foreign_names)
    style = pick(draw, ["plain", "keras", "module_key"])
    meta[key] = json.dumps(with_class(value, path, name, style))
    return join(header, data)


@fuzz(600)
@given(class_renamed())
def test_unknown_class_names_are_refused(scratch, data):
    assert "unknown" in str(refused(data, scratch))


# ---------------------------------------------------------------------------- from scratch
TENSOR_NAMES = ["layers.0.kernel", "layers.0.bias", "layers.1.kernel", "layers.1.bias",
                "optimizer.momentum.0", "optimizer.m.0", "preprocessing.0.mean",
                "preprocessing.0.scale", "__metadata__", "layers.0", "layers.-1.kernel"]


small_config = st.fixed_dictionaries({
    "input_dim": st.integers(1, 3), "dtype": st.sampled_from(["float32", "float64"]),
    "layers": st.lists(st.sampled_from([
        {"class_name": "Dense", "config": {"units": 2}},
        {"class_name": "Dense", "config": {"units": 1, "use_bias": False}},
        {"class_name": "Dropout", "config": {"rate": 0.5}},
        {"class_name": "Maxout", "config": {"units": 1, "pieces": 2}}]), min_size=1, max_size=3)})
tensor_names = st.sampled_from(TENSOR_NAMES) | st.text(max_size=8)
small_shapes = st.sampled_from(TERABYTES) | st.lists(st.integers(0, 4), max_size=2)
spans = st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 64), max_size=3)
COMPILE = json.dumps({"optimizer": {"class_name": "SGD", "config": {"momentum": 0.9}},
                      "loss": {"class_name": "mse", "config": {}}, "metrics": []})
scratch_meta = st.fixed_dictionaries({
    "format": st.sampled_from(["feedforward", "feedforward", "keras", ""]),
    "format_version": st.sampled_from(["1", "1", "0", "2", ""]),
    "compile": st.sampled_from(["null", COMPILE]) | hostile_texts})


def implied_tensors(config) -> dict:
    """The tensor entries a small config implies, as the loader computes them."""
    model = ff.Sequential.from_config({**config, "input_dim": None})
    shapes = model.param_shapes(config["input_dim"])
    dtype = "F32" if config["dtype"] == "float32" else "F64"
    return {k: {"dtype": dtype, "shape": list(s)} for k, s in shapes.items()}


@st.composite
def from_scratch(draw):
    """Headers written from nothing: a consistent small model or arbitrary entries, with
    arbitrary metadata, offsets and data length."""
    config = draw(small_config)
    if draw(st.booleans()):
        entries = list(implied_tensors(config).items())
    else:
        entries = [(draw(tensor_names), {"dtype": draw(dtypes), "shape": draw(small_shapes)})
                   for _ in range(draw(st.integers(0, 4)))]
    header, offset = [], 0
    for name, entry in entries:
        size, shape = _itemsize(entry["dtype"]), entry["shape"]
        if size and isinstance(shape, list) and all(type(d) is int and 0 <= d < 9
                                                    for d in shape) and draw(st.booleans()):
            span = [offset, offset + size * math.prod(shape)]
            offset = span[1]
        else:
            span = draw(spans)
        header.append((name, {**entry, "data_offsets": span}))
    meta = {**draw(scratch_meta),
            "config": dumps(config if draw(st.booleans()) else draw(hostile_values))}
    if draw(st.booleans()):
        header.insert(draw(st.integers(0, len(header))), ("__metadata__", meta))
    length = max(0, offset + pick(draw, [0, 0, 0, -1, 1, 7]))
    data = (draw(fill) * (length + 1))[:length]
    return join(_entries_text(header), data)


@fuzz(1000)
@given(from_scratch())
def test_headers_built_from_scratch(scratch, data):
    load(data, scratch)


# ---------------------------------------------------------------------------- other files
def _pickle(path):
    path.write_bytes(pickle.dumps(_models()["dense"]))


def _zip(path):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("model.safetensors", base_files()["dense"])


@pytest.mark.parametrize("make", [
    _pickle, _zip, lambda p: p.write_bytes(b""), lambda p: p.mkdir(), lambda p: None,
    lambda p: p.write_text("format: feedforward\n"),
], ids=["pickle", "zip", "empty", "folder", "missing", "text"])
def test_other_files_are_refused_naming_the_path(tmp_path, make):
    path = tmp_path / "model.safetensors"
    make(path)
    with pytest.raises(ff.FeedforwardError) as info:
        ff.load_model(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("path", [None, 3, "a\x00b"])
def test_a_path_that_is_not_a_path_is_refused(path):
    with pytest.raises(ff.FeedforwardError, match="path"):
        ff.load_model(path)


def test_extra_metadata_round_trips_and_may_not_replace_the_model(tmp_path):
    model, path = _models()["dense"], tmp_path / "m.safetensors"
    saving.save_model(model, path, extra_metadata={"training_state": '{"epoch": 3}'})
    assert saving.read_metadata(path)["training_state"] == '{"epoch": 3}'
    assert isinstance(ff.load_model(path), ff.Sequential)
    for bad in ({"config": "{}"}, {"epoch": 3}, {1: "x"}):
        with pytest.raises(ff.FeedforwardError, match="extra_metadata"):
            saving.save_model(model, path, extra_metadata=bad)


# ---------------------------------------------------------------------------- subprocesses
def run_child(code: str, folder: Path) -> dict:
    """Run ``code`` in a fresh interpreter over the files in ``folder``; its JSON result."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


AUDIT_CHILD = """
import json, sys
from pathlib import Path
import feedforward as ff
import feedforward.schedules  # imported on demand by optimizers with a schedule
folder = Path(sys.argv[1])
for path in sorted(folder.glob("valid-*")):  # warm-up: everything a valid load imports
    ff.load_model(path)
before = set(sys.modules)
WATCHED = ("import", "exec", "compile", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
           "os.fork", "subprocess.Popen", "ctypes.dlopen", "pickle.find_class", "marshal.loads")
events = []
sys.addaudithook(lambda event, args: events.append([event, repr(args)[:200]])
                 if event.startswith(WATCHED) else None)
refused, other = 0, []
for path in sorted(folder.glob("hostile-*")):
    try:
        ff.load_model(path)
        other.append([path.name, "loaded"])
    except ff.FeedforwardError:
        refused += 1
    except BaseException as e:
        other.append([path.name, repr(e)[:300]])
new_modules, seen = sorted(set(sys.modules) - before), events[:20]
import graphlib  # control: the hook sees a new import
print(json.dumps({"refused": refused, "other": other, "events": seen, "new_modules": new_modules,
                  "control": [e for e, _ in events[len(seen):]]}))
"""


def test_no_name_from_a_file_is_ever_imported_or_executed(tmp_path):
    for name, raw in base_files().items():
        (tmp_path / f"valid-{name}.safetensors").write_bytes(raw)
    count = 0
    for count, raw in enumerate(hostile_class_files(), 1):
        (tmp_path / f"hostile-{count:05d}.safetensors").write_bytes(raw)
    result = run_child(AUDIT_CHILD, tmp_path)
    assert result["other"] == []
    assert result["refused"] == count > 1000
    assert result["events"] == []
    assert result["new_modules"] == []
    assert "import" in result["control"]  # the hook was listening


MEMORY_CHILD = """
import json, resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))  # a bomb fails, not the machine
import feedforward as ff
outcomes, other = {"loaded": 0, "refused": 0}, []
for path in sorted(Path(sys.argv[1]).iterdir()):
    try:
        ff.load_model(path)
        outcomes["loaded"] += 1
    except ff.FeedforwardError:
        outcomes["refused"] += 1
    except BaseException as e:
        other.append([path.name, repr(e)[:300]])
status = Path("/proc/self/status").read_text()
hwm = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")),
           resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
print(json.dumps({**outcomes, "other": other, "peak_mb": hwm / 1024}))
"""


def bombs():
    """Files that would need terabytes or gigabytes if a size were trusted before checking."""
    header, data = split(base_files()["dense"])
    meta = header["__metadata__"]
    config = json.loads(meta["config"])
    config["input_dim"], config["layers"][0]["config"]["units"] = 10**6, 10**6
    big = {"__metadata__": {**meta, "config": json.dumps(config)},
           "layers.0.kernel": {"dtype": "F32", "shape": [10**6, 10**6],
                               "data_offsets": [0, 4 * 10**12]}}
    yield join(big, data)
    for length in (2**63, 2**64 - 1, saving.MAX_HEADER_BYTES + 1, 10**9):
        yield struct.pack("<Q", length) + base_files()["dense"][8:]
    labels = {**json.loads(meta["config"]), "preprocessing": [
        {"class_name": "label_encoder", "config": {"classes": ["x" * 2**20] + ["a"] * 64}}]}
    yield join({**header, "__metadata__": {**meta, "config": json.dumps(labels)}}, data)
    wide = {"input_dim": 10**12, "layers": [{"class_name": "Dropout", "config": {"rate": 0.5}}],
            "preprocessing": [{"class_name": "image_mean_subtraction",
                               "config": {"mode": "pixel", "image_shape": [10**6, 10**6]}}]}
    yield join({"__metadata__": {**meta, "config": json.dumps(wide), "compile": "null"}}, b"")
    for raw in RAW.values():
        yield join({**header, "__metadata__": {**meta, "config": raw}}, data)


hostile_files = st.one_of(truncated(), bit_flipped(), byte_edited(), length_prefixed(),
                          index_mutated(), duplicated(), metadata_mutated(), config_mutated(),
                          class_renamed(), from_scratch())


def test_a_batch_of_hostile_files_is_refused_in_bounded_memory(tmp_path):
    # a sample of the files the fuzz tests above generated; generated here if run alone
    files = list(bombs()) + SAMPLE

    @fuzz(max(1, SAMPLE_SIZE - len(SAMPLE)))
    @given(hostile_files)
    def collect(data):
        files.append(data)

    if len(SAMPLE) < SAMPLE_SIZE:
        collect()
    for i, raw in enumerate(files):
        (tmp_path / f"{i:05d}.safetensors").write_bytes(raw)
    result = run_child(MEMORY_CHILD, tmp_path)
    print(f"{len(files)} hostile files: {result['refused']} refused, {result['loaded']} loaded, "
          f"peak RSS {result['peak_mb']:.1f} MB")
    assert result["other"] == []
    assert result["refused"] + result["loaded"] == len(files) >= SAMPLE_SIZE
    assert result["peak_mb"] < 200
