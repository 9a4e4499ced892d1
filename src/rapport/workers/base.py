"""The base of every Rapport task: late acknowledgement, retries with
exponential back-off on transient failures, a bound on redeliveries, and a
dead letter for whatever fails for good."""

from __future__ import annotations

import logging
import random
from typing import Any

from celery import Task
from celery.exceptions import Retry
from kombu.exceptions import OperationalError as BrokerOperationalError
from sqlalchemy.exc import DBAPIError, OperationalError

from rapport.settings import get_settings
from rapport.storage.engine import session_scope
from rapport.workers.service import do_count_delivery, record_dead_letter_durably

log = logging.getLogger(__name__)


class TooManyDeliveries(RuntimeError):
    """A message kept coming back without its task finishing (its worker was
    killed each time, say): it is dead-lettered instead of looping."""


def is_transient(exc: BaseException) -> bool:
    """Failures worth retrying: the database or broker went away, a lock
    timed out. Bad input and bugs are not retried."""
    if isinstance(exc, OperationalError | BrokerOperationalError | ConnectionError | TimeoutError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def backoff_seconds(retries: int) -> float:
    """Exponential back-off with jitter: ~1, 2, 4 ... capped at 120 seconds."""
    return float(min(2**retries, 120)) * random.uniform(0.5, 1.5)


class RapportTask(Task):  # type: ignore[misc]
    acks_late = True
    reject_on_worker_lost = True
    ignore_result = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        request = self.request
        try:
            if self._delivered_too_often(args, kwargs):
                return None
            return self.run(*args, **kwargs)
        except Retry:
            raise
        except Exception as exc:
            retries = request.retries or 0
            if (
                not request.called_directly
                and is_transient(exc)
                and retries < get_settings().task_max_retries
            ):
                countdown = backoff_seconds(retries)
                log.warning(
                    "task %s %s: transient failure (%s), retry %d in %.1fs",
                    self.name,
                    request.id,
                    exc,
                    retries + 1,
                    countdown,
                )
                raise self.retry(exc=exc, countdown=countdown) from exc
            raise

    def _delivered_too_often(self, args: Any, kwargs: Any) -> bool:
        """Count a redelivery (the broker's flag); past the limit the message
        becomes a dead letter and is acknowledged instead of run again."""
        request = self.request
        if request.called_directly or not (request.delivery_info or {}).get("redelivered"):
            return False
        limit = get_settings().task_max_deliveries
        with session_scope(write=True) as session:
            deliveries = do_count_delivery(session, request.id, self.name)
        log.warning("task %s %s delivered again (%d times)", self.name, request.id, deliveries)
        if deliveries <= limit:
            return False
        record_dead_letter_durably(
            task_id=request.id,
            task_name=self.name,
            queue=(request.delivery_info or {}).get("routing_key"),
            args=list(args),
            kwargs=dict(kwargs),
            exc=TooManyDeliveries(
                f"delivered {deliveries} times without finishing "
                f"(limit RAPPORT_TASK_MAX_DELIVERIES={limit})"
            ),
            traceback="",
            retries=request.retries or 0,
        )
        return True

    def on_failure(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        record_dead_letter_durably(
            task_id=task_id,
            task_name=self.name,
            queue=(self.request.delivery_info or {}).get("routing_key"),
            args=list(args or []),
            kwargs=dict(kwargs or {}),
            exc=exc,
            traceback=str(einfo) if einfo is not None else None,
            retries=self.request.retries or 0,
        )
