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
