"""Kill a harvest with SIGKILL at different pages, resume it, and compare the store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from aggregator.config import Settings
from aggregator.demo.oaiserver import OAIServer, Repository, Request, Response
from harvesting import (
    expected_live,
    list_requests,
    live_ids,
    make_records,
    record_count,
    register,
    run,
    runs_of,
)

RECORDS = 1500
PAGE = 50


def harvest_process(engine: Engine, settings: Settings) -> subprocess.Popen[bytes]:
    """`aggregator harvest lib` in its own process, on the same store as ``engine``."""
    env = dict(os.environ, AGGREGATOR_DATA_DIR=settings.data_dir,
               AGGREGATOR_ALLOW_NETWORKS="127.0.0.0/8", AGGREGATOR_LOG_LEVEL="WARNING")
    env["AGGREGATOR_DATABASE_URL"] = (
        "" if engine.dialect.name == "sqlite"
        else engine.url.render_as_string(hide_password=False))
    return subprocess.Popen([sys.executable, "-m", "aggregator", "harvest", "lib", "--json"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            cwd=Path(settings.data_dir))


def slow(request: Request) -> Response | None:
    """Slow the list down so the kill lands in the middle of it."""
    if request.verb == "ListRecords":
        time.sleep(0.01)
    return None


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [4, 9, 23])
@pytest.mark.parametrize("tokens", ["valid", "expired"])
def test_sigkill_then_resume_ends_with_exactly_the_source(
        engine: Engine, settings: Settings, kill_after: int, tokens: str) -> None:
    repo = Repository(make_records(RECORDS), page_size=PAGE)
    with OAIServer(repo) as server:
        server.quirk = slow
        source = register(engine, server.base_url)
        proc = harvest_process(engine, settings)
        deadline = time.monotonic() + 60
        # Kill once the harvest asked for `kill_after` pages and has stored something.
        while len(list_requests(server)) < kill_after or not record_count(engine, source):
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the harvest did not start"
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        killed = runs_of(engine, source)[-1]
        assert killed.status == "running"  # it never got to say goodbye
        partial = record_count(engine, source)
        assert 0 < partial < RECORDS

        if tokens == "expired":
            repo.invalidate_tokens()
        asked = len(list_requests(server))
        result = run(engine, settings, source)
        resumed_first = list_requests(server)[asked]
    assert result.status == "ok", result.as_json()
    assert live_ids(engine, source) == expected_live(repo)
    assert record_count(engine, source) == RECORDS  # none lost, none duplicated
    history = runs_of(engine, source)
    assert history[-2].status == "interrupted"
    assert history[-1].resumed_from == killed.id
    if tokens == "valid":
        assert "resumptionToken" in resumed_first  # continued, did not start over
        assert result.new == RECORDS - partial
    else:
        assert "badResumptionToken" in {w["code"] for w in result.warnings}
