"""The ``feedforward`` command line: train, evaluate, predict, summary and datasets.

Run ``feedforward --help``, or ``python -m feedforward.cli --help``. The guide is docs/cli.md.
"""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
