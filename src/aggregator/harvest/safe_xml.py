"""The one place where untrusted bytes become an lxml tree: a strict, XXE-safe parser."""

from __future__ import annotations

import copy
import io
import re
import threading
from collections.abc import Callable, Iterator
from typing import Protocol

# lxml ships no type information and lxml-stubs lags behind lxml 6; this module is the
# typed boundary: everything leaving it is described by XMLElement below.
from lxml import etree  # type: ignore[import-untyped]

from aggregator.errors import ForbiddenXML, MalformedXML

__all__ = [
    "XMLElement",
    "is_element",
    "new_parser",
    "parse_bytes",
    "parse_stream",
    "serialise",
    "serialise_minimal",
]


class XMLElement(Protocol):
    """The part of an lxml element that the OAI parsing code relies on."""

    @property
    def tag(self) -> object:
        """A ``{namespace}local`` str for elements; a factory for comments and PIs."""

    @property
    def text(self) -> str | None:
        """Text before the first child, or None."""

    def get(self, key: str) -> str | None:
        """Return an attribute value by (Clark) name, or None."""

    def __iter__(self) -> Iterator[XMLElement]:
        """Iterate over the direct children (elements, comments and PIs)."""

    def getparent(self) -> XMLElement | None:
        """Return the parent element, or None for the root."""

    def itertext(self) -> Iterator[str]:
        """Iterate over the text of the element and its descendants (not comments or PIs)."""

# Markers libxml2 uses when it ran out of input rather than meeting a bad byte.
_EOF_MESSAGES = (
    "premature end of data",
    "endtag: '</' not found",
    "document is empty",
    "couldn't find end of start tag",
)
_NOT_EOF_MESSAGES = ("extra content at the end",)

# One prolog item: whitespace, a processing instruction, a comment or a DOCTYPE start.
_PROLOG_ITEM = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->|<!(?i:doctype)", re.DOTALL)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
# Distance from the end of the input within which an error counts as "at EOF".
_EOF_SLACK = 4

_local = threading.local()

# Every parse of untrusted bytes, whole or streamed: no entity expansion, no network, no
# DTD, and libxml2's size and depth limits kept.
_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "recover": False,
    "remove_blank_text": False,
}


def new_parser() -> object:
    """Return a new strict parser (an opaque object to pass to :func:`parse_bytes`).

    Callers about to parse many small documents right after a very large one should
    use their own parser: a parser that has just read tens of megabytes stays several
    times slower on small inputs.
    """
    return etree.XMLParser(**_OPTIONS)


def _parser() -> object:
    """Return this thread's strict parser (lxml parsers must not be shared by threads)."""
    parser: object = getattr(_local, "parser", None)
    if parser is None:
        parser = new_parser()
        _local.parser = parser
    return parser


def _refuse_doctype_in_prolog(data: bytes) -> None:
    """Raise ForbiddenXML when a DOCTYPE appears before the root element."""
    pos = 0
    for bom in _BOMS:
        if data.startswith(bom):
            pos = len(bom)
            break
    size = len(data)
    while pos < size:
        match = _PROLOG_ITEM.match(data, pos)
        if match is None:
            return
        if match.group().startswith(b"<!") and not match.group().startswith(b"<!--"):
            raise ForbiddenXML(
                "document declares a DOCTYPE, which OAI-PMH responses never need",
                sample=_text(data[match.start() : match.start() + 120]),
            )
        pos = match.end()


def _text(chunk: bytes) -> str:
    """Decode a short byte sample for a report, never failing."""
    return chunk.decode("utf-8", errors="replace")


def _line_start(data: bytes, line: int) -> int | None:
    """Return the byte offset where 1-based ``line`` starts, or None past the end."""
    if line <= 1:
        return 0
    match = re.match(rb"(?:[^\n]*\n){%d}" % (line - 1), data)
    return match.end() if match else None


def _error_offset(data: bytes, line: int, column: int) -> int:
    """Approximate byte offset of a libxml2 (line, column) position."""
    start = _line_start(data, line)
    if start is None:
        return len(data)
    return min(len(data), start + max(column - 1, 0))


def _is_at_eof(message: str, data: bytes, offset: int) -> bool:
    """Decide whether a syntax error was caused by running out of input."""
    lowered = message.lower()
    if any(marker in lowered for marker in _NOT_EOF_MESSAGES):
        return False
    if any(marker in lowered for marker in _EOF_MESSAGES):
        return True
    return offset >= len(data.rstrip()) - _EOF_SLACK


def _malformed(data: bytes, exc: etree.XMLSyntaxError) -> MalformedXML:
    """Translate lxml's syntax error, deciding whether the input ran out early."""
    message = str(exc.msg or exc)
    line, column = exc.position if exc.position else (0, 0)
    offset = _error_offset(data, line, column)
    sample = _text(data[max(0, offset - 80) : offset + 120])
    return MalformedXML(message, sample=sample, at_eof=_is_at_eof(message, data, offset))


def _refuse_doctype(root: XMLElement) -> None:
    """Raise ForbiddenXML when the parsed document has a DOCTYPE (whatever its encoding)."""
    docinfo = root.getroottree().docinfo  # type: ignore[attr-defined]
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise ForbiddenXML("document declares a DOCTYPE, which OAI-PMH responses never need")


def parse_bytes(data: bytes, *, parser: object | None = None) -> XMLElement:
    """Parse untrusted bytes strictly and return the root element.

    The parser never resolves entities, never touches the network, never loads a DTD
    and keeps libxml2's size and depth limits (so oversized input fails loudly instead
    of being truncated). A DOCTYPE is refused outright.

    Args:
        data: the complete document as bytes (the XML declaration decides the encoding).
        parser: a parser from :func:`new_parser` (not shared between threads); by
            default a per-thread one.

    Returns:
        The root element.

    Raises:
        ForbiddenXML: the document carries a DOCTYPE.
        MalformedXML: the document is not well-formed XML; ``at_eof`` tells whether
            the input simply ended too early (a truncated response).
    """
    _refuse_doctype_in_prolog(data)
    try:
        root = etree.fromstring(data, parser if parser is not None else _parser())
    except etree.XMLSyntaxError as exc:
        raise _malformed(data, exc) from exc
    except ValueError as exc:  # e.g. a str with an encoding declaration
        raise MalformedXML(str(exc)) from exc
    _refuse_doctype(root)
    element: XMLElement = root
    return element


class _NoTree:
    """A parser target that builds nothing: a strict parse run only for its verdict."""

    def close(self) -> None:
        """End of input (the only event asked for, so libxml2 calls no Python per node)."""


def _stream_error(data: bytes, exc: etree.XMLSyntaxError) -> MalformedXML:
    """The error :func:`parse_bytes` would give for a document the streaming parse refused.

    The streaming (push) parser words some errors differently, and reports an undefined
    entity only at the end; a strict parse that builds no tree finds the error exactly
    as parse_bytes does, so broken pages are reported (and judged truncated or not) the
    same either way.
    """
    try:
        etree.fromstring(data, etree.XMLParser(target=_NoTree(), **_OPTIONS))
    except etree.XMLSyntaxError as strict:
        exc = strict
    except ValueError:  # pragma: no cover - bytes in, as for the streaming parse
        pass
    return _malformed(data, exc)


def parse_stream(data: bytes, tags: tuple[str, ...],
                 take: Callable[[XMLElement], bool]) -> XMLElement:
    """Parse untrusted bytes like :func:`parse_bytes`, handing over elements as they end.

    Each element whose Clark tag is in ``tags`` is passed to ``take`` as soon as its end
    tag is read (its subtree complete, its ancestors and later siblings not yet). When
    ``take`` returns True the element is done with: it is cleared and then removed from
    the tree, so that a document of many such elements never holds more than one of
    them at a time. Everything else stays in the tree returned.

    Args:
        data: the complete document as bytes.
        tags: Clark names (``{namespace}local``, or ``local`` for no namespace).
        take: called with each such element; returns whether it may be dropped.

    Returns:
        The root element, without the elements dropped.

    Raises:
        ForbiddenXML: the document carries a DOCTYPE.
        MalformedXML: as :func:`parse_bytes` (elements may have been taken before the
            error was found; the caller discards what it made of them).
    """
    _refuse_doctype_in_prolog(data)
    events = etree.iterparse(io.BytesIO(data), events=("end",), tag=tags, **_OPTIONS)
    done: XMLElement | None = None  # taken, cleared, and removed at the next event
    try:
        for _event, element in events:
            if done is not None:
                _remove(done)
                done = None
            if take(element):
                element.clear()
                done = element
        root: XMLElement = events.root
    except etree.XMLSyntaxError as exc:
        raise _stream_error(data, exc) from exc
    except ValueError as exc:  # pragma: no cover - bytes in, as for parse_bytes
        raise MalformedXML(str(exc)) from exc
    if done is not None:
        _remove(done)
    _refuse_doctype(root)
    return root


def _remove(element: XMLElement) -> None:
    """Remove an element that ended before the one being read (never the latter: the
    parser still appends its tail, which would then land elsewhere)."""
    parent = element.getparent()
    if parent is not None:
        parent.remove(element)  # type: ignore[attr-defined]


def is_element(node: XMLElement) -> bool:
    """Return True for elements (False for comments, PIs and entity nodes)."""
    return isinstance(node.tag, str)


def serialise(element: XMLElement) -> bytes:
    """Serialise one element as UTF-8 without its tail.

    lxml writes every namespace declaration in scope at the element, including those
    declared on ancestors (``<record>``, the root), so the result stands on its own.
    """
    out: bytes = etree.tostring(element, encoding="utf-8", with_tail=False)
    return out


def serialise_minimal(element: XMLElement) -> bytes:
    """Serialise one element as UTF-8 without its tail, declaring only the namespaces
    it and its descendants use (a copy is serialised; the tree is left alone).

    Slower than :func:`serialise`, so it is kept for the rare parts (such as an
    upstream provenance) that are nested into our own documents later.
    """
    out: bytes = etree.tostring(copy.deepcopy(element), encoding="utf-8", with_tail=False)
    return out
