"""The serving side of authentication: a small registrar and call authenticator.

An endpoint configured with ``users`` (username -> secret) behaves like an
Asterisk ``type=friend`` peer list: it accepts REGREQ/REGREL with an MD5
challenge (REGAUTH -> REGREQ with MD5_RESULT -> REGACK/REGREJ) and
challenges incoming NEWs that name a user (AUTHREQ -> AUTHREP) before it
reports the call.  This lets two iaxphone endpoints talk without a PBX
(and lets the sans-IO tests exercise both sides of every exchange).

Theory of operation (one :class:`RegistrarTransaction` per REGREQ)::

    CHALLENGED --REGREQ(md5 ok)--> ACKED    (REGACK sent; binding stored)
               --REGREQ(bad)-----> REFUSED  (REGREJ "Registration Refused", 29)
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from iaxphone.wire.constants import AuthMethod, FrameType, IaxCommand
from iaxphone.wire.frames import FullFrame
from iaxphone.wire.ies import InformationElements, SockAddr

from .auth import md5_response, rsa_verify
from .events import Event
from .session import Address, Host, Session

if TYPE_CHECKING:
    from .reliability import RetryPolicy

CAUSE_FACILITY_REJECTED = 29
MIN_EXPIRY = 60
MAX_EXPIRY = 3600


@dataclass(frozen=True, slots=True)
class PeerRegistered(Event):
    """A user registered with us (we are the registrar)."""

    username: str
    address: Address
    expires: int


@dataclass(frozen=True, slots=True)
class PeerUnregistered(Event):
    username: str


def new_challenge() -> str:
    return str(int.from_bytes(os.urandom(4), "big") % 1_000_000_000)


def check_md5(challenge: str, secret: str, answer: str | None) -> bool:
    if not answer:
        return False
    return hmac.compare_digest(md5_response(challenge, secret), answer.lower())


class RegistrarTransaction(Session):
    """Serves one REGREQ or REGREL from a peer."""

    kind = "registrar"

    def __init__(
        self,
        host: Host,
        local_call: int,
        peer: Address,
        now: float,
        retry: RetryPolicy,
        users: dict[str, str],
        bindings: dict[str, tuple[Address, float]],
    ) -> None:
        super().__init__(host, local_call, peer, now, retry)
        self.users = users
        self.bindings = bindings
        self.challenge = new_challenge()
        self.username: str | None = None

    def challenge_peer(self, request: FullFrame, now: float) -> None:
        assert request.ies is not None
        self.username = request.ies.username
        ies = InformationElements(
            auth_methods=AuthMethod.MD5, challenge=self.challenge, username=self.username or ""
        )
        self.send_iax(IaxCommand.REGAUTH, now, ies)

    def handle(self, frame: FullFrame, now: float) -> None:
        if frame.frame_type != FrameType.IAX or frame.subclass not in (
            IaxCommand.REGREQ,
            IaxCommand.REGREL,
        ):
            self.ack_unless_answered(frame)
            return
        ies = frame.ies or InformationElements()
        username = ies.username or ""
        secret = self.users.get(username)
        if (
            secret is None
            or username != self.username
            or not check_md5(self.challenge, secret, ies.md5_result)
        ):
            refuse = InformationElements(
                cause="Registration Refused", cause_code=CAUSE_FACILITY_REJECTED
            )
            self.send_iax(IaxCommand.REGREJ, now, refuse)
            self.close(now)
            return
        if frame.subclass == IaxCommand.REGREL:
            self.bindings.pop(username, None)
            self.send_iax(IaxCommand.REGACK, now, InformationElements(username=username))
            self.host.emit(PeerUnregistered(username))
        else:
            expires = min(max(ies.refresh or MIN_EXPIRY, MIN_EXPIRY), MAX_EXPIRY)
            self.bindings[username] = (self.peer, now + expires)
            reply = InformationElements(
                username=username,
                refresh=expires,
                apparent_addr=SockAddr(self.peer[0], self.peer[1]),
            )
            self.send_iax(IaxCommand.REGACK, now, reply)
            self.host.emit(PeerRegistered(username, self.peer, expires))
        self.close(now)


class CallAuthenticator:
    """Challenges incoming NEWs (AUTHREQ/AUTHREP) before the call is reported.

    Callers named in ``users`` answer an MD5 challenge with their secret.
    With ``rsa_public_key`` (the PBX's public key, matching its ``outkey``)
    any other caller must sign an RSA challenge: a phone can thus check that
    a call really comes from its PBX.
    """

    def __init__(self, users: dict[str, str], rsa_public_key: bytes | None = None) -> None:
        self.users = users
        self.rsa_public_key = rsa_public_key

    def can_challenge(self, username: str | None) -> bool:
        return (username is not None and username in self.users) or self.rsa_public_key is not None

    def challenge(self, session: Session, username: str | None, now: float) -> str:
        challenge = new_challenge()
        md5 = username is not None and username in self.users
        ies = InformationElements(
            auth_methods=AuthMethod.MD5 if md5 else AuthMethod.RSA,
            challenge=challenge,
            username=username or "",
        )
        session.send_iax(IaxCommand.AUTHREQ, now, ies)
        return challenge

    def verify(self, username: str | None, challenge: str, reply: InformationElements) -> bool:
        if username is not None and username in self.users:
            return check_md5(challenge, self.users[username], reply.md5_result)
        if self.rsa_public_key is not None and reply.rsa_result:
            return rsa_verify(challenge, reply.rsa_result, self.rsa_public_key)
        return False
