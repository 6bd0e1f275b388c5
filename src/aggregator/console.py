"""Terminal output for the CLI: the harvest progress line and plain tables."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TextIO


class ProgressLine:
    """A one-line progress display (records, records/s, estimated total) on a terminal.

    It draws nothing when the stream is not a terminal, so logs and pipes stay clean.
    """

    def __init__(self, label: str, stream: TextIO | None = None, interval: float = 0.1):
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.interval = interval
        self.started = time.monotonic()
        self._last_draw = 0.0
        self._drawn = False

    def update(self, records: int, total: int | None) -> None:
        """Redraw with the records harvested so far and the total when known."""
        now = time.monotonic()
        if not self.enabled or now - self._last_draw < self.interval:
            return
        self._last_draw = now
        rate = records / max(now - self.started, 1e-6)
        text = f"{self.label}: {records:,} records ({rate:,.0f}/s)"
        if total:
            share = min(records / total, 1.0)
            width = 24
            filled = int(share * width)
            text += f" [{'#' * filled}{'.' * (width - filled)}] of ~{total:,}"
        self.stream.write("\r" + text[:150].ljust(80))
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        """Clear the line so the summary that follows starts at column 0."""
        if self._drawn:
            self.stream.write("\r" + " " * 80 + "\r")
            self.stream.flush()


def table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """Format rows as a plain left-aligned text table."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r]
                                          for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
