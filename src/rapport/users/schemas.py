"""Pydantic schemas of users."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class UserCreate(BaseModel):
    email: str
    role: str
    password: str | None = None
    name: str | None = None
    team: str | None = None


class UserUpdate(BaseModel):
    role: str | None = None
    name: str | None = None
    team: str | None = None
    active: bool | None = None


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    username: str
    name: str | None
    role: str
    team: str | None
    active: bool
    created_at: datetime
