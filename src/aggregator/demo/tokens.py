"""Resumption tokens of the demo servers: the list request they freeze, signed with the
feed's token codec, in a form that always needs URL-encoding (``+``, ``/`` and ``=``)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aggregator.oai.protocol import fail
from aggregator.oai.tokens import TokenCodec

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


class DemoTokens:
    """Issues and reads one repository's tokens (a secret of its own, so a token from
    another server, or an altered one, is a ``badResumptionToken``)."""

    def __init__(self) -> None:
        """Create a codec with a fresh secret."""
        self._codec = TokenCodec(secrets.token_bytes(16), urlsafe=False, magic=TOKEN_MAGIC,
                                 padded=True)

    def encode(self, query: ListQuery, generation: int, lifetime: float | None,
               now: datetime) -> tuple[str, int | None]:
        """Return a token for the page after ``query.last`` and its expiry (epoch seconds).

        Args:
            query: the list request, moved on to its next page.
            generation: the repository's token generation (bumped to invalidate tokens).
            lifetime: seconds the token stays valid, ``None`` for ever.
            now: the current time.
        """
        expiry = None if lifetime is None else int(now.timestamp() + lifetime)
        state = {"v": query.verb, "p": query.prefix, "s": query.set_spec, "f": query.start,
                 "u": query.until, "k": list(query.last or ()), "c": query.cursor,
                 "g": generation, "x": expiry}
        return self._codec.encode(state), expiry

    def decode(self, token: str, verb: str, generation: int, now: datetime) -> ListQuery:
        """Return the list request a token carries.

        Raises:
            OAIRequestError: ``badResumptionToken`` for a foreign, altered, stale, expired
                or misused token.
        """
        data = self._codec.decode(token, now.timestamp())
        try:
            last = data["k"]
            query = ListQuery(
                verb=_typed(data["v"], str), prefix=_typed(data["p"], str),
                set_spec=_typed(data["s"], str, None), start=_typed(data["f"], int, None),
                until=_typed(data["u"], int), cursor=_typed(data["c"], int),
                last=(_typed(last[0], int), _typed(last[1], str)), resumed=True)
            got = _typed(data["g"], int)
        except (KeyError, TypeError, IndexError):
            fail("badResumptionToken", "The resumptionToken is not valid.")
        if got != generation or query.verb != verb:
            fail("badResumptionToken", "The resumptionToken is no longer valid.")
        return query


def _typed(value: Any, kind: type[Any], *alternatives: None) -> Any:
    if value is None and alternatives:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"expected {kind.__name__}")
    return value
