"""``feedforward train``: build a network for a dataset, train it, and write the run's folder.

The folder (``--out``) receives:

- ``model.safetensors``: the model with its feature scaling and class names, and the record of
  this run (configuration, data, results) in its metadata;
- ``history.csv``: the loss, metrics and learning rate of every epoch;
- ``metrics.json``: the final loss and metrics on each split, the confusion matrix, timings;
- ``config.toml``: the resolved configuration (written first); ``--config`` with it repeats the
  run exactly;
- ``backup/`` while training: ``checkpoint.safetensors``, the last checkpoint, from which
  ``--resume DIR`` continues an interrupted run exactly where it stopped, and ``run.json``, the
  run's other options (``--no-plots``, ``--doctor``, ``--checkpoint-every``) and a digest of
  ``config.toml``, so the resumed run is the same run (both removed at the end);
- ``monitor.json`` (with ``--doctor``): the per-layer monitor records and the findings;
- PNG plots (with matplotlib): ``loss.png``, one per metric, ``learning_rate.png`` for a
  schedule, ``confusion_matrix.png`` for classification.

Every file is written atomically (:func:`feedforward.fileio.atomic_write`): a kill or a full
disk leaves the old file or the new one, never part of one. A folder that already holds a run
is refused unless ``--overwrite`` is given, which first removes that run's files (and only
those).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import inspect
import json
import math
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import (
    __version__,
    activations,
    callbacks,
    fileio,
    initializers,
    losses,
    optimizers,
    regularizers,
    schedules,
)
from ..data import Augmenter, MinMaxScaler, StandardScaler, gaussian_noise
from ..diagnostics import Doctor
from ..errors import FeedforwardError, describe
from ..fileio import atomic_write, digest
from ..layers import Dense, Dropout, Maxout
from ..metrics import confusion_matrix
from ..model import Diverged, Sequential
from . import common, config, datasets, plots

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

RELU_FAMILY = {"relu", "leaky_relu", "elu", "gelu", "silu"}
CLASSIFICATION_LOSSES = (losses.CategoricalCrossentropy, losses.BinaryCrossentropy)
MODEL_FILE = "model.safetensors"
BACKUP = "backup"
RUN_FILE = "run.json"  # in BACKUP: the options --resume needs besides config.toml
# what a run writes, besides its plots; a folder holding any of them holds a run
RUN_FILES = ("config.toml", "history.csv", "metrics.json", "monitor.json", MODEL_FILE)
BACKUP_FILES = (callbacks.BackupAndRestore.FILE, RUN_FILE)
# the options of a run that are not in config.toml, with their defaults
RUN_OPTIONS = {"plots": True, "doctor": False, "checkpoint_every": None}


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
                        help="watch training and name what goes wrong (vanishing or exploding "
                             "gradients, dead units, learning rate, overfitting, ...) with "
                             "fixes, live and at the end; writes monitor.json")
    parser.add_argument("--resume", metavar="DIR",
                        help="continue the interrupted run in DIR from its last checkpoint, "
                             "with its config.toml and the other options it was started with "
                             "(no other option is taken); the result is bit-identical to a run "
                             "that was never interrupted")
    parser.add_argument("--checkpoint-every", type=int, metavar="STEPS",
                        help="save the checkpoint every STEPS optimizer steps (default: at the "
                             "end of every epoch)")
    config.add_arguments(parser)
    parser.set_defaults(run=run)
    return parser


def _resume_folder(args) -> Path | None:
    """With ``--resume DIR``: DIR's config.toml becomes the config, DIR the output folder, and
    the options in its run.json those of this run."""
    if args.resume is None:
        return None
    folder = Path(args.resume)
    given = [f"--{k.replace('_', '-')}" for k in ("config", "out", *RUN_OPTIONS)
             if getattr(args, k) is not None]
    given += [o.flag for o in config.OPTIONS if getattr(args, o.key) is not None]
    if args.overwrite:
        given.append("--overwrite")
    if given:
        raise FeedforwardError(f"--resume: the run goes on with the options it was started with "
                               f"(in {str(folder)!r}); drop {', '.join(given)}")
    if not (folder / "config.toml").is_file():
        raise FeedforwardError(f"--resume: {str(folder)!r} holds no config.toml; expected the "
                               "folder of a run of `feedforward train`")
    if not (folder / BACKUP / callbacks.BackupAndRestore.FILE).is_file() and (
            folder / MODEL_FILE).is_file():
        raise FeedforwardError(f"--resume: the run in {str(folder)!r} has finished (it has "
                               f"{MODEL_FILE} and no checkpoint); there is nothing to resume")
    options = _read_run_file(folder)
    for key in RUN_OPTIONS:
        setattr(args, key, options[key])
    args.config, args.out = str(folder / "config.toml"), str(folder)
    return folder


def _digest(path: Path) -> str:
    return digest(path, "--out")


def _write_run_file(out: Path, args) -> None:
    """The run's options that config.toml does not hold, and config.toml's digest."""
    record = {**{k: getattr(args, k) for k in RUN_OPTIONS},
              "config_sha256": _digest(out / "config.toml")}
    _make_folder(out / BACKUP)
    atomic_write(out / BACKUP / RUN_FILE, json.dumps(record, indent=1) + "\n", label="--out")


def _read_run_file(folder: Path) -> dict:
    """The options the run in ``folder`` started with; refuses a config.toml changed since."""
    path = folder / BACKUP / RUN_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise FeedforwardError(f"--resume: cannot read {str(path)!r}, the options the run was "
                               f"started with ({type(e).__name__}); start the run again with "
                               "--overwrite") from None
    fields = (*RUN_OPTIONS, "config_sha256")
    if not (isinstance(record, dict) and set(record) == set(fields)
            and isinstance(record["plots"], bool) and isinstance(record["doctor"], bool)
            and isinstance(record["config_sha256"], str)
            and (record["checkpoint_every"] is None or (type(record["checkpoint_every"]) is int
                                                        and record["checkpoint_every"] >= 1))):
        raise FeedforwardError(f"--resume: {str(path)!r} is damaged: expected the fields "
                               f"{', '.join(fields)}, got {describe(record)}")
    if _digest(folder / "config.toml") != record["config_sha256"]:
        raise FeedforwardError(f"--resume: {str(folder / 'config.toml')!r} is not the file the "
                               "run was started with (it was changed, or damaged); the run "
                               "cannot go on with other options. Restore it, or start again "
                               "with --overwrite")
    return record


# ---------------------------------------------------------------------------- the plan
@dataclass
class Plan:
    """What the options resolve to for one dataset: every ``auto`` made concrete."""

    task: str
    loss: str
    output_activation: str
    units: int
    metrics: list
    hidden_init: str
    output_init: str
    monitor: str
    learning_rate: object  # a float, a schedule, or None for the optimizer's default
    steps_per_epoch: int
    plateau: object = None
    augment: object = None
    notes: dict = field(default_factory=dict)  # key -> what it resolved to, for config.toml


def _canonical(registry, name) -> str:
    return registry.lookup(name).name


def make_plan(cfg: config.Config, data: datasets.Data, n_train: int) -> Plan:
    """Resolve the ``auto`` options for ``data``; refuse combinations the data cannot serve."""
    notes = {}
    loss, units = _loss(cfg, data)
    if cfg["loss"] == "auto":
        notes["loss"] = loss
    if cfg["task"] == "auto":
        notes["task"] = data.task
    output_activation = _output_activation(cfg, loss, units)
    if cfg["output_activation"] == "auto":
        notes["output_activation"] = output_activation
    metrics = cfg["metrics"]
    if metrics == "auto":
        metrics = ["accuracy"] if data.task == "classification" else ["mae", "r2"]
        notes["metrics"] = ", ".join(metrics)
    hidden_init, output_init = _initializers(cfg)
    if cfg["initializer"] == "auto":
        notes["initializer"] = (f"{hidden_init} (hidden layers), {output_init} (output layer)"
                                if cfg["layers"] else output_init)
    monitor = _monitor(cfg, metrics)
    if cfg["monitor"] == "auto":
        notes["monitor"] = monitor
    steps = math.ceil(n_train / min(cfg["batch_size"], n_train))
    lr, plateau, lr_notes = _learning_rate(cfg, steps, monitor)
    notes.update(lr_notes)
    if cfg["samples"] == 0:
        notes["samples"] = f"{data.x.shape[0]} samples"
    return Plan(data.task, loss, output_activation, units, metrics, hidden_init, output_init,
                monitor, lr, steps, plateau, _augmenter(cfg, data), notes)


def _loss(cfg, data):
    """The loss's canonical name and the number of output units."""
    k = len(data.classes) if data.task == "classification" else 1
    if cfg["loss"] == "auto":
        if data.task == "regression":
            return "mse", 1
        return ("binary_crossentropy", 1) if k == 2 else ("categorical_crossentropy", k)
    cls = losses.registry.lookup(cfg["loss"])
    name = cls.name
    if data.task == "classification" and not issubclass(cls, CLASSIFICATION_LOSSES):
        raise cfg.error("loss", f"{name} is a regression loss, but {data.name} is a "
                                f"classification task ({k} classes); use categorical_crossentropy"
                                " or binary_crossentropy, or --task regression")
    if data.task == "regression" and issubclass(cls, CLASSIFICATION_LOSSES):
        raise cfg.error("loss", f"{name} needs class labels, but the targets of {data.name} are "
                                "continuous (a regression task); use mse, mae, huber or sse")
    if cls is losses.BinaryCrossentropy:
        if k != 2:
            raise cfg.error("loss", f"binary_crossentropy takes two classes, {data.name} has "
                                    f"{k}; use categorical_crossentropy")
        return name, 1
    return name, k


def _output_activation(cfg, loss, units):
    if cfg["output_activation"] == "auto":
        return {"categorical_crossentropy": "softmax",
                "binary_crossentropy": "sigmoid"}.get(loss, "linear")
    name = _canonical(activations.registry, cfg["output_activation"])
    try:  # the engine's rule, named by the flag that chose the activation
        losses.get(loss).check_output(name, units)
    except FeedforwardError as e:
        raise cfg.error("output_activation", str(e)) from None
    return name


def _initializers(cfg):
    if cfg["initializer"] != "auto":
        name = _canonical(initializers.registry, cfg["initializer"])
        return name, name
    act = _canonical(activations.registry, cfg["activation"])
    if cfg["maxout"]:
        hidden = "glorot_uniform"
    elif act in RELU_FAMILY:
        hidden = "he_uniform"
    elif act == "selu":
        hidden = "lecun_normal"
    else:
        hidden = "glorot_uniform"
    return hidden, "glorot_uniform"


def _monitor(cfg, metrics):
    has_val = cfg["val"] > 0
    if cfg["monitor"] == "auto":
        return "val_loss" if has_val else "loss"
    logged = ["loss", *metrics]
    if has_val:
        logged += [f"val_{k}" for k in logged]
    if cfg["monitor"] not in logged:
        raise cfg.error("monitor", f"{cfg['monitor']!r} is not a logged value; choose from "
                                   f"{', '.join(logged)}")
    return cfg["monitor"]


def _learning_rate(cfg, steps, monitor):
    """The optimizer's ``learning_rate`` argument, a plateau callback or None, and notes."""
    notes = {}
    cls = optimizers.registry.lookup(cfg["optimizer"])
    lr = cfg["learning_rate"]
    if lr is None:
        lr = inspect.signature(cls).parameters["learning_rate"].default
        notes["learning_rate"] = f"{cls.name}'s default, {lr:g}"
    name, rate, decay = cfg["schedule"], cfg["decay_rate"], cfg["decay_steps"]
    plateau = None
    if name == "constant":
        value = cfg["learning_rate"]  # None lets the optimizer use its default
    elif name == "plateau":
        value = lr
        plateau = callbacks.ReduceLROnPlateau(monitor=monitor, factor=rate or 0.1,
                                              patience=max(1, cfg["patience"] // 2))
        notes["decay_rate"] = None if rate else "0.1 (plateau default)"
    else:
        periods = {"cosine": cfg["epochs"] * steps, "step": 10 * steps}
        decay = decay or periods.get(name, steps)
        if not cfg["decay_steps"]:
            notes["decay_steps"] = f"{decay} steps ({steps} per epoch)"
        args = {"cosine": {}, "step": {"gamma": rate or 0.1},
                "exponential": {"decay_rate": rate or 0.96},
                "inverse_time": {"decay_rate": rate or 0.5}}[name]
        if rate is None and name != "cosine":
            notes["decay_rate"] = f"{next(iter(args.values()))} ({name} default)"
        key = "step_size" if name == "step" else "decay_steps"
        value = schedules.get(name, initial_learning_rate=lr, **{key: decay}, **args)
    if cfg["warmup_steps"]:
        value = schedules.LinearWarmup(value if value is not None else lr, cfg["warmup_steps"])
    return value, plateau, {k: v for k, v in notes.items() if v}


def _augmenter(cfg, data):
    """What ``fit(augment=...)`` gets: an Augmenter for images, noise alone for other data."""
    geometric = [k for k in ("augment_hflip", "augment_vflip", "augment_rotation",
                             "augment_translation") if cfg[k]]
    noise = cfg["augment_noise"]
    if not geometric:
        if not noise:
            return None
        return lambda x, rng: gaussian_noise(x, noise, rng)
    shape = cfg["image_shape"] or data.image_shape
    if shape is None:
        raise cfg.error(geometric[0], f"needs image rows, but {data.name} is not known to be "
                                      f"images; give {config.BY_KEY['image_shape'].flag} H,W")
    if math.prod(shape) != data.x.shape[1]:
        raise cfg.error("image_shape", f"{'x'.join(map(str, shape))} = {math.prod(shape)} "
                                       f"values, but {data.name} has {data.x.shape[1]} features")
    return Augmenter(image_shape=shape, hflip=cfg["augment_hflip"], vflip=cfg["augment_vflip"],
                     rotation=cfg["augment_rotation"], translation=cfg["augment_translation"],
                     noise=noise)


# ---------------------------------------------------------------------------- the model
def build_model(cfg, plan: Plan, data: datasets.Data) -> Sequential:
    """The network the options describe, compiled, with its preprocessing and class names."""
    reg = regularizers.L1L2(cfg["l1"], cfg["l2"]) if cfg["l1"] or cfg["l2"] else None
    constraint = regularizers.MaxNorm(cfg["max_norm"]) if cfg["max_norm"] else None
    layers = []
    for units in cfg["layers"]:
        shared = {"kernel_initializer": plan.hidden_init, "kernel_regularizer": reg,
                  "kernel_constraint": constraint}
        if cfg["maxout"]:
            layers.append(Maxout(units, pieces=cfg["maxout"], **shared))
        else:
            layers.append(Dense(units, activation=cfg["activation"], **shared))
        if cfg["dropout"]:
            layers.append(Dropout(cfg["dropout"]))
    layers.append(Dense(plan.units, activation=plan.output_activation,
                        kernel_initializer=plan.output_init, kernel_regularizer=reg))
    scaler = {"standard": StandardScaler, "minmax": MinMaxScaler}.get(cfg["scaling"])
    model = Sequential(layers, input_dim=data.x.shape[1], seed=cfg["seed"], dtype=cfg["dtype"],
                       preprocessing=[scaler()] if scaler else None, classes=data.classes)
    model.compile(optimizer=_optimizer(cfg, plan), loss=plan.loss, metrics=plan.metrics)
    return model


def _optimizer(cfg, plan):
    kwargs = {k: cfg[k] for k in config.OPTIMIZER_KEYS if cfg[k] is not None}
    if plan.learning_rate is not None:
        kwargs["learning_rate"] = plan.learning_rate
    cls = optimizers.registry.lookup(cfg["optimizer"])
    try:
        return cls(**kwargs)
    except ValueError as e:  # FeedforwardError names the hyperparameter
        raise cfg.error("optimizer", f"{cls.name}: {e}") from None


# ---------------------------------------------------------------------------- the run
SPLITS = ("train", "val", "test")


def load(args):
    """The resolved configuration of ``args`` (flags over the file), its data and the split."""
    flags = {o.key: getattr(args, o.key) for o in config.OPTIONS}
    cfg = config.resolve(flags, args.config)
    raw = datasets.load(cfg["dataset"], cfg["target"], cfg["samples"], cfg["noise"],
                        cfg["seed"], label=cfg.label("dataset"), header=cfg["header"])
    data = datasets.for_task(raw, cfg["task"], label=cfg.label("task"))
    return cfg, data, datasets.split(data, cfg["val"], cfg["test"], cfg["seed"])


def run(args, console) -> int:
    resuming = _resume_folder(args) is not None
    for key, default in RUN_OPTIONS.items():
        if getattr(args, key) is None:
            setattr(args, key, default)
    if args.checkpoint_every is not None and args.checkpoint_every < 1:
        raise FeedforwardError(f"--checkpoint-every: expected a positive number of steps, got "
                               f"{args.checkpoint_every}")
    cfg, data, parts = load(args)
    splits = {name: (parts[i], parts[i + 3]) for i, name in enumerate(SPLITS)}
    plan = make_plan(cfg, data, len(parts.x_train))
    model = build_model(cfg, plan, data)
    csv = datasets.csv_file(cfg["dataset"])
    # evaluate --data FILE --split takes the run's split again only from this very file
    data_digest = None if csv is None else digest(csv, cfg.label("dataset"))
    if datasets.builtin_kind(cfg["dataset"]) is None:  # a path: absolute, so that the
        cfg["dataset"] = str(Path(cfg["dataset"]).expanduser().resolve())  # file works anywhere
    out = _make_folder(Path(args.out or Path("runs") / data.name.replace(".", "_")))
    if not resuming:
        _claim_folder(out, args.overwrite)
    _unlink(_leftovers(out))  # no other run writes here: --out is refused to a second one
    _check_folder(out)
    _describe(console, cfg, data, parts, model, plan)
    if not resuming:  # first, so that --resume finds them
        atomic_write(out / "config.toml", config.dumps(cfg, plan.notes, _header()), "--out")
        _write_run_file(out, args)

    doctor = Doctor(print_fn=console.print) if args.doctor else None
    # kept until every output is written: a run killed after fit can still be resumed
    backup = callbacks.BackupAndRestore(out / BACKUP, args.checkpoint_every or "epoch",
                                        delete_checkpoint=False)
    found = Path(backup.path).is_file()  # only when resuming: _claim_folder removed any other
    if resuming:
        console.print(f"resuming from {backup.path}" if found else
                      "no checkpoint was written yet: training from the start")
    history, stopper, seconds = _fit(cfg, plan, model, splits, out, console, doctor,
                                     backup, append=found)
    epochs_run = len(history.epoch)
    weights_epoch = _weights_epoch(stopper, epochs_run, console)
    results = {name: model.evaluate(x, y, return_dict=True)
               for name, (x, y) in splits.items() if len(x)}
    final_split = next(s for s in ("test", "val", "train") if s in results)
    summary = {"dataset": data.name, "task": data.task, "classes": data.classes,
               "samples": {name: len(x) for name, (x, _) in splits.items()},
               "epochs": epochs_run, "weights_epoch": weights_epoch,
               "train_seconds": round(seconds, 3), **results}
    if data.task == "classification":
        x, y = splits[final_split]
        codes, _ = common.class_scores(model.predict(x))
        matrix = confusion_matrix(y, codes, num_classes=len(data.classes))
        summary["confusion_matrix"] = {"split": final_split, "rows": "true class",
                                       "columns": "predicted class", "matrix": matrix.tolist()}

    record = {"config": dict(cfg), "dataset": data.name, "task": data.task,
              "feature_names": data.feature_names, "target_name": data.target_name,
              "epochs": epochs_run, "weights_epoch": weights_epoch, "results": results,
              **({"data_sha256": data_digest} if data_digest else {})}
    common.save(model, out / MODEL_FILE, record)
    atomic_write(out / "metrics.json", common.dumps(summary) + "\n", "--out")
    written = [MODEL_FILE, "history.csv", "metrics.json", "config.toml"]
    if doctor is not None:
        written.append(_report_doctor(console, doctor, out))
    if args.plots:
        restored = weights_epoch if weights_epoch != epochs_run else None
        written += _plots(console, history.history, out, data, restored, summary)

    console.print(common.metrics_table(results, f"{data.name}: final metrics"))
    final = results[final_split]
    headline = [f"{final_split} {m} {common.fmt(m, v)}" for m, v in final.items() if m != "loss"]
    console.print(f"{headline[0] + ' ' if headline else ''}({final_split} loss "
                  f"{final['loss']:.4g}) after {epochs_run} epochs, {seconds:.1f} s of training")
    console.print(f"wrote {out}: {', '.join(written)}")
    _remove_backup(out)
    return 0


def _remove_backup(out: Path) -> None:
    # a file left is harmless: every output is written
    _unlink([out / BACKUP / name for name in BACKUP_FILES] + _leftovers(out))
    with contextlib.suppress(OSError):  # left when something else was put there
        (out / BACKUP).rmdir()


def _leftovers(out: Path) -> list[Path]:
    """The temporary files of writes of the run's files that a kill cut short."""
    files = [out / n for n in RUN_FILES] + [out / BACKUP / n for n in BACKUP_FILES]
    return [temporary for f in files for temporary in fileio.leftovers(f)]


def _unlink(paths) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def _make_folder(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FeedforwardError(
            f"--out: cannot create the folder {str(path)!r} ({e.strerror or e})") from None
    return path


def _claim_folder(out: Path, overwrite: bool) -> None:
    """Refuse a folder that holds a run, or with ``overwrite`` remove that run's files: a new
    run never mixes its files with those of another."""
    backup = out / BACKUP
    found = [name for name in RUN_FILES if (out / name).is_file()] + [
        f"{BACKUP}/{name}" for name in BACKUP_FILES if (backup / name).is_file()]
    if not found:
        return
    if not overwrite:
        finished = MODEL_FILE in found and not any(f.startswith(BACKUP) for f in found)
        what, then = (("a finished", "choose another folder, or pass --overwrite to replace "
                                     "that run") if finished else
                      ("an unfinished", f"continue it with --resume {out}, or pass "
                                        "--overwrite to start again"))
        raise FeedforwardError(f"--out: {str(out)!r} holds {what} run ({', '.join(found)}); "
                               f"{then}")
    for name in found + _plot_names(out):
        try:
            (out / name).unlink(missing_ok=True)
        except OSError as e:
            raise FeedforwardError(f"--overwrite: cannot remove {str(out / name)!r} "
                                   f"({e.strerror or e})") from None
    with contextlib.suppress(OSError):
        backup.rmdir()


def _plot_names(out: Path) -> list[str]:
    """The plots a run in ``out`` wrote: one per column of its history, and the matrix."""
    try:
        with open(out / "history.csv", newline="", encoding="utf-8") as f:
            header = next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        header = []
    names = {"loss", "learning_rate", "confusion_matrix"} | {
        c for c in header if c != "epoch" and not c.startswith("val_")}
    return [f"{n}.png" for n in sorted(names)
            if "/" not in n and "\\" not in n and (out / f"{n}.png").is_file()]


def _check_folder(out: Path) -> None:
    """Refuse, before training, a folder standing where a file of the run goes."""
    for name in RUN_FILES:
        if (out / name).is_dir():
            raise FeedforwardError(f"--out: {str(out / name)!r} is a folder, where the run "
                                   f"writes its {name}; remove or rename it")
    if (out / BACKUP).exists() and not (out / BACKUP).is_dir():
        raise FeedforwardError(f"--out: {str(out / BACKUP)!r} is a file, where the run keeps "
                               "its checkpoint; remove or rename it")


def _fit(cfg, plan, model, splits, out, console, doctor=None, backup=None, append=False):
    """Train with the run's callbacks; returns the History, the EarlyStopping (or None) and
    the seconds spent. A divergence ends the run, after the doctor's findings."""
    cbs = [callbacks.CSVLogger(out / "history.csv", append=append)] + (
        [doctor] if doctor else []) + ([backup] if backup else [])
    stopper = None
    if cfg["early_stopping"]:
        stopper = callbacks.EarlyStopping(monitor=plan.monitor, patience=cfg["patience"],
                                          restore_best_weights=cfg["restore_best_weights"])
        cbs.append(stopper)
    if plan.plateau is not None:
        cbs.append(plan.plateau)
    (x, y), val = splits["train"], splits["val"]
    start = time.perf_counter()
    # overflow on the way to a non-finite loss is what the Diverged error reports, in one line
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            history = model.fit(x, y, epochs=cfg["epochs"], batch_size=cfg["batch_size"],
                                validation_data=val if len(val[0]) else None, callbacks=cbs,
                                verbose=0 if console.quiet else 1, augment=plan.augment)
        except Diverged as e:
            if doctor is not None:
                doctor.findings = doctor.diagnose(error=e)
                _report_doctor(console, doctor, out)
            raise
    return history, stopper, time.perf_counter() - start


def _report_doctor(console, doctor, out) -> str:
    """Print the doctor's findings and write them with the monitor's records; the file name."""
    findings = doctor.findings
    console.print(f"doctor: {len(findings)} finding(s)" + (":" if findings else
                                                           ", training looks healthy"))
    for finding in findings:
        console.print(str(finding))
    record = {"findings": [f.to_dict() for f in findings], **doctor.monitor.to_dict()}
    atomic_write(out / "monitor.json", common.dumps(record) + "\n", "--out")
    return "monitor.json"


def _describe(console, cfg, data, parts, model, plan):
    what = (f"{len(data.classes)} classes" if data.task == "classification" else "regression")
    console.print(f"{data.name}: {data.x.shape[0]} samples, {data.x.shape[1]} "
                  f"features, {what}; split {len(parts.x_train)} train / {len(parts.x_val)} "
                  f"validation / {len(parts.x_test)} test")
    model.summary(print_fn=lambda text: console.print(text))
    opt = model.optimizer
    rate = f"learning rate {opt.lr:g}" + ("" if cfg["schedule"] == "constant"
                                          else f", {cfg['schedule']} schedule")
    stop = (f", early stopping on {plan.monitor} (patience {cfg['patience']})"
            if cfg["early_stopping"] else "")
    console.print(f"{type(opt).__name__} ({rate}), loss {plan.loss}, batch size "
                  f"{cfg['batch_size']}, up to {cfg['epochs']} epochs{stop}")


def _weights_epoch(stopper, epochs_run, console) -> int:
    """The 1-based epoch whose weights the model ends with: the best one if early stopping
    restored it, else the last."""
    if stopper is None or stopper.best_epoch is None:
        return epochs_run
    if stopper.stopped_epoch is not None:
        console.print(f"early stopping: {stopper.monitor} did not improve for "
                      f"{stopper.patience} epochs; stopped after epoch {epochs_run}")
    best = stopper.best_epoch + 1
    if stopper.restore_best_weights and best != epochs_run:
        console.print(f"restored the weights of epoch {best} (best {stopper.monitor} "
                      f"{stopper.best:.4g})")
        return best
    return epochs_run


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
