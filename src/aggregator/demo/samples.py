"""The demo provider's sample records: their fields, their XML, and the list that holds them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self, SupportsIndex

SECONDS = "YYYY-MM-DDThh:mm:ssZ"
DAYS = "YYYY-MM-DD"

OAI_DC = (
    "oai_dc",
    "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
    "http://www.openarchives.org/OAI/2.0/oai_dc/",
)
MARCXML = (
    "marcxml",
    "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd",
    "http://www.loc.gov/MARC21/slim",
)
_DC_NAMES = (
    "title creator subject description publisher contributor date type format identifier "
    "source language relation coverage rights"
)
DC_ELEMENTS = frozenset(_DC_NAMES.split())
_DC_TAGS = {name: (f"<dc:{name}>", f"</dc:{name}>") for name in DC_ELEMENTS}
_DC_OPEN = (
    '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai_dc/ '
    'http://www.openarchives.org/OAI/2.0/oai_dc.xsd">'
)
_WATCHED_FIELDS = frozenset({"identifier", "datestamp", "deleted", "sets", "metadata", "marcxml",
                             "about"})
_edits = [0]  # bumped on every edit of any SampleRecord; invalidates repository indexes


def edit_count() -> int:
    """Return how many times any ``SampleRecord`` has been edited (indexes compare it)."""
    return _edits[0]


def escape(text: str) -> str:
    """Escape text for XML character content."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_attr(text: str) -> str:
    """Escape text for a double-quoted XML attribute value."""
    return escape(text).replace('"', "&quot;")


def stamp(moment: datetime, granularity: str) -> str:
    """Format a UTC moment as an OAI datestamp in the repository's granularity."""
    # isoformat() is several times faster than strftime(), which matters on cold pages
    text = moment.isoformat(timespec="seconds")
    return text[:10] if granularity == DAYS else text[:19] + "Z"


def iso_seconds(ts: int) -> str:
    """Format seconds since the epoch as a seconds-granularity OAI datestamp."""
    return stamp(datetime.fromtimestamp(ts, UTC), SECONDS)


@dataclass
class SampleRecord:
    """One record served by the demo provider.

    Assigning to a field invalidates the cached XML; mutate ``metadata`` in place only
    if you then call ``Repository.changed()``.

    Attributes:
        identifier: the OAI identifier.
        datestamp: last change, in UTC (a naive value is taken as UTC).
        deleted: served as ``<header status="deleted">`` without metadata.
        sets: setSpecs the record belongs to.
        metadata: Dublin Core element name to values (only the 15 DC elements are served).
        marcxml: a pre-rendered MARCXML ``record`` element for the ``marcxml`` prefix.
        about: pre-rendered ``<about>`` elements (e.g. an upstream ``provenance``),
            served after the metadata as they are; ``None`` for none.
    """

    identifier: str
    datestamp: datetime
    deleted: bool = False
    sets: tuple[str, ...] = ()
    metadata: dict[str, list[str]] = field(default_factory=dict)
    marcxml: str | None = None
    about: str | None = None
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "datestamp":
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        elif name == "sets":
            value = tuple(value)
        object.__setattr__(self, name, value)
        cache = self.__dict__.get("_cache")
        if cache is not None and name in _WATCHED_FIELDS:
            cache.clear()
            _edits[0] += 1

    @property
    def timestamp(self) -> int:
        """The datestamp as whole seconds since the epoch."""
        ts = self._cache.get("ts")
        if ts is None:
            ts = self._cache["ts"] = int(self.datestamp.timestamp())
        return int(ts)

    def header_xml(self, granularity: str) -> bytes:
        """Return the serialised ``<header>`` (cached until the record changes)."""
        key = "h" + granularity  # str keys: no new GC-tracked objects per record
        out: bytes | None = self._cache.get(key)
        if out is None:
            status = ' status="deleted"' if self.deleted else ""
            specs = "".join(f"<setSpec>{escape(s)}</setSpec>" for s in self.sets)
            out = self._cache[key] = (
                f"<header{status}><identifier>{escape(self.identifier)}</identifier>"
                f"<datestamp>{stamp(self.datestamp, granularity)}</datestamp>{specs}</header>"
            ).encode()
        return out

    def record_xml(self, granularity: str, prefix: str) -> bytes:
        """Return the serialised ``<record>`` in a metadata format (cached)."""
        key = "r" + granularity + prefix
        out: bytes | None = self._cache.get(key)
        if out is None:
            body = b""
            if not self.deleted:
                payload = self.dc_xml() if prefix == "oai_dc" else _strip_decl(self.marcxml or "")
                body = b"<metadata>" + payload.encode() + b"</metadata>"
            if self.about:
                body += self.about.encode()
            out = self._cache[key] = (
                b"<record>" + self.header_xml(granularity) + body + b"</record>\n"
            )
        return out

    def dc_xml(self) -> str:
        """Return the ``oai_dc:dc`` element for the record's metadata."""
        parts = [_DC_OPEN]
        for name, values in self.metadata.items():
            tags = _DC_TAGS.get(name)
            if tags is None:
                continue
            for value in values:
                if "&" in value or "<" in value or ">" in value:
                    value = escape(value)
                parts += (tags[0], value, tags[1])
        parts.append("</oai_dc:dc>")
        return "".join(parts)


def _strip_decl(xml: str) -> str:
    xml = xml.strip()
    if xml.startswith("<?xml"):
        xml = xml[xml.index("?>") + 2 :].lstrip()
    return xml


class RecordList(list[SampleRecord]):
    """A list of records that counts its own mutations so indexes know when to rebuild."""

    version = 0

    def _bump(self) -> None:
        self.version += 1

    def append(self, item: SampleRecord) -> None:
        super().append(item)
        self._bump()

    def extend(self, items: Iterable[SampleRecord]) -> None:
        super().extend(items)
        self._bump()

    def insert(self, index: SupportsIndex, item: SampleRecord) -> None:
        super().insert(index, item)
        self._bump()

    def remove(self, item: SampleRecord) -> None:
        super().remove(item)
        self._bump()

    def pop(self, index: SupportsIndex = -1) -> SampleRecord:
        self._bump()
        return super().pop(index)

    def clear(self) -> None:
        super().clear()
        self._bump()

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self._bump()

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(key)
        self._bump()

    def __iadd__(self, items: Iterable[SampleRecord]) -> Self:  # type: ignore[override,misc]
        self.extend(items)
        return self
