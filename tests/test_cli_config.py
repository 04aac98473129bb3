"""The options of `feedforward train`: the TOML writer, precedence of flags over the file over
the defaults, and that every option is reachable both ways."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from feedforward import FeedforwardError, config
from feedforward.cli import build_parser
from feedforward.config import tomllib

SCALARS = (st.booleans() | st.integers(min_value=-2**63, max_value=2**63 - 1)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text())


@given(SCALARS | st.lists(SCALARS, max_size=5))
@example("DEL \x7f is raw in JSON but forbidden in TOML")
@example("\U0001f600 would be a surrogate pair in ASCII-only JSON")
@example(1e16)
@example(-0.0)
def test_toml_value_reads_back_as_the_same_value(value):
    parsed = tomllib.loads(f"key = {config._toml_value(value)}\n")["key"]
    assert parsed == value and type(parsed) is type(value)
    if isinstance(value, list):
        assert [type(v) for v in parsed] == [type(v) for v in value]


def test_toml_refuses_non_finite_numbers():
    with pytest.raises(FeedforwardError, match="non-finite"):
        config._toml_value(float("inf"))


def test_dumps_lists_every_option_and_reads_back():
    values = {**config.DEFAULTS, "target": "col\t\"x\"", "learning_rate": 1e-3,
              "layers": [3, 2, 1], "metrics": ["mae", "r2"], "nesterov": False}
    text = config.dumps(values, notes={"loss": "mse"}, header="first line\nsecond line")
    parsed = tomllib.loads(text)
    assert parsed == {k: v for k, v in values.items() if v is not None}
    for option in config.OPTIONS:  # unset options appear as comments
        assert f"{option.key} = " in text
    assert 'loss = "auto"  # mse' in text and text.startswith("# first line\n# second line")


def _parse_train(argv):
    args = build_parser().parse_args(["train", *argv])
    return {o.key: getattr(args, o.key) for o in config.OPTIONS}


def test_the_defaults_are_valid_and_flags_left_out_are_none():
    flags = _parse_train([])
    assert all(v is None for v in flags.values())
    assert dict(config.resolve(flags)) == config.DEFAULTS


def test_flags_override_the_file_which_overrides_the_defaults(tmp_path):
    path = tmp_path / "experiment.toml"
    path.write_text('epochs = 5\nlearning_rate = 0.1\nlayers = [8]\noptimizer = "sgd"\n'
                    "nesterov = true\nmomentum = 0.5\n")
    cfg = config.resolve(_parse_train(["--epochs", "7", "--no-nesterov", "--layers", "4,2"]),
                         path)
    assert cfg["epochs"] == 7 and cfg["layers"] == [4, 2] and cfg["nesterov"] is False
    assert cfg["learning_rate"] == 0.1 and cfg["optimizer"] == "sgd" and cfg["momentum"] == 0.5
    assert cfg["batch_size"] == config.DEFAULTS["batch_size"]
    assert cfg.label("epochs") == "--epochs"
    assert cfg.label("learning_rate") == f"learning_rate (in {path})"
    assert cfg.label("seed") == "--seed"


@pytest.mark.parametrize("argv", [
    [],
    ["--dataset", "spiral", "--maxout", "3", "--noise", "0.3", "--samples", "100"],
    ["--optimizer", "sgd", "--momentum", "0.9", "--nesterov", "--schedule", "plateau",
     "--val", "0.1", "--monitor", "val_accuracy"],
    ["--optimizer", "adamw", "--amsgrad", "--weight-decay", "0.1", "--schedule", "step",
     "--decay-rate", "0.5", "--decay-steps", "100", "--warmup-steps", "10"],
    ["--layers", "", "--metrics", "mse,r2", "--augment-hflip", "--image-shape", "8,8",
     "--no-early-stopping", "--dtype", "float64", "--target", "-2", "--dataset", "x.csv"],
], ids=["defaults", "maxout", "plateau", "warmup", "no-hidden"])
def test_the_written_file_resolves_to_the_same_configuration(argv, tmp_path):
    cfg = config.resolve(_parse_train(argv))
    if cfg["dataset"] == "x.csv":  # train writes paths absolute
        cfg["dataset"] = str(tmp_path / "x.csv")
    path = tmp_path / "config.toml"
    path.write_text(config.dumps(cfg))
    assert dict(config.resolve(_parse_train([]), path)) == dict(cfg)


def test_a_relative_dataset_path_in_a_file_is_relative_to_the_file(tmp_path):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "experiment.toml"
    path.write_text('dataset = "data.csv"\n')
    assert config.read_file(path)["dataset"] == str(tmp_path / "sub" / "data.csv")
    path.write_text('dataset = "spiral"\n')  # a built-in name stays a name
    assert config.read_file(path)["dataset"] == "spiral"


def test_an_error_in_the_file_names_the_key_and_the_file(tmp_path):
    path = tmp_path / "experiment.toml"
    path.write_text('activation = "relux"\n')
    with pytest.raises(FeedforwardError, match=r"^activation \(in .*experiment.toml\): unknown "
                                               r"activation 'relux'; choose from .*relu"):
        config.resolve(_parse_train([]), path)


@pytest.mark.parametrize("option", config.OPTIONS, ids=lambda o: o.key)
def test_every_option_has_a_flag_and_a_file_key(option, tmp_path):
    """Set each option to a valid non-default value by flag and by file; both give it."""
    value = _other_value(option)
    flag = ([option.flag if value else f"--no-{option.flag[2:]}"] if option.kind == "bool"
            else [option.flag, _as_flag(value)])
    by_flag = build_parser().parse_args(["train", *flag])
    assert getattr(by_flag, option.key) == value
    path = tmp_path / "one.toml"
    path.write_text(f"{option.key} = {config._toml_value(value)}\n")
    assert config.read_file(path)[option.key] == value


def _other_value(option):
    special = {"dataset": "spiral", "target": "price", "task": "regression", "scaling": "none",
               "image_shape": [28, 28], "activation": "tanh", "output_activation": "sigmoid",
               "initializer": "orthogonal", "optimizer": "sgd", "schedule": "cosine",
               "dtype": "float64", "loss": "huber", "metrics": ["mae", "mse"],
               "monitor": "val_accuracy", "layers": [7, 5], "delimiter": ";",
               "features": ["a", "b"], "drop": ["id", 3], "categorical": ["zip", 2],
               "impute": "most_frequent", "class_weight": "balanced"}
    if option.key in special:
        return special[option.key]
    if option.kind == "bool":
        return not option.default if option.default is not None else True
    if option.kind == "int":
        return (option.default or 0) + 3
    return 0.25 if option.high is not None else 0.5


def _as_flag(value):
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


@pytest.mark.parametrize("option", [o for o in config.OPTIONS if o.registry is not None],
                         ids=lambda o: o.key)
def test_unknown_names_list_the_known_ones(option):
    flags = _parse_train([option.flag, "nonsense_name"])
    with pytest.raises(FeedforwardError) as info:
        config.resolve(flags)
    message = str(info.value)
    assert message.startswith(f"{option.flag}: unknown {option.registry.kind} 'nonsense_name'")
    for name in option.registry.names():
        assert name.lower() in message


# ---------------------------------------------------------------------------- tables
def test_tables_of_layers_and_schedule_read_and_write_back(tmp_path):
    path = tmp_path / "experiment.toml"
    path.write_text('layers = [16, {units = 8, activation = "tanh", dropout = 0.1}]\n'
                    'schedule = {name = "cosine_decay", decay_steps = 500, alpha = 0.1}\n'
                    'initializer = "small_random"\noptimizer = "nadam"\n'
                    'momentum_decay = 0.005\n')
    cfg = config.resolve({}, path)
    assert cfg["layers"] == [16, {"units": 8, "activation": "tanh", "dropout": 0.1}]
    assert cfg["schedule"] == {"name": "cosine_decay", "decay_steps": 500, "alpha": 0.1}
    again = tmp_path / "again.toml"
    again.write_text(config.dumps(cfg))
    assert dict(config.resolve({}, again)) == dict(cfg)


@pytest.mark.parametrize("text, message", [
    ("layers = [{unit = 3}]", r"^layers \(in .*\): layer 1: unknown key 'unit'; a layer's "
                              r"table takes units, activation, dropout$"),
    ("layers = [4, {activation = 'tanh'}]", r"^layers \(in .*\): layer 2: expected units"),
    ("layers = [{units = 0}]", r"layer 1: units: expected an integer from 1 to 1,000,000"),
    ("layers = [{units = 2, dropout = 1}]", r"layer 1: dropout: expected a number from 0 to "
                                            r"below 1, got 1$"),
    ("layers = [{units = 2, activation = 'nope'}]", r"layer 1: activation: unknown activation"),
    ("layers = [{units = 2, activation = 'tanh'}]\nmaxout = 2",
     r"^layers \(in .*\): Maxout layers have no activation"),
    ("layers = ['a']", r"^layers \(in .*\): expected a list of integers or tables, got"),
    ("schedule = {name = 'nope'}", r"^schedule \(in .*\): expected a table with the name of a "
                                   r"schedule \(.*cosine_decay"),
    ("schedule = {name = 'cosine', foo = 1}", r"cosine_decay has no parameter 'foo'; it takes "
                                              r"alpha, decay_steps"),
    ("schedule = {name = 'cosine', decay_steps = -1}",
     r"^schedule \(in .*\): cosine_decay: decay_steps: expected a value >= 1, got -1$"),
    ("schedule = {name = 'cosine'}\ndecay_rate = 0.5",
     r"^decay_rate \(in .*\): the schedule 'cosine' is a table: give its parameters in it$"),
    ("schedule = 3", r"^schedule \(in .*\): expected a string or a table, got an integer 3$"),
    ("initializer = 'small'", r"^initializer \(in .*\): unknown initializer 'small'; choose "
                              r"from auto, .*small_random"),
    ("centered = true", r"^centered \(in .*\): optimizer 'adam' has no centered parameter"),
], ids=lambda v: v if len(v) < 30 else None)
def test_bad_tables_are_refused_naming_the_option(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text + "\n")
    with pytest.raises(FeedforwardError, match=message):
        config.resolve({}, path)
