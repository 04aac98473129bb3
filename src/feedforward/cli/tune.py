"""``feedforward tune``: placeholder until the module is written."""

from __future__ import annotations


def add_parser(subparsers, parents):
    parser = subparsers.add_parser("tune", parents=parents, help="(not yet available)")
    parser.set_defaults(run=run)
    return parser


def run(args, console) -> int:
    raise NotImplementedError
