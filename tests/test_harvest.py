"""End-to-end harvests from a real OAI-PMH server on 127.0.0.1 into a real store."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from aggregator.config import Settings
from aggregator.demo.oaiserver import OAIServer, Repository, Request, Response
from aggregator.harvest.dates import parse_datestamp
from harvesting import (
    BASE_TIME,
    codes,
    expected_live,
    list_requests,
    live_ids,
    make_records,
    record_count,
    register,
    run,
    runs_of,
    source_row,
    stored,
)


def test_first_harvest_stores_every_record_once(engine: Engine, settings: Settings) -> None:
    repo = Repository(make_records(250), page_size=100)
    with OAIServer(repo) as server:
        source = register(engine, server.base_url)
        result = run(engine, settings, source)
    assert result.status == "ok", result.as_json()
    assert (result.new, result.updated, result.deleted, result.unchanged) == (250, 0, 0, 0)
    assert result.pages == 3
    assert live_ids(engine, source) == expected_live(repo)
    assert record_count(engine, source) == 250
    run_row = runs_of(engine, source)[-1]
    assert run_row.status == "ok" and run_row.pages == 3 and run_row.bytes > 0
    assert run_row.complete_list_size == 250


def test_incremental_runs_pick_up_only_changes(engine: Engine, settings: Settings) -> None:
    repo = Repository(make_records(120), page_size=50)
    with OAIServer(repo) as server:
        source = register(engine, server.base_url)
        assert run(engine, settings, source).new == 120
        cursor = source_row(engine, source).cursor_from
        assert cursor is not None  # the server's responseDate of the first run

        second = run(engine, settings, source)
        assert (second.status, second.new, second.updated, second.deleted) == ("ok", 0, 0, 0)
        sent_from = list_requests(server)[-1]["from"]
        # next `from` = previous run's responseDate minus the overlap, at seconds granularity
        expected = parse_datestamp(cursor).value - timedelta(seconds=settings.overlap_seconds)
        assert parse_datestamp(sent_from).value == expected

        now = datetime.now(UTC)
        for i in (3, 4, 5):
            repo.update(f"oai:test.example.org:{i}", datestamp=now,
                        metadata={"title": [f"Edisi revisi {i}"]})
        repo.delete("oai:test.example.org:7", datestamp=now)
        repo.add(*make_records(2, start=now, step=timedelta(0),
                                 prefix="oai:test.example.org:new-"))
        third = run(engine, settings, source)
    assert (third.new, third.updated, third.deleted) == (2, 3, 1), third.as_json()
    assert third.unchanged == 0  # only the changed records came back
    assert live_ids(engine, source) == expected_live(repo)
    assert stored(engine, source)["oai:test.example.org:7"][0] is True


def test_edits_during_a_harvest_are_picked_up_by_the_next_run(
        engine: Engine, settings: Settings) -> None:
    repo = Repository(make_records(300), page_size=50)
    with OAIServer(repo) as server:
        def edit_midway(request: Request) -> Response | None:
            if request.params.get("resumptionToken") and len(list_requests(server)) == 3:
                # a librarian edits an already-harvested record and deletes another
                later = datetime.now(UTC)
                repo.update("oai:test.example.org:1", datestamp=later,
                            metadata={"title": ["Diubah saat panen"]})
                repo.delete("oai:test.example.org:2", datestamp=later)
            return None

        server.quirk = edit_midway
        source = register(engine, server.base_url)
        first = run(engine, settings, source)
        server.quirk = None
        second = run(engine, settings, source)
    assert first.status == second.status == "ok"
    # whichever run saw the edits, the store converged on the repository
    assert live_ids(engine, source) == expected_live(repo)
    assert stored(engine, source)["oai:test.example.org:2"][0] is True
    edited = repo.get("oai:test.example.org:1")
    assert edited is not None
    assert stored(engine, source)["oai:test.example.org:1"][1] == edited.datestamp.strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def test_large_first_harvest_is_split_into_monthly_windows(
        engine: Engine, settings: Settings) -> None:
    records = make_records(400, start=datetime(2020, 1, 5, tzinfo=UTC), step=timedelta(days=1))
    repo = Repository(records, page_size=100, earliest_datestamp="2020-01-05T00:00:00Z")
    small = replace(settings, window_threshold=100)
    with OAIServer(repo) as server:
        source = register(engine, server.base_url)
        result = run(engine, small, source)
        requests = list_requests(server)
    assert result.status == "ok", result.as_json()
    windows = [(r.get("from"), r.get("until")) for r in requests if "metadataPrefix" in r]
    assert len(windows) > 12  # about 14 months of records, one window a month
    assert windows[1] == (None, "2020-01-31T23:59:59Z")  # open start catches older records
    assert windows[2][0] == "2020-02-01T00:00:00Z"
    assert windows[-1][1] is None  # open end
    assert live_ids(engine, source) == expected_live(repo)
    assert record_count(engine, source) == 400


def test_day_granularity_repository_gets_day_dates(engine: Engine, settings: Settings) -> None:
    repo = Repository(make_records(30), granularity="YYYY-MM-DD", page_size=10)
    with OAIServer(repo) as server:
        source = register(engine, server.base_url)
        run(engine, settings, source)
        second = run(engine, settings, source)
        sent = list_requests(server)[-1]
    assert second.status == "ok", second.as_json()
    assert len(sent["from"]) == 10  # YYYY-MM-DD


def test_server_refusing_seconds_is_harvested_by_days_and_remembered(
        engine: Engine, settings: Settings) -> None:
    repo = Repository(make_records(40), page_size=20)  # Identify claims seconds ...

    def days_only(request: Request) -> Response | None:  # ... but only days work
        if "T" in request.params.get("from", "") + request.params.get("until", ""):
            return Response(body=repo.render({"verb": "ListRecords", "from": "x",
                                              "metadataPrefix": "oai_dc"}, server.base_url))
        return None

    with OAIServer(repo) as server:
        server.quirk = days_only
        source = register(engine, server.base_url)
        run(engine, settings, source)
        second = run(engine, settings, source)
        assert source_row(engine, source).use_day_granularity is True
        third = run(engine, settings, source)
        last = list_requests(server)[-1]
    assert second.status == "ok", second.as_json()
    assert "granularity" in codes(second.warnings)
    assert third.status == "ok" and "granularity" not in codes(third.warnings)
    assert len(last["from"]) == 10


def test_server_refusing_dates_falls_back_to_full_harvests(
        engine: Engine, settings: Settings) -> None:
    repo = Repository(make_records(60), page_size=25)

    def no_dates(request: Request) -> Response | None:
        if "from" in request.params or "until" in request.params:
            return Response(status=400, body=repo.render(
                {"verb": "ListRecords", "from": "x", "metadataPrefix": "oai_dc"},
                server.base_url))
        return None

    with OAIServer(repo) as server:
        server.quirk = no_dates
        source = register(engine, server.base_url)
        run(engine, settings, source)
        second = run(engine, settings, source)
        assert source_row(engine, source).date_filter is False
        repo.remove("oai:test.example.org:5")  # vanishes without a tombstone
        third = run(engine, settings, source)
    assert second.status == "ok" and "no-date-filter" in codes(second.warnings)
    assert third.status == "ok" and third.deleted == 1  # found by reconciliation
    assert live_ids(engine, source) == expected_live(repo)


def test_full_harvest_reconciles_vanished_records(engine: Engine, settings: Settings) -> None:
    repo = Repository(make_records(100), page_size=40, deleted_record="no")
    with OAIServer(repo) as server:
        source = register(engine, server.base_url)
        run(engine, settings, source)
        for i in range(10):
            repo.remove(f"oai:test.example.org:{i}")
        incremental = run(engine, settings, source)
        assert incremental.deleted == 0  # an incremental run cannot see silent removals
        full = run(engine, settings, source, full=True)
    assert full.status == "ok", full.as_json()
    assert full.deleted == 10
    assert live_ids(engine, source) == expected_live(repo)


def test_full_harvest_refuses_to_wipe_a_member(engine: Engine, settings: Settings) -> None:
    repo = Repository(make_records(100), page_size=40)
    with OAIServer(repo) as server:
        source = register(engine, server.base_url)
        run(engine, settings, source)
        for i in range(45):  # a broken endpoint suddenly serves far fewer records
            repo.remove(f"oai:test.example.org:{i}")
        full = run(engine, settings, source, full=True)
    assert full.status == "partial"
    assert "reconcile-refused" in codes(full.warnings)
    assert full.deleted == 0
    assert len(live_ids(engine, source)) == 100  # nothing already stored was lost


def test_set_and_prefix_are_sent_and_only_that_set_is_stored(
        engine: Engine, settings: Settings) -> None:
    records = make_records(30)
    for i, record in enumerate(records):
        record.sets = ("skripsi",) if i % 3 == 0 else ("jurnal:ekonomi",)
    repo = Repository(records, page_size=10)
    with OAIServer(repo) as server:
        source = register(engine, server.base_url, set_spec="jurnal")
        result = run(engine, settings, source)
        first = list_requests(server)[0]
    assert first["set"] == "jurnal" and first["metadataPrefix"] == "oai_dc"
    assert result.new == 20


@pytest.mark.parametrize("page_size", [1, 7, 100])
def test_page_sizes_do_not_change_the_result(engine: Engine, settings: Settings,
                                             page_size: int) -> None:
    repo = Repository(make_records(35), page_size=page_size)
    with OAIServer(repo) as server:
        source = register(engine, server.base_url)
        result = run(engine, settings, source)
    assert result.status == "ok" and result.new == 35
    assert result.pages == -(-35 // page_size)


def test_unreachable_host_fails_cleanly(engine: Engine, settings: Settings) -> None:
    source = register(engine, "http://127.0.0.1:9/oai")  # discard port: nothing listens
    quick = replace(settings, max_retries=1)
    result = run(engine, quick, source)
    assert result.status == "failed"
    assert "127.0.0.1" in result.errors[0]["message"]
    assert runs_of(engine, source)[-1].status == "failed"


def test_loopback_is_refused_unless_allowed(engine: Engine, settings: Settings) -> None:
    repo = Repository(make_records(5))
    strict = replace(settings, allow_networks=())
    with OAIServer(repo) as server:
        source = register(engine, server.base_url)
        result = run(engine, strict, source)
        assert server.requests == []  # not one byte reached the server
    assert result.status == "failed"
    assert record_count(engine, source) == 0


def test_cursor_only_advances_after_a_complete_run(engine: Engine, settings: Settings) -> None:
    repo = Repository(make_records(50, start=BASE_TIME), page_size=10)
    with OAIServer(repo) as server:
        source = register(engine, server.base_url)
        server.quirk = lambda r: (Response(status=200, body=b"<html>down</html>",
                                           content_type="text/html")
                                  if r.params.get("resumptionToken") else None)
        failed = run(engine, settings, source)
        assert failed.status == "failed"
        assert source_row(engine, source).cursor_from is None
        server.quirk = None
        resumed = run(engine, settings, source)
    assert resumed.status == "ok"
    assert resumed.new == 40  # the first page was kept; the rest came on resume
    assert live_ids(engine, source) == expected_live(repo)
    assert source_row(engine, source).cursor_from is not None


def test_each_run_records_the_from_it_asked_for(engine: Engine, settings: Settings) -> None:
    repo = Repository(make_records(25), page_size=10)
    with OAIServer(repo) as server:
        source = register(engine, server.base_url)
        run(engine, settings, source)
        run(engine, settings, source)
        sent = [r.get("from") for r in list_requests(server) if "resumptionToken" not in r]
    first, second = runs_of(engine, source)
    assert first.request_from is None and sent[0] is None  # everything, no from
    assert second.request_from is not None and second.request_from == sent[-1]


def test_a_run_past_its_time_limit_ends_partial_and_the_next_goes_on(
        engine: Engine, settings: Settings) -> None:
    """One slow source must not hold the harvester: `source_time_limit` ends its run at
    a page boundary; the next run resumes there, and the two give exactly the source."""
    repo = Repository(make_records(120), page_size=10)
    limited = replace(settings, source_time_limit=1.0)
    with OAIServer(repo) as server:
        server.quirk = lambda r: time.sleep(0.25) if r.verb == "ListRecords" else None
        source = register(engine, server.base_url)
        first = run(engine, limited, source)
        kept = record_count(engine, source)
        before = len(list_requests(server))
        server.quirk = None
        second = run(engine, limited, source)
        resumed_with = list_requests(server)[before]
    assert first.status == "partial" and "time-limit" in codes(first.warnings)
    assert 0 < kept < 120
    assert "resumptionToken" in resumed_with
    assert second.status == "ok"
    assert live_ids(engine, source) == expected_live(repo)
    assert record_count(engine, source) == 120
