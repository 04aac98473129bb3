"""The fast paths give the numbers of the plain ones, to the last bit.

``predict`` on a ready array (C-contiguous, the model's dtype) runs an inference plan
(feedforward.inference) and the layers run the compiled bias, activation and ReLU-backward
loops (feedforward.kernels). Each is compared with the plain path: the layers' own ``forward``
and, with the loops off, the NumPy code that was there before them.
"""

import pickle

import numpy as np
import pytest

import feedforward as ff
from feedforward import inference, kernels
from feedforward.errors import FeedforwardError

RNG = np.random.default_rng(7)
LEAKY = {"class_name": "leaky_relu", "config": {"alpha": 0.2}}
ACTIVATIONS = ["linear", "relu", LEAKY, "elu", "selu", "gelu", "sigmoid", "silu", "softplus",
               "softsign", "tanh", "softmax"]
needs_loops = pytest.mark.skipif(not kernels.available(),
                                 reason="the compiled loops were not built here")


def _bits(a):
    return np.ascontiguousarray(a).view(np.uint8)


def _same(a, b):
    assert a.shape == b.shape and a.dtype == b.dtype
    assert np.array_equal(_bits(a), _bits(b))


def _model(activation, dtype, head=None):
    head = head or ff.Dense(3, activation=activation)
    model = ff.Sequential([ff.Dense(9, activation=activation), ff.Dropout(0.3),
                           ff.Maxout(4, pieces=3), ff.Activation(activation),
                           ff.Dense(5, activation=activation, use_bias=False), head],
                          input_dim=6, seed=1, dtype=dtype)
    # weights of every sign and size, so that each activation sees both of its sides
    model.set_weights([RNG.normal(scale=2.0, size=w.shape) for w in model.get_weights()])
    return model


def _plain(model, x):
    """The layers' own forward, and the NumPy code with the loops off, from a list."""
    layered = model.forward(x.copy(), training=False).copy()
    previous = kernels.use(False) if kernels.available() else False
    try:
        numpy_path = model.predict(x.tolist())
    finally:
        if kernels.available():
            kernels.use(previous)
    return layered, numpy_path


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ACTIVATIONS, ids=str)
def test_predict_equals_the_plain_path_bit_for_bit(activation, dtype):
    model = _model(activation, dtype)
    for rows in (1, 2, 5, inference.MAX_ROWS + 3):
        x = RNG.normal(scale=3.0, size=(rows, 6)).astype(dtype)
        x[0, :3] = [0.0, -0.0, 1e-40 if dtype == "float64" else 1e-39]  # zeros, a subnormal
        fast = model.predict(x)
        for plain in _plain(model, x):
            _same(fast, plain)
        _same(model.predict(x), fast)  # the second call, through the kept plan


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_other_inputs_take_the_checked_path_with_the_same_numbers(dtype):
    model = _model("relu", dtype)
    x = RNG.normal(size=(4, 6))
    reference = model.predict(np.ascontiguousarray(x, dtype))
    _same(model.predict(np.asfortranarray(x.astype(dtype))), reference)
    _same(model.predict(x.astype(dtype).tolist()), reference)
    _same(model.predict(np.ascontiguousarray(x, dtype), batch_size=2), reference)
    bad = np.ascontiguousarray(x, dtype)
    bad[2, 1] = np.nan
    with pytest.raises(FeedforwardError, match=r"x: expected finite values.*\(2, 1\)"):
        model.predict(bad)
    with pytest.raises(FeedforwardError, match="batch_size"):
        model.predict(np.ascontiguousarray(x, dtype), batch_size=0)
    with pytest.raises(FeedforwardError, match="expected 6 features"):
        model.predict(np.zeros((1, 5), dtype))


def _assert_current(model, x):
    """predict gives what the layers compute from the weights now, not a kept answer."""
    _same(model.predict(x), model.forward(x.copy(), training=False).copy())


def test_a_plan_follows_every_change_of_the_weights(tmp_path):
    model = _model("relu", "float32", head=ff.Dense(3, activation="softmax"))
    model.compile("adam", "categorical_crossentropy")
    x = RNG.normal(size=(1, 6)).astype(np.float32)
    before = model.predict(x)
    model.fit(RNG.normal(size=(32, 6)), np.eye(3)[RNG.integers(0, 3, 32)], epochs=2, verbose=0)
    after_fit = model.predict(x)
    assert not np.array_equal(before, after_fit)
    _assert_current(model, x)
    model.set_weights([w * 0.5 for w in model.get_weights()])
    assert not np.array_equal(model.predict(x), after_fit)
    _assert_current(model, x)
    model.layers[0].set_weights([np.zeros((6, 9)), np.ones(9)])
    _assert_current(model, x)
    model.layers[0].activation = ff.activations.get("tanh")  # swapped in place
    _assert_current(model, x)
    _same(pickle.loads(pickle.dumps(model)).predict(x), model.predict(x))  # plans stay behind
    path = tmp_path / "m.safetensors"
    model.save(path)
    _same(ff.load_model(path).predict(x), model.predict(x))


def test_a_plan_follows_pop_and_add():
    model = ff.Sequential([ff.Dense(4, activation="relu"), ff.Dense(3)], input_dim=2, seed=0)
    x = np.ones((1, 2), np.float32)
    assert model.predict(x).shape == (1, 3)
    model.pop()
    assert model.predict(x).shape == (1, 4)
    _assert_current(model, x)
    model.add(ff.Dense(2, activation="tanh"))
    assert model.predict(x).shape == (1, 2)
    _assert_current(model, x)


def test_plans_stay_few_whatever_the_row_counts():
    model = _model("tanh", "float32")
    x = RNG.normal(size=(200, 6)).astype(np.float32)
    for rows in range(1, 200):
        model.predict(x[:rows])
    assert 0 < inference.plan_count(model) <= inference.MAX_PLANS


@needs_loops
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ["relu", "linear", LEAKY])
@pytest.mark.parametrize("units", [1, 7])
@pytest.mark.parametrize("use_bias", [True, False])
def test_training_with_the_loops_equals_the_numpy_code(activation, dtype, units, use_bias):
    def trained(loops):
        previous = kernels.use(loops)
        try:
            model = ff.Sequential([ff.Dense(units, activation=activation, use_bias=use_bias),
                                   ff.Dense(units, activation=activation), ff.Dense(2)],
                                  input_dim=5, seed=3, dtype=dtype)
            model.compile("sgd", "mse")
            model.fit(x, y, epochs=2, batch_size=8, verbose=0)
            return model.params.copy(), model.grads.copy()
        finally:
            kernels.use(previous)

    x, y = RNG.normal(size=(30, 5)), RNG.normal(size=(30, 2))
    for a, b in zip(trained(True), trained(False), strict=True):
        _same(a, b)


def _awkward(dtype, rows=37, cols=41):
    """Values where a vector loop could differ from NumPy: NaN, both infinities, both zeros,
    subnormals, and signs at random (odd sizes, so the loops' scalar tails run too)."""
    tiny = np.finfo(dtype).smallest_subnormal
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, tiny, -tiny, 1.0, -1.0], dtype)
    a = RNG.normal(size=(rows, cols)).astype(dtype)
    k = a.size // 4
    a.flat[RNG.choice(a.size, k, replace=False)] = RNG.choice(special, k)
    return a


@needs_loops
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", [ff.activations.ReLU(), ff.activations.LeakyReLU(0.2),
                                        ff.activations.Linear()])
@np.errstate(invalid="ignore", over="ignore")
def test_the_compiled_passes_equal_numpy_on_awkward_values(activation, dtype):
    # vector loops (restrict pointers, selects) must keep NaN, infinities, zeros' signs and
    # subnormals exactly as NumPy's code
    z, bias, grad_y = _awkward(dtype), _awkward(dtype, 1)[0], _awkward(dtype)
    code = ff.activations.kernel_code(activation)
    y = np.empty_like(z)
    kernels.bias_activation(z.copy(), bias, activation, y, code)
    _same(y, activation(z + bias))
    if isinstance(activation, ff.activations.ReLU):
        out, sums = np.empty_like(z), np.empty(z.shape[1], dtype)
        assert kernels.relu_backward(grad_y, y, out, sums)
        expected = activation.backward(z + bias, y, grad_y)
        _same(out, expected)
        in_place = grad_y.copy()  # out may be grad_y
        assert kernels.relu_backward(in_place, y, in_place)
        _same(in_place, expected)
        sums_expected = expected.sum(axis=0)  # NaN's sign in a sum depends on operand order
        assert np.array_equal(np.isnan(sums), np.isnan(sums_expected))
        numbers = ~np.isnan(sums)
        _same(sums[numbers], sums_expected[numbers])


@needs_loops
def test_the_loops_refuse_mismatched_arrays():
    z = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError):
        ff.kernels._kernels.bias_act(z, np.zeros(4, np.float32), z, 3, 1, 0.0)
    with pytest.raises(ValueError):
        ff.kernels._kernels.relu_grad(z, np.zeros((2, 3)), z, None, 3)
    assert not kernels.all_finite(np.array([[1.0, np.inf]], np.float32))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_equals_numpy_at_every_width(dtype):
    def numpy_softmax(x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    softmax = ff.activations.Softmax()
    for width in [*range(1, 40), 127, 128, 129, 300, 1000]:  # each branch of the pairwise sum
        x = (RNG.normal(size=(3, width)) * 10 ** RNG.uniform(-2, 2.5, (3, width))).astype(dtype)
        _same(softmax(x), numpy_softmax(x))
        out = np.empty_like(x)
        assert softmax(x, out=out) is out
        _same(out, numpy_softmax(x))


def test_an_activation_of_its_own_is_run_as_written():
    class Capped(ff.activations.ReLU):  # a subclass the compiled ReLU must not stand in for
        def __call__(self, x):
            return np.minimum(np.maximum(x, 0), 1)

    model = ff.Sequential([ff.Dense(6, activation=Capped()), ff.Dense(2, activation=Capped())],
                          input_dim=3, seed=0)
    model.set_weights([w * 10 for w in model.get_weights()])
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    out = model.predict(x)
    assert out.max() == 1  # capped: the compiled ReLU would have gone past 1
    _same(out, model.forward(x.copy()).copy())


def test_a_layer_belongs_to_one_model_once():
    first = _model("relu", "float32")
    with pytest.raises(FeedforwardError, match="built already.*get_config"):
        ff.Sequential([first.layers[0], ff.Dense(1)], input_dim=6)
    twice = ff.Dense(6)
    with pytest.raises(FeedforwardError, match="already layer 0"):
        ff.Sequential([twice, twice], input_dim=6)
    again = ff.Sequential([ff.layers.Dense(**first.layers[0].get_config()), ff.Dense(1)],
                          input_dim=6)
    assert again.layers[0] is not first.layers[0]


def test_a_model_that_computes_its_own_way_is_predicted_its_own_way():
    class Shifted(ff.Sequential):
        def forward(self, x, training=False):
            return super().forward(x, training) + 100

    class Equal(ff.Sequential):  # unhashable: plans and locks are kept by identity
        def __eq__(self, other):
            return isinstance(other, Equal)

    x = RNG.normal(size=(1, 6)).astype(np.float32)
    shifted = Shifted([ff.Dense(2)], input_dim=6, seed=0)
    assert np.array_equal(shifted.predict(x), shifted.predict(x, verbose=1))
    assert shifted.predict(x)[0, 0] > 50
    one, two = Equal([ff.Dense(2)], input_dim=6, seed=0), Equal([ff.Dense(2)], input_dim=6, seed=1)
    assert not np.array_equal(one.predict(x), two.predict(x))
    replaced = ff.Sequential([ff.Dense(2)], input_dim=6, seed=0)
    replaced.predict(x)
    replaced.forward = lambda x, training=False: np.zeros((len(x), 2), np.float32)
    assert not replaced.predict(x).any()


def test_a_replaced_weight_array_and_an_unaligned_input_are_followed():
    model = _model("relu", "float32")
    x = RNG.normal(size=(3, 6)).astype(np.float32)
    model.predict(x)
    layer = model.layers[0]
    layer.params["kernel"] = layer.params["kernel"] * 2  # a new array, not the buffer's view
    _same(model.predict(x), _plain(model, x)[0])
    raw = b"\x00" + x.tobytes()
    unaligned = np.frombuffer(raw, np.float32, offset=1).reshape(x.shape)
    assert not unaligned.flags.aligned and unaligned.flags.c_contiguous
    _same(model.predict(unaligned), model.predict(x))


@needs_loops
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_finiteness_check_finds_every_non_finite_value(dtype):
    # the loop reads the exponent bits in blocks of 4,096: edges and the tail included
    for bad in (np.nan, np.inf, -np.inf):
        for position in (0, 4095, 4096, 8191, 10_000):
            a = RNG.random(10_001).astype(dtype)
            a[position] = bad
            assert not kernels.all_finite(a)
    info = np.finfo(dtype)
    assert kernels.all_finite(np.array([info.max, -info.max, info.smallest_subnormal, -0.0],
                                       dtype))
    assert kernels.all_finite(np.zeros(0, dtype))
