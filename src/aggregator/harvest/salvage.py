"""Last-resort recovery of a broken list page: parse each OAI record on its own."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aggregator.errors import MalformedXML
from aggregator.harvest.safe_xml import XMLElement, new_parser, parse_bytes
from aggregator.records import Notice

__all__ = ["Salvaged", "salvage_list"]

_NAME = rb"[A-Za-z_][\w.-]*"
# A start tag's attributes, allowing '>' inside quoted values. XML allows no '<' in a
# tag, quoted or not, so a match stops at the next '<' (possessively, no backtracking):
# a page of "<record " repeated costs linear time, not a scan to the end per "<record".
_ATTRS = rb"""(?:[^<>"']|"[^"<]*"|'[^'<]*')*+"""
_DECL_RE = re.compile(rb"<\?xml\s.*?\?>", re.DOTALL)
_ROOT_START_RE = re.compile(rb"<(?:(" + _NAME + rb"):)?OAI-PMH(?=[\s/>])" + _ATTRS + rb">")
_RESPONSE_DATE_RE = re.compile(
    rb"<(?:" + _NAME + rb":)?responseDate\s*>\s*([^<]*?)\s*</(?:" + _NAME + rb":)?responseDate"
)
# The OAI <record> is recognisable by the <header> that follows it; a MARCXML
# <record xmlns="http://www.loc.gov/MARC21/slim"> inside metadata is followed by
# <leader> or a field, so it is never taken for a record boundary.
_RECORD_START_RE = re.compile(
    rb"<(?:" + _NAME + rb":)?record(?=[\s>])" + _ATTRS
    + rb">\s*<(?:" + _NAME + rb":)?header(?=[\s/>])"
)
_HEADER_START_RE = re.compile(rb"<(?:" + _NAME + rb":)?header(?=[\s/>])")
_TOKEN_RE = re.compile(
    rb"<(?:" + _NAME + rb":)?resumptionToken(?=[\s/>])" + _ATTRS
    + rb"(?:(?<=/)>|>[^<]*</(?:" + _NAME + rb":)?resumptionToken\s*>)",
)
_IDENTIFIER_RE = re.compile(
    rb"<(?:" + _NAME + rb":)?identifier\s*>\s*([^<]{1,1000}?)\s*</", re.DOTALL
)
_SAMPLE = 200
SALVAGE_CPU_SECONDS = 20.0  # CPU one page's salvage may take before it is given up


@dataclass(slots=True)
class Salvaged:
    """What could be rescued from a page that does not parse as a whole.

    Attributes:
        response_date: ``<responseDate>`` text found by pattern, or ``None``.
        documents: one small parsed document per record that parsed, each shaped
            ``<OAI-PMH ...><verb>record</verb></OAI-PMH>`` with the page's namespaces
            (empty when they were handed to ``take`` instead).
        token_document: ``<OAI-PMH ...><resumptionToken/></OAI-PMH>`` when the page
            has a token element, else ``None``.
        notices: a ``bad-record`` notice per record that did not parse, and a summary.
    """

    response_date: str | None = None
    documents: list[XMLElement] = field(default_factory=list)
    token_document: XMLElement | None = None
    notices: list[Notice] = field(default_factory=list)


def _end_tag(start_tag: bytes, name: bytes) -> bytes:
    """Build the end tag matching a start tag's prefix."""
    match = re.match(rb"<(?:(" + _NAME + rb"):)?", start_tag)
    prefix = match.group(1) if match and match.group(1) else None
    return b"</" + (prefix + b":" if prefix else b"") + name + b">"


def _sample(chunk: bytes) -> str:
    """Return the start of a chunk as text, for a notice."""
    return chunk.lstrip()[:_SAMPLE].decode("utf-8", errors="replace")


def salvage_list(body: bytes, verb: str, error: MalformedXML,
                 take: Callable[[XMLElement], None] | None = None) -> Salvaged:
    """Split a broken list page into records and parse each one separately.

    Each record chunk is wrapped in the page's own root start tag (keeping its
    namespace declarations and XML declaration) and list element, then parsed
    strictly. The resumption token is parsed on its own the same way.

    Args:
        body: the page bytes (already trimmed and byte-repaired).
        verb: ``ListRecords``, ``ListIdentifiers`` or ``GetRecord``.
        error: the error of the whole-page parse, re-raised when nothing can be split.
        take: when given, receives each parsed document at once instead of
            ``documents`` keeping them all (a large page then never holds more than
            one); the time it takes does not count towards the CPU budget.

    Returns:
        The rescued parts of the page.

    Raises:
        MalformedXML: the page has no recognisable root or records, or its token
            element cannot be parsed (so the list could not be continued reliably).
    """
    root_match = _ROOT_START_RE.search(body)
    verb_bytes = verb.encode("ascii")
    list_re = re.compile(rb"<(?:" + _NAME + rb":)?" + verb_bytes + rb"(?=[\s>])" + _ATTRS + rb">")
    list_match = list_re.search(body, root_match.end()) if root_match else None
    if root_match is None or list_match is None:
        raise error
    decl = _DECL_RE.match(body)
    root_start = root_match.group()
    head = (decl.group() if decl else b"") + root_start
    root_end = _end_tag(root_start, b"OAI-PMH")
    list_start = list_match.group()
    list_end = _end_tag(list_start, verb_bytes)

    start_re = _HEADER_START_RE if verb == "ListIdentifiers" else _RECORD_START_RE
    starts = [m.start() for m in start_re.finditer(body, list_match.end())]
    if not starts:
        raise error
    token_match = _TOKEN_RE.search(body, starts[-1])
    close_re = re.compile(rb"</(?:" + _NAME + rb":)?" + verb_bytes + rb"\s*>")
    closes = [m.start() for m in close_re.finditer(body, starts[-1])]
    tail = closes[-1] if closes else len(body)
    if token_match is not None:
        tail = token_match.start()
    bounds = [*starts[1:], tail]

    out = Salvaged()
    date_match = _RESPONSE_DATE_RE.search(body, 0, starts[0])
    if date_match:
        out.response_date = date_match.group(1).decode("utf-8", errors="replace") or None
    bad = 0
    parser = new_parser()
    spent = time.process_time()
    for number, (begin, end) in enumerate(zip(starts, bounds, strict=True)):
        if number % 100 == 99 and time.process_time() - spent > SALVAGE_CPU_SECONDS:
            raise MalformedXML(
                f"page was not well-formed ({error}), and taking its {len(starts)} records "
                f"one by one needed more than {SALVAGE_CPU_SECONDS:g}s of CPU; given up",
                sample=error.sample)
        chunk = body[begin:end]
        try:
            document = head + list_start + chunk + list_end + root_end
            parsed = parse_bytes(document, parser=parser)
        except MalformedXML as exc:
            bad += 1
            found = _IDENTIFIER_RE.search(chunk)
            ident = found.group(1).decode("utf-8", errors="replace") if found else "?"
            out.notices.append(Notice(
                "bad-record", f"skipped record {ident}: not well-formed ({exc})", _sample(chunk)
            ))
            continue
        if take is None:
            out.documents.append(parsed)
        else:
            taken = time.process_time()
            take(parsed)
            spent += time.process_time() - taken
    if token_match is not None:
        try:
            out.token_document = parse_bytes(head + token_match.group() + root_end, parser=parser)
        except MalformedXML as exc:
            raise MalformedXML(
                f"page salvaged but its resumptionToken does not parse ({exc})",
                sample=_sample(token_match.group()),
            ) from exc
    out.notices.insert(0, Notice(
        "salvaged-page",
        f"page was not well-formed ({error}); kept {len(starts) - bad} of "
        f"{len(starts)} records by parsing each on its own",
        error.sample[:_SAMPLE] or None,
    ))
    return out
