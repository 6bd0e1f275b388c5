"""One typed settings object: defaults < TOML file < AGGREGATOR_* environment < overrides."""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aggregator.errors import ConfigError

ENV_PREFIX = "AGGREGATOR_"
# The oai-identifier scheme's repositoryIdentifier: a domain name.
REPOSITORY_ID = re.compile(r"[a-zA-Z][a-zA-Z0-9\-]*(\.[a-zA-Z][a-zA-Z0-9\-]*)+")
FALLBACK_ROOT = "http://127.0.0.1:8000"
FALLBACK_REPOSITORY_ID = "aggregator.invalid"
CONFIG_ENV = "AGGREGATOR_CONFIG"
# Variables of the test suite and CI (AGGREGATOR_TEST_POSTGRES_URL, ...), not settings.
TEST_ENV_PREFIX = "AGGREGATOR_TEST_"


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    """Every setting of the aggregator, with its default and a one-line help.

    Build it with :func:`load_settings`; never construct it from scattered globals.
    """

    data_dir: str = _setting(
        "instance", "Folder holding the SQLite database and the search index.")
    database_url: str = _setting(
        "", "SQLAlchemy URL of the store; empty means SQLite in data_dir "
            "(e.g. postgresql+psycopg://user@host/db).")
    network_name: str = _setting("Union catalogue", "Name of the library network.")
    base_url: str = _setting(
        "", "Public root URL of the portal (e.g. https://katalog.example.id), the one source of "
            "every absolute URL the site writes, the OAI feed's baseURL included; empty means "
            "the address `aggregator serve` listens on.")
    network_description: str = _setting(
        "", "One or two sentences about the network, shown on the portal's home and about "
            "pages (a generic sentence when empty); in Bahasa Indonesia, the portal's default "
            "language.")
    network_description_en: str = _setting(
        "", "The network_description in English, shown when the portal speaks English "
            "(network_description when empty).")
    network_logo: str = _setting(
        "", "http(s) URL of the network's logo, announced in the OAI feed's Identify "
            "(branding) when set.")
    contact_email: str = _setting(
        "", "Contact address sent in the User-Agent so repository managers can reach you, "
            "and the OAI feed's adminEmail.")
    user_agent: str = _setting(
        "aggregator/0.1 (OAI-PMH union catalogue harvester)",
        "User-Agent sent with every request (the contact is appended).")
    connect_timeout: float = _setting(10.0, "Seconds to wait for a TCP/TLS connection.")
    read_timeout: float = _setting(60.0, "Seconds to wait for the next bytes of a response.")
    request_deadline: float = _setting(
        180.0, "Seconds one whole HTTP request may take, connecting, status line, headers "
               "and body together: a server trickling its answer is cut off (and retried).")
    max_retries: int = _setting(4, "Retries of one request after a transient failure.")
    backoff_base: float = _setting(
        2.0, "First retry delay in seconds without Retry-After; doubles each time, with jitter.")
    retry_after_cap: float = _setting(
        3600.0, "Longest Retry-After honoured, in seconds; longer asks end the run for later.")
    max_consecutive_503: int = _setting(
        5, "Give up a request after this many 503/429 answers in a row.")
    request_delay: float = _setting(
        0.0, "Pause in seconds between two requests to the same host (politeness).")
    max_response_bytes: int = _setting(
        50 * 1024 * 1024, "Largest response body accepted, counted after decompression.")
    max_redirects: int = _setting(5, "Redirects followed for one request.")
    allow_networks: tuple[str, ...] = _setting(
        (), "CIDR networks harvest requests may reach although they are loopback, private, "
            "link-local or multicast (comma-separated in the environment).")
    verify_tls: bool = _setting(True, "Verify TLS certificates of member endpoints.")
    window_months: int = _setting(
        1, "Size in months of the date windows of a large first harvest; 0 disables windows.")
    window_threshold: int = _setting(
        10000, "A first harvest is split into date windows when completeListSize exceeds this.")
    overlap_seconds: int = _setting(
        120, "Overlap subtracted from the next incremental `from` at seconds granularity.")
    reconcile_max_share: float = _setting(
        0.30, "A full harvest refuses to mark more than this share of a source's records "
              "as vanished at once.")
    max_pages_per_run: int = _setting(
        100000, "Hard cap on pages fetched in one run of one source (loop guard).")
    empty_pages_limit: int = _setting(
        3, "Stop a list after this many consecutive pages that bring no new identifier.")
    default_every: str = _setting(
        "24h", "Default harvest interval of a new source (e.g. 6h, 1d, 30m).")
    source_time_limit: float = _setting(
        3600.0, "Seconds one run of one source may take; past it the run ends `partial` at a "
                "page boundary and the next run goes on from there.")
    harvest_concurrency: int = _setting(
        4, "Sources on different hosts that one scheduler process harvests at once (one "
           "request at a time per host across all processes, always).")
    scheduler_poll_seconds: float = _setting(
        5.0, "Seconds between a scheduler's looks for sources that are due.")
    lease_seconds: float = _setting(
        300.0, "Seconds a scheduler's hold on a source (and its host) lasts unless renewed; "
               "a crashed worker's sources are taken over after it.")
    index_follow_seconds: float = _setting(
        2.0, "Seconds between the search index owner's looks at the store's changes "
             "(`aggregator serve`, `aggregator scheduler`); it also looks after each run.")
    failure_backoff: str = _setting(
        "10m", "Wait before retrying a source whose run failed; it doubles with each "
               "further failure, up to a day, and resets on success.")
    reconcile_every: str = _setting(
        "7d", "Interval of a source's full pass, which also finds records deleted without "
              "a trace (servers saying deletedRecord=no).")
    search_backend: str = _setting(
        "tantivy", "Search engine of the portal: tantivy (fast, the default) or whoosh "
                   "(pure Python).")
    index_dir: str = _setting(
        "", "Folder of the search index; empty means index/ under data_dir.")
    web_workers: int = _setting(
        0, "Processes of `aggregator serve` answering requests; 0 means one per CPU core.")
    web_threads: int = _setting(8, "Threads per process of `aggregator serve`.")
    web_connection_limit: int = _setting(
        1000, "Open connections each process of `aggregator serve` accepts; past it new "
              "ones wait (waitress's default of 100 let slow clients lock out everyone).")
    web_channel_timeout: float = _setting(
        30.0, "Seconds a connection to `aggregator serve` may stay silent before it is "
              "closed.")
    web_request_timeout: float = _setting(
        20.0, "Seconds a client may take to send one whole request to `aggregator serve`; "
              "a connection trickling it more slowly is closed.")
    web_trusted_proxy: str = _setting(
        "", "Address of the reverse proxy in front of `aggregator serve` whose X-Forwarded-For "
            "and X-Forwarded-Proto headers are believed (empty: none).")
    search_rate_limit: int = _setting(
        120, "Searches (pages, API, suggestions, result exports) one client address may run "
             "per minute, counted over all portal processes; 0 disables the limit.")
    login_rate_limit: int = _setting(
        10, "Sign-in attempts one account may receive in 15 minutes; one client address may "
            "make three times as many over all accounts; 0 disables both limits.")
    register_rate_limit: int = _setting(
        5, "Applications to join the network one client address may send per hour; 0 "
           "disables the limit.")
    request_rate_limit: int = _setting(
        10, "Interlibrary and exchange requests one client address may send per hour; 0 "
            "disables the limit.")
    request_retention_days: int = _setting(
        180, "Days after which the scheduler erases a request's patron data (name, email, "
             "note); the request's kind, dates and outcome stay for the network's figures.")
    web_secret_key: str = _setting(
        "", "Secret that signs the sign-in sessions and form tokens of managers and the "
            "coordinator; empty means one generated once into web-secret under data_dir "
            "(set it when several machines serve the portal).")
    oai_repository_id: str = _setting(
        "", "Repository identifier of the OAI feed, a domain name (e.g. katalog.example.id) "
            "that is part of every record's identifier, so never change it once harvested; "
            "empty means the host of base_url when it is a domain name.")
    oai_token_secret: str = _setting(
        "", "Secret that signs the OAI feed's resumption tokens; empty means one generated "
            "once into oai-token-secret under data_dir (set it when several machines serve "
            "the feed).")
    oai_page_size: int = _setting(
        100, "Records (or headers) per page of the OAI feed's lists (1-500).")
    oai_token_hours: int = _setting(
        48, "Hours a resumption token of the OAI feed stays valid (at least 24).")
    smtp_url: str = _setting(
        "", "Mail server for the email notices (a source failing for a day, an application "
            "decided, each step of an interlibrary or exchange request): "
            "smtp://user:password@host:587 (STARTTLS), smtps://user:password@host:465 (TLS), "
            "smtp://host:port without credentials for a local relay; empty sends no email.")
    mail_from: str = _setting(
        "", "Sender address of the email notices; empty means contact_email.")
    log_level: str = _setting(
        "WARNING", "Logging level (DEBUG, INFO, WARNING, ERROR); INFO adds one line per harvest.")

    @property
    def resolved_database_url(self) -> str:
        """The database URL to use: the setting, or SQLite under ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{Path(self.data_dir).resolve() / 'aggregator.sqlite3'}"

    @property
    def resolved_index_dir(self) -> Path:
        """The folder holding the search index (one subfolder per backend)."""
        return Path(self.index_dir) if self.index_dir else Path(self.data_dir) / "index"

    @property
    def allowed_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """``allow_networks`` parsed into network objects."""
        return tuple(ipaddress.ip_network(n, strict=False) for n in self.allow_networks)

    @property
    def public_root(self) -> str:
        """The portal's public root URL without a trailing slash (``base_url``, or the
        address a local server answers on when it is unset)."""
        return (self.base_url or FALLBACK_ROOT).rstrip("/")

    @property
    def repository_id(self) -> str:
        """The OAI feed's repository identifier: the setting, else the host of the
        public root when it is a domain name, else ``aggregator.invalid``."""
        if self.oai_repository_id:
            return self.oai_repository_id
        host = urlsplit(self.public_root).hostname or ""
        return host if REPOSITORY_ID.fullmatch(host) else FALLBACK_REPOSITORY_ID

    @property
    def sender(self) -> str:
        """The From address of the email notices (``mail_from``, else ``contact_email``)."""
        return self.mail_from or self.contact_email

    @property
    def full_user_agent(self) -> str:
        """The User-Agent header, naming the contact when one is set."""
        if self.contact_email:
            return f"{self.user_agent} +mailto:{self.contact_email}"
        return self.user_agent


def setting_help() -> dict[str, tuple[Any, str]]:
    """Return ``{name: (default, help)}`` for every setting (used by docs and tests)."""
    return {f.name: (f.default, f.metadata["help"]) for f in fields(Settings)}


def _as_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _as_networks(raw: Any) -> tuple[str, ...]:
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    out = []
    for item in items:
        item = str(item).strip()
        if item:
            ipaddress.ip_network(item, strict=False)  # raises ValueError on garbage
            out.append(item)
    return tuple(out)


def _coerce(name: str, kind: Any, raw: Any) -> Any:
    """Convert a TOML or environment value to the setting's type, or raise ConfigError."""
    converters: dict[Any, Callable[[Any], Any]] = {
        "str": str,
        "int": lambda v: int(v) if not isinstance(v, bool) else _fail(),
        "float": lambda v: float(v) if not isinstance(v, bool) else _fail(),
        "bool": lambda v: v if isinstance(v, bool) else _as_bool(str(v)),
        "tuple[str, ...]": _as_networks,
    }
    try:
        return converters[kind](raw)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"setting {name!r}: bad value {raw!r} ({exc or 'wrong type'})") from exc


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return (parts.scheme in ("http", "https") and bool(parts.hostname)
            and not any(ch.isspace() for ch in value))


def _is_root_url(value: str) -> bool:
    """An http(s) URL with a host and neither query nor fragment (a path prefix is
    allowed, for a portal served under one)."""
    parts = urlsplit(value)
    return _is_http_url(value) and not parts.query and not parts.fragment


def _is_smtp_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    return (parts.scheme in ("smtp", "smtps") and bool(parts.hostname)
            and parts.path in ("", "/") and not any(ch.isspace() for ch in value))


def _fail() -> Any:
    raise TypeError("wrong type")


def _validate(settings: Settings) -> Settings:
    checks: list[tuple[str, bool, str]] = [
        ("connect_timeout", settings.connect_timeout > 0, "more than 0 seconds"),
        ("read_timeout", settings.read_timeout > 0, "more than 0 seconds"),
        ("request_deadline", settings.request_deadline >= 1, "at least 1 second"),
        ("max_retries", settings.max_retries >= 0, "0 or more"),
        ("backoff_base", settings.backoff_base >= 0, "0 or more seconds"),
        ("retry_after_cap", settings.retry_after_cap >= 0, "0 or more seconds"),
        ("max_consecutive_503", settings.max_consecutive_503 >= 1, "at least 1"),
        ("request_delay", settings.request_delay >= 0, "0 or more seconds"),
        ("max_response_bytes", settings.max_response_bytes >= 1024, "at least 1024 bytes"),
        ("max_redirects", settings.max_redirects >= 0, "0 or more"),
        ("window_months", settings.window_months >= 0, "0 or more"),
        ("window_threshold", settings.window_threshold >= 0, "0 or more"),
        ("overlap_seconds", settings.overlap_seconds >= 0, "0 or more"),
        ("web_workers", 0 <= settings.web_workers <= 64, "from 0 to 64"),
        ("web_threads", 1 <= settings.web_threads <= 256, "from 1 to 256"),
        ("web_connection_limit", 10 <= settings.web_connection_limit <= 100_000,
          "from 10 to 100000"),
        ("web_channel_timeout", settings.web_channel_timeout > 0, "more than 0 seconds"),
        ("web_request_timeout", settings.web_request_timeout > 0, "more than 0 seconds"),
        ("search_rate_limit", settings.search_rate_limit >= 0, "0 or more"),
        ("login_rate_limit", settings.login_rate_limit >= 0, "0 or more"),
        ("register_rate_limit", settings.register_rate_limit >= 0, "0 or more"),
        ("request_rate_limit", settings.request_rate_limit >= 0, "0 or more"),
        ("request_retention_days", 1 <= settings.request_retention_days <= 3650,
         "between 1 and 3650 days"),
        ("source_time_limit", settings.source_time_limit >= 1, "at least 1 second"),
        ("harvest_concurrency", 1 <= settings.harvest_concurrency <= 256, "from 1 to 256"),
        ("scheduler_poll_seconds", 0 < settings.scheduler_poll_seconds <= 3600,
          "more than 0 and at most 3600 seconds"),
        ("lease_seconds", 1 <= settings.lease_seconds <= 86400, "from 1 to 86400 seconds"),
        ("index_follow_seconds", 0 < settings.index_follow_seconds <= 3600,
          "more than 0 and at most 3600 seconds"),
        ("reconcile_max_share", 0 <= settings.reconcile_max_share <= 1, "from 0 to 1"),
        ("max_pages_per_run", settings.max_pages_per_run >= 1, "at least 1"),
        ("empty_pages_limit", settings.empty_pages_limit >= 1, "at least 1"),
        ("log_level", settings.log_level.upper() in {"DEBUG", "INFO", "WARNING", "ERROR"},
          "one of DEBUG, INFO, WARNING, ERROR"),
        ("search_backend", settings.search_backend in {"tantivy", "whoosh"},
          "one of tantivy, whoosh"),
        ("oai_page_size", 1 <= settings.oai_page_size <= 500, "from 1 to 500"),
        ("oai_token_hours", 24 <= settings.oai_token_hours <= 24 * 365, "from 24 to 8760"),
        ("base_url", not settings.base_url or _is_root_url(settings.base_url),
          "an http(s) URL with a host and no query or fragment, or empty"),
        ("network_logo", not settings.network_logo or _is_http_url(settings.network_logo),
          "an http(s) URL with a host, or empty"),
        ("smtp_url", not settings.smtp_url or _is_smtp_url(settings.smtp_url),
          "smtp://[user:password@]host[:port] or smtps://..., or empty"),
        ("mail_from", not settings.smtp_url or bool(settings.sender),
          "a sender address (mail_from or contact_email) when smtp_url is set"),
        ("oai_repository_id", not settings.oai_repository_id
         or bool(REPOSITORY_ID.fullmatch(settings.oai_repository_id)),
          "a domain name such as katalog.example.id, or empty"),
    ]
    for name, ok, expected in checks:
        if not ok:
            raise ConfigError(f"setting {name!r}: bad value {getattr(settings, name)!r}; "
                              f"it must be {expected}")
    from aggregator.schedule import parse_interval  # late: keeps config import-light

    for name in ("default_every", "failure_backoff", "reconcile_every"):
        try:
            parse_interval(getattr(settings, name))
        except ValueError as exc:
            raise ConfigError(f"setting {name!r}: {exc}") from exc
    return settings


def _refuse_unknown_env(env: Mapping[str, str], kinds: Mapping[str, Any]) -> None:
    """Refuse an ``AGGREGATOR_*`` variable that names no setting (a misspelt one would
    be silently ignored), suggesting the nearest; the test suite's own variables
    (``AGGREGATOR_TEST_*``) and ``AGGREGATOR_CONFIG`` are not settings."""
    known = [ENV_PREFIX + name.upper() for name in kinds]
    for key in sorted(env):
        if (not key.startswith(ENV_PREFIX) or key == CONFIG_ENV
                or key.startswith(TEST_ENV_PREFIX) or key in known):
            continue
        near = difflib.get_close_matches(key, known, n=1)
        hint = f"; did you mean {near[0]}?" if near else ""
        raise ConfigError(f"environment variable {key} names no setting{hint} (settings are "
                          "listed in config/aggregator.example.toml)")


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build the settings: defaults < TOML file < ``AGGREGATOR_*`` environment < overrides.

    Args:
        config_file: a TOML file; when ``None`` the ``AGGREGATOR_CONFIG`` variable names it.
        environ: the environment to read (``os.environ`` by default).
        **overrides: values that win over everything (tests use this).

    Raises:
        ConfigError: an unknown key, a missing file or a value of the wrong shape.
    """
    env = os.environ if environ is None else environ
    kinds = {f.name: f.type for f in fields(Settings)}
    values: dict[str, Any] = {}

    path = config_file if config_file is not None else env.get(CONFIG_ENV) or None
    if path is not None:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {str(path)!r} does not exist") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from exc
        table = data.get("aggregator", data)
        for key, raw in table.items():
            if key not in kinds:
                raise ConfigError(f"config file {str(path)!r}: unknown setting {key!r}")
            values[key] = _coerce(key, kinds[key], raw)

    _refuse_unknown_env(env, kinds)
    for name, kind in kinds.items():
        raw_env = env.get(ENV_PREFIX + name.upper())
        if raw_env is not None:
            values[name] = _coerce(name, kind, raw_env)

    for key, raw in overrides.items():
        if key not in kinds:
            raise ConfigError(f"unknown setting {key!r}")
        values[key] = raw if not isinstance(raw, str) else _coerce(key, kinds[key], raw)

    return _validate(replace(Settings(), **values))
