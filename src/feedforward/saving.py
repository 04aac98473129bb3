"""The model file: one safetensors file, loadable without running code.

- tensors ``layers.<i>.<name>`` (``kernel``, ``bias``), the fitted statistics of the
  preprocessing ``preprocessing.<i>.<name>`` and optimizer slots ``optimizer.<slot>.<i>``;
- metadata: ``format`` = ``"feedforward"``, ``format_version``, ``config`` (the model's JSON
  config), ``compile`` (optimizer, loss and metrics, JSON) and ``optimizer_state`` (step count
  and scalar state, JSON).

Nothing is unpickled and nothing is imported by a name from the file: classes resolve only
through the registries. Declared shapes are checked against the config before any parameter
memory is allocated. Files are written to a temporary file and renamed into place atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save as st_save

from . import losses, metrics, optimizers
from .errors import FeedforwardError

FORMAT = "feedforward"
FORMAT_VERSION = 1


def _atomic_write(path: Path, data: bytes):
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def model_tensors(model) -> dict[str, np.ndarray]:
    """The named tensors of a model file: parameters, fitted preprocessing, optimizer slots."""
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


def save_model(model, path, extra_metadata: dict | None = None):
    """Write ``model`` to ``path`` (conventionally ``*.safetensors``); see the module docstring."""
    model._require_built("save")
    path = Path(path)
    if not path.parent.exists():
        raise FeedforwardError(f"path: the folder {str(path.parent)!r} does not exist")
    meta = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "config": json.dumps(model.get_config()),
        "compile": json.dumps(model.get_compile_config()),
        "optimizer_state": json.dumps(model.optimizer.get_state() if model.optimizer else {}),
        **(extra_metadata or {}),
    }
    _atomic_write(path, st_save(model_tensors(model), metadata=meta))


def _expected_shapes(model_layers, input_dim) -> dict[str, tuple]:
    """Parameter shapes that a config implies, computed without allocating them."""
    shapes, shape = {}, (input_dim,)
    for i, layer in enumerate(model_layers):
        for k, (s, _init) in layer.param_shapes(shape).items():
            shapes[f"layers.{i}.{k}"] = tuple(s)
        shape = layer.compute_output_shape(shape)
    return shapes


def _json(meta, key, path):
    try:
        return json.loads(meta[key])
    except (KeyError, TypeError, json.JSONDecodeError) as e:
        raise FeedforwardError(f"{path}: the model file's metadata entry {key!r} is missing or "
                               f"not valid JSON ({e})") from None


def load_model(path, compile: bool = True):
    """Load a model saved by :meth:`Sequential.save`. Refuses anything else with a clear error."""
    path = Path(path)
    if not path.is_file():
        raise FeedforwardError(f"path: no model file at {str(path)!r}")
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            if meta.get("format") != FORMAT:
                raise FeedforwardError(f"{path}: not a feedforward model file (no "
                                       f"'format: {FORMAT}' entry in its safetensors metadata)")
            version = meta.get("format_version")
            if version != str(FORMAT_VERSION):
                raise FeedforwardError(f"{path}: format version {version!r} is not supported; "
                                       f"this library reads version {FORMAT_VERSION}")
            model, input_dim = _unbuilt_model(_json(meta, "config", path), path)
            _check_shapes(f, _expected_shapes(model.layers, input_dim), path)
            model.build(input_dim)
            model.set_weights([_tensor(f, name, model.dtype, path)
                               for name in _expected_shapes(model.layers, input_dim)])
            _restore_preprocessing(model, f, path)
            if compile:
                _restore_compile(model, f, meta, path)
    except SafetensorError as e:
        raise FeedforwardError(f"{path}: not a readable safetensors file ({e}); the file may be "
                               "truncated or of another format") from None
    return model


def _unbuilt_model(config, path):
    """The model a config describes, its parameters not yet allocated; and its input_dim."""
    from .model import Sequential

    if not isinstance(config, dict):
        raise FeedforwardError(f"{path}: the model file's config must be a JSON object, got "
                               f"{type(config).__name__}")
    input_dim = config.get("input_dim")
    if type(input_dim) is not int or input_dim < 1:
        raise FeedforwardError(f"{path}: the config's input_dim must be a positive integer, "
                               f"got {input_dim!r}")
    try:
        return Sequential.from_config({**config, "input_dim": None}), input_dim
    except FeedforwardError as e:
        raise FeedforwardError(f"{path}: the model file's config is refused: {e}") from None


def _restore_preprocessing(model, f, path):
    """Set the fitted statistics of each preprocessor whose tensors the file holds."""
    for i, p in enumerate(model.preprocessing):
        names = [k for k in f.keys() if k.startswith(f"preprocessing.{i}.")]
        if not names:
            continue
        for k in names:  # statistics are per feature at most: bound them before reading
            size = int(np.prod(f.get_slice(k).get_shape()))
            if size > model.input_dim:
                raise FeedforwardError(f"{path}: preprocessing tensor {k!r} has {size} values, "
                                       f"more than the model's {model.input_dim} features")
        state = {k.split(".", 2)[2]: f.get_tensor(k) for k in names}
        try:
            p.set_state(state)
        except FeedforwardError as e:
            raise FeedforwardError(f"{path}: preprocessing {i} is refused: {e}") from None


def _check_shapes(f, expected, path):
    declared = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys() if k.startswith("layers.")}
    missing = [k for k in expected if k not in declared]
    extra = [k for k in declared if k not in expected]
    if missing or extra:
        raise FeedforwardError(f"{path}: tensors do not match the config (missing: {missing}, "
                               f"unexpected: {extra})")
    for k, shape in expected.items():
        if declared[k] != shape:
            raise FeedforwardError(
                f"{path}: tensor {k!r} has shape {declared[k]} but the config implies {shape}")


def _tensor(f, name, dtype, path):
    a = f.get_tensor(name)
    if a.dtype != dtype:
        raise FeedforwardError(
            f"{path}: tensor {name!r} has dtype {a.dtype}, the config says {dtype}")
    return a


def _restore_compile(model, f, meta, path):
    config = _json(meta, "compile", path)
    if config is None:
        return
    try:
        specs = config.get("metrics", [])
        model.compile(optimizer=optimizers.deserialize(config["optimizer"]),
                      loss=losses.deserialize(config["loss"]),
                      metrics=[metrics.deserialize(m) for m in specs])
        model.metric_names = [str(m.get("name", m["class_name"])) for m in specs]
    except (KeyError, TypeError, AttributeError) as e:
        raise FeedforwardError(f"{path}: the compile metadata is malformed ({e!r})") from None
    opt = model.optimizer
    slots = {}
    for slot in opt.slot_names:
        name = f"optimizer.{slot}.0"
        if name in f.keys():
            if tuple(f.get_slice(name).get_shape()) != model.params.shape:
                raise FeedforwardError(f"{path}: optimizer slot {name!r} does not match the "
                                       f"model's {model.params.size} parameters")
            slots[slot] = [_tensor(f, name, model.dtype, path)]
    if slots and len(slots) != len(opt.slot_names):
        raise FeedforwardError(f"{path}: the file has optimizer slots {sorted(slots)} but "
                               f"{type(opt).__name__} needs {list(opt.slot_names)}")
    if slots:
        opt.slots = slots
    state = _json(meta, "optimizer_state", path) if "optimizer_state" in meta else {}
    try:
        opt.set_state(state)
    except (TypeError, ValueError, AttributeError) as e:
        raise FeedforwardError(f"{path}: the optimizer state is malformed ({e})") from None
