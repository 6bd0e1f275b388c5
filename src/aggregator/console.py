"""Terminal output for the CLI: the log level of the console, the harvest progress line
and plain tables."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TextIO


def console_log_level(setting: str, verbose: int, stream: TextIO | None = None) -> str:
    """The level of the log lines the CLI prints on stderr.

    ``-v`` shows INFO, ``-vv`` DEBUG. Otherwise the ``log_level`` setting, except that on
    a terminal the default (WARNING) becomes ERROR: a person at a terminal reads the
    command's own result or ``error:`` line, which already says what the warnings would
    (retries of a dead host, each with its delay); logs going to a file or a service
    journal keep them.

    Args:
        setting: the ``log_level`` setting.
        verbose: how many ``-v`` were given.
        stream: where the log goes (stderr by default).
    """
    if verbose > 1:
        return "DEBUG"
    if verbose == 1:
        return "DEBUG" if setting.upper() == "DEBUG" else "INFO"
    level = setting.upper()
    if level == "WARNING" and (stream or sys.stderr).isatty():
        return "ERROR"
    return level


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
