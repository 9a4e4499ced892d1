"""HTTP latency of the UI's busiest pages against `rapport serve`.

A generated TWCS-like history (``--size`` messages; ``--scale``: 1M) is
imported into a fresh database, `rapport serve` is started on a free
loopback port in its own process, and a local load generator (httpx, one
keep-alive connection, sequential) requests each page a bounded number of
times within a bounded time. The baseline is `/healthz` on the same server
in the same run; figures are p50/p95 in ms and p95 as a ratio to it.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg

from rapport.bench import BenchOptions, BenchResult
from rapport.bench.datagen import write_twcs_like

SCALE_SIZE = 1_000_000
REQUESTS = 200
WARMUP = 10
SECONDS_PER_TARGET = 60.0
PASSWORD = "bench-password-123"
DEFAULT_PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rapport(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "rapport", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"rapport {' '.join(args)} failed: {out.stderr.strip()[-500:]}")
    return out.stdout


def _measure(
    client: httpx.Client, paths: Callable[[int], str], *, headers: dict[str, str]
) -> dict[str, float]:
    """Latencies of up to REQUESTS sequential GETs (after WARMUP), in ms."""
    for i in range(WARMUP):
        client.get(paths(i), headers=headers).raise_for_status()
    samples: list[float] = []
    deadline = time.monotonic() + SECONDS_PER_TARGET
    for i in range(REQUESTS):
        if time.monotonic() > deadline:
            break
        started = time.perf_counter()
        response = client.get(paths(i), headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        samples.append(elapsed)
    samples.sort()
    p95 = samples[max(round(0.95 * len(samples)) - 1, 0)]
    return {"p50_ms": statistics.median(samples), "p95_ms": p95, "requests": len(samples)}


def _serve_and_measure(name: str, env: dict[str, str], size: int) -> BenchResult:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "rapport", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("rapport serve did not start")
                time.sleep(0.2)
            token = client.post(
                "/api/v1/auth/token", data={"username": "bench@example.com", "password": PASSWORD}
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            items = client.get("/api/v1/threads?limit=200", headers=auth).json()["items"]
            threads = [i["thread"]["id"] for i in items]
            people = [i["customer_person_id"] for i in items if i["customer_person_id"]]
            if not threads or not people:
                raise RuntimeError("the generated history has no threads or people")
            figures: dict[str, Any] = {"messages": size}
            targets: dict[str, Callable[[int], str]] = {
                "healthz": lambda i: "/healthz",
                "inbox": lambda i: "/inbox",
                "inbox_page_20": lambda i: "/inbox?page=20",
                "person": lambda i: f"/people/{people[i % len(people)]}",
                "thread": lambda i: f"/threads/{threads[i % len(threads)]}",
            }
            results = {k: _measure(client, f, headers=auth) for k, f in targets.items()}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    base_p95 = results["healthz"]["p95_ms"]
    for key, r in results.items():
        figures[f"{key}_p50_ms"] = round(r["p50_ms"], 2)
        figures[f"{key}_p95_ms"] = round(r["p95_ms"], 2)
        if key != "healthz":
            figures[f"{key}_p95_ratio_to_healthz"] = round(r["p95_ms"] / base_p95, 1)
    figures["requests_per_page"] = int(min(r["requests"] for r in results.values()))
    return BenchResult(
        name=name,
        figures=figures,
        notes="rapport serve (1 process), sequential keep-alive GETs, bearer auth; "
        "goal p95 < 200 ms",
    )


def _prepare(env: dict[str, str], data: Path) -> None:
    _rapport(env, "db", "upgrade")
    _rapport(env, "ingest", str(data), "--format", "twcs", "--json")
    _rapport(
        env,
        "users",
        "create",
        "bench@example.com",
        "--role",
        "agent",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )


def run(options: BenchOptions) -> list[BenchResult]:
    size = SCALE_SIZE if options.scale else options.size
    results = []
    with tempfile.TemporaryDirectory(dir=options.work_dir) as tmp:
        data = Path(tmp) / "twcs_like.csv"
        size = write_twcs_like(data, size)
        env = {**os.environ, "RAPPORT_DATA_DIR": tmp, "RAPPORT_ENV": "dev"}
        env.pop("RAPPORT_BROKER_URL", None)
        sqlite_env = {**env, "RAPPORT_DATABASE_URL": f"sqlite:///{tmp}/web.db"}
        _prepare(sqlite_env, data)
        results.append(_serve_and_measure("web.sqlite", sqlite_env, size))
        admin = (options.pg_url or DEFAULT_PG_ADMIN).replace(
            "postgresql+psycopg://", "postgresql://"
        )
        name = f"rapport_bench_web_{uuid.uuid4().hex[:8]}"
        try:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
        except psycopg.OperationalError as exc:
            results.append(BenchResult("web.postgresql", notes=f"skipped: {exc}"))
            return results
        try:
            url = admin.rsplit("/", 1)[0] + "/" + name
            pg_env = {
                **env,
                "RAPPORT_DATABASE_URL": url.replace("postgresql://", "postgresql+psycopg://", 1),
            }
            _prepare(pg_env, data)
            results.append(_serve_and_measure("web.postgresql", pg_env, size))
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return results
