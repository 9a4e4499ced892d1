"""Role suggestions: explicit rules over a person's facts, each with its reason.

Roles set by hand always win; a suggestion a user removed is never made
again. Partner, supplier and employee are only ever set by hand.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from rapport.relationships.health import RECOMMEND_RE, WON_STAGES, PersonFacts
from rapport.relationships.schemas import RoleSuggestion

LOST_STAGES = {"lost", "closed_lost", "closed-lost", "cancelled", "canceled", "refunded"}
#: Distinct other people who mention or answer someone before they count as an influencer.
INFLUENCER_AUDIENCE = 5
#: Reshares/likes of their messages that make an influencer on their own.
INFLUENCER_REACH = 100
ADVOCATE_POSITIVE = 2
DETRACTOR_NEGATIVE = 2


def suggest_roles(facts: PersonFacts, as_of: datetime) -> list[RoleSuggestion]:
    said = [s for s in facts.said if s.at <= as_of]
    sales = [s for s in facts.sales if s.at <= as_of]
    out: list[RoleSuggestion] = []

    won = [s for s in sales if s.stage.casefold() in WON_STAGES]
    if won:
        last = won[-1]
        out.append(
            RoleSuggestion(
                role="customer",
                reason=f"{len(won)} purchase{'s' if len(won) != 1 else ''}, latest "
                f"{last.product} on {last.at.date().isoformat()}",
            )
        )
    else:
        open_deals = [s for s in sales if s.stage.casefold() not in LOST_STAGES]
        if open_deals:
            deal = open_deals[-1]
            out.append(
                RoleSuggestion(
                    role="prospect",
                    reason=f"open deal: {deal.product} at stage {deal.stage!r} "
                    f"({deal.at.date().isoformat()})",
                )
            )

    positive = [
        s
        for s in said
        if (s.sentiment == "positive" or s.intent == "praise")
        and (s.mentions_brand or s.replies_to_brand)
    ]
    referrals = [s for s in said if s.mentions_brand and RECOMMEND_RE.search(s.text)]
    if len(positive) >= ADVOCATE_POSITIVE or referrals:
        words = Counter(w for s in positive for w in s.evidence)
        evidence = ", ".join(f"'{w}'" for w, _ in words.most_common(4))
        parts = []
        if positive:
            parts.append(
                f"{len(positive)} positive mention{'s' if len(positive) != 1 else ''} of us"
            )
        if referrals:
            parts.append(
                f"{len(referrals)} recommendation{'s' if len(referrals) != 1 else ''} "
                f"('{RECOMMEND_RE.search(referrals[-1].text).group(0)}')"  # type: ignore[union-attr]
            )
        out.append(
            RoleSuggestion(
                role="advocate",
                reason="; ".join(parts) + (f" (evidence: {evidence})" if evidence else ""),
            )
        )

    negative = [s for s in said if s.sentiment == "negative" or s.intent == "complaint"]
    scored = [s.sentiment_score for s in said if s.sentiment_score is not None][-5:]
    if len(negative) >= DETRACTOR_NEGATIVE and scored and sum(scored) / len(scored) < -0.3:
        words = Counter(w for s in negative for w in s.evidence)
        evidence = ", ".join(f"'{w}'" for w, _ in words.most_common(4))
        out.append(
            RoleSuggestion(
                role="detractor",
                reason=f"{len(negative)} negative messages or complaints, recent mean sentiment "
                f"{sum(scored) / len(scored):+.2f}"
                + (f" (evidence: {evidence})" if evidence else ""),
            )
        )

    audience = {author for at, author in facts.heard_by if at <= as_of}
    reach = sum(s.reach for s in said)
    if len(audience) >= INFLUENCER_AUDIENCE or reach >= INFLUENCER_REACH:
        topics = Counter(t for s in said for t in s.topics)
        topic = f" on {', '.join(t for t, _ in topics.most_common(2))}" if topics else ""
        out.append(
            RoleSuggestion(
                role="influencer",
                reason=f"mentioned or answered by {len(audience)} other people, "
                f"{reach} reshares/likes of their messages{topic}",
            )
        )
    return out
