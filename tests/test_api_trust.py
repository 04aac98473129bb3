"""The Keras-style API gives the right numbers or a clear refusal where a Keras user's habit
met a silent wrong answer: streams in predict and evaluate, metrics under one name, the generic
accuracy on multi-label outputs, argmax accuracy over one column, an evaluate inside fit, and
freezing."""

from __future__ import annotations

import re

import numpy as np
import pytest

import feedforward as ff
from feedforward.errors import FeedforwardError

RNG = np.random.default_rng(0)


class Batches:
    """A PyDataset as Keras documents it: slicing by index, empty slices past the end."""

    def __init__(self, x, y, batch_size=10):
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i):
        part = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[part], self.y[part]


def binary_model(features=3, metrics=("accuracy",)):
    model = ff.Sequential([ff.Input((features,)), ff.Dense(1, activation="sigmoid")], seed=0)
    model.compile("sgd", "binary_crossentropy", list(metrics))
    return model


def test_predict_and_evaluate_take_the_streams_that_fit_takes():
    x = RNG.normal(size=(25, 3))
    y = (x[:, 0] > 0).astype(int)
    model = binary_model()
    model.fit(Batches(x, y), epochs=1, verbose=0)
    # a PyDataset's slices past the end are empty: read as an array, it never ended
    np.testing.assert_allclose(model.predict(Batches(x, y)), model.predict(x), rtol=1e-6)
    np.testing.assert_allclose(model.predict(b for b in np.array_split(x, 3)),
                               model.predict(x), rtol=1e-6)
    assert model.evaluate(Batches(x, y), return_dict=True) == pytest.approx(
        model.evaluate(x, y, return_dict=True))
    with pytest.raises(FeedforwardError, match="batch 0 of the stream holds 1 arrays"):
        model.evaluate(iter([x]))


def test_an_evaluate_inside_fit_leaves_the_epochs_metrics_alone():
    x = RNG.normal(size=(60, 3))
    y = (x[:, 0] > 0).astype(int)

    class Peek(ff.callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            if batch == 2:
                self.model.evaluate(x[:7], 1 - y[:7])  # other rows, every label wrong

    logs = []
    for callbacks in ([], [Peek()]):
        model = binary_model()
        logs.append(model.fit(x, y, epochs=1, batch_size=10, verbose=0,
                              callbacks=callbacks).history["accuracy"])
    assert logs[0] == logs[1]


def test_metrics_under_one_name_are_refused_and_a_given_name_is_kept():
    a, b = ff.metrics.BinaryAccuracy(threshold=0.3), ff.metrics.BinaryAccuracy(threshold=0.7)
    with pytest.raises(FeedforwardError, match="'binary_accuracy' named twice"):
        binary_model(metrics=(a, b))
    a.name = "accuracy_at_0.3"
    model = binary_model(metrics=(a, b))
    x = RNG.normal(size=(30, 3))
    y = (x[:, 0] > 0).astype(int)
    assert list(model.evaluate(x, y, return_dict=True)) == ["loss", "accuracy_at_0.3",
                                                            "binary_accuracy"]


def test_the_accuracy_instance_means_what_the_name_means():
    x = RNG.normal(size=(40, 3))
    labels = (x + RNG.normal(size=(40, 3)) > 0).astype(float)  # three independent labels
    scores = []
    for metric in ("accuracy", ff.metrics.Accuracy()):
        model = ff.Sequential([ff.Input((3,)), ff.Dense(3, activation="sigmoid")], seed=0)
        model.compile("sgd", "binary_crossentropy", [metric])
        scores.append(model.evaluate(x, labels, return_dict=True)["accuracy"])
    p = model.predict(x)
    assert scores[0] == scores[1] == pytest.approx(np.mean((p > 0.5) == (labels > 0.5)))


def test_argmax_accuracy_over_one_column_and_freezing_are_refused():
    x = RNG.normal(size=(20, 3))
    model = binary_model(metrics=("categorical_accuracy",))
    with pytest.raises(FeedforwardError, match="categorical_accuracy needs an output per class"):
        model.evaluate(x, (x[:, 0] > 0).astype(int))  # it said 1.0, every row wrong or not
    for frozen in (model.layers[0], model):
        with pytest.raises(FeedforwardError, match="trainable: freezing .* not supported"):
            frozen.trainable = False
        frozen.trainable = True  # what every layer is
        assert frozen.trainable


def test_class_weight_keys_that_are_both_names_and_ids_are_refused():
    from feedforward.weighting import class_weights

    model = ff.Sequential([ff.Dense(3, activation="softmax")], input_dim=2, seed=0,
                          classes=[1, 2, 3])  # as train makes for a target of 1, 2, 3
    model.compile("sgd", "categorical_crossentropy")
    with pytest.raises(FeedforwardError, match="the key 1 is both the class named 1 .id 0."):
        class_weights(model, {0: 1, 1: 5, 2: 1})  # Keras's ids, or names? 5 went to class 0
    weights = class_weights(model, {"1": 1, "2": 5, "3": 1})(np.eye(3))
    assert weights.tolist() == [1, 5, 1]


def test_keras_spellings_evaluate_sample_weight_and_checkpoint_filepath(tmp_path):
    x = RNG.normal(size=(30, 3))
    y = (x[:, 0] > 0).astype(int)
    model = binary_model()
    weights = np.r_[np.zeros(10), np.ones(20)]
    weighted = model.evaluate(x, y, sample_weight=weights, return_dict=True)
    # as in Keras (and fit): the weighted sum over the rows, divided by their number
    plain = model.evaluate(x[10:], y[10:], return_dict=True)
    assert weighted["loss"] == pytest.approx(plain["loss"] * 20 / 30)
    with pytest.raises(FeedforwardError, match="sample_weight: expected one weight per sample"):
        model.evaluate(x, y, sample_weight=weights[:5])
    path = tmp_path / "best.safetensors"
    model.fit(x, y, epochs=1, verbose=0,
              callbacks=[ff.callbacks.ModelCheckpoint(filepath=path, monitor="loss")])
    assert path.exists()
    with pytest.raises(FeedforwardError, match="one of the two"):
        ff.callbacks.ModelCheckpoint(path, filepath=path)


def test_a_model_fitted_on_a_dataframe_matches_its_columns_by_name_later():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(RNG.normal(size=(50, 3)), columns=["a", "b", "c"])
    y = (frame["a"] > 0).to_numpy().astype(int)
    model = binary_model()
    model.fit(frame, y, epochs=5, verbose=0)
    assert model.feature_names == ["a", "b", "c"]
    # reordered columns were taken by position: a silently wrong prediction
    np.testing.assert_array_equal(model.predict(frame[["c", "a", "b"]]), model.predict(frame))
    with pytest.raises(FeedforwardError, match="missing 'a'; unexpected 'x'"):
        model.predict(frame.rename(columns={"a": "x"}))


def test_the_column_names_travel_with_the_saved_file(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(RNG.normal(size=(50, 3)), columns=["a", "b", "c"])
    model = binary_model()
    model.fit(frame, (frame["a"] > 0).to_numpy().astype(int), epochs=3, verbose=0)
    model.save(tmp_path / "m.safetensors")
    loaded = ff.load_model(tmp_path / "m.safetensors")
    assert loaded.feature_names == ["a", "b", "c"]
    # after a reload, reordered columns were taken by position: silently wrong
    np.testing.assert_array_equal(loaded.predict(frame[["c", "a", "b"]]), model.predict(frame))
    model.feature_names = ["a", "b"]  # not one per input: never written
    with pytest.raises(FeedforwardError, match="expected 3 names"):
        model.save(tmp_path / "bad.safetensors")
    assert not (tmp_path / "bad.safetensors").exists()


@pytest.mark.parametrize("classes, y, given", [
    ([1, 2, 3], [1, 2, 3, 3], "(1, 2, 3)"),  # was: "4 classes need an output layer of 4 units"
    (["a", "b", "c"], ["a", "c", "b", "a"], "('a', 'b', 'c')"),  # was: "expected numeric data"
])
def test_labels_given_as_the_class_names_are_refused_with_the_mapping(classes, y, given):
    model = ff.Sequential([ff.Input((2,)), ff.Dense(3, activation="softmax")], seed=0,
                          classes=classes)
    model.compile("sgd", "categorical_crossentropy")
    x = RNG.normal(size=(4, 2))
    with pytest.raises(FeedforwardError, match=r"class names " + re.escape(given)
                       + r".*model.classes.index"):
        model.evaluate(x, np.array(y), verbose=0)
    ids = [classes.index(c) for c in y]
    assert np.isfinite(model.evaluate(x, np.array(ids), verbose=0))


def test_an_object_array_of_numbers_is_numbers_and_a_bad_cell_is_named():
    # a pandas object column of ints was refused as "strings or mixed types"
    x = RNG.normal(size=(6, 3))
    y = np.array([0, 1, 1, 0, 1, 0], dtype=object)
    model = binary_model()
    np.testing.assert_array_equal(model.evaluate(x, y, verbose=0),
                                  model.evaluate(x, y.astype(int), verbose=0))
    with pytest.raises(FeedforwardError, match=r"y: expected numeric data, got 'one' at "
                                               r"index \(2,\)"):
        model.evaluate(x, np.array([0, 1, "one", 0, 1, 0], dtype=object), verbose=0)


@pytest.mark.parametrize("batches, match", [
    (lambda x, y: [(x,)], r"x\[0\]: expected a tuple \(x, y\) .* got a tuple of 1$"),
    (lambda x, y: [{"x": x, "y": y}], r"x\[0\]: .* got a dict$"),
    (lambda x, y: [(x, y, np.ones(len(x)), 1)], r"x\[0\]: .* got a tuple of 4$"),
    (lambda x, y: [(x, y[:10])], r"x\[0\]\[1\]: expected 40 samples to match x\[0\]\[0\]"),
    (lambda x, y: iter([(x, y), (x, y[:5])]),
     r"y of batch 1: expected 40 samples to match x of batch 1"),
])
def test_a_malformed_list_of_batches_says_which_batch_and_what(batches, match):
    # they were read as one array: "expected 1 or 2 dimensions, got shape (1, 1, 40, 3)"
    x, y = RNG.normal(size=(40, 3)), RNG.integers(0, 2, 40)
    with pytest.raises(FeedforwardError, match=match):
        binary_model().fit(batches(x, y), epochs=1, verbose=0)


def test_a_divergence_is_told_by_name_without_numpy_s_warnings():
    import warnings

    model = ff.Sequential([ff.Input((3,)), ff.Dense(8, activation="relu"), ff.Dense(1)], seed=0)
    model.compile(ff.optimizers.SGD(10.0), "mse")
    x, y = RNG.random((64, 3)), RNG.random(64) * 1e3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ff.training.Diverged, match="training diverged"):
            model.fit(x, y, epochs=20, verbose=0)
    assert [str(w.message) for w in caught if w.category is RuntimeWarning] == []


def test_ids_that_are_also_other_classes_names_are_read_as_ids_with_a_warning():
    from feedforward.inputs import AmbiguousLabelsWarning, labels_are_ids

    model = ff.Sequential([ff.Input((2,)), ff.Dense(3, activation="softmax")], seed=0,
                          classes=[1, 2, 3])
    model.compile("sgd", "categorical_crossentropy")
    x = RNG.normal(size=(4, 2))
    with pytest.warns(AmbiguousLabelsWarning, match=r"1, 2 are class ids here \(classes 2, "
                                                    r"3\).*model.classes.index"):
        model.evaluate(x, np.array([1, 2, 2, 1]), verbose=0)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", AmbiguousLabelsWarning)
        model.evaluate(x, np.array([0, 2, 2, 1]), verbose=0)  # 0 is no name: ids
        with labels_are_ids():  # a caller whose labels are ids by construction
            model.evaluate(x, np.array([1, 2, 2, 1]), verbose=0)
