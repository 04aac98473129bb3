"""fit on data larger than memory: memory maps, PyDataset-like objects, lists and generators."""

import json
import os
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest

import feedforward as ff
from feedforward.errors import FeedforwardError

RNG = np.random.default_rng(3)
X = RNG.normal(size=(120, 5)).astype("float32")
Y = (X[:, 0] - X[:, 2] > 0).astype(int)
BATCHES = [(X[i:i + 32], Y[i:i + 32]) for i in range(0, 120, 32)]  # 32, 32, 32, 24


def classifier(**kw):
    model = ff.Sequential([ff.Dense(6, activation="tanh"), ff.Dense(2, activation="softmax")],
                          seed=4, **kw)
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    return model


def on_arrays(epochs=3, **kw):
    model = classifier()
    history = model.fit(X, Y, epochs=epochs, batch_size=32, shuffle=False, verbose=0, **kw)
    return model, history


class Batches:
    """A PyDataset-like object: len, x[i], on_epoch_end."""

    def __init__(self, batches=BATCHES):
        self.batches, self.asked, self.ends = batches, [], 0

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, i):
        self.asked.append(i)
        return self.batches[i]

    def on_epoch_end(self):
        self.ends += 1


def forever():
    while True:
        yield from BATCHES


# ---------------------------------------------------------------------------- same numbers
@pytest.mark.parametrize("make,kw", [
    (lambda: BATCHES, {}),  # a list: re-iterable, one pass per epoch
    (Batches, {"shuffle": False}),
    (forever, {"steps_per_epoch": 4}),
    (lambda: iter(BATCHES * 3), {"steps_per_epoch": 4}),
])
def test_a_stream_of_the_same_batches_trains_as_the_arrays(make, kw):
    want, expected = on_arrays(validation_data=(X[:20], Y[:20]))
    model = classifier()
    history = model.fit(make(), epochs=3, verbose=0, validation_data=(X[:20], Y[:20]), **kw)
    np.testing.assert_array_equal(model.params, want.params)
    assert history.history == expected.history
    assert history.params["steps"] == 4


def test_a_generator_without_steps_per_epoch_is_one_epoch():
    want, expected = on_arrays(epochs=1)
    model = classifier()
    history = model.fit((b for b in BATCHES), verbose=0)
    np.testing.assert_array_equal(model.params, want.params)
    assert history.history["loss"] == expected.history["loss"]


def test_batches_with_weights_train_as_sample_weight():
    w = RNG.uniform(0.5, 2, 120)
    want, _ = on_arrays(sample_weight=w)
    model = classifier()
    model.fit([(x, y, w[i * 32:(i + 1) * 32]) for i, (x, y) in enumerate(BATCHES)], epochs=3,
              verbose=0)
    np.testing.assert_array_equal(model.params, want.params)


def test_class_weight_applies_to_every_batch_of_a_stream():
    want, _ = on_arrays(class_weight={1: 2.5})
    model = classifier()
    model.fit(Batches(), epochs=3, shuffle=False, verbose=0, class_weight={1: 2.5})
    np.testing.assert_array_equal(model.params, want.params)


# ---------------------------------------------------------------------------- PyDataset
def test_a_pydataset_gets_on_epoch_end_and_shuffle_reorders_its_batches():
    data = Batches()
    classifier().fit(data, epochs=3, verbose=0)
    assert data.ends == 3
    epochs = [data.asked[1 + 4 * e:1 + 4 * (e + 1)] for e in range(3)]  # x[0] was peeked
    assert all(sorted(e) == [0, 1, 2, 3] for e in epochs)
    assert len({tuple(e) for e in epochs}) > 1  # a new order each epoch (seeded: fixed)
    data = Batches()
    classifier().fit(data, epochs=2, shuffle=False, verbose=0)
    assert data.asked == [0, 0, 1, 2, 3, 0, 1, 2, 3]


def test_a_streams_raw_batches_are_augmented_as_arrays_are():
    def noise(xb, rng):
        return xb + rng.normal(0, 0.1, xb.shape)

    want, _ = on_arrays(augment=noise)
    model = classifier()
    model.fit(BATCHES, epochs=3, verbose=0, augment=noise)
    np.testing.assert_array_equal(model.params, want.params)


def test_an_unbuilt_model_is_built_from_the_first_batch():
    model = classifier()
    assert not model.built
    model.fit(Batches(), verbose=0)
    assert model.input_dim == 5


def test_the_doctors_monitor_probes_a_streams_first_batch():
    monitor = ff.diagnostics.Monitor(probe_size=100)
    model = classifier()
    history = model.fit(forever(), epochs=2, steps_per_epoch=4, verbose=0, callbacks=[monitor])
    assert len(history.monitor.records) == 2
    assert monitor._probe.shape == (32, 5)  # the first batch: no more rows were read
    doctor = ff.diagnostics.Doctor()
    classifier().fit(iter(BATCHES), verbose=0, callbacks=[doctor])
    assert doctor.findings is not None


# ---------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("x,kw,match", [
    (BATCHES, {"y": Y}, r"y: must be None when x is a stream .*the batches carry the targets"),
    (BATCHES, {"batch_size": 8}, "batch_size: must be None when x is a stream"),
    (BATCHES, {"sample_weight": np.ones(120)}, "sample_weight: must be None .*third element"),
    (BATCHES, {"validation_split": 0.2}, "validation_split: a stream of batches cannot be split"),
    (iter(BATCHES), {"epochs": 2}, "steps_per_epoch: a generator is read once"),
    (iter(BATCHES), {"epochs": 2, "steps_per_epoch": 3}, "x: the generator ran out after 4 "
                                                         "batches; steps_per_epoch=3"),
    (Batches([(X, Y), ("a", Y)]), {}, r"x\[1\]\[0\]: expected numeric data"),
    (Batches([(X, Y), (X,)]), {}, r"x\[1\]: expected a tuple \(x, y\) or \(x, y, "),
    (Batches([(X, Y), (X[:, :3], Y)]), {}, r"x\[1\]\[0\]: expected 5 features"),
    (iter([]), {}, "x: the stream gave no batch"),
    (Batches(), {"shuffle": "yes"}, "shuffle: expected True or False"),
    (X, {"y": Y, "steps_per_epoch": 2}, "steps_per_epoch: for a stream of batches only"),
    ([(X, Y, np.ones(120))], {"class_weight": {0: 2.0}}, "class_weight: cannot be combined"),
])
def test_what_a_stream_cannot_take_is_refused_naming_the_argument(x, kw, match):
    with pytest.raises(FeedforwardError, match=match):
        classifier().fit(x, verbose=0, **kw)


def test_an_unfitted_preprocessing_cannot_be_fitted_on_a_stream():
    model = classifier(preprocessing=[ff.data.StandardScaler()])
    with pytest.raises(FeedforwardError, match=r"StandardScaler\) is not fitted.*fit it first"):
        model.fit(BATCHES, verbose=0)
    model.preprocessing[0].fit(X)  # fitted first: it is applied to every batch
    model.fit(BATCHES, verbose=0)
    assert model.built


# ---------------------------------------------------------------------------- memory maps
def test_a_uint8_memmap_is_scaled_batch_by_batch_without_a_float_copy(tmp_path):
    n, width = 12000, 784
    images = np.random.default_rng(0).integers(0, 256, (n, width), dtype=np.uint8)
    path = tmp_path / "images.u8"
    images.tofile(path)
    labels = images[:, :10].argmax(axis=1)

    def model():
        scaler = ff.data.MinMaxScaler((0, 1)).fit(np.array([[0] * width, [255] * width]))
        m = ff.Sequential([ff.Dense(8, activation="relu"), ff.Dense(10, activation="softmax")],
                          seed=0, preprocessing=[scaler])
        m.compile("adam", "categorical_crossentropy")
        return m

    on_disk = model()
    mm = np.memmap(path, dtype=np.uint8, mode="r", shape=(n, width))
    tracemalloc.start()
    on_disk.fit(mm, labels, epochs=2, batch_size=128, verbose=0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < n * width * 4 / 8  # a float32 copy: 37.6 MB; a float64 one (as scaled): 75
    in_memory = model()
    in_memory.fit(images, labels, epochs=2, batch_size=128, verbose=0)
    np.testing.assert_array_equal(on_disk.params, in_memory.params)


def test_a_float32_memmap_is_not_copied(tmp_path):
    n, width = 20000, 100
    data = np.random.default_rng(1).normal(size=(n, width)).astype("float32")
    path = tmp_path / "x.f32"
    data.tofile(path)
    mm = np.memmap(path, dtype=np.float32, mode="r", shape=(n, width))
    model = ff.Sequential([ff.Dense(1)], seed=0)
    model.compile("sgd", "mse")
    tracemalloc.start()
    model.fit(mm, data[:, 0], batch_size=256, verbose=0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < data.nbytes / 10


# ---------------------------------------------------------------------------- beyond memory
CHILD = textwrap.dedent("""
    import json, resource, sys
    import numpy as np
    import feedforward as ff

    ROWS, WIDTH, BATCHES, ROOM = (int(a) for a in sys.argv[1:5])
    model = ff.Sequential([ff.Dense(8, activation="relu"), ff.Dense(1)], seed=0)
    model.compile("sgd", "mse")
    model.fit(np.zeros((4, WIDTH), "float32"), np.zeros(4), verbose=0)  # kernels loaded
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    size = int(status["VmSize"].split()[0]) * 1024
    limit = size + ROOM
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    total = ROWS * WIDTH * 4 * BATCHES
    try:
        np.ones(total // 4, dtype="float32")
        whole_fits = True
    except MemoryError:
        whole_fits = False
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    base = np.full((ROWS, WIDTH), 0.5, dtype="float32")
    targets = np.zeros(ROWS, dtype="float32")

    def batches():
        for k in range(BATCHES):  # a new array every batch, cheap to make
            yield base + np.float32(k % 7) * 0.01, targets

    history = model.fit(batches(), verbose=0)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"total": total, "limit": limit, "baseline": size,
                      "whole_fits": whole_fits, "rise": after - before,
                      "steps": len(history.history["loss"]) and model.optimizer.iterations}))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_a_generator_of_more_data_than_the_memory_limit_trains_with_bounded_rss(tmp_path):
    """2 GB of float32 in 500 batches, under an address-space limit of the process's size
    after import plus 300 MB: the data could not be held at once, and the RSS rises by
    less than 200 MB."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    done = subprocess.run([sys.executable, str(script), "4096", "256", "500",
                           str(300 * 2**20)], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["total"] > report["limit"] and not report["whole_fits"]
    assert report["steps"] == 501  # the warm-up step, then every batch of the stream
    assert report["rise"] < 200 * 2**20
