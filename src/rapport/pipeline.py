"""The loop's wiring: connects each downstream domain to the conversations
hooks, so a stored batch flows on (people, analysis, triage...).

Faces (CLI, web, workers) call `install()` once at start-up; domains never
import each other's hooks directly.
"""

from __future__ import annotations

from rapport.analysis import hooks as analysis_hooks
from rapport.conversations import hooks


def install() -> None:
    """Register every domain's ingest hooks (idempotent)."""
    from rapport.analysis import service as analysis
    from rapport.network import service as network
    from rapport.relationships import service as relationships
    from rapport.reports import buckets

    hooks.on_batch_stored("relationships.people", relationships.on_batch_stored)
    hooks.on_batch_stored("network.ties", network.on_batch_stored)
    hooks.on_batch_stored("analysis.understand", analysis.on_batch_stored)
    # After analysis: the buckets count each message's stored sentiment and topics.
    hooks.on_batch_stored("reports.buckets", buckets.on_batch_stored)
    hooks.on_threads_merged("reports.buckets", buckets.on_threads_merged)
    analysis_hooks.on_analysis_changed(
        "reports.buckets", buckets.before_analysis_change, buckets.after_analysis_change
    )

    from rapport.channels.service import POLL_JOB_KIND, run_poll_job
    from rapport.scheduling.registry import register_kind

    register_kind(POLL_JOB_KIND, run_poll_job)

    from rapport.reports.service import ALERTS_JOB_KIND, run_alerts_job

    register_kind(ALERTS_JOB_KIND, run_alerts_job)
