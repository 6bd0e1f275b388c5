"""The portal's JSON API and /healthz, over the harvested sample network."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from aggregator.store.db import init_schema, make_engine
from aggregator.store.models import Member, Record, Source
from aggregator.web import create_app
from portal import (
    DUPLICATE_COPIES,
    WITHDRAWN,
    Site,
    build_sample_site,
    close_site,
    html,
    local_settings,
    one,
)

DUPLICATE = DUPLICATE_COPIES


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    built = build_sample_site(tmp_path_factory.mktemp("api"))
    yield built
    close_site(built)


def get_json(site: Site, url: str, status: int = 200) -> Any:
    response = site.client().get(url)
    assert response.status_code == status, (url, response.status_code)
    assert response.mimetype == "application/json"
    return response.json


def works(site: Site) -> int:
    with Session(site.engine) as session:
        return session.scalar(select(func.count(distinct(Record.cluster_id)))
                              .where(~Record.deleted)) or 0


def test_search_returns_hits_facets_and_the_cleaned_query(site: Site) -> None:
    data = get_json(site, "/api/search?q=rural+sociology&sort=relevance&per_page=10")
    assert data["query"] == {"q": "rural sociology", "filters": {}, "year": None,
                             "sort": "relevance", "page": 1, "per_page": 10}
    assert data["ignored"] == []
    assert data["total"] == len(data["hits"]) == 4
    assert data["pages"] == 1
    duplicate = [h for h in data["hits"] if h["title"] == "An introduction to rural sociology"]
    assert len(duplicate) == 1
    hit = duplicate[0]
    assert sorted(m["slug"] for m in hit["members"]) == sorted(DUPLICATE)
    assert {m["slug"]: m["name"] for m in hit["members"]}["ipk"] == (
        "Institut Pertanian Khatulistiwa")
    assert sorted(hit["record_ids"]) == sorted(site.record_id(s, i) for s, i in DUPLICATE.items())
    assert hit["url"] == f"{site.settings.public_root}/records/{hit['record_id']}"
    assert hit["record_id"] == hit["record_ids"][0]
    assert hit["year"] == 2022 and hit["languages"] == ["en"]
    assert "<mark>rural</mark>" in hit["highlights"]["title"].lower()
    members = {f["value"]: f for f in data["facets"]["member"]}
    assert members["ipk"] == {"value": "ipk", "count": 1,
                              "label": "Institut Pertanian Khatulistiwa"}
    assert "label" not in data["facets"]["year"][0]


def test_search_total_is_every_live_work_and_pages_follow(site: Site) -> None:
    total = works(site)
    data = get_json(site, "/api/search?per_page=50&page=2")
    assert data["total"] == total
    assert data["pages"] == math.ceil(total / 50)
    assert len(data["hits"]) == 50
    first = get_json(site, "/api/search?per_page=50")
    assert not {h["id"] for h in first["hits"]} & {h["id"] for h in data["hits"]}
    withdrawn = site.record_id(*WITHDRAWN)
    everything = [rid for page in range(1, math.ceil(total / 100) + 1)
                  for h in get_json(site, f"/api/search?per_page=100&page={page}")["hits"]
                  for rid in h["record_ids"]]
    assert withdrawn not in everything
    assert len(everything) == len(set(everything))  # no record in two works


def test_filters_narrow_and_are_echoed(site: Site) -> None:
    data = get_json(site, "/api/search?member=ipk&member=unira&type=Thesis&year=2015..2020")
    assert data["query"]["filters"] == {"member": ["ipk", "unira"], "type": ["Thesis"]}
    assert data["query"]["year"] == "2015..2020"
    assert 0 < data["total"] < works(site)
    for hit in data["hits"]:
        assert {"ipk", "unira"} & {m["slug"] for m in hit["members"]}
        assert hit["type"] == "Thesis" and 2015 <= hit["year"] <= 2020


BAD = [
    ("page=-1", ["page"]), ("page=abc", ["page"]), ("page=999999", ["page"]),
    ("per_page=7", ["per_page"]), ("year=zzz", ["year"]), ("year=3000..1", ["year"]),
    ("sort=bogus", ["sort"]), ("q=" + "a" * 10_000, ["q"]), ('q="pendidikan+karakter', []),
    ("q=(pendidikan+OR+python", []), ("q=title:", []), ("q=*", []), ("lang=xx", []),
    ("&".join(["member=x"] * 50), []), ("q=%F0%9F%92%A5%E2%80%AE%EF%BB%BF%CC%B8", []),
    ("q=%00python%00", []), ("q=%ff%fe", []), ("q=year:3000..1", []), ("q=NOT", []),
    ("per_page=-5&page=1e9&sort=&year=19", ["year", "sort", "page", "per_page"]),
]


@pytest.mark.parametrize(("query", "ignored"), BAD, ids=[q[:30] for q, _ in BAD])
def test_bad_parameters_are_reported_not_fatal(site: Site, query: str,
                                                ignored: list[str]) -> None:
    data = get_json(site, "/api/search?" + query)
    assert data["ignored"] == ignored
    assert len(data["query"]["q"]) <= 200
    assert 1 <= data["query"]["page"] <= 50
    assert data["query"]["per_page"] in (10, 20, 50, 100)
    assert data["query"]["sort"] in ("relevance", "newest", "oldest", "title")


def test_clamped_values(site: Site) -> None:
    assert get_json(site, "/api/search?page=999999")["query"]["page"] == 50
    assert get_json(site, "/api/search?page=-1")["query"]["page"] == 1
    long = get_json(site, "/api/search?q=" + "ab " * 5000)
    assert long["query"]["q"] == ("ab " * 67)[:200] and long["ignored"] == ["q"]
    many = get_json(site, "/api/search?" + "&".join(f"member=m{i}" for i in range(50)))
    assert many["query"]["filters"]["member"] == [f"m{i}" for i in range(10)]
    assert many["total"] == 0
    assert get_json(site, "/api/search?year=2019")["query"]["year"] == "2019"


def test_record(site: Site) -> None:
    rid = site.record_id("perpusda-sukamaju", DUPLICATE["perpusda-sukamaju"])
    data = get_json(site, f"/api/records/{rid}")
    assert data["id"] == rid and data["identifier"] == DUPLICATE["perpusda-sukamaju"]
    assert data["deleted"] is False and data["metadata_prefix"] == "oai_dc"
    assert data["member"]["slug"] == "perpusda-sukamaju"
    assert data["url"] == f"{site.settings.public_root}/records/{rid}"
    assert data["fields"]["title"] == "An introduction to rural sociology"
    assert data["fields"]["creators"] == ["Sinaga, Bambang Taufik", "Tarigan, Joko Intan",
                                          "Tanjung, Zainal"]
    assert data["fields"]["year"] == 2022
    copies = {c["member"]["slug"]: c for c in data["copies"]}
    assert set(copies) == {"ipk", "unira"}
    assert copies["unira"]["record_id"] == site.record_id("unira", DUPLICATE["unira"])
    assert copies["unira"]["link"] == "https://eprints.unira.example.ac.id/477/"
    with Session(site.engine) as session:
        base_url = session.scalars(select(Source.base_url).join(Member)
                                   .where(Member.slug == "perpusda-sukamaju")).one()
    assert data["source"] == base_url


def test_withdrawn_record_says_so(site: Site) -> None:
    data = get_json(site, f"/api/records/{site.record_id(*WITHDRAWN)}")
    assert data["deleted"] is True and data["copies"] == []


@pytest.mark.parametrize("url", ["/api/records/999999", "/api/records/abc", "/api/records/0",
                                 "/api/nothing", "/api/records/-1"])
def test_api_not_found_is_json(site: Site, url: str) -> None:
    assert get_json(site, url, status=404) == {"error": "Not Found", "status": 404}


def test_members(site: Site) -> None:
    data = get_json(site, "/api/members")["members"]
    assert [m["slug"] for m in data] == sorted(
        (m.slug for m in site.members), key=lambda s: next(
            x.name.casefold() for x in site.members if x.slug == s))
    with Session(site.engine) as session:
        counts = dict(session.execute(
            select(Member.slug, func.count(Record.id)).join(Source, Source.member_id == Member.id)
            .join(Record, Record.source_id == Source.id).where(~Record.deleted)
            .group_by(Member.slug)).all())
    for member in data:
        demo = next(m for m in site.members if m.slug == member["slug"])
        assert member["records"] == counts[member["slug"]] > 0
        assert (member["name"], member["kind"], member["city"], member["homepage"]) == (
            demo.name, demo.kind, demo.city, demo.homepage)
        assert member["url"] == f"{site.settings.public_root}/members/{member['slug']}"
        assert member["last_harvest"] is not None


def test_suggest_completes_the_last_word(site: Site) -> None:
    response = site.client().get("/api/suggest?q=pengantar+pem")
    assert response.status_code == 200
    assert response.mimetype == "application/x-suggestions+json"
    typed, completions = response.json
    assert typed == "pengantar pem"
    assert "pengantar pemrograman" in completions
    assert 0 < len(completions) <= 10
    assert all(c.startswith("pengantar pem") for c in completions)
    for query, expected in (("", ["", []]), ("python ", ["python ", []])):
        empty = site.client().get("/api/suggest", query_string={"q": query})
        assert empty.mimetype == "application/x-suggestions+json"
        assert empty.json == expected
    long = site.client().get("/api/suggest?q=" + "x" * 500).json
    assert long[0] == "x" * 100 and long[1] == []


def test_healthz_reports_the_index(site: Site) -> None:
    data = get_json(site, "/healthz")
    assert data["status"] == "ok" and data["store"] == "ok"
    assert data["index"]["documents"] == works(site)
    assert data["index"]["backend"] == site.settings.search_backend
    assert int(data["index"]["change_seq"]) > 0


def test_without_an_index_search_is_503_but_the_directory_works(tmp_path: Path) -> None:
    settings = local_settings(tmp_path)
    engine = make_engine(settings)
    init_schema(engine)
    app = create_app(settings, engine=engine)
    client = app.test_client()
    try:
        health = client.get("/healthz")
        assert health.status_code == 503 and health.mimetype == "application/json"
        assert health.json["status"] == "unavailable" and health.json["store"] == "ok"
        assert "no search index" in health.json["index"]
        api = client.get("/api/search?q=x")
        assert api.status_code == 503 and api.headers["Retry-After"] == "5"
        assert api.json == {"error": "search unavailable", "status": 503}
        page = client.get("/search?q=x")
        assert page.status_code == 503 and page.mimetype == "text/html"
        assert page.headers["Retry-After"] == "5"
        doc = html(page)
        assert one(doc, "//h1").text == "Pencarian sedang tidak tersedia"
        assert client.get("/").status_code == 200
        assert client.get("/members").status_code == 200
        assert client.get("/about").status_code == 200
    finally:
        app.extensions["aggregator"].index.close()
        engine.dispose()


def test_search_suggests_a_spelling_as_the_page_does(site: Site) -> None:
    data = get_json(site, "/api/search?q=pemrogaman")  # the titles say "pemrograman"
    assert data["total"] == 0
    assert data["suggestion"] == "pemrograman"
    assert get_json(site, "/api/search?q=pemrograman")["total"] > 0
    assert get_json(site, "/api/search?q=pemrograman")["suggestion"] is None  # found: none
    assert get_json(site, "/api/search?q=qqqqzzzz")["suggestion"] is None  # nothing near


@pytest.mark.parametrize("url", ["/api/search?q=pendidikan", "/api/members", "/api/suggest?q=p",
                                 "/api/nothing", "/api/records/999999"])
def test_get_requests_on_the_api_may_come_from_any_site(site: Site, url: str) -> None:
    response = site.client().get(url, headers={"Origin": "https://elsewhere.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "Retry-After" in response.headers["Access-Control-Expose-Headers"]


def test_cors_is_for_api_gets_only(site: Site) -> None:
    origin = {"Origin": "https://elsewhere.example"}
    for url in ("/", "/search?q=x", "/records/1", "/healthz", "/login"):
        assert "Access-Control-Allow-Origin" not in site.client().get(url, headers=origin).headers
    preflight = site.client().options("/api/search", headers={
        **origin, "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers
    post = site.client().post("/api/search", headers=origin)
    assert "Access-Control-Allow-Origin" not in post.headers


def _app_api_routes(site: Site) -> set[tuple[str, str]]:
    import re

    return {(re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule), method)
            for rule in site.app.url_map.iter_rules()
            if rule.rule.startswith("/api/") or rule.rule == "/healthz"
            for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}}


def test_openapi_describes_exactly_the_apps_json_endpoints(site: Site) -> None:
    from openapi_spec_validator import validate

    response = site.client().get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json
    validate(document)  # a valid OpenAPI 3.1 document
    assert document["servers"] == [{"url": site.settings.public_root}]
    described = {(path, method.upper()) for path, item in document["paths"].items()
                 for method in item}
    assert described == _app_api_routes(site)


def test_api_answers_match_their_described_schemas(site: Site) -> None:
    from jsonschema import Draft202012Validator

    document = site.client().get("/api/openapi.json").json
    rid = site.record_id("unira", DUPLICATE["unira"])

    def check(url: str, schema: str) -> None:
        validator = Draft202012Validator({"$ref": f"#/components/schemas/{schema}",
                                          "components": document["components"]})
        validator.validate(site.client().get(url).json)

    check("/api/search?q=pemrogaman", "SearchResults")
    check("/api/search?q=pendidikan", "SearchResults")
    check(f"/api/records/{rid}", "Record")
    check("/api/records/999999", "Error")
    check("/healthz", "Health")
    for member in site.client().get("/api/members").json["members"]:
        Draft202012Validator({"$ref": "#/components/schemas/Member",
                              "components": document["components"]}).validate(member)


@pytest.mark.parametrize(("lang", "heading", "summary"), [
    ("id", "Katalog sebagai JSON", "Mencari di katalog: karya, faset dan saran ejaan"),
    ("en", "The catalogue as JSON", "Search the catalogue: works, facets and a spelling "
                                    "suggestion")])
def test_api_page_describes_every_endpoint_in_both_languages(
        site: Site, lang: str, heading: str, summary: str) -> None:
    from aggregator.web.apidocs import operations
    from aggregator.web.translations import INDONESIAN

    response = site.client().get(f"/api?lang={lang}")
    assert response.status_code == 200 and response.mimetype == "text/html"
    doc = html(response)
    assert " ".join(one(doc, "//h1").text_content().split()) == heading
    shown = {" ".join(h.text_content().split()) for h in doc.xpath("//section/h2")}
    assert shown == {f"{method} {path}" for path, method in _app_api_routes(site)}
    assert summary in doc.xpath("//section[@id='search']/p/text()")
    for _, _, op in operations():  # every text taken from the document is translated
        for text in (op["summary"], *(p["description"] for p in op.get("parameters", ()))):
            assert text in INDONESIAN, text
