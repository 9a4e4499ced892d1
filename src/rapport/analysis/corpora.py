"""Readers of the team's real data (`../shared/data`) for training and
evaluation, and of the hand-labelled intent gold set (`data/eval`).

Only `make models` and `rapport eval` read these; the shipped package
carries the trained artefacts, never the texts (SemEval's tweets must not
be redistributed).
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rapport.analysis.errors import AnalysisError

SENTIMENTS = ("negative", "neutral", "positive")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def repo_root() -> Path:
    """The checkout this package runs from (src layout)."""
    return Path(__file__).resolve().parents[3]


def shared_data_dir(explicit: str | Path | None = None) -> Path:
    """`--data`, else `$RAPPORT_SHARED_DATA`, else `../shared/data` beside the checkout."""
    path = Path(
        explicit or os.environ.get("RAPPORT_SHARED_DATA") or repo_root().parent / "shared" / "data"
    )
    if not (path / "sentiment").is_dir():
        raise AnalysisError(
            f"the shared data directory {path} is missing (expected sentiment/, twcs/, ...): "
            "pass --data DIR or set RAPPORT_SHARED_DATA"
        )
    return path


def gold_path() -> Path:
    return repo_root() / "data" / "eval" / "intent_gold.jsonl"


def unescape(text: str) -> str:
    """TweetEval writes some characters as literal `\\uXXXX` escapes."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def match_key(text: str) -> str:
    """A key that survives TweetEval's rewriting of a tweet (handles → `@user`,
    URLs dropped, escapes, entities): letters and digits only."""
    text = unescape(text).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    text = re.sub(r"https?://\S+|http\S*", "", text)
    text = re.sub(r"@\w+", "", text)
    return re.sub(r"[^a-z0-9]", "", text.lower())


@dataclass(frozen=True)
class Labelled:
    text: str
    label: str


def tweeteval_validation(data: Path) -> list[Labelled]:
    base = data / "sentiment"
    texts = (base / "tweeteval_val_text.txt").read_text(encoding="utf-8").split("\n")
    labels = (base / "tweeteval_val_labels.txt").read_text(encoding="utf-8").split()
    texts = texts[: len(labels)]
    pairs = zip(texts, labels, strict=False)
    return [Labelled(unescape(t.strip()), SENTIMENTS[int(y)]) for t, y in pairs]


def semeval_training_pool(data: Path) -> tuple[list[Labelled], int]:
    """SemEval 2013-2016 tweets minus every TweetEval validation tweet
    (matched by `match_key`, and by its first 30 key characters for the few
    rewritten beyond that). Returns the pool and how many rows were dropped."""
    val_keys = {match_key(x.text) for x in tweeteval_validation(data)}
    prefixes = {k[:30] for k in val_keys if len(k) >= 30}
    pool: list[Labelled] = []
    dropped = 0
    with (data / "sentiment" / "semeval_2013_2016_train.tsv").open(encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        for row in reader:
            if len(row) < 3 or row[1] not in SENTIMENTS:
                continue
            key = match_key(row[2])
            if key in val_keys or key[:30] in prefixes:
                dropped += 1
                continue
            pool.append(Labelled(row[2], row[1]))
    return pool, dropped


@dataclass(frozen=True)
class SourceMessage:
    """A real message with what its source says about it."""

    id: str  # twcs:<tweet_id> | airline:<tweet_id> | reviews:<line>
    kind: str  # inbound | outbound | tweet | review
    text: str
    sentiment: str | None = None
    rating: int | None = None
    brand: str | None = None


def twcs_messages(data: Path) -> Iterator[SourceMessage]:
    with (data / "twcs" / "twcs_head_5k.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if not row["text"].strip():
                continue
            inbound = row["inbound"] == "True"
            yield SourceMessage(
                f"twcs:{row['tweet_id']}",
                "inbound" if inbound else "outbound",
                row["text"],
                brand=None if inbound else row["author_id"],
            )


def airline_messages(data: Path) -> Iterator[SourceMessage]:
    seen: set[str] = set()
    with (data / "sentiment" / "airline_tweets.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["tweet_id"] in seen or not row["text"].strip():
                continue
            seen.add(row["tweet_id"])
            yield SourceMessage(
                f"airline:{row['tweet_id']}",
                "inbound",
                row["text"],
                sentiment=row["airline_sentiment"],
                brand=row["airline"],
            )


def review_messages(data: Path) -> Iterator[SourceMessage]:
    with (data / "reviews" / "amazon_alexa.tsv").open(encoding="utf-8-sig", newline="") as fh:
        for line, row in enumerate(csv.DictReader(fh, delimiter="\t"), start=2):
            text = (row.get("verified_reviews") or "").strip()
            if not text:
                continue
            try:
                rating = int(row["rating"])
            except (TypeError, ValueError):
                rating = None
            yield SourceMessage(f"reviews:{line}", "review", text, rating=rating)


@dataclass(frozen=True)
class GoldRow:
    id: str
    source: str
    text: str
    intent: str
    sentiment: str


def gold_set(path: Path | None = None) -> list[GoldRow]:
    path = path or gold_path()
    if not path.exists():
        raise AnalysisError(f"the intent gold set {path} is missing")
    rows = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                d = json.loads(line)
                rows.append(GoldRow(d["id"], d["source"], d["text"], d["intent"], d["sentiment"]))
    return rows
