"""Identifier classification, checksums and the choice of the record's link."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.normalize.identifiers import (
    best_link,
    classify,
    classify_all,
    isbn_is_valid,
    issn_is_valid,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://doi.org/10.7910/DVN/IBDWAV", ("doi", "10.7910/DVN/IBDWAV")),  # Dataverse
        ("http://dx.doi.org/10.1000/xyz", ("doi", "10.1000/xyz")),
        ("doi:10.5281/zenodo.10357859", ("doi", "10.5281/zenodo.10357859")),
        ("DOI: 10.5281/zenodo.1", ("doi", "10.5281/zenodo.1")),
        ("10.31227/osf.io/abcd", ("doi", "10.31227/osf.io/abcd")),
        ("http://hdl.handle.net/1765/315", ("handle", "1765/315")),  # DSpace (Erasmus)
        ("hdl:1765/308", ("handle", "1765/308")),
        ("urn:nbn:de:gbv:089-3321752945", ("urn", "urn:nbn:de:gbv:089-3321752945")),
        ("90-9014980-5", ("isbn", "9090149805")),  # DSpace (Erasmus)
        ("90 - 5892 - 032 - 1", ("isbn", "9058920321")),
        ("ISBN 978-602-8519-93-9", ("isbn", "9786028519939")),
        ("978-602-8519-93-9 (pbk.)", ("isbn", "9786028519939")),
        ("0-8044-2957-X", ("isbn", "080442957X")),
        ("9794039441", ("other", "9794039441")),  # SLiMS sample: bad checksum
        ("1566-7294", ("issn", "1566-7294")),
        ("0872-9204", ("issn", "0872-9204")),  # OJS dc:source
        ("e-ISSN: 2355-7583", ("issn", "2355-7583")),
        ("1566-7295", ("other", "1566-7295")),
        ("http://perpustakaan.example.ac.id:80/slims/index.php?p=show_detail&id=1235",
         ("url", "http://perpustakaan.example.ac.id:80/slims/index.php?p=show_detail&id=1235")),
        ("http://host.example/repository/Tafsir Tematik.pdf",
         ("url", "http://host.example/repository/Tafsir%20Tematik.pdf")),
        ("oai:zenodo.org:10357859", ("other", "oai:zenodo.org:10357859")),
        ("297.122 TAF", ("other", "297.122 TAF")),  # SLiMS call number
        ("javascript:alert(1)", ("other", "javascript:alert(1)")),
        ("http://user:pw@example.org/", ("other", "http://user:pw@example.org/")),
        ("-", None),
        ("", None),
        ("   ", None),
    ],
)
def test_classify(value: str, expected: tuple[str, str] | None) -> None:
    assert classify(value) == expected


def test_classify_all_keeps_unknown_identifiers_and_only_recognised_relations() -> None:
    grouped = classify_all(
        ["oai:slims/1234", "9794039441", "-", "oai:slims/1234"],
        recognised_only=["Revista Facultad de Ingeniería; núm. 69 (2013)", "0872-9204"],
    )
    assert grouped == {"other": ("oai:slims/1234", "9794039441"), "issn": ("0872-9204",)}


@pytest.mark.parametrize(
    ("values", "host", "expected"),
    [
        # DOI first, as a resolver URL
        (["http://hdl.handle.net/1765/1", "doi:10.1000/x"], None, "https://doi.org/10.1000/x"),
        (["http://hdl.handle.net/1765/315", "http://repo.example/1"], None,
         "https://hdl.handle.net/1765/315"),
        # DSpace test prefix: the handle does not resolve, the landing page wins
        (["http://hdl.handle.net/123456789/42", "https://repo.example.ac.id/items/42"], None,
         "https://repo.example.ac.id/items/42"),
        (["http://hdl.handle.net/123456789/42"], None, "https://hdl.handle.net/123456789/42"),
        # EPrints: the PDF in dc:identifier, the landing page in dc:relation
        (["https://eprints.example.ac.id/108/1/108.pdf", "https://eprints.example.ac.id/108/"],
         None, "https://eprints.example.ac.id/108/"),
        (["https://other.example/x", "https://eprints.example.ac.id/108/"],
         "eprints.example.ac.id", "https://eprints.example.ac.id/108/"),
        (["https://eprints.example.ac.id/108/1/108.PDF"], None,
         "https://eprints.example.ac.id/108/1/108.PDF"),
        (["javascript:alert(1)", "data:text/html,x", "vbscript:x", "file:///etc/passwd",
          "/relative/path", "//evil.example/x", "ftp://host/x"], None, None),
        (["9786028519939", "oai:slims/1"], None, None),
        ([], None, None),
    ],
)
def test_best_link(values: list[str], host: str | None, expected: str | None) -> None:
    assert best_link(values, repository_host=host) == expected


@given(st.lists(st.text()))
def test_best_link_is_only_ever_http(values: list[str]) -> None:
    link = best_link(values)
    assert link is None or link.startswith(("http://", "https://"))
    assert link is None or not any(c.isspace() or ord(c) < 32 for c in link)


@given(st.lists(st.sampled_from(["javascript:", "data:", "vbscript:", "file:", "JaVaScRiPt:",
                                 " javascript:", "\tjavascript:"]))
       .flatmap(lambda schemes: st.tuples(st.just(schemes), st.text())))
def test_dangerous_schemes_never_become_links(case: tuple[list[str], str]) -> None:
    schemes, rest = case
    assert best_link([scheme + rest for scheme in schemes]) is None


def _isbn10_check(body: str) -> str:
    remainder = (11 - sum((10 - i) * int(c) for i, c in enumerate(body)) % 11) % 11
    return "X" if remainder == 10 else str(remainder)


def _isbn13_check(body: str) -> str:
    return str((10 - sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(body)) % 10) % 10)


def _issn_check(body: str) -> str:
    remainder = (11 - sum((8 - i) * int(c) for i, c in enumerate(body)) % 11) % 11
    return "X" if remainder == 10 else str(remainder)



@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_isbn10_checksum_round_trip(body: str) -> None:
    isbn = body + _isbn10_check(body)
    assert isbn_is_valid(isbn)
    assert classify(f"ISBN {isbn[0]}-{isbn[1:5]}-{isbn[5:9]}-{isbn[9]}") == ("isbn", isbn)
    wrong = body + ("0" if isbn[-1] != "0" else "1")
    assert not isbn_is_valid(wrong)


@given(st.sampled_from(["978", "979"]), st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_isbn13_checksum_round_trip(prefix: str, body: str) -> None:
    isbn = prefix + body + _isbn13_check(prefix + body)
    assert isbn_is_valid(isbn)
    assert classify(f"{isbn[:3]}-{isbn[3:6]}-{isbn[6:12]}-{isbn[12]}") == ("isbn", isbn)
    wrong = isbn[:-1] + str((int(isbn[-1]) + 1) % 10)
    assert not isbn_is_valid(wrong)


@given(st.text(alphabet="0123456789", min_size=7, max_size=7))
def test_issn_checksum_round_trip(body: str) -> None:
    issn = body + _issn_check(body)
    assert issn_is_valid(issn)
    assert classify(f"{issn[:4]}-{issn[4:]}") == ("issn", f"{issn[:4]}-{issn[4:]}")
    wrong = body + ("0" if issn[-1] != "0" else "1")
    assert not issn_is_valid(wrong)


@given(st.text())
def test_classify_never_raises_and_keeps_what_it_does_not_know(value: str) -> None:
    found = classify(value)
    if found is not None:
        kind, normalised = found
        assert kind in ("url", "doi", "handle", "isbn", "issn", "urn", "other")
        assert normalised
