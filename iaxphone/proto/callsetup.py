"""Setting a call up: the NEW and its call token, authentication, ACCEPT and ANSWER.

Theory of operation
-------------------
Outgoing: a NEW asks for a call token (empty CALLTOKEN IE); when the peer
sends one back we send the NEW again with it, sequence numbers restarted.
An AUTHREQ is answered with our credentials (MD5, RSA, or plain text when
allowed); if it offers AES-128 and we hold a secret, the call is encrypted
from our AUTHREP on (the encryption sub-machine decides, :mod:`.encryption`).
After the AUTHREP, ACCEPT or REJECT must arrive within the retry window
(about 6 s) even when the AUTHREP itself was acknowledged: IAX2 encryption
has no integrity check, so a PBX that decrypts an AUTHREP made with the
wrong secret may take the noise for an in-order frame and then say nothing.
ACCEPT names the codec; RINGING and ANSWER follow.

Incoming: the endpoint has checked the caller's token and the caller
policy.  A caller that names one of our users (or, with an RSA key, any
caller) is challenged with AUTHREQ and announced only when its AUTHREP
checks out; otherwise it is announced at once.  ``accept`` sends ACCEPT
with our best common codec and RINGING; ``answer`` sends ANSWER.

Every step here is an action of the call's state table (:mod:`.callstate`),
run by :meth:`CallSetup._fire`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from iaxphone.errors import RemoteProtocolError
from iaxphone.wire.constants import CODEC_PREF_ORDER, Cause, ControlType, FrameType, IaxCommand
from iaxphone.wire.frames import FullFrame
from iaxphone.wire.ies import InformationElements, formats_to_codec_prefs

from .auth import AuthenticationError, Credentials, answer_challenge
from .callfeatures import InCallFeatures
from .callstate import CallAction, CallStateError, CallTrigger
from .crypto import AES128, KEYROTATE, FrameCipher, derive_key
from .encryption import REFUSED_MESSAGE, CryptoAction, CryptoState, CryptoTrigger, encryption
from .events import (
    CallAccepted,
    CallAnswered,
    CallProceeding,
    CallRinging,
    EndReason,
    IncomingCall,
)
from .machine import Machine

if TYPE_CHECKING:
    from .registrar import CallAuthenticator

log = logging.getLogger("iaxphone.proto")

ENCRYPTION_REFUSED = REFUSED_MESSAGE
# Answered by a reply (AUTHREP, REJECT), so not acknowledged before the action.
ANSWERED = frozenset({CallTrigger.AUTHREQ, CallTrigger.AUTHREP})


@dataclass(slots=True)
class CallOptions:
    """What we ask for when we place a call."""

    number: str
    username: str | None = None
    secret: str | None = None
    allow_plaintext: bool = False
    context: str | None = None
    caller_number: str | None = None
    caller_name: str | None = None
    language: str | None = None
    formats: list[int] = field(default_factory=list)
    encryption: str = "allowed"  # "required", "allowed" (offer it) or "off"
    trunk: bool = False  # batch voice in meta trunk frames (the account is a trunk)
    rsa_private_key: bytes | None = None  # PEM, for auth=rsa peers


@dataclass(frozen=True, slots=True)
class ActionInput:
    """What an action is given: the time, the frame that triggered it, how the call ends."""

    now: float
    frame: FullFrame | None = None
    cause: str = ""
    code: int | None = None
    by_remote: bool = False
    reason: EndReason = EndReason.CLEARED


class CallSetup(InCallFeatures):
    """The set-up half of :class:`~iaxphone.proto.call.Call` (see the module docstring)."""

    # One function per action of the state table (filled in by call.py).
    ACTIONS: ClassVar[dict[CallAction, Callable[[Any, ActionInput], None]]] = {}

    outgoing: bool
    crypto: Machine[CryptoState, CryptoTrigger, CryptoAction]
    formats: list[int]
    format: int
    capability: int
    remote_capability: int
    options: CallOptions | None
    offer: InformationElements
    caller_auth: tuple[CallAuthenticator, str | None, str] | None
    call_token: bytes
    authenticated: bool
    authrep_answer_due: float | None

    def _fire(self, trigger: CallTrigger, given: ActionInput) -> None:
        """Run ``trigger`` through the table and carry out the step's action.

        A frame its state does not allow (a late retransmission, frames that
        crossed) is acknowledged and ignored; a command raises.
        """
        try:
            action = self.machine.fire(trigger)
        except RemoteProtocolError as exc:
            log.debug("%s", exc)
            if given.frame is not None and trigger in ANSWERED:
                self.send_ack(given.frame)
            return
        if action is not None:
            self.ACTIONS[action](self, given)

    def _hang_up_locally(
        self, now: float, cause: str, code: int, reason: EndReason = EndReason.CLEARED
    ) -> None:
        given = ActionInput(now, cause=cause, code=code, reason=reason)
        self._fire(CallTrigger.HANG_UP, given)

    # -- outgoing set-up -------------------------------------------------------------

    def dial(self, options: CallOptions, capability: int, now: float) -> None:
        self.options = options
        self.crypto = encryption(f"call {self.local_call}", options.encryption)
        self._send_new(now, capability)

    def _send_new(self, now: float, capability: int | None = None) -> None:
        assert self.options is not None
        options = self.options
        if capability is not None:
            self.capability = capability
        preferred = self.formats[0] if self.formats else 0
        ies = InformationElements(version=2, called_number=options.number)
        if options.caller_number:
            ies.calling_number = options.caller_number
        if options.caller_name:
            ies.calling_name = options.caller_name
        if options.context:
            ies.called_context = options.context
        if options.username:
            ies.username = options.username
        if options.language:
            ies.language = options.language
        prefs = [fmt for fmt in self.formats if fmt in CODEC_PREF_ORDER]
        if prefs:
            ies.codec_prefs = formats_to_codec_prefs(prefs)
        ies.capability = self.capability & 0xFFFFFFFF
        ies.format = preferred & 0xFFFFFFFF
        ies.capability2 = self.capability
        ies.format2 = preferred
        if options.encryption != "off":
            ies.encryption = AES128 | KEYROTATE
        ies.call_token = self.call_token
        self.send_iax(IaxCommand.NEW, now, ies)

    def on_call_token(self, token: bytes, now: float) -> None:
        """The peer requires a call token: send the NEW again with it (once)."""
        if self.call_token or not self.machine.allows(CallTrigger.CALL_TOKEN):
            return
        self.call_token = token
        self._fire(CallTrigger.CALL_TOKEN, ActionInput(now))

    def _resend_new(self, given: ActionInput) -> None:
        self.reliability.forget()
        self.reliability.oseqno = self.reliability.iseqno = 0
        self.remote_call = 0
        self._send_new(given.now)

    def _answer_challenge(self, given: ActionInput) -> None:
        frame, now = given.frame, given.now
        assert frame is not None and frame.ies is not None
        if self.options is None:
            self.send_ack(frame)  # not ours to answer
            return
        options = self.options
        credentials = None
        if options.secret is not None or options.rsa_private_key is not None:
            credentials = Credentials(
                options.username or "",
                options.secret or "",
                options.allow_plaintext,
                options.rsa_private_key,
            )
        try:
            answer = answer_challenge(frame.ies, credentials)
        except AuthenticationError as exc:
            self.send_ack(frame)
            self._hang_up_locally(now, str(exc), Cause.CALL_REJECTED)
            return
        offered = (frame.ies.encryption or 0) & AES128
        key = bool(offered and frame.ies.challenge and credentials is not None)
        crypto = self.crypto.fire(CryptoTrigger.KEY_OFFERED if key else CryptoTrigger.NO_KEY)
        if crypto is CryptoAction.START_CIPHER:
            assert frame.ies.challenge is not None and credentials is not None
            # Encrypted from here on, starting with our AUTHREP.
            self.cipher = FrameCipher(derive_key(frame.ies.challenge, credentials.secret))
        elif crypto is CryptoAction.REFUSE:
            self.send_ack(frame)
            self._hang_up_locally(
                now, ENCRYPTION_REFUSED, Cause.FACILITY_REJECTED, EndReason.ENCRYPTION_REFUSED
            )
            return
        self.authenticated = True
        self.send_iax(IaxCommand.AUTHREP, now, answer)
        # The AUTHREP being acknowledged is not enough: a PBX that decrypts an
        # AUTHREP made with the wrong secret gets noise, which it may take as
        # an in-order frame, acknowledge and then never answer.
        self.authrep_answer_due = now + self.reliability.policy.give_up_after()

    def _start(self, given: ActionInput) -> None:
        assert given.frame is not None and given.frame.ies is not None
        ies = given.frame.ies
        chosen = ies.format2 if ies.format2 else (ies.format or 0)
        self.format = chosen or (self.formats[0] if self.formats else 0)
        self.authrep_answer_due = None
        self.next_ping = given.now + self.ping_interval  # keepalive while it rings, too
        if self.crypto.fire(CryptoTrigger.ACCEPTED) is CryptoAction.REFUSE:
            self._hang_up_locally(
                given.now,
                ENCRYPTION_REFUSED,
                Cause.FACILITY_REJECTED,
                EndReason.ENCRYPTION_REFUSED,
            )
            return
        self.host.emit(CallAccepted(self.local_call, self.format, self.cipher is not None))

    def _report_proceeding(self, given: ActionInput) -> None:
        self.host.emit(CallProceeding(self.local_call))

    def _report_ringing(self, given: ActionInput) -> None:
        self.host.emit(CallRinging(self.local_call))

    def _go_up(self, given: ActionInput) -> None:
        self.next_ping = given.now + self.ping_interval
        self.host.emit(CallAnswered(self.local_call))

    # -- incoming set-up ---------------------------------------------------------------

    def offered(self, ies: InformationElements) -> None:
        capability = ies.capability2 if ies.capability2 is not None else (ies.capability or 0)
        preferred = ies.format2 if ies.format2 else (ies.format or 0)
        self.remote_capability = capability or preferred
        self.offer = ies

    def announce(self) -> None:
        """Tell the user about the offered call (after authentication, if any)."""
        ies = self.offer
        self.host.emit(
            IncomingCall(
                self.local_call,
                self.peer,
                ies.calling_number,
                ies.calling_name,
                ies.called_number,
                ies.called_context,
                ies.username,
                self.choose_format(),
                bool(ies.auto_answer),
            )
        )

    def _announce(self, given: ActionInput) -> None:
        self.announce()

    def authenticate_caller(
        self, authenticator: CallAuthenticator, username: str | None, now: float
    ) -> None:
        """Challenge the caller (AUTHREQ); the call is announced once AUTHREP checks out."""
        self.caller_auth = (authenticator, username, authenticator.challenge(self, username, now))

    def _verify_caller(self, given: ActionInput) -> None:
        frame = given.frame
        assert frame is not None and frame.ies is not None
        if self.caller_auth is None:
            self.send_ack(frame)
            return
        authenticator, username, challenge = self.caller_auth
        self.caller_auth = None
        if authenticator.verify(username, challenge, frame.ies):
            self.send_ack(frame)
            self._fire(CallTrigger.CALLER_VERIFIED, given)
        else:
            self._fire(CallTrigger.CALLER_REFUSED, given)

    def _refuse_caller(self, given: ActionInput) -> None:
        """A caller that failed our challenge: REJECT; it was never announced, so no event."""
        ies = InformationElements(
            cause="No authority found", cause_code=Cause.FACILITY_NOT_SUBSCRIBED
        )
        self.send_iax(IaxCommand.REJECT, given.now, ies)
        self.close(given.now)

    def choose_format(self) -> int:
        """Our first preference the caller can do; else 0 (no common codec)."""
        for fmt in self.formats:
            if fmt & self.remote_capability:
                return fmt
        return 0

    def accept(self, now: float, fmt: int | None = None) -> None:
        self.machine.check(CallTrigger.ACCEPT_CALL)
        chosen = fmt if fmt is not None else self.choose_format()
        if not chosen:
            given = ActionInput(now, cause="no common codec", code=Cause.BEARERCAPABILITY_NOTAVAIL)
            self._fire(CallTrigger.REJECT_CALL, given)
            return
        self.format = chosen
        self._fire(CallTrigger.ACCEPT_CALL, ActionInput(now))

    def _send_accept(self, given: ActionInput) -> None:
        ies = InformationElements(format=self.format & 0xFFFFFFFF, format2=self.format)
        self.send_iax(IaxCommand.ACCEPT, given.now, ies)
        # A caller that vanishes while we ring (a crash, the network gone) must
        # not leave the phone ringing for ever: PING it, as an answered call.
        self.next_ping = given.now + self.ping_interval
        self.send_full(FrameType.CONTROL, ControlType.RINGING, given.now)

    def answer(self, now: float) -> None:
        self.machine.check(CallTrigger.ANSWER_CALL)
        if self.outgoing:
            raise CallStateError(f"call {self.local_call} is outgoing: the far end answers it")
        self._fire(CallTrigger.ANSWER_CALL, ActionInput(now))

    def _send_answer(self, given: ActionInput) -> None:
        self.send_full(FrameType.CONTROL, ControlType.ANSWER, given.now)
        self._go_up(given)


__all__ = ["ANSWERED", "ENCRYPTION_REFUSED", "ActionInput", "CallOptions", "CallSetup"]
