"""Issue 17, items 7, 12, 13 and part of 20: no advice from a failed test, and limits that are
checked before memory is spent (MNIST headers, tune sizes, tune resume files, schedulers)."""

from __future__ import annotations

import io
import json
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import tracemalloc
import zlib

import numpy as np
import pytest

import feedforward as ff
from _helpers import ff_cli as _cli
from feedforward.diagnostics import check


# ---------------------------------------------------------------------------- item 7: check
def _binary_factory(seed=0):
    def make():
        model = ff.Sequential([ff.Dense(16, "relu"), ff.Dense(1, "sigmoid")], seed=seed)
        model.compile("adam", "binary_crossentropy")
        return model
    return make


def test_a_flat_range_test_recommends_no_rate():
    """Zero inputs and balanced labels: p = 0.5 is already the optimum, so no rate can lower
    the loss; the old test recommended a tenth of its first rate (1e-07)."""
    x, y = np.zeros((64, 3)), np.tile([0, 1], 32)
    report = check(_binary_factory(), x, y, max_steps=1, lr_steps=50)
    step = report["learning_rate_range"]
    assert report.recommended_learning_rate is None
    assert step.passed is False and step.evidence["recommended_learning_rate"] is None
    assert "no learning rate is recommended" in step.summary
    assert report.to_dict()["recommended_learning_rate"] is None
    json.dumps(report.to_dict())  # JSON-safe


def test_a_noisy_range_test_on_random_labels_recommends_no_rate():
    """Random labels seen one at a time: the smoothed loss wanders around its start; a dip
    that noise explains is not a rate that worked."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(400, 5)), rng.integers(0, 2, 400)
    report = check(_binary_factory(), x, y, batch_size=1, max_steps=1, lr_steps=200)
    assert report.recommended_learning_rate is None
    assert report["learning_rate_range"].passed is False


# L2 pinned below the default: the range test watches the loss with its penalty, and at 1e-3
# the penalty's fall alone, as the weights shrink, passes for progress on spiral
SPIRAL = ("--dataset", "spiral", "--l2", "3e-4")


def test_cli_check_on_spiral_says_no_rate_worked(tmp_path):
    result = _cli("check", *SPIRAL, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[FAIL] learning_rate_range" in result.stdout
    assert "recommended learning rate: none" in result.stdout
    assert "--learning-rate" not in result.stdout  # no rate to copy
    result = _cli("check", *SPIRAL, "--json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["recommended_learning_rate"] is None and report["passed"] is False
    step = report["steps"][-1]
    assert step["name"] == "learning_rate_range" and step["passed"] is False
    assert step["evidence"]["lowest_loss"] > 0.9 * step["evidence"]["start_loss"]


def test_cli_check_still_recommends_a_rate_where_one_works(tmp_path):
    result = _cli("check", "--dataset", "circle", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    rate = report["recommended_learning_rate"]
    assert report["passed"] and 1e-4 < rate < 1
    evidence = report["steps"][-1]["evidence"]
    assert evidence["recommended_learning_rate"] == rate
    assert evidence["lowest_loss"] < 0.5 * evidence["start_loss"]
    # and the longer range test finds a rate for spiral too
    result = _cli("check", "--dataset", "spiral", "--lr-steps", "2000", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "recommended learning rate: none" not in result.stdout
    assert "(--learning-rate " in result.stdout


# ---------------------------------------------------------------------------- item 12: MNIST
BOMB = 2**29  # 512 MiB of zeros: 2.3 MB of gzip, compressed in a fraction of a second


def _gzip_file(path, head: bytes, zeros: int):
    """A gzip file of ``head`` then ``zeros`` zero bytes, compressed chunk by chunk: never
    holding the decompressed data."""
    packer, chunk = zlib.compressobj(1, zlib.DEFLATED, 31), bytes(2**22)
    with open(path, "wb") as f:
        f.write(packer.compress(head))
        for start in range(0, zeros, len(chunk)):
            f.write(packer.compress(chunk[:zeros - start]))
        f.write(packer.flush())
    return path


def _idx_head(shape, code=0x08):
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


@pytest.fixture(scope="module")
def bombs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bombs")
    return {"zeros": _gzip_file(folder / "zeros.gz", b"", BOMB),
            "trailing": _gzip_file(folder / "trailing.gz", _idx_head((10, 28, 28)), BOMB)}


def _peak_bytes(call):
    """The peak of memory that Python and NumPy allocate during ``call()`` (and its error)."""
    tracemalloc.start()
    try:
        with pytest.raises(ff.FeedforwardError) as caught:
            call()
        return tracemalloc.get_traced_memory()[1], str(caught.value)
    finally:
        tracemalloc.stop()


def test_a_gzip_bomb_in_an_mnist_folder_is_refused_after_its_header(tmp_path, bombs):
    shutil.copy(bombs["zeros"], tmp_path / "t10k-images-idx3-ubyte.gz")
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx_head((10,)) + bytes(10))
    peak, message = _peak_bytes(lambda: ff.data.load_mnist(tmp_path, kind="test"))
    assert "wrong magic number 0x00000000" in message
    assert peak < 16 * 2**20  # the file decompresses to 512 MiB


def test_a_gzip_bomb_after_a_valid_header_is_read_no_further_than_declared(bombs):
    peak, message = _peak_bytes(lambda: ff.data.read_idx(bombs["trailing"]))
    assert "longer than declared" in message and "(10, 28, 28)" in message
    assert peak < 16 * 2**20


@pytest.mark.parametrize("shape, match", [
    ((2**32 - 1, 28, 28), "over the limit"),  # 2.5 TiB declared
    ((100_000, 28, 28), "more than .* gzip bytes can hold"),  # 78 MB in a few hundred bytes
    ((10, 28, 28), r"truncated.*7840 bytes of data.*holds 100\b"),  # short data
])
def test_a_gzip_header_that_declares_what_the_file_cannot_hold_is_refused(tmp_path, shape,
                                                                          match):
    path = _gzip_file(tmp_path / "x.gz", _idx_head(shape), 100)
    peak, message = _peak_bytes(lambda: ff.data.read_idx(path))
    assert re.search(match, message), message
    assert peak < 16 * 2**20


# ---------------------------------------------------------------------------- item 13: tune
def _space(search, **tune):
    return {"fixed": {"dataset": "xor", "epochs": 2}, "search": search,
            "tune": {"strategy": "random", "trials": 3, **tune}}


def test_a_grid_axis_over_the_limit_is_refused_before_its_values_exist():
    from feedforward.tune import load_space, make_trials

    s = _space({"learning_rate": {"log_uniform": [1e-4, 1e-1], "points": 3_000_000}},
               strategy="grid")
    tracemalloc.start()
    try:
        with pytest.raises(ff.FeedforwardError) as caught:
            make_trials(load_space(s))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(caught.value)
    assert message.startswith("search.learning_rate (in the space): points")
    assert "10000" in message and "3000000" in message
    assert peak < 8 * 2**20  # 3 million grid values would take 24 MB, and their list 100 MB


def test_too_many_random_trials_are_refused_before_any_is_made():
    from feedforward.tune import load_space

    with pytest.raises(ff.FeedforwardError, match=r"^tune.trials \(in the space\): expected "
                                                  r"an integer >= 1 and at most 10000.*100000000"):
        load_space(_space({"dropout": {"uniform": [0, 0.5]}}, trials=10**8))
    with pytest.raises(ff.FeedforwardError, match=r"^trials: .*at most 10000"):
        load_space(_space({"dropout": {"uniform": [0, 0.5]}}), trials=10**8)


def test_a_grid_whose_size_overflows_int64_is_refused():
    """2^52 values on four numeric axes times 2^12 choices is 2^64, which NumPy's product
    wrapped to 0: the old check passed and the trials were built without end."""
    code = """if True:
        import feedforward as ff
        from feedforward.tune import load_space, make_trials
        axes = {k: {"uniform": [0.0, 0.5], "points": 8192}
                for k in ("dropout", "l1", "l2", "weight_decay")}
        axes["batch_size"] = {"choice": list(range(1, 4097))}
        space = {"fixed": {"dataset": "xor"}, "search": axes, "tune": {"strategy": "grid"}}
        try:
            make_trials(load_space(space))
        except ff.FeedforwardError as e:
            print(e)
    """
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert "the grid has 18446744073709551616 points" in result.stdout, result.stderr
    assert "dropout 8192 x l1 8192 x l2 8192 x weight_decay 8192 x batch_size 4096" in result.stdout


def test_trials_are_made_lazily():
    from feedforward.tune import load_space
    from feedforward.tune.space import Space
    from feedforward.tune.strategies import iter_trials

    made = []
    original = Space.config

    class Counting(Space):
        def config(self, params):
            made.append(params)
            return original(self, params)

    s = load_space(_space({"dropout": {"uniform": [0, 0.5]}}, trials=10_000))
    first = next(iter_trials(Counting(s.fixed, s.ranges, s.settings, s.file, s.labels)))
    assert first.index == 0 and len(made) == 1


def test_cli_tune_limits_are_one_line_naming_the_flag_or_key(tmp_path):
    (tmp_path / "space.toml").write_text(
        '[fixed]\ndataset = "xor"\n[search]\ndropout = {uniform = [0, 0.5]}\n'
        'l2 = {uniform = [0, 0.1], points = 300000000}\n')
    for flags, start in ((["--trials", "100000000"], "feedforward tune: error: --trials: "),
                         (["--strategy", "grid", "--grid-points", "3000000"],
                          "feedforward tune: error: --grid-points: "),
                         (["--strategy", "grid"], "feedforward tune: error: search.l2 (in ")):
        result = _cli("tune", "space.toml", "--dry-run", *flags, cwd=tmp_path, timeout=60)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(start) and "10000" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------------------- item 20: tune
TUNE_SPACE = ('[fixed]\ndataset = "xor"\nsamples = 60\nepochs = 2\n'
              '[search]\nl2 = {uniform = [0, 0.01]}\n[tune]\ntrials = 2\n')


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    """A finished two-trial search: its folder and the lines of its results.jsonl."""
    folder = tmp_path_factory.mktemp("tuned")
    (folder / "space.toml").write_text(TUNE_SPACE)
    ff.tune.search(folder / "space.toml", out=folder / "out", plots=False)
    return folder, (folder / "out" / "results.jsonl").read_text().splitlines()


def _resume_with(tuned, tmp_path, first_line: dict | str):
    folder, lines = tuned
    shutil.copy(folder / "space.toml", tmp_path / "space.toml")
    (tmp_path / "out").mkdir()
    line = first_line if isinstance(first_line, str) else json.dumps(first_line)
    (tmp_path / "out" / "results.jsonl").write_text("\n".join([lines[0], line]) + "\n")
    return tmp_path / "space.toml", tmp_path / "out"


@pytest.mark.parametrize("change, field", [
    ({"index": "one"}, "index"), ({"metrics": {"val_accuracy": "high"}}, "metrics"),
    ({"params": ["l2", 0.5]}, "params"), ({"status": "great"}, "status"),
    ({"params": {"l2": 0.5}}, "id"),  # a params edit: the id no longer matches
    ({"seconds": None}, "seconds"), ("[1, 2]", "JSON object"), ("{not json", "JSON record"),
])
def test_a_wrong_results_line_is_refused_naming_its_number(tuned, tmp_path, change, field):
    second = json.loads(tuned[1][1])
    line = change if isinstance(change, str) else {**second, **change}
    space, out = _resume_with(tuned, tmp_path, line)
    with pytest.raises(ff.FeedforwardError) as caught:
        ff.tune.search(space, out=out, plots=False)
    message = str(caught.value)
    assert message.startswith(f"--out: {out / 'results.jsonl'} (line 2): ")
    assert field in message and "fix or delete the line" in message


def test_cli_tune_resume_with_a_wrong_typed_line_is_one_line_exit_2(tuned, tmp_path):
    second = json.loads(tuned[1][1])
    space, out = _resume_with(tuned, tmp_path, {**second, "index": "one"})
    result = _cli("tune", space, "--out", out, "--no-plots", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "(line 2): index: expected an integer, got str \"one\"" in result.stderr


def test_a_cut_last_line_is_dropped_with_a_note(tuned, tmp_path, capsys):
    space, out = _resume_with(tuned, tmp_path, tuned[1][1][:30])
    (out / "results.jsonl").write_bytes((out / "results.jsonl").read_bytes()[:-1])  # no "\n"
    from rich.console import Console

    console = Console(file=io.StringIO(), width=400)
    result = ff.tune.search(space, out=out, plots=False, console=console)
    assert result.ran == [json.loads(tuned[1][1])["id"]]
    assert "dropped an unfinished last line" in console.file.getvalue()


class _Server:
    """A local TCP server that answers each connection with ``reply`` (None: says nothing)."""

    def __init__(self, reply):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.address = f"tcp://127.0.0.1:{self.sock.getsockname()[1]}"
        self.reply, self.open = reply, []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.open.append(conn)
            if self.reply is not None:
                conn.sendall(self.reply)

    def close(self):
        for conn in [self.sock, *self.open]:
            conn.close()


@pytest.fixture
def http_server():
    server = _Server(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    yield server
    server.close()


@pytest.mark.parametrize("reply, match", [
    (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",  # read as 3 EiB of frames
     "is not a Dask scheduler's address"),
    (None, "did not answer as a Dask scheduler within 1 s")])
def test_a_scheduler_that_is_not_dask_is_refused_in_bounded_time(monkeypatch, reply, match):
    pytest.importorskip("distributed")
    from feedforward.tune import executors

    monkeypatch.setattr(executors, "CONNECT_SECONDS", 1.0, raising=False)
    server, outcome = _Server(reply), {}

    def attempt():
        try:
            outcome["client"] = executors.connect(server.address)
        except BaseException as e:  # noqa: BLE001 - the test inspects it
            outcome["error"] = e
    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(60)  # a bound on a hang, not a measurement: the limit is 1 s
    server.close()
    assert not thread.is_alive(), "connect() hung on a server that says nothing"
    error = outcome.get("error")
    assert isinstance(error, ff.FeedforwardError), repr(error)
    assert str(error).startswith(f"--scheduler: {server.address!r}") and re.search(match,
                                                                                   str(error))


def test_cli_tune_with_a_scheduler_that_is_not_dask_is_one_line_exit_2(tuned, tmp_path,
                                                                        http_server):
    pytest.importorskip("distributed")
    shutil.copy(tuned[0] / "space.toml", tmp_path / "space.toml")
    result = _cli("tune", "space.toml", "--scheduler", http_server.address, "--no-plots",
                  cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "is not a Dask scheduler's address (MemoryError" in result.stderr


@pytest.mark.parametrize("name", ["results.csv", "best.toml", "search.json"])
def test_a_folder_in_the_way_of_a_tune_output_is_a_clear_error(tuned, tmp_path, name):
    space, out = _resume_with(tuned, tmp_path, tuned[1][1])
    (out / name).mkdir()
    with pytest.raises(ff.FeedforwardError, match=rf"^--out: .*{name}.* is a folder"):
        ff.tune.search(space, out=out, plots=False)


# ---------------------------------------------------------------------------- check's own bounds
@pytest.mark.parametrize("flags, message", [
    (["--lr-steps", "2147483648"], "--lr-steps: expected a value <= 100000"),
    (["--subset", str(10**400)], "--subset: expected"),
    (["--max-steps", "0"], "--max-steps: expected a value >= 1"),
    (["--plot", "curve.csv"], "--plot: expected an image file"),
])
def test_cli_check_bounds_its_steps_and_plot_format_before_running(flags, message, capsys):
    from feedforward.cli.main import main

    assert main(["check", "--dataset", "circle", "--samples", "40", *flags]) == 2
    assert message in capsys.readouterr().err
