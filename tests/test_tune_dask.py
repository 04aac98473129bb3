"""Hyperparameter search on a real Dask cluster: a LocalCluster of two worker processes.

The cluster's trials score exactly as the local executor's (each trial is deterministic from
the search's seed), and a worker killed in the middle of a search loses nothing: the scheduler
reruns its trial elsewhere, and every trial is recorded once.
"""

from __future__ import annotations

import json
import os
import signal

import pytest

import feedforward as ff

distributed = pytest.importorskip("distributed")

SPACE = {"fixed": {"dataset": "digits", "epochs": 20, "patience": 3, "hidden_layers": 1},
         "search": {"units": {"choice": [16, 32]},
                    "learning_rate": {"log_uniform": [1e-3, 3e-2]},
                    "batch_size": {"int_log": [16, 64]},
                    "dropout": {"uniform": [0.0, 0.2]}},
         "tune": {"strategy": "random", "trials": 12, "seed": 7}}


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None, silence_logs=40) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """The search run by the local executor, in this process."""
    return ff.tune.search(SPACE, out=tmp_path_factory.mktemp("local"), plots=False)


def metrics(result):
    return {r["id"]: r["metrics"] for r in result.records}


def test_a_cluster_finds_what_the_local_executor_finds(cluster, local, tmp_path):
    result = ff.tune.search(SPACE, out=tmp_path, plots=False, scheduler=cluster.scheduler_address)
    assert result.best["params"] == local.best["params"]
    assert result.best["id"] == local.best["id"]
    assert metrics(result) == metrics(local)  # every trial, not only the best
    with distributed.Client(cluster) as client:
        pids = set(client.run(os.getpid).values())
    used = {int(r["worker"].rsplit(":", 1)[1]) for r in result.records}
    assert used <= pids and os.getpid() not in used  # the cluster's workers trained


def test_a_killed_worker_loses_no_trial(cluster, local, tmp_path):
    killed = []
    with distributed.Client(cluster) as client:
        def kill_the_other_worker(record):
            if killed:
                return
            # the worker that did not just finish is in the middle of a trial
            pid = next(pid for pid in client.run(os.getpid).values()
                       if not record["worker"].endswith(f":{pid}"))
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

        result = ff.tune.search(SPACE, out=tmp_path, plots=False, client=client,
                                on_result=kill_the_other_worker)
        client.wait_for_workers(2, timeout=60)
        alive = set(client.run(os.getpid).values())
    assert killed and killed[0] not in alive  # the nanny started a new worker process
    ids = [json.loads(line)["id"] for line in (tmp_path / "results.jsonl").read_text()
           .splitlines()]
    assert len(ids) == len(set(ids)) == 12
    assert sorted(ids) == sorted(local.ran)
    assert all(r["status"] == "ok" for r in result.records)
    assert metrics(result) == metrics(local)
    assert result.best["id"] == local.best["id"]
