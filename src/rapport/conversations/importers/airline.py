"""The "Twitter US Airline Sentiment" schema (CrowdFlower/Kaggle): tweets at
six airlines with human sentiment labels, kept in the message's meta."""

from __future__ import annotations

from datetime import UTC, datetime

from rapport.conversations.importers.records import ParsedMessage
from rapport.conversations.importers.tabular import Row, RowError, TabularFormat, normalise_id
from rapport.conversations.models import INBOUND

_META_COLUMNS = (
    "airline",
    "airline_sentiment",
    "airline_sentiment_confidence",
    "negativereason",
    "negativereason_confidence",
    "airline_sentiment_gold",
    "negativereason_gold",
    "tweet_coord",
    "tweet_location",
    "user_timezone",
)


class AirlineFormat(TabularFormat):
    name = "airline"
    required = ("tweet_id", "airline_sentiment", "airline", "name", "text", "tweet_created")

    def parse_row(self, row: Row) -> ParsedMessage:
        tweet_id = normalise_id(row.get("tweet_id"), "tweet_id")
        author = row.required("name")
        stamp = row.get("tweet_created").strip()
        try:
            created_at = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S %z")
        except ValueError:
            raise RowError(
                "tweet_created",
                f"bad date {stamp!r} (expected '2015-02-24 11:35:52 -0800')",
            ) from None
        meta: dict[str, object] = {}
        for column in _META_COLUMNS:
            value = row.optional(column)
            if value is not None:
                meta[column] = value
        retweets = row.optional("retweet_count")
        if retweets is not None:
            if not retweets.isdigit():
                raise RowError("retweet_count", f"bad retweet_count {retweets!r}")
            meta["retweet_count"] = int(retweets)
        return ParsedMessage(
            external_id=tweet_id,
            author=author,
            direction=INBOUND,
            created_at=created_at.astimezone(UTC),
            text=row.get("text"),
            raw=row.raw,
            line=row.line,
            meta=meta,
        )
