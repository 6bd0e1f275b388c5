"""The repository manager's pages under /admin: a source's page and forms, a member's page,
who may see them, CSRF, and ``aggregator members edit``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from admin_site import ALICE, BOB, AdminSite, admin_site, csrf_token
from aggregator.cli import main
from aggregator.config import load_settings
from aggregator.store import catalog, schedule, sources
from aggregator.store.db import make_engine
from aggregator.store.models import HarvestRun, Member, Record, Source, utcnow
from portal import cls, html, one, text_of, texts

RECONCILE = timedelta(days=7)
# store/users.py calls Result.tuples(), deprecated in SQLAlchemy 2.1 (reported, not ours)
pytestmark = pytest.mark.filterwarnings(
    "ignore:The Result.tuples:sqlalchemy.exc.SADeprecationWarning")


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminSite]:
    with admin_site(tmp_path_factory.mktemp("admin")) as built:
        yield built


def source_id(engine: Engine, slug: str) -> int:
    with Session(engine) as session:
        return session.scalars(select(Source.id).join(Member).where(Member.slug == slug)).one()


def source_row(engine: Engine, slug: str) -> Source:
    with Session(engine, expire_on_commit=False) as session:
        return session.scalars(select(Source).join(Member).where(Member.slug == slug)).one()


def claimable(engine: Engine) -> set[int]:
    """The sources a scheduler would claim now (their leases are given back at once)."""
    claims = schedule.claim_due(engine, limit=10, lease_seconds=60, reconcile_every=RECONCILE)
    for claim in claims:
        schedule.release(engine, claim)
    return {claim.source_id for claim in claims}


def flashes(client: FlaskClient, path: str) -> list[str]:
    return texts(html(client.get(path)), f"//p[{cls('flash')}]")


def test_a_manager_sees_the_source_with_runs_notices_and_chart(admin: AdminSite) -> None:
    engine = admin.site.engine
    sid = source_id(engine, "perpus-a")
    with Session(engine) as session, session.begin():
        session.add(HarvestRun(
            source_id=sid, mode="incremental", status="partial", owner="test",
            started_at=utcnow() - timedelta(minutes=3), finished_at=utcnow(),
            warnings=[{"code": "repaired-xml", "message": "a control character was removed",
                       "sample": "Judul\\x0b buku"}],
            errors=[{"code": "http", "message": "HTTP 500 from the server",
                     "url": "http://127.0.0.1:1/oai?verb=ListRecords"}]))
    client = admin.signed_in(ALICE)
    page = client.get(f"/admin/sources/{sid}")
    assert page.status_code == 200
    doc = html(page)
    assert text_of(one(doc, "//dd[@class='base-url']")) == admin.servers["perpus-a"].base_url
    assert text_of(one(doc, "//dd[@class='prefix']")) == "oai_dc"
    assert text_of(one(doc, "//dd[@class='status']")) == "active"
    assert text_of(one(doc, "//dd[@class='records']")) == "12"
    rows = doc.xpath(f"//table[{cls('runs')}]/tbody/tr[{cls('run')}]")
    assert len(rows) == 2  # the harvest, then the run added above (shown first)
    assert "partial" in text_of(rows[0]) and "ok" in text_of(rows[1])
    assert "12" in texts(rows[1], "./td")  # new records of the first harvest
    notices = texts(doc, f"//li[{cls('notice')}]")
    assert any("a control character was removed" in n and "Judul\\x0b buku" in n
               for n in notices)
    assert any("HTTP 500" in n and "verb=ListRecords" in n for n in notices)
    assert doc.xpath("//figure[@class='chart']//svg//rect")  # this month's records
    assert one(doc, "//figure[@class='chart']//title").text.endswith(": 12")


def test_another_members_manager_gets_404_everywhere(admin: AdminSite) -> None:
    engine = admin.site.engine
    sid = source_id(engine, "perpus-a")
    before = source_row(engine, "perpus-a")
    client = admin.signed_in(BOB)
    token = csrf_token(client, "/admin/members/perpus-b")
    assert client.get(f"/admin/sources/{sid}").status_code == 404
    assert client.get("/admin/members/perpus-a").status_code == 404
    assert client.get("/admin/members/nobody").status_code == 404
    assert client.get("/admin/sources/9999").status_code == 404
    for action in ("harvest", "pause", "resume", "edit"):
        answer = client.post(f"/admin/sources/{sid}/{action}",
                             data={"csrf_token": token, "prefix": "oai_dc", "every": "1h"})
        assert answer.status_code == 404, action
    answer = client.post("/admin/members/perpus-a", data={"csrf_token": token, "name": "X"})
    assert answer.status_code == 404
    after = source_row(engine, "perpus-a")
    assert (after.status, after.every_seconds, after.next_run_at) == (
        before.status, before.every_seconds, before.next_run_at)
    assert catalog_name(engine, "perpus-a") == "Perpustakaan A"
    # their own pages are there
    assert client.get(f"/admin/sources/{source_id(engine, 'perpus-b')}").status_code == 200


def test_the_coordinator_sees_every_members_pages(admin: AdminSite) -> None:
    client = admin.signed_in("chief@network.example.org")
    for slug in ("perpus-a", "perpus-b"):
        assert client.get(f"/admin/members/{slug}").status_code == 200
        sid = source_id(admin.site.engine, slug)
        assert client.get(f"/admin/sources/{sid}").status_code == 200
        assert client.get(f"/admin/sources/{sid}?page=abc").status_code == 200
        assert client.get(f"/admin/sources/{sid}?page=7").status_code == 404


def test_anonymous_visitors_go_to_login(admin: AdminSite) -> None:
    sid = source_id(admin.site.engine, "perpus-a")
    answer = admin.site.client().get(f"/admin/sources/{sid}")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def catalog_name(engine: Engine, slug: str) -> str:
    with Session(engine) as session:
        return catalog.get_member(session, slug).name


def test_harvest_now_makes_the_source_due_without_harvesting(admin: AdminSite) -> None:
    engine = admin.site.engine
    sid = source_id(engine, "perpus-a")
    with Session(engine) as session, session.begin():  # backing off after failures
        session.execute(update(Source).where(Source.id == sid).values(
            next_run_at=utcnow() + timedelta(hours=5), not_before=utcnow() + timedelta(hours=1)))
    assert sid not in claimable(engine)
    server = admin.servers["perpus-a"]
    asked, runs = len(server.requests), run_count(engine, sid)
    client = admin.signed_in(ALICE)
    answer = client.post(f"/admin/sources/{sid}/harvest",
                         data={"csrf_token": csrf_token(client, f"/admin/sources/{sid}")})
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(f"/admin/sources/{sid}")
    row = source_row(engine, "perpus-a")
    assert row.not_before is None
    assert row.next_run_at is not None
    assert abs(row.next_run_at.replace(tzinfo=UTC) - utcnow()) < timedelta(minutes=1)
    assert len(server.requests) == asked and run_count(engine, sid) == runs
    assert "The source is due now: a scheduler will harvest it shortly." in flashes(
        client, f"/admin/sources/{sid}")
    assert sid in claimable(engine)


def run_count(engine: Engine, sid: int) -> int:
    with Session(engine) as session:
        return len(session.scalars(select(HarvestRun.id).where(HarvestRun.source_id == sid))
                   .all())


def test_pause_and_resume_change_what_the_scheduler_claims(admin: AdminSite) -> None:
    engine = admin.site.engine
    sid = source_id(engine, "perpus-a")
    with Session(engine) as session, session.begin():
        session.execute(update(Source).where(Source.id == sid).values(
            next_run_at=utcnow() - timedelta(minutes=1), not_before=None))
    client = admin.signed_in(ALICE)
    token = csrf_token(client, f"/admin/sources/{sid}")
    assert client.post(f"/admin/sources/{sid}/pause",
                       data={"csrf_token": token}).status_code == 302
    assert source_row(engine, "perpus-a").status == "paused"
    assert sid not in claimable(engine)
    doc = html(client.get(f"/admin/sources/{sid}"))
    assert text_of(one(doc, "//dd[@class='status']")) == "paused"
    harvest = client.post(f"/admin/sources/{sid}/harvest", data={"csrf_token": token})
    assert harvest.status_code == 302
    assert "A paused source is not harvested: resume it first." in flashes(
        client, f"/admin/sources/{sid}")
    assert sid not in claimable(engine)
    assert client.post(f"/admin/sources/{sid}/resume",
                       data={"csrf_token": token}).status_code == 302
    assert source_row(engine, "perpus-a").status == "active"
    assert sid in claimable(engine)


def test_edit_checks_the_endpoint_before_saving(admin: AdminSite) -> None:
    engine = admin.site.engine
    sid = source_id(engine, "perpus-a")
    client = admin.signed_in(ALICE)
    path = f"/admin/sources/{sid}"
    token = csrf_token(client, path)
    server = admin.servers["perpus-a"]
    for form, needle in (
            ({"prefix": "marcxml", "set": "", "every": "6h"}, "offers no prefix marcxml"),
            ({"prefix": "oai_dc", "set": "majalah", "every": "6h"}, "does not list the set"),
            ({"prefix": "oai dc", "set": "", "every": "6h"}, "bad metadata prefix"),
            ({"prefix": "oai_dc", "set": "", "every": "sometimes"}, "bad interval")):
        asked = len(server.requests)
        answer = client.post(f"{path}/edit", data={"csrf_token": token, **form})
        assert answer.status_code == 302
        said = flashes(client, path)
        assert any(needle in text for text in said), (form, said)
        row = source_row(engine, "perpus-a")
        assert (row.metadata_prefix, row.set_spec, row.every_seconds) == ("oai_dc", "", 86400)
        if form["prefix"] == "marcxml":
            assert [r["verb"] for r in server.requests[asked:]] == ["ListMetadataFormats"]
    answer = client.post(f"{path}/edit", data={"csrf_token": token, "prefix": "oai_dc",
                                                "set": "buku", "every": "6h"})
    assert answer.status_code == 302
    assert "The source's settings are saved." in flashes(client, path)
    row = source_row(engine, "perpus-a")
    assert (row.metadata_prefix, row.set_spec, row.every_seconds) == ("oai_dc", "buku", 21600)
    assert row.cursor_from is None and row.checkpoint is None  # the new set from the start
    doc = html(client.get(path))
    assert text_of(one(doc, "//dd[@class='every']")) == "6h"
    # back as it was, for the other tests
    client.post(f"{path}/edit", data={"csrf_token": token, "prefix": "oai_dc", "set": "",
                                      "every": "1d"})
    assert source_row(engine, "perpus-a").set_spec == ""


def test_member_page_lists_sources_and_saves_details(admin: AdminSite) -> None:
    engine = admin.site.engine
    client = admin.signed_in(ALICE)
    path = "/admin/members/perpus-a"
    doc = html(client.get(path))
    links = doc.xpath(f"//table[{cls('sources')}]//a/@href")
    assert links == [f"/admin/sources/{source_id(engine, 'perpus-a')}"]
    assert texts(doc, f"//table[{cls('sources')}]/tbody/tr/td")[-1] in ("ok", "partial")
    token = csrf_token(client, path)
    good = {"name": "Perpustakaan Daerah A", "homepage": "https://a.example.org/",
            "city": "Sukamaju", "province": "Jawa Barat", "kind": "public",
            "contact": "pustakawan@a.example.org", "logo": "https://a.example.org/logo.png"}
    for field, bad in (("homepage", "javascript:alert(1)"), ("logo", "ftp://a.example.org/x"),
                       ("kind", "zoo"), ("name", " "), ("city", "x" * 201)):
        answer = client.post(path, data={"csrf_token": token, **good, field: bad})
        assert answer.status_code == 400, field
        assert html(answer).xpath(f"//p[{cls('flash')} and {cls('error')}]")
        assert catalog_name(engine, "perpus-a") == "Perpustakaan A"
    answer = client.post(path, data={"csrf_token": token, **good})
    assert answer.status_code == 302
    with Session(engine) as session:
        member = catalog.get_member(session, "perpus-a")
        assert {key: getattr(member, key) for key in good} == good
    with Session(engine) as session, session.begin():
        catalog.edit_member(session, "perpus-a", name="Perpustakaan A", homepage="", city="",
                            province="", kind="", contact="", logo="")


def test_posts_without_the_csrf_token_are_refused(admin: AdminSite) -> None:
    engine = admin.site.engine
    sid = source_id(engine, "perpus-a")
    before = source_row(engine, "perpus-a")
    client = admin.signed_in(ALICE)
    for action, form in (("harvest", {}), ("pause", {}), ("resume", {}),
                         ("edit", {"prefix": "oai_dc", "set": "buku", "every": "1h"})):
        answer = client.post(f"/admin/sources/{sid}/{action}", data=form)
        assert answer.status_code == 400, action
    answer = client.post("/admin/members/perpus-a", data={"name": "Renamed"})
    assert answer.status_code == 400
    after = source_row(engine, "perpus-a")
    assert (after.status, after.set_spec, after.every_seconds, after.next_run_at,
            after.not_before) == (before.status, before.set_spec, before.every_seconds,
                                  before.next_run_at, before.not_before)
    assert catalog_name(engine, "perpus-a") == "Perpustakaan A"


# -- the store on SQLite and PostgreSQL ---------------------------------------------------


def add_record(session: Session, sid: int, n: int, first_seen: datetime,
               deleted: bool = False) -> None:
    session.add(Record(source_id=sid, identifier=f"oai:x:{n}", metadata_prefix="oai_dc",
                       content_hash="0" * 40, change_seq=n, first_seen=first_seen,
                       last_changed=first_seen, deleted=deleted, set_specs=[]))


def test_store_functions_on_each_store(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        catalog.add_member(session, "lib", "Library")
        sid = catalog.add_source(session, "lib", "http://127.0.0.1:9/oai").id
        for n, when in enumerate([datetime(2025, 11, 3, tzinfo=UTC),
                                  datetime(2025, 11, 30, 23, 59, tzinfo=UTC),
                                  datetime(2026, 2, 1, tzinfo=UTC)]):
            add_record(session, sid, n + 1, when)
        add_record(session, sid, 9, datetime(2025, 12, 5, tzinfo=UTC), deleted=True)
    with Session(engine) as session:
        assert sources.records_by_month(session, sid) == [
            ("2025-11", 2), ("2025-12", 0), ("2026-01", 0), ("2026-02", 1)]
        assert sources.records_by_month(session, sid, months=2) == [("2026-01", 0),
                                                                    ("2026-02", 1)]
        found = sources.get_source(session, sid)
        assert found is not None and found.records == 3 and found.member_slug == "lib"
    with Session(engine) as session, session.begin():
        session.execute(update(Source).where(Source.id == sid).values(
            next_run_at=utcnow() + timedelta(days=1), not_before=utcnow() + timedelta(hours=2)))
    assert claimable(engine) == set()
    with Session(engine) as session, session.begin():
        sources.harvest_now(session, sid)
    assert claimable(engine) == {sid}
    with Session(engine) as session, session.begin():
        assert sources.set_paused(session, sid, True)
        assert not sources.set_paused(session, sid, True)
    assert claimable(engine) == set()
    with Session(engine) as session, session.begin():
        sources.set_paused(session, sid, False)
        change = sources.check_edit(session, sid, "marcxml", " s1 ", "2h")
        sources.edit_source(session, sid, change)
    with Session(engine) as session:
        found = sources.get_source(session, sid)
        assert found is not None
        assert (found.metadata_prefix, found.set_spec, found.every) == ("marcxml", "s1", "2h")


# -- the command line -----------------------------------------------------------------------


def test_members_edit_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    for key, value in {"AGGREGATOR_DATA_DIR": str(tmp_path / "data"),
                       "AGGREGATOR_DATABASE_URL": ""}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AGGREGATOR_CONFIG", raising=False)

    def cli(*args: str) -> tuple[int, str]:
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out + err

    assert cli("init")[0] == 0
    assert cli("members", "add", "lib", "--name", "Library", "--homepage",
               "https://lib.example.org/")[0] == 0
    code, said = cli("members", "edit", "lib", "--name", "Perpustakaan Lib", "--city",
                     "Bogor", "--kind", "university", "--homepage", "")
    assert code == 0 and "updated member lib" in said
    code, said = cli("members", "edit", "lib", "--logo", "file:///etc/passwd")
    assert code == 2 and said.startswith("error:") and "http" in said
    code, said = cli("members", "edit", "lib", "--kind", "zoo")
    assert code == 2 and "kind" in said
    assert cli("members", "edit", "nobody", "--name", "X")[0] == 2
    assert cli("members", "edit", "lib")[0] == 2
    engine = make_engine(load_settings())
    try:
        with Session(engine) as session:
            member = catalog.get_member(session, "lib")
            assert (member.name, member.city, member.kind, member.homepage, member.logo) == (
                "Perpustakaan Lib", "Bogor", "university", None, None)
    finally:
        engine.dispose()
