"""One measurement in a fresh process, so that its peak memory is its own.

Usage: ``python benchmarks/worker.py '<task as JSON>'``; prints ``RESULT <json>`` as its last line.
``run.py`` starts it with the thread variables (and the OpenBLAS setting) in its environment.

Tasks
-----
fit      warm up on a few hundred rows (a separate model), then time ``fit`` of a fresh model
         for one epoch; peak RSS of the fit; test accuracy afterwards.
bound    time the epoch's matrix products alone (see ``blas_bound``) at each batch size.
predict  one-sample latency and 10,000-sample throughput of an untrained model.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def _rss_bytes() -> int | None:
    """Current resident set size, from /proc (Linux)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark, so that ``ru_maxrss`` afterwards is the peak of what
    follows (Linux >= 4.0). When not possible the peak covers the whole process: an upper bound."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _limit_threads(threads: int):
    """Limit every BLAS / OpenMP pool loaded so far (call after importing the frameworks)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads)


def source_digest(root: Path) -> str:
    """A short hash of the Python files under ``root`` (names and contents)."""
    digest = hashlib.sha1()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _ff_source_digest() -> str:
    """The hash of the feedforward this worker imported, so a report can tell when the source
    changed between the runs it summarises."""
    import feedforward

    return source_digest(Path(feedforward.__file__).parent)


def _runtime_info(peer=None) -> dict:
    """What runs the products: the BLAS libraries (threadpoolctl) and torch's backend."""
    from threadpoolctl import threadpool_info

    keys = ("internal_api", "prefix", "version", "architecture", "threading_layer", "num_threads",
            "filepath")
    info = {"blas": [{k: lib.get(k) for k in keys} for lib in threadpool_info()
                     if lib.get("user_api") == "blas"],
            "env": {k: os.environ.get(k) for k in OPENBLAS_VARS}}
    if peer is not None and peer.name == "feedforward":
        import feedforward

        info["ff_source"] = _ff_source_digest()
        info["ff_kernels"] = feedforward.kernels.enabled()
    if peer is not None and peer.name == "torch":
        torch = peer.torch
        info["torch"] = {"num_threads": torch.get_num_threads(),
                         "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                         "mkl": torch.backends.mkl.is_available(),
                         "mkldnn": torch.backends.mkldnn.is_available()}
    return info


def _make_peer(name: str, threads: int):
    import peers

    peer = peers.PEERS[name]()
    if name == "torch":
        peer.torch.set_num_threads(threads)
    if name == "onnxruntime":
        peer.threads = threads
    return peer


def run_fit(task: dict) -> dict:
    from workload import workload

    peer = _make_peer(task["peer"], task["threads"])
    data = workload(task["rows"])
    limiter = _limit_threads(task["threads"])  # noqa: F841  (kept alive for the process)
    x, y, bs = data["x"], data["y"], task["batch_size"]
    warm = task["warmup_rows"]
    peer.fit(peer.build(), x[:warm], y[:warm], min(bs, warm))
    model = peer.build()
    gc.collect()
    rss_before = _rss_bytes()
    peak_reset = _reset_peak_rss()
    start = time.perf_counter()
    model = peer.fit(model, x, y, bs)
    seconds = time.perf_counter() - start
    peak = _peak_rss_bytes()
    predicted = peer.predict(model, data["x_test"]).argmax(axis=1)
    result = {"seconds": seconds, "accuracy": float((predicted == data["y_test"]).mean()),
              "peak_rss": peak, "rss_before_fit": rss_before, "peak_reset": peak_reset,
              "dataset_bytes": int(x.nbytes + y.nbytes), "source": data["source"],
              "info": _runtime_info(peer)}
    if hasattr(peer, "gemm_layout"):
        result["gemm_layout"] = peer.gemm_layout(model)
    return result


def run_bound(task: dict) -> dict:
    import blas_bound
    from workload import workload

    x = workload(task["rows"])["x"]
    limiter = _limit_threads(task["threads"])  # noqa: F841
    input_grad = task.get("input_grad")
    return {"by_batch": {str(bs): blas_bound.time_epoch(x, bs, input_grad=input_grad)
                         for bs in task["batch_sizes"]},
            "info": _runtime_info()}


def _timings(call, reps: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        call()
    out = []
    clock = time.perf_counter
    for _ in range(reps):
        t = clock()
        call()
        out.append(clock() - t)
    return out


def run_predict(task: dict) -> dict:
    from workload import workload

    peer = _make_peer(task["peer"], task["threads"])
    data = workload(task["throughput_rows"])
    limiter = _limit_threads(task["threads"])  # noqa: F841
    model = peer.build()
    one = _timings(peer.predictor(model, data["x_test"][:1]), task["latency_reps"], 50)
    many = _timings(peer.predictor(model, data["x"]), task["throughput_reps"], 2)
    n = len(data["x"])
    return {"latency_s": statistics.median(one),
            "latency_p10_p90_s": statistics.quantiles(one, n=10)[::8],
            "throughput_sps": n / statistics.median(many), "throughput_rows": n,
            "info": _runtime_info(peer)}


TASKS = {"fit": run_fit, "bound": run_bound, "predict": run_predict}


def main(argv):
    task = json.loads(argv[1])
    result = TASKS[task["kind"]](task)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv)
