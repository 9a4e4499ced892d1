"""Fixtures for tests that need the real broker and real workers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.workers.harness import (
    RABBIT_URL,
    Broker,
    WorkerProcess,
    ensure_rabbitmq,
    use_broker,
    worker_pool,
)


@pytest.fixture
def broker() -> Iterator[Broker]:
    """RabbitMQ with queue names of this test's own."""
    ensure_rabbitmq()
    with use_broker(RABBIT_URL) as b:
        yield b


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    with worker_pool(tmp_path) as start:
        yield start
