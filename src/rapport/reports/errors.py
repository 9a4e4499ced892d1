"""Errors of the reports domain (the CLI turns them into exit code 1, the
API into 422/404)."""

from __future__ import annotations

from rapport.errors import NotFoundError, RapportError


class InsightsError(RapportError):
    """Bad input to an insight, or a refused change (a rule, a setting)."""


class InvalidQuery(InsightsError):
    """A listening query that does not parse; says where."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


class QueryNotFound(NotFoundError):
    """No listening query has this name."""


class RuleNotFound(NotFoundError):
    """No alert rule has this name."""
