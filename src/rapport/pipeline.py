"""The loop's wiring: connects each downstream domain to the conversations
hooks, so a stored batch flows on (people, analysis, triage...).

Faces (CLI, web, workers) call `install()` once at start-up; domains never
import each other's hooks directly.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from rapport.analysis import hooks as analysis_hooks
from rapport.conversations import hooks

#: The batch and merge hooks `install()` registers, in the order they must run:
#: people before analysis (it reads nothing of theirs, but triage reads both),
#: analysis before the buckets (they count stored sentiment and topics) and
#: before triage (it reads the batch's analysis).
BATCH_HOOK_ORDER = (
    "relationships.people",
    "network.ties",
    "analysis.understand",
    "reports.buckets",
    "engagement.triage",
)


def install() -> None:
    """Register every domain's ingest hooks (idempotent).

    A hook removed and registered again (a test or a bench switching one
    stage off) would otherwise move to the end of the run order; `install()`
    always restores the order of `BATCH_HOOK_ORDER`."""
    from rapport.analysis import service as analysis
    from rapport.network import service as network
    from rapport.relationships import service as relationships
    from rapport.reports import buckets

    for name in (*BATCH_HOOK_ORDER, "engagement.merge"):
        hooks.remove_hook(name)
    hooks.on_batch_stored("relationships.people", relationships.on_batch_stored)
    hooks.on_batch_stored("network.ties", network.on_batch_stored)
    hooks.on_batch_stored("analysis.understand", analysis.on_batch_stored)
    # After analysis: the buckets count each message's stored sentiment and topics.
    hooks.on_batch_stored("reports.buckets", buckets.on_batch_stored)
    hooks.on_threads_merged("reports.buckets", buckets.on_threads_merged)
    analysis_hooks.on_analysis_changed(
        "reports.buckets", buckets.before_analysis_change, buckets.after_analysis_change
    )
    _install_privacy_hooks()
    _install_engagement()

    from rapport.channels.service import POLL_JOB_KIND, run_poll_job
    from rapport.scheduling.registry import register_kind

    register_kind(POLL_JOB_KIND, run_poll_job)

    from rapport.reports.service import ALERTS_JOB_KIND, run_alerts_job

    register_kind(ALERTS_JOB_KIND, run_alerts_job)


def _install_privacy_hooks() -> None:
    """Every domain that keeps a copy of personal data answers a person's
    export and erasure (`rapport.relationships.hooks`), in the same
    transaction as `do_export_person` / `do_erase_person`."""
    from rapport.analysis import service as analysis
    from rapport.knowledge import queries as knowledge_queries
    from rapport.knowledge import service as knowledge
    from rapport.network import queries as network_queries
    from rapport.network import service as network
    from rapport.preferences import queries as preferences
    from rapport.relationships.hooks import PersonData, on_person_erased, on_person_exported

    def forget_evidence(session: Session, data: PersonData) -> None:
        analysis.do_forget_evidence(session, data.message_ids)

    on_person_erased("analysis.evidence", forget_evidence)
    on_person_erased("knowledge.entries", knowledge.do_erase_person)
    on_person_exported("knowledge.entries", knowledge_queries.entries_for_person)
    on_person_erased("network.ties", network.do_erase_person)
    on_person_exported("network.ties", network_queries.ties_for_person)
    on_person_exported(
        "preferences.requests",
        lambda s, data: [
            r.model_dump(mode="json") for r in preferences.requests_for(s, data.person_id)
        ],
    )


def _install_engagement() -> None:
    """Triage after analysis (it reads the analysis of the batch), outbox and
    rescoring jobs, the privacy hooks of what engagement keeps, and what it
    adds to search (status and label filters, internal notes)."""
    from rapport.engagement import privacy, workspace
    from rapport.engagement import search as engagement_search
    from rapport.engagement import service as engagement
    from rapport.relationships import hooks as people_hooks
    from rapport.scheduling.registry import register_kind

    hooks.on_batch_stored("engagement.triage", engagement.on_batch_stored)
    hooks.on_threads_merged("engagement.merge", engagement.on_threads_merged)
    register_kind(engagement.OUTBOX_JOB, engagement.run_outbox_job)
    register_kind(engagement.RESCORE_JOB, engagement.run_rescore_job)
    register_kind(workspace.WAKE_JOB, workspace.run_wake_job)
    people_hooks.on_person_erased("engagement", privacy.erase_person)
    people_hooks.on_person_exported("engagement", privacy.export_person)
    # `rapport search --status/--label`, and internal notes among the results.
    hooks.on_search_thread_filter("status", engagement_search.status_threads)
    hooks.on_search_thread_filter("label", engagement_search.label_threads)
    hooks.on_search("engagement.notes", engagement_search.search_notes)
