"""``feedforward predict``: a model's answers for the rows of a CSV file.

Rows are raw, unscaled features: the model file carries its scaling. Classification gives the
predicted class label and one probability per class; regression gives the predicted values.
Numbers are written in the shortest form that reads back as the same number of the model's
float type, so the file holds exactly what ``model.predict`` returned.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import numpy as np
from rich.table import Table

from .. import records
from ..data import sources, tabular
from ..errors import FeedforwardError
from ..fileio import atomic_write
from . import common, datasets

EXAMPLES = """\
examples:
  feedforward predict runs/iris/model.safetensors flowers.csv     # a table, or CSV when piped
  feedforward predict runs/iris/model.safetensors flowers.csv -o predictions.csv
  feedforward predict runs/iris/model.safetensors flowers.csv --json

INPUT.csv (.tsv: tab-separated) has its columns matched by name to the model's features, in
any order; a column named as the training target is ignored, and any missing, unexpected or
misspelled column is refused. A file without a header row is detected (its first row holds
numbers) and read by position, as many columns as the model has features; --by-position does so
for a file with a header; --header/--no-header force either reading.

A model trained on a table with categorical columns or missing cells takes its raw rows: a
missing cell is filled as in training, and a category not seen in training becomes all zeros
(one warning line on stderr counts them).
"""


TEXT_SUFFIXES = ("", ".csv", ".txt", ".out", ".json", *tabular.TAB_SUFFIXES)  # -o formats
COMPRESSED = (".gz", ".bz2", ".xz", ".zip", ".zst", ".7z")  # refused, with a hint


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        "predict", parents=parents, help="predict classes or values for the rows of a CSV file",
        description="Predict with a model file on the rows of a CSV file of raw features: class "
                    "labels with per-class probabilities, or values for regression.",
        epilog=EXAMPLES)
    parser.add_argument("model", metavar="MODEL", help="a model file written by train")
    parser.add_argument("input", metavar="INPUT.csv",
                        help="rows of raw features, with a header row naming them")
    parser.add_argument("--output", "-o", metavar="OUT.csv",
                        help="write the predictions to this file: CSV, or tab-separated for "
                             ".tsv and .tab, or JSON (as --json prints it) for .json; - for "
                             "CSV on stdout")
    parser.add_argument("--json", action="store_true", help="print the predictions as JSON")
    datasets.add_csv_arguments(parser)
    parser.set_defaults(run=run)
    return parser


def predictions(model, x):
    """Column names and rows (lists of Python values) of the predictions for ``x``."""
    out = model.predict(x)
    if common.is_classifier(model):
        classes = common.classes_of(model)
        codes, probs = common.class_scores(out)
        columns = ["prediction", *(f"probability_{c}" for c in classes)]
        rows = [[classes[c], *p] for c, p in zip(codes.tolist(), probs, strict=True)]
    else:
        columns = (["prediction"] if out.shape[1] == 1 else
                   [f"prediction_{j}" for j in range(out.shape[1])])
        rows = [list(r) for r in out]
    return columns, rows


def run(args, console) -> int:
    with sources.notes_on_success():  # an error is one line
        return _run(args, console)


def _run(args, console) -> int:
    model, record = records.load(args.model)
    x = sources.read_features(args.input, records.naming(model, record),
                               model.raw_input_dim, args.by_position,
                               args.header, label="INPUT.csv", delimiter=args.delimiter,
                               raw=model.row_encoder is not None)
    with sources.unseen_categories(model, f"INPUT.csv {args.input}"):
        columns, rows = predictions(model, x)
    piped = args.output == "-"  # stdout, as CSV even in a terminal
    if piped:
        args.output = None
    if args.output:
        _refuse_own_files(args)
        atomic_write(args.output, _output_text(args.output, columns, rows, model),
                     label="--output")  # all of it, or none
        said = f"wrote {len(rows)} predictions to {args.output}"
        if args.json:  # stdout is then the JSON alone
            sys.stderr.write(said + "\n")
        else:
            console.print(said)
    if args.json:
        classes = common.classes_of(model) if common.is_classifier(model) else None
        common.print_json(_as_json(columns, rows, classes))
    elif not args.output:
        if sys.stdout.isatty() and not piped:
            console.print(_table(columns, rows))
        else:
            buffer = io.StringIO()
            _write_csv(buffer, columns, rows)
            sys.stdout.write(buffer.getvalue())
    return 0


def _output_text(path, columns, rows, model) -> str:
    """The predictions as the text of the file ``--output`` names, in the format its suffix
    says: JSON for ``.json``, tab-separated for ``.tsv`` and ``.tab`` (as ``train`` reads
    them), CSV for ``.csv``, ``.txt``, ``.out`` or no suffix. Any other suffix
    (``.parquet``, ``.jsonl``, ``.xlsx``, ``.gz``...) is refused rather than given CSV text
    that would not read back."""
    suffix = Path(path).suffix.lower()
    if suffix not in TEXT_SUFFIXES:
        kind = "Parquet" if suffix in tabular.PARQUET_SUFFIXES else (
            f"compressed ({suffix})" if suffix in COMPRESSED else suffix)
        hint = ", and compress it afterwards" if suffix in COMPRESSED else ""
        raise FeedforwardError(f"--output: {path!r} names a {kind} file, which predict does "
                               "not write (it writes CSV, tab-separated or JSON text); name a "
                               f".csv, .tsv, .tab, .txt, .out or .json file{hint}")
    if suffix == ".json":
        classes = common.classes_of(model) if common.is_classifier(model) else None
        return common.dumps_json(_as_json(columns, rows, classes))
    buffer = io.StringIO()
    _write_csv(buffer, columns, rows, "\t" if suffix in tabular.TAB_SUFFIXES else ",")
    return buffer.getvalue()


def _write_csv(f, columns, rows, delimiter=","):
    writer = csv.writer(f, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        # str of a NumPy float is the shortest text that reads back as the same value
        writer.writerow([str(v) for v in row])


def _as_json(columns, rows, classes):
    """One object per row: the prediction, and each class's probability (``classes`` given)."""
    if classes is not None:
        return [{"prediction": row[0],
                 "probabilities": {str(c): float(p)
                                   for c, p in zip(classes, row[1:], strict=True)}}
                for row in rows]
    if len(columns) == 1:
        return [{"prediction": float(row[0])} for row in rows]
    return [{"prediction": [float(v) for v in row]} for row in rows]


def _table(columns, rows) -> Table:
    table = Table()
    for c in columns:
        table.add_column(c, justify="left" if c == "prediction" else "right")
    for row in rows:
        table.add_row(*(f"{v:.4f}" if isinstance(v, np.floating) else str(v) for v in row))
    return table


def _refuse_own_files(args) -> None:
    """The output must not replace the model or the input it was computed from."""
    out = Path(args.output).resolve()
    for flag, path in (("MODEL", args.model), ("INPUT.csv", args.input)):
        if out == Path(path).resolve():
            raise FeedforwardError(f"--output: {args.output!r} is the {flag} file; writing "
                                   "the predictions there would destroy it; choose another "
                                   "file")
