"""Pydantic shapes of the scheduling domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class JobCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1, max_length=100)
    interval_seconds: float = Field(gt=0)
    payload: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    #: First run; default now.
    first_run_at: datetime | None = None


class JobPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    kind: str
    payload: dict[str, Any]
    interval_seconds: float
    enabled: bool
    next_run_at: datetime
    last_run_at: datetime | None
    last_finished_at: datetime | None
    last_status: str | None
    last_error: str | None
    runs: int
    failures: int
