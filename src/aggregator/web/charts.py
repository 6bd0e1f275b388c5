"""Small bar charts as geometry; the template draws them as inline SVG (escaped as usual)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

BAR_HEIGHT = 22
GAP = 6
LABEL_WIDTH = 150
BAR_WIDTH = 260
COUNT_WIDTH = 70


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its label and count, and where it is drawn."""

    label: str
    count: int
    y: int
    width: int


@dataclass(frozen=True, slots=True)
class Chart:
    """Horizontal bars, largest count = full width."""

    bars: tuple[Bar, ...]
    width: int
    height: int
    label_width: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT


def bar_chart(data: Sequence[tuple[str, int]]) -> Chart:
    """A chart of (label, count) pairs in the order given; counts below zero count as 0."""
    top = max((count for _, count in data), default=0)
    bars = []
    for row, (label, count) in enumerate(data):
        width = round(BAR_WIDTH * max(count, 0) / top) if top > 0 else 0
        bars.append(Bar(str(label), max(count, 0), row * (BAR_HEIGHT + GAP),
                        max(width, 1 if count > 0 else 0)))
    height = max(len(bars) * (BAR_HEIGHT + GAP) - GAP, 0)
    return Chart(tuple(bars), LABEL_WIDTH + BAR_WIDTH + COUNT_WIDTH, height)


HISTOGRAM_BARS = 40  # at most this many bars: wider spans are grouped into 5, 10 … years
SPANS = (1, 2, 5, 10, 25, 50, 100)
HISTOGRAM_HEIGHT = 60
HISTOGRAM_WIDTH = 240


@dataclass(frozen=True, slots=True)
class YearBar:
    """One bar of the year histogram: the years it covers, its works, where it is drawn."""

    start: int
    end: int
    count: int
    x: float
    y: float
    width: float
    height: float

    @property
    def label(self) -> str:
        """``2019`` or ``2010–2019``."""
        return str(self.start) if self.start == self.end else f"{self.start}–{self.end}"

    @property
    def year(self) -> str:
        """The ``year`` parameter that filters to this bar."""
        return str(self.start) if self.start == self.end else f"{self.start}..{self.end}"


@dataclass(frozen=True, slots=True)
class Histogram:
    """Vertical bars over consecutive year spans, the tallest = full height."""

    bars: tuple[YearBar, ...]
    first: int
    last: int
    width: int = HISTOGRAM_WIDTH
    height: int = HISTOGRAM_HEIGHT


def year_histogram(counts: Sequence[tuple[str, int]]) -> Histogram | None:
    """The histogram of the year facet's (year, count) pairs, in any order; spans of
    1, 2, 5, 10 … years (aligned on multiples of the span) keep it to at most 40 bars,
    and empty spans between the first and the last year are drawn as gaps. None when no
    value is a year."""
    years: dict[int, int] = {}
    for value, count in counts:
        if value.isdigit() and count > 0:
            years[int(value)] = years.get(int(value), 0) + count
    if not years:
        return None
    first, last = min(years), max(years)
    span = next((s for s in SPANS if last // s - first // s < HISTOGRAM_BARS), SPANS[-1])
    buckets: dict[int, int] = {}
    for year, count in years.items():
        buckets[year // span * span] = buckets.get(year // span * span, 0) + count
    starts = range(first // span * span, last // span * span + 1, span)
    top = max(buckets.values())
    slot = HISTOGRAM_WIDTH / len(starts)
    bars = []
    for i, start in enumerate(starts):
        count = buckets.get(start, 0)
        height = round(HISTOGRAM_HEIGHT * count / top, 1) if count else 0.0
        if count:
            height = max(height, 2.0)  # a single work stays visible
        bars.append(YearBar(max(start, first), min(start + span - 1, last), count,
                            round(i * slot, 1), round(HISTOGRAM_HEIGHT - height, 1),
                            round(max(slot - 1, 1), 1), height))
    return Histogram(tuple(bars), first, last)
