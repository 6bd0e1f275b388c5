"""The read-ahead thread: order, bounded look-ahead, token loops, errors, closing."""

from __future__ import annotations

import threading
import time

import pytest

from aggregator.errors import FetchError
from aggregator.harvest.model import ListPage
from aggregator.harvest.readahead import ReadAhead


class FakeList:
    """Pages keyed by token; records every request and whether two overlapped."""

    def __init__(self, tokens: dict[str, str | None], delay: float = 0.0) -> None:
        self.tokens = tokens
        self.delay = delay
        self.asked: list[dict[str, str]] = []
        self.busy = threading.Lock()
        self.overlapped = False

    def __call__(self, params: dict[str, str]) -> tuple[ListPage, int]:
        if not self.busy.acquire(blocking=False):
            self.overlapped = True
            self.busy.acquire()
        try:
            self.asked.append(params)
            time.sleep(self.delay)
            key = params.get("resumptionToken") or params.get("from", "start")
            if key == "boom":
                raise FetchError("server went away")
            return ListPage(token=self.tokens.get(key)), 10
        finally:
            self.busy.release()


def drain(reader: ReadAhead) -> list[dict[str, str]]:
    out = []
    while (item := reader.take()) is not None:
        if item.error is not None:
            raise item.error
        out.append(item.params)
    return out


def test_follows_tokens_then_the_next_window_in_order() -> None:
    fake = FakeList({"start": "a", "a": "b", "b": None, "w2": "c", "c": None})
    reader = ReadAhead(fake, [{"verb": "ListRecords"}, {"verb": "ListRecords", "from": "w2"}])
    got = drain(reader)
    reader.close()
    assert [p.get("resumptionToken") or p.get("from") for p in got] == [
        None, "a", "b", "w2", "c"]
    assert not fake.overlapped  # one request at a time


def test_looks_ahead_no_further_than_its_depth() -> None:
    chain = {str(i): str(i + 1) for i in range(50)} | {"start": "0"}
    fake = FakeList(chain)
    reader = ReadAhead(fake, [{"verb": "ListRecords"}], depth=2)
    assert reader.take() is not None
    time.sleep(0.3)  # plenty of time to run ahead, if it were unbounded
    assert len(fake.asked) <= 1 + 2 + 1
    reader.close()


def test_large_pages_are_read_one_ahead() -> None:
    """Waiting pages of max_bytes or more stop it asking for more, whatever its depth."""
    chain = {str(i): str(i + 1) for i in range(50)} | {"start": "0"}
    fake = FakeList(chain)  # every page is 10 bytes
    reader = ReadAhead(fake, [{"verb": "ListRecords"}], depth=3, max_bytes=10)
    time.sleep(0.3)
    assert len(fake.asked) == 1  # the first page waits to be taken
    assert reader.take() is not None
    time.sleep(0.3)
    assert len(fake.asked) == 2
    reader.close()


def test_stops_following_a_token_it_already_followed() -> None:
    fake = FakeList({"start": "a", "a": "b", "b": "a"})  # a → b → a → …
    reader = ReadAhead(fake, [{"verb": "ListRecords"}])
    got = drain(reader)
    reader.close()
    assert len(got) == 3 and len(fake.asked) == 3


def test_an_error_is_handed_over_and_ends_the_thread() -> None:
    fake = FakeList({"start": "boom"})
    reader = ReadAhead(fake, [{"verb": "ListRecords"}, {"verb": "ListRecords", "from": "x"}])
    with pytest.raises(FetchError):
        drain(reader)
    assert reader.take() is None
    reader.close()
    assert len(fake.asked) == 2  # the later window was never asked


def test_close_waits_for_the_request_in_flight_and_asks_nothing_more() -> None:
    chain = {str(i): str(i + 1) for i in range(50)} | {"start": "0"}
    fake = FakeList(chain, delay=0.05)
    reader = ReadAhead(fake, [{"verb": "ListRecords"}])
    reader.take()
    reader.close()
    asked = len(fake.asked)
    time.sleep(0.2)
    assert len(fake.asked) == asked
    assert not fake.busy.locked()
