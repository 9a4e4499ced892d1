"""Review-site exports such as the Amazon Alexa reviews
(`rating, date, variation, verified_reviews[, feedback]`, TSV with BOM and CRLF).

Reviews carry no id and no author: the id is a hash of the review's content
plus its occurrence number in the file (identical reviews stay distinct, a
re-import finds them again); the author is unknown. A review with no text is
kept as a rating-only review, never dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime

from rapport.conversations.importers.records import ParsedMessage, Record
from rapport.conversations.importers.source import LineReader
from rapport.conversations.importers.tabular import Header, Row, RowError, TabularFormat
from rapport.conversations.models import INBOUND

_DATE_FORMATS = ("%d-%b-%y", "%Y-%m-%d", "%d-%b-%Y", "%m/%d/%Y", "%b %d, %Y")


def parse_review_date(value: str) -> datetime:
    value = value.strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise RowError("date", f"bad date {value!r} (expected e.g. '31-Jul-18' or '2018-07-31')")


class ReviewsFormat(TabularFormat):
    name = "reviews"
    required = ("rating", "date", "variation", "verified_reviews")

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def records(self, reader: LineReader, header: Header) -> Iterator[Record]:
        self._seen = {}
        return super().records(reader, header)

    def parse_row(self, row: Row) -> ParsedMessage:
        rating_text = row.required("rating")
        try:
            rating = int(rating_text)
        except ValueError:
            raise RowError("rating", f"bad rating {rating_text!r} (expected 1 to 5)") from None
        if not 1 <= rating <= 5:
            raise RowError("rating", f"rating {rating} outside 1 to 5")
        created_at = parse_review_date(row.get("date"))
        variation = row.get("variation").strip()
        text = row.get("verified_reviews").strip()
        key = hashlib.sha1(
            f"{rating}\x1f{created_at.date()}\x1f{variation}\x1f{text}".encode()
        ).hexdigest()[:20]
        occurrence = self._seen.get(key, 0) + 1
        self._seen[key] = occurrence
        meta: dict[str, object] = {"rating": rating, "variation": variation}
        feedback = row.optional("feedback")
        if feedback is not None:
            meta["feedback"] = feedback
        if not text:
            meta["rating_only"] = True
        return ParsedMessage(
            external_id=f"review-{key}-{occurrence}",
            author=None,
            direction=INBOUND,
            created_at=created_at,
            text=text,
            raw=row.raw,
            line=row.line,
            meta=meta,
        )
