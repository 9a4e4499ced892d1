"""Filtering the audit trail by action: `*` is the only wildcard."""

from __future__ import annotations

from typing import Any

from rapport.audit.service import do_record, list_events
from rapport.storage.engine import session_scope


def test_action_filter_treats_like_characters_literally(db: Any) -> None:
    with session_scope(write=True) as session:
        for action in ("people.merge", "people.erase", "peopleXmerge", "kb_approve", "kb.approve"):
            do_record(session, "cli:test", action)
    with session_scope() as session:

        def actions(pattern: str) -> set[str]:
            events, total = list_events(session, action=pattern)
            assert total == len(events)
            return {e.action for e in events}

        assert actions("people.*") == {"people.merge", "people.erase"}
        assert actions("kb_approve") == {"kb_approve"}  # `_` is not "any character"
        assert actions("people%") == set()  # `%` is not a wildcard
        assert actions("\\") == set()  # a lone escape is a plain character, not an error
        assert actions("*merge") == {"people.merge", "peopleXmerge"}
