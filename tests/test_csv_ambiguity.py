"""CSV files the command line could misread: columns a model knows by its encoder only, a
header it cannot check, pandas' index column, column names that are numbers, and the outputs
of ``predict -o``."""

from __future__ import annotations

import numpy as np
import pytest

import feedforward as ff
from feedforward.cli import main as cli_main


def _model(preprocessing, seed=0):
    model = ff.Sequential([ff.Dense(1)], seed=seed, preprocessing=preprocessing)
    model.compile("sgd", "mse")
    return model


@pytest.fixture
def xy():
    rng = np.random.default_rng(0)
    x = np.c_[rng.normal(size=40), 100 + rng.normal(size=40)]  # a and b: far apart
    return x, x[:, 0] - 0.01 * x[:, 1]


def _write(path, names, x, y=None):
    columns = [*names, *(["t"] if y is not None else [])]
    rows = x if y is None else np.c_[x, y]
    path.write_text(",".join(columns) + "\n" + "".join(
        ",".join(repr(float(v)) for v in row) + "\n" for row in rows))


def _predicted(path):
    return np.loadtxt(path, delimiter=",", skiprows=1)


# ---------------------------------------------------------------------------- a model's names
def test_an_encoders_columns_match_a_reordered_file_by_name(tmp_path, monkeypatch, xy):
    x, y = xy
    model = _model([ff.data.TableEncoder(columns=["a", "b"])])
    model.fit(x.astype(object), y, epochs=1, verbose=0)  # an array: no feature_names
    assert model.feature_names is None
    model.save(tmp_path / "m.safetensors")
    _write(tmp_path / "ba.csv", ["b", "a"], x[:, ::-1])
    _write(tmp_path / "bat.csv", ["b", "a"], x[:, ::-1], y)
    monkeypatch.chdir(tmp_path)
    assert cli_main(["predict", "m.safetensors", "ba.csv", "-o", "p.csv"]) == 0
    np.testing.assert_allclose(_predicted("p.csv"), model.predict(x)[:, 0], rtol=1e-6)
    assert cli_main(["evaluate", "m.safetensors", "--data", "bat.csv", "--target", "t",
                     "--json"]) == 0
    _write(tmp_path / "ac.csv", ["a", "c"], x)  # a name the encoder lacks: refused
    assert cli_main(["predict", "m.safetensors", "ac.csv"]) == 2


def test_a_header_that_cannot_be_checked_is_said(tmp_path, monkeypatch, capsys, xy):
    x, y = xy
    model = _model([])
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.safetensors")
    _write(tmp_path / "ba.csv", ["b", "a"], x[:, ::-1])
    _write(tmp_path / "plain.csv", ["a", "b"], x)
    (tmp_path / "nohead.csv").write_text((tmp_path / "plain.csv").read_text().split("\n", 1)[1])
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert cli_main(["predict", "m.safetensors", "ba.csv", "-o", "p.csv"]) == 0
    err = capsys.readouterr().err
    assert "records no feature names" in err and "header is not checked" in err
    assert cli_main(["predict", "m.safetensors", "nohead.csv", "-o", "p.csv"]) == 0
    assert "header is not checked" not in capsys.readouterr().err  # no header to check


# ---------------------------------------------------------------------------- pandas' index
def _pandas_csv(path, start=0, rows=30):
    """What ``pd.DataFrame(array).to_csv(path)`` writes: the index first, under an empty
    cell, then the columns labelled ``start``, ``start + 1``, ..."""
    rng = np.random.default_rng(1)
    lines = ["," + ",".join(str(start + j) for j in range(4))]
    lines += [f"{i}," + ",".join(f"{v:.6f}" for v in rng.normal(size=3)) + f",{i % 2}"
              for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("start", [0, 1])
def test_pandas_index_and_header_are_refused_as_ambiguous(tmp_path, start):
    _pandas_csv(tmp_path / "pd.csv", start)
    with pytest.raises(ff.FeedforwardError, match=r"pandas.*index.*to_csv\(index=False\)"):
        ff.data.load_csv(tmp_path / "pd.csv")
    ds = ff.data.load_csv(tmp_path / "pd.csv", header=True)  # said: a header
    assert ds.feature_names == ["", *map(str, range(start, start + 3))] and len(ds.y) == 30


def test_pandas_header_names_the_flag(tmp_path, monkeypatch, capsys):
    _pandas_csv(tmp_path / "pd.csv")
    monkeypatch.chdir(tmp_path)
    assert cli_main(["train", "--dataset", "pd.csv", "--epochs", "1", "--no-plots",
                     "--out", "run"]) == 2
    err = capsys.readouterr().err
    assert "pass --header" in err and "index=False" in err and not (tmp_path / "run").exists()


# ---------------------------------------------------------------------------- numeric names
@pytest.fixture
def numbered(tmp_path):
    """Columns ``a, 2, b, t``: the column named ``2`` holds classes, ``b`` (index 2) numbers."""
    rng = np.random.default_rng(2)
    path = tmp_path / "num.csv"
    path.write_text("a,2,b,t\n" + "".join(
        f"{rng.normal():.5f},{i % 3},{rng.normal():.5f},{rng.normal():.5f}\n"
        for i in range(60)))
    return path


def test_a_number_that_names_one_column_and_indexes_another_is_refused(numbered):
    table = ff.data.tabular.read_table(numbered, header=True)
    with pytest.raises(ff.FeedforwardError, match=r"^drop: 2 is ambiguous.*name:2.*index:2"):
        table.index(2, "drop")
    assert [table.index(c) for c in ("name:2", "2", "index:2", -2, "a")] == [1, 1, 2, 2, 0]
    with pytest.raises(ff.FeedforwardError, match="index:N"):
        table.index("index:x")
    ds = ff.data.load_csv(numbered, target="name:2")  # a name: the header is detected
    assert ds.target_name == "2" and ds.feature_names == ["a", "b", "t"]


def test_a_numeric_name_out_of_range_as_an_index_is_the_name(tmp_path):
    (tmp_path / "years.csv").write_text("x,2019,y\n1,2,0\n2,3,1\n3,4,0\n")
    table = ff.data.tabular.read_table(tmp_path / "years.csv", header=True)
    assert table.index(2019, "features") == 1 and table.index(1) == 1  # same column either way


@pytest.mark.parametrize("args, words", [
    (["--target", "2"], ["--target: 2 is ambiguous", "name:2", "index:2"]),
    (["--target", "t", "--drop", "2"], ["--drop: 2 is ambiguous"]),
    (["--target", "t", "--features", "a,2"], ["--features: 2 is ambiguous"]),
    (["--target", "t", "--categorical", "2"], ["--categorical: 2 is ambiguous"]),
])
def test_the_flags_refuse_the_ambiguous_number(numbered, monkeypatch, capsys, args, words):
    monkeypatch.chdir(numbered.parent)
    assert cli_main(["train", "--dataset", "num.csv", "--header", *args, "--epochs", "1",
                     "--no-plots", "--out", "run"]) == 2
    err = capsys.readouterr().err
    assert all(w in err for w in words), err


def test_the_flags_choose_by_name_or_index(numbered, monkeypatch, capsys):
    monkeypatch.chdir(numbered.parent)
    common = ["--header", "--epochs", "1", "--no-plots", "--overwrite", "--out", "run"]
    assert cli_main(["train", "--dataset", "num.csv", "--target", "name:2", *common]) == 0
    assert "features, target '2' (3 classes)" in capsys.readouterr().out
    assert cli_main(["train", "--dataset", "num.csv", "--target", "t", "--drop", "name:2",
                     *common]) == 0
    assert ff.records.load("run/model.safetensors")[1]["feature_names"] == ["a", "b"]
    assert cli_main(["train", "--dataset", "num.csv", "--target", "index:2", *common]) == 0
    assert "target 'b' (regression)" in capsys.readouterr().out


def test_pandas_index_left_out_by_index(tmp_path, monkeypatch, capsys):
    _pandas_csv(tmp_path / "pd.csv")
    monkeypatch.chdir(tmp_path)
    assert cli_main(["train", "--dataset", "pd.csv", "--header", "--epochs", "1",
                     "--no-plots", "--out", "with_index"]) == 0
    assert "--drop index:0" in capsys.readouterr().err  # the id warning's advice works
    assert cli_main(["train", "--dataset", "pd.csv", "--header", "--drop", "index:0",
                     "--epochs", "1", "--no-plots", "--out", "run"]) == 0
    assert ff.records.load("run/model.safetensors")[1]["feature_names"] == ["0", "1", "2"]


def test_a_model_with_a_numeric_name_reads_its_file(numbered, monkeypatch, capsys):
    monkeypatch.chdir(numbered.parent)
    assert cli_main(["train", "--dataset", "num.csv", "--target", "name:2", "--header",
                     "--epochs", "1", "--no-plots", "--out", "run"]) == 0
    capsys.readouterr()
    # the model knows every name of the header, the number 2 among them: a header
    assert cli_main(["evaluate", "run/model.safetensors", "--data", "num.csv", "--json"]) == 0
    assert '"samples": 60' in capsys.readouterr().out
    assert cli_main(["predict", "run/model.safetensors", "num.csv", "-o", "p.csv"]) == 0
    assert len((numbered.parent / "p.csv").read_text().splitlines()) == 61


# ---------------------------------------------------------------------------- lesser traps
@pytest.fixture
def saved(tmp_path, xy):
    """A regression model of two inputs named a and b, and a file of its rows."""
    x, y = xy
    model = _model([])
    model.feature_names = ["a", "b"]
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.safetensors")
    _write(tmp_path / "ab.csv", ["a", "b"], x)
    return tmp_path


@pytest.mark.parametrize("suffix", [".csv.gz", ".bz2", ".xz", ".zip"])
def test_a_compressed_output_name_is_refused(saved, monkeypatch, capsys, suffix):
    monkeypatch.chdir(saved)
    assert cli_main(["predict", "m.safetensors", "ab.csv", "-o", f"p{suffix}"]) == 2
    assert "compressed" in capsys.readouterr().err and not (saved / f"p{suffix}").exists()


def test_output_dash_is_stdout(saved, monkeypatch, capsys):
    monkeypatch.chdir(saved)
    assert cli_main(["predict", "m.safetensors", "ab.csv", "-o", "-"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "prediction" and len(out) == 41 and not (saved / "-").exists()


def test_a_multi_output_model_is_refused_by_evaluate_data(tmp_path, monkeypatch, capsys, xy):
    x, y = xy
    model = ff.Sequential([ff.Dense(2)], seed=0)
    model.compile("sgd", "mse")
    model.fit(x, np.c_[y, y], epochs=1, verbose=0)
    model.save(tmp_path / "m2.safetensors")
    _write(tmp_path / "abt.csv", ["a", "b"], x, y)
    monkeypatch.chdir(tmp_path)
    assert cli_main(["evaluate", "m2.safetensors", "--data", "abt.csv"]) == 2
    assert "takes one target column, so it cannot score a model of 2 outputs" in \
        capsys.readouterr().err


def test_a_mostly_missing_column_is_warned_of(tmp_path, monkeypatch, capsys):
    rng = np.random.default_rng(3)
    pool = np.where(rng.random(100) < 0.9, "NA", rng.choice(["Gd", "Ex"], 100))
    x = rng.normal(size=100)
    (tmp_path / "pool.csv").write_text("x,pool,price\n" + "".join(
        f"{v:.4f},{p},{v + 3 * (p != 'NA'):.4f}\n" for v, p in zip(x, pool, strict=True)))
    monkeypatch.chdir(tmp_path)
    common = ["--dataset", "pool.csv", "--epochs", "1", "--no-plots", "--overwrite"]
    assert cli_main(["train", *common, "--out", "run"]) == 0
    err = capsys.readouterr().err
    assert "warning" in err and "'pool' is missing in" in err and "--missing-indicators" in err
    assert cli_main(["train", *common, "--missing-indicators", "--out", "run"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_pandas_index_columns_of_a_parquet_file_are_left_out(tmp_path):
    import pandas as pd

    pytest.importorskip("pyarrow.parquet", reason="the parquet extra is not installed")
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]})
    frame[frame.a != 2].to_parquet(tmp_path / "f.parquet")  # a filtered frame keeps its index
    ds = ff.data.read_csv(tmp_path / "f.parquet", target="y")
    assert ds.feature_names == ["a"] and list(ds.y) == [0, 0, 1]
