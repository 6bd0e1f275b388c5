"""Index documents read straight from stored fields match those built through Fields."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.index import documents
from aggregator.index.documents import cluster_doc, raw_cluster_doc
from aggregator.index.tantivy_backend import document_json
from aggregator.normalize.fields import IDENTIFIER_KINDS, Fields

XML = (b'<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
       b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>From the XML</dc:title>'
       b"</oai_dc:dc>")

# Text as harvested: ASCII words, accents (composed or not), compatibility forms (NFKC
# changes them), case pairs, spaces at the ends, the odd empty or blank value.
WORDS = st.sampled_from(["kopi", "Kopi", "KOPI", "Café", "Cafe\u0301", "Ｐｅｎｄｉｄｉｋａｎ",
                         "ﬁsika", "Straße", "STRASSE", "Ørsted", "日本語", "سلام", "x²",
                         " teh ", "", " ", "a\"b\\c", "tab\there", "ǅemal", "İstanbul",
                         "\x01\x7f\u2028", "😀"])
TEXT = st.lists(WORDS, max_size=5).map(" ".join)
TEXTS = st.lists(TEXT, max_size=60).map(tuple)
OPTIONAL = st.none() | TEXT


@st.composite
def fields(draw: Any) -> Fields:
    kinds = draw(st.lists(st.sampled_from(IDENTIFIER_KINDS), max_size=3, unique=True))
    return Fields(
        title=draw(OPTIONAL), other_titles=draw(TEXTS), creators=draw(TEXTS),
        contributors=draw(TEXTS), subjects=draw(TEXTS), abstract=draw(OPTIONAL),
        publisher=draw(OPTIONAL), year=draw(st.none() | st.integers(-5000, 5000)),
        year_raw=draw(OPTIONAL), type=draw(st.none() | st.sampled_from(["Book", "", " Thesis"])),
        types_raw=draw(TEXTS), languages=draw(TEXTS),
        identifiers={kind: draw(TEXTS) for kind in kinds}, rights=draw(TEXTS),
        link=draw(OPTIONAL), format=draw(st.sampled_from(["oai_dc", "marcxml", "mods"])),
    )


def compact(value: Any) -> str:
    """JSON as the standard library writes it compactly, unescaped (what orjson must match)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def stored(value: Fields) -> str:
    """The fields as ``record.fields`` holds them (see ``normalize.stored.stored_form``)."""
    return compact(value.as_json())


def full_road(cluster_id: int, record_id: int, slug: str, value: Fields) -> str:
    return document_json(cluster_doc(cluster_id, [(record_id, slug, value)]))


@settings(max_examples=300, deadline=None)
@given(value=fields(), cluster_id=st.integers(1, 2**45), record_id=st.integers(1, 2**40))
def test_one_copy_read_straight_matches_the_full_road(value: Fields, cluster_id: int,
                                                      record_id: int) -> None:
    text = stored(value)
    quick = documents._one_copy_doc(cluster_id, record_id, "perpus-a", text)
    assert quick == cluster_doc(cluster_id, [(record_id, "perpus-a", value)])
    as_json = document_json(raw_cluster_doc(cluster_id, [(record_id, "perpus-a", text, None,
                                                          "oai_dc")]))
    assert as_json == full_road(cluster_id, record_id, "perpus-a", value)
    # The JSON is as the standard library's encoder wrote it before orjson, display too.
    document = json.loads(as_json)
    assert as_json == compact(document)
    display = base64.b64decode(document["display"]).decode("utf-8")
    assert display == compact(json.loads(display))


@pytest.mark.parametrize("value", [
    Fields(),
    Fields(title="Ｐｅｎｄｉｄｉｋａｎ Café", year=2019, type="Book"),
    Fields(title=None, year=None, type=None, abstract=None),
    Fields(title="t", subjects=tuple(f"Subject {n}" for n in range(120))),
    Fields(title="t", subjects=("Kopi", "kopi", "KOPI ", " Teh", "teh", ""),
           languages=("id", "ID", "en"), contributors=("A, B", "a, b")),
    Fields(title="t", identifiers={"url": ("https://x.example/1",) * 3,
                                   "doi": tuple(f"10.1/{n}" for n in range(250))}),
])
def test_one_copy_table(value: Fields) -> None:
    doc = raw_cluster_doc(9, [(4, "ui", stored(value), None, "oai_dc")])
    assert doc == cluster_doc(9, [(4, "ui", value)])
    assert document_json(doc) == full_road(9, 4, "ui", value)


def test_one_copy_as_a_dict_reads_the_same() -> None:
    value = Fields(title="Sejarah kopi", creators=("Hatta, M",), year=2001)
    as_dict = json.loads(stored(value))
    assert raw_cluster_doc(1, [(2, "ui", as_dict, None, "oai_dc")]) == cluster_doc(
        1, [(2, "ui", value)])


@pytest.mark.parametrize("fields_json", [
    None,  # written before fields were stored
    '{"title": "x", "unknown_key": 1}',  # not what Fields holds: the XML decides
    '{"title": "x", "identifiers": {"url": null}}',
    '["not", "a", "dict"]',
])
def test_one_copy_falls_back_where_fields_would(fields_json: str | None) -> None:
    assert documents._one_copy_doc(1, 2, "ui", fields_json) is None
    doc = raw_cluster_doc(1, [(2, "ui", fields_json, XML, "oai_dc")])
    assert doc.title == "From the XML"


def test_unreadable_json_fails_as_before() -> None:
    with pytest.raises(json.JSONDecodeError):
        raw_cluster_doc(1, [(2, "ui", "{not json", XML, "oai_dc")])


def test_several_copies_still_merge() -> None:
    rich = Fields(title="Sejarah kopi", creators=("Hatta, M",), abstract="Panjang.", year=2001)
    poor = Fields(title="Sejarah Kopi", subjects=("Kopi",))
    doc = raw_cluster_doc(3, [(8, "ugm", stored(poor), None, "oai_dc"),
                              (5, "ui", stored(rich), None, "oai_dc")])
    assert doc == cluster_doc(3, [(8, "ugm", poor), (5, "ui", rich)])
    assert (doc.title, doc.other_titles, doc.members, doc.record_ids) == (
        "Sejarah kopi", ("Sejarah Kopi",), ("ugm", "ui"), (5, 8))
