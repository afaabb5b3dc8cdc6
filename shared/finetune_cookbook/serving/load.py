"""A bounded load on a served model: `cookbook serve` started in its own process on 127.0.0.1, a fixed number of
concurrent clients sending one request after another for a fixed time (and never more than a fixed number of
requests), then the server stopped. Only the loopback address is ever a target."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HOST = "127.0.0.1"
WARMUP_REQUESTS = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def start_server(source: str | Path, port: int, *extra: str, timeout: float = 120) -> subprocess.Popen:
    """`cookbook serve source` on 127.0.0.1:port, once `/health` answers."""
    import httpx

    log = tempfile.TemporaryFile()  # a pipe nobody reads would stall the server once it filled
    environment = {k: v for k, v in os.environ.items() if k != "COOKBOOK_API_KEY"}  # the load sends no key
    server = subprocess.Popen([sys.executable, "-m", "finetune_cookbook", "serve", str(source), "--host", HOST,
                               "--port", str(port), "--log-level", "warning", *extra],
                              stdout=subprocess.DEVNULL, stderr=log, env=environment)
    server.log = log
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"the server stopped: {log.read().decode(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"http://{HOST}:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.3)
    server.kill()
    raise RuntimeError(f"the server did not answer /health within {timeout:.0f} s")


def stop_server(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


def resident_megabytes(pid: int) -> float:
    import psutil

    return round(psutil.Process(pid).memory_info().rss / 1e6, 1)


async def _clients(url: str, payload: dict, concurrency: int, seconds: float, max_requests: int) -> tuple[list, int]:
    import httpx

    latencies, failures, sent = [], 0, 0
    deadline = time.monotonic() + seconds

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal failures, sent
        while time.monotonic() < deadline and sent < max_requests:
            sent += 1
            start = time.perf_counter()
            try:
                response = await http.post(url, json=payload)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append((time.perf_counter() - start) * 1000)
            failures += not ok

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
    return latencies, failures


def load(source: str | Path, payload: dict, concurrency: int, seconds: float, max_requests: int = 100_000,
         server_args: tuple[str, ...] = ()) -> dict:
    """Requests, failures, latency percentiles (ms), throughput and the server's memory at start (after
    `WARMUP_REQUESTS` requests) and end, for `concurrency` clients posting `payload` to `/predict` for `seconds`
    (at most `max_requests` in all)."""
    port = free_port()
    server = start_server(source, port, *server_args)
    try:
        # a few requests first, so the memory at start counts the buffers the first predictions allocate
        asyncio.run(_clients(f"http://{HOST}:{port}/predict", payload, 1, seconds, WARMUP_REQUESTS))
        memory_start = resident_megabytes(server.pid)
        began = time.perf_counter()
        latencies, failures = asyncio.run(_clients(f"http://{HOST}:{port}/predict", payload, concurrency, seconds,
                                                   max_requests))
        elapsed = time.perf_counter() - began
        memory_end = resident_megabytes(server.pid)
    finally:
        stop_server(server)
    times = np.asarray(latencies or [np.nan])
    return {"concurrency": concurrency, "seconds": round(elapsed, 1), "requests": len(latencies),
            "failures": failures, "p50_ms": round(float(np.percentile(times, 50)), 2),
            "p95_ms": round(float(np.percentile(times, 95)), 2), "p99_ms": round(float(np.percentile(times, 99)), 2),
            "requests_per_second": round(len(latencies) / elapsed, 1), "memory_start_mb": memory_start,
            "memory_end_mb": memory_end,
            "memory_growth": round((memory_end - memory_start) / memory_start, 3) if memory_start else None}
