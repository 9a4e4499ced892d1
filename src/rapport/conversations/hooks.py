"""Where the rest of the loop plugs into storage.

Downstream domains (relationships, analysis, engagement, network, reports)
register callbacks here; the conversations service calls them inside the
same transaction as the batch it stored, so a crash leaves both or neither.
Conversations never imports those domains: they import it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from rapport.conversations.search import SearchFilters, SearchHit


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


#: (session, the option's value) -> the ids of the threads that pass
#: (``select(ThreadState.thread_id).where(...)``), for a search filter such as
#: ``status`` or ``label`` that another domain owns. The search applies it to
#: every kind of hit (``Message.thread_id.in_(...)``, a note's thread...); a
#: value that names nothing raises (a `RapportError` saying what exists).
ThreadFilter = Callable[[Session, str], Select[int]]
#: (session, parsed query, filters, limit) -> (hits, total): more results of
#: a search from another domain's text (internal notes...), merged by score.
SearchSource = Callable[[Session, Any, "SearchFilters", int], "tuple[list[SearchHit], int]"]

_thread_filters: dict[str, ThreadFilter] = {}
_search_sources: dict[str, SearchSource] = {}


def on_search_thread_filter(name: str, build: ThreadFilter) -> None:
    """Let searches filter by ``name`` (``status``, ``label``...): ``build``
    turns the asked value into the threads whose messages and notes pass."""
    _thread_filters[name] = build


def on_search(name: str, source: SearchSource) -> None:
    """Add ``source``'s hits (kind other than ``message``) to every search."""
    _search_sources[name] = source


def search_thread_filter(name: str) -> ThreadFilter | None:
    return _thread_filters.get(name)


def search_sources() -> list[SearchSource]:
    return list(_search_sources.values())


def remove_hook(name: str) -> None:
    _batch_hooks.pop(name, None)
    _merge_hooks.pop(name, None)
    _thread_filters.pop(name, None)
    _search_sources.pop(name, None)


def run_batch_hooks(session: Session, batch: StoredBatch) -> None:
    for hook in list(_batch_hooks.values()):
        hook(session, batch)


def run_merge_hooks(session: Session, survivor: int, absorbed: list[int]) -> None:
    for hook in list(_merge_hooks.values()):
        hook(session, survivor, absorbed)
