"""Registering an account with an IAX2 registrar (Asterisk ``host=dynamic`` peers).

Theory of operation
-------------------
An :class:`Account` registration is long-lived; each attempt is a short
:class:`RegistrationTransaction` on a fresh call number::

    REGREQ(username, refresh, CALLTOKEN="")      ->
                                 <- CALLTOKEN(token)      (requirecalltoken)
    REGREQ(username, refresh, CALLTOKEN=token)   ->       (seqnos restart)
                                 <- REGAUTH(methods, challenge)
    REGREQ(username, refresh, MD5_RESULT, token) ->
                                 <- REGACK(refresh, msgcount, apparent addr) | REGREJ(cause)
    ACK                                          ->

The registration state machine (:class:`Registration`, table :data:`TABLE`)::

    IDLE --register--> REGISTERING --REGACK--> REGISTERED --refresh due--> REGISTERING
                       REGISTERED --keepalive unanswered--> RETRY_WAIT
                       REGISTERING --no answer--> RETRY_WAIT --retry due--> REGISTERING
                       REGISTERING --REGREJ / no usable credentials--> REJECTED
    REGISTERING, REGISTERED, RETRY_WAIT, REJECTED --unregister--> UNREGISTERING
    UNREGISTERING --REGREL answered or given up on--> IDLE

``register`` in REGISTERED, RETRY_WAIT or REJECTED starts a new attempt at
once; ``unregister`` when IDLE or already UNREGISTERING does nothing.  Each
step's action (a :class:`RegAction`) is carried out by the endpoint, which
owns the call numbers: opening a REGREQ or REGREL transaction.  A trigger
that is not in the table raises :class:`RegistrationStateError`.

Each transaction has a small table of its own (:data:`TRANSACTION_TABLE`)::

    SENT --CALLTOKEN--> SENT (REGREQ again, with the token, once)
    SENT --REGAUTH--> CHALLENGED (REGREQ with the answer)
    CHALLENGED --REGAUTH again--> DONE (our answer was wrong)
    CHALLENGED --no usable credentials--> DONE
    SENT, CHALLENGED --REGACK / REGREJ / no answer--> DONE

Refreshes go out at 75 % of the granted expiry, but at least every
:data:`REFRESH_AT_MOST_S` seconds.  A PBX restarted with a fresh database
(the bundled one: back in about 2 s) has forgotten the phone while still
answering its POKEs, and nothing on the wire says so: Asterisk's PONG, call
tokens and INVALs are the same for a phone it knows and one it does not.
Only a REGREQ tells, so one goes out at least that often (with a 60 s
expiry, every 20 s rather than every 45 s).  Between refreshes the
registrar is POKEd every :data:`KEEPALIVE_S` seconds (:class:`RegistrarCheck`,
one short session each); a POKE that gets no PONG through every retry
(5.75 s with the default policy) means the registrar is gone (crashed,
restarting, the network down): the registration is lost (a
``RegistrationFailed``) and REGREQ is tried again at once.  While the
registrar stays silent the attempts back off (1, 2, 4, 8, 8 ... s), so a
registrar that comes back is registered with again within about 8 s plus a
round trip.  (A restart quicker than the POKE's retry window is not seen;
a PBX that keeps its registrations across restarts, as Asterisk's astdb
does, has then lost nothing, and one that does not is told at the next
refresh, :data:`REFRESH_AT_MOST_S` at the latest.)
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from iaxphone.errors import LocalProtocolError
from iaxphone.wire.constants import FrameType, IaxCommand, cause_of
from iaxphone.wire.frames import FullFrame
from iaxphone.wire.ies import InformationElements

from .auth import AuthenticationError, Credentials, answer_challenge
from .events import MessageWaiting, Registered, RegistrationFailed, Unregistered
from .machine import Machine, Step
from .session import Address, Host, Session

if TYPE_CHECKING:
    from .reliability import RetryPolicy

log = logging.getLogger("iaxphone.proto")


@dataclass(frozen=True, slots=True)
class Account:
    """Who registers where. ``name`` identifies the account in events."""

    username: str
    secret: str
    server: Address
    refresh: int = 60
    allow_plaintext: bool = False
    rsa_private_key: bytes | None = None  # PEM, for auth=rsa peers

    @property
    def name(self) -> str:
        return f"{self.username}@{self.server[0]}:{self.server[1]}"

    @property
    def credentials(self) -> Credentials:
        return Credentials(self.username, self.secret, self.allow_plaintext, self.rsa_private_key)


class RegState(enum.Enum):
    IDLE = "idle"
    REGISTERING = "registering"
    REGISTERED = "registered"
    RETRY_WAIT = "retry wait"
    REJECTED = "rejected"
    UNREGISTERING = "unregistering"


class RegTrigger(enum.Enum):
    REGISTER = "register"
    REFRESH_DUE = "refresh"
    GRANTED = "REGACK"
    REFUSED = "REGREJ"
    NO_ANSWER = "time out"
    LOST = "keepalive unanswered"
    UNREGISTER = "unregister"
    RELEASED = "finish unregistering"


class RegAction(enum.Enum):
    SEND_REGREQ = "send REGREQ"
    SEND_REGREL = "send REGREL"


_S, _T, _A = RegState, RegTrigger, RegAction
_LIVE = (_S.REGISTERING, _S.REGISTERED, _S.RETRY_WAIT, _S.REJECTED)
TABLE: dict[tuple[RegState, RegTrigger], Step[RegState, RegAction]] = {
    (_S.IDLE, _T.REGISTER): Step(_S.REGISTERING, _A.SEND_REGREQ),
    (_S.REGISTERED, _T.REGISTER): Step(_S.REGISTERING, _A.SEND_REGREQ),
    (_S.RETRY_WAIT, _T.REGISTER): Step(_S.REGISTERING, _A.SEND_REGREQ),
    (_S.REJECTED, _T.REGISTER): Step(_S.REGISTERING, _A.SEND_REGREQ),
    (_S.REGISTERED, _T.REFRESH_DUE): Step(_S.REGISTERING, _A.SEND_REGREQ),
    (_S.RETRY_WAIT, _T.REFRESH_DUE): Step(_S.REGISTERING, _A.SEND_REGREQ),
    (_S.REGISTERING, _T.GRANTED): Step(_S.REGISTERED),
    (_S.REGISTERING, _T.REFUSED): Step(_S.REJECTED),
    (_S.REGISTERING, _T.NO_ANSWER): Step(_S.RETRY_WAIT),
    (_S.REGISTERED, _T.LOST): Step(_S.RETRY_WAIT),
    **{(state, _T.UNREGISTER): Step(_S.UNREGISTERING, _A.SEND_REGREL) for state in _LIVE},
    (_S.IDLE, _T.UNREGISTER): Step(_S.IDLE),
    (_S.UNREGISTERING, _T.UNREGISTER): Step(_S.UNREGISTERING),
    (_S.UNREGISTERING, _T.RELEASED): Step(_S.IDLE),
}
REMOTE = frozenset({RegTrigger.GRANTED, RegTrigger.REFUSED})

MIN_BACKOFF = 1.0
MAX_BACKOFF = 8.0
KEEPALIVE_S = 10.0  # POKE the registrar this often while registered
REFRESH_AT_MOST_S = 20.0  # REGREQ at least this often: a restarted PBX may have forgotten us


class RegistrationStateError(LocalProtocolError):
    """A registration command its state does not allow (a local mistake)."""


class Registration:
    """The long-lived registration of one account (see the module docstring)."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.machine: Machine[RegState, RegTrigger, RegAction] = Machine(
            f"registration {account.name}",
            TABLE,
            RegState.IDLE,
            remote=REMOTE,
            local_error=RegistrationStateError,
        )
        self.next_action: float | None = None
        self.backoff = MIN_BACKOFF
        self.expires = 0
        self.transaction: RegistrationTransaction | None = None
        self.messages: tuple[int, int] | None = None
        self.next_check: float | None = None  # the next keepalive POKE (while REGISTERED)
        self.check: RegistrarCheck | None = None  # the POKE in flight

    @property
    def state(self) -> RegState:
        return self.machine.state

    def fire(self, trigger: RegTrigger) -> RegAction | None:
        return self.machine.fire(trigger)

    def granted(self, expires: int, now: float) -> None:
        self.fire(RegTrigger.GRANTED)
        self.expires = expires
        self.backoff = MIN_BACKOFF
        self.next_action = now + max(1.0, min(expires * 0.75, REFRESH_AT_MOST_S))
        self.next_check = now + KEEPALIVE_S

    def lost(self, now: float) -> None:
        """The keepalive went unanswered: try REGREQ again at once, then back off."""
        self.fire(RegTrigger.LOST)
        self.next_check = None
        self.backoff = MIN_BACKOFF
        self.next_action = now

    def failed(self, now: float, permanent: bool) -> None:
        self.next_check = None
        if permanent:
            self.fire(RegTrigger.REFUSED)
            self.next_action = None
            return
        self.fire(RegTrigger.NO_ANSWER)
        self.next_action = now + self.backoff
        self.backoff = min(self.backoff * 2, MAX_BACKOFF)

    def released(self) -> None:
        self.fire(RegTrigger.RELEASED)
        self.next_action = None
        self.next_check = None


class RegistrarCheck(Session):
    """One keepalive POKE to a registered account's registrar; its PONG says it is there."""

    kind = "registrar check"

    def __init__(
        self,
        host: Host,
        local_call: int,
        registration: Registration,
        now: float,
        retry: RetryPolicy,
    ) -> None:
        super().__init__(host, local_call, registration.account.server, now, retry)
        self.registration = registration

    def start(self, now: float) -> None:
        self.send_iax(IaxCommand.POKE, now)

    def handle(self, frame: FullFrame, now: float) -> None:
        if frame.frame_type == FrameType.IAX and frame.subclass == IaxCommand.PONG:
            self.send_ack(frame)
            self._done(now)
            if self.registration.state is RegState.REGISTERED:
                self.registration.next_check = now + KEEPALIVE_S
            return
        self.ack_unless_answered(frame)

    def on_no_answer(self, frame: FullFrame, now: float) -> None:
        self._done(now)
        registration = self.registration
        if registration.state is not RegState.REGISTERED:
            return  # a refresh or an unregister took over meanwhile
        registration.lost(now)
        host, port = registration.account.server
        self.host.emit(
            RegistrationFailed(
                registration.account.name,
                f"no answer from {host}:{port} (keepalive POKE unanswered for "
                f"{self.reliability.policy.give_up_after():g} s)",
            )
        )

    def _done(self, now: float) -> None:
        self.close(now, linger=0.0)
        if self.registration.check is self:
            self.registration.check = None


class TxState(enum.Enum):
    SENT = "sent"
    CHALLENGED = "challenged"
    DONE = "done"


class TxTrigger(enum.Enum):
    CALL_TOKEN = "CALLTOKEN"
    REGAUTH = "REGAUTH"
    CANNOT_ANSWER = "answer the challenge of"
    REGACK = "REGACK"
    REGREJ = "REGREJ"
    NO_ANSWER = "time out"


class TxAction(enum.Enum):
    RESEND_WITH_TOKEN = "send the request again with the token"
    ANSWER_CHALLENGE = "send the request with the answer"
    WRONG_ANSWER = "fail: wrong password"
    CANNOT_ANSWER = "fail: no credentials the challenge takes"
    FINISH = "report Registered or Unregistered"
    REFUSED = "report the refusal"
    GIVE_UP = "report no answer, retry later"


_X, _XT, _XA = TxState, TxTrigger, TxAction
_OPEN = (_X.SENT, _X.CHALLENGED)
TRANSACTION_TABLE: dict[tuple[TxState, TxTrigger], Step[TxState, TxAction]] = {
    (_X.SENT, _XT.CALL_TOKEN): Step(_X.SENT, _XA.RESEND_WITH_TOKEN),
    (_X.SENT, _XT.REGAUTH): Step(_X.CHALLENGED, _XA.ANSWER_CHALLENGE),
    (_X.CHALLENGED, _XT.REGAUTH): Step(_X.DONE, _XA.WRONG_ANSWER),
    (_X.CHALLENGED, _XT.CANNOT_ANSWER): Step(_X.DONE, _XA.CANNOT_ANSWER),
    **{(state, _XT.REGACK): Step(_X.DONE, _XA.FINISH) for state in _OPEN},
    **{(state, _XT.REGREJ): Step(_X.DONE, _XA.REFUSED) for state in _OPEN},
    **{(state, _XT.NO_ANSWER): Step(_X.DONE, _XA.GIVE_UP) for state in _OPEN},
    (_X.DONE, _XT.NO_ANSWER): Step(_X.DONE),
}
TRANSACTION_REMOTE = frozenset(set(TxTrigger) - {TxTrigger.CANNOT_ANSWER})


class RegistrationTransaction(Session):
    """One REGREQ (or REGREL) exchange on its own call number."""

    kind = "registration"

    def __init__(
        self,
        host: Host,
        local_call: int,
        registration: Registration,
        now: float,
        retry: RetryPolicy,
        release: bool = False,
    ) -> None:
        super().__init__(host, local_call, registration.account.server, now, retry)
        self.registration = registration
        self.command = IaxCommand.REGREL if release else IaxCommand.REGREQ
        self.call_token = b""
        self.machine: Machine[TxState, TxTrigger, TxAction] = Machine(
            f"{self.command.name} transaction {local_call}",
            TRANSACTION_TABLE,
            TxState.SENT,
            remote=TRANSACTION_REMOTE,
        )
        self._handlers: dict[int, Callable[[FullFrame, float], None]] = {
            IaxCommand.REGAUTH: self._on_regauth,
            IaxCommand.REGACK: self._on_regack,
            IaxCommand.REGREJ: self._on_regrej,
        }

    @property
    def account(self) -> Account:
        return self.registration.account

    def _request_ies(self) -> InformationElements:
        ies = InformationElements(username=self.account.username)
        if self.command == IaxCommand.REGREQ:
            ies.refresh = self.account.refresh
        ies.call_token = self.call_token
        return ies

    def start(self, now: float) -> None:
        self.send_iax(self.command, now, self._request_ies())

    def on_call_token(self, token: bytes, now: float) -> None:
        """The registrar wants a token: start over with it, seqnos reset (once)."""
        if self.call_token or not self.machine.allows(TxTrigger.CALL_TOKEN):
            return  # a late copy of the first token request
        self.machine.fire(TxTrigger.CALL_TOKEN)
        self.call_token = token
        self.reliability.forget()
        self.reliability.oseqno = self.reliability.iseqno = 0
        self.remote_call = 0
        self.start(now)

    def handle(self, frame: FullFrame, now: float) -> None:
        handler = self._handlers.get(frame.subclass) if frame.frame_type == FrameType.IAX else None
        if handler is None:
            log.debug("registration %d: ignoring %s", self.local_call, frame.subclass)
            self.ack_unless_answered(frame)
            return
        handler(frame, now)

    def _on_regauth(self, frame: FullFrame, now: float) -> None:
        assert frame.ies is not None
        if self.machine.fire(TxTrigger.REGAUTH) is TxAction.WRONG_ANSWER:
            # A second challenge after we answered one: the answer was wrong.
            self._fail(now, "wrong password", permanent=True)
            return
        try:
            answer = answer_challenge(frame.ies, self.account.credentials)
        except AuthenticationError as exc:
            self.machine.fire(TxTrigger.CANNOT_ANSWER)
            self.send_ack(frame)
            self._fail(now, str(exc), permanent=True)
            return
        ies = self._request_ies()
        for ie, raw in answer:
            ies.append_raw(ie, raw)
        self.send_iax(self.command, now, ies)

    def _on_regack(self, frame: FullFrame, now: float) -> None:
        assert frame.ies is not None
        self.machine.fire(TxTrigger.REGACK)
        self.send_ack(frame)
        self.close(now)
        registration = self.registration
        registration.transaction = None
        if self.command == IaxCommand.REGREL:
            registration.released()
            self.host.emit(Unregistered(self.account.name))
            return
        ies = frame.ies
        expires = ies.refresh or self.account.refresh
        new = old = None
        if ies.msg_count is not None:
            new, old = ies.msg_count & 0xFF, ies.msg_count >> 8
        addr = ies.apparent_addr
        registration.granted(expires, now)
        self.host.emit(
            Registered(
                self.account.name,
                expires,
                new,
                old,
                (addr.host, addr.port) if addr is not None else None,
            )
        )
        if new is not None and old is not None and registration.messages != (new, old):
            registration.messages = (new, old)
            self.host.emit(MessageWaiting(self.account.name, new, old))

    def _on_regrej(self, frame: FullFrame, now: float) -> None:
        assert frame.ies is not None
        self.machine.fire(TxTrigger.REGREJ)
        self.send_ack(frame)
        cause = frame.ies.cause or "registration refused"
        authenticated = self.machine.previous is TxState.CHALLENGED
        # Asterisk answers a wrong secret (and an unknown user) with REGREJ
        # once credentials were sent; without credentials it is something
        # else (ACL, no such peer) that retrying will not mend either.
        reason = f"{cause} (wrong username or password)" if authenticated else cause
        self._fail(now, reason, permanent=True, cause_code=cause_of(frame.ies.cause_code))

    def on_no_answer(self, frame: FullFrame, now: float) -> None:
        if self.machine.fire(TxTrigger.NO_ANSWER) is None:
            self.close(now, linger=0.0)
            return  # done already: only our last frames went unacknowledged
        host, port = self.account.server
        self._fail(now, f"no answer from {host}:{port}", permanent=False)
        self.close(now, linger=0.0)

    def _fail(
        self, now: float, reason: str, permanent: bool, cause_code: int | None = None
    ) -> None:
        self.close(now)
        registration = self.registration
        registration.transaction = None
        if self.command == IaxCommand.REGREL:
            registration.released()
            self.host.emit(Unregistered(self.account.name))
            return
        registration.failed(now, permanent)
        self.host.emit(RegistrationFailed(self.account.name, reason, permanent, cause_code))
