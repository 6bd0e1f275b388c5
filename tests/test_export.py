"""Exports (MARCXML, BibTeX, RIS, JSON, citation line) of ordinary and hostile records."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from aggregator.errors import UserInputError
from aggregator.export import FORMATS, ExportRecord, citation, filename, render
from aggregator.export.model import one_line
from aggregator.normalize import normalize
from aggregator.normalize.fields import Fields

MARC_NS = "http://www.loc.gov/MARC21/slim"
M = "{" + MARC_NS + "}"
XSD = Path(__file__).resolve().parents[1].parent / "shared" / "oai" / "xsd" / "MARC21slim.xsd"

HOSTILE = (
    "}, author={x", "\\", "\\}", "{{{", "}}}", "%$#&_~^", "\nER  - \nTY  - JOUR",
    "<script>alert(1)</script>", "\x00\x01\x07\x08 bell", "a\u2028b\u0085c\x1ed",
    "@misc{evil, title={x}}", "\r\nAU  - Evil", "\ufffe\uffff",
)

FIELDS = Fields(
    title="Metodologi penelitian perpustakaan",
    other_titles=("منهجية البحث في المكتبات",),
    creators=("Hasugian, Jonner", "Nurhayati, Siti", "Sulistyo-Basuki"),
    contributors=("Pendit, Putu Laxman",),
    subjects=("Perpustakaan -- Penelitian", "Library science"),
    abstract="Buku ini membahas metodologi penelitian.",
    publisher="USU Press",
    year=2019,
    type="Book",
    languages=("id", "en"),
    identifiers={"isbn": ("9786028519939",), "issn": ("0317-8471",),
                 "doi": ("10.1234/usu.2019.7",), "url": ("https://usu.example.ac.id/r/1",)},
    rights=("CC BY 4.0",),
    link="https://usu.example.ac.id/r/1",
    format="oai_dc",
)


def record(fields: Fields = FIELDS, *, rid: int = 42, prefix: str = "oai_dc",
           xml: bytes | None = None, identifier: str = "oai:usu.example.ac.id:1") -> ExportRecord:
    return ExportRecord(id=rid, fields=fields, member_slug="usu",
                        member_name="Perpustakaan Universitas Sumatera Utara",
                        identifier=identifier, metadata_prefix=prefix, metadata_xml=xml,
                        url=f"https://katalog.example.id/records/{rid}")


# ---------------------------------------------------------------- formats and names

def test_formats_table() -> None:
    assert {(f.name, f.extension, f.label) for f in FORMATS.values()} == {
        ("marcxml", "xml", "MARCXML"), ("bibtex", "bib", "BibTeX"),
        ("ris", "ris", "RIS"), ("json", "json", "JSON")}
    assert all(name == f.name for name, f in FORMATS.items())
    assert FORMATS["json"].media_type == "application/json"


@pytest.mark.parametrize("fmt", ["pdf", "", "BIBTEX", "marc"])
def test_unknown_format_is_user_error_naming_known_ones(fmt: str) -> None:
    for call in (lambda: render([record()], fmt), lambda: filename(fmt, "x")):
        with pytest.raises(UserInputError, match="bibtex, json, marcxml, ris"):
            call()


@pytest.mark.parametrize(("fmt", "stem", "expected"), [
    ("bibtex", "record-42", "record-42.bib"),
    ("marcxml", "record-42", "record-42.xml"),
    ("ris", "hasil pencarian", "hasil-pencarian.ris"),
    ("json", "../../etc/passwd", "etc-passwd.json"),
    ("json", "Perpustakaan Āceh/ß", "Perpustakaan-Aceh.json"),
    ("ris", "مكتبة", "export.ris"),
    ("bibtex", 'a"b\r\nContent-Type: x', "a-b-Content-Type-x.bib"),
    ("ris", "x" * 500, "x" * 100 + ".ris"),
])
def test_filename(fmt: str, stem: str, expected: str) -> None:
    name = filename(fmt, stem)
    assert name == expected
    assert re.fullmatch(r"[A-Za-z0-9._-]+", name)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_empty_export_is_a_valid_empty_document(fmt: str) -> None:
    out = render([], fmt)
    if fmt == "marcxml":
        assert etree.fromstring(out).tag == M + "collection"
    elif fmt == "json":
        assert json.loads(out) == {"records": []}
    else:
        assert out == b""


# ---------------------------------------------------------------- MARCXML, generated

def marc_schema() -> Any:
    if not XSD.exists():
        pytest.skip(f"{XSD} not available")
    return etree.XMLSchema(etree.parse(str(XSD)))


def subfields(rec: Any, tag: str, code: str) -> list[str]:
    return [sf.text or "" for df in rec.iterfind(f"{M}datafield[@tag='{tag}']")
            for sf in df.iterfind(f"{M}subfield[@code='{code}']")]


def generated(fields: Fields, **kw: Any) -> Any:
    out = render([record(fields, **kw)], "marcxml")
    assert out.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = etree.fromstring(out)
    assert root.tag == M + "collection"
    assert marc_schema().validate(root), marc_schema().error_log
    recs = root.findall(M + "record")
    assert len(recs) == 1
    return recs[0]


def test_generated_marc_fields() -> None:
    rec = generated(FIELDS)
    leader = rec.findtext(M + "leader")
    assert len(leader) == 24 and leader[6:8] == "am" and leader[20:] == "4500"
    assert rec.findtext(f"{M}controlfield[@tag='001']") == "oai:usu.example.ac.id:1"
    fixed = rec.findtext(f"{M}controlfield[@tag='008']")
    assert len(fixed) == 40 and fixed[6:11] == "s2019" and fixed[35:38] == "ind"
    assert subfields(rec, "245", "a") == ["Metodologi penelitian perpustakaan"]
    assert rec.find(f"{M}datafield[@tag='245']").get("ind1") == "1"
    assert subfields(rec, "100", "a") == ["Hasugian, Jonner"]
    assert subfields(rec, "700", "a") == ["Nurhayati, Siti", "Sulistyo-Basuki",
                                          "Pendit, Putu Laxman"]
    assert subfields(rec, "700", "e") == ["contributor"]
    assert subfields(rec, "856", "u") == ["https://usu.example.ac.id/r/1"]
    assert subfields(rec, "020", "a") == ["9786028519939"]
    assert subfields(rec, "022", "a") == ["0317-8471"]
    assert subfields(rec, "024", "a") == ["10.1234/usu.2019.7"]
    assert subfields(rec, "024", "2") == ["doi"]
    assert subfields(rec, "041", "a") == ["ind", "eng"]
    assert subfields(rec, "246", "a") == ["منهجية البحث في المكتبات"]
    assert subfields(rec, "264", "b") == ["USU Press"]
    assert subfields(rec, "264", "c") == ["2019"]
    assert subfields(rec, "520", "a") == ["Buku ini membahas metodologi penelitian."]
    assert subfields(rec, "540", "a") == ["CC BY 4.0"]
    assert subfields(rec, "650", "a") == ["Perpustakaan -- Penelitian", "Library science"]


@pytest.mark.parametrize(("kind", "leader67"), [
    ("Book", "am"), ("Article", "ab"), ("Journal", "as"), ("Book chapter", "aa"),
    ("Thesis", "am"), ("Map", "em"), ("Video", "gm"), ("Audio", "im"), ("Image", "km"),
    ("Software", "mm"), ("Dataset", "mm"), (None, "am"), ("Lukisan", "am"),
])
def test_generated_leader_follows_type(kind: str | None, leader67: str) -> None:
    leader = generated(replace(FIELDS, type=kind)).findtext(M + "leader")
    assert len(leader) == 24 and leader[6:8] == leader67


@pytest.mark.parametrize("kind", ["Book", "Article", "Journal", "Book chapter", "Thesis",
                                  "Dissertation", "Map", "Video", "Audio", "Software"])
def test_generated_marc_maps_back_to_the_same_fields(kind: str) -> None:
    fields = replace(FIELDS, type=kind)
    back = normalize(render([record(fields)], "marcxml"), "marcxml")
    assert back.format == "marcxml"
    for name in ("title", "creators", "contributors", "subjects", "publisher", "year",
                 "type", "languages", "rights"):
        assert getattr(back, name) == getattr(fields, name), name
    assert back.identifiers["url"] == ("https://usu.example.ac.id/r/1",)  # from 856
    assert back.identifiers["isbn"] == ("9786028519939",)
    assert back.identifiers["doi"] == ("10.1234/usu.2019.7",)


@pytest.mark.parametrize(("fields", "checks"), [
    (Fields(), {"245": ["[No title]"], "100": [], "856": [], "ind1": "0", "lang": "und",
                "date": "nuuuu"}),
    (Fields(title="T", creators=("Sukarno",), link="javascript:alert(1)", languages=("xx",),
            year=1965), {"245": ["T"], "100": ["Sukarno"], "856": [], "ind1": "1",
                         "lang": "und", "date": "s1965"}),
    (Fields(title="T", link="ftp://files.example/x", languages=("ar",)),
     {"245": ["T"], "100": [], "856": [], "ind1": "0", "lang": "ara", "date": "nuuuu"}),
])
def test_generated_marc_with_missing_parts(fields: Fields, checks: dict[str, Any]) -> None:
    rec = generated(fields)
    for tag in ("245", "100", "856"):
        assert subfields(rec, tag, "u" if tag == "856" else "a") == checks[tag]
    assert rec.find(f"{M}datafield[@tag='245']").get("ind1") == checks["ind1"]
    fixed = rec.findtext(f"{M}controlfield[@tag='008']")
    assert len(fixed) == 40 and fixed[35:38] == checks["lang"]
    assert fixed[6:11] == checks["date"]


def test_generated_marc_survives_hostile_values() -> None:
    fields = Fields(title="".join(HOSTILE), creators=HOSTILE, subjects=HOSTILE,
                    abstract="x" * 200_000, publisher="<b>&amp;</b>")
    rec = generated(fields, identifier="oai:x\x00:<1>&")
    title = subfields(rec, "245", "a")[0]
    assert "<script>" in title and "\x00" not in title and "\n" not in title
    assert rec.findtext(f"{M}controlfield[@tag='001']") == "oai:x:<1>&"
    assert subfields(rec, "264", "b") == ["<b>&amp;</b>"]
    assert len(subfields(rec, "520", "a")[0]) == 200_000


@settings(max_examples=60, deadline=None)
@given(st.text(), st.lists(st.text(), max_size=3), st.text())
def test_generated_marc_is_always_schema_valid(title: str, names: list[str], ident: str) -> None:
    rec = generated(Fields(title=title, creators=tuple(names), subjects=tuple(names),
                           abstract=title), identifier=ident)
    assert subfields(rec, "245", "a") == [one_line(title) or "[No title]"]


# ---------------------------------------------------------------- MARCXML, passed through

# Modelled on a Koha 22 OAI "marcxml" record: ISBD punctuation, local 942/952 item fields,
# a subject with $9 authority links, an Arabic parallel title, significant spaces.
KOHA_RECORD = """<m:record type="Bibliographic"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
 xsi:schemaLocation="http://www.loc.gov/MARC21/slim http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd">
  <m:leader>01047nam a22003257a 4500</m:leader>
  <m:controlfield tag="001">23817</m:controlfield>
  <m:controlfield tag="003">ID-MdUSU</m:controlfield>
  <m:controlfield tag="005">20231104093512.0</m:controlfield>
  <m:controlfield tag="008">230915s2019    io a          000 0 ind d</m:controlfield>
  <m:datafield tag="020" ind1=" " ind2=" "><m:subfield code="a">9786024250412</m:subfield>
    <m:subfield code="q">(pbk.)</m:subfield></m:datafield>
  <m:datafield tag="040" ind1=" " ind2=" "><m:subfield code="a">JKPNPNA</m:subfield>
    <m:subfield code="b">ind</m:subfield><m:subfield code="e">rda</m:subfield></m:datafield>
  <m:datafield tag="082" ind1="0" ind2="4"><m:subfield code="a">020.72</m:subfield>
    <m:subfield code="2">23</m:subfield></m:datafield>
  <m:datafield tag="100" ind1="1" ind2=" "><m:subfield code="a">Hasugian, Jonner,</m:subfield>
    <m:subfield code="e">pengarang.</m:subfield></m:datafield>
  <m:datafield tag="245" ind1="1" ind2="0">
    <m:subfield code="a">Metodologi penelitian perpustakaan :</m:subfield>
    <m:subfield code="b">pendekatan kuantitatif &amp; kualitatif /</m:subfield>
    <m:subfield code="c">Jonner Hasugian ; penyunting, Siti Nurhayati.</m:subfield>
  </m:datafield>
  <m:datafield tag="246" ind1="3" ind2="1">
    <m:subfield code="a">منهجية البحث</m:subfield></m:datafield>
  <m:datafield tag="264" ind1=" " ind2="1"><m:subfield code="a">Medan :</m:subfield>
    <m:subfield code="b">USU Press,</m:subfield><m:subfield code="c">2019.</m:subfield>
  </m:datafield>
  <m:datafield tag="300" ind1=" " ind2=" "><m:subfield code="a">xiv, 286 halaman :</m:subfield>
    <m:subfield code="b">ilustrasi ;</m:subfield><m:subfield code="c">24 cm</m:subfield>
  </m:datafield>
  <m:datafield tag="336" ind1=" " ind2=" "><m:subfield code="a">teks</m:subfield>
    <m:subfield code="2">rdacontent</m:subfield></m:datafield>
  <m:datafield tag="500" ind1=" " ind2=" ">
    <m:subfield code="a">  Dua  spasi &lt;tetap&gt;  </m:subfield></m:datafield>
  <m:datafield tag="650" ind1=" " ind2="7"><m:subfield code="a">Library science</m:subfield>
    <m:subfield code="x">Research</m:subfield><m:subfield code="2">lcsh</m:subfield>
    <m:subfield code="9">4411</m:subfield></m:datafield>
  <m:datafield tag="700" ind1="1" ind2=" "><m:subfield code="a">Nurhayati, Siti,</m:subfield>
    <m:subfield code="e">penyunting.</m:subfield></m:datafield>
  <m:datafield tag="856" ind1="4" ind2="1">
    <m:subfield code="u">https://repositori.usu.example.ac.id/handle/123456789/1234</m:subfield>
    <m:subfield code="z">Akses daring</m:subfield></m:datafield>
  <m:datafield tag="942" ind1=" " ind2=" "><m:subfield code="2">ddc</m:subfield>
    <m:subfield code="c">BK</m:subfield></m:datafield>
  <m:datafield tag="952" ind1=" " ind2=" "><m:subfield code="0">0</m:subfield>
    <m:subfield code="a">PUSAT</m:subfield><m:subfield code="d">2023-09-15</m:subfield>
    <m:subfield code="o">020.72 HAS m</m:subfield><m:subfield code="p">B0012345</m:subfield>
    <m:subfield code="y">BK</m:subfield></m:datafield>
</m:record>"""


def koha(style: str, body: str = KOHA_RECORD) -> bytes:
    """The fixture with a default namespace, a ``marc:`` prefix or no namespace."""
    if style == "default":
        text = body.replace("<m:", "<").replace("</m:", "</")
        text = text.replace("<record ", f'<record xmlns="{MARC_NS}" ', 1)
    elif style == "prefixed":
        text = body.replace("<m:", "<marc:").replace("</m:", "</marc:")
        text = text.replace("<marc:record ", f'<marc:record xmlns:marc="{MARC_NS}" ', 1)
    else:
        text = body.replace("<m:", "<").replace("</m:", "</")
    return text.encode()


def marc_content(rec: Any) -> list[tuple[Any, ...]]:
    """Leader, control fields and data fields with their subfields, namespace-blind."""
    out: list[tuple[Any, ...]] = []
    for node in rec:
        local = etree.QName(node).localname
        if local in ("leader", "controlfield"):
            out.append((local, node.get("tag"), node.text))
        elif local == "datafield":
            subs = [(s.get("code"), s.text) for s in node]
            out.append((node.get("tag"), node.get("ind1"), node.get("ind2"), subs))
    return out


@pytest.mark.parametrize(("style", "prefix"), [
    ("default", "marcxml"), ("prefixed", "marc21"), ("none", "marc21"), ("none", "MARC"),
    ("default", "oai_dc"),  # the namespace decides, as in normalize()
])
def test_harvested_marc_is_passed_through(style: str, prefix: str) -> None:
    source = etree.fromstring(koha(style))
    out = render([record(prefix=prefix, xml=koha(style))], "marcxml")
    assert b"marc:" not in out and b"xsi:" not in out
    root = etree.fromstring(out)
    assert marc_schema().validate(root), marc_schema().error_log
    (rec,) = root.findall(M + "record")
    assert all(node.tag.startswith(M) for node in rec.iter())
    assert rec.get("type") == "Bibliographic"
    assert marc_content(rec) == marc_content(source)
    assert len(rec.findall(M + "datafield")) == 15
    assert rec.findtext(f"{M}controlfield[@tag='001']") == "23817"  # not the OAI id
    assert subfields(rec, "500", "a") == ["  Dua  spasi <tetap>  "]


def test_collection_of_harvested_records_is_unwrapped() -> None:
    one = koha("default").decode().replace(f' xmlns="{MARC_NS}"', "")
    two = one.replace(">23817<", ">23818<")
    body = f'<collection xmlns="{MARC_NS}">{one}<!-- c -->{two}</collection>'.encode()
    out = etree.fromstring(render([record(xml=body, prefix="marcxml"), record()], "marcxml"))
    assert out.tag == M + "collection" and len(out) == 3
    assert [r.findtext(f"{M}controlfield[@tag='001']") for r in out] == [
        "23817", "23818", "oai:usu.example.ac.id:1"]


@pytest.mark.parametrize(("xml", "prefix"), [
    (b"<marc:record xmlns:marc='http://www.loc.gov/MARC21/slim'><marc:leader>", "marcxml"),
    (b'<!DOCTYPE r [<!ENTITY x "boom">]><record><leader>&x;</leader></record>', "marc21"),
    (b'<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"/>', "marc21"),
    (b"<record><leader>01047nam a22003257a 4500</leader></record>", "oai_dc"),
    (None, "marcxml"),
    (b'<collection xmlns="http://www.loc.gov/MARC21/slim"/>', "marcxml"),
])
def test_unusable_original_falls_back_to_generated(xml: bytes | None, prefix: str) -> None:
    out = render([record(xml=xml, prefix=prefix)], "marcxml")
    assert b"boom" not in out
    (rec,) = etree.fromstring(out)
    assert rec.findtext(f"{M}controlfield[@tag='001']") == "oai:usu.example.ac.id:1"
    assert subfields(rec, "245", "a") == ["Metodologi penelitian perpustakaan"]


# ---------------------------------------------------------------- BibTeX

_ENTRY_HEAD = re.compile(r"@([a-z]+)\{([^\s,{}()\"#%'=]+),\n")
_FIELD_HEAD = re.compile(r"  ([a-z]+) = \{")
_UNESCAPE = re.compile(r"\\(textbackslash|textbraceleft|textbraceright|textasciitilde|"
                       r"textasciicircum)\{\}|\\([%&$#_])")
_UNESCAPED = {"textbackslash": "\\", "textbraceleft": "{", "textbraceright": "}",
              "textasciitilde": "~", "textasciicircum": "^"}


def braced(text: str, start: int) -> int:
    """Index just past the brace group opened at ``start``, counting braces as BibTeX does
    (a backslash does not protect a brace)."""
    depth = 0
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return i + 1
    raise AssertionError("unbalanced braces")


def parse_bibtex(text: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """A strict reader of our layout: nothing between entries, ``name = {value},`` fields."""
    entries = []
    pos = 0
    while pos < len(text):
        head = _ENTRY_HEAD.match(text, pos)
        assert head, text[pos:pos + 80]
        kind, key = head.groups()
        pos = head.end()
        values: list[tuple[str, str]] = []
        while not text.startswith("}\n", pos):
            field = _FIELD_HEAD.match(text, pos)
            assert field, text[pos:pos + 80]
            end = braced(text, field.end() - 1)
            values.append((field.group(1), text[field.end():end - 1]))
            assert text.startswith(",\n", end)
            pos = end + 2
        # the entry's own braces balance too
        assert braced(text, text.index("{", head.start())) == pos + 1
        entries.append((kind, key, values))
        pos += 2
        if text.startswith("\n", pos):
            pos += 1
    return entries


def unescape(value: str) -> str:
    return _UNESCAPE.sub(lambda m: _UNESCAPED[m[1]] if m[1] else m[2], value)


def test_bibtex_entry() -> None:
    ((kind, key, values),) = parse_bibtex(render([record()], "bibtex").decode())
    assert (kind, key) == ("book", "hasugian2019metodologi")
    assert dict(values) == {
        "title": "Metodologi penelitian perpustakaan",
        "author": "Hasugian, Jonner and Nurhayati, Siti and Sulistyo-Basuki",
        "year": "2019", "publisher": "USU Press",
        "abstract": "Buku ini membahas metodologi penelitian.",
        "keywords": "Perpustakaan -- Penelitian, Library science",
        "doi": "10.1234/usu.2019.7", "isbn": "9786028519939", "issn": "0317-8471",
        "url": "https://usu.example.ac.id/r/1", "language": "id, en",
        "note": "Held by Perpustakaan Universitas Sumatera Utara",
    }


@pytest.mark.parametrize(("kind", "entry", "publisher_field"), [
    ("Article", "article", "publisher"), ("Book", "book", "publisher"),
    ("Thesis", "mastersthesis", "school"), ("Dissertation", "phdthesis", "school"),
    ("Report", "techreport", "institution"), ("Conference paper", "inproceedings", "publisher"),
    ("Book chapter", "incollection", "publisher"), ("Dataset", "misc", "publisher"),
    (None, "book", "publisher"),  # FIELDS has an ISBN
    ("Naskah kuno", "misc", "publisher"),
])
def test_bibtex_entry_types(kind: str | None, entry: str, publisher_field: str) -> None:
    ((found, _, values),) = parse_bibtex(
        render([record(replace(FIELDS, type=kind))], "bibtex").decode())
    assert found == entry
    assert dict(values)[publisher_field] == "USU Press"


def test_bibtex_keys_are_unique_and_folded() -> None:
    arabic = Fields(title="تفسير ابن كثير", creators=("ابن كثير",))
    records = [
        record(), record(rid=2), record(rid=3),
        record(Fields(title="A", creators=("Hasugian, J.",), year=2019), rid=4),
        record(Fields(title="The Çağlar Études", creators=("Ñúñez, José",)), rid=5),
        record(arabic, rid=6), record(arabic, rid=7), record(Fields(), rid=8),
    ]
    keys = [key for _, key, _ in parse_bibtex(render(records, "bibtex").decode())]
    assert keys == ["hasugian2019metodologi", "hasugian2019metodologia",
                    "hasugian2019metodologib", "hasugian2019", "nunezcaglar",
                    "record6", "record7", "record8"]


def test_bibtex_key_suffix_never_reuses_an_existing_key() -> None:
    records = [record(Fields(title="x", creators=("Ab,",), year=2000), rid=1),
               record(Fields(title="a", creators=("Ab,",), year=2000), rid=2),
               record(Fields(title="x", creators=("Ab,",), year=2000), rid=3)]
    keys = [key for _, key, _ in parse_bibtex(render(records, "bibtex").decode())]
    assert len(set(keys)) == 3


def test_bibtex_injection_stays_inside_its_field() -> None:
    fields = Fields(title="Judul}, author={Mallory}, note={x", creators=("A and B Corp",),
                    publisher="\\}\\}}}} @misc{evil,", abstract="".join(HOSTILE),
                    identifiers={"doi": ("10.1/x}{\\y",)}, link="https://x.example/a}b")
    text = render([record(fields)], "bibtex").decode()
    ((_, _, values),) = parse_bibtex(text)
    names = [name for name, _ in values]
    assert names.count("author") == 1 and names.count("note") == 1
    found = dict(values)
    assert unescape(found["title"]) == fields.title
    assert found["author"] == "{A and B Corp}"
    assert unescape(found["publisher"]) == fields.publisher
    assert unescape(found["abstract"]) == one_line(fields.abstract)
    assert found["doi"] == "10.1/x%7D%7B%5Cy"
    assert found["url"] == "https://x.example/a%7Db"
    # "@" in values (publisher, abstract) never begins a line, so never a new entry
    assert [line for line in text.splitlines() if line.startswith("@")] == ["@misc{corpjudul,"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.text(), st.lists(st.one_of(st.text(), st.sampled_from(HOSTILE)),
                                              max_size=3)), max_size=4))
def test_bibtex_any_text_parses_back(items: list[tuple[str, list[str]]]) -> None:
    records = [record(Fields(title=title, creators=tuple(names), subjects=tuple(names),
                             publisher=title, year=2020), rid=i)
               for i, (title, names) in enumerate(items)]
    entries = parse_bibtex(render(records, "bibtex").decode())
    assert len(entries) == len(records)
    assert len({key for _, key, _ in entries}) == len(records)
    for (_, _, values), (title, _) in zip(entries, items, strict=True):
        names = [name for name, _ in values]
        assert len(names) == len(set(names))
        assert unescape(dict(values).get("title", "")) == one_line(title)


# ---------------------------------------------------------------- RIS

_RIS_LINE = re.compile(r"[A-Z][A-Z0-9]  - \S.*|ER  - ")


def ris_records(body: bytes) -> list[list[str]]:
    """Check the line structure and return each record's lines."""
    text = body.decode()
    assert text.endswith("ER  - \r\n")
    assert "\n" not in text.replace("\r\n", "") and "\r" not in text.replace("\r\n", "")
    lines = text.split("\r\n")[:-1]
    assert text.splitlines() == lines  # no Unicode line separator hides in a value
    blocks: list[list[str]] = [[]]
    for line in lines:
        if line == "":
            blocks.append([])
            continue
        assert _RIS_LINE.fullmatch(line), repr(line)
        blocks[-1].append(line)
    for block in blocks:
        assert block[0].startswith("TY  - ") and block[-1] == "ER  - "
        assert [line for line in block if line.startswith("ER  - ")] == ["ER  - "]
    return blocks


def test_ris_record() -> None:
    (lines,) = ris_records(render([record()], "ris"))
    assert lines == [
        "TY  - BOOK", "AU  - Hasugian, Jonner", "AU  - Nurhayati, Siti",
        "AU  - Sulistyo-Basuki", "TI  - Metodologi penelitian perpustakaan", "PY  - 2019",
        "PB  - USU Press", "AB  - Buku ini membahas metodologi penelitian.",
        "KW  - Perpustakaan -- Penelitian", "KW  - Library science",
        "DO  - 10.1234/usu.2019.7", "SN  - 9786028519939", "SN  - 0317-8471",
        "UR  - https://usu.example.ac.id/r/1", "UR  - https://katalog.example.id/records/42",
        "LA  - id", "LA  - en", "AN  - oai:usu.example.ac.id:1",
        "N1  - Held by Perpustakaan Universitas Sumatera Utara", "ER  - ",
    ]


@pytest.mark.parametrize(("kind", "ty"), [
    ("Article", "JOUR"), ("Book", "BOOK"), ("Thesis", "THES"), ("Dissertation", "THES"),
    ("Report", "RPRT"), ("Dataset", "DATA"), ("Conference paper", "CONF"),
    ("Book chapter", "CHAP"), ("Journal", "JFULL"), ("Map", "MAP"), ("Software", "COMP"),
    ("Video", "VIDEO"), ("Audio", "SOUND"), ("Image", "ART"), ("Other", "GEN"),
    (None, "BOOK"), ("Lontar", "GEN"),  # FIELDS has an ISBN
])
def test_ris_types(kind: str | None, ty: str) -> None:
    (lines,) = ris_records(render([record(replace(FIELDS, type=kind))], "ris"))
    assert lines[0] == f"TY  - {ty}"


def test_ris_hostile_values_stay_on_their_line() -> None:
    fields = Fields(title="Judul\nER  - \nTY  - JOUR", creators=HOSTILE,
                    abstract="\r\nAU  - Evil\u2028KW  - x" + "y" * 100_000)
    first, second = ris_records(render([record(fields), record(Fields())], "ris"))
    assert "TI  - Judul ER - TY - JOUR" in first
    assert sum(line.startswith("AU  - ") for line in first) == len(
        [n for n in HOSTILE if one_line(n)])
    assert any(line.startswith("AB  - AU - Evil KW - xyyy") for line in first)
    assert second[0] == "TY  - GEN"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.text(), st.sampled_from(HOSTILE)),
                          st.lists(st.text(), max_size=3)), max_size=4))
def test_ris_any_text_keeps_the_line_structure(items: list[tuple[str, list[str]]]) -> None:
    records = [record(Fields(title=t, abstract=t, creators=tuple(n), subjects=tuple(n)),
                      identifier=t) for t, n in items]
    body = render(records, "ris")
    if not records:
        assert body == b""
        return
    assert len(ris_records(body)) == len(records)


# ---------------------------------------------------------------- JSON

def test_json_round_trip_and_shape() -> None:
    hostile = replace(FIELDS, title="".join(HOSTILE[:-1]), creators=HOSTILE[:-1],
                      year_raw="2019-01", types_raw=("Buku",))
    data = json.loads(render([record(hostile), record(Fields(), rid=7)], "json"))
    first, second = data["records"]
    assert Fields.from_json(first["fields"]) == hostile
    assert Fields.from_json(second["fields"]) == Fields()
    assert first["id"] == 42 and first["identifier"] == "oai:usu.example.ac.id:1"
    assert first["member"] == {"slug": "usu", "name": "Perpustakaan Universitas Sumatera Utara"}
    assert first["url"] == "https://katalog.example.id/records/42"
    assert set(first["fields"]) == set(Fields().as_json())


def test_json_is_inert_in_html_and_keeps_unicode_readable() -> None:
    out = render([record(replace(FIELDS, title="</script><b>&"))], "json")
    assert b"<" not in out and b">" not in out and b"&" not in out
    assert "منهجية".encode() in out


# ---------------------------------------------------------------- citation

@pytest.mark.parametrize(("fields", "member", "expected"), [
    (Fields(title="Pengantar ilmu perpustakaan", creators=("Sulistyo-Basuki",), year=1991,
            publisher="Gramedia Pustaka Utama"), None,
     "Sulistyo-Basuki. (1991). Pengantar ilmu perpustakaan. Gramedia Pustaka Utama."),
    (Fields(title="Metodologi", creators=("Hasugian, Jonner", "Nurhayati, Siti Aisyah"),
            year=2019, publisher="USU Press"), "Perpustakaan USU",
     "Hasugian, J., & Nurhayati, S. A. (2019). Metodologi. USU Press. "
     "Held by Perpustakaan USU."),
    (Fields(title="Apa itu data?", creators=("A, B.", "C, Jean-Paul", "E, F")), "USU Press",
     "A, B., C, J.-P., & E, F. (n.d.). Apa itu data? Held by USU Press."),
    (Fields(title="Banyak", creators=("A, B", "C, D", "E, F", "G, H"), year=2020,
            publisher="X", identifiers={"doi": ("10.1/ab",)}), "X",
     "A, B., C, D., E, F., et al. (2020). Banyak. X. https://doi.org/10.1/ab"),
    (Fields(title="Laporan tahunan", year=2021, publisher="Badan Pusat Statistik."), None,
     "Laporan tahunan. (2021). Badan Pusat Statistik."),
    (Fields(creators=("ابن كثير",)), None, "ابن كثير. (n.d.). [No title]."),
    (Fields(title="Judul\n\x00baru ", creators=("  Santoso,  Budi \t",)), None,
     "Santoso, B. (n.d.). Judul baru."),
])
def test_citation(fields: Fields, member: str | None, expected: str) -> None:
    assert citation(fields, member) == expected


@given(st.builds(Fields, title=st.text(), creators=st.lists(st.text()).map(tuple),
                 publisher=st.text(), year=st.none() | st.integers(1000, 2100)), st.text())
def test_citation_is_one_clean_line(fields: Fields, member: str) -> None:
    line = citation(fields, member)
    assert line == one_line(line)
    year = f"({fields.year})." if fields.year is not None else "(n.d.)."
    assert f" {year}" in line or line.startswith(year)


# ---------------------------------------------------------------- journal, classification

ARTICLE = replace(
    FIELDS, type="Article", title="Literasi informasi mahasiswa",
    journal_title="Jurnal Pustaka Ilmiah", volume="13", issue="1", pages="45-60",
    year=2024, identifiers={"issn": ("2477-3522",), "doi": ("10.20961/jpi.v13i1.1",)},
    classification=(("ddc", "028.7"),), call_numbers=("028.7 HAS l",),
)


def test_bibtex_article_carries_journal_volume_number_pages() -> None:
    ((kind, _, values),) = parse_bibtex(render([record(ARTICLE)], "bibtex").decode())
    found = dict(values)
    assert kind == "article"
    assert (found["journal"], found["volume"], found["number"], found["pages"]) == (
        "Jurnal Pustaka Ilmiah", "13", "1", "45--60")
    assert (found["issn"], found["doi"]) == ("2477-3522", "10.20961/jpi.v13i1.1")


@pytest.mark.parametrize(("kind", "container"), [
    ("Book chapter", "booktitle"), ("Conference paper", "booktitle"),
    ("Book", "series"), ("Report", "series"), ("Dataset", "journal"),
])
def test_bibtex_container_field_follows_type(kind: str, container: str) -> None:
    ((_, _, values),) = parse_bibtex(
        render([record(replace(ARTICLE, type=kind, pages="45"))], "bibtex").decode())
    assert dict(values)[container] == "Jurnal Pustaka Ilmiah"
    assert dict(values)["pages"] == "45"


def test_bibtex_book_keeps_its_isbn() -> None:
    ((kind, _, values),) = parse_bibtex(render([record()], "bibtex").decode())
    assert kind == "book" and dict(values)["isbn"] == "9786028519939"
    assert "journal" not in dict(values) and "pages" not in dict(values)


def test_ris_article_carries_journal_volume_issue_pages() -> None:
    (lines,) = ris_records(render([record(ARTICLE)], "ris"))
    assert lines[0] == "TY  - JOUR"
    assert [ln for ln in lines if ln[:2] in {"JO", "T2", "VL", "IS", "SP", "EP", "SN"}] == [
        "JO  - Jurnal Pustaka Ilmiah", "VL  - 13", "IS  - 1", "SP  - 45", "EP  - 60",
        "SN  - 2477-3522"]


def test_ris_chapter_names_its_book_in_t2_and_a_single_page_has_no_ep() -> None:
    (lines,) = ris_records(render([record(replace(ARTICLE, type="Book chapter",
                                                  pages="p. 7"))], "ris"))
    assert lines[0] == "TY  - CHAP"
    assert "T2  - Jurnal Pustaka Ilmiah" in lines and "SP  - 7" in lines
    assert not [ln for ln in lines if ln.startswith(("JO", "EP"))]


def test_generated_marc_article_has_773_and_classes_in_0xx() -> None:
    fields = replace(ARTICLE, classification=(("ddc", "028.7"), ("udc", "02"),
                                               ("lcc", "Z711.2")),
                     subjects=("Literasi informasi", "028.7", "371.3"))
    rec = generated(fields)
    assert rec.findtext(M + "leader")[6:8] == "ab"
    assert subfields(rec, "082", "a") == ["028.7", "371.3"]
    df082 = rec.find(f"{M}datafield[@tag='082']")
    assert (df082.get("ind1"), df082.get("ind2")) == ("0", "4")
    assert subfields(rec, "082", "2") == []  # the edition is not known
    assert subfields(rec, "080", "a") == ["02"]
    assert subfields(rec, "050", "a") == ["Z711.2"]
    assert subfields(rec, "650", "a") == ["Literasi informasi"]  # no Dewey number
    assert subfields(rec, "773", "t") == ["Jurnal Pustaka Ilmiah"]
    assert subfields(rec, "773", "g") == ["Vol. 13, no. 1 (2024), p. 45-60"]
    assert subfields(rec, "773", "x") == ["2477-3522"]
    assert subfields(rec, "852", "h") == ["028.7 HAS l"]
    assert subfields(rec, "852", "a") == ["Perpustakaan Universitas Sumatera Utara"]
    tags = [df.get("tag") for df in rec.iterfind(M + "datafield")]
    assert tags == sorted(tags)


def test_generated_marc_thesis_is_am_with_502() -> None:
    rec = generated(replace(FIELDS, type="Thesis", classification=(("ddc", "020"),)))
    assert rec.findtext(M + "leader")[6:8] == "am"
    assert subfields(rec, "502", "a") == ["Thesis"]
    assert subfields(rec, "082", "a") == ["020"] and subfields(rec, "773", "t") == []


@pytest.mark.parametrize(("fields", "expected"), [
    (Fields(title="Kajian", creators=("Putri, Ayu",), year=2024, publisher="UNS",
            journal_title="Jurnal Pustaka Ilmiah", volume="13", issue="1", pages="45-60"),
     "Putri, A. (2024). Kajian. Jurnal Pustaka Ilmiah, 13(1), 45\u201360."),
    (Fields(title="Kajian", year=2024, journal_title="Jurnal X", volume="2"),
     "Kajian. (2024). Jurnal X, 2."),
])
def test_citation_names_the_journal(fields: Fields, expected: str) -> None:
    assert citation(fields) == expected


def test_json_article_keeps_journal_classification_and_call_numbers() -> None:
    (out,) = json.loads(render([record(ARTICLE)], "json"))["records"]
    fields = out["fields"]
    assert (fields["journal_title"], fields["volume"], fields["issue"], fields["pages"]) == (
        "Jurnal Pustaka Ilmiah", "13", "1", "45-60")
    assert fields["classification"] == [["ddc", "028.7"]]
    assert fields["call_numbers"] == ["028.7 HAS l"]


@pytest.mark.parametrize(("fields", "entry", "ty", "leader67"), [
    (Fields(title="T", identifiers={"isbn": ("9786028519939",)}), "book", "BOOK", "am"),
    (Fields(title="T", journal_title="Jurnal X", identifiers={"isbn": ("9786028519939",)}),
     "article", "JOUR", "ab"),
    (Fields(title="T", identifiers={"issn": ("2477-3522",)}), "misc", "GEN", "am"),
    (Fields(title="T", type="Other", journal_title="Jurnal X"), "misc", "GEN", "am"),
])
def test_an_unknown_type_follows_the_isbn_or_the_journal(
        fields: Fields, entry: str, ty: str, leader67: str) -> None:
    ((kind, _, _),) = parse_bibtex(render([record(fields)], "bibtex").decode())
    (lines,) = ris_records(render([record(fields)], "ris"))
    assert (kind, lines[0]) == (entry, f"TY  - {ty}")
    assert generated(fields).findtext(M + "leader")[6:8] == leader67
