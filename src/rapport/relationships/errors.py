"""Errors of the relationships domain (CLI exit 1 with the message)."""

from rapport.errors import NotFoundError, RapportError


class RelationshipError(RapportError):
    """A refused operation on people (merging a person with itself, ...)."""


class PersonNotFound(NotFoundError):
    """No person has this id."""


class IdentityNotFound(NotFoundError):
    """No stored identity matches this `CHANNEL:HANDLE`, email or phone."""


class PersonMerged(RelationshipError):
    """The person was merged into another one."""


class PersonErased(RelationshipError):
    """The person was erased: nothing personal is left to read or change."""


class SalesImportError(RapportError):
    """A sales file cannot be imported at all (missing file, missing columns)."""


class PermissionDenied(RapportError):
    """The acting user's role does not allow this operation."""
