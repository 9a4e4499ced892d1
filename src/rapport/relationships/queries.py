"""How other domains (and the faces) read people: identity → person, consent,
roles, health, the person's profile and timeline, sales figures.

Engagement checks consent through `consent_decision` before anything goes
out; triage reads roles and health through `roles_for` / `health_for`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, func, literal_column, or_, select, table, text
from sqlalchemy.orm import Session, aliased

from rapport.analysis.queries import analyses_for
from rapport.audit.service import list_events
from rapport.conversations.models import (
    INBOUND,
    OUTBOUND,
    Account,
    Channel,
    Identity,
    Message,
)
from rapport.relationships.errors import (
    IdentityNotFound,
    PersonErased,
    PersonMerged,
    PersonNotFound,
    RelationshipError,
)
from rapport.relationships.health import data_clock, gather_facts, score_facts
from rapport.relationships.models import (
    ACTIVE,
    ERASED,
    MERGED,
    Consent,
    IdentityAttribute,
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
    ConsentDecisionPublic,
    ConsentEntry,
    ConsentPublic,
    HealthFactor,
    HealthPublic,
    IdentityPublic,
    PersonDetail,
    PersonList,
    PersonSummary,
    Preferences,
    RolePublic,
    SalePublic,
    TimelineEvent,
)
from rapport.relationships.settings import get_health_settings
from rapport.storage.bulk import in_values

EMAIL_RE = re.compile(r"^[^@\s:]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^\+?[\d\s().\-]{7,20}$")
EMAIL_CHANNELS = ("email", "mail")
PHONE_CHANNELS = ("sms", "phone", "whatsapp", "voice")


def contact_kind(channel_name: str, channel_kind: str | None = None) -> str | None:
    """`email` or `phone` when a channel's handles are addresses or numbers
    (by its connector kind, or by its name), else None."""
    for value in (channel_kind, channel_name):
        if value in EMAIL_CHANNELS:
            return "email"
        if value in PHONE_CHANNELS:
            return "phone"
    return None


def _channels_of_kind(kind: str) -> Any:
    names = EMAIL_CHANNELS if kind == "email" else PHONE_CHANNELS
    return or_(Channel.name.in_(names), Channel.kind.in_(names))


@dataclass(frozen=True)
class ConsentDecision:
    allowed: bool
    reason: str
    #: When a refusal is only for now (quiet hours): the first time it would be allowed.
    retry_after: datetime | None = None
    preferred_channel: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class HealthSummary:
    score: float  # 0..100
    trend: float  # change over the last period, points
    explanation: str


# ------------------------------------------------------------------ identities


def email_key(value: str) -> str:
    return value.strip().casefold()


def phone_key(value: str) -> str:
    """`+` and digits: `+1 (555) 010-7788` → `+15550107788`; `0044...` → `+44...`."""
    raw = value.strip()
    digits = re.sub(r"\D", "", raw)
    if raw.startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    return digits


@dataclass(frozen=True)
class IdentityRef:
    kind: str  # `handle`, `email` or `phone`
    key: str
    channel: str | None = None

    def __str__(self) -> str:
        return f"{self.channel}:{self.key}" if self.kind == "handle" else self.key


def parse_identity_ref(ref: str, *, allow_contact: bool = True) -> IdentityRef:
    """`CHANNEL:HANDLE`, or (with ``allow_contact``) an email address or a phone number."""
    from rapport.conversations.service import handle_key

    text = ref.strip()
    if allow_contact and EMAIL_RE.match(text):
        return IdentityRef("email", email_key(text))
    if ":" in text:
        channel, handle = text.split(":", 1)
        if channel.strip() and handle.strip():
            return IdentityRef("handle", handle_key(handle), channel.strip())
    if allow_contact and PHONE_RE.match(text) and len(re.sub(r"\D", "", text)) >= 7:
        return IdentityRef("phone", phone_key(text))
    wanted = "CHANNEL:HANDLE, an email or a phone number" if allow_contact else "CHANNEL:HANDLE"
    raise RelationshipError(
        f"{ref!r} is not an identity: write it as {wanted} (e.g. twitter:115712)"
    )


def identities_matching(session: Session, ref: IdentityRef) -> list[int]:
    """Stored identity ids a reference names (an email or phone may name several)."""
    if ref.kind == "handle":
        row = session.execute(
            select(Identity.id)
            .join(Channel, Channel.id == Identity.channel_id)
            .where(Channel.name == ref.channel, Identity.handle_key == ref.key)
        ).scalar_one_or_none()
        return [int(row)] if row is not None else []
    found = set(
        session.execute(
            select(IdentityAttribute.identity_id).where(
                IdentityAttribute.kind == ref.kind, IdentityAttribute.value_key == ref.key
            )
        ).scalars()
    )
    found.update(
        session.execute(
            select(Identity.id)
            .join(Channel, Channel.id == Identity.channel_id)
            .where(_channels_of_kind(ref.kind), Identity.handle_key == ref.key)
        ).scalars()
    )
    return sorted(int(i) for i in found)


def resolve_person(session: Session, ref: str) -> int:
    """The person an identity reference (`CHANNEL:HANDLE`, email, phone) belongs to."""
    parsed = parse_identity_ref(ref)
    identity_ids = identities_matching(session, parsed)
    if not identity_ids:
        raise IdentityNotFound(f"no identity {ref!r} is stored")
    owners = people_for_identities(session, identity_ids)
    persons = sorted(set(owners.values()))
    if not persons:
        accounts = set(
            session.execute(
                select(Account.identity_id).where(Account.identity_id.in_(identity_ids))
            ).scalars()
        )
        if accounts:
            raise RelationshipError(f"{ref} is one of our own accounts, not a person")
        raise IdentityNotFound(f"identity {ref!r} belongs to no person")
    if len(persons) > 1:
        raise RelationshipError(
            f"{ref} belongs to {len(persons)} people ({', '.join(map(str, persons))}): "
            "merge them or name a CHANNEL:HANDLE"
        )
    return persons[0]


def person_for_identity(session: Session, identity_id: int) -> int | None:
    return session.execute(
        select(PersonIdentity.person_id).where(PersonIdentity.identity_id == identity_id)
    ).scalar_one_or_none()


def people_for_identities(session: Session, identity_ids: Sequence[int]) -> dict[int, int]:
    """identity id → person id."""
    if not identity_ids:
        return {}
    rows = session.execute(
        select(PersonIdentity.identity_id, PersonIdentity.person_id).where(
            in_values(session, PersonIdentity.identity_id, list(identity_ids))
        )
    )
    return {int(i): int(p) for i, p in rows}


def get_person(session: Session, person_id: int, *, allow: Sequence[str] = (ACTIVE,)) -> Person:
    """The person ``person_id``; a merged or erased one is refused unless allowed."""
    person = session.get(Person, person_id)
    if person is None:
        raise PersonNotFound(f"person {person_id} not found")
    if person.status not in allow:
        if person.status == MERGED:
            raise PersonMerged(
                f"person {person_id} was merged into person {person.merged_into_id} "
                f"(see `rapport people show {person.merged_into_id}`)"
            )
        if person.status == ERASED:
            raise PersonErased(f"person {person_id} was erased")
    return person


def identity_ids_of(session: Session, person_id: int) -> list[int]:
    return sorted(
        int(i)
        for i in session.execute(
            select(PersonIdentity.identity_id).where(PersonIdentity.person_id == person_id)
        ).scalars()
    )


def identities_of(session: Session, person_ids: Sequence[int]) -> dict[int, list[IdentityPublic]]:
    out: dict[int, list[IdentityPublic]] = defaultdict(list)
    if not person_ids:
        return out
    rows = session.execute(
        select(PersonIdentity, Identity, Channel.name, Channel.kind)
        .join(Identity, Identity.id == PersonIdentity.identity_id)
        .join(Channel, Channel.id == Identity.channel_id)
        .where(in_values(session, PersonIdentity.person_id, list(person_ids)))
        .order_by(PersonIdentity.person_id, PersonIdentity.linked_at, Identity.id)
    ).all()
    attrs: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    ids = [ident.id for _, ident, _, _ in rows]
    if ids:
        for iid, kind, value in session.execute(
            select(IdentityAttribute.identity_id, IdentityAttribute.kind, IdentityAttribute.value)
            .where(in_values(session, IdentityAttribute.identity_id, ids))
            .order_by(IdentityAttribute.id)
        ):
            attrs[int(iid)][kind].append(value)
    for link, ident, channel, channel_kind in rows:
        emails = list(attrs[ident.id]["email"])
        phones = list(attrs[ident.id]["phone"])
        contact = contact_kind(channel, channel_kind)
        if contact == "email" and ident.handle not in emails:
            emails.insert(0, ident.handle)
        if contact == "phone" and ident.handle not in phones:
            phones.insert(0, ident.handle)
        out[link.person_id].append(
            IdentityPublic(
                id=ident.id,
                channel=channel,
                handle=ident.handle,
                ref=f"{channel}:{ident.handle}",
                display_name=ident.display_name,
                emails=emails,
                phones=phones,
                linked_at=link.linked_at,
                source=link.source,
            )
        )
    return out


def display_name(person: Person, identities: Sequence[IdentityPublic]) -> str:
    if person.display_name:
        return person.display_name
    for ident in identities:
        if ident.display_name:
            return ident.display_name
    if identities:
        return identities[0].ref
    return f"person {person.id}" if person.status != ERASED else "(erased)"


# ------------------------------------------------------------------ roles, health


def roles_for(
    session: Session, person_ids: Sequence[int], *, include_suggested: bool = True
) -> dict[int, set[str]]:
    """Roles held by each person (set by hand, and suggested ones unless told not to)."""
    if not person_ids:
        return {}
    sources = ["manual", "suggested"] if include_suggested else ["manual"]
    out: dict[int, set[str]] = {}
    for pid, role in session.execute(
        select(PersonRole.person_id, PersonRole.role).where(
            in_values(session, PersonRole.person_id, list(person_ids)),
            PersonRole.source.in_(sources),
        )
    ):
        out.setdefault(int(pid), set()).add(role)
    return out


def role_details(session: Session, person_id: int) -> list[RolePublic]:
    rows = session.execute(
        select(PersonRole)
        .where(PersonRole.person_id == person_id, PersonRole.source != "dismissed")
        .order_by(PersonRole.role)
    ).scalars()
    return [
        RolePublic(
            role=r.role, source=r.source, reason=r.reason, actor=r.actor, updated_at=r.updated_at
        )
        for r in rows
    ]


def _stored_health(session: Session, person_ids: Sequence[int]) -> dict[int, HealthPublic]:
    cfg = get_health_settings()
    out: dict[int, HealthPublic] = {}
    if not person_ids:
        return out
    stale = set(
        session.execute(
            select(PersonHealthStale.person_id).where(
                in_values(session, PersonHealthStale.person_id, list(person_ids))
            )
        ).scalars()
    )
    for row in session.execute(
        select(PersonHealth).where(in_values(session, PersonHealth.person_id, list(person_ids)))
    ).scalars():
        if row.person_id in stale:
            continue
        trend = row.trend
        out[row.person_id] = HealthPublic(
            person_id=row.person_id,
            score=row.score,
            trend=trend,
            previous_score=row.previous_score,
            trend_days=cfg.trend_days,
            level="strong" if row.score >= 70 else "fair" if row.score >= 45 else "weak",
            explanation=row.explanation,
            factors=[HealthFactor.model_validate(f) for f in row.factors],
            as_of=row.as_of,
            at_risk=trend is not None and trend <= -cfg.at_risk_drop,
            at_risk_reason=row.explanation.split("Churn warning: ", 1)[1].rstrip(".")
            if "Churn warning: " in row.explanation
            else None,
        )
    return out


def compute_health(
    session: Session, person_ids: Sequence[int], *, as_of: datetime | None = None
) -> dict[int, HealthPublic]:
    """Health computed now from the stored messages (nothing is written)."""
    cfg = get_health_settings()
    when = as_of or data_clock(session)
    if when is None or not person_ids:
        return {}
    facts = gather_facts(session, person_ids)
    return {pid: score_facts(f, when, cfg) for pid, f in facts.items()}


def health_details(
    session: Session, person_ids: Sequence[int], *, as_of: datetime | None = None
) -> dict[int, HealthPublic]:
    """Stored health where it is current, computed on the spot otherwise."""
    if as_of is not None:
        return compute_health(session, person_ids, as_of=as_of)
    out = _stored_health(session, person_ids)
    missing = [p for p in person_ids if p not in out]
    if missing:
        out.update(compute_health(session, missing))
    return out


def health_for(session: Session, person_ids: Sequence[int]) -> dict[int, HealthSummary]:
    """Score (0..100), trend (points over the trend window, 0 when new) and
    explanation for each known person."""
    return {
        pid: HealthSummary(h.score, h.trend or 0.0, h.explanation)
        for pid, h in health_details(session, list(person_ids)).items()
    }


def stored_health_for(session: Session, person_ids: Sequence[int]) -> dict[int, HealthSummary]:
    """The last stored health of each person, current or not, without computing
    anything (cheap enough for ingest hooks; absent: never computed)."""
    if not person_ids:
        return {}
    return {
        int(row.person_id): HealthSummary(row.score, row.trend or 0.0, row.explanation)
        for row in session.execute(
            select(PersonHealth).where(in_values(session, PersonHealth.person_id, list(person_ids)))
        ).scalars()
    }


# ------------------------------------------------------------------ consent


def _parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def quiet_until(pref: PersonPreference | None, at: datetime) -> datetime | None:
    """The end of the quiet window ``at`` falls in, or None when not quiet."""
    if pref is None or not pref.quiet_start or not pref.quiet_end:
        return None
    try:
        zone = ZoneInfo(pref.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = at.astimezone(zone)
    start, end = _parse_hhmm(pref.quiet_start), _parse_hhmm(pref.quiet_end)
    now = local.time()
    wraps = start > end
    inside = (start <= now or now < end) if wraps else (start <= now < end)
    if not inside:
        return None
    day = local.date()
    if wraps and now >= start:
        day = day + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(UTC)


def consent_decision(
    session: Session,
    person_id: int | None,
    channel: str,
    *,
    private: bool = False,
    at: datetime | None = None,
) -> ConsentDecision:
    """May we send this person a message on ``channel``?

    In order: an unknown author is allowed (nothing recorded); an erased
    person is refused; a recorded deny for the channel (or for every channel,
    `*`) is refused; a recorded allow is allowed; with nothing recorded a
    public reply is allowed (they spoke to us in public) and a private message
    only on a channel they have written to us from. Private messages also
    respect the person's quiet hours (refused with `retry_after`).
    """
    if person_id is None:
        return ConsentDecision(True, "the author is not a known person: no consent recorded")
    person = session.get(Person, person_id)
    if person is None:
        return ConsentDecision(True, f"person {person_id} is unknown: no consent recorded")
    if person.status == MERGED and person.merged_into_id is not None:
        return consent_decision(session, person.merged_into_id, channel, private=private, at=at)
    if person.status == ERASED:
        return ConsentDecision(False, f"person {person_id} was erased: nothing may be sent")
    rows = {
        c.channel: c
        for c in session.execute(
            select(Consent).where(
                Consent.person_id == person_id, Consent.channel.in_([channel, "*"])
            )
        ).scalars()
    }
    pref = session.get(PersonPreference, person_id)
    preferred = pref.preferred_channel if pref else None
    language = pref.language if pref else None
    hint = f"; they prefer {preferred}" if preferred and preferred != channel else ""

    def decide(allowed: bool, reason: str, retry: datetime | None = None) -> ConsentDecision:
        return ConsentDecision(allowed, reason + hint, retry, preferred, language)

    specific = rows.get(channel)
    blanket = rows.get("*")
    if specific is not None and not specific.allowed:
        return decide(
            False,
            f"person {person_id} denied consent on {channel} "
            f"({specific.updated_at.date().isoformat()}, recorded by {specific.actor})",
        )
    if specific is None and blanket is not None and not blanket.allowed:
        return decide(
            False,
            f"person {person_id} denied consent on every channel "
            f"({blanket.updated_at.date().isoformat()}, recorded by {blanket.actor})",
        )
    if private:
        quiet_end = quiet_until(pref, at or datetime.now(UTC))
        if quiet_end is not None and pref is not None:
            return decide(
                False,
                f"quiet hours {pref.quiet_start}-{pref.quiet_end} ({pref.timezone or 'UTC'}): "
                f"private messages wait until {quiet_end.isoformat()}",
                quiet_end,
            )
    granted = specific if specific is not None else blanket
    if granted is not None and granted.allowed:
        scope = channel if granted is specific else "every channel"
        return decide(True, f"person {person_id} allowed contact on {scope}")
    if not private:
        return decide(True, f"no consent recorded for {channel}: public replies are allowed")
    wrote_here = session.execute(
        select(func.count())
        .select_from(PersonIdentity)
        .join(Identity, Identity.id == PersonIdentity.identity_id)
        .join(Channel, Channel.id == Identity.channel_id)
        .where(PersonIdentity.person_id == person_id, Channel.name == channel)
    ).scalar_one()
    if wrote_here:
        return decide(
            True, f"no consent recorded for {channel}, but they wrote to us there: replies allowed"
        )
    return decide(
        False,
        f"no consent recorded for private messages on {channel}, and they never wrote to us there",
    )


def preferences_of(session: Session, person_id: int) -> Preferences:
    pref = session.get(PersonPreference, person_id)
    if pref is None:
        return Preferences()
    quiet = f"{pref.quiet_start}-{pref.quiet_end}" if pref.quiet_start and pref.quiet_end else None
    return Preferences(
        preferred_channel=pref.preferred_channel,
        quiet_hours=quiet,
        timezone=pref.timezone,
        language=pref.language,
    )


def consent_view(session: Session, person_id: int, *, at: datetime | None = None) -> ConsentPublic:
    """Recorded consent, preferences, and what a reply on each channel would be told."""
    get_person(session, person_id)
    entries = [
        ConsentEntry(
            channel=c.channel,
            allowed=c.allowed,
            source=c.source,
            actor=c.actor,
            updated_at=c.updated_at,
        )
        for c in session.execute(
            select(Consent).where(Consent.person_id == person_id).order_by(Consent.channel)
        ).scalars()
    ]
    channels = sorted(
        {i.channel for i in identities_of(session, [person_id]).get(person_id, [])}
        | {e.channel for e in entries if e.channel != "*"}
    )
    decisions = []
    for channel in channels:
        for private in (False, True):
            d = consent_decision(session, person_id, channel, private=private, at=at)
            decisions.append(
                ConsentDecisionPublic(
                    channel=channel, private=private, allowed=d.allowed, reason=d.reason
                )
            )
    return ConsentPublic(
        person_id=person_id,
        channels=entries,
        preferences=preferences_of(session, person_id),
        decisions=decisions,
    )


# ------------------------------------------------------------------ listing


def list_people(
    session: Session,
    *,
    role: str | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
    sort: str = "recent",
) -> PersonList:
    """Active people, filtered by role and by text (handles, names, emails, phones)."""
    where: list[Any] = [Person.status == ACTIVE]
    if role:
        where.append(
            Person.id.in_(
                select(PersonRole.person_id).where(
                    PersonRole.role == role, PersonRole.source.in_(["manual", "suggested"])
                )
            )
        )
    if q and q.strip():
        needle = q.strip().casefold().lstrip("@")
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(Person.search_key.like(f"%{escaped}%", escape="\\"))
        if len(needle) >= 3 and _has_trigram_table(session):
            # Candidates from the FTS5 trigram index (`_` and `%` match loosely
            # there); the exact LIKE above then keeps the true matches.
            where.append(
                Person.id.in_(
                    select(literal_column("rowid"))
                    .select_from(table("person_search"))
                    .where(literal_column("search_key").like(f"%{needle}%"))
                )
            )
    if role and not (q and q.strip()):
        # Count from the role's index; the few merged/erased people are excluded
        # by a small subquery (no scan of the whole person table).
        total = session.execute(
            select(func.count())
            .select_from(PersonRole)
            .where(
                PersonRole.role == role,
                PersonRole.source.in_(["manual", "suggested"]),
                PersonRole.person_id.not_in(select(Person.id).where(Person.status != ACTIVE)),
            )
        ).scalar_one()
    else:
        total = session.execute(select(func.count()).select_from(Person).where(*where)).scalar_one()
    query = select(Person).where(*where)
    if sort == "health":
        query = query.outerjoin(PersonHealth, PersonHealth.person_id == Person.id).order_by(
            PersonHealth.score.desc().nulls_last(), Person.id
        )
    elif sort == "id":
        query = query.order_by(Person.id)
    elif session.get_bind().dialect.name == "sqlite":
        # NULLs sort last in a descending SQLite order: the (status,
        # last_seen_at) index gives this order without sorting.
        query = query.order_by(Person.last_seen_at.desc(), Person.id.desc())
    else:
        query = query.order_by(Person.last_seen_at.desc().nulls_last(), Person.id.desc())
    people = list(session.execute(query.limit(limit).offset(offset)).scalars())
    return PersonList(people=summaries(session, people), total=int(total))


_trigram: dict[str, bool] = {}


def _has_trigram_table(session: Session) -> bool:
    """SQLite keeps a trigram index of people's search keys (`person_search`)."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return False
    key = str(bind.engine.url)
    if key not in _trigram:
        _trigram[key] = bool(
            session.execute(
                text("SELECT 1 FROM sqlite_master WHERE name = 'person_search'")
            ).scalar()
        )
    return _trigram[key]


def summaries(session: Session, people: Sequence[Person]) -> list[PersonSummary]:
    ids = [p.id for p in people]
    idents = identities_of(session, ids)
    roles = roles_for(session, ids)
    health = {
        int(pid): (score, trend)
        for pid, score, trend in session.execute(
            select(PersonHealth.person_id, PersonHealth.score, PersonHealth.trend).where(
                in_values(session, PersonHealth.person_id, ids)
            )
        )
    }
    return [
        PersonSummary(
            id=p.id,
            display_name=display_name(p, idents.get(p.id, [])),
            status=p.status,
            identities=[i.ref for i in idents.get(p.id, [])],
            roles=sorted(roles.get(p.id, set())),
            message_count=p.message_count,
            first_seen_at=p.first_seen_at,
            last_seen_at=p.last_seen_at,
            health=health.get(p.id, (None, None))[0],
            trend=health.get(p.id, (None, None))[1],
        )
        for p in people
    ]


def at_risk_people(session: Session, *, limit: int = 50) -> list[HealthPublic]:
    """Stored health of falling relationships, steepest fall first."""
    cfg = get_health_settings()
    rows = session.execute(
        select(PersonHealth.person_id)
        .join(Person, Person.id == PersonHealth.person_id)
        .where(Person.status == ACTIVE, PersonHealth.trend <= -cfg.at_risk_drop)
        .order_by(PersonHealth.trend, PersonHealth.person_id)
        .limit(limit)
    ).scalars()
    ids = [int(r) for r in rows]
    stored = _stored_health(session, ids)
    return [stored[i] for i in ids if i in stored]


# ------------------------------------------------------------------ the profile


def merged_from(session: Session, person_id: int) -> list[int]:
    return sorted(
        int(p)
        for p in session.execute(
            select(PersonMerge.absorbed_id).where(
                PersonMerge.survivor_id == person_id, PersonMerge.undone_at.is_(None)
            )
        ).scalars()
    )


def sales_of(session: Session, person_id: int) -> list[SalePublic]:
    rows = session.execute(
        select(Sale, Identity.handle, Channel.name)
        .outerjoin(Identity, Identity.id == Sale.identity_id)
        .outerjoin(Channel, Channel.id == Identity.channel_id)
        .where(Sale.person_id == person_id)
        .order_by(Sale.occurred_at, Sale.id)
    ).all()
    return [
        SalePublic(
            id=s.id,
            amount=float(s.amount),
            currency=s.currency,
            occurred_at=s.occurred_at,
            product=s.product,
            stage=s.stage,
            identity=f"{channel}:{handle}" if handle is not None else None,
            source=s.source,
            line=s.line,
        )
        for s, handle, channel in rows
    ]


def timeline(
    session: Session, person_id: int, *, limit: int | None = 200
) -> tuple[list[TimelineEvent], int]:
    """Every message they wrote, replies they received, sales, consent and
    merge events, in time order (the newest ``limit`` of them)."""
    ids = identity_ids_of(session, person_id)
    events: list[TimelineEvent] = []
    if ids:
        m = aliased(Message, name="m")
        author = aliased(Identity, name="a")
        ch = aliased(Channel, name="c")
        own = session.execute(
            select(m.id, m.created_at, m.text, m.thread_id, m.direction, ch.name, author.handle)
            .join(ch, ch.id == m.channel_id)
            .outerjoin(author, author.id == m.author_identity_id)
            .where(in_values(session, m.author_identity_id, ids))
        ).all()
        analysis = analyses_for(session, [int(r[0]) for r in own])
        for mid, at, text, thread_id, _direction, channel, handle in own:
            a = analysis.get(int(mid))
            events.append(
                TimelineEvent(
                    at=at,
                    kind="message",
                    channel=channel,
                    summary=text,
                    message_id=mid,
                    thread_id=thread_id,
                    author=f"{channel}:{handle}",
                    sentiment=a.sentiment if a else None,
                    intent=a.intent if a else None,
                )
            )
        p = aliased(Message, name="p")
        replies = session.execute(
            select(m.id, m.created_at, m.text, m.thread_id, m.direction, ch.name, author.handle)
            .join(p, and_(p.channel_id == m.channel_id, p.external_id == m.parent_external_id))
            .join(ch, ch.id == m.channel_id)
            .outerjoin(author, author.id == m.author_identity_id)
            .where(
                in_values(session, p.author_identity_id, ids),
                or_(m.author_identity_id.is_(None), m.author_identity_id.not_in(ids)),
            )
        ).all()
        for mid, at, text, thread_id, _direction, channel, handle in replies:
            events.append(
                TimelineEvent(
                    at=at,
                    kind="reply_received",
                    channel=channel,
                    summary=text,
                    message_id=mid,
                    thread_id=thread_id,
                    author=f"{channel}:{handle}" if handle else None,
                )
            )
    for sale in sales_of(session, person_id):
        events.append(
            TimelineEvent(
                at=sale.occurred_at,
                kind="sale",
                summary=f"{sale.product}: {sale.amount:.2f} {sale.currency} ({sale.stage})",
            )
        )
    subjects = [person_id, *merged_from(session, person_id)]
    for subject in subjects:
        events_, _ = list_events(session, subject_type="person", subject_id=subject, limit=1000)
        for e in events_:
            kind = e.action.split(".", 1)[-1]
            if e.action.startswith("consent."):
                kind = "consent"
            elif kind not in ("merge", "unmerge", "role", "export"):
                continue
            events.append(
                TimelineEvent(
                    at=e.at, kind=kind, summary=_audit_summary(e.action, e.details, e.actor)
                )
            )
    events.sort(key=lambda e: (e.at, e.message_id or 0))
    total = len(events)
    if limit is not None and total > limit:
        events = events[-limit:]
    return events, total


def _audit_summary(action: str, details: dict[str, Any], actor: str) -> str:
    shown = ", ".join(f"{k}={v}" for k, v in sorted(details.items()))
    return f"{action} by {actor}" + (f" ({shown})" if shown else "")


def show_person(
    session: Session, person_id: int, *, timeline_limit: int | None = 200
) -> PersonDetail:
    person = get_person(session, person_id, allow=(ACTIVE, ERASED))
    if person.status == ERASED:
        erasure = session.get(PersonErasure, person_id)
        return PersonDetail(
            id=person.id,
            display_name="(erased)",
            status=ERASED,
            created_at=person.created_at,
            identities=[],
            roles=[],
            suggested_roles=[],
            attributes={"erased_at": person.erased_at, "counts": erasure.counts if erasure else {}},
            health=None,
            consent=ConsentPublic(
                person_id=person_id, channels=[], preferences=Preferences(), decisions=[]
            ),
            sales=[],
            timeline=[],
            timeline_total=0,
        )
    idents = identities_of(session, [person_id]).get(person_id, [])
    health = health_details(session, [person_id]).get(person_id)
    facts = gather_facts(session, [person_id])[person_id]
    clock = data_clock(session)
    held = {r.role for r in role_details(session, person_id)}
    dismissed = set(
        session.execute(
            select(PersonRole.role).where(
                PersonRole.person_id == person_id, PersonRole.source == "dismissed"
            )
        ).scalars()
    )
    suggestions = [
        s
        for s in (suggest_roles(facts, clock) if clock else [])
        if s.role not in held and s.role not in dismissed
    ]
    events, total = timeline(session, person_id, limit=timeline_limit)
    channels = sorted({i.channel for i in idents})
    return PersonDetail(
        id=person.id,
        display_name=display_name(person, idents),
        status=person.status,
        created_at=person.created_at,
        identities=idents,
        roles=role_details(session, person_id),
        suggested_roles=suggestions,
        attributes={
            "emails": sorted({e for i in idents for e in i.emails}),
            "phones": sorted({p for i in idents for p in i.phones}),
            "channels": channels,
            "message_count": person.message_count,
            "first_seen_at": person.first_seen_at,
            "last_seen_at": person.last_seen_at,
        },
        health=health,
        consent=consent_view(session, person_id),
        sales=sales_of(session, person_id),
        timeline=events,
        timeline_total=total,
        merged_from=merged_from(session, person_id),
    )


# ------------------------------------------------------------------ sales vs social


def sales_report(session: Session) -> dict[str, Any]:
    """Revenue of socially engaged customers vs other customers, and of engaged
    customers before vs after their first social contact, per currency.

    A customer is a person with at least one won sale. *Socially engaged*: one
    of our accounts replied to one of their messages. *First social contact*:
    their first message to us or our first reply to them, whichever is first.
    """
    from rapport.relationships.health import WON_STAGES

    won = session.execute(
        select(Sale.person_id, Sale.amount, Sale.currency, Sale.occurred_at)
        .join(Person, Person.id == Sale.person_id)
        .where(func.lower(Sale.stage).in_(sorted(WON_STAGES)))
    ).all()
    customers = sorted({int(r[0]) for r in won})
    first_contact: dict[int, datetime] = {}
    engaged: set[int] = set()
    for chunk_start in range(0, len(customers), 5000):
        chunk = customers[chunk_start : chunk_start + 5000]
        ident_rows = session.execute(
            select(PersonIdentity.identity_id, PersonIdentity.person_id).where(
                in_values(session, PersonIdentity.person_id, chunk)
            )
        ).all()
        owner = {int(i): int(p) for i, p in ident_rows}
        if not owner:
            continue
        for ident, first in session.execute(
            select(Message.author_identity_id, func.min(Message.created_at))
            .where(
                in_values(session, Message.author_identity_id, list(owner)),
                Message.direction == INBOUND,
            )
            .group_by(Message.author_identity_id)
        ):
            pid = owner[int(ident or 0)]
            if pid not in first_contact or first < first_contact[pid]:
                first_contact[pid] = first
        r = aliased(Message, name="r")
        p = aliased(Message, name="p")
        for ident, first in session.execute(
            select(p.author_identity_id, func.min(r.created_at))
            .join(p, and_(p.channel_id == r.channel_id, p.external_id == r.parent_external_id))
            .where(
                in_values(session, p.author_identity_id, list(owner)),
                r.direction == OUTBOUND,
            )
            .group_by(p.author_identity_id)
        ):
            pid = owner[int(ident or 0)]
            engaged.add(pid)
            if pid not in first_contact or first < first_contact[pid]:
                first_contact[pid] = first

    def blank() -> dict[str, Any]:
        return {"customers": set(), "orders": 0, "revenue": 0.0}

    by_currency: dict[str, dict[str, dict[str, Any]]] = defaultdict(
        lambda: {
            k: blank() for k in ("engaged", "other", "before_first_contact", "after_first_contact")
        }
    )
    for pid, amount, currency, at in won:
        pid = int(pid)
        group = by_currency[currency]
        side = "engaged" if pid in engaged else "other"
        group[side]["customers"].add(pid)
        group[side]["orders"] += 1
        group[side]["revenue"] += float(amount)
        if pid in engaged:
            when = "before_first_contact" if at < first_contact[pid] else "after_first_contact"
            group[when]["customers"].add(pid)
            group[when]["orders"] += 1
            group[when]["revenue"] += float(amount)

    def finish(cell: dict[str, Any]) -> dict[str, Any]:
        n = len(cell["customers"])
        return {
            "customers": n,
            "orders": cell["orders"],
            "revenue": round(cell["revenue"], 2),
            "revenue_per_customer": round(cell["revenue"] / n, 2) if n else None,
        }

    currencies = {
        cur: {k: finish(v) for k, v in groups.items()}
        for cur, groups in sorted(by_currency.items())
    }
    for groups in currencies.values():
        a, b = groups["engaged"]["revenue_per_customer"], groups["other"]["revenue_per_customer"]
        groups["engaged_vs_other_ratio"] = round(a / b, 3) if a is not None and b else None  # type: ignore[assignment]
    return {
        "customers": len(customers),
        "engaged_customers": len(engaged),
        "currencies": currencies,
        "definitions": {
            "customer": "a person with at least one won sale (stage won, closed, paid or none)",
            "engaged": "one of our accounts replied to one of their messages",
            "first_contact": "their first message to us or our first reply to them",
        },
    }


@dataclass(frozen=True)
class WonSale:
    person_id: int
    amount: float
    currency: str
    occurred_at: datetime


def won_sales(session: Session) -> list[WonSale]:
    """Every won sale (stage won, closed, paid... or none) of an active
    person, oldest first: what sales-vs-social reports aggregate."""
    from rapport.relationships.health import WON_STAGES

    rows = session.execute(
        select(Sale.person_id, Sale.amount, Sale.currency, Sale.occurred_at)
        .join(Person, Person.id == Sale.person_id)
        .where(Person.status == ACTIVE, func.lower(Sale.stage).in_(sorted(WON_STAGES)))
        .order_by(Sale.occurred_at, Sale.id)
    ).all()
    return [WonSale(int(p), float(a), str(c), at) for p, a, c, at in rows]
