"""The end of a search: the ranked tables, the plot, the best trial's configuration
(``best.toml``), ``search.json``, and the summary on the console: which model was saved (the
refit or the best trial's), on how many rows it trained, its one held-out score, and how many
trials were pruned and the time that saved."""

from __future__ import annotations

import json

from rich.table import Table

from .. import config, records
from ..callbacks import QuietOnClosedOutput
from ..fileio import atomic_write
from . import results

MODEL_FILE = "model.safetensors"


def finish(result, space, trial_list, bundle, plots, console) -> None:
    """Write the folder's summary files for ``result`` (a SearchResult, with its ``model``
    and ``test`` settled) and print the best trials."""
    out, best = result.out, result.best
    params = list(dict.fromkeys(k for t in trial_list for k in t.params))
    folds = space.settings.get("cv")
    pruned = results.pruning(result.records)
    title = f"{len(result.records)} trials ranked by {result.metric}" + (
        f" (mean over {folds} folds)" if folds else "") + (
        f"; {pruned['pruned']} pruned, about {pruned['seconds_saved']:.0f} s of training saved"
        if pruned["pruned"] else "")
    written = [p.name for p in results.write_tables(out, result.records, params, title)]
    if plots:
        path = results.plot(out, result.records, space, result.metric)
        written += [path.name] if path else []
    if best is not None and (out / MODEL_FILE).exists():
        cfg, _ = space.config(best["params"])
        header = (f"The best trial of a feedforward tune search ({best['id']}, "
                  f"{result.metric} {best['metrics'][result.metric]:.6g}).\n"
                  "Train it again:  feedforward train --config best.toml --out ANOTHER_FOLDER")
        atomic_write(out / "best.toml", config.dumps(cfg, header=header), label="--out")
        kept = ["best_trial.safetensors"] if result.model.get("kind") == "refit" else []
        written += [MODEL_FILE, *kept, "best.toml"]
    summary = {"metric": result.metric, "mode": result.mode, "space": space.file,
               "strategy": space.settings["strategy"], "seed": space.settings["seed"],
               "trials": len(trial_list), "finished": len(result.records),
               "failed": sum(r["status"] != "ok" for r in result.records),
               **pruned, "best": best, "model": result.model,
               "test": result.test, "tested": result.tested}
    atomic_write(out / "search.json", records.dumps(summary) + "\n", label="--out")
    written.append("search.json")
    _report(console, result, params)
    console.print(saved(result))
    console.print(f"wrote {out}: {results.JSONL}, {', '.join(written)}")


def _report(console, result, params, top=10) -> None:
    """The ``top`` trials as a table, and the best one's parameters and test scores."""
    header, body = results.rows(result.records[:top], params)
    print_table(console, f"best {min(top, len(body))} of {len(result.records)} trials",
                header, body)
    pruned = results.pruning(result.records)
    if pruned["pruned"]:
        console.print(f"{pruned['pruned']} trials pruned, about "
                      f"{pruned['seconds_saved']:.0f} s of training saved (estimated: each ran "
                      "to the median epochs of the unpruned trials)")
    if result.best is not None:
        console.print(f"best {result.best['id']}: {json.dumps(result.best['params'])}")


def saved(result) -> str:
    """One line: the saved model, the rows it trained on, and its held-out score."""
    m = result.model
    if not m:
        return "no trial finished: no model saved"
    if m["kind"] == "refit":
        what = (f"{MODEL_FILE}: the refit of {m['trial']} on {m['rows']} rows (training and "
                f"validation), {m['epochs']} epochs; its trial's model is best_trial.safetensors")
    else:
        why = f" (the refit diverged: {m['error']})" if m.get("error") else ""
        fold = " (its first fold)" if m.get("folds") else ""
        what = (f"{MODEL_FILE}: the model of trial {m['trial']}{fold}, trained on {m['rows']} "
                f"rows{why}")
    if not result.test:
        return f"{what}; {result.tested}"
    test = ", ".join(f"{k} {records.fmt(k, v)}" for k, v in result.test.items())
    return f"{what}; on {result.tested}: {test}"


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
        console = QuietOnClosedOutput(file=console.file, width=max(80, need + 1),
                                      quiet=console.quiet, highlight=False, markup=False,
                                      soft_wrap=True)
    console.print(table)
