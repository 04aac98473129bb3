"""``feedforward tune``: search the hyperparameters of ``train`` over a space file.

Each trial is a ``train`` run with early stopping on the validation split. At the end, the best
configuration trains again on the training and validation rows (``--no-refit``: not), and that
model is scored once on the test file (``--test-data``) or the internal test split. The output
folder (``--out``) receives ``results.jsonl`` (one line per finished trial, written as it
finishes), the result model ``model.safetensors`` and its ``best.toml``, the ranked
``results.csv`` and ``results.md``, ``tune.png`` (with matplotlib) and ``search.json``. Running
the same command again resumes: only the trials missing from ``results.jsonl`` run (and a
refit that a kill interrupted). The guide is docs/tune.md.
"""

from __future__ import annotations

import argparse

from .flags import parse_target

EXAMPLES = """\
examples:
  feedforward tune examples/tune_digits.toml                     # random search, in this process
  feedforward tune examples/tune_digits.toml --jobs 2            # two local processes
  feedforward tune space.toml --strategy grid --out runs/grid
  feedforward tune space.toml --strategy tpe --pruner median     # Optuna's TPE, early pruning
  feedforward tune space.toml --scheduler tcp://10.0.0.5:8786    # on a Dask cluster
  feedforward tune space.toml --trials 50                        # 12 done? runs the other 38
  feedforward tune space.toml --strategy grid --dry-run          # the trials, without training
  feedforward tune space.toml --test-data held_out.csv           # scored once on a test file
  feedforward tune space.toml --cv 5 --no-refit                  # 5-fold scores; the trial's model
  feedforward tune --quick measurements.csv --target species     # a built-in space, no file
  feedforward tune --quick --dataset digits --strategy tpe

The space file has a [fixed] table (options of `feedforward train`), a [search] table with one
range per searched option, and an optional [tune] table (strategy, trials, seed, metric,
grid_points, pruner, refit, test_data, cv; the flags override it):

  [fixed]
  dataset = "digits"
  epochs = 30
  [search]
  learning_rate = {log_uniform = [1e-4, 1e-1]}
  layers = {choice = [[64], [128, 64]]}
  dropout = {uniform = [0, 0.5]}
  batch_size = {int_log = [16, 128]}
"""


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        "tune", parents=parents, help="search hyperparameters over a space file",
        description="Search the hyperparameters of `feedforward train`: train one network per "
                    "trial of a grid or random search, rank them on the validation split, and "
                    "write the results, the best model and a plot into a folder. A rerun "
                    "resumes where the last one stopped.",
        epilog=EXAMPLES)
    parser.add_argument("space", metavar="SPACE.toml", nargs="?",
                        help="the search space file (with --quick: the data, a CSV file)")
    parser.add_argument("--quick", action="store_true",
                        help="search a built-in space suited to the data's size (layers, "
                             "dropout, AdamW's learning rate and weight decay, schedule, "
                             "patience): give the data as DATA.csv or --dataset, no space file")
    parser.add_argument("--dataset", "-d", metavar="NAME|FILE",
                        help="--quick: a built-in dataset or a CSV file (as train's)")
    parser.add_argument("--target", metavar="COLUMN", type=parse_target,
                        help="--quick: the CSV file's target column, a name or a 0-based "
                             "index (default: the last)")
    parser.add_argument("--refit", action=argparse.BooleanOptionalAction, default=None,
                        help="train the best configuration again on the training and "
                             "validation rows, for its best epoch count, and save that model "
                             "(default: the file's, yes); --no-refit saves the best trial's "
                             "model")
    parser.add_argument("--test-data", metavar="FILE",
                        help="a labelled CSV file that scores the saved model once, at the end; "
                             "then no internal test split is taken (default: the file's)")
    parser.add_argument("--cv", type=int, metavar="K",
                        help="score each trial by the mean validation score over K folds of "
                             "the training and validation rows (small data)")
    parser.add_argument("--out", "-o", metavar="DIR",
                        help="output folder (default: runs/tune-SPACE)")
    parser.add_argument("--strategy", choices=("random", "grid", "tpe"),
                        help="random draws, every grid point, or tpe: Optuna's TPE, each trial "
                             "chosen from the others' results (default: the file's, random)")
    parser.add_argument("--pruner", choices=("median", "halving", "hyperband", "none"),
                        help="tpe: stop trials whose validation curve falls behind, by the "
                             "median of the others, successive halving or Hyperband "
                             "(default: the file's, median)")
    parser.add_argument("--trials", type=int, metavar="N",
                        help="number of random trials (default: the file's, 20)")
    parser.add_argument("--seed", type=int, metavar="N",
                        help="seed of the random draws and of training, when [fixed] has none "
                             "(default: the file's, 0)")
    parser.add_argument("--metric", metavar="NAME",
                        help="validation value that ranks the trials, e.g. val_loss; auto: "
                             "val_accuracy for classification, val_loss otherwise")
    parser.add_argument("--grid-points", type=int, metavar="N",
                        help="values of each numeric range on a grid (default: the file's, 3)")
    parser.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                        help="local worker processes (0: one per CPU; default: 1, in this "
                             "process)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run the trials on the Dask cluster of this scheduler "
                             "(tcp://HOST:8786)")
    parser.add_argument("--retries", type=int, default=2, metavar="N",
                        help="Dask: reruns of a trial that raised; --jobs: restarts of the "
                             "processes after one died (default: 2); a trial whose Dask worker "
                             "dies is rerun on another in any case")
    parser.add_argument("--plots", action=argparse.BooleanOptionalAction, default=True,
                        help="write tune.png (needs matplotlib; default: yes)")
    parser.add_argument("--dry-run", action="store_true",
                        help="list the trials (ids and parameters) and train nothing")
    parser.set_defaults(run=run)
    return parser


def run(args, console) -> int:
    from ..errors import FeedforwardError
    from ..tune import search  # not at import: the other commands need none of it
    from ..tune.space import check_setting

    for key in ("trials", "seed", "grid_points", "cv"):
        if getattr(args, key) is not None:
            check_setting(key, getattr(args, key), "--" + key.replace("_", "-"))
    for flag, value in (("--jobs", args.jobs), ("--retries", args.retries)):
        if value < 0:
            raise FeedforwardError(f"{flag}: expected an integer >= 0, got {value}")
    if args.scheduler and args.jobs != 1:
        raise FeedforwardError("--jobs: applies to local processes, not with --scheduler "
                               "(the cluster's workers run the trials)")
    space, out = _space(args)
    if args.dry_run:
        return _list(args, space, console)
    result = search(space, out=out, refit=args.refit, test_data=args.test_data, cv=args.cv,
                    strategy=args.strategy, trials=args.trials, seed=args.seed,
                    metric=args.metric, grid_points=args.grid_points, pruner=args.pruner,
                    jobs=args.jobs, scheduler=args.scheduler, retries=args.retries,
                    plots=args.plots, console=console)
    # no model to use: a script must see it failed (the report said why)
    return 0 if result.best is not None else 1


def _space(args):
    """The space (a file, or with --quick the built-in one for the data) and the --out."""
    from pathlib import Path

    from ..errors import FeedforwardError
    from ..tune import quick

    if not args.quick:
        for flag, value in (("--dataset", args.dataset), ("--target", args.target)):
            if value is not None:
                raise FeedforwardError(f"{flag}: applies with --quick (a space file names its "
                                       "data in [fixed])")
        if args.space is None:
            raise FeedforwardError("SPACE.toml: expected a space file, or --quick DATA.csv")
        if Path(args.space).suffix.lower() in (".csv", ".tsv", ".txt"):
            raise FeedforwardError(f"SPACE.toml: {args.space} looks like data, not a space "
                                   f"file; to search a built-in space for it: feedforward tune "
                                   f"--quick {args.space}")
        return args.space, args.out
    if (args.space is None) == (args.dataset is None):
        raise FeedforwardError("--quick: expected the data once, as DATA.csv or --dataset "
                               f"NAME, got {args.space or 'neither'}"
                               + (f" and --dataset {args.dataset}" if args.space else ""))
    data = args.space or args.dataset
    space = quick.space_for(data, args.target)
    return space, args.out or str(Path("runs") / f"tune-quick-{Path(data).stem}")


def _list(args, space, console) -> int:
    """Print the trials of the space, one row each."""
    from ..tune import load_space, make_trials, report, results

    space = load_space(space, strategy=args.strategy, trials=args.trials, seed=args.seed,
                       grid_points=args.grid_points, pruner=args.pruner)
    trials = make_trials(space)
    body = [[t.id, *(results.cell(t.params.get(k), "-") for k in space.ranges)] for t in trials]
    report.print_table(console, f"{len(trials)} trials ({space.settings['strategy']} search)",
                       ["id", *space.ranges], body)
    return 0
