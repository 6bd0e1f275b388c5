"""Tests for the strict parser: XXE, entity bombs, limits, DOCTYPE, EOF detection."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from aggregator.errors import ForbiddenXML, MalformedXML
from aggregator.harvest import safe_xml
from aggregator.harvest.parse import parse_list_page
from aggregator.harvest.safe_xml import is_element, parse_bytes, serialise

OAI = "http://www.openarchives.org/OAI/2.0/"


def _laughs(levels: int = 9) -> bytes:
    entities = ['<!ENTITY l0 "lol">']
    for i in range(1, levels + 1):
        entities.append(f'<!ENTITY l{i} "' + f"&l{i - 1};" * 10 + '">')
    return (f"<!DOCTYPE bomb [{''.join(entities)}]><bomb>&l{levels};</bomb>").encode()


def test_parses_plain_document() -> None:
    root = parse_bytes(b"<a><b>text</b><!-- c --></a>")
    assert root.tag == "a"
    children = list(root)
    assert [is_element(c) for c in children] == [True, False]


def test_xxe_file_entity_is_refused_and_never_leaks(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-42")
    payload = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
        f'<OAI-PMH xmlns="{OAI}"><responseDate>&x;</responseDate></OAI-PMH>'
    ).encode()
    with pytest.raises(ForbiddenXML) as info:
        parse_bytes(payload)
    assert "TOP-SECRET" not in str(info.value) + info.value.sample
    with pytest.raises(ForbiddenXML) as info2:
        parse_list_page(payload)
    assert "TOP-SECRET" not in str(info2.value) + info2.value.sample


def test_doctype_hidden_after_comment_and_pi_is_refused() -> None:
    payload = b"\xef\xbb\xbf<?xml version='1.0'?>\n<!-- hi --><?pi x?>\n<!doctype r><r/>"
    with pytest.raises(ForbiddenXML):
        parse_bytes(payload)


def test_doctype_in_utf16_document_is_refused_after_parsing() -> None:
    payload = "<?xml version='1.0' encoding='UTF-16'?><!DOCTYPE r><r/>".encode("utf-16")
    with pytest.raises(ForbiddenXML):
        parse_bytes(payload)


def test_billion_laughs_fails_fast() -> None:
    start = time.perf_counter()
    with pytest.raises(MalformedXML):
        parse_bytes(_laughs())
    assert time.perf_counter() - start < 0.1


def test_parser_itself_is_safe_without_the_prolog_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Defence in depth: with the DOCTYPE scan disabled the parser must still neither
    # expand the bomb nor read the file.
    monkeypatch.setattr(safe_xml, "_refuse_doctype_in_prolog", lambda data: None)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-42")
    start = time.perf_counter()
    with pytest.raises(MalformedXML):
        parse_bytes(_laughs())
    assert time.perf_counter() - start < 0.1
    xxe = f'<!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]><r>&x;</r>'.encode()
    with pytest.raises(MalformedXML) as info:
        parse_bytes(xxe)
    assert "TOP-SECRET" not in str(info.value) + info.value.sample


def test_depth_300_is_an_error_not_a_truncation() -> None:
    payload = b"<a>" * 300 + b"x" + b"</a>" * 300
    with pytest.raises(MalformedXML) as info:
        parse_bytes(payload)
    assert not info.value.at_eof
    assert "depth" in str(info.value).lower()


def test_huge_text_node_is_an_error_not_a_truncation() -> None:
    payload = b"<a><b>" + b"x" * (11 * 1024 * 1024) + b"</b><c/></a>"
    with pytest.raises(MalformedXML) as info:
        parse_bytes(payload)
    assert not info.value.at_eof


@pytest.mark.parametrize(
    "payload",
    [
        b"<a><b>hello</b><c>wor",
        b"<a><b>hello</b><c attr='x",
        b"<a><b>hello</b></",
        b"<a><b>hello</b>\n\n",
    ],
)
def test_truncated_input_is_reported_at_eof(payload: bytes) -> None:
    with pytest.raises(MalformedXML) as info:
        parse_bytes(payload)
    assert info.value.at_eof


@pytest.mark.parametrize(
    "payload",
    [
        b"<a/><b/>",
        b"<a><b>x & y</b><c/></a>",
        b"<a><b>x \x06 y</b><c/></a>",
        b"<a><b>x \xc2 y</b><c/></a>",
    ],
)
def test_errors_in_the_middle_are_not_eof(payload: bytes) -> None:
    with pytest.raises(MalformedXML) as info:
        parse_bytes(payload)
    assert not info.value.at_eof
    assert info.value.sample


def test_serialise_keeps_ancestor_namespaces_and_drops_tail() -> None:
    root = parse_bytes(
        b'<r xmlns:dcterms="http://purl.org/dc/terms/" '
        b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        b'<w xmlns:dc="http://purl.org/dc/elements/1.1/">'
        b'<dc:date xsi:type="dcterms:W3CDTF">2000</dc:date> tail</w></r>'
    )
    wrapper = next(iter(root))
    element = next(iter(wrapper))
    out = serialise(element)
    assert out.startswith(b"<dc:date")
    assert out.endswith(b"</dc:date>")
    assert b'xmlns:dcterms="http://purl.org/dc/terms/"' in out
    assert b'xmlns:dc="http://purl.org/dc/elements/1.1/"' in out
    reparsed = parse_bytes(out)
    assert reparsed.tag == "{http://purl.org/dc/elements/1.1/}date"
