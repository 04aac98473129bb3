"""The speed-up of ``feedforward tune --jobs 2`` over ``--jobs 1``: the same 12 trials, timed.

Runs ``feedforward tune`` as a subprocess on a fixed random search over digits (two hidden
layers of 64 or 128 units, a fixed number of epochs so every trial does the same work), first
with ``--jobs 1`` (the trials in the command's own process, with the BLAS threads the
environment gives), then ``--jobs 1`` with one BLAS thread (``OPENBLAS_NUM_THREADS=1`` and
the like: what each worker of ``--jobs 2`` gets), then ``--jobs 2`` (two worker processes),
alternating for ``--runs`` rounds, each into a fresh folder. The speed-up of ``--jobs 2`` is
reported against both: against the second, it is the gain of running two trials at once alone;
against the first, it includes what one BLAS thread per trial changes (small matrices gain
little from threads, and on a busy machine threads that wait for each other lose much).
The time is the whole command's wall-clock time: start-up, data, the worker processes' start,
the trials and the results. It reports the fastest time of each (other processes only ever add
time) and their ratio, with the load average, which says how busy the machine was.

    .venv/bin/python benchmarks/tune_speedup.py [--runs 2] [--trials 12] [--epochs 120]

It then times ``ff.tune.search`` itself with the data already in memory, for ``jobs=1`` and
``jobs=2``: the executor's speed-up, without the command's fixed start-up and data loading.

The target on a 2-core machine is 1.6x. The command's fixed cost (imports, loading the data,
about 2.5 CPU seconds, plus half a second per worker process) does not shrink with more
processes, so the trials are made long enough (120 epochs) to dominate it. On a machine that
other sessions keep busy the ratio says little: Linux's autogroup scheduling gives each session
one share of the CPUs, however many processes it runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 1.6

SPACE = """\
[fixed]
dataset = "digits"
epochs = {epochs}
early_stopping = false
hidden_layers = 2
[search]
units = {{choice = [64, 128]}}
learning_rate = {{log_uniform = [1e-3, 1e-2]}}
batch_size = {{choice = [32, 64]}}
[tune]
trials = {trials}
seed = 0
"""


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def run(space: Path, out: Path, jobs: int, one_thread: bool = False) -> float:
    env = {**os.environ, **(dict.fromkeys(THREAD_VARIABLES, "1") if one_thread else {})}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "feedforward.cli", "tune", str(space), "--out",
                    str(out), "--jobs", str(jobs), "--no-plots", "--quiet"], check=True, env=env)
    return time.perf_counter() - start


def search_seconds(space: Path, out: Path, jobs: int, data) -> float:
    """The wall-clock time of ``ff.tune.search`` alone, the data already in memory: what the
    executor does (pool start included), without the command's start-up and data loading."""
    import feedforward as ff

    start = time.perf_counter()
    ff.tune.search(space, data, out=out, jobs=jobs, plots=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2, help="rounds of both (default 2)")
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=120)
    parser.add_argument("--jobs", type=int, default=2, help="the parallel run's processes")
    args = parser.parse_args()
    cases = {"--jobs 1": (1, False), "--jobs 1, one BLAS thread": (1, True),
             f"--jobs {args.jobs}": (args.jobs, False)}
    times = {name: [] for name in cases}
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        space = Path(tmp) / "space.toml"
        space.write_text(SPACE.format(epochs=args.epochs, trials=args.trials))
        for i in range(args.runs):
            for k, (name, (jobs, one_thread)) in enumerate(cases.items()):
                seconds = run(space, Path(tmp) / f"out-{k}-{i}", jobs, one_thread)
                times[name].append(seconds)
                print(f"round {i + 1}: {name}: {seconds:.2f} s", flush=True)
        import feedforward as ff

        data = ff.data.load_dataset("digits")
        data = (data.x, data.y)
        searches = {1: [], args.jobs: []}
        for i in range(args.runs):
            for jobs in searches:
                seconds = search_seconds(space, Path(tmp) / f"search-{jobs}-{i}", jobs, data)
                searches[jobs].append(seconds)
                print(f"round {i + 1}: ff.tune.search(jobs={jobs}): {seconds:.2f} s", flush=True)
    best = {name: min(t) for name, t in times.items()}
    many = best[f"--jobs {args.jobs}"]
    print(f"{args.trials} trials, {args.epochs} epochs each, {os.cpu_count()} CPUs; load "
          f"average {load:.2f} before, {os.getloadavg()[0]:.2f} after (fastest of "
          f"{args.runs} runs)")
    for name, seconds in best.items():
        print(f"{name:>28}: {seconds:6.2f} s" + (
            "" if seconds == many else f"   --jobs {args.jobs} is {seconds / many:.2f}x as "
                                       f"fast (target {TARGET}x on 2 cores)"))
    one, more = min(searches[1]), min(searches[args.jobs])
    print(f"ff.tune.search alone (data in memory): jobs=1 {one:.2f} s, jobs={args.jobs} "
          f"{more:.2f} s: {one / more:.2f}x as fast (target {TARGET}x on 2 cores)")


if __name__ == "__main__":
    main()
