"""Field checks the public forms share (registration, interlibrary requests), each with a
message in the reader's language."""

from __future__ import annotations

from collections.abc import Callable

from flask_wtf import FlaskForm
from wtforms import Field
from wtforms.validators import StopValidation, ValidationError

from aggregator.errors import UserInputError
from aggregator.store import users
from aggregator.web.i18n import gettext as _

Check = Callable[[FlaskForm, Field], None]


def required(form: FlaskForm, field: Field) -> None:
    """Something other than spaces."""
    if not (field.data or "").strip():
        raise StopValidation(_("Please fill in this field."))


def at_most(limit: int) -> Check:
    """At most ``limit`` characters."""
    def check(form: FlaskForm, field: Field) -> None:
        if len(field.data or "") > limit:
            raise StopValidation(_("At most {n} characters.", n=limit))
    return check


def email_address(form: FlaskForm, field: Field) -> None:
    """An address the accounts would take."""
    try:
        users.normalise_email(field.data or "")
    except UserInputError:
        raise ValidationError(_("This is not an email address.")) from None
