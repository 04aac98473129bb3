"""The end of a search: the ranked tables, the plot, the best trial's configuration
(``best.toml``), its test-split scores, ``search.json``, and the summary on the console."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from .. import config, records
from ..fileio import atomic_write
from ..model import load_model
from . import results

MODEL_FILE = "model.safetensors"


def finish(result, space, trial_list, bundle, plots, console) -> None:
    """Write the folder's summary files for ``result`` (a SearchResult, whose ``test`` it
    fills) and print the best trials."""
    out, best = result.out, result.best
    params = list(dict.fromkeys(k for t in trial_list for k in t.params))
    title = f"{len(result.records)} trials ranked by {result.metric}"
    written = [p.name for p in results.write_tables(out, result.records, params, title)]
    if plots:
        path = results.plot(out, result.records, space, result.metric)
        written += [path.name] if path else []
    if best is not None and (out / MODEL_FILE).exists():
        cfg, _ = space.config(best["params"])
        x, y = bundle.splits()["test"]
        if len(x):
            result.test = load_model(out / MODEL_FILE).evaluate(x, y, return_dict=True)
        header = (f"The best trial of a feedforward tune search ({best['id']}, "
                  f"{result.metric} {best['metrics'][result.metric]:.6g}).\n"
                  "Train it again:  feedforward train --config best.toml --out ANOTHER_FOLDER")
        atomic_write(out / "best.toml", config.dumps(cfg, header=header), label="--out")
        written += [MODEL_FILE, "best.toml"]
    summary = {"metric": result.metric, "mode": result.mode, "space": space.file,
               "strategy": space.settings["strategy"], "seed": space.settings["seed"],
               "trials": len(trial_list), "finished": len(result.records),
               "failed": sum(r["status"] != "ok" for r in result.records),
               "best": best, "test": result.test}
    atomic_write(out / "search.json", records.dumps(summary) + "\n", label="--out")
    written.append("search.json")
    _report(console, result, params)
    console.print(f"wrote {out}: {results.JSONL}, {', '.join(written)}")


def _report(console, result, params, top=10) -> None:
    """The ``top`` trials as a table, and the best one's parameters and test scores."""
    header, body = results.rows(result.records[:top], params)
    print_table(console, f"best {min(top, len(body))} of {len(result.records)} trials",
                header, body)
    if result.best is not None and result.test:
        test = ", ".join(f"{k} {records.fmt(k, v)}" for k, v in result.test.items())
        console.print(f"best {result.best['id']}: {json.dumps(result.best['params'])}; "
                      f"test split: {test}")


def print_table(console, title: str, header: list[str], body: list[list[str]]) -> None:
    """Print a table of strings: ids and statuses left, the rest right-aligned; into a log or
    a pipe as wide as it needs, so that the values stay whole."""
    table = Table(title=title)
    for name in header:
        table.add_column(name, justify="left" if name in ("id", "status") else "right")
    for row in body:
        table.add_row(*row)
    if not console.is_terminal:
        need = sum(max(len(c) for c in col) + 3 for col in zip(header, *body, strict=True))
        console = Console(file=console.file, width=max(80, need + 1), quiet=console.quiet,
                          highlight=False, markup=False, soft_wrap=True)
    console.print(table)
