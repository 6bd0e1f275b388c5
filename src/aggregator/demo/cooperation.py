"""The sample network's cooperation services: two members take interlibrary requests and
one offers some of its books for exchange, so the demo shows every service."""

from __future__ import annotations

from sqlalchemy import Engine, select

from aggregator.store import catalog, offers, requests
from aggregator.store.db import session_scope
from aggregator.store.models import Record, Source

TAKING = {  # member: (what it takes, the conditions its patrons read)
    "perpusda-sukamaju": ("both", "Peminjaman lewat perpustakaan asal Anda, paling lama dua "
                                  "minggu. Salinan bab atau artikel tanpa biaya."),
    "unira": ("copies", "Salinan digital skripsi dan artikel untuk keperluan penelitian."),
}
OFFERING = "perpusda-sukamaju"
OFFERED = 3  # its newest records, offered as spare copies


def open_services(engine: Engine) -> tuple[int, int]:
    """Turn the services on; how many members take requests and how many items are
    offered."""
    with session_scope(engine) as session:
        for slug, (accepts, conditions) in TAKING.items():
            requests.set_request_settings(session, slug, accepts, conditions)
        member_id = catalog.get_member(session, OFFERING).id
        newest = session.scalars(
            select(Record.id).join(Source, Source.id == Record.source_id)
            .where(Source.member_id == member_id, ~Record.deleted,
                   Record.fields.is_not(None))
            .order_by(Record.id.desc()).limit(OFFERED)).all()
        for record_id in newest:
            offers.pick(session, member_id, record_id, condition="good", quantity="1",
                        note="Eksemplar kedua, masih baik.")
    return len(TAKING), len(newest)
