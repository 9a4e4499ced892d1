"""Domain tasks wired to services that exist: a channel poll run by a real
worker against a real local feed server."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from rapport.conversations.models import Message
from rapport.storage.engine import session_scope
from tests.channels.conftest import CASSETTES, FeedServer, feed_server  # noqa: F401
from tests.conftest import Database
from tests.workers.harness import Broker

pytestmark = pytest.mark.slow


def test_poll_task_on_a_worker_stores_a_feed_once(
    db: Database,
    broker: Broker,
    workers,
    cli,
    feed_server: FeedServer,  # noqa: F811
) -> None:
    from rapport.workers.app import get_app
    from rapport.workers.tasks.channels import poll_channel

    url = feed_server.serve("/feed.atom", (CASSETTES / "feeds" / "product-blog.atom").read_bytes())
    assert cli("channels", "add", "rss", "blog", "--url", url, "--json").exit_code == 0
    get_app()
    poll_channel.apply_async(args=("blog",))
    poll_channel.apply_async(args=("blog",))
    worker = workers(queues="channels")
    deadline = time.monotonic() + 90
    while worker.text().count("succeeded in") < 2:
        assert time.monotonic() < deadline, worker.text()[-2000:]
        time.sleep(0.2)
    with session_scope() as s:
        assert s.execute(select(func.count()).select_from(Message)).scalar_one() == 3
    assert "'inserted': 3" in worker.text()
    assert "'inserted': 0" in worker.text()


def test_health_recomputation_runs_on_a_worker(
    db: Database, broker: Broker, workers, cli, tmp_path
) -> None:
    from rapport.bench.datagen import write_twcs_like
    from rapport.relationships.models import PersonHealth
    from rapport.relationships.queries import health_for
    from rapport.workers.app import get_app
    from rapport.workers.tasks.relationships import recompute_health

    data = tmp_path / "people.csv"
    write_twcs_like(data, 600, seed=5, brands=4)
    cli("ingest", str(data))
    get_app()
    recompute_health.apply_async()
    worker = workers(queues="relationships")
    deadline = time.monotonic() + 90
    while "succeeded in" not in worker.text():
        assert time.monotonic() < deadline, worker.text()[-2000:]
        time.sleep(0.2)
    with session_scope() as s:
        stored = s.execute(select(func.count()).select_from(PersonHealth)).scalar_one()
        ids = list(s.execute(select(PersonHealth.person_id)).scalars())
        summaries = health_for(s, ids)
    assert stored > 0
    assert f"'scored': {stored}" in worker.text()
    assert set(summaries) == set(ids)
    assert all(0 <= h.score <= 100 and h.explanation for h in summaries.values())
