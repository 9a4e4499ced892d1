"""Where other domains plug into people's privacy requests.

Analysis, engagement, knowledge, notes and labels keep copies of personal
data keyed by message, thread or person. They register here (in
`rapport/pipeline.py::install()`), and `do_erase_person` / `export_person`
call them inside the same transaction, so an erasure is complete or not
done at all. Relationships never imports those domains.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class PersonData:
    """What identifies one person, handed to the hooks."""

    person_id: int
    identity_ids: list[int]
    #: Messages the person wrote.
    message_ids: list[int]
    #: Other messages that reply to or mention the person (their text may quote them).
    related_message_ids: list[int]
    #: Literal strings to scrub wherever they were copied: handles, emails, phones.
    identifiers: list[str] = field(default_factory=list)

    def identifier_pattern(self) -> re.Pattern[str] | None:
        """One regex finding any of the person's identifiers in a copied text."""
        return identifier_pattern(self.identifiers)


def identifier_pattern(identifiers: Sequence[str]) -> re.Pattern[str] | None:
    """One regex finding any of a person's handles, names, emails and phone
    numbers (phones whatever their separators: `+1 (555) 010-7788`)."""
    words = sorted({i for i in identifiers if len(i) >= 2}, key=len, reverse=True)
    if not words:
        return None
    alternatives = [rf"(?<![\w@.+-])@?{re.escape(w)}(?![\w])" for w in words]
    for word in words:
        digits = re.sub(r"\D", "", word)
        if len(digits) >= 7 and re.fullmatch(r"[+\d\s().\-]+", word):
            for tail in {digits, digits[-10:]}:
                spaced = r"[\s().\-]*".join(tail)
                alternatives.append(rf"(?<!\d)\+?{spaced}(?!\d)")
    return re.compile("|".join(alternatives), re.IGNORECASE)


#: Remove the person's personal data from the domain's tables (same transaction).
ErasureHook = Callable[[Session, PersonData], None]
#: Return the domain's data about the person as a JSON-ready mapping.
ExportHook = Callable[[Session, PersonData], Any]

_erasure_hooks: dict[str, ErasureHook] = {}
_export_hooks: dict[str, ExportHook] = {}


def on_person_erased(name: str, hook: ErasureHook) -> None:
    """Run ``hook`` when a person is erased (re-registering a name replaces it)."""
    _erasure_hooks[name] = hook


def on_person_exported(name: str, hook: ExportHook) -> None:
    """Add ``hook``'s result under ``name`` in `people export`."""
    _export_hooks[name] = hook


def remove_hook(name: str) -> None:
    _erasure_hooks.pop(name, None)
    _export_hooks.pop(name, None)


def run_erasure_hooks(session: Session, data: PersonData) -> list[str]:
    for hook in list(_erasure_hooks.values()):
        hook(session, data)
    return sorted(_erasure_hooks)


def run_export_hooks(session: Session, data: PersonData) -> dict[str, Any]:
    return {name: hook(session, data) for name, hook in sorted(_export_hooks.items())}
