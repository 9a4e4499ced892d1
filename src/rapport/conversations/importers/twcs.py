"""The Kaggle "Customer Support on Twitter" (TWCS) schema:
`tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id`.

Outbound rows (`inbound=False`) are written by a brand: their authors become
our accounts. `response_tweet_id` is a comma-separated list of replies; it
links threads and stays in the raw record.
"""

from __future__ import annotations

from rapport.conversations.importers.records import ParsedMessage
from rapport.conversations.importers.tabular import (
    Row,
    RowError,
    TabularFormat,
    normalise_id,
    parse_bool,
)
from rapport.conversations.importers.timestamps import TimestampError, parse_twitter
from rapport.conversations.models import INBOUND, OUTBOUND


class TwcsFormat(TabularFormat):
    name = "twcs"
    required = (
        "tweet_id",
        "author_id",
        "inbound",
        "created_at",
        "text",
        "response_tweet_id",
        "in_response_to_tweet_id",
    )

    def parse_row(self, row: Row) -> ParsedMessage:
        tweet_id = normalise_id(row.get("tweet_id"), "tweet_id")
        author = row.required("author_id")
        inbound = parse_bool(row.get("inbound"), "inbound")
        try:
            created_at = parse_twitter(row.get("created_at"))
        except TimestampError as exc:
            raise RowError("created_at", f"bad date: {exc}") from None
        parent = row.get("in_response_to_tweet_id").strip()
        responses = row.get("response_tweet_id").strip()
        replies: tuple[str, ...] = ()
        if responses:
            replies = tuple(
                normalise_id(r, "response_tweet_id") for r in responses.split(",") if r.strip()
            )
        return ParsedMessage(
            external_id=tweet_id,
            author=author,
            direction=INBOUND if inbound else OUTBOUND,
            created_at=created_at,
            text=row.get("text"),
            raw=row.raw,
            line=row.line,
            parent_external_id=normalise_id(parent, "in_response_to_tweet_id") if parent else None,
            reply_external_ids=replies,
        )
