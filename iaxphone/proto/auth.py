"""Answering an IAX2 authentication challenge (AUTHREQ / REGAUTH).

The server names the methods it accepts (AUTHMETHODS) and sends a
CHALLENGE.  We prefer MD5 (``md5(challenge + secret)`` in lower-case hex,
the secret never crosses the wire); plaintext (the secret in a PASSWORD
IE) only when it is the server's only offer *and* the account allows it.
RSA signatures join with the encryption work.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from iaxphone.wire.constants import AuthMethod
from iaxphone.wire.ies import InformationElements


class AuthenticationError(Exception):
    """We hold no credentials the server's challenge can be answered with."""


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    secret: str
    allow_plaintext: bool = False


def md5_response(challenge: str, secret: str) -> str:
    return hashlib.md5((challenge + secret).encode()).hexdigest()


def answer_challenge(
    challenge_ies: InformationElements, credentials: Credentials | None
) -> InformationElements:
    """The IEs that answer a challenge: MD5_RESULT or PASSWORD.

    Raises AuthenticationError with a sentence a user can act on.
    """
    methods = AuthMethod(challenge_ies.auth_methods or 0)
    if credentials is None:
        raise AuthenticationError("the server asks for a password and none is configured")
    challenge = challenge_ies.challenge
    if AuthMethod.MD5 in methods:
        if challenge is None:
            raise AuthenticationError("the server asked for MD5 but sent no challenge")
        return InformationElements(md5_result=md5_response(challenge, credentials.secret))
    if AuthMethod.PLAINTEXT in methods:
        if not credentials.allow_plaintext:
            raise AuthenticationError(
                "the server only accepts a plaintext password, which this account does not allow"
            )
        return InformationElements(password=credentials.secret)
    offered = ", ".join(m.name or str(m) for m in AuthMethod if m in methods) or "nothing"
    raise AuthenticationError(f"the server offers {offered}, which iaxphone cannot answer")
