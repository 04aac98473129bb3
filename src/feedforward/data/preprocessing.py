"""Preprocessing: feature scaling, image mean subtraction and label encoding.

Every preprocessor has ``fit(x)``, ``transform(x)``, ``fit_transform(x)`` and
``inverse_transform(x)``, and two halves that save with a model:

- ``get_config()``: JSON-safe constructor arguments (resolved through :data:`registry`);
- ``get_state()`` / ``set_state(state)``: the fitted statistics as a dict of NumPy arrays,
  stored as tensors in the model file.

``deserialize(config, state)`` rebuilds a fitted preprocessor from the two. Statistics are
computed over the first axis in float64. ``transform`` keeps a floating input's dtype and
gives float64 for integer input.
"""

from __future__ import annotations

import numpy as np

from .._registry import Configurable, Registry
from ..errors import FeedforwardError, as_array, check_number, describe
from ._images import check_image_shape
from .frames import by_name, column_names, is_frame


def _out_dtype(x: np.ndarray):
    return x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)


_SAFE = 2.0**400  # magnitudes whose sums and squared deviations neither overflow nor underflow


def _mean_std(x: np.ndarray, axis=0, with_std=True):
    """Mean (and population standard deviation) over ``axis``, finite for any finite ``x``.

    Where a slice's largest magnitude lies outside [2**-400, 2**400] (1e300, 1e-300), it is
    first divided by a power of two, which is exact: its sum cannot overflow to inf, nor its
    squared deviations underflow to a zero std. Elsewhere the values are those of NumPy's
    ``mean`` and ``std``, bit for bit, with no copy of the data.
    """
    # float64 after the reduction, not before: no copy of the data (and -x of uint8 wraps)
    high = x.max(axis=axis, keepdims=True).astype(np.float64)
    peak = np.maximum(high, -x.min(axis=axis, keepdims=True).astype(np.float64))
    wild = (peak > _SAFE) | ((peak < 1 / _SAFE) & (peak > 0))
    scale = np.where(wild, np.ldexp(1.0, np.frexp(peak)[1] - 1), 1.0)  # peak / scale < 2
    if wild.any():
        x = x / scale
    mean = x.mean(axis=axis, keepdims=True, dtype=np.float64)
    std = np.minimum(x.std(axis=axis, keepdims=True) * scale, peak) if with_std else None
    # |mean| <= peak and std <= peak: the products are finite
    squeeze = (lambda a: np.squeeze(a, axis=axis)) if axis is not None else np.squeeze
    return squeeze(mean * scale), None if std is None else squeeze(std)


class Preprocessor(Configurable):
    """Base class: the ``fit`` / ``transform`` protocol and the state dict.

    Subclasses list their fitted arrays in ``_state_keys``; each is held in the attribute of
    the same name with a trailing underscore (``mean`` in ``mean_``), None until fitted.
    """

    name = "preprocessor"
    aliases: tuple[str, ...] = ()
    _state_keys: tuple[str, ...] = ()

    def __init__(self):
        for k in self._state_keys:
            setattr(self, k + "_", None)

    @property
    def fitted(self) -> bool:
        return all(getattr(self, k + "_") is not None for k in self._state_keys)

    def _require_fitted(self, what):
        if not self.fitted:
            raise FeedforwardError(
                f"{type(self).__name__}.{what}: not fitted yet; call fit(x) or fit_transform(x) "
                "first")

    def fit(self, x, y=None):
        """Learn the statistics of ``x``; returns ``self``. ``y`` is ignored.

        Parameters
        ----------
        x : array of shape (n, ...)
            Training data; statistics are taken over the first axis.
        y : None
            Ignored; accepted for scikit-learn's ``fit(x, y)``.

        Returns
        -------
        Preprocessor
            ``self``, fitted.
        """
        raise NotImplementedError

    def transform(self, x):
        """Apply the fitted transformation.

        Parameters
        ----------
        x : array of shape (n, ...)
            Data with the trailing shape seen in ``fit``.

        Returns
        -------
        ndarray of shape (n, ...)
            The transformed data, of ``x``'s float dtype (float64 for integer input).
        """
        raise NotImplementedError

    def inverse_transform(self, x):
        """Undo ``transform``.

        Parameters
        ----------
        x : array of shape (n, ...)
            Transformed data.

        Returns
        -------
        ndarray of shape (n, ...)
            The data in the original units, of ``x``'s float dtype (float64 for integer input).
        """
        raise NotImplementedError

    def fit_transform(self, x, y=None):
        """``fit(x)`` then ``transform(x)``.

        Parameters
        ----------
        x : array of shape (n, ...)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        ndarray of shape (n, ...)
            ``x`` transformed with the statistics just fitted.
        """
        return self.fit(x, y).transform(x)

    def get_state(self) -> dict[str, np.ndarray]:
        """The fitted statistics, as float64 arrays keyed by name.

        Returns
        -------
        dict of str to ndarray
            One array per name of ``_state_keys`` (e.g. ``mean`` and ``scale``), all of one shape.
        """
        self._require_fitted("get_state")
        return {k: np.array(getattr(self, k + "_"), dtype=np.float64) for k in self._state_keys}

    def set_state(self, state: dict) -> Preprocessor:
        """Restore the statistics from :meth:`get_state`'s dict; returns ``self``.

        Parameters
        ----------
        state : dict of str to array_like
            Exactly the keys :meth:`get_state` writes, arrays of one shape.

        Returns
        -------
        Preprocessor
            ``self``, fitted.
        """
        if not isinstance(state, dict) or set(state) != set(self._state_keys):
            got = sorted(state) if isinstance(state, dict) else describe(state)
            raise FeedforwardError(
                f"{type(self).__name__}.set_state: expected a dict with keys "
                f"{sorted(self._state_keys)}, got {got}")
        arrays = {k: as_array(v, f"state[{k!r}]", dtype=np.float64, allow_empty=True)
                  for k, v in state.items()}
        shapes = {a.shape for a in arrays.values()}
        if len(shapes) > 1:
            raise FeedforwardError(
                f"{type(self).__name__}.set_state: the arrays must share one shape, got "
                f"{ {k: a.shape for k, a in arrays.items()} }")
        self._set_state(arrays)
        self.columns_ = None  # a state holds no column names
        return self

    def _set_state(self, arrays):
        for k, a in arrays.items():
            setattr(self, k + "_", a)

    def _fit_columns(self, x):
        """Keep a DataFrame's column names (None for an array), as scikit-learn keeps
        ``feature_names_in_``: a frame given to ``transform`` is then matched by name."""
        self.columns_ = column_names(x, "x") if is_frame(x) else None
        return by_name(x, None) if self.columns_ is not None else x

    def _check_features(self, x, name="x"):
        """``x`` as an array whose trailing shape matches the fitted statistics; a DataFrame's
        columns matched by name to those of ``fit`` when it was fitted on one."""
        if is_frame(x):
            x = by_name(x, getattr(self, "columns_", None), name)
        x = as_array(x, name)
        want = getattr(self, self._state_keys[0] + "_").shape
        if x.ndim < 1 or x.shape[1:] != want:
            raise FeedforwardError(
                f"{type(self).__name__}: {name} must have shape (n, {', '.join(map(str, want))})"
                f" as in fit, got {x.shape}")
        return x


class StandardScaler(Preprocessor):
    r"""Standardize each feature: :math:`z = (x - \mu) / \sigma`.

    ``mean`` and ``scale`` (the population standard deviation, ``ddof=0``) are taken over the
    first axis of the training data, so ``x`` may be ``(n, features)`` or ``(n, h, w, ...)``.
    A constant feature has ``scale = 1``: it becomes 0 instead of a division by zero.

    Parameters
    ----------
    with_mean : bool
        Subtract the mean (otherwise ``mean = 0``).
    with_std : bool
        Divide by the standard deviation (otherwise ``scale = 1``).

    Attributes
    ----------
    mean_, scale_ : ndarray of shape (features, ...)
        The fitted statistics (the saved state).
    columns_ : list of str or None
        The column names of a DataFrame given to ``fit`` (None for an array): a DataFrame
        given to ``transform`` then has its columns matched by name, and is refused when
        they differ.
    """

    name = "standard_scaler"
    aliases = ("standardize", "standardization", "z_score")
    _config_keys = ("with_mean", "with_std")
    _state_keys = ("mean", "scale")

    def __init__(self, with_mean=True, with_std=True):
        super().__init__()
        self.with_mean, self.with_std = bool(with_mean), bool(with_std)

    def fit(self, x, y=None):
        x = as_array(self._fit_columns(x), "x", dtype=np.float64)
        mean, std = _mean_std(x)
        # an exactly constant feature; its computed std may be a rounding error instead of 0
        same = x.max(axis=0) == x.min(axis=0)  # not np.ptp: it overflows at 1e308
        constant = same | (std == 0)
        # the value itself: a computed mean may be an ulp off, which is 2e292 at 1.7e308
        mean = np.where(same, x[0], mean)
        self.mean_ = mean if self.with_mean else np.zeros_like(mean)
        self.scale_ = np.where(constant, 1.0, std) if self.with_std else np.ones_like(std)
        return self

    def _set_state(self, arrays):
        if (arrays["scale"] <= 0).any():  # fit never gives one: a division by zero or a flip
            raise FeedforwardError("StandardScaler.set_state: expected a positive scale for "
                                   "every feature")
        super()._set_state(arrays)

    def transform(self, x):
        """``(x - mean) / scale``; ``x`` of shape ``(n, ...)`` as in ``fit``.

        Parameters
        ----------
        x : array of shape (n, ...) or DataFrame
            Data with the trailing shape seen in ``fit``. A DataFrame, after ``fit`` on one,
            has its columns matched to fit's by name, in any order.

        Returns
        -------
        ndarray of shape (n, ...)
            Standardized data, of ``x``'s float dtype (float64 for integer input), with its
            columns in fit's order, not the frame's: labelling the result with the frame's
            columns would put one column's values under another's name.
        """
        self._require_fitted("transform")
        x = self._check_features(x)
        dt = _out_dtype(x)
        # in halves, exactly: x - mean overflows for x = -1.7e308 and mean = 1e308
        out = np.multiply(x, 0.5, dtype=dt)
        out -= (self.mean_ / 2).astype(dt)
        out /= (self.scale_ / 2).astype(dt)
        return out

    def inverse_transform(self, x):
        """``x * scale + mean``.

        Parameters
        ----------
        x : array of shape (n, ...)
            Standardized data.

        Returns
        -------
        ndarray of shape (n, ...)
            The data in the original units, of ``x``'s float dtype (float64 for integer input).
        """
        self._require_fitted("inverse_transform")
        x = self._check_features(x)
        dt = _out_dtype(x)
        out = np.multiply(x, (self.scale_ / 2).astype(dt), dtype=dt)  # halves, as transform
        out += (self.mean_ / 2).astype(dt)
        out *= 2
        return out


class MinMaxScaler(Preprocessor):
    r"""Scale each feature linearly so its training range becomes ``feature_range``.

    .. math:: x' = lo + (x - x_{min}) \frac{hi - lo}{x_{max} - x_{min}}

    Values outside the training range map outside ``feature_range`` (nothing is clipped).
    A constant feature maps to the middle of the range, ``(lo + hi) / 2`` (0 for the default
    ``(-1, 1)``), rather than dividing by zero: it carries no information, and centred at zero
    it adds nothing to the next layer's pre-activations.

    Parameters
    ----------
    feature_range : (lo, hi)
        Target range, ``lo < hi``; ``(-1, 1)`` centres features on zero.

    Attributes
    ----------
    data_min_, data_max_ : ndarray of shape (features,)
        The training range of each feature (the saved state).
    scale_, offset_ : ndarray of shape (features,)
        The fitted map ``x' = x * scale_ + offset_`` (what ``transform`` and the ONNX export
        apply).
    columns_ : list of str or None
        The column names of a DataFrame given to ``fit`` (None for an array): a DataFrame
        given to ``transform`` then has its columns matched by name, and is refused when
        they differ.
    """

    name = "min_max_scaler"
    aliases = ("minmax", "min_max")
    _state_keys = ("data_min", "data_max")

    def __init__(self, feature_range=(-1, 1)):
        super().__init__()
        try:
            lo, hi = feature_range
        except (TypeError, ValueError):
            raise FeedforwardError(
                f"feature_range: expected a pair (lo, hi), got {describe(feature_range)}") from None
        lo = float(check_number(lo, "feature_range[0]"))
        hi = float(check_number(hi, "feature_range[1]"))
        if not lo < hi:
            raise FeedforwardError(f"feature_range: expected lo < hi, got ({lo}, {hi})")
        self.feature_range = (lo, hi)

    def get_config(self):
        return {"feature_range": list(self.feature_range)}

    def fit(self, x, y=None):
        x = as_array(self._fit_columns(x), "x", dtype=np.float64)
        self._set_state({"data_min": x.min(axis=0), "data_max": x.max(axis=0)})
        return self

    def _set_state(self, arrays):
        lo, hi = self.feature_range
        low, high = arrays["data_min"], arrays["data_max"]
        if (low > high).any():
            raise FeedforwardError("MinMaxScaler.set_state: expected data_min <= data_max")
        # halves: the span of -1e308 .. 1e308 would overflow; a subnormal half-span is none
        half = high / 2 - low / 2
        constant = half == 0
        # x' = x * scale + offset; constant features: scale 1, offset to the middle
        with np.errstate(over="ignore"):
            scale = np.where(constant, 1.0, (hi / 2 - lo / 2) / np.where(constant, 1.0, half))
            offset = np.where(constant, lo / 2 + hi / 2, lo) - low * scale
        if not (np.isfinite(scale).all() and np.isfinite(offset).all()):
            raise FeedforwardError(f"MinMaxScaler: feature_range {self.feature_range} over the "
                                   "data's range overflows; use a narrower feature_range")
        super()._set_state(arrays)
        self.scale_, self.offset_ = scale, offset

    def transform(self, x):
        """``x * scale + offset`` with the fitted ``scale`` and ``offset``.

        Parameters
        ----------
        x : array of shape (n, ...) or DataFrame
            Data with the trailing shape seen in ``fit``. A DataFrame, after ``fit`` on one,
            has its columns matched to fit's by name, in any order.

        Returns
        -------
        ndarray of shape (n, ...)
            Scaled data, of ``x``'s float dtype (float64 for integer input), with its
            columns in fit's order, not the frame's: labelling the result with the frame's
            columns would put one column's values under another's name.
        """
        self._require_fitted("transform")
        x = self._check_features(x)
        dt = _out_dtype(x)
        return x * self.scale_.astype(dt) + self.offset_.astype(dt)

    def inverse_transform(self, x):
        """``(x - offset) / scale``: back to the original units.

        Parameters
        ----------
        x : array of shape (n, ...)
            Scaled data.

        Returns
        -------
        ndarray of shape (n, ...)
            The data in the original units, of ``x``'s float dtype (float64 for integer input).
        """
        self._require_fitted("inverse_transform")
        x = self._check_features(x)
        dt = _out_dtype(x)
        return (x - self.offset_.astype(dt)) / self.scale_.astype(dt)


class ImageMeanSubtraction(Preprocessor):
    """Subtract a mean from images: per channel, per pixel, or each image's own.

    Images are ``(n, h, w)``, ``(n, h, w, c)`` or flattened ``(n, h * w * c)`` rows
    (channels last).

    Parameters
    ----------
    mode : {"channel", "pixel", "image"}
        ``"channel"``: subtract the training set's mean of each channel (state ``mean`` of
        shape ``(c,)``). ``"pixel"``: subtract the training set's mean image (state ``mean``
        of the image's shape). ``"image"``: subtract from each image the mean of its own values;
        this needs no fitting and cannot be inverted (the means are not kept).
    image_shape : tuple (h, w) or (h, w, c), optional
        The channel count of flattened rows in ``"channel"`` mode; without it, flattened rows
        are one channel.
    """

    name = "image_mean_subtraction"
    aliases = ("mean_subtraction",)
    _config_keys = ("mode", "image_shape")
    _state_keys = ("mean",)
    MODES = ("channel", "pixel", "image")

    def __init__(self, mode="channel", image_shape=None):
        super().__init__()
        if mode not in self.MODES:
            raise FeedforwardError(f"mode: expected one of {self.MODES}, got {mode!r}")
        self.mode = mode
        shape = check_image_shape(image_shape)
        self.image_shape = list(shape) if shape is not None else None

    @property
    def fitted(self) -> bool:
        return self.mode == "image" or self.mean_ is not None

    def get_state(self):
        return {} if self.mode == "image" else super().get_state()

    def set_state(self, state):
        if self.mode == "image":
            if state:
                raise FeedforwardError("ImageMeanSubtraction.set_state: mode 'image' has no "
                                       f"state, got {sorted(state)}")
            return self
        return super().set_state(state)

    def _channels(self, x):
        """``x`` as ``(n, pixels, c)`` for the per-channel mean."""
        if x.ndim == 4:
            c = x.shape[3]
        elif x.ndim == 2 and self.image_shape is not None and len(self.image_shape) == 3:
            c = self.image_shape[2]
        else:
            c = 1
        if x.ndim < 2 or x[0].size % c:
            raise FeedforwardError(
                f"ImageMeanSubtraction: x of shape {x.shape} is not a batch of images with {c} "
                "channel(s)")
        return x.reshape(x.shape[0], -1, c)

    def fit(self, x, y=None):
        x = as_array(x, "x", ndim=(2, 3, 4))
        if self.mode == "channel":
            self.mean_ = _mean_std(self._channels(x), (0, 1), with_std=False)[0]
        elif self.mode == "pixel":
            self.mean_ = _mean_std(x, with_std=False)[0]
        return self

    def _shift(self, x, sign, what):
        self._require_fitted(what)
        x = as_array(x, "x", ndim=(2, 3, 4))
        dt = _out_dtype(x)
        if self.mode == "image":
            axes = tuple(range(1, x.ndim))
            return x - x.mean(axis=axes, keepdims=True, dtype=np.float64).astype(dt)
        if self.mode == "pixel":
            x = self._check_features(x)
            return x + sign * self.mean_.astype(dt)
        xc = self._channels(x)
        if xc.shape[2] != self.mean_.shape[0]:
            raise FeedforwardError(
                f"ImageMeanSubtraction: x has {xc.shape[2]} channel(s), fitted on "
                f"{self.mean_.shape[0]}")
        return (xc + sign * self.mean_.astype(dt)).reshape(x.shape)

    def transform(self, x):
        """Subtract the mean (per channel, per pixel, or each image's own).

        Parameters
        ----------
        x : array of shape (n, h, w), (n, h, w, c) or (n, h * w * c)
            Images, in the layout seen in ``fit``.

        Returns
        -------
        ndarray
            Centred images, of ``x``'s shape and float dtype (float64 for integer input).
        """
        return self._shift(x, -1, "transform")

    def inverse_transform(self, x):
        """Add the fitted mean back; mode ``"image"`` cannot be inverted.

        Parameters
        ----------
        x : array of shape (n, h, w), (n, h, w, c) or (n, h * w * c)
            Centred images.

        Returns
        -------
        ndarray
            The images with the mean restored, of ``x``'s shape.
        """
        if self.mode == "image":
            raise FeedforwardError(
                "ImageMeanSubtraction.inverse_transform: mode 'image' discards each image's mean, "
                "so it cannot be inverted; use mode 'channel' or 'pixel'")
        return self._shift(x, 1, "inverse_transform")


class LabelEncoder(Preprocessor):
    """Class labels (strings or numbers) to integers ``0 .. k - 1``, in sorted order.

    Its state is ``classes``, which may be strings, so it lives in the JSON config rather than
    in :meth:`get_state` (which is empty): ``LabelEncoder(classes=[...])`` is a fitted encoder.

    Parameters
    ----------
    classes : list, optional
        The labels, in the order of their codes; given, no ``fit`` is needed.
    """

    name = "label_encoder"
    _config_keys = ("classes",)

    def __init__(self, classes=None):
        super().__init__()
        self.classes_ = None
        if classes is not None:
            labels = self._labels(classes, "classes")
            if len(self._unique(labels, "classes")) != len(labels):
                seen = set()
                twice = next(c for c in labels.tolist() if c in seen or seen.add(c))
                raise FeedforwardError(f"classes: expected distinct labels, got {twice!r} twice")
            self.classes_ = labels

    @property
    def classes(self):
        return None if self.classes_ is None else self.classes_.tolist()

    @property
    def fitted(self) -> bool:
        return self.classes_ is not None

    @staticmethod
    def _labels(y, name):
        if hasattr(y, "to_numpy"):
            y = y.to_numpy()
        y = np.asarray(y)
        if y.ndim != 1 or y.size == 0:
            raise FeedforwardError(f"{name}: expected a non-empty 1-D array of labels, got "
                                   f"{describe(y)}")
        return y

    def _unique(self, y, name="y"):
        y = self._labels(y, name)
        try:
            return np.unique(y)
        except TypeError:
            raise FeedforwardError(
                f"{name}: labels must be all numbers or all strings, got mixed types") from None

    def get_state(self):
        self._require_fitted("get_state")
        return {}

    def set_state(self, state):
        if state:
            raise FeedforwardError("LabelEncoder.set_state: its classes live in the config; "
                                   f"got state {sorted(state)}")
        return self

    def fit(self, y, _=None):
        """Learn the sorted distinct labels of ``y`` (shape ``(n,)``).

        Parameters
        ----------
        y : array of shape (n,)
            Labels: all numbers or all strings.
        _ : None
            Ignored; the place of ``y`` in ``fit(x, y)``.

        Returns
        -------
        LabelEncoder
            ``self``, fitted.
        """
        self.classes_ = self._unique(y)
        return self

    def transform(self, y):
        """Codes ``0 .. k - 1`` (int64, shape ``(n,)``) for labels seen in ``fit``.

        Parameters
        ----------
        y : array of shape (n,)
            Labels, each one of ``classes``.

        Returns
        -------
        ndarray of shape (n,)
            The int64 code of each label: its position in ``classes``.
        """
        self._require_fitted("transform")
        y = self._labels(y, "y")
        order = np.argsort(self.classes_, kind="stable")
        try:
            pos = np.searchsorted(self.classes_[order], y).clip(0, len(order) - 1)
        except TypeError:
            raise FeedforwardError(
                f"y: labels of type {y.dtype} cannot match the classes {self.classes}") from None
        codes = order[pos]
        unknown = self.classes_[codes] != y
        if np.any(unknown):
            raise FeedforwardError(
                f"y: unknown label {y[np.argmax(unknown)].item()!r}; known classes: {self.classes}")
        return codes.astype(np.int64)

    def inverse_transform(self, codes):
        """The labels for integer codes of shape ``(n,)``.

        Parameters
        ----------
        codes : array of shape (n,)
            Integers in ``0 .. k - 1``.

        Returns
        -------
        ndarray of shape (n,)
            The labels, of the type of ``classes``.
        """
        self._require_fitted("inverse_transform")
        codes = as_array(codes, "codes", ndim=(1,))
        k = len(self.classes_)
        if codes.dtype.kind == "f" and not np.array_equal(codes, np.round(codes)):
            raise FeedforwardError("codes: expected integer codes, got non-integer values")
        if codes.min() < 0 or codes.max() >= k:
            raise FeedforwardError(
                f"codes: expected codes in [0, {k - 1}], got [{codes.min()}, {codes.max()}]")
        return self.classes_[codes.astype(np.intp)]


def one_hot(y, num_classes=None, dtype="float32"):
    """Integer labels of shape ``(n,)`` as one-hot rows of shape ``(n, num_classes)``.

    Parameters
    ----------
    y : array of shape (n,)
        Labels in ``0 .. num_classes - 1``.
    num_classes : int, optional
        Defaults to ``max(y) + 1``.
    dtype : str or numpy dtype, default "float32"
        The type of the result.

    Returns
    -------
    ndarray of shape (n, num_classes)
        Row ``i`` is 1 in column ``y[i]`` and 0 elsewhere.
    """
    y = as_array(y, "y", ndim=(1,))
    if y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):
        raise FeedforwardError("y: expected integer class labels, got non-integer values")
    y = y.astype(np.intp)
    if y.min() < 0:
        raise FeedforwardError(f"y: expected labels >= 0, got {y.min()}")
    if num_classes is None:
        num_classes = int(y.max()) + 1
    num_classes = int(check_number(num_classes, "num_classes", low=1, integer=True))
    if y.max() >= num_classes:
        raise FeedforwardError(
            f"y: expected labels in [0, {num_classes - 1}] for num_classes={num_classes}, "
            f"got {y.max()}")
    out = np.zeros((y.shape[0], num_classes), dtype=dtype)
    out[np.arange(y.shape[0]), y] = 1
    return out


ALL = [StandardScaler, MinMaxScaler, ImageMeanSubtraction, LabelEncoder]
registry = Registry("preprocessor", ALL, base=Preprocessor)
get, serialize = registry.get, registry.serialize


def deserialize(config: dict, state: dict | None = None) -> Preprocessor:
    """A preprocessor from :func:`serialize`'s dict, fitted from ``state`` when given.

    Parameters
    ----------
    config : dict
        ``{"class_name": ..., "config": ...}`` as :func:`serialize` writes it.
    state : dict of str to array_like, optional
        The fitted statistics, as :meth:`Preprocessor.get_state` writes them.

    Returns
    -------
    Preprocessor
        A new preprocessor; fitted when ``state`` is given (or its config holds its state).
    """
    obj = registry.deserialize(config)
    return obj.set_state(state) if state is not None else obj
