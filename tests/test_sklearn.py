"""scikit-learn estimators: scikit-learn's own checks, pipelines, search and weighting."""

import sys
import warnings

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from feedforward.errors import FeedforwardError
from feedforward.sklearn import NeuralNetClassifier, NeuralNetRegressor

# full-batch ("auto" on the checks' small data), so weights of 2 equal repeated rows
SMALL = dict(hidden_layer_sizes=(16,), batch_size="auto", epochs=60, learning_rate=0.03,
             random_state=0)


@parametrize_with_checks([NeuralNetClassifier(**SMALL), NeuralNetRegressor(**SMALL)])
def test_sklearn_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    return load_digits(return_X_y=True)


def blobs(n=200, seed=0):
    from sklearn.datasets import make_blobs

    return make_blobs(n_samples=n, centers=3, n_features=4, random_state=seed)


def test_import_is_lazy_and_module_is_an_attribute():
    import subprocess

    code = ("import sys, feedforward as ff; assert 'sklearn' not in sys.modules; "
            "import feedforward.sklearn; assert ff.sklearn.NeuralNetClassifier")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_digits_cross_val_score_in_pipeline(digits):
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = digits
    pipe = make_pipeline(StandardScaler(), NeuralNetClassifier(
        hidden_layer_sizes=(128,), epochs=40, random_state=0))
    # shuffled folds: digits is ordered by writer, so unshuffled 3-fold tests writer transfer
    scores = cross_val_score(pipe, X, y, cv=StratifiedKFold(3, shuffle=True, random_state=0))
    assert scores.mean() >= 0.97, scores


@pytest.mark.parametrize("make", ["classifier", "regressor"])
def test_grid_search_over_pipeline(make):
    from sklearn.datasets import make_regression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    if make == "classifier":
        X, y = blobs()
        est, threshold = NeuralNetClassifier(epochs=30, batch_size=16, random_state=0), 0.9
    else:
        X, y = make_regression(n_samples=200, n_features=4, noise=1.0, random_state=0)
        y = y / y.std()
        est, threshold = NeuralNetRegressor(epochs=60, batch_size=16, random_state=0), 0.9
    search = GridSearchCV(Pipeline([("scale", StandardScaler()), ("net", est)]),
                          {"net__hidden_layer_sizes": [(4,), (32,)],
                           "net__learning_rate": [1e-5, 1e-2]}, cv=3)
    search.fit(X, y)
    # a learning rate of 1e-5 barely moves the weights in 30-60 epochs: search must reject it
    assert search.best_params_["net__learning_rate"] == 1e-2
    assert search.best_score_ > threshold
    assert search.score(X, y) > threshold


def test_balanced_class_weight_raises_minority_recall():
    from sklearn.datasets import make_classification
    from sklearn.metrics import recall_score

    X, y = make_classification(n_samples=2100, n_features=5, n_informative=3, weights=[20 / 21],
                               class_sep=0.6, flip_y=0, random_state=1)
    assert 15 < (y == 0).sum() / (y == 1).sum() < 25
    recall = {}
    for cw in (None, "balanced"):
        clf = NeuralNetClassifier(hidden_layer_sizes=(16,), epochs=20, learning_rate=3e-3,
                                  class_weight=cw, random_state=0).fit(X, y)
        recall[cw] = recall_score(y, clf.predict(X))
    assert recall["balanced"] > recall[None] + 0.2, recall


def test_class_weight_dict_equals_sample_weight():
    X, y = blobs(90)
    kw = dict(hidden_layer_sizes=(8,), batch_size="auto", epochs=20, random_state=0)
    a = NeuralNetClassifier(class_weight={0: 3.0, 1: 1.0, 2: 0.5}, **kw).fit(X, y)
    b = NeuralNetClassifier(**kw).fit(X, y, sample_weight=np.choose(y, [3.0, 1.0, 0.5]))
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-10)


def test_multilabel_classification():
    from sklearn.datasets import make_multilabel_classification
    from sklearn.metrics import hamming_loss

    X, Y = make_multilabel_classification(n_samples=300, n_features=10, n_classes=4,
                                          random_state=0)
    clf = NeuralNetClassifier(hidden_layer_sizes=(32,), epochs=60, learning_rate=3e-3,
                              random_state=0).fit(X, Y)
    proba, pred = clf.predict_proba(X), clf.predict(X)
    assert proba.shape == pred.shape == Y.shape
    assert set(np.unique(pred)) <= {0, 1}
    # each row's probabilities are independent sigmoids, not a softmax
    assert not np.allclose(proba.sum(axis=1), 1)
    baseline = hamming_loss(Y, np.tile(Y.mean(axis=0) > 0.5, (len(Y), 1)))
    assert hamming_loss(Y, pred) < 0.5 * baseline


def test_multi_output_regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    Y = np.column_stack([X @ [1.0, -2.0, 0.5], np.sin(X[:, 0]) + X[:, 1]])
    reg = NeuralNetRegressor(hidden_layer_sizes=(32,), epochs=80, learning_rate=3e-3,
                             random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (300, 2)
    assert reg.n_outputs_ == 2
    assert reg.score(X, Y) > 0.95


def test_partial_fit_needs_classes_then_learns():
    X, y = blobs()
    clf = NeuralNetClassifier(hidden_layer_sizes=(8,), learning_rate=1e-2, random_state=0)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:50], y[:50], classes=[0, 1, 2])
    first = clf.loss_
    for _ in range(20):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 21 and len(clf.loss_curve_) == 21
    assert clf.loss_ < 0.5 * first
    assert clf.score(X, y) > 0.9
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y, classes=[0, 1, 5])


def test_partial_fit_accepts_a_class_missing_from_the_first_batch():
    X, y = blobs()
    clf = NeuralNetClassifier(hidden_layer_sizes=(8,), random_state=0)
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert list(clf.classes_) == [0, 1, 2] and clf.predict_proba(X).shape == (200, 3)


@pytest.mark.parametrize("Est", [NeuralNetClassifier, NeuralNetRegressor])
def test_warm_start_continues_and_cold_start_repeats(Est):
    X, y = blobs()
    kw = dict(hidden_layer_sizes=(8,), epochs=5, random_state=0)
    cold = Est(**kw).fit(X, y)
    first = cold.predict(X[:5]).copy()
    assert np.array_equal(cold.fit(X, y).predict(X[:5]), first)  # same seed: same run
    warm = Est(warm_start=True, **kw).fit(X, y)
    curve = list(warm.loss_curve_)
    warm.fit(X, y)
    assert len(warm.loss_curve_) == 10 and warm.loss_curve_[:5] == curve
    assert warm.loss_curve_[5] < curve[0]  # started from trained weights, not fresh ones


@pytest.mark.parametrize("batch_size, rtol", [("auto", 1e-9), (1000, 1e-9)])
def test_zero_sample_weight_equals_dropping_rows(batch_size, rtol):
    X, y = blobs(150)
    w = np.ones(len(y))
    w[::3] = 0
    kw = dict(hidden_layer_sizes=(8,), batch_size=batch_size, epochs=30, random_state=0)
    weighted = NeuralNetClassifier(**kw).fit(X, y, sample_weight=w)
    dropped = NeuralNetClassifier(**kw).fit(X[w > 0], y[w > 0])
    plain = NeuralNetClassifier(**kw).fit(X, y)
    np.testing.assert_allclose(weighted.predict_proba(X), dropped.predict_proba(X), rtol=rtol)
    assert not np.allclose(weighted.predict_proba(X), plain.predict_proba(X), rtol=1e-3)


def test_zero_sample_weight_minibatches_approximately_equals_dropping_rows():
    X, y = blobs(300)
    w = np.where(np.arange(300) % 4 == 0, 0.0, 1.0)
    kw = dict(hidden_layer_sizes=(16,), batch_size=16, epochs=30, random_state=0)
    weighted = NeuralNetClassifier(**kw).fit(X, y, sample_weight=w)
    dropped = NeuralNetClassifier(**kw).fit(X[w > 0], y[w > 0])
    agree = np.mean(weighted.predict(X) == dropped.predict(X))
    assert agree > 0.97


def test_early_stopping_records_validation_scores():
    X, y = blobs(300)
    clf = NeuralNetClassifier(hidden_layer_sizes=(8,), epochs=500, early_stopping=True,
                              learning_rate=1e-2, patience=5, random_state=0).fit(X, y)
    assert clf.n_iter_ < 500
    assert len(clf.validation_scores_) == clf.n_iter_ == len(clf.loss_curve_)
    assert clf.best_validation_score_ == max(clf.validation_scores_) > 0.9
    assert clf.history_["val_score"] == clf.validation_scores_
    assert NeuralNetClassifier().fit(X, y).validation_scores_ is None  # as scikit-learn


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop", "adagrad", "nadam", "adamw"])
def test_every_optimizer_and_a_schedule_train(optimizer):
    X, y = blobs()
    lr = {"class_name": "exponential_decay",
          "config": {"initial_learning_rate": 0.05, "decay_steps": 50, "decay_rate": 0.5}}
    clf = NeuralNetClassifier(hidden_layer_sizes=(8,), optimizer=optimizer, learning_rate=lr,
                              epochs=20, dropout=0.1, random_state=0).fit(X, y)
    assert clf.model_.optimizer.lr < 0.05  # the schedule decayed it
    assert clf.score(X, y) > 0.9


@pytest.mark.parametrize("param, value", [("hidden_layer_sizes", (0,)), ("dropout", 1.0),
                                          ("batch_size", 0), ("validation_fraction", 1.0),
                                          ("optimizer", "nope"), ("activation", "nope")])
def test_bad_parameters_raise_value_error_naming_them(param, value):
    X, y = blobs(30)
    with pytest.raises(ValueError, match=param if param != "optimizer" else "optimizer"):
        NeuralNetClassifier(epochs=1, early_stopping=True, **{param: value}).fit(X, y)


def test_dataframe_sets_feature_names():
    pd = pytest.importorskip("pandas", reason="pandas is not installed: no DataFrame input")
    X, y = blobs(60)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    with warnings.catch_warnings():  # the per-epoch validation score must not warn
        warnings.simplefilter("error")
        clf = NeuralNetClassifier(hidden_layer_sizes=(4,), epochs=2, early_stopping=True,
                                  random_state=0).fit(frame, y)
        clf.predict(frame)
    assert list(clf.feature_names_in_) == ["a", "b", "c", "d"]
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X)


@pytest.mark.parametrize("name", ["mse", "binary_crossentropy", "categorical_crossentropy"])
def test_weighted_loss_with_unit_weights_is_the_base_loss(name):
    from feedforward import losses

    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, size=(6, 3))
    p /= p.sum(axis=1, keepdims=True)
    t = np.eye(3)[rng.integers(0, 3, 6)]
    base, weighted = losses.get(name), losses.Weighted(losses.get(name))
    yw = np.hstack([t, np.ones((6, 1))])
    assert np.isclose(weighted.value(p, yw), base.value(p, t), rtol=1e-12)
    np.testing.assert_allclose(weighted.gradient(p, yw), base.gradient(p, t), rtol=1e-12)
    yw[:, -1] = np.arange(6)  # weight w scales row i's loss and gradient by w
    np.testing.assert_allclose(weighted.gradient(p, yw),
                               np.arange(6)[:, None] * base.gradient(p, t), rtol=1e-12)
    rows = [base.value(p[i:i + 1], t[i:i + 1]) for i in range(6)]
    assert np.isclose(weighted.value(p, yw), np.mean(np.arange(6) * rows), rtol=1e-12)
    if base.fused_activation:  # the fused gradient too
        np.testing.assert_allclose(weighted.fused_gradient(p, yw),
                                   np.arange(6)[:, None] * base.fused_gradient(p, t), rtol=1e-12)


def test_weighted_loss_refuses_a_loss_it_cannot_split_into_rows():
    from feedforward import losses
    from feedforward.errors import FeedforwardError

    with pytest.raises(FeedforwardError, match="base: expected mse"):
        losses.Weighted(losses.get("huber"))


def test_optimizer_instance_is_copied_not_shared():
    from feedforward.optimizers import Adam

    X, y = blobs(60)
    opt = Adam(learning_rate=1e-2)
    clf = NeuralNetClassifier(hidden_layer_sizes=(4,), optimizer=opt, epochs=3).fit(X, y)
    assert opt.iterations == 0 and clf.model_.optimizer.iterations > 0
    assert clf.model_.optimizer.lr == 1e-2


def test_pickle_round_trip_predicts_the_same_and_keeps_training():
    import pickle

    X, y = blobs()
    clf = NeuralNetClassifier(hidden_layer_sizes=(8,), epochs=3, warm_start=True,
                              random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    before = again.predict_proba(X)
    again.fit(X, y)  # training must move the weights each layer uses
    assert not np.allclose(again.predict_proba(X), before)


@pytest.mark.parametrize("activation, init", [("relu", "he_uniform"), ("swish", "he_uniform"),
                                              ("selu", "lecun_normal"),
                                              ("tanh", "glorot_uniform")])
def test_the_auto_initializer_is_the_recipes_rule(activation, init):
    """One rule with `feedforward train`: selu gets lecun_normal (it used to get He here)."""
    from feedforward import experiment

    X, y = blobs(30)
    clf = NeuralNetClassifier(hidden_layer_sizes=(5, 4), activation=activation, epochs=1,
                              random_state=3).fit(X, y)
    assert experiment.hidden_initializer("auto", activation) == init
    hidden = [layer for layer in clf.model_.layers if type(layer).__name__ == "Dense"][:-1]
    assert [layer.kernel_initializer.name for layer in hidden] == [init, init]
    assert clf.model_.layers[-1].kernel_initializer.name == "glorot_uniform"


def test_small_random_and_bad_initializers():
    X, y = blobs(30)
    clf = NeuralNetClassifier(hidden_layer_sizes=(5,), kernel_initializer="small_random",
                              epochs=1, random_state=0).fit(X, y)
    assert clf.model_.layers[0].kernel_initializer.get_config() == {"mean": 0.0, "stddev": 0.1}
    with pytest.raises(ValueError, match=r"^kernel_initializer: unknown initializer 'nope'"):
        NeuralNetClassifier(kernel_initializer="nope", epochs=1).fit(X, y)


def test_multilabel_goes_on_with_partial_fit_and_warm_start():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    Y = (X[:, :3] > 0).astype(int)
    for fitted in (NeuralNetClassifier(hidden_layer_sizes=(8,), epochs=2, random_state=0)
                   .partial_fit(X, Y, classes=[0, 1]).partial_fit(X, Y),
                   NeuralNetClassifier(hidden_layer_sizes=(8,), epochs=2, random_state=0,
                                       warm_start=True).fit(X, Y).fit(X, Y)):
        assert fitted.predict(X[:5]).shape == (5, 3)
        with pytest.raises(FeedforwardError, match="indicator matrix of 3 labels"):
            fitted.partial_fit(X, Y[:, :2])
        assert fitted.predict(X[:5]).shape == (5, 3)  # the refused call changed nothing


def test_a_refused_refit_leaves_the_fitted_estimator_as_it_was():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    clf = NeuralNetClassifier(epochs=2, random_state=0).fit(X, np.where(X[:, 0] > 0, "a", "b"))
    before = clf.predict(X)
    with pytest.raises(FeedforwardError, match="sample_weight"):
        clf.fit(X, np.where(X[:, 0] > 0, "neg", "pos"), sample_weight=np.ones(5))
    assert list(clf.classes_) == ["a", "b"] and np.array_equal(clf.predict(X), before)
    reg = NeuralNetRegressor(epochs=2, random_state=0).fit(X, X[:, 0])
    with pytest.raises(FeedforwardError, match="sample_weight"):
        reg.fit(X, X[:, :2], sample_weight=np.ones(5))
    assert reg.predict(X).shape == (60,)


def test_early_stopping_needs_two_validation_rows_and_its_scores_do_not_outlive_it():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 2))
    with pytest.raises(FeedforwardError, match="validation_fraction: 0.1 of 8 rows leaves 1"):
        NeuralNetRegressor(early_stopping=True, epochs=2).fit(X[:8], X[:8, 0])
    reg = NeuralNetRegressor(early_stopping=True, epochs=2, random_state=0).fit(X, X[:, 0])
    assert len(reg.validation_scores_) == 2
    reg.set_params(early_stopping=False).fit(X, X[:, 0])
    assert reg.validation_scores_ is None and reg.best_validation_score_ is None


def test_a_missing_label_is_named_not_a_sorting_error():
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(FeedforwardError, match="y: labels must not be missing; got None at "
                                                "index 1$"):
        NeuralNetClassifier(epochs=1).fit(X, np.array(["a", None] * 10, dtype=object))
