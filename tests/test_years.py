"""Years read from the date shapes catalogues and repositories send."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.normalize.years import max_year, pick_year, year_of


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019", 2019),
        ("2019-05", 2019),
        ("05/2019", 2019),
        ("2019-05-01T10:11:12Z", 2019),
        ("[2019]", 2019),
        ("c2019", 2019),
        ("©2019", 2019),
        ("2019?", 2019),
        ("cop. 2019", 2019),
        ("1998-2001", 1998),
        ("May 2019", 2019),
        ("Mei 2019", 2019),
        ("20190501", 2019),
        ("20020812092159.0", 2002),  # MARC 005 shape
        ("1862.", 1862),  # MARC 260 $c with ISBD full stop
        (" 2013-10-14 ", 2013),
        ("s.a.", None),
        ("[s.a.]", None),
        ("n.d.", None),
        ("", None),
        ("0001-01-01", None),  # EPrints/Koha placeholder datestamps
        ("9999", None),
        ("19--", None),
        ("20191301", None),  # not a date: month 13
    ],
)
def test_year_of(value: str, expected: int | None) -> None:
    assert year_of(value) == expected


def test_next_year_is_plausible_but_not_the_one_after() -> None:
    top = max_year()
    assert year_of(str(top)) == top
    assert year_of(str(top + 1)) is None


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # citebase: submitted and revised dates, the earliest wins
        (["1999-12-31", "2000-01-17"], (1999, "1999-12-31")),
        # DSpace: accession timestamps next to the issue date
        (["2020-01-13T08:00:00Z", "2019", "2020-01-13T08:00:00Z"], (2019, "2019")),
        (["2003-04-22T13:13:44Z"] * 3, (2003, "2003-04-22T13:13:44Z")),
        (["", "s.a."], (None, "s.a.")),
        ([], (None, None)),
    ],
)
def test_pick_year(values: list[str], expected: tuple[int | None, str | None]) -> None:
    assert pick_year(values) == expected


@given(st.text())
def test_year_of_never_raises_and_stays_in_range(value: str) -> None:
    year = year_of(value)
    assert year is None or 1000 <= year <= max_year()
