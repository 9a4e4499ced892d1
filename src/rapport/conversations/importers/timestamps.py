"""Timestamp parsing for the import formats; everything comes out tz-aware UTC."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}


class TimestampError(ValueError):
    """A timestamp that cannot be read, with the reason."""


@lru_cache(maxsize=512)
def _offset(token: str) -> timezone:
    if token in ("+0000", "-0000"):
        return UTC
    if len(token) != 5 or token[0] not in "+-" or not token[1:].isdigit():
        raise TimestampError(f"bad UTC offset {token!r}")
    minutes = int(token[1:3]) * 60 + int(token[3:5])
    return timezone(timedelta(minutes=minutes if token[0] == "+" else -minutes))


def parse_twitter(value: str) -> datetime:
    """`Tue Oct 31 22:10:47 +0000 2017` (the Twitter API's created_at)."""
    parts = value.split()
    if len(parts) != 6:
        raise TimestampError(f"expected 'Tue Oct 31 22:10:47 +0000 2017', got {value!r}")
    _, mon, day, clock, off, year = parts
    month = _MONTHS.get(mon)
    hms = clock.split(":")
    if month is None or len(hms) != 3:
        raise TimestampError(f"expected 'Tue Oct 31 22:10:47 +0000 2017', got {value!r}")
    zone = _offset(off)
    try:
        local = datetime(
            int(year), month, int(day), int(hms[0]), int(hms[1]), int(hms[2]), tzinfo=zone
        )
    except ValueError as exc:
        raise TimestampError(f"{value!r}: {exc}") from None
    return local if zone is UTC else local.astimezone(UTC)


def parse_any(value: str, *, assume_tz: timezone | None = None) -> datetime:
    """ISO 8601, the Twitter format, RFC 2822 or epoch seconds.

    A timestamp without offset is refused unless ``assume_tz`` says which
    zone it is in: guessing would silently shift every message.
    """
    value = value.strip()
    if not value:
        raise TimestampError("empty timestamp")
    parsed: datetime | None = None
    with contextlib.suppress(ValueError):
        parsed = datetime.fromisoformat(value)
    if parsed is None and value[:3] in {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}:
        try:
            return parse_twitter(value)
        except TimestampError:
            pass
    if parsed is None:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            parsed = None
    if parsed is None:
        try:
            seconds = float(value)
        except ValueError:
            raise TimestampError(
                f"cannot read timestamp {value!r} (expected ISO 8601 such as "
                "'2017-10-31T22:10:47Z', RFC 2822, or epoch seconds)"
            ) from None
        if not 0 <= seconds < 1e11:
            raise TimestampError(f"epoch seconds {value!r} out of range")
        return datetime.fromtimestamp(seconds, UTC)
    if parsed.tzinfo is None:
        if assume_tz is None:
            raise TimestampError(
                f"timestamp {value!r} has no UTC offset (add one such as 'Z' or '+02:00', "
                "or pass --assume-tz)"
            )
        parsed = parsed.replace(tzinfo=assume_tz)
    return parsed.astimezone(UTC)


def parse_zone(name: str) -> timezone:
    """`UTC`, `Z` or an offset like `+02:00` / `-0800`."""
    if name.upper() in {"UTC", "Z"}:
        return UTC
    token = name.replace(":", "")
    return _offset(token)
