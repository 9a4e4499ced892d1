"""Where the rest of the loop plugs into storage.

Downstream domains (relationships, analysis, engagement, network, reports)
register callbacks here; the conversations service calls them inside the
same transaction as the batch it stored, so a crash leaves both or neither.
Conversations never imports those domains: they import it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class StoredBatch:
    """What one stored batch changed."""

    message_ids: list[int]
    #: Threads that gained messages (after merges: the surviving ids).
    thread_ids: set[int]
    #: Identities created by this batch that are not our accounts.
    new_identity_ids: list[int] = field(default_factory=list)
    #: Identities that became our accounts in this batch.
    new_account_identity_ids: list[int] = field(default_factory=list)


BatchHook = Callable[[Session, StoredBatch], None]
#: (session, surviving thread id, absorbed thread ids) before the absorbed rows go.
MergeHook = Callable[[Session, int, list[int]], None]

_batch_hooks: dict[str, BatchHook] = {}
_merge_hooks: dict[str, MergeHook] = {}


def on_batch_stored(name: str, hook: BatchHook) -> None:
    """Run ``hook`` after every stored batch (re-registering a name replaces it)."""
    _batch_hooks[name] = hook


def on_threads_merged(name: str, hook: MergeHook) -> None:
    """Run ``hook`` when stored threads merge because a message links them."""
    _merge_hooks[name] = hook


def batch_hook_names() -> list[str]:
    """The registered batch hooks, in the order they run."""
    return list(_batch_hooks)


def remove_hook(name: str) -> None:
    _batch_hooks.pop(name, None)
    _merge_hooks.pop(name, None)


def run_batch_hooks(session: Session, batch: StoredBatch) -> None:
    for hook in list(_batch_hooks.values()):
        hook(session, batch)


def run_merge_hooks(session: Session, survivor: int, absorbed: list[int]) -> None:
    for hook in list(_merge_hooks.values()):
        hook(session, survivor, absorbed)
