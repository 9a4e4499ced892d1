"""Shared helpers for the network tests: the bundled TWCS demo, split as needed."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from rapport.conversations.importers.records import MENTION_RE
from rapport.demo import demo_path


def demo_rows() -> tuple[list[str], list[list[str]]]:
    with demo_path().open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return header, list(reader)


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        out.writerows(rows)
    return path


def expected_interactions() -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]:
    """(replies, mentions) per (author, addressed author), computed straight from
    the CSV by the documented rules, independently of Rapport's code."""
    header, rows = demo_rows()
    col = {name: i for i, name in enumerate(header)}
    author_of = {r[col["tweet_id"]]: r[col["author_id"]] for r in rows}
    authors = {a.casefold(): a for a in author_of.values()}
    replies: Counter[tuple[str, str]] = Counter()
    mentions: Counter[tuple[str, str]] = Counter()
    for r in rows:
        author = r[col["author_id"]]
        parent = r[col["in_response_to_tweet_id"]]
        parent_author = author_of.get(parent) if parent else None
        if parent_author is not None and parent_author != author:
            replies[(author, parent_author)] += 1
        for handle in {m.casefold() for m in MENTION_RE.findall(r[col["text"]])}:
            target = authors.get(handle)
            if target is None or target in (author, parent_author):
                continue
            mentions[(author, target)] += 1
    return replies, mentions
