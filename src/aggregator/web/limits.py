"""Rate limits shared by every web worker process: Flask-Limiter, counting in the store.

``limiter`` is the one :class:`flask_limiter.Limiter`; views limit themselves with
``@limiter.limit(...)`` (per view) or ``@limiter.shared_limit(...)`` (one counter over
several views), usually with a limit read from a setting (:func:`from_setting`), and
count anything else (attempts per account) with :func:`hit`. Counters live in
:mod:`aggregator.store.ratelimit`, so N worker processes allow a client the limit once,
not N times. Windows are fixed: they start at a client's first hit.

Searches (the result pages, the API's search and suggestions, result exports) share one
limit of ``search_rate_limit`` a minute per client address. The OAI feed is exempt: its
harvesters page through a whole catalogue, and nothing here counts them.

The client is ``request.remote_addr``: behind a reverse proxy set ``web_trusted_proxy``,
and waitress puts the proxy's X-Forwarded-For there (and drops it from anyone else).

When the counters cannot be reached, requests are let through rather than refused: a
broken counter store must not take the portal down with it. For ``@limiter`` limits that
is Flask-Limiter's ``swallow_errors`` (it logs "Failed to rate limit. Swallowing error"
with the StoreError, on logger ``flask-limiter``); :func:`hit` logs a warning.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from math import ceil

from flask import Flask, current_app, request
from flask_limiter import Limiter, RateLimitExceeded
from limits import RateLimitItem, parse
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import Engine

from aggregator.config import Settings, setting_help
from aggregator.errors import ConfigError, StoreError
from aggregator.store.ratelimit import CounterStorage, open_counters
from aggregator.web.state import portal

__all__ = ["LOGIN_CLIENT_FACTOR", "LOGIN_WINDOW", "AppCounters", "client_address", "counters",
           "from_setting", "hit", "init_app", "is_search", "limiter", "login_per_account",
           "login_per_client", "rate", "register_per_client", "retry_after", "search_limit",
           "search_per_client"]

logger = logging.getLogger(__name__)
EXTENSION = "aggregator.ratelimit"
SEARCH_SCOPE = "search"
LOGIN_WINDOW = "15 minutes"
LOGIN_CLIENT_FACTOR = 3  # a client address may try this many times an account's attempts


def client_address() -> str:
    """The address limits are counted against (the client's own behind a trusted proxy)."""
    return request.remote_addr or "unknown"


class AppCounters(Storage):
    """The storage Flask-Limiter is given (``aggregator-app://``): every call goes to the
    :class:`CounterStorage` of the app handling the request.

    ``limiter`` is module-level, but one process may hold several apps on different
    stores (the tests do); each must count in its own store.
    """

    STORAGE_SCHEME = ["aggregator-app"]

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        """What the counters raise when their database fails."""
        return StoreError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """See :meth:`CounterStorage.incr`."""
        return counters().incr(key, expiry, amount)

    def get(self, key: str) -> int:
        """See :meth:`CounterStorage.get`."""
        return counters().get(key)

    def get_expiry(self, key: str) -> float:
        """See :meth:`CounterStorage.get_expiry`."""
        return counters().get_expiry(key)

    def check(self) -> bool:
        """See :meth:`CounterStorage.check`."""
        return counters().check()

    def reset(self) -> int | None:
        """See :meth:`CounterStorage.reset`."""
        return counters().reset()

    def clear(self, key: str) -> None:
        """See :meth:`CounterStorage.clear`."""
        counters().clear(key)


limiter = Limiter(key_func=client_address, storage_uri="aggregator-app://",
                  strategy="fixed-window", swallow_errors=True)


def counters() -> CounterStorage:
    """The counters of the current app."""
    found = current_app.extensions[EXTENSION]
    if not isinstance(found, CounterStorage):  # pragma: no cover - set by init_app only
        raise StoreError("the rate-limit counters are not initialised")
    return found


def rate(amount: int, per: str) -> str:
    """A limit in Flask-Limiter's notation: ``rate(10, "15 minutes")`` is
    ``"10 per 15 minutes"``; an amount of 0 (no limit) gives ``""``."""
    return f"{amount} per {per}" if amount > 0 else ""


def from_setting(name: str, per: str, times: int = 1) -> Callable[[], str]:
    """A limit read from the current app's setting ``name`` at each request, for
    ``@limiter.limit(from_setting("register_rate_limit", "hour"))``: ``times`` × the
    setting per ``per``; no limit when the setting is 0.

    Raises:
        ConfigError: there is no such setting.
    """
    if name not in setting_help():
        raise ConfigError(f"unknown setting {name!r}")

    def provider() -> str:
        return rate(int(getattr(portal().settings, name)) * times, per)

    return provider


search_per_client = from_setting("search_rate_limit", "minute")
login_per_account = from_setting("login_rate_limit", LOGIN_WINDOW)
login_per_client = from_setting("login_rate_limit", LOGIN_WINDOW, times=LOGIN_CLIENT_FACTOR)
register_per_client = from_setting("register_rate_limit", "hour")

search_limit = limiter.shared_limit(search_per_client, scope=SEARCH_SCOPE)
"""The decorator of every search view: one counter per client over all of them."""


def hit(key: str, limit: str) -> int | None:
    """Count one attempt of ``key`` against ``limit`` in the current app's counters, e.g.
    ``hit("login:" + email, login_per_account())``.

    Args:
        key: what is limited (an account, an address …), any length.
        limit: e.g. ``"10 per 15 minutes"`` (see :func:`rate`); ``""`` counts nothing.

    Returns:
        None when the attempt is allowed, else the seconds until the window ends. When
        the counters cannot be reached the attempt is allowed (and a warning logged).
    """
    if not limit:
        return None
    item: RateLimitItem = parse(limit)
    strategy = FixedWindowRateLimiter(counters())
    try:
        if strategy.hit(item, "hit", key):
            return None
        reset = strategy.get_window_stats(item, "hit", key).reset_time
    except StoreError as exc:
        logger.warning("rate limit %s not counted, attempt allowed: %s", limit, exc)
        return None
    return max(1, ceil(reset - time.time()))


def retry_after(exc: RateLimitExceeded) -> int:
    """Seconds until the window that ``exc`` refused ends (for the Retry-After header)."""
    current = limiter.current_limit
    try:
        if current is not None and current.breached:
            return max(1, ceil(current.window.reset_time - time.time()))
    except StoreError:
        pass
    return int(exc.limit.limit.get_expiry())


def is_search(exc: RateLimitExceeded) -> bool:
    """Whether ``exc`` is the search limit (its page says "too many searches")."""
    return exc.limit.scope == SEARCH_SCOPE


def init_app(app: Flask, settings: Settings, engine: Engine) -> None:
    """Count ``app``'s limits in the counters of ``engine``'s installation (see
    :func:`aggregator.store.ratelimit.open_counters`); limits read from settings are
    read from the app's portal state (:func:`aggregator.web.state.install` first)."""
    from aggregator.oai.views import bp as oai

    app.extensions[EXTENSION] = open_counters(settings, engine)
    limiter.exempt(oai)  # also from any default limit added one day
    limiter.init_app(app)
