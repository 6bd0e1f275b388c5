"""Interlibrary requests in the store, on SQLite and PostgreSQL: making them, the answers
and their legal steps, two managers answering at once, the erasure of patron data after
the retention period, and the figures (computed by hand here)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select, update

from aggregator.errors import UserInputError
from aggregator.store import catalog, requests
from aggregator.store.db import session_scope
from aggregator.store.models import Member, Offer, RequestEvent, ServiceRequest
from aggregator.store.request_figures import figures, percentile
from aggregator.store.requests import RequestConflict, RequestView

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def members(engine: Engine) -> None:
    with session_scope(engine) as session:
        catalog.add_member(session, "a", "Perpustakaan A")
        catalog.add_member(session, "b", "Perpustakaan B")
        requests.set_request_settings(session, "a", "both", "Free for members.")
        requests.set_request_settings(session, "b", "copies", None)


def make(engine: Engine, holder: str = "a", kind: str = "copy", **extra: object) -> RequestView:
    fields: dict[str, object] = {"title": "Sejarah Desa", "patron_name": "Siti",
                                 "patron_email": "Siti@Example.org",
                                 "home_library": "Perpustakaan Sekolah", **extra}
    with session_scope(engine) as session:
        return requests.create(session, holder=holder, kind=kind, **fields)  # type: ignore[arg-type]


def answer(engine: Engine, request_id: int, action: str, reason: str | None = None
           ) -> RequestView:
    with session_scope(engine) as session:
        return requests.answer(session, request_id, action, actor="m@example.org",
                               reason=reason)


def test_a_request_is_stored_with_a_token_and_its_first_step(engine: Engine) -> None:
    members(engine)
    made = make(engine, home="b", note="pages 3-9")
    assert made.status == "new" and made.patron_email == "siti@example.org"
    assert len(made.token) >= 43 and made.home_slug == "b"
    assert made.home_name == "Perpustakaan B" and made.holder_name == "Perpustakaan A"
    other = make(engine)
    assert other.token != made.token and other.home_name == "Perpustakaan Sekolah"
    with session_scope(engine) as session:
        assert requests.get_by_token(session, made.token) == made
        assert requests.get_by_token(session, made.token[:-1]) is None
        assert requests.get_by_token(session, "x" * 65) is None
        assert [e.status for e in requests.events(session, made.id)] == ["new"]


@pytest.mark.parametrize(("change", "message"), [
    ({"holder": "b", "kind": "loan"}, "takes no loan"),
    ({"holder": "nobody"}, "no active member"),
    ({"kind": "gift"}, "unknown kind"),
    ({"patron_name": "  "}, "name is empty"),
    ({"patron_name": "x" * 201}, "too long"),
    ({"patron_email": "not an address"}, "not an email"),
    ({"home_library": ""}, "home library is empty"),
    ({"home": "nobody"}, "no active member"),
    ({"note": "n" * 2001}, "too long"),
    ({"patron_name": "a\x00b"}, "control characters"),
])
def test_bad_requests_are_refused_in_words(engine: Engine, change: dict[str, object],
                                           message: str) -> None:
    members(engine)
    with pytest.raises(UserInputError, match=message):
        make(engine, **change)  # type: ignore[arg-type]
    with engine.connect() as conn:
        assert conn.scalar(select(ServiceRequest.id)) is None


def test_a_member_that_stops_taking_requests_gets_none(engine: Engine) -> None:
    members(engine)
    with session_scope(engine) as session:
        requests.set_request_settings(session, "a", "none", "")
        with pytest.raises(UserInputError, match="unknown setting"):
            requests.set_request_settings(session, "a", "all", "")
    with pytest.raises(UserInputError, match="takes no copy"):
        make(engine)


def test_the_legal_steps_and_the_illegal_ones(engine: Engine) -> None:
    members(engine)
    first = make(engine)
    accepted = answer(engine, first.id, "accept", "We post it on Monday.")
    assert accepted.status == "accepted" and accepted.reason == "We post it on Monday."
    assert accepted.answered_at is not None and accepted.closed_at is None
    with pytest.raises(RequestConflict, match="is accepted: it cannot be accepted"):
        answer(engine, first.id, "accept")
    done = answer(engine, first.id, "fulfil")
    assert done.status == "fulfilled" and done.closed_at is not None
    assert done.answered_at == accepted.answered_at  # the first answer stays
    assert done.reason == "We post it on Monday."  # no new message: the last one stays
    for action in ("accept", "decline", "fulfil"):
        with pytest.raises(RequestConflict, match="is fulfilled"):
            answer(engine, first.id, action, "too late")
    second = make(engine)
    with pytest.raises(UserInputError, match="reason is empty"):
        answer(engine, second.id, "decline", "  ")
    declined = answer(engine, second.id, "decline", "Not lent outside the reading room.")
    assert declined.status == "declined" and not declined.is_open
    with pytest.raises(RequestConflict, match="is declined: it cannot be fulfilled"):
        answer(engine, second.id, "fulfil")
    with pytest.raises(UserInputError, match="unknown answer"):
        answer(engine, second.id, "approve")
    with pytest.raises(UserInputError, match="no request 999"):
        answer(engine, 999, "accept")
    with session_scope(engine) as session:
        steps = requests.events(session, first.id)
    assert [s.status for s in steps] == ["new", "accepted", "fulfilled"]
    assert steps[1].actor == "m@example.org" and steps[1].note == "We post it on Monday."


@pytest.mark.parametrize("actions", [("accept",) * 6, ("decline", "fulfil") * 3])
def test_of_managers_answering_at_once_exactly_one_wins(engine: Engine,
                                                         actions: tuple[str, ...]) -> None:
    members(engine)
    made = make(engine)
    start = threading.Barrier(len(actions))
    won: list[str] = []
    lost: list[str] = []
    other: list[BaseException] = []

    def run(action: str) -> None:
        start.wait()
        try:
            answer(engine, made.id, action, "reason")
            won.append(action)
        except RequestConflict:
            lost.append(action)
        except BaseException as exc:  # reported below
            other.append(exc)

    threads = [threading.Thread(target=run, args=(a,)) for a in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert other == [] and len(won) == 1 and len(lost) == len(actions) - 1
    with session_scope(engine) as session:
        steps = requests.events(session, made.id)
        final = requests.get_request(session, made.id)
    assert [s.status for s in steps][1:] == [final.status if final else ""]
    assert len(steps) == 2


def test_purge_erases_patron_data_of_old_requests_only(engine: Engine) -> None:
    members(engine)
    old, recent = make(engine, note="private"), make(engine, note="keep")
    answer(engine, old.id, "decline", "no")
    with session_scope(engine) as session:
        session.execute(update(ServiceRequest).where(ServiceRequest.id == old.id)
                        .values(created_at=T0 - timedelta(days=200)))
    now = T0 + timedelta(hours=1)
    recent_at = T0 - timedelta(days=179)
    with session_scope(engine) as session:
        session.execute(update(ServiceRequest).where(ServiceRequest.id == recent.id)
                        .values(created_at=recent_at))
    assert requests.purge_expired(engine, 180, now=now) == 1
    assert requests.purge_expired(engine, 180, now=now) == 0  # once
    with session_scope(engine) as session:
        gone = requests.get_request(session, old.id)
        kept = requests.get_request(session, recent.id)
    assert gone is not None and kept is not None
    assert (gone.patron_name, gone.patron_email, gone.note) == (None, None, None)
    assert gone.purged_at == now and gone.status == "declined"
    assert gone.reason == "no" and gone.title == "Sejarah Desa"  # kept for the figures
    assert kept.patron_name == "Siti" and kept.note == "keep" and kept.purged_at is None
    # the figures still count it
    with session_scope(engine) as session:
        network = [r for r in figures(session) if r.member_slug is None and r.kind == "all"]
    assert network[0].made == 2 and network[0].declined == 1


def test_exchange_requests_from_the_exchange_lists_are_shown_and_answered(
        engine: Engine) -> None:
    """The exchange lists insert their rows themselves: kind exchange, an offer, no
    record; the home library is the asking member."""
    members(engine)
    with session_scope(engine) as session:
        a = catalog.get_member(session, "a").id
        b = catalog.get_member(session, "b").id
        session.execute(update(Member).where(Member.id == a)
                        .values(accepts_requests="none"))
    with engine.begin() as conn:
        offer = conn.scalar(insert(Offer).values(
            member_id=a, title="Majalah Tempo 1990-1999", condition="good", quantity=1,
            status="available", created_at=T0).returning(Offer.id))
        rid = conn.scalar(insert(ServiceRequest).values(
            token="t" * 43, kind="exchange", status="new", holder_member_id=a,
            home_member_id=b, offer_id=offer, record_id=None, title="",
            patron_name="Budi", patron_email="budi@b.example.org",
            created_at=T0).returning(ServiceRequest.id))
        assert rid is not None
        conn.execute(insert(RequestEvent).values(request_id=rid, status="new", at=T0))
    with session_scope(engine) as session:
        found = requests.get_request(session, rid)
        listed_b = requests.list_requests(session, frozenset({b}))
    assert found is not None and found.title == "Majalah Tempo 1990-1999"
    assert found.home_name == "Perpustakaan B" and [r.id for r in listed_b] == [rid]
    assert answer(engine, rid, "fulfil").status == "fulfilled"
    with session_scope(engine) as session:
        rows = {(r.member_slug, r.kind): r for r in figures(session)}
    assert rows[("a", "exchange")].fulfilled == 1


def test_lists_are_per_member_as_holder_and_home(engine: Engine) -> None:
    members(engine)
    with session_scope(engine) as session:
        a = catalog.get_member(session, "a").id
        b = catalog.get_member(session, "b").id
    to_a = make(engine, holder="a")
    to_b_from_a = make(engine, holder="b", home="a")
    to_b = make(engine, holder="b")
    answer(engine, to_b.id, "accept")
    with session_scope(engine) as session:
        assert {r.id for r in requests.list_requests(session, frozenset({a}))} == {
            to_a.id, to_b_from_a.id}
        assert {r.id for r in requests.list_requests(session, frozenset({b}))} == {
            to_b_from_a.id, to_b.id}
        assert len(requests.list_requests(session, None)) == 3
        assert [r.id for r in requests.list_requests(session, None, status="accepted")
                ] == [to_b.id]
        with pytest.raises(UserInputError, match="unknown status"):
            requests.list_requests(session, None, status="lost")


def _at(engine: Engine, request_id: int, created: datetime, answered: datetime | None
        ) -> None:
    with session_scope(engine) as session:
        session.execute(update(ServiceRequest).where(ServiceRequest.id == request_id)
                        .values(created_at=created, answered_at=answered))


def test_figures_match_a_hand_count(engine: Engine) -> None:
    members(engine)
    # a: three copies answered after 2, 4 and 10 hours (accepted, fulfilled, declined),
    # one loan unanswered; b: one copy fulfilled after 1 hour, made in April
    spans = [(2, "accept"), (4, "fulfil"), (10, "decline")]
    for hours, action in spans:
        made = make(engine)
        answer(engine, made.id, action, "r")
        _at(engine, made.id, T0, T0 + timedelta(hours=hours))
    loan = make(engine, kind="loan")
    _at(engine, loan.id, T0, None)
    april = T0.replace(month=4)
    to_b = make(engine, holder="b")
    answer(engine, to_b.id, "fulfil")
    _at(engine, to_b.id, april, april + timedelta(hours=1))
    with session_scope(engine) as session:
        rows = {(r.member_slug, r.kind): r for r in figures(session)}
        order = [(r.member_slug, r.kind) for r in figures(session)]
        march = {(r.member_slug, r.kind): r for r in figures(
            session, since=T0, until=T0.replace(month=4))}
        only_b = figures(session, member_ids=frozenset(
            {catalog.get_member(session, "b").id}))
    a_all = rows[("a", "all")]
    assert (a_all.made, a_all.new, a_all.accepted, a_all.fulfilled, a_all.declined,
            a_all.open, a_all.answered) == (4, 1, 1, 1, 1, 2, 3)
    assert a_all.median_hours == pytest.approx(4) and a_all.p90_hours == pytest.approx(10)
    assert rows[("a", "loan")].made == 1 and rows[("a", "loan")].median_hours is None
    assert rows[("a", "copy")].made == 3
    net = rows[(None, "all")]
    assert (net.made, net.fulfilled, net.declined, net.open) == (5, 2, 1, 2)
    assert net.median_hours == pytest.approx(3) and net.p90_hours == pytest.approx(10)
    assert rows[(None, "copy")].made == 4
    assert order == [("a", "all"), ("a", "loan"), ("a", "copy"), ("b", "all"),
                     ("b", "copy"), (None, "all"), (None, "loan"), (None, "copy")]
    assert ("b", "all") not in march and march[(None, "all")].made == 4
    assert march[(None, "all")].median_hours == pytest.approx(4)
    assert [r.member_slug for r in only_b] == ["b", "b", None, None, None]


def test_percentile_is_the_nearest_rank() -> None:
    assert percentile([], 0.9) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([float(n) for n in range(1, 11)], 0.9) == 9.0
    assert percentile([float(n) for n in range(1, 12)], 0.9) == 10.0
