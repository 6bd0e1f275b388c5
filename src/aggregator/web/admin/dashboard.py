"""``/admin``: the sources an account looks after (every source for the coordinator)."""

from __future__ import annotations

from flask import render_template

from aggregator.store import catalog
from aggregator.store.db import session_scope
from aggregator.web.admin.access import account, bp
from aggregator.web.state import portal


@bp.get("/")
def overview() -> str:
    """The account's sources with their last harvest."""
    me = account()
    with session_scope(portal().engine) as session:
        rows = catalog.list_sources(session)
    if not me.is_coordinator:
        rows = [row for row in rows if row.member in me.members]
    return render_template("admin/overview.html", sources=rows, me=me)
