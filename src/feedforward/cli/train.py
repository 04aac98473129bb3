"""``feedforward train``: build a network for a dataset, train it, and write the run's folder.

The folder (``--out``) receives:

- ``model.safetensors``: the model with its feature scaling and class names, and the record of
  this run (configuration, data, results) in its metadata;
- ``history.csv``: the loss, metrics and learning rate of every epoch;
- ``metrics.json``: the final loss and metrics on each split, the confusion matrix and
  ``train_seconds``, the time spent training (every session of a resumed run added up);
- ``config.toml``: the resolved configuration (written first); ``--config`` with it repeats the
  run exactly;
- ``backup/`` while training: ``checkpoint.safetensors``, the last checkpoint, from which
  ``--resume DIR`` continues an interrupted run exactly where it stopped, and ``run.json``, the
  run's other options (``--no-plots``, ``--doctor``, ``--checkpoint-every``) and a digest of
  ``config.toml``, so the resumed run is the same run (both removed at the end);
- ``monitor.json`` (with ``--doctor``): the doctor's findings (each fix with its flag and its
  Python form), the epoch each was first named (0: at initialization), the probe's input
  statistics and the per-layer monitor records, the first measured at initialization
  (``epoch`` -1); after ``--resume``, ``resumed_at``: the epochs that had ended before the
  resume, which the doctor did not watch (its records are not in the checkpoint);
- PNG plots (with matplotlib): ``loss.png``, one per metric, ``learning_rate.png`` for a
  schedule, ``confusion_matrix.png`` for classification.

Every file is written atomically (:func:`feedforward.fileio.atomic_write`): a kill or a full
disk leaves the old file or the new one, never part of one. A folder that already holds a run
is refused unless ``--overwrite`` is given, which first removes that run's files (and only
those).
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

import numpy as np

from .. import __version__, callbacks, checkpoint, config, experiment, plots, records
from ..data import sources
from ..diagnostics import Doctor
from ..errors import FeedforwardError
from ..fileio import atomic_write, digest, exclusive
from ..inputs import labels_are_ids
from ..metrics import confusion_matrix
from ..model import Diverged
from . import common, flags
from .run_folder import (
    BACKUP,
    MODEL_FILE,
    RUN_OPTIONS,
    check_folder,
    check_resumable,
    claim_folder,
    leftovers,
    make_folder,
    remove_backup,
    resume_folder,
    unlink,
    write_run_file,
)

EXAMPLES = """\
examples:
  feedforward train                      # digits, 2 hidden ReLU layers, Adam; into runs/digits
  feedforward train --dataset spiral --samples 1000 --noise 0.1 --epochs 300 --out runs/spiral
  feedforward train --dataset iris --optimizer sgd --learning-rate 0.05 --momentum 0.9 \\
                    --schedule cosine --epochs 200 --no-early-stopping
  feedforward train --dataset houses.csv --target price --loss huber --l2 1e-4
  feedforward train --dataset ~/mnist --samples 20000 --layers 256,128 --dropout 0.2 \\
                    --augment-rotation 10 --augment-translation 2
  feedforward train --config runs/digits/config.toml --out runs/again   # the same run again
  feedforward train --config runs/digits/config.toml --dropout 0.1 --out runs/dropout
  feedforward train --resume runs/digits     # continue a run that was killed or crashed

The options can also come from a TOML file (--config): one `key = value` line per option, the
keys being the flags' names with underscores (learning_rate = 0.01, layers = [64, 32]).
Flags given on the command line override the file.
"""


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        "train", parents=parents, help="train a network and write its run folder",
        description="Train a feedforward network on a built-in dataset, a CSV file or MNIST, "
                    "showing progress, and write the model, history, metrics, plots and the "
                    "resolved configuration into a folder.",
        epilog=EXAMPLES)
    parser.add_argument("--config", metavar="FILE.toml",
                        help="TOML experiment file; flags override its values")
    parser.add_argument("--out", "-o", metavar="DIR",
                        help="output folder (default: runs/DATASET); a folder that holds a run "
                             "already is refused, unless --overwrite")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the run in the --out folder: its model, history, "
                             "metrics, config, plots and checkpoint are removed first")
    parser.add_argument("--plots", action=argparse.BooleanOptionalAction, default=None,
                        help="write PNG plots (needs matplotlib; default: yes)")
    parser.add_argument("--doctor", action="store_true", default=None,
                        help="watch training from initialization on and name what goes "
                             "wrong (vanishing or exploding gradients, dead units, learning "
                             "rate, regularization, overfitting, ...) with fixes as flags, live "
                             "and at the end, with what was checked over how many epochs; "
                             "writes monitor.json")
    parser.add_argument("--resume", metavar="DIR",
                        help="continue the interrupted run in DIR from its last checkpoint, "
                             "with its config.toml and the other options it was started with "
                             "(no other option is taken); the result is bit-identical to a run "
                             "that was never interrupted")
    parser.add_argument("--checkpoint-every", type=int, metavar="STEPS",
                        help="save the checkpoint every STEPS optimizer steps (default: at the "
                             "end of every epoch)")
    flags.add_arguments(parser)
    parser.set_defaults(run=run)
    return parser


# ---------------------------------------------------------------------------- the run
def load(args):
    """The resolved configuration of ``args`` (flags over the file), its data and the split."""
    given = {o.key: getattr(args, o.key) for o in config.OPTIONS}
    cfg = config.resolve(given, args.config)
    return (cfg, *experiment.load(cfg))


def run(args, console) -> int:
    with sources.unseen_told():  # told once, at loading (sources.fit_encoder)
        return _run(args, console)


def _run(args, console) -> int:
    resuming = resume_folder(args) is not None
    for key, default in RUN_OPTIONS.items():
        if getattr(args, key) is None:
            setattr(args, key, default)
    if args.checkpoint_every is not None and args.checkpoint_every < 1:
        raise FeedforwardError(f"--checkpoint-every: expected a positive number of steps, got "
                               f"{args.checkpoint_every}")
    cfg, data, parts = load(args)
    plan = experiment.make_plan(cfg, data, len(parts.x_train))
    model = experiment.build_model(cfg, plan, data)
    csv = sources.csv_file(cfg["dataset"])
    # evaluate --data FILE --split takes the run's split again only from this very file
    data_digest = None if csv is None else digest(csv, cfg.label("dataset"))
    if sources.builtin_kind(cfg["dataset"]) is None:  # a path: absolute, so that the
        cfg["dataset"] = str(Path(cfg["dataset"]).expanduser().resolve())  # file works anywhere
    out = make_folder(Path(args.out or Path("runs") / data.name.replace(".", "_")))
    # one run writes into a folder: a second (--overwrite, --resume) would mix their files
    with exclusive(out, ".train.lock", "another training run"):
        return _train_into(out, args, console, resuming, cfg, data, parts, plan, model,
                           data_digest)


def _train_into(out, args, console, resuming, cfg, data, parts, plan, model, data_digest):
    splits = experiment.splits(parts)
    if resuming:  # again, now that no other run writes here: it may have ended meanwhile
        check_resumable(out)
    else:
        claim_folder(out, args.overwrite)
    unlink(leftovers(out))  # no other run writes here: --out is refused to a second one
    check_folder(out)
    _describe(console, cfg, data, parts, model, plan)
    if not resuming:  # first, so that --resume finds them
        atomic_write(out / "config.toml", config.dumps(cfg, plan.notes, _header()), "--out")
        write_run_file(out, args)

    doctor = Doctor(print_fn=console.print, surface="cli") if args.doctor else None
    # kept until every output is written: a run killed after fit can still be resumed
    backup = checkpoint.BackupAndRestore(out / BACKUP, args.checkpoint_every or "epoch",
                                        delete_checkpoint=False)
    found = Path(backup.path).is_file()  # only when resuming: claim_folder removed any other
    if resuming:
        console.print(f"resuming from {backup.path}" if found else
                      "no checkpoint was written yet: training from the start")
    history, stopper, seconds = _fit(cfg, plan, model, splits, out, console, doctor,
                                     backup, append=found)
    # every session of a resumed run; unknown for a checkpoint that did not record them
    before = backup.seconds_before
    seconds = None if before is None else seconds + before
    epochs_run = len(history.epoch)
    weights_epoch = experiment.weights_epoch(stopper, epochs_run)
    _tell_stopping(console, stopper, epochs_run, weights_epoch)
    with labels_are_ids():  # the split's codes
        results = {name: model.evaluate(x, y, return_dict=True)
                   for name, (x, y) in splits.items() if len(x)}
    final_split = next(s for s in ("test", "val", "train") if s in results)
    summary = {"dataset": data.name, "task": data.task, "classes": data.classes,
               "samples": {name: len(x) for name, (x, _) in splits.items()},
               "epochs": epochs_run, "weights_epoch": weights_epoch,
               "train_seconds": None if seconds is None else round(seconds, 3), **results}
    if data.task == "classification":
        x, y = splits[final_split]
        codes, _ = common.class_scores(model.predict(x))
        matrix = confusion_matrix(y, codes, num_classes=len(data.classes))
        summary["confusion_matrix"] = {"split": final_split, "rows": "true class",
                                       "columns": "predicted class", "matrix": matrix.tolist()}

    record = experiment.record(cfg, data, epochs_run, weights_epoch, results,
                               **({"data_sha256": data_digest} if data_digest else {}))
    records.save(model, out / MODEL_FILE, record)
    atomic_write(out / "metrics.json", records.dumps(summary) + "\n", "--out")
    written = [MODEL_FILE, "history.csv", "metrics.json", "config.toml"]
    if doctor is not None:
        written.append(_report_doctor(console, doctor, out))
    if args.plots:
        restored = weights_epoch if weights_epoch != epochs_run else None
        written += _plots(console, history.history, out, data, restored, summary)

    console.print(common.metrics_table(results, f"{data.name}: final metrics"))
    final = results[final_split]
    headline = [f"{final_split} {m} {records.fmt(m, v)}" for m, v in final.items() if m != "loss"]
    console.print(f"{headline[0] + ' ' if headline else ''}({final_split} loss "
                  f"{final['loss']:.4g}) after {epochs_run} epochs"
                  f"{'' if seconds is None else f', {seconds:.1f} s of training'}")
    console.print(f"wrote {out}: {', '.join(written)}")
    remove_backup(out)
    return 0


def _fit(cfg, plan, model, splits, out, console, doctor=None, backup=None, append=False):
    """The recipe's fit with the run's history.csv, doctor and checkpoint; a divergence ends
    the run, after the doctor's findings."""
    logger = callbacks.CSVLogger(out / "history.csv", append=append)
    extra = [logger] + ([doctor] if doctor else []) + ([backup] if backup else [])
    try:
        return experiment.fit(cfg, plan, model, splits, extra,
                              verbose=0 if console.quiet else 1)
    except Diverged as e:
        if doctor is not None:
            doctor.conclude(e)
            _report_doctor(console, doctor, out)
        raise
    except FeedforwardError as e:  # the logger's words are the Python API's
        said = str(e)
        if not (append and said.startswith("filename: ") and "append=False" in said):
            raise
        raise FeedforwardError(
            "--resume: " + said.removeprefix("filename: ").replace(
                "use append=False or another file",
                "it was edited or comes from another run: restore it, or start the run "
                "again without --resume")) from None


def _report_doctor(console, doctor, out) -> str:
    """Print what the doctor checked and found, its fixes as flags, and write monitor.json.

    Returns
    -------
    str
        The name of the file written.
    """
    console.print(doctor.summary() + (":" if doctor.findings else ""))
    for finding in doctor.findings:
        console.print(finding.render("cli"))
    resumed = {} if doctor.resumed_at is None else {"resumed_at": doctor.resumed_at}
    record = {"findings": [f.to_dict() for f in doctor.findings],
              "first_seen": dict(doctor.first_seen), **resumed, **doctor.monitor.to_dict()}
    atomic_write(out / "monitor.json", records.dumps(record) + "\n", "--out")
    return "monitor.json"


def _describe(console, cfg, data, parts, model, plan):
    what = (f"{len(data.classes)} classes" if data.task == "classification" else "regression")
    console.print(f"{data.name}: {data.x.shape[0]} samples, {data.x.shape[1]} features, "
                  f"target {data.target_name!r} ({what}); split {len(parts.x_train)} train / "
                  f"{len(parts.x_val)} validation / {len(parts.x_test)} test")
    model.summary(print_fn=lambda text: console.print(text))
    opt = model.optimizer
    rate = f"learning rate {opt.lr:g}" + ("" if cfg["schedule"] == "constant"
                                          else f", {cfg['schedule']} schedule")
    stop = (f", early stopping on {plan.monitor} (patience {cfg['patience']})"
            if cfg["early_stopping"] else "")
    console.print(f"{type(opt).__name__} ({rate}), loss {plan.loss}, batch size "
                  f"{cfg['batch_size']}, up to {cfg['epochs']} epochs{stop}")


def _tell_stopping(console, stopper, epochs_run, weights_epoch) -> None:
    """Say why training stopped early and which epoch's weights the model ends with."""
    if stopper is None or stopper.best_epoch is None:
        return
    if stopper.stopped_epoch is not None:
        console.print(f"early stopping: {stopper.monitor} did not improve for "
                      f"{stopper.patience} epochs; stopped after epoch {epochs_run}")
    if weights_epoch != epochs_run:
        console.print(f"restored the weights of epoch {weights_epoch} (best {stopper.monitor} "
                      f"{stopper.best:.4g})")


def _plots(console, history, out, data, restored, summary) -> list[str]:
    if not plots.available():
        console.print("plots skipped: matplotlib is not installed "
                      "(pip install 'feedforward[plot]')")
        return []
    paths = plots.curves(history, out, data.name, restored)
    if "confusion_matrix" in summary:
        cm = summary["confusion_matrix"]
        split = {"test": "test set", "val": "validation set", "train": "training set"}
        paths.append(plots.confusion(np.array(cm["matrix"]), data.classes,
                                     out / "confusion_matrix.png",
                                     f"{data.name}: confusion matrix, {split[cm['split']]}"))
    return [p.name for p in paths]


def _header() -> str:
    return (f"feedforward train configuration, resolved from the defaults, the --config file and "
            f"the flags\n(feedforward {__version__}, Python {platform.python_version()}, NumPy "
            f"{np.__version__}).\n\nRepeat the run exactly:  feedforward train --config "
            "config.toml --out ANOTHER_FOLDER\nFlags override these values. Comments show what "
            "each \"auto\" became for this data.")
