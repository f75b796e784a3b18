"""Answering an IAX2 authentication challenge (AUTHREQ / REGAUTH).

The server names the methods it accepts (AUTHMETHODS) and sends a
CHALLENGE.  With an RSA private key we answer RSA when offered: the
challenge signed RSASSA-PKCS1-v1_5 with SHA-1, base64 (Asterisk's
``ast_sign``, which wants 1024-bit keys).  Otherwise MD5
(``md5(challenge + secret)`` in lower-case hex; the secret never crosses
the wire); plaintext (the secret in a PASSWORD IE) only when it is the
server's only offer *and* the account allows it.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from iaxphone.errors import IaxphoneError
from iaxphone.wire.constants import AuthMethod
from iaxphone.wire.ies import InformationElements


class AuthenticationError(IaxphoneError):
    """We hold no credentials the server's challenge can be answered with."""


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    secret: str
    allow_plaintext: bool = False
    rsa_private_key: bytes | None = None  # PEM


def rsa_sign(challenge: str, private_key_pem: bytes) -> str:
    """Asterisk's ``ast_sign``: PKCS#1 v1.5 / SHA-1 signature of the challenge, base64."""
    try:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise AuthenticationError(f"the RSA private key cannot be read ({exc})") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise AuthenticationError("the private key is not an RSA key")
    signature = key.sign(challenge.encode(), padding.PKCS1v15(), hashes.SHA1())
    return base64.b64encode(signature).decode()


def rsa_verify(challenge: str, signature_b64: str, public_key_pem: bytes) -> bool:
    """Check a peer's RSA_RESULT against its public key."""
    try:
        key = serialization.load_pem_public_key(public_key_pem)
        signature = base64.b64decode(signature_b64, validate=True)
    except (ValueError, TypeError):
        return False
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(signature, challenge.encode(), padding.PKCS1v15(), hashes.SHA1())
    except InvalidSignature:
        return False
    return True


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
    if AuthMethod.RSA in methods and credentials.rsa_private_key is not None:
        if challenge is None:
            raise AuthenticationError("the server asked for RSA but sent no challenge")
        return InformationElements(rsa_result=rsa_sign(challenge, credentials.rsa_private_key))
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
    if AuthMethod.RSA in methods:
        raise AuthenticationError(
            f"the server offers {offered}: an RSA key is needed (iaxphone keygen)"
        )
    raise AuthenticationError(f"the server offers {offered}, which iaxphone cannot answer")
