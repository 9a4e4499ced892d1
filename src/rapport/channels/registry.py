"""Connector kinds, registered by name: each lives in its own folder
(`rapport/channels/<kind>/`) and declares its options, which of them are
secret (encrypted at rest) and how to build a connector."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from rapport.channels.base import Connector, ConnectorContext
from rapport.channels.errors import ChannelConfigError


@dataclass(frozen=True)
class ConnectorType:
    kind: str
    summary: str
    options: type[BaseModel]
    #: Option names kept encrypted (tokens, passwords, signing secrets).
    secret_fields: frozenset[str]
    build: Callable[[str, Any, ConnectorContext], Connector]
    #: It has something to fetch on a schedule.
    pollable: bool
    #: It accepts deliveries at POST /api/v1/channels/{name}/webhook.
    receives: bool
    #: It can publish replies.
    sends: bool
    default_interval: float = 300.0

    def validate(self, values: dict[str, Any]) -> BaseModel:
        """The options, checked; `ChannelConfigError` says which are wrong and why."""
        try:
            return self.options.model_validate(values)
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"]) or "(options)"
                message = err["msg"]
                if err["type"] == "extra_forbidden":
                    known = ", ".join(self.options.model_fields)
                    message = f"unknown option for {self.kind} (known: {known})"
                problems.append(f"{where}: {message}")
            raise ChannelConfigError(
                f"{self.kind} channel options: " + "; ".join(problems)
            ) from None

    def split(self, options: BaseModel) -> tuple[dict[str, Any], dict[str, Any]]:
        """(config kept in clear, secrets kept encrypted)."""
        values = options.model_dump(mode="json", exclude_none=True)
        config = {k: v for k, v in values.items() if k not in self.secret_fields}
        secrets = {k: v for k, v in values.items() if k in self.secret_fields}
        return config, secrets

    def describe(self) -> dict[str, Any]:
        fields = {}
        for name, info in self.options.model_fields.items():
            fields[name] = {
                "required": info.is_required(),
                "secret": name in self.secret_fields,
                "default": None
                if info.is_required()
                else info.get_default(call_default_factory=True),
                "help": info.description or "",
            }
        return {
            "kind": self.kind,
            "summary": self.summary,
            "polls": self.pollable,
            "webhook": self.receives,
            "sends": self.sends,
            "default_interval_seconds": self.default_interval,
            "options": fields,
        }


#: kind → module defining ``CONNECTOR_TYPE``.
KIND_MODULES = {
    "rss": "rapport.channels.rss.connector",
    "mastodon": "rapport.channels.mastodon.connector",
    "bluesky": "rapport.channels.bluesky.connector",
    "email": "rapport.channels.email.connector",
    "discourse": "rapport.channels.discourse.connector",
    "sms": "rapport.channels.sms.connector",
    "webhook": "rapport.channels.webhook.connector",
}

_types: dict[str, ConnectorType] = {}


def register(connector_type: ConnectorType) -> None:
    """Add a connector kind (a plug-in outside this package may call it)."""
    _types[connector_type.kind] = connector_type


def get_type(kind: str) -> ConnectorType:
    if kind not in _types and kind in KIND_MODULES:
        module = importlib.import_module(KIND_MODULES[kind])
        register(module.CONNECTOR_TYPE)
    try:
        return _types[kind]
    except KeyError:
        raise ChannelConfigError(
            f"unknown channel type {kind!r} (known: {', '.join(kinds())})"
        ) from None


def kinds() -> list[str]:
    return sorted(set(KIND_MODULES) | set(_types))


def all_types() -> list[ConnectorType]:
    return [get_type(k) for k in kinds()]
