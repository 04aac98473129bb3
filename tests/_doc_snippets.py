"""Reading the docs' code blocks and comparing the figures they claim with the figures printed.

The convention itself is described in ``test_doc_snippets.py``. This module holds the parts:
``blocks`` reads a Markdown file into ``Block`` records with their markers, ``lines_match``
compares one claimed line with one printed line, ``transcript_mismatch`` a claimed transcript
with a command's output, and run as a script (``python _doc_snippets.py SPEC OUT``) it executes
a doc's Python blocks in one namespace and records what each line printed.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

FENCE = re.compile(r"^```(\w*)\s*$")
MARKER = re.compile(r"^<!--\s*doc-test:(.*?)-->\s*$")
SHELL_LANGS = {"sh", "bash", "shell", "console"}
PYTHON_LANGS = {"python", "py"}
PROMPT = "$ "
GAP = "..."
# a figure: an integer or a decimal, optionally with an exponent
NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
# a duration (``0.01s``, ``2.4 s of training``, ``3 ms``): differs from run to run, so any
# number matches it
DURATION = re.compile(r"\s?m?s\b")
DIRECTIVE = re.compile(r'^(skip|fails|file|tolerance|own folder)\b\s*(?:"([^"]*)")?\s*(.*)$')


@dataclass
class Block:
    """One fenced code block of a doc, with the directives of the marker right above it.

    ``line`` is the 1-based line of the opening fence; ``text`` the lines between the fences.
    ``skip`` is the reason the whole block is not run (``None`` when it runs), ``skip_prefixes``
    maps a command prefix to the reason its commands are not run, ``fails`` says each command
    must exit non-zero (``True``) or with that status (an int), ``file`` names the file the
    block's text is written to, ``tolerance`` is ``(value, relative)`` for the block's decimal
    figures, and ``own_folder`` says the block runs in a fresh folder rather than the doc's.
    """

    doc: str
    line: int
    lang: str
    text: list[str]
    skip: str | None = None
    skip_prefixes: dict[str, str] = field(default_factory=dict)
    fails: bool | int = False
    file: str | None = None
    tolerance: tuple[float, bool] = (0.0, False)
    own_folder: bool = False

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"

    @property
    def kind(self) -> str:
        """``transcript`` (``$ `` prompts followed by output), ``shell``, ``python`` or
        ``other`` (text, TOML, ...: only runs as a ``file`` or with a ``skip``)."""
        first = next((t for t in self.text if t.strip()), "")
        if first.startswith(PROMPT) and self.lang in SHELL_LANGS | {"text", ""}:
            return "transcript"
        if self.lang in SHELL_LANGS:
            return "shell"
        if self.lang in PYTHON_LANGS:
            return "python"
        return "other"


def parse_marker(block: Block, body: str) -> None:
    """Set ``block``'s directives from a marker's body (``;``-separated); raise ValueError on
    an unknown directive, a skip without a reason in parentheses or a bad tolerance."""
    # a ``;`` separates directives, except inside a reason's parentheses
    parts = re.findall(r'(?:[^;(]|\([^)]*\))+', body)
    for part in filter(None, (p.strip() for p in parts)):
        m = DIRECTIVE.match(part)
        if not m:
            raise ValueError(f"{block.where}: unknown doc-test directive {part!r}")
        name, prefix, rest = m.groups()
        if name == "skip":
            reason = re.fullmatch(r"\((.+)\)", rest.strip())
            if not reason:
                raise ValueError(f"{block.where}: 'skip' needs a reason in parentheses: {part!r}")
            if prefix is None:
                block.skip = reason.group(1)
            else:
                block.skip_prefixes[prefix] = reason.group(1)
        elif name == "fails":
            if rest.strip() and not rest.strip().isdigit():
                raise ValueError(f"{block.where}: 'fails' takes an exit status: {part!r}")
            block.fails = int(rest) if rest.strip() else True
        elif name == "own folder":
            block.own_folder = True
        elif name == "file":
            block.file = rest.strip()
        else:
            m = re.fullmatch(r"([0-9.]+)\s*(%?)", rest.strip())
            if not m:
                raise ValueError(f"{block.where}: tolerance is a number or a percentage: {part!r}")
            relative = m.group(2) == "%"
            block.tolerance = (float(m.group(1)) / (100 if relative else 1), relative)


def blocks(path: Path, root: Path) -> list[Block]:
    """Every fenced code block of the Markdown file ``path``, with its marker's directives."""
    out, current, last_nonblank = [], None, ""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        m = FENCE.match(line)
        if current is not None:
            if line.strip() == "```":
                out.append(current)
                current = None
            else:
                current.text.append(line)
        elif m:
            current = Block(str(path.relative_to(root)), number, m.group(1).lower(), [])
            marker = MARKER.match(last_nonblank)
            if marker:
                parse_marker(current, marker.group(1))
        if line.strip():
            last_nonblank = line.strip()
    return out


def commands(block: Block) -> list[tuple[str, list[str]]]:
    """A shell or transcript block's commands, each with its claimed output lines (none for a
    shell block); lines ending in a backslash continue on the next line."""
    out: list[tuple[str, list[str]]] = []
    pending = ""
    for raw in block.text:
        if block.kind == "transcript" and not raw.startswith(PROMPT) and not pending:
            if out:
                out[-1][1].append(raw)
            continue
        line = raw[len(PROMPT):] if raw.startswith(PROMPT) else raw
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        command, pending = (pending + line).strip(), ""
        if command and not command.startswith("#"):
            out.append((command, []))
    return out


def skipped_by(block: Block, command: str) -> str | None:
    """The prefix of ``block``'s markers that keeps ``command`` from running, if any."""
    return next((p for p in block.skip_prefixes if command.startswith(p)), None)


def _split(line: str) -> tuple[list[str], list[tuple[str, bool]]]:
    """A line's text between figures (whitespace collapsed) and its figures, each with whether
    it is a duration."""
    texts, figures, start = [], [], 0
    for m in NUMBER.finditer(line):
        texts.append(line[start:m.start()])
        figures.append((m.group(), bool(DURATION.match(line, m.end()))))
        start = m.end()
    texts.append(line[start:])
    return [" ".join(t.split()) for t in texts], figures


def figure_matches(claimed: str, printed: str, tolerance: tuple[float, bool]) -> bool:
    """Whether the printed figure agrees with the claimed one: an integer exactly; a decimal to
    the precision shown (half a unit in its last place), widened by ``tolerance``."""
    c, p = float(claimed), float(printed)
    if not math.isfinite(p):
        return False
    mantissa = re.split(r"[eE]", claimed)[0]
    if "." not in mantissa:
        return p == c
    decimals = len(mantissa.split(".")[1])
    exponent = int(re.split(r"[eE]", claimed)[1]) if re.search(r"[eE]", claimed) else 0
    half_unit = 0.5 * 10.0 ** (exponent - decimals)
    value, relative = tolerance
    allowed = half_unit + (value * abs(c) if relative else value)
    return abs(p - c) <= allowed * (1 + 1e-9)


def lines_match(claimed: str, printed: str, tolerance=(0.0, False)) -> bool:
    """Whether a printed line is the claimed one: the same text between figures (whitespace
    collapsed) and each figure agreeing (``figure_matches``; durations match any number)."""
    c_text, c_figs = _split(claimed)
    p_text, p_figs = _split(printed)
    if c_text != p_text or len(c_figs) != len(p_figs):
        return False
    return all(duration or figure_matches(c, p, tolerance)
               for (c, duration), (p, _) in zip(c_figs, p_figs, strict=True))


def transcript_mismatch(claimed: list[str], printed: str, tolerance=(0.0, False)) -> str | None:
    """Why ``printed`` is not the claimed output, or ``None`` when it is.

    Blank lines are ignored on both sides. A claimed line ``...`` stands for any number of
    printed lines; otherwise each claimed line must be the next printed line, and the output
    must end where the claim ends.
    """
    want = [c.strip() for c in claimed if c.strip()]
    got = [g.strip() for g in printed.splitlines() if g.strip()]
    pos, gap = 0, False
    for line in want:
        if line == GAP:
            gap = True
            continue
        candidates = range(pos, len(got)) if gap else range(pos, min(pos + 1, len(got)))
        found = next((i for i in candidates if lines_match(line, got[i], tolerance)), None)
        if found is None:
            if not gap:
                return f"claimed {line!r}, printed " + (
                    repr(got[pos]) if pos < len(got) else "nothing more")
            skeleton = _split(line)[0]
            near = [g for g in got[pos:] if _split(g)[0] == skeleton][:3]
            return (f"claimed {line!r} after '...', printed "
                    + (" or ".join(map(repr, near)) if near else "no such line"))
        pos, gap = found + 1, False
    if not gap and pos < len(got):
        return f"printed more than claimed, from {got[pos]!r}"
    return None


def run_python(spec_path: str, out_path: str) -> None:
    """Execute the blocks of a spec (``[{"where": ..., "code": ...}]``) in one namespace, in
    order, and write ``[[where, line, text], ...]``: what each line's ``print`` calls printed."""
    import builtins

    spec = json.loads(Path(spec_path).read_text())
    printed: list[list] = []
    original = builtins.print

    def recording_print(*args, sep=" ", end="\n", file=None, flush=False):
        original(*args, sep=sep, end=end, file=file, flush=flush)
        frame = sys._getframe(1)
        while frame is not None and not frame.f_code.co_filename.startswith("doc:"):
            frame = frame.f_back
        if frame is not None and file in (None, sys.stdout):
            printed.append([frame.f_code.co_filename[4:], frame.f_lineno,
                            sep.join(map(str, args))])

    builtins.print = recording_print
    namespace = {"__name__": "__main__"}
    try:
        for block in spec:
            exec(compile(block["code"], "doc:" + block["where"], "exec"), namespace)
    finally:
        builtins.print = original
        Path(out_path).write_text(json.dumps(printed))


if __name__ == "__main__":
    run_python(*sys.argv[1:3])
