"""When a source runs next, from how its last run went (pure functions, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["MAX_BACKOFF", "Next", "backoff", "next_run"]

MAX_BACKOFF = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Next:
    """The source's next run and its count of consecutive failures."""

    at: datetime
    failures: int


def backoff(base: timedelta, failures: int) -> timedelta:
    """The wait after ``failures`` consecutive failed runs: ``base``, doubling with each
    further failure, never more than a day."""
    if failures <= 0:
        return timedelta(0)
    wait: timedelta = base * (2 ** min(failures - 1, 32))
    return min(MAX_BACKOFF, wait)


def next_run(*, status: str, started: datetime, finished: datetime, every: timedelta,
             failures: int, failure_backoff: timedelta, resumable: bool,
             not_before: datetime | None = None) -> Next:
    """The next run of a source whose run began at ``started`` and ended at ``finished``.

    * ``failed``: one more failure; the source waits :func:`backoff` from now, instead
      of trying a dead host at every interval.
    * ended early with a checkpoint to resume from (``resumable``: stopped, out of
      time): due again at once, behind the sources already waiting.
    * otherwise the failures reset and the next run is one interval after this one
      began; runs missed meanwhile (a long run, a stopped scheduler) coalesce into one,
      due now.

    A server's ``Retry-After`` (``not_before``) is honoured in every case.
    """
    if status == "failed":
        count = failures + 1
        at = finished + backoff(failure_backoff, count)
    else:
        count = 0
        at = finished if resumable else max(started + every, finished)
    if not_before is not None and not_before > at:
        at = not_before
    return Next(at, count)
