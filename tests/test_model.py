"""Sequential: loss gradients, parity with torch 2.13, convergence, determinism and the API."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import feedforward as ff
from _helpers import PARITY_TOL, TOL, randomize, relative_difference, torch_grads, torch_linears
from feedforward import losses
from feedforward.callbacks import Callback
from feedforward.diagnostics import gradient_check


def targets(kind, n, k, seed=2):
    """Targets of a kind: real values, class labels, one-hot rows or {0, 1} multi-label rows."""
    rng = np.random.default_rng(seed)
    if kind == "real":
        return rng.normal(0, 1.5, (n, k))
    labels = np.arange(n) % k  # every class present
    if kind == "labels":
        return labels
    if kind == "onehot":
        return np.eye(k)[labels]
    return rng.integers(0, 2, (n, k)).astype(float)


# (loss, output activation, target kind, outputs, whether compile fuses the gradient)
LOSS_CASES = [
    (losses.SSE(), "linear", "real", 2, False),
    (losses.MSE(), "linear", "real", 2, False),
    (losses.MAE(), "linear", "real", 2, False),
    (losses.Huber(delta=0.8), "linear", "real", 2, False),
    (losses.BinaryCrossentropy(), "sigmoid", "binary", 1, True),
    (losses.BinaryCrossentropy(), "sigmoid", "binary", 3, True),
    (losses.CategoricalCrossentropy(), "softmax", "labels", 3, True),
    (losses.CategoricalCrossentropy(), "softmax", "onehot", 3, True),
    # the same losses without the fused shortcut: the activation's Jacobian times dL/dp
    (losses.BinaryCrossentropy(), "softmax", "binary", 3, False),
    (losses.CategoricalCrossentropy(), "softmax", "onehot", 3, False),  # fusion turned off
    (losses.MSE(), "softmax", "onehot", 3, False),
    (losses.MSE(), "sigmoid", "binary", 2, False),
]


def case_id(case):
    loss, act, kind, k, fused = case
    return f"{loss.name}-{act}-{kind}{k}" + ("-fused" if fused else "")


def loss_model(case, hidden=5, seed=0):
    loss, act, _, k, _ = case
    model = ff.Sequential([ff.Dense(hidden, activation="tanh"), ff.Dense(k, activation=act)],
                          input_dim=4, seed=seed, dtype="float64")
    model.compile("sgd", loss)
    if act == loss.fused_activation and not case[4]:  # the chain rule through the activation
        model.fused = False
    return randomize(model)


def test_every_loss_has_a_gradient_case():
    assert {type(case[0]) for case in LOSS_CASES} == set(losses.ALL)


# ------------------------------------------------------------------ gradient checks
@pytest.mark.parametrize("case", LOSS_CASES, ids=case_id)
def test_gradient_check_every_loss(case):
    model = loss_model(case)
    assert model.fused == case[4]
    x = np.random.default_rng(1).normal(0, 1.5, (6, 4))
    assert gradient_check(model, x, targets(case[2], 6, case[3])) < TOL


@pytest.mark.parametrize("acts, loss, kind", [
    (("tanh", "relu", "softmax"), "categorical_crossentropy", "labels"),
    (("sigmoid", "elu", "linear"), "mse", "real"),
    (("gelu", "softplus", "sigmoid"), "binary_crossentropy", "binary"),
    (("selu", "leaky_relu", "linear"), "huber", "real"),
])
def test_gradient_check_three_layer_network(acts, loss, kind):
    """A 3-5-4-2 network: chain rule through every layer."""
    model = ff.Sequential([ff.Dense(5, activation=acts[0]), ff.Dense(4, activation=acts[1]),
                           ff.Dense(2, activation=acts[2])], input_dim=3, seed=0,
                          dtype="float64")
    model.compile("sgd", loss)
    x = np.random.default_rng(1).normal(0, 1.5, (8, 3))
    assert gradient_check(randomize(model), x, targets(kind, 8, 2)) < TOL


def test_gradient_check_of_a_float32_model_runs_in_float64():
    model = ff.Sequential([ff.Dense(5, activation="tanh"), ff.Dense(2, activation="softmax")],
                          input_dim=3, seed=0)
    model.compile("sgd", "categorical_crossentropy")
    x = np.random.default_rng(1).normal(size=(6, 3))
    assert gradient_check(model, x, targets("labels", 6, 2)) < TOL
    assert model.dtype == np.float32


def test_gradient_check_builds_an_unbuilt_model_and_leaves_it_unchanged():
    model = ff.Sequential([ff.Dense(5, activation="tanh"), ff.Dense(2)], seed=0)
    model.compile("sgd", "mse")
    x, y = np.random.default_rng(1).normal(size=(6, 3)), np.zeros((6, 2))
    assert gradient_check(model, x, y) < TOL
    assert model.input_dim == 3
    before = model.get_weights()
    gradient_check(model, x, y)
    for w, w0 in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(w, w0)


# ------------------------------------------------------------------ parity with torch
def torch_loss(loss, z, p, y):
    """torch's value of ``loss`` from logits ``z`` / outputs ``p`` and targets ``y``."""
    if loss.name == "categorical_crossentropy":
        # torch's cross_entropy takes logits and labels or probability rows
        return F.cross_entropy(z, y.long() if y.ndim == 1 else y)
    return {
        "sse": lambda: F.mse_loss(p, y, reduction="sum"),
        "mse": lambda: F.mse_loss(p, y),
        "mae": lambda: F.l1_loss(p, y),
        "huber": lambda: F.huber_loss(p, y, delta=getattr(loss, "delta", 1.0)),
        "binary_crossentropy": lambda: F.binary_cross_entropy(p, y),
    }[loss.name]()


TORCH_OUTPUT = {"linear": lambda z: z, "sigmoid": torch.sigmoid,
                "softmax": lambda z: torch.softmax(z, dim=-1)}


# torch's cross_entropy includes the softmax, so CCE is compared with a softmax output only
@pytest.mark.parametrize("case", [c for c in LOSS_CASES
                                  if c[0].name != "categorical_crossentropy" or c[1] == "softmax"],
                         ids=case_id)
def test_loss_value_and_gradients_match_torch(case):
    loss, act, kind, k, _ = case
    model = loss_model(case)
    x = np.random.default_rng(1).normal(0, 1.5, (6, 4))
    y = targets(kind, 6, k)
    xc, yc = model.prepare_xy(x, y)
    value, out = model.compute_gradients(xc, yc)
    ours = [g.copy() for layer in model.layers for g in layer.grads.values()]

    lins = torch_linears(model)
    z = lins[1](torch.tanh(lins[0](torch.from_numpy(x))))
    p = TORCH_OUTPUT[act](z)
    ty = torch.from_numpy(y if kind == "labels" or y.ndim == 2 else y[:, None])
    t_value = torch_loss(loss, z, p, ty)
    t_value.backward()

    assert relative_difference(out, p.detach().numpy()) < PARITY_TOL
    assert abs(value - t_value.item()) <= PARITY_TOL * abs(t_value.item())
    for g, tg in zip(ours, torch_grads(lins), strict=True):
        assert relative_difference(g, tg) < PARITY_TOL


def test_train_on_batch_matches_torch_sgd_over_many_steps():
    x = np.random.default_rng(1).normal(size=(16, 3))
    y = targets("labels", 16, 3)
    model = ff.Sequential([ff.Dense(5, activation="tanh"), ff.Dense(4, activation="tanh"),
                           ff.Dense(3, activation="softmax")], input_dim=3, seed=0,
                          dtype="float64")
    model.compile(ff.optimizers.SGD(0.3), "categorical_crossentropy")
    lins = torch_linears(model)
    opt = torch.optim.SGD([p for lin in lins for p in lin.parameters()], lr=0.3)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(50):
        ours = model.train_on_batch(x, y)
        opt.zero_grad()
        theirs = F.cross_entropy(lins[2](torch.tanh(lins[1](torch.tanh(lins[0](tx))))), ty)
        theirs.backward()
        opt.step()
        assert abs(ours - theirs.item()) <= 1e-10 * abs(theirs.item())
    weights = [w.detach().numpy() for lin in lins for w in (lin.weight.T, lin.bias)]
    for w, tw in zip(model.get_weights(), weights, strict=True):
        assert relative_difference(w, tw) < PARITY_TOL


# ------------------------------------------------------------------ convergence
XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([0, 1, 1, 0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_xor_reaches_full_accuracy(seed):
    model = ff.Sequential([ff.Dense(4, activation="tanh"), ff.Dense(1, activation="sigmoid")],
                          seed=seed)
    model.compile(ff.optimizers.SGD(0.5), "binary_crossentropy", ["accuracy"])
    model.fit(XOR_X, XOR_Y, epochs=1000, batch_size=4, verbose=0)
    np.testing.assert_array_equal((model.predict(XOR_X)[:, 0] > 0.5).astype(int), XOR_Y)
    assert model.evaluate(XOR_X, XOR_Y)[1] == 1.0


def digits_split():
    x, y = load_digits(return_X_y=True)
    return train_test_split(x / 16, y, test_size=0.2, stratify=y, random_state=0)


def test_digits_reaches_97_percent_test_accuracy():
    x_train, x_test, y_train, y_test = digits_split()
    model = ff.Sequential([
        ff.Dense(128, activation="relu", kernel_initializer="he_uniform"),
        ff.Dropout(0.2),
        ff.Dense(64, activation="relu", kernel_initializer="he_uniform"),
        ff.Dense(10, activation="softmax"),
    ], seed=0)
    model.compile(ff.optimizers.SGD(0.1), "categorical_crossentropy", ["accuracy"])
    model.fit(x_train, y_train, epochs=60, batch_size=32, verbose=0)
    accuracy = np.mean(model.predict(x_test).argmax(axis=1) == y_test)
    assert accuracy >= 0.97
    assert model.evaluate(x_test, y_test, return_dict=True)["accuracy"] == pytest.approx(accuracy)


# ------------------------------------------------------------------ determinism
def small_problem(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    return x, (x[:, 0] * x[:, 1] > 0).astype(int)


def trained_weights(seed, dropout=True, epochs=5):
    x, y = small_problem()
    layer_list = [ff.Dense(8, activation="relu")]
    layer_list += [ff.Dropout(0.3)] if dropout else []
    model = ff.Sequential(layer_list + [ff.Dense(2, activation="softmax")], seed=seed)
    model.compile(ff.optimizers.SGD(0.1), "categorical_crossentropy")
    model.fit(x, y, epochs=epochs, batch_size=8, shuffle=True, verbose=0)
    return model.get_weights()


def test_same_seed_gives_bit_identical_weights_after_fit():
    a, b = trained_weights(seed=3), trained_weights(seed=3)
    for wa, wb in zip(a, b, strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_different_seeds_give_different_weights():
    a, b = trained_weights(seed=3), trained_weights(seed=4)
    assert not np.array_equal(a[0], b[0])


def test_adding_dropout_does_not_change_the_initial_weights():
    with_dropout = ff.Sequential([ff.Dense(8), ff.Dropout(0.5), ff.Dense(2)], input_dim=4, seed=7)
    without = ff.Sequential([ff.Dense(8), ff.Dense(2)], input_dim=4, seed=7)
    for wa, wb in zip(with_dropout.get_weights(), without.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)


@pytest.mark.parametrize("change", ["no_shuffle", "no_dropout"])
def test_shuffle_and_dropout_really_act_in_the_determinism_setup(change):
    """Turning either off changes the result, so the bit-identical test above covers both."""
    x, y = small_problem()
    results = []
    for variant in ("as_above", change):
        rate = 0.0 if variant == "no_dropout" else 0.3
        model = ff.Sequential([ff.Dense(8, activation="relu"), ff.Dropout(rate),
                               ff.Dense(2, activation="softmax")], seed=3)
        model.compile(ff.optimizers.SGD(0.1), "categorical_crossentropy")
        model.fit(x, y, epochs=5, batch_size=8, shuffle=variant != "no_shuffle", verbose=0)
        results.append(model.get_weights()[0])
    assert not np.array_equal(*results)


# ------------------------------------------------------------------ train_on_batch
def test_train_on_batch_is_exactly_one_sgd_step():
    x, y = small_problem(n=10)
    lr = 0.05
    model = ff.Sequential([ff.Dense(6, activation="tanh"), ff.Dense(2, activation="softmax")],
                          input_dim=4, seed=0, dtype="float64")
    model.compile(ff.optimizers.SGD(lr), "categorical_crossentropy")
    for step in range(1, 3):
        before = model.get_weights()
        xc, yc = model.prepare_xy(x, y)
        expected_loss, _ = model.compute_gradients(xc, yc)
        grads = [g.copy() for layer in model.layers for g in layer.grads.values()]
        loss = model.train_on_batch(x, y)
        assert loss == expected_loss  # the loss before the step
        assert model.optimizer.iterations == step
        for w, w0, g in zip(model.get_weights(), before, grads, strict=True):
            np.testing.assert_array_equal(w, w0 - lr * g)


# ------------------------------------------------------------------ weights
def test_get_weights_keras_order_and_shapes():
    model = ff.Sequential([ff.Dense(4), ff.Dropout(0.5), ff.Dense(3, use_bias=False),
                           ff.Maxout(2, pieces=3)], input_dim=5, seed=0)
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(5, 4), (4,), (4, 3), (3, 6), (6,)]
    assert all(w.dtype == np.float32 for w in model.get_weights())


def test_set_weights_round_trip_and_copies():
    model = ff.Sequential([ff.Dense(4, activation="relu"), ff.Dense(2)], input_dim=3,
                          dtype="float64")
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=w.shape) for w in model.get_weights()]
    model.set_weights(weights)
    k1, b1, k2, b2 = weights
    x = rng.normal(size=(5, 3))
    np.testing.assert_allclose(model.predict(x), np.maximum(x @ k1 + b1, 0) @ k2 + b2,
                               rtol=1e-13)
    got = model.get_weights()
    got[0][...] = 0  # a copy: the model is unchanged
    np.testing.assert_array_equal(model.get_weights()[0], k1)


@pytest.mark.parametrize("bad, match", [
    (lambda w: w[:-1], "list of 4 arrays"),
    (lambda w: [w[0].T, *w[1:]], r"weights\[0\]: expected shape \(3, 4\)"),
    (lambda w: [w[0], w[1], w[2], w[3][:1]], r"weights\[3\]"),
])
def test_set_weights_rejects_wrong_count_or_shape(bad, match):
    model = ff.Sequential([ff.Dense(4), ff.Dense(2)], input_dim=3)
    with pytest.raises(ff.FeedforwardError, match=match):
        model.set_weights(bad(model.get_weights()))


# ------------------------------------------------------------------ fit, evaluate, predict
def classifier(seed=0, **compile_kw):
    model = ff.Sequential([ff.Dense(8, activation="tanh"), ff.Dense(2, activation="softmax")],
                          seed=seed)
    model.compile(compile_kw.pop("optimizer", ff.optimizers.SGD(0.1)),
                  "categorical_crossentropy", compile_kw.pop("metrics", ["accuracy"]))
    return model


def test_history_with_validation_split():
    x, y = small_problem(n=50)
    model = classifier()
    history = model.fit(x, y, epochs=4, batch_size=10, validation_split=0.2, verbose=0)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert len(history.history[key]) == 4, key
    assert history.epoch == [0, 1, 2, 3]
    assert model.history is history
    # the held-out part is the last 20%, taken before shuffling
    val_loss, val_acc = model.evaluate(x[40:], y[40:])
    assert history.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-6)
    assert history.history["val_accuracy"][-1] == pytest.approx(val_acc)
    assert model.optimizer.iterations == 4 * 4  # 40 training samples, batches of 10


def test_history_with_validation_data():
    x, y = small_problem(n=40)
    x_val, y_val = small_problem(n=12, seed=9)
    model = classifier()
    history = model.fit(x, y, epochs=3, batch_size=8, validation_data=(x_val, y_val), verbose=0)
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(history.history)
    assert all(len(history.history[k]) == 3 for k in ("loss", "val_loss", "val_accuracy"))
    assert history.history["val_loss"][-1] == pytest.approx(model.evaluate(x_val, y_val)[0],
                                                            rel=1e-6)
    assert model.optimizer.iterations == 3 * 5


def test_history_without_validation_has_no_val_keys():
    x, y = small_problem()
    history = classifier().fit(x, y, epochs=2, verbose=0)
    assert not [k for k in history.history if k.startswith("val_")]
    assert len(history.history["loss"]) == 2


@pytest.mark.parametrize("batch_size, steps", [(30, 1), (1, 30), (7, 5), (1000, 1)])
def test_batch_stochastic_and_mini_batch_descent_all_train(batch_size, steps):
    x, y = small_problem(n=30)
    model = classifier()
    model.build(4)
    before = model.evaluate(x, y)[0]
    history = model.fit(x, y, epochs=20, batch_size=batch_size, verbose=0)
    assert model.optimizer.iterations == 20 * steps
    assert model.evaluate(x, y)[0] < before
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_evaluate_return_forms_and_value():
    x, y = small_problem(n=20)
    model = ff.Sequential([ff.Dense(3)], input_dim=4, seed=0, dtype="float64")
    model.compile("sgd", "mse")
    targets_ = np.random.default_rng(0).normal(size=(20, 3))
    loss = model.evaluate(x, targets_)
    assert isinstance(loss, float)
    assert loss == pytest.approx(np.mean((model.predict(x) - targets_) ** 2), rel=1e-12)
    model.compile("sgd", "mse", ["mae"])
    loss2, mae = model.evaluate(x, targets_, batch_size=7)
    assert loss2 == pytest.approx(loss, rel=1e-12)
    assert mae == pytest.approx(np.mean(np.abs(model.predict(x) - targets_)), rel=1e-12)
    logs = model.evaluate(x, targets_, return_dict=True)
    assert set(logs) == {"loss", "mae"} and logs["mae"] == pytest.approx(mae)


def test_evaluate_includes_regularization_penalty():
    x, _ = small_problem(n=20)
    y = np.zeros((20, 3))
    model = ff.Sequential([ff.Dense(3, kernel_regularizer=ff.regularizers.L2(0.5))],
                          input_dim=4, seed=0, dtype="float64")
    model.compile("sgd", "mse")
    kernel = model.get_weights()[0]
    expected = np.mean(model.predict(x) ** 2) + 0.5 * np.sum(kernel ** 2)
    assert model.evaluate(x, y) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("n, batch_size", [(1, 1024), (10, 3), (2000, 1024)])
def test_predict_shape_and_batching(n, batch_size):
    model = ff.Sequential([ff.Dense(5, activation="relu"), ff.Dense(3)], input_dim=4, seed=0,
                          dtype="float64")
    x = np.random.default_rng(0).normal(size=(n, 4))
    out = model.predict(x, batch_size=batch_size)
    assert out.shape == (n, 3) and out.dtype == np.float64
    np.testing.assert_allclose(out, model.predict(x, batch_size=n), rtol=1e-12)


def test_predict_builds_an_unbuilt_model_from_the_data():
    model = ff.Sequential([ff.Dense(2)])
    assert model.predict(np.zeros((3, 7))).shape == (3, 2)
    assert model.input_dim == 7


def test_summary_counts_the_real_parameters():
    model = ff.Sequential([ff.Dense(128, activation="relu"), ff.Dropout(0.2),
                           ff.Maxout(16, pieces=3), ff.Dense(10, activation="softmax")],
                          input_dim=64)
    printed = []
    assert model.summary(print_fn=printed.append) is None
    text = model.summary_text()
    assert printed == text.splitlines()  # one call per line, as Keras documents print_fn
    real = sum(w.size for w in model.get_weights())
    assert real == (64 * 128 + 128) + (128 * 48 + 48) + (16 * 10 + 10)
    total = int(re.search(r"Total params: ([\d,]+)", text).group(1).replace(",", ""))
    assert total == real == model.count_params()
    assert "Total params" in printed[-1]
    for name in ("Dense", "Dropout", "Maxout"):
        assert name in text


# ------------------------------------------------------------------ callbacks
class Recorder(Callback):
    def __init__(self, stop_at_epoch=None):
        self.events, self.stop_at_epoch = [], stop_at_epoch

    def on_train_begin(self, logs=None):
        self.events.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(f"epoch_begin {epoch}")

    def on_batch_end(self, batch, logs=None):
        assert np.isfinite(logs["loss"])
        self.events.append(f"batch_end {batch}")

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(f"epoch_end {epoch} {sorted(k for k in logs if 'loss' in k)}")
        if epoch == self.stop_at_epoch:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.events.append("train_end")


def test_callbacks_receive_every_hook_in_order():
    x, y = small_problem(n=20)
    model = classifier()
    recorder = Recorder()
    model.fit(x, y, epochs=2, batch_size=10, validation_split=0.5, callbacks=[recorder],
              verbose=0)
    assert recorder.model is model
    assert recorder.events == [
        "train_begin",
        "epoch_begin 0", "batch_end 0", "epoch_end 0 ['loss', 'val_loss']",
        "epoch_begin 1", "batch_end 0", "epoch_end 1 ['loss', 'val_loss']",
        "train_end",
    ]


def test_stop_training_in_a_callback_ends_fit():
    x, y = small_problem()
    model = classifier()
    history = model.fit(x, y, epochs=50, batch_size=8, callbacks=[Recorder(stop_at_epoch=2)],
                        verbose=0)
    assert history.epoch == [0, 1, 2]
    assert model.optimizer.iterations == 3 * 5
    # the flag is reset, so the next fit trains again
    assert len(model.fit(x, y, epochs=2, verbose=0).epoch) == 2


# ------------------------------------------------------------------ divergence
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow on the way to inf is expected
def test_divergence_raises_with_a_remedy():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 100, (64, 5))
    y = x @ rng.normal(0, 10, (5, 1))
    model = ff.Sequential([ff.Dense(16, activation="relu"), ff.Dense(1)], seed=0)
    model.compile(ff.optimizers.SGD(1e6), "mse")
    with pytest.raises(ff.FeedforwardError) as info:
        model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    message = str(info.value)
    assert "diverged" in message
    assert "learning rate" in message.lower()


def test_a_model_pickled_by_version_0_1_trains_after_unpickling():
    """Version 0.1 kept the random streams and the fused-gradient flag as private attributes;
    its pickles (e.g. inside a joblib-saved pipeline) get the public names back."""
    import pickle

    model = ff.Sequential([ff.Dense(3, activation="tanh"), ff.Dense(1)], input_dim=2, seed=0)
    model.compile("adam", "mse")
    state = dict(vars(pickle.loads(pickle.dumps(model))))  # a copy: nothing shared with model
    state["_rngs"], state["_fused"] = state.pop("rngs"), state.pop("fused")
    old = ff.Sequential.__new__(ff.Sequential)
    old.__setstate__(state)
    clone = pickle.loads(pickle.dumps(old))
    x = np.random.default_rng(0).normal(size=(8, 2))
    clone.fit(x, x[:, :1], epochs=2, verbose=0)
    model.fit(x, x[:, :1], epochs=2, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(clone.get_weights(), model.get_weights(),
                                                    strict=True))
