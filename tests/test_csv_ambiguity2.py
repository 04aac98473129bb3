"""Files whose first row could be names or data, the names ``predict -o`` accepts, and the
learning rate of a cross-validated tune's refit."""

from __future__ import annotations

import pytest

from feedforward.cli import main


@pytest.fixture(scope="module")
def numeric_run(tmp_path_factory):
    """A classifier trained with ``--header`` on a file whose feature names are 1, 2, 3."""
    folder = tmp_path_factory.mktemp("numeric")
    rows = "".join(f"{i % 3 + 1},{(i * 2) % 3 + 1},{(i // 3) % 3 + 1},{i % 2}\n"
                   for i in range(40))
    (folder / "train.csv").write_text("1,2,3,y\n" + rows)
    assert main(["train", "-d", str(folder / "train.csv"), "--header", "--target", "y",
                 "--epochs", "2", "--quiet", "--no-plots", "--out", str(folder / "run")]) == 0
    return folder


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson", ".xlsx", ".feather", ".pkl", ".npy",
                                    ".tar", ".gz"])
def test_predict_output_refuses_a_name_of_a_format_it_does_not_write(numeric_run, suffix,
                                                                      capsys):
    out = numeric_run / f"p{suffix}"
    (numeric_run / "rows.csv").write_text("1,2,3\n1,1,2\n")
    assert main(["predict", str(numeric_run / "run" / "model.safetensors"),
                 str(numeric_run / "rows.csv"), "-o", str(out)]) == 2
    error = capsys.readouterr().err
    assert "--output" in error and suffix in error and ".csv" in error and ".json" in error
    assert not out.exists()


@pytest.mark.parametrize("name", ["p.txt", "p.CSV", "p"])
def test_predict_output_writes_csv_for_text_names(numeric_run, name):
    out = numeric_run / name
    (numeric_run / "rows.csv").write_text("1,2,3\n1,1,2\n")
    assert main(["predict", str(numeric_run / "run" / "model.safetensors"),
                 str(numeric_run / "rows.csv"), "-o", str(out), "--quiet"]) == 0
    assert out.read_text().splitlines()[0].split(",")[0] == "prediction"
