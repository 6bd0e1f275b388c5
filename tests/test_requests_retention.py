"""The scheduler erases the patron data of expired requests: at the start of
``run_once``, and hourly (first at once) in a long-running scheduler."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Engine, select, update

from aggregator.config import Settings
from aggregator.scheduler.worker import RETENTION_SECONDS, Scheduler
from aggregator.store import catalog, requests
from aggregator.store.db import session_scope
from aggregator.store.models import ServiceRequest, utcnow


def old_request(engine: Engine, age_days: int) -> int:
    with session_scope(engine) as session:
        if session.scalar(select(ServiceRequest.id)) is None:
            catalog.add_member(session, "a", "Perpustakaan A")
            requests.set_request_settings(session, "a", "copies", None)
        made = requests.create(session, holder="a", kind="copy", title="T",
                               patron_name="Siti", patron_email="siti@example.org",
                               home_library="Sekolah")
        session.execute(update(ServiceRequest).where(ServiceRequest.id == made.id)
                        .values(created_at=utcnow() - timedelta(days=age_days)))
    return made.id


def purged(engine: Engine, request_id: int) -> bool:
    with engine.connect() as conn:
        return conn.scalar(select(ServiceRequest.purged_at).where(
            ServiceRequest.id == request_id)) is not None


def test_run_once_erases_expired_patron_data_first(engine: Engine, settings: Settings) -> None:
    expired, kept = old_request(engine, 31), old_request(engine, 29)
    Scheduler(engine, replace(settings, request_retention_days=30)).run_once()
    assert purged(engine, expired) and not purged(engine, kept)


def test_a_running_scheduler_erases_at_once_then_hourly(engine: Engine,
                                                         settings: Settings) -> None:
    assert RETENTION_SECONDS == 3600
    expired = old_request(engine, 181)
    scheduler = Scheduler(engine, settings)
    scheduler.start()
    try:
        deadline = time.monotonic() + 10
        while not purged(engine, expired) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.close()
    assert purged(engine, expired)
