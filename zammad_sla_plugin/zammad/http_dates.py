"""HTTP-date header values (RFC 9110, section 5.6.7): Zammad's `Date`, `Retry-After`."""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP-date as an aware UTC datetime; None when absent or malformed.

    Accepts the three forms RFC 9110 requires a recipient to read (IMF-fixdate, the obsolete
    RFC 850 and asctime forms). HTTP-dates are always GMT, so a date without a zone
    (asctime, or `-0000`) is taken as UTC.
    """
    if not value or not value.strip():
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)
