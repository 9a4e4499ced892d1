"""Every task, one module per domain (importing this registers them all)."""

from rapport.workers.tasks import (  # noqa: F401
    analysis,
    channels,
    engagement,
    ingest,
    relationships,
    reports,
    schedule,
)
