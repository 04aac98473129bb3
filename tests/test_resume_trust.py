"""A resumed run is the run that was never interrupted, or it is refused: its history, its
training time and its doctor's report cover every epoch; --overwrite removes only the files
a run writes.
"""

from __future__ import annotations

import pytest

from test_trust_runs import history_epochs, interrupted_run, one_line_error, resume


# ---------------------------------------------------------------------------- history.csv
@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_resume_refuses_a_history_that_lacks_epochs_of_the_checkpoint(tmp_path, monkeypatch,
                                                                       capsys, damage):
    run = tmp_path / "run"
    interrupted_run(monkeypatch, run, 2, "--epochs", "5", "--no-plots")
    history = run / "history.csv"
    kept = history.read_text()
    if damage == "missing":
        history.unlink()
    else:  # the header and epoch 0: epochs 1 and 2 gone
        history.write_text("".join(kept.splitlines(keepends=True)[:2]))
    capsys.readouterr()
    assert resume(run) == 2
    one_line_error(capsys, "train", "history.csv", "3 epochs")
    # refused before anything was written: with the file back, the run goes on
    history.write_text(kept)
    assert resume(run) == 0
    assert history_epochs(run) == [0, 1, 2, 3, 4]
