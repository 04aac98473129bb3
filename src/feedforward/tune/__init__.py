"""Hyperparameter search: ``feedforward tune SPACE.toml`` and :func:`search`.

A search space fixes some options of ``feedforward train`` and gives ranges for others (see
:mod:`feedforward.tune.space` and docs/tune.md); each trial is a ``train`` run with early
stopping on the validation split. Trials run in this process, in a pool of local processes
(``jobs``), or on a Dask cluster (``scheduler`` or ``client``); results are appended to
``results.jsonl`` as trials finish, and a rerun resumes.

Example
-------
>>> import feedforward as ff
>>> result = ff.tune.search("examples/tune_digits.toml", jobs=2)   # doctest: +SKIP
>>> result.best_params, result.best["metrics"]                      # doctest: +SKIP
"""

from .search import SearchResult, search
from .space import Range, Space
from .space import load as load_space
from .strategies import Trial, make_trials

__all__ = ["Range", "SearchResult", "Space", "Trial", "load_space", "make_trials", "search"]
