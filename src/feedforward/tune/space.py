"""The search space: which options of ``feedforward train`` are fixed, which are searched, how.

A space is a TOML file (or the same structure as a dict) with three tables:

``[fixed]``
    Options of ``feedforward train`` (the keys of its ``--config`` file) that every trial shares.
``[search]``
    One range per searched option: ``{choice = [...]}``, ``{uniform = [low, high]}``,
    ``{log_uniform = [low, high]}``, ``{int = [low, high]}`` or ``{int_log = [low, high]}``
    (integer bounds inclusive), each with an optional ``points = N`` for the grid strategy.
``[tune]``
    Settings of the search itself: ``strategy`` (``random``, ``grid`` or ``tpe``),
    ``trials``, ``seed``, ``metric``, ``grid_points``, ``pruner`` for ``tpe``, ``refit``
    (true or false), ``test_data`` (a labelled file scored once, at the end) and ``cv`` (folds).

Two keys describe the hidden layers besides ``layers`` (a list of units):
``hidden_layers`` (their count) and ``units`` (the size of each), which give
``layers = [units] * hidden_layers``; they can be fixed or searched, and replace ``layers``.

Every value is checked as ``train`` checks it, and an error names the key
(``search.dropout (in space.toml): ...``).
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import config, optimizers
from ..data.sources import builtin_kind
from ..errors import FeedforwardError

TABLES = ("fixed", "search", "tune")
STRATEGIES = ("random", "grid", "tpe")
PRUNERS = ("median", "halving", "hyperband", "none")
"""The pruners of the tpe strategy (see feedforward.tune.adaptive)."""
# the data and the split are the same for every trial, so that their scores compare
NOT_SEARCHABLE = ("dataset", "target", "task", "samples", "noise", "val", "test", "image_shape",
                  "seed", "metrics", "monitor")
LAYER_KEYS = {
    "hidden_layers": config.Option("hidden_layers", None, "int", "model",
                                   "number of hidden layers", low=0),
    "units": config.Option("units", None, "int", "model", "units of each hidden layer", low=1),
}
KINDS = ("choice", "uniform", "log_uniform", "int", "int_log")
SETTINGS = {"strategy": "random", "trials": 20, "seed": 0, "metric": "auto", "grid_points": 3,
            "pruner": "median", "refit": True, "test_data": None, "cv": None}
# each trial's configuration is checked and kept before the first one trains (0.6 ms and
# 2 KB each): a search's trials, and a grid's values along one axis, are at most this many
MAX_TRIALS = 10_000
BOUNDS = {"trials": (1, MAX_TRIALS), "seed": (0, None), "grid_points": (2, MAX_TRIALS),
          "points": (2, MAX_TRIALS), "cv": (2, 100)}
"""The integer settings' bounds, inclusive (None: unbounded)."""


def option(key: str):
    """The :class:`~feedforward.config.Option` of ``key`` (a train option or a layer key)."""
    return LAYER_KEYS.get(key) or config.BY_KEY.get(key)


class Labels(config.Config):
    """Option values whose errors name the space's key: ``search.dropout (in space.toml)``."""

    def __init__(self, values=(), labels=None):
        super().__init__(dict(values))
        self.labels = dict(labels or {})

    def label(self, key) -> str:
        return self.labels.get(key, f"{key} (default)")


# ---------------------------------------------------------------------------- distributions
@dataclass(frozen=True)
class Range:
    """One searched option's range.

    Parameters
    ----------
    key : str
        The option (a key of ``feedforward train``'s configuration, or ``hidden_layers`` or
        ``units``).
    kind : str
        One of :data:`KINDS`: ``choice``, ``uniform``, ``log_uniform``, ``int``, ``int_log``.
    values : list
        The choices, or ``[low, high]`` (integer bounds included).
    points : int, optional
        The number of grid values of a numeric range; None: the search's ``grid_points``.
    """

    key: str
    kind: str
    values: list
    points: int | None = None

    @property
    def log(self) -> bool:
        return self.kind in ("log_uniform", "int_log")

    def sample(self, rng: np.random.Generator):
        """One value drawn from the range.

        Parameters
        ----------
        rng : numpy.random.Generator
            The generator to draw with.

        Returns
        -------
        object
            A choice (a copy), a float, or an int.
        """
        if self.kind == "choice":
            return copy.deepcopy(self.values[int(rng.integers(len(self.values)))])
        low, high = self.values
        if self.kind == "uniform":
            return float(rng.uniform(low, high))
        if self.kind == "log_uniform":
            return float(math.exp(rng.uniform(math.log(low), math.log(high))))
        if self.kind == "int":
            return int(rng.integers(low, high + 1))
        # int_log: uniform in log over [low, high + 1), so every integer has its share
        return min(high, int(math.exp(rng.uniform(math.log(low), math.log(high + 1)))))

    def grid(self, points: int) -> list:
        """The range's values on a grid.

        Parameters
        ----------
        points : int
            The number of values of a numeric range without its own ``points``.

        Returns
        -------
        list
            The choices, or values evenly spaced (in log for the log ranges) from low to high,
            integers rounded and deduplicated.
        """
        if self.kind == "choice":
            return copy.deepcopy(self.values)
        n = self.points or points
        check_setting("points", n, f"search.{self.key}: points")  # before n values exist
        low, high = self.values
        space = np.geomspace if self.log else np.linspace
        values = space(low, high, n)
        if self.kind in ("int", "int_log"):
            return list(dict.fromkeys(int(round(v)) for v in values))
        return [float(v) for v in values]

    def to_dict(self) -> dict:
        """The range as its table in a space file.

        Returns
        -------
        dict
            ``{kind: values}``, with ``points`` when set.
        """
        return {self.kind: self.values, **({"points": self.points} if self.points else {})}


# ---------------------------------------------------------------------------- the space
@dataclass
class Space:
    """A parsed, checked search space (made by :func:`load`).

    Parameters
    ----------
    fixed : dict
        Option values shared by every trial.
    ranges : dict
        ``{key: Range}`` of the searched options, in file order.
    settings : dict
        ``strategy``, ``trials``, ``seed``, ``metric``, ``grid_points``, ``pruner``,
        ``refit``, ``test_data``, ``cv``.
    file : str
        Where the space came from, for messages.
    labels : dict
        How errors name each key: ``{key: "search.dropout (in space.toml)"}``.
    """

    fixed: dict
    ranges: dict
    settings: dict
    file: str = "the space"
    labels: dict = field(default_factory=dict)

    def fingerprint(self, extra: str = "") -> str:
        """A digest of everything that decides the trials, but not their number.

        Parameters
        ----------
        extra : str
            More that decides them (a digest of the data).

        Returns
        -------
        str
            16 hex digits; a rerun with the same fingerprint resumes an earlier one's results.
        """
        decides = ("strategy", "seed", "grid_points" if self.settings["strategy"] == "grid"
                   else "strategy", *(("pruner",) if self.settings["strategy"] == "tpe" else ()),
                   *(("cv",) if self.settings.get("cv") else ()))  # folds change the scores
        what = {"fixed": self.fixed, "search": {k: r.to_dict() for k, r in self.ranges.items()},
                **{k: self.settings[k] for k in decides}, "data": extra}
        return digest(what)[:16]

    def config(self, params: dict) -> tuple[Labels, dict]:
        """The ``train`` configuration of a trial, checked as ``train`` checks it.

        Parameters
        ----------
        params : dict
            Values of the searched options.

        Returns
        -------
        config : Labels
            Every option of ``train``: its default, the fixed value or the trial's.
        params : dict
            The params that apply: an optimizer's hyperparameter is left out for an optimizer
            without it, a schedule's decay for the constant schedule, ``units`` for no hidden
            layer.
        """
        values = {**config.DEFAULTS, "seed": self.settings["seed"], **self.fixed, **params}
        params = _applicable(params, values)
        values = {**config.DEFAULTS, "seed": self.settings["seed"], **self.fixed, **params}
        if "hidden_layers" in values or "units" in values:
            values["layers"] = [values.pop("units", None)] * values.pop("hidden_layers")
        cfg = Labels(values, self.labels)
        return config.validate(cfg), params


def _applicable(params: dict, values: dict) -> dict:
    cls = optimizers.registry.lookup(values["optimizer"])
    accepted = config.optimizer_parameters(cls)
    dropped = set()
    if "optimizer" in params:
        dropped |= {k for k in config.OPTIMIZER_KEYS if k not in accepted}
    if "schedule" in params:
        schedule = values["schedule"]
        if isinstance(schedule, dict):  # a table carries its own parameters
            dropped |= {"decay_steps", "decay_rate"}
        else:
            dropped |= {"constant": {"decay_steps", "decay_rate"},
                        "plateau": {"decay_steps", "warmup_steps"}}.get(schedule, set())
    if values.get("hidden_layers") == 0:
        dropped.add("units")
    return {k: v for k, v in params.items() if k not in dropped}


def digest(obj) -> str:
    """A hex SHA-256 of ``obj``'s canonical JSON."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def load(source, **settings) -> Space:
    """Read and check a search space.

    Parameters
    ----------
    source : str, Path, dict or Space
        A TOML file, or its tables as a dict (``fixed``, ``search``, ``tune``).
    **settings
        ``strategy``, ``trials``, ``seed``, ``metric``, ``grid_points``, ``pruner``: override the
        ``[tune]`` table where not None (also ``refit``, ``test_data``, ``cv``).

    Returns
    -------
    Space

    Raises
    ------
    FeedforwardError
        For a bad file or value, naming the key: ``search.dropout (in space.toml): ...``.
    """
    if isinstance(source, Space):
        raw, file, folder = _as_raw(source), source.file, None
    elif isinstance(source, dict):
        raw, file, folder = _plain(source), "the space", None
    elif isinstance(source, (str, Path)):
        file, folder = str(source), Path(source).parent
        raw = _read(Path(source))
    else:
        raise FeedforwardError(f"space: expected a TOML file path, a dict or a Space, got "
                               f"{type(source).__name__}")
    for table in raw:
        if table not in TABLES:
            raise FeedforwardError(
                f"{table} (in {file}): unknown table; a space has [fixed], [search] and [tune]"
                + (" (train options belong in [fixed])" if option(table) else ""))
        if not isinstance(raw[table], dict):
            raise FeedforwardError(f"{table} (in {file}): expected a table, got "
                                   f"{config.type_name(raw[table])}")
    fixed = _fixed(raw.get("fixed", {}), file, folder)
    ranges = {k: _range(k, v, file, fixed) for k, v in raw.get("search", {}).items()}
    if not ranges:
        raise FeedforwardError(f"search (in {file}): expected at least one searched option, "
                               "e.g. learning_rate = {log_uniform = [1e-4, 1e-1]}")
    given = {k: v for k, v in settings.items() if v is not None}
    tune = {**raw.get("tune", {}), **given}
    labels = {k: f"fixed.{k} (in {file})" for k in fixed}
    labels.update({k: f"search.{k} (in {file})" for k in ranges})
    space = Space(fixed, ranges, _settings(tune, file, given), file, labels)
    test_data = space.settings["test_data"]
    if folder is not None and "test_data" not in given and isinstance(test_data, str):
        space.settings["test_data"] = str((folder / Path(test_data).expanduser()).resolve())
    _check_layers(space)
    return space


def _plain(obj):
    """``obj`` with tuples as lists and NumPy scalars as Python numbers, as TOML gives them."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj.item() if isinstance(obj, np.generic) else obj


def _as_raw(space: Space) -> dict:
    tpe = space.settings["strategy"] == "tpe"  # the pruner is a setting of tpe only
    return {"fixed": space.fixed, "search": {k: r.to_dict() for k, r in space.ranges.items()},
            "tune": {k: v for k, v in space.settings.items() if k != "pruner" or tpe}}


def _read(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return config.tomllib.load(f)
    except OSError as e:
        raise FeedforwardError(f"SPACE: cannot read {str(path)!r} ({e.strerror or e})") from None
    except (config.tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise FeedforwardError(f"SPACE: {path} is not valid TOML ({e})") from None


def _unknown(key, label):
    known = [*config.BY_KEY, *LAYER_KEYS]
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return FeedforwardError(f"{label}: unknown parameter{hint} (the options of `feedforward "
                            "train --help` with underscores, hidden_layers and units)")


def _fixed(table: dict, file, folder) -> dict:
    out = {}
    for key, value in table.items():
        label = f"fixed.{key} (in {file})"
        opt = option(key)
        if opt is None:
            raise _unknown(key, label)
        value = config.from_toml(opt, value, label)
        out[key] = config.check_value(opt, value, Labels(labels={key: label}))
    dataset = out.get("dataset")
    if (folder is not None and isinstance(dataset, str) and builtin_kind(dataset) is None
            and not Path(dataset).expanduser().is_absolute()):
        out["dataset"] = str((folder / dataset).resolve())  # relative to the file
    return out


def _range(key, spec, file, fixed) -> Range:
    label = f"search.{key} (in {file})"
    opt = option(key)
    if opt is None:
        raise _unknown(key, label)
    if key in NOT_SEARCHABLE:
        raise FeedforwardError(f"{label}: cannot be searched: the data, its split and the "
                               "seed are the same for every trial; set it in [fixed]")
    if key in fixed:
        raise FeedforwardError(f"{label}: is also in [fixed]; keep one of the two")
    kinds = [k for k in KINDS if isinstance(spec, dict) and k in spec]
    if not isinstance(spec, dict) or len(kinds) != 1:
        raise FeedforwardError(
            f"{label}: expected a table with one of {', '.join(KINDS)}, such as "
            f"{{choice = [...]}} or {{uniform = [0, 0.5]}}, got {json.dumps(spec, default=str)}")
    kind = kinds[0]
    extra = set(spec) - {kind, "points"}
    if extra:
        raise FeedforwardError(f"{label}: unknown key(s) {', '.join(sorted(extra))}; a range "
                               f"has {kind} and optionally points")
    points = spec.get("points")
    if points is not None:
        check_setting("points", points, f"{label}: points")
    values = spec[kind]
    if kind == "choice":
        return Range(key, kind, _choices(opt, values, label), points)
    return Range(key, kind, _bounds(opt, kind, values, label), points)


def _choices(opt, values, label) -> list:
    if not isinstance(values, list) or not values:
        raise FeedforwardError(f"{label}: choice: expected a non-empty list of values, got "
                               f"{json.dumps(values, default=str)}")
    checker = Labels(labels={opt.key: f"{label}: choice"})
    return [config.check_value(opt, config.from_toml(opt, v, f"{label}: choice"), checker)
            for v in values]


def _bounds(opt, kind, values, label) -> list:
    integer = kind.startswith("int")
    if opt.kind not in ("int", "float"):
        raise FeedforwardError(f"{label}: {kind}: {opt.key} is not a number; use "
                               "{choice = [...]}")
    if opt.kind == "int" and not integer:
        raise FeedforwardError(f"{label}: {kind}: {opt.key} is an integer; use "
                               f"{{{'int_log' if kind == 'log_uniform' else 'int'} = [low, high]}}")
    number = (int,) if integer else (int, float)
    if (not isinstance(values, list) or len(values) != 2
            or any(isinstance(v, bool) or not isinstance(v, number) for v in values)):
        what = "integers" if integer else "numbers"
        raise FeedforwardError(f"{label}: {kind}: expected [low, high], two {what}, got "
                               f"{json.dumps(values, default=str)}")
    low, high = values if integer else map(float, values)
    if low > high:
        raise FeedforwardError(f"{label}: {kind}: low {low:g} is above high {high:g}")
    if low == high:
        raise FeedforwardError(f"{label}: {kind}: the range [{low:g}, {high:g}] is empty (a "
                               "single value); set it in [fixed]")
    if kind in ("log_uniform", "int_log") and low <= 0:
        raise FeedforwardError(f"{label}: {kind}: a log range needs low > 0, got {low:g}")
    checker = Labels(labels={opt.key: f"{label}: {kind}"})
    for v in (low, high):
        config.check_value(opt, v, checker)
    return [low, high]


def _settings(tune: dict, file, given=()) -> dict:
    out = dict(SETTINGS)
    for key, value in tune.items():
        label = key if key in given else f"tune.{key} (in {file})"  # an argument, or the file
        if key not in SETTINGS:
            close = difflib.get_close_matches(key, SETTINGS, n=1)
            raise FeedforwardError(f"{label}: unknown setting" + (
                f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(SETTINGS)}"))
        if key == "refit" or (key in ("test_data", "cv") and value is None):
            if key == "refit" and not isinstance(value, bool):
                raise FeedforwardError(f"{label}: expected true or false, got {json.dumps(value)}")
        elif key in BOUNDS:
            check_setting(key, value, label)
        elif not isinstance(value, str):
            raise FeedforwardError(f"{label}: expected a string, got {json.dumps(value)}")
        if key == "strategy" and value not in STRATEGIES:
            raise FeedforwardError(f"{label}: expected one of {', '.join(STRATEGIES)}, got "
                                   f"{value!r}")
        if key == "pruner" and value not in PRUNERS:
            raise FeedforwardError(f"{label}: expected one of {', '.join(PRUNERS)}, got "
                                   f"{value!r}")
        out[key] = value
    if "pruner" in tune and out["strategy"] != "tpe":
        label = "pruner" if "pruner" in given else f"tune.pruner (in {file})"
        raise FeedforwardError(f"{label}: applies to the tpe strategy, not to "
                               f"{out['strategy']}; set strategy = \"tpe\" or leave it out")
    return out


def check_setting(key: str, value, label: str) -> None:
    """Refuse a value of an integer setting (a key of :data:`BOUNDS`) outside its bounds.

    Parameters
    ----------
    key : str
        ``trials``, ``seed``, ``grid_points`` or ``points``.
    value : object
        The value given.
    label : str
        How the error names it: ``tune.trials (in space.toml)``, ``--trials``.
    """
    low, high = BOUNDS[key]
    if (isinstance(value, bool) or not isinstance(value, int) or value < low
            or (high is not None and value > high)):
        limit = "" if high is None else f" and at most {high}" + (
            " (the limit feedforward.tune.space.MAX_TRIALS)" if high == MAX_TRIALS else "")
        raise FeedforwardError(f"{label}: expected an integer >= {low}{limit}, got "
                               f"{json.dumps(value, default=str)}")


def _check_layers(space: Space) -> None:
    given = {k for k in ("layers", *LAYER_KEYS) if k in space.fixed or k in space.ranges}
    if given & set(LAYER_KEYS) and "layers" in given:
        raise FeedforwardError(f"{space.labels['layers']}: give either layers or "
                               "hidden_layers and units, not both")
    for key, other in (("hidden_layers", "units"), ("units", "hidden_layers")):
        if key in given and other not in given:
            raise FeedforwardError(f"{space.labels[key]}: needs {other} as well (layers = "
                                   "[units] * hidden_layers), fixed or searched")
