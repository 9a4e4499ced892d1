"""Generated conversations shaped like TWCS: brands, reused customers,
threads of several replies with realistic delays, rows out of order."""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

_WORDS = [
    "order",
    "refund",
    "flight",
    "delayed",
    "cancelled",
    "app",
    "crash",
    "account",
    "password",
    "charged",
    "twice",
    "delivery",
    "package",
    "late",
    "help",
    "please",
    "thanks",
    "great",
    "love",
    "terrible",
    "waiting",
    "hours",
    "support",
    "update",
    "phone",
    "wifi",
    "internet",
    "bill",
    "price",
    "discount",
    "store",
    "staff",
    "seat",
    "bag",
]

HEADER = [
    "tweet_id",
    "author_id",
    "inbound",
    "created_at",
    "text",
    "response_tweet_id",
    "in_response_to_tweet_id",
]


def _stamp(when: datetime) -> str:
    return when.strftime("%a %b %d %H:%M:%S +0000 %Y")


def write_twcs_like(path: Path, size: int, *, seed: int = 7, brands: int = 60) -> int:
    """Write ``size`` TWCS-shaped rows to ``path``; returns the row count."""
    rng = random.Random(seed)
    brand_names = [f"Brand{b:02d}Support" for b in range(brands)]
    customers = max(10, size // 5)
    start = datetime(2017, 10, 1, tzinfo=UTC)
    next_id = 1
    written = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        while written < size:
            length = min(size - written, rng.choice((1, 2, 2, 3, 3, 4, 5, 7)))
            brand = rng.choice(brand_names)
            customer = str(100000 + int(rng.paretovariate(1.2) * 7) % customers)
            when = start + timedelta(seconds=rng.randrange(30 * 86400))
            ids = list(range(next_id, next_id + length))
            next_id += length
            rows = []
            for i, tweet_id in enumerate(ids):
                inbound = i % 2 == 0
                author = customer if inbound else brand
                target = brand if inbound else customer
                words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(5, 18)))
                text = f"@{target} {words}"
                response = str(ids[i + 1]) if i + 1 < length else ""
                parent = str(ids[i - 1]) if i > 0 else ""
                rows.append(
                    [str(tweet_id), author, str(inbound), _stamp(when), text, response, parent]
                )
                when += timedelta(seconds=int(rng.lognormvariate(6, 1.2)))
            if rng.random() < 0.3:
                rows.reverse()  # replies before their parents, as in real exports
            out.writerows(rows)
            written += length
    return written
