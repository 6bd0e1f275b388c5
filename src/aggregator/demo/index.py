"""The demo provider's record index: the latest record per identifier, and sorted views."""

from __future__ import annotations

from dataclasses import dataclass

from aggregator.demo.samples import RecordList, SampleRecord, edit_count

ALL = ("*", None)  # the view key of every visible record, in any format and set


@dataclass
class View:
    """Records of one (format, set) selection, sorted by (timestamp, identifier)."""

    keys: list[tuple[int, str]]
    stamps: list[int]
    records: list[SampleRecord]


class RecordIndex:
    """Lookups over a ``RecordList``, rebuilt only after the records changed.

    Not thread-safe on its own: the repository calls it under its lock.
    """

    def __init__(self) -> None:
        """Create an empty index; :meth:`refresh` fills it."""
        self._state: tuple[int, int, int, int, str] | None = None
        self.views: dict[tuple[str, str | None], View] = {}
        self.by_id: dict[str, SampleRecord] = {}
        self.has_marc = False
        self._sets_found: dict[str, str] | None = None

    def refresh(self, records: RecordList, manual: int, deleted_record: str) -> None:
        """Rebuild unless nothing changed since the last call.

        Args:
            records: the repository's records (later duplicates of an identifier win).
            manual: bumped by the repository to force a rebuild.
            deleted_record: the repository's policy; ``no`` hides deleted records.
        """
        state = (id(records), records.version, edit_count(), manual, deleted_record)
        if state == self._state:
            return
        latest: dict[str, SampleRecord] = {}
        for record in records:
            latest[record.identifier] = record
        self.by_id = latest
        visible = [r for r in latest.values() if not (r.deleted and deleted_record == "no")]
        visible.sort(key=lambda r: (r.timestamp, r.identifier))
        keys = [(r.timestamp, r.identifier) for r in visible]
        self.views = {ALL: View(keys, [k[0] for k in keys], visible)}
        self.has_marc = any(r.marcxml is not None for r in visible)
        self._sets_found = None
        self._state = state

    @property
    def all(self) -> View:
        """Every visible record."""
        return self.views[ALL]

    def view(self, prefix: str, set_spec: str | None) -> View:
        """Return (and cache) the records available in a format and within a set."""
        key = (prefix if prefix == "marcxml" else "*", set_spec)
        view = self.views.get(key)
        if view is None:
            base = self.views[ALL]
            below = set_spec + ":" if set_spec else ""
            picked = [
                i
                for i, r in enumerate(base.records)
                if (key[0] == "*" or r.marcxml is not None)
                and (set_spec is None or any(s == set_spec or s.startswith(below) for s in r.sets))
            ]
            view = View(
                [base.keys[i] for i in picked],
                [base.stamps[i] for i in picked],
                [base.records[i] for i in picked],
            )
            self.views[key] = view
        return view

    def visible(self, identifier: str, deleted_record: str) -> SampleRecord | None:
        """Return the record with this identifier unless it is absent or hidden."""
        record = self.by_id.get(identifier)
        if record is None or (record.deleted and deleted_record == "no"):
            return None
        return record

    def found_sets(self) -> dict[str, str]:
        """Return every setSpec on the records, with its ancestors, named by itself."""
        if self._sets_found is None:
            found: dict[str, str] = {}
            for record in self.views[ALL].records:
                for spec in record.sets:
                    pieces = spec.split(":")
                    for i in range(1, len(pieces) + 1):
                        found.setdefault(":".join(pieces[:i]), ":".join(pieces[:i]))
            self._sets_found = found
        return self._sets_found
