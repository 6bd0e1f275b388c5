"""The index follows the store: harvest, sync, crash between commits, delete, rebuild."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from aggregator.config import Settings
from aggregator.demo.oaiserver import OAIServer, Repository, SampleRecord
from aggregator.index.backends import BACKENDS
from aggregator.index.model import SearchBackend, SearchQuery
from aggregator.index.sync import (
    current_path,
    index_status,
    open_index,
    rebuild_index,
    sync_index,
)
from aggregator.store.models import Record
from harvesting import register, run

WHEN = datetime(2022, 3, 1, tzinfo=UTC)


def book(ident: str, title: str, creator: str, year: str, **extra: list[str]) -> SampleRecord:
    metadata = {"title": [title], "creator": [creator], "date": [year], "type": ["Book"],
                "language": ["ind"], **extra}
    return SampleRecord(identifier=ident, datestamp=WHEN, metadata=metadata)


def two_members() -> tuple[Repository, Repository]:
    """Two libraries holding one work in common (and one of their own each)."""
    one = Repository([
        book("oai:one:1", "Pendidikan Karakter di Sekolah Dasar", "Santoso, Budi", "2019",
             subject=["Pendidikan"]),
        book("oai:one:2", "Sejarah Maritim Nusantara", "Wijaya, Sari", "2015"),
    ])
    two = Repository([
        book("slims/7", "Pendidikan karakter di sekolah dasar.", "Budi Santoso", "2019"),
        book("slims/8", "Budidaya Padi Organik", "Hartono, Agus", "2021"),
    ])
    return one, two


@dataclass
class Network:
    """The two libraries' repositories and their source ids in the store."""

    one: Repository
    two: Repository
    a: int
    b: int


@contextmanager
def network(engine: Engine) -> Iterator[Network]:
    """Serve the two libraries and register them (harvests are up to the test)."""
    one, two = two_members()
    with OAIServer(one) as s1, OAIServer(two) as s2:
        yield Network(one, two, register(engine, s1.base_url, slug="perpus-a"),
                      register(engine, s2.base_url, slug="perpus-b"))


@pytest.fixture(params=BACKENDS)
def backend_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    name = request.param
    try:
        importlib.import_module(f"aggregator.index.{name}_backend")
    except ImportError as exc:  # pragma: no cover - while a backend is missing
        pytest.skip(f"{name} backend not available: {exc}")
    return replace(settings, search_backend=name)


def hits(backend: SearchBackend, text: str = "") -> list[tuple[str, tuple[str, ...]]]:
    result = backend.search(SearchQuery(text=text, per_page=50, highlight=False))
    return sorted((h.title, h.members) for h in result.hits)


def test_sync_builds_one_hit_per_work_with_its_members(
        engine: Engine, backend_settings: Settings) -> None:
    with network(engine) as net:
        run(engine, backend_settings, net.a)
        run(engine, backend_settings, net.b)
    backend = open_index(backend_settings)
    try:
        stats = sync_index(engine, backend)
        assert stats.changes == 4
        found = hits(backend, "pendidikan karakter")
        assert len(found) == 1
        assert found[0][1] == ("perpus-a", "perpus-b")  # who holds this
        assert backend.count() == 3  # three works, four records
        assert int(backend.meta()["change_seq"]) == stats.change_seq
        again = sync_index(engine, backend)
        assert again.changes == 0  # nothing new after the high-water mark
    finally:
        backend.close()


def test_deleting_a_copy_updates_the_work_and_the_last_copy_removes_it(
        engine: Engine, backend_settings: Settings) -> None:
    with network(engine) as net:
        run(engine, backend_settings, net.a)
        run(engine, backend_settings, net.b)
        backend = open_index(backend_settings)
        try:
            sync_index(engine, backend)
            now = datetime.now(UTC)
            net.two.delete("slims/7", datestamp=now)
            net.two.delete("slims/8", datestamp=now)
            run(engine, backend_settings, net.b)
            sync_index(engine, backend)
            assert hits(backend, "pendidikan") == [
                ("Pendidikan Karakter di Sekolah Dasar", ("perpus-a",))]
            assert hits(backend, "padi") == []
            assert backend.count() == 2
        finally:
            backend.close()


class CrashOnCommit:
    """Wraps a backend; its first commit dies like a killed process would."""

    def __init__(self, inner: SearchBackend) -> None:
        self.inner = inner
        self.name = inner.name
        self.crashed = False

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def commit(self, meta: dict[str, int | str]) -> None:
        if not self.crashed:
            self.crashed = True
            raise KeyboardInterrupt("killed between the store commit and the index commit")
        self.inner.commit(meta)


def test_a_crash_between_store_and_index_commits_heals_on_the_next_sync(
        engine: Engine, backend_settings: Settings) -> None:
    with network(engine) as net:
        run(engine, backend_settings, net.a)
        run(engine, backend_settings, net.b)
    backend = open_index(backend_settings)
    with pytest.raises(KeyboardInterrupt):
        sync_index(engine, CrashOnCommit(backend))  # type: ignore[arg-type]
    backend.close()  # the process is gone: uncommitted index work is lost
    with Session(engine) as session:  # ... but the store kept its clusters
        assert session.scalar(select(Record.cluster_id).where(
            Record.identifier == "slims/7")) is not None
    backend = open_index(backend_settings)
    try:
        assert backend.meta().get("change_seq", 0) == 0
        sync_index(engine, backend)
        assert backend.count() == 3
        assert hits(backend, "pendidikan")[0][1] == ("perpus-a", "perpus-b")
        status = index_status(engine, backend_settings)
    finally:
        backend.close()
    assert status["clusters_behind"] == status["records_waiting_for_clustering"] == 0
    assert status["documents"] == 3


def test_rebuild_swaps_in_a_new_folder_while_the_old_one_keeps_answering(
        engine: Engine, backend_settings: Settings) -> None:
    with network(engine) as net:
        run(engine, backend_settings, net.a)
        run(engine, backend_settings, net.b)
    old = open_index(backend_settings)
    sync_index(engine, old)
    old_path = current_path(backend_settings)
    stats = rebuild_index(engine, backend_settings)
    new_path = current_path(backend_settings)
    assert new_path != old_path and stats.documents == 3
    fresh = open_index(backend_settings)
    try:
        assert fresh.count() == 3
        assert hits(fresh, "maritim") == [("Sejarah Maritim Nusantara", ("perpus-a",))]
        assert hits(old, "maritim") == hits(fresh, "maritim")  # the old one still answers
    finally:
        fresh.close()
        old.close()
    rebuild_index(engine, backend_settings)
    assert not Path(old_path).exists()  # two rebuilds later the first folder is gone
    assert Path(new_path).exists()


def test_later_copies_join_existing_works_incrementally(
        engine: Engine, backend_settings: Settings) -> None:
    with network(engine) as net:
        run(engine, backend_settings, net.a)
        backend = open_index(backend_settings)
        try:
            first = sync_index(engine, backend)  # a new index: filled in one pass
            assert (first.changes, backend.count()) == (2, 2)
            run(engine, backend_settings, net.b)  # the second library's copy arrives later
            later = sync_index(engine, backend)
            # the shared work gains the copy, and the copy's own work of one is gone
            assert (later.documents, later.removed) == (2, 1)
            assert hits(backend, "pendidikan") == [
                ("Pendidikan Karakter di Sekolah Dasar", ("perpus-a", "perpus-b"))]
            assert backend.count() == 3
            # the copy is re-catalogued as a different work: it leaves the cluster
            net.two.update("slims/7", datestamp=datetime.now(UTC),
                       metadata={"title": ["Manajemen Kelas Rangkap"],
                                 "creator": ["Budi Santoso"], "date": ["2019"],
                                 "type": ["Book"]})
            run(engine, backend_settings, net.b)
            sync_index(engine, backend)
            assert hits(backend, "pendidikan") == [
                ("Pendidikan Karakter di Sekolah Dasar", ("perpus-a",))]
            assert hits(backend, "rangkap") == [("Manajemen Kelas Rangkap", ("perpus-b",))]
            assert backend.count() == 4
        finally:
            backend.close()
