"""When to ask again: the wait a Retry-After header asks for, and backoff with jitter."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_MAX_WAIT = 10 * 365 * 86400.0  # keeps absurd Retry-After values representable
_DELTA_SECONDS = re.compile(r"[0-9]+")


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Return the wait a Retry-After header asks for, in seconds.

    Args:
        value: the header, as delta-seconds or as an HTTP-date.
        now: the current UTC time (for HTTP-dates); defaults to the clock.

    Returns:
        Seconds to wait (0 for a date in the past), or ``None`` when absent or unreadable.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text):
        return min(float(text), _MAX_WAIT)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return min(max(0.0, (when - now).total_seconds()), _MAX_WAIT)


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Return the pause before retry ``attempt`` (from 0): doubling, jittered, capped.

    Args:
        attempt: how many retries came before this one.
        base: the first pause, in seconds, before jitter.
        cap: the longest pause returned.
    """
    delay = base * 2 ** attempt * random.uniform(0.5, 1.5)
    return float(min(delay, cap))
