"""XSS through harvested metadata, reflected parameters and security headers (SECURITY.md 1.3).

A fixture repository serves the payload list of SECURITY.md in every field the portal shows;
it is harvested through the real pipeline, and every page that shows harvested text is
checked with two parsers: the standard library's tokenizer (what tags and attributes the
bytes really contain) and lxml (the tree and its text).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import lxml.html
import pytest
from flask import Flask
from lxml import etree

from aggregator.demo.oaiserver import Repository, SampleRecord
from aggregator.store.db import make_engine
from aggregator.web import create_app
from aggregator.web.security import safe_link
from portal import Library, Site, cls, harvest, html, local_settings, one, text_of, texts

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "src" / "aggregator" / "web"
TEMPLATES = ROOT / "templates"

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
SVG = "<svg><animate onbegin=alert(1) attributeName=x dur=1s>"
MXSS = "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"
QUOTE = '" onmouseover="alert(1)'
SINGLE = "'><script>alert(1)</script>"
JS = "javascript:alert(1)"
WHEN = datetime(2022, 3, 1, tzinfo=UTC)

EVIL = Repository([
    SampleRecord("oai:xss:1", WHEN, metadata={
        "title": [SCRIPT], "creator": [QUOTE], "subject": [IMG, QUOTE],
        "description": [SVG + " racun"], "identifier": [JS], "rights": [JS],
        "date": ["2020"], "type": [SCRIPT], "language": [IMG], "publisher": [IMG]}),
    SampleRecord("oai:xss:2", WHEN, metadata={
        "title": [IMG + " racun"], "creator": [SCRIPT], "subject": [SVG],
        "description": [MXSS], "contributor": [MXSS], "date": [SCRIPT],
        "identifier": ["JaVaScRiPt:alert(1)", " javascript:alert(1)",
                       "data:text/html," + SCRIPT, "java\tscript:alert(1)",
                       'http://example.org/x"onmouseover="alert(1)'],
        "rights": ['<a href="javascript:alert(1)">licence</a>']}),
    SampleRecord("oai:xss:3", WHEN, metadata={
        "title": [MXSS], "creator": [SINGLE], "subject": [MXSS],
        "description": ['<p style="background:url(javascript:alert(1))">beracun</p>'],
        "identifier": ["vbscript:msgbox(1)", 'doi:10.1234/x"><script>alert(1)</script>',
                       "hdl:123/<svg onload=alert(1)>"],
        "relation": [JS], "source": [JS], "date": ["2021"], "type": ["Book"]}),
    SampleRecord("oai:xss:4", WHEN, metadata={
        "title": ["Racun di perpustakaan " + SCRIPT], "creator": ["Santoso, Budi"],
        "date": ["2019"], "type": ["Book"], "identifier": [JS]}),
], name=SCRIPT + " Repository")
MIRROR = Repository([  # a second library with a copy of record 4: its link is a holder link
    SampleRecord("m:4", WHEN, metadata={
        "title": ["Racun di perpustakaan " + SCRIPT], "creator": ["Santoso, Budi"],
        "date": ["2019"], "type": ["Book"], "identifier": ["javascript:alert(2)"]}),
])
PAYLOADS = (SCRIPT, IMG, SVG, MXSS, QUOTE, SINGLE)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    settings = local_settings(tmp_path_factory.mktemp("xss"))
    engine = make_engine(settings)
    from aggregator.store.db import init_schema

    init_schema(engine)
    harvest(engine, settings, [
        Library("evil", "Evil library", EVIL, kind="public"),
        Library("mirror", 'Mirror "library" <b>', MIRROR, kind="school"),
    ])
    app = create_app(settings, engine=engine)
    yield Site(settings, engine, app)
    app.extensions["aggregator"].index.close()
    engine.dispose()


# -- what the bytes contain -------------------------------------------------------------

class Tags(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def start_tags(body: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = Tags()
    parser.feed(body)
    parser.close()
    return parser.tags


def template_tags() -> set[str]:
    """The element names the templates themselves write."""
    names: set[str] = set()
    for path in TEMPLATES.glob("*.html"):
        names |= {n.lower() for n in re.findall(r"<([a-zA-Z][\w-]*)", path.read_text("utf-8"))}
    return names


URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "poster", "data", "srcset"}
BAD_SCHEMES = ("javascript:", "vbscript:", "data:")


def assert_inert(body: str) -> None:
    """No tag, attribute or URL in ``body`` came from harvested or requested text."""
    allowed = template_tags()
    assert "<script" not in body.lower()
    tags = start_tags(body)
    assert tags, "nothing parsed"
    for tag, attrs in tags:
        assert tag in allowed, f"injected element <{tag}>"
        for name, value in attrs:
            assert not name.startswith("on"), f"injected handler {name}= on <{tag}>"
            assert name != "style", f"inline style on <{tag}>"
            if name in URL_ATTRS and value is not None:
                squeezed = re.sub(r"[\x00-\x20]", "", value).lower()
                assert not squeezed.startswith(BAD_SCHEMES), f"{name}={value!r}"
                assert squeezed.startswith(("/", "?", "#", "http://", "https://", "mailto:")), \
                    f"{name}={value!r}"
    assert not re.search(r"""\son\w+\s*=\s*["']""", body)  # quotes always escaped
    doc = html_text(body)
    forbidden = {"script", "style", "iframe", "object", "embed", "animate", "math", "mglyph",
                 "base", "frame"}
    for element in doc.iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag.lower() not in forbidden, element.tag
        assert element.tag != "meta" or element.getparent().tag == "head"
        for name in element.attrib:
            assert not name.lower().startswith("on")
    # only the member charts and the year histogram draw SVG; member logos are the only images
    assert len(doc.xpath("//*[local-name()='svg']")) == len(
        doc.xpath("//figure[@class='chart' or @class='histogram']"))
    assert all("logo" in (img.get("class") or "") for img in doc.xpath("//img"))


def html_text(body: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(body.encode())


def body_of(site: Site, url: str, status: int = 200) -> str:
    response = site.client().get(url)
    assert response.status_code == status, (url, response.status_code)
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def record_ids(site: Site) -> dict[str, int]:
    return {ident: site.record_id("evil", ident)
            for ident in ("oai:xss:1", "oai:xss:2", "oai:xss:3", "oai:xss:4")}


# -- harvested text ---------------------------------------------------------------------

def test_the_payloads_were_harvested_raw(site: Site) -> None:
    ids = record_ids(site)
    fields = site.client().get(f"/api/records/{ids['oai:xss:1']}").json["fields"]
    assert fields["title"] == SCRIPT
    assert fields["creators"] == [QUOTE]
    assert fields["subjects"] == [IMG, QUOTE]
    assert fields["link"] is None  # javascript: is never the record's link


def test_pages_listing_harvested_text_are_inert(site: Site) -> None:
    urls = ["/", "/search", "/search?q=alert", "/search?q=script", "/search?q=racun",
            "/search?q=beracun", "/members", "/members/evil", "/members/mirror", "/about",
            "/search?sort=title", "/search?q=perpustakaan"]
    for url in urls:
        assert_inert(body_of(site, url))


@pytest.mark.parametrize("ident", ["oai:xss:1", "oai:xss:2", "oai:xss:3", "oai:xss:4"])
def test_record_pages_are_inert(site: Site, ident: str) -> None:
    rid = record_ids(site)[ident]
    body = body_of(site, f"/records/{rid}")
    assert_inert(body)
    doc = html(site.client().get(f"/records/{rid}"))
    title = next(r for r in EVIL.records if r.identifier == ident).metadata["title"][0]
    assert text_of(one(doc, "//h1")) == " ".join(title.split())  # shown as text, exactly
    raw = text_of(one(doc, "//details[@class='raw']/pre"))
    assert "<dc:title>" in raw  # the harvested XML is text too


def test_script_title_is_escaped_text(site: Site) -> None:
    rid = record_ids(site)["oai:xss:1"]
    body = body_of(site, f"/records/{rid}")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    doc = html_text(body)
    assert text_of(one(doc, "//h1")) == SCRIPT
    assert SCRIPT in text_of(one(doc, "//title"))
    assert text_of(one(doc, "//p[@class='byline']")) == QUOTE
    assert texts(doc, "//ul[@class='tags']/li") == [IMG, QUOTE]
    details = {text_of(dt): dt.getnext() for dt in doc.xpath("//dl[@class='fields']/dt")}
    assert text_of(details["Hak"]) == JS and not details["Hak"].xpath(".//a")
    assert text_of(details["Pengenal lain"]) == JS and not details["Pengenal lain"].xpath(".//a")


def test_javascript_links_are_text_and_real_links_stay_in_their_attribute(site: Site) -> None:
    doc = html(site.client().get(f"/records/{record_ids(site)['oai:xss:2']}"))
    hrefs = doc.xpath("//article//a/@href")
    assert not [h for h in hrefs if "script:" in h.lower() or h.lower().startswith("data:")]
    # the one real http URL is a link, its quotes kept inside the attribute
    go = one(doc, "//section[@class='holders']//a[@class='go']")
    assert go.get("href") == 'http://example.org/x"onmouseover="alert(1)'
    assert go.get("rel") == "noopener noreferrer nofollow"
    assert set(go.attrib) == {"class", "href", "rel"}
    details = {text_of(dt): dt.getnext() for dt in doc.xpath("//dl[@class='fields']/dt")}
    others = text_of(details["Pengenal lain"])
    for value in ("JaVaScRiPt:alert(1)", "data:text/html," + SCRIPT):
        assert value in others
    assert text_of(details["Hak"]) == '<a href="javascript:alert(1)">licence</a>'


def test_doi_and_handle_payloads_are_encoded_into_resolver_links(site: Site) -> None:
    doc = html(site.client().get(f"/records/{record_ids(site)['oai:xss:3']}"))
    resolver = [h for h in doc.xpath("//dl[@class='fields']//a/@href")
                if h.startswith(("https://doi.org/", "https://hdl.handle.net/"))]
    for href in resolver:
        assert not set('<>"\' ') & set(href), href


def test_a_copy_with_a_javascript_link_is_listed_without_a_link(site: Site) -> None:
    rid = record_ids(site)["oai:xss:4"]
    body = body_of(site, f"/records/{rid}")
    assert_inert(body)
    doc = html_text(body)
    holders = doc.xpath("//section[@class='holders']/ul/li")
    assert len(holders) == 2  # the mirror's copy joined the work
    assert not doc.xpath("//section[@class='holders']//a[@class='go']")
    assert 'Mirror "library" <b>' in texts(doc, "//section[@class='holders']/ul/li/a[1]")


def test_highlights_mark_words_inside_escaped_payloads(site: Site) -> None:
    body = body_of(site, "/search?q=alert")
    assert_inert(body)
    doc = html_text(body)
    titles = {text_of(h2): h2 for h2 in doc.xpath("//li[@class='hit']/h2")}
    assert set(titles) == {SCRIPT, IMG + " racun", MXSS, "Racun di perpustakaan " + SCRIPT}
    for h2 in titles.values():
        assert [m.text for m in h2.xpath(".//mark")] == ["alert"]
        assert not h2.xpath(".//mark/*")
    assert "&lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt;" in body
    snippets = texts(doc, "//p[@class='snippet']")
    assert MXSS in snippets


def test_facet_values_and_filter_chips_are_text(site: Site) -> None:
    body = body_of(site, "/search")
    assert_inert(body)
    doc = html_text(body)
    subject = one(doc, f"//aside[{cls('facets')}]/section[h2='Subjek']")
    values = {}
    for link in subject.xpath(".//li/a"):
        label = (link.text or "").strip()
        values[label] = parse_qs(urlsplit(link.get("href")).query)["subject"]
    assert {IMG, QUOTE, SVG, MXSS} <= set(values)
    for label, selected in values.items():
        assert selected == [label]  # the link filters on exactly the value shown
    chip_page = body_of(site, "/search?subject=" + quote(IMG) + "&subject=" + quote(QUOTE))
    assert_inert(chip_page)
    chips = texts(html_text(chip_page), f"//a[{cls('chip')}]")
    assert sorted(chips) == sorted([f"Subjek: {IMG} ×", f"Subjek: {QUOTE} ×"])


def test_zero_hit_relaxations_show_payload_filters_as_text(site: Site) -> None:
    body = body_of(site, "/search?q=racun&member=evil&subject=" + quote(MXSS))
    assert_inert(body)
    doc = html_text(body)
    racun = site.client().get("/api/search?q=racun&member=evil").json["total"]
    assert texts(doc, f"//ul[{cls('relax')}]/li") == [f"Tanpa Subjek: {MXSS} ({racun})"]
    assert f"Subjek: {MXSS} ×" in texts(doc, f"//a[{cls('chip')}]")


def test_member_page_shows_the_harvested_repository_name_as_text(site: Site) -> None:
    body = body_of(site, "/members/evil")
    assert_inert(body)
    assert f"{SCRIPT} Repository" in texts(html_text(body), "//tbody//span[@class='meta']")


@pytest.mark.parametrize("query", [
    "q=" + quote(SCRIPT), "q=" + quote('"><script>alert(1)</script>'), "q=" + quote(SINGLE),
    "subject=" + quote(QUOTE) + "&q=" + quote(IMG), "year=" + quote(SCRIPT),
    "member=" + quote(SVG) + "&lang=" + quote(SCRIPT), "sort=" + quote(QUOTE),
    "q=" + quote("<mark>x</mark>") + "&" + quote('"><img src=x onerror=alert(1)>') + "=1",
    "q=xx&per_page=" + quote(IMG) + "&page=" + quote(MXSS),
])
def test_reflected_parameters_are_inert(site: Site, query: str) -> None:
    assert_inert(body_of(site, "/search/facets/subject?" + query))  # a facet's full list
    body = body_of(site, "/search?" + query)
    assert_inert(body)
    q = parse_qs(query).get("q", [""])[0]
    doc = html_text(body)
    box = one(doc, "//form[@role='search']//input[@name='q']")
    assert box.get("value") == " ".join(q.split())[:200]


@pytest.mark.parametrize("url", ["/records/999999?x=" + quote(SCRIPT),
                                 "/nowhere/" + quote(SCRIPT) + "?" + quote(QUOTE) + "=1",
                                 "/members/" + quote(SCRIPT)])
def test_error_pages_are_inert(site: Site, url: str) -> None:
    assert_inert(body_of(site, url, status=404))


def test_api_serves_payloads_as_json_data(site: Site) -> None:
    client = site.client()
    for url in ("/api/search?q=alert", f"/api/records/{record_ids(site)['oai:xss:1']}",
                "/api/members", "/api/suggest?q=aler"):
        response = client.get(url)
        assert response.status_code == 200
        assert response.mimetype in ("application/json", "application/x-suggestions+json")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        json.loads(response.get_data())
    hits = client.get("/api/search?q=alert").json["hits"]
    assert {h["title"] for h in hits} == {SCRIPT, IMG + " racun", MXSS,
                                          "Racun di perpustakaan " + SCRIPT}
    # highlights are escaped before the marks are added
    for hit in hits:
        assert "<script" not in hit["highlights"]["title"]
        assert "<mark>alert</mark>" in hit["highlights"]["title"]
    names = {m["slug"]: m["name"] for m in client.get("/api/members").json["members"]}
    assert names["mirror"] == 'Mirror "library" <b>'


@pytest.mark.parametrize("fmt", ["marcxml", "bibtex", "ris", "json"])
def test_exports_of_payload_records_are_attachments(site: Site, fmt: str) -> None:
    for url in (f"/records/{record_ids(site)['oai:xss:1']}/export/{fmt}",
                f"/search/export/{fmt}?q=alert"):
        response = site.client().get(url)
        assert response.status_code == 200
        assert response.headers["Content-Disposition"].startswith("attachment; filename=")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.mimetype != "text/html"
        body = response.get_data()
        if fmt == "marcxml":
            titles = etree.fromstring(body).xpath(
                "//m:datafield[@tag='245']/m:subfield[@code='a']/text()",
                namespaces={"m": "http://www.loc.gov/MARC21/slim"})
            assert any(SCRIPT in t for t in titles)
        elif fmt == "json":
            assert SCRIPT in {r["fields"]["title"] for r in json.loads(body)["records"]}


# -- headers ----------------------------------------------------------------------------

HEADER_URLS = ["/", "/search?q=alert", "/records/1", "/members", "/members/evil", "/about",
               "/opensearch.xml", "/api/search?q=x", "/api/records/1", "/api/members",
               "/api/suggest?q=al", "/healthz", "/records/1/export/ris",
               "/search/export/json?q=x", "/records/999999", "/api/records/999999",
               "/static/style.css", "/nowhere", "/records/abc"]


def assert_security_headers(headers: dict[str, str] | object) -> None:
    get = headers.get  # type: ignore[attr-defined]
    csp = get("Content-Security-Policy")
    assert csp, "no CSP"
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert "frame-ancestors" in directives
    assert get("X-Content-Type-Options") == "nosniff"
    assert get("Referrer-Policy") == "strict-origin-when-cross-origin"
    assert get("X-Frame-Options") == "SAMEORIGIN"


@pytest.mark.parametrize("url", HEADER_URLS)
def test_security_headers_on_every_response(site: Site, url: str) -> None:
    response = site.client().get(url)
    response.close()  # a static file is streamed from an open file
    assert response.status_code < 500
    assert_security_headers(response.headers)


def test_security_headers_and_no_traceback_on_a_500(site: Site) -> None:
    app: Flask = create_app(site.settings, engine=site.engine)

    def boom() -> str:
        raise RuntimeError("secret detail " + SCRIPT)

    app.add_url_rule("/boom", view_func=boom)
    app.add_url_rule("/api/boom", endpoint="api_boom", view_func=boom)
    app.logger.disabled = True
    try:
        response = app.test_client().get("/boom")
        assert response.status_code == 500 and response.mimetype == "text/html"
        assert_security_headers(response.headers)
        body = response.get_data(as_text=True)
        assert "secret detail" not in body and "Traceback" not in body
        assert text_of(one(html_text(body), "//h1")) == "Terjadi kesalahan"
        api = app.test_client().get("/api/boom")
        assert api.status_code == 500
        assert api.json == {"error": "Internal Server Error", "status": 500}
        assert_security_headers(api.headers)
    finally:
        app.extensions["aggregator"].index.close()


# -- the code itself --------------------------------------------------------------------

def sources() -> list[Path]:
    return [*TEMPLATES.glob("*"), *WEB.rglob("*.py"), *(WEB / "static").glob("*")]


def test_nothing_is_marked_safe() -> None:
    pattern = re.compile(r"\|\s*safe\b|Markup\s*\(|autoescape\s+false|markupsafe|"
                         r"\bMarkup\b|disable-output-escaping", re.I)
    found = [f"{path.name}: {m.group(0)}" for path in sources() if path.is_file()
             for m in pattern.finditer(path.read_text("utf-8"))]
    assert found == []
    assert len([p for p in sources() if p.suffix == ".html"]) >= 10  # the grep saw them


def test_templates_need_no_inline_script_or_style() -> None:
    """The CSP forbids inline script and style: the templates must not need them."""
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text("utf-8")
        assert "<script" not in text.lower(), path.name
        assert not re.search(r"<style|\sstyle\s*=", text, re.I), path.name
        assert not re.search(r"\son[a-z]+\s*=", text), path.name
        assert "javascript:" not in text.lower(), path.name


def test_autoescape_is_on_for_every_template(site: Site) -> None:
    env = site.app.jinja_env
    assert callable(env.autoescape)
    for path in TEMPLATES.rglob("*"):  # the admin pages' sub-folder too
        if path.is_file():
            assert env.autoescape(path.relative_to(TEMPLATES).as_posix()), path.name


@pytest.mark.parametrize("url", [
    JS, "JaVaScRiPt:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
    "\x01javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)", "//evil.example.org/x", "/relative", "http:///nohost",
    "http://exa mple.org/", "http://[::1", "ftp://example.org/file", "", None,
])
def test_safe_link_refuses_everything_but_absolute_http(url: str | None) -> None:
    assert safe_link(url) is None


@pytest.mark.parametrize("url", ["http://example.org/", "https://example.org/a?b=c&d=e",
                                 "HTTPS://EXAMPLE.ORG/X"])
def test_safe_link_keeps_http_urls(url: str) -> None:
    assert safe_link(url) == url
