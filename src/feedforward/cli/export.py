"""``feedforward export``: a model file in another format (ONNX), for serving elsewhere."""

from __future__ import annotations

from pathlib import Path

from .. import onnx as onnx_export
from .. import records
from ..errors import FeedforwardError

EXAMPLES = """\
examples:
  feedforward export runs/digits/model.safetensors --onnx digits.onnx
  feedforward export runs/digits/model.safetensors --onnx digits.onnx --opset 13

The ONNX graph takes raw float32 inputs named "input", of shape (batch, features): the model's
input scaling is part of the graph. Its output "output" is what predict returns.
"""


FLAGS = {"path": "--onnx", "opset": "--opset"}  # export_onnx's arguments, and their flags


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        "export", parents=parents, help="write a model file as ONNX",
        description="Write a model file as an ONNX graph (float32, with the input scaling), for "
                    "ONNX Runtime and other ONNX tools. Needs pip install 'feedforward[onnx]'.",
        epilog=EXAMPLES)
    parser.add_argument("model", metavar="MODEL", help="a model file")
    parser.add_argument("--onnx", metavar="OUT.onnx", required=True,
                        help="the ONNX file to write")
    parser.add_argument("--opset", type=int, default=onnx_export.OPSET,
                        help=f"ONNX opset (default {onnx_export.OPSET}; at least "
                             f"{onnx_export.MIN_OPSET})")
    parser.set_defaults(run=run)
    return parser


def run(args, console) -> int:
    model, _ = records.load(args.model)
    out = Path(args.onnx)
    if not out.parent.is_dir():
        raise FeedforwardError(f"--onnx: no directory {str(out.parent)!r} to write {out.name} in")
    try:
        proto = onnx_export.export_onnx(model, out, opset=args.opset)
    except FeedforwardError as e:  # the library names its arguments; here they are flags
        name, _, rest = str(e).partition(": ")
        if name not in FLAGS:
            raise
        raise FeedforwardError(f"{FLAGS[name]}: {rest}") from None
    console.print(f"wrote {out} (ONNX opset {args.opset}, {len(proto.graph.node)} nodes, "
                  f"input (batch, {model.raw_input_dim}) float32)")
    return 0
