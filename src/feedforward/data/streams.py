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
from ..inputs import record_names
from ..weighting import check_sample_weight, check_weighted_loss, class_weights
from .batching import BatchIterator
from .frames import is_frame, refuse_sparse


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
        """Set the batching.

        Parameters
        ----------
        batch_size : int
            Samples per batch.
        shuffle : bool
            A new permutation of the rows every epoch.
        rng : numpy.random.Generator
            The source of the permutations.

        Returns
        -------
        int
            The batch size used (at most ``n``).
        """
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
        """The first rows, as the trainer holds them.

        Parameters
        ----------
        n : int
            The most rows.

        Returns
        -------
        tuple (x, y)
            Views of the arrays' first ``n`` rows.
        """
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
        if isinstance(class_weight, str) and class_weight == "balanced":
            raise FeedforwardError("class_weight: 'balanced' counts the classes of the whole "
                                   "training set, which a stream never holds at once; give "
                                   "a dict {class: weight}")
        if class_weight is not None:
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
        first = self.prepare(raw, "x[0]" if isinstance(self.data, (list, tuple)) else
                             "batch 0 of x")
        if self.once:
            self._pass = _chain(raw, self._pass)
        else:
            self._pass = None
        return first

    def start(self, batch_size, shuffle, rng) -> int:
        """Nothing to set: the batches come as the stream gives them.

        Parameters
        ----------
        batch_size, shuffle, rng
            Unused (see the constructor's ``shuffle``).

        Returns
        -------
        int
            The first batch's size.
        """
        return self.batch_size

    def prepare(self, batch, where):
        """A batch checked, its targets prepared, its class weights applied.

        Parameters
        ----------
        batch : tuple
            ``(x, y)`` or ``(x, y, sample_weight)`` as the stream gave it.
        where : str
            The batch's name in errors, e.g. ``"x[3]"``.

        Returns
        -------
        tuple (x, y, w)
            Raw inputs (n, features), prepared targets (n, outputs), weights (n,) or None.
        """
        model = self.model
        if isinstance(batch, list):
            batch = tuple(batch)
        if not isinstance(batch, tuple) or len(batch) not in (2, 3):
            got = (f"a tuple of {len(batch)}" if isinstance(batch, tuple) else
                   f"a {type(batch).__name__}" if isinstance(batch, dict) else describe(batch))
            raise FeedforwardError(f"{where}: expected a tuple (x, y) or (x, y, sample_weight), "
                                   f"got {got}")
        record_names(model, batch[0], _part(where, 0))  # later batches: matched by name
        x = model.raw_inputs(batch[0], _part(where, 0))
        y = model.prepare_y(batch[1], len(x), _part(where, 0), _part(where, 1))
        if len(batch) == 3:
            if self.class_weight is not None:
                raise FeedforwardError(f"class_weight: cannot be combined with sample weights, "
                                       f"and {where} carries them (as in Keras)")
            return x, y, check_sample_weight(batch[2], len(x), _part(where, 2))
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
        name = "x[{}]" if isinstance(self.data, (list, tuple)) else "batch {} of x"
        return ((b, name.format(k)) for k, b in enumerate(iter(self.data)))

    def end_epoch(self):
        """A PyDataset's ``on_epoch_end()``, when it has one; without ``steps_per_epoch`` the
        next epoch starts a new pass."""
        if not self.fixed:
            self._pass = None
        hook = getattr(self.data, "on_epoch_end", None)
        if callable(hook):
            hook()

    def sample(self, n):
        """Callbacks' sample of the data: the first batch's first rows.

        Parameters
        ----------
        n : int
            The most rows.

        Returns
        -------
        tuple (x, y)
            Raw inputs and prepared targets.
        """
        return self.first[0][:n], self.first[1][:n]


_END = object()


def _part(where, i) -> str:
    """The name of part ``i`` of a batch: ``x[3][1]`` of an indexed one, else ``y of batch
    3`` (never ``batch 3 of x[1]``, which reads as a batch of another array)."""
    if where.endswith("]"):
        return f"{where}[{i}]"
    return f"{('x', 'y', 'sample_weight')[i]} of {where.removesuffix(' of x')}"


def _chain(first, rest):
    yield first, "batch 0 of x"
    for k, b in enumerate(rest, start=1):
        yield b, f"batch {k} of x"


def _indexed(data) -> bool:
    """A PyDataset-like object: batches by index."""
    return (hasattr(data, "__getitem__") and hasattr(data, "__len__")
            and not isinstance(data, (list, tuple)))


def stream_batches(data, name="x"):
    """Each batch of a stream (see :func:`is_stream`), once, in order.

    Parameters
    ----------
    data : object
        A PyDataset-like object, a re-iterable or an iterator of batches.
    name : str
        The argument's name, for errors.

    Yields
    ------
    tuple
        ``(x_batch,)`` for a batch of inputs alone, else the batch's ``(x, y[, w])``.
    """
    batches = (data[i] for i in range(len(data))) if _indexed(data) else iter(data)
    for k, batch in enumerate(batches):
        if isinstance(batch, (tuple, list)) and len(batch) in (1, 2, 3):
            yield tuple(batch)
        elif isinstance(batch, np.ndarray) or hasattr(batch, "__array__"):
            yield (batch,)
        else:
            raise FeedforwardError(f"{name}: batch {k} is {describe(batch)}; expected an "
                                   "array of inputs or a tuple (x, y[, sample_weight])")


def is_stream(x) -> bool:
    """Whether ``fit``'s ``x`` is a stream of batches rather than an array.

    A stream is a PyDataset-like object (``__len__`` and ``__getitem__`` but no array
    interface), an iterator (a generator), or a list or tuple whose first element is a batch
    ``(x_batch, y_batch[, w])`` of 2-D arrays or DataFrames.

    Parameters
    ----------
    x : object
        What ``fit`` got.

    Returns
    -------
    bool

    Raises
    ------
    FeedforwardError
        For a SciPy sparse matrix, whose ``len`` and ``[i]`` would make it look like one.
    """
    refuse_sparse(x, "x")
    if isinstance(x, (np.ndarray, str, bytes, dict)) or hasattr(x, "__array__") or hasattr(
            x, "to_numpy"):
        return False
    if isinstance(x, (list, tuple)):  # a batch of arrays first, or a dict (refused later,
        head = x[0] if len(x) else None  # as a batch, rather than read as one array)
        return isinstance(head, dict) or isinstance(head, (tuple, list)) and len(head) > 0 \
            and (isinstance(head[0], np.ndarray) and head[0].ndim == 2 or is_frame(head[0]))
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
    if not isinstance(shuffle, (bool, np.bool_)):
        raise FeedforwardError(f"shuffle: expected True or False, got {describe(shuffle)}")
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


def prepare_data(model, x, y, validation_split=0.0, validation_data=None, augment=None,
                 sample_weight=None, class_weight=None):
    """The array data of a fit, checked and prepared as the engine takes them.

    Unfitted preprocessing is fitted on the training part (an unbuilt model is built). A
    memory-mapped ``x`` (``np.memmap``) stays on disk, raw: each batch is transformed as it
    is read, so no copy of the data is made (the validation part is transformed whole).

    Parameters
    ----------
    model : Sequential
        A compiled model.
    x : array_like of shape (n, features)
        Raw inputs.
    y : array_like of shape (n,) or (n, outputs)
        Labels or targets.
    validation_split : float in [0, 1)
        Fraction held out for validation, taken from the end (with its sample weights).
    validation_data : tuple (x_val, y_val) or (x_val, y_val, w_val), optional
        Raw validation data; overrides ``validation_split``.
    augment : callable, optional
        When given, the training inputs stay raw (each batch is augmented, then transformed).
    sample_weight : array_like of shape (n,), optional
        Per-sample weights of the loss.
    class_weight : dict, optional
        ``{class: weight}`` for the training part (see :func:`feedforward.class_weights`).

    Returns
    -------
    source : ArraySource
        The training data for :class:`Trainer`.
    validation : tuple (x_val, y_val[, w_val]) or None
        Prepared validation data.
    """
    on_disk = isinstance(x, np.memmap)
    x = model.raw_inputs(x)
    y = model.prepare_y(y, x.shape[0])
    w = _weights(model, sample_weight, class_weight, x.shape[0])
    val = None
    if validation_data is None and validation_split > 0:
        cut = int(round(x.shape[0] * (1 - validation_split)))
        if cut < 1 or cut >= x.shape[0]:
            raise FeedforwardError(
                f"validation_split: {validation_split} of {x.shape[0]} samples leaves an "
                "empty training or validation set")
        val = (x[cut:], y[cut:]) + (() if w is None else (w[cut:],))
        x, y, w = x[:cut], y[:cut], None if w is None else w[:cut]
    if class_weight is not None:  # the training part only, as in Keras
        w = class_weights(model, class_weight)(y)
    model.fit_preprocessing(x)  # on the training part only
    if validation_data is not None:
        val = prepare_validation(model, validation_data)
    elif val is not None:
        val = (model.transform(val[0]), *val[1:])
    raw = augment is not None or on_disk  # else transformed once, whole (fast epochs)
    return ArraySource(x if raw else model.transform(x), y, w, raw=raw), val


def _weights(model, sample_weight, class_weight, n):
    """``sample_weight`` checked (``class_weight`` is applied after the split)."""
    if sample_weight is not None and class_weight is not None:
        raise FeedforwardError("class_weight: cannot be combined with sample_weight (as in "
                               "Keras); multiply the class weights into sample_weight")
    if sample_weight is None and class_weight is None:
        return None
    check_weighted_loss(model, "sample_weight" if class_weight is None
                                  else "class_weight")
    return None if sample_weight is None else check_sample_weight(sample_weight, n)


def prepare_validation(model, validation_data) -> tuple:
    """``validation_data`` (raw ``(x_val, y_val)`` or ``(x_val, y_val, w_val)``) prepared.

    Parameters
    ----------
    model : Sequential
        Compiled and built, its preprocessing fitted.
    validation_data : tuple
        Raw validation arrays, and optionally the weights of ``val_loss``'s rows.

    Returns
    -------
    tuple (x_val, y_val) or (x_val, y_val, w_val)
    """
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise FeedforwardError("validation_data: expected a tuple (x_val, y_val) or (x_val, "
                               f"y_val, val_sample_weight), got {describe(validation_data)}")
    val = model.prepare_xy(*validation_data[:2], xname="x_val", yname="y_val")
    if len(validation_data) == 2 or validation_data[2] is None:
        return val
    check_weighted_loss(model, "validation_data")
    return (*val, check_sample_weight(validation_data[2], len(val[0]),
                                                "val_sample_weight"))
