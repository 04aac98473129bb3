"""Where training batches come from: arrays, or a stream of batches.

The :class:`~feedforward.training.Trainer` takes every batch from one source, as a triple
``(x_batch, y_batch, w_batch)`` (``w_batch`` None when unweighted), with ``x_batch`` raw when
the source's ``raw`` is true (the trainer then augments and transforms each batch):

- :class:`ArraySource`: arrays in memory or memory-mapped (``np.memmap``), batched by
  :class:`~feedforward.data.batching.BatchIterator` (one permutation per epoch);
- :class:`StreamSource`: a Keras-``PyDataset``-like object (``__len__`` and
  ``__getitem__(i) -> (x, y)`` or ``(x, y, sample_weight)``, ``on_epoch_end()`` called after
  each epoch when it has one), a re-iterable of such batches (a list, or an object whose
  ``__iter__`` starts afresh), or an iterator (a generator), which is read once.

A stream's batches are checked and prepared one at a time, so its data never need to fit in
memory together.
"""

from __future__ import annotations

import numpy as np

from ..errors import FeedforwardError, check_number, describe
from .batching import BatchIterator


class ArraySource:
    """Batches of ``(x, y)`` arrays and optional per-sample weights.

    Parameters
    ----------
    x : ndarray of shape (n, features)
        Prepared inputs, or raw ones when ``raw`` (a memory map stays on disk: no copy).
    y : ndarray of shape (n, outputs)
        Prepared targets.
    sample_weight : ndarray of shape (n,), optional
        Per-sample weights.
    raw : bool, default False
        Whether ``x`` holds raw inputs, transformed batch by batch.
    """

    streamed = False

    def __init__(self, x, y, sample_weight=None, raw=False):
        self.x, self.y, self.sample_weight, self.raw = x, y, sample_weight, raw
        self.steps = self._loader = None

    def start(self, batch_size, shuffle, rng) -> int:
        """Set the batching; returns the batch size used (at most ``n``)."""
        self._loader = BatchIterator(self.x, self.y, batch_size, shuffle, rng=rng,
                                     sample_weight=self.sample_weight)
        self.steps = len(self._loader)
        return self._loader.batch_size

    def epoch(self):
        """One epoch's batches ``(x, y, w)``."""
        for batch in self._loader:
            yield batch if len(batch) == 3 else (*batch, None)

    def end_epoch(self):
        """Nothing to do: arrays have no epoch hook."""

    def sample(self, n):
        """The first ``n`` rows ``(x, y)``, as the trainer holds them."""
        return self.x[:n], self.y[:n]


class StreamSource:
    """Batches from a PyDataset-like object, a re-iterable or an iterator of batches.

    Parameters
    ----------
    data : object
        See :func:`is_stream`.
    model : Sequential
        Compiled; an unbuilt one is built from the first batch's width.
    steps_per_epoch : int, optional
        Batches per epoch. Without it an epoch is one full pass, and an iterator gives one
        epoch only. With it the stream continues across epochs: a PyDataset or re-iterable
        starts a new pass when one ends; an iterator that ends first is an error.
    shuffle : bool
        For a PyDataset: the order of its batches is drawn anew every epoch (as in Keras);
        ignored otherwise (the stream gives its own order, as Keras ignores it).
    rng : numpy.random.Generator
        The model's shuffling stream.
    class_weight : dict, optional
        ``{class: weight}`` applied to every batch (see
        :func:`feedforward.weighting.class_weights`); refused with batches that carry weights.

    Attributes
    ----------
    steps : int or None
        Batches per epoch; None while unknown (an iterable without ``len``).
    first : tuple (x, y, w)
        The first batch, raw inputs and prepared targets: the sample that callbacks get.
    """

    streamed, raw, x, y = True, True, None, None

    def __init__(self, data, model, steps_per_epoch=None, shuffle=False, rng=None,
                 class_weight=None):
        self.data, self.model, self.rng = data, model, rng
        self.indexed = _indexed(data)
        self.once = iter(data) is data if not self.indexed else False
        self.shuffle = bool(shuffle) and self.indexed
        self.class_weight, self.fixed = None, steps_per_epoch is not None
        length = len(data) if hasattr(data, "__len__") else None
        if length == 0:
            raise FeedforwardError("x: the stream holds no batch")
        self.steps = steps_per_epoch if self.fixed else length
        self._pass, self._count = None, 0
        self.first = self._peek()  # builds an unbuilt model: the class weights need it
        if class_weight is not None:
            from ..weighting import class_weights
            self.class_weight = class_weights(model, class_weight)
            if self.first[2] is not None:
                raise FeedforwardError("class_weight: cannot be combined with sample weights, "
                                       "and x's batches carry them (as in Keras)")
            self.first = (*self.first[:2], self.class_weight(self.first[1]))
        self.batch_size = len(self.first[0])

    def _peek(self):
        """The first batch, prepared (this builds an unbuilt model); an iterator keeps it to
        give it again as its first."""
        if self.indexed:
            return self.prepare(self.data[0], "x[0]")
        self._pass = iter(self.data)
        raw = next(self._pass, _END)
        if raw is _END:
            raise FeedforwardError("x: the stream gave no batch")
        first = self.prepare(raw, "batch 0 of x")
        if self.once:
            self._pass = _chain(raw, self._pass)
        else:
            self._pass = None
        return first

    def start(self, batch_size, shuffle, rng) -> int:
        """The batches come as the stream gives them: returns the first one's size."""
        return self.batch_size

    def prepare(self, batch, where):
        """A raw batch checked: ``(x raw, y prepared, w or None)``."""
        model = self.model
        if isinstance(batch, list):
            batch = tuple(batch)
        if not isinstance(batch, tuple) or len(batch) not in (2, 3):
            raise FeedforwardError(f"{where}: expected a tuple (x, y) or (x, y, sample_weight), "
                                   f"got {describe(batch)}")
        x = model.raw_inputs(batch[0], f"{where}[0]")
        y = model.prepare_y(batch[1], len(x), f"{where}[0]", f"{where}[1]")
        if len(batch) == 3:
            if self.class_weight is not None:
                raise FeedforwardError(f"class_weight: cannot be combined with sample weights, "
                                       f"and {where} carries them (as in Keras)")
            from ..weighting import check_sample_weight
            return x, y, check_sample_weight(batch[2], len(x), f"{where}[2]")
        if self.class_weight is not None:
            return x, y, self.class_weight(y)
        return x, y, None

    def epoch(self):
        """One epoch's batches ``(x raw, y, w)``."""
        batches, k = self._raw_batches(), 0
        while not (self.fixed and k >= self.steps):  # never draw a batch of the next epoch
            batch, where = next(batches, (_END, None))
            if batch is _END:
                return
            k += 1
            yield self.prepare(batch, where)

    def _raw_batches(self):
        while True:
            if self._pass is None:
                self._pass = self._new_pass()
            for batch, where in self._pass:
                self._count += 1
                yield batch, where
            self._pass = None
            if not self.fixed:
                return
            if self.once:
                raise FeedforwardError(
                    f"x: the generator ran out after {self._count} batches; steps_per_epoch="
                    f"{self.steps} asks for more: give a smaller steps_per_epoch or more batches")

    def _new_pass(self):
        if self.indexed:
            n = len(self.data)
            order = self.rng.permutation(n) if self.shuffle else range(n)
            return ((self.data[int(i)], f"x[{int(i)}]") for i in order)
        return ((b, f"batch {k} of x") for k, b in enumerate(iter(self.data)))

    def end_epoch(self):
        """A PyDataset's ``on_epoch_end()``, when it has one; without ``steps_per_epoch`` the
        next epoch starts a new pass."""
        if not self.fixed:
            self._pass = None
        hook = getattr(self.data, "on_epoch_end", None)
        if callable(hook):
            hook()

    def sample(self, n):
        """The first batch's first ``n`` rows ``(x raw, y)``: callbacks' sample of the data."""
        return self.first[0][:n], self.first[1][:n]


_END = object()


def _chain(first, rest):
    yield first, "batch 0 of x"
    for k, b in enumerate(rest, start=1):
        yield b, f"batch {k} of x"


def _indexed(data) -> bool:
    """A PyDataset-like object: batches by index."""
    return (hasattr(data, "__getitem__") and hasattr(data, "__len__")
            and not isinstance(data, (list, tuple)))


def is_stream(x) -> bool:
    """Whether ``fit``'s ``x`` is a stream of batches rather than an array.

    A stream is a PyDataset-like object (``__len__`` and ``__getitem__`` but no array
    interface), an iterator (a generator), or a list or tuple whose first element is a batch
    ``(x_batch, y_batch[, w])`` of arrays.

    Parameters
    ----------
    x : object
        What ``fit`` got.

    Returns
    -------
    bool
    """
    if isinstance(x, np.ndarray) or hasattr(x, "__array__") or hasattr(x, "to_numpy"):
        return False
    if isinstance(x, (list, tuple)):
        head = x[0] if len(x) else None
        return isinstance(head, (tuple, list)) and len(head) in (2, 3) and isinstance(
            head[0], np.ndarray) and head[0].ndim == 2
    return _indexed(x) or hasattr(x, "__next__") or hasattr(x, "__iter__")


def stream_source(model, x, y, batch_size, validation_split, sample_weight, class_weight,
                  steps_per_epoch, shuffle, epochs) -> StreamSource:
    """``fit``'s arguments for a stream checked (Keras's rules), as a :class:`StreamSource`.

    Parameters
    ----------
    model : Sequential
        Compiled; its preprocessing must be fitted (it cannot be fitted on a stream).
    x : object
        The stream (see :func:`is_stream`).
    y, batch_size, sample_weight : None
        The batches carry them; anything else is refused.
    validation_split : float
        Must be 0: a stream cannot be split (give ``validation_data``).
    class_weight : dict or None
        Applied to every batch.
    steps_per_epoch : int or None
        Batches per epoch.
    shuffle : bool
        Shuffles a PyDataset's batch order.
    epochs : int
        The epochs to run: more than one needs ``steps_per_epoch`` for a generator.

    Returns
    -------
    StreamSource
    """
    from ..weighting import check_weighted_loss  # here: weighting imports the losses
    for name, value, why in (("y", y, "the batches carry the targets"),
                             ("batch_size", batch_size, "the stream gives its own batches"),
                             ("sample_weight", sample_weight,
                              "give them as each batch's third element")):
        if value is not None:
            raise FeedforwardError(f"{name}: must be None when x is a stream of batches "
                                   f"({why}), got {describe(value)}")
    if validation_split:
        raise FeedforwardError("validation_split: a stream of batches cannot be split; give "
                               "validation_data=(x_val, y_val)")
    unfitted = [type(p).__name__ for p in model.preprocessing if not p.fitted]
    if unfitted:
        raise FeedforwardError(
            f"x: the model's preprocessing ({', '.join(unfitted)}) is not fitted, and a stream "
            "of batches cannot fit it (it needs all the training data at once); fit it first "
            "on the data or a representative sample, e.g. model.preprocessing[0].fit(x_sample)")
    if steps_per_epoch is not None:
        steps_per_epoch = int(check_number(steps_per_epoch, "steps_per_epoch", low=1,
                                           integer=True))
    once = not _indexed(x) and iter(x) is x
    if once and steps_per_epoch is None and epochs > 1:
        raise FeedforwardError(
            f"steps_per_epoch: a generator is read once, which makes one epoch, and epochs asks "
            f"for {epochs}; give steps_per_epoch (batches per epoch, drawn on from the same "
            "generator) or a re-iterable x (a list of batches, or a PyDataset)")
    if class_weight is not None:
        check_weighted_loss(model, "class_weight")
    return StreamSource(x, model, steps_per_epoch, shuffle, model.rngs["shuffle"],
                        class_weight)
