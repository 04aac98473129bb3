"""``feedforward train``: build a network for a dataset, train it, and write the run's folder.

The folder (``--out``) receives:

- ``model.safetensors``: the model with its feature scaling and class names, and the record of
  this run (configuration, data, results) in its metadata;
- ``history.csv``: the loss, metrics and learning rate of every epoch;
- ``metrics.json``: the final loss and metrics on each split, the confusion matrix, timings;
- ``config.toml``: the resolved configuration (written first); ``--config`` with it repeats the
  run exactly;
- ``backup/checkpoint.safetensors`` while training: the last checkpoint, from which
  ``--resume DIR`` continues an interrupted run exactly where it stopped (removed at the end);
- ``monitor.json`` (with ``--doctor``): the per-layer monitor records and the findings;
- PNG plots (with matplotlib): ``loss.png``, one per metric, ``learning_rate.png`` for a
  schedule, ``confusion_matrix.png`` for classification.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
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
    initializers,
    losses,
    optimizers,
    regularizers,
    schedules,
)
from ..data import Augmenter, MinMaxScaler, StandardScaler, gaussian_noise
from ..diagnostics import Doctor
from ..errors import FeedforwardError
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
                        help="output folder (default: runs/DATASET); files in it are replaced")
    parser.add_argument("--plots", action=argparse.BooleanOptionalAction, default=True,
                        help="write PNG plots (needs matplotlib; default: yes)")
    parser.add_argument("--doctor", action="store_true",
                        help="watch training and name what goes wrong (vanishing or exploding "
                             "gradients, dead units, learning rate, overfitting, ...) with "
                             "fixes, live and at the end; writes monitor.json")
    parser.add_argument("--resume", metavar="DIR",
                        help="continue the interrupted run in DIR from its last checkpoint, "
                             "with its config.toml; the result is bit-identical to a run that "
                             "was never interrupted")
    parser.add_argument("--checkpoint-every", type=int, metavar="STEPS",
                        help="save the checkpoint every STEPS optimizer steps (default: at the "
                             "end of every epoch)")
    config.add_arguments(parser)
    parser.set_defaults(run=run)
    return parser


def _resume_folder(args) -> Path | None:
    """With ``--resume DIR``: DIR's config.toml becomes the config and DIR the output folder."""
    if args.resume is None:
        return None
    folder = Path(args.resume)
    if args.config is not None or args.out is not None:
        raise FeedforwardError("--resume: it takes the config and the output folder from DIR; "
                               "drop --config and --out")
    if not (folder / "config.toml").is_file():
        raise FeedforwardError(f"--resume: {str(folder)!r} holds no config.toml; expected the "
                               "folder of a run of `feedforward train`")
    if not (folder / BACKUP / callbacks.BackupAndRestore.FILE).is_file() and (
            folder / MODEL_FILE).is_file():
        raise FeedforwardError(f"--resume: the run in {str(folder)!r} has finished (it has "
                               f"{MODEL_FILE} and no checkpoint); there is nothing to resume")
    args.config, args.out = str(folder / "config.toml"), str(folder)
    return folder


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
    output_activation = _output_activation(cfg, loss)
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


def _output_activation(cfg, loss):
    if cfg["output_activation"] == "auto":
        return {"categorical_crossentropy": "softmax",
                "binary_crossentropy": "sigmoid"}.get(loss, "linear")
    name = _canonical(activations.registry, cfg["output_activation"])
    if name == "softmax" and loss == "binary_crossentropy":
        raise cfg.error("output_activation", "softmax over the single output of "
                                             "binary_crossentropy is always 1; use sigmoid")
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
    if args.checkpoint_every is not None and args.checkpoint_every < 1:
        raise FeedforwardError(f"--checkpoint-every: expected a positive number of steps, got "
                               f"{args.checkpoint_every}")
    cfg, data, parts = load(args)
    splits = {name: (parts[i], parts[i + 3]) for i, name in enumerate(SPLITS)}
    plan = make_plan(cfg, data, len(parts.x_train))
    model = build_model(cfg, plan, data)
    if datasets.builtin_kind(cfg["dataset"]) is None:  # a path: absolute, so that the
        cfg["dataset"] = str(Path(cfg["dataset"]).expanduser().resolve())  # file works anywhere
    out = _out_folder(args.out, data)
    _describe(console, cfg, data, parts, model, plan)
    if not resuming:  # first, so that --resume finds it
        (out / "config.toml").write_text(config.dumps(cfg, plan.notes, _header()))

    doctor = Doctor(print_fn=console.print) if args.doctor else None
    # kept until every output is written: a run killed after fit can still be resumed
    backup = callbacks.BackupAndRestore(out / BACKUP, args.checkpoint_every or "epoch",
                                        delete_checkpoint=False)
    if resuming:
        found = Path(backup.path).is_file()
        console.print(f"resuming from {backup.path}" if found else
                      "no checkpoint was written yet: training from the start")
    history, stopper, seconds = _fit(cfg, plan, model, splits, out, console, doctor,
                                     backup, resuming)
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
              "epochs": epochs_run, "weights_epoch": weights_epoch, "results": results}
    common.save(model, out / MODEL_FILE, record)
    (out / "metrics.json").write_text(common.dumps(summary) + "\n")
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
    _remove_backup(backup)
    return 0


def _remove_backup(backup):
    Path(backup.path).unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # left when something else was put there
        Path(backup.backup_dir).rmdir()


def _out_folder(out, data) -> Path:
    out = Path(out or Path("runs") / data.name.replace(".", "_"))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FeedforwardError(
            f"--out: cannot create the folder {str(out)!r} ({e.strerror or e})") from None
    return out


def _fit(cfg, plan, model, splits, out, console, doctor=None, backup=None, resuming=False):
    """Train with the run's callbacks; returns the History, the EarlyStopping (or None) and
    the seconds spent. A divergence ends the run, after the doctor's findings."""
    cbs = [callbacks.CSVLogger(out / "history.csv", append=resuming)] + (
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
    (out / "monitor.json").write_text(common.dumps(record) + "\n")
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
