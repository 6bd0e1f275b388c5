"""The portal: a Flask app factory wiring pages, exports, the JSON API and error pages."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, jsonify, render_template, request
from flask_limiter import RateLimitExceeded
from sqlalchemy import Engine
from werkzeug.exceptions import HTTPException

from aggregator.config import Settings, load_settings
from aggregator.errors import SearchError, SearchTimeout
from aggregator.index.model import SearchBackend
from aggregator.store.db import make_engine
from aggregator.web import display, i18n, limits, security, urls
from aggregator.web.state import Portal, install

HERE = Path(__file__).parent
RETRY_AFTER = "5"
MAX_REQUEST_BODY = 256 * 1024  # forms and OAI-PMH POSTs are small; anything larger is 413


def create_app(settings: Settings | None = None, *, engine: Engine | None = None,
               index: SearchBackend | None = None) -> Flask:
    """Build the portal.

    Args:
        settings: the settings (loaded from the environment and config file if None).
        engine: the store (made from ``settings`` if None).
        index: an index already open in this process (the demo's); otherwise the live
            index under the data folder is opened on first use and reopened after a
            rebuild.
    """
    settings = settings or load_settings()
    engine = engine or make_engine(settings)
    app = Flask(__name__, template_folder=str(HERE / "templates"),
                static_folder=str(HERE / "static"))
    app.config.update(JSON_SORT_KEYS=False, SEND_FILE_MAX_AGE_DEFAULT=3600,
                      MAX_CONTENT_LENGTH=MAX_REQUEST_BODY)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    install(app, Portal(settings, engine, index))
    urls.init_app(app)  # before any route: ids in URLs are ASCII digits

    from aggregator.oai import views as oai
    from aggregator.web import (
        admin,
        api,
        apidocs,
        auth,
        exchange,
        exports,
        newacq,
        pages,
        register,
        requests,
        sitemaps,
    )

    app.register_blueprint(pages.bp)
    app.register_blueprint(exports.bp)
    app.register_blueprint(newacq.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(api.health)
    app.register_blueprint(register.bp)
    app.register_blueprint(requests.bp)
    app.register_blueprint(sitemaps.bp)
    app.register_blueprint(apidocs.bp)
    app.register_blueprint(exchange.bp)
    oai.init_app(app, settings, engine)
    auth.init_app(app, settings)
    auth.csrf.exempt(oai.bp)  # OAI-PMH requires POST; the feed is cookie-less, read-only
    admin.init_app(app)
    i18n.init_app(app)
    display.init_app(app)
    security.init_app(app)
    limits.init_app(app, settings, engine)
    _error_pages(app)
    return app


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _error_pages(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response | str, int]:
        code = exc.code or 500
        if _wants_json():
            return jsonify({"error": exc.name, "status": code}), code
        return render_template("error.html", code=code), code

    @app.errorhandler(SearchError)
    def search_error(exc: SearchError) -> tuple[Response | str, int, dict[str, str]]:
        app.logger.warning("search unavailable: %s", exc)
        reason = "timeout" if isinstance(exc, SearchTimeout) else "unavailable"
        headers = {"Retry-After": RETRY_AFTER}
        if _wants_json():
            return jsonify({"error": f"search {reason}", "status": 503}), 503, headers
        return render_template("error.html", code=503, reason=reason), 503, headers

    @app.errorhandler(RateLimitExceeded)
    def too_many(exc: RateLimitExceeded) -> tuple[Response | str, int, dict[str, str]]:
        seconds = limits.retry_after(exc)
        what = "searches" if limits.is_search(exc) else "requests"
        headers = {"Retry-After": str(seconds)}
        if _wants_json():
            return jsonify({"error": f"too many {what}", "status": 429,
                            "retry_after": seconds}), 429, headers
        return render_template("error.html", code=429, retry_after=seconds,
                               searches=what == "searches"), 429, headers

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response | str, int]:
        app.logger.exception("unexpected error on %s", request.path)
        if _wants_json():
            return jsonify({"error": "Internal Server Error", "status": 500}), 500
        return render_template("error.html", code=500), 500
