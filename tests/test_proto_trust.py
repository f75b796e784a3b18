"""Trust: a phone takes calls, pokes and MWI only from the sources it was told to.

The stranger is another address on the in-memory link; the PBX is ``a``
(10.0.0.1), and the phone under test is ``b``, which admits only ``a``.
"""

from __future__ import annotations

import logging

import pytest

from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.proto.events import CallEnded, EndReason, IncomingCall, MessageWaiting
from iaxphone.proto.registration import Account
from iaxphone.proto.reliability import RetryPolicy
from iaxphone.proto.trust import ANYONE, NOBODY, CallerPolicy, StrangerLog
from iaxphone.wire.constants import Format, FrameType, IaxCommand
from iaxphone.wire.frames import FullFrame
from iaxphone.wire.ies import InformationElements
from tests.proto_link import A_ADDR, BLACK_HOLE, USERS, establish_call, is_iax, make_link, options
from tests.test_proto_robustness import fetch_token, new_frame, replies_to

STRANGER = ("10.0.0.66", 4569)
PBX_ONLY = CallerPolicy.of(A_ADDR[0])


def phone_link(policy: CallerPolicy = PBX_ONLY):  # type: ignore[no-untyped-def]
    """``b`` is the phone: it takes calls only from what ``policy`` admits."""
    return make_link(b=EndpointConfig(formats=[Format.ULAW], accept_calls_from=policy))


# ------------------------------------------------------------------ the policy


def test_policy_admits_named_addresses_and_networks_only() -> None:
    policy = CallerPolicy.of("192.0.2.7", "10.1.0.0/16", "2001:db8::/32")
    assert policy.admits("192.0.2.7") and policy.admits("10.1.200.3")
    assert policy.admits("2001:db8::5") and policy.admits("::ffff:10.1.0.9")  # IPv4-mapped
    assert not policy.admits("192.0.2.8") and not policy.admits("10.2.0.1")
    assert not policy.admits("not an address") and not NOBODY.admits("127.0.0.1")


def test_anyone_admits_every_source_but_trusts_only_named_ones() -> None:
    """Intercom is honoured only from a named source, even when anyone may ring."""
    open_phone = CallerPolicy.of("192.0.2.7", anyone=True)
    assert open_phone.admits("198.51.100.1") and not open_phone.trusts("198.51.100.1")
    assert open_phone.trusts("192.0.2.7")
    assert ANYONE.admits("203.0.113.9") and not ANYONE.trusts("203.0.113.9")


def test_union_keeps_every_network_once_and_anyone() -> None:
    both = CallerPolicy.of("192.0.2.7").union(CallerPolicy.of("192.0.2.7", "10.0.0.0/8"))
    assert [str(n) for n in both.networks] == ["192.0.2.7/32", "10.0.0.0/8"]
    assert not both.anyone and both.union(ANYONE).anyone
    assert both.describe() == "192.0.2.7/32, 10.0.0.0/8" and NOBODY.describe() == "nobody"


def test_stranger_log_reports_a_source_once_a_minute_with_the_count() -> None:
    strangers = StrangerLog(interval=60.0)
    assert strangers.refused("10.9.9.9", 0.0) == 1
    assert [strangers.refused("10.9.9.9", t) for t in (1.0, 30.0, 59.0)] == [None] * 3
    assert strangers.refused("10.9.9.9", 61.0) == 4  # the one now plus three held back
    assert strangers.refused("10.8.8.8", 61.5) == 1  # another source has its own minute
    assert strangers.total == 6


def test_stranger_log_is_bounded_in_sources_and_in_lines() -> None:
    """A flood from forged sources neither grows memory nor floods the log."""
    strangers = StrangerLog(interval=60.0, remember=100, burst=20)
    reports = [
        strangers.refused(f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}", 5.0) for i in range(5000)
    ]
    assert sum(r is not None for r in reports) == 20
    assert strangers.sources == 100 and strangers.total == 5000
    assert strangers.refused("192.0.2.1", 66.0) == 1  # a new minute: logging again


# ------------------------------------------------------------------ the endpoint


def test_a_strangers_call_is_refused_without_ringing() -> None:
    link = phone_link()
    phone = link["b"]
    token = fetch_token(link, STRANGER)  # a real source: it completed the token exchange
    mark = len(link.wire)
    link.inject(new_frame(900, token).to_bytes(), STRANGER, "b")
    link.settle()
    (reply,) = replies_to(link, STRANGER, mark)
    assert is_iax(reply, IaxCommand.REJECT) and reply.dest_call == 900
    assert reply.ies is not None and reply.ies.cause_code == 21
    assert not phone.of_type(IncomingCall) and phone.endpoint.open_sessions == set()
    assert phone.endpoint.strangers_refused == 1


def test_the_pbx_still_rings_the_phone() -> None:
    link = phone_link()
    _, call_phone = establish_call(link, "a", "b", options())
    assert [e.peer for e in link["b"].of_type(IncomingCall)] == [A_ADDR]
    assert link["b"].endpoint._call(call_phone).active and link["b"].endpoint.strangers_refused == 0


def test_a_strangers_auto_answer_request_never_reaches_the_phone() -> None:
    link = phone_link()
    token = fetch_token(link, STRANGER)
    frame = new_frame(901, token)
    assert frame.ies is not None
    frame.ies.auto_answer = True
    frame.ies.calling_name, frame.ies.calling_number = "Stranger", "9999"
    link.inject(frame.to_bytes(), STRANGER, "b")
    link.settle()
    assert not link["b"].of_type(IncomingCall)
    sent_to_stranger = [
        f.subclass for f in replies_to(link, STRANGER, 0) if f.frame_type == FrameType.IAX
    ]
    assert IaxCommand.ACCEPT not in sent_to_stranger


def test_policy_set_later_applies_to_the_next_call() -> None:
    link = phone_link(NOBODY)
    phone = link["b"]
    token = fetch_token(link, A_ADDR)
    link.inject(new_frame(902, token).to_bytes(), A_ADDR, "b")
    link.settle()
    assert not phone.of_type(IncomingCall)
    phone.endpoint.set_caller_policy(PBX_ONLY)
    link.inject(new_frame(903, token).to_bytes(), A_ADDR, "b")
    link.settle()
    assert [e.peer for e in phone.of_type(IncomingCall)] == [A_ADDR]


def poke(source_call: int) -> FullFrame:
    return FullFrame(
        source_call=source_call,
        dest_call=0,
        timestamp=0,
        oseqno=0,
        iseqno=0,
        frame_type=FrameType.IAX,
        subclass=IaxCommand.POKE,
        ies=InformationElements(),
    )


def test_pokes_are_answered_for_the_pbx_only() -> None:
    link = phone_link()
    link.inject(poke(70).to_bytes(), STRANGER, "b")
    link.inject(poke(71).to_bytes(), A_ADDR, "b")
    link.settle()
    assert replies_to(link, STRANGER, 0) == []  # a stranger learns nothing
    pongs = [f for f in replies_to(link, A_ADDR, 0) if is_iax(f, IaxCommand.PONG)]
    assert len(pongs) == 1 and pongs[0].dest_call == 71
    assert link["b"].endpoint.strangers_refused == 1
    assert len(link["b"].endpoint.open_sessions) == 1  # the PBX's poke only


def mwi(count: int) -> FullFrame:
    return FullFrame(
        source_call=80,
        dest_call=0,
        timestamp=0,
        oseqno=0,
        iseqno=0,
        frame_type=FrameType.IAX,
        subclass=IaxCommand.MWI,
        ies=InformationElements(msg_count=count),
    )


def test_voicemail_counts_come_only_from_the_registrar() -> None:
    """Phone ``a`` registers to ``b``; an MWI from a stranger changes nothing."""
    link = make_link()
    a = link["a"]
    name = a.endpoint.register(Account("6001", USERS["6001"], link["b"].addr), link.now)
    link.settle()
    link.inject(mwi(7).to_bytes(), STRANGER, "a")
    link.settle()
    assert not a.of_type(MessageWaiting) and replies_to(link, STRANGER, 0) == []
    link.inject(mwi(3).to_bytes(), link["b"].addr, "a")
    link.settle()
    assert [(e.account, e.new_messages) for e in a.of_type(MessageWaiting)] == [(name, 3)]


def test_refusals_are_logged_once_per_source(caplog: pytest.LogCaptureFixture) -> None:
    link = phone_link()
    token = fetch_token(link, STRANGER)
    with caplog.at_level(logging.WARNING, logger="iaxphone.proto"):
        for i in range(50):
            link.inject(new_frame(1000 + i, token).to_bytes(), STRANGER, "b")
        link.settle()
    lines = [r.getMessage() for r in caplog.records if "refused a call" in r.getMessage()]
    assert len(lines) == 1 and STRANGER[0] in lines[0]
    assert link["b"].endpoint.strangers_refused == 50


# ------------------------------------------------------------------ a caller that vanishes


def test_a_caller_that_vanishes_while_the_phone_rings_ends_the_call() -> None:
    """Without a keepalive during ringing the phone rang for ever (over 6 minutes)."""
    link = phone_link()
    a, b = link["a"], link["b"]
    a.endpoint.dial(b.addr, options(), link.now)
    link.run_until(lambda: bool(b.of_type(IncomingCall)), 5.0)
    call_phone = b.of_type(IncomingCall)[-1].call_id
    b.endpoint.accept(call_phone, link.now)
    link.settle()
    rang_at = link.now
    link.set_conditions("a", "b", BLACK_HOLE)  # the caller is gone: nothing more from it
    link.run_until(lambda: b.has(CallEnded, call_id=call_phone), 60.0)
    (ended,) = b.of_type(CallEnded)
    took = b.times_of(CallEnded)[0] - rang_at
    bound = EndpointConfig().ping_interval + RetryPolicy().give_up_after()  # 10 + 5.75 s
    assert took <= bound + 0.1, f"noticed after {took:.1f} s"
    assert ended.by_remote and "timed out" in ended.cause
    assert ended.reason is EndReason.NO_ANSWER and ended.lost


def test_a_phone_that_takes_no_calls_still_answers_its_registrars_pokes() -> None:
    """Asterisk qualifies registered peers: without a PONG it marks them unreachable."""
    link = make_link(a=EndpointConfig(formats=[Format.ULAW], accept_calls_from=NOBODY))
    a = link["a"]
    a.endpoint.register(Account("6001", USERS["6001"], link["b"].addr), link.now)
    link.settle()
    link.inject(poke(72).to_bytes(), link["b"].addr, "a")
    link.inject(poke(73).to_bytes(), STRANGER, "a")
    link.settle()
    pongs = [f for f in replies_to(link, link["b"].addr, 0) if is_iax(f, IaxCommand.PONG)]
    assert [f.dest_call for f in pongs] == [72] and replies_to(link, STRANGER, 0) == []
