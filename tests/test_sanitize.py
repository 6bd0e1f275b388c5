"""Tests for the byte-level repair of broken responses."""

from __future__ import annotations

import time
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator.harvest.safe_xml import parse_bytes
from aggregator.harvest.sanitize import clean_bytes, declared_encoding, trim

TEMPLATE = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords><record><metadata>'
    b'<dc xmlns="http://purl.org/dc/elements/1.1/"><title>@@</title>'
    b"<subject>caf\xc3\xa9</subject></dc></metadata></record></ListRecords></OAI-PMH>"
)


def _doc(content: bytes, template: bytes = TEMPLATE) -> bytes:
    return template.replace(b"@@", content)


def _title(data: bytes) -> str:
    root = parse_bytes(data)
    record = next(iter(next(iter(root))))
    dc = next(iter(next(iter(record))))
    title = next(iter(dc))
    return title.text or ""


# --- trim ---------------------------------------------------------------------------


def test_trim_strips_bom_and_leading_newlines_silently() -> None:
    data, notices = trim(b"\xef\xbb\xbf\n\n  <?xml version='1.0'?><OAI-PMH/>")
    assert data == b"<?xml version='1.0'?><OAI-PMH/>"
    assert notices == []


def test_trim_cuts_php_warning_before_declaration() -> None:
    raw = (b"<b>Warning</b>: Undefined index x in <b>/var/www/oai.php</b>\n"
           b"<?xml version='1.0'?><OAI-PMH/>")
    data, notices = trim(raw)
    assert data == b"<?xml version='1.0'?><OAI-PMH/>"
    assert [n.code for n in notices] == ["leading-junk"]
    assert notices[0].sample is not None and "Warning" in notices[0].sample


def test_trim_keeps_nested_declaration_inside_document() -> None:
    raw = b"<OAI-PMH><x><?xml version='1.0'?></x></OAI-PMH>"
    assert trim(raw) == (raw, [])


def test_trim_cuts_junk_after_root() -> None:
    raw = b"<oai:OAI-PMH xmlns:oai='x'/>\n</oai:OAI-PMH >\nPHP Notice: OAI-PMH cache miss\n"
    data, notices = trim(raw)
    assert data.endswith(b"</oai:OAI-PMH >")
    assert [n.code for n in notices] == ["trailing-junk"]


def test_trim_keeps_trailing_whitespace_and_unchanged_input() -> None:
    raw = b"<OAI-PMH></OAI-PMH>\n\n"
    data, notices = trim(raw)
    assert data is raw
    assert notices == []


def test_trim_leaves_utf16_alone() -> None:
    raw = "<OAI-PMH/>".encode("utf-16")
    assert trim(raw) == (raw, [])


# --- clean_bytes --------------------------------------------------------------------


def test_declared_encoding() -> None:
    assert declared_encoding(b"<?xml version='1.0' encoding='ISO-8859-1'?><a/>") == "iso-8859-1"
    assert declared_encoding(b"<a/>") == "utf-8"


def test_control_chars_are_deleted_with_offset_and_hex_sample() -> None:
    data = _doc(b"a\x06b\x0bc\tok")
    result = clean_bytes(data)
    assert result.changed
    assert _title(result.data) == "abc\tok"
    notice = next(n for n in result.notices if n.code == "control-chars")
    assert "2 control bytes" in notice.message
    offset = data.index(b"\x06")
    assert f"offset {offset}" in notice.message
    assert notice.sample == "06 0b"


def test_noncharacters_and_encoded_surrogates_are_deleted() -> None:
    result = clean_bytes(_doc(b"x\xef\xbf\xbey\xef\xbf\xbfz\xed\xa0\x80!"))
    assert _title(result.data) == "xyz!"
    assert [n.code for n in result.notices] == ["forbidden-chars"]


def test_deletion_that_creates_a_new_forbidden_sequence_is_repeated() -> None:
    result = clean_bytes(_doc(b"\xef\xef\xbf\xbe\xbf\xbe"))
    parse_bytes(result.data)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        (b"&#0;", "\ufffd"),
        (b"&#8;", "\ufffd"),
        (b"&#11;", "\ufffd"),
        (b"&#x1F;", "\ufffd"),
        (b"&#xFFFE;", "\ufffd"),
        (b"&#xffff;", "\ufffd"),
        (b"&#55296;", "\ufffd"),
        (b"&#57343;", "\ufffd"),
        (b"&#x110000;", "\ufffd"),
        (b"&#9;", "\t"),
        (b"&#233;", "\u00e9"),
        (b"&#X41;", "A"),
    ],
)
def test_character_references(ref: bytes, expected: str) -> None:
    result = clean_bytes(_doc(b"[" + ref + b"]" + b"\x01"))
    assert _title(result.data) == f"[{expected}]"


def test_nested_declarations_are_removed_but_stylesheet_pi_kept() -> None:
    data = (b"<?xml version='1.0'?><?xml-stylesheet href='s.xsl'?><OAI-PMH><m>"
            b"<?xml version='1.0' encoding='UTF-8'?><x/></m></OAI-PMH>")
    result = clean_bytes(data)
    assert result.data == (b"<?xml version='1.0'?><?xml-stylesheet href='s.xsl'?>"
                           b"<OAI-PMH><m><x/></m></OAI-PMH>")
    assert [n.code for n in result.notices] == ["nested-xml-declaration"]


def test_latin1_body_declared_utf8_is_transcoded() -> None:
    data = (b'<?xml version="1.0" encoding="UTF-8"?><r><t>Biblioth\xe8que \x93quoted\x94'
            b"</t></r>")
    result = clean_bytes(data)
    root = parse_bytes(result.data)
    assert next(iter(root)).text == "Biblioth\u00e8que \u201cquoted\u201d"
    assert [n.code for n in result.notices] == ["transcoded"]


def test_undefined_cp1252_bytes_fall_back_to_latin1() -> None:
    result = clean_bytes(b"<r><t>a\x81b\xe9</t></r>")
    assert next(iter(parse_bytes(result.data))).text == "a\x81b\u00e9"


def test_lone_c2_bytes_in_utf8_body_become_replacement_chars() -> None:
    result = clean_bytes(_doc(b"M\xc2-B \xc2\xa0ok"))
    assert _title(result.data) == "M\ufffd-B \u00a0ok"
    assert [n.code for n in result.notices] == ["invalid-utf8"]


def test_declared_latin1_is_left_alone() -> None:
    data = b"<?xml version='1.0' encoding='ISO-8859-1'?><r><t>caf\xe9</t></r>"
    result = clean_bytes(data)
    assert not result.changed
    assert result.data == data
    assert next(iter(parse_bytes(result.data))).text == "caf\u00e9"


def test_clean_document_is_unchanged() -> None:
    data = _doc(b"plain &amp; simple &#233;")
    result = clean_bytes(data)
    assert result.data == data
    assert not result.changed
    assert result.notices == []


def test_cleaning_is_fast_on_large_bodies() -> None:
    record = _doc(b"Some title \x06 with caf\xc3\xa9 and \xc2 &#11;") * 1
    body = record[:-len(b"</OAI-PMH>")] + b"<x>" + b"filler text " * 1_000_000 + b"</x></OAI-PMH>"
    start = time.perf_counter()
    result = clean_bytes(body)
    elapsed = time.perf_counter() - start
    assert result.changed
    assert elapsed < 2.0, f"cleaning {len(body)} bytes took {elapsed:.2f}s"


# --- invariants ---------------------------------------------------------------------

_RAW_TEXT = st.binary(max_size=200).map(
    lambda b: b.replace(b"<", b"").replace(b"&", b"").replace(b">", b"")
)
_SETTINGS = settings(max_examples=300, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(_RAW_TEXT)
def test_any_raw_text_bytes_clean_to_well_formed_xml(content: bytes) -> None:
    parse_bytes(clean_bytes(_doc(content)).data)


@_SETTINGS
@given(st.text(alphabet=st.characters(codec=None), max_size=100))
def test_any_text_with_surrogates_cleans_to_well_formed_xml(text: str) -> None:
    raw = escape(text).encode("utf-8", errors="surrogatepass")
    parse_bytes(clean_bytes(_doc(raw)).data)


@_SETTINGS
@given(st.lists(st.integers(min_value=0, max_value=0x11FFFF), max_size=10), st.booleans())
def test_any_character_reference_cleans_to_well_formed_xml(points: list[int], hexa: bool) -> None:
    refs = b"".join(
        (f"&#x{p:X};" if hexa else f"&#{p};").encode() for p in points
    )
    parse_bytes(clean_bytes(_doc(refs)).data)


@_SETTINGS
@given(st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff"),
    max_size=100,
).filter(lambda s: all(c in "\t\n\r" or ord(c) >= 0x20 for c in s)))
def test_valid_text_is_never_modified(text: str) -> None:
    data = _doc(escape(text).encode("utf-8"))
    assert clean_bytes(data).data == data
