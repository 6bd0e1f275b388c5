"""Normalised fields stored at ingest: written once, read by clustering and indexing,
and rows without them (from before migration 0003) still indexed from their XML."""

from __future__ import annotations

import copy
import multiprocessing
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, delete, select, update

import aggregator.normalize.stored as stored
from aggregator import pipeline
from aggregator.cluster.keys import block_keys, match_keys
from aggregator.cluster.stage import catch_up
from aggregator.config import Settings
from aggregator.errors import FetchError
from aggregator.harvest.harvester import Step
from aggregator.harvest.model import ListPage
from aggregator.index.documents import docs_from_rows
from aggregator.index.fill import fill
from aggregator.index.model import IndexDoc, SearchBackend, SearchQuery
from aggregator.index.sync import fill_index, sync_index
from aggregator.index.whoosh_backend import WhooshBackend
from aggregator.normalize import normalize
from aggregator.records import HarvestedRecord
from aggregator.store import catalog, runs
from aggregator.store.db import alembic_config, connect, make_engine, session_scope
from aggregator.store.ingest import PageWrite, write_page
from aggregator.store.models import Record, RecordKey

PREFIX = "oai_dc"


def dc(title: str, creator: str, year: str, subject: str = "Pendidikan") -> bytes:
    return (
        '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:title>{title}</dc:title><dc:creator>{creator}</dc:creator>"
        f"<dc:subject>{subject}</dc:subject><dc:date>{year}</dc:date>"
        "<dc:type>Book</dc:type><dc:language>ind</dc:language>"
        f"<dc:identifier>https://lib.example/{year}</dc:identifier></oai_dc:dc>"
    ).encode()


RECORDS = {
    "a:1": dc("Pendidikan Karakter di Sekolah Dasar", "Santoso, Budi", "2019"),
    "a:2": dc("Sejarah Maritim Nusantara", "Wijaya, Sari", "2015", "Sejarah"),
    "b:1": dc("Pendidikan karakter di sekolah dasar.", "Budi Santoso", "2019"),
    "b:2": dc("Budidaya Padi Organik", "Hartono, Agus", "2021", "Pertanian"),
}


def load(engine: Engine) -> None:
    """Two members, each source one page of two records (one work in common)."""
    with session_scope(engine) as session:
        for slug in ("perpus-a", "perpus-b"):
            catalog.add_member(session, slug, slug)
            catalog.add_source(session, slug, f"https://{slug}.example/oai")
    for slug, letter in (("perpus-a", "a"), ("perpus-b", "b")):
        sid = _source_id(engine, slug)
        run_id = runs.start_run(engine, sid, "full", "test")
        write_page(engine, PageWrite(sid, run_id, PREFIX, [
            HarvestedRecord(ident, "2024-01-01", False, (), xml)
            for ident, xml in RECORDS.items() if ident.startswith(letter)], None))


def _source_id(engine: Engine, slug: str) -> int:
    from aggregator.store.models import Member, Source

    with connect(engine) as conn:
        return int(conn.scalar(select(Source.id).join(Member).where(Member.slug == slug)))


def stored_rows(engine: Engine) -> dict[str, Any]:
    with connect(engine) as conn:
        return {r.identifier: r for r in conn.execute(
            select(Record.identifier, Record.metadata_xml, Record.fields, Record.match_keys))}


def clear_fields(engine: Engine) -> None:
    """Make the store look as it did before fields were stored (migration 0003), never
    indexed: no block keys either."""
    with connect(engine) as conn:
        conn.execute(update(Record).values(fields=None, match_keys=None))
        conn.execute(delete(RecordKey))


class Collect:
    """A SearchBackend stand-in that keeps what it is given."""

    def __init__(self) -> None:
        self.docs: dict[str, IndexDoc] = {}
        self.meta_saved: dict[str, int | str] = {}

    def add(self, docs: Any, *, fresh: bool = False) -> None:
        self.docs.update((d.id, d) for d in docs)

    def delete(self, ids: Any) -> None:
        for i in ids:
            self.docs.pop(i, None)

    def commit(self, meta: dict[str, int | str]) -> None:
        self.meta_saved = meta

    def meta(self) -> dict[str, int | str]:
        return self.meta_saved

    def count(self) -> int:
        return len(self.docs)


def works(docs: dict[str, IndexDoc]) -> list[tuple[str, tuple[str, ...], tuple[int, ...]]]:
    return sorted((d.title, d.members, d.record_ids) for d in docs.values())


def refuse_xml(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, any XML parse or normalisation fails the test."""
    def refuse(*args: object) -> None:
        raise AssertionError("the XML was parsed although fields are stored")

    monkeypatch.setattr(stored, "normalize", refuse)
    monkeypatch.setattr("aggregator.normalize.parse_bytes", refuse)


def test_write_page_stores_the_normalised_fields_and_match_keys(engine: Engine) -> None:
    load(engine)
    for ident, row in stored_rows(engine).items():
        fields = normalize(RECORDS[ident], PREFIX)
        assert isinstance(row.fields, dict)
        assert stored.Fields.from_json(row.fields) == fields
        assert fields.title and fields.creators and fields.year
        assert stored.keys_from_json(row.match_keys) == match_keys(fields)


def test_changed_record_gets_new_fields_and_a_tombstone_keeps_its_last(engine: Engine) -> None:
    load(engine)
    sid = _source_id(engine, "perpus-a")
    run_id = runs.start_run(engine, sid, "full", "test")
    new_xml = dc("Sejarah Maritim Indonesia", "Wijaya, Sari", "2016")
    write_page(engine, PageWrite(sid, run_id, PREFIX, [
        HarvestedRecord("a:2", "2024-02-01", False, (), new_xml),
        HarvestedRecord("a:1", "2024-02-01", True, (), None)], None))
    rows = stored_rows(engine)
    assert stored.Fields.from_json(rows["a:2"].fields) == normalize(new_xml, PREFIX)
    # a tombstone keeps the fields it had (its page names what was withdrawn) but no
    # match keys, so nothing clusters with it
    assert rows["a:1"].fields is not None and not rows["a:1"].match_keys
    last = stored.Fields.from_json(rows["a:1"].fields)
    assert last.title == "Pendidikan Karakter di Sekolah Dasar"
    assert "a:1" not in block_rows(engine)


def block_rows(engine: Engine) -> dict[str, set[str]]:
    """Identifier → the block keys ``record_key`` holds for it."""
    with connect(engine) as conn:
        out: dict[str, set[str]] = {}
        for ident, key in conn.execute(select(Record.identifier, RecordKey.key)
                                       .join(RecordKey, RecordKey.record_id == Record.id)):
            out.setdefault(ident, set()).add(key)
        return out


def clusters_by_identifier(engine: Engine) -> dict[str, str | None]:
    """Identifier → the identifier of the record its cluster is named after."""
    with connect(engine) as conn:
        rows = conn.execute(select(Record.id, Record.identifier, Record.cluster_id)).all()
    name = {r.id: r.identifier for r in rows}
    return {r.identifier: name.get(r.cluster_id) if r.cluster_id else None for r in rows}


def test_write_page_files_block_keys_and_each_new_record_as_its_own_cluster(
        engine: Engine) -> None:
    load(engine)
    expected = {ident: set(block_keys(match_keys(normalize(xml, PREFIX))))
                for ident, xml in RECORDS.items()}
    assert all(expected.values())
    assert block_rows(engine) == expected
    assert clusters_by_identifier(engine) == {ident: ident for ident in RECORDS}
    sid = _source_id(engine, "perpus-a")
    run_id = runs.start_run(engine, sid, "full", "test")
    new_xml = dc("Sejarah Maritim Indonesia Timur", "Wijaya, Sari", "2016")
    write_page(engine, PageWrite(sid, run_id, PREFIX, [
        HarvestedRecord("a:2", "2024-02-01", False, (), new_xml),
        HarvestedRecord("a:1", "2024-02-01", True, (), None),
        HarvestedRecord("a:3", "2024-02-01", True, (), None)], None))  # never seen alive
    keys = block_rows(engine)
    assert keys["a:2"] == set(block_keys(match_keys(normalize(new_xml, PREFIX))))
    assert keys["a:2"] != expected["a:2"]
    assert "a:1" not in keys and "a:3" not in keys
    assert clusters_by_identifier(engine)["a:3"] is None


def test_rebuild_files_block_keys_missing_from_the_store(engine: Engine) -> None:
    load(engine)
    first = Collect()
    fill_index(engine, first, workers=0)  # type: ignore[arg-type]
    keys, clusters = block_rows(engine), clusters_by_identifier(engine)
    assert clusters["b:1"] == "a:1"  # the shared work
    with connect(engine) as conn:  # as a store harvested before keys were stored
        conn.execute(delete(RecordKey))
        conn.execute(update(Record).values(cluster_id=None))
    again = Collect()
    stats = fill_index(engine, again, workers=0)  # type: ignore[arg-type]
    assert again.docs == first.docs and stats.changes == 4
    assert block_rows(engine) == keys and clusters_by_identifier(engine) == clusters


def test_incremental_sync_files_block_keys_missing_from_the_store(engine: Engine) -> None:
    load(engine)
    keys = block_rows(engine)
    with connect(engine) as conn:  # harvested before keys were stored, never indexed
        conn.execute(delete(RecordKey))
    backend = Collect()
    backend.docs["x"] = IndexDoc(id="x")  # not empty: the batch path, not a fill
    catch_up(engine)  # the clustering stage, as after a harvest run
    sync_index(engine, backend)  # type: ignore[arg-type]
    assert block_rows(engine) == keys
    assert clusters_by_identifier(engine)["b:1"] == "a:1"
    sync_index(engine, backend)  # nothing new: nothing written twice
    assert block_rows(engine) == keys


def test_rebuild_reads_stored_fields_and_never_parses_xml(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    load(engine)
    refuse_xml(monkeypatch)
    backend = Collect()
    stats = fill_index(engine, backend, workers=0)  # type: ignore[arg-type]
    assert stats.normalised == 0 and stats.changes == 4
    assert ("perpus-a", "perpus-b") in [w[1] for w in works(backend.docs)]  # shared work
    assert len(backend.docs) == 3


def test_incremental_sync_never_parses_xml_when_fields_are_stored(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    load(engine)
    refuse_xml(monkeypatch)
    backend = Collect()
    backend.docs["x"] = IndexDoc(id="x")  # not empty: the batch path, not a fill
    backend.meta_saved = {"change_seq": 0}
    catch_up(engine)  # the clustering stage, as after a harvest run
    sync_index(engine, backend, batch=3)  # type: ignore[arg-type]
    backend.docs.pop("x")
    assert len(backend.docs) == 3


def test_rows_without_fields_index_the_same_and_get_their_fields_stored(
        engine: Engine) -> None:
    load(engine)
    with_fields = Collect()
    fill_index(engine, with_fields, workers=0)  # type: ignore[arg-type]
    clear_fields(engine)
    assert all(r.fields is None for r in stored_rows(engine).values())
    from_xml = Collect()
    stats = fill_index(engine, from_xml, workers=0)  # type: ignore[arg-type]
    assert stats.normalised == 4
    assert from_xml.docs == with_fields.docs
    assert set(block_rows(engine)) == set(RECORDS)  # block keys written with the fields
    for ident, row in stored_rows(engine).items():  # written back: parsed once only
        assert stored.Fields.from_json(row.fields) == normalize(RECORDS[ident], PREFIX)
        assert stored.keys_from_json(row.match_keys) == match_keys(
            normalize(RECORDS[ident], PREFIX))


def test_incremental_sync_of_rows_without_fields(engine: Engine) -> None:
    load(engine)
    clear_fields(engine)
    backend = Collect()
    backend.docs["x"] = IndexDoc(id="x")
    catch_up(engine)  # the clustering stage, as after a harvest run
    sync_index(engine, backend)  # type: ignore[arg-type]
    backend.docs.pop("x")
    with connect(engine) as conn:
        ident = dict(conn.execute(select(Record.id, Record.identifier)).all())
    assert [(t, m, tuple(ident[i] for i in ids)) for t, m, ids in works(backend.docs)] == [
        ("Budidaya Padi Organik", ("perpus-b",), ("b:2",)),
        ("Pendidikan Karakter di Sekolah Dasar", ("perpus-a", "perpus-b"), ("a:1", "b:1")),
        ("Sejarah Maritim Nusantara", ("perpus-a",), ("a:2",)),
    ]


def test_docs_from_rows_fall_back_to_the_xml() -> None:
    class Row:
        def __init__(self, rid: int, fields: object, xml: bytes | None) -> None:
            self.id, self.cluster_id, self.slug = rid, 1, "m"
            self.fields, self.metadata_xml, self.metadata_prefix = fields, xml, PREFIX

    xml = RECORDS["a:2"]
    good = stored.Fields.from_json(normalize(xml, PREFIX).as_json()).as_json()
    from_stored = list(docs_from_rows([Row(1, good, None)]))
    from_xml = list(docs_from_rows([Row(1, None, xml)]))
    garbled = list(docs_from_rows([Row(1, {"no_such_field": 1}, xml)]))
    assert from_stored == from_xml == garbled
    assert from_xml[0].title == "Sejarah Maritim Nusantara"


def test_normalising_in_worker_processes_matches_in_process(settings: Settings,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    from aggregator.store.db import init_schema

    engine = make_engine(settings)
    init_schema(engine)
    load(engine)
    clear_fields(engine)
    monkeypatch.setattr("aggregator.index.fill.POOL_FROM", 1)
    monkeypatch.setattr("aggregator.index.fill.CHUNK", 1)  # several tasks in flight
    backend = Collect()
    assert fill(engine, backend, workers=2).normalised == 4  # type: ignore[arg-type]
    for ident, row in stored_rows(engine).items():
        assert stored.Fields.from_json(row.fields) == normalize(RECORDS[ident], PREFIX)
    assert len(backend.docs) == 3
    engine.dispose()


class Prepared(Collect):
    """A Collect whose documents are "prepared" (copied) in the fill's worker process."""

    prepare = staticmethod(copy.copy)

    def add_prepared(self, prepared: Any) -> None:
        self.add(prepared, fresh=True)


@pytest.mark.parametrize("workers", [1, 2])
def test_documents_built_in_a_worker_process_match_in_process(
        settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        workers: int) -> None:
    from aggregator.index.tantivy_backend import TantivyBackend
    from aggregator.store.db import init_schema

    engine = make_engine(settings)
    init_schema(engine)
    load(engine)
    here = Collect()
    fill(engine, here, workers=0)  # type: ignore[arg-type]
    monkeypatch.setattr("aggregator.index.fill.PREPARE_FROM", 1)
    monkeypatch.setattr("aggregator.index.fill.CHUNK", 1)  # several tasks in flight
    monkeypatch.setattr("aggregator.index.fill.DOC_WORKERS", workers)
    there = Prepared()
    assert fill(engine, there).documents == 3  # type: ignore[arg-type]
    assert there.docs == here.docs and len(here.docs) == 3
    tantivy = TantivyBackend(tmp_path / "tantivy")
    fill_index(engine, tantivy)
    assert tantivy.count() == 3
    tantivy.close()
    engine.dispose()


def test_clustering_in_a_worker_process_while_indexing_matches_in_process(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aggregator.index.tantivy_backend import TantivyBackend

    load(engine)
    here = Collect()
    fill(engine, here, workers=0)  # type: ignore[arg-type]
    with connect(engine) as conn:  # as first harvested: every record on its own
        conn.execute(update(Record).values(cluster_id=Record.id))
    monkeypatch.setattr("aggregator.index.fill.PREPARE_FROM", 1)
    tantivy = TantivyBackend(tmp_path / "tantivy")
    done = fill(engine, tantivy)  # clusters in a worker process on its own connection
    tantivy.commit({"change_seq": done.change_seq})
    assert done.documents == tantivy.count() == len(here.docs) == 3
    shared = tantivy.search(SearchQuery(text='"pendidikan karakter"'))
    assert [(h.members, h.record_ids) for h in shared.hits] == [
        (d.members, d.record_ids) for d in here.docs.values() if len(d.members) == 2]
    assert clusters_by_identifier(engine)["b:1"] == "a:1"
    tantivy.close()


def step(*idents: str) -> Step:
    return Step(ListPage(response_date=None, records=tuple(
        HarvestedRecord(i, "2024-01-01", False, (), RECORDS[i]) for i in idents)),
        None, 0, None)


def test_pipeline_normalises_pages_ahead_in_a_worker() -> None:
    out = list(pipeline._normalised(iter([step("a:1", "a:2"), step("b:1")]), PREFIX,
                                    start_after=0))
    assert [list(normalised or {}) for _, normalised in out] == [["a:1", "a:2"], ["b:1"]]
    for _, normalised in out:
        for ident, found in (normalised or {}).items():
            assert found == stored.stored_form(RECORDS[ident], PREFIX)


def test_pipeline_sends_a_large_page_to_the_worker_in_pieces() -> None:
    out = list(pipeline._normalised(iter([step("a:1", "a:2", "b:1"), step("b:1")]), PREFIX,
                                    start_after=0, chunk=2))
    assert [list(normalised or {}) for _, normalised in out] == [["a:1", "a:2", "b:1"],
                                                                  ["b:1"]]
    for _, normalised in out:
        for ident, found in (normalised or {}).items():
            assert found == stored.stored_form(RECORDS[ident], PREFIX)


def test_pipeline_goes_on_in_line_when_the_worker_dies() -> None:
    """A normalising worker killed mid-run (out of memory, an operator's kill) costs
    speed, not the run: the pages still come out, normalised in-line (None)."""
    def steps() -> Iterator[Step]:
        yield step("a:1", "a:2")
        yield step("b:1")
        workers = multiprocessing.active_children()
        assert workers, "the worker should be running by now"
        for worker in workers:
            os.kill(worker.pid or 0, signal.SIGKILL)
            worker.join(10)
        yield step("a:1")
        yield step("a:2", "b:1")

    out = list(pipeline._normalised(steps(), PREFIX, start_after=0))
    assert [[r.identifier for r in s.page.records] for s, _ in out] == [
        ["a:1", "a:2"], ["b:1"], ["a:1"], ["a:2", "b:1"]]
    assert out[0][1] == {i: stored.stored_form(RECORDS[i], PREFIX) for i in ("a:1", "a:2")}
    assert out[-1][1] is None  # left to write_page, which normalises in-line


def test_pipeline_stores_the_fetched_page_before_a_harvest_error() -> None:
    def steps() -> Iterator[Step]:
        yield step("a:1")
        raise FetchError("the server went away")

    seen: list[Step] = []
    with pytest.raises(FetchError):
        for item, normalised in pipeline._normalised(steps(), PREFIX, start_after=10**6):
            assert normalised is None  # below the threshold: write_page normalises
            seen.append(item)
    assert [r.identifier for s in seen for r in s.page.records] == ["a:1"]


def test_migration_0003_keeps_old_rows_which_then_index(tmp_path: Path,
                                                       settings: Settings) -> None:
    engine = make_engine(settings)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0002")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO member (id, slug, name, status, created_at) "
                             "VALUES (1, 'm', 'M', 'active', '2024-01-01')")
        conn.exec_driver_sql(
            "INSERT INTO source (id, member_id, base_url, metadata_prefix, set_spec, "
            "every_seconds, status, use_day_granularity, date_filter, created_at) "
            "VALUES (1, 1, 'https://m.example/oai', 'oai_dc', '', 86400, 'active', 0, 1, "
            "'2024-01-01')")
        conn.exec_driver_sql(
            "INSERT INTO record (id, source_id, identifier, deleted, set_specs, "
            "metadata_prefix, metadata_xml, content_hash, change_seq, first_seen, "
            "last_changed) VALUES (1, 1, 'old:1', 0, '[]', 'oai_dc', ?, 'h', 1, "
            "'2024-01-01', '2024-01-01')", (RECORDS["a:2"],))
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    assert stored_rows(engine)["old:1"].fields is None
    backend: SearchBackend = WhooshBackend(tmp_path / "ix")
    try:
        fill_index(engine, backend, workers=0)
        assert [h.title for h in backend.search(_query("maritim")).hits] == [
            "Sejarah Maritim Nusantara"]
    finally:
        backend.close()
    engine.dispose()


def _query(text: str) -> Any:
    from aggregator.index.model import SearchQuery

    return SearchQuery(text=text)
