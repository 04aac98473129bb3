"""One playground session: its setup, data, network, training steps and frames.

Everything here is synchronous and bounded: :meth:`Session.train` stops after a time budget
(mid-epoch if need be, resuming where it left off), so that the server's event loop answers
messages between two calls. The network is an ``ff.Sequential`` of ``Dense`` (and
``Dropout``) layers fed the feature columns of :mod:`.features`; the output layer follows the
problem: sigmoid with binary cross-entropy for two classes, softmax with categorical
cross-entropy for three or more, linear with MSE for regression.
"""

from __future__ import annotations

import contextlib
import math
import secrets
import tempfile
import time
from pathlib import Path

import numpy as np

from .. import initializers, metrics, regularizers
from ..data import playground as datasets
from ..data.batching import BatchIterator
from ..errors import FeedforwardError
from ..layers import Dense, Dropout
from ..model import Diverged, Sequential
from . import features, frames
from .setup import (
    MAX_POINTS,
    SMALL_RANDOM_STDDEV,
    FieldError,
    build_optimizer,
    build_schedule,
    check_float,
    check_integer,
    merge,
)

SPLITS = ("train", "val", "test")
DATA_KEYS = ("dataset", "classes", "samples", "noise", "train_percent", "val_percent", "seed")
MODEL_KEYS = ("features", "layers", "initializer", "problem")
OPTIMIZER_KEYS = ("optimizer", "schedule")
REGULARIZER_KEYS = ("regularization", "reg_rate")
CURVE_LENGTH = 1000  # epochs of loss curves kept for the doctor's rules
INSPECT_ROWS = 64  # rows of the batch that ``inspect`` shows
REMEDY = "Lower the learning rate, use a smaller initialization, or set clipnorm."


def split_indices(n, train_percent, val_percent, seed):
    """Indices of the training, validation and test points of ``n`` points.

    ``train_percent`` of the points (rounded) are for training, the rest for testing; then
    ``val_percent`` of the training part is held out for validation.
    """
    order = np.random.default_rng(seed).permutation(n)
    n_train = int(round(n * train_percent / 100))
    n_val = int(round(n_train * val_percent / 100))
    return order[:n_train - n_val], order[n_train - n_val:n_train], order[n_train:]


def kernel_initializer(name):
    """The initializer called ``name``; ``small_random`` is N(0, 0.1^2)."""
    if name == "small_random":
        return initializers.RandomNormal(stddev=SMALL_RANDOM_STDDEV)
    return initializers.get(name)


def kernel_regularizer(kind, rate):
    """L1 or L2 of ``rate`` on every kernel, or None."""
    if kind == "none" or rate == 0:
        return None
    return regularizers.L1(rate) if kind == "l1" else regularizers.L2(rate)


def output_spec(problem, classes) -> tuple[int, str, str, str]:
    """``(units, activation, loss, metric)`` of the output layer for the problem."""
    if problem == "regression":
        return 1, "linear", "mse", "r2"
    if classes == 2:
        return 1, "sigmoid", "binary_crossentropy", "accuracy"
    return classes, "softmax", "categorical_crossentropy", "accuracy"


def build_model(setup, seed) -> Sequential:
    """The setup's network, built for its features and compiled with its optimizer."""
    init = kernel_initializer(setup["initializer"])
    reg = kernel_regularizer(setup["regularization"], setup["reg_rate"])
    layers = []
    for spec in setup["layers"]:
        layers.append(Dense(spec["units"], activation=spec["activation"],
                            kernel_initializer=init, kernel_regularizer=reg))
        if spec["dropout"] > 0:
            layers.append(Dropout(spec["dropout"]))
    units, activation, _, _ = output_spec(setup["problem"], setup["classes"])
    layers.append(Dense(units, activation=activation, kernel_initializer=init,
                        kernel_regularizer=reg))
    model = Sequential(layers, input_dim=len(setup["features"]), seed=seed)
    compile_model(model, setup)
    return model


def compile_model(model, setup) -> None:
    """Compile with a fresh optimizer (and schedule) of the setup."""
    _, _, loss, metric = output_spec(setup["problem"], setup["classes"])
    optimizer = build_optimizer(setup["optimizer"], build_schedule(setup["schedule"]))
    model.compile(optimizer=optimizer, loss=loss, metrics=[metric])


class Custom:
    """A custom dataset: points (n, 2), labels (n,), each point's split (0, 1, 2), and the
    problem it was made for."""

    def __init__(self, points, labels, parts, problem):
        self.problem = problem
        self.points = np.asarray(points, dtype=np.float64)
        self.labels = np.asarray(labels, dtype=np.int64 if problem == "classification"
                                 else np.float64)
        self.parts = np.asarray(parts, dtype=np.int64)

    def resplit(self, setup) -> None:
        self.parts = np.zeros(len(self.points), dtype=np.int64)
        _, val, test = split_indices(len(self.points), setup["train_percent"],
                                     setup["val_percent"], setup["seed"])
        self.parts[val], self.parts[test] = 1, 2


class Session:
    """A setup, its data and network, and the state of training.

    Parameters
    ----------
    setup : dict, optional
        A partial setup (fields of :data:`~feedforward.playground.setup.DEFAULTS`), checked
        and completed with the defaults. Default None: the default setup.

    Attributes
    ----------
    setup : dict
        The complete, checked setup.
    data : dict
        ``{"train" | "val" | "test": (points (n, 2), y (n,))}``; an empty split has n = 0.
    model : Sequential
    epoch, step : int
        Epochs and optimizer steps since the network was built or reset.
    running : bool
        Whether the server is training it continuously.
    """

    def __init__(self, setup=None):
        self.id = secrets.token_urlsafe(16)
        self.setup = merge(None, setup or {})
        self.custom: Custom | None = None
        self.resets = 0
        self.running = False
        self._build_data()
        self._build_model()

    # ------------------------------------------------------------------ building
    def _build_data(self) -> None:
        setup = self.setup
        if setup["dataset"] == "custom":
            c = self.custom
            c.problem = setup["problem"]
            labels = c.labels.astype(np.int64 if c.problem == "classification" else np.float64)
            self.data = {s: (c.points[c.parts == i], labels[c.parts == i])
                         for i, s in enumerate(SPLITS)}
        else:
            points, y = self.generate(setup)
            idx = split_indices(len(points), setup["train_percent"], setup["val_percent"],
                                setup["seed"])
            self.data = {s: (points[i], y[i]) for s, i in zip(SPLITS, idx, strict=True)}
        n = sum(len(y) for _, y in self.data.values())
        if not len(self.data["train"][1]):
            raise FieldError("setup.train_percent", f"{setup['train_percent']} % of {n} points "
                                                    "leaves no training point")
        names = setup["features"]
        self.x = {s: features.compute(p, names) for s, (p, _) in self.data.items()}
        train = self.x["train"]
        self.inputs = {"mean": train.mean(axis=0).tolist(), "std": train.std(axis=0).tolist()}

    @staticmethod
    def generate(setup):
        """The points and labels (or targets) of a built-in dataset."""
        kwargs = {"classes": setup["classes"]} if setup["dataset"] in ("gaussian", "spiral") \
            else {}
        return datasets.get(setup["dataset"])(setup["samples"], setup["noise"] / 100,
                                              setup["seed"], **kwargs)

    def _build_model(self) -> None:
        self.model = build_model(self.setup, self.setup["seed"] + self.resets)
        self.dense = [layer for layer in self.model.layers if isinstance(layer, Dense)]
        self._prepare_targets()
        self._restart()

    def _prepare_targets(self) -> None:
        self.y = {s: self.model.prepare_y(y, len(y)) if len(y) else None
                  for s, (_, y) in self.data.items()}
        self._new_batches()

    def _new_batches(self) -> None:
        x, y = self.x["train"], self.y["train"]
        self.batches = (BatchIterator(x, y, self.setup["batch_size"], shuffle=True,
                                      rng=self.model.rngs["shuffle"]) if len(x) else None)
        self._iterator = None

    def _restart(self) -> None:
        """Epoch 0: clear the curves, early stopping and the last good weights."""
        self.epoch = self.step = 0
        self._iterator = None
        self.curves = {"epoch": [], "train": [], "val": [], "test": [], "accuracy": []}
        self.pending = {"epoch": [], "train": [], "val": [], "test": []}
        self.history_reset = True
        self._good = self.model.params.copy()
        self._best = (math.inf, 0, None)  # monitored loss, its epoch, its weights
        self._wait = 0
        self.scores = self.evaluate()
        self._record(self.scores)

    # ------------------------------------------------------------------ control messages
    def apply(self, partial) -> dict:
        """Merge a partial setup; rebuild what it changes.

        On an error (a :class:`FieldError` naming the bad field) the session is left as it was.

        Parameters
        ----------
        partial : dict
            Setup fields to change; the others keep their current values.

        Returns
        -------
        dict
            ``{"data": bool}``: whether the data changed (and with it the network, rebuilt).
        """
        new = merge(self.setup, partial)
        if new["dataset"] == "custom" and self.custom is None:
            raise FieldError("setup.dataset", "no custom data yet; upload a CSV file or add "
                                              "points first")
        if new["dataset"] == "custom" != self.setup["dataset"] and "problem" not in partial:
            new["problem"] = self.custom.problem  # back to the custom data: its own problem
        if new["dataset"] == "custom" and new["problem"] == "classification":
            self._check_custom_classes(new)
        changed = {k for k in new if new[k] != self.setup[k]}
        data = bool(changed & set(DATA_KEYS))
        old = self.setup
        with self._transaction():
            self.setup = new
            if data and new["dataset"] == "custom" and changed & {"train_percent",
                                                                  "val_percent", "seed"}:
                self.custom.resplit(new)
            if data or "features" in changed:
                self._build_data()
            if data or changed & set(MODEL_KEYS):
                self.resets = 0  # a link to this setup builds these same weights
                self._build_model()
                return {"data": data}
            if changed & set(OPTIMIZER_KEYS):
                self._set_optimizer(old["optimizer"])
            if changed & set(REGULARIZER_KEYS):
                self._set_regularizers()
            if "batch_size" in changed:
                self._new_batches()
            if "early_stopping" in changed:
                self._best, self._wait = (math.inf, 0, None), 0
        return {"data": False}

    @contextlib.contextmanager
    def _transaction(self):
        """On an error, put back the session as it was (its attributes, the custom split)."""
        saved = dict(self.__dict__)
        parts = None if self.custom is None else self.custom.parts.copy()
        try:
            yield
        except Exception:
            self.__dict__.clear()
            self.__dict__.update(saved)
            if parts is not None:
                self.custom.parts = parts
            raise

    def _set_optimizer(self, old) -> None:
        """A new learning rate or schedule goes to the live optimizer, which keeps its moments
        and step count (a schedule goes on from that step), as the TensorFlow Playground reads
        the rate at each update; another optimizer, or other parameters, start a fresh one."""
        new = self.setup["optimizer"]
        if {**old, "learning_rate": None} != {**new, "learning_rate": None}:
            compile_model(self.model, self.setup)
            return
        schedule = build_schedule(self.setup["schedule"])
        self.model.optimizer.learning_rate = new["learning_rate"] if schedule is None \
            else schedule

    def _check_custom_classes(self, setup) -> None:
        labels = self.custom.labels
        if not np.all(labels == np.round(labels)) or labels.min() < 0 or labels.max() > 5:
            raise FieldError("setup.problem", "classification needs labels 0 to 5; the custom "
                                              "data has other values")
        setup["classes"] = max(2, int(labels.max()) + 1)

    def _set_regularizers(self) -> None:
        reg = kernel_regularizer(self.setup["regularization"], self.setup["reg_rate"])
        for layer in self.dense:
            layer.regularizers.pop("kernel", None)
            if reg is not None:
                layer.regularizers["kernel"] = reg
        self.scores = self.evaluate()

    def reset(self) -> None:
        """New weights: the seed plus the number of resets; epoch 0."""
        self.resets += 1
        self._build_model()

    def regenerate(self) -> None:
        """New data with the next seed (and, as the seed is also the network's, new weights)."""
        self.apply({"seed": (self.setup["seed"] + 1) % 2**31})

    def set_weight(self, layer, i, j, value) -> None:
        """Set one kernel entry of a dense layer and re-evaluate the network.

        Parameters
        ----------
        layer : int
            Index of the dense layer, the output layer included (0 is the first hidden layer).
        i : int
            The input unit the weight leaves (row of the kernel).
        j : int
            The unit of ``layer`` the weight enters (column of the kernel).
        value : float
            The new weight, in [-1000, 1000].
        """
        kernel = self._dense(layer).params["kernel"]
        i = check_integer(i, "from", 0, kernel.shape[0] - 1)
        j = check_integer(j, "to", 0, kernel.shape[1] - 1)
        kernel[i, j] = check_float(value, "value", -1e3, 1e3)
        self._changed_weights()

    def set_bias(self, layer, unit, value) -> None:
        """Set one bias of a dense layer and re-evaluate the network.

        Parameters
        ----------
        layer : int
            Index of the dense layer, the output layer included (0 is the first hidden layer).
        unit : int
            The unit of ``layer`` whose bias to set.
        value : float
            The new bias, in [-1000, 1000].
        """
        bias = self._dense(layer).params["bias"]
        unit = check_integer(unit, "unit", 0, bias.shape[0] - 1)
        bias[unit] = check_float(value, "value", -1e3, 1e3)
        self._changed_weights()

    def _dense(self, layer):
        return self.dense[check_integer(layer, "layer", 0, len(self.dense) - 1)]

    def _changed_weights(self) -> None:
        if np.isfinite(self.model.params).all():  # else the last good weights stay
            self._good = self.model.params.copy()
        self.scores = self.evaluate()

    def upload(self, csv) -> None:
        """Make the rows ``x1,x2,label`` of ``csv`` the (custom) dataset.

        Labels 0 to 5 (or the Playground's -1 and +1) make a classification problem, other
        values a regression. The network is rebuilt for the new data.

        Parameters
        ----------
        csv : str
            The file's text: rows of three numbers ``x1,x2,label``, with an optional header
            line.
        """
        points, labels = parse_csv(csv)
        if set(np.unique(labels)) <= {-1.0, 1.0}:
            labels = (labels > 0).astype(np.float64)
        classify = bool(np.all(labels == np.round(labels)) and labels.min() >= 0
                        and labels.max() <= 5)
        custom = Custom(points, labels, np.zeros(len(points)),
                        "classification" if classify else "regression")
        custom.resplit(self.setup)
        with self._transaction():
            self.custom = custom
            self.setup = merge(self.setup, {"dataset": "custom", "problem": custom.problem})
            if classify:
                self._check_custom_classes(self.setup)
            self._build_data()
            self.resets = 0
            self._build_model()

    def add_point(self, x1, x2, label) -> None:
        """Add a training point to the custom dataset (a copy of the current data at first).

        The network keeps its weights; only its data grows, up to
        :data:`~feedforward.playground.setup.MAX_POINTS` points.

        Parameters
        ----------
        x1, x2 : float
            The point's coordinates, in the Playground's input square [-6, 6].
        label : int or float
            A class in 0 to ``classes - 1`` for classification, a target in [-10, 10] for
            regression.
        """
        x1 = check_float(x1, "x1", datasets.LOW, datasets.HIGH)
        x2 = check_float(x2, "x2", datasets.LOW, datasets.HIGH)
        if self.setup["problem"] == "classification":
            label = check_integer(label, "label", 0, self.setup["classes"] - 1)
        else:
            label = check_float(label, "label", -10, 10)
        points = sum(len(y) for _, y in self.data.values())
        if points >= MAX_POINTS:
            raise FieldError(None, f"add_point: the data has {points:,} points, the most the "
                                   "playground takes; upload a CSV file or pick a dataset to "
                                   "start again")
        with self._transaction():
            self._add_point(x1, x2, label)

    def _add_point(self, x1, x2, label) -> None:
        if self.setup["dataset"] != "custom":
            self.custom = Custom(np.concatenate([self.data[s][0] for s in SPLITS]),
                                 np.concatenate([self.data[s][1] for s in SPLITS]),
                                 np.repeat([0, 1, 2], [len(self.data[s][0]) for s in SPLITS]),
                                 self.setup["problem"])
            self.setup = {**self.setup, "dataset": "custom"}
        c = self.custom
        c.points = np.vstack([c.points, [[x1, x2]]])
        c.problem = self.setup["problem"]
        c.labels = np.append(c.labels, label).astype(
            np.int64 if c.problem == "classification" else np.float64)
        c.parts = np.append(c.parts, 0)
        self._build_data()
        self._prepare_targets()  # same network, more data
        self.scores = self.evaluate()

    # ------------------------------------------------------------------ training
    def train(self, epochs, budget=None):
        """Train until ``epochs`` more epochs end, or ``budget`` seconds have passed.

        An epoch cut short by the budget resumes at the next call.

        Parameters
        ----------
        epochs : int
            The most epochs to complete.
        budget : float, optional
            The most seconds to train for (checked after each batch). Default None: no limit.

        Returns
        -------
        done : int
            Epochs completed.
        stop : tuple (reason, message) or None
            ``("early_stopping", ...)`` or ``("diverged", ...)`` when training must stop.
        """
        if self.batches is None:
            raise FeedforwardError("train: the training set is empty")
        deadline = math.inf if budget is None else time.perf_counter() + budget
        with np.errstate(all="ignore"):  # overflow is caught as divergence, not warned
            return self._train(epochs, deadline)

    def _train(self, epochs, deadline):
        done = 0
        while done < epochs:
            if self._iterator is None:
                self._iterator = iter(self.batches)
            for xb, yb in self._iterator:
                try:
                    self.model.train_step(xb, yb)
                except Diverged as e:
                    return done, self._diverged(str(e))
                self.step += 1
                if time.perf_counter() > deadline:
                    return done, self._overflowed()
            self._iterator = None
            self.epoch += 1
            done += 1
            stop = self._end_epoch()
            if stop is not None:
                return done, stop
        return done, None

    def _overflowed(self):
        """Diverged, when the last update made a weight non-finite while its batch's loss was
        finite; else None. A slice never ends on such weights: they are what an export, a
        frame or an edited weight between two slices would see."""
        if np.isfinite(self.model.params).all():
            return None
        return self._diverged(f"training diverged: an update made the weights overflow at "
                              f"epoch {self.epoch}. {REMEDY}")

    def _end_epoch(self):
        scores = self.evaluate()
        losses = [v["loss"] for v in scores.values() if v is not None]
        if not all(map(math.isfinite, losses)):
            return self._diverged(f"training diverged: the loss became {losses[0]} at epoch "
                                  f"{self.epoch}. {REMEDY}")
        stop = self._overflowed()
        if stop is not None:
            return stop
        self.scores = scores
        self._good = self.model.params.copy()
        self._record(scores)
        return self._early_stopping(scores)

    def _record(self, scores) -> None:
        point = {"epoch": self.epoch, **{s: None if v is None else v["loss"]
                                         for s, v in scores.items()}}
        for key, value in point.items():
            self.pending[key].append(value)
            self.curves[key].append(value)
        train = scores["train"]
        self.curves["accuracy"].append(
            train["metric"] if train and self.setup["problem"] == "classification" else None)
        for values in self.curves.values():
            if len(values) > CURVE_LENGTH:  # the first value stays: rules compare with it
                del values[1]

    def _monitored(self):
        return "val" if self.scores.get("val") is not None else "test"

    def _early_stopping(self, scores):
        patience = self.setup["early_stopping"]
        split = self._monitored()
        if not patience or scores[split] is None:
            return None
        loss = scores[split]["loss"]
        if loss < self._best[0]:
            self._best, self._wait = (loss, self.epoch, self.model.params.copy()), 0
            return None
        self._wait += 1
        if self._wait < patience:
            return None
        best, epoch, weights = self._best
        self.model.params[...] = weights
        self._good = weights.copy()
        self.scores = self.evaluate()
        self.running = False
        name = "validation" if split == "val" else "test"
        return ("early_stopping",
                f"early stopping at epoch {self.epoch}: the {name} loss has not improved for "
                f"{patience} epochs; the weights of epoch {epoch} (loss {best:.4g}) are restored")

    def resume(self) -> None:
        """Before playing again: early stopping counts its patience anew."""
        self._wait = 0

    def _diverged(self, message):
        """Restore the last good weights, with a fresh optimizer; stop."""
        self.model.params[...] = self._good
        compile_model(self.model, self.setup)
        self._iterator = None
        self.running = False
        self.scores = self.evaluate()
        return "diverged", f"{message} The weights of epoch {self.epoch} are restored."

    # ------------------------------------------------------------------ measuring
    def evaluate(self) -> dict:
        """The loss and metric on every split, in inference mode.

        Returns
        -------
        dict
            ``{split: {"loss": float, "metric": float} or None}`` for ``"train"``, ``"val"``
            and ``"test"``; None for an empty split. The metric is accuracy for
            classification, R² for regression.
        """
        scores = {}
        for split in SPLITS:
            x, y = self.x[split], self.y[split]
            if y is None:
                scores[split] = None
                continue
            with np.errstate(all="ignore"):
                result = self.model.evaluate(x, y, return_dict=True)
            values = list(result.values())
            scores[split] = {"loss": float(values[0]), "metric": float(values[1])}
        return scores

    def state(self) -> dict:
        """The ``state`` message: the setup, the number of parameters, whether it trains.

        Returns
        -------
        dict
            ``{"type": "state", "setup": dict, "output": dict, "parameters": int,
            "running": bool}``; ``output`` is the network's output layer and loss for the setup,
            ``{"units", "activation", "loss", "metric"}``.
        """
        units, activation, loss, metric = output_spec(self.setup["problem"],
                                                      self.setup["classes"])
        return {"type": "state", "setup": self.setup,
                "output": {"units": units, "activation": activation, "loss": loss,
                           "metric": metric},
                "parameters": self.model.count_params(), "running": self.running}

    def data_message(self) -> dict:
        """The ``data`` message: the points of every split.

        Returns
        -------
        dict
            ``{"type": "data", "train" | "val" | "test": rows [x1, x2, y]}``, each a list of
            n lists of 3 numbers.
        """
        return {"type": "data", **{s: np.column_stack([p, y]).tolist()
                                   for s, (p, y) in self.data.items()}}

    def frame(self) -> dict:
        """The ``frame`` message: scores, heatmap, thumbnails, weights, doctor, history.

        The loss history sent is the part not yet sent by an earlier frame.

        Returns
        -------
        dict
            ``{"type": "frame", "epoch", "step", "loss", "metric", "heatmap", "neurons",
            "weights", "biases", "doctor", "confusion", "history", "history_reset"}``;
            ``confusion`` is None unless the problem is a classification with test points.
        """
        setup = self.setup
        size, names = setup["grid"], tuple(setup["features"])
        heat_x = frames.grid_features(size, names)
        thumb_x = frames.grid_features(frames.THUMBNAIL, names)
        n_heat, n_thumb = len(heat_x), len(thumb_x)
        x = np.concatenate([heat_x, thumb_x, self.x["train"], self.x["test"]])
        outputs = self._dense_outputs(x)
        out = outputs[-1]
        message = {"type": "frame", "epoch": self.epoch, "step": self.step,
                   **self._score_fields(),
                   "heatmap": frames.pack(self._heatmap(out[:n_heat], size)),
                   "neurons": [frames.thumbnails(thumb_x)],
                   "weights": [frames.rounded(d.params["kernel"]) for d in self.dense],
                   "biases": [frames.rounded(d.params["bias"]) for d in self.dense]}
        probe = slice(n_heat, n_heat + n_thumb + len(self.x["train"]))
        message["doctor"] = self._doctor([o[probe] for o in outputs])
        for o in outputs[:-1]:
            message["neurons"].append(frames.thumbnails(o[n_heat:n_heat + n_thumb]))
        test = out[len(x) - len(self.x["test"]):]
        message["confusion"] = self._confusion(test)
        message["history"] = self.pending
        message["history_reset"] = self.history_reset
        self.pending = {k: [] for k in self.pending}
        self.history_reset = False
        return message

    def _score_fields(self) -> dict:
        s = self.scores
        name = "accuracy" if self.setup["problem"] == "classification" else "r2"
        return {"loss": {k: None if v is None else v["loss"] for k, v in s.items()},
                "metric": {"name": name,
                           **{k: None if v is None else v["metric"] for k, v in s.items()}}}

    def _dense_outputs(self, x) -> list:
        """Each dense layer's outputs (after its activation) for inputs ``x``, inference mode.

        The arrays are the layers' own buffers: valid until the next forward pass.
        """
        outputs = []
        with np.errstate(all="ignore"):
            for layer in self.model.layers:
                x = layer.forward(x, False)
                if isinstance(layer, Dense):
                    outputs.append(x)
        return outputs

    def _heatmap(self, out, size) -> np.ndarray:
        if self.setup["problem"] == "regression":
            return out[:, 0].reshape(size, size)
        if out.shape[1] == 1:
            return (2 * out[:, 0] - 1).reshape(size, size)
        return out.reshape(size, size, -1)

    def _confusion(self, test_out):
        y = self.data["test"][1]
        if self.setup["problem"] != "classification" or len(y) == 0:
            return None
        return metrics.confusion_matrix(y, test_out, self.setup["classes"]).tolist()

    def _doctor(self, probe_outputs) -> dict:
        dead, saturated, entries, norms = [], [], [], []
        last = len(self.dense) - 1
        model = self.model
        for i, (layer, y) in enumerate(zip(self.dense, probe_outputs, strict=True)):
            size = layer.count_params()
            start = _offset(model, layer)
            params = model.params[start:start + size]
            grads = model.grads[start:start + size]
            entries.append(frames.layer_record(i, layer, y, params, grads, hidden=i < last))
            norms.append(float(np.linalg.norm(grads)))
            if i < last:
                d, s = frames.unit_flags(i, layer.activation.name, y)
                dead += d
                saturated += s
        c = self.curves
        curves = {"loss": c["train"], "val_loss": c[self._monitored()], "accuracy": c["accuracy"]}
        curves = {k: v for k, v in curves.items() if None not in v}  # whole curves only
        record = {"epoch": self.epoch, "step": self.step, "layers": entries}
        return {"dead": dead, "saturated": saturated, "grad_norms": norms,
                "findings": frames.findings(record, curves, self.inputs)}

    def inspect(self) -> dict:
        """One batch (the first training rows): each dense layer's z, a and gradients.

        The gradients are computed in inference mode and leave the model's own unchanged.

        Returns
        -------
        dict
            ``{"type": "inspect", "batch": {"x", "y", "points"}, "layers": [...]}``: the
            batch of at most ``min(batch_size, 64)`` rows, and for each dense layer its
            ``z``, ``a``, ``grad_z``, ``grad_kernel`` and ``grad_bias`` as nested lists.
        """
        model = self.model
        if self.y["train"] is None:
            raise FeedforwardError("inspect: the training set is empty")
        x = self.x["train"][:min(self.setup["batch_size"], INSPECT_ROWS)]
        y = self.y["train"][:len(x)]
        saved = model.grads.copy()
        try:
            with np.errstate(all="ignore"):
                model.compute_gradients(x, y, training=False)
            layers = []
            grad_z = _grad_z(model, y)
            for layer, gz in zip(self.dense, grad_z, strict=True):
                layers.append({"z": frames.rounded(layer.z), "a": frames.rounded(layer.y),
                               "grad_z": frames.rounded(gz),
                               "grad_kernel": frames.rounded(layer.grads["kernel"]),
                               "grad_bias": frames.rounded(layer.grads["bias"])})
        finally:
            model.grads[...] = saved
        return {"type": "inspect",
                "batch": {"x": frames.rounded(x), "y": self.data["train"][1][:len(x)].tolist(),
                          "points": frames.rounded(self.data["train"][0][:len(x)])},
                "layers": layers}

    def export(self) -> bytes:
        """The model file (safetensors) of the network as it is now.

        Returns
        -------
        bytes
            The file's content, as written by :meth:`Sequential.save`.

        Raises
        ------
        FeedforwardError
            When the weights are not finite (a diverged network is not a model).
        """
        if not np.isfinite(self.model.params).all():
            raise FeedforwardError("export: the network's weights are not finite (training "
                                   "diverged); reset the network, or lower the learning rate")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "model.safetensors"
            self.model.save(path)
            return path.read_bytes()


def _offset(model, layer) -> int:
    """Where ``layer``'s parameters start in the model's flat buffer."""
    start = 0
    for other in model.layers:
        if other is layer:
            return start
        start += other.count_params()
    raise FeedforwardError("layer: not in the model")


def _grad_z(model, y) -> list:
    """dL/dz of each dense layer, from the values cached by the last forward pass.

    The chain rule as the model's backward pass applies it (without penalty terms):
    ``dL/dz = f'(z) * (dL/dz_next @ kernel_next.T)``; Dropout in inference is the identity.
    """
    last = model.layers[-1]
    if model.fused:
        grad_z = model.loss._fused_gradient(last.y, y)
    else:
        grad_z = last.activation.backward(last.z, last.y, model.loss._gradient(last.y, y))
    result = [np.array(grad_z)]
    grad_y = grad_z @ last.params["kernel"].T
    for layer in reversed(model.layers[:-1]):
        if isinstance(layer, Dense):
            grad_z = np.array(layer.activation.backward(layer.z, layer.y, grad_y))
            result.append(grad_z)
            grad_y = grad_z @ layer.params["kernel"].T
    return result[::-1]


def parse_csv(text):
    """Rows ``x1,x2,label`` of ``text`` (a header line is optional) as (points, labels)."""
    from .setup import MAX_CSV_VALUE, MAX_UPLOAD_ROWS

    if not isinstance(text, str):
        raise FieldError("csv", f"expected text, got {type(text).__name__}")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    rows = []
    for number, line in enumerate(lines, 1):
        cells = [c.strip() for c in line.split(",")]
        try:
            values = [float(c) for c in cells]
        except ValueError:
            if number == 1:
                continue  # the header
            raise FieldError("csv", f"line {number}: expected three numbers x1,x2,label, got "
                                    f"{line[:60]!r}") from None
        if len(values) != 3:
            raise FieldError("csv", f"line {number}: expected 3 columns x1,x2,label, got "
                                    f"{len(values)}")
        if not all(abs(v) <= MAX_CSV_VALUE for v in values):  # NaN included
            raise FieldError("csv", f"line {number}: expected finite numbers from "
                                    f"{-MAX_CSV_VALUE:g} to {MAX_CSV_VALUE:g}, got {line[:60]!r}")
        rows.append(values)
        if len(rows) > MAX_UPLOAD_ROWS:
            raise FieldError("csv", f"expected at most {MAX_UPLOAD_ROWS} rows, got more")
    if len(rows) < 2:
        raise FieldError("csv", f"expected at least 2 rows x1,x2,label, got {len(rows)}")
    data = np.array(rows)
    return data[:, :2], data[:, 2]
