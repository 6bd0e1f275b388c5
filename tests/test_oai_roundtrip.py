"""The feed harvested over real HTTP by real harvesters: our own pipeline, sickle and
the oaipmh client each get every record of the store exactly once, with the same
datestamps, deletions, sets and metadata; then exactly what changed, from the
responseDate of their previous run's first request; and a list stays the list of its
first request while records arrive."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import oaipmh.client
import pytest
from sickle import Sickle
from sqlalchemy import Engine, select

from aggregator.config import Settings, load_settings
from aggregator.harvest.client import OAIClient
from aggregator.oai import feed as feed_module
from aggregator.oai.naming import parse_identifier
from aggregator.store.db import connect, init_schema, make_engine
from aggregator.store.models import Member, Record, Source
from oaifeed import REPOSITORY_ID
from oairound import (
    HTTP_TIMEOUT,
    FeedServer,
    Harvest,
    Library,
    Seen,
    assert_same,
    build_library,
    changed_since,
    feed_view,
    harvested_view,
    high_water,
    oaipmh_client,
    oaipmh_item,
    once,
    register_feed,
    sickle_item,
    with_oaipmh,
    with_pipeline,
    with_sickle,
    written_titles,
)

HARVESTERS = ("pipeline", "sickle", "oaipmh")
PAGE = 100  # the feed's oai_page_size in these tests (FeedServer's default)


@pytest.fixture(autouse=True)
def fresh_catalogue(monkeypatch: pytest.MonkeyPatch) -> None:
    """The feed reads members and sources afresh for every request (a member removed
    between two harvests shows at once, not up to 30 s later)."""
    monkeypatch.setattr(feed_module, "CATALOGUE_SECONDS", 0.0)


@pytest.fixture(autouse=True)
def oaipmh_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """oaipmh opens URLs with no timeout at all: give it one, so a hung feed fails the
    test instead of hanging it."""
    urlopen = urllib.request.urlopen
    monkeypatch.setattr(oaipmh.client.urllib2, "urlopen",
                        lambda request: urlopen(request, timeout=HTTP_TIMEOUT))


@pytest.fixture
def second_store(tmp_path: Path) -> Iterator[tuple[Engine, Settings]]:
    """A separate SQLite store for our harvester, allowed to harvest loopback addresses,
    with no overlap taken off the next `from` (so an incremental run asks for exactly
    what changed since the responseDate of the previous run's first request)."""
    settings = load_settings(environ={}, data_dir=str(tmp_path / "harvester"),
                             allow_networks=("127.0.0.0/8",), overlap_seconds=0)
    engine = make_engine(settings)
    init_schema(engine)
    yield engine, settings
    engine.dispose()


def assert_holds_what_was_sent(view: Harvest, library: Library) -> None:
    """The store's view of the feed has every record the members sent, with its title
    (and none for a deletion): the ground truth is the members', not the feed's."""
    assert_same({i: (s.deleted, s.titles) for i, s in view.items()},  # type: ignore[misc]
                {i: (s.deleted, s.titles) for i, s in written_titles(library).items()},
                "the store")


def assert_changes(got: Harvest, *, changed: set[str], before: Harvest, after: Harvest,
                   since: str, who: str) -> None:
    """An incremental harvest ``from=since`` brought exactly the records changed since,
    in their new state.

    `from` has seconds granularity while the change clock does not: records changed in
    the very second of ``since`` but before it (so already harvested, and unchanged
    since) carry that datestamp and match too. They are allowed, exactly those, once.
    """
    same_second = {i for i, seen in before.items() if seen.datestamp == since} - changed
    assert_same(got, {i: after[i] for i in changed | same_second}, who)


def in_set(view: Harvest, spec: str) -> Harvest:
    """The records of ``view`` in set ``spec`` (or in a set below it)."""
    return {i: s for i, s in view.items()
            if any(x == spec or x.startswith(spec + ":") for x in s.specs)}


def change_the_network(library: Library) -> None:
    """A day in the network: new records, new titles and sets, deletions, records that
    come back, records sent again unchanged (no change at all), a member removed."""
    def live(source: str) -> list[str]:
        return [i for i in library.ids[source] if not library.sent[source, i].deleted]

    kota, repo = live("kota"), live("unira-repo")
    gone = [i for i in library.ids["kota"] if library.sent["kota", i].deleted]
    library.dc_records("kota", 40, odd=True)
    library.marc_records("unira", 15)
    library.retitle("kota", kota[100:130], "Judul baru")
    library.retitle("unira-repo", repo[10:20], "Diperbaiki")
    library.delete("kota", kota[200:215])
    library.retitle("kota", gone[1:3], "Kembali")  # deleted, then back
    library.resend("kota", kota[300:310])
    library.remove("ipk")


@pytest.mark.slow
def test_three_harvesters_get_every_record_exactly_once_then_exactly_the_changes(
        engine: Engine, settings: Settings, second_store: tuple[Engine, Settings]) -> None:
    library = build_library(engine)
    truth = feed_view(engine)
    assert len(truth) >= 2500 and sum(s.deleted for s in truth.values()) > 250
    assert_holds_what_was_sent(truth, library)
    store, harvester_settings = second_store
    with FeedServer(engine, settings) as server:
        source = register_feed(store, server.oai)
        full: dict[str, Harvest] = {}
        starts: dict[str, str] = {}  # each run's first responseDate: its next `from`

        mark = server.mark()
        run = with_pipeline(store, harvester_settings, source)
        starts["pipeline"] = server.first_response_date(mark)
        # the store keeps one row per identifier: a record listed twice would show as
        # "updated" or "unchanged"
        assert (run.new + run.deleted, run.updated, run.unchanged) == (len(truth), 0, 0)
        assert run.pages == -(-len(truth) // PAGE)
        full["pipeline"] = harvested_view(store, source)
        mark = server.mark()
        full["sickle"] = with_sickle(server.oai, metadataPrefix="oai_dc")
        starts["sickle"] = server.first_response_date(mark)
        mark = server.mark()
        full["oaipmh"] = with_oaipmh(server.oai, "oai_dc")
        starts["oaipmh"] = server.first_response_date(mark)
        for who in HARVESTERS:
            assert_same(full[who], truth, who)

        # the harvested MODS as they were harvested, and sets, hierarchical and by type
        mods = {i: s for i, s in truth.items() if parse_identifier(REPOSITORY_ID, i)[0] == "ipk"}
        mark = server.mark()
        assert_same(with_sickle(server.oai, metadataPrefix="mods"), mods, "sickle, mods")
        mods_start = server.first_response_date(mark)
        assert_same(with_oaipmh(server.oai, "mods"), mods, "oaipmh, mods")
        koleksi = in_set(truth, "member:kota:koleksi")
        assert len(koleksi) > 300 and any(":~~" in s for v in koleksi.values() for s in v.specs)
        assert_same(with_sickle(server.oai, metadataPrefix="oai_dc", set="member:kota:koleksi"),
                    koleksi, "sickle, set member:kota:koleksi")
        assert_same(with_oaipmh(server.oai, "oai_dc", set_="type:thesis"),
                    in_set(truth, "type:thesis"), "oaipmh, set type:thesis")

        seq = high_water(engine)
        change_the_network(library)
        after = feed_view(engine)
        changed = changed_since(engine, seq)
        assert_holds_what_was_sent(after, library)
        assert 150 < len(changed) < 300
        assert changed == {i for i in after if after[i] != truth.get(i)}

        # our harvester: an incremental run from its first run's first responseDate,
        # after which its store equals ours
        mark = server.mark()
        run = with_pipeline(store, harvester_settings, source)
        assert run.mode == "incremental"
        assert [e.args["from"] for e in server.since(mark) if "from" in e.args] == [
            [starts["pipeline"]]]
        same_second = sum(1 for i, s in truth.items()
                          if s.datestamp == starts["pipeline"] and i not in changed)
        assert (run.new + run.updated + run.deleted, run.unchanged) == (len(changed), same_second)
        assert_same(harvested_view(store, source), after, "pipeline, after its second run")

        incremental = {
            "sickle": with_sickle(server.oai, metadataPrefix="oai_dc",
                                  **{"from": starts["sickle"]}),
            "oaipmh": with_oaipmh(server.oai, "oai_dc", from_=starts["oaipmh"])}
        for who, got in incremental.items():
            assert_changes(got, changed=changed, before=truth, after=after,
                           since=starts[who], who=who)
            assert_same({**full[who], **got}, after, f"{who}, both runs")
        # the removed member's MODS records reach a MODS harvester as deletions
        assert_changes(with_sickle(server.oai, metadataPrefix="mods", **{"from": mods_start}),
                       changed=changed & mods.keys(), before=mods, after=after,
                       since=mods_start, who="sickle, mods")
        assert all(after[i].deleted for i in mods)

        identify = Sickle(server.oai, timeout=HTTP_TIMEOUT).Identify()
        assert (identify.baseURL, identify.deletedRecord) == (server.oai, "persistent")
        assert oaipmh_client(server.oai).identify().baseURL() == server.oai
        assert server.check() > 3 * len(truth) // PAGE
        assert any(e.gzipped for e in server.recorder.exchanges)  # sickle and ours ask


# -- a list keeps to its first request ------------------------------------------------


def first_listed(engine: Engine, count: int) -> list[tuple[str, str]]:
    """(member, local identifier) of the first ``count`` records the feed lists."""
    query = (select(Member.slug, Record.identifier)
             .join(Source, Source.id == Record.source_id)
             .join(Member, Member.id == Source.member_id)
             .order_by(Record.change_seq).limit(count))
    with connect(engine) as conn:
        return [(slug, ident) for slug, ident in conn.execute(query)]


def arriving(hook: Callable[[], None]) -> Callable[[str, Settings], OAIClient]:
    """A client factory for our harvester that runs ``hook`` as the first ListRecords
    page arrives (before the next request goes out)."""
    class Arriving(OAIClient):  # type: ignore[misc]
        def harvest(self, **params: Any) -> Any:
            response = super().harvest(**params)
            if params.get("verb") == "ListRecords":
                hook()
            return response
    return Arriving


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
@pytest.mark.parametrize("who", HARVESTERS)
def test_a_list_is_the_list_of_its_first_request_while_records_arrive(
        who: str, engine: Engine, settings: Settings,
        second_store: tuple[Engine, Settings]) -> None:
    """Tokens carry the list's end: what arrives after the first request is not in the
    list, a record changed after it was listed is not listed again, nothing is skipped.
    The next incremental harvest brings exactly what changed."""
    library = build_library(engine, scale=0.3)
    snapshot = feed_view(engine)
    assert len(snapshot) > 5 * PAGE
    seq = high_water(engine)
    on_first_page = [local for slug, local in first_listed(engine, PAGE) if slug == "kota"]
    arrivals: list[int] = []

    def arrive() -> None:
        if arrivals:
            return
        arrivals.append(len(server.since(mark)))
        library.dc_records("kota", 30, odd=True)
        library.marc_records("unira", 10)
        library.retitle("kota", on_first_page[:3], "Diubah")
        library.delete("kota", on_first_page[3:6])

    store, harvester_settings = second_store
    with FeedServer(engine, settings) as server:
        mark = server.mark()
        if who == "pipeline":
            source = register_feed(store, server.oai)
            run = with_pipeline(store, harvester_settings, source,
                                client_factory=arriving(arrive))
            assert (run.new + run.deleted, run.updated, run.unchanged) == (len(snapshot), 0, 0)
            got = harvested_view(store, source)
        else:
            if who == "sickle":
                records: Iterator[Any] = Sickle(server.oai, timeout=HTTP_TIMEOUT).ListRecords(
                    metadataPrefix="oai_dc", ignore_deleted=False)
                read: Callable[[Any], tuple[str, Seen]] = sickle_item
            else:
                records = oaipmh_client(server.oai).listRecords(metadataPrefix="oai_dc")
                read = oaipmh_item
            items = [read(next(records)) for _ in range(PAGE)]  # the first page, no more
            arrive()
            got = once(items + [read(record) for record in records])
        assert arrivals == [2 if who == "pipeline" else 1]  # (Identify first) one page
        assert_same(got, snapshot, who)

        since = server.first_response_date(mark)
        after = feed_view(engine)
        changed = changed_since(engine, seq)
        assert len(changed) == 30 + 10 + 3 + 3
        if who == "pipeline":
            with_pipeline(store, harvester_settings, source)
            assert_same(harvested_view(store, source), after, "pipeline, after its second run")
        else:
            later = (with_sickle(server.oai, metadataPrefix="oai_dc", **{"from": since})
                     if who == "sickle" else with_oaipmh(server.oai, "oai_dc", from_=since))
            assert_changes(later, changed=changed, before=snapshot, after=after, since=since,
                           who=who)
        assert server.check() >= len(snapshot) // PAGE
