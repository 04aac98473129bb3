"""load_csv (clean, categorical, missing, non-numeric, empty, ragged) and load_dataset."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from feedforward.data import Dataset, load_csv, load_dataset
from feedforward.errors import FeedforwardError


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_clean_file_with_a_numeric_target(tmp_path):
    path = write(tmp_path, "a,b,label\n1,2.5,0\n-3,4e-1,1\n5, 6 ,1\n")
    data = load_csv(path, target="label")
    assert isinstance(data, Dataset)
    assert data.x.dtype == np.float64 and data.x.tolist() == [[1, 2.5], [-3, 0.4], [5, 6]]
    assert data.y.dtype == np.int64 and data.y.tolist() == [0, 1, 1]
    assert data.feature_names == ["a", "b"] and data.target_name == "label"
    assert data.classes is None
    x, y = data  # unpacks like a pair
    assert x is data.x and y is data.y


def test_the_target_defaults_to_the_last_column_and_may_be_an_index(tmp_path):
    path = write(tmp_path, "t,a,b\n0.5,1,2\n1.5,3,4\n")
    last = load_csv(path)
    assert last.target_name == "b" and last.y.tolist() == [2, 4]
    first = load_csv(path, target=0)
    assert first.y.dtype == np.float64 and first.y.tolist() == [0.5, 1.5]
    assert first.feature_names == ["a", "b"] and first.x.tolist() == [[1, 2], [3, 4]]
    assert load_csv(path, target=-3).target_name == "t"


def test_a_categorical_target_is_encoded_with_its_mapping_kept(tmp_path):
    path = write(tmp_path, "\ufefflength,species,width\n"  # a byte-order mark is tolerated
                 "5.1,setosa,3.5\n7.0,versicolor,3.2\n6.3,virginica,3.3\n4.9,setosa,3.0\n")
    data = load_csv(path, target="species")
    assert data.feature_names == ["length", "width"]
    assert data.classes == ["setosa", "versicolor", "virginica"]
    assert data.y.dtype == np.int64 and data.y.tolist() == [0, 1, 2, 0]
    assert [data.classes[c] for c in data.y] == ["setosa", "versicolor", "virginica", "setosa"]
    assert data.x.tolist() == [[5.1, 3.5], [7.0, 3.2], [6.3, 3.3], [4.9, 3.0]]


@pytest.mark.parametrize("cell", ["", "NA", "nan", "?", "null"])
def test_a_missing_value_names_its_row_and_column(tmp_path, cell):
    path = write(tmp_path, f"a,b,y\n1,2,0\n3,{cell},1\n")
    with pytest.raises(FeedforwardError, match=r"missing value in row 2 \(line 3\), column 'b'"):
        load_csv(path)


def test_a_non_numeric_cell_names_its_row_column_and_value(tmp_path):
    path = write(tmp_path, "a,b,y\n1,2,0\n\n3,4,1\nfive,6,0\n")  # a blank line is skipped
    with pytest.raises(FeedforwardError,
                       match=r"non-numeric value 'five' in row 3 \(line 5\), column 'a'"):
        load_csv(path)


def test_infinite_values_and_missing_targets_are_refused(tmp_path):
    with pytest.raises(FeedforwardError, match="non-finite value 'inf'.*column 'a'"):
        load_csv(write(tmp_path, "a,y\ninf,0\n"))
    with pytest.raises(FeedforwardError, match=r"missing target '' in row 1 \(line 2\)"):
        load_csv(write(tmp_path, "a,y\n1,\n2,1\n"))


@pytest.mark.parametrize(("text", "word"), [
    ("", "empty"), ("\n\n", "empty"), ("a,b,y\n", "no data rows"),
    ("a,b,y\n1,2,3\n4,5\n", r"row 2 \(line 3\) has 2 cells, the header has 3"),
    ("y\n1\n", "two columns"),
])
def test_empty_and_malformed_files_are_clear_errors(tmp_path, text, word):
    with pytest.raises(FeedforwardError, match=word):
        load_csv(write(tmp_path, text))


def test_an_unknown_target_lists_the_columns(tmp_path):
    path = write(tmp_path, "a,b,y\n1,2,3\n")
    with pytest.raises(FeedforwardError, match="'label'.*a, b, y"):
        load_csv(path, target="label")
    with pytest.raises(FeedforwardError, match="out of range"):
        load_csv(path, target=3)


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FeedforwardError, match="cannot read"):
        load_csv(tmp_path / "nope.csv")


def test_other_delimiters(tmp_path):
    data = load_csv(write(tmp_path, "a;b;c\n1;2;x\n3;4;y\n"), delimiter=";")
    assert data.x.tolist() == [[1, 2], [3, 4]] and data.classes == ["x", "y"]


@pytest.mark.parametrize(("name", "shape", "classes"), [
    ("iris", (150, 4), 3), ("digits", (1797, 64), 10), ("wine", (178, 13), 3),
    ("breast_cancer", (569, 30), 2), ("diabetes", (442, 10), None),
])
def test_scikit_learn_datasets_by_name(name, shape, classes):
    pytest.importorskip("sklearn")
    data = load_dataset(name)
    assert data.x.shape == shape and data.x.dtype == np.float64 and data.y.shape == shape[:1]
    assert len(data.feature_names) == shape[1]
    if classes is None:
        assert data.classes is None and data.y.dtype == np.float64
    else:
        assert data.y.dtype == np.int64 and len(data.classes) == classes
        assert set(np.unique(data.y)) == set(range(classes))


def test_iris_class_names():
    pytest.importorskip("sklearn")
    assert load_dataset("Iris").classes == ["setosa", "versicolor", "virginica"]


def test_without_scikit_learn_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # import now fails
    with pytest.raises(FeedforwardError, match=r"feedforward\[sklearn\]"):
        load_dataset("iris")


def test_an_unknown_dataset_lists_the_known_ones():
    with pytest.raises(FeedforwardError, match="'mnist'.*digits, iris, wine"):
        load_dataset("mnist")
