"""Real brokers and real worker processes for the workers and reliability tests.

`ensure_rabbitmq()` / `ensure_redis()` / `ensure_postgresql()` start the
local services if they are down (the commands of docs/deploy.md). Every
test gets its own queue prefix (queues, exchanges, control channel), so
test runs and other people's workers on the same broker never meet; its
queues are deleted afterwards.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rapport.settings import reset_settings_cache

RABBIT_URL = os.environ.get("RAPPORT_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS_URL = os.environ.get("RAPPORT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _run(cmd: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, shell=True, capture_output=True, text=True, timeout=timeout, check=False
    )


def _wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s")


def rabbitmq_up() -> bool:
    import socket

    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", 5672), 1):
        return _run("rabbitmqctl -q await_startup --timeout 5", 30).returncode == 0
    return False


#: The two database runs of `make test` go side by side and share one
#: RabbitMQ: a test that stops the broker holds this lock exclusively, every
#: other broker test holds it shared, so no run loses its broker mid-test.
BROKER_LOCK = Path(os.environ.get("RAPPORT_TEST_BROKER_LOCK", "/tmp/rapport-test-rabbitmq.lock"))


@contextlib.contextmanager
def broker_lock(*, exclusive: bool) -> Iterator[None]:
    import fcntl

    with BROKER_LOCK.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextlib.contextmanager
def rabbitmq_broker(*, exclusive: bool = False) -> Iterator[Broker]:
    """RabbitMQ (started if down) with queue names of this test's own;
    ``exclusive``: no other test run uses the broker meanwhile (a test that
    restarts it)."""
    with broker_lock(exclusive=exclusive):
        ensure_rabbitmq()
        with use_broker(RABBIT_URL) as broker:
            yield broker


def ensure_rabbitmq() -> None:
    if rabbitmq_up():
        return
    status = _run("rabbitmqctl -q status", 30)
    if status.returncode == 0:  # the node runs, the app was stopped
        _run("rabbitmqctl start_app", 60)
    else:
        _run("rabbitmq-server -detached", 30)
    _wait(rabbitmq_up, 90, "RabbitMQ")


def ensure_redis() -> None:
    if _run("redis-cli -h 127.0.0.1 -p 6379 ping", 10).stdout.strip() != "PONG":
        _run('redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no')
        _wait(
            lambda: _run("redis-cli -h 127.0.0.1 -p 6379 ping", 10).stdout.strip() == "PONG",
            30,
            "Redis",
        )


def ensure_postgresql() -> None:
    if _run("pg_isready -q -h 127.0.0.1 -p 5432", 10).returncode != 0:
        _run("pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start", 60)
        _wait(
            lambda: _run("pg_isready -q -h 127.0.0.1 -p 5432", 10).returncode == 0, 60, "PostgreSQL"
        )


@dataclass
class Broker:
    url: str
    prefix: str

    @property
    def kind(self) -> str:
        return "redis" if self.url.startswith("redis") else "rabbitmq"


def delete_queues(broker: Broker) -> None:
    """Remove this test's queues and exchanges (or Redis keys) from the broker."""
    from rapport.workers.app import QUEUES, queue_name

    if broker.kind == "redis":
        import redis

        client = redis.Redis.from_url(broker.url)
        for key in client.scan_iter(f"{broker.prefix}:*"):
            client.delete(key)
        return
    from kombu import Connection

    with contextlib.suppress(Exception), Connection(broker.url, connect_timeout=5) as conn:
        channel = conn.channel()
        for short in QUEUES:
            name = queue_name(short, broker.prefix)
            with contextlib.suppress(Exception):
                channel.queue_delete(name)
            with contextlib.suppress(Exception):
                channel.exchange_delete(name)
        for suffix in ("control", "events"):
            with contextlib.suppress(Exception):
                channel.exchange_delete(f"{broker.prefix}.{suffix}")


@contextlib.contextmanager
def use_broker(url: str) -> Iterator[Broker]:
    broker = Broker(url, f"t{uuid.uuid4().hex[:12]}")
    os.environ["RAPPORT_BROKER_URL"] = broker.url
    os.environ["RAPPORT_QUEUE_PREFIX"] = broker.prefix
    reset_settings_cache()
    try:
        yield broker
    finally:
        os.environ.pop("RAPPORT_BROKER_URL", None)
        os.environ.pop("RAPPORT_QUEUE_PREFIX", None)
        reset_settings_cache()
        delete_queues(broker)


@dataclass
class WorkerProcess:
    """`rapport worker` running in its own process group."""

    proc: subprocess.Popen[bytes]
    log: Path
    name: str
    extra: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.text():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited ({self.proc.returncode}):\n{self.text()}")
            time.sleep(0.2)
        raise TimeoutError(f"worker not ready after {timeout}s:\n{self.text()[-3000:]}")

    def kill9(self) -> None:
        """SIGKILL the whole worker: main process and pool children at once."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def terminate(self, timeout: float = 120) -> int:
        """SIGTERM (warm shutdown) and wait for the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(Exception):
                self.terminate(timeout=30)
        with contextlib.suppress(ProcessLookupError):  # stray pool children
            os.killpg(self.proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def worker_pool(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """A factory of `rapport worker` subprocesses, all stopped at the end."""
    started: list[WorkerProcess] = []

    def start(
        *, concurrency: int = 1, queues: str | None = None, ready: bool = True, **env: str
    ) -> WorkerProcess:
        name = f"w{len(started)}"
        log = tmp_path / f"worker-{name}.log"
        args = [sys.executable, "-m", "rapport", "worker", "-c", str(concurrency), "-l", "INFO"]
        args += ["-n", f"{os.environ['RAPPORT_QUEUE_PREFIX']}-{name}@localhost"]
        if queues:
            args += ["--queues", queues]
        with log.open("wb") as out:
            proc = subprocess.Popen(
                args,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **env},
                start_new_session=True,
            )
        worker = WorkerProcess(proc, log, name)
        started.append(worker)
        if ready:
            worker.wait_ready()
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.stop()


def require_postgresql(db: Any) -> None:
    if not db.is_postgresql:
        pytest.skip("several writers at once need PostgreSQL (RAPPORT_TEST_DB=postgresql)")


@contextlib.contextmanager
def twin_database(tmp_path: Path, template: str) -> Iterator[str]:
    """A second fresh migrated database (same backend), for comparisons."""
    from tests.conftest import BACKEND, _pg_admin, _pg_dsn, _sa_url

    if BACKEND == "sqlite":
        import shutil

        path = tmp_path / "twin.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    name = f"rapport_twin_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _sa_url(_pg_dsn(name))
    finally:
        from rapport.storage.engine import dispose_engines

        dispose_engines()
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rapport(*args: str, timeout: float = 600, **env: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess, with extra environment."""
    return subprocess.run(
        [sys.executable, "-m", "rapport", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env},
        check=False,
    )


def write_messy_twcs(path: Path, size: int, *, seed: int = 3, brands: int = 12) -> int:
    """TWCS-shaped rows (threads out of order) plus bad rows that must be
    quarantined; returns the number of good rows."""
    from rapport.bench.datagen import write_twcs_like

    good = write_twcs_like(path, size, seed=seed, brands=brands)
    with path.open("ab") as fh:
        fh.write(b'9000001,someone,True,not a date,"@Brand00Support hello",,\n')
        fh.write(b"9000002,someone,True\n")
        fh.write(b'9000003,some\xffone,True,Tue Oct 31 22:10:47 +0000 2017,"bad bytes",,\n')
        fh.write(b'9000004,someone,maybe,Tue Oct 31 22:10:47 +0000 2017,"bad bool",,\n')
    return good
