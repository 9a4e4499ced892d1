"""`rapport analyze`: JSONL in, JSONL out, one output line per input line,
in order (the contract in CONTRACTS.md).

In: `{"id": str, "text": str, ...}`. Every other key is carried through.
Optional keys feed urgency: `author` (repetition within the run, over 24 h
when `created_at` is given), `followers`/`followers_count`,
`retweets`/`retweet_count`, `waiting_seconds`.

A line that is not a JSON object, or lacks a string `text`, gives
`{"id": <id or null>, "error": "line N: <reason>"}`; the run goes on and the
caller exits 1 at the end. Bytes that are not UTF-8 are replaced (U+FFFD)
and the line is analysed with a note in `evidence.notes`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, TextIO

from rapport.analysis import custom_intents, engine
from rapport.analysis.text import prepare_batch
from rapport.analysis.urgency import UrgencyContext

BATCH = 1000
OWN_KEYS = ("text",)


@dataclass
class RunStats:
    lines: int = 0
    analysed: int = 0
    errors: int = 0
    replaced_bytes: int = 0


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


@dataclass
class _Line:
    number: int
    obj: dict[str, Any] | None
    error: str | None
    note: str | None


def _parse(number: int, raw: bytes) -> _Line:
    note = None
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.decode("utf-8", errors="replace")
        note = f"invalid UTF-8 at byte {exc.start} replaced with U+FFFD"
    line = line.rstrip("\r\n")
    if not line.strip():
        return _Line(number, None, f"line {number}: empty line, expected a JSON object", None)
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return _Line(
            number, None, f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})", None
        )
    if not isinstance(obj, dict):
        return _Line(
            number, None, f"line {number}: expected a JSON object, got {type(obj).__name__}", None
        )
    if "text" not in obj:
        return _Line(number, obj, f"line {number}: missing field 'text'", None)
    if not isinstance(obj["text"], str):
        kind = "null" if obj["text"] is None else type(obj["text"]).__name__
        return _Line(number, obj, f"line {number}: field 'text' must be a string, got {kind}", None)
    return _Line(number, obj, None, note)


class _Repetition:
    """Earlier lines by the same `author` (within 24 h when times are known)."""

    def __init__(self) -> None:
        self.seen: dict[str, list[datetime | None]] = defaultdict(list)

    def count(self, author: Any, when: datetime | None) -> int:
        if not isinstance(author, str | int) or author == "":
            return 0
        key = str(author)
        earlier = self.seen[key]
        if when is None:
            n = len(earlier)
        else:
            n = sum(1 for t in earlier if t is None or when - timedelta(hours=24) <= t <= when)
        earlier.append(when)
        return n


def _context(obj: dict[str, Any], repetition: _Repetition) -> UrgencyContext:
    waiting = obj.get("waiting_seconds")
    return UrgencyContext(
        prior_messages_24h=repetition.count(obj.get("author"), _when(obj.get("created_at"))),
        followers=_int(obj.get("followers", obj.get("followers_count"))),
        retweets=_int(obj.get("retweets", obj.get("retweet_count"))),
        waiting_seconds=float(waiting)
        if isinstance(waiting, int | float) and waiting > 0
        else None,
    )


def analyze_lines(
    lines: Iterable[bytes],
    out: TextIO,
    *,
    tier: str = "fast",
    custom: custom_intents.CustomIntentModel | None = None,
    batch: int = BATCH,
) -> RunStats:
    """Analyse JSONL ``lines`` (bytes, one JSON object each) and write one
    JSON line per input line to ``out``."""
    stats = RunStats()
    repetition = _Repetition()
    numbered: Iterator[tuple[int, bytes]] = enumerate(lines, start=1)
    while chunk := list(islice(numbered, batch)):
        parsed = [_parse(n, raw) for n, raw in chunk]
        good = [p for p in parsed if p.error is None and p.obj is not None]
        results: dict[int, engine.Result] = {}
        if good:
            prepared = prepare_batch([p.obj["text"] for p in good])  # type: ignore[index]
            contexts = [_context(p.obj, repetition) for p in good]  # type: ignore[arg-type]
            for p, r in zip(
                good,
                engine.analyze_prepared(prepared, tier=tier, contexts=contexts, custom=custom),
                strict=True,
            ):
                if p.note:
                    r.evidence.setdefault("notes", []).append(p.note)
                    stats.replaced_bytes += 1
                results[p.number] = r
        for p in parsed:
            stats.lines += 1
            ident = p.obj.get("id") if p.obj is not None else None
            if p.error is not None:
                stats.errors += 1
                out.write(json.dumps({"id": ident, "error": p.error}, ensure_ascii=False) + "\n")
                continue
            assert p.obj is not None
            doc: dict[str, Any] = {"id": ident}
            doc.update((k, v) for k, v in p.obj.items() if k not in OWN_KEYS and k != "id")
            doc.update(results[p.number].contract())
            out.write(json.dumps(doc, ensure_ascii=False) + "\n")
            stats.analysed += 1
        out.flush()
    return stats
