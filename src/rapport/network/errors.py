"""Errors of the network domain."""

from rapport.errors import RapportError


class NetworkError(RapportError):
    """A graph cannot be analysed (missing file, nothing usable in it...)."""


class EmptyGraphError(NetworkError):
    """There is nothing to analyse: no node or no edge."""


class ExportFormatError(NetworkError):
    """An export format Rapport does not write."""
