"""Run every captured OAI-PMH response in ../shared/oai/responses through the parsers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aggregator.errors import AggregatorError
from aggregator.harvest.identify import parse_identify, parse_metadata_formats, parse_sets
from aggregator.harvest.parse import parse_list_page
from aggregator.harvest.safe_xml import XMLElement, parse_bytes

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "oai" / "responses"
if not CORPUS.is_dir():
    pytest.skip(f"response corpus not found at {CORPUS}", allow_module_level=True)

FILES = sorted(CORPUS.rglob("*.xml"))
OAI = "{http://www.openarchives.org/OAI/2.0/}"
VERBS = ("ListRecords", "ListIdentifiers", "GetRecord", "Identify", "ListSets",
         "ListMetadataFormats")
_REQUEST_VERB = re.compile(rb"<(?:\w+:)?request\b[^>]*\bverb=[\"']([A-Za-z]+)")


def detect_verb(data: bytes) -> str:
    """Guess the verb from ``<request verb=...>`` or from the element after it."""
    match = _REQUEST_VERB.search(data)
    if match and match.group(1).decode() in VERBS:
        return match.group(1).decode()
    for verb in VERBS:
        if re.search(rb"<(?:\w+:)?" + verb.encode() + rb"[\s>]", data):
            return verb
    return "ListRecords"


def run(verb: str, data: bytes) -> object:
    if verb in ("ListRecords", "ListIdentifiers", "GetRecord"):
        return parse_list_page(data, verb=verb)
    if verb == "Identify":
        return parse_identify(data)
    if verb == "ListSets":
        return parse_sets(data)
    return parse_metadata_formats(data)


def _children(el: XMLElement, tag: str) -> list[XMLElement]:
    return [child for child in el if child.tag == tag]


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(CORPUS)) for p in FILES])
def test_only_aggregator_errors_escape(path: Path) -> None:
    data = path.read_bytes()
    verb = detect_verb(data)
    try:
        run(verb, data)
    except AggregatorError as exc:  # the aggregator's own errors are fine; nothing else
        assert str(exc)


def _well_formed_list_records() -> list[Path]:
    chosen = []
    for path in FILES:
        data = path.read_bytes()
        if detect_verb(data) != "ListRecords":
            continue
        try:
            root = parse_bytes(data)
        except AggregatorError:
            continue  # the broken ones are covered by the test above
        if _children(root, OAI + "ListRecords"):
            chosen.append(path)
    return chosen


LIST_FILES = _well_formed_list_records()


def test_the_corpus_has_list_pages() -> None:
    assert len(LIST_FILES) >= 10


@pytest.mark.parametrize("path", LIST_FILES,
                         ids=[str(p.relative_to(CORPUS)) for p in LIST_FILES])
def test_well_formed_list_records_keep_every_record(path: Path) -> None:
    data = path.read_bytes()
    lists = _children(parse_bytes(data), OAI + "ListRecords")
    expected = len(_children(lists[0], OAI + "record"))
    page = parse_list_page(data)
    missing = sum(1 for n in page.notices if n.code == "missing-identifier")
    assert len(page.records) + page.header_only + missing == expected
    assert not any(n.code in ("bad-record", "repaired-xml") for n in page.notices)


def test_citebase_invalid_bytes_are_repaired() -> None:
    path = CORPUS / "citebase-eprints" / "GetRecord_invalid_utf8_and_ctrl_chars.xml"
    if not path.exists():
        pytest.skip("fixture missing")
    page = parse_list_page(path.read_bytes(), verb="GetRecord")
    assert [r.identifier for r in page.records] == ["oai:arXiv.org:hep-th/0001001"]
    assert [n.code for n in page.notices] == ["repaired-xml"]
    # The body has no valid UTF-8 multibyte sequence at all, so the lone 0xC2 bytes
    # are read as cp1252 ("\u00c2"), per the transcoding rule.
    assert "cp1252" in page.notices[0].message
    xml = page.records[0].metadata_xml
    assert xml is not None and b"\x06" not in xml and "\u00c2".encode() in xml
