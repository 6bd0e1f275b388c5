"""The store: schema, catalog, page ingestion, reconciliation, runs and leases."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, update

from aggregator.config import Settings, load_settings
from aggregator.errors import SchemaMissing, StoreError, UserInputError
from aggregator.records import HarvestedRecord, Notice
from aggregator.store import catalog, ingest, runs
from aggregator.store.db import (
    head_revision,
    init_schema,
    make_engine,
    reader,
    require_schema,
    session_scope,
)
from aggregator.store.ingest import PageWrite, reconcile, write_page
from aggregator.store.models import (
    Base,
    ChangeCounter,
    HarvestRun,
    Record,
    RecordKey,
    Source,
    utcnow,
)

XML = b'<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"><t>%s</t></oai_dc:dc>'


def rec(ident: str, ds: str = "2024-01-01", deleted: bool = False, body: str = "a",
        sets: tuple[str, ...] = ()) -> HarvestedRecord:
    xml = None if deleted else XML % body.encode()
    return HarvestedRecord(ident, ds, deleted, sets, xml)


def new_source(engine: Engine, slug: str = "lib", url: str = "https://lib.example/oai") -> int:
    with session_scope(engine) as session:
        if slug not in {m.slug for m in catalog.list_members(session, include_removed=True)}:
            catalog.add_member(session, slug, f"Library {slug}")
        return catalog.add_source(session, slug, url).id


def page(sid: int, rid: int, records: list[HarvestedRecord], **kw: Any) -> PageWrite:
    kw.setdefault("checkpoint", None)
    return PageWrite(source_id=sid, run_id=rid, metadata_prefix="oai_dc", records=records, **kw)


def rows(engine: Engine, sid: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return {r.identifier: r for r in conn.execute(
            select(Record).where(Record.source_id == sid).order_by(Record.id))}


def counter(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(ChangeCounter.value)) or 0)


# -- schema and connections -----------------------------------------------------------


def test_init_is_idempotent_and_matches_the_models(engine: Engine) -> None:
    assert init_schema(engine) == head_revision()
    assert init_schema(engine) == head_revision()
    require_schema(engine)
    with engine.connect() as conn:
        assert conn.execute(select(ChangeCounter.id, ChangeCounter.value)).all() == [(1, 0)]
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_require_schema_on_an_empty_database(tmp_path: Path) -> None:
    engine = make_engine(load_settings(environ={}, data_dir=str(tmp_path / "new")))
    with pytest.raises(SchemaMissing, match="aggregator init"):
        require_schema(engine)
    engine.dispose()


def test_an_older_schema_is_named_and_upgraded_without_loss(tmp_path: Path) -> None:
    from alembic import command

    from aggregator.store.db import alembic_config

    engine = make_engine(load_settings(environ={}, data_dir=str(tmp_path / "old")))
    init_schema(engine)
    with engine.begin() as conn:
        conn.execute(update(ChangeCounter).values(value=41))
        command.downgrade(alembic_config(conn), "0004")
    with pytest.raises(SchemaMissing, match=r"at revision 0004; .*aggregator init"):
        require_schema(engine)
    init_schema(engine)
    require_schema(engine)
    with engine.connect() as conn:
        assert conn.scalar(select(ChangeCounter.value)) == 41
    engine.dispose()


def test_unreachable_postgres_is_a_one_line_store_error_without_password() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://alice:s3cret@127.0.0.1:{port}/db"
    engine = make_engine(load_settings(environ={}, database_url=url))
    with pytest.raises(StoreError) as info:
        require_schema(engine)
    message = str(info.value)
    assert "s3cret" not in message and f"alice@127.0.0.1:{port}/db" in message
    assert "\n" not in message
    engine.dispose()


def test_sqlite_pragmas(settings: Settings) -> None:
    engine = make_engine(settings)
    with engine.connect() as conn:
        pragma = conn.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA busy_timeout").scalar() == 15000
        assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert pragma("PRAGMA synchronous").scalar() == 1
    with reader(engine).begin() as conn:  # a deferred transaction takes no write lock
        conn.execute(select(1))
    engine.dispose()


def test_sqlite_writers_that_read_first_wait_instead_of_failing(settings: Settings) -> None:
    engine = make_engine(settings)
    init_schema(engine)
    failures: list[BaseException] = []

    def bump() -> None:
        for _ in range(15):
            try:
                with engine.begin() as conn:  # read, pause, then write: a lock upgrade
                    value = conn.scalar(select(ChangeCounter.value))
                    time.sleep(0.001)
                    conn.execute(update(ChangeCounter).values(value=cast(int, value) + 1))
            except Exception as exc:  # collected for the assertion below
                failures.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert counter(engine) == 60  # no lost update either
    engine.dispose()


# -- catalog --------------------------------------------------------------------------


def test_members_and_sources(engine: Engine) -> None:
    with session_scope(engine) as s:
        catalog.add_member(s, "uni-a", "University A", "https://a.example", city="Bandung",
                           kind="university")
        catalog.add_member(s, "pub", "Public library")
        src = catalog.add_source(s, "uni-a", "https://a.example/oai", every="6h")
        catalog.add_source(s, "uni-a", "https://a.example/oai", set_spec="theses")
    with session_scope(engine) as s:
        assert catalog.get_member(s, "uni-a").city == "Bandung"
        members = catalog.list_members(s)
        assert [(m.slug, m.sources, m.records) for m in members] == [("pub", 0, 0),
                                                                    ("uni-a", 2, 0)]
        listed = catalog.list_sources(s)
        assert [(x.id, x.member, x.prefix, x.set_spec, x.every) for x in listed][0] == (
            src.id, "uni-a", "oai_dc", "", "6h")
        assert listed[0].last_run_status is None and listed[0].last_success_at is None
        assert catalog.sources_for(s, ["uni-a"], False) == sorted(x.id for x in listed)
        assert catalog.sources_for(s, None, True) == sorted(x.id for x in listed)
        assert catalog.sources_for(s, ["pub"], False) == []


@pytest.mark.parametrize(("call", "message"), [
    (lambda s: catalog.add_member(s, "Bad_Slug", "x"), "bad member slug"),
    (lambda s: catalog.add_member(s, "-x", "x"), "bad member slug"),
    (lambda s: catalog.add_member(s, "a" * 64, "x"), "bad member slug"),
    (lambda s: catalog.add_member(s, "lib", "again"), "already exists"),
    (lambda s: catalog.add_member(s, "y", "y", colour="red"), "unknown member field"),
    (lambda s: catalog.add_member(s, "y", "y", kind="zoo"), "bad kind"),
    (lambda s: catalog.get_member(s, "nope"), "unknown member 'nope'"),
    (lambda s: catalog.remove_member(s, "nope"), "unknown member 'nope'"),
    (lambda s: catalog.add_source(s, "nope", "https://x.example/oai"), "unknown member"),
    (lambda s: catalog.add_source(s, "lib", "ftp://x.example/oai"), "bad base URL"),
    (lambda s: catalog.add_source(s, "lib", "https://x.example/oai", every="5s"),
     "bad interval"),
    (lambda s: catalog.add_source(s, "lib", "https://x.example/oai", every="often"),
     "bad interval"),
    (lambda s: catalog.add_source(s, "lib", "https://lib.example/oai"), "already registered"),
    (lambda s: catalog.sources_for(s, ["lib", "ghost"], False), "unknown member 'ghost'"),
    (lambda s: catalog.sources_for(s, None, False), "name at least one member"),
])
def test_catalog_errors(engine: Engine, call: Any, message: str) -> None:
    new_source(engine)
    with pytest.raises(UserInputError, match=message), session_scope(engine) as s:
        call(s)


def test_remove_member_tombstones_and_re_adding_reactivates(engine: Engine) -> None:
    sid = new_source(engine)
    other = new_source(engine, "other", "https://other.example/oai")
    run = runs.start_run(engine, sid, "full", "me")
    write_page(engine, page(sid, run, [rec("a"), rec("b"), rec("c", deleted=True)]))
    write_page(engine, page(other, runs.start_run(engine, other, "full", "me"), [rec("z")]))
    before = counter(engine)
    with session_scope(engine) as s:
        assert catalog.remove_member(s, "lib") == 2
    stored = rows(engine, sid)
    assert len(stored) == 3 and all(r.deleted and r.metadata_xml is None
                                    for r in stored.values())
    assert sorted(r.change_seq for r in stored.values())[-2:] == [before + 1, before + 2]
    assert not rows(engine, other)["z"].deleted
    with session_scope(engine) as s:
        assert [m.slug for m in catalog.list_members(s)] == ["other"]
        assert catalog.sources_for(s, None, True) == [other]
        assert catalog.sources_for(s, ["lib"], False) == []
        with pytest.raises(UserInputError, match="is removed"):
            catalog.add_source(s, "lib", "https://new.example/oai")
        catalog.add_member(s, "lib", "Library again")
        catalog.add_source(s, "lib", "https://lib.example/oai")
    with session_scope(engine) as s:
        assert catalog.sources_for(s, ["lib"], False) == [sid]
        assert catalog.get_member(s, "lib").name == "Library again"


# -- write_page -----------------------------------------------------------------------


def test_write_page_classifies_every_case(engine: Engine) -> None:
    sid = new_source(engine)
    run = runs.start_run(engine, sid, "incremental", "me")
    first = write_page(engine, page(sid, run, [
        rec("keep"), rec("edit"), rec("date"), rec("gone"), rec("back"), rec("dead", deleted=True),
        rec("dup", body="old"), rec("dup", body="new")]))
    assert (first.new, first.updated, first.deleted, first.unchanged) == (6, 0, 1, 0)
    assert first.extra == {"duplicates": 1}
    assert rows(engine, sid)["dup"].metadata_xml == XML % b"new"
    write_page(engine, page(sid, run, [rec("back", deleted=True)]))
    second = write_page(engine, page(sid, run, [
        rec("keep"), rec("edit", body="b"), rec("date", ds="2024-02-02"), rec("gone", deleted=True),
        rec("back", body="alive"), rec("dead", deleted=True), rec("edit", body="b"),
        rec("sets", sets=("x",))]))
    assert (second.new, second.updated, second.deleted, second.unchanged) == (1, 3, 1, 2)
    stored = rows(engine, sid)
    assert stored["gone"].deleted and stored["gone"].metadata_xml is None
    assert not stored["back"].deleted and stored["back"].metadata_xml == XML % b"alive"
    assert stored["sets"].set_specs == ["x"]
    summary = runs.run_summary(engine, run)
    assert (summary.new, summary.updated, summary.deleted, summary.unchanged, summary.pages) == (
        7, 3, 3, 2, 3)
    third = write_page(engine, page(sid, run, [rec("sets", sets=("y",))]))
    assert third.updated == 1  # a set change is a change


def test_write_page_in_pieces_stores_the_same(engine: Engine,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A large page's rows are written a thousand at a time; two at a time here."""
    dc = (b'<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
          b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Kajian %s pengelolaan '
          b"perpustakaan sekolah di daerah</dc:title><dc:creator>Siregar, Budi</dc:creator>"
          b"<dc:date>2020</dc:date></oai_dc:dc>")

    def dc_rec(ident: str, body: str = "a", deleted: bool = False) -> HarvestedRecord:
        return HarvestedRecord(ident, "2024-01-01", deleted, ("s",),
                               None if deleted else dc % body.encode())

    pages = [[dc_rec(f"r{i}") for i in range(7)] + [dc_rec("x", deleted=True)],
             [dc_rec("r1", "b"), dc_rec("r2", deleted=True), dc_rec("r3"), dc_rec("r9"),
              dc_rec("r4", "c"), dc_rec("x", "back")]]
    stored: list[dict[str, tuple[Any, ...]]] = []
    for chunk in (1000, 2):
        monkeypatch.setattr(ingest, "_WRITE_CHUNK", chunk)
        sid = new_source(engine, slug=f"s{chunk}", url=f"https://s{chunk}.example/oai")
        run = runs.start_run(engine, sid, "full", "me")
        for records in pages:
            write_page(engine, page(sid, run, records, seen_pass=run))
        with engine.connect() as conn:
            keys = {ident: sorted(key for (key,) in conn.execute(
                select(RecordKey.key).join(Record, Record.id == RecordKey.record_id)
                .where(Record.identifier == ident, Record.source_id == sid)))
                for ident in rows(engine, sid)}
        stored.append({r.identifier: (r.deleted, r.metadata_xml, r.fields, r.match_keys,
                                      r.work_type, r.content_hash, keys[r.identifier])
                       for r in rows(engine, sid).values()})
        seqs = sorted(r.change_seq for r in rows(engine, sid).values())
        assert len(set(seqs)) == len(seqs)
    assert stored[0] == stored[1]
    assert any(keys for *_, keys in stored[1].values())


def test_change_seq_is_unique_and_follows_the_writes(engine: Engine) -> None:
    sid = new_source(engine)
    run = runs.start_run(engine, sid, "full", "me")
    seen: list[int] = []
    for n in range(4):
        write_page(engine, page(sid, run, [rec(f"r{i}", body=str(n)) for i in range(n, n + 5)]))
        batch = sorted(r.change_seq for r in rows(engine, sid).values())
        seen.append(max(batch))
    stored = rows(engine, sid)
    seqs = [r.change_seq for r in stored.values()]
    assert len(set(seqs)) == len(seqs) and seen == sorted(set(seen))
    assert counter(engine) == 5 + 5 + 5 + 5  # every record written was new or updated
    before = counter(engine)
    write_page(engine, page(sid, run, [rec("r7", body="3")]))  # unchanged: no new number
    assert counter(engine) == before and rows(engine, sid)["r7"].change_seq == max(seqs)


def test_change_times_never_go_back_even_when_the_clock_does(engine: Engine) -> None:
    """The change clock: each write takes max(latest change time, now), so change times
    follow change_seq (the OAI feed turns from/until into change_seq bounds)."""
    sid = new_source(engine)
    run = runs.start_run(engine, sid, "full", "me")
    write_page(engine, page(sid, run, [rec("a")]))
    ahead = utcnow() + timedelta(hours=3)  # a writer whose clock ran ahead
    with engine.begin() as conn:
        conn.execute(update(ChangeCounter).values(changed_at=ahead))
    write_page(engine, page(sid, run, [rec("b"), rec("c")]))
    write_page(engine, page(sid, run, [rec("a", body="new")]))
    stored = sorted(rows(engine, sid).values(), key=lambda r: r.change_seq)
    times = [r.last_changed.replace(tzinfo=None) for r in stored]
    assert [r.identifier for r in stored] == ["b", "c", "a"]
    assert times == sorted(times)
    assert all(t >= ahead.replace(tzinfo=None) for t in times)


def test_tombstones_keep_their_type_and_sets(engine: Engine) -> None:
    dc = (b'<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
          b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>T</dc:title>'
          b"<dc:type>%s</dc:type></oai_dc:dc>")
    sid = new_source(engine)
    run = runs.start_run(engine, sid, "full", "me")
    book = HarvestedRecord("b", "2024-01-01", False, ("s1",), dc % b"Skripsi")
    write_page(engine, page(sid, run, [book, HarvestedRecord("x", "2024-01-01", False, (),
                                                             dc % b"Buku")]))
    assert {i: r.work_type for i, r in rows(engine, sid).items()} == {"b": "Thesis",
                                                                     "x": "Book"}
    write_page(engine, page(sid, run, [rec("b", deleted=True, sets=("s1",))]))
    with session_scope(engine) as session:
        catalog.remove_member(session, "lib")
    after = rows(engine, sid)
    assert after["b"].deleted and after["b"].work_type == "Thesis"
    assert after["b"].set_specs == ["s1"]
    assert after["x"].deleted and after["x"].work_type == "Book"


def test_concurrent_writers_get_distinct_change_seqs(engine: Engine) -> None:
    sources = [new_source(engine, f"m{i}", f"https://m{i}.example/oai") for i in range(4)]
    failures: list[BaseException] = []

    def harvest(sid: int) -> None:
        try:
            run = runs.start_run(engine, sid, "full", runs.lease_owner_id())
            for n in range(8):
                write_page(engine, page(sid, run, [rec(f"r{i}", body=str(n))
                                                   for i in range(n * 10, n * 10 + 20)]))
        except BaseException as exc:  # collected for the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=harvest, args=(sid,)) for sid in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with engine.connect() as conn:
        seqs = list(conn.scalars(select(Record.change_seq)))
        writes = conn.scalar(select(func.sum(HarvestRun.new + HarvestRun.updated)))
    assert len(seqs) == 4 * 90 and len(set(seqs)) == len(seqs)
    assert counter(engine) == writes == 4 * (20 + 7 * 20)


def test_page_with_a_bad_record_changes_nothing(engine: Engine) -> None:
    sid = new_source(engine)
    run = runs.start_run(engine, sid, "full", "me")
    write_page(engine, page(sid, run, [rec("a")], checkpoint={"token": "t1"}))
    broken = HarvestedRecord(cast(str, None), "2024", False, (), b"<x/>")
    with pytest.raises(StoreError):
        write_page(engine, page(sid, run, [rec("b"), rec("a", body="changed"), broken],
                                checkpoint={"token": "t2"}, page_bytes=99))
    assert runs.get_source_state(engine, sid).checkpoint == {"token": "t1"}
    stored = rows(engine, sid)
    assert list(stored) == ["a"] and stored["a"].metadata_xml == XML % b"a"
    assert runs.run_summary(engine, run).pages == 1
    write_page(engine, page(sid, run, [], checkpoint=None))
    with engine.connect() as conn:  # None clears it as SQL NULL
        assert conn.scalar(select(func.count()).select_from(Source)
                           .where(Source.checkpoint.is_(None))) == 1


def test_write_page_run_bookkeeping(engine: Engine) -> None:
    sid = new_source(engine)
    run = runs.start_run(engine, sid, "full", "me")
    notices = [Notice("repaired-xml", f"fixed {i}", "\x0b") for i in range(150)]
    write_page(engine, page(sid, run, [rec("a")], page_bytes=10, notices=notices,
                            response_date="2024-05-01T00:00:00Z", complete_list_size=300))
    write_page(engine, page(sid, run, [rec("b")], page_bytes=5, notices=notices,
                            response_date="2024-05-02T00:00:00Z"))
    runs.finish_run(engine, run, "partial", errors=[Notice("fetch", "timeout")],
                    warnings=[Notice("late", "one more")])
    summary = runs.run_summary(engine, run)
    assert summary.status == "partial" and summary.finished_at is not None
    assert summary.bytes == 15 and summary.pages == 2 and summary.complete_list_size == 300
    assert summary.response_date == "2024-05-01T00:00:00Z"
    assert len(summary.warnings) == 201
    assert summary.warnings[0] == {"code": "repaired-xml", "message": "fixed 0", "sample": "\x0b"}
    assert summary.warnings[-1]["code"] == "more-notices" and summary.warnings[-1]["count"] == 101
    assert summary.errors == [{"code": "fetch", "message": "timeout"}]
    assert summary.started_at.tzinfo is not None
    with pytest.raises(StoreError, match="unknown harvest run"):
        write_page(engine, page(sid, run + 1000, [rec("c")]))


# -- reconcile ------------------------------------------------------------------------


def test_reconcile_tombstones_what_a_full_pass_missed(engine: Engine) -> None:
    sid = new_source(engine)
    run = runs.start_run(engine, sid, "full", "me")
    write_page(engine, page(sid, run, [rec(f"r{i}") for i in range(10)], seen_pass=1))
    run2 = runs.start_run(engine, sid, "full", "me")
    stats = write_page(engine, page(sid, run2, [rec(f"r{i}") for i in range(8)], seen_pass=2))
    assert stats.unchanged == 8
    before = counter(engine)
    result = reconcile(engine, sid, run2, 2, 0.3)
    assert (result.vanished, result.live, result.applied) == (2, 10, True)
    stored = rows(engine, sid)
    assert [k for k, r in stored.items() if r.deleted] == ["r8", "r9"]
    assert stored["r9"].change_seq == before + 2 and stored["r9"].metadata_xml is None
    assert runs.run_summary(engine, run2).deleted == 2
    again = reconcile(engine, sid, run2, 2, 0.3)
    assert (again.vanished, again.applied) == (0, True)


def test_reconcile_refuses_to_wipe_a_source(engine: Engine) -> None:
    sid = new_source(engine)
    run = runs.start_run(engine, sid, "full", "me")
    write_page(engine, page(sid, run, [rec(f"r{i}") for i in range(100)], seen_pass=1))
    write_page(engine, page(sid, run, [rec(f"r{i}") for i in range(55)], seen_pass=2))
    before = counter(engine)
    result = reconcile(engine, sid, run, 2, 0.3)
    assert not result.applied and (result.vanished, result.live) == (45, 100)
    assert result.message == ("refused: 45 of 100 records (45%) would vanish, "
                              "more than the 30% allowed")
    assert counter(engine) == before and not any(r.deleted for r in rows(engine, sid).values())


# -- runs, source state, leases -------------------------------------------------------


def test_source_state_round_trip(engine: Engine) -> None:
    sid = new_source(engine)
    runs.save_identify(engine, sid, repository_name="Repo", granularity="day",
                       earliest_datestamp="2001-01-01", deleted_record="persistent",
                       identify={"admin_emails": ["a@b.example"]})
    pause = utcnow() + timedelta(hours=1)
    runs.set_flags(engine, sid, use_day_granularity=True, not_before=pause)
    runs.set_flags(engine, sid, date_filter=False)
    state = runs.get_source_state(engine, sid)
    assert (state.member_slug, state.granularity, state.use_day_granularity,
            state.date_filter, state.every_seconds) == ("lib", "day", True, False, 86400)
    assert state.not_before is not None and abs(state.not_before - pause) < timedelta(seconds=1)
    runs.set_flags(engine, sid, not_before=None)
    runs.complete_source(engine, sid, "2024-05-01T00:00:00Z")
    state = runs.get_source_state(engine, sid)
    assert state.not_before is None and state.cursor_from == "2024-05-01T00:00:00Z"
    assert state.checkpoint is None
    with session_scope(engine) as s:
        assert catalog.list_sources(s)[0].last_success_at is not None
    with pytest.raises(UserInputError, match="unknown source"):
        runs.get_source_state(engine, sid + 99)


def test_leases(engine: Engine) -> None:
    sid = new_source(engine)
    me, other = runs.lease_owner_id(), runs.lease_owner_id()
    assert runs.acquire_lease(engine, sid, me, 60)
    assert runs.acquire_lease(engine, sid, me, 60)  # already ours
    assert not runs.acquire_lease(engine, sid, other, 60)
    assert not runs.renew_lease(engine, sid, other, 60)
    assert runs.renew_lease(engine, sid, me, 60)
    runs.release_lease(engine, sid, other)  # not the holder: no effect
    assert not runs.acquire_lease(engine, sid, other, 60)
    runs.release_lease(engine, sid, me)
    assert runs.acquire_lease(engine, sid, other, -1)  # immediately expired
    assert runs.acquire_lease(engine, sid, me, 60)


def test_lease_of_a_dead_process_is_taken_at_once(engine: Engine) -> None:
    sid = new_source(engine)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = f"{socket.gethostname()}:{child.pid}:deadbeef"
    assert runs.acquire_lease(engine, sid, dead, 3600)
    remote = f"elsewhere.example:{child.pid}:deadbeef"
    me = runs.lease_owner_id()
    assert runs.acquire_lease(engine, sid, me, 3600)
    assert runs.acquire_lease(engine, sid, remote, -1) is False
    assert runs.owner_is_dead(dead) and not runs.owner_is_dead(me)
    assert not runs.owner_is_dead(remote) and not runs.owner_is_dead("garbage")


def test_interrupted_run_is_found_once(engine: Engine) -> None:
    sid = new_source(engine)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = f"{socket.gethostname()}:{child.pid}:cafe0001"
    assert runs.acquire_lease(engine, sid, dead, 3600)
    run = runs.start_run(engine, sid, "full", dead)
    live_owner = runs.lease_owner_id()
    other = new_source(engine, "two", "https://two.example/oai")
    assert runs.acquire_lease(engine, other, live_owner, 3600)
    runs.start_run(engine, other, "full", live_owner)
    assert runs.interrupted_run(engine, other) is None  # its owner is alive and leased
    me = runs.lease_owner_id()
    assert runs.acquire_lease(engine, sid, me, 60)
    assert runs.interrupted_run(engine, sid) == run
    assert runs.run_summary(engine, run).status == "interrupted"
    assert runs.interrupted_run(engine, sid) is None


# -- idempotency ----------------------------------------------------------------------

_records = st.builds(
    rec, st.sampled_from(["a", "b", "c", "d", "e"]), st.sampled_from(["2024-01-01", "2024-02-01"]),
    st.booleans(), st.sampled_from(["x", "y"]), st.sampled_from([(), ("s1",), ("s1", "s2")]))


@hsettings(max_examples=25, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pages=st.lists(st.lists(_records, max_size=6), min_size=1, max_size=5))
def test_replaying_pages_gives_the_same_store(engine: Engine,
                                              pages: list[list[HarvestedRecord]]) -> None:
    sid = new_source(engine, "hyp", f"https://hyp.example/{time.monotonic_ns()}")
    run = runs.start_run(engine, sid, "full", "me")

    def snapshot() -> dict[str, tuple[Any, ...]]:
        return {k: (r.deleted, r.datestamp, r.set_specs, r.metadata_xml, r.content_hash)
                for k, r in rows(engine, sid).items()}

    for records in pages:
        write_page(engine, page(sid, run, records))
    once = snapshot()
    for records in pages:
        write_page(engine, page(sid, run, records))
    assert snapshot() == once
    expected: dict[str, HarvestedRecord] = {}
    for records in pages:
        for r in records:
            expected[r.identifier] = r
    # Live records hold their last version; tombstones keep no metadata (and keep the
    # datestamp of the deletion first seen, since a repeated deletion changes nothing).
    assert {k: v[:4] if not v[0] else (True, None) for k, v in once.items()} == {
        k: (False, r.datestamp, list(r.set_specs), r.metadata_xml) if not r.deleted
        else (True, None) for k, r in expected.items()}
    assert all(v[3] is None for v in once.values() if v[0])
    seqs = [r.change_seq for r in rows(engine, sid).values()]
    assert len(seqs) == len(set(seqs))
    before = counter(engine)
    write_page(engine, page(sid, run, list(expected.values())))
    assert counter(engine) == before  # the final state again: nothing changes
