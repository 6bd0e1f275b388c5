"""The portal's two languages: Bahasa Indonesia (the default) and English.

Templates and views write English message ids through ``_()``; the Indonesian text
comes from :data:`aggregator.web.translations.INDONESIAN`. The language is chosen by a
``lang`` query parameter (which also sets a cookie so the choice is remembered), then
that cookie, then the browser's ``Accept-Language`` (a first visit), then the default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, Response, g, request

if TYPE_CHECKING:
    from aggregator.config import Settings

from aggregator.web.translations import INDONESIAN, LANGUAGE_NAMES, TYPE_NAMES

LANGUAGES = {"id": "Bahasa Indonesia", "en": "English"}
DEFAULT_LANGUAGE = "id"
COOKIE = "lang"
COOKIE_AGE = 365 * 24 * 3600


def current_language() -> str:
    """The language of the current request (``id`` or ``en``)."""
    return str(g.get("lang", DEFAULT_LANGUAGE))


def gettext(message: str, **values: object) -> str:
    """``message`` in the current language, with ``{name}`` placeholders filled in.

    A message without an Indonesian translation is shown in English (tests make sure
    every message of the templates has one).
    """
    text = INDONESIAN.get(message, message) if current_language() == "id" else message
    return text.format(**values) if values else text


def type_name(value: str | None) -> str:
    """A controlled type (``Book``) in the current language; unknown values as they came."""
    if not value:
        return ""
    if current_language() == "id":
        return TYPE_NAMES.get(value, value)
    return value


def language_name(code: str | None) -> str:
    """An ISO 639-1 code as a language name in the current language (``id`` →
    ``Bahasa Indonesia``); other values as they came."""
    if not code:
        return ""
    names = LANGUAGE_NAMES.get(code)
    if names is None:
        return code
    return names[0] if current_language() == "id" else names[1]


def format_number(value: int) -> str:
    """Thousands grouped the way the reader expects: ``12.345`` in Indonesian."""
    text = f"{value:,}"
    return text.replace(",", ".") if current_language() == "id" else text


def network_description(settings: Settings) -> str:
    """The network's own description in the current language (English falls back to the
    Indonesian text when ``network_description_en`` is empty)."""
    if current_language() == "en" and settings.network_description_en:
        return settings.network_description_en
    return settings.network_description


def _choose() -> None:
    asked = request.args.get("lang", "")
    if asked in LANGUAGES:
        g.lang = asked
        g.remember_lang = asked != request.cookies.get(COOKIE)
        return
    remembered = request.cookies.get(COOKIE, "")
    if remembered in LANGUAGES:
        g.lang = remembered
        return
    # Werkzeug's best_match weighs q-values and maps ``en-US`` to ``en``; ties and
    # browsers asking for neither language get the default.
    best = request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT_LANGUAGE)
    g.lang = best if best in LANGUAGES else DEFAULT_LANGUAGE


def _remember(response: Response) -> Response:
    if g.get("remember_lang"):
        response.set_cookie(COOKIE, current_language(), max_age=COOKIE_AGE, httponly=True,
                            samesite="Lax", secure=request.is_secure)
    response.headers["Content-Language"] = current_language()
    response.vary.add("Cookie")
    response.vary.add("Accept-Language")
    return response


def init_app(app: Flask) -> None:
    """Choose the language before each request, remember it after, expose the helpers
    to templates (``_``, ``type_name``, ``language_name``, ``number``)."""
    app.before_request(_choose)
    app.after_request(_remember)
    app.jinja_env.globals.update(_=gettext, type_name=type_name, language_name=language_name,
                                 current_language=current_language, LANGUAGES=LANGUAGES)
    app.jinja_env.filters["number"] = format_number
