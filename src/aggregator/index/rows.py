"""What the index reads of the store: the live records of clusters, grouped by cluster."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Connection, Select, Table, select

from aggregator.cluster.assign import RECORD, xml_if_no_fields
from aggregator.store.models import Member, Source

_CHUNK = 500


def live_rows() -> Select[Any]:
    """The live records (id, cluster_id, metadata_prefix, metadata_xml, fields, slug),
    ordered by cluster, as :func:`~aggregator.index.documents.docs_from_rows` takes them;
    the XML only where no fields are stored."""
    member, source = cast(Table, Member.__table__), cast(Table, Source.__table__)
    return (select(RECORD.c.id, RECORD.c.cluster_id, RECORD.c.metadata_prefix,
                   xml_if_no_fields(), RECORD.c.fields, member.c.slug)
            .join(source, source.c.id == RECORD.c.source_id)
            .join(member, member.c.id == source.c.member_id)
            .where(RECORD.c.deleted.is_(False))
            .order_by(RECORD.c.cluster_id, RECORD.c.id))


def live_in(conn: Connection, cluster_ids: Iterable[int]) -> list[Any]:
    """:func:`live_rows` of the given clusters."""
    ids = sorted(set(cluster_ids))
    out: list[Any] = []
    for start in range(0, len(ids), _CHUNK):
        out.extend(conn.execute(
            live_rows().where(RECORD.c.cluster_id.in_(ids[start:start + _CHUNK]))).all())
    return out
