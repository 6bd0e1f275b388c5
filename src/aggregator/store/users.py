"""Accounts of the people who sign in: the coordinator and the repository managers.

Passwords are kept as argon2id hashes (argon2-cffi's defaults, RFC 9106's second
recommended profile); a hash made with weaker parameters is replaced at the next
successful sign-in. Emails are kept lower-case, so sign-in ignores case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from aggregator.errors import UserInputError
from aggregator.store.models import ROLES, Account, AccountMember, Member, utcnow
from aggregator.store.runs import as_utc

__all__ = ["AccountView", "MIN_PASSWORD", "add_account", "authenticate", "get_account",
           "list_accounts", "managers_of", "remove_account", "set_password"]

MIN_PASSWORD = 10
MAX_PASSWORD = 1000  # hashing a megabyte-long password is work nobody needs to do
_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,253})\.[A-Za-z]{2,63}$")
_HASHER = PasswordHasher()
# Verified when the email is unknown, so that a wrong email costs as long as a wrong
# password (no telling which accounts exist from the time an answer takes).
_DUMMY = _HASHER.hash("no account has this password")


@dataclass(frozen=True, slots=True)
class AccountView:
    """An account as the web side and the CLI see it (never the password hash)."""

    id: int
    email: str
    role: str
    members: tuple[str, ...]  # slugs of the members a manager looks after
    member_ids: frozenset[int]
    created_at: datetime
    last_login_at: datetime | None

    @property
    def is_coordinator(self) -> bool:
        """Whether the account may see and change everything."""
        return self.role == "coordinator"

    def may_manage(self, member_id: int) -> bool:
        """Whether the account may see and change member ``member_id``'s pages."""
        return self.is_coordinator or member_id in self.member_ids


def normalise_email(email: str) -> str:
    """The email as kept (trimmed, lower-case).

    Raises:
        UserInputError: it is not an email address.
    """
    value = email.strip().lower()
    if len(value) > 320 or not _EMAIL.match(value):
        raise UserInputError(f"not an email address: {email.strip()[:100]!r}")
    return value


def check_password(password: str) -> str:
    """``password`` when it is acceptable.

    Raises:
        UserInputError: too short or too long.
    """
    if len(password) < MIN_PASSWORD:
        raise UserInputError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise UserInputError(f"the password must have at most {MAX_PASSWORD} characters")
    return password


def add_account(session: Session, email: str, password: str, role: str,
                members: list[str] | tuple[str, ...] = ()) -> AccountView:
    """Create an account.

    Raises:
        UserInputError: a bad email, password or role, an unknown member, a manager
            without a member, or an account with this email already.
    """
    email = normalise_email(email)
    if role not in ROLES:
        raise UserInputError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    if role == "manager" and not members:
        raise UserInputError("a manager needs at least one member (--member SLUG)")
    if role == "coordinator" and members:
        raise UserInputError("a coordinator sees every member: give no --member")
    check_password(password)
    if session.scalar(select(Account.id).where(Account.email == email)) is not None:
        raise UserInputError(f"an account for {email} exists already")
    member_ids = _member_ids(session, members)
    account = Account(email=email, password_hash=_HASHER.hash(password), role=role,
                      created_at=utcnow())
    session.add(account)
    session.flush()
    session.add_all(AccountMember(account_id=account.id, member_id=mid) for mid in member_ids)
    session.flush()
    view = get_account(session, account.id)
    assert view is not None
    return view


def _member_ids(session: Session, slugs: list[str] | tuple[str, ...]) -> list[int]:
    found = {slug: mid for slug, mid in session.execute(
        select(Member.slug, Member.id).where(Member.slug.in_(list(slugs)),
                                             Member.status != "removed"))}
    unknown = [slug for slug in slugs if slug not in found]
    if unknown:
        raise UserInputError(f"no member {unknown[0]!r} (see `aggregator members list`)")
    return [found[slug] for slug in dict.fromkeys(slugs)]


def get_account(session: Session, account_id: int) -> AccountView | None:
    """The account with this id, or None."""
    account = session.get(Account, account_id)
    return None if account is None else _view(session, account)


def _view(session: Session, account: Account) -> AccountView:
    rows = session.execute(select(Member.id, Member.slug).join(
        AccountMember, AccountMember.member_id == Member.id).where(
        AccountMember.account_id == account.id).order_by(Member.slug)).all()
    return AccountView(account.id, account.email, account.role,
                       tuple(slug for _, slug in rows), frozenset(mid for mid, _ in rows),
                       as_utc(account.created_at) or account.created_at,
                       as_utc(account.last_login_at))


def authenticate(session: Session, email: str, password: str) -> AccountView | None:
    """The account when ``password`` is its password, else None (also for an unknown
    or malformed email; both take as long). A hash with outdated parameters is
    replaced."""
    try:
        email = normalise_email(email)
    except UserInputError:
        email = ""
    account = session.scalar(select(Account).where(Account.email == email)) if email else None
    if not password or len(password) > MAX_PASSWORD:
        return None
    try:
        _HASHER.verify(account.password_hash if account else _DUMMY, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if account is None:
        return None
    if _HASHER.check_needs_rehash(account.password_hash):
        account.password_hash = _HASHER.hash(password)
    account.last_login_at = utcnow()
    session.flush()
    return _view(session, account)


def set_password(session: Session, email: str, password: str) -> None:
    """Give an account a new password.

    Raises:
        UserInputError: no such account, or an unacceptable password.
    """
    account = _by_email(session, email)
    account.password_hash = _HASHER.hash(check_password(password))


def _by_email(session: Session, email: str) -> Account:
    account = session.scalar(select(Account).where(Account.email == normalise_email(email)))
    if account is None:
        raise UserInputError(f"no account {email.strip().lower()!r} "
                             "(see `aggregator users list`)")
    return account


def list_accounts(session: Session) -> list[AccountView]:
    """Every account, coordinators first, then by email."""
    accounts = session.scalars(select(Account).order_by(Account.role, Account.email)).all()
    return [_view(session, account) for account in accounts]


def remove_account(session: Session, email: str) -> None:
    """Delete an account (its sessions end at their next request).

    Raises:
        UserInputError: no such account.
    """
    account = _by_email(session, email)
    session.execute(delete(AccountMember).where(AccountMember.account_id == account.id))
    session.delete(account)


def managers_of(session: Session, member_id: int) -> list[str]:
    """The emails of the managers of member ``member_id``."""
    return list(session.scalars(select(Account.email).join(
        AccountMember, AccountMember.account_id == Account.id).where(
        AccountMember.member_id == member_id).order_by(Account.email)))
