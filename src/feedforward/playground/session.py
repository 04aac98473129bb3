"""One playground session: its setup, and the parts that do the work.

- :mod:`.dataset`: the points, the split, custom data and uploads;
- :mod:`.network`: the network the setup describes (the library's output rule);
- :mod:`.driver`: training, on the library's engine, in slices of a time budget;
- :mod:`.editing`: weights, biases and points that the user sets;
- :mod:`.measure`: the scores, the ``frame`` and the step-by-step ``inspect``;
- :mod:`.codegen`: the ``code`` message (a script that recreates the session).

A :class:`Session` keeps them together and decides what a change of setup rebuilds. It is
synchronous and bounded: :meth:`Session.train` stops after a time budget (mid-epoch if need
be, resuming where it left off), so that the server's event loop answers messages between
two calls.
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
from pathlib import Path

import numpy as np

from ..errors import FeedforwardError
from . import dataset, features, measure, network
from .driver import Driver
from .editing import Editing
from .setup import FieldError, merge

# the problem too: custom data gives a classification its classes, a regression its
# targets as written (-1 and +1 are classes 0 and 1, but stay -1 and +1 as targets)
DATA_KEYS = ("dataset", "classes", "problem", "samples", "noise", "train_percent",
             "val_percent", "seed")
MODEL_KEYS = ("features", "layers", "initializer", "problem")
OPTIMIZER_KEYS = ("optimizer", "schedule")
REGULARIZER_KEYS = ("regularization", "reg_rate")


class Session(Editing):
    """A setup, its data and network, and the state of training.

    Parameters
    ----------
    setup : dict, optional
        A partial setup (fields of :data:`~feedforward.playground.setup.DEFAULTS`), checked
        and completed with the defaults. Default None: the default setup.
    callbacks : list of Callback, optional
        Callbacks for every :class:`~feedforward.training.Trainer` the session makes (they
        see its steps and epochs as in ``fit``).

    Attributes
    ----------
    setup : dict
        The complete, checked setup.
    data : dict
        ``{"train" | "val" | "test": (points (n, 2), y (n,))}``; an empty split has n = 0.
    x, y : dict
        Each split's feature columns (n, features) and prepared targets (None when empty).
    model : Sequential
    driver : Driver
        The training of the network: its trainer, curves and early stopping.
    scores : dict
        :meth:`evaluate` of the network as it is.
    running : bool
        Whether the server is training it continuously.
    """

    def __init__(self, setup=None, callbacks=None):
        self.id = secrets.token_urlsafe(16)
        self.setup = merge(None, setup or {})
        self.callbacks = list(callbacks or [])
        self.custom: dataset.Custom | None = None
        self.resets = 0
        self.running = False
        self._build_data()
        self._build_model()

    @property
    def epoch(self) -> int:
        """Epochs since the network was built or reset."""
        return self.driver.epoch

    @property
    def step(self) -> int:
        """Optimizer steps since the network was built or reset."""
        return self.driver.step

    # ------------------------------------------------------------------ building
    def _build_data(self) -> None:
        self.data = dataset.splits(self.setup, self.custom)
        names = self.setup["features"]
        self.x = {s: features.compute(p, names) for s, (p, _) in self.data.items()}
        train = self.x["train"]
        self.inputs = {"mean": train.mean(axis=0).tolist(), "std": train.std(axis=0).tolist()}

    def _build_model(self) -> None:
        self.model = network.build_model(self.setup, self.setup["seed"] + self.resets)
        self.dense = measure.dense_layers(self.model)
        self._prepare_targets()
        self.driver = Driver(self, self.callbacks)

    def _prepare_targets(self) -> None:
        self.y = {s: self.model.prepare_y(y, len(y)) if len(y) else None
                  for s, (_, y) in self.data.items()}

    def rebuild(self, data=False) -> None:
        """A new network from the seed, at epoch 0.

        Parameters
        ----------
        data : bool, default False
            Whether to make the data anew first (the setup or the custom data changed).
        """
        if data:
            self._build_data()
        self.resets = 0  # a link to this setup builds these same weights
        self._build_model()

    def grow_data(self) -> None:
        """The custom data changed: new splits for the same network, which trains on."""
        self._build_data()
        self._prepare_targets()
        self.driver.set_data()
        self.scores = self.evaluate()

    # ------------------------------------------------------------------ control messages
    def apply(self, partial) -> dict:
        """Merge a partial setup; rebuild what it changes.

        A new learning rate or schedule goes to the live optimizer (its moments and step
        count kept); another optimizer, or another of its parameters, compiles a fresh one.
        On an error (a :class:`FieldError` naming the bad field) the session is left as it
        was.

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
            new["classes"] = self.custom.classes()
        changed = {k for k in new if new[k] != self.setup[k]}
        data = bool(changed & set(DATA_KEYS))
        old = self.setup
        with self.transaction():
            self.setup = new
            if data and new["dataset"] == "custom" and changed & {"train_percent",
                                                                  "val_percent", "seed"}:
                self.custom.resplit(new)
            if data or "features" in changed:
                self._build_data()
            if data or changed & set(MODEL_KEYS):
                self.rebuild()
                return {"data": data}
            self._apply_training(changed, old)
        return {"data": False}

    def _apply_training(self, changed, old) -> None:
        """The changes that keep the network and its data."""
        rate_only = {**old["optimizer"], "learning_rate": None} == \
            {**self.setup["optimizer"], "learning_rate": None}
        if changed & set(OPTIMIZER_KEYS) and rate_only:
            network.set_learning_rate(self.model, self.setup)
        elif changed & set(OPTIMIZER_KEYS):
            network.compile_model(self.model, self.setup)
        if changed & set(REGULARIZER_KEYS):
            network.set_regularizers(self.dense, self.setup)
            self.scores = self.evaluate()
        if "batch_size" in changed or (changed & set(OPTIMIZER_KEYS) and not rate_only):
            self.driver.new_trainer()
        if "early_stopping" in changed:
            self.driver.reset_early_stopping()

    @contextlib.contextmanager
    def transaction(self):
        """On an error, put back the session as it was (its attributes, the custom data)."""
        saved = dict(self.__dict__)
        custom = None if self.custom is None else dict(vars(self.custom))
        parts = None if self.custom is None else self.custom.parts.copy()
        try:
            yield
        except Exception:
            self.__dict__.clear()
            self.__dict__.update(saved)
            if custom is not None:
                vars(self.custom).update(custom, parts=parts)
            raise

    def reset(self) -> None:
        """New weights: the seed plus the number of resets; epoch 0."""
        self.resets += 1
        self._build_model()

    def regenerate(self) -> None:
        """New data with the next seed (and, as the seed is also the network's, new weights)."""
        self.apply({"seed": (self.setup["seed"] + 1) % 2**31})

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
        if self.y["train"] is None:
            raise FeedforwardError("train: the training set is empty")
        return self.driver.train(epochs, budget)

    def resume(self) -> None:
        """Before playing again: early stopping counts its patience anew."""
        self.driver.resume()

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
        return measure.evaluate(self.model, self.x, self.y)

    def state(self) -> dict:
        """The ``state`` message: the setup, its output layer, the number of parameters, and
        whether it trains.

        Returns
        -------
        dict
            ``{"type": "state", "setup": dict, "output": dict, "parameters": int,
            "running": bool}``; ``output`` is the network's output layer and loss for the setup,
            ``{"units", "activation", "loss", "metric"}``.
        """
        units, activation, loss, metric = network.output_spec(self.setup["problem"],
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

    def frame(self, doctor=True) -> dict:
        """The ``frame`` message: scores, heatmap, thumbnails, weights, doctor, history.

        The loss history sent is the part not yet sent by an earlier frame.

        Parameters
        ----------
        doctor : bool, default True
            Whether to measure the doctor's statistics and findings anew; False repeats the
            last frame's ``doctor`` (the network's first frame measures them whatever this
            says). Each measurement is one of the records the doctor's rules read.

        Returns
        -------
        dict
            ``{"type": "frame", "epoch", "step", "epoch_progress", "learning_rate", "loss",
            "metric", "heatmap", "neurons", "weights", "biases", "doctor", "confusion",
            "history", "history_reset"}``; ``epoch_progress`` is the share of the epoch in
            progress that is done, in [0, 1); ``learning_rate`` the rate of the optimizer's
            next step (a schedule's, at its step count); ``confusion`` is None unless the
            problem is a classification with test points.
        """
        return measure.frame(self, doctor)

    def inspect(self) -> dict:
        """One batch (the first training rows): each dense layer's z, a and gradients, from the
        network's own forward and backward passes in inference mode; the model's own gradients
        are left unchanged.

        Returns
        -------
        dict
            ``{"type": "inspect", "batch": {"x", "y", "points"}, "layers": [...]}``: the
            batch of at most ``min(batch_size, 64)`` rows, and for each dense layer its
            ``z``, ``a``, ``grad_z``, ``grad_kernel`` and ``grad_bias`` as nested lists.
        """
        return measure.inspect(self)

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
