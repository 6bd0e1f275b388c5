"""Endpoint pathologies (QUIRKS.md) served page by page from a real HTTP server.

Each test ends with the store checked against the repository and the run record
checked for what it says happened.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import urlencode

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from aggregator.config import Settings
from aggregator.demo.oaiserver import OAIServer, Repository, Request, Response
from aggregator.errors import WrongAnswer
from aggregator.harvest.check import check_endpoint
from aggregator.harvest.harvester import READ_AHEAD_PAGES
from aggregator.harvest.safe_xml import parse_bytes
from aggregator.store.models import Record
from harvesting import (
    Sleeps,
    codes,
    expected_live,
    list_requests,
    live_ids,
    make_records,
    record_count,
    register,
    run,
    source_row,
    stored,
)

N = 30
PAGE = 10


def serve(repo: Repository, server: OAIServer, request: Request, **extra: object) -> Response:
    """The normal answer to ``request`` with response fields replaced (status, headers …)."""
    normal = repo.respond(request.multi, server.base_url)
    return replace(normal, **extra)  # type: ignore[arg-type]


def on_nth_token_request(server: OAIServer, n: int, make: Callable[[Request], Response],
                         times: int = 1) -> Callable[[Request], Response | None]:
    """A quirk answering the ``n``-th resumption-token request (1-based) ``times`` times."""
    state = {"served": 0, "seen": 0}

    def quirk(request: Request) -> Response | None:
        if not request.params.get("resumptionToken"):
            return None
        if state["served"] < times and state["seen"] + 1 >= n:
            state["served"] += 1
            return make(request)
        state["seen"] += 1
        return None

    return quirk


@pytest.fixture
def repo() -> Repository:
    return Repository(make_records(N), page_size=PAGE)


def harvest_with(engine: Engine, settings: Settings, repo: Repository,
                 quirk: Callable[[OAIServer], Callable[[Request], Response | None]] | None = None,
                 transform: Callable[[Request, bytes], bytes] | None = None,
                 sleeps: Sleeps | None = None,
                 url: Callable[[OAIServer], str] | None = None):  # type: ignore[no-untyped-def]
    """Serve ``repo`` with a quirk, harvest once, return (result, source id, server)."""
    with OAIServer(repo) as server:
        server.quirk = quirk(server) if quirk else None
        server.transform = transform
        source = register(engine, url(server) if url else server.base_url)
        result = run(engine, settings, source, sleeps=sleeps)
    return result, source, server


# -- HTTP flow control -------------------------------------------------------------------


@pytest.mark.parametrize("status", [503, 429])
def test_retry_after_in_seconds_and_as_http_date(engine: Engine, settings: Settings,
                                                 repo: Repository, status: int) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    answers = iter([{"Retry-After": "2"}, {"Retry-After": when}])

    def quirk(server: OAIServer) -> Callable[[Request], Response | None]:
        return on_nth_token_request(server, 1, lambda r: Response(
            status=status, body=b"busy", content_type="text/plain", headers=next(answers)),
            times=2)

    sleeps = Sleeps([])
    result, source, _ = harvest_with(engine, settings, repo, quirk, sleeps=sleeps)
    assert result.status == "ok", result.as_json()
    assert live_ids(engine, source) == expected_live(repo)
    assert 2 in sleeps.calls
    assert any(20 <= s <= 31 for s in sleeps.calls)  # the HTTP date, minus elapsed time


def test_retry_after_beyond_the_cap_ends_the_run_for_later(
        engine: Engine, settings: Settings, repo: Repository) -> None:
    def quirk(server: OAIServer) -> Callable[[Request], Response | None]:
        return on_nth_token_request(server, 1, lambda r: Response(
            status=503, body=b"maintenance", headers={"Retry-After": "86400"}), times=99)

    sleeps = Sleeps([])
    with OAIServer(repo) as server:
        server.quirk = quirk(server)
        source = register(engine, server.base_url)
        result = run(engine, settings, source, sleeps=sleeps)
        not_before = source_row(engine, source).not_before
        asked = len(server.requests)
        again = run(engine, settings, source, sleeps=sleeps)
        assert len(server.requests) == asked  # the host is left alone until then
    assert result.status == "partial" and "retry-later" in codes(result.warnings)
    assert sleeps.calls == []  # never slept a day
    assert not_before is not None
    assert again.status == "partial" and "retry-later" in codes(again.warnings)
    assert record_count(engine, source) == PAGE  # the first page is kept


def test_consecutive_503_give_up_then_resume(engine: Engine, settings: Settings,
                                             repo: Repository) -> None:
    sleeps = Sleeps([])
    with OAIServer(repo) as server:
        server.quirk = on_nth_token_request(server, 2, lambda r: Response(
            status=503, body=b"", content_type=None), times=99)
        source = register(engine, server.base_url)
        failed = run(engine, settings, source, sleeps=sleeps)
        server.quirk = None
        resumed = run(engine, settings, source, sleeps=sleeps)
        tokens_after = [r for r in list_requests(server)[-3:] if "resumptionToken" in r]
    assert failed.status == "failed" and "503" in failed.errors[0]["message"]
    assert len(sleeps.calls) == settings.max_consecutive_503 - 1
    assert resumed.status == "ok"
    assert tokens_after, "the resumed run continued with the saved token"
    assert live_ids(engine, source) == expected_live(repo)


def test_oai_error_sent_with_http_422(engine: Engine, settings: Settings,
                                      repo: Repository) -> None:
    def quirk(server: OAIServer) -> Callable[[Request], Response | None]:
        bad = repo.render({"verb": "ListRecords", "resumptionToken": "expired"}, server.base_url)
        return on_nth_token_request(server, 2, lambda r: Response(status=422, body=bad))

    result, source, _ = harvest_with(engine, settings, repo, quirk)
    assert result.status == "ok", result.as_json()
    assert "badResumptionToken" in codes(result.warnings)
    assert live_ids(engine, source) == expected_live(repo)
    assert record_count(engine, source) == N


@pytest.mark.parametrize(("body", "ctype"), [
    (b"<html><body><h1>Sistem sedang dalam perbaikan</h1></body></html>", "text/html"),
    (b'{"error": "index unavailable"}', "application/json"),
    (b"", "text/xml"),
])
def test_non_oai_bodies_with_200_are_errors_not_empty_lists(
        engine: Engine, settings: Settings, repo: Repository, body: bytes, ctype: str) -> None:
    with OAIServer(repo) as server:
        source = register(engine, server.base_url)
        assert run(engine, settings, source).status == "ok"
        server.quirk = lambda r: (Response(body=body, content_type=ctype)
                                  if r.verb == "ListRecords" else None)
        result = run(engine, settings, source)
    assert result.status == "failed"
    assert result.errors[0]["code"] == "not-oai"
    assert live_ids(engine, source) == expected_live(repo)  # nothing stored was lost


DB_ERROR = b"<html><body><h1>Database error</h1><p>Too many connections</p></body></html>"


def test_a_passing_error_page_in_the_middle_of_a_list_is_asked_again(
        engine: Engine, settings: Settings, repo: Repository) -> None:
    """QUIRKS #3: a 200 "Database error" page instead of page 2, twice, then the page."""
    sleeps = Sleeps([])
    result, source, server = harvest_with(engine, settings, repo, lambda server: (
        on_nth_token_request(server, 1, lambda r: Response(
            body=DB_ERROR, content_type="text/html"), times=2)), sleeps=sleeps)
    assert result.status == "ok", result.as_json()
    assert len(sleeps.calls) == 2 and min(sleeps.calls) > 0  # backoff, with jitter
    assert live_ids(engine, source) == expected_live(repo)
    assert record_count(engine, source) == N


def test_an_error_page_that_stays_fails_the_run_and_the_next_run_resumes(
        engine: Engine, settings: Settings, repo: Repository) -> None:
    sleeps = Sleeps([])
    with OAIServer(repo) as server:
        server.quirk = on_nth_token_request(server, 2, lambda r: Response(
            body=DB_ERROR, content_type="text/html"), times=99)
        source = register(engine, server.base_url)
        failed = run(engine, settings, source, sleeps=sleeps)
        kept = record_count(engine, source)
        server.quirk = None
        before = len(list_requests(server))
        resumed = run(engine, settings, source, sleeps=sleeps)
        after = list_requests(server)[before:]
    assert failed.status == "failed" and len(sleeps.calls) == settings.max_retries
    (error,) = failed.errors
    assert error["code"] == "not-oai" and "Database error" in error["sample"]
    assert "resumptionToken=" in error["message"]  # the request that got it
    assert f"gave up after {settings.max_retries + 1} attempts" in error["message"]
    assert kept == 2 * PAGE  # what came before is kept
    assert resumed.status == "ok"
    assert "resumptionToken" in after[0]  # it went on from the saved page
    assert live_ids(engine, source) == expected_live(repo)


def test_identify_answered_with_another_verb_is_a_protocol_error(
        engine: Engine, settings: Settings, repo: Repository) -> None:
    def quirk(server: OAIServer) -> Callable[[Request], Response | None]:
        listing = repo.render({"verb": "ListRecords", "metadataPrefix": "oai_dc"},
                              server.base_url)
        return lambda r: Response(body=listing) if r.verb == "Identify" else None

    result, source, _ = harvest_with(engine, settings, repo, quirk)
    assert result.status == "failed"
    (error,) = result.errors
    assert error["code"] == "protocol"
    assert "asked for Identify, the server answered with <ListRecords>" in error["message"]
    assert record_count(engine, source) == 0
    with OAIServer(repo) as server:
        server.quirk = quirk(server)
        with pytest.raises(WrongAnswer, match="answered with <ListRecords>"):
            check_endpoint(server.base_url, settings)


def ignoring_dates(server: OAIServer) -> Callable[[Request], Response | None]:
    """Answer ListRecords as if from/until had not been sent (QUIRKS #30)."""
    def quirk(request: Request) -> Response | None:
        if request.verb != "ListRecords":
            return None
        kept = {k: v for k, v in request.multi.items() if k not in ("from", "until")}
        return server.respond(replace(request, multi=kept, params={
            k: v[0] for k, v in kept.items()}))
    return quirk


@pytest.mark.parametrize("honours", [False, True])
def test_a_server_ignoring_from_and_until_is_harvested_in_one_pass(
        engine: Engine, settings: Settings, honours: bool) -> None:
    """600 records over 16 years in yearly windows: a server that ignores the dates used
    to send its whole list once per window (about 250 requests instead of 13)."""
    repo = Repository(make_records(600, start=datetime(2005, 1, 1, tzinfo=UTC),
                                   step=timedelta(days=10)), page_size=50)
    windowed = replace(settings, window_threshold=100, window_months=12)
    with OAIServer(repo) as server:
        server.quirk = None if honours else ignoring_dates(server)
        source = register(engine, server.base_url)
        first = run(engine, windowed, source)
        asked = list_requests(server)
        second = run(engine, windowed, source)
        again = list_requests(server)[len(asked):]
    assert first.status == "ok" and second.status == "ok"
    assert live_ids(engine, source) == expected_live(repo)
    assert record_count(engine, source) == 600
    if honours:  # windows as usual, and no server is wrongly judged
        assert "ignores-dates" not in codes(first.warnings)
        assert any("until" in r for r in asked)
        assert all("from" in r for r in again if "resumptionToken" not in r)
        return
    assert "ignores-dates" in codes(first.warnings)
    # one pass of 12 pages, after the first page of the undated list and of the first
    # window, each with the pages read ahead of it
    assert len(asked) <= 12 + 2 * (READ_AHEAD_PAGES + 1) + 1, len(asked)
    assert not any("from" in r or "until" in r for r in again)  # remembered
    assert len(again) == 12
    assert source_row(engine, source).date_filter is False


# -- bytes and XML ---------------------------------------------------------------------


def test_invalid_characters_and_bytes_are_repaired_and_reported(
        engine: Engine, settings: Settings, repo: Repository) -> None:
    def corrupt(request: Request, body: bytes) -> bytes:
        if request.params.get("resumptionToken"):
            body = body.replace(b"Judul buku", b"Judul\x06 bu\x0bku\xc2", 3)
        return body

    result, source, _ = harvest_with(engine, settings, repo, transform=corrupt)
    assert result.status == "ok", result.as_json()
    assert "repaired-xml" in codes(result.warnings)
    assert live_ids(engine, source) == expected_live(repo)
    with Session(engine) as session:
        for xml in session.scalars(select(Record.metadata_xml)):
            assert xml is not None
            parse_bytes(xml)  # every stored record is well-formed on its own


def test_bom_leading_and_trailing_junk(engine: Engine, settings: Settings,
                                       repo: Repository) -> None:
    def wrap(request: Request, body: bytes) -> bytes:
        return b"\xef\xbb\xbf\n\n" + body + b"\n<b>Warning</b>: Undefined index in oai.php"

    result, source, _ = harvest_with(engine, settings, repo, transform=wrap)
    assert result.status == "ok", result.as_json()
    assert live_ids(engine, source) == expected_live(repo)


def test_one_bad_record_does_not_abort_the_page(engine: Engine, settings: Settings,
                                               repo: Repository) -> None:
    def break_one(request: Request, body: bytes) -> bytes:
        return body.replace(b"Judul buku 3<", b"Judul & buku 3 <i>unclosed<", 1)

    result, source, _ = harvest_with(engine, settings, repo, transform=break_one)
    assert "bad-record" in codes(result.warnings)
    sample = next(w for w in result.warnings if w["code"] == "bad-record")
    assert "oai:test.example.org:3" in sample["message"] + sample.get("sample", "")
    assert result.status == "partial"  # a record is missing: the cursor does not advance
    assert live_ids(engine, source) == expected_live(repo) - {"oai:test.example.org:3"}


def test_doctype_is_refused_and_nothing_stored(engine: Engine, settings: Settings,
                                               repo: Repository) -> None:
    def doctype(request: Request, body: bytes) -> bytes:
        return body.replace(b"?>", b'?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
                            1)

    result, source, _ = harvest_with(engine, settings, repo, transform=doctype)
    assert result.status == "failed"
    assert "DOCTYPE" in result.errors[0]["message"]
    assert record_count(engine, source) == 0


# -- resumption tokens -------------------------------------------------------------------


@pytest.mark.parametrize("last", ["absent", "empty", "whitespace"])
def test_last_page_token_shapes_end_the_list(engine: Engine, settings: Settings,
                                             last: str) -> None:
    repo = Repository(make_records(N), page_size=PAGE,
                      last_page_token="absent" if last == "absent" else "empty")

    def spaces(request: Request, body: bytes) -> bytes:
        return re.sub(rb"<resumptionToken([^>]*)/>", rb"<resumptionToken\1>  \n </resumptionToken>",
                      body)

    result, source, server = harvest_with(
        engine, settings, repo, transform=spaces if last == "whitespace" else None)
    assert result.status == "ok", result.as_json()
    assert len(list_requests(server)) == N // PAGE  # no bogus extra request
    assert live_ids(engine, source) == expected_live(repo)


def test_same_token_forever_is_stopped(engine: Engine, settings: Settings,
                                       repo: Repository) -> None:
    captured: dict[str, bytes] = {}

    def loop(request: Request, body: bytes) -> bytes:
        if request.params.get("resumptionToken"):
            return captured.setdefault("page", body)  # always the same page, same token
        return body

    result, source, server = harvest_with(engine, settings, repo, transform=loop)
    assert result.status == "partial"
    assert "loop-guard" in codes(result.warnings)
    assert len(list_requests(server)) <= 4


def test_token_cycle_is_stopped(engine: Engine, settings: Settings, repo: Repository) -> None:
    captured: dict[str, bytes] = {}

    def cycle(request: Request, body: bytes) -> bytes:
        if not request.params.get("resumptionToken"):
            captured["first"] = body
            return body
        captured["n"] = captured.get("n", b"") + b"x"
        return captured["first"] if len(captured["n"]) == 2 else body  # T1 → T2 → T1

    result, _, server = harvest_with(engine, settings, repo, transform=cycle)
    assert result.status == "partial" and "loop-guard" in codes(result.warnings)
    assert len(list_requests(server)) == 3


def test_pages_bringing_nothing_new_are_stopped(engine: Engine, settings: Settings,
                                                repo: Repository) -> None:
    captured: dict[str, bytes] = {}

    def repeat(request: Request, body: bytes) -> bytes:
        token = request.params.get("resumptionToken")
        if not token:
            captured["first"] = body
            return body
        # the same records again and again, each time with a fresh token
        captured["n"] = captured.get("n", b"") + b"x"
        fresh = b"again-" + captured["n"]
        return re.sub(rb"(<resumptionToken[^>]*>)[^<]*(</resumptionToken>)",
                      rb"\g<1>" + fresh + rb"\2", captured["first"])

    quick = replace(settings, empty_pages_limit=3)
    result, _, server = harvest_with(engine, quick, repo, transform=repeat)
    assert result.status == "partial" and "loop-guard" in codes(result.warnings)
    # the first page, the idle ones, and what the read-ahead had already asked for
    assert len(list_requests(server)) <= 1 + 3 + READ_AHEAD_PAGES + 1


def test_last_token_leading_to_no_records_match(engine: Engine, settings: Settings) -> None:
    repo = Repository(make_records(20), page_size=10)

    def eprints(request: Request, body: bytes) -> bytes:
        if request.params.get("resumptionToken") == "beyond":  # "No items match. None."
            return repo.render({"verb": "ListRecords", "metadataPrefix": "oai_dc",
                                "from": "2099-01-01T00:00:00Z"}, "http://127.0.0.1/oai")
        return re.sub(rb"<resumptionToken([^>]*)/>",
                      rb"<resumptionToken\1>beyond</resumptionToken>", body)

    result, source, _ = harvest_with(engine, settings, repo, transform=eprints)
    assert result.status == "ok", result.as_json()
    assert "token-no-records" in codes(result.warnings)
    assert live_ids(engine, source) == expected_live(repo)


def test_expired_tokens_restart_the_window(engine: Engine, settings: Settings,
                                           repo: Repository) -> None:
    def expire(server: OAIServer) -> Callable[[Request], Response | None]:
        state = {"n": 0}

        def quirk(request: Request) -> Response | None:
            if request.params.get("resumptionToken"):
                state["n"] += 1
                if state["n"] == 2:
                    repo.invalidate_tokens()
            return None

        return quirk

    result, source, server = harvest_with(engine, settings, repo, expire)
    assert result.status == "ok", result.as_json()
    assert "badResumptionToken" in codes(result.warnings)
    assert live_ids(engine, source) == expected_live(repo)
    assert record_count(engine, source) == N
    tokens = [r["resumptionToken"] for r in list_requests(server) if "resumptionToken" in r]
    assert any(set("+/=") & set(t) for t in tokens)  # tokens needing URL-encoding worked


# -- records -------------------------------------------------------------------------------


def test_identifiers_that_are_not_oai_uris(engine: Engine, settings: Settings) -> None:
    records = make_records(4)
    for record, ident in zip(records, ["hdl:1765/308", "KOHA-OAI-TEST:42", "arn00007c00001",
                                       "doi:10.7910/DVN/3FPJEA"], strict=True):
        record.identifier = ident
    repo = Repository(records, page_size=2)

    def pad(request: Request, body: bytes) -> bytes:
        return body.replace(b"<identifier>hdl:", b"<identifier>\n   hdl:")

    result, source, _ = harvest_with(engine, settings, repo, transform=pad)
    assert result.status == "ok"
    assert live_ids(engine, source) == {"hdl:1765/308", "KOHA-OAI-TEST:42", "arn00007c00001",
                                        "doi:10.7910/DVN/3FPJEA"}


def test_records_without_metadata_are_counted_not_stored(
        engine: Engine, settings: Settings, repo: Repository) -> None:
    def strip(request: Request, body: bytes) -> bytes:
        return re.sub(rb"(test\.example\.org:4</identifier>.*?</header>)<metadata>.*?</metadata>",
                      rb"\1", body, count=1, flags=re.S)

    result, source, _ = harvest_with(engine, settings, repo, transform=strip)
    assert result.status == "ok"
    assert "header-only" in codes(result.warnings)
    assert "oai:test.example.org:4" not in stored(engine, source)
    assert len(live_ids(engine, source)) == N - 1


def test_deleted_status_in_other_case_is_a_tombstone(engine: Engine, settings: Settings) -> None:
    records = make_records(10)
    for record in records[:3]:
        record.deleted = True
    repo = Repository(records, page_size=5)

    def shout(request: Request, body: bytes) -> bytes:
        return body.replace(b'status="deleted"', b'status=" Deleted "')

    result, source, _ = harvest_with(engine, settings, repo, transform=shout)
    assert result.status == "ok" and result.deleted == 3
    rows = stored(engine, source)
    assert [rows[f"oai:test.example.org:{i}"][0] for i in range(4)] == [True, True, True, False]
    with Session(engine) as session:
        tomb = session.scalars(select(Record).where(Record.deleted)).first()
        assert tomb is not None and tomb.metadata_xml is None


# -- transport --------------------------------------------------------------------------------


def test_redirect_to_the_new_base_url(engine: Engine, settings: Settings,
                                      repo: Repository) -> None:
    def quirk(server: OAIServer) -> Callable[[Request], Response | None]:
        def moved(request: Request) -> Response | None:
            if request.path == "/old-oai.php":
                return Response(status=301, body=b"", headers={
                    "Location": f"{server.base_url}?{urlencode(request.params)}"})
            return None
        return moved

    result, source, _ = harvest_with(
        engine, settings, repo, quirk,
        url=lambda server: server.base_url.rsplit("/", 1)[0] + "/old-oai.php")
    assert result.status == "ok", result.as_json()
    assert "moved" in codes(result.warnings)
    assert live_ids(engine, source) == expected_live(repo)


@pytest.mark.parametrize("declared", [True, False])
def test_gzip_with_or_without_header(engine: Engine, settings: Settings, repo: Repository,
                                     declared: bool) -> None:
    def quirk(server: OAIServer) -> Callable[[Request], Response | None]:
        def zipped(request: Request) -> Response | None:
            normal = repo.respond(request.multi, server.base_url)
            headers = {"Content-Encoding": "gzip"} if declared else {}
            return replace(normal, body=gzip.compress(normal.body), headers=headers)
        return zipped

    result, source, _ = harvest_with(engine, settings, repo, quirk)
    assert result.status == "ok", result.as_json()
    assert ("undeclared-gzip" in codes(result.warnings)) is not declared
    assert live_ids(engine, source) == expected_live(repo)


def test_stalled_and_truncated_responses_are_asked_again(
        engine: Engine, settings: Settings, repo: Repository) -> None:
    quick = replace(settings, read_timeout=0.5)

    def quirk(server: OAIServer) -> Callable[[Request], Response | None]:
        state = {"n": 0}

        def flaky(request: Request) -> Response | None:
            if not request.params.get("resumptionToken"):
                return None
            state["n"] += 1
            normal = repo.respond(request.multi, server.base_url)
            if state["n"] == 1:  # stalls mid-body
                return replace(normal, stall=5, stall_after=200)
            if state["n"] == 2:  # promises more bytes than it sends
                return replace(normal, headers={"Content-Length": str(len(normal.body) + 999)})
            return None
        return flaky

    result, source, _ = harvest_with(engine, quick, repo, quirk)
    assert result.status == "ok", result.as_json()
    assert live_ids(engine, source) == expected_live(repo)


def test_gzip_bomb_is_capped(engine: Engine, settings: Settings, repo: Repository) -> None:
    bomb = gzip.compress(b"<" + b" " * (40 * 2**20), compresslevel=9)
    small = replace(settings, max_response_bytes=2 * 2**20)

    def quirk(server: OAIServer) -> Callable[[Request], Response | None]:
        return lambda r: (Response(body=bomb, headers={"Content-Encoding": "gzip"})
                          if r.verb == "ListRecords" else None)

    result, source, _ = harvest_with(engine, small, repo, quirk)
    assert result.status == "failed"
    assert "2097152" in result.errors[0]["message"] or "large" in result.errors[0]["message"]
    assert record_count(engine, source) == 0
