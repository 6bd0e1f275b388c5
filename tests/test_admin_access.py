"""Who may do what under /admin, generated from the app's URL map (so a new admin URL
cannot escape), plus sign-in, CSRF, ``next=`` and the session cookie."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.routing import Rule

from admin import COORDINATOR, MANAGER_A, MANAGER_B, PASSWORD, Network, network, token
from aggregator.store.models import Member, ServiceRequest, Source
from aggregator.web.auth import safe_next

NETWORK_WIDE = 403  # pages of the whole network, refused to managers
# Pages of the whole network every signed-in account may see (managers too).
EVERY_ACCOUNT = ("/admin/overlap", "/admin/overlap.csv?part=members",
                 "/admin/overlap.csv?part=matrix", "/admin/overlap.csv?part=duplicated",
                 "/admin/overlap.csv?part=classes")


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Network:
    return network(tmp_path_factory.mktemp("admin"))


def admin_rules(net: Network) -> list[Rule]:
    rules = [r for r in net.app.url_map.iter_rules() if r.endpoint.startswith("admin.")]
    assert len(rules) >= 4  # the map is read: overview, applications, decisions …
    return rules


def url_for_a(net: Network, rule: Rule) -> tuple[str, bool]:
    """The rule's URL about member a's things; whether it is about one member."""
    values: dict[str, Any] = {}
    scoped = False
    for name in rule.arguments:
        if name == "source_id":
            values[name], scoped = net.source_a, True
        elif name == "slug":
            values[name], scoped = "a", True
        elif name == "offer_id":
            values[name], scoped = net.offer_a, True
        elif name == "application_id":
            values[name] = net.application_id
        elif name == "decision":
            values[name] = "reject"
        elif name == "request_id":
            values[name], scoped = net.request_id, True
        elif name == "action":
            values[name] = "decline"  # without its reason: refused, nothing changes
        else:
            raise AssertionError(f"the access test does not know how to fill <{name}> of "
                                 f"{rule.rule}: teach it")
    with net.app.test_request_context():
        from flask import url_for
        return url_for(rule.endpoint, **values), scoped


def calls(net: Network) -> list[tuple[str, str, bool]]:
    out = []
    for rule in admin_rules(net):
        url, scoped = url_for_a(net, rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((method, url, scoped))
    return out


def send(client: FlaskClient, method: str, url: str, signed_in: bool = True) -> Any:
    data = {"csrf_token": token(client, "/admin/" if signed_in else "/login")
            } if method == "POST" else None
    return client.open(url, method=method, data=data)


def counts(net: Network) -> tuple[int, int, tuple[object, ...]]:
    with net.engine.connect() as conn:
        return (int(conn.scalar(select(func.count()).select_from(Member)) or 0),
                int(conn.scalar(select(func.count()).select_from(Source)) or 0),
                tuple(conn.execute(select(ServiceRequest.status, ServiceRequest.reason,
                                          Member.accepts_requests).join(
                    Member, Member.id == ServiceRequest.holder_member_id)).one()))


def test_anonymous_visitors_are_sent_to_login_from_every_admin_url(net: Network) -> None:
    before = counts(net)
    for method, url, _ in calls(net):
        # with a valid token, so that the guard decides
        response = send(net.client(), method, url, signed_in=False)
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/login"), (method, url)
    assert counts(net) == before


def test_other_members_managers_are_refused_everywhere(net: Network) -> None:
    manager_b, manager_a = net.client(MANAGER_B), net.client(MANAGER_A)
    before = counts(net)
    for method, url, scoped in calls(net):
        refused = send(manager_b, method, url).status_code
        if scoped:
            assert refused in (403, 404), (method, url, refused)
            # a's manager reaches the view (an empty form may be bad input: 400)
            allowed = send(manager_a, method, url)
            assert allowed.status_code not in (401, 403, 404), (method, url)
            assert not allowed.headers.get("Location", "").startswith("/login"), (method, url)
        else:  # network-wide pages: both managers alike (their own view, or 403)
            assert refused == send(manager_a, method, url).status_code, (method, url)
            assert refused in (200, 302, NETWORK_WIDE), (method, url, refused)
    assert counts(net) == before  # nothing a manager of b sent changed anything


def test_the_coordinator_reaches_every_admin_url(net: Network) -> None:
    coordinator = net.client(COORDINATOR)
    for method, url, _ in calls(net):
        if method == "GET":
            assert send(coordinator, method, url).status_code == 200, url


def test_every_account_sees_the_collection_overlap(net: Network) -> None:
    endpoints = {r.endpoint for r in admin_rules(net)}
    assert {"admin.overlap", "admin.overlap_csv"} <= endpoints
    for url in EVERY_ACCOUNT:
        anonymous = net.client().get(url)
        assert anonymous.status_code == 302, url
        assert anonymous.headers["Location"].startswith("/login"), url
        for email in (MANAGER_A, MANAGER_B, COORDINATOR):
            assert net.client(email).get(url).status_code == 200, (email, url)


def test_every_admin_form_refuses_a_missing_or_foreign_csrf_token(net: Network) -> None:
    coordinator = net.client(COORDINATOR)
    foreign = token(net.client(MANAGER_B), "/admin/")
    before = counts(net)
    posts = [(m, u) for m, u, _ in calls(net) if m == "POST"]
    assert posts
    for _, url in [*posts, ("POST", "/logout")]:
        assert coordinator.post(url).status_code == 400, url
        assert coordinator.post(url, data={"csrf_token": foreign}).status_code == 400, url
        assert coordinator.post(url, data={"csrf_token": "forged"}).status_code == 400, url
    assert counts(net) == before
    assert coordinator.get("/admin/").status_code == 200  # still signed in


def test_the_oai_endpoint_takes_posts_without_a_token(net: Network) -> None:
    response = net.client().post("/oai", data={"verb": "Identify"})
    assert response.status_code == 200 and b"<Identify>" in response.data


def test_sign_in_and_out(tmp_path: Path) -> None:
    net = network(tmp_path)
    client = net.client()
    wrong = client.post("/login", data={"email": MANAGER_A, "password": "not it",
                                        "csrf_token": token(client)})
    assert wrong.status_code == 401 and "/admin" not in wrong.headers.get("Location", "")
    unknown = client.post("/login", data={"email": "nobody@example.org",
                                          "password": PASSWORD, "csrf_token": token(client)})
    assert unknown.status_code == 401
    assert client.get("/admin/").status_code == 302
    ok = client.post("/login", data={"email": MANAGER_A.upper(), "password": PASSWORD,
                                     "csrf_token": token(client)})
    assert ok.status_code == 302 and ok.headers["Location"] == "/admin/"
    cookie = next(v for v in ok.headers.getlist("Set-Cookie") if v.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    page = client.get("/admin/")
    assert page.status_code == 200 and MANAGER_A in page.text
    assert "Perpustakaan A" in page.text and "Perpustakaan B" not in page.text
    out = client.post("/logout", data={"csrf_token": token(client, "/admin/")})
    assert out.status_code == 302
    assert client.get("/admin/").status_code == 302


def test_a_removed_account_is_signed_out_at_its_next_request(tmp_path: Path) -> None:
    from aggregator.store import users
    from aggregator.store.db import session_scope

    net = network(tmp_path)
    client = net.client(MANAGER_A)
    assert client.get("/admin/").status_code == 200
    with session_scope(net.engine) as session:
        users.remove_account(session, MANAGER_A)
    assert client.get("/admin/").status_code == 302


def test_the_session_cookie_is_secure_on_an_https_site(tmp_path: Path) -> None:
    net = network(tmp_path, base_url="https://katalog.example.id")
    client = net.app.test_client()
    here = "https://katalog.example.id"
    response = client.post("/login", base_url=here, data={
        "email": MANAGER_A, "password": PASSWORD,
        "csrf_token": token(client, base_url=here)},
        headers={"Referer": "https://katalog.example.id/login"})
    cookie = next(v for v in response.headers.getlist("Set-Cookie")
                  if v.startswith("session="))
    assert "Secure" in cookie


@pytest.mark.parametrize("target", [
    "//evil.example", "https://evil.example", "http://evil.example/admin/",
    "/\\evil.example", "\\/evil.example", "\\\\\\evil.example", "http:evil.example",
    "/%09/evil.example", "/\t/evil.example", " //evil.example", "evil.example",
    "javascript:alert(1)", "//evil.example/%2F..", "/admin/\r\nSet-Cookie:x=1",
])
def test_next_only_ever_leads_to_a_path_here(net: Network, target: str) -> None:
    assert safe_next(target) in (None, target)
    client = net.client()
    response = client.post("/login", data={"email": MANAGER_A, "password": PASSWORD,
                                           "next": target, "csrf_token": token(client)})
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith("//"), location
    assert "evil" not in location.replace("%", "").split("?")[0] or location == target
    if safe_next(target) is None:
        assert location == "/admin/"


def test_next_keeps_a_path_of_this_site(net: Network) -> None:
    client = net.client()
    asked = "/admin/?x=1"
    first = client.get(asked)
    assert first.headers["Location"] == "/login?next=/admin/?x%3D1"
    response = client.post("/login", data={"email": MANAGER_A, "password": PASSWORD,
                                           "next": asked, "csrf_token": token(client)})
    assert response.headers["Location"] == asked


def test_sign_in_attempts_are_limited_per_account_across_workers(tmp_path: Path) -> None:
    """Two apps on one data folder stand for two worker processes: the limit is theirs
    together, and the right password does not get through once it is reached."""
    net = network(tmp_path, login_rate_limit=3)
    from aggregator.web import create_app

    other = create_app(net.settings, engine=net.engine)
    clients = [net.app.test_client(), other.test_client(), net.app.test_client()]
    for client in clients:
        wrong = client.post("/login", data={"email": MANAGER_A, "password": "nope",
                                            "csrf_token": token(client)})
        assert wrong.status_code == 401
    last = other.test_client()
    refused = last.post("/login", data={"email": MANAGER_A, "password": PASSWORD,
                                        "csrf_token": token(last)})
    assert refused.status_code == 429 and "/admin" not in refused.headers.get("Location", "")
    fine = net.client(MANAGER_B)  # another account is not held back by a's limit
    assert fine.get("/admin/").status_code == 200
