"""``feedforward evaluate``: a model's loss and metrics on labelled data.

Without ``--data``, the data is the split of the training run recorded in the model file (the
test split by default), rebuilt from the recorded configuration: the same numbers ``train``
reported. With ``--data``, every row of that dataset is used; a CSV file's columns are matched
by name to the model's recorded features (``--by-position`` takes them in order), see
:func:`feedforward.data.sources.read_labelled`.
"""

from __future__ import annotations

import numpy as np

from .. import experiment, records
from ..data import sources
from ..errors import FeedforwardError
from ..inputs import labels_are_ids
from ..metrics import confusion_matrix
from . import common, datasets, flags

EXAMPLES = """\
examples:
  feedforward evaluate runs/digits/model.safetensors              # its run's test split
  feedforward evaluate runs/digits/model.safetensors --split val
  feedforward evaluate runs/iris/model.safetensors --data held_out.csv --target species
  feedforward evaluate runs/digits/model.safetensors --json | jq .metrics.accuracy

A CSV file given with --data has its columns matched by name to the model's features and its
target (as in the training data, in any order); a missing, unexpected or misspelled column is
refused. A file without a header row is detected (its first row holds numbers) and read by
position; --by-position does so for a file with a header; --header/--no-header force either
reading.
"""

SPLITS = ("test", "val", "train", "all")


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        "evaluate", parents=parents, help="loss and metrics of a model on labelled data",
        description="Evaluate a model file on labelled data: its loss, its metrics and, for "
                    "classification, the confusion matrix.",
        epilog=EXAMPLES)
    parser.add_argument("model", metavar="MODEL", help="a model file written by train")
    parser.add_argument("--data", "--dataset", "-d", dest="data", metavar="NAME|FILE|DIR",
                        help="labelled data: a built-in name, a CSV file or an MNIST folder "
                             "(default: the training run's data)")
    parser.add_argument("--target", metavar="COLUMN", type=flags.parse_target,
                        help="the target column of a CSV file: a name, or a 0-based index "
                             "(name:X or index:N for a name that is a number; default: the "
                             "training data's target column, else the last)")
    datasets.add_csv_arguments(parser)
    parser.add_argument("--split", choices=SPLITS, default=None,
                        help="which split of the training run's data (default: test, or "
                             "val, or train: the first the run had); with --data, every row "
                             "is used unless --split is given and the file is the very one "
                             "the run trained on")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.set_defaults(run=run)
    return parser


def run(args, console) -> int:
    with sources.notes_on_success():
        result = _evaluated(args)
    if args.json:
        common.print_json(result)
        return 0
    console.print(common.metrics_table(
        {f"{result['data']} ({result['split']}, {result['samples']} samples)":
         result["metrics"]}, "evaluation"))
    if "classes" in result and len(result["classes"]) <= 20:
        console.print(common.confusion_table(result["confusion_matrix"], result["classes"],
                                             "confusion matrix"))
    return 0


def _evaluated(args):
    """The result that ``--json`` prints: the data, its split, the metrics and, for
    classification, the classes and the confusion matrix."""
    model, record = records.load(args.model)
    if model.loss is None:
        raise FeedforwardError(f"MODEL: {args.model} holds no loss (it was saved before "
                               "compile), so it cannot be evaluated")
    if args.data is not None and args.split is not None:
        path = sources.csv_file(args.data)
        if path is None:
            raise FeedforwardError("--split: with --data, applies to the CSV file the run "
                                   "trained on; without --split every row is evaluated")
        _csv_only(args, "a CSV file given with --data and no --split", "--target")
        name, split, x, y = _recorded_data(args, record, path)
    elif args.data is not None:
        name, split, x, y = _given_data(args, model, record)
    else:
        _csv_only(args, "a CSV file given with --data", "--target")
        name, split, x, y = _recorded_data(args, record)
    with sources.unseen_categories(model, f"--data {name}"), labels_are_ids():
        logs = model.evaluate(x, y, return_dict=True)
        scores = model.predict(x)
    result = {"model": str(args.model), "data": name, "split": split, "samples": int(len(x)),
              "metrics": logs}
    classifier = common.is_classifier(model)
    if classifier:
        classes = common.classes_of(model)
        codes, _ = common.class_scores(scores)
        matrix = confusion_matrix(y, codes, num_classes=len(classes))
        result.update(classes=classes, confusion_matrix=matrix.tolist())
    return result


def _csv_only(args, where, *flags):
    """Refuse the CSV flags (``--by-position``, ``--header``, ``--delimiter``, and ``flags``)
    given elsewhere."""
    given = {"--target": args.target is not None, "--by-position": args.by_position,
             "--header/--no-header": args.header is not None,
             "--delimiter": args.delimiter is not None}
    for flag in ("--by-position", "--header/--no-header", "--delimiter", *flags):
        if given[flag]:
            raise FeedforwardError(f"{flag}: applies to {where}")


def _given_data(args, model, record):
    outputs = model.output_shape[-1]
    if not common.is_classifier(model) and outputs > 1:  # a table has one target column
        raise FeedforwardError(
            f"--data: evaluate --data takes one target column, so it cannot score a model of "
            f"{outputs} outputs ({args.model}); evaluate it in Python: model.evaluate(x, y) "
            f"with y of shape (n, {outputs})")
    path = sources.csv_file(args.data)
    if path is not None:
        data = sources.read_labelled(path, records.naming(model, record),
                                      model.raw_input_dim, args.target,
                                      args.by_position, args.header, label="--data",
                                      delimiter=args.delimiter,
                                      raw=model.row_encoder is not None)
    else:
        _csv_only(args, f"a CSV file, not to {args.data!r}")
        data = sources.load(args.data, args.target, label="--data")
    if data.x.shape[1] != model.raw_input_dim:
        raise FeedforwardError(f"--data: {data.name} has {data.x.shape[1]} feature columns; "
                               f"the model takes {model.raw_input_dim} features")
    if common.is_classifier(model):
        labels = data.y if data.classes is None else np.asarray(data.classes, dtype=object)[data.y]
        y = sources.label_codes(labels, common.classes_of(model), label="--data")
    else:  # whole numbers read as class labels are values here; text is refused by name
        y = sources.for_task(data, "regression", label="--data: the model's task,").y
    return data.name, "all", data.x, y


def _recorded_data(args, record, data_file=None):
    cfg = common.recorded_data_config(record, args.model, data_file)
    raw = sources.load(cfg["dataset"], cfg["target"], cfg["samples"], cfg["noise"],
                        cfg["seed"], label="the recorded dataset", header=cfg.get("header"),
                        delimiter=cfg.get("delimiter"), features=cfg.get("features"),
                        drop=cfg.get("drop"), categorical=cfg.get("categorical"),
                        impute=cfg.get("impute"),
                        missing_indicators=cfg.get("missing_indicators"))
    data = sources.for_task(raw, record.get("task", cfg["task"]))
    if args.split == "all":
        return data.name, "all", data.x, data.y
    parts = sources.split(data, cfg["val"], cfg["test"], cfg["seed"])
    splits = experiment.splits(parts)
    # by default the split train reported its final numbers on
    split = args.split or next(s for s in ("test", "val", "train") if len(splits[s][0]))
    _refuse_trained_on(record, split, args.model)
    x, y = splits[split]
    if len(x) == 0:
        other = "" if data_file else " or pass --data"
        raise FeedforwardError(f"--split {split}: the training run had no {split} split "
                               f"(--{split} 0); choose another split{other}")
    return data.name, split, x, y


def _refuse_trained_on(record, split, path):
    """A search's refit trained on the training and validation rows, and a cross-validation
    fold's model on rows of both: scored there, they would pass for held-out rows."""
    tune = record.get("tune") or {}
    if split in ("train", "val") and (tune.get("refit") or tune.get("fold") is not None):
        what = ("the refit of a search, trained on the training and validation rows"
                if tune.get("refit") else "the model of a cross-validation fold, trained on "
                                          "rows of both the training and validation splits")
        raise FeedforwardError(f"--split {split}: {path} is {what}, so those rows are not "
                               "held out; use --split test (or --data with other rows)")
