"""``/register``: a library applies; its endpoint is checked at once and explained; bad
input, refused URLs, endpoints with errors and duplicates are turned away with a clear
message and nothing stored; the form is rate-limited and size-limited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import func, select

from admin import Network, network, token
from aggregator.errors import RefusedURL
from aggregator.harvest.registration import REFUSALS, check_registered_url
from aggregator.store.models import Application
from aggregator.web.admin.texts import REFUSED
from httpfixture import LocalServer, Reply
from platform_pages import PLATFORMS, serve_platform

FORM = {"name": "Perpustakaan Universitas Contoh", "homepage": "https://contoh.example.ac.id/",
        "contact_email": "Pustakawan@Contoh.example.ac.id"}


@pytest.fixture
def net(tmp_path: Path) -> Network:
    return network(tmp_path, max_retries=0, register_rate_limit=0)


@pytest.fixture
def ojs() -> Iterator[str]:
    """An OJS journal with its shipped repository identifier (a warning, not an error)."""
    with LocalServer() as server:
        yield serve_platform(server, PLATFORMS["ojs"])


def shown(text: str) -> str:
    """``text`` as the templates write it into the page."""
    return str(escape(text))


def apply(client: FlaskClient, lang: str = "id", **fields: str) -> Any:
    data = {**FORM, **fields, "csrf_token": token(client, "/register")}
    return client.post(f"/register?lang={lang}", data=data)


def stored(net: Network) -> list[Application]:
    with net.engine.connect() as conn:
        return list(conn.execute(select(Application).order_by(Application.id)))


def count(net: Network) -> int:
    with net.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Application)) or 0)


def test_the_form_has_its_fields_and_limits(net: Network) -> None:
    page = net.client().get("/register").text
    for name in ("name", "homepage", "contact_email", "base_url", "csrf_token"):
        assert f'name="{name}"' in page, name
    assert 'maxlength="300"' in page and 'maxlength="2000"' in page
    assert 'maxlength="320"' in page
    home = net.client().get("/").text  # every page leads to the form and to sign-in
    assert 'href="/register"' in home and 'href="/login"' in home


def test_an_endpoint_that_can_be_harvested_becomes_an_application(
        net: Network, ojs: str) -> None:
    client = net.client()
    before = count(net)
    response = apply(client, base_url=ojs)
    assert response.status_code == 302 and response.headers["Location"] == "/register/sent"
    page = client.get("/register/sent").text
    assert "Permohonan terkirim" in page and "Perpustakaan Universitas Contoh" in page
    assert "config.inc.php" in page  # the advice for OJS, in Indonesian by default
    assert "Siap dipanen dengan catatan" in page
    english = client.get("/register/sent?lang=en").text
    assert "Ready with warnings" in english and "repository_id" in english
    assert count(net) == before + 1
    application = stored(net)[-1]
    assert application.base_url == ojs and application.status == "pending"
    assert application.platform == "ojs"
    assert application.contact_email == "pustakawan@contoh.example.ac.id"
    assert application.report["ok"] is True
    assert any(f["code"] == "placeholder-identifier" for f in application.report["findings"])
    # another visitor's session has no application to see
    assert net.client().get("/register/sent").status_code == 302


def test_an_endpoint_with_errors_is_explained_and_not_sent(net: Network) -> None:
    with LocalServer() as server:
        slims = serve_platform(server, PLATFORMS["slims"])
        before = count(net)
        response = apply(net.client(), lang="en", base_url=slims)
    assert response.status_code == 422
    assert "Not ready: 1 problem must be fixed first." in response.text
    assert "lib/oai-pmh.inc.php" in response.text  # SLiMS's own file, named
    assert "The application was not sent" in response.text
    assert 'value="Perpustakaan Universitas Contoh"' in response.text  # kept for the retry
    assert count(net) == before


def test_an_unreachable_endpoint_says_so_without_naming_addresses(net: Network) -> None:
    response = apply(net.client(), lang="en", base_url="http://127.0.0.1:9/oai")
    assert response.status_code == 422
    assert "Not ready" in response.text
    assert "Connection refused" not in response.text and "Errno" not in response.text


@pytest.mark.parametrize(("url", "cause"), [
    ("http://0x7f000001/", "loopback"), ("http://2130706433/", "loopback"),
    ("http://127.1/", "loopback"), ("http://017700000001/", "loopback"),
    ("http://0/", "unspecified"), ("http://localhost/", "loopback"),
    ("http://127.0.0.1/oai", "loopback"), ("http://10.0.0.1/oai", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"), ("http://[::1]/", "loopback"),
    ("ftp://repository.example.ac.id/oai", "scheme"),
    ("http://user:pw@repository.example.ac.id/oai", "credentials"),
])
def test_refused_urls_get_the_same_message_as_the_command_line(
        tmp_path: Path, url: str, cause: str) -> None:
    net = network(tmp_path, allow_networks=(), register_rate_limit=0)
    response = apply(net.client(), lang="en", base_url=url)
    assert response.status_code == 400
    assert shown(REFUSED[cause]["en"]) in response.text  # plain words, by the field
    with pytest.raises(RefusedURL) as refused:  # what `members add` prints (test_cli)
        check_registered_url(url)
    assert str(refused.value) == REFUSALS[cause]
    assert shown(REFUSALS[cause]) in response.text  # as the technical detail
    assert count(net) == 1  # the fixture's one application, nothing more


@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", "", "Kolom ini wajib diisi."),
    ("name", "x" * 301, "Paling banyak 300 karakter."),
    ("contact_email", "not an address", "Ini bukan alamat surel."),
    ("contact_email", "a@" + "b" * 320 + ".id", "Paling banyak 320 karakter."),
    ("homepage", "javascript:alert(1)", "Isikan alamat web yang diawali http:// atau https://."),
    ("base_url", "", "Kolom ini wajib diisi."),
    ("base_url", "http://example.org/" + "x" * 2000, "Paling banyak 2000 karakter."),
])
def test_bad_fields_are_refused_before_anything_is_asked(
        net: Network, field: str, value: str, message: str) -> None:
    with LocalServer() as server:
        server.serve(Reply(500))
        fields = {"base_url": server.url, field: value}
        response = apply(net.client(), **fields)
        assert response.status_code == 400
        assert message in response.text and 'aria-invalid="true"' in response.text
        assert server.seen == []  # the endpoint was not probed
    assert count(net) == 1


def test_the_form_needs_its_csrf_token(net: Network, ojs: str) -> None:
    response = net.client().post("/register", data={**FORM, "base_url": ojs})
    assert response.status_code == 400
    assert count(net) == 1


def test_an_endpoint_is_applied_for_once(net: Network, ojs: str) -> None:
    assert apply(net.client(), base_url=ojs).status_code == 302
    again = apply(net.client(), lang="en", base_url=ojs)
    assert again.status_code == 409
    assert "An application for this endpoint is waiting for the coordinator" in again.text
    harvested = apply(net.client(), lang="en", base_url="http://127.0.0.1:9/a/oai")
    assert harvested.status_code == 409
    assert "The network harvests this endpoint already." in harvested.text
    assert count(net) == 2


def test_checks_are_limited_per_client_across_workers(tmp_path: Path, ojs: str) -> None:
    """Two apps on one store stand for two worker processes: together they allow the
    limit once."""
    from aggregator.web import create_app

    net = network(tmp_path, max_retries=0, register_rate_limit=2)
    other = create_app(net.settings, engine=net.engine).test_client()
    first = apply(net.client(), base_url="http://127.0.0.1:9/x/oai")
    second = apply(other, base_url="http://127.0.0.1:9/y/oai")
    assert (first.status_code, second.status_code) == (422, 422)
    third = apply(net.client(), lang="en", base_url=ojs)
    assert third.status_code == 429 and "Too many applications" in third.text
    assert count(net) == 1
    # a form refused before the check costs no attempt
    assert apply(other, name="").status_code == 400


def test_a_huge_request_is_refused(net: Network) -> None:
    client = net.client()
    response = client.post("/register", data={**FORM, "base_url": "x" * 300_000,
                                              "csrf_token": token(client, "/register")})
    assert response.status_code == 413
    assert count(net) == 1


def test_a_redirect_to_a_forbidden_address_is_not_followed(tmp_path: Path) -> None:
    """The applicant's server (allowed) sends the check on to an address that is not:
    the check stops there, says so, and nothing is stored."""
    net = network(tmp_path, allow_networks=("127.0.0.1/32",), max_retries=0,
                  register_rate_limit=0)
    with LocalServer(host="127.0.0.2") as inner, LocalServer() as outer:
        inner.serve(Reply(200, body=b"INTERNAL-ONLY"))
        outer.serve(Reply(302, [("Location", f"{inner.base}/internal-admin")]))
        response = apply(net.client(), lang="en", base_url=outer.url)
        assert response.status_code == 422
        assert inner.seen == [] and len(outer.seen) == 1
    assert "INTERNAL-ONLY" not in response.text and "127.0.0.2" not in response.text
    assert count(net) == 1
