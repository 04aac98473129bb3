"""scikit-learn estimators: :class:`NeuralNetClassifier` and :class:`NeuralNetRegressor`.

They wrap a :class:`~feedforward.model.Sequential` of ``Dense`` (and ``Dropout``) layers and
follow scikit-learn's conventions (``get_params``/``set_params``, fitted attributes ending in
``_``, ``n_features_in_``, ``feature_names_in_``, tags), so they work in ``Pipeline``,
``GridSearchCV`` and ``cross_val_score``. Import this module explicitly; ``import feedforward``
does not import scikit-learn::

    from feedforward.sklearn import NeuralNetClassifier

Per-sample weights (``sample_weight``, and ``class_weight`` as scikit-learn reads it, e.g.
``"balanced"``) are rescaled to mean 1 and given to ``Sequential.fit(sample_weight=...)``:
the engine's rule (:mod:`feedforward.weighting`) multiplies every row's loss and gradient by
its weight, and batching keeps each weight with its row.

The network is built by the experiment recipe (:func:`feedforward.experiment.network`) from
the estimator's parameters mapped onto the config schema (:mod:`feedforward.config`), its
output layer and loss by :func:`feedforward.experiment.output_for`.
"""

from __future__ import annotations

import copy
import functools
import numbers
from contextlib import contextmanager

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    _check_y,
    check_is_fitted,
    validate_data,
)

from . import config, experiment, initializers, losses, optimizers
from .callbacks import Callback, EarlyStopping
from .errors import FeedforwardError, check_number, show
from .inputs import labels_are_ids
from .model import Sequential


def _atomic(method):
    """A call that raises leaves the estimator as it was, its fitted attributes included: a
    refused refit must not pair the old network with the new call's labels or shapes."""
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        before = dict(vars(self))
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            vars(self).clear()
            vars(self).update(before)
            raise
    return call


@contextmanager
def _blame(name):
    """scikit-learn's ``ValueError`` as a one-line :class:`FeedforwardError` naming ``name``.

    Its text is kept (scikit-learn's own checks match on it); ``NotFittedError`` stays itself,
    as scikit-learn's conventions ask.
    """
    try:
        yield
    except (FeedforwardError, NotFittedError):
        raise
    except ValueError as e:
        raise FeedforwardError(f"{name}: {' '.join(str(e).split())}") from None


def _validate_xy(estimator, X, y, reset, y_numeric=False):
    """``validate_data(X, y)`` in steps, so that an error names X or y.

    Returns X as float64 of shape (n, features) and y as checked by scikit-learn.
    """
    if y is None:
        raise FeedforwardError(f"y: {type(estimator).__name__} requires y to be passed, but the "
                               "target y is None")
    with _blame("y"):
        y = _check_y(y, multi_output=True, y_numeric=y_numeric, estimator=estimator)
        if y_numeric:
            y = np.asarray(y, dtype=np.float64)
    _refuse_missing_labels(y)
    X = _validate_x(estimator, X, reset)
    if len(y) != len(X):
        raise FeedforwardError(f"y: expected {len(X)} samples to match X, got {len(y)}")
    return X, y


def _refuse_missing_labels(y):
    """A None among labels, which NumPy cannot sort beside text (a bare TypeError)."""
    if y.dtype == object:
        missing = np.argwhere(np.frompyfunc(lambda v: v is None, 1, 1)(y).astype(bool))
        if len(missing):
            raise FeedforwardError(f"y: labels must not be missing; got None at index "
                                   f"{', '.join(map(str, missing[0]))}")


def _validate_x(estimator, X, reset):
    """``validate_data(X)``, whose errors name X; X as float64 of shape (n, features)."""
    if X is None:  # scikit-learn would speak of "array=nan"
        raise FeedforwardError("X: expected an array of shape (n_samples, n_features), got None")
    with _blame("X"):
        return validate_data(estimator, X, reset=reset, dtype=np.float64)


class _NamedScoreErrors:
    """``score`` whose scikit-learn errors (about y, once X passed) name y."""

    def score(self, X, y, sample_weight=None):
        with _blame("y"):
            return super().score(X, y, sample_weight)


class _ValidationScore(Callback):
    """Adds ``val_score`` (the estimator's ``score`` on held-out data) to every epoch's logs."""

    def __init__(self, score):
        self.score, self.scores = score, []

    def on_epoch_end(self, epoch, logs=None):
        self.scores.append(self.score())
        logs["val_score"] = self.scores[-1]


class _BaseNeuralNet(BaseEstimator):
    """Shared parameters, network building and the training loop."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", kernel_initializer="auto",
                 dropout=0.0, optimizer="adam", learning_rate=1e-3, batch_size=32, epochs=200,
                 l1=0.0, l2=1e-4, early_stopping=False, validation_fraction=0.1, patience=10,
                 restore_best_weights=True, random_state=None, verbose=0, warm_start=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.kernel_initializer = kernel_initializer
        self.dropout = dropout
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.l1 = l1
        self.l2 = l2
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.restore_best_weights = restore_best_weights
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    # ------------------------------------------------------------------ hooks for subclasses
    def _output(self):
        """(units, activation, loss name) of the output layer, from the fitted targets
        (:func:`feedforward.experiment.output_for`)."""
        raise NotImplementedError

    def _task(self):
        """The task of the fitted targets: classification, multilabel or regression."""
        raise NotImplementedError

    def _encode(self, y):
        """Targets of shape (n, outputs) for the loss."""
        raise NotImplementedError

    # ------------------------------------------------------------------ building
    def _check_params(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, numbers.Integral) else list(sizes)
        if any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1
               for s in sizes):
            raise FeedforwardError("hidden_layer_sizes: expected positive integers, got "
                                   f"{self.hidden_layer_sizes!r}")
        check_number(self.dropout, "dropout", low=0, high=1, high_open=True)
        check_number(self.validation_fraction, "validation_fraction", low=0, high=1,
                     low_open=True, high_open=True)
        if not isinstance(self.kernel_initializer, str):  # a config dict or an instance
            try:
                initializers.get(self.kernel_initializer)
            except FeedforwardError as e:
                raise FeedforwardError(f"kernel_initializer: {e}") from None
        if self.verbose not in (0, 1, 2, False, True):
            raise FeedforwardError(f"verbose: expected 0, 1 or 2, got {self.verbose!r}")
        return sizes

    def _config(self, sizes) -> config.Config:
        """The estimator's parameters as the options of the config schema (not validated:
        the engine checks each value, and its errors name the parameter)."""
        return config.Config({**config.DEFAULTS, "layers": sizes, "activation": self.activation,
                              "dropout": self.dropout, "l1": self.l1, "l2": self.l2,
                              "scaling": "none", "dtype": "float64", "seed": self._seed()})

    def _hidden_initializer(self):
        """The hidden layers' initializer: the recipe's rule
        (:func:`feedforward.experiment.hidden_initializer`), errors naming the parameter."""
        init = self.kernel_initializer
        if not isinstance(init, str):
            return init
        try:
            return experiment.hidden_initializer(init, self.activation)
        except FeedforwardError as e:
            name = "kernel_initializer" if init != "auto" else "activation"
            raise FeedforwardError(f"{name}: {e}") from None

    def _build(self, n_features):
        sizes = self._check_params()
        init = self._hidden_initializer()
        units, activation, loss = self._output()
        plan = experiment.Plan(self._task(), loss, activation, units, hidden_init=init)
        return self._compile(experiment.network(self._config(sizes), plan, n_features))

    def _seed(self) -> int:
        """A seed drawn from ``random_state`` (the same for the same int)."""
        with _blame("random_state"):
            return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _optimizer(self):
        """A fresh optimizer: a name is built with ``learning_rate``; a config or an
        instance (copied, so fits never share state) keeps its own learning rate."""
        if isinstance(self.optimizer, str):
            return optimizers.get(self.optimizer, learning_rate=self.learning_rate)
        return optimizers.get(copy.deepcopy(self.optimizer))

    def _batch_size(self, n):
        if self.batch_size == "auto":
            return min(200, n)
        if (isinstance(self.batch_size, bool) or not isinstance(self.batch_size, numbers.Integral)
                or self.batch_size < 1):
            raise FeedforwardError(
                f"batch_size: expected a positive integer or 'auto', got {self.batch_size!r}")
        return int(self.batch_size)

    # ------------------------------------------------------------------ training
    def _weights(self, X, y, sample_weight):
        """Per-sample weights, rescaled to mean 1 so the loss scale does not depend on them."""
        with _blame("sample_weight"):
            w = _check_sample_weight(sample_weight, X, dtype=np.float64)
        w = w * self._class_weights(y)
        total = w.sum()
        if total <= 0:
            raise FeedforwardError("sample_weight: expected a positive total weight, got "
                                   f"{total}")
        return w * (len(w) / total)

    def _class_weights(self, y):
        return 1.0

    def _fit(self, X, y, sample_weight, epochs, incremental):
        # at least one: the fitted attributes (loss_, n_iter_) describe the last epoch
        check_number(epochs, "epochs", low=1, integer=True)
        w = self._weights(X, y, sample_weight)
        target = self._encode(y)
        if not (incremental or self.warm_start) or not hasattr(self, "model_"):
            self.model_ = self._build(X.shape[1])
            self.n_iter_, self.loss_curve_ = 0, []
        self._name_model()
        callbacks, score = [], None
        use_validation = self.early_stopping and not incremental
        if use_validation:
            X, Xv, target, _, w, wv, y, yv = self._split(X, target, w, y)
            score = _ValidationScore(lambda: self._score(Xv, yv, wv))
            callbacks = [score, EarlyStopping("val_score", mode="max", patience=self.patience,
                                              restore_best_weights=self.restore_best_weights)]
        # FeedforwardError is a ValueError, which is what scikit-learn's callers expect
        with labels_are_ids():  # encoded by the estimator, whatever classes_ are
            history = self.model_.fit(X, target, epochs=epochs, sample_weight=w,
                                      batch_size=self._batch_size(X.shape[0]),
                                      callbacks=callbacks, verbose=int(self.verbose))
        self.history_ = history.history
        self.loss_curve_ = self.loss_curve_ + history.history["loss"]
        self.n_iter_ += len(history.epoch)
        self.loss_ = self.loss_curve_[-1]
        if use_validation:  # History logs before the score is added: record it here
            self.history_["val_score"] = score.scores
            self.validation_scores_ = score.scores
            self.best_validation_score_ = max(score.scores)
        else:  # as scikit-learn's MLP: no scores of an earlier fit stay
            self.validation_scores_ = self.best_validation_score_ = None
        return self

    def _name_model(self):
        """Give ``model_`` the column names of ``feature_names_in_`` and the class names of
        ``classes_``: a file that ``model_.save`` writes then matches a CSV's columns by
        name and labels its predictions, as a ``feedforward train`` model does."""
        names = getattr(self, "feature_names_in_", None)
        self.model_.feature_names = None if names is None else [str(n) for n in names]
        self.model_.classes = self._class_names()

    def _class_names(self):
        """The classes, in the order of the outputs, as ``model_.classes`` takes them."""
        return None

    def _split(self, X, target, w, y):
        """The training and validation parts of X, the targets, the weights and y."""
        stratify = y if isinstance(self, ClassifierMixin) and y.ndim == 1 else None
        seed = self._seed()
        try:
            parts = train_test_split(X, target, w, y, test_size=self.validation_fraction,
                                     random_state=seed, stratify=stratify)
        except ValueError:  # a class too small to stratify: split at random
            parts = train_test_split(X, target, w, y, test_size=self.validation_fraction,
                                     random_state=seed)
        if len(parts[1]) < 2:  # one row: R2 is undefined, accuracy 0 or 1; nothing to stop on
            raise FeedforwardError(
                f"validation_fraction: {self.validation_fraction} of {len(X)} rows leaves "
                f"{len(parts[1])} validation row(s) for early_stopping, which needs at least 2; "
                "raise validation_fraction, give more rows, or set early_stopping=False")
        return parts

    def _check_X(self, X):
        check_is_fitted(self, "model_")
        return _validate_x(self, X, reset=False)

    # A pickled Sequential would lose the views that tie each layer's parameters to the flat
    # buffer, so the network travels as its config and weights (the optimizer state is lost).
    def __getstate__(self):
        state = dict(super().__getstate__())  # not the live __dict__
        if "model_" in state:
            model = state["model_"]
            state["model_"] = {"config": model.get_config(), "weights": model.get_weights()}
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if isinstance(getattr(self, "model_", None), dict):
            saved = self.model_
            self.model_ = Sequential.from_config(saved["config"])
            # copies: a memory-mapped, read-only array must not become a parameter
            self.model_.set_weights([np.array(w) for w in saved["weights"]])
            self._compile(self.model_)
            self._name_model()

    def _compile(self, model):
        model.compile(optimizer=self._optimizer(), loss=losses.get(self._output()[2]))
        return model

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class NeuralNetClassifier(_NamedScoreErrors, ClassifierMixin, _BaseNeuralNet):
    """A multilayer perceptron classifier trained by feedforward.

    Binary targets use one sigmoid output and binary cross-entropy; more classes a softmax
    layer and categorical cross-entropy; a 2-D 0/1 indicator matrix (multilabel) one sigmoid
    output per label and binary cross-entropy.
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", kernel_initializer="auto",
                 dropout=0.0, optimizer="adam", learning_rate=1e-3, batch_size=32, epochs=200,
                 l1=0.0, l2=1e-4, early_stopping=False, validation_fraction=0.1, patience=10,
                 restore_best_weights=True, class_weight=None, random_state=None, verbose=0,
                 warm_start=False):
        super().__init__(hidden_layer_sizes, activation, kernel_initializer, dropout, optimizer,
                         learning_rate, batch_size, epochs, l1, l2, early_stopping,
                         validation_fraction, patience, restore_best_weights, random_state,
                         verbose, warm_start)
        self.class_weight = class_weight

    @_atomic
    def fit(self, X, y, sample_weight=None):
        """Train on ``X`` of shape (n, features) and ``y`` of shape (n,) or (n, labels).

        Trains for ``epochs`` epochs (fewer with early stopping) from new weights, or from
        the current ones with ``warm_start``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input samples, converted to float64.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a 0/1 indicator matrix for multilabel classification.
        sample_weight : array-like of shape (n_samples,), default None
            Weights of the samples in the loss, rescaled to mean 1 (multiplied by
            ``class_weight``'s); None weighs every sample equally.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        keep = self.warm_start and hasattr(self, "model_")
        X, y = self._validate(X, y, reset=not keep)
        if keep:
            self._keep_classes(y)
        else:
            self._set_classes(y, None)
        return self._fit(X, y, sample_weight, self.epochs, incremental=False)

    @_atomic
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch on ``(X, y)``; the first call needs ``classes`` (all of them).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input samples, converted to float64.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a 0/1 indicator matrix for multilabel classification.
        classes : array-like of shape (n_classes,), default None
            Every class label, required on the first call (unless ``y`` is a multilabel
            indicator matrix), as ``y`` may not hold them all; on later calls, if given, it
            must be the same classes.
        sample_weight : array-like of shape (n_samples,), default None
            Weights of the samples in the loss, rescaled to mean 1 (multiplied by
            ``class_weight``'s); None weighs every sample equally.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        first = not hasattr(self, "model_")
        if first and classes is None and not (np.ndim(y) == 2 and np.shape(y)[1] > 1):
            raise FeedforwardError("classes: expected every class label on the first call "
                                   "to partial_fit, got None")
        X, y = self._validate(X, y, reset=first)
        if not first and classes is not None and not np.array_equal(
                np.unique(classes), self._binarizer.classes_):
            raise FeedforwardError(f"classes: expected {self._binarizer.classes_} as on the "
                                   f"first call, got {np.unique(classes)}")
        if first:
            self._set_classes(y, classes)
        else:
            self._keep_classes(y)
        return self._fit(X, y, sample_weight, 1, incremental=True)

    def _validate(self, X, y, reset):
        return _validate_xy(self, X, y, reset)

    def _set_classes(self, y, classes):
        with _blame("y"):
            check_classification_targets(y)
        kind = type_of_target(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim == 2 and kind != "multilabel-indicator":
            raise FeedforwardError(f"y: expected labels of shape (n,) or a 0/1 multilabel "
                                   f"indicator matrix, got {kind} targets of shape {y.shape}")
        # a multilabel indicator's classes are its columns: a classes= list names nothing more
        by_y = classes is None or kind == "multilabel-indicator"
        self._binarizer = LabelBinarizer().fit(y if by_y else np.asarray(classes))
        self.classes_ = self._binarizer.classes_
        if self._binarizer.y_type_ == "multilabel-indicator":
            self.classes_ = [np.array([0, 1])] * y.shape[1]
        elif len(self.classes_) < 2:
            raise FeedforwardError("y: a classifier needs at least 2 classes, got only one "
                                   f"class, {show(self.classes_[0])}")
        unseen = np.setdiff1d(np.unique(y), self._binarizer.classes_) if y.ndim == 1 else []
        if len(unseen):
            raise FeedforwardError(f"y: labels {unseen} are not in classes "
                                   f"{self._binarizer.classes_}")

    def _keep_classes(self, y):
        """A later call's ``y`` against the first call's classes, which stay (a multilabel
        indicator's binarizer would become a multiclass one if fitted on its label indices)."""
        labels = len(self._binarizer.classes_)
        multilabel = y.ndim == 2 and y.shape[1] > 1
        if self._multilabel != multilabel or (multilabel and y.shape[1] != labels):
            first = (f"a 0/1 indicator matrix of {labels} labels" if self._multilabel else
                     "class labels of shape (n,)")
            raise FeedforwardError(f"y: expected {first}, as on the first call, got targets "
                                   f"of shape {y.shape}")
        if not self._multilabel:
            self._set_classes(y, self._binarizer.classes_)
        else:
            with _blame("y"):
                check_classification_targets(y)

    def _class_names(self):
        # a multilabel model's outputs are labels, each its own yes/no, not classes
        return None if self._multilabel else self.classes_.tolist()

    @property
    def _multilabel(self):
        return self._binarizer.y_type_ == "multilabel-indicator"

    def _task(self):
        return "multilabel" if self._multilabel else "classification"

    def _output(self):
        return experiment.output_for(self._task(), len(self._binarizer.classes_))

    def _encode(self, y):
        y = y.ravel() if y.ndim == 2 and y.shape[1] == 1 else y
        return self._binarizer.transform(y).astype(np.float64)

    def _class_weights(self, y):
        if self.class_weight is None:
            return 1.0
        if self._multilabel:
            raise FeedforwardError("class_weight: not supported for multilabel targets")
        with _blame("class_weight"):
            return compute_sample_weight(self.class_weight, y.ravel())

    def _score(self, X, y, w):
        return accuracy_score(y, self._labels(self._proba(X)), sample_weight=w)

    def _proba(self, X):
        p = self.model_.predict(X)
        return np.hstack([1 - p, p]) if p.shape[1] == 1 and not self._multilabel else p

    def _labels(self, p):
        if self._multilabel:
            return (p > 0.5).astype(int)
        return self.classes_[np.argmax(p, axis=1)]

    def predict_proba(self, X):
        """Class probabilities of shape (n, n_classes) (per-label for multilabel).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input samples, converted to float64.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The probability of each class in the order of ``classes_``, rows summing to 1;
            for multilabel, of shape (n_samples, n_labels), the probability of each label
            being 1.
        """
        return self._proba(self._check_X(X))

    def predict(self, X):
        """Labels of shape (n,), or a 0/1 indicator matrix (n, labels) for multilabel.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input samples, converted to float64.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            The most probable class of each sample; for multilabel, 1 where a label's
            probability exceeds 0.5.
        """
        return self._labels(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class NeuralNetRegressor(_NamedScoreErrors, RegressorMixin, _BaseNeuralNet):
    """A multilayer perceptron regressor trained by feedforward: linear outputs, squared error.
    """

    @_atomic
    def fit(self, X, y, sample_weight=None):
        """Train on ``X`` of shape (n, features) and ``y`` of shape (n,) or (n, outputs).

        Trains for ``epochs`` epochs (fewer with early stopping) from new weights, or from
        the current ones with ``warm_start``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input samples, converted to float64.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.
        sample_weight : array-like of shape (n_samples,), default None
            Weights of the samples in the loss, rescaled to mean 1; None weighs every sample
            equally.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        keep = self.warm_start and hasattr(self, "model_")
        X, y = self._validate_regression(X, y, reset=not keep)
        return self._fit(X, y, sample_weight, self.epochs, incremental=False)

    @_atomic
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch on ``(X, y)``, continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input samples, converted to float64.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values, with as many outputs as on the first call.
        sample_weight : array-like of shape (n_samples,), default None
            Weights of the samples in the loss, rescaled to mean 1; None weighs every sample
            equally.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X, y = self._validate_regression(X, y, reset=not hasattr(self, "model_"))
        return self._fit(X, y, sample_weight, 1, incremental=True)

    def _validate_regression(self, X, y, reset):
        X, y = _validate_xy(self, X, y, reset, y_numeric=True)
        outputs = 1 if y.ndim == 1 else y.shape[1]
        if not reset and outputs != self.n_outputs_:
            raise FeedforwardError(f"y: expected {self.n_outputs_} output(s) as before, got "
                                   f"{outputs}")
        self._ravel, self.n_outputs_ = y.ndim == 1, outputs
        return X, y

    def _task(self):
        return "regression"

    def _output(self):
        return experiment.output_for("regression", targets=self.n_outputs_)

    def _encode(self, y):
        return y.reshape(len(y), -1)

    def _score(self, X, y, w):
        return r2_score(y, self._predict(X), sample_weight=w)

    def _predict(self, X):
        out = self.model_.predict(X)
        return out.ravel() if self._ravel else out

    def predict(self, X):
        """Predictions of shape (n,), or (n, outputs) for multi-output targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input samples, converted to float64.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values, of the shape of the targets ``fit`` was given.
        """
        return self._predict(self._check_X(X))


# The estimators' parameters, written once; each estimator fills in what differs.
_PARAMETERS = """
    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default (100,)
        Units of each hidden ``Dense`` layer.
    activation : str, default "relu"
        Activation of the hidden layers (any feedforward activation name).
    kernel_initializer : str, default "auto"
        Initializer of the hidden layers' kernels (a name, ``small_random`` or an
        initializer); ``"auto"`` is the experiment recipe's rule
        (:func:`feedforward.experiment.hidden_initializer`): ``he_uniform`` for the ReLU
        family, ``lecun_normal`` for selu, ``glorot_uniform`` otherwise. The output layer is
        always ``glorot_uniform``.
    dropout : float in [0, 1), default 0.0
        Dropout rate after every hidden layer.
    optimizer : str, dict or Optimizer, default "adam"
        Any feedforward optimizer. A name is built with ``learning_rate``; a config dict or
        an instance (copied at each ``fit``) keeps its own options and learning rate.
    learning_rate : float, str or dict, default 1e-3
        A float, or a schedule name or config (see :mod:`feedforward.schedules`).
    batch_size : int or "auto", default 32
        Samples per gradient step; ``"auto"`` is ``min(200, n_samples)``, as in
        scikit-learn's MLP.
    epochs : int, default 200
        Passes over the data per ``fit`` (at most, with early stopping).
    l1, l2 : float, default 0.0 and 1e-4
        Penalties on every kernel.
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the data{stratified} and stop when its {score}
        has not improved for ``patience`` epochs. ``partial_fit`` never holds data out.
    validation_fraction : float in (0, 1), default 0.1
        Fraction of the training data held out with ``early_stopping``.
    patience : int, default 10
        Epochs without improvement of the validation score before early stopping ends
        ``fit``.
    restore_best_weights : bool, default True
        With early stopping, end with the weights of the best validation epoch.
{class_weight}    random_state : None, int or RandomState, default None
        Seeds initialization, dropout, shuffling and the validation split; an int gives the
        same network at every ``fit``.
    verbose : {{0, 1, 2}}, default 0
        Progress printed by ``fit``: silent, a progress bar per epoch, or one line per epoch.
    warm_start : bool, default False
        Continue from the previous ``fit``'s weights instead of starting again.

    Attributes
    ----------
{attributes}    n_features_in_, feature_names_in_, n_iter_, loss_, loss_curve_, history_
    validation_scores_, best_validation_score_ : with ``early_stopping``; None without
"""
_CLASS_WEIGHT = """\
    class_weight : None, "balanced" or dict, default None
        Weights of each class in the loss (multiplying ``sample_weight``); ``"balanced"`` is
        ``n / (k * count(class))``; a dict maps labels to weights. Not for multilabel
        targets.
"""
NeuralNetClassifier.__doc__ += _PARAMETERS.format(
    stratified=" (stratified)", score="accuracy", class_weight=_CLASS_WEIGHT,
    attributes="    classes_ : ndarray of shape (n_classes,) (or a list of arrays for "
               "multilabel)\n    model_ : Sequential\n")
NeuralNetRegressor.__doc__ += _PARAMETERS.format(
    stratified="", score="R²", class_weight="",
    attributes="    model_ : Sequential\n    n_outputs_ : int\n")
