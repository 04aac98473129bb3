"""The model file: one safetensors file, loadable without running code.

- tensors ``layers.<i>.<name>`` (``kernel``, ``bias``), the fitted statistics of the
  preprocessing ``preprocessing.<i>.<name>`` and optimizer slots ``optimizer.<slot>.<i>``;
- metadata: ``format`` = ``"feedforward"``, ``format_version``, ``config`` (the model's JSON
  config), ``compile`` (optimizer, loss and metrics, JSON), ``optimizer_state`` (step count
  and scalar state, JSON) and, when the model has them, ``feature_names`` (a JSON list: a
  DataFrame's columns are matched to them by name after loading, as before saving).

Nothing is unpickled and nothing is imported by a name from the file: classes resolve only
through the registries. Files are written to a temporary file and renamed into place atomically.

This module imports no model class: ``Sequential.save`` calls :func:`save_model`, and
:func:`feedforward.load_model` (defined in :mod:`feedforward.model`, where the class is known)
calls :func:`read_model`, so the two modules import each other in one direction only.

Every file is treated as hostile until checked: :func:`read_model` returns a model or raises
:class:`FeedforwardError`, whatever the bytes. Before anything is parsed, the header length is
checked against the file's size and :data:`MAX_HEADER_BYTES`, and a key twice in any JSON object
is refused (readers disagree on which one counts); safetensors then checks that the tensors'
offsets tile the data exactly, so no tensor can claim more bytes than the file holds. The JSON
entries are bounded in nesting depth and size, and declared shapes and dtypes are checked
against the config before any parameter memory is allocated.
"""

from __future__ import annotations

import copy
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save as st_save

from . import losses, metrics, optimizers
from .data.frames import check_names
from .data.preprocessing import LabelEncoder
from .errors import FeedforwardError, check_finite, describe
from .fileio import atomic_write

FORMAT = "feedforward"
WEIGHTS_FORMAT = "feedforward-weights"  # save_weights: tensors without config or optimizer
FORMAT_VERSION = 1
# the tensors' first name parts: a model file's, and a training checkpoint's (a model file too)
TENSOR_KINDS = ("layers", "preprocessing", "optimizer", "metrics", "callbacks")
RESERVED_KEYS = ("format", "format_version", "config", "compile", "optimizer_state",
                 "feature_names")

# Bounds on what a file may ask the loader to parse, far above any real model's needs.
KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")  # Keras's formats: not what save writes
MAX_HEADER_BYTES = 16 * 2**20  # the JSON header (tensor index and metadata)
MAX_JSON_DEPTH = 64  # nesting of one metadata entry; real configs are under 10 deep
MAX_JSON_VALUES = 200_000  # values in one metadata entry: each may become a Python object
MAX_STRING_ARRAY_BYTES = 2**26  # a list of labels becomes a fixed-width array (4 bytes a char)

_FLOAT_DTYPES = {"float16": "F16", "float32": "F32", "float64": "F64"}  # safetensors names
# the first bytes of formats that people save models in, for a clear error
_SIGNATURES = {b"\x80\x02": "a pickle", b"\x80\x03": "a pickle", b"\x80\x04": "a pickle",
               b"\x80\x05": "a pickle", b"PK\x03\x04": "a zip archive",
               b"PK\x05\x06": "a zip archive", b"\x93NUMPY": "a NumPy .npy file",
               b"\x89HDF": "an HDF5 file"}


def model_tensors(model) -> dict[str, np.ndarray]:
    """The named tensors of a model file: parameters, fitted preprocessing, optimizer slots.

    Parameters
    ----------
    model : Sequential
        A built model.

    Returns
    -------
    dict of str to ndarray
        C-contiguous arrays named ``layers.<i>.<name>`` (e.g. a Dense kernel of shape
        ``(in, units)``), ``preprocessing.<i>.<name>`` for each fitted preprocessor and
        ``optimizer.<slot>.<i>`` (each of the shape of the flat parameter buffer) when the
        model is compiled.
    """
    tensors = {f"layers.{i}.{k}": np.ascontiguousarray(p)
               for i, layer in enumerate(model.layers) for k, p in layer.params.items()}
    for i, p in enumerate(model.preprocessing):
        if p.fitted:
            tensors.update({f"preprocessing.{i}.{k}": np.ascontiguousarray(a)
                            for k, a in p.get_state().items()})
    if model.optimizer is not None:
        for slot, arrays in model.optimizer.slots.items():
            for j, a in enumerate(arrays):
                tensors[f"optimizer.{slot}.{j}"] = np.ascontiguousarray(a)
    return tensors


def check_suffix(path):
    """Refuse a name that Keras's formats use (``.keras``, ``.h5``, ``.hdf5``).

    A safetensors file under such a name would be mislabelled: Keras, h5py or a user would
    take it for what it is not.

    Parameters
    ----------
    path : str or path-like
        The file about to be written.
    """
    suffix = Path(path).suffix
    if suffix.lower() in KERAS_SUFFIXES:
        raise FeedforwardError(
            f"path: feedforward saves safetensors files; {suffix!r} is Keras's format and "
            "would be a mislabelled file: use a name ending in .safetensors")


def save_model(model, path, extra_metadata: dict | None = None):
    """Write ``model`` to ``path`` (conventionally ``*.safetensors``); see the module docstring.

    Parameters
    ----------
    model : Sequential
        A built model; its config, weights, fitted preprocessing and, when compiled, its
        optimizer's state are written.
    path : str or path-like
        The file to write, in an existing folder; it is replaced atomically. Keras's suffixes
        are refused (see :func:`check_suffix`).
    extra_metadata : dict of str to str, optional
        Further string keys to string values (e.g. JSON) kept in the file's metadata; it may
        not replace the model's own entries (:data:`RESERVED_KEYS`). Default None: none.
    """
    check_suffix(path)
    model.require_built("save")
    tensors = model_tensors(model)
    path = _writable(path, tensors)
    extra = dict(extra_metadata or {})
    for k, v in extra.items():
        if not isinstance(k, str) or not isinstance(v, str) or k in RESERVED_KEYS:
            raise FeedforwardError(
                f"extra_metadata: expected string keys other than {RESERVED_KEYS} with string "
                f"values, got {describe(k)}: {describe(v)}")
    meta = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "config": json.dumps(model.get_config()),
        "compile": json.dumps(model.get_compile_config()),
        "optimizer_state": json.dumps(model.optimizer.get_state() if model.optimizer else {}),
        **extra,
        **_names_metadata(model),
    }
    atomic_write(path, st_save(tensors, metadata=meta))


def _names_metadata(model) -> dict[str, str]:
    """``{"feature_names": JSON list}`` when the model has names, else empty."""
    names = getattr(model, "feature_names", None)
    if names is None:
        return {}
    names = check_names(names, "model: feature_names")  # "abc" is not 3 names
    check_feature_names(names, model, "model")
    return {"feature_names": json.dumps(names)}


def _writable(path, tensors) -> Path:
    """``path`` as a Path, once the tensors are finite (the loaders refuse others: never
    write what cannot load) and its folder exists."""
    for name, a in tensors.items():
        if not np.isfinite(a).all():
            what = {"layers": "weights", "optimizer": "optimizer state"}.get(
                name.split(".")[0], "preprocessing statistics")
            raise FeedforwardError(f"path: not writing {str(path)!r}: the model's {what} "
                                   "are not finite (training diverged)")
    path = Path(path)
    if not path.parent.exists():
        raise FeedforwardError(f"path: the folder {str(path.parent)!r} does not exist")
    return path


def save_weights(model, path):
    """Write the weights and fitted preprocessing of ``model`` alone (no config, no
    optimizer state) to a safetensors file, as Keras's ``save_weights``; its
    ``feature_names``, when it has them, go in the metadata.

    A model whose preprocessing keeps what it learned in its config rather than in tensors
    (a :class:`~feedforward.data.TableEncoder`) is refused: a weights file would lose it.

    Parameters
    ----------
    model : Sequential
        A built model.
    path : str or path-like
        The file to write (conventionally ``*.weights.safetensors``); Keras's suffixes are
        refused (see :func:`check_suffix`).
    """
    check_suffix(path)
    model.require_built("save_weights")
    _refuse_config_state(model, "save_weights")
    tensors = {k: a for k, a in model_tensors(model).items() if not k.startswith("optimizer.")}
    path = _writable(path, tensors)
    meta = {"format": WEIGHTS_FORMAT, "format_version": str(FORMAT_VERSION),
            **_names_metadata(model)}
    atomic_write(path, st_save(tensors, metadata=meta))


def _refuse_config_state(model, what):
    """Refuse a weights file for a model with a preprocessor that keeps what it learned in its
    config, not in tensors (a TableEncoder's categories and a LabelEncoder's classes may be
    strings): the file lacks the config, and the loaded model would fit the encoder anew on
    whatever rows it predicts."""
    for i, p in enumerate(model.preprocessing):
        if getattr(p, "takes_rows", False) or isinstance(p, LabelEncoder):
            raise FeedforwardError(
                f"{what}: preprocessing {i} ({type(p).__name__}) keeps what it learned in the "
                "model's config, which a weights file does not hold: use model.save(path) and "
                "feedforward.load_model(path)")


def load_weights(model, path):
    """Read into the built ``model`` the weights (and fitted preprocessing) of a file that
    :func:`save_weights` or :func:`save_model` wrote for a model of the same layers.

    Every tensor is checked (names, shapes, dtype, finite) and read, and every
    preprocessor's state validated, before anything of the model changes, so a refused file
    leaves the model as it was. Refused: a tensor the model has no place for, statistics for
    a preprocessor it does not have, no statistics for one it has fitted, and feature names
    other than the model's (a model without names takes the file's).

    Parameters
    ----------
    model : Sequential
        A built model.
    path : str or path-like
        A weights file or a model file.
    """
    model.require_built("load_weights")
    _refuse_config_state(model, "load_weights")
    path, data_bytes, reader = _check_file(path)
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            if meta.get("format") not in (FORMAT, WEIGHTS_FORMAT):
                raise FeedforwardError(f"{path}: not a feedforward weights or model file (no "
                                       "'format' entry of ours in its safetensors metadata)")
            expected = model.param_shapes(model.input_dim)
            _check_shapes(f, expected, model.dtype, data_bytes, path, "the model")
            staged = [np.empty_like(a) for a in model.param_arrays()]
            for name, target in zip(expected, staged, strict=True):
                reader.read_into(name, target)
            states = _staged_preprocessing(model, f, path, replace=True)
            names = _file_names(meta, model, path)
    except (SafetensorError, OSError) as e:
        raise _unreadable(path, e) from None
    for target, value in zip(model.param_arrays(), staged, strict=True):
        target[...] = value
    _set_preprocessing(model, states)
    if names is not None:
        model.feature_names = names


def _file_names(meta, model, path) -> list | None:
    """The file's feature names, checked against the model's own when it has them."""
    if "feature_names" not in meta:
        return None
    names = _json(meta, "feature_names", path)
    check_feature_names(names, model, str(path))
    own = getattr(model, "feature_names", None)
    if own is not None and list(own) != names:
        raise FeedforwardError(f"{path}: the file's feature_names {names} are not the model's "
                               f"{list(own)}; its weights belong to other inputs")
    return names


class Files:
    """A model's methods over this module's files: ``save``, ``save_weights`` and
    ``load_weights`` (``load_model`` builds a model, so it is a function)."""

    def save(self, path):
        """Write the model (config, weights, optimizer state) to one safetensors file.

        Non-finite weights or optimizer state are refused, so a diverged run never
        overwrites a good file, and every file written is one that ``load_model`` reads.

        Parameters
        ----------
        path : str or path-like
            The file to write, conventionally ``*.safetensors``; read it back with
            :func:`feedforward.load_model`. A name ending in ``.keras``, ``.h5`` or ``.hdf5``
            is refused: those are Keras's formats, and this file is not one.
        """
        save_model(self, path)

    def save_weights(self, path):
        """Write the weights, fitted preprocessing and ``feature_names`` alone, as Keras's
        ``save_weights`` (no config, no optimizer state; see :func:`save_weights`). A model
        with a TableEncoder is refused: what it learned is in the config; use :meth:`save`.

        Parameters
        ----------
        path : str or path-like
            The file to write, conventionally ``*.weights.safetensors``.
        """
        save_weights(self, path)

    def load_weights(self, path):
        """Read the weights (and fitted preprocessing) of a file that :meth:`save_weights` or
        :meth:`save` wrote for a model of the same layers, as Keras's ``load_weights``; a
        file that does not fit (another tensor, preprocessor or feature names) is refused and
        leaves the model as it was. A model without ``feature_names`` takes the file's.

        Parameters
        ----------
        path : str or path-like
            A weights file or a model file.
        """
        load_weights(self, path)


# ---------------------------------------------------------------------------- reading
def _check_file(path) -> tuple[Path, int, _Reader]:
    """``path`` as a Path to a file whose header length fits the file and the bounds; the
    number of bytes after the header; and a reader of its tensors."""
    try:
        path = Path(path)
        is_dir, is_file = path.is_dir(), path.is_file()
    except (TypeError, ValueError) as e:  # None, a number, a NUL byte in the name
        raise FeedforwardError(f"path: expected a path to a model file, got {describe(path)} "
                               f"({e})") from None
    if is_dir:
        raise FeedforwardError(f"path: no model file at {str(path)!r}: it is a folder")
    if not is_file:
        raise FeedforwardError(f"path: no model file at {str(path)!r}")
    try:
        with open(path, "rb") as fh:
            size, head = os.fstat(fh.fileno()).st_size, fh.read(8)
            n = int.from_bytes(head, "little")
            header = fh.read(n) if len(head) == 8 and n <= min(MAX_HEADER_BYTES, size) else b""
    except OSError as e:
        raise FeedforwardError(f"{path}: cannot be read ({e.strerror})") from None
    # a header length of 1408 begins with pickle's magic bytes: a file laid out as
    # safetensors (a length, then a JSON header of that length) is read as one
    laid_out = len(head) == 8 and n <= size - 8 and header[:1] == b"{"
    kind = next((k for sig, k in _SIGNATURES.items() if head.startswith(sig)), None)
    if kind is not None and not laid_out:
        raise FeedforwardError(f"{path}: not a readable safetensors file: it is {kind}, not a "
                               "feedforward model file (written by Sequential.save)")
    if size < 8:
        raise _unreadable(path, f"{size} bytes, too short for the 8-byte header length")
    if n > min(MAX_HEADER_BYTES, size - 8):
        raise _unreadable(path, f"the header length says {n} bytes, but {size - 8} follow it "
                                f"and model headers are at most {MAX_HEADER_BYTES}")
    try:  # safetensors keeps the last of duplicate keys; other readers may keep the first
        index = json.loads(header, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise _unreadable(path, "its header is nested too deep") from None
    except ValueError as e:  # also UnicodeDecodeError, and FeedforwardError from the hook
        raise _unreadable(path, f"its header is not valid JSON: {e}") from None
    return path, size - 8 - n, _Reader(path, index, 8 + n)


def _unique_keys(pairs):
    """``json.loads`` hook: a JSON object as a dict, refused if a key appears twice."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen = set()
        twice = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise FeedforwardError(f"the key {twice!r} appears twice")
    return out


def _unreadable(path, e) -> FeedforwardError:
    return FeedforwardError(f"{path}: not a readable safetensors file ({e}); the file may be "
                            "truncated, corrupt or of another format")


def read_metadata(path) -> dict[str, str]:
    """The string metadata of a model file, read with the same checks as :func:`load_model`.

    Parameters
    ----------
    path : str or path-like
        A safetensors file, e.g. one written by :func:`save_model`.

    Returns
    -------
    dict of str to str
        The file's metadata entries (``format``, ``config``, ``compile`` ... and any extra
        metadata), unparsed; empty if the file has none.
    """
    path = _check_file(path)[0]
    try:
        with safe_open(str(path), framework="numpy") as f:
            return dict(f.metadata() or {})
    except (SafetensorError, OSError) as e:
        raise _unreadable(path, e) from None


def read_model(path, from_config, compile: bool = True):
    """Read a model file: what :func:`feedforward.load_model` does, for a given model class.

    This module holds the file format and imports no model class (the model module imports
    it to save), so the caller names the class by its ``from_config``.

    Raises :class:`FeedforwardError` naming ``path`` for any file that is not a valid model
    file (missing, truncated, corrupt, hostile or of another format).

    Parameters
    ----------
    path : str or path-like
        The model file (``*.safetensors``).
    from_config : callable
        ``Sequential.from_config``: builds the unbuilt model from the file's config.
    compile : bool, default True
        Whether to compile the model with the saved optimizer, loss and metrics and restore the
        optimizer's state, so that training resumes where it stopped. If False, or if the model
        was saved uncompiled, the model is returned uncompiled.

    Returns
    -------
    Sequential
        The model, built, with its weights and fitted preprocessing restored.
    """
    path, data_bytes, reader = _check_file(path)
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            if meta.get("format") != FORMAT:
                raise FeedforwardError(f"{path}: not a feedforward model file (no "
                                       f"'format: {FORMAT}' entry in its safetensors metadata)")
            version = meta.get("format_version")
            if version != str(FORMAT_VERSION):
                raise FeedforwardError(f"{path}: format version {describe(version)} is not "
                                       f"supported; this library reads version {FORMAT_VERSION}")
            model, input_dim = _unbuilt_model(_json(meta, "config", path), path, from_config)
            expected = _expected_shapes(model, input_dim, path)
            _check_shapes(f, expected, model.dtype, data_bytes, path)
            _read_weights(model, reader, input_dim, expected)
            _set_preprocessing(model, _staged_preprocessing(model, f, path))
            if compile:
                _restore_compile(model, f, meta, path, reader)
    except (SafetensorError, OSError) as e:
        raise _unreadable(path, e) from None
    except MemoryError:
        raise FeedforwardError(f"{path}: not enough memory to load the model (its tensors "
                               f"hold {data_bytes:,} bytes)") from None
    except FeedforwardError as e:
        if str(path) in str(e):
            raise
        raise FeedforwardError(f"{path}: {e}") from None  # e.g. a layer's check of the weights
    return model


def _json(meta, key, path):
    """The JSON value of metadata entry ``key``, bounded in depth and size."""
    text = meta.get(key)
    if text is None:
        raise FeedforwardError(f"{path}: the model file's metadata has no {key!r} entry")
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise FeedforwardError(f"{path}: the metadata entry {key!r} is nested more than "
                               f"{MAX_JSON_DEPTH} deep") from None
    except ValueError as e:  # JSONDecodeError, and integers beyond Python's digit limit
        raise FeedforwardError(f"{path}: the metadata entry {key!r} is not valid JSON "
                               f"({e})") from None
    _check_json_bounds(value, f"{path}: the metadata entry {key!r}")
    return value


def _check_json_bounds(value, what):
    """Refuse JSON deeper than MAX_JSON_DEPTH, larger than MAX_JSON_VALUES, or with a list of
    strings whose fixed-width array would exceed MAX_STRING_ARRAY_BYTES. Iterative: a hostile
    depth cannot exhaust the stack."""
    stack, count = [(value, 1)], 0
    while stack:
        v, depth = stack.pop()
        count += 1
        if depth > MAX_JSON_DEPTH or count > MAX_JSON_VALUES:
            raise FeedforwardError(f"{what} is nested more than {MAX_JSON_DEPTH} deep or holds "
                                   f"more than {MAX_JSON_VALUES} values")
        items = v.values() if isinstance(v, dict) else v if isinstance(v, list) else ()
        if isinstance(v, list) and any(isinstance(x, str) for x in v):
            width = max(len(x) if isinstance(x, str) else 32 for x in v)
            if 4 * width * len(v) > MAX_STRING_ARRAY_BYTES:
                raise FeedforwardError(f"{what} has a list of {len(v)} strings up to {width} "
                                       "characters long, too large for a model file")
        stack.extend((x, depth + 1) for x in items)


def _unbuilt_model(config, path, from_config):
    """The model a config describes, its parameters not yet allocated; and its input_dim."""
    if not isinstance(config, dict):
        raise FeedforwardError(f"{path}: the model file's config must be a JSON object, got "
                               f"{describe(config)}")
    input_dim = config.get("input_dim")
    if type(input_dim) is not int or input_dim < 1:
        raise FeedforwardError(f"{path}: the config's input_dim must be a positive integer, "
                               f"got {describe(input_dim)}")
    try:
        return from_config({**config, "input_dim": None}), input_dim
    except FeedforwardError as e:
        raise FeedforwardError(f"{path}: the model file's config is refused: {e}") from None


def _expected_shapes(model, input_dim, path) -> dict[str, tuple]:
    """Parameter shapes that a config implies, computed without allocating them."""
    try:
        return model.param_shapes(input_dim)
    except FeedforwardError as e:
        raise FeedforwardError(f"{path}: the model file's config is refused: {e}") from None


class _Reader:
    """Reads a tensor's bytes from the file straight into an array that holds them: safetensors'
    ``get_tensor`` would hold two copies at once. Used after ``safe_open`` has checked that the
    offsets tile the data, and ``_check_shapes`` the shapes and dtypes."""

    def __init__(self, path, index, start):
        self.path, self.index, self.start = path, index, start

    def read_into(self, name, target: np.ndarray):
        """Fill the C-contiguous ``target`` (of the tensor's shape and dtype) from the file."""
        try:
            begin, end = (int(v) for v in self.index[name]["data_offsets"])
        except (KeyError, TypeError, ValueError):  # the file changed since safe_open read it
            raise _unreadable(self.path, f"tensor {name!r} has no data offsets") from None
        if end - begin != target.nbytes:
            raise _unreadable(self.path, f"tensor {name!r} spans {end - begin} bytes, its "
                                         f"shape and dtype {target.nbytes}")
        with open(self.path, "rb") as fh:
            fh.seek(self.start + begin)
            got = fh.readinto(memoryview(target.reshape(-1)).cast("B"))
        if got != target.nbytes:
            raise _unreadable(self.path, f"tensor {name!r} ends past the end of the file")
        if sys.byteorder == "big":  # safetensors stores little-endian
            target.byteswap(inplace=True)
        check_finite(target, f"{self.path}: tensor {name!r}")


def _read_weights(model, reader, input_dim, expected):
    """Build ``model`` without drawing initial weights, then read each tensor of the file into
    its place: every parameter is allocated once."""
    model.build(input_dim, initialize=False)
    for name, target in zip(expected, model.param_arrays(), strict=True):
        reader.read_into(name, target)


def _check_shapes(f, expected, dtype, data_bytes, path, source="the config"):
    """The file holds exactly the parameters that ``source`` (the file's config, or the model
    loading weights) implies, with their shapes and dtype, in at most ``data_bytes``
    (safetensors checks the same: its tensors tile the file)."""
    declared = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys() if k.startswith("layers.")}
    missing = [k for k in expected if k not in declared]
    extra = [k for k in declared if k not in expected]
    if missing or extra:
        raise FeedforwardError(f"{path}: tensors do not match {source} (missing: "
                               f"{missing[:5]}, unexpected: {extra[:5]})")
    for k, shape in expected.items():
        if declared[k] != shape:
            raise FeedforwardError(
                f"{path}: tensor {k!r} has shape {declared[k]} but {source} implies {shape}")
        _check_dtype(f, k, dtype, path, source)
    need = sum(math.prod(s) for s in expected.values()) * np.dtype(dtype).itemsize
    if need > data_bytes:
        raise FeedforwardError(f"{path}: the config implies {need} bytes of parameters, more "
                               f"than the file's {data_bytes} bytes of data; it is truncated")


def _check_dtype(f, name, dtype, path, source="the config"):
    stored = f.get_slice(name).get_dtype()
    if stored != _FLOAT_DTYPES.get(np.dtype(dtype).name):
        numpy_name = {v: k for k, v in _FLOAT_DTYPES.items()}.get(stored)
        raise FeedforwardError(
            f"{path}: tensor {name!r} has dtype {numpy_name or stored}, {source} says "
            f"{np.dtype(dtype)}" + (f" (safetensors dtype {stored})" if numpy_name else ""))


def _preprocessing_groups(f, model, path) -> dict[int, list[str]]:
    """The file's tensor names by preprocessor index. A name of no known kind, one not of the
    form ``preprocessing.<i>.<name>``, or an index the model has no preprocessor for, is
    refused: the tensor would be silently ignored."""
    groups, n = {}, len(model.preprocessing)
    for k in f.keys():
        kind, *rest = k.split(".", 2)
        if kind not in TENSOR_KINDS:
            raise FeedforwardError(f"{path}: tensor {k!r} is none of a model's (" +
                                   ", ".join(f"{t}.*" for t in TENSOR_KINDS) + ")")
        if kind != "preprocessing":
            continue
        i = rest[0] if len(rest) == 2 and rest[1] else ""
        if not (i.isascii() and i.isdigit() and str(int(i)) == i):
            raise FeedforwardError(f"{path}: tensor {k!r} is malformed: expected "
                                   "preprocessing.<index>.<name>")
        if int(i) >= n:
            kinds = ", ".join(type(p).__name__ for p in model.preprocessing) or "none"
            raise FeedforwardError(
                f"{path}: tensor {k!r} holds the statistics of preprocessor {i}, which the "
                f"model does not have (its preprocessing: {kinds})")
        groups.setdefault(int(i), []).append(k)
    return groups


def _staged_preprocessing(model, f, path, replace=False) -> dict[int, dict]:
    """Each preprocessor's state from the file, validated on a copy (the model's own
    preprocessors are set by :func:`_set_preprocessing` once every check has passed).

    With ``replace`` (loading into an existing model), a fitted preprocessor with statistics
    of which the file holds none is refused: it would keep its own, not the file's."""
    groups = _preprocessing_groups(f, model, path)
    states = {}
    for i, p in enumerate(model.preprocessing):
        names = groups.get(i)
        if not names:
            if replace and p.fitted and p.get_state():
                raise FeedforwardError(
                    f"{path}: the file holds no statistics for preprocessing {i} "
                    f"({type(p).__name__}), which the model has fitted; it was saved before "
                    "fit, or by another model")
            continue
        for k in names:  # statistics are per feature at most: bound them before reading
            size = math.prod(f.get_slice(k).get_shape())
            stored = f.get_slice(k).get_dtype()
            if size > model.input_dim or stored not in _FLOAT_DTYPES.values():
                raise FeedforwardError(
                    f"{path}: preprocessing tensor {k!r} holds {size} values of dtype {stored};"
                    f" expected floats, at most the model's {model.input_dim} features")
        states[i] = {k.split(".", 2)[2]: f.get_tensor(k) for k in names}
        try:
            copy.deepcopy(p).set_state(states[i])
        except FeedforwardError as e:
            raise FeedforwardError(f"{path}: preprocessing {i} is refused: {e}") from None
    return states


def _set_preprocessing(model, states):
    """Set the states that :func:`_staged_preprocessing` validated."""
    for i, state in states.items():
        model.preprocessing[i].set_state(state)


def _named(metric, spec):
    """A metric under the name it was compiled with (``"accuracy"``, or one given)."""
    if "name" in spec:
        metric.name = str(spec["name"])
    return metric


def _restore_compile(model, f, meta, path, reader):
    config = _json(meta, "compile", path)
    if config is None:
        return
    specs = config.get("metrics", []) if isinstance(config, dict) else None
    if not isinstance(specs, list) or not all(isinstance(m, dict) for m in specs):
        raise FeedforwardError(f"{path}: the compile metadata must be an object with "
                               f"'optimizer', 'loss' and a 'metrics' list of objects, got "
                               f"{describe(config)}")
    try:
        model.compile(optimizer=optimizers.deserialize(config.get("optimizer")),
                      loss=losses.deserialize(config.get("loss")),
                      metrics=[_named(metrics.deserialize(m), m) for m in specs])
    except FeedforwardError as e:
        raise FeedforwardError(f"{path}: the compile metadata is refused: {e}; "
                               "load_model(path, compile=False) reads the weights alone") from None
    model.metric_names = [str(m.get("name", m["class_name"])) for m in specs]
    _restore_slots(model, f, path, reader)
    state = _json(meta, "optimizer_state", path) if "optimizer_state" in meta else {}
    model.optimizer.set_state(_optimizer_state(state, model.optimizer, path))


def _restore_slots(model, f, path, reader):
    opt, slots = model.optimizer, {}
    for slot in opt.slot_names:
        name = f"optimizer.{slot}.0"
        if name in f.keys():
            if tuple(f.get_slice(name).get_shape()) != model.params.shape:
                raise FeedforwardError(f"{path}: optimizer slot {name!r} does not match the "
                                       f"model's {model.params.size} parameters")
            _check_dtype(f, name, model.dtype, path)
            slots[slot] = [np.empty_like(model.params)]
            reader.read_into(name, slots[slot][0])  # finite, as the weights: or training diverges
    if slots and len(slots) != len(opt.slot_names):
        raise FeedforwardError(f"{path}: the file has optimizer slots {sorted(slots)} but "
                               f"{type(opt).__name__} needs {list(opt.slot_names)}")
    if slots:
        opt.slots = slots


def _optimizer_state(state, opt, path) -> dict:
    """The optimizer state checked: a non-negative integer step count and finite scalars."""
    if not isinstance(state, dict):
        raise FeedforwardError(f"{path}: the optimizer state must be a JSON object, got "
                               f"{describe(state)}")
    iterations = state.get("iterations", 0)
    if type(iterations) is not int or not 0 <= iterations < 2**63:
        raise FeedforwardError(f"{path}: the optimizer state's iterations must be an integer "
                               f">= 0, got {describe(iterations)}")
    for k in opt.state_scalars:
        v = state.get(k, 0.0)
        if not _finite_number(v):
            raise FeedforwardError(f"{path}: the optimizer state's {k!r} must be a finite "
                                   f"number, got {describe(v)}")
    return state


def _finite_number(v) -> bool:
    """An int or float (not a bool) that is finite as a float."""
    try:
        return type(v) in (int, float) and math.isfinite(v)
    except OverflowError:  # an int beyond the float range
        return False


def __getattr__(name):
    # load_model builds a Sequential, so it lives with the model (saving imports no model)
    if name == "load_model":
        raise AttributeError("feedforward.saving has no load_model: use feedforward.load_model "
                             "(feedforward.model.load_model)")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


RECORD_KEY = "feedforward_cli"
"""Metadata entry of a model file written by ``train``: its configuration, data and results."""


def check_feature_names(names, model, where) -> None:
    """Refuse recorded feature names that are not one string per raw input of ``model``.

    Parameters
    ----------
    names : object
        The names as read (None: no names recorded, accepted).
    model : Sequential
        The model they belong to.
    where : str
        What holds the names, for the message.
    """
    if names is not None and (not isinstance(names, list) or len(names) != model.raw_input_dim
                              or not all(isinstance(n, str) for n in names)):
        raise FeedforwardError(f"{where}: feature_names: expected {model.raw_input_dim} names "
                               f"(the model's inputs), got {describe(names)}")


def feature_names(path, model) -> list | None:
    """The feature names saved with the model file at ``path`` (:func:`save_model` writes
    the model's own), else those that ``train`` recorded in it.

    Parameters
    ----------
    path : str or path-like
        A model file, already read as ``model``.
    model : Sequential
        Its model: the names must be as many as its raw inputs.

    Returns
    -------
    list of str or None
        None for a file without a training record or a record without names (the rest of
        the record is not checked here: loading a model does not depend on it).
    """
    meta = read_metadata(path)
    if "feature_names" in meta:
        names = _json(meta, "feature_names", path)
        check_feature_names(names, model, str(path))
        return names
    text = meta.get(RECORD_KEY)
    try:
        record = json.loads(text) if text is not None else None
    except (json.JSONDecodeError, RecursionError) as e:
        raise FeedforwardError(f"the training record of {path} is not valid JSON "
                               f"({type(e).__name__})") from None
    names = record.get("feature_names") if isinstance(record, dict) else None
    check_feature_names(names, model, f"the training record of {path}")
    return names
