"""Clustering as a store-side stage under a lease, and one writer for the search index."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select

from aggregator.cluster import stage
from aggregator.config import Settings
from aggregator.demo.oaiserver import OAIServer, Repository
from aggregator.index.model import SearchQuery
from aggregator.index.owner import IndexOwner, holder
from aggregator.index.sync import open_index, rebuild_index, sync_index
from aggregator.records import HarvestedRecord
from aggregator.store import catalog, runs
from aggregator.store.db import connect, session_scope
from aggregator.store.ingest import PageWrite, write_page
from aggregator.store.models import ChangeCounter, ClusterChange, Member, Record, Source
from harvesting import make_records
from test_scheduler import add_source, end, found, wait_for, worker_env

PREFIX = "oai_dc"


def dc(title: str, creator: str, year: str) -> bytes:
    return (b'<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
            b'xmlns:dc="http://purl.org/dc/elements/1.1/">'
            b"<dc:title>%s</dc:title><dc:creator>%s</dc:creator><dc:date>%s</dc:date>"
            b"<dc:type>Book</dc:type></oai_dc:dc>" % (title.encode(), creator.encode(),
                                                      year.encode()))


SHARED = dc("Pendidikan Karakter di Sekolah Dasar", "Santoso, Budi", "2019")
PADI = dc("Budidaya Padi Organik di Lahan Sawah", "Hartono, Agus", "2021")


def store_page(engine: Engine, slug: str, records: dict[str, bytes | None]) -> None:
    """Write one page for member ``slug`` straight to the store (no clustering stage)."""
    with session_scope(engine) as session:
        if session.scalar(select(Member.id).where(Member.slug == slug)) is None:
            catalog.add_member(session, slug, slug)
            catalog.add_source(session, slug, f"https://{slug}.example/oai")
    with connect(engine) as conn:
        sid = int(conn.scalar(select(Source.id).join(Member, Member.id == Source.member_id)
                              .where(Member.slug == slug)))
    run_id = runs.start_run(engine, sid, "full", "test")
    write_page(engine, PageWrite(sid, run_id, PREFIX, [
        HarvestedRecord(ident, "2024-01-01", xml is None, (), xml)
        for ident, xml in records.items()], None))


def clusters(engine: Engine) -> dict[str, str | None]:
    """identifier → identifier of the record its cluster is named after."""
    with connect(engine) as conn:
        rows = conn.execute(select(Record.id, Record.identifier, Record.cluster_id)).all()
    names = {r.id: r.identifier for r in rows}
    return {r.identifier: names.get(r.cluster_id) for r in rows}


def feed(engine: Engine) -> list[int]:
    with connect(engine) as conn:
        return list(conn.scalars(select(ClusterChange.cluster_id).order_by(ClusterChange.seq)))


def record_seqs(engine: Engine) -> dict[str, int]:
    with connect(engine) as conn:
        return dict(conn.execute(select(Record.identifier, Record.change_seq)).all())


@pytest.fixture(params=["batches", "bulk"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Cluster batch by batch, or (a backlog of many changes) by reclustering the store."""
    monkeypatch.setattr(stage, "BULK_FROM", 2 if request.param == "bulk" else 10**9)
    return str(request.param)


def test_the_stage_clusters_changes_and_logs_them_leaving_the_records_feed_alone(
        engine: Engine, way: str) -> None:
    store_page(engine, "a", {"a:1": SHARED, "a:2": dc("Sejarah Maritim", "Wijaya, Sari",
                                                      "2015")})
    store_page(engine, "b", {"b:1": SHARED})
    seqs = record_seqs(engine)
    assert clusters(engine)["b:1"] == "b:1"  # stored as a cluster of its own
    done = stage.catch_up(engine)
    assert (done.records, done.busy) == (3, False)
    assert clusters(engine) == {"a:1": "a:1", "a:2": "a:2", "b:1": "a:1"}
    assert record_seqs(engine) == seqs  # the OAI feed's change_seq is not touched
    with connect(engine) as conn:
        ids = dict(conn.execute(select(Record.identifier, Record.id)).all())
        head = conn.scalar(select(ChangeCounter.value))
        assert stage.clustered_upto(conn) == head
    assert sorted(feed(engine)) == sorted({ids["a:1"], ids["a:2"], ids["b:1"]})
    assert stage.catch_up(engine).records == 0  # nothing new
    store_page(engine, "b", {"b:1": None})  # the copy is withdrawn
    stage.catch_up(engine)
    assert clusters(engine)["b:1"] is None
    assert feed(engine)[-1] == ids["a:1"]  # one entry per cluster, the latest last
    assert len(feed(engine)) == len(set(feed(engine)))


def test_a_held_stage_is_left_to_its_holder_and_an_expired_one_taken_over(
        engine: Engine) -> None:
    store_page(engine, "a", {"a:1": SHARED})
    store_page(engine, "b", {"b:1": SHARED})
    assert stage.take(engine, "elsewhere:1:x", 60)
    busy = stage.catch_up(engine)
    assert busy.busy and busy.records == 0
    assert clusters(engine)["b:1"] == "b:1"
    assert stage.progress(engine)["records_waiting"] == 2
    stage.give_back(engine, "elsewhere:1:x")
    assert stage.take(engine, "crashed:1:x", 0.05)  # a holder that dies
    time.sleep(0.1)
    assert stage.catch_up(engine).records == 2
    assert clusters(engine)["b:1"] == "a:1"
    assert stage.progress(engine)["records_waiting"] == 0


def test_a_rebuild_waits_for_the_stage_and_says_so(engine: Engine) -> None:
    assert stage.take(engine, "elsewhere:1:x", 60)
    with pytest.raises(Exception, match="another process is clustering"), \
            stage.held(engine, wait=0.3):
        pass


def test_the_index_follows_the_store_reading_only(tmp_path: Path, engine: Engine,
                                                  settings: Settings, way: str) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("a read-only connection is SQLite's")
    store_page(engine, "a", {"a:1": SHARED})
    store_page(engine, "b", {"b:1": SHARED, "b:2": PADI})
    stage.catch_up(engine)
    read_only = create_engine(f"sqlite:///file:{engine.url.database}?mode=ro&uri=true")
    backend = open_index(settings)
    try:
        first = sync_index(read_only, backend)  # a new index: filled from the store
        assert (first.documents, backend.count()) == (2, 2)
        store_page(engine, "a", {"a:3": PADI})
        assert sync_index(read_only, backend).changes == 0  # not clustered yet
        stage.catch_up(engine)
        later = sync_index(read_only, backend)
        assert later.documents >= 1 and backend.count() == 2
        hits = backend.search(SearchQuery(text="padi", highlight=False)).hits
        assert [h.members for h in hits] == [("a", "b")]
    finally:
        backend.close()
        read_only.dispose()


HOLD = """
import sys, time
from aggregator.config import load_settings
from aggregator.index.owner import IndexOwner
owner = IndexOwner.claim(load_settings(environ={}, data_dir=sys.argv[1]))
print("owned" if owner else "refused", flush=True)
time.sleep(60)
"""


def test_one_process_owns_the_index_until_it_dies(settings: Settings) -> None:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, settings.data_dir],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "owned"
        assert IndexOwner.claim(settings) is None
        assert f"process {proc.pid}" in holder(settings)
    finally:
        proc.kill()  # SIGKILL: the operating system gives the lock back
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    owner = IndexOwner.claim(settings)
    assert owner is not None
    owner.close()


def test_the_owner_writes_the_folder_a_rebuild_swapped_in(engine: Engine,
                                                          settings: Settings) -> None:
    store_page(engine, "a", {"a:1": SHARED})
    stage.catch_up(engine)
    owner = IndexOwner.claim(settings)
    assert owner is not None
    try:
        owner.sync(engine)
        rebuild_index(engine, settings)  # a new folder, swapped in
        store_page(engine, "b", {"b:1": PADI})
        stage.catch_up(engine)
        assert owner.sync(engine).documents == 1
    finally:
        owner.close()
    fresh = open_index(settings, create=False)
    try:
        assert fresh.count() == 2
    finally:
        fresh.close()


@pytest.mark.slow
def test_a_harvest_while_serve_runs_is_stored_and_indexed_by_serve(
        engine: Engine, settings: Settings) -> None:
    """The command line harvest commits to the store; serve's parent owns the index
    and applies the change (before: tantivy's LockBusy, and the run ended partial)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the embedded default: one process on SQLite")
    with OAIServer(Repository(make_records(12))) as server:
        source = add_source(engine, "kota", server.base_url)
        env = worker_env(engine, settings, AGGREGATOR_INDEX_FOLLOW_SECONDS="0.2")
        proc = subprocess.Popen([sys.executable, "-m", "aggregator", "serve", "--port", "0",
                                 "--workers", "1", "--no-scheduler"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                cwd=settings.data_dir)
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().decode().split()[1]
            harvest = subprocess.run([sys.executable, "-m", "aggregator", "harvest", "kota",
                                      "--json"], env=env, capture_output=True, text=True,
                                     timeout=60, cwd=settings.data_dir)
            assert harvest.returncode == 0, harvest.stderr
            assert '"status": "ok"' in harvest.stdout and '"index"' not in harvest.stdout
            assert f"written by process {proc.pid}" in harvest.stderr
            wait_for(lambda: found(url + "api/search?q=Judul") == 12, 20,
                     "serve to index the harvest")
        finally:
            code, err = end(proc)
        assert code == 0, err
    with connect(engine) as conn:
        assert conn.scalar(select(func.count()).select_from(Record)
                           .where(Record.source_id == source)) == 12


def test_index_sync_leaves_an_owned_index_to_its_owner(
        engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from aggregator.cli import main

    store_page(engine, "a", {"a:1": SHARED})
    owner = IndexOwner.claim(settings)
    assert owner is not None
    monkeypatch.setenv("AGGREGATOR_DATA_DIR", settings.data_dir)
    if engine.dialect.name != "sqlite":
        monkeypatch.setenv("AGGREGATOR_DATABASE_URL",
                           engine.url.render_as_string(hide_password=False))
    try:
        main(["index", "sync"])
        assert "which applies the store's changes itself" in capsys.readouterr().out
        assert stage.progress(engine)["records_waiting"] == 0  # the store side was done
        assert owner.backend.count() == 0  # the index is its owner's to write
        assert owner.sync(engine).documents == 1
    finally:
        owner.close()


def dc_id(title: str, creator: str, year: str, type_: str, identifier: str) -> bytes:
    return (b'<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
            b'xmlns:dc="http://purl.org/dc/elements/1.1/">'
            b"<dc:title>%s</dc:title><dc:creator>%s</dc:creator><dc:date>%s</dc:date>"
            b"<dc:type>%s</dc:type><dc:identifier>%s</dc:identifier></oai_dc:dc>" % (
                title.encode(), creator.encode(), year.encode(), type_.encode(),
                identifier.encode()))


JOURNAL_DOI = "https://doi.org/10.1234/jurnal.v1"
SERIES_ISBN = "ISBN 978-602-8519-93-9"


def test_a_journal_doi_and_a_series_isbn_merge_nothing(engine: Engine, way: str) -> None:
    """An OJS journal's DOI on every article (two titled alike: "Editorial") and a
    SLiMS series ISBN on 30 different books: nothing merged, within or across members;
    the same thesis under one DOI at two members, titled a little differently, merged."""
    articles = {f"ojs:{n}": dc_id(f"Artikel nomor {n} tentang topik {n}", f"Penulis{n}, A",
                                  "2020", "Article", JOURNAL_DOI) for n in range(8)}
    articles["ojs:e1"] = dc_id("Editorial", "Redaksi", "2020", "Article", JOURNAL_DOI)
    articles["ojs:e2"] = dc_id("Editorial", "Redaksi", "2020", "Article", JOURNAL_DOI)
    books = {f"slims:{n}": dc_id(f"Seri Pengetahuan Alam jilid ke-{n}: {topic}",
                                 "Tim Penyusun", "2018", "Book", SERIES_ISBN)
             for n, topic in enumerate(["Air", "Tanah", "Udara"] * 10)}
    thesis = "Pengaruh Literasi Digital terhadap Prestasi Belajar Siswa"
    store_page(engine, "ojs", articles)
    store_page(engine, "slims", books)
    # the other member holds one article of the journal (the same DOI, its own title)
    store_page(engine, "uni", {
        "uni:1": dc_id(thesis, "Rahma, Dewi", "2021", "Thesis", "10.5555/tesis.77"),
        "uni:2": dc_id("Artikel nomor 3 tentang topik 3", "Penulis3, A", "2020", "Article",
                       JOURNAL_DOI),
        "uni:3": dc_id("Seri Pengetahuan Alam jilid ke-4: Tanah", "Tim Penyusun", "2018",
                       "Book", SERIES_ISBN)})
    store_page(engine, "lib", {
        "lib:1": dc_id(thesis.upper() + ": studi kasus SMA Negeri 1", "Dewi Rahma", "2022",
                       "Thesis", "doi:10.5555/TESIS.77")})
    stage.catch_up(engine)
    found = clusters(engine)
    merged = {ident: to for ident, to in found.items() if to != ident}
    # the same article at "uni": it matches on its title, creator and year, not the DOI
    assert merged == {"lib:1": "uni:1", "uni:2": "ojs:3", "uni:3": "slims:4"}


def test_an_identifier_stops_counting_once_a_source_overuses_it(engine: Engine) -> None:
    """Incrementally: the first records of a journal with a shared DOI and alike titles
    (an "Editorial" per issue) are kept apart once the DOI turns out to be the journal's."""
    store_page(engine, "b", {"b:1": dc_id("Editorial", "Redaksi", "2020", "Article",
                                          JOURNAL_DOI)})
    stage.catch_up(engine)
    for n in range(5):  # one issue at a time, each clustered before the next arrives
        store_page(engine, "ojs", {f"ojs:{n}": dc_id("Editorial", "Redaksi", "2020",
                                                     "Article", JOURNAL_DOI)})
        stage.catch_up(engine)
    found = clusters(engine)
    late = sorted(ident for ident in found if ident.startswith("ojs:"))[3:]
    assert late and all(found[ident] == ident for ident in late)
