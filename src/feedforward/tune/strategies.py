"""Search strategies: which trials to run, decided before any runs.

- ``grid``: every combination of the choices and of ``points`` values of each numeric range
  (``trials`` does not apply);
- ``random``: ``trials`` draws; draw ``i`` uses its own generator, seeded by ``(seed, i)``,
  so the first trials of a longer search are those of a shorter one, and a rerun with the
  same seed has the same trials.

A trial's id, ``NNNN-xxxxxxxx``, is its number and a digest of its parameters: the same space
and seed always give the same ids, which is what lets a search resume.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..errors import FeedforwardError
from .space import Space, digest

MAX_GRID = 100_000


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
    """The trials of a space under its settings (strategy, trials, seed, grid_points).

    Parameters
    ----------
    space : Space
        From :func:`~feedforward.tune.space.load`.

    Returns
    -------
    list of Trial
        In order, each configuration checked; duplicates (once parameters that do not apply
        are left out) appear once.
    """
    settings = space.settings
    if settings["strategy"] == "grid":
        draws = _grid(space)
    else:
        draws = _random(space, settings["trials"], settings["seed"])
    trials, seen = [], set()
    for params in draws:
        cfg, params = space.config(params)
        key = digest(params)
        if key in seen:
            continue
        seen.add(key)
        index = len(trials)
        trials.append(Trial(index, f"{index:04d}-{key[:8]}", params, dict(cfg)))
    return trials


def _grid(space: Space):
    axes = [r.grid(space.settings["grid_points"]) for r in space.ranges.values()]
    size = int(np.prod([len(a) for a in axes]))
    if size > MAX_GRID:
        raise FeedforwardError(f"tune.strategy (in {space.file}): the grid has {size} points, "
                               f"more than {MAX_GRID}; use fewer points or the random strategy")
    for combo in itertools.product(*axes):
        yield dict(zip(space.ranges, combo, strict=True))


def _random(space: Space, n: int, seed: int):
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        yield {key: r.sample(rng) for key, r in space.ranges.items()}
