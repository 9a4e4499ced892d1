"""Commands that use the database call `ensure_schema()` first: a brand-new
database is created on the spot; an outdated one asks for `rapport db upgrade`."""

from __future__ import annotations

from rapport.cli.output import fail
from rapport.storage import migrate

_checked = False


def ensure_schema() -> None:
    global _checked
    if _checked:
        return
    current = migrate.current_revisions()
    if not current:
        migrate.upgrade()
    elif current != migrate.head_revisions():
        fail("the database schema is not up to date: run `rapport db upgrade`")
    _checked = True
