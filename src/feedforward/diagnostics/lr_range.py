"""The learning-rate range test of :func:`~.check.check`: :func:`lr_range_step`.

A few hundred steps with the rate growing exponentially (:class:`RangeTest`); the recommended
rate is a tenth of the rate where the smoothed loss was lowest, and none when no rate made the
loss fall clearly (beyond noise) below its start. :func:`plot_lr_curve` draws the curve.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

from ..callbacks import Callback
from ..errors import FeedforwardError
from ..fileio import atomic_write
from ..training import Trainer
from .report import MAX_STEPS, CheckFix, Report, Step


def lr_range_step(model, x, y, batch_size=32, steps=200, low=1e-6, high=10.0, callbacks=None):
    """Train with the rate growing exponentially from ``low`` to ``high``.

    The training is the engine's (:class:`~feedforward.training.Trainer`, the model's step with
    its constraints); a callback raises the rate after each step. The loss is smoothed
    (exponential moving average, weight 0.1, debiased as in fastai); the test stops early once
    it exceeds 4 times its lowest value, or at a non-finite loss. ``model`` is trained in
    place and its optimizer's rate replaced: pass a fresh one.

    A rate *worked* when the lowest smoothed loss (after the first :data:`_WARMUP` steps, whose
    average is over too few batches) fell meaningfully below the start: below 90 % of the
    untrained loss and by more than :data:`_NOISE_SIGMAS` times the smoothed loss's noise
    (both measured on the untrained model over the test's first batches). When none worked,
    no rate is recommended: a tenth of the rate at a flat or noisy minimum would be a guess.

    Parameters
    ----------
    model : Sequential
        A compiled, built model.
    x : array of shape (n, features)
        Inputs as the first layer sees them (preprocessed).
    y : ndarray
        Targets as the loss sees them (prepared by it), e.g. of shape (n, outputs).
    batch_size : int
        Rows per step, drawn in a fixed random order (default 32): each pass over that order
        is an epoch, and the next one starts where the last batch ended.
    steps : int
        The most steps (default 200).
    low, high : float
        The rates of the first and of the last step (defaults 1e-6 and 10).
    callbacks : list of Callback, optional
        More callbacks for the training, as in ``fit``.

    Returns
    -------
    step : Step
        ``"learning_rate_range"``; passes when a rate worked.
    rate : float or None
        The recommended rate, a tenth of the rate at the lowest smoothed loss; None when no
        rate worked.
    curve : dict
        ``{"learning_rate": [...], "loss": [...]}``, the rates and smoothed losses.
    """
    order = np.random.default_rng(0).permutation(x.shape[0])
    start, start_noise = _untrained_loss(model, x, y, batch_size, order)
    test = RangeTest(low, (high / low) ** (1 / (steps - 1)))
    _run_range_test(Trainer(model, x[order], y[order], batch_size=batch_size, shuffle=False,
                            callbacks=[test, *(callbacks or [])]), x, y, order, batch_size,
                    steps)
    rates, losses_, curve = test.rates, test.losses, test.curve
    if not curve:
        return Step("learning_rate_range", False, f"the loss was not finite even at rate {low:g}",
                    {"steps": 0}, "check the data for extreme values and the loss"), None, {}
    i = _WARMUP + int(np.argmin(curve[_WARMUP:])) if len(curve) > _WARMUP else 0
    lowest, at = curve[i], rates[i]
    # the batches that the minimum averages may be noisier than the untrained model's
    noise = max(start_noise, _smoothed_noise(losses_[max(0, i + 1 - 2 * _WARMUP):i + 1]))
    threshold = min(0.9 * start, start - _NOISE_SIGMAS * noise)
    worked = i >= _WARMUP and math.isfinite(start) and lowest < threshold
    evidence = {"recommended_learning_rate": at / 10 if worked else None,
                "start_loss": start, "noise": noise, "lowest_loss": lowest,
                "rate_at_min": at, "steps": len(rates)}
    curve_dict = {"learning_rate": rates, "loss": curve}
    if worked:
        return Step("learning_rate_range", True,
                    f"lowest smoothed loss {lowest:.3g} (from {start:.3g}) at rate {at:.2g}; "
                    f"recommended learning rate {at / 10:.2g}", evidence), at / 10, curve_dict
    longer = min(10 * steps, MAX_STEPS)
    return Step("learning_rate_range", False,
                f"no rate made the loss fall: the smoothed loss stayed near its start "
                f"{start:.3g} (lowest {lowest:.3g} at rate {at:.2g}, noise {noise:.2g}) over "
                f"{len(rates)} steps; no learning rate is recommended", evidence,
                "no rate lowered the loss within the test, which may be too short for data "
                "this hard: keep the configured rate; if a longer test finds none either, "
                "check the data, the labels and the loss",
                [CheckFix("lr_steps", longer, "run a longer test")]
                ), None, curve_dict


_WARMUP = 10  # steps before the smoothed loss averages enough batches to mean anything
_NOISE_SIGMAS = 4  # a fall smaller than this many standard deviations may be noise
_NOISE_BATCHES = 32  # batches of the untrained model that measure the start and its noise


def _smoothed_noise(batch_losses):
    """The standard deviation that batch-to-batch noise of these losses leaves in their
    smoothed (weight 0.1) average."""
    return float(np.std(batch_losses) * math.sqrt(0.1 / 1.9))


def _untrained_loss(model, x, y, batch_size, order):
    """The untrained model's mean batch loss over the test's first batches, and its smoothed
    noise."""
    n = min(_NOISE_BATCHES, max(1, len(order) // batch_size))
    values = [model.loss_value(x[rows], y[rows], training=True)
              for rows in (order[t * batch_size:][:batch_size] for t in range(n))]
    if not np.isfinite(values).all():
        return math.inf, 0.0
    return float(np.mean(values)), _smoothed_noise(values)


class RangeTest(Callback):
    """The learning-rate range test as a callback: the rate grows by ``growth`` each step.

    Records each step's rate, batch loss and smoothed loss (weight 0.1, debiased as in
    fastai), and ends the training once the smoothed loss exceeds 4 times its lowest value
    after the first :data:`_WARMUP` steps. A non-finite loss ends it quietly: that step is
    not recorded.

    Parameters
    ----------
    low : float
        The rate of the first step.
    growth : float
        The factor between the rates of consecutive steps.

    Attributes
    ----------
    rates, losses, curve : list of float
        Per step: the rate, the batch's loss (with penalties, before the update) and the
        smoothed loss.
    """

    handles_divergence = True  # a non-finite loss ends the test; it is no error

    def __init__(self, low, growth):
        self.low, self.growth = low, growth
        self.rates, self.losses, self.curve = [], [], []
        self._average, self._lowest = 0.0, math.inf

    def on_train_begin(self, logs=None):
        self.model.optimizer.learning_rate = self.low

    def on_batch_end(self, batch, logs=None):
        loss = self.trainer.batch_loss
        if not math.isfinite(loss):
            return  # the engine stops the training
        t = len(self.rates)
        optimizer = self.model.optimizer
        self.rates.append(optimizer.lr)
        self.losses.append(loss)
        self._average = 0.9 * self._average + 0.1 * loss
        self.curve.append(self._average / (1 - 0.9 ** (t + 1)))  # fastai's debiased smoothing
        self._lowest = min(self._lowest, self.curve[-1])
        if self.curve[-1] > 4 * self._lowest and t > _WARMUP:
            self.trainer.stop_training = True
        optimizer.learning_rate = self.low * self.growth ** (t + 1)  # the next step's


def _run_range_test(trainer, x, y, order, batch_size, steps):
    """``steps`` steps of ``trainer`` (made on ``x[order]``), unless its callbacks stop it
    sooner. An epoch that ends with a short batch is followed by one on the rows of ``order``
    from where the next batch of the same size would have started (its remainder: the
    batches go on over the order as if it repeated)."""
    n = len(order)
    while trainer.step < steps and not trainer.finished:
        trainer.run(steps=steps - trainer.step, epochs=1)
        if trainer.step < steps and not trainer.finished:
            rows = order[(trainer.step * batch_size) % n:]
            trainer.set_data(x[rows], y[rows])
    trainer.end()



def plot_lr_curve(report: Report, path) -> bool:
    """Save the range test's loss against rate (log scale); False without matplotlib.

    Parameters
    ----------
    report : Report
        A report of :func:`check`.
    path : str or Path
        The image file to write; its extension gives the format.

    Returns
    -------
    bool
        True when the plot was saved, False when matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(report.lr_curve.get("learning_rate", []), report.lr_curve.get("loss", []))
    if report.recommended_learning_rate is not None:
        ax.axvline(report.recommended_learning_rate, ls="--", c="gray", label="recommended")
        ax.legend()
    ax.set(xscale="log", xlabel="learning rate", ylabel="smoothed loss",
           title="learning-rate range test" + ("" if report.recommended_learning_rate
                                                else ": no rate recommended"))
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=image_format(path))
    plt.close(fig)
    atomic_write(path, buffer.getvalue(), label="plot")
    return True


def image_format(path) -> str:
    """The image format that ``path``'s extension names; refused when matplotlib has none.

    Parameters
    ----------
    path : str or Path
        An image file, e.g. ``"lr.png"``.

    Returns
    -------
    str
        The extension in lower case, without its dot, e.g. ``"png"``.

    Raises
    ------
    FeedforwardError
        When the extension is not one matplotlib writes.
    """
    kind = Path(path).suffix.lower().lstrip(".")
    known = ("png", "svg", "pdf", "jpg", "jpeg", "eps", "ps", "tif", "tiff", "webp")
    if kind not in known:
        raise FeedforwardError(f"plot: expected an image file ending in .{', .'.join(known)}; "
                               f"got {str(path)!r}")
    return kind
