"""Plain values that cross from the harvester to the store: records and notices."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class HarvestedRecord:
    """One OAI-PMH record as harvested, before any normalisation.

    Attributes:
        identifier: the OAI identifier with surrounding whitespace removed (the store's
            key together with the source; never rewritten otherwise).
        datestamp: the header's datestamp exactly as sent (stripped), or ``None``.
        deleted: the header carries ``status="deleted"`` in any case or spacing.
        set_specs: the header's setSpecs in document order, duplicates removed.
        metadata_xml: the serialised child of ``<metadata>`` (UTF-8, with the namespace
            declarations it needs), or ``None`` for deleted and header-only records.
        provenance_xml: the outer ``originDescription`` of the first OAI ``provenance``
            container in the record's ``<about>`` blocks (UTF-8, with only the namespace
            declarations it uses; older harvests stay nested inside it), when an upstream
            aggregator sent a valid one; ``None`` otherwise and for deleted records.
    """

    identifier: str
    datestamp: str | None
    deleted: bool
    set_specs: tuple[str, ...] = ()
    metadata_xml: bytes | None = None
    provenance_xml: bytes | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """Something surprising met during a harvest, kept on the run for operators.

    Attributes:
        code: a short stable key, e.g. ``repaired-xml``, ``header-only``, ``loop-guard``.
        message: one human sentence.
        sample: the offending bytes or text, shortened, when there are some.
    """

    code: str
    message: str
    sample: str | None = None

    def as_dict(self) -> dict[str, str]:
        """Return the notice as a JSON-ready dict (without an empty sample)."""
        out = {"code": self.code, "message": self.message}
        if self.sample:
            out["sample"] = self.sample
        return out


@dataclass(slots=True)
class PageStats:
    """Counts for one page or one run, as the store reports them."""

    new: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def add(self, other: PageStats) -> None:
        """Add another set of counts to this one."""
        self.new += other.new
        self.updated += other.updated
        self.deleted += other.deleted
        self.unchanged += other.unchanged
        self.skipped += other.skipped
        for key, value in other.extra.items():
            self.extra[key] = self.extra.get(key, 0) + value
