"""The command line's flags of the experiment options: one flag per option of
:data:`feedforward.config.OPTIONS`, its value parsed from text (``128,64`` for a list)."""

from __future__ import annotations

import argparse

from ..config import GROUPS, OPTIONS, Option


def _ints(text: str) -> list[int]:
    """Comma-separated integers (``128,64``); an empty string is an empty list."""
    parts = [p.strip() for p in text.replace(" ", ",").split(",") if p.strip()]
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers such as 128,64, got {text!r}") from None


def _names(text: str):
    """``auto``, or comma-separated names."""
    if text.strip().lower() == "auto":
        return "auto"
    return [p.strip() for p in text.split(",") if p.strip()]


def parse_target(text: str):
    """A ``--target`` value: an integer is a column index, anything else a column name."""
    try:
        return int(text)
    except ValueError:
        return text


def _columns(text: str) -> list:
    """Comma-separated columns (``id,notes`` or ``0,3``): each a name or a 0-based index."""
    return [parse_target(p.strip()) for p in text.split(",") if p.strip()]


_FLAG_TYPES = {"int": int, "float": float, "str": str, "ints": _ints, "shape": _ints,
               "names": _names, "target": parse_target, "columns": _columns}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per option, grouped as in the file; every default is None ("not given")."""
    groups = {g: parser.add_argument_group(f"{g} options") for g in GROUPS}
    for option in OPTIONS:
        flags = [option.flag]
        if option.key == "dataset":
            flags += ["--data", "-d"]
        kwargs = {"dest": option.key, "default": None, "help": _help(option)}
        if option.kind == "bool":
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = _FLAG_TYPES[option.kind]
            kwargs["metavar"] = option.metavar or (
                "{" + ",".join(option.choices) + "}" if option.choices else
                "NAME" if option.registry is not None else option.kind.upper())
        groups[option.group].add_argument(*flags, **kwargs)


def _help(option: Option) -> str:
    default = option.default
    if default is None:
        return option.help
    if isinstance(default, bool):
        shown = "yes" if default else "no"
    elif isinstance(default, list):
        shown = ",".join(map(str, default))
    else:
        shown = str(default)
    return f"{option.help} (default: {shown})".replace("%", "%%")
