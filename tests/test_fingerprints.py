"""Behaviour pinned by fingerprints (issue 18: one engine): a refactor changes no result.

Each case of ``fingerprint_cases.CASES`` trains a tiny network through a public surface (the
API with each optimizer family, dropout, augmentation, a schedule, regularization,
callbacks, BackupAndRestore resume, float64, the CLI's train and --resume, a tune trial, the
playground, the scikit-learn estimators). ``fingerprints.json`` holds, per case, the SHA-256
of the final weights, the history and the weights themselves, recorded at commit b2d94a7
(before the refactor), and the machine it was recorded on.

- On the recording machine (same CPU, numpy and BLAS) the SHA-256 and the history must be
  bit-identical: the same operations in the same order on the same arrays.
- On another machine, where BLAS kernels round differently, weights and history must agree
  to ``RTOL``/``ATOL``.
- ``playground_learning_rate_change`` is the one intended change: issue 18 keeps Adam's state
  when the playground's rate changes. Its record's ``after`` value (once recorded) is the
  expected result and must differ from the old one; without it the old one is expected.

Recording (rewrites ``tests/fingerprints.json``; only for a deliberate change of behaviour):

    FF_RECORD_FINGERPRINTS=1 pytest tests/test_fingerprints.py      # every case's record
    FF_RECORD_FINGERPRINTS=after pytest tests/test_fingerprints.py  # the intended changes' "after"

``=1`` keeps the recorded ``after`` values; ``=after`` changes nothing else.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import subprocess
from pathlib import Path

import numpy as np
import pytest

from fingerprint_cases import CASES, INTENDED_CHANGES

PATH = Path(__file__).with_name("fingerprints.json")
RECORD = os.environ.get("FF_RECORD_FINGERPRINTS", "")
if RECORD not in ("", "1", "after"):
    raise ValueError(f"FF_RECORD_FINGERPRINTS: expected 1 or after, got {RECORD!r}")
# Across machines: measured at recording time by rerunning every case under the other
# OpenBLAS kernels of CI-class CPUs (OPENBLAS_CORETYPE=Haswell, Zen; with numpy's AVX-512 paths
# and, via NPY_DISABLE_CPU_FEATURES, its AVX2 ones) against the SkylakeX record: the largest
# weight difference was 1.8e-7 absolute, 2.1e-6 relative to its array's largest weight, and
# of the history 1.7e-6 relative (an R^2 near 0), so these bounds hold with a margin of ~5x
# while a real change (an RNG draw or an update rule) moves weights by 1e-3 or more. Kernels
# without FMA (Sandybridge and older, before 2013) round further apart: Adam's weights by
# ~3e-6 and the centered RMSprop and L1 cases by ~4e-4; such a CPU fails these bounds.
RTOL, ATOL = 1e-5, 1e-7
MACHINE_KEYS = ("cpu", "cpu_flags", "numpy", "blas", "blas_kernel")  # "commit" is not compared


def machine() -> dict:
    """What decides the rounding: CPU, its instruction sets, numpy, the BLAS and its kernel."""
    cpu, flags = platform.processor() or platform.machine(), ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = (part.strip() for part in line.partition(":"))
            if key == "model name":
                cpu = value
            elif key == "flags":
                flags = hashlib.sha256(" ".join(sorted(value.split())).encode()).hexdigest()
            if key == "flags":  # the first processor's lines are enough
                break
    except OSError:
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # numpy < 1.25 has no dicts mode
        blas = "unknown"
    try:
        from threadpoolctl import threadpool_info

        kernel = ",".join(sorted({str(i.get("architecture")) for i in threadpool_info()
                                  if i.get("user_api") == "blas"}))  # numpy's, scipy's
    except Exception:  # threadpoolctl comes with scikit-learn; without it: unknown
        kernel = "unknown"
    return {"cpu": cpu, "cpu_flags": flags, "numpy": np.__version__, "blas": blas,
            "blas_kernel": kernel, "commit": _commit()}


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PATH.parent,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def sha256(weights) -> str:
    """Of each array's dtype, shape and C-order bytes, in order."""
    h = hashlib.sha256()
    for w in weights:
        w = np.ascontiguousarray(w)
        h.update(f"{w.dtype.str}{w.shape}".encode())
        h.update(w.tobytes())
    return h.hexdigest()


def fingerprint(weights, history) -> dict:
    return {"sha256": sha256(weights), "history": history,
            "weights": [np.asarray(w, dtype=float).tolist() for w in weights],
            "shapes": [list(np.shape(w)) for w in weights],
            "dtypes": [np.asarray(w).dtype.str for w in weights]}


def _exact(value):
    """A history value as text that is equal exactly when the floats are (NaN included)."""
    return None if value is None else float(value).hex()


# ---------------------------------------------------------------------------- recording
@pytest.fixture(scope="module")
def recorded():
    """The JSON file's content; in recording mode, written back after the last case."""
    data = json.loads(PATH.read_text()) if PATH.exists() else {}
    if RECORD and not data:
        data = {"machine": None, "cases": {}}
    yield data
    if RECORD:
        if RECORD == "1":
            data["machine"] = machine()
        PATH.write_text(json.dumps(data, indent=1, allow_nan=True) + "\n")


def _record(recorded, name, result):
    cases = recorded["cases"]
    if RECORD == "after":
        if name in INTENDED_CHANGES:
            cases[name]["after"] = result
        return
    old = cases.get(name, {})
    cases[name] = {**result, **{k: old[k] for k in ("after",) if k in old}}
    if name in INTENDED_CHANGES:
        cases[name]["intended_change"] = INTENDED_CHANGES[name]


# ---------------------------------------------------------------------------- comparing
def _expected(recorded, name):
    case = recorded["cases"].get(name)
    assert case is not None, f"{name}: no record in {PATH.name}; record it (see the docstring)"
    if name in INTENDED_CHANGES and "after" in case:
        assert case["after"]["sha256"] != case["sha256"], (
            f"{name}: the 'after' record equals the 'before' one, yet "
            f"{INTENDED_CHANGES[name]!r} is meant to change it")
        return case["after"]
    return case


def _compare_history(name, got, want, exact):
    assert list(got) == list(want), f"{name}: history keys {list(got)} != recorded {list(want)}"
    for key in want:
        g, w = got[key], want[key]
        assert len(g) == len(w), (f"{name}: history[{key!r}] has {len(g)} values, recorded "
                                  f"{len(w)}: {g} vs {w}")
        if exact:
            for i, (a, b) in enumerate(zip(g, w, strict=True)):
                assert _exact(a) == _exact(b), (f"{name}: history[{key!r}][{i}] = {a!r}, "
                                                f"recorded {b!r} (not bit-identical)")
        else:
            assert [v is None for v in g] == [v is None for v in w], f"{name}: {key}: {g} {w}"
            a = np.array([math.nan if v is None else v for v in g], dtype=float)
            b = np.array([math.nan if v is None else v for v in w], dtype=float)
            np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL,
                                       err_msg=f"{name}: history[{key!r}]")


def _compare_weights(name, got, want):
    assert len(got["weights"]) == len(want["weights"]), (
        f"{name}: {len(got['weights'])} weight arrays, recorded {len(want['weights'])}")
    assert got["shapes"] == want["shapes"], f"{name}: shapes {got['shapes']} != {want['shapes']}"
    assert got["dtypes"] == want["dtypes"], f"{name}: dtypes {got['dtypes']} != {want['dtypes']}"
    for i, (g, w) in enumerate(zip(got["weights"], want["weights"], strict=True)):
        np.testing.assert_allclose(np.array(g), np.array(w), rtol=RTOL, atol=ATOL,
                                   err_msg=f"{name}: weights[{i}]")


@pytest.mark.parametrize("name", list(CASES))
def test_training_matches_its_fingerprint(name, recorded, tmp_path):
    result = fingerprint(*CASES[name](tmp_path))
    if RECORD:
        _record(recorded, name, result)
        return
    want = _expected(recorded, name)
    mine = machine()
    same = all(recorded["machine"].get(k) == mine[k] for k in MACHINE_KEYS)
    # on the recording machine bit-identical; elsewhere within RTOL, ATOL
    _compare_history(name, result["history"], want["history"], exact=same)
    if same:
        if result["sha256"] != want["sha256"]:
            _compare_weights(name, result, want)  # says which array differs, if visibly
            diffs = [i for i, (g, w) in enumerate(zip(result["weights"], want["weights"],
                                                      strict=True)) if g != w]
            pytest.fail(f"{name}: final weights not bit-identical (SHA-256 {result['sha256']}"
                        f", recorded {want['sha256']}); arrays that differ: {diffs}")
    else:
        _compare_weights(name, result, want)


def test_every_case_has_a_record_and_every_record_a_case(recorded):
    if RECORD:
        pytest.skip("recording")
    assert set(recorded["cases"]) == set(CASES)
    assert set(INTENDED_CHANGES) <= set(CASES)
    for name in INTENDED_CHANGES:
        assert recorded["cases"][name]["intended_change"] == INTENDED_CHANGES[name]
