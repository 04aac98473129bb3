"""``feedforward summary``: what a model file holds: layers, scaling, classes, training."""

from __future__ import annotations

from .. import losses, optimizers, records
from ..data import preprocessing
from . import common

EXAMPLES = """\
examples:
  feedforward summary runs/digits/model.safetensors
  feedforward summary runs/digits/model.safetensors --json
"""


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        "summary", parents=parents, help="describe a model file",
        description="Describe a model file: its layers and parameter counts, input scaling, "
                    "classes, loss and optimizer, and the run that trained it.",
        epilog=EXAMPLES)
    parser.add_argument("model", metavar="MODEL", help="a model file")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(run=run)
    return parser


def describe(model, record) -> dict:
    """The model file's contents as JSON-safe values."""
    layers, shape = [], (model.input_dim,)
    for i, layer in enumerate(model.layers):
        shape = layer.compute_output_shape(shape)
        act = getattr(layer, "activation", None)
        layers.append({"index": i, "type": type(layer).__name__,
                       "activation": act.name if act is not None else None,
                       "output_shape": list(shape), "params": int(layer.count_params())})
    info = {
        "input_dim": model.input_dim, "output_shape": list(model.output_shape[1:]),
        "params": model.count_params(), "dtype": model.dtype.name, "layers": layers,
        "preprocessing": [preprocessing.serialize(p) for p in model.preprocessing],
        "classes": model.classes,
        "loss": losses.serialize(model.loss) if model.loss is not None else None,
        "optimizer": (optimizers.serialize(model.optimizer)
                      if model.optimizer is not None else None),
        "optimizer_steps": model.optimizer.iterations if model.optimizer is not None else None,
    }
    if record is not None:
        info["training"] = {k: record.get(k) for k in ("dataset", "task", "target_name",
                                                       "epochs", "weights_epoch", "results")}
    info["feature_names"] = model.feature_names  # the file's own, else the record's
    return info


def _names(values, limit=8) -> str:
    values = [str(v) for v in values]
    shown = values if len(values) <= limit else [*values[:limit - 2], "...", values[-1]]
    return ", ".join(shown)


def run(args, console) -> int:
    model, record = records.load(args.model)
    info = describe(model, record)
    if args.json:
        common.print_json(info)
        return 0
    say = console.print
    say(str(args.model))
    model.summary(print_fn=say)
    features = info.get("feature_names")
    encoded = f", encoded as {model.input_dim} features" if model.row_encoder else ""
    say(f"inputs: {model.raw_input_dim} features" + (f" ({_names(features)})" if features else "")
        + encoded)
    say(f"outputs: {model.describe_outputs()}")
    scaling = ", ".join(type(p).__name__ for p in model.preprocessing) or "none"
    say(f"input scaling: {scaling} (applied by predict to raw inputs)")
    if model.loss is not None:
        opt = model.optimizer
        say(f"loss: {model.loss.name}; optimizer: {type(opt).__name__} (learning rate "
            f"{opt.lr:g}), {opt.iterations} steps taken")
    training = info.get("training")
    if training:
        results = training.get("results") or {}
        final = results.get("test") or results.get("val") or results.get("train") or {}
        split = next((s for s in ("test", "val", "train") if s in results), "")
        scores = ", ".join(f"{k} {records.fmt(k, v)}" for k, v in final.items())
        say(f"trained by feedforward train on {training['dataset']} ({training['task']}), "
            f"{training['epochs']} epochs" + (f"; {split}: {scores}" if scores else ""))
    return 0
