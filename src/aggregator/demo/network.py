"""The sample network for ``aggregator demo``: five members with bundled records."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from aggregator.demo.oaiserver import OAIServer
from aggregator.demo.provider import Repository
from aggregator.demo.samples import SampleRecord

MEMBER_FILES = ("perpusda-sukamaju", "unira", "jipi", "jtsin", "ipk")
_ISBN_RE = re.compile(r"(?:ISBN\s*)?((?:97[89])?[\d-]{9,17}[\dXx])")
_DDC_RE = re.compile(r"\d{3}(\.\d+)?")
_LANGUAGE_CODES = {"indonesia": "ind", "english": "eng", "id": "ind", "en": "eng"}


@dataclass
class DemoMember:
    """One member of the sample network and the repository it runs.

    Attributes:
        slug: short stable key, e.g. ``unira``.
        name: the member's name.
        city: city or regency.
        province: Indonesian province.
        kind: ``public``, ``university``, ``school`` or ``special``.
        homepage: the member's website.
        platform: the software it imitates (``slims``, ``eprints``, ``ojs``, ``dspace``).
        repository: the records and OAI identity it serves.
    """

    slug: str
    name: str
    city: str
    province: str
    kind: str
    homepage: str
    platform: str
    repository: Repository


def load_network() -> list[DemoMember]:
    """Load the five members and their repositories from the bundled JSON files."""
    members = []
    for slug in MEMBER_FILES:
        text = resources.files("aggregator.demo").joinpath(f"data/{slug}.json").read_text("utf-8")
        members.append(_member(json.loads(text)))
    return members


def start_network(host: str = "127.0.0.1") -> list[tuple[DemoMember, OAIServer]]:
    """Start one OAI server per member on its own free port.

    Returns:
        Each member with its running server; call ``stop()`` on every server when done.
    """
    running: list[tuple[DemoMember, OAIServer]] = []
    try:
        for member in load_network():
            running.append((member, OAIServer(member.repository, host=host).start()))
    except BaseException:
        for _, server in running:
            server.stop()
        raise
    return running


def _member(doc: dict[str, Any]) -> DemoMember:
    info, identity = doc["member"], doc["repository"]
    records = [_record(row, with_marc=bool(row.get("marc"))) for row in doc["records"]]
    repository = Repository(records, **identity)
    return DemoMember(repository=repository, **info)


def _record(row: dict[str, Any], *, with_marc: bool) -> SampleRecord:
    metadata = {name: list(values) for name, values in row.get("dc", {}).items()}
    local_id = row["identifier"].rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return SampleRecord(
        identifier=row["identifier"],
        datestamp=datetime.fromisoformat(row["datestamp"].replace("Z", "+00:00")),
        deleted=bool(row.get("deleted")),
        sets=tuple(row.get("sets", ())),
        metadata=metadata,
        marcxml=marcxml(local_id, metadata, row.get("extent")) if with_marc else None,
    )


def marcxml(control_number: str, dc: dict[str, list[str]], extent: str | None = None) -> str:
    """Render a MARC 21 bibliographic record (MARCXML) from Dublin Core fields.

    Args:
        control_number: the local record number (field 001).
        dc: Dublin Core element name to values.
        extent: physical description for field 300, e.g. ``xii, 455 hlm. ; 21 cm``.

    Returns:
        A ``record`` element in the MARC 21 slim namespace.
    """
    fields: list[str] = [f'<controlfield tag="001">{_esc(control_number)}</controlfield>']
    identifiers = dc.get("identifier", [])
    for value in identifiers:
        match = _ISBN_RE.fullmatch(value.strip())
        if match and not value.startswith("http"):
            fields.append(_datafield("020", " ", " ", [("a", match.group(1).replace("-", ""))]))
    for language in dc.get("language", [])[:1]:
        code = _LANGUAGE_CODES.get(language.lower(), language[:3].lower())
        fields.append(_datafield("041", "0", " ", [("a", code)]))
    classes = [s for s in dc.get("subject", []) if _DDC_RE.fullmatch(s)]
    if classes:
        fields.append(_datafield("082", "0", "4", [("a", classes[0])]))
    creators = dc.get("creator", [])
    if creators:
        fields.append(_datafield("100", "1", " ", [("a", creators[0])]))
    for title in dc.get("title", [])[:1]:
        fields.append(_datafield("245", "1" if creators else "0", "0", [("a", title)]))
    imprint = [("b", p) for p in dc.get("publisher", [])[:1]]
    imprint += [("c", d) for d in dc.get("date", [])[:1]]
    if imprint:
        fields.append(_datafield("260", " ", " ", imprint))
    if extent:
        fields.append(_datafield("300", " ", " ", [("a", extent)]))
    for note in dc.get("description", []):
        fields.append(_datafield("520", " ", " ", [("a", note)]))
    for subject in dc.get("subject", []):
        if not _DDC_RE.fullmatch(subject):
            fields.append(_datafield("650", " ", "4", [("a", subject)]))
    for other in creators[1:]:
        fields.append(_datafield("700", "1", " ", [("a", other)]))
    for url in identifiers:
        if url.startswith("http"):
            fields.append(_datafield("856", "4", "0", [("u", url)]))
    return (
        '<record xmlns="http://www.loc.gov/MARC21/slim" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.loc.gov/MARC21/slim '
        'http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd">'
        "<leader>00000nam a2200000 a 4500</leader>" + "".join(fields) + "</record>"
    )


def _datafield(tag: str, ind1: str, ind2: str, subfields: list[tuple[str, str]]) -> str:
    inner = "".join(f'<subfield code="{c}">{_esc(v)}</subfield>' for c, v in subfields)
    return f'<datafield tag="{tag}" ind1="{ind1}" ind2="{ind2}">{inner}</datafield>'


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
