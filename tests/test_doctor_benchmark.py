"""The doctor's benchmark in ``make test``: its fast subset, judged as the benchmark judges it.

Each fast scenario of ``benchmarks/doctor_scenarios.py`` is trained through the benchmark's
own runner (``benchmarks/doctor_bench.py``): a fault scenario must have its problem named,
an early one by the end of epoch 2, and no scenario may get a finding outside its ``expect``
and ``accept`` (a healthy one: none at all). The scenario set itself is checked against the
shape issue 19 asks for, and the judging and the report against made-up results.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import doctor_bench as bench  # noqa: E402
import doctor_scenarios as sc  # noqa: E402

FAST = bench.select(fast=True)
FAST_FAULTS = [s for s in FAST if s.mode != sc.HEALTHY]
FAST_EARLY = [s for s in FAST if s.early]


@functools.cache
def _run(scenario_id: str) -> dict:
    return bench.run(scenario_id)


def _judged(scenario):
    result = _run(scenario.id)
    verdict = bench.judge(scenario, result)
    assert verdict["broken"] is None, f"{scenario.id}: {verdict['broken']}"
    return result, verdict


def _ids(scenarios):
    return pytest.mark.parametrize("scenario", scenarios, ids=[s.id for s in scenarios])


# ---------------------------------------------------------------------------- the fast subset
@_ids(FAST_FAULTS)
def test_the_doctor_names_the_problem(scenario):
    result, verdict = _judged(scenario)
    assert verdict["detected"], (f"{scenario.id} ({scenario.note}): expected "
                                 f"{list(scenario.expect)}, found {result['findings']}")


@_ids(FAST)
def test_the_doctor_names_nothing_false(scenario):
    result, verdict = _judged(scenario)
    assert not verdict["false"], (f"{scenario.id} ({scenario.note}): false findings "
                                  f"{verdict['false']} (all: {result['findings']})")


@_ids(FAST_EARLY)
def test_early_problems_are_named_by_epoch_2(scenario):
    result, verdict = _judged(scenario)
    assert verdict["early_ok"], (f"{scenario.id}: {list(scenario.expect)} first named at "
                                 f"{result['first_seen']} (findings {result['findings']})")


# ---------------------------------------------------------------------------- the scenario set
def test_the_scenarios_have_the_shape_the_issue_asks_for():
    faults = [s for s in sc.SCENARIOS if s.mode != sc.HEALTHY]
    healthy = [s for s in sc.SCENARIOS if s.mode == sc.HEALTHY]
    assert len(faults) >= 40 and len(healthy) >= 15
    for mode in sc.MODES:
        runs = [s for s in faults if s.mode == mode]
        assert len({s.severity for s in runs}) >= 2, mode
        setups = {(s.options["dataset"], str(s.options.get("layers"))) for s in runs}
        assert len(setups) >= 2, mode
        assert all(s.expect == (mode,) and s.early == (mode in sc.EARLY) for s in runs)
    for kind in ("l1", "l2", "dropout", "max_norm"):
        runs = [s for s in faults if s.mode == "over_regularization" and s.options.get(kind)]
        assert len(runs) >= 2 and len({s.options["dataset"] for s in runs}) >= 2, kind
    assert len({s.options["dataset"] for s in healthy}) >= 8
    assert len({s.options.get("optimizer", "adam") for s in healthy}) >= 5
    assert len({s.options.get("activation", "relu") for s in healthy}) >= 5
    assert all(s.expect == () and s.accept == () and s.min_score for s in healthy)


def test_the_fast_subset_covers_every_mode_and_five_healthy_runs():
    assert {s.mode for s in FAST_FAULTS} == set(sc.MODES)
    assert sum(s.mode == sc.HEALTHY for s in FAST) >= 5


# ---------------------------------------------------------------------------- judging, report
def _result(id, findings, first_seen=None, **kw):
    return {"id": id, "findings": findings, "explains": {}, "epochs": 5, "diverged": False,
            "first_seen": first_seen or dict.fromkeys(findings, 0), "score": 0.99,
            "train_score": 0.99, "loss": [], "seconds": 0.1, "error": None, **kw}


def test_judging_counts_accepted_findings_and_late_names():
    scenario = sc.BY_ID["vanishing_digits_sigmoid10"]  # accepts saturation
    verdict = bench.judge(scenario, _result(
        scenario.id, ["vanishing_gradients", "saturation", "underfitting"],
        {"vanishing_gradients": 3, "saturation": 0, "underfitting": 1}))
    assert verdict["detected"] and verdict["epoch"] == 3
    assert verdict["early_ok"] is False and verdict["false"] == ["underfitting"]
    crashed = bench.judge(scenario, _result(scenario.id, [], error="Traceback\nValueError: x"))
    assert not crashed["detected"] and crashed["broken"] == "crashed: ValueError: x"
    healthy = sc.BY_ID["healthy_digits_default"]
    weak = bench.judge(healthy, _result(healthy.id, [], score=0.5))
    assert weak["broken"] and not weak["false"]


def test_the_report_shows_misses_false_findings_and_the_targets():
    scenarios = [sc.BY_ID["dead_digits_bias10"], sc.BY_ID["overfit_circle_noisy"],
                 sc.BY_ID["healthy_digits_default"]]
    results = [_result(scenarios[0].id, ["dead_relus"]),
               _result(scenarios[1].id, ["dead_relus"]),
               _result(scenarios[2].id, ["overfitting"], {"overfitting": 7})]
    runs = bench.judged(scenarios, results)
    summary = bench.summarize(runs)
    assert summary["overall"] == 0.5 and summary["recall"]["overfitting"] == 0
    assert not summary["passed"]
    text = bench.report(runs, summary, 1.0, 1)
    assert "- `overfit_circle_noisy` (overfitting): dead_relus" in text
    assert "- `healthy_digits_default` (healthy): overfitting" in text
    assert "| findings on healthy runs = 0 | 1 | ✗ |" in text
    row = next(line for line in text.splitlines() if line.startswith("| **overfitting**"))
    assert row.split("|")[2:5] == [" 1 ", " . ", " . "]  # 1 run; no vanishing, no exploding


def test_the_command_writes_the_report_and_exits_by_the_targets(tmp_path):
    out, record = tmp_path / "report.md", tmp_path / "results.json"
    ids = ["unscaled_digits_x1000", "healthy_plane_tanh_sgd"]
    status = bench.main(["--only", ",".join(ids), "--jobs", "2", "--out", str(out),
                         "--json", str(record)])
    data = json.loads(record.read_text())
    assert [r["id"] for r in data["runs"]] == ids
    assert status == (0 if data["passed"] else 1)
    assert "## Confusion" in out.read_text() and "NumPy" in out.read_text()
    with pytest.raises(SystemExit, match="unknown scenario"):
        bench.main(["--only", "no_such_run"])
