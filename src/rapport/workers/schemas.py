"""What the workers face shows: dead letters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class DeadLetterPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    task_id: str
    task_name: str
    queue: str | None
    error_type: str
    error: str
    retries: int
    status: str
    failed_at: datetime
    replayed_at: datetime | None
    replay_task_id: str | None
    #: Size of the arguments (a chunk can hold thousands of records).
    args_summary: str


def summarise_args(args: list[Any], kwargs: dict[str, Any]) -> str:
    """A short description of a task's arguments for listings."""
    parts = []
    for value in args:
        if isinstance(value, list | dict):
            parts.append(f"<{type(value).__name__} of {len(value)}>")
        else:
            text = repr(value)
            parts.append(text if len(text) <= 200 else text[:197] + "...")
    for key, value in kwargs.items():
        if isinstance(value, list | dict):
            parts.append(f"{key}=<{type(value).__name__} of {len(value)}>")
        else:
            parts.append(f"{key}={value!r}"[:200])
    return ", ".join(parts)
