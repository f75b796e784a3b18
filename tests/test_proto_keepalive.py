"""POKE/PONG outside calls, PING/PONG with receiver reports and LAGRQ/LAGRP inside them."""

from __future__ import annotations

import pytest

from iaxphone.proto.endpoint import Endpoint, EndpointConfig
from iaxphone.proto.events import MessageWaiting, PeerReport
from iaxphone.proto.registration import Account
from iaxphone.wire.constants import Format, FrameType, IaxCommand
from iaxphone.wire.frames import FullFrame, parse_frame
from iaxphone.wire.ies import InformationElements
from iaxphone.wire.report import ReceiverReport
from tests.proto_link import USERS, Datagram, Link, establish_call, is_iax, make_link, options

PROBE = ("10.0.0.9", 4569)


def poke(source_call: int = 77, timestamp: int = 1234, retransmitted: bool = False) -> bytes:
    return FullFrame(
        source_call=source_call,
        dest_call=0,
        timestamp=timestamp,
        oseqno=0,
        iseqno=0,
        frame_type=FrameType.IAX,
        subclass=IaxCommand.POKE,
        retransmitted=retransmitted,
    ).to_bytes()


def replies_to_probe(link: Link) -> list[FullFrame]:
    return [f for d in link.sent(dst=PROBE) if (f := d.full) is not None]


@pytest.mark.parametrize("who", ["a", "b"])
def test_poke_is_answered_with_pong(who: str) -> None:
    link = make_link()
    link.inject(poke(), PROBE, who)
    link.settle()
    replies = replies_to_probe(link)
    assert len(replies) == 1
    pong = replies[0]
    assert is_iax(pong, IaxCommand.PONG)
    assert pong.dest_call == 77 and pong.source_call not in (0, 1)
    assert pong.timestamp == 1234  # echoes the POKE's, for the round-trip time
    assert pong.iseqno == 1
    assert not link[who].events
    # The POKE leaves nothing behind.
    link.advance(5.0)
    assert link[who].endpoint.open_sessions == set()
    assert link[who].endpoint.get_timer() is None


def test_retransmitted_poke_after_lost_pong_gets_a_pong() -> None:
    link = make_link()
    link.inject(poke(), PROBE, "b")
    link.settle()
    link.inject(poke(retransmitted=True), PROBE, "b")  # our PONG was lost: the prober asks again
    link.settle()
    pongs = [f for f in replies_to_probe(link) if is_iax(f, IaxCommand.PONG)]
    assert len(pongs) == 2


def report_link() -> Link:
    return make_link(
        a=EndpointConfig(formats=[Format.ULAW], ping_interval=1.0),
        b=EndpointConfig(formats=[Format.ULAW], users=dict(USERS), ping_interval=1000.0),
    )


def test_ping_in_call_answered_with_pong_carrying_receiver_report() -> None:
    link = report_link()
    a, b = link["a"], link["b"]
    call_a, call_b = establish_call(link, "a", "b", options())
    report = ReceiverReport(
        jitter_ms=7, loss_percent=3, lost=5, packets=100, delay_ms=40, dropped=1, out_of_order=2
    )
    b.endpoint.update_receiver_report(call_b, report)
    mark = len(link.wire)
    link.run_until(lambda: a.count(PeerReport) >= 1, 2.0)
    link.settle()
    after = link.wire[mark:]
    pings = [d.full for d in after if d.src == a.addr and is_iax(d.full, IaxCommand.PING)]
    pongs = [d.full for d in after if d.src == b.addr and is_iax(d.full, IaxCommand.PONG)]
    assert len(pings) == 1 and len(pongs) == 1
    ping, pong = pings[0], pongs[0]
    assert ping is not None and pong is not None
    assert ping.ies is not None and ping.ies.rr_pkts is not None  # our own report goes too
    assert pong.timestamp == ping.timestamp
    ies = pong.ies
    assert ies is not None
    assert ies.rr_jitter == 7 and ies.rr_pkts == 100 and ies.rr_delay == 40
    assert ies.rr_loss == (3 << 24) | 5 and ies.rr_dropped == 1 and ies.rr_ooo == 2
    (peer_report,) = a.of_type(PeerReport)
    assert peer_report.rtt_ms is not None and abs(peer_report.rtt_ms - 20) <= 1  # 2 x 10 ms
    assert peer_report == PeerReport(call_a, peer_report.rtt_ms, report)
    # The PONG is acknowledged (no retransmission), and PINGs keep coming every second.
    assert any(d.src == a.addr and is_iax(d.full, IaxCommand.ACK) for d in after)
    link.advance(3.5)
    assert not any(f.retransmitted for f in link.full_frames())
    assert a.count(PeerReport) == 4
    assert b.count(PeerReport) == 0  # b's own interval has not come


def test_pings_stop_when_the_call_ends() -> None:
    link = report_link()
    a = link["a"]
    call_a, _ = establish_call(link, "a", "b", options())
    link.advance(2.5)
    a.endpoint.hangup(call_a, link.now)
    mark = len(link.wire)
    link.advance(10.0)
    assert not any(is_iax(d.full, IaxCommand.PING) for d in link.wire[mark:])


def test_lagrq_answered_with_lagrp() -> None:
    link = report_link()
    a, b = link["a"], link["b"]
    _, call_b = establish_call(link, "a", "b", options())
    link.settle()
    mark = len(link.wire)
    lagrq = b.endpoint._call(call_b).send_iax(IaxCommand.LAGRQ, link.now)
    link.settle()
    after: list[Datagram] = link.wire[mark:]
    lagrps = [d.full for d in after if d.src == a.addr and is_iax(d.full, IaxCommand.LAGRP)]
    assert len(lagrps) == 1
    lagrp = lagrps[0]
    assert lagrp is not None and lagrp.timestamp == lagrq.timestamp
    assert lagrp.dest_call == call_b
    assert any(d.src == b.addr and is_iax(d.full, IaxCommand.ACK) for d in after)
    link.advance(2.0)
    assert not any(f.retransmitted for f in link.full_frames())


def test_unsolicited_mwi_from_the_registrar_reports_voicemail_counts() -> None:
    endpoint = Endpoint(EndpointConfig(formats=[Format.ULAW]))
    server = ("10.0.0.2", 4569)
    endpoint.register(Account("6001", "secret", server), 0.0)
    endpoint.datagrams_to_send(0.0)
    mwi = FullFrame(
        source_call=77, dest_call=0, timestamp=5, oseqno=0, iseqno=0,
        frame_type=FrameType.IAX, subclass=IaxCommand.MWI,
        ies=InformationElements(msg_count=(2 << 8) | 3),
    )  # fmt: skip
    endpoint.receive_datagram(bytes(mwi), server, 1.0)
    events = []
    while (event := endpoint.next_event()) is not None:
        events.append(event)
    assert MessageWaiting("6001@10.0.0.2:4569", 3, 2) in events
    replies = endpoint.datagrams_to_send(1.0)
    assert [(parse_frame(data).subclass, addr) for data, addr in replies] == [
        (IaxCommand.ACK, server)
    ]
    endpoint.receive_datagram(bytes(mwi), ("10.9.9.9", 4569), 2.0)  # not our registrar
    assert endpoint.next_event() is None
