"""``benchmarks/tabular.py``: its table and its rows, on two small datasets.

The benchmark runs the real command line and scikit-learn on the split ``feedforward train``
makes; this checks that the split is that one, that each learner's score is a sane test
score, that the verdict column follows the scores, and that a learner's error becomes a
cell of the table instead of ending the benchmark.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import tabular  # noqa: E402

from feedforward import config, experiment  # noqa: E402


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tabular")
    return {name: tabular.measure(name, folder) for name in ("iris", "mixed_regression")}


def test_the_split_is_the_one_train_makes():
    task, rows = tabular.split_rows("wine")
    data, parts = experiment.load(config.resolve({"dataset": "wine"}))
    assert task == "classification"
    assert np.array_equal(data.x[rows["train"]], parts.x_train)
    assert np.array_equal(data.x[rows["test"]], parts.x_test)
    assert not set(rows["train"]) & set(rows["test"])


def test_each_learner_scores_the_test_rows(rows):
    iris = rows["iris"]
    assert iris["task"] == "classification" and iris["n"] == "90/30"
    for kind in tabular.LEARNERS:
        score = iris[kind]["score"]
        # 30 test rows: a multiple of 1/30, and far above chance (33 %) on iris
        assert 80 <= score <= 100 and round(score * 30 / 100, 6) % 1 == 0, (kind, score)
        assert iris[kind]["seconds"] >= 0
    assert iris["feedforward"]["epochs"] >= 1
    best = max(iris[k]["score"] for k in tabular.LEARNERS)
    assert iris["within"] == (iris["feedforward"]["score"] >= best - tabular.TOLERANCE)


def test_a_mixed_csv_row_is_scored_or_reports_its_error(rows):
    row = rows["mixed_regression"]
    for kind in tabular.LEARNERS:
        result = row[kind]
        assert ("error" in result) != ("score" in result)
        if "score" in result:  # R^2 x 100 on 120 test rows of a learnable target
            assert row["task"] == "regression" and 30 < result["score"] <= 100


def test_the_table_has_a_row_per_dataset_and_a_verdict(rows):
    text = tabular.table(list(rows.values())).splitlines()
    assert text[0].startswith("| dataset | task | train/test | feedforward |")
    assert text[0].endswith("| within 1 point |")
    assert len(text) == 4
    cells = [c.strip() for c in text[2].strip("|").split("|")]
    assert len(cells) == len(text[0].strip("|").split("|"))
    assert cells[0] == "iris" and cells[-1] in ("yes", "**no**")
    assert float(cells[3]) == pytest.approx(rows["iris"]["feedforward"]["score"], abs=0.05)


def test_an_error_is_a_cell_not_a_crash(tmp_path, capsys):
    row = tabular.measure(str(tmp_path / "missing.csv"), tmp_path)
    assert all("error" in row[k] for k in tabular.LEARNERS) and row["within"] is None
    line = tabular.table([row]).splitlines()[-1]
    assert "error (" in line and line.endswith("| - |")


def test_the_command_line_refuses_an_unknown_dataset_and_prints_json(capsys):
    with pytest.raises(SystemExit):
        tabular.main(["--only", "nope"])
    assert "--only: unknown dataset 'nope'" in capsys.readouterr().err
    code = tabular.main(["--only", "gaussian", "--json"])
    printed = json.loads(capsys.readouterr().out)
    assert [r["dataset"] for r in printed] == ["gaussian"]
    assert code == (0 if printed[0]["within"] else 1)


def test_another_seed_is_the_split_train_makes_with_that_seed():
    _, rows = tabular.split_rows("wine", seed=1)
    data, parts = experiment.load(config.resolve({"dataset": "wine", "seed": 1}))
    assert np.array_equal(data.x[rows["train"]], parts.x_train)
    assert np.array_equal(data.x[rows["test"]], parts.x_test)
    assert not np.array_equal(rows["test"], tabular.split_rows("wine")[1]["test"])


def test_a_generated_dataset_is_drawn_with_the_seed_for_the_baselines_too():
    _, rows = tabular.split_rows("spiral", seed=2)
    x_train, y_train, *_ = tabular._features("spiral", None, rows, seed=2)
    _, parts = experiment.load(config.resolve({"dataset": "spiral", "seed": 2}))
    assert np.array_equal(x_train, parts.x_train) and np.array_equal(y_train, parts.y_train)


def test_several_seeds_become_one_row_of_means():
    def run(seed, ff, mlp, linear):
        return {"dataset": "d", "task": "classification", "n": "9/3", "seed": seed,
                **{k: {"score": s, "seconds": seed + 1.0} for k, s in
                   zip(tabular.LEARNERS, (ff, mlp, linear), strict=True)}}

    row = tabular.mean_row([run(0, 90.0, 95.0, 80.0), run(1, 100.0, 96.0, 80.0)])
    assert row["seeds"] == [0, 1]
    assert row["feedforward"] == {"score": 95.0, "seconds": 1.5}
    assert row["sklearn_mlp"]["score"] == 95.5 and row["within"] is True
    # a verdict on the means: one seed 5 points behind, the mean 1.5 behind
    assert tabular.mean_row([run(0, 90.0, 95.0, 80.0), run(1, 99.0, 97.0, 80.0)])["within"] \
        is False
    failed = run(1, 0.0, 96.0, 80.0)
    failed["linear"] = {"error": "ValueError: no"}
    row = tabular.mean_row([run(0, 90.0, 95.0, 80.0), failed])
    assert row["linear"] == {"error": "ValueError: no"} and row["within"] is None


@pytest.mark.parametrize("seeds", ["0,x", "1,1", "-1"])
def test_the_command_line_refuses_bad_seeds(seeds, capsys):
    with pytest.raises(SystemExit):
        tabular.main(["--only", "gaussian", "--seeds", seeds])
    assert "--seeds: expected" in capsys.readouterr().err
