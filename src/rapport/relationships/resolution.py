"""Identity resolution: people who are probably the same human.

Three kinds of evidence, each with a score and a reason a person can check:
- the same email address or phone number on two people (near certain);
- similar handles or names (rapidfuzz), stronger across channels, where one
  human typically has one account each; purely numeric handles (anonymised
  ids) never count;
- a shared signature at the end of their messages (`-Jane D.`, `^JD`) used
  by only a few people.

Scores combine as independent evidence: 1 - Π(1 - s). Pairs a user marked
as different (`people not-duplicate`) are never suggested again.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from rapport.conversations.models import INBOUND, Channel, Identity, Message
from rapport.relationships.models import (
    ACTIVE,
    IdentityAttribute,
    NotDuplicate,
    Person,
    PersonIdentity,
)
from rapport.relationships.queries import (
    EMAIL_CHANNELS,
    PHONE_CHANNELS,
    contact_kind,
    phone_key,
)
from rapport.relationships.schemas import DuplicateSuggestion

#: Similarity (0..100) from which two names are suggested.
NAME_THRESHOLD = 88
#: Blocks larger than this are too common a prefix to say anything.
MAX_BLOCK = 400
#: A contact point or signature shared by more people than this is not personal.
MAX_SHARED = 5
SIGNATURE_RE = re.compile(
    r"(?:^|\s)(?:--?|[–—~^*])\s?([A-Z][A-Za-z'.]{0,20}(?:\s[A-Z][A-Za-z'.]{0,20})?)\s*$"
)
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


@dataclass
class _Pair:
    scores: list[float] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def add(self, score: float, reason: str) -> None:
        if reason not in self.reasons:
            self.scores.append(score)
            self.reasons.append(reason)

    @property
    def score(self) -> float:
        remaining = 1.0
        for s in self.scores:
            remaining *= 1 - s
        return round(1 - remaining, 3)


def _key(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def _names(session: Session) -> list[tuple[int, str, str, str]]:
    """(person, channel, shown name, normalised name) for every usable handle/name."""
    rows = session.execute(
        select(
            PersonIdentity.person_id,
            Channel.name,
            Channel.kind,
            Identity.handle,
            Identity.display_name,
        )
        .join(Person, Person.id == PersonIdentity.person_id)
        .join(Identity, Identity.id == PersonIdentity.identity_id)
        .join(Channel, Channel.id == Identity.channel_id)
        .where(Person.status == ACTIVE)
    )
    out = []
    for pid, channel, channel_kind, handle, name in rows:
        for shown in (handle, name):
            if not shown or shown.startswith("erased-"):
                continue
            if contact_kind(channel, channel_kind) == "email" and "@" in shown:
                shown = shown.split("@", 1)[0]
            norm = _NON_ALNUM.sub("", shown.casefold())
            if len(norm) < 4 or norm.isdigit():
                continue
            out.append((int(pid), channel, shown, norm))
    return out


def _name_pairs(session: Session, pairs: dict[tuple[int, int], _Pair]) -> None:
    names = _names(session)
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, (_, _, shown, norm) in enumerate(names):
        keys = {norm[:4]}
        keys.update(t[:4] for t in re.split(r"[\s._-]+", shown.casefold()) if len(t) >= 4)
        for k in keys:
            blocks[k].append(index)
    seen: set[tuple[int, int]] = set()
    for members in blocks.values():
        if len(members) < 2 or len(members) > MAX_BLOCK:
            continue
        strings = [names[i][3] for i in members]
        matrix = process.cdist(
            strings, strings, scorer=fuzz.ratio, score_cutoff=NAME_THRESHOLD, workers=1
        )
        for x, i in enumerate(members):
            for y in range(x + 1, len(members)):
                similarity = float(matrix[x][y])
                if similarity < NAME_THRESHOLD:
                    continue
                j = members[y]
                pa, ca, sa, _ = names[i]
                pb, cb, sb, _ = names[j]
                if pa == pb or (i, j) in seen:
                    continue
                seen.add((i, j))
                cross = ca != cb
                base = 0.55 + 0.35 * (similarity - NAME_THRESHOLD) / (100 - NAME_THRESHOLD)
                score = base if cross else base * 0.7
                where = "across channels" if cross else f"both on {ca}"
                pairs[_key(pa, pb)].add(
                    round(score, 3),
                    f"similar names {sa!r} ({ca}) and {sb!r} ({cb}): {similarity:.0f}/100, {where}",
                )


def _contact_pairs(session: Session, pairs: dict[tuple[int, int], _Pair]) -> None:
    holders: dict[tuple[str, str], set[int]] = defaultdict(set)
    for pid, kind, key in session.execute(
        select(PersonIdentity.person_id, IdentityAttribute.kind, IdentityAttribute.value_key)
        .join(IdentityAttribute, IdentityAttribute.identity_id == PersonIdentity.identity_id)
        .join(Person, Person.id == PersonIdentity.person_id)
        .where(Person.status == ACTIVE)
    ):
        holders[(kind, key)].add(int(pid))
    names = EMAIL_CHANNELS + PHONE_CHANNELS
    for pid, channel, channel_kind, key in session.execute(
        select(PersonIdentity.person_id, Channel.name, Channel.kind, Identity.handle_key)
        .join(Identity, Identity.id == PersonIdentity.identity_id)
        .join(Channel, Channel.id == Identity.channel_id)
        .join(Person, Person.id == PersonIdentity.person_id)
        .where(Person.status == ACTIVE, or_(Channel.name.in_(names), Channel.kind.in_(names)))
    ):
        if contact_kind(channel, channel_kind) == "email":
            holders[("email", key)].add(int(pid))
        else:
            holders[("phone", phone_key(key))].add(int(pid))
    for (kind, key), people in holders.items():
        if len(people) < 2 or len(people) > MAX_SHARED:
            continue
        ordered = sorted(people)
        for x, a in enumerate(ordered):
            for b in ordered[x + 1 :]:
                pairs[_key(a, b)].add(0.98 if kind == "email" else 0.95, f"same {kind} {key}")


def _signatures(session: Session) -> Iterable[tuple[int, str]]:
    rows = session.execute(
        select(PersonIdentity.person_id, Message.text)
        .join(Message, Message.author_identity_id == PersonIdentity.identity_id)
        .join(Person, Person.id == PersonIdentity.person_id)
        .where(Person.status == ACTIVE, Message.direction == INBOUND)
        .execution_options(yield_per=20000)
    )
    for pid, text in rows:
        if not text:
            continue
        match = SIGNATURE_RE.search(text[-60:])
        if match:
            yield int(pid), match.group(1).strip()


def _signature_pairs(session: Session, pairs: dict[tuple[int, int], _Pair]) -> None:
    uses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for pid, signature in _signatures(session):
        uses[signature][pid] += 1
    for signature, by_person in uses.items():
        people = [p for p, n in by_person.items() if n >= 2]
        if len(people) < 2 or len(people) > MAX_SHARED or len(by_person) > MAX_SHARED:
            continue
        people.sort()
        for x, a in enumerate(people):
            for b in people[x + 1 :]:
                pairs[_key(a, b)].add(
                    0.6,
                    f"shared signature {signature!r} ({by_person[a]} and {by_person[b]} messages)",
                )


def find_duplicates(
    session: Session, *, limit: int = 100, min_score: float = 0.5
) -> list[DuplicateSuggestion]:
    """Pairs of active people that are probably one person, best first."""
    pairs: dict[tuple[int, int], _Pair] = defaultdict(_Pair)
    _contact_pairs(session, pairs)
    _name_pairs(session, pairs)
    _signature_pairs(session, pairs)
    refused = {
        (int(a), int(b))
        for a, b in session.execute(select(NotDuplicate.person_a, NotDuplicate.person_b))
    }
    ranked = sorted(
        ((k, p) for k, p in pairs.items() if k not in refused and p.score >= min_score),
        key=lambda kp: (-kp[1].score, kp[0]),
    )[:limit]
    people = sorted({p for (a, b), _ in ranked for p in (a, b)})
    refs: dict[int, list[str]] = defaultdict(list)
    if people:
        for pid, channel, handle in session.execute(
            select(PersonIdentity.person_id, Channel.name, Identity.handle)
            .join(Identity, Identity.id == PersonIdentity.identity_id)
            .join(Channel, Channel.id == Identity.channel_id)
            .where(PersonIdentity.person_id.in_(people))
            .order_by(Identity.id)
        ):
            refs[int(pid)].append(f"{channel}:{handle}")
    return [
        DuplicateSuggestion(
            people=[a, b], score=p.score, reasons=p.reasons, identities=[refs[a], refs[b]]
        )
        for (a, b), p in ranked
    ]
