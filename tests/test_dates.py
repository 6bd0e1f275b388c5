"""Tests for datestamp parsing, formatting and harvest windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.harvest.dates import (
    Granularity,
    add_months,
    format_datestamp,
    month_windows,
    normalise_granularity,
    parse_datestamp,
)


@pytest.mark.parametrize(
    ("text", "expected", "granularity", "valid"),
    [
        ("2024-03-05", datetime(2024, 3, 5, tzinfo=UTC), "day", True),
        ("2024-03-05T10:11:12Z", datetime(2024, 3, 5, 10, 11, 12, tzinfo=UTC), "seconds", True),
        ("  2024-03-05t10:11:12z ", datetime(2024, 3, 5, 10, 11, 12, tzinfo=UTC), "seconds",
         False),
        ("2024", datetime(2024, 1, 1, tzinfo=UTC), "day", False),
        ("2024-03", datetime(2024, 3, 1, tzinfo=UTC), "day", False),
        ("20210311", datetime(2021, 3, 11, tzinfo=UTC), "day", False),
        ("2024-11-02 09:15:33", datetime(2024, 11, 2, 9, 15, 33, tzinfo=UTC), "seconds", False),
        ("2024-11-02T09:15", datetime(2024, 11, 2, 9, 15, tzinfo=UTC), "seconds", False),
        ("2023-03-30T16:02:12+05:45", datetime(2023, 3, 30, 10, 17, 12, tzinfo=UTC), "seconds",
         False),
        ("2023-03-30T23:00:00-0200", datetime(2023, 3, 31, 1, 0, tzinfo=UTC), "seconds", False),
        ("2024-03-05T10:11:12.345Z", datetime(2024, 3, 5, 10, 11, 12, 345000, tzinfo=UTC),
         "seconds", False),
        ("0001-01-01", datetime(1, 1, 1, tzinfo=UTC), "day", True),
    ],
)
def test_parse_datestamp_forms(text: str, expected: datetime, granularity: str,
                               valid: bool) -> None:
    parsed = parse_datestamp(text)
    assert parsed is not None
    assert parsed.value == expected
    assert parsed.value.tzinfo is UTC
    assert parsed.granularity == granularity
    assert parsed.valid is valid
    assert parsed.raw == text.strip()


@pytest.mark.parametrize(
    "text",
    [None, "", "   ", "aaaa-bb-cc", "2024-13-01", "2024-02-30", "0000-01-01", "yesterday",
     "2024-01-01T25:00:00Z", "2024-01-01T10:00:00+99:00", "0001-01-01T00:00:00+01:00"],
)
def test_parse_datestamp_garbage(text: str | None) -> None:
    assert parse_datestamp(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("YYYY-MM-DD", "day"), ("YYYY-MM-DDThh:mm:ssZ", "seconds"),
     ("yyyy-mm-ddThh:mm:ssz", "seconds"), ("YYYY-MM-DD HH:MM:SS", "seconds"),
     ("nonsense", "day"), (None, "day"), ("", "day")],
)
def test_normalise_granularity(text: str | None, expected: str) -> None:
    assert normalise_granularity(text) == expected


def test_format_datestamp_converts_to_utc() -> None:
    dt = datetime(2024, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    assert format_datestamp(dt, "seconds") == "2023-12-31T23:30:00Z"
    assert format_datestamp(dt, "day") == "2023-12-31"
    assert format_datestamp(datetime(2024, 5, 6, 7, 8, 9), "seconds") == "2024-05-06T07:08:09Z"


def test_add_months_clamps_day() -> None:
    assert add_months(datetime(2024, 1, 31), 1) == datetime(2024, 2, 29)
    assert add_months(datetime(2023, 1, 31), 1) == datetime(2023, 2, 28)
    assert add_months(datetime(2024, 11, 15), 3) == datetime(2025, 2, 15)
    assert add_months(datetime(2024, 3, 15), -3) == datetime(2023, 12, 15)


def test_month_windows_day() -> None:
    windows = month_windows(datetime(2024, 1, 15, 12, tzinfo=UTC),
                            datetime(2024, 4, 1, tzinfo=UTC), 1, "day")
    assert windows == [
        (None, "2024-02-14"),
        ("2024-02-15", "2024-03-14"),
        ("2024-03-15", None),
    ]


def test_month_windows_seconds() -> None:
    windows = month_windows(datetime(2024, 1, 1, tzinfo=UTC),
                            datetime(2024, 6, 1, tzinfo=UTC), 2, "seconds")
    assert windows == [
        (None, "2024-02-29T23:59:59Z"),
        ("2024-03-01T00:00:00Z", "2024-04-30T23:59:59Z"),
        ("2024-05-01T00:00:00Z", None),
    ]


def test_month_windows_empty_range() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    assert month_windows(now, now, 1, "day") == [(None, None)]
    assert month_windows(now + timedelta(days=3), now, 1, "seconds") == [(None, None)]
    assert month_windows(now, now + timedelta(days=3), 1, "day") == [(None, None)]
    with pytest.raises(ValueError):
        month_windows(now, now + timedelta(days=90), 0, "day")


_INSTANTS = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2040, 1, 1),
                         timezones=st.just(UTC))
_GRANULARITY = st.sampled_from(["day", "seconds"])


def _contains(window: tuple[str | None, str | None], stamp: str) -> bool:
    # Same-format OAI datestamps compare correctly as strings.
    low, high = window
    return (low is None or low <= stamp) and (high is None or stamp <= high)


@settings(max_examples=300, deadline=None)
@given(_INSTANTS, _INSTANTS, st.integers(min_value=1, max_value=12), _GRANULARITY,
       st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=20))
def test_windows_partition_the_range(a: datetime, b: datetime, months: int,
                                     granularity: Granularity, points: list[float]) -> None:
    start, end = min(a, b), max(a, b)
    windows = month_windows(start, end, months, granularity)
    assert windows[0][0] is None
    assert windows[-1][1] is None
    # Consecutive windows meet exactly one granularity unit apart.
    unit = timedelta(days=1) if granularity == "day" else timedelta(seconds=1)
    for (_, until), (nxt, _) in zip(windows, windows[1:], strict=False):
        assert until is not None and nxt is not None
        until_dt, next_dt = parse_datestamp(until), parse_datestamp(nxt)
        assert until_dt is not None and next_dt is not None
        assert next_dt.value - until_dt.value == unit
    span = end - start
    instants = [start - timedelta(days=400), end + timedelta(days=400), start, end]
    instants += [start + span * p for p in points]
    for instant in instants:
        stamp = format_datestamp(instant, granularity)
        assert sum(_contains(w, stamp) for w in windows) == 1, (stamp, windows)


@settings(max_examples=300, deadline=None)
@given(_INSTANTS, _GRANULARITY)
def test_format_parse_round_trip(instant: datetime, granularity: Granularity) -> None:
    text = format_datestamp(instant, granularity)
    parsed = parse_datestamp(text)
    assert parsed is not None
    assert parsed.valid
    assert parsed.granularity == granularity
    assert format_datestamp(parsed.value, granularity) == text
    expected = instant.replace(microsecond=0)
    if granularity == "day":
        expected = expected.replace(hour=0, minute=0, second=0)
    assert parsed.value == expected
