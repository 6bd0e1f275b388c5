"""The member's own sets: the setSpecs its records use, named from its ListSets once a day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from aggregator.config import Settings
from aggregator.demo.oaiserver import OAIServer, Repository, Request, Response
from aggregator.harvest.client import OAIClient
from aggregator.harvest.sets import list_set_names
from aggregator.store import member_sets
from aggregator.store.models import Source
from aggregator.store.runs import as_utc
from harvesting import Sleeps, codes, make_records, register, run, source_row

OAI = "http://www.openarchives.org/OAI/2.0/"
NAMES = {"fak": "Fakultas", "fak:teknik": "Fakultas Teknik", "fak:teknik:sipil": "Teknik Sipil",
         "fak:hukum": "Fakultas Hukum", "perpus": "Perpustakaan", "arsip": "Arsip Lama",
         "unused": "Tidak dipakai"}


def oai(body: str, verb: str = "ListSets") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="{OAI}">'
            f"<responseDate>2024-05-01T10:00:00Z</responseDate>"
            f'<request verb="{verb}">http://x/oai</request>{body}</OAI-PMH>').encode()


def sets_page(sets: dict[str, str | None], token: str = "") -> bytes:
    rows = "".join(f"<set><setSpec>{spec}</setSpec>"
                   + (f"<setName>{name}</setName>" if name is not None else "") + "</set>"
                   for spec, name in sets.items())
    tail = f"<resumptionToken>{token}</resumptionToken>" if token else ""
    return oai(f"<ListSets>{rows}{tail}</ListSets>")


def list_sets_quirk(pages: dict[str, bytes]) -> Callable[[Request], Response | None]:
    """Answer ListSets from ``pages`` keyed by resumption token ("" for the first page)."""
    def quirk(request: Request) -> Response | None:
        if request.params.get("verb") != "ListSets":
            return None
        return Response(200, pages[request.params.get("resumptionToken", "")])
    return quirk


def member_repository() -> Repository:
    """Records in hierarchical sets, one a tombstone, two in no set."""
    records = make_records(6)
    records[0].sets = ("fak:teknik:sipil",)
    records[1].sets = ("fak:hukum", "perpus")
    records[2].sets = ("perpus",)
    records[3].sets = ("arsip",)
    records[3].deleted = True
    return Repository(records, sets=NAMES)


def asked(server: OAIServer) -> int:
    return sum(1 for r in server.requests if r.get("verb") == "ListSets")


def age_check(engine: Engine, source: int, by: timedelta) -> None:
    """Pretend ListSets was last asked ``by`` earlier than it was."""
    checked = source_row(engine, source).sets_checked_at
    assert checked is not None
    with Session(engine) as session, session.begin():
        session.execute(update(Source).where(Source.id == source)
                        .values(sets_checked_at=checked - by))


USED = {spec: NAMES[spec] for spec in
        ("fak", "fak:teknik", "fak:teknik:sipil", "fak:hukum", "perpus", "arsip")}


def test_sets_in_use_are_named_from_list_sets_at_most_once_a_day(
        engine: Engine, settings: Settings) -> None:
    repo = member_repository()
    with OAIServer(repo) as server:
        source = register(engine, server.base_url)
        first = run(engine, settings, source)
        assert first.status == "ok" and not first.warnings, first.as_json()
        # live and deleted records' specs and their parents; not the unused set
        assert member_sets.set_names(engine, source) == USED
        assert asked(server) == 1
        checked = source_row(engine, source).sets_checked_at
        assert checked is not None

        # Within the day: no ListSets; a new spec is unknown, a renamed one keeps its name.
        repo.sets["perpus"] = "Perpustakaan Pusat"
        repo.sets["baru"] = "Koleksi Baru"
        repo.update("oai:test.example.org:2", sets=("baru",))
        second = run(engine, settings, source)
        assert (second.status, second.updated) == ("ok", 1)
        assert asked(server) == 1
        assert member_sets.set_names(engine, source) == {**USED, "baru": None}
        assert source_row(engine, source).sets_checked_at == checked

        # A day later: asked again, the names follow the member's.
        age_check(engine, source, timedelta(days=1))
        third = run(engine, settings, source)
        assert third.status == "ok" and asked(server) == 2
        assert member_sets.set_names(engine, source) == {
            **USED, "perpus": "Perpustakaan Pusat", "baru": "Koleksi Baru"}


def test_list_sets_is_followed_through_its_tokens(engine: Engine, settings: Settings) -> None:
    repo = member_repository()
    with OAIServer(repo) as server:
        server.quirk = list_sets_quirk({
            "": sets_page({"fak": "Fakultas", "fak:teknik": None}, token="p2"),
            "p2": sets_page({"fak:hukum": "Fakultas Hukum", "perpus": "Perpustakaan"},
                            token="p3"),
            "p3": sets_page({"arsip": "Arsip Lama"}),
        })
        source = register(engine, server.base_url)
        result = run(engine, settings, source)
    assert result.status == "ok" and not result.warnings, result.as_json()
    # a spec the whole list does not name (or names without setName) has no name
    assert member_sets.set_names(engine, source) == {**USED, "fak:teknik": None,
                                                     "fak:teknik:sipil": None}


def test_no_set_hierarchy_leaves_every_name_unknown(engine: Engine, settings: Settings) -> None:
    with OAIServer(member_repository()) as server:
        server.quirk = list_sets_quirk({"": oai(
            '<error code="noSetHierarchy">This repository does not support sets.</error>')})
        source = register(engine, server.base_url)
        result = run(engine, settings, source)
        assert (result.status, result.warnings) == ("ok", []), result.as_json()
        assert member_sets.set_names(engine, source) == dict.fromkeys(USED)
        assert source_row(engine, source).sets_checked_at is not None
        run(engine, settings, source)
        assert asked(server) == 1


def test_a_failing_list_sets_warns_and_keeps_the_names(engine: Engine,
                                                       settings: Settings) -> None:
    repo = member_repository()
    with OAIServer(repo) as server:
        source = register(engine, server.base_url)
        assert run(engine, settings, source).status == "ok"
        checked = source_row(engine, source).sets_checked_at
        assert checked is not None
        age_check(engine, source, timedelta(days=2))

        def broken(request: Request) -> Response | None:
            if request.params.get("verb") == "ListSets":
                return Response(500, b"Internal Server Error\n", content_type="text/plain")
            return None

        server.quirk = broken
        repo.update("oai:test.example.org:4", metadata={"title": ["Edisi kedua"]})
        second = run(engine, settings, source)
        assert (second.status, second.updated) == ("ok", 1), second.as_json()
        assert codes(second.warnings) == {"list-sets"}
        assert "HTTP 500" in second.warnings[0]["message"]
        assert member_sets.set_names(engine, source) == USED
        after = asked(server)
        assert after == 1 + 1 + settings.max_retries  # the client's own retries
        later = source_row(engine, source).sets_checked_at
        assert later is not None and later > checked  # not asked again for a day

        third = run(engine, settings, source)
        assert third.status == "ok" and "list-sets" not in codes(third.warnings)
        assert asked(server) == after


def test_a_source_without_sets_never_asks(engine: Engine, settings: Settings) -> None:
    with OAIServer(Repository(make_records(3))) as server:
        source = register(engine, server.base_url)
        assert run(engine, settings, source).status == "ok"
        assert asked(server) == 0
    assert member_sets.set_names(engine, source) == {}
    assert source_row(engine, source).sets_checked_at is None


def test_list_sets_leaves_the_host_alone_when_the_lease_was_taken(
        engine: Engine, settings: Settings) -> None:
    with OAIServer(member_repository()) as server:
        source = register(engine, server.base_url)

        def take_over(request: Request) -> Response | None:
            if request.params.get("verb") == "ListRecords":  # another worker takes over
                with Session(engine) as session, session.begin():
                    session.execute(update(Source).where(Source.id == source).values(
                        lease_owner="elsewhere:1:x",
                        lease_until=datetime.now(UTC) + timedelta(hours=1)))
            return None

        server.quirk = take_over
        result = run(engine, settings, source)
        assert result.status == "ok", result.as_json()
        assert asked(server) == 0
    assert member_sets.set_names(engine, source) == dict.fromkeys(USED)
    assert source_row(engine, source).sets_checked_at is None


# --- the pieces ------------------------------------------------------------------------


def test_list_set_names_guards_against_loops_and_long_lists(settings: Settings) -> None:
    looping = {"": sets_page({"a": "A"}, token="t1"), "t1": sets_page({"b": "B"}, token="t1")}
    endless = {"": sets_page({"a": "A"}, token="t1"), "t1": sets_page({"b": "B"}, token="t2"),
               "t2": sets_page({"c": "C"}, token="t3")}
    with (OAIServer(Repository([])) as server,
          OAIClient(server.base_url, settings, sleep=Sleeps([])) as client):
        server.quirk = list_sets_quirk(looping)
        looped = list_set_names(client)
        server.quirk = list_sets_quirk(endless)
        capped = list_set_names(client, max_pages=2)
        server.quirk = list_sets_quirk({"": b"<html>not here</html>"})
        failed = list_set_names(client)
    assert (looped.names, looped.complete) == ({"a": "A", "b": "B"}, False)
    assert (capped.names, capped.complete) == ({"a": "A", "b": "B"}, False)
    assert "after 2 pages" in capped.notices[0].message
    assert (failed.names, failed.complete) == ({}, False)
    assert [n.code for n in looped.notices + capped.notices + failed.notices] == ["list-sets"] * 3


@pytest.mark.parametrize(("specs", "expected"), [
    (["a:b:c"], {"a", "a:b", "a:b:c"}),
    (["3:5", "3:7", "9"], {"3", "3:5", "3:7", "9"}),
    (["a::b", ":x"], {"a", "a::b", ":x"}),
])
def test_parents_of_hierarchical_specs(specs: list[str], expected: set[str]) -> None:
    assert member_sets.with_parents(specs) == expected


def test_saving_names_merges_what_is_known(engine: Engine, settings: Settings) -> None:
    source = register(engine, "http://lib.example.org/oai")
    when = datetime(2024, 5, 1, tzinfo=UTC)
    save = member_sets.save_set_names
    assert save(engine, source, {"a", "b"}, {"a": "A", "b": "B"}, complete=True,
                checked_at=when) == {"a": "A", "b": "B"}
    # not asked (or failed): names kept, a new spec unknown, an unused one dropped
    assert save(engine, source, {"a", "c"}) == {"a": "A", "c": None}
    # cut short: what it listed wins, the rest keeps its name
    assert save(engine, source, {"a", "c"}, {"c": "C"}) == {"a": "A", "c": "C"}
    # complete: it decides every name
    assert save(engine, source, {"a", "c"}, {"c": "C2"}, complete=True) == {"a": None,
                                                                           "c": "C2"}
    assert member_sets.set_names(engine, source) == {"a": None, "c": "C2"}
    assert as_utc(source_row(engine, source).sets_checked_at) == when
