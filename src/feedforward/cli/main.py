"""The ``feedforward`` command: its parser, and errors as one line with exit status 2.

Each command is a module with ``add_parser(subparsers, parents)``, which sets ``run`` as the
parser's default, and ``run(args, console) -> int``. A new command (export, tune, playground)
is one more module in :data:`COMMANDS`.

Every :class:`~feedforward.FeedforwardError` and every usage error becomes one line on stderr,
``feedforward <command>: error: <message>``, and exit status 2; no traceback. So does an
``OSError`` or ``MemoryError`` that a command lets through: the system refused what the user
asked for (a file name too long, a model too large). Any other exception is a bug, reported as
an internal error with exit status 1. ``--debug`` (or the environment variable
``FEEDFORWARD_DEBUG=1``) shows the traceback instead, for developers.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap

from .. import __version__
from ..errors import FeedforwardError
from . import (
    check,
    common,
    datasets,
    evaluate,
    export,
    playground,
    predict,
    summary,
    train,
    tune,
)

COMMANDS = (train, evaluate, predict, summary, export, datasets, check, tune, playground)
USAGE_ERROR = 2

EXAMPLES = """\
examples:
  feedforward datasets                                   # what is built in
  feedforward train                                      # digits; writes runs/digits
  feedforward train --dataset spiral --samples 1000 --noise 0.1 --epochs 300 --out runs/spiral
  feedforward train --doctor                             # name what goes wrong, with fixes
  feedforward check --layers 32                          # sanity recipe; recommends a rate
  feedforward evaluate runs/digits/model.safetensors     # the run's test split again
  feedforward predict runs/digits/model.safetensors rows.csv -o predictions.csv
  feedforward summary runs/digits/model.safetensors
  feedforward export runs/digits/model.safetensors --onnx digits.onnx

Run `feedforward COMMAND --help` for the options of a command.
"""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``PROG: error: MESSAGE`` and exit status 2."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        if kwargs.get("description"):  # the raw formatter keeps the epilog's layout, and
            kwargs["description"] = textwrap.fill(kwargs["description"], 79)  # wraps nothing
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(USAGE_ERROR, f"{self.prog}: error: {_one_line(message)}\n")

    def _get_values(self, action, arg_strings):
        # argparse drops a value of "--" (``--out=--``) and hands the option an empty list
        if action.option_strings and action.nargs is None and arg_strings == ["--"]:
            self.error(f"argument {'/'.join(action.option_strings)}: expected one argument, "
                       "got '--'")
        return super()._get_values(action, arg_strings)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def build_parser() -> Parser:
    parser = Parser(prog="feedforward",
                    description="Train, evaluate and inspect feedforward neural networks.",
                    epilog=EXAMPLES)
    parser.add_argument("--version", action="version", version=f"feedforward {__version__}")
    common_options = argparse.ArgumentParser(add_help=False)
    common_options.add_argument("--quiet", "-q", action="store_true",
                                help="print nothing but errors (and --json output)")
    common_options.add_argument("--debug", action="store_true",
                                help="show the traceback of an error (also FEEDFORWARD_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        # each command's own parser, so that errors found after parsing name the command
        command_parser = command.add_parser(sub, [common_options])
        command_parser.set_defaults(parser=command_parser)
    return parser


def main(argv=None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # argparse would blame "feedforward" rather than the command
        (getattr(args, "parser", None) or parser).error(
            f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.error("choose a command: " + ", ".join(sub.__name__.rsplit(".", 1)[1]
                                                      for sub in COMMANDS)
                     + " (see feedforward --help)")
    prog = f"feedforward {args.command}"
    debug = args.debug or os.environ.get("FEEDFORWARD_DEBUG", "") not in ("", "0")
    console = common.console(quiet=args.quiet)
    try:
        return args.run(args, console)
    except FeedforwardError as e:
        if debug:
            raise
        return _fail(prog, e)
    except KeyboardInterrupt:
        if debug:
            raise
        sys.stderr.write(f"{prog}: interrupted\n")
        return 130
    except OSError as e:  # the system refused a path the user named (too long, say)
        if debug:
            raise
        where = f"{str(e.filename)!r}: " if e.filename is not None else ""
        return _fail(prog, f"{where}{e.strerror or e}")
    except MemoryError as e:  # what was asked for does not fit: a refusal, not a bug
        if debug:
            raise
        return _fail(prog, f"out of memory ({_one_line(e) or 'MemoryError'}); ask for a "
                           "smaller model, batch or dataset")
    except Exception as e:  # a bug: say so in one line, and how to see the traceback
        if debug:
            raise
        sys.stderr.write(f"{prog}: internal error: {type(e).__name__}: {_one_line(e)} "
                         "(run with --debug to see the traceback, and please report it)\n")
        return 1


def _fail(prog, error) -> int:
    sys.stderr.write(f"{prog}: error: {_one_line(error)}\n")
    return USAGE_ERROR
