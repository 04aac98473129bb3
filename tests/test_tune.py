"""Hyperparameter search: the space file, the strategies, trials on digits, the results folder,
resuming after a kill, the local process pool, and bad space files.

Trials are small networks (16-32 units, at most 20 epochs) on scikit-learn's digits, a tenth
of a second or so each.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import feedforward as ff
from feedforward import config
from feedforward.cli import main as cli_main
from feedforward.data import sources
from feedforward.tune import load_space, make_trials

FIXED = {"dataset": "digits", "epochs": 20, "patience": 3, "hidden_layers": 1}
SEARCH = {"units": {"choice": [16, 32]},
          "learning_rate": {"log_uniform": [1e-3, 3e-2]},
          "batch_size": {"int_log": [16, 64]}}


def space(trials=6, seed=0, search=None, **fixed):
    return {"fixed": {**FIXED, **fixed}, "search": search or SEARCH,
            "tune": {"strategy": "random", "trials": trials, "seed": seed}}


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def digits_split(seed=0):
    data = sources.for_task(sources.load("digits"), "auto")
    return sources.split(data, 0.2, 0.2, seed)


# ---------------------------------------------------------------------------- the space
def test_random_trials_are_seeded_and_a_longer_search_extends_a_shorter_one():
    a = make_trials(load_space(space(trials=8, seed=3)))
    b = make_trials(load_space(space(trials=8, seed=3)))
    longer = make_trials(load_space(space(trials=12, seed=3)))
    other = make_trials(load_space(space(trials=8, seed=4)))
    assert [t.id for t in a] == [t.id for t in b]
    assert [t.params for t in a] == [t.params for t in b]
    assert [t.id for t in longer[:8]] == [t.id for t in a]
    assert [t.params for t in other] != [t.params for t in a]
    for t in longer:  # every draw inside its range, of its type
        assert t.params["units"] in (16, 32)
        assert 1e-3 <= t.params["learning_rate"] <= 3e-2
        assert isinstance(t.params["batch_size"], int) and 16 <= t.params["batch_size"] <= 64
        assert t.config["layers"] == [t.params["units"]]  # hidden_layers = 1 fixed


def test_the_example_space_is_valid():
    example = Path(__file__).parents[1] / "examples" / "tune_digits.toml"
    trials = make_trials(load_space(example))
    assert len(trials) == 12
    assert {len(t.config["layers"]) for t in trials} <= {1, 2}


def test_random_draws_cover_a_log_range_evenly_in_log():
    s = load_space(space(trials=400, search={"learning_rate": {"log_uniform": [1e-4, 1e-0]}},
                         units=16))
    logs = np.log10([t.params["learning_rate"] for t in make_trials(s)])
    counts = np.histogram(logs, bins=4, range=(-4, 0))[0]
    assert counts.min() > 60  # 100 expected per decade


def test_grid_is_every_combination():
    search = {"units": {"choice": [16, 32]}, "dropout": {"uniform": [0.0, 0.4]},
              "learning_rate": {"log_uniform": [1e-3, 1e-1], "points": 2},
              "batch_size": {"int": [16, 20], "points": 3}}
    s = load_space({"fixed": FIXED, "search": search, "tune": {"strategy": "grid"}})
    trials = make_trials(s)
    assert len(trials) == 2 * 3 * 2 * 3
    seen = {(t.params["units"], t.params["dropout"], t.params["learning_rate"],
             t.params["batch_size"]) for t in trials}
    assert len(seen) == len(trials)
    assert {p[1] for p in seen} == {0.0, 0.2, 0.4}
    assert sorted({p[2] for p in seen}) == pytest.approx([1e-3, 1e-1])
    assert {p[3] for p in seen} == {16, 18, 20}


def test_layer_count_and_sizes_are_searchable_as_a_choice_of_lists_or_count_and_units():
    s = load_space({"fixed": {"dataset": "digits"},
                    "search": {"layers": {"choice": [[32], [32, 16]]}},
                    "tune": {"strategy": "grid"}})
    assert [t.config["layers"] for t in make_trials(s)] == [[32], [32, 16]]
    s = load_space({"fixed": {"dataset": "digits"},
                    "search": {"hidden_layers": {"int": [0, 2]}, "units": {"choice": [8, 16]}},
                    "tune": {"strategy": "grid"}})
    layers = [t.config["layers"] for t in make_trials(s)]
    assert layers == [[], [8], [16], [8, 8], [16, 16]]  # no hidden layer: units do not apply


def test_optimizer_hyperparameters_apply_only_to_the_optimizers_that_take_them():
    search = {"optimizer": {"choice": ["sgd", "adam"]}, "momentum": {"uniform": [0.5, 0.9]},
              "schedule": {"choice": ["constant", "exponential"]},
              "decay_rate": {"uniform": [0.5, 0.9]}}
    trials = make_trials(load_space({"fixed": FIXED | {"units": 16}, "search": search,
                                     "tune": {"strategy": "grid", "grid_points": 2}}))
    for t in trials:
        assert ("momentum" in t.params) == (t.params["optimizer"] == "sgd")
        assert ("decay_rate" in t.params) == (t.params["schedule"] != "constant")
        assert t.config["momentum"] == t.params.get("momentum")
    # sgd: 2 momenta x (constant + 2 rates); adam: 1 x (constant + 2 rates)
    assert len(trials) == 2 * 3 + 3


def test_a_schedule_table_can_be_searched_and_carries_its_own_parameters():
    table = {"name": "exponential", "decay_steps": 10, "decay_rate": 0.9}
    search = {"schedule": {"choice": [table, "exponential"]},
              "decay_rate": {"choice": [0.5, 0.8]}}
    trials = make_trials(load_space({"fixed": FIXED | {"units": 16}, "search": search,
                                     "tune": {"strategy": "grid"}}))
    tables = [t for t in trials if isinstance(t.params["schedule"], dict)]
    # decay_rate applies to the named schedule only: the table gives its own
    assert len(tables) == 1 and "decay_rate" not in tables[0].params
    assert tables[0].config["schedule"] == table and not tables[0].config["decay_rate"]
    assert len(trials) == 1 + 2


def test_every_train_option_but_the_data_can_be_searched():
    search = {"activation": {"choice": ["relu", "tanh"]},
              "initializer": {"choice": ["he_normal", "glorot_uniform"]},
              "optimizer": {"choice": ["adam", "rmsprop"]}, "l1": {"uniform": [0, 1e-4]},
              "l2": {"log_uniform": [1e-6, 1e-3]}, "dropout": {"uniform": [0, 0.5]},
              "batch_size": {"int": [16, 128]}, "schedule": {"choice": ["constant", "cosine"]},
              "learning_rate": {"log_uniform": [1e-4, 1e-1]}, "beta_1": {"uniform": [0.8, 0.95]},
              "maxout": {"choice": [0]}, "epochs": {"int": [5, 20]}}
    fixed = {"dataset": "digits", "hidden_layers": 1, "units": 16}
    trials = make_trials(load_space({"fixed": fixed, "search": search, "tune": {"trials": 6}}))
    assert len(trials) == 6
    for t in trials:
        for key, value in t.params.items():
            assert t.config[key] == value
        assert ("beta_1" in t.params) == (t.params["optimizer"] == "adam")


# ---------------------------------------------------------------------------- searches
def test_a_trial_trains_through_the_engine_whose_callbacks_see_each_step(tmp_path,
                                                                        monkeypatch):
    from feedforward import training

    steps, epochs = [], []

    class Spy(ff.callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            steps.append(self.trainer.step)

        def on_epoch_end(self, epoch, logs=None):
            epochs.append(self.params["steps"])

    init = training.Trainer.__init__

    def with_spy(self, *args, callbacks=None, **kwargs):  # every Trainer the trial makes
        init(self, *args, callbacks=[*(callbacks or []), Spy()], **kwargs)

    monkeypatch.setattr(training.Trainer, "__init__", with_spy)
    ff.tune.search(space(trials=1, epochs=3, patience=0,
                         search={"units": {"choice": [8]}}), out=tmp_path, refit=False)
    record = lines(tmp_path / "results.jsonl")[0]  # the trial's Trainer only (no refit)
    assert record["status"] == "ok" and record["epochs"] == len(epochs) == 3
    assert steps == list(range(1, 3 * epochs[0] + 1))  # every step, in order


def test_search_records_every_trial_and_keeps_the_best_model(tmp_path):
    seen = []
    result = ff.tune.search(space(trials=6), out=tmp_path, on_result=seen.append)
    records = lines(tmp_path / "results.jsonl")
    assert [r["id"] for r in records] == [r["id"] for r in seen] == result.ran
    assert len({r["id"] for r in records}) == 6
    for r in records:
        assert r["status"] == "ok" and 1 <= r["best_epoch"] <= r["epochs"] <= 20
        assert r["seconds"] > 0 and 0 < r["metrics"]["val_loss"] < 3
    assert result.metric == "val_accuracy" and result.mode == "max"
    assert result.best["metrics"]["val_accuracy"] == max(r["metrics"]["val_accuracy"]
                                                         for r in records)
    assert [r["id"] for r in result.records][0] == result.best["id"]
    # the best trial's own model is kept beside the refit: its validation accuracy is the
    # recorded one
    assert result.model["kind"] == "refit" and result.model["trial"] == result.best["id"]
    parts = digits_split()
    model = ff.load_model(tmp_path / "best_trial.safetensors")
    assert model.layers[0].units == result.best["params"]["units"]
    accuracy = model.evaluate(parts.x_val, parts.y_val, return_dict=True)["accuracy"]
    assert accuracy == pytest.approx(result.best["metrics"]["val_accuracy"])
    table = (tmp_path / "results.csv").read_text().splitlines()
    assert len(table) == 7 and table[1].split(",")[1] == result.best["id"]
    assert result.best["id"] in (tmp_path / "results.md").read_text().splitlines()[4]
    assert (tmp_path / "tune.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    best = config.read_file(tmp_path / "best.toml")
    assert best["layers"] == [result.best["params"]["units"]]
    assert best["learning_rate"] == result.best["params"]["learning_rate"]
    # a trial is a train run: `train --config best.toml` repeats the best one exactly
    again = tmp_path / "again"
    assert cli_main(["train", "--config", str(tmp_path / "best.toml"), "--out", str(again),
                     "--quiet", "--no-plots"]) == 0
    rerun = json.loads((again / "metrics.json").read_text())
    assert rerun["val"] == {k[4:]: v for k, v in result.best["metrics"].items()}
    assert rerun["epochs"] == result.best["epochs"]


def test_a_rerun_runs_only_the_missing_trials_and_tolerates_a_cut_last_line(tmp_path):
    first = ff.tune.search(space(trials=5), out=tmp_path, plots=False)
    path = tmp_path / "results.jsonl"
    kept = path.read_text().splitlines()
    dropped = [json.loads(line)["id"] for line in kept[1:3]]
    # as a kill would leave it: two trials missing, the last line cut short
    path.write_text("\n".join([kept[0], *kept[3:]]) + "\n" + kept[1][:25])
    again = ff.tune.search(space(trials=5), out=tmp_path, plots=False)
    assert sorted(again.ran) == sorted(dropped)
    records = lines(path)
    assert sorted(r["id"] for r in records) == sorted(first.ran)
    by_id = {r["id"]: r for r in first.records}
    for r in records:  # deterministic: the rerun trials score as before
        assert r["metrics"] == by_id[r["id"]]["metrics"]
    assert ff.tune.search(space(trials=5), out=tmp_path, plots=False).ran == []
    more = ff.tune.search(space(trials=7), out=tmp_path, plots=False)  # a longer search extends it
    assert len(more.ran) == 2 and len(lines(path)) == 7


def test_the_model_file_is_the_best_trials_after_a_shorter_rerun(tmp_path):
    long = ff.tune.search(space(trials=8), out=tmp_path, plots=False)
    for n in range(1, 8):  # a shorter search whose best is not the longer one's
        short = ff.tune.search(space(trials=n), out=tmp_path, plots=False)
        if short.best["id"] != long.best["id"]:
            break
    assert short.ran == [] and short.best["id"] != long.best["id"]
    parts = digits_split()  # the refit's trial's model is kept beside the refit
    assert short.model["kind"] == "refit" and short.model["trial"] == short.best["id"]
    trial_model = ff.load_model(tmp_path / "best_trial.safetensors")
    scores = trial_model.evaluate(parts.x_val, parts.y_val, return_dict=True)
    assert scores["loss"] == pytest.approx(short.best["metrics"]["val_loss"])


def test_a_folder_of_another_search_is_refused(tmp_path):
    ff.tune.search(space(trials=1), out=tmp_path, plots=False)
    with pytest.raises(ff.FeedforwardError, match="another search"):
        ff.tune.search(space(trials=1, seed=1), out=tmp_path, plots=False)


def test_arrays_as_data_and_a_regression_metric(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=300)
    s = {"fixed": {"epochs": 20, "layers": [16]},
         "search": {"learning_rate": {"log_uniform": [1e-3, 1e-1]}},
         "tune": {"trials": 3, "metric": "val_r2"}}
    result = ff.tune.search(s, (x, y), out=tmp_path, plots=False)
    assert result.metric == "val_r2" and result.mode == "max"
    assert result.best["metrics"]["val_r2"] > 0.8
    assert set(result.test) == {"loss", "mae", "r2"}


def test_text_labels_are_classes(tmp_path):
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(-2, 1, (100, 2)), rng.normal(2, 1, (100, 2))])
    y = np.array(["left"] * 100 + ["right"] * 100)
    s = {"fixed": {"epochs": 10, "layers": [8]},
         "search": {"learning_rate": {"choice": [0.01, 0.03]}}, "tune": {"strategy": "grid"}}
    result = ff.tune.search(s, (x, y), out=tmp_path, plots=False)
    assert result.metric == "val_accuracy"
    assert result.best_model().classes == ["left", "right"]
    assert result.best["metrics"]["val_accuracy"] > 0.9


def test_the_command_line_runs_a_search_with_its_flags_over_the_file(tmp_path, capsys):
    path = tmp_path / "space.toml"
    path.write_text('[fixed]\nepochs = 5\nlayers = [16]\n'
                    '[search]\nlearning_rate = {log_uniform = [1e-3, 1e-2]}\n'
                    '[tune]\ntrials = 5\n')
    out = tmp_path / "out"
    assert cli_main(["tune", str(path), "--out", str(out), "--trials", "2", "--no-plots"]) == 0
    printed = capsys.readouterr().out
    records = lines(out / "results.jsonl")
    assert len(records) == 2 and not (out / "tune.png").exists()
    assert "2 trials (random search of learning_rate), ranked by val_accuracy" in printed
    best = max(records, key=lambda r: r["metrics"]["val_accuracy"])
    assert f"best {best['id']}: " in printed and f"wrote {out}" in printed


def test_a_csv_dataset_is_found_beside_the_space_file(tmp_path, monkeypatch):
    folder = tmp_path / "project"
    folder.mkdir()
    rng = np.random.default_rng(2)
    x = rng.normal(size=(120, 2))
    rows = [f"{a:.4f},{b:.4f},{'yes' if a + b > 0 else 'no'}" for a, b in x]
    (folder / "points.csv").write_text("a,b,label\n" + "\n".join(rows) + "\n")
    (folder / "space.toml").write_text('[fixed]\ndataset = "points.csv"\nepochs = 10\n'
                                       'layers = [8]\n[search]\n'
                                       'learning_rate = {choice = [0.01, 0.05]}\n'
                                       '[tune]\nstrategy = "grid"\n')
    monkeypatch.chdir(tmp_path)
    result = ff.tune.search("project/space.toml", out="out", plots=False)
    assert result.best_model().classes == ["no", "yes"]
    assert len(result.records) == 2 and result.best["metrics"]["val_accuracy"] > 0.8


def test_a_dry_run_lists_the_trials_and_trains_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "space.toml"
    path.write_text('[search]\nunits = {choice = [8, 16]}\nhidden_layers = {int = [0, 2]}\n')
    assert cli_main(["tune", str(path), "--strategy", "grid", "--dry-run"]) == 0
    printed = capsys.readouterr().out
    trials = make_trials(load_space(path, strategy="grid"))
    assert f"{len(trials)} trials (grid search)" in printed and len(trials) == 5
    assert all(t.id in printed for t in trials)
    assert not (tmp_path / "runs").exists()


def test_a_diverging_trial_is_recorded_as_such_and_ranked_last(tmp_path):
    s = {"fixed": FIXED | {"units": 16, "optimizer": "sgd", "epochs": 5},
         "search": {"learning_rate": {"choice": [0.05, 1e6]}}, "tune": {"strategy": "grid"}}
    result = ff.tune.search(s, out=tmp_path, plots=False)
    assert [r["status"] for r in result.records] == ["ok", "diverged"]
    assert result.records[1]["params"]["learning_rate"] == 1e6
    assert "loss" in result.records[1]["error"]


def test_two_local_processes_give_the_results_of_one_even_when_one_is_killed(tmp_path):
    one = ff.tune.search(space(trials=6), out=tmp_path / "one", plots=False)
    killed = []

    def kill_the_other_worker(record):
        if not killed:  # the worker that did not just finish is in the middle of a trial
            pid = next(p.pid for p in multiprocessing.active_children()
                       if not record["worker"].endswith(f":{p.pid}"))
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    two = ff.tune.search(space(trials=6), out=tmp_path / "two", plots=False, jobs=2,
                         on_result=kill_the_other_worker)
    workers = [int(r["worker"].rsplit(":", 1)[1]) for r in lines(tmp_path / "two" /
                                                                 "results.jsonl")]
    assert os.getpid() not in workers and killed and killed[0] not in workers
    assert set(workers) - {workers[0]}  # processes started after the kill ran the rest
    ids = [r["id"] for r in lines(tmp_path / "two" / "results.jsonl")]
    assert sorted(ids) == sorted(one.ran)  # each trial once, none lost
    assert {r["id"]: r["metrics"] for r in one.records} == \
        {r["id"]: r["metrics"] for r in two.records}


def test_a_killed_search_process_resumes_with_only_the_missing_trials(tmp_path):
    s = tmp_path / "space.toml"
    s.write_text('[fixed]\ndataset = "digits"\nepochs = 40\nearly_stopping = false\n'
                 'layers = [32]\n[search]\nlearning_rate = {log_uniform = [1e-3, 1e-2]}\n'
                 '[tune]\ntrials = 10\n')
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "feedforward.cli", "tune", str(s),
                                "--out", str(out), "--no-plots", "--quiet"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    jsonl = out / "results.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if jsonl.exists() and jsonl.read_bytes().count(b"\n") >= 3:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL, "the search ended before it was killed"
    text = jsonl.read_text()
    before = [json.loads(line)["id"] for line in text.splitlines() if line.endswith("}")]
    assert 3 <= len(before) < 10
    result = ff.tune.search(s, out=out, plots=False)
    assert len(result.ran) == 10 - len(before)
    assert not set(result.ran) & set(before)
    ids = [r["id"] for r in lines(jsonl)]
    assert len(ids) == len(set(ids)) == 10
    assert sorted(ids) == sorted(t.id for t in make_trials(load_space(s)))


# ---------------------------------------------------------------------------- bad spaces
BAD = [
    ("[search]\nlearnig_rate = {log_uniform = [1e-4, 1e-1]}\n",
     "search.learnig_rate", "unknown parameter; did you mean 'learning_rate'"),
    ("[fixed]\nepoch = 3\n[search]\nl2 = {uniform = [0, 1]}\n", "fixed.epoch", "unknown"),
    ("[search]\nunits = {choice = []}\nhidden_layers = {int = [1, 2]}\n",
     "search.units", "non-empty list"),
    ("[search]\ndropout = {uniform = [0.5, 0.1]}\n", "search.dropout", "above high"),
    ("[search]\ndropout = {uniform = [0.2, 0.2]}\n", "search.dropout", "empty"),
    ("[search]\nlearning_rate = {log_uniform = [0, 0.1]}\n", "search.learning_rate",
     "low > 0"),
    ("[search]\nbatch_size = {int_log = [-4, 64]}\n", "search.batch_size", "low > 0"),
    ("[search]\nlearning_rate = {uniform = [\"a\", 0.1]}\n", "search.learning_rate",
     "two numbers"),
    ("[search]\nbatch_size = {int = [16.5, 64]}\n", "search.batch_size", "two integers"),
    ("[search]\nbatch_size = {uniform = [16, 64]}\n", "search.batch_size", "int = [low, high]"),
    ("[search]\nactivation = {uniform = [0, 1]}\n", "search.activation", "not a number"),
    ("[search]\nactivation = {choice = [\"relu\", \"swishy\"]}\n", "search.activation",
     "unknown activation 'swishy'"),
    ("[search]\nlayers = {choice = [[64], \"wide\"]}\n", "search.layers", "list of integers"),
    ("[search]\ndropout = {uniform = [0, 1.5]}\n", "search.dropout", "< 1"),
    ("[search]\ndropout = [0, 0.5]\n", "search.dropout", "expected a table with one of"),
    ("[search]\ndropout = {uniform = [0, 0.5], step = 2}\n", "search.dropout", "step"),
    ("[search]\ndataset = {choice = [\"iris\", \"wine\"]}\n", "search.dataset",
     "cannot be searched"),
    ("[fixed]\nl2 = 0.1\n[search]\nl2 = {uniform = [0, 1e-3]}\n", "search.l2", "also in"),
    ("[search]\nunits = {choice = [16]}\n", "search.units", "needs hidden_layers"),
    ("learning_rate = 0.1\n[search]\nl2 = {uniform = [0, 1e-3]}\n", "learning_rate",
     "unknown table"),
    ("[fixed]\nepochs = 5\n", "search", "at least one"),
    ("[search]\nl2 = {uniform = [0, 1e-3]}\n[tune]\nstrategy = \"bayes\"\n", "tune.strategy",
     "random, grid, tpe"),
    ("[search]\nl2 = {uniform = [0, 1e-3]}\n[tune]\ntrials = 0\n", "tune.trials", ">= 1"),
    ("[search]\nl2 = {uniform = [0, 1e-3]}\n[tune]\nmetric = \"val_auc\"\n", "tune.metric",
     "choose from val_loss, val_accuracy"),
    ("[fixed]\noptimizer = \"adam\"\n[search]\nmomentum = {uniform = [0, 0.9]}\n",
     "search.momentum", "has no momentum"),
    ("[fixed]\nval = 0\n[search]\nl2 = {uniform = [0, 1e-3]}\n", "fixed.val",
     "validation split"),
    ("[search\nl2 = 1\n", "space.toml", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "key", "message"), BAD, ids=[b[1] for b in BAD])
def test_a_bad_space_names_the_key(tmp_path, text, key, message):
    path = tmp_path / "space.toml"
    path.write_text(text)
    with pytest.raises(ff.FeedforwardError) as info:
        ff.tune.search(path, out=tmp_path / "out", plots=False)
    assert key in str(info.value) and message in str(info.value)
    assert not (tmp_path / "out" / "results.jsonl").exists()


def test_the_command_line_says_what_is_wrong_in_one_line_with_exit_status_2(tmp_path, capsys):
    path = tmp_path / "space.toml"
    path.write_text("[search]\nlearning_rate = {log_uniform = [-1, 0.1]}\n")
    assert cli_main(["tune", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("feedforward tune: error: search.learning_rate (in ")
    assert "low > 0" in err
    assert cli_main(["tune", str(path), "--jobs", "-1"]) == 2
    assert "--jobs: expected an integer >= 0" in capsys.readouterr().err
    run = subprocess.run([sys.executable, "-m", "feedforward.cli", "tune", str(path)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.splitlines() == [err.strip()]


def test_importing_feedforward_imports_neither_the_search_nor_dask():
    code = ("import sys, feedforward; "
            "print(any(m.startswith(('dask', 'distributed', 'feedforward.tune')) "
            "for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"
