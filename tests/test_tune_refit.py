"""The end of a search: the refit on the training and validation rows, the held-out score on a
test file or the internal test split, cross-validated trials, the quick space, and the report's
pruning figures.

Trials are tiny networks (8 units, at most 8 epochs) on 150 generated rows.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import feedforward as ff
from feedforward import records
from feedforward.cli import main as cli_main
from feedforward.errors import FeedforwardError
from feedforward.tune import cv, final, quick, results

SEARCH = {"learning_rate": {"log_uniform": [3e-3, 3e-2]}}


def blobs(n=150, seed=0):
    """Three separable classes in 4 features: ``x`` of shape ``(n, 4)``, ``y`` of ``(n,)``."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.normal(size=(n, 4)) + 2.0 * np.eye(3, 4)[y]
    return x, y


def space(trials=3, tune=None, **fixed):
    return {"fixed": {"layers": [8], "epochs": 8, "patience": 2, "batch_size": 16, **fixed},
            "search": SEARCH, "tune": {"trials": trials, **(tune or {})}}


def search(tmp_path, data=None, space_=None, **kwargs):
    return ff.tune.search(space_ or space(), data or blobs(), out=tmp_path, plots=False,
                          **kwargs)


def test_the_refit_trains_the_best_configuration_on_training_and_validation_rows(tmp_path):
    result = search(tmp_path)
    best = result.best
    assert result.model == {"kind": "refit", "trial": best["id"], "rows": 120,
                            "epochs": best["best_epoch"], "error": None, "folds": 0}
    model, record = records.load(tmp_path / "model.safetensors")
    assert record["tune"]["refit"] == {"rows": 120, "epochs": best["best_epoch"]}
    assert record["epochs"] == best["best_epoch"]  # no early stopping: its best epoch count
    # the trial's own model is kept beside it
    assert final.model_state(tmp_path / final.TRIAL_FILE) == (best["id"], False)
    # the result's test score is the refit's, on the internal test split, said once
    assert "internal test split (30 rows), used once, at the end" in result.tested
    refit_scores = model.evaluate(*result_test_rows(tmp_path), return_dict=True)
    assert result.test == pytest.approx(refit_scores)
    assert all(not k.startswith("test") for r in result.records for k in r["metrics"])
    summary = json.loads((tmp_path / "search.json").read_text())
    assert summary["model"]["kind"] == "refit" and summary["tested"] == result.tested


def result_test_rows(out):
    """The internal test rows of the search in ``out``, rebuilt as ``evaluate`` does."""
    _, record = records.load(out / final.TRIAL_FILE)
    cfg = record["config"]
    data = ff.data.sources.for_task(ff.data.sources.from_arrays(blobs()), "auto")
    parts = ff.data.sources.split(data, cfg["val"], cfg["test"], cfg["seed"])
    return parts.x_test, parts.y_test


def test_no_refit_keeps_the_trials_model_and_switching_back_reuses_the_files(tmp_path,
                                                                           monkeypatch):
    first = search(tmp_path, refit=False)
    assert first.model["kind"] == "trial" and first.model["rows"] == 90
    assert final.model_state(tmp_path / final.MODEL_FILE) == (first.best["id"], False)
    # trials done, the refit killed before it wrote: the next run refits, runs no trial
    calls = []
    real = final.refit

    def killed(*args):
        calls.append(1)
        raise KeyboardInterrupt

    monkeypatch.setattr(final, "refit", killed)
    with pytest.raises(KeyboardInterrupt):
        search(tmp_path)
    monkeypatch.setattr(final, "refit", real)
    again = search(tmp_path)
    assert again.ran == [] and again.model["kind"] == "refit" and calls == [1]
    assert final.model_state(tmp_path / final.MODEL_FILE) == (first.best["id"], True)
    # back to no refit: the kept trial's model returns, nothing trains
    monkeypatch.setattr(final, "refit", killed)
    monkeypatch.setattr(sys.modules["feedforward.tune.search"], "run_trial", killed)
    back = search(tmp_path, refit=False)
    assert back.model["kind"] == "trial" and calls == [1]
    assert final.model_state(tmp_path / final.MODEL_FILE) == (first.best["id"], False)
    assert back.test == pytest.approx(first.test)


def test_a_test_file_scores_the_result_once_and_no_test_split_is_taken(tmp_path):
    x, y = blobs(200)
    folder = tmp_path / "data"
    folder.mkdir()
    names = ["a", "b", "c", "d", "label"]
    for file, rows in (("train.csv", slice(0, 150)), ("test.csv", slice(150, 200))):
        lines = [",".join(names)] + [",".join([*map(str, r), f"k{c}"])
                                     for r, c in zip(x[rows], y[rows], strict=True)]
        (folder / file).write_text("\n".join(lines) + "\n")
    path = folder / "space.toml"
    path.write_text('[fixed]\ndataset = "train.csv"\nlayers = [8]\nepochs = 8\npatience = 2\n'
                    '[search]\nlearning_rate = {log_uniform = [3e-3, 3e-2]}\n'
                    '[tune]\ntrials = 2\ntest_data = "test.csv"\n')
    result = ff.tune.search(path, out=tmp_path / "out", plots=False)
    assert result.tested == "test file test.csv (50 rows)"
    assert result.model["rows"] == 150  # every row of train.csv: no test split was taken
    model = ff.load_model(tmp_path / "out" / final.MODEL_FILE)
    codes = np.array([model.classes.index(f"k{c}") for c in y[150:]])
    assert result.test == pytest.approx(model.evaluate(x[150:], codes, return_dict=True))
    # a test split asked for as well is ambiguous: refused, naming both
    with pytest.raises(FeedforwardError, match=r"fixed.test .*test_data"):
        search(tmp_path / "two", space_=space(test=0.2), test_data=(x[:10], y[:10]))
    with pytest.raises(FeedforwardError, match="test_data .*cannot read"):  # before training
        search(tmp_path / "none", test_data=folder / "missing.csv")
    assert not (tmp_path / "none" / "results.jsonl").exists()
    bad = folder / "bad.csv"
    bad.write_text("a,b,c,label\n1,2,3,k0\n")
    with pytest.raises(FeedforwardError, match="test_data"):
        ff.tune.search(path, out=tmp_path / "out", plots=False, test_data=bad)


def test_arrays_as_test_data_and_a_search_without_any_test_rows(tmp_path):
    x, y = blobs(200)
    result = search(tmp_path / "a", data=(x[:150], y[:150]), test_data=(x[150:], y[150:]))
    model = ff.load_model(tmp_path / "a" / final.MODEL_FILE)
    assert result.test == pytest.approx(model.evaluate(x[150:], y[150:], return_dict=True))
    none = search(tmp_path / "b", space_=space(test=0.0))
    assert none.test == {} and "no test rows" in none.tested


def test_cross_validated_trials_score_the_mean_over_folds_that_cover_every_row(tmp_path):
    x, y = blobs()
    data = ff.data.sources.for_task(ff.data.sources.from_arrays((x, y)), "auto")
    parts = ff.data.sources.split(data, 0.2, 0.2, 0)
    folds = cv.folds(data, parts, 4, seed=0)
    validated = np.concatenate([f.x_val for f in folds])
    assert len(validated) == 120 and len(np.unique(validated, axis=0)) == 120
    for f in folds:  # stratified: each class in each fold, the test rows kept out
        assert np.bincount(f.y_val).tolist() == [10, 10, 10]
        assert len(f.x_train) == 90 and np.array_equal(f.x_test, parts.x_test)
    result = search(tmp_path, cv=4)
    for r in result.records:
        assert len(r["folds"]) == 4
        assert r["metrics"]["val_accuracy"] == pytest.approx(np.mean(r["folds"]))
    assert result.model["rows"] == 120 and result.model["kind"] == "refit"
    plain = ff.tune.load_space(space())
    assert ff.tune.load_space(space(), cv=4).fingerprint() != plain.fingerprint()
    with pytest.raises(FeedforwardError, match="cv: 100 folds of 120"):
        search(tmp_path / "many", space_=space(tune={"cv": 100}))


def test_the_quick_space_suits_the_data_size_and_the_command_runs_it(tmp_path, capsys):
    small, large = quick.space_for("iris"), quick.space_for("digits")
    assert small["fixed"]["batch_size"] < large["fixed"]["batch_size"]
    assert max(map(len, small["search"]["layers"]["choice"])) <= 2
    for s in (small, large):
        assert {"weight_decay", "schedule", "patience"} <= set(s["search"])
        ff.tune.load_space(s)  # a valid space
    out = tmp_path / "q"
    assert cli_main(["tune", "--quick", "--dataset", "iris", "--trials", "2", "--dry-run"]) == 0
    assert "2 trials" in capsys.readouterr().out
    assert cli_main(["tune", "--quick", "--out", str(out), "--trials", "1"]) == 2
    assert "--quick: expected the data once" in capsys.readouterr().err
    assert cli_main(["tune", "data.csv"]) == 2
    assert "feedforward tune --quick data.csv" in capsys.readouterr().err
    assert cli_main(["tune", "space.toml", "--target", "y"]) == 2
    assert "--target: applies with --quick" in capsys.readouterr().err


def test_the_space_file_settings_are_checked():
    for tune, message in (({"refit": "yes"}, "tune.refit .*true or false"),
                          ({"cv": 1}, "tune.cv .*>= 2"), ({"test_data": 3}, "expected a string")):
        with pytest.raises(FeedforwardError, match=message):
            ff.tune.load_space(space(tune=tune))


def test_the_pruning_figures_count_pruned_trials_and_estimate_the_time_saved():
    def record(index, epochs, seconds, pruned=False, status="ok"):
        return {"id": f"{index:04d}", "index": index, "params": {}, "status": status,
                "metrics": {"val_accuracy": 0.5}, "epochs": epochs, "best_epoch": 1,
                "seconds": seconds, "pruned": pruned}

    runs = [record(0, 10, 5.0), record(1, 20, 10.0), record(2, 30, 3.0),
            record(3, 5, 1.0, pruned=True), record(4, 25, 2.0, pruned=True)]
    # the unpruned trials' median is 20 epochs: trial 3 saved 15 epochs at 0.2 s each
    assert results.pruning(runs) == {"pruned": 2, "seconds_saved": 3.0}
    assert results.pruning(runs[:3]) == {"pruned": 0, "seconds_saved": 0.0}
    header, body = results.rows(runs, [])
    assert [row[header.index("status")] for row in body].count("pruned") == 2


def test_the_example_spaces_search_the_schedule_weight_decay_and_patience():
    from pathlib import Path

    files = sorted((Path(__file__).parents[1] / "examples").glob("tune_*.toml"))
    assert len(files) >= 2
    for file in files:
        s = ff.tune.load_space(file)
        assert {"weight_decay", "schedule", "patience"} <= set(s.ranges), file.name


def test_the_refit_keeps_its_trials_learning_rate_schedule_and_stops_at_its_best_epoch(
        tmp_path, monkeypatch):
    seen = []
    fit = final.experiment.fit

    def spy(cfg, plan, model, parts, *args, **kwargs):
        seen.append((cfg["epochs"], plan.learning_rate, plan.steps_per_epoch))
        return fit(cfg, plan, model, parts, *args, **kwargs)

    monkeypatch.setattr(final, "epochs_of", lambda best: 3)  # best after 3 of its 8 epochs
    monkeypatch.setattr(final.experiment, "fit", spy)
    result = search(tmp_path, space_=space(trials=1, schedule="cosine"))
    epochs, schedule, steps = seen[-1]  # the refit's: 120 rows, 8 steps an epoch
    assert result.model["kind"] == "refit" and epochs == 3 and steps == 8
    # the trial's cosine spans its 8 epochs; the refit's rates follow it, cut after 3
    assert schedule.decay_steps == 8 * steps
    assert seen[0][1].decay_steps == 8 * seen[0][2]


def test_a_pruned_trial_never_counts_as_best_and_ties_go_to_the_lower_val_loss():
    def trial(index, accuracy, loss, pruned=False, status="ok"):
        return {"id": f"t{index}", "index": index, "status": status, "pruned": pruned,
                "metrics": {"val_accuracy": accuracy, "val_loss": loss}}

    cut = trial(0, 0.99, 0.1, pruned=True)  # the highest score, but cut short
    tied_worse, tied_better = trial(1, 0.9, 0.5), trial(2, 0.9, 0.3)
    failed, lower = trial(3, None, None, status="failed"), trial(4, 0.8, 0.2)
    ranked = results.rank([cut, tied_worse, tied_better, failed, lower], "val_accuracy")
    assert [r["id"] for r in ranked] == ["t2", "t1", "t4", "t0", "t3"]
    best = None
    for r in (cut, tied_worse, tied_better, failed, lower):
        best = r if results.better(r, best, "val_accuracy") else best
    assert best is tied_better
    assert not results.better(cut, None, "val_accuracy")
    assert results.rank([trial(5, 0.9, 0.3), trial(6, 0.9, 0.3)], "val_accuracy")[0]["id"] == "t5"


def write_csv(path, x, y):
    lines = ["a,b,c,d,label"] + [",".join([*map(str, r), f"k{c}"]) for r, c in zip(x, y,
                                                                                   strict=True)]
    path.write_text("\n".join(lines) + "\n")


def test_the_command_exits_1_when_no_trial_finished_and_no_model_was_saved(tmp_path, capsys):
    write_csv(tmp_path / "train.csv", *blobs(60))
    path = tmp_path / "space.toml"
    path.write_text('[fixed]\ndataset = "train.csv"\nlayers = [4]\nepochs = 2\n'
                    'optimizer = "sgd"\n[search]\nlearning_rate = {choice = [1e12]}\n'
                    '[tune]\nstrategy = "grid"\n')
    out = tmp_path / "out"
    assert cli_main(["tune", str(path), "--out", str(out), "--no-plots"]) == 1
    assert "no trial finished: no model saved" in capsys.readouterr().out
    assert not (out / final.MODEL_FILE).exists()


def test_the_test_file_is_read_and_checked_before_the_first_trial(tmp_path):
    x, y = blobs(200)
    write_csv(tmp_path / "train.csv", x[:150], y[:150])
    path = tmp_path / "space.toml"
    path.write_text('[fixed]\ndataset = "train.csv"\nlayers = [4]\nepochs = 2\n'
                    '[search]\nlearning_rate = {choice = [0.01]}\n[tune]\nstrategy = "grid"\n')
    short = tmp_path / "short.csv"
    short.write_text("a,b,c,label\n1,2,3,k0\n")
    unknown = tmp_path / "unknown.csv"
    write_csv(unknown, x[150:], np.full(50, 7))  # the class k7 is not in train.csv
    for bad, message in ((short, "test_data.*d"), (unknown, "test_data.*k7")):
        out = tmp_path / bad.stem
        with pytest.raises(FeedforwardError, match=message) as e:
            ff.tune.search(path, out=out, plots=False, test_data=bad)
        assert "--by-position" not in str(e.value)
        assert not (out / results.JSONL).exists()  # no trial ran
    # arrays from Python may give the classes' integer codes, as fit and evaluate take
    result = ff.tune.search(path, out=tmp_path / "codes", plots=False,
                            test_data=(x[150:], y[150:]))
    model = ff.load_model(tmp_path / "codes" / final.MODEL_FILE)
    codes = np.array([model.classes.index(f"k{c}") for c in y[150:]])
    assert result.test == pytest.approx(model.evaluate(x[150:], codes, return_dict=True))
    with pytest.raises(FeedforwardError, match="test_data: expected class codes 0 to 2"):
        ff.tune.search(path, out=tmp_path / "far", plots=False, test_data=(x[:5], y[:5] + 3))
    assert not (tmp_path / "far" / results.JSONL).exists()


PARENT = """
import os, time
from feedforward.tune import executors
pool = executors.process_pool(None, 1)
print(pool.submit(os.getpid).result(), flush=True)
time.sleep(120)
"""


def alive(pid):
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_pool_workers_exit_when_the_search_process_is_killed():
    import signal
    import subprocess
    import time

    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(parent.stdout.readline())
        assert alive(worker)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    for _ in range(300):  # the worker checks its parent each second; not a timing assertion
        if not alive(worker):
            break
        time.sleep(0.1)
    assert not alive(worker)


def test_evaluate_takes_the_searchs_test_split_again_from_its_csv_file(tmp_path, capsys):
    write_csv(tmp_path / "train.csv", *blobs(100))
    path = tmp_path / "space.toml"
    path.write_text('[fixed]\ndataset = "train.csv"\nlayers = [4]\nepochs = 2\n'
                    '[search]\nlearning_rate = {choice = [0.01]}\n[tune]\nstrategy = "grid"\n')
    out = tmp_path / "out"
    result = ff.tune.search(path, out=out, plots=False)
    assert "internal test split (20 rows)" in result.tested
    for name in (final.TRIAL_FILE, final.MODEL_FILE):  # the result's score printed last
        capsys.readouterr()
        assert cli_main(["evaluate", str(out / name), "--data", str(tmp_path / "train.csv"),
                         "--split", "test"]) == 0
    printed = capsys.readouterr().out
    assert "(test, 20 samples)" in printed  # the search's split, as its score took it
    assert f"{result.test['loss']:.4f}" in printed
    assert f"{100 * result.test['accuracy']:.2f} %" in printed


@pytest.fixture
def rates(monkeypatch):
    """The (learning rate, steps per epoch) of every fit of the search, in order."""
    seen = []
    fit = final.experiment.fit

    def spy(cfg, plan, model, parts, *args, **kwargs):
        seen.append((plan.learning_rate, plan.steps_per_epoch))
        return fit(cfg, plan, model, parts, *args, **kwargs)

    monkeypatch.setattr(final.experiment, "fit", spy)
    return seen


def test_the_refit_trains_at_its_trials_default_rate_not_that_of_its_longer_epochs(
        tmp_path, rates):
    seen = rates
    unset = {"fixed": {"layers": [8], "epochs": 3, "patience": 2, "batch_size": 4},
             "search": {"l2": {"log_uniform": [1e-4, 1e-3]}}, "tune": {"trials": 1}}
    result = search(tmp_path, space_=unset)
    (trial_rate, trial_steps), (refit_rate, refit_steps) = seen[0], seen[-1]
    assert result.model["kind"] == "refit" and (trial_steps, refit_steps) == (23, 30)
    # 0.1 / 23 steps, where the refit's own 30 steps would have given 0.0033
    assert trial_rate == refit_rate == pytest.approx(0.0043)
    _, record = records.load(tmp_path / "model.safetensors")
    assert record["config"]["learning_rate"] == trial_rate


def test_a_cross_validated_refit_trains_at_the_rate_its_folds_trained_at(tmp_path, rates):
    unset = {"fixed": {"layers": [8], "epochs": 2, "patience": 2, "batch_size": 4},
             "search": {"l2": {"choice": [1e-4]}}, "tune": {"trials": 1, "cv": 3}}
    result = search(tmp_path, space_=unset)
    assert result.model["kind"] == "refit" and len(rates) == 4  # 3 folds, then the refit
    # each fold trains on 2/3 of the 120 search rows (20 steps), not the split's 90 (23)
    assert [steps for _, steps in rates[:3]] == [20, 20, 20]
    assert [rate for rate, _ in rates] == pytest.approx([0.005] * 4)
