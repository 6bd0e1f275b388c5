"""Email notices through a real SMTP server on 127.0.0.1: a source failing for a day
(once per streak, once across racing schedulers) and an application decided."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from adminsite import Network, add_run, build_network, set_source, smtp_server
from aggregator.config import Settings, load_settings
from aggregator.errors import ConfigError
from aggregator.notify import application_decided, check_failing_sources, send
from aggregator.scheduler.worker import Scheduler
from aggregator.store import applications
from aggregator.store.db import make_engine
from aggregator.store.models import NoticeSent, utcnow

# store/users.py still calls Result.tuples(), deprecated in SQLAlchemy 2.1


@pytest.fixture
def network(engine: Engine) -> Network:
    return build_network(engine, utcnow())


def mail_settings(settings: Settings, url: str) -> Settings:
    return replace(settings, smtp_url=url, contact_email="katalog@example.org",
                   network_name="Jaringan Uji")


def notices(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(NoticeSent)) or 0)


def test_a_source_failing_for_a_day_mails_its_managers_once_per_streak(
        engine: Engine, settings: Settings, network: Network) -> None:
    with smtp_server() as (url, inbox):
        settings = mail_settings(settings, url)
        # failing_long (perpus-a, 3 days) is past a day; failing_new (2 hours) is not
        assert check_failing_sources(engine, settings) == 2
        set_source(engine, network.failing_new, failures=0)  # out of the way from here
        assert inbox.to() == ["a1@example.org", "a2@example.org"]
        message = inbox.messages[0]
        assert message["From"] == "katalog@example.org"
        assert "Perpustakaan A" in message["Subject"]
        body = message.get_content()
        assert "https://a.example.org/oai2" in body and "connection refused" in body
        assert "Pemanenan" in body and "Harvesting" in body  # Indonesian and English
        # a second check sends nothing more
        assert check_failing_sources(engine, settings) == 0
        assert len(inbox.messages) == 2
        # the source succeeds: the notice is forgotten at the next check
        now = utcnow()
        set_source(engine, network.failing_long, failures=0, last_status="ok",
                   last_success_at=now)
        assert check_failing_sources(engine, settings) == 0
        assert notices(engine) == 0
        # a new streak, a day and more later: a new email
        assert check_failing_sources(engine, settings, now + timedelta(hours=23)) == 0
        set_source(engine, network.failing_long, failures=1, last_status="failed")
        assert check_failing_sources(engine, settings, now + timedelta(hours=23)) == 0
        assert check_failing_sources(engine, settings, now + timedelta(hours=25)) == 2
        assert len(inbox.messages) == 4


def test_a_new_streak_is_noticed_even_if_no_check_saw_the_success(
        engine: Engine, settings: Settings, network: Network) -> None:
    with smtp_server() as (url, inbox):
        settings = mail_settings(settings, url)
        assert check_failing_sources(engine, settings) == 2
        set_source(engine, network.failing_new, failures=0)
        later = utcnow() + timedelta(hours=1)
        set_source(engine, network.failing_long, last_success_at=later)  # failing again
        assert check_failing_sources(engine, settings, later + timedelta(hours=25)) == 2
        assert len(inbox.messages) == 4


def test_a_source_that_never_succeeded_counts_from_its_first_failed_run(
        engine: Engine, settings: Settings, network: Network) -> None:
    with smtp_server() as (url, inbox):
        settings = mail_settings(settings, url)
        set_source(engine, network.failing_long, failures=0)
        add_run(engine, network.other, "ok", utcnow())
        # failing_new's streak began 2 hours ago (its partial run 2 days ago ended the
        # streak before)
        assert check_failing_sources(engine, settings, utcnow() + timedelta(hours=21)) == 0
        assert check_failing_sources(engine, settings, utcnow() + timedelta(hours=23)) == 1
        assert inbox.to() == ["b@example.org"]


def test_racing_checks_send_each_notice_once(engine: Engine, settings: Settings,
                                             network: Network) -> None:
    with smtp_server() as (url, inbox):
        settings = mail_settings(settings, url)
        # a second engine: another scheduler process on the same store
        other = engine if engine.dialect.name == "postgresql" else make_engine(settings)
        start = threading.Barrier(4)
        sent: list[int] = []

        def check(on: Engine) -> None:
            start.wait()
            sent.append(check_failing_sources(on, settings))

        threads = [threading.Thread(target=check, args=(e,))
                   for e in (engine, other, engine, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(sent) == [0, 0, 0, 2]
        assert inbox.to() == ["a1@example.org", "a2@example.org"]
        if other is not engine:
            other.dispose()


def test_the_scheduler_checks_for_failing_sources(engine: Engine, settings: Settings,
                                                  network: Network) -> None:
    with smtp_server() as (url, inbox):
        scheduler = Scheduler(engine, mail_settings(settings, url))
        assert scheduler.check_notices() == 2
        assert scheduler.check_notices() == 0
        assert len(inbox.messages) == 2


def test_an_unreachable_mail_server_is_logged_and_tried_again(
        engine: Engine, settings: Settings, network: Network,
        caplog: pytest.LogCaptureFixture) -> None:
    with smtp_server() as (url, _):
        pass  # the port is free again: nothing listens
    settings = mail_settings(settings, url)
    with caplog.at_level(logging.ERROR, logger="aggregator.notify"):
        assert check_failing_sources(engine, settings) == 0
    assert "could not send the email" in caplog.text
    assert notices(engine) == 0  # not recorded: the next check tries again
    with smtp_server() as (url, inbox):
        assert check_failing_sources(engine, replace(settings, smtp_url=url)) == 2


def test_an_application_decided_mails_the_applicant(engine: Engine, settings: Settings,
                                                     network: Network) -> None:
    with Session(engine) as session, session.begin():
        submitted = applications.submit(
            session, name="Perpustakaan D", homepage=None,
            contact_email="head@d.example.org", base_url="https://d.example.org/oai",
            report={}, platform=None)
        decided = applications.approve(session, submitted.id, decided_by="boss@example.org",
                                       note="Selamat bergabung!", every="24h")
    with smtp_server() as (url, inbox):
        assert application_decided(mail_settings(settings, url), decided)
        (message,) = inbox.messages
        assert message["To"] == "head@d.example.org"
        body = message.get_content()
        assert "DITERIMA" in body and "APPROVED" in body and "Selamat bergabung!" in body
        assert f"/members/{decided.member_slug}" in body


def test_a_rejection_carries_the_note(engine: Engine, settings: Settings) -> None:
    with Session(engine) as session, session.begin():
        submitted = applications.submit(
            session, name="Perpustakaan E", homepage=None,
            contact_email="head@e.example.org", base_url="https://e.example.org/oai",
            report={}, platform=None)
        decided = applications.reject(session, submitted.id, decided_by="boss@example.org",
                                      note="The endpoint answers with errors.")
    with smtp_server() as (url, inbox):
        assert application_decided(mail_settings(settings, url), decided)
        body = inbox.messages[0].get_content()
        assert "TIDAK DITERIMA" in body and "NOT APPROVED" in body
        assert "The endpoint answers with errors." in body


def test_without_smtp_url_nothing_is_sent_and_nothing_fails(
        engine: Engine, settings: Settings, network: Network) -> None:
    assert settings.smtp_url == ""
    with smtp_server() as (_, inbox):
        assert check_failing_sources(engine, settings) == 0
        assert Scheduler(engine, settings).check_notices() == 0
        assert not send(settings, "someone@example.org", "subject", "body")
        with Session(engine) as session, session.begin():
            submitted = applications.submit(
                session, name="Perpustakaan F", homepage=None,
                contact_email="head@f.example.org", base_url="https://f.example.org/oai",
                report={}, platform=None)
            decided = applications.reject(session, submitted.id, decided_by="boss@x.org",
                                          note=None)
        assert not application_decided(settings, decided)
        assert inbox.messages == []
    assert notices(engine) == 0


def test_credentials_are_never_sent_without_tls(settings: Settings,
                                                caplog: pytest.LogCaptureFixture) -> None:
    with smtp_server() as (url, inbox):
        secret = url.replace("smtp://", "smtp://user:secret@")
        with caplog.at_level(logging.ERROR, logger="aggregator.notify"):
            assert not send(mail_settings(settings, secret), "x@example.org", "s", "b")
        assert "STARTTLS" in caplog.text and "secret" not in caplog.text
        assert inbox.messages == []


@pytest.mark.parametrize("bad", ["http://mail.example.org", "smtp://", "smtp://host:99999",
                                 "smtp://host/path"])
def test_a_bad_smtp_url_is_refused_at_load(bad: str) -> None:
    with pytest.raises(ConfigError, match="smtp_url"):
        load_settings(environ={"AGGREGATOR_SMTP_URL": bad,
                               "AGGREGATOR_CONTACT_EMAIL": "a@example.org"})


def test_mail_needs_a_sender() -> None:
    with pytest.raises(ConfigError, match="mail_from"):
        load_settings(environ={"AGGREGATOR_SMTP_URL": "smtp://127.0.0.1:2525"})
    settings = load_settings(environ={"AGGREGATOR_SMTP_URL": "smtps://u:p@mail.example.org",
                                      "AGGREGATOR_MAIL_FROM": "noreply@example.org",
                                      "AGGREGATOR_CONTACT_EMAIL": "a@example.org"})
    assert settings.sender == "noreply@example.org"


def test_a_name_with_line_breaks_cannot_add_headers(settings: Settings) -> None:
    with smtp_server() as (url, inbox):
        assert send(mail_settings(settings, url), "x@example.org",
                    "Perpustakaan\r\nBcc: evil@example.org", "body")
        (message,) = inbox.messages
        assert message["Bcc"] is None
        assert message["Subject"] == "Perpustakaan Bcc: evil@example.org"


def test_a_malformed_address_is_logged_not_raised(settings: Settings,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    with smtp_server() as (url, inbox), caplog.at_level(logging.ERROR):
        assert not send(mail_settings(settings, url), "x@example.org\nBcc: y@example.org",
                        "subject", "body")
        assert inbox.messages == []
