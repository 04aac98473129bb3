"""Every registered object round-trips through its config; names resolve; bad input is refused.

The registries are found, not listed: every module-level
:class:`feedforward._registry.Registry` of the ``feedforward`` package is covered, so a class
registered later is tested without editing this file. A class whose constructor needs
arguments must have example arguments in ``REQUIRED_ARGS``, or the test fails and says so.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil

import numpy as np
import pytest

import feedforward
from feedforward import activations, initializers, layers, regularizers
from feedforward._registry import Registry
from feedforward.errors import FeedforwardError

# (registry kind, canonical name) -> constructor arguments for classes that have no defaults
REQUIRED_ARGS = {
    ("layer", "Dense"): {"units": 3},
    ("layer", "Maxout"): {"units": 3},
    ("layer", "Dropout"): {"rate": 0.5},
    ("layer", "Activation"): {"activation": "relu"},
}


def _modules(package):
    """Every module of ``package``, imported, except those needing a missing optional extra."""
    yield package
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".",
                                      onerror=lambda name: None):
        if info.name.endswith("__main__"):  # running it would start the CLI
            continue
        try:
            yield importlib.import_module(info.name)
        except ModuleNotFoundError as e:
            if (e.name or "").startswith(package.__name__):
                raise


def discover_registries() -> list[Registry]:
    found = {}
    for module in _modules(feedforward):
        for reg in vars(module).values():
            if isinstance(reg, Registry):
                found[id(reg)] = reg
    return sorted(found.values(), key=lambda r: r.kind)


REGISTRIES = discover_registries()
ENTRIES = [pytest.param(reg, cls, id=f"{reg.kind}-{name}")
           for reg in REGISTRIES for name, cls in reg.classes.items()]
ALL_REGISTRIES = [pytest.param(reg, id=reg.kind) for reg in REGISTRIES]


def example_args(reg: Registry, cls) -> dict:
    return REQUIRED_ARGS.get((reg.kind, cls.name), {})


def construct(reg: Registry, cls):
    """An instance with default arguments, or the example arguments of ``REQUIRED_ARGS``."""
    try:
        return cls(**example_args(reg, cls))
    except (TypeError, FeedforwardError) as e:
        pytest.fail(f"{reg.kind} {cls.name!r} cannot be constructed with "
                    f"{example_args(reg, cls) or 'default arguments'} ({e}); add example "
                    "arguments for it to REQUIRED_ARGS in tests/test_registry.py")


def json_round_trip(config):
    # allow_nan=False: NaN and inf are not JSON, a file holding them would not load elsewhere
    return json.loads(json.dumps(config, allow_nan=False))


def test_discovery_finds_the_core_registries():
    kinds = {reg.kind for reg in REGISTRIES}
    assert {"activation", "initializer", "layer", "loss", "metric", "optimizer",
            "regularizer"} <= kinds


@pytest.mark.parametrize("clash", ["Taken", "taken", "TAKEN_NAME", "other_alias"])
def test_a_taken_name_cannot_be_registered_again(clash):
    # otherwise the first class would silently become unreachable by that name
    first = type("TakenName", (), {"name": "taken", "aliases": ("other_alias",)})
    reg = Registry("thing", [first])
    second = type("Second", (), {"name": "second", "aliases": (clash,)})
    with pytest.raises(FeedforwardError, match=clash):
        reg.register(second)
    assert reg.lookup(clash) is first and "second" not in reg.classes
    reg.register(first)  # registering the same class again changes nothing
    assert reg.names() == ["other_alias", "taken"]


def test_required_args_table_names_only_registered_classes():
    registered = {(reg.kind, name) for reg in REGISTRIES for name in reg.classes}
    assert set(REQUIRED_ARGS) <= registered


@pytest.mark.parametrize(("reg", "cls"), ENTRIES)
def test_serialize_deserialize_round_trip(reg, cls):
    obj = construct(reg, cls)
    data = reg.serialize(obj)
    assert data == {"class_name": cls.name, "config": obj.get_config()}
    again = reg.deserialize(data)
    assert type(again) is cls
    assert again.get_config() == obj.get_config()
    assert reg.serialize(again) == data


@pytest.mark.parametrize(("reg", "cls"), ENTRIES)
def test_config_is_json_and_survives_a_json_round_trip(reg, cls):
    data = reg.serialize(construct(reg, cls))
    assert json_round_trip(data) == data
    again = reg.deserialize(json_round_trip(data))
    assert type(again) is cls and again.get_config() == data["config"]


def constructor_arguments(reg: Registry, cls) -> set[str]:
    """The keyword arguments ``cls`` accepts, following ``**kwargs`` up the ``__init__`` chain.

    A parent's argument counts only if passing it (at its default) is accepted: a subclass
    may fix it positionally, as ``Adamax`` fixes Adam's ``amsgrad``.
    """
    defaults = {}
    for klass in cls.__mro__[:-1]:  # not object
        if "__init__" not in vars(klass):
            continue
        params = inspect.signature(klass.__init__).parameters.values()
        for p in params:
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                defaults.setdefault(p.name, p.default)
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    base = example_args(reg, cls)
    accepted = set()
    for name, default in defaults.items():
        try:
            cls(**{**base, name: base.get(name, default)})
        except TypeError:
            continue
        accepted.add(name)
    return accepted


@pytest.mark.parametrize(("reg", "cls"), ENTRIES)
def test_config_holds_every_constructor_argument(reg, cls):
    # an argument missing from the config would be lost on saving and loading
    assert set(construct(reg, cls).get_config()) == constructor_arguments(reg, cls)


@pytest.mark.parametrize(("reg", "cls"), ENTRIES)
def test_get_resolves_every_name_case_insensitively(reg, cls):
    aliases = getattr(cls, "aliases", ())
    assert {cls.name, *aliases} <= set(reg.names())
    for name in (cls.name, cls.__name__, *aliases):
        for spelling in (name, name.upper(), name.lower(), name.swapcase()):
            obj = reg.get(spelling, **example_args(reg, cls))
            assert type(obj) is cls, (spelling, type(obj))


@pytest.mark.parametrize(("reg", "cls"), ENTRIES)
def test_get_passes_instances_and_configs_through(reg, cls):
    obj = construct(reg, cls)
    assert reg.get(obj) is obj
    from_config = reg.get(reg.serialize(obj))
    assert type(from_config) is cls and from_config.get_config() == obj.get_config()


@pytest.mark.parametrize("reg", ALL_REGISTRIES)
def test_none_stays_none(reg):
    assert reg.get(None) is None
    assert reg.serialize(None) is None


@pytest.mark.parametrize("reg", ALL_REGISTRIES)
def test_unknown_name_lists_the_known_names(reg):
    with pytest.raises(FeedforwardError, match="no_such_thing") as info:
        reg.get("no_such_thing")
    message = str(info.value)
    assert reg.kind in message
    for name in reg.names():
        assert name in message
    with pytest.raises(FeedforwardError, match="no_such_thing"):
        reg.deserialize({"class_name": "no_such_thing", "config": {}})


@pytest.mark.parametrize("reg", ALL_REGISTRIES)
@pytest.mark.parametrize("bad", [{"config": {}}, {}, "relu", 3.5, [1, 2],
                                 {"class_name": "x", "config": [1]}], ids=repr)
def test_malformed_config_is_refused(reg, bad):
    first = next(iter(reg.classes))
    if isinstance(bad, dict) and "class_name" in bad:
        bad = {**bad, "class_name": first}
    with pytest.raises(FeedforwardError, match=reg.kind):
        reg.deserialize(bad)


@pytest.mark.parametrize("reg", ALL_REGISTRIES)
@pytest.mark.parametrize("bad", [3.5, [1, 2], b"relu", object], ids=repr)
def test_get_refuses_what_is_not_a_name_config_or_instance(reg, bad):
    with pytest.raises(FeedforwardError, match=reg.kind):
        reg.get(bad)


@pytest.mark.parametrize("reg", ALL_REGISTRIES)
def test_instance_of_another_concept_is_refused(reg):
    stranger = next(construct(other, cls) for other in REGISTRIES if other is not reg
                    for cls in other.classes.values())
    with pytest.raises(FeedforwardError, match=reg.kind):
        reg.get(stranger)


@pytest.mark.parametrize(("reg", "cls"), ENTRIES)
def test_unknown_config_argument_is_refused(reg, cls):
    config = {**construct(reg, cls).get_config(), "no_such_argument": 1}
    with pytest.raises(FeedforwardError, match="no_such_argument"):
        reg.deserialize({"class_name": cls.name, "config": config})


@pytest.mark.parametrize(("reg", "cls"), [
    pytest.param(reg, cls, id=f"{reg.kind}-{name}")
    for reg in REGISTRIES for name, cls in reg.classes.items() if (reg.kind, name) in REQUIRED_ARGS
])
def test_missing_required_argument_is_a_feedforward_error(reg, cls):
    required = next(iter(example_args(reg, cls)))
    with pytest.raises(FeedforwardError, match=required):
        reg.get(cls.name)
    with pytest.raises(FeedforwardError, match=required):
        reg.deserialize({"class_name": cls.name, "config": {}})


NON_DEFAULT = [
    (layers.Dense(7, activation={"class_name": "leaky_relu", "config": {"alpha": 0.2}},
                  use_bias=False, kernel_initializer="he_normal",
                  bias_initializer=initializers.Constant(0.1),
                  kernel_regularizer=regularizers.L2(1e-3), bias_regularizer="l1"),
     lambda d: (d.activation.alpha == 0.2 and type(d.kernel_initializer) is initializers.HeNormal
                and d.kernel_regularizer.l2 == 1e-3 and d.bias_regularizer.l1 == 0.01
                and d.bias_initializer.value == 0.1 and d.use_bias is False)),
    (layers.Maxout(4, pieces=3, kernel_initializer=initializers.Orthogonal(gain=1.5)),
     lambda m: m.pieces == 3 and m.kernel_initializer.gain == 1.5),
    (layers.Dropout(0.3), lambda d: d.rate == 0.3),
    (layers.Activation(activations.GELU(approximate=True)), lambda a: a.activation.approximate),
    (initializers.VarianceScaling(2.0, "fan_out", "uniform"),
     lambda v: (v.scale, v.mode, v.distribution) == (2.0, "fan_out", "uniform")),
    (initializers.RandomUniform(-1.0, 2.0), lambda r: (r.minval, r.maxval) == (-1.0, 2.0)),
    (initializers.TruncatedNormal(0.5, 0.1), lambda t: (t.mean, t.stddev) == (0.5, 0.1)),
    (regularizers.L1L2(l1=0.1, l2=0.2), lambda r: (r.l1, r.l2) == (0.1, 0.2)),
    (activations.ELU(alpha=0.5), lambda e: e.alpha == 0.5),
]


@pytest.mark.parametrize(("obj", "check"), NON_DEFAULT, ids=lambda v: type(v).__name__)
def test_non_default_config_round_trips(obj, check):
    reg = next(r for r in REGISTRIES if type(obj) in r.classes.values())
    data = json_round_trip(reg.serialize(obj))
    again = reg.deserialize(data)
    assert type(again) is type(obj)
    assert again.get_config() == obj.get_config()
    assert check(again)


def test_non_default_hyperparameters_of_every_concept_round_trip():
    # losses, metrics and optimizers carry their hyperparameters through the config too
    from feedforward import losses, metrics, optimizers

    for reg, obj, attr, value in [(losses.registry, losses.Huber(delta=2.5), "delta", 2.5),
                                  (metrics.registry, metrics.BinaryAccuracy(0.3), "threshold", 0.3),
                                  (optimizers.registry, optimizers.SGD(0.125), "learning_rate",
                                   0.125)]:
        assert getattr(reg.deserialize(json_round_trip(reg.serialize(obj))), attr) == value


def model_layers():
    return [
        layers.Dense(8, activation={"class_name": "leaky_relu", "config": {"alpha": 0.2}},
                     kernel_initializer="he_normal", kernel_regularizer=regularizers.L2(1e-3)),
        layers.Dropout(0.25),
        layers.Activation("tanh"),
        layers.Maxout(4, pieces=3, kernel_initializer="orthogonal"),
        layers.Dense(3, activation="softmax", kernel_initializer="lecun_uniform"),
    ]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_model_config_round_trip_gives_the_same_network(dtype):
    model = feedforward.Sequential(model_layers(), input_dim=5, seed=11, dtype=dtype)
    config = model.get_config()
    assert json_round_trip(config) == config
    again = feedforward.Sequential.from_config(json_round_trip(config))
    assert again.get_config() == config
    assert [type(layer) for layer in again.layers] == [type(layer) for layer in model.layers]
    weights, weights_again = model.get_weights(), again.get_weights()
    assert len(weights) == len(weights_again) == 6  # kernel, bias x 3
    for w, w_again in zip(weights, weights_again, strict=True):
        assert w.dtype == w_again.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(w, w_again)


def test_model_config_round_trip_before_build():
    model = feedforward.Sequential(model_layers(), seed=11)
    again = feedforward.Sequential.from_config(json_round_trip(model.get_config()))
    assert not again.built and again.get_config() == model.get_config()
    model.build(5)
    again.build(5)
    for w, w_again in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(w, w_again)


def test_model_weights_depend_on_the_seed():
    a = feedforward.Sequential(model_layers(), input_dim=5, seed=11)
    b = feedforward.Sequential(model_layers(), input_dim=5, seed=12)
    assert not np.array_equal(a.get_weights()[0], b.get_weights()[0])
