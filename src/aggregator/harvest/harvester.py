"""The harvest loop: windows, resumption tokens, loop guards and error recovery for one source."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aggregator.config import Settings
from aggregator.errors import (
    FetchError,
    HarvestError,
    MalformedXML,
    NotOAIResponse,
    OAIProtocolError,
    RetryLater,
    WrongAnswer,
)
from aggregator.harvest.client import OAIClient
from aggregator.harvest.dates import parse_datestamp
from aggregator.harvest.identify import parse_identify
from aggregator.harvest.model import IdentifyInfo, ListPage
from aggregator.harvest.parse import parse_list_page
from aggregator.harvest.plan import (
    Checkpoint,
    Granularity,
    SourceSpec,
    effective_granularity,
    format_bound,
    incremental_from,
    plan_windows,
    token_expired,
)
from aggregator.harvest.readahead import ReadAhead
from aggregator.records import Notice

logger = logging.getLogger(__name__)

MAX_WINDOW_RESTARTS = 2
MAX_EOF_RETRIES = 2
READ_AHEAD_PAGES = 3
UNREADABLE_CODES = frozenset({"bad-record", "missing-identifier"})


@dataclass(slots=True)
class Step:
    """One page ready for the store, with the checkpoint to save alongside it."""

    page: ListPage
    checkpoint: dict[str, Any] | None
    nbytes: int
    seen_pass: int | None


@dataclass(slots=True)
class Outcome:
    """How the run ended, and what the harvester learned about the server."""

    status: str = "ok"  # ok | partial | failed
    errors: list[Notice] = field(default_factory=list)
    warnings: list[Notice] = field(default_factory=list)
    run_start: str | None = None
    complete: bool = False
    use_day_granularity: bool | None = None
    date_filter: bool | None = None
    not_before: str | None = None
    identify: IdentifyInfo | None = None
    pass_id: int | None = None
    mode: str = "incremental"
    stopped_early: bool = False
    unreadable: int = 0
    request_from: str | None = None  # the `from` of the run's first list request

    def fail(self, code: str, message: str, sample: str | None = None) -> None:
        """Record an error that ends the run."""
        self.status = "failed"
        self.errors.append(Notice(code, message, sample))

    def degrade(self, code: str, message: str) -> None:
        """Record why the list was not read to its end (the run is partial)."""
        if self.status == "ok":
            self.status = "partial"
        self.stopped_early = True
        self.warnings.append(Notice(code, message))

    def unreadable_records(self, count: int) -> None:
        """Count records the parser had to skip (reported per page by the store)."""
        self.unreadable += count
        if self.status == "ok":
            self.status = "partial"


class Harvester:
    """Harvest one source page by page; the caller stores each :class:`Step`.

    Args:
        client: the HTTP client for the source's base URL.
        settings: the aggregator settings.
        spec: what to harvest and what is known of the server.
        mode: ``incremental`` or ``full``.
        checkpoint: a saved checkpoint to resume from, or ``None``.
        pass_id: identifies this full pass for reconciliation (a run id).
    """

    def __init__(self, client: OAIClient, settings: Settings, spec: SourceSpec, *,
                 mode: str = "incremental", checkpoint: Checkpoint | None = None,
                 pass_id: int | None = None, verb: str = "ListRecords") -> None:
        self.client = client
        self.verb = verb  # ListIdentifiers: a reconciliation sweep of headers
        self.settings = settings
        self.spec = spec
        self.outcome = Outcome(mode=mode)
        self.received = 0
        self.complete_list_size: int | None = None
        self._requested_mode = mode
        self._resume = checkpoint
        self._pass_id = pass_id
        self._pages = 0
        self._reader: ReadAhead | None = None

    # -- requests -------------------------------------------------------------------

    def identify(self) -> IdentifyInfo | None:
        """Ask Identify; a broken answer is a warning, an unreachable host an error.

        Raises:
            FetchError: the endpoint could not be reached at all.
        """
        try:
            response = self.client.harvest(verb="Identify")
            info = parse_identify(response.content)
        except WrongAnswer:
            raise  # a protocol error: its lists cannot be trusted either
        except (NotOAIResponse, MalformedXML, OAIProtocolError) as exc:
            self.outcome.warnings.append(Notice("identify", f"Identify failed: {exc}"))
            return None
        self.outcome.identify = info
        return info

    def _fetch(self, params: dict[str, str]) -> tuple[ListPage, int]:
        response = self.client.harvest(**params)
        try:
            page = parse_list_page(response.content, verb=params["verb"])
        except NotOAIResponse as exc:
            raise NotOAIResponse(
                f"HTTP {response.status}: the answer to {response.request_url} is not "
                f"OAI-PMH ({response.headers.get('content-type', 'no content type')})",
                status=response.status, content_type=response.headers.get("content-type"),
                head=exc.head) from exc
        page.notices[:0] = response.notices
        return page, len(response.content)

    def _get(self, cp: Checkpoint) -> tuple[ListPage, int]:
        """The next page for the checkpoint, from the read-ahead when it already went there."""
        params = self._params(cp)
        item = self._reader.take() if self._reader is not None else None
        if item is None or item.params != params:
            # the plan changed (first page, restart, new granularity): stop the old reader
            # before the new one starts, so one request at a time per host holds
            self.close()
            upcoming = [params] + [self._window_params(cp, w) for w in cp.windows[1:]]
            self._reader = ReadAhead(self._fetch, upcoming, READ_AHEAD_PAGES)
            item = self._reader.take()
        if item is None:  # pragma: no cover - a fresh reader always delivers
            raise HarvestError("the read-ahead thread ended without an answer")
        if item.error is not None:
            raise item.error
        assert item.page is not None
        return item.page, item.nbytes

    def close(self) -> None:
        """Stop the read-ahead thread (waiting for a request in flight)."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    # -- planning -------------------------------------------------------------------

    def _start(self, run_start: str | None) -> Checkpoint:
        spec, settings = self.spec, self.settings
        resume = self._resume
        if resume is not None and not (self._requested_mode == "full"
                                       and resume.mode != "full"):
            self.outcome.mode = resume.mode
            if token_expired(resume.token_expires):
                self.outcome.warnings.append(Notice(
                    "token-expired", "the saved resumption token has expired; "
                                     "restarting its date window"))
                resume.restart_window()
            return resume
        granularity = effective_granularity(spec)
        mode = self._requested_mode
        windows: list[list[str | None]] = [[None, None]]
        may_window = False
        if not spec.date_filter:
            mode = "full"
        elif mode == "incremental" and spec.cursor_from:
            start = incremental_from(spec.cursor_from, granularity, settings.overlap_seconds)
            windows = [[start, None]]
        else:
            mode = "full" if mode == "full" else "initial"
            may_window = settings.window_months > 0
        self.outcome.mode = "full" if mode == "full" else "incremental"
        checkpoint = Checkpoint(
            mode=self.outcome.mode, run_start=run_start, windows=windows,
            granularity=granularity, date_filter=spec.date_filter,
            pass_id=self._pass_id if mode in ("full", "initial") else None)
        checkpoint.extra["may_window"] = may_window
        return checkpoint

    def _params(self, cp: Checkpoint) -> dict[str, str]:
        """The next request: the saved token, or the current window's first request."""
        if cp.token:
            return {"verb": self.verb, "resumptionToken": cp.token}
        return self._window_params(cp, cp.windows[0] if cp.windows else [None, None])

    def _window_params(self, cp: Checkpoint, window: list[str | None]) -> dict[str, str]:
        params = {"verb": self.verb, "metadataPrefix": self.spec.metadata_prefix}
        if self.spec.set_spec:
            params["set"] = self.spec.set_spec
        if cp.date_filter:
            granularity: Granularity = "day" if cp.granularity == "day" else "seconds"
            for key, bound in (("from", window[0]), ("until", window[1])):
                value = format_bound(bound, granularity)
                if value:
                    params[key] = value
        return params

    # -- the loop -------------------------------------------------------------------

    def steps(self) -> Iterator[Step]:
        """Yield pages until the list ends, a guard trips or an error stops the run.

        The outcome is in :attr:`outcome` once the iterator is exhausted.
        """
        try:
            info = self.identify()
        except WrongAnswer as exc:
            self.outcome.fail("protocol", str(exc), exc.sample or None)
            return
        run_start = None
        if info is not None:
            run_start = info.response_date
            # plan with what the server says today, not with last run's snapshot
            self.spec = replace(self.spec, granularity=info.granularity,
                                earliest_datestamp=info.earliest_datestamp)
        cp = self._start(run_start)
        self.outcome.pass_id = cp.pass_id
        if not cp.token and cp.windows:
            self.outcome.request_from = self._window_params(cp, cp.windows[0]).get("from")
        try:
            yield from self._loop(cp)
        finally:
            self.close()
        if self.outcome.run_start is None:
            self.outcome.run_start = cp.run_start
        self.outcome.complete = (self.outcome.status != "failed" and not self.outcome.stopped_early
                                 and cp.current_window is None)

    def _loop(self, cp: Checkpoint) -> Iterator[Step]:
        eof_retries = 0
        not_oai = 0  # consecutive answers to a resumption request that were not OAI-PMH
        seen_tokens: set[str] = set()
        seen_ids: set[int] = set()
        idle_pages = 0
        sequence: tuple[int, int] | None = None
        while cp.current_window is not None:
            if sequence != (len(cp.windows), cp.restarts):
                # a new list sequence (next window or a restart): fresh loop guards
                sequence = (len(cp.windows), cp.restarts)
                seen_tokens.clear()
                seen_ids.clear()
                idle_pages = 0
            if self._pages >= self.settings.max_pages_per_run:
                self.outcome.degrade("loop-guard", f"stopped after {self._pages} pages "
                                                   "(max_pages_per_run)")
                return
            params = self._params(cp)
            try:
                page, nbytes = self._get(cp)
            except OAIProtocolError as exc:
                if self._on_oai_error(exc, cp, params):
                    continue
                return
            except WrongAnswer as exc:
                self.outcome.fail("protocol", str(exc), exc.sample or None)
                return
            except MalformedXML as exc:
                if exc.at_eof and eof_retries < MAX_EOF_RETRIES:
                    eof_retries += 1
                    logger.warning("truncated response from %s; asking again",
                                   self.spec.base_url)
                    continue
                self.outcome.fail("malformed-xml", str(exc), exc.sample or None)
                return
            except RetryLater as exc:
                self.outcome.not_before = exc.not_before
                self.outcome.degrade("retry-later", f"{exc}; resuming after {exc.not_before}")
                return
            except (FetchError, NotOAIResponse) as exc:
                sample = exc.head.decode("utf-8", "replace")[:300] if isinstance(
                    exc, NotOAIResponse) else None
                if sample is not None and cp.token and not_oai < self.settings.max_retries:
                    # a "Database error" page in the middle of a list is mostly passing
                    # (QUIRKS #3): ask again after a backoff, as for a 503
                    delay = self.client.pause(not_oai)
                    not_oai += 1
                    logger.warning("%s; retry %d of %d in %.1fs", exc, not_oai,
                                   self.settings.max_retries, delay)
                    self.close()  # the read-ahead asks for that page again
                    continue
                code = "not-oai" if isinstance(exc, NotOAIResponse) else "fetch"
                tries = f" (gave up after {not_oai + 1} attempts)" if not_oai else ""
                self.outcome.fail(code, f"{exc}{tries}", sample)
                return
            eof_retries = 0
            not_oai = 0
            self._pages += 1
            skipped = sum(1 for n in page.notices if n.code in UNREADABLE_CODES)
            if skipped:
                self.outcome.unreadable_records(skipped)
            if cp.run_start is None:
                cp.run_start = page.response_date or _now_iso()
            if page.complete_list_size is not None:
                if self.complete_list_size is None:  # the whole list's size, for progress
                    self.complete_list_size = page.complete_list_size
                cp.complete_list_size = page.complete_list_size
            previous_token = cp.token
            if (cp.date_filter and ("from" in params or "until" in params)
                    and self._check_dates_honoured(cp, page)):
                continue  # the page is harvested again in the undated list
            self._advance(cp, page, previous_token)
            new_ids = 0
            for record in page.records:
                key = hash(record.identifier)
                if key not in seen_ids:
                    seen_ids.add(key)
                    new_ids += 1
            idle_pages = idle_pages + 1 if new_ids == 0 and cp.token else 0
            self._guard(cp, previous_token, seen_tokens, idle_pages)
            self.received += len(page.records)
            seen_pass = cp.pass_id
            yield Step(page, cp.to_json(), nbytes, seen_pass)

    def _advance(self, cp: Checkpoint, page: ListPage, previous_token: str | None) -> None:
        """Update the checkpoint after a page: next token, or the next window."""
        if page.no_records_match and previous_token:
            cls = cp.complete_list_size
            if cls is not None and cp.received < cls:
                self.outcome.degrade("early-end", f"the list ended with noRecordsMatch after "
                                                  f"{cp.received} of {cls} records")
            else:
                self.outcome.warnings.append(Notice(
                    "token-no-records", "the last resumption token led to noRecordsMatch"))
        cp.received += len(page.records)
        if cp.extra.get("may_window"):
            cp.extra["may_window"] = False
            cls = page.complete_list_size
            if page.token and cls is not None and cls > self.settings.window_threshold:
                windows = plan_windows(self.spec.earliest_datestamp, cp.run_start,
                                       self.settings.window_months)
                if len(windows) > 1:
                    logger.info("%s: %d records; harvesting in %d date windows",
                                self.spec.base_url, cls, len(windows))
                    cp.windows = [list(w) for w in windows]
                    cp.token = None
                    cp.received = 0
                    return
        if page.token:
            cp.token = page.token
            cp.token_expires = page.expiration_date
        else:
            cp.next_window()

    def _guard(self, cp: Checkpoint, previous: str | None, seen_tokens: set[str],
               idle_pages: int) -> None:
        """Stop the window (move to the next) when the server loops."""
        token = cp.token
        if token is None:
            return
        reason = None
        if previous is not None and token == previous:
            reason = "the server sent the same resumption token again"
        elif token in seen_tokens:
            reason = "the server sent a resumption token it had sent before"
        elif idle_pages >= self.settings.empty_pages_limit:
            reason = f"{idle_pages} pages in a row brought no new record"
        elif cp.complete_list_size is not None and cp.received > 10 * cp.complete_list_size + 1000:
            reason = (f"{cp.received} records received for a list of "
                      f"{cp.complete_list_size}")
        seen_tokens.add(token)
        if reason is None:
            return
        self.outcome.degrade("loop-guard", f"stopped the list: {reason}")
        logger.warning("%s: %s", self.spec.base_url, reason)
        cp.next_window()

    def _check_dates_honoured(self, cp: Checkpoint, page: ListPage) -> bool:
        """Stop sending from/until to a server that answers with records outside them
        (QUIRKS #30): the list starts again without dates as the run's one pass (the
        list being sent may still honour one of the bounds), and the source is
        remembered as one without date filters. Returns whether that happened.

        A few stray records never decide it: at least ``IGNORED_DATES_MIN`` records of
        the page, and a quarter of its dated ones, must lie more than a day outside.
        """
        window = cp.windows[0] if cp.windows else [None, None]
        low, high = (parse_datestamp(bound) if bound else None for bound in window)
        dated = [parsed.value for parsed in (parse_datestamp(r.datestamp)
                                             for r in page.records) if parsed is not None]
        outside = sum(1 for value in dated
                      if (low is not None and value < low.value - DATE_SLACK)
                      or (high is not None and value > high.value + DATE_SLACK))
        if outside < IGNORED_DATES_MIN or outside * 4 < len(dated):
            return False
        self.outcome.warnings.append(Notice(
            "ignores-dates", f"the server ignores from/until: {outside} of {len(dated)} "
                             f"records of a page lie outside the dates asked for; the list "
                             "starts again without dates, and no date windows are used from "
                             "now on (deletions are found by reconciliation)"))
        logger.warning("%s ignores from/until; harvesting without date windows",
                       self.spec.base_url)
        cp.date_filter = False
        cp.windows = [[None, None]]
        cp.extra["may_window"] = False
        cp.restart_window()  # fresh loop guards, and every record of the pass is seen
        cp.pass_id = self._pass_id
        self.outcome.pass_id = cp.pass_id
        self.outcome.date_filter = False
        self.close()  # the read-ahead was following the dated list
        return True

    def _on_oai_error(self, exc: OAIProtocolError, cp: Checkpoint,
                      params: dict[str, str]) -> bool:
        """Handle an OAI error; return True to go on with the (adjusted) checkpoint."""
        code = exc.code
        if code == "badResumptionToken" and cp.token:
            if cp.restarts >= MAX_WINDOW_RESTARTS:
                self.outcome.fail(code, f"resumption tokens keep failing: {exc}")
                return False
            self.outcome.warnings.append(Notice(
                code, "the resumption token was refused; restarting its date window"))
            cp.restart_window()
            return True
        dated = "from" in params or "until" in params
        if code == "badArgument" and dated and not cp.token:
            if cp.granularity == "seconds":
                self.outcome.warnings.append(Notice(
                    "granularity", "the server refused seconds in from/until; "
                                   "using day granularity from now on"))
                cp.granularity = "day"
                self.outcome.use_day_granularity = True
                return True
            self.outcome.warnings.append(Notice(
                "no-date-filter", "the server refused from/until; harvesting the whole "
                                  "list without dates from now on"))
            cp.date_filter = False
            cp.windows = [[None, None]]
            cp.pass_id = self._pass_id
            self.outcome.pass_id = cp.pass_id
            cp.extra["may_window"] = False
            self.outcome.date_filter = False
            return True
        if code == "cannotDisseminateFormat":
            self.outcome.fail(code, f"the endpoint does not serve metadataPrefix "
                                    f"{self.spec.metadata_prefix!r}: {exc}")
            return False
        self.outcome.fail(code, str(exc))
        return False


DATE_SLACK = timedelta(days=1)  # granularity and clock differences: never "outside"
IGNORED_DATES_MIN = 3  # records outside the dates asked for before a server is judged


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
