"""The options of an experiment: defaults, the TOML experiment file, and checks.

One schema for every surface: ``feedforward train`` and ``feedforward tune``, the recipe
(:mod:`feedforward.experiment`), the playground and the scikit-learn estimators map their
settings onto it. One table, :data:`OPTIONS`, defines every option once: its key in the TOML
file, its flag (the key with dashes, ``learning_rate`` -> ``--learning-rate``), its default,
type and check.

Precedence (:func:`resolve`): a flag given on the command line overrides the file passed with
``--config``, which overrides the defaults. Every value is checked here, before any data is
loaded, and an error names where the bad value came from: the flag, or the key and the file.

The file is flat: top-level keys whose values are strings, numbers, booleans or lists, and two
kinds of inline table: an entry of ``layers`` may be ``{units, activation, dropout}`` (a layer
of its own), and ``schedule`` may be ``{name, ...}`` (a schedule of
:mod:`feedforward.schedules` with its own parameters). The resolved configuration that
``train`` writes is such a file, and passing it back with ``--config`` repeats the run exactly.
"""

from __future__ import annotations

import difflib
import inspect
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from . import activations, initializers, losses, metrics, optimizers, schedules
from .data import playground, tabular
from .data.sources import builtin_kind
from .errors import FeedforwardError, show

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

GROUPS = ("data", "model", "optimizer", "training", "augmentation")
SCALINGS = ("standard", "minmax", "none")
TASKS = ("auto", "classification", "regression")
SCHEDULES = ("constant", "step", "exponential", "inverse_time", "cosine", "plateau")
DTYPES = ("float32", "float64")
# the bound of every integer option without its own: NumPy, which gets the seeds, counts and
# sizes, holds integers up to int64's largest; a larger one is refused here, not overflowed later
INT_LIMIT = 2**63 - 1
# hyperparameters passed to the optimizer only when set; each must be one the optimizer takes
OPTIMIZER_KEYS = ("momentum", "nesterov", "beta_1", "beta_2", "epsilon", "rho", "amsgrad",
                  "weight_decay", "clipnorm", "clipvalue", "global_clipnorm",
                  "initial_accumulator_value", "centered", "momentum_decay")
# the keys of a layer's own table in ``layers`` (each defaults to the option of its name)
LAYER_KEYS = ("units", "activation", "dropout")
# initializers known by a name of their own: the class and its arguments; "small_random" is
# N(0, 0.1^2), the scale of the TensorFlow Playground's U(-0.5, 0.5)
NAMED_INITIALIZERS = {"small_random": ("random_normal", {"stddev": 0.1})}
# the parameter of a schedule that is its (starting) learning rate; a schedule table that
# leaves it out starts from ``learning_rate`` (or the optimizer's default)
SCHEDULE_RATE_KEYS = ("initial_learning_rate", "learning_rate", "schedule")


@dataclass(frozen=True)
class Option:
    """One option of ``train``.

    ``kind`` is the value's type: ``bool``, ``int``, ``float``, ``str``, ``ints`` (a list of
    integers, ``128,64`` as a flag), ``names`` (``"auto"`` or a list of names), ``target``
    (a column name or index), ``columns`` (a list of column names or indexes) or ``shape``
    (a list of 2 or 3 positive integers). A default of None means "not set". ``low`` /
    ``high`` bound numbers (``open`` makes them strict); ``choices`` lists the allowed
    strings, or names a registry whose names are allowed, and ``names`` more names allowed
    besides the registry's. ``table``: an inline table may stand for the value
    (``schedule``) or for an item of the list (``layers``).
    """

    key: str
    default: object
    kind: str
    group: str
    help: str
    low: float | None = None
    high: float | None = None
    open: tuple[bool, bool] = (False, False)
    choices: tuple | None = None
    registry: object = None
    metavar: str | None = None
    names: tuple = ()
    table: bool = False

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")


def _o(key, default, kind, group, help, **kw):
    return Option(key, default, kind, group, help, **kw)


OPTIONS = [
    # data
    _o("dataset", "digits", "str", "data",
       "built-in dataset name (see `feedforward datasets`), a CSV file, or a folder of MNIST "
       "IDX files", metavar="NAME|FILE|DIR"),
    _o("target", None, "target", "data",
       "target column of a CSV file: a name, or a 0-based index (negative counts from the "
       "end; name:X or index:N for a column whose name is a number); default: the last "
       "column", metavar="COLUMN"),
    _o("header", None, "bool", "data",
       "whether a CSV file's first row holds column names; not set: detect (a first row of "
       "numbers is data, its columns named column_1 ...)"),
    _o("delimiter", None, "str", "data",
       "cell separator of a CSV file: , ; tab | or another single character; not set: a tab "
       "for .tsv and .tab files, else sniffed from the first 20 rows (the one of , ; tab | "
       "that splits them all into as many cells, else a comma)", metavar="CHAR"),
    _o("features", None, "columns", "data",
       "the feature columns of a CSV file, in this order: names or 0-based indexes, "
       "comma-separated; not set: every column but the target", metavar="COLUMN,..."),
    _o("drop", None, "columns", "data",
       "columns of a CSV file left out of the features (an id, notes): names or 0-based "
       "indexes, comma-separated", metavar="COLUMN,..."),
    _o("categorical", None, "columns", "data",
       "feature columns of a CSV file to one-hot encode even if they hold numbers (zip "
       "codes): names or 0-based indexes; columns with text cells are always categorical",
       metavar="COLUMN,..."),
    _o("impute", None, "str", "data",
       "how missing cells of a CSV file's features (empty, NA, N/A, NaN, null, None, ?, -) "
       "are filled from the training split: median (numbers; categories take their most "
       "frequent), most_frequent, or none (refuse them); not set: median",
       choices=("median", "most_frequent", "none")),
    _o("missing_indicators", None, "bool", "data",
       "add a 0/1 input per CSV feature column that had missing cells in the training split"),
    _o("task", "auto", "str", "data",
       "classification or regression; auto: from the data (text labels or at most 20 whole "
       "numbers are classes)",
       choices=TASKS),
    _o("samples", 0, "int", "data",
       "number of samples: points to generate for a playground dataset (0: 500), or a random "
       "subset of the rows of other data (0: all)", low=0, metavar="N"),
    _o("noise", 0.0, "float", "data",
       "noise of a playground dataset, 0 to 1 (the Playground's slider spans 0 to 0.5)",
       low=0, high=1),
    _o("val", 0.2, "float", "data", "fraction of the samples held out for validation",
       low=0, high=1, open=(False, True), metavar="FRACTION"),
    _o("test", 0.2, "float", "data", "fraction of the samples held out for the final test",
       low=0, high=1, open=(False, True), metavar="FRACTION"),
    _o("scaling", "standard", "str", "data",
       "feature scaling, fitted on the training split and saved in the model file: standard "
       "(zero mean, unit variance), minmax (to [-1, 1]) or none", choices=SCALINGS),
    _o("image_shape", None, "shape", "data",
       "height,width[,channels] of image rows, for augmentation (known for digits and MNIST)",
       metavar="H,W[,C]"),
    # model
    _o("layers", [128, 64], "ints", "model",
       "units of each hidden layer, comma-separated (an empty string: no hidden layer); in a "
       "file, an entry may be a table {units, activation, dropout} of a layer's own",
       low=1, high=1_000_000, metavar="UNITS,...", table=True),
    _o("activation", "relu", "str", "model", "activation of the hidden layers",
       registry=activations.registry),
    _o("output_activation", "auto", "str", "model",
       "activation of the output layer; auto: softmax (several classes), sigmoid (two "
       "classes with binary cross-entropy) or linear (regression)",
       registry=activations.registry),
    _o("initializer", "auto", "str", "model",
       "kernel initializer of every layer; auto: he_uniform for hidden layers of the ReLU "
       "family, lecun_normal for selu, glorot_uniform otherwise and for the output layer; "
       "small_random: N(0, 0.1^2)",
       registry=initializers.registry, names=tuple(NAMED_INITIALIZERS)),
    _o("maxout", 0, "int", "model",
       "pieces of Maxout hidden layers (>= 2) in place of Dense + activation; 0: Dense",
       low=0, high=1000, metavar="PIECES"),
    _o("dropout", 0.0, "float", "model", "dropout rate after each hidden layer",
       low=0, high=1, open=(False, True), metavar="RATE"),
    _o("l1", 0.0, "float", "model", "L1 penalty on every kernel", low=0),
    # a little L2 by default: with the default rates (0.01 on the small sets), of 3e-4, 1e-3
    # and 3e-3 it leaves the fewest built-in sets more than a point below scikit-learn on
    # seed 0 (3e-4: wine stops at epoch 31 with the weights of epoch 1), and keeps spiral at
    # 98 % (3e-3: 94 %) (benchmarks/tabular.py; docs/cli.md, "Defaults, measured")
    _o("l2", 1e-3, "float", "model", "L2 penalty on every kernel, l2 * sum(w^2)", low=0),
    _o("max_norm", 0.0, "float", "model",
       "max-norm constraint on each hidden unit's incoming weights; 0: none", low=0),
    _o("dtype", "float32", "str", "model", "floating-point type of the weights",
       choices=DTYPES),
    # optimizer
    _o("optimizer", "adam", "str", "optimizer", "the optimizer", registry=optimizers.registry),
    _o("learning_rate", None, "float", "optimizer",
       "learning rate (the start of a schedule); default: the optimizer's own, raised for "
       "epochs of few steps to at most 0.01: max(own, min(0.01, 0.1 / steps per epoch))",
       low=0, open=(True, False), metavar="LR"),
    _o("momentum", None, "float", "optimizer", "momentum (sgd, rmsprop)", low=0, high=1),
    _o("nesterov", None, "bool", "optimizer", "Nesterov momentum (sgd)"),
    _o("beta_1", None, "float", "optimizer", "first-moment decay (adam family)",
       low=0, high=1, open=(False, True)),
    _o("beta_2", None, "float", "optimizer", "second-moment decay (adam family)",
       low=0, high=1, open=(False, True)),
    _o("epsilon", None, "float", "optimizer", "the epsilon of the update rule (> 0)", low=0,
       open=(True, False)),
    _o("rho", None, "float", "optimizer", "decay of the squared-gradient average "
       "(rmsprop, adadelta)", low=0, high=1, open=(False, True)),
    _o("amsgrad", None, "bool", "optimizer", "the AMSGrad variant (adam, adamw)"),
    _o("weight_decay", None, "float", "optimizer",
       "weight decay (decoupled for adamw, L2-style for the others)", low=0),
    _o("clipnorm", None, "float", "optimizer", "clip each gradient's norm to this",
       low=0, open=(True, False)),
    _o("clipvalue", None, "float", "optimizer", "clip each gradient value to +-this",
       low=0, open=(True, False)),
    _o("global_clipnorm", None, "float", "optimizer",
       "clip the norm of all gradients together to this (not with clipnorm)",
       low=0, open=(True, False)),
    _o("initial_accumulator_value", None, "float", "optimizer",
       "starting value of the squared-gradient sums (adagrad)", low=0),
    _o("centered", None, "bool", "optimizer", "the centered variant (rmsprop)"),
    _o("momentum_decay", None, "float", "optimizer", "momentum decay (nadam)", low=0),
    _o("schedule", "constant", "str", "optimizer",
       "learning-rate schedule: constant, step, exponential, inverse_time, cosine (per "
       "optimizer step), or plateau (reduce when the monitored value stalls); in a file, also "
       "a table {name, ...} of any schedule with its own parameters",
       choices=SCHEDULES, table=True),
    _o("decay_steps", 0, "int", "optimizer",
       "optimizer steps per decay period; 0: one epoch (exponential, inverse_time), ten "
       "epochs (step), the whole run (cosine)", low=0, metavar="STEPS"),
    _o("decay_rate", None, "float", "optimizer",
       "decay factor; default 0.96 (exponential), 0.5 (inverse_time), 0.1 (step, plateau)",
       low=0, open=(True, False), metavar="RATE"),
    _o("warmup_steps", 0, "int", "optimizer",
       "linear learning-rate warm-up over this many optimizer steps", low=0, metavar="STEPS"),
    # training
    _o("epochs", 1000, "int", "training",
       "maximum number of epochs (early stopping ends most runs long before)", low=1,
       metavar="N"),
    _o("batch_size", 32, "int", "training", "mini-batch size (1: stochastic gradient descent; "
       "larger than the training set: batch gradient descent)", low=1, metavar="N"),
    _o("loss", "auto", "str", "training",
       "loss; auto: categorical_crossentropy (several classes), binary_crossentropy (two "
       "classes), mse (regression)", registry=losses.registry),
    _o("metrics", "auto", "names", "training",
       "metrics, comma-separated; auto: accuracy (classification), mae,r2 (regression)",
       registry=metrics.registry, metavar="NAME,..."),
    _o("early_stopping", True, "bool", "training",
       "stop when the monitored value has not improved for --patience epochs"),
    # 30: the validation loss of a small set can rise for 20 epochs before the network finds
    # the pattern (spiral), and a run is never stopped before epoch 31
    _o("patience", 30, "int", "training", "epochs without improvement before stopping",
       low=0, metavar="EPOCHS"),
    _o("monitor", "auto", "str", "training",
       "value watched by early stopping and the plateau schedule: loss, val_loss, "
       "val_accuracy, ...; auto: val_loss (loss without a validation split)", metavar="NAME"),
    _o("restore_best_weights", True, "bool", "training",
       "with early stopping, end with the weights of the best epoch"),
    _o("class_weight", None, "str", "training",
       "balanced: weigh each class's rows in the loss by n / (k * its rows in the training "
       "split), as scikit-learn's class_weight='balanced', so that a rare class counts as "
       "much as a common one; none (the default): every row weighs 1",
       choices=("balanced", "none")),
    _o("seed", 0, "int", "training",
       "seed of every random choice: data generation, split, initialization, dropout, "
       "shuffling, augmentation", low=0),
    # augmentation
    _o("augment_hflip", False, "bool", "augmentation", "mirror images left-right at random"),
    _o("augment_vflip", False, "bool", "augmentation", "flip images upside down at random"),
    _o("augment_rotation", 0.0, "float", "augmentation",
       "rotate images by up to +-this many degrees", low=0, metavar="DEGREES"),
    _o("augment_translation", 0, "int", "augmentation",
       "shift images by up to +-this many pixels", low=0, high=1_000_000, metavar="PIXELS"),
    _o("augment_noise", 0.0, "float", "augmentation",
       "add Gaussian noise of this standard deviation (raw units) to every input", low=0,
       metavar="STD"),
]
BY_KEY = {o.key: o for o in OPTIONS}
DEFAULTS = {o.key: o.default for o in OPTIONS}
# flags of `feedforward train` that say where and how to run, not what: no key of a file
COMMAND_LINE_ONLY = ("config", "out", "overwrite", "resume", "plots", "doctor",
                     "checkpoint_every")
# Options added after version 0.1, which refuses options it does not know: a record leaves
# them out while they are unset, so that a model file written now still loads there.
ADDED_AFTER_0_1 = ("global_clipnorm", "initial_accumulator_value", "centered", "momentum_decay",
                   "delimiter", "features", "drop", "categorical", "impute", "missing_indicators")


def portable(config: dict) -> dict:
    """``config`` without the options of :data:`ADDED_AFTER_0_1` that are unset (None).

    Parameters
    ----------
    config : dict
        A resolved config; reading it back fills the left-out options with their defaults.

    Returns
    -------
    dict
        A new dict.
    """
    return {k: v for k, v in config.items() if not (k in ADDED_AFTER_0_1 and v is None)}


# ---------------------------------------------------------------------------- the values
class Config(dict):
    """Option values by key, remembering where each came from, for error messages."""

    def __init__(self, values, sources=None, file=None):
        super().__init__(values)
        self.sources = dict(sources or {})
        self.file = file

    def label(self, key) -> str:
        """How the user set ``key``: its flag, its key in the file, or ``--flag`` for defaults."""
        if self.sources.get(key) == "file":
            return f"{key} (in {self.file})"
        return BY_KEY[key].flag

    def error(self, key, message) -> FeedforwardError:
        return FeedforwardError(f"{self.label(key)}: {message}")


def resolve(flags: dict, config_path=None) -> Config:
    """Defaults, overridden by the file at ``config_path``, overridden by ``flags``.

    ``flags`` maps keys to values given on the command line (None: not given).
    Raises :class:`FeedforwardError` for a bad value or an impossible combination.
    """
    values, sources = dict(DEFAULTS), {}
    file = None
    if config_path is not None:
        file = Path(config_path)
        for key, value in read_file(file).items():
            values[key], sources[key] = value, "file"
    for key, value in flags.items():
        if value is not None:
            values[key], sources[key] = value, "flag"
    return validate(Config(values, sources, file))


def validate(config: Config) -> Config:
    """Every value of ``config`` checked (and normalised) in place, then the combinations.

    Raises :class:`FeedforwardError` naming the option (see :meth:`Config.label`).
    """
    for option in OPTIONS:
        config[option.key] = check_value(option, config[option.key], config)
    check_combinations(config)
    return config


# ---------------------------------------------------------------------------- the file
def read_file(path: Path) -> dict:
    """The options of a TOML experiment file, type-checked; paths made relative to its folder."""
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except OSError as e:
        raise FeedforwardError(f"--config: cannot read {str(path)!r} ({e.strerror or e})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        bom = "; it starts with a byte order mark (U+FEFF): save it as UTF-8 without one" \
            if _starts_with_bom(path) else ""
        raise FeedforwardError(f"--config: {path} is not valid TOML ({e}){bom}") from None
    except RecursionError:
        raise FeedforwardError(f"--config: {path} nests arrays or tables too deeply to be "
                               "read") from None
    except ValueError as e:  # a NUL in the path; an integer of more than 4,300 digits
        raise FeedforwardError(f"--config: cannot read {str(path)!r} "
                               f"({str(e).split(';')[0]})") from None
    out = _typed(raw, path)
    dataset = out.get("dataset")
    if (isinstance(dataset, str) and builtin_kind(dataset) is None
            and not Path(dataset).expanduser().is_absolute()):
        out["dataset"] = str(path.parent / dataset)  # relative to the file, not the shell
    return out


def _starts_with_bom(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(3) == b"\xef\xbb\xbf"
    except OSError:
        return False


def _typed(raw: dict, where) -> dict:
    """The values of ``raw``, each key known and each value of its option's type; None (not
    set) only for options whose default is None."""
    out = {}
    for key, value in raw.items():
        option = BY_KEY.get(key)
        if option is None and key in COMMAND_LINE_ONLY:
            raise FeedforwardError(f"{where}: {key!r} is a flag of the command line only (the file "
                                   f"holds the run's configuration); give --"
                                   f"{key.replace('_', '-')} there")
        if option is None:
            close = difflib.get_close_matches(str(key), BY_KEY, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise FeedforwardError(f"{where}: unknown option {key!r}{hint} (the options are "
                                   "those of `feedforward train --help`, with underscores)")
        if value is None and option.default is None:
            out[key] = None
        else:
            out[key] = from_toml(option, value, f"{key} (in {where})")
    return out


def check(values: dict, where: str) -> Config:
    """Options stored elsewhere than ``--config`` (a model file's training record), checked as
    those of ``--config`` are: known keys, types, ranges and combinations. Keys left out take
    their defaults; errors name ``key (in WHERE)``."""
    typed = _typed(values, where)
    return validate(Config({**DEFAULTS, **typed}, {k: "file" for k in typed}, where))


def type_name(value) -> str:
    """What a value read from TOML is, for a message: ``"an integer"``, ``"a list"``, ..."""
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)


def from_toml(option: Option, value, label):
    """A value read from TOML, checked against the option's type (not yet its range)."""
    def bad(expected):
        return FeedforwardError(f"{label}: expected {expected}, got {type_name(value)} "
                                f"{_shown(value)}")

    kind = option.kind
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("an integer")
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a number")
        try:
            value = float(value)
        except OverflowError:  # an integer beyond the range of floats
            raise FeedforwardError(f"{label}: expected a finite number, got "
                                   f"{show(value)}") from None
    elif kind == "str":
        if not (isinstance(value, str) or (option.table and isinstance(value, dict))):
            raise bad("a string" + " or a table" * option.table)
    elif kind == "target":
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise bad("a column name or index")
    elif kind == "columns":
        if not isinstance(value, list) or not all(
                isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
            raise bad("a list of column names or indexes")
    elif kind in ("ints", "shape"):
        if not isinstance(value, list) or not all(
                (isinstance(v, int) and not isinstance(v, bool))
                or (option.table and isinstance(v, dict)) for v in value):
            raise bad("a list of integers" + " or tables" * option.table)
    elif kind == "names":
        if value != "auto" and not (isinstance(value, list)
                                    and all(isinstance(v, str) for v in value)):
            raise bad('"auto" or a list of names')
    return value


def _shown(value, limit: int = 60) -> str:
    """A TOML value for a message, as JSON, cut to ``limit`` characters; never fails."""
    try:
        text = json.dumps(value, default=str, ensure_ascii=False)
    except (ValueError, RecursionError):  # an integer past 4,300 digits; deep nesting
        text = "..."
    return text if len(text) <= limit else text[:limit - 3] + "..."


# ---------------------------------------------------------------------------- checks
def check_value(option: Option, value, config: Config):
    """``value`` checked against ``option``'s range, choices or registry; errors name the
    option as ``config`` labels it. Returns the value (a list copied); None stays None."""
    if value is None:
        return None
    key = option.key
    if option.kind in ("int", "float"):
        return _check_number(option, value, config)
    if option.kind in ("ints", "shape"):
        if option.kind == "shape" and len(value) not in (2, 3):
            raise config.error(key, f"expected height,width or height,width,channels, got "
                                    f"{len(value)} number(s)")
        out = []
        for i, v in enumerate(value):
            if isinstance(v, dict) and option.table:
                out.append(_check_layer(option, i, v, config))
                continue
            if v < 1:
                raise config.error(key, f"expected positive integers, got {show(v)}")
            out.append(_check_number(option, v, config))
        return out
    if option.kind == "names":
        if value == "auto":
            return value
        if not value:
            raise config.error(key, "expected at least one name, or auto")
        for name in value:
            _check_name(option, name, config)
        return list(value)
    if option.kind == "columns":
        if not value:
            raise config.error(key, "expected at least one column name or index, got none")
        return list(value)
    if key == "delimiter":
        return _check_delimiter(value, config)
    if option.kind == "str":
        if isinstance(value, dict) and option.table:
            return _check_schedule_table(option, value, config)
        if option.choices is not None and value not in option.choices:
            raise config.error(key, f"expected one of {', '.join(option.choices)}, got {value!r}")
        if option.registry is not None and not (value == "auto" and option.default == "auto"):
            _check_name(option, value, config)
    return value


def _check_delimiter(value, config) -> str:
    """The delimiter's character (``tab`` becomes a tab), or an error naming the option."""
    try:
        return tabular.parse_delimiter(value)
    except FeedforwardError as e:  # "delimiter: ...": named again as the user set it
        raise config.error("delimiter", str(e).split(": ", 1)[1]) from None


def _check_number(option, value, config):
    """A number within the option's bounds; integers of any size are compared exactly."""
    key = option.key
    if isinstance(value, float) and not math.isfinite(value):
        raise config.error(key, f"expected a finite number, got {value}")
    low, high = option.low, option.high
    if option.kind != "float":
        low = -INT_LIMIT - 1 if low is None else low
        high = INT_LIMIT if high is None else high
    low_open, high_open = option.open
    if low is not None and (value < low or (low_open and value == low)):
        raise config.error(key, f"expected a value {'>' if low_open else '>='} {_number(low)}, "
                                f"got {_number(value)}")
    if high is not None and (value > high or (high_open and value == high)):
        raise config.error(key, f"expected a value {'<' if high_open else '<='} "
                                f"{_number(high)}, got {_number(value)}")
    return value


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, float) else show(value)


def _check_name(option, name, config):
    """A name its registry knows (or one of the option's own ``names``); the error lists the
    known names."""
    if isinstance(name, str) and name.lower() in option.names:
        return
    try:
        option.registry.lookup(name)
    except FeedforwardError:  # replaced by a message that names the option
        # lower case, as the examples write them; the names match case-insensitively
        names = sorted({n.lower() for n in option.registry.names()} | set(option.names))
        known = ", ".join(["auto"] * (option.default == "auto") + names)
        raise config.error(option.key, f"unknown {option.registry.kind} {name!r}; "
                                       f"choose from {known}") from None


def _check_layer(option, i, table, config) -> dict:
    """The table of hidden layer ``i``: ``units`` (required), ``activation``, ``dropout``."""
    def error(message):
        return config.error(option.key, f"layer {i + 1}: {message}")

    unknown = [k for k in table if k not in LAYER_KEYS]
    if unknown:
        raise error(f"unknown key {str(unknown[0])!r}; a layer's table takes "
                    f"{', '.join(LAYER_KEYS)}")
    if "units" not in table:
        raise error("expected units in the layer's table, e.g. {units = 16}")
    units = table["units"]
    if isinstance(units, bool) or not isinstance(units, int) or not 1 <= units <= option.high:
        raise error(f"units: expected an integer from 1 to {option.high:,}, got {show(units)}")
    out = dict(table)
    if "activation" in table:
        try:
            activations.registry.lookup(table["activation"])
        except FeedforwardError as e:
            raise error(f"activation: {e}") from None
    if "dropout" in table:
        rate = table["dropout"]
        if (isinstance(rate, bool) or not isinstance(rate, (int, float))
                or not 0 <= rate < 1):
            raise error(f"dropout: expected a number from 0 to below 1, got {show(rate)}")
    return out


def _check_schedule_table(option, table, config) -> dict:
    """A schedule table's name and the names of its parameters (their values are checked
    with the other options, by :func:`schedule_arguments`)."""
    name = table.get("name")
    try:
        cls = schedules.registry.lookup(name)
    except FeedforwardError:
        names = ", ".join(sorted({n.lower() for n in schedules.registry.names()}))
        raise config.error(option.key, f"expected a table with the name of a schedule "
                                       f"({names}), got name {show(name)}") from None
    accepted = schedule_parameters(cls)
    for key, value in table.items():
        if key == "name":
            continue
        if key not in accepted:
            raise config.error(option.key, f"{cls.name} has no parameter {str(key)!r}; it "
                                           f"takes {', '.join(sorted(accepted))}")
        numbers = value if isinstance(value, list) else [value]
        if not all(v is None or isinstance(v, (bool, int, float)) for v in numbers):
            raise config.error(option.key, f"{key}: expected a number, true or false, or a "
                                           f"list of numbers, got {_shown(value)}")
    return {**table, "name": name}


def schedule_parameters(cls) -> set[str]:
    """The constructor arguments of a schedule class."""
    return {k for k, p in inspect.signature(cls).parameters.items()
            if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}


def schedule_arguments(table: dict, learning_rate) -> tuple[type, dict]:
    """The class and the constructor arguments of a schedule table.

    Parameters
    ----------
    table : dict
        ``{"name": ..., **parameters}`` (checked by :func:`validate`); lists become tuples.
    learning_rate : float
        The starting rate, for a table that leaves its rate parameter out.

    Returns
    -------
    cls : type
        The schedule class.
    kwargs : dict
        Its arguments.
    """
    cls = schedules.registry.lookup(table["name"])
    kwargs = {k: (tuple(v) if isinstance(v, list) else v)
              for k, v in table.items() if k != "name"}
    for key in SCHEDULE_RATE_KEYS:
        if key in schedule_parameters(cls) and key not in kwargs:
            kwargs[key] = learning_rate
    return cls, kwargs


def check_combinations(config: Config) -> None:
    """Refuse combinations that cannot work, before any data is loaded."""
    val, test = config["val"], config["test"]
    if val + test >= 1:
        raise FeedforwardError(
            f"{config.label('val')} {val:g} and {config.label('test')} {test:g}: together "
            "they must be below 1 to leave samples for training")
    kind = builtin_kind(config["dataset"])
    if config["noise"] and kind != "playground":
        raise config.error("noise", f"noise applies to the playground datasets "
                                    f"({', '.join(playground.names())}), not to "
                                    f"{config['dataset']!r}")
    if config["target"] is not None and kind is not None:
        raise config.error("target", f"a target column applies to CSV files; the built-in "
                                     f"dataset {config['dataset']!r} has its own target")
    if config["features"] is not None and config["drop"] is not None:
        raise FeedforwardError(f"{config.label('features')} and {config.label('drop')}: give "
                               "the columns to keep or those to leave out, not both")
    for key in ("header", "delimiter", "features", "drop", "categorical", "impute",
                "missing_indicators"):
        if config[key] is not None and kind is not None:
            raise config.error(key, f"applies to CSV files, not to the built-in dataset "
                                    f"{config['dataset']!r}")
    _check_optimizer(config)
    _check_schedule(config)
    if config["maxout"] == 1:
        raise config.error("maxout", "expected 0 (Dense layers) or at least 2 pieces, got 1")
    if config["maxout"] and config["activation"] != DEFAULTS["activation"]:
        # the default is allowed: a resolved file holds it, and must work when passed back
        raise config.error("activation", "Maxout layers have no activation (the maximum is "
                                         "their nonlinearity); drop it or --maxout")
    if config["maxout"] and any(isinstance(v, dict) and "activation" in v
                                for v in config["layers"]):
        raise config.error("layers", "Maxout layers have no activation (the maximum is their "
                                     "nonlinearity); drop the layers' activations or --maxout")
    if config["monitor"] != "auto" and config["monitor"].startswith("val_") and val == 0:
        raise config.error("monitor", f"{config['monitor']!r} needs a validation split; "
                                      f"set {BY_KEY['val'].flag} above 0")


def _check_optimizer(config: Config) -> None:
    cls = optimizers.registry.lookup(config["optimizer"])
    accepted = optimizer_parameters(cls)
    for key in OPTIMIZER_KEYS:
        if config[key] is not None and key not in accepted:
            takes = ", ".join(k for k in OPTIMIZER_KEYS if k in accepted)
            raise config.error(key, f"optimizer {config['optimizer']!r} has no {key} "
                                    f"parameter; it takes {takes}")


def optimizer_parameters(cls) -> set[str]:
    """The constructor arguments of an optimizer class, including the base class's."""
    params = dict(inspect.signature(cls).parameters)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        params.update(inspect.signature(optimizers.Optimizer).parameters)
    return set(params)


def default_learning_rate(config: Config) -> float:
    """``learning_rate``, or the optimizer's default when it is not set."""
    if config["learning_rate"] is not None:
        return config["learning_rate"]
    cls = optimizers.registry.lookup(config["optimizer"])
    return inspect.signature(cls).parameters["learning_rate"].default


def _check_schedule(config: Config) -> None:
    schedule = config["schedule"]
    if isinstance(schedule, dict):
        for key in ("decay_steps", "decay_rate"):
            if config[key]:
                raise config.error(key, f"the schedule {schedule['name']!r} is a table: give "
                                        f"its parameters in it")
        cls, kwargs = schedule_arguments(schedule, default_learning_rate(config))
        try:  # the schedule's own checks, named by the option
            cls(**kwargs)
        except (FeedforwardError, TypeError) as e:
            raise config.error("schedule", f"{cls.name}: {e}") from None
        return
    if schedule == "constant":
        for key in ("decay_steps", "decay_rate"):
            if config[key]:
                raise config.error(key, "has no effect with the constant schedule; choose a "
                                        f"{BY_KEY['schedule'].flag} ({', '.join(SCHEDULES[1:])})")
    if schedule == "plateau":
        if config["decay_steps"]:
            raise config.error("decay_steps", "the plateau schedule reduces the rate by epochs "
                                              "of no progress, not by steps")
        if config["warmup_steps"]:
            raise config.error("warmup_steps", "a warm-up cannot be combined with the plateau "
                                               "schedule, which sets the rate itself")
    rate = config["decay_rate"]
    # above 1 these schedules would raise the rate, without bound: 1e6 overflows it in 52 periods
    if rate is not None and schedule in ("step", "exponential", "plateau") and rate >= 1:
        raise config.error("decay_rate", f"the {schedule} schedule multiplies the rate by it, "
                                         f"so it must be below 1, got {rate:g}")


# ---------------------------------------------------------------------------- writing TOML
def _toml_value(value) -> str:
    # JSON's encodings of booleans, integers, finite floats and strings are valid TOML for
    # these types (a TOML basic string takes the same escapes), except that TOML forbids the
    # raw control character DEL, which JSON leaves as it is.
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):  # an inline table; its keys are the schema's, plain names
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()
                               if v is not None) + "}"
    if isinstance(value, float) and not math.isfinite(value):
        raise FeedforwardError(f"config: cannot write the non-finite number {value} as TOML")
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def dumps(config: dict, notes: dict | None = None, header: str = "") -> str:
    """The configuration as a flat TOML document, grouped with comments.

    ``notes`` maps keys to a comment shown beside the value (e.g. what ``auto`` became).
    Options that are not set (None) appear as comments, so the file lists every option.
    """
    notes = notes or {}
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for group in GROUPS:
        lines += ["", f"# --- {group}"]
        for option in OPTIONS:
            if option.group != group:
                continue
            value = config.get(option.key)
            note = notes.get(option.key)
            if value is None:
                lines.append(f"# {option.key} = ...  (not set" + (f": {note})" if note else ")"))
            else:
                lines.append(f"{option.key} = {_toml_value(value)}"
                             + (f"  # {note}" if note else ""))
    return "\n".join(lines) + "\n"
