"""Who may see what under ``/admin``: anonymous visitors go to ``/login``; a manager sees
the members (and their sources) given to their account, with 404 for the others;
pages of the whole network are the coordinator's (403 for managers)."""

from __future__ import annotations

from typing import cast

from flask import Blueprint, abort
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from aggregator.errors import UserInputError
from aggregator.store import catalog
from aggregator.store.models import Member
from aggregator.store.users import AccountView
from aggregator.web.auth import login_manager, signed_in

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def _signed_in_only() -> ResponseReturnValue | None:
    if signed_in() is None:
        return cast(ResponseReturnValue, login_manager.unauthorized())
    return None


def account() -> AccountView:
    """The account of this request (the guard has made sure there is one)."""
    found = signed_in()
    if found is None:  # only reachable if a view is called outside the blueprint
        abort(401)
    return found


def coordinator() -> AccountView:
    """The account, when it is the coordinator's; 403 otherwise."""
    found = account()
    if not found.is_coordinator:
        abort(403)
    return found


def member_allowed(member_id: int | None) -> AccountView:
    """The account, when it may manage member ``member_id``; 404 otherwise (a manager
    cannot tell other members' pages from pages that do not exist)."""
    found = account()
    if member_id is None or not found.may_manage(member_id):
        abort(404)
    return found


def managed_member(session: Session, slug: str) -> Member:
    """Member ``slug``, when the account may manage it; 404 otherwise (unknown and
    removed members too)."""
    try:
        member = catalog.get_member(session, slug)
    except UserInputError:
        abort(404)
    member_allowed(member.id if member.status != "removed" else None)
    return member
