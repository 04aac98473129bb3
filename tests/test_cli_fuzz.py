"""Random values for every flag of every command and every key of the TOML file: the command
ends with exit status 0 or 2 (1 for a failed ``check``), never an internal error or a traceback.

The flags and keys come from the parsers and :data:`feedforward.config.OPTIONS`, so a new
option is fuzzed without a change here. Each value is drawn from a mix of valid values,
boundaries (0, -1, 2**63, 10**400, 1e308, nan, inf), wrong types, empty, unicode and very long
text. ``main`` runs in this process on tiny data (40 points of a playground set, 100 digits
images or a 40-row CSV file; one epoch); servers are never started. The examples are
derandomized, so ``make test`` sees the same ones each time; the commands the fuzzing found
failing are kept in :data:`FOUND`.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import shutil
import signal

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from feedforward import config
from feedforward.cli.main import build_parser, main

# no shrinking: an example is one or two flags already, and a hang would be rerun at length
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])
SECONDS = 15  # a command that runs longer than this is a hang, reported as such (each takes
# well under a second)

# 10**5000 is past Python's 4,300 digits of int-to-text conversion
HUGE = [str(2**31), str(2**63 - 1), str(2**63), str(2**64), "1" + "0" * 400, "1" + "0" * 5000]
BOUNDARY = ["0", "-1", "1", "2", *HUGE, *(f"-{n}" for n in HUGE), "1e308", "-1e308",
            "1e400", "5e-324", "nan", "-nan", "inf", "-inf", "1.5", "0x10", "1_000", "1e6", "",
            " ", ",", "true", "none"]
# No "/" or "~" in text: a value used as a path must stay under the test's folder. No NUL:
# a command line cannot hold one (TOML strings can, and the TOML values have them).
JUNK = st.one_of(st.text(st.characters(blacklist_characters="/~\\\x00"), max_size=12),
                 st.sampled_from(["x" * 1000, "é,ü", "\x01", "🙂", "1," * 500, "-", "--",
                                  "=", "%s"]))
BOUNDARIES = st.sampled_from(BOUNDARY)
NAME = st.text(st.characters(blacklist_characters="/\\\x00", blacklist_categories=("Cs",)),
               min_size=1, max_size=20).map(lambda s: "p" + s)


def mixed(valid) -> st.SearchStrategy[str]:
    """Half valid values (so that runs get past the checks), then boundaries, then junk."""
    return st.integers(0, 9).flatmap(lambda i: valid if i < 5 else BOUNDARIES if i < 8 else JUNK)


def flag_values(option: config.Option) -> st.SearchStrategy[str]:
    """Text for ``option``'s flag: valid values, boundaries and junk."""
    kind = option.kind
    if kind == "int":
        return mixed(st.integers(0, 5).map(str))
    if kind == "float":
        return mixed(st.floats(0, 1).map(repr))
    if kind in ("ints", "shape"):
        item = mixed(st.integers(1, 8).map(str))
        return st.lists(item, max_size=4).map(",".join)
    if kind == "target":  # the columns of data.csv, by index or name
        return mixed(st.one_of(st.integers(-4, 3).map(str),
                               st.sampled_from(["a", "b", "label", "A"])))
    names = list(option.choices or ())
    if option.registry is not None:
        names += ["auto", *option.registry.names()]
    if option.key == "dataset":
        names += ["circle", "xor", "digits", "iris", "data.csv", "rows.csv", ".", "missing.csv"]
    if option.key == "monitor":
        names += ["loss", "val_loss", "val_accuracy", "auto", "accuracy"]
    valid = st.sampled_from(names) if names else NAME
    if kind == "names":
        return mixed(st.lists(valid, max_size=3).map(",".join))
    return mixed(valid)


def toml_values(max_leaves=6) -> st.SearchStrategy[str]:
    """TOML text for one value: every type TOML has, nested arrays and tables, deep nesting."""
    scalars = st.one_of(
        st.integers(-5, 5).map(str),
        st.sampled_from(HUGE + [f"-{n}" for n in HUGE]),
        st.floats(allow_nan=True, allow_infinity=True).map(
            lambda f: {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(f), repr(f))),
        st.sampled_from(["1e308", "-1e308", "5e-324", "0.0", "-0.0", "1.5", "true", "false",
                         "1979-05-27T07:32:00Z", "07:32:00", '""', '"auto"', '"circle"',
                         '"x"', "0x7fffffffffffffff", "[]", "{}", '"' + "x" * 10_000 + '"',
                         "[" * 3000 + "]" * 3000, "[" * 20 + "1" + "]" * 20]),
        st.text(max_size=12).map(lambda s: json.dumps(s).replace("\x7f", "\\u007f")),
    )
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda v: "[" + ", ".join(v) + "]"),
        st.dictionaries(st.sampled_from(["a", "b", "seed"]), inner, max_size=2).map(
            lambda d: "{" + ", ".join(f"{k} = {v}" for k, v in d.items()) + "}")),
        max_leaves=max_leaves)


class Hang(BaseException):  # not an Exception: main must not report it as its own
    pass


@contextlib.contextmanager
def time_limit(argv):
    def expire(signum, frame):
        raise Hang(f"still running after {SECONDS} s: feedforward {' '.join(argv)[:300]}")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def run_cli(capsys, argv, allowed=(0, 2)):
    """Run ``feedforward argv`` in this process; assert a clean exit, or one line of error."""
    restore()
    capsys.readouterr()
    with time_limit(argv):
        try:
            code = main(argv)
        except SystemExit as e:  # argparse: usage errors, --help, --version
            code = e.code
    out, err = capsys.readouterr()
    shown = "feedforward " + " ".join(a if len(a) < 80 else a[:60] + "..." for a in argv)
    err_shown = err if len(err) < 600 else err[:300] + " ... " + err[-300:]
    assert "internal error" not in err, f"{shown}\n{err_shown}"
    assert "Traceback" not in err + out, f"{shown}\n{err_shown}"
    assert code in allowed, f"{shown}: exit {code}\n{err_shown}"
    if code == 2:
        assert err.count("\n") == 1 and "error:" in err, f"{shown}: not one line\n{err_shown}"
    return err


# ---------------------------------------------------------------------------- fixtures
INPUTS: dict = {}  # path -> bytes of the files the commands read


def restore():
    """Put back the input files, which a fuzzed output flag (--output rows.csv) may replace."""
    for path, data in INPUTS.items():
        if path.is_dir():
            shutil.rmtree(path)
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A folder with a tiny trained model, rows to predict, a CSV and a search space."""
    folder = tmp_path_factory.mktemp("fuzz")
    with contextlib.redirect_stdout(None):
        code = main(["train", "--dataset", "circle", "--samples", "40", "--epochs", "1",
                     "--layers", "4", "--no-plots", "-q", "--out", str(folder / "run")])
    assert code == 0
    (folder / "rows.csv").write_text("x1,x2\n0.5,0.25\n-1,2\n")
    (folder / "data.csv").write_text("a,b,label\n" + "".join(
        f"{i % 7},{i % 3},{'xy'[i % 2]}\n" for i in range(40)))
    (folder / "space.toml").write_text(
        '[fixed]\ndataset = "circle"\nsamples = 40\nepochs = 1\n'
        '[search]\nlearning_rate = {log_uniform = [1e-4, 1e-1]}\nlayers = {choice = [[4], [8]]}\n'
        "[tune]\ntrials = 2\n")
    for name in ("run/model.safetensors", "rows.csv", "data.csv", "space.toml"):
        INPUTS[folder / name] = (folder / name).read_bytes()
    return folder


@pytest.fixture
def here(files, monkeypatch):
    """Work in the fixture's folder, so that relative paths written by a command land there."""
    monkeypatch.chdir(files)
    monkeypatch.delenv("FEEDFORWARD_DEBUG", raising=False)  # it would show tracebacks
    return files


RUNS = itertools.count()


# tiny and quick: 24 training rows, one step an epoch, early stopping soon after a fuzzed
# --epochs 2**63-1; points, images (for the augmentation options) and a CSV file (--target)
DATA = {"circle": {"samples": 40}, "digits": {"samples": 100}, "data.csv": {}}
BASE = {"epochs": 1, "patience": 2, "layers": [4]}


def base_options(dataset) -> dict:
    return {"dataset": dataset, **DATA[dataset], **BASE}


def train_argv(command="train", dataset="circle"):
    base = [command, "-q"]
    for key, value in base_options(dataset).items():
        base += [config.BY_KEY[key].flag, ",".join(map(str, value))
                 if isinstance(value, list) else str(value)]
    if command == "train":
        base += ["--no-plots", "--out", f"runs/{next(RUNS)}"]
    return base


def toml_run(folder, text: str, dataset="circle") -> list[str]:
    """``train --config`` a file of ``text`` and the base options it does not set (a flag
    would override the file's value)."""
    path = folder / f"fuzz{next(RUNS)}.toml"
    keys = {line.split("=")[0].strip() for line in text.splitlines()}
    base = "".join(f"{k} = {config._toml_value(v)}\n"
                   for k, v in base_options(dataset).items() if k not in keys)
    path.write_text(base + text, encoding="utf-8")
    return ["train", "-q", "--no-plots", "--out", f"runs/{next(RUNS)}", "--config", path.name]


def option_flag(option, value: str | None) -> list[str]:
    if option.kind == "bool":
        return [option.flag if value else "--no-" + option.flag[2:]]
    return [f"{option.flag}={value}"]


@st.composite
def option_and_value(draw, options=config.OPTIONS):
    option = draw(st.sampled_from(options))
    value = draw(st.booleans()) if option.kind == "bool" else draw(flag_values(option))
    return option, value


# ---------------------------------------------------------------------------- train
@settings(SETTINGS, max_examples=150)
@given(st.lists(option_and_value(), min_size=1, max_size=2), st.sampled_from(list(DATA)))
def test_train_flags(here, capsys, pairs, dataset):
    argv = train_argv(dataset=dataset)
    for option, value in pairs:
        argv += option_flag(option, value)
    run_cli(capsys, argv)


SCHEDULE_KEYS = ("learning_rate", "decay_rate", "decay_steps", "warmup_steps", "momentum",
                 "beta_1", "beta_2", "epsilon", "rho", "weight_decay", "clipnorm", "clipvalue")


@settings(SETTINGS, max_examples=100)
@given(st.sampled_from(config.SCHEDULES), st.sampled_from(list(config.optimizers.registry.names())),
       st.lists(option_and_value([config.BY_KEY[k] for k in SCHEDULE_KEYS]), max_size=2),
       st.integers(1, 4))
def test_train_schedules_and_optimizers(here, capsys, schedule, optimizer, pairs, epochs):
    """Hyperparameters that make the learning rate overflow over a few steps (an exponential
    schedule with decay rate 1e300) are refused in one line, not an OverflowError."""
    argv = train_argv() + ["--schedule", schedule, "--optimizer", optimizer,
                           "--epochs", str(epochs), "--batch-size", "8", "--no-early-stopping"]
    for option, value in pairs:
        argv += option_flag(option, value)
    run_cli(capsys, argv)


def _other_train_flags():
    """train's own flags beyond the options (--config, --out, --doctor, ...)."""
    keys = {o.key for o in config.OPTIONS}
    return [a for a in _own_flags("train") if a.dest not in keys]


@SETTINGS
@given(st.data())
def test_train_other_flags(here, capsys, data):
    action = data.draw(st.sampled_from(_other_train_flags()), label="flag")
    run_cli(capsys, train_argv() + action_flag(data, action))


@settings(SETTINGS, max_examples=150)
@given(st.lists(st.tuples(st.sampled_from([o.key for o in config.OPTIONS]), toml_values()),
                min_size=1, max_size=2), st.sampled_from(["", "x = 1\n", "[table]\nseed = 1\n"]),
       st.sampled_from(list(DATA)))
def test_train_toml_keys(here, capsys, pairs, extra, dataset):
    """One or two keys of the file with any TOML value, or an unknown key or table."""
    text = "".join(f"{k} = {v}\n" for k, v in pairs) + extra
    run_cli(capsys, toml_run(here, text, dataset))


# ---------------------------------------------------------------------------- other commands
def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def action_values(action) -> st.SearchStrategy[str]:
    if action.choices is not None:
        return mixed(st.sampled_from(list(action.choices)))
    if action.type is int:
        return mixed(st.integers(0, 30).map(str))
    if action.type is float:
        return mixed(st.floats(0, 1).map(repr))
    if action.type is not None and action.type is not str:
        return mixed(st.integers(0, 3).map(str))
    return st.one_of(NAME, st.sampled_from(["", ".", "runs", "model.onnx", "out.csv", "x.png",
                                            "rows.csv", "run/model.safetensors"]), JUNK)


def action_flag(data, action) -> list[str]:
    flag = max(action.option_strings, key=len)
    if action.nargs == 0:
        if isinstance(action, argparse.BooleanOptionalAction):
            flag = data.draw(st.sampled_from(action.option_strings))
        return [flag]
    return [f"{flag}={data.draw(action_values(action), label=flag)}"]


MODEL = "run/model.safetensors"
BASES = {
    "evaluate": ["evaluate", MODEL, "-q"],
    "predict": ["predict", MODEL, "rows.csv", "-q", "--output", "predictions.csv"],
    "summary": ["summary", MODEL],
    "export": ["export", MODEL, "--onnx", "model.onnx", "-q"],
    "datasets": ["datasets"],
    "check": [*train_argv("check"), "--subset", "8", "--max-steps", "20", "--lr-steps", "20"],
    "tune": ["tune", "space.toml", "--dry-run", "-q"],
}
POSITIONALS = {"evaluate": [MODEL], "predict": [MODEL, "rows.csv"], "summary": [MODEL],
               "export": [MODEL], "tune": ["space.toml"]}
PATHS = st.one_of(NAME, st.sampled_from(["", ".", "run", MODEL, "rows.csv", "data.csv",
                                         "space.toml", "run/config.toml", "run/history.csv"]),
                  JUNK)


def _own_flags(command):
    """The flags of ``command``, but --debug, which shows tracebacks on purpose, and for
    check the options of train."""
    keys = {o.flag for o in config.OPTIONS} if command == "check" else set()
    return [a for a in _subparsers()[command]._actions
            if a.option_strings and not keys & set(a.option_strings) and a.dest != "debug"]


EXAMPLES = {"datasets": 10, "summary": 20, "check": 30}  # fewer flags, or slower runs


@pytest.mark.parametrize("command", sorted(BASES))
def test_command_flags(here, capsys, command):
    """Each command's own flags (check's options are train's, fuzzed above), and its
    positional arguments replaced by any path."""
    allowed = (0, 1, 2) if command == "check" else (0, 2)

    @settings(SETTINGS, max_examples=EXAMPLES.get(command, 40))
    @given(st.data())
    def fuzz(data):
        argv = list(BASES[command])
        if command in POSITIONALS and data.draw(st.booleans(), label="replace a positional"):
            old = data.draw(st.sampled_from(POSITIONALS[command]))
            argv[argv.index(old)] = data.draw(PATHS, label=old)
        else:
            action = data.draw(st.sampled_from(_own_flags(command)), label="flag")
            argv += action_flag(data, action)
        run_cli(capsys, argv, allowed)

    fuzz()


@SETTINGS
@given(st.data())
def test_playground_flags(here, capsys, monkeypatch, data):
    """The playground's arguments are checked; the server itself is not started."""
    from feedforward.playground import server

    started = []
    monkeypatch.setattr(server, "serve", lambda *a, **k: started.append(a))
    host = data.draw(st.sampled_from(["127.0.0.1", "::1", "0.0.0.0", "", "..", "a" * 300,
                                      "\x01", "256.256.256.256", "[::1]", "1e308"]), label="host")
    port = data.draw(mixed(st.integers(0, 70_000).map(str)), label="port")
    run_cli(capsys, ["playground", "--no-browser", "-q", f"--host={host}", f"--port={port}"])


# ---------------------------------------------------------------------------- the cases of issue 17
BIG = "1" + "0" * 400  # 10**400
ISSUE_FLAGS = [
    (["--seed", BIG], "--seed"),
    (["--samples", "-" + BIG], "--samples"),
    (["--maxout", BIG], "--maxout"),
    (["--layers", f"4,{BIG}"], "--layers"),
    (["--l2", BIG], "--l2"),
    (["--dataset", "digits", "--samples", "100", "--augment-translation", str(2**63 - 1)],
     "--augment-translation"),
    (["--schedule", "exponential", "--decay-rate", "1e6"], "--decay-rate"),
    (["--weight-decay=--"], "--weight-decay"),
]


@pytest.mark.parametrize(("flags", "named"), ISSUE_FLAGS, ids=[n for _, n in ISSUE_FLAGS])
def test_huge_and_overflowing_flags_are_one_line_naming_the_flag(here, capsys, flags, named):
    err = run_cli(capsys, train_argv() + flags, allowed=(2,))
    assert err.startswith("feedforward train: error: ") and named in err, err


ISSUE_TOML = [
    (f"seed = {BIG}\n", "seed (in"),
    (f"l2 = {BIG}\n", "l2 (in"),
    (f"layers = [4, {BIG}]\n", "layers (in"),
    (f"epochs = -{BIG}\n", "epochs (in"),
    ("layers = " + "[" * 3000 + "]" * 3000 + "\n", "too deeply"),
    ("seed = 1" + "0" * 5000 + "\n", "--config"),
    ("layers = [" + "[" * 20 + "1" + "]" * 20 + "]\n", "layers (in"),
]


@pytest.mark.parametrize(("text", "named"), ISSUE_TOML, ids=range(len(ISSUE_TOML)))
def test_huge_and_deep_toml_values_are_one_line_naming_the_key(here, capsys, text, named):
    argv = toml_run(here, text)
    err = run_cli(capsys, argv, allowed=(2,))
    assert named in err and argv[-1] in err, err


# ---------------------------------------------------------------------------- found by the fuzzing
LONG = "x" * 300  # past the 255 bytes of a file name
FOUND = {
    # an internal error before
    "flag=--": ["train", "--out=--"],
    "long dataset name": [*train_argv(), "--dataset", LONG],
    "long model name": ["summary", LONG],
    "long resume folder": ["train", "--resume", LONG],
    "export to a folder": ["export", MODEL, "--onnx", "run"],
    "plot of another format": [*BASES["check"], "--plot", "curve.csv"],
    "playground host '..'": ["playground", "--no-browser", "--host=..", "--port=8765"],
    # a hang before: 2**31 steps of a range test that cannot stop early
    "range test of 2**31 steps": [*BASES["check"], "--lr-steps", str(2**31)],
}


@pytest.mark.parametrize("name", FOUND)
def test_found_by_fuzzing(here, capsys, monkeypatch, name):
    """The commands the fuzzing above found ending in an internal error or a hang: one line,
    exit status 2."""
    from feedforward.playground import server

    monkeypatch.setattr(server, "serve", lambda *a, **k: None)
    run_cli(capsys, FOUND[name], allowed=(2,))
