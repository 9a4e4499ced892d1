"""Pydantic schemas of the auth domain."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Token(BaseModel):
    """The OAuth2 password flow's answer."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"


class Principal(BaseModel):
    """Who is calling: a logged-in user with their role."""

    id: int
    email: str
    username: str
    name: str | None
    role: str
