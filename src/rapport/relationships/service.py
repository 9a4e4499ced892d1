"""The relationships service: every write to people, their identity links,
roles, health, consent, preferences, sales, merges and erasures.

Sensitive writes (merge, unmerge, roles, consent, contacts, exports,
erasures, sales imports) are recorded in the audit trail, with ids and field
names only: never the personal text an erasure must later remove.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Table, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from rapport.analysis.queries import analyses_for
from rapport.audit.service import cli_actor, do_record, list_events
from rapport.conversations import service as conversations
from rapport.conversations.hooks import StoredBatch
from rapport.conversations.importers.records import Rejected
from rapport.conversations.models import Channel, Identity, Message, MessageMention
from rapport.conversations.queries import raw_payloads
from rapport.relationships import queries
from rapport.relationships.errors import (
    PermissionDenied,
    RelationshipError,
    SalesImportError,
)
from rapport.relationships.health import data_clock, gather_facts, health_row, score_facts
from rapport.relationships.hooks import PersonData, run_erasure_hooks, run_export_hooks
from rapport.relationships.models import (
    ACTIVE,
    ERASED,
    MERGED,
    ROLES,
    Consent,
    IdentityAttribute,
    NotDuplicate,
    Person,
    PersonErasure,
    PersonHealth,
    PersonHealthStale,
    PersonIdentity,
    PersonMerge,
    PersonPreference,
    PersonRole,
    Sale,
)
from rapport.relationships.roles import suggest_roles
from rapport.relationships.schemas import (
    ConsentPublic,
    ErasureSummary,
    MergeResult,
    RoleSuggestion,
    SalesImportSummary,
    UnmergeResult,
)
from rapport.relationships.settings import get_health_settings
from rapport.settings import get_settings
from rapport.storage.base import UTCDateTime, utcnow
from rapport.storage.bulk import allocate_ids, bulk_insert, db_json, db_timestamp, in_values

# ------------------------------------------------------------------ permissions

#: Which users' roles may do what. The CLI run by an operator on the server
#: (no `--as`) acts with full rights as `cli:<os user>`.
PERMISSIONS: dict[str, frozenset[str]] = {
    "people.read": frozenset({"agent", "manager", "analyst", "admin"}),
    "people.merge": frozenset({"agent", "manager", "admin"}),
    "people.role": frozenset({"agent", "manager", "admin"}),
    "people.contact": frozenset({"agent", "manager", "admin"}),
    "consent.set": frozenset({"agent", "manager", "admin"}),
    "people.health": frozenset({"agent", "manager", "analyst", "admin"}),
    "sales.import": frozenset({"manager", "analyst", "admin"}),
    "people.export": frozenset({"manager", "admin"}),
    "people.erase": frozenset({"admin"}),
}


def authorize(session: Session, user: str | None, action: str) -> str:
    """The actor to record for ``action`` by ``user`` (id, email or username);
    refuses a user whose role does not allow it. None: the shell operator."""
    if user is None:
        return cli_actor()
    from rapport.users.service import get_user

    found = get_user(session, user)
    allowed = PERMISSIONS.get(action, frozenset({"admin"}))
    if not found.active:
        raise PermissionDenied(f"user {found.email} is disabled")
    if found.role not in allowed:
        raise PermissionDenied(
            f"{action} needs the role {' or '.join(sorted(allowed))}; {found.email} is {found.role}"
        )
    return found.email


# ------------------------------------------------------------------ small writers


def _insert_ignore(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(postgresql.insert(table).on_conflict_do_nothing(), rows)
    else:
        session.execute(sqlite.insert(table).on_conflict_do_nothing(), rows)


def _mark_stale(session: Session, person_ids: Sequence[int]) -> None:
    _insert_ignore(
        session,
        PersonHealthStale.__table__,  # type: ignore[arg-type]
        [{"person_id": p} for p in sorted(set(person_ids))],
    )


def do_refresh_search_keys(session: Session, person_ids: Sequence[int]) -> None:
    """Rebuild what `people list --q` matches for these people."""
    if not person_ids:
        return
    parts: dict[int, list[str]] = defaultdict(list)
    for pid, ident in queries.identities_of(session, person_ids).items():
        for i in ident:
            parts[pid].extend([i.handle, i.display_name or "", *i.emails, *i.phones])
    for person in session.execute(
        select(Person).where(in_values(session, Person.id, list(person_ids)))
    ).scalars():
        words = [person.display_name or "", *parts.get(person.id, [])]
        person.search_key = " ".join(w.casefold() for w in words if w)
    session.flush()


def do_recount_people(session: Session, person_ids: Sequence[int]) -> None:
    """Recompute message count, first and last seen of these people from scratch."""
    ids = sorted(set(person_ids))
    if not ids:
        return
    stats = {
        int(pid): (int(n), first, last)
        for pid, n, first, last in session.execute(
            select(
                PersonIdentity.person_id,
                func.count(Message.id),
                func.min(Message.created_at),
                func.max(Message.created_at),
            )
            .join(Message, Message.author_identity_id == PersonIdentity.identity_id)
            .where(in_values(session, PersonIdentity.person_id, ids))
            .group_by(PersonIdentity.person_id)
        )
    }
    for pid in ids:
        n, first, last = stats.get(pid, (0, None, None))
        session.execute(
            update(Person)
            .where(Person.id == pid)
            .values(message_count=n, first_seen_at=first, last_seen_at=last)
        )


# ------------------------------------------------------------------ ingest


def do_create_people_for_identities(session: Session, identity_ids: Sequence[int]) -> list[int]:
    """One new person per identity (identities seen for the first time)."""
    if not identity_ids:
        return []
    names = {
        int(i): " ".join(x.casefold() for x in (key, name) if x)
        for i, key, name in session.execute(
            select(Identity.id, Identity.handle_key, Identity.display_name).where(
                in_values(session, Identity.id, list(identity_ids))
            )
        )
    }
    person_ids = allocate_ids(session, Person.__table__, len(identity_ids))  # type: ignore[arg-type]
    now = db_timestamp(session, utcnow())
    bulk_insert(
        session,
        Person.__table__,  # type: ignore[arg-type]
        ("id", "created_at", "status", "message_count", "search_key"),
        [
            (pid, now, ACTIVE, 0, names.get(iid, ""))
            for pid, iid in zip(person_ids, identity_ids, strict=True)
        ],
    )
    bulk_insert(
        session,
        PersonIdentity.__table__,  # type: ignore[arg-type]
        ("identity_id", "person_id", "linked_at", "source"),
        [(iid, pid, now, "auto") for iid, pid in zip(identity_ids, person_ids, strict=True)],
    )
    return person_ids


def _detach_accounts(session: Session, identity_ids: Sequence[int]) -> None:
    """Identities that turned out to be our own accounts are no person's."""
    owners = queries.people_for_identities(session, identity_ids)
    if not owners:
        return
    session.execute(
        delete(PersonIdentity).where(in_values(session, PersonIdentity.identity_id, list(owners)))
    )
    left = set(
        session.execute(
            select(PersonIdentity.person_id).where(
                in_values(session, PersonIdentity.person_id, sorted(set(owners.values())))
            )
        ).scalars()
    )
    empty = [p for p in set(owners.values()) if p not in left]
    if empty:
        session.execute(delete(Person).where(in_values(session, Person.id, empty)))
    do_recount_people(session, [p for p in set(owners.values()) if p in left])


def on_batch_stored(session: Session, batch: StoredBatch) -> None:
    """Ingest hook: every new author identity becomes a person; the people who
    wrote (or were answered) in the batch get their activity counted and their
    health queued for recomputation."""
    do_create_people_for_identities(session, batch.new_identity_ids)
    if batch.new_account_identity_ids:
        _detach_accounts(session, batch.new_account_identity_ids)
    if not batch.message_ids:
        return
    authors = session.execute(
        select(
            PersonIdentity.person_id,
            func.count(Message.id),
            func.min(Message.created_at),
            func.max(Message.created_at),
        )
        .join(PersonIdentity, PersonIdentity.identity_id == Message.author_identity_id)
        .where(in_values(session, Message.id, batch.message_ids))
        .group_by(PersonIdentity.person_id)
    ).all()
    if authors:
        first_p = bindparam("f", type_=UTCDateTime())
        last_p = bindparam("l", type_=UTCDateTime())
        table: Table = Person.__table__  # type: ignore[assignment]
        stmt = (
            update(table)
            .where(table.c.id == bindparam("pid"))
            .values(
                message_count=table.c.message_count + bindparam("n"),
                first_seen_at=func.coalesce(_earliest(table.c.first_seen_at, first_p), first_p),
                last_seen_at=func.coalesce(_latest(table.c.last_seen_at, last_p), last_p),
            )
        )
        session.connection().execute(
            stmt, [{"pid": int(p), "n": int(n), "f": f, "l": la} for p, n, f, la in authors]
        )
    m = aliased(Message, name="m")
    parent = aliased(Message, name="p")
    answered = session.execute(
        select(PersonIdentity.person_id)
        .join(parent, parent.author_identity_id == PersonIdentity.identity_id)
        .join(
            m, and_(m.channel_id == parent.channel_id, m.parent_external_id == parent.external_id)
        )
        .where(in_values(session, m.id, batch.message_ids))
        .distinct()
    ).scalars()
    _mark_stale(session, [int(p) for p, *_ in authors] + [int(p) for p in answered])


def _earliest(column: Any, value: Any) -> Any:
    from sqlalchemy import case

    return case((column <= value, column), else_=None)


def _latest(column: Any, value: Any) -> Any:
    from sqlalchemy import case

    return case((column >= value, column), else_=None)


# ------------------------------------------------------------------ contacts


def do_add_contacts(
    session: Session,
    identity_ref: str,
    *,
    emails: Sequence[str] = (),
    phones: Sequence[str] = (),
    actor: str,
    source: str = "manual",
) -> int:
    """Record emails and phone numbers known for an identity; returns its person."""
    parsed = queries.parse_identity_ref(identity_ref, allow_contact=False)
    found = queries.identities_matching(session, parsed)
    if not found:
        from rapport.relationships.errors import IdentityNotFound

        raise IdentityNotFound(f"no identity {identity_ref!r} is stored")
    identity_id = found[0]
    person_id = queries.person_for_identity(session, identity_id)
    if person_id is None:
        raise RelationshipError(f"{identity_ref} is one of our own accounts, not a person")
    queries.get_person(session, person_id)
    rows = []
    for email in emails:
        if not queries.EMAIL_RE.match(email.strip()):
            raise RelationshipError(f"--email: {email!r} is not an email address")
        rows.append(("email", email.strip(), queries.email_key(email)))
    for phone in phones:
        key = queries.phone_key(phone)
        if not queries.PHONE_RE.match(phone.strip()) or len(key.lstrip("+")) < 7:
            raise RelationshipError(f"--phone: {phone!r} is not a phone number")
        rows.append(("phone", phone.strip(), key))
    _insert_ignore(
        session,
        IdentityAttribute.__table__,  # type: ignore[arg-type]
        [
            {
                "identity_id": identity_id,
                "kind": kind,
                "value": value,
                "value_key": key,
                "source": source,
                "created_at": utcnow(),
            }
            for kind, value, key in rows
        ],
    )
    do_refresh_search_keys(session, [person_id])
    do_record(
        session,
        actor,
        "people.contact",
        subject_type="person",
        subject_id=person_id,
        details={"identity_id": identity_id, "emails": len(emails), "phones": len(phones)},
    )
    return person_id


# ------------------------------------------------------------------ merge / unmerge


def _consent_rows(session: Session, person_id: int) -> dict[str, Consent]:
    return {
        c.channel: c
        for c in session.execute(select(Consent).where(Consent.person_id == person_id)).scalars()
    }


def do_merge_people(
    session: Session, survivor_id: int, absorbed_id: int, *, actor: str
) -> MergeResult:
    """Fold person ``absorbed_id`` into ``survivor_id``: identities, sales, roles
    and consent (a deny on either side wins). Undone by `do_unmerge`."""
    if survivor_id == absorbed_id:
        raise RelationshipError(f"cannot merge person {survivor_id} with itself")
    survivor = queries.get_person(session, survivor_id)
    absorbed = queries.get_person(session, absorbed_id)
    now = utcnow()
    links = list(
        session.execute(
            select(PersonIdentity).where(PersonIdentity.person_id == absorbed_id)
        ).scalars()
    )
    identity_sources = {str(link.identity_id): link.source for link in links}
    identity_linked = {str(link.identity_id): link.linked_at.isoformat() for link in links}
    session.execute(
        update(PersonIdentity)
        .where(PersonIdentity.person_id == absorbed_id)
        .values(person_id=survivor_id, source="merge", linked_at=now)
    )
    sale_ids = list(session.execute(select(Sale.id).where(Sale.person_id == absorbed_id)).scalars())
    if sale_ids:
        session.execute(update(Sale).where(Sale.id.in_(sale_ids)).values(person_id=survivor_id))
    held = {
        r.role: r
        for r in session.execute(
            select(PersonRole).where(PersonRole.person_id == survivor_id)
        ).scalars()
    }
    roles_added = []
    for role in session.execute(
        select(PersonRole).where(
            PersonRole.person_id == absorbed_id, PersonRole.source != "dismissed"
        )
    ).scalars():
        if role.role in held:
            continue
        session.add(
            PersonRole(
                person_id=survivor_id,
                role=role.role,
                source=role.source,
                reason=f"{role.reason} (from merged person {absorbed_id})",
                actor=actor,
                updated_at=now,
            )
        )
        roles_added.append(role.role)
    consent_before: dict[str, Any] = {}
    mine = _consent_rows(session, survivor_id)
    for channel, theirs in _consent_rows(session, absorbed_id).items():
        current = mine.get(channel)
        if current is None:
            consent_before[channel] = None
            session.add(
                Consent(
                    person_id=survivor_id,
                    channel=channel,
                    allowed=theirs.allowed,
                    source="merge",
                    actor=actor,
                    updated_at=now,
                )
            )
        elif current.allowed and not theirs.allowed:
            consent_before[channel] = {
                "allowed": current.allowed,
                "source": current.source,
                "actor": current.actor,
                "updated_at": current.updated_at.isoformat(),
            }
            current.allowed = False
            current.source = "merge"
            current.actor = actor
            current.updated_at = now
    preferences_copied = False
    if session.get(PersonPreference, survivor_id) is None:
        theirs_pref = session.get(PersonPreference, absorbed_id)
        if theirs_pref is not None:
            session.add(
                PersonPreference(
                    person_id=survivor_id,
                    preferred_channel=theirs_pref.preferred_channel,
                    quiet_start=theirs_pref.quiet_start,
                    quiet_end=theirs_pref.quiet_end,
                    timezone=theirs_pref.timezone,
                    language=theirs_pref.language,
                    updated_at=now,
                )
            )
            preferences_copied = True
    absorbed.status = MERGED
    absorbed.merged_into_id = survivor_id
    if not survivor.display_name and absorbed.display_name:
        survivor.display_name = absorbed.display_name
    session.execute(delete(PersonHealth).where(PersonHealth.person_id == absorbed_id))
    merge = PersonMerge(
        survivor_id=survivor_id,
        absorbed_id=absorbed_id,
        moved={
            "identity_ids": sorted(int(i) for i in identity_sources),
            "identity_sources": identity_sources,
            "identity_linked_at": identity_linked,
            "sale_ids": sorted(sale_ids),
            "roles_added": roles_added,
            "consent_before": consent_before,
            "preferences_copied": preferences_copied,
            "merged_at": now.isoformat(),
        },
        actor=actor,
        merged_at=now,
    )
    session.add(merge)
    session.flush()
    do_recount_people(session, [survivor_id, absorbed_id])
    do_refresh_search_keys(session, [survivor_id, absorbed_id])
    _mark_stale(session, [survivor_id])
    moved_refs = [
        i.ref
        for i in queries.identities_of(session, [survivor_id]).get(survivor_id, [])
        if str(i.id) in identity_sources
    ]
    do_record(
        session,
        actor,
        "people.merge",
        subject_type="person",
        subject_id=survivor_id,
        details={
            "merge_id": merge.id,
            "absorbed_person_id": absorbed_id,
            "identity_ids": merge.moved["identity_ids"],
            "sales": len(sale_ids),
            "roles_added": roles_added,
        },
    )
    return MergeResult(
        merge_id=merge.id,
        survivor_id=survivor_id,
        absorbed_id=absorbed_id,
        identities_moved=moved_refs,
        sales_moved=len(sale_ids),
        roles_added=roles_added,
    )


def _undo_merge(session: Session, merge: PersonMerge, *, actor: str) -> list[int]:
    """Put back what ``merge`` moved (identities still with the survivor)."""
    moved = merge.moved
    survivor_id, absorbed_id = merge.survivor_id, merge.absorbed_id
    merged_at = datetime.fromisoformat(moved["merged_at"])
    identity_ids = [
        int(i)
        for i in session.execute(
            select(PersonIdentity.identity_id).where(
                PersonIdentity.person_id == survivor_id,
                PersonIdentity.identity_id.in_(moved["identity_ids"]),
            )
        ).scalars()
    ]
    sources = moved.get("identity_sources", {})
    linked = moved.get("identity_linked_at", {})
    for ident in identity_ids:
        values: dict[str, Any] = {
            "person_id": absorbed_id,
            "source": sources.get(str(ident), "auto"),
        }
        if str(ident) in linked:
            values["linked_at"] = datetime.fromisoformat(linked[str(ident)])
        session.execute(
            update(PersonIdentity).where(PersonIdentity.identity_id == ident).values(**values)
        )
    if moved["sale_ids"]:
        session.execute(
            update(Sale)
            .where(Sale.id.in_(moved["sale_ids"]), Sale.person_id == survivor_id)
            .values(person_id=absorbed_id)
        )
    for role in moved["roles_added"]:
        session.execute(
            delete(PersonRole).where(
                PersonRole.person_id == survivor_id,
                PersonRole.role == role,
                PersonRole.updated_at == merged_at,
            )
        )
    current = _consent_rows(session, survivor_id)
    for channel, before in moved["consent_before"].items():
        row = current.get(channel)
        if row is None or row.source != "merge":
            continue  # changed by hand since the merge: keep the newer decision
        if before is None:
            session.delete(row)
        else:
            row.allowed = before["allowed"]
            row.source = before["source"]
            row.actor = before["actor"]
            row.updated_at = datetime.fromisoformat(before["updated_at"])
    if moved.get("preferences_copied"):
        pref = session.get(PersonPreference, survivor_id)
        if pref is not None and pref.updated_at == merged_at:
            session.delete(pref)
    absorbed = session.get(Person, absorbed_id)
    assert absorbed is not None
    absorbed.status = ACTIVE
    absorbed.merged_into_id = None
    merge.undone_at = utcnow()
    merge.undone_by = actor
    session.flush()
    return identity_ids


def do_unmerge(
    session: Session, person_id: int, identity_ref: str, *, actor: str, only: bool = False
) -> UnmergeResult:
    """Take an identity out of a person. If a merge brought it in, that merge
    is undone (the absorbed person comes back with everything it brought);
    otherwise (or with ``only``) the identity becomes a new person."""
    queries.get_person(session, person_id)
    parsed = queries.parse_identity_ref(identity_ref, allow_contact=False)
    found = queries.identities_matching(session, parsed)
    if not found:
        from rapport.relationships.errors import IdentityNotFound

        raise IdentityNotFound(f"no identity {identity_ref!r} is stored")
    identity_id = found[0]
    owner = queries.person_for_identity(session, identity_id)
    if owner != person_id:
        raise RelationshipError(
            f"{identity_ref} belongs to "
            + (f"person {owner}" if owner is not None else "no person")
            + f", not to person {person_id}"
        )
    merge = None
    if not only:
        for candidate in session.execute(
            select(PersonMerge)
            .where(PersonMerge.survivor_id == person_id, PersonMerge.undone_at.is_(None))
            .order_by(PersonMerge.id.desc())
        ).scalars():
            if identity_id in candidate.moved.get("identity_ids", []):
                merge = candidate
                break
    if merge is not None:
        moved_ids = _undo_merge(session, merge, actor=actor)
        target = merge.absorbed_id
    else:
        all_ids = queries.identity_ids_of(session, person_id)
        if len(all_ids) <= 1:
            raise RelationshipError(
                f"{identity_ref} is the only identity of person {person_id}: nothing to unmerge"
            )
        new = Person(status=ACTIVE, created_at=utcnow())
        session.add(new)
        session.flush()
        target = new.id
        session.execute(
            update(PersonIdentity)
            .where(PersonIdentity.identity_id == identity_id)
            .values(person_id=target, source="split", linked_at=utcnow())
        )
        session.execute(
            update(Sale)
            .where(Sale.person_id == person_id, Sale.identity_id == identity_id)
            .values(person_id=target)
        )
        for row in _consent_rows(session, person_id).values():
            if not row.allowed:  # a refusal stays with every part of the person
                session.add(
                    Consent(
                        person_id=target,
                        channel=row.channel,
                        allowed=False,
                        source="split",
                        actor=actor,
                        updated_at=utcnow(),
                    )
                )
        moved_ids = [identity_id]
    session.flush()
    do_recount_people(session, [person_id, target])
    do_refresh_search_keys(session, [person_id, target])
    _mark_stale(session, [person_id, target])
    refs = [
        i.ref for i in queries.identities_of(session, [target]).get(target, []) if i.id in moved_ids
    ]
    do_record(
        session,
        actor,
        "people.unmerge",
        subject_type="person",
        subject_id=person_id,
        details={
            "identity_id": identity_id,
            "to_person_id": target,
            "identity_ids": sorted(moved_ids),
            "undid_merge_id": merge.id if merge else None,
        },
    )
    return UnmergeResult(
        person_id=person_id,
        restored_person_id=target,
        identities_moved=refs,
        undid_merge_id=merge.id if merge else None,
    )


def do_mark_not_duplicates(session: Session, a: int, b: int, *, actor: str) -> None:
    """Never suggest ``a`` and ``b`` as duplicates again."""
    if a == b:
        raise RelationshipError(f"person {a} is the same person")
    queries.get_person(session, a)
    queries.get_person(session, b)
    lo, hi = sorted((a, b))
    _insert_ignore(
        session,
        NotDuplicate.__table__,  # type: ignore[arg-type]
        [{"person_a": lo, "person_b": hi, "actor": actor, "created_at": utcnow()}],
    )
    do_record(
        session,
        actor,
        "people.not_duplicate",
        subject_type="person",
        subject_id=lo,
        details={"other_person_id": hi},
    )


# ------------------------------------------------------------------ roles


def _check_roles(roles: Sequence[str]) -> list[str]:
    out = []
    for role in roles:
        r = role.strip().casefold()
        if r not in ROLES:
            raise RelationshipError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
        out.append(r)
    return out


def do_set_roles(
    session: Session,
    person_id: int,
    *,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    actor: str,
    reason: str | None = None,
) -> list[str]:
    """Give or take roles by hand; returns the roles now held. Removing a
    suggested role dismisses it for good."""
    queries.get_person(session, person_id)
    adding, removing = _check_roles(add), _check_roles(remove)
    if set(adding) & set(removing):
        raise RelationshipError(
            f"role(s) {', '.join(set(adding) & set(removing))} both added and removed"
        )
    now = utcnow()
    rows = {
        r.role: r
        for r in session.execute(
            select(PersonRole).where(PersonRole.person_id == person_id)
        ).scalars()
    }
    for role in adding:
        row = rows.get(role)
        if row is None:
            session.add(
                PersonRole(
                    person_id=person_id,
                    role=role,
                    source="manual",
                    reason=reason or "set by hand",
                    actor=actor,
                    updated_at=now,
                )
            )
        else:
            row.source, row.reason, row.actor, row.updated_at = (
                "manual",
                reason or "set by hand",
                actor,
                now,
            )
    for role in removing:
        row = rows.get(role)
        if row is None:
            raise RelationshipError(f"person {person_id} does not hold the role {role}")
        if row.source == "suggested":
            row.source, row.actor, row.updated_at = "dismissed", actor, now
        else:
            session.delete(row)
    session.flush()
    do_record(
        session,
        actor,
        "people.role",
        subject_type="person",
        subject_id=person_id,
        details={"added": adding, "removed": removing},
    )
    return sorted(queries.roles_for(session, [person_id]).get(person_id, set()))


def do_apply_role_suggestions(
    session: Session, suggestions: dict[int, list[RoleSuggestion]]
) -> int:
    """Store rule-made roles (`suggested`); roles set or dismissed by hand are
    left alone. Returns how many roles changed."""
    if not suggestions:
        return 0
    existing: dict[int, dict[str, PersonRole]] = defaultdict(dict)
    for row in session.execute(
        select(PersonRole).where(in_values(session, PersonRole.person_id, list(suggestions)))
    ).scalars():
        existing[row.person_id][row.role] = row
    changed = 0
    now = utcnow()
    for pid, wanted in suggestions.items():
        current = existing.get(pid, {})
        want = {s.role: s.reason for s in wanted}
        for role, row in current.items():
            if row.source == "suggested" and role not in want:
                session.delete(row)
                changed += 1
            elif row.source == "suggested" and row.reason != want[role]:
                row.reason = want[role]
                row.updated_at = now
        for role, reason in want.items():
            if role not in current:
                session.add(
                    PersonRole(
                        person_id=pid,
                        role=role,
                        source="suggested",
                        reason=reason,
                        actor="system",
                        updated_at=now,
                    )
                )
                changed += 1
    session.flush()
    return changed


# ------------------------------------------------------------------ health


def _active_ids(session: Session, after: int, limit: int) -> list[int]:
    return [
        int(i)
        for i in session.execute(
            select(Person.id)
            .where(Person.status == ACTIVE, Person.id > after)
            .order_by(Person.id)
            .limit(limit)
        ).scalars()
    ]


def do_recompute_health(
    session: Session,
    person_ids: Sequence[int] | None = None,
    *,
    as_of: datetime | None = None,
    chunk: int = 2000,
    suggest: bool = True,
) -> int:
    """Compute and store the health (and suggested roles) of ``person_ids``
    (default: every active person). Returns how many people were scored."""
    cfg = get_health_settings()
    clock = as_of or data_clock(session)
    if clock is None:
        return 0
    done = 0

    def run(ids: list[int]) -> None:
        nonlocal done
        facts = gather_facts(session, ids)
        rows = [health_row(score_facts(f, clock, cfg)) for f in facts.values()]
        session.execute(delete(PersonHealth).where(in_values(session, PersonHealth.person_id, ids)))
        stamp = db_timestamp(session, utcnow())
        bulk_insert(
            session,
            PersonHealth.__table__,  # type: ignore[arg-type]
            (
                "person_id",
                "score",
                "trend",
                "previous_score",
                "factors",
                "explanation",
                "as_of",
                "computed_at",
            ),
            [
                (
                    r["person_id"],
                    r["score"],
                    r["trend"],
                    r["previous_score"],
                    db_json(r["factors"]),
                    r["explanation"],
                    db_timestamp(session, r["as_of"]),
                    stamp,
                )
                for r in rows
            ],
        )
        if suggest:
            do_apply_role_suggestions(
                session, {pid: suggest_roles(f, clock) for pid, f in facts.items()}
            )
        session.execute(
            delete(PersonHealthStale).where(in_values(session, PersonHealthStale.person_id, ids))
        )
        done += len(ids)

    if person_ids is not None:
        ids = sorted(set(person_ids))
        for start in range(0, len(ids), chunk):
            run(ids[start : start + chunk])
        return done
    last = 0
    while batch := _active_ids(session, last, chunk):
        run(batch)
        last = batch[-1]
    return done


def do_refresh_health(
    session: Session, *, max_age_hours: float | None = None, stale_only: bool = False
) -> int:
    """Recompute the health of people whose messages changed since it was
    stored, who have none, or whose health is older than ``max_age_hours``
    against the data clock (``stale_only``: just the first kind). Returns how
    many were recomputed."""
    cfg = get_health_settings()
    clock = data_clock(session)
    if clock is None:
        return 0
    age = timedelta(hours=max_age_hours if max_age_hours is not None else cfg.max_age_hours)
    stale = set(session.execute(select(PersonHealthStale.person_id)).scalars())
    old: set[int] = set()
    if not stale_only:
        old = {
            int(i)
            for i in session.execute(
                select(Person.id)
                .outerjoin(PersonHealth, PersonHealth.person_id == Person.id)
                .where(
                    Person.status == ACTIVE,
                    (PersonHealth.person_id.is_(None)) | (PersonHealth.as_of < clock - age),
                )
            ).scalars()
        }
    todo = sorted(stale | old)
    active = {
        int(i)
        for start in range(0, len(todo), 20000)
        for i in session.execute(
            select(Person.id).where(
                in_values(session, Person.id, todo[start : start + 20000]), Person.status == ACTIVE
            )
        ).scalars()
    }
    session.execute(
        delete(PersonHealthStale).where(
            in_values(session, PersonHealthStale.person_id, [p for p in todo if p not in active])
        )
    )
    return do_recompute_health(session, sorted(active), as_of=clock)


# ------------------------------------------------------------------ consent


def do_set_consent(
    session: Session,
    person_id: int,
    channel: str,
    allowed: bool,
    *,
    actor: str,
    source: str = "manual",
) -> ConsentPublic:
    """Record allow/deny for ``channel`` (`*`: every channel)."""
    queries.get_person(session, person_id)
    channel = channel.strip()
    if not channel or len(channel) > 100 or (":" in channel):
        raise RelationshipError(f"bad channel name {channel!r} (a channel name, or * for all)")
    row = session.get(Consent, (person_id, channel))
    previous = None if row is None else row.allowed
    if row is None:
        session.add(
            Consent(
                person_id=person_id,
                channel=channel,
                allowed=allowed,
                source=source,
                actor=actor,
                updated_at=utcnow(),
            )
        )
    else:
        row.allowed, row.source, row.actor, row.updated_at = allowed, source, actor, utcnow()
    session.flush()
    do_record(
        session,
        actor,
        "consent.set",
        subject_type="person",
        subject_id=person_id,
        details={"channel": channel, "allowed": allowed, "previous": previous},
    )
    return queries.consent_view(session, person_id)


_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


def do_set_preferences(
    session: Session,
    person_id: int,
    *,
    actor: str,
    preferred_channel: str | None = None,
    quiet_hours: str | None = None,
    timezone: str | None = None,
    language: str | None = None,
) -> ConsentPublic:
    """Set how the person wants to be reached; an empty string clears a field."""
    queries.get_person(session, person_id)
    pref = session.get(PersonPreference, person_id)
    if pref is None:
        pref = PersonPreference(person_id=person_id)
        session.add(pref)
    changed = []
    if preferred_channel is not None:
        pref.preferred_channel = preferred_channel.strip() or None
        changed.append("preferred_channel")
    if quiet_hours is not None:
        if quiet_hours.strip():
            parts = quiet_hours.replace("–", "-").split("-")
            if len(parts) != 2 or not all(_HHMM.match(p.strip()) for p in parts):
                raise RelationshipError(
                    f"--quiet-hours: {quiet_hours!r} is not HH:MM-HH:MM (e.g. 22:00-07:00)"
                )
            pref.quiet_start, pref.quiet_end = parts[0].strip(), parts[1].strip()
        else:
            pref.quiet_start = pref.quiet_end = None
        changed.append("quiet_hours")
    if timezone is not None:
        if timezone.strip():
            try:
                ZoneInfo(timezone.strip())
            except (ZoneInfoNotFoundError, ValueError):
                raise RelationshipError(
                    f"--timezone: unknown zone {timezone!r} (e.g. Europe/Paris, UTC)"
                ) from None
        pref.timezone = timezone.strip() or None
        changed.append("timezone")
    if language is not None:
        if language.strip() and not _LANG.match(language.strip()):
            raise RelationshipError(
                f"--language: {language!r} is not a language code (e.g. fr, pt-BR)"
            )
        pref.language = language.strip() or None
        changed.append("language")
    pref.updated_at = utcnow()
    session.flush()
    if changed:
        do_record(
            session,
            actor,
            "consent.preferences",
            subject_type="person",
            subject_id=person_id,
            details={"fields": changed},
        )
    return queries.consent_view(session, person_id)


# ------------------------------------------------------------------ sales

SALES_COLUMNS = ("identity", "amount", "currency", "date", "product")


def _sale_fingerprint(parts: Sequence[str], occurrence: int) -> str:
    key = get_settings().secret_key.encode()
    body = "\x1f".join([*parts, str(occurrence)]).encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def _parse_sale_date(value: str) -> datetime:
    text = value.strip()
    if not text:
        raise ValueError("empty date")
    if len(text) == 10:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset (write 2017-11-02T10:00:00Z or a date)")
    return parsed.astimezone(UTC)


def do_import_sales(session: Session, path: Path, *, actor: str) -> SalesImportSummary:
    """Import `identity,amount,currency,date,product[,stage]` rows: matched rows
    attach to the person, others go to quarantine with the reason. One
    transaction (the caller's): the file is imported whole or not at all;
    re-importing it adds nothing."""
    if not path.is_file():
        raise SalesImportError(f"{path}: no such file")
    try:
        content = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SalesImportError(f"{path}: not UTF-8 text ({exc})") from None
    lines = io.StringIO(content).readlines()
    reader = csv.reader(io.StringIO(content))
    try:
        header = [h.strip().casefold() for h in next(reader)]
    except StopIteration:
        raise SalesImportError(
            f"{path}: empty file (expected a header: identity,amount,currency,date,product[,stage])"
        ) from None
    missing = [c for c in SALES_COLUMNS if c not in header]
    if missing:
        raise SalesImportError(
            f"{path}, line 1: missing column(s) {', '.join(missing)} "
            "(header must have identity,amount,currency,date,product[,stage]; "
            f"got {','.join(header)})"
        )
    col = {name: header.index(name) for name in header}
    source = str(path)
    rejects: list[Rejected] = []
    good: list[tuple[int, str, dict[str, Any]]] = []
    seen: Counter[tuple[str, ...]] = Counter()
    read = 0
    start_line = reader.line_num + 1
    for row in reader:
        end_line = reader.line_num
        raw = "".join(lines[start_line - 1 : end_line]).rstrip("\r\n")
        line = start_line
        start_line = end_line + 1
        if not any(cell.strip() for cell in row):
            continue
        read += 1

        def reject(reason: str, field: str | None = None, line: int = line, raw: str = raw) -> None:
            rejects.append(Rejected(line=line, reason=reason, raw=raw, field=field))

        if len(row) != len(header):
            reject(f"expected {len(header)} fields, found {len(row)}")
            continue
        cells = {name: row[i].strip() for name, i in col.items()}
        try:
            ref = queries.parse_identity_ref(cells["identity"])
        except RelationshipError as exc:
            reject(str(exc), "identity")
            continue
        try:
            amount = Decimal(cells["amount"].replace(",", ""))
            if not amount.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            reject(f"amount {cells['amount']!r} is not a number", "amount")
            continue
        currency = cells["currency"].upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            reject(f"currency {cells['currency']!r} is not a 3-letter ISO 4217 code", "currency")
            continue
        try:
            occurred = _parse_sale_date(cells["date"])
        except ValueError as exc:
            reject(f"date {cells['date']!r}: {exc}", "date")
            continue
        product = cells["product"]
        if not product:
            reject("product is empty", "product")
            continue
        stage = (cells.get("stage") or "won").casefold()
        parts = (str(ref), str(amount), currency, occurred.isoformat(), product, stage)
        seen[parts] += 1
        good.append(
            (
                line,
                raw,
                {
                    "ref": ref,
                    "amount": amount,
                    "currency": currency,
                    "occurred_at": occurred,
                    "product": product[:255],
                    "stage": stage[:40],
                    "fingerprint": _sale_fingerprint(parts, seen[parts]),
                },
            )
        )
    known = set(
        session.execute(
            select(Sale.fingerprint).where(
                in_values(session, Sale.fingerprint, [g["fingerprint"] for _, _, g in good])
            )
        ).scalars()
    )
    duplicates = 0
    to_insert: list[tuple[Any, ...]] = []
    people: set[int] = set()
    stamp = utcnow()
    for line, raw, g in good:
        if g["fingerprint"] in known:
            duplicates += 1
            continue
        ref = g["ref"]
        identity_ids = queries.identities_matching(session, ref)
        owners = queries.people_for_identities(session, identity_ids)
        persons = sorted(set(owners.values()))
        if not persons:
            why = "is one of our own accounts" if identity_ids else "matches no stored identity"
            rejects.append(
                Rejected(line=line, reason=f"identity {ref} {why}", raw=raw, field="identity")
            )
            continue
        if len(persons) > 1:
            rejects.append(
                Rejected(
                    line=line,
                    reason=f"identity {ref} matches {len(persons)} people "
                    f"({', '.join(map(str, persons))}): merge them first",
                    raw=raw,
                    field="identity",
                )
            )
            continue
        person_id = persons[0]
        identity_id = next(i for i, p in owners.items() if p == person_id)
        people.add(person_id)
        to_insert.append(
            (
                person_id,
                identity_id,
                g["amount"],
                g["currency"],
                g["occurred_at"],
                g["product"],
                g["stage"],
                source,
                line,
                g["fingerprint"],
                stamp,
            )
        )
        known.add(g["fingerprint"])
    if to_insert:
        columns = (
            "person_id",
            "identity_id",
            "amount",
            "currency",
            "occurred_at",
            "product",
            "stage",
            "source",
            "line",
            "fingerprint",
            "imported_at",
        )
        session.execute(insert(Sale), [dict(zip(columns, row, strict=True)) for row in to_insert])
    quarantined = conversations.do_quarantine(session, source, rejects)
    _mark_stale(session, sorted(people))
    summary = SalesImportSummary(
        read=read,
        matched=len(to_insert),
        duplicates=duplicates,
        quarantined=quarantined,
        people=len(people),
    )
    do_record(
        session,
        actor,
        "sales.import",
        subject_type="sales_file",
        subject_id=path.name[:100],
        details=summary.model_dump(),
    )
    return summary


# ------------------------------------------------------------------ export


def _person_data(session: Session, person_id: int) -> PersonData:
    persons = [person_id, *_absorbed_closure(session, person_id)]
    identity_ids = sorted(
        int(i)
        for i in session.execute(
            select(PersonIdentity.identity_id).where(PersonIdentity.person_id.in_(persons))
        ).scalars()
    )
    own = (
        sorted(
            int(i)
            for i in session.execute(
                select(Message.id).where(
                    in_values(session, Message.author_identity_id, identity_ids)
                )
            ).scalars()
        )
        if identity_ids
        else []
    )
    related: set[int] = set()
    identifiers: list[str] = []
    if identity_ids:
        m = aliased(Message, name="m")
        p = aliased(Message, name="p")
        related.update(
            int(i)
            for i in session.execute(
                select(m.id)
                .join(p, and_(p.channel_id == m.channel_id, p.external_id == m.parent_external_id))
                .where(in_values(session, p.author_identity_id, identity_ids))
            ).scalars()
        )
        for channel_id, handle, key, name in session.execute(
            select(
                Identity.channel_id,
                Identity.handle,
                Identity.handle_key,
                Identity.display_name,
            ).where(in_values(session, Identity.id, identity_ids))
        ):
            identifiers.extend(x for x in (handle, key, name) if x)
            related.update(
                int(i)
                for i in session.execute(
                    select(MessageMention.message_id)
                    .join(Message, Message.id == MessageMention.message_id)
                    .where(MessageMention.handle_key == key, Message.channel_id == channel_id)
                ).scalars()
            )
        for value, key in session.execute(
            select(IdentityAttribute.value, IdentityAttribute.value_key).where(
                in_values(session, IdentityAttribute.identity_id, identity_ids)
            )
        ):
            identifiers.extend([value, key])
    for pid in persons:
        person = session.get(Person, pid)
        if person is not None and person.display_name:
            identifiers.append(person.display_name)
    related.difference_update(own)
    unique = sorted(
        {i for i in identifiers if i and not i.startswith("erased-")}, key=len, reverse=True
    )
    return PersonData(
        person_id=person_id,
        identity_ids=identity_ids,
        message_ids=own,
        related_message_ids=sorted(related),
        identifiers=unique,
    )


def _absorbed_closure(session: Session, person_id: int) -> list[int]:
    """People merged (directly or not) into ``person_id`` and not split off."""
    out: list[int] = []
    frontier = [person_id]
    while frontier:
        nxt = [
            int(i)
            for i in session.execute(
                select(Person.id).where(
                    Person.merged_into_id.in_(frontier), Person.status == MERGED
                )
            ).scalars()
        ]
        out.extend(nxt)
        frontier = nxt
    return out


def do_export_person(session: Session, person_id: int, *, actor: str) -> dict[str, Any]:
    """Everything Rapport holds on a person, as one JSON-ready document
    (the export is itself recorded in the audit trail)."""
    detail = queries.show_person(session, person_id, timeline_limit=None)
    data = _person_data(session, person_id)
    messages = [e for e in detail.timeline if e.kind == "message"]
    raws = raw_payloads(session, data.message_ids)
    analysis = analyses_for(session, data.message_ids)
    merges = [
        {
            "id": m.id,
            "survivor_id": m.survivor_id,
            "absorbed_id": m.absorbed_id,
            "identity_ids": m.moved.get("identity_ids", []),
            "merged_at": m.merged_at,
            "undone_at": m.undone_at,
            "actor": m.actor,
        }
        for m in session.execute(
            select(PersonMerge).where(
                (PersonMerge.survivor_id == person_id) | (PersonMerge.absorbed_id == person_id)
            )
        ).scalars()
    ]
    audit: list[dict[str, Any]] = []
    for subject in [person_id, *_absorbed_closure(session, person_id)]:
        events, _ = list_events(session, subject_type="person", subject_id=subject, limit=100000)
        audit.extend(e.model_dump(mode="json") for e in events)
    document: dict[str, Any] = {
        "exported_at": utcnow(),
        "person": detail.model_dump(mode="json", exclude={"timeline", "timeline_total"}),
        "messages": [
            {**e.model_dump(mode="json"), "raw": raws.get(e.message_id or 0)} for e in messages
        ],
        "replies_received": [
            e.model_dump(mode="json") for e in detail.timeline if e.kind == "reply_received"
        ],
        "analysis": {str(k): asdict(v) for k, v in analysis.items()},
        "merges": merges,
        "audit": audit,
        "other_domains": run_export_hooks(session, data),
    }
    do_record(
        session,
        actor,
        "people.export",
        subject_type="person",
        subject_id=person_id,
        details={
            "messages": len(messages),
            "sales": len(detail.sales),
            "identities": len(detail.identities),
        },
    )
    return document


# ------------------------------------------------------------------ erasure


def do_erase_person(session: Session, person_id: int, *, actor: str) -> ErasureSummary:
    """Remove the person's personal text and identifiers everywhere, keep
    anonymous counts, and record the erasure without personal data. Call
    `rapport.storage.vacuum.do_vacuum` after the commit so no trace stays in
    the database files."""
    queries.get_person(session, person_id)
    data = _person_data(session, person_id)
    persons = [person_id, *_absorbed_closure(session, person_id)]
    hooks = run_erasure_hooks(session, data)
    channel_counts = (
        Counter(
            name
            for (name,) in session.execute(
                select(Channel.name)
                .join(Message, Message.channel_id == Channel.id)
                .where(in_values(session, Message.id, data.message_ids))
            )
        )
        if data.message_ids
        else Counter()
    )
    sales = session.execute(
        select(func.count()).select_from(Sale).where(Sale.person_id.in_(persons))
    ).scalar_one()
    conversations.do_redact_messages(session, data.message_ids)
    pattern = data.identifier_pattern()
    scrubbed = (
        conversations.do_scrub_messages(session, data.related_message_ids, pattern, "@[erased]")
        if pattern
        else 0
    )
    purged = conversations.do_purge_quarantine(session, pattern) if pattern else 0
    session.execute(
        delete(IdentityAttribute).where(
            in_values(session, IdentityAttribute.identity_id, data.identity_ids)
        )
    )
    conversations.do_erase_identities(session, data.identity_ids)
    session.execute(
        update(Sale)
        .where(Sale.person_id.in_(persons))
        .values(identity_id=None, source="erased", line=None)
    )
    for table in (PersonRole, Consent, PersonPreference, PersonHealth, PersonHealthStale):
        session.execute(delete(table).where(table.person_id.in_(persons)))
    session.execute(
        delete(NotDuplicate).where(
            NotDuplicate.person_a.in_(persons) | NotDuplicate.person_b.in_(persons)
        )
    )
    session.execute(
        delete(PersonMerge).where(
            PersonMerge.survivor_id.in_(persons) | PersonMerge.absorbed_id.in_(persons)
        )
    )
    now = utcnow()
    session.execute(
        update(Person)
        .where(Person.id.in_(persons))
        .values(status=ERASED, display_name=None, search_key="", erased_at=now)
    )
    counts = {
        "messages": len(data.message_ids),
        "messages_by_channel": dict(sorted(channel_counts.items())),
        "identities": len(data.identity_ids),
        "sales": int(sales),
        "people": len(persons),
    }
    session.add(PersonErasure(person_id=person_id, erased_at=now, counts=counts))
    do_record(
        session,
        actor,
        "people.erase",
        subject_type="person",
        subject_id=person_id,
        details={**counts, "hooks": hooks},
    )
    return ErasureSummary(
        person_id=person_id,
        messages_redacted=len(data.message_ids),
        related_messages_scrubbed=scrubbed,
        identities_erased=len(data.identity_ids),
        quarantined_rows_removed=purged,
        sales_anonymised=int(sales),
        hooks=hooks,
        vacuumed=False,
    )
