"""Tests for OAI-PMH page parsing, built on quirks seen in real responses."""

from __future__ import annotations

import pytest

from aggregator.errors import (
    ForbiddenXML,
    MalformedXML,
    NotOAIResponse,
    OAIProtocolError,
    WrongAnswer,
)
from aggregator.harvest.identify import parse_identify, parse_metadata_formats, parse_sets
from aggregator.harvest.parse import parse_list_page
from aggregator.harvest.safe_xml import parse_bytes

OAI = "http://www.openarchives.org/OAI/2.0/"
DC_NS = 'xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" ' \
        'xmlns:dc="http://purl.org/dc/elements/1.1/"'
MARC = "http://www.loc.gov/MARC21/slim"


def dc(title: str = "A title", ns: str = DC_NS) -> str:
    return f"<oai_dc:dc {ns}><dc:title>{title}</dc:title><dc:creator>Doe</dc:creator></oai_dc:dc>"


def rec(ident: str, metadata: str | None = None, *, status: str = "", sets: str = "",
        stamp: str = "2024-01-02", about: str = "") -> str:
    status_attr = f' status="{status}"' if status else ""
    body = f"<metadata>{metadata if metadata is not None else dc()}</metadata>"
    if metadata == "":
        body = ""
    return (f"<record><header{status_attr}><identifier>{ident}</identifier>"
            f"<datestamp>{stamp}</datestamp>{sets}</header>{body}{about}</record>")


def page(records: str, token: str = "", *, verb: str = "ListRecords",
         root: str = f'<OAI-PMH xmlns="{OAI}">', prolog: str = '<?xml version="1.0"?>\n') -> bytes:
    close = "</" + root[1:].split()[0].rstrip(">") + ">"
    return (f"{prolog}{root}<responseDate>2024-05-01T10:00:00Z</responseDate>"
            f'<request verb="{verb}">http://example.org/oai</request>'
            f"<{verb}>{records}{token}</{verb}>{close}").encode()


def error_page(*errors: tuple[str, str]) -> bytes:
    body = "".join(f'<error code="{code}">{msg}</error>' for code, msg in errors)
    return (f'<OAI-PMH xmlns="{OAI}"><responseDate>2024-05-01T10:00:00Z</responseDate>'
            f'<request verb="ListRecords">http://example.org/oai</request>{body}</OAI-PMH>'
            ).encode()


THREE = rec("oai:x:1") + rec("oai:x:2") + rec("oai:x:3")


# --- plain pages --------------------------------------------------------------------


def test_basic_page_with_token() -> None:
    token = ('<resumptionToken completeListSize="250" cursor="0" '
             'expirationDate="2024-05-02T00:00:00Z">  abc/100+x=  </resumptionToken>')
    result = parse_list_page(page(THREE, token))
    assert [r.identifier for r in result.records] == ["oai:x:1", "oai:x:2", "oai:x:3"]
    assert result.response_date == "2024-05-01T10:00:00Z"
    assert result.token == "abc/100+x="
    assert result.had_token_element
    assert (result.complete_list_size, result.cursor) == (250, 0)
    assert result.expiration_date == "2024-05-02T00:00:00Z"
    assert result.notices == []
    first = result.records[0]
    assert first.datestamp == "2024-01-02"
    assert not first.deleted
    assert first.metadata_xml is not None
    assert first.metadata_xml.startswith(b"<oai_dc:dc")
    assert first.metadata_xml.endswith(b"</oai_dc:dc>")
    parse_bytes(first.metadata_xml)


@pytest.mark.parametrize(
    ("token", "had"),
    [
        ('<resumptionToken completeListSize="3" cursor="0"/>', True),
        ("<resumptionToken>  \n </resumptionToken>", True),
        ("", False),
    ],
)
def test_last_page_token_shapes(token: str, had: bool) -> None:
    result = parse_list_page(page(THREE, token))
    assert result.token is None
    assert result.had_token_element is had


def test_non_integer_token_attributes() -> None:
    token = '<resumptionToken completeListSize="many" cursor=" 7 ">t</resumptionToken>'
    result = parse_list_page(page(THREE, token))
    assert (result.complete_list_size, result.cursor) == (None, 7)


def test_bom_leading_newline_and_stylesheet_pi() -> None:
    data = b"\xef\xbb\xbf\n" + page(
        THREE, prolog='<?xml version="1.0" encoding="UTF-8"?>\n'
                      '<?xml-stylesheet type="text/xsl" href="oai2.xsl"?>\n')
    result = parse_list_page(data)
    assert len(result.records) == 3
    assert result.notices == []


def test_deleted_records_in_any_case_drop_metadata() -> None:
    records = (rec("oai:x:1", status="Deleted") + rec("oai:x:2", "", status=" deleted ")
               + rec("oai:x:3"))
    result = parse_list_page(page(records))
    assert [(r.identifier, r.deleted, r.metadata_xml is None) for r in result.records] == [
        ("oai:x:1", True, True), ("oai:x:2", True, True), ("oai:x:3", False, False)]
    assert result.header_only == 0


def test_header_only_live_records_are_counted_once_per_page() -> None:
    records = (rec("oai:x:1", "") + rec("oai:x:2", "<!-- nothing -->") + rec("oai:x:3"))
    result = parse_list_page(page(records))
    assert [r.identifier for r in result.records] == ["oai:x:3"]
    assert result.header_only == 2
    assert [n.code for n in result.notices] == ["header-only"]


def test_identifiers_are_stripped_and_kept_verbatim_otherwise() -> None:
    records = (rec("\n   hdl:1765/308\n  ") + rec("KOHA-OAI-TEST:42")
               + rec("oai:the.european.library.UMr8:oai:scholarworks.umt.edu:goedicke-1008"))
    result = parse_list_page(page(records))
    assert [r.identifier for r in result.records] == [
        "hdl:1765/308", "KOHA-OAI-TEST:42",
        "oai:the.european.library.UMr8:oai:scholarworks.umt.edu:goedicke-1008"]


def test_missing_identifier_is_skipped_with_notice() -> None:
    records = ('<record><header status="deleted"><!-- none --></header></record>'
               + rec("  ") + rec("oai:x:3"))
    result = parse_list_page(page(records))
    assert [r.identifier for r in result.records] == ["oai:x:3"]
    assert [n.code for n in result.notices] == ["missing-identifier", "missing-identifier"]


def test_set_specs_in_order_without_duplicates() -> None:
    sets = "<setSpec>b</setSpec><setSpec> a </setSpec><setSpec>b</setSpec><setSpec/>"
    result = parse_list_page(page(rec("oai:x:1", sets=sets)))
    assert result.records[0].set_specs == ("b", "a")


def test_namespaces_declared_on_record_travel_with_metadata() -> None:
    record = (f"<record {DC_NS}><header><identifier>oai:x:1</identifier>"
              f"<datestamp>2024-01-01</datestamp></header><metadata>"
              f"<oai_dc:dc><dc:title>T</dc:title></oai_dc:dc></metadata></record>")
    result = parse_list_page(page(record))
    xml = result.records[0].metadata_xml
    assert xml is not None
    root = parse_bytes(xml)
    assert root.tag == "{http://www.openarchives.org/OAI/2.0/oai_dc/}dc"
    assert next(iter(root)).tag == "{http://purl.org/dc/elements/1.1/}title"


def test_oai_prefixed_elements() -> None:
    data = (f'<oai:OAI-PMH xmlns:oai="{OAI}"><oai:responseDate>2024-01-01</oai:responseDate>'
            f"<oai:ListRecords><oai:record><oai:header><oai:identifier>oai:x:1</oai:identifier>"
            f"<oai:datestamp>2024-01-01</oai:datestamp></oai:header><oai:metadata>{dc()}"
            f"</oai:metadata></oai:record><oai:resumptionToken>t1</oai:resumptionToken>"
            f"</oai:ListRecords></oai:OAI-PMH>").encode()
    result = parse_list_page(data)
    assert [r.identifier for r in result.records] == ["oai:x:1"]
    assert result.token == "t1"


def test_root_without_namespace_falls_back_with_notice() -> None:
    result = parse_list_page(page(THREE, "<resumptionToken>t</resumptionToken>",
                                  root="<OAI-PMH>"))
    assert len(result.records) == 3
    assert result.token == "t"
    assert [n.code for n in result.notices] == ["no-namespace"]


def test_junk_after_root_is_cut() -> None:
    data = page(THREE) + b"\n<br />\n<b>Warning</b>: session_start(): headers already sent"
    result = parse_list_page(data)
    assert len(result.records) == 3
    assert [n.code for n in result.notices] == ["trailing-junk"]


def test_list_identifiers_headers_are_the_records() -> None:
    headers = ("<header><identifier>oai:x:1</identifier><datestamp>2004-01-01</datestamp>"
               "<setSpec>7374617475733D707562</setSpec></header>"
               '<header status="deleted"><identifier>oai:x:2</identifier>'
               "<datestamp>2004-01-02</datestamp></header>")
    result = parse_list_page(page(headers, verb="ListIdentifiers"), verb="ListIdentifiers")
    assert [(r.identifier, r.deleted, r.metadata_xml) for r in result.records] == [
        ("oai:x:1", False, None), ("oai:x:2", True, None)]
    assert result.records[0].set_specs == ("7374617475733D707562",)
    assert result.header_only == 0


def test_get_record_verb() -> None:
    result = parse_list_page(page(rec("oai:x:1"), verb="GetRecord"), verb="GetRecord")
    assert [r.identifier for r in result.records] == ["oai:x:1"]


def test_unknown_verb_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        parse_list_page(page(THREE), verb="Identify")


def test_response_without_verb_element() -> None:
    with pytest.raises(WrongAnswer, match="asked for ListRecords, the server answered "
                                          "with <ListSets>"):
        parse_list_page(page(THREE, verb="ListSets"))
    with pytest.raises(MalformedXML, match="no <ListRecords> element"):
        parse_list_page(page(THREE, verb="Nothing"))


# --- OAI errors and non-OAI bodies --------------------------------------------------


def test_no_records_match_is_an_empty_page() -> None:
    result = parse_list_page(error_page(("noRecordsMatch", "Nothing here")))
    assert result.no_records_match
    assert result.records == []
    assert result.response_date == "2024-05-01T10:00:00Z"


def test_bad_resumption_token_raises_with_code_and_all_errors() -> None:
    with pytest.raises(OAIProtocolError) as info:
        parse_list_page(error_page(("badResumptionToken", "expired"), ("badArgument", "x")))
    assert info.value.code == "badResumptionToken"
    assert info.value.errors == [("badResumptionToken", "expired"), ("badArgument", "x")]


def test_unknown_error_code_is_tolerated() -> None:
    with pytest.raises(OAIProtocolError) as info:
        parse_list_page(error_page(("foo", "custom")))
    assert info.value.code == "foo"


@pytest.mark.parametrize(
    "body",
    [
        b"<html><head><title>Maintenance</title></head><body><p>Back soon<br></body></html>",
        b'<!DOCTYPE html>\n<html lang="en"><body>Service unavailable</body></html>',
        b'<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
        b'{"error": "Elasticsearch timeout"}',
        b"",
        b"   \n",
    ],
)
def test_non_oai_bodies(body: bytes) -> None:
    with pytest.raises(NotOAIResponse) as info:
        parse_list_page(body)
    assert info.value.head == body.lstrip()[:500] or info.value.head == body[:500]


def test_doctype_in_oai_page_is_forbidden() -> None:
    data = page(THREE, prolog='<?xml version="1.0"?><!DOCTYPE OAI-PMH [<!ENTITY e "x">]>')
    with pytest.raises(ForbiddenXML):
        parse_list_page(data)


def test_truncated_page_is_not_salvaged() -> None:
    data = page(THREE, "<resumptionToken>next</resumptionToken>")
    with pytest.raises(MalformedXML) as info:
        parse_list_page(data[: len(data) // 2])
    assert info.value.at_eof


# --- repair ---------------------------------------------------------------------------


def test_nested_xml_declaration_in_metadata_is_repaired() -> None:
    records = rec("oai:x:1", '<?xml version="1.0" encoding="UTF-8"?>' + dc()) + rec("oai:x:2")
    result = parse_list_page(page(records))
    assert len(result.records) == 2
    assert [n.code for n in result.notices] == ["repaired-xml"]
    assert "XML declarations" in result.notices[0].message


def test_control_chars_are_repaired() -> None:
    data = page(rec("oai:x:1", dc("bad\x06title\x0b")) + rec("oai:x:2"))
    result = parse_list_page(data)
    assert len(result.records) == 2
    xml = result.records[0].metadata_xml
    assert xml is not None and b"<dc:title>badtitle</dc:title>" in xml
    assert result.notices[0].code == "repaired-xml"
    assert result.notices[0].sample == "06 0b"


def test_lone_c2_bytes_become_replacement_characters() -> None:
    data = page(rec("oai:x:1", dc("caf\u00e9")) + rec("oai:x:2", dc("M@-B")))
    data = data.replace(b"@", b"\xc2")
    result = parse_list_page(data)
    xml = result.records[1].metadata_xml
    assert xml is not None and "M\ufffd-B".encode() in xml


def test_latin1_body_declared_utf8() -> None:
    data = page(rec("oai:x:1", dc("Biblioth\u00e8que")),
                prolog='<?xml version="1.0" encoding="UTF-8"?>').decode().encode("latin-1")
    result = parse_list_page(data)
    xml = result.records[0].metadata_xml
    assert xml is not None and "Biblioth\u00e8que".encode() in xml
    assert result.notices[0].code == "repaired-xml"


# --- salvage --------------------------------------------------------------------------


def test_bare_ampersand_in_one_record_keeps_the_other_two() -> None:
    records = rec("oai:x:1") + rec("oai:x:2", dc("Tom & Jerry")) + rec("oai:x:3")
    token = '<resumptionToken cursor="0">next-page</resumptionToken>'
    result = parse_list_page(page(records, token))
    assert [r.identifier for r in result.records] == ["oai:x:1", "oai:x:3"]
    bad = [n for n in result.notices if n.code == "bad-record"]
    assert len(bad) == 1
    assert "oai:x:2" in bad[0].message
    assert bad[0].sample is not None and len(bad[0].sample) <= 200
    assert result.token == "next-page"
    assert result.cursor == 0
    assert result.response_date == "2024-05-01T10:00:00Z"


def test_salvage_with_prefixed_elements_and_namespaces_on_root() -> None:
    data = (f'<oai:OAI-PMH xmlns:oai="{OAI}" {DC_NS}><oai:ListRecords>'
            + "".join(
                f"<oai:record><oai:header><oai:identifier>oai:x:{i}</oai:identifier>"
                f"</oai:header><oai:metadata><oai_dc:dc><dc:title>{t}</dc:title></oai_dc:dc>"
                f"</oai:metadata></oai:record>" for i, t in enumerate(["ok", "a & b", "ok"]))
            + "</oai:ListRecords></oai:OAI-PMH>").encode()
    result = parse_list_page(data)
    assert [r.identifier for r in result.records] == ["oai:x:0", "oai:x:2"]
    xml = result.records[0].metadata_xml
    assert xml is not None and b'xmlns:dc="http://purl.org/dc/elements/1.1/"' in xml


def test_huge_text_node_in_one_record_keeps_the_others() -> None:
    records = rec("oai:x:1") + rec("oai:x:2", dc("x" * (11 * 1024 * 1024))) + rec("oai:x:3")
    result = parse_list_page(page(records, "<resumptionToken>t2</resumptionToken>"))
    assert [r.identifier for r in result.records] == ["oai:x:1", "oai:x:3"]
    assert [n.code for n in result.notices if n.code == "bad-record"] == ["bad-record"]
    assert result.token == "t2"


def test_deep_metadata_in_one_record_keeps_the_others() -> None:
    deep = "<x>" * 300 + "</x>" * 300
    records = rec("oai:x:1") + rec("oai:x:2", deep) + rec("oai:x:3")
    result = parse_list_page(page(records))
    assert [r.identifier for r in result.records] == ["oai:x:1", "oai:x:3"]


def _marc(ident: int, extra: str = "") -> str:
    return (f'<record xmlns="{MARC}"><leader>00000nam a2200000 a 4500</leader>'
            f'<controlfield tag="001">{ident}</controlfield>'
            f'<datafield tag="245" ind1="1" ind2="0"><subfield code="a">Title {ident}{extra}'
            f"</subfield></datafield></record>")


def test_marcxml_records_inside_metadata_are_not_split() -> None:
    records = "".join(
        f"<record>\n  <header><identifier>oai:m:{i}</identifier></header>"
        f"<metadata>{_marc(i, ' & more' if i == 2 else '')}</metadata></record>"
        for i in range(1, 4))
    result = parse_list_page(page(records, "<resumptionToken>m2</resumptionToken>"))
    assert [r.identifier for r in result.records] == ["oai:m:1", "oai:m:3"]
    xml = result.records[1].metadata_xml
    assert xml is not None
    marc = parse_bytes(xml)
    assert marc.tag == f"{{{MARC}}}record"
    assert [child.get("tag") for child in marc][1:] == ["001", "245"]
    assert result.token == "m2"


def test_salvaged_list_identifiers() -> None:
    headers = ("<header><identifier>oai:x:1</identifier></header>"
               "<header><identifier>oai:x:2&</identifier></header>"
               "<header><identifier>oai:x:3</identifier></header>")
    result = parse_list_page(page(headers, verb="ListIdentifiers"), verb="ListIdentifiers")
    assert [r.identifier for r in result.records] == ["oai:x:1", "oai:x:3"]


def test_broken_token_is_never_taken_as_end_of_list() -> None:
    records = rec("oai:x:1") + rec("oai:x:2", dc("a & b"))
    data = page(records, "<resumptionToken>next & more</resumptionToken>")
    with pytest.raises(MalformedXML):
        parse_list_page(data)


def test_broken_response_date_only_still_parses_records() -> None:
    data = page(THREE).replace(b"2024-05-01T10:00:00Z", b"2024 & later")
    result = parse_list_page(data)
    assert len(result.records) == 3


# --- upstream provenance (the about blocks of records an aggregator re-exposes) -------

PROV = "http://www.openarchives.org/OAI/2.0/provenance"
DC_NAMESPACE = "http://www.openarchives.org/OAI/2.0/oai_dc/"


def origin(base: str, ident: str, *, inner: str = "", harvest: str = "2024-03-01T08:00:00Z",
           altered: str = "false", p: str = "") -> str:
    """An originDescription (prefix ``p`` bound to the provenance namespace elsewhere)."""
    return (f'<{p}originDescription harvestDate="{harvest}" altered="{altered}">'
            f"<{p}baseURL>{base}</{p}baseURL><{p}identifier>{ident}</{p}identifier>"
            f"<{p}datestamp>2023-12-31</{p}datestamp>"
            f"<{p}metadataNamespace>{DC_NAMESPACE}</{p}metadataNamespace>"
            f"{inner}</{p}originDescription>")


def provenance(inner: str) -> str:
    return (f'<about><provenance xmlns="{PROV}" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xsi:schemaLocation="{PROV} http://www.openarchives.org/OAI/2.0/provenance.xsd">'
            f"{inner}</provenance></about>")


# The hub harvested the library, which had harvested a journal: two levels.
NESTED = provenance(origin("http://hub.example.org/oai", "oai:hub:lib/7",
                           inner=origin("http://lib.example.org/oai", "oai:lib:7",
                                        harvest="2023-01-01")))


def origins_of(xml: bytes) -> list[tuple[str | None, str | None]]:
    """(baseURL, identifier) of an originDescription and of each one nested in it."""
    out: list[tuple[str | None, str | None]] = []
    node = parse_bytes(xml)
    assert node.tag == f"{{{PROV}}}originDescription"
    while True:
        parts = {str(el.tag): el.text for el in node}
        out.append((parts[f"{{{PROV}}}baseURL"], parts[f"{{{PROV}}}identifier"]))
        inner = [el for el in node if el.tag == f"{{{PROV}}}originDescription"]
        if not inner:
            return out
        node = inner[0]


def test_provenance_is_kept_with_its_nested_origin_and_only_its_namespaces() -> None:
    result = parse_list_page(page(rec("oai:x:1", about=NESTED) + rec("oai:x:2")))
    first, second = result.records
    assert first.provenance_xml is not None and second.provenance_xml is None
    assert origins_of(first.provenance_xml) == [("http://hub.example.org/oai", "oai:hub:lib/7"),
                                                ("http://lib.example.org/oai", "oai:lib:7")]
    assert first.provenance_xml.startswith(f'<originDescription xmlns="{PROV}"'.encode())
    # only the namespaces it uses: not the OAI default, not xsi from the container
    assert f'"{OAI}"'.encode() not in first.provenance_xml
    assert b"xsi" not in first.provenance_xml
    assert first.metadata_xml == second.metadata_xml  # the metadata is not touched
    assert not result.notices


def test_provenance_with_a_prefix_declared_on_the_root_stands_on_its_own() -> None:
    about = f"<about><pv:provenance>{origin('http://hub/oai', 'oai:h:1', p='pv:')}" \
            "</pv:provenance></about>"
    data = page(rec("oai:x:1", about=about),
                root=f'<OAI-PMH xmlns="{OAI}" xmlns:pv="{PROV}">')
    xml = parse_list_page(data).records[0].provenance_xml
    assert xml is not None and xml.startswith(f'<pv:originDescription xmlns:pv="{PROV}"'.encode())
    assert origins_of(xml) == [("http://hub/oai", "oai:h:1")]


def test_only_the_first_provenance_container_counts() -> None:
    rights = ('<about><rights xmlns="http://www.openarchives.org/OAI/2.0/rights/">'
              "<rightsReference ref='http://x'/></rights></about>")
    later = provenance(origin("http://other/oai", "oai:o:1"))
    result = parse_list_page(page(rec("oai:x:1", about=rights + NESTED + later)))
    xml = result.records[0].provenance_xml
    assert xml is not None and origins_of(xml)[0] == ("http://hub.example.org/oai",
                                                      "oai:hub:lib/7")


@pytest.mark.parametrize("about", [
    "<about>just text</about>",
    "<about/>",
    '<about><dc:rights xmlns:dc="http://purl.org/dc/elements/1.1/">CC BY</dc:rights></about>',
    # right names, wrong namespace: the OAI namespace itself
    f"<about><provenance>{origin('http://a/oai', 'oai:a:1')}</provenance></about>",
])
def test_foreign_about_content_is_not_provenance(about: str) -> None:
    result = parse_list_page(page(rec("oai:x:1", about=about)))
    assert [r.provenance_xml for r in result.records] == [None]
    assert not result.notices


@pytest.mark.parametrize("inner", [
    "",  # an empty container
    origin("http://a/oai", "oai:a:1") * 2,  # two origins
    origin("http://a/oai", "oai:a:1").replace("<baseURL>http://a/oai</baseURL>", ""),
    origin("http://a/oai", "oai:a:1", harvest="yesterday"),
    origin("http://a/oai", "oai:a:1", altered="maybe"),
    origin("http://a/oai", "  "),  # an empty identifier
    origin("http://a/oai", "oai:a:1", inner="<note>hand-made</note>"),
    origin("http://a/oai", "oai:a:1", inner=origin("http://b/oai", "oai:b:1", harvest="")),
])
def test_malformed_provenance_is_ignored_with_one_notice_per_page(inner: str) -> None:
    records = rec("oai:x:1", about=provenance(inner)) + rec("oai:x:2", about=provenance(inner))
    result = parse_list_page(page(records + rec("oai:x:3", about=NESTED)))
    assert [r.identifier for r in result.records] == ["oai:x:1", "oai:x:2", "oai:x:3"]
    assert [r.provenance_xml is None for r in result.records] == [True, True, False]
    [notice] = result.notices
    assert notice.code == "provenance-ignored" and "2 records" in notice.message
    assert notice.sample == "oai:x:1"


def test_a_hostile_depth_of_origins_is_ignored() -> None:
    inner = ""
    for level in range(40):
        inner = origin(f"http://h{level}/oai", f"oai:h{level}:1", inner=inner)
    result = parse_list_page(page(rec("oai:x:1", about=provenance(inner))))
    assert result.records[0].provenance_xml is None
    assert [n.code for n in result.notices] == ["provenance-ignored"]


def test_deleted_records_and_identifier_lists_carry_no_provenance() -> None:
    result = parse_list_page(page(rec("oai:x:1", "", status="deleted", about=NESTED)))
    assert [(r.deleted, r.provenance_xml) for r in result.records] == [(True, None)]
    headers = "<header><identifier>oai:x:1</identifier></header>"
    listed = parse_list_page(page(headers, verb="ListIdentifiers"), verb="ListIdentifiers")
    assert [r.provenance_xml for r in listed.records] == [None]


def test_salvaged_records_keep_their_provenance() -> None:
    records = (rec("oai:x:1", about=NESTED) + rec("oai:x:2", dc("Tom & Jerry"))
               + rec("oai:x:3", about=provenance("<broken/>")))
    result = parse_list_page(page(records))
    assert [r.identifier for r in result.records] == ["oai:x:1", "oai:x:3"]
    xml = result.records[0].provenance_xml
    assert xml is not None and len(origins_of(xml)) == 2
    assert result.records[1].provenance_xml is None
    assert "provenance-ignored" in {n.code for n in result.notices}


# --- Identify / ListMetadataFormats / ListSets -----------------------------------------


def identify(body: str) -> bytes:
    return (f'<OAI-PMH xmlns="{OAI}"><responseDate>2024-05-01T10:00:00Z</responseDate>'
            f'<request verb="Identify">http://x/oai</request><Identify>{body}</Identify>'
            f"</OAI-PMH>").encode()


GOOD_IDENTIFY = (
    "<repositoryName>Repo</repositoryName><baseURL>http://x/oai</baseURL>"
    "<protocolVersion>2.0</protocolVersion><adminEmail>a@x.org</adminEmail>"
    "<earliestDatestamp>2001-01-01T00:00:00Z</earliestDatestamp>"
    "<deletedRecord>persistent</deletedRecord><granularity>YYYY-MM-DDThh:mm:ssZ</granularity>"
    "<compression>gzip</compression><description>"
    '<oai-identifier xmlns="http://www.openarchives.org/OAI/2.0/oai-identifier">'
    "<scheme>oai</scheme><repositoryIdentifier>x.org</repositoryIdentifier>"
    "<delimiter>:</delimiter><sampleIdentifier>oai:x.org:1</sampleIdentifier>"
    "</oai-identifier></description>"
)


def test_identify_good() -> None:
    info = parse_identify(identify(GOOD_IDENTIFY))
    assert info.repository_name == "Repo"
    assert info.base_url == "http://x/oai"
    assert info.protocol_version == "2.0"
    assert info.admin_emails == ["a@x.org"]
    assert info.deleted_record == "persistent"
    assert info.granularity == "YYYY-MM-DDThh:mm:ssZ"
    assert info.compression == ["gzip"]
    assert info.repository_identifier == "x.org"
    assert info.response_date == "2024-05-01T10:00:00Z"
    assert info.notices == []


def test_identify_loose_validation_warnings() -> None:
    body = (GOOD_IDENTIFY.replace("<repositoryName>Repo</repositoryName>",
                                  "<repositoryName>Repo</repositoryName>" * 2)
            .replace("a@x.org", "mailto:a@x.org")
            .replace("2001-01-01T00:00:00Z", "")
            .replace("YYYY-MM-DDThh:mm:ssZ", "yyyy-mm-dd")
            .replace("persistent", "Sometimes")
            .replace("x.org</repositoryIdentifier>", "agora</repositoryIdentifier>"))
    info = parse_identify(identify(body))
    assert sorted(n.code for n in info.notices) == [
        "identify-admin-email", "identify-deleted-record", "identify-earliest-datestamp",
        "identify-granularity", "identify-repository-identifier", "identify-repository-name"]
    assert info.deleted_record == "sometimes"


def test_identify_garbage_earliest_datestamp() -> None:
    body = GOOD_IDENTIFY.replace("2001-01-01T00:00:00Z", "aaaa-bb-cc")
    info = parse_identify(identify(body))
    assert [n.code for n in info.notices] == ["identify-earliest-datestamp"]
    assert info.earliest_datestamp == "aaaa-bb-cc"


def test_identify_error_raises() -> None:
    with pytest.raises(OAIProtocolError) as info:
        parse_identify(error_page(("badVerb", "OAI Repository disabled")))
    assert info.value.code == "badVerb"


def test_metadata_formats_trim_namespaces() -> None:
    data = (f'<OAI-PMH xmlns="{OAI}"><ListMetadataFormats>'
            "<metadataFormat><metadataPrefix> marc21 </metadataPrefix>"
            "<schema>http://www.loc.gov/MARC21/slim http://www.loc.gov/ standards/x.xsd</schema>"
            "<metadataNamespace>\n http://www.loc.gov/MARC21/slim http://www.loc.gov/ "
            "standards/marcxml/schema/MARC21slim</metadataNamespace></metadataFormat>"
            "<metadataFormat><metadataPrefix>bare</metadataPrefix></metadataFormat>"
            "</ListMetadataFormats></OAI-PMH>").encode()
    formats = parse_metadata_formats(data)
    assert [(f.prefix, f.schema, f.namespace) for f in formats] == [
        ("marc21", "http://www.loc.gov/MARC21/slim", "http://www.loc.gov/MARC21/slim"),
        ("bare", None, None)]


def test_sets_with_token_and_cdata() -> None:
    data = (f'<OAI-PMH xmlns="{OAI}"><ListSets>'
            "<set><setSpec>3:5</setSpec><setName>Economics</setName></set>"
            "<set><setSpec><![CDATA[scielo]]></setSpec></set>"
            "<resumptionToken> s2 </resumptionToken></ListSets></OAI-PMH>").encode()
    sets, token = parse_sets(data)
    assert [(s.spec, s.name) for s in sets] == [("3:5", "Economics"), ("scielo", None)]
    assert token == "s2"


def test_no_set_hierarchy_is_empty() -> None:
    assert parse_sets(error_page(("noSetHierarchy", "no sets"))) == ([], None)
