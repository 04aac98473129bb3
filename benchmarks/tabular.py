"""``feedforward train`` with its defaults beside scikit-learn, on every built-in dataset.

For each dataset, three learners are fitted on the same training rows and scored on the same
test rows: the split that ``feedforward train`` itself makes (its recipe's, 60 / 20 / 20,
stratified for classes, seed 0):

- ``feedforward``: the real command line, ``feedforward train --dataset NAME`` with no training
  flag (``--out`` a temporary folder, ``--no-plots``, ``--quiet``); its ``metrics.json`` gives
  the test score and the training time;
- scikit-learn's ``MLPClassifier`` / ``MLPRegressor`` with its default parameters but
  ``max_iter=2000`` and ``random_state=0``, after a ``StandardScaler``;
- the linear baseline, ``LogisticRegression(max_iter=5000)`` / ``Ridge()``, after a
  ``StandardScaler``.

The baselines are fitted on the training part only, the rows whose gradients feedforward
follows (feedforward also watches the validation part, to stop early and keep its best epoch).
Scores: test accuracy for classes, test R^2 for regression, both in points (R^2 x 100).
The last column says whether feedforward is within 1 point of the best of the three.

Two mixed-type CSV files are generated too (seeded, into a temporary folder): text categories
with missing cells, and numbers of very different scales with missing cells, one with a class
target and one with a numeric target. For them, the baselines preprocess with a
``ColumnTransformer``: ``SimpleImputer(strategy="most_frequent")`` + ``OneHotEncoder(
handle_unknown="ignore")`` for the text columns, ``SimpleImputer(strategy="median")`` +
``StandardScaler`` for the numbers. A learner that fails gets its error in the table in place
of a score, and the others still run.

Usage::

    .venv/bin/python benchmarks/tabular.py                 # every dataset, a Markdown table
    .venv/bin/python benchmarks/tabular.py --only iris,wine --json
    .venv/bin/python benchmarks/tabular.py --mnist /work/shared/datasets/mnist   # + MNIST IDX
    .venv/bin/python benchmarks/tabular.py --seeds 0,1,2,3,4   # mean over five splits

``--seeds`` repeats each row on other splits: the seed is ``train``'s ``--seed``, which draws
both the split and feedforward's initial weights. Test sets of 30 to 114 rows move by a whole
row from one split to the next, so the mean over a few seeds tells a default's effect from a
split's luck. Each cell is then the mean score and the mean seconds over the seeds, and the
verdict compares the means.

The exit status is 1 when a row is not within 1 point or has an error, else 0.

The built-in ``mnist`` is left out: it is downloaded on demand, and 70,000 images take minutes
per learner. ``--mnist FOLDER`` adds a row for a folder of MNIST IDX files instead.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from feedforward import config, experiment
from feedforward.cli import main as feedforward_cli
from feedforward.data import sources

TOLERANCE = 1.0  # points of accuracy, or of R^2 x 100
MIXED = ("mixed_classification", "mixed_regression")
LEARNERS = ("feedforward", "sklearn_mlp", "linear")


# ---------------------------------------------------------------------------- the datasets
def datasets() -> list[str]:
    """The built-in datasets the table covers (all but ``mnist``), then the mixed CSVs."""
    return [n for n in sources.names() if n != "mnist"] + list(MIXED)


def write_mixed(folder: Path, name: str, n: int = 600, seed: int = 0) -> tuple[Path, str]:
    """A mixed-type CSV file ``folder / (name + ".csv")`` and its target column.

    Columns: ``age`` (18 to 80), ``income`` (thousands to a few hundred thousand, 5 % missing),
    ``colour`` (red, green, blue; 5 % missing), ``city`` (five names), ``ratio`` (0 to 1,
    3 % missing) and the target: ``bought`` (yes / no) for ``mixed_classification``,
    ``spend`` (a number) for ``mixed_regression``. The target depends on every column,
    through the categories too, with noise.

    Parameters
    ----------
    folder : Path
        Where to write.
    name : {"mixed_classification", "mixed_regression"}
        Which file.
    n : int
        Rows.
    seed : int
        The generator's seed.

    Returns
    -------
    path : Path
    target : str
    """
    rng = np.random.default_rng([seed, MIXED.index(name)])
    age = rng.integers(18, 81, n)
    income = np.round(np.exp(rng.normal(10.8, 0.6, n)), -2)
    colour = rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2])
    city = rng.choice(["Lyon", "Oslo", "Porto", "Turin", "Gent"], n)
    ratio = np.round(rng.uniform(0, 1, n), 3)
    effect = {"red": 0.8, "green": -0.4, "blue": 0.0}
    town = {"Lyon": 0.5, "Oslo": -0.5, "Porto": 0.0, "Turin": 0.3, "Gent": -0.3}
    z = (np.array([effect[c] for c in colour]) + np.array([town[c] for c in city])
         + 1.2 * np.tanh((np.log(income) - 10.8) / 0.6) - 0.03 * (age - 45)
         + 1.5 * (ratio - 0.5) ** 2 * 4 - 0.5)
    if name == "mixed_classification":
        target = "bought"
        y = np.where(z + rng.normal(0, 0.5, n) > 0, "yes", "no")
    else:
        target = "spend"
        y = np.round(50 * z + rng.normal(0, 10, n) + 200, 2)
    columns = {"age": age.astype(str), "income": income.astype(np.int64).astype(str),
               "colour": colour, "city": city, "ratio": ratio.astype(str), target: y.astype(str)}
    for key, rate in (("income", 0.05), ("colour", 0.05), ("ratio", 0.03)):
        cells = columns[key].astype(object)
        cells[rng.random(n) < rate] = ""
        columns[key] = cells
    path = folder / f"{name}.csv"
    rows = [",".join(columns)] + [",".join(str(columns[k][i]) for k in columns)
                                  for i in range(n)]
    path.write_text("\n".join(rows) + "\n")
    return path, target


# ---------------------------------------------------------------------------- one row
def split_rows(spec: str, target: str | None = None, seed: int = 0) -> tuple[str, dict]:
    """The task of a dataset and the row indexes of its train and test parts, as
    ``feedforward train`` splits it with its defaults.

    Parameters
    ----------
    spec : str
        A built-in name, a CSV file or a folder.
    target : str, optional
        A CSV file's target column.
    seed : int
        ``train``'s ``--seed``.

    Returns
    -------
    task : str
    rows : dict
        ``{"train": ndarray, "test": ndarray}`` of row indexes into the file (or dataset).
    """
    cfg = config.resolve({"dataset": spec, "target": target, "seed": seed})
    data, parts = experiment.load(cfg)
    # the same split of the row numbers: it depends only on the number of rows, the
    # targets (stratification) and the seed
    index = replace(data, x=np.arange(len(data.y))[:, None])
    rows = sources.split(index, cfg["val"], cfg["test"], cfg["seed"])
    if data.x.dtype.kind in "fiub":  # numeric features: the two splits must agree
        assert np.array_equal(data.x[rows.x_train[:, 0]], parts.x_train)
    return data.task, {"train": rows.x_train[:, 0], "test": rows.x_test[:, 0]}


def run_feedforward(spec: str, target: str | None = None, seed: int = 0) -> dict:
    """``feedforward train --dataset SPEC`` with the defaults (and ``--seed SEED`` unless 0):
    test score, fit seconds, epochs."""
    with tempfile.TemporaryDirectory() as tmp:
        argv = ["train", "--dataset", spec, "--out", str(Path(tmp) / "run"), "--no-plots",
                "--quiet"] + (["--target", target] if target else []) \
            + (["--seed", str(seed)] if seed else [])
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = feedforward_cli(argv)
        if code != 0:
            raise RuntimeError(err.getvalue().strip().splitlines()[-1] if err.getvalue()
                               else f"exit status {code}")
        metrics = json.loads((Path(tmp) / "run" / "metrics.json").read_text())
    test = metrics["test"]
    score = test["accuracy"] if metrics["task"] == "classification" else test["r2"]
    return {"score": 100 * score, "seconds": metrics["train_seconds"],
            "epochs": metrics["epochs"]}


def _features(spec, target, rows, seed=0):
    """Train and test features for scikit-learn, and a preprocessing step for them (a
    generated dataset is drawn with ``seed``, as ``train --seed`` draws it)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    if target is None:  # numeric data of the recipe, row for row
        cfg = config.resolve({"dataset": spec, "seed": seed})
        data, _ = experiment.load(cfg)
        x, y = data.x.astype(np.float64), data.y
        return x[rows["train"]], y[rows["train"]], x[rows["test"]], y[rows["test"]], \
            StandardScaler
    import pandas as pd

    frame = pd.read_csv(spec)
    y = frame.pop(target).to_numpy()
    text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    numbers = [c for c in frame.columns if c not in text]

    def prep():
        return ColumnTransformer([
            ("text", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                   OneHotEncoder(handle_unknown="ignore")), text),
            ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
             numbers)])
    return (frame.iloc[rows["train"]], y[rows["train"]], frame.iloc[rows["test"]],
            y[rows["test"]], prep)


def run_sklearn(kind: str, task: str, split) -> dict:
    """A scikit-learn baseline (``sklearn_mlp`` or ``linear``): test score and fit seconds."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline

    x_train, y_train, x_test, y_test, prep = split
    classes = task == "classification"
    if kind == "sklearn_mlp":
        learner = (MLPClassifier if classes else MLPRegressor)(max_iter=2000, random_state=0)
    else:
        learner = LogisticRegression(max_iter=5000) if classes else Ridge()
    model = make_pipeline(prep(), learner)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings: the score tells
        model.fit(x_train, y_train)
    seconds = time.perf_counter() - start
    return {"score": 100 * model.score(x_test, y_test), "seconds": seconds}


def measure(name: str, folder: Path, seed: int = 0) -> dict:
    """One row: each learner's score and seconds, or its error, on the split of ``seed``."""
    target = None
    spec = name
    if name in MIXED:
        path, target = write_mixed(folder, name)
        spec = str(path)
    row = {"dataset": name, "task": None, "n": None}
    try:
        task, rows = split_rows(spec, target, seed)
        row.update(task=task, n=f"{len(rows['train'])}/{len(rows['test'])}")
        split = _features(spec, target, rows, seed)
    except Exception as e:  # noqa: BLE001 - reported in the table, the next row still runs
        task, split = None, None
        row["error"] = _one_line(e)
    for kind in LEARNERS:
        try:
            if kind == "feedforward":
                row[kind] = run_feedforward(spec, target, seed)
            elif split is None:
                row[kind] = {"error": "no split: " + row["error"]}
            else:
                row[kind] = run_sklearn(kind, task, split)
        except Exception as e:  # noqa: BLE001 - as above
            row[kind] = {"error": _one_line(e)}
    row["within"] = _within(row)
    return row


def mean_row(rows: list[dict]) -> dict:
    """The rows of one dataset on several seeds as one: each learner's mean score and seconds
    (an error on any seed is the row's error); the verdict on the means."""
    row = {k: rows[0][k] for k in ("dataset", "task", "n")}
    row["seeds"] = [r.get("seed", 0) for r in rows]
    for kind in LEARNERS:
        errors = [r[kind]["error"] for r in rows if "error" in r[kind]]
        row[kind] = {"error": errors[0]} if errors else {
            key: float(np.mean([r[kind][key] for r in rows])) for key in ("score", "seconds")}
    row["within"] = _within(row)
    return row


def _one_line(error) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[-1] if text else ''}"[:160]


def _within(row) -> bool | None:
    """Whether feedforward is within TOLERANCE of the best score; None if one is missing."""
    scores = [row[k].get("score") for k in LEARNERS]
    if any(s is None for s in scores):
        return None
    return scores[0] >= max(scores) - TOLERANCE


# ---------------------------------------------------------------------------- the report
def table(rows: list[dict]) -> str:
    """The Markdown table of ``rows``."""
    lines = ["| dataset | task | train/test | feedforward | s | sklearn MLP | s | linear | s "
             "| within 1 point |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        cells = [row["dataset"], _task(row["task"]), row["n"] or "-"]
        for kind in LEARNERS:
            result = row[kind]
            if "error" in result:
                cells += [f"error ({result['error']})", "-"]
            else:
                cells += [f"{result['score']:.1f}", f"{result['seconds']:.1f}"]
        cells.append({True: "yes", False: "**no**", None: "-"}[row["within"]])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _task(task):
    return {"classification": "accuracy %", "regression": "R² × 100"}.get(task, "-")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", metavar="NAME,...",
                        help=f"datasets, comma-separated (default: {', '.join(datasets())})")
    parser.add_argument("--mnist", metavar="FOLDER",
                        help="add a row for a folder of MNIST IDX files")
    parser.add_argument("--json", action="store_true", help="print JSON, not the table")
    parser.add_argument("--seeds", metavar="SEED,...", default="0",
                        help="train's --seed, comma-separated: the mean over these splits "
                             "(default: 0)")
    args = parser.parse_args(argv)
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        parser.error(f"--seeds: expected integers separated by commas, got {args.seeds!r}")
    if min(seeds) < 0 or len(set(seeds)) != len(seeds):
        parser.error(f"--seeds: expected distinct seeds >= 0, got {args.seeds!r}")
    names = args.only.split(",") if args.only else datasets()
    unknown = [n for n in names if n not in datasets()]
    if unknown:
        parser.error(f"--only: unknown dataset {unknown[0]!r}; choose from "
                     f"{', '.join(datasets())}")
    names += [args.mnist] if args.mnist else []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            runs = [{**measure(name, Path(tmp), seed), "seed": seed} for seed in seeds]
            rows.append(runs[0] if len(runs) == 1 else mean_row(runs))
            if not args.json:
                print(f"{name}: done", file=sys.stderr)
    print(json.dumps(rows, indent=1) if args.json else table(rows))
    return 0 if all(r["within"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
