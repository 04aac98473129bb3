"""Where the recipe's data comes from: a dataset named by the ``dataset`` option, ready for a task.

A dataset is named by ``dataset`` (``--dataset`` on the command line):

- a playground name (``circle``, ``xor``, ``spiral``, ...): generated with ``samples``,
  ``noise`` and ``seed``;
- a scikit-learn bundled set (``digits``, ``iris``, ``wine``, ``breast_cancer``, ``diabetes``);
- ``mnist`` (the default MNIST folder) or any folder of MNIST IDX files;
- a CSV file (``.tsv``: tab-separated), its target column chosen by ``target``.

:func:`load` reads it with its natural task, :func:`for_task` prepares the targets for a task
(class codes and labels, or floats), :func:`split` makes the train / validation / test split.
:func:`from_arrays` makes a :class:`Data` of arrays in memory.

Every CSV file is read by :func:`feedforward.data.tabular.read_table`, one rule for the three
commands: the delimiter is sniffed (``delimiter`` gives it), the header is detected
(``header`` forces it), a column named twice is refused, and
``evaluate`` and ``predict`` match the columns to the model's recorded feature names
(:func:`read_labelled`, :func:`read_features`) unless asked to go by position. Errors name
the command line's flags, which are the options' names.
"""

from __future__ import annotations

import shlex
import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import FeedforwardError, show
from . import mnist, playground, tabular
from .encoding import (
    TableEncoder,
    UnseenCategoryWarning,
    mixed_message,
    mixed_text,
    refuse_decimal_commas,
)
from .split import train_val_test_split

PLAYGROUND_SAMPLES = 500
MAX_GENERATED = 1_000_000  # points generated at once (a subset of a file is bounded by its rows)
MAX_AUTO_CLASSES = 20  # whole-number CSV targets with at most this many values are classes
# an asked-for classification with more classes needs this many rows per class on average:
# whole-number targets such as diabetes's (214 values in 442 rows) are quantities
MIN_ROWS_PER_CLASS = 5
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
    encoder : TableEncoder or None
        For a table with categorical columns or missing cells: ``x`` holds its raw cells
        (an object array of text) and this encoder, fitted on the training split
        (:func:`fit_encoder`), makes them numbers; it becomes the model's first preprocessor.
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    feature_names: list
    target_name: str
    classes: list | None
    task: str
    image_shape: tuple | None = None
    encoder: TableEncoder | None = None


def streams(seed: int):
    """Two generators from ``seed``: one for generating or subsampling data, one for the split."""
    data, split = np.random.SeedSequence([_DATA_ENTROPY, seed]).spawn(2)
    return np.random.default_rng(data), np.random.default_rng(split)


def load(spec, target=None, samples=0, noise=0.0, seed=0, label="--dataset",
         header=None, delimiter=None, features=None, drop=None, categorical=None,
         impute=None, missing_indicators=None) -> Data:
    """The dataset named by ``spec``, with its natural task (see the module docstring).

    ``samples`` is the number of points to generate (playground) or a random subset of rows;
    0 means the default (500 points, or every row). ``header`` is a CSV file's ``--header``
    (None: detect), ``delimiter`` its ``--delimiter`` (None: sniff), ``features`` and
    ``drop`` its ``--features`` and ``--drop`` (column names or indexes; None: every column
    but the target). ``categorical``, ``impute`` and ``missing_indicators`` are a table's
    ``--categorical``, ``--impute`` and ``--missing-indicators`` (see :func:`table_encoder`).
    Errors name ``label``.
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
            data = _csv(path, target, label, header, delimiter, features, drop,
                        (categorical, impute, missing_indicators))
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
    """``read_table`` (``read_parquet`` for a Parquet file) with errors named by the flags."""
    with _flags(label):
        if Path(path).suffix.lower() in tabular.PARQUET_SUFFIXES:
            return tabular.read_parquet(path, header=header, delimiter=kw.get("delimiter"))
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
    """Errors of the reader named by the flags: ``--target``, ``--header``, ``--delimiter`` or
    ``label``; a hint to pass a delimiter names ``--delimiter``."""
    try:
        yield
    except FeedforwardError as e:
        message = str(e).replace("pass delimiter='\\t'", "pass --delimiter tab")
        message = message.replace("pass delimiter=", "pass --delimiter ")
        message = message.replace("pass header=True", "pass --header")
        for prefix, flag in (("target: ", "--target"), ("header: ", "--header/--no-header"),
                             ("delimiter: ", "--delimiter"), ("features: ", "--features"),
                             ("drop: ", "--drop"), ("categorical: ", "--categorical"),
                             ("impute: ", "--impute")):
            if message.startswith(prefix) and " (in " in label:  # a TOML file's keys
                raise FeedforwardError(f"{prefix[:-2]}{label[label.index(' (in '):]}: "
                                       f"{message[len(prefix):]}") from None
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


def _csv(path: Path, target, label, header=None, delimiter=None, features=None, drop=None,
         mixed=(None, None, None)):
    # the columns the user names are known names: a first row holding them is a header
    names = [n for c in [target, *(features or ()), *(drop or ()), *(mixed[0] or ())]
             if (n := tabular.chosen_name(c)) is not None]
    numbers = [c for c in [*(features or ()), *(drop or ()), *(mixed[0] or ())]
               if tabular.chosen_name(c) is None]  # indexes, and plain numbers
    table = _read(path, label, header, names=names, target=target, delimiter=delimiter,
                  numbers=numbers)
    with _flags(label):
        t = table.index(-1 if target is None else target)
        columns = _feature_columns(table, t, features, drop)
        encoder = table_encoder(table, t, columns, *mixed)
        ds = table.dataset(table.names[t], columns, raw=encoder is not None)
    _tell_no_header(table, header, label)
    _tell_id_like(table, columns, label)
    return Data(path.name, ds.x, ds.y, list(ds.feature_names), ds.target_name, ds.classes,
                _task(ds), encoder=encoder)


def table_encoder(table, t, columns, categorical=None, impute=None, missing_indicators=None):
    """The :class:`TableEncoder` a table's feature columns need, unfitted, or None.

    None for columns of numbers without a missing cell (and no ``categorical`` nor
    ``missing_indicators`` asked for): they are read as floats, as they always were. Else
    the categorical columns are those of ``categorical`` (names or indexes) and every
    column with a present cell that is not a number, judged on the whole file so that each
    split sees the same columns; what the encoder learns comes from the training split.

    Parameters
    ----------
    table : CsvTable
    t : int
        The target column.
    columns : list of int
        The feature columns.
    categorical : list of str or int, optional
    impute : {"median", "most_frequent", "none"}, optional
        Default ``"median"``; with ``"none"`` a missing cell is refused here, naming it.
    missing_indicators : bool, optional

    Returns
    -------
    TableEncoder or None
    """
    forced = []
    if not categorical and not missing_indicators and _numbers_only(table, columns):
        return None  # the common case, at C speed: read as floats
    for c in categorical or ():
        j = table.index(c, "categorical")
        if j == t or j not in columns:
            what = "the target column" if j == t else "not a feature column (--features/--drop)"
            raise FeedforwardError(f"categorical: {tabular.shorten(table.names[j])!r} is {what}")
        forced.append(j)
    kinds = {j: tabular.column_kind([row[j] for row in table.rows]) for j in columns}
    detected = [j for j in columns if kinds[j] == "text" and j not in forced]
    for j in detected:
        _refuse_mixed(table, j)
        refuse_decimal_commas([row[j] for row in table.rows
                               if row[j].strip().lower() not in tabular.MISSING],
                              table.names[j])
    gaps = [j for j in columns if kinds[j] != "numbers"]
    if impute == "none":
        table.refuse_missing(columns)
    if not forced and not detected and not missing_indicators and not gaps:
        return None  # numbers alone, read as floats
    return TableEncoder([table.names[j] for j in columns],
                        categorical=[table.names[j] for j in sorted({*forced, *detected})],
                        impute=impute or "median", missing_indicators=bool(missing_indicators))


def _refuse_mixed(table, j) -> None:
    """Refuse a column of numbers with a text cell (judged on the whole file), naming it."""
    cells = [None if row[j].lower() in tabular.MISSING else row[j] for row in table.rows]
    i = mixed_text(cells)
    if i is not None:
        raise FeedforwardError(mixed_message(table.names[j], cells[i], i + 1,
                                             f" (line {table.lines[i]}) of {table.path}",
                                             "--categorical"))


def _numbers_only(table, columns) -> bool:
    """Whether every cell of ``columns`` is a finite number."""
    try:
        table.numbers(columns)
    except FeedforwardError:
        return False
    return True


def fit_encoder(data: Data, parts, label="--dataset") -> None:
    """Fit ``data``'s encoder (if any) on the training split's rows, and say on stderr which
    columns are categorical, how many inputs they make, and how many validation and test rows
    hold categories the training rows lack (they are encoded as all zeros).

    Parameters
    ----------
    data : Data
    parts : Split
        The split of ``data.x`` (raw rows, an object array).
    label : str
        The flag that named the data, for errors.
    """
    encoder = data.encoder
    if encoder is None or encoder.fitted:
        return
    try:
        encoder.fit(parts.x_train)
    except FeedforwardError as e:  # the encoder's "x: " is the file here
        message = str(e).removeprefix("x: ")
        raise FeedforwardError(f"{label} {data.name}: {message}") from None
    sys.stderr.write(f"note: {label} {data.name}: {encoder.describe_fit()} (fitted on the "
                     f"{len(parts.x_train)} training rows)\n")
    _tell_mostly_missing(encoder, len(parts.x_train), f"{label} {data.name}")
    for name, x in (("validation", parts.x_val), ("test", parts.x_test)):
        if len(x):
            with unseen_told():
                encoder.transform(x)
            if encoder.unseen_:
                sys.stderr.write(f"warning: {label} {data.name}, {name} split: "
                                 f"{encoder.unseen_message()}\n")


def _tell_mostly_missing(encoder, n, label) -> None:
    """Warn of each column missing in more than half of the ``n`` training rows and filled
    with one value, without a missing indicator: that value then stands for "missing" too
    (a pool's quality where most houses have no pool)."""
    if encoder.missing_indicators:
        return
    for name, count in encoder.missing_.items():
        if 2 * count <= n:
            continue
        j = encoder.columns.index(name)
        fill = encoder.learned["fill"][j]
        if encoder.learned["kinds"][j] == "categorical":
            what = f"{fill!r}, the most frequent category"
        else:
            what = f"{fill:g}, the " + ("training median" if encoder.impute == "median"
                                        else "most frequent training value")
        sys.stderr.write(
            f"warning: {label}: column {tabular.shorten(name)!r} is missing in {count} of the "
            f"{n} training rows ({100 * count / n:.0f} %), each filled with {what}, which "
            "then stands for a missing cell too; if missing means something (none, not "
            "measured), train with --missing-indicators (a 0/1 input says which cells were "
            "missing)\n")


@contextmanager
def unseen_told():
    """Within: a row encoder's unseen categories are not warned of one transform at a time
    (as each evaluation of a split would), for they are said once: by :func:`fit_encoder`
    for the splits of a run, by :func:`unseen_categories` for the rows of a command."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenCategoryWarning)
        yield


@contextmanager
def unseen_categories(model, label):
    """Within: a row encoder's unseen categories are not warned of one transform at a time;
    after: one line on stderr about the last rows it encoded, naming ``label``. The encoder's
    refusals of a cell name ``label`` in place of its ``x``."""
    try:
        with unseen_told():
            yield
    except FeedforwardError as e:
        if not str(e).startswith("x: "):
            raise
        raise FeedforwardError(f"{label}: {str(e).removeprefix('x: ')}") from None
    encoder = model.row_encoder
    message = encoder.unseen_message() if encoder is not None else ""
    if message:
        sys.stderr.write(f"warning: {label}: {message}\n")


def _feature_columns(table, t, features, drop) -> list:
    """The feature columns: ``features`` alone, in their order; else all but ``drop`` and the
    target ``t``. Errors start ``features:`` or ``drop:`` (see :func:`_flags`)."""
    if features is not None and drop is not None:  # config refuses it; Python callers too
        raise FeedforwardError("features: give the columns to keep (--features) or those to "
                               "leave out (--drop), not both")
    key = "features" if features is not None else "drop"
    chosen = []
    for column in features if features is not None else drop or ():
        j = table.index(column, key)
        if j in chosen:
            raise FeedforwardError(f"{key}: column {tabular.shorten(table.names[j])!r} is "
                                   f"listed twice")
        if j == t:
            raise FeedforwardError(_target_chosen(key, table.names[t]))
        chosen.append(j)
    if features is not None:
        return chosen
    left = [j for j in range(len(table.names)) if j != t and j not in chosen]
    if not left and chosen:  # with nothing dropped, the table's own check names the file
        raise FeedforwardError(f"drop: leaves no feature column ({table.path} has "
                               f"{len(table.names)} columns, one of them the target "
                               f"{tabular.shorten(table.names[t])!r})")
    return left


def _target_chosen(key, name) -> str:
    """The error for the target column listed in ``features`` or ``drop``."""
    shown = repr(tabular.shorten(name))
    if key == "features":
        return (f"features: {shown} is the target column (--target), not a feature; leave it "
                f"out of --features")
    return (f"drop: {shown} is the target column (--target), never a feature, so it cannot be "
            f"dropped; leave it out of --drop, or choose another target with --target")


def _tell_id_like(table, columns, label) -> None:
    """Warn on stderr of each feature column that looks like a row id (see
    :func:`feedforward.data.tabular.id_columns`): it fits the training rows and nothing else."""
    for j in tabular.id_columns(table, columns):
        name = table.names[j]
        sys.stderr.write(f"warning: {label} {table.path}: column {tabular.shorten(name)!r} "
                         f"looks like an id ({len(table)} distinct whole numbers in "
                         f"{len(table)} rows): a model learns nothing true from it; leave it "
                         f"out with --drop {_flag_value(name, j)}\n")


def _flag_value(name, j) -> str:
    """How a flag names column ``j``: its name, quoted for a shell; ``name:2019`` for a
    name that the flag would read as an index; ``index:0`` for a column without a name."""
    if not name:
        return f"index:{j}"
    try:
        int(name)
    except ValueError:
        return shlex.quote(name)
    return f"name:{name}"


def for_task(data: Data, task: str, label="--task") -> Data:
    """``data`` prepared for ``task``: class codes and labels, or float targets.

    ``task="auto"`` keeps the data's natural task. Raises for a task the targets cannot serve:
    regression on text labels, classification of continuous values, or of whole numbers with
    more than :data:`MAX_AUTO_CLASSES` values and under :data:`MIN_ROWS_PER_CLASS` rows per
    value; and, unless classification is asked for, for text labels that are nearly one per
    row (numbers written with units or separators, such as ``$4,796.57``).
    """
    asked, task = task != "auto", data.task if task == "auto" else task
    y = data.y
    if task == "regression":
        labels = data.classes
        if labels is not None and not all(isinstance(c, (int, float)) for c in labels):
            raise FeedforwardError(
                f"{label} regression: the target {data.target_name!r} of {data.name} holds text "
                f"labels ({', '.join(map(repr, labels[:5]))}, ...), not numbers")
        values = np.asarray(labels, dtype=np.float64)[y] if labels is not None else y
        return replace(data, y=values.astype(np.float64), classes=None, task=task)
    if data.classes is not None:  # codes 0 .. k - 1 already
        _refuse_quantity_with_text(data, label)
        if not asked:  # evaluate asks for its model's task: a file of one class is fine there
            _refuse_text_per_row(data, label)
            _refuse_one_class(data, data.classes)
        return replace(data, task=task)
    continuous = y.dtype.kind == "f" and not np.array_equal(y, np.round(y))
    if continuous and not (asked and len(np.unique(y)) <= MAX_AUTO_CLASSES):
        # asked for, a few distinct values (0.5 and 1.5) are classes; else it is a quantity
        bad = y[np.argmax(y != np.round(y))]
        raise FeedforwardError(
            f"{label} classification: the target {data.target_name!r} of {data.name} is "
            f"continuous (e.g. {bad:g}), not class labels; use a regression loss such as mse")
    classes, codes = np.unique(y, return_inverse=True)
    if len(classes) > MAX_AUTO_CLASSES and len(y) < MIN_ROWS_PER_CLASS * len(classes):
        raise FeedforwardError(
            f"{label} classification: the target {data.target_name!r} of {data.name} has "
            f"{len(classes)} distinct values for {len(y)} rows ({len(y) / len(classes):.1f} "
            f"per class): too many classes to learn, it looks like a quantity; use "
            f"{label} regression (or auto)")
    labels = [int(c) if float(c).is_integer() else float(c) for c in classes]
    if not asked:
        _refuse_one_class(data, labels)
    return replace(data, y=codes.astype(np.int64), classes=labels, task=task)


def _refuse_one_class(data: Data, classes) -> None:
    if len(classes) == 1 and len(data.y) > 1:  # one row: the split says what is wrong
        raise FeedforwardError(
            f"target: {data.target_name!r} of {data.name} holds one value ({classes[0]}) in "
            f"all {len(data.y)} rows: there is nothing to tell apart; choose another target "
            "(--target)")


def _refuse_quantity_with_text(data: Data, label: str) -> None:
    """Raise for class labels that are numbers of a quantity (continuous, or too many values
    for classes) beside a few text cells: a typo such as ``12.5kg`` in a price column made the
    whole column text, and it would train as hundreds of classes."""
    numbers = [c for c in data.classes if isinstance(c, str) and tabular.NUMBER.fullmatch(c)]
    texts = [c for c in data.classes if not (isinstance(c, str) and tabular.NUMBER.fullmatch(c))]
    if not numbers or len(texts) >= len(numbers):
        return
    values = np.array([tabular.to_number(c) for c in numbers])
    continuous = not np.array_equal(values, np.round(values))
    many = len(values) > MAX_AUTO_CLASSES and len(data.y) < MIN_ROWS_PER_CLASS * len(values)
    if not (continuous or many):
        return
    code = data.classes.index(texts[0])
    row = int(np.argmax(data.y == code)) + 1
    first = data.classes[int(data.y[0])]
    raise FeedforwardError(
        f"{label}: the target {data.target_name!r} of {data.name} holds numbers ("
        f"{len(numbers)} values, e.g. {first if first in numbers else numbers[0]}) and "
        f"{len(texts)} text "
        f"{'value' if len(texts) == 1 else 'values'} ({', '.join(map(repr, texts[:3]))}; the "
        f"first in row {row}): is it a number with a typo? Correct or remove "
        f"{'that row' if len(texts) == 1 else 'those rows'}; read as text, the column would be "
        f"{len(data.classes)} classes")


def _refuse_text_per_row(data: Data, label: str) -> None:
    """Raise for text labels too many to be classes of so few rows: most often numbers that a
    spreadsheet wrote with a currency, a percent sign or separators, which would train as
    one class per row."""
    k, n = len(data.classes), len(data.y)
    if k > MAX_AUTO_CLASSES and n < MIN_ROWS_PER_CLASS * k:
        shown = ", ".join(repr(str(c)) for c in data.classes[:3])
        raise FeedforwardError(
            f"{label}: the target {data.target_name!r} of {data.name} has {k} distinct text "
            f"values for {n} rows ({shown}, ...): too many classes to learn. Numbers written "
            "with units or separators ($4,796.57, 77.1%, 3,594, 1,5) are text here: write them "
            f"as plain numbers for a regression; if they are classes, pass {label} "
            "classification")


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


def from_arrays(data) -> Data:
    """A dataset from arrays in memory.

    Parameters
    ----------
    data : tuple
        ``(x, y)``: ``x`` of shape ``(n, features)``, ``y`` of shape ``(n,)``.

    Returns
    -------
    Data
        Classes for integer, boolean or text labels; regression for other numbers.
    """
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise FeedforwardError(f"data: expected a pair (x, y), got {type(data).__name__}")
    x, y = np.asarray(data[0]), np.asarray(data[1])
    if x.ndim != 2 or y.ndim != 1 or len(x) != len(y) or len(x) == 0:
        raise FeedforwardError(f"data: expected x of shape (n, features) and y of shape (n,), "
                               f"got {x.shape} and {y.shape}")
    if x.dtype.kind not in "iufb":
        raise FeedforwardError(f"data: expected numeric features, got dtype {x.dtype}")
    names = [f"x{i}" for i in range(x.shape[1])]
    if y.dtype.kind in "iubUSO":
        classes, codes = np.unique(y, return_inverse=True)
        labels = [c.item() if isinstance(c, np.generic) else c for c in classes]
        return Data("data", x, codes.astype(np.int64), names, "y", labels, "classification")
    return Data("data", x, y.astype(np.float64), names, "y", None, "regression")


# ---------------------------------------------------------------------------- a model's columns
BY_POSITION = "or pass --by-position to take the columns in order"


def _recorded_names(record):
    """The feature names and target name of a training record (``[]`` and ``""`` if none).

    ``records.load`` has checked them: as many names as the model has inputs.
    """
    record = record or {}
    return list(record.get("feature_names") or []), record.get("target_name") or ""


def _ignored(record, table, names, target) -> list:
    """Columns of ``table`` a model's columns are matched among, then ignored: the recorded
    target, and every other column when the run chose its features (``--features``,
    ``--drop``) from a wider file, as a file like it has them."""
    config = (record or {}).get("config") or {}
    if config.get("features") is None and config.get("drop") is None:
        return [target] if target else []
    return [n for n in table.names if n not in names]


def _by_position(table, names, by_position, record=None, labelled=False) -> bool:
    """Whether to take the columns in order: asked for, no header, or no names to match.

    Refuses a file without a header for a model whose training file may have had another
    layout than its features in order (then its target, last): by position, it would take
    the wrong columns without a word; ``--by-position`` says the file has that layout."""
    if not table.has_header and not by_position and names:
        why = _layout_unknown(record, labelled)
        if why:
            target = (record or {}).get("target_name")
            header = [*names, target] if labelled and target else names
            what = "its features in the model's order" + (", then the target" if labelled
                                                             else "")
            flag = ("" if by_position is None else  # a caller without --by-position
                    f", or pass --by-position if the file holds {what}")
            raise FeedforwardError(
                f"header: {table.path} has no header, and {why}, so its columns cannot be "
                f"told by position; add the header row ({_shown(header)}){flag}")
    return by_position or not table.has_header or not names


_pending_notes: list | None = None  # within notes_on_success: the notes not yet said


def _note(text: str) -> None:
    """Write a note to stderr, or keep it for :func:`notes_on_success` to write."""
    if _pending_notes is None:
        sys.stderr.write(text)
    else:
        _pending_notes.append(text)


@contextmanager
def notes_on_success():
    """Within: the readers' notes about how a file was read are kept, and written to stderr
    once the block ends without an error (an error is then the one line a command writes)."""
    global _pending_notes
    outer, _pending_notes = _pending_notes, []
    try:
        yield
        notes = _pending_notes
    finally:
        _pending_notes = outer
    for text in notes:
        _note(text)


def _tell_unchecked(table, names, by_position, label, labelled=False) -> None:
    """Say on stderr that a file's header was read but not checked: the model records no
    feature names (a model saved from Python after fitting on an array), so its columns are
    taken in order whatever the header says."""
    if table.has_header and not names and not by_position:
        what = ("in order as the model's features, besides the target (--target, else "
                "the last column)" if labelled else "in order as the model's features")
        _note(f"note: {label} {table.path}: the model records no feature names, so "
                         f"the file's columns are taken {what}; its header is not checked (a "
                         "model fitted on a DataFrame records its columns' names)\n")


def _layout_unknown(record, labelled) -> str | None:
    """Why a file without a header may not hold the model's columns in its order: the
    training run chose or reordered its features, or named a target that need not be last."""
    cfg = (record or {}).get("config") or {}
    if cfg.get("features") is not None:
        return f"the model's features were chosen with --features ({_shown(cfg['features'])})"
    if labelled and cfg.get("target") is not None:
        return (f"its training file's target was named (--target {cfg['target']}), and may "
                "not be its last column")
    return None


def _shown(names) -> str:
    return ", ".join(str(n) for n in list(names)[:8]) + (", ..." if len(names) > 8 else "")


def read_features(path, record, n_features: int, by_position=False, header=None,
                  label="INPUT.csv", delimiter=None, raw=False) -> np.ndarray:
    """Feature rows of a CSV file for a model of ``n_features`` inputs that ``record`` names.

    With a header, the columns are matched by name to the recorded feature names, in the
    model's order; a column named as the recorded target is ignored, and any other missing or
    unexpected column is refused (but ignored for a run that chose its columns with
    ``--features`` or ``--drop``). Without a header (or with ``by_position``) the file has
    exactly ``n_features`` columns, taken in order. ``delimiter``: None sniffs it.

    Returns
    -------
    ndarray of shape (rows, n_features)
        float64; with ``raw`` (a model whose first preprocessor encodes rows) the cells as
        text, an object array.
    """
    names, target = _recorded_names(record)
    # any column may be a feature: a rare category in the last one is not taken for a label
    table = _read(path, label, header, names=names, delimiter=delimiter, target=False,
                  in_order=True)
    with _flags(label):
        if not _by_position(table, names, by_position, record):
            columns = tabular.match_columns(table, names,
                                            allowed=_ignored(record, table, names, target),
                                            hint=BY_POSITION)
        elif len(table.names) == n_features:
            columns = range(n_features)
        else:
            raise FeedforwardError(f"{path} has {len(table.names)} columns; the model takes "
                                   f"{n_features} features, taken in order{table.hint}")
        x = table.cells(columns) if raw else table.numbers(columns)
    _tell_no_header(table, header, label)
    _tell_unchecked(table, names, by_position, label)
    return x


def read_labelled(path, record, n_features: int, target=None, by_position=False, header=None,
                  label="--data", delimiter=None, raw=False) -> Data:
    """Features and targets of a CSV file for a model of ``n_features`` inputs.

    With a header, the feature columns are matched by name to the recorded feature names and
    the target column is ``target`` or the recorded target; any other column is refused (but
    ignored for a run that chose its columns with ``--features`` or ``--drop``). Without a
    header (or with ``by_position``), the target is ``target``, or the recorded target's
    column when the file names it, or the last column; the others are the features, in
    order. ``delimiter``: None sniffs it. ``raw``: the features as text cells (an object
    array), for a model whose first preprocessor encodes rows. ``by_position=None``: as
    False, for a caller that has no ``--by-position`` flag to suggest.
    """
    names, recorded_target = _recorded_names(record)
    expected = [*names, recorded_target] if target is None else names
    table = _read(path, label, header, names=expected, target=target, delimiter=delimiter,
                  in_order=True)
    with _flags(label):
        if _by_position(table, names, by_position, record, labelled=target is None):
            default = recorded_target if recorded_target in table.names else -1
            k = table.index(default if target is None else target)
            t = table.names[k]  # resolved: the name is taken as such below
            features = [j for j in range(len(table.names)) if j != k]
            if len(features) != n_features:
                raise FeedforwardError(
                    f"{path} has {len(features)} feature columns besides the target "
                    f"{tabular.shorten(t)!r}; the model takes {n_features} "
                    f"features{table.hint}")
        else:
            if target is not None:
                t = table.names[table.index(target)]
                if t in names:  # else "expected a, b, a": the feature asked for twice
                    was = f"; its target was {recorded_target!r}" if recorded_target else ""
                    raise FeedforwardError(
                        f"--target {tabular.shorten(t)!r} is one of the model's features "
                        f"({', '.join(map(tabular.shorten, names))}){was}")
            else:
                t = recorded_target or table.names[-1]
            allowed = [n for n in _ignored(record, table, names, "") if n != t]
            features = tabular.match_columns(table, names, required=[t], allowed=allowed,
                                             hint="" if by_position is None else BY_POSITION)
        ds = table.dataset(t, features, raw=raw)
    _tell_no_header(table, header, label)
    _tell_unchecked(table, names, by_position, label, labelled=True)
    return Data(Path(path).name, ds.x, ds.y,
                list(ds.feature_names), ds.target_name, ds.classes, _task(ds))


