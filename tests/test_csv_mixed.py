"""Mixed-type tables: categorical columns one-hot encoded, missing cells imputed, both learned
from the training split only and saved in the model file (a TableEncoder), so that predict and
evaluate take raw rows; ONNX export carries imputation and refuses categories; Parquet input."""

from __future__ import annotations

import json
import re
import sys
import warnings

import numpy as np
import pytest

import feedforward as ff
from feedforward import config, experiment, records
from feedforward.cli.main import main
from feedforward.data import TableEncoder, UnseenCategoryWarning, sources
from feedforward.errors import FeedforwardError

HEADER = "colour,size,a,zip,label"


def write_mixed(path, rows=120, seed=0, gaps=True):
    """colour (text), size (text), a (numbers, some NA), zip (numbers that are categories)
    and a yes/no label that colour and a decide."""
    rng = np.random.default_rng(seed)
    lines = [HEADER]
    for i in range(rows):
        colour = "rgb"[rng.integers(3)]
        a = rng.normal()
        label = "yes" if a + (colour == "r") * 1.5 - (colour == "b") > 0 else "no"
        cell = "NA" if gaps and i % 10 == 3 else f"{a:.4f}"
        lines.append(f"{colour},{'SML'[rng.integers(3)]},{cell},{rng.choice([2139, 10001])},"
                     f"{label}")
    path.write_text("\n".join(lines) + "\n")
    return path


def train(folder, *args):
    out = folder / "run"
    status = main(["train", "--dataset", str(folder / "data.csv"), "--out", str(out),
                   "--epochs", "3", "--quiet", "--no-plots", "--overwrite", *args])
    assert status == 0
    return out / "model.safetensors"


@pytest.fixture()
def folder(tmp_path):
    write_mixed(tmp_path / "data.csv")
    return tmp_path


# ---------------------------------------------------------------------------- training
def test_text_columns_are_detected_and_said_in_one_line(folder, capsys):
    model_file = train(folder, "--categorical", "zip")
    err = capsys.readouterr().err
    model, _ = records.load(model_file)
    gaps = model.row_encoder.missing_ if hasattr(model.row_encoder, "missing_") else None
    assert gaps is None  # what fit counted is said, not saved
    assert re.search(r"^note: --dataset data.csv: categorical columns 'colour', 'size', 'zip' "
                     r"one-hot encoded as 8 columns; \d+ missing cells in 1 column imputed with "
                     r"the training median \(categories: the most frequent\); 9 inputs in all "
                     r"from 4 columns \(fitted on the 72 training rows\)$", err, re.M), err
    model, record = records.load(model_file)
    encoder = model.row_encoder
    assert model.input_dim == 9 and model.raw_input_dim == 4
    assert record["feature_names"] == ["colour", "size", "a", "zip"]
    assert encoder.learned["categories"] == [["b", "g", "r"], ["L", "M", "S"], None,
                                             ["10001", "2139"]]
    assert record["config"]["categorical"] == ["zip"]


def test_without_categorical_a_numeric_zip_stays_a_number(folder):
    model, _ = records.load(train(folder))
    assert model.row_encoder.categorical_columns == ["colour", "size"]
    assert model.input_dim == 3 + 3 + 2


def test_a_numeric_table_has_no_encoder_and_records_leave_the_options_out(tmp_path):
    write_mixed(tmp_path / "data.csv", gaps=False)
    text = (tmp_path / "data.csv").read_text().splitlines()
    (tmp_path / "data.csv").write_text("\n".join(",".join(r.split(",")[2:]) for r in text))
    model, record = records.load(train(tmp_path))
    assert model.row_encoder is None and model.input_dim == 2
    for key in ("categorical", "impute", "missing_indicators"):  # 0.1 reads such records
        assert config.BY_KEY[key].default is None and key in config.ADDED_AFTER_0_1
        assert key not in config.portable(config.resolve({}))


def test_imputation_uses_the_training_split_only(tmp_path):
    """The training rows' median of a, not the whole file's, fills a missing cell."""
    cfg = config.resolve({"dataset": str(write_mixed(tmp_path / "data.csv", rows=200)),
                          "target": "label", "seed": 3})
    data, parts = experiment.load(cfg)
    encoder = data.encoder
    a_train = np.array([float(v) for v in parts.x_train[:, 2] if v != "NA"])
    a_all = np.array([float(v) for v in data.x[:, 2] if v != "NA"])
    assert np.median(a_train) != np.median(a_all)
    assert encoder.learned["fill"][2] == np.median(a_train)
    rows = np.array([["r", "S", "NA", "2139"]], dtype=object)
    assert encoder.transform(rows)[0, 6] == np.median(a_train)


@pytest.mark.parametrize("impute, fill", [("median", 5.0), ("most_frequent", 1.0)])
def test_impute_median_or_most_frequent(impute, fill):
    rows = [["1", "x"], ["1", "x"], ["5", "y"], ["6", "y"], ["7", "x"], [None, ""]]
    encoder = TableEncoder(impute=impute).fit(rows)
    assert encoder.learned["fill"] == [fill, "x"]  # a category: its most frequent either way
    assert encoder.transform([[None, None]]).tolist() == [[fill, 1, 0]]


def test_missing_indicators_mark_the_columns_that_had_gaps(folder):
    model, _ = records.load(train(folder, "--missing-indicators"))
    encoder = model.row_encoder
    assert encoder.feature_names_out()[-1] == "a_missing"
    out = encoder.transform([["r", "S", "?", "2139"], ["r", "S", "0.5", "2139"]])
    assert out[:, -1].tolist() == [1.0, 0.0]
    assert out[0, 6] == encoder.learned["fill"][2]


def test_impute_none_refuses_a_missing_cell_naming_it(folder):
    with pytest.raises(FeedforwardError, match=r"^--impute: is 'none', but .*data.csv has a "
                       r"missing value in row 4 \(line 5\), column 'a': 'NA'; fill missing "
                       r"values with --impute median"):
        sources.load(str(folder / "data.csv"), impute="none")


def test_an_id_like_text_column_is_refused_pointing_to_drop(tmp_path):
    rows = "".join(f"user{i},{i % 3},{i % 2}\n" for i in range(100))
    (tmp_path / "data.csv").write_text("name,x,label\n" + rows)
    assert main(["train", "--dataset", str(tmp_path / "data.csv"), "--quiet"]) == 2
    cfg = config.resolve({"dataset": str(tmp_path / "data.csv")})
    with pytest.raises(FeedforwardError, match=r"column 'name' has 60 distinct text values in "
                                               r"60 training rows.*--drop name"):
        experiment.load(cfg)
    cfg = config.resolve({"dataset": str(tmp_path / "data.csv"), "drop": ["name"]})
    assert experiment.load(cfg)[0].encoder is None


def test_a_missing_target_is_refused_never_imputed(folder):
    text = (folder / "data.csv").read_text().replace(",yes\n", ",\n", 1)
    (folder / "data.csv").write_text(text)
    with pytest.raises(FeedforwardError, match=r"missing target '' in row \d+ \(line \d+\), "
                                               r"column 'label'.*never imputed"):
        sources.load(str(folder / "data.csv"))


# ---------------------------------------------------------------------------- predict / evaluate
def test_predict_takes_raw_rows_by_name_with_unseen_and_missing_cells(folder, capsys):
    model_file = train(folder, "--categorical", "zip")
    capsys.readouterr()
    (folder / "new.csv").write_text(  # reordered columns, an unseen colour, gaps
        "zip,a,size,colour\n2139,0.5,S,r\n2139,NA,M,purple\n99999,,L,purple\n")
    out = folder / "pred.csv"
    assert main(["predict", str(model_file), str(folder / "new.csv"), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ("2 rows had categories not seen in training (encoded as "
                                     "all zeros): colour='purple' (2), zip='99999' (1)") in err
    model, _ = records.load(model_file)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenCategoryWarning)
        expected = model.predict([["purple", "M", model.row_encoder.learned["fill"][2], "2139"]])
    written = np.loadtxt(out, delimiter=",", skiprows=1, usecols=2)  # probability_yes
    assert written[1] == pytest.approx(expected[0, 0], rel=1e-6)


def test_evaluate_split_reproduces_the_training_results(folder, capsys):
    model_file = train(folder, "--missing-indicators")
    _, record = records.load(model_file)
    capsys.readouterr()
    assert main(["evaluate", str(model_file), "--data", str(folder / "data.csv"),
                 "--split", "test", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["metrics"] == pytest.approx(record["results"]["test"], rel=1e-6)


def test_a_missing_cell_at_predict_is_refused_when_training_refused_them(tmp_path, capsys):
    write_mixed(tmp_path / "data.csv", gaps=False)
    model_file = train(tmp_path, "--impute", "none")
    (tmp_path / "new.csv").write_text("colour,size,a,zip\nr,S,NA,2139\n")
    assert main(["predict", str(model_file), str(tmp_path / "new.csv")]) == 2
    assert "missing value in row 1, column 'a'" in capsys.readouterr().err


# ---------------------------------------------------------------------------- Python
def test_the_python_api_takes_raw_rows_and_saves_the_encoder(folder, tmp_path):
    ds = ff.data.read_csv(folder / "data.csv", target="label")
    assert ds.x.dtype == object and ds.x.shape == (120, 4)
    model = ff.Sequential([ff.layers.Dense(8, activation="relu"),
                           ff.layers.Dense(2, activation="softmax")], seed=0,
                          preprocessing=[TableEncoder(columns=ds.feature_names,
                                                      categorical=["zip"]), "standard_scaler"])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(ds.x, ds.y, epochs=2, verbose=0)
    assert model.input_dim == 9
    model.save(tmp_path / "m.safetensors")
    loaded = ff.load_model(tmp_path / "m.safetensors")
    assert loaded.row_encoder.get_config() == model.row_encoder.get_config()
    assert np.array_equal(loaded.predict(ds.x[:5]), model.predict(ds.x[:5]))
    logs = loaded.evaluate(ds.x, ds.y, return_dict=True)
    assert logs == model.evaluate(ds.x, ds.y, return_dict=True)
    with pytest.warns(UnseenCategoryWarning, match="colour='purple' \\(1\\)"):
        loaded.predict([["purple", "S", None, 2139]])


def test_a_dataframe_is_taken_by_column_name():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"n": [1.0, np.nan, 3.0], "c": ["a", "b", None],
                          "k": pd.array([4, None, 4], dtype="Int64")})  # pd.NA: missing
    encoder = TableEncoder().fit(frame)
    assert encoder.columns == ["n", "c", "k"]
    assert encoder.categorical_columns == ["c"]
    again = encoder.transform(frame[["k", "c", "n"]])  # reordered: by name
    assert again.tolist() == [[1, 1, 0, 4], [2, 0, 1, 4], [3, 1, 0, 4]]


def test_encoder_errors_name_the_cell():
    encoder = TableEncoder(columns=["n", "c"]).fit([["1", "a"], ["2", "b"]])
    with pytest.raises(FeedforwardError, match=r"x: 'x' in row 2, column 'n', is not a finite"):
        encoder.transform([["1", "a"], ["x", "b"]])
    with pytest.raises(FeedforwardError, match=r"'1e400' in row 1, column 'n', is not a finite"):
        encoder.transform([["1e400", "a"]])  # overflows to inf
    with pytest.raises(FeedforwardError, match="expected 2 columns"):
        encoder.transform([["1"]])
    with pytest.raises(FeedforwardError, match="categorical: no column 'zz'"):
        TableEncoder(categorical=["zz"]).fit([["1"]])


# ---------------------------------------------------------------------------- ONNX
def test_onnx_carries_imputation_and_indicators():
    ort = pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")
    from feedforward.onnx import to_onnx

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    rows = x.astype(object)
    rows[::7, 1] = None
    rows[::5, 2] = "NA"
    model = ff.Sequential([ff.layers.Dense(4, activation="tanh"), ff.layers.Dense(1)], seed=0,
                          preprocessing=[TableEncoder(missing_indicators=True),
                                         "standard_scaler"])
    model.compile("sgd", "mse")
    model.fit(rows, x[:, 0], epochs=1, verbose=0)
    session = ort.InferenceSession(to_onnx(model).SerializeToString())
    floats = np.where(rows == None, np.nan, np.where(rows == "NA", np.nan, rows))  # noqa: E711
    got = session.run(None, {"input": floats.astype(np.float32)})[0]
    assert np.allclose(got, model.predict(rows), atol=1e-5)


def test_onnx_refuses_categorical_columns_saying_what_to_do():
    pytest.importorskip("onnx", reason="the onnx extra is not installed")
    from feedforward.onnx import to_onnx

    model = ff.Sequential([ff.layers.Dense(1)], preprocessing=[TableEncoder()])
    model.compile("sgd", "mse")
    model.fit([["a", 1.0], ["b", 2.0]], [0.0, 1.0], epochs=1, verbose=0)
    with pytest.raises(FeedforwardError, match=r"categorical columns \('column_1'\): an ONNX "
                                               r"input tensor holds one type.*one-hot"):
        to_onnx(model)


# ---------------------------------------------------------------------------- Parquet
def test_parquet_reads_as_the_same_table(folder):
    pq = pytest.importorskip("pyarrow.parquet", reason="the parquet extra is not installed")
    pa = pytest.importorskip("pyarrow")
    ds = ff.data.read_csv(folder / "data.csv")
    columns = {name: [None if v == "NA" else (float(v) if name == "a" else v)
                      for v in ds.x[:, j]] for j, name in enumerate(ds.feature_names)}
    columns["label"] = [ds.classes[c] for c in ds.y]
    pq.write_table(pa.table(columns), folder / "data.parquet")
    csv_model = records.load(train(folder))[0]
    out = folder / "pq"
    assert main(["train", "--dataset", str(folder / "data.parquet"), "--out", str(out),
                 "--epochs", "3", "--quiet", "--no-plots"]) == 0
    pq_model = records.load(out / "model.safetensors")[0]
    assert pq_model.row_encoder.get_config() == csv_model.row_encoder.get_config()
    assert np.array_equal(pq_model.layers[0].params["kernel"], csv_model.layers[0].params["kernel"])


def test_parquet_without_pyarrow_names_the_extra(folder, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # import fails, as uninstalled
    (folder / "x.parquet").write_bytes(b"PAR1")
    with pytest.raises(FeedforwardError, match=r"needs pyarrow.*feedforward\[parquet\]"):
        sources.load(str(folder / "x.parquet"))


# ---------------------------------------------------------------------------- written two ways
def test_a_category_written_as_another_number_or_case_is_the_same_category(folder, capsys):
    """A zip written 2139 in training and 2139.0 at predict (a float column of another tool),
    or a bool written True and true, is one category, not an unseen one."""
    model_file = train(folder, "--categorical", "zip")
    capsys.readouterr()
    (folder / "as_int.csv").write_text("colour,size,a,zip\nr,S,0.5,2139\nb,L,-1,10001\n")
    (folder / "as_float.csv").write_text("colour,size,a,zip\nr,S,0.5,2139.0\nb,L,-1,10001.00\n")
    outs = []
    for name in ("as_int", "as_float"):
        out = folder / f"{name}.out"
        assert main(["predict", str(model_file), str(folder / f"{name}.csv"), "-o", str(out)]) == 0
        outs.append(out.read_text())
    assert "not seen in training" not in capsys.readouterr().err
    assert outs[0] == outs[1]
    encoder = TableEncoder(categorical=[0]).fit([["True"], ["False"], ["True"]])
    assert np.array_equal(encoder.transform([["true"], ["FALSE"]]), [[0, 1], [1, 0]])


# ---------------------------------------------------------------------------- one stray cell
@pytest.mark.parametrize("cell", ["oops", "1,000", "unknown"])
def test_a_text_cell_in_a_column_of_numbers_is_refused_naming_it(tmp_path, capsys, cell):
    """One stray cell does not turn a numeric column into one-hot columns of its values."""
    rows = [f"{i % 9 + 1},{'rb'[i % 2]},{'ab'[i % 2]}" for i in range(40)]
    rows[7] = f'"{cell}",b,b'
    (tmp_path / "rooms.csv").write_text("rooms,colour,y\n" + "\n".join(rows) + "\n")
    status = main(["train", "--dataset", str(tmp_path / "rooms.csv"), "--out",
                   str(tmp_path / "run"), "--epochs", "2", "--quiet", "--no-plots"])
    err = capsys.readouterr().err
    assert status == 2 and not (tmp_path / "run").exists()
    assert "column 'rooms' holds numbers, but row 8 (line 9)" in err and repr(cell) in err, err
    assert "--categorical" in err
    with pytest.raises(FeedforwardError, match=r"x: column 'rooms' holds numbers, but row 8 "):
        TableEncoder(["rooms"]).fit([[str(i)] for i in range(7)] + [[cell]])
    forced = TableEncoder(["rooms"], categorical=["rooms"]).fit([["1"], ["2"], [cell]])
    assert forced.categorical_columns == ["rooms"]


def test_spreadsheet_missing_tokens_are_gaps(tmp_path):
    encoder = TableEncoder(["a"]).fit([["1"], ["#N/A"], ["3"], ["<NA>"], ["#na"]])
    assert encoder.missing_ == {"a": 3}
    assert encoder.transform([["#N/A"]]).tolist() == [[2.0]]


# ---------------------------------------------------------------------------- no header
def test_a_headerless_mixed_file_keeps_its_first_row(folder, capsys):
    text = (folder / "data.csv").read_text().splitlines()
    (folder / "bare.csv").write_text("\n".join(text[1:]) + "\n")
    assert main(["train", "--dataset", str(folder / "bare.csv"), "--out", str(folder / "b"),
                 "--epochs", "2", "--quiet", "--no-plots"]) == 0
    metrics = json.loads((folder / "b" / "metrics.json").read_text())
    assert sum(metrics["samples"].values()) == len(text) - 1  # every data row, the first too
    first = text[1].split(",")
    first[0] = "purple"  # a category found nowhere below: a name, or a rare value?
    (folder / "lonely.csv").write_text("\n".join([",".join(first), *text[2:]]) + "\n")
    capsys.readouterr()
    assert main(["train", "--dataset", str(folder / "lonely.csv"), "--out", str(folder / "c"),
                 "--epochs", "2", "--quiet", "--no-plots"]) == 2
    err = capsys.readouterr().err
    assert "cannot tell whether the first row" in err and "(purple)" in err, err
    assert main(["train", "--dataset", str(folder / "lonely.csv"), "--out", str(folder / "c"),
                 "--epochs", "2", "--quiet", "--no-plots", "--no-header"]) == 0


def test_export_names_the_raw_input_width(tmp_path, capsys):
    pytest.importorskip("onnx", reason="the onnx extra is not installed")
    rows = [f"{'' if i % 5 == 0 else i},{i % 3},{'ab'[i % 2]}" for i in range(40)]
    (tmp_path / "gaps.csv").write_text("a,b,y\n" + "\n".join(rows) + "\n")
    model_file = train_at(tmp_path / "gaps.csv", tmp_path / "run", "--missing-indicators")
    capsys.readouterr()
    assert main(["export", str(model_file), "--onnx", str(tmp_path / "m.onnx")]) == 0
    assert "input (batch, 2) float32" in capsys.readouterr().out


def train_at(data, out, *args):
    assert main(["train", "--dataset", str(data), "--out", str(out), "--epochs", "2",
                 "--quiet", "--no-plots", *args]) == 0
    return out / "model.safetensors"


def test_a_search_on_a_mixed_table_says_unseen_categories_once_not_per_trial(tmp_path, capsys):
    """The validation split holds a colour the training split lacks: the loading says so in
    one line; the trials, each evaluating that split, add no Python warning."""
    lines = HEADER.split(",")
    rows = [f"{'rg'[i % 2]},S,{i / 100:.2f},2139,{'yes' if i % 2 else 'no'}"
            for i in range(60)]
    rows[9] = "purple" + rows[9][1:]  # a row that the seeded split puts in validation
    (tmp_path / "data.csv").write_text(",".join(lines) + "\n" + "\n".join(rows) + "\n")
    (tmp_path / "space.toml").write_text(
        f'[fixed]\ndataset = "{tmp_path / "data.csv"}"\nepochs = 2\nlayers = [4]\n'
        '[search]\nlearning_rate = {choice = [0.01, 0.05]}\n[tune]\nstrategy = "grid"\n')
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnseenCategoryWarning)  # a warning would fail a trial
        result = ff.tune.search(tmp_path / "space.toml", out=tmp_path / "out", plots=False)
    assert [r["status"] for r in result.records] == ["ok", "ok"]
    err = capsys.readouterr().err
    assert "UnseenCategoryWarning" not in err
    assert err.count("not seen in training") == 1 and "validation split: 1 row had" in err, err


def test_a_bad_cell_at_predict_names_the_file_not_the_encoder(folder, capsys):
    model_file = train(folder)
    (folder / "huge.csv").write_text("colour,size,a,zip\nr,S,1e400,2139\n")
    capsys.readouterr()
    assert main(["predict", str(model_file), str(folder / "huge.csv")]) == 2
    err = capsys.readouterr().err
    assert f"INPUT.csv {folder / 'huge.csv'}: '1e400' in row 1, column 'a'" in err, err


@pytest.mark.parametrize("cell", ["1_0", "\u0661\u0662"])
def test_a_number_no_csv_writes_is_refused_naming_the_cell(tmp_path, cell, capsys):
    # Python's float reads 1_0 as ten and Arabic-Indic digits as 12: a typo would train as
    # another number; the same rule refuses them in the playground's uploads
    rows = ["a,b,label"] + [f"{i / 10},{i % 3},{i % 2}" for i in range(20)]
    rows[4] = f"{cell},1,0"
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    args = ["train", "--data", str(tmp_path / "data.csv"), "--target", "label", "--epochs", "1",
            "--quiet", "--out"]
    assert main([*args, str(tmp_path / "bad")]) == 2
    assert "column 'a' holds numbers" in capsys.readouterr().err
    rows[4] = "0.3,1,0"
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert main([*args, str(tmp_path / "good")]) in (0, None)


@pytest.mark.parametrize("labels, refused", [
    (["0", "1", "2", "unknown"], False),          # class codes beside a text class: classes
    (["cat", "dog", "1.5"], False),               # mostly text: classes
    ([f"{1.5 * i}" for i in range(30)] + ["12.5kg"], True),   # a price with a typo
    ([str(i) for i in range(30)] + ["n.a."], True),          # a count of 30 values, 1 typo
])
def test_a_quantity_with_a_text_cell_is_refused_not_trained_as_classes(tmp_path, labels,
                                                                       refused):
    rows = [labels[i % len(labels)] for i in range(40)]
    (tmp_path / "t.csv").write_text("a,y\n" + "".join(f"{i},{v}\n" for i, v in enumerate(rows)))
    cfg = config.resolve({"dataset": str(tmp_path / "t.csv")})
    if refused:
        with pytest.raises(ff.FeedforwardError, match=rf"typo.*{len(set(labels))} classes"):
            experiment.load(cfg)
    else:
        data, _ = experiment.load(cfg)
        assert data.task == "classification" and len(data.classes) == len(set(labels))


@pytest.mark.parametrize("cell", ["1_0", "\u0661\u0660", "\uff11\uff10"])
def test_the_encoder_reads_numbers_and_categories_by_the_csv_rule(cell):
    # int() and float() read these as ten: the encoder's numbers and categories must not
    rows = np.array([["0.5", "10", "x"], ["1.5", cell, "y"], ["2.5", "2", "x"]], dtype=object)
    encoder = TableEncoder(columns=["a", "zone", "c"], categorical=["zone"]).fit(rows)
    assert encoder.transform(rows).shape[1] == 1 + 3 + 2  # 10, the cell and 2 stay apart
    bad = rows.copy()
    bad[0, 0] = cell
    with pytest.raises(FeedforwardError, match=rf"{cell}.* column 'a'"):
        encoder.transform(bad)


def test_a_headerless_file_to_predict_with_a_rare_last_category_is_ambiguous(tmp_path,
                                                                             capsys):
    rng = np.random.default_rng(0)
    rows = ["a,b,colour,y"] + [f"{a:.3f},{b:.3f},{c},{a - b:.3f}" for a, b, c in zip(
        rng.normal(size=60), rng.normal(size=60), rng.choice(["red", "blue"], 60),
        strict=True)]
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
    model = train(tmp_path)
    (tmp_path / "rows.csv").write_text("0.5,0.2,blue\n0.1,0.3,red\n0.2,0.2,red\n")
    for flags in ([], ["--by-position"]):  # a row was taken for a header and dropped
        assert main(["predict", str(model), str(tmp_path / "rows.csv"), *flags]) == 2
        assert "cannot tell whether the first row" in capsys.readouterr().err
    assert main(["predict", str(model), str(tmp_path / "rows.csv"), "--no-header"]) in (0, None)
    assert len(capsys.readouterr().out.strip().splitlines()) == 1 + 3  # a header, three rows


def test_formatted_numbers_as_a_target_are_refused_unless_classes_are_asked_for(tmp_path):
    rows = "a,y\n" + "".join(f"{i},\"${1000 + 7 * i:,}.50\"\n" for i in range(40))
    (tmp_path / "t.csv").write_text(rows)  # "$1,000.50" ...: one text value per row
    with pytest.raises(FeedforwardError, match="40 distinct text values for 40 rows.*plain "
                                               "numbers"):
        experiment.load(config.resolve({"dataset": str(tmp_path / "t.csv")}))
    data, _ = experiment.load(config.resolve({"dataset": str(tmp_path / "t.csv"),
                                              "task": "classification"}))
    assert len(data.classes) == 40


def test_a_file_named_parquet_that_is_not_one_is_a_one_line_error(tmp_path, capsys):
    pytest.importorskip("pyarrow.parquet", reason="the parquet extra is not installed")
    (tmp_path / "data.parquet").write_text("a,b\n1,2\n")
    assert main(["train", "--dataset", str(tmp_path / "data.parquet"), "--out",
                 str(tmp_path / "run"), "--quiet"]) == 2  # was an internal error, exit 1
    assert "not a readable Parquet file" in capsys.readouterr().err


def test_a_file_without_a_header_is_refused_where_its_layout_is_unknown(tmp_path, capsys):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=60), rng.normal(size=60)
    rows = [f"{10 * p - 5 * q:.4f},{p:.4f},{q:.4f}" for p, q in zip(a, b, strict=True)]
    (tmp_path / "data.csv").write_text("y,a,b\n" + "\n".join(rows) + "\n")  # the target first
    model = str(train(tmp_path, "--target", "y"))
    (tmp_path / "bare.csv").write_text("\n".join(rows) + "\n")
    # by position, b would have been the target: R2 of -10,000 with exit 0
    assert main(["evaluate", model, "--data", str(tmp_path / "bare.csv")]) == 2
    error = capsys.readouterr().err
    assert "no header" in error and "--target y" in error and "(a, b, y)" in error
    assert main(["evaluate", model, "--data", str(tmp_path / "data.csv")]) == 0  # by name
    capsys.readouterr()
    # features chosen in another order: a file to predict on without a header is refused too
    model = str(train(tmp_path, "--target", "y", "--features", "b,a"))
    (tmp_path / "x.csv").write_text("\n".join(r.split(",", 1)[1] for r in rows) + "\n")
    assert main(["predict", model, str(tmp_path / "x.csv")]) == 2
    assert "--features (b, a)" in capsys.readouterr().err
    assert main(["predict", model, str(tmp_path / "x.csv"), "--by-position"]) == 0  # as said


def test_codes_with_leading_zeros_stay_text_labels(tmp_path):
    rows = "a,code\n" + "".join(f"{i},{['007', '010', '7'][i % 3]}\n" for i in range(30))
    (tmp_path / "t.csv").write_text(rows)  # as numbers, 007 and 7 were one class, shown as 7
    data, _ = experiment.load(config.resolve({"dataset": str(tmp_path / "t.csv")}))
    assert sorted(data.classes) == ["007", "010", "7"]


def test_a_boolean_target_in_any_case_is_two_classes(tmp_path):
    rows = "a,ok\n" + "".join(f"{i},{['true', 'True', 'FALSE', 'false'][i % 4]}\n"
                              for i in range(40))
    (tmp_path / "t.csv").write_text(rows)
    data, _ = experiment.load(config.resolve({"dataset": str(tmp_path / "t.csv")}))
    assert data.classes == ["False", "True"]


def test_numbers_with_a_decimal_comma_are_refused_not_made_categories(tmp_path):
    rows = "a;b;y\n" + "".join(f"{['0,5', '1,5', '2,5'][i % 3]};{i};{'xz'[i % 2]}\n"
                               for i in range(30))
    (tmp_path / "t.csv").write_text(rows)  # three values: they were one-hot categories
    with pytest.raises(FeedforwardError, match="'a' holds numbers written with a decimal comma"):
        experiment.load(config.resolve({"dataset": str(tmp_path / "t.csv")}))
    data, _ = experiment.load(config.resolve({"dataset": str(tmp_path / "t.csv"),
                                              "categorical": ["a"]}))  # categories, as said
    assert data.x.shape[1] == 2


def test_classification_asked_for_takes_a_few_fractional_values_as_classes(tmp_path):
    rows = "a,t\n" + "".join(f"{i},{[0.5, 1.5][i % 2]}\n" for i in range(30))
    (tmp_path / "t.csv").write_text(rows)
    path = str(tmp_path / "t.csv")
    data, _ = experiment.load(config.resolve({"dataset": path, "task": "classification"}))
    assert data.classes == [0.5, 1.5]
    data, _ = experiment.load(config.resolve({"dataset": path}))  # by itself: a quantity
    assert data.task == "regression"


def test_evaluate_takes_a_file_of_one_class(folder, capsys):
    model = train(folder)
    lines = (folder / "data.csv").read_text().splitlines()
    yes = [line for line in lines[1:] if line.endswith(",yes")]
    (folder / "yes.csv").write_text("\n".join([lines[0], *yes]) + "\n")
    assert main(["evaluate", str(model), "--data", str(folder / "yes.csv")]) == 0
    assert f"{len(yes)} samples" in capsys.readouterr().out
