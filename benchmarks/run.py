"""Speed and memory of feedforward beside PyTorch and scikit-learn (issue 6).

Usage (from the repository root)::

    .venv/bin/python benchmarks/run.py            # full: 60,000 rows, 5 runs  (make bench)
    .venv/bin/python benchmarks/run.py --quick    # 20,000 rows, 3 runs       (make bench-quick)
    .venv/bin/python benchmarks/run.py --only ff --batch-sizes 128 --parts fit,bound

Every measurement runs in a fresh worker process (``worker.py``) with the same thread count for
every peer; the runs of all peers, batch sizes and settings are interleaved in rounds so that
drift in the machine's load hits all alike. Writes ``benchmarks/results/bench-<time>.{json,md}``
(and ``latest.*``) and prints the Markdown report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import report
from peers import FIT_ONLY, PREDICT_ONLY, resolve
from worker import source_digest
from workload import N_TEST_IMAGES, N_TRAIN_IMAGES, REPO

HERE = Path(__file__).resolve().parent
WORKER = HERE / "worker.py"
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
PARTS = ("fit", "bound", "predict")
MODES = {
    "full": {"rows": 60_000, "runs": 5, "latency_reps": 2000, "throughput_reps": 20,
             "sklearn_batch_sizes": None, "timeout": 1200, "retry_noisy": 2},
    "quick": {"rows": 20_000, "runs": 3, "latency_reps": 300, "throughput_reps": 5,
              "sklearn_batch_sizes": None, "timeout": 300, "retry_noisy": 0},
}


def _ints(text):
    return [int(v) for v in text.split(",") if v.strip()]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="20,000 rows per epoch, 3 runs per figure (about 1.5 min on 2 idle cores)")
    p.add_argument("--only", default="feedforward,torch,sklearn,onnxruntime",
                   help="peers to run, comma-separated: ff, torch, sklearn, ort (default all)")
    p.add_argument("--batch-sizes", type=_ints, default=[32, 128, 512], help="e.g. 32,128,512")
    p.add_argument("--sklearn-batch-sizes", type=_ints, default=None,
                   help="batch sizes at which sklearn runs (default: all of --batch-sizes)")
    p.add_argument("--runs", type=int, help="runs per figure (full 5, quick 3)")
    p.add_argument("--rows", type=int, help="training rows per epoch (full 60000, quick 20000)")
    p.add_argument("--retry-noisy", type=int,
                   help="run a measurement again, up to this many times, while other processes "
                        f"use more than {report.NOISY:.0%}% of the CPUs (full 2, quick 0)")
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                   help="threads for every peer (default: the CPUs this process may use)")
    p.add_argument("--settings", choices=("auto", "env", "unset", "both"), default="auto",
                   help="auto: the environment as it is, plus a run with OPENBLAS_CORETYPE and "
                        "OPENBLAS_L2_SIZE unset when either is set (else the same measurements "
                        "serve both); both: measure both regardless")
    p.add_argument("--parts", default=",".join(PARTS), help="any of fit,bound,predict")
    p.add_argument("--warmup-rows", type=int, default=512, help="rows of the untimed warm-up fit")
    p.add_argument("--reference", type=Path,
                   help="an earlier results JSON: peers not run now are taken from it (marked †)")
    p.add_argument("--out", type=Path, default=HERE / "results", help="output folder")
    p.add_argument("--no-snapshot", action="store_true",
                   help="import feedforward from the live tree in every worker, not from a copy "
                        "taken at the start")
    p.add_argument("--from-json", type=Path,
                   help="measure nothing: re-judge and re-render an earlier results JSON")
    args = p.parse_args(argv)
    args.mode = "quick" if args.quick else "full"
    for key, value in MODES[args.mode].items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    args.peers = list(dict.fromkeys(resolve(name) for name in args.only.split(",")))
    args.parts = [part.strip() for part in args.parts.split(",")]
    if not set(args.parts) <= set(PARTS) or min(args.batch_sizes) < 1 or args.runs < 1:
        p.error(f"--parts must be among {PARTS}; batch sizes and --runs must be positive")
    if args.sklearn_batch_sizes is None:
        args.sklearn_batch_sizes = list(args.batch_sizes)
    return args


# ---------------------------------------------------------------------------- settings
def make_settings(choice: str) -> list[dict]:
    """The OpenBLAS settings to report; one whose environment equals another's is not re-run."""
    current = {k: os.environ.get(k) for k in OPENBLAS_VARS}
    env = {"name": "env", "label": "environment as it is", "env": current}
    unset = {"name": "unset", "label": "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset",
             "env": dict.fromkeys(OPENBLAS_VARS)}
    if choice == "env":
        return [env]
    if choice == "unset":
        return [unset]
    if choice == "auto" and all(v is None for v in current.values()):
        unset["same_as"] = "env"
    return [env, unset]


def worker_env(setting: dict, threads: int, snapshot: str | None = None) -> dict:
    """The environment of a worker: thread counts, the setting's variables and, with a
    snapshot, feedforward imported from it (``PYTHONPATH`` precedes the editable install)."""
    env = dict(os.environ)
    env.update(dict.fromkeys(THREAD_VARS, str(threads)))
    if snapshot:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [snapshot, env.get("PYTHONPATH")]))
    for k, v in setting["env"].items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


# ---------------------------------------------------------------------------- schedule
def _rotate(items, r):
    items = list(items)
    return items[r % len(items):] + items[:r % len(items)] if items else items


def schedule(args, settings) -> list[tuple[dict, dict]]:
    """``(setting, task)`` pairs, round by round; the order of peers and batch sizes rotates."""
    common = {"threads": args.threads, "rows": args.rows}
    tasks = []
    for r in range(args.runs):
        for setting in (s for s in settings if not s.get("same_as")):
            if "bound" in args.parts:
                tasks.append((setting, {**common, "kind": "bound",
                                        "batch_sizes": _rotate(args.batch_sizes, r)}))
            if "fit" in args.parts:
                for bs in _rotate(args.batch_sizes, r):
                    for peer in _rotate(args.peers, r):
                        if peer in PREDICT_ONLY or (peer == "sklearn"
                                                    and bs not in args.sklearn_batch_sizes):
                            continue
                        tasks.append((setting, {**common, "kind": "fit", "peer": peer,
                                                "batch_size": bs, "warmup_rows": args.warmup_rows}))
            if "predict" in args.parts:
                for peer in _rotate([p for p in args.peers if p not in FIT_ONLY], r):
                    tasks.append((setting, {
                        "kind": "predict", "peer": peer, "threads": args.threads,
                        "throughput_rows": 10_000, "latency_reps": args.latency_reps,
                        "throughput_reps": args.throughput_reps}))
    return tasks


def _busy_cpu_seconds() -> float | None:
    """CPU seconds all processes have used since boot (``/proc/stat``), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")  # guest time is inside user


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_task(task: dict, env: dict, timeout: float) -> dict:
    """Run one worker; its result, or ``{"error": ...}`` (the suite goes on without it).

    ``other_cpu`` in the result is the share of the machine's CPUs that other processes used
    while the worker ran (0 on a quiet machine, 1 when they took every core): the noise gauge.
    """
    busy, ours, wall = _busy_cpu_seconds(), _children_cpu_seconds(), time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, str(WORKER), json.dumps(task)], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    wall, after = time.perf_counter() - wall, _busy_cpu_seconds()
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
            if busy is not None and after is not None:
                other = (after - busy) - (_children_cpu_seconds() - ours)
                result["other_cpu"] = max(0.0, other / (wall * os.cpu_count()))
            return result
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"error": f"exit {proc.returncode}: {tail}"}


def _describe(task, result) -> str:
    kind = task["kind"]
    if "error" in result:
        return f"ERROR {result['error']}"
    other = f" [others used {result['other_cpu']:.0%} CPU]" if "other_cpu" in result else ""
    if kind == "fit":
        return (f"{result['seconds']:.3f} s, accuracy {result['accuracy']:.4f}, "
                f"peak RSS {result['peak_rss'] / report.MIB:.0f} MiB{other}")
    if kind == "bound":
        return ", ".join(f"bs {bs}: {v['seconds']:.3f} s ({v['gflops']:.0f} GFLOP/s)"
                         for bs, v in result["by_batch"].items()) + other
    return (f"latency {result['latency_s'] * 1e6:.0f} µs, "
            f"throughput {result['throughput_sps']:,.0f} samples/s{other}")


def _label(task) -> str:
    if task["kind"] == "fit":
        return f"fit {task['peer']} bs={task['batch_size']}"
    return task["kind"] + (f" {task['peer']}" if "peer" in task else "")


def snapshot_source(folder: str) -> str:
    """Copy ``src/feedforward`` into ``folder``, so every worker of this run measures the same
    code even when the tree is edited meanwhile; returns the copy's hash."""
    target = Path(folder) / "feedforward"
    shutil.copytree(REPO / "src" / "feedforward", target,
                    ignore=shutil.ignore_patterns("__pycache__"))
    return source_digest(target)


def measure(args, settings, snapshot=None) -> dict:
    """Run the schedule; raw results ``{setting: {"fit": {peer: {bs: [run]}}, "bound": {bs:
    [run]}, "predict": {peer: [run]}, "info": {...}}}``."""
    tasks = schedule(args, settings)
    raw = {s["name"]: {"fit": {}, "bound": {}, "predict": {}, "info": {}}
           for s in settings if not s.get("same_as")}
    start = time.perf_counter()
    for i, (setting, task) in enumerate(tasks, 1):
        for attempt in range(1, args.retry_noisy + 2):
            result = run_task(task, worker_env(setting, args.threads, snapshot), args.timeout)
            elapsed = time.perf_counter() - start
            print(f"[{i:3d}/{len(tasks)} {elapsed:6.1f} s] {setting['name']:5s} "
                  f"{_label(task):28s} {_describe(task, result)}", flush=True)
            if result.get("other_cpu", 0.0) <= report.NOISY or attempt > args.retry_noisy:
                break
            print(f"{'':22s}noisy: run again ({attempt}/{args.retry_noisy})", flush=True)
        result["attempts"] = attempt
        _store(raw[setting["name"]], task, result)
    return raw


def _store(raw, task, result):
    info = result.pop("info", None)
    if info and "ff_source" in info:
        result["ff_source"] = info["ff_source"]
    if info:
        raw["info"].setdefault("env", info["env"])
        raw["info"].setdefault("blas", info["blas"])
        if "torch" in info:
            raw["info"]["torch"] = info["torch"]
        if "ff_kernels" in info:
            raw["info"]["ff_kernels"] = info["ff_kernels"]
    if task["kind"] == "fit":
        raw["fit"].setdefault(task["peer"], {}).setdefault(task["batch_size"], []).append(result)
    elif task["kind"] == "predict":
        raw["predict"].setdefault(task["peer"], []).append(result)
    elif "error" in result:
        for bs in task["batch_sizes"]:
            raw["bound"].setdefault(bs, []).append(result)
    else:
        for bs, v in result["by_batch"].items():
            raw["bound"].setdefault(int(bs), []).append({**v, "other_cpu": result.get("other_cpu")})


# ---------------------------------------------------------------------------- reference
def merge_reference(args, raw) -> dict:
    """Fill peers that were not run now from ``--reference``; returns the marks per peer."""
    if not args.reference:
        return {}
    ref = json.loads(args.reference.read_text())
    if ref["meta"]["rows"] != args.rows:
        print(f"warning: --reference has {ref['meta']['rows']} rows, this run {args.rows}; "
              "not used", file=sys.stderr)
        return {}
    marks, ref_raw = {}, load_raw(ref)
    for name, ours in raw.items():
        theirs = ref_raw.get(name) or {}
        for part in ("fit", "predict"):
            for peer, runs in (theirs.get(part) or {}).items():
                if peer not in args.peers:
                    ours[part][peer] = runs
                    marks[peer] = "†"
        if "torch" in (theirs.get("info") or {}) and "torch" not in ours["info"]:
            ours["info"]["torch"] = theirs["info"]["torch"]
    return marks


def load_raw(doc: dict) -> dict:
    """The raw runs of a results JSON, with the batch sizes (JSON object keys) as ints again."""
    return {name: {"fit": {peer: {int(bs): runs for bs, runs in by_batch.items()}
                           for peer, by_batch in r["fit"].items()},
                   "bound": {int(bs): runs for bs, runs in r["bound"].items()},
                   "predict": r["predict"], "info": r["info"]}
            for name, r in doc["raw"].items()}


# ---------------------------------------------------------------------------- meta
def _version(dist):
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_rev():
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def machine_info(args) -> dict:
    return {"cpu": _cpu_model(), "cpus": os.cpu_count(), "threads": args.threads,
            "platform": platform.platform(), "python": platform.python_version(),
            "versions": {d: _version(d) for d in ("numpy", "torch", "scikit-learn",
                                                  "threadpoolctl", "feedforward")},
            "git": _git_rev()}


def _mode_text(args):
    sk = "" if args.sklearn_batch_sizes == args.batch_sizes else \
        f"; sklearn only at batch {', '.join(map(str, args.sklearn_batch_sizes))}"
    retry = (f"; a measurement during which other processes used more than {report.NOISY:.0%} "
             f"of the CPUs is repeated up to {args.retry_noisy} times" if args.retry_noisy else "")
    return (f"{args.mode} mode: {args.rows:,} training rows per epoch, {args.runs} runs per figure"
            f"{sk}; predict latency over {args.latency_reps} calls and throughput over "
            f"{args.throughput_reps} calls per run{retry}")


def header_markdown(meta, source, marks, reference) -> list[str]:
    m = meta["machine"]
    v = m["versions"]
    other = meta["other_cpu"]
    busy = other is not None and other["max"] > 0.1
    lines = [f"# feedforward benchmarks, {meta['date']}", "",
             f"- **Mode:** {meta['mode_text']}.",
             f"- **Machine:** {m['cpu']}, {m['cpus']} CPUs, {m['threads']} threads for every peer; "
             f"{m['platform']}.",
             f"- **Software:** Python {m['python']}, numpy {v['numpy']}, torch {v['torch']}, "
             f"scikit-learn {v['scikit-learn']}, threadpoolctl {v['threadpoolctl']}, "
             f"feedforward {v['feedforward']} (git {m['git']}; "
             + (f"source snapshot {meta['snapshot']} taken at the start)."
                if meta.get("snapshot") else "the live working tree)."),
             f"- **Data:** {source}. Training: {meta['rows']:,} rows tiled from the first "
             f"{N_TRAIN_IMAGES:,} images; test: the last {N_TEST_IMAGES:,} images.",
             "- **Network:** 784-512-256-10, ReLU, softmax + cross-entropy, Adam(1e-3), float32, "
             f"one epoch after an untimed warm-up fit on {meta['warmup_rows']} rows.",
             f"- **Figures:** median (min–max) of {meta['runs']} runs, each in a fresh process, "
             "peers interleaved round by round; ratios are ratios of medians.",
             f"- **Load average** (1, 5, 15 min) before: {_loads(meta['load_before'])}; after: "
             f"{_loads(meta['load_after'])}; wall time {meta['wall_s']:.0f} s.",
             "- **Noise:** other processes used "
             + ("(not measured)" if other is None else
                f"{other['median']:.0%} of the CPUs in the median run (max {other['max']:.0%})")
             + " while workers ran."
             + (" **The machine was busy: timings are noisy;** `*` marks a figure during one of "
                f"whose runs other processes used more than {report.NOISY:.0%} of the CPUs."
                if busy else "")]
    if marks:
        lines.append(f"- † taken from the reference run {reference}.")
    return lines + [""]


def _loads(values):
    return ", ".join(f"{x:.2f}" for x in values)


# ---------------------------------------------------------------------------- main
def rerender(args):
    """``--from-json``: judge and render an earlier run again with the current report code."""
    doc = json.loads(args.from_json.read_text())
    meta, raw = doc["meta"], load_raw(doc)
    settings = [{k: s[k] for k in ("name", "label", "env", "same_as") if k in s}
                for s in doc["settings"]]
    for s in settings:
        if s.get("same_as"):
            raw[s["name"]] = raw[s["same_as"]]
    args.batch_sizes = meta["batch_sizes"]
    write_outputs(args, meta, settings, raw, meta.get("marks", {}))


def main(argv=None):
    args = parse_args(argv)
    if args.from_json:
        return rerender(args)
    settings = make_settings(args.settings)
    print(_mode_text(args))
    for k in OPENBLAS_VARS:
        print(f"{k}={os.environ.get(k, '(unset)')}")
    print("settings: " + "; ".join(s["label"] + (f" (same as {s['same_as']}, not re-run)"
                                                 if s.get("same_as") else "") for s in settings))
    load_before, start = os.getloadavg(), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ff-bench-") as folder:
        snapshot = None if args.no_snapshot else folder
        digest = snapshot and snapshot_source(folder)
        if digest:
            print(f"feedforward source snapshot {digest} (src/feedforward copied at the start)")
        raw = measure(args, settings, snapshot)
    other_cpu = report.stats(_other_cpu(raw))
    marks = merge_reference(args, raw)
    for s in settings:
        if s.get("same_as"):
            raw[s["name"]] = raw[s["same_as"]]
    wall = time.perf_counter() - start
    meta = {"date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "mode": args.mode, "mode_text": _mode_text(args), "argv": sys.argv[1:],
            "rows": args.rows, "runs": args.runs, "batch_sizes": args.batch_sizes,
            "peers": args.peers, "warmup_rows": args.warmup_rows, "machine": machine_info(args),
            "load_before": load_before, "load_after": os.getloadavg(), "wall_s": wall,
            "other_cpu": other_cpu, "marks": marks, "snapshot": digest,
            "reference": args.reference and str(args.reference)}
    write_outputs(args, meta, settings, raw, marks)


def _other_cpu(raw) -> list[float]:
    """Every run's share of the CPUs used by other processes."""
    values = []
    for r in raw.values():
        runs = [run for by_batch in r["fit"].values() for rs in by_batch.values() for run in rs]
        runs += [run for rs in r["bound"].values() for run in rs]
        runs += [run for rs in r["predict"].values() for run in rs]
        values += [run.get("other_cpu") for run in runs]
    return [v for v in values if v is not None]


def _source(raw):
    for r in raw.values():
        for by_batch in r["fit"].values():
            for runs in by_batch.values():
                for run in runs:
                    if "source" in run:
                        return run["source"]
    return "see workload.py"


def _source_note(raw):
    """A warning when feedforward's source changed between the runs of this report."""
    digests = []
    for r in raw.values():
        runs = [run for rs in r["fit"].get("feedforward", {}).values() for run in rs]
        runs += r["predict"].get("feedforward", [])
        digests += [run["ff_source"] for run in runs if "ff_source" in run]
    distinct = list(dict.fromkeys(digests))
    if len(distinct) > 1:
        return (f"**Warning:** feedforward's source changed during this run ({len(distinct)} "
                f"versions: {', '.join(distinct)}); its figures mix versions.")
    return None


def _layout_note(raw):
    """A warning when feedforward's products differ from the ones the bound counts."""
    import blas_bound

    for r in raw.values():
        for runs in r["fit"].get("feedforward", {}).values():
            for run in runs:
                layout = run.get("gemm_layout")
                if layout is None:
                    continue
                sizes = tuple([layout[0]["kernel"][0]] + [d["kernel"][1] for d in layout])
                flags = [d["input_grad"] for d in layout]
                if sizes != blas_bound.ARCHITECTURE or flags != [i > 0 for i in range(len(flags))]:
                    return (f"**Warning:** feedforward's layers {layout} differ from the products "
                            "the bound counts (see blas_bound.py).")
    return None


def write_outputs(args, meta, settings, raw, marks):
    lines = header_markdown(meta, _source(raw), marks, meta.get("reference"))
    for note in (_source_note(raw), _layout_note(raw)):
        if note:
            lines += [note, ""]
    all_checks = []
    for s in settings:
        s["info"] = raw[s["name"]]["info"]
        s["summary"] = report.summarize_setting(raw[s["name"]])
        s["checks"] = report.checks_for(s["name"], s["summary"], args.batch_sizes)
        # a setting that reuses another's runs adds only the checks whose limits differ by setting
        all_checks += [{"setting": s["name"], **c} for c in s["checks"]
                       if not s.get("same_as") or c["group"] in report.SETTING_GROUPS]
        lines += report.setting_markdown(s, s["summary"], s["checks"], args.batch_sizes, marks)
    if meta["mode"] == "quick":
        all_checks.append({"setting": "—", **report.check(
            6, "quick mode wall time (s)", meta["wall_s"], "<=", report.QUICK_LIMIT_S)})
    lines += report.acceptance_markdown(all_checks)
    text = "\n".join(lines) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    doc = {"meta": meta, "settings": settings, "checks": all_checks,
           "raw": {s["name"]: raw[s["name"]] for s in settings if not s.get("same_as")}}
    for name in (f"bench-{stamp}", "latest"):
        (args.out / f"{name}.json").write_text(json.dumps(doc, indent=1, default=str))
        (args.out / f"{name}.md").write_text(text)
    print()
    print(text)
    print(f"written: {args.out / f'bench-{stamp}.json'} and .md (also latest.json, latest.md)")


if __name__ == "__main__":
    main()
