"""The scheduler's worker: claims due sources through the database and harvests them.

Timing is APScheduler's (3.x): a background scheduler looks for due sources every
``scheduler_poll_seconds`` (and at once when a run ends, so the pool never idles while
work waits) and renews this process's leases every third of ``lease_seconds``. What is
due, who holds it and what ran live in the database (:mod:`aggregator.store.schedule`):
APScheduler 3's own job stores must never be shared between schedulers, so each
process keeps only these two timers in memory, and any number of processes, on any
machines sharing one database, divide the sources between them.

Both timers coalesce and have no misfire limit: a look for due sources that starts late
(a busy machine) still runs, once. (APScheduler's default grace of one second would
silently skip it.)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from apscheduler.executors.pool import ThreadPoolExecutor as TimerThreads
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine

from aggregator.cluster.stage import StageThread
from aggregator.config import Settings
from aggregator.notify import check_failing_sources
from aggregator.pipeline import SyncResult, sync_source
from aggregator.records import Notice
from aggregator.schedule import parse_interval
from aggregator.scheduler.policy import next_run
from aggregator.store import runs, schedule
from aggregator.store.requests import purge_expired
from aggregator.store.schedule import Claim

__all__ = ["RunSource", "Scheduler"]

logger = logging.getLogger(__name__)

RETENTION_SECONDS = 3600.0
"""Seconds between a scheduler's erasures of expired patron data (interlibrary requests
older than ``request_retention_days``)."""
NOTICE_SECONDS = 300.0
"""Seconds between a scheduler's looks for sources failing long enough to email their
managers (only with ``smtp_url``)."""


class RunSource(Protocol):
    """What the scheduler calls to harvest one source (:func:`sync_source`)."""

    def __call__(self, engine: Engine, settings: Settings, source_id: int, *,
                 reconcile: bool, owner: str, stop: Callable[[], bool],
                 cluster: bool) -> SyncResult: ...


def _now() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    """Harvest every active source on its interval, sharing the work through the store.

    Args:
        engine: the store (SQLite for one process; PostgreSQL to share between machines).
        settings: ``harvest_concurrency``, ``scheduler_poll_seconds``,
            ``lease_seconds``, ``failure_backoff``, ``reconcile_every`` are read.
        after_run: called after each run (e.g. to bring the search index up to date);
            calls never overlap.
        run_source: harvests one source; :func:`aggregator.pipeline.sync_source`.
    """

    def __init__(self, engine: Engine, settings: Settings, *,
                 after_run: Callable[[SyncResult], None] | None = None,
                 run_source: RunSource = sync_source) -> None:
        self._engine = engine
        self._settings = settings
        self._after_run = after_run
        self._run_source = run_source
        self._concurrency = settings.harvest_concurrency
        self._backoff = parse_interval(settings.failure_backoff)
        self._reconcile = parse_interval(settings.reconcile_every)
        self._lock = threading.RLock()  # stop() may take it in a signal handler
        self._after_lock = threading.Lock()
        self._running: dict[str, Claim] = {}
        self._lost: set[str] = set()
        self._stopping = threading.Event()
        self._changed = threading.Condition(self._lock)
        self._pool = ThreadPoolExecutor(max_workers=self._concurrency,
                                        thread_name_prefix="harvest")
        self._timer: BackgroundScheduler | None = None
        self._clustering: StageThread | None = None
        self.results: list[SyncResult] = []

    # -- running ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the timers in background threads and return (``serve``, tests)."""
        self._timer = self._timers(dispatch=True)
        self._timer.start()

    def run_forever(self) -> None:
        """Run until :meth:`stop` is called (from a signal handler or another thread)."""
        self.start()
        self._stopping.wait()
        self._drain()

    def run_once(self) -> list[SyncResult]:
        """Harvest every source due now, each at most once, then return the results."""
        self.purge_requests()
        self._timer = self._timers(dispatch=False)
        self._timer.start()
        done: set[int] = set()
        try:
            while not self._stopping.is_set():
                for claim in self._claim(skip=done):
                    done.add(claim.source_id)
                with self._changed:
                    active = bool(self._running)
                    if active:
                        self._changed.wait(timeout=self._settings.scheduler_poll_seconds)
                if active:
                    continue
                if not self._claim_possible(done):
                    break
                # due sources wait for hosts another process is harvesting: look again
                self._stopping.wait(self._settings.scheduler_poll_seconds)
        finally:
            self._drain()
        return self.results

    def stop(self) -> None:
        """Ask the scheduler to stop: no new work; runs end at their next page boundary.

        Safe in a signal handler (it only sets a flag); :meth:`run_forever` and
        :meth:`run_once` then return once the runs have ended and given their leases back.
        """
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()

    def close(self) -> None:
        """Stop and wait for the runs to end (for callers that used :meth:`start`)."""
        self.stop()
        self._drain()

    @property
    def running(self) -> list[Claim]:
        """The claims being harvested now."""
        with self._lock:
            return list(self._running.values())

    # -- internals -------------------------------------------------------------------

    def _timers(self, *, dispatch: bool) -> BackgroundScheduler:
        if self._clustering is None:
            self._clustering = StageThread(self._engine, settings=self._settings,
                                           lease_seconds=self._settings.lease_seconds)
        timer = BackgroundScheduler(
            timezone=UTC, executors={"default": TimerThreads(2)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})
        if dispatch:
            timer.add_job(self.dispatch, "interval", id="dispatch", next_run_time=_now(),
                          seconds=self._settings.scheduler_poll_seconds)
        timer.add_job(self._heartbeat, "interval", id="heartbeat",
                      seconds=max(0.2, self._settings.lease_seconds / 3))
        # run_once erases before it starts; a long-running scheduler at once, then hourly
        first = {"next_run_time": _now()} if dispatch else {}
        timer.add_job(self.purge_requests, "interval", id="retention",
                      seconds=RETENTION_SECONDS, **first)
        if self._settings.smtp_url:
            timer.add_job(self.check_notices, "interval", id="notices",
                          next_run_time=_now(), seconds=NOTICE_SECONDS)
        return timer

    def _drain(self) -> None:
        """Wait for the runs to end (the heartbeat keeps their leases meanwhile)."""
        with self._lock:
            self._stopping.set()
        self._pool.shutdown(wait=True)
        if self._timer is not None and self._timer.running:
            self._timer.shutdown(wait=True)
        if self._clustering is not None:  # the last runs' records are clustered first
            self._clustering.stop()
            self._clustering = None

    def dispatch(self) -> int:
        """Claim what is due and fits the pool; returns how many runs were started."""
        return len(self._claim())

    def _claim(self, skip: set[int] | None = None) -> list[Claim]:
        if self._stopping.is_set():
            return []
        with self._lock:
            free = self._concurrency - len(self._running)
            busy = {claim.host for claim in self._running.values()}
        try:
            claims = schedule.claim_due(
                self._engine, limit=free, lease_seconds=self._settings.lease_seconds,
                reconcile_every=self._reconcile, busy_hosts=busy, skip=skip or ())
        except Exception:  # the database is away: try again at the next look
            logger.exception("could not look for due sources")
            return []
        started = []
        for claim in claims:
            with self._lock:  # _drain sets the flag under this lock, then shuts the pool
                if self._stopping.is_set():
                    schedule.release(self._engine, claim)
                    continue
                self._running[claim.owner] = claim
                future = self._pool.submit(self._harvest, claim)
            future.add_done_callback(self._report_crash)
            started.append(claim)
        return started

    def _claim_possible(self, done: set[int]) -> bool:
        """Whether a source not yet run by :meth:`run_once` is due and held by nobody
        (its host may be busy with another source, elsewhere)."""
        if self._stopping.is_set():
            return False
        try:
            return bool(schedule.due_ids(self._engine, skip=done, busy_hosts_too=True))
        except Exception:
            logger.exception("could not look for due sources")
            return False

    def _harvest(self, claim: Claim) -> None:
        started = _now()
        owner = claim.owner
        try:
            result = self._run_source(
                self._engine, self._settings, claim.source_id, reconcile=claim.full,
                owner=owner, cluster=False,
                stop=lambda: self._stopping.is_set() or owner in self._lost)
        except Exception as exc:  # a store failure: the run is failed, the worker lives
            logger.exception("harvest of source %d failed", claim.source_id)
            result = SyncResult(f"source {claim.source_id}", claim.source_id, "failed",
                                errors=[Notice("error", str(exc)).as_dict()])
        try:
            self._finish(claim, result, started)
        finally:
            with self._changed:
                self._running.pop(owner, None)
                self._lost.discard(owner)
                self.results.append(result)
                self._changed.notify_all()
            self._wake()
        if self._clustering is not None and (result.new or result.updated or result.deleted):
            self._clustering.poke()
        if self._after_run is not None:
            with self._after_lock:
                try:
                    self._after_run(result)
                except Exception:
                    logger.exception("after the harvest of source %d", claim.source_id)

    def _finish(self, claim: Claim, result: SyncResult, started: datetime) -> None:
        state = runs.get_source_state(self._engine, claim.source_id)
        resumable = state.checkpoint is not None and result.status != "ok"
        planned = next_run(
            status=result.status, started=started, finished=_now(),
            every=timedelta(seconds=state.every_seconds),
            failures=schedule.failures_of(self._engine, claim.source_id),
            failure_backoff=self._backoff, resumable=resumable,
            not_before=state.not_before)
        error = result.errors[0]["message"] if result.errors else None
        schedule.finish(self._engine, claim, status=result.status,
                        error=None if error is None else str(error)[:2000],
                        next_run_at=planned.at, failures=planned.failures,
                        full_done=claim.full and result.status != "failed" and not resumable)
        logger.info("source %d: %s; next run %s", claim.source_id, result.status,
                    planned.at.strftime("%Y-%m-%dT%H:%M:%SZ"))

    def _wake(self) -> None:
        """Look for due sources now rather than at the next poll (a slot just freed)."""
        timer = self._timer
        if timer is None or not timer.running or self._stopping.is_set():
            return
        try:
            timer.modify_job("dispatch", next_run_time=_now())
        except Exception:  # run_once has no dispatch timer: its loop looks itself
            return

    def check_notices(self) -> int:
        """Email the managers of sources failing for a day (once per failing streak;
        several schedulers may check at once). Returns how many emails were sent."""
        try:
            return check_failing_sources(self._engine, self._settings)
        except Exception:  # the database is away: try again at the next check
            logger.exception("could not check for failing sources")
            return 0

    def purge_requests(self) -> int:
        """Erase the patron data of requests older than ``request_retention_days``
        (:func:`aggregator.store.requests.purge_expired`). Returns how many."""
        try:
            purged = purge_expired(self._engine, self._settings.request_retention_days)
        except Exception:  # the database is away: try again at the next hour
            logger.exception("could not erase expired request data")
            return 0
        if purged:
            logger.info("erased the patron data of %d expired requests", purged)
        return purged

    def _heartbeat(self) -> None:
        with self._lock:
            owners = list(self._running)
        if not owners:
            return
        try:
            held = schedule.renew(self._engine, owners, self._settings.lease_seconds)
        except Exception:
            logger.exception("could not renew the leases")
            return
        lost = set(owners) - held
        if lost:
            logger.warning("%d lease(s) were taken over by another process; stopping "
                           "those runs", len(lost))
            with self._lock:
                self._lost |= lost & set(self._running)

    @staticmethod
    def _report_crash(future: Future[Any]) -> None:
        exc = future.exception()
        if exc is not None:
            logger.error("a harvest worker thread failed", exc_info=exc)
