"""`aggregator demo`: a sample network on 127.0.0.1, registered and harvested for real."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from aggregator.config import Settings
from aggregator.console import table
from aggregator.demo.cooperation import open_services
from aggregator.demo.network import DemoMember, start_network
from aggregator.demo.oaiserver import OAIServer
from aggregator.demo.samples import SampleRecord
from aggregator.errors import UserInputError
from aggregator.index.model import SearchBackend, SearchQuery
from aggregator.index.owner import IndexFollower, IndexOwner, holder
from aggregator.pipeline import sync_source
from aggregator.store import catalog
from aggregator.store.db import init_schema, make_engine

MARKER = ".aggregator-demo"
LOOPBACK = "127.0.0.0/8"
DEMO_NAME = "Jaringan Perpustakaan Nusantara (contoh)"
DEMO_DESCRIPTION = ("Contoh jaringan lima perpustakaan: katalog SLiMS, repositori EPrints dan "
                    "DSpace, dan dua jurnal OJS, dipanen dan dicari bersama.")
DEMO_DESCRIPTION_EN = ("A sample network of five libraries: a SLiMS catalogue, EPrints and "
                       "DSpace repositories and two OJS journals, harvested and searched "
                       "together.")


def prepare_folder(data_dir: Path) -> None:
    """Make ``data_dir`` an empty demo folder, refusing to touch anything else.

    Raises:
        UserInputError: the folder holds files but was not made by the demo.
    """
    if data_dir.exists() and any(data_dir.iterdir()) and not (data_dir / MARKER).exists():
        raise UserInputError(f"{data_dir} is not empty and was not made by `aggregator demo`; "
                             "choose another folder with --data-dir")
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    (data_dir / MARKER).write_text("made by `aggregator demo`; safe to delete\n")


def demo_settings(settings: Settings, data_dir: Path) -> Settings:
    """The demo's settings: SQLite in its own folder, loopback reachable."""
    networks = settings.allow_networks
    if LOOPBACK not in networks:
        networks = (*networks, LOOPBACK)
    named = settings.network_name != Settings.network_name  # keep a name the user chose
    return replace(settings, data_dir=str(data_dir), database_url="", allow_networks=networks,
                   request_delay=0.0,
                   network_name=settings.network_name if named else DEMO_NAME,
                   network_description=settings.network_description or DEMO_DESCRIPTION,
                   network_description_en=(settings.network_description_en
                                           or ("" if settings.network_description
                                               else DEMO_DESCRIPTION_EN)))


def run_demo(settings: Settings, data_dir: Path, echo: Callable[[str], None],
             port: int | None = None) -> int:
    """Start the sample network, register and harvest it, change it, harvest again, then
    serve the portal on 127.0.0.1:``port`` until Ctrl-C (``port`` None: exit instead).

    Returns:
        The exit status: 0 when every harvest succeeded.
    """
    prepare_folder(data_dir)
    settings = demo_settings(settings, data_dir)
    portal_server = None
    if port is not None:  # bind first: a busy port is reported before any work is done
        from aggregator.web.serve import PortalServer

        portal_server = PortalServer(port=port)
    engine = make_engine(settings)
    init_schema(engine)
    network = start_network()
    owner = IndexOwner.claim(settings)
    if owner is None:
        raise UserInputError(f"another process ({holder(settings) or 'unknown'}) writes the "
                             f"search index in {data_dir}: stop it or use another --data-dir")
    index = owner.backend
    failed = 0
    try:
        echo(f"Sample network of {len(network)} members started on 127.0.0.1:")
        with Session(engine) as session, session.begin():
            for member, server in network:
                catalog.add_member(session, member.slug, member.name,
                                   homepage=member.homepage, city=member.city,
                                   province=member.province, kind=member.kind)
                catalog.add_source(session, member.slug, server.base_url)
                echo(f"  {member.slug:<18} {member.platform:<8} {server.base_url}")
        with Session(engine) as session:
            source_ids = catalog.sources_for(session, None, True)

        echo("\nFirst harvest (everything):")
        failed += _harvest_all(engine, settings, source_ids, echo, index)

        _simulate_librarians(network)
        echo("\nNext harvest (incremental: only what changed since the last one):")
        failed += _harvest_all(engine, settings, source_ids, echo, index)

        taking, offered = open_services(engine)
        with Session(engine) as session:
            rows = catalog.list_members(session)
        echo("\nThe union catalogue now holds:")
        echo(table([(r.slug, r.name, r.sources, r.records) for r in rows],
                   ["member", "name", "sources", "live records"]))
        echo(f"\nTotal: {sum(r.records for r in rows)} live records from {len(rows)} members, "
             f"stored in {data_dir / 'aggregator.sqlite3'}")
        echo(f"Search index ({settings.search_backend}): {index.count()} works; "
             f"{_held_by_several(index)} of them held by more than one member.")
        echo(f"Cooperation services: {taking} members take interlibrary requests (a link on "
             f"their records' pages); {offered} items offered at /exchange; new acquisitions "
             "at /new.")
        echo(f"Look around with: AGGREGATOR_DATA_DIR={data_dir} aggregator search pendidikan")
        if portal_server is not None:
            from aggregator.web import create_app

            if not settings.base_url:  # links and the OAI feed name the demo's own address
                settings = replace(settings, base_url=portal_server.url.rstrip("/"))
            portal_server.mount(create_app(settings, engine=engine, index=index))
            # harvests from the command line into the demo's store reach its index
            follower = IndexFollower(owner, engine, settings.index_follow_seconds)
            follower.start()
            try:
                portal_server.run(lambda url: echo(
                    f"\nThe portal is ready: {url}  (OAI feed: {settings.public_root}/oai; "
                    "Ctrl-C to stop)"))
            finally:
                follower.stop()
    finally:
        if portal_server is not None:
            portal_server.stop()
        owner.close()
        for _, server in network:
            server.stop()
        engine.dispose()
    return 1 if failed else 0


def _held_by_several(index: SearchBackend) -> int:
    result = index.search(SearchQuery(per_page=100, facets=(), highlight=False))
    total, page, count = result.total, 1, 0
    while True:
        count += sum(1 for hit in result.hits if len(hit.members) > 1)
        if page * 100 >= total:
            return count
        page += 1
        result = index.search(SearchQuery(per_page=100, page=page, facets=(), highlight=False))


def _harvest_all(engine: Engine, settings: Settings, source_ids: list[int],
                 echo: Callable[[str], None], index: SearchBackend) -> int:
    failed = 0
    for source_id in source_ids:
        result = sync_source(engine, settings, source_id, index=index)
        failed += result.status == "failed"
        slug = result.source.split(" ", 1)[0]
        echo(f"  {slug:<18} {result.status:<8} {result.new:>4} new {result.updated:>4} updated "
             f"{result.deleted:>3} deleted {result.unchanged:>4} unchanged  "
             f"({result.pages} pages, {result.seconds:.2f}s)")
        for problem in result.errors:
            echo(f"    error: {problem['message']}")
    return failed


NEW_ACQUISITIONS = (
    {"title": ["Budidaya ikan lele di kolam terpal untuk pemula"],
     "creator": ["Hidayat, Rahmat"], "publisher": ["Agromedia Pustaka"],
     "subject": ["Perikanan", "Budidaya ikan", "639.3"], "language": ["Indonesia"],
     "type": ["Text"], "format": ["Text"],
     "description": ["Panduan langkah demi langkah membuat kolam terpal, memilih benih, "
                     "memberi pakan dan mencegah penyakit ikan lele, dengan perhitungan "
                     "biaya dan contoh usaha rumahan di Jawa Barat."]},
    {"title": ["Pengaruh pupuk hayati terhadap pertumbuhan dan hasil padi ladang di "
               "Kabupaten Sanggau"],
     "creator": ["Lestari, Ayu Putri"], "contributor": ["Siregar, Bonar"],
     "subject": ["Padi ladang", "Pupuk hayati", "Agronomi"], "language": ["id"],
     "type": ["Thesis"],
     "description": ["Penelitian lapangan dengan rancangan acak kelompok pada tiga desa. "
                     "Pupuk hayati menaikkan hasil gabah kering panen sebesar 18 persen "
                     "dibandingkan pemupukan kimia saja."]},
)
"""What the demo's librarians catalogue between the two harvests: real-looking works, so
the home page's "recently added" shows the kind of record a member adds."""


def _simulate_librarians(network: list[tuple[DemoMember, OAIServer]]) -> None:
    """Edit, add and withdraw a few records on the first two members' servers."""
    now = datetime.now(UTC)
    for (_, server), added in zip(network[:2], NEW_ACQUISITIONS, strict=False):
        repo = server.repository
        live = [r for r in repo.records if not r.deleted]
        if len(live) < 3:
            continue
        described = [*live[0].metadata.get("description", []),
                     f"Edisi revisi {now:%Y}: data dan daftar pustaka diperbarui."]
        repo.update(live[0].identifier, datestamp=now,
                    metadata={**live[0].metadata, "description": described})
        repo.delete(live[1].identifier, datestamp=now)
        repo.add(SampleRecord(identifier=_next_identifier([r.identifier for r in repo.records]),
                              datestamp=now, sets=live[2].sets,
                              metadata={**added, "date": [f"{now:%Y}"]}))


def _next_identifier(identifiers: list[str]) -> str:
    """The identifier after the highest one that ends in a number (``oai:slims/1400`` →
    ``oai:slims/1401``), the way the member's own software numbers its records."""
    numbered = [m for m in (re.fullmatch(r"(.*?)(\d+)", i) for i in identifiers) if m]
    if not numbered:
        return identifiers[0] + "-1"
    last = max(numbered, key=lambda m: int(m.group(2)))
    return f"{last.group(1)}{int(last.group(2)) + 1}"
