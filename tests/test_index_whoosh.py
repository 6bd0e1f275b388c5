"""Whoosh-only behaviour: the index lock, the time limit, and a damaged index."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from aggregator.errors import SearchError, SearchTimeout
from aggregator.index import whoosh_backend
from aggregator.index.backends import open_backend
from aggregator.index.model import IndexDoc, SearchQuery
from aggregator.index.whoosh_backend import WhooshBackend


def test_busy_lock_becomes_search_error_after_the_timeout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(whoosh_backend, "WRITER_TIMEOUT", 0.3)
    holder = WhooshBackend(tmp_path)
    holder.add([IndexDoc("1", title="satu")])  # takes the write lock
    other = WhooshBackend(tmp_path)
    started = time.monotonic()
    with pytest.raises(SearchError, match="locked"):
        other.add([IndexDoc("2", title="dua")])
    assert time.monotonic() - started >= 0.3
    holder.close()
    other.close()


def test_writer_waits_for_a_lock_released_meanwhile(tmp_path: Path) -> None:
    holder = WhooshBackend(tmp_path)
    holder.add([IndexDoc("1", title="satu")])
    release = threading.Timer(0.5, holder.commit, args=({"change_seq": 1},))
    release.start()
    other = WhooshBackend(tmp_path)
    other.add([IndexDoc("2", title="dua")])  # waits, then gets the lock
    other.commit({"change_seq": 2})
    release.join()
    assert other.count() == 2 and other.meta() == {"change_seq": 2}
    holder.close()
    other.close()


def test_time_limit_raises_search_timeout(tmp_path: Path) -> None:
    backend = WhooshBackend(tmp_path, time_limit=0.001)
    backend.add(IndexDoc(str(n), title=f"kata umum {n}", abstract="umum " * 30)
                for n in range(3000))
    backend.commit({})
    with pytest.raises(SearchTimeout):
        for _ in range(20):  # the timer thread needs a moment to start and fire
            backend.search(SearchQuery(text="umum OR kata OR " + " OR ".join(
                str(n) for n in range(14))))
    backend.close()


def test_damaged_index_is_a_search_error(tmp_path: Path) -> None:
    WhooshBackend(tmp_path).close()
    for toc in tmp_path.glob("*.toc"):
        toc.write_bytes(b"not a table of contents")
    with pytest.raises(SearchError, match="index rebuild"):
        open_backend("whoosh", tmp_path, create=False)
