"""Helpers for harvest integration tests: register a source, run it, read the store back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from aggregator.config import Settings
from aggregator.demo.oaiserver import Repository, SampleRecord
from aggregator.harvest.client import OAIClient
from aggregator.pipeline import SyncResult, sync_source
from aggregator.store import catalog
from aggregator.store.models import HarvestRun, Record, Source

BASE_TIME = datetime(2021, 1, 1, tzinfo=UTC)


def make_records(n: int, *, start: datetime = BASE_TIME, step: timedelta = timedelta(hours=7),
                 prefix: str = "oai:test.example.org:") -> list[SampleRecord]:
    """``n`` small oai_dc records with increasing datestamps."""
    return [SampleRecord(identifier=f"{prefix}{i}", datestamp=start + i * step,
                         metadata={"title": [f"Judul buku {i}"], "creator": [f"Penulis {i % 7}"],
                                   "date": [str(2000 + i % 20)]})
            for i in range(n)]


def register(engine: Engine, base_url: str, slug: str = "lib", prefix: str = "oai_dc",
             set_spec: str = "") -> int:
    """Add a member with one source; return the source id."""
    with Session(engine) as session, session.begin():
        catalog.add_member(session, slug, f"Library {slug}")
        catalog.add_source(session, slug, base_url, metadata_prefix=prefix, set_spec=set_spec)
    with Session(engine) as session:
        return session.scalars(select(Source.id).where(Source.base_url == base_url)).one()


@dataclass
class Sleeps:
    """Records the delays a client asked for instead of sleeping."""

    calls: list[float]

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def run(engine: Engine, settings: Settings, source_id: int, *, full: bool = False,
        sleeps: Sleeps | None = None) -> SyncResult:
    """Harvest a source with a client that records sleeps instead of sleeping."""
    recorder = sleeps if sleeps is not None else Sleeps([])

    def factory(url: str, s: Settings) -> OAIClient:
        return OAIClient(url, s, sleep=recorder)

    return sync_source(engine, settings, source_id, full=full, client_factory=factory)


def stored(engine: Engine, source_id: int) -> dict[str, tuple[bool, str | None]]:
    """The store's records of a source: identifier → (deleted, datestamp)."""
    with Session(engine) as session:
        rows = session.execute(select(Record.identifier, Record.deleted, Record.datestamp)
                               .where(Record.source_id == source_id)).all()
    return {r.identifier: (r.deleted, r.datestamp) for r in rows}


def live_ids(engine: Engine, source_id: int) -> set[str]:
    """Identifiers of the source's live (not deleted) records."""
    return {k for k, (deleted, _) in stored(engine, source_id).items() if not deleted}


def expected_live(repository: Repository) -> set[str]:
    """Identifiers the repository serves as live records."""
    return {r.identifier for r in repository.records if not r.deleted}


def record_count(engine: Engine, source_id: int) -> int:
    """Rows stored for a source (duplicates would show here)."""
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Record)
                              .where(Record.source_id == source_id)) or 0


def runs_of(engine: Engine, source_id: int) -> list[HarvestRun]:
    """Every run of a source, oldest first (detached copies)."""
    with Session(engine, expire_on_commit=False) as session:
        return list(session.scalars(select(HarvestRun).where(HarvestRun.source_id == source_id)
                                    .order_by(HarvestRun.id)))


def source_row(engine: Engine, source_id: int) -> Source:
    """The source row (detached copy)."""
    with Session(engine, expire_on_commit=False) as session:
        return session.get_one(Source, source_id)


def codes(items: list[dict[str, Any]]) -> set[str]:
    """The ``code`` of each warning or error dict."""
    return {item["code"] for item in items}


def list_requests(server: Any) -> list[dict[str, str]]:
    """The ListRecords requests the server received."""
    return [r for r in server.requests if r.get("verb") == "ListRecords"]


Quirk = Callable[..., Any]
