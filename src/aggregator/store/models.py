"""SQLAlchemy 2 models of the store: Member, Source, Record, HarvestRun, HostLease,
ChangeCounter; the web side's Account, Application, RateLimit and NoticeSent; and the
cooperation services' ServiceRequest, RequestEvent and Offer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """The current time in UTC (timezone-aware)."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Member(Base):
    """A library or institution of the network."""

    __tablename__ = "member"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    homepage: Mapped[str | None] = mapped_column(String(2000))
    city: Mapped[str | None] = mapped_column(String(200))
    province: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(32))  # public, university, school, special
    contact: Mapped[str | None] = mapped_column(String(300))
    logo: Mapped[str | None] = mapped_column(String(2000))
    # pending | active | suspended | removed
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Interlibrary requests this member takes: none | loans | copies | both
    accepts_requests: Mapped[str] = mapped_column(String(8), default="none",
                                                  server_default="none")
    request_conditions: Mapped[str | None] = mapped_column(String(2000))  # shown to patrons

    sources: Mapped[list[Source]] = relationship(back_populates="member", order_by="Source.id")


class Source(Base):
    """One OAI-PMH endpoint (base URL + prefix + optional set) of a member."""

    __tablename__ = "source"
    __table_args__ = (UniqueConstraint("base_url", "metadata_prefix", "set_spec",
                                       name="uq_source_endpoint"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    base_url: Mapped[str] = mapped_column(String(2000))
    metadata_prefix: Mapped[str] = mapped_column(String(64), default="oai_dc")
    set_spec: Mapped[str] = mapped_column(String(500), default="")  # "" = whole repository
    every_seconds: Mapped[int] = mapped_column(Integer, default=86400)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active|paused|removed

    # Identify snapshot
    repository_name: Mapped[str | None] = mapped_column(String(500))
    granularity: Mapped[str | None] = mapped_column(String(32))  # "day" | "seconds"
    earliest_datestamp: Mapped[str | None] = mapped_column(String(64))
    deleted_record: Mapped[str | None] = mapped_column(String(16))
    identify: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    # What the server really accepts (learned while harvesting)
    use_day_granularity: Mapped[bool] = mapped_column(Boolean, default=False)
    date_filter: Mapped[bool] = mapped_column(Boolean, default=True)  # False: no from/until

    # Incremental cursor: the next run's `from` before the overlap is subtracted
    cursor_from: Mapped[str | None] = mapped_column(String(64))
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    not_before: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # Resumable checkpoint (JSON written with each page's records) and lease
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # The scheduler: consecutive failed runs (the backoff grows with them), the last
    # run's status and error, the last complete full pass (reconciliation)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_status: Mapped[str | None] = mapped_column(String(16))
    last_error: Mapped[str | None] = mapped_column(String(2000))
    last_full_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # The member's own setSpecs used by its records, with their setName when known
    set_names: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    sets_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    member: Mapped[Member] = relationship(back_populates="sources")


class Record(Base):
    """One harvested record, unique on (source, OAI identifier)."""

    __tablename__ = "record"
    __table_args__ = (
        # identifier first: the per-page lookup (identifier IN ... AND source_id = ...)
        # then has exactly one index to use, whatever the planner's statistics say.
        UniqueConstraint("identifier", "source_id", name="uq_record_source_identifier"),
        Index("ix_record_change_seq", "change_seq"),
        # Live records of a source (counts, reconcile, removal); partial, so the per-page
        # lookup cannot pick it on stale statistics and scan a whole source per page.
        Index("ix_record_source_seen", "source_id", "last_seen_pass",
              sqlite_where=text("deleted = 0"), postgresql_where=text("NOT deleted")),
        Index("ix_record_cluster", "cluster_id"),
        # The OAI feed: from/until become change_seq bounds; a member's set is paged by
        # (source, change_seq).
        Index("ix_record_last_changed", "last_changed"),
        Index("ix_record_source_seq", "source_id", "change_seq"),
        # New acquisitions: the records first harvested in a week or a month.
        Index("ix_record_first_seen", "first_seen"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    identifier: Mapped[str] = mapped_column(String(1000))
    datestamp: Mapped[str | None] = mapped_column(String(64))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    set_specs: Mapped[list[Any]] = mapped_column(JSON, default=list)
    metadata_prefix: Mapped[str] = mapped_column(String(64))
    metadata_xml: Mapped[bytes | None] = mapped_column(LargeBinary)
    content_hash: Mapped[str] = mapped_column(String(40))
    change_seq: Mapped[int] = mapped_column(BigInteger)
    last_seen_pass: Mapped[int | None] = mapped_column(Integer)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_changed: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    cluster_id: Mapped[int | None] = mapped_column(BigInteger)
    match_keys: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # for clustering
    # Fields.as_json() of metadata_xml, written with it; NULL in rows from before 0003
    fields: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    # Fields.type, kept when the record becomes a tombstone (the feed's type: sets)
    work_type: Mapped[str | None] = mapped_column(String(32))
    # The <provenance> originDescription an upstream aggregator sent with the record
    provenance_xml: Mapped[bytes | None] = mapped_column(LargeBinary)


class RecordKey(Base):
    """A block key of a live record: records sharing a key are compared for clustering."""

    __tablename__ = "record_key"
    __table_args__ = (Index("ix_record_key_record", "record_id"),)

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    record_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("record.id", ondelete="CASCADE"), primary_key=True)


class HarvestRun(Base):
    """One run of one source: what was asked, what came back, what went wrong."""

    __tablename__ = "harvest_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"),
                                           index=True)
    mode: Mapped[str] = mapped_column(String(16))  # incremental|full|reconcile
    status: Mapped[str] = mapped_column(String(16), default="running")
    # running|ok|partial|failed|interrupted
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resumed_from: Mapped[int | None] = mapped_column(Integer)
    response_date: Mapped[str | None] = mapped_column(String(64))  # first responseDate
    request_from: Mapped[str | None] = mapped_column(String(64))
    new: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    complete_list_size: Mapped[int | None] = mapped_column(Integer)
    warnings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    owner: Mapped[str | None] = mapped_column(String(200))


class HostLease(Base):
    """Politeness across processes: who may send requests to a host (``host:port``)."""

    __tablename__ = "host_lease"

    host: Mapped[str] = mapped_column(String(300), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    source_id: Mapped[int | None] = mapped_column(Integer)


class ClusterChange(Base):
    """The clusters' change feed: a cluster whose records changed, in commit order.

    Written only by the clustering stage (:mod:`aggregator.cluster.stage`), which runs
    under one lease at a time, so ``seq`` values commit in order and a follower (each
    search index) can read everything after the last ``seq`` it applied. Only a
    cluster's latest entry is kept.
    """

    __tablename__ = "cluster_change"
    __table_args__ = (Index("ix_cluster_change_cluster", "cluster_id"),)

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                      primary_key=True, autoincrement=True)
    cluster_id: Mapped[int] = mapped_column(BigInteger)


class Stage(Base):
    """A store-side stage that follows the change feed (``cluster``): how far it has
    gone, and the lease of the one process running it."""

    __tablename__ = "stage"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    done_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    owner: Mapped[str | None] = mapped_column(String(200))
    until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ChangeCounter(Base):
    """A single row handing out ``change_seq`` values; its row lock orders commits.

    ``changed_at`` is the change clock: the time given to the latest change, which
    never goes back (see :func:`aggregator.store.ingest.allocate_seq`).
    """

    __tablename__ = "change_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
    changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Account(Base):
    """Someone who signs in: the network's coordinator (everything) or a repository
    manager (their own members only, through ``account_member``)."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # kept lower-case
    password_hash: Mapped[str] = mapped_column(String(300))  # argon2id, PHC string
    role: Mapped[str] = mapped_column(String(16))  # coordinator | manager
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AccountMember(Base):
    """A manager's member: the sources of these members are theirs to see and change."""

    __tablename__ = "account_member"

    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"),
                                            primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"),
                                           primary_key=True, index=True)


class Application(Base):
    """A library's request to join (``/register``): its endpoint's check report, and the
    coordinator's decision."""

    __tablename__ = "application"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    homepage: Mapped[str | None] = mapped_column(String(2000))
    contact_email: Mapped[str] = mapped_column(String(320))
    base_url: Mapped[str] = mapped_column(String(2000))
    platform: Mapped[str | None] = mapped_column(String(32))  # as the check detected it
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the check, as JSON
    status: Mapped[str] = mapped_column(String(16), default="pending")  # |approved|rejected
    note: Mapped[str | None] = mapped_column(String(2000))  # the coordinator's
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(320))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))


class RateLimit(Base):
    """A rate limit's counter in a fixed window, shared by every web worker process
    (sign-in attempts, registrations, searches)."""

    __tablename__ = "rate_limit"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[float] = mapped_column(Float)  # seconds since the epoch


class NoticeSent(Base):
    """An email notification already sent (``kind`` about ``subject``, e.g. a source
    failing for a day), so that each is sent once."""

    __tablename__ = "notice_sent"

    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    subject: Mapped[str] = mapped_column(String(300), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Offer(Base):
    """An item a member offers to other libraries for exchange or donation."""

    __tablename__ = "offer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"),
                                           index=True)
    title: Mapped[str] = mapped_column(String(1000))
    creators: Mapped[str | None] = mapped_column(String(1000))  # "; "-separated
    year: Mapped[int | None] = mapped_column(Integer)
    publisher: Mapped[str | None] = mapped_column(String(300))
    isbn: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(2000))  # edition, volumes, remarks
    condition: Mapped[str] = mapped_column(String(16), default="good")  # OFFER_CONDITIONS
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    # picked from the member's own records (None: uploaded or typed)
    record_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("record.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="available")  # |given|withdrawn
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    given_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ServiceRequest(Base):
    """A request to a holding member: an interlibrary loan or a copy of a record it
    holds, or an item of its exchange list. The patron follows it at a status link
    carrying ``token``; their name, email and note are erased after the retention
    period (``purged_at``), the rest stays for the network's figures."""

    __tablename__ = "service_request"
    __table_args__ = (Index("ix_service_request_created", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)  # unguessable
    kind: Mapped[str] = mapped_column(String(16))  # loan | copy | exchange
    # new | accepted | declined | fulfilled
    status: Mapped[str] = mapped_column(String(16), default="new")
    holder_member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), index=True)
    # the patron's home library: a member, or a name typed in (home_library)
    home_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), index=True)
    home_library: Mapped[str | None] = mapped_column(String(300))
    record_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("record.id", ondelete="SET NULL"))
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offer.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(1000))  # what was asked for, as it was then
    patron_name: Mapped[str | None] = mapped_column(String(200))
    patron_email: Mapped[str | None] = mapped_column(String(320))
    note: Mapped[str | None] = mapped_column(String(2000))  # the patron's
    reason: Mapped[str | None] = mapped_column(String(2000))  # the holder's latest answer
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # first
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RequestEvent(Base):
    """One step of a request (made, accepted, declined, fulfilled), for its timeline."""

    __tablename__ = "request_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("service_request.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(320))  # a manager's email; None: patron
    note: Mapped[str | None] = mapped_column(String(2000))


ROLES = ("coordinator", "manager")
MEMBER_KINDS = ("public", "university", "school", "special")
REQUEST_KINDS = ("loan", "copy", "exchange")
REQUEST_STATUSES = ("new", "accepted", "declined", "fulfilled")
ACCEPTS_REQUESTS = ("none", "loans", "copies", "both")
OFFER_CONDITIONS = ("new", "good", "fair", "poor")
OFFER_STATUSES = ("available", "given", "withdrawn")
