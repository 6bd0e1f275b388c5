"""Resumption tokens of the demo provider: the list request they freeze, encoded and checked."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aggregator.demo.messages import fail

# Three bytes that base64-encode to "+/+/": every token then needs URL-encoding.
TOKEN_MAGIC = b"\xfb\xff\xbf"


@dataclass
class ListQuery:
    """The frozen state of one list request; what a resumption token carries."""

    verb: str
    prefix: str
    set_spec: str | None
    start: int | None
    until: int
    last: tuple[int, str] | None = None
    cursor: int = 0
    resumed: bool = False


def encode_token(
    query: ListQuery, generation: int, lifetime: float | None, now: datetime
) -> tuple[str, int | None]:
    """Return a token for the page after ``query.last`` and its expiry (epoch seconds).

    Args:
        query: the list request, moved on to its next page.
        generation: the repository's token generation (bumped to invalidate tokens).
        lifetime: seconds the token stays valid, ``None`` for ever.
        now: the current time.
    """
    expiry = None
    if lifetime is not None:
        expiry = int(now.timestamp() + lifetime)
    state = {
        "v": query.verb,
        "p": query.prefix,
        "s": query.set_spec,
        "f": query.start,
        "u": query.until,
        "k": list(query.last or ()),
        "c": query.cursor,
        "g": generation,
        "x": expiry,
    }
    raw = TOKEN_MAGIC + json.dumps(state, separators=(",", ":")).encode()
    if len(raw) % 3 == 0:
        raw += b" "  # leave a remainder so the token always ends with "=" padding
    return base64.b64encode(raw).decode("ascii"), expiry


def decode_token(token: str, verb: str, generation: int, now: datetime) -> ListQuery:
    """Return the list request a token carries.

    Raises:
        OAIError: ``badResumptionToken`` for a foreign, stale, expired or misused token.
    """
    try:
        raw = base64.b64decode(token.encode("ascii"), validate=True)
        if not raw.startswith(TOKEN_MAGIC):
            raise ValueError("not one of our tokens")
        data = json.loads(raw[len(TOKEN_MAGIC) :])
        last = data["k"]
        query = ListQuery(
            verb=_typed(data["v"], str),
            prefix=_typed(data["p"], str),
            set_spec=_typed(data["s"], str, None),
            start=_typed(data["f"], int, None),
            until=_typed(data["u"], int),
            cursor=_typed(data["c"], int),
            last=(_typed(last[0], int), _typed(last[1], str)),
            resumed=True,
        )
        got, expiry = _typed(data["g"], int), _typed(data["x"], int, None)
    except (ValueError, KeyError, TypeError, IndexError):
        fail("badResumptionToken", "The resumptionToken is not valid.")
    if got != generation or query.verb != verb:
        fail("badResumptionToken", "The resumptionToken is no longer valid.")
    if expiry is not None and now.timestamp() > expiry:
        fail("badResumptionToken", "The resumptionToken has expired.")
    return query


def _typed(value: Any, kind: type[Any], *alternatives: None) -> Any:
    if value is None and alternatives:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"expected {kind.__name__}")
    return value
