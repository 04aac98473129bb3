"""Where the commands get their data, and ``feedforward datasets``, which lists what is built in.

A dataset is named by ``--dataset``:

- a playground name (``circle``, ``xor``, ``spiral``, ...): generated with ``--samples``,
  ``--noise`` and ``--seed``;
- a scikit-learn bundled set (``digits``, ``iris``, ``wine``, ``breast_cancer``, ``diabetes``);
- ``mnist`` (the default MNIST folder) or any folder of MNIST IDX files;
- a CSV file (``.tsv``: tab-separated), its target column chosen by ``--target``.

Every CSV file is read by :func:`feedforward.data.tabular.read_table`, one rule for the three
commands: the header is detected (``--header`` / ``--no-header`` force it), a column named twice
is refused, and ``evaluate`` and ``predict`` match the columns to the model's recorded feature
names (:func:`read_labelled`, :func:`read_features`) unless asked to go by position.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from rich import box
from rich.table import Table

from ..data import mnist, playground, tabular, train_val_test_split
from ..errors import FeedforwardError, show

PLAYGROUND_SAMPLES = 500
MAX_GENERATED = 1_000_000  # points generated at once (a subset of a file is bounded by its rows)
MAX_AUTO_CLASSES = 20  # whole-number CSV targets with at most this many values are classes
# Entropy that keeps the data's random streams apart from the model's SeedSequence(seed), so
# that generating and splitting the data draw no number that initialization also draws.
_DATA_ENTROPY = 0x5EED_DA7A
_SKLEARN_IMAGES = {"digits": (8, 8)}


def _key(name: str) -> str:
    return name.lower().replace("-", "_")


def builtin_kind(name) -> str | None:
    """``"playground"``, ``"sklearn"`` or ``"mnist"`` for a built-in name, else None."""
    if not isinstance(name, str):
        return None
    key = _key(name)
    if key in tabular.SKLEARN_DATASETS:
        return "sklearn"
    if key == "mnist":
        return "mnist"
    try:
        playground.get(key)
    except FeedforwardError:
        return None
    return "playground"


@dataclass(frozen=True)
class Data:
    """A dataset ready for a model.

    Attributes
    ----------
    name : str
    x : ndarray of shape (n, features)
        Raw features (any numeric dtype; the model's preprocessing scales them).
    y : ndarray of shape (n,)
        Class codes ``0 .. k - 1`` (classification, once :func:`for_task` has run; before,
        the dataset's own labels) or float targets (regression).
    feature_names : list of str
    target_name : str
    classes : list or None
        The label of each class code; None for regression.
    task : {"classification", "regression"}
    image_shape : tuple or None
        ``(h, w)`` when each row is an image.
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    feature_names: list
    target_name: str
    classes: list | None
    task: str
    image_shape: tuple | None = None


def streams(seed: int):
    """Two generators from ``seed``: one for generating or subsampling data, one for the split."""
    data, split = np.random.SeedSequence([_DATA_ENTROPY, seed]).spawn(2)
    return np.random.default_rng(data), np.random.default_rng(split)


def load(spec, target=None, samples=0, noise=0.0, seed=0, label="--dataset",
         header=None) -> Data:
    """The dataset named by ``spec``, with its natural task (see the module docstring).

    ``samples`` is the number of points to generate (playground) or a random subset of rows;
    0 means the default (500 points, or every row). ``header`` is a CSV file's ``--header``
    (None: detect). Errors name ``label``.
    """
    rng, _ = streams(seed)
    kind = builtin_kind(spec)
    if kind == "playground":
        if samples > MAX_GENERATED:
            raise FeedforwardError(f"--samples: at most {MAX_GENERATED:,} points are generated "
                                   f"for {spec}, got {show(samples)}")
        return _playground(spec, samples or PLAYGROUND_SAMPLES, noise, rng)
    if kind == "sklearn":
        data = _sklearn(spec, label)
    elif kind == "mnist":
        data = _mnist(mnist.default_cache_dir() / "mnist", "mnist", label)
    else:
        path = Path(spec).expanduser()
        if path.is_dir():
            data = _mnist(path, path.name or str(path), label)
        elif path.is_file():
            data = _csv(path, target, label, header)
        elif path.suffix or "/" in spec or "\\" in spec:
            raise FeedforwardError(f"{label}: no such file or folder: {spec!r}")
        else:
            raise FeedforwardError(
                f"{label}: unknown dataset {spec!r}; built-in datasets: {', '.join(names())}; "
                "or give a CSV file or a folder of MNIST files")
    if samples:
        n = data.x.shape[0]
        if samples > n:
            raise FeedforwardError(
                f"--samples: {samples} is more than the {n} samples of {data.name}")
        rows = np.sort(rng.permutation(n)[:samples])
        data = replace(data, x=data.x[rows], y=data.y[rows])
    return data


def names() -> list[str]:
    """The built-in dataset names."""
    return [*playground.names(), *tabular.SKLEARN_DATASETS, "mnist"]


def _playground(name, n, noise, rng):
    key = _key(name)
    x, y = playground.get(key)(n, noise, rng)
    task = "classification" if y.dtype.kind in "iu" else "regression"
    classes = list(range(int(y.max()) + 1)) if task == "classification" else None
    canonical = playground.get(key).__name__
    return Data(canonical, x, y, ["x1", "x2"], "label" if classes else "target", classes, task)


def _sklearn(name, label):
    try:
        ds = tabular.load_dataset(name)
    except FeedforwardError as e:
        raise FeedforwardError(f"{label}: {e}") from None
    key = _key(name)
    task = "regression" if ds.classes is None else "classification"
    return Data(key, ds.x, ds.y, list(ds.feature_names), ds.target_name, ds.classes, task,
                _SKLEARN_IMAGES.get(key))


def _mnist(folder: Path, name, label):
    # a folder may hold the training files, the test files, or both: use what is there
    kinds = [k for k, prefix in (("train", "train-"), ("test", "t10k-"))
             if any(folder.glob(prefix + "*"))]
    if not kinds:
        raise FeedforwardError(
            f"{label}: {str(folder)!r} holds no MNIST files (train-images-idx3-ubyte[.gz], "
            "t10k-images-idx3-ubyte[.gz], ...); download them with python -c \"import "
            "feedforward as ff; ff.data.download_mnist()\" or give the folder that holds them")
    try:
        parts = [mnist.load_mnist(folder, kind) for kind in kinds]
    except FeedforwardError as e:
        raise FeedforwardError(f"{label}: {e}") from None
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    h, w = x.shape[1:]
    # rows of pixels, row-major: what a Dense layer takes; floats, so that augmentation noise
    # is not rounded away as it would be in uint8
    x = x.reshape(len(x), h * w).astype(np.float32)
    return Data(name, x, y, [f"pixel_{i}" for i in range(h * w)], "label",
                list(range(10)), "classification", (h, w))


def csv_file(spec) -> Path | None:
    """The CSV file ``spec`` names, or None for a built-in dataset or a folder."""
    if builtin_kind(spec) is not None:
        return None
    path = Path(spec).expanduser()
    return path if path.is_file() else None


def _read(path, label, header, **kw) -> tabular.CsvTable:
    """``read_table`` with errors named by the flags."""
    with _flags(label):
        return tabular.read_table(path, header=header, **kw)


def _tell_no_header(table, header, label) -> None:
    """Say on stderr (stdout may be piped CSV) that a detected headerless file was read."""
    if header is None and not table.has_header:
        sys.stderr.write(f"note: {label} {table.path}: its first row holds numbers, not column "
                         f"names, so it is read as data: {len(table)} rows, columns named "
                         f"column_1 .. column_{len(table.names)} by position (--header to read "
                         "it as a header)\n")


@contextmanager
def _flags(label):
    """Errors of the reader named by the flags: ``--target``, ``--header`` or ``label``."""
    try:
        yield
    except FeedforwardError as e:
        message = str(e)
        for prefix, flag in (("target: ", "--target"), ("header: ", "--header/--no-header")):
            if message.startswith(prefix):
                raise FeedforwardError(f"{flag}: {message[len(prefix):]} ({label})") from None
        raise FeedforwardError(f"{label}: {message}") from None


def _task(ds) -> str:
    """Text labels are classes; so are whole numbers with at most MAX_AUTO_CLASSES values."""
    numbers = ds.classes is None or all(isinstance(c, int) for c in ds.classes)
    if not numbers:
        return "classification"
    whole = ds.classes is not None or ds.y.dtype.kind in "iu"
    count = len(ds.classes) if ds.classes is not None else len(np.unique(ds.y))
    return "classification" if whole and count <= MAX_AUTO_CLASSES else "regression"


def _csv(path: Path, target, label, header=None):
    names = [target] if isinstance(target, str) else []
    table = _read(path, label, header, names=names, target=target)
    with _flags(label):
        ds = table.dataset(target)
    _tell_no_header(table, header, label)
    return Data(path.name, ds.x, ds.y, list(ds.feature_names), ds.target_name, ds.classes,
                _task(ds))


def for_task(data: Data, task: str, label="--task") -> Data:
    """``data`` prepared for ``task``: class codes and labels, or float targets.

    ``task="auto"`` keeps the data's natural task. Raises for a task the targets cannot serve:
    regression on text labels, classification of continuous values.
    """
    task = data.task if task == "auto" else task
    y = data.y
    if task == "regression":
        labels = data.classes
        if labels is not None and not all(isinstance(c, (int, float)) for c in labels):
            raise FeedforwardError(
                f"{label} regression: the target {data.target_name!r} of {data.name} holds text "
                f"labels ({', '.join(map(str, labels[:5]))}, ...), not numbers")
        values = np.asarray(labels, dtype=np.float64)[y] if labels is not None else y
        return replace(data, y=values.astype(np.float64), classes=None, task=task)
    if data.classes is not None:  # codes 0 .. k - 1 already
        return replace(data, task=task)
    if y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):
        bad = y[np.argmax(y != np.round(y))]
        raise FeedforwardError(
            f"{label} classification: the target {data.target_name!r} of {data.name} is "
            f"continuous (e.g. {bad:g}), not class labels; use a regression loss such as mse")
    classes, codes = np.unique(y, return_inverse=True)
    labels = [int(c) if float(c).is_integer() else float(c) for c in classes]
    return replace(data, y=codes.astype(np.int64), classes=labels, task=task)


def split(data: Data, val: float, test: float, seed: int):
    """Train / validation / test split (``train_val_test_split``), stratified for classification."""
    _, rng = streams(seed)
    try:
        return train_val_test_split(data.x, data.y, val=val, test=test,
                                    stratify=data.task == "classification", seed=rng)
    except FeedforwardError as e:
        raise FeedforwardError(f"--val/--test: {e}") from None


def label_codes(labels, classes: list, label="target") -> np.ndarray:
    """Codes of ``labels`` among a model's ``classes``, matching them as text (3 and "3" agree)."""
    index = {str(c): i for i, c in enumerate(classes)}
    codes = np.empty(len(labels), dtype=np.int64)
    for i, value in enumerate(labels):
        code = index.get(str(value))
        if code is None:
            raise FeedforwardError(
                f"{label}: the label {show(value)} in row {i + 1} is not one of the model's "
                f"classes ({', '.join(map(str, classes))})")
        codes[i] = code
    return codes


# ---------------------------------------------------------------------------- a model's columns
BY_POSITION = "or pass --by-position to take the columns in order"


def add_csv_arguments(parser) -> None:
    """``--by-position`` and ``--header/--no-header``, for a CSV file read for a model."""
    parser.add_argument("--by-position", action="store_true",
                        help="take a CSV file's columns in order, not by their names")
    parser.add_argument("--header", action=argparse.BooleanOptionalAction, default=None,
                        help="whether a CSV file's first row holds column names (default: "
                             "detect; a first row of numbers is data)")


def _recorded_names(record):
    """The feature names and target name of a training record (``[]`` and ``""`` if none).

    ``common.load`` has checked them: as many names as the model has inputs.
    """
    record = record or {}
    return list(record.get("feature_names") or []), record.get("target_name") or ""


def _by_position(table, names, by_position) -> bool:
    """Whether to take the columns in order: asked for, no header, or no names to match."""
    return by_position or not table.has_header or not names


def read_features(path, record, n_features: int, by_position=False, header=None,
                  label="INPUT.csv") -> np.ndarray:
    """Feature rows of a CSV file for a model of ``n_features`` inputs that ``record`` names.

    With a header, the columns are matched by name to the recorded feature names, in the
    model's order; a column named as the recorded target is ignored, and any other missing or
    unexpected column is refused. Without a header (or with ``by_position``) the file has
    exactly ``n_features`` columns, taken in order.

    Returns
    -------
    ndarray of shape (rows, n_features), float64
    """
    names, target = _recorded_names(record)
    table = _read(path, label, header, names=names)
    with _flags(label):
        if not _by_position(table, names, by_position):
            columns = tabular.match_columns(table, names, allowed=[target] if target else (),
                                            hint=BY_POSITION)
        elif len(table.names) == n_features:
            columns = range(n_features)
        else:
            raise FeedforwardError(f"{path} has {len(table.names)} columns; the model takes "
                                   f"{n_features} features, taken in order")
        x = table.numbers(columns)
    _tell_no_header(table, header, label)
    return x


def read_labelled(path, record, n_features: int, target=None, by_position=False, header=None,
                  label="--data") -> Data:
    """Features and targets of a CSV file for a model of ``n_features`` inputs.

    With a header, the feature columns are matched by name to the recorded feature names and
    the target column is ``target`` or the recorded target; any other column is refused.
    Without a header (or with ``by_position``), the target is ``target``, or the recorded
    target's column when the file names it, or the last column; the others are the features,
    in order.
    """
    names, recorded_target = _recorded_names(record)
    expected = [*names, recorded_target] if target is None else names
    table = _read(path, label, header, names=expected, target=target)
    with _flags(label):
        if _by_position(table, names, by_position):
            default = recorded_target if recorded_target in table.names else -1
            t = table.index(default if target is None else target)
            features = [j for j in range(len(table.names)) if j != t]
            if len(features) != n_features:
                raise FeedforwardError(
                    f"{path} has {len(features)} feature columns besides the target "
                    f"{table.names[t]!r}; the model takes {n_features} features")
        else:
            if target is not None:
                t = table.names[table.index(target)]
            else:
                t = recorded_target or table.names[-1]
            features = tabular.match_columns(table, names, required=[t], hint=BY_POSITION)
        ds = table.dataset(t, features)
    _tell_no_header(table, header, label)
    return Data(Path(path).name, ds.x, ds.y,
                list(ds.feature_names), ds.target_name, ds.classes, _task(ds))


# ---------------------------------------------------------------------------- the command
EXAMPLES = """\
examples:
  feedforward datasets
  feedforward datasets --json
  feedforward train --dataset spiral --samples 1000 --noise 0.1
  feedforward train --dataset measurements.csv --target species
"""


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        "datasets", parents=parents, help="list the built-in datasets",
        description="List the built-in datasets, with their task, size and classes.",
        epilog=EXAMPLES)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(run=run)
    return parser


def describe() -> list[dict]:
    """One row per built-in dataset: name, source, task, samples, features, classes."""
    rows = []
    for name in playground.names():
        x, y = playground.get(name)(PLAYGROUND_SAMPLES, 0.0, 0)
        regression = playground.TASKS[name] == "regression"
        rows.append({"name": name, "source": "playground",
                     "task": playground.TASKS[name], "samples": int(x.shape[0]),
                     "features": int(x.shape[1]),
                     "classes": None if regression else len(np.unique(y))})
    for name in tabular.SKLEARN_DATASETS:
        row = {"name": name, "source": "scikit-learn"}
        try:
            ds = tabular.load_dataset(name)
        except FeedforwardError:  # scikit-learn is not installed
            row.update(task=None, samples=None, features=None, classes=None,
                       note="needs scikit-learn: pip install 'feedforward[sklearn]'")
        else:
            row.update(task="regression" if ds.classes is None else "classification",
                       samples=int(ds.x.shape[0]), features=int(ds.x.shape[1]),
                       classes=None if ds.classes is None else len(ds.classes))
        rows.append(row)
    folder = mnist.default_cache_dir() / "mnist"
    found = any(folder.glob("*-ubyte*"))
    rows.append({"name": "mnist", "source": "IDX files", "task": "classification",
                 "samples": 70000, "features": 784, "classes": 10,
                 "note": f"{'found in' if found else 'not downloaded to'} {folder}"})
    return rows


def run(args, console) -> int:
    rows = describe()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    columns = ("name", "task", "samples", "features", "classes", "source")
    table = Table(title="Built-in datasets", box=box.SIMPLE_HEAD)
    for col in columns:
        table.add_column(col, justify="right" if col in ("samples", "features", "classes")
                         else "left", no_wrap=True)
    for row in rows:
        table.add_row(*(("-" if row[c] is None else str(row[c])) for c in columns))
    console.print(table)
    for row in rows:
        if row.get("note"):
            console.print(f"{row['name']}: {row['note']}")
    console.print("Also: --dataset FILE.csv (its header row detected; --target COLUMN, by "
                  "default the last) or --dataset FOLDER (MNIST IDX files). Playground sets "
                  "take --samples "
                  f"(default {PLAYGROUND_SAMPLES}) and --noise.")
    return 0
