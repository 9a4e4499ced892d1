"""Errors of the analysis domain (the CLI turns them into exit code 1)."""

from rapport.errors import NotFoundError, RapportError


class AnalysisError(RapportError):
    """Bad input to an analysis command, or a model that cannot be used."""


class ModelMissingError(AnalysisError):
    """A trained artefact is not in the package: run `make models`."""


class CustomIntentsNotFound(NotFoundError):
    """No custom intent set has this name."""


class TopicNotFound(NotFoundError):
    """No topic has this id."""
