"""Load: 20 WebSocket clients, each training its own session for 30 s, against a real server.

The server is ``feedforward playground`` in a subprocess on a free loopback port. Every
client presses play and times the gaps between its frames; none may get an error or lose its
connection, every session must train, and the server's resident memory must stay flat (within
10 %) from the end of the first 10 s to the end. The gaps are recorded, not judged: their
target (p99 under 3 s) is checked by ``benchmarks/speed_targets.py``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from _helpers import free_port, record

websockets = pytest.importorskip("websockets")
pytest.importorskip("uvicorn")

CLIENTS, DURATION, WARMUP = 20, 30.0, 10.0


def rss_kib(pid) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS line")


@pytest.fixture
def server():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "feedforward.cli", "playground",
                             "--no-browser", "--port", str(port), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
    yield proc, port
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def client(port, deadline):
    """Play until ``deadline``; returns (gaps between frames, error messages, frames)."""
    uri = f"ws://127.0.0.1:{port}/ws"
    gaps, errors, frames = [], [], 0
    async with websockets.connect(uri, max_size=None, origin=f"http://127.0.0.1:{port}",
                                  compression=None) as ws:
        for _ in range(4):  # hello, state, data, frame
            await ws.recv()
        await ws.send(json.dumps({"type": "play"}))
        last = None
        while time.monotonic() < deadline:
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if message["type"] == "error":
                errors.append(message["message"])
            elif message["type"] == "frame":
                now = time.monotonic()
                if last is not None:
                    gaps.append(now - last)
                last, frames = now, frames + 1
        await ws.send(json.dumps({"type": "pause"}))
    return gaps, errors, frames


async def load(port, pid):
    deadline = time.monotonic() + DURATION
    tasks = [asyncio.create_task(client(port, deadline)) for _ in range(CLIENTS)]
    await asyncio.sleep(WARMUP)
    rss_warm = rss_kib(pid)
    results = await asyncio.gather(*tasks)  # a lost connection raises here
    return results, rss_warm, rss_kib(pid)


def test_twenty_clients_training_for_thirty_seconds(server):
    proc, port = server
    results, rss_warm, rss_end = asyncio.run(load(port, proc.pid))
    gaps = np.concatenate([r[0] for r in results])
    errors = [e for r in results for e in r[1]]
    frames = [r[2] for r in results]
    p50, p99 = np.percentile(gaps, [50, 99])
    print(f"\n{CLIENTS} clients, {DURATION:.0f} s: {sum(frames)} frames "
          f"({min(frames)} to {max(frames)} per client); gap between frames p50 "
          f"{p50 * 1e3:.0f} ms, p99 {p99 * 1e3:.0f} ms, max {gaps.max() * 1e3:.0f} ms; "
          f"server RSS {rss_warm / 1024:.1f} MiB at {WARMUP:.0f} s, {rss_end / 1024:.1f} MiB "
          "at the end")
    record("playground_load", clients=CLIENTS, seconds=DURATION, frames=sum(frames),
           gap_p50_s=p50, gap_p99_s=p99, gap_max_s=float(gaps.max()))
    assert not errors, errors[:3]
    assert proc.poll() is None
    assert min(frames) >= 10  # every session trained
    assert abs(rss_end - rss_warm) <= 0.1 * rss_warm
