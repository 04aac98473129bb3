"""The results of a search: ``results.jsonl`` (one line per finished trial, appended as each
finishes), the ranked tables ``results.csv`` and ``results.md``, and the plot ``tune.png``.

Each line of ``results.jsonl`` is a JSON object: ``search`` (the space's fingerprint), ``id``,
``index``, ``params``, ``status``, ``metrics``, ``epochs``, ``best_epoch``, ``seconds``,
``worker`` and ``error``, and, from searches that keep them, ``curve`` (the ranking metric
after each epoch) and ``pruned``. A line cut short by a killed process is dropped when the
file is read again, and the file is cut back to its last whole line before anything is
appended; any other line that is not such a record is refused, naming its number.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path

import numpy as np

from ..errors import FeedforwardError
from ..fileio import atomic_write
from .space import digest

JSONL = "results.jsonl"


def read(path: Path, fingerprint: str, note=None) -> dict:
    """The records of ``path`` by trial id (the first of any repeated id); a missing file is
    empty.

    A last line without its newline (the process was killed while writing it) is cut off the
    file, and ``note`` (a callable, optional) told so. Any whole line that is not a record of
    this search, with every field of its type, is refused, naming its number.
    """
    if not path.exists():
        return {}
    try:
        raw = path.read_bytes()
        whole = raw[:raw.rfind(b"\n") + 1]
        if len(whole) != len(raw):  # the process was killed while writing the last line
            with open(path, "r+b") as f:
                f.truncate(len(whole))
    except OSError as e:
        raise FeedforwardError(f"--out: cannot use {path} ({e.strerror or e})") from None
    if len(whole) != len(raw) and note is not None:
        note(f"{path}: dropped an unfinished last line (a run killed while writing it); its "
             "trial runs again")
    records = {}
    for number, line in enumerate(whole.split(b"\n")[:-1], 1):
        if not line.strip():
            continue
        record = _parse(line, f"--out: {path} (line {number})")
        if record["search"] != fingerprint:
            raise FeedforwardError(
                f"--out: {path} (line {number}) holds a trial of another search (a different "
                "space, seed, strategy or data); choose another --out, or delete the file")
        records.setdefault(record["id"], record)
    return records


NUMBER = (int, float)
TYPES = {"search": (str,), "id": (str,), "index": (int,), "params": (dict,), "status": (str,),
         "metrics": (dict,), "epochs": (int,), "best_epoch": (int, type(None)),
         "seconds": NUMBER, "worker": (str, type(None)), "error": (str, type(None))}
"""Each field of a record and the JSON types it may have."""
STATUSES = ("ok", "diverged", "failed")


def _parse(line: bytes, label: str) -> dict:
    """The record on ``line``, every field checked; ``label`` names the line in errors."""
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise FeedforwardError(f"{label}: not a JSON record ({type(e).__name__}); it was "
                               "changed after tune wrote it: fix or delete the line") from None
    if not isinstance(record, dict):
        raise FeedforwardError(f"{label}: expected a JSON object, got "
                               f"{type(record).__name__}; fix or delete the line")
    for key, types in TYPES.items():
        value = record.get(key, ...)
        if isinstance(value, bool) or not isinstance(value, types):
            got = "nothing" if value is ... else f"{type(value).__name__} {_short(value)}"
            raise FeedforwardError(f"{label}: {key}: expected {_names(types)}, got {got}; fix "
                                   "or delete the line")
    problem = _inconsistency(record)
    if problem:
        raise FeedforwardError(f"{label}: {problem}; fix or delete the line")
    return record


def _inconsistency(record) -> str:
    """What is wrong with a record whose fields have their types, or ''."""
    if record["status"] not in STATUSES:
        return f"status: expected one of {', '.join(STATUSES)}, got {_short(record['status'])}"
    bad = [k for k, v in record["metrics"].items()
           if isinstance(v, bool) or not isinstance(v, NUMBER)]
    if bad:
        return f"metrics: {bad[0]}: expected a number, got {_short(record['metrics'][bad[0]])}"
    if min(record["index"], record["epochs"], record["seconds"]) < 0:
        return "index, epochs and seconds: expected values >= 0"
    expected = f"{record['index']:04d}-{digest(record['params'])[:8]}"
    if record["id"] != expected:  # the id is the trial's number and its params' digest
        return (f"id: {_short(record['id'])} does not match its index and params "
                f"(expected {expected})")
    return ""


def _names(types) -> str:
    names = {int: "an integer", float: "a number", str: "a string", dict: "an object",
             type(None): "null"}
    return " or ".join(dict.fromkeys(names[t] for t in types))


def _short(value) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def append(path: Path, record: dict) -> None:
    """Append ``record`` as one line, flushed to disk before returning."""
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, separators=(",", ":")) + "\n")
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:  # disk full, a folder in the way: a cut line is dropped on resume
        raise FeedforwardError(f"--out: cannot append to {path} ({e.strerror or e})") from None


# ---------------------------------------------------------------------------- ranking
def direction(metric: str) -> str:
    """``max`` for accuracy-like metrics, ``min`` for losses and errors (as early stopping)."""
    return "max" if any(k in metric for k in ("acc", "r2", "auc")) else "min"


def score(record: dict, metric: str) -> float:
    """The record's metric, signed so that larger is better; -inf when it has none."""
    value = record.get("metrics", {}).get(metric) if record.get("status") == "ok" else None
    if value is None or not math.isfinite(value):
        return -math.inf
    return value if direction(metric) == "max" else -value


def order(record: dict, metric: str) -> tuple:
    """THE ranking rule, as a sort key (larger is better).

    A finished trial comes before a pruned one (cut short, it never counts as best, as in
    Optuna), which comes before a failed one; then the metric; a tie on it goes to the lower
    ``val_loss``, then to the earlier trial.

    Parameters
    ----------
    record : dict
        A trial's record: ``status``, ``metrics``, ``index``, ``pruned``.
    metric : str
        The ranking metric.

    Returns
    -------
    tuple
    """
    value = score(record, metric)
    eligible = value > -math.inf and not record.get("pruned")
    return eligible, value, score(record, "val_loss"), -record["index"]


def rank(records, metric: str) -> list[dict]:
    """Best first, by :func:`order`."""
    return sorted(records, key=lambda r: order(r, metric), reverse=True)


def better(record: dict, best: dict | None, metric: str) -> bool:
    """Whether ``record`` may be the best trial and beats ``best`` (None: no best yet)."""
    key = order(record, metric)
    return key[0] and (best is None or key > order(best, metric))


# ---------------------------------------------------------------------------- tables
def cell(value, missing: str = "") -> str:
    """``value`` as a table cell: 4 significant digits, lists in brackets."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(map(cell, value)) + "]"
    return missing if value is None else str(value)


def rows(ranked: list[dict], params: list[str]) -> tuple[list[str], list[list[str]]]:
    """The table's header and rows: rank, id, metrics, params, epochs, seconds, status."""
    metrics = list(dict.fromkeys(k for r in ranked for k in r["metrics"]))
    header = ["rank", "id", *metrics, *params, "epochs", "seconds", "status"]
    body = []
    for i, r in enumerate(ranked, 1):
        status = "pruned" if r.get("pruned") and r["status"] == "ok" else r["status"]
        body.append([str(i), r["id"], *(cell(r["metrics"].get(m)) for m in metrics),
                     *(cell(r["params"].get(p)) for p in params), str(r["epochs"]),
                     f"{r['seconds']:.2f}", status])
    return header, body


def pruning(records: list[dict]) -> dict:
    """How many trials were pruned and about how much training time that saved.

    A pruned trial is assumed to have saved the epochs between its last and the median epoch
    count of the finished, unpruned trials, at its own seconds per epoch: an estimate, since
    nobody knows when its early stopping would have ended it.

    Returns
    -------
    dict
        ``pruned`` (a count) and ``seconds_saved`` (a float, 0 without pruned trials).
    """
    pruned = [r for r in records if r.get("pruned") and r["epochs"]]
    full = [r["epochs"] for r in records if r["status"] == "ok" and not r.get("pruned")]
    typical = float(np.median(full)) if full else 0.0
    saved = sum(max(0.0, typical - r["epochs"]) * r["seconds"] / r["epochs"] for r in pruned)
    return {"pruned": len(pruned), "seconds_saved": round(saved, 2)}


def write_tables(out: Path, ranked: list[dict], params: list[str], title: str) -> list[Path]:
    """``results.csv`` and ``results.md``, best first."""
    header, body = rows(ranked, params)
    table = io.StringIO(newline="")
    csv.writer(table).writerows([header, *body])
    atomic_write(out / "results.csv", table.getvalue(), label="--out")
    lines = [f"# {title}", "", "| " + " | ".join(header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
    errors = [f"- {r['id']}: {r['error']}" for r in ranked if r.get("error")]
    if errors:
        lines += ["", "Trials that did not finish:", "", *errors]
    atomic_write(out / "results.md", "\n".join(lines) + "\n", label="--out")
    return [out / "results.csv", out / "results.md"]


# ---------------------------------------------------------------------------- the plot
def plot(out: Path, records: list[dict], space, metric: str) -> Path | None:
    """``tune.png``: the metric of each finished trial against each searched option, the best
    trial marked; log axes for log ranges, one position per value for the choices."""
    from .. import plots

    done = [r for r in records if score(r, metric) > -math.inf]
    if not plots.available() or not done:
        return None
    keys = list(space.ranges)
    curves = [r for r in records if r.get("curve")]
    panels = len(keys) + bool(curves)
    cols = min(3, panels)
    nrows = math.ceil(panels / cols)
    fig = plots.figure((4.2 * cols, 3.4 * nrows))
    axes = np.atleast_1d(fig.subplots(nrows, cols, squeeze=False)).ravel()
    y = np.array([r["metrics"][metric] for r in done])
    best = done.index(max(done, key=lambda r: order(r, metric)))
    for ax, key in zip(axes, keys, strict=False):
        _axis(ax, space.ranges[key], [r["params"].get(key) for r in done], y, best)
        ax.set_xlabel(key)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    if curves:
        _curves(axes[len(keys)], curves, metric, done[best]["id"])
    for ax in axes[panels:]:
        ax.set_visible(False)
    fig.suptitle(f"{metric} of {len(done)} trials (best marked)")
    fig.tight_layout()
    path = out / "tune.png"
    fig.savefig(path)
    return path


def _curves(ax, records, metric, best_id):
    """Each trial's validation curve; pruned trials dashed, the best one red."""
    for r in records:
        epochs = np.arange(1, len(r["curve"]) + 1)
        if r["id"] == best_id:
            ax.plot(epochs, r["curve"], color="tab:red", lw=2, zorder=3)
        elif r.get("pruned"):
            ax.plot(epochs, r["curve"], color="tab:gray", ls="--", lw=0.8, alpha=0.6)
        else:
            ax.plot(epochs, r["curve"], color="tab:blue", lw=0.8, alpha=0.6)
    pruned = sum(bool(r.get("pruned")) for r in records)
    ax.set_title(f"learning curves ({pruned} pruned, dashed)", fontsize=9)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)


def _axis(ax, rng, values, y, best):
    shown = [i for i, v in enumerate(values) if v is not None]  # absent: did not apply
    numeric = rng.kind != "choice" or all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in rng.values)
    if numeric:
        x = np.array([float(values[i]) for i in shown])
        if rng.log:
            ax.set_xscale("log")
        elif all(isinstance(values[i], int) for i in shown):
            from matplotlib.ticker import MaxNLocator
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        keys = [json.dumps(v) for v in rng.values]
        x = np.array([keys.index(json.dumps(values[i])) for i in shown], dtype=float)
        labels = [v if isinstance(v, str) else cell(v) for v in rng.values]
        ax.set_xticks(range(len(labels)), labels, rotation=30 if len(labels) > 3 else 0,
                      fontsize=8)
        ax.set_xlim(-0.5, len(labels) - 0.5)
    ax.scatter(x, y[shown], s=18, alpha=0.7)
    if best in shown:
        ax.scatter([x[shown.index(best)]], [y[best]], marker="*", s=160, color="tab:red")
