"""Search strategies: which trials to run.

- ``grid``: every combination of the choices and of ``points`` values of each numeric range
  (``trials`` does not apply);
- ``random``: ``trials`` draws; draw ``i`` uses its own generator, seeded by ``(seed, i)``,
  so the first trials of a longer search are those of a shorter one, and a rerun with the
  same seed has the same trials;
- ``tpe``: each trial is chosen as the search runs, from the results of the others
  (:mod:`feedforward.tune.adaptive`); its trials cannot be listed beforehand.

Grid and random trials are decided before any runs.

A trial's id, ``NNNN-xxxxxxxx``, is its number and a digest of its parameters: the same space
and seed always give the same ids, which is what lets a search resume.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from ..errors import FeedforwardError
from .space import MAX_TRIALS, Space, digest


@dataclass(frozen=True)
class Trial:
    """One configuration to train.

    Parameters
    ----------
    index : int
        Its number in the search.
    id : str
        ``NNNN-xxxxxxxx``, deterministic from the space and the seed.
    params : dict
        The searched options' values.
    config : dict
        The complete ``train`` configuration: fixed options, defaults and ``params``.
    """

    index: int
    id: str
    params: dict
    config: dict

    def to_dict(self) -> dict:
        """The trial as plain data, to send to a worker.

        Returns
        -------
        dict
            ``index``, ``id``, ``params``, ``config``.
        """
        return {"index": self.index, "id": self.id, "params": self.params,
                "config": self.config}


def make_trials(space: Space) -> list[Trial]:
    """The trials of a space, as a list: see :func:`iter_trials`.

    Parameters
    ----------
    space : Space
        As for :func:`iter_trials`.

    Returns
    -------
    list of Trial
        Every trial, in order.
    """
    return list(iter_trials(space))


def iter_trials(space: Space):
    """The trials of a space under its settings (strategy, trials, seed, grid_points), made
    one at a time as they are taken.

    Parameters
    ----------
    space : Space
        From :func:`~feedforward.tune.space.load`.

    Returns
    -------
    iterator of Trial
        In order, each configuration checked; duplicates (once parameters that do not apply
        are left out) appear once.

    Raises
    ------
    FeedforwardError
        At once, before any trial is made, when the grid has more than
        :data:`~feedforward.tune.space.MAX_TRIALS` points.
    """
    settings = space.settings
    if settings["strategy"] == "tpe":
        raise FeedforwardError(
            f"tune.strategy (in {space.file}): the tpe strategy chooses each trial from the "
            "results of the others as the search runs; its trials cannot be listed beforehand")
    if settings["strategy"] == "grid":
        draws = _grid(space, _grid_axes(space))
    else:
        draws = _random(space, settings["trials"], settings["seed"])
    return _unique(space, draws)


def probes(space: Space, n: int = 20) -> list[Trial]:
    """Random trials of ``space`` (its seed, at most ``n``), that stand for it in the checks
    made before a ``tpe`` search trains anything.

    Parameters
    ----------
    space : Space
        From :func:`~feedforward.tune.space.load`.
    n : int
        The most trials.

    Returns
    -------
    list of Trial
    """
    return list(_unique(space, _random(space, min(n, space.settings["trials"]),
                                       space.settings["seed"])))


def from_records(space: Space, records) -> list[Trial]:
    """The trials of the records of a search (``results.jsonl``), in index order.

    Parameters
    ----------
    space : Space
        The search's space.
    records : iterable of dict
        With ``index``, ``id`` and ``params``.

    Returns
    -------
    list of Trial
    """
    trials = []
    for r in sorted(records, key=lambda r: r["index"]):
        cfg, _ = space.config(r["params"])
        trials.append(Trial(r["index"], r["id"], r["params"], dict(cfg)))
    return trials


def _unique(space, draws):
    seen = set()
    for params in draws:
        cfg, params = space.config(params)
        key = digest(params)
        if key in seen:
            continue
        seen.add(key)
        index = len(seen) - 1
        yield Trial(index, f"{index:04d}-{key[:8]}", params, dict(cfg))


def _grid_axes(space: Space) -> list:
    """Each range's grid values (each at most MAX_TRIALS long: the load checked ``points``),
    once their product is known to be within the limit."""
    axes = [r.grid(space.settings["grid_points"]) for r in space.ranges.values()]
    size = math.prod(len(a) for a in axes)  # Python integers: NumPy's product would wrap
    if size > MAX_TRIALS:
        sizes = " x ".join(f"{k} {len(a)}" for k, a in zip(space.ranges, axes, strict=True))
        raise FeedforwardError(
            f"tune.strategy (in {space.file}): the grid has {size} points ({sizes}), more "
            f"than the limit of {MAX_TRIALS} (feedforward.tune.space.MAX_TRIALS); use fewer "
            "points or the random strategy")
    return axes


def _grid(space: Space, axes: list):
    for combo in itertools.product(*axes):
        yield dict(zip(space.ranges, combo, strict=True))


def _random(space: Space, n: int, seed: int):
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        yield {key: r.sample(rng) for key, r in space.ranges.items()}
