"""Small helpers shared by the twin's modules: Zammad's timestamp format and API errors."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from dateutil import parser as date_parser


def iso(moment: datetime | None) -> str | None:
    """Format like Zammad's JSON: UTC with milliseconds and a `Z` (2024-03-18T23:01:21.260Z)."""
    if moment is None:
        return None
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(value: Any) -> datetime:
    """Parse an ISO-ish timestamp; naive input is taken as UTC (as Rails does with UTC zone)."""
    if isinstance(value, datetime):
        moment = value
    else:
        moment = date_parser.isoparse(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def parse_date(value: Any) -> date:
    """Parse a `YYYY-MM-DD` date (or the date part of a timestamp)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    return date_parser.isoparse(str(value)).date()


def ruby_time_to_s(moment: datetime) -> str:
    """Ruby's `Time#to_s` for UTC times, which Zammad's history uses for datetime values."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


class ApiError(Exception):
    """An error rendered as Zammad renders it: `{"error": msg, "error_human": msg}`."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, str]:
        """The JSON body Zammad's HandlesErrors#humanize_error produces for this error."""
        return {"error": self.message, "error_human": self.message}


def not_found(model: str, ident: Any) -> ApiError:
    """ActiveRecord::RecordNotFound as Zammad renders it."""
    return ApiError(404, f"Couldn't find {model} with 'id'={ident}")


def validation_failed(message: str) -> ApiError:
    """ActiveRecord::RecordInvalid: Zammad shows the first message after 'Validation failed: '."""
    return ApiError(422, message)


def to_int(value: Any) -> int | None:
    """Int from an int or numeric string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None
