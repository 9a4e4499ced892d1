"""The root of Rapport's error types.

Each domain defines its own errors (``IngestError``, ``PersonNotFound``...)
as subclasses, so the faces can turn any of them into exit code 1 (CLI) or a
4xx answer (API) with the message, while a bug still shows its traceback.
"""


class RapportError(Exception):
    """Bad input or a refused operation; the message says what, where and why."""


class NotFoundError(RapportError):
    """A named thing (thread, person, identity, user...) does not exist."""
