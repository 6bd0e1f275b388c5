"""The `aggregator users` commands: accounts of the coordinator and the repository managers."""

from __future__ import annotations

import json
import secrets
import sys
from typing import Any

import click

GENERATED_BYTES = 15  # 20 URL-safe characters


@click.group()
def users() -> None:
    """Add, list and remove the accounts that sign in at /login."""


@users.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(["coordinator", "manager"]), required=True,
              help="coordinator: everything; manager: the members given with --member.")
@click.option("--member", "members", multiple=True, metavar="SLUG",
              help="A member the manager looks after (repeat for several).")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from standard input (one line).")
@click.pass_obj
def users_add(obj: Any, email: str, role: str, members: tuple[str, ...],
              password_stdin: bool) -> None:
    """Create the account EMAIL.

    Without --password-stdin the password is asked for at a terminal; when standard
    input is not a terminal, one is generated and shown once.
    """
    from aggregator.store import users as store_users

    generated = False
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password, generated = secrets.token_urlsafe(GENERATED_BYTES), True
    with obj.session() as session:
        account = store_users.add_account(session, email, password, role, members)
    what = role + (f" of {', '.join(account.members)}" if account.members else "")
    click.echo(f"added {account.email} ({what})")
    if generated:
        click.echo(f"password (shown once): {password}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array on stdout.")
@click.pass_obj
def users_list(obj: Any, as_json: bool) -> None:
    """List the accounts with their role and members."""
    from aggregator.console import table
    from aggregator.store import users as store_users

    with obj.session() as session:
        accounts = store_users.list_accounts(session)
    if as_json:
        click.echo(json.dumps([
            {"email": a.email, "role": a.role, "members": list(a.members),
             "created_at": a.created_at.isoformat(),
             "last_login_at": a.last_login_at.isoformat() if a.last_login_at else None}
            for a in accounts], indent=2))
        return
    click.echo(table([(a.email, a.role, ", ".join(a.members) or "-",
                       a.last_login_at.strftime("%Y-%m-%d %H:%M") if a.last_login_at
                       else "never") for a in accounts],
                     ["email", "role", "members", "last sign-in"]))


@users.command("remove")
@click.argument("email")
@click.pass_obj
def users_remove(obj: Any, email: str) -> None:
    """Delete the account EMAIL (it is signed out at its next request)."""
    from aggregator.store import users as store_users

    with obj.session() as session:
        store_users.remove_account(session, email)
    click.echo(f"removed {email.strip().lower()}")
