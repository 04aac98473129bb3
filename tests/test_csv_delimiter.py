"""The delimiter of a CSV file (issue 20): sniffed among , ; tab |, given with --delimiter, and
a short hint when a file is read as one column that looks separated by something else."""

from __future__ import annotations

import numpy as np
import pytest

from _helpers import ff_cli
from feedforward import config
from feedforward.data import sources, tabular
from feedforward.errors import FeedforwardError

LONG = [f"a_rather_long_feature_column_name_{i}" for i in range(40)]


def write_table(path, delimiter, names=("x1", "x2", "label"), rows=40, seed=0):
    """A learnable table: features, then a label a/b that the first feature decides."""
    rng = np.random.default_rng(seed)
    lines = [delimiter.join(names)]
    for _ in range(rows):
        x = rng.normal(size=len(names) - 1)
        lines.append(delimiter.join([*(f"{v:.3f}" for v in x), "ab"[int(x[0] > 0)]]))
    path.write_text("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------------------- sniffing
@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_each_delimiter_is_sniffed(delimiter):
    lines = [delimiter.join(["a", "b", "c"]), delimiter.join(["1", "2", "3"])]
    assert tabular.sniff_delimiter(lines) == delimiter


@pytest.mark.parametrize("lines, expected", [
    (['a;b;c\n', '"1,5";2;3\n', '"2,5";"x|y";4\n'], ";"),  # decimal commas in quotes
    (['a,b,c\n', '"1;5",2,3\n', '4,"p;q;r",6\n'], ","),
    (['a|b\n', '"x,y,z"|1\n'], "|"),
    (['a\tb\n', '"1;2;3"\t4\n', '"5,6"\t7\n'], "\t"),
    (['a;b,c\n', '1;2,3\n'], ","),  # both give 2 cells on every row: the comma comes first
    (['a;b;c,d\n', '1;2;3,4\n'], ";"),  # the most columns
])
def test_quoted_cells_are_respected(lines, expected):
    assert tabular.sniff_delimiter(lines) == expected


@pytest.mark.parametrize("lines", [
    ["value\n", "1\n", "2\n"],  # one column
    ["a;b;c\n", "1;2\n", "3;4;5\n"],  # ragged: no candidate is consistent
    [],
])
def test_no_consistent_delimiter_falls_back_to_the_comma(lines):
    assert tabular.sniff_delimiter(lines) == ","


def test_a_one_column_file_stays_one_column(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("value\n1\n2\n3\n")
    table = tabular.read_table(path)
    assert table.names == ["value"] and table.delimiter == ","
    assert table.hint == ""


def test_read_table_and_load_csv_sniff(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text('x1;x2;label\n"1,5";2;a\n3;"4,25";b\n')
    table = tabular.read_table(path)
    assert table.delimiter == ";" and table.names == ["x1", "x2", "label"]
    assert table.rows[0] == ["1,5", "2", "a"]
    ds = tabular.load_csv(write_table(tmp_path / "pipes.csv", "|"))
    assert ds.x.shape == (40, 2) and ds.classes == ["a", "b"]


def test_tsv_keeps_the_tab(tmp_path):
    path = tmp_path / "data.tsv"
    path.write_text("a,b\tc\n1,2\t3\n")  # a comma would split every row into 2 cells as well
    assert tabular.read_table(path).names == ["a,b", "c"]


def test_sniffing_looks_at_the_first_rows_only(tmp_path):
    path = tmp_path / "late.csv"
    lines = ["a;b;c"] + ["1;2;3"] * 30 + ["4;5;6;7"]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(FeedforwardError, match=r"row 31 \(line 32\) has 4 cells"):
        tabular.read_table(path)


@pytest.mark.parametrize("given, char", [(",", ","), (";", ";"), ("tab", "\t"), ("TAB", "\t"),
                                         ("\\t", "\t"), ("|", "|"), (":", ":"), ("\t", "\t")])
def test_a_delimiter_is_given_by_its_character_or_tab(given, char):
    assert tabular.parse_delimiter(given) == char


@pytest.mark.parametrize("bad", ["ab", "", '"', "\n", 5])
def test_a_bad_delimiter_is_refused(bad):
    with pytest.raises(FeedforwardError, match="^delimiter: expected one of , ; tab |"):
        tabular.parse_delimiter(bad)


def test_the_option_is_checked_and_left_out_of_records_while_unset():
    assert config.BY_KEY["delimiter"].default is None
    assert "delimiter" in config.ADDED_AFTER_0_1
    assert config.resolve({"dataset": "x.csv", "delimiter": "tab"})["delimiter"] == "\t"
    with pytest.raises(FeedforwardError, match="^--delimiter: expected one of"):
        config.resolve({"dataset": "x.csv", "delimiter": "ab"})
    with pytest.raises(FeedforwardError, match="^--delimiter: applies to CSV files"):
        config.resolve({"dataset": "iris", "delimiter": ";"})
    assert "delimiter" not in config.portable(config.resolve({}))


# ---------------------------------------------------------------------------- the hint
def test_a_one_column_misread_says_which_delimiter_briefly(tmp_path):
    path = write_table(tmp_path / "ragged.csv", ";", names=[*LONG, "label"])
    text = path.read_text().splitlines()
    text[3] += ";extra"  # ragged: no delimiter is consistent, so the comma is used
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(FeedforwardError) as error:
        sources.load(str(path))
    message = str(error.value)
    assert "expected at least two columns" in message
    assert message.endswith("it looks ';'-separated (its first row holds 40 of them): pass "
                            "--delimiter ';'")
    assert len(message) < 400 and "\n" not in message
    with pytest.raises(FeedforwardError, match=r"row 3 \(line 4\) has 42 cells"):
        sources.load(str(path), delimiter=";")  # the hint followed: the bad row named


def test_the_hint_names_tab_and_the_wrong_given_delimiter(tmp_path):
    path = write_table(tmp_path / "tabs.csv", "\t")
    with pytest.raises(FeedforwardError, match="it looks tab-separated .*pass --delimiter tab$"):
        sources.load(str(path), delimiter="|")


# ---------------------------------------------------------------------------- the command line
@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("delimiters")
    write_table(folder / "semi.csv", ";", rows=60)
    write_table(folder / "tabbed.txt", "\t", rows=60)
    return folder


def train(folder, *args):
    return ff_cli("train", *args, "--epochs", "2", "--quiet", "--no-plots", cwd=folder)


def test_train_on_a_semicolon_file_end_to_end(folder):
    result = train(folder, "--dataset", "semi.csv", "--out", "semi")
    assert result.returncode == 0, result.stderr
    assert "# delimiter = ...  (not set)" in (folder / "semi" / "config.toml").read_text()
    result = ff_cli("predict", "semi/model.safetensors", "semi.csv", "-o", "out.csv",
                    cwd=folder)
    assert result.returncode == 0, result.stderr
    assert len((folder / "out.csv").read_text().splitlines()) == 61
    result = ff_cli("evaluate", "semi/model.safetensors", "--data", "semi.csv", "--json",
                    cwd=folder)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("given, file", [(";", "semi.csv"), ("tab", "tabbed.txt")])
def test_the_delimiter_flag_overrides(folder, given, file):
    out = f"given_{file}"
    result = train(folder, "--dataset", file, "--delimiter", given, "--out", out)
    assert result.returncode == 0, result.stderr
    toml = (folder / out / "config.toml").read_text()
    assert 'delimiter = "\\t"' in toml if given == "tab" else 'delimiter = ";"' in toml
    result = ff_cli("evaluate", f"{out}/model.safetensors", "--data", file, "--split", "test",
                    cwd=folder)  # the run's split, rebuilt with the recorded delimiter
    assert result.returncode == 0, result.stderr


def test_a_wrong_given_delimiter_fails_with_a_short_hint(folder):
    result = train(folder, "--dataset", "semi.csv", "--delimiter", "|", "--out", "wrong")
    assert result.returncode == 2
    line = result.stderr
    assert line.count("\n") == 1 and len(line) < 300, line
    assert line.endswith("pass --delimiter ';'\n")


def test_a_bad_delimiter_flag_is_one_line_naming_it(folder):
    result = train(folder, "--dataset", "semi.csv", "--delimiter", "ab")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == ("feedforward train: error: --delimiter: expected one of , ; tab | "
                             "or another single character (not a quote or a line break), got "
                             "'ab'\n")
