"""Reconciliation by a ListIdentifiers sweep: deletions without a trace, records the
incremental runs never saw, and the fall back to a full ListRecords pass."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from aggregator import pipeline
from aggregator.config import Settings
from aggregator.demo.oaiserver import OAIServer, Repository, Request, Response, SampleRecord
from aggregator.harvest.client import OAIClient
from aggregator.store.models import Record
from harvesting import BASE_TIME, live_ids, make_records, register, run, stored

PAGE = 10


def verbs(server: OAIServer) -> list[str]:
    return [r.get("verb", "") for r in server.requests]


def reconcile(engine: Engine, settings: Settings, source: int) -> pipeline.SyncResult:
    def factory(url: str, s: Settings) -> OAIClient:
        return OAIClient(url, s, sleep=lambda _: None)

    return pipeline.sync_source(engine, settings, source, reconcile=True,
                                client_factory=factory)


def test_a_sweep_finds_deletions_a_server_never_reports(engine: Engine,
                                                        settings: Settings) -> None:
    repository = Repository(make_records(35), deleted_record="no", page_size=PAGE)
    with OAIServer(repository) as server:
        source = register(engine, server.base_url)
        run(engine, settings, source)
        assert len(live_ids(engine, source)) == 35
        for i in (3, 17, 30):  # withdrawn without a trace
            repository.remove(f"oai:test.example.org:{i}")
        server.requests.clear()
        result = reconcile(engine, settings, source)
        assert result.status == "ok", result.errors
        assert (result.mode, result.deleted) == ("reconcile", 3)
        assert live_ids(engine, source) == {f"oai:test.example.org:{i}" for i in range(35)
                                             if i not in (3, 17, 30)}
        with Session(engine) as session:  # a tombstone keeps its last known title
            kept = session.scalar(select(Record.fields).where(
                Record.identifier == "oai:test.example.org:17", Record.deleted))
        assert kept is not None and kept["title"] == "Judul buku 17"
        swept = verbs(server)
        assert swept.count("ListIdentifiers") == 4  # 32 headers, 10 a page
        # the incremental run before the sweep asked only for what changed
        listed = [r for r in server.requests if r.get("verb") == "ListRecords"]
        assert listed and all("from" in r or "resumptionToken" in r for r in listed)
        assert "GetRecord" not in swept  # nothing to fetch: every record is known


def test_a_sweep_fetches_records_the_incremental_runs_missed(engine: Engine,
                                                             settings: Settings) -> None:
    repository = Repository(make_records(20), page_size=PAGE)
    with OAIServer(repository) as server:
        source = register(engine, server.base_url)
        run(engine, settings, source)
        # added with a datestamp long before the last harvest (a migration, a restored
        # backup): no incremental run will ever list it
        repository.add(SampleRecord(identifier="oai:test.example.org:old",
                                    datestamp=BASE_TIME - timedelta(days=900),
                                    metadata={"title": ["Arsip lama yang dipulihkan"]}))
        assert "oai:test.example.org:old" not in stored(engine, source)
        server.requests.clear()
        result = reconcile(engine, settings, source)
        assert result.status == "ok", result.errors
        assert result.new == 1
        assert stored(engine, source)["oai:test.example.org:old"][0] is False
        fetched = [r for r in server.requests if r.get("verb") == "GetRecord"]
        assert [r["identifier"] for r in fetched] == ["oai:test.example.org:old"]


def test_without_list_identifiers_the_reconciliation_lists_records(
        engine: Engine, settings: Settings) -> None:
    repository = Repository(make_records(25), deleted_record="no", page_size=PAGE)
    with OAIServer(repository) as server:
        source = register(engine, server.base_url)
        run(engine, settings, source)
        repository.remove("oai:test.example.org:4")

        def refuse(request: Request) -> Response | None:
            if request.verb == "ListIdentifiers":
                return Response(200, refused(request))
            return None

        server.quirk = refuse
        result = reconcile(engine, settings, source)
        assert result.status == "ok", (result.errors, result.warnings)
        assert "oai:test.example.org:4" not in live_ids(engine, source)
        assert len(live_ids(engine, source)) == 24
        assert any(w["code"] == "sweep-unavailable" for w in result.warnings)
        full = [r for r in server.requests if r.get("verb") == "ListRecords"
                and "from" not in r and "resumptionToken" not in r]
        assert full  # a full ListRecords pass did the reconciliation


def refused(request: Request) -> bytes:
    return (b'<?xml version="1.0" encoding="UTF-8"?>'
            b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
            b"<responseDate>2024-01-01T00:00:00Z</responseDate>"
            b'<request>http://127.0.0.1/oai</request>'
            b'<error code="badVerb">ListIdentifiers is not supported here</error></OAI-PMH>')


def test_many_unknown_records_fall_back_to_a_full_pass(engine: Engine,
                                                       settings: Settings) -> None:
    repository = Repository(make_records(12), page_size=PAGE)
    with OAIServer(repository) as server:
        source = register(engine, server.base_url)
        run(engine, settings, source)
        repository.add(*[SampleRecord(identifier=f"oai:test.example.org:old{i}",
                                      datestamp=BASE_TIME - timedelta(days=900 + i),
                                      metadata={"title": [f"Arsip lama {i}"]})
                         for i in range(8)])
        server.requests.clear()
        original = pipeline.SWEEP_FETCH_MAX
        pipeline.SWEEP_FETCH_MAX = 5
        try:
            result = reconcile(engine, settings, source)
        finally:
            pipeline.SWEEP_FETCH_MAX = original
        assert result.status == "ok", result.errors
        assert len(live_ids(engine, source)) == 20
        assert "GetRecord" not in verbs(server)
        assert any(w["code"] == "sweep-fetch-many" for w in result.warnings)
