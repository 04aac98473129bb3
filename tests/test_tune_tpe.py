"""The tpe strategy: Optuna's TPE sampler and pruners, per-epoch curves, the study's journal
in the output folder, resuming after a killed search (local processes and a Dask
LocalCluster), and its settings' errors.

Trials are small networks on scikit-learn's digits (16-32 units, at most 12 epochs).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import optuna
import pytest

import feedforward as ff
from feedforward.cli import main as cli_main
from feedforward.tune import adaptive

FIXED = {"dataset": "digits", "epochs": 12, "patience": 3, "hidden_layers": 1}
# a wide learning-rate range: its low end learns slowly, so that the pruner has work
SEARCH = {"units": {"choice": [16, 32]}, "learning_rate": {"log_uniform": [1e-5, 3e-2]},
          "batch_size": {"int_log": [32, 128]}}


def space(trials=10, pruner="median", seed=0, **fixed):
    return {"fixed": {**FIXED, **fixed}, "search": SEARCH,
            "tune": {"strategy": "tpe", "trials": trials, "seed": seed, "pruner": pruner}}


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def study(out):
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(out / adaptive.JOURNAL)))
    (summary,) = optuna.get_all_study_summaries(storage)
    return optuna.load_study(study_name=summary.study_name, storage=storage)


def reported(out, records) -> None:
    """Every finished trial reported each epoch's value to the study, as its curve holds."""
    by_id = {t.user_attrs.get("id"): t for t in study(out).trials}
    for r in records:
        values = by_id[r["id"]].intermediate_values
        assert [values[step] for step in sorted(values)] == pytest.approx(r["curve"])
        assert sorted(values) == list(range(1, r["epochs"] + 1))


def finished(out) -> dict:
    """The study's finished trials (not those a kill interrupted): {id: state name}."""
    state = optuna.trial.TrialState
    return {t.user_attrs["id"]: t.state.name for t in study(out).trials
            if t.state in (state.COMPLETE, state.PRUNED)}


# ---------------------------------------------------------------------------- searches
def test_tpe_prunes_trials_that_fall_behind_and_records_each_curve(tmp_path):
    result = ff.tune.search(space(), out=tmp_path, plots=False)
    records = lines(tmp_path / "results.jsonl")
    assert len(records) == 10 and result.ran == [r["id"] for r in records]
    assert [r["index"] for r in sorted(records, key=lambda r: r["index"])] == list(range(10))
    pruned = [r for r in records if r["pruned"]]
    assert pruned and len(pruned) < 10
    for r in records:
        assert r["status"] == "ok" and len(r["curve"]) == r["epochs"] and r["seconds"] > 0
        # the curve is the ranking metric; the record's is that of the restored weights
        assert r["metrics"]["val_accuracy"] == pytest.approx(r["curve"][r["best_epoch"] - 1])
    for r in pruned:  # stopped before its own early stopping or its last epoch
        curve = r["curve"]
        assert r["epochs"] < 12 and max(curve) == max(curve[-3:])
    # the study holds what results.jsonl says, trial by trial
    assert finished(tmp_path) == {r["id"]: "PRUNED" if r["pruned"] else "COMPLETE"
                                  for r in records}
    reported(tmp_path, records)
    assert result.best["metrics"]["val_accuracy"] == max(r["metrics"]["val_accuracy"]
                                                         for r in records)


def test_in_one_process_a_tpe_search_is_repeatable_and_a_rerun_continues_its_study(tmp_path):
    a = ff.tune.search(space(trials=6), out=tmp_path / "a", plots=False)
    b = ff.tune.search(space(trials=6), out=tmp_path / "b", plots=False)
    assert a.ran == b.ran
    assert {r["id"]: r["metrics"] for r in a.records} == {r["id"]: r["metrics"]
                                                          for r in b.records}
    assert ff.tune.search(space(trials=6), out=tmp_path / "a", plots=False).ran == []
    more = ff.tune.search(space(trials=8), out=tmp_path / "a", plots=False)
    assert [r.split("-")[0] for r in more.ran] == ["0006", "0007"]
    assert len(finished(tmp_path / "a")) == 8 and len(more.records) == 8


def test_without_pruning_every_trial_runs_to_its_own_end(tmp_path):
    result = ff.tune.search(space(trials=6, pruner="none"), out=tmp_path, plots=False)
    assert not any(r["pruned"] for r in result.records)
    assert set(finished(tmp_path).values()) == {"COMPLETE"}


def test_grid_and_random_records_keep_their_curve_and_are_never_pruned(tmp_path):
    s = {"fixed": FIXED | {"units": 16}, "search": {"learning_rate": {"choice": [1e-3, 1e-2]}},
         "tune": {"strategy": "grid"}}
    result = ff.tune.search(s, out=tmp_path, plots=False)
    for r in result.records:
        assert not r["pruned"] and len(r["curve"]) == r["epochs"]
        assert r["metrics"]["val_accuracy"] == pytest.approx(r["curve"][r["best_epoch"] - 1])
    assert not (tmp_path / adaptive.JOURNAL).exists()


def test_two_local_processes_ask_the_search_whether_to_prune(tmp_path):
    result = ff.tune.search(space(trials=10, pruner="hyperband"), out=tmp_path, plots=False,
                            jobs=2)
    workers = {r["worker"] for r in result.records}
    assert len(workers) == 2 and f"{os.uname().nodename}:{os.getpid()}" not in workers
    reported(tmp_path, result.records)  # each epoch, from the worker processes
    assert finished(tmp_path) == {r["id"]: "PRUNED" if r["pruned"] else "COMPLETE"
                                  for r in result.records}


def test_results_without_their_study_are_refused(tmp_path):
    ff.tune.search(space(trials=2), out=tmp_path, plots=False)
    (tmp_path / adaptive.JOURNAL).unlink()
    with pytest.raises(ff.FeedforwardError, match=r"results.jsonl holds trials that "
                                                  r"study.journal lacks"):
        ff.tune.search(space(trials=3), out=tmp_path, plots=False)


# ---------------------------------------------------------------------------- resuming
def _killed_search(tmp_path, extra=()):
    """Start ``feedforward tune`` with tpe in a process group, kill it all (SIGKILL) once
    three trials are written; returns the space file, the folder and the ids written."""
    path = tmp_path / "space.toml"
    path.write_text('[fixed]\ndataset = "digits"\nepochs = 12\npatience = 3\nlayers = [32]\n'
                    '[search]\nlearning_rate = {log_uniform = [1e-5, 3e-2]}\n'
                    'batch_size = {int_log = [32, 128]}\n'
                    '[tune]\nstrategy = "tpe"\ntrials = 10\npruner = "median"\n')
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "feedforward.cli", "tune", str(path),
                                "--out", str(out), "--no-plots", "--quiet", *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    jsonl = out / "results.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if jsonl.exists() and jsonl.read_bytes().count(b"\n") >= 3:
            break
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)  # the search and its worker processes
    _, err = process.communicate()
    assert process.returncode == -signal.SIGKILL, f"it ended before the kill: {err[-500:]}"
    before = [json.loads(line)["id"] for line in jsonl.read_text().splitlines()
              if line.endswith("}")]
    assert 3 <= len(before) < 10
    return path, out, before


def _check_resumed(out, before, result):
    ids = [r["id"] for r in lines(out / "results.jsonl")]
    assert len(ids) == len(set(ids)) == 10  # the budget, each trial once
    assert not set(result.ran) & set(before) and len(result.ran) == 10 - len(before)
    assert finished(out) == {r["id"]: "PRUNED" if r["pruned"] else "COMPLETE"
                             for r in result.records}
    # a trial the kill interrupted is failed in the study, and its parameters run again
    trials = study(out).trials
    for t in trials:
        if t.state == optuna.trial.TrialState.FAIL:
            assert t.user_attrs.get("id") not in ids
            again = [u for u in trials if u.user_attrs.get("rerun") == t.number]
            # (a trial killed as it was asked may hold none or some of its parameters)
            assert len(again) == 1 and t.params.items() <= again[0].params.items()


def test_a_killed_tpe_search_with_two_processes_resumes_its_study(tmp_path):
    path, out, before = _killed_search(tmp_path, ["--jobs", "2"])
    result = ff.tune.search(path, out=out, plots=False, jobs=2)
    _check_resumed(out, before, result)


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None, silence_logs=40) as cluster:
        yield cluster


def test_a_killed_tpe_search_on_a_dask_cluster_resumes_its_study(tmp_path, cluster):
    address = cluster.scheduler_address
    path, out, before = _killed_search(tmp_path, ["--scheduler", address])
    result = ff.tune.search(path, out=out, plots=False, scheduler=address)
    _check_resumed(out, before, result)
    workers = {int(r["worker"].rsplit(":", 1)[1]) for r in result.records
               if r["id"] in result.ran}
    assert os.getpid() not in workers
    reported(out, result.records)  # each epoch, from the Dask workers


# ---------------------------------------------------------------------------- settings
@pytest.mark.parametrize(("tune", "message"), [
    ({"strategy": "random", "pruner": "median"},
     "tune.pruner (in the space): applies to the tpe strategy, not to random"),
    ({"strategy": "tpe", "pruner": "asha"},
     "tune.pruner (in the space): expected one of median, halving, hyperband, none, got 'asha'"),
])
def test_bad_pruner_settings_are_refused(tmp_path, tune, message):
    with pytest.raises(ff.FeedforwardError) as info:
        ff.tune.search({"fixed": FIXED, "search": SEARCH, "tune": tune}, out=tmp_path)
    assert message in str(info.value)


def test_the_command_line_takes_the_strategy_and_pruner_and_refuses_to_list_tpe_trials(
        tmp_path, capsys):
    path = tmp_path / "space.toml"
    path.write_text('[fixed]\nepochs = 5\nlayers = [16]\ndataset = "digits"\n'
                    '[search]\nlearning_rate = {log_uniform = [1e-3, 1e-2]}\n')
    out = tmp_path / "out"
    assert cli_main(["tune", str(path), "--out", str(out), "--strategy", "tpe", "--pruner",
                     "halving", "--trials", "3", "--no-plots"]) == 0
    assert "3 trials (tpe search of learning_rate)" in capsys.readouterr().out
    assert len(lines(out / "results.jsonl")) == 3 and (out / adaptive.JOURNAL).exists()
    assert cli_main(["tune", str(path), "--strategy", "tpe", "--dry-run"]) == 2
    assert "cannot be listed beforehand" in capsys.readouterr().err
    assert cli_main(["tune", str(path), "--pruner", "median", "--out", str(out)]) == 2
    assert "pruner: applies to the tpe strategy, not to random" in capsys.readouterr().err


def test_tpe_without_optuna_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna raises ImportError
    with pytest.raises(ff.FeedforwardError, match=r"pip install 'feedforward\[tune\]'"):
        ff.tune.search(space(trials=2), out=tmp_path, plots=False)
