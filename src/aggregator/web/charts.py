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
