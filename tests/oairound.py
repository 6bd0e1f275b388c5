"""Helpers for the round-trip tests: the feed served over real HTTP by waitress with
every response kept and validated, a network of a few thousand records, and what each
harvester (ours, sickle, oaipmh) saw, reduced to one form that can be compared."""

from __future__ import annotations

import gzip
import io
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

import oaipmh.client
import oaipmh.error
import oaipmh.metadata
from lxml import etree
from sickle import Sickle
from sqlalchemy import Engine, func, select

from aggregator.config import Settings
from aggregator.oai.naming import header_specs, parse_identifier, record_identifier, uri_form
from aggregator.oai.protocol import format_datestamp
from aggregator.pipeline import SyncResult, sync_source
from aggregator.records import HarvestedRecord
from aggregator.store import catalog
from aggregator.store.db import connect, session_scope
from aggregator.store.models import Member, Record, Source
from aggregator.web import create_app
from aggregator.web.serve import PortalServer
from oaifeed import MODS, NS, REPOSITORY_ID, Network, dc, error_code, gone, marc, parse

MODS_NS = NS["mods"].encode()
HTTP_TIMEOUT = 30  # seconds: a hung feed fails the test instead of hanging it


# -- the feed over HTTP -----------------------------------------------------------------


@dataclass
class Exchange:
    """One request to the server and its response (the body decompressed)."""

    method: str
    path: str
    args: dict[str, list[str]]
    status: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    complete: bool = False

    @property
    def gzipped(self) -> bool:
        """The body was sent gzip-compressed."""
        return self.headers.get("content-encoding") == "gzip"

    def root(self) -> etree._Element:
        """The response parsed (not validated)."""
        return etree.fromstring(self.body)

    def response_date(self) -> str:
        """The response's ``responseDate``."""
        return str(self.root().findtext(f"{{{NS['o']}}}responseDate"))


def settled(exchange: Exchange, seconds: float = 10.0) -> Exchange:
    """``exchange`` once the recorder has kept its whole body. The client may hold the
    last byte before the recorder's generator resumes to keep it (seen on a loaded
    machine), so a test reading a response right after its harvester waits here."""
    deadline = time.monotonic() + seconds
    while not exchange.complete and time.monotonic() < deadline:
        time.sleep(0.01)
    return exchange


class Recorder:
    """WSGI middleware keeping every request and response as they pass (the body is
    still streamed to the client)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()
        self.exchanges: list[Exchange] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        query = environ.get("QUERY_STRING", "")
        if environ["REQUEST_METHOD"] == "POST":  # oaipmh posts its arguments as a form
            size = int(environ.get("CONTENT_LENGTH") or 0)
            posted = environ["wsgi.input"].read(size)
            environ["wsgi.input"] = io.BytesIO(posted)
            query = posted.decode("latin-1")
        exchange = Exchange(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""),
                            parse_qs(query, keep_blank_values=True))
        with self._lock:
            self.exchanges.append(exchange)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            exchange.status = status
            exchange.headers = {k.lower(): v for k, v in headers}
            return start_response(status, headers, exc_info)

        return self._tee(self._app(environ, start), exchange)

    @staticmethod
    def _tee(body: Iterable[bytes], exchange: Exchange) -> Iterator[bytes]:
        chunks: list[bytes] = []
        try:
            for chunk in body:
                chunks.append(chunk)
                yield chunk
            data = b"".join(chunks)
            exchange.body = gzip.decompress(data) if exchange.gzipped else data
            exchange.complete = True
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()


class FeedServer:
    """The portal served by waitress on a free loopback port in a thread, its settings'
    ``base_url`` that server's address, so the feed's baseURL is the real one.

    Every response is kept; :meth:`check` validates them (with the official schemas
    when ../shared/oai/xsd is there).
    """

    def __init__(self, engine: Engine, settings: Settings, **overrides: Any) -> None:
        self._server = PortalServer(None, port=0, threads=4)
        self.url = self._server.url.rstrip("/")
        values: dict[str, Any] = {"base_url": self.url, "oai_repository_id": REPOSITORY_ID,
                                  "oai_page_size": 100, "contact_email": "katalog@example.id"}
        values.update(overrides)
        self.settings = replace(settings, **values)
        app = create_app(self.settings, engine=engine)
        self.recorder = Recorder(app.wsgi_app)
        app.wsgi_app = self.recorder  # type: ignore[method-assign]
        self._server.mount(app)
        self.oai = f"{self.url}/oai"
        self._checked = 0
        self._thread = threading.Thread(target=self._server.run, name="feed", daemon=True)

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.stop()
        self._thread.join(10)

    def mark(self) -> int:
        """A position in the list of exchanges, for :meth:`since`."""
        return len(self.recorder.exchanges)

    def since(self, mark: int) -> list[Exchange]:
        """The exchanges after ``mark``."""
        return self.recorder.exchanges[mark:]

    def first_response_date(self, mark: int) -> str:
        """The ``responseDate`` of the first response after ``mark`` (a run's first
        request: what a harvester sends back as ``from`` next time)."""
        return settled(self.since(mark)[0]).response_date()

    def check(self) -> int:
        """Validate every response not yet checked: HTTP 200, XML, no OAI error but
        ``noRecordsMatch``, schema-valid; returns how many were checked."""
        exchanges = self.recorder.exchanges[self._checked:]
        for exchange in map(settled, exchanges):
            assert exchange.complete, (exchange.path, exchange.args)
            assert exchange.status.startswith("200"), (exchange.status, exchange.args)
            assert exchange.headers["content-type"] == "text/xml; charset=utf-8"
            # MODS has no schema here: its payloads are checked loosely, the rest strictly
            root = parse(exchange.body, lax=MODS_NS in exchange.body)
            assert error_code(root) in (None, "noRecordsMatch"), (exchange.args, exchange.body)
        self._checked += len(exchanges)
        return len(exchanges)


# -- what a harvester saw ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seen:
    """A record as a harvester saw it (or as the store says the feed must show it)."""

    datestamp: str
    deleted: bool
    specs: tuple[str, ...]
    titles: tuple[str, ...]


Harvest = dict[str, Seen]


def assert_same(got: Harvest, want: Harvest, who: str) -> None:
    """``got`` is ``want``, record for record (a short report when not: thousands of
    records make pytest's own diff unreadable)."""
    missing = sorted(want.keys() - got.keys())
    extra = sorted(got.keys() - want.keys())
    wrong = sorted(i for i in want.keys() & got.keys() if got[i] != want[i])
    assert not (missing or extra or wrong), (
        f"{who}: {len(missing)} missing {missing[:3]}, {len(extra)} extra {extra[:3]}, "
        f"{len(wrong)} different: " + "; ".join(f"{i}: {got[i]} != {want[i]}"
                                                for i in wrong[:3]))


def once(items: Iterable[tuple[str, Seen]]) -> Harvest:
    """The items by identifier, asserting that none came twice."""
    out: Harvest = {}
    repeated: list[str] = []
    for identifier, seen in items:
        if identifier in out:
            repeated.append(identifier)
        out[identifier] = seen
    assert not repeated, f"{len(repeated)} records listed more than once: {repeated[:5]}"
    return out


def labels(engine: Engine) -> dict[int, str]:
    """How the feed names each source in identifiers: the member's slug for its first
    source, ``<slug>.<source id>`` for its later ones."""
    out: dict[int, str] = {}
    firsts: set[str] = set()
    with connect(engine) as conn:
        for sid, slug in conn.execute(select(Source.id, Member.slug)
                                      .join(Member, Member.id == Source.member_id)
                                      .order_by(Source.id)):
            out[sid] = slug if slug not in firsts else f"{slug}.{sid}"
            firsts.add(slug)
    return out


def feed_view(engine: Engine, repository_id: str = REPOSITORY_ID) -> Harvest:
    """What the store says the feed holds: every record, tombstones included, under
    its feed identifier, with our change time as datestamp, its sets and its title(s)."""
    query = (select(Member.slug, Source.id.label("source"), Record.identifier,
                    Record.last_changed, Record.deleted, Record.set_specs,
                    Record.work_type, Record.fields)
             .join(Source, Source.id == Record.source_id)
             .join(Member, Member.id == Source.member_id))
    with connect(engine) as conn:
        rows = conn.execute(query).all()
    named = labels(engine)
    return once(
        (record_identifier(repository_id, named[row.source], row.identifier),
         Seen(format_datestamp(row.last_changed), bool(row.deleted),
              tuple(header_specs(row.slug, row.set_specs or (), row.work_type)),
              () if row.deleted else _field_titles(row.fields)))
        for row in rows)


def _field_titles(fields: Mapping[str, Any] | None) -> tuple[str, ...]:
    fields = fields or {}
    return tuple(t for t in (fields.get("title"), *(fields.get("other_titles") or ())) if t)


def high_water(engine: Engine) -> int:
    """The highest ``change_seq`` in the store."""
    with connect(engine) as conn:
        return int(conn.scalar(select(func.max(Record.change_seq))) or 0)


def changed_since(engine: Engine, seq: int, repository_id: str = REPOSITORY_ID) -> set[str]:
    """Feed identifiers of the records changed after ``change_seq`` ``seq``."""
    query = select(Record.source_id, Record.identifier).where(Record.change_seq > seq)
    named = labels(engine)
    with connect(engine) as conn:
        return {record_identifier(repository_id, named[source], ident)
                for source, ident in conn.execute(query)}


def with_sickle(url: str, **args: str) -> Harvest:
    """A whole ListRecords list as plain sickle harvests it (deleted records kept)."""
    client = Sickle(url, timeout=HTTP_TIMEOUT)
    return once(sickle_item(record) for record in
                client.ListRecords(ignore_deleted=False, **args))


def sickle_item(record: Any) -> tuple[str, Seen]:
    """A sickle ``Record`` as (identifier, :class:`Seen`), its provenance checked: the
    member's own identifier, as a URI, behind ours."""
    header = record.header
    local = parse_identifier(REPOSITORY_ID, header.identifier)
    origin = record.xml.find(f"{{{NS['o']}}}about/{{{NS['p']}}}provenance/"
                             f"{{{NS['p']}}}originDescription")
    assert local is not None and origin is not None, record.raw[:500]
    assert origin.findtext(f"{{{NS['p']}}}identifier") == uri_form(local[1]), record.raw[:500]
    # sickle gives a deleted record no `metadata` attribute at all
    titles = () if record.deleted else tuple(record.metadata.get("title", ()))
    return header.identifier, Seen(header.datestamp, header.deleted, tuple(header.setSpecs),
                                   titles)


def oaipmh_client(url: str) -> oaipmh.client.Client:
    """The ``oaipmh`` client with readers for oai_dc and MODS (it reads nothing else)."""
    registry = oaipmh.metadata.MetadataRegistry()
    registry.registerReader("oai_dc", oaipmh.metadata.oai_dc_reader)
    registry.registerReader("mods", oaipmh.metadata.MetadataReader(
        fields={"title": ("textList", "mods:mods/mods:titleInfo/mods:title/text()")},
        namespaces={"mods": NS["mods"]}))
    # a 503 is retried once after a second, not five times after two minutes
    return oaipmh.client.Client(url, registry,
                                custom_retry_policy={"wait-default": 1, "retry": 1})


def with_oaipmh(url: str, metadataPrefix: str, from_: str | None = None,
                set_: str | None = None) -> Harvest:
    """A whole ListRecords list as the ``oaipmh`` client harvests it (``{}`` for
    noRecordsMatch, which it raises)."""
    args: dict[str, Any] = {"metadataPrefix": metadataPrefix}
    if from_ is not None:  # it takes naive datetimes and writes them back as UTC
        args["from_"] = naive(from_)
    if set_ is not None:
        args["set"] = set_
    try:
        return once(oaipmh_item(item) for item in oaipmh_client(url).listRecords(**args))
    except oaipmh.error.NoRecordsMatchError:
        return {}


def naive(datestamp: str) -> datetime:
    """A seconds datestamp as the naive datetime ``oaipmh`` takes for ``from``."""
    return datetime.strptime(datestamp, "%Y-%m-%dT%H:%M:%SZ")


def oaipmh_item(item: tuple[Any, Any, Any]) -> tuple[str, Seen]:
    """An ``oaipmh`` (header, metadata, about) triple as (identifier, :class:`Seen`)."""
    header, metadata, _about = item  # about is always None: it does not read <about>
    titles = () if metadata is None else tuple(metadata["title"])
    stamp = header.datestamp().strftime("%Y-%m-%dT%H:%M:%SZ")
    return header.identifier(), Seen(stamp, bool(header.isDeleted()),
                                     tuple(header.setSpec()), titles)


# -- our own harvester --------------------------------------------------------------------


def register_feed(engine: Engine, oai_url: str, prefix: str = "oai_dc") -> int:
    """Register the feed as the one source of a member of a second store."""
    with session_scope(engine) as session:
        catalog.add_member(session, "jaringan", "Jaringan perpustakaan")
        return catalog.add_source(session, "jaringan", oai_url, metadata_prefix=prefix).id


def with_pipeline(engine: Engine, settings: Settings, source_id: int,
                  **options: Any) -> SyncResult:
    """One run of our harvester over the feed, which must end well."""
    result = sync_source(engine, settings, source_id, **options)
    assert result.status == "ok", (result.errors, result.warnings)
    assert not result.warnings, result.warnings
    return result


def harvested_view(engine: Engine, source_id: int) -> Harvest:
    """What our harvester stored of the feed: the store is keyed on the identifier, so
    "exactly once" is checked on the run's counts instead."""
    query = (select(Record.identifier, Record.datestamp, Record.deleted, Record.set_specs,
                    Record.metadata_xml).where(Record.source_id == source_id))
    with connect(engine) as conn:
        rows = conn.execute(query).all()
    return {row.identifier: Seen(str(row.datestamp), bool(row.deleted),
                                 tuple(row.set_specs or ()), _dc_titles(row.metadata_xml))
            for row in rows}


def _dc_titles(xml: bytes | None) -> tuple[str, ...]:
    if xml is None:
        return ()
    return tuple(str(t) for t in etree.fromstring(xml).xpath("//dc:title/text()",
                                                            namespaces=NS))


# -- the network --------------------------------------------------------------------------


# Member identifiers and sets a feed must carry through unchanged (spaces, "%", "#",
# non-ASCII, set specs with characters a setSpec cannot have and an empty part).
ODD_IDENTIFIERS = ("oai:slims/ruang baca #1", "oai:slims/50%-diskon", "oai:slims/ä/ö?x=1&y",
                   "oai:slims/<tag>")
ODD_SETS = (("rak 2",), ("koleksi:",), ("a/b", "Ä"))
TITLE_MARKS = ("Sejarah <Kalimantan> & Barat", "Ilmu “ΔΣ” dan ‘Tafsir’", 'Kata "kutip"')


@dataclass
class Library:
    """The network the round-trip tests harvest, written straight into the store.

    Members: ``kota`` (a SLiMS catalogue: oai_dc with sets), ``unira`` (a MARC
    catalogue and an oai_dc repository: two sources), ``ipk`` (MODS), ``desa`` (oai_dc,
    removed: all tombstones). Sources are named by their member's slug, but unira's
    repository, ``unira-repo``.
    """

    network: Network
    ids: dict[str, list[str]] = field(default_factory=dict)  # by source, as added
    sent: dict[tuple[str, str], HarvestedRecord] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    next_n: int = 0

    @property
    def engine(self) -> Engine:
        """The store."""
        return self.network.engine

    def _n(self) -> int:
        self.next_n += 1
        return self.next_n

    def _title(self, n: int) -> str:
        return f"{TITLE_MARKS[n % len(TITLE_MARKS)]} {n}" if n % 97 == 0 else f"Judul {n}"

    def _put(self, source: str, records: list[HarvestedRecord], prefix: str = "oai_dc") -> None:
        for start in range(0, len(records), 500):
            self.network.put(source, records[start:start + 500], prefix=prefix)
        known = self.ids.setdefault(source, [])
        for rec in records:
            if (source, rec.identifier) not in self.sent:
                known.append(rec.identifier)
            self.sent[source, rec.identifier] = rec

    def dc_records(self, source: str, count: int, *, prefix: str = "oai:slims/",
                   odd: bool = False) -> list[str]:
        """Add ``count`` oai_dc records to ``source``; returns their identifiers."""
        records = []
        for _ in range(count):
            n = self._n()
            ident = f"{prefix}{n}"
            if odd and n % 101 < len(ODD_IDENTIFIERS):
                ident = f"{ODD_IDENTIFIERS[n % 101]}-{n}"
            sets = ODD_SETS[n % len(ODD_SETS)] if odd and n % 13 == 0 else (
                ("buku",) if n % 3 else ("skripsi", "koleksi:umum"))
            records.append(dc(ident, _xml_text(self._title(n)), n=n, sets=sets,
                              kind=("Buku", "Skripsi", "Artikel")[n % 3]))
        self._put(source, records)
        return [r.identifier for r in records]

    def marc_records(self, source: str, count: int) -> list[str]:
        """Add ``count`` MARCXML records to ``source``."""
        records = []
        for _ in range(count):
            n = self._n()
            records.append(marc(f"oai:{source}:{n}", _xml_text(self._title(n)), n=n))
        self._put(source, records, prefix="marcxml")
        return [r.identifier for r in records]

    def mods_records(self, source: str, count: int) -> list[str]:
        """Add ``count`` MODS records to ``source``."""
        records = []
        for _ in range(count):
            n = self._n()
            xml = MODS.format(title=_xml_text(self._title(n))).encode()
            records.append(HarvestedRecord(f"oai:{source}:{n}", "2024-01-01", False, (), xml))
        self._put(source, records, prefix="mods")
        return [r.identifier for r in records]

    def retitle(self, source: str, identifiers: Iterable[str], word: str) -> None:
        """New titles, and a new set, for oai_dc records of ``source``."""
        self._put(source, [dc(ident, f"{word} {self._n()}", sets=("diperbarui",))
                           for ident in identifiers])

    def delete(self, source: str, identifiers: Iterable[str], prefix: str = "oai_dc") -> None:
        """Deleted headers for records of ``source``."""
        self._put(source, [gone(ident, ("buku",)) for ident in identifiers], prefix=prefix)

    def resend(self, source: str, identifiers: Iterable[str], prefix: str = "oai_dc") -> None:
        """Send records again exactly as last sent (no change for the store)."""
        self._put(source, [self.sent[source, ident] for ident in identifiers], prefix=prefix)

    def remove(self, slug: str) -> None:
        """Remove a member: its records become tombstones."""
        self.network.remove(slug)
        self.removed.add(slug)


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def written_titles(library: Library) -> Harvest:
    """The titles the library last sent, by feed identifier (none for deleted ones)."""
    out: Harvest = {}
    named = labels(library.network.engine)
    for (source, ident), rec in library.sent.items():
        slug = "unira" if source == "unira-repo" else source
        label = named[library.network.sources[source]]
        titles: tuple[str, ...] = ()
        if not rec.deleted and rec.metadata_xml is not None:
            found = etree.fromstring(rec.metadata_xml).xpath(
                "//dc:title/text() | //marc:datafield[@tag='245']/marc:subfield/text()"
                " | //mods:title/text()", namespaces=NS)
            titles = tuple(str(t) for t in found)
        deleted = rec.deleted or slug in library.removed
        out[record_identifier(REPOSITORY_ID, label, ident)] = Seen(
            "", deleted, (), () if deleted else titles)
    return out


def build_library(engine: Engine, *, scale: float = 1.0) -> Library:
    """The network: about 2,500 records at ``scale`` 1 (DC, MARC and MODS), member sets
    (some needing encoding), odd identifiers and titles, deleted headers, a member with
    two sources and a removed member."""
    network = Network(engine)
    network.member("kota", "https://kota.example/oai.php", city="Pontianak")
    network.member("unira", "https://unira.example/oai", prefix="marcxml")
    network.member("ipk", "https://ipk.example/oai", prefix="mods")
    network.member("desa", "https://desa.example/oai")
    with session_scope(engine) as session:  # unira's second source: its repository
        network.sources["unira-repo"] = catalog.add_source(
            session, "unira", "https://repository.unira.example/oai").id
    library = Library(network)

    def size(n: int) -> int:
        return max(3, round(n * scale))

    kota = library.dc_records("kota", size(1200), odd=True)
    unira = library.marc_records("unira", size(800))
    library.dc_records("unira-repo", size(250), prefix="oai:repository.unira:")
    library.mods_records("ipk", size(60))
    library.dc_records("desa", size(190), prefix="oai:desa/")
    library.delete("kota", kota[::17])
    library.delete("unira", unira[::29], prefix="marcxml")
    library.remove("desa")
    return library
