"""The docs' snippets run, and print the figures the docs claim.

Every fenced code block of README.md, docs/cli.md and docs/sklearn.md either runs or carries a
marker saying why not, so a new snippet cannot escape the test unnoticed.

How a block is read:

- ``sh``/``bash``/``shell``/``console`` blocks are shell commands, one per line (a trailing
  ``\\`` continues a line), run with the environment's ``feedforward`` first on ``PATH``; each
  must exit 0.
- A block (``text`` or a shell language) whose first line starts with ``$ `` is a transcript:
  each ``$ `` line is a command, and the lines below it, up to the next ``$ ``, are its claimed
  output (stdout and stderr together). A claimed line ``...`` stands for any number of printed
  lines; otherwise each claimed line must be the next printed line, and the output must end
  where the claim ends. Blank lines are ignored.
- ``python``/``py`` blocks run in one fresh interpreter per doc, in order, in one namespace.
  A comment on a line that calls ``print`` is that line's claimed output:
  ``print(score)   # 0.978``.
- Any other block (TOML, plain text that is no transcript) needs a ``file`` or ``skip``
  marker.
- The blocks of one doc run in order in one temporary folder (so ``feedforward evaluate
  runs/digits/...`` finds the run an earlier block wrote); Python blocks run in a folder of
  their own. Each folder holds ``examples/*.toml`` (copied from the repository) and the sample
  files the docs name: ``data.csv`` (a regression with a ``price`` column), ``points.csv``
  (rows of spiral's ``x1``, ``x2``) and ``rows.csv`` (rows of digits' 64 pixels).

How figures are compared: the claimed line and the printed line must have the same text
between their figures (runs of whitespace count as one space). A whole number must be equal;
a decimal must agree to the precision shown (half a unit in its last place: a claimed 0.978
takes 0.9775 to 0.9785, a claimed 97.50 % takes 97.495 to 97.505). A duration (a figure
followed by ``s`` or ``ms``) matches any number. Training is seeded, but BLAS kernels round
differently on other CPUs, and a long run carries those last bits into the printed digits: a
block whose figures come from such a run declares how far they may drift with
``tolerance 2%`` (of each claimed decimal) or ``tolerance 0.005`` (absolute).

Markers: one HTML comment on the last non-blank line before the opening fence,
``<!-- doc-test: DIRECTIVE; DIRECTIVE -->``, with directives

- ``skip (REASON)``: the block is not run (installation, a server that runs until stopped);
- ``skip "PREFIX" (REASON)``: the block's commands that start with PREFIX are not run (each
  such prefix must match a command);
- ``fails``: each command must exit non-zero (a sample of refusals); ``fails 2``: with
  exit status 2;
- ``own folder``: the block runs in a fresh folder of its own (with the sample files), not
  after the doc's earlier blocks;
- ``file NAME``: the block's text is written to NAME in the doc's folder, for later commands;
- ``tolerance 2%`` / ``tolerance 0.005``: as above.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tokenize
from io import StringIO
from pathlib import Path

import numpy as np
import pytest

from _doc_snippets import Block, blocks, commands, lines_match, skipped_by, transcript_mismatch

ROOT = Path(__file__).resolve().parents[1]
DOCS = ["README.md", "docs/cli.md", "docs/sklearn.md"]
TIMEOUT = 180  # seconds for one command; a hung server or prompt fails instead of hanging
RUNNABLE = {"shell", "transcript", "python"}


def doc_blocks(doc: str) -> list[Block]:
    return blocks(ROOT / doc, ROOT)


def with_kind(kinds: set[str]) -> list[str]:
    """The docs that have a block of one of ``kinds`` that runs."""
    return [d for d in DOCS if any(b.kind in kinds and b.skip is None for b in doc_blocks(d))]


def sample_files(folder: Path) -> None:
    """The files the docs' commands name, and a copy of the repository's examples/*.toml."""
    rng = np.random.default_rng(0)
    area = rng.uniform(40, 200, 300)
    rooms = rng.integers(1, 7, 300)
    age = rng.uniform(0, 80, 300)
    price = 2.5 * area + 12 * rooms - 0.8 * age + rng.normal(0, 10, 300)
    rows = ["area,rooms,age,price"]
    rows += [f"{a:.1f},{r},{g:.1f},{p:.2f}"
             for a, r, g, p in zip(area, rooms, age, price, strict=True)]
    (folder / "data.csv").write_text("\n".join(rows) + "\n")
    points = rng.uniform(-5, 5, (5, 2))
    (folder / "points.csv").write_text(
        "x1,x2\n" + "".join(f"{a:.3f},{b:.3f}\n" for a, b in points))
    pixels = rng.integers(0, 17, (5, 64))
    header = ",".join(f"pixel_{i}_{j}" for i in range(8) for j in range(8))
    (folder / "rows.csv").write_text(
        header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in pixels))
    (folder / "examples").mkdir()
    for toml in (ROOT / "examples").glob("*.toml"):
        (folder / "examples" / toml.name).write_text(toml.read_text())


def environment() -> dict[str, str]:
    """This interpreter's environment first on PATH; no terminal width, no debug tracebacks."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"COLUMNS", "LINES", "FEEDFORWARD_DEBUG"}}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["MPLBACKEND"] = "Agg"
    return env


def test_every_block_runs_or_says_why_not():
    for doc in DOCS:
        for block in doc_blocks(doc):
            if block.skip is not None:
                continue
            assert block.kind in RUNNABLE or block.file, (
                f"{block.where}: a {block.lang or 'plain'} block that neither runs nor has a "
                f"'doc-test: file NAME' or 'doc-test: skip (REASON)' marker")
            cmds = [c for c, _ in commands(block)] if block.kind != "python" else []
            for prefix in block.skip_prefixes:
                assert any(c.startswith(prefix) for c in cmds), (
                    f"{block.where}: skip \"{prefix}\" matches no command")
            if block.kind in {"shell", "transcript"}:
                assert any(skipped_by(block, c) is None for c in cmds), (
                    f"{block.where}: every command is skipped; mark the block 'skip (REASON)'")


@pytest.mark.parametrize("doc", with_kind({"shell", "transcript"}))
def test_shell_blocks_run_and_print_the_claimed_figures(doc, tmp_path):
    sample_files(tmp_path)
    env, mismatches = environment(), []
    for block in doc_blocks(doc):
        folder = tmp_path
        if block.own_folder:
            folder = tmp_path / f"line{block.line}"
            folder.mkdir()
            sample_files(folder)
        if block.skip is not None:
            continue
        if block.file:
            (tmp_path / block.file).write_text("\n".join(block.text) + "\n")
            continue
        if block.kind not in {"shell", "transcript"}:
            continue
        for command, claimed in commands(block):
            if skipped_by(block, command):
                continue
            result = subprocess.run(["bash", "-c", command], cwd=folder, env=env, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    timeout=TIMEOUT)
            status = result.returncode
            ok = status != 0 if block.fails is True else status == int(block.fails)
            assert ok, (f"{block.where}: `{command}` exited {status}"
                        f"{' (the block is marked fails)' if block.fails else ''}:\n"
                        f"{result.stdout}")
            if block.kind == "transcript":
                why = transcript_mismatch(claimed, result.stdout, block.tolerance)
                if why:
                    mismatches.append(f"{block.where}: `{command}`: {why}")
    assert not mismatches, "\n".join(mismatches)


def claims(block: Block) -> dict[int, str]:
    """A Python block's claimed outputs: the comment on each line that calls ``print``, by
    1-based line of the block."""
    source = "\n".join(block.text) + "\n"
    out = {}
    for tok in tokenize.generate_tokens(StringIO(source).readline):
        if tok.type == tokenize.COMMENT and "print(" in tok.line[:tok.start[1]]:
            out[tok.start[0]] = tok.string[1:].strip()
    return out


@pytest.mark.parametrize("doc", with_kind({"python"}))
def test_python_blocks_run_and_print_the_claimed_figures(doc, tmp_path):
    sample_files(tmp_path)
    runnable = [b for b in doc_blocks(doc) if b.kind == "python" and b.skip is None]
    spec = [{"where": b.where, "code": "\n".join(b.text) + "\n"} for b in runnable]
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("_doc_snippets.py")), "spec.json",
         "printed.json"], cwd=tmp_path, env=environment(), capture_output=True, text=True,
        timeout=TIMEOUT)
    assert result.returncode == 0, f"{doc}'s Python blocks failed:\n{result.stderr}"
    printed: dict[tuple[str, int], list[str]] = {}
    for where, line, text in json.loads((tmp_path / "printed.json").read_text()):
        printed.setdefault((where, line), []).append(text)
    mismatches = []
    for block in runnable:
        for line, claim in claims(block).items():
            got = "\n".join(printed.get((block.where, line), []))
            why = transcript_mismatch([claim], got, block.tolerance)
            if why:
                mismatches.append(f"{block.doc}:{block.line + line}: {why}")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("claimed, printed, agree", [
    ("0.978", "0.9777406789092933", True),
    ("0.978", "0.9774", False),                      # outside half a unit of the last place
    ("[0.002 0.996]", "[0.002 0.996]", True),
    ("after 100 epochs, 2.4 s of training", "after 100 epochs, 9.1 s of training", True),
    ("after 100 epochs", "after 99 epochs", False),  # a count is exact
    ("wrote runs/demo: model", "wrote runs/digits: model", False),
    ("│ loss     │  0.1716 │", "│ loss │ 0.1716 │", True),
])
def test_a_printed_line_agrees_with_its_claim_to_the_precision_shown(claimed, printed, agree):
    assert lines_match(claimed, printed) is agree


def test_a_declared_tolerance_widens_decimals_only():
    assert lines_match("97.50 %", "97.90 %", (0.01, True))
    assert not lines_match("97.50 %", "98.60 %", (0.01, True))
    assert not lines_match("after 100 epochs", "after 101 epochs", (0.01, True))


def test_a_transcript_matches_in_order_with_gaps_only_where_claimed():
    printed = "a 1\nb 2\nc 3\n"
    assert transcript_mismatch(["a 1", "...", "c 3"], printed) is None
    assert "printed 'b 2'" in transcript_mismatch(["a 1", "c 3"], printed)
    assert "printed more" in transcript_mismatch(["a 1", "b 2"], printed)
    assert "no such line" in transcript_mismatch(["...", "d 4"], printed)


def test_markers_need_a_reason_and_a_known_directive(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- doc-test: skip -->\n```sh\nfeedforward datasets\n```\n")
    with pytest.raises(ValueError, match="needs a reason"):
        blocks(doc, tmp_path)
    doc.write_text("<!-- doc-test: skipp (typo) -->\n```sh\nls\n```\n")
    with pytest.raises(ValueError, match="unknown doc-test directive"):
        blocks(doc, tmp_path)
    doc.write_text('<!-- doc-test: skip "b" (x; y); fails 2 -->\n```sh\na\nb c\n```\n')
    block, = blocks(doc, tmp_path)
    assert block.skip_prefixes == {"b": "x; y"} and block.fails == 2
    assert [c for c, _ in commands(block) if not skipped_by(block, c)] == ["a"]


def test_sklearn_measured_table_shows_the_snippets_score():
    text = (ROOT / "docs/sklearn.md").read_text()
    row = re.search(r"^\| `NeuralNetClassifier\(hidden_layer_sizes=\(128,\), epochs=40\)` \| "
                    r"([0-9.]+) \|", text, re.MULTILINE)
    snippet, = [b for b in doc_blocks("docs/sklearn.md") if b.kind == "python"]
    assert row, "the Measured table has no row for the snippet's estimator"
    assert list(claims(snippet).values()) == [row.group(1)]
