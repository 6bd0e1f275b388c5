"""``/admin``: the dashboard of the sources an account looks after (the whole network for
the coordinator, failing sources first), and the coordinator's list of accounts."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import render_template

from aggregator.store import applications, health, users
from aggregator.store.db import session_scope
from aggregator.store.models import utcnow
from aggregator.web.admin.access import account, bp, coordinator
from aggregator.web.i18n import gettext as _
from aggregator.web.state import portal


@bp.get("/")
def overview() -> str:
    """The account's sources (failing first, with how long), the totals, and for the
    coordinator the applications waiting and the number of accounts."""
    me = account()
    scope = None if me.is_coordinator else me.member_ids
    now = utcnow()
    with session_scope(portal().engine) as session:
        sources = health.source_health(session, scope)
        totals = health.totals(session, scope, now)
        pending = applications.count_pending(session) if me.is_coordinator else None
        accounts = len(users.list_accounts(session)) if me.is_coordinator else None
    return render_template(
        "admin/overview.html", me=me, sources=sources, totals=totals, pending=pending,
        accounts=accounts, failing_for=lambda s: duration(health.failing_for(s, now)),
        when=moment)


@bp.get("/accounts")
def accounts() -> str:
    """Every account with its role and members (the coordinator's page)."""
    coordinator()
    with session_scope(portal().engine) as session:
        found = users.list_accounts(session)
    return render_template("admin/accounts.html", accounts=found, when=moment)


def duration(delta: timedelta | None) -> str:
    """``delta`` in words, to the largest two units (``2 days 3 hours``); "" for None."""
    if delta is None:
        return ""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        parts = [_("{n} days", n=days)] + ([_("{n} hours", n=hours)] if hours else [])
    elif hours:
        parts = [_("{n} hours", n=hours)] + ([_("{n} minutes", n=mins)] if mins else [])
    else:
        parts = [_("{n} minutes", n=mins)]
    return " ".join(parts)


def moment(value: datetime | None) -> str:
    """A time as ``2026-01-31 14:05 UTC`` ("" for None)."""
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")
