"""RSA authentication (auth=rsa): signatures as Asterisk's ast_sign makes them, keygen, and the bundled PBX."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from iaxphone import keys
from iaxphone.cli import exitcodes
from iaxphone.proto.auth import (
    AuthenticationError,
    Credentials,
    answer_challenge,
    rsa_sign,
    rsa_verify,
)
from iaxphone.proto.call import CallOptions
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.proto.events import CallEnded, IncomingCall
from iaxphone.wire.constants import AuthMethod, Format, IaxCommand
from iaxphone.wire.ies import InformationElements
from tests.pbx import PROJECT, Pbx
from tests.proto_link import establish_call, make_link

PHONE_KEY = PROJECT / "tests" / "keys" / "phone6092.key"
PHONE_PUB = PROJECT / "asterisk-conf" / "keys" / "phone6092.pub"


def test_the_signature_is_pkcs1_v15_sha1_base64_and_verifies_with_the_public_key() -> None:
    pem = PHONE_KEY.read_bytes()
    signature = rsa_sign("123456789", pem)
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 1024
    key.public_key().verify(
        base64.b64decode(signature), b"123456789", padding.PKCS1v15(), hashes.SHA1()
    )
    assert len(base64.b64decode(signature)) == 128
    assert rsa_verify("123456789", signature, PHONE_PUB.read_bytes())
    assert not rsa_verify("123456780", signature, PHONE_PUB.read_bytes())
    assert not rsa_verify("123456789", "not base64!", PHONE_PUB.read_bytes())


def test_rsa_is_answered_when_offered_and_a_key_is_held() -> None:
    challenge = InformationElements(auth_methods=AuthMethod.RSA | AuthMethod.MD5, challenge="42")
    with_key = answer_challenge(
        challenge, Credentials("6092", "", rsa_private_key=PHONE_KEY.read_bytes())
    )
    assert with_key.rsa_result and with_key.md5_result is None
    without = answer_challenge(challenge, Credentials("6092", "secret"))
    assert without.md5_result and without.rsa_result is None
    rsa_only = InformationElements(auth_methods=AuthMethod.RSA, challenge="42")
    with pytest.raises(AuthenticationError, match="an RSA key is needed"):
        answer_challenge(rsa_only, Credentials("6092", "secret"))


def test_keygen_writes_a_private_key_only_we_can_read(tmp_path: Path) -> None:
    private, public = keys.generate("desk", tmp_path)
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    assert keys.load_private(str(private)) == private.read_bytes()
    assert public.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    with pytest.raises(keys.RsaKeyError, match="exists"):
        keys.generate("desk", tmp_path)
    small = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "big.key").write_bytes(
        small.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(keys.RsaKeyError, match="1024-bit"):
        keys.load_private(str(tmp_path / "big.key"))


def test_a_private_key_others_may_read_gets_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    private, _public = keys.generate("desk", tmp_path)
    with caplog.at_level("WARNING", logger="iaxphone"):
        keys.load_private(str(private))
        assert caplog.records == []
        private.chmod(0o644)
        keys.load_private(str(private))
    assert [r.getMessage() for r in caplog.records] == [
        f"private key {private}: others may read it (mode 0644): chmod 600 {private}"
    ]


def iaxphone(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iaxphone.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_rsa_calls_and_registration_against_the_pbx(pbx: Pbx, tmp_path: Path) -> None:
    server = ["--server", f"127.0.0.1:{pbx.iax_port}", "--user", "6092"]
    ok = iaxphone("call", "600", *server, "--key", str(PHONE_KEY), "--duration", "1")
    assert ok.returncode == exitcodes.OK, ok.stderr
    registered = iaxphone("register", *server, "--key", str(PHONE_KEY))
    assert registered.returncode == exitcodes.OK and "registered 6092" in registered.stderr
    keys.generate("stranger", tmp_path)
    wrong = iaxphone("call", "600", *server, "--key", str(tmp_path / "stranger.key"))
    assert wrong.returncode == exitcodes.AUTH_REJECTED
    assert "No authority found (wrong username or password)" in wrong.stderr
    unreadable = iaxphone("call", "600", *server, "--key", str(tmp_path / "missing.key"))
    assert unreadable.returncode == exitcodes.USAGE and "cannot read" in unreadable.stderr


def test_a_phone_can_demand_that_callers_sign_with_the_pbx_key(tmp_path: Path) -> None:
    pbx_private, pbx_public = keys.generate("pbx", tmp_path)
    phone = EndpointConfig(formats=[Format.ULAW], caller_rsa_key=pbx_public.read_bytes())
    link = make_link(b=phone)
    pbx, desk = link["a"], link["b"]
    good = CallOptions("6001", rsa_private_key=pbx_private.read_bytes())
    established = establish_call(link, "a", "b", good)  # AUTHREQ(RSA) answered and verified
    assert established
    assert any(
        d.full is not None
        and d.full.subclass == IaxCommand.AUTHREQ
        and d.full.ies is not None
        and d.full.ies.auth_methods == AuthMethod.RSA
        for d in link.wire
    )
    keys.generate("impostor", tmp_path)
    bad = CallOptions("6001", rsa_private_key=(tmp_path / "impostor.key").read_bytes())
    before = len(desk.of_type(IncomingCall))
    call = pbx.endpoint.dial(desk.addr, bad, link.now)
    link.run_until(lambda: pbx.has(CallEnded, call_id=call), 5.0)
    (ended,) = [e for e in pbx.of_type(CallEnded) if e.call_id == call]
    assert ended.cause.startswith("No authority found") and ended.cause_code == 50
    assert len(desk.of_type(IncomingCall)) == before  # never rang
