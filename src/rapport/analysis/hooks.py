"""Where downstream domains learn that stored analysis is about to change.

The ingest path analyses new messages (their rows are new: nothing to tell).
Re-analysis (`do_store_analysis(replace=True)`) and topic discovery change
rows already stored; domains that keep figures derived from them (the
reports' pre-aggregated buckets) register a pair of callbacks here and are
called, in the same transaction, with the message ids before and after the
change, so they can take the old values out and put the new ones in.
Register in `rapport/pipeline.py::install()`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

from sqlalchemy.orm import Session

ChangeHook = Callable[[Session, Sequence[int]], None]

_hooks: dict[str, tuple[ChangeHook, ChangeHook]] = {}


def on_analysis_changed(name: str, before: ChangeHook, after: ChangeHook) -> None:
    """Call ``before`` then ``after`` around every change to stored analysis
    rows (re-registering a name replaces it)."""
    _hooks[name] = (before, after)


def remove_hook(name: str) -> None:
    _hooks.pop(name, None)


@contextlib.contextmanager
def changing(session: Session, message_ids: Sequence[int]) -> Iterator[None]:
    """Wrap a change to the stored analysis of ``message_ids``."""
    ids = list(message_ids)
    hooks = list(_hooks.values()) if ids else []
    for before, _ in hooks:
        before(session, ids)
    yield
    for _, after in hooks:
        after(session, ids)
