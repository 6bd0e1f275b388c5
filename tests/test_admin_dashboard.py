"""The dashboard at /admin/ and the accounts page, for the coordinator and a manager,
on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import lxml.html
import pytest
from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from adminsite import Network, build_network, sign_in
from aggregator.config import Settings
from aggregator.store import applications, health
from aggregator.store.models import utcnow
from aggregator.web import create_app
from aggregator.web.admin.dashboard import duration

# store/users.py still calls Result.tuples(), deprecated in SQLAlchemy 2.1


@pytest.fixture
def network(engine: Engine) -> Network:
    return build_network(engine, utcnow())


@pytest.fixture
def app(engine: Engine, settings: Settings, network: Network) -> Iterator[Flask]:
    yield create_app(settings, engine=engine)


def page(app: Flask, email: str, url: str = "/admin/?lang=en") -> lxml.html.HtmlElement:
    client = app.test_client()
    sign_in(client, email)
    response = client.get(url)
    assert response.status_code == 200
    return lxml.html.fromstring(response.get_data(as_text=True))


def text(doc: lxml.html.HtmlElement, xpath: str) -> str:
    return " ".join(" ".join(node.itertext()) for node in doc.xpath(xpath)).strip()


def rows(doc: lxml.html.HtmlElement) -> list[str]:
    return [row.get("id") for row in doc.xpath("//table[@class='sources']/tbody/tr")]


def submit_application(engine: Engine, name: str, url: str) -> None:
    with Session(engine) as session, session.begin():
        applications.submit(session, name=name, homepage=None,
                            contact_email="head@lib.example.org", base_url=url, report={},
                            platform=None)


def test_coordinator_sees_failing_sources_first_with_how_long(app: Flask, engine: Engine,
                                                              network: Network) -> None:
    submit_application(engine, "Perpustakaan D", "https://d.example.org/oai")
    submit_application(engine, "Perpustakaan E", "https://e.example.org/oai")
    doc = page(app, "boss@example.org")
    # the longest failing first, then the newer streak, then the rest by member
    assert rows(doc) == [f"source-{network.failing_long}", f"source-{network.failing_new}",
                         f"source-{network.ok}", f"source-{network.other}"]
    long_row = f"//tr[@id='source-{network.failing_long}']"
    assert text(doc, long_row + "/td[@class='failures']") == "5"
    assert text(doc, long_row + "/td[@class='failing-for']").startswith("3 days")
    assert "connection refused" in text(doc, long_row)
    new_row = f"//tr[@id='source-{network.failing_new}']"
    # never succeeded: since the first failed run after the last partial one
    assert text(doc, new_row + "/td[@class='failing-for']").startswith("2 hours")
    assert text(doc, f"//tr[@id='source-{network.ok}']/td[@class='failing-for']") == ""
    assert text(doc, f"//tr[@id='source-{network.ok}']/td[@class='next-run']").endswith("UTC")
    totals = {key: text(doc, f"//dd[@id='total-{key}']")
              for key in ("members", "sources", "records", "failing", "runs")}
    assert totals == {"members": "3", "sources": "4", "records": "5", "failing": "2",
                      "runs": "3"}
    link = doc.xpath("//p[@id='pending']/a")[0]
    assert link.get("href") == "/admin/applications"
    assert link.text_content().startswith("2 ")
    assert doc.xpath("//a[@href='/admin/accounts']")


def test_accounts_page_lists_emails_roles_and_members(app: Flask) -> None:
    doc = page(app, "boss@example.org", "/admin/accounts?lang=en")
    listed = [[cell.text_content().strip() for cell in row.xpath("td")][:3]
              for row in doc.xpath("//table[@class='accounts']/tbody/tr")]
    assert listed == [["boss@example.org", "coordinator", "all"],
                      ["a1@example.org", "manager", "perpus-a"],
                      ["a2@example.org", "manager", "perpus-a"],
                      ["b@example.org", "manager", "perpus-b"]]


def test_a_manager_sees_only_their_members_sources(app: Flask, network: Network) -> None:
    doc = page(app, "b@example.org")
    assert rows(doc) == [f"source-{network.failing_new}"]
    assert text(doc, "//dd[@id='total-sources']") == "1"
    assert text(doc, "//dd[@id='total-members']") == "1"
    assert text(doc, "//dd[@id='total-runs']") == "2"
    assert not doc.xpath("//p[@id='pending']")
    assert not doc.xpath("//a[@href='/admin/accounts']")
    assert "a.example.org" not in lxml.html.tostring(doc, encoding="unicode")


def test_a_manager_gets_403_on_the_accounts_page(app: Flask) -> None:
    client = app.test_client()
    sign_in(client, "a1@example.org")
    assert client.get("/admin/accounts").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(app: Flask) -> None:
    for url in ("/admin/", "/admin/accounts"):
        response = app.test_client().get(url)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_the_dashboard_is_in_indonesian_by_default(app: Flask) -> None:
    doc = page(app, "boss@example.org", "/admin/")
    assert "hari" in text(doc, "//td[@class='failing-for']")
    assert "Sumber yang gagal" in text(doc, "//dl[@class='totals']")


def test_streak_start_without_any_run_is_unknown(engine: Engine, network: Network) -> None:
    with Session(engine) as session:
        found = {s.id: s for s in health.source_health(session)}
    assert found[network.failing_long].failing_since is not None
    assert found[network.ok].failing_since is None


@pytest.mark.parametrize(("minutes", "expected"), [
    (0, "0 minutes"), (59, "59 minutes"), (60, "1 hours"), (61, "1 hours 1 minutes"),
    (24 * 60, "1 days"), (3 * 24 * 60 + 125, "3 days 2 hours")])
def test_duration_in_words(minutes: int, expected: str) -> None:
    from datetime import timedelta
    with Flask(__name__).test_request_context("/?lang=en"):
        from flask import g
        g.lang = "en"
        assert duration(timedelta(minutes=minutes)) == expected


def test_the_last_status_is_the_last_run_whoever_ran_it(app: Flask, engine: Engine,
                                                       network: Network) -> None:
    from adminsite import add_run, set_source
    set_source(engine, network.other, last_status=None)  # run from the command line
    add_run(engine, network.other, "partial", utcnow())
    doc = page(app, "boss@example.org")
    assert text(doc, f"//tr[@id='source-{network.other}']/td[3]") == "partial"
