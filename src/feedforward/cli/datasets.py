"""Where the commands get their data, and ``feedforward datasets``, which lists what is built in.

A dataset is named by ``--dataset``:

- a playground name (``circle``, ``xor``, ``spiral``, ...): generated with ``--samples``,
  ``--noise`` and ``--seed``;
- a scikit-learn bundled set (``digits``, ``iris``, ``wine``, ``breast_cancer``, ``diabetes``);
- ``mnist`` (the default MNIST folder) or any folder of MNIST IDX files;
- a CSV file with a header row, its target column chosen by ``--target``.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from rich import box
from rich.table import Table

from ..data import mnist, playground, tabular, train_val_test_split
from ..errors import FeedforwardError

PLAYGROUND_SAMPLES = 500
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


def load(spec, target=None, samples=0, noise=0.0, seed=0, label="--dataset") -> Data:
    """The dataset named by ``spec``, with its natural task (see the module docstring).

    ``samples`` is the number of points to generate (playground) or a random subset of rows;
    0 means the default (500 points, or every row). Errors name ``label``.
    """
    rng, _ = streams(seed)
    kind = builtin_kind(spec)
    if kind == "playground":
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
            data = _csv(path, target, label)
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


def _csv(path: Path, target, label):
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    try:
        ds = tabular.load_csv(path, target=target, delimiter=delimiter)
    except FeedforwardError as e:
        message = str(e)
        if message.startswith("target: "):  # the column was chosen with --target
            raise FeedforwardError(f"--target: {message[8:]} ({label})") from None
        raise FeedforwardError(f"{label}: {message}") from None
    if ds.classes is not None:
        task = "classification"
    elif ds.y.dtype.kind in "iu" and len(np.unique(ds.y)) <= MAX_AUTO_CLASSES:
        task = "classification"
    else:
        task = "regression"
    return Data(path.name, ds.x, ds.y, list(ds.feature_names), ds.target_name, ds.classes, task)


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
                f"{label}: the label {value!r} in row {i + 1} is not one of the model's classes "
                f"({', '.join(map(str, classes))})")
        codes[i] = code
    return codes


# ---------------------------------------------------------------------------- features CSV
def read_features(path, feature_names: list | None, n_features: int, label="INPUT") -> np.ndarray:
    """Feature rows of a CSV file with a header, for a model that takes ``n_features`` inputs.

    When the header holds every one of ``feature_names``, those columns are taken in the
    model's order and other columns (a target, an id) are ignored; otherwise the file must
    have exactly ``n_features`` columns, taken in order.

    Returns
    -------
    ndarray of shape (rows, n_features), float64
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [[cell.strip() for cell in row] for row in csv.reader(f) if row]
    except OSError as e:
        raise FeedforwardError(f"{label}: cannot read {str(path)!r} ({e.strerror or e})") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise FeedforwardError(f"{label}: {path} is not a readable CSV text file ({e})") from None
    if len(rows) < 2:
        raise FeedforwardError(f"{label}: {path} needs a header row and at least one data row")
    header, body = rows[0], rows[1:]
    if feature_names and set(feature_names) <= set(header):
        columns = [header.index(name) for name in feature_names]
    elif len(header) == n_features:
        columns = list(range(n_features))
    else:
        names_hint = ""
        if feature_names:
            shown = ", ".join(feature_names[:6]) + (", ..." if len(feature_names) > 6 else "")
            names_hint = f" named {shown}"
        raise FeedforwardError(
            f"{label}: {path} has {len(header)} columns; the model takes {n_features} "
            f"features{names_hint} (columns with those names, or exactly {n_features} columns)")
    x = np.empty((len(body), len(columns)))
    for i, row in enumerate(body):
        if len(row) != len(header):
            raise FeedforwardError(f"{label}: {path}: row {i + 1} has {len(row)} cells, the "
                                   f"header has {len(header)}")
        for j, c in enumerate(columns):
            try:
                x[i, j] = float(row[c])
            except ValueError:
                raise FeedforwardError(f"{label}: {path}: row {i + 1}, column {header[c]!r}: "
                                       f"{row[c]!r} is not a number") from None
    if not np.isfinite(x).all():
        i, j = np.argwhere(~np.isfinite(x))[0]
        raise FeedforwardError(f"{label}: {path}: row {i + 1}, column {header[columns[j]]!r}: "
                               f"expected a finite number, got {x[i, j]}")
    return x


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
    console.print("Also: --dataset FILE.csv (a header row; --target COLUMN, by default the last) "
                  "or --dataset FOLDER (MNIST IDX files). Playground sets take --samples "
                  f"(default {PLAYGROUND_SAMPLES}) and --noise.")
    return 0
