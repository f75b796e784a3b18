"""IAX2 encryption exactly as Asterisk does it (``encryption=aes128``).

Theory of operation
-------------------
*Negotiation.*  The caller's NEW carries an ENCRYPTION IE (AES128).  A
server that also wants encryption answers with an AUTHREQ that carries
ENCRYPTION and an MD5 challenge; from then on every frame in both
directions is encrypted, starting with the caller's AUTHREP (ACKs too).

*Key.*  The raw 16-byte ``md5(challenge + secret)`` - the same digest whose
hex form answers the challenge - keys AES-128 for both directions.

*Frames.*  Full frames keep their first 4 bytes (source and destination
call numbers) in clear; mini frames their first 2 (the call number).  The
rest is prefixed with 16-31 random padding bytes, so the whole is a
multiple of 16, and encrypted with AES in CBC mode from a zero IV (Asterisk
chains single-block encryptions by hand; that is CBC).  The low nibble of
the 16th plaintext byte records how much padding there is: ``16 + nibble``.

*Key rotation.*  Offering KEYROTATE as well lets the peer replace its
sending key now and then (Asterisk: at the first voice frame, then every
2-5 minutes): an RTKEY frame, still under the old key, carries the new
16-byte key in its CHALLENGE IE, and the receiver decrypts with it from
then on.  Each direction's key is then its own.

Nothing here knows about sessions; :class:`FrameCipher` turns one datagram
into the other form.  A datagram that does not decrypt to a sane length
raises :class:`DecryptError` and is dropped by the caller.
"""

from __future__ import annotations

import hashlib
import os

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from iaxphone.errors import RemoteProtocolError
from iaxphone.wire.constants import Encryption

BLOCK = 16
ZERO_IV = bytes(BLOCK)
FULL_CLEAR = 4  # scallno, dcallno
MINI_CLEAR = 2  # callno

AES128 = int(Encryption.AES128)
KEYROTATE = int(Encryption.KEYROTATE)


class DecryptError(RemoteProtocolError, ValueError):
    """A datagram that cannot be decrypted with this call's key."""


def derive_key(challenge: str, secret: str) -> bytes:
    """The AES-128 key of a call: the raw MD5 digest of challenge + secret."""
    return hashlib.md5((challenge + secret).encode()).digest()


def _clear_length(datagram: bytes) -> int:
    return FULL_CLEAR if datagram and datagram[0] & 0x80 else MINI_CLEAR


class FrameCipher:
    def __init__(self, key: bytes, random: bytes | None = None) -> None:
        if len(key) != BLOCK:
            raise ValueError("AES-128 needs a 16-byte key")
        self._cipher = Cipher(algorithms.AES(key), modes.CBC(ZERO_IV))
        self._receive = self._cipher
        self.rotations = 0
        self._random = random  # fixed padding for known-answer tests; None = os.urandom
        self.decrypted = 0
        self.failures = 0

    def rotate_receive_key(self, key: bytes) -> None:
        """RTKEY: the peer encrypts with ``key`` from now on (our sending key is unchanged)."""
        if len(key) != BLOCK:
            raise DecryptError(f"RTKEY carries {len(key)} bytes, not a 16-byte key")
        self._receive = Cipher(algorithms.AES(key), modes.CBC(ZERO_IV))
        self.rotations += 1

    def encrypt(self, datagram: bytes) -> bytes:
        clear = _clear_length(datagram)
        body = datagram[clear:]
        padding = BLOCK + ((BLOCK - len(body) % BLOCK) & 0x0F)
        pad = bytearray(self._random[:padding] if self._random is not None else os.urandom(padding))
        pad[15] = (pad[15] & 0xF0) | (padding & 0x0F)
        encryptor = self._cipher.encryptor()
        return datagram[:clear] + encryptor.update(bytes(pad) + body) + encryptor.finalize()

    def decrypt(self, datagram: bytes) -> bytes:
        clear = _clear_length(datagram)
        body = datagram[clear:]
        if len(body) < BLOCK or len(body) % BLOCK:
            self.failures += 1
            raise DecryptError(f"encrypted body of {len(body)} bytes is not whole AES blocks")
        decryptor = self._receive.decryptor()
        plain = decryptor.update(body) + decryptor.finalize()
        padding = BLOCK + (plain[15] & 0x0F)
        if len(plain) < padding:
            self.failures += 1
            raise DecryptError("padding longer than the frame")
        self.decrypted += 1
        return datagram[:clear] + plain[padding:]
