"""sync_source(): one source end to end (harvest → store), for the CLI, scheduler and tests."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from aggregator.cluster import stage as cluster_stage
from aggregator.config import Settings
from aggregator.errors import (
    AggregatorError,
    FetchError,
    MalformedXML,
    NotOAIResponse,
    OAIProtocolError,
)
from aggregator.harvest.client import OAIClient
from aggregator.harvest.harvester import Harvester, Outcome, Step
from aggregator.harvest.parse import parse_list_page
from aggregator.harvest.plan import Checkpoint, SourceSpec
from aggregator.harvest.sets import list_set_names
from aggregator.index.model import SearchBackend
from aggregator.index.sync import sync_index
from aggregator.normalize.stored import Ahead, Stored
from aggregator.records import Notice
from aggregator.store import member_sets, runs
from aggregator.store.ingest import PageWrite, reconcile, sweep_page, write_page

logger = logging.getLogger(__name__)

LEASE_RENEW_EVERY = 60.0
NORMALISE_AHEAD_FROM = 500  # records in a run before pages are normalised in a worker
# Records a reconciliation sweep fetches one by one (GetRecord); when more are missing or
# changed, a full ListRecords pass costs fewer requests.
SWEEP_FETCH_MAX = 500
# Records sent to the worker at once: a large page goes in pieces, so neither process
# ever holds the whole page pickled (60,000 records' results were a 57 MB pickle).
NORMALISE_CHUNK = 2_000
Progress = Callable[[int, int | None], None]


@dataclass(slots=True)
class SyncResult:
    """What one run of one source did; ``as_json()`` is the CLI's ``--json`` line."""

    source: str
    source_id: int
    status: str
    run_id: int | None = None
    mode: str = "incremental"
    new: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    pages: int = 0
    bytes: int = 0
    seconds: float = 0.0
    warnings: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    indexed: int = 0

    def as_json(self) -> dict[str, Any]:
        """Return the result as a JSON-ready dict."""
        return {
            "source": self.source, "source_id": self.source_id, "run_id": self.run_id,
            "mode": self.mode, "status": self.status, "new": self.new,
            "updated": self.updated, "deleted": self.deleted, "unchanged": self.unchanged,
            "pages": self.pages, "bytes": self.bytes, "seconds": round(self.seconds, 3),
            "indexed": self.indexed, "warnings": self.warnings, "errors": self.errors,
        }


def sync_source(engine: Engine, settings: Settings, source_id: int, *, full: bool = False,
                progress: Progress | None = None,
                client_factory: Callable[[str, Settings], OAIClient] = OAIClient,
                index: SearchBackend | None = None, owner: str | None = None,
                stop: Callable[[], bool] | None = None, reconcile: bool = False,
                cluster: bool = True) -> SyncResult:
    """Harvest one source into the store, resuming an interrupted run if there is one.

    After a complete run the source's setSpecs in use are stored with the names the
    member gives them (its ListSets, asked at most once a day).

    Args:
        engine: the store's engine (schema already initialised).
        settings: the aggregator settings.
        source_id: the source to harvest.
        full: harvest everything (ignore the incremental cursor) and reconcile deletions.
        reconcile: after a complete incremental run, check the whole list against the
            store with a ListIdentifiers sweep (:func:`_sweep`): how deletions are found
            on servers that keep none (``deletedRecord=no``), and records the
            incremental runs missed are fetched.
        progress: called after each page with (records so far, completeListSize or None).
        client_factory: builds the HTTP client (tests may wrap it).
        index: when given (this process owns it), the search index catches up with the
            store after the run (a failure there is a warning: the harvest is kept).
            Either way, a run that changed records then clusters them
            (:func:`aggregator.cluster.stage.catch_up`), unless ``cluster`` is false
            (the caller does that: a scheduler's clustering thread).
        owner: the lease the caller already holds on the source (the scheduler's
            claim); the caller then gives it back. Without it, the run takes the lease
            itself and releases it at the end.
        stop: asked after each stored page; when it says so the run ends ``partial``
            at that page boundary and the next run resumes there.

    Returns:
        The run's counts and status. Harvest problems are reported in the result, not
        raised; only store failures raise.
    """
    started = time.monotonic()
    state = runs.get_source_state(engine, source_id)
    label = f"{state.member_slug} {state.base_url}"
    if state.not_before is not None and state.not_before > datetime.now(UTC):
        return SyncResult(label, source_id, "partial", warnings=[Notice(
            "retry-later", f"the server asked us to wait until "
                           f"{state.not_before:%Y-%m-%dT%H:%M:%SZ}").as_dict()])
    held = owner is not None
    owner = owner or runs.lease_owner_id()
    if not runs.acquire_lease(engine, source_id, owner, settings.lease_seconds):
        return SyncResult(label, source_id, "failed", errors=[Notice(
            "busy", "another harvest of this source is running").as_dict()])
    try:
        result = _run(engine, settings, state, owner, full, progress, client_factory, stop)
        if reconcile and not full and result.status == "ok" and result.mode != "full":
            result = _reconciled(engine, settings, state, owner, result, client_factory, stop)
    finally:
        if not held:
            runs.release_lease(engine, source_id, owner)
    if cluster and (result.new or result.updated or result.deleted):
        try:
            cluster_stage.catch_up(engine, lease_seconds=settings.lease_seconds)
        except AggregatorError as exc:
            result.warnings.append(Notice("clusters", f"duplicate clusters were not updated "
                                                      f"(the next run does it): {exc}").as_dict())
    if index is not None:
        try:
            result.indexed = sync_index(engine, index).documents
        except AggregatorError as exc:
            result.warnings.append(Notice("index", f"the search index was not updated: "
                                                   f"{exc}").as_dict())
    result.source = label
    result.seconds = time.monotonic() - started
    logger.info("harvest %s: %d new, %d updated, %d deleted in %.1fs (%s)", label,
                result.new, result.updated, result.deleted, result.seconds, result.status)
    return result


def _spec(state: runs.SourceState) -> SourceSpec:
    """What the harvester needs to know of a source."""
    return SourceSpec(
        base_url=state.base_url, metadata_prefix=state.metadata_prefix,
        set_spec=state.set_spec, granularity=state.granularity,
        earliest_datestamp=state.earliest_datestamp,
        use_day_granularity=state.use_day_granularity, date_filter=state.date_filter,
        cursor_from=state.cursor_from)


class _Guard:
    """Checked after each page: renews the source's lease, and ends the run (at that page
    boundary) when the lease was lost, the caller asks it to stop, or the run has taken
    longer than ``source_time_limit``."""

    def __init__(self, engine: Engine, settings: Settings, source_id: int, owner: str,
                 stop: Callable[[], bool] | None) -> None:
        self._engine, self._settings, self._source_id = engine, settings, source_id
        self._owner, self._stop = owner, stop
        self._began = self._renewed = time.monotonic()

    def keep_going(self, outcome: Outcome) -> bool:
        """Whether the run goes on; when not, ``outcome`` says why."""
        settings = self._settings
        if time.monotonic() - self._renewed > min(LEASE_RENEW_EVERY, settings.lease_seconds / 3):
            if not runs.renew_lease(self._engine, self._source_id, self._owner,
                                    settings.lease_seconds):
                outcome.fail("lease", "another process took over this source; stopping so "
                                      "it is not harvested twice")
                return False
            self._renewed = time.monotonic()
        if self._stop is not None and self._stop():
            outcome.degrade("stopped", "the harvester was asked to stop; the next run goes "
                                       "on from this page")
            return False
        if time.monotonic() - self._began > settings.source_time_limit:
            outcome.degrade("time-limit", f"the run took longer than source_time_limit "
                                          f"({settings.source_time_limit:g} s); the next run "
                                          "goes on from this page")
            return False
        return True


def _run(engine: Engine, settings: Settings, state: runs.SourceState, owner: str, full: bool,
         progress: Progress | None, client_factory: Callable[[str, Settings], OAIClient],
         stop: Callable[[], bool] | None = None) -> SyncResult:
    source_id = state.id
    resumed_from = runs.interrupted_run(engine, source_id)
    checkpoint = Checkpoint.from_json(state.checkpoint)
    resuming_full = checkpoint is not None and checkpoint.mode == "full"
    mode = "full" if full or resuming_full or not state.date_filter else "incremental"
    run_id = runs.start_run(engine, source_id, mode, owner, resumed_from=resumed_from)
    pass_id = checkpoint.pass_id if checkpoint and checkpoint.pass_id else run_id
    spec = _spec(state)
    outcome = Outcome()
    guard = _Guard(engine, settings, source_id, owner, stop)
    try:
        with client_factory(state.base_url, settings) as client:
            harvester = Harvester(client, settings, spec, mode="full" if full else "incremental",
                                  checkpoint=checkpoint, pass_id=pass_id)
            outcome = harvester.outcome
            for step, normalised in _normalised(harvester.steps(), spec.metadata_prefix):
                write_page(engine, PageWrite(
                    source_id=source_id, run_id=run_id, metadata_prefix=spec.metadata_prefix,
                    records=step.page.records, checkpoint=step.checkpoint,
                    page_bytes=step.nbytes, notices=step.page.notices,
                    seen_pass=step.seen_pass, response_date=step.page.response_date,
                    complete_list_size=step.page.complete_list_size, normalised=normalised))
                if progress is not None:
                    progress(harvester.received, harvester.complete_list_size)
                if not guard.keep_going(outcome):
                    break
    except FetchError as exc:  # Identify could not reach the host at all
        outcome.fail("fetch", str(exc))
    except AggregatorError as exc:
        outcome.fail("error", str(exc))
        runs.finish_run(engine, run_id, "failed", errors=outcome.errors,
                        warnings=outcome.warnings)
        raise
    _learn(engine, source_id, outcome)
    if outcome.complete:
        _complete(engine, settings, state, run_id, outcome)
        _name_sets(engine, settings, state, owner, outcome, client_factory)
    runs.finish_run(engine, run_id, outcome.status, errors=outcome.errors,
                    warnings=outcome.warnings, request_from=outcome.request_from)
    summary = runs.run_summary(engine, run_id)
    return SyncResult(
        "", source_id, summary.status, run_id=run_id, mode=summary.mode, new=summary.new,
        updated=summary.updated, deleted=summary.deleted, unchanged=summary.unchanged,
        pages=summary.pages, bytes=summary.bytes, warnings=list(summary.warnings),
        errors=list(summary.errors))


def _reconciled(engine: Engine, settings: Settings, state: runs.SourceState, owner: str,
                before: SyncResult, client_factory: Callable[[str, Settings], OAIClient],
                stop: Callable[[], bool] | None) -> SyncResult:
    """The reconciliation that follows a complete incremental run: a ListIdentifiers
    sweep, or a full ListRecords pass where the server cannot be swept or too many
    records need fetching; returns both runs' counts together."""
    sweep = _sweep(engine, settings, state, owner, client_factory, stop)
    if sweep.status != "fallback":
        return _merge(before, sweep)
    full = _run(engine, settings, state, owner, True, None, client_factory, stop)
    full.warnings[:0] = sweep.warnings
    return _merge(before, full)


def _sweep(engine: Engine, settings: Settings, state: runs.SourceState, owner: str,
           client_factory: Callable[[str, Settings], OAIClient],
           stop: Callable[[], bool] | None) -> SyncResult:
    """Check every identifier the server lists against the store (a run of mode
    ``reconcile``).

    Headers are much smaller than records, so a sweep of a large repository costs a
    fraction of a full ListRecords pass. Every stored record still listed is stamped
    with the run's pass; at the end the records not stamped are tombstoned (within
    ``reconcile_max_share``, as after a full pass), and the records the sweep found
    missing or changed are fetched one by one with GetRecord. The result's status is
    ``fallback`` when ListIdentifiers is refused, or more than ``SWEEP_FETCH_MAX``
    records would need fetching: a full ListRecords pass is then cheaper. A sweep that
    stops early starts again at the next reconciliation (its place is not kept).
    """
    source_id = state.id
    run_id = runs.start_run(engine, source_id, "reconcile", owner)
    spec = replace(_spec(state), date_filter=False, cursor_from=None)
    outcome = Outcome()
    guard = _Guard(engine, settings, source_id, owner, stop)
    stale: list[str] = []
    fallback: Notice | None = None
    try:
        with client_factory(state.base_url, settings) as client:
            harvester = Harvester(client, settings, spec, mode="full", pass_id=run_id,
                                  verb="ListIdentifiers")
            outcome = harvester.outcome
            for step in harvester.steps():
                stale += sweep_page(engine, source_id, run_id, step.page.records, run_id,
                                    page_bytes=step.nbytes, notices=step.page.notices)
                if not guard.keep_going(outcome):
                    break
            if outcome.status == "failed" and harvester.received == 0 and not any(
                    e.code in ("fetch", "lease") for e in outcome.errors):
                fallback = Notice("sweep-unavailable", "the server did not answer "
                                  "ListIdentifiers (" + "; ".join(e.message for e in
                                                                  outcome.errors)[:300]
                                  + "): reconciled with a full ListRecords pass")
            elif outcome.complete and len(stale) > SWEEP_FETCH_MAX:
                fallback = Notice("sweep-fetch-many", f"{len(stale)} listed records are "
                                  "missing from the store or changed: reconciled with a "
                                  "full ListRecords pass")
            elif outcome.complete:
                _end_sweep(engine, settings, source_id, run_id, outcome)
                _fetch_each(client, engine, spec, source_id, run_id, stale, outcome, guard)
    except FetchError as exc:
        outcome.fail("fetch", str(exc))
    status = "fallback" if fallback is not None else outcome.status
    if fallback is not None:
        logger.warning("%s: %s", state.base_url, fallback.message)
        outcome.warnings.append(fallback)
        outcome.errors.clear()
    runs.finish_run(engine, run_id, "failed" if fallback else outcome.status,
                    errors=outcome.errors, warnings=outcome.warnings)
    summary = runs.run_summary(engine, run_id)
    return SyncResult(
        "", source_id, status, run_id=run_id, mode="reconcile", new=summary.new,
        updated=summary.updated, deleted=summary.deleted, unchanged=summary.unchanged,
        pages=summary.pages, bytes=summary.bytes,
        warnings=[fallback.as_dict()] if fallback else list(summary.warnings),
        errors=list(summary.errors))


def _end_sweep(engine: Engine, settings: Settings, source_id: int, run_id: int,
               outcome: Outcome) -> None:
    """Tombstone what a complete sweep did not see, as after a full pass."""
    if outcome.unreadable:
        outcome.warnings.append(Notice(
            "reconcile-skipped", f"{outcome.unreadable} headers could not be read, so "
                                 "records missing from the sweep are not marked deleted"))
        return
    result = reconcile(engine, source_id, run_id, run_id, settings.reconcile_max_share)
    if not result.applied:
        outcome.degrade("reconcile-refused", result.message)
    elif result.vanished:
        outcome.warnings.append(Notice("reconciled", f"{result.vanished} records vanished "
                                                     "from the source and were marked deleted"))


def _fetch_each(client: OAIClient, engine: Engine, spec: SourceSpec, source_id: int,
                run_id: int, identifiers: list[str], outcome: Outcome, guard: _Guard) -> None:
    """Fetch and store the records a sweep found missing or changed (GetRecord)."""
    gone = 0
    for identifier in identifiers:
        try:
            response = client.harvest(verb="GetRecord", identifier=identifier,
                                      metadataPrefix=spec.metadata_prefix)
            page = parse_list_page(response.content, verb="GetRecord")
        except OAIProtocolError:  # idDoesNotExist: withdrawn since it was listed
            gone += 1
            continue
        except (FetchError, NotOAIResponse, MalformedXML) as exc:
            outcome.degrade("sweep-fetch", f"fetching {identifier} failed: {exc}; the next "
                                           "reconciliation tries again")
            return
        write_page(engine, PageWrite(source_id, run_id, spec.metadata_prefix, page.records,
                                     None, len(response.content), page.notices,
                                     seen_pass=run_id))
        if not guard.keep_going(outcome):
            return
    if identifiers:
        outcome.warnings.append(Notice(
            "sweep-fetched", f"fetched {len(identifiers) - gone} records the incremental "
                             "runs had missed" + (f" ({gone} gone meanwhile)" if gone else "")))


def _merge(first: SyncResult, then: SyncResult) -> SyncResult:
    """Two runs of one source reported as one: counts added, the worse status."""
    order = ("ok", "partial", "failed")
    return SyncResult(
        first.source, first.source_id, max(first.status, then.status, key=order.index),
        run_id=then.run_id, mode=then.mode, new=first.new + then.new,
        updated=first.updated + then.updated, deleted=first.deleted + then.deleted,
        unchanged=first.unchanged + then.unchanged, pages=first.pages + then.pages,
        bytes=first.bytes + then.bytes, warnings=first.warnings + then.warnings,
        errors=first.errors + then.errors)


def _normalised(steps: Iterator[Step], prefix: str, *, start_after: int = NORMALISE_AHEAD_FROM,
                chunk: int = NORMALISE_CHUNK,
                ) -> Iterator[tuple[Step, dict[str, Stored] | None]]:
    """Each step with its records normalised in a worker process, one page ahead.

    The next page is normalised in the worker while this one is stored, so the
    harvest's own process only writes. Until ``start_after`` records have come (a small
    incremental run) no process is started and write_page normalises in-line. A step
    already fetched is still handed out when the harvester fails on the next one. A page
    goes to the worker ``chunk`` records at a time.
    """
    Parts = list[tuple[list[str], Future[list[Stored]]]]
    pending: deque[tuple[Step, Parts]] = deque()

    def done() -> tuple[Step, dict[str, Stored] | None]:
        step, parts = pending.popleft()
        if not parts:
            return step, None
        found: dict[str, Stored] = {}
        try:
            for idents, future in parts:
                found.update(zip(idents, future.result(), strict=True))
        except Exception as exc:  # a dead worker: write_page normalises in-line instead
            logger.warning("normalising in a worker process failed (%s); continuing "
                           "in-line", exc)
            return step, None
        return step, found

    with Ahead(start_after=start_after) as ahead:
        try:
            for step in steps:
                live = [r for r in step.page.records if not r.deleted and r.metadata_xml]
                parts: Parts = []
                for start in range(0, len(live), chunk):
                    piece = live[start:start + chunk]
                    future = ahead.submit([(r.metadata_xml, prefix) for r in piece])
                    if future is not None:  # None: left to write_page (no worker yet)
                        parts.append(([r.identifier for r in piece], future))
                pending.append((step, parts))
                # Keep one page in the worker's hands; a page normalised in-line (no
                # worker yet) is written at once, as before the worker existed.
                while pending and (len(pending) > 1 or not pending[0][1]):
                    yield done()
        except GeneratorExit:
            raise
        except BaseException:  # store the page already fetched, then fail as before
            while pending:
                yield done()
            raise
        while pending:
            yield done()


def _learn(engine: Engine, source_id: int, outcome: Outcome) -> None:
    """Keep what the run learned about the server, whatever its status."""
    info = outcome.identify
    if info is not None:
        runs.save_identify(
            engine, source_id, repository_name=info.repository_name,
            granularity=info.granularity, earliest_datestamp=info.earliest_datestamp,
            deleted_record=info.deleted_record,
            identify={"base_url": info.base_url, "admin_emails": info.admin_emails,
                      "protocol_version": info.protocol_version,
                      "compression": info.compression,
                      "repository_identifier": info.repository_identifier})
    not_before = None
    if outcome.not_before:
        not_before = datetime.fromisoformat(outcome.not_before.replace("Z", "+00:00"))
    if (outcome.use_day_granularity is not None or outcome.date_filter is not None
            or not_before is not None):
        runs.set_flags(engine, source_id, use_day_granularity=outcome.use_day_granularity,
                       date_filter=outcome.date_filter, not_before=not_before)


def _complete(engine: Engine, settings: Settings, state: runs.SourceState, run_id: int,
              outcome: Outcome) -> None:
    """Finish a complete run: reconcile a full pass, then advance the cursor."""
    date_filter = state.date_filter if outcome.date_filter is None else outcome.date_filter
    full_pass = (outcome.mode == "full" or not date_filter) and outcome.pass_id is not None
    if full_pass and outcome.unreadable:
        outcome.warnings.append(Notice(
            "reconcile-skipped", f"{outcome.unreadable} records could not be read, so "
                                 "records missing from this pass are not marked deleted"))
    elif full_pass and outcome.pass_id is not None:
        result = reconcile(engine, state.id, run_id, outcome.pass_id,
                           settings.reconcile_max_share)
        if not result.applied:
            outcome.degrade("reconcile-refused", result.message)
        elif result.vanished:
            outcome.warnings.append(Notice(
                "reconciled", f"{result.vanished} records vanished from the source "
                              "and were marked deleted"))
    runs.complete_source(engine, state.id, outcome.run_start if date_filter else None)


def _name_sets(engine: Engine, settings: Settings, state: runs.SourceState, owner: str,
               outcome: Outcome, client_factory: Callable[[str, Settings], OAIClient]) -> None:
    """Keep the member's setSpecs in use with their names, asking ListSets once a day.

    Whatever ListSets does, the run's status stays: a failure is a warning and the
    names known before are kept.
    """
    specs = member_sets.specs_in_use(engine, state.id)
    now = datetime.now(UTC)
    # ListSets may take a while on a slow server: renew the lease first, and leave the
    # host alone if another process has taken the source over meanwhile
    if (not specs or not member_sets.names_due(state.sets_checked_at, now)
            or not runs.renew_lease(engine, state.id, owner, settings.lease_seconds)):
        member_sets.save_set_names(engine, state.id, specs)
        return
    with client_factory(state.base_url, settings) as client:
        listing = list_set_names(client)
    outcome.warnings.extend(listing.notices)
    member_sets.save_set_names(engine, state.id, specs, listing.names,
                               complete=listing.complete, checked_at=now)
