"""Refit against no refit: the held-out score of a search's two candidate models.

For each data set and seed, 20 % of the rows are held out (stratified, by the seed) and given
to ``ff.tune.search`` as ``test_data``; the search sees only the other rows, which it splits
into training and validation rows (``val = 0.2``). One random search ranks its trials on
validation; then the best configuration is refit on the training and validation rows for its
trial's best epoch count (``model.safetensors``), and the best trial's own model is kept
(``best_trial.safetensors``). Both are scored on the held-out rows, which neither saw. The
table gives the mean accuracy over the seeds, and on how many seeds the refit scored at least
as well as the best trial's model.

The data sets: scikit-learn's digits (1,797 rows, 64 features, 10 classes), wine (178 rows,
13 features, 3 classes), breast cancer (569 rows, 30 features, 2 classes) and a generated
tabular set (``make_classification``: 3,000 rows, 40 features, 6 classes).

    .venv/bin/python benchmarks/tune_refit.py [--trials 12] [--seeds 3] [--epochs 100]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

import feedforward as ff

SEARCH = {"layers": {"choice": [[64], [128], [128, 64]]},
          "dropout": {"uniform": [0.0, 0.4]},
          "learning_rate": {"log_uniform": [3e-4, 1e-2]},
          "weight_decay": {"log_uniform": [1e-5, 3e-2]},
          "schedule": {"choice": ["constant", "cosine", "plateau"]},
          "patience": {"int": [5, 20]}}


def datasets() -> dict:
    """``{name: (x, y)}``."""
    from sklearn.datasets import load_breast_cancer, load_digits, load_wine, make_classification

    x, y = make_classification(n_samples=3000, n_features=40, n_informative=12,
                               n_redundant=8, n_classes=6, n_clusters_per_class=2,
                               class_sep=1.0, random_state=0)
    out = {name: (d.data, d.target) for name, d in (
        ("digits", load_digits()), ("wine", load_wine()), ("breast_cancer",
                                                            load_breast_cancer()))}
    return {**out, "generated": (x, y)}


def one(data, trials: int, seed: int, epochs: int) -> tuple[float, float, int, int]:
    """The held-out accuracy of the refit and of the best trial's model, and the rows each
    trained on."""
    from sklearn.model_selection import train_test_split

    x, y = data
    x_in, x_out, y_in, y_out = train_test_split(x, y, test_size=0.2, stratify=y,
                                                random_state=seed)
    space = {"fixed": {"epochs": epochs, "optimizer": "adamw", "scaling": "standard",
                       "batch_size": 32},
             "search": SEARCH, "tune": {"trials": trials, "seed": seed}}
    with tempfile.TemporaryDirectory(prefix="tune-refit-") as tmp:
        result = ff.tune.search(space, (x_in, y_in), out=Path(tmp), plots=False,
                                test_data=(x_out, y_out))
        assert result.model["kind"] == "refit", result.model
        trial = ff.load_model(Path(tmp) / "best_trial.safetensors")
        alone = trial.evaluate(x_out, y_out, return_dict=True)["accuracy"]
        trial_rows = round(len(x_in) * 0.8)
    return result.test["accuracy"], alone, result.model["rows"], trial_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--only", nargs="*", help="data sets to run (default: all)")
    args = parser.parse_args()
    print(f"{args.trials} random trials a search, {args.seeds} seeds; held-out accuracy, "
          "mean over the seeds")
    print("| data | rows (refit / trial) | refit | best trial's model | refit >= trial |")
    print("|---|---|---|---|---|")
    for name, data in datasets().items():
        if args.only and name not in args.only:
            continue
        runs = [one(data, args.trials, seed, args.epochs) for seed in range(args.seeds)]
        refit, alone = (np.array([r[i] for r in runs]) for i in (0, 1))
        print(f"| {name} | {runs[0][2]} / {runs[0][3]} | {refit.mean():.4f} | "
              f"{alone.mean():.4f} | {int((refit >= alone).sum())} of {len(runs)} |",
              flush=True)


if __name__ == "__main__":
    main()
