"""Calls between two sans-IO endpoints: set-up with authentication, in-call features, tear-down."""

from __future__ import annotations

import hashlib
import itertools

import pytest

from iaxphone.proto.call import CallOptions, CallState
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.proto.events import (
    AudioReceived,
    CallAccepted,
    CallAnswered,
    CallEnded,
    CallRinging,
    DtmfReceived,
    FlashReceived,
    HoldChanged,
    IncomingCall,
    QuelchChanged,
    TextReceived,
    TransferRequested,
)
from iaxphone.wire.constants import ControlType, Format, FrameType, IaxCommand
from iaxphone.wire.frames import FullFrame, MiniFrame
from tests.proto_link import A_ADDR, USERS, Link, establish_call, is_iax, make_link, options


@pytest.fixture
def link() -> Link:
    return make_link()


def up(link: Link) -> tuple[int, int]:
    return establish_call(link, "a", "b", options())


def kind(f: FullFrame) -> str:
    if isinstance(f.subclass, IaxCommand | ControlType):
        return f.subclass.name
    return FrameType(f.frame_type).name


def test_setup_with_authentication(link: Link) -> None:
    a, b = link["a"], link["b"]
    call_a = a.endpoint.dial(b.addr, options(), link.now)
    link.run_until(lambda: b.count(IncomingCall) == 1, 2.0)
    incoming = b.of_type(IncomingCall)[0]
    assert incoming.peer == A_ADDR
    assert incoming.caller_number == "6001"
    assert incoming.called_number == "100"
    assert incoming.username == "6001"
    assert incoming.format == Format.ULAW
    call_b = incoming.call_id
    assert b.endpoint.call_info(call_b).state is CallState.OFFERED
    b.endpoint.accept(call_b, link.now)
    link.run_until(lambda: a.count(CallRinging) == 1, 2.0)
    b.endpoint.answer(call_b, link.now)
    link.run_until(lambda: a.count(CallAnswered) == 1, 2.0)
    link.settle()

    assert a.events == [
        CallAccepted(call_a, Format.ULAW),
        CallRinging(call_a),
        CallAnswered(call_a),
    ]
    assert a.endpoint.call_info(call_a).state is CallState.UP
    assert b.endpoint.call_info(call_b).state is CallState.UP

    a_to_b = [kind(f) for f in link.full_frames("a", "b") if not is_iax(f, IaxCommand.ACK)]
    b_to_a = [kind(f) for f in link.full_frames("b", "a") if not is_iax(f, IaxCommand.ACK)]
    assert a_to_b == ["NEW", "NEW", "AUTHREP"]
    assert b_to_a == ["CALLTOKEN", "AUTHREQ", "ACCEPT", "RINGING", "ANSWER"]
    authreq = next(f for f in link.full_frames("b", "a") if is_iax(f, IaxCommand.AUTHREQ))
    authrep = next(f for f in link.full_frames("a", "b") if is_iax(f, IaxCommand.AUTHREP))
    assert authreq.ies is not None and authreq.ies.challenge
    expected = hashlib.md5((authreq.ies.challenge + "secret").encode()).hexdigest()
    assert authrep.ies is not None and authrep.ies.md5_result == expected
    assert not any(b"secret" in d.data for d in link.wire)
    # Every reliable frame was acknowledged: nothing is retransmitted.
    link.advance(3.0)
    assert not any(f.retransmitted for f in link.full_frames())


def test_audio_both_ways_first_full_then_mini(link: Link) -> None:
    a, b = link["a"], link["b"]
    call_a, call_b = up(link)
    mark = len(link.wire)
    n = 50
    for i in range(n):
        a.endpoint.send_audio(call_a, bytes([i]) * 160, 20, link.now)
        b.endpoint.send_audio(call_b, bytes([100 + i]) * 160, 20, link.now)
        link.advance(0.02)
    link.settle()

    for src, dst, first in (("a", "b", 0), ("b", "a", 100)):
        voice = []
        for d in link.wire[mark:]:
            if d.src != link[src].addr:
                continue
            f = d.frame
            if isinstance(f, MiniFrame) or (
                isinstance(f, FullFrame) and f.frame_type == FrameType.VOICE
            ):
                voice.append(f)
        assert len(voice) == n
        head = voice[0]
        assert isinstance(head, FullFrame) and head.subclass == Format.ULAW
        assert head.payload == bytes([first]) * 160
        assert all(isinstance(f, MiniFrame) for f in voice[1:])
        minis = [f for f in voice[1:] if isinstance(f, MiniFrame)]
        sender_call = call_a if src == "a" else call_b
        assert {f.source_call for f in minis} == {sender_call}
        stamps = [head.timestamp] + [f.timestamp for f in minis]
        assert [t2 - t1 for t1, t2 in itertools.pairwise(stamps)] == [20] * (n - 1)

        got = link[dst].of_type(AudioReceived)
        assert [e.payload for e in got] == [bytes([first + i]) * 160 for i in range(n)]
        assert {e.format for e in got} == {Format.ULAW}
        assert [e.timestamp for e in got] == stamps
        receiver_call = call_b if dst == "b" else call_a
        assert {e.call_id for e in got} == {receiver_call}


def test_dtmf_and_text(link: Link) -> None:
    a, b = link["a"], link["b"]
    call_a, call_b = up(link)
    for digit in "1234567890*#ABCD":
        a.endpoint.send_dtmf(call_a, digit, link.now)
    a.endpoint.send_dtmf(call_a, "5", link.now, begin=True)
    b.endpoint.send_text(call_b, "héllo, wörld", link.now)
    link.settle()
    dtmf = b.of_type(DtmfReceived)
    assert "".join(e.digit for e in dtmf) == "1234567890*#ABCD5"
    assert [e.ended for e in dtmf] == [True] * 16 + [False]
    assert {e.call_id for e in dtmf} == {call_b}
    assert a.of_type(TextReceived) == [TextReceived(call_a, "héllo, wörld")]
    with pytest.raises(ValueError, match="DTMF"):
        a.endpoint.send_dtmf(call_a, "x", link.now)


def test_hold_and_unhold(link: Link) -> None:
    a, b = link["a"], link["b"]
    call_a, call_b = up(link)
    a.endpoint.hold(call_a, link.now, "jazz")
    link.settle()
    assert b.of_type(HoldChanged) == [HoldChanged(call_b, True, "jazz")]
    assert b.endpoint.call_info(call_b).remote_hold
    a.endpoint.unhold(call_a, link.now)
    link.settle()
    assert b.of_type(HoldChanged)[1:] == [HoldChanged(call_b, False, None)]
    assert not b.endpoint.call_info(call_b).remote_hold
    assert not a.of_type(HoldChanged)


def test_quelch_flash_and_blind_transfer(link: Link) -> None:
    a, b = link["a"], link["b"]
    call_a, call_b = up(link)
    b.endpoint.quelch(call_b, link.now)
    b.endpoint.flash(call_b, link.now)
    b.endpoint.blind_transfer(call_b, "200", link.now, context="internal")
    b.endpoint.quelch(call_b, link.now, on=False)
    link.settle()
    assert a.events[-4:] == [
        QuelchChanged(call_a, True),
        FlashReceived(call_a),
        TransferRequested(call_a, "200", "internal"),
        QuelchChanged(call_a, False),
    ]
    assert not a.endpoint.call_info(call_a).quelched


@pytest.mark.parametrize("side", ["a", "b"])
def test_hangup_from_either_side_carries_cause(link: Link, side: str) -> None:
    call_a, call_b = up(link)
    other = "b" if side == "a" else "a"
    mine, theirs = (call_a, call_b) if side == "a" else (call_b, call_a)
    link[side].endpoint.hangup(mine, link.now, "user busy", 17)
    link.run_until(lambda: link[other].count(CallEnded) == 1, 2.0)
    assert link[other].of_type(CallEnded) == [CallEnded(theirs, "user busy", 17, True)]
    assert link[side].of_type(CallEnded) == [CallEnded(mine, "user busy", 17, False)]
    hangups = [f for f in link.full_frames(side, other) if is_iax(f, IaxCommand.HANGUP)]
    assert len(hangups) == 1
    assert hangups[0].ies is not None and hangups[0].ies.cause_code == 17
    # Both ends forget the call after their linger time; no timers are left behind.
    link.advance(10.0)
    assert link["a"].endpoint.open_sessions == set() and link["b"].endpoint.open_sessions == set()
    assert link["a"].endpoint.get_timer() is None and link["b"].endpoint.get_timer() is None
    assert not any(f.retransmitted for f in link.full_frames())


def test_reject_with_cause(link: Link) -> None:
    a, b = link["a"], link["b"]
    call_a = a.endpoint.dial(b.addr, options(), link.now)
    link.run_until(lambda: b.count(IncomingCall) == 1, 2.0)
    call_b = b.of_type(IncomingCall)[0].call_id
    b.endpoint.reject(call_b, link.now, "do not disturb", 21)
    link.run_until(lambda: a.count(CallEnded) == 1, 2.0)
    assert a.of_type(CallEnded) == [CallEnded(call_a, "do not disturb", 21, True)]
    assert b.of_type(CallEnded) == [CallEnded(call_b, "do not disturb", 21, False)]
    assert not a.has(CallAccepted)


def test_wrong_password_on_a_call(link: Link) -> None:
    a, b = link["a"], link["b"]
    call_a = a.endpoint.dial(b.addr, options(secret="nope"), link.now)
    link.run_until(lambda: a.count(CallEnded) == 1, 2.0)
    ended = a.of_type(CallEnded)[0]
    assert ended.call_id == call_a and ended.cause_code == 50 and ended.by_remote
    assert "wrong username or password" in ended.cause
    assert not b.of_type(IncomingCall)
    assert any(is_iax(f, IaxCommand.AUTHREP) for f in link.full_frames("a", "b"))
    link.advance(10.0)
    assert b.endpoint.open_sessions == set()


def test_unknown_user_is_refused(link: Link) -> None:
    a, b = link["a"], link["b"]
    a.endpoint.dial(b.addr, options(username="7777"), link.now)
    link.run_until(lambda: a.count(CallEnded) == 1, 2.0)
    assert a.of_type(CallEnded)[0].cause_code == 50
    assert not b.of_type(IncomingCall)
    assert not any(is_iax(f, IaxCommand.AUTHREQ) for f in link.full_frames("b", "a"))


def test_caller_without_secret_cannot_answer_challenge(link: Link) -> None:
    a, b = link["a"], link["b"]
    a.endpoint.dial(b.addr, CallOptions("100", username="6001"), link.now)
    link.run_until(lambda: a.count(CallEnded) == 1, 2.0)
    ended = a.of_type(CallEnded)[0]
    assert "password" in ended.cause and not ended.by_remote
    assert not b.of_type(IncomingCall)


def test_no_common_codec_rejected_with_cause_58() -> None:
    link = make_link(
        a=EndpointConfig(formats=[Format.ULAW]),
        b=EndpointConfig(formats=[Format.ALAW, Format.GSM], users=dict(USERS)),
    )
    a, b = link["a"], link["b"]
    call_a = a.endpoint.dial(b.addr, options(), link.now)
    link.run_until(lambda: b.count(IncomingCall) == 1, 2.0)
    incoming = b.of_type(IncomingCall)[0]
    assert incoming.format == 0
    b.endpoint.accept(incoming.call_id, link.now)
    link.run_until(lambda: a.count(CallEnded) == 1, 2.0)
    ended = a.of_type(CallEnded)[0]
    assert ended.call_id == call_a and ended.cause_code == 58
    assert not a.has(CallAccepted)
    assert b.of_type(CallEnded)[0].cause_code == 58


def test_codec_negotiation_picks_callee_preference_within_caller_capability() -> None:
    link = make_link(
        a=EndpointConfig(formats=[Format.ULAW, Format.ALAW, Format.GSM]),
        b=EndpointConfig(formats=[Format.G722, Format.GSM, Format.ALAW], users=dict(USERS)),
    )
    call_a, _ = establish_call(link, "a", "b", options())
    assert link["b"].of_type(IncomingCall)[0].format == Format.GSM
    assert link["a"].of_type(CallAccepted) == [CallAccepted(call_a, Format.GSM)]


def test_commands_in_the_wrong_state_raise(link: Link) -> None:
    a, b = link["a"], link["b"]
    call_a = a.endpoint.dial(b.addr, options(), link.now)
    with pytest.raises(Exception, match="dialing"):
        a.endpoint.hold(call_a, link.now)
    link.run_until(lambda: b.count(IncomingCall) == 1, 2.0)
    call_b = b.of_type(IncomingCall)[0].call_id
    with pytest.raises(Exception, match="offered"):
        b.endpoint.send_audio(call_b, b"\0" * 160, 20, link.now)
    with pytest.raises(KeyError):
        b.endpoint.answer(9999, link.now)
