"""Call tokens for the answering side (Asterisk's requirecalltoken).

A NEW that carries an *empty* CALLTOKEN IE asks for a token.  We answer
statelessly with a CALLTOKEN frame holding ``"<seconds>?<hex hmac>"`` over
the peer's address and port; the peer sends the NEW again with that token
and only then do we allocate a call.  So a spoofed source address can make
us send one small datagram, never hold state.  Tokens expire after
``max_age`` seconds.  ``now`` is the endpoint's clock (any monotonic
seconds), so tokens only need to make sense to the endpoint that issued them.
"""

from __future__ import annotations

import hashlib
import hmac
import os


class CallTokens:
    def __init__(self, secret: bytes | None = None, max_age: float = 10.0) -> None:
        self._secret = secret if secret is not None else os.urandom(32)
        self.max_age = max_age

    def _mac(self, stamp: int, addr: tuple[str, int]) -> str:
        message = f"{stamp}:{addr[0]}:{addr[1]}".encode()
        return hmac.new(self._secret, message, hashlib.sha1).hexdigest()

    def issue(self, addr: tuple[str, int], now: float) -> bytes:
        stamp = int(now)
        return f"{stamp}?{self._mac(stamp, addr)}".encode()

    def valid(self, token: bytes, addr: tuple[str, int], now: float) -> bool:
        try:
            stamp_text, _, mac = token.decode("ascii").partition("?")
            stamp = int(stamp_text)
        except (UnicodeDecodeError, ValueError):
            return False
        if not 0 <= now - stamp <= self.max_age + 1:
            return False
        return hmac.compare_digest(mac, self._mac(stamp, addr))
