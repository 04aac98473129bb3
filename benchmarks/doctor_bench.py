"""The doctor's benchmark: run the labelled scenarios, judge the findings, report recall.

::

    python benchmarks/doctor_bench.py [--fast | --heldout | --heldout2 | --all] [--jobs N]
                                      [--only ID,...] [--out FILE.md] [--json FILE]

Each scenario of ``doctor_scenarios.py`` (the set the rules were calibrated on; with
``--heldout`` those of ``doctor_heldout.py`` instead, written before the rules had seen
them; with ``--heldout2`` those of ``doctor_heldout2.py``, written after the rules' last
change to the first held-out set; with ``--all`` all three) is trained as ``feedforward
train --doctor`` trains it (the experiment recipe, the doctor as an extra callback, a
divergence diagnosed as the CLI does), in ``--jobs`` processes (default 2). For each run the
doctor's final findings, the epoch each was first named (0: at initialization) and the time
are recorded. The report (Markdown, printed, and written to ``--out``) gives the targets of
issue 19 measured, recall per mode, a confusion table of expected modes against the
findings, the false findings and the detection epochs. The exit status is 1 when a target is
missed or a scenario could not run (a crash, or a healthy setup that does not train well), 0
otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the scenarios live beside this file
import doctor_heldout as heldout  # noqa: E402
import doctor_heldout2 as heldout2  # noqa: E402
import doctor_scenarios as sc  # noqa: E402

import feedforward  # noqa: E402
from feedforward import config, experiment  # noqa: E402
from feedforward.data import sources  # noqa: E402
from feedforward.diagnostics import Doctor  # noqa: E402
from feedforward.model import Diverged  # noqa: E402

TARGET_RECALL, TARGET_MODE_RECALL, EARLY_EPOCH = 0.95, 0.8, 2
# every scenario by id: the calibration set's and the held-out sets' (their ids are disjoint)
BY_ID = {**sc.BY_ID, **heldout.BY_ID, **heldout2.BY_ID}
OK, MISS = "✓", "✗"


# ---------------------------------------------------------------------------- one run
def train(scenario: sc.Scenario):
    """Train ``scenario`` through the recipe with a :class:`Doctor`, as ``train --doctor`` does.

    Returns
    -------
    doctor : Doctor
    history : dict
        The per-epoch lists of the run.
    diverged : bool
    """
    cfg = config.validate(config.Config({**config.DEFAULTS, **scenario.options}))
    raw = sources.load(cfg["dataset"], cfg["target"], cfg["samples"], cfg["noise"],
                       cfg["seed"], header=cfg["header"])
    if scenario.data is not None:
        raw = scenario.data(raw)
    data, parts = experiment.load(cfg, raw)
    plan = experiment.make_plan(cfg, data, len(parts.x_train))
    model = experiment.build_model(cfg, plan, data)
    if scenario.weights is not None:
        rng = np.random.default_rng(cfg["seed"])
        model.set_weights(scenario.weights(model.get_weights(), rng))
    doctor = Doctor(print_fn=lambda text: None)
    diverged = False
    try:
        experiment.fit(cfg, plan, model, experiment.splits(parts), [doctor])
    except Diverged as e:  # as the CLI does: the findings include the divergence
        diverged = True
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            doctor.findings = doctor.diagnose(error=e)
    return doctor, {k: list(v) for k, v in model.history.history.items()}, diverged


def first_seen(doctor, names, last_epoch) -> dict:
    """``{name: epoch}`` each final finding was first named (``doctor.first_seen``); one
    named only by the final diagnosis (after a divergence) gets ``last_epoch``."""
    seen = {name: int(epoch) for name, epoch in doctor.first_seen.items()}
    return {**seen, **{name: int(doctor.first_seen.get(name, last_epoch)) for name in names}}


def _score(history: dict, prefix: str):
    for metric in ("accuracy", "r2"):
        values = history.get(prefix + metric)
        if values:
            return float(values[-1])
    return None


def run(scenario_id: str) -> dict:
    """Run one scenario; its findings, first epochs, scores and time (a crash is recorded).

    Parameters
    ----------
    scenario_id : str
        An id of :data:`BY_ID` (a calibration or a held-out scenario).

    Returns
    -------
    dict
        ``id``, ``findings`` (names, in the doctor's order), ``explains`` (name: the names
        it folds in), ``first_seen``, ``epochs``,
        ``diverged``, ``score`` (last validation accuracy or R²), ``train_score``, ``loss``
        (per epoch), ``seconds`` and ``error`` (None, or the traceback of a crash).
    """
    scenario = BY_ID[scenario_id]
    start = time.perf_counter()
    result = {"id": scenario_id, "findings": [], "explains": {}, "first_seen": {},
              "explained": {}, "epochs": 0,
              "diverged": False, "score": None, "train_score": None, "loss": [],
              "error": None}
    try:
        doctor, history, diverged = train(scenario)
    except Exception:  # noqa: BLE001 - a broken scenario is reported, not fatal
        result["error"] = traceback.format_exc(limit=4)
    else:
        names = [f.name for f in doctor.findings]
        explains = {f.name: list(f.explains) for f in doctor.findings if f.explains}
        epochs = len(history.get("loss", []))
        result.update(findings=names, explains=explains, epochs=epochs, diverged=diverged,
                      first_seen=first_seen(doctor, names, epochs + diverged),
                      explained=dict(doctor.explained),
                      score=_score(history, "val_"), train_score=_score(history, ""),
                      loss=[float(v) for v in history.get("loss", [])])
    result["seconds"] = round(time.perf_counter() - start, 3)
    return result


def run_all(ids, jobs: int = 1) -> list:
    """:func:`run` over ``ids``, in ``jobs`` processes (in this one for 1); in order."""
    if jobs <= 1:
        return [run(i) for i in ids]
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # one BLAS thread per process: jobs share the cores
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        return list(pool.map(run, ids))


# ---------------------------------------------------------------------------- judging
def judge(scenario: sc.Scenario, result: dict) -> dict:
    """Whether ``result`` names the scenario's problem, by when, and what else it names.

    Returns
    -------
    dict
        ``detected`` (every name of ``expect`` named at some epoch, alone or as a symptom
        another finding explains, and no crash),
        ``false`` (names ever named outside ``expect`` and ``accept``), ``epoch`` (when the last of
        ``expect`` was first named; None if not detected), ``early_ok`` (named by epoch 2;
        None when the scenario is not ``early``) and ``broken`` (why the setup itself failed:
        a crash, or a healthy run under its ``min_score``; None when sound).
    """
    # named at any time, as the user read it live: alone, or as a symptom under its root
    # cause ("this also explains: x"); a name ever offered alone outside the labels is false
    alone = set(result["findings"]) | set(result["first_seen"])
    found = alone | set(result.get("explained", {}))
    detected = result["error"] is None and set(scenario.expect) <= found
    seen = {**result.get("explained", {}), **result["first_seen"]}
    epoch = (max((seen[n] for n in scenario.expect), default=None)
             if detected else None)
    early_ok = None
    if scenario.early:
        early_ok = epoch is not None and epoch <= EARLY_EPOCH
    broken = None
    if result["error"] is not None:
        broken = "crashed: " + result["error"].strip().splitlines()[-1]
    elif scenario.min_score is not None and (result["score"] is None
                                             or result["score"] < scenario.min_score):
        broken = f"healthy run scored {_num(result['score'])} < {scenario.min_score}"
    allowed = set(scenario.expect) | set(scenario.accept)
    return {"detected": detected, "epoch": epoch, "early_ok": early_ok, "broken": broken,
            "false": sorted(n for n in (found if scenario.mode == sc.HEALTHY else alone)
                            if n not in allowed)}


def judged(scenarios, results) -> list:
    """``(scenario, result, verdict)`` for each run, the verdict by :func:`judge`."""
    return [(s, r, judge(s, r)) for s, r in zip(scenarios, results, strict=True)]


def summarize(runs) -> dict:
    """The figures the targets are judged on, from the :func:`judged` runs."""
    faults = [(s, v) for s, _, v in runs if s.mode != sc.HEALTHY]
    by_mode = {}
    for s, v in faults:
        by_mode.setdefault(s.mode, []).append(v["detected"])
    recall = {m: sum(d) / len(d) for m, d in by_mode.items()}
    worst = min(recall, key=recall.get, default=None)
    early = [v["early_ok"] for _, v in faults if v["early_ok"] is not None]
    healthy_false = sum(len(v["false"]) for s, _, v in runs if s.mode == sc.HEALTHY)
    overall = (sum(v["detected"] for _, v in faults) / len(faults)) if faults else None
    targets = {
        f"overall recall >= {TARGET_RECALL}": (
            _num(overall), overall is None or overall >= TARGET_RECALL),
        f"every mode's recall >= {TARGET_MODE_RECALL}": (
            "-" if worst is None else f"lowest {recall[worst]:.2f} ({worst})",
            all(r >= TARGET_MODE_RECALL for r in recall.values())),
        "findings on healthy runs = 0": (healthy_false, healthy_false == 0),
        f"early modes named by epoch {EARLY_EPOCH}": (f"{sum(early)}/{len(early)}",
                                                      all(early)),
    }
    broken = [(s.id, v["broken"]) for s, _, v in runs if v["broken"]]
    return {"recall": recall, "overall": overall, "targets": targets, "broken": broken,
            "fault_false": sum(len(v["false"]) for _, v in faults),
            "passed": all(ok for _, ok in targets.values()) and not broken}


# ---------------------------------------------------------------------------- the report
def _num(v) -> str:
    if v is None:
        return "-"
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def _table(header, rows) -> list:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def machine() -> str:
    """The CPU model (from /proc/cpuinfo), the core count and the NumPy version."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} CPUs; Python {platform.python_version()}, NumPy "
            f"{np.__version__}, feedforward {feedforward.__version__}")


def confusion(runs) -> list:
    """Rows: expected mode; columns: the names found (count of runs naming each)."""
    extra = sorted({n for _, r, _ in runs for n in r["findings"]} - set(sc.MODES))
    columns = [*sc.MODES, *extra]
    rows = []
    for mode in (*sc.MODES, sc.HEALTHY):
        found = [r["findings"] for s, r, _ in runs if s.mode == mode]
        if found:
            counts = [sum(name in f for f in found) or "." for name in columns]
            rows.append([f"**{mode}**", len(found), *counts,
                         sum(not f for f in found) or "."])
    return _table(["expected \\ found", "runs", *(c.replace("_", " ") for c in columns),
                   "nothing"], rows)


def per_mode(runs, summary) -> list:
    """Recall per mode, the epochs each run named its mode, and the early ones in time."""
    rows = []
    for mode in sc.MODES:
        pairs = [(s, v) for s, _, v in runs if s.mode == mode]
        if not pairs:
            continue
        early = [v["early_ok"] for _, v in pairs if v["early_ok"] is not None]
        recall = summary["recall"][mode]
        rows.append([mode, len(pairs), sum(v["detected"] for _, v in pairs), f"{recall:.2f}",
                     OK if recall >= TARGET_MODE_RECALL else MISS,
                     ", ".join(_num(v["epoch"]) for _, v in pairs),
                     f"{sum(early)}/{len(early)}" if early else "-"])
    return _table(["mode", "runs", "named", "recall", "", "first named (epoch, per run)",
                   f"by epoch {EARLY_EPOCH}"], rows)


def _named(s, v) -> str:
    if s.mode == sc.HEALTHY:
        return "-"
    if not v["detected"]:
        return MISS
    return OK + (" late" if v["early_ok"] is False else "")


def _findings(r) -> str:
    parts = []
    for name in r["findings"]:
        explains = r["explains"].get(name)
        parts.append(f"{name} ({r['first_seen'][name]}"
                     + (f"; explains {', '.join(explains)})" if explains else ")"))
    return ", ".join(parts) or "nothing"


def every_run(runs) -> list:
    """One row per run: its label, what the doctor named and when, its score and time."""
    return _table(["scenario", "mode", "severity", "named", "findings (first epoch)",
                   "epochs", "val score", "s"], [
        [f"`{s.id}`", s.mode, s.severity, _named(s, v), _findings(r),
         f"{r['epochs']}{' diverged' if r['diverged'] else ''}", _num(r["score"]),
         f"{r['seconds']:.1f}"] for s, r, v in runs])


def report(runs, summary, seconds: float, jobs: int, title: str = "The doctor's benchmark"
           ) -> str:
    """The Markdown report of one benchmark run, headed ``title``."""
    faults = sum(s.mode != sc.HEALTHY for s, _, _ in runs)
    out = [f"# {title}", "",
           f"{len(runs)} scenarios ({faults} faults, {len(runs) - faults} healthy) in "
           f"{seconds:.1f} s with {jobs} process(es), on {machine()}.", "",
           "## Targets", ""]
    out += _table(["target", "measured", ""], [
        [name, value, OK if ok else MISS] for name, (value, ok) in summary["targets"].items()])
    out += ["", f"Overall recall {_num(summary['overall'])}. False findings on fault runs "
                f"(outside expect and accept): {summary['fault_false']}.", "",
            "## Recall per mode", "", *per_mode(runs, summary), "",
            "## Confusion (expected mode against the final findings)", "", *confusion(runs),
            "", "## False findings", ""]
    out += [f"- `{s.id}` ({s.mode}): {', '.join(v['false'])}"
            for s, _, v in runs if v["false"]] or ["None."]
    if summary["broken"]:
        out += ["", "## Scenarios that could not be judged", ""]
        out += [f"- `{i}`: {why}" for i, why in summary["broken"]]
    out += ["", "## Every run", "",
            "Findings with the epoch each was first named (0: at initialization) and the "
            "findings each one explains (folded into it by the doctor).", "",
            *every_run(runs)]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------- the command
SETS = {"calibration": sc.SCENARIOS, "heldout": heldout.SCENARIOS,
        "heldout2": heldout2.SCENARIOS,
        "all": sc.SCENARIOS + heldout.SCENARIOS + heldout2.SCENARIOS}
TITLES = {"calibration": "The doctor's benchmark",
          "heldout": "The doctor's benchmark: held-out scenarios",
          "heldout2": "The doctor's benchmark: second held-out scenarios",
          "all": "The doctor's benchmark: calibration and both held-out sets"}


def select(fast: bool = False, only=None, which: str = "calibration") -> list:
    """The scenarios to run: those of the set ``which`` (``calibration``, ``heldout``,
    ``heldout2`` or ``all``), only its ``fast`` subset, or those named in ``only`` (from any
    set)."""
    if which not in SETS:
        raise ValueError(f"which: expected one of {', '.join(SETS)}, got {which!r}")
    if only:
        unknown = [i for i in only if i not in BY_ID]
        if unknown:
            raise SystemExit(f"--only: unknown scenario(s) {', '.join(unknown)}; known: "
                             f"{', '.join(BY_ID)}")
        return [BY_ID[i] for i in only]
    return [s for s in SETS[which] if s.fast or not fast]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sets = parser.add_mutually_exclusive_group()
    sets.add_argument("--fast", action="store_true", help="only the make-test subset")
    sets.add_argument("--heldout", action="store_true",
                      help="the held-out scenarios (doctor_heldout.py) instead")
    sets.add_argument("--heldout2", action="store_true",
                      help="the second held-out scenarios (doctor_heldout2.py) instead")
    sets.add_argument("--all", action="store_true",
                      help="the calibration set and both held-out sets")
    parser.add_argument("--jobs", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--only", help="comma-separated scenario ids")
    parser.add_argument("--out", help="write the Markdown report here too")
    parser.add_argument("--json", help="write the results as JSON here")
    args = parser.parse_args(argv)
    which = ("heldout" if args.heldout else "heldout2" if args.heldout2
             else "all" if args.all else "calibration")
    scenarios = select(args.fast, args.only.split(",") if args.only else None, which)
    start = time.perf_counter()
    results = run_all([s.id for s in scenarios], max(1, args.jobs))
    seconds = time.perf_counter() - start
    runs = judged(scenarios, results)
    summary = summarize(runs)
    text = report(runs, summary, seconds, args.jobs, TITLES[which])
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    if args.json:
        record = {"machine": machine(), "seconds": round(seconds, 2), "jobs": args.jobs,
                  "passed": summary["passed"],
                  "targets": {k: {"measured": v, "met": ok}
                              for k, (v, ok) in summary["targets"].items()},
                  "runs": [{**r, "mode": s.mode, "severity": s.severity,
                            "expect": list(s.expect), "accept": list(s.accept),
                            "early": s.early, **v} for s, r, v in runs]}
        Path(args.json).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
