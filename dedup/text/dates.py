"""When an input says a text was published: a date or time as records and pages give it -> seconds since
1970 (UTC), so documents from different inputs compare.

Accepted: ISO 8601 dates and times (`2024-03-04`, `2024-03-04T10:15:00+01:00`, `...Z`), RFC 2822 times
(`Mon, 04 Mar 2024 10:15:00 GMT`, as feeds give them), numbers of seconds since 1970 (milliseconds when larger
than any date in seconds could be; as a string, at least 9 digits, so a year alone is not read as one), and a
`datetime` or `date` (a table's column). A time without a zone is taken as UTC, a date alone as its midnight
UTC. Anything else is no date: a scan then tells a source from the text alone.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time
from email.utils import parsedate_to_datetime

__all__ = ["parse_date"]

# Seconds since 1970 beyond this are milliseconds (1e11 s is the year 5138).
_MILLISECONDS = 1e11
# A date string longer than this is text, not a date.
_MAX_CHARS = 64
_NUMBER = re.compile(r"[+-]?\d{9,}(\.\d+)?")


def parse_date(value: object) -> float | None:
    """A date or time as seconds since 1970 UTC, or None where `value` is not one (module docstring).

    >>> parse_date("2024-03-04"), parse_date("2024-03-04T01:00:00+01:00"), parse_date(1709510400000)
    (1709510400.0, 1709510400.0, 1709510400.0)
    >>> parse_date("Mon, 04 Mar 2024 00:00:00 GMT"), parse_date("last Tuesday"), parse_date(True)
    (1709510400.0, None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, date):
        when = value if isinstance(value, datetime) else datetime.combine(value, time())
        return _seconds(when)
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, int):
        return _number(float(value)) if abs(value) < _MILLISECONDS**2 else None
    if isinstance(value, str):
        return _text(value.strip())
    return None


def _number(seconds: float) -> float | None:
    if abs(seconds) >= _MILLISECONDS:
        seconds /= 1000.0
    return seconds if math.isfinite(seconds) and abs(seconds) < _MILLISECONDS else None


def _text(text: str) -> float | None:
    if not text or len(text) > _MAX_CHARS:
        return None
    if _NUMBER.fullmatch(text):
        return _number(float(text))
    try:
        return _seconds(datetime.fromisoformat(text))
    except ValueError:
        pass
    try:
        return _seconds(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        return None


def _seconds(when: datetime) -> float | None:
    try:
        return (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).timestamp()
    except (OverflowError, OSError, ValueError):
        return None
