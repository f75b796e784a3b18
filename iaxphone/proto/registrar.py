"""The serving side of authentication: a small registrar and call authenticator.

An endpoint configured with ``users`` (username -> secret) behaves like an
Asterisk ``type=friend`` peer list: it accepts REGREQ/REGREL with an MD5
challenge (REGAUTH -> REGREQ with MD5_RESULT -> REGACK/REGREJ) and
challenges incoming NEWs that name a user (AUTHREQ -> AUTHREP) before it
reports the call.  This lets two iaxphone endpoints talk without a PBX
(and lets the sans-IO tests exercise both sides of every exchange).

Theory of operation: one :class:`RegistrarTransaction` per REGREQ or REGREL,
a :class:`~iaxphone.proto.machine.Machine` over :data:`TABLE`::

    NEW --REGREQ/REGREL--> CHALLENGED                (REGAUTH with a fresh challenge)
    CHALLENGED --REGREQ, md5 right--> BOUND          (binding stored, REGACK)
    CHALLENGED --REGREL, md5 right--> RELEASED       (binding removed, REGACK)
    CHALLENGED --either, md5 wrong--> REFUSED        (REGREJ "Registration Refused", 29)

BOUND, RELEASED and REFUSED are final: the transaction closes and only
absorbs the peer's retransmissions until it is released.  Any other frame
is acknowledged and ignored.
"""

from __future__ import annotations

import enum
import hmac
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from iaxphone.wire.constants import AuthMethod, Cause, FrameType, IaxCommand
from iaxphone.wire.frames import FullFrame
from iaxphone.wire.ies import InformationElements, SockAddr

from .auth import md5_response, rsa_verify
from .events import Event
from .machine import Machine, Step
from .session import Address, Host, Session

if TYPE_CHECKING:
    from .reliability import RetryPolicy


class RegistrarState(enum.Enum):
    NEW = "new"
    CHALLENGED = "challenged"
    BOUND = "bound"
    RELEASED = "released"
    REFUSED = "refused"


class RegistrarTrigger(enum.Enum):
    REQUEST = "first REGREQ or REGREL"
    REGISTER_OK = "REGREQ with the right answer"
    RELEASE_OK = "REGREL with the right answer"
    WRONG_ANSWER = "REGREQ or REGREL with a wrong answer"


class RegistrarAction(enum.Enum):
    CHALLENGE = "send REGAUTH"
    BIND = "store the binding, send REGACK"
    UNBIND = "remove the binding, send REGACK"
    REFUSE = "send REGREJ"


_S, _T, _A = RegistrarState, RegistrarTrigger, RegistrarAction
TABLE: dict[tuple[RegistrarState, RegistrarTrigger], Step[RegistrarState, RegistrarAction]] = {
    (_S.NEW, _T.REQUEST): Step(_S.CHALLENGED, _A.CHALLENGE),
    (_S.CHALLENGED, _T.REGISTER_OK): Step(_S.BOUND, _A.BIND),
    (_S.CHALLENGED, _T.RELEASE_OK): Step(_S.RELEASED, _A.UNBIND),
    (_S.CHALLENGED, _T.WRONG_ANSWER): Step(_S.REFUSED, _A.REFUSE),
}
REMOTE = frozenset(RegistrarTrigger)

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
        self.machine: Machine[RegistrarState, RegistrarTrigger, RegistrarAction] = Machine(
            f"registrar {local_call}", TABLE, RegistrarState.NEW, remote=REMOTE
        )

    def challenge_peer(self, request: FullFrame, now: float) -> None:
        assert request.ies is not None
        self.machine.fire(RegistrarTrigger.REQUEST)
        self.username = request.ies.username
        ies = InformationElements(
            auth_methods=AuthMethod.MD5, challenge=self.challenge, username=self.username or ""
        )
        self.send_iax(IaxCommand.REGAUTH, now, ies)

    def _trigger(self, frame: FullFrame, ies: InformationElements) -> RegistrarTrigger:
        username = ies.username or ""
        secret = self.users.get(username)
        if (
            secret is None
            or username != self.username
            or not check_md5(self.challenge, secret, ies.md5_result)
        ):
            return RegistrarTrigger.WRONG_ANSWER
        if frame.subclass == IaxCommand.REGREL:
            return RegistrarTrigger.RELEASE_OK
        return RegistrarTrigger.REGISTER_OK

    def handle(self, frame: FullFrame, now: float) -> None:
        if frame.frame_type != FrameType.IAX or frame.subclass not in (
            IaxCommand.REGREQ,
            IaxCommand.REGREL,
        ):
            self.ack_unless_answered(frame)
            return
        ies = frame.ies or InformationElements()
        action = self.machine.fire(self._trigger(frame, ies))
        username = ies.username or ""
        if action is RegistrarAction.REFUSE:
            refuse = InformationElements(
                cause="Registration Refused", cause_code=Cause.FACILITY_REJECTED
            )
            self.send_iax(IaxCommand.REGREJ, now, refuse)
        elif action is RegistrarAction.UNBIND:
            self.bindings.pop(username, None)
            self.send_iax(IaxCommand.REGACK, now, InformationElements(username=username))
            self.host.emit(PeerUnregistered(username))
        elif action is RegistrarAction.BIND:
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
