"""Stateless resumption tokens: a list request's state, signed so that no byte can be
changed, and the secret that signs them."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aggregator.config import Settings
from aggregator.errors import ConfigError
from aggregator.oai.protocol import fail
from aggregator.secretfile import keep_secret

__all__ = ["SECRET_FILE", "TokenCodec", "load_secret"]

SECRET_FILE = "oai-token-secret"
_MAC_BYTES = 16  # HMAC-SHA256 cut to 128 bits: forging one still takes 2**128 tries


class TokenCodec:
    """Turns a list's state (a JSON object) into a token and back.

    A token is the state's JSON followed by its HMAC-SHA256, in base64. Anything altered,
    cut short or signed with another secret is refused as ``badResumptionToken``, as is
    a token whose expiry (``"x"``, seconds since the epoch) has passed.
    """

    def __init__(self, secret: bytes, *, urlsafe: bool = True, magic: bytes = b"",
                 padded: bool = False) -> None:
        """Prepare a codec.

        Args:
            secret: the signing key.
            urlsafe: base64 with ``-_`` and no padding (tokens need no URL-encoding);
                false gives the standard alphabet (``+/=``).
            magic: bytes every token starts with before encoding.
            padded: standard alphabet only: make every token end with ``=`` padding
                (the demo's servers send tokens that need URL-encoding on purpose).
        """
        if not secret:
            raise ConfigError("the resumption token secret is empty")
        self._secret = secret
        self._urlsafe = urlsafe
        self._magic = magic
        self._padded = padded and not urlsafe

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._secret, body, hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, state: Mapping[str, Any]) -> str:
        """The token for ``state`` (JSON-serialisable values only)."""
        body = self._magic + json.dumps(state, separators=(",", ":"),
                                        ensure_ascii=True).encode()
        if self._padded and (len(body) + _MAC_BYTES) % 3 == 0:
            body += b" "  # leave a remainder, so the base64 ends with "="
        raw = body + self._mac(body)
        if self._urlsafe:
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
        return base64.b64encode(raw).decode("ascii")

    def decode(self, token: str, now: float) -> dict[str, Any]:
        """The state a token carries.

        Args:
            token: the token as received.
            now: the current time, in seconds since the epoch.

        Raises:
            OAIRequestError: ``badResumptionToken`` for a token that is not ours,
                altered or expired.
        """
        try:
            text = token.encode("ascii")
            if self._urlsafe:
                if b"=" in text:
                    raise ValueError("padding")
                raw = base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))
                if base64.urlsafe_b64encode(raw).rstrip(b"=") != text:
                    raise ValueError("not canonical")
            else:
                raw = base64.b64decode(text, validate=True)
                if base64.b64encode(raw) != text:  # spare bits set: another spelling
                    raise ValueError("not canonical")
        except (UnicodeEncodeError, ValueError, binascii.Error):
            fail("badResumptionToken", "The resumptionToken is not one of ours.")
        body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        if (len(raw) <= _MAC_BYTES + len(self._magic) or not body.startswith(self._magic)
                or not hmac.compare_digest(mac, self._mac(body))):
            fail("badResumptionToken", "The resumptionToken is not one of ours, or was "
                                       "altered.")
        try:
            state = json.loads(body[len(self._magic):])
        except ValueError:  # signed by us, so this cannot happen; refuse all the same
            fail("badResumptionToken", "The resumptionToken cannot be read.")
        if not isinstance(state, dict):
            fail("badResumptionToken", "The resumptionToken cannot be read.")
        expiry = state.get("x")
        if isinstance(expiry, int | float) and now > expiry:
            fail("badResumptionToken", "The resumptionToken has expired: start the list "
                                       "again.")
        return state


def load_secret(settings: Settings) -> bytes:
    """The secret that signs the feed's tokens: the ``oai_token_secret`` setting, else
    the one kept in ``oai-token-secret`` under ``data_dir`` (generated there the first
    time).

    Raises:
        ConfigError: the file cannot be read or written.
    """
    if settings.oai_token_secret:
        return settings.oai_token_secret.encode()
    return keep_secret(Path(settings.data_dir) / SECRET_FILE, "oai_token_secret")
