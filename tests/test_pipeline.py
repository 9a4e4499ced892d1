"""The loop's wiring runs its stages in one order, whatever happened before."""

from __future__ import annotations

from rapport import pipeline
from rapport.conversations import hooks


def test_reinstall_restores_the_stage_order_after_a_hook_was_switched_off() -> None:
    expected = [n for n in hooks.batch_hook_names() if n in pipeline.BATCH_HOOK_ORDER]
    assert expected == list(pipeline.BATCH_HOOK_ORDER)
    try:
        hooks.remove_hook("analysis.understand")  # as a test or bench that skips analysis
        assert "analysis.understand" not in hooks.batch_hook_names()
    finally:
        pipeline.install()
    names = hooks.batch_hook_names()
    # Analysis runs again before the buckets and triage that read what it stored.
    assert [n for n in names if n in pipeline.BATCH_HOOK_ORDER] == list(pipeline.BATCH_HOOK_ORDER)
    assert names.index("analysis.understand") < names.index("reports.buckets")
