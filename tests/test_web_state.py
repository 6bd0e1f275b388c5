"""The portal's hold on the live index: reopened after a rebuild swaps in a new folder."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from aggregator.config import Settings
from aggregator.demo.oaiserver import OAIServer, Repository
from aggregator.index.sync import current_path, rebuild_index
from aggregator.web import create_app, state
from harvesting import make_records, register, run


def documents(client: object) -> tuple[int, str]:
    response = client.get("/healthz")  # type: ignore[attr-defined]
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["index"]["documents"], response.json["status"]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_rebuild_swapped_in_is_served_without_restarting(
        engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state, "CHECK_EVERY", 0.0)
    repo = Repository(make_records(5), page_size=10)
    with OAIServer(repo) as server:
        source = register(engine, server.base_url)
        run(engine, settings, source)
        rebuild_index(engine, settings)
        first = current_path(settings)
        client = create_app(settings, engine=engine).test_client()
        assert documents(client) == (5, "ok")

        for record in make_records(8)[5:]:
            repo.add(record)
        run(engine, settings, source, full=True)  # their datestamps are old
        rebuild_index(engine, settings)
        assert current_path(settings) != first and first.exists()  # the old one is kept
        assert documents(client) == (8, "ok")
        assert client.get("/search?q=").status_code == 200
