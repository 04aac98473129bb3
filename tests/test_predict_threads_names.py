"""predict shared by threads, and DataFrame columns matched by name."""

import threading

import numpy as np
import pytest

import feedforward as ff


def _model(seed=1):
    m = ff.Sequential([ff.Dense(64, activation="relu"), ff.Dense(64, activation="relu"),
                       ff.Dense(3, activation="softmax")], seed=seed)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    m.build(20)
    return m


def _in_threads(predict, rows, threads=4):
    """Every row predicted alone, each thread walking the rows from its own start."""
    got = [[None] * len(rows) for _ in range(threads)]
    start = threading.Barrier(threads)

    def work(t):
        start.wait()
        for k in range(len(rows)):
            j = (k + 7 * t) % len(rows)
            got[t][j] = predict(rows[j])
    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return got


@pytest.mark.parametrize("path", ["ready", "prepared"])
def test_threads_sharing_a_model_get_the_single_threaded_outputs(path):
    m = _model()
    rng = np.random.default_rng(0)
    rows = [rng.normal(size=(1, 20)) for _ in range(300)]
    if path == "prepared":  # lists go through prepare_x and the layers' own work arrays
        rows = [r.tolist() for r in rows]
    alone = [m.predict(r) for r in rows]
    for outputs in _in_threads(m.predict, rows):
        bad = sum(not np.array_equal(a, b) for a, b in zip(outputs, alone, strict=True))
        assert bad == 0, f"{bad} of {len(rows)} rows differ from single-threaded predict"


def test_threads_evaluating_a_shared_model_get_the_single_threaded_loss():
    m = _model()
    rng = np.random.default_rng(1)
    data = [(rng.normal(size=(2, 20)), rng.integers(0, 3, size=2)) for _ in range(150)]
    alone = [m.evaluate(x, y) for x, y in data]
    for losses in _in_threads(lambda d: m.evaluate(*d), data):
        assert losses == alone


def test_a_pickled_model_still_pickles_after_threaded_predict():
    import pickle

    m = _model()
    m.predict(np.zeros((1, 20)))
    again = pickle.loads(pickle.dumps(m))
    x = np.ones((1, 20))
    assert np.array_equal(again.predict(x), m.predict(x))


def _named_model(tmp_path, names=("a", "b", "c")):
    """A numeric model saved as ``feedforward train`` saves one: with its feature names."""
    from feedforward import records

    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 3))
    m = ff.Sequential([ff.Dense(4, activation="tanh"), ff.Dense(1)], seed=0,
                      preprocessing=ff.data.StandardScaler())
    m.compile(optimizer="sgd", loss="mse")
    m.fit(x, x @ [1.0, 2.0, -3.0], epochs=1, verbose=0)
    path = tmp_path / "m.safetensors"
    records.save(m, path, {"feature_names": list(names)})
    return ff.load_model(path), x


def test_a_dataframe_is_matched_by_name_to_the_recorded_features(tmp_path):
    pd = pytest.importorskip("pandas")
    m, x = _named_model(tmp_path)
    assert m.feature_names == ["a", "b", "c"]
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    shuffled = frame[["c", "a", "b"]]
    assert np.array_equal(m.predict(shuffled), m.predict(x))
    y = x @ [1.0, 2.0, -3.0]
    assert m.evaluate(shuffled, y) == m.evaluate(x, y)
    # an ndarray stays positional: the same numbers in another order are other inputs
    assert not np.array_equal(m.predict(shuffled.to_numpy()), m.predict(x))


@pytest.mark.parametrize("columns, named", [(["a", "b"], "missing 'c'"),
                                            (["a", "b", "cc"], "unexpected 'cc'"),
                                            (["a", "b", "c", "z"], "unexpected 'z'")])
def test_a_dataframe_whose_names_differ_is_refused_naming_them(tmp_path, columns, named):
    pd = pytest.importorskip("pandas")
    m, x = _named_model(tmp_path)
    frame = pd.DataFrame(np.ones((2, len(columns))), columns=columns)
    for call in (lambda: m.predict(frame), lambda: m.evaluate(frame, np.ones(2))):
        with pytest.raises(ff.FeedforwardError, match=f"x: .*{named}"):
            call()


def test_a_model_without_names_takes_a_dataframe_in_order():
    pd = pytest.importorskip("pandas")
    m = ff.Sequential([ff.Dense(2)], seed=0)
    m.build(3)
    assert m.feature_names is None
    x = np.arange(6.0).reshape(2, 3)
    frame = pd.DataFrame(x, columns=["c", "b", "a"])
    assert np.array_equal(m.predict(frame), m.predict(x))
