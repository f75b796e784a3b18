"""RSA key pairs for IAX2 ``auth=rsa`` (Asterisk's ``inkeys``/``outkey``).

Asterisk's res_crypto wants 1024-bit RSA keys in PEM: ``NAME.key`` (the
private key, kept by the phone) and ``NAME.pub`` (the public key, copied
to the PBX's key directory, ``/var/lib/asterisk/keys`` on Debian or
``keys/`` in this project's asterisk-conf).  The private key is written
with mode 0600 in the user's config directory unless told otherwise.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from iaxphone import config
from iaxphone.errors import IaxphoneError

log = logging.getLogger("iaxphone")

KEY_BITS = 1024  # AST_CRYPTO_RSA_KEY_BITS: Asterisk refuses other sizes


class RsaKeyError(IaxphoneError):
    """A key that cannot be made or found (one line for the user)."""


def keys_dir() -> Path:
    return config.config_path().parent / "keys"


def generate(name: str, directory: Path | None = None) -> tuple[Path, Path]:
    """Write NAME.key (0600) and NAME.pub; refuses to overwrite."""
    directory = directory or keys_dir()
    private, public = directory / f"{name}.key", directory / f"{name}.pub"
    for path in (private, public):
        if path.exists():
            raise RsaKeyError(f"{path} exists; remove it first or choose another name")
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def load_private(name_or_path: str) -> bytes:
    """A private key by path, or by name in the keys directory (NAME.key)."""
    path = Path(name_or_path)
    if not path.exists():
        path = keys_dir() / f"{name_or_path}.key"
    try:
        pem = path.read_bytes()
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise RsaKeyError(
            f"RSA key {name_or_path!r}: cannot read {path} ({exc.strerror or exc})"
        ) from None
    if mode & 0o077:
        log.warning(
            "private key %s: others may read it (mode %04o): chmod 600 %s", path, mode, path
        )
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise RsaKeyError(f"{path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size != KEY_BITS:
        raise RsaKeyError(f"{path}: Asterisk needs a {KEY_BITS}-bit RSA key")
    return pem


def load_public(name_or_path: str) -> bytes:
    """A public key by path, or by name in the keys directory (NAME.pub)."""
    path = Path(name_or_path)
    if not path.exists():
        path = keys_dir() / f"{name_or_path}.pub"
    try:
        pem = path.read_bytes()
    except OSError as exc:
        why = exc.strerror or exc
        raise RsaKeyError(f"RSA key {name_or_path!r}: cannot read {path} ({why})") from None
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise RsaKeyError(f"{path}: not a PEM public key ({exc})") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise RsaKeyError(f"{path}: not an RSA key")
    return pem
