"""``feedforward datasets``, which lists what is built in; and the flags of a CSV file read for a
model. Where the commands get their data is :mod:`feedforward.data.sources`.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from rich import box
from rich.table import Table

from ..data import mnist, playground, sources, tabular
from ..errors import FeedforwardError


def add_csv_arguments(parser) -> None:
    """``--by-position``, ``--header/--no-header`` and ``--delimiter``, for a CSV file read for
    a model."""
    parser.add_argument("--by-position", action="store_true",
                        help="take a CSV file's columns in order, not by their names")
    parser.add_argument("--header", action=argparse.BooleanOptionalAction, default=None,
                        help="whether a CSV file's first row holds column names (default: "
                             "detect; a first row of numbers is data)")
    parser.add_argument("--delimiter", metavar="CHAR",
                        help="a CSV file's cell separator: , ; tab | or another single "
                             "character (default: a tab for .tsv and .tab files, else sniffed "
                             "among , ; tab |)")


# ---------------------------------------------------------------------------- the command
EXAMPLES = """\
examples:
  feedforward datasets
  feedforward datasets --json
  feedforward train --dataset spiral --samples 1000 --noise 0.1
  feedforward train --dataset measurements.csv --target species
"""


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        "datasets", parents=parents, help="list the built-in datasets",
        description="List the built-in datasets, with their task, size and classes.",
        epilog=EXAMPLES)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(run=run)
    return parser


def describe() -> list[dict]:
    """One row per built-in dataset: name, source, task, samples, features, classes."""
    rows = []
    for name in playground.names():
        x, y = playground.get(name)(sources.PLAYGROUND_SAMPLES, 0.0, 0)
        regression = playground.TASKS[name] == "regression"
        rows.append({"name": name, "source": "playground",
                     "task": playground.TASKS[name], "samples": int(x.shape[0]),
                     "features": int(x.shape[1]),
                     "classes": None if regression else len(np.unique(y))})
    for name in tabular.SKLEARN_DATASETS:
        row = {"name": name, "source": "scikit-learn"}
        try:
            ds = tabular.load_dataset(name)
        except FeedforwardError:  # scikit-learn is not installed
            row.update(task=None, samples=None, features=None, classes=None,
                       note="needs scikit-learn: pip install 'feedforward[sklearn]'")
        else:
            row.update(task="regression" if ds.classes is None else "classification",
                       samples=int(ds.x.shape[0]), features=int(ds.x.shape[1]),
                       classes=None if ds.classes is None else len(ds.classes))
        rows.append(row)
    folder = mnist.default_cache_dir() / "mnist"
    found = any(folder.glob("*-ubyte*"))
    rows.append({"name": "mnist", "source": "IDX files", "task": "classification",
                 "samples": 70000, "features": 784, "classes": 10,
                 "note": f"{'found in' if found else 'not downloaded to'} {folder}"})
    return rows


def run(args, console) -> int:
    rows = describe()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    columns = ("name", "task", "samples", "features", "classes", "source")
    table = Table(title="Built-in datasets", box=box.SIMPLE_HEAD)
    for col in columns:
        table.add_column(col, justify="right" if col in ("samples", "features", "classes")
                         else "left", no_wrap=True)
    for row in rows:
        table.add_row(*(("-" if row[c] is None else str(row[c])) for c in columns))
    console.print(table)
    for row in rows:
        if row.get("note"):
            console.print(f"{row['name']}: {row['note']}")
    console.print("Also: --dataset FILE.csv (its header row detected; --target COLUMN, by "
                  "default the last) or --dataset FOLDER (MNIST IDX files). Playground sets "
                  "take --samples "
                  f"(default {sources.PLAYGROUND_SAMPLES}) and --noise.")
    return 0
