"""Parsing and formatting of wire timestamps: aware datetimes only, UTC with `Z` out."""

from __future__ import annotations

from datetime import datetime, timezone


def parse_time(value: object, what: str) -> datetime:
    """Parse an ISO-8601 timestamp that carries its offset; a naive one is a ValueError."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{what}: {value!r} is not an ISO-8601 time") from None
    else:
        raise ValueError(f"{what}: expected an ISO-8601 time, got {value!r}")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"{what}: {value!r} has no UTC offset (naive times are not guessed)")
    return parsed.astimezone(timezone.utc)


def format_utc(value: datetime | None) -> str | None:
    """Render an aware datetime as UTC ISO-8601 with `Z` (None stays None)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} cannot be put on the wire")
    text = value.astimezone(timezone.utc).isoformat()
    return text.replace("+00:00", "Z")
