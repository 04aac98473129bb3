"""TPE with pruning against random search, on the same budget: the held-out score.

For each data set and each seed, ``ff.tune.search`` runs the same space into fresh folders:
``strategy = "random"``; ``strategy = "tpe"`` with ``pruner = "median"`` and the same number
of trials; and tpe with median pruning again, running trials until it has trained as many
epochs in all as the random search (the budget pruning saves; epochs, not seconds, so that a
loaded machine does not decide it). All use the same seed (so the same split into training,
validation and test rows) and the same trial recipe. Each search picks its best trial on the
validation split; the table reports that model's accuracy on the test split, which no search
saw, as the mean over the seeds.

The data sets: scikit-learn's digits (1,797 images of 8 x 8 pixels, 10 classes), a generated
tabular set (``make_classification``: 3,000 rows, 40 features of which 12 informative,
6 classes) and scikit-learn's breast cancer set (569 rows, 30 features, 2 classes).

The space is wide, as a first search's is: a learning rate from 1e-5 to 1, dropout up to 0.7,
batch sizes from 16 to 512, one to three layers of 16 to 256 units. Every trial is
deterministic from its seed, so the accuracies do not depend on the machine's load; on a
busy machine run it with one BLAS thread (``OPENBLAS_NUM_THREADS=1``), much faster there.

    .venv/bin/python benchmarks/tune_tpe.py [--trials 24] [--seeds 3] [--epochs 25] [--jobs 1]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

import feedforward as ff

SEARCH = {"hidden_layers": {"int": [1, 3]}, "units": {"int_log": [16, 256]},
          "activation": {"choice": ["relu", "tanh"]},
          "learning_rate": {"log_uniform": [1e-5, 1.0]}, "dropout": {"uniform": [0.0, 0.7]},
          "l2": {"log_uniform": [1e-6, 1e-1]}, "batch_size": {"int_log": [16, 512]}}


def datasets() -> dict:
    """``{name: (x, y)}``: digits, a generated tabular set, breast cancer."""
    from sklearn.datasets import load_breast_cancer, load_digits, make_classification

    digits = load_digits()
    x, y = make_classification(n_samples=3000, n_features=40, n_informative=12,
                               n_redundant=8, n_classes=6, n_clusters_per_class=2,
                               class_sep=1.0, random_state=0)
    cancer = load_breast_cancer()
    return {"digits": (digits.data, digits.target), "generated": (x, y),
            "breast_cancer": (cancer.data, cancer.target)}


def space(strategy: str, trials: int, seed: int, epochs: int) -> dict:
    tune = {"strategy": strategy, "trials": trials, "seed": seed, "metric": "val_accuracy"}
    if strategy == "tpe":
        tune["pruner"] = "median"
    return {"fixed": {"epochs": epochs, "patience": 6, "scaling": "standard"},
            "search": SEARCH, "tune": tune}


class Spent(Exception):
    """The budget of epochs is spent."""


def one(data, strategy: str, trials: int, seed: int, epochs: int, jobs: int,
        budget: int | None = None) -> dict:
    """One search of ``trials`` trials, or, given ``budget``, as many as fit in that many
    epochs of training in all; its best model's test accuracy, its training seconds and
    epochs, its trials and the trials pruned."""
    with tempfile.TemporaryDirectory(prefix="tune-tpe-") as tmp:
        spent = []

        def count(record):
            spent.append(record["epochs"])
            if budget is not None and sum(spent) >= budget:
                raise Spent

        s = space(strategy, trials, seed, epochs)
        try:
            result = ff.tune.search(s, data, out=Path(tmp), plots=False, jobs=jobs,
                                    on_result=count)
        except Spent:  # the study goes on no further: report on the trials it ran
            result = ff.tune.search(s, data, out=Path(tmp), plots=False, jobs=jobs,
                                    trials=len(spent))
    return {"test": result.test["accuracy"], "val": result.best["metrics"]["val_accuracy"],
            "seconds": sum(r["seconds"] for r in result.records),
            "epochs": sum(r["epochs"] for r in result.records), "trials": len(result.records),
            "pruned": sum(bool(r.get("pruned")) for r in result.records)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    rows = []
    for name, data in datasets().items():
        runs = {"random": [], "tpe": [], "tpe_epochs": []}
        for seed in range(args.seeds):
            r = one(data, "random", args.trials, seed, args.epochs, args.jobs)
            runs["random"].append(r)
            runs["tpe"].append(one(data, "tpe", args.trials, seed, args.epochs, args.jobs))
            runs["tpe_epochs"].append(one(data, "tpe", 10 * args.trials, seed, args.epochs,
                                          args.jobs, budget=r["epochs"]))
            for key, runs_of in runs.items():
                x = runs_of[-1]
                print(f"  {name} seed {seed} {key}: test {x['test']:.4f} val {x['val']:.4f} "
                      f"({x['trials']} trials, {x['epochs']} epochs, {x['seconds']:.1f} s "
                      f"training, {x['pruned']} pruned)", flush=True)
        rows.append((name, runs))
    table(rows, args)


def table(rows, args) -> None:
    """Print the markdown table of the mean test accuracies."""
    print(f"\nTest accuracy of each search's best model, mean over {args.seeds} seeds (at most "
          f"{args.epochs} epochs per trial). Same trials: {args.trials} each. Same epochs: "
          "tpe runs trials until it has trained as many epochs in all as random search.\n")
    print("| data set | random | tpe + median, same trials | tpe + median, same epochs "
          "| trials pruned (same trials) | epochs trained: random / tpe same trials |")
    print("|---|---|---|---|---|---|")
    wins = {"tpe": 0, "tpe_epochs": 0}
    for name, runs in rows:
        mean = {k: np.mean([r["test"] for r in v]) for k, v in runs.items()}
        for key in wins:
            wins[key] += mean[key] > mean["random"]
        n = np.mean([r["trials"] for r in runs["tpe_epochs"]])
        epochs = {k: sum(r["epochs"] for r in v) for k, v in runs.items()}
        print(f"| {name} | {mean['random']:.4f} | {mean['tpe']:.4f} | {mean['tpe_epochs']:.4f} "
              f"({n:.0f} trials) | {sum(r['pruned'] for r in runs['tpe'])} of "
              f"{args.trials * args.seeds} | {epochs['random']} / {epochs['tpe']} |")
    print(f"\ntpe with pruning better than random on {wins['tpe']} of {len(rows)} data sets "
          f"with the same trials, on {wins['tpe_epochs']} of {len(rows)} with the same "
          "epochs")


if __name__ == "__main__":
    main()
