"""Byte-level repair of OAI-PMH responses that a strict XML parse refused."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aggregator.records import Notice

__all__ = ["CleanResult", "clean_bytes", "trim"]

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_SAMPLE_BYTES = 16
_HEAD_WINDOW = 65536

# C0 controls XML 1.0 forbids (everything below 0x20 except TAB, LF, CR).
_C0_FORBIDDEN = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_C0_RE = re.compile(b"[" + re.escape(_C0_FORBIDDEN) + b"]")
# UTF-8 encodings of U+FFFE, U+FFFF and of the surrogates U+D800..U+DFFF.
_UTF8_FORBIDDEN_RE = re.compile(rb"\xef\xbf[\xbe\xbf]|\xed[\xa0-\xbf][\x80-\xbf]")
_CHARREF_RE = re.compile(rb"&#(?:([xX])([0-9A-Fa-f]{1,16})|([0-9]{1,16}));")
# An XML declaration holds no '<' or '>': each match attempt stops at the next one, so a
# page of "<?xml " repeated costs linear time (it scanned to the end for each).
_NESTED_DECL_RE = re.compile(
    rb"<\?(?i:xml)(?:\s[^?<>]*+(?:\?(?!>)[^?<>]*+)*+)?\?>")
_DECL_RE = re.compile(rb"<\?xml\s[^?]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")
_ROOT_END_RE = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?OAI-PMH\s*>")
_UTF8_NAMES = {"utf-8", "utf8"}


@dataclass(slots=True)
class CleanResult:
    """The outcome of :func:`clean_bytes`.

    Attributes:
        data: the repaired bytes (the input itself when nothing was changed).
        changed: whether any repair was made.
        notices: one notice per kind of repair, with counts and a short sample.
    """

    data: bytes
    changed: bool = False
    notices: list[Notice] = field(default_factory=list)


def _hex(chunk: bytes) -> str:
    """Return a short hex rendering of removed bytes for a notice sample."""
    return chunk[:_SAMPLE_BYTES].hex(" ")


def _preview(chunk: bytes, limit: int = 80) -> str:
    """Return a printable preview of junk bytes for a notice sample."""
    return chunk[:limit].decode("utf-8", errors="replace")


def _document_start(data: bytes, start: int) -> int:
    """Return where the XML document starts (-1 when there is no ``<`` at all)."""
    first = data.find(b"<", start)
    if first < 0 or data.startswith(b"<?xml", first):
        return first
    # Junk that itself contains markup (a PHP warning with <b> tags) before the
    # XML declaration: start at the declaration when there is one close by.
    # The root must not come first: a declaration nested in metadata is no start.
    decl = data.find(b"<?xml", first, first + _HEAD_WINDOW)
    if decl < 0 or not data[decl + 5 : decl + 6].isspace() or b"OAI-PMH" in data[first:decl]:
        return first
    return decl


def _document_end(data: bytes, first: int) -> int:
    """Return the offset just after the closing root tag when junk follows it."""
    search_end = len(data)
    for _ in range(4):  # the last "OAI-PMH" may sit inside the junk itself
        close = data.rfind(b"OAI-PMH", first, search_end)
        if close < 0:
            break
        match = _ROOT_END_RE.search(data, max(first, close - 64), close + 16)
        if match is not None:
            return match.end() if data[match.end():].strip() else len(data)
        search_end = close
    return len(data)


def trim(data: bytes) -> tuple[bytes, list[Notice]]:
    """Remove what surrounds the document: a UTF-8 BOM, leading junk, trailing junk.

    This is cheap and safe, so it runs before the first parse. Leading whitespace and
    a BOM are removed silently; anything else before the first ``<`` or after the
    closing ``</OAI-PMH>`` tag (PHP warnings, HTML footers) is cut with a notice.

    Args:
        data: the raw response body.

    Returns:
        The trimmed bytes and the notices describing non-trivial cuts.
    """
    notices: list[Notice] = []
    if data.startswith(_UTF16_BOMS):
        return data, notices  # not ASCII-compatible: leave it to the parser
    start = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    first = _document_start(data, start)
    if first < 0:
        return data, notices
    head = data[start:first]
    if head.strip():
        notices.append(Notice(
            "leading-junk",
            f"removed {len(head)} bytes before the start of the XML document",
            sample=_preview(head.strip()),
        ))
    end = _document_end(data, first)
    if end < len(data):
        notices.append(Notice(
            "trailing-junk",
            f"removed {len(data) - end} bytes after the closing </OAI-PMH> tag",
            sample=_preview(data[end:].strip()),
        ))
    if first == 0 and end == len(data):
        return data, notices
    return data[first:end], notices


def declared_encoding(data: bytes) -> str:
    """Return the lower-cased encoding named in the XML declaration (default ``utf-8``)."""
    if data.startswith(_UTF16_BOMS):
        return "utf-16"
    match = _DECL_RE.match(data)
    return match.group(1).decode("ascii").lower() if match else "utf-8"


def _delete_c0(data: bytes, notices: list[Notice]) -> bytes:
    """Delete forbidden C0 control bytes."""
    first = _C0_RE.search(data)
    if first is None:
        return data
    cleaned = data.translate(None, _C0_FORBIDDEN)
    removed = bytes(b for b in data[first.start(): first.start() + 256] if b in _C0_FORBIDDEN)
    notices.append(Notice(
        "control-chars",
        f"deleted {len(data) - len(cleaned)} control bytes (first at offset {first.start()})",
        sample=_hex(removed),
    ))
    return cleaned


def _delete_utf8_forbidden(data: bytes, notices: list[Notice]) -> bytes:
    """Delete UTF-8 encoded U+FFFE, U+FFFF and lone surrogates."""
    if b"\xef\xbf" not in data and b"\xed" not in data:  # cheap pre-check
        return data
    first = _UTF8_FORBIDDEN_RE.search(data)
    if first is None:
        return data
    total = 0
    # A deletion can join the bytes around it into a new forbidden sequence; repeat.
    while True:
        data, count = _UTF8_FORBIDDEN_RE.subn(b"", data)
        total += count
        if count == 0:
            break
    notices.append(Notice(
        "forbidden-chars",
        f"deleted {total} encoded U+FFFE/U+FFFF/surrogate sequences "
        f"(first at offset {first.start()})",
        sample=_hex(first.group()),
    ))
    return data


def _fix_utf8(data: bytes, notices: list[Notice]) -> bytes:
    """Make a body declared as UTF-8 valid UTF-8 (transcode Latin-1 or replace bad bytes)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        position = exc.start
    else:
        return data
    bad = data[position: position + 4]
    text = data.decode("utf-8", errors="replace")
    # A valid multibyte sequence decodes to a non-ASCII character other than U+FFFD
    # (or is an encoded U+FFFD itself); str.isascii() is O(1) on the result.
    has_multibyte = b"\xef\xbf\xbd" in data or not text.replace("\ufffd", "").isascii()
    if not has_multibyte:
        try:
            text, codec = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            text, codec = data.decode("latin-1"), "latin-1"
        notices.append(Notice(
            "transcoded",
            f"body declared UTF-8 has no UTF-8 sequences; read it as {codec} "
            f"(first non-ASCII byte at offset {position})",
            sample=_hex(bad),
        ))
        return text.encode("utf-8")
    notices.append(Notice(
        "invalid-utf8",
        f"replaced invalid UTF-8 bytes with U+FFFD (first at offset {position})",
        sample=_hex(bad),
    ))
    return text.encode("utf-8")


def _charref_allowed(value: int) -> bool:
    """Return True when a numeric character reference names an XML 1.0 character."""
    if value < 0x20:
        return value in (0x09, 0x0A, 0x0D)
    if 0xD800 <= value <= 0xDFFF:
        return False
    return value not in (0xFFFE, 0xFFFF) and value <= 0x10FFFF


def _rewrite_charrefs(data: bytes, notices: list[Notice]) -> bytes:
    """Point numeric character references to forbidden code points at U+FFFD."""
    if b"&#" not in data:
        return data
    bad: list[bytes] = []

    def fix(match: re.Match[bytes]) -> bytes:
        digits = match.group(2)
        value = int(digits, 16) if digits is not None else int(match.group(3))
        if _charref_allowed(value):
            if match.group(1) == b"X":  # XML only knows a lower-case x
                return b"&#x" + match.group(2) + b";"
            return match.group()
        bad.append(match.group())
        return b"&#xFFFD;"

    data = _CHARREF_RE.sub(fix, data)
    if bad:
        notices.append(Notice(
            "forbidden-charrefs",
            f"rewrote {len(bad)} character references to forbidden code points as U+FFFD",
            sample=b" ".join(bad[:4]).decode("ascii"),
        ))
    return data


def _remove_nested_declarations(data: bytes, notices: list[Notice]) -> bytes:
    """Remove ``<?xml ...?>`` declarations that appear after the start of the body."""
    head = _NESTED_DECL_RE.match(data)
    offset = head.end() if head else 0
    if _NESTED_DECL_RE.search(data, offset) is None:
        return data
    body, count = _NESTED_DECL_RE.subn(b"", data[offset:])
    notices.append(Notice(
        "nested-xml-declaration",
        f"removed {count} XML declarations found inside the document",
    ))
    return data[:offset] + body


def clean_bytes(data: bytes) -> CleanResult:
    """Repair a body that failed a strict parse, byte by byte.

    Steps, in order: delete C0 controls other than TAB/LF/CR; remove nested XML
    declarations; when the body is (declared or by default) UTF-8, delete encoded
    U+FFFE/U+FFFF/surrogates and then make the bytes valid UTF-8 (reading them as
    cp1252/latin-1 when there is no multibyte sequence at all, else replacing bad
    bytes with U+FFFD); finally rewrite character references to forbidden code points
    as ``&#xFFFD;``. Bodies in another declared encoding keep their bytes.

    Args:
        data: the (already trimmed) body.

    Returns:
        The repaired bytes, whether anything changed, and one notice per repair kind.
    """
    notices: list[Notice] = []
    encoding = declared_encoding(data)
    if encoding.startswith(("utf-16", "utf-32", "ucs")):
        return CleanResult(data)  # byte patterns below assume an ASCII-compatible body
    out = _delete_c0(data, notices)
    out = _remove_nested_declarations(out, notices)
    if encoding in _UTF8_NAMES:
        out = _delete_utf8_forbidden(out, notices)
        out = _fix_utf8(out, notices)
    out = _rewrite_charrefs(out, notices)
    return CleanResult(out, changed=out != data, notices=notices)
