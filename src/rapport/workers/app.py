"""The Celery application, configured from Rapport's settings.

Broker: ``RAPPORT_BROKER_URL`` (RabbitMQ ``amqp://...`` in production, Redis
``redis://...`` works too). Every queue, exchange and control channel is
named after ``RAPPORT_QUEUE_PREFIX`` so several deployments (or test runs)
can share one broker without seeing each other's work.

Reliability settings, all deliberate:

- ``task_acks_late`` + ``task_reject_on_worker_lost``: a message is
  acknowledged only after its task finished; a worker killed mid-task
  (``kill -9``, OOM, power loss) leaves it unacknowledged and the broker
  hands it to another worker. Tasks are idempotent, so a redelivery is safe.
- ``worker_prefetch_multiplier = 1``: a worker holds one message per
  process, so long tasks (ingest chunks, analysis batches) are spread over
  every worker instead of piling up behind a busy one.
- publisher confirms on RabbitMQ and publish retries: a message the
  producer was told is sent is on the broker's disk (durable queues,
  persistent messages).
- no result backend: tasks write their results to the database, which is
  where callers (the distributed import, the CLI) look.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, signals
from kombu.entity import Exchange, Queue

from rapport.settings import Settings, get_settings
from rapport.workers.errors import WorkerConfigError

#: Queues by short name; a task goes to the queue of its name's second part
#: (`rapport.ingest.store_chunk` → `<prefix>.ingest`), else `default`.
QUEUES = (
    "ingest",
    "analysis",
    "engagement",
    "relationships",
    "channels",
    "outbox",
    "reports",
    "schedule",
    "default",
)
#: Queues whose tasks are long (seconds to minutes each): one message per process.
LONG_QUEUES = ("ingest", "analysis", "reports", "relationships")

celery_app = Celery("rapport", set_as_current=False)
_configured_for: tuple[str | None, str] | None = None


def queue_name(short: str, prefix: str | None = None) -> str:
    """The broker's name of queue ``short`` (`ingest` → `rapport.ingest`)."""
    return f"{prefix or get_settings().queue_prefix}.{short}"


def queue_for_task(task_name: str, prefix: str | None = None) -> str:
    parts = task_name.split(".")
    short = parts[1] if len(parts) > 2 and parts[0] == "rapport" and parts[1] in QUEUES else None
    return queue_name(short or "default", prefix)


def build_config(settings: Settings) -> dict[str, Any]:
    """Celery configuration for ``settings``."""
    prefix = settings.queue_prefix
    broker = settings.broker_url
    queues = [
        Queue(
            queue_name(short, prefix),
            Exchange(queue_name(short, prefix), type="direct", durable=True),
            routing_key=queue_name(short, prefix),
            durable=True,
        )
        for short in QUEUES
    ]

    def route(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **kw: Any) -> Any:
        queue = queue_for_task(name, prefix)
        return {"queue": queue, "exchange": queue, "routing_key": queue}

    transport: dict[str, Any] = {}
    if broker and broker.startswith(("amqp", "pyamqp")):
        transport["confirm_publish"] = True
    if broker and broker.startswith(("redis", "rediss")):
        # Keys are prefixed too; unacknowledged messages come back after an hour.
        transport["global_keyprefix"] = f"{prefix}:"
        transport["visibility_timeout"] = 3600
    return {
        "broker_url": broker,
        "result_backend": None,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,
        "worker_prefetch_multiplier": 1,
        # A task running when the broker connection drops finishes (its
        # transaction commits or rolls back cleanly); its message comes back
        # after the reconnection and is recognised as done. Cancelling it
        # instead would interrupt a database write half-way.
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "worker_hijack_root_logger": True,
        "worker_send_task_events": False,
        "task_send_sent_event": False,
        "task_queues": queues,
        "task_default_queue": queue_name("default", prefix),
        "task_default_exchange": queue_name("default", prefix),
        "task_default_routing_key": queue_name("default", prefix),
        "task_routes": (route,),
        "task_create_missing_queues": False,
        "task_publish_retry": True,
        "task_publish_retry_policy": {
            "max_retries": 60,
            "interval_start": 0.5,
            "interval_step": 1.0,
            "interval_max": 5.0,
        },
        "broker_connection_retry": True,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        "broker_transport_options": transport,
        "control_exchange": f"{prefix}.control",
        "event_exchange": f"{prefix}.events",
        "beat_schedule": {},
        "timezone": "UTC",
        "enable_utc": True,
    }


def get_app() -> Celery:
    """The Celery app configured for the current settings (reconfigured
    when the broker URL or queue prefix changes, e.g. between tests)."""
    global _configured_for
    settings = get_settings()
    if not settings.broker_url:
        raise WorkerConfigError(
            "no broker configured: set RAPPORT_BROKER_URL "
            "(e.g. amqp://guest:guest@127.0.0.1:5672// or redis://127.0.0.1:6379/0)"
        )
    key = (settings.broker_url, settings.queue_prefix)
    if _configured_for != key:
        if _configured_for is not None:
            celery_app.close()  # drops the connection pool of the old broker
            # queues and routes are cached from the old configuration
            celery_app.__dict__.pop("amqp", None)
        celery_app.conf.update(build_config(settings))
        _configured_for = key
        import rapport.workers.tasks  # noqa: F401  (registers every task)
    return celery_app


@signals.worker_process_init.connect
def _after_fork(**_: Any) -> None:
    """A forked pool process must not share its parent's database connections."""
    from rapport import pipeline
    from rapport.storage.engine import dispose_engines

    dispose_engines()
    pipeline.install()


@signals.worker_init.connect
def _worker_start(**_: Any) -> None:
    from rapport import pipeline

    pipeline.install()


@signals.task_prerun.connect
def _started(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    """Log when a task really starts (received ≠ started: a warm shutdown
    finishes started tasks and leaves received ones on the broker)."""
    import logging

    logging.getLogger("rapport.workers").info(
        "task %s[%s] started", getattr(task, "name", "?"), task_id
    )
